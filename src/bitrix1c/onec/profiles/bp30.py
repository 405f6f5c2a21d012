"""Бухгалтерия предприятия 3.0 (onec.md §2.2; reference/onec/objects/bp30.json)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bitrix1c.domain.counterparty import CounterpartyKind
from bitrix1c.onec.profiles.base import Concept, Profile


def kind_by_legal_form(row: Mapping[str, Any], concept: Concept) -> CounterpartyKind:
    """ЮридическоеФизическоеЛицо: ЮридическоеЛицо | ФизическоеЛицо; a sole proprietor is
    ФизическоеЛицо with the boolean ИндивидуальныйПредприниматель."""
    if row.get(concept["kind"]) == "ФизическоеЛицо":
        return "ip" if row.get(concept["sole_proprietor"]) else "individual"
    return "legal"


BP30 = Profile(
    name="bp30",
    title="Бухгалтерия предприятия 3.0",
    counterparty_kind=kind_by_legal_form,
    # БП 3.0 has no partners, no customer orders (the invoice for payment is the order)
    # and no quantity register for goods (onec.md §1.13, §2.4–2.7).
    concepts={
        "counterparty": Concept(
            "Catalog_Контрагенты",
            {
                "name": "Description",
                "full_name": "НаименованиеПолное",
                "inn": "ИНН",
                "kpp": "КПП",
                "okpo": "КодПоОКПО",
                "ogrn": "РегистрационныйНомер",  # ОГРН / ОГРНИП of a Russian counterparty
                "kind": "ЮридическоеФизическоеЛицо",
                "sole_proprietor": "ИндивидуальныйПредприниматель",
                "main_contact": "ОсновноеКонтактноеЛицо_Key",
                "contact_info": "КонтактнаяИнформация",
            },
        ),
        "contact_person": Concept(
            "Catalog_КонтактныеЛица",
            {
                "name": "Description",
                "last_name": "Фамилия",
                "first_name": "Имя",
                "middle_name": "Отчество",
                "position": "Должность",
                "owner": "ОбъектВладелец",  # composite: Контрагенты | Пользователи
                "owner_type": "ОбъектВладелец_Type",
                "contact_info": "КонтактнаяИнформация",
            },
        ),
        # БП keeps the bank's BIK and correspondent account in Catalog_Банки (Банк_Key),
        # which the reference schema does not describe; only the account is read here.
        "bank_account": Concept(
            "Catalog_БанковскиеСчета",
            {
                "name": "Description",
                "owner": "Owner",  # composite: Контрагенты | Организации | ФизическиеЛица
                "owner_type": "Owner_Type",
                "number": "НомерСчета",
                "bank": "Банк_Key",
            },
        ),
        "organization": Concept(
            "Catalog_Организации",
            {
                "name": "Description",
                "full_name": "НаименованиеПолное",
                "inn": "ИНН",
                "kpp": "КПП",
                "ogrn": "ОГРН",
            },
        ),
        "item": Concept(
            "Catalog_Номенклатура",
            {
                "name": "Description",
                "code": "Code",
                "full_name": "НаименованиеПолное",
                "article": "Артикул",
                "unit": "ЕдиницаИзмерения_Key",
                "is_service": "Услуга",
                "vat_rate": "ВидСтавкиНДС",
                "is_folder": "IsFolder",
                "parent": "Parent_Key",
            },
        ),
        "unit": Concept(
            "Catalog_КлассификаторЕдиницИзмерения",
            {"name": "Description", "okei": "Code", "full_name": "НаименованиеПолное"},
        ),
        "price_type": Concept(
            "Catalog_ТипыЦенНоменклатуры",
            {
                "name": "Description",
                "currency": "ВалютаЦены_Key",
                "includes_vat": "ЦенаВключаетНДС",
            },
        ),
        "prices": Concept(
            "InformationRegister_ЦеныНоменклатуры_RecordType",
            {
                "period": "Period",
                "item": "Номенклатура_Key",
                "price_type": "ТипЦен_Key",
                "price": "Цена",
                "currency": "Валюта_Key",
            },
            function="SliceLast",
        ),
        "warehouse": Concept(
            "Catalog_Склады",
            {"name": "Description", "kind": "ТипСклада", "is_folder": "IsFolder"},
        ),
        # Quantities live on accounts 41/10 of the accounting register; its Dr/Cr record
        # layout is not in the reference schema, so no property is named here.
        "stock": Concept("AccountingRegister_Хозрасчетный", {}, function="Balance"),
        "invoice": Concept(
            "Document_СчетНаОплатуПокупателю",
            {
                "number": "Number",
                "date": "Date",
                "posted": "Posted",
                "organization": "Организация_Key",
                "counterparty": "Контрагент_Key",
                "contract": "ДоговорКонтрагента_Key",
                "bank_account": "СтруктурнаяЕдиница_Key",
                "warehouse": "Склад_Key",
                "currency": "ВалютаДокумента_Key",
                "amount": "СуммаДокумента",
                "amount_includes_vat": "СуммаВключаетНДС",
                "price_type": "ТипЦен_Key",
                "comment": "Комментарий",
                "lines": "Товары",
                "line_item": "Товары/Номенклатура",  # composite: Номенклатура | ОС
                "line_quantity": "Товары/Количество",
                "line_price": "Товары/Цена",
                "line_amount": "Товары/Сумма",
                "line_vat_rate": "Товары/СтавкаНДС",
                "line_vat": "Товары/СуммаНДС",
            },
        ),
        "bank_receipt": Concept(
            "Document_ПоступлениеНаРасчетныйСчет",
            {
                "number": "Number",
                "date": "Date",
                "posted": "Posted",
                "operation": "ВидОперации",
                "organization": "Организация_Key",
                "counterparty": "Контрагент",  # composite: Контрагенты | ФизическиеЛица
                "contract": "ДоговорКонтрагента_Key",
                "amount": "СуммаДокумента",
                "currency": "ВалютаДокумента_Key",
                "purpose": "НазначениеПлатежа",
                "lines": "РасшифровкаПлатежа",
                "line_amount": "РасшифровкаПлатежа/СуммаПлатежа",
                "line_invoice": "РасшифровкаПлатежа/СчетНаОплату_Key",
                "line_basis": "РасшифровкаПлатежа/Сделка",  # composite
            },
        ),
        "cash_receipt": Concept(
            "Document_ПриходныйКассовыйОрдер",
            {
                "number": "Number",
                "date": "Date",
                "posted": "Posted",
                "operation": "ВидОперации",
                "organization": "Организация_Key",
                "counterparty": "Контрагент",
                "amount": "СуммаДокумента",
                "currency": "ВалютаДокумента_Key",
                "lines": "РасшифровкаПлатежа",
                "line_amount": "РасшифровкаПлатежа/СуммаПлатежа",
                "line_invoice": "РасшифровкаПлатежа/СчетНаОплату_Key",
                "line_basis": "РасшифровкаПлатежа/Сделка",
            },
        ),
        "shipment": Concept(
            "Document_РеализацияТоваровУслуг",
            {
                "number": "Number",
                "date": "Date",
                "posted": "Posted",
                "operation": "ВидОперации",
                "organization": "Организация_Key",
                "counterparty": "Контрагент_Key",
                "warehouse": "Склад_Key",
                "amount": "СуммаДокумента",
                "invoice": "СчетНаОплатуПокупателю_Key",
                "is_upd": "ЭтоУниверсальныйДокумент",
                "lines": "Товары",
                "line_item": "Товары/Номенклатура_Key",
                "line_quantity": "Товары/Количество",
                "line_price": "Товары/Цена",
                "line_amount": "Товары/Сумма",
                "services": "Услуги",
                "service_item": "Услуги/Номенклатура_Key",
                "service_amount": "Услуги/Сумма",
            },
        ),
        "act": Concept(
            "Document_ОказаниеУслуг",
            {
                "number": "Number",
                "date": "Date",
                "posted": "Posted",
                "organization": "Организация_Key",
                "amount": "СуммаДокумента",
                "lines": "Контрагенты",
            },
        ),
        "tax_invoice": Concept(
            "Document_СчетФактураВыданный",
            {
                "number": "Number",
                "date": "Date",
                "posted": "Posted",
                "organization": "Организация_Key",
                "counterparty": "Контрагент_Key",
                "base_document": "ДокументОснование",
                "issued": "ДатаВыставления",
            },
        ),
        # Invoice payments (turnover register); debt proper is account 62 of Хозрасчетный.
        "settlements": Concept(
            "AccumulationRegister_ОплатаСчетов",
            {
                "organization": "Организация_Key",
                "invoice": "СчетНаОплату",  # composite
                "amount": "Сумма",
                "vat": "СуммаНДС",
            },
            function="Turnovers",
        ),
    },
)
