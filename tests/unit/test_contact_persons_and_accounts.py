"""How 1C contact persons and bank accounts are read (names, owners, validation)."""

from __future__ import annotations

import pytest

from bitrix1c.onec.profiles import get_profile
from bitrix1c.sync.flows.bank_details import BankAccountFields, bankdetail_fields
from bitrix1c.sync.flows.contact_persons import (
    ContactPersonFields,
    contact_fields,
    split_full_name,
)

CONTACT_INFO = [
    {"LineNumber": "1", "Тип": "Телефон", "НомерТелефона": "8 (912) 345-67-89"},
    {"LineNumber": "2", "Тип": "АдресЭлектроннойПочты", "АдресЭП": "I.Petrov@Example.ru"},
]


@pytest.mark.parametrize(
    ("full", "parts"),
    [
        ("Петров Иван Сергеевич", ("Петров", "Иван", "Сергеевич")),
        ("Петров Иван", ("Петров", "Иван", "")),
        ("Иван", ("", "Иван", "")),
        ("Аль-Хади Мухаммед Али оглы", ("Аль-Хади", "Мухаммед", "Али оглы")),
        ("  ", ("", "", "")),
    ],
)
def test_a_full_name_splits_in_1c_order(full: str, parts: tuple[str, str, str]) -> None:
    assert split_full_name(full) == parts


def test_ut_person_owned_by_a_partner() -> None:
    fields = ContactPersonFields(get_profile("ut11"))
    assert fields.partner_of_counterparty == "Партнер_Key"
    row = {
        "Ref_Key": "p1",
        "Description": "Петров Иван Сергеевич",
        "Owner_Key": "partner",
        "ДолжностьПоВизитке": "Главный бухгалтер",
        "КонтактнаяИнформация": CONTACT_INFO,
    }
    person = fields.to_domain("trade", row)
    assert (person.owner, person.client_owned, person.post) == (
        "partner",
        True,
        "Главный бухгалтер",
    )
    assert person.phones == ("+79123456789",) and person.emails == ("I.Petrov@example.ru",)
    assert contact_fields(person) == {
        "NAME": "Иван",
        "LAST_NAME": "Петров",
        "SECOND_NAME": "Сергеевич",
        "POST": "Главный бухгалтер",
        "ORIGINATOR_ID": "trade",
        "ORIGIN_ID": "p1",
    }


@pytest.mark.parametrize(
    ("owner_type", "client"),
    [
        ("StandardODATA.Catalog_Контрагенты", True),
        ("StandardODATA.Catalog_Пользователи", False),
        ("StandardODATA.Undefined", False),
    ],
)
def test_bp_person_is_a_clients_only_when_a_counterparty_owns_it(
    owner_type: str, client: bool
) -> None:
    fields = ContactPersonFields(get_profile("bp30"))
    assert fields.partner_of_counterparty is None
    row = {
        "Ref_Key": "p2",
        "Description": "ignored when the parts are filled",
        "Фамилия": "Сидорова",
        "Имя": "Анна",
        "Отчество": "",
        "ОбъектВладелец": "cp",
        "ОбъектВладелец_Type": owner_type,
        "КонтактнаяИнформация": [],
    }
    person = fields.to_domain("acc", row)
    assert person.client_owned is client
    assert (person.last_name, person.first_name, person.owner) == ("Сидорова", "Анна", "cp")


def test_ut_account_errors_name_the_1c_field() -> None:
    fields = BankAccountFields(get_profile("ut11"))
    row = {
        "Ref_Key": "a1",
        "Owner": "cp",
        "Owner_Type": "StandardODATA.Catalog_Контрагенты",
        "НомерСчета": "40702810938000012345",
        "БИКБанка": "044525225",
        "НаименованиеБанка": "ПАО Сбербанк",
        "КоррСчетБанка": "30101810400000000225",
    }
    account = fields.to_domain("trade", row)
    assert fields.invalid(account) is None
    assert bankdetail_fields(account, 7)["RQ_BIK"] == "044525225"
    for change, field in (
        ({"КоррСчетБанка": "30101810400000000226"}, "КоррСчетБанка"),
        ({"БИКБанка": "04452522"}, "БИКБанка"),
        ({"НомерСчета": "40702810938000012346"}, "НомерСчета"),
    ):
        error = fields.invalid(fields.to_domain("trade", {**row, **change}))
        assert error is not None and error.context["field"] == field
        assert field in error.message and "trade:a1" in error.message


def test_bp_account_without_bank_checks_the_number_only() -> None:
    fields = BankAccountFields(get_profile("bp30"))
    row = {
        "Ref_Key": "a2",
        "Owner": "cp",
        "Owner_Type": "StandardODATA.Catalog_Контрагенты",
        "НомерСчета": "40702810000000000001",
    }
    account = fields.to_domain("acc", row)
    assert fields.invalid(account) is None
    assert set(bankdetail_fields(account, 7)) == {
        "ENTITY_ID",
        "NAME",
        "XML_ID",
        "ACTIVE",
        "RQ_ACC_NUM",
    }
    error = fields.invalid(fields.to_domain("acc", {**row, "НомерСчета": "4070281"}))
    assert error is not None and error.context["field"] == "НомерСчета"
