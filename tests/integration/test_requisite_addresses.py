"""1C counterparty addresses → addresses of the companies' requisites, end to end over HTTP."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from bitrix1c.demo import demo_settings
from bitrix1c.onec.profiles import get_profile
from bitrix1c.sandbox.onec.populate import CONTACT_KIND_KEYS
from bitrix1c.sandbox.server import Endpoints, SandboxThread
from bitrix1c.service import Service
from bitrix1c.state.store import Link, RecordErrorEntry
from bitrix1c.sync.engine import run_flow
from bitrix1c.sync.flows.counterparties import CounterpartySync
from bitrix1c.sync.flows.requisite_addresses import RequisiteAddressSync
from portal_http import portal_post

SCALE = 120
COUNTERPARTIES = "Catalog_Контрагенты"
LEGAL = CONTACT_KIND_KEYS["ЮрАдресКонтрагента"]
# A kind the seed does not use: an actual address someone types in 1C during the test.
ACTUAL = str(uuid.uuid5(uuid.NAMESPACE_URL, "test:ФактАдресКонтрагента"))
KINDS = {LEGAL: 6, ACTUAL: 1}


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[Endpoints]:
    with SandboxThread(tmp_path / "sandbox", scale=SCALE, seed=7) as endpoints:
        yield endpoints


def crm_addresses(endpoints: Endpoints) -> dict[tuple[int, int], dict[str, Any]]:
    """Every requisite address in the portal by (requisite id, TYPE_ID)."""
    rows: list[dict[str, Any]] = []
    start = 0
    while True:
        page = portal_post(
            endpoints,
            "crm.address.list",
            {"filter": {"ENTITY_TYPE_ID": 8}, "order": {"ENTITY_ID": "ASC"}, "start": start},
        ).json()
        rows += page["result"]
        if "next" not in page:
            return {(int(r["ENTITY_ID"]), int(r["TYPE_ID"])): r for r in rows}
        start = page["next"]


def onec(endpoints: Endpoints) -> httpx.Client:
    return httpx.Client(
        base_url=endpoints.onec_odata_url,
        auth=(endpoints.onec_username, endpoints.onec_password),
        params={"$format": "json"},
        timeout=30,
    )


def counterparties(endpoints: Endpoints) -> list[dict[str, Any]]:
    with onec(endpoints) as client:
        reply = client.get(
            COUNTERPARTIES,
            params={"$select": "Ref_Key,КонтактнаяИнформация", "$top": "10000"},
        )
        return list(reply.json()["value"])


def address_rows(counterparty: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [
        row
        for row in counterparty["КонтактнаяИнформация"]
        if row["Тип"] == "Адрес" and row["Вид_Key"] == kind
    ]


def patch_contact_info(endpoints: Endpoints, ref: str, rows: list[dict[str, Any]]) -> None:
    """Replace a counterparty's contact information (1C replaces a tabular section whole)."""
    numbered = [{**row, "LineNumber": str(n)} for n, row in enumerate(rows, 1)]
    with onec(endpoints) as client:
        response = client.patch(
            f"{COUNTERPARTIES}(guid'{ref}')", json={"КонтактнаяИнформация": numbered}
        )
        assert response.status_code == 200, response.text


async def run(
    endpoints: Endpoints, tmp_path: Path, *, with_companies: bool = True
) -> tuple[dict[str, int], list[RecordErrorEntry], dict[str, Link]]:
    """Counterparties, then addresses; the latter's counters, open errors and the
    counterparties' links by Ref_Key."""
    settings = demo_settings(endpoints, tmp_path, port=0)
    service = await Service.open(settings)
    try:
        flow = settings.flows.counterparties
        base = settings.onec_base(flow.base)
        profile = get_profile(base.profile, base.overrides)
        if with_companies:
            companies = CounterpartySync(
                store=service.store,
                bitrix24=service.bitrix24,
                onec=service.onec[base.name],
                profile=profile,
                base=base.name,
                settings=flow,
            )
            await run_flow(service.store, "counterparties", companies, trigger="test")
        calls_before = dict(service.bitrix24.stats.by_method)
        sync = RequisiteAddressSync(
            store=service.store,
            bitrix24=service.bitrix24,
            onec=service.onec[base.name],
            profile=profile,
            base=base.name,
            kinds=KINDS,
        )
        summary, _status, _ = await run_flow(service.store, "counterparties", sync, trigger="test")
        calls = set(service.bitrix24.stats.by_method) - set(calls_before)
        assert calls <= {"batch"}, "lookups and writes batch"
        owners = await service.store.links_for(
            "counterparty", base.name, {c["Ref_Key"] for c in counterparties(endpoints)}
        )
        return summary.as_dict(), await service.store.errors(), owners
    finally:
        await service.close()


async def test_legal_addresses_land_on_the_right_requisite_and_a_rerun_writes_nothing(
    sandbox: Endpoints, tmp_path: Path
) -> None:
    summary, errors, owners = await run(sandbox, tmp_path)
    assert summary["failed"] == 0, errors
    crm = crm_addresses(sandbox)
    synced = 0
    for counterparty in counterparties(sandbox):
        legal = address_rows(counterparty, LEGAL)
        owner = owners.get(counterparty["Ref_Key"])
        if not legal or owner is None or owner.b24_requisite_id is None:
            continue
        address = crm[(owner.b24_requisite_id, 6)]
        assert address["ADDRESS_1"] == legal[0]["Представление"]
        assert address["CITY"] == legal[0]["Город"]
        assert address["PROVINCE"] == legal[0]["Регион"]
        assert address["COUNTRY"] == legal[0]["Страна"]
        synced += 1
    assert synced > 50
    assert len(crm) == synced  # one legal address per synced requisite, nothing else
    assert (summary["created"], summary["updated"]) == (synced, 0)

    summary, _, _ = await run(sandbox, tmp_path, with_companies=False)
    assert (summary["created"], summary["updated"], summary["failed"]) == (0, 0, 0)
    # A lost state store: the addresses are found on the requisites and equal — no write.
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    summary, _, _ = await run(sandbox, fresh)
    assert (summary["created"], summary["updated"], summary["failed"]) == (0, 0, 0)
    assert crm_addresses(sandbox) == crm


async def test_a_changed_address_is_updated_and_crm_only_types_survive(
    sandbox: Endpoints, tmp_path: Path
) -> None:
    await run(sandbox, tmp_path)
    _, _, owners = await run(sandbox, tmp_path, with_companies=False)
    linked = [
        c
        for c in counterparties(sandbox)
        if address_rows(c, LEGAL) and c["Ref_Key"] in owners
        if owners[c["Ref_Key"]].b24_requisite_id is not None
    ]
    changed, gains_actual, moved, *_ = linked
    moved_requisite = owners[moved["Ref_Key"]].b24_requisite_id
    changed_requisite = owners[changed["Ref_Key"]].b24_requisite_id
    actual_requisite = owners[gains_actual["Ref_Key"]].b24_requisite_id
    assert None not in (changed_requisite, actual_requisite, moved_requisite)

    # A CRM user typed a delivery address (a type 1C does not fill) on the first requisite.
    typed = {"TYPE_ID": 11, "ENTITY_TYPE_ID": 8, "ENTITY_ID": changed_requisite}
    response = portal_post(
        sandbox, "crm.address.add", {"fields": {**typed, "ADDRESS_1": "склад, ворота 3"}}
    )
    assert response.status_code == 200, response.text

    # In 1C: the first counterparty's legal address changes, the second gets an actual one.
    rows = [dict(r) for r in changed["КонтактнаяИнформация"]]
    legal = next(r for r in rows if r["Вид_Key"] == LEGAL)
    legal.update({"Представление": "625003, Тюменская обл, г. Тюмень, ул. Ленина, д. 2"})
    legal.update({"Город": "Тюмень", "Регион": "Тюменская обл"})
    patch_contact_info(sandbox, changed["Ref_Key"], rows)
    actual = {
        **address_rows(gains_actual, LEGAL)[0],
        "Вид_Key": ACTUAL,
        "ВидДляСписка_Key": ACTUAL,
        "Представление": "г. Омск, ул. Мира, д. 5, склад",
        "Город": "Омск",
    }
    others = [dict(r) for r in gains_actual["КонтактнаяИнформация"]]
    patch_contact_info(sandbox, gains_actual["Ref_Key"], [*others, actual])
    # The third moved: 1C keeps the legal address's history, a row per version valid from
    # its date — today's is current, one dated in the future is not yet.
    seeded = address_rows(moved, LEGAL)[0]
    versions = [
        {**seeded, "Представление": "г. Казань, ул. Баумана, д. 1", "Город": "Казань"},
        {**seeded, "Представление": "г. Сочи, ул. Морская, д. 9", "Город": "Сочи"},
    ]
    versions[0]["ДействуетС"] = f"{date.today().isoformat()}T00:00:00"
    versions[1]["ДействуетС"] = f"{date.today() + timedelta(days=30):%Y-%m-%d}T00:00:00"
    patch_contact_info(sandbox, moved["Ref_Key"], [*moved["КонтактнаяИнформация"], *versions])
    before = crm_addresses(sandbox)

    summary, errors, _ = await run(sandbox, tmp_path, with_companies=False)
    assert summary["failed"] == 0, errors
    assert (summary["created"], summary["updated"]) == (1, 2)
    after = crm_addresses(sandbox)
    assert after[(changed_requisite, 6)]["ADDRESS_1"] == legal["Представление"]
    assert after[(changed_requisite, 6)]["CITY"] == "Тюмень"
    assert after[(changed_requisite, 11)] == before[(changed_requisite, 11)]  # left alone
    assert after[(actual_requisite, 1)]["ADDRESS_1"] == "г. Омск, ул. Мира, д. 5, склад"
    assert after[(actual_requisite, 6)] == before[(actual_requisite, 6)]
    assert after[(moved_requisite, 6)]["ADDRESS_1"] == "г. Казань, ул. Баумана, д. 1"
    assert after[(moved_requisite, 6)]["CITY"] == "Казань"
    untouched = set(before) - {(changed_requisite, 6), (moved_requisite, 6)}
    assert all(after[key] == before[key] for key in untouched)
    assert set(after) == set(before) | {(actual_requisite, 1)}

    summary, _, _ = await run(sandbox, tmp_path, with_companies=False)
    assert (summary["created"], summary["updated"]) == (0, 0)
