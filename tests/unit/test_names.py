"""Name normalization: the spellings managers and 1C operators produce meet."""

from __future__ import annotations

import pytest

from bitrix1c.domain.names import name_score, normalize_name


@pytest.mark.parametrize(
    "variant",
    [
        'ООО "Ромашка"',
        "ООО «Ромашка»",
        "Ромашка ООО",
        "ООО “Ромашка”",
        "ооо ромашка",
        "РОМАШКА, ООО",
        'Общество с ограниченной ответственностью "Ромашка"',
        "Romashka LLC",
        "OOO Romashka",
    ],
)
def test_spellings_of_one_company_are_one_name(variant: str) -> None:
    name = normalize_name(variant)
    assert (name.legal_form, name.key) == ("ООО", normalize_name("ООО «Ромашка»").key)


@pytest.mark.parametrize(
    ("spelled", "form"),
    [
        ("ПАО «Щука»", "ПАО"),
        ("Публичное акционерное общество Щука", "ПАО"),
        ("Shchuka PJSC", "ПАО"),
        ("Акционерное общество «Щука»", "АО"),
        ("JSC Shchuka", "АО"),
        ("ЗАО Щука", "ЗАО"),
        ("НКО Щука", "НКО"),
        ("ИП Щукин Иван Петрович", "ИП"),
        ("Индивидуальный предприниматель Щукин Иван Петрович", "ИП"),
        ("Shchukin Ivan IE", "ИП"),
        ("Щука", ""),
    ],
)
def test_legal_forms_are_recognized_in_russian_english_and_full(spelled: str, form: str) -> None:
    assert normalize_name(spelled).legal_form == form


def test_yo_case_word_order_and_transliteration_do_not_matter() -> None:
    assert (
        normalize_name("ООО Ёлка Торговый дом").key == normalize_name("ооо торговый дом елка").key
    )
    assert normalize_name("Торговый дом Ёлка").key == normalize_name("Torgovyy Dom Yolka").key
    assert normalize_name("Хлебозавод Царицыно").key == normalize_name("Khlebozavod Tsaritsyno").key
    assert normalize_name("Жемчужина").key == normalize_name("Zhemchuzhina").key


def test_score_ranks_typos_high_and_other_names_low() -> None:
    same = name_score(normalize_name("ООО «Ромашка»"), normalize_name("Ромашка ООО"))
    typo = name_score(normalize_name("ООО «Ромашка»"), normalize_name("ООО Ромошка"))
    other = name_score(normalize_name("ООО «Ромашка»"), normalize_name("ООО «Василёк»"))
    assert same == 100
    assert 85 <= typo < 100
    assert other < 50


def test_a_sole_proprietor_and_a_company_under_one_name_are_kept_apart() -> None:
    ip = normalize_name("ИП Петров")
    llc = normalize_name("ООО «Петров»")
    assert name_score(ip, llc) < 85 <= name_score(ip, normalize_name("Петров ИП"))


def test_a_name_without_words_scores_nothing() -> None:
    assert normalize_name("ООО «»").words == ()
    assert name_score(normalize_name("ООО"), normalize_name("ООО")) == 0
