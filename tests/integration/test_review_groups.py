"""A company is one client: linking it to one 1C record settles the look-alikes of the rest."""

from __future__ import annotations

import re

import httpx
from starlette.applications import Starlette

from bitrix1c.settings import WebSettings
from bitrix1c.state.review import ReviewQueue
from bitrix1c.state.store import Store
from bitrix1c.web.app import create_app
from bitrix1c.web.auth import hash_password
from bitrix1c.web.review import routes


def _candidate(company_id: int, title: str, score: float) -> dict[str, object]:
    return {"company_id": company_id, "score": score, "reason": "name", "title": title}


async def _propose(queue: ReviewQueue, ref: str, label: str, *candidates: dict[str, object]) -> int:
    await queue.propose(
        entity="counterparty",
        onec_base="ut",
        onec_ref=ref,
        label=label,
        reason="suggested",
        candidates=candidates,
        payload_hash=ref,
    )
    (item,) = (await queue.for_records("counterparty", "ut", [ref])).values()
    return item.id


async def test_linking_a_company_settles_the_others_on_sqlite(sqlite_url: str) -> None:
    store = await Store.open(sqlite_url)
    try:
        await _linking_settles_the_others(store)
    finally:
        await store.close()


async def test_linking_a_company_settles_the_others_on_postgresql(pg_url: str) -> None:
    store = await Store.open(pg_url)
    try:
        await _linking_settles_the_others(store)
    finally:
        await store.close()


async def _linking_settles_the_others(store: Store) -> None:
    """Records that only looked like a company another record was linked to are settled."""
    queue = ReviewQueue(store)
    gorizont = _candidate(10, "Горизонт ООО", 100.0)
    first = await _propose(queue, "a", 'ООО "Горизонт" (ИНН 7701000001)', gorizont)
    second = await _propose(queue, "b", 'ООО "Горизонт" (ИНН 7701000002)', gorizont)
    third = await _propose(
        queue,
        "c",
        'ООО "Горизонт-Юг" (ИНН 7701000003)',
        _candidate(10, "Горизонт ООО", 90.0),
        _candidate(11, "Горизонт Юг", 95.0),
    )
    other = await _propose(queue, "d", 'ООО "Ромашка"', _candidate(12, "Ромашка", 100.0))

    groups = await queue.by_company()
    assert [g.company_id for g in groups] == [10, 11, 12]
    assert [i.id for i in groups[0].items] == [first, second, third], "best score first"

    decided = await queue.decide(first, "link", 10)
    assert decided.status == "link" and decided.released == (second,)

    settled = await queue.get(second)
    assert settled is not None and settled.status == "create"
    assert settled.candidates[0]["taken_by"] == "ut:a", "the reason stays visible"
    still_open = await queue.get(third)
    assert still_open is not None and still_open.status == "open"
    assert [c["company_id"] for c in still_open.open_candidates()] == [11]
    untouched = await queue.get(other)
    assert (
        untouched is not None
        and untouched.status == "open"
        and untouched.candidates == (_candidate(12, "Ромашка", 100.0),)
    )
    assert [g.company_id for g in await queue.by_company()] == [11, 12]
    assert (await queue.counts()) == {"link": 1, "create": 1, "open": 2}


async def test_review_api_groups_open_items_by_company(sqlite_url: str) -> None:
    store = await Store.open(sqlite_url)
    try:
        await _api_groups(store)
    finally:
        await store.close()


async def _api_groups(store: Store) -> None:
    queue = ReviewQueue(store)
    first = await _propose(queue, "a", "ООО Альфа (ИНН 1)", _candidate(7, "Альфа", 100.0))
    second = await _propose(queue, "b", "АО Альфа Плюс (ИНН 2)", _candidate(7, "Альфа", 88.0))
    transport = httpx.ASGITransport(app=Starlette(routes=routes(store)))
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        grouped = (await client.get("/api/review?group=company")).json()
        assert [g["company_id"] for g in grouped["groups"]] == [7]
        assert [i["id"] for i in grouped["groups"][0]["items"]] == [first, second]
        assert grouped["groups"][0]["items"][1]["score"] == 88.0
        assert (await client.get("/api/review?group=inn")).status_code == 400
        linked = await client.post(f"/api/review/{second}/link", json={"company_id": 7})
        assert linked.json()["released"] == [first]
        assert (await client.get("/api/review?group=company")).json()["groups"] == []


async def test_the_dashboard_review_page_decides_a_group(sqlite_url: str) -> None:
    store = await Store.open(sqlite_url)
    try:
        queue = ReviewQueue(store)
        first = await _propose(queue, "a", "ООО Вектор (ИНН 1)", _candidate(5, "Вектор", 100.0))
        second = await _propose(queue, "b", "ООО Вектор (ИНН 2)", _candidate(5, "Вектор", 100.0))
        app = create_app(store, web=WebSettings(password_hash=hash_password("pw")))  # type: ignore[arg-type]
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://t", auth=("admin", "pw")
        ) as web:
            page = (await web.get("/review?lang=en")).text
            assert "Bitrix24 company 5 «Вектор» — 2" in page
            assert page.index("ООО Вектор (ИНН 1)") < page.index("ООО Вектор (ИНН 2)")
            token = re.search(r'name="csrf" value="([^"]+)"', page)
            assert token is not None
            form = {"item": str(second), "company": "5", "decision": "link"}
            forged = await web.post("/review", data={**form, "csrf": "guess"})
            assert forged.status_code == 403
            assert (await queue.get(second)).status == "open"  # type: ignore[union-attr]
            done = await web.post("/review?lang=en", data={**form, "csrf": token[1]})
            assert done.status_code == 200
            assert f"#{second}" in done.text and f"settled with it: #{first}" in done.text
            assert "Nothing to decide" in done.text
        assert (await queue.get(first)).status == "create"  # type: ignore[union-attr]
    finally:
        await store.close()
