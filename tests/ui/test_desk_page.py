"""The lending desk, driven from the keyboard as staff at a busy counter do: scan, Enter, Escape, Space, Tab.
Issue, return (and what the loan achieved) and wipe; renew, lost or stolen, recorded late; the waiting list;
refusals in words; accessible names and Tab order on every step."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import pypdfium2 as pdfium
import pytest
from PySide6.QtCore import QDateTime, Qt
from PySide6.QtPrintSupport import QPrinter
from PySide6.QtTest import QTest
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QAbstractSpinBox,
    QApplication,
    QCheckBox,
    QComboBox,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QTextEdit,
    QWidget,
)
from pytestqt.qtbot import QtBot

from digiknow_desk.app import Services
from digiknow_desk.domain.devices import DeviceDraft, DeviceStatus, DeviceType
from digiknow_desk.domain.inclusion import InclusionStatus
from digiknow_desk.domain.loans import (
    DataPlan,
    LoanAchieved,
    ReasonMet,
    WaitStatus,
    WipeChecklist,
    WipeMethod,
)
from digiknow_desk.domain.residents import ConsentPurpose, Resident, ResidentDraft
from digiknow_desk.domain.skills import SkillArea, SkillLevel, SkillsCheckDraft
from digiknow_desk.ui.desk_page import DeskPage, Step
from digiknow_desk.ui.printing import DocumentPrinting, PrintChoice, printer_for_documents
from digiknow_desk.ui.resident_dialog import ResidentDialog
from digiknow_desk.ui.tasks import TaskRunner

if TYPE_CHECKING:
    from tests.conftest import FakeClock

ALL_CONSENTS = frozenset(ConsentPurpose)  # support recorded too: sessions and skills checks need it

# The tests' clock (tests/conftest.py) says Saturday 14 March 2026, 10:30; a tablet's loan is 28 days.
DUE = "Saturday 11 April"


@pytest.fixture
def tasks() -> Iterator[TaskRunner]:
    runner = TaskRunner()
    yield runner
    runner.shutdown()


@pytest.fixture
def asked_to_print() -> list[str]:
    """What the desk offered to print (the question is answered 'Print', with no dialog)."""
    return []


@pytest.fixture
def printed(tmp_path: Path) -> Path:
    """Where the injected printer writes: a PDF file."""
    return tmp_path / "printed.pdf"


@pytest.fixture
def printing(tasks: TaskRunner, asked_to_print: list[str], printed: Path) -> DocumentPrinting:
    def choose(_parent: QWidget, title: str) -> PrintChoice:
        asked_to_print.append(title)
        return PrintChoice.PRINT

    def printer(_parent: QWidget, title: str) -> QPrinter:
        printer = QPrinter(QPrinter.PrinterMode.HighResolution)
        printer.setOutputFormat(QPrinter.OutputFormat.PdfFormat)
        printer.setOutputFileName(str(printed))
        printer.setResolution(150)
        return printer_for_documents(title, printer)

    return DocumentPrinting(tasks, choose=choose, printer=printer)


@pytest.fixture
def desk(
    services: Services, tasks: TaskRunner, qtbot: QtBot, clock: FakeClock, printing: DocumentPrinting
) -> DeskPage:
    """The desk on screen and active, so keys go where the focus is, as at the counter."""
    services.inventory.add(
        DeviceDraft(
            tag="TAB-0042",
            device_type=DeviceType.TABLET,
            make="Samsung",
            model="Galaxy Tab A9",
            kit=("Charger", "Cable", "Case"),
        )
    )
    add_resident(services, "Maureen Clarke", phone="0161 474 4444", postcode="SK1 3XE")  # R-00001
    add_resident(services, "Maureen Hughes", phone="0161 480 1234", postcode="SK5 6AB")  # R-00002
    add_resident(services, "Tom Okafor", email="tom@example.org", postcode="SK4 1AA")  # R-00003
    page = DeskPage(
        services,
        tasks,
        clock=clock,
        printing=printing,
        ask_new_resident=lambda *_: pytest.fail("the resident form would block the test"),
    )
    qtbot.addWidget(page)
    page.resize(1100, 700)
    page.show()
    qtbot.waitExposed(page)
    page.activateWindow()
    qtbot.waitUntil(page.isActiveWindow)
    return page


def add_resident(
    services: Services, name: str, *, phone: str = "", email: str = "", postcode: str = ""
) -> Resident:
    return services.residents.add(
        ResidentDraft(name=name, phone=phone, email=email, postcode=postcode, consents=ALL_CONSENTS)
    )


def focused() -> QWidget:
    widget = QApplication.focusWidget()
    assert widget is not None, "nothing has the keyboard focus"
    return widget


def press(key: Qt.Key) -> None:
    """One key, to whatever has the focus (the test never clicks)."""
    QTest.keyClick(focused(), key)


def type_text(text: str) -> None:
    QTest.keyClicks(focused(), text)


def scan(text: str) -> None:
    """What a USB scanner does in the focused box: type the code, then Enter."""
    type_text(text)
    press(Qt.Key.Key_Return)


def button(page: QWidget, name: str) -> QPushButton:
    found = [b for b in page.findChildren(QPushButton) if b.accessibleName() == name and b.isVisibleTo(page)]
    assert len(found) == 1, name
    return found[0]


def issue_by_service(services: Services, tag: str = "TAB-0042", reference: str = "R-00001") -> None:
    services.lending.issue(tag, reference)


# The whole flow, keyboard only


def test_issue_return_and_wipe_by_keyboard_only(desk: DeskPage, services: Services, qtbot: QtBot) -> None:
    assert focused() is desk.scan_box

    scan("tab-0042")
    assert desk.step == Step.FIND_RESIDENT
    assert focused() is desk.resident_search
    type_text("clarke")
    qtbot.waitUntil(lambda: desk.resident_model.total == 1)
    press(Qt.Key.Key_Down)
    assert desk.resident_table.currentIndex().row() == 0
    press(Qt.Key.Key_Return)
    assert desk.step == Step.CONFIRM_ISSUE

    press(Qt.Key.Key_Return)  # not yet: the resident has not accepted the agreement
    assert desk.step == Step.CONFIRM_ISSUE
    assert "accept" in desk.problem_text()
    assert services.lending.open_loan("TAB-0042") is None
    press(Qt.Key.Key_Space)  # the focus is on "Resident has read and accepted the agreement"
    with qtbot.waitSignal(desk.changed, timeout=2000):
        press(Qt.Key.Key_Return)

    loan = services.lending.open_loan("TAB-0042")
    assert loan is not None and loan.resident_reference == "R-00001" and loan.accepted
    assert [(line.name, line.out) for line in loan.kit] == [
        ("Charger", True),
        ("Cable", True),
        ("Case", True),
    ]
    assert desk.step == Step.SCAN
    assert desk.outcome_text == f"TAB-0042 lent to R-00001 Maureen Clarke, due {DUE}."
    assert focused() is desk.scan_box

    scan("TAB-0042")
    assert desk.step == Step.RETURN
    with qtbot.waitSignal(desk.changed, timeout=2000):
        press(Qt.Key.Key_Return)
    assert services.inventory.get("TAB-0042").status == DeviceStatus.AWAITING_WIPE
    assert "now awaits a wipe" in desk.outcome_text

    scan("TAB-0042")
    assert desk.step == Step.WIPE
    for _check in range(4):
        press(Qt.Key.Key_Tab)
        press(Qt.Key.Key_Space)
    with qtbot.waitSignal(desk.changed, timeout=2000):
        press(Qt.Key.Key_Return)

    assert services.inventory.get("TAB-0042").status == DeviceStatus.AVAILABLE
    assert services.lending.last_wipe("TAB-0042").checklist == WipeChecklist(True, True, True, True)
    assert desk.outcome_text.startswith("TAB-0042 is wiped (factory reset) and available to lend.")
    assert "Nobody is waiting for a tablet." in desk.outcome_text


def test_a_resident_card_scanned_into_the_search_picks_that_resident(
    desk: DeskPage, services: Services
) -> None:
    scan("TAB-0042")
    scan("r-00002")  # the card's QR code types the reference
    assert desk.step == Step.CONFIRM_ISSUE
    press(Qt.Key.Key_Space)
    press(Qt.Key.Key_Return)
    loan = services.lending.open_loan("TAB-0042")
    assert loan is not None and loan.resident_name == "Maureen Hughes"


def test_enter_with_several_matches_asks_to_choose(desk: DeskPage, qtbot: QtBot) -> None:
    scan("TAB-0042")
    type_text("maureen")
    qtbot.waitUntil(lambda: desk.resident_model.total == 2)
    press(Qt.Key.Key_Return)
    assert desk.step == Step.FIND_RESIDENT
    assert desk.problem_text() == "2 residents match: press Down to choose one, or type more of the name."
    press(Qt.Key.Key_Down)
    press(Qt.Key.Key_Down)
    press(Qt.Key.Key_Return)
    assert desk.step == Step.CONFIRM_ISSUE
    assert "R-00002 Maureen Hughes" in desk.step_widget(Step.CONFIRM_ISSUE).findChildren(QLabel)[0].text()


def test_kit_unticked_stays_behind_and_is_said(desk: DeskPage, services: Services) -> None:
    scan("TAB-0042")
    scan("R-00001")
    press(Qt.Key.Key_Space)  # accepted
    kit = [
        box
        for box in desk.step_widget(Step.CONFIRM_ISSUE).findChildren(QAbstractButton)
        if box.text() == "Case"
    ]
    kit[0].setFocus()
    press(Qt.Key.Key_Space)  # the case stays at the desk
    press(Qt.Key.Key_Return)
    loan = services.lending.open_loan("TAB-0042")
    assert loan is not None
    assert [line.name for line in loan.kit if not line.out] == ["Case"]
    assert desk.outcome_text.endswith("Kit not given: Case.")


# Escape backs out one step; nothing is recorded


def test_escape_backs_out_one_step_at_a_time(desk: DeskPage, services: Services, qtbot: QtBot) -> None:
    steps: list[str] = []
    desk.step_changed.connect(steps.append)
    scan("TAB-0042")
    type_text("okafor")
    qtbot.waitUntil(lambda: desk.resident_model.total == 1)
    press(Qt.Key.Key_Return)
    assert desk.step == Step.CONFIRM_ISSUE

    press(Qt.Key.Key_Escape)
    assert desk.step == Step.FIND_RESIDENT
    assert desk.resident_search.text() == "okafor"  # kept, to choose again
    press(Qt.Key.Key_Escape)
    assert desk.step == Step.SCAN
    assert desk.outcome_text == "Nothing was recorded for TAB-0042."
    assert focused() is desk.scan_box
    press(Qt.Key.Key_Escape)
    assert desk.scan_box.text() == ""
    assert steps == ["find_resident", "confirm_issue", "find_resident", "scan"]
    assert services.lending.open_loan("TAB-0042") is None

    issue_by_service(services)
    scan("TAB-0042")
    button(desk, "Lost or stolen").setFocus()
    press(Qt.Key.Key_Return)  # Enter on a focused button presses that button
    assert desk.step == Step.LOST
    press(Qt.Key.Key_Escape)
    assert desk.step == Step.RETURN
    press(Qt.Key.Key_Escape)
    assert desk.step == Step.SCAN
    assert services.inventory.get("TAB-0042").status == DeviceStatus.ON_LOAN


def test_enter_and_escape_work_from_any_control_of_a_step(desk: DeskPage) -> None:
    scan("TAB-0042")
    scan("R-00001")
    panel = desk.step_widget(Step.CONFIRM_ISSUE)
    controls = [
        widget
        for widget in panel.findChildren(QWidget)
        if widget.isVisible()
        and widget.isEnabled()
        and widget.focusPolicy() & Qt.FocusPolicy.TabFocus
        and widget.focusProxy() is None
        and not isinstance(widget, QPushButton)  # Enter on a button presses that button
    ]
    assert len(controls) >= 6
    for control in controls:
        control.setFocus()
        press(Qt.Key.Key_Return)  # Issue, refused until the agreement is accepted
        assert desk.step == Step.CONFIRM_ISSUE and "accept" in desk.problem_text(), control.accessibleName()
        control.setFocus()
        press(Qt.Key.Key_Escape)
        assert desk.step == Step.FIND_RESIDENT, control.accessibleName()
        press(Qt.Key.Key_Return)  # the search still holds R-00001
        assert desk.step == Step.CONFIRM_ISSUE


def test_tab_goes_through_the_issue_step_in_reading_order(desk: DeskPage) -> None:
    scan("TAB-0042")
    scan("R-00001")
    due = [w for w in desk.step_widget(Step.CONFIRM_ISSUE).findChildren(QAbstractSpinBox) if w.isEnabled()]
    due[0].setFocus()
    order = []
    for _ in range(8):
        order.append(focused().accessibleName())
        press(Qt.Key.Key_Tab)
    assert order == [
        "Due back on",
        "Charger goes out",
        "Cable goes out",
        "Case goes out",
        "Resident has read and accepted the agreement",
        "Recorded late (it was lent earlier)",
        "Issue the device",
        "Back one step",
    ]


# What the loan achieved, asked when it closes


def check_box(page: DeskPage, name: str) -> QCheckBox:
    """One of the return step's tick boxes, by its accessible name."""
    box = button_like(page, Step.RETURN, name)
    assert isinstance(box, QCheckBox)
    return box


def included_with_a_tablet_and_a_sim(services: Services, clock: FakeClock) -> None:
    """R-00001 can do Foundation and Communicating alone, has neither device nor connection of her own,
    and has TAB-0042 and SIM-0001 on loan: digitally included, through the loans."""
    levels = dict.fromkeys(SkillArea, SkillLevel.NOT_YET) | {
        SkillArea.FOUNDATION: SkillLevel.ALONE,
        SkillArea.COMMUNICATING: SkillLevel.ALONE,
    }
    services.skills.record("R-00001", SkillsCheckDraft(levels, clock.now.astimezone().date()))
    services.inventory.add(DeviceDraft(tag="SIM-0001", device_type=DeviceType.DATA_SIM))
    issue_by_service(services)
    issue_by_service(services, "SIM-0001")
    assert services.residents.get("R-00001").inclusion_status is InclusionStatus.INCLUDED


def test_closing_loans_with_the_questions_answered_moves_the_status_as_the_rule_says(
    desk: DeskPage, services: Services, clock: FakeClock, qtbot: QtBot
) -> None:
    included_with_a_tablet_and_a_sim(services, clock)
    scan("SIM-0001")
    assert desk.step == Step.RETURN
    own_device = check_box(desk, "Has a device of their own now")
    own_connection = check_box(desk, "Has an internet connection of their own now")
    assert not own_device.isEnabled() and not own_connection.isEnabled()  # 'Not asked' to begin with
    QTest.keyClick(focused(), Qt.Key.Key_W, Qt.KeyboardModifier.AltModifier)  # Did the loan do &what…
    assert focused().accessibleName() == "Did the loan do what it was for?"
    press(Qt.Key.Key_Y)  # the letter picks 'Yes'
    assert own_device.isEnabled() and own_connection.isEnabled()
    assert not own_device.isChecked() and not own_connection.isChecked()  # as her skills check said
    press(Qt.Key.Key_Tab)
    press(Qt.Key.Key_Tab)
    assert focused() is own_connection
    press(Qt.Key.Key_Space)  # she has broadband at home now
    with qtbot.waitSignal(desk.changed, timeout=2000):
        press(Qt.Key.Key_Return)

    sim = services.lending.loans_of("R-00001")
    closed = next(loan for loan in sim if loan.device_tag == "SIM-0001")
    assert closed.achieved == LoanAchieved(ReasonMet.YES, own_device=False, own_connection=True)
    # The tablet on loan and her own connection: still digitally included, so the desk says nothing more.
    assert services.residents.get("R-00001").inclusion_status is InclusionStatus.INCLUDED
    assert desk.outcome_text.endswith("scan SIM-0001 again to record the wipe.")

    scan("TAB-0042")
    QTest.keyClick(focused(), Qt.Key.Key_W, Qt.KeyboardModifier.AltModifier)
    press(Qt.Key.Key_Down)
    press(Qt.Key.Key_Down)
    assert desk.achieved() == LoanAchieved(ReasonMet.PARTLY, own_device=False, own_connection=True)
    assert own_connection.isChecked() and not own_device.isChecked()  # as she answered with the SIM
    QTest.keyClick(focused(), Qt.Key.Key_V, Qt.KeyboardModifier.AltModifier)  # Has a de&vice…
    qtbot.waitUntil(own_device.isChecked)  # she bought a tablet of her own (Alt ticks after a blink)
    with qtbot.waitSignal(desk.changed, timeout=2000):
        press(Qt.Key.Key_Return)
    tablet = next(loan for loan in services.lending.loans_of("R-00001") if loan.device_tag == "TAB-0042")
    assert tablet.achieved == LoanAchieved(ReasonMet.PARTLY, own_device=True, own_connection=True)
    assert services.residents.get("R-00001").inclusion_status is InclusionStatus.INDEPENDENT
    assert desk.outcome_text.endswith(
        "scan TAB-0042 again to record the wipe. Maureen Clarke is now independently included."
    )


def test_a_quick_drop_off_records_no_answers_and_says_when_the_status_moved(
    desk: DeskPage, services: Services, clock: FakeClock, qtbot: QtBot
) -> None:
    included_with_a_tablet_and_a_sim(services, clock)
    scan("SIM-0001")
    with qtbot.waitSignal(desk.changed, timeout=2000):
        press(Qt.Key.Key_Return)  # straight back: the questions stay 'Not asked'
    closed = next(loan for loan in services.lending.loans_of("R-00001") if loan.device_tag == "SIM-0001")
    assert closed.achieved is None and not closed.is_open
    assert services.inventory.get("SIM-0001").status == DeviceStatus.AWAITING_WIPE
    assert services.residents.get("R-00001").inclusion_status is InclusionStatus.SUPPORTED  # no connection
    assert desk.outcome_text == (
        "SIM-0001 is back from R-00001 Maureen Clarke. It now awaits a wipe: scan SIM-0001 again to record "
        "the wipe. Maureen Clarke is now supported."
    )


def test_answering_then_going_back_to_not_asked_records_nothing(
    desk: DeskPage, services: Services, qtbot: QtBot
) -> None:
    issue_by_service(services)
    scan("TAB-0042")
    QTest.keyClick(focused(), Qt.Key.Key_W, Qt.KeyboardModifier.AltModifier)
    press(Qt.Key.Key_End)  # No, the last answer
    QTest.keyClick(focused(), Qt.Key.Key_C, Qt.KeyboardModifier.AltModifier)  # Has an internet &connection…
    qtbot.waitUntil(check_box(desk, "Has an internet connection of their own now").isChecked)
    QTest.keyClick(focused(), Qt.Key.Key_W, Qt.KeyboardModifier.AltModifier)
    press(Qt.Key.Key_Home)  # Not asked
    assert desk.achieved() is None
    assert not check_box(desk, "Has an internet connection of their own now").isEnabled()
    with qtbot.waitSignal(desk.changed, timeout=2000):
        press(Qt.Key.Key_Return)
    assert services.lending.loans_of("R-00001")[0].achieved is None


def test_tab_goes_through_the_return_step_in_reading_order(desk: DeskPage, services: Services) -> None:
    issue_by_service(services)
    scan("TAB-0042")
    kit = button_like(desk, Step.RETURN, "Charger came back")
    kit.setFocus()
    QTest.keyClick(focused(), Qt.Key.Key_W, Qt.KeyboardModifier.AltModifier)
    press(Qt.Key.Key_Y)
    kit.setFocus()
    order = []
    for _ in range(12):
        order.append(focused().accessibleName())
        press(Qt.Key.Key_Tab)
    assert order == [
        "Charger came back",
        "Cable came back",
        "Case came back",
        "Condition now",
        "Fault, if any",
        "Did the loan do what it was for?",
        "Has a device of their own now",
        "Has an internet connection of their own now",
        "Recorded late (it came back earlier)",
        "Return the device",
        "Renew the loan",
        "Lost or stolen",
    ]


# Refusals in words


@pytest.mark.parametrize(
    ("status", "words"),
    [
        (DeviceStatus.IN_REPAIR, "TAB-0042 cannot be lent: it is in repair. Recorded: Screen cracked."),
        (
            DeviceStatus.QUARANTINED,
            "TAB-0042 cannot be lent: it is quarantined or lost. Recorded: Screen cracked.",
        ),
        (DeviceStatus.RETIRED, "TAB-0042 cannot be lent: it is retired. Recorded: Screen cracked."),
    ],
)
def test_a_device_that_cannot_be_lent_is_explained_in_words(
    desk: DeskPage, services: Services, status: DeviceStatus, words: str
) -> None:
    services.inventory.change_status("TAB-0042", status, "Screen cracked")
    scan("TAB-0042")
    assert desk.step == Step.SCAN
    assert desk.outcome_text.startswith(words)
    assert desk.scan_box.selectedText() == "TAB-0042"  # the next scan replaces it


def test_an_unknown_tag_is_explained_in_words(desk: DeskPage) -> None:
    scan("TAB-9999")
    assert desk.step == Step.SCAN
    assert desk.outcome_text.startswith("No device has the tag 'TAB-9999', and no resident matches it.")


def test_a_device_held_for_someone_on_the_waiting_list_is_refused_for_others(
    desk: DeskPage, services: Services
) -> None:
    issue_by_service(services)
    services.lending.return_device("TAB-0042")
    services.lending.join_waiting_list("R-00003", DeviceType.TABLET)
    services.lending.record_wipe("TAB-0042", WipeMethod.FACTORY_RESET, WipeChecklist(True, True, True, True))
    scan("TAB-0042")
    note = [label.text() for label in desk.step_widget(Step.FIND_RESIDENT).findChildren(QLabel)]
    assert any(text.startswith("Held for R-00003 Tom Okafor from the waiting list") for text in note)
    scan("R-00001")
    press(Qt.Key.Key_Space)
    press(Qt.Key.Key_Return)
    assert desk.step == Step.CONFIRM_ISSUE
    assert desk.problem_text().startswith("TAB-0042 is held for R-00003 from the waiting list")
    assert services.lending.open_loan("TAB-0042") is None


# From an open loan: renew, lost or stolen; and recorded late


def test_renew_shows_the_new_due_date(desk: DeskPage, services: Services, qtbot: QtBot) -> None:
    issue_by_service(services)
    scan("TAB-0042")
    with qtbot.waitSignal(desk.changed, timeout=2000):
        QTest.keyClick(focused(), Qt.Key.Key_N, Qt.KeyboardModifier.AltModifier)  # Re&new loan
    assert desk.outcome_text == (
        "Renewed TAB-0042 for R-00001 Maureen Clarke: now due Saturday 9 May (renewal 1 of 2)."
    )
    loan = services.lending.open_loan("TAB-0042")
    assert loan is not None and loan.renewals == 1


def test_lost_or_stolen_needs_a_reason(desk: DeskPage, services: Services, qtbot: QtBot) -> None:
    issue_by_service(services)
    scan("TAB-0042")
    desk.lost_or_stolen()
    assert focused() is desk.step_widget(Step.LOST).findChild(QLineEdit)
    press(Qt.Key.Key_Return)
    assert desk.step == Step.LOST
    assert desk.problem_text().startswith("Say what happened")
    combo = desk.step_widget(Step.LOST).findChild(QComboBox)
    assert combo is not None
    combo.setFocus()
    press(Qt.Key.Key_Down)  # Stolen
    press(Qt.Key.Key_Tab)
    type_text("Stolen from home, crime reference 123")
    with qtbot.waitSignal(desk.changed, timeout=2000):
        press(Qt.Key.Key_Return)
    assert services.inventory.get("TAB-0042").status == DeviceStatus.QUARANTINED
    assert desk.outcome_text.startswith("TAB-0042 recorded as stolen: the loan to R-00001 Maureen Clarke")


def test_a_return_recorded_late_needs_a_reason_and_keeps_the_time(
    desk: DeskPage, services: Services, clock: FakeClock
) -> None:
    issue_by_service(services)
    clock.now += timedelta(days=5)  # the desk opens again five days on
    scan("TAB-0042")
    late = button_like(desk, Step.RETURN, "Recorded late (it came back earlier)")
    late.setFocus()
    press(Qt.Key.Key_Space)
    assert focused().accessibleName() == "When it happened"
    when = focused()
    assert isinstance(when, QAbstractSpinBox)
    when.setProperty(
        "dateTime", QDateTime.fromSecsSinceEpoch(int((clock.now - timedelta(days=2)).timestamp()))
    )
    press(Qt.Key.Key_Return)
    assert desk.step == Step.RETURN
    assert desk.problem_text().startswith("Say why this is recorded late")
    assert focused().accessibleName() == "Why it is recorded late"
    type_text("Posted through the door on Thursday")
    press(Qt.Key.Key_Return)

    assert desk.step == Step.SCAN
    loan = services.lending.loans_of("R-00001")[0]
    assert loan.closed_at == clock.now - timedelta(days=2)
    assert "Posted through the door on Thursday" in loan.late_reason


def test_an_issue_recorded_late_runs_from_the_day_it_started(
    desk: DeskPage, services: Services, clock: FakeClock
) -> None:
    scan("TAB-0042")
    scan("R-00001")
    late = button_like(desk, Step.CONFIRM_ISSUE, "Recorded late (it was lent earlier)")
    late.setFocus()
    press(Qt.Key.Key_Space)
    when = focused()
    three_days_ago = clock.now - timedelta(days=3)
    when.setProperty("dateTime", QDateTime.fromSecsSinceEpoch(int(three_days_ago.timestamp())))
    due = [
        w
        for w in desk.step_widget(Step.CONFIRM_ISSUE).findChildren(QAbstractSpinBox)
        if w.accessibleName() == "Due back on"
    ][0]
    assert due.property("date").toPython() == three_days_ago.date() + timedelta(days=28)
    press(Qt.Key.Key_Tab)
    type_text("Desk computer was down")
    accepted = button_like(desk, Step.CONFIRM_ISSUE, "Resident has read and accepted the agreement")
    accepted.setFocus()
    press(Qt.Key.Key_Space)
    press(Qt.Key.Key_Return)
    loan = services.lending.open_loan("TAB-0042")
    assert loan is not None
    assert loan.issued_at == three_days_ago
    assert loan.due_on == three_days_ago.date() + timedelta(days=28)
    assert loan.late_reason == "Desk computer was down"


def button_like(page: DeskPage, step: Step, name: str) -> QWidget:
    found = [w for w in page.step_widget(step).findChildren(QAbstractButton) if w.accessibleName() == name]
    assert len(found) == 1, name
    return found[0]


# Residents without a device: the waiting list, and offers after a wipe


def test_a_resident_joins_the_waiting_list_and_is_offered_the_next_wiped_device(
    desk: DeskPage, services: Services, qtbot: QtBot
) -> None:
    issue_by_service(services)  # the only tablet is out
    scan("okafor")  # a name typed in the scan box finds the resident
    assert desk.step == Step.FIND_RESIDENT
    press(Qt.Key.Key_Return)  # one match
    assert desk.step == Step.RESIDENT
    combo = focused()
    assert isinstance(combo, QComboBox) and combo.currentText() == "Tablet (0 available)"
    with qtbot.waitSignal(desk.changed, timeout=2000):
        press(Qt.Key.Key_Return)
    assert desk.outcome_text.startswith(
        "R-00003 Tom Okafor is on the waiting list for a tablet: number 1 in the queue."
    )
    assert [(e.resident_reference, e.status) for e in services.lending.waiting_list()] == [
        ("R-00003", WaitStatus.WAITING)
    ]

    services.lending.return_device("TAB-0042")
    scan("TAB-0042")
    for _check in range(4):
        press(Qt.Key.Key_Tab)
        press(Qt.Key.Key_Space)
    press(Qt.Key.Key_Return)
    assert "It is offered to R-00003 Tom Okafor (tom@example.org) from the waiting list" in desk.outcome_text


def test_a_resident_reference_scanned_opens_the_resident(desk: DeskPage, services: Services) -> None:
    issue_by_service(services)
    scan("R-00001")
    assert desk.step == Step.RESIDENT
    summary = "\n".join(label.text() for label in desk.step_widget(Step.RESIDENT).findChildren(QLabel))
    assert "On loan now: TAB-0042 due Sat 11 Apr." in summary
    press(Qt.Key.Key_Escape)
    assert desk.step == Step.SCAN


# A new resident at the counter, and the loan agreement


def test_a_new_resident_is_registered_and_the_loan_carries_on(
    services: Services, tasks: TaskRunner, qtbot: QtBot, clock: FakeClock
) -> None:
    services.inventory.add(DeviceDraft(tag="LAP-0001", device_type=DeviceType.LAPTOP, kit=("Charger",)))
    seen: list[str] = []

    def fill_the_form(
        svc: Services, parent: QWidget, resident: Resident | None, name: str
    ) -> Resident | None:
        dialog = ResidentDialog(svc, resident, parent, name=name)
        seen.append(dialog.draft().name)
        phone = dialog.field("phone")
        assert isinstance(phone, QLineEdit)
        phone.setText("07700 900123")
        dialog.save()
        return dialog.saved

    page = DeskPage(services, tasks, clock=clock, ask_new_resident=fill_the_form)
    qtbot.addWidget(page)
    page.scan("LAP-0001")
    page.resident_search.setText("Priya Shah")
    with qtbot.waitSignal(page.changed, timeout=2000):
        button(page, "Register a new resident").click()
    assert seen == ["Priya Shah"]
    assert page.step == Step.CONFIRM_ISSUE
    assert services.residents.get("R-00001").name == "Priya Shah"


def page_sizes_mm(path: Path) -> list[tuple[int, int]]:
    document = pdfium.PdfDocument(str(path))
    try:
        sizes = (document[index].get_size() for index in range(len(document)))
        return [(round(width * 25.4 / 72), round(height * 25.4 / 72)) for width, height in sizes]
    finally:
        document.close()


def test_print_agreement_is_offered_after_an_issue(
    desk: DeskPage, printing: DocumentPrinting, asked_to_print: list[str], printed: Path, qtbot: QtBot
) -> None:
    assert not desk.print_agreement_button.isVisible()
    scan("TAB-0042")
    scan("R-00001")
    press(Qt.Key.Key_Space)
    press(Qt.Key.Key_Return)
    assert desk.print_agreement_button.isVisible()
    assert not desk.print_certificate_button.isVisible()

    with qtbot.waitSignal(desk.notice, timeout=20_000) as notice:
        QTest.keyClick(focused(), Qt.Key.Key_P, Qt.KeyboardModifier.AltModifier)  # &Print agreement…

    assert asked_to_print == ["the loan agreement and due-date slip for TAB-0042"]
    assert notice.args == ["Sent the loan agreement and due-date slip for TAB-0042 to the printer (2 pages)."]
    assert page_sizes_mm(printed) == [(210, 297), (148, 210)]  # the agreement, A4, and the slip, A5
    assert desk.outcome_text.startswith("TAB-0042 lent to R-00001")  # the loan is still what it says
    scan("TAB-0042")  # the next piece of work
    assert not desk.print_agreement_button.isVisible()


def test_print_wipe_certificate_is_offered_after_a_wipe(
    desk: DeskPage, services: Services, asked_to_print: list[str], printed: Path, qtbot: QtBot
) -> None:
    services.lending.issue("TAB-0042", "R-00001")
    services.lending.return_device("TAB-0042")
    scan("TAB-0042")
    assert desk.step == Step.WIPE
    assert not desk.print_certificate_button.isVisibleTo(desk)
    for box in desk.step_widget(Step.WIPE).findChildren(QCheckBox):
        box.setChecked(True)
    press(Qt.Key.Key_Return)
    assert desk.step == Step.SCAN
    assert desk.print_certificate_button.isVisible()
    assert not desk.print_agreement_button.isVisible()
    assert desk.print_certificate_button.accessibleName() == "Print the wipe certificate"

    with qtbot.waitSignal(desk.notice, timeout=20_000) as notice:
        QTest.keyClick(focused(), Qt.Key.Key_C, Qt.KeyboardModifier.AltModifier)  # Print wipe &certificate…

    assert asked_to_print == ["the wipe certificate for TAB-0042"]
    assert notice.args == ["Sent the wipe certificate for TAB-0042 to the printer (1 page)."]
    assert page_sizes_mm(printed) == [(210, 297)]
    press(Qt.Key.Key_Escape)  # clears the scan box; the certificate can still be printed
    assert desk.print_certificate_button.isVisible()
    scan("R-00001")
    assert not desk.print_certificate_button.isVisibleTo(desk)


@pytest.mark.parametrize("printed", [Path("no-such-folder") / "printed.pdf"])  # the printer cannot start
def test_a_printer_that_cannot_start_is_explained_in_words(
    desk: DeskPage, printed: Path, qtbot: QtBot
) -> None:
    scan("TAB-0042")
    scan("R-00001")
    press(Qt.Key.Key_Space)
    press(Qt.Key.Key_Return)

    with qtbot.waitSignal(desk.notice, timeout=20_000) as notice:
        desk.print_agreement_button.click()

    refusal = "The printer could not start printing. Check it is on and try again."
    assert notice.args == [refusal]
    assert desk.outcome_text == refusal
    assert desk.print_agreement_button.isVisible()  # staff can try again
    assert not printed.parent.exists()


# Accessibility: names, Alt keys, and Tab reaching every control on every step

INTERACTIVE = (
    QAbstractButton,
    QLineEdit,
    QComboBox,
    QAbstractItemView,
    QAbstractSpinBox,
    QPlainTextEdit,
    QTextEdit,
)


def unnamed_controls(root: QWidget) -> list[str]:
    """Interactive widgets under `root` with neither an accessible name nor a label pointing at them."""
    buddies = {id(label.buddy()) for label in root.findChildren(QLabel) if label.buddy() is not None}
    missing = []
    for widget in root.findChildren(QWidget):
        if not isinstance(widget, INTERACTIVE):
            continue
        parent = widget.parentWidget()
        while parent is not None and parent is not root and not isinstance(parent, INTERACTIVE):
            parent = parent.parentWidget()
        if parent is not None and parent is not root:
            continue  # part of a control (a combo's list, a spin box's line), named by the control
        if not widget.accessibleName().strip() and id(widget) not in buddies:
            missing.append(f"{type(widget).__name__} {getattr(widget, 'text', str)()!r}")
    return missing


def visible_mnemonics(root: QWidget) -> list[str]:
    letters = []
    for widget in root.findChildren(QWidget):
        if isinstance(widget, QLabel | QAbstractButton) and widget.isVisibleTo(root):
            text = widget.text().replace("&&", "")
            if "&" in text:
                letters.append(text[text.index("&") + 1].lower())
    return sorted(letters)


def reach_by_tab(qtbot: QtBot, root: QWidget, start: QWidget) -> set[QWidget]:
    """Every visible control under `root` that Tab should reach but does not, starting at `start`."""
    wanted = {
        widget
        for widget in root.findChildren(QWidget)
        if widget.isVisible()
        and widget.isEnabled()
        and widget.focusPolicy() & Qt.FocusPolicy.TabFocus
        and widget.focusProxy() is None
    }
    start.setFocus()
    qtbot.waitUntil(lambda: QApplication.focusWidget() is start)
    reached = set()
    for _ in range(3 * len(wanted) + 5):
        reached.add(focused())
        press(Qt.Key.Key_Tab)
    start.setFocus()  # where it was, for the keys that follow
    return wanted - reached


def walk_every_step(desk: DeskPage, services: Services) -> Iterator[Step]:
    """Bring the desk to each step in turn."""
    yield Step.SCAN
    scan("TAB-0042")
    yield Step.FIND_RESIDENT
    scan("R-00001")
    yield Step.CONFIRM_ISSUE
    press(Qt.Key.Key_Space)
    press(Qt.Key.Key_Return)
    assert desk.print_agreement_button.isVisible()
    yield Step.SCAN
    scan("TAB-0042")
    yield Step.RETURN
    QTest.keyClick(focused(), Qt.Key.Key_W, Qt.KeyboardModifier.AltModifier)
    press(Qt.Key.Key_Y)  # answered: the two questions about their own access are on offer too
    yield Step.RETURN
    desk.lost_or_stolen()
    yield Step.LOST
    press(Qt.Key.Key_Escape)
    press(Qt.Key.Key_Return)
    scan("TAB-0042")
    yield Step.WIPE
    for box in desk.step_widget(Step.WIPE).findChildren(QCheckBox):
        box.setChecked(True)
    press(Qt.Key.Key_Return)
    assert desk.print_certificate_button.isVisible()
    yield Step.SCAN
    scan("R-00002")
    yield Step.RESIDENT


def test_every_control_on_every_step_is_named_and_reached_by_tab(
    desk: DeskPage, services: Services, qtbot: QtBot
) -> None:
    counted = 0
    for step in walk_every_step(desk, services):
        assert desk.step == step
        panel = desk.step_widget(step)
        counted += len([w for w in panel.findChildren(QWidget) if isinstance(w, INTERACTIVE)])
        assert unnamed_controls(desk) == [], step
        keys = visible_mnemonics(desk)
        assert len(keys) == len(set(keys)), (step, keys)
        # The main window's own Alt keys: File, Go, Help menus and its Scan box.
        assert not {"f", "g", "h", "s"} & set(keys), (step, keys)
        missing = reach_by_tab(qtbot, desk, focused())
        assert missing == set(), (step, [w.accessibleName() for w in missing])
    assert counted > 40


def test_the_scan_box_has_the_focus_when_the_desk_is_shown(
    services: Services, tasks: TaskRunner, qtbot: QtBot
) -> None:
    page = DeskPage(services, tasks)
    qtbot.addWidget(page)
    page.show()
    qtbot.waitExposed(page)
    page.activateWindow()
    qtbot.waitUntil(lambda: QApplication.focusWidget() is page.scan_box)


def test_the_desk_warns_apart_about_data_that_has_run_out_and_data_running_out_soon(
    desk: DeskPage, services: Services, clock: FakeClock, qtbot: QtBot
) -> None:
    today = clock.now.astimezone().date()
    assert desk.warnings_text == ""
    for number, expires in enumerate((-3, 5, 60), start=1):
        tag = f"SIM-000{number}"
        services.inventory.add(DeviceDraft(tag=tag, device_type=DeviceType.DATA_SIM))
        plan = DataPlan("Vodafone", "National Databank", "20 GB", None, today + timedelta(days=expires))
        services.lending.set_data_plan(tag, plan)
        services.lending.issue(tag, "R-00001")
    desk.hide()
    desk.show()  # the warnings are read again whenever the desk is shown
    qtbot.waitExposed(desk)
    assert desk.warnings_text == (
        "Data on loan that has run out: SIM-0001 (R-00001 Maureen Clarke, Wed 11 Mar). "
        "Data on loan that runs out within 14 days: SIM-0002 (R-00001 Maureen Clarke, Thu 19 Mar)."
    )
