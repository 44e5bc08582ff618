"""The backups page: the folder's backups newest first, Back up now, and a restore that is checked, confirmed,
done, and handed back to the app to reopen the database; refusals leave the data as it was."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QAbstractButton, QApplication, QLabel, QWidget
from pytestqt.qtbot import QtBot

from digiknow_desk.app import Services, build_services
from digiknow_desk.domain.residents import ResidentDraft
from digiknow_desk.domain.staff import Role, StaffMember, setup_staff
from digiknow_desk.services.backups import Backup
from digiknow_desk.storage.backup import backup_to
from digiknow_desk.storage.database import Database
from digiknow_desk.storage.migrate import upgrade_to_head
from digiknow_desk.ui.backups_page import BackupsPage, BackupTableModel, size_text
from digiknow_desk.ui.paged_model import RECORD_ROLE
from digiknow_desk.ui.tasks import TaskRunner

if TYPE_CHECKING:
    from tests.conftest import FakeClock

MARY = ResidentDraft(name="Mary Smith", phone="0161 474 4444")
JOHN = ResidentDraft(name="John Brown", phone="07700 900123")
WINDOW_MNEMONICS = {"f", "g", "h", "s"}  # File, Go, Help and Scan belong to the main window


@pytest.fixture
def tasks() -> Iterator[TaskRunner]:
    runner = TaskRunner()
    yield runner
    runner.shutdown()


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    return tmp_path / "backups"


class Answers:
    """Stand-ins for the modal file chooser and question, and the app's reopening; they record each call."""

    def __init__(self, chosen: Path | None = None, confirm: bool = True) -> None:
        self.chosen = chosen
        self.confirm = confirm
        self.questions: list[tuple[str, str, str]] = []
        self.reopened = 0

    def open_path(self, _parent: QWidget, _caption: str, _filter: str) -> str:
        return str(self.chosen) if self.chosen else ""

    def ask(self, _parent: QWidget, title: str, question: str, go_ahead: str) -> bool:
        self.questions.append((title, question, go_ahead))
        return self.confirm

    def on_restored(self) -> None:
        self.reopened += 1


def make_page(
    services: Services, tasks: TaskRunner, qtbot: QtBot, folder: Path, answers: Answers
) -> BackupsPage:
    page = BackupsPage(
        services,
        tasks,
        folder,
        on_restored=answers.on_restored,
        open_path=answers.open_path,
        confirm=answers.ask,
    )
    qtbot.addWidget(page)
    return page


def button(page: QWidget, name: str) -> QAbstractButton:
    return next(b for b in page.findChildren(QAbstractButton) if b.accessibleName() == name)


def names_in(services: Services) -> list[str]:
    return sorted(resident.name for resident in services.residents.search(""))


def test_the_backup_model_passes_the_model_tester_and_lists_newest_first(
    qtmodeltester: object, tmp_path: Path
) -> None:
    older = Backup(
        tmp_path / "digiknow-20260301-020000.db", datetime(2026, 3, 1, 2, 0, tzinfo=UTC), 850_000, False
    )
    newer = Backup(
        tmp_path / "digiknow-20260314-103000-before-upgrade.db",
        datetime(2026, 3, 14, 10, 30, tzinfo=UTC),
        12_345_678,
        True,
    )
    model = BackupTableModel()
    model.set_backups([older, newer])

    qtmodeltester.check(model)  # type: ignore[attr-defined]

    assert [model.data(model.index(row, 0), RECORD_ROLE) for row in range(2)] == [newer, older]
    row = [model.data(model.index(0, column)) for column in range(model.columnCount())]
    assert row[1:] == ["12.3 MB", "Yes (always kept)", "digiknow-20260314-103000-before-upgrade.db"]
    assert model.data(model.index(1, BackupTableModel.SIZE)) == "850 KB"
    assert model.data(model.index(1, BackupTableModel.BEFORE_UPGRADE)) == "No"
    assert (size_text(400), size_text(2_500_000_000)) == ("1 KB", "2.5 GB")


@pytest.mark.sqlite_only("backs up the SQLite file")
def test_back_up_now_adds_a_row(
    services: Services, tasks: TaskRunner, qtbot: QtBot, folder: Path, clock: FakeClock
) -> None:
    services.residents.add(MARY)
    page = make_page(services, tasks, qtbot, folder, Answers())
    assert page.model.rowCount() == 0 and page.count_text == "There are no backups in this folder yet."

    with qtbot.waitSignal(page.backed_up, timeout=20_000) as made:
        button(page, "Back up now").click()

    backup = made.args[0]
    assert backup.path.parent == folder and backup.path.is_file()
    assert page.model.rowCount() == 1 and page.model.backup(0) == backup
    assert page.table.selectionModel().selectedRows()[0].row() == 0
    assert page.count_text == "1 backup in this folder, newest first."
    assert page.message.startswith(f"Backed up to {backup.path} (")
    with sqlite3.connect(backup.path) as connection:
        assert connection.execute("SELECT name FROM residents").fetchall() == [("Mary Smith",)]

    clock.now += timedelta(minutes=1)
    with qtbot.waitSignal(page.backed_up, timeout=20_000) as made:
        page.back_up_now()
    assert page.model.rowCount() == 2 and page.model.backup(0) == made.args[0]  # newest first


@pytest.mark.sqlite_only("backs up the SQLite file")
def test_restore_of_a_good_backup_brings_the_data_back_and_hands_over_to_the_app(
    services: Services,
    tasks: TaskRunner,
    qtbot: QtBot,
    folder: Path,
    database: Database,
    db_path: Path,
    clock: FakeClock,
) -> None:
    services.residents.add(MARY)
    made = services.backups.backup_now(folder)
    services.residents.add(JOHN)
    clock.now += timedelta(minutes=5)
    answers = Answers(confirm=True)
    page = make_page(services, tasks, qtbot, folder, answers)
    page.select_row(0)

    with qtbot.waitSignal(page.restored, timeout=20_000) as restored:
        button(page, "Restore the selected backup").click()

    assert answers.reopened == 1
    [(title, question, go_ahead)] = answers.questions
    assert (title, go_ahead) == ("Restore a backup", "Restore this backup")
    assert f"Restore the backup {made.path.name}?" in question
    assert "'desk.before-restore-<date>-<time>.db'" in question
    assert "Made by this version of DigiKnow Desk (database version " in question
    assert "anything recorded since it was made will no longer be there" in question
    kept = restored.args[0].previous_kept_at
    assert kept.parent == db_path.parent and kept.name.startswith("desk.before-restore-")
    assert page.message == (
        f"Restored {made.path.name}. The database as it was just before is kept at {kept}."
    )
    # The page reads nothing more: the app reopens the database, as here.
    assert not button(page, "Back up now").isEnabled()
    assert page.back_up_now() is None
    database.dispose()
    reopened = Database(database.url)
    try:
        upgrade_to_head(reopened)
        again = build_services(reopened, staff=setup_staff("Admin"), clock=clock)
        assert names_in(again) == ["Mary Smith"]
    finally:
        reopened.dispose()
    with sqlite3.connect(kept) as connection:
        assert sorted(connection.execute("SELECT name FROM residents").fetchall()) == [
            ("John Brown",),
            ("Mary Smith",),
        ]


@pytest.mark.sqlite_only("backs up the SQLite file")
def test_cancelling_a_restore_changes_nothing(
    services: Services, tasks: TaskRunner, qtbot: QtBot, folder: Path, tmp_path: Path
) -> None:
    services.residents.add(MARY)
    copy = backup_to(services.database, tmp_path / "copy.db")
    services.residents.add(JOHN)
    answers = Answers(chosen=copy, confirm=False)
    page = make_page(services, tasks, qtbot, folder, answers)

    with qtbot.waitSignal(page.finished, timeout=20_000) as finished:
        button(page, "Restore from a file").click()

    assert finished.args[0] == "Nothing was restored: copy.db passed its checks, and was left as it is."
    [(_title, question, _go_ahead)] = answers.questions
    assert "File last changed: " in question and f"In: {tmp_path}" in question
    assert answers.reopened == 0
    assert names_in(services) == ["John Brown", "Mary Smith"]
    assert button(page, "Back up now").isEnabled()


@pytest.mark.sqlite_only("backs up the SQLite file")
@pytest.mark.parametrize("kind", ["truncated", "foreign"])
def test_a_refused_backup_is_explained_and_the_live_data_is_untouched(
    kind: str, services: Services, tasks: TaskRunner, qtbot: QtBot, folder: Path, tmp_path: Path
) -> None:
    services.residents.add(MARY)
    bad = tmp_path / f"{kind}.db"
    if kind == "truncated":
        whole = backup_to(services.database, tmp_path / "whole.db").read_bytes()
        bad.write_bytes(whole[: len(whole) // 2])
        expected = f"{kind}.db is incomplete"
    else:
        with sqlite3.connect(bad) as connection:
            connection.execute("CREATE TABLE recipes (name TEXT)")
        expected = f"{kind}.db is a database, but not a DigiKnow Desk one."
    services.residents.add(JOHN)
    answers = Answers(chosen=bad, confirm=True)
    page = make_page(services, tasks, qtbot, folder, answers)

    with qtbot.waitSignal(page.finished, timeout=20_000) as finished:
        page.restore_from_file()

    assert finished.args[0].startswith(expected)
    assert finished.args[0].endswith("Nothing was restored: the data in use is unchanged.")
    assert page.message == finished.args[0]
    assert answers.questions == [] and answers.reopened == 0
    assert names_in(services) == ["John Brown", "Mary Smith"]
    assert button(page, "Restore from a file").isEnabled()


@pytest.mark.sqlite_only("backs up the SQLite file")
def test_restore_selected_needs_a_selection(
    services: Services, tasks: TaskRunner, qtbot: QtBot, folder: Path
) -> None:
    services.backups.backup_now(folder)
    answers = Answers()
    page = make_page(services, tasks, qtbot, folder, answers)

    assert page.restore_selected() is None

    assert page.message == "Choose a backup in the list first, or restore from a file."
    assert answers.questions == []


@pytest.mark.postgresql_only("a server database is backed up with the server's own tools")
def test_on_a_server_backing_up_and_restoring_say_to_use_the_servers_tools(
    services: Services, tasks: TaskRunner, qtbot: QtBot, folder: Path, tmp_path: Path
) -> None:
    services.residents.add(MARY)
    server_tools = "back it up with the server's own tools (ask whoever runs it)."
    answers = Answers(chosen=tmp_path / "from-a-desk.db", confirm=True)
    page = make_page(services, tasks, qtbot, folder, answers)

    with qtbot.waitSignal(page.finished, timeout=20_000) as finished:
        button(page, "Back up now").click()
    assert finished.args[0].endswith(server_tools) and page.message == finished.args[0]
    with qtbot.waitSignal(page.finished, timeout=20_000) as finished:
        button(page, "Restore from a file").click()
    assert server_tools in finished.args[0]
    assert finished.args[0].endswith("Nothing was restored: the data in use is unchanged.")

    assert answers.questions == [] and answers.reopened == 0
    assert page.model.rowCount() == 0 and not folder.exists()
    assert names_in(services) == ["Mary Smith"]
    assert button(page, "Back up now").isEnabled()


def test_desk_staff_see_the_refusal_instead_of_a_crash(
    services: Services, tasks: TaskRunner, qtbot: QtBot, folder: Path
) -> None:
    services.desk.staff = StaffMember(username="sam.jones", display_name="Sam Jones", role=Role.DESK)
    refusal = "Sam Jones is signed in as Desk staff, who cannot make and restore backups."
    page = make_page(services, tasks, qtbot, folder, Answers())
    assert page.message.startswith(refusal)

    with qtbot.waitSignal(page.finished, timeout=20_000) as finished:
        page.back_up_now()

    assert finished.args[0].startswith(refusal)
    assert not folder.exists()


@pytest.mark.sqlite_only("backs up the SQLite file")
def test_every_control_is_named_has_its_own_key_and_is_reached_by_tab(
    services: Services, tasks: TaskRunner, qtbot: QtBot, folder: Path
) -> None:
    services.backups.backup_now(folder)
    page = make_page(services, tasks, qtbot, folder, Answers())
    controls = page.findChildren(QAbstractButton) + [page.table]
    unnamed = [
        type(control).__name__
        for control in controls
        if not control.accessibleName().strip() and not page.table.isAncestorOf(control)  # its corner
    ]
    assert unnamed == []
    keys = [
        text[text.index("&") + 1].lower()
        for widget in page.findChildren(QLabel) + page.findChildren(QAbstractButton)
        if "&" in (text := widget.text().replace("&&", ""))
    ]
    assert len(keys) == len(set(keys)) and not set(keys) & WINDOW_MNEMONICS, keys

    page.show()
    qtbot.waitExposed(page)
    page.activateWindow()
    qtbot.waitUntil(page.isActiveWindow)
    wanted = {
        widget
        for widget in page.findChildren(QWidget)
        if widget.isVisible() and widget.isEnabled() and widget.focusPolicy() & Qt.FocusPolicy.TabFocus
    }
    page.table.setFocus()
    qtbot.waitUntil(lambda: QApplication.focusWidget() is page.table)
    reached = set()
    for _ in range(2 * len(wanted) + 3):
        focused = QApplication.focusWidget()
        assert focused is not None
        reached.add(focused)
        QTest.keyClick(focused, Qt.Key.Key_Tab)
    assert {widget.accessibleName() or type(widget).__name__ for widget in wanted - reached} == set()
