"""Atom (``application/atom+xml``) rendering — the default representation of 1C OData.

Minimal but well-formed: feeds with ``<entry>`` elements, ``<m:count>`` for
``$inlinecount``, entries with ``id``/``category``/``link rel="edit"``/``content`` and the
properties as ``<d:Name>`` elements (no ``m:type`` on primitives, as in the documented
1C example; tabular sections as ``m:type="Collection(…)"`` with ``<d:element>`` rows).
Writes accept JSON bodies only.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from .schema import NAMESPACE, EntitySetDef

__all__ = ["entity_key", "key_literal", "render_entry", "render_feed"]

_ATOM = "http://www.w3.org/2005/Atom"
_D = "http://schemas.microsoft.com/ado/2007/08/dataservices"
_M = "http://schemas.microsoft.com/ado/2007/08/dataservices/metadata"
_SCHEME = "http://schemas.microsoft.com/ado/2007/08/dataservices/scheme"
_NS = f'xmlns="{_ATOM}" xmlns:d="{_D}" xmlns:m="{_M}"'


def key_literal(edm: str, value: Any) -> str:
    """A key value as an OData v3 URL literal."""
    if edm == "Edm.Guid":
        return f"guid'{value}'"
    if edm == "Edm.DateTime":
        return f"datetime'{value}'"
    if edm == "Edm.Boolean":
        return "true" if value else "false"
    if edm.startswith("Edm.Int") or edm == "Edm.Double":
        return str(value)
    return "'" + str(value).replace("'", "''") + "'"


def entity_key(definition: EntitySetDef, entity: dict[str, Any]) -> str:
    """``Catalog_X(guid'…')`` / ``Set(A=…,B=…)`` — the canonical URL of an entity."""
    if definition.key == ["Ref_Key"]:
        return f"{definition.name}(guid'{entity.get('Ref_Key')}')"
    parts = [f"{k}={key_literal(definition.by_name[k].edm, entity.get(k))}" for k in definition.key]
    return f"{definition.name}({','.join(parts)})"


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return escape(str(value))


def _properties(definition_props: dict[str, Any], entity: dict[str, Any], indent: str) -> list[str]:
    lines: list[str] = []
    for name, value in entity.items():
        prop = definition_props.get(name)
        if isinstance(value, list):
            row_type = prop.edm[len("Collection(") : -1] if prop is not None else ""
            lines.append(f"{indent}<d:{name} m:type={quoteattr(prop.edm if prop else '')}>")
            for row in value:
                lines.append(f"{indent}  <d:element m:type={quoteattr(row_type)}>")
                lines += [
                    f"{indent}    <d:{k}>{_value(v)}</d:{k}>"
                    if v not in ("", None)
                    else f"{indent}    <d:{k}/>"
                    for k, v in row.items()
                ]
                lines.append(f"{indent}  </d:element>")
            lines.append(f"{indent}</d:{name}>")
        elif isinstance(value, dict):
            continue
        elif value is None:
            lines.append(f'{indent}<d:{name} m:null="true"/>')
        elif value == "":
            lines.append(f"{indent}<d:{name}/>")
        else:
            lines.append(f"{indent}<d:{name}>{_value(value)}</d:{name}>")
    return lines


def _entry_lines(
    definition: EntitySetDef, full: dict[str, Any], shown: dict[str, Any], root: str, updated: str
) -> list[str]:
    key = entity_key(definition, full)
    lines = [
        f"  <id>{escape(root)}/{escape(key)}</id>",
        f'  <category term={quoteattr(f"{NAMESPACE}.{definition.name}")} scheme="{_SCHEME}"/>',
        '  <title type="text"/>',
        f"  <updated>{updated}</updated>",
        "  <author/>",
        "  <summary/>",
        f'  <link rel="edit" href={quoteattr(key)} title="edit link"/>',
        '  <content type="application/xml">',
        "    <m:properties>",
        *_properties(definition.by_name, shown, "      "),
        "    </m:properties>",
        "  </content>",
    ]
    return lines


def _now() -> str:
    return datetime.now().strftime("%Y-%m-%dT%H:%M:%S")


def render_entry(
    definition: EntitySetDef, full: dict[str, Any], shown: dict[str, Any], root: str
) -> str:
    """One entity as an Atom ``<entry>`` document."""
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', f"<entry {_NS}>"]
    lines += _entry_lines(definition, full, shown, root, _now())
    lines.append("</entry>")
    return "\n".join(lines) + "\n"


def render_feed(
    definition: EntitySetDef,
    rows: list[tuple[dict[str, Any], dict[str, Any]]],
    root: str,
    count: int | None,
) -> str:
    """A collection as an Atom ``<feed>``; ``rows`` are ``(stored, projected)`` pairs."""
    updated = _now()
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<feed {_NS} xmlns:at="http://purl.org/atompub/tombstones/1.0" '
        f"xml:base={quoteattr(root + '/')}>",
        f"  <id>{escape(root)}/{escape(definition.name)}</id>",
        f'  <title type="text">{escape(definition.name)}</title>',
        f"  <updated>{updated}</updated>",
        "  <author/>",
        f'  <link rel="self" href={quoteattr(definition.name)} '
        f"title={quoteattr(definition.name)}/>",
    ]
    for full, shown in rows:
        lines.append("  <entry>")
        lines += ["  " + line for line in _entry_lines(definition, full, shown, root, updated)]
        lines.append("  </entry>")
    if count is not None:
        lines.append(f"  <m:count>{count}</m:count>")
    lines.append("</feed>")
    return "\n".join(lines) + "\n"
