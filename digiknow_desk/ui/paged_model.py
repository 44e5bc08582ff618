"""A table model that reads its rows from a service a page at a time, never all at once."""

from __future__ import annotations

from typing import Any, Generic, TypeVar

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, QPersistentModelIndex, Qt

RECORD_ROLE = Qt.ItemDataRole.UserRole + 1
_Index = QModelIndex | QPersistentModelIndex
RecordT = TypeVar("RecordT")
QueryT = TypeVar("QueryT")


class PagedTableModel(QAbstractTableModel, Generic[RecordT, QueryT]):
    """Rows matching a query, fetched `page_size` at a time as the view scrolls (canFetchMore/fetchMore).

    A subclass names its columns in HEADERS and says how to search, count, show a cell and key a record.
    """

    HEADERS: tuple[str, ...] = ()
    RECORD_ROLE = RECORD_ROLE
    # Counting stops here (None: always counted in full); beyond it the total is not known and pages
    # load for as long as they come back full.
    COUNT_LIMIT: int | None = None

    def __init__(self, query: QueryT, page_size: int, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._query = query
        self._page_size = page_size
        self._records: list[RecordT] = []
        self._total = 0
        self._counted_all = True

    # What a subclass provides

    def _search(self, query: QueryT, limit: int, offset: int) -> list[RecordT]:
        raise NotImplementedError

    def _count(self, query: QueryT, at_most: int | None) -> int:
        raise NotImplementedError

    def _cell(self, record: RecordT, column: int) -> str:
        raise NotImplementedError

    def _key(self, record: RecordT) -> str:
        raise NotImplementedError

    # What the pages ask

    @property
    def total(self) -> int:
        """How many rows match the query (loaded or not); at least this many when not `counted_all`."""
        return self._total

    @property
    def counted_all(self) -> bool:
        """Whether `total` is exact, rather than COUNT_LIMIT with more beyond it."""
        return self._counted_all

    def record(self, row: int) -> RecordT:
        return self._records[row]

    def refresh(self) -> None:
        """Read the current query again, keeping as many rows loaded as before."""
        self._load(self._query, max(self._page_size, len(self._records)))

    def row_of(self, key: str, *, fetch: bool = True) -> int | None:
        """The row showing the record with `key`, loading further pages until it is found (unless
        `fetch` is false)."""
        while True:
            for row, record in enumerate(self._records):
                if self._key(record) == key:
                    return row
            if not fetch or not self.canFetchMore(QModelIndex()):
                return None
            self.fetchMore(QModelIndex())

    # Qt's model interface

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008  (Qt's own default)
        return 0 if parent.isValid() else len(self._records)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.HEADERS)

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._records):
            return None
        record = self._records[index.row()]
        if role == RECORD_ROLE:
            return record
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.AccessibleTextRole):
            return self._cell(record, index.column())
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
        if parent.isValid():
            return False
        return len(self._records) < self._total or not self._counted_all

    def fetchMore(self, parent: _Index) -> None:
        if not self.canFetchMore(parent):
            return
        more = self._search(self._query, self._page_size, len(self._records))
        if len(more) < self._page_size and not self._counted_all:  # the last page: now the total is known
            self._total, self._counted_all = len(self._records) + len(more), True
        if not more:  # rows went since the count; stop asking
            self._total = len(self._records)
            return
        first = len(self._records)
        self.beginInsertRows(QModelIndex(), first, first + len(more) - 1)
        self._records.extend(more)
        self.endInsertRows()

    # Helpers

    def _load(self, query: QueryT, rows: int) -> None:
        limit = self.COUNT_LIMIT
        total = self._count(query, None if limit is None else limit + 1)
        records = self._search(query, rows, 0)
        self.beginResetModel()
        self._query = query
        self._counted_all = limit is None or total <= limit or len(records) < rows
        if limit is not None and not self._counted_all:
            total = limit
        elif len(records) < rows:
            total = len(records)  # a short first page is everything
        self._total = max(total, len(records))
        self._records = records
        self.endResetModel()
