"""The Conflicts page (coordinators and administrators, on a server): the conflicts venue syncs kept aside,
each one's records beside the server's, and keeping the server's version or using the venue's.

Conflicts come from venue copies, which need a PostgreSQL server by their nature: these tests take the
`postgres_server` fixture directly instead of running once per backend (as tests/unit/test_sync.py does)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QMenu, QWidget
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot
from sqlalchemy import select

from digiknow_desk.app import Services, build_services
from digiknow_desk.domain.devices import DeviceDraft, DeviceType
from digiknow_desk.domain.loans import WipeChecklist, WipeMethod
from digiknow_desk.domain.residents import ResidentDraft
from digiknow_desk.domain.staff import Role, setup_staff
from digiknow_desk.domain.venues import VenueDraft
from digiknow_desk.storage.database import Database
from digiknow_desk.storage.models import LoanRow, ResidentRow
from digiknow_desk.ui.conflicts_page import ConflictsPage, ConflictTableModel
from digiknow_desk.ui.main_window import MainWindow
from digiknow_desk.ui.tasks import TaskRunner

if TYPE_CHECKING:
    from tests.conftest import FakeClock, PostgresServer

WARD = "E05000787"  # Bramhall North
PASSWORD = "kettle violin harbour"


@dataclass
class Conflicts:
    """A server whose conflicts came from two venue copies: Bramhall changed Mary Smith's phone while the
    server changed it too; Cheadle issued TAB-0001 to Ahmed Khan while Bramhall had issued it to Jo Brown."""

    server: Services
    bramhall: Services
    cheadle: Services
    cheadle_loan_id: uuid.UUID


@pytest.fixture
def conflicts(postgres_server: PostgresServer, tmp_path: Path, clock: FakeClock) -> Iterator[Conflicts]:
    url = postgres_server.new_database(migrated=True)
    server = build_services(Database(url), staff=setup_staff("Coordinator"), clock=clock)
    server.accounts.create_first_administrator(
        "coordinator", "Coordinator", "kettle violin harbour"
    )  # copies sign in with these
    for name in ("Bramhall Library", "Cheadle Library"):
        server.venues.add(VenueDraft(name=name, ward_code=WARD))
    server.inventory.add(DeviceDraft(tag="TAB-0001", device_type=DeviceType.TABLET, kit=("Charger",)))
    for name in ("Mary Smith", "Ahmed Khan", "Jo Brown"):
        server.residents.add(
            ResidentDraft(name=name, phone="0161 474 4444", postcode="SK7 2AA"), duplicate_checked=True
        )
    copies = []
    for venue in ("Bramhall Library", "Cheadle Library"):
        path = tmp_path / f"{venue.split()[0].lower()}.db"
        server.sync.set_up_venue_copy(venue, path, server_url=url)
        copies.append(
            build_services(Database("sqlite:///" + path.as_posix()), staff=setup_staff("Desk"), clock=clock)
        )
    bramhall, cheadle = copies
    mary = reference_of(server, "Mary Smith")
    bramhall.residents.update(
        mary, ResidentDraft(name="Mary Smith", phone="07700 900123", postcode="SK7 2AA")
    )
    bramhall.lending.issue("TAB-0001", reference_of(server, "Jo Brown"))
    cheadle_loan = cheadle.lending.issue("TAB-0001", reference_of(server, "Ahmed Khan"))
    clock.now += timedelta(minutes=1)
    server.residents.update(mary, ResidentDraft(name="Mary Smith", phone="0161 000 0000", postcode="SK7 2AA"))
    clock.now += timedelta(minutes=1)
    bramhall.sync.sync()  # the phone is a conflict; the loan reaches the server
    clock.now += timedelta(minutes=1)
    cheadle.sync.sync()  # the device is already on loan there: a conflict
    made = Conflicts(server, bramhall, cheadle, cheadle_loan.id)
    yield made
    for services in (server, bramhall, cheadle):
        services.database.dispose()
    postgres_server.drop(url)


@pytest.fixture
def tasks() -> Iterator[TaskRunner]:
    runner = TaskRunner()
    yield runner
    runner.shutdown()


def reference_of(services: Services, name: str) -> str:
    with services.database.read() as session:
        found = session.scalar(select(ResidentRow.reference).where(ResidentRow.name == name))
        assert found is not None
        return found


class Answers:
    """Stands in for the confirmation: records each question and gives the answer set."""

    def __init__(self, answer: bool) -> None:
        self.answer = answer
        self.asked: list[tuple[str, str, str]] = []

    def __call__(self, _parent: QWidget, title: str, question: str, go_ahead: str) -> bool:
        self.asked.append((title, question, go_ahead))
        return self.answer


def make_page(services: Services, tasks: TaskRunner, qtbot: QtBot, answers: Answers) -> ConflictsPage:
    page = ConflictsPage(services, tasks, confirm=answers)
    qtbot.addWidget(page)
    return page


def row_of_venue(page: ConflictsPage, venue: str) -> int:
    return next(row for row in range(page.model.rowCount()) if page.model.conflict(row).venue == venue)


# The list


def test_the_open_conflicts_are_listed_with_when_where_and_what(
    conflicts: Conflicts, tasks: TaskRunner, qtbot: QtBot, qtmodeltester: ModelTester
) -> None:
    page = make_page(conflicts.server, tasks, qtbot, Answers(True))
    model = page.model
    qtmodeltester.check(model)
    assert page.count_text == "2 conflicts open"
    cells = [
        [model.index(row, column).data() for column in range(model.columnCount())]
        for row in range(model.rowCount())
    ]
    assert [row[ConflictTableModel.VENUE] for row in cells] == ["Bramhall Library", "Cheadle Library"]
    assert {row[ConflictTableModel.OUTCOME] for row in cells} == {"Open"}
    assert cells[0][ConflictTableModel.SUMMARY] == (
        f"Resident {reference_of(conflicts.server, 'Mary Smith')} changed. Not applied: the resident was "
        "changed on the server meanwhile (phone)."
    )
    assert "TAB-0001" in cells[1][ConflictTableModel.SUMMARY]
    assert all(row[ConflictTableModel.COMPUTER] for row in cells)
    assert [model.headerData(c, Qt.Orientation.Horizontal) for c in range(5)] == [
        "Found",
        "Venue",
        "Computer",
        "What happened",
        "Outcome",
    ]
    # Nothing chosen yet: nothing to resolve.
    assert not page.keep_server_button.isEnabled() and not page.use_venue_button.isEnabled()
    assert page.details_rows() == []


# The details


def test_a_conflict_shows_only_the_fields_where_the_venue_and_the_server_differ(
    conflicts: Conflicts, tasks: TaskRunner, qtbot: QtBot
) -> None:
    page = make_page(conflicts.server, tasks, qtbot, Answers(True))
    page.select_row(row_of_venue(page, "Bramhall Library"))
    mary = reference_of(conflicts.server, "Mary Smith")
    assert page.summary_text.startswith(f"Resident {mary} changed. Not applied")
    # Not the name or postcode (the same on both), nor the search terms and audit entry that came with it.
    assert page.details_rows() == [
        (f"Resident {mary}: changed at the venue",),
        ("Phone", "07700 900123", "0161 000 0000"),
    ]
    assert page.keep_server_button.isEnabled() and page.use_venue_button.isEnabled()


def test_a_double_issue_shows_the_venues_loan_beside_what_the_server_has(
    conflicts: Conflicts, tasks: TaskRunner, qtbot: QtBot
) -> None:
    page = make_page(conflicts.server, tasks, qtbot, Answers(True))
    page.select_row(row_of_venue(page, "Cheadle Library"))
    ahmed = reference_of(conflicts.server, "Ahmed Khan")
    rows = page.details_rows()
    headings = [row[0] for row in rows if len(row) == 1]
    assert headings == [
        f"Loan of TAB-0001 to {ahmed}: added at the venue, not on the server",
        "Kit on the loan: added at the venue, not on the server",
        "Device status change: added at the venue, not on the server",
        f"Resident {ahmed}: changed at the venue",
        "Inclusion status change: added at the venue, not on the server",
    ]
    loan = rows[1 : rows.index(("Kit on the loan: added at the venue, not on the server",))]
    assert ("Device", "TAB-0001", "(none)") in loan and ("Resident", ahmed, "(none)") in loan
    assert ("Issued by", "Desk", "(none)") in loan and ("Accepted", "Yes", "(none)") in loan
    assert ("Inclusion status", "supported", "not yet supported") in rows
    # The device is on loan on both sides: its row has nothing that differs, so it is not listed.
    assert not any(heading.startswith("Device TAB-0001") for heading in headings)


# Resolving


def test_keeping_the_servers_version_asks_first_then_moves_it_to_the_resolved(
    conflicts: Conflicts, tasks: TaskRunner, qtbot: QtBot
) -> None:
    answers = Answers(False)
    page = make_page(conflicts.server, tasks, qtbot, answers)
    page.select_row(row_of_venue(page, "Bramhall Library"))

    page.keep_server_button.click()
    assert page.message == "Nothing was changed: the conflict is still open."
    assert len(conflicts.server.sync.conflicts()) == 2
    title, question, go_ahead = answers.asked[0]
    assert title == go_ahead == "Keep the server's version"
    assert "The server's records stay as they are, and the venue's change is set aside for good." in question

    answers.answer = True
    with qtbot.waitSignal(page.notice) as notice:
        page.keep_server_button.click()
    assert notice.args is not None and notice.args[0].startswith(
        "Kept the server's version for the conflict from Bramhall Library found "
    )
    assert page.message == notice.args[0]
    assert page.count_text == "1 conflict open"
    assert [page.model.conflict(row).venue for row in range(page.model.rowCount())] == ["Cheadle Library"]
    mary = reference_of(conflicts.server, "Mary Smith")
    assert conflicts.server.residents.get(mary).phone == "0161 000 0000"

    page.show_resolved_box.setChecked(True)
    assert page.count_text == "2 conflicts, 1 open"
    row = row_of_venue(page, "Bramhall Library")
    assert (
        page.model.index(row, ConflictTableModel.OUTCOME)
        .data()
        .startswith("Kept the server's version (Coordinator, ")
    )
    page.select_row(row)
    assert not page.keep_server_button.isEnabled() and not page.use_venue_button.isEnabled()


def test_using_the_venues_version_says_what_to_do_first_when_it_cannot_be_applied(
    conflicts: Conflicts, tasks: TaskRunner, qtbot: QtBot, clock: FakeClock
) -> None:
    answers = Answers(True)
    page = make_page(conflicts.server, tasks, qtbot, answers)
    page.select_row(row_of_venue(page, "Cheadle Library"))

    page.use_venue_button.click()
    assert "For a device issued twice, return the other loan first" in page.message
    assert page.count_text == "2 conflicts open"
    assert answers.asked[0][0] == "Use the venue's version"
    assert "The venue's changes are written over the server's records now" in answers.asked[0][1]

    conflicts.server.lending.return_device("TAB-0001")
    conflicts.server.lending.record_wipe(
        "TAB-0001",
        WipeMethod.FACTORY_RESET,
        WipeChecklist(accounts_signed_out=True, reset_done=True, apps_restored=True, charger_present=True),
    )
    clock.now += timedelta(minutes=5)
    with qtbot.waitSignal(page.changed):  # the server's records changed: the other pages read again
        page.use_venue_button.click()
    assert page.message.startswith("Used the venue's version for the conflict from Cheadle Library found ")
    assert conflicts.server.lending.count_open() == 1
    with conflicts.server.database.read() as session:
        open_loan = session.scalar(select(LoanRow.id).where(LoanRow.closed_at.is_(None)))
    assert open_loan == conflicts.cheadle_loan_id


# In the window, and by keyboard


@pytest.mark.parametrize("role", [Role.COORDINATOR, Role.ADMINISTRATOR, Role.DESK])
def test_the_conflicts_area_is_for_coordinators_and_administrators_on_a_server(
    services: Services, tasks: TaskRunner, qtbot: QtBot, role: Role
) -> None:
    services.accounts.add("someone", "Someone", role, PASSWORD)
    services.accounts.sign_in("someone", PASSWORD)
    window = MainWindow(services, tasks)
    qtbot.addWidget(window)
    shown = "Conflicts" in window.area_titles()
    assert shown is (not services.database.is_sqlite and role is not Role.DESK)
    go_menu = next(action.menu() for action in window.menuBar().actions() if action.text() == "&Go")
    assert isinstance(go_menu, QMenu)
    assert ("C&onflicts" in [action.text() for action in go_menu.actions()]) is shown


def test_every_control_has_a_name_and_tab_reaches_each_one(
    conflicts: Conflicts, tasks: TaskRunner, qtbot: QtBot
) -> None:
    page = make_page(conflicts.server, tasks, qtbot, Answers(True))
    page.show()
    qtbot.waitExposed(page)
    page.activateWindow()
    qtbot.waitUntil(page.isActiveWindow)
    page.select_row(0)
    wanted = {
        widget
        for widget in page.findChildren(QWidget)
        if widget.isVisible() and widget.isEnabled() and widget.focusPolicy() & Qt.FocusPolicy.TabFocus
    }
    assert wanted >= {page.table, page.details, page.show_resolved_box, page.keep_server_button}
    assert all(widget.accessibleName() for widget in wanted), [type(w).__name__ for w in wanted]
    page.show_resolved_box.setFocus()
    reached = set()
    for _ in range(2 * len(wanted) + 2):
        focused = QApplication.focusWidget()
        assert focused is not None
        reached.add(focused)
        QTest.keyClick(focused, Qt.Key.Key_Tab)
    assert wanted - reached == set(), [widget.accessibleName() for widget in wanted - reached]
