"""Issue 7's figures: setting up a venue copy from the server, and syncing a venue's day.

    python -m bench.sync --server postgresql://host/postgres [--devices 5000] [--residents 50000]
                         [--changes 500] [--keep DIR]

Builds a borough database with `demo-data` (in bulk, 24 months of loans) in a SQLite file, loads it
into a new database on the PostgreSQL server given (`--server` names a database there that may create
databases, e.g. `postgres`; `scripts/postgres.sh` starts a local one), then times:
- setting up a venue copy (every shared row, from one snapshot of the server, into a new SQLite file);
- a venue's day: `--changes` desk transactions on the copy, offline (issues, returns with wipes,
  residents registered and changed), then the sync that sends them and receives what changed;
- a second sync with nothing to do.
Targets (issue 7): the venue copy under 30 s; the sync of a 500-change day under 5 s.
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url

from bench.__main__ import row


def build_server(folder: Path, admin_url: str, devices: int, residents: int) -> str:
    """A new server database holding the demo borough; its URL."""
    from digiknow_desk.app import main as cli
    from digiknow_desk.storage.database import Database
    from digiknow_desk.storage.migrate import upgrade_to_head
    from digiknow_desk.storage.models import Base

    source_path = folder / "borough.db"
    if not source_path.exists():
        start = time.perf_counter()
        arguments = ["demo-data", "--devices", str(devices), "--residents", str(residents), "--months", "24"]
        if cli(["digiknow-desk", "--db", str(source_path), *arguments]) != 0:
            raise SystemExit("building the demo borough failed")
        row(f"demo borough, {residents:,} residents (SQLite)", f"{time.perf_counter() - start:.1f} s")
    name = f"digiknow_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f"CREATE DATABASE {name}"))
    admin.dispose()
    url = admin.url.set(database=name).render_as_string(hide_password=False)
    start = time.perf_counter()
    server = Database(url)
    upgrade_to_head(server)
    # COPY, straight from the file: PostgreSQL reads SQLite's text for UUIDs, UTC times and 0/1 flags.
    source = sqlite3.connect(f"file:{source_path}?mode=ro", uri=True)
    raw = server.writer.raw_connection()
    try:
        connection: Any = raw.driver_connection
        connection.execute("SET TIME ZONE 'UTC'")
        for table in Base.metadata.sorted_tables:
            if table.name == "alembic_version" or table.name.startswith("sync_"):
                continue  # the server's own: its schema version and sync bookkeeping stay as made
            names = ", ".join(column.name for column in table.columns)
            connection.execute(f"DELETE FROM {table.name}")
            with connection.cursor().copy(f"COPY {table.name} ({names}) FROM STDIN") as copy:
                for values in source.execute(f"SELECT {names} FROM {table.name}"):
                    copy.write_row(values)
        connection.execute("DELETE FROM sync_feed")  # the load is the starting point, not a change
        last_entry = "(SELECT max(id) FROM audit_entries)"
        connection.execute(f"SELECT setval(pg_get_serial_sequence('audit_entries', 'id'), {last_entry})")
        connection.commit()
    finally:
        raw.close()
        source.close()
    server.dispose()
    row("loaded into the server (PostgreSQL)", f"{time.perf_counter() - start:.1f} s")
    return url


def venue_day(copy_path: Path, changes: int) -> dict[str, int]:
    """`changes` desk transactions on the venue copy, as a busy day would have them."""
    from digiknow_desk.app import build_services
    from digiknow_desk.domain.errors import DomainError
    from digiknow_desk.domain.loans import WipeChecklist, WipeMethod
    from digiknow_desk.domain.residents import ResidentDraft
    from digiknow_desk.domain.staff import setup_staff
    from digiknow_desk.storage.database import Database
    from digiknow_desk.storage.models import DeviceRow, LoanRow, ResidentRow

    checks = WipeChecklist(
        accounts_signed_out=True, reset_done=True, apps_restored=True, charger_present=True
    )
    database = Database("sqlite:///" + copy_path.as_posix())
    services = build_services(database, staff=setup_staff("Benchmark desk"))
    rng = random.Random(7)
    with database.read() as session:
        available = list(session.scalars(select(DeviceRow.tag).where(DeviceRow.status == "available")))
        lent = list(
            session.scalars(
                select(DeviceRow.tag)
                .join(LoanRow, LoanRow.device_id == DeviceRow.id)
                .where(LoanRow.closed_at.is_(None))
            )
        )
        references = list(
            session.scalars(
                select(ResidentRow.reference).where(ResidentRow.anonymised_at.is_(None)).limit(2000)
            )
        )
    done = {"issued": 0, "returned and wiped": 0, "registered": 0, "changed": 0, "refused": 0}
    made = 0
    while made < changes:
        pick = rng.random()
        try:
            if pick < 0.3 and available:
                services.lending.issue(available.pop(), rng.choice(references))
                done["issued"] += 1
            elif pick < 0.55 and lent:
                tag = lent.pop()
                services.lending.return_device(tag)
                services.lending.record_wipe(tag, WipeMethod.FACTORY_RESET, checks)
                done["returned and wiped"] += 1
                made += 1  # two transactions
            elif pick < 0.75:
                resident = services.residents.add(
                    ResidentDraft(name=f"Visitor {made}", phone=f"0161 555 {made:04d}"),
                    duplicate_checked=True,
                )
                references.append(resident.reference)
                done["registered"] += 1
            else:
                reference = rng.choice(references)
                resident = services.residents.get(reference)
                services.residents.update(
                    reference,
                    ResidentDraft(name=resident.name, phone=f"07700 9{made:05d}", postcode=resident.postcode),
                )
                done["changed"] += 1
        except DomainError:
            done["refused"] += 1  # e.g. a device held for someone on the waiting list
            continue
        made += 1
    database.dispose()
    return done


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.sync", description=__doc__.splitlines()[0])
    parser.add_argument("--server", required=True, help="a PostgreSQL database that may create databases")
    parser.add_argument("--devices", type=int, default=5000)
    parser.add_argument("--residents", type=int, default=50000)
    parser.add_argument("--changes", type=int, default=500)
    parser.add_argument("--keep", type=Path, help="keep the SQLite demo borough in this folder")
    arguments = parser.parse_args()

    from digiknow_desk.app import build_services
    from digiknow_desk.config import database_url
    from digiknow_desk.domain.staff import setup_staff
    from digiknow_desk.storage.database import Database

    with tempfile.TemporaryDirectory() as scratch:
        folder = arguments.keep or Path(scratch)
        folder.mkdir(parents=True, exist_ok=True)
        url = build_server(folder, database_url(arguments.server), arguments.devices, arguments.residents)
        server_db = Database(url)
        server = build_services(server_db, staff=setup_staff("Benchmark coordinator"))
        venue = server.venues.venues()[0].name
        copy_path = Path(scratch) / "venue.db"
        start = time.perf_counter()
        made = server.sync.set_up_venue_copy(venue, copy_path, server_url=url)
        row(
            "venue copy set up",
            f"{time.perf_counter() - start:.1f} s",
            "",
            f"{made.residents:,} residents, {made.devices:,} devices, {made.rows:,} rows, "
            f"{copy_path.stat().st_size / 1e6:.0f} MB (target 30 s)",
        )
        start = time.perf_counter()
        day = venue_day(copy_path, arguments.changes)
        row(
            f"a venue day of {arguments.changes} changes, offline",
            f"{time.perf_counter() - start:.1f} s",
            "",
            str(day),
        )
        laptop = build_services(
            Database("sqlite:///" + copy_path.as_posix()), staff=setup_staff("Benchmark desk")
        )
        start = time.perf_counter()
        synced = laptop.sync.sync()
        row(
            "sync of the day",
            f"{time.perf_counter() - start:.2f} s",
            "",
            f"sent {synced.sent}, conflicts {synced.conflicts}, received {synced.received} rows (target 5 s)",
        )
        start = time.perf_counter()
        again = laptop.sync.sync()
        row("sync again, nothing to do", f"{time.perf_counter() - start:.2f} s", "", f"sent {again.sent}")
        laptop.database.dispose()
        server_db.dispose()
        admin = create_engine(database_url(arguments.server), isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f"DROP DATABASE {make_url(url).database} WITH (FORCE)"))
        admin.dispose()


if __name__ == "__main__":
    main()
