"""What a CommerceML file carries, as small frozen records.

Ids are kept as 1C writes them: ``Ид`` of a good is the 1C GUID of the item, and for a
good with characteristics ``<item GUID>#<characteristic GUID>``; :attr:`Product.item_id` and
:attr:`Product.characteristic_id` are its two halves. Amounts are :class:`~decimal.Decimal`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, ClassVar


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def split_id(value: str) -> tuple[str, str | None]:
    """``"<item>#<characteristic>"`` → ``("<item>", "<characteristic>")``; no ``#`` → None."""
    item, sep, characteristic = value.partition("#")
    return item, (characteristic or None) if sep else None


class _Record:
    kind: ClassVar[str]

    def as_json(self) -> dict[str, Any]:
        """The record as JSON-ready data (Decimals as strings), with its ``kind``."""
        data = {f.name: _plain(getattr(self, f.name)) for f in dataclasses.fields(self)}  # type: ignore[arg-type]
        return {"kind": self.kind, **data}


@dataclass(frozen=True)
class Unit(_Record):
    """A unit of measure; ``code`` is the OKEI code (``796`` = штука), a string."""

    kind: ClassVar[str] = "unit"
    code: str | None
    name: str | None = None
    full_name: str | None = None
    international: str | None = None


@dataclass(frozen=True)
class Group(_Record):
    """A group of the classifier; nested groups name their parent."""

    kind: ClassVar[str] = "group"
    id: str
    name: str
    parent_id: str | None = None


@dataclass(frozen=True)
class Property(_Record):
    """A property of the classifier; ``values`` maps value ids of a reference property."""

    kind: ClassVar[str] = "property"
    id: str
    name: str
    value_type: str | None = None
    values: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Product(_Record):
    """A good of the catalog (``Каталог/Товары/Товар``)."""

    kind: ClassVar[str] = "product"
    id: str
    name: str
    article: str | None = None
    unit: Unit | None = None
    group_ids: tuple[str, ...] = ()
    barcode: str | None = None
    description: str | None = None
    properties: dict[str, str] = field(default_factory=dict)
    requisites: dict[str, str] = field(default_factory=dict)
    characteristics: dict[str, str] = field(default_factory=dict)
    tax_rates: dict[str, str] = field(default_factory=dict)
    deleted: bool = False

    @property
    def item_id(self) -> str:
        return split_id(self.id)[0]

    @property
    def characteristic_id(self) -> str | None:
        return split_id(self.id)[1]


@dataclass(frozen=True)
class PriceType(_Record):
    """A price type (``ТипЦены``): the 1C price type GUID and its currency."""

    kind: ClassVar[str] = "price_type"
    id: str
    name: str
    currency: str | None = None
    tax_included: bool | None = None


@dataclass(frozen=True)
class Warehouse(_Record):
    kind: ClassVar[str] = "warehouse"
    id: str
    name: str


@dataclass(frozen=True)
class Price:
    price_type_id: str
    value: Decimal
    currency: str | None = None
    unit: str | None = None
    coefficient: Decimal | None = None


@dataclass(frozen=True)
class Offer(_Record):
    """An offer (``Предложение``): prices per price type and stock, total and per warehouse."""

    kind: ClassVar[str] = "offer"
    id: str
    name: str | None = None
    article: str | None = None
    unit: Unit | None = None
    prices: tuple[Price, ...] = ()
    quantity: Decimal | None = None
    stock: dict[str, Decimal] = field(default_factory=dict)
    characteristics: dict[str, str] = field(default_factory=dict)

    @property
    def item_id(self) -> str:
        return split_id(self.id)[0]

    @property
    def characteristic_id(self) -> str | None:
        return split_id(self.id)[1]


@dataclass(frozen=True)
class Party:
    """A counterparty of a document (``Контрагент``)."""

    id: str | None
    name: str
    role: str | None = None
    full_name: str | None = None
    inn: str | None = None
    kpp: str | None = None


@dataclass(frozen=True)
class OrderLine:
    id: str | None
    name: str
    quantity: Decimal
    price: Decimal | None = None
    total: Decimal | None = None
    article: str | None = None
    unit: Unit | None = None
    requisites: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Order(_Record):
    """A document (``Документ``): an order of the site, or 1C's answer about it."""

    kind: ClassVar[str] = "order"
    id: str
    number: str
    date: datetime
    operation: str = "Заказ товара"
    role: str = "Продавец"
    currency: str = "руб"
    rate: Decimal = Decimal(1)
    total: Decimal = Decimal(0)
    parties: tuple[Party, ...] = ()
    lines: tuple[OrderLine, ...] = ()
    requisites: dict[str, str] = field(default_factory=dict)
    comment: str | None = None


Record = Unit | Group | Property | Product | PriceType | Warehouse | Offer | Order


@dataclass(frozen=True)
class FileHeader:
    """What the root and the section headers say about a file."""

    schema_version: str | None
    generated_at: str | None
    sections: tuple[str, ...]
    only_changes: bool = False
    classifier_id: str | None = None
    catalog_id: str | None = None
    offers_id: str | None = None
