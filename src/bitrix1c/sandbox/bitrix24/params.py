"""Request-parameter decoding the way PHP (and therefore Bitrix24) does it.

Bitrix24 reads its parameters from ``$_REQUEST``: query string and form body are
decoded by PHP's ``parse_str`` rules, so ``fields[TITLE]=x`` becomes a nested
array, ``select[]=ID`` appends to a list and ``filter[>ID]=5`` keeps the operator
prefix inside the key.  JSON bodies arrive already structured.  This module turns
both into plain Python values (``dict`` / ``list`` / ``str`` / numbers) with the
JSON semantics a PHP ``json_encode`` would give: an array whose keys are exactly
``0..n-1`` becomes a list, anything else a dict with string keys.
"""

from __future__ import annotations

import base64
import email.parser
import email.policy
import json
import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import parse_qsl

_INT_KEY = re.compile(r"^(0|-?[1-9][0-9]*)$")
_MISSING = object()


class _PhpArray:
    """An ordered PHP array under construction (int or str keys, ``[]`` appends)."""

    __slots__ = ("items", "next_index")

    def __init__(self) -> None:
        self.items: dict[int | str, Any] = {}
        self.next_index = 0

    def key(self, raw: str) -> int | str:
        if raw == "":
            key: int | str = self.next_index
        elif _INT_KEY.match(raw):
            key = int(raw)
        else:
            key = raw
        if isinstance(key, int) and key >= self.next_index:
            self.next_index = key + 1
        return key


def _split_key(name: str) -> list[str] | None:
    """Split ``a[b][][c]`` into ``["a", "b", "", "c"]`` (PHP rules, simplified)."""
    bracket = name.find("[")
    if bracket <= 0:
        return [name] if name else None
    head = name[:bracket]
    parts = [head]
    rest = name[bracket:]
    while rest.startswith("["):
        close = rest.find("]")
        if close < 0:
            # PHP keeps an unterminated bracket literally in the top-level name.
            return [name] if len(parts) == 1 else parts
        parts.append(rest[1:close])
        rest = rest[close + 1 :]
    return parts


def _finish(value: Any) -> Any:
    """Convert finished ``_PhpArray`` trees into lists / dicts."""
    if not isinstance(value, _PhpArray):
        return value
    keys = list(value.items)
    converted = {k: _finish(v) for k, v in value.items.items()}
    if keys == list(range(len(keys))):
        return [converted[k] for k in keys]
    return {str(k): v for k, v in converted.items()}


def decode_pairs(pairs: Iterable[tuple[str, Any]]) -> dict[str, Any]:
    """Build a parameter tree from ``(name, value)`` pairs using PHP bracket rules."""
    root = _PhpArray()
    for name, value in pairs:
        parts = _split_key(name)
        if not parts:
            continue
        node = root
        for depth, raw in enumerate(parts):
            key = node.key(raw) if depth else parts[0]
            last = depth == len(parts) - 1
            if last:
                node.items[key] = value
                break
            child = node.items.get(key, _MISSING)
            if not isinstance(child, _PhpArray):
                child = _PhpArray()
                node.items[key] = child
            node = child
    result = _finish(root)
    if isinstance(result, list):  # numeric top-level keys only — keep as mapping
        return {str(i): v for i, v in enumerate(result)}
    return dict(result)


def parse_query(query: str) -> dict[str, Any]:
    """Decode a URL query string (``a[b]=1&c[]=2``) into a parameter tree."""
    return decode_pairs(parse_qsl(query, keep_blank_values=True))


def parse_multipart(body: bytes, content_type: str) -> dict[str, Any]:
    """Decode a ``multipart/form-data`` body.

    File parts become ``[filename, base64-content]`` — the ``fileData`` shape
    Bitrix24 accepts for file fields.
    """
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode()
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + body)
    pairs: list[tuple[str, Any]] = []
    if not message.is_multipart():
        return {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str):
            continue
        payload = part.get_payload(decode=True)
        raw = payload if isinstance(payload, bytes) else b""
        filename = part.get_filename()
        if filename:
            pairs.append((name, [filename, base64.b64encode(raw).decode("ascii")]))
        else:
            charset = part.get_content_charset() or "utf-8"
            pairs.append((name, raw.decode(charset, errors="replace")))
    return decode_pairs(pairs)


def parse_body(body: bytes, content_type: str) -> dict[str, Any]:
    """Decode a request body by its content type (JSON, urlencoded or multipart)."""
    if not body:
        return {}
    kind = content_type.split(";", 1)[0].strip().lower()
    if kind == "multipart/form-data":
        return parse_multipart(body, content_type)
    if kind == "application/json" or (not kind and body.lstrip()[:1] in (b"{", b"[")):
        try:
            data = json.loads(body)
        except ValueError:
            return {}
        if isinstance(data, dict):
            return data
        return {}
    return parse_query(body.decode("utf-8", errors="replace"))


def php_truthy(value: Any) -> bool:
    """PHP truthiness: ``""``, ``"0"``, ``0``, empty arrays and ``null`` are false."""
    if value is None or value is False:
        return False
    if isinstance(value, str):
        return value not in ("", "0")
    if isinstance(value, int | float):
        return value != 0
    if isinstance(value, list | dict):
        return bool(value)
    return True


def php_int(value: Any, default: int = 0) -> int:
    """PHP ``(int)`` cast: leading digits of a string, ``default`` when nothing parses."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value)
    if isinstance(value, str):
        match = re.match(r"\s*([+-]?\d+)", value)
        if match:
            return int(match.group(1))
    return default


def get_ci(params: dict[str, Any], name: str) -> Any:
    """Read a top-level parameter case-insensitively (Bitrix accepts ``ID``/``id``)."""
    if name in params:
        return params[name]
    lowered = name.lower()
    for key, value in params.items():
        if key.lower() == lowered:
            return value
    return None
