"""The service's web side: health, runs, record errors and their actions, metrics."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from bitrix1c.settings import WebSettings
from bitrix1c.state.store import RunSummary, Store
from bitrix1c.web.app import create_app
from bitrix1c.web.auth import hash_password

WEB = WebSettings(password_hash=hash_password("s3cret"))  # type: ignore[arg-type]


@pytest.fixture
async def store(sqlite_url: str) -> AsyncIterator[Store]:
    store = await Store.open(sqlite_url)
    yield store
    await store.close()


def client(store: Store) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(store, web=WEB)),
        base_url="http://t",
        auth=("admin", "s3cret"),
    )


async def test_health_runs_and_metrics(store: Store) -> None:
    run_id = await store.start_run("counterparties", "test")
    await store.finish_run(run_id, RunSummary(read=10, created=7, skipped=2, failed=1), "partial")
    await store.record_error(
        flow="counterparties",
        record_key="trade:r1",
        error_class="InvalidRecord",
        message="ИНН 7707083894 is invalid",
        hint="Correct it in 1C",
        payload={"ИНН": "7707083894"},
    )
    async with client(store) as web:
        assert (await web.get("/healthz")).json()["status"] == "ok"
        runs = (await web.get("/api/runs")).json()["runs"]
        assert runs[0]["created"] == 7 and runs[0]["status"] == "partial"
        overview = (await web.get("/")).text
        assert 'id="open-errors" class="open">1<' in overview
        assert 'class="ok"' in overview and 'class="failed"' in overview  # bars of the run
        errors = (await web.get("/errors")).text
        assert "ИНН 7707083894 is invalid" in errors and "Correct it in 1C" in errors
        english = (await web.get("/errors?lang=en")).text
        assert "What to do" in english
        text = (await web.get("/metrics")).text
        assert 'bitrix1c_record_errors{status="open"} 1.0' in text
        assert "bitrix1c_open_incidents 0.0" in text


async def test_record_error_actions(store: Store) -> None:
    for _ in range(2):
        await store.record_error(
            flow="counterparties",
            record_key="trade:r2",
            error_class="InvalidRecord",
            message="KPP is invalid",
            hint="fix",
            payload={"КПП": "77"},
        )
    async with client(store) as web:
        (error,) = (await web.get("/api/errors")).json()["errors"]
        assert error["attempts"] == 2
        detail = (await web.get(f"/api/errors/{error['id']}")).json()
        assert detail["payload"] == {"КПП": "77"}
        assert (await web.post(f"/api/errors/{error['id']}/ignore")).json()["status"] == "ignored"
        assert (await web.get("/api/errors")).json()["errors"] == []
        assert (await web.post("/api/errors/999/retry")).status_code == 404
        assert (await web.post(f"/api/errors/{error['id']}/explode")).status_code == 400
    # An ignored error stays ignored when it happens again.
    await store.record_error(
        flow="counterparties",
        record_key="trade:r2",
        error_class="InvalidRecord",
        message="KPP is invalid",
        hint="fix",
    )
    assert await store.errors() == []


async def test_everything_but_health_needs_a_login(store: Store) -> None:
    app = create_app(store, web=WEB)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://t"
    ) as web:
        assert (await web.get("/healthz")).status_code == 200
        assert (await web.get("/api/runs")).status_code == 401
        assert (await web.get("/metrics")).status_code == 401
        page = await web.get("/errors")
        assert page.status_code == 303 and page.headers["location"] == "/login?next=%2Ferrors"
        bad = await web.post("/login", data={"username": "admin", "password": "nope"})
        assert "Неверный пользователь или пароль" in bad.text
        good = await web.post(
            "/login", data={"username": "admin", "password": "s3cret", "next": "/errors"}
        )
        assert good.status_code == 303 and good.headers["location"] == "/errors"
        assert (await web.get("/errors?lang=en")).status_code == 200
        assert (await web.get("/api/runs")).status_code == 200
        await web.post("/logout")
        assert (await web.get("/api/runs")).status_code == 401
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://t", auth=("admin", "wrong")
    ) as web:
        assert (await web.get("/api/runs")).status_code == 401


async def test_without_a_password_the_dashboard_is_locked(store: Store) -> None:
    app = create_app(store)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://t"
    ) as web:
        locked = await web.get("/")
        assert locked.status_code == 503 and "web.password_hash" in locked.text
        assert (await web.get("/healthz")).status_code == 200


async def test_requests_to_1c_are_counted_in_metrics(store: Store) -> None:
    from bitrix1c.onec.odata import ODataClient

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"odata.metadata": "x", "value": []})

    async with ODataClient(
        "http://1c/trade/odata/standard.odata/",
        "u",
        "p",
        base="metrics-test",
        transport=httpx.MockTransport(handler),
    ) as onec:
        await onec.count("Catalog_Контрагенты")
    async with client(store) as web:
        text = (await web.get("/metrics")).text
    assert 'bitrix1c_requests_total{method="GET",status="200",system="1c:metrics-test"} 1.0' in text


SOURCE_ROW = {
    "Ref_Key": "0c8f3ab1-1d2e-4f00-9a55-000000000007",
    "DataVersion": "AAAAAQ==",
    "Description": "ООО Ромашка",
    "ИНН": "7707083895",
}


async def source_record_error(store: Store) -> int:
    await store.record_error(
        flow="counterparties",
        record_key=f"trade:{SOURCE_ROW['Ref_Key']}",
        error_class="InvalidRecord",
        message="ИНН 7707083895 is invalid",
        hint="Correct it in 1C",
        payload=SOURCE_ROW,
    )
    (error,) = await store.errors()
    return error.id


async def test_a_payload_is_edited_through_the_api(store: Store) -> None:
    error_id = await source_record_error(store)
    fixed = {**SOURCE_ROW, "ИНН": "7707083893"}
    async with client(store) as web:
        bad = await web.put(f"/api/errors/{error_id}/payload", json={**fixed, "DataVersion": "x"})
        assert bad.status_code == 400 and bad.json()["field"] == "DataVersion"
        assert "DataVersion" in bad.json()["error"]
        not_json = await web.put(f"/api/errors/{error_id}/payload", content="{ИНН".encode())
        assert not_json.status_code == 400 and not_json.json()["field"] == "payload"
        listed = await web.put(f"/api/errors/{error_id}/payload", json=[fixed])
        assert listed.status_code == 400 and listed.json()["field"] == "payload"
        assert (await web.put("/api/errors/999/payload", json=fixed)).status_code == 404
        saved = await web.put(f"/api/errors/{error_id}/payload", json=fixed)
        assert saved.status_code == 200
        body = saved.json()
        assert (body["status"], body["edited_payload"], body["edited_by"]) == (
            "retrying",
            fixed,
            "web:admin",
        )
        assert body["payload"] == SOURCE_ROW
        assert (await web.get(f"/api/errors/{error_id}")).json()["edited_payload"] == fixed
    assert await store.payload_overrides("counterparties", [f"trade:{SOURCE_ROW['Ref_Key']}"]) == {
        f"trade:{SOURCE_ROW['Ref_Key']}": fixed
    }


async def test_the_error_page_edits_a_payload_with_a_csrf_token(store: Store) -> None:
    import json
    import re

    error_id = await source_record_error(store)
    fixed = {**SOURCE_ROW, "ИНН": "7707083893"}
    async with client(store) as web:
        page = (await web.get(f"/errors/{error_id}?lang=en")).text
        assert 'id="payload-editor"' in page and "Save and retry" in page
        assert "7707083895" in page
        token = re.search(r'name="csrf" value="([^"]+)"', page)
        assert token is not None
        form = {"action": "edit", "payload": json.dumps(fixed, ensure_ascii=False)}

        forged = await web.post(f"/errors/{error_id}", data=form)
        assert forged.status_code == 403
        forged = await web.post(f"/errors/{error_id}", data={**form, "csrf": "guess"})
        assert forged.status_code == 403
        assert (await store.error(error_id)).edited_payload is None  # type: ignore[union-attr]

        wrong = {**form, "csrf": token[1], "payload": json.dumps({**fixed, "Ref_Key": "x"})}
        refused = await web.post(f"/errors/{error_id}?lang=en", data=wrong)
        assert refused.status_code == 400
        assert 'id="edit-problem"' in refused.text and "Ref_Key" in refused.text

        saved = await web.post(f"/errors/{error_id}", data={**form, "csrf": token[1]})
        assert saved.status_code == 303
        page = (await web.get(f"/errors/{error_id}?lang=en")).text
        assert 'class="retrying"' in page and 'id="edited-by"' in page
        assert "7707083893" in page

        ignored = await web.post(f"/errors/{error_id}", data={"action": "ignore", "csrf": token[1]})
        assert ignored.status_code == 303
        assert (await store.error(error_id)).status == "ignored"  # type: ignore[union-attr]
