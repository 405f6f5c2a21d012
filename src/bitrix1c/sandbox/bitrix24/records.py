"""Shared machinery of the CRM method handlers: parameters, paging, field output."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from .errors import crm_error
from .filters import Query
from .params import get_ci, php_int
from .store import Store
from .values import to_wire

PAGE_SIZE = 50
UF_NAME = re.compile(r"^UF_CRM_[A-Z0-9_]+$")


@dataclass
class Context:
    """Who is calling: the acting user and, for OAuth calls, the application."""

    user_id: int
    client_id: str | None = None  # None → incoming webhook
    # Events a handler raises beyond the add/update/delete one of its method.
    raised: list[tuple[str, dict[str, Any]]] = field(default_factory=list)


@dataclass
class Page:
    """One page of a list method: items plus ``total``/``next`` bookkeeping."""

    items: list[dict[str, Any]]
    total: int | None  # None → counting skipped (start = -1)
    next: int | None

    def reply(self) -> dict[str, Any]:
        """``{"result": […], "next": N, "total": N}`` — key order of a real portal."""
        body: dict[str, Any] = {"result": self.items}
        if self.next is not None:
            body["next"] = self.next
        body["total"] = self.total if self.total is not None else 0
        return body


def fields_param(params: dict[str, Any], name: str = "fields") -> dict[str, Any]:
    """The ``fields`` object of add/update (``[]`` from PHP means an empty object)."""
    value = get_ci(params, name)
    if isinstance(value, list) and not value:
        return {}
    if isinstance(value, list):
        return {str(i): v for i, v in enumerate(value)}
    if not isinstance(value, dict):
        raise crm_error(f"Parameter '{name}' must be array.")
    return value


def id_param(params: dict[str, Any], message: str = "ID is not defined or invalid.") -> int:
    """Positive integer ``id``/``ID`` or the classic error."""
    record_id = php_int(get_ci(params, "id"), 0)
    if record_id <= 0:
        raise crm_error(message)
    return record_id


def start_param(params: dict[str, Any]) -> int:
    """``start`` paging offset; negative means "do not count" (fast method)."""
    return php_int(get_ci(params, "start"), 0)


def select_list(value: Any) -> list[str]:
    """Normalize ``select`` into non-empty names (case kept: field names are case-sensitive)."""
    if value is None or value == "":
        return []
    if isinstance(value, str):
        items: list[Any] = [value]
    elif isinstance(value, dict):
        items = list(value.values())
    elif isinstance(value, list):
        items = value
    else:
        items = [value]
    return [str(v).strip() for v in items if str(v).strip()]


def fetch_page(
    store: Store, table: str, query: Query, start: int
) -> tuple[list[tuple[int, dict[str, Any]]], Page]:
    """Run a compiled list query for one 50-row page.

    Returns the raw ``(id, data)`` rows and a :class:`Page` whose ``items`` the
    caller fills in.
    """
    offset = max(start, 0)
    where = query.where_sql()
    rows = store.query(
        f"SELECT t.id, t.data FROM {table} t{where} ORDER BY {query.order} LIMIT ? OFFSET ?",
        [*query.args, PAGE_SIZE, offset],
    )
    raw = [(int(r[0]), json.loads(r[1])) for r in rows]
    if start < 0:
        return raw, Page([], None, None)
    total = int(store.query(f"SELECT COUNT(*) FROM {table} t{where}", query.args)[0][0])
    nxt = offset + PAGE_SIZE if offset + PAGE_SIZE < total else None
    return raw, Page([], total, nxt)


def render(record_id: int, data: dict[str, Any], names: list[str]) -> dict[str, Any]:
    """Wire form of a record restricted to ``names`` (``ID`` rendered from the row id)."""
    out: dict[str, Any] = {}
    for name in names:
        out[name] = str(record_id) if name == "ID" else to_wire(data.get(name))
    return out


def user_field_updates(entity: str, store: Store, fields: dict[str, Any]) -> dict[str, Any]:
    """``UF_*`` values from ``fields`` (registered on first use, like a configured portal)."""
    updates: dict[str, Any] = {}
    for key, value in fields.items():
        if isinstance(key, str) and UF_NAME.match(key):
            if not store.register_user_field(entity, key):
                continue
            if isinstance(value, list):
                updates[key] = [to_text(v) for v in value]
            else:
                updates[key] = to_text(value)
    return updates


def to_text(value: Any) -> Any:
    """Scalar → stored text (``None`` stays ``None``; booleans as ``1``/``0``)."""
    if value is None or isinstance(value, dict):
        return value
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)
