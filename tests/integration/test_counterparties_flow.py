"""1C counterparties → Bitrix24 companies, end to end over HTTP against both sandboxes."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from bitrix1c.demo import demo_settings
from bitrix1c.sandbox.server import Endpoints, SandboxThread
from bitrix1c.service import Service
from bitrix1c.state.store import RecordErrorEntry, Store
from bitrix1c.state.tables import audit
from portal_http import portal_post

SCALE = 120
READ = SCALE + 1  # and the predefined "Розничный покупатель", which is skipped


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[Endpoints]:
    with SandboxThread(tmp_path / "sandbox", scale=SCALE, seed=7) as endpoints:
        yield endpoints


def b24(endpoints: Endpoints, method: str, params: dict[str, Any]) -> dict[str, Any]:
    response = portal_post(endpoints, method, params)
    response.raise_for_status()
    return response.json()


def all_companies(endpoints: Endpoints) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    start = 0
    while True:
        page = b24(
            endpoints,
            "crm.company.list",
            {
                "order": {"ID": "ASC"},
                "select": ["ID", "TITLE", "ORIGINATOR_ID", "ORIGIN_ID", "PHONE", "EMAIL"],
                "start": start,
            },
        )
        rows += page["result"]
        if "next" not in page:
            return rows
        start = page["next"]


def all_requisites(endpoints: Endpoints) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    start = 0
    while True:
        page = b24(endpoints, "crm.requisite.list", {"order": {"ID": "ASC"}, "start": start})
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


def counterparties(endpoints: Endpoints) -> list[dict[str, Any]]:
    with onec(endpoints) as client:
        rows = client.get(
            "Catalog_Контрагенты", params={"$orderby": "Ref_Key", "$top": "10000"}
        ).json()["value"]
    return [row for row in rows if not row["Predefined"]]


async def run_once(
    endpoints: Endpoints, tmp_path: Path, owners: dict[str, str] | None = None
) -> tuple[dict[str, int], int]:
    settings = demo_settings(endpoints, tmp_path, port=0)
    if owners is not None:
        flow = settings.flows.counterparties.model_copy(update={"owners": owners})
        settings = settings.model_copy(
            update={"flows": settings.flows.model_copy(update={"counterparties": flow})}
        )
    service = await Service.open(settings)
    try:
        summary = await service.run("counterparties", trigger="test")
        return summary.as_dict(), service.bitrix24.stats.requests
    finally:
        await service.close()


async def test_first_run_creates_or_links_every_counterparty(
    sandbox: Endpoints, tmp_path: Path
) -> None:
    before = all_companies(sandbox)
    assert before, "the sandbox portal starts with companies managers entered by hand"
    with_requisite = {int(r["ENTITY_ID"]) for r in all_requisites(sandbox)}
    assert with_requisite and len(with_requisite) < len(before), "some were typed without INN"
    summary, _ = await run_once(sandbox, tmp_path)
    assert summary["read"] == READ
    assert summary["failed"] == 0
    # Look-alikes of hand-made companies without requisites wait in the review queue.
    in_review = summary["skipped"] - 1
    assert in_review > 0
    assert summary["created"] + summary["updated"] + in_review == SCALE
    # Each hand-made duplicate with a requisite was matched by INN+KPP; an individual
    # without an INN by the phone on the hand-made company.
    store = await Store.open(demo_settings(sandbox, tmp_path, port=0).store.url)
    try:
        by_key = await store.links_by_match("counterparty")
    finally:
        await store.close()
    assert by_key["inn_kpp"] == len(with_requisite)
    assert summary["updated"] == sum(n for key, n in by_key.items() if key != "created")
    assert set(by_key) <= {"created", "inn_kpp", "phone", "email"}

    companies = all_companies(sandbox)
    assert len(companies) == len(before) + summary["created"]  # nothing created twice
    by_ref = {c["ORIGIN_ID"]: c for c in companies if c["ORIGIN_ID"]}
    requisites = all_requisites(sandbox)
    keys = [(r["RQ_INN"], r["RQ_KPP"] or "") for r in requisites if r["RQ_INN"]]
    assert len(keys) == len(set(keys)), "no INN+KPP is carried by two requisites"
    assert len(requisites) == SCALE - in_review
    req_by_company = {int(r["ENTITY_ID"]): r for r in requisites}
    rows = counterparties(sandbox)
    hand_made = {int(c["ID"]) for c in before}
    assert len([r for r in rows if r["Ref_Key"] not in by_ref]) == in_review
    for row in rows:
        if row["Ref_Key"] not in by_ref:
            continue  # in the review queue
        company = by_ref[row["Ref_Key"]]
        assert company["ORIGINATOR_ID"] == "trade"
        assert company["TITLE"] == row["Description"]
        requisite = req_by_company[int(company["ID"])]
        assert requisite["RQ_INN"] == row["ИНН"]
        assert (requisite["RQ_KPP"] or "") == row["КПП"]
        phones = [line for line in row["КонтактнаяИнформация"] if line["Тип"] == "Телефон"]
        if phones:
            assert company.get("PHONE"), f"{row['Description']} has phones in 1C"
            if int(company["ID"]) not in hand_made:  # phones typed in the CRM are kept
                assert all(p["VALUE"].startswith("+7") for p in company["PHONE"])


async def test_second_run_writes_nothing_and_a_change_updates_the_company(
    sandbox: Endpoints, tmp_path: Path
) -> None:
    await run_once(sandbox, tmp_path)
    # The second run compares the companies the first one wrote (they changed in
    # Bitrix24 since its start) with 1C, finds them equal and writes nothing.
    summary, _ = await run_once(sandbox, tmp_path)
    assert summary == {"read": READ, "created": 0, "updated": 0, "skipped": READ, "failed": 0}
    summary, requests = await run_once(sandbox, tmp_path)
    assert summary == {"read": READ, "created": 0, "updated": 0, "skipped": READ, "failed": 0}
    # Two requests: the drift check a fresh service makes before its first run, and the
    # look for companies edited in the CRM; an unchanged base costs no lookup, no write.
    assert requests == 2, "an unchanged base costs no Bitrix24 lookup or write"

    target = next(r for r in counterparties(sandbox) if r["ЮрФизЛицо"] == "ЮрЛицо")
    contact_info = target["КонтактнаяИнформация"] + [
        {
            "LineNumber": str(len(target["КонтактнаяИнформация"]) + 1),
            "Тип": "Телефон",
            "Представление": "+7 (495) 700-00-01",
            "НомерТелефона": "+7 (495) 700-00-01",
        }
    ]
    with onec(sandbox) as client:
        response = client.patch(
            f"Catalog_Контрагенты(guid'{target['Ref_Key']}')",
            json={
                "Description": target["Description"] + " (изм.)",
                "КонтактнаяИнформация": contact_info,
            },
        )
        assert response.status_code == 200, response.text
    summary, _ = await run_once(sandbox, tmp_path)
    assert (summary["updated"], summary["created"], summary["skipped"]) == (1, 0, READ - 1)
    company = next(c for c in all_companies(sandbox) if c["ORIGIN_ID"] == target["Ref_Key"])
    assert company["TITLE"] == target["Description"] + " (изм.)"
    assert "+74957000001" in [p["VALUE"] for p in company["PHONE"]]


async def test_invalid_inn_is_reported_and_not_written(sandbox: Endpoints, tmp_path: Path) -> None:
    target = next(r for r in counterparties(sandbox) if r["ЮрФизЛицо"] == "ЮрЛицо")
    bad_inn = target["ИНН"][:-1] + str((int(target["ИНН"][-1]) + 1) % 10)
    with onec(sandbox) as client:
        assert (
            client.patch(
                f"Catalog_Контрагенты(guid'{target['Ref_Key']}')", json={"ИНН": bad_inn}
            ).status_code
            == 200
        )
    settings = demo_settings(sandbox, tmp_path, port=0)
    service = await Service.open(settings)
    try:
        summary = await service.run("counterparties", trigger="test")
        errors = await service.store.errors()
    finally:
        await service.close()
    assert summary.failed == 1
    (error,) = errors
    assert error.record_key == f"trade:{target['Ref_Key']}"
    assert bad_inn in error.message and "INN" in error.message
    assert "1C" in error.hint
    assert target["Ref_Key"] not in {c["ORIGIN_ID"] for c in all_companies(sandbox)}


async def test_a_failing_record_backs_off_until_1c_changes_it_or_a_person_retries(
    sandbox: Endpoints, tmp_path: Path
) -> None:
    target = next(r for r in counterparties(sandbox) if r["ЮрФизЛицо"] == "ЮрЛицо")
    path = f"Catalog_Контрагенты(guid'{target['Ref_Key']}')"
    bad_inn = target["ИНН"][:-1] + str((int(target["ИНН"][-1]) + 1) % 10)
    with onec(sandbox) as client:
        assert client.patch(path, json={"ИНН": bad_inn}).status_code == 200
    service = await Service.open(demo_settings(sandbox, tmp_path, port=0))
    try:

        async def failing() -> tuple[int, RecordErrorEntry]:
            summary = await service.run("counterparties", trigger="test")
            (error,) = await service.store.errors()
            return summary.failed, error

        failed, error = await failing()
        assert (failed, error.attempts) == (1, 1)
        due = (await service.store.retry_waits("counterparties", [error.record_key]))[
            error.record_key
        ][0]
        assert timedelta(minutes=9) < due - datetime.now(UTC) <= timedelta(minutes=10)

        # Not due yet and unchanged in 1C: not tried again, still counted as failed.
        failed, error = await failing()
        assert (failed, error.attempts) == (1, 1)

        # A person asks for a retry: tried at once, and the next wait is twice as long.
        await service.store.set_error_status(error.id, "retrying")
        failed, error = await failing()
        assert (failed, error.attempts) == (1, 2)
        due = (await service.store.retry_waits("counterparties", [error.record_key]))[
            error.record_key
        ][0]
        assert timedelta(minutes=19) < due - datetime.now(UTC) <= timedelta(minutes=20)

        # Fixed in 1C (a new DataVersion): tried on the next run, whatever the wait.
        with onec(sandbox) as client:
            assert client.patch(path, json={"ИНН": target["ИНН"]}).status_code == 200
        summary = await service.run("counterparties", trigger="test")
        assert summary.failed == 0
        assert await service.store.errors() == []
    finally:
        await service.close()
    assert target["Ref_Key"] in {c["ORIGIN_ID"] for c in all_companies(sandbox)}


async def test_lost_store_matches_by_the_1c_id_on_the_company(
    sandbox: Endpoints, tmp_path: Path
) -> None:
    """A crash after the writes but before the commit (here: a lost store) creates nothing twice."""
    first, _ = await run_once(sandbox, tmp_path / "first")
    assert first["created"] > 0
    companies = len(all_companies(sandbox))
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    summary, _ = await run_once(sandbox, fresh)
    assert summary["created"] == 0
    assert summary["updated"] == first["created"] + first["updated"]
    assert summary["skipped"] == first["skipped"]  # the look-alikes are proposed again
    assert len(all_companies(sandbox)) == companies


async def test_writes_and_lookups_go_through_batch(sandbox: Endpoints, tmp_path: Path) -> None:
    settings = demo_settings(sandbox, tmp_path, port=0)
    service = await Service.open(settings)
    try:
        await service.run("counterparties", trigger="test")
        assert set(service.bitrix24.stats.by_method) == {"batch"}
        assert service.bitrix24.stats.rate_limited_503 == 0
    finally:
        await service.close()


async def test_a_field_1c_owns_edited_in_the_crm_is_restored_and_logged(
    sandbox: Endpoints, tmp_path: Path
) -> None:
    await run_once(sandbox, tmp_path)
    await run_once(sandbox, tmp_path)  # settles the check of its own writes
    edited, kept = [c for c in all_companies(sandbox) if c["ORIGIN_ID"]][:2]
    requisite = next(r for r in all_requisites(sandbox) if int(r["ENTITY_ID"]) == int(edited["ID"]))
    b24(sandbox, "crm.company.update", {"id": edited["ID"], "fields": {"TITLE": "Переименовали"}})
    b24(
        sandbox,
        "crm.requisite.update",
        {"id": requisite["ID"], "fields": {"RQ_COMPANY_NAME": "Другое имя"}},
    )
    summary, _ = await run_once(sandbox, tmp_path)
    assert (summary["updated"], summary["created"]) == (1, 0), summary
    restored = next(c for c in all_companies(sandbox) if c["ID"] == edited["ID"])
    assert restored["TITLE"] == edited["TITLE"], "1C owns the title: restored"
    again = next(r for r in all_requisites(sandbox) if r["ID"] == requisite["ID"])
    assert again["RQ_COMPANY_NAME"] == requisite["RQ_COMPANY_NAME"]
    store = await Store.open(demo_settings(sandbox, tmp_path, port=0).store.url)
    try:
        async with store.engine.connect() as conn:
            rows = (
                (await conn.execute(sa.select(audit).where(audit.c.op == "restore")))
                .mappings()
                .all()
            )
    finally:
        await store.close()
    assert [(r["record_id"], r["before"]) for r in rows] == [
        (str(edited["ID"]), {"TITLE": "Переименовали", "RQ_COMPANY_NAME": "Другое имя"})
    ], "the restore is logged with what the CRM had"

    # With the title owned by the CRM, a manager's rename stays.
    b24(sandbox, "crm.company.update", {"id": kept["ID"], "fields": {"TITLE": "Наше имя"}})
    summary, _ = await run_once(sandbox, tmp_path, owners={"TITLE": "crm"})
    assert summary["updated"] == 0, summary
    assert next(c for c in all_companies(sandbox) if c["ID"] == kept["ID"])["TITLE"] == "Наше имя"


async def test_one_run_also_brings_bank_details_and_contact_persons(
    sandbox: Endpoints, tmp_path: Path
) -> None:
    summary, _ = await run_once(sandbox, tmp_path)
    assert summary["read"] == READ, "the run's counters are the counterparties'"
    details = b24(sandbox, "crm.requisite.bankdetail.list", {"select": ["ID", "ENTITY_ID"]})
    contacts = b24(
        sandbox,
        "crm.contact.list",
        {"filter": {"ORIGINATOR_ID": "trade"}, "select": ["ID", "ORIGIN_ID"]},
    )
    assert details["total"] > 0, "bank accounts arrive with the companies"
    assert contacts["total"] > 0, "contact persons arrive with the companies"
    again, _ = await run_once(sandbox, tmp_path)
    assert (again["created"], again["updated"], again["failed"]) == (0, 0, 0)
    assert b24(sandbox, "crm.requisite.bankdetail.list", {})["total"] == details["total"]
    assert (
        b24(sandbox, "crm.contact.list", {"filter": {"ORIGINATOR_ID": "trade"}})["total"]
        == (contacts["total"])
    )
