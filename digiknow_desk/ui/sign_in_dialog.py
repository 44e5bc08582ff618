"""Signing in: the sign-in dialog, the first administrator's account on a new database, changing one's own
password, and the DEMO banner every screen of a demo database shows."""

from __future__ import annotations

import html
from typing import Protocol

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from digiknow_desk.app import Services
from digiknow_desk.domain.errors import DomainError, ValidationError
from digiknow_desk.domain.staff import (
    MIN_PASSWORD,
    SignInRefused,
    StaffMember,
    account_problems,
    normalise_username,
)
from digiknow_desk.services.demo import DEMO_ACCOUNTS
from digiknow_desk.ui.device_dialog import PROBLEM_PREFIX, problem_label, show_problem

DEMO_TEXT = "DEMO DATABASE: made-up residents and devices, for practice only. Do not enter real people here."
# White on this red: 8.2:1, above WCAG AA's 4.5:1. The words say DEMO too, so colour is never the only sign.
DEMO_STYLE = "QLabel#demoBanner { background: #9b1c1c; color: #ffffff; font-weight: bold; padding: 0.4em; }"
PASSWORD_RULE = (
    f"A password has at least {MIN_PASSWORD} characters and does not contain the user name. Three random "
    "words (e.g. 'kettle violin harbour') are easy to remember and hard to guess."
)


def demo_banner() -> QLabel:
    """The coloured DEMO bar for the top of a screen or dialog."""
    banner = QLabel(DEMO_TEXT)
    banner.setObjectName("demoBanner")
    banner.setStyleSheet(DEMO_STYLE)
    banner.setWordWrap(True)
    banner.setAlignment(Qt.AlignmentFlag.AlignCenter)
    banner.setAccessibleName("Demo database")
    banner.setAccessibleDescription(DEMO_TEXT)
    return banner


FULL_WIDTH = Qt.AlignmentFlag(0)  # no alignment: a field takes its cell's width


def password_box(name: str) -> QLineEdit:
    box = QLineEdit()
    box.setEchoMode(QLineEdit.EchoMode.Password)
    box.setAccessibleName(name)
    return box


def add_field(
    form: QFormLayout,
    caption_text: str,
    field: QWidget,
    problem: QLabel,
    alignment: Qt.AlignmentFlag = FULL_WIDTH,
) -> None:
    """A form row: the caption (its mnemonic reaching `field`), the field (the row's width unless aligned),
    and its problem under it."""
    caption = QLabel(caption_text)
    caption.setBuddy(field)
    cell = QVBoxLayout()
    cell.addWidget(field, 0, alignment)
    cell.addWidget(problem)
    form.addRow(caption, cell)


def words_label(text: str = "", name: str = "") -> QLabel:
    """Plain words that wrap, and that keyboard and screen-reader users can select."""
    label = QLabel(text)
    label.setWordWrap(True)
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setTextInteractionFlags(
        Qt.TextInteractionFlag.TextSelectableByMouse | Qt.TextInteractionFlag.TextSelectableByKeyboard
    )
    if name:
        label.setAccessibleName(name)
    return label


def grow_with_contents(dialog: QDialog, characters: int = 36) -> None:
    """Make the dialog's fields `characters` wide (in its font, so they grow with larger text). After a
    message appears, `dialog.adjustSize()` makes room for it (wrapped words need more height)."""
    width = dialog.fontMetrics().averageCharWidth() * characters
    for field in [*dialog.findChildren(QLineEdit), *dialog.findChildren(QComboBox)]:
        if not isinstance(field.parent(), QComboBox):  # a combo's own line edit follows the combo
            field.setMinimumWidth(width)


def dialog_buttons(ok_text: str, ok_name: str, cancel_text: str) -> QDialogButtonBox:
    buttons = QDialogButtonBox()
    ok = buttons.addButton(ok_text, QDialogButtonBox.ButtonRole.AcceptRole)
    ok.setAccessibleName(ok_name)
    ok.setDefault(True)
    cancel = buttons.addButton(cancel_text, QDialogButtonBox.ButtonRole.RejectRole)
    cancel.setAccessibleName(cancel_text.replace("&", ""))
    return buttons


def _heading(text: str) -> QLabel:
    label = QLabel(f"<h2>{html.escape(text)}</h2>")
    label.setAccessibleName(text)
    return label


class SignInDialog(QDialog):
    """User name and password for this database; a refusal is said under them, in the service's words."""

    def __init__(
        self, services: Services, parent: QWidget | None = None, *, note: str = "", quitting: bool = False
    ) -> None:
        super().__init__(parent)
        self._services = services
        self.signed_in: StaffMember | None = None
        self.setWindowTitle("Sign in to DigiKnow Desk")
        is_demo = services.demo.is_demo()
        self._username = QLineEdit()
        self._username.setAccessibleName("User name")
        self._username.setPlaceholderText("e.g. sam.jones")
        self._password = password_box("Password")
        self._message = words_label(name="Why signing in failed")
        self._message.setVisible(False)
        font = self._message.font()
        font.setBold(True)
        self._message.setFont(font)

        layout = QVBoxLayout(self)
        if is_demo:
            layout.addWidget(demo_banner())
        layout.addWidget(_heading("Sign in"))
        if note:
            layout.addWidget(words_label(note, "Why the desk is locked"))
        layout.addWidget(words_label(f"Database: {services.database.display_name}", "Database"))
        form = QFormLayout()
        for caption_text, field in (("&User name:", self._username), ("&Password:", self._password)):
            caption = QLabel(caption_text)
            caption.setBuddy(field)
            form.addRow(caption, field)
        layout.addLayout(form)
        layout.addWidget(self._message)
        if is_demo:
            accounts = "\n".join(
                f"{role.label}: {name} / {password}" for name, _shown, role, password in DEMO_ACCOUNTS
            )
            layout.addWidget(
                words_label(
                    f"Demo accounts (user name / password), unless changed:\n{accounts}", "Demo accounts"
                )
            )
        buttons = dialog_buttons("Sign &in", "Sign in", "&Quit" if quitting else "Cancel")
        buttons.accepted.connect(self.sign_in)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        grow_with_contents(self, characters=40)

    @property
    def message(self) -> str:
        return self._message.text()

    def set_values(self, username: str, password: str) -> None:
        self._username.setText(username)
        self._password.setText(password)

    def sign_in(self) -> None:
        try:
            self.signed_in = self._services.accounts.sign_in(self._username.text(), self._password.text())
        except SignInRefused as refusal:
            self._message.setText(str(refusal))
            self._message.setVisible(True)
            self._password.clear()
            self._password.setAccessibleDescription(str(refusal))
            (self._password if self._username.text().strip() else self._username).setFocus()
            self.adjustSize()
            return
        self.accept()

    @classmethod
    def ask(
        cls, services: Services, parent: QWidget | None = None, *, note: str = "", quitting: bool = False
    ) -> StaffMember | None:
        dialog = cls(services, parent, note=note, quitting=quitting)
        dialog.exec()
        return dialog.signed_in


class FirstAdministratorDialog(QDialog):
    """A new database has no accounts: whoever sets it up makes the first administrator, and is signed in."""

    FIELDS = ("username", "display_name", "password", "again")

    def __init__(self, services: Services, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._services = services
        self.signed_in: StaffMember | None = None
        self.setWindowTitle("Set up DigiKnow Desk")
        self._fields: dict[str, QLineEdit] = {
            "username": QLineEdit(),
            "display_name": QLineEdit(),
            "password": password_box("Password"),
            "again": password_box("Password again"),
        }
        self._fields["username"].setAccessibleName("User name")
        self._fields["username"].setPlaceholderText("e.g. sam.jones")
        self._fields["display_name"].setAccessibleName("Name")
        self._fields["display_name"].setPlaceholderText("as records should show it, e.g. Sam Jones")
        self._problems = {name: problem_label() for name in self.FIELDS}
        self._message = words_label(name="Problems")
        self._message.setVisible(False)

        layout = QVBoxLayout(self)
        if services.demo.is_demo():
            layout.addWidget(demo_banner())
        layout.addWidget(_heading("Create the first administrator"))
        layout.addWidget(
            words_label(
                "This database has no staff accounts yet. Create the administrator's account: they can then "
                "add an account for each member of staff, with the role that says what they may do.",
                "About the first administrator",
            )
        )
        layout.addWidget(words_label(f"Database: {services.database.display_name}", "Database"))
        form = QFormLayout()
        for name, caption_text in (
            ("username", "&User name:"),
            ("display_name", "&Name:"),
            ("password", "&Password:"),
            ("again", "Password &again:"),
        ):
            add_field(form, caption_text, self._fields[name], self._problems[name])
            if name == "password":
                form.addRow("", words_label(PASSWORD_RULE, "Password rule"))
        layout.addLayout(form)
        layout.addWidget(self._message)
        buttons = dialog_buttons("&Create and sign in", "Create the administrator and sign in", "&Quit")
        buttons.accepted.connect(self.create_administrator)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        grow_with_contents(self)

    def set_values(self, username: str, display_name: str, password: str, again: str | None = None) -> None:
        values = (username, display_name, password, password if again is None else again)
        for name, value in zip(self.FIELDS, values, strict=True):
            self._fields[name].setText(value)

    def problem(self, name: str) -> str:
        return self._problems[name].text().removeprefix(PROBLEM_PREFIX)

    @property
    def message(self) -> str:
        return self._message.text()

    def create_administrator(self) -> None:
        fields = self._fields
        username = normalise_username(fields["username"].text())
        problems = account_problems(username, fields["display_name"].text(), fields["password"].text())
        if fields["password"].text() != fields["again"].text():
            problems["again"] = "The two passwords differ: type the same password in both."
        if not problems:
            try:
                self.signed_in = self._services.accounts.create_first_administrator(
                    fields["username"].text(), fields["display_name"].text(), fields["password"].text()
                )
            except ValidationError as error:
                problems = dict(error.problems)
            except DomainError as error:
                self._message.setText(str(error))
                self._message.setVisible(True)
                self.adjustSize()
                return
        self._show_problems(problems)
        if not problems:
            self.accept()

    def _show_problems(self, problems: dict[str, str]) -> None:
        for name, label in self._problems.items():
            show_problem(label, self._fields[name], problems.get(name, ""))
        if problems:
            self._fields[next(name for name in self.FIELDS if name in problems)].setFocus()
        self.adjustSize()

    @classmethod
    def ask(cls, services: Services, parent: QWidget | None = None) -> StaffMember | None:
        dialog = cls(services, parent)
        dialog.exec()
        return dialog.signed_in


class ChangePasswordDialog(QDialog):
    """The signed-in staff member changes their own password: the current one, then the new one twice."""

    FIELDS = ("current", "password", "again")

    def __init__(self, services: Services, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._services = services
        self.changed = False
        self.setWindowTitle("Change my password")
        self._fields = {
            "current": password_box("Current password"),
            "password": password_box("New password"),
            "again": password_box("New password again"),
        }
        self._problems = {name: problem_label() for name in self.FIELDS}
        layout = QVBoxLayout(self)
        staff = services.accounts.signed_in()
        if staff is not None:
            layout.addWidget(words_label(f"Signed in as {staff.display_name} ({staff.username}).", "Who"))
        form = QFormLayout()
        for name, caption_text in (
            ("current", "&Current password:"),
            ("password", "&New password:"),
            ("again", "New password &again:"),
        ):
            add_field(form, caption_text, self._fields[name], self._problems[name])
            if name == "password":
                form.addRow("", words_label(PASSWORD_RULE, "Password rule"))
        layout.addLayout(form)
        buttons = dialog_buttons("C&hange password", "Change password", "Cancel")
        buttons.accepted.connect(self.change)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        grow_with_contents(self)

    def set_values(self, current: str, new: str, again: str | None = None) -> None:
        for name, value in zip(self.FIELDS, (current, new, new if again is None else again), strict=True):
            self._fields[name].setText(value)

    def problem(self, name: str) -> str:
        return self._problems[name].text().removeprefix(PROBLEM_PREFIX)

    def change(self) -> None:
        fields = self._fields
        problems: dict[str, str] = {}
        if fields["password"].text() != fields["again"].text():
            problems["again"] = "The two new passwords differ: type the same password in both."
        else:
            try:
                self._services.accounts.change_own_password(
                    fields["current"].text(), fields["password"].text()
                )
            except ValidationError as error:
                problems = dict(error.problems)
        for name, label in self._problems.items():
            show_problem(label, fields[name], problems.get(name, ""))
        self.adjustSize()
        if problems:
            fields[next(name for name in self.FIELDS if name in problems)].setFocus()
            return
        self.changed = True
        self.accept()

    @classmethod
    def ask(cls, services: Services, parent: QWidget | None = None) -> bool:
        dialog = cls(services, parent)
        dialog.exec()
        return dialog.changed


class AskSignIn(Protocol):
    """(services, parent, note, quitting) -> who signed in, or None when staff cancel."""

    def __call__(
        self, services: Services, parent: QWidget | None, *, note: str = "", quitting: bool = False
    ) -> StaffMember | None: ...


def ask_sign_in(
    services: Services, parent: QWidget | None = None, *, note: str = "", quitting: bool = False
) -> StaffMember | None:
    """Sign someone in: the first administrator on a database with no accounts, otherwise anyone's account."""
    if not services.accounts.has_accounts():
        return FirstAdministratorDialog.ask(services, parent)
    return SignInDialog.ask(services, parent, note=note, quitting=quitting)
