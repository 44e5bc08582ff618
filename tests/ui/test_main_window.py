"""The main window: the areas each role may use, the scan box (F2, then scan and Enter), who is signed in, the
open database (and DEMO), and first start."""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QAction
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QLabel, QMenu, QMessageBox, QWidget
from pytestqt.qtbot import QtBot

from digiknow_desk.app import Services, open_services
from digiknow_desk.config import database_url, load_config
from digiknow_desk.domain.champions import ChampionDraft
from digiknow_desk.domain.devices import DeviceDraft, DeviceType
from digiknow_desk.domain.inclusion import InclusionRule, InclusionStatus
from digiknow_desk.domain.residents import ConsentPurpose, ResidentDraft
from digiknow_desk.domain.skills import SkillArea, SkillLevel, SkillsCheckDraft
from digiknow_desk.domain.staff import Permission, PermissionDenied, Role, StaffMember
from digiknow_desk.services.demo import DEMO_KEY
from digiknow_desk.storage.models import SettingRow
from digiknow_desk.ui.application import DEMO_DB_FILE, DeskApplication
from digiknow_desk.ui.desk_page import Step
from digiknow_desk.ui.errors import ErrorReporter, log
from digiknow_desk.ui.main_window import MainWindow
from digiknow_desk.ui.residents_page import ResidentsPage
from digiknow_desk.ui.settings_page import SettingsPage
from digiknow_desk.ui.sign_in_dialog import DEMO_STYLE
from digiknow_desk.ui.tasks import TaskRunner
from digiknow_desk.ui.users_page import UsersPage
from digiknow_desk.ui.welcome import WelcomeChoice

if TYPE_CHECKING:
    from tests.conftest import FakeClock

ALL_CONSENTS = frozenset(ConsentPurpose)  # support recorded too: sessions and skills checks need it


@pytest.fixture
def tasks() -> Iterator[TaskRunner]:
    runner = TaskRunner()
    yield runner
    runner.shutdown()


def make_window(services: Services, tasks: TaskRunner, qtbot: QtBot, answer: bool = False) -> MainWindow:
    asked: list[str] = []

    def confirm(_parent: QWidget, _title: str, question: str) -> bool:
        asked.append(question)
        return answer

    window = MainWindow(services, tasks, confirm=confirm)
    window.asked = asked  # type: ignore[attr-defined]  (the questions the test answered)
    qtbot.addWidget(window)
    return window


def scan(window: MainWindow, qtbot: QtBot, text: str) -> None:
    """What a USB scanner does: type the code, then Enter."""
    window.scan_box.clear()
    qtbot.keyClicks(window.scan_box, text)
    qtbot.keyClick(window.scan_box, Qt.Key.Key_Return)


def test_status_bar_names_the_open_database(services: Services, tasks: TaskRunner, qtbot: QtBot) -> None:
    window = make_window(services, tasks, qtbot)
    labels = [label.text() for label in window.statusBar().findChildren(QWidget) if hasattr(label, "text")]
    assert f"Database: {services.database.display_name}" in labels


def test_f2_puts_the_cursor_in_the_scan_box(services: Services, tasks: TaskRunner, qtbot: QtBot) -> None:
    window = make_window(services, tasks, qtbot)
    window.show()
    qtbot.waitExposed(window)
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    window.settings_page.setFocus()
    QTest.keyClick(window, Qt.Key.Key_F2)
    qtbot.waitUntil(lambda: QApplication.focusWidget() is window.scan_box)


def test_scanning_a_label_opens_that_device(services: Services, tasks: TaskRunner, qtbot: QtBot) -> None:
    services.demo.fill(devices=40)
    window = make_window(services, tasks, qtbot)
    window.show_area(8)  # Settings: a scan outside the Desk opens the device in the Inventory
    scan(window, qtbot, "tab-0003")
    assert window.current_area() == "Inventory"
    assert window.inventory_page.shown_tag == "TAB-0003"
    assert window.scan_box.selectedText() == "tab-0003"  # the next scan replaces it
    assert window.asked == []  # type: ignore[attr-defined]


def test_scanning_an_unknown_tag_offers_to_add_it(
    services: Services, tasks: TaskRunner, qtbot: QtBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    window = make_window(services, tasks, qtbot, answer=True)
    added: list[str | None] = []
    monkeypatch.setattr(window.inventory_page, "add_device", lambda tag=None: added.append(tag))
    window.show_area(1)  # the Inventory
    scan(window, qtbot, "DK-00012")
    assert window.asked == ["No device has the tag DK-00012.\n\nAdd a new device with this tag?"]  # type: ignore[attr-defined]
    assert added == ["DK-00012"]


def test_declining_to_add_an_unknown_tag_changes_nothing(
    services: Services, tasks: TaskRunner, qtbot: QtBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    window = make_window(services, tasks, qtbot, answer=False)
    added: list[str | None] = []
    monkeypatch.setattr(window.inventory_page, "add_device", lambda tag=None: added.append(tag))
    window.show_area(1)  # the Inventory
    scan(window, qtbot, "NOPE-1")
    assert added == []
    assert "No device has the tag NOPE-1." in window.statusBar().currentMessage()


def test_keyboard_reaches_each_area(services: Services, tasks: TaskRunner, qtbot: QtBot) -> None:
    window = make_window(services, tasks, qtbot)
    shortcuts = {action.shortcut().toString(): action for action in window.findChildren(QAction)}
    areas = ["Desk", "Inventory", "Residents", "Loans", "Waiting list", "Sessions", "Champions", "Dashboard"]
    areas += ["Settings", "Audit"]
    assert {"F2", "Ctrl+P", "Ctrl+L"} | {f"Ctrl+{n}" for n in range(10)} <= set(shortcuts)
    for number, area in reversed(list(enumerate(areas, start=1))):
        shortcuts[f"Ctrl+{number % 10}"].trigger()
        assert window.current_area() == area


def test_each_go_menu_item_has_its_own_alt_letter(
    services: Services, tasks: TaskRunner, qtbot: QtBot
) -> None:
    window = make_window(services, tasks, qtbot)
    menus = {action.text(): action.menu() for action in window.menuBar().actions()}
    assert list(menus) == ["&File", "&Go", "&Help"]
    go_menu = menus["&Go"]
    assert isinstance(go_menu, QMenu)
    texts = [action.text() for action in go_menu.actions()]
    assert texts == [
        "&Scan box",
        "&Desk",
        "&Inventory",
        "&Residents",
        "&Loans",
        "&Waiting list",
        "S&essions",
        "&Champions",
        "Das&hboard",
        "Se&ttings",
        "&Audit",
        *(["C&onflicts"] if not services.database.is_sqlite else []),  # the server's sync conflicts
        "&Users",
        "Data &protection",
        "&Backups",
    ]
    letters = [text[text.index("&") + 1].lower() for text in texts]
    assert len(set(letters)) == len(letters), letters


def test_empty_database_is_recognised(services: Services, tasks: TaskRunner, qtbot: QtBot) -> None:
    window = make_window(services, tasks, qtbot)
    assert window.is_database_empty()
    services.inventory.add(DeviceDraft(tag="LAP-0001", device_type=DeviceType.LAPTOP))
    assert not window.is_database_empty()


# The application: opening databases and the demo


def sign_in_as_first_or_demo_administrator(
    services: Services, _parent: QWidget | None, *, note: str = "", quitting: bool = False
) -> StaffMember | None:
    """What staff do at the sign-in dialog: set up a new database, or sign in to the demo as its
    administrator."""
    if not services.accounts.has_accounts():
        return services.accounts.create_first_administrator("sam.jones", "Sam Jones", "kettle violin harbour")
    return services.accounts.sign_in("demo.admin", "Stockport-admin")


@pytest.fixture
def desk(qapp: QApplication, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[DeskApplication]:
    monkeypatch.setattr(sys, "excepthook", sys.excepthook)  # DeskApplication installs its own
    monkeypatch.setenv("DIGIKNOW_DATA_DIR", str(tmp_path / "data"))
    config = load_config(str(tmp_path / "desk.db"))
    desk = DeskApplication(
        config,
        open_services,
        confirm=lambda parent, title, question: desk.answer,
        sign_in=sign_in_as_first_or_demo_administrator,
    )
    desk.answer = True  # type: ignore[attr-defined]  (what staff answer when asked to create a database)
    yield desk
    if desk.window is not None:
        desk.window.close()
    desk.close()
    for handler in list(log.handlers):
        if isinstance(handler, logging.FileHandler):
            handler.close()
            log.removeHandler(handler)


@pytest.mark.sqlite_only("the first start makes the database file")
def test_first_start_creates_the_database_and_shows_the_window(desk: DeskApplication, tmp_path: Path) -> None:
    assert desk.open(load_config(str(tmp_path / "desk.db")))
    assert (tmp_path / "desk.db").exists()
    assert desk.window is not None and desk.window.isVisible()
    assert desk.window.is_database_empty()
    assert (tmp_path / "data" / "logs" / "digiknow-desk.log").exists()


def test_explore_demo_opens_a_separate_filled_database(
    desk: DeskApplication, tmp_path: Path, qtbot: QtBot, empty_database_url: str
) -> None:
    assert desk.open(load_config(empty_database_url))
    first_window = desk.window
    desk.open_demo()
    qtbot.waitUntil(lambda: desk.window is not first_window, timeout=20_000)
    assert desk.window is not None and desk.window.windowTitle().endswith("– DEMO database")
    assert desk.window.staff.username == "demo.admin"
    assert desk.services is not None
    assert desk.services.database.url == database_url(str(tmp_path / "data" / DEMO_DB_FILE))
    assert not desk.window.is_database_empty()
    # The real database (a file, or on a server) is untouched.
    real = open_services(load_config(empty_database_url), create=False)
    try:
        assert real.accounts.has_accounts() and not real.demo.is_demo()
        real.accounts.sign_in("sam.jones", "kettle violin harbour")
        assert real.venues.venues() == []
    finally:
        real.database.dispose()


@pytest.mark.parametrize("area", range(11))
def test_tab_reaches_every_control_of_the_area(
    services: Services, tasks: TaskRunner, qtbot: QtBot, area: int
) -> None:
    services.demo.fill(devices=5)
    window = make_window(services, tasks, qtbot)
    window.show()
    qtbot.waitExposed(window)
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    window.show_area(area)
    page = window.area_page(window.area_titles()[area])
    wanted = {
        widget
        for widget in page.findChildren(QWidget)
        if widget.isVisible()
        and widget.isEnabled()
        and widget.focusPolicy() & Qt.FocusPolicy.TabFocus
        and widget.focusProxy() is None  # a spin box's text field: Tab lands on the spin box itself
    } | {window.scan_box}
    window.scan_box.setFocus()
    reached = set()
    for _ in range(3 * len(wanted) + 5):
        focused = QApplication.focusWidget()
        assert focused is not None
        reached.add(focused)
        QTest.keyClick(focused, Qt.Key.Key_Tab)
    assert wanted - reached == set(), [w.accessibleName() for w in wanted - reached]


@pytest.mark.sqlite_only("a database file not made yet")
def test_a_named_database_that_does_not_exist_is_made_only_when_staff_agree(
    desk: DeskApplication, tmp_path: Path
) -> None:
    desk.answer = False  # type: ignore[attr-defined]
    assert not desk.open(load_config(str(tmp_path / "typo.db")))
    assert not (tmp_path / "typo.db").exists() and desk.window is None
    desk.answer = True  # type: ignore[attr-defined]
    assert desk.open(load_config(str(tmp_path / "typo.db")))
    assert (tmp_path / "typo.db").exists()


def test_the_window_opens_on_the_desk_and_its_scans_go_to_the_desk(
    services: Services, tasks: TaskRunner, qtbot: QtBot
) -> None:
    services.inventory.add(DeviceDraft(tag="TAB-0001", device_type=DeviceType.TABLET))
    window = make_window(services, tasks, qtbot)
    assert window.current_area() == "Desk"
    scan(window, qtbot, "TAB-0001")
    assert window.current_area() == "Desk"
    assert window.desk_page.step == Step.FIND_RESIDENT  # TAB-0001 is available: who is borrowing it?


def test_scanning_a_resident_card_opens_the_resident(
    services: Services, tasks: TaskRunner, qtbot: QtBot
) -> None:
    resident = services.residents.add(
        ResidentDraft(name="Maureen Clarke", phone="0161 474 4444", consents=ALL_CONSENTS)
    )
    window = make_window(services, tasks, qtbot)
    window.show_area(8)  # Settings
    scan(window, qtbot, resident.reference.lower())
    assert window.current_area() == "Residents"


def test_a_change_on_the_champions_screen_reaches_the_sessions_screen(
    services: Services, tasks: TaskRunner, qtbot: QtBot
) -> None:
    window = make_window(services, tasks, qtbot)
    window.show_area(6)
    assert window.current_area() == "Champions"
    champion_filter = window.sessions_page.champion_filter
    assert [champion_filter.itemText(row) for row in range(champion_filter.count())] == ["Every champion"]
    services.champions.add(ChampionDraft(name="Priya Shah"))
    window.champions_page.changed.emit()  # as after the champion form saves
    assert champion_filter.findText("Priya Shah") > 0
    window.sessions_page.notice.emit("Logged the drop-in session on Sat 14 Mar at 10:00 (Tom Okafor).")
    assert window.statusBar().currentMessage().startswith("Logged the drop-in session")


def test_a_new_inclusion_rule_shows_on_the_residents_page(
    services: Services, tasks: TaskRunner, qtbot: QtBot, clock: FakeClock
) -> None:
    resident = services.residents.add(
        ResidentDraft(name="Maureen Clarke", phone="0161 474 4444", consents=ALL_CONSENTS)
    )
    levels = dict.fromkeys(SkillArea, SkillLevel.WITH_HELP)
    services.skills.record(
        resident.reference,
        SkillsCheckDraft(levels, checked_on=clock.now.date(), own_device=True, own_connection=True),
    )
    window = MainWindow(services, tasks)
    qtbot.addWidget(window)
    residents = window.centralWidget().findChild(ResidentsPage)
    assert residents.model.resident(0).inclusion_status is InclusionStatus.SUPPORTED

    window.settings_page.inclusion_rule_saved.emit(  # as the Settings page does after saving the rule
        services.inclusion.set_rule(InclusionRule(foundation=SkillLevel.WITH_HELP, areas_alone=0))
    )
    assert residents.model.resident(0).inclusion_status is InclusionStatus.INDEPENDENT


def test_the_dashboard_follows_the_work_done_and_the_ward_estimates(
    services: Services, tasks: TaskRunner, qtbot: QtBot, clock: FakeClock
) -> None:
    window = make_window(services, tasks, qtbot)
    window.show()
    qtbot.waitExposed(window)
    dashboard = window.dashboard_page
    shortcuts = {action.shortcut().toString(): action for action in window.findChildren(QAction)}
    with qtbot.waitSignal(dashboard.loaded, timeout=10_000):
        shortcuts["Ctrl+8"].trigger()
    assert window.current_area() == "Dashboard"
    assert dashboard.figure_text("supported") == "0"

    resident = services.residents.add(
        ResidentDraft(name="Maureen Clarke", phone="0161 474 4444", consents=ALL_CONSENTS)
    )
    services.skills.record(
        resident.reference,
        SkillsCheckDraft(
            dict.fromkeys(SkillArea, SkillLevel.WITH_HELP), checked_on=clock.now.date(), own_device=True
        ),
    )
    with qtbot.waitSignal(dashboard.loaded, timeout=10_000):
        window.centralWidget().findChild(ResidentsPage).changed.emit()  # as after a skills check is saved
    assert dashboard.figure_text("supported") == "fewer than 5"

    services.wards.set_excluded_rate(0.5)
    half = sum(round(ward.population / 2) for ward in services.wards.wards())
    with qtbot.waitSignal(dashboard.loaded, timeout=10_000):
        window.settings_page.wards_saved.emit()  # as the Settings page does after saving the estimates
    assert dashboard.figure_text("estimated_excluded") == f"{half:,}"


# Roles: each sees only the areas its permissions allow


def sign_in_as(services: Services, role: Role) -> StaffMember:
    """Add an account with `role` (a champion's names a champion) and sign it in."""
    champion_id = None
    if role is Role.CHAMPION:
        champion_id = services.champions.add(ChampionDraft(name="Priya Shah")).id
    services.accounts.add(f"{role.value}.one", f"{role.label} One", role, PASSWORD, champion_id=champion_id)
    return services.accounts.sign_in(f"{role.value}.one", PASSWORD)


PASSWORD = "kettle violin harbour"
EVERY_AREA = [
    "Desk",
    "Inventory",
    "Residents",
    "Loans",
    "Waiting list",
    "Sessions",
    "Champions",
    "Dashboard",
    "Settings",
    "Audit",
    "Users",
    "Data protection",
    "Backups",
]


@pytest.mark.parametrize(
    ("role", "areas"),
    [
        (Role.CHAMPION, ["Residents", "Sessions", "Champions"]),
        (Role.DESK, ["Desk", "Inventory", "Residents", "Loans", "Waiting list"]),
        (Role.COORDINATOR, EVERY_AREA[:-3]),
        (Role.ADMINISTRATOR, EVERY_AREA),
    ],
)
def test_each_role_sees_only_the_areas_it_may_use(
    services: Services, tasks: TaskRunner, qtbot: QtBot, role: Role, areas: list[str]
) -> None:
    if not services.database.is_sqlite and "Settings" in areas:  # who may settle the server's sync conflicts
        areas = [*areas[: areas.index("Audit") + 1], "Conflicts", *areas[areas.index("Audit") + 1 :]]
    staff = sign_in_as(services, role)
    window = make_window(services, tasks, qtbot)
    assert window.area_titles() == areas
    go_menu = next(action.menu() for action in window.menuBar().actions() if action.text() == "&Go")
    assert isinstance(go_menu, QMenu)
    assert [action.text().replace("&", "") for action in go_menu.actions()][1:] == areas
    # Pages of other areas are not built at all (they would ask the services for what the role may not see).
    assert (window.findChild(SettingsPage) is not None) is ("Settings" in areas)
    assert (window.findChild(UsersPage) is not None) is ("Users" in areas)
    labels = [label.text() for label in window.statusBar().findChildren(QLabel)]
    assert f"Signed in: {staff.display_name} ({role.label})" in labels
    assert window.windowTitle() == f"DigiKnow Desk – {staff.display_name} ({role.label})"


def test_only_roles_that_manage_devices_get_the_device_menu_items_and_welcome(
    services: Services, tasks: TaskRunner, qtbot: QtBot
) -> None:
    sign_in_as(services, Role.CHAMPION)
    window = make_window(services, tasks, qtbot)
    texts = [action.text() for action in window.findChildren(QAction)]
    assert "&Print labels…" not in texts and "&Import devices from CSV…" not in texts
    assert {"&Lock / switch user", "Change my pass&word…", "&Quit"} <= set(texts)
    assert window.welcome_choices() == [WelcomeChoice.EXPLORE_DEMO]
    assert not window.is_database_empty()  # a champion cannot set up devices, so is not offered to


def test_change_my_password_is_on_the_file_menu_for_everyone(
    services: Services, tasks: TaskRunner, qtbot: QtBot
) -> None:
    sign_in_as(services, Role.DESK)
    asked: list[Services] = []
    window = MainWindow(services, tasks, change_password=lambda given, _parent: asked.append(given) or True)
    qtbot.addWidget(window)
    action = next(a for a in window.findChildren(QAction) if a.text() == "Change my pass&word…")
    action.trigger()
    assert asked == [services]
    assert window.statusBar().currentMessage() == "Your password is changed: use the new one from now on."


def contrast(foreground: str, background: str) -> float:
    def luminance(colour: str) -> float:
        channels = [int(colour[at : at + 2], 16) / 255 for at in (1, 3, 5)]
        linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    lighter, darker = sorted((luminance(foreground), luminance(background)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def test_a_demo_database_says_demo_on_the_window(services: Services, tasks: TaskRunner, qtbot: QtBot) -> None:
    plain = make_window(services, tasks, qtbot)
    assert plain.findChild(QLabel, "demoBanner") is None
    with services.database.write() as session:  # as demo data leaves a database
        session.merge(SettingRow(key=DEMO_KEY, value='{"demo": true}'))
    asked: list[str] = []
    window = MainWindow(
        services, tasks, sign_in=lambda _services, _parent, note="", quitting=False: asked.append(note)
    )
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    banner = window.findChild(QLabel, "demoBanner")
    assert banner is not None and banner.isVisible() and banner.text().startswith("DEMO DATABASE")
    assert window.windowTitle().endswith("– DEMO database")
    background = re.search(r"background: (#[0-9a-f]{6})", DEMO_STYLE)
    foreground = re.search(r"color: (#[0-9a-f]{6})", DEMO_STYLE)
    assert background and foreground
    assert contrast(foreground.group(1), background.group(1)) >= 4.5
    window.lock("Locked.")  # the locked screen says DEMO too
    qtbot.waitUntil(lambda: asked == ["Locked."])  # no one signed in
    assert window.is_locked and banner.isVisible()


def test_a_refusal_reaching_the_window_is_shown_in_words(qtbot: QtBot) -> None:
    shown: list[QMessageBox] = []
    reporter = ErrorReporter(None, None, show_dialog=shown.append)
    staff = StaffMember(username="sam.jones", display_name="Sam Jones", role=Role.DESK)
    reporter.report(PermissionDenied(staff, Permission.SEE_AUDIT))
    assert shown[0].text() == (
        "Sam Jones is signed in as Desk staff, who cannot see the audit trail. Ask a coordinator or an "
        "administrator to do it, or to change your role."
    )


def test_no_page_shortcut_clashes_with_the_windows(
    services: Services, tasks: TaskRunner, qtbot: QtBot
) -> None:
    window = make_window(services, tasks, qtbot)
    window_keys = {
        action.shortcut().toString()
        for action in window.findChildren(QAction)
        if action.shortcutContext() == Qt.ShortcutContext.WindowShortcut and not action.shortcut().isEmpty()
    }
    clashes = {
        (title, action.text())
        for title in window.area_titles()
        for action in window.area_page(title).findChildren(QAction)
        if action.shortcut().toString() in window_keys
    }
    assert clashes == set()
