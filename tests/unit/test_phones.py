"""Phone numbers and e-mail addresses as typed by people."""

from __future__ import annotations

import pytest

from bitrix1c.domain.phones import normalize_email, to_e164


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("8 (912) 345-67-89", "+79123456789"),
        ("+7 495 123 45 67", "+74951234567"),
        ("89123456789", "+79123456789"),
        ("+79123456789", "+79123456789"),
        ("79123456789", "+79123456789"),
        ("7 912 345 67 89", "+79123456789"),
        ("9123456789", "+79123456789"),
        ("(495) 123-45-67", "+74951234567"),
        ("8-495-123-45-67", "+74951234567"),
        ("+7(812)555-12-34", "+78125551234"),
        ("  8 912 3456789 ", "+79123456789"),
        ("+7 (495) 123-45-67 доб. 123", "+74951234567"),
        ("8 (495) 123-45-67, доб. 12", "+74951234567"),
        ("8 495 123 45 67 (доб. 5)", "+74951234567"),
        ("+7 495 123-45-67 ext. 7", "+74951234567"),
        ("8 (912) 345-67-89 (моб.)", "+79123456789"),
        ("8 800 555 35 35", "+78005553535"),
        ("+375 29 123 45 67", "+375291234567"),  # a foreign number keeps its country
    ],
)
def test_to_e164(typed: str, expected: str) -> None:
    assert to_e164(typed) == expected


@pytest.mark.parametrize(
    "typed",
    ["", "   ", "abc", "123", "123-45-67", "8 912 345", "+7 912 345 67 8", "+7 912 345 67 89 1"],
)
def test_to_e164_rejects_impossible_numbers(typed: str) -> None:
    assert to_e164(typed) is None


def test_to_e164_uses_region_for_national_numbers() -> None:
    assert to_e164("029 123 45 67", region="BY") == "+375291234567"


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("ivanov@mail.ru", "ivanov@mail.ru"),
        ("  Info@Romashka.RU ", "Info@romashka.ru"),
        ("mailto:sales@Vector.com", "sales@vector.com"),
        ("Иван Петров <I.Petrov@Yandex.Ru>", "I.Petrov@yandex.ru"),
        ("buh@сайт.РФ", "buh@сайт.рф"),
        ("a.b-c_d+tag@sub.example.co.uk", "a.b-c_d+tag@sub.example.co.uk"),
    ],
)
def test_normalize_email(typed: str, expected: str) -> None:
    assert normalize_email(typed) == expected


@pytest.mark.parametrize(
    "typed",
    [
        "",
        "   ",
        "ivanov",
        "ivanov@",
        "@mail.ru",
        "ivanov@mail",
        "iv anov@mail.ru",
        "a@b@mail.ru",
        "ivanov@mail..ru",
        "ivanov@-mail.ru",
        "a@mail.ru, b@mail.ru",
    ],
)
def test_normalize_email_rejects_non_addresses(typed: str) -> None:
    assert normalize_email(typed) is None
