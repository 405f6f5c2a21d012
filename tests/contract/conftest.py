"""A sandbox portal served over HTTP for the contract tests (one per module)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from bitrix24_http import PortalServer, serve

from bitrix1c.sandbox.bitrix24 import Portal, create_app


@pytest.fixture(scope="module")
def bitrix24_portal() -> Iterator[PortalServer]:
    portal = Portal(None, drain_per_second=1000.0, burst=1000, event_delay=0.0)
    with serve(create_app(portal)) as base_url:
        portal.base_url = base_url
        yield PortalServer(portal, base_url)
    portal.close()
