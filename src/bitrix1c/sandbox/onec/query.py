"""``$filter`` / ``$orderby`` expression parser of the 1C OData dialect (OData v3).

Produces a small AST of tuples that :mod:`.evaluate` compiles into Python closures:

``("lit", kind, value, text)`` — literal (kind ``S`` string, ``G`` guid, ``D`` datetime,
``N`` number, ``B`` boolean, ``X`` null); ``("path", [segments])``; ``("call", name,
[args])``; ``("member", expr, [segments])`` — navigation after ``cast(...)``;
``("op", op, left, right)``; ``("not", expr)``; ``("neg", expr)``;
``("lambda", [segments], "any"|"all", var, body)``.

Operator precedence follows the platform documentation (highest first): ``()``, ``/``,
unary ``-``, ``not``, ``mul div mod``, ``add sub``, ``gt ge lt le``, ``eq ne``, ``and``,
``or``.  Only lower-case operator names are accepted, as in OData.  A literal ``+`` is a
character, not a space (real 1C does not decode it), so ``ИНН+eq+'1'`` is a syntax error.
"""

from __future__ import annotations

import re
from typing import Any

from .entity import is_guid, normalize_datetime
from .errors import CODE_CANNOT_PARSE, CODE_QUERY_OPTION, ODataError

__all__ = ["UNSUPPORTED_FUNCTIONS", "Node", "parse_expression", "parse_orderby", "tokenize"]

Node = tuple[Any, ...]

UNSUPPORTED_FUNCTIONS = frozenset(
    {
        "length",
        "lenght",
        "indexof",
        "replace",
        "tolower",
        "toupper",
        "trim",
        "years",
        "days",
        "hours",
        "minutes",
        "seconds",
        "floor",
        "ceiling",
        "contains",
        "now",
        "tostring",
    }
)

_TOKEN_RE = re.compile(
    r"""
    (?P<ws>[ \t]+)
  | (?P<typed>(?:guid|datetime|datetimeoffset|time|binary|X)'(?:[^']|'')*')
  | (?P<string>'(?:[^']|'')*')
  | (?P<number>\d+(?:\.\d+)?(?:[eE][+-]?\d+)?[LlMmDdFf]?)
  | (?P<ident>[^\W\d][\w]*)
  | (?P<punct>[(),/:*=-])
    """,
    re.VERBOSE,
)
_COMPARE = ("eq", "ne", "gt", "ge", "lt", "le")
_INT32_MAX = 2**31 - 1


class _Tok:
    __slots__ = ("kind", "text")

    def __init__(self, kind: str, text: str) -> None:
        self.kind = kind
        self.text = text

    def __repr__(self) -> str:
        return f"{self.kind}:{self.text}"


def tokenize(text: str, option: str = "$filter") -> list[_Tok]:
    """Split an expression into tokens; unknown characters → code 14."""
    tokens: list[_Tok] = []
    pos = 0
    while pos < len(text):
        m = _TOKEN_RE.match(text, pos)
        if m is None:
            raise ODataError.query_option(option)
        kind = m.lastgroup or ""
        if kind != "ws":
            tokens.append(_Tok(kind, m.group()))
        pos = m.end()
    return tokens


def _literal(tok: _Tok, option: str) -> Node:
    text = tok.text
    if tok.kind == "string":
        return ("lit", "S", text[1:-1].replace("''", "'"), text)
    if tok.kind == "number":
        body = text.rstrip("LlMmDdFf")
        suffix = text[len(body) :]
        if "." in body or "e" in body.lower() or suffix in ("M", "m", "D", "d", "F", "f"):
            return ("lit", "N", float(body), text)
        value = int(body)
        if not suffix and value > _INT32_MAX:
            raise ODataError(
                400,
                CODE_CANNOT_PARSE,
                f"Не удалось разобрать строку '{text}' как значение типа Edm.Int32!",
            )
        return ("lit", "N", value, text)
    prefix, _, rest = text.partition("'")
    raw = rest[:-1].replace("''", "'")
    if prefix == "guid":
        if not is_guid(raw):
            raise ODataError.cannot_parse(raw, "Edm.Guid")
        return ("lit", "G", raw.lower(), text)
    if prefix in ("datetime", "datetimeoffset"):
        moment = normalize_datetime(raw)
        if moment is None:
            raise ODataError.cannot_parse(raw, "Edm.DateTime")
        return ("lit", "D", moment, text)
    raise ODataError.query_option(option)


class _Parser:
    def __init__(self, text: str, option: str) -> None:
        self.option = option
        self.tokens = tokenize(text, option)
        self.pos = 0

    # helpers ---------------------------------------------------------------
    def peek(self, offset: int = 0) -> _Tok | None:
        i = self.pos + offset
        return self.tokens[i] if i < len(self.tokens) else None

    def take(self) -> _Tok:
        tok = self.peek()
        if tok is None:
            raise ODataError.query_option(self.option)
        self.pos += 1
        return tok

    def expect(self, text: str) -> None:
        tok = self.take()
        if tok.text != text:
            raise ODataError.query_option(self.option)

    def at_word(self, *words: str) -> str | None:
        tok = self.peek()
        if tok is not None and tok.kind == "ident" and tok.text in words:
            return tok.text
        return None

    def error(self) -> ODataError:
        return ODataError.query_option(self.option)

    # grammar ---------------------------------------------------------------
    def parse(self) -> Node:
        node = self.or_expr()
        if self.peek() is not None:
            raise self.error()
        return node

    def or_expr(self) -> Node:
        node = self.and_expr()
        while self.at_word("or"):
            self.take()
            node = ("op", "or", node, self.and_expr())
        return node

    def and_expr(self) -> Node:
        node = self.eq_expr()
        while self.at_word("and"):
            self.take()
            node = ("op", "and", node, self.eq_expr())
        return node

    def eq_expr(self) -> Node:
        node = self.rel_expr()
        while (op := self.at_word("eq", "ne")) is not None:
            self.take()
            node = ("op", op, node, self.rel_expr())
        return node

    def rel_expr(self) -> Node:
        node = self.add_expr()
        while (op := self.at_word("gt", "ge", "lt", "le")) is not None:
            self.take()
            node = ("op", op, node, self.add_expr())
        return node

    def add_expr(self) -> Node:
        node = self.mul_expr()
        while (op := self.at_word("add", "sub")) is not None:
            self.take()
            node = ("op", op, node, self.mul_expr())
        return node

    def mul_expr(self) -> Node:
        node = self.unary()
        while (op := self.at_word("mul", "div", "mod")) is not None:
            self.take()
            node = ("op", op, node, self.unary())
        return node

    def unary(self) -> Node:
        tok = self.peek()
        if tok is not None and tok.text == "-":
            self.take()
            return ("neg", self.unary())
        if self.at_word("not"):
            self.take()
            return ("not", self.unary())
        return self.primary()

    def primary(self) -> Node:
        tok = self.take()
        if tok.kind in ("string", "number", "typed"):
            return _literal(tok, self.option)
        if tok.text == "(":
            node = self.or_expr()
            self.expect(")")
            return node
        if tok.kind != "ident":
            raise self.error()
        if tok.text in ("true", "false"):
            return ("lit", "B", tok.text == "true", tok.text)
        if tok.text == "null":
            return ("lit", "X", None, tok.text)
        nxt = self.peek()
        if nxt is not None and nxt.text == "(":
            return self.call(tok.text)
        return self.path([tok.text])

    def call(self, name: str) -> Node:
        if name in UNSUPPORTED_FUNCTIONS:
            raise ODataError(
                400,
                CODE_QUERY_OPTION,
                f"Ошибка при разборе опции запроса {self.option}: функция {name} не поддерживается",
            )
        self.expect("(")
        args: list[Node] = []
        if self.peek() is not None and self.peek().text != ")":  # type: ignore[union-attr]
            args.append(self.or_expr())
            while self.peek() is not None and self.peek().text == ",":  # type: ignore[union-attr]
                self.take()
                args.append(self.or_expr())
        self.expect(")")
        node: Node = ("call", name, args)
        segments = self.more_segments()
        return ("member", node, segments) if segments else node

    def more_segments(self) -> list[str]:
        segments: list[str] = []
        while self.peek() is not None and self.peek().text == "/":  # type: ignore[union-attr]
            self.take()
            tok = self.take()
            if tok.kind != "ident":
                raise self.error()
            segments.append(tok.text)
        return segments

    def path(self, segments: list[str]) -> Node:
        while self.peek() is not None and self.peek().text == "/":  # type: ignore[union-attr]
            self.take()
            tok = self.take()
            if tok.kind != "ident":
                raise self.error()
            nxt = self.peek()
            if tok.text in ("any", "all") and nxt is not None and nxt.text == "(":
                return self.lambda_(segments, tok.text)
            segments.append(tok.text)
        return ("path", segments)

    def lambda_(self, segments: list[str], kind: str) -> Node:
        self.expect("(")
        if self.peek() is not None and self.peek().text == ")":  # type: ignore[union-attr]
            self.take()
            return ("lambda", segments, kind, None, None)
        var = self.take()
        if var.kind != "ident":
            raise self.error()
        self.expect(":")
        body = self.or_expr()
        self.expect(")")
        return ("lambda", segments, kind, var.text, body)


def parse_expression(text: str, option: str = "$filter") -> Node:
    """Parse a boolean/value expression (``$filter``); errors → ODataError code 14."""
    if not text.strip():
        raise ODataError.query_option(option)
    return _Parser(text, option).parse()


def parse_orderby(text: str) -> list[tuple[Node, bool]]:
    """Parse ``$orderby``: ``[(expression, descending), ...]``."""
    parser = _Parser(text, "$orderby")
    items: list[tuple[Node, bool]] = []
    while True:
        node = parser.add_expr()
        descending = False
        word = parser.at_word("asc", "desc")
        if word is not None:
            parser.take()
            descending = word == "desc"
        items.append((node, descending))
        tok = parser.peek()
        if tok is None:
            break
        if tok.text != ",":
            raise parser.error()
        parser.take()
    return items
