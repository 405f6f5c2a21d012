"""Seed a БП 3.0 base with counterparties, catalogs, invoices and bank receipts (opt-in).

``populate_bp30(base, counterparties)`` fills a БП 3.0 base: counterparties (БП has no
partners), the organization, a bank account, OKEI units in ``КлассификаторЕдиницИзмерения``,
items, price types and prices, invoices for payment (``СчетНаОплатуПокупателю``, the
composite ``Номенклатура`` + ``_Type`` in goods lines) and posted bank receipts
(``ПоступлениеНаРасчетныйСчет``, full or partial, each payment line linked to its invoice by
``СчетНаОплату_Key``), whose posting writes ``ОплатаСчетов``.

Contact persons go to ``Catalog_КонтактныеЛица`` with the composite owner
``ОбъектВладелец`` + ``ОбъектВладелец_Type`` (the counterparty), and :data:`USER_CONTACTS`
are a user's personal contacts (owner ``Catalog_Пользователи``). Bank accounts go to
``Catalog_БанковскиеСчета`` (composite ``Owner`` + ``Owner_Type``) with their number only:
the bank (``Банк_Key`` → ``Catalog_Банки``) is not published by the emulator.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from bitrix1c.domain.requisites import generate_inn_legal, generate_kpp, generate_ogrn
from bitrix1c.sandbox.seed import SeedCounterparty, SeedPerson

from .base import OneCBase
from .populate import person_contact_info
from .schema import NAMESPACE
from .trade import GOODS, SEED_START, UNITS, TradeData, seed_ref, wire_datetime

__all__ = ["USER_CONTACTS", "populate_bp30"]

#: A user's personal contacts (owner ``Catalog_Пользователи``), not clients' people.
USER_CONTACTS = (
    SeedPerson(
        ref_key=seed_ref("bp-user-contact", "0"),
        last_name="Смирнова",
        first_name="Ольга",
        middle_name="Петровна",
        position="Стоматолог",
        phones=("+7 (495) 610-20-30",),
        emails=("o.smirnova@dentalclinic.ru",),
    ),
)
USER_KEY = seed_ref("bp-user", "accountant")


_BP_KIND = {"legal": "ЮридическоеЛицо", "ip": "ФизическоеЛицо", "individual": "ФизическоеЛицо"}


def populate_bp30(
    base: OneCBase,
    counterparties: Sequence[SeedCounterparty],
    *,
    items: int = 20,
    invoices: int = 18,
    seed: int = 1,
) -> TradeData:
    """Fill a БП 3.0 base (profile bp30) as described in the module doc."""
    if base.profile != "bp30":
        raise ValueError("populate_bp30 fills a БП 3.0 base (profile bp30)")
    rnd = random.Random(seed)
    data = TradeData()
    with base.bulk():
        for cp in counterparties:
            base.create(
                "Catalog_Контрагенты",
                {
                    "Ref_Key": cp.ref_key,
                    "Description": cp.name,
                    "НаименованиеПолное": cp.full_name,
                    "ИНН": cp.inn,
                    "КПП": cp.kpp,
                    "КодПоОКПО": cp.okpo,
                    "РегистрационныйНомер": cp.ogrn,
                    "ЮридическоеФизическоеЛицо": _BP_KIND[cp.kind],
                    "ИндивидуальныйПредприниматель": cp.kind == "ip",
                },
            )
        for cp in counterparties:
            for person in cp.contacts:
                _contact_person(base, person, cp.ref_key, "Catalog_Контрагенты")
            for account in cp.bank_accounts:
                base.create(
                    "Catalog_БанковскиеСчета",
                    {
                        "Ref_Key": account.ref_key,
                        "Description": f"{account.number}, {account.bank_name}",
                        "Owner": cp.ref_key,
                        "Owner_Type": f"{NAMESPACE}.Catalog_Контрагенты",
                        "НомерСчета": account.number,
                    },
                )
        for person in USER_CONTACTS:
            _contact_person(base, person, USER_KEY, "Catalog_Пользователи")
        inn = generate_inn_legal(rnd, "50")
        data.organization = base.create(
            "Catalog_Организации",
            {
                "Ref_Key": seed_ref("bp-org", "main"),
                "Description": "Бухгалтерия Север",
                "НаименованиеПолное": 'ООО "Бухгалтерия Север"',
                "ИНН": inn,
                "КПП": generate_kpp(inn, rnd),
                "ОГРН": generate_ogrn(rnd, inn),
            },
        )["Ref_Key"]
        account = base.create(
            "Catalog_БанковскиеСчета",
            {"Ref_Key": seed_ref("bp-account", "main"), "Description": "Расчетный счет"},
        )["Ref_Key"]
        data.currency = base.create(
            "Catalog_Валюты",
            {"Ref_Key": seed_ref("bp-currency", "643"), "Code": "643", "Description": "руб."},
        )["Ref_Key"]
        for code, short, full, _ in UNITS:
            data.units[code] = base.create(
                "Catalog_КлассификаторЕдиницИзмерения",
                {
                    "Ref_Key": seed_ref("bp-unit", code),
                    "Code": code,
                    "Description": short,
                    "НаименованиеПолное": full,
                },
            )["Ref_Key"]
        data.price_types["Основная цена продажи"] = base.create(
            "Catalog_ТипыЦенНоменклатуры",
            {
                "Ref_Key": seed_ref("bp-price-type", "main"),
                "Description": "Основная цена продажи",
                "ВалютаЦены_Key": data.currency,
                "ЦенаВключаетНДС": True,
            },
        )["Ref_Key"]
        for n in range(items):
            title, unit, price = GOODS[n % len(GOODS)]
            item = seed_ref("bp-item", str(n))
            base.create(
                "Catalog_Номенклатура",
                {
                    "Ref_Key": item,
                    "Description": title,
                    "НаименованиеПолное": title,
                    "Артикул": f"БП-{2000 + n:05d}",
                    "ЕдиницаИзмерения_Key": data.units[unit],
                },
            )
            data.items.append(item)
            base.create(
                "InformationRegister_ЦеныНоменклатуры_RecordType",
                {
                    "Recorder": seed_ref("bp-price-setting", "0"),
                    "Recorder_Type": f"{NAMESPACE}.Document_УстановкаЦенНоменклатуры",
                    "Period": wire_datetime(SEED_START - timedelta(days=20)),
                    "LineNumber": n + 1,
                    "Active": True,
                    "ТипЦен_Key": data.price_types["Основная цена продажи"],
                    "Номенклатура_Key": item,
                    "Цена": price,
                    "Валюта_Key": data.currency,
                },
            )
        for i, cp in enumerate(counterparties[:invoices]):
            _bp_invoice_cycle(base, data, rnd, i, cp, account)
    return data


def _contact_person(base: OneCBase, person: SeedPerson, owner: str, owner_set: str) -> None:
    base.create(
        "Catalog_КонтактныеЛица",
        {
            "Ref_Key": person.ref_key,
            "Description": f"{person.last_name} {person.first_name} {person.middle_name}",
            "Фамилия": person.last_name,
            "Имя": person.first_name,
            "Отчество": person.middle_name,
            "Должность": person.position,
            "ОбъектВладелец": owner,
            "ОбъектВладелец_Type": f"{NAMESPACE}.{owner_set}",
            "КонтактнаяИнформация": person_contact_info(person),
        },
    )


def _bp_invoice_cycle(
    base: OneCBase, data: TradeData, rnd: random.Random, i: int, cp: SeedCounterparty, account: str
) -> None:
    date = SEED_START + timedelta(days=i)
    lines: list[dict[str, Any]] = []
    total = 0.0
    for n, item in enumerate(rnd.sample(data.items, rnd.randint(1, 3)), start=1):
        qty = rnd.randint(1, 10)
        price = GOODS[data.items.index(item) % len(GOODS)][2]
        amount = round(qty * price, 2)
        lines.append(
            {
                "LineNumber": n,
                "Номенклатура": item,
                "Номенклатура_Type": f"{NAMESPACE}.Catalog_Номенклатура",
                "Количество": qty,
                "Цена": price,
                "Сумма": amount,
                "СтавкаНДС": "НДС20",
                "СуммаНДС": round(amount * 20 / 120, 2),
            }
        )
        total = round(total + amount, 2)
    invoice = seed_ref("bp-invoice", str(i))
    base.create(
        "Document_СчетНаОплатуПокупателю",
        {
            "Ref_Key": invoice,
            "Date": wire_datetime(date),
            "Организация_Key": data.organization,
            "Контрагент_Key": cp.ref_key,
            "СтруктурнаяЕдиница_Key": account,
            "ВалютаДокумента_Key": data.currency,
            "СуммаВключаетНДС": True,
            "СуммаДокумента": total,
            "Товары": lines,
        },
    )
    data.invoices.append(invoice)
    data.totals[invoice] = total
    mode = i % 3  # paid in full, paid in part, unpaid
    paid = total if mode == 0 else round(total * 0.4, 2) if mode == 1 else 0.0
    data.paid[invoice] = paid
    if not paid:
        return
    receipt = seed_ref("bp-receipt", str(i))
    base.create(
        "Document_ПоступлениеНаРасчетныйСчет",
        {
            "Ref_Key": receipt,
            "Date": wire_datetime(date + timedelta(days=2)),
            "ВидОперации": "ОплатаПокупателя",
            "Организация_Key": data.organization,
            "СчетОрганизации_Key": account,
            "Контрагент": cp.ref_key,
            "Контрагент_Type": f"{NAMESPACE}.Catalog_Контрагенты",
            "СуммаДокумента": paid,
            "ВалютаДокумента_Key": data.currency,
            "НазначениеПлатежа": f"Оплата по счету № {i + 1}, в т.ч. НДС 20%",
            "РасшифровкаПлатежа": [
                {
                    "LineNumber": 1,
                    "СчетНаОплату_Key": invoice,
                    "СуммаПлатежа": paid,
                    "СуммаВзаиморасчетов": paid,
                    "СтавкаНДС": "НДС20",
                    "СуммаНДС": round(paid * 20 / 120, 2),
                }
            ],
        },
    )
    base.set_posted("Document_ПоступлениеНаРасчетныйСчет", receipt, True)
    data.bank_receipts.append(receipt)
