"""The skills check form, driven by keyboard as a champion at a drop-in does: Tab between areas, the arrow
keys between the three answers, Space to pick; started from the last check; refusals in words."""

from __future__ import annotations

from datetime import date, timedelta
from typing import TYPE_CHECKING

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QAbstractButton, QApplication, QLabel, QRadioButton, QWidget
from pytestqt.qtbot import QtBot

from digiknow_desk.app import Services
from digiknow_desk.domain.inclusion import InclusionStatus
from digiknow_desk.domain.residents import ConsentPurpose, Resident, ResidentDraft
from digiknow_desk.domain.skills import SkillArea, SkillLevel, SkillsCheckDraft
from digiknow_desk.ui.desk_page import to_qdate
from digiknow_desk.ui.skills_dialog import SkillsDialog

if TYPE_CHECKING:
    from tests.conftest import FakeClock

ALL_CONSENTS = frozenset(ConsentPurpose)  # support recorded too: sessions and skills checks need it

ALONE, HELP, NOT_YET = SkillLevel.ALONE, SkillLevel.WITH_HELP, SkillLevel.NOT_YET
# How many Right presses reach each answer from the first ('Alone').
STEPS = {ALONE: 0, HELP: 1, NOT_YET: 2}


@pytest.fixture
def maureen(services: Services) -> Resident:
    return services.residents.add(
        ResidentDraft(name="Maureen Clarke", phone="0161 474 4444", consents=ALL_CONSENTS)
    )


def today(clock: FakeClock) -> date:
    return clock.now.astimezone().date()


def open_form(services: Services, resident: Resident, qtbot: QtBot) -> SkillsDialog:
    """The form on screen and active, so keys go where the focus is."""
    dialog = SkillsDialog(services, resident)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    dialog.activateWindow()
    qtbot.waitUntil(dialog.isActiveWindow)
    return dialog


def focused() -> QWidget:
    widget = QApplication.focusWidget()
    assert widget is not None, "nothing has the keyboard focus"
    return widget


def press(key: Qt.Key, modifier: Qt.KeyboardModifier = Qt.KeyboardModifier.NoModifier) -> None:
    QTest.keyClick(focused(), key, modifier)


def test_a_baseline_check_recorded_by_keyboard_only(
    services: Services, maureen: Resident, qtbot: QtBot, clock: FakeClock
) -> None:
    dialog = open_form(services, maureen, qtbot)
    assert dialog.started_from.startswith("This is the resident's first check: their baseline.")
    assert focused() is dialog.date_edit
    wanted = {
        SkillArea.FOUNDATION: ALONE,
        SkillArea.COMMUNICATING: ALONE,
        SkillArea.HANDLING_INFORMATION: HELP,
        SkillArea.TRANSACTING: NOT_YET,
        SkillArea.PROBLEM_SOLVING: HELP,
        SkillArea.BEING_SAFE_LEGAL: NOT_YET,
    }
    for area, level in wanted.items():
        press(Qt.Key.Key_Tab)  # one stop per area, on its first answer while none is chosen
        assert focused().accessibleName() == f"{area.label}: can do alone"
        for _step in range(STEPS[level]):
            press(Qt.Key.Key_Right)
        assert focused().accessibleName() == f"{area.label}: {level.label.lower()}"
        press(Qt.Key.Key_Space)
    assert dialog.levels() == wanted
    press(Qt.Key.Key_Tab)
    assert focused().accessibleName() == "Has a device of their own"
    press(Qt.Key.Key_Space)
    press(Qt.Key.Key_Tab)
    assert focused().accessibleName() == "Has an internet connection of their own"
    press(Qt.Key.Key_Tab)
    QTest.keyClicks(focused(), "Wants help with the NHS App next")
    with qtbot.waitSignal(dialog.accepted, timeout=2000):
        press(Qt.Key.Key_Return)

    assert dialog.saved is not None and dialog.saved.baseline
    [check] = services.skills.checks_of(maureen.reference)
    assert check.levels == wanted
    assert (check.checked_on, check.own_device, check.own_connection) == (today(clock), True, False)
    assert check.note == "Wants help with the NHS App next"
    assert check.checked_by == "Test Staff"
    # Foundation and Communicating alone, but no connection: supported, not yet included.
    assert services.residents.get(maureen.reference).inclusion_status is InclusionStatus.SUPPORTED


def test_a_review_starts_from_the_last_check_and_changes_only_what_moved(
    services: Services, maureen: Resident, qtbot: QtBot, clock: FakeClock
) -> None:
    first = dict.fromkeys(SkillArea, NOT_YET) | {SkillArea.FOUNDATION: HELP}
    services.skills.record(
        maureen.reference, SkillsCheckDraft(first, date(2026, 2, 3), own_device=True, note="Baseline")
    )
    dialog = open_form(services, maureen, qtbot)
    assert dialog.started_from == (
        "Started from the check of Tue 3 Feb (by Test Staff): change only what has moved on."
    )
    assert dialog.levels() == first
    assert dialog.draft().own_device and not dialog.draft().own_connection

    press(Qt.Key.Key_Tab)  # Tab lands on the answer already chosen for Foundation
    assert focused().accessibleName() == "Foundation skills: can do with help"
    press(Qt.Key.Key_Left)  # the arrow moves to 'alone' and picks it
    assert focused().accessibleName() == "Foundation skills: can do alone"
    press(Qt.Key.Key_Tab)
    assert focused().accessibleName() == "Communicating: not yet"
    press(Qt.Key.Key_Left)
    press(Qt.Key.Key_Left)
    assert dialog.choice(SkillArea.COMMUNICATING, ALONE).isChecked()
    press(Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)  # Ctrl+Enter saves too

    assert dialog.saved is not None and not dialog.saved.baseline
    checks = services.skills.checks_of(maureen.reference)
    assert [check.checked_on for check in checks] == [date(2026, 2, 3), today(clock)]
    assert checks[1].levels == first | {SkillArea.FOUNDATION: ALONE, SkillArea.COMMUNICATING: ALONE}
    assert checks[1].own_device and not checks[1].own_connection


def test_a_check_in_the_future_is_refused_in_words(
    services: Services, maureen: Resident, qtbot: QtBot, clock: FakeClock
) -> None:
    dialog = open_form(services, maureen, qtbot)
    for area in SkillArea:
        dialog.choice(area, HELP).setChecked(True)
    dialog.date_edit.setDate(to_qdate(today(clock) + timedelta(days=1)))
    dialog.choice(SkillArea.TRANSACTING, HELP).setFocus()
    press(Qt.Key.Key_Return)

    assert dialog.isVisible() and dialog.saved is None
    assert dialog.problem_text() == "The check cannot be in the future: check the date."
    assert dialog.date_edit.accessibleDescription() == "The check cannot be in the future: check the date."
    assert focused() is dialog.date_edit
    assert services.skills.checks_of(maureen.reference) == []

    dialog.date_edit.setDate(to_qdate(today(clock)))
    with qtbot.waitSignal(dialog.accepted, timeout=2000):
        press(Qt.Key.Key_Return)
    assert len(services.skills.checks_of(maureen.reference)) == 1
    assert dialog.problem_text() == ""


def test_an_area_left_unanswered_is_named_and_gets_the_focus(
    services: Services, maureen: Resident, qtbot: QtBot
) -> None:
    dialog = open_form(services, maureen, qtbot)
    for area in SkillArea:
        if area not in (SkillArea.TRANSACTING, SkillArea.PROBLEM_SOLVING):
            dialog.choice(area, ALONE).setChecked(True)
    press(Qt.Key.Key_Return)
    assert dialog.saved is None
    assert dialog.problem_text() == "Record a level for every area: Transacting, Problem solving."
    assert focused() is dialog.choice(SkillArea.TRANSACTING, ALONE)
    assert services.skills.checks_of(maureen.reference) == []
    # The form grew for the problem: every prompt still has the lines it needs.
    qtbot.waitUntil(
        lambda: all(
            label.height() >= label.heightForWidth(label.width())
            for label in dialog.findChildren(QLabel)
            if label.wordWrap() and label.isVisible()
        )
    )


def test_escape_cancels_and_saves_nothing(services: Services, maureen: Resident, qtbot: QtBot) -> None:
    dialog = open_form(services, maureen, qtbot)
    for area in SkillArea:
        dialog.choice(area, ALONE).setChecked(True)
    with qtbot.waitSignal(dialog.rejected, timeout=2000):
        press(Qt.Key.Key_Escape)
    assert dialog.saved is None
    assert services.skills.checks_of(maureen.reference) == []


def test_every_control_is_named_the_alt_keys_are_unique_and_tab_reaches_each_area(
    services: Services, maureen: Resident, qtbot: QtBot
) -> None:
    dialog = open_form(services, maureen, qtbot)
    radios = dialog.findChildren(QRadioButton)
    assert len(radios) == 18
    assert {radio.accessibleName() for radio in radios} == {
        f"{area.label}: {level.label.lower()}" for area in SkillArea for level in SkillLevel
    }
    assert all("&" not in radio.text() for radio in radios)  # the three words, no Alt keys among 18
    assert all(button.accessibleName() for button in dialog.findChildren(QAbstractButton))
    hints = [label.text() for label in dialog.findChildren(QLabel) if label.wordWrap()]
    assert all(area.example_tasks in hints for area in SkillArea)
    texts = [w.text() for w in dialog.findChildren(QWidget) if isinstance(w, QLabel | QAbstractButton)]
    letters = sorted(text[text.index("&") + 1].lower() for text in texts if "&" in text.replace("&&", ""))
    assert letters == ["d", "h", "i", "n", "s"]
    for label in dialog.findChildren(QLabel):
        if "&" in label.text():
            assert label.buddy() is not None, label.text()

    order = []
    dialog.date_edit.setFocus()
    for _ in range(11):
        order.append(focused().accessibleName())
        press(Qt.Key.Key_Tab)
    assert order == [
        "Date of the check",
        *(f"{area.label}: can do alone" for area in SkillArea),
        "Has a device of their own",
        "Has an internet connection of their own",
        "Note",
        "Save the skills check",
    ]
