"""Each resident's inclusion status: worked out by the rule (domain/inclusion.py) from sessions, skills
checks and loans, kept on the resident with its history, and brought up to date in the same transaction
as every change that can move it."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Iterable
from datetime import UTC, date, datetime, time
from typing import Any, TypeVar

from sqlalchemy import Select, delete, func, insert, select, union, update
from sqlalchemy.orm import Session

from digiknow_desk.domain.devices import DeviceType
from digiknow_desk.domain.inclusion import InclusionRule, InclusionStatus, ResidentFacts
from digiknow_desk.domain.skills import SkillArea, SkillLevel
from digiknow_desk.services.context import ServiceContext
from digiknow_desk.services.settings import read_setting, write_setting
from digiknow_desk.storage.models import (
    DeviceRow,
    InclusionChangeRow,
    LoanRow,
    ResidentRow,
    SessionAttendeeRow,
    SettingRow,
    SkillsCheckLevelRow,
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


SelectT = TypeVar("SelectT", bound=Select[*tuple[Any, ...]])


def _only(query: SelectT, column: Any, ids: Collection[uuid.UUID] | None) -> SelectT:
    """`query` narrowed to the residents with `ids` in `column` (all residents when None)."""
    return query if ids is None else query.where(column.in_(ids))


def resident_facts(
    session: Session, ids: Collection[uuid.UUID] | None = None
) -> dict[uuid.UUID, ResidentFacts]:
    """What the rule needs to know, for the residents with `ids` (every resident when None), read in a
    few set queries rather than one resident at a time. Residents with no records are left out."""
    supported: set[uuid.UUID] = set(
        session.scalars(
            union(
                _only(
                    select(SessionAttendeeRow.resident_id).where(SessionAttendeeRow.resident_id.is_not(None)),
                    SessionAttendeeRow.resident_id,
                    ids,
                ),
                _only(select(LoanRow.resident_id), LoanRow.resident_id, ids),
                _only(select(SkillsCheckRow.resident_id), SkillsCheckRow.resident_id, ids),
            )
        )
    )
    # The latest skills check of each: its levels, and its answer about their own device and connection.
    latest = (
        _only(
            select(
                SkillsCheckRow.id,
                SkillsCheckRow.resident_id,
                SkillsCheckRow.checked_on,
                SkillsCheckRow.own_device,
                SkillsCheckRow.own_connection,
                SkillsCheckRow.recorded_at,
                func.row_number()
                .over(
                    partition_by=SkillsCheckRow.resident_id,
                    order_by=(SkillsCheckRow.checked_on.desc(), SkillsCheckRow.recorded_at.desc()),
                )
                .label("newest"),
            ),
            SkillsCheckRow.resident_id,
            ids,
        )
    ).subquery()
    checks = {
        row.resident_id: row
        for row in session.execute(
            select(
                latest.c.id,
                latest.c.resident_id,
                latest.c.checked_on,
                latest.c.own_device,
                latest.c.own_connection,
                latest.c.recorded_at,
            ).where(latest.c.newest == 1)
        )
    }
    levels: dict[uuid.UUID, dict[SkillArea, SkillLevel]] = {}
    check_ids = {row.id: resident_id for resident_id, row in checks.items()}
    id_list = list(check_ids)
    for start in range(0, len(id_list), _CHUNK):
        for check_id, area, level in session.execute(
            select(SkillsCheckLevelRow.check_id, SkillsCheckLevelRow.area, SkillsCheckLevelRow.level).where(
                SkillsCheckLevelRow.check_id.in_(id_list[start : start + _CHUNK])
            )
        ):
            levels.setdefault(check_ids[check_id], {})[area] = level
    # The answer given when their latest loan closed counts instead, if it is newer than the check.
    closed = (
        _only(
            select(
                LoanRow.resident_id,
                LoanRow.closed_at,
                LoanRow.own_device_after,
                LoanRow.own_connection_after,
                func.row_number()
                .over(partition_by=LoanRow.resident_id, order_by=LoanRow.closed_at.desc())
                .label("newest"),
            ).where(LoanRow.closed_at.is_not(None), LoanRow.own_device_after.is_not(None)),
            LoanRow.resident_id,
            ids,
        )
    ).subquery()
    # Which answer is newer: by the day it is about, then by when it was recorded.
    access = {
        resident_id: (row.own_device, row.own_connection, (row.checked_on, row.recorded_at))
        for resident_id, row in checks.items()
    }
    for row in session.execute(select(closed).where(closed.c.newest == 1)):
        answered = (row.closed_at.astimezone().date(), row.closed_at)
        if row.resident_id not in access or access[row.resident_id][2] <= answered:
            access[row.resident_id] = (bool(row.own_device_after), bool(row.own_connection_after), answered)
    on_loan: dict[uuid.UUID, set[DeviceType]] = {}
    for resident_id, device_type in session.execute(
        _only(
            select(LoanRow.resident_id, DeviceRow.device_type)
            .join(DeviceRow, DeviceRow.id == LoanRow.device_id)
            .where(LoanRow.closed_at.is_(None)),
            LoanRow.resident_id,
            ids,
        )
    ):
        on_loan.setdefault(resident_id, set()).add(device_type)
    return {
        resident_id: ResidentFacts(
            supported=True,
            levels=levels.get(resident_id, {}),
            own_device=resident_id in access and access[resident_id][0],
            own_connection=resident_id in access and access[resident_id][1],
            on_loan=frozenset(on_loan.get(resident_id, ())),
        )
        for resident_id in supported
    }


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
    facts = resident_facts(session, wanted)
    not_yet = ResidentFacts(supported=False, levels={}, own_device=False, own_connection=False)
    current = session.execute(
        _only(select(ResidentRow.id, ResidentRow.inclusion_status), ResidentRow.id, wanted)
    )
    changes = [
        (resident_id, old, new)
        for resident_id, old in current
        if (new := rule.status(facts.get(resident_id, not_yet))) is not old
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

    def rule(self) -> InclusionRule:
        with self._context.db.read() as session:
            return read_rule(session)

    def set_rule(self, rule: InclusionRule) -> int:
        """Save a coordinator's rule and work out every resident's status by it; how many changed."""
        rule.check()
        with self._context.db.write() as session:
            write_setting(
                session,
                RULE_KEY,
                {
                    "foundation": rule.foundation.value,
                    "areas_alone": rule.areas_alone,
                    "loans_count_as_access": rule.loans_count_as_access,
                },
            )
            return update_statuses(session, self._context.now(), rule=rule)

    def recompute_all(self) -> int:
        """Work out every resident's status again (after an upgrade or an import); how many changed."""
        with self._context.db.write() as session:
            session.execute(delete(SettingRow).where(SettingRow.key == RECOMPUTE_PENDING_KEY))
            return update_statuses(session, self._context.now())

    def recompute_if_pending(self) -> bool:
        """Work out every status if an upgrade asked for it (migration 0004 on existing residents)."""
        with self._context.db.read() as session:
            if read_setting(session, RECOMPUTE_PENDING_KEY) is None:
                return False
        self.recompute_all()
        return True

    def counts(self) -> dict[InclusionStatus, int]:
        with self._context.db.read() as session:
            found = {
                status: count
                for status, count in session.execute(
                    select(ResidentRow.inclusion_status, func.count()).group_by(ResidentRow.inclusion_status)
                )
            }
        return {status: int(found.get(status, 0)) for status in InclusionStatus}
