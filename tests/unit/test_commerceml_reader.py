"""Reading CommerceML files as 1C writes them: versions, encodings, namespaces, errors."""

from __future__ import annotations

import io
import tracemalloc
from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pytest

from bitrix1c.onec.commerceml import (
    CommerceMLError,
    CommerceMLReader,
    Group,
    Offer,
    Order,
    Price,
    PriceType,
    Product,
    Property,
    Unit,
    Warehouse,
    inspect,
    read,
    write_catalog,
    write_offers,
    write_orders,
)

DATA = Path(__file__).parents[1] / "data" / "commerceml"


def of(kind: type, path: Path) -> list:  # type: ignore[type-arg]
    return [r for r in read(path) if isinstance(r, kind)]


def test_import_204_in_windows_1251_without_namespace() -> None:
    path = DATA / "import_204_cp1251.xml"
    reader = CommerceMLReader(path)
    records = list(reader)
    assert reader.header is not None
    assert (reader.header.schema_version, reader.header.only_changes) == ("2.04", False)
    assert reader.header.catalog_id == "bd72d8f9-55bc-11d9-848a-00112f43529a"

    groups = [r for r in records if isinstance(r, Group)]
    assert [(g.name, g.parent_id) for g in groups] == [
        ("Бытовая техника", None),
        ("Холодильники", "a0e1b7c2-1d1f-11e4-8c21-0800200c9a66"),
        ("Стиральные машины", "a0e1b7c2-1d1f-11e4-8c21-0800200c9a66"),
        ("Обувь", None),
    ]
    maker = next(r for r in records if isinstance(r, Property))
    assert maker.values["c1d7f3a1-5e5a-11e4-9803-0800200c9a66"] == "Атлант"

    products = [r for r in records if isinstance(r, Product)]
    fridge = products[0]
    assert fridge.article == "ХМ-2810"
    assert fridge.unit == Unit("796", "шт", "Штука", "PCE")
    assert fridge.group_ids == ("a0e1b7c3-1d1f-11e4-8c21-0800200c9a66",)
    assert fridge.description == "Двухкамерный, 283 л, класс A & тихий"
    assert fridge.properties["c1d7f3a3-5e5a-11e4-9803-0800200c9a66"] == "36"
    assert fridge.tax_rates == {"НДС": "20"}
    assert fridge.requisites["Полное наименование"].startswith("Холодильник двухкамерный")
    assert fridge.barcode == "4601234567893"
    boots = products[2]
    assert boots.item_id == "7c6e5a10-5a8e-11e4-9803-0800200c9a66"
    assert boots.characteristic_id == "7c6e5a11-5a8e-11e4-9803-0800200c9a66"
    assert boots.characteristics == {"Цвет": "черный", "Размер": "42"}
    assert boots.unit is not None and boots.unit.code == "715"
    assert [p.deleted for p in products] == [False, False, False, False, True]


def test_offers_204_prices_per_price_type() -> None:
    path = DATA / "offers_204_cp1251.xml"
    assert of(PriceType, path) == [
        PriceType("1e1b4a70-5a90-11e4-9803-0800200c9a66", "Розничная", "руб", True),
        PriceType("1e1b4a71-5a90-11e4-9803-0800200c9a66", "Оптовая", "руб", False),
    ]
    fridge, washer, boots42, boots43 = of(Offer, path)
    assert [p.value for p in fridge.prices] == [Decimal("32990"), Decimal("27491.67")]
    assert fridge.prices[1].price_type_id == "1e1b4a71-5a90-11e4-9803-0800200c9a66"
    assert (fridge.quantity, washer.quantity) == (Decimal(12), Decimal(0))
    assert boots42.characteristic_id == "7c6e5a11-5a8e-11e4-9803-0800200c9a66"
    assert boots43.item_id == boots42.item_id


def test_import_210_with_namespace_bom_and_classifier_units() -> None:
    path = DATA / "import_210_bom.xml"
    summary = inspect(path)
    assert summary.header.schema_version == "2.10" and summary.header.only_changes
    assert summary.counts == {"group": 1, "property": 1, "unit": 2, "product": 2}
    rice, oil = of(Product, path)
    # the good names its unit by OKEI code only; the classifier's unit fills the rest
    assert rice.unit == Unit("166", "кг", "Килограмм", "KGM")
    assert rice.name == "Рис длиннозерный «Жасмин»"
    assert oil.unit == Unit("112", "л", "Литр; кубический дециметр", "LTR")


def test_per_warehouse_stock_207_and_210_rests() -> None:
    assert of(Warehouse, DATA / "offers_207_utf8.xml")[1].name == "Магазин на Невском"
    rice, oil = of(Offer, DATA / "offers_207_utf8.xml")
    assert rice.quantity == Decimal("125.5")
    assert rice.stock == {
        "8d9e0f1a-2b3c-4d4e-9f5a-6b7c8d9e0f1a": Decimal("120.5"),
        "9e0f1a2b-3c4d-4e5f-8a6b-7c8d9e0f1a2b": Decimal(5),
    }
    assert rice.prices == (
        Price("4c5d6e7f-8a9b-4c0d-9e1f-2a3b4c5d6e7f", Decimal("189.90"), "RUB", "кг", Decimal(1)),
    )
    rice, oil = of(Offer, DATA / "rests_210.xml")
    assert rice.quantity == Decimal(122)  # the sum of the warehouses when no total is given
    assert rice.stock["9e0f1a2b-3c4d-4e5f-8a6b-7c8d9e0f1a2b"] == Decimal(4)
    assert (oil.quantity, oil.stock, oil.prices) == (Decimal(36), {}, ())


def test_prices_210_of_characteristics() -> None:
    white_m, white_l = of(Offer, DATA / "prices_210.xml")
    assert white_m.item_id == white_l.item_id == "3a4b5c6d-7e8f-4a9b-8c0d-1e2f3a4b5c6d"
    assert white_m.characteristic_id == "4b5c6d7e-8f9a-4b0c-9d1e-2f3a4b5c6d7e"
    assert white_m.characteristics == {"Цвет": "белый", "Размер": "M"}
    assert [(p.price_type_id[:8], p.value) for p in white_m.prices] == [
        ("4c5d6e7f", Decimal(990)),
        ("5d6e7f8a", Decimal(792)),
    ]
    assert white_m.quantity is None and white_m.stock == {}


def test_orders_of_the_site_in_windows_1251() -> None:
    first, second = of(Order, DATA / "orders_205_cp1251.xml")
    assert (first.id, first.number, first.date) == ("1051", "1051", datetime(2025, 2, 4, 10, 5, 13))
    assert first.total == Decimal("70570.00")
    assert first.parties[0].inn == "7710140679" and first.parties[0].role == "Покупатель"
    assert [line.id for line in first.lines][-1] == "ORDER_DELIVERY"
    assert first.lines[0].quantity == 2 and first.lines[0].price == Decimal("32990.00")
    assert first.lines[1].id is not None and "#" in first.lines[1].id
    assert first.requisites["Статус заказа"] == "[N] Принят"
    assert first.comment == "Позвонить перед доставкой"
    assert second.parties[0].full_name == "Сидорова Анна Павловна"


def test_1c_answer_about_an_order() -> None:
    [order] = of(Order, DATA / "documents_208_utf8.xml")
    assert order.requisites["Номер по 1С"] == "УТ-000123"
    assert order.requisites["Проведен"] == "true"
    assert len(order.lines) == 2


def fail(xml: str, encoding: str = "utf-8") -> CommerceMLError:
    with pytest.raises(CommerceMLError) as caught:
        list(read(io.BytesIO(xml.encode(encoding)), name="import.xml"))
    return caught.value


HEAD = '<?xml version="1.0" encoding="UTF-8"?>\n<КоммерческаяИнформация ВерсияСхемы="2.08">\n'


def test_malformed_xml_names_the_line_and_the_element() -> None:
    error = fail(HEAD + "<Каталог><Товары>\n<Товар><Ид>1</Ид>\n<Наименование>x</Наим>\n")
    assert (error.file, error.line, error.element) == ("import.xml", 5, "Наименование")
    assert "import.xml, line 5, <Наименование>: not well-formed XML: mismatched tag" in str(error)


def test_a_good_without_id_or_a_price_that_is_no_number_is_an_error() -> None:
    error = fail(HEAD + "<Каталог><Товары>\n<Товар>\n<Наименование>x</Наименование></Товар>")
    assert (error.line, error.element) == (4, "Товар") and "no <Ид>" in str(error)
    offers = (
        HEAD + "<ПакетПредложений><Предложения><Предложение><Ид>1</Ид><Цены><Цена>"
        "<ИдТипаЦены>p</ИдТипаЦены>\n<ЦенаЗаЕдиницу>12,5 руб</ЦенаЗаЕдиницу></Цена></Цены>"
        "</Предложение></Предложения></ПакетПредложений></КоммерческаяИнформация>"
    )
    error = fail(offers)
    assert (error.line, error.element) == (4, "ЦенаЗаЕдиницу") and "'12,5 руб'" in str(error)


def test_another_root_or_an_empty_file_is_refused() -> None:
    assert "not <КоммерческаяИнформация>" in str(fail('<?xml version="1.0"?><yml_catalog/>'))
    assert "not well-formed" in str(fail(""))


def test_entities_and_external_references_are_refused() -> None:
    laughs = (
        '<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol">'
        '<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>\n'
        "<КоммерческаяИнформация>&lol2;</КоммерческаяИнформация>"
    )
    assert "DOCTYPE" in str(fail(laughs))
    xxe = (
        '<?xml version="1.0"?>\n<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>\n'
        "<КоммерческаяИнформация><Каталог><Ид>&e;</Ид></Каталог></КоммерческаяИнформация>"
    )
    assert "refused" in str(fail(xxe))


def test_windows_1251_by_the_declaration_and_a_prefixed_namespace() -> None:
    xml = (
        '<?xml version="1.0" encoding="windows-1251"?>\n'
        '<cml:КоммерческаяИнформация xmlns:cml="urn:1C.ru:commerceml_2" ВерсияСхемы="2.05">'
        "<cml:Каталог><cml:Товары><cml:Товар><cml:Ид>g</cml:Ид>"
        "<cml:Наименование>Чай «Ёлка»</cml:Наименование></cml:Товар></cml:Товары></cml:Каталог>"
        "</cml:КоммерческаяИнформация>"
    )
    [product] = read(io.BytesIO(xml.encode("cp1251")))
    assert isinstance(product, Product) and product.name == "Чай «Ёлка»"


def test_written_files_read_back_the_same_in_both_encodings() -> None:
    unit = Unit("796", "шт", "Штука", "PCE")
    groups = [Group("g1", "Одежда"), Group("g2", "Куртки", "g1")]
    product = Product(
        id="i#c",
        name="Куртка €-класса — «Аляска»",
        article="К-1",
        unit=unit,
        group_ids=("g2",),
        properties={"p": "v"},
        requisites={"ВидНоменклатуры": "Товар"},
        characteristics={"Размер": "48"},
        tax_rates={"НДС": "20"},
    )
    offer = Offer(
        id="i#c",
        name=product.name,
        unit=unit,
        prices=(Price("t", Decimal("9990.50"), "RUB", "шт", Decimal(1)),),
        quantity=Decimal(3),
        stock={"w1": Decimal(2), "w2": Decimal(1)},
    )
    for encoding in ("utf-8", "windows-1251"):
        catalog, offers = io.BytesIO(), io.BytesIO()
        write_catalog(catalog, classifier_id="c", catalog_id="c", name="К", groups=groups, products=[product], encoding=encoding)  # fmt: skip
        write_offers(offers, offers_id="c#", catalog_id="c", classifier_id="c", name="П", price_types=[PriceType("t", "Розничная", "RUB", True)], offers=[offer], encoding=encoding)  # fmt: skip
        assert list(read(io.BytesIO(catalog.getvalue()))) == [*groups, product]
        assert list(read(io.BytesIO(offers.getvalue())))[1] == offer
    buffer = io.BytesIO()
    write_orders(buffer, [], encoding="windows-1251")
    assert list(read(io.BytesIO(buffer.getvalue()))) == []


def test_memory_stays_flat_while_reading_a_large_catalog(tmp_path: Path) -> None:
    def goods(count: int) -> Iterator[Product]:
        unit = Unit("796", "шт", "Штука", "PCE")
        for i in range(count):
            yield Product(id=f"{i:08d}-0000-4000-8000-000000000000", name=f"Товар {i}", unit=unit, article=str(i))  # fmt: skip

    def peak(count: int) -> tuple[int, int]:
        path = tmp_path / f"import{count}.xml"
        with path.open("wb") as out:
            write_catalog(out, classifier_id="c", catalog_id="c", name="К", products=goods(count))
        tracemalloc.start()
        try:
            assert sum(1 for _ in read(path)) == count
            return tracemalloc.get_traced_memory()[1], path.stat().st_size
        finally:
            tracemalloc.stop()

    small, small_size = peak(400)
    large, large_size = peak(4_000)
    assert large_size > 9 * small_size
    assert large < small * 1.5, (small, large)  # ten times the goods, the same memory
