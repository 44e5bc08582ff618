"""The resident form suggests the ward from the postcode when a postcode-to-ward table is loaded, and
never overrides a ward staff chose."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtWidgets import QComboBox, QLineEdit
from pytestqt.qtbot import QtBot

from digiknow_desk.app import Services
from digiknow_desk.domain.residents import ResidentDraft
from digiknow_desk.ui.resident_dialog import WARD_SUGGESTED, ResidentDialog

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
