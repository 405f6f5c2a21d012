"""Literals, query options and virtual-table paths as 1C reads them."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from bitrix1c.onec.query import (
    Query,
    cast,
    date_time,
    encode_options,
    guid,
    literal,
    number,
    string,
    virtual_table,
)

REF = "41AA6331-954F-11E3-814B-005056C00008"


def test_literals() -> None:
    assert guid(REF) == "guid'41aa6331-954f-11e3-814b-005056c00008'"
    assert string("O'Brien") == "'O''Brien'"
    assert string('ООО "Ромашка"') == "'ООО \"Ромашка\"'"
    aware = datetime(2025, 1, 2, 3, 4, 5, 678, tzinfo=UTC)
    assert date_time(aware) == "datetime'2025-01-02T03:04:05'"
    assert date_time(date(2025, 1, 2)) == "datetime'2025-01-02T00:00:00'"
    assert number(Decimal("1500.50")) == "1500.5"
    assert number(0.00001) == "0.00001"
    assert number(12) == "12"
    assert literal(True) == "true"
    assert literal("x") == "'x'"
    assert cast(REF, "StandardODATA.Document_ЗаказКлиента") == (
        "cast(guid'41aa6331-954f-11e3-814b-005056c00008', 'Document_ЗаказКлиента')"
    )
    with pytest.raises(ValueError):
        guid("not-a-guid")


def test_spaces_are_percent_20_never_plus() -> None:
    text = encode_options({"$filter": "ИНН eq '7707083893' and DeletionMark eq false"})
    assert "+" not in text
    assert "%20eq%20" in text
    assert text.startswith("$filter=%D0%98%D0%9D%D0%9D%20eq%20'7707083893'")
    assert encode_options({"$filter": "a eq 'x+y&z'"}) == "$filter=a%20eq%20'x%2By%26z'"


def test_query_options() -> None:
    q = Query(
        select=("Ref_Key", "Description"),
        filter="DeletionMark eq false",
        orderby=("Ref_Key",),
        top=500,
        skip=1000,
        expand=("Партнер",),
        allowed_only=True,
        inlinecount=True,
    )
    assert q.options() == {
        # 1C expands only what is also selected
        "$select": "Ref_Key,Description,Партнер",
        "$expand": "Партнер",
        "$filter": "DeletionMark eq false",
        "$orderby": "Ref_Key",
        "$top": "500",
        "$skip": "1000",
        "$inlinecount": "allpages",
        "allowedOnly": "true",
    }
    narrowed = q.where("ИНН eq '1'")
    assert narrowed.filter == "(DeletionMark eq false) and (ИНН eq '1')"
    assert Query().options() == {}


def test_virtual_tables() -> None:
    assert virtual_table(
        "AccumulationRegister_ТоварыНаСкладах",
        "Balance",
        condition=f"Склад_Key eq {guid(REF)}",
        dimensions=("Номенклатура", "Склад"),
    ) == (
        "AccumulationRegister_ТоварыНаСкладах/Balance("
        "Condition='Склад_Key eq guid'41aa6331-954f-11e3-814b-005056c00008'',"
        "Dimensions='Номенклатура, Склад')"
    )
    assert virtual_table(
        "AccumulationRegister_РасчетыСКлиентами",
        "Turnovers",
        start=date(2025, 1, 1),
        end=datetime(2025, 1, 31, 23, 59, 59),
    ) == (
        "AccumulationRegister_РасчетыСКлиентами/Turnovers("
        "StartPeriod=datetime'2025-01-01T00:00:00',EndPeriod=datetime'2025-01-31T23:59:59')"
    )
    assert virtual_table("InformationRegister_X_RecordType", "SliceLast") == (
        "InformationRegister_X_RecordType/SliceLast()"
    )
