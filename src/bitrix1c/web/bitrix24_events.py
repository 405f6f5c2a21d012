"""``POST /hooks/bitrix24``: online events from Bitrix24 (bitrix24.md §1.3, §7.3).

The portal POSTs ``application/x-www-form-urlencoded`` PHP-bracket pairs
(``event=ONCRMDEALUPDATE``, ``data[FIELDS][ID]=759``, ``auth[member_id]=…``,
``auth[application_token]=…``). The application token is the proof the POST came from
that portal: it is compared, in constant time, with the token stored for the portal named
by ``auth[member_id]`` (or ``auth[domain]``). The event goes to the inbox *before* the 200
is sent, because Bitrix24 never delivers an event twice (bitrix24-docs#178).

Answers: 200 ``{"status": "ok", "id": n}``; 400 — no ``event``; 401 — unknown portal or
wrong token; nothing is stored on a 4xx.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

import sqlalchemy as sa
import structlog
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bitrix1c.bitrix24.encoding import php_decode
from bitrix1c.bitrix24.events import EVENT_SOURCE, event_object
from bitrix1c.state.tables import inbox

log = structlog.get_logger(__name__)

MAX_BODY = 256 * 1024

# (member_id, domain) → the application token this portal's events carry, None if unknown.
TokensLookup = Callable[[str, str], Awaitable[str | None]]


def routes(store: Any, tokens_lookup: TokensLookup) -> list[Route]:
    """The route of the Bitrix24 event receiver.

    Args:
        store: the state store (``bitrix1c.state.store.Store``); events go to ``inbox``.
        tokens_lookup: coroutine ``(member_id, domain) → application_token | None``, e.g.
            ``StateTokenStore(store).application_token``.
    """

    async def receive(request: Request) -> Response:
        body = await request.body()
        if len(body) > MAX_BODY:
            return JSONResponse({"error": "payload too large"}, status_code=413)
        payload = php_decode(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
        raw_auth = payload.get("auth")
        auth: dict[str, Any] = raw_auth if isinstance(raw_auth, dict) else {}
        member_id = str(auth.get("member_id") or "")
        domain = str(auth.get("domain") or "")
        given = str(auth.get("application_token") or "")
        expected = await tokens_lookup(member_id, domain) if (member_id or domain) else None
        if (
            expected is None
            or not given
            or not hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))
        ):
            log.warning("bitrix24.event_refused", member_id=member_id, domain=domain)
            return JSONResponse({"error": "unknown portal or wrong application token"}, 401)
        event = str(payload.get("event") or "")
        if not event:
            return JSONResponse({"error": "no event name"}, status_code=400)
        object_type, object_id = event_object(event, payload.get("data"))
        # Tokens in the payload are credentials: the inbox keeps who and what, not them.
        stored = {**payload, "auth": {k: v for k, v in auth.items() if "token" not in k}}
        async with store.transaction() as conn:
            result = await conn.execute(
                sa.insert(inbox).values(
                    source=EVENT_SOURCE,
                    event=event.upper(),
                    object_type=object_type,
                    object_id=object_id,
                    payload=stored,
                    status="new",
                    attempts=0,
                    received_at=datetime.now(UTC),
                )
            )
            row_id = result.inserted_primary_key[0] if result.inserted_primary_key else None
        log.info("bitrix24.event_received", name=event, object_type=object_type, id=object_id)
        return JSONResponse({"status": "ok", "id": row_id})

    return [Route("/hooks/bitrix24", receive, methods=["POST"])]
