"""Audit page (coordinators, administrators): entries newest first, a page at a time; filters; Export CSV."""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from PySide6.QtCore import QModelIndex
from PySide6.QtWidgets import QAbstractButton, QCheckBox, QDateEdit, QLabel, QLineEdit, QPushButton, QWidget
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot

from digiknow_desk.app import Services
from digiknow_desk.domain.devices import DeviceDraft, DeviceType
from digiknow_desk.domain.staff import Role
from digiknow_desk.services.audit import AuditEntry, AuditFilter
from digiknow_desk.ui.audit_page import AuditPage, AuditTableModel, details_text
from digiknow_desk.ui.tasks import TaskRunner

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


def make_page(services: Services, tasks: TaskRunner, qtbot: QtBot, save_to: Path | None = None) -> AuditPage:
    asked: list[str] = []

    def save_path(_parent: QWidget, caption: str, _suggested: str, _filter: str) -> str:
        asked.append(caption)
        return str(save_to) if save_to else ""

    page = AuditPage(services, tasks, save_path=save_path)
    page.asked = asked  # type: ignore[attr-defined]  (the file questions the test answered)
    qtbot.addWidget(page)
    return page


def column(page: AuditPage, number: int) -> list[str]:
    model = page.model
    return [model.data(model.index(row, number)) for row in range(model.rowCount())]


def some_history(services: Services, clock: FakeClock) -> None:
    """Accounts added on the 12th, a device on the 13th, a sign-in and a role change on the 14th."""
    today = clock.now
    clock.now = today - timedelta(days=2)
    services.accounts.add("sam.jones", "Sam Jones", Role.DESK, PASSWORD)
    services.accounts.add("ann.admin", "Ann Admin", Role.ADMINISTRATOR, PASSWORD)
    clock.now = today - timedelta(days=1)
    services.inventory.add(DeviceDraft(tag="TAB-0001", device_type=DeviceType.TABLET))
    clock.now = today
    services.accounts.sign_in("ann.admin", PASSWORD)
    services.accounts.set_role("sam.jones", Role.COORDINATOR)


def test_the_model_passes_the_model_tester_while_paging(
    services: Services, clock: FakeClock, qtmodeltester: ModelTester
) -> None:
    some_history(services, clock)
    model = AuditTableModel(services.audit, page_size=2)
    model.set_filter(AuditFilter())
    assert (model.rowCount(), model.total) == (2, 5)
    qtmodeltester.check(model)  # with rows still to fetch
    while model.canFetchMore(QModelIndex()):
        model.fetchMore(QModelIndex())
    assert model.rowCount() == 5
    qtmodeltester.check(model)


def test_entries_are_newest_first_with_who_what_and_where(
    services: Services, tasks: TaskRunner, qtbot: QtBot, clock: FakeClock
) -> None:
    some_history(services, clock)
    page = make_page(services, tasks, qtbot)
    assert column(page, AuditTableModel.ACTION) == [
        "user.role_changed",
        "user.signed_in",
        "device.added",
        "user.added",
        "user.added",
    ]
    assert column(page, AuditTableModel.WHO)[:2] == ["Ann Admin (ann.admin)", "Ann Admin (ann.admin)"]
    assert column(page, AuditTableModel.WHO)[-1] == "Test Staff"  # before any account, the setup name
    assert column(page, AuditTableModel.SUBJECT)[0] == "sam.jones"
    assert column(page, AuditTableModel.DETAILS)[0] == "role: desk → coordinator"
    local = clock.now.astimezone()
    assert column(page, AuditTableModel.WHEN)[0].endswith(f"{local:%H:%M:%S}")
    assert column(page, AuditTableModel.MACHINE)[0] == services.desk.machine
    assert page.count_text == "5 entries"


def test_the_filters_narrow_the_trail(
    services: Services, tasks: TaskRunner, qtbot: QtBot, clock: FakeClock
) -> None:
    some_history(services, clock)
    page = make_page(services, tasks, qtbot)
    page.set_filter_fields(who="Ann.Admin")
    assert column(page, AuditTableModel.ACTION) == ["user.role_changed", "user.signed_in"]
    assert page.count_text == "2 entries match"
    page.set_filter_fields(action="user")
    assert len(column(page, AuditTableModel.ACTION)) == 4
    page.set_filter_fields(action="user.added", subject="sam.jones")
    assert column(page, AuditTableModel.SUBJECT) == ["sam.jones"]
    page.set_filter_fields(subject="tab-0001")
    assert column(page, AuditTableModel.ACTION) == ["device.added"]
    yesterday = (clock.now - timedelta(days=1)).astimezone().date()
    page.set_filter_fields(from_day=yesterday, to_day=yesterday)
    assert column(page, AuditTableModel.ACTION) == ["device.added"]
    page.set_filter_fields(from_day=yesterday)
    assert len(column(page, AuditTableModel.ACTION)) == 3
    page.clear_filters()
    assert page.count_text == "5 entries"


def test_typing_a_filter_applies_it_on_enter(
    services: Services, tasks: TaskRunner, qtbot: QtBot, clock: FakeClock
) -> None:
    some_history(services, clock)
    page = make_page(services, tasks, qtbot)
    who = next(box for box in page.findChildren(QLineEdit) if box.accessibleName() == "Who: user name")
    qtbot.keyClicks(who, "sam.jones")
    assert page.count_text == "5 entries"  # not yet: a half-typed name would match no one
    qtbot.keyClick(who, "\r")
    assert page.count_text == "No entries match"  # Sam did nothing; entries about Sam are by subject


def test_a_ticked_date_box_filters_at_once(
    services: Services, tasks: TaskRunner, qtbot: QtBot, clock: FakeClock
) -> None:
    some_history(services, clock)
    page = make_page(services, tasks, qtbot)
    use_from = next(
        box for box in page.findChildren(QCheckBox) if box.accessibleName() == "Only entries from a day"
    )
    from_box = next(box for box in page.findChildren(QDateEdit) if box.accessibleName() == "From day")
    assert not from_box.isEnabled()
    use_from.setChecked(True)
    assert from_box.isEnabled()
    today = clock.now.astimezone().date()
    from_box.setDate(today)
    assert page.chosen_filter().from_day == today
    assert page.model.total == 2


def test_export_csv_writes_what_the_filters_show(
    services: Services, tasks: TaskRunner, qtbot: QtBot, clock: FakeClock, tmp_path: Path
) -> None:
    some_history(services, clock)
    out = tmp_path / "audit.csv"
    page = make_page(services, tasks, qtbot, save_to=out)
    page.set_filter_fields(action="user.added")
    with qtbot.waitSignal(page.exported, timeout=10_000) as exported:
        assert page.export_csv() is not None
    assert exported.args == [2]
    assert page.message == f"Exported 2 entries to {out}."
    with out.open(newline="", encoding="utf-8-sig") as file:
        rows = list(csv.DictReader(file))
    assert [row["subject"] for row in rows] == ["sam.jones", "ann.admin"]  # oldest first, as a record
    assert page.asked == ["Export the audit trail to a CSV file"]  # type: ignore[attr-defined]


def test_cancelling_the_file_question_exports_nothing(
    services: Services, tasks: TaskRunner, qtbot: QtBot
) -> None:
    page = make_page(services, tasks, qtbot, save_to=None)
    assert page.export_csv() is None
    assert page.message == ""


def test_details_in_words() -> None:
    def entry(details: dict[str, object], redacted: bool = False) -> AuditEntry:
        at = datetime(2026, 3, 14, 10, 30, tzinfo=UTC)
        return AuditEntry(1, at, "", "", "", "resident.changed", "R-00001", None, details, redacted)

    assert details_text(entry({"fields": ["name", "phone"]})) == "fields: name, phone"
    assert details_text(entry({"status": ["available", "repair"]})) == "status: available → repair"
    assert details_text(entry({"minutes": [5, 10], "note": ""})) == "minutes: 5 → 10; note: (none)"
    assert details_text(entry({}, redacted=True)).startswith("(details removed")


def test_every_control_has_a_name_and_the_alt_keys_do_not_clash(
    services: Services, tasks: TaskRunner, qtbot: QtBot
) -> None:
    page = make_page(services, tasks, qtbot)
    controls = [
        *page.findChildren(QPushButton),
        *page.findChildren(QCheckBox),
        *page.findChildren(QDateEdit),
        *[box for box in page.findChildren(QLineEdit) if not isinstance(box.parent(), QDateEdit)],
        page.table,
    ]
    assert controls and all(control.accessibleName() for control in controls)
    texts = [label.text() for label in page.findChildren(QLabel) if "<" not in label.text()]
    texts += [button.text() for button in page.findChildren(QAbstractButton)]
    letters = [match.group(1).lower() for text in texts if (match := re.search(r"&(\w)", text))]
    assert len(letters) == 8
    assert len(set(letters)) == len(letters), letters
    assert not set(letters) & WINDOW_MNEMONICS
