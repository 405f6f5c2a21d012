"""Universal ``crm.item.*`` for deals (2), contacts (3), companies (4) and smart invoices (31).

Facts (bitrix24.md §6.1–6.6; method specs): field names are camelCase
(``assignedById``, ``stageId``, ``ufCrm_1721…``), values are typed (numbers are
numbers), replies wrap records in ``result.item`` / ``result.items``, ``delete``
answers ``[]``; a wrong ``entityTypeId`` is ``NOT_FOUND``, the legacy invoice (5)
``ENTITY_TYPE_NOT_SUPPORTED``.  Smart invoices link to a deal with ``parentId2``, to
the client with ``companyId``/``contactId``, to the own company with
``mycompanyId``; their stages are ``DT31_<category>:N|S|P|D``.

Deals, contacts and companies are the same records the classic methods see; the
item layer only renames fields and types the values.
"""

from __future__ import annotations

import re
from typing import Any

from . import links
from .classic import ClassicEntity
from .deals import DealEntity
from .errors import RestError
from .fields import INVOICE, MULTI_FIELDS, EntitySpec, FieldDef, user_field_description
from .filters import split_key
from .params import get_ci, php_int
from .pipelines import INVOICE_CATEGORY, invoice_stages
from .records import Context, select_list
from .store import Store
from .values import now_iso, to_number

# Classic names whose item names do not follow the plain camelCase rule.
_RENAMED = {
    "DATE_CREATE": "createdTime",
    "DATE_MODIFY": "updatedTime",
    "CREATED_BY_ID": "createdBy",
    "MODIFY_BY_ID": "updatedBy",
    "MOVED_BY_ID": "movedBy",
}
_PARENT = re.compile(r"^PARENT_ID_(\d+)$")
_UNSUPPORTED = {5: "INVOICE"}
# Keys a deal item carries that the classic record has no column for (always empty here).
_DEAL_EXTRAS: dict[str, Any] = {
    "dateCreateShort": None,
    "dateModifyShort": None,
    "productId": None,
    "begindateShort": None,
    "closedateShort": None,
    "eventDate": None,
    "eventDateShort": None,
    "eventId": None,
    "eventDescription": None,
    "webformId": None,
    "searchContent": None,
    "orderStage": None,
    "isWork": None,
    "isWon": None,
    "isLose": None,
    "receivedAmount": None,
    "lostAmount": None,
    "hasProducts": None,
    "observers": [],
}


def to_camel(name: str) -> str:
    """``ASSIGNED_BY_ID`` → ``assignedById``; ``UF_CRM_1721`` → ``ufCrm_1721``."""
    if name in _RENAMED:
        return _RENAMED[name]
    parent = _PARENT.match(name)
    if parent:
        return f"parentId{parent.group(1)}"
    head, *rest = name.lower().split("_")
    return head + "".join(f"_{p}" if p[:1].isdigit() else p.capitalize() for p in rest if p)


def not_found() -> RestError:
    """Item (or type) that does not exist."""
    return RestError(400, "NOT_FOUND", "Элемент не найден")


class SmartInvoices(ClassicEntity):
    """Storage and rules of smart invoices (entityTypeId 31)."""

    def __init__(self, store: Store) -> None:
        super().__init__(store, INVOICE)
        self.noun = "Invoice"

    def defaults(self, user_id: int, stamp: str) -> dict[str, Any]:
        """A new invoice in the first stage of the default pipeline."""
        data: dict[str, Any] = {name: None for name in self.spec.stored_names() if name != "ID"}
        data.update(
            {
                "TITLE": "",
                "CREATED_TIME": stamp,
                "UPDATED_TIME": stamp,
                "CREATED_BY": user_id,
                "UPDATED_BY": user_id,
                "ASSIGNED_BY_ID": user_id,
                "OPENED": "Y",
                "BEGINDATE": stamp[:10] + "T00:00:00+03:00",
                "CATEGORY_ID": INVOICE_CATEGORY.id,
                "CURRENCY_ID": "RUB",
                "IS_MANUAL_OPPORTUNITY": "N",
                "OPPORTUNITY": 0,
                "TAX_VALUE": 0,
                "COMPANY_ID": 0,
                "CONTACT_ID": 0,
                "MYCOMPANY_ID": 0,
                "LAST_ACTIVITY_BY": user_id,
                "LAST_ACTIVITY_TIME": stamp,
            }
        )
        return data

    def validate(self, fields: dict[str, Any], *, adding: bool) -> None:
        """Nothing is required on an invoice."""

    def _apply_scalars(
        self, data: dict[str, Any], fields: dict[str, Any], import_mode: bool
    ) -> None:
        writable = {
            k: v
            for k, v in fields.items()
            if k in self.defs and "O" not in self.defs[k].flags and k not in ("STAGE_ID",)
        }
        for key in ("OPENED", "IS_MANUAL_OPPORTUNITY"):
            if key in writable:
                writable[key] = "Y" if str(writable[key]).upper() in ("Y", "1", "TRUE") else "N"
        super()._apply_scalars(data, writable, import_mode)

    def prepare(
        self, record_id: int | None, data: dict[str, Any], fields: dict[str, Any], ctx: Context
    ) -> None:
        """Stage, its semantics and the update stamps."""
        stages = invoice_stages()
        by_id = {s.status_id: s for s in stages}
        current = by_id.get(str(data.get("STAGE_ID") or ""))
        wanted = by_id.get(str(fields.get("STAGE_ID") or "")) or current or stages[0]
        if wanted is not current:
            data["PREVIOUS_STAGE_ID"] = current.status_id if current else None
            data["STAGE_ID"] = wanted.status_id
            data["MOVED_BY"] = ctx.user_id
            data["MOVED_TIME"] = now_iso()
        data["STAGE_SEMANTIC_ID"] = wanted.semantic_id
        data["CATEGORY_ID"] = INVOICE_CATEGORY.id
        data["UPDATED_TIME"] = now_iso()
        data["UPDATED_BY"] = ctx.user_id

    def _write_multi(self, record_id: int, fields: dict[str, Any], *, adding: bool) -> None:
        return

    def _refresh_flags(self, record_id: int, data: dict[str, Any]) -> None:
        return

    def _bindings(self, record_id: int, fields: dict[str, Any], *, adding: bool) -> None:
        return

    def forget(self, record_id: int) -> None:
        """Product rows go with the invoice."""
        self.store.execute(
            "DELETE FROM productrow WHERE owner_type = 'SI' AND owner_id = ?", (record_id,)
        )
        links.forget_entity(self.store, 31, record_id)

    def add(self, params: dict[str, Any], ctx: Context) -> dict[str, Any]:
        """New invoice; an untitled one is named ``Счет #<id>``."""
        reply = super().add(params, ctx)
        record_id = int(reply["result"])
        data = self.store.load(self.table, record_id)
        if data is not None and not str(data.get("TITLE") or "").strip():
            data["TITLE"] = f"Счет #{record_id}"
            self.store.save(self.table, record_id, data)
        return reply


class Items:
    """``crm.item.{add,get,list,update,delete,fields}`` over the typed entities."""

    def __init__(self, store: Store, entities: dict[int, ClassicEntity]) -> None:
        self.store = store
        self.entities = entities

    # -- naming ---------------------------------------------------------------------------
    def _entity(self, params: dict[str, Any]) -> ClassicEntity:
        type_id = php_int(get_ci(params, "entityTypeId"), 0)
        if type_id in _UNSUPPORTED:
            raise RestError(
                400,
                "ENTITY_TYPE_NOT_SUPPORTED",
                f"Entity type {_UNSUPPORTED[type_id]} is not supported",
            )
        entity = self.entities.get(type_id)
        if entity is None:
            raise RestError(400, "NOT_FOUND", "Смарт-процесс не найден")
        return entity

    def _names(self, entity: ClassicEntity) -> dict[str, str]:
        """Upper name → camel name of every field an item of this type shows."""
        spec: EntitySpec = entity.spec
        names = [
            f.name
            for f in spec.fields
            if (f.stored or f.name in ("CONTACT_IDS",)) and f.name not in MULTI_FIELDS
        ]
        names.extend(self.store.user_fields(entity.table))
        return {name: to_camel(name) for name in names}

    def _to_upper(self, entity: ClassicEntity, fields: Any) -> dict[str, Any]:
        if not isinstance(fields, dict):
            return {}
        reverse = {camel: upper for upper, camel in self._names(entity).items()}
        out: dict[str, Any] = {}
        for key, value in fields.items():
            upper = reverse.get(str(key))
            if upper is not None:
                out[upper] = value
        return out

    def _typed(self, entity: ClassicEntity, item: dict[str, Any]) -> dict[str, Any]:
        defs: dict[str, FieldDef] = entity.defs
        names = self._names(entity)
        out: dict[str, Any] = {}
        for upper, value in item.items():
            if upper not in names:
                continue
            fdef = defs.get(upper)
            kind = fdef.kind if fdef else "str"
            if value is not None and kind in ("pk", "int"):
                value = php_int(value)
            elif value is not None and kind == "float":
                number = to_number(value) or 0.0
                value = int(number) if number.is_integer() else number
            out[names[upper]] = value
        out["entityTypeId"] = entity.spec.entity_type_id
        return out

    def _item(self, entity: ClassicEntity, record_id: int, ctx: Context) -> dict[str, Any]:
        try:
            record = entity.get({"id": record_id}, ctx)["result"]
        except RestError as error:
            raise not_found() from error
        item = self._typed(entity, record)
        if entity.spec.entity_type_id == 2:
            item.update({k: v for k, v in _DEAL_EXTRAS.items() if k not in item})
        if "CONTACT_IDS" in self._names(entity):
            rows = self.store.query(
                "SELECT contact_id FROM deal_contact WHERE deal_id = ? ORDER BY sort, contact_id",
                (record_id,),
            )
            item["contactIds"] = [int(r[0]) for r in rows]
        return item

    # -- methods --------------------------------------------------------------------------
    def add(self, params: dict[str, Any], ctx: Context) -> dict[str, Any]:
        """Create → ``{"item": {...}}``."""
        entity = self._entity(params)
        fields = self._to_upper(entity, get_ci(params, "fields"))
        record_id = int(entity.add({"fields": fields}, ctx)["result"])
        return {"result": {"item": self._item(entity, record_id, ctx)}}

    def get(self, params: dict[str, Any], ctx: Context) -> dict[str, Any]:
        """One item → ``{"item": {...}}``."""
        entity = self._entity(params)
        return {"result": {"item": self._item(entity, php_int(get_ci(params, "id"), 0), ctx)}}

    def update(self, params: dict[str, Any], ctx: Context) -> dict[str, Any]:
        """Change → the updated ``{"item": {...}}``."""
        entity = self._entity(params)
        record_id = php_int(get_ci(params, "id"), 0)
        if record_id <= 0 or not entity.exists(record_id):
            raise not_found()
        fields = self._to_upper(entity, get_ci(params, "fields"))
        if isinstance(entity, DealEntity) and fields.get("CATEGORY_ID") not in (None, ""):
            stage = fields.get("STAGE_ID")
            category = php_int(fields.pop("CATEGORY_ID"), -1)
            if entity.move_to_category(
                record_id, category, None if stage is None else str(stage), ctx
            ):
                fields.pop("STAGE_ID", None)
        entity.update({"id": record_id, "fields": fields}, ctx)
        return {"result": {"item": self._item(entity, record_id, ctx)}}

    def delete(self, params: dict[str, Any], ctx: Context) -> dict[str, Any]:
        """Remove → ``[]``."""
        entity = self._entity(params)
        record_id = php_int(get_ci(params, "id"), 0)
        if record_id <= 0 or not entity.exists(record_id):
            raise not_found()
        entity.delete({"id": record_id}, ctx)
        return {"result": []}

    def list_items(self, params: dict[str, Any], ctx: Context) -> dict[str, Any]:
        """A 50-item page → ``{"items": [...]}`` with ``total``/``next``."""
        entity = self._entity(params)
        reverse = {camel: upper for upper, camel in self._names(entity).items()}
        select: list[str] = []
        for name in select_list(get_ci(params, "select")):
            if name == "*":
                select.extend(["*", "UF_*"])
            elif name in reverse:
                select.append(reverse[name])
        filter_: dict[str, Any] = {}
        raw_filter = get_ci(params, "filter")
        if isinstance(raw_filter, dict):
            for key, value in raw_filter.items():
                op, name = split_key(str(key))
                # A filter on an unknown field matches nothing rather than everything.
                filter_[op + reverse.get(name, "ID")] = value if name in reverse else 0
        order: dict[str, Any] = {}
        raw_order = get_ci(params, "order")
        if isinstance(raw_order, dict):
            order = {reverse[k]: v for k, v in raw_order.items() if k in reverse}
        upper = {
            "select": select or ["*", "UF_*"],
            "filter": filter_,
            "order": order,
            "start": get_ci(params, "start") or 0,
        }
        page = entity.list_items(upper, ctx)
        body: dict[str, Any] = {
            "result": {"items": [self._typed(entity, i) for i in page["result"]]}
        }
        for item in body["result"]["items"]:
            item.pop("entityTypeId", None)
        if "next" in page:
            body["next"] = page["next"]
        body["total"] = page["total"]
        return body

    def fields(self, params: dict[str, Any], ctx: Context) -> dict[str, Any]:
        """Field metadata keyed by camel names, with ``upperName``."""
        entity = self._entity(params)
        described = entity.fields({}, ctx)["result"]
        result: dict[str, Any] = {}
        for upper, camel in self._names(entity).items():
            info = described.get(upper) or user_field_description(upper)
            result[camel] = {**info, "upperName": upper}
        return {"result": {"fields": result}}


def item_methods(items: Items) -> dict[str, Any]:
    """``crm.item.*`` handlers."""
    return {
        "crm.item.add": items.add,
        "crm.item.get": items.get,
        "crm.item.list": items.list_items,
        "crm.item.update": items.update,
        "crm.item.delete": items.delete,
        "crm.item.fields": items.fields,
    }
