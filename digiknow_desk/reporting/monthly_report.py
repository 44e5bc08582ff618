"""The monthly report as it is published: an A4 PDF for the partnership board, and its CSV and JSON twins.

The figures arrive as a `MonthlyReport`; the wording comes from reports/monthly/template.toml, read
afresh for each report so that a coordinator's change shows on the next one. Every count goes through
`published` (or `published_group`, for counts that add up to a published total) and every percentage
through `percent`, so no figure from 1 to 4 is printed or exported anywhere, and neither is a difference
that would give one away (a total less the other counts, a ward's "left to do"). A report made before
its month is over says so: its period runs to the day it was made.
"""

from __future__ import annotations

import csv
import io
import math
import string
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from functools import partial
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from reportlab.graphics.charts.barcharts import BarChart, HorizontalBarChart, VerticalBarChart
from reportlab.graphics.shapes import Drawing, Rect, String
from reportlab.lib.colors import Color, white
from reportlab.lib.enums import TA_RIGHT
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    Flowable,
    Image,
    KeepTogether,
    PageBreak,
    Paragraph,
    Spacer,
    Table,
    TableStyle,
)

from digiknow_desk.domain.errors import DomainError
from digiknow_desk.domain.reports import (
    MOST_LEFT_TO_DO,
    NOT_SHOWN,
    MonthlyReport,
    PublishedWard,
    ReachFigures,
    Tally,
    count_text,
    last_day,
    left_to_do_text,
    month_so_far,
    percent,
    percent_text,
    published,
    published_group,
    published_wards,
    shown,
)
from digiknow_desk.domain.spreadsheet import spreadsheet_safe

# The desk documents' wording loader reads and checks this template too: one loader, one set of messages.
from digiknow_desk.labels.canvas import DEMO_MARK
from digiknow_desk.reporting.desk_documents import (
    DocumentError,
    DocumentFonts,
    check_placeholders,
    long_time,
    read_wording_file,
)
from digiknow_desk.reporting.pages import MARGIN as _MARGIN
from digiknow_desk.reporting.pages import PAGE_HEIGHT as _PAGE_HEIGHT
from digiknow_desk.reporting.pages import PAGE_WIDTH as _PAGE_WIDTH
from digiknow_desk.reporting.pages import WIDTH as _WIDTH
from digiknow_desk.reporting.pages import a4_pdf

# Wording

PLACEHOLDERS = ("month", "period", "month_end", "financial_year", "rate", "population_source")
FOOTER_PLACEHOLDERS = ("page", "pages", "produced", "database")
_TEMPLATE_SHAPE: dict[str, None | tuple[str, ...]] = {
    "logo": None,
    "title": None,
    "subtitle": None,
    "nothing_recorded": None,
    "summary": (
        *("heading", "intro", "included", "newly_month", "newly_year", "against", "progress", "supported"),
        *("no_longer_included", "rule_heading", "most_left_heading", "most_left_intro"),
    ),
    "wards": (
        *("heading", "intro", "chart_title", "ward", "population", "estimated_excluded", "supported"),
        *("included", "loans", "percent_reached", "left_to_do"),
    ),
    "lending": (
        *("heading", "intro", "loans_heading", "issued", "returned", "renewed", "lost", "open_at_end"),
        *("overdue_at_end", "loan_months", "waiting_heading", "idle_days_average", "idle_days_longest"),
        *("waiting_at_end", "average_wait_days", "data_plans_given", "data_plans_expiring"),
        *("devices_heading", "device_type", "total"),
    ),
    "support": (
        *("heading", "intro", "sessions", "residents_helped", "anonymous_attendees", "new_residents"),
        *("skills_checks", "champions_active", "volunteer_hours", "topics_heading", "topics_intro"),
        *("skill_area", "topic_sessions"),
    ),
    "reach": (
        *("heading", "intro", "residents", "age_bands", "priority_groups", "referral_sources", "count"),
        "share",
    ),
    "trends": (
        *("heading", "intro", "month", "included", "newly_included", "activity", "sessions"),
        *("loans_issued", "volunteer_hours", "hours", "count"),
    ),
    "notes": (
        "heading",
        "suppression",
        "charts",
        "not_shown",
        "financial_year",
        "wards",
        "excluded_estimate",
    ),
    "footer": ("page", "produced", "period"),
    "about": ("heading", "period", "produced", "database", "rule", "excluded_rate", "population_source"),
}

_MONTHS = "January February March April May June July August September October November December".split()


@dataclass(frozen=True)
class _Wording:
    """The template's texts, ready to fill for one report."""

    path: Path
    texts: Mapping[str, str]
    values: Mapping[str, str]  # the placeholders' values for this report

    def __call__(self, key: str, **footer: str) -> str:
        return string.Template(self.texts[key]).substitute({**self.values, **footer})

    @property
    def logo(self) -> Path:
        return self.path.parent / self.texts["logo"]


def _load_wording(report: MonthlyReport, path: Path) -> _Wording:
    """Read and check the template; DomainError names the file and the entry that is missing or wrong."""
    try:
        texts, _ = read_wording_file(path, _TEMPLATE_SHAPE)
        for key, text in texts.items():
            allowed = {*PLACEHOLDERS, *(FOOTER_PLACEHOLDERS if key.startswith("footer.") else ())}
            check_placeholders(path, key, text, allowed, set())
    except DocumentError as error:
        raise DomainError(str(error)) from error
    wording = _Wording(path, texts, _placeholder_values(report))
    if not wording.logo.is_file():
        raise DomainError(
            f"{path}: 'logo' names {wording.logo}, which is missing; put the logo there or correct the name."
        )
    return wording


def _placeholder_values(report: MonthlyReport) -> dict[str, str]:
    """The month, and its period and end: to the day the report was made, when the month was not over."""
    end, month = _period_end(report), _month_name(report.month)
    so_far = month_so_far(report.month, report.produced_at)
    return {
        "month": month,
        "period": f"1 to {_day_name(end)}" + (" (so far)" if so_far else ""),
        "month_end": _day_name(end) if so_far else f"the end of {month}",
        "financial_year": _day_name(report.financial_year_start),
        "rate": f"{report.excluded_rate * 100:g}%",
        "population_source": report.population_source,
    }


def _period_end(report: MonthlyReport) -> date:
    """The last day the figures cover: the month's, or the day the report was made if that is earlier."""
    if month_so_far(report.month, report.produced_at):
        return report.produced_at.astimezone().date()
    return last_day(report.month)


def _month_name(month: date) -> str:
    """'February 2026', in English whatever the desktop's locale (as the rest of the wording)."""
    return f"{_MONTHS[month.month - 1]} {month.year}"


def _day_name(day: date) -> str:
    return f"{day.day} {_MONTHS[day.month - 1]} {day.year}"


# Figures as printed


def _decimal_text(value: float | None) -> str:
    return NOT_SHOWN if value is None else f"{value:,.1f}"


def _bar(value: int | str) -> int | None:
    """A published count as a bar: none at all when withheld, as a bar's length would give it away."""
    return value if isinstance(value, int) else None


def _reach_groups(reach: ReachFigures) -> list[tuple[str, list[tuple[str, int | str]]]]:
    """Each breakdown of the residents reached, as (template key, [(label, published count)]). Age bands
    and referral sources each add up to the residents reached, so they are published as groups; a
    resident can be in several priority groups or none, so those are published one by one."""
    return [
        ("priority_groups", [(tally.label, published(tally.count)) for tally in reach.priority_groups]),
        ("age_bands", _published_tallies(reach.age_bands)),
        ("referral_sources", _published_tallies(reach.referral_sources)),
    ]


def _published_tallies(tallies: Sequence[Tally]) -> list[tuple[str, int | str]]:
    counts = published_group([tally.count for tally in tallies])
    return [(tally.label, count) for tally, count in zip(tallies, counts, strict=True)]


def _most_left(rows: Sequence[PublishedWard], report: MonthlyReport) -> list[PublishedWard]:
    """The published rows of the wards with most left to do, most first."""
    by_code = {row.ward.code: row for row in rows}
    return [by_code[ward.code] for ward in report.wards_most_left_to_do(MOST_LEFT_TO_DO)]


# JSON


def monthly_report_json(report: MonthlyReport) -> dict[str, Any]:
    """Every headline and table figure, ready for json.dumps: counts published (1 to 4 as
    "fewer than 5"), percentages rounded to one place or None where they are not shown."""
    headline = report.headline
    lending, support, reach = report.lending, report.support, report.reach
    most_left = {ward.code for ward in report.wards_most_left_to_do(MOST_LEFT_TO_DO)}
    return {
        "month": f"{report.month:%Y-%m}",
        "period": {
            "first_day": report.month.isoformat(),
            "last_day": _period_end(report).isoformat(),
            "so_far": month_so_far(report.month, report.produced_at),
        },
        "financial_year_start": report.financial_year_start.isoformat(),
        "produced_at": report.produced_at.isoformat(),
        "database": report.database,
        "demo": report.demo,
        "rule": report.rule,
        "excluded_rate": report.excluded_rate,
        "population_source": report.population_source,
        "headline": {
            "included": published(headline.included),
            "newly_included_month": published(headline.newly_included_month),
            "newly_included_year": published(headline.newly_included_year),
            "no_longer_included": published(headline.no_longer_included),
            "supported": published(headline.supported),
            "estimated_excluded": published(headline.estimated_excluded),
            "percent_of_the_way": _rounded(headline.percent_of_the_way),
        },
        "wards": [
            {
                "code": row.ward.code,
                "name": row.ward.name,
                "population": published(row.ward.population),
                "estimated_excluded": published(row.ward.estimated_excluded),
                "supported": _json_count(row.supported),
                "included": _json_count(row.included),
                "loans": _json_count(row.loans),
                "percent_reached": _rounded(row.percent_reached),
                "left_to_do": None if row.left_to_do is None else published(row.left_to_do),
                "most_left_to_do": row.ward.code is not None and row.ward.code in most_left,
            }
            for row in published_wards(report.wards)
        ],
        "lending": {
            "issued": published(lending.issued),
            "returned": published(lending.returned),
            "renewed": published(lending.renewed),
            "lost": published(lending.lost),
            "open_at_end": published(lending.open_at_end),
            "overdue_at_end": published(lending.overdue_at_end),
            "loan_months": round(lending.loan_months, 2),
            "devices": [
                {"device_type": tally.device_type, "status": tally.status, "count": published(tally.count)}
                for tally in lending.devices
            ],
            "idle_days_average": _rounded(lending.idle_days_average),
            "idle_days_longest": lending.idle_days_longest,
            "waiting_at_end": published(lending.waiting_at_end),
            "average_wait_days": _rounded(lending.average_wait_days),
            "data_plans_given": published(lending.data_plans_given),
            "data_plans_expiring": published(lending.data_plans_expiring),
        },
        "support": {
            "sessions": published(support.sessions),
            "residents_helped": published(support.residents_helped),
            "anonymous_attendees": published(support.anonymous_attendees),
            "new_residents": published(support.new_residents),
            "skills_checks": published(support.skills_checks),
            "topics": [{"label": tally.label, "count": published(tally.count)} for tally in support.topics],
            "champions_active": published(support.champions_active),
            "session_minutes": support.session_minutes,
            "other_minutes": support.other_minutes,
            "volunteer_hours": round(support.volunteer_hours, 1),
        },
        "reach": {
            "residents": published(reach.residents),
            **{
                name: [
                    {
                        "label": label,
                        "count": _json_count(count),
                        "share": _rounded(percent(count, reach.residents)),
                    }
                    for label, count in counts
                ]
                for name, counts in _reach_groups(reach)
            },
        },
        "trends": [
            {
                "month": f"{totals.month:%Y-%m}",
                "included": published(totals.included),
                "newly_included": published(totals.newly_included),
                "sessions": published(totals.sessions),
                "loans_issued": published(totals.loans_issued),
                "volunteer_hours": round(totals.volunteer_hours, 1),
            }
            for totals in report.trends
        ],
    }


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def _json_count(value: int | str) -> int | str | None:
    """A published count for the JSON: a count withheld only to protect another (NOT_SHOWN) is None."""
    return None if value == NOT_SHOWN else value


# CSV


def monthly_report_csv(report: MonthlyReport, template: Path) -> str:
    """One row per figure (section, figure, breakdown, value) named as in the PDF, every cell made safe
    to open in a spreadsheet; counts are published and written without thousands separators."""
    wording = _load_wording(report, template)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(("section", "figure", "breakdown", "value"))
    for row in _csv_rows(report, wording):
        writer.writerow([spreadsheet_safe(cell) for cell in row])
    return out.getvalue()


def _csv_count(count: int) -> str:
    return str(published(count))


def _csv_rows(report: MonthlyReport, w: _Wording) -> Iterator[tuple[str, str, str, str]]:
    about = w("about.heading")
    if report.demo:
        yield about, "DEMO", "", DEMO_MARK
    yield about, w("about.period"), "", w.values["period"]
    yield about, w("about.produced"), "", report.produced_at.isoformat(timespec="seconds")
    yield about, w("about.database"), "", report.database
    yield about, w("about.rule"), "", report.rule
    yield about, w("about.excluded_rate"), "", w.values["rate"]
    yield about, w("about.population_source"), "", report.population_source

    summary, headline = w("summary.heading"), report.headline
    yield summary, w("summary.included"), "", _csv_count(headline.included)
    yield summary, w("summary.newly_month"), "", _csv_count(headline.newly_included_month)
    yield summary, w("summary.newly_year"), "", _csv_count(headline.newly_included_year)
    yield summary, w("wards.estimated_excluded"), "", _csv_count(headline.estimated_excluded)
    yield summary, w("summary.progress"), "", percent_text(headline.percent_of_the_way)
    yield summary, w("summary.supported"), "", _csv_count(headline.supported)
    yield summary, w("summary.no_longer_included"), "", _csv_count(headline.no_longer_included)
    rows = published_wards(report.wards)
    for row in _most_left(rows, report):
        yield summary, w("summary.most_left_heading"), row.ward.name, _csv_left_to_do(row)

    section = w("wards.heading")
    for row in rows:
        for key, value in (
            ("population", _csv_count(row.ward.population)),
            ("estimated_excluded", _csv_count(row.ward.estimated_excluded)),
            ("supported", str(row.supported)),
            ("included", str(row.included)),
            ("loans", str(row.loans)),
            ("percent_reached", percent_text(row.percent_reached)),
            ("left_to_do", _csv_left_to_do(row)),
        ):
            yield section, w(f"wards.{key}"), row.ward.name, value

    section, lending = w("lending.heading"), report.lending
    for key, value in (
        ("issued", _csv_count(lending.issued)),
        ("returned", _csv_count(lending.returned)),
        ("renewed", _csv_count(lending.renewed)),
        ("lost", _csv_count(lending.lost)),
        ("open_at_end", _csv_count(lending.open_at_end)),
        ("overdue_at_end", _csv_count(lending.overdue_at_end)),
        ("loan_months", f"{lending.loan_months:.1f}"),
        ("idle_days_average", _decimal_text(lending.idle_days_average)),
        (
            "idle_days_longest",
            NOT_SHOWN if lending.idle_days_longest is None else str(lending.idle_days_longest),
        ),
        ("waiting_at_end", _csv_count(lending.waiting_at_end)),
        ("average_wait_days", _decimal_text(lending.average_wait_days)),
        ("data_plans_given", _csv_count(lending.data_plans_given)),
        ("data_plans_expiring", _csv_count(lending.data_plans_expiring)),
    ):
        yield section, w(f"lending.{key}"), "", value
    for device in lending.devices:
        yield (
            section,
            w("lending.devices_heading"),
            f"{device.device_type}: {device.status}",
            _csv_count(device.count),
        )

    section, support = w("support.heading"), report.support
    for key, count in (
        ("sessions", support.sessions),
        ("residents_helped", support.residents_helped),
        ("anonymous_attendees", support.anonymous_attendees),
        ("new_residents", support.new_residents),
        ("skills_checks", support.skills_checks),
        ("champions_active", support.champions_active),
    ):
        yield section, w(f"support.{key}"), "", _csv_count(count)
    yield section, w("support.volunteer_hours"), "", f"{support.volunteer_hours:.1f}"
    for tally in support.topics:
        yield section, w("support.topics_heading"), tally.label, _csv_count(tally.count)

    section, reach = w("reach.heading"), report.reach
    yield section, w("reach.residents"), "", _csv_count(reach.residents)
    for key, published_counts in _reach_groups(reach):
        group = w(f"reach.{key}")
        for label, published_count in published_counts:
            yield section, f"{group}: {w('reach.count')}", label, str(published_count)
            yield (
                section,
                f"{group}: {w('reach.share')}",
                label,
                percent_text(percent(published_count, reach.residents)),
            )

    section = w("trends.heading")
    for totals in report.trends:
        month = f"{totals.month:%Y-%m}"
        yield section, w("trends.included"), month, _csv_count(totals.included)
        yield section, w("trends.newly_included"), month, _csv_count(totals.newly_included)
        yield section, w("trends.sessions"), month, _csv_count(totals.sessions)
        yield section, w("trends.loans_issued"), month, _csv_count(totals.loans_issued)
        yield section, w("trends.volunteer_hours"), month, f"{totals.volunteer_hours:.1f}"


def _csv_left_to_do(row: PublishedWard) -> str:
    return NOT_SHOWN if row.left_to_do is None else _csv_count(row.left_to_do)


# PDF: page, type and colour

_FONTS = DocumentFonts()
_REGULAR, _BOLD = _FONTS.regular, _FONTS.bold

# Shades that stay apart in greyscale print (luminance about 0.2, 0.5 and 0.85), each bar outlined.
_INK = Color(0.1, 0.1, 0.1)
_SOFT_INK = Color(0.3, 0.3, 0.3)
_DARK = Color(0.09, 0.2, 0.38)
_MID = Color(0.25, 0.62, 0.62)
_LIGHT = Color(0.82, 0.86, 0.92)
_RULE = Color(0.6, 0.6, 0.6)
_FAINT = Color(0.86, 0.86, 0.86)
_TINT = Color(0.95, 0.95, 0.95)


def _style(name: str, size: float, *, bold: bool = False, **extra: Any) -> ParagraphStyle:
    return ParagraphStyle(
        name,
        fontName=_BOLD if bold else _REGULAR,
        fontSize=size,
        **{"leading": 1.25 * size, "textColor": _INK, **extra},
    )


_TITLE = _style("title", 22, bold=True, textColor=_DARK, spaceBefore=3 * mm, spaceAfter=2)
_SUBTITLE = _style("subtitle", 13, textColor=_SOFT_INK, spaceAfter=3 * mm)
_HEADING = _style("heading", 16, bold=True, textColor=_DARK, spaceAfter=2 * mm)
_SUBHEADING = _style("subheading", 11.5, bold=True, textColor=_DARK, spaceBefore=4 * mm, spaceAfter=1.5 * mm)
_BODY = _style("body", 10, spaceAfter=2 * mm)
_CELL = _style("cell", 8.5)
_CELL_BOLD = _style("cell_bold", 8.5, bold=True)
_HEADER = _style("header", 8.5, bold=True)
_HEADER_RIGHT = _style("header_right", 8.5, bold=True, alignment=TA_RIGHT)
_TILE_LABEL = _style("tile_label", 9.5, textColor=_INK)
_LEAD = _style("lead", 11, spaceAfter=1.5 * mm)
_RULE_TEXT = _style("rule_text", 9.5)
_NOTE = _style("note", 8.5, textColor=_SOFT_INK, leftIndent=3 * mm, bulletIndent=0, spaceAfter=1)
_SMALL_PRINT = _style("small_print", 8.5, textColor=_SOFT_INK, spaceBefore=2 * mm)

_LOGO_HEIGHT = 16 * mm
_TABLE_FONT_SIZE = 8.5
_CELL_PADDING = 2.5
_FOOTER_SIZE = 8.0
_CHART_FONT_SIZE = 7.5


def _text(text: str) -> str:
    """Text as paragraph markup: printable in the report's font, and '&' or '<' taken literally."""
    return escape(_FONTS.printable(text))


def _paragraph(text: str, style: ParagraphStyle) -> Paragraph:
    return Paragraph(_text(text), style)


# PDF: the document


def monthly_report_pdf(report: MonthlyReport, template: Path) -> bytes:
    """The monthly report as an A4 PDF: a summary page, then by ward, lending, support, who we reach
    and the 12-month trends; every page says which page it is of how many, when and from which
    database the report was made, and its period."""
    wording = _load_wording(report, template)
    story = [
        *_summary(report, wording),
        PageBreak(),
        *_by_ward(report, wording),
        PageBreak(),
        *_lending(report, wording),
        PageBreak(),
        *_support(report, wording),
        PageBreak(),
        *_reach(report, wording),
        PageBreak(),
        *_trends(report, wording),
    ]
    return a4_pdf(
        f"{wording('title')}: {wording.values['month']}",
        story,
        partial(_furniture, report=report, w=wording),
        demo=report.demo,
    )


def _furniture(canvas: Canvas, page: int, pages: int, *, report: MonthlyReport, w: _Wording) -> None:
    """The running header (from page 2) and the footer of every page."""
    canvas.saveState()
    canvas.setFillColor(_SOFT_INK)
    canvas.setStrokeColor(_RULE)
    canvas.setLineWidth(0.5)
    right = _PAGE_WIDTH - _MARGIN
    if page > 1:
        top = _PAGE_HEIGHT - 12 * mm
        canvas.setFont(_REGULAR, _FOOTER_SIZE)
        canvas.drawString(_MARGIN, top, _fitted(w("title"), _REGULAR, _FOOTER_SIZE, _WIDTH / 2))
        canvas.drawRightString(right, top, _FONTS.printable(w.values["month"]))
        canvas.line(_MARGIN, top - 2 * mm, right, top - 2 * mm)
    values = {
        "page": str(page),
        "pages": str(pages),
        "produced": long_time(report.produced_at),
        "database": report.database,
    }
    canvas.line(_MARGIN, 16 * mm, right, 16 * mm)
    page_text = _FONTS.printable(w("footer.page", **values))
    canvas.setFont(_BOLD, _FOOTER_SIZE)
    canvas.drawRightString(right, 12 * mm, page_text)
    room = _WIDTH - stringWidth(page_text, _BOLD, _FOOTER_SIZE) - 6 * mm
    canvas.setFont(_REGULAR, _FOOTER_SIZE)
    canvas.drawString(_MARGIN, 12 * mm, _fitted(w("footer.period", **values), _REGULAR, _FOOTER_SIZE, room))
    canvas.drawString(
        _MARGIN, 8 * mm, _fitted(w("footer.produced", **values), _REGULAR, _FOOTER_SIZE, _WIDTH)
    )
    canvas.restoreState()


def _fitted(text: str, font: str, size: float, width: float) -> str:
    """`text` made printable and, if wider than `width`, cut short with an ellipsis."""
    text = _FONTS.printable(text)
    if stringWidth(text, font, size) <= width:
        return text
    while text and stringWidth(text + "…", font, size) > width:
        text = text[:-1]
    return text.rstrip() + "…"


def _fitting_size(text: str, font: str, width: float, largest: float) -> float:
    return min(largest, math.floor(10 * width / max(stringWidth(text, font, 1), 1)) / 10)


# PDF: the summary page


def _summary(report: MonthlyReport, w: _Wording) -> list[Flowable]:
    headline = report.headline
    story: list[Flowable] = [
        _logo(w),
        _paragraph(w("title"), _TITLE),
        _paragraph(w("subtitle"), _SUBTITLE),
        _paragraph(w("summary.intro"), _BODY),
        _tiles(
            [
                (headline.included, w("summary.included")),
                (headline.newly_included_month, w("summary.newly_month")),
                (headline.newly_included_year, w("summary.newly_year")),
            ]
        ),
        Spacer(1, 3 * mm),
        Paragraph(f"{_text(w('summary.against'))} <b>{shown(headline.estimated_excluded)}</b>", _LEAD),
        Paragraph(
            f'<font size="15"><b>{percent_text(headline.percent_of_the_way)}</b></font> '
            f"{_text(w('summary.progress'))}",
            _style("progress", 11, leading=18),
        ),
        _ProgressBar(headline.percent_of_the_way),
        Spacer(1, 2 * mm),
        _figures_table(
            [
                (w("summary.supported"), shown(headline.supported)),
                (w("summary.no_longer_included"), shown(headline.no_longer_included)),
            ]
        ),
        _paragraph(w("summary.rule_heading"), _SUBHEADING),
        _boxed(_paragraph(report.rule, _RULE_TEXT)),
        _paragraph(w("summary.most_left_heading"), _SUBHEADING),
        _paragraph(w("summary.most_left_intro"), _BODY),
        _table(
            [
                [w("wards.ward"), w("wards.estimated_excluded"), w("wards.included"), w("wards.left_to_do")],
                *(
                    [
                        row.ward.name,
                        shown(row.ward.estimated_excluded),
                        count_text(row.included),
                        left_to_do_text(row),
                    ]
                    for row in _most_left(published_wards(report.wards), report)
                ),
            ],
            [0.46, 0.18, 0.18, 0.18],
        ),
        _paragraph(w("notes.heading"), _SUBHEADING),
    ]
    notes = ("suppression", "charts", "not_shown", "financial_year", "wards", "excluded_estimate")
    story += [Paragraph(_text(w(f"notes.{key}")), _NOTE, bulletText="•") for key in notes]
    return story


def _logo(w: _Wording) -> Image:
    """The template's logo, 16 mm high."""
    try:
        width, height = ImageReader(str(w.logo)).getSize()
    except OSError as error:
        raise DomainError(
            f"{w.path}: the logo {w.logo} cannot be read as a picture; replace it with a PNG file."
        ) from error
    return Image(str(w.logo), width=_LOGO_HEIGHT * width / height, height=_LOGO_HEIGHT, hAlign="LEFT")


def _tiles(figures: Sequence[tuple[int, str]]) -> Table:
    """The headline figures side by side, each a large number over what it counts."""
    width = _WIDTH / len(figures)
    inner = width - 6 * mm
    cells = []
    for count, label in figures:
        number = shown(count)
        size = _fitting_size(number, _BOLD, inner, 26)
        number_style = _style("tile_number", size, bold=True, textColor=_DARK, leading=30)
        cells.append([Paragraph(escape(number), number_style), _paragraph(label, _TILE_LABEL)])
    return Table(
        [cells],
        colWidths=[width] * len(figures),
        style=TableStyle(
            [
                ("BACKGROUND", (0, 0), (-1, -1), _TINT),
                ("LINEBEFORE", (1, 0), (-1, -1), 2, white),
                ("LINEABOVE", (0, 0), (-1, 0), 2.5, _DARK),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LEFTPADDING", (0, 0), (-1, -1), 3 * mm),
                ("RIGHTPADDING", (0, 0), (-1, -1), 3 * mm),
                ("TOPPADDING", (0, 0), (-1, -1), 2.5 * mm),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 3 * mm),
            ]
        ),
    )


class _ProgressBar(Flowable):
    """The way to 100% as a bar, with quarter marks labelled; an outline alone when nothing is shown."""

    def __init__(self, value: float | None) -> None:
        super().__init__()
        self._value = value
        self.width, self.height = _WIDTH, 11 * mm

    def wrap(self, availWidth: float, availHeight: float) -> tuple[float, float]:  # noqa: N803 (reportlab's names)
        return self.width, self.height

    def draw(self) -> None:
        canvas, bar_height, bottom = self.canv, 5 * mm, 4.5 * mm
        canvas.setFillColor(_LIGHT)
        canvas.setStrokeColor(_INK)
        canvas.setLineWidth(0.6)
        canvas.rect(0, bottom, self.width, bar_height, stroke=0, fill=1)
        if self._value:
            canvas.setFillColor(_DARK)
            canvas.rect(0, bottom, self.width * min(self._value, 100) / 100, bar_height, stroke=0, fill=1)
        canvas.rect(0, bottom, self.width, bar_height, stroke=1, fill=0)
        canvas.setFont(_REGULAR, 7.5)
        canvas.setFillColor(_SOFT_INK)
        for quarter in range(5):
            x = self.width * quarter / 4
            canvas.line(x, bottom - 1.2 * mm, x, bottom)
            draw = (
                canvas.drawString
                if quarter == 0
                else canvas.drawRightString
                if quarter == 4
                else canvas.drawCentredString
            )
            draw(x, bottom - 4 * mm, f"{25 * quarter}%")


def _boxed(content: Flowable) -> Table:
    return Table(
        [[content]],
        colWidths=[_WIDTH],
        style=TableStyle(
            [
                ("BACKGROUND", (0, 0), (-1, -1), _TINT),
                ("LINEBEFORE", (0, 0), (0, -1), 2.5, _DARK),
                ("LEFTPADDING", (0, 0), (-1, -1), 3 * mm),
                ("RIGHTPADDING", (0, 0), (-1, -1), 3 * mm),
                ("TOPPADDING", (0, 0), (-1, -1), 2 * mm),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 2.5 * mm),
            ]
        ),
    )


# PDF: tables


def _table(
    rows: Sequence[Sequence[str]],
    shares: Sequence[float],
    *,
    width: float = _WIDTH,
    highlight: Sequence[int] = (),
    empty: str = "",
) -> Table:
    """A table with a header row; the first column is text, the rest figures (right-aligned).
    `highlight` rows (counted from the first after the header) are shaded and bold; `empty` is the
    one row of a table with nothing in it."""
    header = [
        Paragraph(_text(text), _HEADER if column == 0 else _HEADER_RIGHT)
        for column, text in enumerate(rows[0])
    ]
    first_width = width * shares[0] - 2 * _CELL_PADDING
    body = [
        [_label(row[0], _CELL_BOLD if number in highlight else _CELL, first_width), *row[1:]]
        for number, row in enumerate(rows[1:])
    ] or [[_label(empty, _CELL, first_width), *[""] * (len(rows[0]) - 1)]]
    commands: list[tuple[Any, ...]] = [
        ("FONT", (0, 1), (-1, -1), _REGULAR, _TABLE_FONT_SIZE),
        ("TEXTCOLOR", (0, 0), (-1, -1), _INK),
        ("ALIGN", (1, 0), (-1, -1), "RIGHT"),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("VALIGN", (0, 0), (-1, 0), "BOTTOM"),
        ("LINEBELOW", (0, 0), (-1, 0), 1, _INK),
        ("LINEBELOW", (0, 1), (-1, -1), 0.25, _RULE),
        ("TOPPADDING", (0, 0), (-1, -1), 2.2),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 2.8),
        ("LEFTPADDING", (0, 0), (-1, -1), _CELL_PADDING),
        ("RIGHTPADDING", (0, 0), (-1, -1), _CELL_PADDING),
    ]
    for number in highlight:
        commands += [
            ("BACKGROUND", (0, number + 1), (-1, number + 1), _LIGHT),
            ("FONT", (0, number + 1), (-1, number + 1), _BOLD, _TABLE_FONT_SIZE),
        ]
    return Table(
        [header, *body],
        colWidths=[width * share for share in shares],
        repeatRows=1,
        hAlign="LEFT",
        style=TableStyle(commands),
    )


def _label(text: str, style: ParagraphStyle, width: float) -> str | Paragraph:
    """A table's text cell: a plain string when it fits on one line (quicker to set), else a paragraph
    that wraps. The table's FONT command must match `style` for the plain string."""
    text = _FONTS.printable(text)
    if stringWidth(text, style.fontName, style.fontSize) <= width:
        return text
    return Paragraph(escape(text), style)


def _figures_table(rows: Sequence[tuple[str, str]], *, width: float = _WIDTH) -> Table:
    """What each figure is, and the figure, one per row."""
    return Table(
        [[_label(label, _CELL, width - 28 * mm - 6), value] for label, value in rows],
        colWidths=[width - 28 * mm, 28 * mm],
        hAlign="LEFT",
        style=TableStyle(
            [
                ("FONT", (0, 0), (0, -1), _REGULAR, _TABLE_FONT_SIZE),
                ("FONT", (1, 0), (1, -1), _BOLD, 10),
                ("ALIGN", (1, 0), (1, -1), "RIGHT"),
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                ("LINEBELOW", (0, 0), (-1, -1), 0.25, _RULE),
                ("TOPPADDING", (0, 0), (-1, -1), 2.5),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
                ("LEFTPADDING", (0, 0), (-1, -1), 3),
                ("RIGHTPADDING", (0, 0), (-1, -1), 3),
            ]
        ),
    )


def _side_by_side(left: Flowable, right: Flowable, left_share: float, *, gap: float = 6 * mm) -> Table:
    left_width = (_WIDTH - gap) * left_share
    return Table(
        [[left, "", right]],
        colWidths=[left_width, gap, _WIDTH - gap - left_width],
        hAlign="LEFT",
        style=TableStyle(
            [("VALIGN", (0, 0), (-1, -1), "TOP"), *((side, (0, 0), (-1, -1), 0) for side in _PADDINGS)]
        ),
    )


_PADDINGS = ("LEFTPADDING", "RIGHTPADDING", "TOPPADDING", "BOTTOMPADDING")


# PDF: charts


def _value_axis(axis: Any, values: Sequence[float | None]) -> None:
    """An axis from 0 to a round number in a few round steps; at least 0 to 10, so that a month of
    zeros still has an axis, and never marked 1 to 4, which could be read as counts."""
    largest = max((value for value in values if value is not None), default=0)
    step = _axis_step(largest)
    axis.valueMin = 0
    axis.valueMax = max(step * math.ceil(largest / step), 2 * step)
    axis.valueStep = step
    axis.labels.fontName = _REGULAR
    axis.labels.fontSize = _CHART_FONT_SIZE
    axis.labels.fillColor = _SOFT_INK
    axis.labelTextFormat = lambda value: f"{value:,.0f}"
    axis.strokeColor = _RULE
    axis.visibleGrid = 1
    axis.gridStrokeColor = _FAINT
    axis.gridStrokeWidth = 0.5


def _axis_step(largest: float) -> int:
    """The first of 5, 10, 20, 25, 50, 100, 200, 250, 500... that marks `largest` in at most 5 steps."""
    power = 1
    while True:
        for multiple in (5, 10, 20, 25):
            if largest <= 5 * multiple * power:
                return multiple * power
        power *= 10


def _style_bars(chart: BarChart, names: Sequence[str]) -> None:
    for number in range(len(names)):
        chart.bars[number].fillColor = _SERIES[number]
        chart.bars[number].strokeColor = _INK
        chart.bars[number].strokeWidth = 0.4
    axis = chart.categoryAxis
    axis.labels.fontName = _REGULAR
    axis.labels.fontSize = _CHART_FONT_SIZE
    axis.labels.fillColor = _INK
    axis.strokeColor = _RULE
    axis.tickShift = 0


_SERIES = (_DARK, _MID, _LIGHT)


def _legend(drawing: Drawing, entries: Sequence[tuple[str, Color]], x: float, y: float) -> None:
    """Swatches and names in a row, in the bars' order, so no series is told apart by colour alone."""
    for name, colour in entries:
        drawing.add(Rect(x, y, 8, 8, fillColor=colour, strokeColor=_INK, strokeWidth=0.4))
        label = _FONTS.printable(name)
        drawing.add(String(x + 11, y + 1, label, fontName=_REGULAR, fontSize=8, fillColor=_INK))
        x += 11 + stringWidth(label, _REGULAR, 8) + 12


def _horizontal_bars(
    labels: Sequence[str],
    series: Sequence[Sequence[float | None]],
    names: Sequence[str],
    width: float,
    bar_room: float,
    *,
    bold: Sequence[int] = (),
) -> Drawing:
    """One row of bars per label, the first at the top; labels in full beside them, `bold` ones bold."""
    labels = [_FONTS.printable(label) for label in labels]
    label_width = max(
        stringWidth(label, _BOLD if number in bold else _REGULAR, _CHART_FONT_SIZE)
        for number, label in enumerate(labels)
    )
    legend_room = 16 if len(names) > 1 else 0
    axis_room = 14
    height = bar_room * len(labels) + axis_room + legend_room
    drawing = Drawing(width, height)
    chart = HorizontalBarChart()
    chart.x, chart.y = label_width + 6, axis_room
    chart.width, chart.height = width - chart.x - 12, bar_room * len(labels)
    chart.data = [list(values) for values in series]
    chart.barSpacing = 0.5
    chart.groupSpacing = bar_room * 0.35
    _style_bars(chart, names)
    chart.categoryAxis.categoryNames = labels
    chart.categoryAxis.reverseDirection = 1
    chart.categoryAxis.labels.boxAnchor = "e"
    chart.categoryAxis.labels.dx = -4
    for number in bold:  # the labels are numbered as drawn, bottom up
        chart.categoryAxis.labels[len(labels) - 1 - number].fontName = _BOLD
    _value_axis(chart.valueAxis, [value for values in series for value in values])
    drawing.add(chart)
    if legend_room:  # each group's first series is drawn at its bottom
        _legend(drawing, list(zip(names, _SERIES, strict=False))[::-1], chart.x, height - 10)
    return drawing


def _vertical_bars(
    labels: Sequence[str], series: Sequence[Sequence[float | None]], names: Sequence[str], width: float
) -> Drawing:
    """Bars over the months, oldest on the left, with a legend when there is more than one series."""
    legend_room = 16 if len(names) > 1 else 0
    height = 175 + legend_room
    drawing = Drawing(width, height)
    chart = VerticalBarChart()
    chart.x, chart.y = 30, 22
    chart.width, chart.height = width - chart.x - 4, height - chart.y - legend_room - 6
    chart.data = [list(values) for values in series]
    chart.barSpacing = 0.5
    chart.groupSpacing = 4
    _style_bars(chart, names)
    chart.categoryAxis.categoryNames = list(labels)
    chart.categoryAxis.labels.boxAnchor = "n"
    chart.categoryAxis.labels.dy = -3
    _value_axis(chart.valueAxis, [value for values in series for value in values])
    drawing.add(chart)
    if legend_room:
        _legend(drawing, list(zip(names, _SERIES, strict=False)), chart.x, height - 10)
    return drawing


# PDF: the detail sections


def _section_start(w: _Wording, name: str) -> list[Flowable]:
    return [_paragraph(w(f"{name}.heading"), _HEADING), _paragraph(w(f"{name}.intro"), _BODY)]


def _by_ward(report: MonthlyReport, w: _Wording) -> list[Flowable]:
    most_left = {ward.code for ward in report.wards_most_left_to_do(MOST_LEFT_TO_DO)}
    wards = published_wards(report.wards)
    keys = ["ward", "population", "estimated_excluded", "supported", "included", "loans"]
    keys += ["percent_reached", "left_to_do"]
    rows = [[w(f"wards.{key}") for key in keys]]
    rows += [
        [
            row.ward.name,
            shown(row.ward.population),
            shown(row.ward.estimated_excluded),
            count_text(row.supported),
            count_text(row.included),
            count_text(row.loans),
            percent_text(row.percent_reached),
            left_to_do_text(row),
        ]
        for row in wards
    ]
    highlight = [
        number for number, row in enumerate(wards) if row.ward.code is not None and row.ward.code in most_left
    ]
    placed = [row for row in wards if row.ward.code is not None]
    chart = _horizontal_bars(
        [row.ward.name for row in placed],
        [
            [_bar(row.included) for row in placed],
            [_bar(row.supported) for row in placed],
            [row.ward.estimated_excluded for row in placed],
        ],
        [w("wards.included"), w("wards.supported"), w("wards.estimated_excluded")],
        _WIDTH,
        29,
        bold=[number for number, row in enumerate(placed) if row.ward.code in most_left],
    )
    return [
        *_section_start(w, "wards"),
        _table(rows, [0.263, 0.101, 0.095, 0.114, 0.114, 0.114, 0.085, 0.114], highlight=highlight),
        _paragraph(f"{w('notes.wards')} {w('notes.excluded_estimate')}", _SMALL_PRINT),
        PageBreak(),
        _paragraph(w("wards.chart_title"), _SUBHEADING),
        chart,
    ]


def _lending(report: MonthlyReport, w: _Wording) -> list[Flowable]:
    lending = report.lending
    loans = _figures_table(
        [
            (w("lending.issued"), shown(lending.issued)),
            (w("lending.returned"), shown(lending.returned)),
            (w("lending.renewed"), shown(lending.renewed)),
            (w("lending.lost"), shown(lending.lost)),
            (w("lending.open_at_end"), shown(lending.open_at_end)),
            (w("lending.overdue_at_end"), shown(lending.overdue_at_end)),
            (w("lending.loan_months"), _decimal_text(lending.loan_months)),
        ],
        width=(_WIDTH - 8 * mm) / 2,
    )
    longest = lending.idle_days_longest
    waiting = _figures_table(
        [
            (w("lending.waiting_at_end"), shown(lending.waiting_at_end)),
            (w("lending.average_wait_days"), _decimal_text(lending.average_wait_days)),
            (w("lending.idle_days_average"), _decimal_text(lending.idle_days_average)),
            (w("lending.idle_days_longest"), NOT_SHOWN if longest is None else f"{longest:,}"),
            (w("lending.data_plans_given"), shown(lending.data_plans_given)),
            (w("lending.data_plans_expiring"), shown(lending.data_plans_expiring)),
        ],
        width=(_WIDTH - 8 * mm) / 2,
    )
    headings = _side_by_side(
        _paragraph(w("lending.loans_heading"), _SUBHEADING),
        _paragraph(w("lending.waiting_heading"), _SUBHEADING),
        0.5,
        gap=8 * mm,
    )
    return [
        *_section_start(w, "lending"),
        headings,
        _side_by_side(loans, waiting, 0.5, gap=8 * mm),
        _paragraph(w("lending.devices_heading"), _SUBHEADING),
        _devices_table(report, w),
    ]


def _devices_table(report: MonthlyReport, w: _Wording) -> Table:
    """Devices by type (rows) and status (columns), with each type's total."""
    types = list(dict.fromkeys(tally.device_type for tally in report.lending.devices))
    statuses = list(dict.fromkeys(tally.status for tally in report.lending.devices))
    counts = {(tally.device_type, tally.status): tally.count for tally in report.lending.devices}
    rows = [[w("lending.device_type"), *statuses, w("lending.total")]]
    for device_type in types:
        row = [counts.get((device_type, status), 0) for status in statuses]
        rows.append([device_type, *(shown(count) for count in row), shown(sum(row))])
    first = 0.18 if statuses else 0.5
    rest = (1 - first) / (len(statuses) + 1)
    return _table(rows, [first, *[rest] * (len(statuses) + 1)], empty=w("nothing_recorded"))


def _support(report: MonthlyReport, w: _Wording) -> list[Flowable]:
    support = report.support
    figures = _figures_table(
        [
            (w("support.sessions"), shown(support.sessions)),
            (w("support.residents_helped"), shown(support.residents_helped)),
            (w("support.anonymous_attendees"), shown(support.anonymous_attendees)),
            (w("support.new_residents"), shown(support.new_residents)),
            (w("support.skills_checks"), shown(support.skills_checks)),
            (w("support.champions_active"), shown(support.champions_active)),
            (w("support.volunteer_hours"), _decimal_text(support.volunteer_hours)),
        ]
    )
    story: list[Flowable] = [
        *_section_start(w, "support"),
        figures,
        _paragraph(w("support.topics_heading"), _SUBHEADING),
        _paragraph(w("support.topics_intro"), _BODY),
    ]
    topics = _table(
        [[w("support.skill_area"), w("support.topic_sessions")]]
        + [[tally.label, shown(tally.count)] for tally in support.topics],
        [0.7, 0.3],
        width=(_WIDTH - 6 * mm) * 0.4,
        empty=w("nothing_recorded"),
    )
    if not support.topics:
        return [*story, topics]
    chart = _horizontal_bars(
        [tally.label for tally in support.topics],
        [[_bar(published(tally.count)) for tally in support.topics]],
        [w("support.topic_sessions")],
        (_WIDTH - 6 * mm) * 0.6,
        18,
    )
    return [*story, _side_by_side(chart, topics, 0.6)]


def _reach(report: MonthlyReport, w: _Wording) -> list[Flowable]:
    reach = report.reach
    story: list[Flowable] = [
        *_section_start(w, "reach"),
        _figures_table([(w("reach.residents"), shown(reach.residents))]),
    ]
    for key, counts in _reach_groups(reach):
        rows = [[w(f"reach.{key}"), w("reach.count"), w("reach.share")]]
        rows += [
            [label, count_text(count), percent_text(percent(count, reach.residents))]
            for label, count in counts
        ]
        table = _table(rows, [0.6, 0.18, 0.22], empty=w("nothing_recorded"))
        story += [Spacer(1, 5 * mm), KeepTogether(table)]
    return story


def _trends(report: MonthlyReport, w: _Wording) -> list[Flowable]:
    trends = report.trends
    months = [_month_label(totals.month, number) for number, totals in enumerate(trends)]
    chart_width = (_WIDTH - 6 * mm) * 0.56
    table_width = _WIDTH - 6 * mm - chart_width

    def block(
        title: str,
        series: Sequence[Sequence[float | None]],
        names: Sequence[str],
        columns: Sequence[Sequence[str]],
    ) -> Flowable:
        header = [w("trends.month"), *names]
        rows = [
            header,
            *(
                [_month_name(totals.month), *(column[n] for column in columns)]
                for n, totals in enumerate(trends)
            ),
        ]
        shares = [0.5, 0.5] if len(names) == 1 else [0.36, *[0.64 / len(names)] * len(names)]
        numbers = _table(rows, shares, width=table_width)
        chart = _vertical_bars(months, series, names, chart_width)
        return KeepTogether([_paragraph(title, _SUBHEADING), _side_by_side(chart, numbers, 0.56)])

    count = w("trends.count")
    return [
        *_section_start(w, "trends"),
        block(
            w("trends.included"),
            [[_bar(published(t.included)) for t in trends]],
            [count],
            [[shown(t.included) for t in trends]],
        ),
        block(
            w("trends.newly_included"),
            [[_bar(published(t.newly_included)) for t in trends]],
            [count],
            [[shown(t.newly_included) for t in trends]],
        ),
        block(
            w("trends.activity"),
            [
                [_bar(published(t.sessions)) for t in trends],
                [_bar(published(t.loans_issued)) for t in trends],
            ],
            [w("trends.sessions"), w("trends.loans_issued")],
            [[shown(t.sessions) for t in trends], [shown(t.loans_issued) for t in trends]],
        ),
        block(
            w("trends.volunteer_hours"),
            [[t.volunteer_hours for t in trends]],
            [w("trends.hours")],
            [[_decimal_text(t.volunteer_hours) for t in trends]],
        ),
    ]


def _month_label(month: date, number: int) -> str:
    """'Mar', with the year under the first month and each January."""
    short = _MONTHS[month.month - 1][:3]
    return f"{short}\n{month.year}" if number == 0 or month.month == 1 else short
