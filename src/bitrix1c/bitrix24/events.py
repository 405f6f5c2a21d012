"""Offline events: the reliable pull queue of a Bitrix24 application (bitrix24.md §7.4).

``event.offline.get`` with ``clear=0`` reserves a batch under a ``process_id``; the batch
is cleared with ``event.offline.clear`` only after the caller has processed it, so a crash
in between leaves the events in the queue (reserved batches live up to 30 days). Passing
the ``auth_connector`` the handlers were bound with keeps the service's own writes (made
by a client with the same ``auth_connector``) out of the queue.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from typing import Any

from bitrix1c.bitrix24.client import Bitrix24Client
from bitrix1c.bitrix24.models import OfflineEvents


async def fetch_offline_events(
    client: Bitrix24Client,
    *,
    process_id: str | None = None,
    auth_connector: str | None = None,
    limit: int = 50,
) -> AsyncIterator[OfflineEvents]:
    """Yield reserved batches of offline events; each is cleared when the caller resumes.

    Use it as ``async for batch in fetch_offline_events(...): await handle(batch.events)``.
    If ``handle`` raises, the loop ends without clearing that batch, and the portal hands
    the events out again later.
    """
    while True:
        params: dict[str, Any] = {"clear": 0, "limit": limit}
        if process_id:
            params["process_id"] = process_id
        if auth_connector:
            params["auth_connector"] = auth_connector
        reply = await client.call("event.offline.get", params)
        batch = OfflineEvents.model_validate(reply.result or {})
        if not batch.events:
            return
        yield batch
        clear: dict[str, Any] = {
            "process_id": batch.process_id or process_id,
            "message_id": [event.MESSAGE_ID for event in batch.events if event.MESSAGE_ID],
        }
        await client.call("event.offline.clear", clear)
        if len(batch.events) < limit:
            return


async def bind_offline(
    client: Bitrix24Client, events: Iterable[str], *, auth_connector: str | None = None
) -> None:
    """Bind ``events`` to the offline queue (application auth and an admin user needed)."""
    commands = {}
    for index, event in enumerate(events):
        params: dict[str, Any] = {"event": event, "event_type": "offline"}
        if auth_connector:
            params["auth_connector"] = auth_connector
        commands[f"b{index}"] = ("event.bind", params)
    if commands:
        reply = await client.batch(commands)
        for error in reply.errors.values():
            # Binding an already-bound handler is refused by the portal; that is fine.
            if "already" not in (error.description or "").lower():
                raise error


async def bind_online(client: Bitrix24Client, events: Iterable[str], *, handler: str) -> None:
    """Bind ``events`` to our public ``handler`` URL (``…/hooks/bitrix24``)."""
    commands = {
        f"b{index}": ("event.bind", {"event": event, "handler": handler})
        for index, event in enumerate(events)
    }
    if commands:
        reply = await client.batch(commands)
        for error in reply.errors.values():
            if "already" not in (error.description or "").lower():
                raise error
