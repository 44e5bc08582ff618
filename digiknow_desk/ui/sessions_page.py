"""The Sessions screen: support sessions by month, champion and venue, one session's details, the
follow-ups coming up, and logging (Ctrl+N) or deleting a session or marking its follow-up done."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date, timedelta

from PySide6.QtCore import QItemSelectionModel, QModelIndex, Qt, Signal
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QFrame,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QScrollArea,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from digiknow_desk.app import Services
from digiknow_desk.domain.errors import DomainError
from digiknow_desk.domain.sessions import Session, SessionAttendee, SessionFilter
from digiknow_desk.ui.device_table_model import when_text
from digiknow_desk.ui.errors import problem_words
from digiknow_desk.ui.resident_table_model import day_text
from digiknow_desk.ui.session_dialog import AskSession, ask_session, loan_words
from digiknow_desk.ui.session_table_model import (
    RECORD_ROLE,
    SessionTableModel,
    attendees_text,
    duration_words,
    month_text,
    recent_months,
)
from digiknow_desk.ui.tasks import TaskRunner
from digiknow_desk.ui.widgets import action_button, make_list_table, page_action, size_columns

MONTHS_LISTED = 24
FOLLOW_UP_DAYS_AHEAD = 7
FOLLOW_UPS_LISTED = 3  # the line names this many follow-ups, then says how many more

Confirm = Callable[[QWidget | None, str, str], bool]


def confirm_delete(parent: QWidget | None, title: str, question: str) -> bool:
    """Ask before deleting, with No as the answer Enter gives."""
    answer = QMessageBox.question(
        parent,
        title,
        question,
        QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
        QMessageBox.StandardButton.No,
    )
    return answer == QMessageBox.StandardButton.Yes


def sessions_text(count: int) -> str:
    return "No sessions" if count == 0 else f"{count:,} session{'s' if count != 1 else ''}"


def session_words(session: Session, today: date) -> str:
    """A session in a phrase: 'the group class on Sat 14 Mar at 10:00 (5: Maureen Clarke, …)'."""
    return (
        f"the {session.kind.label.lower()} session on {day_text(session.held_on, today)} at "
        f"{session.starts_at:%H:%M} ({attendees_text(session)})"
    )


def follow_up_words(session: Session, today: date) -> str:
    """The follow-up in the details: 'Tue 17 Mar: Check the NHS App', then '(done Mon 16 Mar)' once done."""
    if session.follow_up_on is None:
        return "No follow-up"
    words = f"{day_text(session.follow_up_on, today)}: {session.follow_up}"
    if session.follow_up_done_on is not None:
        words += f" (done {day_text(session.follow_up_done_on, today)})"
    return words


class SessionsPage(QWidget):
    """Sessions newest first, a page at a time, filtered by month (this month to start), champion and
    venue; the selected session's details; follow-ups due this week; log a session through the form, and
    mark the selected session's follow-up done."""

    changed = Signal()  # after a session is logged or deleted (residents' inclusion status may change)
    notice = Signal(str)  # what was just done, for the status bar

    DETAIL_FIELDS = (
        ("when", "When"),
        ("where", "Kind and venue"),
        ("champions", "Champions"),
        ("attendees", "Attendees"),
        ("logged", "Logged by"),
        ("topics", "Topics"),
        ("outcome", "Outcome"),
        ("follow_up", "Follow-up"),
        ("loan", "Related loan"),
    )
    LEFT_DETAILS = 5  # the fields in the details' left column

    def __init__(
        self,
        services: Services,
        tasks: TaskRunner,
        parent: QWidget | None = None,
        *,
        ask_session: AskSession = ask_session,
        confirm: Confirm = confirm_delete,
    ) -> None:
        super().__init__(parent)
        self._services = services
        self._tasks = tasks  # for slow work on this page (none yet: each read is one quick query)
        self._ask_session = ask_session
        self._confirm = confirm  # tests answer the question instead of a modal box
        self._wards = {ward.code: ward.name for ward in services.venues.wards()}

        # Actions
        self._log_action = page_action(self, "Log a session", "Ctrl+N", self.log_session)
        self._delete_action = page_action(self, "Delete session", None, self.delete_session)
        self._log_button = action_button("&Log a session…", self._log_action)
        self._delete_button = action_button("&Delete session…", self._delete_action)
        self._delete_button.setToolTip("Delete the selected session, if it was logged by mistake")
        self._done_action = page_action(self, "Mark follow-up done", None, self.mark_follow_up_done)
        self._done_button = action_button("Mar&k follow-up done", self._done_action)
        self._done_button.setToolTip("Mark the selected session's follow-up done today")

        # Follow-ups coming up
        self._follow_ups = QLabel()
        self._follow_ups.setObjectName("follow-ups-due")
        self._follow_ups.setAccessibleName("Follow-ups due")
        self._follow_ups.setWordWrap(True)
        self._follow_ups.setTextFormat(Qt.TextFormat.PlainText)
        self._follow_ups.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        follow_ups_frame = QFrame()
        follow_ups_frame.setFrameShape(QFrame.Shape.StyledPanel)
        QVBoxLayout(follow_ups_frame).addWidget(self._follow_ups)

        # Filters
        self._month = QComboBox()
        self._month.setAccessibleName("Show sessions in month")
        self._month.addItem("All months", None)
        for month_start in recent_months(self._today(), MONTHS_LISTED):
            self._month.addItem(month_text(month_start), month_start.isoformat())
        self._month.setCurrentIndex(1)  # this month
        self._champion = QComboBox()
        self._champion.setAccessibleName("Show sessions given by champion")
        self._venue = QComboBox()
        self._venue.setAccessibleName("Show sessions held at venue")
        self._fill_filters()
        for combo in (self._month, self._champion, self._venue):
            combo.currentIndexChanged.connect(lambda _row: self.apply_filter())
        self._count = QLabel()
        self._count.setAccessibleName("Sessions listed")
        self._count.setTextFormat(Qt.TextFormat.PlainText)

        # The list
        self._model = SessionTableModel(services.sessions, self._today, parent=self)
        self._table = QTableView()
        self._table.setObjectName("sessions-table")
        self._table.setModel(self._model)
        self._table.setAccessibleName("Sessions")
        self._table.setAccessibleDescription(
            "One row per session, newest first: date, time, length, kind, venue, champions, attendees, "
            "topics and follow-up."
        )
        make_list_table(self._table)
        self._table.setTabKeyNavigation(False)  # Tab leaves the table
        size_columns(
            self._table,
            {
                SessionTableModel.DATE: "Wed 30 Sep 2026",
                SessionTableModel.TIME: "00:00",
                SessionTableModel.LENGTH: "1 h 30 min",
                SessionTableModel.KIND: "Group class",
                SessionTableModel.VENUE: "Brinnington Library",
                SessionTableModel.CHAMPIONS: "Priya Shah, Tom Okafor",
                SessionTableModel.TOPICS: "NHS App, Online banking",
                SessionTableModel.FOLLOW_UP: "Done Sat 21 Mar: Check NHS App",
            },
            SessionTableModel.ATTENDEES,
        )
        selection = self._table.selectionModel()
        selection.currentRowChanged.connect(self._current_changed)
        selection.selectionChanged.connect(lambda *_: self._update_actions())

        # The selected session
        self._details_box = QGroupBox("Session details")
        self._empty_details = QLabel("Select a session to see its outcome, follow-up and related loan.")
        self._empty_details.setWordWrap(True)
        self._detail_values: dict[str, QLabel] = {}
        # Two columns: who, when and where on the left; what it covered and what came of it on the right.
        columns = [QFormLayout(), QFormLayout()]
        for number, (key, caption) in enumerate(self.DETAIL_FIELDS):
            value = QLabel()
            value.setWordWrap(True)
            value.setTextFormat(Qt.TextFormat.PlainText)
            value.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            value.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
            self._detail_values[key] = value
            columns[0 if number < self.LEFT_DETAILS else 1].addRow(f"{caption}:", value)
        fields = QWidget()
        fields_layout = QHBoxLayout(fields)
        fields_layout.setContentsMargins(0, 0, 0, 0)
        for form in columns:
            form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
            fields_layout.addLayout(form, 1)
        self._details_fields = QScrollArea()
        self._details_fields.setWidget(fields)
        self._details_fields.setWidgetResizable(True)
        self._details_fields.setFrameShape(QFrame.Shape.NoFrame)
        self._details_fields.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self._details_fields.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        # Room for the left column's five lines without scrolling (a group's attendees may scroll).
        self._details_box.setMinimumHeight(self.fontMetrics().lineSpacing() * 11)
        details_layout = QVBoxLayout(self._details_box)
        details_layout.addWidget(self._empty_details)
        details_layout.addWidget(self._details_fields, 1)

        self._notice = QLabel()
        self._notice.setWordWrap(True)
        self._notice.setTextFormat(Qt.TextFormat.PlainText)
        self._notice.setAccessibleName("Last action")

        # Layout
        buttons = QHBoxLayout()
        buttons.addWidget(self._log_button)
        buttons.addWidget(self._delete_button)
        buttons.addWidget(self._done_button)
        buttons.addStretch()
        filters = QHBoxLayout()
        for caption, combo in (
            ("&Month:", self._month),
            ("Champio&n:", self._champion),
            ("&Venue:", self._venue),
        ):
            label = QLabel(caption)
            label.setBuddy(combo)
            filters.addWidget(label)
            filters.addWidget(combo)
            filters.addSpacing(self.fontMetrics().averageCharWidth() * 2)
        filters.addWidget(self._count, 1)
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.setChildrenCollapsible(False)
        splitter.addWidget(self._table)
        splitter.addWidget(self._details_box)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        layout = QVBoxLayout(self)
        layout.addLayout(buttons)
        layout.addWidget(follow_ups_frame)
        layout.addLayout(filters)
        layout.addWidget(splitter, 1)
        layout.addWidget(self._notice)
        order: list[QWidget] = [
            self._log_button,
            self._delete_button,
            self._done_button,
            self._month,
            self._champion,
            self._venue,
            self._table,
        ]
        for first, second in zip(order, order[1:], strict=False):
            self.setTabOrder(first, second)

        self.apply_filter()
        self._show_follow_ups()

    # Read by the main window and the tests

    @property
    def model(self) -> SessionTableModel:
        return self._model

    @property
    def table(self) -> QTableView:
        return self._table

    @property
    def month_filter(self) -> QComboBox:
        return self._month

    @property
    def champion_filter(self) -> QComboBox:
        return self._champion

    @property
    def venue_filter(self) -> QComboBox:
        return self._venue

    @property
    def count_text(self) -> str:
        return self._count.text()

    @property
    def follow_ups_text(self) -> str:
        return self._follow_ups.text()

    @property
    def notice_text(self) -> str:
        return self._notice.text()

    def detail_text(self, key: str) -> str:
        """One value shown in the details panel, e.g. detail_text('outcome')."""
        return self._detail_values[key].text() if self._details_fields.isVisibleTo(self) else ""

    def session_filter(self) -> SessionFilter:
        """The filter the three boxes make."""
        month = self._month.currentData()
        champion = self._champion.currentData()
        venue = self._venue.currentData()
        return SessionFilter(
            month=date.fromisoformat(month) if month else None,
            champion_id=uuid.UUID(champion) if champion else None,
            venue_id=uuid.UUID(venue) if venue else None,
        )

    def current_session(self) -> Session | None:
        index = self._table.currentIndex()
        if not index.isValid() or not self._table.selectionModel().isRowSelected(index.row(), QModelIndex()):
            return None
        session: Session = self._model.data(index, RECORD_ROLE)
        return session

    # Public actions

    def apply_filter(self, keep: str | None = None) -> None:
        """List the sessions the filter boxes choose, selecting the session with id `keep` if listed."""
        keep = keep or self._shown_key()
        self._model.set_filter(self.session_filter())
        self._count.setText(sessions_text(self._model.total))
        if keep is None or not self._select_key(keep):
            self._show_details(None)
        self._update_actions()

    def refresh(self) -> None:
        """Read the champions, venues, sessions and follow-ups again, keeping the selected session."""
        self._fill_filters()
        self.apply_filter()
        self._show_follow_ups()

    def log_session(self) -> Session | None:
        """Open the session form; a logged session is listed and selected."""
        saved = self._ask_session(self._services, self)
        if saved is None:
            return None
        message = f"Logged {session_words(saved, self._today())}."
        shown_month = self.session_filter().month
        if shown_month is not None and saved.held_on.replace(day=1) != shown_month.replace(day=1):
            message += f" It is listed under {month_text(saved.held_on)}."
        self._set_notice(message)
        self.refresh()
        self._select_key(str(saved.id))
        self.changed.emit()
        return saved

    def delete_session(self) -> bool:
        """Delete the selected session once staff confirm; True when it was deleted."""
        session = self.current_session()
        if session is None:
            self._set_notice("Select a session first, then delete it.")
            return False
        words = session_words(session, self._today())
        if not self._confirm(
            self,
            "Delete session",
            f"Delete {words}?\n\nOnly delete a session logged by mistake: this cannot be undone.",
        ):
            return False
        try:
            self._services.sessions.delete(session.id)
        except DomainError as error:
            self._set_notice(problem_words(error))
            self.refresh()
            return False
        self._set_notice(f"Deleted {words}.")
        self.refresh()
        self.changed.emit()
        return True

    def mark_follow_up_done(self) -> bool:
        """Mark the selected session's follow-up done today; True when it was marked."""
        session = self.current_session()
        if session is None or not session.follow_up_open:
            self._set_notice("Select a session with a follow-up still to do, then mark it done.")
            return False
        try:
            done = self._services.sessions.follow_up_done(session.id)
        except DomainError as error:
            self._set_notice(problem_words(error))
            self.refresh()
            return False
        self._set_notice(
            f"Marked the follow-up done for {session_words(done, self._today())}: {done.follow_up}."
        )
        self.refresh()
        self._table.setFocus()  # the button is disabled now: keyboard users carry on in the list
        return True

    # Qt overrides

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self.refresh()  # champions and venues may have changed on other screens

    # Helpers

    def _fill_filters(self) -> None:
        """The champions and venues to filter by, keeping what is chosen."""
        for combo, everyone, items in (
            (
                self._champion,
                "Every champion",
                [
                    (c.name + ("" if c.active else " (not active)"), str(c.id))
                    for c in self._services.champions.champions()
                ],
            ),
            (
                self._venue,
                "Every venue",
                [
                    (v.name + ("" if v.active else " (closed)"), str(v.id))
                    for v in self._services.venues.venues()
                ],
            ),
        ):
            chosen = combo.currentData()
            combo.blockSignals(True)
            combo.clear()
            combo.addItem(everyone, None)
            for text, key in items:
                combo.addItem(text, key)
            combo.setCurrentIndex(max(0, combo.findData(chosen)) if chosen else 0)
            combo.blockSignals(False)

    def _show_follow_ups(self) -> None:
        """The follow-ups still to do coming up this week, soonest first, then those overdue, latest
        first (the oldest are the least likely to be still wanted); those marked done are left out."""
        today = self._today()
        until = today + timedelta(days=FOLLOW_UP_DAYS_AHEAD)
        due = self._services.sessions.follow_ups(until)
        if not due:
            self._follow_ups.setText(f"No follow-ups due by {day_text(until, today)}.")
            return
        coming = [session for session in due if session.follow_up_on and session.follow_up_on >= today]
        overdue = [session for session in reversed(due) if session not in coming]
        heading = f"Follow-ups due by {day_text(until, today)}: {len(coming)} coming up" + (
            f", {len(overdue)} overdue." if overdue else "."
        )
        lines = [heading]
        for session in (coming + overdue)[:FOLLOW_UPS_LISTED]:
            assert session.follow_up_on is not None
            late = " (overdue)" if session.follow_up_on < today else ""
            lines.append(
                f"{day_text(session.follow_up_on, today)}{late}: {attendees_text(session)}: "
                f"{session.follow_up} ({session.champion_names})"
            )
        if len(due) > FOLLOW_UPS_LISTED:
            lines.append(f"and {len(due) - FOLLOW_UPS_LISTED} more.")
        self._follow_ups.setText("\n".join(lines))

    def _shown_key(self) -> str | None:
        session = self.current_session()
        return str(session.id) if session else None

    def _select_key(self, key: str) -> bool:
        row = self._model.row_of(key, fetch=False)
        if row is None:
            return False
        index = self._model.index(row, SessionTableModel.DATE)
        self._table.selectionModel().setCurrentIndex(
            index,
            QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows,
        )
        self._table.scrollTo(index)
        self._show_details(self._model.session(row))
        return True

    def _current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        self._show_details(self._model.session(current.row()) if current.isValid() else None)
        self._update_actions()

    def _show_details(self, session: Session | None) -> None:
        self._empty_details.setVisible(session is None)
        self._details_fields.setVisible(session is not None)
        if session is None:
            self._details_box.setTitle("Session details")
            return
        today = self._today()
        self._details_box.setTitle(f"Session on {day_text(session.held_on, today)}")
        ends = (session.starts_at.hour * 60 + session.starts_at.minute + session.minutes) % (24 * 60)
        values = {
            "when": f"{day_text(session.held_on, today)}, {session.starts_at:%H:%M} to "
            f"{ends // 60:02d}:{ends % 60:02d} ({duration_words(session.minutes)})",
            "where": f"{session.kind.label}, " + (session.venue_name or "no venue"),
            "champions": session.champion_names,
            "attendees": "\n".join(
                self._attendee_words(attendee)
                for attendee in sorted(session.attendees, key=lambda attendee: attendee.resident_id is None)
            ),
            "topics": session.topic_labels or "None recorded",
            "outcome": session.outcome or "None recorded",
            "follow_up": follow_up_words(session, today),
            "loan": self._loan_words(session, today),
            "logged": f"{session.logged_by}, {when_text(session.logged_at)}",
        }
        for key, value in values.items():
            self._detail_values[key].setText(value)

    def _attendee_words(self, attendee: SessionAttendee) -> str:
        if attendee.resident_id is not None:
            return f"{attendee.reference} {attendee.name}"
        ward = self._wards.get(attendee.ward_code or "", "ward not known")
        return f"Not registered: {attendee.age_band.label}, {ward}"

    def _loan_words(self, session: Session, today: date) -> str:
        if session.loan_id is None:
            return "None"
        for attendee in session.attendees:
            if attendee.resident_id is None:
                continue
            try:
                loans = self._services.lending.loans_of(attendee.reference)
            except DomainError:  # the resident has gone since the list was read
                continue
            for loan in loans:
                if loan.id == session.loan_id:
                    return loan_words(loan, today)
        return "A loan no longer on record"

    def _set_notice(self, message: str) -> None:
        self._notice.setText(message)
        self.notice.emit(message)

    def _update_actions(self) -> None:
        current = self.current_session()
        self._delete_action.setEnabled(current is not None)
        self._delete_button.setEnabled(current is not None)
        follow_up_open = current is not None and current.follow_up_open
        self._done_action.setEnabled(follow_up_open)
        self._done_button.setEnabled(follow_up_open)

    def _today(self) -> date:
        return self._services.clock().astimezone().date()
