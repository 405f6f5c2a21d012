"""Typed results of the Bitrix24 methods the exchange uses.

Small frozen pydantic models with the fields the flows read, typed; every other key the
portal sends is kept (``extra``) so nothing is lost when a record is read, stored or
written back. Field names are the portal's own (``ID``, ``RQ_INN``; camelCase for
``crm.item.*`` and ``catalog.*``) so a reader can match them against the docs.

:func:`parse_result` turns the ``result`` of a known method into models, unwrapping
``result.items`` / ``result.products`` and the like (bitrix24.md §5, §6).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict


def _int_or_none(value: Any) -> Any:
    # Classic methods send ids as strings and "" or null for "none".
    if value is None or value == "":
        return None
    return value


def _decimal_or_none(value: Any) -> Any:
    if value is None or value == "":
        return None
    return Decimal(str(value))


Id = Annotated[int | None, BeforeValidator(_int_or_none)]
Money = Annotated[Decimal | None, BeforeValidator(_decimal_or_none)]


class Bitrix24Model(BaseModel):
    """A record as the portal sent it: typed known fields, every other key kept."""

    model_config = ConfigDict(frozen=True, extra="allow", populate_by_name=True)

    @property
    def extra(self) -> Mapping[str, Any]:
        """Keys this model has no typed field for (user fields, ``propertyNNN`` …)."""
        return self.model_extra or {}

    def raw(self) -> dict[str, Any]:
        """The record with the portal's keys (only the keys that were received)."""
        return self.model_dump(mode="json", exclude_unset=True)


# --- CRM ---------------------------------------------------------------------------


class MultiField(Bitrix24Model):
    """One phone, e-mail, web or messenger entry of a company or contact."""

    ID: Id = None
    VALUE: str | None = None
    VALUE_TYPE: str | None = None
    TYPE_ID: str | None = None


class Company(Bitrix24Model):
    ID: Id = None
    TITLE: str | None = None
    COMPANY_TYPE: str | None = None
    ASSIGNED_BY_ID: Id = None
    ORIGINATOR_ID: str | None = None
    ORIGIN_ID: str | None = None
    DATE_CREATE: str | None = None
    DATE_MODIFY: str | None = None
    PHONE: list[MultiField] | None = None
    EMAIL: list[MultiField] | None = None


class Contact(Bitrix24Model):
    ID: Id = None
    NAME: str | None = None
    LAST_NAME: str | None = None
    SECOND_NAME: str | None = None
    COMPANY_ID: Id = None
    ASSIGNED_BY_ID: Id = None
    ORIGINATOR_ID: str | None = None
    ORIGIN_ID: str | None = None
    DATE_CREATE: str | None = None
    DATE_MODIFY: str | None = None
    PHONE: list[MultiField] | None = None
    EMAIL: list[MultiField] | None = None


class Deal(Bitrix24Model):
    ID: Id = None
    TITLE: str | None = None
    CATEGORY_ID: Id = None
    STAGE_ID: str | None = None
    STAGE_SEMANTIC_ID: str | None = None
    OPPORTUNITY: Money = None
    CURRENCY_ID: str | None = None
    COMPANY_ID: Id = None
    CONTACT_ID: Id = None
    ASSIGNED_BY_ID: Id = None
    ORIGINATOR_ID: str | None = None
    ORIGIN_ID: str | None = None
    DATE_CREATE: str | None = None
    DATE_MODIFY: str | None = None


class Requisite(Bitrix24Model):
    ID: Id = None
    ENTITY_TYPE_ID: Id = None
    ENTITY_ID: Id = None
    PRESET_ID: Id = None
    NAME: str | None = None
    XML_ID: str | None = None
    ACTIVE: str | None = None
    RQ_INN: str | None = None
    RQ_KPP: str | None = None
    RQ_OGRN: str | None = None
    RQ_OGRNIP: str | None = None
    RQ_COMPANY_NAME: str | None = None
    RQ_COMPANY_FULL_NAME: str | None = None


class BankDetail(Bitrix24Model):
    ID: Id = None
    ENTITY_ID: Id = None  # the requisite
    NAME: str | None = None
    RQ_BANK_NAME: str | None = None
    RQ_BIK: str | None = None
    RQ_ACC_NUM: str | None = None
    RQ_COR_ACC_NUM: str | None = None
    XML_ID: str | None = None


class RequisiteLink(Bitrix24Model):
    """Which requisite and bank detail a deal or invoice uses (MC = our own company)."""

    ENTITY_TYPE_ID: Id = None
    ENTITY_ID: Id = None
    REQUISITE_ID: Id = None
    BANK_DETAIL_ID: Id = None
    MC_REQUISITE_ID: Id = None
    MC_BANK_DETAIL_ID: Id = None


class RequisitePreset(Bitrix24Model):
    ID: Id = None
    NAME: str | None = None
    COUNTRY_ID: Id = None
    ACTIVE: str | None = None


class Item(Bitrix24Model):
    """A ``crm.item.*`` record (deal 2, contact 3, company 4, smart invoice 31 …)."""

    id: int | None = None
    entityTypeId: int | None = None
    title: str | None = None
    categoryId: int | None = None
    stageId: str | None = None
    companyId: int | None = None
    contactId: int | None = None
    parentId2: int | None = None
    opportunity: Money = None
    currencyId: str | None = None
    assignedById: int | None = None
    createdTime: str | None = None
    updatedTime: str | None = None
    xmlId: str | None = None


class Status(Bitrix24Model):
    """A pipeline stage or another ``crm.status`` entry."""

    ID: Id = None
    ENTITY_ID: str | None = None
    STATUS_ID: str | None = None
    NAME: str | None = None
    SORT: Id = None
    CATEGORY_ID: Id = None
    SEMANTICS: str | None = None
    EXTRA: dict[str, Any] | None = None


class Category(Bitrix24Model):
    """A pipeline (``crm.category.list``); the default deal pipeline has id 0."""

    id: int | None = None
    name: str | None = None
    sort: int | None = None
    entityTypeId: int | None = None
    isDefault: str | None = None
    originId: str | None = None
    originatorId: str | None = None


class Duplicates(Bitrix24Model):
    """``crm.duplicate.findbycomm``: ids per entity type."""

    LEAD: list[int] | None = None
    CONTACT: list[int] | None = None
    COMPANY: list[int] | None = None


# --- catalog -----------------------------------------------------------------------


class Product(Bitrix24Model):
    id: int | None = None
    iblockId: int | None = None
    name: str | None = None
    xmlId: str | None = None
    code: str | None = None
    active: str | None = None
    measure: int | None = None
    vatId: int | None = None
    vatIncluded: str | None = None
    purchasingPrice: Money = None
    quantity: Money = None
    type: int | None = None


class Measure(Bitrix24Model):
    id: int | None = None
    code: int | None = None
    measureTitle: str | None = None
    symbol: str | None = None
    symbolIntl: str | None = None
    isDefault: str | None = None


class PriceType(Bitrix24Model):
    id: int | None = None
    name: str | None = None
    xmlId: str | None = None
    base: str | None = None
    sort: int | None = None


class Price(Bitrix24Model):
    id: int | None = None
    productId: int | None = None
    catalogGroupId: int | None = None  # the price type
    price: Money = None
    currency: str | None = None


class Store(Bitrix24Model):
    id: int | None = None
    title: str | None = None
    code: str | None = None
    xmlId: str | None = None
    active: str | None = None
    address: str | None = None


class StoreProduct(Bitrix24Model):
    """Stock of one product in one store (read-only in Bitrix24)."""

    id: int | None = None
    productId: int | None = None
    storeId: int | None = None
    amount: Money = None


# --- events ------------------------------------------------------------------------


class EventBinding(Bitrix24Model):
    """A handler bound with ``event.bind`` (``event.get``)."""

    event: str | None = None
    handler: str | None = None
    auth_type: Id = None
    offline: int | None = None


class OfflineEvent(Bitrix24Model):
    """A record of the offline queue; ``event.offline.list`` adds ``PROCESS_ID`` and ``ERROR``."""

    ID: Id = None
    TIMESTAMP_X: str | None = None
    EVENT_NAME: str | None = None
    EVENT_DATA: Any = None
    EVENT_ADDITIONAL: Any = None
    MESSAGE_ID: str | None = None
    PROCESS_ID: str | None = None  # "" when not reserved
    ERROR: Id = None  # 1 after ``event.offline.error``


class OfflineEvents(Bitrix24Model):
    """A reserved batch of the offline queue (``event.offline.get``)."""

    process_id: str | None = None
    events: list[OfflineEvent] = []


class OnlineEvent(Bitrix24Model):
    """An event POSTed to our handler (bitrix24.md §7.3); all values arrive as strings."""

    event: str
    event_handler_id: str | None = None
    data: dict[str, Any] | None = None
    ts: str | None = None
    auth: dict[str, Any] | None = None


# --- method → model ----------------------------------------------------------------

# method: (model, key the rows are wrapped in or None, many rows?)
METHOD_MODELS: dict[str, tuple[type[Bitrix24Model], str | None, bool]] = {
    "crm.company.list": (Company, None, True),
    "crm.company.get": (Company, None, False),
    "crm.contact.list": (Contact, None, True),
    "crm.contact.get": (Contact, None, False),
    "crm.deal.list": (Deal, None, True),
    "crm.deal.get": (Deal, None, False),
    "crm.requisite.list": (Requisite, None, True),
    "crm.requisite.get": (Requisite, None, False),
    "crm.requisite.preset.list": (RequisitePreset, None, True),
    "crm.requisite.bankdetail.list": (BankDetail, None, True),
    "crm.requisite.bankdetail.get": (BankDetail, None, False),
    "crm.requisite.link.get": (RequisiteLink, None, False),
    "crm.requisite.link.list": (RequisiteLink, None, True),
    "crm.item.list": (Item, "items", True),
    "crm.item.get": (Item, "item", False),
    "crm.item.add": (Item, "item", False),
    "crm.item.update": (Item, "item", False),
    "crm.status.list": (Status, None, True),
    "crm.category.list": (Category, "categories", True),
    "crm.duplicate.findbycomm": (Duplicates, None, False),
    "catalog.product.list": (Product, "products", True),
    "catalog.product.get": (Product, "product", False),
    "catalog.product.add": (Product, "element", False),
    "catalog.product.update": (Product, "element", False),
    "catalog.measure.list": (Measure, "measures", True),
    "catalog.priceType.list": (PriceType, "priceTypes", True),
    "catalog.price.list": (Price, "prices", True),
    "catalog.store.list": (Store, "stores", True),
    "catalog.storeproduct.list": (StoreProduct, "storeProducts", True),
    "event.get": (EventBinding, None, True),
    "event.offline.get": (OfflineEvents, None, False),
    "event.offline.list": (OfflineEvent, None, True),
}


def parse_result(method: str, result: Any) -> Any:
    """The ``result`` of ``method`` as models: a list for list methods, else one model."""
    model, wrapper, many = METHOD_MODELS[method]
    body = result
    if wrapper is not None and isinstance(body, Mapping):
        body = body.get(wrapper)
    if many:
        rows = body.values() if isinstance(body, Mapping) else (body or [])
        return [model.model_validate(row) for row in rows]
    return model.model_validate(body)
