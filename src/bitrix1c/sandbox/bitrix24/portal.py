"""The emulated Bitrix24 portal: storage, method dispatch, auth and limits.

``Portal.call`` runs a method in-process (no rate limit) and returns the full JSON
body a real portal would send; ``Portal.serve`` is what the HTTP layer uses: it
resolves the webhook / OAuth credential, applies the leaky bucket and the
per-method operating limit, and answers ``(status, body)``.
"""

from __future__ import annotations

import hmac
import secrets
import string
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from .batch import run_batch
from .classic import ClassicEntity, company_contact_items_get, company_contact_items_set
from .errors import (
    RestError,
    batch_method_not_allowed,
    method_not_found,
    no_auth,
    operation_time_limit,
    query_limit_exceeded,
)
from .fields import COMPANY, CONTACT
from .limits import PLANS, LeakyBucket, OperatingTracker, PortalStats, time_block
from .records import Context
from .requisites import Requisites, preset_list, seed_presets
from .store import Store

Handler = Callable[[dict[str, Any], Context], dict[str, Any]]

DEFAULT_OPERATING_LIMIT = 480.0


def generate_webhook_code() -> str:
    """A random 16-character lower-case alphanumeric webhook secret."""
    alphabet = string.ascii_lowercase + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(16))


def normalize_method(method: str) -> str:
    """Method names are case-insensitive; the ``.json`` suffix is optional."""
    name = method.strip().lower()
    return name.removesuffix(".json")


def _crud(prefix: str, entity: ClassicEntity | Requisites) -> dict[str, Handler]:
    return {
        f"{prefix}.add": entity.add,
        f"{prefix}.get": entity.get,
        f"{prefix}.list": entity.list_items,
        f"{prefix}.update": entity.update,
        f"{prefix}.delete": entity.delete,
        f"{prefix}.fields": entity.fields,
    }


@dataclass(frozen=True)
class RestRoute:
    """Where a request went: ``/rest/<user>/<code>/<method>`` or ``/rest/<method>``."""

    method: str
    user_id: int | None = None  # webhook form
    code: str | None = None  # webhook form
    token: str | None = None  # OAuth form (``auth`` parameter)

    @property
    def is_webhook(self) -> bool:
        """True for the incoming-webhook URL form."""
        return self.code is not None


class Portal:
    """An in-memory or SQLite-backed Bitrix24 cloud portal emulator."""

    def __init__(
        self,
        path: Path | str | None,
        *,
        plan: str = "standard",
        drain_per_second: float | None = None,
        burst: int | None = None,
        webhook_user_id: int = 1,
        webhook_code: str | None = None,
        operating_limit: float | None = DEFAULT_OPERATING_LIMIT,
    ) -> None:
        if plan not in PLANS:
            raise ValueError(f"unknown plan {plan!r}; expected one of {sorted(PLANS)}")
        self.plan = plan
        self.cloud = plan != "onpremise"
        self.store = Store(Path(path) if path is not None else None)
        self.webhook_user_id = webhook_user_id
        code = webhook_code or self.store.get_meta("webhook_code") or generate_webhook_code()
        self.store.set_meta("webhook_code", code)
        self.webhook_code = code
        plan_drain, plan_burst = PLANS[plan]
        drain = drain_per_second if drain_per_second is not None else plan_drain
        limit = burst if burst is not None else plan_burst
        self.bucket: LeakyBucket | None = (
            LeakyBucket(drain, limit) if drain is not None and limit is not None else None
        )
        self.operating = OperatingTracker(operating_limit if self.cloud else None)
        self.stats = PortalStats()
        self._stats_lock = threading.Lock()
        # OAuth hook: ``/rest/<method>?auth=<token>`` asks ``token_resolver`` for the user id
        # (``None`` → NO_AUTH_FOUND; it may also raise RestError, e.g. ``expired_token``).
        # The default resolver looks tokens up in ``access_tokens``.
        self.access_tokens: dict[str, int] = {}
        self.token_resolver: Callable[[str], int | None] = self.access_tokens.get
        seed_presets(self.store)
        self._methods = self._build_methods()

    # -- wiring --------------------------------------------------------------------------
    def _build_methods(self) -> dict[str, Handler]:
        methods: dict[str, Handler] = {}
        for prefix, spec in (("crm.company", COMPANY), ("crm.contact", CONTACT)):
            entity = ClassicEntity(self.store, spec)
            methods.update(_crud(prefix, entity))
        methods.update(_crud("crm.requisite", Requisites(self.store)))
        methods["crm.requisite.preset.list"] = partial(preset_list, self.store)
        methods["crm.company.contact.items.get"] = partial(company_contact_items_get, self.store)
        methods["crm.company.contact.items.set"] = partial(company_contact_items_set, self.store)
        return methods

    def register_method(self, name: str, handler: Handler) -> None:
        """Add (or replace) a REST method — extension point for further emulated APIs."""
        self._methods[normalize_method(name)] = handler

    @property
    def methods(self) -> list[str]:
        """Names of the implemented methods (``batch`` included)."""
        return sorted([*self._methods, "batch"])

    def close(self) -> None:
        """Release the database."""
        self.store.close()

    # -- execution -------------------------------------------------------------------------
    def _operating_view(self, credential: str, method: str) -> tuple[float, int] | None:
        if not self.cloud:
            return None
        return self.operating.snapshot(credential, method)

    def _execute(
        self, method: str, params: dict[str, Any], ctx: Context, credential: str, *, in_batch: bool
    ) -> dict[str, Any]:
        name = normalize_method(method)
        params = {k: v for k, v in params.items() if k != "auth"}
        if name == "batch":
            if in_batch:
                raise batch_method_not_allowed()
            return run_batch(
                params,
                lambda sub, sub_params: self._execute(
                    sub, sub_params, ctx, credential, in_batch=True
                ),
                lambda: self._operating_view(credential, "batch"),
            )
        handler = self._methods.get(name)
        if handler is None:
            raise method_not_found()
        return handler(params, ctx)

    def call(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        """Run a method in-process as the webhook user; no rate limit.

        Returns the full JSON body (``result``, ``time`` and ``total``/``next`` for
        lists); raises :class:`RestError` exactly where a portal answers an error.
        """
        credential = self._webhook_credential()
        start = time.time()
        began = time.perf_counter()
        reply = self._execute(
            method, dict(params or {}), Context(self.webhook_user_id), credential, in_batch=False
        )
        processing = time.perf_counter() - began
        reply["time"] = time_block(
            start,
            time.time(),
            processing,
            self._operating_view(credential, normalize_method(method)),
        )
        return reply

    # -- HTTP entry ----------------------------------------------------------------------------
    def _webhook_credential(self) -> str:
        return f"webhook:{self.webhook_user_id}"

    def _authorize(self, route: RestRoute) -> tuple[int, str]:
        """Resolve the caller → ``(user_id, credential key)`` or raise NO_AUTH_FOUND."""
        if route.is_webhook:
            if route.user_id == self.webhook_user_id and hmac.compare_digest(
                str(route.code), self.webhook_code
            ):
                return self.webhook_user_id, self._webhook_credential()
            raise no_auth()
        token = route.token or ""
        user_id = self.token_resolver(token) if token else None
        if user_id is None:
            raise no_auth()
        return user_id, "oauth"

    def _count(self, field: str) -> None:
        with self._stats_lock:
            setattr(self.stats, field, getattr(self.stats, field) + 1)

    def serve(
        self, route: RestRoute, params: dict[str, Any], client_ip: str
    ) -> tuple[int, dict[str, Any]]:
        """Answer one HTTP request: ``(status, json_body)``."""
        self._count("requests")
        try:
            if self.bucket is not None and not self.bucket.try_acquire(client_ip):
                self._count("served_503")
                raise query_limit_exceeded()
            user_id, credential = self._authorize(route)
            method = normalize_method(route.method)
            if self.cloud and self.operating.is_blocked(credential, method):
                self._count("served_429")
                raise operation_time_limit()
            start = time.time()
            began = time.perf_counter()
            try:
                reply = self._execute(method, params, Context(user_id), credential, in_batch=False)
            finally:
                if self.cloud:
                    self.operating.add(credential, method, time.perf_counter() - began)
            processing = time.perf_counter() - began
            reply["time"] = time_block(
                start, time.time(), processing, self._operating_view(credential, method)
            )
            return 200, reply
        except RestError as error:
            return error.status, error.body()
