"""The ``$metadata`` of a 1C base (CSDL/EDMX, OData v3), parsed once (onec.md §1.2–1.7).

What the client needs from it: which entity sets exist, their properties and Edm types,
``_Key`` references, composite fields (``X`` + ``X_Type``, no ``_Key``), tabular sections
(``Collection(…_RowType)`` properties), and the bindable ``FunctionImport``s that carry the
register virtual tables (``SliceLast``, ``Balance``, ``Turnovers``…). 1C declares those
without an ``EntitySet`` attribute, bound through a ``bindingParameter``; a parser that only
follows ``EntitySet`` misses them.

The document is parsed with ``defusedxml`` (no DTDs, no entity expansion): a full УТ 11
``$metadata`` is ~15 MB and comes from a server we do not control.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from xml.etree.ElementTree import Element

from defusedxml import ElementTree

__all__ = [
    "Drift",
    "EntityType",
    "FunctionImport",
    "Metadata",
    "Property",
    "looks_custom",
    "parse_metadata",
]

_EDM_NAMESPACES = (
    "http://schemas.microsoft.com/ado/2009/11/edm",
    "http://schemas.microsoft.com/ado/2008/09/edm",
    "http://schemas.microsoft.com/ado/2006/04/edm",
    "http://schemas.microsoft.com/ado/2007/05/edm",
)
_COLLECTION = re.compile(r"^Collection\((.+)\)$")
# A customer-added object or field carries a short prefix before "_" (КР_, зл_, пр_, см_,
# ххх_, Xx_); the platform's own suffixes (_Key, _Type, _Base64Data) are not prefixes.
_CUSTOM = re.compile(r"^([A-Za-zА-Яа-яЁё]{1,4})_(?!(Key|Type|Base64Data)$)")
_STANDARD_PREFIXES = {"Ref", "X"}


def looks_custom(name: str) -> bool:
    """True for a name with a customer prefix such as ``КР_Сегмент`` or ``пр_Очередь``."""
    m = _CUSTOM.match(name)
    return m is not None and m.group(1) not in _STANDARD_PREFIXES


@dataclass(frozen=True)
class Property:
    """One property of an entity or row type."""

    name: str
    type: str  # Edm.String, Edm.Guid, Collection(StandardODATA.X_RowType) …
    nullable: bool = True

    @property
    def is_collection(self) -> bool:
        """A tabular section (or a register record set)."""
        return self.type.startswith("Collection(")

    @property
    def row_type(self) -> str | None:
        """Local name of the row type of a collection (``Document_X_Товары_RowType``)."""
        m = _COLLECTION.match(self.type)
        return m.group(1).rsplit(".", 1)[-1] if m else None

    @property
    def is_reference(self) -> bool:
        """A single-type reference ``X_Key`` (Edm.Guid)."""
        return self.name.endswith("_Key") and self.type == "Edm.Guid"


@dataclass(frozen=True)
class EntityType:
    """An entity type (or a complex/row type) with its properties in document order."""

    name: str
    key: tuple[str, ...]
    properties: Mapping[str, Property]
    navigation: tuple[str, ...] = ()
    open_type: bool = False

    def __contains__(self, name: object) -> bool:
        return name in self.properties

    @property
    def references(self) -> tuple[str, ...]:
        """Attribute names of single-type references (``Партнер`` for ``Партнер_Key``)."""
        return tuple(p.name[:-4] for p in self.properties.values() if p.is_reference)

    @property
    def composite(self) -> tuple[str, ...]:
        """Composite-type fields: ``X`` with ``X_Type`` and no ``X_Key``."""
        names = self.properties
        return tuple(
            n
            for n in names
            if f"{n}_Type" in names and f"{n}_Key" not in names and not n.endswith("_Type")
        )

    @property
    def tabular_sections(self) -> dict[str, str]:
        """Tabular section name → row type name."""
        return {
            p.name: p.row_type
            for p in self.properties.values()
            if p.row_type is not None and p.name != "RecordSet"
        }

    @property
    def custom(self) -> tuple[str, ...]:
        """Properties whose names carry a customer prefix (``КР_…``)."""
        return tuple(n for n in self.properties if looks_custom(n))


@dataclass(frozen=True)
class FunctionImport:
    """A function of the service; 1C's virtual tables are bindable ones."""

    name: str
    binding: str | None  # local name of the bound entity type
    return_type: str
    parameters: Mapping[str, str]  # name → Edm type (without bindingParameter)
    side_effecting: bool
    entity_set: str | None = None


@dataclass(frozen=True)
class Drift:
    """A needed entity set or property that the base does not publish."""

    entity_set: str
    field: str | None = None

    def __str__(self) -> str:
        if self.field is None:
            return f"entity set {self.entity_set} is not published"
        return f"{self.entity_set} has no property {self.field}"


@dataclass
class Metadata:
    """The parsed ``$metadata``: look-ups by entity-set name."""

    namespace: str
    entity_types: dict[str, EntityType]
    complex_types: dict[str, EntityType]
    entity_sets: dict[str, str]  # set name → entity type local name
    functions: list[FunctionImport]
    enums: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def __contains__(self, entity_set: object) -> bool:
        return entity_set in self.entity_sets

    def entity(self, entity_set: str) -> EntityType:
        """The type of ``entity_set``; KeyError when it is not published."""
        return self.entity_types[self.entity_sets[entity_set]]

    def row_type(self, entity_set: str, tabular_section: str) -> EntityType:
        """The row type of a tabular section of ``entity_set``."""
        row = self.entity(entity_set).tabular_sections[tabular_section]
        return self.complex_types[row]

    def functions_of(self, entity_set: str) -> dict[str, FunctionImport]:
        """Bindable functions of a set: ``{"SliceLast": …, "Balance": …}``."""
        type_name = self.entity_sets.get(entity_set, entity_set)
        return {f.name: f for f in self.functions if f.binding == type_name}

    def properties(self, entity_set: str) -> Mapping[str, Property]:
        return self.entity(entity_set).properties

    def missing(self, needed: Mapping[str, Iterable[str]]) -> list[Drift]:
        """What of ``{entity_set: [field, …]}`` the base lacks (drift detection).

        A field may name a tabular-section column as ``Товары/Цена``; a function as
        ``/Balance``.
        """
        out: list[Drift] = []
        for entity_set, fields in needed.items():
            if entity_set not in self.entity_sets:
                out.append(Drift(entity_set))
                continue
            entity = self.entity(entity_set)
            for name in fields:
                if not self._has(entity_set, entity, name):
                    out.append(Drift(entity_set, name))
        return out

    def _has(self, entity_set: str, entity: EntityType, name: str) -> bool:
        if name.startswith("/"):
            return name[1:] in self.functions_of(entity_set)
        if "/" in name:
            section, column = name.split("/", 1)
            row = entity.tabular_sections.get(section)
            return row is not None and column in self.complex_types.get(
                row, EntityType(row, (), {})
            )
        return name in entity


def _local(tag: str) -> tuple[str, str]:
    if tag.startswith("{"):
        ns, _, local = tag[1:].partition("}")
        return ns, local
    return "", tag


def _properties(element: Element, ns: str) -> dict[str, Property]:
    return {
        p.get("Name", ""): Property(
            p.get("Name", ""), p.get("Type", ""), p.get("Nullable", "true") != "false"
        )
        for p in element.findall(f"{{{ns}}}Property")
    }


def _strip(type_name: str, namespace: str) -> str:
    prefix = namespace + "."
    return type_name[len(prefix) :] if type_name.startswith(prefix) else type_name


def parse_metadata(document: bytes | str) -> Metadata:
    """Parse an EDMX document (the body of ``GET …/standard.odata/$metadata``)."""
    root = ElementTree.fromstring(document)
    entity_types: dict[str, EntityType] = {}
    complex_types: dict[str, EntityType] = {}
    entity_sets: dict[str, str] = {}
    functions: list[FunctionImport] = []
    enums: dict[str, tuple[str, ...]] = {}
    namespace = ""
    for schema in root.iter():
        ns, local = _local(schema.tag)
        if local != "Schema" or ns not in _EDM_NAMESPACES:
            continue
        namespace = schema.get("Namespace", namespace)
        for child in schema:
            _, kind = _local(child.tag)
            name = child.get("Name", "")
            if kind == "EntityType":
                key = tuple(
                    ref.get("Name", "") for ref in child.findall(f"{{{ns}}}Key/{{{ns}}}PropertyRef")
                )
                navigation = tuple(
                    n.get("Name", "") for n in child.findall(f"{{{ns}}}NavigationProperty")
                )
                entity_types[name] = EntityType(
                    name,
                    key,
                    _properties(child, ns),
                    navigation,
                    child.get("OpenType") == "true",
                )
            elif kind == "ComplexType":
                complex_types[name] = EntityType(name, (), _properties(child, ns))
            elif kind == "EnumType":
                enums[name] = tuple(m.get("Name", "") for m in child.findall(f"{{{ns}}}Member"))
            elif kind == "EntityContainer":
                for item in child:
                    _, item_kind = _local(item.tag)
                    if item_kind == "EntitySet":
                        entity_sets[item.get("Name", "")] = _strip(
                            item.get("EntityType", ""), namespace
                        )
                    elif item_kind == "FunctionImport":
                        functions.append(_function(item, ns, namespace))
    return Metadata(namespace, entity_types, complex_types, entity_sets, functions, enums)


def _function(item: Element, ns: str, namespace: str) -> FunctionImport:
    binding: str | None = None
    params: dict[str, str] = {}
    for p in item.findall(f"{{{ns}}}Parameter"):
        if p.get("Name") == "bindingParameter":
            binding = _strip(p.get("Type", ""), namespace)
        else:
            params[p.get("Name", "")] = p.get("Type", "")
    return FunctionImport(
        name=item.get("Name", ""),
        binding=binding,
        return_type=item.get("ReturnType", ""),
        parameters=params,
        side_effecting=item.get("IsSideEffecting", "true") != "false",
        entity_set=item.get("EntitySet"),
    )
