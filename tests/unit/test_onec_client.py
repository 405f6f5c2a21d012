"""ODataClient against a mock transport: error mapping, retries, auth, URL encoding."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable

import httpx
import pytest

from bitrix1c.errors import OneCAuthError, OneCRequestError, OneCUnavailable
from bitrix1c.onec.odata import (
    ODataClient,
    OneCBusinessError,
    OneCLocked,
    OneCNotFound,
    OneCPropertyNotFound,
    RetryPolicy,
    number_lines,
)

ROOT = "http://1c.local/trade/odata/standard.odata/"
REF = "41aa6331-954f-11e3-814b-005056c00008"


def _error(status: int, code: str, text: str) -> httpx.Response:
    body = {"odata.error": {"code": code, "message": {"lang": "ru", "value": text}}}
    return httpx.Response(status, json=body)


def client(handler: Callable[[httpx.Request], httpx.Response], attempts: int = 3) -> ODataClient:
    return ODataClient(
        ROOT,
        "ОбменOData",
        "пароль",
        base="trade",
        transport=httpx.MockTransport(handler),
        retry=RetryPolicy(attempts=attempts, base=0.0),
    )


@pytest.mark.parametrize(
    ("response", "error"),
    [
        (_error(404, "9", "Entity instance not found"), OneCNotFound),
        (_error(400, "10", "Свойство не найдено: КР_Поле"), OneCPropertyNotFound),
        (_error(400, "14", "Ошибка разбора $filter"), OneCRequestError),
        (_error(500, "-1", "Не заполнено поле Организация"), OneCBusinessError),
    ],
)
async def test_odata_errors_are_typed(response: httpx.Response, error: type[Exception]) -> None:
    async with client(lambda request: response) as c:
        with pytest.raises(error) as info:
            await c.get("Catalog_Контрагенты", REF)
    assert info.value.code == response.json()["odata.error"]["code"]  # type: ignore[attr-defined]


async def test_business_refusal_carries_the_1c_message() -> None:
    text = "Документ не может быть проведен: не указан склад"
    async with client(lambda r: _error(500, "-1", text)) as c:
        with pytest.raises(OneCBusinessError) as info:
            await c.post("Document_ЗаказКлиента", REF)
    assert info.value.context["reason"] == text
    assert text in str(info.value)


async def test_lock_conflicts_are_retried_then_succeed() -> None:
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        if len(calls) < 3:
            return _error(500, "-1", "Ошибка блокировки объекта. Объект уже заблокирован")
        return httpx.Response(200, json={"Ref_Key": REF, "DataVersion": "AAAAAQAAAAA="})

    async with client(handler) as c:
        row = await c.patch("Catalog_Контрагенты", REF, {"Description": "x"})
    assert row["Ref_Key"] == REF
    assert len(calls) == 3


async def test_lock_conflict_that_persists_is_raised() -> None:
    async with client(lambda r: _error(500, "-1", "Lock conflict"), attempts=2) as c:
        with pytest.raises(OneCLocked):
            await c.patch("Catalog_Контрагенты", REF, {"Description": "x"})


async def test_html_page_with_200_is_an_error() -> None:
    page = "<html><body><h1>Ошибка</h1>Сервис недоступен</body></html>"
    async with client(
        lambda r: httpx.Response(200, text=page, headers={"content-type": "text/html"})
    ) as c:
        with pytest.raises(OneCUnavailable, match="without OData JSON"):
            await c.count("Catalog_Контрагенты")
        with pytest.raises(OneCUnavailable):
            await c.post("Document_ЗаказКлиента", REF)


async def test_basic_auth_is_utf8_and_urls_use_percent_20() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"value": []})

    async with client(handler) as c:
        await c.query("Catalog_Контрагенты", None)
        async for _ in c.pages("Catalog_Контрагенты", filter="ИНН eq '7707083893'"):
            pass
    header = seen[0].headers["authorization"]
    assert base64.b64decode(header.split()[1]).decode("utf-8") == "ОбменOData:пароль"
    raw = seen[1].url.raw_path.decode("ascii")
    assert "+" not in raw and "%20eq%20" in raw
    assert "$format=json" in raw


async def test_unauthorized_is_an_auth_error() -> None:
    async with client(lambda r: httpx.Response(401)) as c:
        with pytest.raises(OneCAuthError):
            await c.count("Catalog_Контрагенты")


def test_tabular_sections_are_numbered_from_one() -> None:
    body = number_lines(
        {"Description": "x", "Товары": [{"Цена": 1, "LineNumber": "7"}, {"Цена": 2}], "Теги": []}
    )
    assert [r["LineNumber"] for r in body["Товары"]] == ["1", "2"]
    assert body["Description"] == "x"
    assert json.dumps(body["Теги"]) == "[]"
