"""Signing in: the first administrator, the sign-in dialog and its refusals, changing one's own password, the
idle lock, and locking and switching user at the main window."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QEvent, Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QApplication, QDialog, QLabel, QLineEdit, QPushButton, QWidget
from pytestqt.qtbot import QtBot

from digiknow_desk.app import Services, build_services, open_services
from digiknow_desk.config import load_config
from digiknow_desk.domain.champions import ChampionDraft
from digiknow_desk.domain.residents import ConsentPurpose, ResidentDraft
from digiknow_desk.domain.staff import MAX_FAILED_SIGN_INS, Role, StaffMember
from digiknow_desk.services.demo import DEMO_KEY
from digiknow_desk.storage.database import Database
from digiknow_desk.storage.models import SettingRow
from digiknow_desk.ui.application import DeskApplication
from digiknow_desk.ui.errors import log
from digiknow_desk.ui.idle_lock import IdleLock
from digiknow_desk.ui.main_window import LOCK_SHORTCUT, MainWindow
from digiknow_desk.ui.residents_page import ResidentsPage
from digiknow_desk.ui.sign_in_dialog import (
    PASSWORD_RULE,
    ChangePasswordDialog,
    FirstAdministratorDialog,
    SignInDialog,
)
from digiknow_desk.ui.tasks import TaskRunner

PASSWORD = "kettle violin harbour"


@pytest.fixture
def tasks() -> Iterator[TaskRunner]:
    runner = TaskRunner()
    yield runner
    runner.shutdown()


@pytest.fixture
def fresh(database: Database) -> Services:
    """Services on a database with no accounts, no one signed in (as the app starts)."""
    return build_services(database, staff=None)


def add_account(services: Services, username: str, role: Role, password: str = PASSWORD) -> None:
    champion_id = None
    if role is Role.CHAMPION:
        champion_id = services.champions.add(ChampionDraft(name=f"Champion {username}")).id
    name = username.replace(".", " ").title()  # sam.jones is Sam Jones
    services.accounts.add(username, name, role, password, champion_id=champion_id)


def labels(widget: QWidget) -> list[str]:
    return [label.text() for label in widget.findChildren(QLabel)]


def mark_demo(services: Services) -> None:
    """As demo data leaves a database (without the minutes filling one takes)."""
    with services.database.write() as session:
        session.merge(SettingRow(key=DEMO_KEY, value='{"demo": true}'))


# The first administrator


def test_the_first_administrator_is_created_and_signed_in(fresh: Services, qtbot: QtBot) -> None:
    dialog = FirstAdministratorDialog(fresh)
    qtbot.addWidget(dialog)
    assert PASSWORD_RULE in labels(dialog)  # the rule is shown before anyone gets it wrong
    assert any(fresh.database.display_name in text for text in labels(dialog))
    dialog.set_values("Sam.Jones", "Sam Jones", PASSWORD)
    dialog.create_administrator()
    assert dialog.result() == QDialog.DialogCode.Accepted
    assert dialog.signed_in is not None and dialog.signed_in.role is Role.ADMINISTRATOR
    assert fresh.accounts.signed_in() == dialog.signed_in
    assert [account.username for account in fresh.accounts.accounts()] == ["sam.jones"]


def test_the_first_administrator_form_says_what_is_wrong_under_each_field(
    fresh: Services, qtbot: QtBot
) -> None:
    dialog = FirstAdministratorDialog(fresh)
    qtbot.addWidget(dialog)
    dialog.set_values("sam.jones", "Sam Jones", PASSWORD, again="kettle violin harbor")
    dialog.create_administrator()
    assert dialog.problem("again") == "The two passwords differ: type the same password in both."
    assert not fresh.accounts.has_accounts()

    dialog.set_values("S", "", "short")
    dialog.create_administrator()
    assert "lower-case letters" in dialog.problem("username")
    assert dialog.problem("display_name").startswith("Enter the staff member's name")
    assert dialog.problem("password").startswith("Use at least 10 characters")
    assert dialog.problem("again") == ""
    assert not fresh.accounts.has_accounts() and dialog.result() != QDialog.DialogCode.Accepted


# Signing in


def test_signing_in_with_the_right_password(services: Services, fresh: Services, qtbot: QtBot) -> None:
    add_account(services, "sam.jones", Role.DESK)
    dialog = SignInDialog(fresh)
    qtbot.addWidget(dialog)
    dialog.set_values(" Sam.Jones ", PASSWORD)
    dialog.sign_in()
    assert dialog.result() == QDialog.DialogCode.Accepted
    assert fresh.accounts.signed_in() == dialog.signed_in
    assert dialog.signed_in is not None and dialog.signed_in.role is Role.DESK


def test_a_refusal_is_said_plainly_and_the_password_cleared(
    services: Services, fresh: Services, qtbot: QtBot
) -> None:
    add_account(services, "sam.jones", Role.DESK)
    dialog = SignInDialog(fresh)
    qtbot.addWidget(dialog)
    password_box = next(box for box in dialog.findChildren(QLineEdit) if box.accessibleName() == "Password")
    dialog.set_values("sam.jones", "wrong password")
    dialog.sign_in()
    assert dialog.message == "That user name and password do not match. Check them and try again."
    assert password_box.text() == ""
    assert dialog.result() != QDialog.DialogCode.Accepted and fresh.accounts.signed_in() is None
    for _ in range(MAX_FAILED_SIGN_INS - 1):
        dialog.set_values("sam.jones", "wrong password")
        dialog.sign_in()
    assert "is now locked for 15 minutes" in dialog.message
    dialog.set_values("sam.jones", PASSWORD)  # even the right one, while locked
    dialog.sign_in()
    assert "is locked after 5 wrong passwords" in dialog.message
    assert fresh.accounts.signed_in() is None


def test_a_disabled_account_is_told_to_ask_an_administrator(
    services: Services, fresh: Services, qtbot: QtBot
) -> None:
    add_account(services, "sam.jones", Role.DESK)
    services.accounts.set_active("sam.jones", False)
    dialog = SignInDialog(fresh)
    qtbot.addWidget(dialog)
    dialog.set_values("sam.jones", PASSWORD)
    dialog.sign_in()
    assert dialog.message == "The account 'sam.jones' is disabled. Ask an administrator to enable it."


def test_the_sign_in_dialog_names_the_database_and_says_demo(
    services: Services, fresh: Services, qtbot: QtBot
) -> None:
    add_account(services, "sam.jones", Role.DESK)
    plain = SignInDialog(fresh, quitting=True)
    qtbot.addWidget(plain)
    assert f"Database: {fresh.database.display_name}" in labels(plain)
    assert not any("DEMO" in text for text in labels(plain))
    assert "Quit" in [button.accessibleName() for button in plain.findChildren(QPushButton)]

    mark_demo(services)
    demo = SignInDialog(fresh, note="Demo Desk locked the desk.")
    qtbot.addWidget(demo)
    assert any(text.startswith("DEMO DATABASE") for text in labels(demo))
    assert any("demo.desk / Stockport-desk" in text for text in labels(demo))
    assert "Demo Desk locked the desk." in labels(demo)


# Changing one's own password


def test_staff_change_their_own_password(services: Services, fresh: Services, qtbot: QtBot) -> None:
    add_account(services, "sam.jones", Role.CHAMPION)
    fresh.accounts.sign_in("sam.jones", PASSWORD)
    dialog = ChangePasswordDialog(fresh)
    qtbot.addWidget(dialog)
    dialog.set_values("not it", "radio tulip mountain")
    dialog.change()
    assert dialog.problem("current") == "The current password is not right."
    dialog.set_values(PASSWORD, "radio tulip mountain", again="radio tulip")
    dialog.change()
    assert dialog.problem("again").startswith("The two new passwords differ")
    assert dialog.problem("current") == ""
    dialog.set_values(PASSWORD, "sam.jones is me")
    dialog.change()
    assert dialog.problem("password") == "The password must not contain the user name."
    dialog.set_values(PASSWORD, "radio tulip mountain")
    dialog.change()
    assert dialog.changed and dialog.result() == QDialog.DialogCode.Accepted
    fresh.accounts.sign_out()
    assert fresh.accounts.sign_in("sam.jones", "radio tulip mountain").username == "sam.jones"


# The idle lock


def test_a_key_press_or_a_click_starts_the_countdown_again(qtbot: QtBot) -> None:
    field = QLineEdit()
    qtbot.addWidget(field)
    idle = IdleLock(5)
    idle.arm()
    assert idle.timer.interval() == 5 * 60_000 and idle.timer.isActive()
    idle.timer.stop()
    qtbot.keyClick(field, Qt.Key.Key_A)
    assert idle.timer.isActive()
    idle.timer.stop()
    qtbot.mouseClick(field, Qt.MouseButton.LeftButton)
    assert idle.timer.isActive()
    idle.disarm()
    qtbot.keyClick(field, Qt.Key.Key_B)  # while the desk is locked, typing does not re-arm it
    assert not idle.timer.isActive()
    idle.stop_watching()


def test_no_key_press_for_the_interval_says_idle_once(qtbot: QtBot) -> None:
    idle = IdleLock(5)
    idle.timer.setInterval(20)
    with qtbot.waitSignal(idle.idle, timeout=5_000):
        idle.arm()
    assert not idle.armed and not idle.timer.isActive()
    idle.stop_watching()


def test_mouse_moves_alone_do_not_keep_the_desk_open(qtbot: QtBot) -> None:
    field = QLineEdit()
    qtbot.addWidget(field)
    idle = IdleLock(5)
    idle.arm()
    idle.timer.stop()
    qtbot.mouseMove(field)
    QApplication.sendEvent(field, QEvent(QEvent.Type.Enter))
    assert not idle.timer.isActive()
    idle.stop_watching()


# Locking and switching user at the main window


class SignInQueue:
    """Answers the main window's sign-in questions in turn, as staff at the counter would."""

    def __init__(self) -> None:
        self.answers: list[tuple[str, str] | None] = []
        self.notes: list[str] = []

    def __call__(
        self, services: Services, parent: QWidget | None, *, note: str = "", quitting: bool = False
    ) -> StaffMember | None:
        self.notes.append(note)
        answer = self.answers.pop(0)
        return None if answer is None else services.accounts.sign_in(*answer)


def make_window(services: Services, tasks: TaskRunner, qtbot: QtBot, sign_in: SignInQueue) -> MainWindow:
    window = MainWindow(services, tasks, sign_in=sign_in)
    qtbot.addWidget(window)
    return window


def test_idle_time_locks_the_desk_and_hides_everything(
    services: Services, tasks: TaskRunner, qtbot: QtBot
) -> None:
    services.residents.add(
        ResidentDraft(name="Maureen Clarke", phone="0161 474 4444", consents=frozenset(ConsentPurpose))
    )
    add_account(services, "sam.jones", Role.DESK)
    services.accounts.sign_in("sam.jones", PASSWORD)
    sign_in = SignInQueue()
    sign_in.answers.append(None)  # no one signs in yet
    window = make_window(services, tasks, qtbot, sign_in)
    window.show()
    qtbot.waitExposed(window)
    window.go_to("Residents")
    residents = window.residents_page
    assert residents.isVisible()
    window.idle_lock.timer.setInterval(20)
    window.idle_lock.timer.start()
    qtbot.waitUntil(lambda: window.is_locked, timeout=5_000)
    assert services.accounts.signed_in() is None
    assert not residents.isVisible() and not window.scan_box.isVisible()
    assert not any("Maureen" in label.text() for label in window.findChildren(QLabel) if label.isVisible())
    assert (
        "locked itself after" in window.locked_note and "without a key press or click" in window.locked_note
    )
    assert window.windowTitle() == "DigiKnow Desk – locked"
    qtbot.waitUntil(lambda: sign_in.notes == [window.locked_note], timeout=5_000)
    assert window.is_locked  # they cancelled: still locked
    go_actions = [
        action for action in window.findChildren(QAction) if action.shortcut().toString() == "Ctrl+1"
    ]
    assert go_actions and not any(action.isEnabled() for action in go_actions)


def test_locking_closes_an_open_dialog(services: Services, tasks: TaskRunner, qtbot: QtBot) -> None:
    add_account(services, "sam.jones", Role.DESK)
    services.accounts.sign_in("sam.jones", PASSWORD)
    sign_in = SignInQueue()
    sign_in.answers.append(("sam.jones", PASSWORD))
    window = make_window(services, tasks, qtbot, sign_in)
    window.show()
    dialog = QDialog(window)  # e.g. a resident's form, left open
    dialog.show()
    window.lock("Sam locked the desk.")
    assert not dialog.isVisible() and dialog.result() == QDialog.DialogCode.Rejected
    qtbot.waitUntil(lambda: not window.is_locked, timeout=5_000)


def test_lock_and_switch_user_rebuilds_the_window_for_the_new_role(
    services: Services, tasks: TaskRunner, qtbot: QtBot
) -> None:
    add_account(services, "sam.jones", Role.DESK)
    add_account(services, "priya.shah", Role.CHAMPION)
    services.accounts.sign_in("sam.jones", PASSWORD)
    sign_in = SignInQueue()
    sign_in.answers.append(("priya.shah", PASSWORD))
    window = make_window(services, tasks, qtbot, sign_in)
    assert window.area_titles() == ["Desk", "Inventory", "Residents", "Loans", "Waiting list"]
    lock = next(action for action in window.findChildren(QAction) if action.text() == "&Lock / switch user")
    assert lock.shortcut() == QKeySequence(LOCK_SHORTCUT)
    unlocked: list[object] = []
    window.unlocked.connect(unlocked.append)
    lock.trigger()
    assert window.is_locked and services.accounts.signed_in() is None
    qtbot.waitUntil(lambda: bool(unlocked), timeout=5_000)
    assert sign_in.notes == ["Sam Jones locked the desk. Anyone with an account may sign in."]
    assert window.area_titles() == ["Residents", "Sessions", "Champions"]
    assert window.current_area() == "Residents"
    assert window.windowTitle() == "DigiKnow Desk – Priya Shah (Digital Champion)"
    # The desk staff's pages are gone, not just hidden.
    assert window.findChild(ResidentsPage) is window.residents_page
    assert len(window.findChildren(ResidentsPage)) == 1
    assert not any(action.text() == "&Print labels…" for action in window.findChildren(QAction))


def test_the_same_person_signing_back_in_finds_their_screen_as_they_left_it(
    services: Services, tasks: TaskRunner, qtbot: QtBot
) -> None:
    add_account(services, "sam.jones", Role.DESK)
    services.accounts.sign_in("sam.jones", PASSWORD)
    sign_in = SignInQueue()
    sign_in.answers += [None, ("sam.jones", PASSWORD)]
    window = make_window(services, tasks, qtbot, sign_in)
    window.go_to("Loans")
    residents = window.residents_page
    window.lock_now()
    qtbot.waitUntil(lambda: len(sign_in.notes) == 1, timeout=5_000)
    assert window.is_locked  # cancelled
    window.lock_now()  # Ctrl+L again (or the Sign in button) asks again
    assert not window.is_locked
    assert window.residents_page is residents and window.current_area() == "Loans"
    assert services.accounts.signed_in() is not None and window.scan_box.isVisibleTo(window)


# The application: sign-in before the window


@pytest.fixture
def desk_app(
    qapp: QApplication, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[DeskApplication]:
    monkeypatch.setattr(sys, "excepthook", sys.excepthook)  # DeskApplication installs its own
    monkeypatch.setenv("DIGIKNOW_DATA_DIR", str(tmp_path / "data"))
    asked: list[bool] = []

    def sign_in(
        services: Services, parent: QWidget | None, *, note: str = "", quitting: bool = False
    ) -> StaffMember | None:
        asked.append(quitting)
        if desk.cancel:  # type: ignore[attr-defined]
            return None
        if not services.accounts.has_accounts():
            return services.accounts.create_first_administrator("sam.jones", "Sam Jones", PASSWORD)
        return services.accounts.sign_in("sam.jones", PASSWORD)

    desk = DeskApplication(
        load_config(str(tmp_path / "desk.db")),
        open_services,
        confirm=lambda _parent, _title, _question: True,  # yes, create the database
        sign_in=sign_in,
    )
    desk.cancel = False  # type: ignore[attr-defined]
    desk.asked = asked  # type: ignore[attr-defined]
    yield desk
    if desk.window is not None:
        desk.window.close()
    desk.close()
    for handler in list(log.handlers):
        if isinstance(handler, logging.FileHandler):
            handler.close()
            log.removeHandler(handler)


def test_cancelling_the_first_sign_in_opens_no_window(
    desk_app: DeskApplication, empty_database_url: str
) -> None:
    desk_app.cancel = True  # type: ignore[attr-defined]
    assert not desk_app.open(load_config(empty_database_url))
    assert desk_app.sign_in_cancelled and desk_app.window is None
    assert desk_app.asked == [True]  # type: ignore[attr-defined]  (at start, Cancel is Quit)


def test_first_start_makes_the_administrator_then_shows_their_window(
    desk_app: DeskApplication, empty_database_url: str
) -> None:
    assert desk_app.open(load_config(empty_database_url))
    assert desk_app.window is not None and desk_app.services is not None
    assert desk_app.window.staff.username == "sam.jones"
    assert "Users" in desk_app.window.area_titles()


@pytest.mark.sqlite_only("two database files")
def test_opening_another_database_asks_who_signs_in_there(desk_app: DeskApplication, tmp_path: Path) -> None:
    other = load_config(str(tmp_path / "other.db"))
    services = open_services(other, create=True)
    services.accounts.create_first_administrator("sam.jones", "Sam Jones", PASSWORD)
    services.database.dispose()
    assert desk_app.open(load_config(str(tmp_path / "desk.db")))
    first = desk_app.window
    desk_app.cancel = True  # type: ignore[attr-defined]
    assert not desk_app.open(other)
    assert desk_app.window is first and desk_app.asked == [True, False]  # type: ignore[attr-defined]
    desk_app.cancel = False  # type: ignore[attr-defined]
    assert desk_app.open(other)
    assert desk_app.window is not first and desk_app.services is not None
    assert desk_app.services.database.display_name.endswith("other.db")
