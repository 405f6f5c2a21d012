"""1C contact persons → Bitrix24 contacts linked to companies, end to end over HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from bitrix1c.demo import demo_settings
from bitrix1c.domain.phones import normalize_email, to_e164
from bitrix1c.onec.profiles import get_profile
from bitrix1c.sandbox.onec.bp30 import USER_CONTACTS
from bitrix1c.sandbox.server import Endpoints, SandboxThread
from bitrix1c.service import Service
from bitrix1c.state.store import RecordErrorEntry
from bitrix1c.sync.engine import run_flow
from bitrix1c.sync.flows.contact_persons import ContactPersonSync
from bitrix1c.sync.flows.counterparties import CounterpartySync
from onec_bp_base import bp_base
from portal_http import portal_every as every
from portal_http import portal_result as b24

SCALE = 120
CONTACT_SELECT = [
    *("ID", "NAME", "LAST_NAME", "SECOND_NAME", "POST"),
    *("PHONE", "EMAIL", "ORIGIN_ID", "ORIGINATOR_ID"),
]


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[Endpoints]:
    with SandboxThread(tmp_path / "sandbox", scale=SCALE, seed=7) as endpoints:
        yield endpoints


def onec_rows(endpoints: Endpoints, entity_set: str) -> list[dict[str, Any]]:
    with httpx.Client(
        base_url=endpoints.onec_odata_url,
        auth=(endpoints.onec_username, endpoints.onec_password),
        params={"$format": "json"},
        timeout=30,
    ) as client:
        return list(
            client.get(entity_set, params={"$orderby": "Ref_Key", "$top": "10000"}).json()["value"]
        )


def contacts_by_origin(endpoints: Endpoints) -> dict[str, dict[str, Any]]:
    rows = every(
        endpoints,
        "crm.contact.list",
        {
            "order": {"ID": "ASC"},
            "select": CONTACT_SELECT,
        },
    )
    return {row["ORIGIN_ID"]: row for row in rows if row.get("ORIGIN_ID")}


def bindings(endpoints: Endpoints, companies: set[int]) -> dict[int, set[int]]:
    """Contact id → the companies it is linked to (read in batches, as a client would)."""
    out: dict[int, set[int]] = {}
    ids = sorted(companies)
    for start in range(0, len(ids), 50):
        cmd = {
            f"c{cid}": f"crm.company.contact.items.get?id={cid}" for cid in ids[start : start + 50]
        }
        result = b24(endpoints, "batch", {"halt": 0, "cmd": cmd})["result"]
        for key, rows in result.items():
            for row in rows:
                out.setdefault(int(row["CONTACT_ID"]), set()).add(int(key[1:]))
    return out


async def run(
    endpoints: Endpoints, tmp_path: Path, *, counterparties: bool = True
) -> tuple[dict[str, int], list[RecordErrorEntry]]:
    """The counterparties flow, then the contact persons flow; the second one's counters."""
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
        sync = ContactPersonSync(
            store=service.store,
            bitrix24=service.bitrix24,
            onec=service.onec[base.name],
            profile=get_profile(base.profile, base.overrides),
            base=base.name,
            settings=flow,
        )
        summary, _status, _ = await run_flow(service.store, "counterparties", sync, trigger="test")
        assert set(service.bitrix24.stats.by_method) <= {"batch"}, "lookups and writes batch"
        return summary.as_dict(), await service.store.errors()
    finally:
        await service.close()


def linked_companies(endpoints: Endpoints) -> dict[str, int]:
    """1C counterparty Ref_Key → its company (ORIGIN_ID on the company)."""
    rows = every(endpoints, "crm.company.list", {"select": ["ID", "ORIGIN_ID"]})
    return {row["ORIGIN_ID"]: int(row["ID"]) for row in rows if row.get("ORIGIN_ID")}


async def test_a_partners_person_is_one_contact_linked_to_all_its_companies(
    sandbox: Endpoints, tmp_path: Path
) -> None:
    summary, errors = await run(sandbox, tmp_path)
    assert summary["failed"] == 0, errors
    people = onec_rows(sandbox, "Catalog_КонтактныеЛицаПартнеров")
    assert summary["read"] == len(people)
    companies = linked_companies(sandbox)
    partner_companies: dict[str, set[int]] = {}
    for row in onec_rows(sandbox, "Catalog_Контрагенты"):
        if row["Ref_Key"] in companies:
            partner_companies.setdefault(row["Партнер_Key"], set()).add(companies[row["Ref_Key"]])
    contacts = contacts_by_origin(sandbox)
    linked_to = bindings(sandbox, set(companies.values()))
    multi = 0
    for person in people:
        wanted = partner_companies.get(person["Owner_Key"], set())
        if not wanted:
            # Its counterparties wait in the review queue: the person waits too.
            assert person["Ref_Key"] not in contacts
            continue
        contact = contacts[person["Ref_Key"]]
        assert contact["ORIGINATOR_ID"] == "trade"
        assert (
            f"{contact['LAST_NAME']} {contact['NAME']} {contact['SECOND_NAME']}"
            == (person["Description"])
        )
        assert contact["POST"] == person["ДолжностьПоВизитке"]
        phones = {
            to_e164(line["НомерТелефона"])
            for line in person["КонтактнаяИнформация"]
            if line["Тип"] == "Телефон"
        }
        assert phones <= {p["VALUE"] for p in contact.get("PHONE", [])}
        emails = {
            normalize_email(line["АдресЭП"])
            for line in person["КонтактнаяИнформация"]
            if line["Тип"] == "АдресЭлектроннойПочты"
        }
        assert emails <= {e["VALUE"] for e in contact.get("EMAIL", [])}
        assert linked_to[int(contact["ID"])] == wanted, person["Description"]
        multi += len(wanted) > 1
    assert multi > 0, "the seed has partners with several counterparties and contact persons"
    assert summary["created"] == len(contacts)
    assert summary["skipped"] == len(people) - len(contacts)


async def test_rerun_writes_nothing_and_keeps_a_link_added_in_the_crm(
    sandbox: Endpoints, tmp_path: Path
) -> None:
    await run(sandbox, tmp_path)
    people = onec_rows(sandbox, "Catalog_КонтактныеЛицаПартнеров")
    contacts = contacts_by_origin(sandbox)
    summary, _ = await run(sandbox, tmp_path, counterparties=False)
    assert summary == {
        "read": len(people),
        "created": 0,
        "updated": 0,
        "skipped": len(people),
        "failed": 0,
    }
    assert contacts_by_origin(sandbox).keys() == contacts.keys()

    # A manager links the contact to a third company by hand; then 1C changes the person.
    person = next(p for p in people if p["Ref_Key"] in contacts)
    contact_id = int(contacts[person["Ref_Key"]]["ID"])
    companies = set(linked_companies(sandbox).values())
    ours = bindings(sandbox, companies)[contact_id]
    third = next(c for c in sorted(companies) if c not in ours)
    items = b24(sandbox, "crm.company.contact.items.get", {"id": third})
    assert b24(
        sandbox,
        "crm.company.contact.items.set",
        {"id": third, "items": [*items, {"CONTACT_ID": contact_id}]},
    )
    with httpx.Client(
        base_url=sandbox.onec_odata_url,
        auth=(sandbox.onec_username, sandbox.onec_password),
        params={"$format": "json"},
    ) as client:
        response = client.patch(
            f"Catalog_КонтактныеЛицаПартнеров(guid'{person['Ref_Key']}')",
            json={"ДолжностьПоВизитке": "Финансовый директор"},
        )
        assert response.status_code == 200, response.text
    summary, _ = await run(sandbox, tmp_path, counterparties=False)
    assert (summary["updated"], summary["created"]) == (1, 0)
    assert contacts_by_origin(sandbox)[person["Ref_Key"]]["POST"] == "Финансовый директор"
    assert bindings(sandbox, companies)[contact_id] == ours | {third}


async def test_a_person_found_by_phone_is_linked_not_created(
    sandbox: Endpoints, tmp_path: Path
) -> None:
    await run(sandbox, tmp_path)
    people = onec_rows(sandbox, "Catalog_КонтактныеЛицаПартнеров")
    contacts = contacts_by_origin(sandbox)
    person = next(p for p in people if p["Ref_Key"] in contacts)
    contact_id = int(contacts[person["Ref_Key"]]["ID"])
    # The contact loses its 1C id (typed by hand in the CRM) and the store is lost.
    assert b24(
        sandbox,
        "crm.contact.update",
        {"id": contact_id, "fields": {"ORIGIN_ID": "", "ORIGINATOR_ID": ""}},
    )
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    summary, errors = await run(sandbox, fresh)
    assert summary["created"] == 0, errors
    assert contacts_by_origin(sandbox)[person["Ref_Key"]]["ID"] == str(contact_id)


async def test_bp_people_of_counterparties_become_contacts_a_users_people_do_not(
    sandbox: Endpoints, tmp_path: Path
) -> None:
    settings = demo_settings(sandbox, tmp_path, port=0)
    flow = settings.flows.counterparties
    profile = get_profile("bp30")
    async with bp_base() as (base, onec):
        service = await Service.open(settings)
        try:
            options = {
                "store": service.store,
                "bitrix24": service.bitrix24,
                "onec": onec,
                "profile": profile,
                "base": "acc",
                "settings": flow,
            }
            await run_flow(
                service.store, "counterparties", CounterpartySync(**options), trigger="t"
            )
            summary, _, _ = await run_flow(
                service.store, "counterparties", ContactPersonSync(**options), trigger="t"
            )
            links = await service.store.links_for(
                "counterparty", "acc", [r["Ref_Key"] for r in base.rows("Catalog_Контрагенты")]
            )
        finally:
            await service.close()
        people = base.rows("Catalog_КонтактныеЛица")
    assert summary.failed == 0
    contacts = contacts_by_origin(sandbox)
    linked_to = bindings(sandbox, {link.b24_id for link in links.values()})
    (user_person,) = [p for p in people if p["ОбъектВладелец_Type"].endswith("Пользователи")]
    assert user_person["Ref_Key"] == USER_CONTACTS[0].ref_key
    assert user_person["Ref_Key"] not in contacts
    synced = 0
    for person in people:
        if person is user_person:
            continue
        link = links.get(person["ОбъектВладелец"])
        if link is None:
            assert person["Ref_Key"] not in contacts  # its counterparty waits for review
            continue
        contact = contacts[person["Ref_Key"]]
        assert (contact["LAST_NAME"], contact["NAME"], contact["SECOND_NAME"]) == (
            person["Фамилия"],
            person["Имя"],
            person["Отчество"],
        )
        assert contact["ORIGINATOR_ID"] == "acc" and contact["POST"] == person["Должность"]
        assert linked_to[int(contact["ID"])] == {link.b24_id}
        synced += 1
    assert synced > 10 and summary.created == synced


async def test_a_deleted_person_is_not_created_and_two_crm_lookalikes_are_not_merged(
    sandbox: Endpoints, tmp_path: Path
) -> None:
    await run(sandbox, tmp_path)  # the counterparties and their people, once
    people = onec_rows(sandbox, "Catalog_КонтактныеЛицаПартнеров")
    contacts = contacts_by_origin(sandbox)
    deleted, twice = [p for p in people if p["Ref_Key"] in contacts][:2]
    for person in (deleted, twice):
        contact_id = int(contacts[person["Ref_Key"]]["ID"])
        assert b24(sandbox, "crm.contact.delete", {"id": contact_id})
    phone = next(r for r in twice["КонтактнаяИнформация"] if r["Тип"] == "Телефон")
    for name in ("Иван", "Пётр"):  # two contacts typed by hand with the person's phone
        b24(
            sandbox,
            "crm.contact.add",
            {"fields": {"NAME": name, "PHONE": [{"VALUE": phone["Представление"]}]}},
        )
    with httpx.Client(
        base_url=sandbox.onec_odata_url,
        auth=(sandbox.onec_username, sandbox.onec_password),
        params={"$format": "json"},
    ) as client:
        response = client.patch(
            f"Catalog_КонтактныеЛицаПартнеров(guid'{deleted['Ref_Key']}')",
            json={"DeletionMark": True},
        )
        assert response.status_code == 200, response.text
    fresh = tmp_path / "fresh"  # a fresh store: both are looked up again
    fresh.mkdir()
    summary, errors = await run(sandbox, fresh)
    now = contacts_by_origin(sandbox)
    assert deleted["Ref_Key"] not in now and twice["Ref_Key"] not in now
    (error,) = errors
    assert error.record_key == f"trade:{twice['Ref_Key']}"
    assert twice["Description"] in error.message and "phone" in error.message
    assert "Merge" in error.hint
    assert summary["failed"] == 1 and summary["created"] == 0
