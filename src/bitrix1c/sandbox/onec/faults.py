"""Fault injection for an emulated 1C base: the failures a real publication shows.

Counters say how many of the next requests fail (deterministic, so a test knows what the
client saw); the slow start applies to the first request after start or ``restart``:

* ``business_error`` — the next N writes (POST/PATCH/PUT/DELETE, Post/Unpost) answer
  ``500`` with ``odata.error`` code ``-1`` and ``business_message`` — a configuration's
  ``ПередЗаписью``/``ОбработкаПроведения`` refusing the object;
* ``lock_conflict`` — the next N writes answer ``500`` code ``-1`` with the platform's lock
  conflict text (another session holds the object);
* ``html_error`` — the next N requests get an HTML page with ``html_status`` (200 by
  default: the IIS/Apache "HTML instead of JSON" case);
* ``first_request_delay`` — seconds the first request waits (session start; real bases
  take 30 s and more after idle);
* ``rename`` — ``{"Catalog_Контрагенты.ИНН": "ИНН_Старый"}``: attributes renamed by a
  configuration change. The base then publishes them under the new names only — in
  ``$metadata``, in the data it returns and in what it accepts — so the old name fails
  as on a real base (``$select`` → 400 code 6, writes ignore it). The stored data keeps
  its values; ``{"rename": {}}`` (or ``clear``) renames everything back.

Set them at construction (``OneCBase(..., faults={...})``), from Python
(``base.faults.configure({...})``) or over HTTP (``POST /_sandbox/faults``).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["LOCK_MESSAGE", "Faults", "html_page"]

LOCK_MESSAGE = (
    "Не удалось записать: Ошибка блокировки объекта. Объект уже заблокирован "
    "другим пользователем или сеансом"
)
_COUNTERS = ("business_error", "lock_conflict", "html_error")
_SETTINGS = ("business_message", "html_status", "first_request_delay", "restart", "rename")
WRITE_METHODS = frozenset({"POST", "PATCH", "PUT", "MERGE", "DELETE"})


def html_page(status: int) -> str:
    """The page a web server in front of 1C answers when the publication is broken."""
    return (
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>Ошибка</title></head><body>"
        f"<h1>Ошибка {status}</h1><p>Ошибка при выполнении операции с информационной базой. "
        "Сеанс отсутствует или удален</p></body></html>"
    )


Renamer = Callable[[Mapping[str, str]], None]
"""Applies a complete set of renames to the base (``ValueError`` when one does not fit)."""


def _renames(value: Any) -> dict[str, str]:
    if not isinstance(value, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise ValueError('rename must map "EntitySet.Property" to the new property name')
    return dict(value)


class Faults:
    """Fault switches of one base (thread-safe; changeable while serving).

    ``renamer`` is the base's hook that republishes its schema when ``rename`` changes;
    without one (a bare ``Faults``) the renames are only remembered.
    """

    def __init__(
        self, settings: dict[str, Any] | None = None, *, renamer: Renamer | None = None
    ) -> None:
        self._lock = threading.Lock()
        self._renamer = renamer
        self.renames: dict[str, str] = {}
        self.remaining: dict[str, int] = dict.fromkeys(_COUNTERS, 0)
        self.injected: dict[str, int] = dict.fromkeys((*_COUNTERS, "slow_start"), 0)
        self.business_message = 'Не заполнено поле "Организация"'
        self.html_status = 200
        self.first_request_delay = 0.0
        self._started = False
        if settings:
            self.configure(settings)

    def configure(self, settings: dict[str, Any]) -> None:
        """Change counters and options; unknown keys or bad values raise ``ValueError``."""
        for key in settings:
            if key not in _COUNTERS and key not in _SETTINGS:
                raise ValueError(f"unknown fault setting {key!r}")
        if "rename" in settings:
            # First, so that a rename the schema refuses leaves every switch as it was.
            self._rename(_renames(settings["rename"]))
        with self._lock:
            for key in _COUNTERS:
                if key in settings:
                    count = int(settings[key])
                    if count < 0:
                        raise ValueError(f"{key} must be a count >= 0")
                    self.remaining[key] = count
            if "business_message" in settings:
                self.business_message = str(settings["business_message"])
            if "html_status" in settings:
                status = int(settings["html_status"])
                if not 100 <= status <= 599:
                    raise ValueError("html_status must be an HTTP status")
                self.html_status = status
            if "first_request_delay" in settings:
                self.first_request_delay = max(0.0, float(settings["first_request_delay"]))
            if settings.get("restart"):
                self._started = False

    def clear(self) -> None:
        """Switch every fault off (renamed attributes get their names back)."""
        self._rename({})
        with self._lock:
            self.remaining = dict.fromkeys(_COUNTERS, 0)
            self.first_request_delay = 0.0

    def _rename(self, renames: dict[str, str]) -> None:
        if self._renamer is not None:
            self._renamer(renames)
        with self._lock:
            self.renames = renames

    def start_delay(self) -> float:
        """Seconds this request waits: the delay for the first one, 0 afterwards."""
        with self._lock:
            if self._started:
                return 0.0
            self._started = True
            if self.first_request_delay:
                self.injected["slow_start"] += 1
            return self.first_request_delay

    def pick(self, method: str, posting: bool) -> str | None:
        """The fault for one request (``None`` → serve normally)."""
        write = method in WRITE_METHODS or posting
        with self._lock:
            for kind in ("html_error", "lock_conflict", "business_error"):
                if kind != "html_error" and not write:
                    continue
                if self.remaining[kind] > 0:
                    self.remaining[kind] -= 1
                    self.injected[kind] += 1
                    return kind
            return None

    def as_dict(self) -> dict[str, Any]:
        """Current settings and how many faults were injected."""
        with self._lock:
            return {
                **self.remaining,
                "business_message": self.business_message,
                "html_status": self.html_status,
                "first_request_delay": self.first_request_delay,
                "rename": dict(self.renames),
                "injected": dict(self.injected),
            }
