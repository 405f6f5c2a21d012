"""Storage and write rules of the emulated 1C infobase (OneCBase, populate_ut11)."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import pytest

from bitrix1c.sandbox.onec import CONTACT_KIND_KEYS, ODataError, OneCBase, populate_ut11
from bitrix1c.sandbox.onec.entity import data_version, data_version_number
from bitrix1c.sandbox.onec.options import QueryOptions, execute
from bitrix1c.sandbox.seed import SeedCounterparty, SeedPerson

KONTR = "Catalog_Контрагенты"
EMPTY = "00000000-0000-0000-0000-000000000000"


def seed(i: int, kind: str = "legal") -> SeedCounterparty:
    return SeedCounterparty(
        ref_key=str(uuid.uuid5(uuid.NAMESPACE_OID, f"c{i}")),
        partner_ref_key=str(uuid.uuid5(uuid.NAMESPACE_OID, f"p{i}")),
        kind=kind,  # type: ignore[arg-type]
        name=f"Ромашка {i}",
        full_name=f'ООО "Ромашка {i}"',
        inn=f"77{i:08d}",
        kpp="770101001" if kind == "legal" else "",
        ogrn="1027700132195",
        okpo="12345678",
        address="123456, Московская обл., г. Химки, ул. Ленина, д. 1",
        phones=("+7 (495) 123-45-67", "8 912 345 67 89"),
        emails=(f"info{i}@romashka.ru",),
        contacts=(
            SeedPerson(
                str(uuid.uuid5(uuid.NAMESPACE_OID, f"k{i}")),
                "Иванов",
                "Иван",
                "Петрович",
                "Директор",
                ("+7 916 000-00-00",),
                ("ivan@r.ru",),
            ),
        ),
    )


@pytest.fixture
def base() -> OneCBase:
    return OneCBase(None, password="pw")


def error_of(call: object) -> ODataError:
    with pytest.raises(ODataError) as info:
        call()  # type: ignore[operator]
    return info.value


def test_create_fills_key_version_defaults_and_codes(base: OneCBase) -> None:
    partner = base.create("Catalog_Партнеры", {"Description": "А", "Лишнее": 1})
    uuid.UUID(partner["Ref_Key"])
    assert partner["DataVersion"] == "AAAAAAAAAAA="
    assert partner["Code"].startswith("УТ-") and len(partner["Code"]) == 11
    assert partner["Parent_Key"] == EMPTY and partner["ДатаРегистрации"] == "0001-01-01T00:00:00"
    assert partner["Клиент"] is False and "Лишнее" not in partner
    second = base.create("Catalog_Партнеры", {"Description": "Б"})
    assert second["Code"] != partner["Code"]
    order = base.create("Document_ЗаказКлиента", {"МаксимальныйКодСтроки": 3})
    assert order["Number"].startswith("УТ00-") and order["Date"] != "0001-01-01T00:00:00"
    assert order["МаксимальныйКодСтроки"] == "3"  # Edm.Int64 is a JSON string
    assert order["ДокументОснование_Type"] == "StandardODATA.Undefined"


def test_predefined_items_on_request(base: OneCBase) -> None:
    assert base.count(KONTR) == 0 and base.is_empty()
    base = OneCBase(None, predefined=True)
    assert base.is_empty()
    retail = [e for e in base.rows(KONTR) if e["Predefined"]]
    assert [e["PredefinedDataName"] for e in retail] == ["РозничныйПокупатель"]
    assert retail[0]["Description"] == "Розничный покупатель"


def test_data_version_increments_on_every_write(base: OneCBase) -> None:
    entity = base.create(KONTR, {"Description": "X"})
    ref = entity["Ref_Key"]
    versions = [entity["DataVersion"]]
    for _ in range(3):
        versions.append(base.update(KONTR, ref, {"Description": "X"})["DataVersion"])
    assert [data_version_number(v) for v in versions] == [0, 1, 2, 3]
    assert versions[1] == "AAAAAAAAAAE=" and data_version(256) == "AAAAAAAAAQA="
    updated = base.update(KONTR, ref, {"DataVersion": "AAAAAAAAAAA=", "Ref_Key": str(uuid.uuid4())})
    assert updated["DataVersion"] == data_version(4) and updated["Ref_Key"] == ref


def test_patch_is_partial_and_tabular_section_replaced_whole(base: OneCBase) -> None:
    ref = base.create(
        KONTR,
        {
            "Description": "X",
            "ИНН": "1",
            "КонтактнаяИнформация": [
                {"LineNumber": "1", "Тип": "Телефон"},
                {"LineNumber": "2", "Тип": "Адрес"},
            ],
        },
    )["Ref_Key"]
    after = base.update(KONTR, ref, {"КПП": "2"})
    assert (after["ИНН"], after["КПП"], len(after["КонтактнаяИнформация"])) == ("1", "2", 2)
    after = base.update(KONTR, ref, {"КонтактнаяИнформация": [{"LineNumber": 1, "Тип": "Адрес"}]})
    rows = after["КонтактнаяИнформация"]
    assert [(r["LineNumber"], r["Тип"], r["Ref_Key"]) for r in rows] == [("1", "Адрес", ref)]
    assert base.update(KONTR, ref, {"КонтактнаяИнформация": []})["КонтактнаяИнформация"] == []


def test_tabular_section_line_number_rules(base: OneCBase) -> None:
    ref = base.create(KONTR, {"Description": "X"})["Ref_Key"]
    missing = error_of(lambda: base.update(KONTR, ref, {"КонтактнаяИнформация": [{"Тип": "Т"}]}))
    assert (missing.status, missing.code) == (500, "-1")
    gap = error_of(
        lambda: base.update(
            KONTR, ref, {"КонтактнаяИнформация": [{"LineNumber": "1"}, {"LineNumber": "3"}]}
        )
    )
    assert gap.status == 400
    not_one = error_of(
        lambda: base.update(
            KONTR, ref, {"КонтактнаяИнформация": [{"LineNumber": "2"}, {"LineNumber": "3"}]}
        )
    )
    assert not_one.status == 400
    assert base.get(KONTR, ref)["DataVersion"] == "AAAAAAAAAAA="  # refused writes change nothing
    ok = base.update(
        KONTR,
        ref,
        {
            "КонтактнаяИнформация": [
                {"LineNumber": "2", "Тип": "b"},
                {"LineNumber": "1", "Тип": "a"},
            ]
        },
    )
    assert [r["Тип"] for r in ok["КонтактнаяИнформация"]] == ["a", "b"]


def test_value_conversion_rules(base: OneCBase) -> None:
    bad_guid = error_of(lambda: base.create(KONTR, {"Партнер_Key": "ZZ-not-a-guid"}))
    assert (bad_guid.status, bad_guid.code) == (400, "1") and "ZZ-not-a-guid" in bad_guid.message
    bad_bool = error_of(lambda: base.create(KONTR, {"DeletionMark": "maybe"}))
    assert bad_bool.code == "1"
    bad_enum = error_of(lambda: base.create(KONTR, {"ЮрФизЛицо": "ЮридическоеЛицо"}))
    assert bad_enum.status == 400
    array = error_of(lambda: base.create(KONTR, {"Description": ["x"]}))
    assert (array.status, array.code) == (500, "-1")
    long = base.create(KONTR, {"Description": "Я" * 250, "ИНН": "1" * 20})
    assert len(long["Description"]) == 100 and long["ИНН"] == "1" * 12  # silently cut
    upper = str(uuid.uuid4()).upper()
    assert base.create(KONTR, {"Партнер_Key": upper})["Партнер_Key"] == upper.lower()


def test_get_count_delete_and_tabular_sets(base: OneCBase) -> None:
    ref = base.create(KONTR, {"КонтактнаяИнформация": [{"LineNumber": "1"}]})["Ref_Key"]
    assert base.count(KONTR) == 1 and base.count("Catalog_Контрагенты_КонтактнаяИнформация") == 1
    assert base.get(KONTR, ref.upper())["Ref_Key"] == ref
    base.get(KONTR, ref)["Description"] = "changed"  # a copy
    assert base.get(KONTR, ref)["Description"] == ""
    code = error_of(lambda: base.create("Catalog_Контрагенты_КонтактнаяИнформация", {}))
    assert code.code == "13"
    dup = error_of(lambda: base.create(KONTR, {"Ref_Key": ref}))
    assert dup.code == "15"
    base.delete(KONTR, ref)
    assert (
        base.get(KONTR, ref) is None and base.count("Catalog_Контрагенты_КонтактнаяИнформация") == 0
    )
    assert error_of(lambda: base.update(KONTR, ref, {})).code == "9"
    assert error_of(lambda: base.count("Catalog_Нет")).status == 404


def test_register_records_keyed_by_dimensions(base: OneCBase) -> None:
    rt = "InformationRegister_ЦеныНоменклатуры_RecordType"
    item = str(uuid.uuid4())
    base.create(rt, {"Period": "2025-01-01T00:00:00", "Номенклатура_Key": item, "Цена": 10})
    base.create(rt, {"Period": "2025-02-01T00:00:00", "Номенклатура_Key": item, "Цена": 12})
    assert base.count(rt) == 2 and base.count("InformationRegister_ЦеныНоменклатуры") == 1
    dup = error_of(
        lambda: base.create(rt, {"Period": "2025-01-01T00:00:00", "Номенклатура_Key": item})
    )
    assert dup.code == "15"


def test_file_base_survives_restart_with_password(tmp_path: Path) -> None:
    path = tmp_path / "trade.sqlite"
    first = OneCBase(path, name="trade")
    password = first.password
    assert password and len(password) >= 12
    ref = first.create(
        KONTR,
        {
            "Description": "Сохранится",
            "КонтактнаяИнформация": [{"LineNumber": "1", "Тип": "Телефон", "Представление": "+7"}],
        },
    )["Ref_Key"]
    first.update(KONTR, ref, {"ИНН": "7707083893"})
    code = first.create("Catalog_Партнеры", {})["Code"]
    first.close()
    second = OneCBase(path, name="trade")
    assert second.password == password
    entity = second.get(KONTR, ref)
    assert entity is not None and entity["ИНН"] == "7707083893"
    assert (
        entity["DataVersion"] == "AAAAAAAAAAE="
        and entity["КонтактнаяИнформация"][0]["Ref_Key"] == ref
    )
    assert second.count(KONTR) == 1
    assert second.create("Catalog_Партнеры", {})["Code"] > code
    second.close()
    third = OneCBase(path, password="explicit")
    assert third.password == "explicit"
    third.close()


def test_populate_ut11_mapping(base: OneCBase) -> None:
    populate_ut11(base, [seed(1, "legal"), seed(2, "ip"), seed(3, "individual")])
    one, two, three = (base.get(KONTR, seed(i).ref_key) for i in (1, 2, 3))
    assert one is not None and two is not None and three is not None
    assert (one["ЮрФизЛицо"], one["ЮридическоеФизическоеЛицо"]) == ("ЮрЛицо", "ЮридическоеЛицо")
    assert two["ЮрФизЛицо"] == "ИндивидуальныйПредприниматель"
    assert two["ЮридическоеФизическоеЛицо"] == "ФизическоеЛицо"
    assert three["ЮрФизЛицо"] == "ФизЛицо"
    assert (one["ИНН"], one["КПП"], one["КодПоОКПО"]) == ("7700000001", "770101001", "12345678")
    assert one["НаименованиеПолное"] == 'ООО "Ромашка 1"'
    assert one["Партнер_Key"] == seed(1).partner_ref_key
    rows = one["КонтактнаяИнформация"]
    assert [r["LineNumber"] for r in rows] == ["1", "2", "3", "4"]
    phone, _, email, address = rows
    assert (phone["Тип"], phone["Представление"]) == ("Телефон", "+7 (495) 123-45-67")
    assert (phone["НомерТелефона"], phone["НомерТелефонаБезКодов"]) == ("74951234567", "1234567")
    assert phone["Вид_Key"] == CONTACT_KIND_KEYS["ТелефонКонтрагента"]
    assert (email["Тип"], email["АдресЭП"]) == ("АдресЭлектроннойПочты", "info1@romashka.ru")
    assert (address["Тип"], address["Город"]) == ("Адрес", "Химки")
    assert address["Регион"] == "Московская обл."
    partner = base.get("Catalog_Партнеры", seed(1).partner_ref_key)
    assert partner is not None and partner["Клиент"] is True
    assert partner["ЮрФизЛицо"] == "Компания"
    assert base.get("Catalog_Партнеры", seed(3).partner_ref_key)["ЮрФизЛицо"] == "ЧастноеЛицо"
    contact = base.get("Catalog_КонтактныеЛицаПартнеров", seed(1).contacts[0].ref_key)
    assert contact is not None
    assert (contact["Description"], contact["ДолжностьПоВизитке"]) == (
        "Иванов Иван Петрович",
        "Директор",
    )
    assert contact["Owner_Key"] == seed(1).partner_ref_key
    assert [r["Тип"] for r in contact["КонтактнаяИнформация"]] == [
        "Телефон",
        "АдресЭлектроннойПочты",
    ]


def test_populate_10000_is_fast_and_paging_is_fast(tmp_path: Path) -> None:
    base = OneCBase(tmp_path / "big.sqlite")
    items = [seed(i) for i in range(10_000)]
    started = time.perf_counter()
    populate_ut11(base, items)
    elapsed = time.perf_counter() - started
    assert base.count(KONTR) == 10_000
    assert elapsed < 20, elapsed  # a few seconds on a normal machine
    definition = base.definition(KONTR)

    def page(**params: str) -> tuple[list[dict[str, object]], int]:
        opts = QueryOptions.parse({f"${k}": v for k, v in params.items()}, "application/json")
        return execute(
            base.schema,
            base.lookup,
            definition,
            opts,
            lambda: base.rows(KONTR),
            lambda spec, build: base.derived(KONTR, spec, build),
        )

    page(orderby="Ref_Key", top="500")  # build the sort cache and the ИНН index once
    page(filter="ИНН eq '7700000001'")
    started = time.perf_counter()
    rows, total = page(orderby="Ref_Key", top="500", skip="9000")
    assert time.perf_counter() - started < 0.1
    assert total == 10_000 and len(rows) == 500
    started = time.perf_counter()
    rows, _ = page(filter="ИНН eq '7700005000'")
    assert time.perf_counter() - started < 0.1 and len(rows) == 1
    base.close()


def test_populate_generated_seed_with_branches(base: OneCBase) -> None:
    from bitrix1c.sandbox.seed import generate_counterparties

    assert base.is_empty()
    items = list(generate_counterparties(1500, seed=7))
    populate_ut11(base, items)
    assert not base.is_empty()
    assert base.count(KONTR) == len(items)
    assert base.count("Catalog_Партнеры") == len({i.partner_ref_key for i in items})
    branches = [i for i in items if i.is_branch]
    assert branches, "the generator makes ~2 % branches"
    branch = base.get(KONTR, branches[0].ref_key)
    assert branch is not None and branch["ОбособленноеПодразделение"] is True
    assert branch["ГоловнойКонтрагент_Key"] == branches[0].head_ref_key
    head = base.get(KONTR, branches[0].head_ref_key)
    assert head is not None and head["ГоловнойКонтрагент_Key"] == head["Ref_Key"]
    assert head["Партнер_Key"] == branch["Партнер_Key"] and head["ИНН"] == branch["ИНН"]
    for item in items[:200]:
        stored = base.get(KONTR, item.ref_key)
        assert stored is not None
        phones = [r for r in stored["КонтактнаяИнформация"] if r["Тип"] == "Телефон"]
        assert [r["Представление"] for r in phones] == list(item.phones)
        assert all(
            r["НомерТелефонаБезКодов"] and len(r["НомерТелефонаБезКодов"]) <= 10 for r in phones
        )
