"""`venue setup`, `sync` and `conflicts` on the command line: a server (PostgreSQL, by nature) and two
venue copies in SQLite files, as a coordinator and desk staff would type them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.e2e.cli_runner import DEMO_ADMIN, DEMO_ADMIN_PASSWORD, Cli
from tests.e2e.conftest import as_given

if TYPE_CHECKING:
    from tests.conftest import PostgresServer


@pytest.fixture
def server(
    postgres_server: PostgresServer,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> Iterator[Cli]:
    monkeypatch.setenv("DIGIKNOW_DATA_DIR", str(tmp_path / "user-data"))
    monkeypatch.delenv("DIGIKNOW_DB", raising=False)
    monkeypatch.setenv("DIGIKNOW_PASSWORD", DEMO_ADMIN_PASSWORD)
    url = postgres_server.new_database(migrated=True)
    cli = Cli(as_given(url), capsys)
    cli.ok("demo-data", "--devices", "12", "--residents", "12", "--months", "2", "--seed", "3")
    yield cli
    postgres_server.drop(url)


def laptop(server: Cli, folder: Path, venue: str, capsys: pytest.CaptureFixture[str]) -> Cli:
    copy = Cli(folder / f"{venue.split()[0].lower()}.db", capsys)
    copy.user = DEMO_ADMIN
    said = copy.ok("venue", "setup", "--server", str(server.db), "--venue", venue)
    assert f"as the venue copy for {venue}" in said and "residents" in said
    return copy


def lend_any(copy: Cli) -> tuple[str, str]:
    """Lend the first device the desk may lend (some are held for the waiting list); its tag and the
    resident's reference."""
    reference = str(copy.records("residents", "list")[0]["reference"])
    for device in copy.records("devices", "list", "--status", "available"):
        if copy("loans", "issue", "--device", str(device["tag"]), "--resident", reference) == 0:
            return str(device["tag"]), reference
    raise AssertionError("the demo has no device free to lend")


def test_a_laptop_set_up_from_the_server_works_offline_and_syncs(
    server: Cli, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    copy = laptop(server, tmp_path, "Bramhall Library", capsys)
    tag, _reference = lend_any(copy)

    said = copy.ok("sync")

    assert said.startswith("Sent ") and "received" in said
    assert server.record("devices", "show", tag)["status"] == "on_loan"
    assert copy.ok("sync").startswith("Sent 0 changes")


def test_a_double_issue_is_listed_and_resolved_on_the_server(
    server: Cli, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bramhall = laptop(server, tmp_path, "Bramhall Library", capsys)
    cheadle = laptop(server, tmp_path, "Cheadle Library", capsys)
    tag, reference = lend_any(bramhall)
    cheadle.ok("loans", "issue", "--device", tag, "--resident", reference)
    bramhall.ok("sync")

    said = cheadle.ok("sync")

    assert "1 change could not be applied" in said and "conflicts list" in said
    (conflict,) = server.records("conflicts", "list")
    assert conflict["venue"] == "Cheadle Library" and tag in str(conflict["summary"])
    assert {change["table"] for change in conflict["venue_changes"]} >= {"loans", "devices"}  # type: ignore[union-attr]
    listed = server.ok("conflicts", "list")
    assert str(conflict["id"])[:8] in listed and "open" in listed
    assert "return the other loan first" in server.refused(
        "conflicts", "resolve", str(conflict["id"])[:8], "--keep", "venue"
    )
    server.ok("conflicts", "resolve", str(conflict["id"])[:8], "--keep", "server")
    assert server.ok("conflicts", "list") == "No conflicts to resolve.\n"
    assert server.records("conflicts", "list", "--all")[0]["resolution"] == "server"


def test_what_sync_refuses_says_what_to_do(
    server: Cli, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    copy = laptop(server, tmp_path, "Bramhall Library", capsys)
    assert "already a file" in copy.refused(
        "venue", "setup", "--server", str(server.db), "--venue", "Bramhall Library"
    )
    elsewhere = Cli(tmp_path / "new.db", capsys)
    elsewhere.user = DEMO_ADMIN
    assert "no venue called 'Atlantis'" in elsewhere.refused(
        "venue", "setup", "--server", str(server.db), "--venue", "Atlantis"
    )
    assert not (tmp_path / "new.db").exists()
    lend_any(copy)

    offline = copy.refused("sync", "--server", "postgresql://nobody@127.0.0.1:9/digiknow")
    assert "Could not reach the server" in offline and "kept" in offline
    assert "1 change" in copy.ok("sync")  # the work done offline went up once the server was there
    assert "not a venue copy" in server.refused("sync")
    assert "No conflict has the id" in server.refused("conflicts", "resolve", "ffffffff", "--keep", "server")
