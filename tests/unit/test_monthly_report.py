"""The monthly report as published: the PDF, its CSV and JSON twins, and the template they take wording."""

from __future__ import annotations

import csv
import ctypes
import dataclasses
import io
import itertools
import json
import re
import shutil
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_raw
import pytest

from digiknow_desk.domain.errors import DomainError
from digiknow_desk.domain.inclusion import InclusionRule
from digiknow_desk.domain.reports import (
    FEWER_THAN_5,
    NOT_SHOWN,
    DeviceTally,
    Headline,
    LendingFigures,
    MonthlyReport,
    MonthTotals,
    ReachFigures,
    SupportFigures,
    Tally,
    WardFigures,
    most_left_to_do,
    published_group,
)
from digiknow_desk.reporting.monthly_report import (
    monthly_report_csv,
    monthly_report_json,
    monthly_report_pdf,
)
from digiknow_desk.services.reports import monthly_template

WARDS = (  # code, name, population: the reference data that ships with the app
    ("E05000779", "Bramhall North", 12807),
    ("E05000780", "Bramhall South and Woodford", 12507),
    ("E05000781", "Bredbury and Woodley", 13241),
    ("E05000782", "Bredbury Green and Romiley", 14294),
    ("E05000783", "Brinnington and Central", 17622),
    ("E05000784", "Cheadle and Gatley", 15413),
    ("E05000785", "Cheadle Hulme North", 13444),
    ("E05000786", "Cheadle Hulme South", 14195),
    ("E05000787", "Davenport and Cale Green", 15854),
    ("E05000788", "Edgeley and Cheadle Heath", 14764),
    ("E05000789", "Hazel Grove", 14291),
    ("E05000790", "Heald Green", 12724),
    ("E05000791", "Heatons North", 14491),
    ("E05000792", "Heatons South", 14270),
    ("E05000793", "Manor", 13854),
    ("E05000794", "Marple North", 12700),
    ("E05000795", "Marple South and High Lane", 11512),
    ("E05000796", "Offerton", 14153),
    ("E05000797", "Reddish North", 15046),
    ("E05000798", "Reddish South", 13759),
    ("E05000799", "Stepping Hill", 13256),
)
RATE = 0.13
TEMPLATE = monthly_template()  # the wording shipped in reports/monthly
POPULATION_SOURCE = "ONS mid-2022 ward estimates"
MONTH = date(2026, 2, 1)
PRODUCED = datetime(2026, 3, 6, 9, 30, tzinfo=UTC)
RULE = InclusionRule().describe()
SMALL_WARD = "Marple South and High Lane"  # included 3: never printed as a number
AGE_BANDS = ("Under 18", "18 to 24", "25 to 49", "50 to 64", "65 to 74", "75 or over", "Prefer not to say")
PRIORITY_GROUPS = (
    "Older residents (65 and over)",
    "Disabled residents",
    "Residents on benefits",
    "Young people not in work, education or training",
    "Care leavers",
)
TOPICS = (
    "Foundation skills",
    "Communicating",
    "Handling information and content",
    "Transacting",
    "Problem solving",
    "Being safe and legal online",
)


def _wards(figures: list[tuple[int, int, int]]) -> tuple[WardFigures, ...]:
    """The 21 wards with (supported, included, loans) each, then residents with no ward recorded."""
    wards = [
        WardFigures(code, name, population, round(population * RATE), supported, included, loans)
        for (code, name, population), (supported, included, loans) in zip(WARDS, figures, strict=True)
    ]
    return (*wards, WardFigures(None, "No ward recorded", 0, 0, 14, 6, 9))


def _months(last: date) -> list[date]:
    months = []
    year, month = last.year, last.month
    for _ in range(12):
        months.append(date(year, month, 1))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return months[::-1]


def realistic_report(**changes: Any) -> MonthlyReport:
    """A borough three years into the scheme, with one ward (SMALL_WARD) where only 3 are included."""
    ward_figures = [(90 + 17 * n % 260, 40 + 23 * n % 150, 50 + 31 * n % 190) for n in range(21)]
    ward_figures[16] = (12, 3, 7)  # SMALL_WARD
    wards = _wards(ward_figures)
    report = MonthlyReport(
        month=MONTH,
        produced_at=PRODUCED,
        database="C:/Users/coordinator/DigiKnow/desk.db",
        rule=RULE,
        excluded_rate=RATE,
        population_source=POPULATION_SOURCE,
        headline=Headline(
            included=sum(ward.included for ward in wards),
            newly_included_month=57,
            newly_included_year=512,
            no_longer_included=9,
            supported=sum(ward.supported for ward in wards),
            estimated_excluded=sum(ward.estimated_excluded for ward in wards),
        ),
        wards=wards,
        lending=LendingFigures(
            issued=84,
            returned=71,
            renewed=23,
            lost=6,
            open_at_end=312,
            overdue_at_end=17,
            loan_months=298.4,
            devices=tuple(
                DeviceTally(device_type, status, count)
                for device_type, counts in (
                    ("Tablet", (41, 152, 9, 5, 0, 12)),
                    ("Laptop", (18, 96, 6, 7, 0, 8)),
                    ("Chromebook", (12, 38, 0, 0, 0, 0)),
                    ("Phone", (7, 26, 0, 0, 0, 5)),
                    ("MiFi / dongle", (22, 61, 0, 0, 0, 0)),
                    ("Data SIM", (140, 88, 0, 0, 9, 0)),
                )
                for status, count in zip(
                    ("Available", "On loan", "Awaiting wipe", "In repair", "Quarantined / lost", "Retired"),
                    counts,
                    strict=True,
                )
            ),
            idle_days_average=6.3,
            idle_days_longest=41,
            waiting_at_end=27,
            average_wait_days=18.5,
            data_plans_given=31,
            data_plans_expiring=12,
        ),
        support=SupportFigures(
            sessions=212,
            residents_helped=388,
            anonymous_attendees=45,
            new_residents=73,
            skills_checks=96,
            topics=tuple(
                Tally(topic, count) for topic, count in zip(TOPICS, (164, 97, 58, 71, 39, 88), strict=True)
            ),
            champions_active=38,
            session_minutes=12_720,
            other_minutes=2_400,
        ),
        reach=ReachFigures(
            residents=420,
            age_bands=tuple(
                Tally(band, n) for band, n in zip(AGE_BANDS, (6, 21, 77, 96, 104, 101, 15), strict=True)
            ),
            priority_groups=tuple(
                Tally(group, n) for group, n in zip(PRIORITY_GROUPS, (205, 133, 187, 19, 7), strict=True)
            ),
            referral_sources=(
                Tally("Stockport Homes", 88),
                Tally("Age UK Stockport", 71),
                Tally("Jobcentre Plus Stockport", 54),
                Tally("Not recorded or self-referred", 120),
                Tally("Stockport Libraries", 49),
                Tally("Other partners", 38),
            ),
        ),
        trends=tuple(
            MonthTotals(month, 1650 + 60 * n, 35 + 2 * n, 180 + 5 * n, 70 + n, 240.5 + 3 * n)
            for n, month in enumerate(_months(MONTH))
        ),
    )
    return dataclasses.replace(report, **changes)


def empty_report() -> MonthlyReport:
    """A new scheme's first month with nothing recorded: every count 0."""
    wards = _wards([(0, 0, 0)] * 21)[:-1]
    return MonthlyReport(
        month=date(2025, 4, 1),
        produced_at=PRODUCED,
        database="desk.db",
        rule=RULE,
        excluded_rate=RATE,
        population_source=POPULATION_SOURCE,
        headline=Headline(0, 0, 0, 0, 0, sum(ward.estimated_excluded for ward in wards)),
        wards=wards,
        lending=LendingFigures(0, 0, 0, 0, 0, 0, 0.0, (), None, None, 0, None, 0, 0),
        support=SupportFigures(0, 0, 0, 0, 0, tuple(Tally(topic, 0) for topic in TOPICS), 0, 0, 0),
        reach=ReachFigures(
            0,
            tuple(Tally(band, 0) for band in AGE_BANDS),
            tuple(Tally(group, 0) for group in PRIORITY_GROUPS),
            (),
        ),
        trends=tuple(MonthTotals(month, 0, 0, 0, 0, 0.0) for month in _months(date(2025, 4, 1))),
    )


def small_counts_report() -> MonthlyReport:
    """Every count from 1 to 4, in every kind of figure; the figures that are not counts (days,
    hours, loan-months) are chosen so that none of them reads as 1 to 4 either."""
    wards = tuple(
        WardFigures(
            code, name, population, round(population * RATE), 1 + n % 4, 1 + (n + 1) % 4, 1 + (n + 2) % 4
        )
        for n, (code, name, population) in enumerate(WARDS)
    )
    return MonthlyReport(
        month=MONTH,
        produced_at=PRODUCED,
        database="desk.db",
        rule=RULE,
        excluded_rate=RATE,
        population_source=POPULATION_SOURCE,
        headline=Headline(4, 3, 4, 2, 4, sum(ward.estimated_excluded for ward in wards)),
        wards=wards,
        lending=LendingFigures(
            3,
            2,
            1,
            1,
            4,
            2,
            7.5,
            (DeviceTally("Tablet", "On loan", 3), DeviceTally("Laptop", "Available", 2)),
            6.5,
            17,
            1,
            9.5,
            2,
            3,
        ),
        support=SupportFigures(
            4, 3, 2, 1, 2, tuple(Tally(topic, 1 + n % 4) for n, topic in enumerate(TOPICS)), 3, 400, 200
        ),
        reach=ReachFigures(
            4,
            tuple(Tally(band, 1 + n % 4) for n, band in enumerate(AGE_BANDS)),
            tuple(Tally(group, 1 + n % 4) for n, group in enumerate(PRIORITY_GROUPS)),
            (Tally("Age UK Stockport", 2), Tally("Stockport Homes", 3)),
        ),
        trends=tuple(MonthTotals(month, 4, 3, 2, 1, 8.5) for month in _months(MONTH)),
    )


# Reading the PDF


def _pages(pdf: bytes) -> list[str]:
    """Each page's text, with line breaks and runs of spaces as single spaces."""
    document = pdfium.PdfDocument(pdf)
    try:
        return [" ".join(page.get_textpage().get_text_range().split()) for page in document]
    finally:
        document.close()


def _page_sizes_mm(pdf: bytes) -> list[tuple[float, float]]:
    document = pdfium.PdfDocument(pdf)
    try:
        return [
            (round(page.get_width() * 25.4 / 72), round(page.get_height() * 25.4 / 72)) for page in document
        ]
    finally:
        document.close()


def _font_at(pdf: bytes, page_number: int, phrase: str) -> str:
    """The name of the font `phrase` is printed in on the page."""
    document = pdfium.PdfDocument(pdf)
    try:
        text_page = document[page_number].get_textpage()
        index = text_page.get_text_range().index(phrase)
        name = ctypes.create_string_buffer(64)
        pdfium_raw.FPDFText_GetFontInfo(text_page, index, name, 64, None)
        return name.value.decode()
    finally:
        document.close()


def _page_with(pages: list[str], phrase: str) -> int:
    return next(number for number, text in enumerate(pages) if phrase in text)


def _csv_rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline="")))


def _copy_template(tmp_path: Path) -> Path:
    folder = shutil.copytree(TEMPLATE.parent, tmp_path / "monthly")
    return folder / "template.toml"


def _shown(count: int) -> str:
    return FEWER_THAN_5 if 1 <= count <= 4 else f"{count:,}"


# The PDF


def test_the_pdf_is_a_few_a4_pages_with_the_summary_first_and_every_section_after() -> None:
    report = realistic_report()
    pdf = monthly_report_pdf(report, TEMPLATE)
    pages = _pages(pdf)

    assert pdf.startswith(b"%PDF-")
    assert 6 <= len(pages) <= 10
    assert set(_page_sizes_mm(pdf)) == {(210, 297)}
    summary = pages[0]
    assert "Digital inclusion in Stockport" in summary
    assert "Monthly report to the partnership board: February 2026" in summary
    # the summary holds on one page, down to its last note
    assert "times the excluded rate of 13% that the partnership has set." in summary
    headings = ["By ward", "Lending", "Support", "Who we reach", "The last 12 months"]
    starts = [next(n for n, text in enumerate(pages) if text.startswith(heading)) for heading in headings]
    assert starts == sorted(starts) and starts[0] == 1


def test_the_summary_puts_the_headline_against_the_estimated_excluded_with_the_rule_in_full() -> None:
    report = realistic_report()
    summary = _pages(monthly_report_pdf(report, TEMPLATE))[0]
    headline = report.headline

    assert f"{headline.included:,} Residents digitally included at the end of February 2026" in summary
    assert "57 Newly included in February 2026" in summary
    assert "512 Newly included this financial year, since 1 April 2025" in summary
    assert f"Stockport of {headline.estimated_excluded:,}" in summary
    share = 100 * headline.included / headline.estimated_excluded
    assert f"{share:.1f}% of the way to 100% digitally included" in summary
    assert RULE in summary
    assert f"Residents supported since the scheme started {headline.supported:,}" in summary
    for ward in report.wards_most_left_to_do(5):
        assert f"{ward.name} {ward.estimated_excluded:,} {ward.included:,} {ward.left_to_do:,}" in summary


def test_every_page_says_which_page_it_is_when_and_from_which_database_it_came_and_the_period() -> None:
    pages = _pages(monthly_report_pdf(realistic_report(), TEMPLATE))

    for number, text in enumerate(pages, 1):
        assert f"Page {number} of {len(pages)}" in text
        assert "Report period: 1 to 28 February 2026" in text
        assert "Produced Friday 6 March 2026 at" in text
        assert "from C:/Users/coordinator/DigiKnow/desk.db" in text


def test_the_ward_table_has_every_ward_and_the_five_with_most_left_to_do_stand_out() -> None:
    report = realistic_report()
    pdf = monthly_report_pdf(report, TEMPLATE)
    pages = _pages(pdf)
    table_page = _page_with(pages, "By ward")
    most_left = {ward.name for ward in report.wards_most_left_to_do(5)}
    # SMALL_WARD's 3 included is the only one withheld, so the smallest other, the 6 with no ward
    # recorded, is withheld with it; neither row then shows what is left to do.
    included = {SMALL_WARD: FEWER_THAN_5, "No ward recorded": "–"}

    for ward in report.wards:
        left = "–" if ward.name in included else f"{ward.left_to_do:,}"
        reached = f"{100 * ward.supported / ward.estimated_excluded:.1f}%" if ward.estimated_excluded else "–"
        row = (
            f"{ward.name} {ward.population:,} {ward.estimated_excluded:,} {ward.supported:,} "
            f"{included.get(ward.name, f'{ward.included:,}')} {ward.loans:,} {reached} {left}"
        )
        assert row in pages[table_page]
        if ward.code is not None:
            font = _font_at(pdf, table_page, ward.name)
            assert font == ("Helvetica-Bold" if ward.name in most_left else "Helvetica"), ward.name


def test_the_ward_chart_names_all_21_wards_in_full_with_those_with_most_left_to_do_in_bold() -> None:
    report = realistic_report()
    pdf = monthly_report_pdf(report, TEMPLATE)
    pages = _pages(pdf)
    chart_page = _page_with(pages, "residents in each ward")
    most_left = {ward.name for ward in report.wards_most_left_to_do(5)}

    for _code, name, _population in WARDS:
        assert name in pages[chart_page]
        assert _font_at(pdf, chart_page, name) == ("Helvetica-Bold" if name in most_left else "Helvetica")
    assert "Estimated excluded Supported Included" in pages[chart_page]  # the legend, in the bars' order


def test_lending_support_reach_and_trends_print_their_figures() -> None:
    report = realistic_report()
    text = " ".join(_pages(monthly_report_pdf(report, TEMPLATE)))

    for phrase in (
        "Loans issued 84",
        "Loan-months (devices out on loan, in months) 298.4",
        "Longest a device sat idle (days) 41",
        "Average days from joining the waiting list to a loan, for residents lent a device from it in "
        "February 2026 18.5",
        "Residents on the waiting list at the end of February 2026 27",
        "Loans open at the end of February 2026 312",
        "Data SIMs and MiFi devices lent in February 2026 31",
        "Tablet 41 152 9 5 0 12 219",
        "Volunteer hours (sessions, training and outreach) 252.0",
        "Handling information and content 58",
        "Residents reached in February 2026 420",
        "Young people not in work, education or training 19 4.5%",
        "Care leavers 7 1.7%",
        "Not recorded or self-referred 120 28.6%",
        "March 2025 1,650",
        "February 2026 2,310",
        "February 2026 235 81",
        "February 2026 273.5",
    ):
        assert phrase in text


def test_the_same_figures_make_the_same_bytes() -> None:
    report = realistic_report()
    assert monthly_report_pdf(report, TEMPLATE) == monthly_report_pdf(report, TEMPLATE)


def test_an_empty_month_prints_zeros_and_says_what_has_none() -> None:
    report = empty_report()
    pdf = monthly_report_pdf(report, TEMPLATE)
    pages = _pages(pdf)
    text = " ".join(pages)

    assert 6 <= len(pages) <= 10
    assert "0 Residents digitally included at the end of April 2025" in text
    assert "0.0% of the way to 100% digitally included" in text
    assert "The financial year runs from 1 April, so this one started on 1 April 2025." in text
    assert "Device type Total None recorded." in text
    assert "Referred by Residents Share of residents reached None recorded." in text
    assert "Bramhall North 12,807 1,665 0 0 0 0.0% 1,665" in text
    json.dumps(monthly_report_json(report))
    values = [row[3] for row in _csv_rows(monthly_report_csv(report, TEMPLATE))[1:]]
    assert "0" in values and FEWER_THAN_5 not in values


# Counts from 1 to 4


_NOT_FIGURES = (  # text that holds 1 to 4 without being a figure: dates, page numbers, the notes, the rule
    re.escape(RULE),
    r"Page \d+ of \d+",
    r"1 to \d+ [A-Z][a-z]+ \d{4}",
    r"1 April( \d{4})?",
    r"Counts from 1 to 4",
    r"Produced \w+ \d+ \w+ \d{4} at \d\d:\d\d",
)


def test_no_count_from_1_to_4_is_printed_as_its_number_anywhere_in_the_pdf() -> None:
    text = " ".join(_pages(monthly_report_pdf(small_counts_report(), TEMPLATE)))
    assert text.count(FEWER_THAN_5) > 150  # every count, in every table

    for pattern in _NOT_FIGURES:
        text = re.sub(pattern, " ", text)
    assert re.findall(r"(?<![\w.,:])[1-4](?![\w.,:%])", text) == []


def test_no_count_from_1_to_4_is_exported_as_its_number_in_the_csv_or_the_json() -> None:
    report = small_counts_report()
    rows = _csv_rows(monthly_report_csv(report, TEMPLATE))
    assert [row[3] for row in rows[1:] if re.fullmatch(r"[1-4]", row[3])] == []
    assert [row for row in rows if row[:2] == ["Lending", "Loans issued"]] == [
        ["Lending", "Loans issued", "", FEWER_THAN_5]
    ]

    def numbers(value: object) -> list[int]:
        if isinstance(value, dict):
            return [n for item in value.values() for n in numbers(item)]
        if isinstance(value, list):
            return [n for item in value for n in numbers(item)]
        return [value] if isinstance(value, int) and not isinstance(value, bool) else []

    exported = monthly_report_json(report)
    assert [n for n in numbers(exported) if 1 <= n <= 4] == []
    assert exported["headline"]["included"] == FEWER_THAN_5
    assert exported["wards"][0]["left_to_do"] is None  # the estimate less "fewer than 5" would give it away


def test_a_ward_with_3_included_shows_neither_the_3_nor_what_is_left_to_do() -> None:
    report = realistic_report()
    small = next(ward for ward in report.wards if ward.name == SMALL_WARD)
    pages = _pages(monthly_report_pdf(report, TEMPLATE))

    assert f"{SMALL_WARD} 11,512 1,497 12 fewer than 5 7 0.8% –" in pages[_page_with(pages, "By ward")]
    rows = {
        (row[1], row[2]): row[3]
        for row in _csv_rows(monthly_report_csv(report, TEMPLATE))
        if row[2] == SMALL_WARD
    }
    assert rows[("Included", SMALL_WARD)] == FEWER_THAN_5
    assert rows[("Left to do", SMALL_WARD)] == "–"
    assert str(small.estimated_excluded - small.included) not in {value for value in rows.values()}
    exported = next(ward for ward in monthly_report_json(report)["wards"] if ward["name"] == SMALL_WARD)
    assert (exported["included"], exported["left_to_do"], exported["supported"]) == (FEWER_THAN_5, None, 12)


# CSV


def test_the_csv_has_a_header_and_one_row_per_figure_named_as_in_the_pdf() -> None:
    report = realistic_report()
    rows = _csv_rows(monthly_report_csv(report, TEMPLATE))

    assert rows[0] == ["section", "figure", "breakdown", "value"]
    assert {len(row) for row in rows} == {4}
    assert rows[1] == ["About this report", "Report period", "", "1 to 28 February 2026"]
    assert ["About this report", "Produced", "", "2026-03-06T09:30:00+00:00"] in rows
    assert ["About this report", "Database", "", "C:/Users/coordinator/DigiKnow/desk.db"] in rows
    assert ["About this report", "Inclusion rule", "", RULE] in rows
    assert ["About this report", "Excluded rate", "", "13%"] in rows
    assert ["About this report", "Ward populations", "", POPULATION_SOURCE] in rows
    assert ["Summary", "Residents digitally included at the end of February 2026", "", "2271"] in rows
    assert ["Summary", "of the way to 100% digitally included", "", "5.9%"] in rows
    assert ["Summary", "Estimated excluded", "", str(report.headline.estimated_excluded)] in rows
    assert ["By ward", "Population", "Bramhall North", "12807"] in rows
    assert ["Lending", "Devices by type and what they are doing now", "Tablet: On loan", "152"] in rows
    assert ["Support", "Sessions by skill area", "Transacting", "71"] in rows
    assert ["Who we reach", "Priority groups: Share of residents reached", "Care leavers", "1.7%"] in rows
    assert ["The last 12 months", "Loans issued", "2025-03", "70"] in rows
    assert len([row for row in rows if row[0] == "By ward"]) == 7 * len(report.wards)
    assert len([row for row in rows if row[0] == "The last 12 months"]) == 5 * 12


def test_csv_cells_that_a_spreadsheet_would_run_are_neutralised() -> None:
    dangerous = [
        '=HYPERLINK("http://x.example")',
        "+447700900123",
        "-2+3",
        "@SUM(A1:A9)",
        "\tTabbed",
        "\rReturned",
    ]
    reach = dataclasses.replace(
        realistic_report().reach, referral_sources=tuple(Tally(name, 10) for name in dangerous)
    )
    report = realistic_report(reach=reach, database="=cmd|' /C calc'!A0")
    rows = _csv_rows(monthly_report_csv(report, TEMPLATE))

    breakdowns = {row[2] for row in rows if row[1] == "Referred by: Residents"}
    assert breakdowns == {"'" + name for name in dangerous}
    assert ["About this report", "Database", "", "'=cmd|' /C calc'!A0"] in rows
    for row in rows:
        for cell in row:
            assert cell[:1] not in {"=", "+", "-", "@", "\t", "\r"}, row
    monthly_report_pdf(report, TEMPLATE)  # and the PDF still prints them


def test_labels_with_markup_characters_print_literally_even_when_they_wrap() -> None:
    names = (
        "Smith & Sons <Partners>",
        "Stockport Community & Voluntary <Services> Digital Friends Network Trust",
    )
    reach = dataclasses.replace(realistic_report().reach, referral_sources=tuple(Tally(n, 10) for n in names))
    text = " ".join(_pages(monthly_report_pdf(realistic_report(reach=reach), TEMPLATE)))

    assert "Smith & Sons <Partners> 10 2.4%" in text
    assert "Stockport Community & Voluntary <Services> Digital Friends Network Trust" in text


# JSON


_NOT_COUNTS = {"idle_days_longest", "session_minutes", "other_minutes"}  # days and minutes, not people


def _expected(name: str, value: object) -> object:
    if isinstance(value, bool | str) or value is None:
        return value
    if isinstance(value, int):
        return value if name in _NOT_COUNTS else (FEWER_THAN_5 if 1 <= value <= 4 else value)
    if isinstance(value, float):
        return round(value, 1)
    raise AssertionError(f"{name}: a figure of an unexpected kind")


def test_the_json_holds_every_figure_of_every_record() -> None:
    report = realistic_report()
    exported = json.loads(json.dumps(monthly_report_json(report)))

    assert exported["month"] == "2026-02"
    assert exported["period"] == {"first_day": "2026-02-01", "last_day": "2026-02-28", "so_far": False}
    assert exported["financial_year_start"] == "2025-04-01"
    assert exported["produced_at"] == PRODUCED.isoformat()
    assert (exported["database"], exported["rule"], exported["excluded_rate"]) == (
        report.database,
        RULE,
        RATE,
    )
    assert exported["population_source"] == POPULATION_SOURCE
    for section, record in (
        ("headline", report.headline),
        ("lending", report.lending),
        ("support", report.support),
        ("reach", report.reach),
    ):
        for field in dataclasses.fields(record):
            value = getattr(record, field.name)
            if isinstance(value, tuple):
                assert len(exported[section][field.name]) == len(value)
                for item, tally in zip(exported[section][field.name], value, strict=True):
                    for name in (f.name for f in dataclasses.fields(tally)):
                        assert item[name] == _expected(name, getattr(tally, name))
            else:
                assert exported[section][field.name] == _expected(field.name, value), (section, field.name)
    assert exported["headline"]["percent_of_the_way"] == round(report.headline.percent_of_the_way or 0, 1)
    assert exported["support"]["volunteer_hours"] == 252.0
    assert exported["reach"]["priority_groups"][4]["share"] == 1.7
    for item, ward in zip(exported["wards"], report.wards, strict=True):
        for field in dataclasses.fields(ward):
            expected = _expected(field.name, getattr(ward, field.name))
            if (ward.code, field.name) == (None, "included"):
                expected = None  # withheld with SMALL_WARD's 3, the only other count withheld
            assert item[field.name] == expected, (ward.name, field.name)
        reached = (
            round(100 * ward.supported / ward.estimated_excluded, 1) if ward.estimated_excluded else None
        )
        assert item["percent_reached"] == reached
    assert sum(ward["most_left_to_do"] for ward in exported["wards"]) == 5
    for item, totals in zip(exported["trends"], report.trends, strict=True):
        assert item["month"] == f"{totals.month:%Y-%m}"
        for field in dataclasses.fields(totals)[1:]:
            assert item[field.name] == _expected(field.name, getattr(totals, field.name))


# The template


def test_the_wording_is_read_afresh_for_each_report(tmp_path: Path) -> None:
    template = _copy_template(tmp_path)
    report = realistic_report()
    assert "Digital inclusion in Stockport" in _pages(monthly_report_pdf(report, template))[0]

    text = template.read_text(encoding="utf-8")
    text = text.replace('title = "Digital inclusion in Stockport"', 'title = "Stockport online for all"')
    template.write_text(text.replace('issued = "Loans issued"', 'issued = "Devices lent"'), encoding="utf-8")

    assert "Stockport online for all" in _pages(monthly_report_pdf(report, template))[0]
    assert ["Lending", "Devices lent", "", "84"] in _csv_rows(monthly_report_csv(report, template))


def test_a_template_missing_an_entry_is_refused_naming_the_file_and_the_entry(tmp_path: Path) -> None:
    template = _copy_template(tmp_path)
    text = template.read_text(encoding="utf-8")
    template.write_text(re.sub(r'\nintro = "Devices and data lent[^\n]*', "", text), encoding="utf-8")

    for make in (monthly_report_pdf, monthly_report_csv):
        with pytest.raises(DomainError, match=re.escape(f"{template}: 'lending.intro' is missing")):
            make(realistic_report(), template)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            ('title = "Digital', 'title = "$ward Digital'),
            r"'title' uses \$ward, which is not a placeholder here",
        ),
        (('intro = "Help given', 'intro = "Page $page. Help given'), r"'support.intro' uses \$page"),
        (('logo = "logo.png"', 'logo = "funders.png"'), "'logo' names .*funders.png, which is missing"),
        (('heading = "Summary"', "heading = 3"), "'summary.heading' should be text in quotes"),
        (("[notes]", "[notes"), "cannot be read"),
    ],
)
def test_a_broken_template_is_refused_naming_the_file_and_what_is_wrong(
    tmp_path: Path, change: tuple[str, str], message: str
) -> None:
    template = _copy_template(tmp_path)
    text = template.read_text(encoding="utf-8")
    assert change[0] in text
    template.write_text(text.replace(change[0], change[1], 1), encoding="utf-8")

    with pytest.raises(DomainError, match=re.escape(str(template)) + ".*" + message):
        monthly_report_pdf(realistic_report(), template)


def test_a_logo_that_is_not_a_picture_is_refused_naming_it(tmp_path: Path) -> None:
    template = _copy_template(tmp_path)
    (template.parent / "logo.png").write_text("not a picture", encoding="utf-8")

    with pytest.raises(DomainError, match=r"logo\.png cannot be read as a picture"):
        monthly_report_pdf(realistic_report(), template)


def _paths(pdf: bytes, page_number: int) -> int:
    """How many shapes (bars, rules, boxes) the page draws."""
    document = pdfium.PdfDocument(pdf)
    try:
        return len(list(document[page_number].get_objects(filter=[pdfium_raw.FPDF_PAGEOBJ_PATH])))
    finally:
        document.close()


def test_a_count_from_1_to_4_draws_no_bar_whose_length_would_give_it_away() -> None:
    small = small_counts_report()
    zeros = dataclasses.replace(
        small,
        trends=tuple(dataclasses.replace(totals, included=0, newly_included=0) for totals in small.trends),
    )
    small_pdf, zeros_pdf = monthly_report_pdf(small, TEMPLATE), monthly_report_pdf(zeros, TEMPLATE)
    trends = _page_with(_pages(small_pdf), "The last 12 months")

    assert _paths(small_pdf, trends) == _paths(zeros_pdf, trends)
    hours = dataclasses.replace(
        small, trends=tuple(dataclasses.replace(t, volunteer_hours=0.0) for t in small.trends)
    )
    assert _paths(monthly_report_pdf(hours, TEMPLATE), trends + 1) < _paths(
        small_pdf, trends + 1
    )  # hours are bars


# Counts that add up to a published total


@pytest.mark.parametrize(
    ("counts", "published"),
    [
        ([], []),
        ([120, 0, 35], [120, 0, 35]),  # nothing withheld
        ([3, 0, 0], [FEWER_THAN_5, 0, 0]),  # the total gives away nothing the cell does not
        ([3, 0, 40, 12, 12], [FEWER_THAN_5, 0, 40, NOT_SHOWN, 12]),  # one withheld: the smallest other too
        ([2, 3, 50, 60], [FEWER_THAN_5, FEWER_THAN_5, 50, 60]),  # two withheld: 5 has four splits
        ([3, 3, 3], [FEWER_THAN_5] * 3),  # withheld cells equal to each other
        ([1, 1, 40, 60], [FEWER_THAN_5, FEWER_THAN_5, NOT_SHOWN, 60]),  # 2 could only be 1 and 1
        ([4, 4, 70, 90], [FEWER_THAN_5, FEWER_THAN_5, NOT_SHOWN, 90]),  # 8 could only be 4 and 4
        ([4, 5, 5], [FEWER_THAN_5, NOT_SHOWN, NOT_SHOWN]),  # 9 of a 4 and a dash no more than 5: 4 and 5
        ([1, 5, 9], [FEWER_THAN_5, NOT_SHOWN, NOT_SHOWN]),  # 6 of a 1-4 and a 5 or more: 1 and 5
    ],
)
def test_counts_adding_up_to_a_total_are_published_so_none_withheld_can_be_worked_out(
    counts: list[int], published: list[int | str]
) -> None:
    assert published_group(counts) == published
    cells = [value if isinstance(value, str) else f"{value:,}" for value in published]
    assert _recoverable(sum(counts), cells) == ([0] if counts == [3, 0, 0] else [])


def _recoverable(total: int, cells: list[str]) -> list[int]:
    """The positions of withheld cells whose count the total less the cells shown pins down, trying every
    count each could be: "fewer than 5" is 1 to 4; a dash is 5 or more, and no more than the smallest
    count shown above 0 (or than the total)."""
    numbers = [int(cell.replace(",", "")) for cell in cells if cell not in (FEWER_THAN_5, NOT_SHOWN)]
    rest = total - sum(numbers)
    hidden = [number for number, cell in enumerate(cells) if cell in (FEWER_THAN_5, NOT_SHOWN)]
    ceiling = min((number for number in numbers if number > 0), default=rest)
    ranges = [range(1, 5) if cells[n] == FEWER_THAN_5 else range(5, ceiling + 1) for n in hidden]
    splits = [split for split in itertools.product(*ranges) if sum(split) == rest]
    assert splits, "the counts behind the cells are one way to make the total"
    return [hidden[n] for n in range(len(hidden)) if len({split[n] for split in splits}) == 1]


def grouped_report() -> MonthlyReport:
    """realistic_report with one count from 1 to 4 in every group that adds up to a published total: the
    wards' supported, included and loans (against the headline and the loans issued), the age bands and
    the referral sources (against the residents reached)."""
    report = realistic_report()
    wards = list(report.wards)
    wards[2] = dataclasses.replace(wards[2], supported=4)
    wards[5] = dataclasses.replace(wards[5], loans=2)
    reach = dataclasses.replace(
        report.reach,
        age_bands=tuple(
            Tally(band, n) for band, n in zip(AGE_BANDS, (3, 24, 77, 96, 104, 101, 15), strict=True)
        ),
        referral_sources=(
            *report.reach.referral_sources[:4],
            Tally("Stockport Libraries", 85),
            Tally("Other partners", 2),
        ),
    )
    return dataclasses.replace(
        report,
        wards=tuple(wards),
        headline=dataclasses.replace(report.headline, supported=sum(ward.supported for ward in wards)),
        lending=dataclasses.replace(report.lending, issued=sum(ward.loans for ward in wards)),
        reach=reach,
    )


_GROUPS = ("supported", "included", "loans", "age_bands", "referral_sources")


def _pdf_groups(report: MonthlyReport) -> dict[str, tuple[int, list[str]]]:
    """Each group as the PDF prints it: (its total, its cells), read from the pages."""
    pages = [page.replace(FEWER_THAN_5, "<5") for page in _pages(monthly_report_pdf(report, TEMPLATE))]
    text = " ".join(pages)
    wards, reach = pages[_page_with(pages, "By ward")], pages[_page_with(pages, "Who we reach")]

    def cell(page: str, label: str, column: int) -> str:
        found = re.search(re.escape(label) + rf" (?:\S+ ){{{column}}}(\S+)", page)
        assert found, label
        return found.group(1).replace("<5", FEWER_THAN_5)

    def total(pattern: str) -> int:
        found = re.search(pattern, text)
        assert found, pattern
        return int(found.group(1).replace(",", ""))

    names = [ward.name for ward in report.wards]
    reached = total(r"Residents reached in February 2026 ([\d,]+)")
    return {
        "supported": (
            total(r"Residents supported since the scheme started ([\d,]+)"),
            [cell(wards, name, 2) for name in names],
        ),
        "included": (
            total(r"([\d,]+) Residents digitally included at"),
            [cell(wards, name, 3) for name in names],
        ),
        "loans": (total(r"Loans issued ([\d,]+)"), [cell(wards, name, 4) for name in names]),
        "age_bands": (reached, [cell(reach, band, 0) for band in AGE_BANDS]),
        "referral_sources": (
            reached,
            [cell(reach, tally.label, 0) for tally in report.reach.referral_sources],
        ),
    }


def _csv_groups(report: MonthlyReport) -> dict[str, tuple[int, list[str]]]:
    rows = _csv_rows(monthly_report_csv(report, TEMPLATE))

    def values(section: str, figure: str) -> list[str]:
        return [row[3] for row in rows if row[:2] == [section, figure]]

    def total(section: str, figure: str) -> int:
        return int(*values(section, figure))

    reached = total("Who we reach", "Residents reached in February 2026")
    return {
        "supported": (
            total("Summary", "Residents supported since the scheme started"),
            values("By ward", "Supported"),
        ),
        "included": (
            total("Summary", "Residents digitally included at the end of February 2026"),
            values("By ward", "Included"),
        ),
        "loans": (total("Lending", "Loans issued"), values("By ward", "Loans in February 2026")),
        "age_bands": (reached, values("Who we reach", "Age: Residents")),
        "referral_sources": (reached, values("Who we reach", "Referred by: Residents")),
    }


def _json_groups(report: MonthlyReport) -> dict[str, tuple[int, list[str]]]:
    exported = json.loads(json.dumps(monthly_report_json(report)))

    def cells(items: list[dict[str, Any]], key: str) -> list[str]:
        return [NOT_SHOWN if item[key] is None else str(item[key]) for item in items]

    reach = exported["reach"]
    return {
        "supported": (exported["headline"]["supported"], cells(exported["wards"], "supported")),
        "included": (exported["headline"]["included"], cells(exported["wards"], "included")),
        "loans": (exported["lending"]["issued"], cells(exported["wards"], "loans")),
        "age_bands": (reach["residents"], cells(reach["age_bands"], "count")),
        "referral_sources": (reach["residents"], cells(reach["referral_sources"], "count")),
    }


@pytest.mark.parametrize("read", [_pdf_groups, _csv_groups, _json_groups], ids=["pdf", "csv", "json"])
def test_no_withheld_count_can_be_worked_out_from_a_total_and_the_counts_shown(read: Any) -> None:
    report = grouped_report()
    groups = read(report)

    assert set(groups) == set(_GROUPS)
    for name, (total, cells) in groups.items():
        assert FEWER_THAN_5 in cells, name  # each group has a count from 1 to 4 to protect
        assert _recoverable(total, cells) == [], (name, total, cells)
    # The ward with 4 supported is joined by the smallest other (SMALL_WARD's 12), and what either
    # supported reached is not shown; the age band of 3 by the next smallest band (15, "Prefer not to say").
    supported = groups["supported"][1]
    assert (supported[2], supported[16]) == (FEWER_THAN_5, NOT_SHOWN)
    assert [n for n, cell in enumerate(groups["age_bands"][1]) if not cell[0].isdigit()] == [0, 6]


# The month so far


def test_a_report_made_before_its_month_is_over_says_it_runs_to_that_day() -> None:
    report = realistic_report(produced_at=datetime(2026, 2, 26, 12, 0, tzinfo=UTC))
    pages = _pages(monthly_report_pdf(report, TEMPLATE))
    text = " ".join(pages)

    for page in pages:
        assert "Report period: 1 to 26 February 2026 (so far)" in page
    assert f"{report.headline.included:,} Residents digitally included at 26 February 2026" in pages[0]
    assert "Loans open at 26 February 2026 312" in text
    assert "Residents on the waiting list at 26 February 2026 27" in text
    assert "Month by month to 26 February 2026" in text
    assert "end of February" not in text
    rows = _csv_rows(monthly_report_csv(report, TEMPLATE))
    assert ["About this report", "Report period", "", "1 to 26 February 2026 (so far)"] in rows
    assert ["Summary", "Residents digitally included at 26 February 2026", "", "2271"] in rows
    exported = monthly_report_json(report)
    assert exported["period"] == {"first_day": "2026-02-01", "last_day": "2026-02-26", "so_far": True}


def test_a_report_made_after_its_month_runs_to_its_end() -> None:
    report = realistic_report(produced_at=datetime(2026, 3, 1, 12, 0, tzinfo=UTC))
    text = " ".join(_pages(monthly_report_pdf(report, TEMPLATE)))

    assert "Report period: 1 to 28 February 2026 Page" in text
    assert "so far" not in text
    assert "Loans open at the end of February 2026 312" in text
    assert "Month by month to the end of February 2026" in text
    assert monthly_report_json(report)["period"]["so_far"] is False


def test_the_wards_with_most_left_to_do_are_ranked_by_what_is_published() -> None:
    # Exactly, Bramhall North has 97 left (3 included) and ranks third; but its 3 is withheld, so it
    # ranks by its estimate of 100, level with Bredbury, and its place gives nothing away.
    wards = (
        WardFigures("E05000779", "Bramhall North", 769, 100, 10, 3, 0),
        WardFigures("E05000781", "Bredbury and Woodley", 769, 100, 10, 0, 0),
        WardFigures("E05000793", "Manor", 754, 98, 10, 0, 0),
        WardFigures("E05000794", "Marple North", 700, 91, 10, 30, 0),
    )
    assert [ward.name for ward in most_left_to_do(wards, 3)] == [
        "Bramhall North",
        "Bredbury and Woodley",
        "Manor",
    ]
    assert [ward.left_to_do for ward in wards] == [97, 100, 98, 61]
