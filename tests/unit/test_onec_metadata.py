"""``$metadata`` parsing: the real УТ 11 excerpt, the sandbox's generated documents, drift."""

from __future__ import annotations

from pathlib import Path

import pytest

from bitrix1c.onec.metadata import Drift, looks_custom, parse_metadata
from bitrix1c.onec.profiles import PROFILES
from bitrix1c.sandbox.onec.metadata import edmx_for

REAL = Path(__file__).resolve().parents[1] / "data/reference/onec/ut-real.edmx"


@pytest.fixture(scope="module")
def real():  # type: ignore[no-untyped-def]
    return parse_metadata(REAL.read_bytes())


def test_real_ut11_metadata_parses(real) -> None:  # type: ignore[no-untyped-def]
    assert real.namespace == "StandardODATA"
    assert len(real.entity_sets) == 34
    assert len(real.entity_types) == 34
    assert len(real.complex_types) == 32
    assert len(real.functions) == 23
    counterparty = real.entity("Catalog_Контрагенты")
    assert counterparty.key == ("Ref_Key",)
    assert counterparty.properties["ИНН"].type == "Edm.String"
    assert counterparty.properties["DataVersion"].type == "Edm.String"
    assert counterparty.properties["Ref_Key"].nullable is False
    assert "Партнер" in counterparty.references
    assert set(counterparty.tabular_sections) == {
        "КонтактнаяИнформация",
        "ДополнительныеРеквизиты",
        "ИсторияКПП",
        "ИсторияНаименований",
    }
    rows = real.row_type("Catalog_Контрагенты", "КонтактнаяИнформация")
    assert "НомерТелефона" in rows


def test_composite_fields_and_customer_fields(real) -> None:  # type: ignore[no-untyped-def]
    sale = real.entity("Document_РеализацияТоваровУслуг")
    assert "ЗаказКлиента" in sale.composite  # X + X_Type, no X_Key
    assert "Контрагент" not in sale.composite  # a single-type reference (Контрагент_Key)
    assert "Xx_УИДЗаказаНаШлюзе" in sale.custom
    assert "пр_ПодписаноВЭДО" in sale.custom
    assert sale.open_type is True


def test_bindable_functions_without_entity_set(real) -> None:  # type: ignore[no-untyped-def]
    plan = real.functions_of("AccumulationRegister_РасчетыСКлиентамиПланОплат")
    assert set(plan) == {"Balance", "Turnovers", "BalanceAndTurnovers"}
    balance = plan["Balance"]
    assert balance.entity_set is None
    assert set(balance.parameters) == {"Condition", "Dimensions", "Period"}
    assert balance.return_type.endswith("_Balance)")
    assert set(real.functions_of("Document_РеализацияТоваровУслуг")) == {"Post", "Unpost"}
    assert "SliceLast" in real.functions_of("InformationRegister_СтоимостьТоваров_RecordType")


def test_drift_names_what_is_missing(real) -> None:  # type: ignore[no-untyped-def]
    drift = real.missing(
        {
            "Catalog_Контрагенты": ["ИНН", "КПП", "КР_Сегмент", "КонтактнаяИнформация/АдресЭП"],
            "Document_ЗаказКлиента": ["Number"],
            "AccumulationRegister_РасчетыСКлиентамиПланОплат": ["/Balance", "/SliceLast"],
        }
    )
    assert drift == [
        Drift("Catalog_Контрагенты", "КР_Сегмент"),
        Drift("Document_ЗаказКлиента"),
        Drift("AccumulationRegister_РасчетыСКлиентамиПланОплат", "/SliceLast"),
    ]
    assert str(drift[0]) == "Catalog_Контрагенты has no property КР_Сегмент"
    assert str(drift[1]) == "entity set Document_ЗаказКлиента is not published"


@pytest.mark.parametrize("profile", ["ut11", "bp30", "retail2"])
def test_sandbox_metadata_publishes_what_the_profile_names(profile: str) -> None:
    meta = parse_metadata(edmx_for(profile))
    assert "Catalog_Контрагенты" in meta
    prices = meta.functions_of("InformationRegister_ЦеныНоменклатуры_RecordType")
    assert "SliceLast" in prices
    drift = {d.entity_set for d in meta.missing(PROFILES[profile].needed())}
    # the sandbox leaves out the accounting register (its Dr/Cr layout is not derived)
    assert drift <= {
        "AccountingRegister_Хозрасчетный",
        "AccountingRegister_Хозрасчетный_RecordType",
    }


def test_a_document_with_entities_is_refused() -> None:
    evil = (
        b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]>'
        b'<edmx:Edmx xmlns:edmx="http://schemas.microsoft.com/ado/2007/06/edmx">&b;</edmx:Edmx>'
    )
    with pytest.raises(Exception, match=r"(?i)entit"):
        parse_metadata(evil)


def test_customer_prefixes() -> None:
    assert looks_custom("КР_Сегмент")
    assert looks_custom("зл_Флаг")
    assert looks_custom("ххх_ИдЦентр")
    assert not looks_custom("Партнер_Key")
    assert not looks_custom("Ref_Key")
    assert not looks_custom("Recorder_Type")
    assert not looks_custom("ИНН")
