"""``crm.<company|contact|deal>.userfield.{add,get,list,update,delete}``.

Facts (method specs; bitrix24.md §6.2): ``FIELD_NAME`` always gets the ``UF_CRM_``
prefix (``NOTE`` → ``UF_CRM_NOTE``, ``UF_NOTE`` → ``UF_CRM_NOTE``), at most 50
characters in all; ``USER_TYPE_ID`` is required; ``LABEL`` fills every label that is
not given; ``add`` answers the new id, ``update``/``delete`` ``true``; ``list`` prints
labels as strings, ``get`` as per-language maps.  Once deleted, a field disappears
from ``crm.*.fields`` and later writes of it are ignored like any unknown key.
"""

from __future__ import annotations

import json
import re
from typing import Any

from .errors import crm_error
from .params import get_ci, php_int
from .records import Context, fields_param, id_param
from .store import Store

_LANGUAGES = (
    "ar", "br", "de", "en", "fr", "hi", "id", "in", "it", "ja", "kz",
    "la", "ms", "pl", "ru", "sc", "tc", "th", "tr", "ua", "vn",
)  # fmt: skip
_LABELS = (
    "EDIT_FORM_LABEL",
    "LIST_COLUMN_LABEL",
    "LIST_FILTER_LABEL",
    "ERROR_MESSAGE",
    "HELP_MESSAGE",
)
_TYPES = {
    "string", "integer", "double", "boolean", "datetime", "date", "money", "url", "address",
    "enumeration", "file", "employee", "crm_status", "iblock_section", "iblock_element", "crm",
    "resourcebooking",
}  # fmt: skip
_FLAGS = {
    "MULTIPLE": "N",
    "MANDATORY": "N",
    "SHOW_FILTER": "N",
    "SHOW_IN_LIST": "Y",
    "EDIT_IN_LIST": "Y",
    "IS_SEARCHABLE": "N",
}
_DEFAULT_SETTINGS: dict[str, dict[str, Any]] = {
    "string": {
        "SIZE": 20,
        "ROWS": 1,
        "REGEXP": "",
        "MIN_LENGTH": 0,
        "MAX_LENGTH": 0,
        "DEFAULT_VALUE": "",
    },
    "integer": {"SIZE": 20, "MIN_VALUE": 0, "MAX_VALUE": 0, "DEFAULT_VALUE": None},
    "double": {"PRECISION": 2, "SIZE": 20, "MIN_VALUE": 0, "MAX_VALUE": 0, "DEFAULT_VALUE": None},
    "boolean": {"DEFAULT_VALUE": 0, "DISPLAY": "CHECKBOX", "LABEL": ["", ""]},
    "enumeration": {
        "DISPLAY": "LIST",
        "LIST_HEIGHT": 1,
        "CAPTION_NO_VALUE": "",
        "SHOW_NO_VALUE": "Y",
    },
}
_CODE = re.compile(r"^[A-Z0-9_]+$")
MAX_NAME = 50


def full_name(raw: str) -> str:
    """``NOTE`` / ``UF_NOTE`` / ``UF_CRM_NOTE`` → ``UF_CRM_NOTE``."""
    name = raw.strip().upper()
    if name.startswith("UF_CRM_"):
        return name
    if name.startswith("UF_"):
        return "UF_CRM_" + name[3:]
    return "UF_CRM_" + name


def _flag(value: Any) -> str:
    if isinstance(value, bool):
        return "Y" if value else "N"
    text = str(value).strip().upper()
    return "Y" if text in ("Y", "1", "TRUE") else "N"


def _label_text(value: Any) -> str | None:
    if isinstance(value, dict):
        text = value.get("ru") or value.get("en") or next(iter(value.values()), None)
        return None if text is None else str(text)
    return None if value in (None, "") else str(value)


class UserFields:
    """User-field methods of one entity (``company`` → ``CRM_COMPANY``)."""

    def __init__(self, store: Store, entity: str) -> None:
        self.store = store
        self.entity = entity
        self.entity_id = f"CRM_{entity.upper()}"

    # -- storage ----------------------------------------------------------------------
    def _load(self, field_id: int) -> dict[str, Any]:
        rows = self.store.query(
            "SELECT data FROM user_field_def WHERE id = ? AND entity = ?", (field_id, self.entity)
        )
        if not rows:
            raise crm_error(f"The entity with ID '{field_id}' is not found.")
        data: dict[str, Any] = json.loads(rows[0][0])
        return data

    def _save(self, field_id: int, data: dict[str, Any]) -> None:
        self.store.execute(
            "UPDATE user_field_def SET data = ? WHERE id = ?",
            (json.dumps(data, ensure_ascii=False), field_id),
        )

    def _list_items(self, raw: Any, current: list[dict[str, Any]]) -> list[dict[str, Any]]:
        items = list(raw.values()) if isinstance(raw, dict) else raw
        if not isinstance(items, list):
            return current
        by_id = {item["ID"]: item for item in current}
        next_id = int(self.store.get_meta("uf_enum_id") or "0")
        for entry in items:
            if not isinstance(entry, dict):
                continue
            enum_id = str(php_int(entry.get("ID"), 0) or "")
            if enum_id and enum_id in by_id:
                if _flag(entry.get("DEL", "N")) == "Y":
                    del by_id[enum_id]
                    continue
                target = by_id[enum_id]
            elif entry.get("VALUE") not in (None, ""):
                next_id += 1
                enum_id = str(next_id)
                target = {"ID": enum_id, "SORT": "500", "VALUE": "", "DEF": "N", "XML_ID": ""}
                by_id[enum_id] = target
            else:
                continue
            for key in ("VALUE", "SORT", "XML_ID"):
                if key in entry:
                    target[key] = str(entry[key])
            if "DEF" in entry:
                target["DEF"] = _flag(entry["DEF"])
            if not target["XML_ID"]:
                target["XML_ID"] = f"{enum_id:0>32}"[-32:]
        self.store.set_meta("uf_enum_id", str(next_id))
        return sorted(by_id.values(), key=lambda i: (php_int(i["SORT"]), php_int(i["ID"])))

    def _apply(self, data: dict[str, Any], fields: dict[str, Any]) -> None:
        label = _label_text(fields.get("LABEL"))
        for key in _LABELS:
            if key in fields:
                data[key] = _label_text(fields[key])
            elif label is not None and (key.endswith("_LABEL") or data.get(key) is None):
                data[key] = label if key.endswith("_LABEL") else data.get(key)
        for key in ("SHOW_FILTER", "SHOW_IN_LIST", "EDIT_IN_LIST", "IS_SEARCHABLE", "MANDATORY"):
            if key in fields:
                data[key] = str(fields[key]).upper() if key == "SHOW_FILTER" else _flag(fields[key])
        if "SORT" in fields:
            data["SORT"] = str(php_int(fields["SORT"], 100))
        if "XML_ID" in fields:
            data["XML_ID"] = None if fields["XML_ID"] in (None, "") else str(fields["XML_ID"])
        if isinstance(fields.get("SETTINGS"), dict):
            data["SETTINGS"] = {**data.get("SETTINGS", {}), **fields["SETTINGS"]}
        if data["USER_TYPE_ID"] == "enumeration" and "LIST" in fields:
            data["LIST"] = self._list_items(fields["LIST"], data.get("LIST", []))

    # -- methods ----------------------------------------------------------------------
    def add(self, params: dict[str, Any], ctx: Context) -> dict[str, Any]:
        """Create a field → ``{"result": <id>}``."""
        fields = fields_param(params)
        type_id = str(fields.get("USER_TYPE_ID") or "").strip()
        raw_name = str(fields.get("FIELD_NAME") or "").strip()
        if not type_id:
            raise crm_error("The 'USER_TYPE_ID' field is not specified.")
        if type_id not in _TYPES:
            raise crm_error(f"The user type '{type_id}' is not supported.")
        if not raw_name:
            raise crm_error("The 'FIELD_NAME' field is not specified.")
        name = full_name(raw_name)
        if not _CODE.match(name) or len(name) > MAX_NAME:
            raise crm_error(f"Invalid field name '{name}'.")
        data: dict[str, Any] = {
            "ID": "",
            "ENTITY_ID": self.entity_id,
            "FIELD_NAME": name,
            "USER_TYPE_ID": type_id,
            "XML_ID": None,
            "SORT": "100",
            **_FLAGS,
            "MULTIPLE": _flag(fields.get("MULTIPLE", "N")),
            "SETTINGS": dict(_DEFAULT_SETTINGS.get(type_id, {})),
            **dict.fromkeys(_LABELS),
        }
        self._apply(data, fields)
        with self.store.transaction():
            if self.store.query(
                "SELECT 1 FROM user_field_def WHERE entity = ? AND name = ?", (self.entity, name)
            ):
                raise crm_error(f"A field with the name '{name}' already exists.")
            field_id = self.store.execute(
                "INSERT INTO user_field_def (entity, name, data) VALUES (?, ?, '{}')",
                (self.entity, name),
            )
            data["ID"] = str(field_id)
            self._save(field_id, data)
            self.store.restore_user_field(self.entity, name)
        return {"result": field_id}

    def get(self, params: dict[str, Any], ctx: Context) -> dict[str, Any]:
        """One field; labels as per-language maps."""
        data = self._load(id_param(params))
        for key in _LABELS:
            value = data.get(key)
            data[key] = {lang: value or "" for lang in _LANGUAGES}
        return {"result": data}

    def list_items(self, params: dict[str, Any], ctx: Context) -> dict[str, Any]:
        """Fields of the entity, filtered by exact values, ordered (``SORT``/``ID``…)."""
        items = list(self.store.user_field_definitions(self.entity).values())
        filter_ = get_ci(params, "filter")
        if isinstance(filter_, dict):
            for key, value in filter_.items():
                name = str(key).upper()
                if name in ("LANG", "ENTITY_ID"):
                    continue
                items = [i for i in items if str(i.get(name)) == str(value)]
        order = get_ci(params, "order")
        keys = list(order.items()) if isinstance(order, dict) and order else [("SORT", "ASC")]
        items.sort(key=lambda i: php_int(i["ID"]))
        for key, direction in reversed(keys):
            name = str(key).upper()
            numeric = name in ("ID", "SORT")

            def sort_key(i: dict[str, Any], name: str = name, numeric: bool = numeric) -> Any:
                return php_int(i.get(name)) if numeric else str(i.get(name) or "")

            items.sort(key=sort_key, reverse=str(direction).upper() == "DESC")
        return {"result": items, "total": len(items)}

    def update(self, params: dict[str, Any], ctx: Context) -> dict[str, Any]:
        """Change labels, flags, settings or list items → ``true`` (name/type are fixed)."""
        field_id = id_param(params)
        fields = fields_param(params)
        with self.store.transaction():
            data = self._load(field_id)
            self._apply(data, fields)
            self._save(field_id, data)
        return {"result": True}

    def delete(self, params: dict[str, Any], ctx: Context) -> dict[str, Any]:
        """Remove the field and its values → ``true``."""
        field_id = id_param(params)
        with self.store.transaction():
            data = self._load(field_id)
            self.store.execute("DELETE FROM user_field_def WHERE id = ?", (field_id,))
            self.store.drop_user_field(self.entity, data["FIELD_NAME"])
        return {"result": True}


def userfield_methods(store: Store, entity: str) -> dict[str, Any]:
    """``crm.<entity>.userfield.*`` handlers."""
    fields = UserFields(store, entity)
    prefix = f"crm.{entity}.userfield"
    return {
        f"{prefix}.add": fields.add,
        f"{prefix}.get": fields.get,
        f"{prefix}.list": fields.list_items,
        f"{prefix}.update": fields.update,
        f"{prefix}.delete": fields.delete,
    }
