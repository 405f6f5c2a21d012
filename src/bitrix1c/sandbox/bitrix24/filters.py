"""Translate Bitrix24 ``filter`` / ``order`` parameters into SQLite.

Classic list filters (EN:api-reference/crm/companies/crm-company-list.md):
``>=`` ``>`` ``<=`` ``<`` comparisons, ``=`` (default) equality, ``!``/``!=`` not
equal, ``@`` IN, ``!@`` NOT IN, ``%`` substring LIKE, ``=%``/``%=`` LIKE with the
caller's own ``%`` wildcards and their ``!`` negations.  Text comparisons are
case-insensitive, as on the MySQL collation of a real portal.  An array value
without a prefix means IN.  Multi-fields (``PHONE``, ``EMAIL`` …) filter through
an ``EXISTS`` on the multi-field table.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from .errors import orm_error
from .fields import MULTI_FIELDS, EntitySpec, FieldDef, Kind
from .values import filter_value

_PREFIXES = ("!%=", "!=%", "!%", "=%", "%=", ">=", "<=", "!@", "!=", "!", "@", ">", "<", "=", "%")
_NAME = re.compile(r"^[A-Z][A-Z0-9_]*$")
_HAS_LETTER = re.compile(r"[^\W\d_]")


@dataclass
class Query:
    """A compiled WHERE / ORDER BY with its parameters."""

    where: list[str] = field(default_factory=list)
    args: list[Any] = field(default_factory=list)
    order: str = "t.id ASC"

    def where_sql(self) -> str:
        """``WHERE …`` (or empty)."""
        return f" WHERE {' AND '.join(self.where)}" if self.where else ""


def split_key(key: str) -> tuple[str, str]:
    """``">=DATE_CREATE"`` → ``(">=", "DATE_CREATE")``."""
    for prefix in _PREFIXES:
        if key.startswith(prefix):
            return prefix, key[len(prefix) :].strip()
    return "", key.strip()


class FilterCompiler:
    """Compile filters for one entity spec.

    ``strict`` makes unknown fields an ORM error (``crm.requisite.*`` lists run on
    the D7 ORM, which rejects them); classic methods silently ignore them.
    """

    def __init__(self, spec: EntitySpec, user_fields: list[str], *, strict: bool) -> None:
        self.spec = spec
        self.fields = spec.by_name()
        self.user_fields = set(user_fields)
        self.strict = strict

    # -- field resolution ---------------------------------------------------------
    def _resolve(self, name: str) -> FieldDef | None:
        upper = name.upper()
        known = self.fields.get(upper)
        if known is not None and (known.stored or known.name in MULTI_FIELDS):
            return known
        if upper.startswith("UF_") and _NAME.match(upper):
            return FieldDef(upper, "string", "", upper)
        if self.strict:
            raise orm_error(
                f"Unknown field definition `{name}` ({name}) for {self.spec.orm_table} Entity."
            )
        return None

    @staticmethod
    def _expr(fdef: FieldDef) -> str:
        if fdef.kind == "pk":
            return "t.id"
        return f"json_extract(t.data, '$.{fdef.name}')"

    # -- filter ----------------------------------------------------------------------
    def compile(self, filter_: Any, order: Any) -> Query:
        """Build the query for ``filter`` and ``order`` parameters."""
        query = Query()
        if isinstance(filter_, dict):
            for key, value in filter_.items():
                self._add_condition(query, str(key), value)
        query.order = self._order(order)
        return query

    def _add_condition(self, query: Query, key: str, value: Any) -> None:
        op, name = split_key(key)
        if not name:
            return
        fdef = self._resolve(name)
        if fdef is None:
            return
        if fdef.name in MULTI_FIELDS:
            sql, args = self._condition("fm.value", "str", op, value)
            query.where.append(
                "EXISTS (SELECT 1 FROM fm WHERE fm.entity = ? AND fm.entity_id = t.id "
                f"AND fm.type_id = ? AND {sql})"
            )
            query.args.extend([self.spec.name, fdef.name, *args])
            return
        sql, args = self._condition(self._expr(fdef), fdef.kind, op, value)
        query.where.append(sql)
        query.args.extend(args)

    def _condition(self, expr: str, kind: Kind, op: str, value: Any) -> tuple[str, list[Any]]:
        negate = op.startswith("!")
        core = op[1:] if negate else op
        if core in ("", "="):
            core = "@" if isinstance(value, list) else "="
        if isinstance(value, dict):
            value = list(value.values())
        if core == "@":
            values = value if isinstance(value, list) else [value]
            sql, args = self._in(expr, kind, values)
        elif core == "=":
            sql, args = self._equals(expr, kind, value)
        elif core in (">", ">=", "<", "<="):
            operand = filter_value(kind, value)
            if operand is None:
                return ("0", []) if not negate else ("1", [])
            sql, args = f"{expr} {core} ?", [operand]
        elif core == "%":
            text = "" if value is None else str(value)
            sql, args = f"instr(ulower(CAST({expr} AS TEXT)), ulower(?)) > 0", [text]
        else:  # "=%" / "%=": LIKE with caller's wildcards
            text = "" if value is None else str(value)
            sql, args = f"ulower(CAST({expr} AS TEXT)) LIKE ulower(?)", [text]
        if not negate:
            return sql, args
        if core == "=" and (value is None or value == ""):
            return f"NOT ({sql})", args  # "!FIELD": "" → field is filled
        return f"({expr} IS NULL OR NOT ({sql}))", args

    @staticmethod
    def _text_equals(expr: str, text: str) -> tuple[str, list[Any]]:
        if _HAS_LETTER.search(text):
            return f"ulower({expr}) = ?", [text.lower()]
        return f"{expr} = ?", [text]

    def _equals(self, expr: str, kind: Kind, value: Any) -> tuple[str, list[Any]]:
        if value is None or value == "" or value == []:
            return f"({expr} IS NULL OR {expr} = '')", []
        operand = filter_value(kind, value)
        if operand is None:
            return f"({expr} IS NULL OR {expr} = '')", []
        if kind == "str" or (isinstance(operand, str) and kind != "datetime"):
            return self._text_equals(expr, str(operand))
        return f"{expr} = ?", [operand]

    @staticmethod
    def _in(expr: str, kind: Kind, values: list[Any]) -> tuple[str, list[Any]]:
        operands = [filter_value(kind, v) for v in values]
        operands = [v for v in operands if v is not None]
        if not operands:
            return "0", []
        if kind == "str" and any(_HAS_LETTER.search(str(v)) for v in operands):
            lowered = [str(v).lower() for v in operands]
            return f"ulower({expr}) IN ({','.join('?' * len(lowered))})", lowered
        return f"{expr} IN ({','.join('?' * len(operands))})", operands

    # -- order -------------------------------------------------------------------------
    def _order(self, order: Any) -> str:
        parts: list[str] = []
        has_id = False
        if isinstance(order, dict):
            for name, direction in order.items():
                fdef = self._resolve(str(name))
                if fdef is None or fdef.name in MULTI_FIELDS:
                    continue
                way = "DESC" if str(direction).strip().upper() == "DESC" else "ASC"
                parts.append(f"{self._expr(fdef)} {way}")
                has_id = has_id or fdef.kind == "pk"
        if not has_id:
            parts.append("t.id ASC")
        return ", ".join(parts)
