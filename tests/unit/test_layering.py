"""The layers stay apart: only ui/ imports Qt; domain/ and labels/ know nothing of the database."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "digiknow_desk"


def _imports(path: Path) -> set[str]:
    """Every module a source file imports, wherever the import statement sits (functions, TYPE_CHECKING)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    modules: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against the file's package
                parts = path.relative_to(PACKAGE.parent).with_suffix("").parts[: -node.level]
                base = ".".join(parts)
                modules.add(f"{base}.{node.module}" if node.module else base)
            elif node.module:
                modules.add(node.module)
    return modules


def _sources(under: str = "") -> dict[str, set[str]]:
    root = PACKAGE / under if under else PACKAGE
    return {path.relative_to(PACKAGE).as_posix(): _imports(path) for path in sorted(root.rglob("*.py"))}


def _importers(sources: dict[str, set[str]], top: str) -> set[str]:
    return {
        name for name, modules in sources.items() if any(m == top or m.startswith(top + ".") for m in modules)
    }


def test_only_the_ui_imports_qt() -> None:
    sources = _sources()
    qt_users = _importers(sources, "PySide6")
    assert qt_users, "the scan found no Qt import at all: it is not reading the ui package"
    assert {name for name in qt_users if not name.startswith("ui/")} == set()


def test_domain_and_labels_know_nothing_of_the_database_or_the_layers_above() -> None:
    for package in ("domain", "labels"):
        sources = _sources(package)
        assert sources, f"no sources found in {package}/"
        for forbidden in (
            "sqlalchemy",
            "alembic",
            "PySide6",
            "digiknow_desk.storage",
            "digiknow_desk.services",
            "digiknow_desk.ui",
            "digiknow_desk.cli",
            "digiknow_desk.app",
        ):
            assert _importers(sources, forbidden) == set(), f"{package}/ imports {forbidden}"


def test_storage_and_services_do_not_reach_up_to_the_ui_or_cli() -> None:
    for package in ("storage", "services"):
        sources = _sources(package)
        for forbidden in ("digiknow_desk.ui", "digiknow_desk.cli", "digiknow_desk.app"):
            assert _importers(sources, forbidden) == set(), f"{package}/ imports {forbidden}"
    assert _importers(_sources("storage"), "digiknow_desk.services") == set()


def test_the_command_line_runs_without_loading_qt() -> None:
    probe = (
        "import sys, digiknow_desk.app, digiknow_desk.cli; "
        "digiknow_desk.cli.build_parser(); "
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'PySide6'))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=PACKAGE.parent, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"
