"""The Loans screen: its model pages loans in blocks and passes Qt's checks; the views, days overdue in
words, the SIM warning, Enter opening a loan at the Desk, accessible names and Tab order."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from typing import TYPE_CHECKING

import pytest
from PySide6.QtCore import QModelIndex, Qt
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QAbstractSpinBox,
    QApplication,
    QComboBox,
    QLabel,
    QLineEdit,
    QWidget,
)
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot

from digiknow_desk.app import Services
from digiknow_desk.domain.devices import DeviceDraft, DeviceType
from digiknow_desk.domain.loans import DataPlan, Loan
from digiknow_desk.domain.residents import Resident, ResidentDraft
from digiknow_desk.ui.loan_table_model import LoanTableModel, LoanView, day_text, overdue_words
from digiknow_desk.ui.loans_page import LoansPage
from digiknow_desk.ui.tasks import TaskRunner

if TYPE_CHECKING:
    from tests.conftest import FakeClock


@pytest.fixture
def tasks() -> Iterator[TaskRunner]:
    runner = TaskRunner()
    yield runner
    runner.shutdown()


def today(services: Services) -> date:
    return services.lending.today()


def resident(services: Services, name: str, phone: str = "", email: str = "") -> Resident:
    return services.residents.add(ResidentDraft(name=name, phone=phone, email=email), duplicate_checked=True)


def lend(
    services: Services,
    count: int,
    *,
    device_type: DeviceType = DeviceType.TABLET,
    due_in: list[int] | None = None,
    first: int = 1,
) -> list[Loan]:
    """`count` devices lent to as many residents, due in `due_in[n]` days (default 28)."""
    loans = []
    for n in range(count):
        tag = f"{device_type.tag_prefix}-{first + n:04d}"
        services.inventory.add(DeviceDraft(tag=tag, device_type=device_type, make="Lenovo", model="Tab M10"))
        person = resident(services, f"Resident {first + n}", phone=f"07700 900{first + n:03d}")
        due = today(services) + timedelta(days=due_in[n]) if due_in else None
        loans.append(services.lending.issue(tag, person.reference, due_on=due))
    return loans


def make_page(services: Services, tasks: TaskRunner, qtbot: QtBot) -> LoansPage:
    page = LoansPage(services, tasks)
    qtbot.addWidget(page)
    page.resize(1280, 700)
    return page


def column(model: LoanTableModel, col: int) -> list[str]:
    return [model.data(model.index(row, col)) for row in range(model.rowCount())]


# The model


def test_model_passes_qt_checks_while_paging(services: Services, qtmodeltester: ModelTester) -> None:
    lend(services, 25, due_in=[(n * 7) % 30 for n in range(25)])
    model = LoanTableModel(services.lending, block_size=10)
    model.set_view(LoanView.OPEN)
    assert (model.rowCount(), model.total) == (10, 25)
    assert model.canFetchMore(QModelIndex())

    qtmodeltester.check(model)
    model.fetchMore(QModelIndex())
    qtmodeltester.check(model)
    while model.canFetchMore(QModelIndex()):
        model.fetchMore(QModelIndex())

    assert model.rowCount() == 25
    loans = [model.loan(row) for row in range(25)]
    assert all(loan is not None for loan in loans)
    keys = [(loan.due_on, loan.id) for loan in loans if loan is not None]
    assert keys == sorted(keys)  # soonest due first
    assert len(set(keys)) == 25  # blocks neither overlap nor skip
    assert model.columnCount() == len(LoanTableModel.HEADERS) == 9


def test_blocks_scrolled_away_are_read_again_and_never_all_kept(
    services: Services, qtmodeltester: ModelTester
) -> None:
    loans = lend(services, 23, due_in=list(range(23)))
    model = LoanTableModel(services.lending, block_size=5, cached_blocks=2)
    model.set_view(LoanView.OPEN)
    while model.canFetchMore(QModelIndex()):
        model.fetchMore(QModelIndex())

    assert model.rowCount() == 23
    assert model.blocks_in_memory == 2  # of five: the rest are read again when shown
    shown = [model.data(model.index(row, LoanTableModel.TAG)) for row in range(23)]
    assert shown == [loan.device_tag for loan in loans]
    assert model.blocks_in_memory == 2
    qtmodeltester.check(model)  # reading every row again, two blocks at a time, stays consistent
    record = model.data(model.index(0, LoanTableModel.NAME), LoanTableModel.RECORD_ROLE)
    assert isinstance(record, Loan) and record.id == loans[0].id


def test_cells_show_the_loan_in_words(services: Services, clock: FakeClock) -> None:
    services.inventory.add(DeviceDraft(tag="TAB-0042", device_type=DeviceType.TABLET, make="Lenovo"))
    mary = resident(services, "Mary Smith", email="mary@example.org")
    loan = services.lending.issue("TAB-0042", mary.reference)
    services.lending.renew("TAB-0042")
    model = LoanTableModel(services.lending)
    model.set_view(LoanView.OPEN)

    cells = [model.data(model.index(0, col)) for col in range(model.columnCount())]

    due = services.lending.open_loan("TAB-0042")
    assert due is not None
    assert cells == [
        "TAB-0042",
        "Tablet",
        mary.reference,
        "Mary Smith",
        "mary@example.org",
        loan.issued_at.astimezone().strftime("%d %b %Y").lstrip("0"),
        due.due_on.strftime("%d %b %Y").lstrip("0"),
        "Due in 56 days",
        "1 of 2",
    ]
    spoken = model.data(model.index(0, LoanTableModel.REFERENCE), Qt.ItemDataRole.AccessibleTextRole)
    assert spoken == f"Resident {mary.reference}"


def test_days_overdue_are_words_not_only_emphasis(services: Services) -> None:
    [loan] = lend(services, 1, due_in=[0])
    day = loan.due_on
    assert overdue_words(loan, day) == "Due today"
    assert overdue_words(loan, day - timedelta(days=1)) == "Due in 1 day"
    assert overdue_words(loan, day + timedelta(days=1)) == "1 day overdue"
    assert overdue_words(loan, day + timedelta(days=12)) == "12 days overdue"
    returned = services.lending.return_device(loan.device_tag)
    assert overdue_words(returned, day + timedelta(days=12)).startswith("Returned ")


# The page


def test_the_views_list_open_overdue_and_due_this_week(
    services: Services, tasks: TaskRunner, qtbot: QtBot, clock: FakeClock
) -> None:
    lend(services, 7, due_in=[10, 3, 0, 6, 30, 7, 20])
    clock.now += timedelta(days=5)  # now due in 5, -2, -5, 1, 25, 2 and 15 days
    page = make_page(services, tasks, qtbot)
    assert page.view() is LoanView.OPEN
    assert page.count_text == "7 open loans, soonest due first"
    assert page.model.total == 7

    page.view_filter.setCurrentIndex(page.view_filter.findData(LoanView.OVERDUE))
    assert page.count_text == "2 overdue loans, most overdue first"
    assert column(page.model, LoanTableModel.TAG) == ["TAB-0003", "TAB-0002"]

    page.set_view(LoanView.DUE_THIS_WEEK)
    assert page.view_filter.currentText() == "Due this week"
    assert page.count_text == "3 loans due this week"
    assert column(page.model, LoanTableModel.TAG) == ["TAB-0004", "TAB-0006", "TAB-0001"]
    assert column(page.model, LoanTableModel.OVERDUE) == ["Due in 1 day", "Due in 2 days", "Due in 5 days"]


def test_the_overdue_list_shows_days_overdue_and_how_to_contact(
    services: Services, tasks: TaskRunner, qtbot: QtBot, clock: FakeClock
) -> None:
    lend(services, 3, due_in=[28, 2, 10])
    page = make_page(services, tasks, qtbot)
    page.set_view(LoanView.OVERDUE)
    assert page.count_text == "No overdue loans"

    clock.now += timedelta(days=12)
    page.refresh()

    assert page.count_text == "2 overdue loans, most overdue first"
    assert column(page.model, LoanTableModel.OVERDUE) == ["10 days overdue", "2 days overdue"]
    assert column(page.model, LoanTableModel.TAG) == ["TAB-0002", "TAB-0003"]
    assert column(page.model, LoanTableModel.CONTACT) == ["07700 900002", "07700 900003"]
    bold = page.model.data(page.model.index(0, LoanTableModel.OVERDUE), Qt.ItemDataRole.FontRole)
    assert bold is not None and bold.bold()

    page.set_view(LoanView.OPEN)
    assert column(page.model, LoanTableModel.OVERDUE) == [
        "10 days overdue",
        "2 days overdue",
        "Due in 16 days",
    ]


def test_all_loans_lists_returned_loans_newest_first(
    services: Services, tasks: TaskRunner, qtbot: QtBot, clock: FakeClock
) -> None:
    for number in (1, 2, 3):
        lend(services, 1, first=number)
        clock.now += timedelta(hours=1)
    services.lending.return_device("TAB-0001")
    page = make_page(services, tasks, qtbot)

    page.set_view(LoanView.ALL)

    assert page.count_text == "3 loans, newest first"
    assert column(page.model, LoanTableModel.TAG) == ["TAB-0003", "TAB-0002", "TAB-0001"]
    assert column(page.model, LoanTableModel.OVERDUE)[2].startswith("Returned ")
    page.set_view(LoanView.OPEN)
    assert page.model.total == 2


def test_the_sim_warning_names_sims_on_loan_about_to_expire(
    services: Services, tasks: TaskRunner, qtbot: QtBot, clock: FakeClock
) -> None:
    day = today(services)
    first, _second = lend(services, 2, device_type=DeviceType.DATA_SIM)
    expiry = day + timedelta(days=10)
    services.lending.set_data_plan(
        "SIM-0001", DataPlan("Vodafone", "National Databank", "20 GB", day, expiry)
    )
    services.lending.set_data_plan(
        "SIM-0002", DataPlan("O2", "National Databank", "20 GB", day, day + timedelta(days=40))
    )
    page = make_page(services, tasks, qtbot)
    page.show()

    who = f"SIM-0001 on Vodafone with {first.resident_reference} Resident 1 (07700 900001)"
    assert page.sims_text.splitlines() == [
        "1 SIM on loan expires within 14 days: ask the resident to come in for a new one.",
        f"{who}: expires {day_text(expiry)}, in 10 days",
    ]
    banner = page.findChild(QLabel, "sims-expiring")
    assert banner is not None and banner.isVisible()
    assert banner.accessibleDescription() == page.sims_text

    clock.now += timedelta(days=12)
    page.refresh()
    assert page.sims_text.splitlines() == [
        "1 SIM on loan expires within 14 days or already expired: ask the resident to come in for a new one.",
        f"{who}: expired {day_text(expiry)}, 2 days ago",
    ]

    services.lending.return_device("SIM-0001")
    page.refresh()
    assert page.sims_text == ""
    assert not banner.isVisible()


def test_enter_or_the_button_opens_the_loan_at_the_desk(
    services: Services, tasks: TaskRunner, qtbot: QtBot
) -> None:
    lend(services, 3, due_in=[1, 2, 3])
    page = make_page(services, tasks, qtbot)
    page.show()
    page.table.setFocus()
    page.table.selectRow(1)

    with qtbot.waitSignal(page.loan_activated, timeout=1000) as opened:
        qtbot.keyClick(page.table, Qt.Key.Key_Return)
    assert opened.args == ["TAB-0002"]

    button = next(b for b in page.findChildren(QAbstractButton) if b.accessibleName() == "Open at the Desk")
    with qtbot.waitSignal(page.loan_activated, timeout=1000) as opened:
        button.click()
    assert opened.args == ["TAB-0002"]


def test_refresh_keeps_the_selected_loan(services: Services, tasks: TaskRunner, qtbot: QtBot) -> None:
    lend(services, 4, due_in=[1, 2, 3, 4])
    page = make_page(services, tasks, qtbot)
    page.table.selectRow(2)
    services.lending.return_device("TAB-0001")

    page.refresh()

    loan = page.current_loan()
    assert loan is not None and loan.device_tag == "TAB-0003"
    assert page.count_text == "3 open loans, soonest due first"


# Accessibility

INTERACTIVE = (QAbstractButton, QLineEdit, QComboBox, QAbstractItemView, QAbstractSpinBox)


def controls(root: QWidget) -> list[QWidget]:
    """The interactive widgets under `root`, leaving out the parts of one (a table's header, say)."""
    found: list[QWidget] = []
    for widget in root.findChildren(QWidget):
        if not isinstance(widget, INTERACTIVE):
            continue
        parent = widget.parentWidget()
        while parent is not None and parent is not root and not isinstance(parent, INTERACTIVE):
            parent = parent.parentWidget()
        if parent is root:
            found.append(widget)
    return found


def unnamed_controls(root: QWidget) -> list[str]:
    """Controls with neither an accessible name nor a label pointing at them."""
    buddies = {id(label.buddy()) for label in root.findChildren(QLabel) if label.buddy() is not None}
    return [
        f"{type(widget).__name__} {widget.objectName()!r}"
        for widget in controls(root)
        if not widget.accessibleName().strip() and id(widget) not in buddies
    ]


def tab_stops(page: QWidget, first: QWidget, qtbot: QtBot) -> list[QWidget]:
    """The widgets Tab visits from `first` until it comes round to `first` again."""
    with qtbot.waitActive(page):
        page.show()
        page.activateWindow()
    first.setFocus(Qt.FocusReason.TabFocusReason)
    seen: list[QWidget] = []
    for _ in range(40):
        widget = QApplication.focusWidget()
        assert widget is not None
        if widget in seen:
            break
        seen.append(widget)
        qtbot.keyClick(widget, Qt.Key.Key_Tab)
    assert seen[0] is first and QApplication.focusWidget() is first  # Tab went all the way round
    return seen


def test_every_control_is_named_and_reached_by_tab(
    services: Services, tasks: TaskRunner, qtbot: QtBot
) -> None:
    lend(services, 2)
    page = make_page(services, tasks, qtbot)
    page.table.selectRow(0)

    assert unnamed_controls(page) == []
    assert "Loans" in page.table.accessibleName()
    shown = [widget for widget in controls(page) if widget.isVisibleTo(page)]
    assert len(shown) == 4  # the view, the table, Open at the Desk, Refresh

    stops = tab_stops(page, page.view_filter, qtbot)

    assert [widget.accessibleName() for widget in stops] == [
        "Show loans",
        "Loans",
        "Open at the Desk",
        "Refresh loans",
    ]
    assert set(shown) == set(stops)
