"""The resident form suggests the ward from the postcode when a postcode-to-ward table is loaded, and
never overrides a ward staff chose; its optional, sensitive questions include the two priority groups of
the monthly report (young people not in work, education or training, and care leavers)."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QComboBox, QGroupBox, QLabel, QLineEdit, QWidget
from pytestqt.qtbot import QtBot

from digiknow_desk.app import Services
from digiknow_desk.domain.residents import NOT_IN_WORK_FOR_THE_YOUNG, AgeBand, Answer, ResidentDraft
from digiknow_desk.domain.staff import Role, StaffMember
from digiknow_desk.ui.resident_dialog import SENSITIVE_TITLE, WARD_SUGGESTED, ResidentDialog

REDDISH_NORTH = "E05000797"
MARPLE_NORTH = "E05000794"
EDGELEY = "E05000788"


@pytest.fixture
def table(services: Services, tmp_path: Path) -> None:
    """A postcode-to-ward table with two postcodes."""
    source = tmp_path / "postcodes.csv"
    source.write_text(f"postcode,ward\nSK5 6AB,{REDDISH_NORTH}\nSK6 6AA,{MARPLE_NORTH}\n")
    services.postcodes.import_table(source)


def open_form(services: Services, qtbot: QtBot, **kwargs: object) -> ResidentDialog:
    dialog = ResidentDialog(services, **kwargs)  # type: ignore[arg-type]
    qtbot.addWidget(dialog)
    return dialog


def type_postcode(qtbot: QtBot, dialog: ResidentDialog, text: str) -> None:
    """Type a postcode as staff do, then Tab on (which finishes the edit and checks the form at once)."""
    postcode = dialog.field("postcode")
    assert isinstance(postcode, QLineEdit)
    postcode.selectAll()
    qtbot.keyClicks(postcode, text)
    postcode.editingFinished.emit()


def ward(dialog: ResidentDialog) -> QComboBox:
    combo = dialog.field("ward_code")
    assert isinstance(combo, QComboBox)
    return combo


@pytest.mark.usefixtures("table")
def test_an_empty_ward_is_suggested_from_the_postcode(services: Services, qtbot: QtBot) -> None:
    dialog = open_form(services, qtbot, name="Margaret Holt")
    assert ward(dialog).currentData() is None
    assert dialog.ward_note == ""

    type_postcode(qtbot, dialog, "sk5 6ab")
    assert ward(dialog).currentData() == REDDISH_NORTH
    assert dialog.ward_note == WARD_SUGGESTED == "Ward suggested from the postcode."
    assert WARD_SUGGESTED in ward(dialog).accessibleDescription()  # heard with the field, not only seen
    assert dialog.draft().ward_code == REDDISH_NORTH

    # A corrected postcode moves the suggestion with it; a postcode the table lacks takes it back.
    type_postcode(qtbot, dialog, "SK6 6AA")
    assert ward(dialog).currentData() == MARPLE_NORTH
    assert dialog.ward_note == WARD_SUGGESTED
    type_postcode(qtbot, dialog, "SK1 3XE")
    assert ward(dialog).currentData() is None
    assert dialog.ward_note == ""
    assert ward(dialog).accessibleDescription() == ""


@pytest.mark.usefixtures("table")
def test_the_suggestion_also_comes_as_staff_type(services: Services, qtbot: QtBot) -> None:
    dialog = open_form(services, qtbot, name="Margaret Holt")
    postcode = dialog.field("postcode")
    assert isinstance(postcode, QLineEdit)
    with qtbot.waitSignal(dialog.checked, timeout=2_000):  # the check a moment after typing stops
        qtbot.keyClicks(postcode, "SK5 6AB")
    assert ward(dialog).currentData() == REDDISH_NORTH


@pytest.mark.usefixtures("table")
def test_a_ward_staff_picked_is_not_overridden(services: Services, qtbot: QtBot) -> None:
    dialog = open_form(services, qtbot, name="Margaret Holt")
    ward(dialog).setCurrentIndex(ward(dialog).findData(EDGELEY))
    type_postcode(qtbot, dialog, "SK5 6AB")
    assert ward(dialog).currentData() == EDGELEY
    assert dialog.ward_note == "The postcode table says SK5 6AB is in Reddish North."

    # Staff pick the table's ward after all: nothing left to say.
    ward(dialog).setCurrentIndex(ward(dialog).findData(REDDISH_NORTH))
    assert dialog.ward_note == ""
    # A suggestion staff then change is theirs: a new postcode does not move it.
    type_postcode(qtbot, dialog, "SK6 6AA")
    assert ward(dialog).currentData() == REDDISH_NORTH
    assert dialog.ward_note == "The postcode table says SK6 6AA is in Marple North."


@pytest.mark.usefixtures("table")
def test_editing_a_resident_keeps_their_ward(services: Services, qtbot: QtBot) -> None:
    resident = services.residents.add(
        ResidentDraft(name="Tom Okafor", phone="0161 496 0102", postcode="SK5 6AB", ward_code=EDGELEY)
    )
    dialog = open_form(services, qtbot, resident=resident)
    assert (ward(dialog).currentData(), dialog.ward_note) == (EDGELEY, "")  # opening looks nothing up
    type_postcode(qtbot, dialog, "SK6 6AA")
    assert ward(dialog).currentData() == EDGELEY
    assert dialog.ward_note == "The postcode table says SK6 6AA is in Marple North."


def test_without_a_table_nothing_is_suggested(services: Services, qtbot: QtBot) -> None:
    dialog = open_form(services, qtbot, name="Margaret Holt")
    type_postcode(qtbot, dialog, "SK5 6AB")
    assert ward(dialog).currentData() is None
    assert dialog.ward_note == ""


# The priority-group questions

NOT_IN_WORK = "not_in_work_or_education"
PRIORITY_QUESTIONS = (NOT_IN_WORK, "care_leaver")


def combo(dialog: ResidentDialog, name: str) -> QComboBox:
    widget = dialog.field(name)
    assert isinstance(widget, QComboBox)
    return widget


def choose(dialog: ResidentDialog, name: str, value: object) -> None:
    box = combo(dialog, name)
    box.setCurrentIndex(box.findData(value))


def test_the_priority_questions_sit_with_the_sensitive_ones_and_start_not_asked(
    services: Services, qtbot: QtBot
) -> None:
    dialog = open_form(services, qtbot, name="Liam Kelly")
    sensitive = next(box for box in dialog.findChildren(QGroupBox) if box.title() == SENSITIVE_TITLE)
    inside = set(sensitive.findChildren(QWidget))
    buddies = {label.buddy(): label.text() for label in dialog.findChildren(QLabel) if label.buddy()}
    for name, caption, spoken in (
        (
            NOT_IN_WORK,
            "Not in work, ed&ucation\nor training (under 25s):",
            "Not in work, education or training",
        ),
        ("care_leaver", "Care lea&ver:", "Care leaver (optional)"),
    ):
        box = combo(dialog, name)
        assert box in inside
        assert [box.itemText(row) for row in range(box.count())] == [
            "Not asked",
            "Yes",
            "No",
            "Prefer not to say",
        ]
        assert box.currentText() == "Not asked"
        assert buddies[box] == caption  # Alt and the underlined letter reach it
        assert box.accessibleName().startswith(spoken) and "optional" in box.accessibleName()
    assert "under 25" in combo(dialog, NOT_IN_WORK).accessibleName()
    draft = dialog.draft()
    assert (draft.not_in_work_or_education, draft.care_leaver) == (None, None)


def test_tab_goes_from_benefits_through_the_priority_questions(services: Services, qtbot: QtBot) -> None:
    dialog = open_form(services, qtbot, name="Liam Kelly")
    dialog.show()
    qtbot.waitExposed(dialog)
    dialog.activateWindow()
    qtbot.waitUntil(dialog.isActiveWindow)
    combo(dialog, "on_benefits").setFocus()
    reached = []
    for _ in range(2):
        QTest.keyClick(dialog.focusWidget(), Qt.Key.Key_Tab)
        reached.append(dialog.focusWidget())
    assert reached == [dialog.field(NOT_IN_WORK), dialog.field("care_leaver")]


def test_a_young_persons_answers_are_saved_and_shown_again_when_edited(
    services: Services, qtbot: QtBot
) -> None:
    dialog = open_form(services, qtbot, name="Liam Kelly")
    line = dialog.field("phone")
    assert isinstance(line, QLineEdit)
    line.setText("07700 900123")
    choose(dialog, "age_band", AgeBand.AGE_18_24)
    choose(dialog, NOT_IN_WORK, Answer.YES)
    choose(dialog, "care_leaver", Answer.PREFER_NOT)
    dialog.save()
    assert dialog.saved is not None
    saved = services.residents.get(dialog.saved.reference)
    assert (saved.not_in_work_or_education, saved.care_leaver) == (Answer.YES, Answer.PREFER_NOT)

    edit = open_form(services, qtbot, resident=saved)
    assert (combo(edit, NOT_IN_WORK).currentText(), combo(edit, "care_leaver").currentText()) == (
        "Yes",
        "Prefer not to say",
    )
    choose(edit, NOT_IN_WORK, Answer.NO)
    choose(edit, "care_leaver", None)  # back to "Not asked"
    edit.save()
    again = services.residents.get(saved.reference)
    assert (again.not_in_work_or_education, again.care_leaver) == (Answer.NO, None)


@pytest.mark.parametrize("band", [AgeBand.AGE_25_49, AgeBand.AGE_75_PLUS, AgeBand.NOT_SAID])
def test_not_in_work_for_someone_older_says_what_to_do_and_is_not_saved(
    services: Services, qtbot: QtBot, band: AgeBand
) -> None:
    resident = services.residents.add(
        ResidentDraft(
            name="Liam Kelly",
            phone="07700 900123",
            age_band=AgeBand.AGE_18_24,
            not_in_work_or_education=Answer.YES,
        )
    )
    dialog = open_form(services, qtbot, resident=resident)
    dialog.show()
    qtbot.waitExposed(dialog)
    assert dialog.problem_text(NOT_IN_WORK) == ""
    with qtbot.waitSignal(dialog.checked, timeout=2_000):
        choose(dialog, "age_band", band)  # a birthday passed, or the band was wrong
    assert dialog.problem_text(NOT_IN_WORK) == NOT_IN_WORK_FOR_THE_YOUNG
    assert NOT_IN_WORK_FOR_THE_YOUNG in combo(dialog, NOT_IN_WORK).accessibleDescription()
    dialog.save()
    assert dialog.saved is None and dialog.result() == 0
    assert services.residents.get(resident.reference) == resident
    # The whole message is on show: the form grew to fit it.
    problem = next(
        label for label in dialog.findChildren(QLabel) if NOT_IN_WORK_FOR_THE_YOUNG in label.text()
    )
    assert problem.height() >= problem.heightForWidth(problem.width())

    choose(dialog, NOT_IN_WORK, None)
    dialog.save()
    assert dialog.saved is not None
    assert (dialog.saved.age_band, dialog.saved.not_in_work_or_education) == (band, None)


def test_roles_that_may_not_see_the_equality_answers_are_not_shown_the_questions(
    services: Services, qtbot: QtBot
) -> None:
    shown = open_form(services, qtbot)
    shown.show()
    assert shown.field("disability").isVisible()
    services.desk.staff = StaffMember("sam", "Sam Jones", Role.DESK)
    withheld = open_form(services, qtbot)
    withheld.show()
    assert not withheld.field("disability").isVisible()
    notes = [
        label.text()
        for label in withheld.findChildren(QLabel)
        if label.accessibleName() == "Sensitive questions withheld"
    ]
    assert len(notes) == 1 and "only coordinators and administrators" in notes[0]
