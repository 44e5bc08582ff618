"""The triggers that record every change to the shared tables, for venue sync.

On the server (PostgreSQL) every change goes into `sync_feed`, for venue copies to fetch. In a SQLite
file every change goes into `sync_outbox` while `sync_state.recording` is on, which it is only on a
venue copy: there the outbox is written in the same transaction as the change, whatever code made it.

The triggers name every column, so a migration that changes a shared table's columns calls
`create_change_triggers` again at its end (a SQLite batch migration drops a copied table's triggers).
"""

from __future__ import annotations

from sqlalchemy import Connection, inspect, text

# Worked out again on each side instead of sent: a resident's search words (they are the resident's
# name and contact details, which a feed of changes must not keep after an erasure).
DERIVED = frozenset({"resident_search_terms"})
# Never shared as rows: Alembic's own, sync's own, the counters of tags and references (a venue copy
# is handed a block of resident references instead), and the derived tables. The audit trail goes up
# from a copy but never down.
NOT_SHARED = (
    frozenset(
        {
            "alembic_version",
            "tag_counters",
            "sync_state",
            "sync_outbox",
            "sync_recheck",
            "sync_feed",
            "sync_copies",
            "sync_conflicts",
        }
    )
    | DERIVED
)
SENT_UP_ONLY = frozenset({"audit_entries"})
# Staff accounts are managed on the server; a copy receives them, and its own sign-in counters stay on it.
RECEIVED_ONLY = frozenset({"staff_accounts"})

_FEED_FUNCTION = """
CREATE OR REPLACE FUNCTION sync_feed_record() RETURNS trigger AS $$
DECLARE
    changed jsonb;
    key jsonb := '[]'::jsonb;
    column_name text;
BEGIN
    IF TG_OP = 'DELETE' THEN changed := to_jsonb(OLD); ELSE changed := to_jsonb(NEW); END IF;
    FOREACH column_name IN ARRAY TG_ARGV LOOP
        key := key || jsonb_build_array(changed -> column_name);
    END LOOP;
    INSERT INTO sync_feed (xid, table_name, row_key, op, origin)
    VALUES (pg_current_xact_id()::text::bigint, TG_TABLE_NAME, key::text, lower(TG_OP),
            coalesce(current_setting('digiknow.sync_copy', true), ''));
    RETURN NULL;
END;
$$ LANGUAGE plpgsql
"""


def shared_tables(connection: Connection) -> list[str]:
    """The tables a venue copy shares with the server (the audit trail among them, sent up only)."""
    return sorted(set(inspect(connection).get_table_names()) - NOT_SHARED)


def create_change_triggers(connection: Connection) -> None:
    """(Re)create the change triggers on every shared table, naming the columns each has now."""
    drop_change_triggers(connection)
    inspector = inspect(connection)
    postgresql = connection.dialect.name == "postgresql"
    if postgresql:
        connection.exec_driver_sql(_FEED_FUNCTION)
    for table in shared_tables(connection):
        key = inspector.get_pk_constraint(table)["constrained_columns"]
        if postgresql:
            if table not in SENT_UP_ONLY:
                arguments = ", ".join(f"'{column}'" for column in key)
                connection.exec_driver_sql(
                    f"CREATE TRIGGER sync_feed_{table} AFTER INSERT OR UPDATE OR DELETE ON {table} "
                    f"FOR EACH ROW EXECUTE FUNCTION sync_feed_record({arguments})"
                )
            continue
        if table in RECEIVED_ONLY:
            continue
        columns = [column["name"] for column in inspector.get_columns(table)]
        # An audit entry goes up when it is made; redacting it here later is this copy's own business.
        ops = ("insert",) if table in SENT_UP_ONLY else ("insert", "update", "delete")
        for statement in _outbox_triggers(table, key, columns, ops):
            connection.exec_driver_sql(statement)


def drop_change_triggers(connection: Connection) -> None:
    if connection.dialect.name == "postgresql":
        names = connection.execute(
            text(
                "SELECT tgname, tgrelid::regclass::text FROM pg_trigger "
                "WHERE starts_with(tgname, 'sync_feed_')"
            )
        ).all()
        for name, table in names:
            connection.exec_driver_sql(f"DROP TRIGGER {name} ON {table}")
        return
    triggers = connection.execute(
        text("SELECT name FROM sqlite_master WHERE type = 'trigger' AND substr(name, 1, 12) = 'sync_outbox_'")
    ).scalars()
    for name in list(triggers):
        connection.exec_driver_sql(f"DROP TRIGGER {name}")


def _outbox_triggers(table: str, key: list[str], columns: list[str], ops: tuple[str, ...]) -> list[str]:
    def row(prefix: str) -> str:
        return "json_object(" + ", ".join(f"'{column}', {prefix}.{column}" for column in columns) + ")"

    def key_of(prefix: str) -> str:
        return "json_array(" + ", ".join(f"{prefix}.{column}" for column in key) + ")"

    statements = []
    shapes = {
        "insert": ("NEW", "NULL", row("NEW")),
        "update": ("NEW", row("OLD"), row("NEW")),
        "delete": ("OLD", row("OLD"), "NULL"),
    }
    for op in ops:
        key_row, old, new = shapes[op]
        statements.append(
            f"CREATE TRIGGER sync_outbox_{table}_{op} AFTER {op.upper()} ON {table} "
            "WHEN (SELECT recording FROM sync_state WHERE id = 1) "
            "BEGIN INSERT INTO sync_outbox (txn, table_name, row_key, op, old_row, new_row) "
            f"VALUES ((SELECT txn FROM sync_state WHERE id = 1), '{table}', {key_of(key_row)}, '{op}', "
            f"{old}, {new}); END"
        )
    return statements
