"""The device inventory: find, add, edit and move devices through their statuses, with history."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, String, func, insert, or_, select, type_coerce
from sqlalchemy.orm import Session

from digiknow_desk.domain.devices import (
    Device,
    DeviceDraft,
    DeviceFilter,
    DeviceStatus,
    DeviceType,
    StatusChange,
    check_manual_change,
    check_transition,
    format_tag,
    normalise_tag,
)
from digiknow_desk.domain.errors import NotFound, ValidationError
from digiknow_desk.domain.loans import WaitStatus
from digiknow_desk.domain.staff import Permission
from digiknow_desk.services import audit
from digiknow_desk.services.context import ServiceContext, requires
from digiknow_desk.storage.models import (
    DeviceKitItemRow,
    DeviceRow,
    DeviceStatusEventRow,
    TagCounterRow,
    VenueRow,
    WaitEntryRow,
    WaitEventRow,
)

BLANK_TAG_PREFIX = "DK"
PAGE_SIZE = 100  # rows per page of a device list: what a screen shows, and quick to fetch
_CHUNK = 500  # values per IN (...) list, well under every database's parameter limit
# A new device may start in any status but "on loan": loans are made at the desk, not typed in.
STARTING_STATUSES = frozenset(DeviceStatus) - {DeviceStatus.ON_LOAN}


def search_text(draft: DeviceDraft) -> str:
    return " ".join(part for part in (draft.tag, draft.serial, draft.make, draft.model) if part).lower()


def _raw(column: Any) -> Any:
    """A UUID column as the database's own text: parsing UUIDs is most of the cost of a page of rows."""
    return type_coerce(column, String)


def devices_query() -> Select[*tuple[Any, ...]]:
    """Every device column as plain rows (much faster than ORM objects for lists).

    Add `.where(...)`, `.order_by(...)`, `.limit(...)` and pass the result to `load_devices`.
    """
    return select(
        DeviceRow.id,
        DeviceRow.tag,
        DeviceRow.device_type,
        DeviceRow.make,
        DeviceRow.model,
        DeviceRow.serial,
        DeviceRow.os,
        DeviceRow.condition,
        DeviceRow.status,
        _raw(DeviceRow.home_venue_id).label("home_venue_id"),
        _raw(DeviceRow.current_venue_id).label("current_venue_id"),
        DeviceRow.source,
        DeviceRow.acquired_on,
        DeviceRow.notes,
    )


def load_devices(session: Session, query: Select[*tuple[Any, ...]]) -> list[Device]:
    """The Device records for a `devices_query()`, in its order, each with its kit and venue names."""
    rows = session.execute(query).all()
    # Venues are few: one small query names them all, keyed by the same raw id text as the rows.
    venues = {
        raw: (venue_id, name)
        for raw, venue_id, name in session.execute(select(_raw(VenueRow.id), VenueRow.id, VenueRow.name))
    }
    no_venue: tuple[uuid.UUID | None, str] = (None, "")
    # Kits keyed by tag, not id, for the same reason.
    kits: dict[str, list[str]] = {}
    ids = [row.id for row in rows]
    for start in range(0, len(ids), _CHUNK):
        items = session.execute(
            select(DeviceRow.tag, DeviceKitItemRow.name)
            .join(DeviceRow, DeviceRow.id == DeviceKitItemRow.device_id)
            .where(DeviceKitItemRow.device_id.in_(ids[start : start + _CHUNK]))
            .order_by(DeviceKitItemRow.device_id, DeviceKitItemRow.position)
        )
        for tag, name in items:
            kits.setdefault(tag, []).append(name)
    devices = []
    for row in rows:
        home_id, home_name = venues.get(row.home_venue_id, no_venue)
        current_id, current_name = venues.get(row.current_venue_id, no_venue)
        devices.append(
            Device(
                id=row.id,
                tag=row.tag,
                device_type=row.device_type,
                make=row.make,
                model=row.model,
                serial=row.serial or "",
                os=row.os,
                condition=row.condition,
                status=row.status,
                home_venue_id=home_id,
                home_venue_name=home_name,
                current_venue_id=current_id,
                current_venue_name=current_name,
                source=row.source,
                acquired_on=row.acquired_on,
                notes=row.notes,
                kit=tuple(kits.get(row.tag, ())),
            )
        )
    return devices


def _unknown_tag(tag: str) -> str:
    return f"No device has the tag '{normalise_tag(tag)}'. Check the label, or add the device first."


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _filtered(query: Select[Any], device_filter: DeviceFilter) -> Select[Any]:
    for word in device_filter.text.lower().split():
        query = query.where(DeviceRow.search_text.like(f"%{_escape_like(word)}%", escape="\\"))
    if device_filter.device_type is not None:
        query = query.where(DeviceRow.device_type == device_filter.device_type)
    if device_filter.status is not None:
        query = query.where(DeviceRow.status == device_filter.status)
    elif not device_filter.include_retired:
        query = query.where(DeviceRow.status != DeviceStatus.RETIRED)
    if device_filter.venue_id is not None:
        query = query.where(
            or_(
                DeviceRow.current_venue_id == device_filter.venue_id,
                DeviceRow.home_venue_id == device_filter.venue_id,
            )
        )
    return query


def taken(session: Session, tags: Sequence[str], serials: Sequence[str]) -> tuple[set[str], dict[str, str]]:
    """Which of `tags` devices already have, and the tag of the device holding each of `serials` in use."""
    tags, serials = list(dict.fromkeys(tags)), list(dict.fromkeys(serials))
    taken_tags: set[str] = set()
    taken_serials: dict[str, str] = {}
    for start in range(0, len(tags), _CHUNK):
        chunk = tags[start : start + _CHUNK]
        taken_tags.update(session.scalars(select(DeviceRow.tag).where(DeviceRow.tag.in_(chunk))))
    for start in range(0, len(serials), _CHUNK):
        chunk = serials[start : start + _CHUNK]
        rows = session.execute(select(DeviceRow.serial, DeviceRow.tag).where(DeviceRow.serial.in_(chunk)))
        taken_serials.update({serial: tag for serial, tag in rows if serial})
    return taken_tags, taken_serials


def move_device(
    session: Session, row: DeviceRow, new_status: DeviceStatus, actor: str, reason: str, at: datetime
) -> None:
    """Move a device to `new_status` if the state machine allows it, keeping who, when and why."""
    check_transition(row.status, new_status)
    last = session.scalar(
        select(func.max(DeviceStatusEventRow.at)).where(DeviceStatusEventRow.device_id == row.id)
    )
    if last is not None and at <= last:
        # History is read in time order: a clock that has not ticked (coarse timers) or has been
        # set back must not put this change before the previous one.
        at = last + timedelta(microseconds=1)
    session.add(
        DeviceStatusEventRow(
            device_id=row.id,
            at=at,
            from_status=row.status,
            to_status=new_status,
            changed_by=actor,
            reason=reason,
        )
    )
    row.status = new_status
    row.updated_at = at


AUDITED_TAGS = 50


class InventoryService:
    def __init__(self, context: ServiceContext) -> None:
        self._context = context

    # Finding devices

    @requires(Permission.SEE_DEVICES)
    def search(self, device_filter: DeviceFilter, *, limit: int = PAGE_SIZE, offset: int = 0) -> list[Device]:
        """One page of the devices that match, in tag order."""
        with self._context.db.read() as session:
            query = (
                _filtered(devices_query(), device_filter).order_by(DeviceRow.tag).limit(limit).offset(offset)
            )
            return load_devices(session, query)

    @requires(Permission.SEE_DEVICES)
    def count(self, device_filter: DeviceFilter) -> int:
        with self._context.db.read() as session:
            query = _filtered(select(func.count()).select_from(DeviceRow), device_filter)
            return int(session.scalar(query) or 0)

    @requires(Permission.SEE_DEVICES)
    def get(self, tag: str) -> Device:
        """The device with this asset tag (any case, surrounding spaces ignored)."""
        device = self.find(tag)
        if device is None:
            raise NotFound(_unknown_tag(tag))
        return device

    @requires(Permission.SEE_DEVICES)
    def find(self, tag: str) -> Device | None:
        """The device a scanned or typed code names, or None when no device has that tag."""
        with self._context.db.read() as session:
            found = load_devices(session, devices_query().where(DeviceRow.tag == normalise_tag(tag)))
            return found[0] if found else None

    @requires(Permission.MANAGE_DEVICES)
    def for_labels(self, tags: Sequence[str] = (), status: DeviceStatus | None = None) -> list[Device]:
        """The devices to print labels for: the tags named, or by status, or every device not retired."""
        with self._context.db.read() as session:
            if tags:
                wanted = list(dict.fromkeys(normalise_tag(tag) for tag in tags))
                found: dict[str, Device] = {}
                for start in range(0, len(wanted), _CHUNK):
                    query = devices_query().where(DeviceRow.tag.in_(wanted[start : start + _CHUNK]))
                    found.update((device.tag, device) for device in load_devices(session, query))
                missing = [tag for tag in wanted if tag not in found]
                if missing:
                    shown = ", ".join(missing[:10]) + (
                        f" and {len(missing) - 10} more" if len(missing) > 10 else ""
                    )
                    raise NotFound(f"No device has the tag {shown}; check the tags and try again.")
                return [found[tag] for tag in wanted]
            device_filter = DeviceFilter(status=status, include_retired=False)
            return load_devices(session, _filtered(devices_query(), device_filter).order_by(DeviceRow.tag))

    @requires(Permission.SEE_DEVICES)
    def history(self, tag: str) -> list[StatusChange]:
        """Every status change of the device, oldest first."""
        with self._context.db.read() as session:
            device = self._row_by_tag(session, tag)
            events = session.scalars(
                select(DeviceStatusEventRow)
                .where(DeviceStatusEventRow.device_id == device.id)
                .order_by(DeviceStatusEventRow.at, DeviceStatusEventRow.id)
            )
            return [
                StatusChange(
                    at=e.at,
                    from_status=e.from_status,
                    to_status=e.to_status,
                    by=e.changed_by,
                    reason=e.reason,
                )
                for e in events
            ]

    # Tags and checks

    @requires(Permission.MANAGE_DEVICES)
    def next_tag(self, device_type: DeviceType) -> str:
        """The next free tag for this type, e.g. TAB-0043 after TAB-0042."""
        with self._context.db.read() as session:
            return format_tag(device_type, self._last_number(session, device_type.tag_prefix) + 1)

    @requires(Permission.MANAGE_DEVICES)
    def reserve_blank_tags(self, count: int) -> list[str]:
        """`count` new tags for blank labels, never handed out before (DK-00001, DK-00002, ...)."""
        if not 1 <= count <= 5000:
            raise ValidationError({"blank": "Print between 1 and 5,000 blank labels at a time."})
        self._context.server_only(
            "Print blank labels", "the server hands out their numbers, so no two venues print the same"
        )
        with self._context.db.write() as session:
            # The migration seeds this row; locking it keeps two desks from taking the same numbers.
            counter = session.get(TagCounterRow, BLANK_TAG_PREFIX, with_for_update=True)
            assert counter is not None, "migration 0001 seeds the blank-tag counter"
            first = max(counter.last_number, self._last_number(session, BLANK_TAG_PREFIX)) + 1
            counter.last_number = first + count - 1
            audit.record(
                session,
                self._context,
                "device.blank_tags",
                f"{BLANK_TAG_PREFIX}-{first:05d}",
                details={"count": count},
            )
            return [f"{BLANK_TAG_PREFIX}-{number:05d}" for number in range(first, first + count)]

    @requires(Permission.MANAGE_DEVICES)
    def problems(self, draft: DeviceDraft, device_id: uuid.UUID | None = None) -> dict[str, str]:
        """Everything wrong with `draft`, including a tag or serial that another device has."""
        draft = draft.cleaned()
        with self._context.db.read() as session:
            return self._problems(session, draft, device_id)

    # Changes

    @requires(Permission.MANAGE_DEVICES)
    def add(
        self, draft: DeviceDraft, status: DeviceStatus = DeviceStatus.AVAILABLE, reason: str = ""
    ) -> Device:
        return self.add_many([draft], status=status, reason=reason)[0]

    @requires(Permission.MANAGE_DEVICES)
    def add_many(
        self, drafts: Sequence[DeviceDraft], status: DeviceStatus = DeviceStatus.AVAILABLE, reason: str = ""
    ) -> list[Device]:
        """Add devices in one transaction: all of them, or (with the reasons) none."""
        return self.add_with_statuses([(draft, status) for draft in drafts], reason)

    @requires(Permission.MANAGE_DEVICES)
    def add_with_statuses(
        self, entries: Sequence[tuple[DeviceDraft, DeviceStatus]], reason: str
    ) -> list[Device]:
        """Add devices, each with its own starting status, in one transaction; all or none."""
        now = self._context.now()
        with self._context.db.write() as session:
            ids: list[uuid.UUID] = []
            device_rows: list[dict[str, object]] = []
            kit_rows: list[dict[str, object]] = []
            event_rows: list[dict[str, object]] = []
            seen_tags: dict[str, int] = {}
            seen_serials: dict[str, int] = {}
            rejected: dict[int, dict[str, str]] = {}
            drafts = [raw.cleaned() for raw, _status in entries]
            taken_tags, taken_serials = taken(
                session, [draft.tag for draft in drafts], [draft.serial for draft in drafts if draft.serial]
            )
            venue_ids = set(session.scalars(select(VenueRow.id)))
            today = self._context.today()
            for index, (draft, (_raw, status)) in enumerate(zip(drafts, entries, strict=True)):
                problems = draft.problems(today)
                if draft.tag in taken_tags:
                    problems["tag"] = f"Another device already has the tag {draft.tag}."
                elif draft.tag in seen_tags:
                    problems["tag"] = f"The tag {draft.tag} appears twice in this batch."
                if draft.serial in taken_serials:
                    problems["serial"] = (
                        f"The serial {draft.serial} is already recorded on {taken_serials[draft.serial]}."
                    )
                elif draft.serial and draft.serial in seen_serials:
                    problems["serial"] = f"The serial {draft.serial} appears twice in this batch."
                for field_name in ("home_venue_id", "current_venue_id"):
                    venue_id = getattr(draft, field_name)
                    if venue_id is not None and venue_id not in venue_ids:
                        problems[field_name] = "That venue no longer exists; choose another."
                if status not in STARTING_STATUSES:
                    problems["status"] = "A new device cannot start on loan: issue it at the desk instead."
                # Remembered even when the draft is rejected for something else, so a later repeat
                # of its tag or serial is reported in the same pass.
                if "tag" not in problems:
                    seen_tags[draft.tag] = index
                if draft.serial and "serial" not in problems:
                    seen_serials[draft.serial] = index
                if problems:
                    rejected[index] = problems
                    continue
                device_id = uuid.uuid4()
                ids.append(device_id)
                device_rows.append(
                    self._columns(draft)
                    | {"id": device_id, "status": status, "created_at": now, "updated_at": now}
                )
                kit_rows.extend(
                    {"id": uuid.uuid4(), "device_id": device_id, "position": position, "name": name}
                    for position, name in enumerate(draft.kit)
                )
                event_rows.append(
                    {
                        "id": uuid.uuid4(),
                        "device_id": device_id,
                        "at": now,
                        "from_status": None,
                        "to_status": status,
                        "changed_by": self._context.actor,
                        "reason": reason or "Added to the inventory",
                    }
                )
            if len(entries) == 1 and rejected:
                raise ValidationError(rejected[0])
            if rejected:
                raise ValidationError(
                    {
                        f"device {index + 1}": "; ".join(dict.fromkeys(problems.values()))
                        for index, problems in rejected.items()
                    }
                )
            if device_rows:
                session.execute(insert(DeviceRow), device_rows)
                if kit_rows:
                    session.execute(insert(DeviceKitItemRow), kit_rows)
                session.execute(insert(DeviceStatusEventRow), event_rows)
                tags = [str(row["tag"]) for row in device_rows]
                audit.record(
                    session,
                    self._context,
                    "device.added",
                    tags[0] if len(tags) == 1 else f"{len(tags)} devices",
                    # A big import names its first tags only: the devices' own history holds the rest.
                    details={"count": len(tags), "tags": tags[:AUDITED_TAGS]},
                )
        return self._by_ids(ids)

    @requires(Permission.MANAGE_DEVICES)
    def update(self, device_id: uuid.UUID, draft: DeviceDraft) -> Device:
        """Save edits to a device's details (its status changes only through `change_status`)."""
        draft = draft.cleaned()
        with self._context.db.write() as session:
            row = session.get(DeviceRow, device_id, with_for_update=True)
            if row is None:
                raise NotFound("That device no longer exists; refresh the list.")
            if problems := self._problems(session, draft, device_id):
                raise ValidationError(problems)
            before = {name: getattr(row, name) for name in self._columns(draft)}
            for name, value in self._columns(draft).items():
                setattr(row, name, value)
            row.updated_at = self._context.now()
            audit.record(
                session,
                self._context,
                "device.changed",
                row.tag,
                details=audit.changes(before, self._columns(draft)),
            )
            # Each line kept in its row (a venue copy's edit then touches only the lines that changed).
            items = row.kit_items[: len(draft.kit)]
            for item, name in zip(items, draft.kit, strict=False):
                item.name = name
            row.kit_items = items + [
                DeviceKitItemRow(position=i, name=name) for i, name in enumerate(draft.kit) if i >= len(items)
            ]
            session.flush()
            return self._device(session, row.id)

    @requires(Permission.MANAGE_DEVICES)
    def change_status(self, tag: str, new_status: DeviceStatus, reason: str) -> Device:
        """Move a device to `new_status` if the state machine allows it, recording who, when and why."""
        reason = reason.strip()
        if not reason:
            raise ValidationError(
                {"reason": "Say why the status changes (e.g. 'Screen cracked, sent for repair')."}
            )
        with self._context.db.write() as session:
            row = self._row_by_tag(session, tag, for_update=True)
            check_manual_change(row.status, new_status)
            now = self._context.now()
            before = row.status
            move_device(session, row, new_status, self._context.actor, reason, now)
            self._withdraw_offer(session, row, reason, now)
            audit.record(
                session,
                self._context,
                "device.status_changed",
                row.tag,
                details={"status": [before, new_status], "reason": reason},
            )
            session.flush()
            return self._device(session, row.id)

    # Helpers

    def _withdraw_offer(self, session: Session, row: DeviceRow, reason: str, at: datetime) -> None:
        """A device held for someone on the waiting list and then taken out of lending by hand (repair,
        lost, retired) is no longer theirs to collect: they wait again, keeping their place."""
        holders = session.scalars(
            select(WaitEntryRow)
            .where(WaitEntryRow.offered_device_id == row.id, WaitEntryRow.status == WaitStatus.OFFERED)
            .with_for_update()
        ).all()
        for entry in holders:
            entry.status, entry.offered_device_id, entry.offer_expires_on = WaitStatus.WAITING, None, None
            why = f"{row.tag} is now {row.status.label.lower()}: {reason}"
            session.add(
                WaitEventRow(
                    entry_id=entry.id, at=at, by=self._context.actor, what="offer withdrawn", reason=why
                )
            )

    def _by_ids(self, ids: Sequence[uuid.UUID]) -> list[Device]:
        with self._context.db.read() as session:
            found: dict[uuid.UUID, Device] = {}
            for start in range(0, len(ids), _CHUNK):
                query = devices_query().where(DeviceRow.id.in_(ids[start : start + _CHUNK]))
                found.update((device.id, device) for device in load_devices(session, query))
            return [found[device_id] for device_id in ids]

    @staticmethod
    def _device(session: Session, device_id: uuid.UUID) -> Device:
        return load_devices(session, devices_query().where(DeviceRow.id == device_id))[0]

    @staticmethod
    def _row_by_tag(session: Session, tag: str, *, for_update: bool = False) -> DeviceRow:
        """The device's row; `for_update` locks it until the transaction ends (a no-op on SQLite, whose
        single writer already has the whole database)."""
        query = select(DeviceRow).where(DeviceRow.tag == normalise_tag(tag))
        row = session.scalar(query.with_for_update() if for_update else query)
        if row is None:
            raise NotFound(_unknown_tag(tag))
        return row

    @staticmethod
    def _last_number(session: Session, prefix: str) -> int:
        tags = session.scalars(select(DeviceRow.tag).where(DeviceRow.tag.like(f"{prefix}-%")))
        numbers = [int(tag[len(prefix) + 1 :]) for tag in tags if tag[len(prefix) + 1 :].isdigit()]
        return max(numbers, default=0)

    @staticmethod
    def _columns(draft: DeviceDraft) -> dict[str, object]:
        return {
            "tag": draft.tag,
            "device_type": draft.device_type,
            "make": draft.make,
            "model": draft.model,
            "serial": draft.serial or None,
            "os": draft.os,
            "condition": draft.condition,
            "home_venue_id": draft.home_venue_id,
            "current_venue_id": draft.current_venue_id,
            "source": draft.source,
            "acquired_on": draft.acquired_on,
            "notes": draft.notes,
            "search_text": search_text(draft),
        }

    def _problems(self, session: Session, draft: DeviceDraft, device_id: uuid.UUID | None) -> dict[str, str]:
        problems = draft.problems(self._context.today())
        if "tag" not in problems:
            clash = session.scalar(select(DeviceRow.id).where(DeviceRow.tag == draft.tag))
            if clash is not None and clash != device_id:
                problems["tag"] = f"Another device already has the tag {draft.tag}."
        if draft.serial and "serial" not in problems:
            clash = session.scalar(select(DeviceRow.id).where(DeviceRow.serial == draft.serial))
            if clash is not None and clash != device_id:
                other = session.scalar(select(DeviceRow.tag).where(DeviceRow.id == clash))
                problems["serial"] = f"The serial {draft.serial} is already recorded on {other}."
        for field_name, venue_id in (
            ("home_venue_id", draft.home_venue_id),
            ("current_venue_id", draft.current_venue_id),
        ):
            if venue_id is not None and session.get(VenueRow, venue_id) is None:
                problems[field_name] = "That venue no longer exists; choose another."
        return problems
