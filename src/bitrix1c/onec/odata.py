"""1C standard OData (v3) client: literals, paging, errors (onec.md §1).

Paths and query options are percent-encoded by us, with ``%20`` for spaces (real 1C does
not read ``+`` as a space). Basic auth is sent UTF-8 encoded, so Cyrillic logins work.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import datetime
from typing import Any
from urllib.parse import quote

import httpx
import structlog

from bitrix1c import __version__
from bitrix1c.errors import (
    OneCAuthError,
    OneCError,
    OneCRecordError,
    OneCRequestError,
    OneCUnavailable,
)

log = structlog.get_logger(__name__)

EMPTY_REF = "00000000-0000-0000-0000-000000000000"


# --- literals (onec.md §1.3) --------------------------------------------------------------


def guid(value: str) -> str:
    """``guid'…'`` literal; rejects anything that is not a GUID."""
    return f"guid'{uuid.UUID(value)}'"


def string(value: str) -> str:
    """String literal with embedded quotes doubled."""
    return "'" + value.replace("'", "''") + "'"


def date_time(value: datetime) -> str:
    """``datetime'…'`` literal (1C dates carry no time zone)."""
    return f"datetime'{value.replace(tzinfo=None).isoformat(timespec='seconds')}'"


def cast(ref: str, type_name: str) -> str:
    """Composite-field comparison operand: ``cast(guid'…', 'Document_X')``."""
    return f"cast({guid(ref)}, {string(type_name)})"


def _query(options: Mapping[str, str]) -> str:
    return "&".join(f"{k}={quote(v, safe=',()/')}" for k, v in options.items())


# --- error mapping (onec.md §1.9) ----------------------------------------------------------

# 1C's internal codes that mean "this request does not fit the base" (metadata, syntax).
REQUEST_CODES = {"0", "1", "2", "3", "6", "7", "8", "10", "11", "12", "13", "14", "18", "19", "21"}
# Codes that mean "this record was refused".
RECORD_CODES = {"4", "5", "9", "15", "16", "17", "-1"}


class ODataClient:
    """Client of one 1C base's ``standard.odata`` root."""

    def __init__(
        self,
        root_url: str,
        username: str,
        password: str,
        *,
        base: str = "",
        timeout: float = 120.0,
        transport: httpx.AsyncBaseTransport | None = None,
        retries: int = 4,
    ) -> None:
        self.root = root_url if root_url.endswith("/") else root_url + "/"
        self.base = base
        self.retries = retries
        self._http = httpx.AsyncClient(
            transport=transport,
            auth=httpx.BasicAuth(username, password),
            timeout=httpx.Timeout(timeout, connect=15.0),
            headers={"Accept": "application/json", "User-Agent": f"bitrix1c/{__version__}"},
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> ODataClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def url(self, resource: str, options: Mapping[str, str] | None = None) -> str:
        """Absolute URL of ``resource`` (already-quoted parts are kept)."""
        path = quote(resource, safe="()'=,/$-")
        query = {"$format": "json", **(options or {})}
        return f"{self.root}{path}?{_query(query)}"

    async def request(
        self,
        method: str,
        resource: str,
        *,
        options: Mapping[str, str] | None = None,
        body: Any = None,
    ) -> Any:
        """One request with retries on unavailability and lock conflicts."""
        url = self.url(resource, options)
        attempt = 0
        while True:
            attempt += 1
            try:
                return await self._send(method, url, body)
            except OneCUnavailable as error:
                if attempt > self.retries:
                    raise
                wait = min(30.0, 1.0 * 2 ** (attempt - 1))
                log.warning(
                    "onec.retry", base=self.base, attempt=attempt, wait=wait, error=str(error)
                )
                await asyncio.sleep(wait)

    async def _send(self, method: str, url: str, body: Any) -> Any:
        try:
            response = await self._http.request(method, url, json=body)
        except httpx.TimeoutException as exc:
            raise OneCUnavailable("1C did not answer in time", base=self.base, url=url) from exc
        except httpx.TransportError as exc:
            raise OneCUnavailable(
                f"cannot reach 1C: {type(exc).__name__}: {exc}", base=self.base, url=url
            ) from exc
        status = response.status_code
        try:
            payload = response.json()
        except ValueError:
            payload = None
        if status in (401, 403):
            raise OneCAuthError(
                f"1C refused the credentials (HTTP {status})",
                base=self.base,
                url=url,
                status=status,
            )
        if status >= 400 or not isinstance(payload, dict | list):
            raise self._error(status, payload, response.text, url)
        return payload

    def _error(self, status: int, payload: Any, text: str, url: str) -> OneCError:
        if isinstance(payload, dict) and "odata.error" in payload:
            err = payload["odata.error"]
            code = str(err.get("code", ""))
            message = err.get("message", {})
            text_ = message.get("value", "") if isinstance(message, dict) else str(message)
            if code == "-1" and "блокир" in text_.lower():
                # Lock conflict: another session holds the object; try again later.
                return OneCUnavailable(
                    f"1C: {text_}", base=self.base, url=url, code=code, status=status
                )
            if code in REQUEST_CODES:
                return OneCRequestError(
                    f"1C: {text_}", base=self.base, url=url, code=code, status=status
                )
            if code in RECORD_CODES:
                return OneCRecordError(
                    f"1C: {text_}", base=self.base, url=url, code=code, status=status
                )
        if status >= 500 or status == 200:
            # An HTML page (even with 200) is a broken publication or a gateway error.
            snippet = " ".join(text[:200].split())
            return OneCUnavailable(
                f"1C answered HTTP {status} without OData JSON: {snippet}",
                base=self.base,
                url=url,
                status=status,
            )
        return OneCRequestError(
            f"1C answered HTTP {status}", base=self.base, url=url, status=status
        )

    # --- reading --------------------------------------------------------------------------

    async def get(
        self, entity_set: str, ref_key: str, select: Sequence[str] = ()
    ) -> dict[str, Any]:
        options = {"$select": ",".join(select)} if select else {}
        result = await self.request("GET", f"{entity_set}({guid(ref_key)})", options=options)
        assert isinstance(result, dict)
        return result

    async def pages(
        self,
        entity_set: str,
        *,
        select: Sequence[str] = (),
        filter: str | None = None,
        orderby: str = "Ref_Key",
        page_size: int = 500,
    ) -> AsyncIterator[list[dict[str, Any]]]:
        """Yield pages of an entity set, ordered (1C has no server-driven paging)."""
        skip = 0
        while True:
            options = {"$orderby": orderby, "$top": str(page_size), "$skip": str(skip)}
            if select:
                options["$select"] = ",".join(select)
            if filter:
                options["$filter"] = filter
            payload = await self.request("GET", entity_set, options=options)
            rows = payload.get("value", []) if isinstance(payload, dict) else []
            if rows:
                yield rows
            if len(rows) < page_size:
                return
            skip += page_size

    async def count(self, entity_set: str, filter: str | None = None) -> int:
        options = {"$inlinecount": "allpages", "$top": "1", "$select": "Ref_Key"}
        if filter:
            options["$filter"] = filter
        payload = await self.request("GET", entity_set, options=options)
        return int(payload.get("odata.count", 0)) if isinstance(payload, dict) else 0

    # --- writing --------------------------------------------------------------------------

    async def patch(
        self, entity_set: str, ref_key: str, fields: Mapping[str, Any]
    ) -> dict[str, Any]:
        result = await self.request("PATCH", f"{entity_set}({guid(ref_key)})", body=dict(fields))
        assert isinstance(result, dict)
        return result

    async def create(self, entity_set: str, fields: Mapping[str, Any]) -> dict[str, Any]:
        result = await self.request("POST", entity_set, body=dict(fields))
        assert isinstance(result, dict)
        return result
