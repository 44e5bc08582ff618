"""Coordinator settings kept in the database (so every desk sharing it follows the same rules), as JSON."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session

from digiknow_desk.services import audit
from digiknow_desk.services.context import ServiceContext
from digiknow_desk.storage.models import SettingRow

# Set when demo data is put in a database: from then on every screen and printout says DEMO.
DEMO_KEY = "demo_database"


def is_demo_database(session: Session) -> bool:
    return read_setting(session, DEMO_KEY) is not None


def read_setting(session: Session, key: str) -> dict[str, Any] | None:
    """The setting saved under `key`, or None when it was never changed from the defaults."""
    row = session.get(SettingRow, key)
    if row is None:
        return None
    value: dict[str, Any] = json.loads(row.value)
    return value


def write_setting(session: Session, context: ServiceContext, key: str, value: Mapping[str, Any]) -> None:
    """Save a setting; the audit trail keeps what it was and what it became."""
    before = read_setting(session, key)
    session.merge(SettingRow(key=key, value=json.dumps(value, sort_keys=True)))
    audit.record(session, context, "setting.changed", key, details={"before": before, "after": dict(value)})
