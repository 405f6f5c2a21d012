"""Управление торговлей 11.5 (onec.md §2.2; reference/onec/objects/ut11.json)."""

from __future__ import annotations

from bitrix1c.onec.profiles.base import Concept, Profile, kind_by_yur_fiz_litso

UT11 = Profile(
    name="ut11",
    title="Управление торговлей 11",
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
                "partner": "Партнер_Key",
                "contact_info": "КонтактнаяИнформация",
            },
        ),
        "partner": Concept(
            "Catalog_Партнеры",
            {
                "name": "Description",
                "full_name": "НаименованиеПолное",
                "is_customer": "Клиент",
                "kind": "ЮрФизЛицо",
                "manager": "ОсновнойМенеджер_Key",
                "contact_info": "КонтактнаяИнформация",
            },
        ),
        "contact_person": Concept(
            "Catalog_КонтактныеЛицаПартнеров",
            {
                "name": "Description",
                "owner": "Owner_Key",  # → Catalog_Партнеры
                "position": "ДолжностьПоВизитке",
                "contact_info": "КонтактнаяИнформация",
            },
        ),
        "bank_account": Concept(
            "Catalog_БанковскиеСчетаКонтрагентов",
            {
                "name": "Description",
                "owner": "Owner",  # composite: Контрагенты | ФизическиеЛица
                "owner_type": "Owner_Type",
                "number": "НомерСчета",
                "bank": "Банк_Key",  # → КлассификаторБанков (not in the reference)
                # The bank's own attributes, stored on the account (filled from the
                # classifier, or typed with РучноеИзменениеРеквизитовБанка).
                "bik": "БИКБанка",
                "bank_name": "НаименованиеБанка",
                "corr_account": "КоррСчетБанка",
                "closed": "Закрыт",
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
                "item_type": "ТипНоменклатуры",
                "vat_rate": "СтавкаНДС_Key",
                "is_folder": "IsFolder",
                "parent": "Parent_Key",
            },
        ),
        "unit": Concept(
            "Catalog_УпаковкиЕдиницыИзмерения",
            {
                "name": "Description",
                "okei": "Code",  # units loaded from the classifier carry the OKEI code
                "full_name": "НаименованиеПолное",
                "international": "МеждународноеСокращение",
            },
        ),
        "price_type": Concept(
            "Catalog_ВидыЦен",
            {
                "name": "Description",
                "currency": "ВалютаЦены_Key",
                "includes_vat": "ЦенаВключаетНДС",
                "status": "Статус",
            },
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
                "currency": "Валюта_Key",
            },
            function="SliceLast",
        ),
        "warehouse": Concept(
            "Catalog_Склады",
            {"name": "Description", "kind": "ТипСклада", "is_folder": "IsFolder"},
        ),
        "stock": Concept(
            "AccumulationRegister_ТоварыНаСкладах",
            {
                "item": "Номенклатура_Key",
                "characteristic": "Характеристика_Key",
                "warehouse": "Склад_Key",
                "quantity": "ВНаличии",
                "reserved": "КОтгрузке",
            },
            function="Balance",
        ),
        "customer_order": Concept(
            "Document_ЗаказКлиента",
            {
                "number": "Number",
                "date": "Date",
                "posted": "Posted",
                "organization": "Организация_Key",
                "partner": "Партнер_Key",
                "counterparty": "Контрагент_Key",
                "agreement": "Соглашение_Key",
                "contract": "Договор_Key",
                "warehouse": "Склад_Key",
                "currency": "Валюта_Key",
                "amount": "СуммаДокумента",
                "status": "Статус",
                "price_includes_vat": "ЦенаВключаетНДС",
                "comment": "Комментарий",
                "customer_number": "НомерПоДаннымКлиента",
                "settlement_object": "ОбъектРасчетов_Key",
                "lines": "Товары",
                "line_item": "Товары/Номенклатура_Key",
                "line_package": "Товары/Упаковка_Key",
                "line_packages": "Товары/КоличествоУпаковок",
                "line_quantity": "Товары/Количество",
                "line_price": "Товары/Цена",
                "line_amount": "Товары/Сумма",
                "line_vat_rate": "Товары/СтавкаНДС_Key",
                "line_vat": "Товары/СуммаНДС",
                "line_total": "Товары/СуммаСНДС",
            },
        ),
        "invoice": Concept(
            "Document_СчетНаОплатуКлиенту",
            {
                "number": "Number",
                "date": "Date",
                "posted": "Posted",
                "organization": "Организация_Key",
                "partner": "Партнер_Key",
                "counterparty": "Контрагент_Key",
                "currency": "Валюта_Key",
                "amount": "СуммаДокумента",
                "base_document": "ДокументОснование",  # composite: ЗаказКлиента, …
                "cancelled": "Аннулирован",
                "purpose": "НазначениеПлатежа",
            },
        ),
        "bank_receipt": Concept(
            "Document_ПоступлениеБезналичныхДенежныхСредств",
            {
                "number": "Number",
                "date": "Date",
                "posted": "Posted",
                "organization": "Организация_Key",
                "counterparty": "Контрагент_Key",
                "partner": "Партнер_Key",
                "amount": "СуммаДокумента",
                "currency": "Валюта_Key",
                "purpose": "НазначениеПлатежа",
                "lines": "РасшифровкаПлатежа",
                "line_amount": "РасшифровкаПлатежа/Сумма",
                "line_basis": "РасшифровкаПлатежа/ОснованиеПлатежа",  # composite
                "line_settlement_object": "РасшифровкаПлатежа/ОбъектРасчетов_Key",
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
                "partner": "Партнер_Key",
                "amount": "СуммаДокумента",
                "currency": "Валюта_Key",
                "lines": "РасшифровкаПлатежа",
                "line_amount": "РасшифровкаПлатежа/Сумма",
                "line_basis": "РасшифровкаПлатежа/ОснованиеПлатежа",
                "line_settlement_object": "РасшифровкаПлатежа/ОбъектРасчетов_Key",
            },
        ),
        "shipment": Concept(
            "Document_РеализацияТоваровУслуг",
            {
                "number": "Number",
                "date": "Date",
                "posted": "Posted",
                "organization": "Организация_Key",
                "partner": "Партнер_Key",
                "counterparty": "Контрагент_Key",
                "warehouse": "Склад_Key",
                "amount": "СуммаДокумента",
                "order": "ЗаказКлиента",  # composite
                "status": "Статус",
                "lines": "Товары",
                "line_item": "Товары/Номенклатура_Key",
                "line_quantity": "Товары/Количество",
                "line_price": "Товары/Цена",
                "line_amount": "Товары/Сумма",
                "line_order": "Товары/ЗаказКлиента",
            },
        ),
        "act": Concept(
            "Document_АктВыполненныхРабот",
            {
                "number": "Number",
                "date": "Date",
                "posted": "Posted",
                "organization": "Организация_Key",
                "partner": "Партнер_Key",
                "counterparty": "Контрагент_Key",
                "amount": "СуммаДокумента",
                "order": "ЗаказКлиента",
                "lines": "Услуги",
                "line_item": "Услуги/Номенклатура_Key",
                "line_amount": "Услуги/Сумма",
            },
        ),
        "tax_invoice": Concept(
            "Document_СчетФактураВыданный",
            {
                "number": "Number",
                "date": "Date",
                "posted": "Posted",
                "organization": "Организация_Key",
                "counterparty": "Контрагент",  # composite
                "base_document": "ДокументОснование",
                "issued": "ДатаВыставления",
            },
        ),
        "settlements": Concept(
            "AccumulationRegister_РасчетыСКлиентами",
            {
                "analytics": "АналитикаУчетаПоПартнерам_Key",
                "settlement_object": "ОбъектРасчетов_Key",
                "currency": "Валюта_Key",
                "debt": "Сумма",
                "to_pay": "КОплате",
                "invoice": "СчетНаОплату_Key",
            },
            function="Balance",
        ),
    },
)
