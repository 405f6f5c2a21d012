"""Scalar functions of the 1C ``$filter`` dialect: ``like`` templates and date arithmetic."""

from __future__ import annotations

import calendar
import re
from datetime import datetime, timedelta

from .errors import CODE_UNIMPLEMENTED_FUNCTION, ODataError

__all__ = ["date_part", "dateadd", "datediff", "like_regex", "to_dt"]


def like_regex(template: str) -> re.Pattern[str]:
    """1C ``ПОДОБНО`` template → regex: ``%`` any, ``_`` one char, ``[...]``/``[^...]`` sets."""
    out, i = [], 0
    while i < len(template):
        ch = template[i]
        if ch == "%":
            out.append(".*")
        elif ch == "_":
            out.append(".")
        elif ch == "[":
            end = template.find("]", i + 1)
            if end == -1:
                out.append(re.escape(ch))
            else:
                body = template[i + 1 : end]
                neg = body.startswith("^")
                body = body[1:] if neg else body
                out.append("[" + ("^" if neg else "") + body.replace("\\", "\\\\") + "]")
                i = end
        else:
            out.append(re.escape(ch))
        i += 1
    return re.compile("".join(out), re.IGNORECASE | re.DOTALL)


def to_dt(value: str) -> datetime:
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S")


def date_part(name: str, value: str) -> int:
    if name == "year":
        return int(value[0:4])
    if name == "month":
        return int(value[5:7])
    if name == "day":
        return int(value[8:10])
    if name == "hour":
        return int(value[11:13])
    if name == "minute":
        return int(value[14:16])
    if name == "second":
        return int(value[17:19])
    if name == "quarter":
        return (int(value[5:7]) - 1) // 3 + 1
    dt = to_dt(value)
    return dt.isoweekday() if name == "dayofweek" else dt.timetuple().tm_yday


def dateadd(value: str, unit: str, amount: int) -> str:
    dt = to_dt(value)
    if unit in ("month", "quarter", "year"):
        months = amount * {"month": 1, "quarter": 3, "year": 12}[unit]
        total = dt.year * 12 + dt.month - 1 + months
        year, month = divmod(total, 12)
        day = min(dt.day, calendar.monthrange(year, month + 1)[1])
        dt = dt.replace(year=year, month=month + 1, day=day)
    else:
        seconds = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}.get(unit)
        if seconds is None:
            raise ODataError(400, CODE_UNIMPLEMENTED_FUNCTION, f"Неверный аргумент функции: {unit}")
        dt += timedelta(seconds=seconds * amount)
    return dt.strftime("%Y-%m-%dT%H:%M:%S")


def datediff(a: str, b: str, unit: str) -> int:
    d1, d2 = to_dt(a), to_dt(b)
    if unit in ("month", "quarter", "year"):
        months = (d2.year - d1.year) * 12 + d2.month - d1.month
        return months // {"month": 1, "quarter": 3, "year": 12}[unit]
    if unit == "day":
        return (d2.date() - d1.date()).days
    seconds = {"second": 1, "minute": 60, "hour": 3600}.get(unit)
    if seconds is None:
        raise ODataError(400, CODE_UNIMPLEMENTED_FUNCTION, f"Неверный аргумент функции: {unit}")
    return int((d2 - d1).total_seconds() // seconds)
