"""Filter prefixes, ordering and data types of list methods in the Bitrix24 emulator."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from bitrix1c.sandbox.bitrix24 import Portal


@pytest.fixture(scope="module")
def portal() -> Iterator[Portal]:
    p = Portal(None)
    rows = [
        ("ООО «Ромашка»", "CUSTOMER", 100, "2025-01-10T09:00:00+03:00", "guid-A", "+74951111111"),
        ("ООО «Гранит»", "PARTNER", 2000, "2025-03-01T12:00:00+03:00", "guid-B", "+74952222222"),
        ("АО Ромашка-Сервис", "SUPPLIER", 30, "2025-06-15T18:30:00+03:00", None, None),
        ("ИП Иванов", "CUSTOMER", 0, "2024-12-31T23:59:59+03:00", "guid-D", "+74954444444"),
    ]
    for title, kind, revenue, created, origin, phone in rows:
        fields: dict[str, Any] = {
            "TITLE": title,
            "COMPANY_TYPE": kind,
            "REVENUE": revenue,
            "DATE_CREATE": created,
        }
        if origin:
            fields["ORIGIN_ID"] = origin
        if phone:
            fields["PHONE"] = [{"VALUE": phone, "VALUE_TYPE": "WORK"}]
        p.call("crm.company.add", {"fields": fields, "params": {"IMPORT": "Y"}})
    yield p
    p.close()


def ids(portal: Portal, filter_: dict[str, Any], order: dict[str, str] | None = None) -> list[int]:
    params: dict[str, Any] = {"filter": filter_, "select": ["ID"]}
    if order:
        params["order"] = order
    return [int(r["ID"]) for r in portal.call("crm.company.list", params)["result"]]


@pytest.mark.parametrize(
    ("filter_", "expected"),
    [
        ({"ID": 2}, [2]),
        ({"=ID": "2"}, [2]),
        ({">ID": 2}, [3, 4]),
        ({">=ID": 2}, [2, 3, 4]),
        ({"<ID": 2}, [1]),
        ({"<=ID": 2}, [1, 2]),
        ({"!ID": 2}, [1, 3, 4]),
        ({"!=ID": 2}, [1, 3, 4]),
        ({"@ID": [1, 3, 99]}, [1, 3]),
        ({"!@ID": [1, 3]}, [2, 4]),
        ({"ID": [2, 4]}, [2, 4]),
        ({"%TITLE": "ромашк"}, [1, 3]),
        ({"!%TITLE": "ромашк"}, [2, 4]),
        ({"=%TITLE": "ООО%"}, [1, 2]),
        ({"%=TITLE": "%сервис"}, [3]),
        ({"!=%TITLE": "ООО%"}, [3, 4]),
        ({"TITLE": "ооо «гранит»"}, [2]),
        ({"COMPANY_TYPE": "CUSTOMER"}, [1, 4]),
        ({"@COMPANY_TYPE": ["PARTNER", "SUPPLIER"]}, [2, 3]),
        ({">REVENUE": 50}, [1, 2]),
        ({"<=REVENUE": "30"}, [3, 4]),
        ({">=DATE_CREATE": "2025-01-01"}, [1, 2, 3]),
        ({"<DATE_CREATE": "01.03.2025"}, [1, 4]),
        ({">DATE_CREATE": "2025-03-01T11:00:00+02:00"}, [3]),
        ({"ORIGIN_ID": "GUID-b"}, [2]),
        ({"ORIGIN_ID": ""}, [3]),
        ({"!ORIGIN_ID": ""}, [1, 2, 4]),
        ({"PHONE": "+74954444444"}, [4]),
        ({"%PHONE": "2222"}, [2]),
        ({"COMPANY_TYPE": "CUSTOMER", ">REVENUE": 10}, [1]),
        ({"NO_SUCH_FIELD": "x"}, [1, 2, 3, 4]),
    ],
)
def test_prefixes(portal: Portal, filter_: dict[str, Any], expected: list[int]) -> None:
    assert ids(portal, filter_) == expected


def test_order_by_fields(portal: Portal) -> None:
    assert ids(portal, {}, {"REVENUE": "DESC"}) == [2, 1, 3, 4]
    assert ids(portal, {}, {"DATE_CREATE": "asc"}) == [4, 1, 2, 3]
    assert ids(portal, {}, {"COMPANY_TYPE": "ASC", "ID": "DESC"}) == [4, 1, 2, 3]


def test_filter_from_php_form_values(portal: Portal) -> None:
    # Values arriving from a query string are strings; keys carry the operators.
    assert ids(portal, {">=ID": "3", "!@ID": ["4"]}) == [3]
