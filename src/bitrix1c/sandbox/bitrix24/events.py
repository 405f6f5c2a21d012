"""Outbound events of the emulated portal: ``event.*`` methods, online delivery, offline queue.

Facts (bitrix24.md §7): ``event.bind`` needs application auth (a webhook gets
``403 WRONG_AUTH_TYPE``); an online event is POSTed form-encoded with PHP-bracket
keys (``event``, ``event_handler_id``, ``data[FIELDS][ID]``, ``ts``, ``auth[…]``)
through a queue, a little after the change, *without retries*; the offline queue
keeps the latest record per object, split by the binding's ``auth_connector``;
``event.offline.get`` with ``clear=0`` reserves records under a ``process_id`` until
``event.offline.clear`` (or ``event.offline.error`` flags them), ``event.offline.list``
reads without changes, and a write that carries the binding's ``auth_connector`` is
not queued.
"""

from __future__ import annotations

import hashlib
import json
import queue
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import httpx

from .errors import RestError
from .filters import split_key
from .oauth import OAuthServer
from .params import get_ci, php_int, php_truthy
from .records import Context
from .store import Store
from .values import now_iso

_SCHEMA = """
CREATE TABLE IF NOT EXISTS event_binding (
    id INTEGER PRIMARY KEY AUTOINCREMENT, client_id TEXT NOT NULL, event TEXT NOT NULL,
    handler TEXT NOT NULL, offline INTEGER NOT NULL, auth_type INTEGER NOT NULL,
    auth_connector TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS event_offline (
    id INTEGER PRIMARY KEY AUTOINCREMENT, client_id TEXT NOT NULL, event_name TEXT NOT NULL,
    event_data TEXT NOT NULL, event_additional TEXT NOT NULL, message_id TEXT NOT NULL,
    timestamp_x TEXT NOT NULL, process_id TEXT,
    connector TEXT NOT NULL DEFAULT '', error INTEGER NOT NULL DEFAULT 0
);
"""
# Columns added after the first release: a portal file written before gets them on open.
_ADDED_COLUMNS = (
    ("connector", "TEXT NOT NULL DEFAULT ''"),
    ("error", "INTEGER NOT NULL DEFAULT 0"),
)
_OFFLINE_FIELDS = ("ID", "TIMESTAMP_X", "EVENT_NAME", "MESSAGE_ID")
_LIST_FIELDS = (*_OFFLINE_FIELDS, "PROCESS_ID", "ERROR")

_ENTITY_EVENTS = {
    "crm.company": "ONCRMCOMPANY",
    "crm.contact": "ONCRMCONTACT",
    "crm.deal": "ONCRMDEAL",
    "crm.requisite": "ONCRMREQUISITE",
    "crm.requisite.bankdetail": "ONCRMBANKDETAIL",
}
_ITEM_EVENTS = {2: "ONCRMDEAL", 3: "ONCRMCONTACT", 4: "ONCRMCOMPANY"}
_ACTIONS = {"add": "ADD", "update": "UPDATE", "delete": "DELETE"}

KNOWN_EVENTS: frozenset[str] = frozenset(
    [
        *(f"{p}{a}" for p in _ENTITY_EVENTS.values() for a in _ACTIONS.values()),
        *(f"ONCRMDYNAMICITEM{a}" for a in _ACTIONS.values()),
        *(f"ONCRMTIMELINECOMMENT{a}" for a in _ACTIONS.values()),
        *(f"ONCRMPRODUCT{a}" for a in _ACTIONS.values()),
        *(f"CATALOG.PRODUCT.ON.{a}" for a in _ACTIONS.values()),
        *(f"CATALOG.PRICE.ON.{a}" for a in _ACTIONS.values()),
        "ONCRMDEALMOVETOCATEGORY",
        "ONAPPINSTALL",
        "ONAPPUNINSTALL",
        "ONOFFLINEEVENT",
    ]
)


def wrong_auth_type() -> RestError:
    """A webhook called a method that needs an application context."""
    return RestError(403, "WRONG_AUTH_TYPE", "Current authorization type is denied for this method")


def _argument(name: str) -> RestError:
    return RestError(400, "ERROR_ARGUMENT", f"Argument '{name}' is null or empty")


def changes_of(
    method: str, params: dict[str, Any], reply: dict[str, Any]
) -> list[tuple[str, dict[str, Any]]]:
    """Events a successful call raises: ``[(EVENT_NAME, data[FIELDS])]``."""
    prefix, _, action = method.rpartition(".")
    verb = _ACTIONS.get(action)
    if verb is None:
        return []
    result = reply.get("result")
    if prefix in _ENTITY_EVENTS:
        record_id = result if verb == "ADD" else php_int(get_ci(params, "id"), 0)
        return [(f"{_ENTITY_EVENTS[prefix]}{verb}", {"ID": record_id})]
    if prefix == "crm.item":
        type_id = php_int(get_ci(params, "entityTypeId"), 0)
        record_id = php_int(get_ci(params, "id"), 0)
        if verb == "ADD" and isinstance(result, dict):
            record_id = php_int((result.get("item") or {}).get("id"), 0)
        if type_id in _ITEM_EVENTS:
            return [(f"{_ITEM_EVENTS[type_id]}{verb}", {"ID": record_id})]
        return [(f"ONCRMDYNAMICITEM{verb}", {"ID": record_id, "ENTITY_TYPE_ID": type_id})]
    if prefix == "catalog.product":
        record_id = php_int(get_ci(params, "id"), 0)
        if verb == "ADD" and isinstance(result, dict):
            record_id = php_int((result.get("element") or {}).get("id"), 0)
        return [(f"CATALOG.PRODUCT.ON.{verb}", {"ID": record_id, "TYPE": 1})]
    return []


@dataclass
class Delivery:
    """Outcome of one online event POST (``status`` ``None`` → no HTTP answer)."""

    event: str
    handler: str
    handler_id: int
    payload: dict[str, str]
    status: int | None = None
    error: str | None = None
    delivered_at: float = field(default_factory=time.time)

    @property
    def ok(self) -> bool:
        """The handler answered 2xx."""
        return self.status is not None and 200 <= self.status < 300


class EventHub:
    """Bindings, the online delivery queue and the offline queue of one portal."""

    def __init__(self, store: Store, oauth: OAuthServer, *, delay: float = 0.05) -> None:
        self.store = store
        self.oauth = oauth
        self.delay = delay
        self.deliveries: list[Delivery] = []
        self.delivery_timeout = 5.0
        store.conn.executescript(_SCHEMA)
        present = {row[1] for row in store.query("PRAGMA table_info(event_offline)")}
        for column, declaration in _ADDED_COLUMNS:
            if column not in present:
                store.execute(f"ALTER TABLE event_offline ADD COLUMN {column} {declaration}")
        self._queue: queue.Queue[tuple[float, str, str, int, dict[str, str]] | None] = queue.Queue()
        self._pending = 0
        self._idle = threading.Condition()
        self._worker: threading.Thread | None = None
        self._worker_lock = threading.Lock()

    # -- event.* methods ---------------------------------------------------------------
    @staticmethod
    def _app(ctx: Context) -> str:
        if ctx.client_id is None:
            raise wrong_auth_type()
        return ctx.client_id

    def bind(self, params: dict[str, Any], ctx: Context) -> dict[str, Any]:
        """``event.bind`` → ``true``."""
        client_id = self._app(ctx)
        event = str(get_ci(params, "event") or "").strip().upper()
        if not event:
            raise _argument("event")
        if event not in KNOWN_EVENTS:
            raise RestError(400, "ERROR_EVENT_NOT_FOUND", "Event not found")
        offline = str(get_ci(params, "event_type") or "online").lower() == "offline"
        handler = "" if offline else str(get_ci(params, "handler") or "").strip()
        if not offline and not handler:
            raise _argument("handler")
        auth_type = php_int(get_ci(params, "auth_type"), 0)
        connector = str(get_ci(params, "auth_connector") or "")
        with self.store.transaction():
            if self.store.query(
                "SELECT 1 FROM event_binding WHERE client_id = ? AND event = ? AND handler = ? "
                "AND offline = ? AND auth_type = ?",
                (client_id, event, handler, int(offline), auth_type),
            ):
                raise RestError(400, "ERROR_CORE", "Handler already binded")
            self.store.execute(
                "INSERT INTO event_binding "
                "(client_id, event, handler, offline, auth_type, auth_connector) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (client_id, event, handler, int(offline), auth_type, connector),
            )
        return {"result": True}

    def get(self, params: dict[str, Any], ctx: Context) -> dict[str, Any]:
        """``event.get`` → ``[{event, handler, auth_type, offline}]``."""
        client_id = self._app(ctx)
        rows = self.store.query(
            "SELECT event, handler, auth_type, offline FROM event_binding WHERE client_id = ? "
            "ORDER BY id",
            (client_id,),
        )
        return {
            "result": [
                {"event": e, "handler": h, "auth_type": str(a), "offline": int(o)}
                for e, h, a, o in rows
            ]
        }

    def unbind(self, params: dict[str, Any], ctx: Context) -> dict[str, Any]:
        """``event.unbind`` → ``{"count": N}``."""
        client_id = self._app(ctx)
        event = str(get_ci(params, "event") or "").strip().upper()
        if not event:
            raise _argument("event")
        offline = str(get_ci(params, "event_type") or "online").lower() == "offline"
        sql = "DELETE FROM event_binding WHERE client_id = ? AND event = ? AND offline = ?"
        args: list[Any] = [client_id, event, int(offline)]
        if not offline:
            handler = str(get_ci(params, "handler") or "").strip()
            if not handler:
                raise _argument("handler")
            sql += " AND handler = ?"
            args.append(handler)
        auth_type = get_ci(params, "auth_type")
        if auth_type is not None:
            sql += " AND auth_type = ?"
            args.append(php_int(auth_type, 0))
        with self.store.transaction():
            before = self.store.query("SELECT COUNT(*) FROM event_binding")[0][0]
            self.store.execute(sql, args)
            after = self.store.query("SELECT COUNT(*) FROM event_binding")[0][0]
        return {"result": {"count": int(before) - int(after)}}

    @staticmethod
    def _connector(params: dict[str, Any]) -> str:
        # The queue is split by source: without the binding's key only events bound
        # without one are seen (event.offline.list spec, ``auth_connector``).
        return str(get_ci(params, "auth_connector") or "")

    def offline_get(self, params: dict[str, Any], ctx: Context) -> dict[str, Any]:
        """``event.offline.get`` → ``{process_id, events}``; ``clear=0`` reserves.

        A ``process_id`` that already holds reserved records gets them again together
        with new ones ("select more unprocessed records of the current process"), so a
        consumer that crashed before ``event.offline.clear`` loses nothing.
        """
        client_id = self._app(ctx)
        clear = get_ci(params, "clear")
        reserve = clear is not None and not php_truthy(clear)
        limit = php_int(get_ci(params, "limit"), 50) or 50
        process_id = str(get_ci(params, "process_id") or "") or None
        error = 1 if php_truthy(get_ci(params, "error")) else 0
        with self.store.transaction():
            rows = self.store.query(
                "SELECT id, timestamp_x, event_name, event_data, event_additional, message_id "
                "FROM event_offline WHERE client_id = ? AND connector = ? AND error = ? "
                "AND (process_id IS NULL OR process_id = ?)",
                (client_id, self._connector(params), error, process_id or ""),
            )
            events = [
                {
                    "ID": str(r[0]),
                    "TIMESTAMP_X": r[1],
                    "EVENT_NAME": r[2],
                    "EVENT_DATA": json.loads(r[3]),
                    "EVENT_ADDITIONAL": json.loads(r[4]),
                    "MESSAGE_ID": r[5],
                }
                for r in rows
            ]
            events = _filtered(events, get_ci(params, "filter"), _OFFLINE_FIELDS)
            events = _ordered(
                events, get_ci(params, "order"), _OFFLINE_FIELDS, ("TIMESTAMP_X", "ASC")
            )[: max(limit, 0)]
            ids = [int(e["ID"]) for e in events]
            marks = ",".join("?" * len(ids))
            if ids and reserve:
                process_id = process_id or secrets.token_hex(16)
                self.store.execute(
                    f"UPDATE event_offline SET process_id = ? WHERE id IN ({marks})",
                    [process_id, *ids],
                )
            elif ids:
                self.store.execute(f"DELETE FROM event_offline WHERE id IN ({marks})", ids)
        return {"result": {"process_id": process_id if reserve else None, "events": events}}

    def offline_list(self, params: dict[str, Any], ctx: Context) -> dict[str, Any]:
        """``event.offline.list``: read the queue without changing it (50-row pages)."""
        client_id = self._app(ctx)
        rows = self.store.query(
            "SELECT id, timestamp_x, event_name, event_data, event_additional, message_id, "
            "process_id, error FROM event_offline WHERE client_id = ? AND connector = ?",
            (client_id, self._connector(params)),
        )
        events = [
            {
                "ID": str(r[0]),
                "TIMESTAMP_X": r[1],
                "EVENT_NAME": r[2],
                "EVENT_DATA": json.loads(r[3]),
                "EVENT_ADDITIONAL": json.loads(r[4]),
                "MESSAGE_ID": r[5],
                "PROCESS_ID": r[6] or "",
                "ERROR": str(r[7]),
            }
            for r in rows
        ]
        events = _filtered(events, get_ci(params, "filter"), _LIST_FIELDS)
        events = _ordered(events, get_ci(params, "order"), _LIST_FIELDS, ("ID", "ASC"))
        start = max(php_int(get_ci(params, "start"), 0), 0)
        body: dict[str, Any] = {"result": events[start : start + 50]}
        if start + 50 < len(events):
            body["next"] = start + 50
        body["total"] = len(events)
        return body

    def offline_clear(self, params: dict[str, Any], ctx: Context) -> dict[str, Any]:
        """``event.offline.clear {process_id, id[] | message_id[]}`` → ``true``."""
        client_id = self._app(ctx)
        process_id = str(get_ci(params, "process_id") or "")
        if not process_id:
            raise _argument("process_id")
        sql = "DELETE FROM event_offline WHERE client_id = ? AND process_id = ?"
        args: list[Any] = [client_id, process_id]
        ids = _list(get_ci(params, "id"))
        messages = _list(get_ci(params, "message_id"))
        if ids:
            sql += f" AND id IN ({','.join('?' * len(ids))})"
            args.extend(php_int(i, 0) for i in ids)
        elif messages:
            sql += f" AND message_id IN ({','.join('?' * len(messages))})"
            args.extend(str(m) for m in messages)
        self.store.execute(sql, args)
        return {"result": True}

    def offline_error(self, params: dict[str, Any], ctx: Context) -> dict[str, Any]:
        """``event.offline.error {process_id, message_id[]}`` → ``true``.

        The records are released from the process and flagged ``ERROR = 1``: they are
        no longer handed out by ``event.offline.get`` unless it asks for ``error=1``.
        """
        client_id = self._app(ctx)
        process_id = str(get_ci(params, "process_id") or "")
        if not process_id:
            raise _argument("process_id")
        sql = "UPDATE event_offline SET error = 1, process_id = NULL WHERE client_id = ? "
        sql += "AND process_id = ?"
        args: list[Any] = [client_id, process_id]
        messages = _list(get_ci(params, "message_id"))
        if messages:
            sql += f" AND message_id IN ({','.join('?' * len(messages))})"
            args.extend(str(m) for m in messages)
        self.store.execute(sql, args)
        return {"result": True}

    # -- raising events --------------------------------------------------------------------
    def emit(self, event: str, fields: dict[str, Any], ctx: Context, connector: str) -> None:
        """Deliver one change to every binding of ``event``."""
        rows = self.store.query(
            "SELECT id, client_id, handler, offline, auth_type, auth_connector "
            "FROM event_binding WHERE event = ? ORDER BY id",
            (event,),
        )
        for binding_id, client_id, handler, offline, auth_type, bound_connector in rows:
            if int(offline):
                if bound_connector and bound_connector == connector:
                    continue  # the writer's own change: loop breaking
                self._queue_offline(str(client_id), str(bound_connector), event, fields, ctx)
            else:
                payload = self._payload(
                    event, int(binding_id), fields, str(client_id), int(auth_type) or ctx.user_id
                )
                self._enqueue(str(handler), event, int(binding_id), payload)

    def _payload(
        self, event: str, binding_id: int, fields: dict[str, Any], client_id: str, user_id: int
    ) -> dict[str, str]:
        pairs: dict[str, str] = {"event": event, "event_handler_id": str(binding_id)}
        for key, value in fields.items():
            pairs[f"data[FIELDS][{key}]"] = str(value)
        pairs["ts"] = str(int(time.time()))
        access, lifetime = self.oauth.issue_access_token(client_id, user_id)
        pairs.update(
            {
                "auth[access_token]": access,
                "auth[expires]": str(int(time.time()) + lifetime),
                "auth[expires_in]": str(lifetime),
                "auth[scope]": "crm,catalog,user",
                "auth[domain]": self.oauth.domain,
                "auth[server_endpoint]": self.oauth.server_endpoint,
                "auth[status]": "L",
                "auth[client_endpoint]": self.oauth.client_endpoint,
                "auth[member_id]": self.oauth.member_id,
                "auth[user_id]": str(user_id),
                "auth[application_token]": self.oauth.application_token(client_id) or "",
            }
        )
        return pairs

    def _queue_offline(
        self, client_id: str, connector: str, event: str, fields: dict[str, Any], ctx: Context
    ) -> None:
        data = json.dumps({"FIELDS": fields}, ensure_ascii=False, sort_keys=True)
        message_id = hashlib.md5(f"{event}|{data}".encode(), usedforsecurity=False).hexdigest()
        additional = json.dumps({"user_id": str(ctx.user_id)})
        with self.store.transaction():
            # Latest state per object: an unreserved record of the same object is replaced.
            self.store.execute(
                "DELETE FROM event_offline WHERE client_id = ? AND connector = ? "
                "AND message_id = ? AND process_id IS NULL AND error = 0",
                (client_id, connector, message_id),
            )
            self.store.execute(
                "INSERT INTO event_offline (client_id, connector, event_name, event_data, "
                "event_additional, message_id, timestamp_x) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (client_id, connector, event, data, additional, message_id, now_iso()),
            )

    # -- online delivery -------------------------------------------------------------------
    def _enqueue(self, handler: str, event: str, binding_id: int, payload: dict[str, str]) -> None:
        with self._worker_lock:
            if self._worker is None or not self._worker.is_alive():
                self._worker = threading.Thread(
                    target=self._deliver_loop, name="b24-event-delivery", daemon=True
                )
                self._worker.start()
        with self._idle:
            self._pending += 1
        self._queue.put((time.monotonic() + self.delay, handler, event, binding_id, payload))

    def _deliver_loop(self) -> None:
        with httpx.Client(timeout=self.delivery_timeout) as client:
            while True:
                job = self._queue.get()
                if job is None:
                    return
                due, handler, event, binding_id, payload = job
                wait = due - time.monotonic()
                if wait > 0:
                    time.sleep(wait)
                record = Delivery(event, handler, binding_id, payload)
                try:
                    response = client.post(
                        handler,
                        content=urlencode(payload).encode(),
                        headers={"content-type": "application/x-www-form-urlencoded"},
                    )
                    record.status = response.status_code
                except httpx.HTTPError as exc:  # lost: the portal never retries
                    record.error = f"{type(exc).__name__}: {exc}"
                record.delivered_at = time.time()
                self.deliveries.append(record)
                with self._idle:
                    self._pending -= 1
                    self._idle.notify_all()

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Block until every queued online event was attempted; ``False`` on timeout."""
        with self._idle:
            return self._idle.wait_for(lambda: self._pending == 0, timeout)

    def close(self) -> None:
        """Stop the delivery thread (queued events are dropped, as on a portal shutdown)."""
        worker = self._worker
        if worker is not None and worker.is_alive():
            self._queue.put(None)
            worker.join(timeout=self.delivery_timeout + 1)


def _list(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return list(value.values())
    if isinstance(value, list):
        return value
    return [] if value in (None, "") else [value]


def _compare(left: str, op: str, right: str) -> bool:
    if left.isdigit() and right.isdigit():
        a: int | str = int(left)
        b: int | str = int(right)
    else:
        a, b = left, right
    return {
        "": a == b,
        "=": a == b,
        "!": a != b,
        "!=": a != b,
        ">": a > b,  # type: ignore[operator]
        ">=": a >= b,  # type: ignore[operator]
        "<": a < b,  # type: ignore[operator]
        "<=": a <= b,  # type: ignore[operator]
    }.get(op, False)


def _filtered(
    events: list[dict[str, Any]], filter_: Any, fields: tuple[str, ...]
) -> list[dict[str, Any]]:
    if not isinstance(filter_, dict):
        return events
    for key, value in filter_.items():
        op, name = split_key(str(key))
        name = name.upper()
        if name not in fields:
            continue
        wanted = [str(v) for v in _list(value)]
        if op in ("", "=", "@") and len(wanted) != 1:
            events = [e for e in events if str(e[name]) in wanted]
        elif wanted:
            events = [e for e in events if _compare(str(e[name]), op, wanted[0])]
    return events


def _ordered(
    events: list[dict[str, Any]], order: Any, fields: tuple[str, ...], default: tuple[str, str]
) -> list[dict[str, Any]]:
    keys = list(order.items()) if isinstance(order, dict) and order else [default]
    result = sorted(events, key=lambda e: int(e["ID"]))
    for name, direction in reversed(keys):
        upper = str(name).upper()
        if upper not in fields:
            continue
        descending = str(direction).upper() == "DESC"

        def sort_key(e: dict[str, Any], upper: str = upper) -> Any:
            return int(e["ID"]) if upper == "ID" else str(e[upper])

        result.sort(key=sort_key, reverse=descending)
    return result
