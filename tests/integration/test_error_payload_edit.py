"""`bitrix1c errors edit`, and an edited payload carried through the counterparties flow."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import structlog
import yaml
from typer.testing import CliRunner

from bitrix1c.cli import app
from bitrix1c.demo import demo_settings
from bitrix1c.sandbox.server import Endpoints, SandboxThread
from bitrix1c.service import Service
from bitrix1c.state.store import Store
from portal_http import portal_post

runner = CliRunner()
ROW = {
    "Ref_Key": "0c8f3ab1-1d2e-4f00-9a55-000000000009",
    "DataVersion": "AAAAAQ==",
    "Description": "ООО Ромашка",
    "ИНН": "7707083895",
}


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
def config(tmp_path: Path) -> Path:
    path = tmp_path / "bitrix1c.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "bitrix24": {"webhook_url": "https://portal.example.ru/rest/1/abcdef0123/"},
                "onec": [
                    {
                        "name": "trade",
                        "odata_url": "http://1c.example.local/trade/odata/standard.odata/",
                        "username": "odata.user",
                    }
                ],
                "store": {"url": f"sqlite+aiosqlite:///{tmp_path / 'bitrix1c.db'}"},
            },
            allow_unicode=True,
        ),
        encoding="utf-8",
    )
    return path


async def open_error(config: Path) -> int:
    url = yaml.safe_load(config.read_text(encoding="utf-8"))["store"]["url"]
    store = await Store.open(url)
    try:
        await store.record_error(
            flow="counterparties",
            record_key=f"trade:{ROW['Ref_Key']}",
            error_class="InvalidRecord",
            message="ИНН 7707083895 is invalid",
            hint="Correct it in 1C",
            payload=ROW,
        )
        (error,) = await store.errors()
        return error.id
    finally:
        await store.close()


def test_errors_edit_from_a_file_and_from_stdin(config: Path, tmp_path: Path) -> None:
    error_id = asyncio.run(open_error(config))
    edited = tmp_path / "fixed.json"
    edited.write_text(
        json.dumps({**ROW, "ИНН": "7707083893", "КПП": "770701001"}, ensure_ascii=False),
        encoding="utf-8",
    )
    result = runner.invoke(
        app, ["errors", "edit", str(error_id), "--payload", str(edited), "-c", str(config)]
    )
    assert result.exit_code == 0, result.output
    assert "will be retried on the next run" in result.output
    assert 'ИНН: "7707083895" → "7707083893"' in result.output
    assert 'КПП: null → "770701001"' in result.output
    assert "Description" not in result.output  # unchanged keys are not listed

    shown = runner.invoke(app, ["errors", "show", str(error_id), "-c", str(config)])
    detail = json.loads(shown.stdout)
    assert detail["status"] == "retrying" and detail["edited_payload"]["ИНН"] == "7707083893"
    assert detail["edited_by"].startswith("cli:")

    moved = json.dumps({**ROW, "DataVersion": "AAAAAg=="})
    refused = runner.invoke(
        app, ["errors", "edit", str(error_id), "--payload", "-", "-c", str(config)], input=moved
    )
    assert refused.exit_code == 2
    assert "DataVersion" in refused.output and "rejected" in refused.output

    unknown = runner.invoke(
        app, ["errors", "edit", "999", "--payload", "-", "-c", str(config)], input=json.dumps(ROW)
    )
    assert unknown.exit_code == 2 and "no record error #999" in unknown.output
    garbage = runner.invoke(
        app, ["errors", "edit", str(error_id), "--payload", "-", "-c", str(config)], input="{"
    )
    assert garbage.exit_code == 2 and "not JSON" in garbage.output
    bracket = json.dumps({**ROW, "Description": "[red] ООО [/b"}, ensure_ascii=False)
    markup = runner.invoke(
        app, ["errors", "edit", str(error_id), "--payload", "-", "-c", str(config)], input=bracket
    )
    assert markup.exit_code == 0, markup.output
    assert "[red] ООО [/b" in markup.output  # data is printed as it is, not as markup


# --- end to end through the counterparties flow ----------------------------------------------


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[Endpoints]:
    with SandboxThread(tmp_path / "sandbox", scale=30, seed=5) as endpoints:
        yield endpoints


def onec(endpoints: Endpoints) -> httpx.Client:
    return httpx.Client(
        base_url=endpoints.onec_odata_url,
        auth=(endpoints.onec_username, endpoints.onec_password),
        params={"$format": "json"},
        timeout=30,
    )


def company_with_requisite(endpoints: Endpoints, ref: str) -> tuple[dict[str, Any], list[str]]:
    def call(method: str, params: dict[str, Any]) -> Any:
        reply = portal_post(endpoints, method, params)
        return reply.json()["result"]

    (company,) = call("crm.company.list", {"filter": {"ORIGIN_ID": ref}, "select": ["ID"]})
    requisites = call(
        "crm.requisite.list", {"filter": {"ENTITY_TYPE_ID": 4, "ENTITY_ID": company["ID"]}}
    )
    return company, [r["RQ_INN"] for r in requisites]


async def test_an_edited_inn_is_synced_and_stays_synced(sandbox: Endpoints, tmp_path: Path) -> None:
    with onec(sandbox) as client:
        rows = client.get("Catalog_Контрагенты", params={"$orderby": "Ref_Key"}).json()["value"]
        target = next(r for r in rows if r["ЮрФизЛицо"] == "ЮрЛицо" and not r["Predefined"])
        good_inn = target["ИНН"]
        bad_inn = good_inn[:-1] + str((int(good_inn[-1]) + 1) % 10)
        path = f"Catalog_Контрагенты(guid'{target['Ref_Key']}')"
        assert client.patch(path, json={"ИНН": bad_inn}).status_code == 200
    service = await Service.open(demo_settings(sandbox, tmp_path, port=0))
    try:
        first = await service.run("counterparties", trigger="test")
        assert first.failed == 1
        (error,) = await service.store.errors()
        assert error.payload["ИНН"] == bad_inn

        fixed = {**error.payload, "ИНН": good_inn}
        await service.store.edit_error_payload(error.id, fixed, by="test")
        await service.run("counterparties", trigger="retry")

        company, inns = company_with_requisite(sandbox, target["Ref_Key"])
        assert inns == [good_inn]
        assert (await service.store.error(error.id)).status == "resolved"  # type: ignore[union-attr]

        # 1C still returns the wrong INN with the same DataVersion: the correction still
        # applies, nothing is written and the error is not reopened.
        again = await service.run("counterparties", trigger="test")
        assert (again.created, again.updated, again.failed) == (0, 0, 0)
        assert await service.store.errors() == []
        assert company_with_requisite(sandbox, target["Ref_Key"]) == (company, [good_inn])
    finally:
        await service.close()
