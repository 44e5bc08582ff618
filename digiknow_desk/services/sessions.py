"""Support sessions: log one (or a group) in one go, list them by month, champion and venue, mark their
follow-ups done, and count volunteer hours; each logged session brings its residents' inclusion status up
to date."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import date
from typing import Any, NamedTuple

from sqlalchemy import Select, and_, func, insert, select
from sqlalchemy.orm import Session as DbSession

from digiknow_desk.domain.errors import NotFound, ValidationError
from digiknow_desk.domain.residents import (
    AgeBand,
    ConsentPurpose,
    details_removed,
    normalise_reference,
    support_consent_missing,
)
from digiknow_desk.domain.sessions import (
    ChampionHours,
    HoursKind,
    OtherHours,
    Session,
    SessionAttendee,
    SessionDraft,
    SessionFilter,
    month_bounds,
    topic_from,
)
from digiknow_desk.domain.staff import Permission
from digiknow_desk.services import audit
from digiknow_desk.services.context import ServiceContext, requires
from digiknow_desk.services.inclusion import day_moment, update_statuses
from digiknow_desk.storage.models import (
    ChampionHoursRow,
    ChampionRow,
    LoanRow,
    ResidentConsentRow,
    ResidentRow,
    SessionAttendeeRow,
    SessionChampionRow,
    SessionRow,
    SessionTopicRow,
    VenueRow,
    WardRow,
)

PAGE_SIZE = 100
EVERY_SESSION = SessionFilter()
MAX_OTHER_MINUTES = 12 * 60


def load_sessions(session: DbSession, query: Select[uuid.UUID]) -> list[Session]:
    """The sessions whose ids `query` selects, in its order, with champions, attendees and topics."""
    ids = list(session.scalars(query))
    if not ids:
        return []
    connection = session.connection()
    rows = {
        row.id: row
        for row in connection.execute(
            select(SessionRow.__table__, VenueRow.name.label("venue_name"))
            .outerjoin(VenueRow, VenueRow.id == SessionRow.venue_id)
            .where(SessionRow.id.in_(ids))
        )
    }
    champions: dict[uuid.UUID, list[tuple[uuid.UUID, str]]] = {}
    for session_id, champion_id, name in connection.execute(
        select(SessionChampionRow.session_id, ChampionRow.id, ChampionRow.name)
        .join(ChampionRow, ChampionRow.id == SessionChampionRow.champion_id)
        .where(SessionChampionRow.session_id.in_(ids))
        .order_by(ChampionRow.name)
    ):
        champions.setdefault(session_id, []).append((champion_id, name))
    attendees: dict[uuid.UUID, list[SessionAttendee]] = {}
    for row in connection.execute(
        select(
            SessionAttendeeRow.session_id,
            SessionAttendeeRow.resident_id,
            SessionAttendeeRow.age_band,
            SessionAttendeeRow.ward_code,
            ResidentRow.reference,
            ResidentRow.name,
        )
        .outerjoin(ResidentRow, ResidentRow.id == SessionAttendeeRow.resident_id)
        .where(SessionAttendeeRow.session_id.in_(ids))
    ):
        attendees.setdefault(row.session_id, []).append(
            SessionAttendee(
                resident_id=row.resident_id,
                reference=row.reference or "",
                name=row.name or "Attendee not registered",
                age_band=row.age_band,
                ward_code=row.ward_code,
            )
        )
    topics: dict[uuid.UUID, set[str]] = {}
    for session_id, topic in connection.execute(
        select(SessionTopicRow.session_id, SessionTopicRow.topic).where(SessionTopicRow.session_id.in_(ids))
    ):
        topics.setdefault(session_id, set()).add(topic)
    return [
        Session(
            id=row.id,
            held_on=row.held_on,
            starts_at=row.starts_at,
            minutes=row.minutes,
            kind=row.kind,
            venue_id=row.venue_id,
            venue_name=row.venue_name or "",
            champions=tuple(champions.get(row.id, [])),
            attendees=tuple(sorted(attendees.get(row.id, []), key=_attendee_order)),
            topics=frozenset(topic_from(topic) for topic in topics.get(row.id, ())),
            loan_id=row.loan_id,
            outcome=row.outcome,
            follow_up_on=row.follow_up_on,
            follow_up=row.follow_up,
            follow_up_done_on=row.follow_up_done_on,
            logged_by=row.logged_by,
            logged_at=row.logged_at,
        )
        for session_id in ids
        for row in [rows[session_id]]
    ]


def _attendee_order(attendee: SessionAttendee) -> tuple[bool, str, int, str]:
    """Registered residents by name, then attendees not registered by age band and ward."""
    return (
        attendee.resident_id is None,
        attendee.name.casefold() if attendee.resident_id is not None else "",
        list(AgeBand).index(attendee.age_band),
        attendee.ward_code or "",
    )


class _SortKeys(NamedTuple):
    held_on: Any
    starts_at: Any
    session_id: Any


def _matching(session_filter: SessionFilter) -> tuple[_SortKeys, Select[uuid.UUID]]:
    """The ids of the sessions that match (unordered), and the columns to sort them by. One champion's
    sessions are read from session_champions, which keeps each session's day and start, so its index
    narrows them to the month before any session row is read."""
    keys: _SortKeys
    if session_filter.champion_id is not None:
        keys = _SortKeys(
            SessionChampionRow.held_on, SessionChampionRow.starts_at, SessionChampionRow.session_id
        )
        query = select(keys.session_id).where(SessionChampionRow.champion_id == session_filter.champion_id)
        if session_filter.venue_id is not None:
            query = query.join(SessionRow, SessionRow.id == SessionChampionRow.session_id)
    else:
        keys = _SortKeys(SessionRow.held_on, SessionRow.starts_at, SessionRow.id)
        query = select(keys.session_id)
    if session_filter.month is not None:
        first, following = month_bounds(session_filter.month)
        query = query.where(keys.held_on >= first, keys.held_on < following)
    if session_filter.venue_id is not None:
        query = query.where(SessionRow.venue_id == session_filter.venue_id)
    if session_filter.resident_reference:
        query = query.where(
            keys.session_id.in_(
                select(SessionAttendeeRow.session_id)
                .join(ResidentRow, ResidentRow.id == SessionAttendeeRow.resident_id)
                .where(ResidentRow.reference == normalise_reference(session_filter.resident_reference))
            )
        )
    return keys, query


class SessionService:
    def __init__(self, context: ServiceContext) -> None:
        self._context = context

    # Logging

    @requires(Permission.LOG_SUPPORT)
    def log(self, draft: SessionDraft) -> Session:
        """Record a session that has happened (today or earlier), with everyone it helped, in one go."""
        draft = draft.cleaned()
        problems = draft.problems(self._context.now().astimezone().replace(tzinfo=None))
        now = self._context.now()
        champion_id = self._own_champion()
        if champion_id is not None and champion_id not in draft.champion_ids:
            problems["champions"] = (
                "Add yourself to the champions who ran the session: you log your own sessions."
            )
        with self._context.db.write() as session:
            residents = self._residents(session, draft.resident_references, problems)
            self._check_references(session, draft, list(residents.values()), problems)
            if problems:
                raise ValidationError(problems)
            row = SessionRow(
                held_on=draft.held_on,
                starts_at=draft.starts_at,
                minutes=draft.minutes,
                kind=draft.kind,
                venue_id=draft.venue_id,
                loan_id=draft.loan_id,
                outcome=draft.outcome,
                follow_up_on=draft.follow_up_on,
                follow_up=draft.follow_up,
                logged_by=self._context.actor,
                logged_at=now,
            )
            session.add(row)
            session.flush()
            session.execute(
                insert(SessionChampionRow),
                [
                    {
                        "session_id": row.id,
                        "champion_id": champion_id,
                        "held_on": draft.held_on,
                        "starts_at": draft.starts_at,
                        "minutes": draft.minutes,
                    }
                    for champion_id in draft.champion_ids
                ],
            )
            attendees = [
                {
                    "id": uuid.uuid4(),
                    "session_id": row.id,
                    "resident_id": resident_id,
                    "age_band": age_band,
                    "ward_code": ward_code,
                    "held_on": draft.held_on,
                }
                for resident_id, age_band, ward_code in residents.values()
            ] + [
                {
                    "id": uuid.uuid4(),
                    "session_id": row.id,
                    "resident_id": None,
                    "age_band": anonymous.age_band,
                    "ward_code": anonymous.ward_code,
                    "held_on": draft.held_on,
                }
                for anonymous in draft.anonymous
            ]
            session.execute(insert(SessionAttendeeRow), attendees)
            if draft.topics:
                session.execute(
                    insert(SessionTopicRow),
                    [
                        {"session_id": row.id, "topic": topic.value, "held_on": draft.held_on}
                        for topic in draft.topics
                    ],
                )
            update_statuses(session, day_moment(draft.held_on, now), [r[0] for r in residents.values()])
            self._audit(session, "session.logged", row, list(residents), [r[0] for r in residents.values()])
            return load_sessions(session, select(SessionRow.id).where(SessionRow.id == row.id))[0]

    @requires(Permission.LOG_SUPPORT)
    def delete(self, session_id: uuid.UUID) -> None:
        """Remove a session logged by mistake; its residents' statuses are worked out again."""
        with self._context.db.write() as session:
            row = session.get(SessionRow, session_id, with_for_update=True)
            if row is None:
                raise NotFound("That session was already removed.")
            residents = list(
                session.scalars(
                    select(SessionAttendeeRow.resident_id).where(
                        SessionAttendeeRow.session_id == session_id,
                        SessionAttendeeRow.resident_id.is_not(None),
                    )
                )
            )
            self._check_own(session, session_id)
            references = list(
                session.scalars(select(ResidentRow.reference).where(ResidentRow.id.in_(residents)))
            )
            self._audit(session, "session.deleted", row, references, [r for r in residents if r is not None])
            session.delete(row)
            session.flush()
            update_statuses(session, self._context.now(), [r for r in residents if r is not None])

    @requires(Permission.LOG_SUPPORT)
    def follow_up_done(self, session_id: uuid.UUID, done_on: date | None = None) -> Session:
        """Mark the session's follow-up done on `done_on` (today when None): it leaves the follow-ups
        due. Refused when the session has gone, has no follow-up (or it is already done), or the day is in
        the future or before the session."""
        today = self._context.today()
        day = done_on or today
        with self._context.db.write() as session:
            row = session.get(SessionRow, session_id, with_for_update=True)
            if row is None:
                raise NotFound("That session no longer exists.")
            self._check_own(session, session_id)
            found = load_sessions(session, select(SessionRow.id).where(SessionRow.id == session_id))[0]
            if problems := found.follow_up_done_problems(day, today):
                raise ValidationError(problems)
            row.follow_up_done_on = day
            audit.record(session, self._context, "session.follow_up_done", _subject(row), details={"on": day})
            return replace(found, follow_up_done_on=day)

    # Finding

    @requires(Permission.LOG_SUPPORT)
    def get(self, session_id: uuid.UUID) -> Session:
        with self._context.db.read() as session:
            self._check_own(session, session_id)
            found = load_sessions(session, select(SessionRow.id).where(SessionRow.id == session_id))
        if not found:
            raise NotFound("That session no longer exists.")
        return found[0]

    @requires(Permission.LOG_SUPPORT)
    def sessions(
        self,
        session_filter: SessionFilter = EVERY_SESSION,
        *,
        limit: int = PAGE_SIZE,
        offset: int = 0,  # noqa: B008
    ) -> list[Session]:
        """One page of the sessions that match, newest first (a Digital Champion's own only)."""
        keys, query = _matching(self._scoped(session_filter))
        with self._context.db.read() as session:
            return load_sessions(
                session,
                query.order_by(keys.held_on.desc(), keys.starts_at.desc(), keys.session_id)
                .limit(limit)
                .offset(offset),
            )

    @requires(Permission.LOG_SUPPORT)
    def count(self, session_filter: SessionFilter = EVERY_SESSION) -> int:
        _keys, query = _matching(self._scoped(session_filter))
        with self._context.db.read() as session:
            return int(session.scalar(select(func.count()).select_from(query.subquery())) or 0)

    @requires(Permission.LOG_SUPPORT)
    def follow_ups(self, until: date) -> list[Session]:
        """Sessions with a follow-up still to do, due on or before `until`, soonest first (those already
        passed too); follow-ups marked done are left out."""
        with self._context.db.read() as session:
            query = (
                select(SessionRow.id)
                .where(
                    SessionRow.follow_up_on.is_not(None),
                    SessionRow.follow_up_on <= until,
                    SessionRow.follow_up_done_on.is_(None),
                )
                .order_by(SessionRow.follow_up_on, SessionRow.id)
            )
            if (champion_id := self._own_champion()) is not None:
                query = query.where(SessionRow.id.in_(_sessions_of(champion_id)))
            return load_sessions(session, query)

    # Whose sessions

    def _own_champion(self) -> uuid.UUID | None:
        """The signed-in Digital Champion's own champion record, when their role limits them to their own
        sessions; None for roles that see every session."""
        if self._context.may(Permission.SEE_RESIDENTS):
            return None
        return self._context.staff.champion_id

    def _scoped(self, session_filter: SessionFilter) -> SessionFilter:
        champion_id = self._own_champion()
        return session_filter if champion_id is None else replace(session_filter, champion_id=champion_id)

    def _check_own(self, session: DbSession, session_id: uuid.UUID) -> None:
        champion_id = self._own_champion()
        if champion_id is not None and session_id not in set(session.scalars(_sessions_of(champion_id))):
            raise NotFound("That session is not one of yours: a coordinator can see it.")

    def _audit(
        self,
        session: DbSession,
        action: str,
        row: SessionRow,
        references: list[str],
        resident_ids: list[uuid.UUID],
    ) -> None:
        """A session in the audit trail: its residents by reference (and by id when there is one, so that
        their subject access finds it)."""
        audit.record(
            session,
            self._context,
            action,
            _subject(row),
            resident_id=resident_ids[0] if len(resident_ids) == 1 else None,
            details={"residents": sorted(references), "kind": row.kind.value, "minutes": row.minutes},
        )

    # Volunteer hours

    @requires(Permission.LOG_SUPPORT)
    def add_hours(
        self, champion_id: uuid.UUID, worked_on: date, minutes: int, kind: HoursKind, note: str = ""
    ) -> OtherHours:
        """Record volunteer time outside sessions (training, setting up devices, outreach)."""
        problems = {}
        if not 5 <= minutes <= MAX_OTHER_MINUTES:
            problems["minutes"] = f"Record between 5 minutes and {MAX_OTHER_MINUTES // 60} hours at a time."
        if worked_on > self._context.today():
            problems["worked_on"] = "That date is in the future: record hours once they are worked."
        with self._context.db.write() as session:
            if session.get(ChampionRow, champion_id) is None:
                problems["champion"] = "That champion no longer exists; choose another."
            if self._own_champion() not in (None, champion_id):
                problems["champion"] = "You record your own hours; a coordinator records other champions'."
            if problems:
                raise ValidationError(problems)
            row = ChampionHoursRow(
                champion_id=champion_id,
                worked_on=worked_on,
                minutes=minutes,
                kind=kind,
                note=note.strip(),
                logged_by=self._context.actor,
            )
            session.add(row)
            session.flush()
            audit.record(
                session,
                self._context,
                "hours.added",
                worked_on.isoformat(),
                details={"champion_id": champion_id, "minutes": minutes, "kind": kind.value},
            )
            return OtherHours(row.id, row.champion_id, row.worked_on, row.minutes, row.kind, row.note)

    @requires(Permission.LOG_SUPPORT)
    def hours(self, month: date) -> list[ChampionHours]:
        """Each champion's volunteer time in the month (sessions and other work), by name; champions
        with no time that month are left out."""
        first, following = month_bounds(month)
        with self._context.db.read() as session:
            in_sessions = {
                champion_id: (int(minutes or 0), int(count))
                for champion_id, minutes, count in session.execute(
                    select(SessionChampionRow.champion_id, func.sum(SessionRow.minutes), func.count())
                    .join(SessionRow, SessionRow.id == SessionChampionRow.session_id)
                    .where(SessionRow.held_on >= first, SessionRow.held_on < following)
                    .group_by(SessionChampionRow.champion_id)
                )
            }
            other = {
                champion_id: int(minutes or 0)
                for champion_id, minutes in session.execute(
                    select(ChampionHoursRow.champion_id, func.sum(ChampionHoursRow.minutes))
                    .where(ChampionHoursRow.worked_on >= first, ChampionHoursRow.worked_on < following)
                    .group_by(ChampionHoursRow.champion_id)
                )
            }
            names = {
                champion_id: name
                for champion_id, name in session.execute(
                    select(ChampionRow.id, ChampionRow.name).where(
                        ChampionRow.id.in_(set(in_sessions) | set(other))
                    )
                )
            }
        return sorted(
            (
                ChampionHours(
                    champion_id=champion_id,
                    champion_name=name,
                    month=first,
                    session_minutes=in_sessions.get(champion_id, (0, 0))[0],
                    other_minutes=other.get(champion_id, 0),
                    sessions=in_sessions.get(champion_id, (0, 0))[1],
                )
                for champion_id, name in names.items()
            ),
            key=lambda hours: hours.champion_name.casefold(),
        )

    # Helpers

    @staticmethod
    def _residents(
        session: DbSession, references: tuple[str, ...], problems: dict[str, str]
    ) -> dict[str, tuple[uuid.UUID, AgeBand, str | None]]:
        """The attending residents by reference: (id, age band, ward), as the session keeps them."""
        wanted = [normalise_reference(reference) for reference in references]
        found = {
            row.reference: (row.id, row.age_band, row.ward_code)
            for row in session.execute(
                select(
                    ResidentRow.reference, ResidentRow.id, ResidentRow.age_band, ResidentRow.ward_code
                ).where(ResidentRow.reference.in_(wanted), ResidentRow.anonymised_at.is_(None))
            )
        }
        removed = session.scalars(
            select(ResidentRow.reference).where(
                ResidentRow.reference.in_(wanted), ResidentRow.anonymised_at.is_not(None)
            )
        ).all()
        if removed:
            problems["attendees"] = " ".join(details_removed(reference) for reference in removed)
            wanted = [reference for reference in wanted if reference not in removed]
        missing = [reference for reference in wanted if reference not in found]
        if missing:
            said = problems.get("attendees", "")
            problems["attendees"] = (
                f"{said} No resident has the reference {', '.join(missing)}: search for them by name, or add "
                "them as an attendee who is not registered."
            ).strip()
        agreed = set(
            session.scalars(
                select(ResidentConsentRow.resident_id).where(
                    ResidentConsentRow.resident_id.in_([row[0] for row in found.values()]),
                    ResidentConsentRow.purpose == ConsentPurpose.SUPPORT,
                )
            )
        )
        if refused := [reference for reference, row in found.items() if row[0] not in agreed]:
            said = problems.get("attendees", "")
            problems["attendees"] = f"{said} {support_consent_missing(refused)}".strip()
        return found

    @staticmethod
    def _check_references(
        session: DbSession,
        draft: SessionDraft,
        residents: list[tuple[uuid.UUID, AgeBand, str | None]],
        problems: dict[str, str],
    ) -> None:
        champions = set(session.scalars(select(ChampionRow.id).where(ChampionRow.id.in_(draft.champion_ids))))
        if set(draft.champion_ids) - champions:
            problems["champions"] = "One of the champions no longer exists: choose from the list."
        if draft.venue_id is not None and session.get(VenueRow, draft.venue_id) is None:
            problems["venue"] = "That venue no longer exists: choose from the list."
        wards = {a.ward_code for a in draft.anonymous if a.ward_code}
        if wards and wards - set(session.scalars(select(WardRow.code).where(WardRow.code.in_(wards)))):
            wrong_ward = "Choose an attendee's ward from the list of Stockport's 21 wards."
            problems["attendees"] = f"{problems.get('attendees', '')} {wrong_ward}".strip()
        if draft.loan_id is not None:
            loan = session.scalar(
                select(LoanRow).where(
                    and_(LoanRow.id == draft.loan_id, LoanRow.resident_id.in_([r[0] for r in residents]))
                )
            )
            if loan is None:
                problems["loan"] = "That loan is not one of the attending residents' loans."


def _subject(row: SessionRow) -> str:
    return f"session {row.held_on.isoformat()} {row.kind.value}"


def _sessions_of(champion_id: uuid.UUID) -> Select[uuid.UUID]:
    return select(SessionChampionRow.session_id).where(SessionChampionRow.champion_id == champion_id)
