"""One emulated 1C infobase: entities in SQLite, decoded rows cached in memory.

Every catalog/document entity and every register record is one SQLite row
``(entity_set, key, data)`` whose ``data`` is the entity's JSON wire form.  The decoded
rows of a set are loaded once and then kept in memory (writes go to both), so reads at
10,000+ entities are a Python scan over dicts.  Tabular-section sets and register
record-set entities are derived from their owners on read.
"""

from __future__ import annotations

import json
import re
import secrets
import sqlite3
import threading
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from .entity import EntityFactory, normalize_datetime
from .errors import ODataError
from .faults import Faults
from .metadata import build_edmx, edmx_for
from .posting import MOVEMENT_REGISTERS, movements
from .schema import EntitySetDef, Schema, load_schema, renamed

__all__ = ["OneCBase"]

_ENCODE = json.JSONEncoder(ensure_ascii=False, check_circular=False, separators=(",", ":")).encode
_DERIVED_LIMIT = 256  # cached orderings/indexes kept at most
_PREFIXES = {"ut11": ("УТ-", "УТ00-"), "bp30": ("00-", "0000-")}
_SCHEMA_SQL = """
CREATE TABLE IF NOT EXISTS entities (
    entity_set TEXT NOT NULL,
    key TEXT NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (entity_set, key)
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


def _humanize(name: str) -> str:
    """``РозничныйПокупатель`` → ``Розничный покупатель`` (predefined item descriptions)."""
    words = re.findall(r"[А-ЯЁA-Z][а-яёa-z0-9]*|[а-яёa-z0-9]+", name)
    if not words:
        return name
    return " ".join([words[0], *(w.lower() for w in words[1:])])


def _copy(entity: Mapping[str, Any]) -> dict[str, Any]:
    """A copy that callers may change without touching the cache (rows copied too)."""
    return {k: [dict(r) for r in v] if isinstance(v, list) else v for k, v in entity.items()}


class OneCBase:
    """A 1C infobase published over OData (``/<name>/odata/standard.odata``).

    ``path=None`` keeps everything in memory; with a file path the data and the
    generated password survive a restart.  ``predefined=True`` creates the catalogs'
    predefined items of the configuration (e.g. ``Контрагенты.РозничныйПокупатель``, with
    ``Predefined=true`` and no INN) when the base is new — a real infobase always has them;
    they are off by default so that a fresh base holds only what its owner wrote.
    ``faults`` switches on fault injection (see :mod:`.faults`); ``base.faults`` changes it
    while serving. Renamed attributes (the ``rename`` fault) are renamed in the published
    schema and in the cached entities; SQLite keeps the configuration's own names, so a
    restart without the fault shows the base as it was.
    """

    def __init__(
        self,
        path: Path | None,
        *,
        name: str = "trade",
        profile: str = "ut11",
        username: str = "odata.user",
        password: str | None = None,
        predefined: bool = False,
        faults: dict[str, Any] | None = None,
    ) -> None:
        self.name = name
        self.profile = profile
        self.username = username
        self.path = path
        self.schema: Schema = load_schema(profile)
        self._configured = self.schema  # the configuration before any renamed attribute
        self._renamed: dict[str, dict[str, str]] = {}  # entity set → {old name: new name}
        self._edmx: bytes | None = None
        self.factory = self._factory()
        self._lock = threading.RLock()
        self._conn = sqlite3.connect(
            ":memory:" if path is None else str(path), check_same_thread=False
        )
        self._conn.executescript(_SCHEMA_SQL)
        if path is not None:
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=NORMAL")
        self._data: dict[str, dict[str, dict[str, Any]]] = {}
        self._versions: dict[str, int] = {}
        self._derived: dict[str, tuple[int, list[dict[str, Any]]]] = {}
        self._sorted: dict[tuple[str, Any], tuple[int, Any]] = {}
        self._seq: dict[str, int] = {}
        self._bulk = 0
        self._pending: list[tuple[str, str, str, str]] = []
        meta = dict(self._conn.execute("SELECT key, value FROM meta").fetchall())
        for key, value in meta.items():
            if key.startswith("seq:"):
                self._seq[key[4:]] = int(value)
        if password is None:
            password = meta.get("password") or secrets.token_urlsafe(12)
        self.password: str = password
        self.faults = Faults(faults, renamer=self._rename)
        self._set_meta("password", password)
        if "initialized" not in meta:
            if predefined:
                with self.bulk():
                    self._create_predefined()
            self._set_meta("initialized", "1")
        self._conn.commit()

    # ------------------------------------------------------------------ plumbing

    def _factory(self) -> EntityFactory:
        code_prefix, number_prefix = _PREFIXES.get(self.profile, ("", ""))
        return EntityFactory(self.schema, code_prefix=code_prefix, number_prefix=number_prefix)

    def _rename(self, renames: Mapping[str, str]) -> None:
        """Publish the configuration with ``renames`` (all of them; ``{}`` → as shipped)."""
        if not renames and not self._renamed:
            return  # nothing renamed before or now: keep the caches
        with self._lock:
            schema, moved = renamed(self._configured, renames)
            for entity_set in set(moved) | set(self._renamed):
                before = self._renamed.get(entity_set, {})
                after = moved.get(entity_set, {})
                if before == after:
                    continue
                # current name → next name, for every attribute renamed before or now
                moves = {before.get(n, n): after.get(n, n) for n in {*before, *after}}
                for entity in self._data.get(entity_set, {}).values():
                    _move_keys(entity, moves)
                self._touch(entity_set)
            self.schema = schema
            self._renamed = moved
            self.factory = self._factory()
            self._derived.clear()
            self._sorted.clear()
            self._edmx = None

    def _stored_names(self, entity_set: str, data: dict[str, Any], *, to_disk: bool) -> None:
        """Translate top-level names between the published schema and SQLite (in place)."""
        names = self._renamed.get(entity_set)
        if names:
            _move_keys(data, {v: k for k, v in names.items()} if to_disk else names)

    def edmx(self) -> bytes:
        """The ``$metadata`` document as published now (renamed attributes included)."""
        if not self._renamed:
            return edmx_for(self.profile)
        with self._lock:
            if self._edmx is None:
                self._edmx = build_edmx(self.schema).encode("utf-8")
            return self._edmx

    def _set_meta(self, key: str, value: str) -> None:
        self._conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

    def definition(self, entity_set: str) -> EntitySetDef:
        """The schema of ``entity_set``; ODataError 404/code 6 when it is not published."""
        definition = self.schema.get(entity_set)
        if definition is None:
            raise ODataError.segment_not_found(entity_set, status=404)
        return definition

    def _store(self, entity_set: str) -> dict[str, dict[str, Any]]:
        store = self._data.get(entity_set)
        if store is None:
            store = {}
            cursor = self._conn.execute(
                "SELECT key, data FROM entities WHERE entity_set = ? ORDER BY rowid", (entity_set,)
            )
            definition = self.definition(entity_set)
            unpack, loads = self.factory.unpack, json.loads
            for key, data in cursor:
                entity = loads(data)
                self._stored_names(entity_set, entity, to_disk=False)
                store[key] = unpack(definition, entity)
            self._data[entity_set] = store
        return store

    def _touch(self, entity_set: str) -> None:
        self._versions[entity_set] = self._versions.get(entity_set, 0) + 1

    def _write(self, op: str, entity_set: str, key: str, entity: dict[str, Any] | None) -> None:
        if self.path is None:
            return
        data = ""
        if entity is not None:
            packed = self.factory.pack(self.schema.sets[entity_set], entity)
            self._stored_names(entity_set, packed, to_disk=True)
            data = _ENCODE(packed)
        if self._bulk:
            self._pending.append((op, entity_set, key, data))
            return
        self._execute([(op, entity_set, key, data)])
        self._conn.commit()

    def _execute(self, ops: list[tuple[str, str, str, str]]) -> None:
        inserts = [(s, k, d) for op, s, k, d in ops if op == "insert"]
        if inserts:
            self._conn.executemany(
                "INSERT INTO entities (entity_set, key, data) VALUES (?, ?, ?)", inserts
            )
        for op, s, k, d in ops:
            if op == "update":
                self._conn.execute(
                    "UPDATE entities SET data = ? WHERE entity_set = ? AND key = ?", (d, s, k)
                )
            elif op == "delete":
                self._conn.execute("DELETE FROM entities WHERE entity_set = ? AND key = ?", (s, k))
        for set_name, value in self._seq.items():
            self._set_meta(f"seq:{set_name}", str(value))

    @contextmanager
    def bulk(self) -> Iterator[None]:
        """Collect writes and flush them in one SQLite transaction at the end."""
        with self._lock:
            self._bulk += 1
            try:
                yield
            finally:
                self._bulk -= 1
                if not self._bulk:
                    pending, self._pending = self._pending, []
                    self._execute(pending)
                    self._conn.commit()

    def _create_predefined(self) -> None:
        for definition in self.schema.sets.values():
            if definition.kind != "Catalog" or definition.is_tabular:
                continue
            for item in definition.predefined:
                ref = uuid.uuid5(uuid.NAMESPACE_URL, f"1c:{self.profile}:{definition.name}:{item}")
                entity = self._create(
                    definition.name, {"Ref_Key": str(ref), "Description": _humanize(item)}
                )
                stored = self._store(definition.name)[entity["Ref_Key"]]
                stored["Predefined"] = True
                stored["PredefinedDataName"] = item
                self._write("update", definition.name, stored["Ref_Key"], stored)

    # ------------------------------------------------------------------ public API

    def create(self, entity_set: str, fields: Mapping[str, Any]) -> dict[str, Any]:
        """Create an entity like ``POST``: fills Ref_Key, DataVersion, Code/Number, defaults.

        Raises :class:`ODataError` (code 13 for a tabular-section set, code 15 for a
        duplicate key, code 1 for unreadable values).
        """
        return _copy(self._create(entity_set, fields))

    def _create(self, entity_set: str, fields: Mapping[str, Any]) -> dict[str, Any]:
        """``create`` without the defensive copy (the stored dict; do not modify)."""
        with self._lock:
            definition = self.definition(entity_set)
            if definition.is_tabular:
                raise ODataError(
                    400, "13", "Создание строк табличной части напрямую не поддерживается"
                )
            if definition.is_record_set:
                raise ODataError(405, "19", "Использованный HTTP-метод запрещен в данном контексте")
            counter = self._seq.get(entity_set, 0) + 1
            entity = self.factory.new(definition, fields, counter=counter)
            store = self._store(entity_set)
            key = (
                entity["Ref_Key"]
                if definition.is_reference
                else self.factory.record_key(definition, entity)
            )
            if key in store:
                raise self.factory.duplicate()
            if definition.is_reference:
                self._seq[entity_set] = counter
            store[key] = entity
            self._touch(entity_set)
            self._write("insert", entity_set, key, entity)
            return entity

    def update(
        self, entity_set: str, ref_key: str, fields: Mapping[str, Any], *, replace: bool = False
    ) -> dict[str, Any]:
        """Change an entity like ``PATCH`` (``replace=True``: like ``PUT``); returns it whole.

        Tabular sections present in ``fields`` are replaced entirely; ``DataVersion`` is
        incremented.  Raises :class:`ODataError` 404/code 9 when there is no such entity.
        """
        with self._lock:
            definition = self.definition(entity_set)
            if definition.is_tabular or definition.is_record_set:
                raise ODataError(405, "19", "Использованный HTTP-метод запрещен в данном контексте")
            store = self._store(entity_set)
            key = ref_key.lower() if definition.is_reference else ref_key
            current = store.get(key)
            if current is None:
                raise ODataError.not_found(definition.object_name)
            entity = self.factory.changed(definition, current, fields, replace=replace)
            store[key] = entity
            self._touch(entity_set)
            self._write("update", entity_set, key, entity)
            return _copy(entity)

    def delete(self, entity_set: str, ref_key: str) -> None:
        """Delete physically, like ``DELETE`` (1C does not set a deletion mark)."""
        with self._lock:
            definition = self.definition(entity_set)
            store = self._store(entity_set)
            key = ref_key.lower() if definition.is_reference else ref_key
            if key not in store:
                raise ODataError.not_found(definition.object_name)
            del store[key]
            self._touch(entity_set)
            self._write("delete", entity_set, key, None)

    def set_posted(self, entity_set: str, ref_key: str, posted: bool) -> dict[str, Any]:
        """``Post`` / ``Unpost`` a document (a write: DataVersion grows).

        Posting writes the register movements of :mod:`.posting` (replacing earlier ones);
        unposting removes them. A deletion-marked document is not posted (500, code -1),
        as the configurations refuse it.
        """
        with self._lock:
            definition = self.definition(entity_set)
            if definition.kind != "Document" or definition.is_tabular or not definition.posting:
                raise ODataError(400, "11", "Метод не найден")
            current = self.get(entity_set, ref_key)
            if current is None:
                raise ODataError.not_found(definition.object_name)
            if posted and current.get("DeletionMark"):
                raise ODataError(
                    500,
                    "-1",
                    f"Документ {definition.synonym} {current.get('Number', '')} помечен на "
                    "удаление и не может быть проведен",
                )
            with self.bulk():
                updated = self.update(entity_set, ref_key, {"Posted": posted})
                self._replace_movements(entity_set, updated, posted)
            return updated

    def _replace_movements(self, entity_set: str, doc: dict[str, Any], posted: bool) -> None:
        ref = doc["Ref_Key"]
        planned = movements(self.profile, entity_set, doc) if posted else []
        registers = {register for register, _ in planned} | {
            r for r in MOVEMENT_REGISTERS if r in self.schema.sets
        }
        for register in registers:
            store = self._store(register)
            stale = [
                k
                for k, rec in store.items()
                if ref in (rec.get("Recorder"), rec.get("Recorder_Key"))
            ]
            for key in stale:
                self.delete(register, key)
        lines: dict[str, int] = {}
        for register, fields in planned:
            reg_def = self.definition(register)
            lines[register] = lines.get(register, 0) + 1
            record = {**fields, "LineNumber": lines[register]}
            if "Recorder_Type" in reg_def.by_name:
                record |= {"Recorder": ref, "Recorder_Type": f"StandardODATA.{entity_set}"}
            elif "Recorder_Key" in reg_def.by_name:
                record["Recorder_Key"] = ref
            else:
                record["Recorder"] = ref
            self._create(register, record)

    def get(self, entity_set: str, ref_key: str) -> dict[str, Any] | None:
        """The entity with ``Ref_Key`` (or register record key) or None."""
        with self._lock:
            definition = self.definition(entity_set)
            if definition.is_tabular or definition.is_record_set:
                return None
            key = ref_key.lower() if definition.is_reference else ref_key
            entity = self._store(entity_set).get(key)
            return None if entity is None else _copy(entity)

    def is_empty(self) -> bool:
        """True while no catalog/document entity exists besides the predefined items."""
        with self._lock:
            for definition in self.schema.sets.values():
                if definition.is_reference and any(
                    not e.get("Predefined") for e in self._store(definition.name).values()
                ):
                    return False
            return True

    def count(self, entity_set: str) -> int:
        """Number of entities (rows for a tabular-section set)."""
        with self._lock:
            return len(self.rows(entity_set))

    def close(self) -> None:
        """Flush and close the SQLite connection."""
        with self._lock:
            self._conn.commit()
            self._conn.close()

    # ------------------------------------------------------------------ reads for the server

    def version(self, entity_set: str) -> int:
        """A counter that changes whenever ``entity_set`` (or its owner) is written."""
        definition = self.definition(entity_set)
        source = definition.parent or definition.records_of or entity_set
        return self._versions.get(source, 0)

    def rows(self, entity_set: str) -> list[dict[str, Any]]:
        """All entities of a set in storage order (cached; do not modify the dicts)."""
        with self._lock:
            definition = self.definition(entity_set)
            if not (definition.is_tabular or definition.is_record_set):
                return list(self._store(entity_set).values())
            version = self.version(entity_set)
            cached = self._derived.get(entity_set)
            if cached is not None and cached[0] == version:
                return cached[1]
            if definition.is_tabular:
                assert definition.parent is not None and definition.tabular is not None
                rows = [
                    row
                    for entity in self._store(definition.parent).values()
                    for row in entity.get(definition.tabular, [])
                ]
            else:
                rows = self._record_sets(definition)
            self._derived[entity_set] = (version, rows)
            return rows

    def _record_sets(self, definition: EntitySetDef) -> list[dict[str, Any]]:
        assert definition.records_of is not None
        groups: dict[tuple[Any, ...], dict[str, Any]] = {}
        for record in self._store(definition.records_of).values():
            key = tuple(record.get(n) for n in definition.key)
            group = groups.get(key)
            if group is None:
                group = {n: record.get(n) for n in definition.key}
                group["RecordSet"] = []
                groups[key] = group
            group["RecordSet"].append(record)
        return list(groups.values())

    def derived(
        self, entity_set: str, spec: Any, build: Callable[[list[dict[str, Any]]], Any]
    ) -> Any:
        """``build(rows)`` (a sorted list, an index …), cached until the set changes."""
        with self._lock:
            version = self.version(entity_set)
            cached = self._sorted.get((entity_set, spec))
            if cached is not None and cached[0] == version:
                return cached[1]
            result = build(self.rows(entity_set))
            if len(self._sorted) >= _DERIVED_LIMIT:
                self._sorted.clear()
            self._sorted[(entity_set, spec)] = (version, result)
            return result

    def find(self, entity_set: str, key: Mapping[str, Any]) -> dict[str, Any] | None:
        """The entity whose key properties equal ``key`` (wire values), or None."""
        with self._lock:
            definition = self.definition(entity_set)
            if definition.is_reference:
                return self._store(entity_set).get(str(key.get("Ref_Key", "")).lower())
            wanted = {n: key.get(n) for n in definition.key}
            if definition.is_register_records:
                return self._store(entity_set).get("|".join(str(v) for v in wanted.values()))
            for row in self.rows(entity_set):
                if all(_same(row.get(n), v) for n, v in wanted.items()):
                    return row
            return None

    def lookup(self, entity_set: str, ref_key: str) -> dict[str, Any] | None:
        """The cached entity with ``Ref_Key`` (no copy; for navigation in queries)."""
        store = self._data.get(entity_set)
        if store is not None:
            return store.get(ref_key)
        definition = self.schema.get(entity_set)
        if definition is None or not definition.is_reference:
            return None
        with self._lock:
            return self._store(entity_set).get(ref_key)


def _move_keys(data: dict[str, Any], moves: Mapping[str, str]) -> None:
    """Rename keys of ``data`` in place (``moves``: old → new; a swap is safe)."""
    values = {old: data.pop(old) for old in moves if old in data}
    for old, value in values.items():
        data[moves[old]] = value


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, str) and isinstance(b, str):
        if a.lower() == b.lower():
            return True
        na, nb = normalize_datetime(a), normalize_datetime(b)
        return na is not None and na == nb
    return str(a) == str(b)
