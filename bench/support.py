"""Issue 4's figures: Digital Champions' sessions and residents' inclusion statuses at borough scale.

    python -m bench.support --sessions 1000000 [--residents 50000] [--repeat 20] [--keep DIR]

Builds a database with exactly that many sessions through demo-data's bulk history (residents with
loans over 120 months, champions, sessions, skills checks and the inclusion statuses they lead to), then
prints medians beside raw sqlite3 baselines. Targets (issue 4): logging a session under 10 ms in the
service layer; a month's sessions list (a page plus the count) under 50 ms; recomputing every
resident's inclusion status under 2 s.
"""

from __future__ import annotations

import argparse
import os
import random
import sqlite3
import statistics
import tempfile
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path
from typing import TYPE_CHECKING

from bench.__main__ import median_ms, row

if TYPE_CHECKING:
    from digiknow_desk.app import Services

MONTHS = 120


def build(db_path: Path, residents: int, devices: int, sessions: int) -> None:
    """The benchmark's database, made once: a kept folder's database is timed again as it is."""
    from digiknow_desk.app import open_services
    from digiknow_desk.config import load_config
    from digiknow_desk.domain.staff import setup_staff

    services = open_services(load_config(str(db_path)), create=True)

    services.desk.staff = setup_staff("Benchmark")
    start = time.perf_counter()
    summary = services.demo.fill(
        devices=devices, residents=residents, months=MONTHS, sessions=sessions, seed=7
    )
    row(
        f"build {sessions:,} sessions, {residents:,} residents (bulk)",
        f"{time.perf_counter() - start:.1f} s",
        "",
        f"{summary.loans_added:,} loans, {summary.skills_checks_added:,} skills checks, "
        f"{summary.champions_added} champions",
    )
    services.database.dispose()


def support_timings(folder: Path, sessions: int, residents: int, repeat: int) -> None:
    """Issue 4's figures on a database with `sessions` sessions, built in `folder` unless it is there."""
    from digiknow_desk.app import open_services
    from digiknow_desk.config import load_config
    from digiknow_desk.domain.staff import setup_staff

    db_path = folder / "support.db"
    if not db_path.exists():
        build(db_path, residents, max(1000, residents // 5), sessions)
    services = open_services(load_config(str(db_path)), create=False)
    services.desk.staff = setup_staff("Benchmark")
    raw = sqlite3.connect(db_path)
    raw.execute("PRAGMA synchronous=FULL")  # as the app writes
    counts = raw.execute(
        "SELECT (SELECT count(*) FROM sessions), (SELECT count(*) FROM session_attendees), "
        "(SELECT count(*) FROM skills_checks), (SELECT count(*) FROM residents), "
        "(SELECT count(*) FROM residents WHERE inclusion_status IN ('included', 'independent')), "
        "(SELECT count(*) FROM inclusion_changes)"
    ).fetchone()
    row(
        "in the database",
        f"{counts[0]:,}",
        "",
        f"sessions; {counts[1]:,} attendees, {counts[2]:,} skills checks, {counts[3]:,} residents "
        f"({counts[4]:,} included), {counts[5]:,} status changes",
    )
    month_list_timings(services, raw, repeat)
    recompute_timings(services, raw)
    log_timings(services, raw, repeat)
    raw.close()
    services.database.dispose()


def month_list_timings(services: Services, raw: sqlite3.Connection, repeat: int) -> None:
    """The Sessions screen's list for last month (the history's last full month): a page and the count,
    for everyone, for one champion and for one venue, beside the same filters in plain SQL."""
    from digiknow_desk.domain.sessions import SessionFilter, month_bounds
    from digiknow_desk.services.sessions import PAGE_SIZE

    first, following = month_bounds(date.today().replace(day=1) - timedelta(days=1))
    champion = services.champions.champions(active_only=True)[0]
    venue_id = champion.venues[0][0]
    month = (first.isoformat(), following.isoformat())
    for label, session_filter, condition, arguments in (
        (f"{first:%b %Y}", SessionFilter(month=first), "", month),
        (
            f"{first:%b %Y}, a champion",
            SessionFilter(month=first, champion_id=champion.id),
            "AND s.id IN (SELECT session_id FROM session_champions "
            "WHERE champion_id = ? AND held_on >= ? AND held_on < ?)",
            (*month, champion.id.hex, *month),
        ),
        (
            f"{first:%b %Y}, a venue",
            SessionFilter(month=first, venue_id=venue_id),
            "AND s.venue_id = ?",
            (*month, venue_id.hex),
        ),
    ):
        page = median_ms(lambda f=session_filter: services.sessions.sessions(f), repeat)
        count = median_ms(lambda f=session_filter: services.sessions.count(f), repeat)
        where = f"WHERE s.held_on >= ? AND s.held_on < ? {condition}"
        plain = median_ms(
            lambda w=where, a=arguments: (
                raw.execute(
                    f"SELECT s.*, v.name FROM sessions s LEFT JOIN venues v ON v.id = s.venue_id {w} "
                    f"ORDER BY s.held_on DESC, s.starts_at DESC, s.id LIMIT {PAGE_SIZE}",
                    a,
                ).fetchall()
                + raw.execute(f"SELECT count(*) FROM sessions s {w}", a).fetchall()
            ),
            repeat,
        )
        row(
            f"sessions {label} (page + count)",
            f"{page:.2f}+{count:.2f} ms",
            f"{plain:.2f} ms",
            f"raw sqlite3: session rows only; {services.sessions.count(session_filter):,} match",
        )


def log_timings(services: Services, raw: sqlite3.Connection, repeat: int) -> None:
    """Log one-to-one sessions from yesterday for residents chosen at random, one transaction each,
    beside the same rows inserted and committed with sqlite3."""
    from digiknow_desk.domain.sessions import CommonTask, SessionDraft, SessionKind
    from digiknow_desk.domain.skills import SkillArea

    champion = services.champions.champions(active_only=True)[0]
    venue_id = champion.venues[0][0]
    agreed = [  # only residents who agreed to have their support recorded can be in a session
        reference
        for (reference,) in raw.execute(
            "SELECT reference FROM residents r JOIN resident_consents c ON c.resident_id = r.id "
            "WHERE c.purpose = 'support' ORDER BY reference"
        )
    ]
    references = random.Random(4).sample(agreed, repeat * 2)
    yesterday = date.today() - timedelta(days=1)
    times = []
    for reference in references[:repeat]:
        draft = SessionDraft(
            held_on=yesterday,
            starts_at=clock_time(10, 30),
            minutes=45,
            kind=SessionKind.ONE_TO_ONE,
            venue_id=venue_id,
            champion_ids=(champion.id,),
            resident_references=(reference,),
            topics=frozenset({SkillArea.COMMUNICATING, CommonTask.VIDEO_CALLS}),
            outcome="Made a video call to family",
        )
        start = time.perf_counter()
        services.sessions.log(draft)
        times.append(time.perf_counter() - start)
    plain = []
    for reference in references[repeat:]:
        session_id = uuid.uuid4().hex
        start = time.perf_counter()
        resident = raw.execute(
            "SELECT id, age_band, ward_code FROM residents WHERE reference = ?", (reference,)
        ).fetchone()
        raw.execute(
            "INSERT INTO sessions (id, held_on, starts_at, minutes, kind, venue_id, outcome, follow_up, "
            "logged_by, logged_at) VALUES (?, ?, '10:30:00.000000', 45, 'one_to_one', ?, "
            "'Made a video call to family', '', 'bench', ?)",
            (session_id, yesterday.isoformat(), venue_id.hex, f"{datetime.now(UTC):%Y-%m-%d %H:%M:%S.%f}"),
        )
        raw.execute(
            "INSERT INTO session_champions (session_id, champion_id, held_on, starts_at, minutes) "
            "VALUES (?, ?, ?, '10:30:00.000000', 45)",
            (session_id, champion.id.hex, yesterday.isoformat()),
        )
        raw.execute(
            "INSERT INTO session_attendees (id, session_id, resident_id, age_band, ward_code, held_on) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (uuid.uuid4().hex, session_id, *resident, yesterday.isoformat()),
        )
        raw.executemany(
            "INSERT INTO session_topics (session_id, topic, held_on) VALUES (?, ?, ?)",
            [(session_id, topic, yesterday.isoformat()) for topic in ("communicating", "video_calls")],
        )
        raw.commit()
        plain.append(time.perf_counter() - start)
    row(
        "log a one-to-one session (one transaction)",
        f"{statistics.median(times) * 1000:.1f} ms",
        f"{statistics.median(plain) * 1000:.1f} ms",
        "raw sqlite3: the same rows, no status update",
    )


# What the rule needs to know of every resident, in one query: whether they were supported, their
# latest skills check (its Foundation level and areas done alone), and the latest answer about their own
# access when a loan closed.
RESIDENT_FACTS = """
SELECT r.id, r.inclusion_status,
  c.id IS NOT NULL OR EXISTS (SELECT 1 FROM loans l WHERE l.resident_id = r.id)
    OR EXISTS (SELECT 1 FROM session_attendees a WHERE a.resident_id = r.id),
  c.checked_on, c.recorded_at, c.own_device, c.own_connection, c.foundation, c.areas_alone,
  answer.closed_at, answer.own_device_after, answer.own_connection_after
FROM residents r
LEFT JOIN skills_checks c ON c.id = (
  SELECT id FROM skills_checks WHERE resident_id = r.id ORDER BY checked_on DESC, recorded_at DESC LIMIT 1)
LEFT JOIN loans answer ON answer.id = (
  SELECT id FROM loans WHERE resident_id = r.id AND closed_at IS NOT NULL AND own_device_after IS NOT NULL
  ORDER BY closed_at DESC LIMIT 1)
"""  # fmt: skip


def recompute_timings(services: Services, raw: sqlite3.Connection) -> None:
    """Every resident's inclusion status worked out again, beside reading what the rule needs of every
    resident in one query."""
    changed = services.inclusion.recompute_all()
    ours = median_ms(services.inclusion.recompute_all, 5)
    plain = median_ms(lambda: raw.execute(RESIDENT_FACTS).fetchall(), 5)
    row(
        "recompute every resident's status",
        f"{ours / 1000:.2f} s",
        f"{plain / 1000:.2f} s",
        f"raw sqlite3: every resident's facts in one query; {changed} changed on the first run",
    )


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.support", description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=1_000_000)
    parser.add_argument("--residents", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--keep", type=Path, help="build the database in this folder and keep it")
    args = parser.parse_args()
    folder = args.keep or Path(tempfile.mkdtemp(prefix="digiknow-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    os.environ["DIGIKNOW_DATA_DIR"] = str(folder / "data")
    print(
        f"DigiKnow Desk support benchmark: {args.sessions:,} sessions, {args.residents:,} residents, "
        f"medians of {args.repeat} runs, {os.cpu_count()} cores"
    )
    row("what", "ours", "baseline", "")
    support_timings(folder, args.sessions, args.residents, args.repeat)


if __name__ == "__main__":
    main()
