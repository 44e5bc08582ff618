"""Crash safety: the desk's writer killed at random moments never loses a saved loan or leaves half of one,
and a backup killed half way never passes for a backup."""

from __future__ import annotations

import hashlib
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import IO, TYPE_CHECKING

import pytest

from digiknow_desk.domain.staff import setup_staff
from digiknow_desk.services.backups import BackupService
from digiknow_desk.services.context import Desk, ServiceContext
from digiknow_desk.storage.backup import backup_name, list_backups, validate_backup
from digiknow_desk.storage.checks import hold_database_lock
from digiknow_desk.storage.database import Database
from digiknow_desk.storage.models import SettingRow

if TYPE_CHECKING:
    from tests.conftest import FakeClock

pytestmark = pytest.mark.sqlite_only("kills writers of the SQLite file mid-write")

ROOT = Path(__file__).resolve().parents[2]
RUNS = 30
MOST_WRITES_BEFORE_A_KILL = 40
SEED = 20260314


@dataclass
class Acknowledged:
    """What the writer said it had saved, over every run."""

    issued: set[str] = field(default_factory=set)  # loan ids
    returned: set[str] = field(default_factory=set)
    writes: int = 0

    def read(self, line: str) -> None:
        if not line.startswith("saved "):
            return
        _saved, action, loan_id, _tag = line.split()
        self.writes += 1
        if action == "issue":
            self.issued.add(loan_id)
        elif action == "return":
            self.returned.add(loan_id)


def _writer(*args: str, stderr: IO[str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.e2e.crash_writer", *args],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=stderr,
        text=True,
    )


def _kill(process: subprocess.Popen[str]) -> str:
    """Kill the process as a power cut or a crash would (SIGKILL; TerminateProcess on Windows), and
    return what it had printed and not yet been read."""
    process.kill()
    rest, _ = process.communicate(timeout=60)
    if os.name == "posix":
        assert process.returncode == -signal.SIGKILL
    else:
        assert process.returncode != 0
    return rest


def _problems(db_path: Path, acknowledged: Acknowledged) -> list[str]:
    """Everything wrong with the database after a crash, as a fresh connection (the next start) reads it."""
    problems = []
    with sqlite3.connect(db_path) as connection:
        integrity = connection.execute("PRAGMA integrity_check").fetchall()
        if integrity != [("ok",)]:
            problems.append(f"integrity check: {integrity[:3]}")
        if broken := connection.execute("PRAGMA foreign_key_check").fetchall():
            problems.append(f"broken references: {broken[:3]}")
        loans = {row[0]: row[1] for row in connection.execute("SELECT id, closed_at FROM loans")}
        lost = acknowledged.issued - loans.keys()
        if lost:
            problems.append(f"{len(lost)} loans reported as issued are missing: {sorted(lost)[:3]}")
        not_closed = {loan for loan in acknowledged.returned if loans.get(loan) is None}
        if not_closed:
            problems.append(f"{len(not_closed)} loans reported as returned are not closed")
        # Each device's status, open loan, loans, wipes and status history agree: no half of a change.
        for tag, status, open_loans, loans_made, loans_closed, wipes, kit in connection.execute(
            """
            SELECT d.tag, d.status,
                (SELECT count(*) FROM loans l WHERE l.device_id = d.id AND l.closed_at IS NULL),
                (SELECT count(*) FROM loans l WHERE l.device_id = d.id),
                (SELECT count(*) FROM loans l WHERE l.device_id = d.id AND l.closed_at IS NOT NULL
                    AND l.outcome = 'returned' AND l.closed_by = 'Crash'),
                (SELECT count(*) FROM wipes w WHERE w.device_id = d.id),
                (SELECT count(*) FROM device_kit_items k WHERE k.device_id = d.id)
            FROM devices d
            """
        ):
            events = dict(
                connection.execute(
                    "SELECT to_status, count(*) FROM device_status_events e JOIN devices d "
                    "ON d.id = e.device_id WHERE d.tag = ? AND e.from_status IS NOT NULL GROUP BY to_status",
                    (tag,),
                ).fetchall()
            )
            last = connection.execute(
                "SELECT to_status FROM device_status_events e JOIN devices d ON d.id = e.device_id "
                "WHERE d.tag = ? ORDER BY e.at DESC LIMIT 1",
                (tag,),
            ).fetchone()
            expected = (
                (status == "on_loan") == (open_loans == 1),
                loans_made == loans_closed + open_loans,
                events.get("on_loan", 0) == loans_made,
                events.get("awaiting_wipe", 0) == loans_closed,
                events.get("available", 0) == wipes,
                last == (status,),
                kit == 3,
            )
            if not all(expected):
                problems.append(
                    f"{tag} is {status} with {open_loans} open of {loans_made} loans ({loans_closed} "
                    f"returned), {wipes} wipes, events {events}, last {last}, kit {kit}"
                )
        for loan_id, kit_lines, kit_out in connection.execute(
            "SELECT l.id, count(k.loan_id), sum(k.went_out) FROM loans l "
            "LEFT JOIN loan_kit k ON k.loan_id = l.id GROUP BY l.id"
        ):
            if (kit_lines, kit_out) != (3, 3):
                problems.append(f"loan {loan_id} has {kit_lines} kit lines, {kit_out} gone out, not 3")
    return problems


@pytest.fixture
def stderr_file(tmp_path: Path) -> Iterator[IO[str]]:
    with (tmp_path / "writer-errors.txt").open("w+", encoding="utf-8") as file:
        yield file


def _errors(stderr: IO[str]) -> str:
    stderr.seek(0)
    return stderr.read()[-3000:]


def test_killing_the_writer_at_random_never_loses_a_saved_loan_or_leaves_half_of_one(
    database: Database, db_path: Path, stderr_file: IO[str], capsys: pytest.CaptureFixture[str]
) -> None:
    choose = random.Random(SEED)
    acknowledged = Acknowledged()
    immediate_kills = during_delay = 0
    for run in range(RUNS):
        # Every fifth run is killed as soon as it starts: maybe before it opens the database, maybe
        # while it sets up; the others after a random number of saved writes, mid-way through the next.
        kill_after = 0 if run % 5 == 0 else choose.randint(1, MOST_WRITES_BEFORE_A_KILL)
        writer = _writer("loans", str(db_path), str(choose.randrange(2**32)), "100000", stderr=stderr_file)
        assert writer.stdout is not None
        seen = 0
        while seen < kill_after:
            line = writer.stdout.readline()
            if not line:
                pytest.fail(f"Run {run}: the writer stopped by itself:\n{_errors(stderr_file)}")
            acknowledged.read(line)
            seen += line.startswith("saved ")
        immediate_kills += kill_after == 0
        if kill_after:
            # Not a wait for anything: the kill lands at a random moment of the next write (one takes a
            # few milliseconds), sometimes before it commits, sometimes during, sometimes after.
            time.sleep(choose.uniform(0, 0.02))
        before = acknowledged.writes
        for line in _kill(writer).splitlines():
            acknowledged.read(line)  # saved before the kill landed, but not yet read
        during_delay += acknowledged.writes - before

        problems = _problems(db_path, acknowledged)
        assert problems == [], f"after run {run}: {problems}"
        with hold_database_lock(db_path):  # the system released the killed writer's hold
            pass

    with sqlite3.connect(db_path) as connection:
        loans_in_database = connection.execute("SELECT count(*) FROM loans").fetchone()[0]
    assert acknowledged.writes >= 300 and len(acknowledged.issued) >= 100
    with capsys.disabled():
        print(
            f"\ncrash test: {RUNS} writer processes killed ({immediate_kills} as they started), "
            f"{acknowledged.writes} writes acknowledged ({len(acknowledged.issued)} issues, "
            f"{len(acknowledged.returned)} returns), {loans_in_database} loans in the database "
            f"({loans_in_database - len(acknowledged.issued)} saved but killed before they were reported; "
            f"{during_delay} writes finished between the last one read and the kill); "
            "0 acknowledged writes lost, 0 half-written; integrity and foreign-key checks passed after "
            "every kill"
        )


# A backup cut short


def _fill(database: Database) -> None:
    """About 4 MiB of data, so a backup takes many steps."""
    with database.write() as session:
        session.add_all(
            SettingRow(key=f"note-{number}", value=f"{number:06d}" * 300) for number in range(2000)
        )


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_backup_killed_half_way_leaves_the_database_and_earlier_backups_intact(
    database: Database, db_path: Path, tmp_path: Path, clock: FakeClock, stderr_file: IO[str]
) -> None:
    _fill(database)
    backups = BackupService(ServiceContext(db=database, desk=Desk(setup_staff("Admin")), clock=clock))
    folder = tmp_path / "backups"
    earlier = backups.backup_now(folder)
    earlier_digest = _digest(earlier.path)
    live_before = _digest_of_contents(db_path)
    clock.now += timedelta(days=1)
    cut_short = folder / backup_name(clock.now)

    writer = _writer("backup", str(db_path), str(cut_short), "64", "wait", stderr=stderr_file)
    assert writer.stdout is not None
    first = writer.stdout.readline()
    assert first.startswith("copied 64 of "), _errors(stderr_file)
    # Killed while its copy is half written: the copy is there, under its temporary name only.
    assert (folder / (cut_short.name + ".partial")).exists()
    _kill(writer)

    assert not cut_short.exists()
    assert list_backups(folder) == [earlier]
    assert _digest(earlier.path) == earlier_digest
    assert validate_backup(database, earlier.path).revision
    assert _digest_of_contents(db_path) == live_before
    # The next backup is made as usual, and clears away the unfinished copy.
    clock.now += timedelta(hours=1)
    later = backups.backup_now(folder)
    assert sorted(path.name for path in folder.iterdir()) == sorted([earlier.path.name, later.path.name])


def test_backups_killed_at_random_steps_are_whole_or_absent(
    database: Database, db_path: Path, tmp_path: Path, stderr_file: IO[str]
) -> None:
    """Each run writes the same backup file as the last, which was perhaps killed and left its unfinished
    copy and that copy's journal behind: a new backup must never be mixed with them."""
    _fill(database)
    live = _digest_of_contents(db_path)
    target = tmp_path / "backup.db"
    choose = random.Random(SEED)
    finished = 0
    for run in range(8):
        writer = _writer("backup", str(db_path), str(target), "32", "go on", stderr=stderr_file)
        assert writer.stdout is not None
        for _ in range(choose.randint(1, 40) if run < 7 else 1000):  # the last run is left to finish
            line = writer.stdout.readline()
            finished += line == "backed up\n"
            if not line:
                break  # finished before the kill
        _kill_or_finish(writer)
        if target.exists():  # from this run or an earlier one: whole either way
            assert validate_backup(database, target).revision
            assert _digest_of_contents(target) == live
    assert finished >= 1, _errors(stderr_file)
    assert _digest_of_contents(db_path) == live


def _kill_or_finish(process: subprocess.Popen[str]) -> None:
    process.kill()  # a process that has already ended is not an error
    process.communicate(timeout=60)


def _digest_of_contents(db_path: Path) -> str:
    """The live database's rows, whatever state its WAL is in."""
    with sqlite3.connect(db_path) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        rows = connection.execute("SELECT key, value FROM settings ORDER BY key").fetchall()
    return hashlib.sha256(repr(rows).encode()).hexdigest()
