"""Digital Champions: add and edit them, the venues they help at, and warnings before training or a
DBS check lapses."""

from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from digiknow_desk.domain.champions import Champion, ChampionDraft, ChampionRules
from digiknow_desk.domain.errors import NotFound, ValidationError
from digiknow_desk.domain.staff import Permission
from digiknow_desk.services import audit
from digiknow_desk.services.context import ServiceContext, requires
from digiknow_desk.services.settings import read_setting, write_setting
from digiknow_desk.storage.models import ChampionRow, ChampionVenueRow, VenueRow

RULES_KEY = "champion_rules"


def load_champions(
    session: Session, ids: list[uuid.UUID] | None = None, *, active_only: bool = False
) -> list[Champion]:
    """Champions by name, with the venues each helps at."""
    query = select(ChampionRow).order_by(ChampionRow.name)
    if ids is not None:
        query = query.where(ChampionRow.id.in_(ids))
    if active_only:
        query = query.where(ChampionRow.active.is_(True))
    rows = list(session.scalars(query))
    venues: dict[uuid.UUID, list[tuple[uuid.UUID, str]]] = {}
    for champion_id, venue_id, name in session.execute(
        select(ChampionVenueRow.champion_id, VenueRow.id, VenueRow.name)
        .join(VenueRow, VenueRow.id == ChampionVenueRow.venue_id)
        .where(ChampionVenueRow.champion_id.in_([row.id for row in rows]))
        .order_by(VenueRow.name)
    ):
        venues.setdefault(champion_id, []).append((venue_id, name))
    return [
        Champion(
            id=row.id,
            name=row.name,
            phone=row.phone,
            email=row.email,
            venues=tuple(venues.get(row.id, [])),
            trained_on=row.trained_on,
            dbs_checked_on=row.dbs_checked_on,
            active=row.active,
        )
        for row in rows
    ]


def read_rules(session: Session) -> ChampionRules:
    saved = read_setting(session, RULES_KEY)
    return ChampionRules() if saved is None else ChampionRules(**{k: int(v) for k, v in saved.items()})


class ChampionService:
    def __init__(self, context: ServiceContext) -> None:
        self._context = context

    @requires(Permission.LOG_SUPPORT)
    def champions(self, *, active_only: bool = False) -> list[Champion]:
        with self._context.db.read() as session:
            return load_champions(session, active_only=active_only)

    @requires(Permission.LOG_SUPPORT)
    def get(self, champion_id: uuid.UUID) -> Champion:
        with self._context.db.read() as session:
            found = load_champions(session, [champion_id])
        if not found:
            raise NotFound("That champion no longer exists; choose another.")
        return found[0]

    @requires(Permission.LOG_SUPPORT)
    def find(self, name: str) -> Champion:
        """The champion with this name (any case), for the command line."""
        wanted = " ".join(name.split()).casefold()
        matches = [champion for champion in self.champions() if champion.name.casefold() == wanted]
        if not matches:
            raise NotFound(f"No champion is called '{name}'. 'champions list' shows who is registered.")
        return matches[0]

    @requires(Permission.CHANGE_SETTINGS)
    def add(self, draft: ChampionDraft) -> Champion:
        draft = draft.cleaned()
        now = self._context.now()
        with self._context.db.write() as session:
            self._check(session, draft, None)
            row = ChampionRow(
                name=draft.name,
                phone=draft.phone,
                email=draft.email,
                trained_on=draft.trained_on,
                dbs_checked_on=draft.dbs_checked_on,
                active=draft.active,
                created_at=now,
                updated_at=now,
            )
            session.add(row)
            session.flush()
            self._set_venues(session, row.id, draft.venue_ids)
            audit.record(session, self._context, "champion.added", row.name[:60])
            return load_champions(session, [row.id])[0]

    @requires(Permission.CHANGE_SETTINGS)
    def update(self, champion_id: uuid.UUID, draft: ChampionDraft) -> Champion:
        draft = draft.cleaned()
        with self._context.db.write() as session:
            row = session.get(ChampionRow, champion_id, with_for_update=True)
            if row is None:
                raise NotFound("That champion no longer exists; choose another.")
            self._check(session, draft, champion_id)
            before = {"name": row.name, "phone": row.phone, "email": row.email, "active": row.active}
            before |= {"trained_on": row.trained_on, "dbs_checked_on": row.dbs_checked_on}
            row.name, row.phone, row.email = draft.name, draft.phone, draft.email
            row.trained_on, row.dbs_checked_on, row.active = (
                draft.trained_on,
                draft.dbs_checked_on,
                draft.active,
            )
            row.updated_at = self._context.now()
            self._set_venues(session, row.id, draft.venue_ids)
            after = {"name": row.name, "phone": row.phone, "email": row.email, "active": row.active}
            after |= {"trained_on": row.trained_on, "dbs_checked_on": row.dbs_checked_on}
            audit.record(
                session,
                self._context,
                "champion.changed",
                row.name[:60],
                details={"fields": audit.changed_fields(before, after)},
            )
            session.flush()
            return load_champions(session, [row.id])[0]

    # Training and DBS checks

    @requires(Permission.LOG_SUPPORT)
    def rules(self) -> ChampionRules:
        with self._context.db.read() as session:
            return read_rules(session)

    @requires(Permission.CHANGE_SETTINGS)
    def set_rules(self, rules: ChampionRules) -> None:
        rules.check()
        with self._context.db.write() as session:
            write_setting(
                session,
                self._context,
                RULES_KEY,
                {
                    "training_months": rules.training_months,
                    "dbs_months": rules.dbs_months,
                    "warn_days": rules.warn_days,
                },
            )

    @requires(Permission.LOG_SUPPORT)
    def warnings(self, today: date | None = None) -> list[tuple[Champion, list[str]]]:
        """Active champions whose training or DBS check has lapsed, lapses soon, or was never recorded."""
        day = today or self._context.today()
        with self._context.db.read() as session:
            rules = read_rules(session)
            champions = load_champions(session, active_only=True)
        return [(c, found) for c in champions if (found := c.warnings(rules, day))]

    # Helpers

    def _check(self, session: Session, draft: ChampionDraft, champion_id: uuid.UUID | None) -> None:
        problems = draft.problems(self._context.today())
        # Compared in Python: SQLite's lower() folds only ASCII, and 'Zoë' and 'ZOË' are one name.
        others = session.scalars(select(ChampionRow.name).where(ChampionRow.id != champion_id))
        if draft.name and draft.name.casefold() in {name.casefold() for name in others}:
            problems["name"] = f"A champion called {draft.name} is already registered: edit them instead."
        known = set(session.scalars(select(VenueRow.id).where(VenueRow.id.in_(draft.venue_ids))))
        if set(draft.venue_ids) - known:
            problems["venues"] = "One of the venues no longer exists: choose from the list."
        if problems:
            raise ValidationError(problems)

    @staticmethod
    def _set_venues(session: Session, champion_id: uuid.UUID, venue_ids: frozenset[uuid.UUID]) -> None:
        session.execute(delete(ChampionVenueRow).where(ChampionVenueRow.champion_id == champion_id))
        session.add_all(
            ChampionVenueRow(champion_id=champion_id, venue_id=venue_id) for venue_id in venue_ids
        )
