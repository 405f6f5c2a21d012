"""The batch method of the Bitrix24 emulator."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import quote, urlencode

import pytest

from bitrix1c.sandbox.bitrix24 import Portal, RestError


@pytest.fixture
def portal() -> Iterator[Portal]:
    p = Portal(None)
    yield p
    p.close()


SECTIONS = ["result", "result_error", "result_total", "result_next", "result_time"]


def test_references_between_commands(portal: Portal) -> None:
    body = portal.call(
        "batch",
        {
            "halt": 0,
            "cmd": {
                "company": "crm.company.add?" + urlencode({"fields[TITLE]": "ООО «Альфа» & Ко"}),
                "get": "crm.company.get?id=$result[company]",
                "contact": "crm.contact.add?fields[NAME]=Иван&fields[COMPANY_ID]=$result[company]",
                "list": "crm.contact.list?filter[COMPANY_ID]=$result[get][ID]&select[]=ID",
                "again": "crm.contact.get?id=$result[list][0][ID]",
                "title": "crm.company.update?id=$result[company]"
                "&fields[COMMENTS]=" + quote("copy of $result[get][TITLE]"),
            },
        },
    )
    assert set(body) == {"result", "time"}
    result = body["result"]
    assert list(result) == SECTIONS
    company_id = result["result"]["company"]
    assert isinstance(company_id, int)
    assert result["result"]["get"]["TITLE"] == "ООО «Альфа» & Ко"
    assert result["result"]["again"]["COMPANY_ID"] == str(company_id)
    assert result["result_error"] == []
    assert result["result_total"] == {"list": 1}
    assert result["result_next"] == []
    assert set(result["result_time"]) == set(result["result"])
    assert {"start", "finish", "duration", "processing"} <= set(result["result_time"]["get"])
    comments = portal.call("crm.company.get", {"id": company_id})["result"]["COMMENTS"]
    assert comments == "copy of ООО «Альфа» & Ко"


def test_errors_without_halt_continue(portal: Portal) -> None:
    body = portal.call(
        "batch",
        {
            "cmd": {
                "bad": "crm.company.get?id=999",
                "nomethod": "crm.nothing.here",
                "ok": "crm.company.add?fields[TITLE]=X",
            }
        },
    )["result"]
    assert body["result"] == {"ok": 1}
    assert body["result_error"] == {
        "bad": {"error": "", "error_description": "Not found"},
        "nomethod": {"error": "ERROR_METHOD_NOT_FOUND", "error_description": "Method not found!"},
    }
    assert list(body["result_time"]) == ["ok"]


def test_halt_stops_at_first_error(portal: Portal) -> None:
    body = portal.call(
        "batch",
        {
            "halt": 1,
            "cmd": {
                "a": "crm.company.add?fields[TITLE]=A",
                "b": "crm.company.get?id=999",
                "c": "crm.company.add?fields[TITLE]=C",
            },
        },
    )["result"]
    assert body["result"] == {"a": 1}
    assert list(body["result_error"]) == ["b"]
    assert portal.call("crm.company.list", {})["total"] == 1


def test_array_form_is_keyed_by_position(portal: Portal) -> None:
    body = portal.call(
        "batch",
        {"cmd": ["crm.company.add?fields[TITLE]=A", "crm.company.get?id=$result[0]"]},
    )["result"]
    assert body["result"][0] == 1 and body["result"][1]["TITLE"] == "A"
    assert isinstance(body["result"], list)
    partial = portal.call("batch", {"cmd": ["crm.company.get?id=999", "crm.company.get?id=1"]})[
        "result"
    ]
    assert partial["result"] == {"1": partial["result"]["1"]}
    assert partial["result_error"] == [{"error": "", "error_description": "Not found"}]


def test_list_totals_and_next(portal: Portal) -> None:
    for i in range(60):
        portal.call("crm.company.add", {"fields": {"TITLE": f"C{i}"}})
    body = portal.call(
        "batch",
        {
            "cmd": {
                "p1": "crm.company.list?select[]=ID&order[ID]=ASC",
                "fast": "crm.company.list?select[]=ID&order[ID]=ASC&start=-1"
                "&filter[>ID]=$result[p1][49][ID]",
            }
        },
    )["result"]
    assert body["result_total"] == {"p1": 60, "fast": 0}
    assert body["result_next"] == {"p1": 50}
    assert [r["ID"] for r in body["result"]["fast"]] == [str(i) for i in range(51, 61)]


def test_more_than_50_commands(portal: Portal) -> None:
    with pytest.raises(RestError) as err:
        portal.call("batch", {"cmd": {f"c{i}": "crm.company.fields" for i in range(51)}})
    assert (err.value.status, err.value.code) == (400, "ERROR_BATCH_LENGTH_EXCEEDED")
    ok = portal.call("batch", {"cmd": {f"c{i}": "crm.company.fields" for i in range(50)}})
    assert len(ok["result"]["result"]) == 50


def test_nested_batch_not_allowed(portal: Portal) -> None:
    with pytest.raises(RestError) as err:
        portal.call(
            "batch", {"cmd": {"a": "crm.company.add?fields[TITLE]=A", "b": "batch?cmd[x]=y"}}
        )
    assert (err.value.status, err.value.code) == (405, "ERROR_BATCH_METHOD_NOT_ALLOWED")
    assert portal.call("crm.company.list", {})["total"] == 0


def test_empty_batch(portal: Portal) -> None:
    body = portal.call("batch", {"cmd": {}})["result"]
    assert body == {name: [] for name in SECTIONS}
