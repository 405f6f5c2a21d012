"""The service: the store, one client per system, and the flows built from settings."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

import structlog
from starlette.applications import Starlette
from starlette.routing import BaseRoute

from bitrix1c.bitrix24.auth import StateTokenStore
from bitrix1c.bitrix24.client import Bitrix24Client
from bitrix1c.bitrix24.config import open_client
from bitrix1c.monitor.alerts import Alerter, RunAlerts, channels_from
from bitrix1c.monitor.drift import DriftDecision, DriftFinding, check_counterparties, decide
from bitrix1c.onec.odata import ODataClient
from bitrix1c.onec.profiles import get_profile
from bitrix1c.settings import Settings
from bitrix1c.state.store import RunSummary, Store
from bitrix1c.sync.engine import FlowBody, Progress, RunContext, run_flow
from bitrix1c.sync.flows.bank_details import BankDetailSync
from bitrix1c.sync.flows.companies_to_onec import CompanyToOneC
from bitrix1c.sync.flows.contact_persons import ContactPersonSync
from bitrix1c.sync.flows.contacts_to_onec import ContactToOneC
from bitrix1c.sync.flows.counterparties import FLOW as COUNTERPARTIES
from bitrix1c.sync.flows.counterparties import CounterpartySync
from bitrix1c.sync.flows.individual_contacts import IndividualContactSync
from bitrix1c.sync.flows.requisite_addresses import RequisiteAddressSync
from bitrix1c.sync.inbox import InboxDrain, InboxRetry, PushConsumer, SyncRows
from bitrix1c.web import bitrix24_events, commerceml, onec_push, review
from bitrix1c.web.app import create_app

log = structlog.get_logger(__name__)

S = TypeVar("S")

FLOWS = (COUNTERPARTIES,)


class Service:
    """Open with :meth:`open`, close with :meth:`close` (or ``async with``)."""

    def __init__(self, settings: Settings, store: Store, bitrix24: Bitrix24Client) -> None:
        self.settings = settings
        self.store = store
        self.bitrix24 = bitrix24
        # flow → (when, decision) of the last drift check that let the flow run
        self._decided: dict[str, tuple[float, DriftDecision]] = {}
        self._exchange: commerceml.ExchangeServer | None = None
        self.alerter = Alerter(store, settings.alerts, channels_from(settings.alerts))
        self.watch = RunAlerts(self.alerter, self.systems_of)
        self.onec = {
            base.name: ODataClient(
                base.odata_url,
                base.username,
                base.password.get_secret_value(),
                base=base.name,
                timeout=base.timeout_seconds,
            )
            for base in settings.onec
        }

    @classmethod
    async def open(cls, settings: Settings) -> Service:
        store = await Store.open(settings.store.url)
        try:
            # A webhook client, or an OAuth app whose tokens live in the store.
            bitrix24 = await open_client(settings.bitrix24, store)
        except BaseException:
            await store.close()
            raise
        return cls(settings, store, bitrix24)

    async def close(self) -> None:
        if self._exchange is not None:
            self._exchange.close()
        await self.bitrix24.aclose()
        for client in self.onec.values():
            await client.aclose()
        await self.store.close()

    async def __aenter__(self) -> Service:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def web_app(self) -> Starlette:
        """The web side: dashboard, API, metrics, health, and the hooks 1C and Bitrix24 call."""
        tokens = {b.name: b.push_token for b in self.settings.onec if b.push_token}
        routes: list[BaseRoute] = [
            *bitrix24_events.routes(self.store, StateTokenStore(self.store).application_token),
            *onec_push.routes(self.store, tokens),
            *review.routes(self.store),
        ]
        if self.settings.commerceml is not None:
            if self._exchange is None:
                self._exchange = commerceml.ExchangeServer(self.store, self.settings.commerceml)
            routes += self._exchange.routes()
        return create_app(
            self.store,
            web=self.settings.web,
            flows=self.enabled_flows(),
            systems_of=self.systems_of,
            live=self.live_health,
            extra_routes=routes,
        )

    def live_health(self) -> dict[str, str]:
        """What only the running service knows: request budget in use, token expiry."""
        health = {"budget": f"{self.bitrix24.bucket.usage():.0%}"}
        tokens = getattr(self.bitrix24.auth, "tokens", None)
        if tokens is not None:
            health["token"] = f"{tokens.expires_at:%Y-%m-%d %H:%M} UTC"
        return health

    def systems_of(self, flow: str) -> list[str]:
        """The systems a flow talks to, as incident subjects."""
        base = getattr(self.settings.flows, flow).base
        return ["bitrix24", f"1c:{self.settings.onec_base(base).name}"]

    def enabled_flows(self) -> list[str]:
        return [name for name in FLOWS if getattr(self.settings.flows, name).enabled]

    def every_minutes(self, flow: str) -> float:
        return float(getattr(self.settings.flows, flow).every_minutes)

    def flow(self, name: str, drift: DriftDecision | None = None) -> FlowBody:
        """The callable that runs flow ``name`` once (without what ``drift`` skips)."""
        builders: dict[str, Callable[[], FlowBody]] = {
            COUNTERPARTIES: lambda: self._counterparty_steps(drift)
        }
        if name not in builders:
            raise KeyError(f"unknown flow {name!r}; known: {', '.join(builders)}")
        return builders[name]()

    async def check(self, name: str) -> list[DriftFinding]:
        """Drift findings of flow ``name`` against the live systems."""
        if name != COUNTERPARTIES:
            raise KeyError(f"unknown flow {name!r}")
        flow = self.settings.flows.counterparties
        base = self.settings.onec_base(flow.base)
        return await check_counterparties(
            bitrix24=self.bitrix24,
            onec=self.onec[base.name],
            profile=get_profile(base.profile, base.overrides),
            base=base.name,
            presets=flow.presets.model_dump(),
            assigned_by_id=flow.assigned_by_id,
            deletion_field=flow.deletion_field if flow.on_deletion_mark == "mark" else None,
        )

    async def drift_decision(self, name: str) -> DriftDecision:
        """Check flow ``name`` (when the last passing check is older than the setting) and
        apply its policy; raises ``MetadataDrift`` when the flow must not run.

        A check that stops the flow is not remembered: every run checks again, so the
        incident stays open (one alert) until the systems fit and the next run recovers it.
        """
        cached = self._decided.get(name)
        if cached is not None and time.monotonic() - cached[0] <= (
            self.settings.checks.every_minutes * 60
        ):
            return cached[1]
        decision = decide(name, self.settings.checks.policy(name), await self.check(name))
        self._decided[name] = (time.monotonic(), decision)
        return decision

    def _guarded(self, name: str, warnings: dict[int, str]) -> FlowBody:
        """Flow ``name`` preceded by the drift check; built without what the policy skips.

        The run's drift warning is put in ``warnings`` under its run id.
        """

        async def run(ctx: RunContext) -> None:
            decision = await self.drift_decision(name)
            if decision.warning:
                warnings[ctx.run_id] = decision.warning
            await self.flow(name, decision)(ctx)

        return run

    def _counterparties(self, drift: DriftDecision | None = None) -> FlowBody:
        """The counterparties flow; ``drift`` says which fields skip_field leaves out."""
        flow = self.settings.flows.counterparties
        base = self.settings.onec_base(flow.base)
        profile = get_profile(base.profile, base.overrides)
        if drift is not None and drift.onec_roles:
            profile = profile.without_counterparty_fields(drift.onec_roles)
        if drift is not None and flow.deletion_field in drift.b24_fields:
            # Without its user field a deletion mark cannot be written: treat marks as ignored.
            flow = flow.model_copy(update={"on_deletion_mark": "ignore"})
        sync = CounterpartySync(
            store=self.store,
            bitrix24=self.bitrix24,
            onec=self.onec[base.name],
            profile=profile,
            base=base.name,
            settings=flow,
        )
        sync.page_size = base.page_size
        return sync

    def _counterparty_steps(self, drift: DriftDecision | None = None) -> FlowBody:
        """One counterparties run: 1C → Bitrix24 companies, then what hangs off them, then
        (when ``to_1c`` is on) new CRM companies → 1C."""
        steps: list[FlowBody] = [self._counterparties(drift)]
        flow = self.settings.flows.counterparties
        base = self.settings.onec_base(flow.base)
        profile = get_profile(base.profile, base.overrides)
        onec = self.onec[base.name]

        def make(step: Callable[..., S], **own: Any) -> S:
            return step(
                store=self.store,
                bitrix24=self.bitrix24,
                onec=onec,
                profile=profile,
                base=base.name,
                **own,
            )

        if "bank_account" in profile.concepts:
            steps.append(make(BankDetailSync, settings=flow))
        if flow.address_kinds:
            steps.append(make(RequisiteAddressSync, kinds=dict(flow.address_kinds)))
        if flow.individuals_as == "contact":
            steps.append(make(IndividualContactSync, settings=flow))
        if "contact_person" in profile.concepts:
            steps.append(make(ContactPersonSync, settings=flow))
        if flow.to_1c:
            steps.append(make(CompanyToOneC, settings=flow))
            if "contact_person" in profile.concepts:
                steps.append(make(ContactToOneC, settings=flow))
        for step in steps:
            if isinstance(
                step,
                BankDetailSync | RequisiteAddressSync | IndividualContactSync | ContactPersonSync,
            ):
                step.page_size = base.page_size  # the steps that page through 1C
        if len(steps) == 1:
            return steps[0]

        async def in_order(ctx: RunContext) -> None:
            await steps[0](ctx)
            # The run's counters are the counterparties'; what hangs off them (bank
            # details, contact persons, CRM companies → 1C) is counted on its own and
            # logged, only its failures make the run partial.
            for step in steps[1:]:
                part = ctx.part()
                await step(part)
                ctx.count("failed", part.counts["failed"])
                log.info(
                    "run.step",
                    flow=ctx.flow,
                    run=ctx.run_id,
                    step=type(step).__name__,
                    **part.counts,
                )

        return in_order

    def inbox_drain(self) -> InboxDrain:
        """The drain of changes 1C pushed, wired to the flows that consume them."""
        consumers: list[PushConsumer] = []
        flow = self.settings.flows.counterparties
        if flow.enabled:
            base = self.settings.onec_base(flow.base)
            fields = get_profile(base.profile, base.overrides).counterparty

            def counterparty_rows() -> SyncRows:
                async def rows(ctx: RunContext, batch: Sequence[Mapping[str, Any]]) -> None:
                    # Pushed changes obey the drift policy like scheduled runs: a stop
                    # raises MetadataDrift (the rows wait and retry), skip_field leaves
                    # the same fields out.
                    decision = await self.drift_decision(COUNTERPARTIES)
                    sync = self._counterparties(decision)
                    assert isinstance(sync, CounterpartySync)
                    await sync.sync_rows(ctx, batch)

                return rows

            consumers.append(
                PushConsumer(
                    base=base.name,
                    object_type=fields.entity_set,
                    flow=COUNTERPARTIES,
                    onec=self.onec[base.name],
                    select=fields.select(),
                    sync_rows=counterparty_rows,
                    zone=base.zone(),
                )
            )
        settings = self.settings.inbox
        return InboxDrain(
            self.store,
            consumers,
            retry=InboxRetry(
                attempts=settings.attempts,
                first_seconds=settings.backoff_seconds,
                max_seconds=settings.max_backoff_seconds,
            ),
            batch=settings.batch,
            watch=self.watch,
        )

    async def run(
        self, name: str, *, trigger: str, dry_run: bool = False, progress: Progress | None = None
    ) -> RunSummary:
        """Run flow ``name`` once and return its counters.

        A drift warning (skip_field, warn) becomes the run's message, shown on the runs page
        and in ``/api/runs``.
        """
        warnings: dict[int, str] = {}
        body = self.flow(name)  # KeyError for an unknown flow, before a run is logged
        if not dry_run:
            body = self._guarded(name, warnings)
        summary, status, _message = await run_flow(
            self.store,
            name,
            body,
            trigger=trigger,
            dry_run=dry_run,
            progress=progress,
            watch=None if dry_run else self.watch,
        )
        for run_id, warning in warnings.items():
            await self.store.finish_run(run_id, summary, status, warning)
        return summary
