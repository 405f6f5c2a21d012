"""OData v3 query building for 1C: literals, query options, virtual tables (onec.md §1.3–1.7).

Everything here is pure: it turns Python values into the text 1C reads. Percent-encoding
uses ``%20`` for spaces — real 1C does not read ``+`` as a space.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal
from urllib.parse import quote

__all__ = [
    "EMPTY_DATE",
    "EMPTY_REF",
    "Query",
    "boolean",
    "cast",
    "date_time",
    "encode_options",
    "entity_path",
    "guid",
    "literal",
    "number",
    "string",
    "virtual_table",
]

EMPTY_REF = "00000000-0000-0000-0000-000000000000"
EMPTY_DATE = "0001-01-01T00:00:00"

# Characters left as they are in a query value: OData syntax that 1C reads literally.
_SAFE_VALUE = ",()/'$*:"
_SAFE_PATH = "()'=,/$-_*"


# --- literals ------------------------------------------------------------------------------


def guid(value: str | uuid.UUID) -> str:
    """``guid'…'`` literal; rejects anything that is not a GUID."""
    return f"guid'{uuid.UUID(str(value))}'"


def string(value: str) -> str:
    """String literal with embedded quotes doubled: ``'O''Brien'``."""
    return "'" + value.replace("'", "''") + "'"


def date_time(value: datetime | date) -> str:
    """``datetime'…'`` literal; 1C dates carry no time zone (the base's local time)."""
    if not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day)
    return f"datetime'{value.replace(tzinfo=None, microsecond=0).isoformat()}'"


def number(value: int | float | Decimal) -> str:
    """A number literal (no exponent: 1C does not read ``1e-05``)."""
    if isinstance(value, bool):
        raise TypeError("a boolean is not a number")
    if isinstance(value, int):
        return str(value)
    text = format(Decimal(str(value)), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def boolean(value: bool) -> str:
    return "true" if value else "false"


def cast(ref: str | uuid.UUID, type_name: str) -> str:
    """Operand for a composite field: ``cast(guid'…', 'Document_X')``.

    A composite field compared with a bare ``guid'…'`` never matches in 1C.
    """
    short = type_name.removeprefix("StandardODATA.")
    return f"cast({guid(ref)}, {string(short)})"


def literal(value: object) -> str:
    """The literal for a Python value (str → string; use :func:`guid` for references)."""
    if isinstance(value, bool):
        return boolean(value)
    if isinstance(value, int | float | Decimal):
        return number(value)
    if isinstance(value, datetime | date):
        return date_time(value)
    if isinstance(value, uuid.UUID):
        return guid(value)
    if isinstance(value, str):
        return string(value)
    raise TypeError(f"no OData literal for {type(value).__name__}")


# --- URLs ----------------------------------------------------------------------------------


def encode_options(options: Mapping[str, str]) -> str:
    """``$a=…&$b=…`` percent-encoded (UTF-8, ``%20`` for spaces, never ``+``)."""
    return "&".join(f"{k}={quote(v, safe=_SAFE_VALUE)}" for k, v in options.items())


def encode_path(resource: str) -> str:
    """Percent-encode a resource path (Cyrillic names, spaces in ``Dimensions``)."""
    return quote(resource, safe=_SAFE_PATH)


def entity_path(entity_set: str, ref_key: str, *rest: str) -> str:
    """``Catalog_X(guid'…')[/rest…]``."""
    return "/".join([f"{entity_set}({guid(ref_key)})", *rest])


def virtual_table(
    entity_set: str,
    function: str,
    *,
    period: datetime | date | None = None,
    start: datetime | date | None = None,
    end: datetime | date | None = None,
    condition: str | None = None,
    dimensions: Sequence[str] = (),
) -> str:
    """A register virtual table: ``AccumulationRegister_X/Balance(Period=…,Condition='…')``.

    ``function``: ``SliceLast``/``SliceFirst`` (information registers, on the
    ``_RecordType`` set), ``Balance``/``Turnovers``/``BalanceAndTurnovers`` (accumulation
    registers). ``condition`` is a ``$filter``-style expression written as 1C documents it:
    inside single quotes, its own literals' quotes not doubled. ``dimensions`` are attribute
    names (``Номенклатура``, not ``Номенклатура_Key``). Always pass a condition or
    dimensions to a real base: a parameterless ``Turnovers()`` takes tens of seconds.
    """
    params: list[str] = []
    if period is not None:
        params.append(f"Period={date_time(period)}")
    if start is not None:
        params.append(f"StartPeriod={date_time(start)}")
    if end is not None:
        params.append(f"EndPeriod={date_time(end)}")
    if condition:
        params.append(f"Condition='{condition}'")
    if dimensions:
        params.append(f"Dimensions='{', '.join(dimensions)}'")
    return f"{entity_set}/{function}({','.join(params)})"


# --- query options --------------------------------------------------------------------------


@dataclass(frozen=True)
class Query:
    """The query options of one GET; immutable, ``with_(…)`` derives a changed copy."""

    select: tuple[str, ...] = ()
    filter: str | None = None
    orderby: tuple[str, ...] = ()
    top: int | None = None
    skip: int | None = None
    expand: tuple[str, ...] = ()
    allowed_only: bool = False
    inlinecount: bool = False
    extra: Mapping[str, str] = field(default_factory=dict)

    def with_(self, **changes: object) -> Query:
        return replace(self, **changes)  # type: ignore[arg-type]

    def where(self, condition: str) -> Query:
        """This query with ``condition`` and-ed to its filter."""
        combined = f"({self.filter}) and ({condition})" if self.filter else condition
        return replace(self, filter=combined)

    def options(self) -> dict[str, str]:
        """The options as a mapping (without ``$format``), in a stable order."""
        out: dict[str, str] = {}
        select = list(self.select)
        for nav in self.expand:
            # 1C expands a navigation property only when it is also selected [P4].
            if select and not any(s == nav or s.startswith(nav + "/") for s in select):
                select.append(nav)
        if select:
            out["$select"] = ",".join(select)
        if self.expand:
            out["$expand"] = ",".join(self.expand)
        if self.filter:
            out["$filter"] = self.filter
        if self.orderby:
            out["$orderby"] = ",".join(self.orderby)
        if self.top is not None:
            out["$top"] = str(self.top)
        if self.skip:
            out["$skip"] = str(self.skip)
        if self.inlinecount:
            out["$inlinecount"] = "allpages"
        if self.allowed_only:
            out["allowedOnly"] = "true"
        out.update(self.extra)
        return out
