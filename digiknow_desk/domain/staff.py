"""Staff members, their roles and what each role may do: the one table every service checks against."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from digiknow_desk.domain.errors import DomainError

MIN_PASSWORD = 10
USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,39}$")
# Lock-out: this many wrong passwords in a row lock the account for LOCK_MINUTES.
MAX_FAILED_SIGN_INS = 5
LOCK_MINUTES = 15
DEFAULT_IDLE_LOCK_MINUTES = 5


class Role(StrEnum):
    CHAMPION = "champion"
    DESK = "desk"
    COORDINATOR = "coordinator"
    ADMINISTRATOR = "administrator"

    @property
    def label(self) -> str:
        return _ROLE_LABELS[self]


_ROLE_LABELS = {
    Role.CHAMPION: "Digital Champion",
    Role.DESK: "Desk staff",
    Role.COORDINATOR: "Coordinator",
    Role.ADMINISTRATOR: "Administrator",
}


class Permission(StrEnum):
    """One kind of action; every public service method needs exactly one."""

    SIGNED_IN = "signed_in"  # reference data every screen needs: wards, venues, rules, the rule in words
    LOG_SUPPORT = "log_support"  # sessions, hours and skills checks
    SEE_SUPPORTED_RESIDENTS = "see_supported_residents"  # a champion's own residents
    SEE_RESIDENTS = "see_residents"  # every resident
    EDIT_RESIDENTS = "edit_residents"
    SEE_SENSITIVE = "see_sensitive"  # disability, ethnicity, benefits and the other equality answers
    LEND = "lend"  # issue, return, renew, lost, wipes, data plans, the waiting list, desk documents
    SEE_DEVICES = "see_devices"
    MANAGE_DEVICES = "manage_devices"  # add, edit, change status, import, labels
    PRIORITISE = "prioritise"  # move residents in the waiting list
    CHANGE_SETTINGS = "change_settings"  # rules, venues, champions, wards, postcodes, the inclusion rule
    SEE_REPORTS = "see_reports"  # the Dashboard, the monthly report, status counts
    SEE_AUDIT = "see_audit"
    MANAGE_ACCOUNTS = "manage_accounts"
    PROTECT_DATA = "protect_data"  # subject access, erasure, retention
    BACKUP = "backup"  # backups, restores, demo data

    @property
    def label(self) -> str:
        return _PERMISSION_LABELS[self]


_PERMISSION_LABELS = {
    Permission.SIGNED_IN: "use DigiKnow Desk",
    Permission.LOG_SUPPORT: "log support sessions and skills checks",
    Permission.SEE_SUPPORTED_RESIDENTS: "see the residents they support",
    Permission.SEE_RESIDENTS: "see residents' records",
    Permission.EDIT_RESIDENTS: "register and change residents",
    Permission.SEE_SENSITIVE: "see residents' equality answers",
    Permission.LEND: "issue, return and wipe devices",
    Permission.SEE_DEVICES: "see the devices",
    Permission.MANAGE_DEVICES: "add and change devices",
    Permission.PRIORITISE: "change waiting-list priorities",
    Permission.CHANGE_SETTINGS: "change settings",
    Permission.SEE_REPORTS: "see reports",
    Permission.SEE_AUDIT: "see the audit trail",
    Permission.MANAGE_ACCOUNTS: "manage staff accounts",
    Permission.PROTECT_DATA: "use the data protection tools",
    Permission.BACKUP: "make and restore backups",
}

_CHAMPION = frozenset({Permission.SIGNED_IN, Permission.LOG_SUPPORT, Permission.SEE_SUPPORTED_RESIDENTS})
_DESK = frozenset(
    {
        Permission.SIGNED_IN,
        Permission.SEE_SUPPORTED_RESIDENTS,
        Permission.SEE_RESIDENTS,
        Permission.EDIT_RESIDENTS,
        Permission.LEND,
        Permission.SEE_DEVICES,
        Permission.MANAGE_DEVICES,
    }
)
_COORDINATOR = (
    _CHAMPION
    | _DESK
    | {Permission.SEE_SENSITIVE, Permission.PRIORITISE, Permission.CHANGE_SETTINGS}
    | {Permission.SEE_REPORTS, Permission.SEE_AUDIT}
)
ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.CHAMPION: _CHAMPION,
    Role.DESK: _DESK,
    Role.COORDINATOR: frozenset(_COORDINATOR),
    Role.ADMINISTRATOR: frozenset(Permission),
}


class NotSignedIn(DomainError):
    """No staff member is signed in at this desk."""

    def __init__(self) -> None:
        super().__init__("Sign in first: the desk is locked or no one is signed in.")


class PermissionDenied(DomainError):
    """The signed-in staff member's role does not allow the action."""

    def __init__(self, staff: StaffMember, permission: Permission) -> None:
        self.permission = permission
        super().__init__(
            f"{staff.display_name} is signed in as {staff.role.label}, who cannot {permission.label}. "
            "Ask a coordinator or an administrator to do it, or to change your role."
        )


class SignInRefused(DomainError):
    """A wrong user name or password, or an account that is locked or disabled."""


@dataclass(frozen=True)
class StaffMember:
    """Who is acting: a signed-in account, or the app itself before any account exists."""

    username: str
    display_name: str
    role: Role
    user_id: uuid.UUID | None = None
    champion_id: uuid.UUID | None = None

    def may(self, permission: Permission) -> bool:
        return permission in ROLE_PERMISSIONS[self.role]


def setup_staff(display_name: str) -> StaffMember:
    """The person at the keyboard of a database that has no accounts yet: they set it up, so they
    may do everything, and are recorded by the name the computer knows them by."""
    return StaffMember(username="", display_name=display_name, role=Role.ADMINISTRATOR)


@dataclass(frozen=True)
class StaffAccount:
    """A sign-in account as listed for administrators (never the password hash)."""

    user_id: uuid.UUID
    username: str
    display_name: str
    role: Role
    active: bool
    champion_id: uuid.UUID | None
    created_at: datetime
    last_signed_in_at: datetime | None
    locked_until: datetime | None

    @property
    def member(self) -> StaffMember:
        return StaffMember(
            username=self.username,
            display_name=self.display_name,
            role=self.role,
            user_id=self.user_id,
            champion_id=self.champion_id,
        )


def normalise_username(text: str) -> str:
    return text.strip().lower()


def account_problems(username: str, display_name: str, password: str | None) -> dict[str, str]:
    """What is wrong with a new account's details (`password` None when it is not being set)."""
    problems = {}
    if not USERNAME.match(username):
        problems["username"] = (
            "A user name is 2 to 40 lower-case letters, digits, dots, dashes or underscores, "
            "e.g. 'sam.jones'."
        )
    if not display_name.strip():
        problems["display_name"] = "Enter the staff member's name as it should appear on records."
    elif len(display_name.strip()) > 120:
        problems["display_name"] = "Keep the name under 120 characters."
    if password is not None:
        problem = password_problem(password, username)
        if problem:
            problems["password"] = problem
    return problems


def password_problem(password: str, username: str) -> str | None:
    """Why a password is too weak, or None. Length is what matters most (NCSC: three random words)."""
    if len(password) < MIN_PASSWORD:
        return (
            f"Use at least {MIN_PASSWORD} characters; three random words are easy to remember "
            "and hard to guess."
        )
    if username and username in password.lower():
        return "The password must not contain the user name."
    return None
