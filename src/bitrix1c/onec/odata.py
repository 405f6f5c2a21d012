"""1C standard OData (v3) client: reads, paging, virtual tables, writes, errors (onec.md §1).

Paths and query options are percent-encoded by us, with ``%20`` for spaces (real 1C does
not read ``+`` as a space). Basic auth is sent UTF-8 encoded, so Cyrillic logins work.
Query text is built by :mod:`bitrix1c.onec.query`; ``$metadata`` is parsed by
:mod:`bitrix1c.onec.metadata` once per client.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal

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
from bitrix1c.monitor import metrics
from bitrix1c.onec.metadata import Metadata, parse_metadata
from bitrix1c.onec.query import (
    EMPTY_REF,
    Query,
    cast,
    date_time,
    encode_options,
    encode_path,
    entity_path,
    guid,
    string,
    virtual_table,
)

__all__ = [
    "EMPTY_REF",
    "ODataClient",
    "OneCBusinessError",
    "OneCLocked",
    "OneCNotFound",
    "OneCPropertyNotFound",
    "OneCVersionConflict",
    "RetryPolicy",
    "cast",
    "date_time",
    "guid",
    "number_lines",
    "string",
]

log = structlog.get_logger(__name__)

Paging = Literal["skip", "keyset"]


# --- typed errors (onec.md §1.9) -------------------------------------------------------------


class OneCNotFound(OneCRecordError):
    """The 1C object does not exist (code 9)."""


class OneCPropertyNotFound(OneCRequestError):
    """1C does not know a property named in the request (code 10): the metadata changed."""


class OneCBusinessError(OneCRecordError):
    """The configuration's own code refused the write (HTTP 500, code -1).

    ``reason`` is 1C's message, for the person who fixes the record.
    """

    hint = "Read 1C's message: the configuration refused the record. Correct it in 1C."


class OneCLocked(OneCUnavailable):
    """Another 1C session holds a lock on the object; the write is retried later."""


class OneCVersionConflict(OneCRecordError):
    """The 1C object changed since it was read (its DataVersion differs)."""

    hint = "The record was edited in 1C meanwhile; it is read again on the next run."


# 1C's internal codes that mean "this request does not fit the base" (metadata, syntax).
REQUEST_CODES = {"0", "1", "2", "3", "6", "7", "8", "11", "12", "13", "14", "18", "19", "21"}
# Codes that mean "this record was refused".
RECORD_CODES = {"4", "5", "15", "16", "17"}
# Texts of lock conflicts (the platform's messages, RU and EN).
_LOCK_WORDS = ("блокир", "lock conflict", "заблокирован", "deadlock")


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff for transient failures (unavailable, locked, timeouts)."""

    attempts: int = 5  # total tries, the first included
    base: float = 1.0
    cap: float = 30.0

    def wait(self, attempt: int, error: Exception) -> float | None:
        """Seconds to wait before try ``attempt + 1``, or None to give up."""
        if attempt >= self.attempts or not isinstance(error, OneCUnavailable):
            return None
        return float(min(self.cap, self.base * 2.0 ** (attempt - 1)))


def number_lines(fields: Mapping[str, Any]) -> dict[str, Any]:
    """``fields`` with every tabular section's rows numbered ``LineNumber`` 1..n.

    1C replaces a tabular section as a whole; a missing ``LineNumber`` is a 500 and a gap a
    400, so rows are always renumbered in the order given.
    """
    out: dict[str, Any] = {}
    for name, value in fields.items():
        if isinstance(value, list) and all(isinstance(r, Mapping) for r in value):
            out[name] = [{**row, "LineNumber": str(i)} for i, row in enumerate(value, start=1)]
        else:
            out[name] = value
    return out


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
        retry: RetryPolicy | None = None,
    ) -> None:
        self.root = root_url if root_url.endswith("/") else root_url + "/"
        self.base = base
        self.retry = retry or RetryPolicy(attempts=retries + 1)
        self._metadata: Metadata | None = None
        self._metadata_lock = asyncio.Lock()
        # Basic auth with UTF-8 bytes (httpx encodes str credentials as latin-1).
        self._http = httpx.AsyncClient(
            transport=transport,
            auth=httpx.BasicAuth(username.encode("utf-8"), password.encode("utf-8")),
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
        """Absolute URL of ``resource`` with ``$format=json`` and ``options``.

        ``$metadata`` is XML only: 1C answers 406 to ``$format=json`` there.
        """
        if resource == "$metadata":
            query = dict(options or {})
        else:
            query = {"$format": "json", **(options or {})}
        encoded = encode_options(query)
        return f"{self.root}{encode_path(resource)}" + (f"?{encoded}" if encoded else "")

    async def request(
        self,
        method: str,
        resource: str,
        *,
        options: Mapping[str, str] | None = None,
        body: Any = None,
        headers: Mapping[str, str] | None = None,
        expect_json: bool = True,
    ) -> Any:
        """One request; transient failures and lock conflicts are retried with backoff."""
        url = self.url(resource, options)
        attempt = 0
        while True:
            attempt += 1
            try:
                return await self._send(method, url, body, headers, expect_json)
            except OneCUnavailable as error:
                wait = self.retry.wait(attempt, error)
                if wait is None:
                    raise
                log.warning(
                    "onec.retry", base=self.base, attempt=attempt, wait=wait, error=str(error)
                )
                await asyncio.sleep(wait)

    async def _send(
        self,
        method: str,
        url: str,
        body: Any,
        headers: Mapping[str, str] | None,
        expect_json: bool,
    ) -> Any:
        started = time.monotonic()
        system = f"1c:{self.base}"
        try:
            response = await self._http.request(method, url, json=body, headers=dict(headers or {}))
        except httpx.TimeoutException as exc:
            metrics.observe_request(system, method, "timeout", time.monotonic() - started)
            raise OneCUnavailable("1C did not answer in time", base=self.base, url=url) from exc
        except httpx.TransportError as exc:
            metrics.observe_request(system, method, "error", time.monotonic() - started)
            raise OneCUnavailable(
                f"cannot reach 1C: {type(exc).__name__}: {exc}", base=self.base, url=url
            ) from exc
        status = response.status_code
        metrics.observe_request(system, method, status, time.monotonic() - started)
        if status in (401, 403):
            raise OneCAuthError(
                f"1C refused the credentials (HTTP {status})",
                base=self.base,
                url=url,
                status=status,
            )
        content_type = response.headers.get("content-type", "").lower()
        if not expect_json and status < 300 and "html" not in content_type:
            return response.content
        try:
            payload = response.json()
        except ValueError:
            payload = None
        if status >= 400 or not isinstance(payload, dict | list):
            if not expect_json and status < 300 and not response.content:
                return b""
            raise self._error(status, payload, response.text, url)
        return payload

    def _error(self, status: int, payload: Any, text: str, url: str) -> OneCError:
        ctx: dict[str, Any] = {"base": self.base, "url": url, "status": status}
        if isinstance(payload, dict) and "odata.error" in payload:
            err = payload["odata.error"]
            code = str(err.get("code", ""))
            message = err.get("message", {})
            text_ = message.get("value", "") if isinstance(message, dict) else str(message)
            ctx["code"] = code
            if any(word in text_.lower() for word in _LOCK_WORDS):
                return OneCLocked(f"1C: {text_}", **ctx)
            if code == "9":
                return OneCNotFound(f"1C: {text_}", **ctx)
            if code == "10":
                return OneCPropertyNotFound(f"1C: {text_}", **ctx)
            if code == "-1":
                return OneCBusinessError(f"1C: {text_}", reason=text_, **ctx)
            if code == "20":
                return OneCAuthError(f"1C: {text_}", **ctx)
            if code in REQUEST_CODES:
                return OneCRequestError(f"1C: {text_}", **ctx)
            if code in RECORD_CODES:
                return OneCRecordError(f"1C: {text_}", **ctx)
        if status >= 500 or status < 300:
            # An HTML page (even with 200) is a broken publication or a gateway error.
            snippet = " ".join(text[:200].split())
            return OneCUnavailable(
                f"1C answered HTTP {status} without OData JSON: {snippet}", **ctx
            )
        return OneCRequestError(f"1C answered HTTP {status}", **ctx)

    # --- metadata ---------------------------------------------------------------------------

    async def metadata(self) -> Metadata:
        """``$metadata``, downloaded and parsed once per client (15 MB on a real УТ)."""
        async with self._metadata_lock:
            if self._metadata is None:
                raw = await self.request(
                    "GET", "$metadata", headers={"Accept": "application/xml"}, expect_json=False
                )
                self._metadata = await asyncio.to_thread(parse_metadata, raw)
            return self._metadata

    async def entity_sets(self) -> list[str]:
        """Names of the published entity sets (the service document)."""
        payload = await self.request("GET", "")
        return [item["name"] for item in payload.get("value", [])]

    # --- reading ----------------------------------------------------------------------------

    async def get(
        self,
        entity_set: str,
        ref_key: str,
        select: Sequence[str] = (),
        *,
        expand: Sequence[str] = (),
    ) -> dict[str, Any]:
        """One object by ``Ref_Key``; :class:`OneCNotFound` when there is none."""
        options = Query(select=tuple(select), expand=tuple(expand)).options()
        result = await self.request("GET", entity_path(entity_set, ref_key), options=options)
        assert isinstance(result, dict)
        return result

    async def query(self, resource: str, query: Query | None = None) -> list[dict[str, Any]]:
        """The ``value`` rows of one GET on an entity set or a virtual table."""
        payload = await self.request("GET", resource, options=(query or Query()).options())
        rows = payload.get("value", []) if isinstance(payload, dict) else []
        assert isinstance(rows, list)
        return rows

    async def pages(
        self,
        entity_set: str,
        *,
        select: Sequence[str] = (),
        filter: str | None = None,
        orderby: str = "Ref_Key",
        page_size: int = 500,
        expand: Sequence[str] = (),
        allowed_only: bool = False,
        paging: Paging = "skip",
    ) -> AsyncIterator[list[dict[str, Any]]]:
        """Yield pages of an entity set (1C has no server-driven paging).

        ``paging="skip"`` (default): ``$orderby`` + ``$top`` + ``$skip``, the documented way.
        ``paging="keyset"``: ``$filter=Ref_Key gt guid'<last>'`` with ``$orderby=Ref_Key``,
        cheaper for deep pages where the base supports it (see ``benchmarks/onec_paging.py``);
        it needs ``Ref_Key`` in the rows, so it is added to ``select``.
        """
        base = Query(
            select=tuple(select),
            filter=filter,
            expand=tuple(expand),
            allowed_only=allowed_only,
            top=page_size,
        )
        if paging == "keyset":
            if select and "Ref_Key" not in select:
                base = base.with_(select=(*select, "Ref_Key"))
            base = base.with_(orderby=("Ref_Key",))
            last: str | None = None
            while True:
                query = base if last is None else base.where(f"Ref_Key gt {guid(last)}")
                rows = await self.query(entity_set, query)
                if rows:
                    yield rows
                if len(rows) < page_size:
                    return
                last = rows[-1]["Ref_Key"]
        base = base.with_(orderby=(orderby,))
        skip = 0
        while True:
            rows = await self.query(entity_set, base.with_(skip=skip))
            if rows:
                yield rows
            if len(rows) < page_size:
                return
            skip += page_size

    async def rows(self, entity_set: str, **kwargs: Any) -> AsyncIterator[dict[str, Any]]:
        """Every row of :meth:`pages`, one at a time (memory stays one page)."""
        async for page in self.pages(entity_set, **kwargs):
            for row in page:
                yield row

    async def count(self, entity_set: str, filter: str | None = None) -> int:
        """Number of objects (``$inlinecount=allpages`` — ``odata.count`` is a string)."""
        query = Query(select=("Ref_Key",), top=1, filter=filter, inlinecount=True)
        payload = await self.request("GET", entity_set, options=query.options())
        return int(payload.get("odata.count", 0)) if isinstance(payload, dict) else 0

    async def slice_last(
        self,
        register: str,
        *,
        condition: str | None = None,
        period: datetime | date | None = None,
        select: Sequence[str] = (),
    ) -> list[dict[str, Any]]:
        """``InformationRegister_X_RecordType/SliceLast(…)`` — e.g. current prices."""
        path = virtual_table(register, "SliceLast", period=period, condition=condition)
        return await self.query(path, Query(select=tuple(select)))

    async def balance(
        self,
        register: str,
        *,
        condition: str | None = None,
        dimensions: Sequence[str] = (),
        period: datetime | date | None = None,
        select: Sequence[str] = (),
    ) -> list[dict[str, Any]]:
        """``AccumulationRegister_X/Balance(…)`` → rows with ``<Resource>Balance``."""
        path = virtual_table(
            register, "Balance", period=period, condition=condition, dimensions=dimensions
        )
        return await self.query(path, Query(select=tuple(select)))

    async def turnovers(
        self,
        register: str,
        *,
        start: datetime | date | None = None,
        end: datetime | date | None = None,
        condition: str | None = None,
        dimensions: Sequence[str] = (),
        select: Sequence[str] = (),
    ) -> list[dict[str, Any]]:
        """``AccumulationRegister_X/Turnovers(…)`` → rows with ``<Resource>Turnover``."""
        path = virtual_table(
            register,
            "Turnovers",
            start=start,
            end=end,
            condition=condition,
            dimensions=dimensions,
        )
        return await self.query(path, Query(select=tuple(select)))

    # --- writing ----------------------------------------------------------------------------

    async def create(self, entity_set: str, fields: Mapping[str, Any]) -> dict[str, Any]:
        """``POST``: the created object (with ``Ref_Key``, ``DataVersion``, ``Number``)."""
        result = await self.request("POST", entity_set, body=number_lines(fields))
        assert isinstance(result, dict)
        return result

    async def patch(
        self,
        entity_set: str,
        ref_key: str,
        fields: Mapping[str, Any],
        *,
        expected_version: str | None = None,
    ) -> dict[str, Any]:
        """``PATCH`` (tabular sections replaced whole, rows renumbered 1..n).

        With ``expected_version``, the object is re-read first and
        :class:`OneCVersionConflict` raised when its ``DataVersion`` differs: 1C was
        observed to ignore ``If-Match`` (it is sent anyway, for bases that honour it).
        """
        headers: dict[str, str] = {}
        if expected_version is not None:
            await self._check_version(entity_set, ref_key, expected_version)
            headers["If-Match"] = expected_version
        result = await self.request(
            "PATCH",
            entity_path(entity_set, ref_key),
            body=number_lines(fields),
            headers=headers,
        )
        assert isinstance(result, dict)
        return result

    async def _check_version(self, entity_set: str, ref_key: str, expected: str) -> None:
        current = await self.get(entity_set, ref_key, select=("Ref_Key", "DataVersion"))
        if str(current.get("DataVersion")) != expected:
            raise OneCVersionConflict(
                f"{entity_set} {ref_key} changed in 1C since it was read",
                base=self.base,
                entity_set=entity_set,
                ref_key=ref_key,
                expected=expected,
                actual=current.get("DataVersion"),
            )

    async def mark_deleted(
        self,
        entity_set: str,
        ref_key: str,
        mark: bool = True,
        *,
        expected_version: str | None = None,
    ) -> dict[str, Any]:
        """Set (or clear) ``DeletionMark`` — never ``DELETE``, which erases for good."""
        return await self.patch(
            entity_set, ref_key, {"DeletionMark": mark}, expected_version=expected_version
        )

    async def post(self, entity_set: str, ref_key: str, *, operational: bool = False) -> None:
        """``POST Document_X(guid'…')/Post?PostingModeOperational=false``."""
        await self.request(
            "POST",
            entity_path(entity_set, ref_key, "Post"),
            options={"PostingModeOperational": "true" if operational else "false"},
            expect_json=False,
        )

    async def unpost(self, entity_set: str, ref_key: str) -> None:
        """``POST Document_X(guid'…')/Unpost``."""
        await self.request("POST", entity_path(entity_set, ref_key, "Unpost"), expect_json=False)
