"""``POST /hooks/1c/<base>``: change notifications pushed by 1C (see ``docs/1c-push.md``).

Answers, all JSON:

* 200 ``{"status": "ok", "accepted": n, "duplicates": m}`` — stored in the inbox (a repeat of
  a change already stored counts as a duplicate and is still a success, so 1C stops retrying);
* 400 ``{"error": …, "field": …}`` — the body is not JSON or a field is wrong; nothing stored;
* 401 — no token or a wrong one (``Authorization: Bearer …`` or ``X-Bitrix1c-Token``);
* 404 — no 1C base of that name accepts pushes; 413 — the body is larger than allowed.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Mapping

import structlog
from pydantic import SecretStr, ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bitrix1c.onec.push import Notification, describe, save_changes
from bitrix1c.state.store import Store

log = structlog.get_logger(__name__)

MAX_BODY = 2 * 1024 * 1024
TOKEN_HEADER = "X-Bitrix1c-Token"


def _token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return request.headers.get(TOKEN_HEADER) or None


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


def routes(
    store: Store,
    bases: Mapping[str, SecretStr | str],
    *,
    path: str = "/hooks/1c/{base}",
    max_body: int = MAX_BODY,
) -> list[Route]:
    """The push route; ``bases`` maps each base that accepts pushes to its token."""
    tokens = {
        name: token.get_secret_value() if isinstance(token, SecretStr) else token
        for name, token in bases.items()
        if token
    }

    async def push(request: Request) -> Response:
        base = request.path_params["base"]
        expected = tokens.get(base)
        if expected is None:
            return JSONResponse({"error": f"no 1C base {base!r} accepts pushes"}, status_code=404)
        given = _token(request)
        if given is None or not _same(given, expected):
            log.warning("onec.push.unauthorized", base=base, client=_client(request))
            return JSONResponse(
                {"error": "missing or wrong token"},
                status_code=401,
                headers={"WWW-Authenticate": 'Bearer realm="bitrix1c"'},
            )
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > max_body:
            return JSONResponse({"error": f"body larger than {max_body} bytes"}, status_code=413)
        body = b""
        async for chunk in request.stream():
            body += chunk
            if len(body) > max_body:
                return JSONResponse(
                    {"error": f"body larger than {max_body} bytes"}, status_code=413
                )
        try:
            data = json.loads(body)  # bytes: UTF-8 with or without the BOM 1C may write
        except (ValueError, UnicodeDecodeError) as exc:
            return JSONResponse({"error": f"body is not JSON: {exc}"}, status_code=400)
        try:
            notification = Notification.model_validate(data)
        except ValidationError as exc:
            field, message = describe(exc)
            return JSONResponse({"error": f"{field}: {message}", "field": field}, status_code=400)
        result = await save_changes(store, base, notification.changes)
        log.info(
            "onec.push.received", base=base, accepted=result.accepted, duplicates=result.duplicates
        )
        return JSONResponse(
            {"status": "ok", "accepted": result.accepted, "duplicates": result.duplicates}
        )

    return [Route(path, push, methods=["POST"])]


def _client(request: Request) -> str | None:
    return request.client.host if request.client else None
