"""Users (administrators): the staff's sign-in accounts; add one, change its role, disable or enable it, give
it a new password; and how long the desk may sit unused before it locks itself."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from digiknow_desk.app import Services
from digiknow_desk.domain.errors import DomainError, ValidationError
from digiknow_desk.domain.staff import (
    ROLE_PERMISSIONS,
    Permission,
    Role,
    StaffAccount,
    account_problems,
    normalise_username,
)
from digiknow_desk.services.accounts import MAX_IDLE_LOCK_MINUTES
from digiknow_desk.ui.device_dialog import PROBLEM_PREFIX, problem_label, show_problem
from digiknow_desk.ui.errors import problem_words
from digiknow_desk.ui.paged_model import RECORD_ROLE
from digiknow_desk.ui.resident_table_model import day_text
from digiknow_desk.ui.sign_in_dialog import (
    PASSWORD_RULE,
    add_field,
    dialog_buttons,
    grow_with_contents,
    password_box,
    words_label,
)
from digiknow_desk.ui.tasks import TaskRunner
from digiknow_desk.ui.widgets import action_button, make_list_table, page_action, size_columns

_Index = QModelIndex | QPersistentModelIndex


def role_words(role: Role) -> str:
    """What a role may do, from the one table the services check: 'Desk staff: see the devices, ...'."""
    may = [permission.label for permission in Permission if permission in ROLE_PERMISSIONS[role]]
    may.remove(Permission.SIGNED_IN.label)
    if role is Role.ADMINISTRATOR:
        return f"{role.label}: everything, including managing staff accounts and backups."
    return f"{role.label}: {', '.join(may)}."


def when_text(moment: datetime | None, today: datetime) -> str:
    if moment is None:
        return "Never"
    local = moment.astimezone()
    return f"{day_text(local, today.date())} {local:%H:%M}"


class AccountTableModel(QAbstractTableModel):
    """The sign-in accounts, by user name."""

    USERNAME, NAME, ROLE, CHAMPION, STATUS, LAST = range(6)
    HEADERS = ("User name", "Name", "Role", "Digital Champion", "Status", "Last signed in")

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._accounts: list[StaffAccount] = []
        self._champions: dict[uuid.UUID, str] = {}
        self._now = datetime.now().astimezone()

    def set_accounts(
        self, accounts: list[StaffAccount], champions: dict[uuid.UUID, str], now: datetime
    ) -> None:
        self.beginResetModel()
        self._accounts = list(accounts)
        self._champions = dict(champions)
        self._now = now
        self.endResetModel()

    def account(self, row: int) -> StaffAccount:
        return self._accounts[row]

    def row_of(self, username: str) -> int:
        return next((row for row, account in enumerate(self._accounts) if account.username == username), -1)

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008  (Qt's own default)
        return 0 if parent.isValid() else len(self._accounts)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.HEADERS)

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._accounts):
            return None
        account = self._accounts[index.row()]
        if role == RECORD_ROLE:
            return account
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.AccessibleTextRole):
            return self._cell(account, index.column())
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

    def status_text(self, account: StaffAccount) -> str:
        if not account.active:
            return "Disabled"
        if account.locked_until is not None and account.locked_until > self._now:
            return f"Locked until {account.locked_until.astimezone():%H:%M}"
        return "Active"

    def _cell(self, account: StaffAccount, column: int) -> str:
        if column == self.USERNAME:
            return account.username
        if column == self.NAME:
            return account.display_name
        if column == self.ROLE:
            return account.role.label
        if column == self.CHAMPION:
            return self._champions.get(account.champion_id, "") if account.champion_id else ""
        if column == self.STATUS:
            return self.status_text(account)
        if column == self.LAST:
            return when_text(account.last_signed_in_at, self._now)
        return ""


class AccountDialog(QDialog):
    """Add a sign-in account: user name, name, role (a Digital Champion's names the champion), and the
    password twice."""

    FIELDS = ("username", "display_name", "role", "champion", "password", "again")

    def __init__(self, services: Services, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._services = services
        self.saved: StaffAccount | None = None
        self.setWindowTitle("Add a staff account")
        self._username = QLineEdit()
        self._username.setAccessibleName("User name")
        self._username.setPlaceholderText("e.g. sam.jones")
        self._name = QLineEdit()
        self._name.setAccessibleName("Name")
        self._name.setPlaceholderText("as records should show it, e.g. Sam Jones")
        self._role = QComboBox()
        self._role.setAccessibleName("Role")
        for role in Role:
            self._role.addItem(role.label, role.value)
            self._role.setItemData(self._role.count() - 1, role_words(role), Qt.ItemDataRole.ToolTipRole)
        self._role.setCurrentIndex(self._role.findData(Role.DESK.value))
        self._role_words = words_label(name="What the role may do")
        self._champion = QComboBox()
        self._champion.setAccessibleName("Digital Champion")
        self._champion.addItem("Choose the champion…", "")
        for champion in services.champions.champions(active_only=True):
            self._champion.addItem(champion.name, str(champion.id))
        self._password = password_box("Password")
        self._again = password_box("Password again")
        self._fields: dict[str, QWidget] = {
            "username": self._username,
            "display_name": self._name,
            "role": self._role,
            "champion": self._champion,
            "password": self._password,
            "again": self._again,
        }
        self._problems = {name: problem_label() for name in self.FIELDS}
        form = QFormLayout()
        for name, caption_text in (
            ("username", "&User name:"),
            ("display_name", "&Name:"),
            ("role", "&Role:"),
            ("champion", "Digital &Champion:"),
            ("password", "&Password:"),
            ("again", "Password &again:"),
        ):
            add_field(form, caption_text, self._fields[name], self._problems[name])
            if name == "role":
                form.addRow("", self._role_words)
            if name == "password":
                form.addRow("", words_label(PASSWORD_RULE, "Password rule"))
        buttons = dialog_buttons("Add &account", "Add account", "Cancel")
        buttons.accepted.connect(self.save)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(buttons)
        self._role.currentIndexChanged.connect(lambda _row: self._role_changed())
        self._role_changed()
        grow_with_contents(self)

    def set_values(
        self,
        username: str,
        display_name: str,
        role: Role,
        password: str,
        *,
        champion_id: uuid.UUID | None = None,
        again: str | None = None,
    ) -> None:
        self._username.setText(username)
        self._name.setText(display_name)
        self._role.setCurrentIndex(self._role.findData(role.value))
        self._champion.setCurrentIndex(
            max(0, self._champion.findData(str(champion_id) if champion_id else ""))
        )
        self._password.setText(password)
        self._again.setText(password if again is None else again)

    def field(self, name: str) -> QWidget:
        return self._fields[name]

    def problem(self, name: str) -> str:
        return self._problems[name].text().removeprefix(PROBLEM_PREFIX)

    def _chosen_role(self) -> Role:
        return Role(self._role.currentData())

    def _role_changed(self) -> None:
        role = self._chosen_role()
        self._role_words.setText(role_words(role))
        # Only a champion's account names a champion; the choice is kept, in case staff change back.
        self._champion.setEnabled(role is Role.CHAMPION)

    def save(self) -> None:
        role = self._chosen_role()
        champion = self._champion.currentData()
        # Everything the form alone can tell at once; the service then checks the rest (and all of it again).
        username = normalise_username(self._username.text())
        problems = account_problems(username, self._name.text(), self._password.text())
        if self._password.text() != self._again.text():
            problems["again"] = "The two passwords differ: type the same password in both."
        if not problems:
            try:
                self.saved = self._services.accounts.add(
                    self._username.text(),
                    self._name.text(),
                    role,
                    self._password.text(),
                    champion_id=uuid.UUID(champion) if champion and role is Role.CHAMPION else None,
                )
            except ValidationError as error:
                problems = dict(error.problems)
        for name, label in self._problems.items():
            show_problem(label, self._fields[name], problems.get(name, ""))
        self.adjustSize()
        if problems:
            self._fields[next((name for name in self.FIELDS if name in problems), "username")].setFocus()
            return
        self.accept()

    @classmethod
    def ask(cls, services: Services, parent: QWidget | None = None) -> StaffAccount | None:
        dialog = cls(services, parent)
        dialog.exec()
        return dialog.saved


class RoleDialog(QDialog):
    """Give an account another role; says what each role may do."""

    def __init__(self, services: Services, account: StaffAccount, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._services = services
        self._account = account
        self.saved: StaffAccount | None = None
        self.setWindowTitle(f"Change {account.username}'s role")
        self._role = QComboBox()
        self._role.setAccessibleName("Role")
        for role in Role:
            self._role.addItem(role.label, role.value)
        self._role.setCurrentIndex(self._role.findData(account.role.value))
        self._role_words = words_label(name="What the role may do")
        self._problem = problem_label()
        form = QFormLayout()
        add_field(form, "&Role:", self._role, self._problem)
        form.addRow("", self._role_words)
        buttons = dialog_buttons("C&hange role", "Change role", "Cancel")
        buttons.accepted.connect(self.save)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        now = f"{account.display_name} ({account.username}) is {account.role.label}."
        layout.addWidget(words_label(now, "Role now"))
        layout.addLayout(form)
        layout.addWidget(buttons)
        self._role.currentIndexChanged.connect(lambda _row: self._show_role())
        self._show_role()
        grow_with_contents(self)

    def set_role(self, role: Role) -> None:
        self._role.setCurrentIndex(self._role.findData(role.value))

    @property
    def problem(self) -> str:
        return self._problem.text().removeprefix(PROBLEM_PREFIX)

    def _show_role(self) -> None:
        self._role_words.setText(role_words(Role(self._role.currentData())))

    def save(self) -> None:
        role = Role(self._role.currentData())
        if role is self._account.role:
            self.reject()
            return
        if role is Role.CHAMPION and self._account.champion_id is None:
            # A champion's account shows the residents that champion supports, so it must name the champion.
            show_problem(
                self._problem,
                self._role,
                "This account is not linked to a Digital Champion. Add a new Champion account for them "
                "instead (it asks which champion), and disable this one if it is no longer needed.",
            )
            self.adjustSize()
            return
        try:
            self.saved = self._services.accounts.set_role(self._account.username, role)
        except DomainError as error:
            show_problem(self._problem, self._role, problem_words(error))
            self.adjustSize()
            return
        self.accept()

    @classmethod
    def ask(
        cls, services: Services, account: StaffAccount, parent: QWidget | None = None
    ) -> StaffAccount | None:
        dialog = cls(services, account, parent)
        dialog.exec()
        return dialog.saved


class ResetPasswordDialog(QDialog):
    """Give an account a new password (which also unlocks it); the staff member then changes it."""

    def __init__(self, services: Services, account: StaffAccount, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._services = services
        self._account = account
        self.saved: StaffAccount | None = None
        self.setWindowTitle(f"New password for {account.username}")
        self._fields = {"password": password_box("New password"), "again": password_box("New password again")}
        self._problems = {name: problem_label() for name in self._fields}
        form = QFormLayout()
        add_field(form, "&New password:", self._fields["password"], self._problems["password"])
        form.addRow("", words_label(PASSWORD_RULE, "Password rule"))
        add_field(form, "New password &again:", self._fields["again"], self._problems["again"])
        buttons = dialog_buttons("Set &password", "Set the new password", "Cancel")
        buttons.accepted.connect(self.save)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(
            words_label(
                f"Give {account.display_name} a new password and tell them it, in person; they should then "
                "change it (File > Change my password). This also unlocks a locked account.",
                "About resetting a password",
            )
        )
        layout.addLayout(form)
        layout.addWidget(buttons)
        grow_with_contents(self)

    def set_values(self, password: str, again: str | None = None) -> None:
        self._fields["password"].setText(password)
        self._fields["again"].setText(password if again is None else again)

    def problem(self, name: str) -> str:
        return self._problems[name].text().removeprefix(PROBLEM_PREFIX)

    def save(self) -> None:
        password, again = self._fields["password"].text(), self._fields["again"].text()
        problems: dict[str, str] = {}
        if password != again:
            problems["again"] = "The two passwords differ: type the same password in both."
        else:
            try:
                self.saved = self._services.accounts.reset_password(self._account.username, password)
            except ValidationError as error:
                problems = dict(error.problems)
        for name, label in self._problems.items():
            show_problem(label, self._fields[name], problems.get(name, ""))
        self.adjustSize()
        if problems:
            self._fields["password" if "password" in problems else "again"].setFocus()
            return
        self.accept()

    @classmethod
    def ask(
        cls, services: Services, account: StaffAccount, parent: QWidget | None = None
    ) -> StaffAccount | None:
        dialog = cls(services, account, parent)
        dialog.exec()
        return dialog.saved


@dataclass(frozen=True)
class UserDialogs:
    """The dialogs the page opens; tests pass stand-ins so nothing blocks on a modal dialog."""

    add_account: Callable[[Services, QWidget], StaffAccount | None] = AccountDialog.ask
    change_role: Callable[[Services, StaffAccount, QWidget], StaffAccount | None] = RoleDialog.ask
    reset_password: Callable[[Services, StaffAccount, QWidget], StaffAccount | None] = ResetPasswordDialog.ask


class UsersPage(QWidget):
    """Every sign-in account with its role and state; the actions on the selected one; the idle lock."""

    notice = Signal(str)  # what was just done, for the status bar
    idle_lock_changed = Signal(int)  # the new number of minutes

    def __init__(
        self,
        services: Services,
        tasks: TaskRunner,
        parent: QWidget | None = None,
        *,
        dialogs: UserDialogs | None = None,
    ) -> None:
        super().__init__(parent)
        self._services = services
        self._tasks = tasks  # for slow work on this page (none: each read is one quick query)
        self._dialogs = dialogs or UserDialogs()

        self._add_action = page_action(self, "Add account", "Ctrl+N", self.add_account)
        self._role_action = page_action(self, "Change role", None, self.change_role)
        self._active_action = page_action(self, "Disable account", None, self.toggle_active)
        self._password_action = page_action(self, "Reset password", None, self.reset_password)
        self._add_button = action_button("&Add account…", self._add_action)
        self._role_button = action_button("Change &role…", self._role_action)
        self._active_button = action_button("&Disable", self._active_action)
        self._password_button = action_button("Reset pass&word…", self._password_action)

        self._model = AccountTableModel(self)
        self._table = QTableView()
        self._table.setObjectName("accounts-table")
        self._table.setModel(self._model)
        self._table.setAccessibleName("Staff accounts")
        self._table.setAccessibleDescription(
            "One row per sign-in account: user name, name, role, the champion it is for, whether it is "
            "active, disabled or locked, and when it last signed in."
        )
        make_list_table(self._table)
        self._table.setTabKeyNavigation(False)  # Tab leaves the table, as keyboard users expect
        size_columns(
            self._table,
            {
                AccountTableModel.USERNAME: "demo.coordinator",
                AccountTableModel.NAME: "Priya Shah-Robinson",
                AccountTableModel.ROLE: "Digital Champion",
                AccountTableModel.CHAMPION: "Priya Shah-Robinson",
                AccountTableModel.STATUS: "Locked until 10:45",
            },
            AccountTableModel.LAST,
        )
        self._table.selectionModel().selectionChanged.connect(lambda *_: self._update_actions())
        self._table.activated.connect(lambda _index: self.change_role())
        self._count = words_label(name="Accounts listed")
        self._message = words_label(name="Last change to accounts")

        self._idle_minutes = QSpinBox()
        self._idle_minutes.setRange(0, 999)  # wide on purpose: the accounts service says what is allowed
        self._idle_minutes.setSuffix(" minutes")
        self._idle_minutes.setAccessibleName("Lock the desk after this many minutes without use")
        self._idle_problem = problem_label()
        self._idle_message = words_label(name="Idle lock saved or not")
        save_idle = QPushButton("Sa&ve lock time")
        save_idle.setAccessibleName("Save the lock time")
        save_idle.clicked.connect(self.save_idle_lock)

        heading = QLabel("<h2>Staff accounts</h2>")
        heading.setAccessibleName("Staff accounts")
        intro = words_label(
            "Each member of staff signs in with their own account; its role says what they may do. A "
            "disabled account cannot sign in, and its name stays on the records it made.",
            "About staff accounts",
        )
        buttons = QHBoxLayout()
        for button in (self._add_button, self._role_button, self._active_button, self._password_button):
            buttons.addWidget(button)
        buttons.addStretch()
        idle_box = QGroupBox("Locking an unused desk")
        idle_form = QFormLayout()
        add_field(
            idle_form, "&Lock after:", self._idle_minutes, self._idle_problem, Qt.AlignmentFlag.AlignLeft
        )
        idle_layout = QVBoxLayout(idle_box)
        idle_layout.addWidget(
            words_label(
                f"With no key press or click for this long (1 to {MAX_IDLE_LOCK_MINUTES} minutes), the desk "
                "locks itself and hides what was on screen until someone signs in. 5 minutes suits a shared "
                "laptop at the counter.",
                "About locking",
            )
        )
        idle_layout.addLayout(idle_form)
        save_row = QHBoxLayout()
        save_row.addWidget(save_idle)
        save_row.addWidget(self._idle_message, 1)
        idle_layout.addLayout(save_row)
        layout = QVBoxLayout(self)
        layout.addWidget(heading)
        layout.addWidget(intro)
        layout.addLayout(buttons)
        layout.addWidget(self._count)
        layout.addWidget(self._table, 1)
        layout.addWidget(self._message)
        layout.addWidget(idle_box)
        self.refresh()
        self._show_idle_lock()

    # What tests and the main window read

    @property
    def model(self) -> AccountTableModel:
        return self._model

    @property
    def table(self) -> QTableView:
        return self._table

    @property
    def message(self) -> str:
        return self._message.text()

    @property
    def idle_minutes_box(self) -> QSpinBox:
        return self._idle_minutes

    @property
    def idle_problem(self) -> str:
        return self._idle_problem.text().removeprefix(PROBLEM_PREFIX)

    @property
    def active_button(self) -> QPushButton:
        return self._active_button

    def refresh(self) -> None:
        """Read the accounts again, keeping the selected one selected."""
        chosen = self.selected()
        accounts = self._services.accounts.accounts()
        champions = {champion.id: champion.name for champion in self._services.champions.champions()}
        self._model.set_accounts(accounts, champions, self._services.clock())
        count = len(accounts)
        self._count.setText(f"{count} account{'s' if count != 1 else ''}")
        if chosen is not None:
            self.select(chosen.username)
        self._update_actions()

    def selected(self) -> StaffAccount | None:
        rows = self._table.selectionModel().selectedRows()
        return self._model.account(rows[0].row()) if rows else None

    def select(self, username: str) -> bool:
        row = self._model.row_of(username)
        if row < 0:
            return False
        self._table.selectRow(row)
        return True

    # Actions

    def add_account(self) -> None:
        account = self._dialogs.add_account(self._services, self)
        if account is None:
            return
        self.refresh()
        self.select(account.username)
        self._say(f"Added {account.username} ({account.role.label}). Tell them their password in person.")

    def change_role(self) -> None:
        account = self.selected()
        if account is None:
            return
        changed = self._dialogs.change_role(self._services, account, self)
        if changed is None:
            return
        self.refresh()
        note = ""
        signed_in = self._services.accounts.signed_in()
        if signed_in is not None and signed_in.username == changed.username:
            note = " Your own new role applies from your next sign-in (File > Lock / switch user)."
        self._say(f"{changed.username} is now {changed.role.label}.{note}")

    def toggle_active(self) -> None:
        account = self.selected()
        if account is None:
            return
        try:
            changed = self._services.accounts.set_active(account.username, not account.active)
        except DomainError as error:
            self._message.setText(problem_words(error))
            return
        self.refresh()
        if changed.active:
            self._say(f"Enabled {changed.username}: they can sign in again.")
        else:
            self._say(
                f"Disabled {changed.username}: they can no longer sign in. Their records keep their name."
            )

    def reset_password(self) -> None:
        account = self.selected()
        if account is None:
            return
        changed = self._dialogs.reset_password(self._services, account, self)
        if changed is None:
            return
        self.refresh()
        self._say(
            f"{changed.username} has a new password and is unlocked. Ask them to change it when they sign in."
        )

    def save_idle_lock(self) -> bool:
        minutes = self._idle_minutes.value()
        try:
            self._services.accounts.set_idle_lock_minutes(minutes)
        except ValidationError as error:
            show_problem(self._idle_problem, self._idle_minutes, " ".join(error.problems.values()))
            self._idle_message.setText("Not saved: correct the value marked Problem.")
            self._idle_minutes.setFocus()
            return False
        self._show_idle_lock()
        unit = "minute" if minutes == 1 else "minutes"
        self._idle_message.setText(f"Saved. The desk locks after {minutes} {unit} unused.")
        self.idle_lock_changed.emit(minutes)
        return True

    def _show_idle_lock(self) -> None:
        self._idle_minutes.setValue(self._services.accounts.idle_lock_minutes())
        show_problem(self._idle_problem, self._idle_minutes, "")

    def _say(self, text: str) -> None:
        self._message.setText(text)
        self.notice.emit(text)

    def _update_actions(self) -> None:
        account = self.selected()
        for action in (self._role_action, self._active_action, self._password_action):
            action.setEnabled(account is not None)
        for button in (self._role_button, self._active_button, self._password_button):
            button.setEnabled(account is not None)
        enabling = account is not None and not account.active
        self._active_action.setText("Enable account" if enabling else "Disable account")
        self._active_button.setText("&Enable" if enabling else "&Disable")
        self._active_button.setAccessibleName(self._active_action.text())
