"""The session form: log a support session in under a minute by keyboard alone. Residents are added by
search or by scanning their card, a whole group in one go; the form remembers this machine's last
champions, venue, kind and length, and asks before throwing away what was entered."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from PySide6.QtCore import QDate, QEvent, QItemSelectionModel, QObject, QSettings, Qt, QTime, QTimer
from PySide6.QtGui import QAction, QIntValidator, QKeyEvent, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLayout,
    QLineEdit,
    QListView,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QTableView,
    QTimeEdit,
    QVBoxLayout,
    QWidget,
)

from digiknow_desk.app import Services
from digiknow_desk.domain.errors import DomainError, ValidationError
from digiknow_desk.domain.loans import Loan
from digiknow_desk.domain.residents import AgeBand, Resident, looks_like_reference, normalise_reference
from digiknow_desk.domain.sessions import (
    ALL_TOPICS,
    MAX_ATTENDEES,
    AnonymousAttendee,
    Session,
    SessionDraft,
    SessionKind,
    Topic,
)
from digiknow_desk.ui.desk_page import DateField
from digiknow_desk.ui.device_dialog import (
    PROBLEM_PREFIX,
    chosen,
    find_venue,
    problem_label,
    show_problem,
    venue_choice,
)
from digiknow_desk.ui.errors import problem_words
from digiknow_desk.ui.resident_table_model import ResidentTableModel, day_text

ORGANISATION = "DigiKnow"
APPLICATION = "DigiKnow Desk"
LENGTH_CHOICES = (30, 45, 60, 90)
DEFAULT_MINUTES = 60
FOLLOW_UP_DAYS = 7  # a follow-up ticked on starts a week after the session
RESULTS_PAGE = 50
HINT = (
    "Scan a resident's card or type their name, then Enter: add everyone who came. "
    "Ctrl+Enter saves the session; Escape cancels."
)


def machine_settings() -> QSettings:
    """This machine's settings for DigiKnow Desk, where the form remembers staff's last choices."""
    return QSettings(ORGANISATION, APPLICATION)


def discard_question(parent: QWidget | None) -> QMessageBox:
    """The question a form with something entered asks before it closes: keeping on editing is what
    Enter and Escape give, so a stray key loses nothing."""
    box = QMessageBox(
        QMessageBox.Icon.Question,
        "Log a session",
        "Discard this session?",
        QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
        parent,
    )
    box.setInformativeText("What you have entered will not be saved.")
    box.button(QMessageBox.StandardButton.Yes).setText("&Discard")
    box.button(QMessageBox.StandardButton.No).setText("&Keep editing")
    box.setDefaultButton(QMessageBox.StandardButton.No)
    box.setEscapeButton(QMessageBox.StandardButton.No)
    return box


def confirm_discard(parent: QWidget | None) -> bool:
    """Ask whether to throw away the form; True when staff choose Discard."""
    box = discard_question(parent)
    box.exec()
    discard = box.clickedButton() is box.button(QMessageBox.StandardButton.Yes)
    box.deleteLater()
    return discard


# How the form asks before discarding; tests answer in place of the modal box.
ConfirmDiscard = Callable[[QWidget | None], bool]


def rounded_down(moment: time, step_minutes: int = 15) -> time:
    """The time at the last quarter hour (10:44 -> 10:30): when a session that is being logged began."""
    return moment.replace(minute=moment.minute - moment.minute % step_minutes, second=0, microsecond=0)


def loan_words(loan: Loan, today: date) -> str:
    """A loan as the form offers it: 'TAB-0042 Tablet, Maureen Clarke, issued Mon 2 Mar'."""
    issued = day_text(loan.issued_at, today)
    closed = f", returned {day_text(loan.closed_at, today)}" if loan.closed_at else ""
    return f"{loan.device_tag} {loan.device_type.label}, {loan.resident_name}, issued {issued}{closed}"


def _local_day(moment: datetime) -> date:
    return (moment.astimezone() if moment.tzinfo is not None else moment).date()


def _open_on(loan: Loan, day: date) -> bool:
    """Whether the resident had the device on `day` (issued by then, not yet back before it)."""
    closed = _local_day(loan.closed_at) if loan.closed_at else None
    return _local_day(loan.issued_at) <= day and (closed is None or closed >= day)


@dataclass(frozen=True)
class Remembered:
    """What the form keeps between sessions on this machine (in QSettings, never in the database)."""

    champion_ids: tuple[uuid.UUID, ...] = ()
    venue_id: uuid.UUID | None = None
    kind: SessionKind | None = None
    minutes: int | None = None

    GROUP = "session_form"

    @classmethod
    def read(cls, settings: QSettings) -> Remembered:
        """The last choices, leaving out anything unreadable (an older or hand-edited settings file)."""
        settings.beginGroup(cls.GROUP)
        try:
            champions = str(settings.value("champions", "") or "")
            venue = str(settings.value("venue", "") or "")
            kind = str(settings.value("kind", "") or "")
            minutes = str(settings.value("minutes", "") or "")
        finally:
            settings.endGroup()
        return cls(
            champion_ids=tuple(found for text in champions.split(",") if (found := _uuid(text))),
            venue_id=_uuid(venue),
            kind=SessionKind(kind) if kind in set(SessionKind) else None,
            minutes=int(minutes) if minutes.isdigit() else None,
        )

    def write(self, settings: QSettings) -> None:
        settings.beginGroup(self.GROUP)
        settings.setValue("champions", ",".join(str(champion_id) for champion_id in self.champion_ids))
        settings.setValue("venue", str(self.venue_id) if self.venue_id else "")
        settings.setValue("kind", self.kind.value if self.kind else "")
        settings.setValue("minutes", str(self.minutes) if self.minutes else "")
        settings.endGroup()
        settings.sync()


def _uuid(text: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(text.strip())
    except ValueError:
        return None


class TimeField(QTimeEdit):
    """A time box where Tab goes to the next field (Qt's own steps through hours and minutes first);
    Left and Right move between them, Up and Down change them."""

    def focusNextPrevChild(self, next: bool) -> bool:  # noqa: A002  (Qt's name)
        return QWidget.focusNextPrevChild(self, next)


Attendee = Resident | AnonymousAttendee


class SessionDialog(QDialog):
    """Log one session: when, how long, what kind, where, which champions, who came (residents by search
    or card, others by age band and ward), the topics, a related loan, the outcome and a follow-up.
    Problems are shown beside their fields and the form stays open until they are put right; Escape or
    Cancel closes an untouched form at once, and asks first when something has been entered."""

    def __init__(
        self,
        services: Services,
        parent: QWidget | None = None,
        *,
        settings: QSettings | None = None,
        confirm_discard: ConfirmDiscard = confirm_discard,
    ) -> None:
        super().__init__(parent)
        self._services = services
        self._settings = settings if settings is not None else machine_settings()
        self._confirm_discard = confirm_discard
        self._attendees: list[Attendee] = []
        self._loans_of: dict[str, list[Loan]] = {}  # each added resident's loans, by reference
        self._problems: dict[str, str] = {}
        self._save_tried = False  # after a refused save, problems are checked again as staff put them right
        self.saved: Session | None = None
        self.setWindowTitle("Log a session")
        remembered = Remembered.read(self._settings)
        now = self._now()
        self._wards = {ward.code: ward.name for ward in services.venues.wards()}

        self._hint = QLabel(HINT)
        self._hint.setWordWrap(True)
        self._hint.setTextFormat(Qt.TextFormat.PlainText)

        # When, how long, what kind, where, and who gave it
        self._date = DateField()
        self._date.setAccessibleName("Date of the session")
        self._date.setDisplayFormat("ddd d MMM yyyy")
        self._date.setCalendarPopup(True)
        self._date.setDate(QDate(now.year, now.month, now.day))
        self._start = TimeField()
        self._start.setAccessibleName("Start time")
        self._start.setDisplayFormat("HH:mm")
        start = rounded_down(now.time())
        self._start.setTime(QTime(start.hour, start.minute))
        self._length = QComboBox()
        self._length.setAccessibleName("Length in minutes")
        self._length.setAccessibleDescription("Choose 30, 45, 60 or 90, or type the minutes")
        self._length.setEditable(True)
        self._length.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self._length.addItems([str(minutes) for minutes in LENGTH_CHOICES])
        self._length.setValidator(QIntValidator(0, 999, self._length))
        self._length.setEditText(str(remembered.minutes or DEFAULT_MINUTES))
        minutes_unit = QLabel("minutes")
        self._kind = QComboBox()
        self._kind.setAccessibleName("Kind of session")
        for kind in SessionKind:
            self._kind.addItem(kind.label, kind)
        self._kind.setCurrentIndex(self._kind.findData(remembered.kind or SessionKind.ONE_TO_ONE))
        self._venue = QComboBox()
        self._venue.setAccessibleName("Venue")
        self._venue.addItem("No venue (phone or video call)", None)
        for venue in services.venues.venues(active_only=True):
            self._venue.addItem(venue.name, str(venue.id))
        self._venue.setCurrentIndex(find_venue(self._venue, remembered.venue_id))
        self._champions = QListWidget()
        self._champions.setAccessibleName("Champions who gave the session (Space ticks)")
        for champion in services.champions.champions(active_only=True):
            item = QListWidgetItem(champion.name)
            item.setData(Qt.ItemDataRole.UserRole, str(champion.id))
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            ticked = champion.id in remembered.champion_ids
            item.setCheckState(Qt.CheckState.Checked if ticked else Qt.CheckState.Unchecked)
            self._champions.addItem(item)
        if self._champions.count():
            self._champions.setCurrentRow(0)
        self._champions.setMinimumHeight(self.fontMetrics().lineSpacing() * 5)

        # Who was helped: residents found by search or card, others by age band and ward
        self._search = QLineEdit()
        self._search.setObjectName("session-resident-search")
        self._search.setAccessibleName("Find a resident to add")
        self._search.setAccessibleDescription(
            "Type a name, phone or postcode, or scan a card, then Enter. Down chooses among several."
        )
        self._search.setPlaceholderText("Name, reference (R-00042), phone or postcode, then Enter")
        self._search.setClearButtonEnabled(True)
        self._search.installEventFilter(self)
        self._found_count = QLabel()
        self._found_count.setWordWrap(True)
        self._found_count.setTextFormat(Qt.TextFormat.PlainText)
        self._found_count.setAccessibleName("Residents found")
        self._found_model = ResidentTableModel(services.residents, RESULTS_PAGE, self)
        self._found = QTableView()
        self._found.setModel(self._found_model)
        self._found.setAccessibleName("Residents found: Enter adds the chosen resident")
        self._found.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self._found.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self._found.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self._found.setTabKeyNavigation(False)
        self._found.setWordWrap(False)
        self._found.verticalHeader().setVisible(False)
        self._found.setColumnHidden(ResidentTableModel.AGE_BAND, True)
        found_header = self._found.horizontalHeader()
        found_header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        found_header.setSectionResizeMode(ResidentTableModel.NAME, QHeaderView.ResizeMode.Stretch)
        self._found.setMinimumHeight(self.fontMetrics().lineSpacing() * 6)
        self._found.activated.connect(lambda _index: self._add_chosen())
        self._search_timer = QTimer(self)
        self._search_timer.setSingleShot(True)
        self._search_timer.setInterval(0)  # a search takes milliseconds; this only merges queued keys
        self._search_timer.timeout.connect(self._search_residents)
        self._search.textChanged.connect(lambda _text: self._search_timer.start())

        self._attendee_list = QListWidget()
        self._attendee_list.setAccessibleName("Attendees added (Delete removes one)")
        self._attendee_list.setMinimumHeight(self.fontMetrics().lineSpacing() * 5)
        self._attendee_list.installEventFilter(self)
        self._remove = QPushButton("&Remove")
        self._remove.setAccessibleName("Remove the chosen attendee")
        self._remove.setAutoDefault(False)
        self._remove.clicked.connect(self.remove_attendee)
        self._age_band = QComboBox()
        self._age_band.setAccessibleName("Age band of the attendee not registered")
        for band in AgeBand:
            self._age_band.addItem(band.label, band)
        self._age_band.setCurrentIndex(self._age_band.findData(AgeBand.NOT_SAID))
        self._ward = QComboBox()
        self._ward.setAccessibleName("Ward of the attendee not registered")
        self._ward.addItem("Ward not known", None)
        for code, name in self._wards.items():
            self._ward.addItem(name, code)
        self._how_many = QSpinBox()
        self._how_many.setAccessibleName("How many attendees not registered to add")
        self._how_many.setRange(1, MAX_ATTENDEES)
        self._add_anonymous = QPushButton("Add &not registered")
        self._add_anonymous.setAccessibleName("Add attendees not registered")
        self._add_anonymous.setToolTip("Add this many attendees who are not registered, by age band and ward")
        self._add_anonymous.setAutoDefault(False)
        self._add_anonymous.clicked.connect(self._add_anonymous_clicked)

        # What it covered, and what comes next
        self._topics = QListWidget()
        self._topics.setAccessibleName("Topics covered (Space ticks)")
        self._topics.setFlow(QListView.Flow.TopToBottom)
        self._topics.setWrapping(True)
        self._topics.setResizeMode(QListView.ResizeMode.Adjust)
        for topic in ALL_TOPICS:
            item = QListWidgetItem(topic.label)
            item.setData(Qt.ItemDataRole.UserRole, topic.value)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Unchecked)
            self._topics.addItem(item)
        self._topics.setCurrentRow(0)
        rows_per_column = (len(ALL_TOPICS) + 2) // 3
        self._topics.setFixedHeight(
            self._topics.sizeHintForRow(0) * rows_per_column + 2 * self._topics.frameWidth() + 6
        )
        self._loan = QComboBox()
        self._loan.setAccessibleName("Related loan")
        self._loan.addItem("No related loan", None)
        self._outcome = QPlainTextEdit()
        self._outcome.setAccessibleName("Outcome")
        self._outcome.setPlaceholderText("What the resident can now do, or what got in the way")
        self._outcome.setTabChangesFocus(True)
        self._outcome.setMaximumHeight(self.fontMetrics().lineSpacing() * 4)
        self._follow_up_needed = QCheckBox("Follow-up n&eeded on")
        self._follow_up_needed.setAccessibleName("Follow-up needed")
        self._follow_up_on = DateField()
        self._follow_up_on.setAccessibleName("Follow-up date")
        self._follow_up_on.setDisplayFormat("ddd d MMM yyyy")
        self._follow_up_on.setCalendarPopup(True)
        self._follow_up = QLineEdit()
        self._follow_up.setAccessibleName("What the follow-up is for")
        self._follow_up.setPlaceholderText("e.g. Check she can sign in to the NHS App alone")

        self._problem_labels = {
            name: problem_label()
            for name in (
                "held_on",
                "minutes",
                "venue",
                "champions",
                "attendees",
                "loan",
                "follow_up_on",
                "follow_up",
            )
        }
        self._fields: dict[str, QWidget] = {
            "held_on": self._date,
            "minutes": self._length,
            "kind": self._kind,
            "venue": self._venue,
            "champions": self._champions,
            "attendees": self._search,
            "topics": self._topics,
            "loan": self._loan,
            "outcome": self._outcome,
            "follow_up_on": self._follow_up_on,
            "follow_up": self._follow_up,
        }
        self._general_problem = problem_label()

        self._buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel
        )
        self._save = self._buttons.button(QDialogButtonBox.StandardButton.Save)
        self._save.setText("&Save session")
        self._save.setAccessibleName("Save session")
        self._save.setToolTip("Save session (Ctrl+Enter)")
        self._save.setDefault(True)
        self._buttons.button(QDialogButtonBox.StandardButton.Cancel).setAccessibleName("Cancel")
        self._buttons.accepted.connect(self.save)
        self._buttons.rejected.connect(self.reject)
        save_action = QAction("Save session", self)
        save_action.setShortcuts([QKeySequence("Ctrl+Return"), QKeySequence("Ctrl+Enter")])
        save_action.triggered.connect(lambda _checked=False: self.save())
        self.addAction(save_action)

        self._lay_out(minutes_unit)
        self._follow_up_toggled(False)
        self._search_residents()
        self._show_attendees()

        for combo in (self._kind, self._venue, self._loan):
            combo.currentIndexChanged.connect(lambda _row: self._changed())
        self._length.editTextChanged.connect(lambda _text: self._changed())
        self._date.dateChanged.connect(lambda _day: self._date_changed())
        self._start.timeChanged.connect(lambda _moment: self._changed())
        self._follow_up_on.dateChanged.connect(lambda _day: self._changed())
        self._follow_up.textEdited.connect(lambda _text: self._changed())
        self._follow_up_needed.toggled.connect(self._follow_up_toggled)
        self._champions.itemChanged.connect(lambda _item: self._changed())
        if not self._champions.count():
            show_problem(
                self._problem_labels["champions"],
                self._champions,
                "No active champions yet: add them on the Champions screen first.",
            )
        self._opened_with = self.draft()  # what counts as untouched: today, now and the remembered choices
        self._search.setFocus()

    def _lay_out(self, minutes_unit: QLabel) -> None:
        when = QGroupBox("When, where and who gave it")
        when_form = QFormLayout(when)
        when_form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        length_row = QHBoxLayout()
        length_row.addWidget(self._length)
        length_row.addWidget(minutes_unit)
        length_row.addStretch()
        for caption, name, field, row in (
            ("&Date:", "held_on", self._date, None),
            ("S&tart:", "", self._start, None),
            ("&Length:", "minutes", self._length, length_row),
            ("&Kind:", "", self._kind, None),
            ("&Venue:", "venue", self._venue, None),
            ("C&hampions:", "champions", self._champions, None),
        ):
            when_form.addRow(self._buddy(caption, field), self._cell(field, row, name))

        who = QGroupBox("Who was helped")
        who_layout = QVBoxLayout(who)
        search_row = QHBoxLayout()
        search_row.addWidget(self._buddy("&Find resident:", self._search))
        search_row.addWidget(self._search, 1)
        who_layout.addLayout(search_row)
        who_layout.addWidget(self._found_count)
        who_layout.addWidget(self._found, 1)
        attendees_row = QHBoxLayout()
        attendees_row.addWidget(self._attendee_list, 1)
        remove_column = QVBoxLayout()
        remove_column.addWidget(self._remove)
        remove_column.addStretch()
        attendees_row.addLayout(remove_column)
        who_layout.addWidget(self._buddy("&Attendees:", self._attendee_list))
        who_layout.addLayout(attendees_row)
        who_layout.addWidget(self._problem_labels["attendees"])
        anonymous_row = QHBoxLayout()
        anonymous_row.addWidget(QLabel("Not registered:"))
        anonymous_row.addWidget(self._buddy("A&ge band", self._age_band))
        anonymous_row.addWidget(self._age_band)
        anonymous_row.addWidget(self._buddy("&Ward", self._ward))
        anonymous_row.addWidget(self._ward, 1)
        anonymous_row.addWidget(self._buddy("How &many", self._how_many))
        anonymous_row.addWidget(self._how_many)
        anonymous_row.addWidget(self._add_anonymous)
        who_layout.addLayout(anonymous_row)

        covered = QGroupBox("What it covered, and what comes next")
        covered_form = QFormLayout(covered)
        covered_form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        follow_up_row = QHBoxLayout()
        follow_up_row.addWidget(self._follow_up_needed)
        follow_up_row.addWidget(self._follow_up_on)
        follow_up_row.addWidget(self._buddy("What &is needed:", self._follow_up))
        follow_up_row.addWidget(self._follow_up, 1)
        follow_up_cell = QVBoxLayout()
        follow_up_cell.setSpacing(2)
        follow_up_cell.addLayout(follow_up_row)
        follow_up_cell.addWidget(self._problem_labels["follow_up_on"])
        follow_up_cell.addWidget(self._problem_labels["follow_up"])
        covered_form.addRow(self._buddy("To&pics:", self._topics), self._topics)
        covered_form.addRow(self._buddy("Related l&oan:", self._loan), self._cell(self._loan, None, "loan"))
        covered_form.addRow(self._buddy("O&utcome:", self._outcome), self._outcome)
        covered_form.addRow(QLabel("Follow-up:"), follow_up_cell)

        columns = QHBoxLayout()
        columns.addWidget(when, 2)
        columns.addWidget(who, 3)
        layout = QVBoxLayout(self)
        # The form grows (never squeezes its words) when problems appear under the fields.
        layout.setSizeConstraint(QLayout.SizeConstraint.SetMinimumSize)
        layout.addWidget(self._hint)
        layout.addLayout(columns, 1)
        layout.addWidget(covered)
        layout.addWidget(self._general_problem)
        layout.addWidget(self._buttons)
        order: list[QWidget] = [
            self._date,
            self._start,
            self._length,
            self._kind,
            self._venue,
            self._champions,
            self._search,
            self._found,
            self._attendee_list,
            self._remove,
            self._age_band,
            self._ward,
            self._how_many,
            self._add_anonymous,
            self._topics,
            self._loan,
            self._outcome,
            self._follow_up_needed,
            self._follow_up_on,
            self._follow_up,
            self._save,
            self._buttons.button(QDialogButtonBox.StandardButton.Cancel),
        ]
        for first, second in zip(order, order[1:], strict=False):
            self.setTabOrder(first, second)
        # Roomy, but never taller or wider than the screen (a library PC may have 768 lines).
        room = self.screen().availableGeometry()
        width = max(self.sizeHint().width(), self.fontMetrics().averageCharWidth() * 150)
        self.resize(min(width, room.width()), min(self.sizeHint().height(), room.height() * 9 // 10))

    @staticmethod
    def _buddy(caption: str, field: QWidget) -> QLabel:
        label = QLabel(caption)
        label.setBuddy(field)
        return label

    def _cell(self, field: QWidget, row: QHBoxLayout | None, problem: str) -> QVBoxLayout:
        """A field (or its row) with its problem label under it."""
        cell = QVBoxLayout()
        cell.setSpacing(2)
        if row is not None:
            cell.addLayout(row)
        else:
            cell.addWidget(field)
        if problem:
            cell.addWidget(self._problem_labels[problem])
        return cell

    # What callers and tests use

    @classmethod
    def ask(
        cls, services: Services, parent: QWidget | None = None, *, settings: QSettings | None = None
    ) -> Session | None:
        """Run the form; the logged session, or None when staff cancel."""
        dialog = cls(services, parent, settings=settings)
        dialog.exec()
        return dialog.saved

    def field(self, name: str) -> QWidget:
        """The widget for a draft field (tests drive the form through these)."""
        return self._fields[name]

    @property
    def search_box(self) -> QLineEdit:
        return self._search

    @property
    def found_text(self) -> str:
        return self._found_count.text()

    @property
    def problems(self) -> dict[str, str]:
        """The problems shown at the last check, field -> message."""
        return dict(self._problems)

    def problem_text(self, field_name: str) -> str:
        """The message shown beside a field ('' when there is none)."""
        label = self._problem_labels.get(field_name, self._general_problem)
        return label.text().removeprefix(PROBLEM_PREFIX)

    def attendee_texts(self) -> list[str]:
        """The attendees as listed in the form."""
        return [self._attendee_list.item(row).text() for row in range(self._attendee_list.count())]

    def champion_ids(self) -> tuple[uuid.UUID, ...]:
        """The champions ticked, in list order."""
        return tuple(
            uuid.UUID(str(item.data(Qt.ItemDataRole.UserRole)))
            for item in (self._champions.item(row) for row in range(self._champions.count()))
            if item.checkState() == Qt.CheckState.Checked
        )

    def set_champion(self, champion_id: uuid.UUID, ticked: bool = True) -> None:
        for row in range(self._champions.count()):
            item = self._champions.item(row)
            if item.data(Qt.ItemDataRole.UserRole) == str(champion_id):
                item.setCheckState(Qt.CheckState.Checked if ticked else Qt.CheckState.Unchecked)

    def topics(self) -> frozenset[Topic]:
        return frozenset(
            topic
            for topic, item in zip(
                ALL_TOPICS, (self._topics.item(row) for row in range(self._topics.count())), strict=True
            )
            if item.checkState() == Qt.CheckState.Checked
        )

    def set_topic(self, topic: Topic, ticked: bool = True) -> None:
        item = self._topics.item(ALL_TOPICS.index(topic))
        item.setCheckState(Qt.CheckState.Checked if ticked else Qt.CheckState.Unchecked)

    def set_follow_up(self, day: date | None, what: str = "") -> None:
        self._follow_up_needed.setChecked(day is not None)
        if day is not None:
            self._follow_up_on.setDate(QDate(day.year, day.month, day.day))
        self._follow_up.setText(what)

    def add_resident(self, resident: Resident) -> bool:
        """Add a registered resident to the attendees (once); False when they were already there."""
        if any(isinstance(a, Resident) and a.reference == resident.reference for a in self._attendees):
            show_problem(
                self._problem_labels["attendees"],
                self._search,
                f"{resident.reference} {resident.name} is already an attendee.",
            )
            return False
        self._attendees.append(resident)
        if resident.reference not in self._loans_of:
            try:
                self._loans_of[resident.reference] = self._services.lending.loans_of(resident.reference)
            except DomainError:  # gone since the search: nothing to relate
                self._loans_of[resident.reference] = []
        self._show_attendees()
        return True

    def add_anonymous(self, attendee: AnonymousAttendee, count: int = 1) -> None:
        """Add `count` attendees who are not registered, with the same age band and ward."""
        self._attendees.extend([attendee] * count)
        self._show_attendees()

    def remove_attendee(self) -> None:
        """Remove the attendee chosen in the list."""
        row = self._attendee_list.currentRow()
        if not 0 <= row < len(self._attendees):
            return
        del self._attendees[row]
        self._show_attendees()
        self._attendee_list.setCurrentRow(min(row, len(self._attendees) - 1))

    def draft(self) -> SessionDraft:
        """What the form says now, as a draft for the session service."""
        length = self._length.currentText().strip()
        follow_up = self._follow_up_needed.isChecked()
        loan = self._loan.currentData()
        return SessionDraft(
            held_on=_date_of(self._date.date()),
            starts_at=time(self._start.time().hour(), self._start.time().minute()),
            minutes=int(length) if length.isdigit() else 0,
            kind=chosen(self._kind, SessionKind),
            venue_id=venue_choice(self._venue),
            champion_ids=self.champion_ids(),
            resident_references=tuple(a.reference for a in self._attendees if isinstance(a, Resident)),
            anonymous=tuple(a for a in self._attendees if isinstance(a, AnonymousAttendee)),
            topics=self.topics(),
            loan_id=uuid.UUID(loan) if loan else None,
            outcome=self._outcome.toPlainText(),
            follow_up_on=_date_of(self._follow_up_on.date()) if follow_up else None,
            follow_up=self._follow_up.text() if follow_up else "",
        )

    def check_now(self) -> dict[str, str]:
        """Show what is wrong with the form by the domain's rules, beside each field."""
        self._show_problems(self.draft().cleaned().problems(self._now()))
        return self.problems

    def save(self) -> None:
        """Log the session; refused, with the problems beside their fields, when the form is not right."""
        self._save_tried = True
        if self._search_timer.isActive():
            self._search_residents()
        if self.check_now():
            self._focus_first_problem()
            return
        draft = self.draft()
        try:
            self.saved = self._services.sessions.log(draft)
        except ValidationError as error:
            self._show_problems(dict(error.problems))
            self._focus_first_problem()
            return
        except DomainError as error:
            self._show_problems({"": problem_words(error)})
            return
        Remembered(draft.champion_ids, draft.venue_id, draft.kind, draft.minutes).write(self._settings)
        self.accept()

    def has_entries(self) -> bool:
        """Whether anything has been entered beyond what the form opened with."""
        return self.draft() != self._opened_with

    # Qt overrides

    def reject(self) -> None:
        """Escape, Cancel or closing the window: an untouched form closes at once; one with something
        entered closes only when staff agree to discard it."""
        if self.saved is None and self.has_entries() and not self._confirm_discard(self):
            return
        super().reject()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() != QEvent.Type.KeyPress or not isinstance(event, QKeyEvent):
            return super().eventFilter(watched, event)
        key, plain = event.key(), not (event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier)
        if watched is self._search and plain:
            # Enter adds the resident (never saves the form); Up and Down choose among those found.
            if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
                self.pick_resident()
                return True
            moves = {Qt.Key.Key_Down: 1, Qt.Key.Key_Up: -1, Qt.Key.Key_PageDown: 10, Qt.Key.Key_PageUp: -10}
            if key in moves:
                self._move_in_found(moves[Qt.Key(key)])
                return True
            if key == Qt.Key.Key_Escape and self._search.text():
                self._search.clear()  # Escape empties the search first; a second Escape cancels the form
                return True
        if watched is self._attendee_list and plain and key in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace):
            self.remove_attendee()
            return True
        return super().eventFilter(watched, event)

    # Finding and adding residents

    def pick_resident(self) -> None:
        """Add the resident the search box means: a reference typed or scanned, the one chosen among those
        found, or the only match; otherwise say what to do. The search box is then ready for the next."""
        if self._search_timer.isActive():
            self._search_residents()
        text = self._search.text().strip()
        if not text:
            self._say_in_search("Type a name or scan a card, then Enter. Ctrl+Enter saves the session.")
            return
        resident: Resident | None = None
        if looks_like_reference(text):  # a scanned card, or a reference typed in full
            try:
                resident = self._services.residents.get(normalise_reference(text))
            except DomainError as error:
                self._say_in_search(problem_words(error))
                self._search.selectAll()  # the next scan or typing replaces it
                return
        else:
            current = self._found.currentIndex()
            if current.isValid() and self._found.selectionModel().isRowSelected(current.row()):
                resident = self._found_model.resident(current.row())
            elif self._found_model.total == 1:
                resident = self._found_model.resident(0)
            elif self._found_model.total == 0:
                self._say_in_search(
                    f"No resident matches '{text}'. Check the spelling, or add them as not registered."
                )
                return
            else:
                self._say_in_search(
                    f"{self._found_model.total:,} residents match: press Down to choose one, or type more."
                )
                return
        self.add_resident(resident)  # added, or already there: either way the box is ready for the next
        self._search.clear()
        self._search.setFocus()

    def _add_chosen(self) -> None:
        current = self._found.currentIndex()
        if current.isValid():
            self.add_resident(self._found_model.resident(current.row()))
            self._search.clear()
        self._search.setFocus()

    def _search_residents(self) -> None:
        self._search_timer.stop()
        text = self._search.text().strip()
        self._found_model.set_search(text)
        total = self._found_model.total
        if not text:
            message = "Type a name, reference, phone or postcode, or scan the resident's card."
        elif total == 0:
            message = f"No resident matches '{text}'."
        elif total == 1:
            message = "1 resident matches: Enter adds them."
        else:
            more = "" if self._found_model.counted_all else "More than "
            message = f"{more}{total:,} residents match: Down to choose, Enter to add, or type more."
        self._found_count.setText(message)

    def _say_in_search(self, message: str) -> None:
        self._found_count.setText(message)
        self._search.setAccessibleDescription(message)

    def _move_in_found(self, step: int) -> None:
        if self._search_timer.isActive():
            self._search_residents()
        rows = self._found_model.rowCount()
        if rows == 0:
            return
        current = self._found.currentIndex().row()
        row = 0 if current < 0 else max(0, min(rows - 1, current + step))
        index = self._found_model.index(row, ResidentTableModel.NAME)
        self._found.selectionModel().setCurrentIndex(
            index,
            QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows,
        )
        self._found.scrollTo(index)

    def _add_anonymous_clicked(self) -> None:
        band = chosen(self._age_band, AgeBand)
        ward = self._ward.currentData()
        self.add_anonymous(AnonymousAttendee(band, str(ward) if ward else None), self._how_many.value())
        self._how_many.setValue(1)

    # Helpers

    def _attendee_text(self, attendee: Attendee) -> str:
        if isinstance(attendee, Resident):
            where = f" ({attendee.postcode})" if attendee.postcode else ""
            return f"{attendee.reference}  {attendee.name}{where}"
        ward = self._wards.get(attendee.ward_code or "", "ward not known")
        return f"Not registered: {attendee.age_band.label}, {ward}"

    def _show_attendees(self) -> None:
        self._attendee_list.clear()
        for attendee in self._attendees:
            self._attendee_list.addItem(self._attendee_text(attendee))
        count = len(self._attendees)
        self._attendee_list.setAccessibleDescription(
            f"{count} attendee{'s' if count != 1 else ''}" if count else "No attendees yet"
        )
        self._remove.setEnabled(bool(count))
        if count:
            self._attendee_list.setCurrentRow(count - 1)
        # A note such as 'already an attendee' goes with the next change; a problem from Save stays.
        show_problem(self._problem_labels["attendees"], self._search, self._problems.get("attendees", ""))
        self._fill_loans()
        self._changed()

    def _fill_loans(self) -> None:
        """Offer the loans the attending residents had on the session's day; keep the one chosen."""
        chosen_loan = self._loan.currentData()
        day = _date_of(self._date.date())
        today = self._now().date()
        self._loan.blockSignals(True)
        self._loan.clear()
        self._loan.addItem("No related loan", None)
        for attendee in self._attendees:
            if isinstance(attendee, Resident):
                for loan in self._loans_of.get(attendee.reference, []):
                    if _open_on(loan, day):
                        self._loan.addItem(loan_words(loan, today), str(loan.id))
        self._loan.setCurrentIndex(max(0, self._loan.findData(chosen_loan)) if chosen_loan else 0)
        self._loan.blockSignals(False)

    def _date_changed(self) -> None:
        if not self._follow_up_needed.isChecked():
            self._suggest_follow_up_day()
        self._fill_loans()
        self._changed()

    def _suggest_follow_up_day(self) -> None:
        """Until staff tick the follow-up and pick a day, it is a week after the session."""
        day = _date_of(self._date.date()) + timedelta(days=FOLLOW_UP_DAYS)
        self._follow_up_on.setDate(QDate(day.year, day.month, day.day))

    def _follow_up_toggled(self, needed: bool) -> None:
        if not needed:
            self._suggest_follow_up_day()
        self._follow_up_on.setEnabled(needed)
        self._follow_up.setEnabled(needed)
        self._changed()

    def _changed(self) -> None:
        if self._save_tried:
            self.check_now()

    def _show_problems(self, problems: dict[str, str]) -> None:
        self._problems = dict(problems)
        unplaced = [message for name, message in problems.items() if name not in self._problem_labels]
        for name, label in self._problem_labels.items():
            show_problem(label, self._fields.get(name), problems.get(name, ""))
        show_problem(self._general_problem, None, " ".join(unplaced))

    def _focus_first_problem(self) -> None:
        for name, widget in self._fields.items():
            if name in self._problems:
                widget.setFocus()
                return

    def _now(self) -> datetime:
        """The desk's local time, as the session rules read it."""
        return self._services.clock().astimezone().replace(tzinfo=None)


def _date_of(day: QDate) -> date:
    return date(day.year(), day.month(), day.day())


# How the Sessions page opens the form; tests pass a stand-in that drives the real dialog without blocking.
AskSession = Callable[[Services, QWidget], Session | None]


def ask_session(services: Services, parent: QWidget) -> Session | None:
    return SessionDialog.ask(services, parent)
