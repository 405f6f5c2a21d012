"""A person's (or a test's) raw calls to the sandbox portal, as a browser or script makes them.

The sandbox enforces the plan's request bucket like a real portal; a test that reads a
lot back may meet ``503 QUERY_LIMIT_EXCEEDED`` and, like any well-behaved client, waits
and asks again instead of failing.
"""

from __future__ import annotations

import time
from typing import Any

import httpx

from bitrix1c.sandbox.server import Endpoints


def portal_post(endpoints: Endpoints, method: str, params: dict[str, Any]) -> httpx.Response:
    """POST ``method`` to the sandbox webhook; 503 answers are waited out (up to ~30 s)."""
    for _attempt in range(60):
        response = httpx.post(endpoints.bitrix24_webhook_url + method, json=params, timeout=30)
        if response.status_code != 503:
            return response
        time.sleep(0.5)
    return response


def portal_result(endpoints: Endpoints, method: str, params: dict[str, Any]) -> Any:
    """The ``result`` of one call (HTTP errors raised)."""
    response = portal_post(endpoints, method, params)
    response.raise_for_status()
    return response.json()["result"]


def portal_every(endpoints: Endpoints, method: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    """Every row of a list method, page by page (``start`` / ``next``)."""
    rows: list[dict[str, Any]] = []
    start = 0
    while True:
        response = portal_post(endpoints, method, {**params, "start": start}).json()
        rows += response["result"]
        if "next" not in response:
            return rows
        start = response["next"]
