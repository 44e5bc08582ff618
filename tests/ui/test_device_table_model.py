"""The device table model pages devices from the database; both inventory models pass Qt's model checks."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from PySide6.QtCore import QModelIndex, Qt
from pytestqt.modeltest import ModelTester

from digiknow_desk.app import Services
from digiknow_desk.domain.devices import Device, DeviceDraft, DeviceFilter, DeviceStatus, DeviceType
from digiknow_desk.ui.device_table_model import (
    RECORD_ROLE,
    DeviceTableModel,
    HistoryTableModel,
    when_text,
)


def test_model_passes_qt_checks_with_data(services: Services, qtmodeltester: ModelTester) -> None:
    services.demo.fill(devices=30)
    model = DeviceTableModel(services.inventory)
    model.set_filter(DeviceFilter())

    qtmodeltester.check(model)

    assert model.rowCount() == 30
    assert model.total == 30
    assert model.columnCount() == len(DeviceTableModel.HEADERS) == 7


def test_model_passes_qt_checks_while_paging(services: Services, qtmodeltester: ModelTester) -> None:
    services.demo.fill(devices=25)
    model = DeviceTableModel(services.inventory, page_size=10)
    model.set_filter(DeviceFilter())
    assert (model.rowCount(), model.total) == (10, 25)
    assert model.canFetchMore(QModelIndex())

    qtmodeltester.check(model)
    model.fetchMore(QModelIndex())
    qtmodeltester.check(model)
    while model.canFetchMore(QModelIndex()):
        model.fetchMore(QModelIndex())

    assert model.rowCount() == 25
    assert not model.canFetchMore(QModelIndex())
    tags = [model.device(row).tag for row in range(model.rowCount())]
    assert tags == sorted(tags)
    assert len(set(tags)) == 25  # pages neither overlap nor skip


def test_cells_show_the_device_and_the_record_role_returns_it(services: Services) -> None:
    services.demo.fill(devices=0)  # the demo venues only
    venue = services.venues.venues()[0]
    services.inventory.add(
        DeviceDraft(
            tag="tab-0007",
            device_type=DeviceType.TABLET,
            make="Samsung",
            model="Galaxy Tab A8",
            serial="R9XYZ",
            home_venue_id=venue.id,
        )
    )
    model = DeviceTableModel(services.inventory)
    model.set_filter(DeviceFilter())

    def cell(column: int) -> object:
        return model.data(model.index(0, column))

    assert cell(DeviceTableModel.TAG) == "TAB-0007"
    assert cell(DeviceTableModel.TYPE) == "Tablet"
    assert cell(DeviceTableModel.STATUS) == "Available"
    assert cell(DeviceTableModel.DESCRIPTION) == "Samsung Galaxy Tab A8"
    assert cell(DeviceTableModel.SERIAL) == "R9XYZ"
    assert cell(DeviceTableModel.VENUE) == venue.name
    assert cell(DeviceTableModel.CONDITION) == "Good"
    record = model.data(model.index(0, DeviceTableModel.SERIAL), RECORD_ROLE)
    assert isinstance(record, Device) and record.tag == "TAB-0007"
    header = model.headerData(DeviceTableModel.DESCRIPTION, Qt.Orientation.Horizontal)
    assert header == "Make and model"


def test_set_filter_narrows_and_counts_in_sql(services: Services) -> None:
    services.demo.fill(devices=60)
    model = DeviceTableModel(services.inventory, page_size=5)
    tablets = DeviceFilter(device_type=DeviceType.TABLET)
    model.set_filter(tablets)

    assert model.total == services.inventory.count(tablets) > 5
    assert model.rowCount() == 5
    assert all(model.device(row).device_type == DeviceType.TABLET for row in range(model.rowCount()))
    assert model.device_filter == tablets


def test_row_of_fetches_pages_until_the_tag_is_loaded(services: Services) -> None:
    services.demo.fill(devices=40)
    model = DeviceTableModel(services.inventory, page_size=10)
    model.set_filter(DeviceFilter())
    last = services.inventory.search(DeviceFilter(), limit=1, offset=39)[0]

    assert model.row_of(last.tag, fetch=False) is None
    assert model.rowCount() == 10
    assert model.row_of(last.tag) == 39
    assert model.rowCount() == 40


def test_refresh_keeps_the_rows_loaded_and_shows_changes(services: Services) -> None:
    services.demo.fill(devices=30)
    model = DeviceTableModel(services.inventory, page_size=10)
    model.set_filter(DeviceFilter())
    model.fetchMore(QModelIndex())
    device = next(
        model.device(row) for row in range(10, 20) if model.device(row).status != DeviceStatus.RETIRED
    )
    services.inventory.change_status(device.tag, DeviceStatus.RETIRED, "Beyond repair")

    model.refresh()

    assert model.rowCount() == 20
    row = model.row_of(device.tag, fetch=False)
    assert row is not None
    assert model.data(model.index(row, DeviceTableModel.STATUS)) == "Retired"


def test_history_model_lists_newest_first_and_passes_checks(
    services: Services, clock: Any, qtmodeltester: ModelTester
) -> None:
    services.inventory.add(DeviceDraft(tag="LAP-0001", device_type=DeviceType.LAPTOP))
    services.inventory.change_status("LAP-0001", DeviceStatus.IN_REPAIR, "Hinge broken")
    model = HistoryTableModel()
    model.set_history(services.inventory.history("LAP-0001"))

    qtmodeltester.check(model)

    assert model.rowCount() == 2
    newest = [model.data(model.index(0, column)) for column in range(model.columnCount())]
    assert newest[HistoryTableModel.BY] == "Test Staff"
    assert newest[HistoryTableModel.CHANGE] == "Available → In repair"
    assert newest[HistoryTableModel.REASON] == "Hinge broken"
    assert newest[HistoryTableModel.WHEN] == when_text(clock.now)
    spoken = model.data(model.index(0, HistoryTableModel.CHANGE), Qt.ItemDataRole.AccessibleTextRole)
    assert spoken == "from Available to In repair"
    assert model.data(model.index(1, HistoryTableModel.CHANGE)) == "Added: Available"


def test_history_times_are_shown_in_local_time_without_a_leading_zero() -> None:
    local = datetime.now().astimezone().tzinfo
    assert when_text(datetime(2026, 3, 4, 9, 5, tzinfo=local)) == "4 Mar 2026 09:05"
