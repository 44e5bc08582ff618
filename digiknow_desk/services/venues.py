"""Venues and wards: the short list kept in Settings."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from digiknow_desk.domain.errors import NotFound, ValidationError
from digiknow_desk.domain.staff import Permission
from digiknow_desk.domain.venues import Venue, VenueDraft, Ward
from digiknow_desk.services import audit
from digiknow_desk.services.context import ServiceContext, requires
from digiknow_desk.services.wards import read_wards
from digiknow_desk.storage.models import VenueRow, WardRow


def venue_record(row: VenueRow) -> Venue:
    return Venue(
        id=row.id, name=row.name, ward_code=row.ward_code, ward_name=row.ward.name, active=row.active
    )


class VenueService:
    def __init__(self, context: ServiceContext) -> None:
        self._context = context

    @requires(Permission.SIGNED_IN)
    def wards(self) -> list[Ward]:
        """Every ward, by name, for choosing a venue's or a resident's ward."""
        with self._context.db.read() as session:
            return read_wards(session)

    @requires(Permission.SIGNED_IN)
    def venues(self, *, active_only: bool = False) -> list[Venue]:
        with self._context.db.read() as session:
            query = select(VenueRow).order_by(VenueRow.name)
            if active_only:
                query = query.where(VenueRow.active.is_(True))
            return [venue_record(row) for row in session.scalars(query)]

    @requires(Permission.CHANGE_SETTINGS)
    def add(self, draft: VenueDraft) -> Venue:
        draft = draft.cleaned()
        with self._context.db.write() as session:
            self._check(session, draft, None)
            row = VenueRow(
                name=draft.name,
                ward_code=draft.ward_code,
                active=draft.active,
                created_at=self._context.now(),
            )
            session.add(row)
            session.flush()
            audit.record(
                session, self._context, "venue.added", row.name[:60], details={"ward": row.ward_code}
            )
            return venue_record(row)

    @requires(Permission.CHANGE_SETTINGS)
    def update(self, venue_id: uuid.UUID, draft: VenueDraft) -> Venue:
        draft = draft.cleaned()
        with self._context.db.write() as session:
            row = session.get(VenueRow, venue_id)
            if row is None:
                raise NotFound("That venue no longer exists; refresh the list.")
            self._check(session, draft, venue_id)
            before = {"name": row.name, "ward": row.ward_code, "active": row.active}
            row.name, row.ward_code, row.active = draft.name, draft.ward_code, draft.active
            after = {"name": row.name, "ward": row.ward_code, "active": row.active}
            audit.record(
                session, self._context, "venue.changed", row.name[:60], details=audit.changes(before, after)
            )
            session.flush()
            session.refresh(row)  # reloads `ward`, which still holds the old ward after a move
            return venue_record(row)

    @staticmethod
    def _check(session: Session, draft: VenueDraft, venue_id: uuid.UUID | None) -> None:
        problems: dict[str, str] = {}
        if not draft.name:
            problems["name"] = "Enter the venue's name, e.g. 'Reddish Library'."
        elif len(draft.name) > 120:
            problems["name"] = "The venue name is too long: keep it under 120 characters."
        else:
            # Compared in Python: SQLite's lower() folds only ASCII letters. The list is short.
            wanted = draft.name.casefold()
            clash = next(
                (
                    id_
                    for id_, name in session.execute(select(VenueRow.id, VenueRow.name))
                    if name.casefold() == wanted
                ),
                None,
            )
            if clash is not None and clash != venue_id:
                problems["name"] = f"There is already a venue called '{draft.name}'."
        if session.get(WardRow, draft.ward_code) is None:
            problems["ward_code"] = "Choose the venue's ward from the list of Stockport's 21 wards."
        if problems:
            raise ValidationError(problems)
