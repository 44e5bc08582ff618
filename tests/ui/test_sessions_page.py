"""The Sessions screen: sessions paged from the database and filtered by month (this month to start),
champion and venue; one session's details; follow-ups due this week, and marking one done by keyboard;
logging through the form (Ctrl+N) and deleting after a question; every control named and reached by Tab."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, time, timedelta
from typing import TYPE_CHECKING

import pytest
from PySide6.QtCore import QModelIndex, QSettings, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QAbstractSpinBox,
    QApplication,
    QComboBox,
    QLabel,
    QLineEdit,
    QWidget,
)
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot

from digiknow_desk.app import Services
from digiknow_desk.domain.champions import Champion, ChampionDraft
from digiknow_desk.domain.devices import DeviceDraft, DeviceType
from digiknow_desk.domain.residents import AgeBand, ConsentPurpose, Resident, ResidentDraft
from digiknow_desk.domain.sessions import (
    AnonymousAttendee,
    CommonTask,
    HoursKind,
    Session,
    SessionDraft,
    SessionKind,
)
from digiknow_desk.domain.venues import Venue, VenueDraft
from digiknow_desk.ui.main_window import LOCK_SHORTCUT
from digiknow_desk.ui.session_dialog import SessionDialog
from digiknow_desk.ui.session_table_model import (
    HoursTableModel,
    SessionTableModel,
    attendees_text,
    duration_text,
    duration_words,
)
from digiknow_desk.ui.sessions_page import SessionsPage
from digiknow_desk.ui.tasks import TaskRunner

if TYPE_CHECKING:
    from tests.conftest import FakeClock

ALL_CONSENTS = frozenset(ConsentPurpose)  # support recorded too: sessions and skills checks need it

EDGELEY = "E05000787"
REDDISH_NORTH = "E05000797"


@pytest.fixture
def tasks() -> Iterator[TaskRunner]:
    runner = TaskRunner()
    yield runner
    runner.shutdown()


class Place:
    """Two venues, two champions and three residents, as a borough's week might have them."""

    def __init__(self, services: Services) -> None:
        self.edgeley = services.venues.add(VenueDraft(name="Edgeley Library", ward_code=EDGELEY))
        self.reddish = services.venues.add(VenueDraft(name="Reddish Library", ward_code=REDDISH_NORTH))
        self.priya = services.champions.add(ChampionDraft(name="Priya Shah"))
        self.tom = services.champions.add(ChampionDraft(name="Tom Baker"))
        self.residents = [
            services.residents.add(
                ResidentDraft(name=name, phone=f"0161 474 {number:04d}", consents=ALL_CONSENTS)
            )
            for number, name in enumerate(("Maureen Clarke", "Tom Okafor", "Margaret Holt"), 1)
        ]


@pytest.fixture
def place(services: Services) -> Place:
    return Place(services)


def log(
    services: Services,
    held_on: date,
    venue: Venue | None,
    champions: tuple[Champion, ...],
    residents: tuple[Resident, ...] = (),
    **more: object,
) -> Session:
    draft = SessionDraft(
        held_on=held_on,
        starts_at=more.pop("starts_at", time(10, 0)),  # type: ignore[arg-type]
        minutes=more.pop("minutes", 60),  # type: ignore[arg-type]
        kind=more.pop("kind", SessionKind.ONE_TO_ONE),  # type: ignore[arg-type]
        venue_id=venue.id if venue else None,
        champion_ids=tuple(champion.id for champion in champions),
        resident_references=tuple(resident.reference for resident in residents),
        **more,  # type: ignore[arg-type]
    )
    return services.sessions.log(draft)


def today(clock: FakeClock) -> date:
    return clock.now.astimezone().date()


def make_page(
    services: Services, tasks: TaskRunner, qtbot: QtBot, ask: object = None, confirm: object = None
) -> SessionsPage:
    def refuse(*_args: object) -> None:
        pytest.fail("a modal dialog would block the test")

    page = SessionsPage(
        services,
        tasks,
        ask_session=ask or refuse,  # type: ignore[arg-type]
        confirm=confirm or refuse,  # type: ignore[arg-type]
    )
    qtbot.addWidget(page)
    page.resize(1280, 800)
    return page


def column(page: SessionsPage, number: int) -> list[str]:
    model = page.model
    return [model.data(model.index(row, number)) for row in range(model.rowCount())]


def choose(combo: QComboBox, text: str) -> None:
    row = combo.findText(text)
    assert row >= 0, text
    combo.setCurrentIndex(row)


# The models


def test_the_session_model_passes_the_model_tester_while_paging(
    services: Services, place: Place, clock: FakeClock, qtmodeltester: ModelTester
) -> None:
    for days_ago in range(7):
        log(
            services,
            today(clock) - timedelta(days=days_ago),
            place.edgeley,
            (place.priya,),
            (place.residents[0],),
        )
    model = SessionTableModel(services.sessions, lambda: today(clock), page_size=3)
    model.set_filter(model.session_filter)
    assert (model.rowCount(), model.total) == (3, 7)
    qtmodeltester.check(model)  # with rows still to fetch
    while model.canFetchMore(QModelIndex()):
        model.fetchMore(QModelIndex())
    assert model.rowCount() == 7
    qtmodeltester.check(model)


def test_the_hours_model_passes_the_model_tester_and_speaks_in_words(
    services: Services, place: Place, clock: FakeClock, qtmodeltester: ModelTester
) -> None:
    log(services, today(clock), place.edgeley, (place.priya,), (place.residents[0],), minutes=90)
    services.sessions.add_hours(place.tom.id, today(clock), 45, HoursKind.TRAINING)
    model = HoursTableModel()
    model.set_hours(services.sessions.hours(today(clock)))
    qtmodeltester.check(model)
    rows = [[model.data(model.index(row, col)) for col in range(5)] for row in range(model.rowCount())]
    assert rows == [
        ["Priya Shah", "1", "1 h 30 min", "0 min", "1 h 30 min"],
        ["Tom Baker", "0", "0 min", "45 min", "45 min"],
    ]
    spoken = model.data(model.index(0, HoursTableModel.TOTAL), Qt.ItemDataRole.AccessibleTextRole)
    assert spoken == "1 hour 30 minutes"
    assert (duration_text(60), duration_words(60), duration_words(1)) == ("1 h", "1 hour", "1 minute")


def test_a_row_says_who_came_with_the_unregistered_counted(
    services: Services, place: Place, clock: FakeClock
) -> None:
    group = log(
        services,
        today(clock),
        place.edgeley,
        (place.priya, place.tom),
        tuple(place.residents[:2]),
        kind=SessionKind.GROUP,
        anonymous=(AnonymousAttendee(AgeBand.AGE_65_74, EDGELEY), AnonymousAttendee()),
        topics=frozenset({CommonTask.SPOTTING_SCAMS, CommonTask.NHS_APP}),
    )
    alone = log(
        services,
        today(clock),
        None,
        (place.priya,),
        anonymous=(AnonymousAttendee(),),
        kind=SessionKind.PHONE,
        starts_at=time(9, 0),
    )
    assert attendees_text(group) == "4: Maureen Clarke, Tom Okafor, 2 not registered"
    assert attendees_text(alone) == "1 not registered"
    model = SessionTableModel(services.sessions, lambda: today(clock))
    model.set_filter(model.session_filter)
    cells = [model.data(model.index(0, col)) for col in range(len(SessionTableModel.HEADERS))]
    assert cells == [
        "Sat 14 Mar",
        "10:00",
        "1 h",
        "Group class",
        "Edgeley Library",
        "Priya Shah, Tom Baker",
        "4: Maureen Clarke, Tom Okafor, 2 not registered",
        "NHS App, Spotting scams",
        "",
    ]
    assert model.data(model.index(1, SessionTableModel.VENUE)) == "No venue"


# Listing and filtering


def test_the_list_starts_at_this_month_and_filters_by_month_champion_and_venue(
    services: Services, tasks: TaskRunner, qtbot: QtBot, place: Place, clock: FakeClock
) -> None:
    now = today(clock)
    last_month = now.replace(day=1) - timedelta(days=3)
    maureen, tom, margaret = place.residents
    log(services, now, place.edgeley, (place.priya,), (maureen,))
    log(services, now - timedelta(days=1), place.reddish, (place.tom,), (tom,))
    log(services, now - timedelta(days=2), place.reddish, (place.priya, place.tom), (margaret,))
    log(services, last_month, place.edgeley, (place.tom,), (maureen,))

    page = make_page(services, tasks, qtbot)
    assert page.month_filter.currentText() == "March 2026"
    assert page.count_text == "3 sessions"
    assert column(page, SessionTableModel.DATE) == ["Sat 14 Mar", "Fri 13 Mar", "Thu 12 Mar"]  # newest first

    choose(page.champion_filter, "Tom Baker")
    assert column(page, SessionTableModel.ATTENDEES) == ["Tom Okafor", "Margaret Holt"]
    choose(page.venue_filter, "Reddish Library")
    assert page.count_text == "2 sessions"
    choose(page.champion_filter, "Priya Shah")
    assert column(page, SessionTableModel.ATTENDEES) == ["Margaret Holt"]
    assert page.count_text == "1 session"

    choose(page.champion_filter, "Every champion")
    choose(page.venue_filter, "Edgeley Library")
    choose(page.month_filter, "February 2026")
    assert column(page, SessionTableModel.DATE) == [f"{last_month:%a} {last_month.day} Feb"]
    choose(page.month_filter, "All months")
    assert page.count_text == "2 sessions"
    choose(page.month_filter, "January 2026")
    assert page.count_text == "No sessions"


def test_selecting_a_session_shows_its_details(
    services: Services, tasks: TaskRunner, qtbot: QtBot, place: Place, clock: FakeClock
) -> None:
    maureen = place.residents[0]
    services.inventory.add(DeviceDraft(tag="TAB-0042", device_type=DeviceType.TABLET))
    loan = services.lending.issue("TAB-0042", maureen.reference)
    log(
        services,
        today(clock),
        place.edgeley,
        (place.priya,),
        (maureen,),
        kind=SessionKind.DROP_IN,
        anonymous=(AnonymousAttendee(AgeBand.AGE_75_PLUS, REDDISH_NORTH),),
        starts_at=time(9, 45),
        minutes=90,
        loan_id=loan.id,
        outcome="Set up email on the tablet",
        follow_up_on=today(clock) + timedelta(days=3),
        follow_up="Check she can reply to her grandson",
        topics=frozenset({CommonTask.EMAIL}),
    )
    page = make_page(services, tasks, qtbot)
    assert page.detail_text("outcome") == ""  # nothing chosen yet
    page.table.selectRow(0)
    assert page.detail_text("when") == "Sat 14 Mar, 09:45 to 11:15 (1 hour 30 minutes)"
    assert page.detail_text("where") == "Drop-in, Edgeley Library"
    assert (
        page.detail_text("attendees") == "R-00001 Maureen Clarke\nNot registered: 75 or over, Reddish North"
    )
    assert page.detail_text("topics") == "Email"
    assert page.detail_text("outcome") == "Set up email on the tablet"
    assert page.detail_text("follow_up") == "Tue 17 Mar: Check she can reply to her grandson"
    assert page.detail_text("loan").startswith("TAB-0042 Tablet, Maureen Clarke, issued Sat 14 Mar")
    assert page.detail_text("logged").startswith("Test Staff, 14 Mar 2026")


def test_follow_ups_coming_up_are_listed_before_those_overdue(
    services: Services, tasks: TaskRunner, qtbot: QtBot, place: Place, clock: FakeClock
) -> None:
    page = make_page(services, tasks, qtbot)
    assert page.follow_ups_text == "No follow-ups due by Sat 21 Mar."
    now = today(clock)
    maureen, tom, margaret = place.residents
    log(
        services,
        now - timedelta(days=9),
        place.edgeley,
        (place.priya,),
        (maureen,),
        follow_up_on=now - timedelta(days=2),
        follow_up="Bank app",
    )
    log(
        services,
        now,
        place.edgeley,
        (place.tom,),
        (tom,),
        follow_up_on=now + timedelta(days=5),
        follow_up="Universal Credit journal",
    )
    log(
        services,
        now,
        place.edgeley,
        (place.tom,),
        (margaret,),
        follow_up_on=now + timedelta(days=8),
        follow_up="Next month",
    )
    page.refresh()
    assert page.follow_ups_text.splitlines() == [
        "Follow-ups due by Sat 21 Mar: 1 coming up, 1 overdue.",
        "Thu 19 Mar: Tom Okafor: Universal Credit journal (Tom Baker)",
        "Thu 12 Mar (overdue): Maureen Clarke: Bank app (Priya Shah)",
    ]
    for days in (1, 2):
        log(
            services,
            now,
            place.reddish,
            (place.priya,),
            (maureen,),
            follow_up_on=now + timedelta(days=days),
            follow_up="Email",
        )
    page.refresh()
    assert page.follow_ups_text.splitlines() == [
        "Follow-ups due by Sat 21 Mar: 3 coming up, 1 overdue.",
        "Sun 15 Mar: Maureen Clarke: Email (Priya Shah)",
        "Mon 16 Mar: Maureen Clarke: Email (Priya Shah)",
        "Thu 19 Mar: Tom Okafor: Universal Credit journal (Tom Baker)",
        "and 1 more.",
    ]


# Marking follow-ups done


def show_active(qtbot: QtBot, widget: QWidget) -> None:
    widget.show()
    qtbot.waitExposed(widget)
    widget.activateWindow()
    qtbot.waitUntil(widget.isActiveWindow)


def done_button(page: SessionsPage) -> QAbstractButton:
    return next(b for b in page.findChildren(QAbstractButton) if b.accessibleName() == "Mark follow-up done")


def test_a_done_follow_up_says_so_in_the_list_and_the_details(
    services: Services, tasks: TaskRunner, qtbot: QtBot, place: Place, clock: FakeClock
) -> None:
    now = today(clock)
    session = log(
        services,
        now - timedelta(days=4),
        place.edgeley,
        (place.priya,),
        (place.residents[0],),
        follow_up_on=now + timedelta(days=3),
        follow_up="Check the NHS App",
    )
    log(services, now - timedelta(days=5), place.edgeley, (place.priya,), (place.residents[1],))
    services.sessions.follow_up_done(session.id, now - timedelta(days=1))
    model = SessionTableModel(services.sessions, lambda: now)
    model.set_filter(model.session_filter)
    assert [model.data(model.index(row, SessionTableModel.FOLLOW_UP)) for row in range(2)] == [
        "Done Fri 13 Mar: Check the NHS App",  # when it was done, not when it was due
        "",
    ]
    page = make_page(services, tasks, qtbot)
    page.table.selectRow(0)
    assert page.detail_text("follow_up") == "Tue 17 Mar: Check the NHS App (done Fri 13 Mar)"
    assert page.follow_ups_text == "No follow-ups due by Sat 21 Mar."


def test_a_follow_up_is_marked_done_by_keyboard_and_leaves_those_due(
    services: Services, tasks: TaskRunner, qtbot: QtBot, place: Place, clock: FakeClock
) -> None:
    now = today(clock)
    maureen, tom, _margaret = place.residents
    log(services, now, place.edgeley, (place.tom,), (tom,), starts_at=time(9, 0))  # no follow-up
    log(
        services,
        now - timedelta(days=2),
        place.edgeley,
        (place.priya,),
        (maureen,),
        follow_up_on=now + timedelta(days=1),
        follow_up="Check the NHS App",
    )
    page = make_page(services, tasks, qtbot)
    button = done_button(page)
    assert button.text() == "Mar&k follow-up done" and not button.isEnabled()  # nothing chosen
    assert (
        page.follow_ups_text.splitlines()[1] == "Sun 15 Mar: Maureen Clarke: Check the NHS App (Priya Shah)"
    )

    show_active(qtbot, page)
    page.table.setFocus()
    page.table.selectRow(0)
    assert not button.isEnabled()  # that session has no follow-up
    QTest.keyClick(page.table, Qt.Key.Key_Down)
    assert page.current_session() is not None and page.current_session().follow_up == "Check the NHS App"
    assert button.isEnabled()
    QTest.keyClick(page.table, Qt.Key.Key_K, Qt.KeyboardModifier.AltModifier)  # Mar&k follow-up done
    qtbot.waitUntil(lambda: page.follow_ups_text == "No follow-ups due by Sat 21 Mar.")

    assert services.sessions.follow_ups(now + timedelta(days=7)) == []
    assert page.notice_text == (
        "Marked the follow-up done for the one-to-one session on Thu 12 Mar at 10:00 (Maureen Clarke): "
        "Check the NHS App."
    )
    assert column(page, SessionTableModel.FOLLOW_UP) == ["", "Done Sat 14 Mar: Check the NHS App"]
    assert page.table.currentIndex().row() == 1  # still chosen, and the list keeps the keyboard
    assert QApplication.focusWidget() is page.table
    assert page.detail_text("follow_up") == "Sun 15 Mar: Check the NHS App (done Sat 14 Mar)"
    assert not button.isEnabled()  # done already


def test_a_follow_up_done_at_another_desk_is_reported_not_raised(
    services: Services, tasks: TaskRunner, qtbot: QtBot, place: Place, clock: FakeClock
) -> None:
    now = today(clock)
    session = log(
        services,
        now,
        place.edgeley,
        (place.priya,),
        (place.residents[0],),
        follow_up_on=now + timedelta(days=7),
        follow_up="Bank app",
    )
    page = make_page(services, tasks, qtbot)
    page.table.selectRow(0)
    assert done_button(page).isEnabled()
    services.sessions.follow_up_done(session.id)  # at another desk
    assert page.mark_follow_up_done() is False
    assert page.notice_text == "That follow-up was already marked done on Sat 14 Mar 2026."
    assert column(page, SessionTableModel.FOLLOW_UP) == ["Done Sat 14 Mar: Bank app"]
    assert not done_button(page).isEnabled()
    page.table.clearSelection()
    assert page.mark_follow_up_done() is False
    assert page.notice_text == "Select a session with a follow-up still to do, then mark it done."


# Logging and deleting


def test_logging_through_the_form_lists_and_selects_the_session(
    services: Services, tasks: TaskRunner, qtbot: QtBot, place: Place, clock: FakeClock, tmp_path: object
) -> None:
    settings = QSettings(f"{tmp_path}/desk.ini", QSettings.Format.IniFormat)

    def ask(services: Services, parent: QWidget) -> Session | None:
        """Staff fill in the real form: champion, venue, a scanned card, Ctrl+Enter."""
        dialog = SessionDialog(services, parent, settings=settings)
        dialog.set_champion(place.priya.id)
        venue = dialog.field("venue")
        assert isinstance(venue, QComboBox)
        venue.setCurrentIndex(venue.findText("Edgeley Library"))
        qtbot.keyClicks(dialog.search_box, "R-00003")
        qtbot.keyClick(dialog.search_box, Qt.Key.Key_Return)
        dialog.save()
        return dialog.saved

    page = make_page(services, tasks, qtbot, ask=ask)
    shortcuts = {action.shortcut().toString(): action for action in page.actions()}
    assert LOCK_SHORTCUT not in shortcuts  # the window locks the desk with it
    with qtbot.waitSignal(page.changed):
        shortcuts["Ctrl+N"].trigger()
    assert page.count_text == "1 session"
    current = page.table.currentIndex()
    assert page.model.data(page.model.index(current.row(), SessionTableModel.ATTENDEES)) == "Margaret Holt"
    assert page.notice_text == "Logged the one-to-one session on Sat 14 Mar at 10:30 (Margaret Holt)."
    log_button = next(b for b in page.findChildren(QAbstractButton) if b.accessibleName() == "Log a session")
    assert log_button.text() == "&Log a session…"  # Alt+L as well as Ctrl+N


def test_a_session_logged_in_an_earlier_month_says_where_it_is_listed(
    services: Services, tasks: TaskRunner, qtbot: QtBot, place: Place, clock: FakeClock
) -> None:
    earlier = today(clock).replace(day=1) - timedelta(days=1)
    page = make_page(
        services,
        tasks,
        qtbot,
        ask=lambda services, _parent: log(
            services, earlier, place.edgeley, (place.tom,), (place.residents[1],)
        ),
    )
    page.log_session()
    assert page.count_text == "No sessions"
    assert page.notice_text.endswith("It is listed under February 2026.")


def test_cancelling_the_form_changes_nothing(
    services: Services, tasks: TaskRunner, qtbot: QtBot, place: Place
) -> None:
    page = make_page(services, tasks, qtbot, ask=lambda _services, _parent: None)
    assert page.log_session() is None
    assert page.notice_text == "" and page.count_text == "No sessions"


def test_a_session_is_deleted_only_when_staff_agree(
    services: Services, tasks: TaskRunner, qtbot: QtBot, place: Place, clock: FakeClock
) -> None:
    log(services, today(clock), place.edgeley, (place.priya,), (place.residents[0],))
    asked: list[str] = []
    answer = [False]

    def confirm(_parent: QWidget | None, _title: str, question: str) -> bool:
        asked.append(question)
        return answer[0]

    page = make_page(services, tasks, qtbot, confirm=confirm)
    delete = next(b for b in page.findChildren(QAbstractButton) if b.accessibleName() == "Delete session")
    assert not delete.isEnabled()  # nothing chosen
    page.table.selectRow(0)
    assert delete.isEnabled()
    delete.click()
    assert asked == [
        "Delete the one-to-one session on Sat 14 Mar at 10:00 (Maureen Clarke)?\n\n"
        "Only delete a session logged by mistake: this cannot be undone."
    ]
    assert services.sessions.count() == 1
    answer[0] = True
    with qtbot.waitSignal(page.changed):
        delete.click()
    assert services.sessions.count() == 0
    assert page.count_text == "No sessions" and not delete.isEnabled()
    assert page.notice_text == "Deleted the one-to-one session on Sat 14 Mar at 10:00 (Maureen Clarke)."


def test_a_session_deleted_elsewhere_is_reported_not_raised(
    services: Services, tasks: TaskRunner, qtbot: QtBot, place: Place, clock: FakeClock
) -> None:
    session = log(services, today(clock), place.edgeley, (place.priya,), (place.residents[0],))
    page = make_page(services, tasks, qtbot, confirm=lambda *_args: True)
    page.table.selectRow(0)
    services.sessions.delete(session.id)  # at another desk
    assert page.delete_session() is False
    assert page.notice_text == "That session was already removed."
    assert page.count_text == "No sessions"


def test_a_new_champion_or_venue_appears_in_the_filters_on_refresh(
    services: Services, tasks: TaskRunner, qtbot: QtBot, place: Place
) -> None:
    page = make_page(services, tasks, qtbot)
    choose(page.champion_filter, "Tom Baker")
    services.champions.add(ChampionDraft(name="Aisha Begum"))
    services.venues.add(VenueDraft(name="Central Library", ward_code=EDGELEY))
    page.refresh()
    assert page.champion_filter.currentText() == "Tom Baker"  # the choice stays
    assert page.champion_filter.findText("Aisha Begum") > 0
    assert page.venue_filter.findText("Central Library") > 0


# Accessibility

INTERACTIVE = (QAbstractButton, QLineEdit, QComboBox, QAbstractItemView, QAbstractSpinBox)
WINDOW_MNEMONICS = {"f", "g", "h", "s"}  # File, Go, Help and Scan belong to the main window


def unnamed_controls(root: QWidget) -> list[str]:
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
            missing.append(type(widget).__name__)
    return missing


def test_every_control_is_named_and_reached_by_tab(
    services: Services, tasks: TaskRunner, qtbot: QtBot, place: Place, clock: FakeClock
) -> None:
    log(services, today(clock), place.edgeley, (place.priya,), (place.residents[0],))
    page = make_page(services, tasks, qtbot)
    page.table.selectRow(0)
    assert unnamed_controls(page) == []
    letters = [
        text[text.index("&") + 1].lower()
        for widget in page.findChildren(QLabel) + page.findChildren(QAbstractButton)
        if "&" in (text := widget.text().replace("&&", ""))
    ]
    assert len(letters) == len(set(letters)) == 6, letters
    assert not set(letters) & WINDOW_MNEMONICS

    page.show()
    qtbot.waitExposed(page)
    page.activateWindow()
    qtbot.waitUntil(page.isActiveWindow)
    wanted = {
        widget
        for widget in page.findChildren(QWidget)
        if widget.isVisible()
        and widget.isEnabled()
        and widget.focusPolicy() & Qt.FocusPolicy.TabFocus
        and widget.focusProxy() is None
    }
    page.month_filter.setFocus()
    qtbot.waitUntil(lambda: QApplication.focusWidget() is page.month_filter)
    reached = set()
    for _ in range(2 * len(wanted) + 3):
        widget = QApplication.focusWidget()
        assert widget is not None
        reached.add(widget)
        QTest.keyClick(widget, Qt.Key.Key_Tab)
    assert {w.accessibleName() for w in wanted - reached} == set()
