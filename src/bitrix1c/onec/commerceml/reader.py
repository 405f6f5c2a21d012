"""Read CommerceML 2.03–2.10 files: ``import.xml``, ``offers.xml`` (and the split 2.10
``prices``/``rests`` files), and documents (``orders.xml``, ``documents___<guid>.xml``).

:func:`read` streams the records of any of them, whatever the file is called: the content
decides (``Классификатор``/``Каталог`` → groups, properties, units, goods; ``ПакетПредложений``
→ price types, warehouses, offers; ``Документ`` → orders). A record that breaks the format
(a good without ``Ид``, a price that is not a number) raises :class:`CommerceMLError` with the
file, the line and the element; :func:`inspect` reads a whole file that way before anything
is stored, so a broken file is refused as a whole.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import BinaryIO

from .model import (
    FileHeader,
    Group,
    Offer,
    Order,
    OrderLine,
    Party,
    Price,
    PriceType,
    Product,
    Property,
    Record,
    Unit,
    Warehouse,
)
from .xmlstream import CommerceMLError, Node, iter_records

ROOT = "КоммерческаяИнформация"

# (section container, element) pairs that are records at depth 4 of the tree.
_RECORDS = {
    ("Группы", "Группа"),
    ("Свойства", "Свойство"),
    ("Свойства", "СвойствоНоменклатуры"),  # 2.03
    ("ЕдиницыИзмерения", "ЕдиницаИзмерения"),
    ("ТипыЦен", "ТипЦены"),
    ("Склады", "Склад"),
    ("Товары", "Товар"),
    ("Предложения", "Предложение"),
}
_TRUE = {"true", "истина", "да", "1"}


def _is_record(path: tuple[str, ...]) -> bool:
    if len(path) == 2:
        return path[1] == "Документ"
    # A document keeps its goods (Документ/Товары/Товар) inside it.
    return len(path) == 4 and path[1] != "Документ" and (path[2], path[3]) in _RECORDS


class _Context:
    def __init__(self, file: str | None) -> None:
        self.file = file

    def fail(self, node: Node, message: str) -> CommerceMLError:
        return CommerceMLError(message, file=self.file, line=node.line, element=node.tag)

    def required(self, node: Node, tag: str) -> str:
        value = node.value(tag)
        if value is None:
            child = node.find(tag)
            raise self.fail(child or node, f"<{node.tag}> has no <{tag}>")
        return value

    def decimal(self, node: Node | None, owner: Node, tag: str) -> Decimal | None:
        if node is None or not node.text.strip():
            return None
        return self.number(node.text, node, f"<{tag}> of <{owner.tag}>")

    def number(self, text: str, node: Node, what: str) -> Decimal:
        cleaned = text.strip().replace("\xa0", "").replace(" ", "").replace(",", ".")
        try:
            value = Decimal(cleaned)
        except InvalidOperation:
            raise self.fail(node, f"{what} is not a number: {text.strip()!r}") from None
        if not value.is_finite():
            raise self.fail(node, f"{what} is not a number: {text.strip()!r}")
        return value


def _pairs(node: Node, container: str, tag: str, key: str, value: str) -> dict[str, str]:
    result: dict[str, str] = {}
    for item in node.items(container, tag):
        name = item.value(key)
        if name is not None:
            values = [v.text.strip() for v in item.findall(value) if v.text.strip()]
            result[name] = ", ".join(values)
    return result


def _unit(node: Node | None) -> Unit | None:
    if node is None:
        return None
    text = node.text.strip() or None
    code = node.attrs.get("Код") or node.value("Код")
    name = node.attrs.get("НаименованиеКраткое") or node.value("НаименованиеКраткое")
    if code is None and text is not None and text.isdigit():
        code, text = text, None  # 2.10 may refer to a classifier unit by its code alone
    return Unit(
        code=code.strip() if code else None,
        name=name or text,
        full_name=node.attrs.get("НаименованиеПолное") or node.value("НаименованиеПолное"),
        international=node.attrs.get("МеждународноеСокращение")
        or node.value("МеждународноеСокращение"),
    )


def _groups(ctx: _Context, node: Node, parent: str | None) -> Iterator[Group]:
    group_id = ctx.required(node, "Ид")
    yield Group(id=group_id, name=node.value("Наименование") or "", parent_id=parent)
    for child in node.items("Группы", "Группа"):
        yield from _groups(ctx, child, group_id)


def _property(ctx: _Context, node: Node) -> Property:
    values: dict[str, str] = {}
    variants = node.find("ВариантыЗначений")
    if variants is not None:
        for item in variants.findall("Справочник"):
            value_id = item.value("ИдЗначения")
            if value_id is not None:
                values[value_id] = item.value("Значение") or ""
    return Property(
        id=ctx.required(node, "Ид"),
        name=node.value("Наименование") or "",
        value_type=node.value("ТипЗначений"),
        values=values,
    )


def _product(ctx: _Context, node: Node) -> Product:
    groups = node.find("Группы")
    status = (node.attrs.get("Статус") or node.value("Статус") or "").lower()
    marked = (node.value("ПометкаУдаления") or "").lower() in _TRUE
    return Product(
        id=ctx.required(node, "Ид"),
        name=ctx.required(node, "Наименование"),
        article=node.value("Артикул"),
        unit=_unit(node.find("БазоваяЕдиница")),
        group_ids=tuple(g.text.strip() for g in groups.findall("Ид")) if groups else (),
        barcode=node.value("Штрихкод"),
        description=node.value("Описание"),
        properties=_pairs(node, "ЗначенияСвойств", "ЗначенияСвойства", "Ид", "Значение"),
        requisites=_pairs(
            node, "ЗначенияРеквизитов", "ЗначениеРеквизита", "Наименование", "Значение"
        ),
        characteristics=_pairs(
            node, "ХарактеристикиТовара", "ХарактеристикаТовара", "Наименование", "Значение"
        ),
        tax_rates=_pairs(node, "СтавкиНалогов", "СтавкаНалога", "Наименование", "Ставка"),
        deleted=status == "удален" or marked,
    )


def _price_type(ctx: _Context, node: Node) -> PriceType:
    tax = node.find("Налог")
    included = tax.value("УчтеноВСумме") if tax is not None else None
    return PriceType(
        id=ctx.required(node, "Ид"),
        name=node.value("Наименование") or "",
        currency=node.value("Валюта"),
        tax_included=None if included is None else included.lower() in _TRUE,
    )


def _offer(ctx: _Context, node: Node) -> Offer:
    prices = []
    for price in node.items("Цены", "Цена"):
        value = ctx.decimal(price.find("ЦенаЗаЕдиницу"), price, "ЦенаЗаЕдиницу")
        if value is None:
            raise ctx.fail(price, "<Цена> has no <ЦенаЗаЕдиницу>")
        prices.append(
            Price(
                price_type_id=ctx.required(price, "ИдТипаЦены"),
                value=value,
                currency=price.value("Валюта"),
                unit=price.value("Единица"),
                coefficient=ctx.decimal(price.find("Коэффициент"), price, "Коэффициент"),
            )
        )
    quantity = ctx.decimal(node.find("Количество"), node, "Количество")
    stock: dict[str, Decimal] = {}
    for store in node.findall("Склад"):  # 2.04–2.09: <Склад ИдСклада="…" КоличествоНаСкладе="…"/>
        store_id = store.attrs.get("ИдСклада")
        if store_id is None:
            raise ctx.fail(store, "<Склад> has no ИдСклада attribute")
        amount = store.attrs.get("КоличествоНаСкладе", "0")
        stock[store_id] = ctx.number(amount, store, "КоличествоНаСкладе")
    for rest in node.items("Остатки", "Остаток"):  # 2.10 rests: per warehouse or in total
        place = rest.find("Склад")
        if place is not None:
            amount_node = place.find("Количество")
            value = ctx.decimal(amount_node, place, "Количество")
            stock[ctx.required(place, "Ид")] = value if value is not None else Decimal(0)
        else:
            total = ctx.decimal(rest.find("Количество"), rest, "Количество")
            quantity = total if total is not None else quantity
    if quantity is None and stock:
        quantity = sum(stock.values(), Decimal(0))
    return Offer(
        id=ctx.required(node, "Ид"),
        name=node.value("Наименование"),
        article=node.value("Артикул"),
        unit=_unit(node.find("БазоваяЕдиница")),
        prices=tuple(prices),
        quantity=quantity,
        stock=stock,
        characteristics=_pairs(
            node, "ХарактеристикиТовара", "ХарактеристикаТовара", "Наименование", "Значение"
        ),
    )


def _date(ctx: _Context, node: Node) -> datetime:
    day = ctx.required(node, "Дата")
    time = node.value("Время") or "00:00:00"
    text = day if "T" in day else f"{day}T{time}"
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise ctx.fail(node.find("Дата") or node, f"<Дата> is not a date: {day!r}") from None


def _order(ctx: _Context, node: Node) -> Order:
    order_id = node.value("Ид") or node.value("Номер")
    if order_id is None:
        raise ctx.fail(node, "<Документ> has neither <Ид> nor <Номер>")
    parties = tuple(
        Party(
            id=p.value("Ид"),
            name=p.value("Наименование") or p.value("ОфициальноеНаименование") or "",
            role=p.value("Роль"),
            full_name=p.value("ПолноеНаименование") or p.value("ОфициальноеНаименование"),
            inn=p.value("ИНН"),
            kpp=p.value("КПП"),
        )
        for p in node.items("Контрагенты", "Контрагент")
    )
    lines = []
    for line in node.items("Товары", "Товар"):
        quantity = ctx.decimal(line.find("Количество"), line, "Количество")
        lines.append(
            OrderLine(
                id=line.value("Ид"),
                name=line.value("Наименование") or "",
                quantity=quantity if quantity is not None else Decimal(0),
                price=ctx.decimal(line.find("ЦенаЗаЕдиницу"), line, "ЦенаЗаЕдиницу"),
                total=ctx.decimal(line.find("Сумма"), line, "Сумма"),
                article=line.value("Артикул"),
                unit=_unit(line.find("БазоваяЕдиница")),
                requisites=_pairs(
                    line, "ЗначенияРеквизитов", "ЗначениеРеквизита", "Наименование", "Значение"
                ),
            )
        )
    return Order(
        id=order_id,
        number=node.value("Номер") or order_id,
        date=_date(ctx, node),
        operation=node.value("ХозОперация") or "Заказ товара",
        role=node.value("Роль") or "Продавец",
        currency=node.value("Валюта") or "руб",
        rate=ctx.decimal(node.find("Курс"), node, "Курс") or Decimal(1),
        total=ctx.decimal(node.find("Сумма"), node, "Сумма") or Decimal(0),
        parties=parties,
        lines=tuple(lines),
        requisites=_pairs(
            node, "ЗначенияРеквизитов", "ЗначениеРеквизита", "Наименование", "Значение"
        ),
        comment=node.value("Комментарий"),
    )


class CommerceMLReader:
    """Stream the records of one file; :attr:`header` is filled once they are all read.

    ``for record in CommerceMLReader(path): …``
    """

    def __init__(self, source: Path | BinaryIO, *, name: str | None = None) -> None:
        self.source = source
        self.name = name or (source.name if isinstance(source, Path) else None)
        self.header: FileHeader | None = None

    def __iter__(self) -> Iterator[Record]:
        ctx = _Context(self.name)
        documents = False
        units: dict[str, Unit] = {}  # 2.10 classifier units, for goods that give a code only
        for path, node in iter_records(self.source, _is_record, name=self.name):
            if path[0] != ROOT:
                raise ctx.fail(node, f"the root element is <{path[0]}>, not <{ROOT}>")
            if len(path) == 1:
                self.header = self._header(node, documents)
                return
            kind = path[-1]
            if kind == "Документ":
                documents = True
                yield _order(ctx, node)
            elif kind == "Группа":
                yield from _groups(ctx, node, None)
            elif kind in ("Свойство", "СвойствоНоменклатуры"):
                yield _property(ctx, node)
            elif kind == "ЕдиницаИзмерения":
                unit = _unit(node)
                if unit is not None:
                    if unit.code:
                        units[unit.code] = unit
                    yield unit
            elif kind == "ТипЦены":
                yield _price_type(ctx, node)
            elif kind == "Склад":
                yield Warehouse(id=ctx.required(node, "Ид"), name=node.value("Наименование") or "")
            elif kind == "Товар":
                product = _product(ctx, node)
                unit = product.unit
                if unit is not None and unit.code in units and unit.name is None:
                    product = dataclasses.replace(product, unit=units[unit.code])
                yield product
            elif kind == "Предложение":
                yield _offer(ctx, node)

    @staticmethod
    def _header(root: Node, documents: bool) -> FileHeader:
        sections = [child.tag for child in root.children]
        if documents:
            sections.append("Документ")
        catalog = root.find("Каталог")
        offers = root.find("ПакетПредложений") or root.find("ИзмененияПакетаПредложений")
        changes = False
        for section in (catalog, offers):
            if section is not None:
                flag = section.attrs.get("СодержитТолькоИзменения") or section.value(
                    "СодержитТолькоИзменения"
                )
                changes = changes or (flag or "").lower() in _TRUE
        classifier = root.find("Классификатор")
        return FileHeader(
            schema_version=root.attrs.get("ВерсияСхемы"),
            generated_at=root.attrs.get("ДатаФормирования"),
            sections=tuple(dict.fromkeys(sections)),
            only_changes=changes,
            classifier_id=classifier.value("Ид") if classifier is not None else None,
            catalog_id=catalog.value("Ид") if catalog is not None else None,
            offers_id=offers.value("Ид") if offers is not None else None,
        )


def read(source: Path | BinaryIO, *, name: str | None = None) -> Iterator[Record]:
    """Stream the records of a CommerceML file (see :class:`CommerceMLReader`)."""
    return iter(CommerceMLReader(source, name=name))


@dataclass(frozen=True)
class FileSummary:
    """A whole file read without error: its header and how many records of each kind."""

    header: FileHeader
    counts: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def inspect(source: Path | BinaryIO, *, name: str | None = None) -> FileSummary:
    """Read a whole file, keeping only counts: raises :class:`CommerceMLError` if broken."""
    reader = CommerceMLReader(source, name=name)
    counts: Counter[str] = Counter(record.kind for record in reader)
    assert reader.header is not None
    return FileSummary(reader.header, dict(counts))
