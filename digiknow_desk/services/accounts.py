"""Staff accounts: the first administrator, signing in and out, lock-out, and managing accounts."""

from __future__ import annotations

import uuid
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from digiknow_desk.domain.errors import DomainError, NotFound, ValidationError
from digiknow_desk.domain.staff import (
    DEFAULT_IDLE_LOCK_MINUTES,
    LOCK_MINUTES,
    MAX_FAILED_SIGN_INS,
    Permission,
    Role,
    SignInRefused,
    StaffAccount,
    StaffMember,
    account_problems,
    normalise_username,
    password_problem,
)
from digiknow_desk.services import audit
from digiknow_desk.services.context import ServiceContext, before_sign_in, requires
from digiknow_desk.services.settings import read_setting, write_setting
from digiknow_desk.storage.models import ChampionRow, StaffAccountRow

# OWASP's Password Storage Cheat Sheet: Argon2id with 19 MiB of memory, 2 passes, 1 lane.
PASSWORDS = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
# Checked against when the user name is unknown, so a wrong name takes as long as a wrong password.
_NOBODY_HASH = PASSWORDS.hash("not anyone's password")
WRONG = "That user name and password do not match. Check them and try again."

IDLE_LOCK_KEY = "idle_lock"
MAX_IDLE_LOCK_MINUTES = 120


def _account(row: StaffAccountRow) -> StaffAccount:
    return StaffAccount(
        user_id=row.id,
        username=row.username,
        display_name=row.display_name,
        role=row.role,
        active=row.active,
        champion_id=row.champion_id,
        created_at=row.created_at,
        last_signed_in_at=row.last_signed_in_at,
        locked_until=row.locked_until,
    )


class AccountService:
    def __init__(self, context: ServiceContext) -> None:
        self._context = context

    @before_sign_in
    def has_accounts(self) -> bool:
        with self._context.db.read() as session:
            return bool(session.scalar(select(func.count()).select_from(StaffAccountRow)))

    @before_sign_in
    def signed_in(self) -> StaffMember | None:
        return self._context.desk.staff

    @before_sign_in
    def create_first_administrator(self, username: str, display_name: str, password: str) -> StaffMember:
        """The first account of a new database; it is signed in at once. Refused once any account exists."""
        self._context.server_only(
            "Create the first administrator", "staff sign in with the server's accounts"
        )
        with self._context.db.write() as session:
            if session.scalar(select(func.count()).select_from(StaffAccountRow)):
                raise DomainError(
                    "This database already has staff accounts: sign in, and ask an administrator "
                    "for an account."
                )
            row = self._new_account(session, username, display_name, Role.ADMINISTRATOR, password, None)
            member = _account(row).member
            audit.record(session, self._context, "user.added", row.username, staff=member)
        self._context.desk.staff = member
        return member

    @before_sign_in
    def sign_in(self, username: str, password: str) -> StaffMember:
        """Check the password and sign the staff member in at this desk. Wrong passwords count
        towards a lock-out, which is saved even though the sign-in fails; a disabled or locked account
        is refused with what to do."""
        name = normalise_username(username)
        now = self._context.now()
        refusal: str | None
        with self._context.db.write() as session:
            row = session.scalar(select(StaffAccountRow).where(StaffAccountRow.username == name))
            if row is None:
                _verify(_NOBODY_HASH, password)
                refusal = WRONG
            else:
                member = _account(row).member
                refusal = self._refusal(session, row, password)
                if refusal is None:
                    if PASSWORDS.check_needs_rehash(row.password_hash):
                        row.password_hash = PASSWORDS.hash(password)
                    row.failed_sign_ins = 0
                    row.locked_until = None
                    row.last_signed_in_at = now
                    audit.record(session, self._context, "user.signed_in", row.username, staff=member)
        if refusal is not None:
            raise SignInRefused(refusal)
        self._context.desk.staff = member
        return member

    def _refusal(self, session: Session, row: StaffAccountRow, password: str) -> str | None:
        """Why this account may not sign in with this password (counting a wrong one), or None."""
        now = self._context.now()
        if not row.active:
            return f"The account '{row.username}' is disabled. Ask an administrator to enable it."
        if row.locked_until is not None and row.locked_until > now:
            minutes = max(1, round((row.locked_until - now).total_seconds() / 60))
            return (
                f"The account '{row.username}' is locked after {MAX_FAILED_SIGN_INS} wrong passwords. "
                f"Try again in {minutes} minute{'s' if minutes != 1 else ''}, or ask an administrator "
                "to reset the password."
            )
        if _verify(row.password_hash, password):
            return None
        row.failed_sign_ins += 1
        if row.failed_sign_ins < MAX_FAILED_SIGN_INS:
            return WRONG
        row.locked_until = now + timedelta(minutes=LOCK_MINUTES)
        row.failed_sign_ins = 0
        audit.record(session, self._context, "user.locked_out", row.username, staff=_account(row).member)
        return (
            f"That password is wrong. The account '{row.username}' is now locked for {LOCK_MINUTES} "
            "minutes; an administrator can reset the password sooner."
        )

    @before_sign_in
    def sign_out(self) -> None:
        """Lock the desk: no one is signed in until someone signs in again."""
        self._context.desk.staff = None

    @requires(Permission.SIGNED_IN)
    def change_own_password(self, current: str, new: str) -> None:
        self._context.server_only("Change your password")
        staff = self._context.staff
        with self._context.db.write() as session:
            row = self._row(session, staff.username)
            if not _verify(row.password_hash, current):
                raise ValidationError({"current": "The current password is not right."})
            problem = password_problem(new, row.username)
            if problem:
                raise ValidationError({"password": problem})
            row.password_hash = PASSWORDS.hash(new)
            audit.record(session, self._context, "user.password_changed", row.username)

    @before_sign_in
    def idle_lock_minutes(self) -> int:
        """After this many minutes without a key press or click, the desk locks itself."""
        with self._context.db.read() as session:
            saved = read_setting(session, IDLE_LOCK_KEY)
        return int(saved["minutes"]) if saved else DEFAULT_IDLE_LOCK_MINUTES

    @requires(Permission.MANAGE_ACCOUNTS)
    def set_idle_lock_minutes(self, minutes: int) -> None:
        self._context.server_only("Change the idle lock")
        if not 1 <= minutes <= MAX_IDLE_LOCK_MINUTES:
            raise ValidationError(
                {"minutes": f"Choose between 1 and {MAX_IDLE_LOCK_MINUTES} minutes; 5 suits a shared laptop."}
            )
        with self._context.db.write() as session:
            write_setting(session, self._context, IDLE_LOCK_KEY, {"minutes": minutes})

    @requires(Permission.MANAGE_ACCOUNTS)
    def accounts(self) -> list[StaffAccount]:
        with self._context.db.read() as session:
            rows = session.scalars(select(StaffAccountRow).order_by(StaffAccountRow.username))
            return [_account(row) for row in rows]

    @requires(Permission.MANAGE_ACCOUNTS)
    def add(
        self,
        username: str,
        display_name: str,
        role: Role,
        password: str,
        *,
        champion_id: uuid.UUID | None = None,
    ) -> StaffAccount:
        self._context.server_only("Add staff accounts")
        with self._context.db.write() as session:
            row = self._new_account(session, username, display_name, role, password, champion_id)
            audit.record(session, self._context, "user.added", row.username, details={"role": role.value})
            return _account(row)

    @requires(Permission.MANAGE_ACCOUNTS)
    def set_role(self, username: str, role: Role) -> StaffAccount:
        self._context.server_only("Change roles")
        with self._context.db.write() as session:
            row = self._row(session, username)
            before = row.role
            if role == Role.CHAMPION and row.champion_id is None:
                raise ValidationError(
                    {
                        "champion": "A Digital Champion's account is linked to their champion record: "
                        "add a new account for them with 'users add ... --role champion --champion NAME'."
                    }
                )
            if before == Role.ADMINISTRATOR and role != Role.ADMINISTRATOR:
                self._keep_an_administrator(session, row)
            row.role = role
            audit.record(
                session, self._context, "user.role_changed", row.username, details={"role": [before, role]}
            )
            return _account(row)

    @requires(Permission.MANAGE_ACCOUNTS)
    def set_active(self, username: str, active: bool) -> StaffAccount:
        """Disable an account (it can no longer sign in; its records keep its name) or enable it again."""
        self._context.server_only("Disable or enable accounts")
        with self._context.db.write() as session:
            row = self._row(session, username)
            if not active:
                if row.username == self._context.staff.username:
                    raise DomainError("You cannot disable your own account; ask another administrator.")
                if row.role == Role.ADMINISTRATOR:
                    self._keep_an_administrator(session, row)
            row.active = active
            audit.record(session, self._context, "user.enabled" if active else "user.disabled", row.username)
            return _account(row)

    @requires(Permission.MANAGE_ACCOUNTS)
    def reset_password(self, username: str, password: str) -> StaffAccount:
        """Give an account a new password (tell the staff member to change it); this also unlocks it."""
        self._context.server_only("Reset passwords")
        with self._context.db.write() as session:
            row = self._row(session, username)
            problem = password_problem(password, row.username)
            if problem:
                raise ValidationError({"password": problem})
            row.password_hash = PASSWORDS.hash(password)
            row.failed_sign_ins = 0
            row.locked_until = None
            audit.record(session, self._context, "user.password_reset", row.username)
            return _account(row)

    def _new_account(
        self,
        session: Session,
        username: str,
        display_name: str,
        role: Role,
        password: str,
        champion_id: uuid.UUID | None,
    ) -> StaffAccountRow:
        name = normalise_username(username)
        problems = account_problems(name, display_name, password)
        if role == Role.CHAMPION and champion_id is None:
            problems["champion"] = "Choose which Digital Champion this account is for."
        elif champion_id is not None and session.get(ChampionRow, champion_id) is None:
            problems["champion"] = "That Digital Champion is not registered."
        if not problems and session.scalar(
            select(StaffAccountRow.id).where(StaffAccountRow.username == name)
        ):
            problems["username"] = f"There is already an account '{name}'; choose another user name."
        if problems:
            raise ValidationError(problems)
        row = StaffAccountRow(
            username=name,
            display_name=" ".join(display_name.split()),
            role=role,
            password_hash=PASSWORDS.hash(password),
            champion_id=champion_id,
            active=True,
            failed_sign_ins=0,
            created_at=self._context.now(),
        )
        session.add(row)
        session.flush()
        return row

    def _row(self, session: Session, username: str) -> StaffAccountRow:
        name = normalise_username(username)
        row = session.scalar(select(StaffAccountRow).where(StaffAccountRow.username == name))
        if row is None:
            raise NotFound(f"There is no account '{name}'. 'users list' shows the accounts.")
        return row

    def _keep_an_administrator(self, session: Session, leaving: StaffAccountRow) -> None:
        others = session.scalar(
            select(func.count())
            .select_from(StaffAccountRow)
            .where(
                StaffAccountRow.role == Role.ADMINISTRATOR,
                StaffAccountRow.active.is_(True),
                StaffAccountRow.id != leaving.id,
            )
        )
        if not others:
            raise DomainError(
                f"'{leaving.username}' is the only active administrator; make another administrator first."
            )


def _verify(password_hash: str, password: str) -> bool:
    try:
        return PASSWORDS.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False
