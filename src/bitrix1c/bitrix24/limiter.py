"""Client-side model of the portal's leaky bucket (bitrix24.md §3.1).

The portal adds 1 per HTTP request to a counter that drains at ``rate`` per second and
refuses requests (503 QUERY_LIMIT_EXCEEDED) above ``burst``. We keep our own estimate of
that counter and wait before a request would overflow it, so in steady state we send at
exactly the drain rate and never see a 503. A small ``reserve`` leaves room for other
clients on the same IP (the bucket is per portal and source address).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any


class LeakyBucket:
    """Wait-before-send limiter mirroring the server's bucket."""

    def __init__(
        self,
        rate: float,
        burst: int,
        *,
        reserve: int = 2,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if rate <= 0 or burst <= 0:
            raise ValueError("rate and burst must be positive")
        self.rate = rate
        self.capacity = max(1.0, burst - reserve)
        self._clock = clock
        self._level = 0.0
        self._stamp = clock()
        self._lock = asyncio.Lock()
        self.waited_seconds = 0.0

    def _drain(self) -> None:
        now = self._clock()
        self._level = max(0.0, self._level - (now - self._stamp) * self.rate)
        self._stamp = now

    def delay(self) -> float:
        """Seconds to wait before one more request fits (0 if it fits now)."""
        self._drain()
        overflow = self._level + 1 - self.capacity
        return max(0.0, overflow / self.rate)

    async def acquire(self) -> None:
        """Wait until one more request fits, then count it."""
        async with self._lock:
            wait = self.delay()
            if wait > 0:
                self.waited_seconds += wait
                await asyncio.sleep(wait)
                self._drain()
            self._level += 1

    def usage(self) -> float:
        """Share of the bucket currently filled by our requests (0..1), for the dashboard."""
        self._drain()
        return min(1.0, self._level / self.capacity)

    def penalize(self) -> None:
        """The portal said the bucket is full: assume it is, so we slow down."""
        self._drain()
        self._level = max(self._level, self.capacity)


class OperatingBudget:
    """Client-side view of the per-method operating-time limit (bitrix24.md §3.2).

    Every answer's ``time`` block reports ``operating`` — the seconds this method has run
    for this credential over the last ten minutes — and ``operating_reset_at``, when the
    oldest one-minute basket leaves that sum. When a method comes within ``headroom`` of
    ``limit``, calls to it pause until ``operating_reset_at`` instead of running into
    ``429 OPERATION_TIME_LIMIT``. After a 429 the method waits until the reset time seen
    last. Batches are tracked both as ``batch`` and per nested method: the docs and live
    portals disagree on which one is charged (b24jssdk#539), so both are honoured.
    Counters are optional: portals without them are never paused here.
    """

    def __init__(
        self,
        limit: float = 480.0,
        *,
        headroom: float = 10.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.limit = limit
        self.headroom = headroom
        self._clock = clock
        self._operating: dict[str, float] = {}
        self._reset_at: dict[str, float] = {}
        self._blocked_until: dict[str, float] = {}
        self.waited_seconds = 0.0

    def observe(self, method: str, timing: Mapping[str, Any] | None) -> None:
        """Remember the counters of one answer (top-level ``time`` or a ``result_time`` entry)."""
        if not isinstance(timing, Mapping):
            return
        operating = timing.get("operating")
        if operating is None:
            return
        try:
            self._operating[method] = float(operating)
        except (TypeError, ValueError):
            return
        reset_at = timing.get("operating_reset_at")
        if reset_at is not None:
            try:
                self._reset_at[method] = float(reset_at)
            except (TypeError, ValueError):
                pass

    def blocked(self, method: str) -> None:
        """The portal answered 429 for ``method``: pause it until its reset time."""
        # Without a known reset time the retry strategy's backoff is all we can do.
        until = self._reset_at.get(method, 0.0)
        if until > self._clock():
            self._blocked_until[method] = until

    def delay(self, methods: Iterable[str]) -> float:
        """Seconds to wait before calling all of ``methods`` (0 if they may run now)."""
        now = self._clock()
        wait = 0.0
        for method in methods:
            until = self._blocked_until.get(method, 0.0)
            if until <= now and self._operating.get(method, 0.0) >= self.limit - self.headroom:
                until = self._reset_at.get(method, now + 60.0)
            wait = max(wait, until - now)
        return wait

    async def wait(self, methods: Iterable[str]) -> float:
        """Pause until ``methods`` may run; forget their stale counters afterwards."""
        methods = list(methods)
        wait = self.delay(methods)
        if wait > 0:
            self.waited_seconds += wait
            await asyncio.sleep(wait)
            for method in methods:
                # The next answer brings fresh counters; until then assume room.
                self._operating.pop(method, None)
                self._blocked_until.pop(method, None)
        return wait
