"""Query options of a collection request: ``$filter $select $orderby $top $skip
$inlinecount $expand $format allowedOnly`` — parsing and applying them to rows.

Percent-decoding follows real 1C: ``%20`` is a space but a literal ``+`` stays a ``+``
(the standard form-decoding of ``+`` is *not* applied), so the raw query string is
parsed here instead of by the web framework.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import islice
from typing import Any
from urllib.parse import unquote

from .errors import CODE_QUERY_OPTION, CODE_REPRESENTATION, ODataError
from .evaluate import Compiler, Lookup
from .query import Node, parse_expression, parse_orderby
from .schema import EMPTY_REF, EntitySetDef, Schema

__all__ = ["Projection", "QueryOptions", "execute", "parse_query_string", "presentation"]

_KNOWN = frozenset(
    {
        "$filter",
        "$select",
        "$orderby",
        "$top",
        "$skip",
        "$inlinecount",
        "$expand",
        "$format",
        "$count",
        "$allowedOnly",
        "$skiptoken",
    }
)


def parse_query_string(raw: bytes | str) -> dict[str, str]:
    """``a=1&b=%20x+y`` → ``{"a": "1", "b": " x+y"}`` (``+`` is not a space, as in 1C)."""
    text = raw.decode("latin-1") if isinstance(raw, bytes) else raw
    out: dict[str, str] = {}
    for part in text.split("&"):
        if not part:
            continue
        name, _, value = part.partition("=")
        out[unquote(name, errors="replace")] = unquote(value, errors="replace")
    return out


@dataclass
class QueryOptions:
    """The options of one request, already validated."""

    params: dict[str, str]
    json: bool = False
    metadata: str = "minimal"
    filter: str | None = None
    select: str | None = None
    orderby: str | None = None
    expand: list[str] = field(default_factory=list)
    top: int | None = None
    skip: int = 0
    inlinecount: bool = False

    @classmethod
    def parse(cls, params: dict[str, str], accept: str = "") -> QueryOptions:
        """Validate ``params``; ``accept`` is the request's ``Accept`` header."""
        for name in params:
            if name.startswith("$") and name not in _KNOWN:
                raise ODataError(400, CODE_QUERY_OPTION, f"Ошибка при разборе опции запроса {name}")
        opts = cls(params=params)
        fmt = params.get("$format")
        if fmt is None:
            opts.json = "application/json" in accept.lower()
        else:
            kind, _, rest = fmt.partition(";")
            kind = kind.strip().lower()
            if kind in ("json", "application/json", "verbosejson"):
                opts.json = True
                if "nometadata" in rest:
                    opts.metadata = "none"
                elif "fullmetadata" in rest:
                    opts.metadata = "full"
            elif kind not in ("atom", "application/atom+xml", "xml", "application/xml"):
                raise ODataError(
                    406, CODE_REPRESENTATION, "Запрошенный тип представления не поддерживается"
                )
        opts.filter = params.get("$filter")
        opts.select = params.get("$select")
        opts.orderby = params.get("$orderby")
        opts.expand = [x.strip() for x in params.get("$expand", "").split(",") if x.strip()]
        for name in ("$top", "$skip"):
            if name in params:
                value = params[name].strip()
                if not value.isdigit():
                    raise ODataError(
                        400, CODE_QUERY_OPTION, f"Ошибка при разборе опции запроса {name}"
                    )
                setattr(opts, name[1:], int(value))
        inline = params.get("$inlinecount")
        if inline not in (None, "allpages", "none"):
            raise ODataError(
                400, CODE_QUERY_OPTION, "Ошибка при разборе опции запроса $inlinecount"
            )
        opts.inlinecount = inline == "allpages"
        allowed = params.get("allowedOnly", params.get("$allowedOnly"))
        if allowed is not None and allowed.lower() not in ("true", "false"):
            raise ODataError(400, CODE_QUERY_OPTION, "Ошибка при разборе опции запроса allowedOnly")
        return opts


def _date_text(value: str) -> str:
    if not value or value.startswith("0001-01-01"):
        return ""
    d, t = value.split("T")
    hour = int(t[0:2])
    return f"{d[8:10]}.{d[5:7]}.{d[0:4]} {hour}:{t[3:5]}:{t[6:8]}"


def presentation(
    schema: Schema, lookup: Lookup, definition: EntitySetDef, entity: dict[str, Any] | None
) -> str:
    """What 1C shows for a reference: Description, or "Synonym Number от date" for documents."""
    if entity is None:
        return ""
    if definition.kind == "Document":
        when = _date_text(entity.get("Date", ""))
        return f"{definition.synonym} {entity.get('Number', '')} от {when}"
    return str(entity.get("Description", entity.get("Code", "")))


class Projection:
    """``$select`` (+ ``$expand``) applied to one entity; the identity when everything."""

    def __init__(
        self,
        schema: Schema,
        lookup: Lookup,
        definition: EntitySetDef,
        select: str | None,
        expand: list[str],
    ) -> None:
        self.schema, self.lookup, self.definition = schema, lookup, definition
        self.everything = True
        self.names: list[str] = []
        self.sections: dict[str, set[str] | None] = {}
        self.extras: list[tuple[str, Callable[[dict[str, Any]], Any]]] = []
        self.navs: dict[str, set[str] | None] = {}
        if not select or not select.strip():
            return
        items = [i.strip() for i in select.split(",") if i.strip()]
        if "*" in items:
            chosen = {p.name for p in definition.props}
        elif "**" in items:
            chosen = {p.name for p in definition.props if not p.is_collection}
        else:
            chosen = set()
        for item in items:
            if item in ("*", "**"):
                continue
            self._add(item, chosen, expand)
        self.names = [p.name for p in definition.props if p.name in chosen]
        self.everything = (
            set(self.names) == set(definition.by_name)
            and not self.extras
            and not self.navs
            and all(v is None for v in self.sections.values())
        )

    def _add(self, item: str, chosen: set[str], expand: list[str]) -> None:
        definition = self.definition
        if item.endswith("____Presentation"):
            base = item[: -len("____Presentation")]
            names = (
                [
                    p.name
                    for p in definition.props
                    if not p.is_collection and not p.name.endswith("_Type")
                ]
                if base == "*"
                else [base]
            )
            for name in names:
                self.extras.append(
                    (
                        f"{_field_name(name)}____Presentation",
                        self._presenter(_field_name(name), item),
                    )
                )
            return
        if item == "Presentation":
            self.extras.append(
                ("Presentation", lambda e: presentation(self.schema, self.lookup, definition, e))
            )
            return
        head, _, rest = item.partition("/")
        prop = definition.by_name.get(head)
        if prop is not None and not rest:
            chosen.add(head)
            if prop.is_collection:
                self.sections.setdefault(head, None)
            return
        if prop is not None and prop.is_collection:
            section = definition.tabular_sections[head]
            if rest not in section.row_by_name:
                raise ODataError.segment_not_found(rest)
            chosen.add(head)
            current = self.sections.get(head, set())
            if current is not None:
                current.add(rest)
                self.sections[head] = current
            return
        key = definition.by_name.get(f"{head}_Key")
        if rest and key is not None and key.target and self.schema.get(key.target):
            if head in expand:
                target = self.schema.sets[key.target]
                if rest not in ("*", "**") and rest not in target.by_name:
                    raise ODataError.segment_not_found(rest)
                fields = self.navs.get(head, set())
                if fields is not None:
                    fields = None if rest in ("*", "**") else fields | {rest}
                self.navs[head] = fields
            return
        raise ODataError.segment_not_found(head)

    def _presenter(self, name: str, item: str) -> Callable[[dict[str, Any]], Any]:
        definition, schema, lookup = self.definition, self.schema, self.lookup
        key = definition.by_name.get(f"{name}_Key")
        if key is not None:
            target = schema.get(key.target or "")

            def ref(e: dict[str, Any]) -> str:
                value = e.get(key.name, EMPTY_REF)
                if target is None or value == EMPTY_REF:
                    return ""
                return presentation(schema, lookup, target, lookup(target.name, value))

            return ref
        prop = definition.by_name.get(name)
        if prop is None or prop.is_collection:
            raise ODataError.segment_not_found(item)
        if prop.kind == "composite":

            def composite(e: dict[str, Any]) -> str:
                value, vtype = e.get(name, ""), e.get(f"{name}_Type", "")
                target = schema.get(vtype.removeprefix("StandardODATA."))
                if target is not None:
                    return presentation(schema, lookup, target, lookup(target.name, value))
                return str(value)

            return composite
        synonyms = (schema.enums.get(prop.enum or "", {}) or {}).get("synonyms", {})
        if prop.edm == "Edm.Boolean":
            return lambda e: "Да" if e.get(name) else "Нет"
        if prop.edm == "Edm.DateTime":
            return lambda e: _date_text(e.get(name, ""))
        return lambda e: synonyms.get(e.get(name), str(e.get(name, "")))

    def apply(self, entity: dict[str, Any]) -> dict[str, Any]:
        """The projected entity (the stored dict itself when nothing is filtered)."""
        if self.everything:
            return entity
        out: dict[str, Any] = {}
        for name in self.names:
            value = entity.get(name)
            fields = self.sections.get(name)
            if fields is not None and isinstance(value, list):
                value = [
                    {k: v for k, v in row.items() if k in fields or k == "LineNumber"}
                    for row in value
                ]
            out[name] = value
        for head, nav_fields in self.navs.items():
            key = self.definition.by_name[f"{head}_Key"]
            target = self.lookup(key.target or "", entity.get(key.name, EMPTY_REF))
            if target is None:
                out[head] = None
            elif nav_fields is None:
                out[head] = target
            else:
                out[head] = {k: v for k, v in target.items() if k in nav_fields}
        for name, fn in self.extras:
            out[name] = fn(entity)
        return out


def _field_name(name: str) -> str:
    return name[: -len("_Key")] if name.endswith("_Key") else name


Rows = list[dict[str, Any]]
Derived = Callable[[Any, Callable[[Rows], Any]], Any]


def _lower_bound(node: Node, order: Node) -> tuple[str, str, Any] | None:
    """``X gt|ge literal`` (possibly inside ``and``) on the single ``$orderby`` path X."""
    if node[0] != "op":
        return None
    if node[1] == "and":
        return _lower_bound(node[2], order) or _lower_bound(node[3], order)
    if node[1] not in ("gt", "ge"):
        return None
    left, right = node[2], node[3]
    if left != order or left[0] != "path" or len(left[1]) != 1 or right[0] != "lit":
        return None
    if right[1] not in ("G", "D"):  # strings: collation subtleties, scan them
        return None
    return str(node[1]), str(left[1][0]), right[2]


def _equality_term(node: Node, definition: EntitySetDef) -> tuple[str, str, Any] | None:
    """``Prop eq literal`` (possibly inside ``and``) on a string/GUID property, if any."""
    if node[0] != "op":
        return None
    if node[1] == "and":
        return _equality_term(node[2], definition) or _equality_term(node[3], definition)
    if node[1] != "eq":
        return None
    left, right = node[2], node[3]
    if left[0] == "lit":
        left, right = right, left
    if left[0] != "path" or right[0] != "lit" or len(left[1]) != 1:
        return None
    prop = definition.by_name.get(left[1][0])
    if prop is None or prop.kind in ("tabular", "composite"):
        return None
    if prop.edm == "Edm.String" and right[1] == "S":
        return prop.name, "S", right[2].rstrip().casefold()
    if prop.edm == "Edm.Guid" and right[1] == "G":
        return prop.name, "G", right[2]
    return None


def _index(name: str, kind: str) -> Callable[[Rows], dict[Any, Rows]]:
    def build(source: Rows) -> dict[Any, Rows]:
        index: dict[Any, Rows] = {}
        for row in source:
            value = row.get(name, "")
            key = value.rstrip().casefold() if kind == "S" and isinstance(value, str) else value
            index.setdefault(key, []).append(row)
        return index

    return build


def execute(
    schema: Schema,
    lookup: Lookup,
    definition: EntitySetDef,
    opts: QueryOptions,
    rows: Callable[[], Rows],
    derived: Derived,
) -> tuple[Rows, int]:
    """Filter, order and page rows; returns ``(page, total matching before paging)``.

    An equality on a string/GUID property narrows the scan through a cached index, so a
    lookup by ``ИНН`` or ``Owner_Key`` does not walk 10,000 rows.
    """
    data: Rows
    predicate: Callable[[dict[str, Any]], bool] | None = None
    candidates: Rows | None = None
    if opts.filter is not None:
        tree = parse_expression(opts.filter)
        predicate = Compiler(schema, lookup, "$filter").predicate(tree, definition)
        term = _equality_term(tree, definition)
        if term is not None:
            name, kind, value = term
            candidates = derived(("index", name), _index(name, kind)).get(value, [])
    sort: Callable[[Rows], Rows] | None = None
    if opts.orderby:
        items = parse_orderby(opts.orderby)
        compiler = Compiler(schema, lookup, "$orderby")
        keys: list[tuple[Callable[[dict[str, Any]], Any], bool]] = []
        for node, desc in items:
            if (
                node[0] == "path"
                and node[1][0] not in definition.by_name
                and not any(p.name == f"{node[1][0]}_Key" for p in definition.props)
            ):
                raise ODataError.segment_not_found(node[1][0])
            keys.append((compiler.sort_key(node, definition), desc))

        def sort(source: Rows) -> Rows:
            result = list(source)
            for key, desc in reversed(keys):
                result.sort(key=key, reverse=desc)
            return result

    lazy = False
    if candidates is not None:
        data = sort(candidates) if sort is not None else candidates
    elif sort is not None:
        data = derived(("order", (opts.orderby or "").strip()), sort)
        if opts.filter is not None and len(keys) == 1 and not keys[0][1]:
            # Keyset paging (``$orderby=X&$filter=X gt …``) seeks in the sorted rows like
            # a DBMS index instead of testing every row.
            bound = _lower_bound(tree, items[0][0])
            if bound is not None:
                op, name, value = bound
                seek = bisect_right if op == "gt" else bisect_left
                data = data[seek(data, keys[0][0]({name: value}), key=keys[0][0]) :]
                lazy = not opts.inlinecount and opts.top is not None
    else:
        data = rows()
    if predicate is not None and lazy:
        # only the page is needed (no $inlinecount): stop testing rows once it is full
        assert opts.top is not None
        test = predicate
        page = list(islice((r for r in data if test(r)), opts.skip, opts.skip + opts.top))
        return page, opts.skip + len(page)
    if predicate is not None:
        data = [row for row in data if predicate(row)]
    total = len(data)
    end = None if opts.top is None else opts.skip + opts.top
    if opts.skip or end is not None:
        data = data[opts.skip : end]
    return data, total
