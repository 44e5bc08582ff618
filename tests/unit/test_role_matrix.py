"""Who may do what: every service method against every role, checked in the services themselves.

Three walks of the matrix:
- every public method of every service declares the permission it needs (or that it is for anyone at
  the desk, such as signing in);
- every (method, role) cell the role lacks is refused with PermissionDenied before the method does
  anything, and leaves no trace in the audit trail;
- for every permission, a real action needing it succeeds for each role that has it and is refused for
  each role that does not.
"""

from __future__ import annotations

import inspect
import uuid
from collections.abc import Callable
from datetime import time, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from digiknow_desk.app import Services
from digiknow_desk.domain.champions import ChampionDraft, ChampionRules
from digiknow_desk.domain.devices import DeviceDraft, DeviceFilter, DeviceType
from digiknow_desk.domain.errors import NotFound
from digiknow_desk.domain.residents import Answer, ConsentPurpose, ResidentDraft
from digiknow_desk.domain.sessions import SessionDraft, SessionFilter, SessionKind
from digiknow_desk.domain.staff import (
    ROLE_PERMISSIONS,
    NotSignedIn,
    Permission,
    PermissionDenied,
    Role,
    StaffMember,
)
from digiknow_desk.domain.venues import VenueDraft
from digiknow_desk.storage.models import AuditEntryRow

WARD = "E05000787"  # Edgeley and Cheadle Heath
ALL_CONSENTS = frozenset(ConsentPurpose)


def _service_methods(services: Services) -> list[tuple[str, str, Callable[..., Any]]]:
    """(service, method name, bound method) for every public method of every service."""
    found = []
    for field_name, service in vars(services).items():
        if not type(service).__module__.startswith("digiknow_desk.services."):
            continue
        for name, _function in inspect.getmembers(type(service), inspect.isfunction):
            if not name.startswith("_"):
                found.append((field_name, name, getattr(service, name)))
    return found


def test_every_public_service_method_declares_what_it_needs(services: Services) -> None:
    methods = _service_methods(services)
    assert len(methods) > 120  # all the services, not an empty walk
    undeclared = [
        f"{service}.{name}" for service, name, method in methods if not hasattr(method, "permission")
    ]
    assert undeclared == []
    open_to_anyone = sorted(
        f"{service}.{name}" for service, name, method in methods if method.permission is None
    )
    # Only what the sign-in screen needs runs before anyone signs in.
    assert open_to_anyone == [
        "accounts.create_first_administrator",
        "accounts.has_accounts",
        "accounts.idle_lock_minutes",
        "accounts.sign_in",
        "accounts.sign_out",
        "accounts.signed_in",
        "demo.is_demo",
    ]


def _staff(role: Role, champion_id: uuid.UUID | None = None) -> StaffMember:
    return StaffMember(
        username=f"{role.value}.test", display_name=f"Test {role.label}", role=role, champion_id=champion_id
    )


def _audit_count(services: Services) -> int:
    with services.database.read() as session:
        return session.scalar(select(func.count()).select_from(AuditEntryRow)) or 0


@pytest.mark.parametrize("role", list(Role))
def test_each_role_is_refused_every_method_it_may_not_use_before_anything_happens(
    services: Services, role: Role
) -> None:
    """The check comes before the method reads its arguments: called with nonsense, a refused method
    raises PermissionDenied, never a TypeError or a change."""
    services.desk.staff = _staff(role)
    before = _audit_count(services)
    refused = 0
    for service, name, method in _service_methods(services):
        needed = method.permission
        if needed is None or needed in ROLE_PERMISSIONS[role]:
            continue
        parameters = [
            p for p in inspect.signature(method).parameters.values() if p.default is inspect.Parameter.empty
        ]
        positional = [object() for p in parameters if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
        keywords = {p.name: object() for p in parameters if p.kind is p.KEYWORD_ONLY}
        with pytest.raises(PermissionDenied) as refusal:
            method(*positional, **keywords)
        assert refusal.value.permission is needed, f"{service}.{name}"
        assert role.label in str(refusal.value) and needed.label in str(refusal.value)
        refused += 1
    assert (
        refused
        == {
            Role.CHAMPION: 90,
            Role.DESK: 59,
            Role.COORDINATOR: 18,
            Role.ADMINISTRATOR: 0,
        }[role]
    )
    assert _audit_count(services) == before


def test_no_one_signed_in_may_do_anything_but_sign_in(services: Services) -> None:
    services.desk.staff = None
    with pytest.raises(NotSignedIn, match="Sign in first"):
        services.venues.wards()
    with pytest.raises(NotSignedIn):
        services.residents.search("")
    assert services.accounts.has_accounts() is False


class _Scene:
    """A small scheme for the actions: a venue, a champion, a device and residents who agreed to all."""

    def __init__(self, services: Services, tmp_path: Path) -> None:
        self.services = services
        self.tmp_path = tmp_path
        self.venue = services.venues.add(VenueDraft(name="Edgeley Library", ward_code=WARD))
        today = services.clock().astimezone().date()
        self.today = today
        self.champion = services.champions.add(
            ChampionDraft(
                name="Priya Shah",
                venue_ids=frozenset({self.venue.id}),
                trained_on=today - timedelta(days=30),
                dbs_checked_on=today - timedelta(days=30),
            )
        )
        self.resident = services.residents.add(
            ResidentDraft(name="Ada Lovelace", phone="0161 474 0001", ward_code=WARD, consents=ALL_CONSENTS)
        )
        self.numbers = iter(range(2, 10_000))

    def new_device(self) -> str:
        tag = self.services.inventory.next_tag(DeviceType.TABLET)
        return self.services.inventory.add(
            DeviceDraft(tag=tag, device_type=DeviceType.TABLET, make="Lenovo")
        ).tag

    def new_resident(self) -> str:
        number = next(self.numbers)
        draft = ResidentDraft(
            name=f"Resident {number}", phone=f"0161 474 {number:04d}", ward_code=WARD, consents=ALL_CONSENTS
        )
        return self.services.residents.add(draft, duplicate_checked=True).reference

    def session(self) -> SessionDraft:
        return SessionDraft(
            held_on=self.today,
            starts_at=time(9, 0),
            minutes=30,
            kind=SessionKind.ONE_TO_ONE,
            venue_id=self.venue.id,
            champion_ids=(self.champion.id,),
            resident_references=(self.resident.reference,),
        )


def _actions(scene: _Scene) -> dict[Permission, Callable[[Services], object]]:
    """For each permission, one real action that needs it (prepared by an administrator beforehand)."""
    tag = scene.new_device()
    reference = scene.new_resident()
    waiting = scene.services.lending.join_waiting_list(reference, DeviceType.LAPTOP)
    return {
        Permission.SIGNED_IN: lambda s: s.venues.wards(),
        Permission.LOG_SUPPORT: lambda s: s.sessions.log(scene.session()),
        Permission.SEE_SUPPORTED_RESIDENTS: lambda s: s.residents.search("Ada"),
        Permission.SEE_RESIDENTS: lambda s: s.residents.count(""),
        Permission.EDIT_RESIDENTS: lambda s: s.residents.update(
            scene.resident.reference, s.residents.get(scene.resident.reference).as_draft()
        ),
        Permission.SEE_SENSITIVE: lambda s: s.reports.dashboard(scene.today),
        Permission.LEND: lambda s: s.lending.issue(tag, reference),
        Permission.SEE_DEVICES: lambda s: s.inventory.count(DeviceFilter()),
        Permission.MANAGE_DEVICES: lambda s: s.inventory.add(
            DeviceDraft(tag=f"LAP-{uuid.uuid4().hex[:4]}", device_type=DeviceType.LAPTOP, make="Dell")
        ),
        Permission.PRIORITISE: lambda s: s.lending.move_in_waiting_list(waiting.id, 1, "Care leaver"),
        Permission.CHANGE_SETTINGS: lambda s: s.champions.set_rules(ChampionRules()),
        Permission.SEE_REPORTS: lambda s: s.inclusion.counts(),
        Permission.SEE_AUDIT: lambda s: s.audit.entries(),
        Permission.MANAGE_ACCOUNTS: lambda s: s.accounts.accounts(),
        Permission.PROTECT_DATA: lambda s: s.data_protection.retention(),
        # Listing, not making one: a server database's backups are the server's (test_server_database).
        Permission.BACKUP: lambda s: s.backups.list_backups(scene.tmp_path),
    }


# These two guard no method of their own: they change what a method shows. Without SEE_RESIDENTS a
# resident list holds only the residents one supports; without SEE_SENSITIVE records come without the
# equality answers. The tests after this one check what each role is shown.
_SHOWN_NOT_CALLED = {Permission.SEE_RESIDENTS, Permission.SEE_SENSITIVE}


@pytest.mark.parametrize("role", list(Role))
def test_each_role_may_do_exactly_what_its_permissions_say(
    services: Services, tmp_path: Path, role: Role
) -> None:
    scene = _Scene(services, tmp_path)
    actions = _actions(scene)
    assert set(actions) == set(Permission)
    services.desk.staff = _staff(role, scene.champion.id)
    for permission, action in actions.items():
        if permission in _SHOWN_NOT_CALLED:
            continue
        if permission in ROLE_PERMISSIONS[role]:
            action(services)
        else:
            with pytest.raises(PermissionDenied):
                action(services)


def test_equality_answers_are_shown_only_to_roles_that_may_see_them(services: Services) -> None:
    draft = ResidentDraft(
        name="Grace Hopper",
        phone="0161 474 0002",
        ward_code=WARD,
        consents=ALL_CONSENTS,
        disability=Answer.YES,
        ethnicity="White British",
        on_benefits=Answer.NO,
    )
    reference = services.residents.add(draft).reference
    for role in Role:
        services.desk.staff = _staff(role)
        if Permission.SEE_RESIDENTS not in ROLE_PERMISSIONS[role]:
            continue
        seen = services.residents.get(reference)
        if Permission.SEE_SENSITIVE in ROLE_PERMISSIONS[role]:
            assert (seen.disability, seen.ethnicity, seen.on_benefits, seen.sensitive_shown) == (
                Answer.YES,
                "White British",
                Answer.NO,
                True,
            )
        else:
            assert (seen.disability, seen.ethnicity, seen.on_benefits, seen.sensitive_shown) == (
                None,
                "",
                None,
                False,
            )
            assert services.residents.search("Grace")[0].disability is None


def test_a_role_that_cannot_see_the_answers_cannot_wipe_them_out_by_saving(services: Services) -> None:
    draft = ResidentDraft(
        name="Grace Hopper",
        phone="0161 474 0002",
        ward_code=WARD,
        consents=ALL_CONSENTS,
        disability=Answer.YES,
    )
    reference = services.residents.add(draft).reference
    services.desk.staff = _staff(Role.DESK)
    seen = services.residents.get(reference)
    services.residents.update(reference, seen.as_draft())  # the form showed no answers
    # A new resident registered at the desk gets no answers, whatever the draft carried.
    other = services.residents.add(
        ResidentDraft(name="Alan Turing", phone="0161 474 0003", consents=ALL_CONSENTS, disability=Answer.NO)
    )
    services.desk.staff = _staff(Role.COORDINATOR)
    assert services.residents.get(reference).disability is Answer.YES
    assert services.residents.get(other.reference).disability is None


def test_a_champion_sees_only_the_residents_and_sessions_they_support(
    services: Services, tmp_path: Path
) -> None:
    scene = _Scene(services, tmp_path)
    other_champion = services.champions.add(
        ChampionDraft(name="Tom Reid", trained_on=scene.today, dbs_checked_on=scene.today)
    )
    stranger = scene.new_resident()
    services.sessions.log(scene.session())
    services.sessions.log(
        SessionDraft(
            held_on=scene.today,
            starts_at=time(8, 0),
            minutes=30,
            kind=SessionKind.ONE_TO_ONE,
            venue_id=scene.venue.id,
            champion_ids=(other_champion.id,),
            resident_references=(stranger,),
        )
    )
    services.desk.staff = _staff(Role.CHAMPION, scene.champion.id)
    assert [r.reference for r in services.residents.search("")] == [scene.resident.reference]
    assert services.residents.search("Resident") == []
    assert services.residents.count("") == 1
    assert [s.champion_names for s in services.sessions.sessions(SessionFilter())] == ["Priya Shah"]
    assert services.sessions.count(SessionFilter(champion_id=other_champion.id)) == 1  # their own, still
    # The reference on a card still finds anyone, to add them to a session, but nothing more about them.
    found = services.residents.get(stranger)
    assert (found.reference, found.name, found.phone, found.address, found.consents) == (
        stranger,
        services.residents.get(stranger).name,
        "",
        "",
        (),
    )
    assert services.residents.get(scene.resident.reference).phone == "0161 474 0001"  # one they support
    with pytest.raises(NotFound, match="not one of the residents you support"):
        services.skills.checks_of(stranger)
    assert services.skills.checks_of(scene.resident.reference) == []
    # Logging someone else's session is refused: a champion logs their own.
    other_session = SessionDraft(
        held_on=scene.today,
        starts_at=time(7, 0),
        minutes=30,
        kind=SessionKind.DROP_IN,
        venue_id=scene.venue.id,
        champion_ids=(other_champion.id,),
        resident_references=(stranger,),
    )
    with pytest.raises(Exception, match="Add yourself"):
        services.sessions.log(other_session)
