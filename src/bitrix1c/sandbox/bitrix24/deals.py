"""Classic ``crm.deal.*``, ``crm.deal.contact.items.*`` and ``crm.deal.productrows.*``.

Facts (bitrix24.md §6.2, §6.3, §6.6): a deal lives in a pipeline (``CATEGORY_ID``,
immutable after creation; 0 is the default pipeline) and a stage of that pipeline
(``C<n>:`` prefixed outside pipeline 0); ``STAGE_SEMANTIC_ID`` (P/S/F) and ``CLOSED``
follow from the stage; ``OPPORTUNITY``/``TAX_VALUE`` print with two decimals;
``CONTACT_IDS`` binds contacts (the first is the primary ``CONTACT_ID``);
``productrows.set`` replaces every row and, unless ``IS_MANUAL_OPPORTUNITY = Y``, the
deal's amount becomes the rows' total.
"""

from __future__ import annotations

import json
from typing import Any

from . import links
from .classic import ClassicEntity, _as_list
from .errors import crm_error
from .fields import DEAL
from .params import get_ci, php_int
from .pipelines import deal_category, deal_stage, deal_stages
from .records import Context, fields_param, id_param
from .store import Store
from .values import now_iso, to_number

# Values the portal computes; a client cannot write them through crm.deal.add/update.
_COMPUTED = {
    "STAGE_ID",
    "STAGE_SEMANTIC_ID",
    "IS_NEW",
    "CLOSED",
    "MOVED_BY_ID",
    "MOVED_TIME",
    "QUOTE_ID",
    "LAST_ACTIVITY_TIME",
    "LAST_ACTIVITY_BY",
    "CONTACT_ID",
    "CONTACT_IDS",
}
_MONEY = ("OPPORTUNITY", "TAX_VALUE")


def _money(value: Any) -> str:
    number = to_number(value)
    return f"{number or 0.0:.2f}"


class DealEntity(ClassicEntity):
    """``crm.deal.*`` over the classic entity machinery."""

    def __init__(self, store: Store) -> None:
        super().__init__(store, DEAL)
        self.noun = "Deal"

    # -- hooks --------------------------------------------------------------------------
    def defaults(self, user_id: int, stamp: str) -> dict[str, Any]:
        """A new deal: pipeline 0, first stage, amount 0 RUB."""
        data: dict[str, Any] = {name: None for name in self.spec.stored_names() if name != "ID"}
        data.update(
            {
                "TITLE": "",
                "TYPE_ID": "SALE",
                "CATEGORY_ID": 0,
                "PROBABILITY": None,
                "CURRENCY_ID": "RUB",
                "OPPORTUNITY": 0,
                "IS_MANUAL_OPPORTUNITY": "N",
                "TAX_VALUE": 0,
                "OPENED": "Y",
                "CLOSED": "N",
                "IS_RECURRING": "N",
                "IS_RETURN_CUSTOMER": "N",
                "IS_REPEATED_APPROACH": "N",
                "SOURCE_ID": "CALL",
                "ASSIGNED_BY_ID": user_id,
                "CREATED_BY_ID": user_id,
                "MODIFY_BY_ID": user_id,
                "DATE_CREATE": stamp,
                "DATE_MODIFY": stamp,
                "BEGINDATE": stamp[:10] + "T03:00:00+03:00",
                "LAST_ACTIVITY_TIME": stamp,
                "LAST_ACTIVITY_BY": user_id,
            }
        )
        return data

    def validate(self, fields: dict[str, Any], *, adding: bool) -> None:
        """``CATEGORY_ID`` must name an existing pipeline."""
        if adding and fields.get("CATEGORY_ID") not in (None, ""):
            category_id = php_int(fields["CATEGORY_ID"], -1)
            if deal_category(category_id) is None:
                raise crm_error(f"Category with ID '{fields['CATEGORY_ID']}' is not found.")

    def _apply_scalars(
        self, data: dict[str, Any], fields: dict[str, Any], import_mode: bool
    ) -> None:
        writable = {k: v for k, v in fields.items() if k not in _COMPUTED}
        super()._apply_scalars(data, writable, import_mode)

    def prepare(
        self, record_id: int | None, data: dict[str, Any], fields: dict[str, Any], ctx: Context
    ) -> None:
        """Stage within the pipeline, its semantics, and the moved-by stamps."""
        category_id = php_int(data.get("CATEGORY_ID"), 0)
        stages = deal_stages(category_id)
        current = deal_stage(category_id, str(data.get("STAGE_ID") or ""))
        wanted = current
        if "STAGE_ID" in fields:
            # A stage of another pipeline is not accepted; the deal keeps (or gets) a valid one.
            wanted = deal_stage(category_id, str(fields["STAGE_ID"] or "")) or current
        if wanted is None:
            wanted = stages[0]
        if record_id is None or wanted is not current:
            data["STAGE_ID"] = wanted.status_id
            data["MOVED_BY_ID"] = ctx.user_id
            data["MOVED_TIME"] = now_iso()
        data["STAGE_SEMANTIC_ID"] = wanted.semantic_id
        data["CLOSED"] = "N" if wanted.semantic_id == "P" else "Y"
        data["IS_NEW"] = "Y" if wanted is stages[0] else "N"

    def _write_multi(self, record_id: int, fields: dict[str, Any], *, adding: bool) -> None:
        return  # deals carry no phones / e-mails

    def _refresh_flags(self, record_id: int, data: dict[str, Any]) -> None:
        return

    def _bindings(self, record_id: int, fields: dict[str, Any], *, adding: bool) -> None:
        if "CONTACT_IDS" in fields:
            ids = [php_int(i, 0) for i in _as_list(fields["CONTACT_IDS"])]
        elif "CONTACT_ID" in fields:
            ids = [php_int(fields["CONTACT_ID"], 0)]
        else:
            return
        set_deal_contacts(self.store, record_id, [{"CONTACT_ID": i} for i in ids if i > 0])

    def forget(self, record_id: int) -> None:
        """Contacts bindings and product rows go with the deal."""
        self.store.execute("DELETE FROM deal_contact WHERE deal_id = ?", (record_id,))
        self.store.execute(
            "DELETE FROM productrow WHERE owner_type = 'D' AND owner_id = ?", (record_id,)
        )
        links.forget_entity(self.store, 2, record_id)

    def render_item(self, record_id: int, data: dict[str, Any], names: list[str]) -> dict[str, Any]:
        """Amounts print with two decimals."""
        item = super().render_item(record_id, data, names)
        for name in _MONEY:
            if name in item:
                item[name] = _money(data.get(name))
        return item

    # -- methods ------------------------------------------------------------------------
    def add(self, params: dict[str, Any], ctx: Context) -> dict[str, Any]:
        """``crm.deal.add`` → new id; an untitled deal is named ``Сделка #<id>``."""
        reply = super().add(params, ctx)
        record_id = int(reply["result"])
        data = self.store.load(self.table, record_id)
        if data is not None and not str(data.get("TITLE") or "").strip():
            data["TITLE"] = f"Сделка #{record_id}"
            self.store.save(self.table, record_id, data)
        return reply

    def move_to_category(
        self, record_id: int, category_id: int, stage_id: str | None, ctx: Context
    ) -> bool:
        """Move a deal to another pipeline (``crm.item.update`` with ``categoryId``).

        The deal lands in ``stage_id`` if that is a stage of the new pipeline, else in
        its first stage; ``ONCRMDEALMOVETOCATEGORY`` is raised.  ``False`` when the deal
        already is in that pipeline.
        """
        if deal_category(category_id) is None:
            raise crm_error(f"Category with ID '{category_id}' is not found.")
        with self.store.transaction():
            data = self.store.load(self.table, record_id)
            if data is None:
                raise crm_error("Not found")
            if php_int(data.get("CATEGORY_ID"), 0) == category_id:
                return False
            data["CATEGORY_ID"] = category_id
            self.prepare(record_id, data, {"STAGE_ID": stage_id or ""}, ctx)
            data["MODIFY_BY_ID"] = ctx.user_id
            data["DATE_MODIFY"] = now_iso()
            self.store.save(self.table, record_id, data)
        ctx.raised.append(("ONCRMDEALMOVETOCATEGORY", {"ID": record_id}))
        return True

    def update(self, params: dict[str, Any], ctx: Context) -> dict[str, Any]:
        """``crm.deal.update``; ``CATEGORY_ID`` is immutable and ignored here."""
        fields_param(params).pop("CATEGORY_ID", None)
        return super().update(params, ctx)


# -- contact bindings --------------------------------------------------------------------
def set_deal_contacts(store: Store, deal_id: int, items: list[dict[str, Any]]) -> None:
    """Replace a deal's contacts; the ``IS_PRIMARY = Y`` item (or the first) is primary."""
    chosen: list[tuple[int, int | None, bool]] = []
    seen: set[int] = set()
    for item in items:
        contact_id = php_int(item.get("CONTACT_ID"), 0)
        if contact_id <= 0 or contact_id in seen:
            continue
        seen.add(contact_id)
        sort = php_int(item["SORT"], 0) if item.get("SORT") not in (None, "") else None
        chosen.append((contact_id, sort, str(item.get("IS_PRIMARY", "")).upper() == "Y"))
    primary = next((i for i, (_, _, p) in enumerate(chosen) if p), 0)
    with store.transaction():
        store.execute("DELETE FROM deal_contact WHERE deal_id = ?", (deal_id,))
        next_sort = 0
        for index, (contact_id, sort, _) in enumerate(chosen):
            next_sort = sort if sort is not None else next_sort + 10
            store.execute(
                "INSERT INTO deal_contact (deal_id, contact_id, sort, role_id, is_primary) "
                "VALUES (?, ?, ?, 0, ?)",
                (deal_id, contact_id, next_sort, "Y" if index == primary else "N"),
            )
        data = store.load("deal", deal_id)
        if data is not None:
            data["CONTACT_ID"] = chosen[primary][0] if chosen else None
            store.save("deal", deal_id, data)


def deal_contact_items_get(store: Store, params: dict[str, Any], ctx: Context) -> dict[str, Any]:
    """``crm.deal.contact.items.get`` → ``[{CONTACT_ID, SORT, ROLE_ID, IS_PRIMARY}]``."""
    deal_id = id_param(params, "The parameter ownerEntityID is invalid or not defined.")
    if store.load("deal", deal_id) is None:
        raise crm_error("Not found")
    rows = store.query(
        "SELECT contact_id, sort, role_id, is_primary FROM deal_contact WHERE deal_id = ? "
        "ORDER BY sort, contact_id",
        (deal_id,),
    )
    return {
        "result": [
            {"CONTACT_ID": int(c), "SORT": int(s), "ROLE_ID": int(r), "IS_PRIMARY": str(p)}
            for c, s, r, p in rows
        ]
    }


def deal_contact_items_set(store: Store, params: dict[str, Any], ctx: Context) -> dict[str, Any]:
    """``crm.deal.contact.items.set {id, items}`` → ``true``."""
    deal_id = id_param(params, "The parameter ownerEntityID is invalid or not defined.")
    items = get_ci(params, "items")
    if isinstance(items, dict):
        items = list(items.values())
    if not isinstance(items, list):
        raise crm_error("The parameter items must be array.")
    if store.load("deal", deal_id) is None:
        raise crm_error("Not found")
    set_deal_contacts(store, deal_id, [i for i in items if isinstance(i, dict)])
    return {"result": True}


# -- product rows -------------------------------------------------------------------------
def _row(deal_id: int, index: int, raw: dict[str, Any]) -> dict[str, Any]:
    quantity = to_number(raw.get("QUANTITY"))
    tax_rate = to_number(raw.get("TAX_RATE"))
    tax_included = str(raw.get("TAX_INCLUDED") or "N").upper() == "Y"
    discount_type = php_int(raw.get("DISCOUNT_TYPE_ID"), 2) or 2
    discount_rate = to_number(raw.get("DISCOUNT_RATE")) or 0.0
    price = to_number(raw.get("PRICE"))
    tax = 1.0 + (tax_rate or 0.0) / 100.0
    if price is None:  # the caller may give the price before tax instead
        price = (to_number(raw.get("PRICE_EXCLUSIVE")) or 0.0) * tax
    exclusive = price / tax
    if discount_type == 1:
        discount_sum = to_number(raw.get("DISCOUNT_SUM")) or 0.0
        netto = exclusive + discount_sum
        discount_rate = round(discount_sum / netto * 100, 2) if netto else 0.0
    else:
        netto = exclusive / (1 - discount_rate / 100) if discount_rate < 100 else exclusive
        discount_sum = netto - exclusive
    return {
        "ID": "0",
        "OWNER_ID": str(deal_id),
        "OWNER_TYPE": "D",
        "PRODUCT_ID": php_int(raw.get("PRODUCT_ID"), 0),
        "PRODUCT_NAME": str(raw.get("PRODUCT_NAME") or ""),
        "ORIGINAL_PRODUCT_NAME": str(raw.get("PRODUCT_NAME") or ""),
        "PRODUCT_DESCRIPTION": str(raw.get("PRODUCT_DESCRIPTION") or ""),
        "PRICE": round(price, 2),
        "PRICE_EXCLUSIVE": round(exclusive, 2),
        "PRICE_NETTO": round(netto, 2),
        "PRICE_BRUTTO": round(netto * tax, 2),
        "PRICE_ACCOUNT": f"{price:.2f}",
        "QUANTITY": quantity if quantity is not None else 1.0,
        "DISCOUNT_TYPE_ID": discount_type,
        "DISCOUNT_RATE": discount_rate,
        "DISCOUNT_SUM": round(discount_sum, 2),
        "TAX_RATE": tax_rate,
        "TAX_INCLUDED": "Y" if tax_included else "N",
        "CUSTOMIZED": "Y",
        "MEASURE_CODE": php_int(raw.get("MEASURE_CODE"), 796),
        "MEASURE_NAME": str(raw.get("MEASURE_NAME") or "шт"),
        "SORT": php_int(raw.get("SORT"), 10 * (index + 1)),
        "XML_ID": raw.get("XML_ID"),
        "TYPE": 1,
        "STORE_ID": None,
    }


def productrows_get(store: Store, params: dict[str, Any], ctx: Context) -> dict[str, Any]:
    """``crm.deal.productrows.get {id}`` → the deal's rows in ``SORT`` order."""
    deal_id = id_param(params)
    if store.load("deal", deal_id) is None:
        raise crm_error("Not found")
    rows = store.query(
        "SELECT id, data FROM productrow WHERE owner_type = 'D' AND owner_id = ? ORDER BY id",
        (deal_id,),
    )
    items = []
    for row_id, data in rows:
        item = json.loads(data)
        item["ID"] = str(row_id)
        items.append(item)
    items.sort(key=lambda r: (r["SORT"], int(r["ID"])))
    return {"result": items}


def productrows_set(store: Store, params: dict[str, Any], ctx: Context) -> dict[str, Any]:
    """``crm.deal.productrows.set {id, rows}`` → ``true``; rows not passed are deleted."""
    deal_id = id_param(params)
    raw_rows = get_ci(params, "rows")
    if isinstance(raw_rows, dict):
        raw_rows = list(raw_rows.values())
    if raw_rows in (None, ""):
        raw_rows = []
    if not isinstance(raw_rows, list):
        raise crm_error("The parameter rows must be array.")
    rows = [_row(deal_id, i, r) for i, r in enumerate(raw_rows) if isinstance(r, dict)]
    with store.transaction():
        data = store.load("deal", deal_id)
        if data is None:
            raise crm_error("Not found")
        store.execute("DELETE FROM productrow WHERE owner_type = 'D' AND owner_id = ?", (deal_id,))
        for row in rows:
            store.execute(
                "INSERT INTO productrow (owner_type, owner_id, data) VALUES ('D', ?, ?)",
                (deal_id, json.dumps(row, ensure_ascii=False)),
            )
        if str(data.get("IS_MANUAL_OPPORTUNITY") or "N") != "Y":
            total = sum(r["PRICE"] * r["QUANTITY"] for r in rows)
            tax = sum(
                (r["PRICE"] - r["PRICE_EXCLUSIVE"]) * r["QUANTITY"] for r in rows if r["TAX_RATE"]
            )
            data["OPPORTUNITY"] = round(total, 2)
            data["TAX_VALUE"] = round(tax, 2)
        data["DATE_MODIFY"] = now_iso()
        data["MODIFY_BY_ID"] = ctx.user_id
        store.save("deal", deal_id, data)
    return {"result": True}
