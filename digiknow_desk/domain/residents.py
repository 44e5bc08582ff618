"""Residents: the minimum personal data the desk keeps, consent per purpose, and the referral."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field, replace
from datetime import date
from enum import StrEnum

from digiknow_desk.domain.inclusion import InclusionStatus

MAX_NAME = 120
POSTCODE = re.compile(r"^[A-Z]{1,2}[0-9][A-Z0-9]? ?[0-9][A-Z]{2}$")
REFERENCE_PREFIX = "R"
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class AgeBand(StrEnum):
    UNDER_18 = "under_18"
    AGE_18_24 = "18_24"
    AGE_25_49 = "25_49"
    AGE_50_64 = "50_64"
    AGE_65_74 = "65_74"
    AGE_75_PLUS = "75_plus"
    NOT_SAID = "not_said"

    @property
    def label(self) -> str:
        return _AGE_LABELS[self]


_AGE_LABELS = {
    AgeBand.UNDER_18: "Under 18",
    AgeBand.AGE_18_24: "18 to 24",
    AgeBand.AGE_25_49: "25 to 49",
    AgeBand.AGE_50_64: "50 to 64",
    AgeBand.AGE_65_74: "65 to 74",
    AgeBand.AGE_75_PLUS: "75 or over",
    AgeBand.NOT_SAID: "Prefer not to say",
}


class ReferralReason(StrEnum):
    EDUCATION = "education"
    JOB_SEARCH = "job_search"
    HEALTH = "health"
    SOCIAL_ISOLATION = "social_isolation"
    OTHER = "other"

    @property
    def label(self) -> str:
        return _REASON_LABELS[self]


_REASON_LABELS = {
    ReferralReason.EDUCATION: "Education",
    ReferralReason.JOB_SEARCH: "Job search / Universal Credit",
    ReferralReason.HEALTH: "Health",
    ReferralReason.SOCIAL_ISOLATION: "Social isolation",
    ReferralReason.OTHER: "Other",
}


class ConsentPurpose(StrEnum):
    """What a resident agrees their data may be used for; each is recorded with its date."""

    LENDING = "lending"  # keep their details to lend and get back a device
    CONTACT = "contact"  # contact them about their loan (reminders, offers)
    SUPPORT = "support"  # record Digital Champions' support sessions
    FOLLOW_UP = "follow_up"  # ask later how the loan helped

    @property
    def label(self) -> str:
        return _PURPOSE_LABELS[self]


_PURPOSE_LABELS = {
    ConsentPurpose.LENDING: "Keep my details to lend me a device",
    ConsentPurpose.CONTACT: "Contact me about my loan",
    ConsentPurpose.SUPPORT: "Record the help I get from Digital Champions",
    ConsentPurpose.FOLLOW_UP: "Ask me later how the loan helped",
}


class Answer(StrEnum):
    """An optional, sensitive equality question: never required, 'prefer not to say' always allowed."""

    YES = "yes"
    NO = "no"
    PREFER_NOT = "prefer_not"

    @property
    def label(self) -> str:
        return {"yes": "Yes", "no": "No", "prefer_not": "Prefer not to say"}[self.value]


# "Not in work, education or training" is a priority group of young people: asked only of these age bands.
YOUNG_AGE_BANDS = frozenset({AgeBand.UNDER_18, AgeBand.AGE_18_24})
NOT_IN_WORK_FOR_THE_YOUNG = (
    "'Not in work, education or training' is asked only of residents under 25. If they are, choose "
    "their age band (Under 18 or 18 to 24); if not, set it back to 'Not asked'."
)


def details_removed(reference: str) -> str:
    """Why nothing new can be recorded for a resident whose personal data was erased or anonymised."""
    return (
        f"{reference}'s details were removed (erasure or retention), so nothing new can be recorded for "
        "them. If they come back, register them again as a new resident."
    )


def support_consent_missing(references: list[str]) -> str:
    """Why support cannot be recorded for residents who have not agreed to it, and what to do."""
    who = ", ".join(references)
    return (
        f"{who} {'has' if len(references) == 1 else 'have'} not agreed to have the help they get "
        "recorded. Ask, and record their consent on the Residents page first; or add them as an "
        "attendee who is not registered (age band and ward only)."
    )


def contact_problems(phone: str, email: str) -> dict[str, str]:
    """What is wrong with a phone number or an email address as typed (for residents and champions)."""
    problems = {}
    if phone and (not re.fullmatch(r"\+?[0-9 ()-]{6,20}", phone) or sum(ch.isdigit() for ch in phone) < 6):
        problems["phone"] = f"'{phone}' is not a phone number: use digits, e.g. 0161 474 4444."
    if email and not EMAIL.match(email):
        problems["email"] = f"'{email}' is not an email address: it needs an @ and a domain."
    return problems


def normalise_postcode(text: str) -> str:
    """'sk1 3xe' -> 'SK1 3XE': upper case with one space before the inward code."""
    compact = "".join(text.split()).upper()
    return f"{compact[:-3]} {compact[-3:]}" if len(compact) > 3 else compact


@dataclass(frozen=True)
class ResidentDraft:
    """What staff type in for a resident. Equality fields are optional and sensitive."""

    name: str
    phone: str = ""
    email: str = ""
    address: str = ""
    postcode: str = ""
    ward_code: str | None = None
    age_band: AgeBand = AgeBand.NOT_SAID
    language: str = "English"
    large_print: bool = False
    interpreter: bool = False
    access_needs: str = ""
    referral_partner: str = ""
    referral_reason: ReferralReason = ReferralReason.OTHER
    consents: frozenset[ConsentPurpose] = frozenset({ConsentPurpose.LENDING})
    disability: Answer | None = None
    ethnicity: str = ""
    on_benefits: Answer | None = None
    not_in_work_or_education: Answer | None = None  # asked of young people only (YOUNG_AGE_BANDS)
    care_leaver: Answer | None = None

    def without_sensitive(self) -> ResidentDraft:
        """The draft with the equality answers left unasked (a role that may not see them gave none)."""
        return replace(
            self,
            disability=None,
            ethnicity="",
            on_benefits=None,
            not_in_work_or_education=None,
            care_leaver=None,
        )

    def cleaned(self) -> ResidentDraft:
        return ResidentDraft(
            name=" ".join(self.name.split()),
            phone=" ".join(self.phone.split()),
            email=self.email.strip().lower(),
            address=self.address.strip(),
            postcode=normalise_postcode(self.postcode) if self.postcode.strip() else "",
            ward_code=(self.ward_code or "").strip() or None,
            age_band=self.age_band,
            language=" ".join(self.language.split()) or "English",
            large_print=self.large_print,
            interpreter=self.interpreter,
            access_needs=self.access_needs.strip(),
            referral_partner=" ".join(self.referral_partner.split()),
            referral_reason=self.referral_reason,
            consents=frozenset(self.consents),
            disability=self.disability,
            ethnicity=" ".join(self.ethnicity.split()),
            on_benefits=self.on_benefits,
            not_in_work_or_education=self.not_in_work_or_education,
            care_leaver=self.care_leaver,
        )

    def problems(self) -> dict[str, str]:
        """Field -> message for everything wrong with this (cleaned) draft."""
        problems: dict[str, str] = {}
        if not self.name:
            problems["name"] = "Enter the resident's name."
        elif len(self.name) > MAX_NAME:
            problems["name"] = f"The name is too long: keep it under {MAX_NAME} characters."
        if not (self.phone or self.email or self.address):
            problems["contact"] = "Give at least one way to reach the resident: phone, email or address."
        problems.update(contact_problems(self.phone, self.email))
        if self.postcode and not POSTCODE.match(self.postcode):
            problems["postcode"] = f"'{self.postcode}' is not a UK postcode, e.g. SK1 3XE."
        for name, limit in (
            ("address", 300),
            ("access_needs", 300),
            ("referral_partner", 120),
            ("language", 60),
            ("ethnicity", 80),
        ):
            if len(getattr(self, name)) > limit:
                problems[name] = f"Keep this under {limit} characters."
        if ConsentPurpose.LENDING not in self.consents:
            problems["consents"] = (
                "Lending needs the resident's consent to keep their details: record it first."
            )
        if self.not_in_work_or_education is not None and self.age_band not in YOUNG_AGE_BANDS:
            problems["not_in_work_or_education"] = NOT_IN_WORK_FOR_THE_YOUNG
        return problems


@dataclass(frozen=True)
class Consent:
    purpose: ConsentPurpose
    given_on: date


@dataclass(frozen=True)
class Resident:
    id: uuid.UUID
    reference: str
    name: str
    phone: str
    email: str
    address: str
    postcode: str
    ward_code: str | None
    ward_name: str
    age_band: AgeBand
    language: str
    large_print: bool
    interpreter: bool
    access_needs: str
    referral_partner: str
    referral_reason: ReferralReason
    consents: tuple[Consent, ...] = field(default=())
    disability: Answer | None = None
    ethnicity: str = ""
    on_benefits: Answer | None = None
    not_in_work_or_education: Answer | None = None
    care_leaver: Answer | None = None
    inclusion_status: InclusionStatus = InclusionStatus.NOT_YET_SUPPORTED  # derived, never typed
    # False when the staff member's role may not see the equality answers: then they read as not asked.
    sensitive_shown: bool = True

    @property
    def contact(self) -> str:
        """How to reach them, best first: phone, email, then address."""
        return self.phone or self.email or self.address

    def as_draft(self) -> ResidentDraft:
        return ResidentDraft(
            name=self.name,
            phone=self.phone,
            email=self.email,
            address=self.address,
            postcode=self.postcode,
            ward_code=self.ward_code,
            age_band=self.age_band,
            language=self.language,
            large_print=self.large_print,
            interpreter=self.interpreter,
            access_needs=self.access_needs,
            referral_partner=self.referral_partner,
            referral_reason=self.referral_reason,
            consents=frozenset(consent.purpose for consent in self.consents),
            disability=self.disability,
            ethnicity=self.ethnicity,
            on_benefits=self.on_benefits,
            not_in_work_or_education=self.not_in_work_or_education,
            care_leaver=self.care_leaver,
        )


_REFERENCE = re.compile(r"^R-?[0-9]{1,5}$", re.IGNORECASE)


def looks_like_reference(text: str) -> bool:
    """Whether `text` is a resident reference however typed or scanned: 'R-00042', 'r42'."""
    return bool(_REFERENCE.match(text.strip()))


def normalise_reference(text: str) -> str:
    """'r42', 'R-42' and ' r-00042 ' all mean R-00042."""
    compact = text.strip().upper().replace("-", "").replace(" ", "")
    if compact.startswith(REFERENCE_PREFIX) and compact[1:].isdigit():
        return f"{REFERENCE_PREFIX}-{int(compact[1:]):05d}"
    return text.strip().upper()


SENSITIVE_FIELDS = ("disability", "ethnicity", "on_benefits", "not_in_work_or_education", "care_leaver")


def only_who(resident: Resident) -> Resident:
    """Who the resident is and nothing more: their reference, name, ward and age band (what a Digital
    Champion needs to add someone they have not supported before to a session)."""
    return without_sensitive(
        replace(
            resident,
            phone="",
            email="",
            address="",
            postcode="",
            access_needs="",
            referral_partner="",
            consents=(),
        )
    )


def without_sensitive(resident: Resident) -> Resident:
    """The resident as a role that may not see equality answers sees them."""
    return replace(
        resident,
        disability=None,
        ethnicity="",
        on_benefits=None,
        not_in_work_or_education=None,
        care_leaver=None,
        sensitive_shown=False,
    )
