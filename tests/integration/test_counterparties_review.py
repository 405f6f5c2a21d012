"""The initial-load plan and the review queue, against both sandboxes, as a user drives them."""

from __future__ import annotations

import asyncio
import csv
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import structlog
import typer
import yaml
from starlette.applications import Starlette
from typer.testing import CliRunner

from bitrix1c.cli_counterparties import plan_app, review_app
from bitrix1c.demo import demo_settings
from bitrix1c.sandbox.server import Endpoints, SandboxThread
from bitrix1c.service import Service
from bitrix1c.state.review import ReviewItem, ReviewQueue
from bitrix1c.state.store import Store
from bitrix1c.web.review import routes
from portal_http import portal_result as b24

SCALE = 80

cli = typer.Typer()
cli.add_typer(plan_app, name="plan")
cli.add_typer(review_app, name="review")
runner = CliRunner()


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    # The CLI configures logging to the stderr CliRunner swaps in and closes afterwards.
    config = structlog.get_config()
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    structlog.configure(**config)
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[Endpoints]:
    with SandboxThread(tmp_path / "sandbox", scale=SCALE, seed=7) as endpoints:
        yield endpoints


@pytest.fixture
def config(sandbox: Endpoints, tmp_path: Path) -> Path:
    path = tmp_path / "bitrix1c.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "bitrix24": {"webhook_url": sandbox.bitrix24_webhook_url},
                "onec": [
                    {
                        "name": sandbox.onec_base,
                        "odata_url": sandbox.onec_odata_url,
                        "username": sandbox.onec_username,
                        "password": sandbox.onec_password,
                        "profile": sandbox.onec_profile,
                    }
                ],
                "store": {"url": f"sqlite+aiosqlite:///{tmp_path / 'bitrix1c.db'}"},
            },
            allow_unicode=True,
        ),
        encoding="utf-8",
    )
    return path


def companies(endpoints: Endpoints) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    while True:
        page = b24(
            endpoints,
            "crm.company.list",
            {
                "order": {"ID": "ASC"},
                "filter": {">ID": int(rows[-1]["ID"]) if rows else 0},
                "select": ["ID", "TITLE", "ORIGIN_ID"],
                "start": -1,
            },
        )
        rows += page
        if len(page) < 50:
            return rows


async def run(endpoints: Endpoints, tmp_path: Path) -> dict[str, int]:
    service = await Service.open(demo_settings(endpoints, tmp_path, port=0))
    try:
        return (await service.run("counterparties", trigger="test")).as_dict()
    finally:
        await service.close()


def test_plan_reports_every_record_and_writes_nothing(
    sandbox: Endpoints, config: Path, tmp_path: Path
) -> None:
    before = companies(sandbox)
    result = runner.invoke(
        cli, ["plan", "counterparties", "--config", str(config), "--out", str(tmp_path / "r")]
    )
    assert result.exit_code == 0, result.output
    assert f"{SCALE + 1} counterparties read from 1C" in result.output
    assert "will link to an existing company (inn_kpp" in result.output
    assert "will create a company" in result.output
    assert "needs a decision (review queue)" in result.output
    assert companies(sandbox) == before, "a plan writes nothing to Bitrix24"

    with (tmp_path / "r" / "plan-counterparties.csv").open(encoding="utf-8-sig") as handle:
        rows = list(csv.DictReader(handle, delimiter=";"))
    outcomes = {row["outcome"] for row in rows}
    assert {"link", "create", "review", "excluded"} <= outcomes
    assert len([r for r in rows if r["record"]]) == SCALE + 1  # every 1C record explained
    review = next(r for r in rows if r["outcome"] == "review")
    assert review["candidates"]
    linked = next(r for r in rows if r["outcome"] == "link" and r["key"] == "inn_kpp")
    assert int(linked["company_id"]) in {int(c["ID"]) for c in before}
    html = (tmp_path / "r" / "plan-counterparties.html").read_text(encoding="utf-8")
    assert "Initial load plan" in html and review["name"].replace('"', "&#34;") in html


def test_plan_lists_companies_sharing_an_inn_in_bitrix24(
    sandbox: Endpoints, config: Path, tmp_path: Path
) -> None:
    requisite = b24(sandbox, "crm.requisite.list", {"select": ["ENTITY_ID", "RQ_INN", "RQ_KPP"]})[0]
    twin = b24(sandbox, "crm.company.add", {"fields": {"TITLE": "Дубль, заведён вручную"}})
    b24(
        sandbox,
        "crm.requisite.add",
        {
            "fields": {
                "ENTITY_TYPE_ID": 4,
                "ENTITY_ID": twin,
                "PRESET_ID": 1,
                "NAME": "Дубль",
                "RQ_INN": requisite["RQ_INN"],
                "RQ_KPP": requisite["RQ_KPP"],
            }
        },
    )
    result = runner.invoke(
        cli, ["plan", "counterparties", "--config", str(config), "--out", str(tmp_path)]
    )
    assert result.exit_code == 0, result.output
    assert "INNs carried by several Bitrix24 companies" in result.output
    assert "needs a decision" in result.output  # the 1C record itself is now ambiguous
    text = (tmp_path / "plan-counterparties.csv").read_text(encoding="utf-8-sig")
    line = next(x for x in text.splitlines() if "duplicate_crm" in x)
    assert requisite["RQ_INN"] in line and str(twin) in line
    ambiguous = next(x for x in text.splitlines() if ";review;ambiguous;" in x)
    assert f"{twin} «Дубль, заведён вручную» inn" in ambiguous


async def open_items(endpoints: Endpoints, tmp_path: Path) -> list[ReviewItem]:
    store = await Store.open(demo_settings(endpoints, tmp_path, port=0).store.url)
    try:
        return await ReviewQueue(store).items()
    finally:
        await store.close()


def test_decisions_persist_and_the_flow_obeys_them(
    sandbox: Endpoints, config: Path, tmp_path: Path
) -> None:
    # The CLI runs its own event loop, so this test drives the flow with asyncio.run too.
    first = asyncio.run(run(sandbox, tmp_path))
    items = asyncio.run(open_items(sandbox, tmp_path))
    assert len(items) == first["skipped"] - 1 >= 2, "look-alikes wait for a decision"
    listed = runner.invoke(cli, ["review", "list", "--config", str(config), "--json"])
    assert listed.exit_code == 0, listed.output
    assert len(listed.output.strip().splitlines()) == len(items)
    held = {item.onec_ref for item in items}
    assert not held & {c["ORIGIN_ID"] for c in companies(sandbox)}, "nothing created for them"

    to_link, to_create = items[0], items[1]
    target = int(to_link.candidates[0]["company_id"])
    done = runner.invoke(
        cli, ["review", "link", str(to_link.id), str(target), "--config", str(config)]
    )
    assert done.exit_code == 0 and "will be linked" in done.output, done.output
    done = runner.invoke(cli, ["review", "create", str(to_create.id), "--config", str(config)])
    assert done.exit_code == 0, done.output
    for item in items[2:]:
        assert runner.invoke(cli, ["review", "ignore", str(item.id), "--config", str(config)])

    second = asyncio.run(run(sandbox, tmp_path))
    assert (second["updated"], second["created"], second["failed"]) == (1, 1, 0)
    by_origin = {c["ORIGIN_ID"]: int(c["ID"]) for c in companies(sandbox) if c["ORIGIN_ID"]}
    assert by_origin[to_link.onec_ref] == target
    assert to_create.onec_ref in by_origin and by_origin[to_create.onec_ref] != target
    assert not {i.onec_ref for i in items[2:]} & set(by_origin), "ignored records stay out"
    third = asyncio.run(run(sandbox, tmp_path))
    assert third["created"] == third["updated"] == 0

    shown = runner.invoke(cli, ["review", "show", str(to_link.id), "--config", str(config)])
    assert json.loads(shown.output)["status"] == "link"


async def test_review_api_lists_and_decides(sandbox: Endpoints, tmp_path: Path) -> None:
    await run(sandbox, tmp_path)
    store = await Store.open(demo_settings(sandbox, tmp_path, port=0).store.url)
    try:
        transport = httpx.ASGITransport(app=Starlette(routes=routes(store)))
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            listed = (await client.get("/api/review")).json()
            assert listed["items"] and listed["counts"]["open"] == len(listed["items"])
            item = listed["items"][0]
            assert item["candidates"][0]["reason"] in ("name", "phone", "email", "inn")
            assert (await client.post(f"/api/review/{item['id']}/link")).status_code == 400
            assert (await client.post("/api/review/999999/ignore")).status_code == 404
            company = item["candidates"][0]["company_id"]
            decided = await client.post(
                f"/api/review/{item['id']}/link", json={"company_id": company}
            )
            assert decided.status_code == 200
            assert decided.json()["status"] == "link"
            shown = (await client.get(f"/api/review/{item['id']}")).json()
            assert shown["company_id"] == company
            linked = (await client.get("/api/review?status=link")).json()["items"]
            assert [i["id"] for i in linked] == [item["id"]]
    finally:
        await store.close()
