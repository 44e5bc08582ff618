"""The session form, driven by the keyboard: a one-to-one with a resident found by search or by a typed
(scanned) reference, a group with residents and attendees not registered in one go, a phone session
without a venue, a session logged after the fact; problems shown beside the fields without closing; the
champion, venue, kind and length remembered on this machine; Escape or Cancel asking before throwing away
what was entered; every control named and reached by Tab."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, time, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from PySide6.QtCore import QDate, QSettings, Qt, QTime, QTimer
from PySide6.QtTest import QTest
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QAbstractSpinBox,
    QApplication,
    QComboBox,
    QDateEdit,
    QLabel,
    QLineEdit,
    QListWidget,
    QMessageBox,
    QPlainTextEdit,
    QSpinBox,
    QTextEdit,
    QTimeEdit,
    QWidget,
)
from pytestqt.qtbot import QtBot

from digiknow_desk.app import Services
from digiknow_desk.domain.champions import Champion, ChampionDraft
from digiknow_desk.domain.devices import DeviceDraft, DeviceType
from digiknow_desk.domain.residents import AgeBand, ConsentPurpose, Resident, ResidentDraft
from digiknow_desk.domain.sessions import CommonTask, SessionKind
from digiknow_desk.domain.skills import SkillArea
from digiknow_desk.domain.venues import Venue, VenueDraft
from digiknow_desk.ui.session_dialog import (
    Remembered,
    SessionDialog,
    confirm_discard,
    discard_question,
    rounded_down,
)

if TYPE_CHECKING:
    from tests.conftest import FakeClock

ALL_CONSENTS = frozenset(ConsentPurpose)  # support recorded too: sessions and skills checks need it

EDGELEY = "E05000787"  # Edgeley and Cheadle Heath
REDDISH_NORTH = "E05000797"


@pytest.fixture
def settings(tmp_path: Path) -> QSettings:
    """The form's memory, in a file of the test's own (never the user's real settings)."""
    return QSettings(str(tmp_path / "desk.ini"), QSettings.Format.IniFormat)


@pytest.fixture
def venue(services: Services) -> Venue:
    return services.venues.add(VenueDraft(name="Edgeley Library", ward_code=EDGELEY))


@pytest.fixture
def champion(services: Services, venue: Venue) -> Champion:
    return services.champions.add(ChampionDraft(name="Priya Shah", venue_ids=frozenset({venue.id})))


@pytest.fixture
def residents(services: Services) -> list[Resident]:
    return [
        services.residents.add(
            ResidentDraft(
                name=name, phone=f"0161 474 {number:04d}", postcode="SK3 9HQ", consents=ALL_CONSENTS
            )
        )
        for number, name in enumerate(("Maureen Clarke", "Tom Okafor", "Margaret Holt", "Martin Holt"), 1)
    ]


class Discard:
    """Answers 'Discard this session?' in place of the modal box, counting how often it was asked."""

    def __init__(self, answer: bool = True) -> None:
        self.answer = answer
        self.asked = 0

    def __call__(self, _parent: QWidget | None) -> bool:
        self.asked += 1
        return self.answer


def open_form(
    services: Services, qtbot: QtBot, settings: QSettings, discard: Discard | None = None
) -> SessionDialog:
    """The form on screen and active, so keys go where staff would type them. The discard question is
    answered by `discard` (Discard, so the test's clean-up can close a form with something entered)."""
    dialog = SessionDialog(services, settings=settings, confirm_discard=discard or Discard())
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    dialog.activateWindow()
    qtbot.waitUntil(dialog.isActiveWindow)
    return dialog


def focused() -> QWidget:
    widget = QApplication.focusWidget()
    assert widget is not None
    return widget


def type_in_search(qtbot: QtBot, dialog: SessionDialog, text: str) -> None:
    """What staff do (or a scanner does) in the resident search: type, then Enter."""
    assert focused() is dialog.search_box  # the cursor is there, ready
    qtbot.keyClicks(dialog.search_box, text)
    qtbot.keyClick(dialog.search_box, Qt.Key.Key_Return)


def save_by_keyboard(qtbot: QtBot, dialog: SessionDialog) -> None:
    qtbot.keyClick(focused(), Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)


def combo(dialog: SessionDialog, name: str) -> QComboBox:
    widget = dialog.field(name)
    assert isinstance(widget, QComboBox)
    return widget


def choose(widget: QComboBox, data: object) -> None:
    row = widget.findData(data)
    assert row >= 0, data
    widget.setCurrentIndex(row)


def set_date(dialog: SessionDialog, name: str, day: date) -> None:
    widget = dialog.field(name)
    assert isinstance(widget, QDateEdit)
    widget.setDate(QDate(day.year, day.month, day.day))


def today(clock: FakeClock) -> date:
    return clock.now.astimezone().date()


# Opening the form


def test_the_form_starts_today_at_the_last_quarter_hour_for_an_hour(
    services: Services, qtbot: QtBot, settings: QSettings, clock: FakeClock, champion: Champion
) -> None:
    clock.now = clock.now.replace(minute=44)
    dialog = open_form(services, qtbot, settings)
    draft = dialog.draft()
    local = clock.now.astimezone()
    assert draft.held_on == local.date()
    assert draft.starts_at == time(local.hour, 30)
    assert draft.minutes == 60
    assert draft.kind is SessionKind.ONE_TO_ONE
    assert draft.champion_ids == ()  # nothing remembered yet
    assert [combo(dialog, "minutes").itemText(row) for row in range(4)] == ["30", "45", "60", "90"]
    assert focused() is dialog.search_box  # the first thing to do is find who came
    assert rounded_down(time(9, 0)) == time(9, 0)
    assert rounded_down(time(23, 59, 30)) == time(23, 45)


# Logging


def test_a_one_to_one_with_a_resident_found_by_search(
    services: Services,
    qtbot: QtBot,
    settings: QSettings,
    clock: FakeClock,
    venue: Venue,
    champion: Champion,
    residents: list[Resident],
) -> None:
    dialog = open_form(services, qtbot, settings)
    dialog.set_champion(champion.id)
    choose(combo(dialog, "venue"), str(venue.id))
    type_in_search(qtbot, dialog, "maur")  # one match: Enter adds her
    assert dialog.attendee_texts() == ["R-00001  Maureen Clarke (SK3 9HQ)"]
    assert dialog.search_box.text() == "" and focused() is dialog.search_box  # ready for the next
    dialog.set_topic(CommonTask.NHS_APP)
    dialog.set_topic(SkillArea.FOUNDATION)
    dialog.field("outcome").setFocus()
    qtbot.keyClicks(focused(), "Signed in to the NHS App and ordered a repeat prescription")
    save_by_keyboard(qtbot, dialog)

    assert dialog.saved is not None and dialog.result() == SessionDialog.DialogCode.Accepted
    logged = services.sessions.get(dialog.saved.id)
    assert [(a.reference, a.name) for a in logged.attendees] == [("R-00001", "Maureen Clarke")]
    assert (logged.kind, logged.venue_id, logged.minutes) == (SessionKind.ONE_TO_ONE, venue.id, 60)
    assert logged.held_on == today(clock) and logged.champions == ((champion.id, "Priya Shah"),)
    assert logged.topics == {CommonTask.NHS_APP, SkillArea.FOUNDATION}
    assert logged.outcome == "Signed in to the NHS App and ordered a repeat prescription"
    assert logged.follow_up_on is None


def test_several_matches_wait_for_a_choice_made_with_down(
    services: Services, qtbot: QtBot, settings: QSettings, residents: list[Resident]
) -> None:
    dialog = open_form(services, qtbot, settings)
    type_in_search(qtbot, dialog, "holt")
    assert dialog.attendee_texts() == []
    assert dialog.found_text == "2 residents match: press Down to choose one, or type more."
    qtbot.keyClick(dialog.search_box, Qt.Key.Key_Down)
    qtbot.keyClick(dialog.search_box, Qt.Key.Key_Down)  # the second: Martin Holt
    qtbot.keyClick(dialog.search_box, Qt.Key.Key_Return)
    assert dialog.attendee_texts() == ["R-00004  Martin Holt (SK3 9HQ)"]
    assert focused() is dialog.search_box


def test_a_scanned_card_adds_the_resident_at_once(
    services: Services,
    qtbot: QtBot,
    settings: QSettings,
    venue: Venue,
    champion: Champion,
    residents: list[Resident],
) -> None:
    dialog = open_form(services, qtbot, settings)
    dialog.set_champion(champion.id)
    choose(combo(dialog, "venue"), str(venue.id))
    choose(combo(dialog, "kind"), SessionKind.DROP_IN)
    dialog.search_box.setFocus()
    type_in_search(qtbot, dialog, "R-00002")
    assert dialog.attendee_texts() == ["R-00002  Tom Okafor (SK3 9HQ)"]
    type_in_search(qtbot, dialog, "r-00002")  # scanned twice: added once
    assert dialog.attendee_texts() == ["R-00002  Tom Okafor (SK3 9HQ)"]
    assert dialog.problem_text("attendees") == "R-00002 Tom Okafor is already an attendee."
    type_in_search(qtbot, dialog, "R-00099")
    assert dialog.found_text.startswith("No resident has the reference R-00099")
    assert dialog.search_box.selectedText() == "R-00099"  # left to correct; the next scan replaces it
    type_in_search(qtbot, dialog, "R-00001")
    assert dialog.problem_text("attendees") == ""  # the note went with the next resident
    save_by_keyboard(qtbot, dialog)
    assert dialog.saved is not None
    assert [a.reference for a in dialog.saved.attendees] == ["R-00001", "R-00002"]


def test_a_group_class_takes_everyone_in_one_go(
    services: Services,
    qtbot: QtBot,
    settings: QSettings,
    venue: Venue,
    champion: Champion,
    residents: list[Resident],
) -> None:
    dialog = open_form(services, qtbot, settings)
    dialog.set_champion(champion.id)
    choose(combo(dialog, "venue"), str(venue.id))
    choose(combo(dialog, "kind"), SessionKind.GROUP)
    combo(dialog, "minutes").setFocus()
    combo(dialog, "minutes").lineEdit().selectAll()
    qtbot.keyClicks(combo(dialog, "minutes"), "90")
    dialog.search_box.setFocus()
    for reference in ("R-00001", "R-00002", "R-00003"):
        type_in_search(qtbot, dialog, reference)
    # Two people who are not registered, both 65 to 74 from Reddish North, added with one press.
    age_band = next(c for c in dialog.findChildren(QComboBox) if c.accessibleName().startswith("Age band"))
    ward = next(c for c in dialog.findChildren(QComboBox) if c.accessibleName().startswith("Ward"))
    how_many = next(s for s in dialog.findChildren(QSpinBox) if s.accessibleName().startswith("How many"))
    choose(age_band, AgeBand.AGE_65_74)
    choose(ward, REDDISH_NORTH)
    how_many.setValue(2)
    add = next(
        b
        for b in dialog.findChildren(QAbstractButton)
        if b.accessibleName() == "Add attendees not registered"
    )
    add.setFocus()
    qtbot.keyClick(add, Qt.Key.Key_Space)
    assert dialog.attendee_texts()[3:] == ["Not registered: 65 to 74, Reddish North"] * 2
    assert how_many.value() == 1  # back to one for the next

    dialog.set_topic(CommonTask.SPOTTING_SCAMS)
    save_by_keyboard(qtbot, dialog)

    assert dialog.saved is not None
    logged = services.sessions.get(dialog.saved.id)
    assert (logged.kind, logged.minutes) == (SessionKind.GROUP, 90)
    assert sorted(a.reference for a in logged.attendees if a.resident_id) == ["R-00001", "R-00002", "R-00003"]
    anonymous = [a for a in logged.attendees if a.resident_id is None]
    assert [(a.age_band, a.ward_code) for a in anonymous] == [(AgeBand.AGE_65_74, REDDISH_NORTH)] * 2


def test_an_attendee_added_by_mistake_is_removed(
    services: Services, qtbot: QtBot, settings: QSettings, residents: list[Resident]
) -> None:
    dialog = open_form(services, qtbot, settings)
    type_in_search(qtbot, dialog, "R-00001")
    type_in_search(qtbot, dialog, "R-00002")
    attendees = next(
        w for w in dialog.findChildren(QListWidget) if w.accessibleName().startswith("Attendees")
    )
    attendees.setFocus()
    attendees.setCurrentRow(0)
    qtbot.keyClick(attendees, Qt.Key.Key_Delete)
    assert dialog.attendee_texts() == ["R-00002  Tom Okafor (SK3 9HQ)"]
    assert dialog.draft().resident_references == ("R-00002",)


def test_a_phone_session_needs_no_venue(
    services: Services, qtbot: QtBot, settings: QSettings, champion: Champion, residents: list[Resident]
) -> None:
    dialog = open_form(services, qtbot, settings)
    dialog.set_champion(champion.id)
    choose(combo(dialog, "kind"), SessionKind.PHONE)
    assert combo(dialog, "venue").currentData() is None  # "No venue (phone or video call)"
    type_in_search(qtbot, dialog, "R-00001")
    save_by_keyboard(qtbot, dialog)
    assert dialog.saved is not None
    assert (dialog.saved.kind, dialog.saved.venue_id, dialog.saved.venue_name) == (
        SessionKind.PHONE,
        None,
        "",
    )


def test_a_session_is_logged_after_the_fact_with_a_follow_up(
    services: Services,
    qtbot: QtBot,
    settings: QSettings,
    clock: FakeClock,
    venue: Venue,
    champion: Champion,
    residents: list[Resident],
) -> None:
    three_days_ago = today(clock) - timedelta(days=3)
    dialog = open_form(services, qtbot, settings)
    dialog.set_champion(champion.id)
    choose(combo(dialog, "venue"), str(venue.id))
    set_date(dialog, "held_on", three_days_ago)
    start = dialog.findChild(QTimeEdit)
    assert start is not None
    start.setTime(QTime(14, 15))
    type_in_search(qtbot, dialog, "R-00001")
    follow_up = next(
        b for b in dialog.findChildren(QAbstractButton) if b.accessibleName() == "Follow-up needed"
    )
    follow_up.setFocus()
    qtbot.keyClick(follow_up, Qt.Key.Key_Space)
    follow_up_on = dialog.field("follow_up_on")
    assert isinstance(follow_up_on, QDateEdit) and follow_up_on.isEnabled()
    assert follow_up_on.date().toString("yyyy-MM-dd") == (three_days_ago + timedelta(days=7)).isoformat()
    dialog.field("follow_up").setFocus()
    qtbot.keyClicks(focused(), "Check she can video call her daughter")
    save_by_keyboard(qtbot, dialog)

    assert dialog.saved is not None
    assert (dialog.saved.held_on, dialog.saved.starts_at) == (three_days_ago, time(14, 15))
    assert dialog.saved.follow_up_on == three_days_ago + timedelta(days=7)
    assert dialog.saved.follow_up == "Check she can video call her daughter"


def test_the_related_loan_is_one_the_residents_had_that_day(
    services: Services,
    qtbot: QtBot,
    settings: QSettings,
    venue: Venue,
    champion: Champion,
    residents: list[Resident],
) -> None:
    services.inventory.add(DeviceDraft(tag="TAB-0042", device_type=DeviceType.TABLET))
    loan = services.lending.issue("TAB-0042", residents[0].reference)
    dialog = open_form(services, qtbot, settings)
    dialog.set_champion(champion.id)
    choose(combo(dialog, "venue"), str(venue.id))
    loans = combo(dialog, "loan")
    assert [loans.itemText(row) for row in range(loans.count())] == ["No related loan"]
    type_in_search(qtbot, dialog, "R-00001")
    assert loans.count() == 2 and loans.itemText(1).startswith("TAB-0042 Tablet, Maureen Clarke, issued")
    set_date(dialog, "held_on", loan.issued_at.astimezone().date() - timedelta(days=1))
    assert loans.count() == 1  # she did not have it yet
    set_date(dialog, "held_on", loan.issued_at.astimezone().date())
    choose(loans, str(loan.id))
    save_by_keyboard(qtbot, dialog)
    assert dialog.saved is not None and dialog.saved.loan_id == loan.id


# Problems


def test_problems_are_shown_beside_their_fields_and_the_form_stays_open(
    services: Services,
    qtbot: QtBot,
    settings: QSettings,
    clock: FakeClock,
    venue: Venue,
    champion: Champion,
    residents: list[Resident],
) -> None:
    dialog = open_form(services, qtbot, settings)
    save_by_keyboard(qtbot, dialog)
    assert dialog.saved is None and dialog.isVisible()
    assert dialog.problem_text("champions") == "Choose the champion (or champions) who gave the session."
    assert dialog.problem_text("attendees") == (
        "Add who was helped: a registered resident, or an attendee by age band."
    )
    assert dialog.problem_text("venue") == "Choose the venue where the session was held."
    assert focused() is dialog.field("venue")  # the first field to put right
    assert "Choose the venue" in dialog.field("venue").accessibleDescription()  # heard, not only seen

    # Put right one by one: each problem goes as its field is corrected.
    choose(combo(dialog, "venue"), str(venue.id))
    assert dialog.problem_text("venue") == ""
    dialog.set_champion(champion.id)
    assert dialog.problem_text("champions") == ""
    dialog.search_box.setFocus()
    type_in_search(qtbot, dialog, "R-00001")
    type_in_search(qtbot, dialog, "R-00002")
    assert (
        dialog.problem_text("attendees") == "A one-to-one session has one attendee: choose group or drop-in."
    )
    set_date(dialog, "held_on", today(clock) + timedelta(days=1))
    assert dialog.problem_text("held_on") == (
        "The session cannot start in the future: log it once it has happened."
    )
    combo(dialog, "minutes").setEditText("2")
    assert dialog.problem_text("minutes") == "A session lasts between 5 minutes and 8 hours."
    dialog.set_follow_up(today(clock) - timedelta(days=3), "")
    assert dialog.problem_text("follow_up") == "Say what the follow-up is for."
    save_by_keyboard(qtbot, dialog)
    assert dialog.saved is None and services.sessions.count() == 0

    choose(combo(dialog, "kind"), SessionKind.GROUP)
    set_date(dialog, "held_on", today(clock))
    combo(dialog, "minutes").setEditText("45")
    dialog.set_follow_up(None)
    assert dialog.problems == {}
    save_by_keyboard(qtbot, dialog)
    assert dialog.saved is not None and services.sessions.count() == 1


def test_escape_empties_the_search_then_closes_an_untouched_form_without_asking(
    services: Services, qtbot: QtBot, settings: QSettings, champion: Champion, residents: list[Resident]
) -> None:
    discard = Discard(answer=False)
    dialog = open_form(services, qtbot, settings, discard)
    qtbot.keyClicks(dialog.search_box, "Maur")
    qtbot.keyClick(dialog.search_box, Qt.Key.Key_Escape)
    assert dialog.search_box.text() == "" and dialog.isVisible()
    assert not dialog.has_entries()
    qtbot.keyClick(dialog.search_box, Qt.Key.Key_Escape)
    assert not dialog.isVisible() and dialog.saved is None
    assert discard.asked == 0  # nothing entered: nothing to lose
    assert services.sessions.count() == 0


def test_escape_on_a_form_with_an_attendee_asks_and_keeps_editing_until_staff_discard(
    services: Services, qtbot: QtBot, settings: QSettings, champion: Champion, residents: list[Resident]
) -> None:
    discard = Discard(answer=False)
    dialog = open_form(services, qtbot, settings, discard)
    type_in_search(qtbot, dialog, "R-00001")
    assert dialog.has_entries()
    qtbot.keyClick(dialog.search_box, Qt.Key.Key_Escape)
    assert discard.asked == 1
    assert dialog.isVisible() and dialog.attendee_texts() == ["R-00001  Maureen Clarke (SK3 9HQ)"]

    discard.answer = True
    qtbot.keyClick(dialog.search_box, Qt.Key.Key_Escape)
    assert discard.asked == 2
    assert not dialog.isVisible() and dialog.saved is None
    assert services.sessions.count() == 0


@pytest.mark.parametrize(
    "enter",
    [
        pytest.param(
            lambda dialog: dialog.set_champion(dialog.champion_ids()[0], False), id="champion unticked"
        ),
        pytest.param(lambda dialog: dialog.set_topic(CommonTask.NHS_APP), id="topic ticked"),
        pytest.param(lambda dialog: combo(dialog, "minutes").setEditText("45"), id="length changed"),
        pytest.param(lambda dialog: set_date(dialog, "held_on", date(2026, 3, 13)), id="date changed"),
        pytest.param(lambda dialog: dialog.set_follow_up(date(2026, 3, 20), "NHS App"), id="follow-up"),
    ],
)
def test_cancel_asks_when_anything_differs_from_how_the_form_opened(
    services: Services,
    qtbot: QtBot,
    settings: QSettings,
    champion: Champion,
    enter: Callable[[SessionDialog], object],
) -> None:
    Remembered(champion_ids=(champion.id,)).write(settings)  # opens with the last champion ticked
    discard = Discard(answer=False)
    dialog = open_form(services, qtbot, settings, discard)
    assert not dialog.has_entries()
    enter(dialog)
    cancel = next(b for b in dialog.findChildren(QAbstractButton) if b.accessibleName() == "Cancel")
    cancel.setFocus()
    qtbot.keyClick(cancel, Qt.Key.Key_Space)
    assert discard.asked == 1 and dialog.isVisible()


def test_typing_an_outcome_then_cancelling_asks_first(
    services: Services, qtbot: QtBot, settings: QSettings, champion: Champion
) -> None:
    discard = Discard(answer=False)
    dialog = open_form(services, qtbot, settings, discard)
    outcome = dialog.field("outcome")
    outcome.setFocus()
    qtbot.keyClicks(outcome, "Signed in to the NHS App")
    qtbot.keyClick(outcome, Qt.Key.Key_Escape)
    assert discard.asked == 1 and dialog.isVisible()
    assert dialog.draft().outcome == "Signed in to the NHS App"


def test_the_discard_question_says_what_is_lost_and_defaults_to_keep_editing(qtbot: QtBot) -> None:
    box = discard_question(None)
    qtbot.addWidget(box)
    assert box.text() == "Discard this session?"
    assert box.informativeText() == "What you have entered will not be saved."
    assert box.defaultButton() is box.button(QMessageBox.StandardButton.No)
    assert box.escapeButton() is box.button(QMessageBox.StandardButton.No)
    assert box.defaultButton().text() == "&Keep editing"
    assert box.button(QMessageBox.StandardButton.Yes).text() == "&Discard"


@pytest.mark.parametrize(
    ("key", "discarded"),
    [(Qt.Key.Key_Return, False), (Qt.Key.Key_Escape, False), (Qt.Key.Key_D, True)],
    ids=["Enter keeps editing", "Escape keeps editing", "Alt+D discards"],
)
def test_the_real_question_is_answered_by_keyboard(qtbot: QtBot, key: Qt.Key, discarded: bool) -> None:
    seen: list[str] = []

    def answer() -> None:
        """Runs inside the question's own event loop, once it is showing: staff press the key."""
        box = QApplication.activeModalWidget()
        assert isinstance(box, QMessageBox)
        try:
            seen.append(box.text())
            box.activateWindow()
            qtbot.waitUntil(box.isActiveWindow)  # a mnemonic works in the active window only
            modifier = (
                Qt.KeyboardModifier.AltModifier if key == Qt.Key.Key_D else Qt.KeyboardModifier.NoModifier
            )
            QTest.keyClick(box, key, modifier)
            qtbot.waitUntil(lambda: not box.isVisible())  # a mnemonic clicks after the button's flash
        finally:
            if box.isVisible():  # the key did nothing: close it so the failing test cannot hang
                box.done(0)

    QTimer.singleShot(0, answer)
    assert confirm_discard(None) is discarded
    assert seen == ["Discard this session?"]


# Remembering


def test_the_form_remembers_the_champions_venue_kind_and_length(
    services: Services,
    qtbot: QtBot,
    settings: QSettings,
    tmp_path: Path,
    venue: Venue,
    champion: Champion,
    residents: list[Resident],
) -> None:
    other = services.champions.add(ChampionDraft(name="Tom Baker"))
    dialog = open_form(services, qtbot, settings)
    dialog.set_champion(champion.id)
    dialog.set_champion(other.id)
    choose(combo(dialog, "venue"), str(venue.id))
    choose(combo(dialog, "kind"), SessionKind.DROP_IN)
    combo(dialog, "minutes").setCurrentIndex(combo(dialog, "minutes").findText("45"))
    type_in_search(qtbot, dialog, "R-00001")
    save_by_keyboard(qtbot, dialog)
    assert dialog.saved is not None

    again = open_form(services, qtbot, settings)  # the next session on this machine
    assert set(again.champion_ids()) == {champion.id, other.id}
    assert combo(again, "venue").currentData() == str(venue.id)
    assert combo(again, "kind").currentData() == SessionKind.DROP_IN
    assert again.draft().minutes == 45
    assert again.attendee_texts() == []  # who came is never carried over

    elsewhere = QSettings(str(tmp_path / "another-machine.ini"), QSettings.Format.IniFormat)
    fresh = open_form(services, qtbot, elsewhere)
    assert fresh.champion_ids() == () and combo(fresh, "venue").currentData() is None


def test_a_cancelled_form_remembers_nothing_and_bad_memories_are_ignored(
    services: Services, qtbot: QtBot, settings: QSettings, venue: Venue, champion: Champion
) -> None:
    discard = Discard()
    dialog = open_form(services, qtbot, settings, discard)
    dialog.set_champion(champion.id)
    dialog.reject()
    assert discard.asked == 1 and not dialog.isVisible()
    assert Remembered.read(settings) == Remembered()
    settings.setValue("session_form/champions", f"not-an-id,{champion.id}")
    settings.setValue("session_form/kind", "juggling")
    settings.setValue("session_form/minutes", "lots")
    assert Remembered.read(settings) == Remembered(champion_ids=(champion.id,))


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
            continue  # part of a control (a combo's line, a table's header), named by the control
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
        reached.add(focused())
        QTest.keyClick(focused(), Qt.Key.Key_Tab)
    return [widget.accessibleName() or type(widget).__name__ for widget in wanted - reached]


def test_every_control_is_named_has_its_own_alt_key_and_is_reached_by_tab(
    services: Services, qtbot: QtBot, settings: QSettings, champion: Champion, residents: list[Resident]
) -> None:
    dialog = open_form(services, qtbot, settings)
    type_in_search(qtbot, dialog, "R-00001")
    dialog.set_follow_up(date(2026, 3, 20), "Check the NHS App")  # its fields enabled, so Tab visits them
    assert unnamed_controls(dialog) == []
    keys = mnemonics(dialog)
    assert len(keys) == len(set(keys)) >= 15, keys
    for label in dialog.findChildren(QLabel):
        if "&" in label.text():
            assert label.buddy() is not None, label.text()
    assert unreached_by_tab(qtbot, dialog, dialog.search_box) == []
