"""Object schemas of a 1C configuration (``schemas/<profile>.json``) as OData entity sets.

The JSON files were extracted from real configuration dumps and already carry the OData
view of every object (``odata_entity_set``, ``odata_key``, ``odata_properties`` in
``$metadata`` order, per-field ``odata`` names and ``edm`` types).  This module turns them
into :class:`EntitySetDef` objects that the storage, the query engine and the ``$metadata``
writer share.

Published entity sets per object:

* catalog / document ``Catalog_X`` (key ``Ref_Key``) and one read-only set per tabular
  section ``Catalog_X_TS`` (key ``Ref_Key`` + ``LineNumber``, row type ``…_RowType``);
* register ``…_RecordType`` (single records, key from the schema) and, for registers that
  have a recorder, the record-set entity ``InformationRegister_X`` keyed by the recorder.

Accounting registers are skipped: the schema does not derive their Dr/Cr record layout.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from functools import cache
from importlib import resources
from typing import Any

__all__ = [
    "EMPTY_DATE",
    "EMPTY_REF",
    "EntitySetDef",
    "Prop",
    "Schema",
    "TabularSection",
    "load_schema",
    "renamed",
]

EMPTY_REF = "00000000-0000-0000-0000-000000000000"
EMPTY_DATE = "0001-01-01T00:00:00"
NAMESPACE = "StandardODATA"

_REF_PREFIXES = {
    "CatalogRef": "Catalog",
    "DocumentRef": "Document",
    "ChartOfCharacteristicTypesRef": "ChartOfCharacteristicTypes",
    "ChartOfAccountsRef": "ChartOfAccounts",
    "ChartOfCalculationTypesRef": "ChartOfCalculationTypes",
    "ExchangePlanRef": "ExchangePlan",
    "BusinessProcessRef": "BusinessProcess",
    "TaskRef": "Task",
}
_STRING_RE = re.compile(r"^xs:string\((\d+|unlimited)\)$")
_NAME_RE = re.compile(r"^[A-Za-zА-Яа-яЁё_][A-Za-zА-Яа-яЁё0-9_]*$")


@dataclass(frozen=True)
class Prop:
    """One OData property of an entity or row type.

    ``kind`` is one of ``key`` (``Ref_Key``), ``standard``, ``value`` (primitive or enum),
    ``ref`` (``X_Key`` of a single-type reference), ``composite`` (``X`` of a composite
    field), ``type`` (the ``X_Type`` dispatch property), ``base64`` (``X_Base64Data`` of a
    value storage) or ``tabular`` (a tabular-section collection).
    """

    name: str
    edm: str
    kind: str = "value"
    max_length: int = 0
    enum: str | None = None
    target: str | None = None
    field: str | None = None
    tabular: str | None = None

    @property
    def is_collection(self) -> bool:
        """True for a tabular-section collection property."""
        return self.kind == "tabular"


@dataclass
class TabularSection:
    """A tabular section: its collection name, row type and row properties."""

    name: str
    entity_set: str
    row_type: str
    row_props: list[Prop]
    row_by_name: dict[str, Prop] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.row_by_name = {p.name: p for p in self.row_props}


@dataclass
class EntitySetDef:
    """An entity set as published in ``$metadata`` and served over HTTP."""

    name: str
    kind: str
    object_name: str
    synonym: str
    key: list[str]
    props: list[Prop]
    tabular_sections: dict[str, TabularSection] = field(default_factory=dict)
    parent: str | None = None
    tabular: str | None = None
    records_of: str | None = None
    code_length: int = 0
    code_type: str = "String"
    number_length: int = 0
    number_type: str = "String"
    hierarchical: bool = False
    folders: bool = False
    posting: bool = False
    periodic: bool = False
    predefined: list[str] = field(default_factory=list)
    virtual_tables: list[str] = field(default_factory=list)
    # registers: dimension name → its OData properties (``Склад`` → ``[Склад_Key]``),
    # resource names, and ``Balance`` | ``Turnovers`` for accumulation registers
    dimensions: dict[str, list[str]] = field(default_factory=dict)
    resources: list[str] = field(default_factory=list)
    register_type: str = ""
    by_name: dict[str, Prop] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.by_name = {p.name: p for p in self.props}

    @property
    def is_reference(self) -> bool:
        """Catalogs and documents: objects with ``Ref_Key`` and ``DataVersion``."""
        return self.kind in ("Catalog", "Document") and self.tabular is None

    @property
    def is_tabular(self) -> bool:
        """A tabular-section set (``Catalog_X_TS``): read-only rows."""
        return self.tabular is not None

    @property
    def is_register_records(self) -> bool:
        """A register ``…_RecordType`` set."""
        return self.kind.endswith("Register") and self.records_of is None and not self.is_tabular

    @property
    def is_record_set(self) -> bool:
        """A register record-set entity keyed by the recorder (``RecordSet`` collection)."""
        return self.records_of is not None

    @property
    def open_type(self) -> bool:
        """1C marks an entity type ``OpenType="true"`` exactly when it has ``_Type`` props."""
        return any(p.name.endswith("_Type") for p in self.props)


@dataclass
class Schema:
    """All entity sets of one configuration profile."""

    profile: str
    configuration: str
    version: str
    sets: dict[str, EntitySetDef]
    enums: dict[str, dict[str, Any]]

    def get(self, name: str) -> EntitySetDef | None:
        """The entity set called ``name`` or None."""
        return self.sets.get(name)


def _max_length(types: list[str]) -> int:
    if len(types) != 1:
        return 0
    m = _STRING_RE.match(types[0])
    if not m or m.group(1) == "unlimited":
        return 0
    return int(m.group(1))


def _ref_target(types: list[str]) -> str | None:
    if len(types) != 1 or not types[0].startswith("cfg:"):
        return None
    kind, _, name = types[0][4:].partition(".")
    prefix = _REF_PREFIXES.get(kind)
    return f"{prefix}_{name}" if prefix else None


def _enum_name(types: list[str]) -> str | None:
    if len(types) == 1 and types[0].startswith("cfg:EnumRef."):
        return types[0][len("cfg:EnumRef.") :]
    return None


def _field_props(f: dict[str, Any]) -> list[Prop]:
    """The OData properties of one attribute / dimension / resource / row column."""
    types: list[str] = f.get("resolved") or f.get("type") or []
    names: list[str] = f["odata"]
    edm: str = f["edm"]
    if len(names) == 1:
        name = names[0]
        if edm == "Edm.Guid" and name.endswith("_Key"):
            return [Prop(name, edm, "ref", target=_ref_target(types), field=f["name"])]
        return [
            Prop(
                name,
                edm,
                "value",
                max_length=_max_length(types) if edm == "Edm.String" else 0,
                enum=_enum_name(types),
                field=f["name"],
            )
        ]
    first, second = names
    if first.endswith("_Base64Data"):
        return [
            Prop(first, "Edm.String", "base64", field=f["name"]),
            Prop(second, "Edm.String", "type", field=f["name"]),
        ]
    return [
        Prop(first, "Edm.String", "composite", field=f["name"]),
        Prop(second, "Edm.String", "type", field=f["name"]),
    ]


def _standard_prop(name: str, obj: dict[str, Any]) -> Prop:
    """Type of a standard (English-named) property of a catalog, document or register."""
    if name == "Ref_Key":
        return Prop(name, "Edm.Guid", "key")
    if name in ("Predefined", "DeletionMark", "IsFolder", "Posted", "Active"):
        return Prop(name, "Edm.Boolean", "standard")
    if name in ("Date", "Period"):
        return Prop(name, "Edm.DateTime", "standard")
    if name == "LineNumber":
        return Prop(name, "Edm.Int64", "standard")
    if name in ("Parent_Key", "Owner_Key", "Recorder_Key"):
        base = name[: -len("_Key")]
        target = None
        if base == "Parent":
            target = obj["odata_entity_set"]
        elif base == "Owner" and len(obj.get("owners") or []) == 1:
            target = obj["owners"][0].replace(".", "_", 1)
        elif base == "Recorder" and len(obj.get("recorders") or []) == 1:
            target = f"Document_{obj['recorders'][0]}"
        return Prop(name, "Edm.Guid", "ref", target=target, field=base)
    if name in ("Owner", "Recorder"):
        return Prop(name, "Edm.String", "composite", field=name)
    if name in ("Owner_Type", "Recorder_Type"):
        return Prop(name, "Edm.String", "type", field=name[: -len("_Type")])
    if name == "Code":
        if obj.get("code_type") == "Number":
            return Prop(name, "Edm.Int64", "standard")
        return Prop(name, "Edm.String", "standard", max_length=obj.get("code_length", 0))
    if name == "Number":
        if obj.get("number_type") == "Number":
            return Prop(name, "Edm.Int64", "standard")
        return Prop(name, "Edm.String", "standard", max_length=obj.get("number_length", 0))
    if name == "Description":
        return Prop(name, "Edm.String", "standard", max_length=obj.get("description_length", 0))
    return Prop(name, "Edm.String", "standard")


def _row_props(ts: dict[str, Any]) -> list[Prop]:
    by_name: dict[str, Prop] = {
        "Ref_Key": Prop("Ref_Key", "Edm.Guid", "key"),
        "LineNumber": Prop("LineNumber", "Edm.Int64", "standard"),
    }
    for f in ts["attributes"]:
        for p in _field_props(f):
            by_name[p.name] = p
    return [by_name[n] for n in ts["row_properties"]]


def _object_sets(obj: dict[str, Any], synonym: str) -> list[EntitySetDef]:
    """Entity sets of a catalog or document: the object set plus one set per TS."""
    set_name = obj["odata_entity_set"]
    by_name: dict[str, Prop] = {n: _standard_prop(n, obj) for n in obj["standard_properties"]}
    for f in obj.get("attributes", []):
        for p in _field_props(f):
            by_name[p.name] = p
    sections: dict[str, TabularSection] = {}
    for ts in obj.get("tabular_sections", []):
        section = TabularSection(
            ts["odata_collection"], ts["odata_entity_set"], ts["odata_row_type"], _row_props(ts)
        )
        sections[section.name] = section
        by_name[section.name] = Prop(
            section.name,
            f"Collection({NAMESPACE}.{section.row_type})",
            "tabular",
            tabular=section.name,
        )
    for name in obj["odata_properties"]:
        if name not in by_name and name.endswith("_Type"):
            by_name[name] = Prop(name, "Edm.String", "type", field=name[: -len("_Type")])
    main = EntitySetDef(
        name=set_name,
        kind=obj["kind"],
        object_name=obj["name"],
        synonym=obj.get("synonym", obj["name"]),
        key=list(obj["odata_key"]),
        props=[by_name[n] for n in obj["odata_properties"]],
        tabular_sections=sections,
        code_length=obj.get("code_length", 0),
        code_type=obj.get("code_type", "String"),
        number_length=obj.get("number_length", 0),
        number_type=obj.get("number_type", "String"),
        hierarchical=bool(obj.get("hierarchical")),
        folders=obj.get("hierarchy_type") == "HierarchyFoldersAndItems",
        posting=obj.get("posting") == "Allow",
        predefined=list(obj.get("predefined") or []),
    )
    out = [main]
    for section in sections.values():
        out.append(
            EntitySetDef(
                name=section.entity_set,
                kind=obj["kind"],
                object_name=obj["name"],
                synonym=synonym,
                key=["Ref_Key", "LineNumber"],
                props=list(section.row_props),
                parent=set_name,
                tabular=section.name,
            )
        )
    return out


def _register_sets(obj: dict[str, Any]) -> list[EntitySetDef]:
    """Entity sets of an information or accumulation register."""
    by_name: dict[str, Prop] = {n: _standard_prop(n, obj) for n in obj["standard_properties"]}
    for group in ("dimensions", "resources", "attributes"):
        for f in obj.get(group, []):
            for p in _field_props(f):
                by_name[p.name] = p
    for name in obj["odata_properties"]:
        if name not in by_name:
            by_name[name] = _standard_prop(name, obj)
    records_name = obj["odata_entity_set"]
    periodic = obj.get("periodicity", "Nonperiodical") != "Nonperiodical" or (
        obj["kind"] == "AccumulationRegister"
    )
    records = EntitySetDef(
        name=records_name,
        kind=obj["kind"],
        object_name=obj["name"],
        synonym=obj.get("synonym", obj["name"]),
        key=list(obj["odata_key"]),
        props=[by_name[n] for n in obj["odata_properties"]],
        periodic=periodic,
        virtual_tables=list(obj.get("virtual_tables") or []),
        dimensions={
            f["name"]: list(f.get("odata") or [f["name"]]) for f in obj.get("dimensions", [])
        },
        resources=[r for f in obj.get("resources", []) for r in (f.get("odata") or [f["name"]])],
        register_type=obj.get("register_type", ""),
    )
    out = [records]
    recordset = obj.get("odata_recordset_entity_set")
    if recordset and recordset != records_name:
        row_type = f"{recordset}_RowType"
        key = list(obj["odata_recordset_key"])
        props = [_standard_prop(n, obj) for n in key if not n.endswith("_Type")]
        props.append(
            Prop("RecordSet", f"Collection({NAMESPACE}.{row_type})", "tabular", tabular="RecordSet")
        )
        props += [_standard_prop(n, obj) for n in key if n.endswith("_Type")]
        section = TabularSection("RecordSet", records_name, row_type, list(records.props))
        out.insert(
            0,
            EntitySetDef(
                name=recordset,
                kind=obj["kind"],
                object_name=obj["name"],
                synonym=records.synonym,
                key=key,
                props=props,
                tabular_sections={"RecordSet": section},
                records_of=records_name,
                virtual_tables=records.virtual_tables,
                dimensions=records.dimensions,
                resources=records.resources,
                register_type=records.register_type,
            ),
        )
    return out


@cache
def load_schema(profile: str = "ut11") -> Schema:
    """Load ``schemas/<profile>.json`` shipped with the package (cached per profile)."""
    text = resources.files(__package__).joinpath("schemas", f"{profile}.json").read_text("utf-8")
    data = json.loads(text)
    sets: dict[str, EntitySetDef] = {}
    for obj in data["objects"].values():
        kind = obj["kind"]
        if kind in ("Catalog", "Document"):
            new = _object_sets(obj, obj.get("synonym", obj["name"]))
        elif kind in ("InformationRegister", "AccumulationRegister"):
            new = _register_sets(obj)
        else:
            continue
        for s in new:
            sets[s.name] = s
    source = data.get("source", {})
    return Schema(
        profile=profile,
        configuration=source.get("configuration", ""),
        version=source.get("version", ""),
        sets=sets,
        enums=data.get("enums", {}),
    )


def renamed(schema: Schema, renames: Mapping[str, str]) -> tuple[Schema, dict[str, dict[str, str]]]:
    """``schema`` after a configuration change that renamed some attributes.

    ``renames`` maps ``"Catalog_X.Attribute"`` (or ``…Attribute_Key`` for a reference)
    to the new property name. Only attributes of catalogs and documents can be renamed
    (standard properties such as ``Ref_Key`` or ``Description`` cannot be renamed in
    1C either). Returns the new schema and, per entity set, ``{old name: new name}``;
    raises ``ValueError`` for anything that does not fit.
    """
    moved: dict[str, dict[str, str]] = {}
    for target, new in renames.items():
        set_name, dot, old = target.partition(".")
        definition = schema.get(set_name)
        if not dot or definition is None or not definition.is_reference:
            raise ValueError(f"{target!r}: not EntitySet.Property of a catalog or document")
        prop = definition.by_name.get(old)
        if prop is None or prop.kind not in ("value", "ref"):
            raise ValueError(f"{target!r}: no attribute {old!r} to rename")
        if not _NAME_RE.match(new) or new in definition.by_name:
            raise ValueError(f"{target!r}: {new!r} is not a free property name")
        if prop.kind == "ref" and not new.endswith("_Key"):
            raise ValueError(f"{target!r}: a reference keeps the _Key suffix ({new!r})")
        moved.setdefault(set_name, {})[old] = new
    sets = dict(schema.sets)
    for set_name, names in moved.items():
        if len(set(names.values())) != len(names):
            raise ValueError(f"{set_name}: two attributes renamed to the same name")
        definition = sets[set_name]
        props = [
            replace(
                p,
                name=names[p.name],
                # the navigation property / attribute name follows the new name
                field=names[p.name].removesuffix("_Key") if p.kind == "ref" else names[p.name],
            )
            if p.name in names
            else p
            for p in definition.props
        ]
        sets[set_name] = replace(definition, props=props)
    return replace(schema, sets=sets), moved
