"""Value conversions between the REST wire form and the stored form.

On the wire a classic CRM method returns every scalar as a string (``"ID": "2909"``,
``"REVENUE": "0"``), dates as ISO 8601 with the portal's offset, ``null`` for unset
fields.  Internally values are typed so SQL comparisons work.  The emulated portal
lives in Moscow time (UTC+03:00), like the docs' samples.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone
from typing import Any

from .fields import Kind
from .params import php_int

PORTAL_TZ = timezone(timedelta(hours=3))

_RU_DATE = re.compile(r"^(\d{1,2})\.(\d{1,2})\.(\d{4})(?:\s+(\d{1,2}):(\d{2})(?::(\d{2}))?)?$")


def now() -> datetime:
    """Current time in the portal's time zone (whole seconds)."""
    return datetime.now(PORTAL_TZ).replace(microsecond=0)


def iso(moment: datetime) -> str:
    """ISO 8601 with offset, as the portal prints datetimes."""
    return moment.astimezone(PORTAL_TZ).isoformat(timespec="seconds")


def now_iso() -> str:
    """Current time as the portal prints it."""
    return iso(now())


def parse_datetime(value: Any) -> datetime | None:
    """Parse ISO 8601 (``2025-01-01``, ``…T10:00:00+02:00``) or ``dd.mm.yyyy [hh:mm[:ss]]``."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=PORTAL_TZ)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=PORTAL_TZ)
    if not isinstance(value, str):
        return None
    text = value.strip()
    if not text:
        return None
    match = _RU_DATE.match(text)
    if match:
        d, m, y, hh, mm, ss = match.groups()
        try:
            return datetime(
                int(y), int(m), int(d), int(hh or 0), int(mm or 0), int(ss or 0), tzinfo=PORTAL_TZ
            )
        except ValueError:
            return None
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=PORTAL_TZ)


def normalize_datetime(value: Any) -> str | None:
    """Datetime in the stored/compared form (portal-offset ISO), ``None`` when empty.

    Unparseable text is kept as given so it still round-trips.
    """
    if value is None or value == "":
        return None
    parsed = parse_datetime(value)
    if parsed is None:
        return str(value)
    return iso(parsed)


def to_number(value: Any) -> float | None:
    """Loose float parse (``"1 000,5"`` → 1000.5); ``None`` when empty or invalid."""
    if value is None or value == "" or isinstance(value, list | dict):
        return None
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, int | float):
        return float(value)
    text = str(value).replace(" ", "").replace(",", ".")
    try:
        return float(text)
    except ValueError:
        return None


def to_stored(kind: Kind, field_type: str, value: Any) -> Any:
    """Convert an incoming field value to its stored (typed) form."""
    if value is None:
        return None
    if isinstance(value, list) and kind != "str":
        value = value[0] if value else None
        if value is None:
            return None
    if kind in ("int", "pk"):
        if value == "":
            return None
        return php_int(value)
    if kind == "float":
        number = to_number(value)
        if number is None:
            return None
        return int(number) if number.is_integer() else number
    if kind == "datetime":
        return normalize_datetime(value)
    if field_type == "char":
        if isinstance(value, bool):
            return "Y" if value else "N"
        if isinstance(value, int):
            return "Y" if value else "N"
        return str(value)
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, list):
        return [to_stored("str", "string", v) for v in value]
    if isinstance(value, dict):
        return value
    return str(value)


def to_wire(value: Any) -> Any:
    """Render a stored value the way classic CRM methods print it (strings, ``null``)."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "Y" if value else "N"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, list):
        return [to_wire(v) for v in value]
    return value


def filter_value(kind: Kind, value: Any) -> Any:
    """Normalize one filter operand to the stored form of ``kind``."""
    if value is None:
        return None
    if kind in ("int", "pk"):
        if isinstance(value, str) and not re.match(r"^\s*[+-]?\d", value):
            return None if value.strip() == "" else value
        return php_int(value)
    if kind == "float":
        number = to_number(value)
        return number if number is not None else value
    if kind == "datetime":
        return normalize_datetime(value)
    if isinstance(value, bool):
        return "Y" if value else "N"
    return str(value)
