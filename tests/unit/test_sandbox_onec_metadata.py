"""$metadata (EDMX) and service documents of the 1C OData emulator."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

import defusedxml.ElementTree as ET
import pytest

from bitrix1c.sandbox.onec.metadata import edmx_for, service_document_atom, service_document_json
from bitrix1c.sandbox.onec.schema import load_schema

EDMX = "{http://schemas.microsoft.com/ado/2007/06/edmx}"
EDM = "{http://schemas.microsoft.com/ado/2009/11/edm}"
META = "{http://schemas.microsoft.com/ado/2007/08/dataservices/metadata}"
REAL_EDMX = Path(__file__).parents[1] / "data" / "reference" / "onec" / "ut-real.edmx"


def _raw_schema(profile: str) -> dict[str, Any]:
    text = (
        resources.files("bitrix1c.sandbox.onec")
        .joinpath("schemas", f"{profile}.json")
        .read_text("utf-8")
    )
    return json.loads(text)


def _types(root: Any) -> dict[str, Any]:
    schema = root.find(f"{EDMX}DataServices/{EDM}Schema")
    return {
        el.get("Name"): el for el in schema if el.tag in (f"{EDM}EntityType", f"{EDM}ComplexType")
    }


@pytest.fixture(scope="module", params=["ut11", "bp30"])
def parsed(request: pytest.FixtureRequest) -> tuple[str, Any]:
    return request.param, ET.fromstring(edmx_for(request.param))


def test_edmx_envelope_like_real_1c(parsed: tuple[str, Any]) -> None:
    _, root = parsed
    assert root.tag == f"{EDMX}Edmx" and root.get("Version") == "1.0"
    services = root.find(f"{EDMX}DataServices")
    assert services.get(f"{META}DataServiceVersion") == "3.0"
    schema = services.find(f"{EDM}Schema")
    assert schema.get("Namespace") == "StandardODATA"
    container = schema.find(f"{EDM}EntityContainer")
    assert container.get("Name") == "EnterpriseV8"
    assert container.get(f"{META}IsDefaultEntityContainer") == "true"
    assert not list(schema.iter(f"{EDM}AssociationSet"))  # 1C publishes none


def test_every_schema_object_is_an_entity_set(parsed: tuple[str, Any]) -> None:
    profile, root = parsed
    container = root.find(f"{EDMX}DataServices/{EDM}Schema/{EDM}EntityContainer")
    sets = {el.get("Name"): el.get("EntityType") for el in container.iter(f"{EDM}EntitySet")}
    for obj in _raw_schema(profile)["objects"].values():
        if obj["kind"] == "AccountingRegister":
            continue  # record layout not derived in the schema file
        assert sets[obj["odata_entity_set"]] == f"StandardODATA.{obj['odata_entity_set']}"
        for ts in obj.get("tabular_sections", []):
            assert ts["odata_entity_set"] in sets
        if obj.get("odata_recordset_entity_set"):
            assert obj["odata_recordset_entity_set"] in sets


def test_properties_follow_schema_order_and_types(parsed: tuple[str, Any]) -> None:
    profile, root = parsed
    types = _types(root)
    for obj in _raw_schema(profile)["objects"].values():
        if obj["kind"] == "AccountingRegister":
            continue
        entity = types[obj["odata_entity_set"]]
        names = [p.get("Name") for p in entity.findall(f"{EDM}Property")]
        assert names == obj["odata_properties"], obj["odata_entity_set"]
        keys = [k.get("Name") for k in entity.find(f"{EDM}Key")]
        assert keys == obj["odata_key"]
        for prop in entity.findall(f"{EDM}Property"):
            assert prop.get("Nullable") == ("false" if prop.get("Name") in keys else "true")
        has_type = any(n.endswith("_Type") for n in names)
        assert (entity.get("OpenType") == "true") == has_type


def test_catalog_kontragenty_types_equal_schema_edm() -> None:
    types = _types(ET.fromstring(edmx_for("ut11")))
    obj = _raw_schema("ut11")["objects"]["Catalog.Контрагенты"]
    entity = types["Catalog_Контрагенты"]
    got = {p.get("Name"): p.get("Type") for p in entity.findall(f"{EDM}Property")}
    for attr in obj["attributes"]:
        for name in attr["odata"]:
            assert got[name] == attr["edm"], name
    assert got["Ref_Key"] == "Edm.Guid" and got["DataVersion"] == "Edm.String"
    assert got["DeletionMark"] == "Edm.Boolean" and got["Description"] == "Edm.String"
    for ts in obj["tabular_sections"]:
        assert got[ts["name"]] == f"Collection(StandardODATA.{ts['odata_row_type']})"
        row_type = types[ts["odata_row_type"]]
        assert row_type.tag == f"{EDM}ComplexType"
        assert [p.get("Name") for p in row_type.findall(f"{EDM}Property")] == ts["row_properties"]
        row_set = types[ts["odata_entity_set"]]
        assert [k.get("Name") for k in row_set.find(f"{EDM}Key")] == ["Ref_Key", "LineNumber"]
        line = row_set.find(f"{EDM}Property[@Name='LineNumber']")
        assert line.get("Type") == "Edm.Int64" and line.get("Nullable") == "false"
    navs = {
        n.get("Name"): n.get("Relationship") for n in entity.findall(f"{EDM}NavigationProperty")
    }
    assert navs == {
        "ГоловнойКонтрагент": "StandardODATA.Catalog_Контрагенты_ГоловнойКонтрагент",
        "Партнер": "StandardODATA.Catalog_Контрагенты_Партнер",
    }


def test_composite_fields_and_function_imports() -> None:
    root = ET.fromstring(edmx_for("ut11"))
    types = _types(root)
    order = types["Document_ЗаказКлиента"]
    props = {p.get("Name"): p.get("Type") for p in order.findall(f"{EDM}Property")}
    assert props["ДокументОснование"] == "Edm.String"
    assert props["ДокументОснование_Type"] == "Edm.String"
    assert "ДокументОснование_Key" not in props
    assert order.get("OpenType") == "true"
    schema = root.find(f"{EDMX}DataServices/{EDM}Schema")
    enums = {e.get("Name"): [m.get("Name") for m in e] for e in schema.iter(f"{EDM}EnumType")}
    assert enums["ЮрФизЛицо"] == [
        "ЮрЛицо",
        "ФизЛицо",
        "ЮрЛицоНеРезидент",
        "ИндивидуальныйПредприниматель",
    ]
    functions = [
        (f.get("Name"), f.find(f"{EDM}Parameter").get("Type"))
        for f in schema.iter(f"{EDM}FunctionImport")
    ]
    assert ("Post", "StandardODATA.Document_ЗаказКлиента") in functions
    assert ("Unpost", "StandardODATA.Document_ЗаказКлиента") in functions
    assert (
        "SliceLast",
        "StandardODATA.InformationRegister_ЦеныНоменклатуры_RecordType",
    ) in functions
    recordset = types["InformationRegister_ЦеныНоменклатуры"]
    assert [p.get("Name") for p in recordset.findall(f"{EDM}Property")] == [
        "Recorder",
        "RecordSet",
        "Recorder_Type",
    ]


def test_same_conventions_as_real_ut_edmx() -> None:
    """Types present in both documents agree on keys, OpenType, property types, Nullable."""
    real = _types(ET.parse(REAL_EDMX).getroot())
    ours = _types(ET.fromstring(edmx_for("ut11")))
    common = sorted(set(real) & set(ours))
    assert len(common) >= 5, common
    for name in common:
        r, o = real[name], ours[name]
        assert r.tag == o.tag, name
        if r.tag == f"{EDM}EntityType":
            assert [k.get("Name") for k in r.find(f"{EDM}Key")] == [
                k.get("Name") for k in o.find(f"{EDM}Key")
            ], name
        rp = {
            p.get("Name"): (p.get("Type"), p.get("Nullable")) for p in r.findall(f"{EDM}Property")
        }
        op = {
            p.get("Name"): (p.get("Type"), p.get("Nullable")) for p in o.findall(f"{EDM}Property")
        }
        shared = set(rp) & set(op)
        assert len(shared) >= min(len(rp), len(op)) // 2, name
        for prop in shared:
            assert rp[prop] == op[prop], (name, prop)


def test_service_documents() -> None:
    schema = load_schema("ut11")
    root = "http://h/trade/odata/standard.odata"
    doc = service_document_json(schema, root)
    assert doc["odata.metadata"] == root
    assert {"name": "Catalog_Контрагенты", "url": "Catalog_Контрагенты"} in doc["value"]
    assert {
        "name": "Catalog_Контрагенты_КонтактнаяИнформация",
        "url": "Catalog_Контрагенты_КонтактнаяИнформация",
    } in doc["value"]
    atom = ET.fromstring(service_document_atom(schema, root).encode())
    hrefs = [c.get("href") for c in atom.iter("{http://www.w3.org/2007/app}collection")]
    assert hrefs == [v["name"] for v in doc["value"]]
