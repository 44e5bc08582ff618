"""Sign-in, roles, the audit trail and backups through the command line, on temporary databases (SQLite
files, and databases on a PostgreSQL server)."""

from __future__ import annotations

import json
import shutil
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from digiknow_desk.app import main
from digiknow_desk.domain.staff import ROLE_PERMISSIONS, Permission, Role
from digiknow_desk.services.demo import DEMO_ACCOUNTS
from tests.e2e.cli_runner import DEMO_ADMIN_PASSWORD, Cli
from tests.e2e.conftest import as_given

if TYPE_CHECKING:
    from tests.conftest import PostgresServer

PASSWORD = "correct horse battery"


@pytest.fixture(autouse=True)
def desk_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep every run away from the real user folder; no password unless a test gives one."""
    monkeypatch.setenv("DIGIKNOW_DATA_DIR", str(tmp_path / "user-data"))
    monkeypatch.delenv("DIGIKNOW_DB", raising=False)
    monkeypatch.delenv("DIGIKNOW_PASSWORD", raising=False)
    monkeypatch.setenv("LOGNAME", "desk-tester")


@dataclass
class DemoTemplates:
    """Demo databases, made once per backend when first wanted (demo-data takes seconds); each test gets
    a copy. On the server a template is a database that copies are made from."""

    folder: Path
    server_template: str | None = None  # its URL
    server: PostgresServer | None = field(default=None, repr=False)


def _fill_with_demo_data(db: Path | str, data_dir: Path) -> None:
    """Accounts for every role, residents, loans."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DIGIKNOW_DATA_DIR", str(data_dir))
        patch.delenv("DIGIKNOW_DB", raising=False)
        code = main(["digiknow-desk", "--db", str(db), "demo-data", "--devices", "30", "--residents", "25"])
    assert code == 0


@pytest.fixture(scope="module")
def demo_templates(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoTemplates]:
    templates = DemoTemplates(tmp_path_factory.mktemp("template"))
    yield templates
    if templates.server is not None and templates.server_template is not None:
        templates.server.drop(templates.server_template)


@pytest.fixture
def demo(
    backend: str,
    demo_templates: DemoTemplates,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    request: pytest.FixtureRequest,
) -> Iterator[Cli]:
    """A copy of the demo database on this test's backend."""
    if backend == "sqlite":
        template = demo_templates.folder / "demo.db"
        if not template.exists():
            _fill_with_demo_data(template, demo_templates.folder / "user-data")
        db = tmp_path / "demo.db"
        shutil.copy(template, db)
        capsys.readouterr()
        yield Cli(db, capsys)
        return
    server: PostgresServer = request.getfixturevalue("postgres_server")
    if demo_templates.server_template is None:
        url = server.new_database(migrated=True)
        _fill_with_demo_data(as_given(url), demo_templates.folder / "user-data")
        demo_templates.server, demo_templates.server_template = server, url
    copy = server.copy_of(demo_templates.server_template)
    capsys.readouterr()
    yield Cli(as_given(copy), capsys)
    server.drop(copy)


def test_a_new_database_has_no_accounts_until_the_first_administrator(
    cli_db: Path | str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    cli = Cli(cli_db, capsys)
    cli.ok("init")
    cli.ok("venues", "list")  # before any account, the person at the keyboard sets things up
    assert "no staff accounts yet, so --user is not needed" in cli.refused("--user", "sam", "venues", "list")
    monkeypatch.setenv("DIGIKNOW_NEW_PASSWORD", PASSWORD)
    assert "the first administrator" in cli.ok(
        "users", "add", "sam.jones", "--name", "Sam Jones", "--role", "administrator"
    )
    assert "say who you are with --user NAME" in cli.refused("venues", "list")
    monkeypatch.setenv("DIGIKNOW_PASSWORD", "not the password")
    cli.user = "sam.jones"
    assert "do not match" in cli.refused("venues", "list")
    monkeypatch.setenv("DIGIKNOW_PASSWORD", PASSWORD)
    cli.ok("users", "add", "priya", "--name", "Priya Shah", "--role", "desk")
    listed = cli.records("users", "list")
    assert [(a["username"], a["role"], a["active"]) for a in listed] == [
        ("priya", "desk", True),
        ("sam.jones", "administrator", True),
    ]
    cli.ok("users", "disable", "priya")
    cli.user = "priya"
    assert "is disabled" in cli.refused("venues", "list")


# One command per permission, each needing exactly that permission (and the ones every role has).
COMMANDS: dict[Permission, tuple[str, ...]] = {
    Permission.SIGNED_IN: ("venues", "list"),
    Permission.LOG_SUPPORT: ("sessions", "list"),
    Permission.SEE_SUPPORTED_RESIDENTS: ("residents", "list"),
    Permission.EDIT_RESIDENTS: ("residents", "add", "--name", "Ada Lovelace", "--phone", "0161 474 0001"),
    Permission.LEND: ("loans", "overdue"),
    Permission.SEE_DEVICES: ("devices", "list"),
    Permission.MANAGE_DEVICES: ("devices", "add", "--type", "tablet", "--make", "Lenovo"),
    Permission.CHANGE_SETTINGS: ("rules", "set", "--offer-days", "5"),
    Permission.SEE_REPORTS: ("inclusion", "counts"),
    Permission.SEE_AUDIT: ("audit", "list"),
    Permission.MANAGE_ACCOUNTS: ("users", "list"),
    Permission.BACKUP: ("backup", "--out", "{tmp}/backup.db"),
}


@pytest.mark.parametrize("account", DEMO_ACCOUNTS, ids=[account[0] for account in DEMO_ACCOUNTS])
def test_each_demo_account_may_run_exactly_the_commands_its_role_allows(
    demo: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, account: tuple[str, str, Role, str]
) -> None:
    username, _name, role, password = account
    monkeypatch.setenv("DIGIKNOW_PASSWORD", password)
    demo.user = username
    for permission, command in COMMANDS.items():
        args = [part.format(tmp=tmp_path) for part in command]
        if permission is Permission.BACKUP and permission in ROLE_PERMISSIONS[role] and demo.on_server:
            # Allowed, and then refused for what it is: a server's backups are the server's.
            assert "back it up with the server's own tools" in demo.refused(*args)
        elif permission in ROLE_PERMISSIONS[role]:
            demo.ok(*args)
        else:
            refusal = demo.refused(*args)
            assert f"signed in as {role.label}, who cannot {permission.label}" in refusal, (
                permission,
                refusal,
            )


def test_the_audit_trail_lists_what_the_command_line_changed_by_whom(
    demo: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DIGIKNOW_PASSWORD", "Stockport-desk")
    demo.user = "demo.desk"
    demo.ok("devices", "add", "--type", "tablet", "--make", "Lenovo")
    monkeypatch.setenv("DIGIKNOW_PASSWORD", DEMO_ADMIN_PASSWORD)
    demo.user = "demo.admin"
    entries = demo.records("audit", "list", "--by", "demo.desk")
    assert [entry["action"] for entry in entries] == ["device.added", "user.signed_in"]
    assert entries[0]["staff_name"] == "Demo Desk" and entries[0]["machine"]
    assert "device.added" in demo.ok("audit", "list", "--action", "device", "--limit", "1")


@pytest.mark.sqlite_only("backs up the SQLite file")
def test_backup_and_restore_through_the_command_line_refuse_bad_files(
    demo: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DIGIKNOW_PASSWORD", DEMO_ADMIN_PASSWORD)
    demo.user = "demo.admin"
    backup = tmp_path / "before.db"
    assert f"Backed up to {backup}" in demo.ok("backup", "--out", str(backup))
    demo.ok("devices", "add", "--type", "laptop", "--make", "Dell")
    devices = len(demo.records("devices", "list"))

    truncated = tmp_path / "truncated.db"
    truncated.write_bytes(backup.read_bytes()[:4096])
    foreign = tmp_path / "foreign.db"
    with sqlite3.connect(foreign) as connection:
        connection.execute("CREATE TABLE notes (text TEXT)")
    newer = tmp_path / "newer.db"
    shutil.copy(backup, newer)
    with sqlite3.connect(newer) as connection:
        connection.execute("UPDATE alembic_version SET version_num = '9999'")
    for bad, said in ((truncated, "incomplete"), (foreign, "not a DigiKnow Desk"), (newer, "newer version")):
        assert said in demo.refused("restore", str(bad)), bad
        assert len(demo.records("devices", "list")) == devices  # the live data untouched

    assert "The database as it was is kept at" in demo.ok("restore", str(backup))
    assert len(demo.records("devices", "list")) == devices - 1
    kept = list(tmp_path.glob("demo.before-restore-*.db"))
    assert len(kept) == 1


def test_demo_data_says_how_to_sign_in_with_its_accounts(
    cli_db: Path | str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DIGIKNOW_PASSWORD", DEMO_ADMIN_PASSWORD)
    cli = Cli(cli_db, capsys)
    out = cli.ok("demo-data", "--devices", "5", "--residents", "0")
    for username, _name, _role, password in DEMO_ACCOUNTS:
        assert f"{username} / {password}" in out
    assert "DEMO" in out
    users = json.loads(cli.ok("users", "list", "--json"))  # Cli now acts as demo.admin
    assert {user["username"] for user in users} == {account[0] for account in DEMO_ACCOUNTS}


def test_demo_data_never_goes_into_a_database_in_use(
    cli_db: Path | str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    cli = Cli(cli_db, capsys)
    cli.ok("init")
    cli.ok("residents", "add", "--name", "Real Person", "--phone", "0161 474 0001")
    assert "cannot go in it" in cli.refused("demo-data", "--devices", "2", "--residents", "0")
    monkeypatch.setenv("DIGIKNOW_NEW_PASSWORD", PASSWORD)
    cli.ok("users", "add", "boss", "--name", "The Boss", "--role", "administrator")
    monkeypatch.setenv("DIGIKNOW_PASSWORD", PASSWORD)
    cli.user = "boss"
    assert "cannot go in it" in cli.refused("demo-data", "--devices", "2", "--residents", "0")
    assert [user["username"] for user in cli.records("users", "list")] == ["boss"]


def test_desk_staff_see_a_resident_without_the_support_details(
    demo: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DIGIKNOW_PASSWORD", "Stockport-desk")
    demo.user = "demo.desk"
    shown = demo.record("residents", "show", "R-00003")
    assert shown["reference"] == "R-00003" and "loans" in shown and "skills_checks" not in shown
    assert "disability" not in shown  # equality answers are left out, not shown as unanswered


@pytest.mark.sqlite_only("encrypts the SQLite file")
def test_only_an_administrator_may_encrypt_a_database_with_accounts(
    demo: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DIGIKNOW_NEW_PASSPHRASE", "correct horse battery staple")
    monkeypatch.setenv("DIGIKNOW_PASSWORD", "Stockport-desk")
    assert "say who you are with --user" in demo.refused("encryption", "on")
    demo.user = "demo.desk"
    assert "who cannot make and restore backups" in demo.refused("encryption", "on")
    assert "not encrypted" in demo.ok("encryption", "status")
    monkeypatch.setenv("DIGIKNOW_PASSWORD", DEMO_ADMIN_PASSWORD)
    demo.user = "demo.admin"
    assert "is now encrypted" in demo.ok("encryption", "on")
    assert "is encrypted" in demo.ok("encryption", "status")


@pytest.mark.sqlite_only("backs up the SQLite file")
def test_a_restore_never_brings_back_someone_erased_since_the_backup(
    demo: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DIGIKNOW_PASSWORD", DEMO_ADMIN_PASSWORD)
    demo.user = "demo.admin"
    reference = demo.ok(
        "residents", "add", "--name", "Zebediah Quartermaine", "--phone", "0161 474 0099"
    ).split()[1]
    backup = tmp_path / "before-erasure.db"
    demo.ok("backup", "--out", str(backup))
    demo.ok("residents", "erase", reference, "--reason", "Request by letter")
    restored = demo.ok("restore", str(backup))
    assert f"Erased again, as before the restore: {reference}." in restored
    assert demo.record("residents", "show", reference)["name"] == "Anonymised resident"


@pytest.mark.postgresql_only("a server's backups and encryption are the server's")
def test_on_a_server_backup_restore_and_encryption_say_they_are_the_servers(
    demo: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DIGIKNOW_PASSWORD", DEMO_ADMIN_PASSWORD)
    monkeypatch.setenv("DIGIKNOW_NEW_PASSPHRASE", "correct horse battery staple")
    demo.user = "demo.admin"
    devices = len(demo.records("devices", "list"))
    server_tools = "This database is on a server: back it up with the server's own tools"
    assert server_tools in demo.refused("backup", "--out", str(tmp_path / "backup.db"))
    assert server_tools in demo.refused("restore", str(tmp_path / "backup.db"))
    assert "a server protects its own data" in demo.refused("encryption", "on")
    assert list(tmp_path.iterdir()) == []
    assert len(demo.records("devices", "list")) == devices
