"""Leaky bucket, operating limit, auth and stats of the Bitrix24 emulator."""

from __future__ import annotations

from pathlib import Path

from bitrix1c.sandbox.bitrix24 import Portal, RestRoute
from bitrix1c.sandbox.bitrix24.limits import LeakyBucket, OperatingTracker


class FakeClock:
    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_leaky_bucket_threshold_and_drain() -> None:
    clock = FakeClock()
    bucket = LeakyBucket(2.0, 50, clock=clock)
    assert all(bucket.try_acquire("ip") for _ in range(50))
    assert not bucket.try_acquire("ip")
    assert bucket.try_acquire("other-ip")
    clock.now += 0.5  # drains one request
    assert bucket.try_acquire("ip")
    assert not bucket.try_acquire("ip")
    clock.now += 25  # fully drained
    assert bucket.level("ip") == 0


def test_operating_tracker_window() -> None:
    clock = FakeClock(6000.0)
    tracker = OperatingTracker(480.0, clock=clock)
    assert tracker.snapshot("hook", "crm.company.list") == (0.0, 6600)
    tracker.add("hook", "crm.company.list", 300.0)
    clock.now += 120
    tracker.add("hook", "crm.company.list", 200.0)
    assert not tracker.is_blocked("hook", "crm.company.add")
    assert tracker.is_blocked("hook", "crm.company.list")
    assert not tracker.is_blocked("app", "crm.company.list")
    operating, reset_at = tracker.snapshot("hook", "crm.company.list")
    assert operating == 500.0 and reset_at == 6600
    clock.now = 6600.0  # first basket leaves the window
    assert tracker.snapshot("hook", "crm.company.list")[0] == 200.0
    assert not tracker.is_blocked("hook", "crm.company.list")


def route(portal: Portal, method: str) -> RestRoute:
    return RestRoute(method=method, user_id=portal.webhook_user_id, code=portal.webhook_code)


def test_serve_auth_and_errors() -> None:
    portal = Portal(None, webhook_code="abcdefghij012345")
    assert portal.webhook_code == "abcdefghij012345"
    status, body = portal.serve(route(portal, "crm.company.fields.json"), {}, "127.0.0.1")
    assert status == 200 and "time" in body
    status, body = portal.serve(
        RestRoute(method="crm.company.fields", user_id=1, code="wrong"), {}, "127.0.0.1"
    )
    assert (status, body) == (
        401,
        {"error": "NO_AUTH_FOUND", "error_description": "Wrong authorization data"},
    )
    status, body = portal.serve(RestRoute(method="crm.company.fields", token="t"), {}, "127.0.0.1")
    assert status == 401
    portal.access_tokens["t"] = 1
    status, _ = portal.serve(RestRoute(method="crm.company.fields", token="t"), {}, "127.0.0.1")
    assert status == 200
    status, body = portal.serve(route(portal, "no.such.method"), {}, "127.0.0.1")
    assert (status, body["error"]) == (404, "ERROR_METHOD_NOT_FOUND")
    status, body = portal.serve(
        route(portal, "batch"), {"cmd": {"a": "batch?cmd[b]=crm.company.fields"}}, "127.0.0.1"
    )
    assert (status, body["error"]) == (405, "ERROR_BATCH_METHOD_NOT_ALLOWED")
    portal.close()


def test_serve_rate_limit_and_stats() -> None:
    portal = Portal(None, drain_per_second=0.0, burst=5)
    statuses = [
        portal.serve(route(portal, "crm.company.fields"), {}, "10.0.0.1")[0] for _ in range(8)
    ]
    assert statuses == [200] * 5 + [503] * 3
    status, body = portal.serve(route(portal, "crm.company.fields"), {}, "10.0.0.1")
    assert status == 503
    assert body == {"error": "QUERY_LIMIT_EXCEEDED", "error_description": "Too many requests"}
    assert portal.stats.as_dict() == {"requests": 9, "served_503": 4, "served_429": 0}
    # batch counts as one request
    other = Portal(None, drain_per_second=0.0, burst=1)
    cmd = {f"c{i}": "crm.company.fields" for i in range(50)}
    assert other.serve(route(other, "batch"), {"cmd": cmd}, "ip")[0] == 200
    assert other.serve(route(other, "crm.company.fields"), {}, "ip")[0] == 503
    portal.close()
    other.close()


def test_serve_operating_limit() -> None:
    portal = Portal(None, operating_limit=0.0)
    ok, body = portal.serve(route(portal, "crm.company.list"), {}, "ip")
    assert ok == 200 and body["time"]["operating"] > 0
    status, body = portal.serve(route(portal, "crm.company.list"), {}, "ip")
    assert (status, body) == (
        429,
        {
            "error": "OPERATION_TIME_LIMIT",
            "error_description": "Method is blocked due to operation time limit.",
        },
    )
    assert portal.serve(route(portal, "crm.company.fields"), {}, "ip")[0] == 200
    assert portal.stats.served_429 == 1
    portal.close()


def test_plans() -> None:
    enterprise = Portal(None, plan="enterprise")
    assert enterprise.bucket is not None and enterprise.bucket.burst == 250
    assert enterprise.bucket.drain_per_second == 5.0
    onprem = Portal(None, plan="onpremise")
    assert onprem.bucket is None
    assert all(
        onprem.serve(route(onprem, "crm.company.fields"), {}, "ip")[0] == 200 for _ in range(60)
    )
    enterprise.close()
    onprem.close()


def test_webhook_code_is_generated_and_persisted(tmp_path: Path) -> None:
    db = tmp_path / "portal.db"
    first = Portal(db)
    code = first.webhook_code
    assert len(code) == 16 and code.isalnum() and code == code.lower()
    first.call("crm.company.add", {"fields": {"TITLE": "Persisted"}})
    first.close()
    second = Portal(db)
    assert second.webhook_code == code
    assert second.call("crm.company.get", {"id": 1})["result"]["TITLE"] == "Persisted"
    assert second.call("crm.requisite.preset.list", {})["total"] == 4
    second.close()
    assert Portal(None).webhook_code != Portal(None).webhook_code


def test_operating_reset_forgets_every_sum() -> None:
    tracker = OperatingTracker(480.0, clock=lambda: 1_000_000.0)
    tracker.add("webhook:1", "batch", 500.0)
    assert tracker.is_blocked("webhook:1", "batch")
    tracker.reset()
    assert not tracker.is_blocked("webhook:1", "batch")
    assert tracker.snapshot("webhook:1", "batch")[0] == 0
