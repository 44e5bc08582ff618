"""The device form checks as staff type and saves through the inventory; the status dialog keeps the rules."""

from __future__ import annotations

from datetime import date

import pytest
from PySide6.QtCore import QDate, Qt
from PySide6.QtWidgets import QCheckBox, QComboBox, QDateEdit, QDialog, QLineEdit, QPlainTextEdit
from pytestqt.qtbot import QtBot

from digiknow_desk.app import Services
from digiknow_desk.domain.devices import (
    KIT_SUGGESTIONS,
    Condition,
    DeviceDraft,
    DeviceFilter,
    DeviceStatus,
    DeviceType,
    check_transition,
)
from digiknow_desk.domain.errors import InvalidTransition
from digiknow_desk.ui.device_dialog import DeviceDialog, StatusDialog


def line(dialog: DeviceDialog, name: str) -> QLineEdit:
    widget = dialog.field(name)
    assert isinstance(widget, QLineEdit)
    return widget


def combo(dialog: DeviceDialog, name: str) -> QComboBox:
    widget = dialog.field(name)
    assert isinstance(widget, QComboBox)
    return widget


def choose(box: QComboBox, data: object) -> None:
    index = box.findData(data)
    assert index >= 0, f"{data!r} is not offered"
    box.setCurrentIndex(index)


def date_unknown(dialog: DeviceDialog) -> QCheckBox:
    return next(box for box in dialog.findChildren(QCheckBox) if box.text() == "Date &not known")


def wait_until_checked(qtbot: QtBot, dialog: DeviceDialog) -> None:
    with qtbot.waitSignal(dialog.problems_checked, timeout=2000):
        pass


def test_a_new_device_gets_the_next_tag_and_it_follows_the_type(services: Services, qtbot: QtBot) -> None:
    services.inventory.add(DeviceDraft(tag="LAP-0041", device_type=DeviceType.LAPTOP))
    dialog = DeviceDialog(services)
    qtbot.addWidget(dialog)
    assert line(dialog, "tag").text() == "TAB-0001"

    choose(combo(dialog, "device_type"), DeviceType.LAPTOP)

    assert line(dialog, "tag").text() == "LAP-0042"
    assert dialog.kit_items() == KIT_SUGGESTIONS[DeviceType.LAPTOP]


def test_a_tag_typed_by_hand_stays_when_the_type_changes(services: Services, qtbot: QtBot) -> None:
    dialog = DeviceDialog(services)
    qtbot.addWidget(dialog)
    tag = line(dialog, "tag")
    tag.clear()
    qtbot.keyClicks(tag, "OLD-17")

    choose(combo(dialog, "device_type"), DeviceType.PHONE)

    assert tag.text() == "OLD-17"


def test_a_scanned_blank_tag_is_prefilled(services: Services, qtbot: QtBot) -> None:
    dialog = DeviceDialog(services, tag="dk-00012")
    qtbot.addWidget(dialog)

    choose(combo(dialog, "device_type"), DeviceType.MIFI)

    assert line(dialog, "tag").text() == "DK-00012"


def test_adding_a_device_by_driving_the_form(services: Services, qtbot: QtBot) -> None:
    services.demo.fill(devices=0)
    venue = services.venues.venues()[2]
    dialog = DeviceDialog(services)
    qtbot.addWidget(dialog)
    choose(combo(dialog, "device_type"), DeviceType.CHROMEBOOK)
    qtbot.keyClicks(line(dialog, "make"), "Acer")
    qtbot.keyClicks(line(dialog, "model"), "Chromebook 314")
    qtbot.keyClicks(line(dialog, "serial"), "NXHKDEK00112")
    choose(combo(dialog, "condition"), Condition.FAIR)
    choose(combo(dialog, "home_venue_id"), str(venue.id))
    acquired = dialog.field("acquired_on")
    assert isinstance(acquired, QDateEdit)
    assert not acquired.isEnabled()  # "date not known" until staff say otherwise
    date_unknown(dialog).setChecked(False)
    acquired.setDate(QDate(2025, 9, 1))
    notes = dialog.field("notes")
    assert isinstance(notes, QPlainTextEdit)
    notes.setPlainText("Donated by Stockport Homes")
    dialog.add_kit_item("Mouse")
    qtbot.waitUntil(dialog.save_button.isEnabled, timeout=2000)

    qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)

    assert dialog.result() == QDialog.DialogCode.Accepted
    saved = services.inventory.get("CHR-0001")
    assert dialog.saved == saved
    assert (saved.make, saved.model, saved.serial) == ("Acer", "Chromebook 314", "NXHKDEK00112")
    assert saved.condition == Condition.FAIR
    assert saved.home_venue_id == saved.current_venue_id == venue.id
    assert saved.acquired_on == date(2025, 9, 1)
    assert saved.notes == "Donated by Stockport Homes"
    assert saved.kit == ("Charger", "Bag", "Mouse")
    assert services.inventory.history("CHR-0001")[0].to_status == DeviceStatus.AVAILABLE


def test_enter_in_the_new_kit_item_box_adds_the_item_and_does_not_save(
    services: Services, qtbot: QtBot
) -> None:
    dialog = DeviceDialog(services)
    qtbot.addWidget(dialog)
    dialog.show()
    box = next(edit for edit in dialog.findChildren(QLineEdit) if edit.accessibleName() == "New kit item")
    qtbot.keyClicks(box, "Stylus")

    qtbot.keyClick(box, Qt.Key.Key_Return)

    assert "Stylus" in dialog.kit_items()
    assert dialog.isVisible() and dialog.saved is None
    assert services.inventory.count(DeviceFilter()) == 0


def test_a_duplicate_tag_or_serial_is_shown_under_its_field_and_save_is_disabled(
    services: Services, qtbot: QtBot
) -> None:
    services.inventory.add(DeviceDraft(tag="TAB-0042", device_type=DeviceType.TABLET, serial="SN-1"))
    dialog = DeviceDialog(services)
    qtbot.addWidget(dialog)
    tag = line(dialog, "tag")
    tag.clear()
    qtbot.keyClicks(tag, "tab-0042")
    qtbot.keyClicks(line(dialog, "serial"), "SN-1")

    assert not dialog.save_button.isEnabled()  # at once, before the check has run
    wait_until_checked(qtbot, dialog)

    assert dialog.problem_text("tag") == "Another device already has the tag TAB-0042."
    assert dialog.problem_text("serial") == "The serial SN-1 is already recorded on TAB-0042."
    assert not dialog.save_button.isEnabled()
    assert tag.accessibleDescription() == "Another device already has the tag TAB-0042."

    dialog.save()  # Enter before the check: still refused

    assert dialog.saved is None
    assert services.inventory.count(DeviceFilter()) == 1

    tag.clear()
    qtbot.keyClicks(tag, "TAB-0043")
    line(dialog, "serial").clear()
    qtbot.keyClicks(line(dialog, "serial"), "SN-2")
    qtbot.waitUntil(dialog.save_button.isEnabled, timeout=2000)
    assert dialog.problem_text("tag") == dialog.problem_text("serial") == ""


def test_a_future_acquisition_date_is_a_problem_unless_the_date_is_not_known(
    services: Services, qtbot: QtBot
) -> None:
    dialog = DeviceDialog(services)
    qtbot.addWidget(dialog)
    acquired = dialog.field("acquired_on")
    assert isinstance(acquired, QDateEdit)
    unknown = date_unknown(dialog)
    unknown.setChecked(False)
    acquired.setDate(QDate(2030, 1, 1))  # the test clock says 14 March 2026
    wait_until_checked(qtbot, dialog)
    assert "in the future" in dialog.problem_text("acquired_on")
    assert not dialog.save_button.isEnabled()

    unknown.setChecked(True)
    wait_until_checked(qtbot, dialog)

    assert dialog.problem_text("acquired_on") == ""
    assert dialog.save_button.isEnabled()
    assert dialog.draft().acquired_on is None


def test_editing_a_device_keeps_its_tag_and_saves_changes(services: Services, qtbot: QtBot) -> None:
    device = services.inventory.add(
        DeviceDraft(tag="PHN-0003", device_type=DeviceType.PHONE, make="Nokia", kit=("Charger", "Sim tool"))
    )
    dialog = DeviceDialog(services, device)
    qtbot.addWidget(dialog)
    assert dialog.windowTitle() == "Edit device PHN-0003"
    assert dialog.kit_items() == ("Charger", "Sim tool")
    wait_until_checked_now = dialog.check_now()
    assert wait_until_checked_now == {}  # its own tag is not a clash

    qtbot.keyClicks(line(dialog, "model"), "G21")
    qtbot.waitUntil(dialog.save_button.isEnabled, timeout=2000)
    dialog.save()

    saved = services.inventory.get("PHN-0003")
    assert dialog.saved == saved
    assert saved.id == device.id
    assert saved.model == "G21"
    assert saved.kit == ("Charger", "Sim tool")


def test_status_dialog_offers_only_allowed_moves_and_never_on_loan(services: Services, qtbot: QtBot) -> None:
    device = services.inventory.add(DeviceDraft(tag="TAB-0001", device_type=DeviceType.TABLET))
    dialog = StatusDialog(services, device)
    qtbot.addWidget(dialog)

    assert dialog.statuses() == [DeviceStatus.IN_REPAIR, DeviceStatus.QUARANTINED, DeviceStatus.RETIRED]
    assert not dialog.save_button.isEnabled()  # the reason is required

    dialog.set_values(DeviceStatus.IN_REPAIR, "   ")
    assert not dialog.save_button.isEnabled()


def test_status_dialog_records_a_valid_move_in_the_history(services: Services, qtbot: QtBot) -> None:
    device = services.inventory.add(DeviceDraft(tag="TAB-0001", device_type=DeviceType.TABLET))
    dialog = StatusDialog(services, device)
    qtbot.addWidget(dialog)
    dialog.set_values(DeviceStatus.IN_REPAIR, "Screen cracked, sent for repair")

    qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)

    assert dialog.result() == QDialog.DialogCode.Accepted
    assert dialog.saved is not None and dialog.saved.status == DeviceStatus.IN_REPAIR
    last = services.inventory.history("TAB-0001")[-1]
    assert (last.from_status, last.to_status) == (DeviceStatus.AVAILABLE, DeviceStatus.IN_REPAIR)
    assert (last.by, last.reason) == ("Test Staff", "Screen cracked, sent for repair")


def test_status_dialog_shows_the_rules_refusal_as_it_is(services: Services, qtbot: QtBot) -> None:
    device = services.inventory.add(DeviceDraft(tag="TAB-0001", device_type=DeviceType.TABLET))
    dialog = StatusDialog(services, device)
    qtbot.addWidget(dialog)
    # Meanwhile another desk retires the device, so the choice made here is no longer allowed.
    services.inventory.change_status("TAB-0001", DeviceStatus.RETIRED, "Beyond repair")
    dialog.set_values(DeviceStatus.IN_REPAIR, "Screen cracked")

    dialog.save()

    with pytest.raises(InvalidTransition) as refusal:
        check_transition(DeviceStatus.RETIRED, DeviceStatus.IN_REPAIR)
    assert dialog.problem == str(refusal.value)
    assert dialog.saved is None
    assert dialog.result() != QDialog.DialogCode.Accepted
    assert [change.to_status for change in services.inventory.history("TAB-0001")] == [
        DeviceStatus.AVAILABLE,
        DeviceStatus.RETIRED,
    ]


def test_a_retired_device_cannot_change_status_here(services: Services, qtbot: QtBot) -> None:
    services.inventory.add(DeviceDraft(tag="TAB-0001", device_type=DeviceType.TABLET))
    device = services.inventory.change_status("TAB-0001", DeviceStatus.RETIRED, "Beyond repair")
    dialog = StatusDialog(services, device)
    qtbot.addWidget(dialog)

    assert dialog.statuses() == []
    assert not dialog.save_button.isEnabled()
    assert "retired" in dialog.problem
