"""HTTP layer of the emulated portal (Starlette ASGI app).

Routes, as on a cloud portal:

* ``/rest/<user_id>/<code>/<method>[.json]`` — incoming webhook;
* ``/rest/<method>[.json]`` with ``auth=<token>`` — OAuth (tokens come from
  :attr:`Portal.access_tokens`).

Parameters are read from the query string *and* the body (JSON, urlencoded or
multipart with PHP-bracket keys); body values win, like PHP's ``$_REQUEST``.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .errors import method_not_found
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


def create_app(portal: Portal) -> Starlette:
    """ASGI application serving ``portal`` over HTTP."""

    async def rest(request: Request) -> Response:
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

    app = Starlette(routes=[Route("/rest/{path:path}", rest, methods=["GET", "POST"])])
    app.state.portal = portal
    return app
