"""The Bitrix24 client against scripted answers (httpx.MockTransport)."""

from __future__ import annotations

import json
from collections.abc import Callable
from urllib.parse import parse_qsl

import httpx
import pytest

from bitrix1c.bitrix24.client import Bitrix24Client, RetryStrategy
from bitrix1c.errors import (
    Bitrix24AccessDenied,
    Bitrix24AuthError,
    Bitrix24RecordError,
    Bitrix24RequestError,
    Bitrix24Unavailable,
    RetryLater,
    StopAndAlert,
)

URL = "https://acme.bitrix24.ru/rest/1/code/"
FAST = RetryStrategy(max_attempts=3, base_seconds=0.001, cap_seconds=0.002)


def client(handler: Callable[[httpx.Request], httpx.Response]) -> Bitrix24Client:
    return Bitrix24Client(
        URL, rate=1000, burst=1000, transport=httpx.MockTransport(handler), retry=FAST
    )


async def test_posts_json_to_method_url_and_returns_result() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"result": 17, "time": {"operating": 0.1}})

    async with client(handler) as b24:
        reply = await b24.call("crm.company.add", {"fields": {"TITLE": "Ромашка"}})
    assert reply.result == 17
    assert str(seen[0].url) == URL + "crm.company.add.json"
    assert json.loads(seen[0].content) == {"fields": {"TITLE": "Ромашка"}}


@pytest.mark.parametrize(
    ("status", "body", "error", "action"),
    [
        (
            401,
            {"error": "NO_AUTH_FOUND", "error_description": "Wrong authorization data"},
            Bitrix24AuthError,
            StopAndAlert,
        ),
        (
            401,
            {
                "error": "expired_token",
                "error_description": "The access token provided has expired.",
            },
            Bitrix24AuthError,
            StopAndAlert,
        ),
        (
            403,
            {"error": "insufficient_scope", "error_description": ""},
            Bitrix24AccessDenied,
            StopAndAlert,
        ),
        (
            404,
            {"error": "ERROR_METHOD_NOT_FOUND", "error_description": "Method not found!"},
            Bitrix24RequestError,
            StopAndAlert,
        ),
        (
            400,
            {"error": "", "error_description": "Not found"},
            Bitrix24RecordError,
            Bitrix24RecordError,
        ),
        (
            400,
            {"error": "200040300010", "error_description": "Access denied"},
            Bitrix24RecordError,
            Bitrix24RecordError,
        ),
        (
            503,
            {"error": "QUERY_LIMIT_EXCEEDED", "error_description": "Too many requests"},
            Bitrix24Unavailable,
            RetryLater,
        ),
        (
            429,
            {
                "error": "OPERATION_TIME_LIMIT",
                "error_description": "Method is blocked due to operation time limit.",
            },
            Bitrix24Unavailable,
            RetryLater,
        ),
    ],
)
async def test_errors_are_classified(status: int, body: dict, error: type, action: type) -> None:
    async with client(lambda r: httpx.Response(status, json=body)) as b24:
        with pytest.raises(error) as info:
            await b24.call("crm.company.get", {"id": 1})
    assert isinstance(info.value, action)
    assert info.value.method == "crm.company.get"
    assert info.value.status == status
    assert info.value.code == body["error"]


async def test_transient_errors_are_retried_then_succeed() -> None:
    answers = [
        httpx.Response(
            503, json={"error": "QUERY_LIMIT_EXCEEDED", "error_description": "Too many requests"}
        ),
        httpx.Response(
            502, text="<html><body>Bad Gateway</body></html>", headers={"content-type": "text/html"}
        ),
        httpx.Response(200, json={"result": True}),
    ]
    async with client(lambda r: answers.pop(0)) as b24:
        reply = await b24.call("crm.company.update", {"id": 1, "fields": {}})
        assert reply.result is True
        assert b24.stats.retries == 2
        assert b24.stats.rate_limited_503 == 1


async def test_html_page_with_200_is_an_error() -> None:
    async with client(lambda r: httpx.Response(200, text="<html>maintenance</html>")) as b24:
        with pytest.raises(Bitrix24Unavailable, match="without JSON"):
            await b24.call("crm.company.list")


async def test_redirect_is_followed_with_the_same_body() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.host == "acme.bitrix24.ru":
            return httpx.Response(
                302,
                headers={"location": "https://new.bitrix24.ru/rest/1/code/crm.company.add.json"},
            )
        return httpx.Response(200, json={"result": 5})

    async with client(handler) as b24:
        assert (await b24.call("crm.company.add", {"fields": {"TITLE": "X"}})).result == 5
    assert seen[1].method == "POST" and json.loads(seen[1].content) == {"fields": {"TITLE": "X"}}


async def test_batch_reports_errors_per_command() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        assert body["cmd"]["a"].startswith("crm.company.add?")
        return httpx.Response(
            200,
            json={
                "result": {
                    "result": {"a": 10},
                    "result_error": {"b": {"error": "", "error_description": "Not found"}},
                    "result_total": [],
                    "result_next": [],
                    "result_time": {},
                },
                "time": {},
            },
        )

    async with client(handler) as b24:
        reply = await b24.batch(
            {
                "a": ("crm.company.add", {"fields": {"TITLE": "A"}}),
                "b": ("crm.company.update", {"id": 9}),
            }
        )
    assert reply.results == {"a": 10}
    assert isinstance(reply.errors["b"], Bitrix24RecordError)
    assert reply.errors["b"].method == "crm.company.update"


async def test_batch_refuses_more_than_50_commands() -> None:
    async with client(lambda r: httpx.Response(200, json={"result": {}})) as b24:
        with pytest.raises(ValueError, match="at most 50"):
            await b24.batch({str(i): ("crm.company.get", {"id": i}) for i in range(51)})


async def test_list_fast_chains_id_filters_and_stops_on_short_page() -> None:
    rows = [{"ID": str(i)} for i in range(1, 131)]  # 130 companies
    requests: list[dict] = []

    def handler(request: httpx.Request) -> httpx.Response:
        cmd = json.loads(request.content)["cmd"]
        requests.append(cmd)
        results, last = {}, None
        for key in sorted(cmd, key=lambda k: int(k[1:])):
            params = dict(parse_qsl(cmd[key].split("?", 1)[1]))
            assert params["start"] == "-1" and params["order[ID]"] == "ASC"
            ref = params["filter[>ID]"]
            after = int(ref) if ref.isdigit() else last
            page = [r for r in rows if int(r["ID"]) > after][:50]
            results[key] = page
            last = int(page[-1]["ID"]) if len(page) == 50 else 10**9
        return httpx.Response(200, json={"result": {"result": results, "result_error": []}})

    async with client(handler) as b24:
        pages = [
            page
            async for page in b24.list_fast("crm.company.list", filter={"COMPANY_TYPE": "CUSTOMER"})
        ]
    assert [int(r["ID"]) for p in pages for r in p] == list(range(1, 131))
    assert len(requests) == 1  # 130 rows fit in one batch of chained pages
    first = dict(parse_qsl(requests[0]["p0"].split("?", 1)[1]))
    assert first["filter[COMPANY_TYPE]"] == "CUSTOMER" and first["filter[>ID]"] == "0"
    assert (
        dict(parse_qsl(requests[0]["p1"].split("?", 1)[1]))["filter[>ID]"] == "$result[p0][49][ID]"
    )
