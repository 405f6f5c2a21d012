"""``crm.address.{add,update,delete,list}`` and ``crm.enum.addresstype``.

An address has no id of its own: it is the address of one type (``TYPE_ID``, an
element of ``crm.enum.addresstype``) of one owner (``ENTITY_TYPE_ID`` +
``ENTITY_ID``), so add/update/delete all name that triple and an owner holds at most
one address per type.  The emulator keeps addresses of requisites (owner type 8):
leads are not emulated, and company/contact owners exist only on old portals where
support enabled the legacy mode (reference crm.address.add.json).  ``ANCHOR_TYPE_ID`` /
``ANCHOR_ID`` name the requisite's company or contact; ``LOC_ADDR_ID`` is the id of
the location-module copy a portal makes of every address.

Error texts follow EN:api-reference/crm/requisites/addresses/ (``TYPE_ID is not
defined or invalid.``, ``TypeAddress exists.``, ``TypeAddress not found.``), all
classic ``crm.*`` errors: HTTP 400 with an empty code.  Addresses live in their own
table of the portal's SQLite file, so they survive a restart; a trigger drops a
requisite's addresses with it, as a portal does when the requisite is deleted.
"""

from __future__ import annotations

import json
from typing import Any

from .errors import RestError, crm_error
from .fields import EntitySpec, FieldDef
from .filters import FilterCompiler
from .params import get_ci, php_int
from .records import Context, fetch_page, fields_param, render, select_list, start_param
from .store import Store
from .values import to_stored

REQUISITE_OWNER = 8

#: ``crm.enum.addresstype`` of a ru portal, in the order of the reference's sample.
ADDRESS_TYPES: tuple[tuple[int, str], ...] = (
    (11, "Адрес доставки"),
    (1, "Фактический адрес"),
    (6, "Юридический адрес"),
    (4, "Адрес регистрации"),
    (8, "Адрес для корреспонденции"),
    (9, "Адрес бенефициара"),
)

_TABLE = "crm_address"
_KEY = ("TYPE_ID", "ENTITY_TYPE_ID", "ENTITY_ID")
_TEXT = (
    "ADDRESS_1",
    "ADDRESS_2",
    "CITY",
    "POSTAL_CODE",
    "REGION",
    "PROVINCE",
    "COUNTRY",
    "COUNTRY_CODE",
)

ADDRESS = EntitySpec(
    _TABLE,
    0,
    (
        *(FieldDef(name, "integer", "R", name) for name in _KEY),
        *(FieldDef(name, "string", "", name) for name in _TEXT),
        FieldDef("LOC_ADDR_ID", "integer", "", "LOC_ADDR_ID"),
        FieldDef("ANCHOR_TYPE_ID", "integer", "O", "ANCHOR_TYPE_ID"),
        FieldDef("ANCHOR_ID", "integer", "O", "ANCHOR_ID"),
    ),
    has_multi=False,
)

_SCHEMA = (
    f"CREATE TABLE IF NOT EXISTS {_TABLE} "
    "(id INTEGER PRIMARY KEY AUTOINCREMENT, data TEXT NOT NULL)",
    f"CREATE UNIQUE INDEX IF NOT EXISTS {_TABLE}_owner_type ON {_TABLE} ("
    "json_extract(data, '$.ENTITY_TYPE_ID'), json_extract(data, '$.ENTITY_ID'), "
    "json_extract(data, '$.TYPE_ID'))",
    # A deleted requisite takes its addresses along, whichever method deleted it.
    f"CREATE TRIGGER IF NOT EXISTS {_TABLE}_requisite_deleted AFTER DELETE ON requisite "
    f"BEGIN DELETE FROM {_TABLE} WHERE json_extract(data, '$.ENTITY_TYPE_ID') = "
    f"{REQUISITE_OWNER} AND json_extract(data, '$.ENTITY_ID') = OLD.id; END",
)


def _invalid(name: str) -> RestError:
    return crm_error(f"{name} is not defined or invalid.")


class Addresses:
    """``crm.address.*`` over the portal's store."""

    def __init__(self, store: Store) -> None:
        self.store = store
        with store.transaction():
            for statement in _SCHEMA:
                store.execute(statement)

    # -- helpers ----------------------------------------------------------------------
    @staticmethod
    def _key(fields: dict[str, Any]) -> tuple[int, int, int]:
        """``(TYPE_ID, ENTITY_TYPE_ID, ENTITY_ID)`` of ``fields``, validated in that order."""
        type_id = php_int(fields.get("TYPE_ID"), 0)
        if type_id not in {t for t, _ in ADDRESS_TYPES}:
            raise _invalid("TYPE_ID")
        if php_int(fields.get("ENTITY_TYPE_ID"), 0) != REQUISITE_OWNER:
            raise _invalid("ENTITY_TYPE_ID")
        entity_id = php_int(fields.get("ENTITY_ID"), 0)
        if entity_id <= 0:
            raise _invalid("ENTITY_ID")
        return type_id, REQUISITE_OWNER, entity_id

    def _find(self, key: tuple[int, int, int]) -> tuple[int, dict[str, Any]] | None:
        rows = self.store.query(
            f"SELECT id, data FROM {_TABLE} WHERE json_extract(data, '$.TYPE_ID') = ? "
            "AND json_extract(data, '$.ENTITY_TYPE_ID') = ? "
            "AND json_extract(data, '$.ENTITY_ID') = ?",
            key,
        )
        if not rows:
            return None
        data: dict[str, Any] = json.loads(rows[0][1])
        return int(rows[0][0]), data

    @staticmethod
    def _apply(data: dict[str, Any], fields: dict[str, Any]) -> None:
        for name in _TEXT:
            if name in fields:
                data[name] = to_stored("str", "string", fields[name])

    def _save(self, address_id: int, data: dict[str, Any]) -> None:
        self.store.execute(
            f"UPDATE {_TABLE} SET data = ? WHERE id = ?",
            (json.dumps(data, ensure_ascii=False), address_id),
        )

    # -- methods ----------------------------------------------------------------------
    def add(self, params: dict[str, Any], ctx: Context) -> dict[str, Any]:
        """Add the address of one type to a requisite → ``{"result": true}``."""
        fields = fields_param(params)
        key = self._key(fields)
        with self.store.transaction():
            requisite = self.store.load("requisite", key[2])
            if requisite is None:
                raise _invalid("ENTITY_ID")
            if self._find(key) is not None:
                raise crm_error("TypeAddress exists.")
            data: dict[str, Any] = dict(zip(_KEY, key, strict=True))
            data.update({name: None for name in _TEXT})
            data["ANCHOR_TYPE_ID"] = php_int(requisite.get("ENTITY_TYPE_ID"), 0)
            data["ANCHOR_ID"] = php_int(requisite.get("ENTITY_ID"), 0)
            self._apply(data, fields)
            address_id = self.store.execute(
                f"INSERT INTO {_TABLE} (data) VALUES (?)", (json.dumps(data, ensure_ascii=False),)
            )
            # The portal links every CRM address to a copy in the location module.
            data["LOC_ADDR_ID"] = address_id
            self._save(address_id, data)
        return {"result": True}

    def update(self, params: dict[str, Any], ctx: Context) -> dict[str, Any]:
        """Change the given fields of an existing address → ``{"result": true}``."""
        fields = fields_param(params)
        key = self._key(fields)
        with self.store.transaction():
            found = self._find(key)
            if found is None:
                raise crm_error("TypeAddress not found.")
            address_id, data = found
            self._apply(data, fields)
            self._save(address_id, data)
        return {"result": True}

    def delete(self, params: dict[str, Any], ctx: Context) -> dict[str, Any]:
        """Remove an address → ``{"result": true}``."""
        key = self._key(fields_param(params))
        with self.store.transaction():
            found = self._find(key)
            if found is None:
                raise crm_error("TypeAddress not found.")
            self.store.execute(f"DELETE FROM {_TABLE} WHERE id = ?", (found[0],))
        return {"result": True}

    def list_items(self, params: dict[str, Any], ctx: Context) -> dict[str, Any]:
        """Filtered 50-row page; no ``select`` (or an empty one) means every field."""
        known = [f.name for f in ADDRESS.fields]
        names = [n for n in dict.fromkeys(select_list(get_ci(params, "select"))) if n in known]
        compiler = FilterCompiler(ADDRESS, [], strict=False)
        query = compiler.compile(get_ci(params, "filter"), get_ci(params, "order"))
        rows, page = fetch_page(self.store, _TABLE, query, start_param(params))
        page.items = [render(rid, data, names or known) for rid, data in rows]
        return page.reply()


def address_types(params: dict[str, Any], ctx: Context) -> dict[str, Any]:
    """``crm.enum.addresstype``: the address types of a ru portal."""
    return {
        "result": [
            {"ID": type_id, "NAME": name, "SYMBOL_CODE": None, "SYMBOL_CODE_SHORT": None}
            for type_id, name in ADDRESS_TYPES
        ]
    }
