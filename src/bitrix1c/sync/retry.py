"""When a record that failed is tried again: a pure backoff strategy.

A scheduled flow reads every record on every run; a record that keeps failing the same
way (Bitrix24 refuses it, a key is invalid) would be sent again every 15 minutes for
ever. After each failure it waits longer instead — 10 min, 20, 40 … up to 6 h — unless
its source changes (a new ``DataVersion`` in 1C: someone fixed it) or a person asks for
a retry. While it waits, runs count it as failed, so error-rate alerts stay true.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class RecordRetry:
    """Exponential backoff for a failing record; it never gives up (a person decides)."""

    first_seconds: float = 600.0
    max_seconds: float = 6 * 3600.0

    def next_try(self, attempts: int, now: datetime) -> datetime:
        """When to try again after ``attempts`` failures in a row (1-based)."""
        wait = min(self.max_seconds, self.first_seconds * 2.0 ** (max(attempts, 1) - 1))
        return now + timedelta(seconds=wait)


RECORD_RETRY = RecordRetry()
