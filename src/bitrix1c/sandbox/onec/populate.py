"""Seed an УТ 11 base with neutral counterparties (:mod:`bitrix1c.sandbox.seed`).

Mapping of one :class:`SeedCounterparty` onto УТ 11.5:

* ``Catalog_Партнеры`` (``Ref_Key`` = ``partner_ref_key``): ``Клиент`` = true,
  ``ЮрФизЛицо`` ``Компания`` (legal entity, sole proprietor) or ``ЧастноеЛицо``
  (individual), ``Description``/``НаименованиеПолное``;
* ``Catalog_Контрагенты`` (``Ref_Key`` = ``ref_key``): names, ``ИНН``, ``КПП``,
  ``ЮрФизЛицо`` ``ЮрЛицо|ИндивидуальныйПредприниматель|ФизЛицо``,
  ``ЮридическоеФизическоеЛицо`` ``ЮридическоеЛицо|ФизическоеЛицо``, ``Партнер_Key``,
  ``КодПоОКПО``, ``ГоловнойКонтрагент_Key`` (the head for a branch — then also
  ``ОбособленноеПодразделение`` — otherwise the counterparty itself, as УТ does) and
  contact information rows (phones, e-mails, legal address);
* ``Catalog_КонтактныеЛицаПартнеров`` per contact person (``Owner_Key`` = the partner);
* ``Catalog_БанковскиеСчетаКонтрагентов`` per bank account: the composite owner
  ``Owner`` + ``Owner_Type`` (the counterparty), ``НомерСчета`` and the bank's ``БИКБанка``,
  ``НаименованиеБанка``, ``КоррСчетБанка`` (``Catalog_КлассификаторБанков`` is not
  published by the emulator, so the bank is given by hand:
  ``РучноеИзменениеРеквизитовБанка``).

``ogrn`` goes into ``РегистрационныйНомер``, where УТ 11.5 keeps the ОГРН/ОГРНИП of a
Russian counterparty (``Контрагенты`` has no attribute named ОГРН).
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterable
from typing import Any

from bitrix1c.sandbox.seed import SeedBankAccount, SeedCounterparty, SeedPerson

from .base import OneCBase
from .schema import NAMESPACE

__all__ = ["CONTACT_KIND_KEYS", "person_contact_info", "populate_ut11"]


def _kind_key(name: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"1c:ut11:Catalog_ВидыКонтактнойИнформации:{name}"))


#: Stable ``Вид_Key`` GUIDs of the predefined contact-information kinds used by the seed
#: (``Catalog_ВидыКонтактнойИнформации`` is not published, the GUIDs are still constant).
CONTACT_KIND_KEYS: dict[str, str] = {
    name: _kind_key(name)
    for name in (
        "ТелефонКонтрагента",
        "EmailКонтрагента",
        "ЮрАдресКонтрагента",
        "ТелефонКонтактногоЛица",
        "EmailКонтактногоЛица",
    )
}

_JSON = json.JSONEncoder(ensure_ascii=False).encode
_LEGAL_FORM = {"legal": "ЮрЛицо", "ip": "ИндивидуальныйПредприниматель", "individual": "ФизЛицо"}
_LEGAL_KIND = {"legal": "ЮридическоеЛицо", "ip": "ФизическоеЛицо", "individual": "ФизическоеЛицо"}
_PARTNER_KIND = {"legal": "Компания", "ip": "Компания", "individual": "ЧастноеЛицо"}


_EXTENSION = re.compile(r"\s*[,;(]?\s*(?:доб\.?|ext\.?|вн\.?|#)\s*(\d+)\s*\)?\s*$", re.IGNORECASE)


def _phone_row(phone: str, kind: str) -> dict[str, Any]:
    ext = _EXTENSION.search(phone)
    digits = re.sub(r"\D", "", phone[: ext.start()] if ext else phone)
    if len(digits) == 11 and digits[0] in "78":
        country, area, local = "7", digits[1:4], digits[4:]
    elif len(digits) == 10:
        country, area, local = "7", digits[:3], digits[3:]
    else:
        country, area, local = "", "", digits
    value = {
        "value": phone,
        "comment": "",
        "type": "Телефон",
        "countryCode": country,
        "areaCode": area,
        "number": local,
        "extNumber": ext.group(1) if ext else "",
    }
    return {
        "Тип": "Телефон",
        "Вид_Key": CONTACT_KIND_KEYS[kind],
        "ВидДляСписка_Key": CONTACT_KIND_KEYS[kind],
        "Представление": phone,
        "НомерТелефона": f"{country}{area}{local}",
        "НомерТелефонаБезКодов": local,
        "Значение": _JSON(value),
    }


def _email_row(email: str, kind: str) -> dict[str, Any]:
    value = {"value": email, "comment": "", "type": "АдресЭлектроннойПочты"}
    return {
        "Тип": "АдресЭлектроннойПочты",
        "Вид_Key": CONTACT_KIND_KEYS[kind],
        "ВидДляСписка_Key": CONTACT_KIND_KEYS[kind],
        "Представление": email,
        "АдресЭП": email,
        "ДоменноеИмяСервера": email.rpartition("@")[2],
        "Значение": _JSON(value),
    }


def _address_row(address: str) -> dict[str, Any]:
    city = re.search(r"(?:^|,\s*)г\.?\s*([^,]+)", address)
    region = re.search(
        r"(?:^|,\s*)([^,]*(?:обл\.?|область|край|Респ\.?|Республика|АО)[^,]*)", address
    )
    value = {
        "value": address,
        "comment": "",
        "type": "Адрес",
        "country": "РОССИЯ",
        "addressType": "ВСвободнойФорме",
    }
    return {
        "Тип": "Адрес",
        "Вид_Key": CONTACT_KIND_KEYS["ЮрАдресКонтрагента"],
        "ВидДляСписка_Key": CONTACT_KIND_KEYS["ЮрАдресКонтрагента"],
        "Представление": address,
        "Страна": "РОССИЯ",
        "Регион": region.group(1).strip() if region else "",
        "Город": city.group(1).strip() if city else "",
        "Значение": _JSON(value),
    }


def _numbered(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{**row, "LineNumber": str(i)} for i, row in enumerate(rows, 1)]


def person_contact_info(person: SeedPerson) -> list[dict[str, Any]]:
    """``КонтактнаяИнформация`` rows of a contact person (phones, then e-mails)."""
    rows = [_phone_row(p, "ТелефонКонтактногоЛица") for p in person.phones]
    rows += [_email_row(e, "EmailКонтактногоЛица") for e in person.emails]
    return _numbered(rows)


def _person_fields(person: SeedPerson, partner_key: str) -> dict[str, Any]:
    name = " ".join(p for p in (person.last_name, person.first_name, person.middle_name) if p)
    return {
        "Ref_Key": person.ref_key,
        "Description": name,
        "Owner_Key": partner_key,
        "ДолжностьПоВизитке": person.position,
        "КонтактнаяИнформация": person_contact_info(person),
    }


def bank_account_fields(account: SeedBankAccount, owner: str) -> dict[str, Any]:
    """``Catalog_БанковскиеСчетаКонтрагентов`` fields of one seed account."""
    return {
        "Ref_Key": account.ref_key,
        "Description": f"{account.number}, {account.bank_name}",
        "Owner": owner,
        "Owner_Type": f"{NAMESPACE}.Catalog_Контрагенты",
        "НомерСчета": account.number,
        "БИКБанка": account.bik,
        "НаименованиеБанка": account.bank_name,
        "КоррСчетБанка": account.corr_account,
        "РучноеИзменениеРеквизитовБанка": True,
    }


def counterparty_fields(item: SeedCounterparty) -> dict[str, Any]:
    """``Catalog_Контрагенты`` fields of one seed record."""
    rows = [_phone_row(p, "ТелефонКонтрагента") for p in item.phones]
    rows += [_email_row(e, "EmailКонтрагента") for e in item.emails]
    if item.address:
        rows.append(_address_row(item.address))
    return {
        "Ref_Key": item.ref_key,
        "Description": item.name,
        "НаименованиеПолное": item.full_name,
        "ИНН": item.inn,
        "КПП": item.kpp,
        "ЮрФизЛицо": _LEGAL_FORM[item.kind],
        "ЮридическоеФизическоеЛицо": _LEGAL_KIND[item.kind],
        "Партнер_Key": item.partner_ref_key,
        # УТ fills ГоловнойКонтрагент with the counterparty itself unless it is a branch.
        "ГоловнойКонтрагент_Key": item.head_ref_key or item.ref_key,
        "ОбособленноеПодразделение": bool(item.head_ref_key),
        "КодПоОКПО": item.okpo,
        "РегистрационныйНомер": item.ogrn,
        "КонтактнаяИнформация": _numbered(rows),
    }


def partner_fields(item: SeedCounterparty) -> dict[str, Any]:
    """``Catalog_Партнеры`` fields of one seed record."""
    return {
        "Ref_Key": item.partner_ref_key,
        "Description": item.name,
        "НаименованиеПолное": item.full_name,
        "Клиент": True,
        "ЮрФизЛицо": _PARTNER_KIND[item.kind],
    }


def populate_ut11(base: OneCBase, counterparties: Iterable[SeedCounterparty]) -> None:
    """Write partners, counterparties, contact persons and bank accounts in one transaction.

    A branch shares its head's partner, which is written once.
    """
    if base.profile != "ut11":
        raise ValueError(f"populate_ut11 needs a ut11 base, got {base.profile!r}")
    with base.bulk():
        for item in counterparties:
            if base.lookup("Catalog_Партнеры", item.partner_ref_key) is None:
                base._create("Catalog_Партнеры", partner_fields(item))
            base._create("Catalog_Контрагенты", counterparty_fields(item))
            for person in item.contacts:
                base._create(
                    "Catalog_КонтактныеЛицаПартнеров", _person_fields(person, item.partner_ref_key)
                )
            for account in item.bank_accounts:
                base._create(
                    "Catalog_БанковскиеСчетаКонтрагентов",
                    bank_account_fields(account, item.ref_key),
                )
