"""``event.*`` methods and the offline queue of the Bitrix24 emulator (in-process)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from bitrix1c.sandbox.bitrix24 import Portal, RestError

APP = "local.app"


@pytest.fixture
def portal() -> Iterator[Portal]:
    p = Portal(None)
    p.install_application(APP, "secret")
    yield p
    p.close()


def app_call(portal: Portal, method: str, params: dict[str, Any] | None = None) -> Any:
    return portal.call(method, params or {}, client_id=APP)["result"]


def test_event_methods_need_an_application(portal: Portal) -> None:
    with pytest.raises(RestError) as exc:
        portal.call("event.bind", {"event": "ONCRMDEALADD", "handler": "http://h/"})
    assert (exc.value.status, exc.value.code) == (403, "WRONG_AUTH_TYPE")


def test_bind_get_unbind(portal: Portal) -> None:
    assert app_call(portal, "event.bind", {"event": "onCrmDealAdd", "handler": "http://h/"})
    with pytest.raises(RestError) as exc:
        app_call(portal, "event.bind", {"event": "ONCRMDEALADD", "handler": "http://h/"})
    assert (exc.value.code, exc.value.description) == ("ERROR_CORE", "Handler already binded")
    with pytest.raises(RestError) as missing:
        app_call(portal, "event.bind", {"event": "ONNOTHING", "handler": "http://h/"})
    assert missing.value.code == "ERROR_EVENT_NOT_FOUND"
    app_call(portal, "event.bind", {"event": "ONCRMDEALUPDATE", "event_type": "offline"})
    bound = app_call(portal, "event.get")
    assert [(b["event"], b["offline"]) for b in bound] == [
        ("ONCRMDEALADD", 0),
        ("ONCRMDEALUPDATE", 1),
    ]
    removed = app_call(portal, "event.unbind", {"event": "ONCRMDEALADD", "handler": "http://h/"})
    assert removed == {"count": 1}
    assert len(app_call(portal, "event.get")) == 1


def test_offline_queue_keeps_latest_state_per_object(portal: Portal) -> None:
    app_call(portal, "event.bind", {"event": "ONCRMDEALUPDATE", "event_type": "offline"})
    deal = portal.call("crm.deal.add", {"fields": {"TITLE": "Сделка"}})["result"]
    other = portal.call("crm.deal.add", {"fields": {"TITLE": "Другая"}})["result"]
    for amount in range(5):
        portal.call("crm.deal.update", {"id": deal, "fields": {"OPPORTUNITY": amount}})
    portal.call("crm.deal.update", {"id": other, "fields": {"OPPORTUNITY": 1}})
    reply = app_call(portal, "event.offline.get")
    events = reply["events"]
    assert [e["EVENT_DATA"]["FIELDS"]["ID"] for e in events] == [deal, other]
    assert {e["EVENT_NAME"] for e in events} == {"ONCRMDEALUPDATE"}
    assert reply["process_id"] is None
    assert app_call(portal, "event.offline.get")["events"] == []  # clear=1 by default


def test_auth_connector_suppresses_own_writes(portal: Portal) -> None:
    app_call(
        portal,
        "event.bind",
        {"event": "ONCRMCOMPANYADD", "event_type": "offline", "auth_connector": "bitrix1c"},
    )
    portal.call("crm.company.add", {"fields": {"TITLE": "Своя"}, "auth_connector": "bitrix1c"})
    theirs = portal.call("crm.company.add", {"fields": {"TITLE": "Менеджера"}})["result"]
    # the queue is split by source: without the key only unkeyed bindings' events are seen
    assert app_call(portal, "event.offline.list") == []
    events = app_call(portal, "event.offline.get", {"auth_connector": "bitrix1c"})["events"]
    assert [e["EVENT_DATA"]["FIELDS"]["ID"] for e in events] == [theirs]


def test_reserve_then_clear(portal: Portal) -> None:
    app_call(portal, "event.bind", {"event": "ONCRMCONTACTADD", "event_type": "offline"})
    for name in ("А", "Б", "В"):
        portal.call("crm.contact.add", {"fields": {"NAME": name}})
    reserved = app_call(portal, "event.offline.get", {"clear": 0, "limit": 2})
    assert reserved["process_id"]
    assert len(reserved["events"]) == 2
    # Reserved records are not handed out again.
    rest = app_call(portal, "event.offline.get", {"clear": 0})
    assert len(rest["events"]) == 1 and rest["process_id"] != reserved["process_id"]
    first_id = reserved["events"][0]["ID"]
    app_call(
        portal, "event.offline.clear", {"process_id": reserved["process_id"], "id": [first_id]}
    )
    left = portal.store.query("SELECT id FROM event_offline ORDER BY id")
    assert [str(r[0]) for r in left] == [reserved["events"][1]["ID"], rest["events"][0]["ID"]]
    app_call(portal, "event.offline.clear", {"process_id": reserved["process_id"]})
    app_call(portal, "event.offline.clear", {"process_id": rest["process_id"]})
    assert portal.store.query("SELECT COUNT(*) FROM event_offline")[0][0] == 0
    with pytest.raises(RestError):
        app_call(portal, "event.offline.clear", {})


def test_offline_filter_by_event_name(portal: Portal) -> None:
    for event in ("ONCRMCOMPANYADD", "ONCRMCOMPANYUPDATE"):
        app_call(portal, "event.bind", {"event": event, "event_type": "offline"})
    company = portal.call("crm.company.add", {"fields": {"TITLE": "X"}})["result"]
    portal.call("crm.company.update", {"id": company, "fields": {"TITLE": "Y"}})
    updates = app_call(
        portal, "event.offline.get", {"filter": {"EVENT_NAME": "ONCRMCOMPANYUPDATE"}}
    )
    assert [e["EVENT_NAME"] for e in updates["events"]] == ["ONCRMCOMPANYUPDATE"]
    left = app_call(portal, "event.offline.get")["events"]
    assert [e["EVENT_NAME"] for e in left] == ["ONCRMCOMPANYADD"]


def test_batch_writes_raise_events(portal: Portal) -> None:
    app_call(portal, "event.bind", {"event": "ONCRMREQUISITEADD", "event_type": "offline"})
    portal.call(
        "batch",
        {
            "cmd": {
                "c": "crm.company.add?fields[TITLE]=Пакет",
                "r": "crm.requisite.add?fields[ENTITY_TYPE_ID]=4&fields[ENTITY_ID]=$result[c]"
                "&fields[PRESET_ID]=1&fields[NAME]=Реквизит",
            }
        },
    )
    events = app_call(portal, "event.offline.get")["events"]
    assert [e["EVENT_NAME"] for e in events] == ["ONCRMREQUISITEADD"]


def test_batch_with_auth_connector_marks_every_write(portal: Portal) -> None:
    app_call(
        portal,
        "event.bind",
        {"event": "ONCRMCOMPANYADD", "event_type": "offline", "auth_connector": "bitrix1c"},
    )
    portal.call(
        "batch",
        {
            "auth_connector": "bitrix1c",
            "cmd": {"a": "crm.company.add?fields[TITLE]=A", "b": "crm.company.add?fields[TITLE]=B"},
        },
    )
    portal.call("crm.company.add", {"fields": {"TITLE": "C"}})  # a manager's write
    events = app_call(portal, "event.offline.get", {"auth_connector": "bitrix1c"})["events"]
    assert len(events) == 1  # only the manager's company, none of the batch's


def test_offline_list_reads_without_changing_the_queue(portal: Portal) -> None:
    app_call(portal, "event.bind", {"event": "ONCRMCOMPANYADD", "event_type": "offline"})
    companies = [
        portal.call("crm.company.add", {"fields": {"TITLE": f"К{i}"}})["result"] for i in range(55)
    ]
    reserved = app_call(portal, "event.offline.get", {"clear": 0, "limit": 2})
    page = portal.call("event.offline.list", {}, client_id=APP)
    assert (page["total"], page["next"], len(page["result"])) == (55, 50, 50)
    first = page["result"][0]
    assert set(first) == {
        "ID", "TIMESTAMP_X", "EVENT_NAME", "EVENT_DATA", "EVENT_ADDITIONAL", "MESSAGE_ID",
        "PROCESS_ID", "ERROR",
    }  # fmt: skip
    assert (first["PROCESS_ID"], first["ERROR"]) == (reserved["process_id"], "0")
    assert page["result"][2]["PROCESS_ID"] == ""
    tail = portal.call("event.offline.list", {"start": 50, "order": {"ID": "DESC"}}, client_id=APP)
    assert [e["EVENT_DATA"]["FIELDS"]["ID"] for e in tail["result"]] == companies[4::-1]
    assert "next" not in tail
    mine = app_call(
        portal, "event.offline.list", {"filter": {"PROCESS_ID": reserved["process_id"]}}
    )
    assert [e["ID"] for e in mine] == [e["ID"] for e in reserved["events"]]
    assert portal.store.query("SELECT COUNT(*) FROM event_offline")[0][0] == 55


def test_offline_error_flags_records_out_of_the_normal_queue(portal: Portal) -> None:
    app_call(portal, "event.bind", {"event": "ONCRMCONTACTADD", "event_type": "offline"})
    for name in ("А", "Б"):
        portal.call("crm.contact.add", {"fields": {"NAME": name}})
    reserved = app_call(portal, "event.offline.get", {"clear": 0})
    bad, good = reserved["events"]
    params = {"process_id": reserved["process_id"], "message_id": [bad["MESSAGE_ID"]]}
    assert app_call(portal, "event.offline.error", params) is True
    app_call(portal, "event.offline.clear", {"process_id": reserved["process_id"]})
    assert app_call(portal, "event.offline.get", {"clear": 0})["events"] == []
    listed = app_call(portal, "event.offline.list")
    assert [(e["ID"], e["ERROR"], e["PROCESS_ID"]) for e in listed] == [(bad["ID"], "1", "")]
    retry = app_call(portal, "event.offline.get", {"error": 1})
    assert [e["ID"] for e in retry["events"]] == [bad["ID"]]
    assert good["ID"] != bad["ID"]
    with pytest.raises(RestError):
        app_call(portal, "event.offline.error", {})


def test_a_process_gets_its_unfinished_records_again(portal: Portal) -> None:
    app_call(portal, "event.bind", {"event": "ONCRMCOMPANYADD", "event_type": "offline"})
    portal.call("crm.company.add", {"fields": {"TITLE": "Первая"}})
    first = app_call(portal, "event.offline.get", {"clear": 0, "process_id": "poller-1"})
    portal.call("crm.company.add", {"fields": {"TITLE": "Вторая"}})
    # another process sees only what nobody holds
    other = app_call(portal, "event.offline.get", {"clear": 0, "process_id": "poller-2"})
    assert len(other["events"]) == 1
    # the first process crashed before clearing: asking again with its id returns its record
    again = app_call(portal, "event.offline.get", {"clear": 0, "process_id": "poller-1"})
    assert [e["ID"] for e in again["events"]] == [e["ID"] for e in first["events"]]
