"""Compile ``$filter`` / ``$orderby`` ASTs (:mod:`.query`) into Python closures over rows.

Rows are wire-form entity dicts.  Semantics follow the 1C query language that the OData
layer translates to:

* string comparison and ``substringof``/``startswith``/``endswith``/``like`` ignore case
  (as every 1C database operation does) and trailing spaces in ``eq``/``ne``;
* a composite field (``X`` + ``X_Type``) equals only ``cast(guid'…', 'Catalog_Y')``;
  compared with a bare ``guid'…'`` it is never equal (documented behaviour);
* values of different types are simply unequal (no error), except that a string function
  applied to a non-string property fails with HTTP 500 as observed on a live base;
* ``Ref/Prop`` navigates single-type references to published sets, ``TS/any(d: …)`` and
  ``TS/all(d: …)`` iterate tabular-section rows.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .errors import (
    CODE_ENTITY_TYPE_NOT_FOUND,
    CODE_QUERY_OPTION,
    CODE_UNIMPLEMENTED_FUNCTION,
    ODataError,
)
from .functions import date_part, dateadd, datediff, like_regex
from .query import Node
from .schema import EMPTY_REF, EntitySetDef, Prop, Schema, TabularSection

__all__ = ["Compiler", "Typed"]

Row = dict[str, Any]
Scope = dict[str, Row]
Fn = Callable[[Row, Scope], Any]
Lookup = Callable[[str, str], "Row | None"]

_EDM_KIND = {"Edm.String": "S", "Edm.Guid": "G", "Edm.DateTime": "D", "Edm.Boolean": "B"}
_NUMERIC = ("Edm.Int16", "Edm.Int32", "Edm.Int64", "Edm.Double", "Edm.Byte", "Edm.SByte")
_PRIMITIVE_CASTS = {
    "String": ("S", ("Edm.String",)),
    "Number": ("N", ("Edm.Double", "Edm.Int64", "Edm.Int32", "Edm.Int16")),
    "Boolean": ("B", ("Edm.Boolean",)),
    "Date": ("D", ("Edm.DateTime",)),
}
_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "eq": operator.eq,
    "ne": operator.ne,
    "gt": operator.gt,
    "ge": operator.ge,
    "lt": operator.lt,
    "le": operator.le,
}
_ARITH: dict[str, Callable[[Any, Any], Any]] = {
    "add": operator.add,
    "sub": operator.sub,
    "mul": operator.mul,
    "div": operator.truediv,
    "mod": operator.mod,
}
_STRING_FUNCS = frozenset({"substringof", "startswith", "endswith", "concat", "substring", "like"})
_DATE_PARTS = frozenset(
    {"year", "month", "day", "hour", "minute", "second", "quarter", "dayofweek", "dayofyear"}
)
_ARITY = {
    "substringof": (2, 2),
    "startswith": (2, 2),
    "endswith": (2, 2),
    "concat": (2, 2),
    "substring": (2, 3),
    "like": (2, 2),
    "dateadd": (3, 3),
    "datedifference": (3, 3),
    "round": (1, 1),
    "cast": (2, 2),
    "isof": (2, 2),
}
EMPTY_SCOPE: Scope = {}
_DEFAULTS: dict[str, Any] = {"S": "", "G": EMPTY_REF, "D": "0001-01-01T00:00:00", "B": False}


@dataclass
class Typed:
    """A compiled expression: ``fn(row, scope)`` and the static kind of its value.

    Kinds: ``S`` string, ``G`` guid, ``D`` datetime text, ``N`` number, ``B`` boolean,
    ``C`` composite ``(value, type)``, ``R`` typed reference ``(guid, type)``, ``X`` null,
    ``E`` entity (navigation), ``T`` tabular-section rows.
    """

    fn: Fn
    kind: str
    definition: EntitySetDef | None = None
    section: TabularSection | None = None
    const: bool = False
    enum: str | None = None


def _const(value: Any, kind: str) -> Typed:
    return Typed(lambda r, s: value, kind, const=True)


def _fold(value: Any) -> str:
    return value.rstrip().casefold() if isinstance(value, str) else str(value).casefold()


class Compiler:
    """Compiles AST nodes against one entity set of a schema."""

    def __init__(self, schema: Schema, lookup: Lookup, option: str = "$filter") -> None:
        self.schema = schema
        self.lookup = lookup
        self.option = option

    def error(self, detail: str = "") -> ODataError:
        suffix = f": {detail}" if detail else ""
        return ODataError(
            400, CODE_QUERY_OPTION, f"Ошибка при разборе опции запроса {self.option}{suffix}"
        )

    # ---------------------------------------------------------------- entry points

    def predicate(self, node: Node, definition: EntitySetDef) -> Callable[[Row], bool]:
        """A row predicate for a ``$filter`` AST."""
        typed = self.compile(node, definition.by_name, {})
        if typed.kind != "B":
            raise self.error()
        fn = typed.fn
        return lambda row: bool(fn(row, EMPTY_SCOPE))

    def sort_key(self, node: Node, definition: EntitySetDef) -> Callable[[Row], Any]:
        """A sort key for one ``$orderby`` item."""
        typed = self.compile(node, definition.by_name, {})
        fn, kind = typed.fn, typed.kind
        enum = self.schema.enums.get(typed.enum or "")
        if enum is not None:
            # 1C orders enumeration values by their position in the enumeration.
            order = {v: i for i, v in enumerate(enum.get("values", []))}
            return lambda row: order.get(fn(row, EMPTY_SCOPE), -1)
        if kind == "S":
            return lambda row: _fold(fn(row, EMPTY_SCOPE) or "")
        if kind == "N":
            return lambda row: float(fn(row, EMPTY_SCOPE) or 0)
        if kind == "C":
            return lambda row: tuple(_fold(v) for v in fn(row, EMPTY_SCOPE))
        if kind in ("T", "E"):
            raise self.error()
        return lambda row: fn(row, EMPTY_SCOPE)

    # ---------------------------------------------------------------- nodes

    def compile(
        self, node: Node, props: dict[str, Prop], scope: dict[str, TabularSection]
    ) -> Typed:
        tag = node[0]
        if tag == "lit":
            return _const(node[2], node[1])
        if tag == "path":
            return self.path(node[1], props, scope)
        if tag == "op":
            return self.binary(
                node[1], self.compile(node[2], props, scope), self.compile(node[3], props, scope)
            )
        if tag == "not":
            inner = self.compile(node[1], props, scope)
            if inner.kind != "B":
                raise self.error()
            fn = inner.fn
            return Typed(lambda r, s: not fn(r, s), "B")
        if tag == "neg":
            inner = self.compile(node[1], props, scope)
            if inner.kind != "N":
                raise self.error()
            fn = inner.fn
            return Typed(lambda r, s: -fn(r, s), "N")
        if tag == "call":
            return self.call(node[1], [self.compile(a, props, scope) for a in node[2]], node[2])
        if tag == "member":
            base = self.compile(node[1], props, scope)
            return self.navigate(base, node[2])
        if tag == "lambda":
            return self.lambda_(node, props, scope)
        raise self.error()

    def prop_getter(self, obj: Fn | None, prop: Prop) -> Typed:
        """Value of ``prop`` of the object returned by ``obj`` (None: the row itself)."""
        name = prop.name
        if prop.kind == "tabular":
            getter: Fn = (
                (lambda r, s: r.get(name, []))
                if obj is None
                else (lambda r, s: o.get(name, []) if (o := obj(r, s)) is not None else [])
            )
            return Typed(getter, "T")
        if prop.kind == "composite":
            type_name = f"{name}_Type"
            if obj is None:
                return Typed(lambda r, s: (r.get(name, ""), r.get(type_name, "")), "C")
            return Typed(
                lambda r, s: (
                    (o.get(name, ""), o.get(type_name, ""))
                    if (o := obj(r, s)) is not None
                    else ("", "")
                ),
                "C",
            )
        kind = _EDM_KIND.get(prop.edm, "N" if prop.edm in _NUMERIC else "S")
        as_int = prop.edm == "Edm.Int64"
        default: Any = _DEFAULTS.get(kind, 0)
        if obj is None:
            if as_int:
                return Typed(lambda r, s: int(r.get(name, 0)), kind)
            return Typed(lambda r, s: r.get(name, default), kind, enum=prop.enum)

        def nav_get(r: Row, s: Scope) -> Any:
            o = obj(r, s)
            if o is None:
                return default
            value = o.get(name, default)
            return int(value) if as_int else value

        return Typed(nav_get, kind, enum=prop.enum)

    def path(
        self, segments: list[str], props: dict[str, Prop], scope: dict[str, TabularSection]
    ) -> Typed:
        first, rest = segments[0], segments[1:]
        if first in scope:
            section = scope[first]
            if not rest:
                raise self.error(first)
            return self.walk(lambda r, s: s[first], section.row_by_name, rest)
        return self.walk(None, props, segments)

    def walk(self, obj: Fn | None, props: dict[str, Prop], segments: list[str]) -> Typed:
        """Resolve ``segments`` starting at the object ``obj`` with properties ``props``."""
        name, rest = segments[0], segments[1:]
        prop = props.get(name)
        if prop is not None:
            typed = self.prop_getter(obj, prop)
            if prop.kind == "tabular":
                typed.section = self._section_of(props, prop)
            if rest:
                raise self.error(name)
            return typed
        key = props.get(f"{name}_Key")
        if key is None or key.target is None or self.schema.get(key.target) is None:
            raise self.error(name)
        target = self.schema.sets[key.target]
        key_name, target_name, lookup = key.name, target.name, self.lookup

        def entity(r: Row, s: Scope) -> Row | None:
            o = r if obj is None else obj(r, s)
            if o is None:
                return None
            ref = o.get(key_name, EMPTY_REF)
            return None if ref == EMPTY_REF else lookup(target_name, ref)

        if not rest:
            return Typed(entity, "E", definition=target)
        return self.walk(entity, target.by_name, rest)

    def _section_of(self, props: dict[str, Prop], prop: Prop) -> TabularSection | None:
        for definition in self.schema.sets.values():
            if definition.by_name is props:
                return definition.tabular_sections.get(prop.tabular or "")
        return None

    def navigate(self, base: Typed, segments: list[str]) -> Typed:
        """``cast(X, 'Catalog_Y')/Prop``: follow a typed reference."""
        if base.kind != "R" or base.definition is None:
            raise self.error("/".join(segments))
        fn, target_name, lookup = base.fn, base.definition.name, self.lookup

        def entity(r: Row, s: Scope) -> Row | None:
            value = fn(r, s)
            return None if value is None else lookup(target_name, value[0])

        return self.walk(entity, base.definition.by_name, segments)

    def lambda_(
        self, node: Node, props: dict[str, Prop], scope: dict[str, TabularSection]
    ) -> Typed:
        _, segments, kind, var, body = node
        coll = self.path(segments, props, scope)
        if coll.kind != "T" or coll.section is None:
            raise self.error("/".join(segments))
        rows_fn = coll.fn
        if var is None:
            return Typed(lambda r, s: bool(rows_fn(r, s)), "B")
        inner = self.compile(body, props, {**scope, var: coll.section})
        if inner.kind != "B":
            raise self.error()
        body_fn, want = inner.fn, kind == "any"

        def quantifier(r: Row, s: Scope) -> bool:
            local = dict(s)
            for row in rows_fn(r, s):
                local[var] = row
                if bool(body_fn(r, local)) is want:
                    return want
            return not want

        return Typed(quantifier, "B")

    # ---------------------------------------------------------------- operators

    def binary(self, op: str, left: Typed, right: Typed) -> Typed:
        if op in ("and", "or"):
            if left.kind != "B" or right.kind != "B":
                raise self.error()
            lf, rf = left.fn, right.fn
            if op == "and":
                return Typed(lambda r, s: bool(lf(r, s)) and bool(rf(r, s)), "B")
            return Typed(lambda r, s: bool(lf(r, s)) or bool(rf(r, s)), "B")
        if op in _ARITH:
            if left.kind != "N" or right.kind != "N":
                raise self.error()
            lf, rf, fn = left.fn, right.fn, _ARITH[op]

            def arith(r: Row, s: Scope) -> Any:
                try:
                    return fn(lf(r, s), rf(r, s))
                except ZeroDivisionError:
                    return 0

            return Typed(arith, "N")
        return self.compare(op, left, right)

    def compare(self, op: str, left: Typed, right: Typed) -> Typed:
        cmp = _OPS[op]
        lk, rk = left.kind, right.kind
        lf, rf = left.fn, right.fn
        if lk == "X" or rk == "X":
            other = rf if lk == "X" else lf
            return Typed(
                lambda r, s: cmp(other(r, s) is None, True) if op in ("eq", "ne") else False, "B"
            )
        if lk in ("E", "T") or rk in ("E", "T"):
            raise self.error()
        if {lk, rk} == {"R", "G"}:
            ref, guid = (lf, rf) if lk == "R" else (rf, lf)
            if op not in ("eq", "ne"):
                return _const(False, "B")
            return Typed(
                lambda r, s: cmp((v[0] if (v := ref(r, s)) is not None else None), guid(r, s)), "B"
            )
        if (lk == "R" and rk == "C") or (lk == "G" and rk == "C"):
            return self.compare(_SWAP.get(op, op), right, left)
        if lk == "C":
            if rk == "R":

                def cr(r: Row, s: Scope) -> bool:
                    a, b = lf(r, s), rf(r, s)
                    same = b is not None and a[0].lower() == b[0] and a[1] == b[1]
                    return same if op == "eq" else (not same if op == "ne" else False)

                return Typed(cr, "B")
            if rk == "G":
                return _const(op == "ne", "B")
            if rk == "C":
                return Typed(
                    lambda r, s: cmp(tuple(map(_fold, lf(r, s))), tuple(map(_fold, rf(r, s)))), "B"
                )
            if rk == "N":

                def cn(r: Row, s: Scope) -> bool:
                    try:
                        return bool(cmp(float(lf(r, s)[0]), rf(r, s)))
                    except ValueError:
                        return op == "ne"

                return Typed(cn, "B")
            if rk == "B":
                return Typed(lambda r, s: cmp(lf(r, s)[0].lower(), str(rf(r, s)).lower()), "B")
            return Typed(lambda r, s: cmp(_fold(lf(r, s)[0]), _fold(rf(r, s))), "B")
        if lk == "R" and rk == "R":
            return Typed(lambda r, s: cmp(lf(r, s), rf(r, s)) if op in ("eq", "ne") else False, "B")
        if lk == "R" or rk == "R":
            return _const(op == "ne", "B")
        if {lk, rk} <= {"S", "D"}:
            if right.const:
                value = _fold(rf(EMPTY_SCOPE, EMPTY_SCOPE))
                return Typed(lambda r, s: cmp(_fold(lf(r, s)), value), "B")
            return Typed(lambda r, s: cmp(_fold(lf(r, s)), _fold(rf(r, s))), "B")
        if lk != rk:
            return _const(op == "ne", "B")
        if right.const:
            value = rf(EMPTY_SCOPE, EMPTY_SCOPE)
            return Typed(lambda r, s: cmp(lf(r, s), value), "B")
        return Typed(lambda r, s: cmp(lf(r, s), rf(r, s)), "B")

    # ---------------------------------------------------------------- functions

    def call(self, name: str, args: list[Typed], raw: list[Node]) -> Typed:
        low, high = _ARITY.get(name, (1, 1))
        if name not in _ARITY and name not in _DATE_PARTS:
            raise self.error(f"функция {name} не поддерживается")
        if not low <= len(args) <= high:
            raise ODataError(
                400, CODE_UNIMPLEMENTED_FUNCTION, f"Неверное количество аргументов функции {name}"
            )
        if name in _STRING_FUNCS:
            return self.string_call(name, args)
        if name in _DATE_PARTS:
            (arg,) = args
            if arg.kind != "D":
                raise ODataError.internal()
            fn = arg.fn
            return Typed(lambda r, s: date_part(name, fn(r, s)), "N")
        if name == "dateadd":
            d, unit, amount = args
            if d.kind != "D" or unit.kind != "S" or amount.kind != "N":
                raise ODataError(400, CODE_UNIMPLEMENTED_FUNCTION, "Неверный тип аргумента dateadd")
            df, uf, af = d.fn, unit.fn, amount.fn
            return Typed(lambda r, s: dateadd(df(r, s), uf(r, s), int(af(r, s))), "D")
        if name == "datedifference":
            a, b, unit = args
            if a.kind != "D" or b.kind != "D" or unit.kind != "S":
                raise ODataError(
                    400, CODE_UNIMPLEMENTED_FUNCTION, "Неверный тип аргумента datedifference"
                )
            af, bf, uf = a.fn, b.fn, unit.fn
            return Typed(lambda r, s: datediff(af(r, s), bf(r, s), uf(r, s)), "N")
        if name == "round":
            (arg,) = args
            if arg.kind != "N":
                raise ODataError.internal()
            fn = arg.fn
            return Typed(lambda r, s: round(fn(r, s)), "N")
        if name in ("cast", "isof"):
            if raw[1][0] != "lit" or raw[1][1] != "S":
                raise ODataError(400, CODE_UNIMPLEMENTED_FUNCTION, f"Неверный тип аргумента {name}")
            if name == "cast":
                return self.cast(args[0], raw[1][2])
            return self.isof(args[0], raw[1][2])
        raise self.error(name)

    def string_call(self, name: str, args: list[Typed]) -> Typed:
        for arg in args[:1] if name == "substring" else args:
            if arg.kind not in ("S", "C", "D"):
                raise ODataError.internal()
        fns = [(lambda f: lambda r, s: f(r, s)[0])(a.fn) if a.kind == "C" else a.fn for a in args]
        if name == "substring":
            sf, start = fns[0], fns[1]
            length = fns[2] if len(fns) > 2 else None
            if any(a.kind != "N" for a in args[1:]):
                raise ODataError(
                    400, CODE_UNIMPLEMENTED_FUNCTION, "Неверный тип аргумента substring"
                )

            def substring(r: Row, s: Scope) -> str:
                text, i = str(sf(r, s)), max(int(start(r, s)) - 1, 0)
                return text[i:] if length is None else text[i : i + int(length(r, s))]

            return Typed(substring, "S")
        a, b = fns
        if name == "concat":
            return Typed(lambda r, s: f"{a(r, s)}{b(r, s)}", "S")
        if name == "like":
            if args[1].const:
                pattern = like_regex(b(EMPTY_SCOPE, EMPTY_SCOPE))
                return Typed(lambda r, s: pattern.fullmatch(a(r, s).rstrip()) is not None, "B")
            return Typed(
                lambda r, s: like_regex(b(r, s)).fullmatch(a(r, s).rstrip()) is not None, "B"
            )
        test: Callable[[str, str], bool] = {
            "substringof": lambda x, y: x in y,
            "startswith": lambda x, y: y.startswith(x),
            "endswith": lambda x, y: y.endswith(x),
        }[name]
        if name == "substringof":
            return Typed(lambda r, s: test(a(r, s).casefold(), b(r, s).casefold()), "B")
        return Typed(lambda r, s: test(b(r, s).casefold(), a(r, s).casefold()), "B")

    def _entity_type(self, type_name: str) -> EntitySetDef | None:
        if type_name.startswith("StandardODATA."):
            type_name = type_name[len("StandardODATA.") :]
        definition = self.schema.get(type_name)
        if definition is None and not re.match(
            r"^(Catalog|Document|ChartOf\w+|ExchangePlan|"
            r"BusinessProcess|Task)_\w+$",
            type_name,
        ):
            raise ODataError(400, CODE_ENTITY_TYPE_NOT_FOUND, f"Тип сущности {type_name} не найден")
        return definition

    def cast(self, arg: Typed, type_name: str) -> Typed:
        if type_name in _PRIMITIVE_CASTS:
            kind, edms = _PRIMITIVE_CASTS[type_name]
            if arg.kind == "C":
                fn = arg.fn

                def primitive(r: Row, s: Scope) -> Any:
                    value, vtype = fn(r, s)
                    if vtype not in edms:
                        return None
                    if kind == "N":
                        return float(value)
                    return value.lower() == "true" if kind == "B" else value

                return Typed(primitive, kind)
            return Typed(arg.fn, kind)
        definition = self._entity_type(type_name)
        full = f"StandardODATA.{type_name}"
        fn = arg.fn
        if arg.kind == "G":
            return Typed(lambda r, s: (fn(r, s), full), "R", definition=definition, const=arg.const)
        if arg.kind == "C":
            return Typed(
                lambda r, s: (v[0].lower(), v[1]) if (v := fn(r, s))[1] == full else None,
                "R",
                definition=definition,
            )
        raise ODataError(400, CODE_UNIMPLEMENTED_FUNCTION, "Неверный тип аргумента cast")

    def isof(self, arg: Typed, type_name: str) -> Typed:
        if arg.kind == "C":
            fn = arg.fn
            if type_name in _PRIMITIVE_CASTS:
                edms = _PRIMITIVE_CASTS[type_name][1]
                return Typed(lambda r, s: fn(r, s)[1] in edms, "B")
            self._entity_type(type_name)
            full = f"StandardODATA.{type_name}"
            return Typed(lambda r, s: fn(r, s)[1] == full, "B")
        if type_name in _PRIMITIVE_CASTS:
            return _const(_PRIMITIVE_CASTS[type_name][0] == arg.kind, "B")
        return _const(False, "B")


_SWAP = {"gt": "lt", "lt": "gt", "ge": "le", "le": "ge"}
