"""Data protection: retention anonymises residents after the period, erasure removes a resident's data
from the database file itself, subject access exports everything held; counts in reports never move."""

from __future__ import annotations

import dataclasses
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_raw
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from digiknow_desk.app import Services
from digiknow_desk.domain.champions import Champion, ChampionDraft
from digiknow_desk.domain.devices import Condition, DeviceDraft, DeviceType
from digiknow_desk.domain.errors import NotFound, ValidationError
from digiknow_desk.domain.inclusion import InclusionStatus
from digiknow_desk.domain.loans import (
    LoanAchieved,
    LoanOutcome,
    LoanRefused,
    ReasonMet,
    WipeChecklist,
    WipeMethod,
)
from digiknow_desk.domain.residents import AgeBand, Answer, ConsentPurpose, Resident, ResidentDraft
from digiknow_desk.domain.sessions import CommonTask, SessionDraft, SessionKind
from digiknow_desk.domain.skills import SkillArea, SkillLevel, SkillsCheckDraft
from digiknow_desk.domain.staff import PermissionDenied, Role, StaffMember
from digiknow_desk.domain.venues import Venue, VenueDraft
from digiknow_desk.reporting.subject_access import (
    BODY_SIZE,
    LARGE_PRINT_SIZE,
    SECTION_TITLES,
    subject_access_json,
    subject_access_pdf,
)
from digiknow_desk.services import data_protection
from digiknow_desk.services.audit import AuditFilter
from digiknow_desk.services.context import ServiceContext
from digiknow_desk.services.data_protection import (
    ANONYMISED_NAME,
    REMOVED,
    DataProtectionService,
    ErasureRefused,
)
from digiknow_desk.services.files import SaveFailed
from digiknow_desk.storage.models import (
    AuditEntryRow,
    Base,
    DeviceStatusEventRow,
    ResidentConsentRow,
    ResidentRow,
    ResidentSearchTermRow,
    SessionRow,
    WaitEventRow,
    WipeRow,
)

if TYPE_CHECKING:
    from tests.conftest import FakeClock

WARD = "E05000788"  # Edgeley and Cheadle Heath
ALL_CONSENTS = frozenset(ConsentPurpose)
ALL_CHECKS = WipeChecklist(
    accounts_signed_out=True, reset_done=True, apps_restored=True, charger_present=True
)
NOW = datetime(2026, 3, 14, 10, 30, tzinfo=UTC)  # the conftest clock's time
PAST_MONTHS = (date(2025, 10, 1), date(2025, 11, 1), date(2026, 2, 1))

NAME = "Zebediah Quartermaine"
PHONE = "07700 900461"
EMAIL = "zebediah.q@example.org"
ADDRESS = "14 Quarry Lane, Heaton Moor"


def _at(day: date, hour: int = 11) -> datetime:
    """`hour` o'clock on `day` where the desk is (sessions and dates are the desk's)."""
    return datetime.combine(day, time(hour)).astimezone()


def _context(services: Services) -> ServiceContext:
    return ServiceContext(db=services.database, desk=services.desk, clock=services.clock)


@pytest.fixture
def protection(services: Services) -> DataProtectionService:
    return services.data_protection


@pytest.fixture
def venue(services: Services) -> Venue:
    return services.venues.add(VenueDraft(name="Edgeley Library", ward_code=WARD))


@pytest.fixture
def champion(services: Services, venue: Venue, clock: FakeClock) -> Champion:
    before, clock.now = clock.now, datetime(2023, 1, 2, 9, 0, tzinfo=UTC)
    added = services.champions.add(
        ChampionDraft(name="Priya Shah", phone="0161 474 1000", venue_ids=frozenset({venue.id}))
    )
    clock.now = before
    return added


def _register(services: Services, name: str, phone: str, **fields: Any) -> Resident:
    draft = ResidentDraft(name=name, phone=phone, ward_code=WARD, consents=ALL_CONSENTS, **fields)
    return services.residents.add(draft, duplicate_checked=True)


def _device(services: Services, tag: str, device_type: DeviceType = DeviceType.TABLET) -> None:
    services.inventory.add(
        DeviceDraft(tag=tag, device_type=device_type, make="Lenovo", model="Tab M10", kit=("Charger", "Case"))
    )


def _session(
    services: Services,
    champion: Champion,
    venue: Venue,
    held_on: date,
    references: tuple[str, ...],
    **fields: Any,
) -> None:
    kind = SessionKind.ONE_TO_ONE if len(references) == 1 else SessionKind.GROUP
    services.sessions.log(
        SessionDraft(
            held_on=held_on,
            starts_at=time(10, 0),
            minutes=60,
            kind=kind,
            venue_id=venue.id,
            champion_ids=(champion.id,),
            resident_references=references,
            **fields,
        )
    )


def _check(services: Services, reference: str, day: date, note: str = "") -> None:
    levels = dict.fromkeys(SkillArea, SkillLevel.ALONE)
    services.skills.record(
        reference,
        SkillsCheckDraft(levels=levels, checked_on=day, own_device=True, own_connection=True, note=note),
    )


def _reports(services: Services) -> list[dict[str, object]]:
    return [services.reports.as_json(services.reports.monthly(month)) for month in PAST_MONTHS]


def _anonymised_at(services: Services, reference: str) -> datetime | None:
    with services.database.read() as session:
        row = session.scalar(select(ResidentRow).where(ResidentRow.reference == reference))
        assert row is not None
        return row.anonymised_at


# A resident with one of everything


@dataclass(frozen=True)
class History:
    zebediah: Resident
    mary: Resident


def _history(services: Services, clock: FakeClock, champion: Champion, venue: Venue) -> History:
    """Zebediah Quartermaine with loans (one returned, one stolen), renewals, sessions alone and with
    Mary, a skills check, a waiting-list place moved for a reason, an edit, and their name typed into
    every free-text field that could take it; from October 2025 to now."""
    clock.now = _at(date(2025, 10, 6))
    _device(services, "TAB-0001")
    _device(services, "TAB-0002")
    zebediah = _register(
        services,
        NAME,
        "07700 900000",
        email=EMAIL,
        address=ADDRESS,
        postcode="SK4 4AB",
        age_band=AgeBand.AGE_65_74,
        access_needs="Zebediah uses a hearing loop",
        referral_partner="Age UK Stockport",
        disability=Answer.YES,
        on_benefits=Answer.NO,
        ethnicity="White British",
        language="Welsh",
    )
    mary = _register(services, "Mary Smith", "0161 474 4444", referral_partner="Age UK Stockport")
    services.residents.update(zebediah.reference, dataclasses.replace(zebediah.as_draft(), phone=PHONE))
    services.lending.join_waiting_list(zebediah.reference, DeviceType.LAPTOP)
    services.lending.join_waiting_list(mary.reference, DeviceType.LAPTOP)
    entry = next(e for e in services.lending.waiting_list() if e.resident_reference == zebediah.reference)
    services.lending.move_in_waiting_list(entry.id, 2, "Zebediah Quartermaine asked to wait: in hospital")

    services.lending.issue(
        "TAB-0001",
        zebediah.reference,
        issued_at=clock.now - timedelta(hours=2),
        late_reason="Zebediah Quartermaine came before we opened",
    )
    clock.now = _at(date(2025, 10, 20))
    services.lending.renew("TAB-0001")
    clock.now = _at(date(2025, 11, 10))
    services.lending.return_device(
        "TAB-0001",
        condition=Condition.GOOD,
        fault="Zebediah says the screen flickers",
        achieved=LoanAchieved(ReasonMet.YES, own_device=True, own_connection=True),
    )
    services.lending.record_wipe(
        "TAB-0001", WipeMethod.FACTORY_RESET, ALL_CHECKS, "Removed Zebediah's photos"
    )
    services.lending.issue("TAB-0002", zebediah.reference)
    clock.now = _at(date(2025, 11, 24))
    services.lending.record_lost(
        "TAB-0002", LoanOutcome.STOLEN, "Zebediah Quartermaine reported it stolen, police ref Sorrel/77"
    )

    _session(
        services,
        champion,
        venue,
        date(2025, 11, 24),
        (zebediah.reference,),
        topics=frozenset({CommonTask.NHS_APP}),
        outcome="Zebediah Quartermaine set up the NHS App; =cmd|' /C calc'!A0",
        follow_up_on=date(2025, 12, 1),
        follow_up=f"Ring Zebediah on {PHONE}",
    )
    _session(
        services,
        champion,
        venue,
        date(2025, 11, 24),
        (zebediah.reference, mary.reference),
        topics=frozenset({CommonTask.EMAIL}),
        outcome="Mary and Zebediah practised email",
    )
    _check(services, zebediah.reference, date(2025, 11, 24), note="Zebediah now emails his grandson")
    _check(services, mary.reference, date(2025, 11, 24))
    clock.now = NOW
    return History(zebediah, mary)


def _file_bytes(db_path: Path) -> bytes:
    """The database as stored: the file, its write-ahead log and its shared-memory index."""
    return b"".join(
        path.read_bytes()
        for path in (
            db_path,
            db_path.with_name(db_path.name + "-wal"),
            db_path.with_name(db_path.name + "-shm"),
        )
        if path.exists()
    )


def _rows(services: Services) -> bytes:
    """Every row of every table, as text: what the database holds, whichever it is."""
    with services.database.read() as session:
        rows = [row for table in Base.metadata.sorted_tables for row in session.execute(select(table))]
    return "\n".join(repr(tuple(row)) for row in rows).encode()


def _stored(services: Services, db_path: Path) -> bytes:
    """What the database keeps: a SQLite file's bytes (free pages and the log too); on a server, whose
    files are the server's to keep, every row."""
    return _file_bytes(db_path) if services.database.is_sqlite else _rows(services)


SECRETS = (
    "Zebediah",
    "Quartermaine",
    EMAIL,
    PHONE,
    "07700900461",
    "Quarry Lane",
    "hearing loop",
    "Sorrel/77",
)


def _traces(data: bytes) -> list[str]:
    """Which of Zebediah's details `data` holds, as UTF-8 or UTF-16 text."""
    found = []
    # Long enough never to turn up by chance (ids are stored as hex text, so short numbers could).
    for secret in SECRETS:
        for encoding in ("utf-8", "utf-16-le", "utf-16-be"):
            if secret.encode(encoding) in data or secret.lower().encode(encoding) in data:
                found.append(f"{secret} ({encoding})")
    return found


# Erasure


@pytest.mark.sqlite_only("reads the SQLite file's bytes, free pages included")
def test_erasure_removes_every_trace_of_the_resident_from_the_database_file(
    services: Services,
    protection: DataProtectionService,
    clock: FakeClock,
    champion: Champion,
    venue: Venue,
    db_path: Path,
) -> None:
    history = _history(services, clock, champion, venue)
    reports_before = _reports(services)
    statuses_before = services.inclusion.counts()
    entries_about = services.audit.count(AuditFilter(resident_id=history.zebediah.id))
    before = _traces(_file_bytes(db_path))
    # The search can fail: before erasure it finds each detail (the check reads what is really stored).
    assert {trace.split(" (")[0] for trace in before} == set(SECRETS)
    assert b"07700900000" in _file_bytes(db_path)  # the phone number before it was changed

    erasure = protection.erase(history.zebediah.reference, f"{NAME} asked by letter on 2 March")

    assert erasure.reference == history.zebediah.reference
    assert (erasure.loans, erasure.sessions, erasure.skills_checks) == (2, 2, 1)
    assert erasure.waiting_list_withdrawn == 1
    assert erasure.audit_entries_redacted == entries_about > 10
    assert erasure.file_cleared
    # Anonymous counts remain: past months' reports and today's statuses are exactly as they were.
    assert _reports(services) == reports_before
    assert services.inclusion.counts() == statuses_before
    services.database.dispose()
    stored = _file_bytes(db_path)
    assert _traces(stored) == []
    # Nor the phone number they had before it was changed (its old copies lay in freed space).
    assert b"07700 900000" not in stored and b"07700900000" not in stored
    assert b"Mary Smith" in stored  # the search reads the live data: another resident is still there


def test_erasure_leaves_no_trace_of_the_resident_in_any_table(
    services: Services, protection: DataProtectionService, clock: FakeClock, champion: Champion, venue: Venue
) -> None:
    history = _history(services, clock, champion, venue)
    # The search can fail: before erasure it finds each detail (the check reads what is really stored).
    assert {trace.split(" (")[0] for trace in _traces(_rows(services))} == set(SECRETS)

    protection.erase(history.zebediah.reference, f"{NAME} asked by letter on 2 March")

    assert _traces(_rows(services)) == []
    assert b"Mary Smith" in _rows(services)


def test_erasure_blanks_the_record_and_keeps_what_reports_count(
    services: Services, protection: DataProtectionService, clock: FakeClock, champion: Champion, venue: Venue
) -> None:
    history = _history(services, clock, champion, venue)
    reference = history.zebediah.reference

    protection.erase(reference, f"{NAME} asked by email")

    resident = services.residents.get(reference)
    assert resident.name == ANONYMISED_NAME
    assert (resident.phone, resident.email, resident.address, resident.postcode) == ("", "", "", "")
    assert (resident.access_needs, resident.ethnicity, resident.language, resident.consents) == (
        "",
        "",
        "",
        (),
    )
    # What the reports count stays: ward, age band, referral partner, equality answers, status.
    assert (resident.ward_code, resident.age_band, resident.referral_partner) == (
        WARD,
        AgeBand.AGE_65_74,
        "Age UK Stockport",
    )
    assert (resident.disability, resident.on_benefits) == (Answer.YES, Answer.NO)
    assert resident.inclusion_status is InclusionStatus.INDEPENDENT
    assert _anonymised_at(services, reference) == NOW
    assert services.residents.search("Zebediah") == []
    loans = services.lending.loans_of(reference)
    assert [(loan.device_tag, loan.outcome) for loan in loans] == [
        ("TAB-0002", LoanOutcome.STOLEN),
        ("TAB-0001", LoanOutcome.RETURNED),
    ]
    assert [(loan.late_reason, loan.fault) for loan in loans] == [
        ("", ""),
        ("", f"{REMOVED} says the screen flickers"),
    ]
    with services.database.read() as session:
        notes = sorted(session.scalars(select(SessionRow.outcome)))
        assert notes == ["", f"Mary and {REMOVED} practised email"]
        assert list(session.scalars(select(WipeRow.notes))) == [f"Removed {REMOVED}'s photos"]
        assert set(
            session.scalars(select(WaitEventRow.reason).where(WaitEventRow.what.startswith("moved")))
        ) == {""}
        reasons = set(session.scalars(select(DeviceStatusEventRow.reason)))
        assert {f"Issued to {reference}", "Stolen"} <= reasons
        assert not [reason for reason in reasons if "Zebediah" in reason]
        assert (
            session.scalar(select(func.count()).where(ResidentSearchTermRow.resident_id == resident.id)) == 0
        )
        assert session.scalar(select(func.count()).where(ResidentConsentRow.resident_id == resident.id)) == 0
        about = list(session.scalars(select(AuditEntryRow).where(AuditEntryRow.resident_id == resident.id)))
        assert about and all(e.redacted and e.details == "" and e.subject == "" for e in about)
    # The erasure itself is kept, by reference, with the reason minus the name.
    erased = services.audit.entries(AuditFilter(action="resident.erased"))
    assert [(e.subject, e.details, e.redacted) for e in erased] == [
        (reference, {"reason": f"{REMOVED} {REMOVED} asked by email"}, False)
    ]
    # Mary is untouched.
    assert services.residents.get(history.mary.reference).name == "Mary Smith"


def test_erasure_is_refused_while_a_device_is_on_loan_or_held_for_the_resident(
    services: Services, protection: DataProtectionService, clock: FakeClock
) -> None:
    _device(services, "TAB-0001")
    resident = _register(services, NAME, PHONE)
    services.lending.issue("TAB-0001", resident.reference)

    with pytest.raises(ErasureRefused, match="still has TAB-0001 on loan. Take the device back"):
        protection.erase(resident.reference, "Asked in person")

    assert services.residents.get(resident.reference).name == NAME
    services.lending.return_device("TAB-0001")
    services.lending.join_waiting_list(resident.reference, DeviceType.TABLET)
    services.lending.record_wipe("TAB-0001", WipeMethod.FACTORY_RESET, ALL_CHECKS)  # offered to them
    with pytest.raises(ErasureRefused, match="TAB-0001 is held for R-00001 .* Withdraw them"):
        protection.erase(resident.reference, "Asked in person")
    assert services.residents.get(resident.reference).name == NAME


def test_erasure_needs_a_reason_and_a_resident_that_exists(
    services: Services, protection: DataProtectionService
) -> None:
    resident = _register(services, NAME, PHONE)
    with pytest.raises(ValidationError, match="Say why the record is erased"):
        protection.erase(resident.reference, "   ")
    with pytest.raises(NotFound, match="No resident has the reference R-00099"):
        protection.erase("r99", "Asked in person")


def test_erasure_runs_the_steps_of_other_stores_in_its_transaction(services: Services) -> None:
    # The seam for issue 7's sync queue: a step sees the blanked record inside the erasing transaction,
    # and a step that fails undoes the whole erasure.
    seen: list[tuple[uuid.UUID, str]] = []

    def forget(session: Session, resident_id: uuid.UUID) -> int:
        name = session.scalar(select(ResidentRow.name).where(ResidentRow.id == resident_id))
        seen.append((resident_id, str(name)))
        return 0

    def fail(session: Session, resident_id: uuid.UUID) -> int:
        raise RuntimeError("the other store is unreachable")

    resident = _register(services, NAME, PHONE)
    with pytest.raises(RuntimeError, match="unreachable"):
        DataProtectionService(_context(services), erasure_steps=[forget, fail]).erase(
            resident.reference, "Asked"
        )
    assert services.residents.get(resident.reference).name == NAME

    DataProtectionService(_context(services), erasure_steps=[forget]).erase(resident.reference, "Asked")

    assert seen == [(resident.id, ANONYMISED_NAME)] * 2
    assert services.residents.get(resident.reference).name == ANONYMISED_NAME


# Retention


def test_retention_anonymises_exactly_the_residents_inactive_for_the_whole_period(
    services: Services, protection: DataProtectionService, clock: FakeClock
) -> None:
    _device(services, "TAB-0001")
    # Twenty-four months before 14 March 2026 is 14 March 2024: activity before that day is too old.
    clock.now = _at(date(2024, 3, 13))
    old = _register(services, "Olive Oldest", "0161 000 0001")
    on_loan = _register(services, "Leonard Lent", "0161 000 0002")
    services.lending.issue("TAB-0001", on_loan.reference)
    waiting = _register(services, "Wendy Waiting", "0161 000 0003")
    services.lending.join_waiting_list(waiting.reference, DeviceType.LAPTOP)
    clock.now = _at(date(2024, 3, 14), hour=0)  # the first moment of that day
    on_the_day = _register(services, "Dora Day", "0161 000 0004")
    clock.now = _at(date(2024, 3, 15))
    recent = _register(services, "Rita Recent", "0161 000 0005")
    clock.now = NOW

    assert protection.due_for_retention() == [old.reference]
    run = protection.run_retention()

    assert (run.months, run.inactive_since, run.anonymised, run.kept_active) == (
        24,
        date(2024, 3, 14),
        (old.reference,),
        2,
    )
    # The anonymised resident leaves the residents list; their record, blank, stays for the counts.
    assert services.residents.get(old.reference).name == ANONYMISED_NAME
    names = {r.reference: r.name for r in services.residents.search(limit=10)}
    assert names == {
        on_loan.reference: "Leonard Lent",
        waiting.reference: "Wendy Waiting",
        on_the_day.reference: "Dora Day",
        recent.reference: "Rita Recent",
    }
    entries = services.audit.entries(AuditFilter(action="resident.anonymised"))
    assert [(e.subject, e.details) for e in entries] == [
        (old.reference, {"retention_months": 24, "inactive_since": "2024-03-14"})
    ]
    # Safe to repeat: nothing more is due.
    assert protection.run_retention().anonymised == ()


def test_recent_activity_of_every_kind_keeps_a_resident(
    services: Services, protection: DataProtectionService, clock: FakeClock, champion: Champion, venue: Venue
) -> None:
    _device(services, "TAB-0001")
    clock.now = _at(date(2023, 6, 1))
    returned, attended, checked, waited, idle = (
        _register(services, name, f"0161 000 {number:04d}")
        for number, name in enumerate(
            ("Ron Returned", "Ada Attended", "Cal Checked", "Wes Waited", "Ida Idle")
        )
    )
    services.lending.issue("TAB-0001", returned.reference)
    services.lending.join_waiting_list(waited.reference, DeviceType.LAPTOP)
    clock.now = _at(date(2024, 6, 1))
    services.lending.return_device("TAB-0001")
    _session(services, champion, venue, date(2024, 6, 1), (attended.reference,))
    _check(services, checked.reference, date(2024, 6, 1))
    entry = services.lending.waiting_list()[0]
    services.lending.withdraw_from_waiting_list(entry.id, "Found a laptop")
    clock.now = NOW

    assert protection.run_retention().anonymised == (idle.reference,)
    clock.now = _at(date(2026, 6, 1))
    assert protection.run_retention().anonymised == ()
    clock.now = _at(date(2026, 6, 2))
    # Each kind of activity on 1 June 2024 kept its resident until 24 months after it.
    assert set(protection.run_retention().anonymised) == {
        returned.reference,
        attended.reference,
        checked.reference,
        waited.reference,
    }


def test_retention_keeps_past_reports_and_statuses_as_they_were_and_clears_the_file(
    services: Services,
    protection: DataProtectionService,
    clock: FakeClock,
    champion: Champion,
    venue: Venue,
    db_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(data_protection, "RETENTION_BATCH", 1)  # one resident to a transaction
    history = _history(services, clock, champion, venue)
    services.lending.withdraw_from_waiting_list(
        next(
            e.id
            for e in services.lending.waiting_list()
            if e.resident_reference == history.zebediah.reference
        ),
        "No longer needed",
    )
    services.lending.withdraw_from_waiting_list(services.lending.waiting_list()[0].id, "No longer needed")
    reports_before = _reports(services)
    statuses_before = services.inclusion.counts()

    clock.now = datetime(2028, 4, 1, 9, 0, tzinfo=UTC)
    run = protection.run_retention()

    assert set(run.anonymised) == {history.zebediah.reference, history.mary.reference}
    # No VACUUM here (the database may be large): secure_delete and the checkpoint clear the text.
    assert _traces(_stored(services, db_path)) == []
    clock.now = NOW
    assert _reports(services) == reports_before
    assert services.inclusion.recompute_all() == 0  # the kept records still give every status
    assert services.inclusion.counts() == statuses_before


def test_the_retention_period_is_a_setting_kept_in_the_audit_trail(
    services: Services, protection: DataProtectionService, clock: FakeClock
) -> None:
    clock.now = _at(date(2023, 1, 10))
    resident = _register(services, "Olive Oldest", "0161 000 0001")
    clock.now = NOW
    assert protection.retention().months == 24

    protection.set_retention(48)

    assert protection.retention().months == 48
    assert protection.due_for_retention() == []
    [changed] = services.audit.entries(AuditFilter(action="setting.changed"))
    assert (changed.subject, changed.details) == ("data_retention", {"before": None, "after": {"months": 48}})
    with pytest.raises(ValidationError, match="between 6 and 120 months"):
        protection.set_retention(3)
    protection.set_retention(36)
    assert protection.due_for_retention() == [resident.reference]


# Subject access


def test_subject_access_exports_everything_held_as_json_and_pdf(
    services: Services,
    protection: DataProtectionService,
    clock: FakeClock,
    champion: Champion,
    venue: Venue,
    tmp_path: Path,
) -> None:
    history = _history(services, clock, champion, venue)
    reference = history.zebediah.reference

    pdf_path, json_path = protection.export_subject_access(reference, tmp_path)

    assert (pdf_path.name, json_path.name) == (
        f"{reference} personal data 2026-03-14.pdf",
        f"{reference} personal data 2026-03-14.json",
    )
    held = json.loads(json_path.read_text(encoding="utf-8"))
    record = held["resident"]
    assert (record["name"], record["phone"], record["email"], record["address"]) == (
        NAME,
        PHONE,
        EMAIL,
        ADDRESS,
    )
    assert (record["disability"], record["on_benefits"], record["ethnicity"]) == (
        "yes",
        "no",
        "White British",
    )
    assert {consent["purpose"] for consent in record["consents"]} == {
        purpose.value for purpose in ConsentPurpose
    }
    assert [loan["device_tag"] for loan in held["loans"]] == ["TAB-0001", "TAB-0002"]
    first = held["loans"][0]
    assert [k["name"] for k in first["kit"]] == ["Charger", "Case"]
    assert [(r["due_before"], r["due_after"]) for r in first["renewals"]] == [("2025-11-03", "2025-12-01")]
    assert (first["late_reason"], first["fault"]) == (
        "Zebediah Quartermaine came before we opened",
        "Zebediah says the screen flickers",
    )
    assert held["loans"][1]["outcome"] == "stolen"
    [wait] = held["waiting_list"]
    assert (wait["device_type"], wait["status"]) == ("laptop", "waiting")
    assert [(e["what"], e["reason"]) for e in wait["events"]] == [
        ("joined", ""),
        ("moved to 2", "Zebediah Quartermaine asked to wait: in hospital"),
    ]
    alone, group = sorted(held["sessions"], key=lambda held_session: held_session["other_attendees"])
    assert (alone["champions"], alone["topics"], alone["other_attendees"]) == (["Priya Shah"], ["nhs_app"], 0)
    # Exact in the JSON, formula and all: it is data for a program, not a spreadsheet.
    assert alone["outcome"] == "Zebediah Quartermaine set up the NHS App; =cmd|' /C calc'!A0"
    assert (group["other_attendees"], group["outcome"]) == (1, "Mary and Zebediah practised email")
    # Other people are counted, never named nor listed by reference (Mary is R-00002).
    assert "Mary Smith" not in json_path.read_text(encoding="utf-8")
    assert history.mary.reference not in json_path.read_text(encoding="utf-8")
    [check] = held["skills_checks"]
    assert (check["levels"]["foundation"], check["note"]) == ("alone", "Zebediah now emails his grandson")
    assert [(c["from"], c["to"]) for c in held["inclusion_status_history"]][-1] == (
        "supported",
        "independent",
    )
    actions = [entry["action"] for entry in held["audit_trail"]]
    assert {"resident.added", "resident.changed", "loan.issued", "loan.renewed", "waitlist.moved"} <= set(
        actions
    )
    assert "session.logged" in actions  # the group session's entry names them only by reference

    pages = _pdf_pages(pdf_path.read_bytes())
    text_of_all = " ".join(pages)
    assert f"Personal data we hold about {NAME}" in pages[0]
    for number, title in enumerate(SECTION_TITLES, 1):
        assert f"{number}. {title}" in text_of_all
    for shown in (
        PHONE,
        EMAIL,
        "TAB-0002",
        "Stolen",
        "Priya Shah",
        "NHS App",
        "Can do alone",
        "Renewed a loan (TAB-0001)",
    ):
        assert shown in text_of_all
    assert "=cmd|' /C calc'!A0" in text_of_all
    assert "Mary Smith" not in text_of_all and history.mary.reference not in text_of_all
    assert all(f"of {len(pages)}" in page for page in pages)
    exported = services.audit.entries(AuditFilter(action="resident.data_exported"))
    assert [(e.subject, e.resident_id) for e in exported] == [(reference, history.zebediah.id)]


def test_subject_access_of_an_erased_resident_shows_only_what_is_left(
    services: Services, protection: DataProtectionService, clock: FakeClock, champion: Champion, venue: Venue
) -> None:
    history = _history(services, clock, champion, venue)
    protection.erase(history.zebediah.reference, "Asked by letter")

    held = protection.subject_access(history.zebediah.reference)

    assert held.resident.name == ANONYMISED_NAME
    assert held.anonymised_at == NOW
    assert len(held.loans) == 2 and len(held.sessions) == 2
    assert "Zebediah" not in json.dumps(subject_access_json(held))
    assert any(entry.action == "resident.erased" for entry in held.audit)


def test_an_export_that_cannot_be_saved_leaves_no_file_and_no_audit_entry(
    services: Services, protection: DataProtectionService, tmp_path: Path
) -> None:
    resident = _register(services, NAME, PHONE)
    with pytest.raises(SaveFailed, match="does not exist"):
        protection.export_subject_access(resident.reference, tmp_path / "nowhere")
    out = tmp_path / "out"
    (out / f"{resident.reference} personal data 2026-03-14.json").mkdir(parents=True)  # in the JSON's way

    with pytest.raises(SaveFailed, match="Could not save"):
        protection.export_subject_access(resident.reference, out)

    assert [path.name for path in out.iterdir()] == [f"{resident.reference} personal data 2026-03-14.json"]
    assert services.audit.entries(AuditFilter(action="resident.data_exported")) == []


def test_a_record_with_nothing_else_says_so_in_every_section_and_large_print_is_large(
    protection: DataProtectionService, services: Services
) -> None:
    resident = _register(services, NAME, PHONE, large_print=True)
    record = protection.subject_access(resident.reference)

    pdf = subject_access_pdf(record)

    text_of_all = " ".join(_pdf_pages(pdf))
    for sentence in (
        "No devices have been lent to you.",
        "You have not been on the waiting list.",
        "No support sessions are recorded for you.",
        "No skills checks are recorded for you.",
        "It has not changed since you registered.",
    ):
        assert sentence in text_of_all
    assert "Registered you (R-00001), by Test Staff." in text_of_all
    assert _font_size(pdf, PHONE) == LARGE_PRINT_SIZE
    ordinary = subject_access_pdf(
        dataclasses.replace(record, resident=dataclasses.replace(record.resident, large_print=False))
    )
    assert _font_size(ordinary, PHONE) == BODY_SIZE


def _font_size(pdf: bytes, phrase: str) -> float:
    document = pdfium.PdfDocument(pdf)
    try:
        text_page = document[0].get_textpage()
        index = text_page.get_text_range().index(phrase)
        return round(float(pdfium_raw.FPDFText_GetFontSize(text_page, index)), 1)
    finally:
        document.close()


def _pdf_pages(pdf: bytes) -> list[str]:
    document = pdfium.PdfDocument(pdf)
    try:
        return [" ".join(page.get_textpage().get_text_range().split()) for page in document]
    finally:
        document.close()


# Permissions


@pytest.mark.parametrize("role", [Role.DESK, Role.COORDINATOR, Role.CHAMPION])
def test_only_administrators_may_use_the_data_protection_tools(
    services: Services, protection: DataProtectionService, role: Role, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    resident = _register(services, NAME, PHONE)
    services.desk.staff = StaffMember(username="sam.jones", display_name="Sam Jones", role=role)
    service = protection
    calls = [
        service.retention,
        lambda: service.set_retention(36),
        service.due_for_retention,
        service.run_retention,
        lambda: service.erase(resident.reference, "Asked"),
        lambda: service.subject_access(resident.reference),
        lambda: service.export_subject_access(resident.reference, out),
    ]
    for call in calls:
        with pytest.raises(PermissionDenied, match="cannot use the data protection tools"):
            call()
    services.desk.staff = StaffMember(username="admin", display_name="Ada Admin", role=Role.ADMINISTRATOR)
    assert services.residents.get(resident.reference).name == NAME
    assert list(out.iterdir()) == []


def test_every_public_method_says_what_permission_it_needs() -> None:
    public = [name for name in vars(DataProtectionService) if not name.startswith("_")]
    assert public
    assert {
        name: getattr(getattr(DataProtectionService, name), "permission", None) for name in public
    } == dict.fromkeys(public, "protect_data")


def test_nothing_new_is_recorded_for_a_resident_whose_details_were_removed(
    services: Services, protection: DataProtectionService, champion: Champion, venue: Venue, clock: FakeClock
) -> None:
    gone = _register(services, NAME, "0161 000 0009")
    protection.erase(gone.reference, "Erasure request by letter")
    _device(services, "TAB-0001")
    removed = f"{gone.reference}'s details were removed"
    with pytest.raises(LoanRefused, match=removed):
        services.lending.issue("TAB-0001", gone.reference)
    with pytest.raises(LoanRefused, match=removed):
        services.lending.join_waiting_list(gone.reference, DeviceType.LAPTOP)
    session = SessionDraft(
        held_on=clock.now.astimezone().date(),
        starts_at=time(9, 0),
        minutes=30,
        kind=SessionKind.ONE_TO_ONE,
        venue_id=venue.id,
        champion_ids=(champion.id,),
        resident_references=(gone.reference,),
    )
    with pytest.raises(ValidationError, match=removed):
        services.sessions.log(session)
    with pytest.raises(ValidationError, match=removed):
        services.residents.update(gone.reference, ResidentDraft(name="Someone", phone="0161 000 0010"))
    assert gone.reference not in {r.reference for r in services.residents.search("")}
