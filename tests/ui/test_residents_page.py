"""The residents page and the resident form: search as you type (paged in SQL), one resident's details,
inclusion status, consents, loans, waits and skills over time; recording a skills check; the form's checks as
staff type and its duplicate warning; accessibility."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import date, time, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import pypdfium2 as pdfium
import pytest
from PySide6.QtCore import QModelIndex, Qt
from PySide6.QtPrintSupport import QPrinter
from PySide6.QtTest import QTest
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QAbstractSpinBox,
    QApplication,
    QCheckBox,
    QComboBox,
    QGroupBox,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QTextEdit,
    QWidget,
)
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot

from digiknow_desk.app import Services
from digiknow_desk.domain.champions import ChampionDraft
from digiknow_desk.domain.devices import DeviceDraft, DeviceType
from digiknow_desk.domain.inclusion import InclusionRule, InclusionStatus
from digiknow_desk.domain.loans import LoanAchieved, ReasonMet
from digiknow_desk.domain.residents import ConsentPurpose, Resident, ResidentDraft
from digiknow_desk.domain.sessions import SessionDraft, SessionKind
from digiknow_desk.domain.skills import SkillArea, SkillLevel, SkillsCheck, SkillsCheckDraft
from digiknow_desk.domain.staff import Role, StaffMember
from digiknow_desk.services.residents import PAGE_SIZE
from digiknow_desk.ui.printing import DocumentPrinting, PrintChoice, printer_for_documents
from digiknow_desk.ui.resident_dialog import SENSITIVE_TITLE, ResidentDialog
from digiknow_desk.ui.resident_table_model import (
    ResidentLoansTableModel,
    ResidentTableModel,
    SkillsProgressModel,
    inclusion_words,
)
from digiknow_desk.ui.residents_page import ResidentsPage
from digiknow_desk.ui.skills_dialog import SkillsDialog
from digiknow_desk.ui.tasks import TaskRunner

if TYPE_CHECKING:
    from tests.conftest import FakeClock


@pytest.fixture
def tasks() -> Iterator[TaskRunner]:
    runner = TaskRunner()
    yield runner
    runner.shutdown()


def add(services: Services, name: str, *, phone: str = "", postcode: str = "", **more: object) -> Resident:
    more.setdefault("consents", frozenset(ConsentPurpose))  # support recorded too: skills checks need it
    draft = ResidentDraft(name=name, phone=phone or "0161 000 0000", postcode=postcode, **more)  # type: ignore[arg-type]
    return services.residents.add(draft, duplicate_checked=True)


def make_page(
    services: Services,
    tasks: TaskRunner,
    qtbot: QtBot,
    clock: FakeClock,
    ask: object = None,
    printing: DocumentPrinting | None = None,
    ask_skills: object = None,
) -> ResidentsPage:
    def refuse(*_args: object) -> Resident | None:
        pytest.fail("the resident form would block the test")

    def refuse_to_ask(*_args: object) -> PrintChoice | None:
        pytest.fail("the print question would block the test")

    page = ResidentsPage(
        services,
        tasks,
        clock=clock,
        ask_resident=ask or refuse,  # type: ignore[arg-type]
        ask_skills_check=ask_skills or refuse,  # type: ignore[arg-type]
        printing=printing or DocumentPrinting(tasks, choose=refuse_to_ask),
    )
    qtbot.addWidget(page)
    page.resize(1280, 800)
    return page


def line(dialog: ResidentDialog, name: str) -> QLineEdit:
    widget = dialog.field(name)
    assert isinstance(widget, QLineEdit)
    return widget


# The models


def test_the_resident_model_passes_the_model_tester(services: Services, qtmodeltester: ModelTester) -> None:
    for number in range(7):
        add(services, f"Resident {number}", postcode="SK1 3XE")
    model = ResidentTableModel(services.residents, page_size=3)
    model.set_search("")
    qtmodeltester.check(model)  # with rows still to fetch
    while model.canFetchMore(QModelIndex()):
        model.fetchMore(QModelIndex())
    qtmodeltester.check(model)
    model.set_search("nobody of that name")
    qtmodeltester.check(model)


def test_a_search_matching_more_than_the_count_limit_says_so_and_still_scrolls(
    services: Services,
    tasks: TaskRunner,
    qtbot: QtBot,
    clock: FakeClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for number in range(7):
        add(services, f"Resident {number}", postcode="SK1 3XE")
    monkeypatch.setattr(ResidentTableModel, "COUNT_LIMIT", 4)
    model = ResidentTableModel(services.residents, page_size=3)
    model.set_search("sk1")
    assert (model.rowCount(), model.total, model.counted_all) == (3, 4, False)
    while model.canFetchMore(QModelIndex()):
        model.fetchMore(QModelIndex())
    # Pages load while they come back full; the last, short page makes the total known.
    assert (model.rowCount(), model.total, model.counted_all) == (7, 7, True)
    model.set_search("R-00003")
    assert (model.rowCount(), model.total, model.counted_all) == (1, 1, True)

    page = make_page(services, tasks, qtbot, clock)
    page.search_box.setText("resident")
    page.apply_search()
    assert page.count_text == "7 residents"  # the first page holds them all, so they are counted
    for number in range(PAGE_SIZE):
        add(services, f"Resident {number + 7}", postcode="SK2 5AB")
    monkeypatch.setattr(ResidentTableModel, "COUNT_LIMIT", PAGE_SIZE)
    page.apply_search()
    assert page.count_text == f"More than {PAGE_SIZE} residents: type more to narrow the list"
    page.search_box.setText("R-00003")
    page.apply_search()
    assert page.count_text == "1 resident"


def test_the_loans_model_passes_the_model_tester(
    services: Services, qtmodeltester: ModelTester, clock: FakeClock
) -> None:
    resident = add(services, "Maureen Clarke")
    for tag in ("TAB-0001", "TAB-0002"):
        services.inventory.add(DeviceDraft(tag=tag, device_type=DeviceType.TABLET))
        services.lending.issue(tag, resident.reference)
    services.lending.return_device("TAB-0001", achieved=LoanAchieved(ReasonMet.PARTLY, True, False))
    model = ResidentLoansTableModel()
    model.set_loans(services.lending.loans_of(resident.reference), clock.now.date())
    qtmodeltester.check(model)
    states = {model.loan(row).device_tag: model.data(model.index(row, model.STATE)) for row in range(2)}
    assert states == {"TAB-0001": "Returned Sat 14 Mar", "TAB-0002": "Due Sat 11 Apr"}
    achieved = {model.loan(row).device_tag: model.index(row, model.ACHIEVED) for row in range(2)}
    assert model.data(achieved["TAB-0001"]) == "Partly"
    assert model.data(achieved["TAB-0001"], Qt.ItemDataRole.ToolTipRole) == (
        "Afterwards, a device of their own: yes; an internet connection of their own: no"
    )
    assert model.data(achieved["TAB-0002"]) == ""  # still out: not asked yet
    services.lending.return_device("TAB-0002")  # a quick drop-off
    model.set_loans(services.lending.loans_of(resident.reference), clock.now.date())
    answers = {model.loan(row).device_tag: model.data(model.index(row, model.ACHIEVED)) for row in range(2)}
    assert answers == {"TAB-0001": "Partly", "TAB-0002": "Not asked"}


ALONE, HELP, NOT_YET = SkillLevel.ALONE, SkillLevel.WITH_HELP, SkillLevel.NOT_YET


def record_check(
    services: Services,
    reference: str,
    day: date,
    levels: dict[SkillArea, SkillLevel],
    *,
    own_device: bool = False,
    own_connection: bool = False,
) -> SkillsCheck:
    """A check with `levels`, every other area 'not yet'."""
    draft = SkillsCheckDraft(
        dict.fromkeys(SkillArea, NOT_YET) | levels, day, own_device=own_device, own_connection=own_connection
    )
    return services.skills.record(reference, draft)


def test_the_list_shows_each_residents_inclusion_status(
    services: Services, tasks: TaskRunner, qtbot: QtBot, clock: FakeClock
) -> None:
    add(services, "Maureen Clarke")
    add(services, "Tom Okafor")
    today = clock.now.date()
    record_check(services, "R-00002", today, {SkillArea.FOUNDATION: ALONE, SkillArea.COMMUNICATING: ALONE})
    model = ResidentTableModel(services.residents)
    model.set_search("")
    assert model.headerData(model.INCLUSION, Qt.Orientation.Horizontal) == "Inclusion status"
    statuses = {model.resident(row).name: model.data(model.index(row, model.INCLUSION)) for row in range(2)}
    assert statuses == {"Maureen Clarke": "Not yet supported", "Tom Okafor": "Supported"}


def test_the_skills_progress_model_passes_the_model_tester_and_says_what_moved(
    services: Services, qtmodeltester: ModelTester, clock: FakeClock
) -> None:
    resident = add(services, "Maureen Clarke")
    today = clock.now.date()
    record_check(services, resident.reference, date(2026, 2, 3), {SkillArea.FOUNDATION: HELP})
    record_check(
        services,
        resident.reference,
        today,
        {SkillArea.FOUNDATION: ALONE, SkillArea.TRANSACTING: HELP},
        own_device=True,
    )
    model = SkillsProgressModel()
    qtmodeltester.check(model)  # empty: no checks yet
    model.set_checks(services.skills.checks_of(resident.reference), today)
    qtmodeltester.check(model)
    assert (model.rowCount(), model.columnCount()) == (8, 2)
    header = [model.headerData(column, Qt.Orientation.Horizontal) for column in range(2)]
    assert header == ["Tue 3 Feb (baseline)", "Sat 14 Mar"]
    rows = [model.headerData(row, Qt.Orientation.Vertical) for row in range(8)]
    assert rows == [area.label for area in SkillArea] + ["Own device", "Own internet connection"]
    foundation = list(SkillArea).index(SkillArea.FOUNDATION)
    transacting = list(SkillArea).index(SkillArea.TRANSACTING)
    cells = {
        (row, column): model.data(model.index(row, column))
        for row in (foundation, transacting, model.OWN_DEVICE)
        for column in range(2)
    }
    assert cells == {
        (foundation, 0): "With help",
        (foundation, 1): "Alone ↑",
        (transacting, 0): "Not yet",
        (transacting, 1): "With help ↑",
        (model.OWN_DEVICE, 0): "No",
        (model.OWN_DEVICE, 1): "Yes",
    }
    said = model.data(model.index(foundation, 1), Qt.ItemDataRole.AccessibleTextRole)
    assert said == "Foundation skills on Sat 14 Mar: can do alone (up from can do with help)"


def test_the_list_reads_one_page_at_a_time(
    services: Services, tasks: TaskRunner, qtbot: QtBot, clock: FakeClock
) -> None:
    for number in range(PAGE_SIZE + 30):
        add(services, f"Resident {number:03d}")
    page = make_page(services, tasks, qtbot, clock)
    assert page.count_text == f"{PAGE_SIZE + 30} residents"
    assert page.model.rowCount() == PAGE_SIZE
    page.model.fetchMore(QModelIndex())
    assert page.model.rowCount() == PAGE_SIZE + 30


# Finding residents


def test_typing_finds_residents_by_name_reference_phone_or_postcode(
    services: Services, tasks: TaskRunner, qtbot: QtBot, clock: FakeClock
) -> None:
    add(services, "Maureen Clarke", phone="0161 474 4444", postcode="SK1 3XE")
    add(services, "Maureen Hughes", phone="0161 480 1234", postcode="SK5 6AB")
    add(services, "Tom Okafor", postcode="SK4 1AA")
    page = make_page(services, tasks, qtbot, clock)
    assert page.count_text == "3 residents"

    for typed, names in (
        ("maureen", ["Maureen Clarke", "Maureen Hughes"]),
        ("R-00003", ["Tom Okafor"]),
        ("474 4444", ["Maureen Clarke"]),
        ("sk5", ["Maureen Hughes"]),
    ):
        page.search_box.clear()
        qtbot.keyClicks(page.search_box, typed)
        qtbot.waitUntil(lambda typed=typed: page.model.search_text == typed)
        assert [page.model.resident(row).name for row in range(page.model.rowCount())] == names, typed
    assert page.count_text == "1 resident"


def test_enter_in_the_search_selects_the_first_resident(
    services: Services, tasks: TaskRunner, qtbot: QtBot, clock: FakeClock
) -> None:
    add(services, "Tom Okafor", postcode="SK4 1AA")
    page = make_page(services, tasks, qtbot, clock)
    page.search_box.setText("okafor")
    QTest.keyClick(page.search_box, Qt.Key.Key_Return)
    current = page.current_resident()
    assert current is not None and current.name == "Tom Okafor"
    assert page.shown_reference == current.reference


def test_show_resident_shows_details_consents_loans_and_waits(
    services: Services, tasks: TaskRunner, qtbot: QtBot, clock: FakeClock
) -> None:
    ward = services.venues.wards()[0]
    resident = add(
        services,
        "Maureen Clarke",
        phone="0161 474 4444",
        postcode="sk1 3xe",
        ward_code=ward.code,
        large_print=True,
        referral_partner="Housing officer",
        consents=frozenset({ConsentPurpose.LENDING, ConsentPurpose.CONTACT}),
    )
    for tag in ("TAB-0001", "TAB-0002"):
        services.inventory.add(DeviceDraft(tag=tag, device_type=DeviceType.TABLET))
    services.lending.issue("TAB-0001", resident.reference)
    clock.now += timedelta(days=40)
    services.lending.return_device("TAB-0001")
    services.lending.issue("TAB-0002", resident.reference)
    services.lending.join_waiting_list(resident.reference, DeviceType.MIFI)
    page = make_page(services, tasks, qtbot, clock)

    assert page.show_resident("r42") is False
    assert page.show_resident("r1") is True

    assert page.shown_reference == "R-00001"
    assert page.detail_text("contact") == "0161 474 4444"
    assert page.detail_text("place") == f"SK1 3XE, {ward.name}"
    assert page.detail_text("needs") == "Large print"
    assert page.detail_text("referral") == "Other, referred by Housing officer"
    assert page.detail_text("consents") == (
        "Keep my details to lend me a device (given Sat 14 Mar)\nContact me about my loan (given Sat 14 Mar)"
    )
    assert page.detail_text("waiting") == "MiFi / dongle: waiting since Thu 23 Apr"
    loans = page.loans_model
    assert [loans.data(loans.index(row, loans.TAG)) for row in range(loans.rowCount())] == [
        "TAB-0002",
        "TAB-0001",
    ]
    assert loans.data(loans.index(0, loans.STATE)) == "Due Thu 21 May"
    assert loans.data(loans.index(1, loans.STATE)) == "Returned Thu 23 Apr"


def test_details_show_the_status_with_why_and_the_skills_over_time(
    services: Services, tasks: TaskRunner, qtbot: QtBot, clock: FakeClock
) -> None:
    maureen = add(services, "Maureen Clarke")
    add(services, "Tom Okafor")
    today = clock.now.date()
    for tag, kind in (("TAB-0001", DeviceType.TABLET), ("SIM-0001", DeviceType.DATA_SIM)):
        services.inventory.add(DeviceDraft(tag=tag, device_type=kind))
        services.lending.issue(tag, maureen.reference)
    record_check(services, maureen.reference, date(2026, 2, 3), {SkillArea.FOUNDATION: HELP})
    page = make_page(services, tasks, qtbot, clock)
    page.show_resident(maureen.reference)
    assert page.detail_text("inclusion") == (
        "Supported: Foundation done with help, 0 areas done alone, tablet and data SIM on loan "
        "(the rule asks for Foundation done alone and 1 area done alone)"
    )
    assert page.skills_model.columnCount() == 1

    areas = {SkillArea.FOUNDATION: ALONE, SkillArea.COMMUNICATING: ALONE, SkillArea.TRANSACTING: ALONE}
    record_check(services, maureen.reference, today, areas)
    page.refresh()
    assert page.detail_text("inclusion") == (
        "Digitally included: Foundation done alone, 2 areas done alone, tablet and data SIM on loan"
    )
    skills = page.skills_model
    assert [skills.column_title(column) for column in range(skills.columnCount())] == [
        "Tue 3 Feb (baseline)",
        "Sat 14 Mar",
    ]
    communicating = list(SkillArea).index(SkillArea.COMMUNICATING)
    assert skills.data(skills.index(communicating, 0)) == "Not yet"
    assert skills.data(skills.index(communicating, 1)) == "Alone ↑"

    page.show_resident("R-00002")
    assert (
        page.detail_text("inclusion")
        == "Not yet supported: no support session, loan or skills check recorded yet."
    )
    assert page.skills_model.columnCount() == 0


@pytest.mark.parametrize(
    ("rule", "words"),
    [
        (
            InclusionRule(),
            "Independently included: Foundation done alone, 1 area done alone, own device and connection",
        ),
        (
            InclusionRule(areas_alone=2),
            "Supported: Foundation done alone, 1 area done alone, own device and connection "
            "(the rule asks for Foundation done alone and 2 areas done alone)",
        ),
    ],
)
def test_the_why_follows_the_newest_answer_about_their_own_access(
    services: Services, clock: FakeClock, rule: InclusionRule, words: str
) -> None:
    maureen = add(services, "Maureen Clarke")
    services.inclusion.set_rule(rule)
    record_check(
        services,
        maureen.reference,
        date(2026, 2, 3),
        {SkillArea.FOUNDATION: ALONE, SkillArea.COMMUNICATING: ALONE},
    )
    services.inventory.add(DeviceDraft(tag="TAB-0001", device_type=DeviceType.TABLET))
    services.lending.issue("TAB-0001", maureen.reference)
    services.lending.return_device("TAB-0001", achieved=LoanAchieved(ReasonMet.YES, True, True))
    status = services.residents.get(maureen.reference).inclusion_status
    checks = services.skills.checks_of(maureen.reference)
    loans = services.lending.loans_of(maureen.reference)
    assert inclusion_words(status, rule, checks, loans, 0) == words


def test_a_status_from_support_sessions_alone_says_so(
    services: Services, tasks: TaskRunner, qtbot: QtBot, clock: FakeClock
) -> None:
    maureen = add(services, "Maureen Clarke")
    champion = services.champions.add(ChampionDraft(name="Priya Shah", phone="0161 480 1234"))
    for hour in (9, 10):
        services.sessions.log(
            SessionDraft(
                held_on=clock.now.date(),
                starts_at=time(hour, 0),
                minutes=30,
                kind=SessionKind.PHONE,
                venue_id=None,
                champion_ids=(champion.id,),
                resident_references=(maureen.reference,),
            )
        )
    page = make_page(services, tasks, qtbot, clock)
    page.show_resident(maureen.reference)
    assert page.detail_text("inclusion") == (
        "Supported: no skills check yet (2 support sessions), no device or connection"
    )


def test_a_status_the_records_read_now_would_not_give_is_said_without_a_why() -> None:
    # E.g. the list was read before a loan closed elsewhere: say only the status stored, never a wrong why.
    words = inclusion_words(InclusionStatus.INDEPENDENT, InclusionRule(), [], [], 3)
    assert words == "Independently included"


def test_record_skills_check_opens_the_form_for_the_selected_resident(
    services: Services, tasks: TaskRunner, qtbot: QtBot, clock: FakeClock
) -> None:
    maureen = add(services, "Maureen Clarke")
    asked: list[str] = []

    def fill_the_form(svc: Services, parent: QWidget, resident: Resident) -> SkillsCheck | None:
        dialog = SkillsDialog(svc, resident, parent)
        asked.append(dialog.started_from)
        for area in SkillArea:
            dialog.choice(
                area, ALONE if area in (SkillArea.FOUNDATION, SkillArea.COMMUNICATING) else HELP
            ).setChecked(True)
        dialog.save()
        return dialog.saved

    page = make_page(services, tasks, qtbot, clock, ask_skills=fill_the_form)
    buttons = {button.accessibleName(): button for button in page.findChildren(QAbstractButton)}
    assert not buttons["Record skills check"].isEnabled()
    assert page.record_skills_check() is None
    assert page.notice_text == "Select a resident first, then record their skills check."

    page.show_resident(maureen.reference)
    assert buttons["Record skills check"].isEnabled()
    with qtbot.waitSignal(page.changed, timeout=2000):
        buttons["Record skills check"].click()
    assert asked == ["This is the resident's first check: their baseline. Choose an answer for every area."]
    assert page.notice_text == "Recorded a baseline skills check for R-00001 Maureen Clarke: now supported."
    assert page.detail_text("inclusion").startswith("Supported: Foundation done alone, 1 area done alone")
    assert page.skills_model.columnCount() == 1
    row = page.model.row_of(maureen.reference)
    assert row is not None
    assert page.model.data(page.model.index(row, ResidentTableModel.INCLUSION)) == "Supported"

    show_active(qtbot, page)
    page.table.setFocus()
    clock.now += timedelta(minutes=20)  # the review, a little later the same day
    with qtbot.waitSignal(page.changed, timeout=2000):
        QTest.keyClick(page.table, Qt.Key.Key_K, Qt.KeyboardModifier.AltModifier)  # Record s&kills check…
    assert asked[1].startswith("Started from the check of Sat 14 Mar")
    assert page.notice_text == "Recorded a skills check for R-00001 Maureen Clarke."
    assert page.skills_model.columnCount() == 2


# Adding and editing through the form (the stand-ins drive the real dialog without blocking)


def test_add_resident_registers_and_shows_them(
    services: Services, tasks: TaskRunner, qtbot: QtBot, clock: FakeClock
) -> None:
    def fill_the_form(
        svc: Services, parent: QWidget, resident: Resident | None, name: str
    ) -> Resident | None:
        dialog = ResidentDialog(svc, resident, parent, name=name)
        line(dialog, "name").setText("Priya Shah")
        line(dialog, "email").setText("Priya@Example.org")
        dialog.save()
        return dialog.saved

    page = make_page(services, tasks, qtbot, clock, ask=fill_the_form)
    with qtbot.waitSignal(page.changed, timeout=2000):
        saved = page.add_resident()
    assert saved is not None and saved.email == "priya@example.org"
    assert page.shown_reference == saved.reference == "R-00001"
    assert page.notice_text == "Registered R-00001 Priya Shah."


def test_edit_resident_saves_and_keeps_the_consent_dates(
    services: Services, tasks: TaskRunner, qtbot: QtBot, clock: FakeClock
) -> None:
    add(services, "Tom Okafor", postcode="SK4 1AA", consents=frozenset({ConsentPurpose.LENDING}))
    clock.now += timedelta(days=10)

    def add_interpreter(
        svc: Services, parent: QWidget, resident: Resident | None, name: str
    ) -> Resident | None:
        dialog = ResidentDialog(svc, resident, parent, name=name)
        assert "(given Sat 14 Mar 2026)" in dialog.consent_box(ConsentPurpose.LENDING).text()
        interpreter = dialog.field("interpreter")
        assert isinstance(interpreter, QCheckBox)
        interpreter.setChecked(True)
        line(dialog, "language").setText("Tigrinya")
        dialog.consent_box(ConsentPurpose.SUPPORT).setChecked(True)
        dialog.save()
        return dialog.saved

    page = make_page(services, tasks, qtbot, clock, ask=add_interpreter)
    page.table.selectRow(0)
    with qtbot.waitSignal(page.changed, timeout=2000):
        page.edit_resident()
    assert page.detail_text("needs") == "Interpreter"
    assert page.detail_text("language") == "Tigrinya"
    assert page.detail_text("consents") == (
        "Keep my details to lend me a device (given Sat 14 Mar)\n"
        "Record the help I get from Digital Champions (given Tue 24 Mar)"
    )


def test_edit_needs_a_selected_resident(
    services: Services, tasks: TaskRunner, qtbot: QtBot, clock: FakeClock
) -> None:
    add(services, "Tom Okafor")
    page = make_page(services, tasks, qtbot, clock)
    buttons = {button.accessibleName(): button for button in page.findChildren(QAbstractButton)}
    assert not buttons["Edit resident"].isEnabled()
    assert page.edit_resident() is None
    page.table.selectRow(0)
    assert buttons["Edit resident"].isEnabled()


# The resident card


def pdf_printer(out: Path, title: str) -> QPrinter:
    """What staff get from the print dialog, but writing to a PDF file."""
    printer = QPrinter(QPrinter.PrinterMode.HighResolution)
    printer.setOutputFormat(QPrinter.OutputFormat.PdfFormat)
    printer.setOutputFileName(str(out))
    printer.setResolution(150)
    return printer_for_documents(title, printer)


def test_print_card_prints_the_selected_residents_card(
    services: Services, tasks: TaskRunner, qtbot: QtBot, clock: FakeClock, tmp_path: Path
) -> None:
    add(services, "Tom Okafor")
    maureen = add(services, "Maureen Clarke", postcode="SK1 3XE")
    printed = tmp_path / "printed.pdf"
    asked: list[str] = []

    def choose(_parent: object, title: str) -> PrintChoice:
        asked.append(title)
        return PrintChoice.PRINT

    printing = DocumentPrinting(
        tasks, choose=choose, printer=lambda _parent, title: pdf_printer(printed, title)
    )
    page = make_page(services, tasks, qtbot, clock, printing=printing)
    page.show_resident(maureen.reference)
    buttons = {button.accessibleName(): button for button in page.findChildren(QAbstractButton)}

    with qtbot.waitSignal(page.notice, timeout=20_000) as notice:
        buttons["Print resident card"].click()

    assert asked == ["the resident card for R-00002 Maureen Clarke"]
    assert notice.args == ["Sent the resident card for R-00002 Maureen Clarke to the printer (1 page)."]
    assert page.notice_text == notice.args[0]
    document = pdfium.PdfDocument(str(printed))
    try:
        assert len(document) == 1
        width, height = document[0].get_size()
    finally:
        document.close()
    assert abs(width * 25.4 / 72 - 85.6) < 0.5 and abs(height * 25.4 / 72 - 54) < 0.5  # card-sized, landscape


def test_a_card_saved_as_a_pdf_carries_the_reference(
    services: Services, tasks: TaskRunner, qtbot: QtBot, clock: FakeClock, tmp_path: Path
) -> None:
    maureen = add(services, "Maureen Clarke")
    printing = DocumentPrinting(
        tasks,
        choose=lambda _parent, _title: PrintChoice.SAVE_PDF,
        save_path=lambda _parent, _caption, _suggested, _filter: str(tmp_path / "card.pdf"),
    )
    page = make_page(services, tasks, qtbot, clock, printing=printing)
    page.show_resident(maureen.reference)

    with qtbot.waitSignal(page.notice, timeout=10_000):
        page.print_card()

    saved = tmp_path / "card.pdf"
    assert page.notice_text == f"Saved the resident card for R-00001 Maureen Clarke to {saved}."
    document = pdfium.PdfDocument(str(saved))
    try:
        text = document[0].get_textpage().get_text_range()
    finally:
        document.close()
    assert "R-00001" in text and "Maureen Clarke" in text


def test_print_card_needs_a_selected_resident(
    services: Services, tasks: TaskRunner, qtbot: QtBot, clock: FakeClock
) -> None:
    add(services, "Tom Okafor")
    page = make_page(services, tasks, qtbot, clock)  # its print question fails the test if asked
    buttons = {button.accessibleName(): button for button in page.findChildren(QAbstractButton)}
    assert not buttons["Print resident card"].isEnabled()

    assert page.print_card() is None
    assert page.notice_text == "Select a resident first, then print their card."
    page.table.selectRow(0)
    assert buttons["Print resident card"].isEnabled()


# What each role may see and do


def supported_by_a_champion(services: Services, clock: FakeClock) -> tuple[Resident, uuid.UUID]:
    """Maureen with a tablet on loan, waiting for a MiFi, one skills check and a session with Priya
    (recorded by the setup administrator); Priya's champion id."""
    maureen = add(services, "Maureen Clarke")
    priya = services.champions.add(ChampionDraft(name="Priya Shah", phone="0161 480 1234"))
    services.sessions.log(
        SessionDraft(
            held_on=clock.now.date(),
            starts_at=time(9, 0),
            minutes=30,
            kind=SessionKind.PHONE,
            venue_id=None,
            champion_ids=(priya.id,),
            resident_references=(maureen.reference,),
        )
    )
    services.inventory.add(DeviceDraft(tag="TAB-0001", device_type=DeviceType.TABLET))
    services.lending.issue("TAB-0001", maureen.reference)
    services.lending.join_waiting_list(maureen.reference, DeviceType.MIFI)
    record_check(services, maureen.reference, clock.now.date(), {SkillArea.FOUNDATION: HELP})
    return maureen, priya.id


def page_buttons(page: ResidentsPage) -> dict[str, QAbstractButton]:
    return {button.accessibleName(): button for button in page.findChildren(QAbstractButton)}


def test_a_champion_sees_skills_but_is_told_loans_are_not_shown_and_cannot_edit_or_print(
    services: Services, tasks: TaskRunner, qtbot: QtBot, clock: FakeClock
) -> None:
    maureen, champion_id = supported_by_a_champion(services, clock)
    services.desk.staff = StaffMember("priya", "Priya Shah", Role.CHAMPION, champion_id=champion_id)
    page = make_page(services, tasks, qtbot, clock)  # the resident form fails the test if opened
    buttons = page_buttons(page)
    assert not buttons["Add resident"].isEnabled()
    assert "cannot register and change residents" in buttons["Add resident"].accessibleDescription()
    assert "Digital Champion" in buttons["Print resident card"].toolTip()

    assert page.show_resident(maureen.reference) is True
    # Selecting a resident enables what the role may do, and nothing else.
    assert buttons["Record skills check"].isEnabled()
    assert not buttons["Edit resident"].isEnabled()
    assert not buttons["Print resident card"].isEnabled()
    assert page.loans_note == "Loans: not shown to your role."
    assert page.loans_model.rowCount() == 0
    assert page.detail_text("waiting") == "Not shown to your role."
    assert page.skills_model.columnCount() == 1 and page.skills_note == ""
    assert page.detail_text("inclusion") == "Supported"  # no why read from loans they cannot see
    assert page.notice_text == ""  # no refusal

    assert page.edit_resident() is None  # Enter in the list
    assert "cannot register and change residents" in page.notice_text


def test_desk_staff_see_loans_but_are_told_skills_checks_are_not_shown(
    services: Services, tasks: TaskRunner, qtbot: QtBot, clock: FakeClock
) -> None:
    maureen, _champion_id = supported_by_a_champion(services, clock)
    services.desk.staff = StaffMember("sam", "Sam Jones", Role.DESK)
    page = make_page(services, tasks, qtbot, clock)
    buttons = page_buttons(page)
    assert buttons["Add resident"].isEnabled()
    assert "Desk staff" in buttons["Record skills check"].accessibleDescription()

    page.show_resident(maureen.reference)
    assert buttons["Edit resident"].isEnabled()
    assert buttons["Print resident card"].isEnabled()
    assert not buttons["Record skills check"].isEnabled()
    assert page.skills_note == "Skills checks: not shown to your role."
    assert page.skills_model.columnCount() == 0
    assert "No skills check recorded yet" not in page.skills_note
    assert page.loans_note == "" and page.loans_model.rowCount() == 1
    assert page.detail_text("waiting") == "MiFi / dongle: waiting since Sat 14 Mar"
    assert page.detail_text("inclusion") == "Supported"
    assert page.notice_text == ""

    assert page.record_skills_check() is None  # the skills form fails the test if opened
    assert "cannot log support sessions and skills checks" in page.notice_text


def test_a_coordinator_sees_everything_and_may_use_every_button(
    services: Services, tasks: TaskRunner, qtbot: QtBot, clock: FakeClock
) -> None:
    maureen, _champion_id = supported_by_a_champion(services, clock)
    services.desk.staff = StaffMember("kim", "Kim Patel", Role.COORDINATOR)
    page = make_page(services, tasks, qtbot, clock)
    buttons = page_buttons(page)
    names = ("Add resident", "Edit resident", "Print resident card", "Record skills check")
    assert [buttons[name].isEnabled() for name in names] == [True, False, False, False]  # none selected

    page.show_resident(maureen.reference)
    assert all(buttons[name].isEnabled() for name in names)
    assert all(buttons[name].accessibleDescription() == "" for name in names)
    assert (page.loans_note, page.skills_note) == ("", "")
    assert page.loans_model.rowCount() == 1 and page.skills_model.columnCount() == 1
    assert page.detail_text("waiting") == "MiFi / dongle: waiting since Sat 14 Mar"
    assert page.detail_text("inclusion").startswith("Supported: Foundation done with help")


# The form: checks as staff type, and the duplicate warning


def test_the_form_checks_as_staff_type_and_only_where_they_have_typed(
    services: Services, qtbot: QtBot
) -> None:
    dialog = ResidentDialog(services)
    qtbot.addWidget(dialog)
    assert dialog.problem_text("name") == ""  # an empty new form is not a page of errors
    assert set(dialog.problems) == {"name", "contact"}

    with qtbot.waitSignal(dialog.checked, timeout=2000):
        qtbot.keyClicks(line(dialog, "email"), "maureen@")
    assert dialog.problem_text("email") == "'maureen@' is not an email address: it needs an @ and a domain."
    assert dialog.problem_text("name") == ""
    with qtbot.waitSignal(dialog.checked, timeout=2000):
        qtbot.keyClicks(line(dialog, "email"), "example.org")
    assert dialog.problem_text("email") == ""

    lending = dialog.consent_box(ConsentPurpose.LENDING)
    with qtbot.waitSignal(dialog.checked, timeout=2000):
        lending.setChecked(False)
    assert dialog.problem_text("consents").startswith("Lending needs the resident's consent")

    dialog.save()  # everything shows now, and nothing is saved
    assert dialog.problem_text("name") == "Enter the resident's name."
    assert dialog.saved is None
    assert QApplication.focusWidget() in (None, dialog.field("name"))


def test_a_likely_duplicate_is_warned_about_before_saving(services: Services, qtbot: QtBot) -> None:
    existing = add(services, "Maureen Clarke", phone="0161 474 4444", postcode="SK1 3XE")
    dialog = ResidentDialog(services)
    qtbot.addWidget(dialog)
    dialog.show()
    assert dialog.duplicate_warning == ""

    qtbot.keyClicks(line(dialog, "name"), "maureen  clarke")
    qtbot.keyClicks(line(dialog, "phone"), "07700 900123")
    with qtbot.waitSignal(dialog.checked, timeout=2000):
        qtbot.keyClicks(line(dialog, "postcode"), "sk13xe")
    assert [match.reference for match in dialog.duplicates] == [existing.reference]
    assert dialog.duplicate_warning.startswith("This may be someone already registered")
    assert "R-00001  Maureen Clarke (SK1 3XE, 0161 474 4444)" in dialog.duplicate_warning

    dialog.save()
    assert dialog.saved is None
    assert dialog.problem_text("different_person").startswith("Check the residents above.")
    assert dialog.different_person.hasFocus()
    assert services.residents.count() == 1

    QTest.keyClick(dialog.different_person, Qt.Key.Key_Space)  # "This is a different person"
    dialog.save()
    assert dialog.saved is not None and dialog.saved.reference == "R-00002"
    assert services.residents.count() == 2


def test_no_duplicate_warning_for_a_different_postcode(services: Services, qtbot: QtBot) -> None:
    add(services, "Maureen Clarke", phone="0161 474 4444", postcode="SK1 3XE")
    dialog = ResidentDialog(services, name="Maureen Clarke")
    qtbot.addWidget(dialog)
    line(dialog, "postcode").setText("SK7 1AA")
    line(dialog, "phone").setText("0161 999 9999")
    dialog.check_now()
    assert dialog.duplicates == []
    dialog.save()
    assert dialog.saved is not None


def test_the_form_offers_the_21_wards_and_marks_the_sensitive_questions(
    services: Services, qtbot: QtBot
) -> None:
    dialog = ResidentDialog(services)
    qtbot.addWidget(dialog)
    ward = dialog.field("ward_code")
    assert isinstance(ward, QComboBox)
    assert ward.count() == 22 and ward.itemText(0) == "Not known"
    sensitive = [box for box in dialog.findChildren(QGroupBox) if box.title() == SENSITIVE_TITLE]
    assert len(sensitive) == 1
    inside = set(sensitive[0].findChildren(QWidget))
    assert {dialog.field("disability"), dialog.field("ethnicity"), dialog.field("on_benefits")} <= inside
    for name in ("disability", "on_benefits"):
        combo = dialog.field(name)
        assert isinstance(combo, QComboBox) and combo.currentText() == "Not asked"
    assert "date of birth" not in " ".join(label.text().lower() for label in dialog.findChildren(QLabel))


# Accessibility

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
            continue  # part of a control, named by the control
        if not widget.accessibleName().strip() and id(widget) not in buddies:
            missing.append(f"{type(widget).__name__} {getattr(widget, 'text', str)()!r}")
    return missing


def mnemonics(root: QWidget) -> list[str]:
    letters = []
    for widget in root.findChildren(QWidget):
        if isinstance(widget, QLabel | QAbstractButton):
            text = widget.text().replace("&&", "")
            if "&" in text:
                letters.append(text[text.index("&") + 1].lower())
    return sorted(letters)


def unreached_by_tab(qtbot: QtBot, root: QWidget, start: QWidget) -> list[str]:
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
        focused = QApplication.focusWidget()
        assert focused is not None
        reached.add(focused)
        QTest.keyClick(focused, Qt.Key.Key_Tab)
    return [widget.accessibleName() or type(widget).__name__ for widget in wanted - reached]


def show_active(qtbot: QtBot, widget: QWidget) -> None:
    widget.show()
    qtbot.waitExposed(widget)
    widget.activateWindow()
    qtbot.waitUntil(widget.isActiveWindow)


def test_every_control_is_named_and_reached_by_tab(
    services: Services, tasks: TaskRunner, qtbot: QtBot, clock: FakeClock
) -> None:
    resident = add(services, "Maureen Clarke", phone="0161 474 4444", postcode="SK1 3XE")
    services.inventory.add(DeviceDraft(tag="TAB-0001", device_type=DeviceType.TABLET))
    services.lending.issue("TAB-0001", resident.reference)
    record_check(services, resident.reference, date(2026, 2, 3), {SkillArea.FOUNDATION: HELP})
    record_check(services, resident.reference, clock.now.date(), {SkillArea.FOUNDATION: ALONE})
    page = make_page(services, tasks, qtbot, clock)
    page.show_resident(resident.reference)
    new_form = ResidentDialog(services, name="Maureen Clarke")
    new_form.field("postcode").setProperty("text", "SK1 3XE")
    new_form.check_now()  # the duplicate warning and its tick box are on show
    roots: list[QWidget] = [page, new_form, ResidentDialog(services, resident)]
    for root in roots[1:]:
        qtbot.addWidget(root)

    for root in roots:
        assert unnamed_controls(root) == [], type(root).__name__
        keys = mnemonics(root)
        assert len(keys) == len(set(keys)), (type(root).__name__, keys)
    # The main window's own Alt keys (File, Go, Help, Scan) stay its own.
    assert not {"f", "g", "h", "s"} & set(mnemonics(page))
    assert len([w for w in new_form.findChildren(QWidget) if isinstance(w, INTERACTIVE)]) > 20

    show_active(qtbot, page)
    assert unreached_by_tab(qtbot, page, page.search_box) == []
    show_active(qtbot, new_form)
    assert new_form.different_person.isVisible()
    assert unreached_by_tab(qtbot, new_form, new_form.field("name")) == []


def test_shortcuts_stay_clear_of_the_main_window(
    services: Services, tasks: TaskRunner, qtbot: QtBot, clock: FakeClock
) -> None:
    opened: list[str] = []
    add(services, "Tom Okafor")
    page = make_page(
        services,
        tasks,
        qtbot,
        clock,
        ask=lambda _s, _p, resident, _n: opened.append(resident.reference if resident else "new"),
    )
    shortcuts = {action.shortcut().toString(): action for action in page.actions()}
    page.table.selectRow(0)
    shortcuts["Ctrl+Shift+N"].trigger()
    shortcuts["Ctrl+E"].trigger()
    assert opened == ["new", "R-00001"]
    main_window_keys = {"Ctrl+P", "F2", "Ctrl+L", "Ctrl+Q", "Ctrl+N"} | {f"Ctrl+{n}" for n in range(1, 10)}
    assert not main_window_keys & set(shortcuts)
