"""Policies of the counterparties flow: deletion marks, fields the CRM owns."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from bitrix1c.demo import demo_settings
from bitrix1c.sandbox.server import Endpoints, SandboxThread
from bitrix1c.service import Service
from bitrix1c.settings import Settings
from portal_http import portal_result as b24


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[Endpoints]:
    with SandboxThread(tmp_path / "sandbox", scale=20, seed=3) as endpoints:
        yield endpoints


def marking(endpoints: Endpoints, tmp_path: Path) -> Settings:
    settings = demo_settings(endpoints, tmp_path, port=0)
    flow = settings.flows.counterparties.model_copy(update={"on_deletion_mark": "mark"})
    flows = settings.flows.model_copy(update={"counterparties": flow})
    return settings.model_copy(update={"flows": flows})


async def run(settings: Settings) -> dict[str, int]:
    service = await Service.open(settings)
    try:
        return (await service.run("counterparties", trigger="test")).as_dict()
    finally:
        await service.close()


async def test_deletion_mark_sets_the_company_field_once(
    sandbox: Endpoints, tmp_path: Path
) -> None:
    b24(
        sandbox,
        "crm.company.userfield.add",
        {"fields": {"FIELD_NAME": "1C_DELETED", "USER_TYPE_ID": "string", "LABEL": "Удалён в 1С"}},
    )
    settings = marking(sandbox, tmp_path)
    await run(settings)
    company = b24(sandbox, "crm.company.list", {"filter": {"ORIGINATOR_ID": "trade"}})[0]
    assert b24(sandbox, "crm.company.get", {"id": company["ID"]})["UF_CRM_1C_DELETED"] == "N"

    odata = httpx.Client(
        base_url=sandbox.onec_odata_url,
        auth=(sandbox.onec_username, sandbox.onec_password),
        params={"$format": "json"},
        timeout=30,
    )
    with odata:
        response = odata.patch(
            f"Catalog_Контрагенты(guid'{company['ORIGIN_ID']}')", json={"DeletionMark": True}
        )
        assert response.status_code == 200, response.text

    summary = await run(settings)
    assert (summary["updated"], summary["created"], summary["failed"]) == (1, 0, 0)
    marked = b24(sandbox, "crm.company.get", {"id": company["ID"]})
    assert marked["UF_CRM_1C_DELETED"] == "Y", "marked, and the company is still there"
    again = await run(settings)
    assert again["updated"] == again["created"] == 0


async def test_an_update_keeps_the_manager_the_crm_assigned(
    sandbox: Endpoints, tmp_path: Path
) -> None:
    settings = demo_settings(sandbox, tmp_path, port=0)
    flow = settings.flows.counterparties.model_copy(update={"assigned_by_id": 1})
    settings = settings.model_copy(
        update={"flows": settings.flows.model_copy(update={"counterparties": flow})}
    )
    await run(settings)
    company = b24(sandbox, "crm.company.list", {"filter": {"ORIGINATOR_ID": "trade"}})[0]
    assert b24(
        sandbox, "crm.company.update", {"id": company["ID"], "fields": {"ASSIGNED_BY_ID": 7}}
    )
    with httpx.Client(
        base_url=sandbox.onec_odata_url,
        auth=(sandbox.onec_username, sandbox.onec_password),
        params={"$format": "json"},
        timeout=30,
    ) as odata:
        response = odata.patch(
            f"Catalog_Контрагенты(guid'{company['ORIGIN_ID']}')",
            json={"Description": company["TITLE"] + " (новое имя)"},
        )
        assert response.status_code == 200, response.text
    summary = await run(settings)
    assert summary["updated"] == 1
    updated = b24(sandbox, "crm.company.get", {"id": company["ID"]})
    assert updated["TITLE"] == company["TITLE"] + " (новое имя)"
    assert int(updated["ASSIGNED_BY_ID"]) == 7, "1C owns the name, the CRM owns the manager"
