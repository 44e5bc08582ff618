"""The main window: areas, the scan box (F2, then scan and Enter), the open database, and first start."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QAction
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QMenu, QStackedWidget, QWidget
from pytestqt.qtbot import QtBot

from digiknow_desk.app import Services, open_services
from digiknow_desk.config import database_url, load_config
from digiknow_desk.domain.champions import ChampionDraft
from digiknow_desk.domain.devices import DeviceDraft, DeviceType
from digiknow_desk.domain.inclusion import InclusionRule, InclusionStatus
from digiknow_desk.domain.residents import ConsentPurpose, ResidentDraft
from digiknow_desk.domain.skills import SkillArea, SkillLevel, SkillsCheckDraft
from digiknow_desk.ui.application import DEMO_DB_FILE, DeskApplication
from digiknow_desk.ui.desk_page import Step
from digiknow_desk.ui.errors import log
from digiknow_desk.ui.main_window import MainWindow
from digiknow_desk.ui.residents_page import ResidentsPage
from digiknow_desk.ui.tasks import TaskRunner

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
    areas.append("Settings")
    assert {"F2", "Ctrl+P"} | {f"Ctrl+{n}" for n in range(1, 10)} <= set(shortcuts)
    for number, area in reversed(list(enumerate(areas, start=1))):
        shortcuts[f"Ctrl+{number}"].trigger()
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
    ]
    letters = [text[text.index("&") + 1].lower() for text in texts]
    assert len(set(letters)) == len(letters), letters


def test_empty_database_is_recognised(services: Services, tasks: TaskRunner, qtbot: QtBot) -> None:
    window = make_window(services, tasks, qtbot)
    assert window.is_database_empty()
    services.inventory.add(DeviceDraft(tag="LAP-0001", device_type=DeviceType.LAPTOP))
    assert not window.is_database_empty()


# The application: opening databases and the demo


@pytest.fixture
def desk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[DeskApplication]:
    monkeypatch.setattr(sys, "excepthook", sys.excepthook)  # DeskApplication installs its own
    monkeypatch.setenv("DIGIKNOW_DATA_DIR", str(tmp_path / "data"))
    config = load_config(str(tmp_path / "desk.db"))
    desk = DeskApplication(config, open_services, confirm=lambda parent, title, question: desk.answer)
    desk.answer = True  # type: ignore[attr-defined]  (what staff answer when asked to create a database)
    yield desk
    if desk.window is not None:
        desk.window.close()
    desk.close()
    for handler in list(log.handlers):
        if isinstance(handler, logging.FileHandler):
            handler.close()
            log.removeHandler(handler)


def test_first_start_creates_the_database_and_shows_the_window(desk: DeskApplication, tmp_path: Path) -> None:
    assert desk.open(load_config(str(tmp_path / "desk.db")))
    assert (tmp_path / "desk.db").exists()
    assert desk.window is not None and desk.window.isVisible()
    assert desk.window.is_database_empty()
    assert (tmp_path / "data" / "logs" / "digiknow-desk.log").exists()


def test_explore_demo_opens_a_separate_filled_database(
    desk: DeskApplication, tmp_path: Path, qtbot: QtBot
) -> None:
    assert desk.open(load_config(str(tmp_path / "desk.db")))
    first_window = desk.window
    desk.open_demo()
    qtbot.waitUntil(lambda: desk.window is not first_window, timeout=20_000)
    assert desk.window is not None and "demo database" in desk.window.windowTitle()
    assert desk.services is not None
    assert desk.services.database.url == database_url(str(tmp_path / "data" / DEMO_DB_FILE))
    assert not desk.window.is_database_empty()
    # The real database is untouched.
    real = open_services(load_config(str(tmp_path / "desk.db")), create=False)
    try:
        assert real.venues.venues() == []
    finally:
        real.database.dispose()


@pytest.mark.parametrize("area", range(9))
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
    page = window.centralWidget().findChild(QStackedWidget).widget(area)
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
