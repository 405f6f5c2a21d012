"""Storage of the emulated trade catalog: record types, their defaults and one SQL table.

Every catalog record (product, unit, price type, price, store, stock row, stock
document and its rows) is a camelCase JSON object in ``catalog_entity`` keyed by
``(kind, id)``; ids count per kind, filters run in SQL through ``json_extract``.
Catalog errors carry numeric codes (``CatalogError``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .errors import RestError
from .filters import split_key
from .records import PAGE_SIZE, Context
from .store import Store
from .values import now_iso, to_number

PRODUCT_IBLOCK = 23
OFFER_IBLOCK = 24

SCHEMA = """
CREATE TABLE IF NOT EXISTS catalog_entity (
    kind TEXT NOT NULL, id INTEGER NOT NULL, data TEXT NOT NULL, PRIMARY KEY (kind, id)
);
CREATE INDEX IF NOT EXISTS catalog_product_xml
    ON catalog_entity (kind, json_extract(data, '$.xmlId'));
"""


class CatalogError(RestError):
    """A catalog error: its ``error`` is a JSON number (``0``, ``200040300000`` …)."""

    def __init__(self, number: int, description: str) -> None:
        super().__init__(400, str(number), description)
        self.number = number

    def body(self) -> dict[str, Any]:
        """``{"error": <number>, "error_description": …}``."""
        return {"error": self.number, "error_description": self.description}


def crm_error(description: str) -> RestError:
    return RestError(400, "", description)


@dataclass(frozen=True)
class Kind:
    """One catalog record type."""

    name: str  # storage kind
    one: str  # key of a single record in replies
    many: str  # key of a list in replies
    defaults: Callable[[Context], dict[str, Any]]
    required: tuple[str, ...] = ()
    numbers: frozenset[str] = field(default_factory=frozenset)
    read_only: frozenset[str] = frozenset({"id"})


def _stamp() -> str:
    return now_iso()


def _product_defaults(ctx: Context) -> dict[str, Any]:
    stamp = _stamp()
    return {
        "active": "Y",
        "available": "Y",
        "bundle": "N",
        "canBuyZero": "Y",
        "code": None,
        "createdBy": ctx.user_id,
        "dateActiveFrom": None,
        "dateActiveTo": None,
        "dateCreate": stamp,
        "detailPicture": None,
        "detailText": None,
        "detailTextType": "text",
        "height": None,
        "iblockId": PRODUCT_IBLOCK,
        "iblockSectionId": None,
        "length": None,
        "measure": None,
        "modifiedBy": ctx.user_id,
        "name": "",
        "previewPicture": None,
        "previewText": None,
        "previewTextType": "text",
        "purchasingCurrency": None,
        "purchasingPrice": None,
        "quantity": 0,
        "quantityReserved": 0,
        "quantityTrace": "D",
        "sort": 500,
        "subscribe": "D",
        "timestampX": stamp,
        "type": 1,
        "vatId": None,
        "vatIncluded": "N",
        "weight": None,
        "width": None,
        "xmlId": None,
    }


LIST_ONLY = {
    "barcodeMulti": "N",
    "recurSchemeLength": None,
    "recurSchemeType": "D",
    "trialPriceId": None,
    "withoutOrder": "N",
}

PRODUCT = Kind(
    "product",
    "product",
    "products",
    _product_defaults,
    required=("iblockId", "name"),
    numbers=frozenset(
        {"iblockId", "iblockSectionId", "measure", "vatId", "sort", "type", "quantity"}
        | {"quantityReserved", "weight", "width", "length", "height", "createdBy", "modifiedBy"}
    ),
)
MEASURE = Kind(
    "measure",
    "measure",
    "measures",
    lambda ctx: {
        "code": None,
        "isDefault": "N",
        "measureTitle": None,
        "symbol": None,
        "symbolIntl": None,
        "symbolLetterIntl": None,
    },
    required=("code",),
    numbers=frozenset({"code"}),
)
PRICE_TYPE = Kind(
    "priceType",
    "priceType",
    "priceTypes",
    lambda ctx: {
        "base": "N",
        "createdBy": ctx.user_id,
        "dateCreate": _stamp(),
        "modifiedBy": ctx.user_id,
        "name": "",
        "sort": 100,
        "timestampX": _stamp(),
        "xmlId": None,
    },
    required=("name",),
    numbers=frozenset({"sort"}),
)
PRICE = Kind(
    "price",
    "price",
    "prices",
    lambda ctx: {
        "catalogGroupId": None,
        "currency": "RUB",
        "extraId": None,
        "price": 0,
        "productId": None,
        "quantityFrom": None,
        "quantityTo": None,
        "timestampX": _stamp(),
    },
    required=("productId", "catalogGroupId", "price", "currency"),
    numbers=frozenset({"catalogGroupId", "productId", "price", "quantityFrom", "quantityTo"}),
)
STORE = Kind(
    "store",
    "store",
    "stores",
    lambda ctx: {
        "active": "Y",
        "address": "",
        "code": None,
        "dateCreate": _stamp(),
        "dateModify": _stamp(),
        "description": None,
        "email": None,
        "gpsN": 0,
        "gpsS": 0,
        "imageId": None,
        "issuingCenter": "N",
        "modifiedBy": ctx.user_id,
        "phone": None,
        "schedule": None,
        "sort": 100,
        "title": "",
        "userId": ctx.user_id,
        "xmlId": None,
    },
    required=("address",),
    numbers=frozenset({"sort", "gpsN", "gpsS"}),
)
STORE_PRODUCT = Kind(
    "storeProduct",
    "storeProduct",
    "storeProducts",
    lambda ctx: {"amount": 0, "productId": None, "quantityReserved": 0, "storeId": None},
    numbers=frozenset({"amount", "productId", "storeId", "quantityReserved"}),
)
DOCUMENT = Kind(
    "document",
    "document",
    "documents",
    lambda ctx: {
        "commentary": None,
        "createdBy": ctx.user_id,
        "currency": "RUB",
        "dateCreate": _stamp(),
        "dateDocument": None,
        "dateModify": _stamp(),
        "dateStatus": None,
        "docNumber": None,
        "docType": None,
        "modifiedBy": ctx.user_id,
        "responsibleId": ctx.user_id,
        "siteId": "s1",
        "status": "N",
        "statusBy": None,
        "title": None,
        "total": None,
    },
    required=("docType",),
    numbers=frozenset({"responsibleId", "total", "contractorId"}),
    read_only=frozenset({"id", "status", "statusBy", "dateStatus"}),
)
DOCUMENT_ELEMENT = Kind(
    "documentElement",
    "documentElement",
    "documentElements",
    lambda ctx: {
        "amount": 0,
        "docId": None,
        "elementId": None,
        "purchasingPrice": None,
        "storeFrom": None,
        "storeTo": None,
    },
    required=("docId", "elementId", "amount"),
    numbers=frozenset({"amount", "docId", "elementId", "purchasingPrice", "storeFrom", "storeTo"}),
)


def typed_number(value: Any) -> Any:
    if value in (None, ""):
        return None
    number = to_number(value)
    if number is None:
        return value
    return int(number) if number.is_integer() else number


class CatalogTable:
    """Records of one kind in ``catalog_entity``."""

    def __init__(self, store: Store, kind: Kind) -> None:
        self.store = store
        self.kind = kind

    def load(self, record_id: int) -> dict[str, Any] | None:
        """A record with its ``id`` (``None`` when absent)."""
        rows = self.store.query(
            "SELECT data FROM catalog_entity WHERE kind = ? AND id = ?", (self.kind.name, record_id)
        )
        if not rows:
            return None
        data: dict[str, Any] = json.loads(rows[0][0])
        return {"id": record_id, **data} if "id" not in data else data

    def save(self, record: dict[str, Any]) -> None:
        """Insert or overwrite (``record["id"]`` set)."""
        self.store.execute(
            "INSERT INTO catalog_entity (kind, id, data) VALUES (?, ?, ?) "
            "ON CONFLICT(kind, id) DO UPDATE SET data = excluded.data",
            (self.kind.name, record["id"], json.dumps(record, ensure_ascii=False)),
        )

    def next_id(self) -> int:
        """The id the next record gets."""
        rows = self.store.query(
            "SELECT COALESCE(MAX(id), 0) FROM catalog_entity WHERE kind = ?", (self.kind.name,)
        )
        return int(rows[0][0]) + 1

    def delete(self, record_id: int) -> None:
        """Remove a record."""
        self.store.execute(
            "DELETE FROM catalog_entity WHERE kind = ? AND id = ?", (self.kind.name, record_id)
        )

    def apply(self, record: dict[str, Any], fields: dict[str, Any]) -> None:
        """Copy known, writable fields (typed) into ``record``."""
        for key, value in fields.items():
            if key not in record or key in self.kind.read_only:
                continue
            record[key] = typed_number(value) if key in self.kind.numbers else value

    def create(self, fields: dict[str, Any], ctx: Context) -> dict[str, Any]:
        """A new record from ``fields`` (required fields checked)."""
        missing = [f for f in self.kind.required if fields.get(f) in (None, "")]
        if missing:
            raise CatalogError(0, f"Required fields: {', '.join(missing)}")
        record = {"id": 0, **self.kind.defaults(ctx)}
        self.apply(record, fields)
        record["id"] = self.next_id()
        return record

    def query(
        self, filter_: Any, order: Any, start: int, limit: int = PAGE_SIZE
    ) -> tuple[list[dict[str, Any]], int]:
        """Filtered, ordered page → ``(records, total)``."""
        where = ["kind = ?"]
        args: list[Any] = [self.kind.name]
        if isinstance(filter_, dict):
            for key, value in filter_.items():
                op, name = split_key(str(key))
                expr = "id" if name == "id" else f"json_extract(data, '$.{name}')"
                negate = op.startswith("!")
                core = op.lstrip("!") or ("@" if isinstance(value, list) else "=")
                if core in ("@", "=") and isinstance(value, list):
                    values = [typed_number(v) if name in self.kind.numbers else v for v in value]
                    sql = f"{expr} IN ({','.join('?' * len(values))})" if values else "0"
                    args.extend(values)
                elif core == "%":
                    sql = f"instr(ulower(CAST({expr} AS TEXT)), ulower(?)) > 0"
                    args.append(str(value))
                elif core in (">", ">=", "<", "<=", "="):
                    sql = f"{expr} {core} ?"
                    numeric = name in self.kind.numbers or name == "id"
                    args.append(typed_number(value) if numeric else value)
                else:
                    continue
                where.append(f"NOT ({sql})" if negate else sql)
        parts: list[str] = []
        if isinstance(order, dict):
            for name, direction in order.items():
                way = "DESC" if str(direction).upper() == "DESC" else "ASC"
                expr = "id" if name == "id" else f"json_extract(data, '$.{name}')"
                parts.append(f"{expr} {way}")
        parts.append("id ASC")
        clause = " AND ".join(where)
        rows = self.store.query(
            f"SELECT data FROM catalog_entity WHERE {clause} ORDER BY {', '.join(parts)} "
            "LIMIT ? OFFSET ?",
            [*args, limit, max(start, 0)],
        )
        total = int(
            self.store.query(f"SELECT COUNT(*) FROM catalog_entity WHERE {clause}", args)[0][0]
        )
        return [json.loads(r[0]) for r in rows], total
