"""``$metadata`` (CSDL/EDMX, OData v3) and the service document, shaped like real 1C output.

Conventions copied from a real УТ 11 ``$metadata`` (``ut-real.edmx``): namespace
``StandardODATA``; container ``EnterpriseV8`` with ``m:IsDefaultEntityContainer``;
``OpenType="true"`` exactly on entity types that have ``…_Type`` properties; key
properties ``Nullable="false"``, all others ``Nullable="true"``; tabular sections both as
entity sets ``<Set>_<TS>`` (key ``Ref_Key`` + ``LineNumber``) and as complex types
``<Set>_<TS>_RowType``; enumerations only as ``EnumType`` (``UnderlyingType="Edm.Int32"``);
one ``NavigationProperty`` + ``Association`` (roles ``Begin``/``End``, no
``AssociationSet``) per single-type reference whose target is published; documents get
``Post``/``Unpost`` and periodic information registers ``SliceLast``/``SliceFirst`` as
bindable ``FunctionImport``s.

Accumulation registers get ``Balance``/``Turnovers``/``BalanceAndTurnovers`` bound to the
record-set type, with result complex types ``<Register>_Balance`` etc., as in the real
document.
"""

from __future__ import annotations

from functools import cache
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from .registers import result_columns
from .schema import NAMESPACE, EntitySetDef, Prop, Schema, load_schema

__all__ = ["build_edmx", "edmx_for", "service_document_atom", "service_document_json"]

_RESULT_SUFFIX = {
    "Balance": "Balance",
    "Turnovers": "Turnover",
    "BalanceAndTurnovers": "BalanceAndTurnover",
}
_EDMX_NS = "http://schemas.microsoft.com/ado/2007/06/edmx"
_META_NS = "http://schemas.microsoft.com/ado/2007/08/dataservices/metadata"
_EDM_NS = "http://schemas.microsoft.com/ado/2009/11/edm"


def _a(value: str) -> str:
    return quoteattr(value)


def _property(prop: Prop, key: set[str]) -> str:
    nullable = "false" if prop.name in key or prop.name == "RecordSet" else "true"
    return f'        <Property Name={_a(prop.name)} Type={_a(prop.edm)} Nullable="{nullable}"/>'


def _navigations(schema: Schema, props: list[Prop]) -> list[tuple[str, str]]:
    """``(navigation name, target entity type)`` for single refs to published sets."""
    out = []
    for prop in props:
        if prop.kind == "ref" and prop.target and prop.target in schema.sets and prop.field:
            out.append((prop.field, prop.target))
    return out


def _entity_type(schema: Schema, definition: EntitySetDef, associations: list[str]) -> str:
    open_type = ' OpenType="true"' if definition.open_type else ""
    key = set(definition.key)
    lines = [f"      <EntityType Name={_a(definition.name)}{open_type}>", "        <Key>"]
    lines += [f"          <PropertyRef Name={_a(k)}/>" for k in definition.key]
    lines.append("        </Key>")
    lines += [_property(p, key) for p in definition.props]
    if not definition.is_record_set:
        for nav, target in _navigations(schema, definition.props):
            relation = f"{definition.name}_{nav}"
            lines.append(
                f"        <NavigationProperty Name={_a(nav)} "
                f'Relationship={_a(f"{NAMESPACE}.{relation}")} FromRole="Begin" ToRole="End"/>'
            )
            associations.append(
                f"      <Association Name={_a(relation)}>\n"
                f'        <End Role="Begin" Type={_a(f"{NAMESPACE}.{definition.name}")} '
                f'Multiplicity="*"/>\n'
                f'        <End Role="End" Type={_a(f"{NAMESPACE}.{target}")} '
                f'Multiplicity="0..1"/>\n'
                f"      </Association>"
            )
    lines.append("      </EntityType>")
    return "\n".join(lines)


def _complex_type(name: str, props: list[Prop], key: set[str]) -> str:
    lines = [f"      <ComplexType Name={_a(name)}>"]
    lines += [_property(p, key) for p in props]
    lines.append("      </ComplexType>")
    return "\n".join(lines)


def _enum_type(name: str, enum: dict[str, Any]) -> str:
    lines = [f'      <EnumType Name={_a(name)} UnderlyingType="Edm.Int32">']
    lines += [f"        <Member Name={_a(v)}/>" for v in enum.get("values", [])]
    lines.append("      </EnumType>")
    return "\n".join(lines)


def _function(
    name: str,
    binding: str,
    params: list[tuple[str, str]],
    *,
    side_effects: bool,
    returns: str | None = None,
) -> str:
    ret = f" ReturnType={_a(returns)}" if returns else ""
    lines = [
        f'        <FunctionImport Name={_a(name)} IsBindable="true" '
        f'IsSideEffecting="{"true" if side_effects else "false"}"{ret}>',
        f'          <Parameter Name="bindingParameter" Type={_a(f"{NAMESPACE}.{binding}")}/>',
    ]
    lines += [f"          <Parameter Name={_a(p)} Type={_a(t)}/>" for p, t in params]
    lines.append("        </FunctionImport>")
    return "\n".join(lines)


def build_edmx(schema: Schema) -> str:
    """The full EDMX document of ``schema``."""
    entity_types: list[str] = []
    complex_types: list[str] = []
    associations: list[str] = []
    entity_sets: list[str] = []
    functions: list[str] = []
    for definition in schema.sets.values():
        entity_types.append(_entity_type(schema, definition, associations))
        entity_sets.append(
            f"        <EntitySet Name={_a(definition.name)} "
            f"EntityType={_a(f'{NAMESPACE}.{definition.name}')}/>"
        )
        if definition.is_tabular:
            continue
        for section in definition.tabular_sections.values():
            row_key = {"Ref_Key", "LineNumber"}
            if section.name == "RecordSet":
                row_key = set(schema.sets[definition.records_of or ""].key)
            complex_types.append(_complex_type(section.row_type, section.row_props, row_key))
        if definition.kind == "Document" and definition.posting:
            for action in ("Post", "Unpost"):
                functions.append(
                    _function(
                        action,
                        definition.name,
                        [("PostingModeOperational", "Edm.Boolean")],
                        side_effects=True,
                    )
                )
        if (
            definition.kind == "InformationRegister"
            and definition.is_register_records
            and definition.periodic
        ):
            for fn in ("SliceLast", "SliceFirst"):
                if fn in definition.virtual_tables or not definition.virtual_tables:
                    functions.append(
                        _function(
                            fn,
                            definition.name,
                            [("Condition", "Edm.String"), ("Period", "Edm.DateTime")],
                            side_effects=False,
                            returns=f"Collection({NAMESPACE}.{definition.name})",
                        )
                    )
        if definition.kind == "AccumulationRegister" and definition.is_record_set:
            records = schema.sets[definition.records_of or ""]
            for fn in ("Balance", "Turnovers", "BalanceAndTurnovers"):
                if fn not in records.virtual_tables:
                    continue
                result = f"{definition.name}_{_RESULT_SUFFIX[fn]}"
                complex_types.append(_complex_type(result, result_columns(records, fn), set()))
                params = [("Condition", "Edm.String"), ("Dimensions", "Edm.String")]
                if fn == "Balance":
                    params.append(("Period", "Edm.DateTime"))
                else:
                    params += [("EndPeriod", "Edm.DateTime"), ("StartPeriod", "Edm.DateTime")]
                functions.append(
                    _function(
                        fn,
                        definition.name,
                        params,
                        side_effects=False,
                        returns=f"Collection({NAMESPACE}.{result})",
                    )
                )
    enum_types = [_enum_type(name, enum) for name, enum in schema.enums.items()]
    body = "\n".join(
        [
            "<?xml version='1.0' encoding='UTF-8'?>",
            f'<edmx:Edmx xmlns:edmx="{_EDMX_NS}" Version="1.0">',
            f'  <edmx:DataServices xmlns:m="{_META_NS}" m:DataServiceVersion="3.0" '
            'm:MaxDataServiceVersion="3.0">',
            f'    <Schema xmlns="{_EDM_NS}" Namespace="{NAMESPACE}">',
            *entity_types,
            *complex_types,
            *enum_types,
            *associations,
            '      <EntityContainer Name="EnterpriseV8" m:IsDefaultEntityContainer="true">',
            *entity_sets,
            *functions,
            "      </EntityContainer>",
            "    </Schema>",
            "  </edmx:DataServices>",
            "</edmx:Edmx>",
        ]
    )
    return body + "\n"


@cache
def edmx_for(profile: str) -> bytes:
    """UTF-8 EDMX of a profile (built once per process)."""
    return build_edmx(load_schema(profile)).encode("utf-8")


def service_document_json(schema: Schema, root: str) -> dict[str, Any]:
    """The JSON service document: ``{"odata.metadata": root, "value": [{name, url}]}``."""
    return {"odata.metadata": root, "value": [{"name": n, "url": n} for n in schema.sets]}


def service_document_atom(schema: Schema, root: str) -> str:
    """The AtomPub service document (default representation)."""
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<service xmlns="http://www.w3.org/2007/app" xmlns:atom="http://www.w3.org/2005/Atom" '
        f"xml:base={_a(root + '/')}>",
        "  <workspace>",
        "    <atom:title>Default</atom:title>",
    ]
    for name in schema.sets:
        lines.append(
            f"    <collection href={_a(name)}><atom:title>{escape(name)}</atom:title></collection>"
        )
    lines += ["  </workspace>", "</service>"]
    return "\n".join(lines) + "\n"
