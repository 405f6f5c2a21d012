"""Alerts: one message when an incident opens, one when it recovers, nothing in between.

An *incident* is a condition that needs a person (credentials rejected, a 1C base down,
metadata drift, too many record errors, a flow overdue), keyed by kind and subject
(``auth:bitrix24``, ``unreachable:1c:trade``). ``Alerter.problem`` opens it or counts one
more occurrence; ``Alerter.recovered`` closes it. Incidents live in the store, so a restart
neither repeats a mail nor forgets an open problem. Channels (e-mail, webhook) share one
interface; a channel that fails is logged and does not stop the exchange.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import Any, Protocol

import aiosmtplib
import httpx
import sqlalchemy as sa
import structlog

from bitrix1c.errors import Bitrix1cError
from bitrix1c.settings import AlertSettings, EmailAlerts, WebhookAlerts
from bitrix1c.state.store import RunSummary, Store, aware, utcnow
from bitrix1c.state.tables import incidents

log = structlog.get_logger(__name__)

KIND_TITLES = {
    "auth": "credentials rejected",
    "access": "permission missing",
    "unreachable": "system unreachable",
    "drift": "metadata drift stops a flow",
    "error_rate": "too many record errors",
    "overdue": "flow did not finish in time",
    "store": "state store unavailable",
}


@dataclass(frozen=True)
class Incident:
    """One open or resolved incident."""

    id: int
    key: str
    kind: str
    subject: str
    status: str
    message: str
    hint: str
    count: int
    opened_at: datetime
    last_seen: datetime
    notified: bool
    resolved_at: datetime | None

    @classmethod
    def from_row(cls, row: Any) -> Incident:
        opened, last = aware(row["opened_at"]), aware(row["last_seen"])
        assert opened is not None and last is not None
        return cls(
            id=row["id"],
            key=row["key"],
            kind=row["kind"],
            subject=row["subject"],
            status=row["status"],
            message=row["message"],
            hint=row["hint"],
            count=row["count"],
            opened_at=opened,
            last_seen=last,
            notified=row["notified"],
            resolved_at=aware(row["resolved_at"]),
        )

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form (API)."""
        return {
            "id": self.id,
            "kind": self.kind,
            "subject": self.subject,
            "title": self.title,
            "status": self.status,
            "message": self.message,
            "hint": self.hint,
            "count": self.count,
            "opened_at": self.opened_at.isoformat(),
            "last_seen": self.last_seen.isoformat(),
            "resolved_at": self.resolved_at.isoformat() if self.resolved_at else None,
        }

    @property
    def title(self) -> str:
        return f"{KIND_TITLES.get(self.kind, self.kind)}: {self.subject}"


async def incidents_of(store: Store, status: str | None = "open") -> list[Incident]:
    """Incidents by status (None: all), oldest first."""
    query = sa.select(incidents).order_by(incidents.c.opened_at)
    if status is not None:
        query = query.where(incidents.c.status == status)
    async with store.engine.connect() as conn:
        rows = (await conn.execute(query)).mappings().all()
    return [Incident.from_row(row) for row in rows]


class Channel(Protocol):
    """Somewhere alerts go."""

    name: str

    async def send(self, subject: str, body: str) -> None: ...


class EmailChannel:
    """SMTP with STARTTLS, implicit TLS or plain (for a local relay)."""

    name = "email"

    def __init__(self, settings: EmailAlerts) -> None:
        self.settings = settings

    async def send(self, subject: str, body: str) -> None:
        s = self.settings
        message = EmailMessage()
        message["From"] = s.sender
        message["To"] = ", ".join(s.recipients)
        message["Subject"] = subject
        message.set_content(body)
        await aiosmtplib.send(
            message,
            hostname=s.host,
            port=s.port,
            username=s.username,
            password=s.password.get_secret_value() or None if s.username else None,
            use_tls=s.security == "tls",
            start_tls=s.security == "starttls",
            validate_certs=s.validate_certs,
            timeout=s.timeout_seconds,
        )


class WebhookChannel:
    """POST of JSON ``{"text": …}`` (plus ``chat_id`` for a Telegram bot URL)."""

    name = "webhook"

    def __init__(self, settings: WebhookAlerts, transport: httpx.AsyncBaseTransport | None = None):
        self.settings = settings
        self.transport = transport

    async def send(self, subject: str, body: str) -> None:
        payload: dict[str, Any] = {"text": f"{subject}\n\n{body}"}
        if self.settings.chat_id:
            payload["chat_id"] = self.settings.chat_id
        async with httpx.AsyncClient(transport=self.transport, timeout=30) as client:
            response = await client.post(self.settings.url.get_secret_value(), json=payload)
            response.raise_for_status()


def channels_from(settings: AlertSettings) -> list[Channel]:
    found: list[Channel] = []
    if settings.email is not None:
        found.append(EmailChannel(settings.email))
    if settings.webhook is not None:
        found.append(WebhookChannel(settings.webhook))
    return found


class Alerter:
    """Opens, counts and closes incidents, and tells the channels once per change."""

    def __init__(self, store: Store, settings: AlertSettings, channels: list[Channel]):
        self.store = store
        self.settings = settings
        self.channels = channels

    # --- reporting ----------------------------------------------------------------------

    async def problem(
        self,
        kind: str,
        subject: str,
        message: str,
        *,
        hint: str = "",
        notify_after: timedelta = timedelta(0),
    ) -> Incident:
        """Record an occurrence of a problem; alert once it has lasted ``notify_after``."""
        key = f"{kind}:{subject}"
        now = utcnow()
        async with self.store.transaction() as conn:
            row = await self._find_open(conn, key)
            if row is None:
                await conn.execute(
                    sa.insert(incidents).values(
                        key=key,
                        kind=kind,
                        subject=subject,
                        status="open",
                        message=message,
                        hint=hint,
                        count=1,
                        opened_at=now,
                        last_seen=now,
                        notified=False,
                    )
                )
            else:
                await conn.execute(
                    sa.update(incidents)
                    .where(incidents.c.id == row["id"])
                    .values(count=incidents.c.count + 1, last_seen=now, message=message)
                )
            found = await self._find_open(conn, key)
            assert found is not None
            incident = Incident.from_row(found)
        if not incident.notified and now - incident.opened_at >= notify_after:
            await self._notify(incident, opened=True)
            await self._mark_notified(incident.id)
        return incident

    async def recovered(self, kind: str, subject: str) -> Incident | None:
        """Close the open incident ``kind:subject`` (if any); say so if it was announced."""
        key = f"{kind}:{subject}"
        async with self.store.transaction() as conn:
            row = await self._find_open(conn, key)
            if row is None:
                return None
            resolved_at = utcnow()
            await conn.execute(
                sa.update(incidents)
                .where(incidents.c.id == row["id"])
                .values(status="resolved", resolved_at=resolved_at)
            )
            closed = Incident.from_row({**row, "status": "resolved", "resolved_at": resolved_at})
        if closed.notified:
            await self._notify(closed, opened=False)
        return closed

    async def open_incidents(self) -> list[Incident]:
        return await incidents_of(self.store, "open")

    # --- internals ----------------------------------------------------------------------

    @staticmethod
    async def _find_open(conn: Any, key: str) -> Any:
        """The open incident row with ``key``, or None."""
        query = sa.select(incidents).where(incidents.c.key == key, incidents.c.status == "open")
        return (await conn.execute(query)).mappings().first()

    async def _mark_notified(self, incident_id: int) -> None:
        async with self.store.transaction() as conn:
            await conn.execute(
                sa.update(incidents).where(incidents.c.id == incident_id).values(notified=True)
            )

    async def _notify(self, incident: Incident, *, opened: bool) -> None:
        link = self.settings.dashboard_url.rstrip("/") + "/"
        if opened:
            subject = f"[bitrix1c] PROBLEM: {incident.title}"
            body = (
                f"{incident.message}\n\nWhat to do: {incident.hint or 'see the dashboard.'}\n\n"
                f"First seen: {incident.opened_at:%Y-%m-%d %H:%M:%S} UTC, "
                f"occurrences so far: {incident.count}.\nDashboard: {link}\n"
            )
        else:
            duration = (incident.resolved_at or utcnow()) - incident.opened_at
            subject = f"[bitrix1c] RECOVERED: {incident.title}"
            body = (
                f"Recovered after {int(duration.total_seconds() // 60)} min and "
                f"{incident.count} occurrence(s).\nLast problem: {incident.message}\n"
                f"Dashboard: {link}\n"
            )
        for channel in self.channels:
            try:
                await channel.send(subject, body)
                log.info("alert.sent", channel=channel.name, incident=incident.key, opened=opened)
            except Exception as exc:  # an alert channel must never stop the exchange
                log.error(
                    "alert.failed",
                    channel=channel.name,
                    incident=incident.key,
                    error=f"{type(exc).__name__}: {exc}",
                )


# --- what a failure means for alerting ----------------------------------------------------


@dataclass(frozen=True)
class IncidentKey:
    kind: str
    subject: str
    notify_after: timedelta = timedelta(0)


def incident_for(error: BaseException, flow: str, settings: AlertSettings) -> IncidentKey | None:
    """The incident a run-stopping error belongs to (None: not an alerting matter)."""
    from bitrix1c import errors
    from bitrix1c.monitor.drift import MetadataDrift

    wait = timedelta(minutes=settings.unreachable_minutes)
    if isinstance(error, MetadataDrift):
        return IncidentKey("drift", flow)
    if isinstance(error, errors.OneCError):
        system = f"1c:{error.base or '?'}"
        if isinstance(error, errors.OneCAuthError):
            return IncidentKey("auth", system)
        if isinstance(error, errors.OneCUnavailable):
            return IncidentKey("unreachable", system, wait)
        if isinstance(error, errors.OneCRequestError):
            return IncidentKey("drift", flow)
    if isinstance(error, errors.Bitrix24AuthError):
        return IncidentKey("auth", "bitrix24")
    if isinstance(error, errors.Bitrix24AccessDenied):
        return IncidentKey("access", "bitrix24")
    if isinstance(error, errors.Bitrix24Unavailable):
        return IncidentKey("unreachable", "bitrix24", wait)
    if isinstance(error, errors.StoreError):
        return IncidentKey("store", "store")
    if isinstance(error, errors.StopAndAlert):
        return IncidentKey("flow", flow)
    return None


def recoverable_by_success(flow: str, systems: list[str]) -> list[tuple[str, str]]:
    """Incidents a successful run of ``flow`` over ``systems`` proves to be over."""
    keys = [("drift", flow), ("flow", flow), ("store", "store")]
    for system in systems:
        keys += [("auth", system), ("access", system), ("unreachable", system)]
    return keys


class RunAlerts:
    """Turns the ends of flow runs into incidents and recoveries."""

    def __init__(self, alerter: Alerter, systems_of: Callable[[str], list[str]]):
        self.alerter = alerter
        self.systems_of = systems_of

    async def failed(self, flow: str, error: Bitrix1cError) -> None:
        key = incident_for(error, flow, self.alerter.settings)
        if key is None:
            return
        await self.alerter.problem(
            key.kind,
            key.subject,
            f"Flow {flow!r} stopped: {error}",
            hint=error.hint,
            notify_after=key.notify_after,
        )

    async def finished(self, flow: str, summary: RunSummary) -> None:
        for kind, subject in recoverable_by_success(flow, self.systems_of(flow)):
            await self.alerter.recovered(kind, subject)
        settings = self.alerter.settings
        if summary.read >= settings.error_rate_min_records and (
            summary.failed / summary.read >= settings.error_rate_threshold
        ):
            await self.alerter.problem(
                "error_rate",
                flow,
                f"Flow {flow!r}: {summary.failed} of {summary.read} records failed "
                "in the last run.",
                hint="Open the error list on the dashboard: the records and what to do are there.",
            )
        else:
            await self.alerter.recovered("error_rate", flow)
