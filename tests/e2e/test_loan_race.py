"""One device, one open loan: two desks (two processes) racing to lend it, and the database constraint.

On SQLite the two desks queue for the file's write lock; on PostgreSQL they are two clients of one
server, and the partial unique index on open loans refuses a second whatever the timing."""

from __future__ import annotations

import multiprocessing
import queue
import re
import uuid
from datetime import datetime, timedelta
from multiprocessing.synchronize import Barrier
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from digiknow_desk.app import Services, build_services
from digiknow_desk.domain.devices import DeviceDraft, DeviceStatus, DeviceType
from digiknow_desk.domain.loans import LoanOutcome, LoanRefused
from digiknow_desk.domain.residents import ResidentDraft
from digiknow_desk.domain.staff import setup_staff
from digiknow_desk.storage.database import Database
from digiknow_desk.storage.models import DeviceRow, LoanRow

if TYPE_CHECKING:
    from tests.conftest import FakeClock

ROUNDS = 10
REFUSAL = r"(already on loan|has just been issued at another desk)"


def _desk(
    url: str, actor: str, reference: str, tags: list[str], now: datetime, barrier: Barrier, results: object
) -> None:
    """One desk in its own process: for each tag, wait for the other desk, then both issue at once."""
    database = Database(url)
    services = build_services(database, staff=setup_staff(actor), clock=lambda: now)
    try:
        for tag in tags:
            barrier.wait(timeout=60)
            try:
                loan = services.lending.issue(tag, reference)
                outcome = ("issued", loan.resident_reference)
            except LoanRefused as error:
                outcome = ("refused", str(error))
            except Exception as error:  # reported to the test, which fails on it
                outcome = ("error", repr(error))
            results.put((actor, tag, *outcome))  # type: ignore[attr-defined]
    finally:
        database.dispose()


def _open_loans(database: Database, tag: str) -> list[tuple[uuid.UUID, str]]:
    """(resident id, issued by) of each open loan of the device, read straight from the table."""
    with database.read() as session:
        rows = session.execute(
            select(LoanRow.resident_id, LoanRow.issued_by)
            .join(DeviceRow, DeviceRow.id == LoanRow.device_id)
            .where(DeviceRow.tag == tag, LoanRow.closed_at.is_(None))
        )
        return [(resident_id, issued_by) for resident_id, issued_by in rows]


def test_two_desks_racing_for_one_device_lend_it_once(
    services: Services, database: Database, clock: FakeClock
) -> None:
    tags = [f"TAB-{number:04d}" for number in range(1, ROUNDS + 1)]
    services.inventory.add_many([DeviceDraft(tag=tag, device_type=DeviceType.TABLET) for tag in tags])
    mary = services.residents.add(ResidentDraft(name="Mary Smith", phone="0161 474 4444"))
    john = services.residents.add(ResidentDraft(name="John Brown", phone="07700 900123"))
    url = database.url
    now = clock.now + timedelta(hours=1)

    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(2)
    results = context.Queue()
    desks = [
        context.Process(target=_desk, args=(url, actor, reference, tags, now, barrier, results))
        for actor, reference in (("Desk A", mary.reference), ("Desk B", john.reference))
    ]
    for desk in desks:
        desk.start()
    try:
        outcomes = [results.get(timeout=120) for _ in range(2 * ROUNDS)]
    except queue.Empty:
        pytest.fail("A desk process stopped before racing every device.")
    finally:
        for desk in desks:
            desk.join(timeout=60)
            if desk.is_alive():
                desk.kill()
        results.close()
        results.join_thread()
    assert [desk.exitcode for desk in desks] == [0, 0]

    winners = {mary.reference: 0, john.reference: 0}
    for tag in tags:
        for_tag = [outcome for outcome in outcomes if outcome[1] == tag]
        assert sorted(kind for _actor, _tag, kind, _detail in for_tag) == ["issued", "refused"], for_tag
        [(_, _, _, winner)] = [outcome for outcome in for_tag if outcome[2] == "issued"]
        [(_, _, _, message)] = [outcome for outcome in for_tag if outcome[2] == "refused"]
        assert message.startswith(f"{tag} ")
        assert re.search(REFUSAL, message), message
        # The database agrees: one open loan, to the desk that was told it won.
        [(resident_id, issued_by)] = _open_loans(database, tag)
        assert (resident_id, issued_by) == (
            (mary.id, "Desk A") if winner == mary.reference else (john.id, "Desk B")
        )
        assert services.inventory.get(tag).status == DeviceStatus.ON_LOAN
        winners[winner] += 1
    assert sum(winners.values()) == ROUNDS
    assert services.lending.count_open() == ROUNDS


def test_the_database_refuses_a_second_open_loan_for_one_device(
    services: Services, database: Database
) -> None:
    services.inventory.add(DeviceDraft(tag="TAB-0001", device_type=DeviceType.TABLET))
    mary = services.residents.add(ResidentDraft(name="Mary Smith", phone="0161 474 4444"))
    loan = services.lending.issue("TAB-0001", mary.reference)

    def a_loan(**fields: object) -> LoanRow:
        return LoanRow(
            device_id=loan.device_id,
            resident_id=loan.resident_id,
            issued_at=loan.issued_at,
            due_on=loan.due_on,
            issued_by="Another desk",
            **fields,
        )

    # SQLite names the column, PostgreSQL the partial unique index on open loans.
    refused = r"UNIQUE constraint failed: loans\.device_id|uq_loans_open_device"
    with pytest.raises(IntegrityError, match=refused):
        with database.write() as session:
            session.add(a_loan())
            session.flush()
    # The index covers open loans only: the device may have any number of closed ones.
    with database.write() as session:
        for _ in range(2):
            session.add(a_loan(closed_at=loan.issued_at, outcome=LoanOutcome.RETURNED))
    with database.read() as session:
        counts = session.execute(
            select(func.count(), func.count(LoanRow.closed_at)).where(LoanRow.device_id == loan.device_id)
        ).one()
    assert tuple(counts) == (3, 2)
    assert len(_open_loans(database, "TAB-0001")) == 1


def test_a_loan_refused_by_the_constraint_is_reported_as_issued_elsewhere(
    services: Services, database: Database
) -> None:
    """If the status check is passed (the other desk's loan landed in between), the database still
    refuses, and staff are told plainly."""
    services.inventory.add(DeviceDraft(tag="TAB-0001", device_type=DeviceType.TABLET))
    mary = services.residents.add(ResidentDraft(name="Mary Smith", phone="0161 474 4444"))
    john = services.residents.add(ResidentDraft(name="John Brown", phone="07700 900123"))
    services.lending.issue("TAB-0001", mary.reference)
    with database.write() as session:
        # What the second desk saw before the first desk's loan was committed.
        session.execute(
            update(DeviceRow).where(DeviceRow.tag == "TAB-0001").values(status=DeviceStatus.AVAILABLE)
        )

    with pytest.raises(LoanRefused, match="^TAB-0001 has just been issued at another desk.$"):
        services.lending.issue("tab-0001", john.reference)

    assert _open_loans(database, "TAB-0001") == [(mary.id, "Test Staff")]
    assert services.lending.loans_of(john.reference) == []
