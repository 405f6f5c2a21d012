"""Resource paths after ``/odata/standard.odata``: segments, entity keys, virtual tables.

Examples: ``Catalog_X``, ``Catalog_X(guid'…')``, ``Catalog_X(Ref_Key=guid'…')``,
``Document_X_Товары(Ref_Key=guid'…',LineNumber=1)``, ``Catalog_X/$count``,
``Document_X(guid'…')/Post``, ``InformationRegister_X_RecordType/SliceLast(Period=…,
Condition='…')``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote_to_bytes

from .errors import CODE_BAD_URL, ODataError
from .query import parse_expression, tokenize
from .schema import EntitySetDef

__all__ = [
    "Resource",
    "function_params",
    "parse_key",
    "parse_resource",
    "slice_table",
    "split_segments",
]

_MARK = "/odata/standard.odata"
_SEGMENT_RE = re.compile(r"^([^()]+)(?:\((.*)\))?$", re.DOTALL)


@dataclass
class Resource:
    """A parsed resource path."""

    entity_set: str | None = None
    key_text: str | None = None
    rest: list[str] = field(default_factory=list)
    metadata: bool = False
    service: bool = False


def split_segments(path: str) -> list[str]:
    """Split on ``/`` outside quotes and parentheses."""
    segments: list[str] = []
    current: list[str] = []
    depth, quoted = 0, False
    for ch in path:
        if ch == "'":
            quoted = not quoted
        elif not quoted and ch == "(":
            depth += 1
        elif not quoted and ch == ")":
            depth -= 1
        elif ch == "/" and not quoted and depth == 0:
            segments.append("".join(current))
            current = []
            continue
        current.append(ch)
    segments.append("".join(current))
    return [s for s in segments if s != ""]


def parse_resource(raw_path: bytes | str) -> Resource:
    """Parse the part of a request path after ``/odata/standard.odata``."""
    text = unquote_to_bytes(raw_path).decode("utf-8", errors="replace")
    index = text.find(_MARK)
    tail = text[index + len(_MARK) :] if index >= 0 else text
    segments = split_segments(tail)
    if not segments:
        return Resource(service=True)
    if segments[0] == "$metadata" and len(segments) == 1:
        return Resource(metadata=True)
    m = _SEGMENT_RE.match(segments[0])
    if m is None:
        raise ODataError(400, CODE_BAD_URL, f"Неверный URL: {segments[0]}")
    return Resource(entity_set=m.group(1).strip(), key_text=m.group(2), rest=segments[1:])


def _literal_value(text: str) -> Any:
    node = parse_expression(text, "key")
    if node[0] != "lit":
        raise ODataError(400, CODE_BAD_URL, f"Неверный URL: {text}")
    kind, value = node[1], node[2]
    if kind == "N" and isinstance(value, float) and value.is_integer():
        value = int(value)
    return value


def parse_key(definition: EntitySetDef, text: str) -> dict[str, Any]:
    """``guid'…'`` or ``A=…,B=…`` → ``{name: wire value}`` for the set's key properties."""
    tokens = tokenize(text, "key")
    parts: list[list[Any]] = [[]]
    for tok in tokens:
        if tok.text == ",":
            parts.append([])
        else:
            parts[-1].append(tok)
    values: dict[str, Any] = {}
    for part in parts:
        if len(part) == 1 and len(definition.key) == 1:
            values[definition.key[0]] = _literal_value(part[0].text)
        elif len(part) == 3 and part[1].text == "=" and part[0].kind == "ident":
            values[part[0].text] = _literal_value(part[2].text)
        else:
            raise ODataError(400, CODE_BAD_URL, f"Неверный URL: ({text})")
    missing = [k for k in definition.key if k not in values]
    if missing:
        raise ODataError(400, "7", f"Не хватает элемента ключа сущности: {missing[0]}")
    out: dict[str, Any] = {}
    for name in definition.key:
        value = values[name]
        prop = definition.by_name[name]
        out[name] = str(value) if prop.edm == "Edm.Int64" else value
    return out


def function_params(text: str) -> dict[str, str]:
    """``Period=datetime'…',Condition='X eq guid'…''`` → raw parameter texts.

    ``Condition`` may contain unescaped quotes (the documented form), so its value runs to
    the last quote before the next ``,Name=`` or the end.
    """
    params: dict[str, str] = {}
    rest = text.strip()
    names = r"(?:Period|Condition|Dimensions|StartPeriod|EndPeriod|AccountCondition)"
    while rest:
        m = re.match(rf"\s*({names})\s*=\s*", rest)
        if m is None:
            raise ODataError(400, CODE_BAD_URL, f"Неверный URL: {text}")
        name = m.group(1)
        rest = rest[m.end() :]
        nxt = re.search(rf",\s*(?={names}\s*=)", rest)
        if nxt is None:
            value, rest = rest, ""
        else:
            value, rest = rest[: nxt.start()], rest[nxt.end() :]
        params[name] = value.strip()
    return params


def slice_table(
    definition: EntitySetDef,
    segment: str,
    query: dict[str, str],
    rows: list[dict[str, Any]],
    predicate: Callable[[str], Callable[[dict[str, Any]], bool]],
) -> list[dict[str, Any]]:
    """``SliceLast`` / ``SliceFirst`` of a periodic information register (``_RecordType``)."""
    m = _SEGMENT_RE.match(segment)
    if m is None:
        raise ODataError(400, CODE_BAD_URL, f"Неверный URL: {segment}")
    name = m.group(1)
    if (
        name not in ("SliceLast", "SliceFirst")
        or not definition.periodic
        or (definition.kind != "InformationRegister")
    ):
        raise ODataError(400, CODE_BAD_URL, "Метод не найден")
    params = function_params(m.group(2) or "")
    for key in ("Period", "Condition"):
        if key not in params and key in query:
            params[key] = query[key]
    period = None
    if "Period" in params:
        node = parse_expression(params["Period"], "Period")
        if node[0] != "lit" or node[1] != "D":
            raise ODataError.cannot_parse(params["Period"], "Edm.DateTime")
        period = node[2]
    condition = params.get("Condition")
    if condition is not None:
        condition = condition.strip()
        if condition.startswith("'") and condition.endswith("'"):
            condition = condition[1:-1]
    test = predicate(condition) if condition else None
    dims = [k for k in definition.key if k not in ("Period", "Recorder", "Recorder_Type")]
    best: dict[tuple[Any, ...], dict[str, Any]] = {}
    last = name == "SliceLast"
    for row in rows:
        if row.get("Active") is False and "Recorder" in row:
            continue
        when = row.get("Period", "")
        if period is not None and ((last and when > period) or (not last and when < period)):
            continue
        if test is not None and not test(row):
            continue
        group = tuple(row.get(d) for d in dims)
        chosen = best.get(group)
        if chosen is None or (when > chosen["Period"] if last else when < chosen["Period"]):
            best[group] = row
    return list(best.values())
