"""PHP-style query strings, the encoding Bitrix24 expects inside ``batch`` commands.

``{"filter": {">=DATE": "2025-01-01", "@ID": [1, 2]}}`` becomes
``filter%5B%3E%3DDATE%5D=2025-01-01&filter%5B%40ID%5D%5B0%5D=1&…``. Operator prefixes
survive because keys are percent-encoded like values; ``None`` travels as an empty
string (PHP's ``http_build_query`` would drop it); an empty list as ``key[]=`` so the
key still reaches methods that need it (bitrix24.md §4).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any
from urllib.parse import quote


def _scalar(value: Any) -> str:
    if value is None:
        return ""
    if value is True:
        return "1"
    if value is False:
        return "0"
    return str(value)


def _pairs(prefix: str, value: Any) -> Iterator[tuple[str, str]]:
    if isinstance(value, Mapping):
        if not value:
            yield f"{prefix}[]", ""
        for key, item in value.items():
            yield from _pairs(f"{prefix}[{key}]", item)
    elif isinstance(value, list | tuple):
        if not value:
            yield f"{prefix}[]", ""
        for index, item in enumerate(value):
            yield from _pairs(f"{prefix}[{index}]", item)
    else:
        yield prefix, _scalar(value)


def php_query(params: Mapping[str, Any]) -> str:
    """Encode ``params`` as a PHP-bracket query string (keys and values percent-encoded)."""
    parts = []
    for key, value in params.items():
        for name, text in _pairs(str(key), value):
            parts.append(f"{quote(name, safe='')}={quote(text, safe='')}")
    return "&".join(parts)


def command(method: str, params: Mapping[str, Any] | None = None) -> str:
    """One ``batch`` command: ``method?query``.

    ``$result[...]`` references must reach the portal unencoded, so a value that is
    exactly such a reference is written raw.
    """
    if not params:
        return method
    query = php_query(params)
    # Undo the encoding of "$result[...]" references so the portal can substitute them.
    query = _unquote_references(query)
    return f"{method}?{query}"


def _unquote_references(query: str) -> str:
    marker = quote("$result[", safe="")
    if marker not in query:
        return query
    out = []
    for part in query.split("&"):
        name, _, value = part.partition("=")
        if value.startswith(marker):
            value = value.replace("%24", "$").replace("%5B", "[").replace("%5D", "]")
        out.append(f"{name}={value}")
    return "&".join(out)


def php_decode(pairs: Iterable[tuple[str, str]]) -> dict[str, Any]:
    """Rebuild nested data from PHP-bracket pairs: ``auth[member_id]=…`` → ``{"auth": {…}}``.

    Event payloads arrive this way (bitrix24.md §7.3). ``key[]`` appends; values stay
    strings, as the portal sent them.
    """
    root: dict[str, Any] = {}
    for name, value in pairs:
        head, bracket, rest = name.partition("[")
        keys = [head]
        if bracket:
            keys += rest[:-1].split("][") if rest.endswith("]") else [rest]
        node: Any = root
        for index, key in enumerate(keys):
            last = index == len(keys) - 1
            if key == "" and isinstance(node, dict):
                key = str(len(node))
            if last:
                node[key] = value
            else:
                child = node.get(key)
                if not isinstance(child, dict):
                    child = {}
                    node[key] = child
                node = child
    return root
