"""Bitrix24 cloud-portal emulator for the sandbox.

A local HTTP server that answers the CRM REST methods the integration uses the
way a real Bitrix24 portal does: same URL forms, parameter encoding, reply
shapes, error codes and limits (see ``/work/shared/reference/bitrix24.md``):
companies, contacts, requisites, deals with pipelines and product rows, user
fields, ``crm.item`` (2/3/4/31), the trade catalog, OAuth apps with token expiry
and the token server, outbound events (online POSTs and the offline queue) and
fault injection.

>>> portal = Portal(None)
>>> portal.call("crm.company.add", {"fields": {"TITLE": "ООО «Ромашка»"}})["result"]
1
"""

from __future__ import annotations

from .app import create_app
from .errors import RestError
from .events import Delivery
from .faults import Faults
from .limits import PortalStats
from .portal import Portal, RestRoute

__all__ = ["Delivery", "Faults", "Portal", "PortalStats", "RestError", "RestRoute", "create_app"]
