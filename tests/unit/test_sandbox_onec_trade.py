"""Seeded trade data and the business effects of posting in the УТ 11 sandbox."""

from __future__ import annotations

import pytest

from bitrix1c.domain.requisites import is_valid_inn, is_valid_kpp, is_valid_ogrn
from bitrix1c.sandbox.onec import OneCBase, TradeData, populate_trade, populate_ut11
from bitrix1c.sandbox.onec.errors import ODataError
from bitrix1c.sandbox.onec.registers import virtual_table
from bitrix1c.sandbox.seed import generate_counterparties

STOCK = "AccumulationRegister_ТоварыНаСкладах_RecordType"
SETTLEMENTS = "AccumulationRegister_РасчетыСКлиентами_RecordType"


@pytest.fixture
def seeded() -> tuple[OneCBase, TradeData]:
    base = OneCBase(None, predefined=True)
    seeds = list(generate_counterparties(30, seed=3))
    populate_ut11(base, seeds)
    return base, populate_trade(base, seeds, items=12, orders=18)


def _balance(base: OneCBase, register: str, segment: str) -> list[dict[str, object]]:
    return virtual_table(
        base.definition(register), segment, {}, base.rows(register), lambda text: lambda row: True
    )


def test_seed_has_realistic_catalogs(seeded: tuple[OneCBase, TradeData]) -> None:
    base, data = seeded
    org = base.get("Catalog_Организации", data.organization)
    assert org is not None
    assert is_valid_inn(org["ИНН"]) and is_valid_kpp(org["КПП"]) and is_valid_ogrn(org["ОГРН"])
    units = {u["Code"]: u["Description"] for u in base.rows("Catalog_УпаковкиЕдиницыИзмерения")}
    assert units["796"] == "шт" and units["006"] == "м"
    items = base.rows("Catalog_Номенклатура")
    assert len(items) == 12 and all(i["Артикул"].startswith("ТД-") for i in items)
    assert all(i["ЕдиницаИзмерения_Key"] in data.units.values() for i in items)
    assert len(data.bank_receipts) and len(data.cash_receipts) and len(data.shipments)
    partial = [o for o in data.orders if 0 < data.paid[o] < data.totals[o]]
    assert partial, "some orders are paid only in part"


def test_balances_follow_the_posted_documents(seeded: tuple[OneCBase, TradeData]) -> None:
    base, data = seeded
    owed = {
        row["ОбъектРасчетов_Key"]: row["КОплатеBalance"]
        for row in _balance(base, SETTLEMENTS, "Balance(Dimensions='ОбъектРасчетов')")
    }
    for order in data.orders:
        settlement = base.get("Document_ЗаказКлиента", order)["ОбъектРасчетов_Key"]  # type: ignore[index]
        assert owed.get(settlement, 0) == pytest.approx(data.totals[order] - data.paid[order])


def test_posting_a_shipment_reduces_stock_and_unposting_restores_it(
    seeded: tuple[OneCBase, TradeData],
) -> None:
    base, data = seeded

    def stock() -> dict[tuple[object, object], object]:
        rows = _balance(base, STOCK, "Balance(Dimensions='Номенклатура, Склад')")
        return {(r["Номенклатура_Key"], r["Склад_Key"]): r["ВНаличииBalance"] for r in rows}

    shipment = base.get("Document_РеализацияТоваровУслуг", data.shipments[0])
    assert shipment is not None
    line = shipment["Товары"][0]
    key = (line["Номенклатура_Key"], shipment["Склад_Key"])
    posted = stock()[key]
    base.set_posted("Document_РеализацияТоваровУслуг", shipment["Ref_Key"], False)
    assert stock()[key] == posted + sum(
        x["Количество"] for x in shipment["Товары"] if x["Номенклатура_Key"] == key[0]
    )
    base.set_posted("Document_РеализацияТоваровУслуг", shipment["Ref_Key"], True)
    assert stock()[key] == posted


def test_balance_on_a_turnover_register_is_method_not_found() -> None:
    base = OneCBase(None, profile="bp30")
    register = "AccumulationRegister_ОплатаСчетов_RecordType"
    with pytest.raises(ODataError) as info:
        _balance(base, register, "Balance()")
    assert info.value.code == "6"
