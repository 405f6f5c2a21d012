"""The client pauses a method before the portal's operating-time limit would block it."""

from __future__ import annotations

import time

import httpx

from bitrix1c.bitrix24.client import Bitrix24Client
from bitrix1c.bitrix24.limiter import OperatingBudget


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def test_method_near_its_limit_waits_until_reset() -> None:
    clock = Clock()
    budget = OperatingBudget(480.0, headroom=10.0, clock=clock)
    budget.observe("crm.deal.list", {"operating": 475.0, "operating_reset_at": 1_030})
    budget.observe("crm.company.list", {"operating": 3.0, "operating_reset_at": 1_030})
    assert budget.delay(["crm.deal.list"]) == 30.0
    assert budget.delay(["crm.company.list"]) == 0.0  # other methods keep working
    clock.now = 1_031.0
    assert budget.delay(["crm.deal.list"]) == 0.0


def test_portals_without_counters_are_never_paused() -> None:
    budget = OperatingBudget(480.0)
    budget.observe("crm.deal.list", {"start": 1.0, "finish": 2.0})
    budget.blocked("crm.deal.list")
    assert budget.delay(["crm.deal.list", "batch"]) == 0.0


def test_a_429_blocks_the_method_until_the_reset_seen_last() -> None:
    clock = Clock()
    budget = OperatingBudget(480.0, clock=clock)
    budget.observe("batch", {"operating": 100.0, "operating_reset_at": 1_012})
    budget.blocked("batch")
    assert budget.delay(["batch", "crm.company.add"]) == 12.0


async def test_client_pauses_instead_of_running_into_429() -> None:
    served: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        served.append(request.url.path)
        if len(served) == 1:
            # first answer: the method has used up its budget, basket leaves in a moment
            timing = {"operating": 479.5, "operating_reset_at": time.time() + 0.05}
        else:
            timing = {"operating": 1.0, "operating_reset_at": time.time() + 600}
        return httpx.Response(200, json={"result": [], "time": timing})

    async with Bitrix24Client(
        "https://acme.bitrix24.ru/rest/1/code/",
        rate=1000,
        burst=1000,
        transport=httpx.MockTransport(handler),
    ) as b24:
        await b24.call("crm.deal.list")
        await b24.call("crm.deal.list")
    assert len(served) == 2
    assert b24.operating.waited_seconds > 0
    assert b24.stats.operation_limited_429 == 0


async def test_batches_are_gated_by_the_batch_bucket_and_nested_methods() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        body = {
            "result": {
                "result": {"a": 1},
                "result_error": [],
                "result_total": [],
                "result_next": [],
                "result_time": {"a": {"operating": 12.5, "operating_reset_at": 2_000_000_000}},
            },
            "time": {"operating": 40.0, "operating_reset_at": 2_000_000_000},
        }
        return httpx.Response(200, json=body)

    async with Bitrix24Client(
        "https://acme.bitrix24.ru/rest/1/code/",
        rate=1000,
        burst=1000,
        transport=httpx.MockTransport(handler),
        operating_limit=30.0,
    ) as b24:
        await b24.batch({"a": ("crm.company.add", {"fields": {"TITLE": "x"}})})
        # both the batch bucket (40 s) and crm.company.add (12.5 s) were recorded
        assert b24.operating.delay(["batch"]) > 0
        assert b24.operating.delay(["crm.company.add"]) == 0
