"""OAuth 2.0 of a Bitrix24 application as an ``httpx.Auth`` flow (bitrix24.md §1.2).

Every REST call carries the access token (``auth=`` in the query string). A
``401 expired_token`` answer makes the flow refresh once through the OAuth server the
portal named in ``server_endpoint`` and repeat the call. Refreshes of one portal are
serialized: many concurrent 401s cost one refresh, because the refresh token rotates and a
second refresh with the old one would fail with ``invalid_grant`` (b24jssdk#182). The new
pair is saved to the token store before it is used, so a restart, or another worker of the
same portal, picks it up. ``invalid_grant`` and ``NO_AUTH_FOUND`` mean the application has
to be authorized again: they raise :class:`~bitrix1c.errors.Bitrix24AuthError`.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncGenerator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

import httpx
import sqlalchemy as sa
import structlog

from bitrix1c import __version__
from bitrix1c.errors import Bitrix24AuthError, Bitrix24Unavailable
from bitrix1c.state.tables import bitrix24_auth

log = structlog.get_logger(__name__)

REAUTHORIZE = "re-authorize the application"
REAUTHORIZE_HINT = (
    "Open the application in Bitrix24 (or reinstall it) to re-authorize it; "
    "the service resumes with the new tokens."
)


@dataclass(frozen=True)
class TokenPair:
    """The tokens of one portal, as the OAuth server issued them."""

    member_id: str
    domain: str
    access_token: str
    refresh_token: str
    expires_at: datetime
    client_endpoint: str
    server_endpoint: str
    scope: str = ""
    application_token: str | None = None

    @classmethod
    def from_oauth(
        cls, payload: Mapping[str, Any], *, previous: TokenPair | None = None
    ) -> TokenPair:
        """Build from an install (``auth[...]``) or refresh payload.

        The refresh answer names the auth server in ``domain``; the portal keeps the
        domain it had, and the application token (never part of a refresh) is kept.
        """
        expires = payload.get("expires")
        if expires is None:
            expires = datetime.now(UTC).timestamp() + float(payload.get("expires_in") or 3600)
        client_endpoint = str(
            payload.get("client_endpoint") or (previous.client_endpoint if previous else "")
        )
        domain = previous.domain if previous else str(payload.get("domain") or "")
        return cls(
            member_id=str(payload.get("member_id") or (previous.member_id if previous else "")),
            domain=domain or httpx.URL(client_endpoint).host,
            access_token=str(payload["access_token"]),
            refresh_token=str(payload["refresh_token"]),
            expires_at=datetime.fromtimestamp(float(expires), UTC),
            client_endpoint=client_endpoint,
            server_endpoint=str(
                payload.get("server_endpoint") or (previous.server_endpoint if previous else "")
            ),
            scope=str(payload.get("scope") or (previous.scope if previous else "")),
            application_token=(
                str(payload["application_token"])
                if payload.get("application_token")
                else (previous.application_token if previous else None)
            ),
        )

    @classmethod
    def from_row(cls, row: Mapping[Any, Any]) -> TokenPair:
        expires = row["expires_at"]
        if expires.tzinfo is None:  # SQLite hands back naive datetimes
            expires = expires.replace(tzinfo=UTC)
        return cls(
            member_id=row["member_id"],
            domain=row["domain"],
            access_token=row["access_token"],
            refresh_token=row["refresh_token"],
            expires_at=expires,
            client_endpoint=row["client_endpoint"],
            server_endpoint=row["server_endpoint"],
            scope=row["scope"] or "",
            application_token=row["application_token"],
        )

    def __repr__(self) -> str:  # never print the secrets
        return f"TokenPair(member_id={self.member_id!r}, domain={self.domain!r})"


class TokenStore(Protocol):
    """Where token pairs live between runs."""

    async def load(self, member_id: str) -> TokenPair | None: ...

    async def save(self, tokens: TokenPair) -> None: ...


class MemoryTokenStore:
    """Token pairs kept in memory (tests, one-off scripts)."""

    def __init__(self, *pairs: TokenPair) -> None:
        self.pairs = {pair.member_id: pair for pair in pairs}

    async def load(self, member_id: str) -> TokenPair | None:
        return self.pairs.get(member_id)

    async def save(self, tokens: TokenPair) -> None:
        self.pairs[tokens.member_id] = tokens


class StateTokenStore:
    """Token pairs in the state store's ``bitrix24_auth`` table."""

    def __init__(self, store: Any) -> None:
        # ``store`` is a :class:`bitrix1c.state.store.Store` (engine + transaction()).
        self.store = store

    async def load(self, member_id: str) -> TokenPair | None:
        async with self.store.engine.connect() as conn:
            row = (
                (
                    await conn.execute(
                        sa.select(bitrix24_auth).where(bitrix24_auth.c.member_id == member_id)
                    )
                )
                .mappings()
                .first()
            )
        return None if row is None else TokenPair.from_row(row)

    async def find(
        self, *, member_id: str | None = None, domain: str | None = None
    ) -> TokenPair | None:
        """The pair of a portal named by member id or, failing that, by domain."""
        if member_id:
            found = await self.load(member_id)
            if found is not None or not domain:
                return found
        if not domain:
            return None
        async with self.store.engine.connect() as conn:
            row = (
                (
                    await conn.execute(
                        sa.select(bitrix24_auth).where(bitrix24_auth.c.domain == domain)
                    )
                )
                .mappings()
                .first()
            )
        return None if row is None else TokenPair.from_row(row)

    async def save(self, tokens: TokenPair) -> None:
        values = {
            "domain": tokens.domain,
            "access_token": tokens.access_token,
            "refresh_token": tokens.refresh_token,
            "expires_at": tokens.expires_at,
            "client_endpoint": tokens.client_endpoint,
            "server_endpoint": tokens.server_endpoint,
            "scope": tokens.scope,
            "application_token": tokens.application_token,
            "updated_at": datetime.now(UTC),
        }
        async with self.store.transaction() as conn:
            result = await conn.execute(
                sa.update(bitrix24_auth)
                .where(bitrix24_auth.c.member_id == tokens.member_id)
                .values(**values)
            )
            if result.rowcount == 0:
                await conn.execute(
                    sa.insert(bitrix24_auth).values(member_id=tokens.member_id, **values)
                )

    async def application_token(self, member_id: str, domain: str) -> str | None:
        """The ``application_token`` events of this portal must carry (None: unknown)."""
        pair = await self.find(member_id=member_id, domain=domain)
        return None if pair is None else pair.application_token


def token_url(server_endpoint: str) -> str:
    """The refresh URL of the OAuth server named by ``server_endpoint``.

    Cloud portals name ``https://oauth.bitrix.info/rest/``; the token endpoint is
    ``/oauth/token/`` on that host (bitrix24.md §1.2).
    """
    url = httpx.URL(server_endpoint)
    if "/oauth/token" in url.path:
        return str(url)
    return str(url.copy_with(path="/oauth/token/", query=None))


class OAuthError(Bitrix24AuthError):
    """Bitrix24 no longer accepts the application's tokens: re-authorize the application."""

    hint = REAUTHORIZE_HINT


class OAuth2Auth(httpx.Auth):
    """Access token on every call; one serialized refresh on ``401 expired_token``."""

    def __init__(
        self,
        tokens: TokenPair,
        *,
        client_id: str,
        client_secret: str,
        store: TokenStore | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: float = 30.0,
    ) -> None:
        self.tokens = tokens
        self._client_id = client_id
        self._client_secret = client_secret
        self.store = store or MemoryTokenStore(tokens)
        self._lock = asyncio.Lock()
        self.refreshes = 0
        self._oauth_http = httpx.AsyncClient(
            transport=transport,
            timeout=timeout,
            headers={"Accept": "application/json", "User-Agent": f"bitrix1c/{__version__}"},
        )

    @classmethod
    async def from_store(
        cls,
        store: TokenStore,
        member_id: str,
        *,
        client_id: str,
        client_secret: str,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> OAuth2Auth:
        """Load the saved pair of portal ``member_id``."""
        tokens = await store.load(member_id)
        if tokens is None:
            raise OAuthError(
                f"no saved tokens of portal {member_id}: {REAUTHORIZE}", member_id=member_id
            )
        return cls(
            tokens,
            client_id=client_id,
            client_secret=client_secret,
            store=store,
            transport=transport,
        )

    async def aclose(self) -> None:
        await self._oauth_http.aclose()

    # --- the flow -----------------------------------------------------------------------

    @staticmethod
    def _with_token(request: httpx.Request, token: str) -> httpx.Request:
        url = request.url.copy_set_param("auth", token)
        return httpx.Request(
            request.method,
            url,
            headers={k: v for k, v in request.headers.items() if k.lower() != "content-length"},
            content=request.content,
            extensions=request.extensions,
        )

    def sync_auth_flow(self, request: httpx.Request) -> Any:
        raise RuntimeError("OAuth2Auth works with httpx.AsyncClient only")

    async def async_auth_flow(
        self, request: httpx.Request
    ) -> AsyncGenerator[httpx.Request, httpx.Response]:
        used = self.tokens.access_token
        response = yield self._with_token(request, used)
        code = await _error_code(response)
        if response.status_code == 401 and code == "expired_token":
            await self.refresh(stale=used)
            response = yield self._with_token(request, self.tokens.access_token)
            code = await _error_code(response)
            if response.status_code == 401 and code == "expired_token":
                raise OAuthError(
                    f"the refreshed access token was refused as expired: {REAUTHORIZE}",
                    code=code,
                    status=401,
                    portal=self.tokens.domain,
                )
        if response.status_code == 401 and code in ("NO_AUTH_FOUND", "invalid_token"):
            raise OAuthError(
                f"Bitrix24 does not know the application's access token: {REAUTHORIZE}",
                code=code,
                status=401,
                description=_error_description(response),
                portal=self.tokens.domain,
            )

    async def refresh(self, *, stale: str | None = None) -> TokenPair:
        """Get a new pair (once for all callers that saw ``stale`` expire) and save it."""
        async with self._lock:
            if stale is not None and self.tokens.access_token != stale:
                return self.tokens  # another caller refreshed while we waited
            saved = await self.store.load(self.tokens.member_id)
            if saved is not None and stale is not None and saved.access_token != stale:
                # Another worker of this portal refreshed: its pair is the current one.
                self.tokens = saved
                return saved
            current = saved or self.tokens
            params = {
                "grant_type": "refresh_token",
                "client_id": self._client_id,
                "client_secret": self._client_secret,
                "refresh_token": current.refresh_token,
            }
            url = token_url(current.server_endpoint)
            try:
                response = await self._oauth_http.get(url, params=params)
            except httpx.TransportError as exc:
                raise Bitrix24Unavailable(
                    "cannot reach the Bitrix24 OAuth server",
                    method="oauth/token",
                    description=f"{type(exc).__name__}: {exc}",
                ) from exc
            payload = _json(response)
            if response.status_code >= 400 or "access_token" not in payload:
                code = str(payload.get("error") or "")
                if response.status_code >= 500:
                    raise Bitrix24Unavailable(
                        "the Bitrix24 OAuth server failed",
                        method="oauth/token",
                        status=response.status_code,
                        code=code,
                    )
                raise OAuthError(
                    f"the OAuth server refused to refresh the token "
                    f"({code or response.status_code}): {REAUTHORIZE}",
                    method="oauth/token",
                    code=code,
                    status=response.status_code,
                    description=str(payload.get("error_description") or ""),
                    portal=current.domain,
                )
            fresh = TokenPair.from_oauth(payload, previous=current)
            await self.store.save(fresh)
            self.tokens = fresh
            self.refreshes += 1
            log.info("bitrix24.token_refreshed", portal=fresh.domain, member_id=fresh.member_id)
            return fresh


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        payload = json.loads(response.content or b"null")
    except ValueError:
        return {}
    return payload if isinstance(payload, dict) else {}


async def _error_code(response: httpx.Response) -> str:
    # Only 401s are read here; the client reads every other body itself.
    if response.status_code != 401:
        return ""
    await response.aread()
    return str(_json(response).get("error") or "")


def _error_description(response: httpx.Response) -> str:
    return str(_json(response).get("error_description") or "")
