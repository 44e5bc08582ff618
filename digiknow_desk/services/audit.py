"""The audit trail: every change recorded in the same transaction as the change, and read back filtered.

Entries keep no more personal data than they need: a resident is named by their reference and id, never
by name or contact details, and for a resident's record only the names of the fields that changed are
kept, not their values. Erasure and retention blank the entries about a resident (see data_protection).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from digiknow_desk.domain.spreadsheet import spreadsheet_safe
from digiknow_desk.domain.staff import Permission, StaffMember
from digiknow_desk.services.context import ServiceContext, requires
from digiknow_desk.services.files import write_csv
from digiknow_desk.storage.models import AuditEntryRow

PAGE_SIZE = 200


def record(
    session: Session,
    context: ServiceContext,
    action: str,
    subject: str = "",
    *,
    resident_id: uuid.UUID | None = None,
    details: Mapping[str, Any] | None = None,
    staff: StaffMember | None = None,
) -> None:
    """Add one entry to the audit trail, inside the caller's transaction (so it commits with the change
    or not at all). `action` is a short dotted name, e.g. "loan.issued". `staff` names who acted when
    no one is signed in yet (signing in, a lock-out)."""
    staff = staff or context.staff
    session.add(
        AuditEntryRow(
            at=context.now(),
            username=staff.username,
            staff_name=staff.display_name,
            machine=context.desk.machine,
            action=action,
            subject=subject[:60],
            resident_id=resident_id,
            details=json.dumps(dict(details), sort_keys=True, default=str) if details else "",
            redacted=False,
        )
    )


def changed_fields(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[str]:
    """The names of the fields whose value differs (the audit keeps these for personal records)."""
    return sorted(name for name in after if before.get(name) != after[name])


def changes(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, list[Any]]:
    """Field -> [old, new] for the fields that differ (for records with no personal data in them)."""
    return {
        name: [before.get(name), after[name]] for name in sorted(after) if before.get(name) != after[name]
    }


@dataclass(frozen=True)
class AuditEntry:
    id: int
    at: datetime
    username: str
    staff_name: str
    machine: str
    action: str
    subject: str
    resident_id: uuid.UUID | None
    details: dict[str, Any]
    redacted: bool

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "at": self.at.isoformat(),
            "username": self.username,
            "staff_name": self.staff_name,
            "machine": self.machine,
            "action": self.action,
            "subject": self.subject,
            "resident_id": str(self.resident_id) if self.resident_id else None,
            "details": self.details,
            "redacted": self.redacted,
        }


@dataclass(frozen=True)
class AuditFilter:
    """What to show: all of it, or by who, what kind of action, subject and dates (local days, inclusive)."""

    username: str = ""
    action: str = ""  # a prefix: "loan" matches loan.issued, loan.returned, ...
    subject: str = ""
    resident_id: uuid.UUID | None = None
    from_day: date | None = None
    to_day: date | None = None


def _entry(row: AuditEntryRow) -> AuditEntry:
    return AuditEntry(
        id=row.id,
        at=row.at,
        username=row.username,
        staff_name=row.staff_name,
        machine=row.machine,
        action=row.action,
        subject=row.subject,
        resident_id=row.resident_id,
        details=json.loads(row.details) if row.details else {},
        redacted=row.redacted,
    )


def _local_midnight(day: date) -> datetime:
    return datetime.combine(day, time()).astimezone()


def _filtered(query: Select[Any], chosen: AuditFilter) -> Select[Any]:
    if chosen.username:
        query = query.where(AuditEntryRow.username == chosen.username.strip().lower())
    if chosen.action:
        query = query.where(AuditEntryRow.action.startswith(chosen.action.strip(), autoescape=True))
    if chosen.subject:
        # Tags and references are upper case, user names lower case: typed either way, they match.
        query = query.where(func.upper(AuditEntryRow.subject) == chosen.subject.strip().upper())
    if chosen.resident_id is not None:
        query = query.where(AuditEntryRow.resident_id == chosen.resident_id)
    if chosen.from_day is not None:
        query = query.where(AuditEntryRow.at >= _local_midnight(chosen.from_day))
    if chosen.to_day is not None:
        query = query.where(AuditEntryRow.at < _local_midnight(chosen.to_day + timedelta(days=1)))
    return query


EXPORT_COLUMNS = ("id", "at", "username", "staff_name", "machine", "action", "subject", "details")


class AuditService:
    """Reading the audit trail (coordinators and administrators); writing is `record`, by every service."""

    def __init__(self, context: ServiceContext) -> None:
        self._context = context

    @requires(Permission.SEE_AUDIT)
    def entries(
        self, chosen: AuditFilter = AuditFilter(), *, limit: int = PAGE_SIZE, offset: int = 0
    ) -> list[AuditEntry]:
        """The entries that match, newest first."""
        query = _filtered(select(AuditEntryRow), chosen).order_by(AuditEntryRow.id.desc())
        with self._context.db.read() as session:
            return [_entry(row) for row in session.scalars(query.limit(limit).offset(offset))]

    @requires(Permission.SEE_AUDIT)
    def count(self, chosen: AuditFilter = AuditFilter()) -> int:
        with self._context.db.read() as session:
            return session.scalar(_filtered(select(func.count()).select_from(AuditEntryRow), chosen)) or 0

    @requires(Permission.SEE_AUDIT)
    def export_csv(self, path: Path, chosen: AuditFilter = AuditFilter()) -> int:
        """Write the matching entries, oldest first, to a CSV file; returns how many."""
        query = _filtered(select(AuditEntryRow), chosen).order_by(AuditEntryRow.id)
        with self._context.db.read() as session:
            entries = [_entry(row) for row in session.scalars(query)]
        write_csv(path, EXPORT_COLUMNS, (_export_row(entry) for entry in entries))
        return len(entries)


def _export_row(entry: AuditEntry) -> list[str]:
    values = entry.as_json()
    values["details"] = json.dumps(entry.details, sort_keys=True) if entry.details else ""
    return [
        spreadsheet_safe(str(values[column] if values[column] is not None else ""))
        for column in EXPORT_COLUMNS
    ]
