"""Fault injection of the 1C sandbox: Python API, HTTP switch, what a client sees."""

from __future__ import annotations

import httpx
import pytest

from bitrix1c.sandbox.onec import OneCBase, create_app

ROOT = "/trade/odata/standard.odata"


@pytest.fixture
def base() -> OneCBase:
    return OneCBase(None, name="trade", username="u", password="p", faults={"lock_conflict": 1})


def _client(base: OneCBase) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(create_app({base.name: base})),
        base_url="http://sandbox",
        auth=("u", "p"),
        headers={"Accept": "application/json"},
    )


async def test_lock_conflict_from_the_constructor_hits_the_next_write_only(base: OneCBase) -> None:
    async with _client(base) as http:
        read = await http.get(f"{ROOT}/Catalog_Контрагенты")
        assert read.status_code == 200
        refused = await http.post(f"{ROOT}/Catalog_Контрагенты", json={"Description": "A"})
        assert refused.status_code == 500
        error = refused.json()["odata.error"]
        assert error["code"] == "-1" and "блокировки" in error["message"]["value"]
        created = await http.post(f"{ROOT}/Catalog_Контрагенты", json={"Description": "A"})
        assert created.status_code == 201


async def test_switches_over_http_and_html_page(base: OneCBase) -> None:
    async with _client(base) as http:
        answer = await http.post(
            "/_sandbox/faults",
            json={
                "base": "trade",
                "clear": True,
                "html_error": 1,
                "business_error": 1,
                "business_message": "Не заполнен склад",
            },
        )
        assert answer.json()["trade"]["html_error"] == 1
        page = await http.get(f"{ROOT}/Catalog_Контрагенты")
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        refused = await http.post(f"{ROOT}/Catalog_Контрагенты", json={"Description": "B"})
        assert refused.json()["odata.error"]["message"]["value"] == "Не заполнен склад"
        assert (await http.get("/_sandbox/faults")).json()["trade"]["injected"]["html_error"] == 1
        bad = await http.post("/_sandbox/faults", json={"nonsense": 1})
        assert bad.status_code == 400


def test_unknown_setting_is_refused() -> None:
    with pytest.raises(ValueError):
        OneCBase(None, faults={"lock_conflicts": 1})
