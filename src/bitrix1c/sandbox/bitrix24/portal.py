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

from .addresses import Addresses, address_types
from .bankdetails import BankDetails, RequisiteLinks
from .batch import run_batch
from .catalog import Catalog
from .classic import ClassicEntity, company_contact_items_get, company_contact_items_set
from .communications import TimelineComments, find_by_comm
from .deals import (
    DealEntity,
    deal_contact_items_get,
    deal_contact_items_set,
    productrows_get,
    productrows_set,
)
from .errors import (
    RestError,
    batch_method_not_allowed,
    method_not_found,
    no_auth,
    operation_time_limit,
    query_limit_exceeded,
)
from .events import Delivery, EventHub, changes_of
from .faults import Faults
from .fields import COMPANY, CONTACT
from .items import Items, SmartInvoices, item_methods
from .limits import PLANS, LeakyBucket, OperatingTracker, PortalStats, time_block
from .oauth import OAuthServer
from .pipelines import category_list, status_list
from .records import Context
from .requisites import Requisites, preset_list, seed_presets
from .store import Store
from .userfields import userfield_methods

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
        faults: dict[str, Any] | None = None,
        base_url: str | None = None,
        event_delay: float = 0.05,
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
        # Set by whoever serves the app (launcher, tests) so payloads can name the portal.
        self.base_url: str | None = base_url
        self.oauth = OAuthServer(self.store, lambda: self.base_url, webhook_user_id)
        self.events = EventHub(self.store, self.oauth, delay=event_delay)
        self.faults = Faults(faults)
        seed_presets(self.store)
        self._methods = self._build_methods()

    # -- wiring --------------------------------------------------------------------------
    def _build_methods(self) -> dict[str, Handler]:
        methods: dict[str, Handler] = {}
        company = ClassicEntity(self.store, COMPANY)
        contact = ClassicEntity(self.store, CONTACT)
        deal = DealEntity(self.store)
        methods.update(_crud("crm.company", company))
        methods.update(_crud("crm.contact", contact))
        items = Items(self.store, {2: deal, 3: contact, 4: company, 31: SmartInvoices(self.store)})
        methods.update(item_methods(items))
        methods.update(_crud("crm.requisite", Requisites(self.store)))
        methods["crm.requisite.preset.list"] = partial(preset_list, self.store)
        bank_details = BankDetails(self.store)
        methods["crm.requisite.bankdetail.add"] = bank_details.add
        methods["crm.requisite.bankdetail.get"] = bank_details.get
        methods["crm.requisite.bankdetail.list"] = bank_details.list_items
        methods["crm.requisite.bankdetail.update"] = bank_details.update
        methods["crm.requisite.bankdetail.delete"] = bank_details.delete
        requisite_links = RequisiteLinks(self.store)
        methods["crm.requisite.link.register"] = requisite_links.register
        methods["crm.requisite.link.get"] = requisite_links.get
        methods["crm.requisite.link.list"] = requisite_links.list_items
        methods["crm.requisite.link.unregister"] = requisite_links.unregister
        addresses = Addresses(self.store)
        methods["crm.address.add"] = addresses.add
        methods["crm.address.update"] = addresses.update
        methods["crm.address.delete"] = addresses.delete
        methods["crm.address.list"] = addresses.list_items
        methods["crm.enum.addresstype"] = address_types
        methods["crm.company.contact.items.get"] = partial(company_contact_items_get, self.store)
        methods["crm.company.contact.items.set"] = partial(company_contact_items_set, self.store)
        methods.update(_crud("crm.deal", deal))
        methods["crm.deal.contact.items.get"] = partial(deal_contact_items_get, self.store)
        methods["crm.deal.contact.items.set"] = partial(deal_contact_items_set, self.store)
        methods["crm.deal.productrows.get"] = partial(productrows_get, self.store)
        methods["crm.deal.productrows.set"] = partial(productrows_set, self.store)
        methods.update(Catalog(self.store).methods())
        comments = TimelineComments(self.store)
        methods["crm.timeline.comment.add"] = comments.add
        methods["crm.timeline.comment.list"] = comments.list_items
        methods["crm.duplicate.findbycomm"] = partial(find_by_comm, self.store)
        methods["crm.category.list"] = category_list
        methods["crm.status.list"] = status_list
        for owner in ("company", "contact", "deal"):
            methods.update(userfield_methods(self.store, owner))
        methods["event.bind"] = self.events.bind
        methods["event.get"] = self.events.get
        methods["event.unbind"] = self.events.unbind
        methods["event.offline.get"] = self.events.offline_get
        methods["event.offline.clear"] = self.events.offline_clear
        methods["event.offline.list"] = self.events.offline_list
        methods["event.offline.error"] = self.events.offline_error
        return methods

    def register_method(self, name: str, handler: Handler) -> None:
        """Add (or replace) a REST method — extension point for further emulated APIs."""
        self._methods[normalize_method(name)] = handler

    @property
    def methods(self) -> list[str]:
        """Names of the implemented methods (``batch`` included)."""
        return sorted([*self._methods, "batch"])

    def close(self) -> None:
        """Stop event delivery and release the database."""
        self.events.close()
        self.store.close()

    # -- OAuth applications ----------------------------------------------------------------
    def install_application(
        self,
        client_id: str,
        client_secret: str,
        *,
        access_lifetime: int = 3600,
        application_token: str | None = None,
    ) -> dict[str, Any]:
        """Install a local app; returns the ``auth`` payload the install callback carries.

        Keys: ``access_token``, ``refresh_token``, ``expires`` (unix), ``expires_in``,
        ``scope``, ``domain``, ``server_endpoint``, ``client_endpoint``, ``member_id``,
        ``application_token``, ``status``, ``user_id``.
        """
        return self.oauth.install(
            client_id,
            client_secret,
            access_lifetime=access_lifetime,
            application_token=application_token,
        )

    def issue_authorization_code(self, client_id: str) -> str:
        """The ``code`` of an authorization redirect, for ``grant_type=authorization_code``."""
        return self.oauth.issue_authorization_code(client_id)

    def expire_access_tokens(self) -> None:
        """Test hook: every issued access token is expired now (→ ``401 expired_token``)."""
        self.oauth.expire_access_tokens()

    def revoke_refresh_tokens(self) -> None:
        """Test hook: refresh tokens no longer work (→ ``invalid_grant``)."""
        self.oauth.revoke_refresh_tokens()

    @property
    def deliveries(self) -> list[Delivery]:
        """Outcomes of online event POSTs, in delivery order."""
        return self.events.deliveries

    # -- execution -------------------------------------------------------------------------
    def _operating_view(self, credential: str, method: str) -> tuple[float, int] | None:
        if not self.cloud:
            return None
        return self.operating.snapshot(credential, method)

    def _execute(
        self, method: str, params: dict[str, Any], ctx: Context, credential: str, *, in_batch: bool
    ) -> dict[str, Any]:
        name = normalize_method(method)
        # ``auth_connector`` on a write marks the writer (offline-event loop breaking);
        # for ``event.*`` it is a parameter of the method itself.
        connector = "" if name.startswith("event.") else str(params.get("auth_connector") or "")
        hidden = ("auth",) if name.startswith("event.") else ("auth", "auth_connector")
        params = {k: v for k, v in params.items() if k not in hidden}
        if name == "batch":
            if in_batch:
                raise batch_method_not_allowed()

            def run_sub(sub: str, sub_params: dict[str, Any]) -> dict[str, Any]:
                # A batch sent with ``auth_connector`` marks every write inside it.
                if connector and "auth_connector" not in sub_params:
                    sub_params = {**sub_params, "auth_connector": connector}
                return self._execute(sub, sub_params, ctx, credential, in_batch=True)

            return run_batch(
                params,
                run_sub,
                lambda: self._operating_view(credential, "batch"),
            )
        handler = self._methods.get(name)
        if handler is None:
            raise method_not_found()
        reply = handler(params, ctx)
        raised, ctx.raised = ctx.raised, []
        for event, fields in [*changes_of(name, params, reply), *raised]:
            self.events.emit(event, fields, ctx, connector)
        return reply

    def call(
        self, method: str, params: dict[str, Any] | None = None, *, client_id: str | None = None
    ) -> dict[str, Any]:
        """Run a method in-process as the webhook user (or app ``client_id``); no rate limit.

        Returns the full JSON body (``result``, ``time`` and ``total``/``next`` for
        lists); raises :class:`RestError` exactly where a portal answers an error.
        """
        if client_id is None:
            ctx, credential = Context(self.webhook_user_id), self._webhook_credential()
        else:
            ctx, credential = Context(self.webhook_user_id, client_id), f"app:{client_id}"
        start = time.time()
        began = time.perf_counter()
        reply = self._execute(method, dict(params or {}), ctx, credential, in_batch=False)
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

    def _authorize(self, route: RestRoute) -> tuple[Context, str]:
        """Resolve the caller → ``(context, credential key)``; raise NO_AUTH_FOUND / expired."""
        if route.is_webhook:
            if route.user_id == self.webhook_user_id and hmac.compare_digest(
                str(route.code), self.webhook_code
            ):
                return Context(self.webhook_user_id), self._webhook_credential()
            raise no_auth()
        token = route.token or ""
        if not token:
            raise no_auth()
        app = self.oauth.resolve(token)
        if app is not None:
            return Context(app[0], client_id=app[1]), f"app:{app[1]}"
        user_id = self.token_resolver(token)
        if user_id is None:
            raise no_auth()
        return Context(user_id, client_id=""), "oauth"

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
            ctx, credential = self._authorize(route)
            method = normalize_method(route.method)
            if self.cloud and self.operating.is_blocked(credential, method):
                self._count("served_429")
                raise operation_time_limit()
            start = time.time()
            began = time.perf_counter()
            try:
                reply = self._execute(method, params, ctx, credential, in_batch=False)
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
