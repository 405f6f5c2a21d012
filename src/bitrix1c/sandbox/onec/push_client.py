"""1C's side of the push: changes are registered as they are written and a job POSTs them.

It behaves like the design ``docs/1c-push.md`` recommends for a real base: a write
registers the object (an exchange plan's change registration), a scheduled job sends the
registered changes to ``/hooks/1c/<base>`` in one JSON request and deletes the registration
only when the answer is 2xx, so nothing is lost while bitrix1c is down.

:func:`watch` is the small callback registry: it wraps the ``create``/``update``/
``set_posted`` methods of one :class:`OneCBase` instance (the class is not touched) and
tells every subscriber ``(entity_set, entity, event)`` after each successful write::

    client = PushClient(base, "http://127.0.0.1:8080/hooks/1c/trade", token="…")
    client.attach()
    …  # writes through OData or the base's methods
    client.flush()  # or client.start(interval=1.0) for a background job
"""

from __future__ import annotations

import contextlib
import threading
import weakref
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import structlog

from .base import OneCBase

log = structlog.get_logger(__name__)

Listener = Callable[[str, dict[str, Any], str], None]


class ChangeFeed:
    """Subscribers to the writes of one base; created by :func:`watch`."""

    def __init__(self, base: OneCBase) -> None:
        self._base = weakref.ref(base)
        self._listeners: list[Listener] = []
        self._local = threading.local()
        self._wrap(base)

    def subscribe(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def unsubscribe(self, listener: Listener) -> None:
        with contextlib.suppress(ValueError):
            self._listeners.remove(listener)

    def _emit(self, entity_set: str, entity: dict[str, Any], event: str) -> None:
        for listener in list(self._listeners):
            try:
                listener(entity_set, entity, event)
            except Exception:  # a subscriber must never break the write it observes
                log.exception("sandbox.onec.push.listener_failed", entity_set=entity_set)

    @contextlib.contextmanager
    def _inner(self) -> Iterator[bool]:
        depth = getattr(self._local, "depth", 0)
        self._local.depth = depth + 1
        try:
            yield depth == 0
        finally:
            self._local.depth = depth

    def _wrap(self, base: OneCBase) -> None:
        create, update, set_posted = base.create, base.update, base.set_posted

        # Extra arguments are passed through untouched, so the wrappers survive new options.
        def wrapped_create(entity_set: str, *args: Any, **kwargs: Any) -> dict[str, Any]:
            with self._inner() as outermost:
                entity = create(entity_set, *args, **kwargs)
            if outermost:
                self._emit(entity_set, entity, "posted" if entity.get("Posted") else "written")
            return entity

        def wrapped_update(
            entity_set: str, ref_key: str, *args: Any, **kwargs: Any
        ) -> dict[str, Any]:
            before = base.get(entity_set, ref_key) or {}
            with self._inner() as outermost:
                entity = update(entity_set, ref_key, *args, **kwargs)
            if outermost:
                marked = entity.get("DeletionMark") and not before.get("DeletionMark")
                self._emit(entity_set, entity, "deletion-marked" if marked else "written")
            return entity

        def wrapped_set_posted(
            entity_set: str, ref_key: str, posted: bool, *args: Any, **kwargs: Any
        ) -> dict[str, Any]:
            with self._inner() as outermost:
                entity = set_posted(entity_set, ref_key, posted, *args, **kwargs)
            if outermost:
                self._emit(entity_set, entity, "posted" if posted else "unposted")
            return entity

        base.create = wrapped_create  # type: ignore[method-assign]
        base.update = wrapped_update  # type: ignore[method-assign]
        base.set_posted = wrapped_set_posted  # type: ignore[method-assign]


_feeds: weakref.WeakKeyDictionary[OneCBase, ChangeFeed] = weakref.WeakKeyDictionary()
_feeds_lock = threading.Lock()


def watch(base: OneCBase) -> ChangeFeed:
    """The change feed of ``base`` (its methods are wrapped once, on the first call)."""
    with _feeds_lock:
        feed = _feeds.get(base)
        if feed is None:
            feed = _feeds[base] = ChangeFeed(base)
        return feed


class PushClient:
    """Registers the changes of ``base`` and POSTs them to bitrix1c's push endpoint.

    ``kinds`` are the object kinds registered (documents by default, as the issue's push
    is about posted documents; add ``"Catalog"`` for counterparties and items).
    ``token_header="bearer"`` sends ``Authorization: Bearer``; ``"x-token"`` sends
    ``X-Bitrix1c-Token``.
    """

    def __init__(
        self,
        base: OneCBase,
        url: str,
        token: str,
        *,
        kinds: tuple[str, ...] = ("Document",),
        batch_size: int = 100,
        token_header: str = "bearer",
        transport: httpx.BaseTransport | None = None,
        timeout: float = 30.0,
    ) -> None:
        self.base = base
        self.url = url
        self.kinds = kinds
        self.batch_size = batch_size
        self.token_header = token_header
        self._http = httpx.Client(transport=transport, timeout=timeout)
        self.set_token(token)
        self._lock = threading.Lock()
        self._pending: list[dict[str, Any]] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.sent = 0
        self.last_error: str | None = None

    def set_token(self, token: str) -> None:
        """Use another token from the next delivery on (as when the setting is corrected)."""
        self._http.headers.pop("Authorization", None)
        self._http.headers.pop("X-Bitrix1c-Token", None)
        if self.token_header == "bearer":
            self._http.headers["Authorization"] = f"Bearer {token}"
        else:
            self._http.headers["X-Bitrix1c-Token"] = token

    # --- registration -----------------------------------------------------------------

    def attach(self) -> PushClient:
        """Start registering the base's writes."""
        watch(self.base).subscribe(self.register)
        return self

    def detach(self) -> None:
        watch(self.base).unsubscribe(self.register)

    def register(self, entity_set: str, entity: dict[str, Any], event: str) -> None:
        """Register one change (the listener of the change feed)."""
        definition = self.base.schema.get(entity_set)
        if definition is None or definition.kind not in self.kinds:
            return
        if not definition.is_reference or "Ref_Key" not in entity:
            return  # registers and tabular sections are not pushed
        change = {
            "type": entity_set,
            "Ref_Key": entity["Ref_Key"],
            "DataVersion": entity.get("DataVersion", ""),
            "event": event,
        }
        with self._lock:
            self._pending.append(change)

    @property
    def pending(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._pending)

    # --- delivery (the scheduled job) -------------------------------------------------------

    def flush(self) -> int:
        """Send what is registered, in batches; returns how many changes were delivered.

        A batch is removed from the registration only on a 2xx answer; on any other
        answer or a connection error the rest stays registered for the next run.
        """
        delivered = 0
        while True:
            with self._lock:
                batch = self._pending[: self.batch_size]
            if not batch:
                return delivered
            try:
                response = self._http.post(self.url, json={"changes": batch})
            except httpx.HTTPError as exc:
                self.last_error = f"{type(exc).__name__}: {exc}"
                log.warning("sandbox.onec.push.failed", url=self.url, error=self.last_error)
                return delivered
            if not response.is_success:
                self.last_error = f"HTTP {response.status_code}: {response.text[:200]}"
                log.warning("sandbox.onec.push.refused", url=self.url, error=self.last_error)
                return delivered
            with self._lock:
                del self._pending[: len(batch)]
            delivered += len(batch)
            self.sent += len(batch)
            self.last_error = None

    def start(self, interval: float = 1.0) -> None:
        """Run :meth:`flush` every ``interval`` seconds in a background thread."""
        if self._thread is not None:
            return
        self._stop.clear()

        def job() -> None:
            while not self._stop.wait(interval):
                self.flush()

        self._thread = threading.Thread(target=job, name="onec-push", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the background job (after one last delivery attempt) and detach."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None
        self.flush()
        self.detach()
        self._http.close()
