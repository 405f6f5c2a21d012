"""Replies of the Bitrix24 emulator match the ``resultExample`` of each method spec.

The specs are the machine-readable method descriptions of the official RU docs
(copied from ``shared/reference/bitrix24/methods`` into ``tests/data/reference``, MIT).  Portal-specific dynamic fields of the samples
(``UF_CRM_…`` of the docs' portal, ``PARENT_ID_<smart process>``) are left out.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bitrix1c.sandbox.bitrix24 import Portal

SPEC_DIR = Path(__file__).parents[1] / "data" / "reference" / "bitrix24" / "methods"
MULTI = {"PHONE", "EMAIL", "WEB", "IM", "LINK"}


def example(method: str) -> dict[str, Any]:
    path = SPEC_DIR / f"{method}.json"
    sample = json.loads(path.read_text(encoding="utf-8")).get("resultExample")
    assert isinstance(sample, dict), f"{method} spec has no resultExample"
    return sample


def plain(keys: Any) -> set[str]:
    return {k for k in keys if not k.startswith(("UF_", "PARENT_ID_")) and k not in MULTI}


@pytest.fixture(scope="module")
def portal() -> Iterator[Portal]:
    p = Portal(None)
    company = p.call(
        "crm.company.add",
        {
            "fields": {
                "TITLE": "ООО «Ромашка»",
                "ASSIGNED_BY_ID": 1,
                "PHONE": [{"VALUE": "+79998887766", "VALUE_TYPE": "WORK"}],
                "EMAIL": [{"VALUE": "info@example.com", "VALUE_TYPE": "WORK"}],
            }
        },
    )["result"]
    for name in ("Иван", "Анна"):
        p.call(
            "crm.contact.add",
            {
                "fields": {
                    "NAME": name,
                    "LAST_NAME": "Иванов",
                    "COMPANY_ID": company,
                    "PHONE": [{"VALUE": "+7333333555", "VALUE_TYPE": "WORK"}],
                    "EMAIL": [{"VALUE": "ivanov@example.work", "VALUE_TYPE": "WORK"}],
                }
            },
        )
    p.call(
        "crm.requisite.add",
        {
            "fields": {
                "ENTITY_TYPE_ID": 4,
                "ENTITY_ID": company,
                "PRESET_ID": 1,
                "NAME": "Организация",
            }
        },
    )
    yield p
    p.close()


def check_envelope(sample: dict[str, Any], body: dict[str, Any]) -> None:
    assert set(body) - {"next"} == set(sample) - {"next"}
    assert set(sample["time"]) <= set(body["time"])
    assert type(body["result"]) is type(sample["result"])


def check_record(sample: dict[str, Any], mine: dict[str, Any]) -> None:
    assert plain(mine) == plain(sample)
    for key, value in sample.items():
        if key in mine and isinstance(value, str):
            assert mine[key] is None or isinstance(mine[key], str), key
        if key in MULTI and key in mine:
            assert [set(v) for v in mine[key]][:1] == [set(v) for v in value][:1]


@pytest.mark.parametrize(
    ("method", "params"),
    [
        ("crm.company.add", {"fields": {"TITLE": "Новая"}}),
        ("crm.company.update", {"id": 1, "fields": {"COMMENTS": "x"}}),
        ("crm.contact.add", {"fields": {"NAME": "Пётр"}}),
        (
            "crm.requisite.add",
            {"fields": {"ENTITY_TYPE_ID": 4, "ENTITY_ID": 1, "PRESET_ID": 2, "NAME": "ИП"}},
        ),
        ("crm.requisite.update", {"id": 1, "fields": {"RQ_INN": "7707083893"}}),
        (
            "crm.company.contact.items.set",
            {"id": 1, "items": [{"CONTACT_ID": 1}, {"CONTACT_ID": 2}]},
        ),
    ],
)
def test_write_methods(portal: Portal, method: str, params: dict[str, Any]) -> None:
    sample = example(method)
    check_envelope(sample, portal.call(method, params))


@pytest.mark.parametrize(
    "method", ["crm.company.delete", "crm.contact.delete", "crm.requisite.delete"]
)
def test_delete_methods(method: str) -> None:
    sample = example(method)
    p = Portal(None)
    cid = p.call("crm.company.add", {"fields": {"TITLE": "X"}})["result"]
    p.call("crm.contact.add", {"fields": {"NAME": "X"}})
    p.call(
        "crm.requisite.add",
        {"fields": {"ENTITY_TYPE_ID": 4, "ENTITY_ID": cid, "PRESET_ID": 1, "NAME": "X"}},
    )
    check_envelope(sample, p.call(method, {"id": 1}))
    p.close()


@pytest.mark.parametrize("method", ["crm.company.get", "crm.contact.get", "crm.requisite.get"])
def test_get_methods(portal: Portal, method: str) -> None:
    sample = example(method)
    body = portal.call(method, {"id": 1})
    check_envelope(sample, body)
    check_record(sample["result"], body["result"])


@pytest.mark.parametrize(
    "method", ["crm.company.list", "crm.contact.list", "crm.requisite.preset.list"]
)
def test_list_methods(portal: Portal, method: str) -> None:
    sample = example(method)
    first = sample["result"][0]
    body = portal.call(method, {"select": list(first), "order": {"ID": "ASC"}})
    check_envelope(sample, body)
    assert set(body["result"][0]) == set(first)
    check_record(first, body["result"][0])


def test_fields_method(portal: Portal) -> None:
    sample = example("crm.company.fields")
    body = portal.call("crm.company.fields", {})
    check_envelope(sample, body)
    assert plain(body["result"]) | MULTI == plain(sample["result"]) | MULTI
    for name, info in sample["result"].items():
        if name in body["result"] and not name.startswith(("UF_", "PARENT_ID_")):
            assert body["result"][name] == info, name


def test_company_contact_items_get(portal: Portal) -> None:
    sample = example("crm.company.contact.items.get")
    body = portal.call("crm.company.contact.items.get", {"id": 1})
    check_envelope(sample, body)
    for mine, theirs in zip(body["result"], sample["result"], strict=False):
        assert set(mine) == set(theirs)
        assert {k: type(v) for k, v in mine.items()} == {k: type(v) for k, v in theirs.items()}
