"""The Dashboard: a month's headline figures against the 100%-digitally-included measure, the wards as a
chart (and as a table, for screen readers), a few lending and support figures, and the monthly report to
print or save as a PDF. Figures are read off the GUI thread and shown as they will be published."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any

from PySide6.QtCharts import (
    QBarCategoryAxis,
    QBarSet,
    QChart,
    QChartView,
    QHorizontalStackedBarSeries,
    QValueAxis,
)
from PySide6.QtCore import (
    QAbstractTableModel,
    QMargins,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QSize,
    Qt,
    Signal,
)
from PySide6.QtGui import QColor, QCursor, QFont, QPainter, QPen, QShowEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFrame,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QScrollArea,
    QTableView,
    QTabWidget,
    QToolTip,
    QVBoxLayout,
    QWidget,
)

from digiknow_desk.app import Services
from digiknow_desk.domain.reports import (
    MOST_LEFT_TO_DO,
    NOT_SHOWN,
    DashboardFigures,
    PublishedWard,
    count_text,
    left_to_do_text,
    month_so_far,
    percent_text,
    published_wards,
    shown,
)
from digiknow_desk.services.context import system_clock
from digiknow_desk.ui.desk_page import bigger, words_label
from digiknow_desk.ui.errors import problem_words
from digiknow_desk.ui.printing import (
    DocumentPrinterAsker,
    DocumentPrinting,
    Printable,
    SavePathAsker,
    ask_document_printer,
    ask_save_path,
)
from digiknow_desk.ui.session_table_model import month_text, recent_months
from digiknow_desk.ui.tasks import Task, TaskRunner

MONTHS_LISTED = 120  # ten years of months to choose from, newest first
WARD_LINE = 1.6  # lines of text for each ward's bar in the chart
CHART_FURNITURE_LINES = 6  # the legend, the count axis and the margins
# On white, with a white line between the parts of a bar: included 8.1:1, left to do 3.5:1, the
# five wards with most left to do 6.3:1 (orange against blue, told apart with any colour vision).
INCLUDED_COLOUR = QColor("#1d4f91")
LEFT_TO_DO_COLOUR = QColor("#7b8a9c")
MOST_LEFT_COLOUR = QColor("#a14400")
_Index = QModelIndex | QPersistentModelIndex


def hours_text(hours: float) -> str:
    """'1,112.8'."""
    return f"{hours:,.1f}"


def ward_bars(row: PublishedWard, most_left: bool) -> tuple[int, int, int]:
    """The ward's bar as (included, left to do, left to do among the five with most): the parts add up to
    the estimated excluded. A number included that is withheld draws no part of its own (a bar's length
    would give the number away), so the whole bar is then the estimated excluded."""
    estimate = row.ward.estimated_excluded
    included, left = (row.included, row.ward.left_to_do) if isinstance(row.included, int) else (0, estimate)
    return (included, 0, left) if most_left else (included, left, 0)


def ward_words(row: PublishedWard) -> str:
    """One ward's bar in words, for its tooltip."""
    return (
        f"{row.ward.name}: {count_text(row.included)} included, {left_to_do_text(row)} left to do, "
        f"of {shown(row.ward.estimated_excluded)} estimated digitally excluded"
    )


def _at_end(report: DashboardFigures) -> str:
    """When the month's running figures are counted: 'at the end of the month', or for the month not yet
    over 'on 14 March' (the day they were read)."""
    if month_so_far(report.month, report.produced_at):
        day = report.produced_at.astimezone()
        return f"on {day.day} {day:%B}"
    return "at the end of the month"


class ChartView(QChartView):
    """A chart view that asks only for its minimum height, so the page fits the window and the chart
    takes what room is left (a chart's own wish, a line and more per bar, would make the page scroll)."""

    def sizeHint(self) -> QSize:
        return QSize(super().sizeHint().width(), self.minimumHeight())


class WardTableModel(QAbstractTableModel):
    """The chart's figures as a table: each ward's included, left to do and estimated excluded; the five
    wards with most left to do in bold (and said so in words)."""

    WARD, INCLUDED, LEFT_TO_DO, ESTIMATED_EXCLUDED = range(4)
    HEADERS = ("Ward", "Included", "Left to do", "Estimated excluded")

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._wards: list[PublishedWard] = []
        self._most_left: set[str | None] = set()

    def set_wards(self, wards: list[PublishedWard], most_left: set[str | None]) -> None:
        self.beginResetModel()
        self._wards, self._most_left = list(wards), set(most_left)
        self.endResetModel()

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008  (Qt's own default)
        return 0 if parent.isValid() else len(self._wards)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.HEADERS)

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._wards):
            return None
        ward = self._wards[index.row()]
        column = index.column()
        most_left = ward.ward.code in self._most_left
        if role == Qt.ItemDataRole.DisplayRole:
            return self._text(ward, column)
        if role == Qt.ItemDataRole.AccessibleTextRole:
            text = self._text(ward, column)
            return f"{text}, one of the five wards with most left to do" if most_left and not column else text
        if role == Qt.ItemDataRole.ToolTipRole and most_left:
            return "One of the five wards with most left to do"
        if role == Qt.ItemDataRole.FontRole and most_left:
            font = QFont()
            font.setBold(True)
            return font
        if role == Qt.ItemDataRole.TextAlignmentRole and column != self.WARD:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if (
            role == Qt.ItemDataRole.DisplayRole
            and orientation == Qt.Orientation.Horizontal
            and 0 <= section < len(self.HEADERS)
        ):
            return self.HEADERS[section]
        return None

    def _text(self, ward: PublishedWard, column: int) -> str:
        if column == self.WARD:
            return ward.ward.name
        if column == self.INCLUDED:
            return count_text(ward.included)
        if column == self.LEFT_TO_DO:
            return left_to_do_text(ward)
        if column == self.ESTIMATED_EXCLUDED:
            return shown(ward.ward.estimated_excluded)
        return ""


class DashboardPage(QWidget):
    """The month's figures, read again whenever the page is shown or the records change while it is."""

    notice = Signal(str)  # what was just done (printed, saved), for the status bar
    loaded = Signal()  # the figures on screen are now those of the month chosen last

    HEADLINE = (
        *("included", "newly_month", "newly_year", "no_longer_included", "supported"),
        *("estimated_excluded", "progress"),
    )
    LENDING = ("issued", "returned", "open_at_end", "overdue_at_end", "waiting_at_end")
    SUPPORT = ("sessions", "residents_helped", "new_residents", "volunteer_hours")

    def __init__(
        self,
        services: Services,
        tasks: TaskRunner,
        parent: QWidget | None = None,
        *,
        clock: Callable[[], datetime] = system_clock,
        ask_printer: DocumentPrinterAsker = ask_document_printer,
        ask_path: SavePathAsker = ask_save_path,
    ) -> None:
        super().__init__(parent)
        self._services = services
        self._tasks = tasks
        self._clock = clock
        self._ask_printer = ask_printer
        self._ask_path = ask_path
        self._printing = DocumentPrinting(tasks, self)
        self._printing.finished.connect(self._set_notice)
        self._printing.failed.connect(self._set_notice)
        self._asked = 0  # each reading of the figures is numbered; only the last one asked for is shown
        self._report: DashboardFigures | None = None
        self._chart_wards: list[PublishedWard] = []  # the wards as the chart lists them, bottom first

        layout = QVBoxLayout(self)
        layout.addLayout(self._build_month_row())
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        # The controls inside take the focus, and the area scrolls to show them.
        scroll.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        content = QWidget()
        body = QVBoxLayout(content)
        body.setContentsMargins(0, 0, 0, 0)
        body.addWidget(self._build_headline())
        lower = QHBoxLayout()
        lower.addWidget(self._build_wards(), 2)
        lower.addLayout(self._build_month_figures(), 1)
        body.addLayout(lower, 1)
        scroll.setWidget(content)
        layout.addWidget(scroll, 1)
        self._notice = words_label()
        self._notice.setAccessibleName("Last action")
        layout.addWidget(self._notice)
        self.setTabOrder(self._previous, self._month)
        self.setTabOrder(self._month, self._next)
        self.setTabOrder(self._next, self._print)
        self.setTabOrder(self._print, self._save)
        self.setTabOrder(self._save, self._views)
        self.setTabOrder(self._views, self._chart_view)
        self.setTabOrder(self._chart_view, self._table)
        self._fill_months()

    # Building the page

    def _build_month_row(self) -> QHBoxLayout:
        self._month = QComboBox()
        self._month.setAccessibleName("Report month")
        self._month.setToolTip("The month the figures and the report are for")
        self._month.currentIndexChanged.connect(self._month_changed)
        month_label = QLabel("Report &month:")
        month_label.setBuddy(self._month)
        self._previous = self._button("◀ Pre&vious", "Previous month", self.previous_month)
        self._next = self._button("Ne&xt ▶", "Next month", self.next_month)
        self._print = self._button("&Print report…", "Print report", self.print_report)
        self._print.setToolTip("Print the monthly report for the month shown")
        self._save = self._button("Save as P&DF…", "Save report as PDF", self.save_pdf)
        self._save.setToolTip("Save the monthly report for the month shown as a PDF")
        self._status = words_label()
        self._status.setAccessibleName("Figures shown")
        row = QHBoxLayout()
        row.addWidget(month_label)
        row.addWidget(self._previous)
        row.addWidget(self._month)
        row.addWidget(self._next)
        row.addSpacing(self.fontMetrics().averageCharWidth() * 2)
        row.addWidget(self._status, 1)
        row.addWidget(self._print)
        row.addWidget(self._save)
        return row

    def _button(self, text: str, name: str, slot: Callable[[], object]) -> QPushButton:
        button = QPushButton(text)
        button.setAccessibleName(name)
        button.setToolTip(name)
        button.clicked.connect(lambda _checked=False: slot())
        return button

    def _build_headline(self) -> QGroupBox:
        self._headline_box = QGroupBox("At a glance")
        grid = QGridLayout(self._headline_box)
        grid.setHorizontalSpacing(self.fontMetrics().averageCharWidth() * 3)
        self._figures: dict[str, QLabel] = {}
        self._captions: dict[str, QLabel] = {}
        for column, key in enumerate(self.HEADLINE):
            number = QLabel(NOT_SHOWN)
            number.setTextFormat(Qt.TextFormat.PlainText)
            number.setWordWrap(True)  # "fewer than 5" takes two lines rather than the next figure's room
            number.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignBottom)
            number.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            bigger(number, 1.8)
            caption = words_label()
            caption.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
            grid.addWidget(number, 0, column)
            grid.addWidget(caption, 1, column)
            grid.setColumnStretch(column, 1)
            self._figures[key], self._captions[key] = number, caption
        self._rule = words_label()
        self._rule.setAccessibleName("Who counts as digitally included")
        grid.addWidget(self._rule, 2, 0, 1, len(self.HEADLINE))
        return self._headline_box

    def _build_wards(self) -> QGroupBox:
        box = QGroupBox("By ward, since the scheme started")
        self._chart = QChart()
        self._chart.setTheme(QChart.ChartTheme.ChartThemeLight)
        self._chart.setBackgroundRoundness(0)
        self._chart.setMargins(QMargins(8, 4, 12, 4))
        self._chart.layout().setContentsMargins(0, 0, 0, 0)
        self._chart.legend().setAlignment(Qt.AlignmentFlag.AlignTop)
        self._chart.legend().setFont(self.font())
        self._bars = {
            "included": QBarSet("Included"),
            "left": QBarSet("Left to do"),
            "most_left": QBarSet(f"Left to do, {MOST_LEFT_TO_DO} wards with most (in bold)"),
        }
        for bar_set, colour in zip(
            self._bars.values(), (INCLUDED_COLOUR, LEFT_TO_DO_COLOUR, MOST_LEFT_COLOUR), strict=True
        ):
            bar_set.setColor(colour)
            bar_set.setPen(QPen(QColor("white"), 1))
        self._series = QHorizontalStackedBarSeries()
        self._series.setBarWidth(0.7)
        self._series.append(list(self._bars.values()))
        self._series.hovered.connect(self._bar_hovered)
        self._chart.addSeries(self._series)
        self._ward_axis = QBarCategoryAxis()
        self._ward_axis.setLabelsFont(self.font())
        self._ward_axis.setGridLineVisible(False)
        self._count_axis = QValueAxis()
        self._count_axis.setLabelFormat("%d")
        self._count_axis.setLabelsFont(self.font())
        self._chart.addAxis(self._ward_axis, Qt.AlignmentFlag.AlignLeft)
        self._chart.addAxis(self._count_axis, Qt.AlignmentFlag.AlignBottom)
        self._series.attachAxis(self._ward_axis)
        self._series.attachAxis(self._count_axis)
        self._chart_view = ChartView(self._chart)
        self._chart_view.setRenderHint(QPainter.RenderHint.Antialiasing)
        self._chart_view.setAccessibleName("Chart of residents included and left to do in each ward")

        self._ward_model = WardTableModel(self)
        self._table = QTableView()
        self._table.setModel(self._ward_model)
        self._table.setAccessibleName("Residents included and left to do in each ward")
        self._table.setAccessibleDescription(
            "The figures of the ward chart: one row per ward; the five wards with most left to do in bold."
        )
        self._table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self._table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self._table.setTabKeyNavigation(False)
        self._table.setAlternatingRowColors(True)
        self._table.verticalHeader().setVisible(False)
        header = self._table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(WardTableModel.WARD, QHeaderView.ResizeMode.Stretch)

        self._views = QTabWidget()
        self._views.setAccessibleName("Ward figures as a chart or a table")
        self._views.tabBar().setAccessibleName("Show the ward figures as a chart or a table")
        self._views.addTab(self._chart_view, "&Chart")
        self._views.addTab(self._table, "&Table")
        self._views.setTabToolTip(0, "The wards as bars")
        self._views.setTabToolTip(1, "The same figures as a table, for reading or a screen reader")
        layout = QVBoxLayout(box)
        layout.addWidget(self._views, 1)
        return box

    def _build_month_figures(self) -> QVBoxLayout:
        self._lending_box = QGroupBox("Lending")
        self._support_box = QGroupBox("Support")
        captions = {
            "issued": "Loans issued",
            "returned": "Loans returned",
            **self._at_end_captions("at the end of the month"),
            "sessions": "Support sessions",
            "residents_helped": "Registered residents helped",
            "new_residents": "New residents registered",
            "volunteer_hours": "Volunteer hours",
        }
        for box, keys in ((self._lending_box, self.LENDING), (self._support_box, self.SUPPORT)):
            grid = QGridLayout(box)
            grid.setColumnStretch(0, 1)  # the words take the room, so they wrap only when text is large
            for row, key in enumerate(keys):
                value = QLabel(NOT_SHOWN)
                value.setTextFormat(Qt.TextFormat.PlainText)
                value.setAccessibleName(captions[key])
                value.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                caption = words_label(captions[key])
                grid.addWidget(caption, row, 0)
                grid.addWidget(value, row, 1)
                self._figures[key], self._captions[key] = value, caption
        note = words_label(
            "Each ward's bar is its estimated digitally excluded residents: included, then left to do. "
            'A count from 1 to 4 is shown as "fewer than 5" and draws no bar of its own; a dash marks a '
            "figure withheld because it would give such a count away."
        )
        column = QVBoxLayout()
        column.addWidget(self._lending_box)
        column.addWidget(self._support_box)
        column.addWidget(note)
        column.addStretch()
        return column

    # Read by the main window and the tests

    @property
    def month(self) -> date:
        """The first day of the month chosen."""
        return date.fromisoformat(self._month.currentData())

    @property
    def report(self) -> DashboardFigures | None:
        """The figures on screen."""
        return self._report

    @property
    def chart(self) -> QChart:
        return self._chart

    @property
    def chart_view(self) -> QChartView:
        return self._chart_view

    @property
    def ward_model(self) -> WardTableModel:
        return self._ward_model

    @property
    def status_text(self) -> str:
        return self._status.text()

    @property
    def headline_title(self) -> str:
        return self._headline_box.title()

    @property
    def rule_text(self) -> str:
        return self._rule.text()

    @property
    def notice_text(self) -> str:
        return self._notice.text()

    def figure_text(self, key: str) -> str:
        """One figure as shown, e.g. figure_text('newly_month') or figure_text('issued')."""
        return self._figures[key].text()

    def caption_text(self, key: str) -> str:
        """What a figure counts, e.g. caption_text('newly_month') or caption_text('open_at_end')."""
        return self._captions[key].text()

    def bar_values(self, name: str) -> list[float]:
        """The lengths of one part of the ward bars ('included', 'left', 'most_left'), top ward first."""
        bar_set = self._bars[name]
        return [bar_set.at(number) for number in reversed(range(bar_set.count()))]

    # Public actions

    def refresh(self) -> None:
        """Read the figures again: now if the page is on screen, else when it is next shown."""
        if self.isVisible():
            self._load()

    def show_month(self, month: date) -> None:
        """Choose the month that `month` falls in (if it is listed)."""
        row = self._month.findData(month.replace(day=1).isoformat())
        if row >= 0:
            self._month.setCurrentIndex(row)

    def previous_month(self) -> None:
        if self._month.currentIndex() < self._month.count() - 1:
            self._month.setCurrentIndex(self._month.currentIndex() + 1)

    def next_month(self) -> None:
        if self._month.currentIndex() > 0:
            self._month.setCurrentIndex(self._month.currentIndex() - 1)

    def print_report(self) -> Task | None:
        """Ask for the printer, then print the chosen month's report in the background."""
        document = self._report_document()
        printer = self._ask_printer(self, document.title)
        return self._printing.print_document(self, document, printer) if printer is not None else None

    def save_pdf(self) -> Task | None:
        """Ask where to save the chosen month's report, then save it as a PDF in the background."""
        document = self._report_document()
        suggested = str(Path.home() / document.file_name)
        path = self._ask_path(self, f"Save {document.title} as a PDF", suggested, "PDF files (*.pdf)")
        return self._printing.save_document(self, document, Path(path)) if path else None

    # Qt overrides

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self._fill_months()  # the month may have turned since the page was last shown
        self._load()

    # Reading and showing the figures

    def _today(self) -> date:
        return self._clock().astimezone().date()

    def _fill_months(self) -> None:
        """List the months up to this one, keeping the month chosen (this month at first)."""
        months = recent_months(self._today(), MONTHS_LISTED)
        if self._month.count() and self._month.itemData(0) == months[0].isoformat():
            return
        chosen = self._month.currentData()
        self._month.blockSignals(True)
        self._month.clear()
        for month in months:
            self._month.addItem(month_text(month), month.isoformat())
        self._month.setCurrentIndex(max(self._month.findData(chosen), 0))
        self._month.blockSignals(False)
        self._update_month_buttons()

    def _month_changed(self) -> None:
        self._update_month_buttons()
        self.refresh()

    def _update_month_buttons(self) -> None:
        self._previous.setEnabled(self._month.currentIndex() < self._month.count() - 1)
        self._next.setEnabled(self._month.currentIndex() > 0)

    def _load(self) -> None:
        """Read the chosen month's figures on a worker thread; the page shows them when they arrive."""
        self._asked += 1
        asked, month, reports = self._asked, self.month, self._services.reports
        self._status.setText(f"Reading the figures for {month_text(month)}…")
        self._tasks.start(
            lambda _progress: (asked, reports.dashboard(month)), self._loaded, self._load_failed
        )

    def _loaded(self, result: tuple[int, DashboardFigures]) -> None:
        asked, report = result
        if asked != self._asked:
            return  # a later month (or a later change) was asked for since
        self._report = report
        self._show_headline(report)
        self._show_wards(report)
        self._show_month_figures(report)
        as_at = report.produced_at.astimezone().strftime("%H:%M")
        so_far = " so far" if month_so_far(report.month, report.produced_at) else ""
        self._status.setText(f"{month_text(report.month)}{so_far}, as at {as_at}.")
        self.loaded.emit()

    def _load_failed(self, error: Exception) -> None:
        self._status.setText(problem_words(error))

    def _show_headline(self, report: DashboardFigures) -> None:
        headline, rate = report.headline, report.excluded_rate
        year_start = report.financial_year_start
        # The box's title names the month, so the captions stay short enough for large text.
        captions = {
            "included": f"Included since the start, {_at_end(report)}",
            "newly_month": "Newly included this month",
            "newly_year": f"Newly included this financial year, from {year_start.day} {year_start:%B %Y}",
            "no_longer_included": "No longer included: lost their device, connection or skills this month",
            "supported": "Supported since the start",
            "estimated_excluded": f"Estimated digitally excluded ({rate * 100:g}% of residents)",
            "progress": "Of the way to 100% digitally included",
        }
        figures = {
            "included": shown(headline.included),
            "newly_month": shown(headline.newly_included_month),
            "newly_year": shown(headline.newly_included_year),
            "no_longer_included": shown(headline.no_longer_included),
            "supported": shown(headline.supported),
            "estimated_excluded": shown(headline.estimated_excluded),
            "progress": percent_text(headline.percent_of_the_way),
        }
        for key in self.HEADLINE:
            self._captions[key].setText(captions[key])
            self._figures[key].setText(figures[key])
            self._figures[key].setAccessibleName(captions[key])
        self._headline_box.setTitle(f"{month_text(report.month)} at a glance")
        self._rule.setText(f"Who counts as digitally included: {report.rule}")

    def _show_wards(self, report: DashboardFigures) -> None:
        # Published with the row of residents with no ward, so that the wards shown and the headline
        # totals cannot give a withheld count away between them.
        wards = [row for row in published_wards(report.wards) if row.ward.code is not None]
        most_left = [ward.code for ward in report.wards_most_left_to_do(MOST_LEFT_TO_DO)]
        self._ward_model.set_wards(wards, set(most_left))
        self._chart_wards = list(reversed(wards))  # the chart draws its first category at the bottom
        bars = [ward_bars(row, row.ward.code in most_left) for row in self._chart_wards]
        for part, bar_set in enumerate(self._bars.values()):
            bar_set.remove(0, bar_set.count())
            bar_set.append([float(bar[part]) for bar in bars])
        self._ward_axis.clear()
        # Room for each ward's name (the chart shortens names to "..." that do not fit), the legend and
        # the axis; in the page's font, so it grows with larger text.
        lines = WARD_LINE * len(wards) + CHART_FURNITURE_LINES
        self._chart_view.setMinimumHeight(round(self.fontMetrics().lineSpacing() * lines))
        # Category labels are drawn as rich text: the five wards with most left to do are in bold.
        self._ward_axis.append(
            [
                f"<b>{row.ward.name}</b>" if row.ward.code in most_left else row.ward.name
                for row in self._chart_wards
            ]
        )
        self._count_axis.setRange(0, max([row.ward.estimated_excluded for row in wards] + [1]))
        self._count_axis.applyNiceNumbers()
        names = [ward.name for ward in report.wards_most_left_to_do(MOST_LEFT_TO_DO)]
        self._chart_view.setAccessibleDescription(
            f"A bar for each of the {len(wards)} wards: residents included, then left to do, of the "
            f"estimated digitally excluded. Most left to do, most first: {'; '.join(names)}. "
            "The Table tab has the same figures."
        )

    def _show_month_figures(self, report: DashboardFigures) -> None:
        month = month_text(report.month)
        self._lending_box.setTitle(f"Lending in {month}")
        self._support_box.setTitle(f"Support in {month}")
        figures = {
            "issued": shown(report.loans_issued),
            "returned": shown(report.loans_returned),
            "open_at_end": shown(report.loans_open_at_end),
            "overdue_at_end": shown(report.loans_overdue_at_end),
            "waiting_at_end": shown(report.waiting_at_end),
            "sessions": shown(report.sessions),
            "residents_helped": shown(report.residents_helped),
            "new_residents": shown(report.new_residents),
            "volunteer_hours": hours_text(report.volunteer_hours),
        }
        for key, text in figures.items():
            self._figures[key].setText(text)
        for key, caption in self._at_end_captions(_at_end(report)).items():
            self._captions[key].setText(caption)
            self._figures[key].setAccessibleName(caption)

    @staticmethod
    def _at_end_captions(at_end: str) -> dict[str, str]:
        """The captions of the lending figures counted at the end of the month (or on the day so far)."""
        return {
            "open_at_end": f"Loans open {at_end}",
            "overdue_at_end": f"Loans overdue {at_end}",
            "waiting_at_end": f"Residents on the waiting list {at_end}",
        }

    def _bar_hovered(self, status: bool, index: int, _bar_set: QBarSet) -> None:
        if status and 0 <= index < len(self._chart_wards):
            QToolTip.showText(QCursor.pos(), ward_words(self._chart_wards[index]), self._chart_view)
        else:
            QToolTip.hideText()

    # Printing

    def _report_document(self) -> Printable:
        """The chosen month's report, its figures read afresh when it is made (on a worker thread)."""
        month, reports = self.month, self._services.reports

        def write(out: Path) -> None:
            reports.save_monthly(month, out)

        return Printable(
            f"the monthly report for {month_text(month)}", f"monthly-report-{month:%Y-%m}.pdf", write
        )

    def _set_notice(self, text: str) -> None:
        self._notice.setText(text)
        self.notice.emit(text)
