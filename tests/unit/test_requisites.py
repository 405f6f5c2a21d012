"""Russian registration keys: known real values, known errors, generated keys."""

from __future__ import annotations

import pickle
import random

import pytest
from faker import Faker

from bitrix1c.domain.requisites import (
    InvalidBankKey,
    InvalidKey,
    generate_inn_legal,
    generate_inn_person,
    generate_kpp,
    generate_ogrn,
    generate_ogrnip,
    generate_okpo,
    generate_snils,
    inn_kind,
    is_valid_inn,
    is_valid_kpp,
    is_valid_ogrn,
    is_valid_ogrnip,
    is_valid_okpo,
    is_valid_snils,
    normalize_digits,
    validate_account,
    validate_account_number,
    validate_inn,
    validate_kpp,
    validate_ogrn,
    validate_ogrnip,
    validate_okpo,
    validate_snils,
    with_account_key,
)

# --- known real values -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("7707083893", "7707083893"),  # ПАО Сбербанк
        ("7736050003", "7736050003"),  # ПАО Газпром
        ("7717586110", "7717586110"),  # Bitrix24 docs requisite example
        ("7707 083 893", "7707083893"),
        (" 7736-050-003 ", "7736050003"),
        ("500100732259", "500100732259"),  # person, the usual published example
    ],
)
def test_known_valid_inn(typed: str, expected: str) -> None:
    assert validate_inn(typed) == expected
    assert is_valid_inn(typed)


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("5077746476209", "5077746476209"),  # Bitrix24 docs requisite example
        ("1027700132195", "1027700132195"),  # ПАО Сбербанк
        ("1027700070518", "1027700070518"),  # ПАО Газпром
        ("1-02-77-00-13219-5", "1027700132195"),
    ],
)
def test_known_valid_ogrn(typed: str, expected: str) -> None:
    assert validate_ogrn(typed) == expected
    assert is_valid_ogrn(typed)


@pytest.mark.parametrize("kpp", ["770501001", "773601001", "997250001", "7701AB001", "7701 01 001"])
def test_known_valid_kpp(kpp: str) -> None:
    assert validate_kpp(kpp) == kpp.replace(" ", "")


def test_known_valid_ogrnip_snils_okpo() -> None:
    assert validate_ogrnip("304500116000157") == "304500116000157"
    assert validate_snils("112-233-445 95") == "11223344595"
    assert validate_okpo("00032537") == "00032537"  # ПАО Сбербанк
    assert is_valid_ogrnip("304500116000157")
    assert is_valid_snils("11223344595")
    assert is_valid_okpo("00032537")


def test_snils_checksum_edge_cases() -> None:
    # weighted sums 100 and 101 both give checksum 00; 645 mod 101 = 39
    assert validate_snils("131-330-633 00") == "13133063300"  # sum 100
    assert validate_snils("210-353-327 00") == "21035332700"  # sum 101
    # numbers up to 001-001-998 were issued without a checksum
    assert validate_snils("001-001-998 77") == "00100199877"
    assert not is_valid_snils("001-001-999 77")


# --- known errors and their reasons ------------------------------------------------------


@pytest.mark.parametrize(
    ("validator", "key_type", "typed", "reason"),
    [
        (validate_inn, "inn", "7707083894", "checksum digit 10 is 4, expected 3"),
        (validate_inn, "inn", "500100732258", "checksum digit 12 is 8, expected 9"),
        (validate_inn, "inn", "500100732269", "checksum digit 11 is 6, expected 5"),
        (validate_inn, "inn", "770708389", "must be 10 or 12 digits, got 9"),
        (validate_inn, "inn", "77070838931", "must be 10 or 12 digits, got 11"),
        (validate_inn, "inn", "77070838O3", "contains characters other than digits"),
        (validate_inn, "inn", "７７０７０８３８９３", "contains characters other than digits"),
        (validate_inn, "inn", "0007083893", "first two digits must not be 00"),
        (validate_inn, "inn", "  ", "is empty"),
        (
            validate_kpp,
            "kpp",
            "7705АБ001",
            "characters 5-6 (reason code) must be digits or Latin capitals A-Z",
        ),
        (
            validate_kpp,
            "kpp",
            "7701ab001",
            "characters 5-6 (reason code) must be digits or Latin capitals A-Z",
        ),
        (validate_kpp, "kpp", "77O501001", "characters 1-4 (tax office code) must be digits"),
        (validate_kpp, "kpp", "7705010A1", "characters 7-9 must be digits"),
        (validate_kpp, "kpp", "77050100", "must be 9 characters, got 8"),
        (validate_kpp, "kpp", "", "is empty"),
        (validate_ogrn, "ogrn", "5077746476208", "checksum digit 13 is 8, expected 9"),
        (validate_ogrn, "ogrn", "507774647620", "must be 13 digits, got 12"),
        (validate_ogrnip, "ogrnip", "304500116000158", "checksum digit 15 is 8, expected 7"),
        (validate_ogrnip, "ogrnip", "5077746476209", "must be 15 digits, got 13"),
        (validate_snils, "snils", "112-233-445 96", "checksum is 96, expected 95"),
        (validate_snils, "snils", "131-330-633 01", "checksum is 01, expected 00"),
        (validate_snils, "snils", "112-233-445", "must be 11 digits, got 9"),
        (validate_okpo, "okpo", "00032538", "checksum digit 8 is 8, expected 7"),
    ],
)
def test_known_invalid_key_reports_reason(
    validator: object, key_type: str, typed: str, reason: str
) -> None:
    with pytest.raises(InvalidKey) as caught:
        validator(typed)  # type: ignore[operator]
    error = caught.value
    assert error.key_type == key_type
    assert error.value == typed
    assert error.reason == reason
    assert reason in str(error)
    assert isinstance(error, ValueError)


def test_is_valid_helpers_reject_invalid() -> None:
    assert not is_valid_inn("7707083894")
    assert not is_valid_kpp("7705АБ001")
    assert not is_valid_ogrn("5077746476208")
    assert not is_valid_ogrnip("304500116000158")
    assert not is_valid_snils("11223344596")
    assert not is_valid_okpo("00032538")


def test_invalid_key_survives_pickling() -> None:
    error = InvalidKey("inn", "123", "must be 10 or 12 digits, got 3")
    copy = pickle.loads(pickle.dumps(error))
    assert (copy.key_type, copy.value, copy.reason) == ("inn", "123", error.reason)


def test_normalize_digits_strips_separators_only() -> None:
    assert normalize_digits(" 112-233-445 95 ") == "11223344595"
    assert normalize_digits("77.07.083\u00a0893") == "7707083893"
    assert normalize_digits("7707–083—893") == "7707083893"
    assert normalize_digits("77O7") == "77O7"


def test_inn_kind() -> None:
    assert inn_kind("7707083893") == "legal"
    assert inn_kind("5001 0073 2259") == "person"
    with pytest.raises(InvalidKey):
        inn_kind("12345")


# --- generated keys ----------------------------------------------------------------------


def test_generated_keys_validate_over_many_seeds() -> None:
    for seed in range(3000):
        rnd = random.Random(seed)
        inn_legal = generate_inn_legal(rnd)
        inn_person = generate_inn_person(rnd)
        assert validate_inn(inn_legal) == inn_legal and len(inn_legal) == 10
        assert validate_inn(inn_person) == inn_person and len(inn_person) == 12
        assert inn_kind(inn_legal) == "legal" and inn_kind(inn_person) == "person"

        kpp = generate_kpp(inn_legal, rnd)
        branch_kpp = generate_kpp(inn_legal, rnd, branch=True)
        assert validate_kpp(kpp) == f"{inn_legal[:4]}01001"
        assert validate_kpp(branch_kpp) == f"{inn_legal[:4]}43001"

        ogrn = generate_ogrn(rnd, inn_legal)
        assert validate_ogrn(ogrn) == ogrn and ogrn[0] in "15" and ogrn[3:7] == inn_legal[:4]
        assert validate_ogrn(generate_ogrn(rnd))
        ogrnip = generate_ogrnip(rnd)
        assert validate_ogrnip(ogrnip) == ogrnip and ogrnip[0] == "3"
        assert generate_ogrnip(rnd, inn_person)[3:5] == inn_person[:2]

        snils = generate_snils(rnd)
        assert validate_snils(snils) == snils and int(snils[:9]) > 1_001_998
        assert validate_okpo(generate_okpo(rnd)) and validate_okpo(generate_okpo(rnd, 10))


def test_generated_keys_break_when_check_digit_changes() -> None:
    for seed in range(1000):
        rnd = random.Random(seed)
        for key, validator in (
            (generate_inn_legal(rnd), validate_inn),
            (generate_inn_person(rnd), validate_inn),
            (generate_ogrn(rnd), validate_ogrn),
            (generate_ogrnip(rnd), validate_ogrnip),
            (generate_okpo(rnd), validate_okpo),
        ):
            wrong = key[:-1] + str((int(key[-1]) + rnd.randint(1, 9)) % 10)
            with pytest.raises(InvalidKey, match="checksum digit"):
                validator(wrong)


def test_generate_with_region() -> None:
    rnd = random.Random(5)
    assert generate_inn_legal(rnd, region="16").startswith("16")
    assert generate_inn_person(rnd, region="02").startswith("02")
    with pytest.raises(ValueError):
        generate_inn_legal(rnd, region="7")
    with pytest.raises(InvalidKey):
        generate_kpp("500100732259", rnd)  # a person has no KPP


def test_generation_is_deterministic() -> None:
    def draw(seed: int) -> list[str]:
        rnd = random.Random(seed)
        inn = generate_inn_legal(rnd)
        return [inn, generate_kpp(inn, rnd), generate_ogrn(rnd, inn), generate_snils(rnd)]

    assert draw(42) == draw(42)
    assert draw(42) != draw(43)


def test_agrees_with_faker_independent_implementation() -> None:
    """Faker ru_RU computes the same checksums on its own; both must agree."""
    fake = Faker("ru_RU")
    fake.seed_instance(7)
    for _ in range(2000):
        assert is_valid_inn(fake.businesses_inn())
        assert is_valid_inn(fake.individuals_inn())
        assert is_valid_ogrn(fake.businesses_ogrn())
        assert is_valid_ogrnip(fake.individuals_ogrn())
        assert is_valid_kpp(fake.kpp())
        assert is_valid_snils(fake.snils())


# --- bank accounts --------------------------------------------------------------------------

# Public details of real banks: every correspondent account carries a correct control key.
REAL_BANKS = [
    ("044525225", "30101810400000000225"),  # ПАО Сбербанк
    ("044525974", "30101810145250000974"),  # АО "ТБанк"
    ("044525187", "30101810700000000187"),  # Банк ВТБ (ПАО)
    ("044525593", "30101810200000000593"),  # АО "АЛЬФА-БАНК"
    ("044030653", "30101810500000000653"),  # Северо-Западный банк ПАО Сбербанк
]


@pytest.mark.parametrize(("bik", "corr"), REAL_BANKS)
def test_real_correspondent_accounts_pass_the_control_key(bik: str, corr: str) -> None:
    assert validate_account(corr, bik, correspondent=True) == corr
    wrong = corr[:8] + str((int(corr[8]) + 3) % 10) + corr[9:]
    with pytest.raises(ValueError, match="control key"):
        validate_account(wrong, bik, correspondent=True)


def test_settlement_account_key_depends_on_the_bank() -> None:
    account = with_account_key("40702810000000012345", "044525225")
    assert validate_account(" 4070 2810 " + account[8:], "044525225") == account
    with pytest.raises(InvalidBankKey) as caught:
        validate_account(account, "044525974")  # the same number at another bank
    assert caught.value.key_type == "account" and "044525974" in caught.value.reason
    # An account at a Bank of Russia subdivision is keyed with "0" + BIK digits 5-6.
    treasury = with_account_key("03100643000000017300", "044525000")
    assert validate_account(treasury, "044525000") == treasury


@pytest.mark.parametrize(
    ("number", "bik", "key_type", "reason"),
    [
        ("4070281093800001234", "044525225", "account", "must be 20 digits, got 19"),
        ("40702810938000O12345", "044525225", "account", "other than digits"),
        ("", "044525225", "account", "is empty"),
        ("40702810938000012345", "04452522", "bik", "must be 9 digits, got 8"),
        ("40702810938000012345", "144525225", "bik", "starts with 04"),
    ],
)
def test_malformed_bank_keys_say_what_is_wrong(
    number: str, bik: str, key_type: str, reason: str
) -> None:
    with pytest.raises(InvalidBankKey, match=reason) as caught:
        validate_account(number, bik)
    assert caught.value.key_type == key_type
    assert pickle.loads(pickle.dumps(caught.value)).reason == caught.value.reason


def test_account_number_form_without_a_bik() -> None:
    assert validate_account_number("40802 810 0 0000 1234567") == "40802810000001234567"
    with pytest.raises(InvalidBankKey, match="20 digits"):
        validate_account_number("408028100000012345")
