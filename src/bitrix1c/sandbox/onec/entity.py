"""Building and changing stored entities the way the 1C OData layer does on write.

Entities are kept in their *wire* form — the JSON a real base would answer with
(``Edm.Int64`` and ``LineNumber`` as strings, dates ``yyyy-mm-ddThh:mm:ss`` without zone,
empty references as the zero GUID) — so that reads only project and serialise.

Write rules (platform documentation 17.4.13 and live probes of a УТ 11 base):

* unknown properties are ignored; over-long strings are silently cut to the attribute
  length; a string that is not a GUID/boolean/date for such a property is refused with
  code 1 (HTTP 400) and the value is echoed;
* a tabular section is replaced as a whole; every row needs ``LineNumber`` (missing →
  HTTP 500) and the numbers must be exactly 1..n (otherwise HTTP 400);
* ``DataVersion`` is an 8-byte big-endian counter in base64, 0 after creation and +1 on
  every write, even when nothing changed.
"""

from __future__ import annotations

import base64
import re
import uuid
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from .errors import CODE_BAD_VALUE, CODE_DUPLICATE_KEY, ODataError
from .schema import EMPTY_DATE, EMPTY_REF, EntitySetDef, Prop, Schema, TabularSection

__all__ = [
    "EntityFactory",
    "data_version",
    "data_version_number",
    "is_guid",
    "normalize_datetime",
]

_GUID_RE = re.compile(
    r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
)
_DATE_RE = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?)?"
    r"(?:Z|[+-]\d{2}:?\d{2})?$"
)
UNDEFINED_TYPE = "StandardODATA.Undefined"
_REF_PROTECTED = frozenset({"Ref_Key", "DataVersion"})
_INT_EDM = ("Edm.Int16", "Edm.Int32", "Edm.Int64", "Edm.Byte", "Edm.SByte")

Converter = Callable[[Any], Any]


def is_guid(value: object) -> bool:
    """True when ``value`` is a GUID string ``xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx``."""
    return isinstance(value, str) and bool(_GUID_RE.match(value))


def data_version(counter: int) -> str:
    """``DataVersion`` text for a write counter: 8 bytes big-endian, base64."""
    return base64.b64encode(counter.to_bytes(8, "big")).decode("ascii")


def data_version_number(value: str) -> int:
    """The write counter inside a ``DataVersion`` text (0 when unreadable)."""
    try:
        return int.from_bytes(base64.b64decode(value), "big")
    except (ValueError, TypeError):
        return 0


def normalize_datetime(value: str) -> str | None:
    """``yyyy-mm-ddThh:mm:ss`` for an ISO-like date text, or None when it is not a date."""
    m = _DATE_RE.match(value.strip())
    if not m:
        return None
    y, mo, d, h, mi, s = (int(g) if g else 0 for g in m.groups())
    if y == 1 and mo == 1 and d == 1:
        return EMPTY_DATE
    try:
        datetime(y, mo, d, h, mi, s)
    except ValueError:
        return None
    return f"{y:04d}-{mo:02d}-{d:02d}T{h:02d}:{mi:02d}:{s:02d}"


def default_value(prop: Prop) -> Any:
    """The value 1C reports for an unfilled property of this type."""
    if prop.kind == "tabular":
        return []
    if prop.kind == "type":
        return UNDEFINED_TYPE
    edm = prop.edm
    if edm == "Edm.Guid":
        return EMPTY_REF
    if edm == "Edm.Boolean":
        return False
    if edm == "Edm.DateTime":
        return EMPTY_DATE
    if edm == "Edm.Int64":
        return "0"
    if edm in _INT_EDM or edm == "Edm.Double":
        return 0
    return ""


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return value
    if isinstance(value, str):
        try:
            return float(value.strip().replace(",", "."))
        except ValueError:
            return None
    return None


def make_converter(prop: Prop, enums: Mapping[str, Mapping[str, Any]]) -> Converter:
    """A function turning a client-sent value into the stored wire value of ``prop``."""
    edm = prop.edm
    if edm == "Edm.Guid":
        match = _GUID_RE.match
        seen: dict[str, str] = {}

        def guid(value: Any) -> str:
            known = seen.get(value) if type(value) is str else None
            if known is not None:
                return known
            if type(value) is str and len(value) == 36 and match(value):
                if len(seen) > 4096:
                    seen.clear()
                seen[value] = lowered = value.lower()
                return lowered
            if value is None or value == "":
                return EMPTY_REF
            raise ODataError.cannot_parse(value, edm)

        return guid
    if edm == "Edm.Boolean":

        def boolean(value: Any) -> bool:
            if isinstance(value, bool):
                return value
            if value is None:
                return False
            if isinstance(value, str) and value.lower() in ("true", "false"):
                return value.lower() == "true"
            raise ODataError.cannot_parse(value, edm)

        return boolean
    if edm == "Edm.DateTime":

        def date(value: Any) -> str:
            if value is None or value == "":
                return EMPTY_DATE
            text = normalize_datetime(value) if isinstance(value, str) else None
            if text is None:
                raise ODataError.cannot_parse(value, edm)
            return text

        return date
    if edm in _INT_EDM:
        as_text = edm == "Edm.Int64"

        def integer(value: Any) -> Any:
            number = _number(value)
            result = int(number) if number is not None and number == int(number) else 0
            return str(result) if as_text else result

        return integer
    if edm == "Edm.Double":

        def double(value: Any) -> Any:
            if value is None or value == "":
                return 0
            number = _number(value)
            if number is None:
                raise ODataError.cannot_parse(value, edm)
            return int(number) if float(number).is_integer() else float(number)

        return double
    values: frozenset[str] | None = None
    if prop.enum and prop.enum in enums:
        values = frozenset(enums[prop.enum].get("values", []))
    max_length = prop.max_length

    def text_of(value: Any) -> str:
        if value is None:
            return ""
        if isinstance(value, list | dict):
            raise ODataError.internal()
        return str(value).lower() if isinstance(value, bool) else str(value)

    if values is not None:

        def enum_value(value: Any) -> str:
            text = value if type(value) is str else text_of(value)
            if text and text not in values:
                raise ODataError.cannot_parse(text, prop.enum or edm)
            return text

        return enum_value
    if max_length:

        def limited(value: Any) -> str:
            return (value if type(value) is str else text_of(value))[:max_length]

        return limited
    return lambda value: value if type(value) is str else text_of(value)


class _SetShape:
    """Precomputed template and converters of one entity set (and its row types)."""

    def __init__(self, definition: EntitySetDef, enums: Mapping[str, Mapping[str, Any]]) -> None:
        self.definition = definition
        self.template = {p.name: default_value(p) for p in definition.props}
        self.converters = {
            p.name: make_converter(p, enums) for p in definition.props if p.kind != "tabular"
        }
        self.rows: dict[str, tuple[TabularSection, dict[str, Any], dict[str, Converter]]] = {}
        for name, section in definition.tabular_sections.items():
            template = {p.name: default_value(p) for p in section.row_props}
            converters = {
                p.name: make_converter(p, enums)
                for p in section.row_props
                if p.name not in ("Ref_Key", "LineNumber")
            }
            self.rows[name] = (section, template, converters)


class EntityFactory:
    """Creates and updates wire-form entities for the sets of one schema."""

    def __init__(self, schema: Schema, *, code_prefix: str = "", number_prefix: str = "") -> None:
        self.schema = schema
        self.code_prefix = code_prefix
        self.number_prefix = number_prefix
        self._shapes: dict[str, _SetShape] = {}

    def shape(self, definition: EntitySetDef) -> _SetShape:
        """The cached template/converters of ``definition``."""
        shape = self._shapes.get(definition.name)
        if shape is None:
            shape = self._shapes[definition.name] = _SetShape(definition, self.schema.enums)
        return shape

    # ---------------------------------------------------------------- values

    def _rows(self, shape: _SetShape, name: str, value: Any, ref_key: str) -> list[dict[str, Any]]:
        """Convert a whole tabular section sent by a client (replacing the old one)."""
        section, template, converters = shape.rows[name]
        if value is None:
            return []
        if not isinstance(value, list):
            raise ODataError.internal()
        rows: list[dict[str, Any]] = []
        numbers: list[int] = []
        for raw in value:
            if not isinstance(raw, dict):
                raise ODataError.internal()
            line = raw.get("LineNumber")
            if line is None or line == "":
                raise ODataError.internal()
            number = int(line) if type(line) is str and line.isdigit() else _number(line)
            if number is None or number != int(number):
                raise ODataError.cannot_parse(line, "Edm.Int64")
            numbers.append(int(number))
            row = dict(template)
            for key, item in raw.items():
                conv = converters.get(key)
                if conv is not None:
                    row[key] = conv(item)
            if section.name != "RecordSet":
                row["Ref_Key"] = ref_key
            row["LineNumber"] = str(int(number))
            rows.append(row)
        if sorted(numbers) != list(range(1, len(rows) + 1)):
            raise ODataError(
                400, CODE_BAD_VALUE, f"Неверное значение свойства LineNumber табличной части {name}"
            )
        rows.sort(key=lambda r: int(r["LineNumber"]))
        return rows

    def _apply(
        self,
        shape: _SetShape,
        entity: dict[str, Any],
        fields: Mapping[str, Any],
        *,
        protected: frozenset[str],
    ) -> None:
        definition = shape.definition
        for key, value in fields.items():
            if key in protected:
                continue
            if key.endswith("@odata.bind"):
                self._bind(definition, entity, key[: -len("@odata.bind")], value)
                continue
            conv = shape.converters.get(key)
            if conv is not None:
                entity[key] = conv(value)
            elif key in shape.rows:
                entity[key] = self._rows(shape, key, value, entity.get("Ref_Key", EMPTY_REF))

    @staticmethod
    def _bind(definition: EntitySetDef, entity: dict[str, Any], name: str, value: Any) -> None:
        """``"X@odata.bind": "Catalog_Y(guid'…')"`` → ``X_Key`` (PUT/PATCH reference form)."""
        prop = definition.by_name.get(f"{name}_Key")
        if prop is None or not isinstance(value, str):
            return
        m = re.search(r"guid'([0-9a-fA-F-]{36})'", value)
        if m is None:
            raise ODataError.cannot_parse(value, "Edm.Guid")
        entity[prop.name] = m.group(1).lower()

    # ---------------------------------------------------------------- operations

    def new(
        self,
        definition: EntitySetDef,
        fields: Mapping[str, Any],
        *,
        counter: int,
        now: datetime | None = None,
    ) -> dict[str, Any]:
        """A new entity of ``definition`` from client ``fields`` (like a POST).

        ``counter`` is the next value of the set's code/number sequence; it is used only
        when the client sent no ``Code``/``Number``.
        """
        shape = self.shape(definition)
        entity = dict(shape.template)
        for name in shape.rows:
            entity[name] = []
        if definition.is_reference:
            ref = fields.get("Ref_Key")
            entity["Ref_Key"] = str(ref).lower() if is_guid(ref) else str(uuid.uuid4())
            entity["DataVersion"] = data_version(0)
        protected = _REF_PROTECTED if definition.is_reference else frozenset()
        if definition.is_register_records and "Active" in entity:
            entity["Active"] = True  # a written register record is active unless told otherwise
        self._apply(shape, entity, fields, protected=protected)
        if definition.is_reference:
            self._fill_numbering(definition, entity, counter)
            if definition.kind == "Document" and entity.get("Date") == EMPTY_DATE:
                entity["Date"] = (now or datetime.now()).strftime("%Y-%m-%dT%H:%M:%S")
        return entity

    def _fill_numbering(
        self, definition: EntitySetDef, entity: dict[str, Any], counter: int
    ) -> None:
        for field_name, length, kind, prefix in (
            ("Code", definition.code_length, definition.code_type, self.code_prefix),
            ("Number", definition.number_length, definition.number_type, self.number_prefix),
        ):
            if field_name not in definition.by_name or entity.get(field_name) not in ("", "0", 0):
                continue
            if kind == "Number":
                entity[field_name] = str(counter)
                continue
            if length <= len(prefix) + 2:
                prefix = ""
            entity[field_name] = prefix + str(counter).zfill(max(length - len(prefix), 1))

    def changed(
        self,
        definition: EntitySetDef,
        current: Mapping[str, Any],
        fields: Mapping[str, Any],
        *,
        replace: bool = False,
    ) -> dict[str, Any]:
        """``current`` after a PATCH (or a PUT when ``replace``) with ``fields``."""
        shape = self.shape(definition)
        if replace:
            entity = dict(shape.template)
            for name in shape.rows:
                entity[name] = []
            for name in (
                "Ref_Key",
                "Code",
                "Number",
                "Date",
                "DataVersion",
                "Predefined",
                "PredefinedDataName",
            ):
                if name in current:
                    entity[name] = current[name]
        else:
            entity = dict(current)
        protected = frozenset({"Ref_Key", "DataVersion", "Predefined", "PredefinedDataName"})
        if definition.is_register_records or definition.is_record_set:
            protected = frozenset(definition.key)
        self._apply(shape, entity, fields, protected=protected)
        if "DataVersion" in entity:
            entity["DataVersion"] = data_version(data_version_number(current["DataVersion"]) + 1)
        return entity

    def pack(self, definition: EntitySetDef, entity: Mapping[str, Any]) -> dict[str, Any]:
        """The entity without values equal to the defaults (compact storage form)."""
        shape = self.shape(definition)
        template = shape.template
        out = {k: v for k, v in entity.items() if k not in template or template[k] != v}
        for name, (_, row_template, _) in shape.rows.items():
            rows = out.get(name)
            if rows:
                out[name] = [
                    {k: v for k, v in row.items() if k != "Ref_Key" and row_template.get(k) != v}
                    for row in rows
                ]
        return out

    def unpack(self, definition: EntitySetDef, data: Mapping[str, Any]) -> dict[str, Any]:
        """Inverse of :meth:`pack`: the full wire-form entity."""
        shape = self.shape(definition)
        entity = dict(shape.template)
        entity.update(data)
        ref = entity.get("Ref_Key")
        for name, (section, row_template, _) in shape.rows.items():
            rows = data.get(name)
            if not rows:
                entity[name] = []
                continue
            if section.name == "RecordSet":
                entity[name] = [{**row_template, **row} for row in rows]
            else:
                entity[name] = [{**row_template, **row, "Ref_Key": ref} for row in rows]
        return entity

    def record_key(self, definition: EntitySetDef, entity: Mapping[str, Any]) -> str:
        """Storage key of a register record: its key property values joined."""
        return "|".join(str(entity.get(name, "")) for name in definition.key)

    @staticmethod
    def duplicate() -> ODataError:
        """Code 15: an entity with this key already exists."""
        return ODataError(400, CODE_DUPLICATE_KEY, "Сущность с таким ключом уже существует")
