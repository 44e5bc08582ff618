"""Residents: register, find as you type, warn about likely duplicates, keep consent per purpose."""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Select, case, func, or_, select
from sqlalchemy.orm import Session

from digiknow_desk.domain.errors import DomainError, NotFound, ValidationError
from digiknow_desk.domain.residents import Consent, Resident, ResidentDraft
from digiknow_desk.services.context import ServiceContext
from digiknow_desk.storage.models import ResidentConsentRow, ResidentRow, TagCounterRow, WardRow

REFERENCE_PREFIX = "R"
PAGE_SIZE = 100
# A search word that is a reference however typed: 'r42', 'R-42', 'r-00042'.
_REFERENCE_WORD = re.compile(r"^r-?[0-9]{1,5}$", re.IGNORECASE)
# A search word that is (part of) a phone number typed with punctuation: '0161-474', '(0161)', '+44'.
_PHONE_WORD = re.compile(r"^[+(]*[0-9][0-9()+.\-/]*$")


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


def phone_key(phone: str) -> str:
    """A phone number as national digits, so '+44 161 474 4444' and '0161-474 4444' compare equal."""
    digits = _digits(phone)
    if digits.startswith("0044"):
        rest = digits[4:]
    elif digits.startswith("44") and len(digits) >= 12:
        rest = digits[2:]
    else:
        return digits
    # '+44 (0)161 ...' carries the national 0 as well.
    return "0" + (rest[1:] if rest.startswith("0") else rest)


def _search_word(word: str) -> str:
    """A typed search word as it is kept in the search text: phone punctuation dropped."""
    if _PHONE_WORD.match(word) and (digits := _digits(word)):
        return digits
    return word


def _search_text(reference: str, draft: ResidentDraft) -> str:
    national = phone_key(draft.phone)
    # The phone as typed, nationally and internationally, so '+44 161...' finds '0161 ...' and back.
    phones = dict.fromkeys(
        (_digits(draft.phone), national, f"44{national[1:]}" if national.startswith("0") else "")
    )
    parts = (
        draft.name,
        reference,
        reference.replace("-", ""),
        *phones,
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
    wards = {code: name for code, name in session.execute(select(WardRow.code, WardRow.name))}
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
            query = self._filtered(select(ResidentRow), text)
            references = [normalise_reference(word) for word in text.split() if _REFERENCE_WORD.match(word)]
            if references:
                # The resident whose reference was typed comes first, before partial matches.
                query = query.order_by(case((ResidentRow.reference.in_(references), 0), else_=1))
            query = query.order_by(ResidentRow.name, ResidentRow.reference)
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
        phone = phone_key(draft.phone)
        if not draft.name or not (draft.postcode or phone):
            return []
        with self._context.db.read() as session:
            # SQLite's lower() folds only ASCII, so the name is compared again below in Python.
            query = select(ResidentRow).where(
                or_(func.lower(ResidentRow.name) == draft.name.lower(), ResidentRow.name == draft.name)
            )
            if resident_id is not None:
                query = query.where(ResidentRow.id != resident_id)
            candidates = load_residents(session, query)
        # Phones are compared as digits: '0161 474 4444' is the same number as '01614744444'.
        return [
            match
            for match in candidates
            if match.name.casefold() == draft.name.casefold()
            and (
                (draft.postcode and match.postcode == draft.postcode)
                or (phone and phone_key(match.phone) == phone)
            )
        ]

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
        # Phone numbers are kept as digits, so "0161 474" finds "0161 474 4444" word by word, and a
        # word typed with phone punctuation ("0161-474-4444") is searched as its digits.
        for word in text.lower().split():
            matches: ColumnElement[bool] = ResidentRow.search_text.like(
                f"%{_escape_like(_search_word(word))}%", escape="\\"
            )
            if _REFERENCE_WORD.match(word):
                # 'r-1' and 'R1' mean R-00001, which the search text holds only in full.
                matches = or_(matches, ResidentRow.reference == normalise_reference(word))
            query = query.where(matches)
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
