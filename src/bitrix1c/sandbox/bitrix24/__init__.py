"""Bitrix24 cloud-portal emulator for the sandbox.

A local HTTP server that answers the CRM REST methods the integration uses the
way a real Bitrix24 portal does: same URL forms, parameter encoding, reply
shapes, error codes and limits (see ``/work/shared/reference/bitrix24.md``).

>>> portal = Portal(None)
>>> portal.call("crm.company.add", {"fields": {"TITLE": "ООО «Ромашка»"}})["result"]
1
"""

from __future__ import annotations

from .app import create_app
from .errors import RestError
from .limits import PortalStats
from .portal import Portal, RestRoute

__all__ = ["Portal", "PortalStats", "RestError", "RestRoute", "create_app"]
