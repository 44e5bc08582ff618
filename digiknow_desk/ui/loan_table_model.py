"""The Loans table model: open, overdue, due-this-week or all loans, read a block at a time."""

from __future__ import annotations

import uuid
from collections import OrderedDict
from datetime import date, timedelta
from enum import Enum
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, QPersistentModelIndex, Qt
from PySide6.QtGui import QFont

from digiknow_desk.domain.loans import Loan, LoanOutcome
from digiknow_desk.services.lending import PAGE_SIZE, LendingService
from digiknow_desk.ui.paged_model import RECORD_ROLE

_Index = QModelIndex | QPersistentModelIndex

# Blocks kept in memory at once. A block that scrolled away is read again when it comes back into
# view, so scrolling through 500,000 loans holds a few thousand, never all of them.
CACHED_BLOCKS = 30
# A refresh reads again the blocks loaded so far when they are few (the list stays where it was);
# after a longer scroll it starts again from the top rather than read thousands of rows.
REFRESH_BLOCKS = 10
DUE_SOON_DAYS = 7  # "due this week": today and the six days after


class LoanView(Enum):
    """Which loans the Loans screen lists."""

    OPEN = "open"
    OVERDUE = "overdue"
    DUE_THIS_WEEK = "due_this_week"
    ALL = "all"

    @property
    def label(self) -> str:
        return {
            LoanView.OPEN: "Open loans",
            LoanView.OVERDUE: "Overdue loans",
            LoanView.DUE_THIS_WEEK: "Due this week",
            LoanView.ALL: "All loans (returned too)",
        }[self]

    def filters(self, today: date) -> dict[str, Any]:
        """The arguments of LendingService.loan_block and count_loans that list this view's loans."""
        if self is LoanView.OVERDUE:
            return {"due_by": today - timedelta(days=1)}
        if self is LoanView.DUE_THIS_WEEK:
            return {"due_from": today, "due_by": today + timedelta(days=DUE_SOON_DAYS - 1)}
        if self is LoanView.ALL:
            return {"include_returned": True}
        return {}


def day_text(day: date) -> str:
    """A date as staff read it: '4 Mar 2026'."""
    return day.strftime("%d %b %Y").lstrip("0")


def overdue_words(loan: Loan, today: date) -> str:
    """Where the loan stands, in words, e.g. '12 days overdue', 'Due today', 'Returned 4 Mar 2026'."""
    if not loan.is_open:
        assert loan.closed_at is not None
        outcome = loan.outcome or LoanOutcome.RETURNED
        return f"{outcome.label} {day_text(loan.closed_at.astimezone().date())}"
    late = loan.days_overdue(today)
    if late:
        return f"{late} day{'s' if late != 1 else ''} overdue"
    ahead = (loan.due_on - today).days
    if ahead == 0:
        return "Due today"
    return f"Due in {ahead} day{'s' if ahead != 1 else ''}"


def loans_text(view: LoanView, count: int) -> str:
    """The count above the table, e.g. '3 overdue loans, most overdue first'."""
    plural = "s" if count != 1 else ""
    if view is LoanView.OVERDUE:
        return "No overdue loans" if count == 0 else f"{count:,} overdue loan{plural}, most overdue first"
    if view is LoanView.DUE_THIS_WEEK:
        return "No loans due this week" if count == 0 else f"{count:,} loan{plural} due this week"
    if view is LoanView.ALL:
        return "No loans yet" if count == 0 else f"{count:,} loan{plural}, newest first"
    return "No open loans" if count == 0 else f"{count:,} open loan{plural}, soonest due first"


class LoanTableModel(QAbstractTableModel):
    """The loans of one LoanView. Rows arrive a block at a time as the table scrolls (canFetchMore /
    fetchMore); only the last few blocks shown are kept, each read again by its keyset when needed."""

    TAG, TYPE, REFERENCE, NAME, CONTACT, ISSUED, DUE, OVERDUE, RENEWALS = range(9)
    HEADERS = (
        "Tag",
        "Type",
        "Resident",
        "Name",
        "Contact",
        "Issued",
        "Due",
        "Days overdue",
        "Renewals",
    )
    RECORD_ROLE = RECORD_ROLE

    def __init__(
        self,
        lending: LendingService,
        block_size: int = PAGE_SIZE,
        cached_blocks: int = CACHED_BLOCKS,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._lending = lending
        self._block_size = block_size
        self._cached_blocks = max(2, cached_blocks)
        self._view = LoanView.OPEN
        self._today = date.min
        self._renewal_limit = 0
        self._total = 0
        self._loaded = 0  # rows the table knows of (the blocks fetched so far)
        self._block_ends: list[Loan] = []  # the last loan of each fetched block: the next block's key
        self._blocks: OrderedDict[int, list[Loan]] = OrderedDict()  # the blocks in memory, least used first
        self._bold = QFont()
        self._bold.setBold(True)

    # What the page asks

    @property
    def view(self) -> LoanView:
        return self._view

    @property
    def today(self) -> date:
        """The date days overdue were counted from (the service's today when last read)."""
        return self._today

    @property
    def total(self) -> int:
        """How many loans the view has (loaded or not)."""
        return self._total

    @property
    def blocks_in_memory(self) -> int:
        return len(self._blocks)

    def set_view(self, view: LoanView) -> None:
        """List the loans of `view`, reading only the first block."""
        self._reload(view, 1)

    def refresh(self) -> None:
        """Read the view again (today may have changed), keeping as many blocks loaded as before when
        that is a few; after a long scroll, start again from the top."""
        blocks = len(self._block_ends)
        self._reload(self._view, blocks if 1 <= blocks <= REFRESH_BLOCKS else 1)

    def loan(self, row: int) -> Loan | None:
        """The loan shown in `row`, reading its block again if it had scrolled out of memory."""
        if not 0 <= row < self._loaded:
            return None
        block = self._block(row // self._block_size)
        offset = row % self._block_size
        return block[offset] if offset < len(block) else None

    def row_of(self, loan_id: uuid.UUID) -> int | None:
        """The row of the loan with `loan_id` among the blocks in memory, or None."""
        for number, block in self._blocks.items():
            for offset, loan in enumerate(block):
                if loan.id == loan_id:
                    return number * self._block_size + offset
        return None

    # Qt's model interface

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008  (Qt's own default)
        return 0 if parent.isValid() else self._loaded

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.HEADERS)

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        loan = self.loan(index.row())
        if loan is None:
            return None
        column = index.column()
        if role == RECORD_ROLE:
            return loan
        if role == Qt.ItemDataRole.DisplayRole:
            return self._text(loan, column)
        if role == Qt.ItemDataRole.AccessibleTextRole:
            if column == self.REFERENCE:
                return f"Resident {loan.resident_reference}"
            if column == self.RENEWALS:
                return f"Renewals: {self._text(loan, column)}"
            return self._text(loan, column)
        if role == Qt.ItemDataRole.ToolTipRole:
            if column == self.TAG and loan.device_description:
                return f"{loan.device_tag}: {loan.device_description}"
            if column == self.OVERDUE:
                return f"Due {day_text(loan.due_on)}: {overdue_words(loan, self._today).lower()}"
        if role == Qt.ItemDataRole.FontRole and column == self.OVERDUE and loan.days_overdue(self._today):
            return self._bold  # emphasis only: the words say it is overdue
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

    def canFetchMore(self, parent: _Index) -> bool:
        return not parent.isValid() and self._loaded < self._total

    def fetchMore(self, parent: _Index) -> None:
        if not self.canFetchMore(parent):
            return
        after = self._block_ends[-1] if self._block_ends else None
        more = self._read(after)
        if not more:  # loans closed since the count; stop asking
            self._total = self._loaded
            return
        number = len(self._block_ends)
        self.beginInsertRows(QModelIndex(), self._loaded, self._loaded + len(more) - 1)
        self._remember(number, more)
        self._block_ends.append(more[-1])
        self._loaded += len(more)
        self.endInsertRows()
        if len(more) < self._block_size:  # the last block: nothing follows it
            self._total = self._loaded

    # Helpers

    def _reload(self, view: LoanView, blocks: int) -> None:
        today = self._lending.today()
        filters = view.filters(today)
        total = self._lending.count_loans(**filters)
        rules = self._lending.rules()
        ends: list[Loan] = []
        kept: OrderedDict[int, list[Loan]] = OrderedDict()
        loaded, ended = 0, False
        for number in range(blocks):
            block = self._lending.loan_block(ends[-1] if ends else None, limit=self._block_size, **filters)
            if block:
                kept[number] = block
                ends.append(block[-1])
                loaded += len(block)
            if len(block) < self._block_size:
                ended = True  # a short block is the last one, whatever the count said a moment ago
                break
        self.beginResetModel()
        self._view, self._today, self._renewal_limit = view, today, rules.renewal_limit
        self._block_ends, self._blocks, self._loaded = ends, kept, loaded
        self._total = loaded if ended else max(total, loaded)
        self.endResetModel()

    def _read(self, after: Loan | None) -> list[Loan]:
        return self._lending.loan_block(after, limit=self._block_size, **self._view.filters(self._today))

    def _block(self, number: int) -> list[Loan]:
        block = self._blocks.get(number)
        if block is not None:
            self._blocks.move_to_end(number)
            return block
        block = self._read(self._block_ends[number - 1] if number > 0 else None)
        self._remember(number, block)
        return block

    def _remember(self, number: int, block: list[Loan]) -> None:
        self._blocks[number] = block
        self._blocks.move_to_end(number)
        while len(self._blocks) > self._cached_blocks:
            self._blocks.popitem(last=False)

    def _text(self, loan: Loan, column: int) -> str:
        if column == self.TAG:
            return loan.device_tag
        if column == self.TYPE:
            return loan.device_type.label
        if column == self.REFERENCE:
            return loan.resident_reference
        if column == self.NAME:
            return loan.resident_name
        if column == self.CONTACT:
            return loan.resident_contact or "No contact recorded"
        if column == self.ISSUED:
            return day_text(loan.issued_at.astimezone().date())
        if column == self.DUE:
            return day_text(loan.due_on)
        if column == self.OVERDUE:
            return overdue_words(loan, self._today)
        if column == self.RENEWALS:
            return f"{loan.renewals} of {self._renewal_limit}" if loan.is_open else str(loan.renewals)
        return ""
