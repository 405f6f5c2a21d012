"""Fault injection for the emulated portal: the failures a real cloud portal shows.

Each switch is a rate between 0 and 1; for every HTTP request at most one fault is
drawn (in the order below) from a seeded generator, so a run is reproducible:

* ``http_503`` — ``503 OVERLOAD_LIMIT`` JSON (the documented "REST API is blocked due
  to overload" system error, distinct from the leaky-bucket ``QUERY_LIMIT_EXCEEDED``;
  bitrix24.md lists it as 503, newer docs as 401 — the 503 form is the transient one).
  An HTML 503 gateway page is ``html_error`` with ``html_status: 503``;
* ``http_500`` — ``500 INTERNAL_SERVER_ERROR`` JSON;
* ``timeout`` — the call runs, but the reply is held ``timeout_seconds`` longer,
  so a client with a shorter timeout gives up on a write that did happen;
* ``html_error`` — an nginx-style HTML gateway page with ``html_status`` (502 by
  default; 200 reproduces the "HTML instead of JSON" case of fast_bitrix24#216);
* ``reset`` — the connection is dropped before a complete reply is sent (nothing
  is executed).
"""

from __future__ import annotations

import random
import threading
from typing import Any

FAULT_KINDS: tuple[str, ...] = ("http_503", "http_500", "timeout", "html_error", "reset")
_SETTINGS = ("seed", "timeout_seconds", "html_status")

OVERLOAD_BODY: dict[str, str] = {
    "error": "OVERLOAD_LIMIT",
    "error_description": "REST API is blocked due to overload",
}
INTERNAL_BODY: dict[str, str] = {
    "error": "INTERNAL_SERVER_ERROR",
    "error_description": "Internal server error",
}


def html_page(status: int) -> str:
    """The HTML body a gateway in front of the portal returns."""
    title = {200: "Service Temporarily Unavailable", 502: "502 Bad Gateway"}.get(
        status, f"{status} Error"
    )
    return (
        f"<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n"
        f"<center><h1>{title}</h1></center>\r\n<hr><center>nginx</center>\r\n"
        "</body>\r\n</html>\r\n"
    )


class Faults:
    """Fault switches of one portal (thread-safe; changeable while serving)."""

    def __init__(self, settings: dict[str, Any] | None = None) -> None:
        self._lock = threading.Lock()
        self.rates: dict[str, float] = dict.fromkeys(FAULT_KINDS, 0.0)
        self.seed: int = 0
        self.timeout_seconds: float = 5.0
        self.html_status: int = 502
        self.injected: dict[str, int] = dict.fromkeys(FAULT_KINDS, 0)
        self._random = random.Random(self.seed)
        if settings:
            self.configure(settings)

    def configure(self, settings: dict[str, Any]) -> None:
        """Change rates and options; unknown keys or bad values raise ``ValueError``.

        ``{"http_503": 1.0}`` sets one rate; ``{"rates": {...}}`` is accepted too;
        giving ``seed`` restarts the random sequence.
        """
        flat = dict(settings)
        nested = flat.pop("rates", None)
        if isinstance(nested, dict):
            flat.update(nested)
        for key in flat:
            if key not in FAULT_KINDS and key not in _SETTINGS:
                raise ValueError(f"unknown fault setting {key!r}")
        with self._lock:
            for kind in FAULT_KINDS:
                if kind in flat:
                    rate = float(flat[kind])
                    if not 0.0 <= rate <= 1.0:
                        raise ValueError(f"rate of {kind} must be between 0 and 1")
                    self.rates[kind] = rate
            if "timeout_seconds" in flat:
                self.timeout_seconds = max(0.0, float(flat["timeout_seconds"]))
            if "html_status" in flat:
                status = int(flat["html_status"])
                if not 100 <= status <= 599:
                    raise ValueError("html_status must be an HTTP status")
                self.html_status = status
            if "seed" in flat:
                self.seed = int(flat["seed"])
                self._random = random.Random(self.seed)

    def clear(self) -> None:
        """Switch every fault off."""
        with self._lock:
            self.rates = dict.fromkeys(FAULT_KINDS, 0.0)

    def pick(self) -> str | None:
        """Draw the fault for one request (``None`` → serve normally)."""
        with self._lock:
            if not any(self.rates.values()):
                return None
            for kind in FAULT_KINDS:
                rate = self.rates[kind]
                if rate > 0.0 and self._random.random() < rate:
                    self.injected[kind] += 1
                    return kind
            return None

    def as_dict(self) -> dict[str, Any]:
        """Current settings and how many faults were injected."""
        with self._lock:
            return {
                **self.rates,
                "seed": self.seed,
                "timeout_seconds": self.timeout_seconds,
                "html_status": self.html_status,
                "injected": dict(self.injected),
            }
