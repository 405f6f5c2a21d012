"""Login for the dashboard and the API: a scrypt password hash, a signed session cookie,
or HTTP Basic for scripts and Prometheus. Hooks and /healthz stay open (they carry their
own tokens); everything else needs a login.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from starlette.datastructures import URL
from starlette.requests import HTTPConnection, Request
from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

OPEN_PATHS = ("/healthz", "/hooks/", "/login", "/static/", "/exchange/", "/bitrix/admin/")
SCRYPT = {"n": 2**14, "r": 8, "p": 1}


def hash_password(password: str, *, salt: bytes | None = None) -> str:
    """``scrypt$n$r$p$salt$hash`` (base64) for ``web.password_hash``."""
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, dklen=32, **SCRYPT)
    parts = [str(SCRYPT["n"]), str(SCRYPT["r"]), str(SCRYPT["p"])]
    parts += [base64.b64encode(salt).decode(), base64.b64encode(digest).decode()]
    return "$".join(["scrypt", *parts])


def verify_password(password: str, stored: str) -> bool:
    """Constant-time check of ``password`` against a :func:`hash_password` string."""
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = base64.b64decode(digest)
        actual = hashlib.scrypt(
            password.encode("utf-8"),
            salt=base64.b64decode(salt),
            n=int(n),
            r=int(r),
            p=int(p),
            dklen=len(expected),
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, expected)


def csrf_token(request: Request) -> str:
    """The session's token for the dashboard's forms (created on first use)."""
    token = request.session.get("csrf")
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        request.session["csrf"] = token
    return token


def csrf_valid(request: Request, submitted: str) -> bool:
    """Whether a submitted form carries this session's token (constant-time check).

    A browser sends the session cookie, and cached HTTP Basic credentials, with a form
    another site submits; only a page we rendered knows the token.
    """
    token = request.session.get("csrf")
    return isinstance(token, str) and hmac.compare_digest(token.encode(), submitted.encode())


class Credentials:
    """The one dashboard account."""

    def __init__(self, username: str, password_hash: str | None):
        self.username = username
        self.password_hash = password_hash

    def check(self, username: str, password: str) -> bool:
        if self.password_hash is None:
            return False
        same_user = hmac.compare_digest(username.encode(), self.username.encode())
        return verify_password(password, self.password_hash) and same_user


def _basic(conn: HTTPConnection) -> tuple[str, str] | None:
    header = conn.headers.get("authorization", "")
    if not header.lower().startswith("basic "):
        return None
    try:
        user, _, password = base64.b64decode(header[6:]).decode("utf-8").partition(":")
    except ValueError:
        return None
    return user, password


class LoginRequired:
    """ASGI middleware: a session login or HTTP Basic, except on the open paths.

    Must sit inside Starlette's SessionMiddleware (it reads ``scope["session"]``).
    """

    def __init__(self, app: ASGIApp, credentials: Credentials) -> None:
        self.app = app
        self.credentials = credentials

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(OPEN_PATHS):
            await self.app(scope, receive, send)
            return
        conn = HTTPConnection(scope)
        if conn.session.get("user") == self.credentials.username:
            await self.app(scope, receive, send)
            return
        basic = _basic(conn)
        if basic is not None and self.credentials.check(*basic):
            await self.app(scope, receive, send)
            return
        await self._refuse(conn)(scope, receive, send)

    def _refuse(self, conn: HTTPConnection) -> Response:
        if self.credentials.password_hash is None:
            return PlainTextResponse(
                "The dashboard is locked: set web.password_hash in the configuration "
                "(`bitrix1c web hash-password` prints one).",
                status_code=503,
            )
        path = conn.url.path
        if path.startswith(("/api/", "/metrics")):
            return JSONResponse(
                {"error": "login required"},
                status_code=401,
                headers={"WWW-Authenticate": 'Basic realm="bitrix1c"'},
            )
        target = URL("/login").include_query_params(next=path)
        return RedirectResponse(str(target), status_code=303)
