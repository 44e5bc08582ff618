"""Table models for residents: residents paged from the database as staff search, one resident's loans and
their skills checks over time; and their inclusion status put in words."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, QPersistentModelIndex, Qt

from digiknow_desk.domain.devices import DeviceType
from digiknow_desk.domain.inclusion import (
    LENT_CONNECTION,
    LENT_DEVICE,
    InclusionRule,
    InclusionStatus,
    ResidentFacts,
)
from digiknow_desk.domain.loans import Loan, LoanOutcome
from digiknow_desk.domain.residents import Resident
from digiknow_desk.domain.skills import SkillArea, SkillLevel, SkillsCheck, areas_alone
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

    REFERENCE, NAME, POSTCODE, WARD, PHONE, AGE_BAND, INCLUSION = range(7)
    HEADERS = ("Reference", "Name", "Postcode", "Ward", "Phone", "Age band", "Inclusion status")
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
        if column == self.INCLUSION:
            return resident.inclusion_status.label
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
    """One resident's loans, newest first (open and past): device, issued, due, where it stands, and for a
    closed loan whether it did what it was for (asked at the desk when it came back)."""

    TAG, DEVICE, ISSUED, DUE, STATE, ACHIEVED = range(6)
    HEADERS = ("Tag", "Device", "Issued", "Due", "Status", "Did what it was for")
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
        if role == Qt.ItemDataRole.ToolTipRole and index.column() == self.ACHIEVED and loan.achieved:
            achieved = loan.achieved
            return (
                f"Afterwards, a device of their own: {'yes' if achieved.own_device else 'no'}; "
                f"an internet connection of their own: {'yes' if achieved.own_connection else 'no'}"
            )
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
        if column == self.ACHIEVED:
            if loan.is_open:
                return ""
            return loan.achieved.reason_met.label if loan.achieved else "Not asked"
        return ""


# Skills checks and the inclusion status

LEVEL_WORDS = {SkillLevel.ALONE: "Alone", SkillLevel.WITH_HELP: "With help", SkillLevel.NOT_YET: "Not yet"}
_FOUNDATION_WORDS = {
    SkillLevel.ALONE: "Foundation done alone",
    SkillLevel.WITH_HELP: "Foundation done with help",
    SkillLevel.NOT_YET: "Foundation not yet",
}


def type_words(device_type: DeviceType) -> str:
    """How a type reads inside a sentence: 'tablet', 'data SIM', 'MiFi / dongle'."""
    label = device_type.label
    return label if label.startswith("MiFi") else label[0].lower() + label[1:]


def and_list(words: Sequence[str]) -> str:
    """'a', 'a and b', 'a, b and c'."""
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def own_access(checks: Sequence[SkillsCheck], loans: Sequence[Loan]) -> tuple[bool, bool]:
    """Whether the resident has a device and an internet connection of their own, by the newest answer:
    their latest skills check's, or the one given when a loan closed (on the same day, the loan's)."""
    answers: list[tuple[tuple[Any, ...], bool, bool]] = []
    if checks:
        latest = checks[-1]
        answers.append(((latest.checked_on, 0), latest.own_device, latest.own_connection))
    for loan in loans:
        if loan.achieved is not None and loan.closed_at is not None:
            closed = loan.closed_at.astimezone()
            answers.append(
                ((closed.date(), 1, closed), loan.achieved.own_device, loan.achieved.own_connection)
            )
    if not answers:
        return False, False
    _when, device, connection = max(answers, key=lambda answer: answer[0])
    return device, connection


def rule_needs(rule: InclusionRule) -> str:
    """What the rule asks of the skills, in words: 'Foundation done alone and 1 area done alone'."""
    foundation = (
        "Foundation done alone" if rule.foundation is SkillLevel.ALONE else "Foundation done with help"
    )
    if not rule.areas_alone:
        return foundation
    return f"{foundation} and {rule.areas_alone} area{'s' if rule.areas_alone != 1 else ''} done alone"


def inclusion_words(
    status: InclusionStatus,
    rule: InclusionRule,
    checks: Sequence[SkillsCheck],
    loans: Sequence[Loan],
    sessions: int,
) -> str:
    """The resident's status with a line on why, from their records: 'Digitally included: Foundation
    done alone, 2 areas done alone, tablet and data SIM on loan'. When the records read now would give
    another status (they changed since the status was read), only the status is said."""
    if status is InclusionStatus.NOT_YET_SUPPORTED:
        return f"{status.label}: no support session, loan or skills check recorded yet."
    latest = checks[-1] if checks else None
    levels = latest.levels if latest is not None else {}
    own_device, own_connection = own_access(checks, loans)
    lent = sorted(
        {loan.device_type for loan in loans if loan.is_open and loan.device_type is not DeviceType.ACCESSORY},
        key=list(DeviceType).index,
    )
    facts = ResidentFacts(
        supported=True,
        foundation=levels.get(SkillArea.FOUNDATION),
        areas_alone=areas_alone(levels),
        own_device=own_device,
        own_connection=own_connection,
        on_loan=frozenset(lent),
    )
    if rule.status(facts) is not status:
        return status.label
    if latest is None:
        parts = [
            "no skills check yet"
            + (f" ({sessions} support session{'s' if sessions != 1 else ''})" if sessions else "")
        ]
    else:
        alone = areas_alone(levels)
        parts = [
            _FOUNDATION_WORDS[levels.get(SkillArea.FOUNDATION, SkillLevel.NOT_YET)],
            f"{alone} area{'s' if alone != 1 else ''} done alone",
        ]
    own = [name for name, has in (("device", own_device), ("connection", own_connection)) if has]
    if own:
        parts.append("own " + and_list(own))
    if lent:
        parts.append(
            and_list([type_words(kind) for kind in lent])
            + " on loan"
            + ("" if rule.loans_count_as_access else " (loans do not count under the rule)")
        )
    counted = frozenset(lent) if rule.loans_count_as_access else frozenset()
    missing = [
        name
        for name, has in (
            ("device", own_device or bool(counted & LENT_DEVICE)),
            ("connection", own_connection or bool(counted & LENT_CONNECTION)),
        )
        if not has
    ]
    if missing:
        parts.append(
            "no " + " or ".join(missing) + ("" if rule.loans_count_as_access or not lent else " of their own")
        )
    words = f"{status.label}: {', '.join(parts)}"
    if latest is not None and not rule.skills_met(levels.get(SkillArea.FOUNDATION), areas_alone(levels)):
        words += f" (the rule asks for {rule_needs(rule)})"
    return words


class SkillsProgressModel(QAbstractTableModel):
    """One resident's skills checks side by side: Foundation and the five areas, then whether they have a
    device and a connection of their own, as rows; each check a column, the baseline first. A level that
    moved since the check before shows an arrow, and says so in words to screen readers."""

    OWN_DEVICE, OWN_CONNECTION = len(SkillArea), len(SkillArea) + 1
    ROWS = (*(area.label for area in SkillArea), "Own device", "Own internet connection")
    RECORD_ROLE = RECORD_ROLE

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._checks: list[SkillsCheck] = []
        self._today = date.today()

    def set_checks(self, checks: Sequence[SkillsCheck], today: date) -> None:
        """Show `checks`, oldest first."""
        self.beginResetModel()
        self._checks = list(checks)
        self._today = today
        self.endResetModel()

    def check(self, column: int) -> SkillsCheck:
        return self._checks[column]

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008  (Qt's own default)
        return 0 if parent.isValid() or not self._checks else len(self.ROWS)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._checks)

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not (
            0 <= index.row() < len(self.ROWS) and 0 <= index.column() < len(self._checks)
        ):
            return None
        check = self._checks[index.column()]
        if role == RECORD_ROLE:
            return check
        if role == Qt.ItemDataRole.DisplayRole:
            return self._cell(index.row(), index.column())
        if role in (Qt.ItemDataRole.AccessibleTextRole, Qt.ItemDataRole.ToolTipRole):
            return self._sentence(index.row(), index.column())
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return int(Qt.AlignmentFlag.AlignCenter)
        return None

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation == Qt.Orientation.Vertical:
            if role == Qt.ItemDataRole.DisplayRole and 0 <= section < len(self.ROWS):
                return self.ROWS[section]
            return None
        if not 0 <= section < len(self._checks):
            return None
        check = self._checks[section]
        if role == Qt.ItemDataRole.DisplayRole:
            return self.column_title(section)
        if role == Qt.ItemDataRole.ToolTipRole:
            return f"Checked by {check.checked_by}" + (f". Note: {check.note}" if check.note else "")
        return None

    def column_title(self, column: int) -> str:
        """'Tue 3 Feb (baseline)'."""
        check = self._checks[column]
        return day_text(check.checked_on, self._today) + (" (baseline)" if check.baseline else "")

    # Helpers

    def _level(self, row: int, column: int) -> SkillLevel | None:
        return self._checks[column].levels.get(list(SkillArea)[row]) if column >= 0 else None

    def _own(self, row: int, column: int) -> bool:
        check = self._checks[column]
        return check.own_device if row == self.OWN_DEVICE else check.own_connection

    def _cell(self, row: int, column: int) -> str:
        if row >= len(SkillArea):
            return "Yes" if self._own(row, column) else "No"
        level = self._level(row, column)
        if level is None:
            return ""
        before = self._level(row, column - 1)
        arrow = "" if before is None or before is level else (" ↑" if level.rank > before.rank else " ↓")
        return LEVEL_WORDS[level] + arrow

    def _sentence(self, row: int, column: int) -> str:
        """The cell in words: 'Communicating on Tue 3 Feb: can do alone (up from can do with help)'."""
        where = f"{self.ROWS[row]} on {self.column_title(column)}: "
        if row >= len(SkillArea):
            return where + ("yes" if self._own(row, column) else "no")
        level = self._level(row, column)
        if level is None:
            return where + "not recorded"
        before = self._level(row, column - 1)
        moved = ""
        if before is not None and before is not level:
            moved = f" ({'up' if level.rank > before.rank else 'down'} from {before.label.lower()})"
        return where + level.label.lower() + moved
