"""Data protection (administrators): a resident's subject access export, their erasure on request, and how
long residents' details are kept after their last activity (retention)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QKeyEvent, QShowEvent
from PySide6.QtWidgets import (
    QApplication,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from digiknow_desk.app import Services
from digiknow_desk.domain.errors import DomainError, ValidationError
from digiknow_desk.domain.residents import Resident, normalise_reference
from digiknow_desk.services.data_protection import (
    MAX_RETENTION_MONTHS,
    MIN_RETENTION_MONTHS,
    Erasure,
    RetentionRun,
)
from digiknow_desk.ui.errors import problem_words
from digiknow_desk.ui.resident_table_model import ResidentTableModel, long_day_text
from digiknow_desk.ui.tasks import Progress, Task, TaskRunner, run_with_progress
from digiknow_desk.ui.widgets import make_list_table, size_columns

FolderAsker = Callable[[QWidget, str], str]
"""(parent, caption) -> the folder chosen, or '' when cancelled."""
Confirm = Callable[[QWidget, str, str, str], bool]
"""(parent, title, question, the words on the button that goes ahead) -> whether staff chose to go ahead."""
FindResident = Callable[[Services, QWidget, str], "Resident | None"]
"""(services, parent, what is typed so far) -> the resident chosen, or None when cancelled."""

# How many references a retention run lists by name before it only counts the rest.
_REFERENCES_LISTED = 10
_SEARCH_DELAY_MS = 250


def ask_folder(parent: QWidget, caption: str) -> str:
    return QFileDialog.getExistingDirectory(parent, caption, str(Path.home()))


def confirmation_box(parent: QWidget | None, title: str, question: str, go_ahead: str) -> QMessageBox:
    """A question about something that cannot be undone: Cancel is the default, so Enter does nothing."""
    box = QMessageBox(QMessageBox.Icon.Warning, title, question, QMessageBox.StandardButton.NoButton, parent)
    box.setTextFormat(Qt.TextFormat.PlainText)
    proceed = box.addButton(go_ahead, QMessageBox.ButtonRole.DestructiveRole)
    proceed.setAccessibleName(go_ahead)
    cancel = box.addButton(QMessageBox.StandardButton.Cancel)
    cancel.setAccessibleName("Cancel")
    box.setDefaultButton(cancel)
    box.setEscapeButton(cancel)
    return box


def ask_to_confirm(parent: QWidget, title: str, question: str, go_ahead: str) -> bool:
    box = confirmation_box(parent, title, question, go_ahead)
    box.exec()
    clicked = box.clickedButton()
    return clicked is not None and box.buttonRole(clicked) == QMessageBox.ButtonRole.DestructiveRole


def counted(count: int, one: str, many: str | None = None) -> str:
    """'1 loan', '3 loans', '2 skills checks'."""
    return f"{count:,} {one if count == 1 else many or one + 's'}"


def export_words(reference: str, pdf: Path, data: Path) -> str:
    return (
        f"Saved everything held about {reference}, in the folder {pdf.parent}:\n"
        f"{pdf.name} (to give or send to the resident)\n"
        f"{data.name} (the same data for computers)\n"
        "The export is recorded in the audit trail."
    )


def erasure_words(erasure: Erasure) -> str:
    """What erasing a resident did, in words."""
    text = (
        f"Erased {erasure.reference}'s personal details. Kept without them, for the scheme's counts: "
        f"{counted(erasure.loans, 'loan')}, {counted(erasure.sessions, 'session')} and "
        f"{counted(erasure.skills_checks, 'skills check')}."
    )
    if erasure.waiting_list_withdrawn:
        text += f" Withdrawn from {counted(erasure.waiting_list_withdrawn, 'waiting-list place')}."
    if erasure.audit_entries_redacted:
        text += (
            f" {counted(erasure.audit_entries_redacted, 'audit entry', 'audit entries')} about them "
            "had their details removed."
        )
    if erasure.file_cleared is None:
        return text + (
            " Venue laptops erase them at their next sync. The server's own backups keep the old details "
            "until they age out, as its administrator has set."
        )
    if erasure.file_cleared:
        text += " The old text is cleared from the database file too."
    else:
        text += (
            " The old text could not be cleared from the database file just now (it was in use): erase "
            f"{erasure.reference} again later to clear it."
        )
    return text + " Backups made before now keep the old details until they rotate out of the backup folder."


def retention_words(run: RetentionRun) -> str:
    """What a retention run did, in words."""
    since = long_day_text(run.inactive_since)
    if run.anonymised:
        listed = ", ".join(run.anonymised[:_REFERENCES_LISTED])
        more = len(run.anonymised) - _REFERENCES_LISTED
        text = (
            f"Anonymised {counted(len(run.anonymised), 'resident')} with no activity since {since}: "
            f"{listed}{f' and {more:,} more' if more > 0 else ''}."
        )
    elif run.kept_active:
        text = "No resident was anonymised."
    else:
        text = f"No resident was anonymised: every resident has had some activity since {since}."
    if run.kept_active:
        kept = counted(run.kept_active, "more resident" if run.anonymised else "resident")
        text += (
            f" {kept} with no activity since {since} {'was' if run.kept_active == 1 else 'were'} kept, as "
            "they have a device on loan or a place on the waiting list."
        )
    return text


def due_words(due: int, months: int) -> str:
    if due == 0:
        return f"No resident is due now: none has gone {months} months without any activity."
    return (
        f"{counted(due, 'resident')} {'has' if due == 1 else 'have'} had no activity for {months} months "
        f"and {'has' if due == 1 else 'have'} no device on loan or place on the waiting list: a run now "
        f"anonymises {'them' if due > 1 else 'that resident'}."
    )


def _words_label(name: str) -> QLabel:
    """A label of plain words that keyboard and screen-reader users can reach and select."""
    label = QLabel()
    label.setWordWrap(True)
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setTextInteractionFlags(
        Qt.TextInteractionFlag.TextSelectableByMouse | Qt.TextInteractionFlag.TextSelectableByKeyboard
    )
    label.setAccessibleName(name)
    return label


def _intro(text: str) -> QLabel:
    label = QLabel(text)
    label.setWordWrap(True)
    label.setTextFormat(Qt.TextFormat.PlainText)
    return label


def _button(text: str, name: str, slot: Callable[[], object]) -> QPushButton:
    button = QPushButton(text)
    button.setAccessibleName(name)
    button.clicked.connect(lambda _checked=False: slot())
    return button


class FindResidentDialog(QDialog):
    """Find a resident by name, phone or postcode and choose one; Down moves from the search to the list."""

    def __init__(self, services: Services, text: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Find a resident")
        self.chosen: Resident | None = None
        self._search = QLineEdit(text)
        self._search.setAccessibleName("Search residents")
        self._search.setPlaceholderText("Type a name, phone number or postcode")
        self._search.setClearButtonEnabled(True)
        self._search.installEventFilter(self)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(_SEARCH_DELAY_MS)
        self._timer.timeout.connect(self.search_now)
        self._search.textChanged.connect(lambda _text: self._timer.start())
        self._model = ResidentTableModel(services.residents, parent=self)
        self._table = QTableView()
        self._table.setModel(self._model)
        self._table.setAccessibleName("Residents found")
        self._table.setTabKeyNavigation(False)
        make_list_table(self._table)
        size_columns(
            self._table,
            {
                ResidentTableModel.REFERENCE: "R-00000",
                ResidentTableModel.POSTCODE: "SK10 1AA",
                ResidentTableModel.WARD: "Brinnington and Central",
                ResidentTableModel.PHONE: "0161 000 0000",
                ResidentTableModel.AGE_BAND: "75 or over",
            },
            ResidentTableModel.NAME,
        )
        self._table.setColumnHidden(ResidentTableModel.INCLUSION, True)  # not how staff tell residents apart
        self._table.doubleClicked.connect(lambda _index: self.choose())
        self._count = _words_label("Residents found")
        caption = QLabel("&Search:")
        caption.setBuddy(self._search)
        row = QHBoxLayout()
        row.addWidget(caption)
        row.addWidget(self._search, 1)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self._choose = buttons.button(QDialogButtonBox.StandardButton.Ok)
        self._choose.setText("&Choose")
        self._choose.setAccessibleName("Choose this resident")
        buttons.button(QDialogButtonBox.StandardButton.Cancel).setAccessibleName("Cancel")
        buttons.accepted.connect(self.choose)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(row)
        layout.addWidget(self._count)
        layout.addWidget(self._table, 1)
        layout.addWidget(buttons)
        self.resize(self.fontMetrics().averageCharWidth() * 150, self.fontMetrics().lineSpacing() * 24)
        self.search_now()

    @property
    def model(self) -> ResidentTableModel:
        return self._model

    @property
    def count_text(self) -> str:
        return self._count.text()

    def set_search(self, text: str) -> None:
        self._search.setText(text)
        self.search_now()

    def select_row(self, row: int) -> None:
        self._table.selectRow(row)

    def search_now(self) -> None:
        self._timer.stop()
        text = self._search.text().strip()
        self._model.set_search(text)
        total = self._model.total
        more = "" if self._model.counted_all else "More than "
        if not text:
            self._count.setText("Type part of the resident's name, phone number or postcode.")
        elif total == 0:
            self._count.setText(f"No resident matches '{text}'. Check the spelling.")
        elif total == 1:
            self._count.setText("1 resident matches: Enter chooses them.")
        else:
            self._count.setText(f"{more}{total:,} residents match: Down to choose one, or type more.")
        if total == 1:
            self._table.selectRow(0)

    def choose(self) -> None:
        """Choose the resident selected in the list (or the only one found); otherwise say what to do."""
        if self._timer.isActive():
            self.search_now()
        rows = self._table.selectionModel().selectedRows()
        if rows:
            self.chosen = self._model.resident(rows[0].row())
        elif self._model.total == 1 and self._model.rowCount() == 1:
            self.chosen = self._model.resident(0)
        else:
            self._count.setText("Choose a resident in the list first (Down, then Enter).")
            return
        self.accept()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if (
            watched is self._search
            and event.type() == QEvent.Type.KeyPress
            and isinstance(event, QKeyEvent)
            and event.key() == Qt.Key.Key_Down
        ):
            if self._timer.isActive():
                self.search_now()
            if self._model.rowCount():
                if not self._table.selectionModel().selectedRows():
                    self._table.selectRow(0)
                self._table.setFocus()
            return True
        return super().eventFilter(watched, event)

    @classmethod
    def ask(cls, services: Services, parent: QWidget, text: str = "") -> Resident | None:
        dialog = cls(services, text, parent)
        dialog.exec()
        return dialog.chosen


class DataProtectionPage(QWidget):
    """Administrators' data protection tools: each duty is a button, with what it did said in words."""

    notice = Signal(str)  # what was just done, for the status bar
    changed = Signal()  # residents' records changed (erased or anonymised): other pages read again
    finished = Signal(str)  # a background job (export, erasure, retention run) ended: what happened, in words

    def __init__(
        self,
        services: Services,
        tasks: TaskRunner,
        parent: QWidget | None = None,
        *,
        choose_folder: FolderAsker = ask_folder,
        find_resident: FindResident = FindResidentDialog.ask,
        confirm: Confirm = ask_to_confirm,
    ) -> None:
        super().__init__(parent)
        self._services = services
        self._tasks = tasks
        # Tests pass stand-ins for the modal folder chooser, the resident finder and the questions.
        self._choose_folder = choose_folder
        self._find_resident = find_resident
        self._confirm = confirm
        self._task: Task | None = None
        self._who = _words_label("Resident chosen")

        heading = QLabel("<h2>Data protection</h2>")
        heading.setAccessibleName("Data protection")
        intro = _intro(
            "Residents' rights over their data: a copy of everything held about them, and erasure when they "
            "ask; and how long their details are kept once they stop coming."
        )
        content = QWidget()
        layout = QVBoxLayout(content)
        layout.addWidget(heading)
        layout.addWidget(intro)
        layout.addWidget(self._build_resident())
        layout.addWidget(self._build_subject_access())
        layout.addWidget(self._build_erasure())
        layout.addWidget(self._build_retention())
        layout.addStretch()
        self._scroll = QScrollArea()  # large text or a small screen scrolls rather than squeezes the page
        self._scroll.setWidgetResizable(True)
        self._scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        self._scroll.setWidget(content)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(self._scroll)
        app = QApplication.instance()
        if isinstance(app, QApplication):
            app.focusChanged.connect(self._show_focused)
        self._buttons: list[QPushButton] = [
            self._find,
            self._export,
            self._erase,
            self._save_retention,
            self._run_retention,
        ]
        self.refresh()

    # Building

    def _build_resident(self) -> QGroupBox:
        box = QGroupBox("The resident")
        self._reference = QLineEdit()
        self._reference.setAccessibleName("Resident reference")
        self._reference.setPlaceholderText("e.g. R-00042: type it or scan their card")
        self._reference.setClearButtonEnabled(True)
        self._reference.editingFinished.connect(self.show_resident)
        self._reference.textEdited.connect(lambda _text: self._who.setText(""))
        caption = QLabel("Resident &reference:")
        caption.setBuddy(self._reference)
        self._find = _button("F&ind by name…", "Find a resident by name", self.find_resident)
        # Wide enough for a reference (or a name typed to find), not the whole page.
        self._reference.setMinimumWidth(self.fontMetrics().averageCharWidth() * 30)
        row = QHBoxLayout()
        row.addWidget(caption)
        row.addWidget(self._reference)
        row.addWidget(self._find)
        row.addStretch()
        layout = QVBoxLayout(box)
        layout.addLayout(row)
        layout.addWidget(self._who)
        return box

    def _build_subject_access(self) -> QGroupBox:
        box = QGroupBox("Subject access: everything held about the resident")
        intro = _intro(
            "Saves two files in a folder you choose: a PDF to give or send to the resident, and a JSON file "
            "of the same data for computers. The export is recorded in the audit trail."
        )
        self._export = _button(
            "E&xport everything held…", "Export everything held about the resident", self.export
        )
        self._export_message = _words_label("Last subject access export")
        row = QHBoxLayout()
        row.addWidget(self._export)
        row.addStretch()
        layout = QVBoxLayout(box)
        layout.addWidget(intro)
        layout.addLayout(row)
        layout.addWidget(self._export_message)
        return box

    def _build_erasure(self) -> QGroupBox:
        box = QGroupBox("Erasure: remove the resident's personal details")
        intro = _intro(
            "At the resident's request: their name, contact details and notes are removed from every record "
            "for good. Anonymous counts of loans, sessions and skills checks stay, so past reports do not "
            "change. Refused while they have a device on loan or one held for them."
        )
        self._reason = QLineEdit()
        self._reason.setAccessibleName("Reason for erasure")
        self._reason.setAccessibleDescription(
            "Kept in the audit trail: never the resident's name or contact details"
        )
        self._reason.setPlaceholderText("e.g. Resident asked by email on 3 March")
        self._reason.setClearButtonEnabled(True)
        hint = _intro("Kept in the audit trail: never write the resident's name or contact details here.")
        caption = QLabel("Reaso&n:")
        caption.setBuddy(self._reason)
        form = QFormLayout()
        cell = QVBoxLayout()
        cell.addWidget(self._reason)
        cell.addWidget(hint)
        form.addRow(caption, cell)
        self._erase = _button("&Erase…", "Erase the resident's personal details", self.erase)
        self._erase_message = _words_label("Last erasure")
        row = QHBoxLayout()
        row.addWidget(self._erase)
        row.addStretch()
        layout = QVBoxLayout(box)
        layout.addWidget(intro)
        layout.addLayout(form)
        layout.addLayout(row)
        layout.addWidget(self._erase_message)
        return box

    def _build_retention(self) -> QGroupBox:
        box = QGroupBox("Retention: how long residents' details are kept")
        intro = _intro(
            "Residents with no activity (registering, a loan issued or returned, a session, a skills check "
            "or a waiting-list change) for this long are anonymised, as erasure does, unless they have a "
            "device on loan or a place on the waiting list. Retention also runs by itself."
        )
        self._months = QSpinBox()
        self._months.setRange(MIN_RETENTION_MONTHS, MAX_RETENTION_MONTHS)
        self._months.setSuffix(" months")
        self._months.setAccessibleName("Keep residents' details for, in months after their last activity")
        caption = QLabel("&Keep details for:")
        caption.setBuddy(self._months)
        self._save_retention = _button("Sa&ve period", "Save the retention period", self.save_retention)
        self._retention_message = _words_label("Retention period saved or not")
        period = QHBoxLayout()
        period.addWidget(caption)
        period.addWidget(self._months)
        period.addWidget(self._save_retention)
        period.addWidget(self._retention_message, 1)
        self._due = _words_label("Residents due for retention")
        self._run_retention = _button("R&un retention now…", "Run retention now", self.run_retention)
        self._run_message = _words_label("Last retention run")
        row = QHBoxLayout()
        row.addWidget(self._run_retention)
        row.addStretch()
        layout = QVBoxLayout(box)
        layout.addWidget(intro)
        layout.addLayout(period)
        layout.addWidget(self._due)
        layout.addLayout(row)
        layout.addWidget(self._run_message)
        return box

    def _show_focused(self, _old: QWidget | None, new: QWidget | None) -> None:
        content = self._scroll.widget()
        if new is not None and content is not None and content.isAncestorOf(new):
            self._scroll.ensureWidgetVisible(new)

    # Read by the tests

    @property
    def reference_field(self) -> QLineEdit:
        return self._reference

    @property
    def reason_field(self) -> QLineEdit:
        return self._reason

    @property
    def months_box(self) -> QSpinBox:
        return self._months

    @property
    def resident_text(self) -> str:
        return self._who.text()

    @property
    def export_message(self) -> str:
        return self._export_message.text()

    @property
    def erase_message(self) -> str:
        return self._erase_message.text()

    @property
    def retention_message(self) -> str:
        return self._retention_message.text()

    @property
    def due_text(self) -> str:
        return self._due.text()

    @property
    def run_message(self) -> str:
        return self._run_message.text()

    # Reading

    def refresh(self) -> None:
        """Read the retention period and how many residents are due again."""
        try:
            months = self._services.data_protection.retention().months
            due = len(self._services.data_protection.due_for_retention())
        except DomainError as error:
            self._due.setText(problem_words(error))
            return
        self._months.setValue(months)
        self._due.setText(due_words(due, months))

    def showEvent(self, event: QShowEvent) -> None:
        # Residents come and go, and time passes: coming back to the page shows who is due now.
        super().showEvent(event)
        if not event.spontaneous() and self._task is None:
            self.refresh()

    # The resident

    def find_resident(self) -> None:
        typed = self._reference.text().strip()
        try:
            resident = self._find_resident(self._services, self, typed)
        except DomainError as error:
            self._who.setText(problem_words(error))
            return
        if resident is None:
            return
        self._reference.setText(resident.reference)
        self._show_who(resident)
        self._reference.setFocus()

    def show_resident(self) -> Resident | None:
        """Say who the reference typed is (so the wrong resident is not exported or erased); None, with why,
        when there is no such resident."""
        typed = self._reference.text().strip()
        if not typed:
            self._who.setText("")
            return None
        try:
            resident = self._services.residents.get(typed)
        except DomainError as error:
            self._who.setText(problem_words(error))
            return None
        self._reference.setText(resident.reference)
        self._show_who(resident)
        return resident

    def _show_who(self, resident: Resident) -> None:
        details = ", ".join(part for part in (resident.postcode, resident.ward_name) if part)
        self._who.setText(f"{resident.reference}: {resident.name}" + (f" ({details})" if details else ""))

    def _chosen_reference(self, message: QLabel) -> str | None:
        reference = self._reference.text().strip()
        if not reference:
            message.setText("Type or scan the resident's reference first, or find them by name.")
            self._reference.setFocus()
            return None
        return normalise_reference(reference)

    # Subject access

    def export(self) -> Task | None:
        """Ask for a folder, then save everything held about the resident there, in the background."""
        if self._task is not None:
            return None
        reference = self._chosen_reference(self._export_message)
        if reference is None:
            return None
        if self.show_resident() is None:
            self._export_message.setText(self._who.text())
            return None
        chosen = self._choose_folder(self, f"Choose the folder for {reference}'s personal data")
        if not chosen:
            return None
        folder = Path(chosen)
        protection = self._services.data_protection

        def work(_progress: Progress) -> tuple[Path, Path]:
            pdf, data = protection.export_subject_access(reference, folder)
            return pdf, data

        def succeeded(paths: tuple[Path, Path]) -> None:
            text = export_words(reference, *paths)
            self._ended(self._export_message, text)
            self.notice.emit(f"Saved {reference}'s personal data in {folder}.")

        self._export_message.setText(f"Saving {reference}'s personal data in {folder}…")
        return self._start(
            f"Saving everything held about {reference}…", work, succeeded, self._export_message
        )

    # Erasure

    def erase(self) -> Task | None:
        """Once staff confirm, erase the resident's personal details (in the background)."""
        if self._task is not None:
            return None
        reference = self._chosen_reference(self._erase_message)
        if reference is None:
            return None
        reason = " ".join(self._reason.text().split())
        if not reason:
            self._erase_message.setText(
                "Say why the record is erased, e.g. 'Resident asked by email on 3 March'."
            )
            self._reason.setFocus()
            return None
        resident = self.show_resident()
        if resident is None:
            self._erase_message.setText(self._who.text())
            return None
        question = (
            f"Erase the personal details of {resident.reference} ({resident.name})?\n\n"
            "This cannot be undone. Their name, phone, email, address and notes are removed from every "
            "record now, and the audit trail's entries about them lose their details.\n\n"
            "Anonymous counts of their loans, sessions and skills checks stay, so past reports do not "
            "change.\n\n"
            "Backups made before now still hold the old details until they rotate out of the backup "
            "folder.\n\n"
            f"The reason kept in the audit trail: {reason}"
        )
        if not self._confirm(self, "Erase a resident's details", question, f"Erase {resident.reference}"):
            self._erase_message.setText(f"Nothing was erased: {resident.reference} is as it was.")
            return None
        protection = self._services.data_protection

        def work(_progress: Progress) -> Erasure:
            erasure: Erasure = protection.erase(reference, reason)
            return erasure

        def succeeded(erasure: Erasure) -> None:
            self._reason.clear()
            self.show_resident()
            self._ended(self._erase_message, erasure_words(erasure))
            self.notice.emit(f"Erased {erasure.reference}'s personal details.")
            self.refresh()
            self.changed.emit()

        self._erase_message.setText(f"Erasing {reference}'s personal details…")
        return self._start(f"Erasing {reference}'s personal details…", work, succeeded, self._erase_message)

    # Retention

    def save_retention(self) -> bool:
        months = self._months.value()
        try:
            policy = self._services.data_protection.set_retention(months)
        except ValidationError as error:
            self._retention_message.setText(" ".join(error.problems.values()))
            return False
        except DomainError as error:
            self._retention_message.setText(problem_words(error))
            return False
        self._retention_message.setText(
            f"Saved: details are kept for {policy.months} months after a resident's last activity."
        )
        self.notice.emit(f"Residents' details are now kept for {policy.months} months.")
        self.refresh()
        return True

    def run_retention(self) -> Task | None:
        """Anonymise every resident due now, in the background (after staff confirm, when any are due)."""
        if self._task is not None:
            return None
        protection = self._services.data_protection
        try:
            months = protection.retention().months
            due = len(protection.due_for_retention())
        except DomainError as error:
            self._run_message.setText(problem_words(error))
            return None
        self._due.setText(due_words(due, months))
        if due and not self._confirm(
            self,
            "Run retention now",
            f"Anonymise {counted(due, 'resident')} with no activity for {months} months?\n\n"
            "This cannot be undone: their names, contact details and notes are removed for good. "
            "Anonymous counts stay, so past reports do not change.",
            f"Anonymise {counted(due, 'resident')}",
        ):
            self._run_message.setText("Nothing was changed: no resident was anonymised.")
            return None

        def work(_progress: Progress) -> RetentionRun:
            run: RetentionRun = protection.run_retention()
            return run

        def succeeded(run: RetentionRun) -> None:
            self._ended(self._run_message, retention_words(run))
            self.refresh()
            if run.anonymised:
                self.notice.emit(f"Retention anonymised {counted(len(run.anonymised), 'resident')}.")
                self.changed.emit()

        self._run_message.setText("Running retention…")
        return self._start("Anonymising the residents due…", work, succeeded, self._run_message)

    # Background work

    def _start(
        self, text: str, work: Callable[[Progress], Any], succeeded: Callable[[Any], None], message: QLabel
    ) -> Task:
        def failed(error: Exception) -> None:
            self._ended(message, problem_words(error))  # raises anything but a refusal, for the handler

        def done(result: Any) -> None:
            self._task = None
            self._set_busy(False)
            succeeded(result)

        def refused(error: Exception) -> None:
            self._task = None
            self._set_busy(False)
            failed(error)

        self._set_busy(True)
        self._task = run_with_progress(self._tasks, self, text, work, done, refused, cancellable=False)
        return self._task

    def _ended(self, message: QLabel, text: str) -> None:
        message.setText(text)
        self._scroll.ensureWidgetVisible(message)
        self.finished.emit(text)

    def _set_busy(self, busy: bool) -> None:
        for button in self._buttons:
            button.setEnabled(not busy)
