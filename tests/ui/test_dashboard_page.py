"""The Dashboard: the month's headline figures as they are published, the ward chart and its table,
moving between months, the report printed and saved as a PDF, and every control reached by Tab.

The borough below is small and made through the services; each expected figure is worked out by hand
from it (the comments say how), not read back from the report.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import TYPE_CHECKING

import pypdfium2 as pdfium
import pytest
from PySide6.QtCore import Qt
from PySide6.QtPrintSupport import QPrinter
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QComboBox, QPushButton, QTableView, QTabWidget, QWidget
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot

from digiknow_desk.app import Services
from digiknow_desk.domain.devices import DeviceDraft, DeviceType
from digiknow_desk.domain.residents import ConsentPurpose, ResidentDraft
from digiknow_desk.domain.skills import SkillArea, SkillLevel, SkillsCheckDraft
from digiknow_desk.ui.dashboard_page import DashboardPage, WardTableModel
from digiknow_desk.ui.printing import printer_for_documents
from digiknow_desk.ui.tasks import TaskRunner

if TYPE_CHECKING:
    from tests.conftest import FakeClock

EDGELEY, DAVENPORT = "E05000788", "E05000787"
# Five wards of 300 residents, the other sixteen of 100; with 10% excluded: 30 and 10 each, 310 in all.
BIG_WARDS = {EDGELEY, "E05000793", "E05000790", "E05000796", "E05000799"}
BIG_NAMES = ["Edgeley and Cheadle Heath", "Heald Green", "Manor", "Offerton", "Stepping Hill"]
JANUARY, FEBRUARY, MARCH = date(2026, 1, 1), date(2026, 2, 1), date(2026, 3, 1)  # the clock: 14 March


def at(month: int, day: int) -> datetime:
    """Ten in the morning where the desk is, in 2026."""
    return datetime.combine(date(2026, month, day), time(10)).astimezone(UTC)


@pytest.fixture
def tasks() -> Iterator[TaskRunner]:
    runner = TaskRunner()
    yield runner
    runner.shutdown()


@pytest.fixture
def borough(services: Services, clock: FakeClock) -> Services:
    """Edgeley: E1-E3 included on 12 January, E4-E6 on 10 February; E1 borrows a tablet on 16 February;
    N registered and nothing more (not supported). Davenport: D1 and D2 included on 11 February, D3 on
    3 March. Each check is Foundation and Communicating done alone with their own device and connection,
    which the default rule counts as (independently) included. The clock ends on 14 March."""
    services.wards.set_populations(
        {ward.code: 300 if ward.code in BIG_WARDS else 100 for ward in services.wards.wards()}, "Test figures"
    )
    services.wards.set_excluded_rate(0.10)
    clock.now = at(1, 5)
    services.inventory.add(DeviceDraft(tag="TAB-0001", device_type=DeviceType.TABLET))
    draft = ResidentDraft(name="", consents=frozenset(ConsentPurpose))
    references = {
        key: services.residents.add(
            replace(draft, name=f"Resident {key}", phone=f"0161 474 {number:04d}", ward_code=ward)
        ).reference
        for number, (key, ward) in enumerate(
            [(f"E{n}", EDGELEY) for n in range(1, 7)]
            + [(f"D{n}", DAVENPORT) for n in range(1, 4)]
            + [("N", EDGELEY)]
        )
    }
    alone = dict.fromkeys(SkillArea, SkillLevel.NOT_YET) | {
        SkillArea.FOUNDATION: SkillLevel.ALONE,
        SkillArea.COMMUNICATING: SkillLevel.ALONE,
    }
    for keys, moment in (
        (["E1", "E2", "E3"], at(1, 12)),
        (["E4", "E5", "E6"], at(2, 10)),
        (["D1", "D2"], at(2, 11)),
        (["D3"], at(3, 3)),
    ):
        clock.now = moment
        for key in keys:
            services.skills.record(
                references[key],
                SkillsCheckDraft(
                    alone, checked_on=moment.astimezone().date(), own_device=True, own_connection=True
                ),
            )
    clock.now = at(2, 16)
    services.lending.issue("TAB-0001", references["E1"])
    clock.now = datetime(2026, 3, 14, 10, 30, tzinfo=UTC)
    return services


@pytest.fixture
def saved_to(tmp_path: Path) -> list[tuple[str, str]]:
    """What the page asked when saving: (caption, suggested file name)."""
    return []


@pytest.fixture
def printed(tmp_path: Path) -> Path:
    return tmp_path / "printed.pdf"


@pytest.fixture
def page(
    borough: Services,
    tasks: TaskRunner,
    qtbot: QtBot,
    clock: FakeClock,
    tmp_path: Path,
    saved_to: list[tuple[str, str]],
    printed: Path,
) -> DashboardPage:
    """The Dashboard on screen, showing this month (March 2026)."""

    def ask_path(_parent: QWidget, caption: str, suggested: str, _filter: str) -> str:
        saved_to.append((caption, Path(suggested).name))
        return str(tmp_path / "board report")  # staff left off the .pdf

    def ask_printer(_parent: QWidget, title: str) -> QPrinter:
        printer = QPrinter(QPrinter.PrinterMode.HighResolution)
        printer.setOutputFormat(QPrinter.OutputFormat.PdfFormat)
        printer.setOutputFileName(str(printed))
        printer.setResolution(72)
        return printer_for_documents(title, printer)

    page = DashboardPage(borough, tasks, clock=clock, ask_path=ask_path, ask_printer=ask_printer)
    qtbot.addWidget(page)
    page.resize(1200, 900)
    with qtbot.waitSignal(page.loaded, timeout=10_000):
        page.show()
    return page


def choose(page: DashboardPage, qtbot: QtBot, month: date, button: QPushButton | None = None) -> None:
    """Move to `month` (with `button`, or the month list) and wait for its figures."""
    if button is not None:
        qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    else:
        page.show_month(month)
    qtbot.waitUntil(lambda: page.report is not None and page.report.month == month, timeout=10_000)


def button(page: DashboardPage, name: str) -> QPushButton:
    found = [b for b in page.findChildren(QPushButton) if b.accessibleName() == name]
    assert len(found) == 1, name
    return found[0]


def test_the_headline_shows_the_months_figures(page: DashboardPage, qtbot: QtBot) -> None:
    choose(page, qtbot, FEBRUARY)

    assert page.figure_text("included") == "8"  # E1-E6, D1, D2
    assert page.figure_text("newly_month") == "5"  # E4-E6, D1, D2
    assert page.figure_text("newly_year") == "8"  # all since 1 April 2025
    assert page.figure_text("no_longer_included") == "0"
    assert page.figure_text("supported") == "8"  # N has had no session, loan or check
    assert page.figure_text("estimated_excluded") == "310"
    assert page.figure_text("progress") == "2.6%"  # 8 of 310
    assert page.headline_title == "February 2026 at a glance"
    assert page.caption_text("newly_year").endswith("from 1 April 2025")
    assert "(10% of residents)" in page.caption_text("estimated_excluded")
    assert page.status_text.startswith("February 2026, as at ")
    rule = page.rule_text
    assert rule.startswith("Who counts as digitally included: A resident is digitally included when")
    assert "Foundation skills done alone" in rule
    assert page.figure_text("volunteer_hours") == "0.0"
    assert page.figure_text("sessions") == "0"


def test_counts_from_1_to_4_are_shown_as_fewer_than_5(page: DashboardPage, qtbot: QtBot) -> None:
    # March, the month shown first: D3 is the only one newly included.
    assert page.month == MARCH
    assert page.figure_text("newly_month") == "fewer than 5"
    assert page.figure_text("included") == "9"
    assert page.figure_text("issued") == "0"

    choose(page, qtbot, FEBRUARY)
    assert page.figure_text("issued") == "fewer than 5"  # E1's tablet
    assert page.figure_text("open_at_end") == "fewer than 5"

    choose(page, qtbot, JANUARY)
    assert page.figure_text("included") == "fewer than 5"  # E1-E3
    assert page.figure_text("newly_month") == "fewer than 5"
    assert page.figure_text("progress") == "–"  # 3 of 310 would give the 3 away


def test_months_move_with_previous_and_next_and_never_past_this_month(
    page: DashboardPage, qtbot: QtBot
) -> None:
    previous, following = button(page, "Previous month"), button(page, "Next month")
    month_list = page.findChild(QComboBox)
    assert month_list.accessibleName() == "Report month"
    assert month_list.currentText() == "March 2026" and month_list.count() == 120
    assert not following.isEnabled() and previous.isEnabled()

    choose(page, qtbot, FEBRUARY, previous)
    assert month_list.currentText() == "February 2026" and following.isEnabled()
    assert page.figure_text("newly_month") == "5"
    choose(page, qtbot, MARCH, following)
    assert page.figure_text("newly_month") == "fewer than 5"
    assert page.status_text.startswith("March 2026 so far, as at ")

    month_list.setCurrentIndex(month_list.count() - 1)
    assert not previous.isEnabled()


def test_only_the_month_asked_for_last_is_shown(page: DashboardPage, qtbot: QtBot, tasks: TaskRunner) -> None:
    shown: list[date] = []
    page.loaded.connect(lambda: shown.append(page.report.month if page.report else MARCH))
    page.previous_month()  # February is asked for...
    page.previous_month()  # ...then January, before February's figures can arrive
    assert tasks.wait_for_all(seconds=10)
    qtbot.waitUntil(lambda: shown != [])
    QApplication.processEvents()  # any answer still queued arrives now

    assert shown == [JANUARY]
    assert page.figure_text("newly_month") == "fewer than 5"


def test_the_ward_chart_shows_included_and_left_to_do(page: DashboardPage, qtbot: QtBot) -> None:
    choose(page, qtbot, FEBRUARY)
    wards = page.report.wards if page.report else ()
    names = [ward.name for ward in wards if ward.code is not None]
    edgeley, davenport = names.index("Edgeley and Cheadle Heath"), names.index("Davenport and Cale Green")
    assert len(names) == 21
    included, left, most_left = (page.bar_values(part) for part in ("included", "left", "most_left"))

    # Each bar is the ward's estimated excluded: 30 in the five big wards, 10 elsewhere.
    for number, name in enumerate(names):
        assert included[number] + left[number] + most_left[number] == (30 if name in BIG_NAMES else 10)
    # The five big wards have most left to do (Edgeley's 6 included leave it 24).
    assert [name for number, name in enumerate(names) if most_left[number]] == BIG_NAMES
    # Davenport's 2 included are withheld, and so are Edgeley's 6 (or 8 included in all, less Edgeley's 6,
    # would give the 2 away): neither has a bar of its own, the whole bar is left to do.
    assert (included[davenport], left[davenport], most_left[davenport]) == (0, 10, 0)
    assert (included[edgeley], left[edgeley], most_left[edgeley]) == (0, 0, 30)
    assert sum(included) == 0

    # The category axis lists the wards from the top, the five with most left to do in bold.
    axis = page.chart.axes(Qt.Orientation.Vertical)[0]
    labels = list(reversed(axis.categories()))
    assert labels[edgeley] == "<b>Edgeley and Cheadle Heath</b>"
    assert labels[davenport] == "Davenport and Cale Green"


def test_the_chart_has_a_name_and_its_figures_in_words(
    page: DashboardPage, qtbot: QtBot, qtmodeltester: ModelTester
) -> None:
    choose(page, qtbot, FEBRUARY)
    view = page.chart_view
    assert view.accessibleName() == "Chart of residents included and left to do in each ward"
    # Edgeley's 6 included are withheld (to protect Davenport's 2), so it ranks by its estimate of 30,
    # level with the four wards that have included nobody: its place cannot give the 6 away.
    assert (
        "Most left to do, most first: Edgeley and Cheadle Heath; Heald Green; Manor; Offerton; Stepping Hill."
        in view.accessibleDescription()
    )

    model = page.ward_model
    qtmodeltester.check(model)
    rows = {
        model.index(row, WardTableModel.WARD).data(): [
            model.index(row, column).data() for column in range(1, model.columnCount())
        ]
        for row in range(model.rowCount())
    }
    assert len(rows) == 21
    assert rows["Edgeley and Cheadle Heath"] == [
        "–",
        "–",
        "30",
    ]  # withheld so that the 2 cannot be worked out
    assert rows["Davenport and Cale Green"] == ["fewer than 5", "–", "10"]  # 8 left would give the 2 away
    assert rows["Manor"] == ["0", "30", "30"]
    edgeley = next(
        row for row in range(model.rowCount()) if model.index(row, 0).data() == "Edgeley and Cheadle Heath"
    )
    assert (
        model.index(edgeley, 0)
        .data(Qt.ItemDataRole.AccessibleTextRole)
        .endswith("one of the five wards with most left to do")
    )
    assert model.index(edgeley, 0).data(Qt.ItemDataRole.FontRole).bold()


def test_save_as_pdf_writes_the_months_report(
    page: DashboardPage, qtbot: QtBot, tmp_path: Path, saved_to: list[tuple[str, str]]
) -> None:
    choose(page, qtbot, FEBRUARY)
    with qtbot.waitSignal(page.notice, timeout=20_000) as notice:
        qtbot.mouseClick(button(page, "Save report as PDF"), Qt.MouseButton.LeftButton)

    saved = tmp_path / "board report.pdf"
    assert saved_to == [("Save the monthly report for February 2026 as a PDF", "monthly-report-2026-02.pdf")]
    assert notice.args == [f"Saved the monthly report for February 2026 to {saved}."]
    assert page.notice_text == notice.args[0]
    assert saved.read_bytes().startswith(b"%PDF-")
    document = pdfium.PdfDocument(str(saved))
    try:
        assert len(document) >= 2
        first_page = document[0].get_textpage().get_text_range()
    finally:
        document.close()
    assert "February 2026" in first_page


def test_print_report_sends_every_page_to_the_printer(
    page: DashboardPage, qtbot: QtBot, printed: Path
) -> None:
    with qtbot.waitSignal(page.notice, timeout=60_000) as notice:
        qtbot.mouseClick(button(page, "Print report"), Qt.MouseButton.LeftButton)

    document = pdfium.PdfDocument(str(printed))
    try:
        pages = len(document)
    finally:
        document.close()
    assert pages >= 2
    assert notice.args == [f"Sent the monthly report for March 2026 to the printer ({pages} pages)."]


def test_figures_are_read_again_when_records_change_and_the_page_is_shown(
    page: DashboardPage, qtbot: QtBot, borough: Services
) -> None:
    assert page.figure_text("estimated_excluded") == "310"
    borough.wards.set_excluded_rate(0.20)
    page.hide()
    page.refresh()  # while hidden: nothing read until it is shown again
    assert page.figure_text("estimated_excluded") == "310"
    with qtbot.waitSignal(page.loaded, timeout=10_000):
        page.show()
    assert page.figure_text("estimated_excluded") == "620"

    borough.wards.set_excluded_rate(0.10)
    with qtbot.waitSignal(page.loaded, timeout=10_000):
        page.refresh()
    assert page.figure_text("estimated_excluded") == "310"


def test_tab_reaches_every_control(page: DashboardPage, qtbot: QtBot) -> None:
    choose(page, qtbot, FEBRUARY)  # Next is enabled away from this month
    page.activateWindow()
    qtbot.waitUntil(page.isActiveWindow)

    def reached_by_tab() -> set[QWidget]:
        wanted = {
            widget
            for widget in page.findChildren(QWidget)
            if widget.isVisible()
            and widget.isEnabled()
            and widget.focusPolicy() & Qt.FocusPolicy.TabFocus
            and widget.focusProxy() is None  # the tab widget: Tab lands on its tabs
        }
        button(page, "Previous month").setFocus()
        reached: set[QWidget] = set()
        for _ in range(2 * len(wanted) + 2):
            focused = QApplication.focusWidget()
            assert focused is not None
            reached.add(focused)
            QTest.keyClick(focused, Qt.Key.Key_Tab)
        assert wanted - reached == set(), [widget.accessibleName() for widget in wanted - reached]
        return reached

    reached = reached_by_tab()
    names = {widget.accessibleName() for widget in reached}
    assert {"Previous month", "Report month", "Next month", "Print report", "Save report as PDF"} <= names
    assert page.chart_view in reached
    assert all(widget.accessibleName() for widget in reached)

    page.findChild(QTabWidget).setCurrentIndex(1)  # the Table tab: the chart's figures in rows
    assert page.findChild(QTableView) in reached_by_tab()


def test_no_wards_number_included_can_be_worked_out_from_the_headline(
    page: DashboardPage, qtbot: QtBot
) -> None:
    choose(page, qtbot, FEBRUARY)
    model = page.ward_model
    cells = [model.index(row, WardTableModel.INCLUDED).data() for row in range(model.rowCount())]
    total = int(page.figure_text("included"))  # 8: E1-E6, D1, D2
    shown = sum(int(cell) for cell in cells if cell.isdigit())
    withheld = sorted(cell for cell in cells if not cell.isdigit())

    assert withheld == ["fewer than 5", "–"]  # Davenport's 2 and Edgeley's 6
    # The 8 less the 0 shown could be any of 1 to 4 in Davenport and the rest, 5 or more, in Edgeley.
    splits = [(small, total - shown - small) for small in range(1, 5) if total - shown - small >= 5]
    assert splits == [(1, 7), (2, 6), (3, 5)]


def test_figures_for_this_month_are_counted_to_today(page: DashboardPage, qtbot: QtBot) -> None:
    assert page.month == MARCH  # the clock says 14 March
    assert page.caption_text("included") == "Included since the start, on 14 March"
    assert page.caption_text("open_at_end") == "Loans open on 14 March"
    assert page.caption_text("waiting_at_end") == "Residents on the waiting list on 14 March"

    choose(page, qtbot, FEBRUARY)
    assert page.caption_text("included") == "Included since the start, at the end of the month"
    assert page.caption_text("overdue_at_end") == "Loans overdue at the end of the month"
    assert page.status_text.startswith("February 2026, as at ")
