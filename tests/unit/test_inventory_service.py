"""The inventory service: adding, finding, checking, editing, searching and paging devices."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import date, timedelta
from typing import TYPE_CHECKING

import pytest

from digiknow_desk.app import Services, build_services
from digiknow_desk.domain.devices import (
    AcquisitionSource,
    Condition,
    Device,
    DeviceDraft,
    DeviceFilter,
    DeviceStatus,
    DeviceType,
    StatusChange,
)
from digiknow_desk.domain.errors import NotFound, ValidationError
from digiknow_desk.domain.staff import setup_staff
from digiknow_desk.domain.venues import Venue, VenueDraft
from digiknow_desk.storage.database import Database
from digiknow_desk.storage.models import Base

if TYPE_CHECKING:
    from tests.conftest import FakeClock

TODAY = date(2026, 3, 14)  # the date of conftest's FIXED_NOW in the desk's time zone, for a 10:30 UTC clock


def _draft(tag: str, device_type: DeviceType = DeviceType.TABLET, **fields: object) -> DeviceDraft:
    return DeviceDraft(tag=tag, device_type=device_type, **fields)  # type: ignore[arg-type]


def _venue(services: Services, name: str, ward_code: str = "E05000797") -> Venue:
    return services.venues.add(VenueDraft(name=name, ward_code=ward_code))


def _tags(devices: list[Device]) -> list[str]:
    return [device.tag for device in devices]


# Adding and finding


def test_add_returns_the_device_as_saved(services: Services) -> None:
    reddish = _venue(services, "Reddish Library")
    device = services.inventory.add(
        DeviceDraft(
            tag="  tab-0042 ",
            device_type=DeviceType.TABLET,
            make=" Samsung ",
            model="Galaxy Tab A8",
            serial=" R9XN1234 ",
            os="Android 14",
            condition=Condition.FAIR,
            home_venue_id=reddish.id,
            source=AcquisitionSource.NATIONAL_DEVICE_BANK,
            acquired_on=TODAY - timedelta(days=30),
            notes=" Small scratch on the back ",
            kit=("Charger", " cable ", "Cable", "", "Case"),
        )
    )
    assert device.tag == "TAB-0042"
    assert (device.make, device.model, device.serial, device.os) == (
        "Samsung",
        "Galaxy Tab A8",
        "R9XN1234",
        "Android 14",
    )
    assert device.description == "Samsung Galaxy Tab A8"
    assert device.status == DeviceStatus.AVAILABLE
    assert device.condition == Condition.FAIR
    assert device.source == AcquisitionSource.NATIONAL_DEVICE_BANK
    assert device.acquired_on == TODAY - timedelta(days=30)
    assert device.notes == "Small scratch on the back"
    assert device.kit == ("Charger", "cable", "Case")
    assert (device.home_venue_name, device.current_venue_name) == ("Reddish Library", "Reddish Library")
    assert device.current_venue_id == reddish.id
    assert services.inventory.get("TAB-0042") == device
    [added] = services.inventory.history("TAB-0042")
    assert (added.from_status, added.to_status, added.by, added.reason) == (
        None,
        DeviceStatus.AVAILABLE,
        "Test Staff",
        "Added to the inventory",
    )


def test_get_and_find_ignore_case_and_surrounding_spaces(services: Services) -> None:
    services.inventory.add(_draft("TAB-0001"))
    assert services.inventory.get(" tab-0001\n").tag == "TAB-0001"
    found = services.inventory.find("\ttab-0001 ")
    assert found is not None and found.tag == "TAB-0001"
    assert services.inventory.find("TAB-0002") is None
    with pytest.raises(NotFound, match="No device has the tag 'TAB-0002'"):
        services.inventory.get("tab-0002")


def test_services_return_frozen_records_not_orm_objects(services: Services) -> None:
    device = services.inventory.add(_draft("TAB-0001"))
    records: list[object] = [
        device,
        services.inventory.get("TAB-0001"),
        *services.inventory.search(DeviceFilter()),
        *services.inventory.for_labels(),
        *services.inventory.history("TAB-0001"),
        *services.venues.wards()[:1],
        _venue(services, "Edgeley Library"),
    ]
    for record in records:
        assert dataclasses.is_dataclass(record)
        assert not isinstance(record, Base)
        first_field = dataclasses.fields(record)[0].name
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(record, first_field, None)
    assert isinstance(services.inventory.history("TAB-0001")[0], StatusChange)


# Tags


def test_next_tag_counts_per_type(services: Services) -> None:
    assert services.inventory.next_tag(DeviceType.TABLET) == "TAB-0001"
    assert services.inventory.next_tag(DeviceType.DATA_SIM) == "SIM-0001"
    services.inventory.add_many([_draft("TAB-0001"), _draft("TAB-0042"), _draft("TAB-SPARE")])
    services.inventory.add(_draft("LAP-0007", DeviceType.LAPTOP))
    assert services.inventory.next_tag(DeviceType.TABLET) == "TAB-0043"
    assert services.inventory.next_tag(DeviceType.LAPTOP) == "LAP-0008"
    assert services.inventory.next_tag(DeviceType.CHROMEBOOK) == "CHR-0001"
    assert services.inventory.next_tag(DeviceType.PHONE) == "PHN-0001"


def test_blank_tags_are_never_handed_out_twice(
    services: Services, database: Database, clock: FakeClock
) -> None:
    assert services.inventory.reserve_blank_tags(3) == ["DK-00001", "DK-00002", "DK-00003"]
    assert services.inventory.reserve_blank_tags(2) == ["DK-00004", "DK-00005"]
    # Another session of the app (e.g. after a restart) carries on from the same counter.
    again = build_services(database, staff=setup_staff("Other Staff"), clock=clock)
    assert again.inventory.reserve_blank_tags(1) == ["DK-00006"]


def test_blank_tags_skip_past_a_dk_tag_already_on_a_device(services: Services) -> None:
    services.inventory.add(_draft("DK-00010"))
    assert services.inventory.reserve_blank_tags(2) == ["DK-00011", "DK-00012"]
    # A device registered with a lower blank tag does not wind the counter back.
    services.inventory.add(_draft("DK-00003"))
    assert services.inventory.reserve_blank_tags(1) == ["DK-00013"]


@pytest.mark.parametrize("count", [0, -1, 5001])
def test_blank_tags_come_in_sensible_numbers(services: Services, count: int) -> None:
    with pytest.raises(ValidationError, match="between 1 and 5,000"):
        services.inventory.reserve_blank_tags(count)
    assert services.inventory.reserve_blank_tags(1) == ["DK-00001"]


# Checks


def test_a_duplicate_tag_is_refused_whatever_its_case(services: Services) -> None:
    services.inventory.add(_draft("TAB-0001"))
    with pytest.raises(ValidationError) as refused:
        services.inventory.add(_draft(" tab-0001", DeviceType.LAPTOP))
    assert refused.value.problems == {"tag": "Another device already has the tag TAB-0001."}
    assert services.inventory.count(DeviceFilter()) == 1
    assert services.inventory.problems(_draft("tab-0001")) == {
        "tag": "Another device already has the tag TAB-0001."
    }


def test_a_duplicate_serial_is_refused_naming_the_device_that_has_it(services: Services) -> None:
    services.inventory.add(_draft("TAB-0001", serial="R9XN1234"))
    with pytest.raises(ValidationError) as refused:
        services.inventory.add(_draft("TAB-0002", serial=" R9XN1234 "))
    assert refused.value.problems == {"serial": "The serial R9XN1234 is already recorded on TAB-0001."}
    assert services.inventory.find("TAB-0002") is None


def test_devices_without_a_serial_do_not_clash(services: Services) -> None:
    services.inventory.add_many([_draft("TAB-0001"), _draft("TAB-0002", serial="  ")])
    services.inventory.add(_draft("TAB-0003"))
    assert [d.serial for d in services.inventory.search(DeviceFilter())] == ["", "", ""]


@pytest.mark.parametrize(
    ("second", "field", "message"),
    [
        (_draft("tab-0001", serial="B"), "tag", "The tag TAB-0001 appears twice in this batch."),
        (_draft("TAB-0002", serial="A"), "serial", "The serial A appears twice in this batch."),
    ],
)
def test_a_batch_with_a_repeat_inside_adds_nothing(
    services: Services, second: DeviceDraft, field: str, message: str
) -> None:
    batch = [_draft("TAB-0001", serial="A"), _draft("TAB-0009", serial="Z"), second]
    with pytest.raises(ValidationError) as refused:
        services.inventory.add_many(batch)
    assert refused.value.problems == {"device 3": message}
    assert services.inventory.count(DeviceFilter()) == 0
    assert len(services.inventory.add_many(batch[:2])) == 2


def test_a_batch_is_all_or_nothing_and_names_every_bad_device(services: Services) -> None:
    services.inventory.add(_draft("LAP-0001", DeviceType.LAPTOP, serial="TAKEN"))
    batch = [
        _draft("TAB-0001"),
        _draft("TAB-0002", acquired_on=TODAY + timedelta(days=1)),
        _draft("TAB-0003", serial="TAKEN"),
        # Repeats the tag of device 2, which is refused for its date: still reported in the same pass.
        _draft("TAB-0002"),
        _draft("BAD TAG"),
    ]
    with pytest.raises(ValidationError) as refused:
        services.inventory.add_many(batch)
    assert refused.value.problems == {
        "device 2": "The acquisition date is in the future: check the date.",
        "device 3": "The serial TAKEN is already recorded on LAP-0001.",
        "device 4": "The tag TAB-0002 appears twice in this batch.",
        "device 5": (
            "'BAD TAG' is not a usable asset tag: use 2 to 20 letters, digits and dashes, "
            "starting with a letter or digit (e.g. TAB-0042)."
        ),
    }
    assert _tags(services.inventory.search(DeviceFilter())) == ["LAP-0001"]


def test_a_batch_refers_only_to_venues_that_exist(services: Services) -> None:
    with pytest.raises(ValidationError) as refused:
        services.inventory.add_many([_draft("TAB-0001"), _draft("TAB-0002", home_venue_id=uuid.uuid4())])
    assert refused.value.problems == {"device 2": "That venue no longer exists; choose another."}


@pytest.mark.parametrize("tag", ["TAB 0001", "TAB_0001", "-TAB", "T", "TAB/1", "TÄB-1", "X" * 21])
def test_unusable_tags_are_refused(services: Services, tag: str) -> None:
    problems = services.inventory.problems(_draft(tag))
    assert "is not a usable asset tag" in problems["tag"]
    with pytest.raises(ValidationError):
        services.inventory.add(_draft(tag))


@pytest.mark.parametrize("tag", ["T1", "TAB-0042", "2024-LAPTOP-17", "X" * 20, "dk-00001"])
def test_usable_tags_are_accepted(services: Services, tag: str) -> None:
    assert services.inventory.problems(_draft(tag)) == {}
    assert services.inventory.add(_draft(tag)).tag == tag.upper()


def test_an_empty_tag_asks_for_one(services: Services) -> None:
    assert services.inventory.problems(_draft("   ")) == {"tag": "Enter an asset tag, e.g. TAB-0042."}


def test_the_acquisition_date_cannot_be_in_the_future(services: Services, clock: FakeClock) -> None:
    assert services.inventory.problems(_draft("TAB-0001", acquired_on=TODAY)) == {}
    assert services.inventory.problems(_draft("TAB-0001", acquired_on=TODAY + timedelta(days=1))) == {
        "acquired_on": "The acquisition date is in the future: check the date."
    }
    clock.now += timedelta(days=1)
    assert services.inventory.problems(_draft("TAB-0001", acquired_on=TODAY + timedelta(days=1))) == {}


def test_long_fields_are_refused_with_a_message_each(services: Services) -> None:
    assert services.inventory.problems(_draft("TAB-0001", make="M" * 200, notes="n" * 4000)) == {}
    problems = services.inventory.problems(
        _draft(
            "TAB-0001",
            make="M" * 201,
            model="M" * 201,
            serial="S" * 201,
            os="O" * 201,
            notes="n" * 4001,
            kit=("Charger", "K" * 61),
        )
    )
    assert problems == {
        "make": "Make is too long: keep it under 200 characters.",
        "model": "Model is too long: keep it under 200 characters.",
        "serial": "Serial is too long: keep it under 200 characters.",
        "os": "Os is too long: keep it under 200 characters.",
        "notes": "Notes are too long: keep them under 4,000 characters.",
        "kit": "Kit item 'KKKKKKKKKKKKKKKKKKKK…' is too long: use a short name like 'Charger'.",
    }
    with pytest.raises(ValidationError) as refused:
        services.inventory.add(_draft("TAB-0001", make="M" * 201))
    assert set(refused.value.problems) == {"make"}


# Editing


def test_update_saves_details_and_replaces_the_kit(services: Services, clock: FakeClock) -> None:
    reddish, edgeley = _venue(services, "Reddish Library"), _venue(services, "Edgeley Library", "E05000788")
    device = services.inventory.add(
        _draft(
            "TAB-0001", make="Amazon", model="Fire HD 10", home_venue_id=reddish.id, kit=("Charger", "Case")
        )
    )
    clock.now += timedelta(days=2)
    changed = services.inventory.update(
        device.id,
        dataclasses.replace(
            device.as_draft(),
            model="Fire HD 10 (2023)",
            condition=Condition.POOR,
            current_venue_id=edgeley.id,
            kit=("Cable", "Charger"),
        ),
    )
    assert changed.id == device.id
    assert changed.model == "Fire HD 10 (2023)"
    assert changed.condition == Condition.POOR
    assert changed.kit == ("Cable", "Charger")
    assert (changed.home_venue_name, changed.current_venue_name) == ("Reddish Library", "Edgeley Library")
    assert services.inventory.get("TAB-0001") == changed
    assert _tags(services.inventory.search(DeviceFilter(text="2023"))) == ["TAB-0001"]
    # Details change; status and history do not.
    assert changed.status == DeviceStatus.AVAILABLE
    assert len(services.inventory.history("TAB-0001")) == 1
    emptied = services.inventory.update(device.id, dataclasses.replace(changed.as_draft(), kit=()))
    assert emptied.kit == ()


def test_update_can_change_the_tag_and_keeps_the_history(services: Services) -> None:
    device = services.inventory.add(_draft("TAB-0001"))
    services.inventory.change_status("TAB-0001", DeviceStatus.IN_REPAIR, "Cracked")
    renamed = services.inventory.update(device.id, dataclasses.replace(device.as_draft(), tag="old-stock-7"))
    assert renamed.tag == "OLD-STOCK-7"
    assert renamed.status == DeviceStatus.IN_REPAIR
    assert services.inventory.find("TAB-0001") is None
    assert [c.to_status for c in services.inventory.history("old-stock-7")] == [
        DeviceStatus.AVAILABLE,
        DeviceStatus.IN_REPAIR,
    ]
    assert _tags(services.inventory.search(DeviceFilter(text="old-stock"))) == ["OLD-STOCK-7"]
    assert _tags(services.inventory.search(DeviceFilter(text="tab-0001"))) == []


def test_update_refuses_a_tag_or_serial_that_another_device_has(services: Services) -> None:
    services.inventory.add(_draft("TAB-0001", serial="AAA"))
    second = services.inventory.add(_draft("TAB-0002", serial="BBB"))
    # Saving a device unchanged does not clash with itself.
    assert services.inventory.update(second.id, second.as_draft()) == second
    with pytest.raises(ValidationError) as refused:
        services.inventory.update(
            second.id, dataclasses.replace(second.as_draft(), tag="tab-0001", serial="AAA")
        )
    assert refused.value.problems == {
        "tag": "Another device already has the tag TAB-0001.",
        "serial": "The serial AAA is already recorded on TAB-0001.",
    }
    assert services.inventory.get("TAB-0002") == second
    assert services.inventory.problems(second.as_draft(), device_id=second.id) == {}


def test_update_of_a_device_that_is_gone_is_refused(services: Services) -> None:
    with pytest.raises(NotFound, match="no longer exists"):
        services.inventory.update(uuid.uuid4(), _draft("TAB-0001"))


# Searching, filtering and paging


@pytest.fixture
def stock(services: Services) -> dict[str, Venue]:
    reddish, edgeley = _venue(services, "Reddish Library"), _venue(services, "Edgeley Library", "E05000788")
    services.inventory.add_many(
        [
            _draft("TAB-0001", make="Lenovo", model="Tab M10", serial="HGT100", home_venue_id=reddish.id),
            _draft(
                "TAB-0002", make="Samsung", model="Galaxy Tab A8", serial="R9X_42", home_venue_id=edgeley.id
            ),
            _draft("LAP-0001", DeviceType.LAPTOP, make="Lenovo", model="IdeaPad 3 15", serial="PF3XY"),
            _draft(
                "LAP-0002",
                DeviceType.LAPTOP,
                make="Dell",
                model="Latitude 100% refurb",
                serial="R9XA42",
                home_venue_id=reddish.id,
                current_venue_id=edgeley.id,
            ),
            _draft("CHR-0001", DeviceType.CHROMEBOOK, make="HP", model="Chromebook 14"),
        ]
    )
    services.inventory.change_status("LAP-0001", DeviceStatus.IN_REPAIR, "Keyboard")
    services.inventory.change_status("CHR-0001", DeviceStatus.RETIRED, "Beyond repair")
    return {"reddish": reddish, "edgeley": edgeley}


@pytest.mark.parametrize(
    ("text", "tags"),
    [
        ("", ["CHR-0001", "LAP-0001", "LAP-0002", "TAB-0001", "TAB-0002"]),
        ("lenovo", ["LAP-0001", "TAB-0001"]),
        ("LENOVO tab", ["TAB-0001"]),
        ("  tab   lenovo ", ["TAB-0001"]),
        ("ideapad 3", ["LAP-0001"]),
        ("hgt1", ["TAB-0001"]),
        ("lap-", ["LAP-0001", "LAP-0002"]),
        ("lenovo dell", []),
        ("%", ["LAP-0002"]),
        ("100%", ["LAP-0002"]),
        ("r9x_", ["TAB-0002"]),
        ("_", ["TAB-0002"]),
        ("\\", []),
    ],
)
def test_search_matches_every_word_in_tag_serial_make_or_model(
    services: Services, stock: dict[str, Venue], text: str, tags: list[str]
) -> None:
    device_filter = DeviceFilter(text=text)
    assert _tags(services.inventory.search(device_filter)) == tags
    assert services.inventory.count(device_filter) == len(tags)


def test_filters_by_type_status_and_venue(services: Services, stock: dict[str, Venue]) -> None:
    def tags(**fields: object) -> list[str]:
        device_filter = DeviceFilter(**fields)  # type: ignore[arg-type]
        found = _tags(services.inventory.search(device_filter))
        assert services.inventory.count(device_filter) == len(found)
        return found

    assert tags(device_type=DeviceType.LAPTOP) == ["LAP-0001", "LAP-0002"]
    assert tags(device_type=DeviceType.PHONE) == []
    assert tags(status=DeviceStatus.IN_REPAIR) == ["LAP-0001"]
    assert tags(status=DeviceStatus.RETIRED, include_retired=False) == ["CHR-0001"]
    assert tags(include_retired=False) == ["LAP-0001", "LAP-0002", "TAB-0001", "TAB-0002"]
    # A venue filter finds devices that live there or are there now.
    assert tags(venue_id=stock["reddish"].id) == ["LAP-0002", "TAB-0001"]
    assert tags(venue_id=stock["edgeley"].id) == ["LAP-0002", "TAB-0002"]
    assert tags(venue_id=stock["edgeley"].id, device_type=DeviceType.TABLET, text="samsung") == ["TAB-0002"]
    assert tags(device_type=DeviceType.LAPTOP, status=DeviceStatus.AVAILABLE) == ["LAP-0002"]


def test_search_pages_through_the_devices_in_tag_order(services: Services) -> None:
    services.inventory.add_many([_draft(f"TAB-{n:04d}") for n in range(25, 0, -1)])
    every = DeviceFilter()
    assert services.inventory.count(every) == 25
    pages = [services.inventory.search(every, limit=10, offset=offset) for offset in (0, 10, 20, 30)]
    assert [len(page) for page in pages] == [10, 10, 5, 0]
    assert [tag for page in pages for tag in _tags(page)] == [f"TAB-{n:04d}" for n in range(1, 26)]
    assert _tags(services.inventory.search(DeviceFilter(text="tab-001"), limit=3, offset=2)) == [
        "TAB-0012",
        "TAB-0013",
        "TAB-0014",
    ]


def test_for_labels_keeps_the_order_given_and_drops_repeats(
    services: Services, stock: dict[str, Venue]
) -> None:
    devices = services.inventory.for_labels(["tab-0002", "CHR-0001", " LAP-0001", "TAB-0002"])
    assert _tags(devices) == ["TAB-0002", "CHR-0001", "LAP-0001"]


def test_for_labels_names_every_missing_tag(services: Services, stock: dict[str, Venue]) -> None:
    with pytest.raises(NotFound) as refused:
        services.inventory.for_labels(["TAB-0001", "nope-1", "TAB-0003"])
    assert str(refused.value) == "No device has the tag NOPE-1, TAB-0003; check the tags and try again."


def test_for_labels_without_tags_prints_every_device_not_retired(
    services: Services, stock: dict[str, Venue]
) -> None:
    assert _tags(services.inventory.for_labels()) == ["LAP-0001", "LAP-0002", "TAB-0001", "TAB-0002"]
    assert _tags(services.inventory.for_labels(status=DeviceStatus.IN_REPAIR)) == ["LAP-0001"]
    assert _tags(services.inventory.for_labels(status=DeviceStatus.RETIRED)) == ["CHR-0001"]


def test_kit_item_with_a_semicolon_is_refused(services: Services) -> None:
    draft = DeviceDraft(tag="TAB-0001", device_type=DeviceType.TABLET, kit=("Charger; cable",))
    with pytest.raises(ValidationError) as refused:
        services.inventory.add(draft)
    assert "name each item separately" in refused.value.problems["kit"]
    assert services.inventory.count(DeviceFilter()) == 0
