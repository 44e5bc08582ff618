"""The Champions screen: champions with their venues and when training and DBS checks fall due, what
needs attention said in words; adding and editing through the champion form; other volunteer hours and
each month's hours; every control named and reached by Tab."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, time, timedelta
from typing import TYPE_CHECKING

import pytest
from PySide6.QtCore import QDate, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QAbstractSpinBox,
    QApplication,
    QComboBox,
    QLabel,
    QLineEdit,
    QSpinBox,
    QWidget,
)
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot

from digiknow_desk.app import Services
from digiknow_desk.domain.champions import Champion, ChampionDraft, ChampionRules, add_months
from digiknow_desk.domain.residents import ConsentPurpose, ResidentDraft
from digiknow_desk.domain.sessions import HoursKind, OtherHours, SessionDraft, SessionKind
from digiknow_desk.domain.staff import Role, StaffMember
from digiknow_desk.domain.venues import Venue, VenueDraft
from digiknow_desk.ui.champion_dialog import ChampionDialog, HoursDialog
from digiknow_desk.ui.champions_page import ChampionsPage, ChampionTableModel
from digiknow_desk.ui.tasks import TaskRunner

if TYPE_CHECKING:
    from tests.conftest import FakeClock

ALL_CONSENTS = frozenset(ConsentPurpose)  # support recorded too: sessions and skills checks need it

EDGELEY = "E05000787"


@pytest.fixture
def tasks() -> Iterator[TaskRunner]:
    runner = TaskRunner()
    yield runner
    runner.shutdown()


@pytest.fixture
def venue(services: Services) -> Venue:
    return services.venues.add(VenueDraft(name="Edgeley Library", ward_code=EDGELEY))


def today(clock: FakeClock) -> date:
    return clock.now.astimezone().date()


def current(services: Services, name: str, clock: FakeClock, venue: Venue | None = None) -> Champion:
    """A champion trained and DBS-checked recently: nothing needs attention."""
    recent = today(clock) - timedelta(days=60)
    return services.champions.add(
        ChampionDraft(
            name=name,
            phone="0161 474 1000",
            venue_ids=frozenset({venue.id}) if venue else frozenset(),
            trained_on=recent,
            dbs_checked_on=recent,
        )
    )


def make_page(
    services: Services, tasks: TaskRunner, qtbot: QtBot, ask: object = None, hours: object = None
) -> ChampionsPage:
    def refuse(*_args: object) -> None:
        pytest.fail("a modal dialog would block the test")

    page = ChampionsPage(
        services,
        tasks,
        ask_champion=ask or refuse,  # type: ignore[arg-type]
        ask_hours=hours or refuse,  # type: ignore[arg-type]
    )
    qtbot.addWidget(page)
    page.resize(1280, 800)
    return page


def cells(page: ChampionsPage, column: int) -> list[str]:
    model = page.model
    return [model.data(model.index(row, column)) for row in range(model.rowCount())]


def button(root: QWidget, name: str) -> QAbstractButton:
    return next(b for b in root.findChildren(QAbstractButton) if b.accessibleName() == name)


def set_date(widget: QWidget, day: date) -> None:
    widget.setProperty("date", QDate(day.year, day.month, day.day))


# The table and its warnings


def test_the_champion_model_passes_the_model_tester(
    services: Services, venue: Venue, clock: FakeClock, qtmodeltester: ModelTester
) -> None:
    current(services, "Priya Shah", clock, venue)
    services.champions.add(ChampionDraft(name="Tom Baker", active=False))
    model = ChampionTableModel()
    model.set_champions(services.champions.champions(), services.champions.rules(), today(clock))
    qtmodeltester.check(model)


def test_what_needs_attention_is_said_in_words(
    services: Services, tasks: TaskRunner, qtbot: QtBot, venue: Venue, clock: FakeClock
) -> None:
    now = today(clock)
    rules = ChampionRules()
    lapsed_check = add_months(now, -rules.dbs_months) - timedelta(days=11)  # lapsed 11 days ago
    services.champions.add(
        ChampionDraft(
            name="Priya Shah",
            email="priya@example.org",
            venue_ids=frozenset({venue.id}),
            trained_on=now - timedelta(days=30),
            dbs_checked_on=lapsed_check,
        )
    )
    current(services, "Tom Baker", clock, venue)
    services.champions.add(ChampionDraft(name="Stood Down", active=False))
    page = make_page(services, tasks, qtbot)

    assert cells(page, ChampionTableModel.NAME) == ["Priya Shah", "Tom Baker"]  # active ones to start
    assert page.count_text == "2 active champions"
    assert cells(page, ChampionTableModel.ATTENTION) == ["DBS check lapsed on 3 Mar 2026", ""]
    assert cells(page, ChampionTableModel.DBS_DUE) == ["Tue 3 Mar", "Sat 13 Jan 2029"]
    assert cells(page, ChampionTableModel.CONTACT) == ["priya@example.org", "0161 474 1000"]
    assert cells(page, ChampionTableModel.VENUES) == ["Edgeley Library", "Edgeley Library"]
    assert page.warnings_text == "Needs attention:\nPriya Shah: DBS check lapsed on 3 Mar 2026"

    page.show_filter.setCurrentIndex(page.show_filter.findData(False))
    assert cells(page, ChampionTableModel.NAME) == ["Priya Shah", "Stood Down", "Tom Baker"]
    assert cells(page, ChampionTableModel.ACTIVE) == ["Yes", "No", "Yes"]
    # Someone who has stood down needs nothing renewed; their dates are simply not recorded.
    assert cells(page, ChampionTableModel.ATTENTION)[1] == ""
    assert cells(page, ChampionTableModel.TRAINING_DUE)[1] == "Not recorded"
    assert page.count_text == "3 champions"


def test_no_warnings_no_banner(
    services: Services, tasks: TaskRunner, qtbot: QtBot, venue: Venue, clock: FakeClock
) -> None:
    current(services, "Tom Baker", clock, venue)
    page = make_page(services, tasks, qtbot)
    assert page.warnings_text == ""


def test_a_champion_with_nothing_recorded_is_flagged_and_one_soon_to_lapse_warned(
    services: Services, tasks: TaskRunner, qtbot: QtBot, clock: FakeClock
) -> None:
    now = today(clock)
    rules = ChampionRules()
    soon = add_months(now, -rules.training_months) + timedelta(days=10)
    services.champions.add(ChampionDraft(name="Aisha Begum"))
    services.champions.add(ChampionDraft(name="Ben Lowe", trained_on=soon, dbs_checked_on=now))
    page = make_page(services, tasks, qtbot)
    assert cells(page, ChampionTableModel.ATTENTION) == [
        "No training recorded; no DBS check recorded",
        "Training lapses on 24 Mar 2026",
    ]
    assert page.warnings_text.splitlines()[1:] == [
        "Aisha Begum: no training recorded; no DBS check recorded",
        "Ben Lowe: training lapses on 24 Mar 2026",
    ]


# Adding and editing


def test_add_a_champion_through_the_form(
    services: Services, tasks: TaskRunner, qtbot: QtBot, venue: Venue, clock: FakeClock
) -> None:
    trained = today(clock) - timedelta(days=20)

    def ask(services: Services, parent: QWidget, champion: Champion | None) -> Champion | None:
        assert champion is None
        dialog = ChampionDialog(services, champion, parent)
        qtbot.keyClicks(dialog.field("name"), "Priya Shah")
        qtbot.keyClicks(dialog.field("email"), "priya@example")  # no domain yet
        dialog.set_venue(venue.id)
        dialog.trained_on.not_known_box.setChecked(False)
        set_date(dialog.trained_on.date_box, trained)
        dialog.save()
        assert dialog.saved is None and dialog.problem_text("email") == (
            "'priya@example' is not an email address: it needs an @ and a domain."
        )
        qtbot.keyClicks(dialog.field("email"), ".org")
        dialog.save()
        return dialog.saved

    page = make_page(services, tasks, qtbot, ask=ask)
    with qtbot.waitSignal(page.changed):
        button(page, "Add champion").click()
    saved = services.champions.find("Priya Shah")
    assert (saved.email, saved.venue_names, saved.trained_on, saved.dbs_checked_on) == (
        "priya@example.org",
        "Edgeley Library",
        trained,
        None,
    )
    assert page.current_champion() == saved
    assert page.notice_text == "Added Priya Shah as a Digital Champion."
    assert cells(page, ChampionTableModel.ATTENTION) == ["No DBS check recorded"]


def test_edit_a_champion_and_stand_them_down(
    services: Services, tasks: TaskRunner, qtbot: QtBot, venue: Venue, clock: FakeClock
) -> None:
    priya = current(services, "Priya Shah", clock, venue)
    current(services, "Tom Baker", clock)
    opened: list[Champion | None] = []

    def ask(services: Services, parent: QWidget, champion: Champion | None) -> Champion | None:
        opened.append(champion)
        dialog = ChampionDialog(services, champion, parent)
        assert dialog.draft() == ChampionDraft(
            name="Priya Shah",
            phone="0161 474 1000",
            venue_ids=frozenset({venue.id}),
            trained_on=priya.trained_on,
            dbs_checked_on=priya.dbs_checked_on,
        )
        dialog.set_venue(venue.id, ticked=False)
        dialog.active_box.setChecked(False)
        dialog.save()
        return dialog.saved

    page = make_page(services, tasks, qtbot, ask=ask)
    page.table.selectRow(0)
    shortcuts = {action.shortcut().toString(): action for action in page.actions()}
    shortcuts["Ctrl+E"].trigger()
    assert opened == [priya]
    edited = services.champions.get(priya.id)
    assert (edited.active, edited.venues) == (False, ())
    # No longer active: the list shows everyone so the champion just edited stays in view.
    assert page.show_filter.currentData() is False
    assert page.current_champion() == edited
    assert page.notice_text == "Saved the changes to Priya Shah."


def test_a_champion_name_already_taken_is_refused_beside_the_name(
    services: Services, qtbot: QtBot, clock: FakeClock
) -> None:
    current(services, "Priya Shah", clock)
    dialog = ChampionDialog(services)
    qtbot.addWidget(dialog)
    qtbot.keyClicks(dialog.field("name"), "priya shah")
    dialog.save()
    assert dialog.saved is None
    assert (
        dialog.problem_text("name")
        == "A champion called priya shah is already registered: edit them instead."
    )


# Volunteer hours


def test_other_hours_and_the_months_hours(
    services: Services, tasks: TaskRunner, qtbot: QtBot, venue: Venue, clock: FakeClock
) -> None:
    priya = current(services, "Priya Shah", clock, venue)
    tom = current(services, "Tom Baker", clock, venue)
    resident = services.residents.add(
        ResidentDraft(name="Maureen Clarke", phone="0161 474 4444", consents=ALL_CONSENTS)
    )
    now = today(clock)
    for minutes, champions in ((60, (priya.id,)), (90, (priya.id, tom.id))):
        services.sessions.log(
            SessionDraft(
                held_on=now,
                starts_at=time(9, 0),
                minutes=minutes,
                kind=SessionKind.ONE_TO_ONE,
                venue_id=venue.id,
                champion_ids=champions,
                resident_references=(resident.reference,),
            )
        )

    def hours(services: Services, parent: QWidget, champion: Champion) -> OtherHours | None:
        dialog = HoursDialog(services, champion, parent)
        dialog.set_time(0, 0)
        dialog.save()
        assert dialog.problem_text("minutes") == "Record between 5 minutes and 12 hours at a time."
        dialog.set_time(2, 15)
        kind = dialog.field("kind")
        assert isinstance(kind, QComboBox)
        kind.setCurrentIndex(kind.findData(HoursKind.TRAINING))
        qtbot.keyClicks(dialog.field("note"), "Digital Champion refresher")
        dialog.save()
        return dialog.saved

    page = make_page(services, tasks, qtbot, hours=hours)
    assert page.month_filter.currentText() == "March 2026"
    assert page.hours_total_text == "March 2026: 4 h volunteered by 2 champions; 2 sessions given."
    page.table.selectRow(0)  # Priya Shah
    assert page.add_hours()
    assert page.notice_text == "Recorded 2 h 15 min of training for Priya Shah on Sat 14 Mar."
    rows = [
        [page.hours_model.data(page.hours_model.index(row, col)) for col in range(5)]
        for row in range(page.hours_model.rowCount())
    ]
    assert rows == [
        ["Priya Shah", "2", "2 h 30 min", "2 h 15 min", "4 h 45 min"],
        ["Tom Baker", "1", "1 h 30 min", "0 min", "1 h 30 min"],
    ]
    assert page.hours_total_text == "March 2026: 6 h 15 min volunteered by 2 champions; 2 sessions given."
    page.month_filter.setCurrentIndex(page.month_filter.findText("February 2026"))
    assert page.hours_model.rowCount() == 0
    assert page.hours_total_text == "No volunteer hours recorded in February 2026."


def test_adding_hours_needs_a_selected_champion(
    services: Services, tasks: TaskRunner, qtbot: QtBot, clock: FakeClock
) -> None:
    current(services, "Priya Shah", clock)
    page = make_page(services, tasks, qtbot)
    assert not button(page, "Add other hours").isEnabled()
    assert page.add_hours() is False
    assert page.notice_text == "Select a champion first, then add their hours."


# What each role may do


def test_a_champion_may_add_hours_but_not_add_or_edit_champions(
    services: Services, tasks: TaskRunner, qtbot: QtBot, clock: FakeClock
) -> None:
    priya = current(services, "Priya Shah", clock)
    services.desk.staff = StaffMember("priya", "Priya Shah", Role.CHAMPION, champion_id=priya.id)
    page = make_page(services, tasks, qtbot)  # the champion form fails the test if opened
    add, edit, hours = (button(page, name) for name in ("Add champion", "Edit champion", "Add other hours"))
    assert not add.isEnabled()
    assert "Digital Champion, you cannot change settings" in add.accessibleDescription()
    assert "cannot change settings" in edit.toolTip()

    page.table.selectRow(0)
    assert hours.isEnabled()
    assert not edit.isEnabled()  # whatever is selected
    shortcuts = {action.shortcut().toString(): action for action in page.actions()}
    shortcuts["Ctrl+Shift+N"].trigger()
    shortcuts["Ctrl+E"].trigger()
    assert page.edit_champion() is None  # Enter in the list
    assert "cannot change settings" in page.notice_text


def test_a_coordinator_may_add_and_edit_champions(
    services: Services, tasks: TaskRunner, qtbot: QtBot, clock: FakeClock
) -> None:
    current(services, "Priya Shah", clock)
    services.desk.staff = StaffMember("kim", "Kim Patel", Role.COORDINATOR)
    opened: list[str] = []
    page = make_page(
        services,
        tasks,
        qtbot,
        ask=lambda _s, _p, champion: opened.append(champion.name if champion else "new"),
    )
    add, edit = button(page, "Add champion"), button(page, "Edit champion")
    assert add.isEnabled() and add.accessibleDescription() == ""
    assert not edit.isEnabled()  # nothing selected yet
    page.table.selectRow(0)
    assert edit.isEnabled()
    add.click()
    edit.click()
    assert opened == ["new", "Priya Shah"]


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


def mnemonics(root: QWidget) -> list[str]:
    return [
        text[text.index("&") + 1].lower()
        for widget in root.findChildren(QLabel) + root.findChildren(QAbstractButton)
        if "&" in (text := widget.text().replace("&&", ""))
    ]


def unreached_by_tab(qtbot: QtBot, root: QWidget, start: QWidget) -> set[str]:
    root.show()
    qtbot.waitExposed(root)
    root.activateWindow()
    qtbot.waitUntil(root.isActiveWindow)
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
    for _ in range(2 * len(wanted) + 3):
        widget = QApplication.focusWidget()
        assert widget is not None
        reached.add(widget)
        QTest.keyClick(widget, Qt.Key.Key_Tab)
    return {widget.accessibleName() or type(widget).__name__ for widget in wanted - reached}


def test_every_control_is_named_and_reached_by_tab(
    services: Services, tasks: TaskRunner, qtbot: QtBot, venue: Venue, clock: FakeClock
) -> None:
    priya = current(services, "Priya Shah", clock, venue)
    page = make_page(services, tasks, qtbot)
    page.table.selectRow(0)
    champion_form = ChampionDialog(services, priya)
    champion_form.dbs_checked_on.not_known_box.setChecked(True)
    hours_form = HoursDialog(services, priya)
    for form in (champion_form, hours_form):
        qtbot.addWidget(form)
    for root in (page, champion_form, hours_form):
        assert unnamed_controls(root) == [], type(root).__name__
        keys = mnemonics(root)
        assert len(keys) == len(set(keys)), (type(root).__name__, keys)
    assert not set(mnemonics(page)) & WINDOW_MNEMONICS
    assert unreached_by_tab(qtbot, page, page.show_filter) == set()
    assert unreached_by_tab(qtbot, champion_form, champion_form.field("name")) == set()
    hours_box = next(box for box in hours_form.findChildren(QSpinBox) if box.accessibleName() == "Hours")
    assert unreached_by_tab(qtbot, hours_form, hours_box) == set()
