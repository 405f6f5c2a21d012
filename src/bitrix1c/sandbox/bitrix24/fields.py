"""Field catalogues of the emulated CRM entities.

Each entity is described once: field name, Bitrix24 field type, flags
(``R`` required, ``O`` read-only, ``I`` immutable, ``M`` multiple) and the Russian
title a ``ru`` cloud portal shows.  From this table the emulator derives the
``*.fields`` replies, the set of fields a record carries, and how a field is
compared in filters (as integer, number, date or text).  The order follows the
``crm.*.get`` samples of the official docs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Kind = Literal["pk", "int", "float", "datetime", "str"]

MULTI_FIELDS: tuple[str, ...] = ("PHONE", "EMAIL", "WEB", "IM", "LINK")

_INT_TYPES = {
    "integer",
    "user",
    "crm_lead",
    "crm_company",
    "crm_contact",
    "crm_entity",
    "crm_category",
    "crm_quote",
}


@dataclass(frozen=True)
class FieldDef:
    """One standard field of an entity."""

    name: str
    type: str
    flags: str
    title: str
    extra: dict[str, Any] = field(default_factory=dict)
    stored: bool = True  # False: write-only / virtual (CONTACT_ID, COMPANY_IDS, multi-fields)

    @property
    def kind(self) -> Kind:
        """How the field compares in filters and sorts."""
        if self.name == "ID":
            return "pk"
        if self.type in _INT_TYPES:
            return "int"
        if self.type == "double":
            return "float"
        if self.type in ("datetime", "date"):
            return "datetime"
        return "str"

    def describe(self) -> dict[str, Any]:
        """The ``crm.*.fields`` entry for this field."""
        info: dict[str, Any] = {
            "type": self.type,
            "isRequired": "R" in self.flags,
            "isReadOnly": "O" in self.flags,
            "isImmutable": "I" in self.flags,
            "isMultiple": "M" in self.flags,
            "isDynamic": False,
        }
        info.update({k: v for k, v in self.extra.items() if k != "settings"})
        info["title"] = self.title
        if "settings" in self.extra:
            info["settings"] = self.extra["settings"]
        return info


def _f(name: str, type_: str, flags: str, title: str, **extra: Any) -> FieldDef:
    stored = not ("M" in flags and type_ in ("crm_multifield", "crm_contact", "crm_company"))
    return FieldDef(name, type_, flags, title, dict(extra), stored)


def _multi() -> list[FieldDef]:
    return [
        _f("PHONE", "crm_multifield", "M", "Телефон"),
        _f("EMAIL", "crm_multifield", "M", "E-mail"),
        _f("WEB", "crm_multifield", "M", "Сайт"),
        _f("IM", "crm_multifield", "M", "Мессенджер"),
        _f("LINK", "crm_multifield", "M", "LINK"),
    ]


def _utm() -> list[FieldDef]:
    return [
        _f("UTM_SOURCE", "string", "", "Рекламная система"),
        _f("UTM_MEDIUM", "string", "", "Тип трафика"),
        _f("UTM_CAMPAIGN", "string", "", "Обозначение рекламной кампании"),
        _f("UTM_CONTENT", "string", "", "Содержание кампании"),
        _f("UTM_TERM", "string", "", "Условие поиска кампании"),
    ]


def _address(prefix: str, title: str, legal: bool) -> list[FieldDef]:
    # Titles as a ru portal prints them (incl. the trailing space of the legal postal code).
    sub = f"{title} " if legal else ""
    rows = [
        _f(f"{prefix}", "string", "", title),
        _f(f"{prefix}_2", "string", "", f"{title} (стр. 2)" if legal else "Адрес (стр. 2)"),
        _f(f"{prefix}_CITY", "string", "", f"{sub}город" if legal else "Город"),
        _f(
            f"{prefix}_POSTAL_CODE",
            "string",
            "",
            f"{sub}почтовый индекс " if legal else "Почтовый индекс",
        ),
        _f(f"{prefix}_REGION", "string", "", f"{sub}район" if legal else "Район"),
        _f(f"{prefix}_PROVINCE", "string", "", f"{sub}область" if legal else "Область"),
        _f(f"{prefix}_COUNTRY", "string", "", f"{sub}страна" if legal else "Страна"),
        _f(f"{prefix}_COUNTRY_CODE", "string", "", f"{sub}код страны" if legal else "Код страны"),
        _f(
            f"{prefix}_LOC_ADDR_ID",
            "integer",
            "",
            f"{sub}идентификатор адреса местоположения"
            if legal
            else "Идентификатор адреса местоположения",
        ),
    ]
    return rows


COMPANY_FIELDS: list[FieldDef] = [
    _f("ID", "integer", "O", "ID"),
    _f("TITLE", "string", "R", "Название компании"),
    _f("COMPANY_TYPE", "crm_status", "", "Тип компании", statusType="COMPANY_TYPE"),
    _f("LOGO", "file", "", "Логотип"),
    *_address("ADDRESS", "Фактический адрес", legal=False),
    _f("ADDRESS_LEGAL", "string", "", "Юридический адрес"),
    *_address("REG_ADDRESS", "Юридический адрес", legal=True),
    _f("BANKING_DETAILS", "string", "", "Банковские реквизиты"),
    _f("INDUSTRY", "crm_status", "", "Сфера деятельности", statusType="INDUSTRY"),
    _f("EMPLOYEES", "crm_status", "", "Кол-во сотрудников", statusType="EMPLOYEES"),
    _f("CURRENCY_ID", "crm_currency", "", "Валюта"),
    _f("REVENUE", "double", "", "Годовой оборот"),
    _f("OPENED", "char", "", "Доступна для всех"),
    _f("COMMENTS", "string", "", "Комментарий"),
    _f("HAS_PHONE", "char", "O", "Задан телефон"),
    _f("HAS_EMAIL", "char", "O", "Задан e-mail"),
    _f("HAS_IMOL", "char", "O", "Задана открытая линия"),
    _f("IS_MY_COMPANY", "char", "", "Моя компания"),
    _f("ASSIGNED_BY_ID", "user", "", "Ответственный"),
    _f("CREATED_BY_ID", "user", "O", "Кем создана"),
    _f("MODIFY_BY_ID", "user", "O", "Кем изменена"),
    _f("DATE_CREATE", "datetime", "O", "Дата создания"),
    _f("DATE_MODIFY", "datetime", "O", "Дата изменения"),
    _f("CONTACT_ID", "crm_contact", "M", "Контакт"),
    _f("LEAD_ID", "crm_lead", "O", "Лид", settings={"parentEntityTypeId": 1}),
    _f("ORIGINATOR_ID", "string", "", "Внешний источник"),
    _f("ORIGIN_ID", "string", "", "Идентификатор элемента во внешнем источнике"),
    _f("ORIGIN_VERSION", "string", "", "Версия оригинала"),
    *_utm(),
    _f("LAST_ACTIVITY_TIME", "datetime", "", "Последняя активность"),
    _f("LAST_ACTIVITY_BY", "user", "", "Автор последней активности в таймлайне"),
    _f("LAST_COMMUNICATION_TIME", "string", "O", "Дата последней коммуникации"),
    *_multi(),
]

CONTACT_FIELDS: list[FieldDef] = [
    _f("ID", "integer", "O", "ID"),
    _f("POST", "string", "", "Должность"),
    _f("COMMENTS", "string", "", "Комментарий"),
    _f("HONORIFIC", "crm_status", "", "Обращение", statusType="HONORIFIC"),
    _f("NAME", "string", "", "Имя"),
    _f("SECOND_NAME", "string", "", "Отчество"),
    _f("LAST_NAME", "string", "", "Фамилия"),
    _f("PHOTO", "file", "", "Фотография"),
    _f("LEAD_ID", "crm_lead", "O", "Лид", settings={"parentEntityTypeId": 1}),
    _f("TYPE_ID", "crm_status", "", "Тип контакта", statusType="CONTACT_TYPE"),
    _f("SOURCE_ID", "crm_status", "", "Источник", statusType="SOURCE"),
    _f("SOURCE_DESCRIPTION", "string", "", "Дополнительно об источнике"),
    _f("COMPANY_ID", "crm_company", "", "Компания", settings={"parentEntityTypeId": 4}),
    _f("COMPANY_IDS", "crm_company", "M", "Компании"),
    _f("BIRTHDATE", "date", "", "Дата рождения"),
    _f("EXPORT", "char", "", "Участвует в экспорте контактов"),
    _f("HAS_PHONE", "char", "O", "Задан телефон"),
    _f("HAS_EMAIL", "char", "O", "Задан e-mail"),
    _f("HAS_IMOL", "char", "O", "Задана открытая линия"),
    _f("DATE_CREATE", "datetime", "O", "Дата создания"),
    _f("DATE_MODIFY", "datetime", "O", "Дата изменения"),
    _f("ASSIGNED_BY_ID", "user", "", "Ответственный"),
    _f("CREATED_BY_ID", "user", "O", "Кем создан"),
    _f("MODIFY_BY_ID", "user", "O", "Кем изменен"),
    _f("OPENED", "char", "", "Доступен для всех"),
    _f("ORIGINATOR_ID", "string", "", "Внешний источник"),
    _f("ORIGIN_ID", "string", "", "Идентификатор элемента во внешнем источнике"),
    _f("ORIGIN_VERSION", "string", "", "Версия оригинала"),
    _f("FACE_ID", "integer", "", "Привязка к лицам из модуля faceid"),
    _f("LAST_ACTIVITY_TIME", "datetime", "", "Последняя активность"),
    *[f for f in _address("ADDRESS", "Адрес", legal=False) if f.name != "ADDRESS_COUNTRY_CODE"],
    *_utm(),
    _f("LAST_ACTIVITY_BY", "user", "", "Автор последней активности в таймлайне"),
    *_multi(),
]

_RQ_TITLES: dict[str, str] = {
    "RQ_NAME": "ФИО",
    "RQ_FIRST_NAME": "Имя",
    "RQ_LAST_NAME": "Фамилия",
    "RQ_SECOND_NAME": "Отчество",
    "RQ_COMPANY_ID": "RQ_COMPANY_ID",
    "RQ_COMPANY_NAME": "Сокращенное наименование организации",
    "RQ_COMPANY_FULL_NAME": "Полное наименование организации",
    "RQ_COMPANY_REG_DATE": "Дата государственной регистрации",
    "RQ_DIRECTOR": "Генеральный директор",
    "RQ_ACCOUNTANT": "Главный бухгалтер",
    "RQ_CEO_NAME": "RQ_CEO_NAME",
    "RQ_CEO_WORK_POS": "RQ_CEO_WORK_POS",
    "RQ_CONTACT": "Контактное лицо",
    "RQ_EMAIL": "E-Mail",
    "RQ_PHONE": "Телефон",
    "RQ_FAX": "Факс",
    "RQ_IDENT_TYPE": "RQ_IDENT_TYPE",
    "RQ_IDENT_DOC": "Вид документа",
    "RQ_IDENT_DOC_SER": "Серия",
    "RQ_IDENT_DOC_NUM": "Номер",
    "RQ_IDENT_DOC_PERS_NUM": "RQ_IDENT_DOC_PERS_NUM",
    "RQ_IDENT_DOC_DATE": "Дата выдачи",
    "RQ_IDENT_DOC_ISSUED_BY": "Кем выдан",
    "RQ_IDENT_DOC_DEP_CODE": "Код подразделения",
    "RQ_INN": "ИНН",
    "RQ_KPP": "КПП",
    "RQ_USRLE": "RQ_USRLE",
    "RQ_IFNS": "ИФНС",
    "RQ_OGRN": "ОГРН",
    "RQ_OGRNIP": "ОГРНИП",
    "RQ_OKPO": "ОКПО",
    "RQ_OKTMO": "ОКТМО",
    "RQ_OKVED": "ОКВЭД",
    "RQ_EDRPOU": "RQ_EDRPOU",
    "RQ_DRFO": "RQ_DRFO",
    "RQ_KBE": "RQ_KBE",
    "RQ_IIN": "RQ_IIN",
    "RQ_BIN": "RQ_BIN",
    "RQ_ST_CERT_SER": "Серия свидетельства о государственной регистрации",
    "RQ_ST_CERT_NUM": "Номер свидетельства о государственной регистрации",
    "RQ_ST_CERT_DATE": "Дата свидетельства о государственной регистрации",
    "RQ_VAT_PAYER": "RQ_VAT_PAYER",
    "RQ_VAT_ID": "RQ_VAT_ID",
    "RQ_VAT_CERT_SER": "RQ_VAT_CERT_SER",
    "RQ_VAT_CERT_NUM": "RQ_VAT_CERT_NUM",
    "RQ_VAT_CERT_DATE": "RQ_VAT_CERT_DATE",
    "RQ_RESIDENCE_COUNTRY": "RQ_RESIDENCE_COUNTRY",
    "RQ_BASE_DOC": "RQ_BASE_DOC",
    "RQ_REGON": "RQ_REGON",
    "RQ_KRS": "RQ_KRS",
    "RQ_PESEL": "RQ_PESEL",
    "RQ_LEGAL_FORM": "RQ_LEGAL_FORM",
    "RQ_SIRET": "RQ_SIRET",
    "RQ_SIREN": "RQ_SIREN",
    "RQ_CAPITAL": "RQ_CAPITAL",
    "RQ_RCS": "RQ_RCS",
    "RQ_CNPJ": "RQ_CNPJ",
    "RQ_STATE_REG": "RQ_STATE_REG",
    "RQ_MNPL_REG": "RQ_MNPL_REG",
    "RQ_CPF": "RQ_CPF",
}


def _rq(name: str, title: str) -> FieldDef:
    if name == "RQ_VAT_PAYER":
        return _f(name, "char", "", title)
    if name == "RQ_IDENT_TYPE":
        return _f(name, "crm_status", "", title, statusType=["RQ_IDENT_TYPE_CO"])
    return _f(name, "string", "", title)


REQUISITE_FIELDS: list[FieldDef] = [
    _f("ID", "integer", "O", "ID"),
    _f("ENTITY_TYPE_ID", "integer", "RI", "Тип сущности"),
    _f("ENTITY_ID", "integer", "RI", "Идентификатор сущности"),
    _f("PRESET_ID", "integer", "RI", "Идентификатор шаблона"),
    _f("DATE_CREATE", "datetime", "O", "Дата создания"),
    _f("DATE_MODIFY", "datetime", "O", "Дата изменения"),
    _f("CREATED_BY_ID", "user", "O", "Кем создан"),
    _f("MODIFY_BY_ID", "user", "O", "Кем изменен"),
    _f("NAME", "string", "", "Название"),
    _f("CODE", "string", "", "Символьный код"),
    _f("XML_ID", "string", "", "Внешний код"),
    _f("ORIGINATOR_ID", "string", "", "ORIGINATOR_ID"),
    _f("ACTIVE", "char", "", "Активен"),
    _f("ADDRESS_ONLY", "char", "", "ADDRESS_ONLY"),
    _f("SORT", "integer", "", "Сортировка"),
    *[_rq(name, title) for name, title in _RQ_TITLES.items()],
]

PRESET_FIELDS: list[FieldDef] = [
    _f("ID", "integer", "O", "ID"),
    _f("ENTITY_TYPE_ID", "integer", "R", "Тип родительской сущности"),
    _f("COUNTRY_ID", "integer", "R", "Страна"),
    _f("DATE_CREATE", "datetime", "O", "Дата создания"),
    _f("DATE_MODIFY", "datetime", "O", "Дата изменения"),
    _f("CREATED_BY_ID", "user", "O", "Кем создан"),
    _f("MODIFY_BY_ID", "user", "O", "Кем изменен"),
    _f("NAME", "string", "R", "Название"),
    _f("XML_ID", "string", "", "Внешний код"),
    _f("ACTIVE", "char", "", "Активен"),
    _f("SORT", "integer", "", "Сортировка"),
]


# Bank details (entity type 8 = requisite owns them), in the order of the
# ``crm.requisite.bankdetail.get`` sample.
BANK_DETAIL_FIELDS: list[FieldDef] = [
    _f("ID", "integer", "O", "ID"),
    _f("ENTITY_ID", "integer", "RI", "Идентификатор родительской сущности"),
    _f("COUNTRY_ID", "integer", "", "Страна"),
    _f("DATE_CREATE", "datetime", "O", "Дата создания"),
    _f("DATE_MODIFY", "datetime", "O", "Дата изменения"),
    _f("CREATED_BY_ID", "user", "O", "Кем создан"),
    _f("MODIFY_BY_ID", "user", "O", "Кем изменен"),
    _f("NAME", "string", "R", "Название реквизита"),
    _f("CODE", "string", "", "Символьный код"),
    _f("XML_ID", "string", "", "Внешний код"),
    _f("ORIGINATOR_ID", "string", "", "Внешний источник"),
    _f("ACTIVE", "char", "", "Активен"),
    _f("SORT", "integer", "", "Сортировка"),
    _f("RQ_BANK_NAME", "string", "", "Наименование банка"),
    _f("RQ_BANK_CODE", "string", "", "Código do banco"),
    _f("RQ_BANK_ADDR", "string", "", "Адрес банка"),
    _f("RQ_BANK_ROUTE_NUM", "string", "", "Bank Routing Number"),
    _f("RQ_BIK", "string", "", "БИК"),
    _f("RQ_MFO", "string", "", "МФО"),
    _f("RQ_ACC_NAME", "string", "", "Bank Account Holder Name"),
    _f("RQ_ACC_NUM", "string", "", "Расчётный счёт"),
    _f("RQ_ACC_TYPE", "string", "", "Tipo da conta"),
    _f("RQ_IIK", "string", "", "ИИК"),
    _f("RQ_ACC_CURRENCY", "string", "", "Валюта счёта"),
    _f("RQ_COR_ACC_NUM", "string", "", "Корреспондентский счёт"),
    _f("RQ_IBAN", "string", "", "IBAN"),
    _f("RQ_SWIFT", "string", "", "SWIFT"),
    _f("RQ_BIC", "string", "", "BIC"),
    _f("RQ_CODEB", "string", "", "Code Banque"),
    _f("RQ_CODEG", "string", "", "Code Guichet"),
    _f("RQ_RIB", "string", "", "Clé RIB"),
    _f("RQ_AGENCY_NAME", "string", "", "Agência"),
    _f("COMMENTS", "string", "", "Комментарий"),
]

# A requisite link has no id of its own: (ENTITY_TYPE_ID, ENTITY_ID) is its key.
REQUISITE_LINK_FIELDS: list[FieldDef] = [
    _f("ENTITY_TYPE_ID", "integer", "R", "ENTITY_TYPE_ID"),
    _f("ENTITY_ID", "integer", "R", "ENTITY_ID"),
    _f("REQUISITE_ID", "integer", "R", "REQUISITE_ID"),
    _f("BANK_DETAIL_ID", "integer", "R", "BANK_DETAIL_ID"),
    _f("MC_REQUISITE_ID", "integer", "R", "MC_REQUISITE_ID"),
    _f("MC_BANK_DETAIL_ID", "integer", "R", "MC_BANK_DETAIL_ID"),
]


DEAL_FIELDS: list[FieldDef] = [
    _f("ID", "integer", "O", "ID"),
    _f("TITLE", "string", "", "Название"),
    _f("TYPE_ID", "crm_status", "", "Тип", statusType="DEAL_TYPE"),
    _f("CATEGORY_ID", "crm_category", "I", "Воронка"),
    _f("STAGE_ID", "crm_status", "", "Стадия сделки", statusType="DEAL_STAGE"),
    _f("STAGE_SEMANTIC_ID", "string", "O", "Группа стадии"),
    _f("IS_NEW", "char", "O", "Новая сделка"),
    _f("IS_RECURRING", "char", "", "Регулярная сделка"),
    _f("IS_RETURN_CUSTOMER", "char", "", "Повторная сделка"),
    _f("IS_REPEATED_APPROACH", "char", "", "Повторное обращение"),
    _f("PROBABILITY", "integer", "", "Вероятность"),
    _f("CURRENCY_ID", "crm_currency", "", "Валюта"),
    _f("OPPORTUNITY", "double", "", "Сумма"),
    _f("IS_MANUAL_OPPORTUNITY", "char", "", "IS_MANUAL_OPPORTUNITY"),
    _f("TAX_VALUE", "double", "", "Ставка налога"),
    _f("COMPANY_ID", "crm_company", "", "Компания", settings={"parentEntityTypeId": 4}),
    _f("CONTACT_ID", "crm_contact", "", "Контакт", isDeprecated=True),
    _f("CONTACT_IDS", "crm_contact", "M", "Контакты"),
    _f("QUOTE_ID", "crm_quote", "O", "Предложение", settings={"parentEntityTypeId": 7}),
    _f("BEGINDATE", "date", "", "Дата начала"),
    _f("CLOSEDATE", "date", "", "Дата завершения"),
    _f("OPENED", "char", "", "Доступна для всех"),
    _f("CLOSED", "char", "", "Закрыта"),
    _f("COMMENTS", "string", "", "Комментарий"),
    _f("ASSIGNED_BY_ID", "user", "", "Ответственный"),
    _f("CREATED_BY_ID", "user", "O", "Кем создана"),
    _f("MODIFY_BY_ID", "user", "O", "Кем изменена"),
    _f("MOVED_BY_ID", "user", "O", "MOVED_BY_ID"),
    _f("DATE_CREATE", "datetime", "O", "Дата создания"),
    _f("DATE_MODIFY", "datetime", "O", "Дата изменения"),
    _f("MOVED_TIME", "datetime", "O", "MOVED_TIME"),
    _f("SOURCE_ID", "crm_status", "", "Источник", statusType="SOURCE"),
    _f("SOURCE_DESCRIPTION", "string", "", "Дополнительно об источнике"),
    _f("LEAD_ID", "crm_lead", "O", "Лид", settings={"parentEntityTypeId": 1}),
    _f("ADDITIONAL_INFO", "string", "", "Дополнительная информация"),
    _f("LOCATION_ID", "location", "", "Местоположение"),
    _f("ORIGINATOR_ID", "string", "", "Внешний источник"),
    _f("ORIGIN_ID", "string", "", "Идентификатор элемента во внешнем источнике"),
    *_utm(),
    _f("LAST_ACTIVITY_TIME", "datetime", "O", "LAST_ACTIVITY_TIME"),
    _f("LAST_ACTIVITY_BY", "user", "O", "LAST_ACTIVITY_BY"),
]

_DEAL_GET_ORDER = (
    "ID", "TITLE", "TYPE_ID", "STAGE_ID", "PROBABILITY", "CURRENCY_ID", "OPPORTUNITY",
    "IS_MANUAL_OPPORTUNITY", "TAX_VALUE", "LEAD_ID", "COMPANY_ID", "CONTACT_ID", "QUOTE_ID",
    "BEGINDATE", "CLOSEDATE", "ASSIGNED_BY_ID", "CREATED_BY_ID", "MODIFY_BY_ID", "DATE_CREATE",
    "DATE_MODIFY", "OPENED", "CLOSED", "COMMENTS", "ADDITIONAL_INFO", "LOCATION_ID", "CATEGORY_ID",
    "STAGE_SEMANTIC_ID", "IS_NEW", "IS_RECURRING", "IS_RETURN_CUSTOMER", "IS_REPEATED_APPROACH",
    "SOURCE_ID", "SOURCE_DESCRIPTION", "ORIGINATOR_ID", "ORIGIN_ID", "MOVED_BY_ID", "MOVED_TIME",
    "LAST_ACTIVITY_TIME", "UTM_SOURCE", "UTM_MEDIUM", "UTM_CAMPAIGN", "UTM_CONTENT", "UTM_TERM",
    "LAST_ACTIVITY_BY",
)  # fmt: skip


# Smart invoice (entityTypeId 31): crm.item-only, stored under the items' upper names.
INVOICE_FIELDS: list[FieldDef] = [
    _f("ID", "integer", "O", "ID"),
    _f("TITLE", "string", "", "Название"),
    _f("XML_ID", "string", "", "Внешний код"),
    _f("ACCOUNT_NUMBER", "string", "", "Номер"),
    _f("CREATED_TIME", "datetime", "O", "Когда создан"),
    _f("UPDATED_TIME", "datetime", "O", "Когда обновлен"),
    _f("CREATED_BY", "user", "O", "Кем создан"),
    _f("UPDATED_BY", "user", "O", "Кем обновлен"),
    _f("ASSIGNED_BY_ID", "user", "", "Ответственный"),
    _f("OPENED", "boolean", "R", "Доступно для всех"),
    _f("BEGINDATE", "date", "", "Дата выставления"),
    _f("CLOSEDATE", "date", "", "Срок оплаты"),
    _f("COMPANY_ID", "crm_company", "", "Компания", settings={"parentEntityTypeId": 4}),
    _f("CONTACT_ID", "crm_contact", "", "Контакт", settings={"parentEntityTypeId": 3}),
    _f("CATEGORY_ID", "crm_category", "", "Воронка"),
    _f("MOVED_TIME", "datetime", "O", "Дата изменения стадии"),
    _f("MOVED_BY", "user", "O", "Кем изменена стадия"),
    _f("STAGE_ID", "crm_status", "", "Стадия"),
    _f("PREVIOUS_STAGE_ID", "crm_status", "O", "Предыдущая стадия"),
    _f("STAGE_SEMANTIC_ID", "string", "O", "Группа стадии"),
    _f("SOURCE_ID", "crm_status", "", "Источник", statusType="SOURCE"),
    _f("SOURCE_DESCRIPTION", "text", "", "Дополнительно об источнике"),
    _f("CURRENCY_ID", "crm_currency", "", "Валюта"),
    _f("IS_MANUAL_OPPORTUNITY", "boolean", "", "Ручной ввод суммы"),
    _f("OPPORTUNITY", "double", "", "Сумма"),
    _f("TAX_VALUE", "double", "", "Сумма налога"),
    _f("MYCOMPANY_ID", "crm_company", "", "Реквизиты вашей компании"),
    _f("COMMENTS", "string", "", "Комментарий"),
    _f("ORIGINATOR_ID", "string", "", "Внешний источник"),
    _f("ORIGIN_ID", "string", "", "Идентификатор элемента во внешнем источнике"),
    _f("LAST_ACTIVITY_BY", "user", "O", "Автор последней активности"),
    _f("LAST_ACTIVITY_TIME", "datetime", "O", "Последняя активность"),
    _f("PARENT_ID_2", "crm_entity", "", "Сделка", settings={"parentEntityTypeId": 2}),
]


@dataclass(frozen=True)
class EntitySpec:
    """Static description of one emulated entity type."""

    name: str  # storage table / multi-field owner name
    entity_type_id: int
    fields: tuple[FieldDef, ...]
    has_multi: bool
    get_order: tuple[str, ...] = ()  # key order of the docs' ``get`` sample, if it differs
    orm_class: str = ""  # D7 ORM class named in "Unknown field definition" errors

    @property
    def orm_table(self) -> str:
        """The ORM entity class a real portal names in its list errors."""
        return self.orm_class or f"\\Bitrix\\Crm\\{self.name.capitalize()}Table"

    def by_name(self) -> dict[str, FieldDef]:
        """Fields indexed by name."""
        return {f.name: f for f in self.fields}

    def stored_names(self) -> list[str]:
        """Fields a stored record carries (what ``get`` returns, UF and multi aside)."""
        names = [f.name for f in self.fields if f.stored]
        if not self.get_order:
            return names
        rank = {name: i for i, name in enumerate(self.get_order)}
        return sorted(names, key=lambda n: rank.get(n, len(rank)))


_COMPANY_GET_ORDER = (
    "ID", "COMPANY_TYPE", "TITLE", "LOGO", "LEAD_ID", "HAS_PHONE", "HAS_EMAIL", "HAS_IMOL",
    "ASSIGNED_BY_ID", "CREATED_BY_ID", "MODIFY_BY_ID", "BANKING_DETAILS", "INDUSTRY", "REVENUE",
    "CURRENCY_ID", "EMPLOYEES", "COMMENTS", "DATE_CREATE", "DATE_MODIFY", "OPENED",
    "IS_MY_COMPANY", "ORIGINATOR_ID", "ORIGIN_ID", "ORIGIN_VERSION", "ADDRESS", "ADDRESS_2",
    "ADDRESS_CITY", "ADDRESS_POSTAL_CODE", "ADDRESS_REGION", "ADDRESS_PROVINCE", "ADDRESS_COUNTRY",
    "ADDRESS_COUNTRY_CODE", "ADDRESS_LOC_ADDR_ID", "ADDRESS_LEGAL", "REG_ADDRESS", "REG_ADDRESS_2",
    "REG_ADDRESS_CITY", "REG_ADDRESS_POSTAL_CODE", "REG_ADDRESS_REGION", "REG_ADDRESS_PROVINCE",
    "REG_ADDRESS_COUNTRY", "REG_ADDRESS_COUNTRY_CODE", "REG_ADDRESS_LOC_ADDR_ID", "UTM_SOURCE",
    "UTM_MEDIUM", "UTM_CAMPAIGN", "UTM_CONTENT", "UTM_TERM", "LAST_ACTIVITY_BY",
    "LAST_ACTIVITY_TIME", "LAST_COMMUNICATION_TIME",
)  # fmt: skip

COMPANY = EntitySpec(
    "company", 4, tuple(COMPANY_FIELDS), has_multi=True, get_order=_COMPANY_GET_ORDER
)
CONTACT = EntitySpec("contact", 3, tuple(CONTACT_FIELDS), has_multi=True)
REQUISITE = EntitySpec("requisite", 8, tuple(REQUISITE_FIELDS), has_multi=False)
PRESET = EntitySpec("preset", 0, tuple(PRESET_FIELDS), has_multi=False)
BANK_DETAIL = EntitySpec(
    "bankdetail",
    0,
    tuple(BANK_DETAIL_FIELDS),
    has_multi=False,
    orm_class="\\Bitrix\\Crm\\BankDetailTable",
)
REQUISITE_LINK = EntitySpec(
    "requisite_link",
    0,
    tuple(REQUISITE_LINK_FIELDS),
    has_multi=False,
    orm_class="\\Bitrix\\Crm\\Requisite\\EntityLinkTable",
)
DEAL = EntitySpec("deal", 2, tuple(DEAL_FIELDS), has_multi=False, get_order=_DEAL_GET_ORDER)
INVOICE = EntitySpec("smart_invoice", 31, tuple(INVOICE_FIELDS), has_multi=False)


def user_field_description(name: str, definition: dict[str, Any] | None = None) -> dict[str, Any]:
    """``crm.*.fields`` entry for a ``UF_CRM_*`` field.

    ``definition`` is the stored ``*.userfield.add`` record; without it the field
    was registered on first use and is described as a plain string field.
    """
    if definition is None:
        return {
            "type": "string",
            "isRequired": False,
            "isReadOnly": False,
            "isImmutable": False,
            "isMultiple": False,
            "isDynamic": True,
            "title": name,
            "listLabel": name,
            "formLabel": name,
            "filterLabel": name,
            "settings": {
                "SIZE": 20,
                "ROWS": 1,
                "REGEXP": "",
                "MIN_LENGTH": 0,
                "MAX_LENGTH": 0,
                "DEFAULT_VALUE": "",
            },
        }
    info: dict[str, Any] = {
        "type": definition.get("USER_TYPE_ID") or "string",
        "isRequired": definition.get("MANDATORY") == "Y",
        "isReadOnly": False,
        "isImmutable": False,
        "isMultiple": definition.get("MULTIPLE") == "Y",
        "isDynamic": True,
        "title": name,
        "listLabel": definition.get("LIST_COLUMN_LABEL") or name,
        "formLabel": definition.get("EDIT_FORM_LABEL") or name,
        "filterLabel": definition.get("LIST_FILTER_LABEL") or name,
        "settings": definition.get("SETTINGS") or {},
    }
    if definition.get("LIST"):
        info["items"] = [{"ID": i["ID"], "VALUE": i["VALUE"]} for i in definition["LIST"]]
    return info
