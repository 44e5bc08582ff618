"""Data protection duties: retention (anonymise residents after a period without activity), erasure on
request, and subject access (everything held about one resident, as a PDF and as JSON).

Anonymising a resident keeps the row and the records the scheme's figures are counted from, and removes
everything that identifies them:

- kept: the residents row's id and reference (a reference names no one once the record is blank), ward,
  age band, referral partner (an organisation) and reason, the equality answers, inclusion status and
  when they registered - exactly what the monthly report and the inclusion rule read, so past reports
  and statuses stay the same; their loans (device, dates, kit, renewals, outcome), waiting-list places,
  session attendances and skills-check levels, which reports count; the inclusion status history.
- blanked: name (ANONYMISED_NAME), phone, email, address, postcode, language, large print, interpreter,
  access needs, ethnicity (no report reads it); loan late reasons and what a lost or stolen loan's
  reason said; waiting-list event reasons; skills-check notes; the notes of sessions they were the only
  one at; the audit entries about them (details and subject blanked, marked redacted).
- deleted: their search words and consents (nothing is counted from them).
- cleaned of their name, phone, email, postcode and address (each replaced by REMOVED, the rest kept):
  device faults they reported, the notes of group sessions they were at, the notes of wipes of devices
  they had borrowed, and the devices' status history for their loans, which keeps only
  "Issued to R-00042" and what came back.

Erasure does the same at once, on request, and then clears the old text from the SQLite file itself
(deleted rows otherwise linger in free pages and in the write-ahead log).
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Select, delete, exists, func, or_, select, update
from sqlalchemy.orm import Session

from digiknow_desk.domain.champions import add_months
from digiknow_desk.domain.devices import DeviceStatus
from digiknow_desk.domain.errors import DomainError, NotFound, ValidationError
from digiknow_desk.domain.loans import KitLine, LoanAchieved, LoanOutcome, WaitStatus
from digiknow_desk.domain.residents import normalise_reference
from digiknow_desk.domain.sessions import topic_from
from digiknow_desk.domain.skills import SkillArea, SkillLevel, SkillsCheck
from digiknow_desk.domain.staff import Permission
from digiknow_desk.services import audit
from digiknow_desk.services.context import ServiceContext, requires
from digiknow_desk.services.files import SaveFailed, check_folder, write_atomically
from digiknow_desk.services.residents import load_residents
from digiknow_desk.services.settings import is_demo_database, read_setting, write_setting
from digiknow_desk.storage.database import Database
from digiknow_desk.storage.models import (
    AuditEntryRow,
    ChampionRow,
    DeviceRow,
    DeviceStatusEventRow,
    InclusionChangeRow,
    LoanKitRow,
    LoanRenewalRow,
    LoanRow,
    ResidentConsentRow,
    ResidentRow,
    ResidentSearchTermRow,
    SessionAttendeeRow,
    SessionChampionRow,
    SessionRow,
    SessionTopicRow,
    SkillsCheckLevelRow,
    SkillsCheckRow,
    VenueRow,
    WaitEntryRow,
    WaitEventRow,
    WipeRow,
)

if TYPE_CHECKING:
    from digiknow_desk.reporting.subject_access import LoanHeld, SessionHeld, SubjectAccess, WaitHeld

# reporting.subject_access (reportlab) is imported where a subject access response is made, not at
# start-up, as for the desk documents.

RETENTION_KEY = "data_retention"
DEFAULT_RETENTION_MONTHS = 24
MIN_RETENTION_MONTHS = 6
MAX_RETENTION_MONTHS = 120
RETENTION_BATCH = 200
ANONYMISED_NAME = "Anonymised resident"
REMOVED = "[removed]"
_ACTIVE_WAITS = (WaitStatus.WAITING, WaitStatus.OFFERED)

# A step that removes a resident's data from somewhere this module does not know, inside the erasing
# transaction: (session, resident id) -> how many records it touched.
ErasureStep = Callable[[Session, uuid.UUID], int]


class ErasureRefused(DomainError):
    """A resident cannot be erased yet; the message says what to do first."""


@dataclass(frozen=True)
class RetentionPolicy:
    """How long residents' personal data is kept after their last activity with the scheme."""

    months: int = DEFAULT_RETENTION_MONTHS


@dataclass(frozen=True)
class RetentionRun:
    """What one run of retention did: the residents anonymised, and how many others have had no activity
    for as long but were kept because they have a device on loan or a place on the waiting list."""

    months: int
    inactive_since: date  # residents with no activity on or after this day were due
    anonymised: tuple[str, ...]  # references
    kept_active: int


@dataclass(frozen=True)
class Erasure:
    """What erasing one resident removed. `file_cleared`: the old text is gone from the database file as
    well (SQLite); False when another desk was reading the database at that moment (its old pages are
    cleared by erasing again later); None on a PostgreSQL server, which has no file of ours to clear
    (see `clear_freed_text`)."""

    reference: str
    loans: int
    sessions: int
    skills_checks: int
    waiting_list_withdrawn: int
    audit_entries_redacted: int
    file_cleared: bool | None


@dataclass(frozen=True)
class _Anonymised:
    loans: int
    sessions: int
    skills_checks: int
    audit_entries: int


class _Scrubber:
    """Takes a resident's name, phone, email, postcode and address out of free text that stays: each
    whole word of the name, and each of the others however it is spaced, becomes REMOVED."""

    def __init__(self, row: ResidentRow) -> None:
        self._pattern: re.Pattern[str] | None = None
        if row.anonymised_at is not None:
            return  # nothing left to take out (and "resident" is no one's name)
        patterns = [rf"\b{re.escape(word)}\b" for word in re.findall(r"\w{2,}", row.name)]
        if row.email:
            patterns.append(re.escape(row.email))
        digits = re.sub(r"\D", "", row.phone)
        if len(digits) >= 6:
            patterns.append(r"[\s()-]*".join(re.escape(digit) for digit in digits))
        if row.postcode:
            patterns.append(r"\s*".join(re.escape(part) for part in row.postcode.split()))
        patterns += [
            re.escape(part.strip()) for part in re.split(r"[,\n]", row.address) if len(part.strip()) >= 4
        ]
        # Longest first, so that an address line goes whole before a name word inside it.
        patterns.sort(key=len, reverse=True)
        if patterns:
            self._pattern = re.compile("|".join(patterns), re.IGNORECASE)

    def __call__(self, text: str) -> str:
        if self._pattern is None or not text:
            return text
        return self._pattern.sub(REMOVED, text)


@contextmanager
def _secure_delete(session: Session, database: Database) -> Iterator[None]:
    """On SQLite, have the transaction overwrite the text it deletes or replaces with zeros (by
    default SQLite only marks it free, and it can be read from the file afterwards)."""
    if not database.is_sqlite:
        yield
        return
    connection = session.connection()
    before = connection.exec_driver_sql("PRAGMA secure_delete").scalar()
    connection.exec_driver_sql("PRAGMA secure_delete=ON")
    try:
        yield
        session.flush()  # the ORM's changes too are written while it is on
    finally:
        connection.exec_driver_sql(f"PRAGMA secure_delete={int(before or 0)}")


def clear_freed_text(database: Database) -> bool:
    """Leave no copy of erased text in the database's files; whether that was done.

    SQLite: VACUUM rewrites every page (so nothing lingers in free space), then a TRUNCATE checkpoint
    moves the write-ahead log into the file and empties it. VACUUM cannot run in a transaction, so it
    runs on the writer's raw connection, as migrations do. The checkpoint is refused (returns busy) while
    another desk has a read open; the text is then already gone from the tables and pages, but may remain
    in the log until the next checkpoint.

    PostgreSQL: nothing to do here. The erasing transaction has removed the text from the live tables;
    the old row versions are removed by autovacuum, and the server's own logs and backups age out by the
    server's retention, which its administrator sets.
    """
    if not database.is_sqlite:
        return False
    failed = database.writer.dialect.loaded_dbapi.Error  # sqlite3's, or SQLCipher's for an encrypted file
    with database.writer.connect() as connection:
        raw = connection.connection.driver_connection
        assert raw is not None, "a checked-out connection always has its driver connection"
        try:
            raw.execute("VACUUM")
            busy, _log_frames, _moved = raw.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        except failed:
            # Another desk kept the database busy past the wait, or the disk has no room for the copy
            # VACUUM makes. The erasure itself is done and kept; clearing the file is tried again by
            # the next erasure.
            return False
        return not busy


def _checkpoint(database: Database) -> None:
    """Move the write-ahead log into the SQLite file and empty it (its old page images can hold text
    that has since been overwritten)."""
    if database.is_sqlite:
        with database.writer.connect() as connection:
            raw = connection.connection.driver_connection
            assert raw is not None, "a checked-out connection always has its driver connection"
            raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def _midnight(day: date) -> datetime:
    """The start of `day` where the desk is."""
    return datetime.combine(day, time()).astimezone()


class DataProtectionService:
    """Retention, erasure and subject access (administrators: Permission.PROTECT_DATA).

    `erasure_steps` run inside every anonymisation, after this module's own: a later store of residents'
    data adds one here so that erasure reaches it too (app.ERASURE_STEPS: the conflicts venue sync keeps).
    `font_files` (regular, bold TrueType) replace Helvetica in the PDF, as for the desk documents.
    """

    def __init__(
        self,
        context: ServiceContext,
        *,
        erasure_steps: Sequence[ErasureStep] = (),
        font_files: tuple[Path, Path] | None = None,
    ) -> None:
        self._context = context
        self._erasure_steps = tuple(erasure_steps)
        self._font_files = font_files

    # Retention

    @requires(Permission.PROTECT_DATA)
    def retention(self) -> RetentionPolicy:
        with self._context.db.read() as session:
            return _read_policy(session)

    @requires(Permission.PROTECT_DATA)
    def set_retention(self, months: int) -> RetentionPolicy:
        """Keep residents' personal data for `months` after their last activity (the next run applies
        it)."""
        if not MIN_RETENTION_MONTHS <= months <= MAX_RETENTION_MONTHS:
            raise ValidationError(
                {
                    "months": f"Keep residents' details for between {MIN_RETENTION_MONTHS} and "
                    f"{MAX_RETENTION_MONTHS} months after their last visit (the usual is "
                    f"{DEFAULT_RETENTION_MONTHS})."
                }
            )
        with self._context.db.write() as session:
            write_setting(session, self._context, RETENTION_KEY, {"months": months})
        return RetentionPolicy(months)

    @requires(Permission.PROTECT_DATA)
    def due_for_retention(self) -> list[str]:
        """The references retention would anonymise now, in order (nothing is changed)."""
        with self._context.db.read() as session:
            since = add_months(self._context.today(), -_read_policy(session).months)
            return list(session.scalars(_inactive(since).with_only_columns(ResidentRow.reference)))

    @requires(Permission.PROTECT_DATA)
    def run_retention(self) -> RetentionRun:
        """Anonymise every resident with no activity (registration, a loan issued or returned, a session
        attended, a skills check, a waiting-list event) on or after the day the retention period ago,
        who has no device on loan and no place on the waiting list. Meant to run by itself (at start-up);
        safe to repeat, and to stop part way. Each resident anonymised gets an audit entry naming them by
        reference.

        Residents are anonymised RETENTION_BATCH to a transaction (about a second each): the first run
        on years of records may have thousands to do, and other desks' changes go in between."""
        self._context.server_only("Retention runs")
        now = self._context.now()
        anonymised: list[str] = []
        while True:
            with self._context.db.write() as session, _secure_delete(session, self._context.db):
                months = _read_policy(session).months
                since = add_months(self._context.today(), -months)
                rows = list(session.scalars(_inactive(since).limit(RETENTION_BATCH).with_for_update()))
                for row in rows:
                    anonymise(session, row, now, self._erasure_steps)
                    audit.record(
                        session,
                        self._context,
                        "resident.anonymised",
                        row.reference,
                        details={"retention_months": months, "inactive_since": since},
                    )
                anonymised += [row.reference for row in rows]
                if len(rows) < RETENTION_BATCH:
                    kept = _count(session, _inactive(since, busy_too=True))
                    break
        if anonymised:
            _checkpoint(self._context.db)
        return RetentionRun(months, since, tuple(anonymised), kept)

    # Erasure

    @requires(Permission.PROTECT_DATA)
    def erase(self, reference: str, reason: str) -> Erasure:
        """Remove the resident's personal data now, at their request: as retention does (see the module
        docstring), and their waiting-list places are withdrawn. Refused while they have a device on loan
        or one held for them. The audit trail keeps that they were erased, by reference, with `reason`
        (their name, phone, email, postcode and address are taken out of it). Safe to repeat: a second
        erasure clears the file again."""
        self._context.server_only("Erase residents")
        reason = " ".join(reason.split())
        if not reason:
            raise ValidationError(
                {"reason": "Say why the record is erased, e.g. 'Resident asked by email on 3 March'."}
            )
        now = self._context.now()
        with self._context.db.write() as session, _secure_delete(session, self._context.db):
            row = self._resident(session, reference, for_update=True)
            self._check_can_erase(session, row)
            withdrawn = self._withdraw_waits(session, row, now)
            said = _Scrubber(row)(reason)
            counts = anonymise(session, row, now, self._erasure_steps)
            audit.record(
                session,
                self._context,
                "resident.erased",
                row.reference,
                details={"reason": said},
            )
            reference = row.reference
        return Erasure(
            reference=reference,
            loans=counts.loans,
            sessions=counts.sessions,
            skills_checks=counts.skills_checks,
            waiting_list_withdrawn=withdrawn,
            audit_entries_redacted=counts.audit_entries,
            file_cleared=clear_freed_text(self._context.db) if self._context.db.is_sqlite else None,
        )

    # Subject access

    @requires(Permission.PROTECT_DATA)
    def subject_access(self, reference: str) -> SubjectAccess:
        """Everything held about the resident, read in one transaction."""
        with self._context.db.read() as session:
            return self._gather(session, self._resident(session, reference))

    @requires(Permission.PROTECT_DATA)
    def export_subject_access(self, reference: str, folder: Path) -> tuple[Path, Path]:
        """Save everything held about the resident in `folder` as a PDF to read and a JSON file for
        computers ("R-00042 personal data 2026-03-14.pdf" and ".json"); the two paths. The export is kept
        in the audit trail."""
        from digiknow_desk.reporting.desk_documents import DocumentError, DocumentFonts
        from digiknow_desk.reporting.subject_access import subject_access_json_bytes, subject_access_pdf

        folder = folder.expanduser()
        check_folder(folder / "subject access.pdf")  # the folder, before anything is read
        try:
            fonts = DocumentFonts.from_files(*self._font_files) if self._font_files else None
        except DocumentError as error:
            raise DomainError(str(error)) from error
        # Read, and the files made, before the write transaction: the desks' one writer does not wait
        # while the PDF is set.
        with self._context.db.read() as session:
            record = self._gather(session, self._resident(session, reference))
            demo = is_demo_database(session)
        stem = f"{record.resident.reference} personal data {self._context.today().isoformat()}"
        pdf_out, json_out = folder / f"{stem}.pdf", folder / f"{stem}.json"
        pdf = subject_access_pdf(record, fonts, demo=demo)
        data = subject_access_json_bytes(record)
        with self._context.db.write() as session:
            row = self._resident(session, reference)
            audit.record(session, self._context, "resident.data_exported", row.reference, resident_id=row.id)
            # Saved inside the transaction: when a file cannot be saved, the audit entry goes too, and so
            # does the other file (no copy of personal data is left behind unrecorded).
            write_atomically(pdf_out, lambda stream: stream.write(pdf))
            try:
                write_atomically(json_out, lambda stream: stream.write(data))
            except SaveFailed:
                pdf_out.unlink(missing_ok=True)
                raise
        return pdf_out, json_out

    # Helpers

    @staticmethod
    def _resident(session: Session, reference: str, *, for_update: bool = False) -> ResidentRow:
        query = select(ResidentRow).where(ResidentRow.reference == normalise_reference(reference))
        row = session.scalar(query.with_for_update() if for_update else query)
        if row is None:
            raise NotFound(
                f"No resident has the reference {normalise_reference(reference)}. "
                "Check the reference on their card or letter."
            )
        return row

    @staticmethod
    def _check_can_erase(session: Session, row: ResidentRow) -> None:
        on_loan = session.scalar(
            select(DeviceRow.tag)
            .join(LoanRow, LoanRow.device_id == DeviceRow.id)
            .where(LoanRow.resident_id == row.id, LoanRow.closed_at.is_(None))
            .limit(1)
        )
        if on_loan is not None:
            raise ErasureRefused(
                f"{row.reference} still has {on_loan} on loan. Take the device back, or record it lost or "
                "stolen, then erase their record."
            )
        held = session.scalar(
            select(DeviceRow.tag)
            .join(WaitEntryRow, WaitEntryRow.offered_device_id == DeviceRow.id)
            .where(WaitEntryRow.resident_id == row.id, WaitEntryRow.status == WaitStatus.OFFERED)
            .limit(1)
        )
        if held is not None:
            raise ErasureRefused(
                f"{held} is held for {row.reference} from the waiting list. Withdraw them from the waiting "
                "list first (the device then goes to the next resident waiting), then erase their record."
            )

    def _withdraw_waits(self, session: Session, row: ResidentRow, now: datetime) -> int:
        waiting = list(
            session.scalars(
                select(WaitEntryRow).where(
                    WaitEntryRow.resident_id == row.id, WaitEntryRow.status == WaitStatus.WAITING
                )
            )
        )
        for entry in waiting:
            entry.status, entry.closed_at = WaitStatus.WITHDRAWN, now
            session.add(WaitEventRow(entry_id=entry.id, at=now, by=self._context.actor, what="withdrawn"))
        return len(waiting)

    def _gather(self, session: Session, row: ResidentRow) -> SubjectAccess:
        from digiknow_desk.reporting import subject_access as held

        resident = load_residents(session, ResidentRow.id == row.id)[0]
        return held.SubjectAccess(
            produced_at=self._context.now(),
            produced_by=self._context.actor,
            resident=resident,
            registered_at=row.created_at,
            changed_at=row.updated_at,
            anonymised_at=row.anonymised_at,
            loans=tuple(_loans_held(session, row.id)),
            waiting=tuple(_waits_held(session, row.id)),
            sessions=tuple(_sessions_held(session, row.id)),
            skills_checks=tuple(_checks_held(session, row.id)),
            status_changes=tuple(
                held.StatusChange(change.at, change.from_status, change.to_status)
                for change in session.scalars(
                    select(InclusionChangeRow)
                    .where(InclusionChangeRow.resident_id == row.id)
                    .order_by(InclusionChangeRow.at)
                )
            ),
            audit=tuple(
                held.AuditHeld(
                    at=entry.at,
                    staff_name=entry.staff_name,
                    action=entry.action,
                    subject=entry.subject,
                    details=_own_details(entry.details, row.reference),
                    redacted=entry.redacted,
                )
                for entry in session.scalars(
                    select(AuditEntryRow)
                    .where(
                        or_(
                            AuditEntryRow.resident_id == row.id,
                            AuditEntryRow.subject == row.reference,
                            # A group session's entry lists its residents by reference.
                            AuditEntryRow.details.contains(f'"{row.reference}"', autoescape=True),
                        )
                    )
                    .order_by(AuditEntryRow.id)
                )
            ),
        )


def anonymise(
    session: Session, row: ResidentRow, now: datetime, erasure_steps: Sequence[ErasureStep] = ()
) -> _Anonymised:
    """Remove what identifies the resident from every record kept about them (module docstring). Safe
    to repeat: venue sync runs it again on what a laptop sends about a resident erased meanwhile."""
    scrub = _Scrubber(row)
    loans = list(session.scalars(select(LoanRow).where(LoanRow.resident_id == row.id)))
    for loan in loans:
        _anonymise_loan(session, loan, row.reference, scrub)
    entries = select(WaitEntryRow.id).where(WaitEntryRow.resident_id == row.id)
    session.execute(
        update(WaitEventRow)
        .where(WaitEventRow.entry_id.in_(entries), WaitEventRow.reason != "")
        .values(reason="")
        .execution_options(synchronize_session=False)
    )
    session_ids = list(
        session.scalars(select(SessionAttendeeRow.session_id).where(SessionAttendeeRow.resident_id == row.id))
    )
    attendees = dict(
        session.execute(
            select(SessionAttendeeRow.session_id, func.count())
            .where(SessionAttendeeRow.session_id.in_(session_ids))
            .group_by(SessionAttendeeRow.session_id)
        ).all()
    )
    for support in session.scalars(select(SessionRow).where(SessionRow.id.in_(session_ids))):
        if attendees.get(support.id, 0) <= 1:
            support.outcome, support.follow_up = "", ""
        else:  # a group's notes are about the others too: only this resident leaves them
            support.outcome, support.follow_up = scrub(support.outcome), scrub(support.follow_up)
    checks = _count(session, select(SkillsCheckRow.id).where(SkillsCheckRow.resident_id == row.id))
    session.execute(
        update(SkillsCheckRow)
        .where(SkillsCheckRow.resident_id == row.id, SkillsCheckRow.note != "")
        .values(note="")
        .execution_options(synchronize_session=False)
    )
    session.execute(delete(ResidentSearchTermRow).where(ResidentSearchTermRow.resident_id == row.id))
    session.execute(delete(ResidentConsentRow).where(ResidentConsentRow.resident_id == row.id))
    about_them = (AuditEntryRow.resident_id == row.id, AuditEntryRow.redacted.is_(False))
    redacted = _count(session, select(AuditEntryRow.id).where(*about_them))
    session.execute(
        update(AuditEntryRow)
        .where(*about_them)
        .values(details="", subject="", redacted=True)
        .execution_options(synchronize_session=False)
    )
    row.name = ANONYMISED_NAME
    row.phone = row.email = row.address = row.postcode = ""
    row.language = row.access_needs = row.ethnicity = ""
    row.large_print = row.interpreter = False
    row.updated_at = now
    if row.anonymised_at is None:
        row.anonymised_at = now
    for step in erasure_steps:
        step(session, row.id)
    session.flush()
    return _Anonymised(len(loans), len(session_ids), checks, redacted)


def _anonymise_loan(session: Session, loan: LoanRow, reference: str, scrub: _Scrubber) -> None:
    lost = loan.outcome in (LoanOutcome.LOST, LoanOutcome.STOLEN)
    loan.late_reason = ""
    # A lost or stolen loan's reason tells the resident's story; a returned device's fault is about
    # the device, and only the resident's own details leave it.
    loan.fault = "" if lost else scrub(loan.fault)
    issued = session.scalars(
        select(DeviceStatusEventRow).where(
            DeviceStatusEventRow.device_id == loan.device_id,
            DeviceStatusEventRow.reason.startswith(f"Issued to {reference}", autoescape=True),
            DeviceStatusEventRow.at >= loan.issued_at,
        )
    )
    for event in issued:
        event.reason = f"Issued to {reference}"  # without the late reason the issue may have given
    if loan.closed_at is None:
        return
    # The status change that closed the loan: the device's first move off loan from then on (one
    # device's loans never overlap, and a move is never dated before the one it follows).
    closing = session.scalar(
        select(DeviceStatusEventRow)
        .where(
            DeviceStatusEventRow.device_id == loan.device_id,
            DeviceStatusEventRow.from_status == DeviceStatus.ON_LOAN,
            DeviceStatusEventRow.at >= loan.closed_at,
        )
        .order_by(DeviceStatusEventRow.at)
        .limit(1)
    )
    if closing is not None:
        closing.reason = loan.outcome.label if lost and loan.outcome else scrub(closing.reason)
    for wipe in session.scalars(
        select(WipeRow).where(WipeRow.device_id == loan.device_id, WipeRow.wiped_at >= loan.closed_at)
    ):
        wipe.notes = scrub(wipe.notes)


def _own_details(details: str, reference: str) -> dict[str, Any]:
    """An audit entry's details as the resident may see them: a group session's other residents are
    counted, not listed by reference."""
    found: dict[str, Any] = json.loads(details) if details else {}
    residents = found.get("residents")
    if isinstance(residents, list) and len(residents) > 1:
        found["residents"] = [reference] if reference in residents else []
        found["other_residents"] = len(residents) - len(found["residents"])
    return found


def _count(session: Session, query: Select[Any]) -> int:
    return int(session.scalar(select(func.count()).select_from(query.subquery())) or 0)


def _read_policy(session: Session) -> RetentionPolicy:
    saved = read_setting(session, RETENTION_KEY)
    return RetentionPolicy() if saved is None else RetentionPolicy(int(saved["months"]))


def _inactive(since: date, *, busy_too: bool = False) -> Select[ResidentRow]:
    """The residents not yet anonymised with no activity on or after `since` (a day where the desk is),
    by reference; with `busy_too`, also those with a device on loan or a place on the waiting list
    (whom retention keeps). Each test reads an index on the resident's id."""
    start = _midnight(since)
    resident = ResidentRow.id
    conditions = [
        ResidentRow.anonymised_at.is_(None),
        ResidentRow.created_at < start,
        ~exists().where(
            LoanRow.resident_id == resident, or_(LoanRow.issued_at >= start, LoanRow.closed_at >= start)
        ),
        ~exists().where(SessionAttendeeRow.resident_id == resident, SessionAttendeeRow.held_on >= since),
        ~exists().where(SkillsCheckRow.resident_id == resident, SkillsCheckRow.checked_on >= since),
        ~exists().where(
            WaitEntryRow.resident_id == resident,
            or_(WaitEntryRow.joined_at >= start, WaitEntryRow.closed_at >= start),
        ),
        ~exists().where(
            WaitEventRow.entry_id == WaitEntryRow.id,
            WaitEntryRow.resident_id == resident,
            WaitEventRow.at >= start,
        ),
    ]
    if not busy_too:
        conditions += [
            ~exists().where(LoanRow.resident_id == resident, LoanRow.closed_at.is_(None)),
            ~exists().where(WaitEntryRow.resident_id == resident, WaitEntryRow.status.in_(_ACTIVE_WAITS)),
        ]
    return select(ResidentRow).where(*conditions).order_by(ResidentRow.reference)


# Subject access: each kind of record about one resident, oldest first


def _loans_held(session: Session, resident_id: uuid.UUID) -> Iterator[LoanHeld]:
    from digiknow_desk.reporting.subject_access import LoanHeld, RenewalHeld

    rows = session.execute(
        select(LoanRow, DeviceRow)
        .join(DeviceRow, DeviceRow.id == LoanRow.device_id)
        .where(LoanRow.resident_id == resident_id)
        .order_by(LoanRow.issued_at)
    ).all()
    ids = [loan.id for loan, _device in rows]
    kits: dict[uuid.UUID, list[KitLine]] = {}
    for item in session.scalars(
        select(LoanKitRow).where(LoanKitRow.loan_id.in_(ids)).order_by(LoanKitRow.position)
    ):
        kits.setdefault(item.loan_id, []).append(KitLine(item.name, item.went_out, item.came_back))
    renewals: dict[uuid.UUID, list[RenewalHeld]] = {}
    for renewal in session.scalars(
        select(LoanRenewalRow).where(LoanRenewalRow.loan_id.in_(ids)).order_by(LoanRenewalRow.renewed_at)
    ):
        renewals.setdefault(renewal.loan_id, []).append(
            RenewalHeld(renewal.renewed_at, renewal.due_before, renewal.due_after, renewal.renewed_by)
        )
    for loan, device in rows:
        yield LoanHeld(
            device_tag=device.tag,
            device_type=device.device_type,
            device_description=" ".join(part for part in (device.make, device.model) if part),
            issued_at=loan.issued_at,
            issued_by=loan.issued_by,
            due_on=loan.due_on,
            accepted=loan.accepted,
            late_reason=loan.late_reason,
            renewals=tuple(renewals.get(loan.id, ())),
            kit=tuple(kits.get(loan.id, ())),
            closed_at=loan.closed_at,
            closed_by=loan.closed_by,
            outcome=loan.outcome,
            condition_back=loan.condition_back,
            fault=loan.fault,
            achieved=(
                LoanAchieved(loan.reason_met, bool(loan.own_device_after), bool(loan.own_connection_after))
                if loan.reason_met is not None
                else None
            ),
        )


def _waits_held(session: Session, resident_id: uuid.UUID) -> Iterator[WaitHeld]:
    from digiknow_desk.reporting.subject_access import WaitEventHeld, WaitHeld

    entries = list(
        session.scalars(
            select(WaitEntryRow)
            .where(WaitEntryRow.resident_id == resident_id)
            .order_by(WaitEntryRow.joined_at)
        )
    )
    events: dict[uuid.UUID, list[WaitEventHeld]] = {}
    for event in session.scalars(
        select(WaitEventRow)
        .where(WaitEventRow.entry_id.in_([entry.id for entry in entries]))
        .order_by(WaitEventRow.at)
    ):
        events.setdefault(event.entry_id, []).append(
            WaitEventHeld(event.at, event.by, event.what, event.reason)
        )
    tags = dict(
        session.execute(
            select(DeviceRow.id, DeviceRow.tag).where(
                DeviceRow.id.in_([entry.offered_device_id for entry in entries if entry.offered_device_id])
            )
        ).all()
    )
    for entry in entries:
        yield WaitHeld(
            device_type=entry.device_type,
            joined_at=entry.joined_at,
            status=entry.status,
            position=entry.position,
            offered_tag=tags.get(entry.offered_device_id, "") if entry.offered_device_id else "",
            offer_expires_on=entry.offer_expires_on,
            closed_at=entry.closed_at,
            events=tuple(events.get(entry.id, ())),
        )


def _sessions_held(session: Session, resident_id: uuid.UUID) -> Iterator[SessionHeld]:
    from digiknow_desk.reporting.subject_access import SessionHeld

    ids = select(SessionAttendeeRow.session_id).where(SessionAttendeeRow.resident_id == resident_id)
    rows = session.execute(
        select(SessionRow, VenueRow.name)
        .outerjoin(VenueRow, VenueRow.id == SessionRow.venue_id)
        .where(SessionRow.id.in_(ids))
        .order_by(SessionRow.held_on, SessionRow.starts_at, SessionRow.logged_at)
    ).all()
    session_ids = [support.id for support, _venue in rows]
    champions: dict[uuid.UUID, list[str]] = {}
    for session_id, name in session.execute(
        select(SessionChampionRow.session_id, ChampionRow.name)
        .join(ChampionRow, ChampionRow.id == SessionChampionRow.champion_id)
        .where(SessionChampionRow.session_id.in_(session_ids))
        .order_by(ChampionRow.name)
    ):
        champions.setdefault(session_id, []).append(name)
    topics: dict[uuid.UUID, list[str]] = {}
    for session_id, topic in session.execute(
        select(SessionTopicRow.session_id, SessionTopicRow.topic)
        .where(SessionTopicRow.session_id.in_(session_ids))
        .order_by(SessionTopicRow.topic)
    ):
        topics.setdefault(session_id, []).append(topic)
    attendees = dict(
        session.execute(
            select(SessionAttendeeRow.session_id, func.count())
            .where(SessionAttendeeRow.session_id.in_(session_ids))
            .group_by(SessionAttendeeRow.session_id)
        ).all()
    )
    for support, venue in rows:
        yield SessionHeld(
            held_on=support.held_on,
            starts_at=support.starts_at,
            minutes=support.minutes,
            kind=support.kind,
            venue=venue or "",
            champions=tuple(champions.get(support.id, ())),
            topics=tuple(topic_from(topic) for topic in topics.get(support.id, ())),
            others=int(attendees.get(support.id, 1)) - 1,
            outcome=support.outcome,
            follow_up_on=support.follow_up_on,
            follow_up=support.follow_up,
            follow_up_done_on=support.follow_up_done_on,
            logged_by=support.logged_by,
            logged_at=support.logged_at,
        )


def _checks_held(session: Session, resident_id: uuid.UUID) -> Iterator[SkillsCheck]:
    rows = list(
        session.scalars(
            select(SkillsCheckRow)
            .where(SkillsCheckRow.resident_id == resident_id)
            .order_by(SkillsCheckRow.checked_on, SkillsCheckRow.recorded_at)
        )
    )
    levels: dict[uuid.UUID, dict[SkillArea, SkillLevel]] = {}
    for check_id, area, level in session.execute(
        select(SkillsCheckLevelRow.check_id, SkillsCheckLevelRow.area, SkillsCheckLevelRow.level).where(
            SkillsCheckLevelRow.check_id.in_([row.id for row in rows])
        )
    ):
        levels.setdefault(check_id, {})[area] = level
    for number, row in enumerate(rows):
        yield SkillsCheck(
            id=row.id,
            resident_id=row.resident_id,
            checked_on=row.checked_on,
            checked_by=row.checked_by,
            levels=levels.get(row.id, {}),
            own_device=row.own_device,
            own_connection=row.own_connection,
            note=row.note,
            baseline=number == 0,
        )
