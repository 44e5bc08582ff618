"""The one place that wires the app: arguments, config, database, migrations, services, then CLI or GUI."""

from __future__ import annotations

import getpass
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from digiknow_desk.config import Config, load_config
from digiknow_desk.domain.errors import DomainError, NotFound
from digiknow_desk.domain.staff import StaffMember, setup_staff
from digiknow_desk.services.accounts import AccountService
from digiknow_desk.services.audit import AuditService
from digiknow_desk.services.backups import BackupService
from digiknow_desk.services.champions import ChampionService
from digiknow_desk.services.context import Desk, ServiceContext, system_clock
from digiknow_desk.services.data_protection import ANONYMISED_NAME, DataProtectionService, RetentionRun
from digiknow_desk.services.demo import DemoDataService
from digiknow_desk.services.device_csv import DeviceCsvService
from digiknow_desk.services.documents import DocumentService
from digiknow_desk.services.inclusion import InclusionService
from digiknow_desk.services.inventory import InventoryService
from digiknow_desk.services.labels import LabelService
from digiknow_desk.services.lending import LendingService
from digiknow_desk.services.postcodes import PostcodeService
from digiknow_desk.services.reports import ReportService
from digiknow_desk.services.residents import ResidentService
from digiknow_desk.services.sessions import SessionService
from digiknow_desk.services.skills import SkillsService
from digiknow_desk.services.sync import SyncService, forget_in_conflicts, prune_feed
from digiknow_desk.services.venues import VenueService
from digiknow_desk.services.wards import WardService
from digiknow_desk.storage.backup import Backup, backup_before_upgrade
from digiknow_desk.storage.checks import DatabaseLock, network_share_problem
from digiknow_desk.storage.database import Database
from digiknow_desk.storage.encryption import check_new_passphrase
from digiknow_desk.storage.migrate import HEAD_REVISION, NewerDatabaseError, current_revision, upgrade_to_head


@dataclass(frozen=True)
class Services:
    """Every service the CLI and the GUI call, sharing one database."""

    database: Database
    clock: Callable[[], datetime]
    desk: Desk
    accounts: AccountService
    audit: AuditService
    backups: BackupService
    data_protection: DataProtectionService
    inventory: InventoryService
    venues: VenueService
    wards: WardService
    reports: ReportService
    postcodes: PostcodeService
    labels: LabelService
    residents: ResidentService
    lending: LendingService
    champions: ChampionService
    sessions: SessionService
    skills: SkillsService
    inclusion: InclusionService
    documents: DocumentService
    device_csv: DeviceCsvService
    demo: DemoDataService
    sync: SyncService


def build_services(
    database: Database, staff: StaffMember | None, clock: Callable[[], datetime] = system_clock
) -> Services:
    """The services on `database`, with `staff` signed in (None: no one yet, the GUI asks)."""
    desk = Desk(staff)
    context = ServiceContext(db=database, desk=desk, clock=clock)
    inventory = InventoryService(context)
    venues = VenueService(context)
    residents = ResidentService(context)
    lending = LendingService(context)
    return Services(
        database=database,
        clock=clock,
        desk=desk,
        accounts=AccountService(context),
        audit=AuditService(context),
        backups=BackupService(context),
        data_protection=DataProtectionService(context, erasure_steps=ERASURE_STEPS),
        inventory=inventory,
        venues=venues,
        wards=WardService(context),
        reports=ReportService(context),
        postcodes=PostcodeService(context, venues),
        labels=LabelService(context, inventory),
        residents=residents,
        lending=lending,
        champions=ChampionService(context),
        sessions=SessionService(context),
        skills=SkillsService(context),
        inclusion=InclusionService(context),
        documents=DocumentService(context, residents, lending),
        device_csv=DeviceCsvService(context, inventory, venues),
        demo=DemoDataService(context, inventory, venues),
        sync=SyncService(context),
    )


def computer_user() -> str:
    """The operating-system account name: who is recorded as acting before any staff account exists."""
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return "staff"


# What erasure and retention reach beyond the records data_protection knows: the conflicts venue sync keeps.
ERASURE_STEPS = (forget_in_conflicts,)
_DB_HINT = "Use a SQLite file path (e.g. C:\\DigiKnow\\desk.db) or a URL such as postgresql://host/digiknow."


def open_database(config: Config, *, create: bool) -> Database:
    """Open the configured database and bring its schema up to date.

    A SQLite file that does not exist yet is made only when `create` is true (first start, `init`,
    `demo-data`); other commands refuse, so a mistyped path never yields an empty database.
    """
    try:
        url = make_url(config.db_url)
    except ArgumentError as error:
        raise DomainError(f"That is not a database path or URL. {_DB_HINT}") from error
    lock = None
    if url.get_backend_name() == "sqlite":
        if not url.database or url.database == ":memory:":
            raise DomainError(f"DigiKnow Desk keeps its data in a file: give --db a file path. {_DB_HINT}")
        path = Path(url.database)
        if not path.exists():
            if not create:
                raise DomainError(
                    f"There is no database at {path}. Run 'digiknow-desk init' first, or check --db."
                )
            if path.parent == config.data_dir:
                path.parent.mkdir(parents=True, exist_ok=True)
            elif not path.parent.is_dir():
                raise DomainError(
                    f"The folder {path.parent} does not exist; create it or choose another --db."
                )
            if config.passphrase is not None:
                check_new_passphrase(config.passphrase)
        if problem := network_share_problem(path):
            raise DomainError(problem)
        lock = DatabaseLock(path)
        lock.acquire()
    try:
        database = Database(config.db_url, passphrase=config.passphrase)
    except (ImportError, SQLAlchemyError) as error:
        if lock is not None:
            lock.release()
        shown = url.render_as_string(hide_password=True)
        raise DomainError(f"DigiKnow Desk cannot use the database '{shown}': {error}. {_DB_HINT}") from error
    except DomainError:
        if lock is not None:
            lock.release()
        raise
    database.file_lock = lock
    try:
        if database.is_sqlite and current_revision(database) not in (None, HEAD_REVISION):
            if config.backup_dir_override is None:
                config.backup_dir.mkdir(parents=True, exist_ok=True)  # ours, in the app's data folder
            # Never an upgrade without a copy of the data as it was (BackupFailed refuses to go on).
            backup_before_upgrade(database, config.backup_dir)
        upgrade_to_head(database)
        upgrade = ServiceContext(db=database, desk=Desk(setup_staff("DigiKnow Desk upgrade")))
        InclusionService(upgrade).recompute_if_pending()
    except (NewerDatabaseError, DomainError) as error:
        database.dispose()
        raise DomainError(str(error)) from error
    except SQLAlchemyError as error:
        database.dispose()
        reason = getattr(error, "orig", None) or error
        raise DomainError(
            f"Could not open the database {database.display_name}: {reason}. "
            "Check the path or server address, that it is a DigiKnow Desk database, "
            "and that you may write there."
        ) from error
    return database


@dataclass(frozen=True)
class DutiesDone:
    """What the app's own scheduled work did: a backup when one was due, and the retention run."""

    backup: Backup | None
    retention: RetentionRun | None  # None on a venue copy


BACKUP_EVERY = timedelta(days=1)


def run_duties(
    database: Database, config: Config, clock: Callable[[], datetime] = system_clock
) -> DutiesDone:
    """The app's own daily duties, whoever is signed in (they are not staff choices): a backup into the
    backup folder when the last is a day old (a file), or pruning the sync feed (a server); and
    retention. Run at start-up and every hour by the GUI (in the background), or from a scheduled task
    with `retention run` and `backup`."""
    duties = ServiceContext(db=database, desk=Desk(setup_staff("DigiKnow Desk (scheduled)")), clock=clock)
    backup = None
    if database.is_sqlite:
        if config.backup_dir_override is None:
            config.backup_dir.mkdir(parents=True, exist_ok=True)  # ours, in the app's data folder
        backup = BackupService(duties).backup_if_due(config.backup_dir, BACKUP_EVERY)
    else:
        prune_feed(database, clock())
    # A venue copy receives the server's retention by sync; running it here would only clash with it.
    retention = (
        None
        if database.is_venue_copy
        else DataProtectionService(duties, erasure_steps=ERASURE_STEPS).run_retention()
    )
    return DutiesDone(backup=backup, retention=retention)


@dataclass(frozen=True)
class ErasuresAfterRestore:
    erased_again: tuple[str, ...]
    still_to_erase: tuple[str, ...]  # refused for now (a device on loan again): an administrator must finish


def erase_again_after_restore(database: Database, kept: Path) -> ErasuresAfterRestore:
    """A backup made before an erasure holds the erased resident again: erase, once more, everyone the
    database as it was before the restore (`kept`) had erased. Run on the reopened database, as the app."""
    connection = database.connect_file(kept)
    try:
        erased = [
            row[0]
            for row in connection.execute(
                "SELECT DISTINCT subject FROM audit_entries WHERE action = 'resident.erased' ORDER BY subject"
            )
        ]
    finally:
        connection.close()
    protection = DataProtectionService(
        ServiceContext(db=database, desk=Desk(setup_staff("DigiKnow Desk (after a restore)"))),
        erasure_steps=ERASURE_STEPS,
    )
    again, refused = [], []
    for reference in erased:
        try:
            if protection.subject_access(reference).resident.name == ANONYMISED_NAME:
                continue
            protection.erase(reference, "Erased again: the restored backup was made before their erasure")
            again.append(reference)
        except NotFound:
            continue  # not in the backup at all
        except DomainError:
            refused.append(reference)
    return ErasuresAfterRestore(tuple(again), tuple(refused))


def open_services(config: Config, *, create: bool) -> Services:
    """Open the configured database (see open_database) and the services on it, no one signed in."""
    return build_services(open_database(config, create=create), staff=None)


def main(argv: Sequence[str]) -> int:
    """Run the command given on the command line, or the GUI when there is none."""
    from digiknow_desk import cli

    args = cli.parse(list(argv[1:]))
    config = load_config(args.db)
    if args.command is None:
        from digiknow_desk.ui.application import run_gui

        return run_gui(config, list(argv), open_services)
    try:
        return cli.execute(args, config)
    except BrokenPipeError:
        # The reader of our output went away (e.g. `| head`): stop quietly, as other tools do.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1


def console_main() -> None:
    sys.exit(main(sys.argv))
