"""Users page (administrators): the accounts list, adding an account, changing a role, disabling and enabling,
resetting a password, and the idle-lock time."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from typing import TYPE_CHECKING

import pytest
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractSpinBox,
    QComboBox,
    QDialog,
    QGroupBox,
    QLabel,
    QPushButton,
    QWidget,
)
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot

from digiknow_desk.app import Services
from digiknow_desk.domain.champions import ChampionDraft
from digiknow_desk.domain.staff import MAX_FAILED_SIGN_INS, Role, SignInRefused, StaffAccount
from digiknow_desk.ui.paged_model import RECORD_ROLE
from digiknow_desk.ui.tasks import TaskRunner
from digiknow_desk.ui.users_page import (
    AccountDialog,
    AccountTableModel,
    ResetPasswordDialog,
    RoleDialog,
    UserDialogs,
    UsersPage,
    role_words,
)

if TYPE_CHECKING:
    from tests.conftest import FakeClock

PASSWORD = "kettle violin harbour"
# Alt+letter keys the main window takes: the File, Go and Help menus and the scan box.
WINDOW_MNEMONICS = {"f", "g", "h", "s"}


@pytest.fixture
def tasks() -> Iterator[TaskRunner]:
    runner = TaskRunner()
    yield runner
    runner.shutdown()


def make_page(
    services: Services, tasks: TaskRunner, qtbot: QtBot, dialogs: UserDialogs | None = None
) -> UsersPage:
    page = UsersPage(services, tasks, dialogs=dialogs)
    qtbot.addWidget(page)
    return page


def column(page: UsersPage, number: int) -> list[str]:
    model = page.model
    return [model.data(model.index(row, number)) for row in range(model.rowCount())]


def sign_in_admin(services: Services) -> None:
    services.accounts.add("ann.admin", "Ann Admin", Role.ADMINISTRATOR, PASSWORD)
    services.accounts.sign_in("ann.admin", PASSWORD)


# The list


def test_the_accounts_model_passes_the_model_tester(services: Services, qtmodeltester: ModelTester) -> None:
    priya = services.champions.add(ChampionDraft(name="Priya Shah"))
    services.accounts.add("sam.jones", "Sam Jones", Role.DESK, PASSWORD)
    services.accounts.add("priya.shah", "Priya Shah", Role.CHAMPION, PASSWORD, champion_id=priya.id)
    model = AccountTableModel()
    model.set_accounts(services.accounts.accounts(), {priya.id: priya.name}, services.clock())
    qtmodeltester.check(model)
    assert model.rowCount() == 2
    assert isinstance(model.data(model.index(0, 0), RECORD_ROLE), StaffAccount)


def test_the_page_lists_each_account_with_its_role_champion_and_state(
    services: Services, tasks: TaskRunner, qtbot: QtBot, clock: FakeClock
) -> None:
    priya = services.champions.add(ChampionDraft(name="Priya Shah"))
    services.accounts.add("priya.shah", "Priya Shah", Role.CHAMPION, PASSWORD, champion_id=priya.id)
    services.accounts.add("sam.jones", "Sam Jones", Role.DESK, PASSWORD)
    services.accounts.add("tom.okafor", "Tom Okafor", Role.COORDINATOR, PASSWORD)
    services.accounts.set_active("tom.okafor", False)
    for _ in range(MAX_FAILED_SIGN_INS):
        with pytest.raises(SignInRefused):
            services.accounts.sign_in("sam.jones", "not the password")
    services.accounts.add("ann.admin", "Ann Admin", Role.ADMINISTRATOR, PASSWORD)
    services.accounts.sign_in("priya.shah", PASSWORD)
    services.accounts.sign_in("ann.admin", PASSWORD)
    page = make_page(services, tasks, qtbot)
    assert column(page, AccountTableModel.USERNAME) == ["ann.admin", "priya.shah", "sam.jones", "tom.okafor"]
    assert column(page, AccountTableModel.ROLE) == [
        "Administrator",
        "Digital Champion",
        "Desk staff",
        "Coordinator",
    ]
    assert column(page, AccountTableModel.CHAMPION) == ["", "Priya Shah", "", ""]
    locked_until = (clock.now + timedelta(minutes=15)).astimezone()
    assert column(page, AccountTableModel.STATUS) == [
        "Active",
        "Active",
        f"Locked until {locked_until:%H:%M}",
        "Disabled",
    ]
    signed_in = clock.now.astimezone()
    assert column(page, AccountTableModel.LAST)[1].endswith(f"{signed_in:%H:%M}")
    assert column(page, AccountTableModel.LAST)[3] == "Never"
    assert "4 accounts" in [label.text() for label in page.findChildren(QLabel)]


def test_every_control_has_a_name_and_the_alt_keys_do_not_clash(
    services: Services, tasks: TaskRunner, qtbot: QtBot
) -> None:
    page = make_page(services, tasks, qtbot)
    controls = [
        *page.findChildren(QPushButton),
        *page.findChildren(QAbstractSpinBox),
        page.table,
    ]
    assert controls and all(control.accessibleName() for control in controls)
    texts = [label.text() for label in page.findChildren(QLabel) if "<" not in label.text()]
    texts += [button.text() for button in page.findChildren(QAbstractButton)]
    texts += [box.title() for box in page.findChildren(QGroupBox)]
    letters = [match.group(1).lower() for text in texts if (match := re.search(r"&(\w)", text))]
    assert len(letters) == 6
    assert len(set(letters)) == len(letters), letters
    assert not set(letters) & WINDOW_MNEMONICS


# Adding an account


def field(dialog: QDialog, name: str) -> QWidget:
    assert isinstance(dialog, AccountDialog)
    return dialog.field(name)


def test_adding_an_account_shows_each_problem_under_its_field(services: Services, qtbot: QtBot) -> None:
    services.accounts.add("sam.jones", "Sam Jones", Role.DESK, PASSWORD)
    dialog = AccountDialog(services)
    qtbot.addWidget(dialog)
    dialog.set_values("sam.jones", "Sam Jones", Role.DESK, PASSWORD)
    dialog.save()
    assert dialog.problem("username") == "There is already an account 'sam.jones'; choose another user name."
    assert field(dialog, "username").accessibleDescription() == dialog.problem("username")
    dialog.set_values("", "", Role.DESK, "short", again="short")
    dialog.save()
    assert dialog.problem("username").startswith("A user name is 2 to 40")
    assert dialog.problem("display_name").startswith("Enter the staff member's name")
    assert dialog.problem("password").startswith("Use at least 10 characters")
    dialog.set_values("ann.lee", "", Role.DESK, PASSWORD, again="kettle")
    dialog.save()
    assert dialog.problem("again") == "The two passwords differ: type the same password in both."
    assert dialog.problem("display_name").startswith("Enter the staff member's name")  # all at once
    assert dialog.problem("username") == ""
    assert dialog.saved is None and len(services.accounts.accounts()) == 1


def test_a_champions_account_names_the_champion(services: Services, qtbot: QtBot) -> None:
    priya = services.champions.add(ChampionDraft(name="Priya Shah"))
    dialog = AccountDialog(services)
    qtbot.addWidget(dialog)
    champion_box = field(dialog, "champion")
    assert isinstance(champion_box, QComboBox)
    assert not champion_box.isEnabled()  # desk staff, the first role offered, name no champion
    dialog.set_values("priya.shah", "Priya Shah", Role.CHAMPION, PASSWORD)
    assert champion_box.isEnabled()
    assert [champion_box.itemText(row) for row in range(champion_box.count())] == [
        "Choose the champion…",
        "Priya Shah",
    ]
    dialog.save()
    assert dialog.problem("champion") == "Choose which Digital Champion this account is for."
    dialog.set_values("priya.shah", "Priya Shah", Role.CHAMPION, PASSWORD, champion_id=priya.id)
    dialog.save()
    assert dialog.saved is not None and dialog.saved.champion_id == priya.id
    assert dialog.result() == QDialog.DialogCode.Accepted


def test_the_role_words_come_from_what_each_role_may_do() -> None:
    assert role_words(Role.CHAMPION) == (
        "Digital Champion: log support sessions and skills checks, see the residents they support."
    )
    assert "see the audit trail" in role_words(Role.COORDINATOR)
    assert "see the audit trail" not in role_words(Role.DESK)


def test_the_page_adds_through_the_dialog_and_selects_the_new_account(
    services: Services, tasks: TaskRunner, qtbot: QtBot
) -> None:
    def add(given: Services, _parent: QWidget) -> StaffAccount:
        return given.accounts.add("sam.jones", "Sam Jones", Role.DESK, PASSWORD)

    page = make_page(services, tasks, qtbot, UserDialogs(add_account=add))
    with qtbot.waitSignal(page.notice) as notice:
        page.add_account()
    assert notice.args == ["Added sam.jones (Desk staff). Tell them their password in person."]
    selected = page.selected()
    assert selected is not None and selected.username == "sam.jones"


# Changing an account


def test_disabling_and_enabling_an_account(services: Services, tasks: TaskRunner, qtbot: QtBot) -> None:
    services.accounts.add("sam.jones", "Sam Jones", Role.DESK, PASSWORD)
    sign_in_admin(services)
    page = make_page(services, tasks, qtbot)
    assert not page.active_button.isEnabled()  # nothing selected
    page.select("sam.jones")
    assert page.active_button.text() == "&Disable"
    page.toggle_active()
    assert page.message.startswith("Disabled sam.jones: they can no longer sign in.")
    assert column(page, AccountTableModel.STATUS)[1] == "Disabled"
    assert page.active_button.text() == "&Enable" and page.active_button.accessibleName() == "Enable account"
    page.toggle_active()
    assert page.message == "Enabled sam.jones: they can sign in again."
    assert services.accounts.sign_in("sam.jones", PASSWORD).username == "sam.jones"


def test_an_administrator_cannot_disable_their_own_account(
    services: Services, tasks: TaskRunner, qtbot: QtBot
) -> None:
    sign_in_admin(services)
    page = make_page(services, tasks, qtbot)
    page.select("ann.admin")
    page.toggle_active()
    assert page.message == "You cannot disable your own account; ask another administrator."
    assert column(page, AccountTableModel.STATUS) == ["Active"]


def test_changing_a_role(services: Services, qtbot: QtBot) -> None:
    sign_in_admin(services)
    account = services.accounts.add("sam.jones", "Sam Jones", Role.DESK, PASSWORD)
    dialog = RoleDialog(services, account)
    qtbot.addWidget(dialog)
    dialog.set_role(Role.CHAMPION)
    dialog.save()
    assert dialog.problem.startswith("This account is not linked to a Digital Champion.")
    dialog.set_role(Role.COORDINATOR)
    dialog.save()
    assert dialog.saved is not None and dialog.saved.role is Role.COORDINATOR


def test_the_only_administrator_keeps_their_role(services: Services, qtbot: QtBot) -> None:
    sign_in_admin(services)
    (admin,) = services.accounts.accounts()
    dialog = RoleDialog(services, admin)
    qtbot.addWidget(dialog)
    dialog.set_role(Role.DESK)
    dialog.save()
    assert dialog.problem == "'ann.admin' is the only active administrator; make another administrator first."
    assert services.accounts.accounts()[0].role is Role.ADMINISTRATOR


def test_resetting_a_password_unlocks_the_account(services: Services, qtbot: QtBot) -> None:
    account = services.accounts.add("sam.jones", "Sam Jones", Role.DESK, PASSWORD)
    for _ in range(MAX_FAILED_SIGN_INS):
        with pytest.raises(SignInRefused):
            services.accounts.sign_in("sam.jones", "not the password")
    sign_in_admin(services)
    dialog = ResetPasswordDialog(services, account)
    qtbot.addWidget(dialog)
    dialog.set_values("short")
    dialog.save()
    assert dialog.problem("password").startswith("Use at least 10 characters")
    dialog.set_values("radio tulip mountain", again="radio tulip")
    dialog.save()
    assert dialog.problem("again") == "The two passwords differ: type the same password in both."
    dialog.set_values("radio tulip mountain")
    dialog.save()
    assert dialog.saved is not None and dialog.saved.locked_until is None
    assert services.accounts.sign_in("sam.jones", "radio tulip mountain").username == "sam.jones"


def test_the_page_says_when_an_administrator_changed_their_own_role(
    services: Services, tasks: TaskRunner, qtbot: QtBot
) -> None:
    services.accounts.add("bob.admin", "Bob Admin", Role.ADMINISTRATOR, PASSWORD)
    sign_in_admin(services)

    def demote(given: Services, account: StaffAccount, _parent: QWidget) -> StaffAccount:
        return given.accounts.set_role(account.username, Role.COORDINATOR)

    page = make_page(services, tasks, qtbot, UserDialogs(change_role=demote))
    page.select("ann.admin")
    page.change_role()
    assert page.message == (
        "ann.admin is now Coordinator. Your own new role applies from your next sign-in "
        "(File > Lock / switch user)."
    )
    assert column(page, AccountTableModel.ROLE)[0] == "Coordinator"


# The idle lock


def test_the_idle_lock_time_is_saved_or_refused_in_words(
    services: Services, tasks: TaskRunner, qtbot: QtBot
) -> None:
    page = make_page(services, tasks, qtbot)
    assert page.idle_minutes_box.value() == services.accounts.idle_lock_minutes() == 5
    page.idle_minutes_box.setValue(0)
    assert not page.save_idle_lock()
    assert page.idle_problem.startswith("Choose between 1 and 120 minutes")
    assert page.idle_minutes_box.accessibleDescription() == page.idle_problem
    page.idle_minutes_box.setValue(10)
    with qtbot.waitSignal(page.idle_lock_changed) as changed:
        assert page.save_idle_lock()
    assert changed.args == [10]
    assert page.idle_problem == "" and services.accounts.idle_lock_minutes() == 10
