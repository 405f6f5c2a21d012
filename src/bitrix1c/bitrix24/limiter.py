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
from collections.abc import Callable


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

    def penalize(self) -> None:
        """The portal said the bucket is full: assume it is, so we slow down."""
        self._drain()
        self._level = max(self._level, self.capacity)
