"""The process the crash test kills: a desk lending and taking back devices, or a backup being made.

python -m tests.e2e.crash_writer loans DB SEED LIMIT
    holds the database as the app does, sets up devices and residents if they are missing, then
    issues, returns and wipes devices at random, printing "saved <action> <loan id> <tag>" once
    each service call has returned, that is once the change is committed; LIMIT writes at most.
python -m tests.e2e.crash_writer backup DB BACKUP-FILE PAGES-PER-STEP WAIT
    backs the database up, printing "copied <pages> of <total>" after each step; with WAIT "wait"
    it then stops, mid-copy, until its standard input closes.
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

from digiknow_desk.app import Services, build_services
from digiknow_desk.domain.devices import DeviceDraft, DeviceStatus, DeviceType
from digiknow_desk.domain.loans import WipeChecklist, WipeMethod
from digiknow_desk.domain.residents import ResidentDraft
from digiknow_desk.domain.staff import setup_staff
from digiknow_desk.storage.backup import backup_to
from digiknow_desk.storage.checks import hold_database_lock
from digiknow_desk.storage.database import Database

TAGS = [f"TAB-{number:04d}" for number in range(1, 9)]
KIT = ("Charger", "Cable", "Case")
RESIDENTS = 5
ALL_TICKED = WipeChecklist(
    accounts_signed_out=True, reset_done=True, apps_restored=True, charger_present=True
)


def desk(database: Database) -> Services:
    """The writer's services: the one call to build_services here."""
    return build_services(database, staff=setup_staff("Crash"))


def set_up(services: Services) -> list[str]:
    """The devices and residents to lend to, added by whichever run gets there first; each add is its
    own transaction, so a run killed half way leaves the rest for the next."""
    if services.inventory.find(TAGS[0]) is None:
        services.inventory.add_many(
            [DeviceDraft(tag=tag, device_type=DeviceType.TABLET, kit=KIT) for tag in TAGS]
        )
    references = [resident.reference for resident in services.residents.search("", limit=100)]
    for number in range(len(references), RESIDENTS):
        draft = ResidentDraft(name=f"Resident {number}", phone=f"0161 474 {4000 + number}")
        references.append(services.residents.add(draft, duplicate_checked=True).reference)
    return references


def lend(database_path: Path, seed: int, limit: int) -> None:
    with hold_database_lock(database_path):
        database = Database("sqlite:///" + database_path.as_posix())
        services = desk(database)
        references = set_up(services)
        choose = random.Random(seed)
        print("ready", flush=True)
        for _ in range(limit):
            tag = choose.choice(TAGS)
            status = services.inventory.get(tag).status
            if status == DeviceStatus.AVAILABLE:
                loan = services.lending.issue(tag, choose.choice(references))
                print(f"saved issue {loan.id.hex} {tag}", flush=True)
            elif status == DeviceStatus.ON_LOAN:
                loan = services.lending.return_device(tag)
                print(f"saved return {loan.id.hex} {tag}", flush=True)
            else:
                services.lending.record_wipe(tag, WipeMethod.FACTORY_RESET, ALL_TICKED)
                print(f"saved wipe - {tag}", flush=True)
        database.dispose()


def back_up(database_path: Path, backup_path: Path, pages_per_step: int, wait: bool) -> None:
    database = Database("sqlite:///" + database_path.as_posix())

    def progress(done: int, total: int) -> None:
        print(f"copied {done} of {total}", flush=True)
        if wait:
            sys.stdin.readline()  # until killed (or the test goes away and closes it)

    backup_to(database, backup_path, progress, pages_per_step=pages_per_step)
    print("backed up", flush=True)
    database.dispose()


def main(argv: list[str]) -> None:
    if argv[0] == "loans":
        lend(Path(argv[1]), int(argv[2]), int(argv[3]))
    elif argv[0] == "backup":
        back_up(Path(argv[1]), Path(argv[2]), int(argv[3]), argv[4] == "wait")
    else:
        raise SystemExit(f"unknown mode {argv[0]!r}: loans or backup")


if __name__ == "__main__":
    main(sys.argv[1:])
