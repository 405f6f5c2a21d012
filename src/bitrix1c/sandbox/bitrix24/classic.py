"""Classic ``crm.company.*`` and ``crm.contact.*`` methods.

Behaviour follows the official method pages (EN:api-reference/crm/companies/…,
…/contacts/…): unknown keys in ``fields`` are ignored, ``add`` returns the new id
as an integer, ``update``/``delete`` return ``true``, errors are HTTP 400 with an
empty code.  Multi-fields (``PHONE``/``EMAIL``/``WEB``/``IM``/``LINK``) get their
own ids; on update an item with ``ID`` changes that value, ``ID`` plus
``DELETE: "Y"`` or an empty ``VALUE`` removes it, an item without ``ID`` is added.
"""

from __future__ import annotations

from typing import Any

from . import links
from .errors import crm_error
from .fields import COMPANY, CONTACT, MULTI_FIELDS, EntitySpec, user_field_description
from .filters import FilterCompiler
from .params import get_ci, php_int, php_truthy
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

# Fields a client may not write (set by the portal); IMPORT mode unlocks the dates/authors.
_SYSTEM = {
    "ID",
    "HAS_PHONE",
    "HAS_EMAIL",
    "HAS_IMOL",
    "LEAD_ID",
    "LAST_COMMUNICATION_TIME",
    "FACE_ID",
}
_IMPORT_ONLY = {"DATE_CREATE", "DATE_MODIFY", "CREATED_BY_ID", "MODIFY_BY_ID"}

_TITLE_REQUIRED = 'Поле "Название компании" обязательно для заполнения.'


def _defaults(spec: EntitySpec, user_id: int, stamp: str) -> dict[str, Any]:
    data: dict[str, Any] = {name: None for name in spec.stored_names() if name != "ID"}
    common = {
        "HAS_PHONE": "N",
        "HAS_EMAIL": "N",
        "HAS_IMOL": "N",
        "OPENED": "Y",
        "ASSIGNED_BY_ID": user_id,
        "CREATED_BY_ID": user_id,
        "MODIFY_BY_ID": user_id,
        "DATE_CREATE": stamp,
        "DATE_MODIFY": stamp,
        "LAST_ACTIVITY_TIME": stamp,
        "LAST_ACTIVITY_BY": user_id,
    }
    data.update(common)
    if spec is COMPANY:
        data.update(
            {
                "COMPANY_TYPE": "CUSTOMER",
                "INDUSTRY": "IT",
                "EMPLOYEES": "EMPLOYEES_1",
                "CURRENCY_ID": "RUB",
                "REVENUE": 0,
                "IS_MY_COMPANY": "N",
            }
        )
    else:
        data.update({"TYPE_ID": "CLIENT", "SOURCE_ID": "CALL", "EXPORT": "Y"})
    return data


def _multi_items(value: Any) -> list[dict[str, Any]]:
    """Multi-field input (list, PHP-style ``{n0: {...}}`` map, or bare string) → items."""
    if isinstance(value, dict):
        if "VALUE" in value or "ID" in value:
            value = [value]
        else:
            value = list(value.values())
    if not isinstance(value, list):
        value = [value] if value not in (None, "") else []
    items: list[dict[str, Any]] = []
    for item in value:
        if isinstance(item, dict):
            items.append(item)
        elif item not in (None, ""):
            items.append({"VALUE": item})
    return items


def _as_list(value: Any) -> list[Any]:
    """A scalar, list or PHP-style index map as a list."""
    if isinstance(value, list):
        return value
    if isinstance(value, dict):
        return list(value.values())
    return [] if value in (None, "") else [value]


class ClassicEntity:
    """``crm.<company|contact>.*`` handlers over one entity spec."""

    def __init__(self, store: Store, spec: EntitySpec) -> None:
        self.store = store
        self.spec = spec
        self.table = spec.name
        self.defs = spec.by_name()
        self.noun = spec.name.capitalize()

    # -- hooks for entities with more rules (deals) ---------------------------------------
    def defaults(self, user_id: int, stamp: str) -> dict[str, Any]:
        """A new record before the caller's fields are applied."""
        return _defaults(self.spec, user_id, stamp)

    def validate(self, fields: dict[str, Any], *, adding: bool) -> None:
        """Reject invalid input before anything is written."""
        if self.spec is not COMPANY:
            return
        if (adding or "TITLE" in fields) and not str(fields.get("TITLE") or "").strip():
            raise crm_error(_TITLE_REQUIRED)

    def prepare(
        self, record_id: int | None, data: dict[str, Any], fields: dict[str, Any], ctx: Context
    ) -> None:
        """Derive dependent values before saving (``record_id`` is ``None`` on add)."""

    def forget(self, record_id: int) -> None:
        """Cascade clean-up after a delete."""
        self.store.delete_owner_multi(self.table, record_id)
        links.forget_entity(self.store, self.spec.entity_type_id, record_id)

    def render_item(self, record_id: int, data: dict[str, Any], names: list[str]) -> dict[str, Any]:
        """Wire form of one record."""
        return render(record_id, data, names)

    # -- helpers ----------------------------------------------------------------------
    def exists(self, record_id: int) -> bool:
        """Whether the record exists."""
        return bool(self.store.query(f"SELECT 1 FROM {self.table} WHERE id = ?", (record_id,)))

    def _apply_scalars(
        self, data: dict[str, Any], fields: dict[str, Any], import_mode: bool
    ) -> None:
        for key, value in fields.items():
            fdef = self.defs.get(key)
            if fdef is None or not fdef.stored or key in _SYSTEM:
                continue
            if key in _IMPORT_ONLY and not import_mode:
                continue
            if self.spec is CONTACT and key == "COMPANY_ID":
                continue  # handled through bindings
            data[key] = to_stored(fdef.kind, fdef.type, value)

    def _write_multi(self, record_id: int, fields: dict[str, Any], *, adding: bool) -> None:
        for type_id in MULTI_FIELDS:
            if type_id not in fields:
                continue
            current = {
                fm_id: (vt, val)
                for fm_id, t, vt, val in self.store.multi_values(
                    self.table, [record_id], [type_id]
                )[record_id]
                if t == type_id
            }
            for item in _multi_items(fields[type_id]):
                raw_id = php_int(item.get("ID"), 0)
                value = "" if item.get("VALUE") is None else str(item.get("VALUE")).strip()
                value_type = str(item.get("VALUE_TYPE") or "").strip()
                if raw_id and not adding:
                    if raw_id not in current:
                        continue
                    if str(item.get("DELETE", "")).upper() == "Y" or (
                        "VALUE" in item and not value
                    ):
                        self.store.delete_multi(raw_id)
                    else:
                        old_type, old_value = current[raw_id]
                        self.store.update_multi(
                            raw_id, value_type or old_type, value if "VALUE" in item else old_value
                        )
                    continue
                if value and str(item.get("DELETE", "")).upper() != "Y":
                    self.store.add_multi(
                        self.table, record_id, type_id, value_type or "WORK", value
                    )

    def _refresh_flags(self, record_id: int, data: dict[str, Any]) -> None:
        values = self.store.multi_values(self.table, [record_id])[record_id]
        types = {t for _, t, _, _ in values}
        data["HAS_PHONE"] = "Y" if "PHONE" in types else "N"
        data["HAS_EMAIL"] = "Y" if "EMAIL" in types else "N"
        data["HAS_IMOL"] = "Y" if any(t == "IM" and vt == "IMOL" for _, t, vt, _ in values) else "N"

    def _bindings(self, record_id: int, fields: dict[str, Any], *, adding: bool) -> None:
        if self.spec is COMPANY:
            if "CONTACT_ID" in fields:
                ids = [php_int(i, 0) for i in _as_list(fields["CONTACT_ID"])]
                items = [{"CONTACT_ID": i} for i in ids if i > 0]
                links.set_company_contacts(self.store, record_id, items)
            return
        if "COMPANY_IDS" in fields:
            ids = [php_int(i, 0) for i in _as_list(fields["COMPANY_IDS"])]
            links.set_contact_companies(self.store, record_id, ids)
        elif "COMPANY_ID" in fields:
            company_id = php_int(fields["COMPANY_ID"], 0)
            links.set_contact_companies(self.store, record_id, [company_id])
        elif adding:
            links.refresh_contact_company(self.store, record_id)

    # -- methods ----------------------------------------------------------------------
    def add(self, params: dict[str, Any], ctx: Context) -> dict[str, Any]:
        """``crm.*.add`` → ``{"result": <new id>}``."""
        fields = fields_param(params)
        options = get_ci(params, "params")
        import_mode = (
            isinstance(options, dict)
            and php_truthy(options.get("IMPORT"))
            and str(options.get("IMPORT")).upper() != "N"
        )
        self.validate(fields, adding=True)
        data = self.defaults(ctx.user_id, now_iso())
        self._apply_scalars(data, fields, import_mode)
        data.update(user_field_updates(self.table, self.store, fields))
        self.prepare(None, data, fields, ctx)
        with self.store.transaction():
            record_id = self.store.insert(self.table, data)
            self._write_multi(record_id, fields, adding=True)
            self._refresh_flags(record_id, data)
            self.store.save(self.table, record_id, data)
            self._bindings(record_id, fields, adding=True)
        return {"result": record_id}

    def update(self, params: dict[str, Any], ctx: Context) -> dict[str, Any]:
        """``crm.*.update`` → ``{"result": true}``."""
        record_id = id_param(params)
        fields = fields_param(params)
        with self.store.transaction():
            data = self.store.load(self.table, record_id)
            if data is None:
                raise crm_error(f"{self.noun} is not found")
            self.validate(fields, adding=False)
            self._apply_scalars(data, fields, import_mode=False)
            data.update(user_field_updates(self.table, self.store, fields))
            self.prepare(record_id, data, fields, ctx)
            self._write_multi(record_id, fields, adding=False)
            self._refresh_flags(record_id, data)
            data["MODIFY_BY_ID"] = ctx.user_id
            data["DATE_MODIFY"] = now_iso()
            self.store.save(self.table, record_id, data)
            self._bindings(record_id, fields, adding=False)
        return {"result": True}

    def delete(self, params: dict[str, Any], ctx: Context) -> dict[str, Any]:
        """``crm.*.delete`` → ``{"result": true}`` (requisites and links go too)."""
        record_id = id_param(params)
        with self.store.transaction():
            if not self.exists(record_id):
                raise crm_error(f"{self.noun} is not found")
            self.store.delete(self.table, record_id)
            self.forget(record_id)
        return {"result": True}

    def get(self, params: dict[str, Any], ctx: Context) -> dict[str, Any]:
        """``crm.*.get`` → the full record with its multi-fields."""
        record_id = id_param(params)
        data = self.store.load(self.table, record_id)
        if data is None:
            raise crm_error("Not found")
        names = self._all_scalar_names()
        item = self.render_item(record_id, data, names)
        self._attach_multi([item], [record_id], list(MULTI_FIELDS))
        return {"result": item}

    def list_items(self, params: dict[str, Any], ctx: Context) -> dict[str, Any]:
        """``crm.*.list`` → a 50-row page with ``total``/``next``."""
        names, multi = self._resolve_select(select_list(get_ci(params, "select")))
        compiler = FilterCompiler(self.spec, self.store.user_fields(self.table), strict=False)
        query = compiler.compile(get_ci(params, "filter"), get_ci(params, "order"))
        start = start_param(params)
        rows, page = fetch_page(self.store, self.table, query, start)
        items = [self.render_item(rid, data, names) for rid, data in rows]
        if multi:
            self._attach_multi(items, [rid for rid, _ in rows], multi)
        return Page(items, page.total, page.next).reply()

    def fields(self, params: dict[str, Any], ctx: Context) -> dict[str, Any]:
        """``crm.*.fields`` → field metadata incl. registered ``UF_*`` fields."""
        result = {f.name: f.describe() for f in self.spec.fields}
        definitions = self.store.user_field_definitions(self.table)
        for name in self.store.user_fields(self.table):
            result[name] = user_field_description(name, definitions.get(name))
        return {"result": result}

    # -- output -----------------------------------------------------------------------
    def _all_scalar_names(self) -> list[str]:
        return [*self.spec.stored_names(), *self.store.user_fields(self.table)]

    def _resolve_select(self, select: list[str]) -> tuple[list[str], list[str]]:
        if not select:
            select = ["*", "UF_*"]
        standard = self.spec.stored_names()
        user = self.store.user_fields(self.table)
        names: list[str] = []
        multi: list[str] = []
        for entry in select:
            if entry == "*":
                names.extend(n for n in standard if n not in names)
            elif entry == "UF_*":
                names.extend(n for n in user if n not in names)
            elif entry in MULTI_FIELDS:
                if entry not in multi:
                    multi.append(entry)
            elif (entry in standard or entry in user) and entry not in names:
                names.append(entry)
        if "ID" not in names:
            names.append("ID")
        return names, multi

    def _attach_multi(self, items: list[dict[str, Any]], ids: list[int], types: list[str]) -> None:
        values = self.store.multi_values(self.table, ids, types)
        for item, record_id in zip(items, ids, strict=True):
            for fm_id, type_id, value_type, value in values[record_id]:
                item.setdefault(type_id, []).append(
                    {"ID": str(fm_id), "VALUE_TYPE": value_type, "VALUE": value, "TYPE_ID": type_id}
                )


def company_contact_items_get(store: Store, params: dict[str, Any], ctx: Context) -> dict[str, Any]:
    """``crm.company.contact.items.get`` → ``[{CONTACT_ID, SORT, ROLE_ID, IS_PRIMARY}]``."""
    company_id = php_int(get_ci(params, "id"), 0)
    if company_id <= 0:
        raise crm_error("The parameter ownerEntityID is invalid or not defined.")
    if not store.query("SELECT 1 FROM company WHERE id = ?", (company_id,)):
        raise crm_error("Not found")
    return {"result": links.company_items(store, company_id)}


def company_contact_items_set(store: Store, params: dict[str, Any], ctx: Context) -> dict[str, Any]:
    """``crm.company.contact.items.set`` → ``true``; replaces the company's contacts."""
    company_id = php_int(get_ci(params, "id"), 0)
    if company_id <= 0:
        raise crm_error("The parameter ownerEntityID is invalid or not defined.")
    items = get_ci(params, "items")
    if isinstance(items, dict):
        items = list(items.values())
    if not isinstance(items, list):
        raise crm_error("The parameter items must be array.")
    with store.transaction():
        if not store.query("SELECT 1 FROM company WHERE id = ?", (company_id,)):
            raise crm_error("Not found")
        clean = [i for i in items if isinstance(i, dict) and php_int(i.get("CONTACT_ID"), 0) > 0]
        links.set_company_contacts(store, company_id, clean)
    return {"result": True}
