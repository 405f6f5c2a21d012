"""Emulator of the 1C:Enterprise standard OData interface (``standard.odata``, OData v3).

``OneCBase`` is one infobase (SQLite or in memory) shaped by the object schemas of a real
configuration (``schemas/ut11.json`` — УТ 11.5, ``schemas/bp30.json`` — БП 3.0);
``create_app`` serves bases over HTTP the way a real publication does; ``populate_ut11``
fills an УТ 11 base from the neutral seed records and ``populate_trade`` (opt-in) adds
organizations, items, prices, stock and posted orders, payments and shipments.
"""

from __future__ import annotations

from .app import create_app
from .base import OneCBase
from .bp30 import populate_bp30
from .errors import ODataError
from .faults import Faults
from .populate import CONTACT_KIND_KEYS, populate_ut11
from .trade import TradeData, populate_trade

__all__ = [
    "CONTACT_KIND_KEYS",
    "Faults",
    "ODataError",
    "OneCBase",
    "TradeData",
    "create_app",
    "populate_bp30",
    "populate_trade",
    "populate_ut11",
]
