"""The Loans screen: open, overdue and due-this-week loans with how to reach each resident, and the SIMs
on loan that are about to run out."""

from __future__ import annotations

import html
from datetime import date

from PySide6.QtCore import QItemSelectionModel, QModelIndex, Qt, Signal
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import (
    QComboBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from digiknow_desk.app import Services
from digiknow_desk.domain.loans import DataPlan, Loan
from digiknow_desk.ui.loan_table_model import LoanTableModel, LoanView, day_text, loans_text
from digiknow_desk.ui.tasks import TaskRunner
from digiknow_desk.ui.widgets import action_button, make_list_table, page_action, size_columns

SIMS_LISTED = 5  # the banner names this many SIMs, then says how many more


def sim_line(loan: Loan, plan: DataPlan, today: date) -> str:
    """One SIM in the warning, e.g. 'SIM-0003 with R00012 Jane Doe (07700 900123): expires 20 Mar 2026,
    in 6 days'."""
    assert plan.expires_on is not None
    days = (plan.expires_on - today).days
    if days > 0:
        when = f"expires {day_text(plan.expires_on)}, in {days} day{'s' if days != 1 else ''}"
    elif days == 0:
        when = "expires today"
    else:
        when = f"expired {day_text(plan.expires_on)}, {-days} day{'s' if days != -1 else ''} ago"
    contact = f" ({loan.resident_contact})" if loan.resident_contact else ""
    network = f" on {plan.network}" if plan.network else ""
    return f"{loan.device_tag}{network} with {loan.resident_reference} {loan.resident_name}{contact}: {when}"


class LoansPage(QWidget):
    """The loans of one view (open, overdue, due this week, or all), a block at a time; Enter on a loan
    asks the main window to open its device on the Desk."""

    loan_activated = Signal(str)  # the device tag of the loan chosen with Enter or a double-click

    def __init__(self, services: Services, tasks: TaskRunner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._services = services
        self._tasks = tasks  # for slow work on this page (none yet: each read is one quick query)

        self._view = QComboBox()
        self._view.setAccessibleName("Show loans")
        for view in LoanView:
            self._view.addItem(view.label, view)
        self._view.currentIndexChanged.connect(lambda _row: self.set_view(self.view()))
        self._count = QLabel()
        self._count.setAccessibleName("Loans listed")
        self._count.setTextFormat(Qt.TextFormat.PlainText)

        self._sims_plain = ""
        self._sims = QLabel()
        self._sims.setObjectName("sims-expiring")
        self._sims.setAccessibleName("SIMs on loan about to expire")
        self._sims.setWordWrap(True)
        self._sims.setTextFormat(Qt.TextFormat.RichText)
        self._sims.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self._sims_frame = QFrame()
        self._sims_frame.setFrameShape(QFrame.Shape.StyledPanel)
        sims_layout = QVBoxLayout(self._sims_frame)
        sims_layout.addWidget(self._sims)

        self._model = LoanTableModel(services.lending, parent=self)
        self._table = QTableView()
        self._table.setObjectName("loans-table")
        self._table.setModel(self._model)
        self._table.setAccessibleName("Loans")
        self._table.setAccessibleDescription(
            "One row per loan: device, resident, how to contact them, dates and days overdue. "
            "Press Enter to open the loan at the Desk."
        )
        make_list_table(self._table)
        self._table.setTabKeyNavigation(False)  # Tab leaves the table, as keyboard users expect
        self._size_columns()
        self._table.activated.connect(self._activated)
        selection = self._table.selectionModel()
        selection.currentRowChanged.connect(lambda *_: self._update_actions())
        selection.selectionChanged.connect(lambda *_: self._update_actions())

        self._open_action = page_action(self, "Open at the Desk", None, self.open_current)
        self._refresh_action = page_action(
            self, "Refresh loans", QKeySequence.StandardKey.Refresh, self.refresh
        )
        self._open_button = action_button("&Open at the Desk", self._open_action)
        self._refresh_button = action_button("&Refresh", self._refresh_action)

        view_label = QLabel("Sho&w:")
        view_label.setBuddy(self._view)
        top = QHBoxLayout()
        top.addWidget(view_label)
        top.addWidget(self._view)
        top.addSpacing(self.fontMetrics().averageCharWidth() * 2)
        top.addWidget(self._count, 1)
        top.addWidget(self._open_button)
        top.addWidget(self._refresh_button)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self._sims_frame)
        layout.addWidget(self._table, 1)
        self.setTabOrder(self._view, self._table)
        self.setTabOrder(self._table, self._open_button)
        self.setTabOrder(self._open_button, self._refresh_button)

        self.refresh()

    # Read by the main window and the tests

    @property
    def model(self) -> LoanTableModel:
        return self._model

    @property
    def table(self) -> QTableView:
        return self._table

    @property
    def view_filter(self) -> QComboBox:
        return self._view

    @property
    def count_text(self) -> str:
        return self._count.text()

    @property
    def sims_text(self) -> str:
        """The SIM warning as plain text; empty when no SIM on loan is about to expire."""
        return self._sims_plain

    def view(self) -> LoanView:
        view: LoanView = self._view.currentData()
        return view

    def current_loan(self) -> Loan | None:
        index = self._table.currentIndex()
        if not index.isValid() or not self._table.selectionModel().isRowSelected(index.row(), QModelIndex()):
            return None
        return self._model.loan(index.row())

    # Public actions

    def set_view(self, view: LoanView) -> None:
        """Show the loans of `view` (the combo follows), from the top."""
        if self.view() is not view:
            self._view.blockSignals(True)
            self._view.setCurrentIndex(self._view.findData(view))
            self._view.blockSignals(False)
        self._model.set_view(view)
        self._count.setText(loans_text(view, self._model.total))
        self._update_actions()

    def refresh(self) -> None:
        """Read the loans and the SIM warning again (after a change at the Desk, or a new day)."""
        keep = self.current_loan()
        self._model.refresh()
        self._count.setText(loans_text(self._model.view, self._model.total))
        if keep is not None and (row := self._model.row_of(keep.id)) is not None:
            self._select_row(row)
        self._show_sims()
        self._update_actions()

    def open_current(self) -> None:
        """Ask for the selected loan's device to be opened at the Desk."""
        loan = self.current_loan()
        if loan is not None:
            self.loan_activated.emit(loan.device_tag)

    # Helpers

    def _activated(self, index: QModelIndex) -> None:
        loan = self._model.loan(index.row())
        if loan is not None:
            self.loan_activated.emit(loan.device_tag)

    def _show_sims(self) -> None:
        expiring = self._services.lending.sims_expiring()
        self._sims_frame.setVisible(bool(expiring))
        if not expiring:
            self._sims.clear()
            self._sims_plain = ""
            return
        today = self._model.today
        days = self._services.lending.rules().sim_warning_days
        count = len(expiring)
        expired = any(plan.expires_on is not None and plan.expires_on < today for _loan, plan in expiring)
        heading = (
            f"{count} SIM{'s' if count != 1 else ''} on loan "
            + ("expire" if count != 1 else "expires")
            + f" within {days} days"
            + (" or already expired" if expired else "")
            + ": ask the resident to come in for a new one."
        )
        lines = [sim_line(loan, plan, today) for loan, plan in expiring[:SIMS_LISTED]]
        if count > SIMS_LISTED:
            lines.append(f"…and {count - SIMS_LISTED} more.")
        self._sims_plain = "\n".join([heading, *lines])
        self._sims.setText(
            f"<b>{html.escape(heading)}</b>" + "".join(f"<br>{html.escape(line)}" for line in lines)
        )
        self._sims.setAccessibleDescription(self._sims_plain)

    def _select_row(self, row: int) -> None:
        index = self._model.index(row, LoanTableModel.TAG)
        self._table.selectionModel().setCurrentIndex(
            index,
            QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows,
        )
        self._table.scrollTo(index)

    def _update_actions(self) -> None:
        has_loan = self.current_loan() is not None
        self._open_action.setEnabled(has_loan)
        self._open_button.setEnabled(has_loan)

    def _size_columns(self) -> None:
        samples = {
            LoanTableModel.TAG: "TAB-0000",
            LoanTableModel.TYPE: "MiFi / dongle",
            LoanTableModel.REFERENCE: "R000000",
            LoanTableModel.NAME: "Firstname Lastname-Long",
            LoanTableModel.ISSUED: "30 Sep 2026",
            LoanTableModel.DUE: "30 Sep 2026",
            LoanTableModel.OVERDUE: "Returned 30 Sep 2026",
            LoanTableModel.RENEWALS: "Renewals",
        }
        size_columns(self._table, samples, LoanTableModel.CONTACT)
