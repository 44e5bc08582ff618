"""Running `digiknow-desk --db DB ...` in this process for the end-to-end tests, keeping what it printed.

DB is a SQLite file's path or a PostgreSQL server's URL (see the cli_db fixture)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from digiknow_desk.app import main
from digiknow_desk.config import database_url
from digiknow_desk.services.demo import DEMO_ACCOUNTS

# demo-data adds one account per role; from then on the commands act as its administrator, whose
# password the tests' environment gives (DIGIKNOW_PASSWORD).
DEMO_ADMIN, _NAME, _ROLE, DEMO_ADMIN_PASSWORD = DEMO_ACCOUNTS[0]


class Cli:
    """One database's command line: each call is one `digiknow-desk --db DB [--user U] ...` run."""

    def __init__(self, db: Path | str, capsys: pytest.CaptureFixture[str]) -> None:
        self.db = db
        self._capsys = capsys
        self.out = self.err = ""
        self.user: str | None = None

    @property
    def on_server(self) -> bool:
        return not isinstance(self.db, Path)

    @property
    def shown(self) -> str:
        """The database as the app names it to staff: the file's path, or the server's database and where
        it is (the test server is on this computer, through its socket)."""
        url = make_url(database_url(str(self.db)))
        if url.get_backend_name() == "sqlite":
            return str(url.database)
        return f"{url.database} on this computer"

    def __call__(self, *args: str, db: Path | str | None = None, use_db: bool = True) -> int:
        target = self.db if db is None else db
        user = ["--user", self.user] if self.user else []
        code = main(["digiknow-desk", *(["--db", str(target)] if use_db else []), *user, *args])
        self.out, self.err = self._capsys.readouterr()
        if args[:1] == ("demo-data",) and code == 0 and target == self.db:
            self.user = DEMO_ADMIN
        return code

    def ok(self, *args: str) -> str:
        """Run a command that must succeed quietly on stderr; its output."""
        assert self(*args) == 0, self.err
        assert self.err == ""
        return self.out

    def refused(self, *args: str) -> str:
        """Run a command that must be refused: exit 1, nothing on stdout; the error."""
        assert self(*args) == 1, self.out
        assert self.out == ""
        assert self.err.startswith("error: ") and "Traceback" not in self.err
        return self.err

    def json(self, *args: str) -> object:
        assert self(*args, "--json") == 0, self.err
        return json.loads(self.out)

    def records(self, *args: str) -> list[dict[str, object]]:
        found = self.json(*args)
        assert isinstance(found, list)
        return found

    def record(self, *args: str) -> dict[str, object]:
        found = self.json(*args)
        assert isinstance(found, dict)
        return found
