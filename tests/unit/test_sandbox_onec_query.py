"""$filter / $orderby / $select of the 1C OData emulator (parser, evaluator, options)."""

from __future__ import annotations

from typing import Any

import pytest

from bitrix1c.sandbox.onec import ODataError, OneCBase
from bitrix1c.sandbox.onec.options import (
    Projection,
    QueryOptions,
    execute,
    parse_query_string,
)
from bitrix1c.sandbox.onec.query import parse_expression, parse_orderby, tokenize

PARTNER = "11111111-1111-1111-1111-111111111111"
OTHER = "22222222-2222-2222-2222-222222222222"
ORDER = "33333333-3333-3333-3333-333333333333"
KONTR = "Catalog_Контрагенты"


@pytest.fixture(scope="module")
def base() -> OneCBase:
    b = OneCBase(None, password="x", predefined=True)
    b.create("Catalog_Партнеры", {"Ref_Key": PARTNER, "Description": "Партнер А", "Клиент": True})
    b.create("Catalog_Партнеры", {"Ref_Key": OTHER, "Description": "Партнер Б", "Клиент": False})
    rows = [
        (
            'ООО "Ромашка"',
            "7707083893",
            "ЮрЛицо",
            PARTNER,
            [("Телефон", "+7 495 1"), ("Адрес", "г. Москва")],
        ),
        (
            "ИП О'Брайен",
            "500100732259",
            "ИндивидуальныйПредприниматель",
            OTHER,
            [("АдресЭлектроннойПочты", "a@b.ru")],
        ),
        ("Иванов Иван", "771234567890", "ФизЛицо", OTHER, []),
        ("АО Лютик", "7702070139", "ЮрЛицо", PARTNER, [("Телефон", "+7 812 2")]),
    ]
    for name, inn, form, partner, contacts in rows:
        b.create(
            KONTR,
            {
                "Description": name,
                "ИНН": inn,
                "ЮрФизЛицо": form,
                "Партнер_Key": partner,
                "КонтактнаяИнформация": [
                    {"LineNumber": str(i), "Тип": t, "Представление": p}
                    for i, (t, p) in enumerate(contacts, 1)
                ],
            },
        )
    b.create(
        "Document_ЗаказКлиента",
        {
            "Ref_Key": ORDER,
            "Date": "2025-03-15T10:30:00",
            "Партнер_Key": PARTNER,
            "СуммаДокумента": 1500.5,
            "МаксимальныйКодСтроки": 7,
            "ДокументОснование": PARTNER,
            "ДокументОснование_Type": "StandardODATA.Catalog_Партнеры",
            "Товары": [
                {"LineNumber": "1", "Цена": 100, "Количество": 2},
                {"LineNumber": "2", "Цена": 20000, "Количество": 1},
            ],
        },
    )
    b.create(
        "Document_ЗаказКлиента",
        {
            "Date": "2024-12-31T23:59:59",
            "СуммаДокумента": 10,
            "Товары": [{"LineNumber": "1", "Цена": 5}],
        },
    )
    return b


def run(base: OneCBase, entity_set: str, **params: str) -> list[dict[str, Any]]:
    opts = QueryOptions.parse({f"${k}": v for k, v in params.items()}, "application/json")
    definition = base.definition(entity_set)
    page, _ = execute(
        base.schema,
        base.lookup,
        definition,
        opts,
        lambda: base.rows(entity_set),
        lambda spec, build: base.derived(entity_set, spec, build),
    )
    return page


def names(base: OneCBase, flt: str, entity_set: str = KONTR) -> list[str]:
    return sorted(r["Description"] for r in run(base, entity_set, filter=flt))


def error_of(call: Any) -> ODataError:
    with pytest.raises(ODataError) as info:
        call()
    return info.value


# ---------------------------------------------------------------- comparison operators


def test_eq_string_is_case_insensitive(base: OneCBase) -> None:
    assert names(base, "ИНН eq '7707083893'") == ['ООО "Ромашка"']
    assert names(base, "Description eq 'ао лютик'") == ["АО Лютик"]


def test_ne_gt_ge_lt_le(base: OneCBase) -> None:
    assert len(names(base, "ЮрФизЛицо ne 'ЮрЛицо'")) == 3  # + predefined РозничныйПокупатель
    assert names(base, "ИНН gt '7707083893'") == ["Иванов Иван"]
    assert names(base, "ИНН ge '7707083893'") == ["Иванов Иван", 'ООО "Ромашка"']
    assert names(base, "ИНН lt '7000000000' and ИНН ne ''") == ["ИП О'Брайен"]
    assert names(base, "ИНН le '7702070139' and ИНН ne ''") == ["АО Лютик", "ИП О'Брайен"]


def test_and_or_not_and_parentheses(base: OneCBase) -> None:
    flt = "(ЮрФизЛицо eq 'ФизЛицо' or ЮрФизЛицо eq 'ЮрЛицо') and not (ИНН eq '7702070139')"
    assert names(base, flt) == ["Иванов Иван", 'ООО "Ромашка"']
    assert names(base, "not DeletionMark eq true") == names(base, "DeletionMark eq false")


def test_guid_literal_and_predefined_flags(base: OneCBase) -> None:
    assert names(base, f"Партнер_Key eq guid'{PARTNER}'") == ["АО Лютик", 'ООО "Ромашка"']
    assert names(base, f"Партнер_Key eq guid'{PARTNER.upper()}'") == ["АО Лютик", 'ООО "Ромашка"']
    assert names(base, "Predefined eq true") == ["Розничный покупатель"]


def test_string_literal_with_doubled_quote(base: OneCBase) -> None:
    assert names(base, "Description eq 'ИП О''Брайен'") == ["ИП О'Брайен"]
    assert names(base, "Description eq 'ООО \"Ромашка\"'") == ['ООО "Ромашка"']


def test_numbers_datetime_and_int64(base: OneCBase) -> None:
    docs = "Document_ЗаказКлиента"
    assert [r["Ref_Key"] for r in run(base, docs, filter="СуммаДокумента gt 1000")] == [ORDER]
    assert len(run(base, docs, filter="СуммаДокумента ge 10.0")) == 2
    assert len(run(base, docs, filter="МаксимальныйКодСтроки eq 7L")) == 1
    assert len(run(base, docs, filter="Date ge datetime'2025-01-01T00:00:00'")) == 1
    assert len(run(base, docs, filter="Date lt datetime'2025-01-01T00:00'")) == 1
    assert len(run(base, docs, filter="СуммаДокумента add 500 gt 2000")) == 1
    assert len(run(base, docs, filter="СуммаДокумента mul 2 eq 20")) == 1
    assert len(run(base, docs, filter="-СуммаДокумента lt -1000")) == 1


def test_int32_overflow_without_suffix_is_a_parse_error_echoing_the_value(base: OneCBase) -> None:
    err = error_of(lambda: run(base, KONTR, filter="ИНН eq 7707083893"))
    assert (err.status, err.code) == (400, "1")
    assert "7707083893" in err.message


def test_mismatched_types_are_unequal_not_errors(base: OneCBase) -> None:
    assert names(base, f"ИНН eq guid'{PARTNER}'") == []
    assert len(names(base, "ИНН ne 5")) == 5


# ---------------------------------------------------------------- functions


def test_string_functions(base: OneCBase) -> None:
    assert names(base, "substringof('ромаш', Description)") == ['ООО "Ромашка"']
    assert names(base, "substringof('ромаш', Description) eq true") == ['ООО "Ромашка"']
    assert names(base, "startswith(ИНН, '77') and endswith(ИНН, '90')") == ["Иванов Иван"]
    assert names(base, "concat(ИНН, 'x') eq '7702070139x'") == ["АО Лютик"]
    assert names(base, "substring(ИНН, 1, 4) eq '5001'") == ["ИП О'Брайен"]
    assert names(base, "like(Description, 'АО%')") == ["АО Лютик"]
    assert names(base, "like(Description, '[^АИОР]%')") == []


def test_date_functions(base: OneCBase) -> None:
    docs = "Document_ЗаказКлиента"
    assert len(run(base, docs, filter="year(Date) eq 2025 and month(Date) eq 3")) == 1
    assert len(run(base, docs, filter="day(Date) eq 15 and hour(Date) eq 10")) == 1
    assert len(run(base, docs, filter="quarter(Date) eq 4 and dayofyear(Date) eq 366")) == 1
    assert len(run(base, docs, filter="dayofweek(Date) eq 6")) == 1  # 2025-03-15 is Saturday
    flt = "dateadd(Date, 'month', 1) ge datetime'2025-04-15T00:00:00'"
    assert len(run(base, docs, filter=flt)) == 1
    flt = "datedifference(Date, datetime'2025-03-25T00:00:00', 'day') eq 10"
    assert len(run(base, docs, filter=flt)) == 1


@pytest.mark.parametrize(
    "fn",
    [
        "tolower(Description) eq 'x'",
        "toupper(Description) eq 'X'",
        "length(ИНН) eq 10",
        "indexof(ИНН, '7') eq 0",
        "contains(Description, 'А')",
        "trim(ИНН) eq ''",
        "replace(ИНН, '7', '8') eq ''",
        "floor(1) eq 1",
    ],
)
def test_unsupported_functions_are_code_14(base: OneCBase, fn: str) -> None:
    err = error_of(lambda: run(base, KONTR, filter=fn))
    assert (err.status, err.code) == (400, "14")


def test_string_function_on_guid_property_is_500(base: OneCBase) -> None:
    err = error_of(lambda: run(base, KONTR, filter="substringof('1', Партнер_Key)"))
    assert (err.status, err.code) == (500, "-1")


def test_composite_needs_cast(base: OneCBase) -> None:
    docs = "Document_ЗаказКлиента"
    cast = f"ДокументОснование eq cast(guid'{PARTNER}', 'Catalog_Партнеры')"
    assert [r["Ref_Key"] for r in run(base, docs, filter=cast)] == [ORDER]
    assert run(base, docs, filter=f"ДокументОснование eq guid'{PARTNER}'") == []
    wrong = f"ДокументОснование eq cast(guid'{PARTNER}', 'Catalog_Контрагенты')"
    assert run(base, docs, filter=wrong) == []
    assert len(run(base, docs, filter="isof(ДокументОснование, 'Catalog_Партнеры')")) == 1
    nav = "cast(ДокументОснование, 'Catalog_Партнеры')/Description eq 'Партнер А'"
    assert len(run(base, docs, filter=nav)) == 1
    err = error_of(lambda: run(base, docs, filter="isof(ДокументОснование, 'НетТакогоТипа')"))
    assert (err.status, err.code) == (400, "8")


def test_navigation_and_lambdas(base: OneCBase) -> None:
    assert names(base, "Партнер/Клиент eq true") == ["АО Лютик", 'ООО "Ромашка"']
    assert names(base, "Партнер/Description eq 'Партнер Б'") == ["ИП О'Брайен", "Иванов Иван"]
    assert names(base, "КонтактнаяИнформация/any(d: d/Тип eq 'Адрес')") == ['ООО "Ромашка"']
    assert len(names(base, "КонтактнаяИнформация/any()")) == 3
    assert names(
        base, "КонтактнаяИнформация/all(d: d/Тип eq 'Телефон') and КонтактнаяИнформация/any()"
    ) == ["АО Лютик"]
    docs = "Document_ЗаказКлиента"
    assert len(run(base, docs, filter="Товары/any(t: t/Цена gt 10000)")) == 1
    assert len(run(base, docs, filter="Товары/all(t: t/Цена lt 10000)")) == 1


# ---------------------------------------------------------------- syntax and encoding


@pytest.mark.parametrize(
    "bad",
    [
        "ИНН eq",
        "ИНН eq '1",
        "ИНН EQ '1'",
        "(ИНН eq '1'",
        "ИНН+eq+'1'",
        "ИНН eq '1' and",
        "Description",
        "ИНН == '1'",
        "guid'xyz' eq Ref_Key",
    ],
)
def test_syntax_errors(base: OneCBase, bad: str) -> None:
    err = error_of(lambda: run(base, KONTR, filter=bad))
    assert err.status == 400
    assert err.code in ("14", "1")


def test_unknown_property_in_filter_is_400(base: OneCBase) -> None:
    err = error_of(lambda: run(base, KONTR, filter="НетТакого eq '1'"))
    assert (err.status, err.code) == (400, "14")


def test_plus_is_not_a_space_in_query_string() -> None:
    params = parse_query_string(b"$filter=%D0%98%D0%9D%D0%9D%20eq%20'a+b'&$top=1")
    assert params == {"$filter": "ИНН eq 'a+b'", "$top": "1"}
    assert parse_query_string("$filter=ИНН+eq+'1'")["$filter"] == "ИНН+eq+'1'"


def test_tokenizer_and_orderby_parser() -> None:
    assert [t.text for t in tokenize("a eq guid'x'")] == ["a", "eq", "guid'x'"]
    items = parse_orderby("Description desc, Code asc,ИНН")
    assert [(n[1], d) for n, d in items] == [
        (["Description"], True),
        (["Code"], False),
        (["ИНН"], False),
    ]
    assert parse_expression("a/b eq 1")[2] == ("path", ["a", "b"])


# ---------------------------------------------------------------- orderby, paging, select


def test_orderby_several_keys_and_paging(base: OneCBase) -> None:
    flt = "ИНН ne ''"
    # enumerations order by value position: ЮрЛицо, ФизЛицо, …, ИндивидуальныйПредприниматель
    page = run(base, KONTR, filter=flt, orderby="ЮрФизЛицо desc,ИНН asc")
    assert [r["ИНН"] for r in page] == ["500100732259", "771234567890", "7702070139", "7707083893"]
    page = run(base, KONTR, filter=flt, orderby="ИНН", skip="1", top="2")
    assert [r["ИНН"] for r in page] == ["7702070139", "7707083893"]
    assert run(base, KONTR, orderby="Ref_Key", top="0") == []


def test_orderby_unknown_property_is_code_6(base: OneCBase) -> None:
    err = error_of(lambda: run(base, KONTR, orderby="Нет desc"))
    assert (err.status, err.code) == (400, "6")


def test_bad_top_skip_inlinecount(base: OneCBase) -> None:
    for params in ({"$top": "-1"}, {"$skip": "x"}, {"$inlinecount": "some"}, {"$unknown": "1"}):
        err = error_of(lambda p=params: QueryOptions.parse(p))
        assert (err.status, err.code) == (400, "14")
    assert QueryOptions.parse({"allowedOnly": "true"}).json is False
    assert QueryOptions.parse({"$format": "json"}).json is True
    assert QueryOptions.parse({}, "application/json").json is True
    err = error_of(lambda: QueryOptions.parse({"$format": "csv"}))
    assert err.code == "3"


def test_select_projection(base: OneCBase) -> None:
    definition = base.definition(KONTR)
    row = run(base, KONTR, filter="ИНН eq '7707083893'")[0]
    proj = Projection(base.schema, base.lookup, definition, "Ref_Key, Description,ИНН", [])
    assert list(proj.apply(row)) == ["Ref_Key", "Description", "ИНН"]
    proj = Projection(base.schema, base.lookup, definition, "**", [])
    assert "КонтактнаяИнформация" not in proj.apply(row)
    assert Projection(base.schema, base.lookup, definition, "*", []).apply(row) is row
    proj = Projection(
        base.schema,
        base.lookup,
        definition,
        "Description,КонтактнаяИнформация/Тип,Партнер____Presentation",
        [],
    )
    shown = proj.apply(row)
    assert shown["КонтактнаяИнформация"][0] == {"LineNumber": "1", "Тип": "Телефон"}
    assert shown["Партнер____Presentation"] == "Партнер А"
    proj = Projection(base.schema, base.lookup, definition, "Description,Партнер/Code", ["Партнер"])
    assert set(proj.apply(row)["Партнер"]) == {"Code"}
    err = error_of(lambda: Projection(base.schema, base.lookup, definition, "Нет", []))
    assert (err.status, err.code) == (400, "6")
