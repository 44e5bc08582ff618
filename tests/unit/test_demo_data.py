"""Demo data: reproducible from its seed, shaped like Stockport's device library, and plausible."""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from digiknow_desk.app import Services, build_services
from digiknow_desk.domain.devices import Device, DeviceFilter, DeviceStatus, DeviceType
from digiknow_desk.domain.errors import ValidationError
from digiknow_desk.domain.venues import VenueDraft
from digiknow_desk.storage.database import Database
from digiknow_desk.storage.migrate import upgrade_to_head

if TYPE_CHECKING:
    from tests.conftest import FakeClock

TODAY = date(2026, 3, 14)  # conftest's FIXED_NOW


def _all(services: Services) -> list[Device]:
    every = DeviceFilter()
    return services.inventory.search(every, limit=services.inventory.count(every) + 1)


def _fingerprint(device: Device) -> tuple[object, ...]:
    return (
        device.tag,
        device.device_type,
        device.make,
        device.model,
        device.serial,
        device.os,
        device.status,
        device.condition,
        device.source,
        device.acquired_on,
        device.home_venue_name,
        device.current_venue_name,
        device.kit,
    )


def _fill_fresh(tmp_path: Path, name: str, clock: FakeClock, **options: int) -> list[tuple[object, ...]]:
    database = Database("sqlite:///" + (tmp_path / name).as_posix())
    try:
        upgrade_to_head(database)
        services = build_services(database, actor="Demo", clock=clock)
        services.demo.fill(**options)
        return [_fingerprint(device) for device in _all(services)]
    finally:
        database.dispose()


def _luhn_ok(number: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(number)):
        digit = int(char)
        if position % 2 == 1:
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return total % 10 == 0


def test_the_same_seed_gives_the_same_data(tmp_path: Path, clock: FakeClock) -> None:
    first = _fill_fresh(tmp_path, "a.db", clock, devices=120, seed=7)
    second = _fill_fresh(tmp_path, "b.db", clock, devices=120, seed=7)
    assert len(first) == 120
    assert first == second
    other = _fill_fresh(tmp_path, "c.db", clock, devices=120, seed=8)
    assert [device[4] for device in other] != [device[4] for device in first]


def test_the_default_stock_mix_is_stockports(services: Services) -> None:
    summary = services.demo.fill()
    assert (summary.venues_added, summary.devices_added) == (10, 302)
    types = Counter(device.device_type for device in _all(services))
    assert types[DeviceType.LAPTOP] + types[DeviceType.CHROMEBOOK] == 110
    assert 0 < types[DeviceType.CHROMEBOOK] < types[DeviceType.LAPTOP]
    assert types[DeviceType.TABLET] == 84
    assert types[DeviceType.MIFI] == 83
    assert types[DeviceType.PHONE] == 25
    assert sum(types.values()) == 302


@pytest.mark.parametrize("count", [0, 1, 2, 3, 7, 50, 303, 1000])
def test_fill_adds_exactly_the_devices_asked_for(services: Services, count: int) -> None:
    assert services.demo.fill(devices=count, seed=3).devices_added == count
    devices = _all(services)
    assert len(devices) == count
    if count >= 1000:
        types = Counter(device.device_type for device in devices)
        for device_type, share in ((DeviceType.TABLET, 84), (DeviceType.MIFI, 83), (DeviceType.PHONE, 25)):
            assert abs(types[device_type] - count * share / 302) <= 1


def test_tags_run_on_per_type_from_the_stock_already_there(services: Services) -> None:
    services.demo.fill(devices=302)
    tags = {device.tag for device in _all(services)}
    assert {"LAP-0083", "CHR-0027", "TAB-0084", "MIF-0083", "PHN-0025"} <= tags
    assert "TAB-0085" not in tags
    assert services.inventory.next_tag(DeviceType.TABLET) == "TAB-0085"


def test_a_second_fill_adds_more_without_clashing(services: Services) -> None:
    services.demo.fill(devices=60)
    second = services.demo.fill(devices=60)
    assert (second.venues_added, second.devices_added) == (0, 60)
    devices = _all(services)
    assert len(devices) == 120
    assert len({device.tag for device in devices}) == 120
    assert len({device.serial for device in devices}) == 120
    assert len(services.venues.venues()) == 10


def test_venues_are_real_libraries_in_real_wards(services: Services) -> None:
    services.demo.fill(devices=50)
    ward_codes = {ward.code for ward in services.venues.wards()}
    venues = services.venues.venues()
    assert len(venues) == 10
    assert {venue.ward_code for venue in venues} <= ward_codes
    names = {venue.name: venue.ward_name for venue in venues}
    assert names["Reddish Library"] == "Reddish North"
    assert names["Edgeley Library"] == "Edgeley and Cheadle Heath"
    assert names["Stockport Central Library"] == "Brinnington and Central"
    assert all(device.home_venue_name in names for device in _all(services))


def test_phone_and_mifi_serials_are_valid_imeis(services: Services) -> None:
    services.demo.fill()
    imeis = [d.serial for d in _all(services) if d.device_type in (DeviceType.PHONE, DeviceType.MIFI)]
    assert len(imeis) == 108
    for imei in imeis:
        assert len(imei) == 15 and imei.isdigit(), imei
        assert _luhn_ok(imei), imei
    assert _luhn_ok("490154203237518")  # a published example IMEI: the checker itself is right
    assert not _luhn_ok("490154203237517")


@pytest.mark.parametrize("months", [1, 6, 24])
def test_acquisition_dates_lie_within_the_months_asked_for(services: Services, months: int) -> None:
    services.demo.fill(devices=200, months=months)
    dates = [device.acquired_on for device in _all(services)]
    assert all(d is not None for d in dates)
    window = timedelta(days=round(months * 365.25 / 12))
    assert all(TODAY - window <= d < TODAY for d in dates if d is not None)
    # Spread over the window, not bunched at one end.
    assert min(d for d in dates if d is not None) < TODAY - window / 2


def test_devices_are_on_the_shelf_in_the_workshop_or_retired_with_a_reason(services: Services) -> None:
    services.demo.fill()
    devices = _all(services)
    statuses = Counter(device.status for device in devices)
    assert statuses[DeviceStatus.ON_LOAN] == 0
    assert statuses[DeviceStatus.AVAILABLE] > len(devices) / 2
    assert len(statuses) >= 4
    for device in devices[:20]:
        [added] = services.inventory.history(device.tag)
        assert (added.to_status, added.reason, added.by) == (device.status, "Demo data", "Test Staff")


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"devices": -1}, "devices"),
        ({"devices": 100_001}, "devices"),
        ({"months": 0}, "months"),
        ({"months": 121}, "months"),
    ],
)
def test_fill_refuses_silly_sizes(services: Services, options: dict[str, int], field: str) -> None:
    with pytest.raises(ValidationError) as refused:
        services.demo.fill(**options)
    assert set(refused.value.problems) == {field}
    assert services.venues.venues() == []


def test_fill_works_when_every_demo_venue_is_closed(services: Services) -> None:
    services.demo.fill(devices=0)
    for venue in services.venues.venues():
        services.venues.update(venue.id, VenueDraft(name=venue.name, ward_code=venue.ward_code, active=False))
    assert services.venues.venues(active_only=True) == []
    assert services.demo.fill(devices=40).devices_added == 40
    assert all(device.home_venue_name == device.current_venue_name == "" for device in _all(services))
