"""Venue sync in the main window: a venue copy's Sync (F9) and its status-bar words; on a server, other desks'
changes reaching the lists, and a server that stops answering said once in the status bar.

A venue copy needs a PostgreSQL server by its nature, so these tests take the `postgres_server` fixture
directly instead of running once per backend (as tests/unit/test_sync.py does)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QAction
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QLabel, QMenu, QMessageBox
from pytestqt.qtbot import QtBot
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url

from digiknow_desk.app import Services, build_services
from digiknow_desk.domain.devices import DeviceDraft, DeviceType
from digiknow_desk.domain.residents import ResidentDraft
from digiknow_desk.domain.staff import setup_staff
from digiknow_desk.domain.venues import VenueDraft
from digiknow_desk.services.sync import SyncDone, SyncStatus
from digiknow_desk.storage.database import Database
from digiknow_desk.storage.models import ResidentRow
from digiknow_desk.ui.loans_page import LoansPage
from digiknow_desk.ui.main_window import WATCH_EVERY_MS, MainWindow
from digiknow_desk.ui.resident_table_model import day_text
from digiknow_desk.ui.sync_control import sync_done_words, sync_status_words
from digiknow_desk.ui.tasks import TaskRunner

if TYPE_CHECKING:
    from tests.conftest import FakeClock, PostgresServer

WARD = "E05000787"  # Bramhall North
SYNC_ACTION = "S&ync with the server"


@dataclass
class Network:
    """A server with a few devices and residents, and venue copies of it made on demand."""

    url: str
    server: Services
    folder: Path
    clock: FakeClock
    opened: list[Services] = field(default_factory=list)

    def copy(self, venue: str) -> Services:
        path = self.folder / f"{venue.replace(' ', '_').lower()}.db"
        self.server.sync.set_up_venue_copy(venue, path, server_url=self.url)
        return self.open("sqlite:///" + path.as_posix(), f"Desk at {venue}")

    def open(self, url: str, who: str) -> Services:
        services = build_services(Database(url), staff=setup_staff(who), clock=self.clock)
        self.opened.append(services)
        return services

    def allow_connections(self, allowed: bool) -> None:
        """Open or shut the server's database to new connections (shutting also ends those open): as
        the server going away and coming back, for every desk at once."""
        name = make_url(self.url).database
        admin = create_engine(make_url(self.url).set(database="postgres"), isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f"ALTER DATABASE {name} ALLOW_CONNECTIONS {str(allowed).lower()}"))
            if not allowed:
                connection.execute(
                    text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :name"),
                    {"name": name},
                )
        admin.dispose()


@pytest.fixture
def network(postgres_server: PostgresServer, tmp_path: Path, clock: FakeClock) -> Iterator[Network]:
    url = postgres_server.new_database(migrated=True)
    made = Network(
        url, build_services(Database(url), staff=setup_staff("Coordinator"), clock=clock), tmp_path, clock
    )
    made.opened.append(made.server)
    made.server.accounts.create_first_administrator(
        "coordinator", "Coordinator", "kettle violin harbour"
    )  # copies sign in with these
    for name in ("Bramhall Library", "Cheadle Library"):
        made.server.venues.add(VenueDraft(name=name, ward_code=WARD))
    for number in (1, 2):
        made.server.inventory.add(
            DeviceDraft(tag=f"TAB-{number:04d}", device_type=DeviceType.TABLET, kit=("Charger",))
        )
    for name in ("Mary Smith", "Ahmed Khan"):
        made.server.residents.add(
            ResidentDraft(name=name, phone="0161 474 4444", postcode="SK7 2AA"), duplicate_checked=True
        )
    yield made
    made.allow_connections(True)
    for services in made.opened:
        services.database.dispose()
    postgres_server.drop(url)


@pytest.fixture
def tasks() -> Iterator[TaskRunner]:
    runner = TaskRunner()
    yield runner
    runner.shutdown()


Told = list[tuple[QMessageBox.Icon, str]]


def make_window(services: Services, tasks: TaskRunner, qtbot: QtBot, told: Told | None = None) -> MainWindow:
    """The window, its messages to staff kept in `told` instead of shown."""
    kept = told if told is not None else []
    window = MainWindow(
        services,
        tasks,
        tell=lambda _parent, icon, words: kept.append((icon, words)),
        sign_in=lambda _services, _parent, note="", quitting=False: None,
    )
    qtbot.addWidget(window)
    return window


def reference_of(services: Services, name: str) -> str:
    with services.database.read() as session:
        found = session.scalar(select(ResidentRow.reference).where(ResidentRow.name == name))
        assert found is not None
        return found


def status_text(window: MainWindow) -> str:
    """The status bar's words on the venue copy."""
    labels = [
        label
        for label in window.statusBar().findChildren(QLabel)
        if label.accessibleName() == "Venue copy sync"
    ]
    assert len(labels) == 1
    return labels[0].text()


# The words


@pytest.mark.parametrize(
    ("done", "words"),
    [
        (SyncDone(3, 0, 17, "server"), "Sent 3 changes and received 17."),
        (SyncDone(1, 0, 0, "server"), "Sent 1 change; nothing new came from the server."),
        (SyncDone(0, 0, 1_250, "server"), "Nothing to send; received 1,250 from the server."),
        (
            SyncDone(0, 0, 0, "server"),
            "Nothing to send and nothing new on the server: this laptop is up to date.",
        ),
        (
            SyncDone(3, 1, 17, "server"),
            "Sent 3 changes and received 17. 1 change was kept as a conflict for a coordinator to look at; "
            "this laptop shows the server's version meanwhile.",
        ),
        (
            SyncDone(2, 2, 5, "server"),
            "Sent 2 changes and received 5. 2 changes were kept as conflicts for a coordinator to look at; "
            "this laptop shows the server's version meanwhile.",
        ),
    ],
)
def test_a_sync_is_told_in_plain_words(done: SyncDone, words: str) -> None:
    assert sync_done_words(done) == words


def test_the_status_words_say_which_copy_when_it_last_synced_and_what_waits() -> None:
    synced = datetime(2026, 3, 14, 10, 30, tzinfo=UTC)
    local = synced.astimezone()
    today = local.date()
    status = SyncStatus(True, "Bramhall Library", "postgresql://server/digiknow", synced, 3, 900)
    assert sync_status_words(status, today) == (
        f"Venue copy of Bramhall Library · last synced {day_text(local, today)} {local:%H:%M} · "
        "3 changes waiting to be sent"
    )
    never = SyncStatus(True, "Cheadle Library", "postgresql://server/digiknow", None, 0, 1000)
    assert sync_status_words(never, today) == (
        "Venue copy of Cheadle Library · never synced · nothing waiting to be sent"
    )


# On a venue copy


def test_f9_syncs_a_venue_copy_and_the_status_bar_follows_its_changes(
    network: Network, tasks: TaskRunner, qtbot: QtBot
) -> None:
    bramhall = network.copy("Bramhall Library")
    told: Told = []
    window = make_window(bramhall, tasks, qtbot, told)
    assert status_text(window).startswith("Venue copy of Bramhall Library · last synced ")
    assert status_text(window).endswith(" · nothing waiting to be sent")
    sync = window.venue_sync
    assert sync is not None
    assert sync.button.text() == "Sync now" and sync.button.accessibleName() == "Sync with the server"
    file_menu = next(action.menu() for action in window.menuBar().actions() if action.text() == "&File")
    assert isinstance(file_menu, QMenu)
    assert SYNC_ACTION in [action.text() for action in file_menu.actions()]

    bramhall.lending.issue("TAB-0001", reference_of(bramhall, "Mary Smith"))
    window.desk_page.changed.emit()  # as the Desk does after issuing
    assert status_text(window).endswith(" · 1 change waiting to be sent")
    bramhall.residents.add(ResidentDraft(name="Jo Brown", phone="0161 000 1111"), duplicate_checked=True)
    window.look_for_changes()  # as the watch timer does, for changes no page reports
    assert status_text(window).endswith(" · 2 changes waiting to be sent")

    window.show()
    qtbot.waitExposed(window)
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    assert sync.button.isVisible() and sync.button.isEnabled()
    with qtbot.waitSignal(sync.synced, timeout=30_000):
        QTest.keyClick(window, Qt.Key.Key_F9)
    assert len(told) == 1
    icon, words = told[0]
    assert icon is QMessageBox.Icon.Information
    assert words.startswith("Sent 2 changes") and "conflict" not in words
    assert status_text(window).endswith(" · nothing waiting to be sent")
    assert network.server.lending.count_open() == 1


def test_a_sync_that_keeps_a_conflict_says_so_and_shows_the_servers_version(
    network: Network, tasks: TaskRunner, qtbot: QtBot
) -> None:
    bramhall, cheadle = network.copy("Bramhall Library"), network.copy("Cheadle Library")
    theirs = cheadle.lending.issue("TAB-0001", reference_of(cheadle, "Ahmed Khan"))
    cheadle.sync.sync()  # Cheadle's loan reaches the server first
    ours = bramhall.lending.issue("TAB-0001", reference_of(bramhall, "Mary Smith"))
    told: Told = []
    window = make_window(bramhall, tasks, qtbot, told)
    window.go_to("Loans")
    loans = window.area_page("Loans")
    assert isinstance(loans, LoansPage)
    assert loans.model.row_of(ours.id) is not None

    sync = window.venue_sync
    assert sync is not None
    with qtbot.waitSignal(sync.synced, timeout=30_000):
        sync.action.trigger()

    assert told[0][1].endswith(
        "1 change was kept as a conflict for a coordinator to look at; this laptop shows the server's "
        "version meanwhile."
    )
    # The page on show reads again: the laptop has the server's loan now, not its own.
    assert loans.model.row_of(ours.id) is None
    assert loans.model.row_of(theirs.id) is not None
    assert status_text(window).endswith(" · nothing waiting to be sent")


def test_a_sync_without_the_server_says_why_and_keeps_the_work_on_the_laptop(
    network: Network, tasks: TaskRunner, qtbot: QtBot
) -> None:
    bramhall = network.copy("Bramhall Library")
    bramhall.lending.issue("TAB-0001", reference_of(bramhall, "Mary Smith"))
    told: Told = []
    window = make_window(bramhall, tasks, qtbot, told)
    sync = window.venue_sync
    assert sync is not None
    network.allow_connections(False)

    with qtbot.waitSignal(sync.synced, timeout=30_000):
        sync.action.trigger()

    icon, words = told[0]
    assert icon is QMessageBox.Icon.Warning
    assert words.startswith("Could not reach the server ")
    assert "the work done here is kept and goes up at the next sync" in words
    assert status_text(window).endswith(" · 1 change waiting to be sent")

    network.allow_connections(True)
    with qtbot.waitSignal(sync.synced, timeout=30_000):
        sync.action.trigger()
    assert told[1][1].startswith("Sent 1 change")
    assert status_text(window).endswith(" · nothing waiting to be sent")


def test_only_a_venue_copy_has_a_sync_action(services: Services, tasks: TaskRunner, qtbot: QtBot) -> None:
    window = make_window(services, tasks, qtbot)
    assert window.venue_sync is None
    assert SYNC_ACTION not in [action.text() for action in window.findChildren(QAction)]
    assert "Venue copy sync" not in [
        label.accessibleName() for label in window.statusBar().findChildren(QLabel)
    ]


# On a server


def test_another_desks_change_reaches_the_page_on_show_now_and_the_others_when_shown(
    network: Network, tasks: TaskRunner, qtbot: QtBot
) -> None:
    window = make_window(network.server, tasks, qtbot)
    watch = window.server_watch
    assert watch is not None
    assert window.watch_timer.isActive() and window.watch_timer.interval() == WATCH_EVERY_MS
    window.go_to("Inventory")
    assert window.inventory_page.count_text == "2 devices"
    assert window.residents_page.count_text == "2 residents"
    other_desk = network.open(network.url, "Desk at Central Library")

    other_desk.inventory.add(DeviceDraft(tag="LAP-0001", device_type=DeviceType.LAPTOP))
    other_desk.residents.add(ResidentDraft(name="Jo Brown", phone="0161 000 1111"), duplicate_checked=True)
    window.look_for_changes()  # as the watch timer does

    qtbot.waitUntil(lambda: window.inventory_page.count_text == "3 devices")
    assert window.residents_page.count_text == "2 residents"  # not on show: read when next shown
    window.go_to("Residents")
    assert window.residents_page.count_text == "3 residents"


def test_a_server_that_stops_answering_is_said_once_and_watched_until_it_answers(
    network: Network, tasks: TaskRunner, qtbot: QtBot
) -> None:
    window = make_window(network.server, tasks, qtbot)
    watch = window.server_watch
    assert watch is not None
    network.allow_connections(False)

    window.look_for_changes()
    qtbot.waitUntil(lambda: not watch.asking)
    assert window.statusBar().currentMessage() == "The server is not answering: DigiKnow Desk keeps trying."
    assert QApplication.activeModalWidget() is None  # no dialog: the desk can carry on
    window.statusBar().clearMessage()
    window.look_for_changes()
    qtbot.waitUntil(lambda: not watch.asking)
    assert window.statusBar().currentMessage() == ""  # said once, not every few seconds

    network.allow_connections(True)
    other_desk = network.open(network.url, "Desk at Central Library")
    other_desk.inventory.add(DeviceDraft(tag="LAP-0001", device_type=DeviceType.LAPTOP))
    window.go_to("Inventory")
    window.look_for_changes()
    qtbot.waitUntil(lambda: window.inventory_page.count_text == "3 devices")
    assert window.statusBar().currentMessage() == "The server answers again: other desks' changes show here."


def test_a_locked_desk_stops_asking_the_server(network: Network, tasks: TaskRunner, qtbot: QtBot) -> None:
    window = make_window(network.server, tasks, qtbot)
    assert window.watch_timer.isActive()
    window.lock("Locked for the test.")
    assert not window.watch_timer.isActive()
    window.look_for_changes()  # a tick already queued does nothing
    assert window.server_watch is not None and not window.server_watch.asking


def test_a_database_file_has_no_watch(services: Services, tasks: TaskRunner, qtbot: QtBot) -> None:
    window = make_window(services, tasks, qtbot)
    assert (window.server_watch is None) is services.database.is_sqlite
    assert window.watch_timer.isActive() is not services.database.is_sqlite


def test_another_desks_change_leaves_the_list_where_staff_had_scrolled_it(
    network: Network, tasks: TaskRunner, qtbot: QtBot
) -> None:
    for number in range(3, 120):
        network.server.inventory.add(DeviceDraft(tag=f"TAB-{number:04d}", device_type=DeviceType.TABLET))
    window = make_window(network.server, tasks, qtbot)
    window.go_to("Inventory")
    window.show()
    scrollbar = window.inventory_page.table.verticalScrollBar()
    qtbot.waitUntil(lambda: scrollbar.maximum() > 0)
    scrollbar.setValue(scrollbar.maximum() // 2)
    where = scrollbar.value()
    assert where > 0

    network.open(network.url, "Desk at Central Library").inventory.add(
        DeviceDraft(tag="LAP-0001", device_type=DeviceType.LAPTOP)
    )
    window.look_for_changes()

    qtbot.waitUntil(lambda: window.inventory_page.count_text == "120 devices")
    assert scrollbar.value() == where
