"""Cloud limits of a Bitrix24 portal: request-rate bucket and per-method time budget.

* Leaky bucket (EN:limits.md): every HTTP request adds 1 to a counter that drains
  continuously at ``drain_per_second``; a request arriving while the counter is at
  the ``burst`` threshold gets ``503 QUERY_LIMIT_EXCEEDED``.  Standard plans drain
  2/s with threshold 50, Enterprise 5/s with 250.  ``batch`` is one request.
* Operating limit: execution time of each method is summed per webhook/app in ten
  one-minute baskets; once the sum exceeds the limit (480 s by default) the *next*
  call of that method gets ``429 OPERATION_TIME_LIMIT``.
* ``time`` block that every successful reply carries.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from .values import PORTAL_TZ

PLANS: dict[str, tuple[float | None, int | None]] = {
    "standard": (2.0, 50),
    "enterprise": (5.0, 250),
    "onpremise": (None, None),
}

WINDOW_SECONDS = 600
BASKET_SECONDS = 60


@dataclass
class PortalStats:
    """Counters of what the HTTP layer served (for tests and benchmarks)."""

    requests: int = 0
    served_503: int = 0
    served_429: int = 0

    def as_dict(self) -> dict[str, int]:
        """Plain-dict view."""
        return {
            "requests": self.requests,
            "served_503": self.served_503,
            "served_429": self.served_429,
        }


class LeakyBucket:
    """Per-key leaky bucket (key = source IP; all local clients share one)."""

    def __init__(
        self, drain_per_second: float, burst: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.drain_per_second = drain_per_second
        self.burst = burst
        self._clock = clock
        self._levels: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def _current(self, key: str, now: float) -> float:
        level, stamp = self._levels.get(key, (0.0, now))
        return max(0.0, level - (now - stamp) * self.drain_per_second)

    def try_acquire(self, key: str) -> bool:
        """Count one request; ``False`` when the counter is already at the threshold."""
        with self._lock:
            now = self._clock()
            level = self._current(key, now)
            if level >= self.burst:
                self._levels[key] = (level, now)
                return False
            self._levels[key] = (level + 1.0, now)
            return True

    def level(self, key: str) -> float:
        """Current counter value for ``key``."""
        with self._lock:
            return self._current(key, self._clock())


class OperatingTracker:
    """Execution time per (credential, method) over a sliding 10-minute window."""

    def __init__(self, limit_seconds: float | None, clock: Callable[[], float] = time.time) -> None:
        self.limit_seconds = limit_seconds
        self._clock = clock
        self._baskets: dict[tuple[str, str], dict[int, float]] = {}
        self._lock = threading.Lock()

    def _live(self, key: tuple[str, str], now: float) -> dict[int, float]:
        baskets = self._baskets.get(key, {})
        oldest_allowed = int(now // BASKET_SECONDS) - WINDOW_SECONDS // BASKET_SECONDS + 1
        live = {b: v for b, v in baskets.items() if b >= oldest_allowed}
        if live:
            self._baskets[key] = live
        else:
            self._baskets.pop(key, None)
        return live

    def snapshot(self, credential: str, method: str) -> tuple[float, int]:
        """``(operating, operating_reset_at)`` as the ``time`` block reports them."""
        with self._lock:
            now = self._clock()
            live = self._live((credential, method), now)
            total = sum(live.values())
            if live:
                reset_at = (min(live) + WINDOW_SECONDS // BASKET_SECONDS) * BASKET_SECONDS
            else:
                reset_at = int(now) + WINDOW_SECONDS
            return total, int(reset_at)

    def is_blocked(self, credential: str, method: str) -> bool:
        """True when the method's budget is used up (the limiter is on)."""
        if self.limit_seconds is None:
            return False
        operating, _ = self.snapshot(credential, method)
        return operating > self.limit_seconds

    def reset(self) -> None:
        """Forget every sum, as if all baskets had expired (benchmarks, tests)."""
        with self._lock:
            self._baskets.clear()

    def add(self, credential: str, method: str, seconds: float) -> None:
        """Charge ``seconds`` of execution to the method."""
        with self._lock:
            now = self._clock()
            live = self._live((credential, method), now)
            basket = int(now // BASKET_SECONDS)
            live[basket] = live.get(basket, 0.0) + seconds
            self._baskets[(credential, method)] = live


def _date(stamp: float) -> str:
    return datetime.fromtimestamp(stamp, PORTAL_TZ).isoformat(timespec="seconds")


def time_block(
    start: float, finish: float, processing: float, operating: tuple[float, int] | None
) -> dict[str, Any]:
    """The ``time`` object of a reply; operating keys are absent when not tracked."""
    block: dict[str, Any] = {
        "start": start,
        "finish": finish,
        "duration": finish - start,
        "processing": processing,
        "date_start": _date(start),
        "date_finish": _date(finish),
    }
    if operating is not None:
        block["operating_reset_at"] = operating[1]
        block["operating"] = operating[0]
    return block
