"""Settings: which database the app opens (--db, DIGIKNOW_DB, or the default in the data folder)."""

from __future__ import annotations

from pathlib import Path

import platformdirs
import pytest
from sqlalchemy.engine import make_url

from digiknow_desk.app import open_database
from digiknow_desk.config import (
    APP_AUTHOR,
    APP_NAME,
    DATA_DIR_ENV,
    DB_ENV,
    DEFAULT_LABEL_STOCK,
    database_url,
    load_config,
)


def _sqlite_file(url: str) -> Path:
    parsed = make_url(url)
    assert parsed.get_backend_name() == "sqlite"
    assert parsed.database is not None
    return Path(parsed.database)


def test_the_default_database_lives_in_the_data_folder(tmp_path: Path) -> None:
    config = load_config(None, {DATA_DIR_ENV: str(tmp_path / "data")})
    assert config.data_dir == tmp_path / "data"
    assert _sqlite_file(config.db_url) == tmp_path / "data" / "digiknow.db"
    assert config.log_dir == tmp_path / "data" / "logs"
    assert config.default_label_stock == DEFAULT_LABEL_STOCK == "L7160"


def test_without_an_override_the_data_folder_is_the_per_user_one() -> None:
    config = load_config(None, {})
    expected = Path(platformdirs.user_data_dir(APP_NAME, APP_AUTHOR)).resolve()
    assert config.data_dir == expected
    assert _sqlite_file(config.db_url) == expected / "digiknow.db"


def test_digiknow_db_overrides_the_default(tmp_path: Path) -> None:
    environ = {DATA_DIR_ENV: str(tmp_path / "data"), DB_ENV: str(tmp_path / "shared.db")}
    assert _sqlite_file(load_config(None, environ).db_url) == tmp_path / "shared.db"
    environ[DB_ENV] = "postgresql+psycopg://desk@db.example/digiknow"
    assert load_config(None, environ).db_url == "postgresql+psycopg://desk@db.example/digiknow"


def test_the_db_option_overrides_digiknow_db(tmp_path: Path) -> None:
    environ = {DATA_DIR_ENV: str(tmp_path / "data"), DB_ENV: str(tmp_path / "shared.db")}
    config = load_config(str(tmp_path / "mine.db"), environ)
    assert _sqlite_file(config.db_url) == tmp_path / "mine.db"
    assert config.data_dir == tmp_path / "data"


def test_empty_settings_count_as_unset(tmp_path: Path) -> None:
    config = load_config("", {DATA_DIR_ENV: str(tmp_path), DB_ENV: ""})
    assert _sqlite_file(config.db_url) == tmp_path / "digiknow.db"


def test_a_url_is_kept_as_it_is() -> None:
    url = "postgresql+psycopg://desk:s3cret@db.example:5432/digiknow?sslmode=require"
    assert database_url(url) == url
    assert database_url("sqlite:///relative.db") == "sqlite:///relative.db"


@pytest.mark.parametrize("scheme", ["postgresql", "postgres"])
def test_a_server_url_as_servers_write_it_uses_psycopg(scheme: str) -> None:
    typed = f"{scheme}://desk:s3cret@db.example:5432/digiknow?sslmode=require"
    assert database_url(typed) == "postgresql+psycopg://desk:s3cret@db.example:5432/digiknow?sslmode=require"
    assert make_url(database_url(typed)).get_dialect().driver == "psycopg"


def test_a_relative_path_is_made_absolute(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert _sqlite_file(database_url("desk.db")) == tmp_path / "desk.db"
    assert _sqlite_file(database_url("sub/../other.db")) == tmp_path / "other.db"


def test_a_home_folder_path_is_expanded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    assert _sqlite_file(database_url("~/desk.db")) == tmp_path / "desk.db"
    assert load_config(None, {DATA_DIR_ENV: "~/desk-data"}).data_dir == tmp_path / "desk-data"


@pytest.mark.parametrize("folder", ["a?b", "50%20off", "with space", "#hash", "café"])
def test_a_path_with_url_characters_names_that_very_file(tmp_path: Path, folder: str) -> None:
    path = tmp_path / folder / "desk.db"
    assert _sqlite_file(database_url(str(path))) == path


def test_the_data_folder_is_resolved_like_the_database_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "real")
    for data_dir, expected in (
        ("rel-data", tmp_path / "rel-data"),
        ("link/data", tmp_path / "real" / "data"),
    ):
        config = load_config(None, {DATA_DIR_ENV: data_dir})
        assert config.data_dir == expected
        assert _sqlite_file(config.db_url).parent == config.data_dir


@pytest.mark.sqlite_only("the data folder holds the default SQLite file")
@pytest.mark.parametrize("data_dir", ["fresh/data", "link/data"])
def test_the_first_start_makes_the_data_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, data_dir: str
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "real")
    config = load_config(None, {DATA_DIR_ENV: data_dir})
    database = open_database(config, create=True)
    database.dispose()
    assert (config.data_dir / "digiknow.db").is_file()
