"""Every entity set and property a profile names exists in that configuration's schema.

The schemas are the reference extracts of real configuration dumps (ut11, bp30, retail2),
so a typo in a profile fails here instead of against a customer's base.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from bitrix1c.onec.profiles import CONCEPTS, PROFILES, ConceptOverride, get_profile
from bitrix1c.settings import OneCBaseSettings

SCHEMAS = Path(__file__).resolve().parents[2] / "src/bitrix1c/sandbox/onec/schemas"


@cache
def _sets(profile: str) -> dict[str, dict[str, Any]]:
    """entity set (record set and _RecordType both) → {properties, tabular, functions}."""
    data = json.loads((SCHEMAS / f"{profile}.json").read_text(encoding="utf-8"))
    out: dict[str, dict[str, Any]] = {}
    for obj in data["objects"].values():
        entry = {
            "properties": set(obj.get("odata_properties", [])),
            "layout_known": "odata_properties" in obj,
            "tabular": {
                ts["name"]: set(ts["row_properties"]) for ts in obj.get("tabular_sections", [])
            },
            "functions": set(obj.get("virtual_tables") or []),
        }
        for name in (obj.get("odata_entity_set"), obj.get("odata_recordset_entity_set")):
            if name:
                out[name] = entry
    return out


CASES = [
    (profile.name, concept_name)
    for profile in PROFILES.values()
    for concept_name in profile.concepts
]


def test_schemas_cover_every_profile() -> None:
    assert {p for p, _ in CASES} == {"ut11", "bp30", "retail2"}
    assert all(c in CONCEPTS for _, c in CASES)


@pytest.mark.parametrize(("profile_name", "concept_name"), CASES)
def test_profile_names_exist_in_the_configuration(profile_name: str, concept_name: str) -> None:
    concept = PROFILES[profile_name].concept(concept_name)
    sets = _sets(profile_name)
    assert concept.entity_set in sets, f"{profile_name}: no entity set {concept.entity_set}"
    entry = sets[concept.entity_set]
    if concept.function:
        assert concept.function in entry["functions"]
    for role, name in concept.fields.items():
        if "/" in name:
            section, column = name.split("/", 1)
            assert column in entry["tabular"].get(section, set()), f"{role}: {name}"
        else:
            assert entry["layout_known"], f"{concept.entity_set}: layout unknown, name none"
            assert name in entry["properties"] or name in entry["tabular"], f"{role}: {name}"


@pytest.mark.parametrize("name", ["ut11", "bp30", "retail2"])
def test_counterparty_fields_exist(name: str) -> None:
    profile = PROFILES[name]
    entry = _sets(name)[profile.counterparty.entity_set]
    for field in profile.counterparty.select():
        assert field in entry["properties"], field


def test_ut11_covers_every_concept() -> None:
    assert set(PROFILES["ut11"].concepts) == set(CONCEPTS)


def test_overrides_from_yaml_settings_change_a_profile() -> None:
    base = OneCBaseSettings.model_validate(
        {
            "name": "trade",
            "odata_url": "http://h/trade/odata/standard.odata/",
            "username": "u",
            "overrides": {
                "counterparty": {"extra_fields": ["КР_Сегмент"]},
                "item": {"fields": {"article": "КР_АртикулПоставщика"}},
            },
        }
    )
    profile = get_profile("ut11", base.overrides)
    assert "КР_Сегмент" in profile.concept("counterparty").needed()
    assert profile.concept("item")["article"] == "КР_АртикулПоставщика"
    assert profile.concept("item")["unit"] == "ЕдиницаИзмерения_Key"
    assert "КР_Сегмент" in profile.needed()["Catalog_Контрагенты"]
    # the shared profile object is not changed
    assert get_profile("ut11").concept("item")["article"] == "Артикул"


def test_an_override_of_an_unknown_concept_is_refused() -> None:
    with pytest.raises(KeyError, match="partner"):
        get_profile("bp30", {"partner": ConceptOverride(entity_set="Catalog_Партнеры")})


def test_overrides_reach_what_the_counterparty_flow_reads() -> None:
    """A customized base's field names are used by the flow, not only by drift checks."""
    from bitrix1c.onec.profiles import ConceptOverride, get_profile

    custom = get_profile(
        "bp30",
        {"counterparty": ConceptOverride(fields={"inn": "КР_ИНН", "kind": "КР_ВидЛица"})},
    )
    fields = custom.counterparty
    assert fields.inn == "КР_ИНН" and "КР_ИНН" in fields.select()
    row = {
        "Ref_Key": "x",
        "КР_ИНН": " 500100732259 ",
        "КР_ВидЛица": "ФизическоеЛицо",
        "ИндивидуальныйПредприниматель": True,
    }
    counterparty = fields.to_domain("acc", row)
    assert (counterparty.inn, counterparty.kind) == ("500100732259", "ip")
    assert get_profile("bp30").counterparty.inn == "ИНН"  # the shipped profile is unchanged


@pytest.mark.parametrize("name", sorted(PROFILES))
def test_optional_counterparty_fields_can_be_left_out_of_the_read(name: str) -> None:
    profile = get_profile(name)
    full = profile.counterparty
    lean = profile.without_counterparty_fields({"okpo", "contact_info"}).counterparty
    assert set(full.select()) - set(lean.select()) == {full.okpo, full.contact_info}
    assert full.inn in lean.select() and full.kpp in lean.select()
    row = {"Ref_Key": "k", "Description": "ООО Ромашка", full.inn: "7707083893"}
    cp = lean.to_domain("trade", row)  # what the base answers without those columns
    assert (cp.okpo, cp.phones, cp.full_name) == ("", (), "ООО Ромашка")


@pytest.mark.parametrize("role", ["inn", "kpp", "kind", "Ref_Key"])
def test_a_key_counterparty_field_cannot_be_left_out(role: str) -> None:
    with pytest.raises(ValueError, match="cannot be left out"):
        get_profile("ut11").without_counterparty_fields({role})


def test_role_of_a_counterparty_property() -> None:
    fields = get_profile("ut11").counterparty
    assert fields.role_of(fields.okpo) == "okpo"
    assert fields.role_of(f"{fields.contact_info}/НомерТелефона") == "contact_info"
    assert fields.role_of(fields.inn) == "inn"
    assert fields.role_of(fields.kind_fields[0]) == "kind"
    assert fields.role_of("Description") is None


OWNED = [
    (profile.name, concept)
    for profile in PROFILES.values()
    for concept in ("contact_person", "bank_account")
    if concept in profile.concepts
]


@pytest.mark.parametrize(("profile_name", "concept_name"), OWNED)
def test_a_composite_owner_is_read_with_its_type(profile_name: str, concept_name: str) -> None:
    """A composite reference has no ``_Key``: its ``_Type`` tells whose record it is."""
    concept = PROFILES[profile_name].concept(concept_name)
    properties = _sets(profile_name)[concept.entity_set]["properties"]
    owner = concept["owner"]
    composite = not owner.endswith("_Key") and f"{owner}_Type" in properties
    assert concept.get("owner_type") == (f"{owner}_Type" if composite else None)


def test_every_profile_names_bank_accounts() -> None:
    assert {p for p, c in OWNED if c == "bank_account"} == {"ut11", "bp30", "retail2"}
