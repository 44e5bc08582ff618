"""The inventory page: search as you type, filters, showing a device, changes through dialogs, CSV
import and export, and an accessible name for every control on the page and its dialogs."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QModelIndex
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QAbstractSpinBox,
    QComboBox,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPlainTextEdit,
    QTextEdit,
    QWidget,
)
from pytestqt.qtbot import QtBot

from digiknow_desk.app import Services
from digiknow_desk.domain.devices import Device, DeviceDraft, DeviceFilter, DeviceStatus, DeviceType
from digiknow_desk.ui.device_dialog import DeviceDialog, StatusDialog
from digiknow_desk.ui.device_table_model import PAGE_SIZE
from digiknow_desk.ui.import_dialog import ImportDialog
from digiknow_desk.ui.inventory_page import InventoryDialogs, InventoryPage
from digiknow_desk.ui.labels_dialog import LabelsDialog
from digiknow_desk.ui.tasks import TaskRunner


@pytest.fixture
def tasks() -> Iterator[TaskRunner]:
    runner = TaskRunner()
    yield runner
    runner.shutdown()


def make_page(
    services: Services, tasks: TaskRunner, qtbot: QtBot, dialogs: InventoryDialogs | None = None
) -> InventoryPage:
    page = InventoryPage(services, tasks, label_stock="L7163", dialogs=dialogs)
    qtbot.addWidget(page)
    page.resize(1280, 800)
    return page


def shown_tags(page: InventoryPage) -> list[str]:
    return [page.model.device(row).tag for row in range(page.model.rowCount())]


def choose(box: QComboBox, text: str) -> None:
    index = box.findText(text)
    assert index >= 0, f"{text!r} is not offered"
    box.setCurrentIndex(index)


# Finding devices


def test_the_page_lists_devices_in_tag_order_with_the_count(
    services: Services, tasks: TaskRunner, qtbot: QtBot
) -> None:
    services.demo.fill(devices=302)
    page = make_page(services, tasks, qtbot)

    assert page.count_text == "302 devices"
    assert page.model.total == 302
    assert page.model.rowCount() == PAGE_SIZE < 302  # one page; the rest comes as the table scrolls
    assert shown_tags(page) == sorted(shown_tags(page))


def test_typing_in_the_search_box_filters_after_a_short_pause(
    services: Services, tasks: TaskRunner, qtbot: QtBot
) -> None:
    services.demo.fill(devices=80)
    page = make_page(services, tasks, qtbot)
    everything = page.model.total
    ipads = services.inventory.count(DeviceFilter(text="ipad"))
    assert 0 < ipads < everything

    qtbot.keyClicks(page.search_box, "iPad")
    assert page.model.total == everything  # debounced: not a query per keystroke

    qtbot.waitUntil(lambda: page.model.total == ipads, timeout=2000)
    assert page.count_text == f"{ipads} devices"
    assert all("iPad" in page.model.device(row).model for row in range(page.model.rowCount()))


def test_a_serial_typed_finds_its_device(services: Services, tasks: TaskRunner, qtbot: QtBot) -> None:
    services.demo.fill(devices=40)
    device = services.inventory.search(DeviceFilter(), limit=1, offset=17)[0]
    page = make_page(services, tasks, qtbot)

    qtbot.keyClicks(page.search_box, device.serial.lower())
    qtbot.waitUntil(lambda: page.model.total == 1, timeout=2000)

    assert shown_tags(page) == [device.tag]
    assert page.count_text == "1 device"


def test_the_filters_narrow_by_type_status_and_venue(
    services: Services, tasks: TaskRunner, qtbot: QtBot
) -> None:
    services.demo.fill(devices=120)
    page = make_page(services, tasks, qtbot)
    venue = services.venues.venues()[0]

    choose(page.type_filter, "Laptop")
    laptops = services.inventory.count(DeviceFilter(device_type=DeviceType.LAPTOP))
    assert page.model.total == laptops > 0
    assert {page.model.device(row).device_type for row in range(page.model.rowCount())} == {DeviceType.LAPTOP}

    choose(page.status_filter, "Available")
    expected = DeviceFilter(device_type=DeviceType.LAPTOP, status=DeviceStatus.AVAILABLE)
    assert page.model.total == services.inventory.count(expected) > 0
    assert page.device_filter() == expected

    choose(page.venue_filter, venue.name)
    expected = DeviceFilter(device_type=DeviceType.LAPTOP, status=DeviceStatus.AVAILABLE, venue_id=venue.id)
    assert page.model.total == services.inventory.count(expected)
    for row in range(page.model.rowCount()):
        assert venue.id in (page.model.device(row).current_venue_id, page.model.device(row).home_venue_id)

    choose(page.type_filter, "Any type")
    choose(page.status_filter, "Any status")
    choose(page.venue_filter, "Any venue")
    assert page.model.total == 120


def test_pressing_enter_in_the_search_box_searches_at_once_and_selects_the_first_row(
    services: Services, tasks: TaskRunner, qtbot: QtBot
) -> None:
    services.demo.fill(devices=40)
    page = make_page(services, tasks, qtbot)
    with qtbot.waitActive(page):
        page.show()
        page.activateWindow()
    page.search_box.setText("tab")

    qtbot.keyClick(page.search_box, "\r")

    assert page.model.total == services.inventory.count(DeviceFilter(text="tab"))
    assert page.current_device() == page.model.device(0)
    assert page.table.hasFocus()


# Showing one device


def test_show_device_clears_the_filters_selects_the_row_and_shows_details_and_history(
    services: Services, tasks: TaskRunner, qtbot: QtBot
) -> None:
    services.demo.fill(devices=300)
    later = services.inventory.search(DeviceFilter(), limit=60, offset=240)  # beyond the first page
    target = next(device for device in later if device.status != DeviceStatus.RETIRED)
    services.inventory.change_status(target.tag, DeviceStatus.RETIRED, "Beyond economic repair")
    page = make_page(services, tasks, qtbot)
    choose(page.type_filter, "Phone" if target.device_type != DeviceType.PHONE else "Laptop")

    assert page.show_device(target.tag.lower()) is True

    assert page.type_filter.currentText() == "Any type"
    assert page.search_box.text() == target.tag
    device = page.current_device()
    assert device is not None and device.tag == target.tag
    assert page.shown_tag == target.tag
    assert page.detail_text("tag") == target.tag
    assert page.detail_text("serial") == target.serial
    assert page.detail_text("status") == "Retired"
    history = page.history_model
    assert history.rowCount() == len(services.inventory.history(target.tag))
    assert history.data(history.index(0, history.REASON)) == "Beyond economic repair"


def test_show_device_says_false_for_an_unknown_tag(
    services: Services, tasks: TaskRunner, qtbot: QtBot
) -> None:
    services.demo.fill(devices=10)
    page = make_page(services, tasks, qtbot)
    page.search_box.setText("tab")
    page.apply_filter()

    assert page.show_device("DK-00012") is False
    assert page.search_box.text() == "tab"  # nothing changed


def test_selecting_a_row_shows_that_device(services: Services, tasks: TaskRunner, qtbot: QtBot) -> None:
    services.demo.fill(devices=10)
    page = make_page(services, tasks, qtbot)
    assert page.shown_tag is None

    page.table.selectRow(3)

    assert page.shown_tag == page.model.device(3).tag
    assert page.detail_text("type") == page.model.device(3).device_type.label


# Changes through the dialogs (stand-ins drive the real dialogs without blocking)


def test_add_device_with_a_scanned_tag_saves_it_and_shows_it(
    services: Services, tasks: TaskRunner, qtbot: QtBot
) -> None:
    services.demo.fill(devices=5)
    seen: list[str | None] = []

    def fill_the_form(
        svc: Services, parent: QWidget, device: Device | None, tag: str | None
    ) -> Device | None:
        dialog = DeviceDialog(svc, device, tag, parent)
        seen.append(dialog.draft().tag)
        dialog.field("make").setProperty("text", "Huawei")
        dialog.check_now()
        dialog.save()
        return dialog.saved

    page = make_page(services, tasks, qtbot, InventoryDialogs(edit_device=fill_the_form))

    with qtbot.waitSignal(page.devices_changed, timeout=2000):
        saved = page.add_device("DK-00012")

    assert seen == ["DK-00012"]
    assert saved is not None and services.inventory.get("DK-00012").make == "Huawei"
    assert page.shown_tag == "DK-00012"
    assert page.notice_text == "Added DK-00012 to the inventory."


def test_editing_keeps_the_list_as_it_was_and_shows_the_change(
    services: Services, tasks: TaskRunner, qtbot: QtBot
) -> None:
    services.demo.fill(devices=40)

    def rename_model(svc: Services, parent: QWidget, device: Device | None, tag: str | None) -> Device | None:
        dialog = DeviceDialog(svc, device, tag, parent)
        model = dialog.field("model")
        assert isinstance(model, QLineEdit)
        model.setText("Tab A9+")
        dialog.save()
        return dialog.saved

    page = make_page(services, tasks, qtbot, InventoryDialogs(edit_device=rename_model))
    choose(page.type_filter, "Tablet")
    page.table.selectRow(2)
    tag = page.model.device(2).tag

    with qtbot.waitSignal(page.devices_changed, timeout=2000):
        page.edit_device()

    assert page.type_filter.currentText() == "Tablet" and page.search_box.text() == ""
    assert page.current_device() == services.inventory.get(tag)
    assert page.model.data(page.model.index(2, page.model.DESCRIPTION)).endswith("Tab A9+")
    assert page.detail_text("description").endswith("Tab A9+")
    assert page.notice_text == f"Saved the changes to {tag}."


def test_shortcuts_open_the_dialogs(services: Services, tasks: TaskRunner, qtbot: QtBot) -> None:
    services.demo.fill(devices=5)
    opened: list[str] = []
    page = make_page(
        services,
        tasks,
        qtbot,
        InventoryDialogs(
            edit_device=lambda _s, _p, device, _t: opened.append(f"edit {device.tag if device else 'new'}"),
            change_status=lambda _s, _p, device: opened.append(f"status {device.tag}"),
            import_devices=lambda _s, _t, _p: opened.append("import"),
        ),
    )
    shortcuts = {action.shortcut().toString(): action for action in page.actions()}
    page.table.selectRow(1)
    tag = page.model.device(1).tag

    for keys in ("Ctrl+N", "Ctrl+E", "Ctrl+T", "Ctrl+I"):
        shortcuts[keys].trigger()

    assert opened == ["edit new", f"edit {tag}", f"status {tag}", "import"]
    # The main window's keys (Ctrl+P print labels, F2 / Ctrl+L scan box, Ctrl+1… areas) stay its own:
    # the same key on the page too would be ambiguous, and Qt would run neither.
    main_window_keys = {"Ctrl+P", "F2", "Ctrl+L", "Ctrl+Q"} | {f"Ctrl+{n}" for n in range(1, 10)}
    assert not main_window_keys & set(shortcuts)


def test_enter_on_a_row_opens_the_device(services: Services, tasks: TaskRunner, qtbot: QtBot) -> None:
    services.demo.fill(devices=5)
    opened: list[str] = []

    def record(_s: Services, _p: QWidget, device: Device | None, _t: str | None) -> None:
        opened.append(device.tag if device else "new")

    page = make_page(services, tasks, qtbot, InventoryDialogs(edit_device=record))
    page.show()
    page.table.setFocus()
    page.table.selectRow(2)

    qtbot.keyClick(page.table, "\r")

    assert opened == [page.model.device(2).tag]


def test_edit_and_status_need_a_selected_device(services: Services, tasks: TaskRunner, qtbot: QtBot) -> None:
    services.demo.fill(devices=5)
    page = make_page(services, tasks, qtbot)
    buttons = {button.accessibleName(): button for button in page.findChildren(QAbstractButton)}

    assert not buttons["Edit device"].isEnabled()
    assert not buttons["Change status"].isEnabled()
    page.table.selectRow(0)
    assert buttons["Edit device"].isEnabled() and buttons["Change status"].isEnabled()


def test_a_status_change_shows_in_the_list_and_the_history(
    services: Services, tasks: TaskRunner, qtbot: QtBot
) -> None:
    services.inventory.add(DeviceDraft(tag="TAB-0001", device_type=DeviceType.TABLET))
    services.inventory.add(DeviceDraft(tag="TAB-0002", device_type=DeviceType.TABLET))

    def send_for_repair(svc: Services, parent: QWidget, device: Device) -> Device | None:
        dialog = StatusDialog(svc, device, parent)
        dialog.set_values(DeviceStatus.IN_REPAIR, "Charging port loose")
        dialog.save()
        return dialog.saved

    page = make_page(services, tasks, qtbot, InventoryDialogs(change_status=send_for_repair))
    page.table.selectRow(1)

    with qtbot.waitSignal(page.devices_changed, timeout=2000):
        page.change_status()

    assert page.detail_text("status") == "In repair"
    row = page.model.row_of("TAB-0002")
    assert row is not None
    assert page.model.data(page.model.index(row, page.model.STATUS)) == "In repair"
    history = page.history_model
    assert history.data(history.index(0, history.CHANGE)) == "Available → In repair"
    assert history.data(history.index(0, history.REASON)) == "Charging port loose"
    assert history.data(history.index(0, history.BY)) == "Test Staff"
    assert page.notice_text == "TAB-0002 is now in repair."


def test_a_device_removed_elsewhere_is_reported_in_words(
    services: Services, tasks: TaskRunner, qtbot: QtBot
) -> None:
    services.inventory.add(DeviceDraft(tag="TAB-0001", device_type=DeviceType.TABLET))
    page = make_page(services, tasks, qtbot, InventoryDialogs(edit_device=lambda *_: pytest.fail("opened")))
    page.table.selectRow(0)
    # Another desk renames the device's tag, so this list is out of date.
    device = services.inventory.get("TAB-0001")
    services.inventory.update(device.id, DeviceDraft(tag="TAB-0100", device_type=DeviceType.TABLET))

    assert page.edit_device() is None

    boxes = [box for box in page.findChildren(QMessageBox) if box.isVisible()]
    assert [box.text() for box in boxes] == [
        "TAB-0001 is no longer in the inventory; the list has been refreshed."
    ]
    assert shown_tags(page) == ["TAB-0100"]


# CSV import and export


def write_csv(path: Path, rows: list[str]) -> Path:
    path.write_text("Asset tag,Type,Make,Model,Serial\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return path


def test_import_dialog_shows_rejected_rows_and_imports_the_good_ones(
    services: Services, tasks: TaskRunner, qtbot: QtBot, tmp_path: Path
) -> None:
    services.inventory.add(DeviceDraft(tag="TAB-0001", device_type=DeviceType.TABLET))
    source = write_csv(
        tmp_path / "stock.csv",
        [
            "TAB-0002,tablet,Lenovo,Tab M10,S-2",
            "TAB-0001,tablet,Lenovo,Tab M10,S-1",
            "LAP-0001,laptop,HP,250,S-3",
        ],
    )
    dialog = ImportDialog(services, tasks, open_path=lambda *_: str(source))
    qtbot.addWidget(dialog)

    with qtbot.waitSignal(dialog.checked, timeout=10_000):
        dialog.choose_file()

    assert "line 3 (TAB-0001)" in dialog.report_text
    assert "dry run" in dialog.report_text
    assert not dialog.can_import_all()
    assert dialog.can_import_good_rows()
    assert services.inventory.count(DeviceFilter()) == 1  # a check changes nothing

    with qtbot.waitSignal(dialog.imported, timeout=10_000) as imported:
        dialog.start_import(good_rows_only=True)

    assert imported.args == [2]
    assert dialog.imported_count == 2
    assert services.inventory.get("LAP-0001").make == "HP"
    assert services.inventory.get("TAB-0002").serial == "S-2"
    assert not dialog.can_import_all() and not dialog.can_import_good_rows()


def test_import_all_is_offered_only_for_a_clean_file(
    services: Services, tasks: TaskRunner, qtbot: QtBot, tmp_path: Path
) -> None:
    source = write_csv(tmp_path / "clean.csv", ["MIF-0001,mifi,Huawei,E5576,860000000000001"])
    dialog = ImportDialog(services, tasks, path=source)
    qtbot.addWidget(dialog)
    qtbot.waitUntil(lambda: dialog.report is not None, timeout=10_000)

    assert dialog.can_import_all() and not dialog.can_import_good_rows()
    with qtbot.waitSignal(dialog.imported, timeout=10_000):
        dialog.start_import(good_rows_only=False)
    assert services.inventory.get("MIF-0001").serial == "860000000000001"


def test_a_file_that_is_not_a_device_list_is_refused_in_words(
    services: Services, tasks: TaskRunner, qtbot: QtBot, tmp_path: Path
) -> None:
    source = tmp_path / "notes.csv"
    source.write_text("Shopping,Quantity\nMilk,2\n", encoding="utf-8")
    dialog = ImportDialog(services, tasks)
    qtbot.addWidget(dialog)

    with qtbot.waitSignal(dialog.job_failed, timeout=10_000) as failed:
        dialog.check(source)

    assert failed.args[0] and failed.args[0] in dialog.report_text
    assert not dialog.can_import_all() and not dialog.can_import_good_rows()


def test_the_page_imports_through_the_dialog_and_refreshes(
    services: Services, tasks: TaskRunner, qtbot: QtBot, tmp_path: Path
) -> None:
    source = write_csv(tmp_path / "stock.csv", ["TAB-0007,tablet,Amazon,Fire HD 10,F-7"])

    def run_import(svc: Services, runner: TaskRunner, parent: QWidget) -> int | None:
        dialog = ImportDialog(svc, runner, parent, path=source)
        qtbot.waitUntil(dialog.can_import_all, timeout=10_000)
        with qtbot.waitSignal(dialog.imported, timeout=10_000):
            dialog.start_import(good_rows_only=False)
        return dialog.imported_count

    page = make_page(services, tasks, qtbot, InventoryDialogs(import_devices=run_import))
    assert page.count_text == "No devices"

    with qtbot.waitSignal(page.devices_changed, timeout=10_000):
        page.import_devices()

    assert shown_tags(page) == ["TAB-0007"]
    assert page.count_text == "1 device"
    assert page.notice_text == "Imported 1 device."


def test_export_writes_every_device_in_the_background(
    services: Services, tasks: TaskRunner, qtbot: QtBot, tmp_path: Path
) -> None:
    services.demo.fill(devices=12)
    out = tmp_path / "devices.csv"
    page = make_page(services, tasks, qtbot, InventoryDialogs(export_path=lambda *_: str(out)))

    with qtbot.waitSignal(page.notice, timeout=10_000) as notice:
        page.export_devices()

    assert notice.args == [f"Exported 12 devices to {out}."]
    assert len(out.read_text(encoding="utf-8-sig").splitlines()) == 13


def test_print_labels_passes_the_selected_devices(
    services: Services, tasks: TaskRunner, qtbot: QtBot
) -> None:
    services.demo.fill(devices=6)
    asked: list[tuple[list[str], str | None]] = []
    page = make_page(
        services,
        tasks,
        qtbot,
        InventoryDialogs(print_labels=lambda _s, _t, _p, tags, stock: asked.append((tags, stock))),
    )
    page.table.selectRow(1)
    page.table.selectionModel().select(
        page.model.index(4, 0),
        page.table.selectionModel().SelectionFlag.Select | page.table.selectionModel().SelectionFlag.Rows,
    )

    page.print_labels()

    assert asked == [([page.model.device(1).tag, page.model.device(4).tag], "L7163")]


# Size: the table reads one page at a time (speed itself is measured by `python -m bench`)


def test_a_search_over_thousands_of_devices_reads_one_page(
    services: Services, tasks: TaskRunner, qtbot: QtBot
) -> None:
    services.demo.fill(devices=1500)
    page = make_page(services, tasks, qtbot)
    page.search_box.setText("")
    page.apply_filter()
    assert page.model.rowCount() == PAGE_SIZE
    assert page.model.total == 1500
    assert page.model.canFetchMore(QModelIndex())
    page.model.fetchMore(QModelIndex())
    assert page.model.rowCount() == 2 * PAGE_SIZE


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
    """Every interactive widget under `root` with neither an accessible name nor a label pointing at it."""
    buddies = {id(label.buddy()) for label in root.findChildren(QLabel) if label.buddy() is not None}
    missing = []
    for widget in root.findChildren(QWidget):
        if not isinstance(widget, INTERACTIVE):
            continue
        parent = widget.parentWidget()
        inner = False
        while parent is not None and parent is not root:
            if isinstance(parent, INTERACTIVE):
                inner = True  # a part of a control (a combo's list, a table's header), named by the control
                break
            parent = parent.parentWidget()
        if inner:
            continue
        if not widget.accessibleName().strip() and id(widget) not in buddies:
            missing.append(
                f"{type(widget).__name__} {widget.objectName()!r} {getattr(widget, 'text', str)()!r}"
            )
    return missing


def mnemonics(root: QWidget) -> list[str]:
    """The Alt+letter keys of the labels and buttons in one window, e.g. ['a', 'e', 'h']."""
    letters = []
    for widget in root.findChildren(QWidget):
        if isinstance(widget, QLabel | QAbstractButton):
            text = widget.text().replace("&&", "")
            if "&" in text:
                letters.append(text[text.index("&") + 1].lower())
    return sorted(letters)


def test_every_control_has_an_accessible_name(
    services: Services, tasks: TaskRunner, qtbot: QtBot, tmp_path: Path
) -> None:
    services.demo.fill(devices=5)
    device = services.inventory.search(DeviceFilter(), limit=1)[0]
    page = make_page(services, tasks, qtbot)
    page.show_device(device.tag)
    roots: list[QWidget] = [
        page,
        DeviceDialog(services),
        DeviceDialog(services, device),
        StatusDialog(services, device),
        LabelsDialog(services, tasks, [device.tag]),
        ImportDialog(services, tasks),
    ]
    for root in roots[1:]:
        qtbot.addWidget(root)

    counted = sum(
        len([w for w in root.findChildren(QWidget) if isinstance(w, INTERACTIVE)]) for root in roots
    )
    assert counted > 60  # the walk really sees the controls
    assert {type(root).__name__: unnamed_controls(root) for root in roots} == {
        type(root).__name__: [] for root in roots
    }
    assert "Devices" in page.table.accessibleName()
    for root in roots:  # each Alt+letter reaches one control
        keys = mnemonics(root)
        assert len(keys) == len(set(keys)), (type(root).__name__, keys)
    assert len(mnemonics(page)) >= 10
