"""``catalog.*``: trade catalog, products, units, price types, prices, stores, stock documents.

Facts (bitrix24.md §6.5; method specs): names are camelCase and values typed;
replies wrap records (``result.product`` for get, ``result.element`` for
add/update, ``result.products`` + ``total`` for lists; the same for ``measure``,
``priceType``, ``price``, ``store``, ``storeProduct``, ``document``);
``catalog.product.list`` needs ``id`` and ``iblockId`` in ``select`` and ``iblockId``
in ``filter`` (error code ``0``); catalog errors carry *numeric* codes
(``200040300000`` iblock not found, ``200600000000`` measure code exists), a missing
product is an empty code with ``product does not exist.``; stock
(``catalog.storeproduct.*``) is read-only and changes only when a stock document
(``catalog.document.*``) is conducted.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .catalog_records import (
    DOCUMENT,
    DOCUMENT_ELEMENT,
    LIST_ONLY,
    MEASURE,
    OFFER_IBLOCK,
    PRICE,
    PRICE_TYPE,
    PRODUCT,
    PRODUCT_IBLOCK,
    SCHEMA,
    STORE,
    STORE_PRODUCT,
    CatalogError,
    CatalogTable,
    crm_error,
    typed_number,
)
from .errors import RestError
from .params import get_ci, php_int
from .records import PAGE_SIZE, Context, select_list
from .store import Store
from .values import now_iso, to_number

_DOC_TYPES = {"A", "S", "M", "D"}
_SEED_MEASURES = (
    (6, "Метр", "м", "m", "MTR"),
    (112, "Литр", "л", "l", "LTR"),
    (163, "Грамм", "г", "g", "GRM"),
    (166, "Килограмм", "кг", "kg", "KGM"),
    (796, "Штука", "шт", "pc. 1", "PCE"),
)


def _fields(params: dict[str, Any]) -> dict[str, Any]:
    value = get_ci(params, "fields")
    if not isinstance(value, dict):
        raise CatalogError(0, "Required fields: fields")
    return value


def _id(params: dict[str, Any]) -> int:
    record_id = php_int(get_ci(params, "id"), 0)
    if record_id <= 0:
        raise RestError(400, "100", "Could not find value for parameter {id}")
    return record_id


def _page(reply_key: str, records: list[dict[str, Any]], total: int, start: int) -> dict[str, Any]:
    body: dict[str, Any] = {"result": {reply_key: records}}
    if start >= 0 and start + PAGE_SIZE < total:
        body["next"] = start + PAGE_SIZE
    body["total"] = total
    return body


def _selected(record: dict[str, Any], select: list[str]) -> dict[str, Any]:
    if not select or "*" in select:
        return record
    return {k: v for k, v in record.items() if k in select}


class Catalog:
    """Handlers of the ``catalog.*`` methods."""

    def __init__(self, store: Store) -> None:
        self.store = store
        store.conn.executescript(SCHEMA)
        self.products = CatalogTable(store, PRODUCT)
        self.measures = CatalogTable(store, MEASURE)
        self.price_types = CatalogTable(store, PRICE_TYPE)
        self.prices = CatalogTable(store, PRICE)
        self.stores = CatalogTable(store, STORE)
        self.stock = CatalogTable(store, STORE_PRODUCT)
        self.documents = CatalogTable(store, DOCUMENT)
        self.elements = CatalogTable(store, DOCUMENT_ELEMENT)
        self._seed()

    def _seed(self) -> None:
        if self.measures.next_id() > 1:
            return
        seed_ctx = Context(1)
        for code, title, symbol, intl, letter in _SEED_MEASURES:
            record = self.measures.create(
                {
                    "code": code,
                    "measureTitle": title,
                    "symbol": symbol,
                    "symbolIntl": intl,
                    "symbolLetterIntl": letter,
                    "isDefault": "Y" if code == 796 else "N",
                },
                seed_ctx,
            )
            self.measures.save(record)
        base = self.price_types.create({"name": "BASE", "xmlId": "BASE"}, seed_ctx)
        base["base"] = "Y"
        self.price_types.save(base)
        main = self.stores.create({"address": "г. Москва", "title": "Основной склад"}, seed_ctx)
        self.stores.save(main)

    def methods(self) -> dict[str, Any]:
        """Method name → handler."""
        return {
            "catalog.catalog.list": self.catalog_list,
            "catalog.product.add": self.product_add,
            "catalog.product.get": self.product_get,
            "catalog.product.list": self.product_list,
            "catalog.product.update": self.product_update,
            "catalog.product.delete": self.product_delete,
            "catalog.measure.list": self._lister(self.measures),
            "catalog.measure.add": self.measure_add,
            "catalog.pricetype.list": self._lister(self.price_types),
            "catalog.pricetype.add": self._adder(self.price_types),
            "catalog.price.list": self._lister(self.prices),
            "catalog.price.add": self.price_add,
            "catalog.price.update": self.price_update,
            "catalog.price.modify": self.price_modify,
            "catalog.store.list": self._lister(self.stores),
            "catalog.store.add": self._adder(self.stores),
            "catalog.storeproduct.list": self._lister(self.stock),
            "catalog.document.add": self.document_add,
            "catalog.document.list": self._lister(self.documents),
            "catalog.document.conduct": self.document_conduct,
            "catalog.document.element.add": self.element_add,
        }

    # -- generic -----------------------------------------------------------------------
    def _lister(self, table: CatalogTable) -> Callable[[dict[str, Any], Context], dict[str, Any]]:
        def handler(params: dict[str, Any], ctx: Context) -> dict[str, Any]:
            start = php_int(get_ci(params, "start"), 0)
            records, total = table.query(get_ci(params, "filter"), get_ci(params, "order"), start)
            select = select_list(get_ci(params, "select"))
            items = [_selected(r, select) for r in records]
            return _page(table.kind.many, items, total, start)

        return handler

    def _adder(self, table: CatalogTable) -> Callable[[dict[str, Any], Context], dict[str, Any]]:
        def handler(params: dict[str, Any], ctx: Context) -> dict[str, Any]:
            with self.store.transaction():
                record = table.create(_fields(params), ctx)
                table.save(record)
            return {"result": {table.kind.one: record}}

        return handler

    # -- catalogs and products -----------------------------------------------------------
    def catalog_list(self, params: dict[str, Any], ctx: Context) -> dict[str, Any]:
        """``catalog.catalog.list`` → the product catalog and its offers catalog."""
        catalogs = [
            {
                "iblockId": PRODUCT_IBLOCK,
                "iblockTypeId": "CRM_PRODUCT_CATALOG",
                "id": PRODUCT_IBLOCK,
                "lid": "s1",
                "name": "Товарный каталог CRM",
                "productIblockId": None,
                "skuPropertyId": None,
                "subscription": "N",
                "vatId": 1,
            },
            {
                "iblockId": OFFER_IBLOCK,
                "iblockTypeId": "CRM_PRODUCT_CATALOG",
                "id": OFFER_IBLOCK,
                "lid": "s1",
                "name": "Товарный каталог CRM (предложения)",
                "productIblockId": PRODUCT_IBLOCK,
                "skuPropertyId": 97,
                "subscription": "N",
                "vatId": 1,
            },
        ]
        return {"result": {"catalogs": catalogs}, "total": len(catalogs)}

    @staticmethod
    def _check_iblock(value: Any) -> None:
        if php_int(value, 0) not in (PRODUCT_IBLOCK, OFFER_IBLOCK):
            raise CatalogError(200040300000, "Iblock Not Found")

    def _product(self, record_id: int) -> dict[str, Any]:
        record = self.products.load(record_id)
        if record is None:
            raise crm_error("product does not exist.")
        return record

    def product_add(self, params: dict[str, Any], ctx: Context) -> dict[str, Any]:
        """``catalog.product.add`` → ``{"element": {...}}``."""
        fields = _fields(params)
        with self.store.transaction():
            record = self.products.create(fields, ctx)
            self._check_iblock(record["iblockId"])
            if record["xmlId"] in (None, ""):
                record["xmlId"] = str(record["id"])
            self.products.save(record)
        return {"result": {"element": record}}

    def product_get(self, params: dict[str, Any], ctx: Context) -> dict[str, Any]:
        """``catalog.product.get`` → ``{"product": {...}}``."""
        return {"result": {"product": self._product(_id(params))}}

    def product_update(self, params: dict[str, Any], ctx: Context) -> dict[str, Any]:
        """``catalog.product.update`` → ``{"element": {...}}``."""
        record_id = _id(params)
        fields = _fields(params)
        with self.store.transaction():
            record = self._product(record_id)
            self.products.apply(record, {k: v for k, v in fields.items() if k != "iblockId"})
            record["modifiedBy"] = ctx.user_id
            record["timestampX"] = now_iso()
            self.products.save(record)
        return {"result": {"element": record}}

    def product_delete(self, params: dict[str, Any], ctx: Context) -> dict[str, Any]:
        """``catalog.product.delete`` → ``true`` (its prices and stock go too)."""
        record_id = _id(params)
        with self.store.transaction():
            self._product(record_id)
            self.products.delete(record_id)
            for table in (self.prices, self.stock):
                owned, _ = table.query({"productId": record_id}, None, 0, limit=10_000)
                for record in owned:
                    table.delete(int(record["id"]))
        return {"result": True}

    def product_list(self, params: dict[str, Any], ctx: Context) -> dict[str, Any]:
        """``catalog.product.list`` (``select`` with id+iblockId, ``filter`` with iblockId)."""
        select = select_list(get_ci(params, "select"))
        missing = [name for name in ("id", "iblockId") if name not in select]
        if missing:
            raise CatalogError(0, f"Required select fields: {', '.join(missing)}")
        filter_ = get_ci(params, "filter")
        if not isinstance(filter_, dict):
            raise CatalogError(0, "Incorrect filter format")
        if "iblockId" not in filter_:
            raise CatalogError(0, "Required filter fields: iblockId")
        self._check_iblock(filter_["iblockId"])
        start = php_int(get_ci(params, "start"), 0)
        records, total = self.products.query(filter_, get_ci(params, "order"), start)
        items = [_selected({**r, **LIST_ONLY}, select) for r in records]
        return _page("products", items, total, start)

    # -- units and prices ----------------------------------------------------------------
    def measure_add(self, params: dict[str, Any], ctx: Context) -> dict[str, Any]:
        """``catalog.measure.add``; codes are unique."""
        fields = _fields(params)
        with self.store.transaction():
            record = self.measures.create(fields, ctx)
            if self.measures.query({"code": record["code"]}, None, 0)[1]:
                raise CatalogError(200600000000, f"Measure with code {record['code']} exists")
            self.measures.save(record)
        return {"result": {"measure": record}}

    def _check_price(self, record: dict[str, Any]) -> None:
        if self.products.load(php_int(record["productId"], 0)) is None:
            raise crm_error("product does not exist.")
        if self.price_types.load(php_int(record["catalogGroupId"], 0)) is None:
            raise CatalogError(0, "Price type not found")

    def price_add(self, params: dict[str, Any], ctx: Context) -> dict[str, Any]:
        """``catalog.price.add`` → ``{"price": {...}}``."""
        with self.store.transaction():
            record = self.prices.create(_fields(params), ctx)
            self._check_price(record)
            self.prices.save(record)
        return {"result": {"price": record}}

    def price_update(self, params: dict[str, Any], ctx: Context) -> dict[str, Any]:
        """``catalog.price.update`` → ``{"price": {...}}``."""
        record_id = _id(params)
        with self.store.transaction():
            record = self.prices.load(record_id)
            if record is None:
                raise crm_error("price does not exist.")
            self.prices.apply(record, _fields(params))
            record["timestampX"] = now_iso()
            self._check_price(record)
            self.prices.save(record)
        return {"result": {"price": record}}

    def price_modify(self, params: dict[str, Any], ctx: Context) -> dict[str, Any]:
        """``catalog.price.modify {fields: {product: {id, prices[]}}}`` replaces all prices."""
        product = _fields(params).get("product")
        if not isinstance(product, dict):
            raise CatalogError(0, "Required fields: product")
        product_id = php_int(product.get("id"), 0)
        raw = product.get("prices") or []
        rows = list(raw.values()) if isinstance(raw, dict) else raw
        with self.store.transaction():
            self._product(product_id)
            for old in self.prices.query({"productId": product_id}, None, 0, limit=1000)[0]:
                self.prices.delete(int(old["id"]))
            saved = []
            for row in rows if isinstance(rows, list) else []:
                record = self.prices.create({**row, "productId": product_id}, ctx)
                self._check_price(record)
                record["priceScale"] = record["price"]
                self.prices.save(record)
                saved.append(record)
        return {"result": {"prices": saved}}

    # -- stock documents -------------------------------------------------------------------
    def document_add(self, params: dict[str, Any], ctx: Context) -> dict[str, Any]:
        """``catalog.document.add`` (``docType`` A arrival, S adjustment, M move, D write-off)."""
        fields = _fields(params)
        if str(fields.get("docType") or "") not in _DOC_TYPES:
            raise CatalogError(0, "Required fields: docType")
        with self.store.transaction():
            record = self.documents.create(fields, ctx)
            record["dateStatus"] = record["dateCreate"]
            self.documents.save(record)
        return {"result": {"document": record}}

    def element_add(self, params: dict[str, Any], ctx: Context) -> dict[str, Any]:
        """``catalog.document.element.add`` → ``{"documentElement": {...}}``."""
        fields = _fields(params)
        with self.store.transaction():
            record = self.elements.create(fields, ctx)
            document = self.documents.load(php_int(record["docId"], 0))
            if document is None:
                raise CatalogError(0, "Document not found")
            if document["status"] == "Y":
                raise CatalogError(0, "Conducted document cannot be changed")
            self._product(php_int(record["elementId"], 0))
            self.elements.save(record)
        return {"result": {"documentElement": record}}

    def _move(self, product_id: int, store_id: int, delta: float) -> None:
        found = self.stock.query({"productId": product_id, "storeId": store_id}, None, 0)[0]
        record = found[0] if found else None
        if record is None:
            if self.stores.load(store_id) is None:
                raise CatalogError(0, f"Store {store_id} not found")
            record = self.stock.create({"productId": product_id, "storeId": store_id}, Context(0))
        amount = (to_number(record["amount"]) or 0.0) + delta
        if amount < 0:
            raise CatalogError(0, f"Not enough product {product_id} in store {store_id}")
        record["amount"] = typed_number(amount)
        self.stock.save(record)

    def document_conduct(self, params: dict[str, Any], ctx: Context) -> dict[str, Any]:
        """``catalog.document.conduct`` → ``true``; stock per store changes."""
        document_id = _id(params)
        with self.store.transaction():
            document = self.documents.load(document_id)
            if document is None:
                raise CatalogError(0, "Document not found")
            if document["status"] == "Y":
                raise CatalogError(0, "Document already conducted")
            elements, _ = self.elements.query({"docId": document_id}, None, 0, limit=10_000)
            kind = document["docType"]
            for element in elements:
                product_id = php_int(element["elementId"], 0)
                amount = to_number(element["amount"]) or 0.0
                if kind in ("A", "S", "M"):
                    self._move(product_id, php_int(element["storeTo"], 0), amount)
                if kind in ("M", "D"):
                    self._move(product_id, php_int(element["storeFrom"], 0), -amount)
                product = self.products.load(product_id)
                if product is not None and kind != "M":
                    sign = -1 if kind == "D" else 1
                    product["quantity"] = typed_number((product["quantity"] or 0) + sign * amount)
                    self.products.save(product)
            document.update({"status": "Y", "statusBy": ctx.user_id, "dateStatus": now_iso()})
            self.documents.save(document)
        return {"result": True}
