"""Each resident's inclusion status: worked out by the rule (domain/inclusion.py) from sessions, skills
checks and loans, kept on the resident with its history, and brought up to date in the same transaction
as every change that can move it."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Iterable, Iterator
from datetime import UTC, date, datetime, time

from sqlalchemy import delete, exists, func, insert, or_, select, update
from sqlalchemy.orm import Session, aliased

from digiknow_desk.domain.devices import DeviceType
from digiknow_desk.domain.inclusion import InclusionRule, InclusionStatus, ResidentFacts
from digiknow_desk.domain.skills import SkillLevel
from digiknow_desk.domain.staff import Permission
from digiknow_desk.services import audit
from digiknow_desk.services.context import ServiceContext, requires
from digiknow_desk.services.settings import read_setting, write_setting
from digiknow_desk.storage.models import (
    DeviceRow,
    InclusionChangeRow,
    LoanRow,
    ResidentRow,
    SessionAttendeeRow,
    SettingRow,
    SkillsCheckRow,
)

RULE_KEY = "inclusion_rule"
RECOMPUTE_PENDING_KEY = "inclusion_recompute_pending"  # set by migration 0004
_CHUNK = 500  # ids per IN (...) list


def day_moment(day: date, now: datetime) -> datetime:
    """When a status changed because of a record that is dated rather than timed (a session, a skills
    check): now for today's, midday where the desk is for an earlier day's."""
    if day >= now.astimezone().date():
        return now
    return datetime.combine(day, time(12)).astimezone(UTC)


def read_rule(session: Session) -> InclusionRule:
    saved = read_setting(session, RULE_KEY)
    if saved is None:
        return InclusionRule()
    return InclusionRule(
        foundation=SkillLevel(saved["foundation"]),
        areas_alone=int(saved["areas_alone"]),
        loans_count_as_access=bool(saved["loans_count_as_access"]),
    )


def _stored_and_facts(
    session: Session, ids: Collection[uuid.UUID] | None
) -> Iterator[tuple[uuid.UUID, InclusionStatus, ResidentFacts]]:
    """Each resident's stored status and what the rule needs to know, for the residents with `ids`
    (every resident when None): one query, reading each resident's latest skills check and latest
    answer on closing a loan through indexes that cover them, so 50,000 residents take about a second."""
    check = aliased(SkillsCheckRow)
    answer = aliased(LoanRow)
    latest_check = (
        select(SkillsCheckRow.id)
        .where(SkillsCheckRow.resident_id == ResidentRow.id)
        .order_by(SkillsCheckRow.checked_on.desc(), SkillsCheckRow.recorded_at.desc())
        .limit(1)
        .scalar_subquery()
    )
    # The answer given when their latest loan closed counts instead, if it is newer than the check.
    latest_answer = (
        select(LoanRow.id)
        .where(
            LoanRow.resident_id == ResidentRow.id,
            LoanRow.closed_at.is_not(None),
            LoanRow.own_device_after.is_not(None),
        )
        .order_by(LoanRow.closed_at.desc())
        .limit(1)
        .scalar_subquery()
    )
    supported = or_(
        check.id.is_not(None),
        exists().where(LoanRow.resident_id == ResidentRow.id),
        exists().where(SessionAttendeeRow.resident_id == ResidentRow.id),
    )
    query = (
        select(
            ResidentRow.id,
            ResidentRow.inclusion_status,
            supported,
            check.checked_on,
            check.recorded_at,
            check.own_device,
            check.own_connection,
            check.foundation,
            check.areas_alone,
            answer.closed_at,
            answer.own_device_after,
            answer.own_connection_after,
        )
        .select_from(ResidentRow)
        .outerjoin(check, check.id == latest_check)
        .outerjoin(answer, answer.id == latest_answer)
    )
    open_loans = select(LoanRow.resident_id, DeviceRow.device_type).join(
        DeviceRow, DeviceRow.id == LoanRow.device_id
    )
    on_loan: dict[uuid.UUID, set[DeviceType]] = {}
    for id_chunk in _chunks(ids):
        narrowed = open_loans.where(LoanRow.closed_at.is_(None))
        if id_chunk is not None:
            narrowed = narrowed.where(LoanRow.resident_id.in_(id_chunk))
        for resident_id, device_type in session.execute(narrowed):
            on_loan.setdefault(resident_id, set()).add(device_type)
    for id_chunk in _chunks(ids):
        rows = session.execute(query if id_chunk is None else query.where(ResidentRow.id.in_(id_chunk)))
        for row in rows:
            (resident_id, stored, is_supported, checked_on, recorded_at, own_device, own_connection) = row[:7]
            if not is_supported:
                yield resident_id, stored, _NOT_YET
                continue
            if checked_on is not None:
                access = (own_device, own_connection)
            else:
                access = (False, False)
            closed_at = row.closed_at
            # Which answer is newer: by the day it is about, then by when it was recorded.
            if closed_at is not None and (
                checked_on is None or (checked_on, recorded_at) <= (closed_at.astimezone().date(), closed_at)
            ):
                access = (bool(row.own_device_after), bool(row.own_connection_after))
            yield (
                resident_id,
                stored,
                ResidentFacts(
                    supported=True,
                    foundation=row.foundation,
                    areas_alone=row.areas_alone or 0,
                    own_device=access[0],
                    own_connection=access[1],
                    on_loan=frozenset(on_loan.get(resident_id, ())),
                ),
            )


_NOT_YET = ResidentFacts(
    supported=False, foundation=None, areas_alone=0, own_device=False, own_connection=False
)


def _chunks(ids: Collection[uuid.UUID] | None) -> Iterator[list[uuid.UUID] | None]:
    """`ids` in lists short enough for one IN (...); a single None for every resident."""
    if ids is None:
        yield None
        return
    id_list = list(ids)
    for start in range(0, len(id_list), _CHUNK):
        yield id_list[start : start + _CHUNK]


def update_statuses(
    session: Session, at: datetime, ids: Iterable[uuid.UUID] | None = None, rule: InclusionRule | None = None
) -> int:
    """Bring the stored status of the residents with `ids` (every resident when None) in line with the
    rule, inside the caller's transaction, keeping each change with `at`; how many changed."""
    wanted = None if ids is None else set(ids)
    if wanted is not None:
        # Locked first, so two desks changing one resident at once (on PostgreSQL) cannot each work
        # from facts that miss the other's change.
        session.execute(select(ResidentRow.id).where(ResidentRow.id.in_(wanted)).with_for_update())
    rule = rule or read_rule(session)
    changes = [
        (resident_id, old, new)
        for resident_id, old, facts in _stored_and_facts(session, wanted)
        if (new := rule.status(facts)) is not old
    ]
    for status in InclusionStatus:
        moved = [resident_id for resident_id, _old, new in changes if new is status]
        for start in range(0, len(moved), _CHUNK):
            session.execute(
                update(ResidentRow)
                .where(ResidentRow.id.in_(moved[start : start + _CHUNK]))
                .values(inclusion_status=status)
                .execution_options(synchronize_session=False)
            )
    if changes:
        session.execute(
            insert(InclusionChangeRow),
            [
                {
                    "id": uuid.uuid4(),
                    "resident_id": resident_id,
                    "at": at,
                    "from_status": old,
                    "to_status": new,
                }
                for resident_id, old, new in changes
            ],
        )
    return len(changes)


class InclusionService:
    def __init__(self, context: ServiceContext) -> None:
        self._context = context

    @requires(Permission.SIGNED_IN)
    def rule(self) -> InclusionRule:
        with self._context.db.read() as session:
            return read_rule(session)

    @requires(Permission.CHANGE_SETTINGS)
    def set_rule(self, rule: InclusionRule) -> int:
        """Save a coordinator's rule and work out every resident's status by it; how many changed."""
        rule.check()
        with self._context.db.write() as session:
            write_setting(
                session,
                self._context,
                RULE_KEY,
                {
                    "foundation": rule.foundation.value,
                    "areas_alone": rule.areas_alone,
                    "loans_count_as_access": rule.loans_count_as_access,
                },
            )
            return update_statuses(session, self._context.now(), rule=rule)

    @requires(Permission.CHANGE_SETTINGS)
    def recompute_all(self) -> int:
        """Work out every resident's status again (after an upgrade or an import); how many changed."""
        with self._context.db.write() as session:
            session.execute(delete(SettingRow).where(SettingRow.key == RECOMPUTE_PENDING_KEY))
            changed = update_statuses(session, self._context.now())
            audit.record(session, self._context, "inclusion.recomputed", details={"changed": changed})
            return changed

    @requires(Permission.SIGNED_IN)
    def recompute_if_pending(self) -> bool:
        """Work out every status if an upgrade asked for it (migration 0004 on existing residents)."""
        with self._context.db.read() as session:
            if read_setting(session, RECOMPUTE_PENDING_KEY) is None:
                return False
        self.recompute_all()
        return True

    @requires(Permission.SEE_REPORTS)
    def counts(self) -> dict[InclusionStatus, int]:
        with self._context.db.read() as session:
            found = {
                status: count
                for status, count in session.execute(
                    select(ResidentRow.inclusion_status, func.count()).group_by(ResidentRow.inclusion_status)
                )
            }
        return {status: int(found.get(status, 0)) for status in InclusionStatus}
