"""Bitrix24 → 1C: a CRM contact becomes a contact person of every 1C owner it is linked to."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from bitrix1c.demo import demo_settings
from bitrix1c.domain.phones import to_e164
from bitrix1c.onec.profiles import get_profile
from bitrix1c.sandbox.server import Endpoints, SandboxThread
from bitrix1c.service import Service
from bitrix1c.state.store import Link
from bitrix1c.sync.engine import run_flow
from bitrix1c.sync.flows.contact_persons import ContactPersonSync
from bitrix1c.sync.flows.contacts_to_onec import ContactToOneC
from bitrix1c.sync.flows.counterparties import CounterpartySync
from onec_bp_base import bp_base
from portal_http import portal_every as every
from portal_http import portal_result as b24

SCALE = 30
PEOPLE = "Catalog_КонтактныеЛицаПартнеров"


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[Endpoints]:
    with SandboxThread(tmp_path / "sandbox", scale=SCALE, seed=11) as endpoints:
        yield endpoints


def onec_rows(endpoints: Endpoints, entity_set: str, condition: str = "") -> list[dict[str, Any]]:
    url = f"{endpoints.onec_odata_url}{entity_set}?$format=json&$top=10000"
    if condition:
        url += f"&$filter={condition}"
    with httpx.Client(auth=(endpoints.onec_username, endpoints.onec_password)) as client:
        response = client.get(url.replace(" ", "%20"), timeout=30)
    response.raise_for_status()
    rows: list[dict[str, Any]] = response.json()["value"]
    return rows


def companies_by_partner(endpoints: Endpoints) -> dict[str, list[int]]:
    """УТ partner → the Bitrix24 companies of its counterparties (linked by the 1C direction)."""
    partner_of = {
        row["Ref_Key"]: row["Партнер_Key"] for row in onec_rows(endpoints, "Catalog_Контрагенты")
    }
    out: dict[str, list[int]] = {}
    for row in every(endpoints, "crm.company.list", {"select": ["ID", "ORIGIN_ID"]}):
        if row.get("ORIGIN_ID") in partner_of:
            out.setdefault(partner_of[row["ORIGIN_ID"]], []).append(int(row["ID"]))
    return out


def crm_contact(endpoints: Endpoints, name: str, phone: str, companies: list[int]) -> int:
    last, first = name.split()
    fields = {
        "LAST_NAME": last,
        "NAME": first,
        "POST": "Закупщик",
        "PHONE": [{"VALUE": phone, "VALUE_TYPE": "WORK"}],
        "COMPANY_IDS": companies,
    }
    return int(b24(endpoints, "crm.contact.add", {"fields": fields}))


def people_of(endpoints: Endpoints, partner: str) -> list[dict[str, Any]]:
    return onec_rows(endpoints, PEOPLE, f"Owner_Key eq guid'{partner}'")


def phone_kinds(*people: dict[str, Any]) -> set[str]:
    return {
        row["Вид_Key"]
        for person in people
        for row in person["КонтактнаяИнформация"]
        if row["Тип"] == "Телефон"
    }


def onec_person(endpoints: Endpoints, partner: str, name: str, phone: str) -> str:
    """A contact person typed into 1C (УТ 11); its Ref_Key."""
    row = {"LineNumber": "1", "Тип": "Телефон", "Представление": phone, "НомерТелефона": phone}
    fields = {"Description": name, "Owner_Key": partner, "КонтактнаяИнформация": [row]}
    with httpx.Client(auth=(endpoints.onec_username, endpoints.onec_password)) as client:
        response = client.post(
            f"{endpoints.onec_odata_url}{PEOPLE}?$format=json", json=fields, timeout=30
        )
    response.raise_for_status()
    return str(response.json()["Ref_Key"])


def phones_of(person: dict[str, Any]) -> list[str]:
    return [
        row["НомерТелефона"] for row in person["КонтактнаяИнформация"] if row["Тип"] == "Телефон"
    ]


async def to_onec(
    endpoints: Endpoints, tmp_path: Path
) -> tuple[dict[str, int], list[Link], dict[str, str]]:
    """One run of the step: its counters, the store's contact links and the open errors."""
    settings = demo_settings(endpoints, tmp_path, port=0)
    flow = settings.flows.counterparties.model_copy(update={"to_1c": True})
    base = settings.onec_base(flow.base)
    service = await Service.open(settings)
    try:
        body = ContactToOneC(
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
        assert set(service.bitrix24.stats.by_method) <= {"batch"}, "lookups go through batch"
        errors = {e.record_key: e.message for e in await service.store.errors("open")}
        contacts = [int(r["ID"]) for r in every(endpoints, "crm.contact.list", {"select": ["ID"]})]
        links = await service.store.links_to_b24("contact", contacts)
        return summary.as_dict(), list(links.values()), errors
    finally:
        await service.close()


async def forward(endpoints: Endpoints, tmp_path: Path) -> dict[str, int]:
    service = await Service.open(demo_settings(endpoints, tmp_path, port=0))
    try:
        return (await service.run("counterparties", trigger="test")).as_dict()
    finally:
        await service.close()


async def test_a_contact_becomes_one_contact_person_per_partner_once(
    sandbox: Endpoints, tmp_path: Path
) -> None:
    await forward(sandbox, tmp_path)  # every 1C counterparty has its company
    by_partner = companies_by_partner(sandbox)
    shared = next(p for p, ids in by_partner.items() if len(ids) >= 2)
    one, other = [p for p, ids in by_partner.items() if p != shared and len(ids) == 1][:2]
    buyer = crm_contact(
        sandbox, "Сидорова Анна", "+7 916 111-22-33", by_partner[one] + by_partner[other]
    )
    manager = crm_contact(sandbox, "Кузнецов Олег", "8 (916) 444-55-66", by_partner[shared][:2])
    before = {p: len(people_of(sandbox, p)) for p in (one, other, shared)}
    contacts_before = len(every(sandbox, "crm.contact.list", {"select": ["ID"]}))

    summary, _links, errors = await to_onec(sandbox, tmp_path)
    assert (summary["created"], errors) == (3, {}), summary

    for partner in (one, other):  # two partners: one person each, with the phone
        people = people_of(sandbox, partner)
        assert len(people) == before[partner] + 1
        (anna,) = [p for p in people if p["Description"] == "Сидорова Анна"]
        assert phones_of(anna) == ["79161112233"]
        assert phone_kinds(anna) <= phone_kinds(*onec_rows(sandbox, PEOPLE)[:5]), "1C's kind"
        assert anna["ДолжностьПоВизитке"] == "Закупщик"
    shared_people = people_of(sandbox, shared)  # two companies of one partner: one person
    assert len(shared_people) == before[shared] + 1
    assert [p["Description"] for p in shared_people].count("Кузнецов Олег") == 1
    assert b24(sandbox, "crm.contact.get", {"id": buyer})["ORIGIN_ID"] in ("", None)

    again, links, _errors = await to_onec(sandbox, tmp_path)  # a rerun writes nothing
    assert (again["created"], again["updated"]) == (0, 0), again
    assert {p: len(people_of(sandbox, p)) for p in (one, other, shared)} == {
        p: n + 1 for p, n in before.items()
    }
    ours = {link.b24_id for link in links}
    assert {buyer, manager} <= ours

    # The 1C → Bitrix24 direction finds the contact by those links: no second contact.
    after = await forward(sandbox, tmp_path)
    assert after["failed"] == 0, after
    contacts = every(sandbox, "crm.contact.list", {"select": ["ID", "PHONE"]})
    assert len(contacts) == contacts_before
    with_phone = [
        int(c["ID"])
        for c in contacts
        if any(to_e164(v["VALUE"]) == "+79161112233" for v in c.get("PHONE") or [])
    ]
    assert with_phone == [buyer]
    grouped = b24(sandbox, "crm.company.contact.items.get", {"id": by_partner[one][0]})
    assert buyer in {int(row["CONTACT_ID"]) for row in grouped}, "its companies are kept"
    # One CRM contact stands for two 1C persons here: it carries neither one's 1C id.
    assert b24(sandbox, "crm.contact.get", {"id": buyer})["ORIGIN_ID"] in ("", None)


async def test_a_known_person_is_linked_a_synced_one_is_reported_a_lonely_contact_waits(
    sandbox: Endpoints, tmp_path: Path
) -> None:
    await forward(sandbox, tmp_path)
    by_partner = companies_by_partner(sandbox)
    partner = next(p for p, ids in by_partner.items() if people_of(sandbox, p))
    company = by_partner[partner][0]
    # Typed into 1C after the last 1C → Bitrix24 run, and into the CRM by a manager.
    typed = onec_person(sandbox, partner, "Орлова Вера", "79035556677")
    same = crm_contact(sandbox, "Орлова Верочка", "+7 903 555-66-77", [company])
    # A CRM duplicate of a person the 1C direction has already synced to a contact.
    synced = next(p for p in people_of(sandbox, partner) if phones_of(p))
    twin = crm_contact(sandbox, "Другое Имя", f"+{phones_of(synced)[0]}", [company])
    lonely = crm_contact(sandbox, "Без Компании", "+7 903 000-11-22", [])
    count = len(people_of(sandbox, partner))

    summary, links, errors = await to_onec(sandbox, tmp_path)
    assert (summary["created"], summary["updated"], summary["failed"]) == (0, 1, 1), summary
    assert len(people_of(sandbox, partner)) == count, "linked by phone, not duplicated"
    (link,) = [link for link in links if link.b24_id == same]
    assert link.onec_ref == typed
    assert "duplicates contact" in errors[f"bitrix24:contact:{twin}"]
    assert not onec_rows(sandbox, PEOPLE, "Description eq 'Без Компании'")

    # A manager links the waiting contact to a company later: the next run picks it up.
    b24(sandbox, "crm.contact.update", {"id": lonely, "fields": {"COMPANY_IDS": [company]}})
    later, _links, _errors = await to_onec(sandbox, tmp_path)
    assert later["created"] == 1, later
    (person,) = onec_rows(sandbox, PEOPLE, "Description eq 'Без Компании'")
    assert person["Owner_Key"] == partner


async def test_bp_a_contact_becomes_a_contact_person_of_each_counterparty(
    sandbox: Endpoints, tmp_path: Path
) -> None:
    settings = demo_settings(sandbox, tmp_path, port=0)
    flow = settings.flows.counterparties.model_copy(update={"to_1c": True})
    async with bp_base() as (base, onec):
        service = await Service.open(settings)
        try:
            options: dict[str, Any] = {
                "store": service.store,
                "bitrix24": service.bitrix24,
                "onec": onec,
                "profile": get_profile("bp30"),
                "base": "acc",
                "settings": flow,
            }

            async def run(body: Any) -> dict[str, int]:
                summary, _, _ = await run_flow(service.store, "counterparties", body, trigger="t")
                return summary.as_dict()

            await run(CounterpartySync(**options))
            await run(ContactPersonSync(**options))
            companies = {
                row["ORIGIN_ID"]: int(row["ID"])
                for row in every(sandbox, "crm.company.list", {"select": ["ID", "ORIGIN_ID"]})
                if row.get("ORIGIN_ID")
            }
            first, second = [r["Ref_Key"] for r in base.rows("Catalog_Контрагенты")][:2]
            contact = crm_contact(
                sandbox, "Белова Ирина", "+7 926 123-45-67", [companies[first], companies[second]]
            )
            contacts_before = len(every(sandbox, "crm.contact.list", {"select": ["ID"]}))

            created = await run(ContactToOneC(**options))
            again = await run(ContactToOneC(**options))
            back = await run(ContactPersonSync(**options))
        finally:
            await service.close()
        people = [p for p in base.rows("Catalog_КонтактныеЛица") if p["Фамилия"] == "Белова"]
    assert (created["created"], created["failed"]) == (2, 0), created
    assert {p["ОбъектВладелец"] for p in people} == {first, second}
    for person in people:
        assert person["ОбъектВладелец_Type"] == "StandardODATA.Catalog_Контрагенты"
        assert (person["Имя"], person["Должность"]) == ("Ирина", "Закупщик")
        assert phones_of(person) == ["79261234567"]
    assert (again["created"], again["updated"]) == (0, 0), again
    assert (back["created"], back["failed"]) == (0, 0), back
    assert len(every(sandbox, "crm.contact.list", {"select": ["ID"]})) == contacts_before
    assert b24(sandbox, "crm.contact.get", {"id": contact})["NAME"] == "Ирина"
