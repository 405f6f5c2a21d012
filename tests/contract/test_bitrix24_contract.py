"""Every Bitrix24 method the client uses, over HTTP against the sandbox portal.

Each test talks to the portal only through :class:`Bitrix24Client` (webhook or OAuth app)
and checks what the caller gets, parsed through the client's models.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from bitrix24_http import PortalServer, serve
from starlette.applications import Starlette

from bitrix1c.bitrix24.auth import OAuth2Auth, StateTokenStore, TokenPair
from bitrix1c.bitrix24.client import Bitrix24Client, RetryStrategy
from bitrix1c.bitrix24.events import (
    bind_offline,
    bind_online,
    fetch_offline_events,
    list_offline_events,
    mark_offline_errors,
    poll_offline_events,
)
from bitrix1c.bitrix24.models import (
    BankDetail,
    Category,
    Company,
    Contact,
    Deal,
    EventBinding,
    Item,
    Requisite,
    RequisiteLink,
    RequisitePreset,
    Status,
    parse_result,
)
from bitrix1c.errors import Bitrix24AuthError, Bitrix24Error, Bitrix24RecordError
from bitrix1c.state.store import Store
from bitrix1c.state.tables import inbox
from bitrix1c.web.bitrix24_events import routes


@pytest.fixture
async def b24(bitrix24_portal: PortalServer) -> AsyncIterator[Bitrix24Client]:
    async with Bitrix24Client(bitrix24_portal.webhook_url, rate=1000, burst=1000) as client:
        yield client


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    store = await Store.open(f"sqlite+aiosqlite:///{tmp_path / 'state.sqlite'}")
    yield store
    await store.close()


async def app_client(
    bitrix24_portal: PortalServer, store: Store, client_id: str, **options: object
) -> Bitrix24Client:
    payload = bitrix24_portal.portal.install_application(
        client_id, "secret-" + client_id, application_token="apptoken-" + client_id
    )
    tokens = StateTokenStore(store)
    await tokens.save(TokenPair.from_oauth(payload))
    auth = await OAuth2Auth.from_store(
        tokens, payload["member_id"], client_id=client_id, client_secret="secret-" + client_id
    )
    return Bitrix24Client.for_app(auth, rate=1000, burst=1000, **options)  # type: ignore[arg-type]


# --- companies, contacts, requisites -------------------------------------------------


async def test_company_lifecycle(b24: Bitrix24Client) -> None:
    fields = {
        "TITLE": "ООО «Ромашка»",
        "COMPANY_TYPE": "CUSTOMER",
        "ORIGINATOR_ID": "trade",
        "ORIGIN_ID": "9f1c",
        "PHONE": [{"VALUE": "+74951234567", "VALUE_TYPE": "WORK"}],
    }
    company_id = int((await b24.call("crm.company.add", {"fields": fields})).result)
    got = parse_result(
        "crm.company.get", (await b24.call("crm.company.get", {"id": company_id})).result
    )
    assert isinstance(got, Company)
    assert (got.ID, got.TITLE, got.ORIGIN_ID) == (company_id, "ООО «Ромашка»", "9f1c")
    assert got.PHONE and got.PHONE[0].VALUE == "+74951234567"
    assert (
        await b24.call("crm.company.update", {"id": company_id, "fields": {"TITLE": "Ромашка"}})
    ).result is True
    listed = parse_result(
        "crm.company.list",
        (
            await b24.call(
                "crm.company.list",
                {
                    "filter": {"ORIGINATOR_ID": "trade", "@ORIGIN_ID": ["9f1c"]},
                    "select": ["ID", "TITLE", "PHONE"],
                },
            )
        ).result,
    )
    assert [(c.ID, c.TITLE) for c in listed] == [(company_id, "Ромашка")]
    fields_meta = (await b24.call("crm.company.fields")).result
    assert fields_meta["TITLE"]["type"] == "string"
    assert (await b24.call("crm.company.delete", {"id": company_id})).result is True
    with pytest.raises(Bitrix24RecordError):
        await b24.call("crm.company.get", {"id": company_id})


async def test_contact_and_company_contact_items(b24: Bitrix24Client) -> None:
    company_id = int((await b24.call("crm.company.add", {"fields": {"TITLE": "Альфа"}})).result)
    contact_id = int(
        (
            await b24.call("crm.contact.add", {"fields": {"NAME": "Иван", "LAST_NAME": "Петров"}})
        ).result
    )
    contact = parse_result(
        "crm.contact.get", (await b24.call("crm.contact.get", {"id": contact_id})).result
    )
    assert isinstance(contact, Contact) and contact.LAST_NAME == "Петров"
    await b24.call(
        "crm.company.contact.items.set", {"id": company_id, "items": [{"CONTACT_ID": contact_id}]}
    )
    items = (await b24.call("crm.company.contact.items.get", {"id": company_id})).result
    assert [int(i["CONTACT_ID"]) for i in items] == [contact_id]
    listed = parse_result(
        "crm.contact.list",
        (await b24.call("crm.contact.list", {"filter": {"ID": contact_id}})).result,
    )
    assert [c.ID for c in listed] == [contact_id]


async def test_requisites_and_presets(b24: Bitrix24Client) -> None:
    presets = parse_result(
        "crm.requisite.preset.list", (await b24.call("crm.requisite.preset.list")).result
    )
    assert all(isinstance(p, RequisitePreset) for p in presets) and presets
    company_id = int((await b24.call("crm.company.add", {"fields": {"TITLE": "Бета"}})).result)
    requisite_id = int(
        (
            await b24.call(
                "crm.requisite.add",
                {
                    "fields": {
                        "ENTITY_TYPE_ID": 4,
                        "ENTITY_ID": company_id,
                        "PRESET_ID": presets[0].ID,
                        "NAME": "Бета",
                        "RQ_INN": "7707083893",
                        "RQ_KPP": "773601001",
                    }
                },
            )
        ).result
    )
    got = parse_result(
        "crm.requisite.get", (await b24.call("crm.requisite.get", {"id": requisite_id})).result
    )
    assert isinstance(got, Requisite) and (got.ENTITY_ID, got.RQ_INN) == (company_id, "7707083893")
    await b24.call("crm.requisite.update", {"id": requisite_id, "fields": {"RQ_KPP": "773601002"}})
    found = parse_result(
        "crm.requisite.list",
        (
            await b24.call(
                "crm.requisite.list",
                {
                    "filter": {"RQ_INN": "7707083893", "ENTITY_TYPE_ID": 4},
                    "select": ["ID", "ENTITY_ID", "RQ_KPP"],
                },
            )
        ).result,
    )
    assert [(r.ENTITY_ID, r.RQ_KPP) for r in found] == [(company_id, "773601002")]


async def test_bank_details_and_requisite_links(b24: Bitrix24Client) -> None:
    client_id = int((await b24.call("crm.company.add", {"fields": {"TITLE": "Гамма"}})).result)
    mine = await b24.call("crm.company.add", {"fields": {"TITLE": "Мы", "IS_MY_COMPANY": "Y"}})
    requisite = {"ENTITY_TYPE_ID": 4, "PRESET_ID": 1, "NAME": "Реквизит"}
    # the way a sync writes them: requisite + bank detail in one batch, by reference
    reply = await b24.batch(
        {
            "r": ("crm.requisite.add", {"fields": {**requisite, "ENTITY_ID": client_id}}),
            "b": (
                "crm.requisite.bankdetail.add",
                {
                    "fields": {
                        "ENTITY_ID": "$result[r]",
                        "NAME": "ПАО Супербанк",
                        "RQ_BANK_NAME": "ПАО Супербанк",
                        "RQ_BIK": "044525225",
                        "RQ_ACC_NUM": "40702810938000060473",
                        "RQ_COR_ACC_NUM": "30101810400000000225",
                        "XML_ID": "1c-bank-1",
                        "ACTIVE": "Y",
                    }
                },
            ),
            "mr": ("crm.requisite.add", {"fields": {**requisite, "ENTITY_ID": int(mine.result)}}),
            "mb": (
                "crm.requisite.bankdetail.add",
                {"fields": {"ENTITY_ID": "$result[mr]", "NAME": "Наш банк", "RQ_BIK": "044525593"}},
            ),
            "bad": ("crm.requisite.bankdetail.add", {"fields": {"ENTITY_ID": 10**6, "NAME": "x"}}),
        }
    )
    assert list(reply.errors) == ["bad"] and isinstance(reply.errors["bad"], Bitrix24RecordError)
    requisite_id, bank_id = int(reply.results["r"]), int(reply.results["b"])
    got = parse_result(
        "crm.requisite.bankdetail.get",
        (await b24.call("crm.requisite.bankdetail.get", {"id": bank_id})).result,
    )
    assert isinstance(got, BankDetail)
    assert (got.ENTITY_ID, got.RQ_BIK, got.RQ_ACC_NUM, got.XML_ID) == (
        requisite_id,
        "044525225",
        "40702810938000060473",
        "1c-bank-1",
    )
    await b24.call(
        "crm.requisite.bankdetail.update",
        {"id": bank_id, "fields": {"RQ_COR_ACC_NUM": "30101810400000000999"}},
    )
    listed = await b24.call(
        "crm.requisite.bankdetail.list",
        {"filter": {"ENTITY_ID": requisite_id}, "select": ["ID", "RQ_COR_ACC_NUM"]},
    )
    assert listed.total == 1
    assert [(d.ID, d.RQ_COR_ACC_NUM) for d in parse_result(
        "crm.requisite.bankdetail.list", listed.result
    )] == [(bank_id, "30101810400000000999")]  # fmt: skip
    deal_id = int(
        (await b24.call("crm.deal.add", {"fields": {"TITLE": "Д", "COMPANY_ID": client_id}})).result
    )
    link = {
        "ENTITY_TYPE_ID": 2,
        "ENTITY_ID": deal_id,
        "REQUISITE_ID": requisite_id,
        "BANK_DETAIL_ID": bank_id,
        "MC_REQUISITE_ID": int(reply.results["mr"]),
        "MC_BANK_DETAIL_ID": int(reply.results["mb"]),
    }
    assert (await b24.call("crm.requisite.link.register", {"fields": link})).result is True
    key = {"entityTypeId": 2, "entityId": deal_id}
    got_link = parse_result(
        "crm.requisite.link.get", (await b24.call("crm.requisite.link.get", key)).result
    )
    assert isinstance(got_link, RequisiteLink) and got_link.raw() == link
    links = parse_result(
        "crm.requisite.link.list",
        (await b24.call("crm.requisite.link.list", {"filter": {"ENTITY_ID": deal_id}})).result,
    )
    assert [(x.ENTITY_TYPE_ID, x.BANK_DETAIL_ID) for x in links] == [(2, bank_id)]
    with pytest.raises(Bitrix24RecordError) as refused:
        await b24.call(
            "crm.requisite.link.register",
            {"fields": {**link, "BANK_DETAIL_ID": int(reply.results["mb"])}},
        )
    assert refused.value.status == 400 and "is not assigned to Requisite" in str(
        refused.value.description
    )
    assert (await b24.call("crm.requisite.link.unregister", key)).result is True
    # deleting the requisite takes its bank details along
    await b24.call("crm.requisite.delete", {"id": requisite_id})
    with pytest.raises(Bitrix24RecordError):
        await b24.call("crm.requisite.bankdetail.get", {"id": bank_id})
    await b24.call("crm.requisite.bankdetail.delete", {"id": int(reply.results["mb"])})
    gone = await b24.call(
        "crm.requisite.bankdetail.list", {"filter": {"@ID": [bank_id, int(reply.results["mb"])]}}
    )
    assert gone.result == [] and gone.total == 0


# --- deals, items, pipelines ----------------------------------------------------------


async def test_deal_update_product_rows_and_contacts(b24: Bitrix24Client) -> None:
    contact_id = int((await b24.call("crm.contact.add", {"fields": {"NAME": "Олег"}})).result)
    deal_id = int(
        (
            await b24.call(
                "crm.deal.add",
                {"fields": {"TITLE": "Поставка", "OPPORTUNITY": 1500, "CURRENCY_ID": "RUB"}},
            )
        ).result
    )
    assert (
        await b24.call("crm.deal.update", {"id": deal_id, "fields": {"STAGE_ID": "PREPARATION"}})
    ).result is True
    deal = parse_result("crm.deal.get", (await b24.call("crm.deal.get", {"id": deal_id})).result)
    assert isinstance(deal, Deal) and (deal.STAGE_ID, deal.CATEGORY_ID) == ("PREPARATION", 0)
    rows = [{"PRODUCT_NAME": "Болт М8", "PRICE": 10.5, "QUANTITY": 4, "MEASURE_CODE": 796}]
    await b24.call("crm.deal.productrows.set", {"id": deal_id, "rows": rows})
    got_rows = (await b24.call("crm.deal.productrows.get", {"id": deal_id})).result
    assert [(r["PRODUCT_NAME"], float(r["QUANTITY"])) for r in got_rows] == [("Болт М8", 4.0)]
    await b24.call(
        "crm.deal.contact.items.set", {"id": deal_id, "items": [{"CONTACT_ID": contact_id}]}
    )
    assert [
        int(i["CONTACT_ID"])
        for i in (await b24.call("crm.deal.contact.items.get", {"id": deal_id})).result
    ] == [contact_id]
    assert "STAGE_ID" in (await b24.call("crm.deal.fields")).result
    listed = parse_result(
        "crm.deal.list", (await b24.call("crm.deal.list", {"filter": {"ID": deal_id}})).result
    )
    assert [d.ID for d in listed] == [deal_id]


@pytest.mark.parametrize(
    ("entity_type_id", "fields"),
    [
        (2, {"title": "Сделка"}),
        (3, {"name": "Анна"}),
        (4, {"title": "Гамма"}),
        (31, {"title": "Счёт"}),
    ],
)
async def test_universal_items(b24: Bitrix24Client, entity_type_id: int, fields: dict) -> None:
    added = parse_result(
        "crm.item.add",
        (await b24.call("crm.item.add", {"entityTypeId": entity_type_id, "fields": fields})).result,
    )
    assert isinstance(added, Item) and added.id
    updated = parse_result(
        "crm.item.update",
        (
            await b24.call(
                "crm.item.update",
                {"entityTypeId": entity_type_id, "id": added.id, "fields": {"xmlId": "x-1"}},
            )
        ).result,
    )
    assert updated.id == added.id
    got = parse_result(
        "crm.item.get",
        (await b24.call("crm.item.get", {"entityTypeId": entity_type_id, "id": added.id})).result,
    )
    assert got.id == added.id
    listed = parse_result(
        "crm.item.list",
        (
            await b24.call(
                "crm.item.list",
                {"entityTypeId": entity_type_id, "filter": {"id": added.id}, "select": ["*"]},
            )
        ).result,
    )
    assert [i.id for i in listed] == [added.id] and listed[0].updatedTime


async def test_pipelines_and_stages(b24: Bitrix24Client) -> None:
    categories = parse_result(
        "crm.category.list", (await b24.call("crm.category.list", {"entityTypeId": 2})).result
    )
    assert all(isinstance(c, Category) for c in categories)
    assert 0 in [c.id for c in categories]
    stages = parse_result(
        "crm.status.list",
        (await b24.call("crm.status.list", {"filter": {"ENTITY_ID": "DEAL_STAGE"}})).result,
    )
    assert all(isinstance(s, Status) for s in stages)
    assert "NEW" in [s.STATUS_ID for s in stages]


async def test_user_fields(b24: Bitrix24Client) -> None:
    await b24.call(
        "crm.company.userfield.add",
        {
            "fields": {
                "FIELD_NAME": "DEBT",
                "USER_TYPE_ID": "double",
                "XML_ID": "DEBT",
                "EDIT_FORM_LABEL": "Долг",
            }
        },
    )
    names = [f["FIELD_NAME"] for f in (await b24.call("crm.company.userfield.list")).result]
    assert "UF_CRM_DEBT" in names


# --- batch and big lists --------------------------------------------------------------


async def test_batch_references_and_per_command_errors(b24: Bitrix24Client) -> None:
    reply = await b24.batch(
        {
            "c": ("crm.company.add", {"fields": {"TITLE": "Дельта", "ORIGIN_ID": None}}),
            "r": (
                "crm.requisite.add",
                {
                    "fields": {
                        "ENTITY_TYPE_ID": 4,
                        "ENTITY_ID": "$result[c]",
                        "PRESET_ID": 1,
                        "NAME": "Дельта",
                        "RQ_INN": "7701234567",
                    }
                },
            ),
            "bad": ("crm.requisite.add", {"fields": {"ENTITY_TYPE_ID": 4}}),
            "l": (
                "crm.company.list",
                {"filter": {">=ID": "$result[c]", "!TITLE": ""}, "select": ["ID", "TITLE"]},
            ),
        }
    )
    assert set(reply.errors) == {"bad"}
    assert isinstance(reply.errors["bad"], Bitrix24RecordError)
    company_id = int(reply.results["c"])
    requisite = parse_result(
        "crm.requisite.get",
        (await b24.call("crm.requisite.get", {"id": reply.results["r"]})).result,
    )
    assert requisite.ENTITY_ID == company_id
    assert [int(row["ID"]) for row in reply.results["l"]] == [company_id]


async def test_list_fast_streams_every_record_once(b24: Bitrix24Client) -> None:
    commands = {
        f"c{i}": ("crm.company.add", {"fields": {"TITLE": f"Поток {i}", "ORIGINATOR_ID": "stream"}})
        for i in range(50)
    }
    for _ in range(3):
        await b24.batch(commands)
    pages = []
    async for page in b24.list_fast(
        "crm.company.list",
        filter={"ORIGINATOR_ID": "stream"},
        select=("ID", "TITLE", "DATE_MODIFY"),
    ):
        pages.append(parse_result("crm.company.list", page))
    ids = [c.ID for page in pages for c in page]
    assert len(ids) == 150 == len(set(ids)) and ids == sorted(ids)
    # incremental read: only what changed since a moment
    await asyncio.sleep(1.1)  # DATE_MODIFY has one-second resolution
    moment = datetime.now(UTC)
    await asyncio.sleep(1.1)
    touched = ids[:3]
    for company_id in touched:
        await b24.call("crm.company.update", {"id": company_id, "fields": {"TITLE": "Изменена"}})
    changed = [
        int(row["ID"])
        async for page in b24.list_modified_since(
            "crm.company.list", moment, filter={"ORIGINATOR_ID": "stream"}
        )
        for row in page
    ]
    assert changed == touched

    items = []
    async for page in b24.list_fast(
        "crm.item.list",
        params={"entityTypeId": 4},
        id_field="id",
        wrapper="items",
        select=("id", "title"),
    ):
        items.extend(parse_result("crm.item.list", {"items": page}))
    assert len(items) >= 150


# --- OAuth application ----------------------------------------------------------------


async def test_oauth_app_refreshes_once_and_persists_the_new_pair(
    bitrix24_portal: PortalServer, store: Store
) -> None:
    b24 = await app_client(bitrix24_portal, store, "app.refresh")
    async with b24:
        await b24.call("crm.company.list", {"select": ["ID"]})
        first = b24.auth.tokens  # type: ignore[union-attr]
        bitrix24_portal.portal.expire_access_tokens()
        replies = await asyncio.gather(
            *(b24.call("crm.company.list", {"select": ["ID"]}) for _ in range(5))
        )
        assert all(r.result is not None for r in replies)
        assert b24.auth.refreshes == 1  # type: ignore[union-attr]
    saved = await StateTokenStore(store).load(first.member_id)
    assert saved is not None and saved.refresh_token != first.refresh_token
    assert saved.access_token == b24.auth.tokens.access_token  # type: ignore[union-attr]


async def test_oauth_app_with_revoked_tokens_asks_to_reauthorize(
    bitrix24_portal: PortalServer, store: Store
) -> None:
    b24 = await app_client(bitrix24_portal, store, "app.revoked")
    async with b24:
        bitrix24_portal.portal.revoke_refresh_tokens()
        bitrix24_portal.portal.expire_access_tokens()
        with pytest.raises(Bitrix24AuthError, match="re-authorize the application"):
            await b24.call("crm.company.list")


# --- events -----------------------------------------------------------------------------


async def test_online_events_reach_the_inbox(bitrix24_portal: PortalServer, store: Store) -> None:
    b24 = await app_client(bitrix24_portal, store, "app.online")
    tokens = StateTokenStore(store)
    receiver = Starlette(routes=routes(store, tokens.application_token))
    with serve(receiver) as service_url:
        handler = f"{service_url}/hooks/bitrix24"
        async with b24:
            await bind_online(b24, ["ONCRMCOMPANYADD"], handler=handler)
            await bind_online(b24, ["ONCRMCOMPANYADD"], handler=handler)  # already bound: fine
            bound = [EventBinding.model_validate(e) for e in (await b24.call("event.get")).result]
            assert ("ONCRMCOMPANYADD", handler) in [(e.event, e.handler) for e in bound]
            company_id = int(
                (await b24.call("crm.company.add", {"fields": {"TITLE": "Событие"}})).result
            )
            assert await asyncio.to_thread(bitrix24_portal.portal.events.wait_idle, 10.0)
            await b24.call("event.unbind", {"event": "ONCRMCOMPANYADD", "handler": handler})
    async with store.engine.connect() as conn:
        rows = (
            (await conn.execute(sa.select(inbox).where(inbox.c.object_id == str(company_id))))
            .mappings()
            .all()
        )
    assert [(r["event"], r["object_type"]) for r in rows] == [("ONCRMCOMPANYADD", "company")]
    assert all(d.status == 200 for d in bitrix24_portal.portal.deliveries if d.handler == handler)


async def test_offline_events_skip_our_own_writes(
    bitrix24_portal: PortalServer, store: Store
) -> None:
    b24 = await app_client(bitrix24_portal, store, "app.offline")
    async with b24:
        await bind_offline(b24, ["ONCRMCOMPANYUPDATE"], auth_connector="bitrix1c")
        company_id = int(
            (await b24.call("crm.company.add", {"fields": {"TITLE": "Оффлайн"}})).result
        )
        # a manager edits the company; the service writes another one with its connector
        await b24.call("crm.company.update", {"id": company_id, "fields": {"TITLE": "Оффлайн 2"}})
        b24.auth_connector = "bitrix1c"
        own_id = int((await b24.call("crm.company.add", {"fields": {"TITLE": "Наша"}})).result)
        await b24.batch(
            {"u": ("crm.company.update", {"id": own_id, "fields": {"TITLE": "Наша 2"}})}
        )
        b24.auth_connector = None
        seen = []
        async for batch in fetch_offline_events(b24, auth_connector="bitrix1c"):
            seen += [(e.EVENT_NAME, int(e.EVENT_DATA["FIELDS"]["ID"])) for e in batch.events]
        assert seen == [("ONCRMCOMPANYUPDATE", company_id)]
        again = [b async for b in fetch_offline_events(b24, auth_connector="bitrix1c")]
        assert again == []


class RefusingClear(httpx.AsyncBaseTransport):
    """Real HTTP, except that ``event.offline.clear`` fails — after noting the inbox."""

    def __init__(self, store: Store) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.store = store
        self.inbox_rows_at_clear: list[int] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("event.offline.clear.json"):
            self.inbox_rows_at_clear.append(len(await _offline_rows(self.store)))
            return httpx.Response(500, json={"error": "INTERNAL_SERVER_ERROR"})
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


async def _offline_rows(store: Store) -> list[dict]:
    async with store.engine.connect() as conn:
        rows = await conn.execute(
            sa.select(inbox).where(inbox.c.source == "bitrix24").order_by(inbox.c.id)
        )
        return [dict(r) for r in rows.mappings().all()]


async def test_offline_poller_moves_other_peoples_changes_to_the_inbox_once(
    bitrix24_portal: PortalServer, store: Store
) -> None:
    # The service's client carries the connector; managers write through the portal UI
    # (here: a webhook client without one).
    service = await app_client(bitrix24_portal, store, "app.poller", auth_connector="bitrix1c")
    manager = Bitrix24Client(bitrix24_portal.webhook_url, rate=1000, burst=1000)
    async with service, manager:
        events = ["ONCRMCOMPANYADD", "ONCRMCOMPANYUPDATE", "ONCRMBANKDETAILADD"]
        await bind_offline(service, events, auth_connector="bitrix1c")
        theirs = int((await manager.call("crm.company.add", {"fields": {"TITLE": "М"}})).result)
        await manager.call("crm.company.update", {"id": theirs, "fields": {"TITLE": "М2"}})
        ours = int((await service.call("crm.company.add", {"fields": {"TITLE": "Н"}})).result)
        await service.batch({"u": ("crm.company.update", {"id": ours, "fields": {"TITLE": "Н2"}})})

        # 1. the clear fails after the rows were committed: nothing is lost
        refusing = RefusingClear(store)
        failing = await app_client(
            bitrix24_portal,
            store,
            "app.poller",
            auth_connector="bitrix1c",
            transport=refusing,
            retry=RetryStrategy(max_attempts=1),
        )
        async with failing:
            with pytest.raises(Bitrix24Error):
                await poll_offline_events(failing, store, process_id="svc-1")
        assert refusing.inbox_rows_at_clear == [2]  # committed before the clear was sent
        queued = [e async for e in list_offline_events(service)]
        assert [(e.EVENT_NAME, e.PROCESS_ID) for e in queued] == [
            ("ONCRMCOMPANYADD", "svc-1"),
            ("ONCRMCOMPANYUPDATE", "svc-1"),
        ]

        # 2. the next poll of the same process gets the batch again, stores it once, clears
        polled = await poll_offline_events(service, store, process_id="svc-1")
        assert (polled.received, polled.stored) == (2, 0)
        assert [e async for e in list_offline_events(service)] == []
        await manager.call("crm.company.update", {"id": theirs, "fields": {"TITLE": "М3"}})
        polled = await poll_offline_events(service, store, process_id="svc-1")
        assert (polled.received, polled.stored) == (1, 1)

    rows = await _offline_rows(store)
    assert [(r["event"], r["object_type"], r["object_id"], r["status"]) for r in rows] == [
        ("ONCRMCOMPANYADD", "company", str(theirs), "new"),
        ("ONCRMCOMPANYUPDATE", "company", str(theirs), "new"),
        ("ONCRMCOMPANYUPDATE", "company", str(theirs), "new"),
    ]
    # our own writes (ours, with the connector) never came back as changes
    assert str(ours) not in {r["object_id"] for r in rows}
    assert rows[0]["payload"]["data"] == {"FIELDS": {"ID": theirs}}


async def test_offline_errors_leave_the_queue_until_asked_for(
    bitrix24_portal: PortalServer, store: Store
) -> None:
    b24 = await app_client(bitrix24_portal, store, "app.errors")
    async with b24:
        await bind_offline(b24, ["ONCRMCONTACTADD"])
        await b24.call("crm.contact.add", {"fields": {"NAME": "Ошибочный"}})
        reply = await b24.call("event.offline.get", {"clear": 0, "process_id": "p"})
        batch = parse_result("event.offline.get", reply.result)
        await mark_offline_errors(b24, "p", [e.MESSAGE_ID for e in batch.events])
        listed = [e async for e in list_offline_events(b24)]
        assert [(e.ERROR, e.PROCESS_ID) for e in listed] == [(1, "")]
        again = await b24.call("event.offline.get", {"clear": 0})
        assert parse_result("event.offline.get", again.result).events == []
        assert (await poll_offline_events(b24, store)).received == 0


# --- faults -------------------------------------------------------------------------------


async def test_transient_faults_are_retried_and_nothing_is_lost(
    bitrix24_portal: PortalServer,
) -> None:
    from bitrix1c.bitrix24.client import RetryStrategy

    async with Bitrix24Client(bitrix24_portal.webhook_url, rate=1000, burst=1000) as seeder:
        commands = {
            f"c{i}": (
                "crm.company.add",
                {"fields": {"TITLE": f"Сбой {i}", "ORIGINATOR_ID": "faults"}},
            )
            for i in range(50)
        }
        await seeder.batch(commands)
        await seeder.batch(commands)
    bitrix24_portal.portal.faults.configure(
        {"http_503": 0.1, "http_500": 0.1, "html_error": 0.1, "reset": 0.1, "seed": 7}
    )
    try:
        retry = RetryStrategy(max_attempts=20, base_seconds=0.001, cap_seconds=0.01)
        async with Bitrix24Client(
            bitrix24_portal.webhook_url, rate=1000, burst=1000, retry=retry
        ) as b24:
            ids = []
            for _ in range(5):
                async for page in b24.list_fast(
                    "crm.company.list", filter={"ORIGINATOR_ID": "faults"}, chain=2
                ):
                    ids += [int(row["ID"]) for row in page]
        injected = dict(bitrix24_portal.portal.faults.injected)
    finally:
        bitrix24_portal.portal.faults.clear()
    assert len(ids) == 5 * 100 and len(set(ids)) == 100
    assert b24.stats.retries > 0 and sum(injected.values()) > 0


# --- catalog, timeline, duplicates ------------------------------------------------------


async def test_catalog_products_prices_and_stock(b24: Bitrix24Client) -> None:
    catalogs = (await b24.call("catalog.catalog.list")).result["catalogs"]
    iblock_id = int(catalogs[0]["iblockId"])
    measures = parse_result("catalog.measure.list", (await b24.call("catalog.measure.list")).result)
    piece = next(m for m in measures if m.code == 796)
    price_types = parse_result(
        "catalog.priceType.list", (await b24.call("catalog.priceType.list")).result
    )
    base = price_types[0]
    added = parse_result(
        "catalog.product.add",
        (
            await b24.call(
                "catalog.product.add",
                {
                    "fields": {
                        "iblockId": iblock_id,
                        "name": "Болт М8",
                        "xmlId": "1c-guid-1",
                        "measure": piece.id,
                    }
                },
            )
        ).result,
    )
    assert added.xmlId == "1c-guid-1"
    await b24.call(
        "catalog.price.modify",
        {
            "fields": {
                "product": {
                    "id": added.id,
                    "prices": [{"catalogGroupId": base.id, "price": 12.5, "currency": "RUB"}],
                }
            }
        },
    )
    prices = parse_result(
        "catalog.price.list",
        (await b24.call("catalog.price.list", {"filter": {"productId": added.id}})).result,
    )
    assert [(p.catalogGroupId, float(p.price or 0)) for p in prices] == [(base.id, 12.5)]
    stores = parse_result("catalog.store.list", (await b24.call("catalog.store.list")).result)
    document = (
        await b24.call(
            "catalog.document.add",
            {"fields": {"docType": "S", "currency": "RUB", "responsibleId": 1}},
        )
    ).result["document"]
    await b24.call(
        "catalog.document.element.add",
        {
            "fields": {
                "docId": document["id"],
                "elementId": added.id,
                "storeTo": stores[0].id,
                "amount": 7,
                "purchasingPrice": 10,
            }
        },
    )
    assert (await b24.call("catalog.document.conduct", {"id": document["id"]})).result is True
    stock = parse_result(
        "catalog.storeproduct.list",
        (await b24.call("catalog.storeproduct.list", {"filter": {"productId": added.id}})).result,
    )
    assert [(s.storeId, float(s.amount or 0)) for s in stock] == [(stores[0].id, 7.0)]
    products = []
    async for page in b24.list_fast(
        "catalog.product.list",
        filter={"iblockId": iblock_id},
        select=("id", "iblockId", "name", "xmlId"),
        id_field="id",
        wrapper="products",
    ):
        products += parse_result("catalog.product.list", {"products": page})
    assert "1c-guid-1" in [p.xmlId for p in products]


async def test_timeline_comment_and_duplicates(b24: Bitrix24Client) -> None:
    company_id = int(
        (
            await b24.call(
                "crm.company.add",
                {
                    "fields": {
                        "TITLE": "Дубль",
                        "PHONE": [{"VALUE": "+7 495 765-43-21", "VALUE_TYPE": "WORK"}],
                    }
                },
            )
        ).result
    )
    comment_id = (
        await b24.call(
            "crm.timeline.comment.add",
            {
                "fields": {
                    "ENTITY_ID": company_id,
                    "ENTITY_TYPE": "company",
                    "COMMENT": "Оплата 1С: 1 500 ₽",
                }
            },
        )
    ).result
    assert int(comment_id) > 0
    found = parse_result(
        "crm.duplicate.findbycomm",
        (
            await b24.call(
                "crm.duplicate.findbycomm",
                {"type": "PHONE", "values": ["+74957654321"], "entity_type": "COMPANY"},
            )
        ).result,
    )
    assert company_id in (found.COMPANY or [])
