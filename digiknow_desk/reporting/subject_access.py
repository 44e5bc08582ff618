"""A subject access response: everything held about one resident, as a readable PDF and as JSON.

The records arrive as a `SubjectAccess` (gathered by services/data_protection.py); both files are made
from it, so the PDF and the JSON always hold the same things. The JSON keeps stored codes and exact
text (it is for machines: nothing is added to or taken from a value); the PDF shows the same in words.
Other people at a resident's group sessions are counted, never named.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import Any
from xml.sax.saxutils import escape

from reportlab.lib.colors import Color
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    CondPageBreak,
    Flowable,
    KeepTogether,
    Paragraph,
    Spacer,
    Table,
    TableStyle,
)

from digiknow_desk.domain.devices import DeviceType
from digiknow_desk.domain.inclusion import InclusionStatus
from digiknow_desk.domain.loans import KitLine, LoanAchieved, LoanOutcome, WaitStatus
from digiknow_desk.domain.residents import Answer, Resident
from digiknow_desk.domain.sessions import ALL_TOPICS, SessionKind, Topic
from digiknow_desk.domain.skills import SkillArea, SkillsCheck
from digiknow_desk.reporting.desk_documents import DocumentFonts, long_date, long_time
from digiknow_desk.reporting.pages import MARGIN as _MARGIN
from digiknow_desk.reporting.pages import PAGE_HEIGHT as _PAGE_HEIGHT
from digiknow_desk.reporting.pages import PAGE_WIDTH as _PAGE_WIDTH
from digiknow_desk.reporting.pages import WIDTH as _WIDTH
from digiknow_desk.reporting.pages import a4_pdf

FORMAT = "digiknow-desk-subject-access"
FORMAT_VERSION = 1


# The records


@dataclass(frozen=True)
class RenewalHeld:
    renewed_at: datetime
    due_before: date
    due_after: date
    renewed_by: str


@dataclass(frozen=True)
class LoanHeld:
    device_tag: str
    device_type: DeviceType
    device_description: str
    issued_at: datetime
    issued_by: str
    due_on: date
    accepted: bool
    late_reason: str
    renewals: tuple[RenewalHeld, ...]
    kit: tuple[KitLine, ...]
    closed_at: datetime | None
    closed_by: str
    outcome: LoanOutcome | None
    condition_back: str
    fault: str
    achieved: LoanAchieved | None


@dataclass(frozen=True)
class WaitEventHeld:
    at: datetime
    by: str
    what: str
    reason: str


@dataclass(frozen=True)
class WaitHeld:
    device_type: DeviceType
    joined_at: datetime
    status: WaitStatus
    position: int
    offered_tag: str
    offer_expires_on: date | None
    closed_at: datetime | None
    events: tuple[WaitEventHeld, ...]


@dataclass(frozen=True)
class SessionHeld:
    held_on: date
    starts_at: time
    minutes: int
    kind: SessionKind
    venue: str
    champions: tuple[str, ...]
    topics: tuple[Topic, ...]
    others: int  # other people at the session: counted, never named
    outcome: str
    follow_up_on: date | None
    follow_up: str
    follow_up_done_on: date | None
    logged_by: str
    logged_at: datetime


@dataclass(frozen=True)
class StatusChange:
    at: datetime
    from_status: InclusionStatus
    to_status: InclusionStatus


@dataclass(frozen=True)
class AuditHeld:
    """An audit-trail entry about the resident: who did what, when (the machine and user name are
    about the staff member, not the resident, and are left out)."""

    at: datetime
    staff_name: str
    action: str
    subject: str
    details: Mapping[str, Any]
    redacted: bool


@dataclass(frozen=True)
class SubjectAccess:
    """Everything DigiKnow Desk holds about one resident."""

    produced_at: datetime
    produced_by: str
    resident: Resident
    registered_at: datetime
    changed_at: datetime
    anonymised_at: datetime | None
    loans: tuple[LoanHeld, ...] = field(default=())
    waiting: tuple[WaitHeld, ...] = field(default=())
    sessions: tuple[SessionHeld, ...] = field(default=())
    skills_checks: tuple[SkillsCheck, ...] = field(default=())
    status_changes: tuple[StatusChange, ...] = field(default=())
    audit: tuple[AuditHeld, ...] = field(default=())


# JSON


def _when(value: datetime | date | time | None) -> str | None:
    return None if value is None else value.isoformat()


def _code(value: Any) -> Any:
    """An enum as its stored value (None stays None)."""
    return getattr(value, "value", value)


def subject_access_json(record: SubjectAccess) -> dict[str, Any]:
    """Every record of `record`, ready for json.dumps: stored codes, ISO dates, exact text."""
    resident = record.resident
    return {
        "format": FORMAT,
        "version": FORMAT_VERSION,
        "produced_at": _when(record.produced_at),
        "produced_by": record.produced_by,
        "resident": {
            "reference": resident.reference,
            "name": resident.name,
            "phone": resident.phone,
            "email": resident.email,
            "address": resident.address,
            "postcode": resident.postcode,
            "ward_code": resident.ward_code,
            "ward_name": resident.ward_name,
            "age_band": _code(resident.age_band),
            "language": resident.language,
            "large_print": resident.large_print,
            "interpreter": resident.interpreter,
            "access_needs": resident.access_needs,
            "referral_partner": resident.referral_partner,
            "referral_reason": _code(resident.referral_reason),
            "disability": _code(resident.disability),
            "ethnicity": resident.ethnicity,
            "on_benefits": _code(resident.on_benefits),
            "not_in_work_or_education": _code(resident.not_in_work_or_education),
            "care_leaver": _code(resident.care_leaver),
            "inclusion_status": _code(resident.inclusion_status),
            "registered_at": _when(record.registered_at),
            "changed_at": _when(record.changed_at),
            "anonymised_at": _when(record.anonymised_at),
            "consents": [
                {"purpose": _code(consent.purpose), "given_on": _when(consent.given_on)}
                for consent in resident.consents
            ],
        },
        "loans": [_loan_json(loan) for loan in record.loans],
        "waiting_list": [_wait_json(entry) for entry in record.waiting],
        "sessions": [_session_json(held) for held in record.sessions],
        "skills_checks": [
            {
                "checked_on": _when(check.checked_on),
                "checked_by": check.checked_by,
                "baseline": check.baseline,
                "levels": {_code(area): _code(level) for area, level in sorted(check.levels.items())},
                "own_device": check.own_device,
                "own_connection": check.own_connection,
                "note": check.note,
            }
            for check in record.skills_checks
        ],
        "inclusion_status_history": [
            {"at": _when(change.at), "from": _code(change.from_status), "to": _code(change.to_status)}
            for change in record.status_changes
        ],
        "audit_trail": [
            {
                "at": _when(entry.at),
                "staff_name": entry.staff_name,
                "action": entry.action,
                "subject": entry.subject,
                "details": dict(entry.details),
                "redacted": entry.redacted,
            }
            for entry in record.audit
        ],
    }


def _loan_json(loan: LoanHeld) -> dict[str, Any]:
    return {
        "device_tag": loan.device_tag,
        "device_type": _code(loan.device_type),
        "device": loan.device_description,
        "issued_at": _when(loan.issued_at),
        "issued_by": loan.issued_by,
        "due_on": _when(loan.due_on),
        "agreement_accepted": loan.accepted,
        "late_reason": loan.late_reason,
        "renewals": [
            {
                "renewed_at": _when(renewal.renewed_at),
                "due_before": _when(renewal.due_before),
                "due_after": _when(renewal.due_after),
                "renewed_by": renewal.renewed_by,
            }
            for renewal in loan.renewals
        ],
        "kit": [{"name": line.name, "went_out": line.out, "came_back": line.back} for line in loan.kit],
        "closed_at": _when(loan.closed_at),
        "closed_by": loan.closed_by,
        "outcome": _code(loan.outcome),
        "condition_back": loan.condition_back,
        "fault": loan.fault,
        "achieved": None
        if loan.achieved is None
        else {
            "reason_met": _code(loan.achieved.reason_met),
            "own_device": loan.achieved.own_device,
            "own_connection": loan.achieved.own_connection,
        },
    }


def _wait_json(entry: WaitHeld) -> dict[str, Any]:
    return {
        "device_type": _code(entry.device_type),
        "joined_at": _when(entry.joined_at),
        "status": _code(entry.status),
        "position": entry.position,
        "offered_tag": entry.offered_tag,
        "offer_expires_on": _when(entry.offer_expires_on),
        "closed_at": _when(entry.closed_at),
        "events": [
            {"at": _when(event.at), "by": event.by, "what": event.what, "reason": event.reason}
            for event in entry.events
        ],
    }


def _session_json(held: SessionHeld) -> dict[str, Any]:
    return {
        "held_on": _when(held.held_on),
        "starts_at": _when(held.starts_at),
        "minutes": held.minutes,
        "kind": _code(held.kind),
        "venue": held.venue,
        "champions": list(held.champions),
        "topics": [_code(topic) for topic in held.topics],
        "other_attendees": held.others,
        "outcome": held.outcome,
        "follow_up_on": _when(held.follow_up_on),
        "follow_up": held.follow_up,
        "follow_up_done_on": _when(held.follow_up_done_on),
        "logged_by": held.logged_by,
        "logged_at": _when(held.logged_at),
    }


def subject_access_json_bytes(record: SubjectAccess) -> bytes:
    """The JSON file's bytes: UTF-8, indented for a person who opens it, keys in a stable order."""
    return (json.dumps(subject_access_json(record), indent=2, ensure_ascii=False) + "\n").encode("utf-8")


# PDF: page, type and colour (the monthly report's house style, at the size the desk prints for residents)

_LABEL_SHARE = 0.34

# 14 pt is the smallest the desk prints for residents; large print aims at RNIB's 16 to 18 pt.
BODY_SIZE = 14.0
LARGE_PRINT_SIZE = 18.0
_FOOTER_SIZE = 8.0

_INK = Color(0.1, 0.1, 0.1)
_SOFT_INK = Color(0.3, 0.3, 0.3)
_DARK = Color(0.09, 0.2, 0.38)
_RULE = Color(0.6, 0.6, 0.6)
_TINT = Color(0.95, 0.95, 0.95)

NOT_RECORDED = "Not recorded"
SECTION_TITLES = (
    "Your record",
    "What you agreed to",
    "Devices lent to you",
    "The waiting list",
    "Help from Digital Champions",
    "Skills checks",
    "Your inclusion status",
    "Who did what with your record",
)


class _Styles:
    """The paragraph styles of one document, in its fonts and at its body size."""

    def __init__(self, fonts: DocumentFonts, size: float) -> None:
        self.fonts = fonts

        def style(name: str, points: float, *, bold: bool = False, **extra: Any) -> ParagraphStyle:
            return ParagraphStyle(
                name,
                fontName=fonts.bold if bold else fonts.regular,
                fontSize=points,
                **{"leading": 1.25 * points, "textColor": _INK, **extra},
            )

        self.title = style("title", size + 8, bold=True, textColor=_DARK, spaceAfter=3 * mm)
        self.subtitle = style("subtitle", size, textColor=_SOFT_INK, spaceAfter=4 * mm)
        self.heading = style(
            "heading",
            size + 4,
            bold=True,
            textColor=_DARK,
            spaceBefore=6 * mm,
            spaceAfter=2 * mm,
        )
        self.subheading = style(
            "subheading", size, bold=True, textColor=_DARK, spaceBefore=3 * mm, spaceAfter=1.5 * mm
        )
        self.body = style("body", size, spaceAfter=2 * mm)
        self.cell = style("cell", size)
        self.label = style("label", size, textColor=_SOFT_INK)

    def text(self, text: str) -> str:
        """Text as paragraph markup: printable in the document's font, '&' and '<' taken literally, line
        breaks kept."""
        return escape(self.fonts.printable(text)).replace("\n", "<br/>")

    def paragraph(self, text: str, style: ParagraphStyle) -> Paragraph:
        return Paragraph(self.text(text), style)


def subject_access_pdf(
    record: SubjectAccess, fonts: DocumentFonts | None = None, *, demo: bool = False
) -> bytes:
    """The subject access response as an A4 PDF: an opening page with the resident's record and
    consents, then their loans, waiting list, sessions, skills checks, inclusion status and audit trail,
    each section saying so when there is nothing in it. Every page says which page it is of how many,
    whose record it is and when it was made. Large print when the resident asked for it."""
    fonts = fonts or DocumentFonts()
    styles = _Styles(fonts, LARGE_PRINT_SIZE if record.resident.large_print else BODY_SIZE)
    story = [
        *_opening(record, styles),
        *_record_section(record, styles),
        *_consents_section(record, styles),
        *_loans_section(record, styles),
        *_waiting_section(record, styles),
        *_sessions_section(record, styles),
        *_skills_section(record, styles),
        *_status_section(record, styles),
        *_audit_section(record, styles),
    ]
    return a4_pdf(
        f"Personal data held about {record.resident.reference}", story, _furniture(record, fonts), demo=demo
    )


def _furniture(record: SubjectAccess, fonts: DocumentFonts) -> Callable[[Canvas, int, int], None]:
    """The running header (from page 2) and the footer of every page."""
    reference = record.resident.reference
    produced = f"Made on {long_time(record.produced_at)} by {record.produced_by}"

    def draw(canvas: Canvas, page: int, pages: int) -> None:
        canvas.saveState()
        canvas.setFillColor(_SOFT_INK)
        canvas.setStrokeColor(_RULE)
        canvas.setLineWidth(0.5)
        right = _PAGE_WIDTH - _MARGIN
        if page > 1:
            top = _PAGE_HEIGHT - 12 * mm
            canvas.setFont(fonts.regular, _FOOTER_SIZE)
            canvas.drawString(_MARGIN, top, "Personal data held by the DigiKnow scheme")
            canvas.drawRightString(right, top, reference)
            canvas.line(_MARGIN, top - 2 * mm, right, top - 2 * mm)
        canvas.line(_MARGIN, 16 * mm, right, 16 * mm)
        page_text = f"Page {page} of {pages}"
        canvas.setFont(fonts.bold, _FOOTER_SIZE)
        canvas.drawRightString(right, 12 * mm, page_text)
        canvas.setFont(fonts.regular, _FOOTER_SIZE)
        canvas.drawString(_MARGIN, 12 * mm, f"Subject access: {reference}")
        canvas.drawString(_MARGIN, 8 * mm, _fitted(produced, fonts, _WIDTH))
        canvas.restoreState()

    return draw


def _fitted(text: str, fonts: DocumentFonts, width: float) -> str:
    """`text` made printable and, if wider than `width`, cut short with an ellipsis."""
    text = fonts.printable(text)
    if stringWidth(text, fonts.regular, _FOOTER_SIZE) <= width:
        return text
    while text and stringWidth(text + "…", fonts.regular, _FOOTER_SIZE) > width:
        text = text[:-1]
    return text.rstrip() + "…"


# PDF: building blocks


def _details(rows: Sequence[tuple[str, str]], styles: _Styles) -> Table:
    """Label and value, one per row, the label in a soft ink: the shape of every record below."""
    label_width = _WIDTH * _LABEL_SHARE
    return Table(
        [
            [styles.paragraph(label, styles.label), styles.paragraph(value, styles.cell)]
            for label, value in rows
        ],
        colWidths=[label_width, _WIDTH - label_width],
        hAlign="LEFT",
        style=TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LINEBELOW", (0, 0), (-1, -1), 0.25, _RULE),
                ("TOPPADDING", (0, 0), (-1, -1), 2.5),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 3.5),
                ("LEFTPADDING", (0, 0), (-1, -1), 3),
                ("RIGHTPADDING", (0, 0), (-1, -1), 3),
            ]
        ),
    )


def _block(title: str, rows: Sequence[tuple[str, str]], styles: _Styles) -> list[Flowable]:
    """One record: a shaded title line and its details, kept on one page when they fit."""
    heading = Table(
        [[styles.paragraph(title, styles.subheading)]],
        colWidths=[_WIDTH],
        hAlign="LEFT",
        style=TableStyle(
            [
                ("BACKGROUND", (0, 0), (-1, -1), _TINT),
                ("LINEABOVE", (0, 0), (-1, 0), 1, _DARK),
                ("TOPPADDING", (0, 0), (-1, -1), 0),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
                ("LEFTPADDING", (0, 0), (-1, -1), 3),
            ]
        ),
    )
    return [KeepTogether([heading, _details(rows, styles)]), Spacer(1, 4 * mm)]


def _section(number: int, styles: _Styles, lead: str = "") -> list[Flowable]:
    story: list[Flowable] = [styles.paragraph(f"{number}. {SECTION_TITLES[number - 1]}", styles.heading)]
    if lead:
        story.append(styles.paragraph(lead, styles.body))
    return story


def _opened(heading: list[Flowable], body: list[Flowable]) -> list[Flowable]:
    """A section: its heading never at the foot of a page, but with its first record (a block that
    is kept whole) or with the first lines of its table (a table that runs on over pages)."""
    if body and isinstance(body[0], KeepTogether):
        return [KeepTogether([*heading, body[0]]), *body[1:]]
    return [CondPageBreak(45 * mm), *heading, *body]


def _nothing(sentence: str, styles: _Styles) -> list[Flowable]:
    return [styles.paragraph(sentence, styles.body)]


def _yes_no(value: bool | None) -> str:
    return NOT_RECORDED if value is None else ("Yes" if value else "No")


def _answer(value: Answer | None) -> str:
    return "Not asked" if value is None else value.label


def _or_none(text: str, none: str = NOT_RECORDED) -> str:
    return text.strip() or none


def _day(day: date | None, none: str = NOT_RECORDED) -> str:
    return none if day is None else long_date(day)


# PDF: the sections


def _opening(record: SubjectAccess, styles: _Styles) -> list[Flowable]:
    resident = record.resident
    who = resident.name if record.anonymised_at is None else f"resident {resident.reference}"
    story: list[Flowable] = [
        styles.paragraph(f"Personal data we hold about {who}", styles.title),
        styles.paragraph(
            f"Reference {resident.reference}. "
            f"Made on {long_time(record.produced_at)} by {record.produced_by}.",
            styles.subtitle,
        ),
        styles.paragraph(
            "This is everything the DigiKnow device lending and Digital Champions scheme holds about you: "
            "your details and what you agreed to, the devices lent to you, your place on the waiting list, "
            "the help you had from Digital Champions, your skills checks, your inclusion status, and every "
            "time a member of staff changed or looked up your record for you. A computer-readable copy of "
            "the same records comes with it as a JSON file.",
            styles.body,
        ),
        styles.paragraph(
            "Other people who came to the same group sessions are counted but not named, to protect their "
            "privacy. Records about our devices themselves (repairs, wipes) are not about you and are not "
            "included.",
            styles.body,
        ),
    ]
    if record.anonymised_at is not None:
        story.append(
            styles.paragraph(
                "Your name, contact details and notes were removed on "
                f"{long_date(record.anonymised_at.astimezone().date())}. "
                "What is left below cannot identify you; it is kept only so that the scheme's past figures "
                "stay right.",
                styles.body,
            )
        )
    return story


def _record_section(record: SubjectAccess, styles: _Styles) -> list[Flowable]:
    r = record.resident
    rows = [
        ("Name", r.name),
        ("Reference", r.reference),
        ("Phone", _or_none(r.phone)),
        ("Email", _or_none(r.email)),
        ("Address", _or_none(r.address)),
        ("Postcode", _or_none(r.postcode)),
        ("Ward", _or_none(r.ward_name)),
        ("Age band", r.age_band.label),
        ("Language", _or_none(r.language)),
        ("Large print", _yes_no(r.large_print)),
        ("Interpreter", _yes_no(r.interpreter)),
        ("Access needs", _or_none(r.access_needs, "None recorded")),
        ("Referred by", _or_none(r.referral_partner)),
        ("Reason for referral", r.referral_reason.label),
        ("Disability", _answer(r.disability)),
        ("Ethnicity", _or_none(r.ethnicity, "Not asked")),
        ("On benefits", _answer(r.on_benefits)),
        ("Not in work, education or training", _answer(r.not_in_work_or_education)),
        ("Care leaver", _answer(r.care_leaver)),
        ("Inclusion status", r.inclusion_status.label),
        ("Registered", long_time(record.registered_at)),
        ("Record last changed", long_time(record.changed_at)),
    ]
    if record.anonymised_at is not None:
        rows.append(("Anonymised", long_time(record.anonymised_at)))
    return _opened(_section(1, styles), [_details(rows, styles)])


def _consents_section(record: SubjectAccess, styles: _Styles) -> list[Flowable]:
    heading = _section(2, styles, "What you agreed we may use your details for, and when you agreed.")
    consents = record.resident.consents
    if not consents:
        return _opened(heading, _nothing("No consents are recorded.", styles))
    return _opened(
        heading,
        [_details([(c.purpose.label, f"Agreed on {long_date(c.given_on)}") for c in consents], styles)],
    )


def _kit_words(kit: Sequence[KitLine], closed: bool) -> str:
    if not kit:
        return "None"
    parts = []
    for line in kit:
        if not line.out:
            parts.append(f"{line.name} (did not go out)")
        elif closed and line.back is False:
            parts.append(f"{line.name} (not returned)")
        else:
            parts.append(line.name)
    return ", ".join(parts)


def _loans_section(record: SubjectAccess, styles: _Styles) -> list[Flowable]:
    heading = _section(3, styles)
    if not record.loans:
        return _opened(heading, _nothing("No devices have been lent to you.", styles))
    story: list[Flowable] = []
    for loan in record.loans:
        device = " ".join(part for part in (loan.device_type.label, loan.device_description) if part)
        rows = [
            ("Device", f"{device} ({loan.device_tag})"),
            ("Lent", f"{long_time(loan.issued_at)} by {loan.issued_by}"),
            ("Agreement signed", _yes_no(loan.accepted)),
            ("Due back", long_date(loan.due_on)),
            ("Kit", _kit_words(loan.kit, loan.closed_at is not None)),
        ]
        rows += [
            (
                f"Renewal {number}",
                f"{long_time(renewal.renewed_at)} by {renewal.renewed_by}: due "
                f"{long_date(renewal.due_before)}, then {long_date(renewal.due_after)}",
            )
            for number, renewal in enumerate(loan.renewals, 1)
        ]
        if loan.closed_at is None:
            rows.append(("Returned", "Not yet: the device is still on loan"))
        else:
            ended = loan.outcome.label if loan.outcome else "Closed"
            rows.append(
                (ended, f"{long_time(loan.closed_at)}" + (f" by {loan.closed_by}" if loan.closed_by else ""))
            )
        if loan.condition_back:
            rows.append(("Condition when returned", loan.condition_back.replace("_", " ").capitalize()))
        if loan.fault:
            rows.append(("Fault or what happened", loan.fault))
        if loan.late_reason:
            rows.append(("Recorded late because", loan.late_reason))
        if loan.achieved is not None:
            rows.append(("Did the loan help", loan.achieved.reason_met.label))
            rows.append(("Own device afterwards", _yes_no(loan.achieved.own_device)))
            rows.append(("Own connection afterwards", _yes_no(loan.achieved.own_connection)))
        story += _block(
            f"{loan.device_tag}, lent {long_date(loan.issued_at.astimezone().date())}", rows, styles
        )
    return _opened(heading, story)


def _waiting_section(record: SubjectAccess, styles: _Styles) -> list[Flowable]:
    heading = _section(4, styles)
    if not record.waiting:
        return _opened(heading, _nothing("You have not been on the waiting list.", styles))
    story: list[Flowable] = []
    for entry in record.waiting:
        rows = [
            ("Waiting for", entry.device_type.label),
            ("Joined", long_time(entry.joined_at)),
            ("Now", entry.status.label),
        ]
        if entry.status in (WaitStatus.WAITING, WaitStatus.OFFERED):
            rows.append(("Place in the list", str(entry.position)))
        if entry.offered_tag:
            rows.append(("Device held for you", f"{entry.offered_tag} until {_day(entry.offer_expires_on)}"))
        if entry.closed_at is not None:
            rows.append(("Left the list", long_time(entry.closed_at)))
        rows += [
            (
                long_time(event.at),
                f"{event.what.capitalize()} by {event.by}" + (f": {event.reason}" if event.reason else ""),
            )
            for event in entry.events
        ]
        story += _block(
            f"{entry.device_type.label}, from {long_date(entry.joined_at.astimezone().date())}", rows, styles
        )
    return _opened(heading, story)


def _sessions_section(record: SubjectAccess, styles: _Styles) -> list[Flowable]:
    heading = _section(5, styles)
    if not record.sessions:
        return _opened(heading, _nothing("No support sessions are recorded for you.", styles))
    story: list[Flowable] = []
    for held in record.sessions:
        topics = ", ".join(topic.label for topic in ALL_TOPICS if topic in held.topics)
        rows = [
            ("When", f"{long_date(held.held_on)} at {held.starts_at:%H:%M}, {held.minutes} minutes"),
            ("Kind", held.kind.label),
            ("Where", _or_none(held.venue, "By phone or video")),
            ("Digital Champions", ", ".join(held.champions) or NOT_RECORDED),
            ("Topics", topics or NOT_RECORDED),
        ]
        if held.others:
            rows.append(("Others there", f"{held.others} other {'person' if held.others == 1 else 'people'}"))
        rows.append(("Notes", _or_none(held.outcome, "None")))
        if held.follow_up_on is not None:
            done = f", done {long_date(held.follow_up_done_on)}" if held.follow_up_done_on else ""
            rows.append(("Follow-up", f"{long_date(held.follow_up_on)}: {held.follow_up}{done}"))
        rows.append(("Recorded", f"{long_time(held.logged_at)} by {held.logged_by}"))
        story += _block(f"{held.kind.label}, {long_date(held.held_on)}", rows, styles)
    return _opened(heading, story)


def _skills_section(record: SubjectAccess, styles: _Styles) -> list[Flowable]:
    heading = _section(6, styles)
    if not record.skills_checks:
        return _opened(heading, _nothing("No skills checks are recorded for you.", styles))
    story: list[Flowable] = []
    for check in record.skills_checks:
        rows = [
            (area.label, check.levels[area].label if area in check.levels else NOT_RECORDED)
            for area in SkillArea
        ]
        rows += [
            ("Own device", _yes_no(check.own_device)),
            ("Own connection", _yes_no(check.own_connection)),
            ("Checked by", check.checked_by),
        ]
        if check.note:
            rows.append(("Notes", check.note))
        title = f"{'First check' if check.baseline else 'Check'}, {long_date(check.checked_on)}"
        story += _block(title, rows, styles)
    return _opened(heading, story)


def _status_section(record: SubjectAccess, styles: _Styles) -> list[Flowable]:
    heading = _section(
        7,
        styles,
        f"Your status now: {record.resident.inclusion_status.label}. It is worked out from your sessions, "
        "skills checks and loans by the scheme's rule, never typed in.",
    )
    if not record.status_changes:
        return _opened(heading, [styles.paragraph("It has not changed since you registered.", styles.body)])
    rows = [
        (long_time(change.at), f"{change.from_status.label} to {change.to_status.label}")
        for change in record.status_changes
    ]
    return _opened(heading, [_details(rows, styles)])


# What each audit action means, in the resident's terms; an action not listed shows as it is stored.
ACTION_WORDS = {
    "resident.added": "Registered you",
    "resident.changed": "Changed your details",
    "resident.data_exported": "Made a copy of your data for you",
    "resident.erased": "Erased your personal data",
    "resident.anonymised": "Removed your personal data after the retention period",
    "loan.issued": "Lent you a device",
    "loan.returned": "Took a device back",
    "loan.renewed": "Renewed a loan",
    "loan.closed_lost": "Recorded a device lost or stolen",
    "waitlist.joined": "Put you on the waiting list",
    "waitlist.moved": "Changed your place on the waiting list",
    "waitlist.offered": "Held a device for you",
    "waitlist.offer": "Passed on a device held for you",
    "waitlist.withdrawn": "Took you off the waiting list",
    "waitlist.fulfilled": "Your wait ended with a loan",
    "session.logged": "Recorded a support session",
    "session.deleted": "Removed a support session recorded by mistake",
    "session.follow_up_done": "Did a session's follow-up",
    "skills.recorded": "Recorded a skills check",
}


def _audit_line(entry: AuditHeld) -> str:
    about = f" ({entry.subject})" if entry.subject else ""
    line = f"{ACTION_WORDS.get(entry.action, entry.action)}{about}, by {entry.staff_name}."
    if entry.redacted:
        return f"{line} Details removed when your record was anonymised."
    details = "; ".join(
        f"{name.replace('_', ' ')}: {_detail_value(value)}" for name, value in sorted(entry.details.items())
    )
    return f"{line} {details[:1].upper()}{details[1:]}." if details else line


_STAMP = re.compile(r"^\d{4}-\d{2}-\d{2}([ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?([+-]\d{2}:\d{2}|Z)?)?$")


def _detail_value(value: Any) -> str:
    """An audit detail in words: dates and times as the rest of the document writes them."""
    if isinstance(value, str) and _STAMP.match(value):
        stamp = datetime.fromisoformat(value)
        return (
            long_date(stamp.date())
            if len(value) == 10
            else long_time(stamp.replace(tzinfo=stamp.tzinfo or UTC))
        )
    if isinstance(value, list):
        return ", ".join(_detail_value(item) for item in value) or "none"
    if value is None:
        return "none"
    return str(value)


def _audit_section(record: SubjectAccess, styles: _Styles) -> list[Flowable]:
    heading = _section(
        8,
        styles,
        "The audit trail: each time a member of staff added or changed something about you. For changes "
        "to your details it keeps which details changed, not what they were.",
    )
    if not record.audit:
        return _opened(heading, _nothing("No audit-trail entries are about you.", styles))
    rows = [(long_time(entry.at), _audit_line(entry)) for entry in record.audit]
    return _opened(heading, [_details(rows, styles)])
