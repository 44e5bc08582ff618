"""The lending desk: issue, return, renew, lose, wipe; the waiting list and its offers; data plans."""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Select, func, select, tuple_
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from digiknow_desk.domain.devices import Condition, DeviceStatus, DeviceType, normalise_tag
from digiknow_desk.domain.errors import NotFound, ValidationError
from digiknow_desk.domain.loans import (
    DataPlan,
    KitLine,
    LendingRules,
    Loan,
    LoanAchieved,
    LoanOutcome,
    LoanRefused,
    WaitEntry,
    WaitStatus,
    Wipe,
    WipeChecklist,
    WipeMethod,
    check_backdate,
    check_can_issue,
    is_backdated,
    match_kit,
)
from digiknow_desk.domain.residents import details_removed
from digiknow_desk.domain.staff import Permission
from digiknow_desk.services import audit
from digiknow_desk.services.context import ServiceContext, requires
from digiknow_desk.services.inclusion import update_statuses
from digiknow_desk.services.inventory import move_device
from digiknow_desk.services.residents import normalise_reference
from digiknow_desk.services.settings import write_setting
from digiknow_desk.storage.models import (
    DataPlanRow,
    DeviceKitItemRow,
    DeviceRow,
    LoanKitRow,
    LoanRenewalRow,
    LoanRow,
    ResidentRow,
    SettingRow,
    WaitEntryRow,
    WaitEventRow,
    WipeRow,
)

RULES_KEY = "lending_rules"
PAGE_SIZE = 100
OPEN_LOAN_INDEX = "uq_loans_open_device"


def _aware(when: datetime) -> datetime:
    """A time typed without a zone is the desk's local time."""
    return when if when.tzinfo is not None else when.astimezone()


def _is_open_loan_clash(error: IntegrityError) -> bool:
    """Whether the database refused a second open loan for one device (SQLite names the column,
    PostgreSQL the index)."""
    text = str(error.orig)
    return OPEN_LOAN_INDEX in text or "loans.device_id" in text


@dataclass(frozen=True)
class WipeResult:
    wipe: Wipe
    offered_to: WaitEntry | None  # the next resident waiting for this type, now offered the device


def _loan_query() -> Select[LoanRow, DeviceRow, ResidentRow]:
    return (
        select(LoanRow, DeviceRow, ResidentRow)
        .join(DeviceRow, DeviceRow.id == LoanRow.device_id)
        .join(ResidentRow, ResidentRow.id == LoanRow.resident_id)
    )


def _load_loans(session: Session, query: Select[LoanRow, DeviceRow, ResidentRow]) -> list[Loan]:
    rows = session.execute(query).all()
    kits: dict[uuid.UUID, list[KitLine]] = {}
    ids = [loan.id for loan, _device, _resident in rows]
    for start in range(0, len(ids), 500):
        for item in session.scalars(
            select(LoanKitRow)
            .where(LoanKitRow.loan_id.in_(ids[start : start + 500]))
            .order_by(LoanKitRow.position)
        ):
            kits.setdefault(item.loan_id, []).append(KitLine(item.name, item.went_out, item.came_back))
    return [
        Loan(
            id=loan.id,
            device_id=device.id,
            device_tag=device.tag,
            device_type=device.device_type,
            device_description=" ".join(part for part in (device.make, device.model) if part),
            resident_id=resident.id,
            resident_reference=resident.reference,
            resident_name=resident.name,
            resident_contact=resident.phone or resident.email or resident.address,
            issued_at=loan.issued_at,
            due_on=loan.due_on,
            renewals=loan.renewals,
            closed_at=loan.closed_at,
            outcome=loan.outcome,
            issued_by=loan.issued_by,
            accepted=loan.accepted,
            late_reason=loan.late_reason,
            kit=tuple(kits.get(loan.id, ())),
            condition_back=loan.condition_back,
            fault=loan.fault,
            achieved=(
                LoanAchieved(loan.reason_met, bool(loan.own_device_after), bool(loan.own_connection_after))
                if loan.reason_met is not None
                else None
            ),
        )
        for loan, device, resident in rows
    ]


class LendingService:
    def __init__(self, context: ServiceContext) -> None:
        self._context = context

    # Rules

    @requires(Permission.SIGNED_IN)
    def rules(self) -> LendingRules:
        with self._context.db.read() as session:
            return self._rules(session)

    @requires(Permission.CHANGE_SETTINGS)
    def set_rules(self, rules: LendingRules) -> None:
        problems = {}
        if any(not 1 <= days <= 365 for days in rules.loan_days.values()):
            problems["loan_days"] = "A loan period must be between 1 and 365 days."
        if not 0 <= rules.renewal_limit <= 20:
            problems["renewal_limit"] = "Allow between 0 and 20 renewals."
        if not 1 <= rules.offer_days <= 60:
            problems["offer_days"] = "Hold an offer for between 1 and 60 days."
        if not 1 <= rules.sim_warning_days <= 90:
            problems["sim_warning_days"] = "Warn between 1 and 90 days before a SIM expires."
        if problems:
            raise ValidationError(problems)
        value = {
            "loan_days": {kind.value: days for kind, days in rules.loan_days.items()},
            "renewal_limit": rules.renewal_limit,
            "offer_days": rules.offer_days,
            "sim_warning_days": rules.sim_warning_days,
        }
        with self._context.db.write() as session:
            write_setting(session, self._context, RULES_KEY, value)

    # Loans

    @requires(Permission.LEND)
    def issue(
        self,
        tag: str,
        reference: str,
        *,
        due_on: date | None = None,
        kit_out: Sequence[str] | None = None,
        accepted: bool = True,
        issued_at: datetime | None = None,
        late_reason: str = "",
    ) -> Loan:
        """Lend the device to the resident. `kit_out` is the kit ticked out (default: all of it);
        `issued_at` backdates a loan that was not recorded at the time, with `late_reason`."""
        now = self._context.now()
        when = _aware(issued_at) if issued_at is not None else now
        check_backdate(when, now, late_reason)
        try:
            with self._context.db.write() as session:
                device = self._device(session, tag, for_update=True)
                resident = self._resident(session, reference)
                if resident.anonymised_at is not None:
                    raise LoanRefused(details_removed(resident.reference))
                check_can_issue(device.tag, device.status)
                if is_backdated(when, now):
                    # A forgotten issue cannot start while the device was still out on, or back
                    # from, an earlier loan: the two loans would overlap.
                    check_backdate(
                        when,
                        now,
                        late_reason,
                        self._last_back(session, device),
                        earliest_event=f"{device.tag} last came back or was wiped",
                    )
                rules = self._rules(session)
                self._check_offer(session, device, resident)
                due = due_on or rules.due_on(device.device_type, when.astimezone().date())
                if due < when.astimezone().date():
                    raise LoanRefused("The due date is before the loan starts: check the date.")
                loan = LoanRow(
                    device_id=device.id,
                    resident_id=resident.id,
                    issued_at=when,
                    due_on=due,
                    renewals=0,
                    issued_by=self._context.actor,
                    accepted=accepted,
                    late_reason=late_reason.strip(),
                )
                session.add(loan)
                kit = [
                    item.name
                    for item in session.scalars(
                        select(DeviceKitItemRow)
                        .where(DeviceKitItemRow.device_id == device.id)
                        .order_by(DeviceKitItemRow.position)
                    )
                ]
                ticked, unknown = match_kit(kit, kit if kit_out is None else kit_out)
                if unknown:
                    raise LoanRefused(f"{device.tag}'s kit has no {', '.join(unknown)}.")
                session.flush()
                for position, name in enumerate(kit):
                    session.add(
                        LoanKitRow(loan_id=loan.id, position=position, name=name, went_out=name in ticked)
                    )
                reason = f"Issued to {resident.reference}" + (
                    f" (recorded late: {late_reason.strip()})" if late_reason.strip() else ""
                )
                move_device(session, device, DeviceStatus.ON_LOAN, self._context.actor, reason, when)
                self._fulfil_wait(session, resident.id, device)
                session.flush()
                update_statuses(session, when, [resident.id])
                audit.record(
                    session,
                    self._context,
                    "loan.issued",
                    device.tag,
                    resident_id=resident.id,
                    details={"resident": resident.reference, "due_on": due, "issued_at": when},
                )
                return _load_loans(session, _loan_query().where(LoanRow.id == loan.id))[0]
        except IntegrityError as error:
            if not _is_open_loan_clash(error):
                raise
            # Another desk issued the same device a moment ago: the open-loan index refused this one.
            raise LoanRefused(f"{normalise_tag(tag)} has just been issued at another desk.") from error

    @requires(Permission.LEND)
    def return_device(
        self,
        tag: str,
        *,
        kit_back: Sequence[str] | None = None,
        condition: Condition | None = None,
        fault: str = "",
        returned_at: datetime | None = None,
        late_reason: str = "",
        achieved: LoanAchieved | None = None,
    ) -> Loan:
        """Close the device's open loan; `kit_back` is the kit ticked back (default: all that went out).
        Missing kit is recorded, not blocking. The device then awaits a wipe. `achieved` is what the
        resident said the loan did for them, when asked."""
        now = self._context.now()
        when = _aware(returned_at) if returned_at is not None else now
        with self._context.db.write() as session:
            device = self._device(session, tag, for_update=True)
            loan = self._open_loan(session, device)
            check_backdate(when, now, late_reason, earliest=loan.issued_at)
            items = list(
                session.scalars(
                    select(LoanKitRow).where(LoanKitRow.loan_id == loan.id).order_by(LoanKitRow.position)
                )
            )
            if kit_back is None:
                back = {item.name for item in items if item.went_out}
            else:
                back, unknown = match_kit([item.name for item in items], kit_back)
                if unknown:
                    raise LoanRefused(f"{device.tag}'s kit has no {', '.join(unknown)}.")
            for item in items:
                item.came_back = item.went_out and item.name in back
            missing = [item.name for item in items if item.went_out and not item.came_back]
            loan.closed_at = when
            loan.closed_by = self._context.actor
            loan.outcome = LoanOutcome.RETURNED
            loan.condition_back = condition.value if condition else ""
            loan.fault = fault.strip()
            if late_reason.strip():
                loan.late_reason = "; ".join(
                    part for part in (loan.late_reason, f"returned late: {late_reason.strip()}") if part
                )
            if condition is not None:
                device.condition = condition
            if achieved is not None:
                loan.reason_met = achieved.reason_met
                loan.own_device_after = achieved.own_device
                loan.own_connection_after = achieved.own_connection
            reason = (
                "Returned"
                + (f"; missing: {', '.join(missing)}" if missing else "")
                + (f"; fault: {fault.strip()}" if fault.strip() else "")
            )
            move_device(session, device, DeviceStatus.AWAITING_WIPE, self._context.actor, reason, when)
            session.flush()
            update_statuses(session, when, [loan.resident_id])
            audit.record(
                session,
                self._context,
                "loan.returned",
                device.tag,
                resident_id=loan.resident_id,
                details={
                    "returned_at": when,
                    "missing_kit": missing,
                    "condition": loan.condition_back or None,
                },
            )
            return _load_loans(session, _loan_query().where(LoanRow.id == loan.id))[0]

    @requires(Permission.LEND)
    def renew(self, tag: str) -> Loan:
        """Extend the open loan by the device type's loan period, up to the renewal limit; the renewal is
        kept with its time, who made it and the due dates it moved between (the monthly report counts
        renewals by the month they were made in)."""
        now = self._context.now()
        with self._context.db.write() as session:
            device = self._device(session, tag, for_update=True)
            loan = self._open_loan(session, device)
            rules = self._rules(session)
            if loan.renewals >= rules.renewal_limit:
                raise LoanRefused(
                    f"This loan has been renewed {loan.renewals} times, the limit. "
                    "Return the device, or ask a coordinator to raise the limit."
                )
            due_before = loan.due_on
            loan.due_on = rules.due_on(device.device_type, max(due_before, now.astimezone().date()))
            loan.renewals += 1
            session.add(
                LoanRenewalRow(
                    loan_id=loan.id,
                    renewed_at=now,
                    due_before=due_before,
                    due_after=loan.due_on,
                    renewed_by=self._context.actor,
                )
            )
            audit.record(
                session,
                self._context,
                "loan.renewed",
                device.tag,
                resident_id=loan.resident_id,
                details={"due_on": [due_before, loan.due_on]},
            )
            session.flush()
            return _load_loans(session, _loan_query().where(LoanRow.id == loan.id))[0]

    @requires(Permission.LEND)
    def record_lost(self, tag: str, outcome: LoanOutcome, reason: str) -> Loan:
        """Close the open loan as lost or stolen; the device is quarantined."""
        if outcome == LoanOutcome.RETURNED:
            raise LoanRefused("Use Return for a device that came back.")
        if not reason.strip():
            raise ValidationError(
                {"reason": "Say what happened (e.g. 'Resident reported it stolen, crime ref 123')."}
            )
        now = self._context.now()
        with self._context.db.write() as session:
            device = self._device(session, tag, for_update=True)
            loan = self._open_loan(session, device)
            loan.closed_at, loan.closed_by, loan.outcome = now, self._context.actor, outcome
            loan.fault = reason.strip()
            move_device(
                session,
                device,
                DeviceStatus.QUARANTINED,
                self._context.actor,
                f"{outcome.label}: {reason.strip()}",
                now,
            )
            session.flush()
            update_statuses(session, now, [loan.resident_id])
            audit.record(
                session,
                self._context,
                "loan.closed_lost",
                device.tag,
                resident_id=loan.resident_id,
                details={"outcome": outcome.value},
            )
            return _load_loans(session, _loan_query().where(LoanRow.id == loan.id))[0]

    @requires(Permission.LEND)
    def open_loan(self, tag: str) -> Loan | None:
        with self._context.db.read() as session:
            found = _load_loans(
                session, _loan_query().where(DeviceRow.tag == normalise_tag(tag), LoanRow.closed_at.is_(None))
            )
            return found[0] if found else None

    @requires(Permission.LEND)
    def loans_of(self, reference: str) -> list[Loan]:
        """Every loan of the resident, newest first."""
        with self._context.db.read() as session:
            resident = self._resident(session, reference)
            query = _loan_query().where(LoanRow.resident_id == resident.id).order_by(LoanRow.issued_at.desc())
            return _load_loans(session, query)

    @requires(Permission.LEND)
    def overdue(self, today: date | None = None) -> list[Loan]:
        """Open loans past their due date, most overdue first."""
        day = today or self._context.today()
        with self._context.db.read() as session:
            query = (
                _loan_query()
                .where(LoanRow.closed_at.is_(None), LoanRow.due_on < day)
                .order_by(LoanRow.due_on)
            )
            return _load_loans(session, query)

    @requires(Permission.LEND)
    def open_loans(
        self, *, due_by: date | None = None, limit: int = PAGE_SIZE, offset: int = 0
    ) -> list[Loan]:
        """Open loans by due date, optionally only those due on or before `due_by`."""
        with self._context.db.read() as session:
            query = _loan_query().where(LoanRow.closed_at.is_(None))
            if due_by is not None:
                query = query.where(LoanRow.due_on <= due_by)
            return _load_loans(
                session, query.order_by(LoanRow.due_on, LoanRow.id).limit(limit).offset(offset)
            )

    @requires(Permission.LEND)
    def count_open(self, *, due_by: date | None = None) -> int:
        with self._context.db.read() as session:
            query = select(func.count()).select_from(LoanRow).where(LoanRow.closed_at.is_(None))
            if due_by is not None:
                query = query.where(LoanRow.due_on <= due_by)
            return int(session.scalar(query) or 0)

    # Wipes

    @requires(Permission.LEND)
    def record_wipe(
        self, tag: str, method: WipeMethod, checklist: WipeChecklist, notes: str = ""
    ) -> WipeResult:
        """Record the wipe of a returned device; with every check ticked it becomes lendable, and is
        offered to the next resident waiting for its type."""
        if missing := checklist.missing():
            raise LoanRefused(f"Before the device can be lent again, tick: {', '.join(missing)}.")
        now = self._context.now()
        with self._context.db.write() as session:
            device = self._device(session, tag, for_update=True)
            if device.status != DeviceStatus.AWAITING_WIPE:
                raise LoanRefused(f"{device.tag} is {device.status.label.lower()}, not awaiting a wipe.")
            wipe = WipeRow(
                device_id=device.id,
                wiped_at=now,
                wiped_by=self._context.actor,
                method=method,
                accounts_signed_out=checklist.accounts_signed_out,
                reset_done=checklist.reset_done,
                apps_restored=checklist.apps_restored,
                charger_present=checklist.charger_present,
                notes=notes.strip(),
            )
            session.add(wipe)
            move_device(
                session, device, DeviceStatus.AVAILABLE, self._context.actor, f"Wiped ({method.label})", now
            )
            offered = self._offer_next(session, device)
            audit.record(session, self._context, "device.wiped", device.tag, details={"method": method.value})
            session.flush()
            return WipeResult(wipe=self._wipe_record(wipe, device), offered_to=offered)

    @requires(Permission.LEND)
    def last_wipe(self, tag: str) -> Wipe:
        with self._context.db.read() as session:
            device = self._device(session, tag)
            wipe = session.scalar(
                select(WipeRow)
                .where(WipeRow.device_id == device.id)
                .order_by(WipeRow.wiped_at.desc())
                .limit(1)
            )
            if wipe is None:
                raise NotFound(f"No wipe has been recorded for {device.tag}.")
            return self._wipe_record(wipe, device)

    # Data plans

    @requires(Permission.LEND)
    def set_data_plan(self, tag: str, plan: DataPlan) -> None:
        with self._context.db.write() as session:
            device = self._device(session, tag)
            if device.device_type not in (DeviceType.DATA_SIM, DeviceType.MIFI, DeviceType.PHONE):
                raise LoanRefused(
                    f"{device.tag} is a {device.device_type.label.lower()}: "
                    "data plans go with SIMs, MiFis and phones."
                )
            if plan.activated_on and plan.expires_on and plan.expires_on < plan.activated_on:
                raise ValidationError({"expires_on": "The expiry date is before the activation date."})
            session.merge(
                DataPlanRow(
                    device_id=device.id,
                    network=plan.network.strip(),
                    source=plan.source.strip(),
                    allowance=plan.allowance.strip(),
                    activated_on=plan.activated_on,
                    expires_on=plan.expires_on,
                )
            )
            audit.record(
                session,
                self._context,
                "device.data_plan",
                device.tag,
                details={"network": plan.network.strip(), "expires_on": plan.expires_on},
            )

    @requires(Permission.LEND)
    def data_plan(self, tag: str) -> DataPlan | None:
        with self._context.db.read() as session:
            device = self._device(session, tag)
            row = session.get(DataPlanRow, device.id)
            return (
                None
                if row is None
                else DataPlan(row.network, row.source, row.allowance, row.activated_on, row.expires_on)
            )

    @requires(Permission.LEND)
    def sims_expiring(self, today: date | None = None) -> list[tuple[Loan, DataPlan]]:
        """Open loans whose data plan expires within the warning period (14 days by default)."""
        day = today or self._context.today()
        with self._context.db.read() as session:
            limit = day + timedelta(days=self._rules(session).sim_warning_days)
            query = (
                _loan_query()
                .join(DataPlanRow, DataPlanRow.device_id == LoanRow.device_id)
                .where(LoanRow.closed_at.is_(None), DataPlanRow.expires_on <= limit)
                .order_by(DataPlanRow.expires_on)
            )
            loans = _load_loans(session, query)
            plans = {
                row.device_id: row
                for row in session.scalars(
                    select(DataPlanRow).where(DataPlanRow.device_id.in_([loan.device_id for loan in loans]))
                )
            }
            return [
                (loan, DataPlan(p.network, p.source, p.allowance, p.activated_on, p.expires_on))
                for loan in loans
                for p in [plans[loan.device_id]]
            ]

    # Waiting list

    @requires(Permission.LEND)
    def join_waiting_list(self, reference: str, device_type: DeviceType) -> WaitEntry:
        now = self._context.now()
        with self._context.db.write() as session:
            resident = self._resident(session, reference)
            if resident.anonymised_at is not None:
                raise LoanRefused(details_removed(resident.reference))
            already = session.scalar(
                select(WaitEntryRow).where(
                    WaitEntryRow.resident_id == resident.id,
                    WaitEntryRow.device_type == device_type,
                    WaitEntryRow.status.in_([WaitStatus.WAITING, WaitStatus.OFFERED]),
                )
            )
            if already is not None:
                raise LoanRefused(
                    f"{resident.reference} is already waiting for a {device_type.label.lower()}."
                )
            last = session.scalar(
                select(func.max(WaitEntryRow.position)).where(WaitEntryRow.device_type == device_type)
            )
            entry = WaitEntryRow(
                resident_id=resident.id,
                device_type=device_type,
                position=(last or 0) + 1,
                joined_at=now,
                status=WaitStatus.WAITING,
            )
            session.add(entry)
            session.flush()
            self._event(session, entry, "joined", "", now)
            return self._wait_entries(session, select(WaitEntryRow).where(WaitEntryRow.id == entry.id))[0]

    @requires(Permission.LEND)
    def waiting_list(self, device_type: DeviceType | None = None) -> list[WaitEntry]:
        """Everyone waiting or holding an offer, in priority order within each type."""
        with self._context.db.read() as session:
            query = select(WaitEntryRow).where(
                WaitEntryRow.status.in_([WaitStatus.WAITING, WaitStatus.OFFERED])
            )
            if device_type is not None:
                query = query.where(WaitEntryRow.device_type == device_type)
            return self._wait_entries(
                session, query.order_by(WaitEntryRow.device_type, WaitEntryRow.position)
            )

    @requires(Permission.PRIORITISE)
    def move_in_waiting_list(self, entry_id: uuid.UUID, new_place: int, reason: str) -> list[WaitEntry]:
        """Put one entry at `new_place` (1 = next) among those waiting for its type, saying why."""
        if not reason.strip():
            raise ValidationError(
                {"reason": "Say why the order changes (e.g. 'Care leaver: priority group')."}
            )
        now = self._context.now()
        with self._context.db.write() as session:
            entry = session.get(WaitEntryRow, entry_id, with_for_update=True)
            if entry is None or entry.status != WaitStatus.WAITING:
                raise NotFound("That resident is no longer waiting; refresh the list.")
            queue = list(
                session.scalars(
                    select(WaitEntryRow)
                    .where(
                        WaitEntryRow.device_type == entry.device_type,
                        WaitEntryRow.status == WaitStatus.WAITING,
                    )
                    .order_by(WaitEntryRow.position)
                )
            )
            # The waiting entries share out their own positions in the new order, so the places of
            # residents holding an offer (not in this queue) are never taken twice.
            positions = [row.position for row in queue]
            queue.remove(entry)
            queue.insert(max(0, min(new_place - 1, len(queue))), entry)
            for position, row in zip(positions, queue, strict=True):
                row.position = position
            self._event(session, entry, f"moved to {new_place}", reason.strip(), now)
            session.flush()
            return self._wait_entries(
                session,
                select(WaitEntryRow)
                .where(
                    WaitEntryRow.device_type == entry.device_type,
                    WaitEntryRow.status.in_([WaitStatus.WAITING, WaitStatus.OFFERED]),
                )
                .order_by(WaitEntryRow.position),
            )

    @requires(Permission.LEND)
    def withdraw_from_waiting_list(self, entry_id: uuid.UUID, reason: str) -> None:
        now = self._context.now()
        with self._context.db.write() as session:
            entry = session.get(WaitEntryRow, entry_id, with_for_update=True)
            if entry is None or entry.status not in (WaitStatus.WAITING, WaitStatus.OFFERED):
                raise NotFound("That resident is no longer waiting; refresh the list.")
            offered = entry.offered_device_id
            entry.status, entry.closed_at, entry.offered_device_id = WaitStatus.WITHDRAWN, now, None
            self._event(session, entry, "withdrawn", reason.strip(), now)
            if offered is not None:
                device = session.get(DeviceRow, offered)
                if device is not None and device.status == DeviceStatus.AVAILABLE:
                    self._offer_next(session, device)

    @requires(Permission.LEND)
    def expire_offers(self, today: date | None = None) -> list[WaitEntry]:
        """Pass each offer not collected in time to the next resident waiting; returns the new offers."""
        day = today or self._context.today()
        now = self._context.now()
        with self._context.db.write() as session:
            expired = list(
                session.scalars(
                    select(WaitEntryRow)
                    .where(WaitEntryRow.status == WaitStatus.OFFERED, WaitEntryRow.offer_expires_on < day)
                    .order_by(WaitEntryRow.device_type, WaitEntryRow.position)
                    .with_for_update()
                )
            )
            new_offers = []
            for entry in expired:
                device = session.get(DeviceRow, entry.offered_device_id)
                entry.status, entry.offered_device_id, entry.offer_expires_on = WaitStatus.WAITING, None, None
                # Back of the queue: they keep their place on the list but the device goes to the next.
                last = session.scalar(
                    select(func.max(WaitEntryRow.position)).where(
                        WaitEntryRow.device_type == entry.device_type
                    )
                )
                entry.position = (last or 0) + 1
                self._event(session, entry, "offer expired", "", now)
                session.flush()
                if device is not None and device.status == DeviceStatus.AVAILABLE:
                    offered = self._offer_next(session, device, skip=entry.id, today=day)
                    if offered is not None:
                        new_offers.append(offered)
            return new_offers

    # Helpers

    def _rules(self, session: Session) -> LendingRules:
        row = session.get(SettingRow, RULES_KEY)
        if row is None:
            return LendingRules()
        data: Mapping[str, Any] = json.loads(row.value)
        loan_days = dict.fromkeys(DeviceType, 28) | {
            DeviceType(k): int(v) for k, v in data["loan_days"].items()
        }
        return LendingRules(
            loan_days=loan_days,
            renewal_limit=int(data["renewal_limit"]),
            offer_days=int(data["offer_days"]),
            sim_warning_days=int(data["sim_warning_days"]),
        )

    @staticmethod
    def _device(session: Session, tag: str, *, for_update: bool = False) -> DeviceRow:
        query = select(DeviceRow).where(DeviceRow.tag == normalise_tag(tag))
        row = session.scalar(query.with_for_update() if for_update else query)
        if row is None:
            raise NotFound(f"No device has the tag '{normalise_tag(tag)}'. Check the label.")
        return row

    @staticmethod
    def _resident(session: Session, reference: str) -> ResidentRow:
        row = session.scalar(
            select(ResidentRow).where(ResidentRow.reference == normalise_reference(reference))
        )
        if row is None:
            raise NotFound(
                f"No resident has the reference {normalise_reference(reference)}. Search by name instead."
            )
        return row

    @staticmethod
    def _last_back(session: Session, device: DeviceRow) -> datetime | None:
        """When the device last came back from a loan or was wiped, if ever."""
        times = [
            session.scalar(select(func.max(LoanRow.closed_at)).where(LoanRow.device_id == device.id)),
            session.scalar(select(func.max(WipeRow.wiped_at)).where(WipeRow.device_id == device.id)),
        ]
        known = [_aware(t) for t in times if t is not None]
        return max(known) if known else None

    @staticmethod
    def _open_loan(session: Session, device: DeviceRow) -> LoanRow:
        loan = session.scalar(
            select(LoanRow)
            .where(LoanRow.device_id == device.id, LoanRow.closed_at.is_(None))
            .with_for_update()
        )
        if loan is None:
            raise LoanRefused(f"{device.tag} is not on loan.")
        return loan

    def _check_offer(self, session: Session, device: DeviceRow, resident: ResidentRow) -> None:
        """A device held for someone on the waiting list goes only to them while the offer stands."""
        holder = session.scalar(
            select(WaitEntryRow).where(
                WaitEntryRow.offered_device_id == device.id, WaitEntryRow.status == WaitStatus.OFFERED
            )
        )
        if holder is not None and holder.resident_id != resident.id:
            other = session.get(ResidentRow, holder.resident_id)
            assert other is not None
            raise LoanRefused(
                f"{device.tag} is held for {other.reference} from the waiting list until "
                f"{holder.offer_expires_on:%d %b}. Withdraw the offer first, or choose another device."
            )

    def _fulfil_wait(self, session: Session, resident_id: uuid.UUID, device: DeviceRow) -> None:
        entry = session.scalar(
            select(WaitEntryRow).where(
                WaitEntryRow.resident_id == resident_id,
                WaitEntryRow.device_type == device.device_type,
                WaitEntryRow.status.in_([WaitStatus.WAITING, WaitStatus.OFFERED]),
            )
        )
        if entry is not None:
            now = self._context.now()
            held = entry.offered_device_id if entry.status == WaitStatus.OFFERED else None
            entry.status, entry.closed_at = WaitStatus.FULFILLED, now
            self._event(session, entry, "fulfilled", device.tag, now)
            if held is not None and held != device.id:
                # They took another device of the type: the one held for them goes to the next.
                session.flush()
                other = session.get(DeviceRow, held)
                if other is not None and other.status == DeviceStatus.AVAILABLE:
                    self._offer_next(session, other)

    def _offer_next(
        self,
        session: Session,
        device: DeviceRow,
        skip: uuid.UUID | None = None,
        today: date | None = None,
    ) -> WaitEntry | None:
        query = (
            select(WaitEntryRow)
            .where(WaitEntryRow.device_type == device.device_type, WaitEntryRow.status == WaitStatus.WAITING)
            .order_by(WaitEntryRow.position)
            .limit(1)
        )
        if skip is not None:
            query = query.where(WaitEntryRow.id != skip)
        entry = session.scalar(query)
        if entry is None:
            return None
        now = self._context.now()
        entry.status = WaitStatus.OFFERED
        entry.offered_device_id = device.id
        entry.offer_expires_on = (today or self._context.today()) + timedelta(
            days=self._rules(session).offer_days
        )
        self._event(session, entry, "offered", device.tag, now)
        session.flush()
        return self._wait_entries(session, select(WaitEntryRow).where(WaitEntryRow.id == entry.id))[0]

    def _event(self, session: Session, entry: WaitEntryRow, what: str, reason: str, at: datetime) -> None:
        """A waiting-list event, kept on the entry and in the audit trail (without the reason, which may
        name the resident's circumstances)."""
        session.add(WaitEventRow(entry_id=entry.id, at=at, by=self._context.actor, what=what, reason=reason))
        audit.record(
            session,
            self._context,
            "waitlist." + what.split()[0],
            entry.device_type.value,
            resident_id=entry.resident_id,
            details={"event": what},
        )

    @staticmethod
    def _wait_entries(session: Session, query: Select[Any]) -> list[WaitEntry]:
        entries = list(session.scalars(query))
        residents = {
            r.id: r
            for r in session.scalars(
                select(ResidentRow).where(ResidentRow.id.in_([e.resident_id for e in entries]))
            )
        }
        devices = {
            d.id: d.tag
            for d in session.scalars(
                select(DeviceRow).where(
                    DeviceRow.id.in_([e.offered_device_id for e in entries if e.offered_device_id])
                )
            )
        }
        return [
            WaitEntry(
                id=e.id,
                resident_reference=residents[e.resident_id].reference,
                resident_name=residents[e.resident_id].name,
                resident_contact=(
                    residents[e.resident_id].phone
                    or residents[e.resident_id].email
                    or residents[e.resident_id].address
                ),
                device_type=e.device_type,
                position=e.position,
                joined_at=e.joined_at,
                status=e.status,
                offered_tag=devices.get(e.offered_device_id, "") if e.offered_device_id else "",
                offer_expires_on=e.offer_expires_on,
            )
            for e in entries
        ]

    @staticmethod
    def _wipe_record(wipe: WipeRow, device: DeviceRow) -> Wipe:
        return Wipe(
            id=wipe.id,
            device_tag=device.tag,
            device_description=" ".join(part for part in (device.make, device.model) if part),
            method=wipe.method,
            wiped_at=wipe.wiped_at,
            wiped_by=wipe.wiped_by,
            checklist=WipeChecklist(
                wipe.accounts_signed_out, wipe.reset_done, wipe.apps_restored, wipe.charger_present
            ),
            notes=wipe.notes,
        )

    # The Loans screen: loans a block at a time, by keyset, so the last block of 500,000 loans costs
    # what the first does (an OFFSET that deep takes seconds). Added for ui/loan_table_model.py.

    @requires(Permission.SIGNED_IN)
    def today(self) -> date:
        """The desk's date by the service clock: what due dates and days overdue count from."""
        return self._context.today()

    @requires(Permission.LEND)
    def loan_block(
        self,
        after: Loan | None = None,
        *,
        include_returned: bool = False,
        due_from: date | None = None,
        due_by: date | None = None,
        limit: int = PAGE_SIZE,
    ) -> list[Loan]:
        """Up to `limit` loans that come after `after` (the last loan of the previous block; None for
        the first). Open loans come soonest due first; with `include_returned`, every loan comes, newest
        issued first. `due_from` and `due_by` keep the loans due between those dates (inclusive)."""
        query = _loan_query().where(*self._block_filter(include_returned, due_from, due_by))
        if include_returned:
            if after is not None:
                query = query.where(tuple_(LoanRow.issued_at, LoanRow.id) < (after.issued_at, after.id))
            query = query.order_by(LoanRow.issued_at.desc(), LoanRow.id.desc())
        else:
            if after is not None:
                query = query.where(tuple_(LoanRow.due_on, LoanRow.id) > (after.due_on, after.id))
            query = query.order_by(LoanRow.due_on, LoanRow.id)
        with self._context.db.read() as session:
            return _load_loans(session, query.limit(limit))

    @requires(Permission.LEND)
    def count_loans(
        self, *, include_returned: bool = False, due_from: date | None = None, due_by: date | None = None
    ) -> int:
        """How many loans loan_block would list, block after block, with the same filters."""
        query = (
            select(func.count())
            .select_from(LoanRow)
            .where(*self._block_filter(include_returned, due_from, due_by))
        )
        with self._context.db.read() as session:
            return int(session.scalar(query) or 0)

    @staticmethod
    def _block_filter(include_returned: bool, due_from: date | None, due_by: date | None) -> list[Any]:
        conditions: list[Any] = [] if include_returned else [LoanRow.closed_at.is_(None)]
        if due_from is not None:
            conditions.append(LoanRow.due_on >= due_from)
        if due_by is not None:
            conditions.append(LoanRow.due_on <= due_by)
        return conditions
