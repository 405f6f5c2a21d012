"""CommerceML 2.x: streaming reader, writer, and the records they carry.

The HTTP side of the exchange ("обмен с сайтом") is :mod:`bitrix1c.web.commerceml`.
"""

from __future__ import annotations

from .model import (
    FileHeader,
    Group,
    Offer,
    Order,
    OrderLine,
    Party,
    Price,
    PriceType,
    Product,
    Property,
    Record,
    Unit,
    Warehouse,
    split_id,
)
from .reader import CommerceMLReader, FileSummary, inspect, read
from .writer import CommerceMLWriter, write_catalog, write_offers, write_orders
from .xmlstream import CommerceMLError

__all__ = [
    "CommerceMLError",
    "CommerceMLReader",
    "CommerceMLWriter",
    "FileHeader",
    "FileSummary",
    "Group",
    "Offer",
    "Order",
    "OrderLine",
    "Party",
    "Price",
    "PriceType",
    "Product",
    "Property",
    "Record",
    "Unit",
    "Warehouse",
    "inspect",
    "read",
    "split_id",
    "write_catalog",
    "write_offers",
    "write_orders",
]
