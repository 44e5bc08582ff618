"""The lending desk's printed documents: loan agreement and due-date slip, wipe certificate, resident card.

Records and wording in, PDF out. The wording is data (TOML files, one per document, plus the
organisation's details) so that a coordinator can change it without touching code; `load_wording`
reads and checks it, and the render functions fill it in.
"""

from __future__ import annotations

import math
import string
import tomllib
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any, BinaryIO
from xml.sax.saxutils import escape

from reportlab.lib.colors import Color, black, white
from reportlab.lib.enums import TA_CENTER
from reportlab.lib.pagesizes import A4, A5
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Flowable, Frame, Paragraph, Spacer, Table, TableStyle

from digiknow_desk.domain.loans import DataPlan, Loan, Wipe
from digiknow_desk.domain.residents import Resident
from digiknow_desk.labels.canvas import PrintCanvas
from digiknow_desk.labels.qr import qr_matrix
from digiknow_desk.labels.sheet import draw_qr

CARD_SIZE = (85.6 * mm, 54 * mm)  # ISO/IEC 7810 ID-1, a bank card
AGREEMENT_FILE = "loan_agreement.toml"
SLIP_FILE = "due_slip.toml"
CERTIFICATE_FILE = "wipe_certificate.toml"
CARD_FILE = "resident_card.toml"
ORGANISATION_FILE = "organisation.toml"

# Body sizes in points, largest first: a document is set at the first size at which it fits its page.
# 14 pt is the smallest the desk prints for residents; large print aims at RNIB's 16 to 18 pt, and
# only an unusually long loan (a long kit list, say) falls back towards 14 pt rather than fail.
BODY_SIZES = (14.0,)
LARGE_PRINT_SIZES = (18.0, 17.0, 16.0, 15.0, 14.0)
_CERTIFICATE_SIZES = (14.0, 13.0, 12.0)
_FOOTER_SIZE = 10.0
_LEADING = 1.25
_MARGIN = 14 * mm
_SLIP_MARGIN = 12 * mm
_CARD_INSET = 3.5 * mm
_CARD_EDGE = 0.4 * mm  # the cut outline, inside the page so that a printer's margin does not lose it
_CARD_RADIUS = 3 * mm
_CARD_BAND = 5.2 * mm
_QUIET_MODULES = 4  # the light border scanners need round a QR code (ISO/IEC 18004)
_MAX_NOTES = 600  # characters of wipe notes printed; the rest is in the desk's records

_INK = black
_SOFT_INK = Color(0.25, 0.25, 0.25)
_RULE = Color(0.55, 0.55, 0.55)
_TINT = Color(0.94, 0.94, 0.94)

_DAYS = "Monday Tuesday Wednesday Thursday Friday Saturday Sunday".split()
_MONTHS = "January February March April May June July August September October November December".split()


class DocumentError(ValueError):
    """A desk document cannot be made: its wording is missing or wrong, or it does not fit its page."""


# Dates in words. Spelled out here rather than with strftime("%A %B"), which follows the process
# locale (Qt sets it from the desktop), while the wording is English.


def long_date(day: date) -> str:
    """'Thursday 24 December 2026'."""
    return f"{_DAYS[day.weekday()]} {day.day} {_MONTHS[day.month - 1]} {day.year}"


def long_time(moment: datetime) -> str:
    """'Thursday 24 December 2026 at 14:05', in the desk's local time."""
    local = moment.astimezone()
    return f"{long_date(local.date())} at {local:%H:%M}"


def _unbroken(text: str) -> str:
    """`text` with no-break spaces, so that a date is not split across lines."""
    return text.replace(" ", "\xa0")


# Wording

ORGANISATION_PLACEHOLDERS = ("organisation", "phone", "email", "website", "venues", "hours")
LOAN_PLACEHOLDERS = ("name", "reference", "tag", "device", "due_date")
WIPE_PLACEHOLDERS = ("tag", "device", "method")
CARD_PLACEHOLDERS = ("name", "reference")

# What each file holds: None is a text, a tuple is a table of texts, a list holds one tuple and is an
# array of such tables (written [[name]] in TOML).
_Shape = Mapping[str, None | tuple[str, ...] | list[tuple[str, ...]]]
_ORGANISATION_SHAPE: _Shape = dict.fromkeys(("name", "phone", "email", "website", "venues", "hours"))
_AGREEMENT_SHAPE: _Shape = {
    "title": None,
    "intro": None,
    "details": ("name", "reference", "device", "kit", "no_kit", "data", "lent_on", "due"),
    "sections": [("heading", "text")],
    "acceptance": ("statement", "resident", "staff", "date"),
}
_SLIP_SHAPE: _Shape = dict.fromkeys(("title", "device", "reference", "renew", "help", "keep"))
_CHECKS = ("accounts_signed_out", "reset_done", "apps_restored", "charger_present")  # WipeChecklist's
_CERTIFICATE_SHAPE: _Shape = {
    **dict.fromkeys(("title", "number", "device", "method", "wiped_by", "wiped_on", "checklist")),
    "checks": _CHECKS,
    **dict.fromkeys(("done", "not_done", "notes", "statement", "incomplete", "signature", "date")),
}
_CARD_SHAPE: _Shape = dict.fromkeys(("title", "reference", "contact"))


@dataclass(frozen=True)
class Texts:
    """One document's wording as read from its file: texts by key ('title', 'details.kit'), the
    [[sections]] arrays, and the organisation's details that every text may refer to."""

    path: Path
    texts: Mapping[str, str]
    arrays: Mapping[str, tuple[Mapping[str, str], ...]]
    organisation: Mapping[str, str]

    def fill(self, key: str, values: Mapping[str, str]) -> str:
        """The text `key` with its placeholders filled from `values` and the organisation's details."""
        return self._fill(self.texts[key], values)

    def sections(self, key: str, values: Mapping[str, str]) -> list[dict[str, str]]:
        return [
            {name: self._fill(text, values) for name, text in table.items()} for table in self.arrays[key]
        ]

    def _fill(self, text: str, values: Mapping[str, str]) -> str:
        return string.Template(text).substitute({**self.organisation, **values})


@dataclass(frozen=True)
class DeskWording:
    """The wording of every desk document, read and checked by `load_wording`."""

    organisation: Mapping[str, str]  # placeholder name -> value: organisation, phone, ...
    agreement: Texts
    slip: Texts
    certificate: Texts
    card: Texts

    @property
    def name(self) -> str:
        return self.organisation["organisation"]

    @property
    def phone(self) -> str:
        return self.organisation["phone"]


def load_wording(folder: Path) -> DeskWording:
    """Read and check the wording files in `folder`; DocumentError names any missing file or entry,
    unknown entry, or unknown placeholder, so that a mistake shows when printing, not on paper."""
    raw = read_wording_file(folder / ORGANISATION_FILE, _ORGANISATION_SHAPE)
    organisation = {"organisation" if key == "name" else key: value for key, value in raw[0].items()}
    for key in ("organisation", "phone"):
        if not organisation[key].strip():
            entry = "name" if key == "organisation" else key
            raise DocumentError(f"{folder / ORGANISATION_FILE}: '{entry}' is empty; fill it in.")
    unavailable = {key for key, value in organisation.items() if not value.strip()}

    def texts(name: str, shape: _Shape, placeholders: Sequence[str]) -> Texts:
        path = folder / name
        flat, arrays = read_wording_file(path, shape)
        allowed = set(ORGANISATION_PLACEHOLDERS) | set(placeholders)
        every_text = [*flat.items()] + [
            (f"{key}.{field}", text)
            for key, tables in arrays.items()
            for t in tables
            for field, text in t.items()
        ]
        for key, text in every_text:
            check_placeholders(path, key, text, allowed, unavailable)
        return Texts(path, flat, arrays, organisation)

    return DeskWording(
        organisation=organisation,
        agreement=texts(AGREEMENT_FILE, _AGREEMENT_SHAPE, LOAN_PLACEHOLDERS),
        slip=texts(SLIP_FILE, _SLIP_SHAPE, LOAN_PLACEHOLDERS),
        certificate=texts(CERTIFICATE_FILE, _CERTIFICATE_SHAPE, WIPE_PLACEHOLDERS),
        card=texts(CARD_FILE, _CARD_SHAPE, CARD_PLACEHOLDERS),
    )


def read_wording_file(
    path: Path, shape: _Shape
) -> tuple[dict[str, str], dict[str, tuple[dict[str, str], ...]]]:
    if not path.is_file():
        raise DocumentError(
            f"The wording file {path} is missing. Restore it from a backup or reinstall DigiKnow Desk."
        )
    try:
        with path.open("rb") as file:
            data = tomllib.load(file)
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise DocumentError(f"The wording file {path} cannot be read: {error}") from error

    flat: dict[str, str] = {}
    arrays: dict[str, tuple[dict[str, str], ...]] = {}
    _check_keys(path, "", data, list(shape))
    for key, kind in shape.items():
        value = data[key]
        if kind is None:
            flat[key] = _text(path, key, value)
        elif isinstance(kind, tuple):
            table = _table(path, key, value, kind)
            flat.update((f"{key}.{field}", text) for field, text in table.items())
        else:
            if not isinstance(value, list) or not value:
                raise DocumentError(f"{path}: '{key}' should be one or more [[{key}]] tables.")
            arrays[key] = tuple(_table(path, f"{key}[{n}]", item, kind[0]) for n, item in enumerate(value, 1))
    return flat, arrays


def _check_keys(path: Path, where: str, data: Mapping[str, Any], expected: Sequence[str]) -> None:
    prefix = f"{where}." if where else ""
    missing = [key for key in expected if key not in data]
    if missing:
        names = ", ".join(repr(prefix + key) for key in missing)
        raise DocumentError(
            f"{path}: {names} {'is' if len(missing) == 1 else 'are'} missing; add "
            f"{'it' if len(missing) == 1 else 'them'} (the file that ships with the app shows an example)."
        )
    unknown = sorted(set(data) - set(expected))
    if unknown:
        raise DocumentError(
            f"{path}: unknown entry {', '.join(repr(prefix + key) for key in unknown)}; "
            f"the entries here are: {', '.join(prefix + key for key in expected)}."
        )


def _table(path: Path, where: str, value: object, fields: Sequence[str]) -> dict[str, str]:
    if not isinstance(value, dict):
        raise DocumentError(f"{path}: '{where}' should be a table of texts, written [{where}].")
    _check_keys(path, where, value, fields)
    return {field: _text(path, f"{where}.{field}", value[field]) for field in fields}


def _text(path: Path, key: str, value: object) -> str:
    if not isinstance(value, str):
        raise DocumentError(f"{path}: '{key}' should be text in quotes, e.g. {key.split('.')[-1]} = \"…\".")
    return " ".join(value.split())


def check_placeholders(path: Path, key: str, text: str, allowed: set[str], unavailable: set[str]) -> None:
    template = string.Template(text)
    if not template.is_valid():
        raise DocumentError(f"{path}: '{key}' has a $ that is not a placeholder; write $$ for a dollar sign.")
    for name in template.get_identifiers():
        if name not in allowed:
            raise DocumentError(
                f"{path}: '{key}' uses ${name}, which is not a placeholder here; "
                f"use one of {', '.join('$' + known for known in sorted(allowed))}."
            )
        if name in unavailable:
            raise DocumentError(
                f"{path}: '{key}' uses ${name}, but it is empty in {ORGANISATION_FILE}; fill it in there "
                "or take it out of the wording."
            )


# Fonts


@dataclass(frozen=True)
class DocumentFonts:
    """The typeface of every document. Helvetica, built into every PDF reader, covers Western European
    letters only; a TrueType pair (`from_files`) prints any name its font covers."""

    regular: str = "Helvetica"
    bold: str = "Helvetica-Bold"

    @property
    def is_builtin(self) -> bool:
        return self.regular in pdfmetrics.standardFonts

    @classmethod
    def from_files(cls, regular: Path, bold: Path) -> DocumentFonts:
        names = []
        for path in (regular, bold):
            name = f"Desk-{path.stem}"
            if name not in pdfmetrics.getRegisteredFontNames():
                try:
                    pdfmetrics.registerFont(TTFont(name, str(path)))
                except Exception as error:  # reportlab raises TTFError, OSError or others on a bad file
                    raise DocumentError(f"The font {path} cannot be used: {error}") from error
            names.append(name)
        return cls(names[0], names[1])

    def printable(self, text: str) -> str:
        """`text` as the font can print it: with the built-in font, a letter outside its Western
        character set loses its accent ('Ć' -> 'C') rather than printing as a black box."""
        if not self.is_builtin:
            return text
        return "".join(_western(character) for character in text)


def _western(character: str) -> str:
    try:
        character.encode("cp1252")
        return character
    except UnicodeEncodeError:
        pass
    if character in _NO_DECOMPOSITION:
        return _NO_DECOMPOSITION[character]
    base = "".join(c for c in unicodedata.normalize("NFKD", character) if not unicodedata.combining(c))
    try:
        base.encode("cp1252")
    except UnicodeEncodeError:
        return "?"
    return base or "?"


# Letters that Unicode does not decompose into a base letter and an accent.
_NO_DECOMPOSITION = {"Ł": "L", "ł": "l", "Đ": "D", "đ": "d", "ı": "i", "Ħ": "H", "ħ": "h", "ŧ": "t"}


# The loan agreement and the due-date slip


def render_loan_agreement(
    loan: Loan,
    resident: Resident,
    wording: DeskWording,
    out: BinaryIO | Path,
    *,
    printed_on: date,
    data_plan: DataPlan | None = None,
    fonts: DocumentFonts | None = None,
    demo: bool = False,
) -> None:
    """Write the loan agreement (one A4 page) and the due-date slip the resident keeps (A5)."""
    if loan.resident_reference != resident.reference:
        raise ValueError(
            f"The loan of {loan.device_tag} is to {loan.resident_reference}, not {resident.reference}."
        )
    fonts = fonts or DocumentFonts()
    sizes = LARGE_PRINT_SIZES if resident.large_print else BODY_SIZES
    values = _loan_values(loan, resident)
    canvas = _new_canvas(out, A4, f"Loan agreement – {loan.device_tag}", demo)
    _set_page(
        canvas,
        A4,
        _MARGIN,
        lambda size: _agreement_story(loan, resident, wording.agreement, values, data_plan, fonts, size),
        sizes,
        "The loan agreement",
        wording.agreement.path,
    )
    footer = (
        f"{wording.name} · {wording.phone} · Loan of {loan.device_tag} to {loan.resident_reference}, "
        f"printed {long_date(printed_on)}"
    )
    _draw_footer(canvas, A4, fonts, fonts.printable(footer))
    canvas.showPage()

    canvas.setPageSize(A5)
    _set_page(
        canvas,
        A5,
        _SLIP_MARGIN,
        lambda size: _slip_story(loan, wording.slip, values, fonts, size),
        sizes,
        "The due-date slip",
        wording.slip.path,
    )
    canvas.showPage()
    canvas.save()


def _loan_values(loan: Loan, resident: Resident) -> dict[str, str]:
    return {
        "name": resident.name,
        "reference": resident.reference,
        "tag": loan.device_tag,
        "device": _device_words(loan),
        "due_date": _unbroken(long_date(loan.due_on)),
    }


def _device_words(loan: Loan) -> str:
    """'Tablet, Samsung Galaxy Tab A8' (or only the type when make and model are unknown)."""
    kind = loan.device_type.label
    return f"{kind}, {loan.device_description}" if loan.device_description else kind


def _agreement_story(
    loan: Loan,
    resident: Resident,
    texts: Texts,
    values: Mapping[str, str],
    data_plan: DataPlan | None,
    fonts: DocumentFonts,
    size: float,
) -> list[Flowable]:
    styles = _Styles(fonts, size)
    kit = ", ".join(line.name for line in loan.kit if line.out) or texts.fill("details.no_kit", values)
    rows = [
        ("details.name", resident.name, False),
        ("details.reference", resident.reference, True),
        ("details.device", f"{_device_words(loan)}\xa0({loan.device_tag})", False),
        ("details.kit", kit, False),
    ]
    if data_plan is not None:
        rows.append(("details.data", _plan_words(data_plan), False))
    rows += [
        ("details.lent_on", _unbroken(long_date(loan.issued_at.astimezone().date())), False),
        ("details.due", _unbroken(long_date(loan.due_on)), True),
    ]
    details = [(texts.fill(key, values), value, strong) for key, value, strong in rows]

    story: list[Flowable] = [
        styles.paragraph(texts.organisation["organisation"], styles.organisation),
        styles.paragraph(texts.fill("title", values), styles.title),
        styles.paragraph(texts.fill("intro", values), styles.body),
        Spacer(1, 0.5 * size),
        _details_table(details, styles),
    ]
    for section in texts.sections("sections", values):
        story += [
            _Stretch(0.45 * size, 0.9 * size),
            styles.run_in(section["heading"], section["text"], styles.body),
        ]
    date_caption = texts.fill("acceptance.date", values)
    story += [
        _Stretch(0.5 * size, 3 * size, weight=3),
        styles.paragraph(texts.fill("acceptance.statement", values), styles.strong),
        _Stretch(0, 2 * size, weight=2),  # more room to sign
        _SignatureLines(
            [
                (0.4, (texts.fill("acceptance.resident", values), resident.name)),
                (0.4, (texts.fill("acceptance.staff", values), loan.issued_by)),
                (0.2, (date_caption,)),
            ],
            fonts,
            size,
        ),
    ]
    return story


def _plan_words(plan: DataPlan) -> str:
    """'Vodafone, 30 GB a month, until Friday 1 January 2027'."""
    parts = [part for part in (plan.network, plan.allowance) if part.strip()]
    if plan.expires_on is not None:
        parts.append(_unbroken(f"until {long_date(plan.expires_on)}"))
    return ", ".join(parts) or "Included"


def _slip_story(
    loan: Loan, texts: Texts, values: Mapping[str, str], fonts: DocumentFonts, size: float
) -> list[Flowable]:
    styles = _Styles(fonts, size)
    width = A5[0] - 2 * _SLIP_MARGIN
    day = loan.due_on
    big_lines = [_DAYS[day.weekday()], f"{day.day} {_MONTHS[day.month - 1]} {day.year}"]
    # The date as large as fits (both lines one size): it is what the resident looks for.
    padding = 0.7 * size  # as _Boxed pads
    big = min(_fitting_size(line, fonts.bold, width - 2 * padding, 3 * size, 2 * size) for line in big_lines)
    big_style = ParagraphStyle(
        "due", fontName=fonts.bold, fontSize=big, leading=1.12 * big, alignment=TA_CENTER, textColor=_INK
    )
    details = [
        (texts.fill("device", values), f"{_device_words(loan)}\xa0({loan.device_tag})", False),
        (texts.fill("reference", values), loan.resident_reference, True),
    ]
    return [
        styles.paragraph(texts.organisation["organisation"], styles.organisation_centred),
        _Stretch(0.4 * size, 1.5 * size),
        styles.paragraph(texts.fill("title", values), styles.lead_centred),
        Spacer(1, 0.3 * size),
        _Boxed(Paragraph("<br/>".join(big_lines), big_style), size),
        _Stretch(0.8 * size, 2 * size),
        _details_table(details, styles, boxed=False),
        _Stretch(0.5 * size, 1.5 * size),
        styles.paragraph(texts.fill("renew", values), styles.strong),
        _Stretch(0.3 * size, 1 * size),
        styles.paragraph(texts.fill("help", values), styles.body),
        _Stretch(0.3 * size, 1 * size),
        styles.paragraph(texts.fill("keep", values), styles.body),
    ]


# The wipe certificate


def render_wipe_certificate(
    wipe: Wipe,
    wording: DeskWording,
    out: BinaryIO | Path,
    *,
    printed_on: date,
    fonts: DocumentFonts | None = None,
    demo: bool = False,
) -> None:
    """Write the certificate (one A4 page) that the device was wiped: device, method, checklist, who, when."""
    fonts = fonts or DocumentFonts()
    canvas = _new_canvas(out, A4, f"Wipe certificate – {wipe.device_tag}", demo)
    _set_page(
        canvas,
        A4,
        _MARGIN,
        lambda size: _certificate_story(wipe, wording.certificate, fonts, size),
        _CERTIFICATE_SIZES,
        "The wipe certificate",
        wording.certificate.path,
    )
    footer = f"{wording.name} · {wording.phone} · Printed {long_date(printed_on)}"
    _draw_footer(canvas, A4, fonts, fonts.printable(footer))
    canvas.showPage()
    canvas.save()


def _certificate_story(wipe: Wipe, texts: Texts, fonts: DocumentFonts, size: float) -> list[Flowable]:
    styles = _Styles(fonts, size)
    values = {"tag": wipe.device_tag, "device": wipe.device_description, "method": wipe.method.label}
    device = f"{wipe.device_tag}, {wipe.device_description}" if wipe.device_description else wipe.device_tag
    details = [
        (texts.fill("number", values), str(wipe.id), False),
        (texts.fill("device", values), device, True),
        (texts.fill("method", values), wipe.method.label, False),
        (texts.fill("wiped_by", values), wipe.wiped_by, False),
        (texts.fill("wiped_on", values), _unbroken(long_time(wipe.wiped_at)), False),
    ]
    checks = [(texts.fill(f"checks.{name}", values), getattr(wipe.checklist, name)) for name in _CHECKS]
    done, not_done = texts.fill("done", values), texts.fill("not_done", values)
    checklist = Table(
        [
            [
                _TickBox(ticked, size),
                styles.paragraph(name, styles.body),
                styles.paragraph(done if ticked else not_done, styles.strong if not ticked else styles.body),
            ]
            for name, ticked in checks
        ],
        colWidths=[1.8 * size, None, 7 * size],
        hAlign="LEFT",
        style=TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                ("LEFTPADDING", (0, 0), (-1, -1), 0),
                ("TOPPADDING", (0, 0), (-1, -1), 0.25 * size),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 0.25 * size),
                ("LINEBELOW", (0, 0), (-1, -2), 0.5, _RULE),
            ]
        ),
    )
    complete = all(ticked for _, ticked in checks)
    statement = texts.fill("statement" if complete else "incomplete", values)
    story: list[Flowable] = [
        styles.paragraph(texts.organisation["organisation"], styles.organisation),
        styles.paragraph(texts.fill("title", values), styles.title),
        _details_table(details, styles),
        _Stretch(0, size),
        styles.paragraph(texts.fill("checklist", values), styles.heading),
        checklist,
        _Stretch(0.8 * size, 2 * size),
        _Boxed(styles.paragraph(statement, styles.strong), size),
    ]
    if wipe.notes.strip():
        notes = wipe.notes.strip()
        if len(notes) > _MAX_NOTES:
            notes = notes[:_MAX_NOTES].rsplit(" ", 1)[0].rstrip(" ,;.") + "…"
        story += [
            _Stretch(0, size),
            styles.paragraph(texts.fill("notes", values), styles.heading),
            styles.paragraph(notes, styles.body),
        ]
    story += [
        _Stretch(0.6 * size, 4 * size, weight=3),
        _SignatureLines(
            [(0.7, (texts.fill("signature", values),)), (0.3, (texts.fill("date", values),))], fonts, size
        ),
    ]
    return story


# The resident card


def render_resident_card(
    resident: Resident,
    wording: DeskWording,
    out: BinaryIO | Path,
    *,
    fonts: DocumentFonts | None = None,
    demo: bool = False,
) -> None:
    """Write a credit-card-size page: the QR code of the resident's reference, their name and reference,
    and how to contact the scheme. Print at actual size (100%) on card, and cut along the outline."""
    fonts = fonts or DocumentFonts()
    texts = wording.card
    values = {"name": resident.name, "reference": resident.reference}
    width, height = CARD_SIZE
    inset, inner = _CARD_INSET, CARD_SIZE[0] - 2 * _CARD_INSET
    canvas = _new_canvas(out, CARD_SIZE, f"Resident card – {resident.reference}", demo)
    _draw_card_band(
        canvas, fonts.printable(wording.name), fonts.printable(texts.fill("title", values)), fonts
    )

    canvas.setFillColor(_INK)
    contact = fonts.printable(texts.fill("contact", values))
    contact_size = _fitting_size(contact, fonts.bold, inner, 8.5, 6.0)
    canvas.setFont(fonts.bold, contact_size)
    canvas.drawString(inset, inset, _truncated(contact, fonts.bold, contact_size, inner))

    # The QR code fills the height between the band and the contact line. Its quiet zone is white
    # card, kept inside the cut: beyond it may be a dark table.
    top = height - inset - _CARD_BAND - 1.5 * mm
    bottom = inset + contact_size + 1.5 * mm
    side = top - bottom
    left = _CARD_EDGE + 0.4 * mm
    matrix = qr_matrix(resident.reference)
    module = side / (len(matrix) + 2 * _QUIET_MODULES)
    quiet = _QUIET_MODULES * module
    draw_qr(canvas, matrix, left + quiet, top - quiet, module)

    # Beside it: the name (on two lines if it must), then the reference in large type.
    text_left = left + side + 1 * mm
    text_width = width - inset - text_left
    name_lines, name_size = _card_name(
        fonts.printable(resident.name), fonts.bold, text_width, 13.0 if resident.large_print else 11.0
    )
    label = fonts.printable(texts.fill("reference", values))
    label_size = 8.0
    reference = fonts.printable(resident.reference)
    reference_size = _fitting_size(reference, fonts.bold, text_width, 24.0, 12.0)
    gap, small_gap = 2 * mm, 1 * mm
    block = len(name_lines) * 1.2 * name_size + gap + 1.25 * label_size + small_gap + 0.75 * reference_size
    y = bottom + (side + block) / 2  # the block's top, centred on the code
    canvas.setFont(fonts.bold, name_size)
    for line in name_lines:
        y -= 1.2 * name_size
        canvas.drawString(text_left, y + 0.25 * name_size, line)
    y -= gap + 1.25 * label_size
    canvas.setFillColor(_SOFT_INK)
    canvas.setFont(fonts.regular, label_size)
    canvas.drawString(
        text_left, y + 0.25 * label_size, _truncated(label, fonts.regular, label_size, text_width)
    )
    y -= small_gap + 0.75 * reference_size  # capital letters and digits only: no descenders to leave room for
    canvas.setFillColor(_INK)
    canvas.setFont(fonts.bold, reference_size)
    canvas.drawString(text_left, y, _truncated(reference, fonts.bold, reference_size, text_width))
    canvas.showPage()
    canvas.save()


def _draw_card_band(canvas: Canvas, organisation: str, title: str, fonts: DocumentFonts) -> None:
    """The card's outline to cut along, and the dark band across its top: who it is from, and what."""
    width, height = CARD_SIZE
    edge = canvas.beginPath()
    edge.roundRect(_CARD_EDGE, _CARD_EDGE, width - 2 * _CARD_EDGE, height - 2 * _CARD_EDGE, _CARD_RADIUS)
    canvas.saveState()
    canvas.clipPath(edge, stroke=0, fill=0)
    canvas.setFillColor(_INK)
    band_bottom = height - _CARD_INSET - _CARD_BAND
    canvas.rect(0, band_bottom, width, height - band_bottom, stroke=0, fill=1)
    canvas.restoreState()
    canvas.setStrokeColor(_RULE)
    canvas.setLineWidth(0.3)
    canvas.drawPath(edge, stroke=1, fill=0)

    inner = width - 2 * _CARD_INSET
    title_size = 8.0
    title = _truncated(title, fonts.regular, title_size, inner / 2)
    room = inner - _width(title, fonts.regular, title_size) - 3 * mm
    size = _fitting_size(organisation, fonts.bold, room, 10.0, 6.5)
    baseline = band_bottom + (_CARD_BAND - 0.7 * size) / 2
    canvas.setFillColor(white)
    canvas.setFont(fonts.bold, size)
    canvas.drawString(_CARD_INSET, baseline, _truncated(organisation, fonts.bold, size, room))
    canvas.setFont(fonts.regular, title_size)
    canvas.drawRightString(width - _CARD_INSET, baseline, title)


def _card_name(name: str, font: str, width: float, largest: float) -> tuple[list[str], float]:
    """The name as one line, or as two split between words when one line would be set too small."""
    smallest = 8.0
    one_line = _fitting_size(name, font, width, largest, smallest)
    words = name.split()
    if one_line >= min(largest, 9.5) or len(words) < 2:
        return [_truncated(name, font, one_line, width)], one_line
    # The split that makes the wider of the two lines narrowest.
    splits = [(" ".join(words[:n]), " ".join(words[n:])) for n in range(1, len(words))]
    first, second = min(splits, key=lambda pair: max(_width(line, font, 1) for line in pair))
    size = min(_fitting_size(line, font, width, largest, smallest) for line in (first, second))
    return [_truncated(line, font, size, width) for line in (first, second)], size


# Drawing


class _Styles:
    """The paragraph styles of one document at one body size."""

    def __init__(self, fonts: DocumentFonts, size: float) -> None:
        self.fonts = fonts

        def style(name: str, font: str, scale: float, **extra: Any) -> ParagraphStyle:
            return ParagraphStyle(
                name,
                fontName=font,
                fontSize=scale * size,
                leading=_LEADING * scale * size,
                **{"textColor": _INK, **extra},
            )

        self.body = style("body", fonts.regular, 1.0)
        self.strong = style("strong", fonts.bold, 1.0)
        self.organisation = style("organisation", fonts.bold, 1.0, textColor=_SOFT_INK)
        self.organisation_centred = style(
            "organisation_centred", fonts.bold, 1.0, textColor=_SOFT_INK, alignment=TA_CENTER
        )
        self.title = style("title", fonts.bold, 1.75, spaceBefore=0.2 * size, spaceAfter=0.4 * size)
        self.heading = style("heading", fonts.bold, 1.12, spaceBefore=0.75 * size, spaceAfter=0.1 * size)
        self.lead_centred = style("lead", fonts.regular, 1.25, alignment=TA_CENTER)
        self.due = style("due", fonts.bold, 1.2)

    def run_in(self, heading: str, text: str, style: ParagraphStyle) -> Paragraph:
        """A paragraph that starts with its heading in bold: "If it is lost: Ring ..."."""
        if not heading:
            return self.paragraph(text, style)
        bold = escape(self.fonts.printable(heading.rstrip(":. ")))
        return Paragraph(
            f'<font name="{self.fonts.bold}">{bold}:</font> {escape(self.fonts.printable(text))}', style
        )

    def paragraph(self, text: str, style: ParagraphStyle) -> Paragraph:
        """A paragraph of plain text: escaped, because names and wording may hold '&' or '<'."""
        return Paragraph(escape(self.fonts.printable(text)), style)


def _details_table(rows: Sequence[tuple[str, str, bool]], styles: _Styles, *, boxed: bool = True) -> Table:
    """Label and value, one row each; a `strong` value is bold and larger (the reference, the due date)."""
    label_width = (
        max(
            _width(styles.fonts.printable(label), styles.fonts.bold, styles.body.fontSize)
            for label, _, _ in rows
        )
        + 0.9 * styles.body.fontSize
    )
    data = [
        [
            styles.paragraph(label, styles.strong),
            styles.paragraph(value, styles.due if strong else styles.body),
        ]
        for label, value, strong in rows
    ]
    padding = 0.6 * styles.body.fontSize if boxed else 0
    commands: list[tuple[Any, ...]] = [
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LEFTPADDING", (0, 0), (0, -1), padding),
        ("LEFTPADDING", (1, 0), (1, -1), 0),
        ("RIGHTPADDING", (0, 0), (-1, -1), padding),
        ("TOPPADDING", (0, 0), (-1, -1), 0.2 * styles.body.fontSize),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 0.2 * styles.body.fontSize),
        ("TOPPADDING", (0, 0), (-1, 0), 0.2 * styles.body.fontSize + padding / 2),
        ("BOTTOMPADDING", (0, -1), (-1, -1), 0.2 * styles.body.fontSize + padding / 2),
    ]
    if boxed:
        commands += [("BACKGROUND", (0, 0), (-1, -1), _TINT), ("BOX", (0, 0), (-1, -1), 0.8, _RULE)]
    return Table(data, colWidths=[label_width + padding, None], hAlign="LEFT", style=TableStyle(commands))


class _Boxed(Flowable):
    """A paragraph in a ruled box, for what must not be missed (the due date, the wipe statement)."""

    def __init__(self, content: Paragraph, size: float) -> None:
        super().__init__()
        self._content = content
        self._padding = 0.7 * size
        self._content_height = 0.0

    def wrap(self, availWidth: float, availHeight: float) -> tuple[float, float]:  # noqa: N803 (reportlab's names)
        _, self._content_height = self._content.wrap(availWidth - 2 * self._padding, availHeight)
        self.width = availWidth
        self.height = self._content_height + 2 * self._padding
        return self.width, self.height

    def draw(self) -> None:
        self.canv.setStrokeColor(_INK)
        self.canv.setLineWidth(1.5)
        self.canv.roundRect(0, 0, self.width, self.height, 2 * mm, stroke=1, fill=0)
        self._content.drawOn(self.canv, self._padding, self._padding)


class _TickBox(Flowable):
    """A square, ticked or empty: a drawing rather than a font's tick, which not every font has."""

    def __init__(self, ticked: bool, size: float) -> None:
        super().__init__()
        self._ticked = ticked
        self.width = self.height = 1.1 * size

    def draw(self) -> None:
        side = self.width
        self.canv.setStrokeColor(_INK)
        self.canv.setLineWidth(1.2)
        self.canv.rect(0, 0, side, side, stroke=1, fill=0)
        if self._ticked:
            self.canv.setLineWidth(2.2)
            self.canv.setLineCap(1)
            self.canv.setLineJoin(1)
            tick = self.canv.beginPath()
            tick.moveTo(0.2 * side, 0.52 * side)
            tick.lineTo(0.42 * side, 0.25 * side)
            tick.lineTo(0.82 * side, 0.8 * side)
            self.canv.drawPath(tick, stroke=1, fill=0)


class _SignatureLines(Flowable):
    """Lines side by side to sign or date on, with room to write above and a caption of one or two
    lines beneath each (e.g. "Resident's signature" and the resident's name)."""

    def __init__(
        self, fields: Sequence[tuple[float, Sequence[str]]], fonts: DocumentFonts, size: float
    ) -> None:
        super().__init__()
        # (share of the width, caption lines) for each field
        self._fields = [(share, [fonts.printable(line) for line in lines]) for share, lines in fields]
        self._fonts = fonts
        self._caption = max(12.0, 0.85 * size)
        self._room = 2.6 * size  # to write in
        self._gap = 0.8 * size

    def wrap(self, availWidth: float, availHeight: float) -> tuple[float, float]:  # noqa: N803 (reportlab's names)
        lines = max(len(caption) for _, caption in self._fields)
        self.width = availWidth
        self.height = self._room + (0.3 + 1.2 * lines) * self._caption
        return self.width, self.height

    def draw(self) -> None:
        canvas = self.canv
        canvas.setStrokeColor(_INK)
        canvas.setLineWidth(0.8)
        canvas.setFillColor(_INK)
        usable = self.width - self._gap * (len(self._fields) - 1)
        total = sum(share for share, _ in self._fields)
        left = 0.0
        line_y = self.height - self._room
        for share, caption in self._fields:
            width = usable * share / total
            canvas.line(left, line_y, left + width, line_y)
            y = line_y - 0.3 * self._caption
            for number, text in enumerate(caption):
                font = self._fonts.bold if number else self._fonts.regular
                y -= 1.2 * self._caption if number else 1.0 * self._caption
                canvas.setFont(font, self._caption)
                canvas.drawString(left, y, _truncated(text, font, self._caption, width))
            left += width + self._gap


def _set_page(
    canvas: Canvas,
    page: tuple[float, float],
    margin: float,
    build: Callable[[float], list[Flowable]],
    sizes: Sequence[float],
    what: str,
    wording_path: Path,
) -> None:
    """Draw the story at the largest body size at which it fits the page above the footer."""
    width = page[0] - 2 * margin
    height = page[1] - 2 * margin - 2 * _FOOTER_SIZE
    for size in sizes:
        story = build(size)
        used = _story_height(story, width, height)
        if used <= height:
            _stretch(story, height - used)
            frame = Frame(
                margin,
                page[1] - margin - height,
                width,
                height,
                leftPadding=0,
                rightPadding=0,
                topPadding=0,
                bottomPadding=0,
            )
            frame.addFromList(story, canvas)
            if story:  # measured to fit, so this would be a bug in the measuring
                raise DocumentError(f"{what} did not fit on its page.")
            return
    raise DocumentError(
        f"{what} does not fit on one page even at {sizes[-1]:g} pt: shorten the wording in {wording_path}."
    )


class _Stretch(Spacer):
    """A gap that grows, up to `most` points, when the page has room to spare; `weight` is its share."""

    def __init__(self, least: float, most: float, weight: float = 1.0) -> None:
        super().__init__(1, least)
        self.most = max(least, most)
        self.weight = weight


def _stretch(story: Sequence[Flowable], spare: float) -> None:
    """Open the story's gaps out into the room left on the page, rather than leave it all at the foot."""
    gaps = [flowable for flowable in story if isinstance(flowable, _Stretch)]
    total = sum(gap.weight for gap in gaps)
    for gap in gaps:
        gap.height = min(gap.most, gap.height + spare * gap.weight / total)


def _story_height(story: Sequence[Flowable], width: float, height: float) -> float:
    total = 0.0
    for number, flowable in enumerate(story):
        _, needed = flowable.wrap(width, height)
        total += needed + flowable.getSpaceAfter() + (flowable.getSpaceBefore() if number else 0)
    return total


def _draw_footer(canvas: Canvas, page: tuple[float, float], fonts: DocumentFonts, text: str) -> None:
    canvas.setFillColor(_SOFT_INK)
    canvas.setFont(fonts.regular, _FOOTER_SIZE)
    width = page[0] - 2 * _MARGIN
    canvas.drawString(_MARGIN, _MARGIN - _FOOTER_SIZE, _truncated(text, fonts.regular, _FOOTER_SIZE, width))


def _new_canvas(out: BinaryIO | Path, page: tuple[float, float], title: str, demo: bool) -> Canvas:
    # invariant: no timestamps in the file, so the same records give the same bytes.
    target = str(out) if isinstance(out, Path) else out
    canvas = PrintCanvas(target, pagesize=page, pageCompression=1, invariant=1, demo=demo)
    canvas.setTitle(title)
    canvas.setCreator("DigiKnow Desk")
    return canvas


def _width(text: str, font: str, size: float) -> float:
    return float(pdfmetrics.stringWidth(text, font, size))


def _fitting_size(text: str, font: str, width: float, largest: float, smallest: float) -> float:
    """The largest size, between the bounds and in tenths of a point, at which `text` fits `width`."""
    if not text:
        return largest
    return max(smallest, min(largest, math.floor(10 * width / _width(text, font, 1)) / 10))


def _truncated(text: str, font: str, size: float, width: float) -> str:
    """`text`, cut short with an ellipsis if it is wider than `width`."""
    if _width(text, font, size) <= width:
        return text
    while text and _width(text.rstrip() + "…", font, size) > width:
        text = text[:-1]
    return text.rstrip() + "…"
