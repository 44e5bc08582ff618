"""Table models for residents: residents paged from the database as staff search, and one resident's loans."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, QPersistentModelIndex, Qt

from digiknow_desk.domain.loans import Loan, LoanOutcome
from digiknow_desk.domain.residents import Resident
from digiknow_desk.services.residents import PAGE_SIZE, ResidentService
from digiknow_desk.ui.paged_model import RECORD_ROLE, PagedTableModel

_Index = QModelIndex | QPersistentModelIndex


def day_text(day: date | datetime, today: date | None = None) -> str:
    """A date as staff say it: 'Thu 24 Dec', with the year when it is not this year's."""
    if isinstance(day, datetime):
        day = (day.astimezone() if day.tzinfo is not None else day).date()
    text = f"{day:%a} {day.day} {day:%b}"
    return text if today is not None and day.year == today.year else f"{text} {day.year}"


def long_day_text(day: date, today: date | None = None) -> str:
    """A date in full for confirmations: 'Thursday 24 December' (with the year when not this year's)."""
    text = f"{day:%A} {day.day} {day:%B}"
    return text if today is not None and day.year == today.year else f"{text} {day.year}"


class ResidentTableModel(PagedTableModel[Resident, str]):
    """The residents whose details hold every word searched for, by name, fetched a page at a time."""

    REFERENCE, NAME, POSTCODE, WARD, PHONE, AGE_BAND = range(6)
    HEADERS = ("Reference", "Name", "Postcode", "Ward", "Phone", "Age band")
    # 'S' matches every resident with an SK postcode: counting them all costs more than it tells.
    COUNT_LIMIT = 1_000

    def __init__(
        self, residents: ResidentService, page_size: int = PAGE_SIZE, parent: QObject | None = None
    ) -> None:
        super().__init__("", page_size, parent)
        self._residents = residents

    @property
    def search_text(self) -> str:
        return self._query

    def set_search(self, text: str) -> None:
        """Show the residents matching `text`, loading only the first page."""
        self._load(text.strip(), self._page_size)

    def resident(self, row: int) -> Resident:
        return self.record(row)

    def _search(self, query: str, limit: int, offset: int) -> list[Resident]:
        return self._residents.search(query, limit=limit, offset=offset)

    def _count(self, query: str, at_most: int | None) -> int:
        return self._residents.count(query, at_most=at_most)

    def _key(self, record: Resident) -> str:
        return record.reference

    def _cell(self, resident: Resident, column: int) -> str:
        if column == self.REFERENCE:
            return resident.reference
        if column == self.NAME:
            return resident.name
        if column == self.POSTCODE:
            return resident.postcode
        if column == self.WARD:
            return resident.ward_name
        if column == self.PHONE:
            return resident.phone
        if column == self.AGE_BAND:
            return resident.age_band.label
        return ""


def loan_state(loan: Loan, today: date) -> str:
    """Where a loan stands, in words: 'Overdue by 3 days', 'Due Thu 24 Dec', 'Returned Mon 2 Feb'."""
    if loan.is_open:
        late = loan.days_overdue(today)
        if late:
            return f"Overdue by {late} day{'s' if late != 1 else ''}"
        return f"Due {day_text(loan.due_on, today)}"
    closed = day_text(loan.closed_at, today) if loan.closed_at else ""
    if loan.outcome in (LoanOutcome.LOST, LoanOutcome.STOLEN):
        return f"{loan.outcome.label} {closed}".strip()
    return f"Returned {closed}".strip()


class ResidentLoansTableModel(QAbstractTableModel):
    """One resident's loans, newest first (open and past): device, issued, due, and where it stands."""

    TAG, DEVICE, ISSUED, DUE, STATE = range(5)
    HEADERS = ("Tag", "Device", "Issued", "Due", "Status")
    RECORD_ROLE = RECORD_ROLE

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._loans: list[Loan] = []
        self._today = date.today()

    def set_loans(self, loans: list[Loan], today: date) -> None:
        self.beginResetModel()
        self._loans = list(loans)
        self._today = today
        self.endResetModel()

    def loan(self, row: int) -> Loan:
        return self._loans[row]

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008  (Qt's own default)
        return 0 if parent.isValid() else len(self._loans)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.HEADERS)

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._loans):
            return None
        loan = self._loans[index.row()]
        if role == RECORD_ROLE:
            return loan
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.AccessibleTextRole):
            return self._cell(loan, index.column())
        if role == Qt.ItemDataRole.ToolTipRole and index.column() == self.STATE and loan.fault:
            return loan.fault
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

    def _cell(self, loan: Loan, column: int) -> str:
        if column == self.TAG:
            return loan.device_tag
        if column == self.DEVICE:
            return ", ".join(part for part in (loan.device_type.label, loan.device_description) if part)
        if column == self.ISSUED:
            return day_text(loan.issued_at, self._today)
        if column == self.DUE:
            return day_text(loan.due_on, self._today)
        if column == self.STATE:
            return loan_state(loan, self._today)
        return ""
