"""The residents page: find residents as you type; one resident's details, inclusion status, loans, waits and
skills checks over time; add and edit; record a skills check."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from functools import partial

from PySide6.QtCore import QItemSelectionModel, QModelIndex, Qt, QTimer, Signal
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFormLayout,
    QFrame,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QScrollArea,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from digiknow_desk.app import Services
from digiknow_desk.domain.errors import DomainError
from digiknow_desk.domain.inclusion import InclusionStatus
from digiknow_desk.domain.loans import WaitStatus
from digiknow_desk.domain.residents import ConsentPurpose, Resident
from digiknow_desk.domain.sessions import SessionFilter
from digiknow_desk.domain.skills import SkillsCheck
from digiknow_desk.domain.staff import Permission, StaffMember
from digiknow_desk.services.context import system_clock
from digiknow_desk.ui.errors import problem_words
from digiknow_desk.ui.printing import DocumentPrinting, Printable
from digiknow_desk.ui.resident_dialog import AskResident, ask_resident
from digiknow_desk.ui.resident_table_model import (
    RECORD_ROLE,
    ResidentLoansTableModel,
    ResidentTableModel,
    SkillsProgressModel,
    day_text,
    inclusion_words,
)
from digiknow_desk.ui.skills_dialog import AskSkillsCheck, ask_skills_check
from digiknow_desk.ui.tasks import Task, TaskRunner
from digiknow_desk.ui.widgets import action_button, make_list_table, page_action, size_columns

SEARCH_DELAY_MS = 0  # a search takes milliseconds (paged in SQL); see inventory_page


NOT_FOR_ROLE = "not shown to your role."


def not_for_role(staff: StaffMember | None, permission: Permission) -> str:
    """Why a control is disabled for the signed-in staff member, and what to do instead."""
    who = f"Signed in as {staff.role.label}" if staff is not None else "Signed out"
    return f"{who}, you cannot {permission.label}: ask a coordinator or an administrator."


def residents_text(count: int, *, counted_all: bool = True) -> str:
    if not counted_all:
        return f"More than {count:,} residents: type more to narrow the list"
    return "No residents" if count == 0 else f"{count:,} resident{'s' if count != 1 else ''}"


class ResidentsPage(QWidget):
    """Every resident, searchable by name, reference, phone or postcode; the selected resident's details,
    inclusion status (and why), consents, loans, waiting-list entries and skills checks over time; add and
    edit through the resident form; record a skills check; print their card."""

    changed = Signal()  # after a resident is added or edited, or a skills check recorded
    notice = Signal(str)  # what was just done, for the status bar

    DETAIL_FIELDS = (
        ("reference", "Reference"),
        ("inclusion", "Inclusion status"),
        ("contact", "Contact"),
        ("place", "Postcode and ward"),
        ("age_band", "Age band"),
        ("language", "Language"),
        ("needs", "Needs"),
        ("referral", "Referral"),
        ("consents", "Consent"),
        ("waiting", "Waiting list"),
    )

    def __init__(
        self,
        services: Services,
        tasks: TaskRunner,
        parent: QWidget | None = None,
        *,
        clock: Callable[[], datetime] = system_clock,
        ask_resident: AskResident = ask_resident,
        ask_skills_check: AskSkillsCheck = ask_skills_check,
        printing: DocumentPrinting | None = None,
    ) -> None:
        super().__init__(parent)
        self._services = services
        self._tasks = tasks
        self._clock = clock
        self._ask_resident = ask_resident
        self._ask_skills_check = ask_skills_check
        self._printing = printing or DocumentPrinting(tasks, self)
        self._printing.finished.connect(self._set_notice)
        self._printing.failed.connect(self._set_notice)
        self._shown_reference: str | None = None
        # What this staff member's role may do, read once: the main window builds the pages again
        # for anyone signing in with another role.
        self._staff = services.accounts.signed_in()

        # Finding residents
        self._search = QLineEdit()
        self._search.setObjectName("residents-search")
        self._search.setAccessibleName("Search residents by name, reference, phone or postcode")
        self._search.setPlaceholderText("Name, reference (R-00042), phone or postcode")
        self._search.setClearButtonEnabled(True)
        self._count = QLabel()
        self._count.setAccessibleName("Residents found")
        self._search_timer = QTimer(self)
        self._search_timer.setSingleShot(True)
        self._search_timer.setInterval(SEARCH_DELAY_MS)
        self._search_timer.timeout.connect(self.apply_search)
        self._search.textChanged.connect(lambda _text: self._search_timer.start())
        self._search.returnPressed.connect(self._search_entered)

        # The list
        self._model = ResidentTableModel(services.residents, parent=self)
        self._table = QTableView()
        self._table.setObjectName("residents-table")
        self._table.setModel(self._model)
        self._table.setAccessibleName("Residents")
        self._table.setAccessibleDescription(
            "One row per resident, by name. Press Enter to edit the resident."
        )
        make_list_table(self._table)
        self._table.setTabKeyNavigation(False)  # Tab leaves the table
        self._size_columns()
        self._table.activated.connect(lambda _index: self.edit_resident())
        selection = self._table.selectionModel()
        selection.currentRowChanged.connect(self._current_changed)
        selection.selectionChanged.connect(lambda *_: self._update_actions())

        # The selected resident
        self._details_box = QGroupBox("Resident details")
        self._empty_details = QLabel("Select a resident to see their details, loans and waiting list.")
        self._empty_details.setWordWrap(True)
        self._detail_values: dict[str, QLabel] = {}
        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        for key, caption in self.DETAIL_FIELDS:
            value = QLabel()
            value.setWordWrap(True)
            value.setTextFormat(Qt.TextFormat.PlainText)
            value.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            value.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
            self._detail_values[key] = value
            form.addRow(f"{caption}:", value)
        fields = QWidget()
        fields.setLayout(form)
        self._details_fields = QScrollArea()
        self._details_fields.setWidget(fields)
        self._details_fields.setWidgetResizable(True)
        self._details_fields.setFrameShape(QFrame.Shape.NoFrame)
        self._details_fields.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self._details_fields.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self._loans_model = ResidentLoansTableModel(self)
        self._loans = QTableView()
        self._loans.setModel(self._loans_model)
        self._loans.setAccessibleName("Loans of the selected resident, newest first")
        self._loans.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self._loans.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self._loans.setTabKeyNavigation(False)
        self._loans.setWordWrap(False)
        self._loans.verticalHeader().setVisible(False)
        loans_header = self._loans.horizontalHeader()
        loans_header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        loans_header.setSectionResizeMode(ResidentLoansTableModel.DEVICE, QHeaderView.ResizeMode.Stretch)
        self._loans.setMinimumHeight(self.fontMetrics().lineSpacing() * 6)
        self._loans_label = QLabel("&Loans (open and past):")
        self._loans_label.setBuddy(self._loans)
        self._skills_model = SkillsProgressModel(self)
        self._skills = QTableView()
        self._skills.setModel(self._skills_model)
        self._skills.setAccessibleName("Skills checks of the selected resident, the baseline first")
        self._skills.setAccessibleDescription(
            "One row per skill area, then their own device and connection; one column per check. "
            "An arrow shows a level that moved since the check before."
        )
        self._skills.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectItems)
        self._skills.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self._skills.setTabKeyNavigation(False)
        self._skills.setWordWrap(False)
        self._skills.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self._skills.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self._skills_label = QLabel("Skills o&ver time:")
        self._skills_label.setBuddy(self._skills)
        self._no_skills = QLabel()
        self._no_skills.setWordWrap(True)
        self._no_skills.setTextFormat(Qt.TextFormat.PlainText)
        self._loans_hidden = QLabel(f"Loans: {NOT_FOR_ROLE}")
        self._loans_hidden.setWordWrap(True)
        self._loans_hidden.setAccessibleName("Loans")
        loans_layout = QVBoxLayout()
        loans_layout.addWidget(self._loans_label)
        loans_layout.addWidget(self._loans, 1)
        loans_layout.addWidget(self._loans_hidden)
        skills_layout = QVBoxLayout()
        skills_layout.addWidget(self._skills_label)
        skills_layout.addWidget(self._skills, 1)
        skills_layout.addWidget(self._no_skills)
        skills_layout.addStretch()
        # Loans above skills, so each table has the width for its columns (a check is a column).
        records_layout = QVBoxLayout()
        records_layout.addLayout(loans_layout, 1)
        records_layout.addLayout(skills_layout)
        details_layout = QHBoxLayout(self._details_box)
        details_layout.addWidget(self._empty_details, 1)
        details_layout.addWidget(self._details_fields, 1)
        details_layout.addLayout(records_layout, 2)

        # Actions: the buttons, plus shortcuts that work anywhere on the page
        self._add_action = page_action(self, "Add resident", "Ctrl+Shift+N", self.add_resident)
        self._edit_action = page_action(self, "Edit resident", "Ctrl+E", self.edit_resident)
        self._find_action = page_action(
            self, "Find residents", QKeySequence.StandardKey.Find, self.focus_search
        )
        self._card_action = page_action(self, "Print resident card", None, self.print_card)
        self._skills_action = page_action(self, "Record skills check", None, self.record_skills_check)
        self._add_button = action_button("&Add resident…", self._add_action)
        self._edit_button = action_button("&Edit…", self._edit_action)
        self._card_button = action_button("Print &card…", self._card_action)
        self._card_button.setToolTip(
            "Print the selected resident's card, with the QR code of their reference, or save it as a PDF"
        )
        self._skills_button = action_button("Record s&kills check…", self._skills_action)
        self._skills_button.setToolTip(
            "Record what the selected resident can do in each skill area, starting from their last check "
            "(Alt+K)"
        )
        for permission, controls in (
            (
                Permission.EDIT_RESIDENTS,
                (self._add_action, self._add_button, self._edit_action, self._edit_button),
            ),
            (Permission.LEND, (self._card_action, self._card_button)),
            (Permission.LOG_SUPPORT, (self._skills_action, self._skills_button)),
        ):
            if not self._may(permission):
                why = not_for_role(self._staff, permission)
                for control in controls:
                    control.setEnabled(False)
                    control.setToolTip(why)
                    if isinstance(control, QWidget):
                        control.setAccessibleDescription(why)
        self._notice = QLabel()
        self._notice.setWordWrap(True)
        self._notice.setTextFormat(Qt.TextFormat.PlainText)
        self._notice.setAccessibleName("Last action")

        # Layout
        buttons = QHBoxLayout()
        buttons.addWidget(self._add_button)
        buttons.addWidget(self._edit_button)
        buttons.addWidget(self._card_button)
        buttons.addWidget(self._skills_button)
        buttons.addStretch()
        search_row = QHBoxLayout()
        search_label = QLabel("Fi&nd:")
        search_label.setBuddy(self._search)
        search_row.addWidget(search_label)
        search_row.addWidget(self._search, 1)
        search_row.addSpacing(self.fontMetrics().averageCharWidth() * 2)
        search_row.addWidget(self._count)
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.setChildrenCollapsible(False)
        splitter.addWidget(self._table)
        splitter.addWidget(self._details_box)
        splitter.setStretchFactor(0, 1)
        splitter.setStretchFactor(1, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(buttons)
        layout.addLayout(search_row)
        layout.addWidget(splitter, 1)
        layout.addWidget(self._notice)
        self.setTabOrder(self._add_button, self._edit_button)
        self.setTabOrder(self._edit_button, self._card_button)
        self.setTabOrder(self._card_button, self._skills_button)
        self.setTabOrder(self._skills_button, self._search)
        self.setTabOrder(self._search, self._table)
        self.setTabOrder(self._table, self._loans)
        self.setTabOrder(self._loans, self._skills)

        self.apply_search()

    # Read by the main window and the tests

    @property
    def model(self) -> ResidentTableModel:
        return self._model

    @property
    def table(self) -> QTableView:
        return self._table

    @property
    def loans_model(self) -> ResidentLoansTableModel:
        return self._loans_model

    @property
    def skills_model(self) -> SkillsProgressModel:
        return self._skills_model

    @property
    def search_box(self) -> QLineEdit:
        return self._search

    @property
    def count_text(self) -> str:
        return self._count.text()

    @property
    def notice_text(self) -> str:
        return self._notice.text()

    @property
    def shown_reference(self) -> str | None:
        """The reference of the resident whose details are shown."""
        return self._shown_reference

    @property
    def loans_note(self) -> str:
        """The line said instead of the loans table ('' while the table is shown)."""
        return "" if self._loans_hidden.isHidden() else self._loans_hidden.text()

    @property
    def skills_note(self) -> str:
        """The line said instead of the skills table ('' while the table is shown)."""
        return "" if self._no_skills.isHidden() else self._no_skills.text()

    def detail_text(self, key: str) -> str:
        """One value shown in the details panel, e.g. detail_text('consents')."""
        return self._detail_values[key].text()

    def current_resident(self) -> Resident | None:
        index = self._table.currentIndex()
        if not index.isValid() or not self._table.selectionModel().isRowSelected(index.row(), QModelIndex()):
            return None
        resident: Resident = self._model.data(index, RECORD_ROLE)
        return resident

    # Public actions

    def apply_search(self) -> None:
        """Show the residents matching the search box now (typing calls this straight after)."""
        self._search_timer.stop()
        keep = self._shown_reference
        self._model.set_search(self._search.text())
        self._count.setText(residents_text(self._model.total, counted_all=self._model.counted_all))
        if keep is None or not self._select_reference(keep, fetch=False):
            self._show_details(None)
        self._update_actions()

    def refresh(self) -> None:
        """Read the list and the shown resident again (e.g. after a loan at the desk)."""
        keep = self._shown_reference
        self._model.refresh()
        self._count.setText(residents_text(self._model.total, counted_all=self._model.counted_all))
        if keep is None or not self._select_reference(keep, fetch=False):
            self._show_details(None)
        self._update_actions()

    def show_resident(self, reference: str) -> bool:
        """Search for the resident with `reference`, select them and show their details; False if none."""
        try:
            resident = self._services.residents.get(reference)
        except DomainError:
            return False
        self._search.blockSignals(True)
        self._search.setText(resident.reference)
        self._search.blockSignals(False)
        self._shown_reference = None
        self.apply_search()
        if not self._select_reference(resident.reference, fetch=True):
            return False
        self._table.setFocus()
        return True

    def focus_search(self) -> None:
        self._search.setFocus()
        self._search.selectAll()

    def add_resident(self, name: str = "") -> Resident | None:
        """Open the resident form for someone new."""
        if not self._may(Permission.EDIT_RESIDENTS):
            self._set_notice(not_for_role(self._staff, Permission.EDIT_RESIDENTS))
            return None
        saved = self._ask_resident(self._services, self, None, name)
        if saved is not None:
            self._changed(f"Registered {saved.reference} {saved.name}.", saved.reference)
        return saved

    def edit_resident(self) -> Resident | None:
        current = self.current_resident()
        if current is None:
            return None
        if not self._may(Permission.EDIT_RESIDENTS):  # Enter in the list asks for the form too
            self._set_notice(not_for_role(self._staff, Permission.EDIT_RESIDENTS))
            return None
        try:
            resident = self._services.residents.get(current.reference)  # as it is now
        except DomainError as error:
            self._set_notice(problem_words(error))
            self.refresh()
            return None
        saved = self._ask_resident(self._services, self, resident, "")
        if saved is not None:
            self._changed(f"Saved the changes to {saved.reference} {saved.name}.", saved.reference)
        return saved

    def record_skills_check(self) -> SkillsCheck | None:
        """Open the skills check form for the selected resident, started from their last check."""
        current = self.current_resident()
        if current is None:
            self._set_notice("Select a resident first, then record their skills check.")
            return None
        if not self._may(Permission.LOG_SUPPORT):
            self._set_notice(not_for_role(self._staff, Permission.LOG_SUPPORT))
            return None
        try:
            resident = self._services.residents.get(current.reference)  # as it is now
        except DomainError as error:
            self._set_notice(problem_words(error))
            self.refresh()
            return None
        before = resident.inclusion_status
        saved = self._ask_skills_check(self._services, self, resident)
        if saved is None:
            return None
        after = self._services.residents.get(resident.reference).inclusion_status
        kind = "baseline skills check" if saved.baseline else "skills check"
        self._changed(
            f"Recorded a {kind} for {resident.reference} {resident.name}"
            + (f": now {after.label.lower()}." if after is not before else "."),
            resident.reference,
        )
        return saved

    def print_card(self) -> Task | None:
        """Print or save the selected resident's card, with the QR code of their reference."""
        resident = self.current_resident()
        if resident is None:
            self._set_notice("Select a resident first, then print their card.")
            return None
        if not self._may(Permission.LEND):
            self._set_notice(not_for_role(self._staff, Permission.LEND))
            return None
        write = partial(self._services.documents.resident_card, resident.reference)
        return self._printing.offer(
            self,
            Printable(
                f"the resident card for {resident.reference} {resident.name}",
                f"resident-card-{resident.reference}.pdf",
                write,
            ),
        )

    # Helpers

    def _size_columns(self) -> None:
        samples = {
            ResidentTableModel.REFERENCE: "R-00000",
            ResidentTableModel.POSTCODE: "SK10 0XX",
            ResidentTableModel.WARD: "Bredbury Green and Romiley",
            ResidentTableModel.PHONE: "0161 000 0000",
            ResidentTableModel.AGE_BAND: "Prefer not to say",
            ResidentTableModel.INCLUSION: "Independently included",
        }
        size_columns(self._table, samples, ResidentTableModel.NAME)

    def _search_entered(self) -> None:
        self.apply_search()
        if self._model.rowCount() and self._table.currentIndex().row() < 0:
            self._select_row(0)
        if self._model.rowCount():
            self._table.setFocus()

    def _select_reference(self, reference: str, *, fetch: bool) -> bool:
        row = self._model.row_of(reference, fetch=fetch)
        if row is None:
            return False
        self._select_row(row)
        return True

    def _select_row(self, row: int) -> None:
        index = self._model.index(row, ResidentTableModel.NAME)
        self._table.selectionModel().setCurrentIndex(
            index,
            QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows,
        )
        self._table.scrollTo(index)
        self._show_details(self._model.resident(row))

    def _current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        self._show_details(self._model.resident(current.row()) if current.isValid() else None)
        self._update_actions()

    def _show_details(self, resident: Resident | None) -> None:
        self._shown_reference = resident.reference if resident else None
        self._empty_details.setVisible(resident is None)
        self._details_fields.setVisible(resident is not None)
        may_lend = self._may(Permission.LEND)
        may_support = self._may(Permission.LOG_SUPPORT)
        for widget in (self._loans, self._loans_label):
            widget.setVisible(resident is not None and may_lend)
        self._loans_hidden.setVisible(resident is not None and not may_lend)
        self._skills_label.setVisible(resident is not None and may_support)
        today = self._today()
        if resident is None:
            self._details_box.setTitle("Resident details")
            self._loans_model.set_loans([], today)
            self._show_skills([], today)
            return
        self._details_box.setTitle(f"{resident.reference} {resident.name}")
        contact = "\n".join(part for part in (resident.phone, resident.email, resident.address) if part)
        needs = [
            need
            for need, wanted in (
                ("Large print", resident.large_print),
                ("Interpreter", resident.interpreter),
                (resident.access_needs, bool(resident.access_needs)),
            )
            if wanted
        ]
        referral = resident.referral_reason.label + (
            f", referred by {resident.referral_partner}" if resident.referral_partner else ""
        )
        consents = "\n".join(
            f"{consent.purpose.label} (given {day_text(consent.given_on, today)})"
            for consent in sorted(
                resident.consents, key=lambda consent: list(ConsentPurpose).index(consent.purpose)
            )
        )
        # Each part is read only when the role may see it: a part not read is said to be not shown,
        # never shown empty (which would say "no loans" of someone with a tablet at home).
        loans, waits, checks, sessions = [], [], [], 0
        try:
            if may_lend:
                loans = self._services.lending.loans_of(resident.reference)
                waits = [
                    entry
                    for entry in self._services.lending.waiting_list()
                    if entry.resident_reference == resident.reference
                ]
            if may_support:
                checks = self._services.skills.checks_of(resident.reference)
                sessions = self._services.sessions.count(SessionFilter(resident_reference=resident.reference))
        except DomainError as error:  # removed or renamed since the list was read
            self._set_notice(problem_words(error))
            loans, waits, checks, sessions = [], [], [], 0
        if (may_lend and may_support) or resident.inclusion_status is InclusionStatus.NOT_YET_SUPPORTED:
            inclusion = inclusion_words(
                resident.inclusion_status, self._services.inclusion.rule(), checks, loans, sessions
            )
        else:  # the why would be read from records this role does not see
            inclusion = resident.inclusion_status.label
        waiting = "\n".join(
            f"{entry.device_type.label}: "
            + (
                f"offered {entry.offered_tag}"
                + (f" until {day_text(entry.offer_expires_on, today)}" if entry.offer_expires_on else "")
                if entry.status == WaitStatus.OFFERED
                else f"waiting since {day_text(entry.joined_at, today)}"
            )
            for entry in waits
        )
        values = {
            "reference": resident.reference,
            "inclusion": inclusion,
            "contact": contact or "None recorded",
            "place": ", ".join(part for part in (resident.postcode, resident.ward_name) if part)
            or "Not known",
            "age_band": resident.age_band.label,
            "language": resident.language,
            "needs": "\n".join(needs) or "None recorded",
            "referral": referral,
            "consents": consents or "None recorded",
            "waiting": (waiting or "Not waiting") if may_lend else NOT_FOR_ROLE.capitalize(),
        }
        for key, value in values.items():
            self._detail_values[key].setText(value)
        self._loans_model.set_loans(loans, today)
        self._loans.setAccessibleName(f"Loans of {resident.reference} {resident.name}, newest first")
        self._show_skills(checks, today)
        self._skills.setAccessibleName(
            f"Skills checks of {resident.reference} {resident.name}, baseline first"
        )

    def _show_skills(self, checks: list[SkillsCheck], today: date) -> None:
        self._skills_model.set_checks(checks, today)
        shown = self._shown_reference is not None
        may_support = self._may(Permission.LOG_SUPPORT)
        self._skills.setVisible(shown and may_support and bool(checks))
        self._no_skills.setVisible(shown and not checks)
        self._no_skills.setText(
            "No skills check recorded yet: Record skills check (Alt+K) takes the baseline."
            if may_support
            else f"Skills checks: {NOT_FOR_ROLE}"
        )
        if checks:
            # Every row in view (the table is short; the loans above take what is left), and the latest check.
            self._skills.setFixedHeight(
                self._skills.horizontalHeader().sizeHint().height()
                + self._skills.verticalHeader().length()
                + self._skills.horizontalScrollBar().sizeHint().height()
                + 2 * self._skills.frameWidth()
            )
            self._skills.scrollTo(self._skills_model.index(0, len(checks) - 1))

    def _changed(self, message: str, reference: str) -> None:
        self._set_notice(message)
        self.refresh()
        if not self._select_reference(reference, fetch=False):
            self.show_resident(reference)
        self.changed.emit()

    def _set_notice(self, message: str) -> None:
        self._notice.setText(message)
        self.notice.emit(message)

    def _update_actions(self) -> None:
        has_current = self.current_resident() is not None
        for permission, controls in (
            (Permission.EDIT_RESIDENTS, (self._edit_action, self._edit_button)),
            (Permission.LEND, (self._card_action, self._card_button)),
            (Permission.LOG_SUPPORT, (self._skills_action, self._skills_button)),
        ):
            for control in controls:  # a role's limit holds whatever is selected
                control.setEnabled(has_current and self._may(permission))

    def _may(self, permission: Permission) -> bool:
        return self._staff is not None and self._staff.may(permission)

    def _today(self) -> date:
        return self._clock().astimezone().date()
