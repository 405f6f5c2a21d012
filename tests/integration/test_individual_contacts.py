"""1C individuals → Bitrix24 contacts (``individuals_as: contact``), end to end over HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

import httpx
import pytest

from bitrix1c.demo import demo_settings
from bitrix1c.domain.phones import to_e164
from bitrix1c.onec.profiles import get_profile
from bitrix1c.sandbox.server import Endpoints, SandboxThread
from bitrix1c.service import Service
from bitrix1c.state.store import Link, RecordErrorEntry
from bitrix1c.sync.engine import run_flow
from bitrix1c.sync.flows.counterparties import CounterpartySync
from bitrix1c.sync.flows.individual_contacts import IndividualContactSync
from portal_http import portal_every as every
from portal_http import portal_result as b24

SCALE = 120
CONTACT_SELECT = ["ID", "NAME", "LAST_NAME", "SECOND_NAME", "PHONE", "EMAIL", "ORIGIN_ID"]


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[Endpoints]:
    with SandboxThread(tmp_path / "sandbox", scale=SCALE, seed=7) as endpoints:
        yield endpoints


def onec(endpoints: Endpoints) -> httpx.Client:
    return httpx.Client(
        base_url=endpoints.onec_odata_url,
        auth=(endpoints.onec_username, endpoints.onec_password),
        params={"$format": "json"},
        timeout=30,
    )


def individuals(endpoints: Endpoints) -> list[dict[str, Any]]:
    """The 1C individuals that are clients (not predefined, not deletion-marked)."""
    with onec(endpoints) as client:
        rows = client.get(
            "Catalog_Контрагенты", params={"$orderby": "Ref_Key", "$top": "10000"}
        ).json()["value"]
    return [
        row
        for row in rows
        if row["ЮрФизЛицо"] == "ФизЛицо" and not row["Predefined"] and not row["DeletionMark"]
    ]


def contacts(endpoints: Endpoints) -> list[dict[str, Any]]:
    return every(endpoints, "crm.contact.list", {"order": {"ID": "ASC"}, "select": CONTACT_SELECT})


def company_origins(endpoints: Endpoints) -> set[str]:
    rows = every(endpoints, "crm.company.list", {"select": ["ID", "ORIGIN_ID"]})
    return {row["ORIGIN_ID"] for row in rows if row.get("ORIGIN_ID")}


def phones_of(row: dict[str, Any]) -> set[str]:
    return {
        to_e164(line["НомерТелефона"]) or line["НомерТелефона"]
        for line in row["КонтактнаяИнформация"]
        if line["Тип"] == "Телефон"
    }


async def run(
    endpoints: Endpoints,
    tmp_path: Path,
    individuals_as: Literal["company", "contact"] = "contact",
) -> tuple[dict[str, int], list[RecordErrorEntry], dict[str, Link]]:
    """The counterparties step, then the individuals' step; the latter's counters, the
    open record errors and the store's counterparty links of the 1C individuals."""
    settings = demo_settings(endpoints, tmp_path, port=0)
    flow = settings.flows.counterparties.model_copy(update={"individuals_as": individuals_as})
    base = settings.onec_base(flow.base)
    service = await Service.open(settings)
    try:
        options: dict[str, Any] = {
            "store": service.store,
            "bitrix24": service.bitrix24,
            "onec": service.onec[base.name],
            "profile": get_profile(base.profile, base.overrides),
            "base": base.name,
            "settings": flow,
        }
        await run_flow(service.store, "counterparties", CounterpartySync(**options), trigger="t")
        summary, _, _ = await run_flow(
            service.store, "counterparties", IndividualContactSync(**options), trigger="t"
        )
        assert set(service.bitrix24.stats.by_method) <= {"batch"}, "lookups and writes batch"
        refs = [row["Ref_Key"] for row in individuals(endpoints)]
        links = await service.store.links_for("counterparty", base.name, refs)
        return summary.as_dict(), await service.store.errors(), links
    finally:
        await service.close()


async def test_every_individual_becomes_exactly_one_contact_and_no_company(
    sandbox: Endpoints, tmp_path: Path
) -> None:
    people = individuals(sandbox)
    assert len(people) > 5, "the seed has individuals"
    assert any(p["ИНН"] for p in people) and any(not p["ИНН"] for p in people)
    before = {c["ID"] for c in contacts(sandbox)}
    summary, errors, links = await run(sandbox, tmp_path)
    assert summary["failed"] == 0, errors
    assert summary["created"] + summary["updated"] == len(people)

    after = contacts(sandbox)
    by_origin: dict[str, list[dict[str, Any]]] = {}
    for contact in after:
        by_origin.setdefault(contact.get("ORIGIN_ID") or "", []).append(contact)
    assert len(after) == len(before) + summary["created"], "nothing created twice"
    assert not company_origins(sandbox) & {p["Ref_Key"] for p in people}, "no company"
    requisites = {
        int(r["ENTITY_ID"]): r
        for r in every(
            sandbox,
            "crm.requisite.list",
            {"filter": {"ENTITY_TYPE_ID": 3}, "select": ["ID", "ENTITY_ID", "RQ_INN", "XML_ID"]},
        )
    }
    for person in people:
        (contact,) = by_origin[person["Ref_Key"]]
        assert (
            f"{contact['LAST_NAME']} {contact['NAME']} {contact['SECOND_NAME']}"
            == (person["Description"])
        )
        assert phones_of(person) <= {p["VALUE"] for p in contact.get("PHONE", [])}
        link = links[person["Ref_Key"]]
        assert (link.b24_entity, link.b24_id) == ("contact", int(contact["ID"]))
        if person["ИНН"]:
            requisite = requisites[int(contact["ID"])]
            assert (requisite["RQ_INN"], requisite["XML_ID"]) == (person["ИНН"], person["Ref_Key"])
        else:
            assert int(contact["ID"]) not in requisites


async def test_a_contact_a_manager_typed_with_the_same_phone_is_linked_not_duplicated(
    sandbox: Endpoints, tmp_path: Path
) -> None:
    person = next(p for p in individuals(sandbox) if phones_of(p))
    phone = sorted(phones_of(person))[0]
    typed = "8" + phone[2:]  # as a manager types it
    contact_id = int(
        b24(
            sandbox,
            "crm.contact.add",
            {"fields": {"NAME": "Клиент", "PHONE": [{"VALUE": typed, "VALUE_TYPE": "MOBILE"}]}},
        )
    )
    summary, errors, links = await run(sandbox, tmp_path)
    assert summary["failed"] == 0, errors
    assert (links[person["Ref_Key"]].b24_id, links[person["Ref_Key"]].match_key) == (
        contact_id,
        "phone",
    )
    mine = [c for c in contacts(sandbox) if c.get("ORIGIN_ID") == person["Ref_Key"]]
    assert [int(c["ID"]) for c in mine] == [contact_id]
    (contact,) = mine
    assert contact["LAST_NAME"] and contact["LAST_NAME"] in person["Description"]
    assert typed in {p["VALUE"] for p in contact["PHONE"]}, "the CRM's spelling is kept"


async def test_a_rerun_writes_nothing(sandbox: Endpoints, tmp_path: Path) -> None:
    first, _, _ = await run(sandbox, tmp_path)
    assert first["created"] > 0
    known = contacts(sandbox)
    again, errors, _ = await run(sandbox, tmp_path)
    assert again == {
        "read": first["read"],
        "created": 0,
        "updated": 0,
        "skipped": first["read"],
        "failed": 0,
    }, errors
    assert contacts(sandbox) == known


async def test_an_invalid_inn_is_a_record_error_naming_the_field(
    sandbox: Endpoints, tmp_path: Path
) -> None:
    target = next(p for p in individuals(sandbox) if p["ИНН"])
    bad_inn = target["ИНН"][:-1] + str((int(target["ИНН"][-1]) + 1) % 10)
    with onec(sandbox) as client:
        response = client.patch(
            f"Catalog_Контрагенты(guid'{target['Ref_Key']}')", json={"ИНН": bad_inn}
        )
        assert response.status_code == 200, response.text
    summary, errors, links = await run(sandbox, tmp_path)
    assert summary["failed"] == 1
    (error,) = errors
    assert error.record_key == f"trade:{target['Ref_Key']}"
    assert bad_inn in error.message and "INN" in error.message
    assert "field='inn'" in (error.detail or "")
    assert target["Ref_Key"] not in links
    assert target["Ref_Key"] not in {c.get("ORIGIN_ID") for c in contacts(sandbox)}


async def test_with_the_default_individuals_stay_companies(
    sandbox: Endpoints, tmp_path: Path
) -> None:
    summary, _, links = await run(sandbox, tmp_path, individuals_as="company")
    assert summary == {"read": 0, "created": 0, "updated": 0, "skipped": 0, "failed": 0}
    refs = {p["Ref_Key"] for p in individuals(sandbox)}
    assert not refs & {c.get("ORIGIN_ID") for c in contacts(sandbox)}, "no contacts"
    assert links and {link.b24_entity for link in links.values()} == {"company"}
    assert refs & company_origins(sandbox), "individuals became companies"


async def test_two_contacts_with_the_phone_are_not_merged_but_reported(
    sandbox: Endpoints, tmp_path: Path
) -> None:
    person = next(p for p in individuals(sandbox) if phones_of(p))
    phone = sorted(phones_of(person))[0]
    typed = [
        int(
            b24(
                sandbox,
                "crm.contact.add",
                {"fields": {"NAME": name, "PHONE": [{"VALUE": phone, "VALUE_TYPE": "WORK"}]}},
            )
        )
        for name in ("Клиент", "Клиент (дубль)")
    ]
    summary, errors, links = await run(sandbox, tmp_path)
    assert summary["failed"] == 1
    (error,) = errors
    assert error.record_key == f"trade:{person['Ref_Key']}"
    assert all(str(cid) in error.message for cid in typed)
    assert "field='phone'" in (error.detail or "")
    assert person["Ref_Key"] not in links
    assert person["Ref_Key"] not in {c.get("ORIGIN_ID") for c in contacts(sandbox)}


async def test_the_service_run_makes_individuals_contacts_when_configured(
    sandbox: Endpoints, tmp_path: Path
) -> None:
    settings = demo_settings(sandbox, tmp_path, port=0)
    flow = settings.flows.counterparties.model_copy(update={"individuals_as": "contact"})
    flows = settings.flows.model_copy(update={"counterparties": flow})
    service = await Service.open(settings.model_copy(update={"flows": flows}))
    try:
        summary = await service.run("counterparties", trigger="test")
    finally:
        await service.close()
    assert summary.failed == 0
    people = {row["Ref_Key"] for row in individuals(sandbox)}
    assert people and not people & company_origins(sandbox), "no company for an individual"
    assert people <= {row["ORIGIN_ID"] for row in contacts(sandbox)}
