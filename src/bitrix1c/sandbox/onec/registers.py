"""Virtual tables of accumulation registers: ``Balance`` and ``Turnovers`` (onec.md §1.7).

``AccumulationRegister_X/Balance(Period=…,Condition='…',Dimensions='Номенклатура, Склад')``
groups the active records up to ``Period`` by the named dimensions (all dimensions when
none are named) and sums each resource, ``Receipt`` positive and ``Expense`` negative, into
``<Resource>Balance``; groups whose every balance is zero are left out, as 1C does.
``Turnovers(StartPeriod, EndPeriod, …)`` sums the records of the interval into
``<Resource>Turnover`` (and ``<Resource>Receipt`` / ``<Resource>Expense`` for a balance
register). ``Balance`` on a turnover register answers code 6 "Метод не найден", as real 1C.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from .errors import CODE_BAD_URL, ODataError
from .query import parse_expression
from .resources import function_params
from .schema import EntitySetDef, Prop

__all__ = ["ACCUMULATION_FUNCTIONS", "result_columns", "result_definition", "virtual_table"]

ACCUMULATION_FUNCTIONS = ("Balance", "Turnovers", "BalanceAndTurnovers")
_SEGMENT_RE = re.compile(r"^([^()]+)(?:\((.*)\))?$", re.DOTALL)


def _date(params: dict[str, str], name: str) -> str | None:
    if name not in params:
        return None
    node = parse_expression(params[name], name)
    if node[0] != "lit" or node[1] != "D":
        raise ODataError.cannot_parse(params[name], "Edm.DateTime")
    return str(node[2])


def _unquote(text: str) -> str:
    text = text.strip()
    if len(text) >= 2 and text.startswith("'") and text.endswith("'"):
        return text[1:-1]
    return text


def _group_props(definition: EntitySetDef, dimensions: str | None) -> list[str]:
    if not dimensions:
        return [p for props in definition.dimensions.values() for p in props]
    out: list[str] = []
    for name in (d.strip() for d in _unquote(dimensions).split(",")):
        props = definition.dimensions.get(name)
        if props is None:
            raise ODataError(400, "14", f"Неверное измерение: {name}")
        out += props
    return out


_SUFFIX = {
    "Balance": "Balance",
    "Turnovers": "Turnover",
    "BalanceAndTurnovers": "BalanceAndTurnover",
}


def result_columns(definition: EntitySetDef, function: str) -> list[Prop]:
    """Declared columns of a virtual table's result type (for ``$metadata``)."""
    balance_register = definition.register_type != "Turnovers"
    props = [definition.by_name[p] for ps in definition.dimensions.values() for p in ps]
    for resource in definition.resources:
        if function in ("Balance", "BalanceAndTurnovers"):
            props.append(Prop(f"{resource}Balance", "Edm.Double"))
        if function in ("Turnovers", "BalanceAndTurnovers"):
            props.append(Prop(f"{resource}Turnover", "Edm.Double"))
            if balance_register:
                props.append(Prop(f"{resource}Receipt", "Edm.Double"))
                props.append(Prop(f"{resource}Expense", "Edm.Double"))
    return props


def result_definition(
    definition: EntitySetDef, segment: str, rows: list[dict[str, Any]]
) -> EntitySetDef:
    """The result type of a virtual table (``AccumulationRegister_X_Balance``) for
    ``$select``/``$filter``/``$orderby`` over its rows."""
    m = _SEGMENT_RE.match(segment)
    name = m.group(1) if m else segment
    columns: list[str] = list(rows[0]) if rows else []
    props = [definition.by_name.get(c) or Prop(c, "Edm.Double") for c in columns]
    return EntitySetDef(
        name=f"{definition.name.removesuffix('_RecordType')}_{_SUFFIX.get(name, name)}",
        kind=definition.kind,
        object_name=definition.object_name,
        synonym=definition.synonym,
        key=[],
        props=props,
    )


def virtual_table(
    definition: EntitySetDef,
    segment: str,
    query: dict[str, str],
    records: list[dict[str, Any]],
    predicate: Callable[[str], Callable[[dict[str, Any]], bool]],
) -> list[dict[str, Any]]:
    """Rows of ``Balance`` / ``Turnovers`` / ``BalanceAndTurnovers`` of a register.

    ``definition`` is the register's ``_RecordType`` set (its records are ``records``).
    """
    m = _SEGMENT_RE.match(segment)
    if m is None:
        raise ODataError(400, CODE_BAD_URL, f"Неверный URL: {segment}")
    name = m.group(1)
    balance_register = definition.register_type != "Turnovers"
    if (
        definition.kind != "AccumulationRegister"
        or name not in ACCUMULATION_FUNCTIONS
        or (name != "Turnovers" and not balance_register)
    ):
        raise ODataError(400, "6", "Метод не найден")
    params = function_params(m.group(2) or "")
    for key in ("Period", "StartPeriod", "EndPeriod", "Condition", "Dimensions"):
        if key not in params and key in query:
            params[key] = query[key]
    period = _date(params, "Period")
    start, end = _date(params, "StartPeriod"), _date(params, "EndPeriod")
    condition = _unquote(params["Condition"]) if params.get("Condition") else None
    test = predicate(condition) if condition else None
    group_by = _group_props(definition, params.get("Dimensions"))
    want_balance = name in ("Balance", "BalanceAndTurnovers")
    want_turnover = name in ("Turnovers", "BalanceAndTurnovers")
    groups: dict[tuple[Any, ...], dict[str, Any]] = {}
    for row in records:
        if row.get("Active") is False:
            continue
        if test is not None and not test(row):
            continue
        when = str(row.get("Period") or "")
        sign = -1 if row.get("RecordType") == "Expense" else 1
        if name == "Balance":
            in_balance = period is None or when < period
        else:  # the closing balance of the interval
            in_balance = want_balance and (end is None or when <= end)
        in_turnover = (
            want_turnover and (start is None or when >= start) and (end is None or when <= end)
        )
        if not (in_balance or in_turnover):
            continue
        group = tuple(row.get(p) for p in group_by)
        out = groups.get(group)
        if out is None:
            out = {p: row.get(p) for p in group_by}
            for resource in definition.resources:
                if want_balance:
                    out[f"{resource}Balance"] = 0
                if want_turnover:
                    out[f"{resource}Turnover"] = 0
                    if balance_register:
                        out[f"{resource}Receipt"] = 0
                        out[f"{resource}Expense"] = 0
            groups[group] = out
        for resource in definition.resources:
            value = row.get(resource) or 0
            if not isinstance(value, int | float):
                continue
            if in_balance:
                out[f"{resource}Balance"] += sign * value
            if in_turnover:
                out[f"{resource}Turnover"] += sign * value if balance_register else value
                if balance_register:
                    out[f"{resource}{'Expense' if sign < 0 else 'Receipt'}"] += value
    rows = [_rounded(r) for r in groups.values()]
    if name == "Balance":
        rows = [r for r in rows if any(r[f"{res}Balance"] for res in definition.resources)]
    return rows


def _rounded(row: dict[str, Any]) -> dict[str, Any]:
    return {k: round(v, 3) if isinstance(v, float) else v for k, v in row.items()}
