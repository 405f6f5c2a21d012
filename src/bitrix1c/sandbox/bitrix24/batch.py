"""The ``batch`` method (EN:settings/how-to-call-rest-api/batch.md).

``cmd`` is an object or array of ``"method?query-string"`` strings (PHP-bracket
encoded), at most 50; commands run sequentially and may reference earlier results
with ``$result[key][FIELD]``, ``$result[key]`` or ``$result[key][0][ID]`` (also
``$result_total`` / ``$result_next``).  The reply keeps five sections —
``result``, ``result_error``, ``result_total``, ``result_next``, ``result_time`` —
where an empty section is ``[]`` and array-form commands are keyed by position,
as PHP's ``json_encode`` prints them.  ``halt=1`` stops at the first failure.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any

from .errors import RestError, batch_length_exceeded, batch_method_not_allowed
from .limits import time_block
from .params import get_ci, parse_query, php_truthy

MAX_COMMANDS = 50

Execute = Callable[[str, dict[str, Any]], dict[str, Any]]
OperatingView = Callable[[], tuple[float, int] | None]

_REFERENCE = re.compile(
    r"\$(result_total|result_next|result_error|result_time|result)((?:\[[^\]]*\])+)"
)
_INT_KEY = re.compile(r"^(0|-?[1-9][0-9]*)$")
_UNRESOLVED = object()


def _php_key(key: Any) -> int | str:
    """PHP array-key normalization: canonical integer strings become integers."""
    if isinstance(key, int):
        return key
    text = str(key)
    return int(text) if _INT_KEY.match(text) else text


def _section(entries: dict[int | str, Any]) -> Any:
    """Render a section the way PHP's json_encode prints the array."""
    if not entries:
        return []
    keys = list(entries)
    if keys == list(range(len(keys))):
        return [entries[k] for k in keys]
    return {str(k): v for k, v in entries.items()}


def split_command(command: Any) -> tuple[str, str]:
    """``"crm.company.add?fields[TITLE]=X"`` → ``("crm.company.add", "fields[TITLE]=X")``."""
    text = str(command).strip()
    method, _, query = text.partition("?")
    return method.strip(), query


class _Resolver:
    """Substitutes ``$result[...]`` references with earlier results."""

    def __init__(self, sections: dict[str, dict[int | str, Any]]) -> None:
        self.sections = sections

    def _lookup(self, section: str, path: str) -> Any:
        keys = re.findall(r"\[([^\]]*)\]", path)
        node: Any = self.sections.get(section, {})
        for index, raw in enumerate(keys):
            key: int | str = _php_key(raw) if index == 0 else raw
            if isinstance(node, dict):
                if key in node:
                    node = node[key]
                elif str(key) in node:
                    node = node[str(key)]
                elif _INT_KEY.match(str(key)) and int(str(key)) in node:
                    node = node[int(str(key))]
                else:
                    return _UNRESOLVED
            elif isinstance(node, list) and _INT_KEY.match(str(key)):
                position = int(str(key))
                if not 0 <= position < len(node):
                    return _UNRESOLVED
                node = node[position]
            else:
                return _UNRESOLVED
        return node

    def substitute(self, value: Any) -> Any:
        """Resolve references inside strings of a (nested) parameter value."""
        if isinstance(value, dict):
            return {k: self.substitute(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.substitute(v) for v in value]
        if not isinstance(value, str) or "$result" not in value:
            return value
        whole = _REFERENCE.fullmatch(value)
        if whole:
            found = self._lookup(whole.group(1), whole.group(2))
            return "" if found is _UNRESOLVED else found

        def repl(match: re.Match[str]) -> str:
            found = self._lookup(match.group(1), match.group(2))
            if found is _UNRESOLVED or found is None:
                return ""
            if isinstance(found, bool):
                return "1" if found else ""
            return str(found)

        return _REFERENCE.sub(repl, value)


def run_batch(params: dict[str, Any], execute: Execute, operating: OperatingView) -> dict[str, Any]:
    """Execute a ``batch`` call; ``execute(method, params)`` runs one sub-call."""
    raw_cmd = get_ci(params, "cmd")
    halt = php_truthy(get_ci(params, "halt"))
    if isinstance(raw_cmd, list):
        commands: list[tuple[int | str, Any]] = list(enumerate(raw_cmd))
    elif isinstance(raw_cmd, dict):
        commands = [(_php_key(k), v) for k, v in raw_cmd.items()]
    else:
        commands = []
    if len(commands) > MAX_COMMANDS:
        raise batch_length_exceeded()
    parsed = [(key, *split_command(command)) for key, command in commands]
    for _, method, _ in parsed:
        if method.lower().removesuffix(".json") == "batch":
            raise batch_method_not_allowed()

    sections: dict[str, dict[int | str, Any]] = {
        "result": {},
        "result_error": {},
        "result_total": {},
        "result_next": {},
        "result_time": {},
    }
    resolver = _Resolver(sections)
    for key, method, query in parsed:
        sub_params = resolver.substitute(parse_query(query))
        start = time.time()
        began = time.perf_counter()
        try:
            reply = execute(method, sub_params)
        except RestError as error:
            sections["result_error"][key] = error.body()
            if halt:
                break
            continue
        processing = time.perf_counter() - began
        sections["result"][key] = reply.get("result")
        if "total" in reply:
            sections["result_total"][key] = reply["total"]
        if "next" in reply:
            sections["result_next"][key] = reply["next"]
        sections["result_time"][key] = time_block(start, time.time(), processing, operating())
    return {"result": {name: _section(entries) for name, entries in sections.items()}}
