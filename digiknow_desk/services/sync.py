"""Venue sync: a laptop's venue copy works offline on its own SQLite file and catches up with the server.

How it fits together (see storage/sync_triggers.py for the triggers):
- Setting up a venue copy registers it on the server (sync_copies), hands it a block of resident
  references, and copies the shared tables from one consistent snapshot of the server.
- On the copy, triggers write every change into the outbox in the same transaction, grouped by the
  local transaction that made it. Ids are UUIDs made on the laptop, so nothing collides.
- `sync` first sends: each local transaction is applied on the server as a whole, or not at all. A row
  the server changed meanwhile (the same resident edited in two places), or a rule the server's
  database enforces (one open loan per device), keeps the whole transaction aside as a conflict, with
  the server's rows as they were: nothing is overwritten. The server records, in the same transaction,
  up to which local transaction it has the copy's changes, so a repeated or interrupted sync never
  applies one twice; the copy then deletes what the server has.
- Then it receives: every row the server's feed says changed since the copy last looked, read from
  one snapshot, and the rows of the copy's own conflicts, which go back to the server's version. The
  copy remembers the oldest server transaction still running at that snapshot and next time reads
  the feed from there: a transaction that commits late is never skipped, and a row read twice is
  simply the same row again.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, cast

from sqlalchemy import (
    Index,
    String,
    Table,
    UniqueConstraint,
    and_,
    bindparam,
    case,
    delete,
    func,
    insert,
    literal,
    or_,
    select,
    text,
    tuple_,
    update,
)
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import CursorResult, make_url
from sqlalchemy.exc import DataError, IntegrityError, OperationalError
from sqlalchemy.orm import Session

from digiknow_desk.domain.errors import DomainError
from digiknow_desk.domain.residents import REFERENCE_PREFIX
from digiknow_desk.domain.search_terms import resident_terms
from digiknow_desk.domain.staff import Permission
from digiknow_desk.services import audit
from digiknow_desk.services.context import ServiceContext, requires
from digiknow_desk.services.data_protection import REMOVED, anonymise, clear_freed_text
from digiknow_desk.services.inclusion import update_statuses
from digiknow_desk.storage.checks import NotSaved
from digiknow_desk.storage.database import Database
from digiknow_desk.storage.encryption import check_new_passphrase
from digiknow_desk.storage.migrate import HEAD_REVISION, current_revision, upgrade_to_head
from digiknow_desk.storage.models import (
    AuditEntryRow,
    Base,
    ResidentRow,
    ResidentSearchTermRow,
    StaffAccountRow,
    SyncConflictRow,
    SyncCopyRow,
    SyncFeedRow,
    SyncOutboxRow,
    SyncRecheckRow,
    SyncStateRow,
    TagCounterRow,
    VenueRow,
)
from digiknow_desk.storage.sync_rows import Key, Row, from_json, from_outbox, key_from_json, key_of, to_json
from digiknow_desk.storage.sync_triggers import DERIVED, NOT_SHARED, SENT_UP_ONLY
from digiknow_desk.storage.venue_copy import copy_tables

# Resident references a venue copy may hand out before it syncs again; a new block comes at a sync
# once fewer than half are left.
REFERENCE_BLOCK = 1000
# How long the server keeps its change feed for a venue copy that has not synced (one that syncs keeps
# what it needs kept, however long): a copy away longer is set up afresh, after sending its changes.
FEED_KEPT_DAYS = 180
# Local transactions sent in one server transaction: an interrupted sync loses at most one batch.
SEND_BATCH = 200
# The oldest server transaction still running: what a copy has is complete up to it.
_HORIZON = "SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint"
UPDATED_AT = "updated_at"
ERASED_NOTE = " The resident's data was erased on the server, so the venue's details were discarded."
DERIVED_COLUMNS = frozenset({UPDATED_AT, "inclusion_status"})

# Parents before children: the order rows are inserted in (deletes go the other way).
_TABLES = [table for table in Base.metadata.sorted_tables if table.name not in NOT_SHARED]
_RECEIVED_TABLES = [table for table in _TABLES if table.name not in SENT_UP_ONLY]
# Columns each desk keeps for itself: an account's sign-in counters on the copy are the laptop's.
_KEPT_HERE = {"staff_accounts": ("failed_sign_ins", "locked_until", "last_signed_in_at")}
# The columns of each table under a unique rule (constraint or index) other than its key.
_UNIQUE = {
    table.name: {
        column.name
        for rule in [*table.constraints, *table.indexes]
        if isinstance(rule, UniqueConstraint) or (isinstance(rule, Index) and rule.unique)
        for column in rule.columns
    }
    for table in _RECEIVED_TABLES
}


@dataclass(frozen=True)
class SyncStatus:
    """What the copy knows of its sync: whether it is a venue copy at all, and how far behind."""

    venue_copy: bool
    venue: str
    server: str
    last_sync_at: datetime | None
    waiting: int  # local transactions not yet on the server
    references_left: int


@dataclass(frozen=True)
class SyncDone:
    sent: int  # local transactions the server now has (not counting those only of audit entries)
    conflicts: int  # of them, kept aside for a coordinator (as a new conflict, or with one they build on)
    received: int  # rows of the copy changed to match the server
    server: str


@dataclass(frozen=True)
class VenueCopyMade:
    venue: str
    path: Path
    rows: int
    residents: int
    devices: int


@dataclass(frozen=True)
class ConflictChange:
    table: str
    key: list[Any]
    op: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None


@dataclass(frozen=True)
class Conflict:
    """A venue's transaction kept aside, with the server's rows as they were when it came in."""

    id: uuid.UUID
    venue: str
    computer: str
    detected_at: datetime
    summary: str
    changes: tuple[ConflictChange, ...]
    server_rows: tuple[dict[str, Any], ...]
    resolved_at: datetime | None
    resolved_by: str
    resolution: str


class _Conflicting(Exception):
    """A change that cannot be applied as it stands; the reason is shown in the conflict."""


@dataclass
class _Change:
    txn: int
    table: Table
    key: Key
    op: str
    before: Row | None
    after: Row | None

    @property
    def key_shown(self) -> list[Any]:
        return [to_json({"k": part})["k"] for part in self.key]  # type: ignore[index]

    @property
    def substantive(self) -> bool:
        """Whether it changes more than bookkeeping and derived fields (what a later change can build on)."""
        return _substantive(self.op, self.before, self.after)

    @property
    def place(self) -> tuple[str, str]:
        """The row as conflicts name it: its table, and its key as JSON."""
        return self.table.name, json.dumps(self.key_shown)

    def shown(self) -> dict[str, Any]:
        return {
            "txn": self.txn,
            "table": self.table.name,
            "key": self.key_shown,
            "op": self.op,
            "before": to_json(self.before),
            "after": to_json(self.after),
        }


def _url_without_password(url: str) -> str:
    """What the copy keeps of the server's address to sync with next time."""
    return make_url(url).render_as_string(hide_password=True)


def open_server(url: str) -> Database:
    """The server's database, refused with what to do unless it is PostgreSQL at this app's schema."""
    try:
        parsed = make_url(url)
    except Exception as error:  # SQLAlchemy's ArgumentError, for text that is not a URL at all
        raise DomainError(
            f"'{url}' is not a server address: give one like postgresql://host/digiknow."
        ) from error
    if parsed.get_backend_name() != "postgresql":
        raise DomainError(
            "The server is a PostgreSQL database: give its address, like postgresql://host/digiknow."
        )
    server = Database(url)
    try:
        revision = current_revision(server)
    except OperationalError as error:
        server.dispose()
        raise DomainError(
            f"Could not reach the server ({server.display_name}): {_first_line(error)}. Check the network "
            "and the address; the work done here is kept and goes up at the next sync."
        ) from error
    if revision != HEAD_REVISION:
        server.dispose()
        raise DomainError(
            f"The server ({server.display_name}) has the data of DigiKnow Desk schema {revision or 'none'}, "
            f"this copy {HEAD_REVISION}: the same version of DigiKnow Desk must run on both."
        )
    return server


def _first_line(error: Exception) -> str:
    """The driver's reason, without its detail lines."""
    return str(getattr(error, "orig", None) or error).strip().splitlines()[0]


def _state(session: Session) -> SyncStateRow:
    state = session.get(SyncStateRow, 1)
    assert state is not None, "migration 0009 adds the one sync_state row"
    return state


def _rows_by_key(
    session: Session, table: Table, keys: Sequence[Key], *, lock: bool = False
) -> dict[Key, Row]:
    found: dict[Key, Row] = {}
    columns = list(table.primary_key.columns)
    for start in range(0, len(keys), 500):
        chunk = keys[start : start + 500]
        if len(columns) == 1:
            condition = columns[0].in_([key[0] for key in chunk])
        else:
            condition = tuple_(*columns).in_(chunk)
        query = select(table).where(condition)
        if lock:
            query = query.with_for_update()
        for row in session.execute(query).mappings():
            found[key_of(table, dict(row))] = dict(row)
    return found


def _where_key(table: Table, key: Key) -> Any:
    return and_(*(column == part for column, part in zip(table.primary_key.columns, key, strict=True)))


class SyncService:
    """Venue copies: setting one up from the server, syncing it, and the conflicts kept on the server."""

    def __init__(self, context: ServiceContext) -> None:
        self._context = context

    # On the venue copy

    @requires(Permission.SIGNED_IN)
    def status(self) -> SyncStatus:
        db = self._context.db
        if not db.is_venue_copy:
            return SyncStatus(False, "", "", None, 0, 0)
        with db.read() as session:
            state = _state(session)
            venue = session.get(VenueRow, state.venue_id)
            waiting = session.scalar(select(func.count(func.distinct(SyncOutboxRow.txn)))) or 0
            counter = session.get(TagCounterRow, REFERENCE_PREFIX)
            used = counter.last_number if counter is not None else 0
            return SyncStatus(
                True,
                venue.name if venue is not None else "",
                state.server,
                state.last_sync_at,
                waiting,
                max(0, state.last_reference - used),
            )

    @requires(Permission.SIGNED_IN)
    def sync(self, server_url: str | None = None) -> SyncDone:
        """Send this copy's changes to the server and bring back what changed there. Safe to repeat
        and to interrupt: nothing is applied twice and nothing is lost."""
        db = self._context.db
        if not db.is_venue_copy:
            raise DomainError(
                "This database is not a venue copy, so there is nothing to sync. Set one up with "
                "'digiknow-desk --db FILE venue setup --server URL --venue NAME'."
            )
        with db.read() as session:
            state = _state(session)
            copy_id, stored, received_to, sent_txn = (
                state.copy_id,
                state.server,
                state.received_to,
                state.sent_txn,
            )
        assert copy_id is not None, "a venue copy has its id from the set-up"
        url = server_url or stored
        if not url:
            raise DomainError("Give the server's address with --server.")
        server = open_server(url)
        try:
            sent, conflicts = self._send(server, copy_id, received_to, sent_txn)
            self._top_up_references(server, copy_id)
            received = self._receive(server, copy_id)
        except OperationalError as error:  # the network went during the sync
            raise DomainError(
                f"The connection to the server was lost during the sync ({_first_line(error)}). What the "
                "server already had is kept there, and the rest here: sync again when the network is back."
            ) from error
        except NotSaved as error:  # a write refused, here or on the server
            raise DomainError(
                f"The sync stopped part way. {error} What the server already had is kept there, and the "
                "rest here."
            ) from error
        finally:
            server.dispose()
        return SyncDone(sent, conflicts, received, server.display_name)

    @requires(Permission.SIGNED_IN)
    def latest_change(self) -> int | None:
        """A number that grows whenever any desk changes something on the server; None for a file
        (one desk per file, so nothing changes behind its back)."""
        db = self._context.db
        if db.is_sqlite:
            return None
        with db.read() as session:
            return session.scalar(select(func.max(SyncFeedRow.seq))) or 0

    def _send(self, server: Database, copy_id: uuid.UUID, received_to: int, sent_txn: int) -> tuple[int, int]:
        sent = conflicts = 0
        while True:
            with server.write() as remote:
                remote.execute(
                    text("SELECT set_config('digiknow.sync_copy', :copy, true)"), {"copy": str(copy_id)}
                )
                copy = remote.get(SyncCopyRow, copy_id, with_for_update=True)
                if copy is None:
                    raise DomainError(
                        "The server does not know this venue copy (it may have been set up from another "
                        "server). Set the laptop up again with 'venue setup'."
                    )
                if copy.received_txn > sent_txn:
                    self._check_same_file(copy)
                    sent_txn = copy.received_txn
                batch = self._outbox_after(copy.received_txn)
                kept = self._apply_batch(remote, copy, batch)
                # Statuses worked out here are changes of the server's own, which the copy receives.
                remote.execute(text("SELECT set_config('digiknow.sync_copy', '', true)"))
                # What the laptop recorded about a resident erased here meanwhile loses their details too.
                erased = _erased_residents(remote, [change for _txn, changes in batch for change in changes])
                if erased:
                    _remove_free_text(remote, batch)
                for resident in list(remote.scalars(select(ResidentRow).where(ResidentRow.id.in_(erased)))):
                    anonymise(remote, resident, self._context.now(), (forget_in_conflicts,))
                update_statuses(remote, self._context.now(), _residents_named(batch))
                if batch:
                    copy.received_txn = batch[-1][0]
                    copy.received_check = _digest(batch[-1][1])
                    venue = remote.get(VenueRow, copy.venue_id)
                    details = {"copy": str(copy.id), "transactions": len(batch), "conflicts": kept}
                    audit.record(
                        remote, self._context, "sync.received", venue.name if venue else "", details=details
                    )
                conflicts += kept
                copy.last_sync_at = self._context.now()
                copy.received_to = received_to  # what the receive after this reads the feed from
                received_txn = copy.received_txn
            self._forget_sent(received_txn)
            sent_txn = received_txn
            # The audit entries of signing in alone are not changes staff would count.
            sent += sum(
                1 for _txn, changes in batch if any(c.table.name not in SENT_UP_ONLY for c in changes)
            )
            if len(batch) < SEND_BATCH:
                return sent, conflicts

    def _check_same_file(self, copy: SyncCopyRow) -> None:
        """The server has transactions of this copy's that the copy does not know it sent: its last sync
        was cut before it heard back (they are still in the outbox, the same), or its file was put back
        from an older copy of itself (new work may then reuse their numbers, and would be lost)."""
        waiting = self._outbox_after(copy.received_txn - 1)
        if waiting and waiting[0][0] == copy.received_txn and _digest(waiting[0][1]) == copy.received_check:
            return
        raise DomainError(
            "The server has more from this laptop than its database file knows it sent: the file was put "
            "back from an older copy of itself. Nothing was sent, and nothing here was changed. Work done "
            "since it was put back cannot be told apart from what the server has: note it, set the laptop "
            "up afresh with 'venue setup', and enter it again."
        )

    def _forget_sent(self, received_txn: int) -> None:
        """Delete from the outbox what the server has (committed there already), keeping which rows
        it touched, to read them back at the receive: those of a conflict come back as the server's."""
        with self._context.db.write() as session:
            sent = SyncOutboxRow.txn <= received_txn
            rows = select(SyncOutboxRow.table_name, SyncOutboxRow.row_key).where(
                sent, SyncOutboxRow.table_name.not_in(SENT_UP_ONLY)
            )
            session.execute(
                sqlite_insert(SyncRecheckRow)
                .from_select(["table_name", "row_key"], rows.distinct())
                .on_conflict_do_nothing()
            )
            session.execute(delete(SyncOutboxRow).where(sent))
            _state(session).sent_txn = received_txn

    def _outbox_after(self, received_txn: int) -> list[tuple[int, list[_Change]]]:
        with self._context.db.read() as session:
            txns = list(
                session.scalars(
                    select(SyncOutboxRow.txn)
                    .where(SyncOutboxRow.txn > received_txn)
                    .group_by(SyncOutboxRow.txn)
                    .order_by(SyncOutboxRow.txn)
                    .limit(SEND_BATCH)
                )
            )
            if not txns:
                return []
            rows = session.scalars(
                select(SyncOutboxRow)
                .where(SyncOutboxRow.txn >= txns[0], SyncOutboxRow.txn <= txns[-1])
                .order_by(SyncOutboxRow.seq)
            )
            grouped: dict[int, list[_Change]] = defaultdict(list)
            for row in rows:
                table = Base.metadata.tables[row.table_name]
                grouped[row.txn].append(
                    _Change(
                        row.txn,
                        table,
                        key_from_json(table, row.row_key),
                        row.op,
                        from_outbox(table, row.old_row),
                        from_outbox(table, row.new_row),
                    )
                )
            return [(txn, grouped[txn]) for txn in txns]

    def _apply_batch(self, remote: Session, copy: SyncCopyRow, batch: list[tuple[int, list[_Change]]]) -> int:
        """Apply a batch of the copy's transactions, keeping those that cannot be applied as conflicts;
        how many new conflicts. The fast way first; if a rule of the server's database refuses what it
        wrote (two open loans of one device, say), the batch goes again one transaction at a time, so
        that only the transaction that broke the rule is kept aside."""
        if not batch:
            return 0
        savepoint = remote.begin_nested()
        try:
            kept = self._apply_fast(remote, copy, batch)
            savepoint.commit()
            return kept
        except (IntegrityError, DataError):
            savepoint.rollback()
        in_conflict = _open_conflicts(remote, copy.id)
        kept = 0
        for txn, changes in batch:
            earlier = _joined(in_conflict, changes, lambda c: _current(remote, c))
            reason = "it builds on a change already kept as a conflict"
            if earlier is None:
                savepoint = remote.begin_nested()
                try:
                    for change in changes:
                        _apply(remote, change)
                    savepoint.commit()
                    continue
                except _Conflicting as conflict:
                    savepoint.rollback()
                    reason = str(conflict)
                except (IntegrityError, DataError) as error:
                    savepoint.rollback()
                    reason = _rule_broken(error)
            self._keep(
                remote, copy, txn, changes, reason, earlier, in_conflict, lambda c: _current(remote, c)
            )
            kept += 1
        return kept

    def _apply_fast(self, remote: Session, copy: SyncCopyRow, batch: list[tuple[int, list[_Change]]]) -> int:
        rows = _Batch(remote, batch)
        in_conflict = _open_conflicts(remote, copy.id)
        kept = 0
        for txn, changes in batch:
            earlier = _joined(in_conflict, changes, rows.row)
            reason = "it builds on a change already kept as a conflict"
            if earlier is None:
                try:
                    rows.apply(changes)
                    continue
                except _Conflicting as conflict:
                    reason = str(conflict)
            self._keep(remote, copy, txn, changes, reason, earlier, in_conflict, rows.row)
            kept += 1
        rows.write()
        return kept

    def _keep(
        self,
        remote: Session,
        copy: SyncCopyRow,
        txn: int,
        changes: list[_Change],
        reason: str,
        earlier: SyncConflictRow | None,
        in_conflict: dict[tuple[str, str], SyncConflictRow],
        server_row: Callable[[_Change], Row | None],
    ) -> None:
        """Keep a transaction aside: as a new conflict, or added to the earlier conflict it builds on.
        A resident's details are not kept if the server has erased them."""
        erased = _erased_residents(remote, changes)
        # Nothing is kept of a transaction about a resident erased here: any of its rows (a late reason,
        # a fault, a session's notes) may tell their story.
        shown = [] if erased else [change.shown() for change in changes]
        refused = self._record_audit(remote, changes)
        if earlier is not None:
            earlier.venue_changes = json.dumps(json.loads(earlier.venue_changes) + shown)
            conflict = earlier
        else:
            server_rows = [
                {"table": change.table.name, "key": change.key_shown, "row": to_json(server_row(change))}
                for change in changes
                if change.table.name not in SENT_UP_ONLY and not erased
            ]
            summary = f"{_describe(remote, changes)}. Not applied: {reason}."
            if erased:
                summary += ERASED_NOTE
            conflict = SyncConflictRow(
                copy_id=copy.id,
                txn=txn,
                detected_at=self._context.now(),
                summary=summary,
                venue_changes=json.dumps(shown),
                server_rows=json.dumps(server_rows),
            )
            remote.add(conflict)
        if refused:
            conflict.summary += f" Its audit entries could not be stored: {refused}."
        remote.flush()
        for change in changes:
            if change.substantive and change.table.name not in SENT_UP_ONLY:
                in_conflict[change.place] = conflict

    @staticmethod
    def _record_audit(remote: Session, changes: list[_Change]) -> str:
        """Put a kept transaction's audit entries on the server's trail (what staff did at the venue
        stands, whichever version is kept); why not, if the server's database refused them."""
        done = [
            _without_id(change.after)
            for change in changes
            if change.table.name in SENT_UP_ONLY and change.after
        ]
        if not done:
            return ""
        savepoint = remote.begin_nested()
        try:
            remote.execute(insert(Base.metadata.tables["audit_entries"]), done)
            savepoint.commit()
        except (IntegrityError, DataError) as error:
            savepoint.rollback()
            return _rule_broken(error)
        return ""

    def _top_up_references(self, server: Database, copy_id: uuid.UUID) -> None:
        with self._context.db.read() as session:
            state = _state(session)
            counter = session.get(TagCounterRow, REFERENCE_PREFIX)
            left = state.last_reference - (counter.last_number if counter is not None else 0)
        if left >= REFERENCE_BLOCK // 2:
            return
        with server.write() as remote:
            first, last = _take_references(remote)
        with self._context.db.write() as session:
            _set_references(session, first, last)

    def _receive(self, server: Database, copy_id: uuid.UUID) -> int:
        db = self._context.db
        changed: dict[str, set[Key]] = defaultdict(set)
        with db.read() as session:
            received_to = _state(session).received_to
            for name, row_key in session.execute(select(SyncRecheckRow.table_name, SyncRecheckRow.row_key)):
                changed[name].add(key_from_json(Base.metadata.tables[name], row_key))
        with server.read() as remote:
            remote.connection(execution_options={"isolation_level": "REPEATABLE READ"})
            horizon = int(remote.scalar(text(_HORIZON)) or 0)
            if received_to < _state(remote).feed_from:
                raise DomainError(
                    f"This laptop last synced more than {FEED_KEPT_DAYS} days ago, and the server no longer "
                    "keeps a list of what changed since then. What was done here is on the server now; to "
                    "carry on, set the laptop up afresh with 'venue setup'."
                )
            feed = remote.execute(
                select(SyncFeedRow.table_name, SyncFeedRow.row_key)
                .where(SyncFeedRow.xid >= received_to, SyncFeedRow.origin != str(copy_id))
                .distinct()
            )
            for name, row_key in feed:
                if name in Base.metadata.tables and name not in SENT_UP_ONLY:
                    changed[name].add(key_from_json(Base.metadata.tables[name], row_key))
            rows = {
                table.name: _rows_by_key(remote, table, sorted(changed[table.name], key=repr))
                for table in _RECEIVED_TABLES
                if changed.get(table.name)
            }
        try:
            with db.write() as session:
                received = _apply_received(session, changed, rows)
                session.execute(delete(SyncRecheckRow))
                state = _state(session)
                state.received_to = horizon
                state.last_sync_at = self._context.now()
        except IntegrityError as error:  # a rule this file keeps that the server's rows break as they come
            raise DomainError(
                f"What changed on the server could not be applied here ({_rule_broken(error)}); none of it "
                "was. Sync again; if this keeps happening, set the laptop up afresh with 'venue setup' after "
                "a sync has sent its work."
            ) from error
        if received.clear_file:
            _clear_file(db)
        return received.rows

    # On the server

    @requires(Permission.CHANGE_SETTINGS)
    def set_up_venue_copy(
        self, venue_name: str, path: Path, *, server_url: str, passphrase: str | None = None
    ) -> VenueCopyMade:
        """Make a venue copy at `path` (a new SQLite file) for the venue named, from this server;
        encrypted with `passphrase` if one is given (a laptop that leaves the building should be)."""
        db = self._context.db
        if db.is_sqlite:
            raise DomainError("A venue copy is set up from the server: give --server the server's address.")
        if path.exists():
            raise DomainError(f"There is already a file at {path}. Choose a new file for the venue copy.")
        if not path.parent.is_dir():
            raise DomainError(f"The folder {path.parent} does not exist; create it or choose another file.")
        with db.write() as remote:
            if remote.scalar(select(func.count()).select_from(StaffAccountRow)) == 0:
                raise DomainError(
                    "The server has no staff accounts yet, and a venue copy signs staff in with the server's "
                    "accounts. Create the first administrator on the server first (start DigiKnow Desk on "
                    "the server's database), then set up the venue copy."
                )
            venue = remote.scalar(
                select(VenueRow).where(func.lower(VenueRow.name) == venue_name.strip().lower())
            )
            if venue is None:
                names = ", ".join(remote.scalars(select(VenueRow.name).order_by(VenueRow.name)))
                raise DomainError(
                    f"There is no venue called '{venue_name}' on the server. The venues are: {names}."
                )
            copy = SyncCopyRow(
                venue_id=venue.id,
                computer=self._context.desk.machine,
                set_up_by=self._context.actor,
                set_up_at=self._context.now(),
                received_txn=0,
            )
            remote.add(copy)
            remote.flush()
            first, last = _take_references(remote)
            audit.record(
                remote, self._context, "venue_copy.set_up", venue.name, details={"copy": str(copy.id)}
            )
            venue_id, venue_label, copy_id = venue.id, venue.name, copy.id
        if passphrase is not None:
            check_new_passphrase(passphrase)
        local = Database("sqlite:///" + path.resolve().as_posix(), passphrase=passphrase)
        try:
            upgrade_to_head(local)
            counts = _copy_everything(db, local)
            with local.write() as session:
                session.execute(text("PRAGMA defer_foreign_keys = ON"))
                _set_references(session, first, last)
                state = _state(session)
                state.copy_id = copy_id
                state.venue_id = venue_id
                state.server = _url_without_password(server_url)
                state.received_to = counts.horizon
                state.last_sync_at = self._context.now()
                state.recording = True
        except BaseException:
            local.dispose()
            for leftover in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
                leftover.unlink(missing_ok=True)
            raise
        local.dispose()
        with db.write() as remote:  # the copy needs the feed from its snapshot on
            registered = remote.get(SyncCopyRow, copy_id)
            assert registered is not None, "registered above"
            registered.received_to = counts.horizon
        return VenueCopyMade(venue_label, path, counts.rows, counts.residents, counts.devices)

    @requires(Permission.CHANGE_SETTINGS)
    def conflicts(self, *, include_resolved: bool = False) -> list[Conflict]:
        with self._context.db.read() as session:
            query = (
                select(SyncConflictRow, VenueRow.name, SyncCopyRow.computer)
                .join(SyncCopyRow, SyncCopyRow.id == SyncConflictRow.copy_id)
                .join(VenueRow, VenueRow.id == SyncCopyRow.venue_id)
                .order_by(SyncConflictRow.detected_at, SyncConflictRow.txn)
            )
            if not include_resolved:
                query = query.where(SyncConflictRow.resolved_at.is_(None))
            return [_conflict(row, venue, computer) for row, venue, computer in session.execute(query)]

    @requires(Permission.CHANGE_SETTINGS)
    def resolve(self, conflict_id: uuid.UUID, keep: str) -> Conflict:
        """Resolve a conflict: keep the server's rows as they are ("server"), or apply the venue's
        changes over them ("venue"). The venue's changes stay on record either way."""
        if keep not in ("server", "venue"):
            raise DomainError("Say which to keep: the server's version or the venue's.")
        with self._context.db.write() as session:
            row = session.get(SyncConflictRow, conflict_id, with_for_update=True)
            if row is None:
                raise DomainError("There is no such conflict. List them with 'conflicts list'.")
            if row.resolved_at is not None:
                raise DomainError(f"This conflict was already resolved by {row.resolved_by}.")
            if keep == "venue":
                changes = json.loads(row.venue_changes)
                if not changes:
                    raise DomainError(
                        "Nothing of the venue's version is kept (the resident's data was erased on the "
                        "server): keep the server's version."
                    )
                self._apply_venue_version(session, changes)
            row.resolved_at = self._context.now()
            row.resolved_by = self._context.actor
            row.resolution = keep
            audit.record(session, self._context, "conflict.resolved", str(row.id)[:8], details={"kept": keep})
            copy = session.get(SyncCopyRow, row.copy_id)
            venue = session.get(VenueRow, copy.venue_id) if copy is not None else None
            return _conflict(row, venue.name if venue else "", copy.computer if copy else "")

    def _apply_venue_version(self, session: Session, changes: list[dict[str, Any]]) -> None:
        """Apply the venue's changes over the server's rows as they are now: the fields the venue
        changed take its values, the rest stay the server's (the audit entries went in when the
        conflict was kept)."""
        savepoint = session.begin_nested()
        try:
            for shown in changes:
                table = Base.metadata.tables[shown["table"]]
                if table.name in SENT_UP_ONLY:
                    continue
                key = key_from_json(table, json.dumps(shown["key"]))
                found = (
                    session.execute(select(table).where(_where_key(table, key)).with_for_update())
                    .mappings()
                    .first()
                )
                current = dict(found) if found is not None else None
                before, after = from_json(table, shown["before"]), from_json(table, shown["after"])
                row = _venue_wins(table, shown["op"], before, after, current)
                if row is None:
                    session.execute(delete(table).where(_where_key(table, key)))
                elif current is None:
                    session.execute(insert(table).values(row))
                else:
                    session.execute(update(table).where(_where_key(table, key)).values(row))
                if table.name == "residents" and row is not None:
                    _renew_search_terms(session, [row])
            savepoint.commit()
        except (IntegrityError, DataError) as error:
            savepoint.rollback()
            raise DomainError(
                f"The venue's version cannot be applied as things are now: {_rule_broken(error)}. "
                "For a device issued twice, return the other loan first, then apply the venue's version."
            ) from error
        except DomainError:
            savepoint.rollback()
            raise


# Applying changes


def _digest(changes: list[_Change]) -> str:
    """A transaction's changes in a few bytes: the same on the copy and the server."""
    shown = json.dumps([change.shown() for change in changes], sort_keys=True)
    return hashlib.sha256(shown.encode()).hexdigest()


def _open_conflicts(remote: Session, copy_id: uuid.UUID) -> dict[tuple[str, str], SyncConflictRow]:
    """The rows this copy's unresolved conflicts change (more than bookkeeping): a later change that
    builds on the venue's version of one joins its conflict."""
    found: dict[tuple[str, str], SyncConflictRow] = {}
    query = select(SyncConflictRow).where(
        SyncConflictRow.copy_id == copy_id, SyncConflictRow.resolved_at.is_(None)
    )
    for conflict in remote.scalars(query):
        for change in json.loads(conflict.venue_changes):
            if change["table"] not in SENT_UP_ONLY and _substantive(
                change["op"], change["before"], change["after"]
            ):
                found[(change["table"], json.dumps(change["key"]))] = conflict
    return found


def _joined(
    in_conflict: dict[tuple[str, str], SyncConflictRow],
    changes: list[_Change],
    server_row: Callable[[_Change], Row | None],
) -> SyncConflictRow | None:
    """The conflict a transaction builds on: it changes a row in one, from the venue's version of it
    (a change made after the copy received the server's version goes ahead as any other)."""
    for change in changes:
        if change.table.name in SENT_UP_ONLY or not change.substantive:
            continue
        conflict = in_conflict.get(change.place)
        if conflict is not None and (
            change.op == "insert" or not _same_substance(server_row(change), change.before)
        ):
            return conflict
    return None


def _substantive(op: str, before: Mapping[str, Any] | None, after: Mapping[str, Any] | None) -> bool:
    """Whether a change does more than bookkeeping and derived fields (what a later change can build on)."""
    if op != "update" or before is None or after is None:
        return True
    return any(value != before.get(name) for name, value in after.items() if name not in DERIVED_COLUMNS)


def _same_substance(row: Row | None, other: Row | None) -> bool:
    """Whether two versions of a row agree but for bookkeeping and derived fields."""
    if row is None or other is None:
        return row is other
    return all(value == other.get(name) for name, value in row.items() if name not in DERIVED_COLUMNS)


def _current(session: Session, change: _Change) -> Row | None:
    found = (
        session.execute(select(change.table).where(_where_key(change.table, change.key))).mappings().first()
    )
    return dict(found) if found is not None else None


def _next_state(change: _Change, current: Row | None) -> Row | None:
    """The row after `change`, given the server's row now (None: not there); _Conflicting if the
    server's row changed meanwhile in a way the change would overwrite."""
    noun = _noun(change.table)
    if change.op == "insert":
        assert change.after is not None
        if current is not None and current != change.after:
            raise _Conflicting(f"the server already has a different {noun} with the same key")
        return change.after
    if change.op == "delete":
        if current is not None and current != change.before:
            raise _Conflicting(f"the {noun} was changed on the server meanwhile")
        return None
    assert change.before is not None and change.after is not None
    if current is None:
        raise _Conflicting(f"the {noun} is no longer on the server")
    before, after = change.before, change.after
    changed = {name: value for name, value in after.items() if value != before.get(name)}
    if UPDATED_AT in changed and current.get(UPDATED_AT) is not None:
        # When the row was last changed is bookkeeping, not a field anyone edits: the later one stands.
        changed[UPDATED_AT] = max(changed[UPDATED_AT], current[UPDATED_AT])
    # Bookkeeping and derived fields never clash (the server works a resident's status out again after
    # the batch, from everything it then has).
    before = {**before, **{name: current[name] for name in DERIVED_COLUMNS if name in current}}
    clashing = sorted(
        name for name in changed if current[name] != before.get(name) and current[name] != changed[name]
    )
    if clashing:
        raise _Conflicting(f"the {noun} was changed on the server meanwhile ({', '.join(clashing)})")
    return {**current, **changed}


def _venue_wins(
    table: Table, op: str, before: Row | None, after: Row | None, current: Row | None
) -> Row | None:
    """The row after a coordinator keeps the venue's change over the server's row now (None: gone)."""
    if op == "delete":
        return None
    assert after is not None
    if op == "insert":
        return after
    assert before is not None
    if current is None:
        raise DomainError(
            f"The {_noun(table)} is no longer on the server, so the venue's change to it cannot be applied."
        )
    changed = {name: value for name, value in after.items() if value != before.get(name)}
    if UPDATED_AT in changed and current.get(UPDATED_AT) is not None:
        changed[UPDATED_AT] = max(changed[UPDATED_AT], current[UPDATED_AT])
    status = changed.get("status")
    if status is not None and current.get("status") not in (before.get("status"), status):

        def said(value: Any) -> str:
            return str(getattr(value, "label", value))

        raise DomainError(
            f"{current.get('tag') or 'The ' + _noun(table)} is now '{said(current['status'])}' on the "
            f"server, not '{said(before.get('status'))}' as when the venue changed it. Bring it back to "
            "that first (a returned device is checked and wiped), then use the venue's version."
        )
    return {**current, **changed}


def _apply(session: Session, change: _Change) -> None:
    """Apply one row change on the server now, or raise _Conflicting (one transaction at a time)."""
    table = change.table
    if table.name in SENT_UP_ONLY:
        assert change.after is not None, "the audit trail is only ever added to"
        session.execute(insert(table).values(_without_id(change.after)))
        return
    found = (
        session.execute(select(table).where(_where_key(table, change.key)).with_for_update())
        .mappings()
        .first()
    )
    current = dict(found) if found is not None else None
    after = _next_state(change, current)
    if after is None:
        if current is not None:
            session.execute(delete(table).where(_where_key(table, change.key)))
    elif current is None:
        session.execute(insert(table).values(after))
    elif after != current:
        session.execute(update(table).where(_where_key(table, change.key)).values(after))
    if table.name == "residents" and after is not None and after != current:
        _renew_search_terms(session, [after])


def _without_id(row: Row) -> Row:
    """An audit entry as the server numbers it."""
    return {name: value for name, value in row.items() if name != "id"}


class _Batch:
    """A batch of a copy's transactions, applied the fast way: every row they touch is read and locked
    in one query per table, each transaction is checked and applied in memory in order, and what is
    accepted is written at the end in a few statements per table."""

    def __init__(self, remote: Session, batch: list[tuple[int, list[_Change]]]) -> None:
        self._remote = remote
        wanted: dict[str, set[Key]] = defaultdict(set)
        for _txn, changes in batch:
            for change in changes:
                if change.table.name not in SENT_UP_ONLY:
                    wanted[change.table.name].add(change.key)
        self.start: dict[tuple[str, Key], Row | None] = {}
        for table in _TABLES:
            if wanted.get(table.name):
                keys = sorted(wanted[table.name], key=repr)
                found = _rows_by_key(remote, table, keys, lock=True)
                for key in keys:
                    self.start[(table.name, key)] = found.get(key)
        self.now = dict(self.start)
        self._audit: list[Row] = []

    def apply(self, changes: list[_Change]) -> None:
        """Apply one transaction in memory, or raise _Conflicting and change nothing."""
        staged: dict[tuple[str, Key], Row | None] = {}
        audit: list[Row] = []
        for change in changes:
            if change.table.name in SENT_UP_ONLY:
                assert change.after is not None, "the audit trail is only ever added to"
                audit.append(_without_id(change.after))
                continue
            place = (change.table.name, change.key)
            staged[place] = _next_state(change, staged[place] if place in staged else self.now[place])
        self.now.update(staged)
        self._audit += audit

    def row(self, change: _Change) -> Row | None:
        return self.now.get((change.table.name, change.key))

    def write(self) -> None:
        """Write the net effect: deletes (children first), changes, then new rows (parents first)."""
        remote = self._remote
        by_table: dict[str, list[tuple[Key, Row | None, Row | None]]] = defaultdict(list)
        for (name, key), before in self.start.items():
            after = self.now[(name, key)]
            if before != after:
                by_table[name].append((key, before, after))
        for table in reversed(_TABLES):
            for key, before, after in by_table.get(table.name, ()):
                if after is None and before is not None:
                    remote.execute(delete(table).where(_where_key(table, key)))
        for table in _TABLES:
            changed = [after for _key, before, after in by_table.get(table.name, ()) if before and after]
            if changed:
                keys = [column.name for column in table.primary_key.columns]
                statement = (
                    update(table)
                    .where(*(table.c[name] == bindparam(f"key_{name}") for name in keys))
                    .values({column.name: bindparam(f"new_{column.name}") for column in table.columns})
                )
                remote.execute(
                    statement,
                    [
                        {
                            **{f"key_{name}": row[name] for name in keys},
                            **{f"new_{n}": v for n, v in row.items()},
                        }
                        for row in changed
                    ],
                )
        for table in _TABLES:
            added = [
                after for _key, before, after in by_table.get(table.name, ()) if before is None and after
            ]
            if added:
                remote.execute(insert(table), added)
        if self._audit:
            remote.execute(insert(Base.metadata.tables["audit_entries"]), self._audit)
        _renew_search_terms(
            remote, [after for _key, _before, after in by_table.get("residents", ()) if after is not None]
        )


@dataclass(frozen=True)
class _Received:
    rows: int  # rows the copy changed to match the server
    clear_file: bool  # old text of a resident erased on the server is still to be cleared from the file


def _apply_received(
    session: Session, changed: Mapping[str, set[Key]], rows: Mapping[str, dict[Key, Row]]
) -> _Received:
    """Bring the copy's rows to the server's: deletes first (children first), then changes, then new
    rows (parents first), so no unique rule sees two versions of one row. Not recorded in the outbox."""
    state = _state(session)
    state.recording = False
    session.flush()
    session.execute(text("PRAGMA defer_foreign_keys = ON"))
    # A change made here since the send goes up at the next sync: the server's version waits till then.
    waiting = {
        (name, key_from_json(Base.metadata.tables[name], key))
        for name, key in session.execute(select(SyncOutboxRow.table_name, SyncOutboxRow.row_key))
    }
    present: dict[str, dict[Key, Row]] = {}
    for table in _RECEIVED_TABLES:
        keys = sorted(
            (key for key in changed.get(table.name, ()) if (table.name, key) not in waiting), key=repr
        )
        if keys:
            present[table.name] = _rows_by_key(session, table, keys)
    written = 0
    for table in reversed(_RECEIVED_TABLES):
        for key in present.get(table.name, {}):  # only keys with no change waiting here
            if key not in rows.get(table.name, {}):
                session.execute(delete(table).where(_where_key(table, key)))
                written += 1
    changes = [
        (table, key, before, after)
        for table in _RECEIVED_TABLES
        for key, row in rows.get(table.name, {}).items()
        if (before := present.get(table.name, {}).get(key)) is not None
        and before != (after := {**row, **{name: before[name] for name in _KEPT_HERE.get(table.name, ())}})
    ]
    # SQLite checks a unique value at once, row by row: a value moving to another row (a tag put on
    # another device, two tags swapped) is freed from every row it leaves before any row takes it.
    for number, (table, key, before, row) in enumerate(changes):
        moving = {
            name: literal(f"moving {number}", String())
            for name in _UNIQUE[table.name]
            if before[name] != row[name]
        }
        if moving:
            session.execute(update(table).where(_where_key(table, key)).values(moving))
    erased = []
    for table, key, before, row in changes:
        session.execute(update(table).where(_where_key(table, key)).values(row))
        written += 1
        if table.name == "residents" and row["anonymised_at"] and not before["anonymised_at"]:
            erased.append(row["id"])
    for table in _RECEIVED_TABLES:
        local = present.get(table.name, {})
        new = [
            row
            for key, row in rows.get(table.name, {}).items()
            if key not in local and (table.name, key) not in waiting
        ]
        if new:
            session.execute(insert(table), new)
            written += len(new)
    local_residents = present.get("residents", {})
    _renew_search_terms(
        session,
        [
            row
            for key, row in rows.get("residents", {}).items()
            if ("residents", key) not in waiting and local_residents.get(key) != row
        ],
    )
    if erased:
        # The copy's own audit entries about them (never sent back down) are blanked as the server's were.
        session.execute(
            update(AuditEntryRow)
            .where(AuditEntryRow.resident_id.in_(erased), AuditEntryRow.redacted.is_(False))
            .values(details="", subject="", redacted=True)
        )
        state.clear_file = True
    state.recording = True
    session.flush()
    return _Received(written, state.clear_file)


def _renew_search_terms(session: Session, residents: Sequence[Row]) -> None:
    """Work out the search words of residents whose rows sync wrote, as ResidentService does when
    staff save one (none for a resident whose data was erased)."""
    if not residents:
        return
    ids = [row["id"] for row in residents]
    session.execute(delete(ResidentSearchTermRow).where(ResidentSearchTermRow.resident_id.in_(ids)))
    words = [
        {"resident_id": row["id"], "term": term, "name": row["name"], "reference": row["reference"]}
        for row in residents
        if row["anonymised_at"] is None
        for term in sorted(
            resident_terms(row["reference"], row["name"], row["phone"], row["postcode"], row["email"])
        )
    ]
    if words:
        session.execute(insert(ResidentSearchTermRow), words)


def _rule_broken(error: IntegrityError | DataError) -> str:
    message = str(getattr(error, "orig", error)).splitlines()[0]
    if "uq_loans_open_device" in message:
        return "the device is already on loan on the server"
    if "uq_device_kit_items_device_id_position" in message:
        return "the device's kit was changed on the server meanwhile"
    if "residents" in message and "reference" in message:
        return "that resident reference is already taken on the server"
    return f"the server's database refused it ({message})"


def _noun(table: Table) -> str:
    return {
        "residents": "resident",
        "loans": "loan",
        "devices": "device",
        "wipes": "wipe",
        "sessions": "session",
        "skills_checks": "skills check",
        "wait_entries": "waiting-list entry",
        "settings": "setting",
    }.get(table.name, f"row of {table.name.replace('_', ' ')}")


def _describe(session: Session, changes: list[_Change]) -> str:
    """The transaction in words, from its main change (a loan, a resident, a device...)."""
    for change in changes:
        row = change.after or change.before or {}
        if change.table.name == "loans":
            tag = session.scalar(
                select(Base.metadata.tables["devices"].c.tag).where(
                    Base.metadata.tables["devices"].c.id == row.get("device_id")
                )
            )
            reference = session.scalar(
                select(ResidentRow.reference).where(ResidentRow.id == row.get("resident_id"))
            )
            verb = "issued" if change.op == "insert" else "changed"
            by = row.get("issued_by", "")
            return f"Loan of {tag or 'a device'} to {reference or 'a resident'} {verb} by {by}"
        if change.table.name == "residents":
            verb = "registered" if change.op == "insert" else "changed"
            return f"Resident {row.get('reference', '')} {verb}"
    first = changes[0]
    return f"A change to a {_noun(first.table)}"


def _resident_named(table: str, row: Mapping[str, Any] | None) -> Any:
    """The resident a row is, or is about (a loan, a session attendance, an audit entry); None if none.
    For rows as changes carry them, or as conflicts show them (JSON: the id as text)."""
    if row is None:
        return None
    return row.get("id") if table == "residents" else row.get("resident_id")


def _residents_named(batch: list[tuple[int, list[_Change]]]) -> set[uuid.UUID]:
    """The residents a batch changed, or changed something of (a loan, a session, a skills check)."""
    return {
        named
        for _txn, changes in batch
        for change in changes
        if change.table.name not in SENT_UP_ONLY
        and (named := _resident_named(change.table.name, change.after or change.before)) is not None
    }


def _erased_residents(session: Session, changes: list[_Change]) -> set[uuid.UUID]:
    """The residents these changes name (the audit entries' too) whose personal data the server has erased."""
    named = {_resident_named(change.table.name, change.after or change.before) for change in changes}
    named.discard(None)
    if not named:
        return set()
    return set(
        session.scalars(
            select(ResidentRow.id).where(ResidentRow.id.in_(named), ResidentRow.anonymised_at.is_not(None))
        )
    )


def _clear_file(db: Database) -> None:
    """Clear the old text of residents erased on the server from the copy's file, and note it is done
    (if the power goes first, the next sync does it)."""
    if clear_freed_text(db):
        with db.write() as session:
            _state(session).clear_file = False


# Free text a desk may write in a transaction about a resident: a late reason, a fault, notes.
_FREE_TEXT = {
    "loans": ("late_reason", "fault"),
    "device_status_events": ("reason",),
    "wipes": ("notes",),
    "wait_events": ("reason",),
    "sessions": ("outcome", "follow_up"),
    "skills_checks": ("note",),
}


def _remove_free_text(session: Session, batch: list[tuple[int, list[_Change]]]) -> None:
    """The free text a laptop wrote in its transactions about a resident erased here meanwhile goes
    whole: the server no longer knows the name to take out of it."""
    for _txn, changes in batch:
        if not _erased_residents(session, changes):
            continue
        for change in changes:
            columns = _FREE_TEXT.get(change.table.name, ())
            if columns and change.after is not None:
                table = change.table
                session.execute(
                    update(table)
                    .where(_where_key(table, change.key))
                    .values({name: case((table.c[name] == "", ""), else_=REMOVED) for name in columns})
                )


def forget_in_conflicts(session: Session, resident_id: uuid.UUID) -> int:
    """The erasure step of venue sync (data_protection.ErasureStep): empty the conflicts kept on the server
    that hold any row of the resident's (their summaries name them by reference at most). How many."""
    named = str(resident_id)
    changed = 0
    for conflict in session.scalars(
        select(SyncConflictRow).where(
            or_(SyncConflictRow.venue_changes.contains(named), SyncConflictRow.server_rows.contains(named))
        )
    ):
        changes, rows = json.loads(conflict.venue_changes), json.loads(conflict.server_rows)
        if any(_resident_named(c["table"], c["after"] or c["before"]) == named for c in changes) or any(
            _resident_named(row["table"], row["row"]) == named for row in rows
        ):
            # Every row goes: any of them may tell the resident's story (a late reason, a fault).
            conflict.venue_changes = conflict.server_rows = "[]"
            if ERASED_NOTE not in conflict.summary:
                conflict.summary += ERASED_NOTE
            changed += 1
    return changed


def prune_feed(db: Database, now: datetime) -> int:
    """On the server: delete the feed entries no venue copy will read again; how many. Kept: what any
    copy that synced (or was set up) in the last FEED_KEPT_DAYS may still read, what transactions still
    running may yet add to, and the newest entry (desks watch its number to see that something changed)."""
    with db.write() as session:
        recent = func.coalesce(SyncCopyRow.last_sync_at, SyncCopyRow.set_up_at) >= now - timedelta(
            days=FEED_KEPT_DAYS
        )
        needed = session.scalar(select(func.min(SyncCopyRow.received_to)).where(recent))
        horizon = int(session.scalar(text(_HORIZON)) or 0)
        cut = horizon if needed is None else min(needed, horizon)
        newest = session.scalar(select(func.max(SyncFeedRow.seq))) or 0
        gone = cast(
            "CursorResult[Any]",
            session.execute(delete(SyncFeedRow).where(SyncFeedRow.xid < cut, SyncFeedRow.seq < newest)),
        )
        state = _state(session)
        state.feed_from = max(state.feed_from, cut)
        return gone.rowcount


# References


def _take_references(remote: Session) -> tuple[int, int]:
    counter = remote.get(TagCounterRow, REFERENCE_PREFIX, with_for_update=True)
    assert counter is not None, "migration 0002 seeds the resident reference counter"
    first = counter.last_number + 1
    counter.last_number += REFERENCE_BLOCK
    return first, counter.last_number


def _set_references(session: Session, first: int, last: int) -> None:
    counter = session.get(TagCounterRow, REFERENCE_PREFIX)
    assert counter is not None, "migration 0002 seeds the resident reference counter"
    counter.last_number = first - 1
    _state(session).last_reference = last


# The first copy


@dataclass(frozen=True)
class _Copied:
    horizon: int
    rows: int
    residents: int
    devices: int


def _copy_everything(server: Database, local: Database) -> _Copied:
    """Every shared table but the audit trail, from one snapshot of the server, into the new file."""
    tables = [*_RECEIVED_TABLES, *(Base.metadata.tables[name] for name in ("tag_counters", *DERIVED))]
    horizon, counts = copy_tables(server, local, tables, _HORIZON)
    return _Copied(horizon, sum(counts.values()), counts["residents"], counts["devices"])


def _conflict(row: SyncConflictRow, venue: str, computer: str) -> Conflict:
    return Conflict(
        id=row.id,
        venue=venue,
        computer=computer,
        detected_at=row.detected_at,
        summary=row.summary,
        changes=tuple(
            ConflictChange(c["table"], c["key"], c["op"], c["before"], c["after"])
            for c in json.loads(row.venue_changes)
        ),
        server_rows=tuple(json.loads(row.server_rows)),
        resolved_at=row.resolved_at,
        resolved_by=row.resolved_by,
        resolution=row.resolution,
    )
