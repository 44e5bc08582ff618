"""Residents: register, find as you type, warn about likely duplicates, keep consent per purpose."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from digiknow_desk.domain.errors import DomainError, NotFound, ValidationError
from digiknow_desk.domain.residents import Consent, Resident, ResidentDraft
from digiknow_desk.services.context import ServiceContext
from digiknow_desk.storage.models import ResidentConsentRow, ResidentRow, TagCounterRow, WardRow

REFERENCE_PREFIX = "R"
PAGE_SIZE = 100


class PossibleDuplicate(DomainError):
    """A resident with the same name and postcode or phone is already registered."""

    def __init__(self, matches: Sequence[Resident]) -> None:
        self.matches = tuple(matches)
        names = "; ".join(f"{m.reference} {m.name} ({m.postcode or m.phone})" for m in self.matches[:3])
        super().__init__(f"This may be someone already registered: {names}. Check before adding them again.")


def normalise_reference(text: str) -> str:
    """'r42', 'R-42' and ' r-00042 ' all mean R-00042."""
    compact = text.strip().upper().replace("-", "").replace(" ", "")
    if compact.startswith(REFERENCE_PREFIX) and compact[1:].isdigit():
        return f"{REFERENCE_PREFIX}-{int(compact[1:]):05d}"
    return text.strip().upper()


def _digits(text: str) -> str:
    return "".join(ch for ch in text if ch.isdigit())


def _search_text(reference: str, draft: ResidentDraft) -> str:
    parts = (
        draft.name,
        reference,
        reference.replace("-", ""),
        _digits(draft.phone),
        draft.postcode,
        draft.postcode.replace(" ", ""),
        draft.email,
    )
    return " ".join(part for part in parts if part).lower()


def _columns(draft: ResidentDraft) -> dict[str, Any]:
    return {
        "name": draft.name,
        "phone": draft.phone,
        "email": draft.email,
        "address": draft.address,
        "postcode": draft.postcode,
        "ward_code": draft.ward_code,
        "age_band": draft.age_band,
        "language": draft.language,
        "large_print": draft.large_print,
        "interpreter": draft.interpreter,
        "access_needs": draft.access_needs,
        "referral_partner": draft.referral_partner,
        "referral_reason": draft.referral_reason,
        "disability": draft.disability,
        "ethnicity": draft.ethnicity,
        "on_benefits": draft.on_benefits,
    }


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def load_residents(session: Session, query: Select[Any]) -> list[Resident]:
    """Resident records for a query over ResidentRow, with ward names and consents."""
    rows = list(session.scalars(query))
    wards = dict(session.execute(select(WardRow.code, WardRow.name)).tuples().all())
    consents: dict[uuid.UUID, list[Consent]] = {}
    ids = [row.id for row in rows]
    for start in range(0, len(ids), 500):
        for consent in session.scalars(
            select(ResidentConsentRow).where(ResidentConsentRow.resident_id.in_(ids[start : start + 500]))
        ):
            consents.setdefault(consent.resident_id, []).append(Consent(consent.purpose, consent.given_on))
    return [
        Resident(
            id=row.id,
            reference=row.reference,
            name=row.name,
            phone=row.phone,
            email=row.email,
            address=row.address,
            postcode=row.postcode,
            ward_code=row.ward_code,
            ward_name=wards.get(row.ward_code, "") if row.ward_code else "",
            age_band=row.age_band,
            language=row.language,
            large_print=row.large_print,
            interpreter=row.interpreter,
            access_needs=row.access_needs,
            referral_partner=row.referral_partner,
            referral_reason=row.referral_reason,
            consents=tuple(sorted(consents.get(row.id, []), key=lambda c: c.purpose.value)),
            disability=row.disability,
            ethnicity=row.ethnicity,
            on_benefits=row.on_benefits,
        )
        for row in rows
    ]


class ResidentService:
    def __init__(self, context: ServiceContext) -> None:
        self._context = context

    def search(self, text: str = "", *, limit: int = PAGE_SIZE, offset: int = 0) -> list[Resident]:
        """Residents whose name, reference, phone, postcode or email hold every word typed, by name."""
        with self._context.db.read() as session:
            query = self._filtered(select(ResidentRow), text).order_by(
                ResidentRow.name, ResidentRow.reference
            )
            return load_residents(session, query.limit(limit).offset(offset))

    def count(self, text: str = "") -> int:
        with self._context.db.read() as session:
            return int(
                session.scalar(self._filtered(select(func.count()).select_from(ResidentRow), text)) or 0
            )

    def get(self, reference: str) -> Resident:
        with self._context.db.read() as session:
            found = load_residents(
                session, select(ResidentRow).where(ResidentRow.reference == normalise_reference(reference))
            )
        if not found:
            raise NotFound(
                f"No resident has the reference {normalise_reference(reference)}. Search by name instead."
            )
        return found[0]

    def likely_duplicates(self, draft: ResidentDraft, resident_id: uuid.UUID | None = None) -> list[Resident]:
        """Residents with the same name and the same postcode or phone (the form warns before adding)."""
        draft = draft.cleaned()
        same_place = []
        if draft.postcode:
            same_place.append(ResidentRow.postcode == draft.postcode)
        if draft.phone:
            same_place.append(ResidentRow.phone == draft.phone)
        if not draft.name or not same_place:
            return []
        with self._context.db.read() as session:
            query = select(ResidentRow).where(
                func.lower(ResidentRow.name) == draft.name.lower(), or_(*same_place)
            )
            if resident_id is not None:
                query = query.where(ResidentRow.id != resident_id)
            return load_residents(session, query)

    def add(self, draft: ResidentDraft, *, duplicate_checked: bool = False) -> Resident:
        """Register a resident with a new reference. A likely duplicate is refused with PossibleDuplicate
        unless staff have looked and said it is someone else (`duplicate_checked`)."""
        draft = draft.cleaned()
        if problems := draft.problems():
            raise ValidationError(problems)
        if not duplicate_checked and (matches := self.likely_duplicates(draft)):
            raise PossibleDuplicate(matches)
        now = self._context.now()
        with self._context.db.write() as session:
            self._check_ward(session, draft)
            counter = session.get(TagCounterRow, REFERENCE_PREFIX, with_for_update=True)
            assert counter is not None, "migration 0002 seeds the resident reference counter"
            counter.last_number += 1
            reference = f"{REFERENCE_PREFIX}-{counter.last_number:05d}"
            row = ResidentRow(
                reference=reference,
                search_text=_search_text(reference, draft),
                created_at=now,
                updated_at=now,
                **_columns(draft),
            )
            session.add(row)
            session.flush()
            self._set_consents(session, row.id, draft)
            session.flush()
            return load_residents(session, select(ResidentRow).where(ResidentRow.id == row.id))[0]

    def update(self, reference: str, draft: ResidentDraft) -> Resident:
        draft = draft.cleaned()
        if problems := draft.problems():
            raise ValidationError(problems)
        with self._context.db.write() as session:
            row = session.scalar(
                select(ResidentRow)
                .where(ResidentRow.reference == normalise_reference(reference))
                .with_for_update()
            )
            if row is None:
                raise NotFound("That resident no longer exists; search again.")
            self._check_ward(session, draft)
            for name, value in _columns(draft).items():
                setattr(row, name, value)
            row.search_text = _search_text(row.reference, draft)
            row.updated_at = self._context.now()
            self._set_consents(session, row.id, draft)
            session.flush()
            return load_residents(session, select(ResidentRow).where(ResidentRow.id == row.id))[0]

    # Helpers

    @staticmethod
    def _filtered(query: Select[Any], text: str) -> Select[Any]:
        # Phone numbers are kept as digits, so "0161 474" finds "0161 474 4444" word by word.
        for word in text.lower().split():
            query = query.where(ResidentRow.search_text.like(f"%{_escape_like(word)}%", escape="\\"))
        return query

    @staticmethod
    def _check_ward(session: Session, draft: ResidentDraft) -> None:
        if draft.ward_code is not None and session.get(WardRow, draft.ward_code) is None:
            raise ValidationError(
                {"ward_code": "Choose the resident's ward from the list of Stockport's 21 wards."}
            )

    def _set_consents(self, session: Session, resident_id: uuid.UUID, draft: ResidentDraft) -> None:
        """Keep the date of each consent still given, add new ones with today's date, drop withdrawn ones."""
        existing = {
            row.purpose: row
            for row in session.scalars(
                select(ResidentConsentRow).where(ResidentConsentRow.resident_id == resident_id)
            )
        }
        for purpose, row in existing.items():
            if purpose not in draft.consents:
                session.delete(row)
        for purpose in draft.consents - set(existing):
            session.add(
                ResidentConsentRow(resident_id=resident_id, purpose=purpose, given_on=self._context.today())
            )
