"""SQLite persistence of the emulated portal.

Every CRM record is one row ``(id INTEGER PRIMARY KEY, data JSON)``; filters run
in SQL through ``json_extract`` so a 50,000-row ``>ID`` scan stays on the primary
key.  Values are kept *typed* inside the JSON (integers as numbers, dates as ISO
strings in Moscow time) and turned into the API's string form on output.
Multi-fields (phones, e-mails …) live in their own table with globally unique ids,
like ``b_crm_field_multi`` of a real portal.  ``path=None`` keeps everything in
memory.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

ENTITY_TABLES = (
    "company",
    "contact",
    "requisite",
    "preset",
    "deal",
    "smart_invoice",
    "bankdetail",
    "requisite_link",
)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS company (id INTEGER PRIMARY KEY AUTOINCREMENT, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS contact (id INTEGER PRIMARY KEY AUTOINCREMENT, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS requisite (id INTEGER PRIMARY KEY AUTOINCREMENT, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS preset (id INTEGER PRIMARY KEY AUTOINCREMENT, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS bankdetail (id INTEGER PRIMARY KEY AUTOINCREMENT, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS requisite_link (
    id INTEGER PRIMARY KEY AUTOINCREMENT, data TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS deal (id INTEGER PRIMARY KEY AUTOINCREMENT, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS smart_invoice (
    id INTEGER PRIMARY KEY AUTOINCREMENT, data TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS deal_contact (
    deal_id INTEGER NOT NULL, contact_id INTEGER NOT NULL, sort INTEGER NOT NULL,
    role_id INTEGER NOT NULL DEFAULT 0, is_primary TEXT NOT NULL,
    PRIMARY KEY (deal_id, contact_id)
);
CREATE TABLE IF NOT EXISTS productrow (
    id INTEGER PRIMARY KEY AUTOINCREMENT, owner_type TEXT NOT NULL, owner_id INTEGER NOT NULL,
    data TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS productrow_owner ON productrow (owner_type, owner_id);
CREATE TABLE IF NOT EXISTS fm (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    entity TEXT NOT NULL, entity_id INTEGER NOT NULL,
    type_id TEXT NOT NULL, value_type TEXT NOT NULL, value TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS fm_owner ON fm (entity, entity_id);
CREATE INDEX IF NOT EXISTS fm_value ON fm (entity, type_id, value);
CREATE TABLE IF NOT EXISTS company_contact (
    company_id INTEGER NOT NULL, contact_id INTEGER NOT NULL,
    sort INTEGER NOT NULL, role_id INTEGER NOT NULL DEFAULT 0, is_primary TEXT NOT NULL,
    contact_primary INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (company_id, contact_id)
);
CREATE INDEX IF NOT EXISTS company_contact_contact ON company_contact (contact_id);
CREATE TABLE IF NOT EXISTS user_field (entity TEXT NOT NULL, name TEXT NOT NULL,
    PRIMARY KEY (entity, name));
CREATE TABLE IF NOT EXISTS user_field_def (id INTEGER PRIMARY KEY AUTOINCREMENT,
    entity TEXT NOT NULL, name TEXT NOT NULL, data TEXT NOT NULL, UNIQUE (entity, name));
CREATE TABLE IF NOT EXISTS user_field_deleted (entity TEXT NOT NULL, name TEXT NOT NULL,
    PRIMARY KEY (entity, name));
CREATE INDEX IF NOT EXISTS requisite_inn ON requisite (json_extract(data, '$.RQ_INN'));
CREATE INDEX IF NOT EXISTS requisite_owner ON requisite (json_extract(data, '$.ENTITY_ID'));
CREATE INDEX IF NOT EXISTS bankdetail_owner ON bankdetail (json_extract(data, '$.ENTITY_ID'));
CREATE UNIQUE INDEX IF NOT EXISTS requisite_link_owner ON requisite_link (
    json_extract(data, '$.ENTITY_TYPE_ID'), json_extract(data, '$.ENTITY_ID')
);
CREATE INDEX IF NOT EXISTS company_origin ON company (ulower(json_extract(data, '$.ORIGIN_ID')));
CREATE INDEX IF NOT EXISTS deal_origin ON deal (ulower(json_extract(data, '$.ORIGIN_ID')));
CREATE INDEX IF NOT EXISTS contact_origin ON contact (ulower(json_extract(data, '$.ORIGIN_ID')));
CREATE INDEX IF NOT EXISTS requisite_xml_ci ON requisite (ulower(json_extract(data, '$.XML_ID')));
"""


def _ulower(value: Any) -> Any:
    """Unicode-aware ``lower()`` for SQL (SQLite's own only folds ASCII)."""
    if value is None:
        return None
    return str(value).lower()


class Store:
    """Thread-safe SQLite store: one connection, one re-entrant lock."""

    def __init__(self, path: Path | None) -> None:
        target = ":memory:" if path is None else str(path)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        self.lock = threading.RLock()
        self.conn = sqlite3.connect(target, check_same_thread=False, isolation_level=None)
        self.conn.create_function("ulower", 1, _ulower, deterministic=True)
        if path is not None:
            self.conn.execute("PRAGMA journal_mode=WAL")
            self.conn.execute("PRAGMA synchronous=NORMAL")
        self.conn.executescript(_SCHEMA)

    def close(self) -> None:
        """Close the connection."""
        with self.lock:
            self.conn.close()

    # -- generic -----------------------------------------------------------------
    def query(self, sql: str, args: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Run a SELECT and return all rows."""
        with self.lock:
            return list(self.conn.execute(sql, tuple(args)).fetchall())

    def execute(self, sql: str, args: Sequence[Any] = ()) -> int:
        """Run a write statement; return ``lastrowid``."""
        with self.lock:
            cursor = self.conn.execute(sql, tuple(args))
            return int(cursor.lastrowid or 0)

    def transaction(self) -> _Transaction:
        """``with store.transaction():`` — all-or-nothing writes under the lock."""
        return _Transaction(self)

    # -- meta ----------------------------------------------------------------------
    def get_meta(self, key: str) -> str | None:
        """Read a persisted setting."""
        rows = self.query("SELECT value FROM meta WHERE key = ?", (key,))
        return str(rows[0][0]) if rows else None

    def set_meta(self, key: str, value: str) -> None:
        """Persist a setting."""
        self.execute(
            "INSERT INTO meta (key, value) VALUES (?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            (key, value),
        )

    # -- records -------------------------------------------------------------------
    def insert(self, table: str, data: dict[str, Any], record_id: int | None = None) -> int:
        """Insert a record; the id is assigned by SQLite unless given."""
        _check_table(table)
        payload = json.dumps(data, ensure_ascii=False)
        if record_id is None:
            return self.execute(f"INSERT INTO {table} (data) VALUES (?)", (payload,))
        self.execute(f"INSERT INTO {table} (id, data) VALUES (?, ?)", (record_id, payload))
        return record_id

    def load(self, table: str, record_id: int) -> dict[str, Any] | None:
        """Fetch one record's data (``None`` when absent)."""
        _check_table(table)
        rows = self.query(f"SELECT data FROM {table} WHERE id = ?", (record_id,))
        if not rows:
            return None
        data: dict[str, Any] = json.loads(rows[0][0])
        return data

    def save(self, table: str, record_id: int, data: dict[str, Any]) -> None:
        """Overwrite a record's data."""
        _check_table(table)
        self.execute(
            f"UPDATE {table} SET data = ? WHERE id = ?",
            (json.dumps(data, ensure_ascii=False), record_id),
        )

    def delete(self, table: str, record_id: int) -> None:
        """Remove a record."""
        _check_table(table)
        self.execute(f"DELETE FROM {table} WHERE id = ?", (record_id,))

    def count(self, table: str) -> int:
        """Number of records in a table."""
        _check_table(table)
        return int(self.query(f"SELECT COUNT(*) FROM {table}")[0][0])

    # -- multi-fields ----------------------------------------------------------------
    def multi_values(
        self, entity: str, ids: Iterable[int], types: Iterable[str] | None = None
    ) -> dict[int, list[tuple[int, str, str, str]]]:
        """Multi-field values ``(id, type_id, value_type, value)`` per owner id."""
        id_list = list(ids)
        result: dict[int, list[tuple[int, str, str, str]]] = {i: [] for i in id_list}
        if not id_list:
            return result
        sql = "SELECT entity_id, id, type_id, value_type, value FROM fm WHERE entity = ?"
        args: list[Any] = [entity]
        type_list = list(types) if types is not None else None
        if type_list is not None:
            if not type_list:
                return result
            sql += f" AND type_id IN ({','.join('?' * len(type_list))})"
            args.extend(type_list)
        for chunk_start in range(0, len(id_list), 500):
            chunk = id_list[chunk_start : chunk_start + 500]
            rows = self.query(
                sql + f" AND entity_id IN ({','.join('?' * len(chunk))}) ORDER BY id",
                [*args, *chunk],
            )
            for owner, fm_id, type_id, value_type, value in rows:
                result[int(owner)].append((int(fm_id), type_id, value_type, value))
        return result

    def add_multi(self, entity: str, owner: int, type_id: str, value_type: str, value: str) -> int:
        """Store one multi-field value; returns its id."""
        return self.execute(
            "INSERT INTO fm (entity, entity_id, type_id, value_type, value) VALUES (?, ?, ?, ?, ?)",
            (entity, owner, type_id, value_type, value),
        )

    def update_multi(self, fm_id: int, value_type: str, value: str) -> None:
        """Change one multi-field value."""
        self.execute(
            "UPDATE fm SET value_type = ?, value = ? WHERE id = ?", (value_type, value, fm_id)
        )

    def delete_multi(self, fm_id: int) -> None:
        """Remove one multi-field value."""
        self.execute("DELETE FROM fm WHERE id = ?", (fm_id,))

    def delete_owner_multi(self, entity: str, owner: int) -> None:
        """Remove all multi-field values of a record."""
        self.execute("DELETE FROM fm WHERE entity = ? AND entity_id = ?", (entity, owner))

    # -- user fields ---------------------------------------------------------------
    def user_fields(self, entity: str) -> list[str]:
        """Names of ``UF_*`` fields known for an entity, in registration order."""
        rows = self.query("SELECT name FROM user_field WHERE entity = ? ORDER BY rowid", (entity,))
        return [str(r[0]) for r in rows]

    def register_user_field(self, entity: str, name: str) -> bool:
        """Remember a ``UF_*`` field name for an entity; ``False`` if it was deleted.

        A field removed through ``*.userfield.delete`` stays unknown: later writes
        of it are ignored like any unknown key.
        """
        with self.lock:
            if self.query(
                "SELECT 1 FROM user_field_deleted WHERE entity = ? AND name = ?", (entity, name)
            ):
                return False
            self.execute(
                "INSERT OR IGNORE INTO user_field (entity, name) VALUES (?, ?)", (entity, name)
            )
            return True

    def restore_user_field(self, entity: str, name: str) -> None:
        """Make a (re-)created field known again."""
        with self.lock:
            self.execute(
                "DELETE FROM user_field_deleted WHERE entity = ? AND name = ?", (entity, name)
            )
            self.register_user_field(entity, name)

    def drop_user_field(self, entity: str, name: str) -> None:
        """Forget a field: no longer listed, selected or written."""
        with self.lock:
            self.execute("DELETE FROM user_field WHERE entity = ? AND name = ?", (entity, name))
            self.execute(
                "INSERT OR IGNORE INTO user_field_deleted (entity, name) VALUES (?, ?)",
                (entity, name),
            )

    def user_field_definitions(self, entity: str) -> dict[str, dict[str, Any]]:
        """Definitions created with ``*.userfield.add``, by field name."""
        rows = self.query(
            "SELECT name, data FROM user_field_def WHERE entity = ? ORDER BY id", (entity,)
        )
        return {str(name): json.loads(data) for name, data in rows}


class _Transaction:
    """A SAVEPOINT under the store lock (nests safely)."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def __enter__(self) -> Store:
        self.store.lock.acquire()
        self.store.conn.execute("SAVEPOINT b24")
        return self.store

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        try:
            if exc_type is not None:
                self.store.conn.execute("ROLLBACK TO b24")
            self.store.conn.execute("RELEASE b24")
        finally:
            self.store.lock.release()


def _check_table(table: str) -> None:
    if table not in ENTITY_TABLES:
        raise ValueError(f"unknown table {table!r}")
