"""Rows as sync moves them: read from the outbox's JSON, compared, and kept as JSON in a conflict.

The outbox triggers write a row as SQLite stores it (a UUID as 32 hex digits, a timestamp as text, a
flag as 0 or 1); `from_outbox` turns that into the Python values SQLAlchemy reads, using SQLite's own
result processors, so the same row read from PostgreSQL compares equal. `to_json` and `from_json`
keep a row readable in a conflict and bring it back exactly.
"""

from __future__ import annotations

import enum
import json
import uuid
from collections.abc import Mapping
from datetime import date, datetime, time
from typing import Any

from sqlalchemy import Boolean, Date, Enum, Table, Time, Uuid
from sqlalchemy.dialects import sqlite

from digiknow_desk.storage.models import UtcDateTime

Row = dict[str, Any]
Key = tuple[Any, ...]

_SQLITE = sqlite.dialect()


def key_of(table: Table, row: Mapping[str, Any]) -> Key:
    return tuple(row[column.name] for column in table.primary_key.columns)


def key_from_json(table: Table, text: str) -> Key:
    """A primary key from the JSON array a trigger wrote (SQLite's or PostgreSQL's spelling)."""
    return tuple(
        _python_value(column.type, value)
        for column, value in zip(table.primary_key.columns, json.loads(text), strict=True)
    )


def from_outbox(table: Table, text: str | None) -> Row | None:
    """A row from the outbox's JSON, as SQLAlchemy would read it from the SQLite file."""
    if text is None:
        return None
    raw = json.loads(text)
    row: Row = {}
    for column in table.columns:
        value = raw.get(column.name)
        processor = column.type.dialect_impl(_SQLITE).result_processor(_SQLITE, None)
        row[column.name] = processor(value) if processor is not None and value is not None else value
    return row


def to_json(row: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """A row as plain JSON values (text for UUIDs, dates, times and choices)."""
    if row is None:
        return None
    return {name: _json_value(value) for name, value in row.items()}


def from_json(table: Table, data: Mapping[str, Any] | None) -> Row | None:
    if data is None:
        return None
    return {column.name: _python_value(column.type, data.get(column.name)) for column in table.columns}


def _json_value(value: Any) -> Any:
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    return value


def _python_value(column_type: Any, value: Any) -> Any:
    if value is None:
        return None
    if isinstance(column_type, Uuid):
        return uuid.UUID(str(value))
    if isinstance(column_type, UtcDateTime):
        return datetime.fromisoformat(value)
    if isinstance(column_type, Date):
        return date.fromisoformat(value)
    if isinstance(column_type, Time):
        return time.fromisoformat(value)
    if isinstance(column_type, Enum) and column_type.enum_class is not None:
        return column_type.enum_class(value)
    if isinstance(column_type, Boolean):
        return bool(value)
    return value
