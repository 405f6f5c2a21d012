"""``crm.requisite.*`` and ``crm.requisite.preset.list``.

Requisites belong to a company (``ENTITY_TYPE_ID`` 4) or contact (3) and use a
template (preset).  Error texts follow EN:api-reference/crm/requisites/universal/
(``ENTITY_TYPE_ID is not defined or invalid.``, ``The Requisite with ID '27' is not
found`` …).  The list methods run on the D7 ORM of a real portal: ``select`` without
masks returns exactly the named fields, unknown fields are an error.
"""

from __future__ import annotations

from typing import Any

from .errors import crm_error, orm_error
from .fields import PRESET, REQUISITE, EntitySpec, user_field_description
from .filters import FilterCompiler
from .params import get_ci, php_int
from .records import (
    Context,
    Page,
    fetch_page,
    fields_param,
    id_param,
    render,
    select_list,
    start_param,
    user_field_updates,
)
from .store import Store
from .values import now_iso, to_stored

DEFAULT_PRESETS: tuple[tuple[str, str, int], ...] = (
    ("Организация", "#CRM_REQUISITE_PRESET_DEF_RU_COMPANY#", 500),
    ("ИП", "#CRM_REQUISITE_PRESET_DEF_RU_INDIVIDUAL#", 500),
    ("Физ. лицо", "#CRM_REQUISITE_PRESET_DEF_RU_PERSON#", 500),
    ("Организация (доп.)", "#CRM_REQUISITE_PRESET_DEF_RU_COMPANY_ADDITIONAL#", 500),
)

_OWNER_TABLES = {3: "contact", 4: "company"}
_READ_ONLY = {"ID", "DATE_CREATE", "DATE_MODIFY", "CREATED_BY_ID", "MODIFY_BY_ID"}
_NAME_REQUIRED = 'Поле "Название" обязательно для заполнения.'


def seed_presets(store: Store) -> None:
    """Create the four default RU templates on a fresh portal."""
    if store.count("preset"):
        return
    stamp = now_iso()
    for index, (name, xml_id, sort) in enumerate(DEFAULT_PRESETS, start=1):
        store.insert(
            "preset",
            {
                "ENTITY_TYPE_ID": 8,
                "COUNTRY_ID": 1,
                "DATE_CREATE": stamp,
                "DATE_MODIFY": None,
                "CREATED_BY_ID": 0,
                "MODIFY_BY_ID": None,
                "NAME": name,
                "XML_ID": xml_id,
                "ACTIVE": "Y",
                "SORT": sort,
            },
            record_id=index,
        )


def render_row(record_id: int, data: dict[str, Any], names: list[str]) -> dict[str, Any]:
    """Wire form of an ORM-backed record (requisite, preset, bank detail, link)."""
    item = render(record_id, data, names)
    if "DATE_MODIFY" in item and item["DATE_MODIFY"] is None:
        item["DATE_MODIFY"] = ""  # ORM prints an unset datetime as an empty string
    return item


def orm_list(store: Store, spec: EntitySpec, params: dict[str, Any]) -> dict[str, Any]:
    """ORM-style list: exact select, strict filter/order, 50-row pages."""
    user = store.user_fields(spec.name)
    standard = spec.stored_names()
    available = [*standard, *user]
    names: list[str] = []
    for entry in select_list(get_ci(params, "select")):
        if entry == "*":
            names.extend(n for n in standard if n not in names)
        elif entry == "UF_*":
            names.extend(n for n in user if n not in names)
        elif entry in available:
            if entry not in names:
                names.append(entry)
        else:
            raise orm_error(
                f"Unknown field definition `{entry}` ({entry}) for {spec.orm_table} Entity."
            )
    if not names:
        names = available
    compiler = FilterCompiler(spec, user, strict=True)
    query = compiler.compile(get_ci(params, "filter"), get_ci(params, "order"))
    rows, page = fetch_page(store, spec.name, query, start_param(params))
    items = [render_row(rid, data, names) for rid, data in rows]
    return Page(items, page.total, page.next).reply()


class Requisites:
    """``crm.requisite.{add,get,list,update,delete,fields}``."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.defs = REQUISITE.by_name()

    def _validate(self, fields: dict[str, Any], *, adding: bool) -> None:
        if adding or "ENTITY_TYPE_ID" in fields:
            if php_int(fields.get("ENTITY_TYPE_ID"), 0) not in _OWNER_TABLES:
                raise crm_error("ENTITY_TYPE_ID is not defined or invalid.")
        if adding or "ENTITY_ID" in fields:
            if php_int(fields.get("ENTITY_ID"), 0) <= 0:
                raise crm_error("ENTITY_ID is not defined or invalid.")
        if adding or "PRESET_ID" in fields:
            preset_id = php_int(fields.get("PRESET_ID"), 0)
            if preset_id <= 0 or self.store.load("preset", preset_id) is None:
                raise crm_error("PRESET_ID is not defined or invalid.")

    def _check_owner(self, entity_type_id: int, entity_id: int) -> None:
        table = _OWNER_TABLES[entity_type_id]
        if not self.store.query(f"SELECT 1 FROM {table} WHERE id = ?", (entity_id,)):
            raise crm_error("Entity not found.")

    def _apply(self, data: dict[str, Any], fields: dict[str, Any]) -> None:
        for key, value in fields.items():
            fdef = self.defs.get(key)
            if fdef is None or key in _READ_ONLY:
                continue
            data[key] = to_stored(fdef.kind, fdef.type, value)
        data.update(user_field_updates("requisite", self.store, fields))

    def add(self, params: dict[str, Any], ctx: Context) -> dict[str, Any]:
        """Create a requisite → ``{"result": <id>}``."""
        fields = fields_param(params)
        self._validate(fields, adding=True)
        entity_type_id = php_int(fields["ENTITY_TYPE_ID"])
        self._check_owner(entity_type_id, php_int(fields["ENTITY_ID"]))
        if not str(fields.get("NAME") or "").strip():
            raise crm_error(_NAME_REQUIRED)
        data: dict[str, Any] = {n: None for n in REQUISITE.stored_names() if n != "ID"}
        data.update(
            {
                "DATE_CREATE": now_iso(),
                "CREATED_BY_ID": ctx.user_id,
                "ACTIVE": "Y",
                "ADDRESS_ONLY": "N",
                "SORT": 500,
                "RQ_VAT_PAYER": "N",
            }
        )
        self._apply(data, fields)
        return {"result": self.store.insert("requisite", data)}

    def get(self, params: dict[str, Any], ctx: Context) -> dict[str, Any]:
        """One requisite with every field."""
        record_id = id_param(params)
        data = self.store.load("requisite", record_id)
        if data is None:
            raise crm_error(f"The Requisite with ID '{record_id}' is not found")
        names = [*REQUISITE.stored_names(), *self.store.user_fields("requisite")]
        return {"result": render_row(record_id, data, names)}

    def update(self, params: dict[str, Any], ctx: Context) -> dict[str, Any]:
        """Change a requisite → ``{"result": true}``."""
        record_id = id_param(params)
        fields = fields_param(params)
        with self.store.transaction():
            data = self.store.load("requisite", record_id)
            if data is None:
                raise crm_error(f"The Requisite with ID '{record_id}' is not found")
            self._validate(fields, adding=False)
            if "ENTITY_TYPE_ID" in fields or "ENTITY_ID" in fields:
                self._check_owner(
                    php_int(fields.get("ENTITY_TYPE_ID", data.get("ENTITY_TYPE_ID"))),
                    php_int(fields.get("ENTITY_ID", data.get("ENTITY_ID"))),
                )
            if "NAME" in fields and not str(fields.get("NAME") or "").strip():
                raise crm_error(_NAME_REQUIRED)
            self._apply(data, fields)
            data["DATE_MODIFY"] = now_iso()
            data["MODIFY_BY_ID"] = ctx.user_id
            self.store.save("requisite", record_id, data)
        return {"result": True}

    def delete(self, params: dict[str, Any], ctx: Context) -> dict[str, Any]:
        """Remove a requisite → ``{"result": true}``."""
        record_id = id_param(params)
        with self.store.transaction():
            if self.store.load("requisite", record_id) is None:
                raise crm_error(f"The Requisite with ID '{record_id}' is not found")
            self.store.delete("requisite", record_id)
            # its bank details go with it (a real portal deletes them in the same call)
            self.store.execute(
                "DELETE FROM bankdetail WHERE json_extract(data, '$.ENTITY_ID') = ?", (record_id,)
            )
        return {"result": True}

    def list_items(self, params: dict[str, Any], ctx: Context) -> dict[str, Any]:
        """Filtered page of requisites."""
        return orm_list(self.store, REQUISITE, params)

    def fields(self, params: dict[str, Any], ctx: Context) -> dict[str, Any]:
        """Field metadata."""
        result = {f.name: f.describe() for f in REQUISITE.fields}
        definitions = self.store.user_field_definitions("requisite")
        for name in self.store.user_fields("requisite"):
            result[name] = user_field_description(name, definitions.get(name))
        return {"result": result}


def preset_list(store: Store, params: dict[str, Any], ctx: Context) -> dict[str, Any]:
    """``crm.requisite.preset.list``."""
    return orm_list(store, PRESET, params)
