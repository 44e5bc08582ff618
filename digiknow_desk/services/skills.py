"""Skills checks: what a resident can do against the Essential Digital Skills framework, recorded at the
start (the baseline) and again later; each check brings the resident's inclusion status up to date."""

from __future__ import annotations

import uuid

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from digiknow_desk.domain.errors import NotFound, ValidationError
from digiknow_desk.domain.residents import (
    ConsentPurpose,
    details_removed,
    normalise_reference,
    support_consent_missing,
)
from digiknow_desk.domain.skills import SkillArea, SkillLevel, SkillsCheck, SkillsCheckDraft, areas_alone
from digiknow_desk.domain.staff import Permission
from digiknow_desk.services import audit
from digiknow_desk.services.context import ServiceContext, requires
from digiknow_desk.services.inclusion import day_moment, update_statuses
from digiknow_desk.services.residents import supported_by
from digiknow_desk.storage.models import ResidentConsentRow, ResidentRow, SkillsCheckLevelRow, SkillsCheckRow


def _checks(session: Session, resident_id: uuid.UUID) -> list[SkillsCheck]:
    rows = list(
        session.scalars(
            select(SkillsCheckRow)
            .where(SkillsCheckRow.resident_id == resident_id)
            .order_by(SkillsCheckRow.checked_on, SkillsCheckRow.recorded_at)
        )
    )
    levels: dict[uuid.UUID, dict[SkillArea, SkillLevel]] = {}
    for check_id, area, level in session.execute(
        select(SkillsCheckLevelRow.check_id, SkillsCheckLevelRow.area, SkillsCheckLevelRow.level).where(
            SkillsCheckLevelRow.check_id.in_([row.id for row in rows])
        )
    ):
        levels.setdefault(check_id, {})[area] = level
    return [
        SkillsCheck(
            id=row.id,
            resident_id=row.resident_id,
            checked_on=row.checked_on,
            checked_by=row.checked_by,
            levels=levels.get(row.id, {}),
            own_device=row.own_device,
            own_connection=row.own_connection,
            note=row.note,
            baseline=number == 0,
        )
        for number, row in enumerate(rows)
    ]


class SkillsService:
    def __init__(self, context: ServiceContext) -> None:
        self._context = context

    @requires(Permission.LOG_SUPPORT)
    def record(self, reference: str, draft: SkillsCheckDraft) -> SkillsCheck:
        """Keep a skills check (the first one is the resident's baseline) and update their status."""
        if problems := draft.problems(self._context.today()):
            raise ValidationError(problems)
        with self._context.db.write() as session:
            resident_id = self._resident_id(session, reference)
            if session.scalar(select(ResidentRow.anonymised_at).where(ResidentRow.id == resident_id)):
                raise ValidationError({"resident": details_removed(normalise_reference(reference))})
            agreed = session.scalar(
                select(ResidentConsentRow.id).where(
                    ResidentConsentRow.resident_id == resident_id,
                    ResidentConsentRow.purpose == ConsentPurpose.SUPPORT,
                )
            )
            if agreed is None:
                raise ValidationError({"consent": support_consent_missing([normalise_reference(reference)])})
            row = SkillsCheckRow(
                resident_id=resident_id,
                checked_on=draft.checked_on,
                checked_by=self._context.actor,
                own_device=draft.own_device,
                own_connection=draft.own_connection,
                note=draft.note.strip(),
                recorded_at=self._context.now(),
                foundation=draft.levels[SkillArea.FOUNDATION],
                areas_alone=areas_alone(draft.levels),
            )
            session.add(row)
            session.flush()
            session.execute(
                insert(SkillsCheckLevelRow),
                [{"check_id": row.id, "area": area, "level": level} for area, level in draft.levels.items()],
            )
            update_statuses(session, day_moment(draft.checked_on, self._context.now()), [resident_id])
            audit.record(
                session,
                self._context,
                "skills.recorded",
                normalise_reference(reference),
                resident_id=resident_id,
                details={"checked_on": draft.checked_on},
            )
            return next(check for check in _checks(session, resident_id) if check.id == row.id)

    @requires(Permission.LOG_SUPPORT)
    def checks_of(self, reference: str) -> list[SkillsCheck]:
        """The resident's skills checks, oldest (the baseline) first; a Digital Champion sees those of the
        residents they support."""
        with self._context.db.read() as session:
            resident_id = self._resident_id(session, reference)
            if not self._context.may(Permission.SEE_RESIDENTS) and resident_id not in set(
                session.scalars(supported_by(self._context.staff.champion_id))
            ):
                raise NotFound(
                    f"{normalise_reference(reference)} is not one of the residents you support: "
                    "their skills checks are shown to the champions who help them and to coordinators."
                )
            return _checks(session, resident_id)

    @staticmethod
    def _resident_id(session: Session, reference: str) -> uuid.UUID:
        found = session.scalar(
            select(ResidentRow.id).where(ResidentRow.reference == normalise_reference(reference))
        )
        if found is None:
            raise NotFound(
                f"No resident has the reference {normalise_reference(reference)}. Search by name instead."
            )
        return found
