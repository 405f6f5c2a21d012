"""Changes 1C pushes are drained into the counterparties flow, against both sandboxes.

A counterparty is changed in the sandbox 1C, the change is POSTed to the service's
``/hooks/1c/trade`` the way 1C does, the drain reads the counterparty from 1C and updates the
company in the sandbox Bitrix24; the dashboard and the API show the transfer time. A 1C
outage during the drain leaves the change waiting for a later try; nothing is lost.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
import sqlalchemy as sa
from pydantic import SecretStr

from bitrix1c.demo import DEMO_PASSWORD, DEMO_USER, demo_settings
from bitrix1c.onec.odata import RetryPolicy
from bitrix1c.sandbox.server import Endpoints, SandboxThread
from bitrix1c.service import Service
from bitrix1c.state.tables import inbox
from bitrix1c.sync.inbox import InboxRetry

COUNTERPARTIES = "Catalog_Контрагенты"
TOKEN = "push-token-0123456789"
MOSCOW = ZoneInfo("Europe/Moscow")


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[Endpoints]:
    with SandboxThread(tmp_path / "sandbox", scale=30, seed=11) as endpoints:
        yield endpoints


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, sqlite_url: str) -> str:
    return sqlite_url if request.param == "sqlite" else str(request.getfixturevalue("pg_url"))


@pytest.fixture
async def service(sandbox: Endpoints, tmp_path: Path, store_url: str) -> AsyncIterator[Service]:
    settings = demo_settings(sandbox, tmp_path, port=0)
    base = settings.onec[0].model_copy(update={"push_token": SecretStr(TOKEN)})
    store = settings.store.model_copy(update={"url": store_url})
    service = await Service.open(settings.model_copy(update={"onec": [base], "store": store}))
    try:
        await service.run("counterparties", trigger="test")  # the companies exist
        yield service
    finally:
        await service.close()


def onec(endpoints: Endpoints) -> httpx.Client:
    return httpx.Client(
        base_url=endpoints.onec_odata_url,
        auth=(endpoints.onec_username, endpoints.onec_password),
        params={"$format": "json"},
        timeout=30,
    )


def rename_a_legal_entity(endpoints: Endpoints) -> dict[str, Any]:
    """PATCH the first legal entity's name in the sandbox 1C; its row after the change."""
    with onec(endpoints) as client:
        rows = client.get(COUNTERPARTIES, params={"$orderby": "Ref_Key", "$top": "100"}).json()
        target = next(r for r in rows["value"] if r["ЮрФизЛицо"] == "ЮрЛицо")
        path = f"{COUNTERPARTIES}(guid'{target['Ref_Key']}')"
        changed = client.patch(path, json={"Description": target["Description"] + " (push)"})
        assert changed.status_code == 200, changed.text
        row: dict[str, Any] = client.get(path).json()
    return row


def company_title(endpoints: Endpoints, ref: str) -> str:
    reply = httpx.post(
        endpoints.bitrix24_webhook_url + "crm.company.list",
        json={"filter": {"ORIGIN_ID": ref}, "select": ["ID", "TITLE"]},
        timeout=30,
    ).json()
    (company,) = reply["result"]
    return str(company["TITLE"])


def web(service: Service) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=service.web_app()),
        base_url="http://bitrix1c",
        auth=(DEMO_USER, DEMO_PASSWORD),
    )


async def push(service: Service, changes: list[dict[str, Any]]) -> None:
    async with web(service) as client:
        reply = await client.post(
            "/hooks/1c/trade",
            json={"changes": changes},
            headers={"X-Bitrix1c-Token": TOKEN},  # Authorization carries the login
        )
    assert reply.status_code == 200, reply.text


def change(row: dict[str, Any], *, ago: float = 5.0, type_: str = COUNTERPARTIES) -> dict[str, Any]:
    # 1C sends its local time without a zone; the sandbox base runs on Moscow time.
    local = datetime.now(MOSCOW) - timedelta(seconds=ago)
    return {
        "type": type_,
        "Ref_Key": row["Ref_Key"],
        "DataVersion": row["DataVersion"],
        "event": "written",
        "changed_at": local.replace(tzinfo=None, microsecond=0).isoformat(),
    }


async def inbox_rows(service: Service) -> list[dict[str, Any]]:
    async with service.store.engine.connect() as conn:
        rows = (await conn.execute(sa.select(inbox).order_by(inbox.c.id))).mappings().all()
    return [dict(row) for row in rows]


async def test_a_pushed_change_reaches_bitrix24_with_its_transfer_time(
    sandbox: Endpoints, service: Service
) -> None:
    row = rename_a_legal_entity(sandbox)
    assert company_title(sandbox, row["Ref_Key"]) != row["Description"]
    gone = {**row, "Ref_Key": str(uuid.uuid4())}  # deleted in 1C before the drain
    order = {**row, "Ref_Key": str(uuid.uuid4())}
    await push(
        service,
        [change(row), change(gone), change(order, type_="Document_ЗаказКлиента")],
    )
    async with web(service) as client:
        assert (await client.get("/")).text.count('id="inbox-backlog">3<') == 1

    result = await service.inbox_drain().drain()

    assert (result.done, result.missing, result.skipped, result.retried) == (2, 1, 1, 0)
    assert company_title(sandbox, row["Ref_Key"]) == row["Description"]
    synced, missing, skipped = await inbox_rows(service)
    assert synced["status"] == "done" and synced["synced_at"] is not None
    assert synced["processed_at"] is not None and synced["error"] is None
    assert (missing["status"], missing["error"]) == ("done", "the object no longer exists in 1C")
    assert missing["synced_at"] is None
    assert skipped["status"] == "skipped"
    (run,) = await service.store.recent_runs(limit=1)
    assert (run.trigger, run.status, run.summary.read, run.summary.updated) == ("push", "ok", 1, 1)

    async with web(service) as client:
        transfer = (await client.get("/api/transfer")).json()
        assert transfer["count"] == 1
        # Changed 5 s before the POST (Moscow time): the zone was applied, not taken as UTC.
        assert 4 <= transfer["median_seconds"] < 120
        overview = (await client.get("/?lang=en")).text
        assert 'id="transfer-median"' in overview and 'id="inbox-backlog">0<' in overview
        metrics = (await client.get("/metrics")).text
        assert 'bitrix1c_transfer_seconds_count{flow="counterparties"}' in metrics

    # Drained again: nothing new, nothing done twice.
    again = await service.inbox_drain().drain()
    assert (again.done, again.retried, again.skipped) == (0, 0, 0)


async def test_a_1c_outage_during_the_drain_retries_the_change_later(
    sandbox: Endpoints, service: Service
) -> None:
    row = rename_a_legal_entity(sandbox)
    await push(service, [change(row)])
    faults = sandbox.onec_odata_url.split(f"/{sandbox.onec_base}/odata")[0] + "/_sandbox/faults"
    service.onec["trade"].retry = RetryPolicy(attempts=1)
    drain = service.inbox_drain()
    drain.retry = InboxRetry(attempts=3, first_seconds=0.2, max_seconds=0.2)

    httpx.post(faults, json={"html_error": 100}, timeout=10).raise_for_status()
    try:
        down = await drain.drain()
        assert (down.done, down.retried) == (0, 1)
        (waiting,) = await inbox_rows(service)
        assert (waiting["status"], waiting["attempts"]) == ("new", 1)
        assert waiting["next_attempt_at"] is not None and "OneCUnavailable" in waiting["error"]
        not_yet = await drain.drain()  # the next try is not due yet
        assert (not_yet.done, not_yet.retried) == (0, 0)
    finally:
        httpx.post(faults, json={"clear": True}, timeout=10).raise_for_status()
    (failed_run,) = await service.store.recent_runs(limit=1)
    assert (failed_run.trigger, failed_run.status) == ("push", "failed")

    await asyncio.sleep(0.3)
    up = await drain.drain()
    assert (up.done, up.retried) == (1, 0)
    (done,) = await inbox_rows(service)
    assert (done["status"], done["attempts"]) == ("done", 2)
    assert company_title(sandbox, row["Ref_Key"]) == row["Description"]


async def test_after_the_last_try_the_change_is_failed_and_in_the_error_log(
    sandbox: Endpoints, service: Service
) -> None:
    row = rename_a_legal_entity(sandbox)
    await push(service, [change(row)])
    faults = sandbox.onec_odata_url.split(f"/{sandbox.onec_base}/odata")[0] + "/_sandbox/faults"
    service.onec["trade"].retry = RetryPolicy(attempts=1)
    drain = service.inbox_drain()
    drain.retry = InboxRetry(attempts=1)
    httpx.post(faults, json={"html_error": 100}, timeout=10).raise_for_status()
    try:
        result = await drain.drain()
    finally:
        httpx.post(faults, json={"clear": True}, timeout=10).raise_for_status()
    assert (result.failed, result.retried) == (1, 0)
    async with web(service) as client:
        (failed,) = (await client.get("/api/inbox?status=failed")).json()["inbox"]
        assert failed["Ref_Key"] == row["Ref_Key"] and "OneCUnavailable" in failed["error"]
        (error,) = (await client.get("/api/errors")).json()["errors"]
        assert error["class"] == "PushNotProcessed"
        assert error["record"] == f"trade:{row['Ref_Key']}"
        assert 'id="inbox-failed" class="failed">1<' in (await client.get("/")).text
        assert 'bitrix1c_backlog{kind="inbox_failed"} 1.0' in (await client.get("/metrics")).text
    # The next full run syncs the record: the error resolves itself.
    await service.run("counterparties", trigger="test")
    assert await service.store.errors() == []
    assert company_title(sandbox, row["Ref_Key"]) == row["Description"]


def test_retry_strategy_backs_off_then_gives_up() -> None:
    retry = InboxRetry(attempts=4, first_seconds=30, max_seconds=100)
    now = datetime(2025, 2, 4, 12, 0, tzinfo=MOSCOW)
    waits = [retry.next_try(n, now) for n in range(1, 5)]
    assert [(w - now).total_seconds() if w else None for w in waits] == [30, 60, 100, None]


async def test_pushed_changes_wait_while_drift_stops_the_flow(
    sandbox: Endpoints, tmp_path: Path, sqlite_url: str
) -> None:
    settings = demo_settings(sandbox, tmp_path, port=0)
    base = settings.onec[0].model_copy(update={"push_token": SecretStr(TOKEN)})
    checks = settings.checks.model_copy(update={"every_minutes": 0.0001})  # check every time
    store = settings.store.model_copy(update={"url": sqlite_url})
    service = await Service.open(
        settings.model_copy(update={"onec": [base], "store": store, "checks": checks})
    )
    try:
        await service.run("counterparties", trigger="test")
        # A new mandatory company field the mapping does not fill: writes would fail.
        field = {"FIELD_NAME": "SEGMENT", "USER_TYPE_ID": "string", "MANDATORY": "Y"}
        created = httpx.post(
            sandbox.bitrix24_webhook_url + "crm.company.userfield.add",
            json={"fields": field},
            timeout=30,
        ).json()
        row = rename_a_legal_entity(sandbox)
        await push(service, [change(row)])
        drain = service.inbox_drain()
        drain.retry = InboxRetry(attempts=5, first_seconds=0.1, max_seconds=0.1)
        stopped = await drain.drain()
        assert (stopped.done, stopped.retried) == (0, 1)
        (waiting,) = await inbox_rows(service)
        assert waiting["status"] == "new" and "MetadataDrift" in waiting["error"]
        assert company_title(sandbox, row["Ref_Key"]) != row["Description"], "nothing written"

        httpx.post(
            sandbox.bitrix24_webhook_url + "crm.company.userfield.delete",
            json={"id": created["result"]},
            timeout=30,
        ).raise_for_status()
        await asyncio.sleep(0.2)
        resumed = await drain.drain()
        assert (resumed.done, resumed.retried) == (1, 0)
        assert company_title(sandbox, row["Ref_Key"]) == row["Description"]
    finally:
        await service.close()
