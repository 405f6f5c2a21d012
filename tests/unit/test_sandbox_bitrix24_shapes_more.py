"""Replies of deal, pipeline, user-field and event methods match their specs' ``resultExample``.

Specs copied from ``shared/reference/bitrix24/methods`` into ``tests/data/reference``.
Dynamic keys of the docs' portal (``UF_CRM_…``, ``PARENT_ID_<smart process>``) are
left out of the key comparison.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bitrix1c.sandbox.bitrix24 import Portal

SPEC_DIR = Path(__file__).parents[1] / "data" / "reference" / "bitrix24" / "methods"
APP = "local.app"


def example(method: str) -> dict[str, Any]:
    sample = json.loads((SPEC_DIR / f"{method}.json").read_text(encoding="utf-8"))
    result = sample.get("resultExample")
    assert isinstance(result, dict), f"{method} spec has no resultExample"
    return result


def plain(keys: Any) -> set[str]:
    return {k for k in keys if not k.startswith(("UF_", "PARENT_ID_"))}


def check_envelope(sample: dict[str, Any], body: dict[str, Any]) -> None:
    assert set(body) - {"next"} == set(sample) - {"next"}
    assert set(sample["time"]) <= set(body["time"])
    assert type(body["result"]) is type(sample["result"])


def same_types(sample: dict[str, Any], mine: dict[str, Any]) -> None:
    for key, value in sample.items():
        if key not in mine or value is None or mine[key] is None:
            continue
        assert type(mine[key]) is type(value), key


@pytest.fixture(scope="module")
def portal() -> Iterator[Portal]:
    p = Portal(None)
    p.install_application(APP, "secret")
    contact = p.call("crm.contact.add", {"fields": {"NAME": "Иван"}})["result"]
    p.call(
        "crm.deal.add",
        {
            "fields": {
                "TITLE": "Поставка",
                "CATEGORY_ID": 1,
                "CONTACT_IDS": [contact],
                "OPPORTUNITY": 1000,
                "BEGINDATE": "2024-08-30",
                "CLOSEDATE": "2024-09-09",
            }
        },
    )
    p.call(
        "crm.company.userfield.add",
        {"fields": {"FIELD_NAME": "DEBT", "USER_TYPE_ID": "string", "LABEL": "Долг"}},
    )
    p.call(
        "crm.deal.userfield.add",
        {"fields": {"FIELD_NAME": "PAID", "USER_TYPE_ID": "string", "LABEL": "Оплачено"}},
    )
    yield p
    p.close()


@pytest.mark.parametrize(
    ("method", "params"),
    [
        ("crm.deal.add", {"fields": {"TITLE": "Новая"}}),
        ("crm.deal.update", {"id": 1, "fields": {"COMMENTS": "x"}}),
        ("crm.deal.contact.items.set", {"id": 1, "items": [{"CONTACT_ID": 1}]}),
        ("crm.company.userfield.add", {"fields": {"FIELD_NAME": "A", "USER_TYPE_ID": "string"}}),
        ("crm.deal.userfield.add", {"fields": {"FIELD_NAME": "B", "USER_TYPE_ID": "double"}}),
        ("crm.contact.userfield.add", {"fields": {"FIELD_NAME": "C", "USER_TYPE_ID": "date"}}),
        ("crm.company.userfield.update", {"id": 1, "fields": {"SORT": 50}}),
    ],
)
def test_write_methods(portal: Portal, method: str, params: dict[str, Any]) -> None:
    check_envelope(example(method), portal.call(method, params))


def test_deal_get(portal: Portal) -> None:
    sample = example("crm.deal.get")
    body = portal.call("crm.deal.get", {"id": 1})
    check_envelope(sample, body)
    assert plain(body["result"]) == plain(sample["result"])
    same_types(sample["result"], body["result"])
    assert body["result"]["OPPORTUNITY"] == "1000.00"
    assert body["result"]["UF_CRM_PAID"] is None


def test_deal_list(portal: Portal) -> None:
    sample = example("crm.deal.list")
    first = sample["result"][0]
    body = portal.call("crm.deal.list", {"select": list(first), "order": {"ID": "ASC"}})
    check_envelope(sample, body)
    assert set(body["result"][0]) == set(first)
    same_types(first, body["result"][0])


def test_deal_fields(portal: Portal) -> None:
    sample = example("crm.deal.fields")
    body = portal.call("crm.deal.fields")
    check_envelope(sample, body)
    assert plain(body["result"]) == plain(sample["result"])
    for name, info in sample["result"].items():
        if not name.startswith(("UF_", "PARENT_ID_")):
            assert body["result"][name] == info, name


def test_deal_delete() -> None:
    p = Portal(None)
    try:
        p.call("crm.deal.add", {"fields": {"TITLE": "X"}})
        check_envelope(example("crm.deal.delete"), p.call("crm.deal.delete", {"id": 1}))
        p.call("crm.company.userfield.add", {"fields": {"FIELD_NAME": "X", "USER_TYPE_ID": "url"}})
        check_envelope(
            example("crm.company.userfield.delete"),
            p.call("crm.company.userfield.delete", {"id": 1}),
        )
    finally:
        p.close()


def test_deal_contact_items_get(portal: Portal) -> None:
    sample = example("crm.deal.contact.items.get")
    body = portal.call("crm.deal.contact.items.get", {"id": 1})
    check_envelope(sample, body)
    assert body["result"]
    for mine in body["result"]:
        assert set(mine) == set(sample["result"][0])
        same_types(sample["result"][0], mine)


def test_category_list(portal: Portal) -> None:
    sample = example("crm.category.list")
    body = portal.call("crm.category.list", {"entityTypeId": 2})
    check_envelope(sample, body)
    assert set(body["result"]) == {"categories"}
    for mine in body["result"]["categories"]:
        assert set(mine) == set(sample["result"]["categories"][0])
        same_types(sample["result"]["categories"][0], mine)


def test_status_list(portal: Portal) -> None:
    sample = example("crm.status.list")
    body = portal.call("crm.status.list", {"filter": {"ENTITY_ID": "DEAL_STAGE"}})
    check_envelope(sample, body)
    first = sample["result"][0]
    assert set(body["result"][0]) == set(first)
    same_types(first, body["result"][0])


@pytest.mark.parametrize("method", ["crm.company.userfield.list", "crm.deal.userfield.list"])
def test_userfield_list(portal: Portal, method: str) -> None:
    sample = example(method)
    body = portal.call(method, {"order": {"SORT": "ASC"}})
    check_envelope(sample, body)
    keys = set(sample["result"][0]) - {"LIST"}
    assert set(body["result"][0]) - {"LIST"} == keys
    same_types(sample["result"][0], body["result"][0])


def test_userfield_get(portal: Portal) -> None:
    sample = example("crm.company.userfield.get")
    body = portal.call("crm.company.userfield.get", {"id": 1})
    check_envelope(sample, body)
    assert set(body["result"]) == set(sample["result"])
    same_types(sample["result"], body["result"])
    assert set(body["result"]["EDIT_FORM_LABEL"]) == set(sample["result"]["EDIT_FORM_LABEL"])


def test_event_methods(portal: Portal) -> None:
    bind = portal.call(
        "event.bind", {"event": "ONCRMDEALUPDATE", "event_type": "offline"}, client_id=APP
    )
    check_envelope(example("event.bind"), bind)
    portal.call("crm.deal.update", {"id": 1, "fields": {"COMMENTS": "y"}})
    got = portal.call("event.offline.get", {"clear": 0}, client_id=APP)
    sample = example("event.offline.get")
    check_envelope(sample, got)
    assert set(got["result"]) == set(sample["result"])
    assert set(got["result"]["events"][0]) == set(sample["result"]["events"][0])
    same_types(
        {k: v for k, v in sample["result"]["events"][0].items() if not k.startswith("EVENT_")},
        got["result"]["events"][0],
    )
    cleared = portal.call(
        "event.offline.clear", {"process_id": got["result"]["process_id"]}, client_id=APP
    )
    check_envelope(example("event.offline.clear"), cleared)
    unbind = portal.call(
        "event.unbind", {"event": "ONCRMDEALUPDATE", "event_type": "offline"}, client_id=APP
    )
    check_envelope(example("event.unbind"), unbind)
    assert unbind["result"] == {"count": 1}
