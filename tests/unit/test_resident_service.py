"""The resident service: registering, validating, consent per purpose, duplicates and search."""

from __future__ import annotations

import dataclasses
from datetime import date, timedelta
from typing import TYPE_CHECKING

import pytest

from digiknow_desk.app import Services
from digiknow_desk.domain.errors import NotFound, ValidationError
from digiknow_desk.domain.residents import (
    YOUNG_AGE_BANDS,
    AgeBand,
    Answer,
    ConsentPurpose,
    Resident,
    ResidentDraft,
)
from digiknow_desk.services.residents import PossibleDuplicate, normalise_reference

if TYPE_CHECKING:
    from tests.conftest import FakeClock

WARD = "E05000797"


def _today(clock: FakeClock) -> date:
    """The desk's date for the fake clock (the service reads dates in local time)."""
    return clock.now.astimezone().date()


def _add(services: Services, name: str = "Mary Smith", **fields: object) -> Resident:
    fields.setdefault("phone", "0161 474 4444")
    fields.setdefault("postcode", "SK4 1AA")
    return services.residents.add(ResidentDraft(name=name, **fields))  # type: ignore[arg-type]


# Registering


def test_add_cleans_the_draft_and_gives_sequential_references(services: Services) -> None:
    first = services.residents.add(
        ResidentDraft(
            name="  Mary   Smith ",
            phone=" 0161  474 4444 ",
            email=" Mary@Example.ORG ",
            postcode="sk4 1aa",
            ward_code=WARD,
            age_band=AgeBand.AGE_65_74,
            referral_partner="  Stockport Homes ",
        )
    )
    second = _add(services, "John Brown", phone="07700 900123", postcode="SK1 3XE")

    assert (first.reference, second.reference) == ("R-00001", "R-00002")
    assert first.name == "Mary Smith"
    assert first.phone == "0161 474 4444"
    assert first.email == "mary@example.org"
    assert first.postcode == "SK4 1AA"
    assert first.ward_code == WARD and first.ward_name  # the ward's name comes from the reference table
    assert first.age_band == AgeBand.AGE_65_74
    assert first.referral_partner == "Stockport Homes"
    assert services.residents.get("r-1") == first
    assert services.residents.get(" R00002 ") == second


def test_get_an_unknown_reference_says_so(services: Services) -> None:
    with pytest.raises(NotFound, match="R-00042"):
        services.residents.get("r42")


@pytest.mark.parametrize(
    ("typed", "meant"),
    [("r42", "R-00042"), ("R-42", "R-00042"), (" r-00042 ", "R-00042"), ("R 7", "R-00007"), ("x1", "X1")],
)
def test_normalise_reference(typed: str, meant: str) -> None:
    assert normalise_reference(typed) == meant


def test_a_resident_needs_a_way_to_be_contacted(services: Services) -> None:
    with pytest.raises(ValidationError) as caught:
        services.residents.add(ResidentDraft(name="No Contact", postcode="SK4 1AA"))
    assert set(caught.value.problems) == {"contact"}
    # Any one of phone, email or address will do.
    assert services.residents.add(ResidentDraft(name="By Email", email="a@b.org")).email == "a@b.org"
    assert services.residents.add(ResidentDraft(name="By Post", address="1 High St")).address == "1 High St"


@pytest.mark.parametrize("postcode", ["SK4", "12345", "SK4 1A", "SKK4 1AAA", "S-K4 1AA"])
def test_a_postcode_must_look_like_a_uk_postcode(services: Services, postcode: str) -> None:
    with pytest.raises(ValidationError) as caught:
        _add(services, postcode=postcode)
    assert set(caught.value.problems) == {"postcode"}
    assert "SK1 3XE" in caught.value.problems["postcode"]


@pytest.mark.parametrize(
    ("typed", "kept"), [("sk13xe", "SK1 3XE"), ("m1 1ae", "M1 1AE"), ("SK6  2PL", "SK6 2PL")]
)
def test_a_postcode_is_kept_in_one_form(services: Services, typed: str, kept: str) -> None:
    assert _add(services, postcode=typed).postcode == kept


@pytest.mark.parametrize("phone", ["call me", "12345", "(--) --", "0161 474 4444 ext 2"])
def test_a_phone_must_be_a_number(services: Services, phone: str) -> None:
    with pytest.raises(ValidationError) as caught:
        _add(services, phone=phone)
    assert set(caught.value.problems) == {"phone"}


def test_every_problem_is_reported_at_once(services: Services) -> None:
    with pytest.raises(ValidationError) as caught:
        services.residents.add(
            ResidentDraft(name="", email="not-an-email", postcode="nowhere", consents=frozenset())
        )
    assert set(caught.value.problems) == {"name", "email", "postcode", "consents"}


def test_lending_needs_consent_to_keep_details(services: Services) -> None:
    with pytest.raises(ValidationError) as caught:
        _add(services, consents=frozenset({ConsentPurpose.CONTACT}))
    assert "consent" in caught.value.problems["consents"]
    assert services.residents.count() == 0


def test_an_unknown_ward_is_refused(services: Services) -> None:
    with pytest.raises(ValidationError) as caught:
        _add(services, ward_code="E99999999")
    assert set(caught.value.problems) == {"ward_code"}
    assert services.residents.count() == 0


def test_free_text_longer_than_the_database_keeps_is_refused_before_saving(services: Services) -> None:
    with pytest.raises(ValidationError) as caught:
        _add(services, ethnicity="x" * 81, language="y" * 61)
    assert caught.value.problems == {
        "ethnicity": "Keep this under 80 characters.",
        "language": "Keep this under 60 characters.",
    }
    assert services.residents.count() == 0


# The optional, sensitive questions

SENSITIVE = ("disability", "on_benefits", "not_in_work_or_education", "care_leaver")


def _answers(resident: Resident) -> tuple[Answer | None, ...]:
    return tuple(getattr(resident, name) for name in SENSITIVE)


def test_the_sensitive_questions_are_never_required_and_start_not_asked(services: Services) -> None:
    resident = _add(services)
    assert _answers(resident) == (None, None, None, None)
    assert _answers(services.residents.get(resident.reference)) == (None, None, None, None)


@pytest.mark.parametrize("answer", list(Answer))
def test_each_answer_including_prefer_not_to_say_is_kept(services: Services, answer: Answer) -> None:
    young = _add(services, age_band=AgeBand.AGE_18_24, **dict.fromkeys(SENSITIVE, answer))
    assert _answers(young) == (answer,) * 4
    assert _answers(services.residents.get(young.reference)) == (answer,) * 4
    assert _answers(services.residents.search("Mary")[0]) == (answer,) * 4
    assert young.as_draft().care_leaver == answer and young.as_draft().not_in_work_or_education == answer


def test_editing_changes_or_clears_the_answers(services: Services) -> None:
    resident = _add(services, age_band=AgeBand.UNDER_18, not_in_work_or_education=Answer.YES)
    changed = services.residents.update(
        resident.reference,
        dataclasses.replace(
            resident.as_draft(),
            disability=Answer.NO,
            on_benefits=Answer.PREFER_NOT,
            not_in_work_or_education=Answer.NO,
            care_leaver=Answer.YES,
        ),
    )
    assert _answers(changed) == (Answer.NO, Answer.PREFER_NOT, Answer.NO, Answer.YES)
    assert services.residents.get(resident.reference) == changed
    cleared = services.residents.update(
        resident.reference,
        dataclasses.replace(
            changed.as_draft(),
            disability=None,
            on_benefits=None,
            not_in_work_or_education=None,
            care_leaver=None,
        ),
    )
    assert _answers(cleared) == (None, None, None, None)
    assert _answers(services.residents.get(resident.reference)) == (None, None, None, None)


@pytest.mark.parametrize("band", sorted(set(AgeBand) - YOUNG_AGE_BANDS))
def test_not_in_work_or_education_is_asked_only_of_young_people(services: Services, band: AgeBand) -> None:
    for answer in Answer:
        with pytest.raises(ValidationError) as caught:
            _add(services, age_band=band, not_in_work_or_education=answer)
        assert set(caught.value.problems) == {"not_in_work_or_education"}
        message = caught.value.problems["not_in_work_or_education"]
        assert "under 25" in message and "Not asked" in message and "age band" in message
    assert services.residents.count() == 0
    # Not asked is right for everyone, and care leavers can be any age.
    assert _add(services, age_band=band, care_leaver=Answer.YES).not_in_work_or_education is None


def test_a_young_persons_answer_must_go_if_their_age_band_moves_on(services: Services) -> None:
    resident = _add(services, age_band=AgeBand.AGE_18_24, not_in_work_or_education=Answer.YES)
    older = dataclasses.replace(resident.as_draft(), age_band=AgeBand.AGE_25_49)
    with pytest.raises(ValidationError) as caught:
        services.residents.update(resident.reference, older)
    assert set(caught.value.problems) == {"not_in_work_or_education"}
    assert services.residents.get(resident.reference) == resident
    moved = services.residents.update(
        resident.reference, dataclasses.replace(older, not_in_work_or_education=None)
    )
    assert (moved.age_band, moved.not_in_work_or_education) == (AgeBand.AGE_25_49, None)


# Consent per purpose


def test_consents_are_dated_per_purpose_and_kept_on_update(services: Services, clock: FakeClock) -> None:
    first_day = _today(clock)
    resident = _add(services, consents=frozenset({ConsentPurpose.LENDING, ConsentPurpose.CONTACT}))
    assert {(c.purpose, c.given_on) for c in resident.consents} == {
        (ConsentPurpose.LENDING, first_day),
        (ConsentPurpose.CONTACT, first_day),
    }

    clock.now += timedelta(days=10)
    later = _today(clock)
    updated = services.residents.update(
        resident.reference,
        dataclasses.replace(
            resident.as_draft(),
            phone="07700 900123",
            consents=frozenset({ConsentPurpose.LENDING, ConsentPurpose.SUPPORT}),
        ),
    )
    assert updated.phone == "07700 900123"
    # Lending keeps its first date, support is dated today, and the withdrawn contact consent is gone.
    assert {(c.purpose, c.given_on) for c in updated.consents} == {
        (ConsentPurpose.LENDING, first_day),
        (ConsentPurpose.SUPPORT, later),
    }
    assert services.residents.get(resident.reference) == updated

    # Given again after withdrawing: dated afresh.
    clock.now += timedelta(days=5)
    again = services.residents.update(
        resident.reference,
        dataclasses.replace(
            updated.as_draft(), consents=frozenset({ConsentPurpose.LENDING, ConsentPurpose.CONTACT})
        ),
    )
    contact = next(c for c in again.consents if c.purpose == ConsentPurpose.CONTACT)
    assert contact.given_on == _today(clock)


def test_update_cannot_withdraw_lending_consent_or_break_validation(services: Services) -> None:
    resident = _add(services)
    with pytest.raises(ValidationError) as caught:
        services.residents.update(
            resident.reference, dataclasses.replace(resident.as_draft(), consents=frozenset())
        )
    assert "consents" in caught.value.problems
    with pytest.raises(ValidationError):
        services.residents.update(resident.reference, dataclasses.replace(resident.as_draft(), phone=""))
    assert services.residents.get(resident.reference) == resident


def test_update_an_unknown_resident_says_so(services: Services) -> None:
    with pytest.raises(NotFound):
        services.residents.update("R-00099", ResidentDraft(name="Nobody", phone="0161 474 4444"))


def test_update_refreshes_what_search_finds(services: Services) -> None:
    resident = _add(services, "Mary Smith")
    services.residents.update(
        resident.reference, dataclasses.replace(resident.as_draft(), name="Mary Jones", postcode="SK1 3XE")
    )
    assert [r.reference for r in services.residents.search("jones")] == [resident.reference]
    assert services.residents.search("smith") == []
    assert services.residents.search("SK4") == []
    assert [r.reference for r in services.residents.search("sk13xe")] == [resident.reference]


# Likely duplicates


def test_same_name_and_postcode_is_a_likely_duplicate(services: Services) -> None:
    mary = _add(services, "Mary Smith", phone="0161 474 4444", postcode="SK4 1AA")
    with pytest.raises(PossibleDuplicate) as caught:
        _add(services, "mary  SMITH", phone="07700 900123", postcode="sk41aa")
    assert caught.value.matches == (mary,)
    assert mary.reference in str(caught.value)
    assert services.residents.count() == 1


def test_same_name_and_phone_however_typed_is_a_likely_duplicate(services: Services) -> None:
    mary = _add(services, "Mary Smith", phone="0161 474 4444", postcode="SK4 1AA")
    for phone in ("01614744444", "0161-474-4444", "+44 161 474 4444", "+44 (0)161 474 4444"):
        with pytest.raises(PossibleDuplicate) as caught:
            _add(services, "Mary Smith", phone=phone, postcode="SK1 3XE")
        assert caught.value.matches == (mary,), phone


def test_same_name_elsewhere_or_another_name_is_not_a_duplicate(services: Services) -> None:
    _add(services, "Mary Smith", phone="0161 474 4444", postcode="SK4 1AA")
    other_place = _add(services, "Mary Smith", phone="07700 900123", postcode="SK1 3XE")
    other_name = _add(services, "Mary Smyth", phone="0161 474 4444", postcode="SK4 1AA")
    assert other_place.reference != other_name.reference
    assert services.residents.count() == 3


def test_duplicate_checked_adds_anyway(services: Services) -> None:
    first = _add(services)
    second = services.residents.add(
        ResidentDraft(name="Mary Smith", phone="0161 474 4444", postcode="SK4 1AA"), duplicate_checked=True
    )
    assert second.reference != first.reference
    assert services.residents.count() == 2


def test_likely_duplicates_leaves_out_the_resident_being_edited(services: Services) -> None:
    mary = _add(services)
    assert services.residents.likely_duplicates(mary.as_draft()) == [mary]
    assert services.residents.likely_duplicates(mary.as_draft(), resident_id=mary.id) == []
    # Without a postcode or phone to compare, nobody is a likely duplicate.
    assert services.residents.likely_duplicates(ResidentDraft(name="Mary Smith", email="m@x.org")) == []


# Search


@pytest.fixture
def three(services: Services) -> dict[str, Resident]:
    return {
        "mary": _add(services, "Mary Smith", phone="0161 474 4444", postcode="SK4 1AA"),
        "john": _add(services, "John Smith", phone="07700 900123", postcode="SK1 3XE"),
        "ann": _add(services, "Ann Jones", email="ann@example.org", postcode="SK6 2PL", phone=""),
    }


def _found(services: Services, text: str) -> list[str]:
    return [resident.name for resident in services.residents.search(text)]


def test_search_by_name_words_in_any_order_and_case(services: Services, three: dict[str, Resident]) -> None:
    assert _found(services, "smith") == ["John Smith", "Mary Smith"]  # by name
    assert _found(services, "SMITH mar") == ["Mary Smith"]
    assert _found(services, "jones ann") == ["Ann Jones"]
    assert _found(services, "nobody") == []
    assert _found(services, "") == ["Ann Jones", "John Smith", "Mary Smith"]
    assert services.residents.count("smith") == 2


@pytest.mark.parametrize("typed", ["R-00002", "r-00002", "R00002", "r-2", "R2", "r2", "r-002"])
def test_search_by_reference_however_typed(
    services: Services, three: dict[str, Resident], typed: str
) -> None:
    assert [r.reference for r in services.residents.search(typed)] == ["R-00002"]
    assert services.residents.count(typed) == 1


def test_a_typed_reference_comes_before_partial_matches(services: Services) -> None:
    for number in range(1, 13):
        _add(services, f"Resident {chr(ord('Z') - number)}", phone=f"0161 000 {number:04d}")
    assert [r.reference for r in services.residents.search("r-1")] == ["R-00001"]
    # 'R-0001' is R-00001 read as a reference, and also the start of R-00010 to R-00012 typed in full;
    # the reference itself comes first, then the partial matches by name (Resident N, O, P).
    assert [r.reference for r in services.residents.search("R-0001")] == [
        "R-00001",
        "R-00012",
        "R-00011",
        "R-00010",
    ]
    assert services.residents.count("R-0001") == 4


@pytest.mark.parametrize(
    "typed", ["0161 474 4444", "01614744444", "0161-474-4444", "(0161) 474", "4744444", "+44 161 474 4444"]
)
def test_search_by_phone_however_typed(services: Services, three: dict[str, Resident], typed: str) -> None:
    assert _found(services, typed) == ["Mary Smith"]


def test_search_by_international_phone_finds_national_and_back(services: Services) -> None:
    _add(services, "Pat Lee", phone="+44 7700 900456", postcode="SK2 5AB")
    assert _found(services, "07700 900456") == ["Pat Lee"]
    assert _found(services, "+447700900456") == ["Pat Lee"]


@pytest.mark.parametrize("typed", ["SK1 3XE", "sk13xe", "sk1", "3xe"])
def test_search_by_postcode_with_or_without_space(
    services: Services, three: dict[str, Resident], typed: str
) -> None:
    assert _found(services, typed) == ["John Smith"]


def test_search_by_email(services: Services, three: dict[str, Resident]) -> None:
    assert _found(services, "ann@example") == ["Ann Jones"]


@pytest.mark.parametrize("typed", ["%", "_", "\U0010ffff", "\ud7ff", "zz\U0010ffff\U0010ffff", "x" * 200])
def test_search_takes_any_text_without_failing(
    services: Services, three: dict[str, Resident], typed: str
) -> None:
    assert _found(services, typed) == []
    assert services.residents.count(typed) == 0


def test_a_word_with_no_letters_left_is_no_word(services: Services, three: dict[str, Resident]) -> None:
    assert _found(services, "\u0301") == _found(services, "") == ["Ann Jones", "John Smith", "Mary Smith"]


def test_search_ignores_punctuation_typed_around_a_word(services: Services) -> None:
    _add(services, "Siobhan O'Brien", phone="0161 000 0003")
    assert _found(services, "o\u2019brien") == ["Siobhan O'Brien"]  # a curly apostrophe, as Word types it
    assert _found(services, "O'Brien, Siobhan") == ["Siobhan O'Brien"]


@pytest.mark.parametrize("typed", ["07700 900 123", "07700 900 12", "900 123", "+44 (0)7700 900123"])
def test_a_phone_number_read_out_in_groups_is_one_number(
    services: Services, three: dict[str, Resident], typed: str
) -> None:
    assert _found(services, typed) == ["John Smith"]


def test_search_pages_in_name_order(services: Services) -> None:
    names = [f"Resident {letter}" for letter in "ABCDEFG"]
    for number, name in enumerate(reversed(names)):
        _add(services, name, phone=f"0161 000 {number:04d}")
    pages = [services.residents.search("resident", limit=3, offset=offset) for offset in (0, 3, 6)]
    assert [[r.name for r in page] for page in pages] == [names[0:3], names[3:6], names[6:]]
    assert services.residents.count("resident") == 7


@pytest.mark.parametrize("typed", ["jose", "JOSÉ", "o'brien", "obrien", "brien", "murphy", "o'brien-mur"])
def test_search_folds_accents_and_finds_each_part_of_a_name(services: Services, typed: str) -> None:
    _add(services, "José O'Brien-Murphy", phone="0161 000 0001")
    assert _found(services, typed) == ["José O'Brien-Murphy"]


def test_search_matches_the_start_of_a_word_not_the_middle(
    services: Services, three: dict[str, Resident]
) -> None:
    assert _found(services, "smi") == ["John Smith", "Mary Smith"]
    assert _found(services, "mith") == []


def test_a_common_word_finds_the_same_residents_as_a_rare_one(
    services: Services, three: dict[str, Resident], monkeypatch: pytest.MonkeyPatch
) -> None:
    # A word matching many terms is searched by reading residents in name order instead.
    searches = ("smith", "smith mary", "sk", "s", "")
    rare = {text: (_found(services, text), services.residents.count(text)) for text in searches}
    monkeypatch.setattr("digiknow_desk.services.residents.COMMON_WORD", 1)
    assert {text: (_found(services, text), services.residents.count(text)) for text in searches} == rare
    assert rare["s"] == (["Ann Jones", "John Smith", "Mary Smith"], 3)


def test_count_can_stop_at_a_limit(services: Services, three: dict[str, Resident]) -> None:
    assert services.residents.count("s") == 3
    assert services.residents.count("s", at_most=2) == 2
    assert services.residents.count("smith", at_most=5) == 2
    assert services.residents.count("", at_most=1) == 1


@pytest.mark.parametrize("typed", ["sk1 3", "SK1 3X", "sk1 3xe", "smith sk1 3"])
def test_a_postcode_typed_with_its_space_is_one_word(
    services: Services, three: dict[str, Resident], typed: str
) -> None:
    _add(services, "Kim Smith", phone="0161 000 0002", postcode="SK1 4AB")  # SK1, and a 3 elsewhere
    assert _found(services, typed) == ["John Smith"]
