"""Bitrix24 REST client: one transport, the portal's limits, batches, fast lists.

Every call goes through :meth:`Bitrix24Client.call` (one HTTP request, rate-limited,
retried on transient failures). ``batch`` packs up to 50 commands into one request;
``list_fast`` reads big lists with the chained ``>ID`` / ``start=-1`` method
(bitrix24.md §5): 50 list calls per batch, up to 2,500 records per request.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx
import structlog

from bitrix1c import __version__
from bitrix1c.bitrix24.auth import OAuth2Auth
from bitrix1c.bitrix24.encoding import command
from bitrix1c.bitrix24.limiter import LeakyBucket, OperatingBudget
from bitrix1c.errors import (
    Bitrix24AccessDenied,
    Bitrix24AuthError,
    Bitrix24Error,
    Bitrix24RateLimited,
    Bitrix24RecordError,
    Bitrix24RequestError,
    Bitrix24Unavailable,
    RetryLater,
)
from bitrix1c.monitor import metrics

log = structlog.get_logger(__name__)

BATCH_LIMIT = 50
PAGE_SIZE = 50

Commands = dict[str, tuple[str, Mapping[str, Any] | None]]
"""``batch`` commands: key → (method, parameters)."""


def in_batches(commands: Mapping[str, tuple[str, Mapping[str, Any] | None]]) -> Iterable[Commands]:
    """``commands`` split into ``batch``-sized groups, in order."""
    keys = list(commands)
    for start in range(0, len(keys), BATCH_LIMIT):
        yield {k: commands[k] for k in keys[start : start + BATCH_LIMIT]}


# One table: error code → what the caller does (bitrix24.md §1.2, §2). Looked up by code
# first, then by HTTP status; the exception class carries the action (RetryLater,
# StopAndAlert, RecordError).
ERROR_CODES: dict[str, type[Bitrix24Error]] = {
    "QUERY_LIMIT_EXCEEDED": Bitrix24RateLimited,
    "OPERATION_TIME_LIMIT": Bitrix24RateLimited,
    "OVERLOAD_LIMIT": Bitrix24Unavailable,
    "INTERNAL_SERVER_ERROR": Bitrix24Unavailable,
    "ERROR_UNEXPECTED_ANSWER": Bitrix24Unavailable,
    "expired_token": Bitrix24AuthError,
    "NO_AUTH_FOUND": Bitrix24AuthError,
    "invalid_token": Bitrix24AuthError,
    "authorization_error": Bitrix24AuthError,
    "APPLICATION_NOT_FOUND": Bitrix24AuthError,
    "ERROR_OAUTH": Bitrix24AuthError,
    "PAYMENT_REQUIRED": Bitrix24AuthError,
    "PORTAL_DELETED": Bitrix24AuthError,
    "invalid_grant": Bitrix24AuthError,  # OAuth server: the refresh token is gone
    "invalid_client": Bitrix24AuthError,
    "insufficient_scope": Bitrix24AccessDenied,
    "INVALID_CREDENTIALS": Bitrix24AccessDenied,
    "user_access_error": Bitrix24AccessDenied,
    "ACCESS_DENIED": Bitrix24AccessDenied,
    "ERROR_METHOD_NOT_FOUND": Bitrix24RequestError,
    "ERROR_BATCH_LENGTH_EXCEEDED": Bitrix24RequestError,
    "ERROR_BATCH_METHOD_NOT_ALLOWED": Bitrix24RequestError,
    "INVALID_REQUEST": Bitrix24RequestError,
    "ERROR_EVENT_NOT_FOUND": Bitrix24RequestError,
    "WRONG_AUTH_TYPE": Bitrix24AccessDenied,  # event.* called with a webhook
}


def classify(status: int, code: str, description: str) -> type[Bitrix24Error]:
    """The exception class for an error answer (see ``ERROR_CODES``)."""
    if code in ERROR_CODES:
        return ERROR_CODES[code]
    if status in (401,):
        return Bitrix24AuthError
    if status == 403:
        return Bitrix24AccessDenied
    if status in (429, 503):
        return Bitrix24RateLimited
    if status >= 500:
        return Bitrix24Unavailable
    # 400 with an empty or method-specific code: the record was refused ("Not found",
    # a validation message, a numeric catalog code).
    return Bitrix24RecordError


@dataclass(frozen=True)
class RetryStrategy:
    """Exponential backoff with jitter for transient failures (pure: no sleeping here)."""

    max_attempts: int = 8
    base_seconds: float = 0.5
    cap_seconds: float = 30.0

    def delay(self, attempt: int, error: Exception) -> float | None:
        """Seconds to wait before attempt ``attempt + 1``, or None to give up."""
        if not isinstance(error, RetryLater) or attempt >= self.max_attempts:
            return None
        backoff = min(self.cap_seconds, self.base_seconds * 2.0 ** (attempt - 1))
        return float(backoff * (0.5 + random.random() / 2))


@dataclass
class ClientStats:
    """What the client has seen, for benchmarks, metrics and the dashboard."""

    requests: int = 0
    retries: int = 0
    rate_limited_503: int = 0
    operation_limited_429: int = 0
    token_refreshes: int = 0
    by_method: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Reply:
    """A successful answer: ``result`` plus the list and timing extras."""

    result: Any
    total: int | None = None
    next: int | None = None
    time: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class BatchReply:
    """Per-command results and errors of one ``batch`` call."""

    results: dict[str, Any]
    errors: dict[str, Bitrix24Error]
    totals: dict[str, int]
    nexts: dict[str, int]


def _nested_methods(params: Mapping[str, Any]) -> list[str]:
    cmd = params.get("cmd")
    commands = cmd.values() if isinstance(cmd, Mapping) else cmd if isinstance(cmd, list) else []
    return sorted({str(c).partition("?")[0] for c in commands})


def _section(payload: Any) -> dict[str, Any]:
    # Empty sections come back as [] and array-form cmd gives lists (bitrix24.md §4).
    if isinstance(payload, dict):
        return payload
    if isinstance(payload, list):
        return {str(i): v for i, v in enumerate(payload)}
    return {}


class Bitrix24Client:
    """Async client of one portal.

    Authenticated either by an incoming-webhook URL (``webhook_url`` holds the secret) or
    by an OAuth application: ``webhook_url`` is then the portal's ``client_endpoint``
    (``https://PORTAL/rest/``) and ``auth`` the :class:`~bitrix1c.bitrix24.auth.OAuth2Auth`
    flow; see :meth:`for_app`.
    """

    def __init__(
        self,
        webhook_url: str,
        *,
        rate: float = 2.0,
        burst: int = 50,
        timeout: float = 65.0,
        transport: httpx.AsyncBaseTransport | None = None,
        retry: RetryStrategy | None = None,
        auth: httpx.Auth | None = None,
        operating_limit: float = 480.0,
        auth_connector: str | None = None,
    ) -> None:
        self._base = webhook_url if webhook_url.endswith("/") else webhook_url + "/"
        self.bucket = LeakyBucket(rate, burst)
        self.operating = OperatingBudget(operating_limit)
        self.retry = retry or RetryStrategy()
        self.stats = ClientStats()
        self.auth = auth
        # Sent with every call: offline events bound with the same key skip our own writes.
        self.auth_connector = auth_connector
        self._http = httpx.AsyncClient(
            auth=auth,
            transport=transport,
            timeout=httpx.Timeout(timeout, connect=10.0),
            follow_redirects=False,
            headers={
                "Accept": "application/json",
                "User-Agent": f"bitrix1c/{__version__}",
            },
        )

    @property
    def portal(self) -> str:
        """The portal's host (no secret)."""
        return httpx.URL(self._base).host

    @classmethod
    def for_app(cls, auth: OAuth2Auth, **options: Any) -> Bitrix24Client:
        """A client of the portal ``auth`` holds tokens for (OAuth application)."""
        return cls(auth.tokens.client_endpoint, auth=auth, **options)

    async def aclose(self) -> None:
        await self._http.aclose()
        if isinstance(self.auth, OAuth2Auth):
            await self.auth.aclose()

    async def __aenter__(self) -> Bitrix24Client:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # --- one request ----------------------------------------------------------------------

    async def call(self, method: str, params: Mapping[str, Any] | None = None) -> Reply:
        """Call ``method`` with ``params`` (JSON body); retry transient failures."""
        params = dict(params or {})
        if self.auth_connector and method != "batch":
            params.setdefault("auth_connector", self.auth_connector)
        gated = [method, *_nested_methods(params)] if method == "batch" else [method]
        attempt = 0
        while True:
            attempt += 1
            try:
                await self.operating.wait(gated)
                return await self._send(method, params)
            except Bitrix24Error as error:
                if error.status == 429:
                    self.operating.blocked(method)
                wait = self.retry.delay(attempt, error)
                if wait is None:
                    raise
                self.stats.retries += 1
                log.warning(
                    "bitrix24.retry",
                    method=method,
                    attempt=attempt,
                    code=error.code,
                    status=error.status,
                    wait=round(wait, 2),
                )
                await asyncio.sleep(wait)

    async def _send(self, method: str, params: Mapping[str, Any]) -> Reply:
        await self.bucket.acquire()
        refreshes = getattr(self.auth, "refreshes", 0)
        self.stats.requests += 1
        self.stats.by_method[method] = self.stats.by_method.get(method, 0) + 1
        url = f"{self._base}{method}.json"
        body = json.dumps(params, ensure_ascii=False).encode("utf-8")
        headers = {"Content-Type": "application/json"}
        started = time.monotonic()
        try:
            response = await self._http.post(url, content=body, headers=headers)
            if response.status_code in (301, 302, 307, 308) and "location" in response.headers:
                # Portal renamed: re-POST the same body to the new address (bitrix24.md §1.2).
                target = response.headers["location"]
                log.warning("bitrix24.redirected", method=method, to=httpx.URL(target).host)
                response = await self._http.post(target, content=body, headers=headers)
        except httpx.TimeoutException as exc:
            metrics.observe_request("bitrix24", method, "timeout", time.monotonic() - started)
            raise Bitrix24Unavailable(
                "Bitrix24 did not answer in time", method=method, description=str(exc)
            ) from exc
        except httpx.TransportError as exc:
            metrics.observe_request("bitrix24", method, "error", time.monotonic() - started)
            raise Bitrix24Unavailable(
                "cannot reach Bitrix24", method=method, description=f"{type(exc).__name__}: {exc}"
            ) from exc
        metrics.observe_request(
            "bitrix24", method, response.status_code, time.monotonic() - started
        )
        self.stats.token_refreshes += getattr(self.auth, "refreshes", 0) - refreshes
        return self._parse(method, response)

    def _parse(self, method: str, response: httpx.Response) -> Reply:
        status = response.status_code
        try:
            payload = response.json()
        except ValueError:
            payload = None
        if not isinstance(payload, dict):
            # Gateways answer with HTML pages (fast_bitrix24#216): transient.
            snippet = response.text[:200].replace("\n", " ")
            error_class: type[Bitrix24Error] = (
                Bitrix24AuthError if status == 401 else Bitrix24Unavailable
            )
            raise error_class(
                f"Bitrix24 answered HTTP {status} without JSON",
                method=method,
                status=status,
                description=snippet,
            )
        if status >= 400 or "error" in payload:
            code = str(payload.get("error", "") or "")
            description = str(payload.get("error_description", "") or "")
            if status == 503 and code == "QUERY_LIMIT_EXCEEDED":
                self.stats.rate_limited_503 += 1
                self.bucket.penalize()
            if status == 429:
                self.stats.operation_limited_429 += 1
            raise classify(status, code, description)(
                f"Bitrix24 refused {method}: {description or code or f'HTTP {status}'}",
                method=method,
                code=code,
                description=description,
                status=status,
            )
        self.operating.observe(method, payload.get("time"))
        return Reply(
            result=payload.get("result"),
            total=payload.get("total"),
            next=payload.get("next"),
            time=payload.get("time"),
        )

    # --- batch ----------------------------------------------------------------------------

    async def batch(
        self,
        commands: Mapping[str, tuple[str, Mapping[str, Any] | None]],
        *,
        halt: bool = False,
    ) -> BatchReply:
        """Run up to 50 commands in one request; per-command errors are returned, not raised."""
        if len(commands) > BATCH_LIMIT:
            raise ValueError(f"a batch holds at most {BATCH_LIMIT} commands, got {len(commands)}")
        connector = {"auth_connector": self.auth_connector} if self.auth_connector else {}
        cmd = {
            key: command(method, {**(params or {}), **connector} if connector else params)
            for key, (method, params) in commands.items()
        }
        reply = await self.call("batch", {"halt": 1 if halt else 0, "cmd": cmd})
        body = reply.result if isinstance(reply.result, dict) else {}
        for key, timing in _section(body.get("result_time")).items():
            if key in commands:
                self.operating.observe(commands[key][0], timing)
        errors: dict[str, Bitrix24Error] = {}
        for key, err in _section(body.get("result_error")).items():
            err = err if isinstance(err, dict) else {"error": "", "error_description": str(err)}
            code = str(err.get("error", "") or "")
            description = str(err.get("error_description", "") or "")
            method = commands[key][0] if key in commands else None
            errors[key] = classify(400, code, description)(
                f"Bitrix24 refused {method}: {description or code}",
                method=method,
                code=code,
                description=description,
                status=400,
                command=key,
            )
        return BatchReply(
            results=_section(body.get("result")),
            errors=errors,
            totals={k: int(v) for k, v in _section(body.get("result_total")).items()},
            nexts={k: int(v) for k, v in _section(body.get("result_next")).items()},
        )

    # --- lists ----------------------------------------------------------------------------

    async def list_fast(
        self,
        method: str,
        *,
        filter: Mapping[str, Any] | None = None,
        select: Sequence[str] = ("ID",),
        id_field: str = "ID",
        wrapper: str | None = None,
        chain: int = BATCH_LIMIT,
        params: Mapping[str, Any] | None = None,
        after: int = 0,
    ) -> AsyncIterator[list[dict[str, Any]]]:
        """Yield pages (≤2,500 records each) of a big list, ordered by id, no counting.

        ``after``: start after this id (a cursor over records added since the last read).

        ``wrapper`` names the key the rows sit under for methods that wrap them
        (``items`` for crm.item.list, ``products`` for catalog.product.list); ``params``
        are further parameters of every list call (``entityTypeId`` for crm.item.list).
        """
        extra = dict(params or {})
        base_filter = dict(filter or {})
        selected = list(select)
        if id_field not in selected and "*" not in selected:
            selected.insert(0, id_field)
        last_id = after
        path = f"[{wrapper}]" if wrapper else ""
        while True:
            commands: dict[str, tuple[str, Mapping[str, Any] | None]] = {}
            for index in range(chain):
                ref = (
                    last_id
                    if index == 0
                    else f"$result[p{index - 1}]{path}[{PAGE_SIZE - 1}][{id_field}]"
                )
                call_params = {
                    **extra,
                    "order": {id_field: "ASC"},
                    "filter": {**base_filter, f">{id_field}": ref},
                    "select": selected,
                    "start": -1,
                }
                commands[f"p{index}"] = (method, call_params)
            reply = await self.batch(commands)
            rows: list[dict[str, Any]] = []
            finished = False
            for index in range(chain):
                key = f"p{index}"
                if key in reply.errors:
                    raise reply.errors[key]
                page = reply.results.get(key)
                if wrapper and isinstance(page, dict):
                    page = page.get(wrapper)
                page = page or []
                rows.extend(page)
                if len(page) < PAGE_SIZE:
                    finished = True
                    break
            if rows:
                yield rows
                last_id = int(rows[-1][id_field])
            if finished:
                return

    def list_modified_since(
        self,
        method: str,
        since: datetime,
        *,
        filter: Mapping[str, Any] | None = None,
        select: Sequence[str] = ("ID",),
        date_field: str = "DATE_MODIFY",
        id_field: str = "ID",
        wrapper: str | None = None,
        params: Mapping[str, Any] | None = None,
    ) -> AsyncIterator[list[dict[str, Any]]]:
        """Incremental read: pages of records changed at or after ``since`` (aware datetime).

        Classic methods filter on ``DATE_MODIFY``; ``crm.item.list`` on ``updatedTime``
        (pass ``date_field="updatedTime", id_field="id", wrapper="items"``). The date goes
        as ISO 8601 with its offset, which both kinds accept (bitrix24.md §5).
        """
        if since.tzinfo is None:
            raise ValueError("since must be timezone-aware")
        return self.list_fast(
            method,
            filter={**(filter or {}), f">={date_field}": since.isoformat(timespec="seconds")},
            select=select,
            id_field=id_field,
            wrapper=wrapper,
            params=params,
        )

    async def read_batched(
        self, commands: Mapping[str, tuple[str, Mapping[str, Any] | None]]
    ) -> dict[str, Any]:
        """Results of any number of read commands, 50 per ``batch``, by key.

        A read is all or nothing: the first command error is raised. A list answer with
        more pages (``next``) is read to its end, so its result holds every row.
        """
        out: dict[str, Any] = {}
        for part in in_batches(commands):
            reply = await self.batch(part)
            if reply.errors:
                raise next(iter(reply.errors.values()))
            for key, result in reply.results.items():
                if key in reply.nexts:
                    method, params = part[key]
                    rest = {**(params or {}), "start": reply.nexts[key]}
                    result = [*(result or []), *await self.list_all(method, rest)]
                out[key] = result
        return out

    async def list_all(
        self,
        method: str,
        params: Mapping[str, Any],
    ) -> list[dict[str, Any]]:
        """Every row of a short list (follows ``next``); for lookups, not for big tables."""
        rows: list[dict[str, Any]] = []
        start = 0
        while True:
            reply = await self.call(method, {**params, "start": start})
            rows.extend(reply.result or [])
            if reply.next is None:
                return rows
            start = int(reply.next)
