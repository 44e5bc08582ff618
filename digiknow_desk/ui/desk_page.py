"""The lending desk: scan a device or a resident's card, then issue, return, renew, record a wipe or a
loss, or put a resident on the waiting list, all from the keyboard (Enter goes on, Escape goes back)."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, date, datetime
from enum import StrEnum
from functools import partial

from PySide6.QtCore import QDate, QDateTime, QEvent, QItemSelectionModel, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QFont, QKeyEvent, QShowEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDateEdit,
    QDateTimeEdit,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QStackedWidget,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from digiknow_desk.app import Services
from digiknow_desk.domain.devices import Condition, Device, DeviceFilter, DeviceStatus, DeviceType
from digiknow_desk.domain.errors import DomainError, ValidationError
from digiknow_desk.domain.inclusion import InclusionStatus
from digiknow_desk.domain.loans import (
    DataPlan,
    Loan,
    LoanAchieved,
    LoanOutcome,
    LoanRefused,
    ReasonMet,
    WaitStatus,
    Wipe,
    WipeChecklist,
    WipeMethod,
    check_can_issue,
)
from digiknow_desk.domain.residents import ReferralReason, Resident, normalise_reference
from digiknow_desk.domain.staff import Permission
from digiknow_desk.services.context import system_clock
from digiknow_desk.ui.device_dialog import chosen, problem_label, show_problem
from digiknow_desk.ui.errors import problem_words
from digiknow_desk.ui.printing import DocumentPrinting, Printable
from digiknow_desk.ui.resident_dialog import AskResident, ask_resident
from digiknow_desk.ui.resident_table_model import ResidentTableModel, day_text, long_day_text, own_access
from digiknow_desk.ui.tasks import Task, TaskRunner

SEARCH_DELAY_MS = 0  # see inventory_page: merges keystrokes already queued, e.g. a scanned card
DESK_PAGE_SIZE = 50
REFERENCE = re.compile(r"^R-\d{5}$")
KEYS_HINT = "Enter: go on   ·   Escape: back one step   ·   Tab: next field   ·   Space: tick"

_BLOCKED_ADVICE = {
    DeviceStatus.IN_REPAIR: "When it comes back from repair, change its status in Inventory; "
    "it is then wiped before anyone borrows it.",
    DeviceStatus.QUARANTINED: "If it has been found, change its status in Inventory; "
    "it is then wiped before anyone borrows it.",
    DeviceStatus.RETIRED: "It has left the scheme. Choose another device.",
}


class Step(StrEnum):
    """Where the desk is in a piece of work; Escape goes back one step."""

    SCAN = "scan"  # waiting for a scan; shows what was last done
    FIND_RESIDENT = "find_resident"  # who is borrowing (or: which resident)
    CONFIRM_ISSUE = "confirm_issue"
    RETURN = "return"  # the device is on loan: return, renew, or lost
    LOST = "lost"
    WIPE = "wipe"
    RESIDENT = "resident"  # one resident: their loans, and the waiting list


def bigger(widget: QWidget, factor: float, *, bold: bool = True) -> None:
    """Scale a widget's font relative to the user's size (never a fixed pixel size)."""
    font = QFont(widget.font())
    if font.pointSizeF() > 0:
        font.setPointSizeF(font.pointSizeF() * factor)
    font.setBold(bold)
    widget.setFont(font)


def words_label(text: str = "") -> QLabel:
    label = QLabel(text)
    label.setWordWrap(True)
    label.setTextFormat(Qt.TextFormat.PlainText)
    return label


def device_words(device: Device) -> str:
    """'TAB-0042 (Tablet: Samsung Galaxy Tab A9)'."""
    what = ": ".join(part for part in (device.device_type.label, device.description) if part)
    return f"{device.tag} ({what})"


def resident_words(resident: Resident) -> str:
    return f"{resident.reference} {resident.name}"


def needs_words(resident: Resident) -> str:
    needs = []
    if resident.large_print:
        needs.append("large print")
    if resident.interpreter:
        needs.append(f"an interpreter ({resident.language})" if resident.language else "an interpreter")
    if resident.access_needs:
        needs.append(resident.access_needs)
    return ("Needs: " + "; ".join(needs) + ".") if needs else ""


def a_type(device_type: DeviceType) -> str:
    """How a type reads in a sentence: 'a tablet', 'a data SIM', 'a MiFi / dongle', 'an accessory'."""
    label = device_type.label
    name = label if label.startswith("MiFi") else label[0].lower() + label[1:]
    return ("an " if name[0] in "aeiou" else "a ") + name


def to_qdatetime(moment: datetime) -> QDateTime:
    return QDateTime.fromSecsSinceEpoch(int(moment.timestamp()))


def from_qdatetime(value: QDateTime) -> datetime:
    return datetime.fromtimestamp(value.toSecsSinceEpoch(), UTC)


def to_qdate(day: date) -> QDate:
    return QDate(day.year, day.month, day.day)


def from_qdate(value: QDate) -> date:
    return date(value.year(), value.month(), value.day())


def chain_tab_order(widgets: list[QWidget]) -> None:
    """Tab goes through `widgets` in this order."""
    for first, second in zip(widgets, widgets[1:], strict=False):
        QWidget.setTabOrder(first, second)


class DateField(QDateEdit):
    """A date box where Tab goes to the next field, as everywhere else on the desk (Qt's own would step
    through day, month and year first); Left and Right move between them, Up and Down change them."""

    def focusNextPrevChild(self, next: bool) -> bool:  # noqa: A002  (Qt's name)
        return QWidget.focusNextPrevChild(self, next)


class DateTimeField(QDateTimeEdit):
    """A date-and-time box where Tab goes to the next field (see DateField)."""

    def focusNextPrevChild(self, next: bool) -> bool:  # noqa: A002  (Qt's name)
        return QWidget.focusNextPrevChild(self, next)


class RecordedLate(QWidget):
    """'Recorded late': the time it really happened and why it was not recorded then."""

    changed = Signal()

    def __init__(self, caption: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._late = QCheckBox(caption)
        self._late.setAccessibleName(caption.replace("&", ""))
        self._when = DateTimeField()
        self._when.setAccessibleName("When it happened")
        self._when.setDisplayFormat("ddd d MMM yyyy HH:mm")
        self._when.setCalendarPopup(True)
        self._reason = QLineEdit()
        self._reason.setAccessibleName("Why it is recorded late")
        self._reason.setPlaceholderText("e.g. Returned on Saturday, desk closed")
        self._reason.setMaxLength(300)
        self._problem = problem_label()
        when_label = QLabel("Wh&en:")
        when_label.setBuddy(self._when)
        reason_label = QLabel("Wh&y late:")
        reason_label.setBuddy(self._reason)
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self._late)
        row.addWidget(when_label)
        row.addWidget(self._when)
        row.addWidget(reason_label)
        row.addWidget(self._reason, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(row)
        layout.addWidget(self._problem)
        self._late.toggled.connect(self._toggled)
        self._when.dateTimeChanged.connect(lambda _value: self.changed.emit())
        self._reason.textEdited.connect(lambda _text: show_problem(self._problem, self._reason, ""))

    def reset(self, now: datetime) -> None:
        self._late.setChecked(False)
        self._when.setMaximumDateTime(to_qdatetime(now))
        self._when.setDateTime(to_qdatetime(now))
        self._reason.clear()
        show_problem(self._problem, self._reason, "")
        self._toggled(False)

    @property
    def late_box(self) -> QCheckBox:
        return self._late

    @property
    def when_edit(self) -> QDateTimeEdit:
        return self._when

    @property
    def reason_box(self) -> QLineEdit:
        return self._reason

    def controls(self) -> list[QWidget]:
        """Its controls in Tab order."""
        return [self._late, self._when, self._reason]

    def when(self) -> datetime | None:
        """When it really happened, or None for 'now'."""
        return from_qdatetime(self._when.dateTime()) if self._late.isChecked() else None

    def reason(self) -> str:
        return self._reason.text().strip() if self._late.isChecked() else ""

    def problem(self) -> str:
        return self._problem.text().removeprefix("Problem: ")

    def check(self) -> bool:
        """True when it can be recorded; otherwise says why beside the reason and moves there."""
        if self._late.isChecked() and not self._reason.text().strip():
            show_problem(
                self._problem,
                self._reason,
                "Say why this is recorded late (e.g. 'Returned on Saturday, desk closed').",
            )
            self._reason.setFocus()
            return False
        show_problem(self._problem, self._reason, "")
        return True

    def show_refusal(self, message: str) -> None:
        show_problem(self._problem, self._reason, message)

    def _toggled(self, late: bool) -> None:
        self._when.setEnabled(late)
        self._reason.setEnabled(late)
        if late:
            self._when.setFocus()
        self.changed.emit()


class DeskPage(QWidget):
    """The counter's screen: a scan box, then the one step that fits what was scanned."""

    changed = (
        Signal()
    )  # after every change recorded (loan, return, renewal, loss, wipe, waiting list, resident)
    notice = Signal(str)  # what was just done, for the status bar
    step_changed = Signal(str)  # the new Step's value

    def __init__(
        self,
        services: Services,
        tasks: TaskRunner,
        parent: QWidget | None = None,
        *,
        printing: DocumentPrinting | None = None,
        clock: Callable[[], datetime] = system_clock,
        ask_new_resident: AskResident = ask_resident,
    ) -> None:
        super().__init__(parent)
        self._services = services
        self._tasks = tasks
        self._printing = printing or DocumentPrinting(tasks, self)
        self._printing.finished.connect(self._printing_done)
        self._printing.failed.connect(self._printing_failed)
        self._clock = clock  # the services' clock, so due dates shown match those recorded
        self._ask_new_resident = ask_new_resident
        self._step = Step.SCAN
        self._device: Device | None = None
        self._loan: Loan | None = None
        self._resident: Resident | None = None
        self._status_before: InclusionStatus | None = None  # the borrower's, when the return step opened
        self._finding_for_issue = True  # FIND_RESIDENT: for a loan, or to open a resident (waiting list)
        self._resident_back = Step.SCAN
        self._last_loan: Loan | None = None  # just issued: its agreement can be printed
        self._last_wipe: Wipe | None = None  # just recorded: its certificate can be printed
        self._setting_due = False
        self._due_edited = False
        self._kit_out: list[QCheckBox] = []
        self._kit_back: list[QCheckBox] = []
        self._access_before = (False, False)  # own device, own connection: the answer last recorded

        self._stack = QStackedWidget()
        self._steps: dict[Step, QWidget] = {}
        self._build_scan_step()
        self._build_find_step()
        self._build_confirm_step()
        self._build_return_step()
        self._build_lost_step()
        self._build_wipe_step()
        self._build_resident_step()
        hint = words_label(KEYS_HINT)
        hint.setAccessibleName("Keys")
        layout = QVBoxLayout(self)
        layout.addWidget(self._stack, 1)
        layout.addWidget(hint)
        self._refresh_warnings()
        self._go(Step.SCAN)

    # What the main window and the tests use

    @property
    def step(self) -> Step:
        return self._step

    @property
    def scan_box(self) -> QLineEdit:
        return self._scan

    @property
    def warnings_text(self) -> str:
        return self._warnings.text() if self._warnings.isVisibleTo(self) else ""

    @property
    def outcome_text(self) -> str:
        """What the desk last said on the scan step: the confirmation, or why something was refused."""
        return self._outcome.text()

    @property
    def resident_search(self) -> QLineEdit:
        return self._find

    @property
    def resident_table(self) -> QTableView:
        return self._find_table

    @property
    def resident_model(self) -> ResidentTableModel:
        return self._find_model

    @property
    def print_agreement_button(self) -> QPushButton:
        return self._print_button

    @property
    def print_certificate_button(self) -> QPushButton:
        return self._certificate_button

    def step_widget(self, step: Step) -> QWidget:
        """The panel of one step (tests look for its controls)."""
        return self._steps[step]

    def problem_text(self) -> str:
        """The refusal shown on the current step ('' when there is none)."""
        for label in self._steps[self._step].findChildren(QLabel):
            if label.isVisibleTo(self) and label.text().startswith("Problem: "):
                return label.text().removeprefix("Problem: ")
        return ""

    def focus_scan(self) -> None:
        """Put the cursor in the scan box, ready for the next scan (it replaces what is there)."""
        if self._step != Step.SCAN:
            self._go(Step.SCAN)
        self._scan.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self._scan.selectAll()

    def scan(self, text: str) -> None:
        """Act on a scanned or typed device tag, resident reference, or a resident's name."""
        self._go(Step.SCAN)
        self._scan.setText(text)
        self._scanned()

    def confirm(self) -> None:
        """Enter: the current step's main action."""
        actions: dict[Step, Callable[[], object]] = {
            Step.SCAN: self._scanned,
            Step.FIND_RESIDENT: self._pick_resident,
            Step.CONFIRM_ISSUE: self.issue,
            Step.RETURN: self.return_device,
            Step.LOST: self.record_lost,
            Step.WIPE: self.record_wipe,
            Step.RESIDENT: self.join_waiting_list,
        }
        actions[self._step]()

    def back(self) -> None:
        """Escape: one step back; on the scan step, clear the scan box."""
        if self._step == Step.SCAN:
            self._scan.clear()
            return
        if self._step == Step.CONFIRM_ISSUE:
            self._go(Step.FIND_RESIDENT)
            return
        if self._step == Step.LOST:
            self._go(Step.RETURN)
            return
        if self._step == Step.RESIDENT:
            self._go(self._resident_back)
            return
        tag = self._device.tag if self._device is not None else None
        self._say(f"Nothing was recorded for {tag}." if tag else "Nothing was recorded.")
        self._go(Step.SCAN)

    def find_resident(self, text: str = "") -> None:
        """Look for a resident without a device (to see their loans or put them on the waiting list)."""
        self._device = None
        self._start_find(text, for_issue=False)

    # The desk's actions (Enter on each step)

    def issue(self) -> Loan | None:
        device, resident = self._device, self._resident
        if device is None or resident is None:
            return None
        show_problem(self._confirm_problem, None, "")
        show_problem(self._accepted_problem, self._accepted, "")
        if not self._accepted.isChecked():
            show_problem(
                self._accepted_problem,
                self._accepted,
                "Ask the resident to read the agreement, then tick that they accept it (Space).",
            )
            self._accepted.setFocus()
            return None
        if not self._issue_late.check():
            return None
        try:
            loan = self._services.lending.issue(
                device.tag,
                resident.reference,
                due_on=from_qdate(self._due.date()) if self._due_edited else None,
                kit_out=[box.property("kit") for box in self._kit_out if box.isChecked()],
                accepted=True,
                issued_at=self._issue_late.when(),
                late_reason=self._issue_late.reason(),
            )
        except DomainError as error:
            show_problem(self._confirm_problem, None, problem_words(error))
            return None
        missing = [line.name for line in loan.kit if not line.out]
        text = (
            f"{loan.device_tag} lent to {loan.resident_reference} {loan.resident_name}, "
            f"due {long_day_text(loan.due_on, self._today())}."
            + (f" Kit not given: {', '.join(missing)}." if missing else "")
        )
        self._done(text, agreement=loan)
        return loan

    def return_device(self) -> Loan | None:
        device, loan = self._device, self._loan
        if device is None or loan is None:
            return None
        show_problem(self._return_problem, None, "")
        if not self._return_late.check():
            return None
        try:
            closed = self._services.lending.return_device(
                device.tag,
                kit_back=[box.property("kit") for box in self._kit_back if box.isChecked()],
                condition=chosen(self._condition, Condition),
                fault=self._fault.text(),
                returned_at=self._return_late.when(),
                late_reason=self._return_late.reason(),
                achieved=self.achieved(),
            )
        except DomainError as error:
            show_problem(self._return_problem, None, problem_words(error))
            return None
        missing = [line.name for line in closed.kit if line.out and not line.back]
        text = (
            f"{closed.device_tag} is back from {closed.resident_reference} {closed.resident_name}."
            + (f" Missing kit recorded: {', '.join(missing)}." if missing else "")
            + (f" Fault recorded: {closed.fault}." if closed.fault else "")
            + f" It now awaits a wipe: scan {closed.device_tag} again to record the wipe."
            + self._status_news(closed)
        )
        self._done(text)
        return closed

    def achieved(self) -> LoanAchieved | None:
        """What the return step's questions say the loan achieved; None while they are not asked."""
        reason_met = self._reason_met.currentData()
        if reason_met is None:
            return None
        return LoanAchieved(
            reason_met=ReasonMet(reason_met),
            own_device=self._own_device_after.isChecked(),
            own_connection=self._own_connection_after.isChecked(),
        )

    def renew(self) -> Loan | None:
        device = self._device
        if device is None or self._step != Step.RETURN:
            return None
        show_problem(self._return_problem, None, "")
        try:
            loan = self._services.lending.renew(device.tag)
        except DomainError as error:
            show_problem(self._return_problem, None, problem_words(error))
            return None
        limit = self._services.lending.rules().renewal_limit
        self._done(
            f"Renewed {loan.device_tag} for {loan.resident_reference} {loan.resident_name}: "
            f"now due {long_day_text(loan.due_on, self._today())} (renewal {loan.renewals} of {limit})."
        )
        return loan

    def lost_or_stolen(self) -> None:
        """From an open loan: go to 'Lost or stolen', which asks what happened."""
        device, loan = self._device, self._loan
        if self._step != Step.RETURN or device is None or loan is None:
            return
        self._lost_heading.setText(
            f"{device_words(device)}, lent to {loan.resident_reference} {loan.resident_name}: lost or stolen"
        )
        self._lost_outcome.setCurrentIndex(0)
        self._lost_reason.clear()
        show_problem(self._lost_problem, self._lost_reason, "")
        self._go(Step.LOST)

    def record_lost(self) -> Loan | None:
        device = self._device
        if device is None:
            return None
        show_problem(self._lost_problem, self._lost_reason, "")
        outcome = chosen(self._lost_outcome, LoanOutcome)
        try:
            loan = self._services.lending.record_lost(device.tag, outcome, self._lost_reason.text())
        except ValidationError as error:
            show_problem(self._lost_problem, self._lost_reason, " ".join(error.problems.values()))
            self._lost_reason.setFocus()
            return None
        except DomainError as error:
            show_problem(self._lost_problem, self._lost_reason, problem_words(error))
            return None
        self._done(
            f"{loan.device_tag} recorded as {outcome.label.lower()}: the loan to {loan.resident_reference} "
            f"{loan.resident_name} is closed and the device is quarantined."
        )
        return loan

    def record_wipe(self) -> None:
        device = self._device
        if device is None:
            return
        show_problem(self._wipe_problem, None, "")
        checklist = WipeChecklist(*(box.isChecked() for box in self._wipe_checks))
        if missing := checklist.missing():
            show_problem(
                self._wipe_problem,
                None,
                f"Before {device.tag} can be lent again, tick: {', '.join(missing)}.",
            )
            next(box for box in self._wipe_checks if not box.isChecked()).setFocus()
            return
        try:
            result = self._services.lending.record_wipe(
                device.tag, chosen(self._wipe_method, WipeMethod), checklist, self._wipe_notes.text()
            )
        except DomainError as error:
            show_problem(self._wipe_problem, None, problem_words(error))
            return
        text = f"{device.tag} is wiped ({result.wipe.method.label.lower()}) and available to lend."
        offer = result.offered_to
        if offer is not None:
            until = (
                f", held until {long_day_text(offer.offer_expires_on, self._today())}"
                if offer.offer_expires_on
                else ""
            )
            contact = f" ({offer.resident_contact})" if offer.resident_contact else ""
            text += (
                f" It is offered to {offer.resident_reference} {offer.resident_name}{contact} "
                f"from the waiting list{until}: let them know."
            )
        else:
            text += f" Nobody is waiting for {a_type(device.device_type)}."
        self._done(text, certificate=result.wipe)

    def join_waiting_list(self) -> None:
        resident = self._resident
        if resident is None:
            return
        show_problem(self._wait_problem, None, "")
        device_type = chosen(self._wait_type, DeviceType)
        try:
            entry = self._services.lending.join_waiting_list(resident.reference, device_type)
        except DomainError as error:
            show_problem(self._wait_problem, None, problem_words(error))
            return
        waiting = [
            e for e in self._services.lending.waiting_list(device_type) if e.status == WaitStatus.WAITING
        ]
        place = next((n for n, e in enumerate(waiting, start=1) if e.id == entry.id), len(waiting))
        self._done(
            f"{resident.reference} {resident.name} is on the waiting list for {a_type(device_type)}: "
            f"number {place} in the queue. They will be offered the next one that is wiped."
        )

    def new_resident(self) -> Resident | None:
        """Register a new resident (the form opens with the name typed so far) and carry on with them."""
        text = self._find.text().strip()
        name = text if text and not any(ch.isdigit() for ch in text) else ""
        resident = self._ask_new_resident(self._services, self, None, name)
        if resident is None:
            self._find.setFocus()
            return None
        self.changed.emit()
        self.notice.emit(f"Registered {resident.reference} {resident.name}.")
        self._chose(resident)
        return resident

    def print_agreement(self) -> Task | None:
        """Print or save the agreement and due-date slip of the loan just issued."""
        loan = self._last_loan
        if loan is None:
            return None
        write = partial(self._services.documents.loan_agreement_for, loan)
        return self._printing.offer(
            self,
            Printable(
                f"the loan agreement and due-date slip for {loan.device_tag}",
                f"loan-agreement-{loan.device_tag}.pdf",
                write,
            ),
        )

    def print_wipe_certificate(self) -> Task | None:
        """Print or save the certificate of the wipe just recorded."""
        wipe = self._last_wipe
        if wipe is None:
            return None
        write = partial(self._services.documents.wipe_certificate_for, wipe)
        return self._printing.offer(
            self,
            Printable(
                f"the wipe certificate for {wipe.device_tag}",
                f"wipe-certificate-{wipe.device_tag}.pdf",
                write,
            ),
        )

    # Qt overrides

    def keyPressEvent(self, event: QKeyEvent) -> None:
        # Keys the focused control did not use arrive here: Enter goes on, Escape goes back.
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and not (
            event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier
        ):
            event.accept()
            self.confirm()
            return
        if event.key() == Qt.Key.Key_Escape:
            event.accept()
            self.back()
            return
        super().keyPressEvent(event)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        # Up and Down in the resident search move through the list below it, the cursor staying put.
        if watched is self._find and event.type() == QEvent.Type.KeyPress and isinstance(event, QKeyEvent):
            moves = {Qt.Key.Key_Down: 1, Qt.Key.Key_Up: -1, Qt.Key.Key_PageDown: 10, Qt.Key.Key_PageUp: -10}
            if event.key() in moves:
                self._move_in_list(moves[Qt.Key(event.key())])
                return True
        return super().eventFilter(watched, event)

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self._refresh_warnings()
        self._focus_step()

    # Building the steps

    def _panel(self, step: Step, title: str) -> tuple[QWidget, QVBoxLayout, QLabel]:
        panel = QWidget()
        panel.setObjectName(f"desk-{step.value}")
        layout = QVBoxLayout(panel)
        heading = words_label(title)
        bigger(heading, 1.3)
        heading.setAccessibleName(title)
        layout.addWidget(heading)
        self._steps[step] = panel
        self._stack.addWidget(panel)
        return panel, layout, heading

    def _button(self, text: str, name: str, slot: Callable[[], object], *, main: bool = False) -> QPushButton:
        button = QPushButton(text)
        button.setAccessibleName(name)
        button.setAutoDefault(True)  # Enter on a focused button presses that button
        if main:
            button.setDefault(True)
            button.setToolTip(f"{name} (Enter)")
        button.clicked.connect(lambda _checked=False: slot())
        return button

    def _back_button(self) -> QPushButton:
        button = self._button("Back (Esc)", "Back one step", self.back)
        button.setToolTip("Back one step (Escape)")
        return button

    def _build_scan_step(self) -> None:
        _panel, layout, _heading = self._panel(Step.SCAN, "Lending desk")
        self._scan = QLineEdit()
        self._scan.setObjectName("desk-scan")
        self._scan.setAccessibleName("Scan box: device tag, resident reference or name")
        self._scan.setPlaceholderText(
            "Scan a device or a resident's card, or type a tag or a name, then Enter"
        )
        self._scan.setClearButtonEnabled(True)
        bigger(self._scan, 1.3, bold=False)
        scan_label = QLabel("&Tag or resident:")
        scan_label.setBuddy(self._scan)
        self._find_button = self._button("Find a &resident…", "Find a resident", lambda: self.find_resident())
        self._find_button.setToolTip(
            "Find a resident without a device: their loans, and the waiting list when nothing is available"
        )
        row = QHBoxLayout()
        row.addWidget(scan_label)
        row.addWidget(self._scan, 1)
        row.addWidget(self._find_button)
        layout.addLayout(row)
        self._outcome = words_label()
        self._outcome.setAccessibleName("What the desk last did")
        self._outcome.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        bigger(self._outcome, 1.4)
        self._print_button = self._button(
            "&Print agreement…", "Print the loan agreement", self.print_agreement
        )
        self._print_button.setToolTip("Print the agreement and due-date slip, or save them as a PDF")
        self._certificate_button = self._button(
            "Print wipe &certificate…", "Print the wipe certificate", self.print_wipe_certificate
        )
        self._certificate_button.setToolTip("Print the certificate of this wipe, or save it as a PDF")
        outcome_row = QHBoxLayout()
        outcome_row.addWidget(self._outcome, 1)
        for button in (self._print_button, self._certificate_button):
            button.setVisible(False)
            outcome_row.addWidget(button, 0, Qt.AlignmentFlag.AlignTop)
        layout.addSpacing(self.fontMetrics().lineSpacing())
        layout.addLayout(outcome_row)
        self._warnings = words_label()
        self._warnings.setAccessibleName("Warnings")
        layout.addSpacing(self.fontMetrics().lineSpacing())
        layout.addWidget(self._warnings)
        layout.addStretch()

    def _build_find_step(self) -> None:
        _panel, layout, self._find_heading = self._panel(Step.FIND_RESIDENT, "")
        self._find_note = words_label()
        self._find_note.setAccessibleName("Note")
        layout.addWidget(self._find_note)
        self._find = QLineEdit()
        self._find.setObjectName("desk-find-resident")
        self._find.setAccessibleName("Find the resident by name, reference, phone or postcode")
        self._find.setPlaceholderText("Name, reference (R-00042), phone or postcode; Down to choose; Enter")
        self._find.setClearButtonEnabled(True)
        self._find.installEventFilter(self)
        find_label = QLabel("Find the &resident:")
        find_label.setBuddy(self._find)
        self._new_button = self._button("&New resident…", "Register a new resident", self.new_resident)
        row = QHBoxLayout()
        row.addWidget(find_label)
        row.addWidget(self._find, 1)
        row.addWidget(self._new_button)
        layout.addLayout(row)
        self._find_count = words_label()
        self._find_count.setAccessibleName("Residents found")
        layout.addWidget(self._find_count)
        self._find_model = ResidentTableModel(self._services.residents, DESK_PAGE_SIZE, self)
        self._find_table = QTableView()
        self._find_table.setModel(self._find_model)
        self._find_table.setAccessibleName("Residents found: Up and Down to choose, Enter to pick")
        self._find_table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self._find_table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self._find_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self._find_table.setTabKeyNavigation(False)
        self._find_table.setWordWrap(False)
        self._find_table.verticalHeader().setVisible(False)
        self._find_table.doubleClicked.connect(lambda _index: self._pick_resident())
        header = self._find_table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(ResidentTableModel.NAME, QHeaderView.ResizeMode.Stretch)
        layout.addWidget(self._find_table, 1)
        self._find_problem = problem_label()
        layout.addWidget(self._find_problem)
        buttons = QHBoxLayout()
        buttons.addWidget(self._back_button())
        buttons.addStretch()
        layout.addLayout(buttons)
        self._find_timer = QTimer(self)
        self._find_timer.setSingleShot(True)
        self._find_timer.setInterval(SEARCH_DELAY_MS)
        self._find_timer.timeout.connect(self._search_residents)
        self._find.textChanged.connect(lambda _text: self._find_timer.start())

    def _build_confirm_step(self) -> None:
        _panel, layout, self._confirm_heading = self._panel(Step.CONFIRM_ISSUE, "")
        self._confirm_needs = words_label()
        self._confirm_needs.setAccessibleName("The resident's needs")
        layout.addWidget(self._confirm_needs)
        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self._due = DateField()
        self._due.setAccessibleName("Due back on")
        self._due.setCalendarPopup(True)
        self._due.setDisplayFormat("dddd d MMMM yyyy")
        self._due.dateChanged.connect(self._due_changed)
        self._due_rule = words_label()
        due_row = QHBoxLayout()
        due_row.addWidget(self._due)
        due_row.addWidget(self._due_rule, 1)
        due_label = QLabel("&Due back:")
        due_label.setBuddy(self._due)
        form.addRow(due_label, due_row)
        self._kit_out_box = QGroupBox("Kit going out (untick anything not given)")
        self._kit_out_box.setAccessibleName("Kit going out")
        QVBoxLayout(self._kit_out_box)
        form.addRow(self._kit_out_box)
        self._accepted = QCheckBox("Resident has read and &accepted the agreement")
        self._accepted.setAccessibleName("Resident has read and accepted the agreement")
        self._accepted_problem = problem_label()
        form.addRow(self._accepted)
        form.addRow(self._accepted_problem)
        self._issue_late = RecordedLate("Recorded &late (it was lent earlier)")
        self._issue_late.changed.connect(self._late_issue_changed)
        form.addRow(self._issue_late)
        layout.addLayout(form)
        self._confirm_problem = problem_label()
        layout.addWidget(self._confirm_problem)
        self._issue_button = self._button("&Issue", "Issue the device", self.issue, main=True)
        self._confirm_back = self._back_button()
        buttons = QHBoxLayout()
        buttons.addWidget(self._issue_button)
        buttons.addWidget(self._confirm_back)
        buttons.addStretch()
        layout.addLayout(buttons)
        layout.addStretch()

    def _build_return_step(self) -> None:
        _panel, layout, self._return_heading = self._panel(Step.RETURN, "")
        self._return_summary = words_label()
        self._return_summary.setAccessibleName("The loan")
        bigger(self._return_summary, 1.1, bold=False)
        layout.addWidget(self._return_summary)
        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self._kit_back_box = QGroupBox("Kit back (untick anything missing: it is recorded, not a problem)")
        self._kit_back_box.setAccessibleName("Kit back")
        QVBoxLayout(self._kit_back_box)
        form.addRow(self._kit_back_box)
        self._condition = QComboBox()
        self._condition.setAccessibleName("Condition now")
        for condition in Condition:
            self._condition.addItem(condition.label, condition)
        condition_label = QLabel("Con&dition now:")
        condition_label.setBuddy(self._condition)
        form.addRow(condition_label, self._condition)
        self._fault = QLineEdit()
        self._fault.setAccessibleName("Fault, if any")
        self._fault.setPlaceholderText("e.g. Screen cracked at the corner (leave empty if none)")
        self._fault.setMaxLength(500)
        fault_label = QLabel("Fa&ult:")
        fault_label.setBuddy(self._fault)
        form.addRow(fault_label, self._fault)
        form.addRow(self._build_achieved())
        self._return_late = RecordedLate("Recorded &late (it came back earlier)")
        form.addRow(self._return_late)
        layout.addLayout(form)
        self._return_problem = problem_label()
        layout.addWidget(self._return_problem)
        self._return_button = self._button("&Return", "Return the device", self.return_device, main=True)
        self._renew_button = self._button("Re&new loan", "Renew the loan", self.renew)
        self._lost_button = self._button("Lost or s&tolen…", "Lost or stolen", self.lost_or_stolen)
        buttons = QHBoxLayout()
        self._return_back = self._back_button()
        for button in (self._return_button, self._renew_button, self._lost_button, self._return_back):
            buttons.addWidget(button)
        buttons.addStretch()
        layout.addLayout(buttons)
        layout.addStretch()

    def _build_achieved(self) -> QGroupBox:
        """The questions asked when a loan closes. 'Not asked' is the default, so a quick drop-off at a
        busy counter is never held up; the two about their own access count only once it is answered."""
        box = QGroupBox("What the loan achieved (ask if the resident is here)")
        box.setAccessibleName("What the loan achieved")
        self._reason_met = QComboBox()
        self._reason_met.setAccessibleName("Did the loan do what it was for?")
        self._reason_met.addItem("Not asked", None)
        for answer in ReasonMet:
            self._reason_met.addItem(answer.label, answer.value)
        self._reason_met.currentIndexChanged.connect(self._reason_met_changed)
        reason_label = QLabel("Did the loan do &what it was for?")
        reason_label.setBuddy(self._reason_met)
        self._loan_reason = words_label()
        self._loan_reason.setAccessibleName("What the loan was for")
        self._own_device_after = QCheckBox("Has a de&vice of their own now")
        self._own_device_after.setAccessibleName("Has a device of their own now")
        self._own_connection_after = QCheckBox("Has an internet &connection of their own now")
        self._own_connection_after.setAccessibleName("Has an internet connection of their own now")
        question = QHBoxLayout()
        question.addWidget(reason_label)
        question.addWidget(self._reason_met)
        question.addWidget(self._loan_reason, 1)
        access = QHBoxLayout()
        access.addWidget(self._own_device_after)
        access.addWidget(self._own_connection_after)
        access.addStretch()
        layout = QVBoxLayout(box)
        layout.addLayout(question)
        layout.addLayout(access)
        return box

    def _reason_met_changed(self) -> None:
        asked = self._reason_met.currentData() is not None
        boxes = (self._own_device_after, self._own_connection_after)
        for box, before in zip(boxes, self._access_before, strict=True):
            if box.isEnabled() != asked:
                box.setEnabled(asked)
                # Answered: start from what the records last said; not asked: nothing is recorded.
                box.setChecked(asked and before)

    def _build_lost_step(self) -> None:
        _panel, layout, self._lost_heading = self._panel(Step.LOST, "")
        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self._lost_outcome = QComboBox()
        self._lost_outcome.setAccessibleName("Lost or stolen")
        for outcome in (LoanOutcome.LOST, LoanOutcome.STOLEN):
            self._lost_outcome.addItem(outcome.label, outcome)
        outcome_label = QLabel("&What happened:")
        outcome_label.setBuddy(self._lost_outcome)
        form.addRow(outcome_label, self._lost_outcome)
        self._lost_reason = QLineEdit()
        self._lost_reason.setAccessibleName("Details of the loss")
        self._lost_reason.setPlaceholderText("e.g. Stolen from home, crime reference 123")
        self._lost_reason.setMaxLength(500)
        reason_label = QLabel("&Details:")
        reason_label.setBuddy(self._lost_reason)
        self._lost_problem = problem_label()
        cell = QVBoxLayout()
        cell.addWidget(self._lost_reason)
        cell.addWidget(self._lost_problem)
        form.addRow(reason_label, cell)
        layout.addLayout(form)
        self._lost_button_record = self._button(
            "Record as l&ost or stolen", "Record as lost or stolen", self.record_lost, main=True
        )
        buttons = QHBoxLayout()
        buttons.addWidget(self._lost_button_record)
        buttons.addWidget(self._back_button())
        buttons.addStretch()
        layout.addLayout(buttons)
        layout.addStretch()

    def _build_wipe_step(self) -> None:
        _panel, layout, self._wipe_heading = self._panel(Step.WIPE, "")
        self._wipe_note = words_label()
        self._wipe_note.setAccessibleName("How it came back")
        layout.addWidget(self._wipe_note)
        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self._wipe_method = QComboBox()
        self._wipe_method.setAccessibleName("Wipe method")
        for method in WipeMethod:
            self._wipe_method.addItem(method.label, method)
        method_label = QLabel("&Method:")
        method_label.setBuddy(self._wipe_method)
        form.addRow(method_label, self._wipe_method)
        checks = QGroupBox("Checklist (tick each one done)")
        checks.setAccessibleName("Wipe checklist")
        checks_layout = QVBoxLayout(checks)
        self._wipe_checks: list[QCheckBox] = []
        for caption in (
            "&Accounts signed out",
            "Factory &reset or MDM wipe done",
            "&Preloaded apps restored",
            "&Charger present",
        ):
            box = QCheckBox(caption)
            box.setAccessibleName(caption.replace("&", ""))
            self._wipe_checks.append(box)
            checks_layout.addWidget(box)
        form.addRow(checks)
        self._wipe_notes = QLineEdit()
        self._wipe_notes.setAccessibleName("Wipe notes")
        self._wipe_notes.setPlaceholderText("Anything to note (optional)")
        notes_label = QLabel("N&otes:")
        notes_label.setBuddy(self._wipe_notes)
        form.addRow(notes_label, self._wipe_notes)
        layout.addLayout(form)
        self._wipe_problem = problem_label()
        layout.addWidget(self._wipe_problem)
        self._wipe_button = self._button("Record &wipe", "Record the wipe", self.record_wipe, main=True)
        buttons = QHBoxLayout()
        buttons.addWidget(self._wipe_button)
        buttons.addWidget(self._back_button())
        buttons.addStretch()
        layout.addLayout(buttons)
        layout.addStretch()

    def _build_resident_step(self) -> None:
        _panel, layout, self._resident_heading = self._panel(Step.RESIDENT, "")
        self._resident_summary = words_label()
        self._resident_summary.setAccessibleName("The resident's loans and waiting list")
        bigger(self._resident_summary, 1.1, bold=False)
        layout.addWidget(self._resident_summary)
        self._wait_type = QComboBox()
        self._wait_type.setAccessibleName("Device type to wait for")
        self._wait_type.currentIndexChanged.connect(self._wait_type_changed)
        wait_label = QLabel("&Device type:")
        wait_label.setBuddy(self._wait_type)
        self._wait_note = words_label()
        row = QHBoxLayout()
        row.addWidget(wait_label)
        row.addWidget(self._wait_type)
        row.addWidget(self._wait_note, 1)
        layout.addLayout(row)
        self._wait_problem = problem_label()
        layout.addWidget(self._wait_problem)
        self._wait_button = self._button(
            "Add to &waiting list", "Add to the waiting list", self.join_waiting_list, main=True
        )
        buttons = QHBoxLayout()
        buttons.addWidget(self._wait_button)
        buttons.addWidget(self._back_button())
        buttons.addStretch()
        layout.addLayout(buttons)
        layout.addStretch()

    # Moving between steps

    def _go(self, step: Step) -> None:
        self._step = step
        self._stack.setCurrentWidget(self._steps[step])
        self._print_button.setVisible(step == Step.SCAN and self._last_loan is not None)
        self._certificate_button.setVisible(step == Step.SCAN and self._last_wipe is not None)
        self._focus_step()
        self.step_changed.emit(step.value)

    def _focus_step(self) -> None:
        first: dict[Step, QWidget] = {
            Step.SCAN: self._scan,
            Step.FIND_RESIDENT: self._find,
            Step.CONFIRM_ISSUE: self._accepted,
            Step.RETURN: self._return_button,
            Step.LOST: self._lost_reason,
            Step.WIPE: self._wipe_method,
            Step.RESIDENT: self._wait_type,
        }
        first[self._step].setFocus(Qt.FocusReason.OtherFocusReason)
        if self._step == Step.SCAN:
            self._scan.selectAll()

    def _say(self, text: str, *, problem: bool = False) -> None:
        # A refusal says what is wrong in its own words ("TAB-0042 cannot be lent: it is in repair").
        self._outcome.setText(text)
        self._outcome.setAccessibleDescription("Not done" if problem else "Done")
        if not problem:
            self.notice.emit(text)

    def _printing_done(self, message: str) -> None:
        self.notice.emit(message)
        self._back_to_work()

    def _printing_failed(self, message: str) -> None:
        self._say(message, problem=True)
        self.notice.emit(message)  # also in the status bar, in case the desk has moved on
        self._back_to_work()

    def _back_to_work(self) -> None:
        """After the print and progress dialogs, the keys go to the desk again, ready for the next scan."""
        self.window().activateWindow()
        self._focus_step()

    def _done(self, text: str, *, agreement: Loan | None = None, certificate: Wipe | None = None) -> None:
        """After a change: say what was done, ready for the next scan (and to print what it produced)."""
        self._last_loan = agreement
        self._last_wipe = certificate
        self._say(text)
        self._scan.clear()
        self._refresh_warnings()
        self._go(Step.SCAN)
        self.changed.emit()

    def _scanned(self) -> None:
        text = self._scan.text().strip()
        if not text:
            return
        self._scan.selectAll()  # the next scan replaces this one
        self._last_loan = self._last_wipe = None
        self._print_button.setVisible(False)
        self._certificate_button.setVisible(False)
        try:
            device = self._services.inventory.find(text)
            if device is not None:
                self._device_scanned(device)
                return
            reference = normalise_reference(text)
            if REFERENCE.match(reference):
                self._resident_back = Step.SCAN
                self._open_resident(self._services.residents.get(reference))
                return
            if self._services.residents.count(text, at_most=1):
                self.find_resident(text)
                return
        except DomainError as error:
            self._say(problem_words(error), problem=True)
            return
        self._say(
            f"No device has the tag '{text.upper()}', and no resident matches it. "
            "Check the label, or type a resident's name or reference.",
            problem=True,
        )

    def _device_scanned(self, device: Device) -> None:
        self._device = device
        if device.status == DeviceStatus.AVAILABLE:
            self._start_find("", for_issue=True)
        elif device.status == DeviceStatus.ON_LOAN:
            loan = self._services.lending.open_loan(device.tag)
            if loan is None:
                self._say(
                    f"{device.tag} is marked on loan but has no open loan. Check it in Inventory.",
                    problem=True,
                )
                return
            self._start_return(device, loan)
        elif device.status == DeviceStatus.AWAITING_WIPE:
            self._start_wipe(device)
        else:
            self._say(self._blocked_words(device), problem=True)

    def _blocked_words(self, device: Device) -> str:
        try:
            check_can_issue(device.tag, device.status)
        except LoanRefused as refusal:
            text = str(refusal)
        else:  # pragma: no cover  (only the statuses above reach here)
            text = f"{device.tag} cannot be lent now."
        history = self._services.inventory.history(device.tag)
        why = history[-1].reason if history else ""
        return " ".join(
            part
            for part in (text, f"Recorded: {why}." if why else "", _BLOCKED_ADVICE.get(device.status, ""))
            if part
        )

    # Issue

    def _start_find(self, text: str, *, for_issue: bool) -> None:
        self._finding_for_issue = for_issue
        device = self._device
        if for_issue and device is not None:
            self._find_heading.setText(f"Lend {device_words(device)}: who is borrowing it?")
            holder = next(
                (
                    e
                    for e in self._services.lending.waiting_list(device.device_type)
                    if e.offered_tag == device.tag
                ),
                None,
            )
            self._find_note.setText(
                f"Held for {holder.resident_reference} {holder.resident_name} from the waiting list"
                + (
                    f" until {day_text(holder.offer_expires_on, self._today())}"
                    if holder.offer_expires_on
                    else ""
                )
                + "."
                if holder
                else ""
            )
        else:
            self._find_heading.setText("Find a resident: their loans, and the waiting list")
            self._find_note.setText("")
        self._find_note.setVisible(bool(self._find_note.text()))
        show_problem(self._find_problem, self._find, "")
        self._find.blockSignals(True)
        self._find.setText(text)
        self._find.blockSignals(False)
        self._search_residents()
        self._go(Step.FIND_RESIDENT)
        self._find.selectAll()

    def _search_residents(self) -> None:
        self._find_timer.stop()
        self._find_model.set_search(self._find.text())
        total = self._find_model.total
        text = self._find.text().strip()
        if not text:
            self._find_count.setText(
                f"{total:,} resident{'s' if total != 1 else ''} registered. Type to find one."
            )
        elif total == 0:
            self._find_count.setText(
                f"No resident matches '{text}'. Check the spelling, or add a new resident."
            )
        elif total == 1:
            self._find_count.setText("1 resident matches: Enter picks them.")
        else:
            self._find_count.setText(f"{total:,} residents match: Down to choose, or type more.")
        show_problem(self._find_problem, self._find, "")

    def _move_in_list(self, step: int) -> None:
        if self._find_timer.isActive():
            self._search_residents()
        rows = self._find_model.rowCount()
        if rows == 0:
            return
        current = self._find_table.currentIndex().row()
        row = 0 if current < 0 else max(0, min(rows - 1, current + step))
        index = self._find_model.index(row, ResidentTableModel.NAME)
        self._find_table.selectionModel().setCurrentIndex(
            index,
            QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows,
        )
        self._find_table.scrollTo(index)

    def _pick_resident(self) -> None:
        if self._find_timer.isActive():
            self._search_residents()
        text = self._find.text().strip()
        reference = normalise_reference(text)
        if REFERENCE.match(reference):  # a scanned card, or a reference typed in full
            try:
                self._chose(self._services.residents.get(reference))
            except DomainError as error:
                show_problem(self._find_problem, self._find, problem_words(error))
            return
        current = self._find_table.currentIndex()
        if current.isValid() and self._find_table.selectionModel().isRowSelected(current.row()):
            self._chose(self._find_model.resident(current.row()))
            return
        total = self._find_model.total
        if total == 1:
            self._chose(self._find_model.resident(0))
            return
        if total == 0:
            message = (
                f"No resident matches '{text}'. Check the spelling, "
                "or register them with New resident (Alt+N)."
                if text
                else "Type the resident's name, reference, phone or postcode."
            )
        else:
            message = f"{total:,} residents match: press Down to choose one, or type more of the name."
        show_problem(self._find_problem, self._find, message)
        self._find.setFocus()

    def _chose(self, resident: Resident) -> None:
        self._resident = resident
        if self._finding_for_issue and self._device is not None:
            self._start_confirm(self._device, resident)
        else:
            self._resident_back = Step.FIND_RESIDENT
            self._open_resident(resident)

    def _start_confirm(self, device: Device, resident: Resident) -> None:
        device = self._services.inventory.find(device.tag) or device  # kit as it is now
        self._device = device
        self._confirm_heading.setText(f"Lend {device_words(device)} to {resident_words(resident)}")
        contact = f"Contact: {resident.contact}." if resident.contact else "No contact details recorded."
        needs = needs_words(resident)
        self._confirm_needs.setText(" ".join(part for part in (contact, needs) if part))
        rules = self._services.lending.rules()
        days = rules.loan_days.get(device.device_type, 28)
        self._due_rule.setText(f"{days} days, the loan period for {a_type(device.device_type)}")
        self._issue_late.reset(self._clock())
        self._due_edited = False
        self._set_due(rules.due_on(device.device_type, self._today()), minimum=self._today())
        self._kit_out = self._fill_kit(
            self._kit_out_box, device.kit, "goes out", "No kit is recorded for this device."
        )
        # Kit boxes are made afresh for each device: put them back in reading order for Tab.
        chain_tab_order(
            [self._due, *self._kit_out, self._accepted, *self._issue_late.controls(), self._issue_button]
            + [self._confirm_back]
        )
        self._accepted.setChecked(False)
        for label in (self._accepted_problem, self._confirm_problem):
            show_problem(label, None, "")
        self._go(Step.CONFIRM_ISSUE)

    def _set_due(self, due: date, *, minimum: date) -> None:
        self._setting_due = True
        self._due.setMinimumDate(to_qdate(minimum))
        self._due.setDate(to_qdate(due))
        self._setting_due = False

    def _due_changed(self) -> None:
        if not self._setting_due:
            self._due_edited = True

    def _late_issue_changed(self) -> None:
        """A loan recorded late runs from the day it really started (unless staff chose the due date)."""
        device = self._device
        if device is None:
            return
        when = self._issue_late.when()
        start = when.astimezone().date() if when else self._today()
        if not self._due_edited:
            rules = self._services.lending.rules()
            self._set_due(rules.due_on(device.device_type, start), minimum=start)
        else:
            self._set_due(max(from_qdate(self._due.date()), start), minimum=start)

    def _fill_kit(self, box: QGroupBox, names: tuple[str, ...], verb: str, empty: str) -> list[QCheckBox]:
        layout = box.layout()
        assert layout is not None
        while layout.count():
            item = layout.takeAt(0)
            widget = item.widget() if item is not None else None
            if widget is not None:
                widget.hide()
                widget.deleteLater()
        boxes = []
        for name in names:
            check = QCheckBox(name)
            check.setProperty("kit", name)
            check.setAccessibleName(f"{name} {verb}")
            check.setChecked(True)
            layout.addWidget(check)
            boxes.append(check)
        if not names:
            layout.addWidget(words_label(empty))
        return boxes

    # Return

    def _start_return(self, device: Device, loan: Loan) -> None:
        self._loan = loan
        today = self._today()
        self._return_heading.setText(f"{device_words(device)} is on loan")
        late = loan.days_overdue(today)
        when = (
            f"overdue by {late} day{'s' if late != 1 else ''}"
            if late
            else ("due today" if loan.due_on == today else f"due {long_day_text(loan.due_on, today)}")
        )
        contact = f" ({loan.resident_contact})" if loan.resident_contact else ""
        renewed = (
            f", renewed {loan.renewals} time{'s' if loan.renewals != 1 else ''}" if loan.renewals else ""
        )
        self._return_summary.setText(
            f"Lent to {loan.resident_reference} {loan.resident_name}{contact} on "
            f"{long_day_text(loan.issued_at.astimezone().date(), today)}{renewed}: {when}."
        )
        out = tuple(line.name for line in loan.kit if line.out)
        self._kit_back = self._fill_kit(
            self._kit_back_box, out, "came back", "No kit went out with this loan."
        )
        chain_tab_order(
            [*self._kit_back, self._condition, self._fault, self._reason_met]
            + [self._own_device_after, self._own_connection_after, *self._return_late.controls()]
            + [self._return_button, self._renew_button, self._lost_button, self._return_back]
        )
        self._condition.setCurrentIndex(self._condition.findData(device.condition))
        self._fault.clear()
        self._start_achieved(loan)
        self._return_late.reset(self._clock())
        show_problem(self._return_problem, None, "")
        self._go(Step.RETURN)

    def _start_achieved(self, loan: Loan) -> None:
        """Reset the questions for this loan: what it was for, and the resident's access as last recorded."""
        try:
            borrower = self._services.residents.get(loan.resident_reference)
            staff = self._services.accounts.signed_in()
            # Desk staff may not read skills checks: their access as last recorded then comes from loans.
            checks = (
                self._services.skills.checks_of(loan.resident_reference)
                if staff is not None and staff.may(Permission.LOG_SUPPORT)
                else []
            )
            self._access_before = own_access(checks, self._services.lending.loans_of(loan.resident_reference))
        except DomainError:  # the resident went since the loan was read: the return itself says so
            self._status_before, self._access_before = None, (False, False)
            self._loan_reason.setText("")
        else:
            self._status_before = borrower.inclusion_status
            reason, partner = borrower.referral_reason, borrower.referral_partner
            by = f" by {partner}" if partner else ""
            self._loan_reason.setText(
                (f"Referred{by}." if by else "")
                if reason is ReferralReason.OTHER
                else f"Referred{by} for: {reason.label}."
            )
        self._reason_met.setCurrentIndex(0)
        self._reason_met_changed()

    def _status_news(self, closed: Loan) -> str:
        """' Maureen Clarke is now supported.' when the return moved the resident's status; '' if not."""
        try:
            status = self._services.residents.get(closed.resident_reference).inclusion_status
        except DomainError:
            return ""
        if self._status_before is None or status is self._status_before:
            return ""
        return f" {closed.resident_name} is now {status.label.lower()}."

    # Wipe

    def _start_wipe(self, device: Device) -> None:
        self._wipe_heading.setText(f"Record the wipe of {device_words(device)}")
        # The last status change says how it came back (e.g. "Returned; missing: Charger").
        history = self._services.inventory.history(device.tag)
        last = history[-1] if history else None
        self._wipe_note.setText(
            f"Last recorded, {day_text(last.at, self._today())} by {last.by}: {last.reason}." if last else ""
        )
        self._wipe_method.setCurrentIndex(0)
        for box in self._wipe_checks:
            box.setChecked(False)
        self._wipe_notes.clear()
        show_problem(self._wipe_problem, None, "")
        self._go(Step.WIPE)

    # One resident and the waiting list

    def _open_resident(self, resident: Resident) -> None:
        self._resident = resident
        self._device = None
        today = self._today()
        self._resident_heading.setText(resident_words(resident))
        lines = [f"Contact: {resident.contact}." if resident.contact else "No contact details recorded."]
        if needs := needs_words(resident):
            lines.append(needs)
        lines.append(f"Inclusion status: {resident.inclusion_status.label}.")
        loans = [loan for loan in self._services.lending.loans_of(resident.reference) if loan.is_open]
        if loans:
            lines.append(
                "On loan now: "
                + "; ".join(
                    f"{loan.device_tag} due {day_text(loan.due_on, today)}"
                    + (f" (overdue by {loan.days_overdue(today)} days)" if loan.days_overdue(today) else "")
                    for loan in loans
                )
                + "."
            )
        else:
            lines.append("No device on loan now.")
        waits = [
            e for e in self._services.lending.waiting_list() if e.resident_reference == resident.reference
        ]
        if waits:
            lines.append(
                "Waiting for: "
                + "; ".join(
                    e.device_type.label.lower() + (f" (offered {e.offered_tag})" if e.offered_tag else "")
                    for e in waits
                )
                + "."
            )
        self._resident_summary.setText("\n".join(lines))
        self._wait_type.blockSignals(True)
        self._wait_type.clear()
        for device_type in DeviceType:
            if device_type == DeviceType.ACCESSORY:
                continue
            available = self._services.inventory.count(
                DeviceFilter(device_type=device_type, status=DeviceStatus.AVAILABLE)
            )
            self._wait_type.addItem(f"{device_type.label} ({available} available)", device_type)
            self._wait_type.setItemData(self._wait_type.count() - 1, available, Qt.ItemDataRole.UserRole + 1)
        self._wait_type.blockSignals(False)
        self._wait_type_changed()
        show_problem(self._wait_problem, None, "")
        self._go(Step.RESIDENT)

    def _wait_type_changed(self) -> None:
        available = self._wait_type.currentData(Qt.ItemDataRole.UserRole + 1) or 0
        device_type = self._wait_type.currentData()
        if device_type is None:
            self._wait_note.setText("")
            return
        self._wait_note.setText(
            f"{available} available now: scan one to lend it instead."
            if available
            else "None available now: Enter adds them to the waiting list for "
            f"{a_type(DeviceType(device_type))}."
        )

    # Helpers

    def _today(self) -> date:
        return self._clock().astimezone().date()

    def _refresh_warnings(self) -> None:
        try:
            expiring = self._services.lending.sims_expiring(self._today())
        except DomainError:
            expiring = []
        if not expiring:
            self._warnings.setText("")
            self._warnings.setVisible(False)
            return
        today = self._today()
        days = self._services.lending.rules().sim_warning_days

        def listed(plans: list[tuple[Loan, DataPlan]]) -> str:
            shown = [
                f"{loan.device_tag} ({loan.resident_reference} {loan.resident_name}, "
                f"{day_text(plan.expires_on, today) if plan.expires_on else 'no date'})"
                for loan, plan in plans[:3]
            ]
            return "; ".join(shown) + (f" and {len(plans) - 3} more" if len(plans) > 3 else "")

        ran_out = [(loan, plan) for loan, plan in expiring if plan.expires_on and plan.expires_on < today]
        soon = [pair for pair in expiring if pair not in ran_out]
        parts = [f"Data on loan that has run out: {listed(ran_out)}." if ran_out else ""]
        parts.append(f"Data on loan that runs out within {days} days: {listed(soon)}." if soon else "")
        self._warnings.setText(" ".join(part for part in parts if part))
        self._warnings.setVisible(True)
