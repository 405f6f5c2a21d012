"""Offline events: the reliable pull queue of a Bitrix24 application (bitrix24.md §7.4).

``event.offline.get`` with ``clear=0`` reserves a batch under a ``process_id``; the batch
is cleared with ``event.offline.clear`` only after the caller has processed it, so a crash
in between leaves the events in the queue (reserved batches live up to 30 days, and the
same ``process_id`` gets its unfinished records again). Passing the ``auth_connector`` the
handlers were bound with keeps the service's own writes (made by a client with the same
``auth_connector``) out of the queue; the queue is split by that key.

:func:`poll_offline_events` moves the queue into the state store's inbox, next to the
events the online receiver (``/hooks/bitrix24``) stores.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import structlog
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from bitrix1c.bitrix24.client import Bitrix24Client
from bitrix1c.bitrix24.models import OfflineEvent, OfflineEvents
from bitrix1c.state.store import Store, utcnow
from bitrix1c.state.tables import inbox

log = structlog.get_logger(__name__)

# One reserving process per service: after a crash the same id gets its batch back.
DEFAULT_PROCESS_ID = "bitrix1c"


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


async def list_offline_events(
    client: Bitrix24Client,
    *,
    filter: dict[str, Any] | None = None,
    order: dict[str, str] | None = None,
) -> AsyncIterator[OfflineEvent]:
    """Every record of the queue, reserved or not, without changing it (``event.offline.list``).

    Records carry ``PROCESS_ID`` ("" when free) and ``ERROR`` (1 after
    :func:`mark_offline_errors`). Pages of 50 are followed through ``next``.
    """
    start = 0
    while True:
        params: dict[str, Any] = {"start": start}
        if filter:
            params["filter"] = filter
        if order:
            params["order"] = order
        reply = await client.call("event.offline.list", params)
        for row in reply.result or []:
            yield OfflineEvent.model_validate(row)
        if reply.next is None:
            return
        start = reply.next


async def mark_offline_errors(
    client: Bitrix24Client, process_id: str, message_ids: Sequence[str]
) -> None:
    """Flag reserved records as failed (``event.offline.error``).

    They leave the normal queue; ``event.offline.get`` with ``error=1`` hands them out again.
    """
    await client.call(
        "event.offline.error", {"process_id": process_id, "message_id": list(message_ids)}
    )


@dataclass(frozen=True)
class OfflinePoll:
    """What one :func:`poll_offline_events` did."""

    received: int  # events handed out by the portal (a re-delivered one counts again)
    stored: int  # new inbox rows; received - stored were already in the inbox
    batches: int


EVENT_SOURCE = "bitrix24"  # inbox source of events from the portal (online or offline)


def event_object(event: str, data: Any) -> tuple[str | None, str | None]:
    """What changed: ``(object type, id)`` from ``data[FIELDS]``."""
    fields = data.get("FIELDS") if isinstance(data, dict) else None
    if not isinstance(fields, dict):
        return None, None
    object_id = fields.get("ID")
    name = event.upper()
    if "ENTITY_TYPE_ID" in fields:
        object_type = f"crm.item:{fields['ENTITY_TYPE_ID']}"
    elif name.startswith("ONCRM"):
        object_type = name.removeprefix("ONCRM")
        for suffix in ("ADD", "UPDATE", "DELETE", "MOVETOCATEGORY"):
            if object_type.endswith(suffix):
                object_type = object_type.removesuffix(suffix)
                break
        object_type = object_type.lower()
    elif name.startswith("CATALOG."):
        object_type = "catalog." + name.split(".")[1].lower()
    else:
        object_type = None
    return object_type, None if object_id is None else str(object_id)


def _dedup_key(portal: str, event: OfflineEvent) -> str:
    # The queue record id is unique per portal; a re-delivery of the same record is a
    # duplicate, a later change of the same object is a new record with a new id.
    return f"offline:{portal}:{event.ID}:{event.MESSAGE_ID or ''}"


async def save_offline_events(store: Store, portal: str, events: Iterable[OfflineEvent]) -> int:
    """Store offline events in the inbox in one transaction; returns the rows added.

    The row is the one the online receiver writes (source ``bitrix24``, the event name,
    the changed object from ``data[FIELDS]``, status ``new``); the payload holds
    ``event`` and ``data`` like a POSTed event, plus the queue record under ``offline``.
    A record already stored (same portal and queue id) is skipped by the inbox's unique
    ``(source, dedup_key)`` index.
    """
    now = utcnow()
    added = 0
    async with store.transaction() as conn:
        insert = sqlite_insert if conn.dialect.name == "sqlite" else pg_insert
        for event in events:
            name = str(event.EVENT_NAME or "").upper()
            data = event.EVENT_DATA if isinstance(event.EVENT_DATA, dict) else {}
            object_type, object_id = event_object(name, data)
            payload = {
                "event": name,
                "data": data,
                "ts": event.TIMESTAMP_X,
                "offline": {
                    "ID": event.ID,
                    "MESSAGE_ID": event.MESSAGE_ID,
                    "TIMESTAMP_X": event.TIMESTAMP_X,
                    "EVENT_ADDITIONAL": event.EVENT_ADDITIONAL,
                    "portal": portal,
                },
            }
            result = await conn.execute(
                insert(inbox)
                .values(
                    source=EVENT_SOURCE,
                    event=name,
                    object_type=object_type,
                    object_id=object_id,
                    payload=payload,
                    status="new",
                    attempts=0,
                    received_at=now,
                    dedup_key=_dedup_key(portal, event),
                )
                .on_conflict_do_nothing(index_elements=["source", "dedup_key"])
            )
            added += result.rowcount
    return added


async def poll_offline_events(
    client: Bitrix24Client,
    store: Store,
    *,
    process_id: str = DEFAULT_PROCESS_ID,
    limit: int = 50,
    max_batches: int | None = None,
) -> OfflinePoll:
    """Move the portal's offline queue into the inbox, batch by batch, losing nothing.

    Each batch is reserved (``event.offline.get``, ``clear=0``, ``process_id``), committed
    to the inbox, and only then cleared (``event.offline.clear`` with the process id and
    the record ids). If anything fails in between, the batch stays reserved in Bitrix24
    and the next poll with the same ``process_id`` gets it again; the inbox stores it
    once. The client's ``auth_connector`` selects the queue of the bindings made with it.

    Args:
        client: an OAuth-application client (offline events need application auth).
        store: the state store whose inbox receives the events.
        process_id: the reserving process; keep it stable across restarts.
        limit: events per batch (the portal's default is 50).
        max_batches: stop after this many batches (``None``: until the queue is empty).

    Returns:
        How many events were received and stored, and in how many batches.
    """
    received = stored = batches = 0
    while max_batches is None or batches < max_batches:
        params = {"clear": 0, "process_id": process_id, "limit": limit}
        reply = await client.call("event.offline.get", params)
        batch = OfflineEvents.model_validate(reply.result or {})
        if not batch.events:
            break
        batches += 1
        received += len(batch.events)
        stored += await save_offline_events(store, client.portal, batch.events)
        ids = [event.ID for event in batch.events if event.ID is not None]
        await client.call(
            "event.offline.clear", {"process_id": batch.process_id or process_id, "id": ids}
        )
        if len(batch.events) < limit:
            break
    if received:
        log.info(
            "bitrix24.offline_events_polled", received=received, stored=stored, batches=batches
        )
    return OfflinePoll(received=received, stored=stored, batches=batches)
