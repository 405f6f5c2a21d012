"""HTTP layer of the emulated portal (Starlette ASGI app).

Routes, as on a cloud portal:

* ``/rest/<user_id>/<code>/<method>[.json]`` — incoming webhook;
* ``/rest/<method>[.json]`` with ``auth=<token>`` — OAuth (tokens issued by the
  portal's own token server, or set in :attr:`Portal.access_tokens`);
* ``/oauth/token/`` — the OAuth token server (``refresh_token`` and
  ``authorization_code`` grants);
* ``GET|POST /_sandbox/faults`` — read / change the fault-injection switches (JSON).

The first request fills :attr:`Portal.base_url` from its own URL when the launcher
did not set it.

Parameters are read from the query string *and* the body (JSON, urlencoded or
multipart with PHP-bracket keys); body values win, like PHP's ``$_REQUEST``.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from .errors import method_not_found
from .faults import INTERNAL_BODY, OVERLOAD_BODY, html_page
from .params import get_ci, parse_body, parse_query
from .portal import Portal, RestRoute

JSON_TYPE = "application/json; charset=utf-8"


def json_response(status: int, body: dict[str, Any]) -> Response:
    """Serialize a portal reply."""
    payload = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
    return Response(payload, status_code=status, headers={"content-type": JSON_TYPE})


def parse_route(path: str, params: dict[str, Any]) -> RestRoute | None:
    """Map the path below ``/rest/`` to a :class:`RestRoute` (``None`` → no such route)."""
    parts = [p for p in path.strip("/").split("/") if p]
    if len(parts) == 3:
        user_id = int(parts[0]) if parts[0].isdigit() else -1
        return RestRoute(method=parts[2], user_id=user_id, code=parts[1])
    if len(parts) == 1:
        token = get_ci(params, "auth")
        return RestRoute(method=parts[0], token=str(token) if token is not None else None)
    return None


class ConnectionReset(Exception):
    """Raised after the response head so the server drops the connection mid-reply."""


async def reset_connection(scope: Scope, receive: Receive, send: Send) -> None:
    """ASGI app that starts a reply and dies: the client sees the connection closed."""
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", JSON_TYPE.encode()), (b"content-length", b"1024")],
        }
    )
    raise ConnectionReset("injected connection reset")


def _remember_base_url(portal: Portal, request: Request) -> None:
    if portal.base_url is None:
        portal.base_url = str(request.base_url).rstrip("/")


def create_app(portal: Portal) -> Starlette:
    """ASGI application serving ``portal`` over HTTP."""

    async def rest(request: Request) -> Response:
        _remember_base_url(portal, request)
        fault = portal.faults.pick()
        if fault == "reset":
            return reset_connection  # type: ignore[return-value]
        if fault == "http_503":
            return json_response(503, OVERLOAD_BODY)
        if fault == "http_500":
            return json_response(500, INTERNAL_BODY)
        if fault == "html_error":
            status = portal.faults.html_status
            return HTMLResponse(html_page(status), status_code=status)
        response = await serve_rest(request)
        if fault == "timeout":
            await asyncio.sleep(portal.faults.timeout_seconds)
        return response

    async def serve_rest(request: Request) -> Response:
        params = parse_query(request.url.query)
        body = await request.body()
        params.update(parse_body(body, request.headers.get("content-type", "")))
        route = parse_route(request.path_params.get("path", ""), params)
        if route is None:
            error = method_not_found()
            return json_response(error.status, error.body())
        client_ip = request.client.host if request.client else "unknown"
        status, reply = await run_in_threadpool(portal.serve, route, params, client_ip)
        return json_response(status, reply)

    async def oauth_token(request: Request) -> Response:
        _remember_base_url(portal, request)
        params = parse_query(request.url.query)
        params.update(parse_body(await request.body(), request.headers.get("content-type", "")))
        status, reply = await run_in_threadpool(portal.oauth.token_endpoint, params)
        return json_response(status, reply)

    async def faults(request: Request) -> Response:
        if request.method == "POST":
            try:
                settings = json.loads(await request.body() or b"{}")
                if not isinstance(settings, dict):
                    raise ValueError("expected a JSON object")
                portal.faults.configure(settings)
            except ValueError as exc:
                return json_response(
                    400, {"error": "invalid_faults", "error_description": str(exc)}
                )
        return json_response(200, portal.faults.as_dict())

    app = Starlette(
        routes=[
            Route("/rest/{path:path}", rest, methods=["GET", "POST"]),
            Route("/oauth/token/", oauth_token, methods=["GET", "POST"]),
            Route("/oauth/token", oauth_token, methods=["GET", "POST"]),
            Route("/_sandbox/faults", faults, methods=["GET", "POST"]),
        ]
    )
    app.state.portal = portal
    return app
