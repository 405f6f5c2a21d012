"""``crm.duplicate.findbycomm`` and ``crm.timeline.comment.add``.

Facts (bitrix24.md §6.2): ``findbycomm {type: EMAIL|PHONE, values[≤20], entity_type?}``
→ ``{"CONTACT": [ids], "COMPANY": [ids]}`` (an empty PHP array when nothing matches);
phones compare by their digits, an extension is ignored; once a type has 20 hits the
other types are not searched; errors carry free text in ``error``
("Communication type is not defined").  A timeline comment is
``{fields: {ENTITY_ID, ENTITY_TYPE, COMMENT, AUTHOR_ID?}}`` → the new id; since
crm 23.100 only the lower-case ``fields`` key is accepted.
"""

from __future__ import annotations

import json
import re
import weakref
from typing import Any

from .errors import RestError, crm_error
from .params import get_ci, php_int
from .records import Context
from .store import Store
from .values import now_iso

MAX_VALUES = 20
_TABLES = {"CONTACT": "contact", "COMPANY": "company"}
_EXTENSION = re.compile(r"(?:доб|ext|x|#)\.?\s*\d+\s*$", re.IGNORECASE)
_COMMENT_OWNERS = {"deal": "deal", "contact": "contact", "company": "company"}

_SCHEMA = """
CREATE TABLE IF NOT EXISTS timeline_comment (
    id INTEGER PRIMARY KEY AUTOINCREMENT, entity_type TEXT NOT NULL, entity_id INTEGER NOT NULL,
    data TEXT NOT NULL
);
"""


def phone_digits(value: str) -> str:
    """Digits of a phone number without its extension."""
    return re.sub(r"\D", "", _EXTENSION.sub("", value))


_INDEXES: weakref.WeakKeyDictionary[Store, dict[tuple[str, str], tuple[int, dict[str, set[int]]]]]
_INDEXES = weakref.WeakKeyDictionary()


def _comm_index(store: Store, entity: str, kind: str) -> dict[str, set[int]]:
    """Owners by comparison key of one entity's phones or e-mails.

    Built from the multi-field table and kept until the next write on the store's
    connection (``total_changes``), so the commands of one batch share one scan —
    a real portal looks duplicates up in an index, not by reading every phone.
    """
    cache = _INDEXES.setdefault(store, {})
    with store.lock:
        version = store.conn.total_changes
        known = cache.get((entity, kind))
        if known is not None and known[0] == version:
            return known[1]
        rows = store.query(
            "SELECT DISTINCT entity_id, value FROM fm WHERE entity = ? AND type_id = ?",
            (entity, kind),
        )
    index: dict[str, set[int]] = {}
    for owner, value in rows:
        key = phone_digits(value) if kind == "PHONE" else str(value).strip().lower()
        index.setdefault(key, set()).add(int(owner))
    cache[(entity, kind)] = (version, index)
    return index


def find_by_comm(store: Store, params: dict[str, Any], ctx: Context) -> dict[str, Any]:
    """``crm.duplicate.findbycomm``."""
    kind = str(get_ci(params, "type") or "").upper()
    if kind not in ("EMAIL", "PHONE"):
        raise RestError(400, "Communication type is not defined", "")
    raw = get_ci(params, "values")
    values = list(raw.values()) if isinstance(raw, dict) else raw
    if not isinstance(values, list) or not values:
        raise RestError(400, "Communication values is not defined", "")
    if len(values) > MAX_VALUES:
        raise RestError(400, f"Too many communication values. Maximum is {MAX_VALUES}", "")
    wanted_type = str(get_ci(params, "entity_type") or "").upper()
    types = [t for t in _TABLES if not wanted_type or t == wanted_type]
    if kind == "PHONE":
        keys = {phone_digits(str(v)) for v in values} - {""}
    else:
        keys = {str(v).strip().lower() for v in values} - {""}
    found: dict[str, list[int]] = {}
    for type_name in types:
        index = _comm_index(store, _TABLES[type_name], kind)
        ids = sorted({owner for key in keys for owner in index.get(key, ())})
        if ids:
            found[type_name] = ids
        if len(ids) >= MAX_VALUES:
            break
    return {"result": found or []}


class TimelineComments:
    """Comments in the timeline of a deal, contact or company."""

    def __init__(self, store: Store) -> None:
        self.store = store
        store.conn.executescript(_SCHEMA)

    def add(self, params: dict[str, Any], ctx: Context) -> dict[str, Any]:
        """``crm.timeline.comment.add`` → the new comment's id."""
        fields = params.get("fields")
        if not isinstance(fields, dict):
            raise crm_error("Parameter 'fields' must be array.")
        entity_type = str(fields.get("ENTITY_TYPE") or "").lower()
        entity_id = php_int(fields.get("ENTITY_ID"), 0)
        table = _COMMENT_OWNERS.get(entity_type)
        if table is None or entity_id <= 0:
            raise crm_error("Could not find owner.")
        if self.store.load(table, entity_id) is None:
            raise crm_error("Could not find owner.")
        comment = str(fields.get("COMMENT") or "").strip()
        if not comment:
            raise crm_error("Empty comment message.")
        data = {
            "CREATED": now_iso(),
            "ENTITY_ID": entity_id,
            "ENTITY_TYPE": entity_type,
            "AUTHOR_ID": php_int(fields.get("AUTHOR_ID"), ctx.user_id) or ctx.user_id,
            "COMMENT": comment,
        }
        comment_id = self.store.execute(
            "INSERT INTO timeline_comment (entity_type, entity_id, data) VALUES (?, ?, ?)",
            (entity_type, entity_id, json.dumps(data, ensure_ascii=False)),
        )
        return {"result": comment_id}

    def list_items(self, params: dict[str, Any], ctx: Context) -> dict[str, Any]:
        """``crm.timeline.comment.list {filter: {ENTITY_ID, ENTITY_TYPE}}``."""
        filter_ = get_ci(params, "filter")
        if not isinstance(filter_, dict):
            filter_ = {}
        rows = self.store.query(
            "SELECT id, data FROM timeline_comment WHERE entity_type = ? AND entity_id = ? "
            "ORDER BY id DESC",
            (
                str(filter_.get("ENTITY_TYPE") or "").lower(),
                php_int(filter_.get("ENTITY_ID"), 0),
            ),
        )
        items = []
        for comment_id, data in rows:
            record = json.loads(data)
            items.append(
                {
                    "ID": str(comment_id),
                    "CREATED": record["CREATED"],
                    "ENTITY_ID": str(record["ENTITY_ID"]),
                    "ENTITY_TYPE": record["ENTITY_TYPE"],
                    "AUTHOR_ID": str(record["AUTHOR_ID"]),
                    "COMMENT": record["COMMENT"],
                    "FILES": [],
                }
            )
        return {"result": items, "total": len(items)}
