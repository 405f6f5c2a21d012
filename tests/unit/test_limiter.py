from __future__ import annotations

import pytest

from bitrix1c.bitrix24.limiter import LeakyBucket


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_burst_then_drain_rate() -> None:
    clock = Clock()
    bucket = LeakyBucket(2.0, 50, reserve=0, clock=clock)
    for _ in range(50):
        assert bucket.delay() == 0
        bucket._level += 1
    assert bucket.delay() == pytest.approx(0.5)
    clock.now += 0.5
    assert bucket.delay() == pytest.approx(0.0)


def test_penalize_assumes_full_bucket() -> None:
    clock = Clock()
    bucket = LeakyBucket(5.0, 250, reserve=2, clock=clock)
    bucket.penalize()
    assert bucket.delay() == pytest.approx(1 / 5)


async def test_steady_state_never_exceeds_server_bucket() -> None:
    # Simulate the server's bucket alongside ours with a virtual clock.
    clock = Clock()
    bucket = LeakyBucket(2.0, 50, clock=clock)
    server_level, overflow = 0.0, 0
    for _ in range(300):
        wait = bucket.delay()
        clock.now += wait
        bucket._drain()
        bucket._level += 1
        server_level = max(0.0, server_level - wait * 2.0) + 1
        overflow += server_level > 50
    assert overflow == 0
    assert clock.now == pytest.approx((300 - 48) / 2.0, rel=0.02)
