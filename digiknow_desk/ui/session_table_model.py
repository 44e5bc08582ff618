"""Table models for support sessions (paged from the database by month, champion and venue) and for each
champion's volunteer hours in a month; and the words both screens use for lengths of time and months."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, QPersistentModelIndex, Qt

from digiknow_desk.domain.sessions import ChampionHours, Session, SessionFilter
from digiknow_desk.services.sessions import PAGE_SIZE, SessionService
from digiknow_desk.ui.paged_model import RECORD_ROLE, PagedTableModel
from digiknow_desk.ui.resident_table_model import day_text

_Index = QModelIndex | QPersistentModelIndex


def duration_text(minutes: int) -> str:
    """A length of time as the tables show it: '45 min', '1 h', '1 h 30 min'."""
    hours, rest = divmod(minutes, 60)
    if not hours:
        return f"{rest} min"
    return f"{hours} h" + (f" {rest} min" if rest else "")


def duration_words(minutes: int) -> str:
    """A length of time in full words, for screen readers: '1 hour 30 minutes'."""
    hours, rest = divmod(minutes, 60)
    parts = [f"{hours} hour{'s' if hours != 1 else ''}"] if hours else []
    if rest or not hours:
        parts.append(f"{rest} minute{'s' if rest != 1 else ''}")
    return " ".join(parts)


def month_text(day: date) -> str:
    """'March 2026'."""
    return f"{day:%B %Y}"


def recent_months(today: date, count: int) -> list[date]:
    """The first day of this month and of the `count - 1` months before it, newest first."""
    months = []
    year, month = today.year, today.month
    for _ in range(count):
        months.append(date(year, month, 1))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return months


def attendees_text(session: Session) -> str:
    """Who came, in a line: 'Maureen Clarke', '1 not registered', '4: Maureen Clarke, Tom Okafor, 2 not
    registered'."""
    named = [attendee.name for attendee in session.attendees if attendee.resident_id is not None]
    anonymous = len(session.attendees) - len(named)
    listed = ", ".join(named + ([f"{anonymous} not registered"] if anonymous else []))
    return listed if len(session.attendees) == 1 else f"{len(session.attendees)}: {listed}"


class SessionTableModel(PagedTableModel[Session, SessionFilter]):
    """The sessions matching a filter, newest first, fetched from the database a page at a time."""

    DATE, TIME, LENGTH, KIND, VENUE, CHAMPIONS, ATTENDEES, TOPICS, FOLLOW_UP = range(9)
    HEADERS = ("Date", "Time", "Length", "Kind", "Venue", "Champions", "Attendees", "Topics", "Follow-up")

    def __init__(
        self,
        sessions: SessionService,
        today: Callable[[], date],
        page_size: int = PAGE_SIZE,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(SessionFilter(), page_size, parent)
        self._sessions = sessions
        self._today = today

    @property
    def session_filter(self) -> SessionFilter:
        return self._query

    def set_filter(self, session_filter: SessionFilter) -> None:
        """Show the sessions matching `session_filter`, loading only the first page."""
        self._load(session_filter, self._page_size)

    def session(self, row: int) -> Session:
        return self.record(row)

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        in_range = index.isValid() and 0 <= index.row() < self.rowCount()
        if (
            in_range
            and role == Qt.ItemDataRole.ToolTipRole
            and index.column()
            in (
                self.CHAMPIONS,
                self.ATTENDEES,
                self.TOPICS,
                self.FOLLOW_UP,
            )
        ):
            return self._cell(self.record(index.row()), index.column()) or None
        if in_range and role == Qt.ItemDataRole.AccessibleTextRole and index.column() == self.LENGTH:
            return duration_words(self.record(index.row()).minutes)
        return super().data(index, role)

    def _search(self, query: SessionFilter, limit: int, offset: int) -> list[Session]:
        return self._sessions.sessions(query, limit=limit, offset=offset)

    def _count(self, query: SessionFilter, at_most: int | None) -> int:
        return self._sessions.count(query)

    def _key(self, record: Session) -> str:
        return str(record.id)

    def _cell(self, session: Session, column: int) -> str:
        if column == self.DATE:
            return day_text(session.held_on, self._today())
        if column == self.TIME:
            return f"{session.starts_at:%H:%M}"
        if column == self.LENGTH:
            return duration_text(session.minutes)
        if column == self.KIND:
            return session.kind.label
        if column == self.VENUE:
            return session.venue_name or "No venue"
        if column == self.CHAMPIONS:
            return session.champion_names
        if column == self.ATTENDEES:
            return attendees_text(session)
        if column == self.TOPICS:
            return session.topic_labels
        if column == self.FOLLOW_UP:
            if session.follow_up_on is None:
                return ""
            if session.follow_up_done_on is not None:  # when it was done, not when it was due
                return f"Done {day_text(session.follow_up_done_on, self._today())}: {session.follow_up}"
            return f"{day_text(session.follow_up_on, self._today())}: {session.follow_up}"
        return ""


class HoursTableModel(QAbstractTableModel):
    """Each champion's volunteer time in one month: sessions given, time in sessions, other work, total."""

    CHAMPION, SESSIONS, SESSION_TIME, OTHER_TIME, TOTAL = range(5)
    HEADERS = ("Champion", "Sessions", "Session hours", "Other hours", "Total")
    RECORD_ROLE = RECORD_ROLE

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._hours: list[ChampionHours] = []

    def set_hours(self, hours: list[ChampionHours]) -> None:
        self.beginResetModel()
        self._hours = list(hours)
        self.endResetModel()

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008  (Qt's own default)
        return 0 if parent.isValid() else len(self._hours)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.HEADERS)

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._hours):
            return None
        hours = self._hours[index.row()]
        column = index.column()
        if role == RECORD_ROLE:
            return hours
        if role == Qt.ItemDataRole.DisplayRole:
            return self._text(hours, column, duration_text)
        if role == Qt.ItemDataRole.AccessibleTextRole:
            return self._text(hours, column, duration_words)
        if role == Qt.ItemDataRole.TextAlignmentRole and column != self.CHAMPION:
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

    def _text(self, hours: ChampionHours, column: int, duration: Callable[[int], str]) -> str:
        if column == self.CHAMPION:
            return hours.champion_name
        if column == self.SESSIONS:
            return str(hours.sessions)
        if column == self.SESSION_TIME:
            return duration(hours.session_minutes)
        if column == self.OTHER_TIME:
            return duration(hours.other_minutes)
        if column == self.TOTAL:
            return duration(hours.total_minutes)
        return ""
