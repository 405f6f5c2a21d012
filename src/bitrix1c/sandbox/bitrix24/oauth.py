"""OAuth 2.0 of the emulated portal: local applications, tokens and the token server.

Facts (bitrix24.md §1.2, §1.3): an access token lives one hour, a refresh token
180 days; ``/oauth/token/?grant_type=refresh_token&client_id&client_secret&refresh_token``
answers a new access token *and* a new refresh token, the old refresh token stops
working (rotation).  A REST call with an expired access token gets
``401 expired_token``; an unknown one ``401 NO_AUTH_FOUND``.  The token server
answers errors as RFC 6749 §5.2 does: ``400 invalid_grant`` (bad, used or revoked
refresh token / code), ``401 invalid_client`` (unknown id or wrong secret),
``400 invalid_request`` / ``unsupported_grant_type``.

Here the portal is its own OAuth server, so ``server_endpoint`` is
``<base_url>/oauth/`` (on a real cloud portal it is ``https://oauth.bitrix.info/rest/``;
both lead a client to ``…/oauth/token/``).  Apps and tokens are kept in SQLite.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlparse

from .errors import RestError
from .store import Store

ACCESS_LIFETIME = 3600
REFRESH_LIFETIME = 180 * 24 * 3600
CODE_LIFETIME = 30
SCOPE = "crm,catalog,user"
FALLBACK_DOMAIN = "sandbox.bitrix24.ru"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS oauth_app (
    client_id TEXT PRIMARY KEY, client_secret TEXT NOT NULL,
    application_token TEXT NOT NULL, access_lifetime INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS oauth_token (
    token TEXT PRIMARY KEY, kind TEXT NOT NULL, client_id TEXT NOT NULL,
    user_id INTEGER NOT NULL, expires REAL NOT NULL, valid INTEGER NOT NULL DEFAULT 1
);
"""


class OAuthError(Exception):
    """An error of the token server: HTTP ``status`` and the RFC 6749 ``error`` code."""

    def __init__(self, status: int, code: str, description: str) -> None:
        super().__init__(f"{status} {code}: {description}")
        self.status = status
        self.code = code
        self.description = description

    def body(self) -> dict[str, Any]:
        """JSON body of the token server's error reply."""
        return {"error": self.code, "error_description": self.description}


def expired_token() -> RestError:
    """REST call with an access token past its lifetime."""
    return RestError(401, "expired_token", "The access token provided has expired.")


def _new_token() -> str:
    # Real tokens are 70-odd lower-case hex/alnum characters.
    return secrets.token_hex(36)


class OAuthServer:
    """Installed applications and the tokens issued to them."""

    def __init__(self, store: Store, base_url: Callable[[], str | None], user_id: int) -> None:
        self.store = store
        self._base_url = base_url
        self.user_id = user_id
        store.conn.executescript(_SCHEMA)
        member = store.get_meta("member_id")
        if member is None:
            member = secrets.token_hex(16)
            store.set_meta("member_id", member)
        self.member_id = member

    # -- addresses ---------------------------------------------------------------------
    def _base(self) -> str:
        base = self._base_url()
        return base.rstrip("/") if base else f"https://{FALLBACK_DOMAIN}"

    @property
    def domain(self) -> str:
        """The portal's host (``host:port`` for a local sandbox)."""
        return urlparse(self._base()).netloc or FALLBACK_DOMAIN

    @property
    def server_endpoint(self) -> str:
        """Where the token server lives."""
        return f"{self._base()}/oauth/"

    @property
    def client_endpoint(self) -> str:
        """Where REST calls go."""
        return f"{self._base()}/rest/"

    # -- applications ------------------------------------------------------------------
    def install(
        self,
        client_id: str,
        client_secret: str,
        *,
        access_lifetime: int = ACCESS_LIFETIME,
        application_token: str | None = None,
    ) -> dict[str, Any]:
        """Register (or re-install) a local app and return its install auth payload."""
        token = application_token or secrets.token_hex(16)
        self.store.execute(
            "INSERT INTO oauth_app (client_id, client_secret, application_token, access_lifetime) "
            "VALUES (?, ?, ?, ?) ON CONFLICT(client_id) DO UPDATE SET "
            "client_secret = excluded.client_secret, "
            "application_token = excluded.application_token, "
            "access_lifetime = excluded.access_lifetime",
            (client_id, client_secret, token, access_lifetime),
        )
        payload = self._issue_pair(client_id, self.user_id)
        payload["domain"] = self.domain
        payload["application_token"] = token
        return payload

    def app(self, client_id: str) -> tuple[str, str, int] | None:
        """``(client_secret, application_token, access_lifetime)`` of an installed app."""
        rows = self.store.query(
            "SELECT client_secret, application_token, access_lifetime FROM oauth_app "
            "WHERE client_id = ?",
            (client_id,),
        )
        if not rows:
            return None
        return str(rows[0][0]), str(rows[0][1]), int(rows[0][2])

    def application_token(self, client_id: str) -> str | None:
        """The token that signs event payloads sent on behalf of ``client_id``."""
        app = self.app(client_id)
        return app[1] if app else None

    # -- tokens ------------------------------------------------------------------------
    def _issue(self, kind: str, client_id: str, user_id: int, lifetime: float) -> str:
        token = _new_token()
        self.store.execute(
            "INSERT INTO oauth_token (token, kind, client_id, user_id, expires) "
            "VALUES (?, ?, ?, ?, ?)",
            (token, kind, client_id, user_id, time.time() + lifetime),
        )
        return token

    def issue_access_token(self, client_id: str, user_id: int) -> tuple[str, int]:
        """A fresh access token (for event payloads) → ``(token, expires_in)``."""
        app = self.app(client_id)
        lifetime = app[2] if app else ACCESS_LIFETIME
        return self._issue("access", client_id, user_id, lifetime), lifetime

    def _issue_pair(self, client_id: str, user_id: int) -> dict[str, Any]:
        access, lifetime = self.issue_access_token(client_id, user_id)
        refresh = self._issue("refresh", client_id, user_id, REFRESH_LIFETIME)
        return {
            "access_token": access,
            "expires": int(time.time()) + lifetime,
            "expires_in": lifetime,
            "scope": SCOPE,
            "domain": self.domain,
            "server_endpoint": self.server_endpoint,
            "status": "L",
            "client_endpoint": self.client_endpoint,
            "member_id": self.member_id,
            "user_id": user_id,
            "refresh_token": refresh,
        }

    def resolve(self, token: str) -> tuple[int, str] | None:
        """Access token → ``(user_id, client_id)`` (``None`` if unknown); may raise expired."""
        rows = self.store.query(
            "SELECT user_id, client_id, expires, valid FROM oauth_token "
            "WHERE token = ? AND kind = 'access'",
            (token,),
        )
        if not rows:
            return None
        user_id, client_id, expires, valid = rows[0]
        if not int(valid):
            return None
        if float(expires) <= time.time():
            raise expired_token()
        return int(user_id), str(client_id)

    def expire_access_tokens(self) -> None:
        """Test hook: every issued access token is past its lifetime now."""
        self.store.execute("UPDATE oauth_token SET expires = 0 WHERE kind = 'access'")

    def revoke_refresh_tokens(self) -> None:
        """Test hook: no refresh token (or code) works any more (``invalid_grant``)."""
        self.store.execute("UPDATE oauth_token SET valid = 0 WHERE kind IN ('refresh', 'code')")

    def issue_authorization_code(self, client_id: str, user_id: int | None = None) -> str:
        """The ``code`` a user's authorization redirect would carry (lives 30 s)."""
        if self.app(client_id) is None:
            raise ValueError(f"application {client_id!r} is not installed")
        return self._issue("code", client_id, user_id or self.user_id, CODE_LIFETIME)

    # -- token endpoint ----------------------------------------------------------------
    def token_endpoint(self, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """Answer ``/oauth/token/`` → ``(status, json_body)``."""
        try:
            return 200, self._grant(params)
        except OAuthError as error:
            return error.status, error.body()

    def _grant(self, params: dict[str, Any]) -> dict[str, Any]:
        grant_type = str(params.get("grant_type") or "")
        if grant_type not in ("refresh_token", "authorization_code"):
            if not grant_type:
                raise OAuthError(400, "invalid_request", "grant_type is required")
            raise OAuthError(400, "unsupported_grant_type", "Unsupported grant type")
        client_id = str(params.get("client_id") or "")
        app = self.app(client_id) if client_id else None
        if app is None or not secrets.compare_digest(
            app[0].encode(), str(params.get("client_secret") or "").encode()
        ):
            raise OAuthError(401, "invalid_client", "Invalid client credentials")
        kind, name = (
            ("refresh", "refresh_token") if grant_type == "refresh_token" else ("code", "code")
        )
        presented = str(params.get(name) or "")
        with self.store.transaction():
            rows = self.store.query(
                "SELECT user_id, client_id, expires, valid FROM oauth_token "
                "WHERE token = ? AND kind = ?",
                (presented, kind),
            )
            if (
                not rows
                or str(rows[0][1]) != client_id
                or not int(rows[0][3])
                or float(rows[0][2]) <= time.time()
            ):
                raise OAuthError(400, "invalid_grant", f"Invalid {name}")
            # Rotation: a refresh token (or code) works exactly once.
            self.store.execute("UPDATE oauth_token SET valid = 0 WHERE token = ?", (presented,))
            return self._issue_pair(client_id, int(rows[0][0]))
