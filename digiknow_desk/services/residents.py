"""Residents: register, find as you type, warn about likely duplicates, keep consent per purpose."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    case,
    delete,
    exists,
    func,
    insert,
    literal,
    or_,
    select,
)
from sqlalchemy.orm import InstrumentedAttribute, Session, aliased

from digiknow_desk.domain.errors import DomainError, NotFound, ValidationError
from digiknow_desk.domain.residents import (
    REFERENCE_PREFIX,
    SENSITIVE_FIELDS,
    Consent,
    ConsentPurpose,
    Resident,
    ResidentDraft,
    details_removed,
    looks_like_reference,
    normalise_reference,
    only_who,
    without_sensitive,
)
from digiknow_desk.domain.search_terms import (
    MAX_TERM,
    after_all_starting_with,
    fold,
    phone_key,
    resident_terms,
    search_words,
)
from digiknow_desk.domain.staff import Permission
from digiknow_desk.services import audit
from digiknow_desk.services.context import ServiceContext, requires
from digiknow_desk.storage.models import (
    ResidentConsentRow,
    ResidentRow,
    ResidentSearchTermRow,
    SessionAttendeeRow,
    SessionChampionRow,
    SyncStateRow,
    TagCounterRow,
    WardRow,
)

PAGE_SIZE = 50  # a screenful and more: the lists fetch the next page as they scroll
# A word with at least this many matching terms ('s', '07') is searched by reading residents in name order
# and checking each; a rarer word's matches are read from the index and sorted by name.
COMMON_WORD = 3_000
_OTHER_TERM = aliased(ResidentSearchTermRow)


class PossibleDuplicate(DomainError):
    """A resident with the same name and postcode or phone is already registered."""

    def __init__(self, matches: Sequence[Resident]) -> None:
        self.matches = tuple(matches)
        names = "; ".join(f"{m.reference} {m.name} ({m.postcode or m.phone})" for m in self.matches[:3])
        super().__init__(f"This may be someone already registered: {names}. Check before adding them again.")


def term_rows(resident_id: uuid.UUID, reference: str, draft: ResidentDraft) -> list[dict[str, Any]]:
    """The resident_search_terms rows for a resident (also inserted in bulk by the demo data)."""
    terms = resident_terms(reference, draft.name, draft.phone, draft.postcode, draft.email)
    return [
        {"resident_id": resident_id, "term": term, "name": draft.name, "reference": reference}
        for term in sorted(terms)
    ]


def _starts_with(term: InstrumentedAttribute[str], word: tuple[str, ...]) -> ColumnElement[bool]:
    """Terms starting with any of the word's choices, as index range lookups (not LIKE, which an index
    serves only under some collations)."""
    ranges = []
    for start in word:
        end = after_all_starting_with(start)
        ranges.append(term >= start if end is None else and_(term >= start, term < end))
    return or_(*ranges)


def supported_by(champion_id: uuid.UUID | None) -> Select[uuid.UUID | None]:
    """The residents who came to a session the champion helped at."""
    return (
        select(SessionAttendeeRow.resident_id)
        .join(SessionChampionRow, SessionChampionRow.session_id == SessionAttendeeRow.session_id)
        .where(SessionChampionRow.champion_id == champion_id)
    )


def _has_term(resident_id: InstrumentedAttribute[uuid.UUID], word: tuple[str, ...]) -> ColumnElement[bool]:
    return exists().where(_OTHER_TERM.resident_id == resident_id, _starts_with(_OTHER_TERM.term, word))


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
        "not_in_work_or_education": draft.not_in_work_or_education,
        "care_leaver": draft.care_leaver,
    }


def load_residents(session: Session, where: ColumnElement[bool]) -> list[Resident]:
    """The residents matching `where` (over ResidentRow), with ward names and consents."""
    return _load(session, select(ResidentRow.__table__).where(where))


def _load(session: Session, query: Select[Any]) -> list[Resident]:
    """The residents a query over the residents table reads, in its order, with their ward's name and
    their consents."""
    ward_name = select(WardRow.name).where(WardRow.code == ResidentRow.ward_code).scalar_subquery()
    connection = session.connection()  # Core rows: the ORM's row processing would double the time
    rows = connection.execute(query.add_columns(ward_name.label("ward_name"))).all()
    consents: dict[uuid.UUID, list[Consent]] = {}
    ids = [row.id for row in rows]
    for start in range(0, len(ids), 500):
        for resident_id, purpose, given_on in connection.execute(
            select(ResidentConsentRow.resident_id, ResidentConsentRow.purpose, ResidentConsentRow.given_on)
            .where(ResidentConsentRow.resident_id.in_(ids[start : start + 500]))
            .order_by(ResidentConsentRow.purpose)
        ):
            consents.setdefault(resident_id, []).append(Consent(purpose, given_on))
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
            ward_name=row.ward_name or "",
            age_band=row.age_band,
            language=row.language,
            large_print=row.large_print,
            interpreter=row.interpreter,
            access_needs=row.access_needs,
            referral_partner=row.referral_partner,
            referral_reason=row.referral_reason,
            consents=tuple(consents.get(row.id, [])),
            disability=row.disability,
            ethnicity=row.ethnicity,
            on_benefits=row.on_benefits,
            not_in_work_or_education=row.not_in_work_or_education,
            care_leaver=row.care_leaver,
            inclusion_status=row.inclusion_status,
        )
        for row in rows
    ]


class ResidentService:
    def __init__(self, context: ServiceContext) -> None:
        self._context = context

    @requires(Permission.SEE_SUPPORTED_RESIDENTS)
    def search(self, text: str = "", *, limit: int = PAGE_SIZE, offset: int = 0) -> list[Resident]:
        """Residents with a word starting with each word typed (name, reference, phone, postcode,
        email), by name."""
        words = search_words(text)
        references = [normalise_reference(word) for word in text.split() if looks_like_reference(word)]
        with self._context.db.read() as session:
            rarest, others, common = self._plan(session, words) if words else ((), [], True)
            if common:
                # Residents in name order, each checked: a page of a common word's matches comes quickly.
                # The residents whose details were removed have no search words: an empty search
                # leaves them out too.
                found = select(
                    ResidentRow.id.label("resident_id"), ResidentRow.name, ResidentRow.reference
                ).where(
                    ResidentRow.anonymised_at.is_(None),
                    *(_has_term(ResidentRow.id, word) for word in words),
                    *self._scope(ResidentRow.id),
                )
                name, reference = ResidentRow.name, ResidentRow.reference
            else:
                term = ResidentSearchTermRow
                found = (
                    select(term.resident_id, term.name, term.reference)
                    .where(
                        _starts_with(term.term, rarest),
                        *(_has_term(term.resident_id, w) for w in others),
                        *self._scope(term.resident_id),
                    )
                    .group_by(term.resident_id, term.name, term.reference)
                )
                name, reference = term.name, term.reference
            # The resident whose reference was typed comes first.
            rank = case((reference.in_(references), 0), else_=1) if references else literal(1)
            page = (
                found.add_columns(rank.label("rank"))
                .order_by(*([rank] if references else []), name, reference)
                .limit(limit)
                .offset(offset)
                .subquery()
            )
            # One statement reads the page's residents, so their ids need not travel back as parameters.
            return self._as_seen(
                _load(
                    session,
                    select(ResidentRow.__table__)
                    .join(page, ResidentRow.id == page.c.resident_id)
                    .order_by(page.c.rank, page.c.name, page.c.reference),
                )
            )

    @requires(Permission.SEE_SUPPORTED_RESIDENTS)
    def count(self, text: str = "", *, at_most: int | None = None) -> int:
        """How many residents `search` finds; with `at_most`, counting stops there (a list says "more
        than 1,000" rather than counting every resident with an S in their postcode)."""
        with self._context.db.read() as session:
            words = search_words(text)
            if not words:
                counted = (
                    select(ResidentRow.id)
                    .where(ResidentRow.anonymised_at.is_(None), *self._scope(ResidentRow.id))
                    .limit(at_most)
                    .subquery()
                )
                return int(session.scalar(select(func.count()).select_from(counted)) or 0)
            rarest, others, _common = self._plan(session, words)
            # Counted over the rarest word's matches in the index, common or not: never a scan of residents.
            term = ResidentSearchTermRow
            matches = (
                select(term.resident_id)
                .where(
                    _starts_with(term.term, rarest),
                    *(_has_term(term.resident_id, word) for word in others),
                    *self._scope(term.resident_id),
                )
                .distinct()
                .limit(at_most)
                .subquery()
            )
            return int(session.scalar(select(func.count()).select_from(matches)) or 0)

    @requires(Permission.SEE_SUPPORTED_RESIDENTS)
    def get(self, reference: str) -> Resident:
        """One resident by their reference. A Digital Champion may look up anyone by the reference on
        their card (to add them to a session), though their lists hold only the residents they support."""
        with self._context.db.read() as session:
            found = load_residents(session, ResidentRow.reference == normalise_reference(reference))
            if found and not self._supported(session, found[0].id):
                # Enough to add them to a session, nothing more: no contact details, no notes.
                found = [only_who(found[0])]
        if not found:
            raise NotFound(
                f"No resident has the reference {normalise_reference(reference)}. Search by name instead."
            )
        return self._as_seen(found)[0]

    @requires(Permission.EDIT_RESIDENTS)
    def likely_duplicates(self, draft: ResidentDraft, resident_id: uuid.UUID | None = None) -> list[Resident]:
        """Residents with the same name and the same postcode or phone (the form warns before adding)."""
        draft = draft.cleaned()
        phone = phone_key(draft.phone)
        if not draft.name or not (draft.postcode or phone):
            return []
        # Candidates from the search index: the name's first word, and the postcode or the phone.
        first_word = fold(draft.name.split()[0])[:MAX_TERM]
        postcode_or_phone = [
            _has_term(ResidentRow.id, (key,))
            for key in ("".join(draft.postcode.split()).lower(), phone)
            if key
        ]
        with self._context.db.read() as session:
            where = and_(_has_term(ResidentRow.id, (first_word,)), or_(*postcode_or_phone))
            if resident_id is not None:
                where = and_(where, ResidentRow.id != resident_id)
            candidates = load_residents(session, where)
        # Phones are compared as digits: '0161 474 4444' is the same number as '01614744444'.
        return self._as_seen(
            [
                match
                for match in candidates
                if match.name.casefold() == draft.name.casefold()
                and (
                    (draft.postcode and match.postcode == draft.postcode)
                    or (phone and phone_key(match.phone) == phone)
                )
            ]
        )

    @requires(Permission.EDIT_RESIDENTS)
    def add(self, draft: ResidentDraft, *, duplicate_checked: bool = False) -> Resident:
        """Register a resident with a new reference. A likely duplicate is refused with PossibleDuplicate
        unless staff have looked and said it is someone else (`duplicate_checked`)."""
        draft = draft.cleaned()
        if problems := draft.problems():
            raise ValidationError(problems)
        if not self._context.may(Permission.SEE_SENSITIVE):
            draft = draft.without_sensitive()
        if not duplicate_checked and (matches := self.likely_duplicates(draft)):
            raise PossibleDuplicate(matches)
        now = self._context.now()
        with self._context.db.write() as session:
            self._check_ward(session, draft)
            counter = session.get(TagCounterRow, REFERENCE_PREFIX, with_for_update=True)
            assert counter is not None, "migration 0002 seeds the resident reference counter"
            counter.last_number += 1
            if self._context.db.is_venue_copy:
                _check_reference_left(session, counter.last_number)
            reference = f"{REFERENCE_PREFIX}-{counter.last_number:05d}"
            row = ResidentRow(
                reference=reference,
                created_at=now,
                updated_at=now,
                **_columns(draft),
            )
            session.add(row)
            session.flush()
            session.execute(insert(ResidentSearchTermRow), term_rows(row.id, reference, draft))
            self._set_consents(session, row.id, draft)
            audit.record(session, self._context, "resident.added", reference, resident_id=row.id)
            session.flush()
            return self._as_seen(load_residents(session, ResidentRow.id == row.id))[0]

    @requires(Permission.EDIT_RESIDENTS)
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
            if row.anonymised_at is not None:
                raise ValidationError({"name": details_removed(row.reference)})
            self._check_ward(session, draft)
            if not self._context.may(Permission.SEE_SENSITIVE):
                # The form hid the answers from this role: keep the ones on record.
                draft = replace(draft, **{name: getattr(row, name) for name in SENSITIVE_FIELDS})
            before = {name: getattr(row, name) for name in _columns(draft)}
            consents_before = self._consents(session, row.id)
            for name, value in _columns(draft).items():
                setattr(row, name, value)
            session.execute(delete(ResidentSearchTermRow).where(ResidentSearchTermRow.resident_id == row.id))
            session.execute(insert(ResidentSearchTermRow), term_rows(row.id, row.reference, draft))
            row.updated_at = self._context.now()
            self._set_consents(session, row.id, draft)
            changed = audit.changed_fields(before, _columns(draft))
            if consents_before != set(draft.consents):
                changed.append("consents")
            # Which fields changed, never their values: the trail must not become a copy of the record.
            audit.record(
                session,
                self._context,
                "resident.changed",
                row.reference,
                resident_id=row.id,
                details={"fields": changed},
            )
            session.flush()
            return self._as_seen(load_residents(session, ResidentRow.id == row.id))[0]

    # Helpers

    def _scope(self, resident_id: InstrumentedAttribute[uuid.UUID]) -> list[ColumnElement[bool]]:
        """No condition for roles that see every resident; for a Digital Champion, the residents who came
        to a session they helped at."""
        if self._context.may(Permission.SEE_RESIDENTS):
            return []
        return [resident_id.in_(supported_by(self._context.staff.champion_id))]

    def _supported(self, session: Session, resident_id: uuid.UUID) -> bool:
        """Whether the staff member may see this resident's whole record (every role but a Digital
        Champion may; a champion, for the residents they support)."""
        scope = self._scope(ResidentRow.id)
        if not scope:
            return True
        return session.scalar(select(ResidentRow.id).where(ResidentRow.id == resident_id, *scope)) is not None

    def _as_seen(self, residents: list[Resident]) -> list[Resident]:
        """The residents with the equality answers withheld from roles that may not see them."""
        if self._context.may(Permission.SEE_SENSITIVE):
            return residents
        return [without_sensitive(resident) for resident in residents]

    @staticmethod
    def _consents(session: Session, resident_id: uuid.UUID) -> set[ConsentPurpose]:
        return set(
            session.scalars(
                select(ResidentConsentRow.purpose).where(ResidentConsentRow.resident_id == resident_id)
            )
        )

    @staticmethod
    def _plan(
        session: Session, words: list[tuple[str, ...]]
    ) -> tuple[tuple[str, ...], list[tuple[str, ...]], bool]:
        """The rarest word, whose matches are read from the index; the other words, checked for each of
        those matches; and whether even the rarest word is common (see COMMON_WORD)."""
        sizes = [
            session.scalar(
                select(func.count()).select_from(
                    select(ResidentSearchTermRow.term)
                    .where(_starts_with(ResidentSearchTermRow.term, word))
                    .limit(COMMON_WORD)
                    .subquery()
                )
            )
            or 0
            for word in words
        ]
        rarest = min(range(len(words)), key=sizes.__getitem__)
        return words[rarest], words[:rarest] + words[rarest + 1 :], sizes[rarest] >= COMMON_WORD

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


def _check_reference_left(session: Session, number: int) -> None:
    """Refuse a resident reference past the block the server gave this venue copy."""
    state = session.get(SyncStateRow, 1)
    assert state is not None, "migration 0009 adds the one sync_state row"
    if number > state.last_reference:
        raise DomainError(
            "This venue copy has used every resident reference the server gave it. Sync (when online) to "
            "get more, then register the resident."
        )
