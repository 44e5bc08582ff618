"""Staff accounts (first administrator, sign-in, lock-out, disabling) and the audit trail they write."""

from __future__ import annotations

import csv
import json
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DatabaseError

from digiknow_desk.app import Services
from digiknow_desk.domain.devices import DeviceDraft, DeviceType
from digiknow_desk.domain.errors import DomainError, ValidationError
from digiknow_desk.domain.residents import ConsentPurpose, ResidentDraft
from digiknow_desk.domain.staff import LOCK_MINUTES, MAX_FAILED_SIGN_INS, Role, SignInRefused
from digiknow_desk.domain.venues import VenueDraft
from digiknow_desk.services.accounts import PASSWORDS
from digiknow_desk.services.audit import AuditFilter
from tests.conftest import FakeClock

WARD = "E05000787"
PASSWORD = "correct horse battery"


@pytest.fixture
def admin(services: Services) -> Services:
    """A database whose first administrator, Sam, is signed in."""
    services.desk.staff = None
    services.accounts.create_first_administrator("Sam.Jones", "Sam Jones", PASSWORD)
    return services


def test_the_first_administrator_is_made_once_and_signed_in(services: Services) -> None:
    services.desk.staff = None
    assert services.accounts.has_accounts() is False
    sam = services.accounts.create_first_administrator(" Sam.Jones ", "Sam  Jones", PASSWORD)
    assert (sam.username, sam.display_name, sam.role) == ("sam.jones", "Sam Jones", Role.ADMINISTRATOR)
    assert services.desk.staff == sam
    with pytest.raises(DomainError, match="already has staff accounts"):
        services.accounts.create_first_administrator("eve", "Eve", PASSWORD)


def test_passwords_are_kept_only_as_argon2id_hashes_with_owasp_parameters(admin: Services) -> None:
    with admin.database.read() as session:
        stored = session.execute(text("SELECT password_hash FROM staff_accounts")).scalar_one()
    assert PASSWORD not in stored
    assert stored.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert PASSWORDS.verify(stored, PASSWORD)


def test_weak_passwords_and_bad_user_names_are_refused_with_what_to_do(admin: Services) -> None:
    with pytest.raises(ValidationError) as refused:
        admin.accounts.add("x", "", Role.DESK, "short")
    assert set(refused.value.problems) == {"username", "display_name", "password"}
    assert "at least 10 characters" in refused.value.problems["password"]
    with pytest.raises(ValidationError, match="must not contain the user name"):
        admin.accounts.add("priya", "Priya", Role.DESK, "priya-is-great")
    with pytest.raises(ValidationError, match="Choose which Digital Champion"):
        admin.accounts.add("tom", "Tom", Role.CHAMPION, PASSWORD)
    with pytest.raises(ValidationError, match="already an account 'sam.jones'"):
        admin.accounts.add("SAM.JONES", "Another Sam", Role.DESK, PASSWORD)


def test_signing_in_checks_the_password_and_switches_who_is_at_the_desk(admin: Services) -> None:
    admin.accounts.add("priya", "Priya Shah", Role.DESK, PASSWORD)
    admin.accounts.sign_out()
    assert admin.desk.staff is None
    with pytest.raises(SignInRefused, match="do not match"):
        admin.accounts.sign_in("priya", "wrong password here")
    with pytest.raises(SignInRefused, match="do not match"):
        admin.accounts.sign_in("nobody", PASSWORD)  # an unknown name gets the same answer
    priya = admin.accounts.sign_in("PRIYA", PASSWORD)
    assert admin.desk.staff == priya and priya.role is Role.DESK
    admin.accounts.sign_in("sam.jones", PASSWORD)  # the quick switch at the counter
    assert admin.desk.staff is not None and admin.desk.staff.username == "sam.jones"


def test_repeated_wrong_passwords_lock_the_account_until_the_time_passes_or_a_reset(
    admin: Services, clock: FakeClock
) -> None:
    admin.accounts.add("priya", "Priya Shah", Role.DESK, PASSWORD)
    for _ in range(MAX_FAILED_SIGN_INS - 1):
        with pytest.raises(SignInRefused, match="do not match"):
            admin.accounts.sign_in("priya", "not the password")
    with pytest.raises(SignInRefused, match=f"now locked for {LOCK_MINUTES} minutes"):
        admin.accounts.sign_in("priya", "not the password")
    # Locked: even the right password is refused, saying when to try again.
    with pytest.raises(SignInRefused, match=f"Try again in {LOCK_MINUTES} minutes"):
        admin.accounts.sign_in("priya", PASSWORD)
    clock.now += timedelta(minutes=LOCK_MINUTES - 1)
    with pytest.raises(SignInRefused, match="Try again in 1 minute,"):
        admin.accounts.sign_in("priya", PASSWORD)
    clock.now += timedelta(minutes=1, seconds=1)
    assert admin.accounts.sign_in("priya", PASSWORD).username == "priya"
    # An administrator's reset unlocks at once.
    for _ in range(MAX_FAILED_SIGN_INS):
        with pytest.raises(SignInRefused):
            admin.accounts.sign_in("priya", "not the password")
    admin.accounts.sign_in("sam.jones", PASSWORD)
    admin.accounts.reset_password("priya", "a brand new password")
    assert admin.accounts.sign_in("priya", "a brand new password").username == "priya"
    actions = [entry.action for entry in _as_admin(admin).audit.entries(AuditFilter(subject="PRIYA"))]
    assert actions.count("user.locked_out") == 2


def _as_admin(services: Services) -> Services:
    services.accounts.sign_in("sam.jones", PASSWORD)
    return services


def test_a_disabled_account_cannot_sign_in_and_the_last_administrator_stays(admin: Services) -> None:
    admin.accounts.add("priya", "Priya Shah", Role.COORDINATOR, PASSWORD)
    admin.accounts.set_active("priya", False)
    with pytest.raises(SignInRefused, match="disabled"):
        admin.accounts.sign_in("priya", PASSWORD)
    _as_admin(admin)
    with pytest.raises(DomainError, match="cannot disable your own account"):
        admin.accounts.set_active("sam.jones", False)
    with pytest.raises(DomainError, match="only active administrator"):
        admin.accounts.set_role("sam.jones", Role.DESK)
    admin.accounts.set_active("priya", True)
    admin.accounts.set_role("priya", Role.ADMINISTRATOR)
    admin.accounts.set_role("sam.jones", Role.DESK)  # now there is another
    with pytest.raises(ValidationError, match="linked to their champion record"):
        admin.accounts.set_role("priya", Role.CHAMPION)
    assert {a.username: a.role for a in admin.accounts.accounts()} == {
        "priya": Role.ADMINISTRATOR,
        "sam.jones": Role.DESK,
    }


def test_changing_ones_own_password_needs_the_current_one(admin: Services) -> None:
    with pytest.raises(ValidationError, match="current password is not right"):
        admin.accounts.change_own_password("wrong", "another good password")
    admin.accounts.change_own_password(PASSWORD, "another good password")
    admin.accounts.sign_out()
    assert admin.accounts.sign_in("sam.jones", "another good password").username == "sam.jones"


def test_the_idle_lock_is_a_setting_administrators_change_within_bounds(admin: Services) -> None:
    assert admin.accounts.idle_lock_minutes() == 5
    admin.accounts.set_idle_lock_minutes(15)
    assert admin.accounts.idle_lock_minutes() == 15
    with pytest.raises(ValidationError, match="between 1 and 120"):
        admin.accounts.set_idle_lock_minutes(0)


# The audit trail


def _resident(services: Services) -> str:
    draft = ResidentDraft(
        name="Zebediah Quartermaine",
        phone="0161 474 9999",
        ward_code=WARD,
        consents=frozenset(ConsentPurpose),
    )
    return services.residents.add(draft).reference


def test_changes_are_recorded_with_who_when_where_and_what(admin: Services, clock: FakeClock) -> None:
    reference = _resident(admin)
    tag = admin.inventory.add(DeviceDraft(tag="TAB-0001", device_type=DeviceType.TABLET, make="Lenovo")).tag
    clock.now += timedelta(minutes=1)
    admin.lending.issue(tag, reference)
    clock.now += timedelta(minutes=1)
    admin.lending.return_device(tag)
    entries = admin.audit.entries()
    assert [entry.action for entry in entries][:4] == [
        "loan.returned",
        "loan.issued",
        "device.added",
        "resident.added",
    ]
    issued = entries[1]
    assert (issued.username, issued.staff_name, issued.subject) == ("sam.jones", "Sam Jones", "TAB-0001")
    assert issued.machine == admin.desk.machine and issued.machine
    assert issued.at == clock.now - timedelta(minutes=1)
    assert issued.details["resident"] == reference
    assert issued.resident_id == admin.residents.get(reference).id


def test_a_residents_changes_name_the_fields_never_the_values(admin: Services) -> None:
    reference = _resident(admin)
    draft = admin.residents.get(reference).as_draft()
    admin.residents.update(reference, ResidentDraft(**{**vars(draft), "phone": "0161 480 0000"}))
    changed = admin.audit.entries(AuditFilter(action="resident.changed"))[0]
    assert changed.details == {"fields": ["phone"]}
    with admin.database.read() as session:
        details = " ".join(session.execute(text("SELECT details || subject FROM audit_entries")).scalars())
    assert "Zebediah" not in details and "480 0000" not in details and "474 9999" not in details


def test_the_trail_is_append_only_in_the_database_itself(admin: Services) -> None:
    _resident(admin)
    with pytest.raises(DatabaseError, match="append-only"):
        with admin.database.write() as session:
            session.execute(text("DELETE FROM audit_entries"))
    with pytest.raises(DatabaseError, match="append-only"):
        with admin.database.write() as session:
            session.execute(text("UPDATE audit_entries SET username = 'someone.else'"))
    with pytest.raises(DatabaseError, match="append-only"):
        with admin.database.write() as session:
            session.execute(text("UPDATE audit_entries SET details = '{}', redacted = false"))
    # Blanking an entry's details, marked as such, is the one change allowed (erasure uses it).
    with admin.database.write() as session:
        session.execute(text("UPDATE audit_entries SET details = '', subject = '', redacted = true"))
    assert all(entry.redacted for entry in admin.audit.entries())


def test_the_trail_filters_by_who_what_subject_and_day(admin: Services, clock: FakeClock) -> None:
    admin.accounts.add("priya", "Priya Shah", Role.DESK, PASSWORD)
    reference = _resident(admin)
    clock.now += timedelta(days=2)
    admin.accounts.sign_in("priya", PASSWORD)
    tag = admin.inventory.add(DeviceDraft(tag="TAB-0001", device_type=DeviceType.TABLET, make="Lenovo")).tag
    admin.lending.issue(tag, reference)
    _as_admin(admin)
    today = clock.now.astimezone().date()
    by_priya = admin.audit.entries(AuditFilter(username="PRIYA"))
    assert [e.action for e in by_priya] == ["loan.issued", "device.added", "user.signed_in"]
    assert [e.action for e in admin.audit.entries(AuditFilter(action="loan"))] == ["loan.issued"]
    assert admin.audit.count(AuditFilter(subject="tab-0001")) == 2
    assert admin.audit.count(AuditFilter(from_day=today)) == 4  # Priya's three and Sam signing back in
    assert admin.audit.count(AuditFilter(to_day=today - timedelta(days=1))) == 3  # Sam, Priya added, resident


def test_the_export_is_csv_that_no_spreadsheet_runs_as_a_formula(admin: Services, tmp_path: Path) -> None:
    admin.venues.add(VenueDraft(name='=HYPERLINK("http://evil")', ward_code=WARD))
    out = tmp_path / "audit.csv"
    assert admin.audit.export_csv(out) == 2
    rows = list(csv.reader(out.read_text(encoding="utf-8-sig").splitlines()))
    assert rows[0] == ["id", "at", "username", "staff_name", "machine", "action", "subject", "details"]
    venue = rows[2]
    assert venue[5] == "venue.added"
    assert venue[6].startswith("'=HYPERLINK")
    assert json.loads(venue[7]) == {"ward": WARD}
