"""Розница 2 (onec.md §1.13; reference/onec/objects/retail2.json).

Розница has no partners, no invoices for payment and no bank-receipt document of its own
among the checked objects; a customer order is ``ЗаказПокупателя`` and a shipment
``РеализацияТоваров``.
"""

from __future__ import annotations

from bitrix1c.onec.profiles.base import Concept, Profile, kind_by_yur_fiz_litso

RETAIL2 = Profile(
    name="retail2",
    title="Розница 2",
    counterparty_kind=kind_by_yur_fiz_litso,
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
                "kind": "ЮрФизЛицо",
                "contact_info": "КонтактнаяИнформация",
            },
        ),
        "bank_account": Concept(
            "Catalog_БанковскиеСчетаКонтрагентов",
            {
                "name": "Description",
                "owner": "Owner_Key",  # → Catalog_Контрагенты
                "number": "НомерСчета",
                "bank": "Банк_Key",
                "bik": "БИКБанка",
                "bank_name": "НаименованиеБанка",
                "corr_account": "КоррСчетБанка",
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
                "is_folder": "IsFolder",
                "parent": "Parent_Key",
            },
        ),
        "unit": Concept(
            "Catalog_БазовыеЕдиницыИзмерения",
            {
                "name": "Description",
                "okei": "Code",
                "full_name": "НаименованиеПолное",
                "international": "МеждународноеСокращение",
            },
        ),
        "price_type": Concept(
            "Catalog_ВидыЦен",
            {"name": "Description", "includes_vat": "ЦенаВключаетНДС"},
        ),
        "prices": Concept(
            "InformationRegister_ЦеныНоменклатуры_RecordType",
            {
                "period": "Period",
                "item": "Номенклатура_Key",
                "characteristic": "Характеристика_Key",
                "price_type": "ВидЦены_Key",
                "price": "Цена",
                "package": "Упаковка_Key",
                "currency": "Валюта",  # a string in Розница
            },
            function="SliceLast",
        ),
        "warehouse": Concept(
            "Catalog_Склады",
            {"name": "Description", "kind": "ТипСклада", "store": "Магазин_Key"},
        ),
        "stock": Concept(
            "AccumulationRegister_ТоварыНаСкладах",
            {
                "item": "Номенклатура_Key",
                "characteristic": "Характеристика_Key",
                "warehouse": "Склад_Key",
                "quantity": "Количество",
                "reserved": "Резерв",
            },
            function="Balance",
        ),
        "customer_order": Concept(
            "Document_ЗаказПокупателя",
            {
                "number": "Number",
                "date": "Date",
                "posted": "Posted",
                "organization": "Организация_Key",
                "counterparty": "Контрагент_Key",
                "warehouse": "Склад_Key",
                "store": "Магазин_Key",
                "amount": "СуммаДокумента",
                "status": "Статус",
                "site_number": "НомерЗаказаНаСайте",
                "lines": "Товары",
                "line_item": "Товары/Номенклатура_Key",
                "line_package": "Товары/Упаковка_Key",
                "line_quantity": "Товары/Количество",
                "line_price": "Товары/Цена",
                "line_amount": "Товары/Сумма",
                "line_vat_rate": "Товары/СтавкаНДС",
            },
        ),
        "cash_receipt": Concept(
            "Document_ПриходныйКассовыйОрдер",
            {
                "number": "Number",
                "date": "Date",
                "posted": "Posted",
                "organization": "Организация_Key",
                "counterparty": "Контрагент_Key",
                "amount": "СуммаДокумента",
                "order": "ЗаказПокупателя_Key",
                "lines": "РасшифровкаПлатежа",
                "line_amount": "РасшифровкаПлатежа/Сумма",
                "line_basis": "РасшифровкаПлатежа/ДокументРасчетовСКонтрагентом",
            },
        ),
        "shipment": Concept(
            "Document_РеализацияТоваров",
            {
                "number": "Number",
                "date": "Date",
                "posted": "Posted",
                "organization": "Организация_Key",
                "counterparty": "Контрагент_Key",
                "warehouse": "Склад_Key",
                "amount": "СуммаДокумента",
                "lines": "Товары",
                "line_item": "Товары/Номенклатура_Key",
                "line_quantity": "Товары/Количество",
                "line_amount": "Товары/Сумма",
            },
        ),
        "tax_invoice": Concept(
            "Document_СчетФактураВыданный",
            {
                "number": "Number",
                "date": "Date",
                "posted": "Posted",
                "organization": "Организация_Key",
                "counterparty": "Контрагент",
                "base_document": "ДокументОснование",
            },
        ),
        "settlements": Concept(
            "AccumulationRegister_РасчетыСКлиентами",
            {
                "organization": "Организация_Key",
                "counterparty": "Контрагент_Key",
                "order": "ЗаказПокупателя_Key",
                "amount": "Сумма",
            },
            function="Balance",
        ),
    },
)
