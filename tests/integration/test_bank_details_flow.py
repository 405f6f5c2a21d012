"""1C bank accounts → bank details of the companies' requisites, end to end over HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from bitrix1c.demo import demo_settings
from bitrix1c.onec.profiles import get_profile
from bitrix1c.sandbox.server import Endpoints, SandboxThread
from bitrix1c.service import Service
from bitrix1c.state.store import Link, RecordErrorEntry
from bitrix1c.sync.engine import run_flow
from bitrix1c.sync.flows.bank_details import BankDetailSync
from bitrix1c.sync.flows.counterparties import CounterpartySync
from onec_bp_base import bp_base

SCALE = 120
ACCOUNTS = "Catalog_БанковскиеСчетаКонтрагентов"


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[Endpoints]:
    with SandboxThread(tmp_path / "sandbox", scale=SCALE, seed=7) as endpoints:
        yield endpoints


def bank_details(endpoints: Endpoints) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    start = 0
    while True:
        page = httpx.post(
            endpoints.bitrix24_webhook_url + "crm.requisite.bankdetail.list",
            json={"order": {"ID": "ASC"}, "start": start},
            timeout=30,
        ).json()
        rows += page["result"]
        if "next" not in page:
            return rows
        start = page["next"]


def onec(endpoints: Endpoints) -> httpx.Client:
    return httpx.Client(
        base_url=endpoints.onec_odata_url,
        auth=(endpoints.onec_username, endpoints.onec_password),
        params={"$format": "json"},
        timeout=30,
    )


def accounts(endpoints: Endpoints) -> list[dict[str, Any]]:
    with onec(endpoints) as client:
        return list(
            client.get(ACCOUNTS, params={"$orderby": "Ref_Key", "$top": "10000"}).json()["value"]
        )


async def run(
    endpoints: Endpoints, tmp_path: Path, *, counterparties: bool = True
) -> tuple[dict[str, int], list[RecordErrorEntry], dict[str, Link]]:
    """Counterparties, then bank details; the latter's counters, open errors and the
    counterparties' links by Ref_Key."""
    settings = demo_settings(endpoints, tmp_path, port=0)
    service = await Service.open(settings)
    try:
        flow = settings.flows.counterparties
        base = settings.onec_base(flow.base)
        if counterparties:  # the companies alone (a service run does what follows too)
            companies = CounterpartySync(
                store=service.store,
                bitrix24=service.bitrix24,
                onec=service.onec[base.name],
                profile=get_profile(base.profile, base.overrides),
                base=base.name,
                settings=flow,
            )
            await run_flow(service.store, "counterparties", companies, trigger="test")
        sync = BankDetailSync(
            store=service.store,
            bitrix24=service.bitrix24,
            onec=service.onec[base.name],
            profile=get_profile(base.profile, base.overrides),
            base=base.name,
            settings=flow,
        )
        summary, _status, _ = await run_flow(service.store, "counterparties", sync, trigger="test")
        assert set(service.bitrix24.stats.by_method) <= {"batch"}, "lookups and writes batch"
        owners = await service.store.links_for(
            "counterparty", base.name, {a["Owner"] for a in accounts(endpoints)}
        )
        return summary.as_dict(), await service.store.errors(), owners
    finally:
        await service.close()


async def test_accounts_land_on_the_right_requisite_and_a_rerun_adds_none(
    sandbox: Endpoints, tmp_path: Path
) -> None:
    summary, errors, owners = await run(sandbox, tmp_path)
    assert summary["failed"] == 0, errors
    rows = accounts(sandbox)
    details = {d["XML_ID"]: d for d in bank_details(sandbox)}
    synced = 0
    for account in rows:
        owner = owners.get(account["Owner"])
        if owner is None:
            assert account["Ref_Key"] not in details  # its counterparty waits for review
            continue
        detail = details[account["Ref_Key"]]
        assert int(detail["ENTITY_ID"]) == owner.b24_requisite_id
        assert detail["RQ_ACC_NUM"] == account["НомерСчета"]
        assert detail["RQ_BIK"] == account["БИКБанка"]
        assert detail["RQ_BANK_NAME"] == account["НаименованиеБанка"]
        assert detail["RQ_COR_ACC_NUM"] == account["КоррСчетБанка"]
        synced += 1
    assert synced > 50
    assert summary == {
        "read": len(rows),
        "created": synced,
        "updated": 0,
        "skipped": len(rows) - synced,
        "failed": 0,
    }
    before = bank_details(sandbox)

    summary, _, _ = await run(sandbox, tmp_path, counterparties=False)
    assert (summary["created"], summary["updated"]) == (0, 0)
    # A lost state store: the details are found by XML_ID, not added twice.
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    summary, _, _ = await run(sandbox, fresh)
    assert (summary["created"], summary["updated"]) == (0, synced)
    assert len(bank_details(sandbox)) == len(before)


async def test_an_invalid_account_or_bik_is_a_record_error_and_not_written(
    sandbox: Endpoints, tmp_path: Path
) -> None:
    bad_number, bad_bik, *_ = accounts(sandbox)
    number = bad_number["НомерСчета"]
    wrong_key = number[:8] + str((int(number[8]) + 1) % 10) + number[9:]
    with onec(sandbox) as client:
        for account, change in (
            (bad_number, {"НомерСчета": wrong_key}),
            (bad_bik, {"БИКБанка": "04452522"}),
        ):
            response = client.patch(f"{ACCOUNTS}(guid'{account['Ref_Key']}')", json=change)
            assert response.status_code == 200, response.text
    summary, errors, _ = await run(sandbox, tmp_path)
    assert summary["failed"] == 2
    by_record = {e.record_key: e for e in errors}
    number_error = by_record[f"trade:{bad_number['Ref_Key']}"]
    assert "НомерСчета" in number_error.message and wrong_key in number_error.message
    assert "control key" in number_error.message
    bik_error = by_record[f"trade:{bad_bik['Ref_Key']}"]
    assert "БИКБанка" in bik_error.message and "04452522" in bik_error.message
    assert "1C" in bik_error.hint
    written = {d["XML_ID"] for d in bank_details(sandbox)}
    assert bad_number["Ref_Key"] not in written and bad_bik["Ref_Key"] not in written


async def test_bp_accounts_become_bank_details_with_their_number(
    sandbox: Endpoints, tmp_path: Path
) -> None:
    """БП keeps the BIK in Catalog_Банки (not in the reference): the number is synced."""
    settings = demo_settings(sandbox, tmp_path, port=0)
    async with bp_base() as (base, client):
        service = await Service.open(settings)
        try:
            options: dict[str, Any] = {
                "store": service.store,
                "bitrix24": service.bitrix24,
                "onec": client,
                "profile": get_profile("bp30"),
                "base": "acc",
                "settings": settings.flows.counterparties,
            }
            await run_flow(
                service.store, "counterparties", CounterpartySync(**options), trigger="t"
            )
            summary, _, _ = await run_flow(
                service.store, "counterparties", BankDetailSync(**options), trigger="t"
            )
            rows = base.rows("Catalog_БанковскиеСчета")
            owners = await service.store.links_for(
                "counterparty", "acc", {str(r["Owner"]) for r in rows}
            )
        finally:
            await service.close()
    details = {d["XML_ID"]: d for d in bank_details(sandbox)}
    own = [r for r in rows if not str(r["Owner_Type"]).endswith("Catalog_Контрагенты")]
    assert own and all(r["Ref_Key"] not in details for r in own)  # the organization's
    synced = [r for r in rows if r["Owner"] in owners and r not in own]
    assert synced and summary.created == len(synced) and summary.failed == 0
    for row in synced:
        detail = details[row["Ref_Key"]]
        assert detail["RQ_ACC_NUM"] == row["НомерСчета"]
        assert int(detail["ENTITY_ID"]) == owners[row["Owner"]].b24_requisite_id
