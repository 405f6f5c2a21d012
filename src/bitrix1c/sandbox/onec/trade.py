"""Seed an УТ 11 base with trade data beyond counterparties (opt-in; deterministic).

``populate_trade(base, counterparties)`` adds, on top of :func:`populate_ut11`:

* an own organization with valid ИНН/КПП/ОГРН, the ruble, two warehouses;
* units from the OKEI classifier (``Code`` = OKEI code: 796 шт, 166 кг, 006 м, 778 упак,
  112 л) in ``Catalog_УпаковкиЕдиницыИзмерения``;
* items with articles (``Артикул``) and units; two price types (retail, wholesale) and
  prices in ``InformationRegister_ЦеныНоменклатуры`` set by two price-setting documents
  (the later one changes some prices, so ``SliceLast`` matters);
* opening stock per warehouse in ``AccumulationRegister_ТоварыНаСкладах``;
* per customer order (``Document_ЗаказКлиента`` with goods lines, posted): a settlement
  object, an invoice for payment (``Document_СчетНаОплатуКлиенту``), and — depending on the
  order — a full or partial bank receipt, a cash receipt, and a shipment
  (``Document_РеализацияТоваровУслуг``), all posted through :meth:`OneCBase.set_posted`,
  so settlements and stock are the registers' real balances.

The БП 3.0 counterpart is :func:`bitrix1c.sandbox.onec.bp30.populate_bp30`.

Ids are ``uuid5`` of stable names, so two runs with the same seed give the same base.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from bitrix1c.domain.requisites import generate_inn_legal, generate_kpp, generate_ogrn
from bitrix1c.sandbox.seed import SeedCounterparty

from .base import OneCBase
from .schema import NAMESPACE

__all__ = [
    "GOODS",
    "SEED_START",
    "UNITS",
    "TradeData",
    "populate_trade",
    "seed_ref",
    "wire_datetime",
]

UNITS = (  # OKEI code, short name, full name, international code
    ("796", "шт", "Штука", "PCE"),
    ("166", "кг", "Килограмм", "KGM"),
    ("006", "м", "Метр", "MTR"),
    ("778", "упак", "Упаковка", "NMP"),
    ("112", "л", "Литр; кубический дециметр", "LTR"),
)
GOODS = (
    ("Бумага офисная А4 500 л.", "778", 390.0),
    ("Кабель ВВГнг 3х2,5", "006", 96.5),
    ("Краска фасадная белая", "112", 415.0),
    ("Цемент М500", "166", 12.4),
    ("Перчатки рабочие х/б", "796", 35.0),
    ("Саморез 4,2х75", "778", 260.0),
    ("Лампа светодиодная E27 10 Вт", "796", 145.0),
    ("Герметик силиконовый", "796", 310.0),
    ("Плитка керамическая 30х30", "796", 68.0),
    ("Труба ПП 20 мм", "006", 54.0),
)
SEED_START = datetime(2025, 3, 3, 9, 0, 0)


def seed_ref(kind: str, name: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"1c:trade:{kind}:{name}"))


def wire_datetime(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S")


@dataclass
class TradeData:
    """The refs of what was created (for tests and the demo)."""

    organization: str = ""
    currency: str = ""
    warehouses: list[str] = field(default_factory=list)
    units: dict[str, str] = field(default_factory=dict)  # OKEI code → Ref_Key
    items: list[str] = field(default_factory=list)
    price_types: dict[str, str] = field(default_factory=dict)  # name → Ref_Key
    orders: list[str] = field(default_factory=list)
    invoices: list[str] = field(default_factory=list)
    bank_receipts: list[str] = field(default_factory=list)
    cash_receipts: list[str] = field(default_factory=list)
    shipments: list[str] = field(default_factory=list)
    paid: dict[str, float] = field(default_factory=dict)  # order → paid amount
    totals: dict[str, float] = field(default_factory=dict)  # order → amount


def populate_trade(
    base: OneCBase,
    counterparties: Sequence[SeedCounterparty],
    *,
    items: int = 30,
    orders: int = 24,
    seed: int = 1,
) -> TradeData:
    """Fill ``base`` (profile ut11) with the trade data described in the module doc."""
    if base.profile != "ut11":
        raise ValueError("populate_trade fills an УТ 11 base (profile ut11)")
    rnd = random.Random(seed)
    data = TradeData()
    with base.bulk():
        _catalogs(base, data, rnd, items)
        _prices_and_stock(base, data, rnd)
        for i, cp in enumerate(counterparties[:orders]):
            _order_cycle(base, data, rnd, i, cp)
    return data


def _catalogs(base: OneCBase, data: TradeData, rnd: random.Random, items: int) -> None:
    inn = generate_inn_legal(rnd, "77")
    data.organization = base.create(
        "Catalog_Организации",
        {
            "Ref_Key": seed_ref("org", "main"),
            "Description": "Торговый дом Восток",
            "НаименованиеПолное": 'Общество с ограниченной ответственностью "Торговый дом Восток"',
            "НаименованиеСокращенное": 'ООО "ТД Восток"',
            "ИНН": inn,
            "КПП": generate_kpp(inn, rnd),
            "ОГРН": generate_ogrn(rnd, inn),
            "ЮрФизЛицо": "ЮрЛицо",
            "Префикс": "ТД",
        },
    )["Ref_Key"]
    data.currency = base.create(
        "Catalog_Валюты",
        {
            "Ref_Key": seed_ref("currency", "643"),
            "Code": "643",
            "Description": "RUB",
            "НаименованиеПолное": "Российский рубль",
        },
    )["Ref_Key"]
    for name in ("Основной склад", "Склад Санкт-Петербург"):
        data.warehouses.append(
            base.create(
                "Catalog_Склады",
                {
                    "Ref_Key": seed_ref("warehouse", name),
                    "Description": name,
                    "ТипСклада": "ОптовыйСклад",
                },
            )["Ref_Key"]
        )
    for code, short, full, intl in UNITS:
        data.units[code] = base.create(
            "Catalog_УпаковкиЕдиницыИзмерения",
            {
                "Ref_Key": seed_ref("unit", code),
                "Code": code,
                "Description": short,
                "НаименованиеПолное": full,
                "МеждународноеСокращение": intl,
            },
        )["Ref_Key"]
    for name in ("Розничная", "Оптовая"):
        data.price_types[name] = base.create(
            "Catalog_ВидыЦен",
            {
                "Ref_Key": seed_ref("price-type", name),
                "Description": name,
                "ВалютаЦены_Key": data.currency,
                "ЦенаВключаетНДС": True,
                "Статус": "Действует",
                "ИспользоватьПриПродаже": True,
            },
        )["Ref_Key"]
    for n in range(items):
        title, unit, _ = GOODS[n % len(GOODS)]
        variant = n // len(GOODS)
        data.items.append(
            base.create(
                "Catalog_Номенклатура",
                {
                    "Ref_Key": seed_ref("item", str(n)),
                    "Description": title if not variant else f"{title} (вариант {variant + 1})",
                    "НаименованиеПолное": title,
                    "Артикул": f"ТД-{1000 + n:05d}",
                    "ЕдиницаИзмерения_Key": data.units[unit],
                    "ТипНоменклатуры": "Товар",
                },
            )["Ref_Key"]
        )


def _prices_and_stock(base: OneCBase, data: TradeData, rnd: random.Random) -> None:
    prices = "InformationRegister_ЦеныНоменклатуры_RecordType"
    recorder_type = f"{NAMESPACE}.Document_УстановкаЦенНоменклатуры"
    for version, moment in enumerate(
        (SEED_START - timedelta(days=30), SEED_START - timedelta(days=5))
    ):
        recorder = seed_ref("price-setting", str(version))
        line = 0
        for n, item in enumerate(data.items):
            if version and n % 3:  # the later document changes every third item
                continue
            base_price = GOODS[n % len(GOODS)][2] * (1.1 if version else 1.0)
            for name, factor in (("Розничная", 1.0), ("Оптовая", 0.85)):
                line += 1
                base.create(
                    prices,
                    {
                        "Recorder": recorder,
                        "Recorder_Type": recorder_type,
                        "Period": wire_datetime(moment),
                        "LineNumber": line,
                        "Active": True,
                        "Номенклатура_Key": item,
                        "ВидЦены_Key": data.price_types[name],
                        "Цена": round(base_price * factor, 2),
                        "Валюта_Key": data.currency,
                    },
                )
    stock = "AccumulationRegister_ТоварыНаСкладах_RecordType"
    recorder = seed_ref("opening-balance", "stock")
    line = 0
    for warehouse in data.warehouses:
        for item in data.items:
            line += 1
            base.create(
                stock,
                {
                    "Recorder": recorder,
                    "Recorder_Type": f"{NAMESPACE}.Document_ВводОстатков",
                    "Period": wire_datetime(SEED_START - timedelta(days=60)),
                    "LineNumber": line,
                    "Active": True,
                    "RecordType": "Receipt",
                    "Номенклатура_Key": item,
                    "Склад_Key": warehouse,
                    "ВНаличии": rnd.randint(20, 400),
                },
            )


def _price(data: TradeData, item: str) -> float:
    n = data.items.index(item)
    return GOODS[n % len(GOODS)][2]


def _order_cycle(
    base: OneCBase, data: TradeData, rnd: random.Random, i: int, cp: SeedCounterparty
) -> None:
    date = SEED_START + timedelta(days=i, hours=rnd.randint(0, 8))
    warehouse = data.warehouses[i % len(data.warehouses)]
    lines: list[dict[str, Any]] = []
    for item in rnd.sample(data.items, rnd.randint(1, 4)):
        qty = rnd.randint(1, 12)
        price = _price(data, item)
        amount = round(qty * price, 2)
        vat = round(amount * 20 / 120, 2)
        lines.append(
            {
                "Номенклатура_Key": item,
                "КоличествоУпаковок": qty,
                "Количество": qty,
                "ВидЦены_Key": data.price_types["Розничная"],
                "Цена": price,
                "Сумма": amount,
                "СуммаНДС": vat,
                "СуммаСНДС": amount,
                "Склад_Key": warehouse,
            }
        )
    total = round(sum(line["Сумма"] for line in lines), 2)
    order_ref = seed_ref("order", str(i))
    settlement = seed_ref("settlement-object", str(i))
    head = {
        "Организация_Key": data.organization,
        "Партнер_Key": cp.partner_ref_key,
        "Контрагент_Key": cp.ref_key,
        "Валюта_Key": data.currency,
    }
    numbered = [{**line, "LineNumber": n} for n, line in enumerate(lines, start=1)]
    base.create(
        "Catalog_ОбъектыРасчетов",
        {
            "Ref_Key": settlement,
            "Description": f"Заказ клиента {i + 1} от {date:%d.%m.%Y}",
            "Объект": order_ref,
            "Объект_Type": f"{NAMESPACE}.Document_ЗаказКлиента",
            "Партнер_Key": cp.partner_ref_key,
            "Организация_Key": data.organization,
            "Сумма": total,
            "Валюта_Key": data.currency,
            "Дата": wire_datetime(date),
        },
    )
    base.create(
        "Document_ЗаказКлиента",
        {
            "Ref_Key": order_ref,
            "Date": wire_datetime(date),
            **head,
            "Склад_Key": warehouse,
            "СуммаДокумента": total,
            "Статус": "КОтгрузке",
            "ЦенаВключаетНДС": True,
            "ОбъектРасчетов_Key": settlement,
            "Товары": numbered,
        },
    )
    base.set_posted("Document_ЗаказКлиента", order_ref, True)
    data.orders.append(order_ref)
    data.totals[order_ref] = total
    invoice = base.create(
        "Document_СчетНаОплатуКлиенту",
        {
            "Ref_Key": seed_ref("invoice", str(i)),
            "Date": wire_datetime(date + timedelta(hours=1)),
            **head,
            "СуммаДокумента": total,
            "ДокументОснование": order_ref,
            "ДокументОснование_Type": f"{NAMESPACE}.Document_ЗаказКлиента",
            "НазначениеПлатежа": f"Оплата по счету {i + 1}",
        },
    )
    base.set_posted("Document_СчетНаОплатуКлиенту", invoice["Ref_Key"], True)
    data.invoices.append(invoice["Ref_Key"])
    # Payments: a third in full by bank, a third partially (half), some by cash, rest unpaid.
    paid = 0.0
    mode = i % 6
    if mode in (0, 1, 2, 3):
        amount = total if mode in (0, 1) else round(total / 2, 2)
        kind = "cash" if mode == 1 else "bank"
        when = date + timedelta(days=1)
        paid = _receipt(base, data, i, kind, when, head, (order_ref, settlement), amount)
    data.paid[order_ref] = paid
    if mode in (0, 2, 4):
        shipped = date + timedelta(days=2)
        _shipment(base, data, i, shipped, head, warehouse, (order_ref, settlement), numbered, total)


def _receipt(
    base: OneCBase,
    data: TradeData,
    i: int,
    kind: str,
    date: datetime,
    head: dict[str, Any],
    order: tuple[str, str],
    amount: float,
) -> float:
    order_ref, settlement = order
    entity_set = (
        "Document_ПоступлениеБезналичныхДенежныхСредств"
        if kind == "bank"
        else "Document_ПриходныйКассовыйОрдер"
    )
    ref = seed_ref(f"receipt-{kind}", str(i))
    fields: dict[str, Any] = {
        "Ref_Key": ref,
        "Date": wire_datetime(date),
        "Организация_Key": data.organization,
        "Контрагент_Key": head["Контрагент_Key"],
        "Партнер_Key": head["Партнер_Key"],
        "Валюта_Key": data.currency,
        "СуммаДокумента": amount,
        "ХозяйственнаяОперация": "ПоступлениеОплатыОтКлиента",
        "РасшифровкаПлатежа": [
            {
                "LineNumber": 1,
                "Партнер_Key": head["Партнер_Key"],
                "ОснованиеПлатежа": order_ref,
                "ОснованиеПлатежа_Type": f"{NAMESPACE}.Document_ЗаказКлиента",
                "ОбъектРасчетов_Key": settlement,
                "Сумма": amount,
                "СуммаВзаиморасчетов": amount,
            }
        ],
    }
    if kind == "bank":
        fields["НазначениеПлатежа"] = f"Оплата по заказу {i + 1}, в т.ч. НДС 20%"
    else:
        fields["ПринятоОт"] = "Представитель клиента"
    base.create(entity_set, fields)
    base.set_posted(entity_set, ref, True)
    (data.bank_receipts if kind == "bank" else data.cash_receipts).append(ref)
    return amount


def _shipment(
    base: OneCBase,
    data: TradeData,
    i: int,
    date: datetime,
    head: dict[str, Any],
    warehouse: str,
    order: tuple[str, str],
    lines: list[dict[str, Any]],
    total: float,
) -> None:
    order_ref, settlement = order
    ref = seed_ref("shipment", str(i))
    base.create(
        "Document_РеализацияТоваровУслуг",
        {
            "Ref_Key": ref,
            "Date": wire_datetime(date),
            **head,
            "Склад_Key": warehouse,
            "СуммаДокумента": total,
            "ЗаказКлиента": order_ref,
            "ЗаказКлиента_Type": f"{NAMESPACE}.Document_ЗаказКлиента",
            "Товары": [
                {
                    **{k: v for k, v in line.items() if k != "КоличествоУпаковок"},
                    "КоличествоУпаковок": line["Количество"],
                    "ЗаказКлиента": order_ref,
                    "ЗаказКлиента_Type": f"{NAMESPACE}.Document_ЗаказКлиента",
                }
                for line in lines
            ],
            "РасшифровкаПлатежа": [
                {"LineNumber": 1, "Сумма": total, "ОбъектРасчетов_Key": settlement}
            ],
        },
    )
    base.set_posted("Document_РеализацияТоваровУслуг", ref, True)
    data.shipments.append(ref)
