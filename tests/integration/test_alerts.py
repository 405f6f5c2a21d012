"""Alerts through a real SMTP server: one mail per incident, one on recovery, no floods."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

from bitrix1c.demo import demo_settings
from bitrix1c.errors import Bitrix24AuthError
from bitrix1c.monitor.alerts import Alerter, EmailChannel, WebhookChannel, channels_from
from bitrix1c.sandbox.server import Endpoints, SandboxThread
from bitrix1c.service import Service
from bitrix1c.settings import AlertSettings, EmailAlerts, WebhookAlerts
from bitrix1c.state.store import Store
from smtp_server import SmtpServer


def email_settings(smtp: SmtpServer) -> AlertSettings:
    return AlertSettings(
        email=EmailAlerts(
            host="127.0.0.1",
            port=smtp.port,
            security="none",
            sender="bitrix1c@example.ru",
            recipients=["oncall@example.ru"],
        ),
        dashboard_url="http://dash.example.ru/",
    )


@pytest.fixture
async def store(sqlite_url: str) -> AsyncIterator[Store]:
    store = await Store.open(sqlite_url)
    yield store
    await store.close()


async def test_one_mail_per_incident_and_one_on_recovery(smtp: SmtpServer, store: Store) -> None:
    settings = email_settings(smtp)
    alerter = Alerter(store, settings, channels_from(settings))
    for _ in range(5):
        await alerter.problem("auth", "bitrix24", "NO_AUTH_FOUND", hint="Check the webhook URL.")
    assert smtp.inbox.subjects() == ["[bitrix1c] PROBLEM: credentials rejected: bitrix24"]
    body = smtp.inbox.messages[0].get_payload()
    assert "Check the webhook URL." in body and "http://dash.example.ru/" in body
    (incident,) = await alerter.open_incidents()
    assert incident.count == 5

    await alerter.recovered("auth", "bitrix24")
    await alerter.recovered("auth", "bitrix24")
    assert smtp.inbox.subjects()[1:] == ["[bitrix1c] RECOVERED: credentials rejected: bitrix24"]
    assert "5 occurrence(s)" in smtp.inbox.messages[1].get_payload()
    assert await alerter.open_incidents() == []


async def test_unreachable_alerts_only_after_the_grace_period(
    smtp: SmtpServer, store: Store
) -> None:
    settings = email_settings(smtp)
    alerter = Alerter(store, settings, channels_from(settings))
    await alerter.problem("unreachable", "1c:trade", "refused", notify_after=timedelta(minutes=10))
    assert smtp.inbox.messages == []
    # A blip that recovers before the grace period sends nothing at all.
    await alerter.recovered("unreachable", "1c:trade")
    assert smtp.inbox.messages == []
    await alerter.problem("unreachable", "1c:trade", "refused", notify_after=timedelta(0))
    assert len(smtp.inbox.messages) == 1


async def test_a_broken_channel_does_not_stop_the_others(smtp: SmtpServer, store: Store) -> None:
    settings = email_settings(smtp)
    hook = WebhookChannel(
        WebhookAlerts(url="http://127.0.0.1:9/hook"),  # type: ignore[arg-type]
        transport=httpx.MockTransport(lambda r: httpx.Response(500)),
    )
    alerter = Alerter(store, settings, [hook, EmailChannel(settings.email)])  # type: ignore[arg-type]
    await alerter.problem("drift", "counterparties", "Catalog_Контрагенты.ИНН is gone")
    assert len(smtp.inbox.messages) == 1


async def test_webhook_channel_posts_text_and_chat_id(store: Store) -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"ok": True})

    settings = AlertSettings(
        webhook=WebhookAlerts(url="https://api.telegram.org/botX/sendMessage", chat_id="-100")
    )  # type: ignore[arg-type]
    channel = WebhookChannel(settings.webhook, transport=httpx.MockTransport(handler))  # type: ignore[arg-type]
    await Alerter(store, settings, [channel]).problem("auth", "bitrix24", "expired")
    payload = seen[0].read().decode()
    assert '"chat_id":"-100"' in payload.replace(" ", "") and "credentials rejected" in payload


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[Endpoints]:
    with SandboxThread(tmp_path / "sandbox", scale=30) as endpoints:
        yield endpoints


async def test_revoked_webhook_alerts_once_and_recovery_is_announced(
    sandbox: Endpoints, smtp: SmtpServer, tmp_path: Path
) -> None:
    good = demo_settings(sandbox, tmp_path, port=0)
    revoked_url = sandbox.bitrix24_webhook_url.replace("/rest/1/", "/rest/1/x")
    bad = good.model_copy(
        update={
            "bitrix24": good.bitrix24.model_copy(update={"webhook_url": SecretStr(revoked_url)}),
            "alerts": email_settings(smtp),
        }
    )
    for _ in range(3):
        service = await Service.open(bad)
        try:
            with pytest.raises(Bitrix24AuthError):
                await service.run("counterparties", trigger="test")
        finally:
            await service.close()
    assert smtp.inbox.subjects() == ["[bitrix1c] PROBLEM: credentials rejected: bitrix24"]
    assert (
        "re-authorize" in smtp.inbox.messages[0].get_payload()
        or "webhook" in smtp.inbox.messages[0].get_payload()
    )

    fixed = bad.model_copy(update={"bitrix24": good.bitrix24})
    service = await Service.open(fixed)
    try:
        summary = await service.run("counterparties", trigger="test")
        # Look-alikes of companies typed without requisites wait in the review queue.
        assert summary.created + summary.updated + summary.skipped - 1 == 30
        assert await service.alerter.open_incidents() == []
    finally:
        await service.close()
    assert smtp.inbox.subjects()[1:] == ["[bitrix1c] RECOVERED: credentials rejected: bitrix24"]


async def test_overdue_run_alerts_once_and_recovers(
    smtp: SmtpServer, sqlite_url: str, tmp_path: Path
) -> None:
    """A run that outlasts its schedule opens an 'overdue' incident; its end closes it."""
    import asyncio

    from bitrix1c.jobs.scheduler import run_once_watched
    from bitrix1c.settings import parse_settings

    settings = parse_settings(
        {
            "bitrix24": {"webhook_url": "http://127.0.0.1:9/rest/1/x/"},
            "onec": [
                {
                    "name": "trade",
                    "odata_url": "http://127.0.0.1:9/t/odata/standard.odata/",
                    "username": "u",
                }
            ],
            "store": {"url": sqlite_url},
        },
        env={},
    ).model_copy(update={"alerts": email_settings(smtp)})
    service = await Service.open(settings)
    try:

        async def slow_run(flow: str, *, trigger: str) -> None:
            await asyncio.sleep(0.5)

        service.run = slow_run  # type: ignore[method-assign]
        await run_once_watched(service, "counterparties", interval=0.1, trigger="test")
    finally:
        await service.close()
    assert smtp.inbox.subjects() == [
        "[bitrix1c] PROBLEM: flow did not finish in time: counterparties",
        "[bitrix1c] RECOVERED: flow did not finish in time: counterparties",
    ]


async def test_burst_of_record_errors_is_one_incident_shown_in_the_api(
    sandbox: Endpoints, smtp: SmtpServer, tmp_path: Path
) -> None:
    from urllib.parse import quote

    from bitrix1c.web.auth import hash_password

    onec = httpx.Client(
        base_url=sandbox.onec_odata_url, auth=(sandbox.onec_username, sandbox.onec_password)
    )
    rows = onec.get(
        "Catalog_Контрагенты?$format=json&$filter=" + quote("ЮрФизЛицо eq 'ЮрЛицо'")
    ).json()["value"]
    broken = rows[:10]
    for row in broken:
        onec.patch(
            f"Catalog_Контрагенты(guid'{row['Ref_Key']}')?$format=json", json={"ИНН": "1234567890"}
        ).raise_for_status()
    settings = demo_settings(sandbox, tmp_path, port=0).model_copy(
        update={"alerts": email_settings(smtp)}
    )
    settings = settings.model_copy(
        update={
            "web": settings.web.model_copy(update={"password_hash": SecretStr(hash_password("pw"))})
        }
    )
    for _ in range(2):
        service = await Service.open(settings)
        try:
            summary = await service.run("counterparties", trigger="test")
            assert summary.failed == 10
        finally:
            await service.close()
    assert smtp.inbox.subjects() == ["[bitrix1c] PROBLEM: too many record errors: counterparties"]
    assert "10 of 31 records failed" in smtp.inbox.messages[0].get_payload()

    service = await Service.open(settings)
    try:
        web = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=service.web_app()),
            base_url="http://t",
            auth=("admin", "pw"),
        )
        (incident,) = (await web.get("/api/incidents")).json()["incidents"]
        assert (incident["kind"], incident["subject"], incident["count"]) == (
            "error_rate",
            "counterparties",
            2,
        )
        assert len((await web.get("/api/errors")).json()["errors"]) == 10
        for row in broken:  # the accountant fixes the INNs in 1C
            onec.patch(
                f"Catalog_Контрагенты(guid'{row['Ref_Key']}')?$format=json",
                json={"ИНН": row["ИНН"]},
            ).raise_for_status()
        summary = await service.run("counterparties", trigger="test")
        assert summary.failed == 0
        assert (await web.get("/api/incidents")).json()["incidents"] == []
        assert (await web.get("/api/errors")).json()["errors"] == []  # resolved by the sync itself
    finally:
        await service.close()
    assert smtp.inbox.subjects()[1:] == [
        "[bitrix1c] RECOVERED: too many record errors: counterparties"
    ]


@pytest.mark.parametrize(("tls", "security"), [("starttls", "starttls"), ("implicit", "tls")])
async def test_mail_goes_over_starttls_and_implicit_tls(
    tls: str, security: str, store: Store
) -> None:
    with SmtpServer(tls=tls) as server:
        email = EmailAlerts(
            host="127.0.0.1",
            port=server.port,
            security=security,
            validate_certs=False,  # type: ignore[arg-type]
            sender="bitrix1c@example.ru",
            recipients=["oncall@example.ru"],
        )
        settings = AlertSettings(email=email)
        await Alerter(store, settings, channels_from(settings)).problem(
            "auth", "bitrix24", "expired"
        )
        assert server.inbox.subjects() == ["[bitrix1c] PROBLEM: credentials rejected: bitrix24"]
        if tls == "starttls":  # the server refuses mail before STARTTLS; it saw the upgrade
            assert server.inbox.tls_seen == [True]
        # (an implicit-TLS port cannot be spoken to in plain text at all)


async def test_1c_down_alerts_after_grace_and_recovers(
    sandbox: Endpoints, smtp: SmtpServer, tmp_path: Path
) -> None:
    from bitrix1c.errors import OneCUnavailable
    from bitrix1c.onec.odata import RetryPolicy
    from smtp_server import free_port

    good = demo_settings(sandbox, tmp_path, port=0)
    alerts = email_settings(smtp).model_copy(update={"unreachable_minutes": 0})
    down_base = good.onec[0].model_copy(
        update={"odata_url": f"http://127.0.0.1:{free_port()}/trade/odata/standard.odata/"}
    )
    down = good.model_copy(update={"onec": [down_base], "alerts": alerts})
    for _ in range(3):
        service = await Service.open(down)
        service.onec["trade"].retry = RetryPolicy(attempts=2, base=0.01)
        try:
            with pytest.raises(OneCUnavailable):
                await service.run("counterparties", trigger="test")
        finally:
            await service.close()
    assert smtp.inbox.subjects() == ["[bitrix1c] PROBLEM: system unreachable: 1c:trade"]
    assert "cannot reach 1C" in smtp.inbox.messages[0].get_payload()

    service = await Service.open(good.model_copy(update={"alerts": alerts}))
    try:
        await service.run("counterparties", trigger="test")
    finally:
        await service.close()
    assert smtp.inbox.subjects()[1:] == ["[bitrix1c] RECOVERED: system unreachable: 1c:trade"]
