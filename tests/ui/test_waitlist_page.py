"""The waiting list screen: its model passes Qt's checks; reordering and withdrawing each record their
reason; offers that ran out are passed on; accessible names and Tab order on the page and its dialogs."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import TYPE_CHECKING

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QAbstractSpinBox,
    QApplication,
    QComboBox,
    QLabel,
    QLineEdit,
    QMessageBox,
    QWidget,
)
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot
from sqlalchemy import select

from digiknow_desk.app import Services
from digiknow_desk.domain.devices import DeviceDraft, DeviceType
from digiknow_desk.domain.loans import WaitEntry, WaitStatus, WipeChecklist, WipeMethod
from digiknow_desk.domain.residents import Resident, ResidentDraft
from digiknow_desk.domain.staff import Role, StaffMember
from digiknow_desk.storage.models import WaitEventRow
from digiknow_desk.ui.loan_table_model import day_text
from digiknow_desk.ui.tasks import TaskRunner
from digiknow_desk.ui.waitlist_page import (
    MoveDialog,
    ReasonDialog,
    WaitingListDialogs,
    WaitingListModel,
    WaitingListPage,
)

if TYPE_CHECKING:
    from tests.conftest import FakeClock

ALL_CHECKS = WipeChecklist(
    accounts_signed_out=True, reset_done=True, apps_restored=True, charger_present=True
)


@pytest.fixture
def tasks() -> Iterator[TaskRunner]:
    runner = TaskRunner()
    yield runner
    runner.shutdown()


def resident(services: Services, name: str) -> Resident:
    number = sum(map(ord, name)) % 1000
    return services.residents.add(
        ResidentDraft(name=name, phone=f"07700 900{number:03d}"), duplicate_checked=True
    )


def queue(
    services: Services, names: list[str], device_type: DeviceType = DeviceType.TABLET
) -> list[Resident]:
    people = [resident(services, name) for name in names]
    for person in people:
        services.lending.join_waiting_list(person.reference, device_type)
    return people


def offer_a_tablet(services: Services, tag: str = "TAB-0001") -> None:
    """A tablet comes back and is wiped: the first resident waiting is offered it."""
    lender = resident(services, f"Lender of {tag}")
    services.inventory.add(DeviceDraft(tag=tag, device_type=DeviceType.TABLET))
    services.lending.issue(tag, lender.reference)
    services.lending.return_device(tag)
    services.lending.record_wipe(tag, WipeMethod.FACTORY_RESET, ALL_CHECKS)


def names(page: WaitingListPage) -> list[str]:
    return [page.model.entry(row).resident_name for row in range(page.model.rowCount())]


def cells(page: WaitingListPage, column: int) -> list[str]:
    model = page.model
    return [model.data(model.index(row, column)) for row in range(model.rowCount())]


def events(services: Services) -> list[tuple[str, str]]:
    with services.database.read() as session:
        rows = session.scalars(select(WaitEventRow).order_by(WaitEventRow.at))
        return [(row.what, row.reason) for row in rows if row.what not in ("joined",)]


class Answers:
    """Stand-ins for the dialogs: record each question and give the prepared answer."""

    def __init__(
        self, reason: str | None = "Care leaver: priority group", move: tuple[int, str] | None = None
    ):
        self.reason = reason
        self.move = move
        self.asked: list[str] = []

    def dialogs(self) -> WaitingListDialogs:
        return WaitingListDialogs(reason=self._reason, move_to=self._move)

    def _reason(self, _parent: QWidget, title: str, question: str, ok_text: str, example: str) -> str | None:
        self.asked.append(f"{title} | {question} | {ok_text}")
        assert example  # each question shows what kind of reason is meant
        return self.reason

    def _move(self, _parent: QWidget, entry: WaitEntry, place: int, places: int) -> tuple[int, str] | None:
        self.asked.append(f"move {entry.resident_name} from {place} of {places}")
        return self.move


def make_page(
    services: Services, tasks: TaskRunner, qtbot: QtBot, answers: Answers | None = None
) -> WaitingListPage:
    page = WaitingListPage(services, tasks, dialogs=(answers or Answers()).dialogs())
    qtbot.addWidget(page)
    page.resize(1280, 600)
    return page


# The model


def test_model_passes_qt_checks_with_waiting_and_offered_entries(
    services: Services, qtmodeltester: ModelTester
) -> None:
    queue(services, ["Ann Able", "Ben Baker", "Cat Cole"])
    queue(services, ["Dan Dale"], DeviceType.LAPTOP)
    offer_a_tablet(services)
    model = WaitingListModel()
    model.set_entries(services.lending.waiting_list(), services.lending.today())

    qtmodeltester.check(model)

    assert model.rowCount() == 4
    assert model.columnCount() == len(WaitingListModel.HEADERS) == 7
    places = [model.data(model.index(row, WaitingListModel.PLACE)) for row in range(4)]
    offered = model.entry(places.index("Offer held"))
    assert offered.resident_name == "Ann Able" and offered.status is WaitStatus.OFFERED
    spoken = model.data(
        model.index(places.index("1"), WaitingListModel.PLACE), Qt.ItemDataRole.AccessibleTextRole
    )
    assert spoken == "Place 1"
    record = model.data(model.index(0, WaitingListModel.NAME), WaitingListModel.RECORD_ROLE)
    assert isinstance(record, WaitEntry)


# The page


def test_the_page_lists_each_type_in_order_with_status_in_words(
    services: Services, tasks: TaskRunner, qtbot: QtBot
) -> None:
    queue(services, ["Ann Able", "Ben Baker", "Cat Cole"])
    queue(services, ["Dan Dale"], DeviceType.LAPTOP)
    offer_a_tablet(services)
    page = make_page(services, tasks, qtbot)
    assert page.count_text == "3 waiting, 1 holding an offer"

    page.type_filter.setCurrentIndex(page.type_filter.findData(DeviceType.TABLET))

    assert names(page) == ["Ann Able", "Ben Baker", "Cat Cole"]
    assert cells(page, WaitingListModel.PLACE) == ["Offer held", "1", "2"]
    until = services.lending.today() + timedelta(days=services.lending.rules().offer_days)
    assert cells(page, WaitingListModel.STATUS) == [
        f"Offered TAB-0001 until {day_text(until)}",
        "Waiting",
        "Waiting",
    ]
    assert cells(page, WaitingListModel.TYPE) == ["Tablet"] * 3
    assert page.count_text == "2 waiting, 1 holding an offer"
    page.type_filter.setCurrentIndex(page.type_filter.findData(DeviceType.LAPTOP))
    assert names(page) == ["Dan Dale"]


def test_move_up_asks_why_records_the_reason_and_changes_the_order(
    services: Services, tasks: TaskRunner, qtbot: QtBot
) -> None:
    queue(services, ["Ann Able", "Ben Baker", "Cat Cole"])
    answers = Answers(reason="Care leaver: priority group")
    page = make_page(services, tasks, qtbot, answers)
    page.select_entry(page.model.entry(2).id)

    with qtbot.waitSignal(page.changed, timeout=1000):
        page.move_up()

    assert answers.asked == [
        f"Move {page.model.entry(1).resident_reference} Cat Cole up to place 2 | "
        f"Why does {page.model.entry(1).resident_reference} Cat Cole move to place 2? | Move"
    ]
    assert names(page) == ["Ann Able", "Cat Cole", "Ben Baker"]
    assert [e.resident_name for e in services.lending.waiting_list(DeviceType.TABLET)] == names(page)
    assert events(services) == [("moved to 2", "Care leaver: priority group")]
    current = page.current_entry()
    assert current is not None and current.resident_name == "Cat Cole"  # still selected, in its new place
    assert "to place 2 on the tablet waiting list (Care leaver: priority group)" in page.notice_text


def test_move_down_and_move_to(services: Services, tasks: TaskRunner, qtbot: QtBot) -> None:
    queue(services, ["Ann Able", "Ben Baker", "Cat Cole", "Dee Dunn"])
    answers = Answers(reason="Moved to a hostel", move=(1, "Fleeing domestic abuse"))
    page = make_page(services, tasks, qtbot, answers)
    page.select_entry(page.model.entry(0).id)

    page.move_down()
    assert names(page) == ["Ben Baker", "Ann Able", "Cat Cole", "Dee Dunn"]

    page.select_entry(page.model.entry(3).id)
    page.move_to()
    assert answers.asked[-1] == "move Dee Dunn from 4 of 4"
    assert names(page) == ["Dee Dunn", "Ben Baker", "Ann Able", "Cat Cole"]
    assert events(services) == [("moved to 2", "Moved to a hostel"), ("moved to 1", "Fleeing domestic abuse")]


def test_cancelling_the_reason_changes_nothing(services: Services, tasks: TaskRunner, qtbot: QtBot) -> None:
    queue(services, ["Ann Able", "Ben Baker"])
    answers = Answers(reason=None, move=None)
    page = make_page(services, tasks, qtbot, answers)
    page.select_entry(page.model.entry(1).id)

    page.move_up()
    page.move_to()
    page.withdraw()

    assert len(answers.asked) == 3
    assert names(page) == ["Ann Able", "Ben Baker"]
    assert events(services) == []


def test_the_reason_dialog_needs_a_reason_and_the_move_dialog_a_place(
    qtbot: QtBot, services: Services
) -> None:
    [ann] = queue(services, ["Ann Able"])
    entry = services.lending.waiting_list()[0]
    dialog = ReasonDialog("Withdraw", "Why?", "Withdraw")
    qtbot.addWidget(dialog)
    assert not dialog.can_accept
    dialog.set_reason("   ")
    assert not dialog.can_accept
    dialog.set_reason(" Moved away ")
    assert dialog.can_accept and dialog.reason == "Moved away"

    move = MoveDialog(entry, 1, 5)
    qtbot.addWidget(move)
    move.set_values(9, "Priority")  # clamped to the places there are
    assert (move.place, move.reason, move.can_accept) == (5, "Priority", True)
    assert ann.reference in move.findChild(QLabel).text()


def test_withdraw_records_the_reason_and_passes_a_held_device_on(
    services: Services, tasks: TaskRunner, qtbot: QtBot
) -> None:
    queue(services, ["Ann Able", "Ben Baker", "Cat Cole"])
    offer_a_tablet(services)  # Ann is offered TAB-0001
    answers = Answers(reason="Got a laptop from her school")
    page = make_page(services, tasks, qtbot, answers)
    page.select_entry(page.model.entry(0).id)

    with qtbot.waitSignal(page.changed, timeout=1000):
        page.withdraw()

    assert "The TAB-0001 held for them goes to the next in line." in answers.asked[0]
    assert names(page) == ["Ben Baker", "Cat Cole"]
    assert page.model.entry(0).status is WaitStatus.OFFERED and page.model.entry(0).offered_tag == "TAB-0001"
    assert ("withdrawn", "Got a laptop from her school") in events(services)
    assert page.notice_text.startswith("Withdrew ")
    assert "TAB-0001 is now offered to " in page.notice_text and "Ben Baker" in page.notice_text


def test_pass_on_expired_offers_offers_the_device_to_the_next(
    services: Services, tasks: TaskRunner, qtbot: QtBot, clock: FakeClock
) -> None:
    queue(services, ["Ann Able", "Ben Baker"])
    offer_a_tablet(services)
    page = make_page(services, tasks, qtbot)
    page.pass_on_expired_offers()
    assert page.notice_text == "No offers had run out."

    clock.now += timedelta(days=services.lending.rules().offer_days + 1)
    page.refresh()
    assert cells(page, WaitingListModel.STATUS)[0].startswith("Offer of TAB-0001 ran out ")
    assert cells(page, WaitingListModel.STATUS)[0].endswith(": pass it on")

    with qtbot.waitSignal(page.changed, timeout=1000):
        offers = page.pass_on_expired_offers()

    assert [offer.resident_name for offer in offers] == ["Ben Baker"]
    assert names(page) == ["Ben Baker", "Ann Able"]  # Ann goes to the back of the queue
    assert cells(page, WaitingListModel.PLACE) == ["Offer held", "1"]
    assert page.notice_text.startswith("1 offer had run out; that resident goes to the end of the list.")
    assert "TAB-0001 is now offered to " in page.notice_text


def test_moves_are_offered_only_where_they_make_sense(
    services: Services, tasks: TaskRunner, qtbot: QtBot
) -> None:
    queue(services, ["Ann Able", "Ben Baker", "Cat Cole"])
    offer_a_tablet(services)
    page = make_page(services, tasks, qtbot)
    buttons = {button.accessibleName(): button for button in page.findChildren(QAbstractButton)}
    moves = ("Move up", "Move down", "Move to a place")

    assert not any(buttons[name].isEnabled() for name in (*moves, "Withdraw from the waiting list"))
    page.select_entry(page.model.entry(0).id)  # Ann holds an offer: she can withdraw, not move
    assert [buttons[name].isEnabled() for name in moves] == [False, False, False]
    assert buttons["Withdraw from the waiting list"].isEnabled()
    page.select_entry(page.model.entry(1).id)  # Ben is next: down or to a place
    assert [buttons[name].isEnabled() for name in moves] == [False, True, True]
    page.select_entry(page.model.entry(2).id)  # Cat is last: up or to a place
    assert [buttons[name].isEnabled() for name in moves] == [True, False, True]


def test_desk_staff_may_withdraw_but_not_move_residents(
    services: Services, tasks: TaskRunner, qtbot: QtBot
) -> None:
    queue(services, ["Ann Able", "Ben Baker", "Cat Cole"])
    services.desk.staff = StaffMember("sam", "Sam Jones", Role.DESK)
    answers = Answers()
    page = make_page(services, tasks, qtbot, answers)
    buttons = {button.accessibleName(): button for button in page.findChildren(QAbstractButton)}
    moves = ("Move up", "Move down", "Move to a place")
    assert all(
        "Desk staff, you cannot change waiting-list priorities" in buttons[name].toolTip() for name in moves
    )
    assert "cannot change waiting-list priorities" in buttons["Move up"].accessibleDescription()

    page.select_entry(page.model.entry(1).id)  # Ben could go either way
    assert [buttons[name].isEnabled() for name in moves] == [False, False, False]
    assert buttons["Withdraw from the waiting list"].isEnabled()
    page.move_up()
    page.move_to()
    assert answers.asked == []  # no question asked, nothing refused
    assert "cannot change waiting-list priorities" in page.notice_text
    assert names(page) == ["Ann Able", "Ben Baker", "Cat Cole"]


def test_a_coordinator_may_move_residents(services: Services, tasks: TaskRunner, qtbot: QtBot) -> None:
    queue(services, ["Ann Able", "Ben Baker", "Cat Cole"])
    services.desk.staff = StaffMember("kim", "Kim Patel", Role.COORDINATOR)
    page = make_page(services, tasks, qtbot, Answers(reason="Priority"))
    buttons = {button.accessibleName(): button for button in page.findChildren(QAbstractButton)}
    page.select_entry(page.model.entry(1).id)
    assert [buttons[name].isEnabled() for name in ("Move up", "Move down", "Move to a place")] == [
        True,
        True,
        True,
    ]
    assert buttons["Move up"].accessibleDescription() == ""
    page.move_up()
    assert names(page) == ["Ben Baker", "Ann Able", "Cat Cole"]


def test_a_refusal_is_shown_in_words(services: Services, tasks: TaskRunner, qtbot: QtBot) -> None:
    queue(services, ["Ann Able", "Ben Baker"])
    page = make_page(services, tasks, qtbot, Answers(reason="Moved away"))
    page.select_entry(page.model.entry(1).id)
    services.lending.withdraw_from_waiting_list(page.model.entry(1).id, "Phoned in")  # at another desk

    page.move_up()

    boxes = [box for box in page.findChildren(QMessageBox) if box.isVisible()]
    assert [box.text() for box in boxes] == ["That resident is no longer waiting; refresh the list."]
    assert names(page) == ["Ann Able"]


def test_ctrl_up_moves_the_selected_resident_up(services: Services, tasks: TaskRunner, qtbot: QtBot) -> None:
    queue(services, ["Ann Able", "Ben Baker"])
    page = make_page(services, tasks, qtbot, Answers(reason="Priority"))
    with qtbot.waitActive(page):
        page.show()
        page.activateWindow()
    page.table.setFocus()
    page.select_entry(page.model.entry(1).id)

    qtbot.keyClick(page.table, Qt.Key.Key_Up, Qt.KeyboardModifier.ControlModifier)

    assert names(page) == ["Ben Baker", "Ann Able"]


# Accessibility

INTERACTIVE = (QAbstractButton, QLineEdit, QComboBox, QAbstractItemView, QAbstractSpinBox)


def controls(root: QWidget) -> list[QWidget]:
    """The interactive widgets under `root`, leaving out the parts of one (a table's header, say)."""
    found: list[QWidget] = []
    for widget in root.findChildren(QWidget):
        if not isinstance(widget, INTERACTIVE):
            continue
        parent = widget.parentWidget()
        while parent is not None and parent is not root and not isinstance(parent, INTERACTIVE):
            parent = parent.parentWidget()
        if parent is root:
            found.append(widget)
    return found


def unnamed_controls(root: QWidget) -> list[str]:
    buddies = {id(label.buddy()) for label in root.findChildren(QLabel) if label.buddy() is not None}
    return [
        f"{type(widget).__name__} {widget.objectName()!r}"
        for widget in controls(root)
        if not widget.accessibleName().strip() and id(widget) not in buddies
    ]


def tab_stops(window: QWidget, first: QWidget, qtbot: QtBot) -> list[QWidget]:
    """The widgets Tab visits from `first` until it comes round to `first` again."""
    with qtbot.waitActive(window):
        window.show()
        window.activateWindow()
    first.setFocus(Qt.FocusReason.TabFocusReason)
    seen: list[QWidget] = []
    for _ in range(40):
        widget = QApplication.focusWidget()
        assert widget is not None
        if widget in seen:
            break
        seen.append(widget)
        qtbot.keyClick(widget, Qt.Key.Key_Tab)
    assert seen[0] is first and QApplication.focusWidget() is first  # Tab went all the way round
    return seen


def mnemonics(root: QWidget) -> list[str]:
    letters = []
    for widget in root.findChildren(QWidget):
        if isinstance(widget, QLabel | QAbstractButton):
            text = widget.text().replace("&&", "")
            if "&" in text:
                letters.append(text[text.index("&") + 1].lower())
    return sorted(letters)


def test_every_control_is_named_and_reached_by_tab(
    services: Services, tasks: TaskRunner, qtbot: QtBot
) -> None:
    queue(services, ["Ann Able", "Ben Baker", "Cat Cole"])
    page = make_page(services, tasks, qtbot)
    page.select_entry(page.model.entry(1).id)  # in the middle: every action is enabled
    entry = page.model.entry(1)
    dialogs: list[QWidget] = [ReasonDialog("Withdraw", "Why?", "Withdraw"), MoveDialog(entry, 2, 3)]
    for dialog in dialogs:
        qtbot.addWidget(dialog)

    for root in (page, *dialogs):
        assert unnamed_controls(root) == [], type(root).__name__
        keys = mnemonics(root)
        assert len(keys) == len(set(keys)), (type(root).__name__, keys)
    shown = [widget for widget in controls(page) if widget.isVisibleTo(page)]
    assert len(shown) == 8

    stops = tab_stops(page, page.type_filter, qtbot)

    assert [widget.accessibleName() for widget in stops] == [
        "Show the waiting list for device type",
        "Pass on expired offers",
        "Refresh the waiting list",
        "Waiting list",
        "Move up",
        "Move down",
        "Move to a place",
        "Withdraw from the waiting list",
    ]
    assert set(shown) == set(stops)
    move = dialogs[1]
    assert isinstance(move, MoveDialog)
    move.set_reason("Priority")  # OK is enabled, so Tab stops there too
    spin = move.findChild(QAbstractSpinBox)
    assert spin is not None
    move_stops = tab_stops(move, spin, qtbot)
    assert [widget.accessibleName() for widget in move_stops] == ["New place", "Reason", "Move", "Cancel"]
