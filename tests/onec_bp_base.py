"""A БП 3.0 sandbox base for flow tests (the sandbox launcher serves only УТ 11)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import httpx

from bitrix1c.onec.odata import ODataClient
from bitrix1c.sandbox.onec import OneCBase, populate_bp30
from bitrix1c.sandbox.onec import create_app as create_onec_app
from bitrix1c.sandbox.seed import generate_counterparties


@contextlib.asynccontextmanager
async def bp_base(seed: int = 11, count: int = 40) -> AsyncIterator[tuple[OneCBase, ODataClient]]:
    """A seeded БП 3.0 base named ``acc`` and an OData client talking to it over ASGI."""
    base = OneCBase(None, name="acc", profile="bp30")
    populate_bp30(base, list(generate_counterparties(count, seed=seed)), invoices=0)
    client = ODataClient(
        "http://onec/acc/odata/standard.odata/",
        base.username,
        base.password,
        base="acc",
        transport=httpx.ASGITransport(app=create_onec_app({"acc": base})),
    )
    try:
        yield base, client
    finally:
        await client.aclose()
        base.close()
