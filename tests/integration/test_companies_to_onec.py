"""Bitrix24 → 1C: a company created in the CRM becomes a counterparty only after a dedup check."""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from bitrix1c.demo import demo_settings
from bitrix1c.domain.requisites import generate_inn_legal, generate_kpp
from bitrix1c.onec.profiles import get_profile
from bitrix1c.sandbox.server import Endpoints, SandboxThread
from bitrix1c.service import Service
from bitrix1c.sync.engine import run_flow
from bitrix1c.sync.flows.companies_to_onec import CompanyToOneC
from portal_http import portal_result as b24

SCALE = 30


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[Endpoints]:
    with SandboxThread(tmp_path / "sandbox", scale=SCALE, seed=11) as endpoints:
        yield endpoints


def onec_rows(endpoints: Endpoints, entity_set: str, condition: str) -> list[dict[str, Any]]:
    url = f"{endpoints.onec_odata_url}{entity_set}?$format=json&$filter={condition}"
    with httpx.Client(auth=(endpoints.onec_username, endpoints.onec_password)) as client:
        response = client.get(url.replace(" ", "%20"), timeout=30)
    response.raise_for_status()
    rows: list[dict[str, Any]] = response.json()["value"]
    return rows


def crm_company(endpoints: Endpoints, title: str, inn: str = "", kpp: str = "") -> int:
    company_id = int(b24(endpoints, "crm.company.add", {"fields": {"TITLE": title}}))
    if inn:
        fields = {"ENTITY_TYPE_ID": 4, "ENTITY_ID": company_id, "PRESET_ID": 1, "NAME": title}
        fields |= {"RQ_INN": inn, "RQ_KPP": kpp, "RQ_COMPANY_FULL_NAME": f"{title} полное"}
        b24(endpoints, "crm.requisite.add", {"fields": fields})
    return company_id


async def reverse(endpoints: Endpoints, tmp_path: Path) -> dict[str, int]:
    settings = demo_settings(endpoints, tmp_path, port=0)
    flow = settings.flows.counterparties.model_copy(update={"to_1c": True})
    base = settings.onec_base(flow.base)
    service = await Service.open(settings)
    try:
        body = CompanyToOneC(
            store=service.store,
            bitrix24=service.bitrix24,
            onec=service.onec[base.name],
            profile=get_profile(base.profile, base.overrides),
            base=base.name,
            settings=flow,
        )
        summary, _status, _message = await run_flow(
            service.store, "counterparties", body, trigger="test"
        )
        return summary.as_dict()
    finally:
        await service.close()


async def forward(endpoints: Endpoints, tmp_path: Path) -> dict[str, int]:
    service = await Service.open(demo_settings(endpoints, tmp_path, port=0))
    try:
        return (await service.run("counterparties", trigger="test")).as_dict()
    finally:
        await service.close()


async def errors(endpoints: Endpoints, tmp_path: Path) -> dict[str, str]:
    service = await Service.open(demo_settings(endpoints, tmp_path, port=0))
    try:
        return {e.record_key: e.message for e in await service.store.errors("open")}
    finally:
        await service.close()


async def test_a_crm_company_becomes_a_counterparty_once_and_a_known_one_is_linked(
    sandbox: Endpoints, tmp_path: Path
) -> None:
    await forward(sandbox, tmp_path)  # every 1C counterparty has its company
    rnd = random.Random(5)
    inn = generate_inn_legal(rnd)
    kpp = generate_kpp(inn, rnd)
    new = crm_company(sandbox, "ООО «Новый клиент»", inn, kpp)
    bare = crm_company(sandbox, "Без реквизитов")
    bad = crm_company(sandbox, "ООО Опечатка", inn[:-1] + str((int(inn[-1]) + 1) % 10), kpp)
    known = onec_rows(sandbox, "Catalog_Контрагенты", "ЮрФизЛицо eq 'ЮрЛицо'")[0]
    twin = crm_company(sandbox, "Дубль в CRM", known["ИНН"], known["КПП"])

    summary = await reverse(sandbox, tmp_path)
    assert (summary["created"], summary["failed"]) == (1, 2), summary

    (counterparty,) = onec_rows(sandbox, "Catalog_Контрагенты", f"ИНН eq '{inn}'")
    assert (counterparty["КПП"], counterparty["ЮрФизЛицо"]) == (kpp, "ЮрЛицо")
    assert counterparty["НаименованиеПолное"] == "ООО «Новый клиент» полное"
    partner = onec_rows(
        sandbox, "Catalog_Партнеры", f"Ref_Key eq guid'{counterparty['Партнер_Key']}'"
    )
    assert partner and partner[0]["Клиент"] is True, "УТ 11: the partner comes first"
    company = b24(sandbox, "crm.company.get", {"id": new})
    assert (company["ORIGINATOR_ID"], company["ORIGIN_ID"]) == ("trade", counterparty["Ref_Key"])
    assert b24(sandbox, "crm.company.get", {"id": bare})["ORIGIN_ID"] in ("", None)

    problems = await errors(sandbox, tmp_path)
    assert "is invalid" in problems[f"bitrix24:company:{bad}"]
    assert "duplicates company" in problems[f"bitrix24:company:{twin}"]
    assert not onec_rows(sandbox, "Catalog_Контрагенты", "Description eq 'Дубль в CRM'")

    # Nothing twice: the next runs create no second counterparty and no second company.
    again = await reverse(sandbox, tmp_path)
    assert again["created"] == 0
    assert len(onec_rows(sandbox, "Catalog_Контрагенты", f"ИНН eq '{inn}'")) == 1
    after = await forward(sandbox, tmp_path)
    assert after["created"] == 0, "the 1C → Bitrix24 direction sees the same link"
    carriers = b24(sandbox, "crm.requisite.list", {"filter": {"RQ_INN": inn}})
    assert {int(r["ENTITY_ID"]) for r in carriers} == {new}


async def test_an_existing_counterparty_is_linked_not_created(
    sandbox: Endpoints, tmp_path: Path
) -> None:
    # A company typed in the CRM for a client 1C has, before the first 1C → Bitrix24 run.
    known = onec_rows(sandbox, "Catalog_Контрагенты", "ЮрФизЛицо eq 'ЮрЛицо'")[0]
    company = crm_company(sandbox, "Клиент из CRM", known["ИНН"], known["КПП"])
    before = len(onec_rows(sandbox, "Catalog_Контрагенты", f"ИНН eq '{known['ИНН']}'"))
    summary = await reverse(sandbox, tmp_path)
    # The demo portal's pre-seeded companies with a 1C client's INN are linked the same way.
    assert (summary["created"], summary["failed"]) == (0, 0) and summary["updated"] >= 1
    assert len(onec_rows(sandbox, "Catalog_Контрагенты", f"ИНН eq '{known['ИНН']}'")) == before
    assert b24(sandbox, "crm.company.get", {"id": company})["ORIGIN_ID"] == known["Ref_Key"]
    forward_run = await forward(sandbox, tmp_path)
    assert forward_run["failed"] == 0
    carriers = b24(sandbox, "crm.requisite.list", {"filter": {"RQ_INN": known["ИНН"]}})
    assert {int(r["ENTITY_ID"]) for r in carriers} == {company}, "one company for the client"


async def test_the_service_runs_it_after_the_1c_direction_when_switched_on(
    sandbox: Endpoints, tmp_path: Path
) -> None:
    rnd = random.Random(8)
    inn = generate_inn_legal(rnd)
    company = crm_company(sandbox, "ООО «Из CRM»", inn, generate_kpp(inn, rnd))
    settings = demo_settings(sandbox, tmp_path, port=0)
    flows = settings.flows.model_copy(
        update={"counterparties": settings.flows.counterparties.model_copy(update={"to_1c": True})}
    )
    service = await Service.open(settings.model_copy(update={"flows": flows}))
    try:
        summary = await service.run("counterparties", trigger="test")
    finally:
        await service.close()
    assert summary.failed == 0
    (created,) = onec_rows(sandbox, "Catalog_Контрагенты", f"ИНН eq '{inn}'")
    assert b24(sandbox, "crm.company.get", {"id": company})["ORIGIN_ID"] == created["Ref_Key"]
    # Off by default: the same portal without the switch writes nothing to 1C.
    other = crm_company(sandbox, "ООО «Второй»", (inn2 := generate_inn_legal(rnd)))
    await forward(sandbox, tmp_path)
    assert not onec_rows(sandbox, "Catalog_Контрагенты", f"ИНН eq '{inn2}'")
    assert b24(sandbox, "crm.company.get", {"id": other})["ORIGIN_ID"] in ("", None)
