"""Shared fixtures: a real, migrated database per test and services on it; Qt runs offscreen.

Every test that asks for `database` (or `services`, or `database_url`) runs twice: on a SQLite file and
on a fresh database of a real PostgreSQL server, whose URL scripts/test.sh puts in
$DIGIKNOW_TEST_POSTGRES. A test of the SQLite file itself (backups, encryption, the file lock) carries
`@pytest.mark.sqlite_only("why")` and runs on SQLite alone; a test of what a server database does
differently on purpose (refusing backups, say) carries `@pytest.mark.postgresql_only("why")`.
`--backend sqlite` runs only the SQLite half, for a quick look on a machine without PostgreSQL (tests
that need the server are left out); CI always runs both.
"""

from __future__ import annotations

import itertools
import os
import shutil
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL, make_url

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from digiknow_desk.app import Services, build_services  # noqa: E402  (after the Qt platform is chosen)
from digiknow_desk.domain.staff import setup_staff
from digiknow_desk.storage.database import Database  # noqa: E402
from digiknow_desk.storage.migrate import upgrade_to_head  # noqa: E402

FIXED_NOW = datetime(2026, 3, 14, 10, 30, tzinfo=UTC)


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime = FIXED_NOW) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "desk.db"


POSTGRES_ENV = "DIGIKNOW_TEST_POSTGRES"
BACKENDS = ("sqlite", "postgresql")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--backend",
        choices=("both", *BACKENDS),
        default="both",
        help="the databases the database tests run on (default both; the server is $DIGIKNOW_TEST_POSTGRES)",
    )


ONLY_MARKERS = {"sqlite_only": "sqlite", "postgresql_only": "postgresql"}


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "sqlite_only(reason): a test of the SQLite file itself; the reason says why not PostgreSQL"
    )
    config.addinivalue_line(
        "markers",
        "postgresql_only(reason): what a server database does differently on purpose; the reason says what",
    )


def _only_backend(item: pytest.Item | pytest.Function) -> str | None:
    """The one backend a test is marked for, or None; a marker without its reason is refused."""
    found = None
    for name, backend in ONLY_MARKERS.items():
        marker = item.get_closest_marker(name)
        if marker is not None:
            if not marker.args:
                raise pytest.UsageError(f"{item.nodeid}: {name} needs a reason")
            found = backend
    return found


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "backend" not in metafunc.fixturenames:
        return
    only = _only_backend(metafunc.definition)
    metafunc.parametrize("backend", BACKENDS if only is None else (only,))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Leave out the tests of the backend not chosen with --backend: a test marked for one backend, a
    test's run on the other backend, and (with --backend sqlite) tests that take the server directly."""
    chosen = config.getoption("--backend")
    if chosen == "both":
        return
    kept: list[pytest.Item] = []
    left_out: list[pytest.Item] = []
    for item in items:
        callspec = getattr(item, "callspec", None)
        backend = callspec.params.get("backend") if callspec is not None else None
        backend = backend or _only_backend(item)
        if backend is None and "postgres_server" in getattr(item, "fixturenames", ()):
            backend = "postgresql"
        (left_out if backend not in (None, chosen) else kept).append(item)
    if left_out:
        config.hook.pytest_deselected(items=left_out)
        items[:] = kept


class PostgresServer:
    """The test server: a migrated template database, and a fresh copy of it (or an empty one) per test.

    Making a copy takes the server a tenth of a second or more, longer than most tests: a background
    thread keeps the next copies ready, and drops the used ones, while the tests run. Every database
    this process makes is named with its prefix (the xdist worker and process id), used by one test only,
    and anything left behind (a drop that failed) is dropped when the session ends."""

    READY = 2  # copies made ahead

    def __init__(self, url: str) -> None:
        self._url = make_url(url)
        self._admin = create_engine(self._url, isolation_level="AUTOCOMMIT")
        worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
        self._prefix = f"digiknow_test_{worker}_{os.getpid()}"
        self._numbers = itertools.count()
        self._template = f"{self._prefix}_template"
        self._execute(f"DROP DATABASE IF EXISTS {self._template}")
        self._execute(f"CREATE DATABASE {self._template}")
        template = Database(self.url_of(self._template))
        upgrade_to_head(template)
        template.dispose()
        self._background = ThreadPoolExecutor(max_workers=1, thread_name_prefix="test-databases")
        self._ready = deque(self._background.submit(self._create, self._template) for _ in range(self.READY))

    def url_of(self, name: str) -> str:
        return self._url.set(database=name).render_as_string(hide_password=False)

    def _execute(self, statement: str) -> None:
        with self._admin.connect() as connection:
            connection.execute(text(statement))

    def new_database(self, *, migrated: bool) -> str:
        """A new database's URL: a copy of the migrated template, or empty."""
        if not migrated:
            return self._create(None)
        self._ready.append(self._background.submit(self._create, self._template))
        return self._ready.popleft().result()  # a failure to make it is raised here, in the test

    def copy_of(self, url: str) -> str:
        """A new database's URL: a copy of the database at `url`, which nothing may be connected to."""
        return self._create(make_url(url).database)

    def _create(self, template: str | None) -> str:
        name = f"{self._prefix}_{next(self._numbers)}"
        source = f" TEMPLATE {template} STRATEGY FILE_COPY" if template else ""
        self._execute(f"CREATE DATABASE {name}{source}")
        return self.url_of(name)

    def drop(self, url: str) -> None:
        """Drop the database in the background, with any connection a test left open to it."""
        name = make_url(url).database
        self._background.submit(self._execute, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

    def close(self) -> None:
        self._background.shutdown(wait=True)
        with self._admin.connect() as connection:
            left = connection.execute(
                text("SELECT datname FROM pg_database WHERE starts_with(datname, :prefix)"),
                {"prefix": f"{self._prefix}_"},
            ).scalars()
            for name in list(left):
                connection.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        self._admin.dispose()


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    url = os.environ.get(POSTGRES_ENV)
    if not url:
        pytest.fail(
            f"The PostgreSQL half of the tests needs a server: run 'bash scripts/test.sh', which starts "
            f"one, or set {POSTGRES_ENV} to a server's URL, or pass --backend sqlite for SQLite alone."
        )
    server = PostgresServer(url)
    yield server
    server.close()


def _new_database_url(
    backend: str, db_path: Path, request: pytest.FixtureRequest, *, migrated: bool
) -> Iterator[str]:
    if backend == "sqlite":
        yield URL.create("sqlite", database=db_path.as_posix()).render_as_string()
        return
    server: PostgresServer = request.getfixturevalue("postgres_server")
    url = server.new_database(migrated=migrated)
    yield url
    server.drop(url)


@pytest.fixture
def database_url(backend: str, db_path: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    """A migrated database of this test's backend, as a URL: a SQLite file not yet made, or a server's."""
    yield from _new_database_url(backend, db_path, request, migrated=True)


@pytest.fixture
def empty_database_url(backend: str, db_path: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    """An empty database of this test's backend, with no tables yet."""
    yield from _new_database_url(backend, db_path, request, migrated=False)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated once per session (and xdist worker), as upgrade_to_head makes one."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    template = Database(URL.create("sqlite", database=path.as_posix()).render_as_string())
    upgrade_to_head(template)
    template.dispose()  # the last connection closed: the log is emptied into the file and removed
    return path


@pytest.fixture
def database(
    backend: str, database_url: str, db_path: Path, request: pytest.FixtureRequest
) -> Iterator[Database]:
    """The migrated database of database_url, open."""
    if backend == "sqlite":
        # A copy of the migrated template: a thousand tests each migrating a file would take minutes.
        shutil.copyfile(request.getfixturevalue("sqlite_template"), db_path)
    database = Database(database_url)
    yield database
    database.dispose()


@pytest.fixture
def new_database(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[Callable[[str], Database]]:
    """Makes more migrated databases of this test's backend, for a test that compares several: a file of
    the name given in tmp_path, or a new database on the server. Each is closed (and dropped) afterwards."""
    template: Path | None = request.getfixturevalue("sqlite_template") if backend == "sqlite" else None
    server: PostgresServer | None = request.getfixturevalue("postgres_server") if template is None else None
    made: list[Database] = []

    def make(name: str) -> Database:
        if template is not None:
            shutil.copyfile(template, tmp_path / name)
            url = URL.create("sqlite", database=(tmp_path / name).as_posix()).render_as_string()
        else:
            assert server is not None
            url = server.new_database(migrated=True)
        made.append(Database(url))
        return made[-1]

    yield make
    for database in made:
        database.dispose()
        if server is not None:
            server.drop(database.url)


@pytest.fixture
def services(database: Database, clock: FakeClock) -> Services:
    return build_services(database, staff=setup_staff("Test Staff"), clock=clock)
