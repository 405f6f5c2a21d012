"""Write CommerceML files the way 1C and the site write them.

Records are serialized one by one into a binary stream, so a catalog of any size is
written with flat memory. ``encoding`` is ``utf-8`` or ``windows-1251`` (the XML
declaration says which; characters outside cp1251 become character references).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from typing import BinaryIO

from .model import Group, Offer, Order, PriceType, Product, Property, Unit, Warehouse

NAMESPACE = "urn:1C.ru:commerceml_2"


def _sub(parent: ET.Element, tag: str, text: str | Decimal | None = None) -> ET.Element:
    node = ET.SubElement(parent, tag)
    if text is not None:
        node.text = str(text)
    return node


def _unit(parent: ET.Element, unit: Unit | None) -> None:
    if unit is None:
        return
    node = _sub(parent, "БазоваяЕдиница", unit.name)
    if unit.code:
        node.set("Код", unit.code)
    if unit.full_name:
        node.set("НаименованиеПолное", unit.full_name)
    if unit.international:
        node.set("МеждународноеСокращение", unit.international)


_PROPERTIES = ("ЗначенияСвойств", "ЗначенияСвойства", "Ид", "Значение")
_REQUISITES = ("ЗначенияРеквизитов", "ЗначениеРеквизита", "Наименование", "Значение")
_FEATURES = ("ХарактеристикиТовара", "ХарактеристикаТовара", "Наименование", "Значение")
_TAXES = ("СтавкиНалогов", "СтавкаНалога", "Наименование", "Ставка")


def _pairs(parent: ET.Element, spec: tuple[str, str, str, str], data: dict[str, str]) -> None:
    if not data:
        return
    container, tag, key, value = spec
    box = _sub(parent, container)
    for name, text in data.items():
        item = _sub(box, tag)
        _sub(item, key, name)
        _sub(item, value, text)


def _group(group: Group, children: dict[str | None, list[Group]]) -> ET.Element:
    node = ET.Element("Группа")
    _sub(node, "Ид", group.id)
    _sub(node, "Наименование", group.name)
    nested = children.get(group.id, [])
    if nested:
        box = _sub(node, "Группы")
        for child in nested:
            box.append(_group(child, children))
    return node


def _product(product: Product) -> ET.Element:
    node = ET.Element("Товар")
    _sub(node, "Ид", product.id)
    if product.barcode:
        _sub(node, "Штрихкод", product.barcode)
    _sub(node, "Артикул", product.article or "")
    _sub(node, "Наименование", product.name)
    _unit(node, product.unit)
    if product.group_ids:
        box = _sub(node, "Группы")
        for group_id in product.group_ids:
            _sub(box, "Ид", group_id)
    if product.description:
        _sub(node, "Описание", product.description)
    _pairs(node, _PROPERTIES, product.properties)
    _pairs(node, _TAXES, product.tax_rates)
    _pairs(node, _FEATURES, product.characteristics)
    _pairs(node, _REQUISITES, product.requisites)
    if product.deleted:
        _sub(node, "Статус", "Удален")
    return node


def _offer(offer: Offer) -> ET.Element:
    node = ET.Element("Предложение")
    _sub(node, "Ид", offer.id)
    if offer.article is not None:
        _sub(node, "Артикул", offer.article)
    if offer.name is not None:
        _sub(node, "Наименование", offer.name)
    _unit(node, offer.unit)
    _pairs(node, _FEATURES, offer.characteristics)
    if offer.prices:
        box = _sub(node, "Цены")
        for price in offer.prices:
            item = _sub(box, "Цена")
            label = f"{price.value} {price.currency or ''} за {price.unit or ''}"
            _sub(item, "Представление", label.strip())
            _sub(item, "ИдТипаЦены", price.price_type_id)
            _sub(item, "ЦенаЗаЕдиницу", price.value)
            if price.currency:
                _sub(item, "Валюта", price.currency)
            if price.unit:
                _sub(item, "Единица", price.unit)
            _sub(item, "Коэффициент", price.coefficient or Decimal(1))
    if offer.quantity is not None:
        _sub(node, "Количество", offer.quantity)
    for store_id, amount in offer.stock.items():
        _sub(node, "Склад").attrib.update({"ИдСклада": store_id, "КоличествоНаСкладе": str(amount)})
    return node


def _order(order: Order) -> ET.Element:
    node = ET.Element("Документ")
    _sub(node, "Ид", order.id)
    _sub(node, "Номер", order.number)
    _sub(node, "Дата", order.date.date().isoformat())
    _sub(node, "ХозОперация", order.operation)
    _sub(node, "Роль", order.role)
    _sub(node, "Валюта", order.currency)
    _sub(node, "Курс", order.rate)
    _sub(node, "Сумма", order.total)
    if order.parties:
        box = _sub(node, "Контрагенты")
        for party in order.parties:
            item = _sub(box, "Контрагент")
            if party.id:
                _sub(item, "Ид", party.id)
            _sub(item, "Наименование", party.name)
            if party.full_name:
                _sub(item, "ОфициальноеНаименование", party.full_name)
            if party.inn:
                _sub(item, "ИНН", party.inn)
            if party.kpp:
                _sub(item, "КПП", party.kpp)
            _sub(item, "Роль", party.role or "Покупатель")
    _sub(node, "Время", order.date.strftime("%H:%M:%S"))
    if order.comment:
        _sub(node, "Комментарий", order.comment)
    if order.lines:
        box = _sub(node, "Товары")
        for line in order.lines:
            item = _sub(box, "Товар")
            if line.id:
                _sub(item, "Ид", line.id)
            if line.article:
                _sub(item, "Артикул", line.article)
            _sub(item, "Наименование", line.name)
            _unit(item, line.unit)
            if line.price is not None:
                _sub(item, "ЦенаЗаЕдиницу", line.price)
            _sub(item, "Количество", line.quantity)
            if line.total is not None:
                _sub(item, "Сумма", line.total)
            _pairs(item, _REQUISITES, line.requisites)
    _pairs(node, _REQUISITES, order.requisites)
    return node


class CommerceMLWriter:
    """Write one file: ``with CommerceMLWriter(stream) as w: w.open("Каталог") …``."""

    def __init__(
        self,
        stream: BinaryIO,
        *,
        encoding: str = "utf-8",
        version: str = "2.08",
        namespace: bool = True,
        generated_at: datetime | None = None,
    ) -> None:
        self.stream = stream
        self.encoding = encoding
        self._open: list[str] = []
        stamp = (generated_at or datetime.now()).replace(microsecond=0).isoformat()
        ns = f' xmlns="{NAMESPACE}"' if namespace else ""
        declared = "UTF-8" if encoding.lower() in ("utf-8", "utf8") else encoding
        self._raw(
            f'<?xml version="1.0" encoding="{declared}"?>\n'
            f'<КоммерческаяИнформация{ns} ВерсияСхемы="{version}" ДатаФормирования="{stamp}">\n'
        )

    def _raw(self, text: str) -> None:
        self.stream.write(text.encode(self.encoding, errors="xmlcharrefreplace"))

    def element(self, node: ET.Element) -> None:
        """Write one element (a record) at the current level."""
        level = len(self._open) + 1
        ET.indent(node, space="\t", level=level)  # laid out like 1C's own files
        self._raw("\t" * level + ET.tostring(node, encoding="unicode") + "\n")

    def open(self, tag: str, attrs: dict[str, str] | None = None, **texts: str) -> None:
        """Open a section such as ``Каталог``; ``texts`` become leading child elements."""
        attributes = "".join(f' {k}="{v}"' for k, v in (attrs or {}).items())
        self._raw("\t" * (len(self._open) + 1) + f"<{tag}{attributes}>\n")
        self._open.append(tag)
        for name, text in texts.items():
            node = ET.Element(name)
            node.text = text
            self.element(node)

    def close(self) -> None:
        tag = self._open.pop()
        self._raw("\t" * (len(self._open) + 1) + f"</{tag}>\n")

    def finish(self) -> None:
        while self._open:
            self.close()
        self._raw("</КоммерческаяИнформация>\n")

    def __enter__(self) -> CommerceMLWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        if exc[0] is None:
            self.finish()


def write_catalog(
    stream: BinaryIO,
    *,
    classifier_id: str,
    catalog_id: str,
    name: str,
    groups: Iterable[Group] = (),
    properties: Iterable[Property] = (),
    products: Iterable[Product] = (),
    encoding: str = "utf-8",
    only_changes: bool = False,
) -> None:
    """An ``import.xml``: classifier (groups, properties) and the catalog of goods."""
    with CommerceMLWriter(stream, encoding=encoding) as w:
        w.open("Классификатор", Ид=classifier_id, Наименование=name)
        children: dict[str | None, list[Group]] = {}
        for group in groups:
            children.setdefault(group.parent_id, []).append(group)
        if children:
            w.open("Группы")
            for group in children.get(None, []):
                w.element(_group(group, children))
            w.close()
        props = list(properties)
        if props:
            w.open("Свойства")
            for prop in props:
                node = ET.Element("Свойство")
                _sub(node, "Ид", prop.id)
                _sub(node, "Наименование", prop.name)
                _sub(node, "ТипЗначений", prop.value_type or "Строка")
                if prop.values:
                    box = _sub(node, "ВариантыЗначений")
                    for value_id, value in prop.values.items():
                        item = _sub(box, "Справочник")
                        _sub(item, "ИдЗначения", value_id)
                        _sub(item, "Значение", value)
                w.element(node)
            w.close()
        w.close()
        flag = {"СодержитТолькоИзменения": "true" if only_changes else "false"}
        w.open("Каталог", flag, Ид=catalog_id, ИдКлассификатора=classifier_id, Наименование=name)
        w.open("Товары")
        for product in products:
            w.element(_product(product))


def write_offers(
    stream: BinaryIO,
    *,
    offers_id: str,
    catalog_id: str,
    classifier_id: str,
    name: str,
    price_types: Iterable[PriceType] = (),
    warehouses: Iterable[Warehouse] = (),
    offers: Iterable[Offer] = (),
    encoding: str = "utf-8",
    only_changes: bool = False,
) -> None:
    """An ``offers.xml``: price types, warehouses and offers with prices and stock."""
    with CommerceMLWriter(stream, encoding=encoding) as w:
        flag = {"СодержитТолькоИзменения": "true" if only_changes else "false"}
        w.open(
            "ПакетПредложений",
            flag,
            Ид=offers_id,
            Наименование=name,
            ИдКаталога=catalog_id,
            ИдКлассификатора=classifier_id,
        )
        w.open("ТипыЦен")
        for price_type in price_types:
            node = ET.Element("ТипЦены")
            _sub(node, "Ид", price_type.id)
            _sub(node, "Наименование", price_type.name)
            if price_type.currency:
                _sub(node, "Валюта", price_type.currency)
            if price_type.tax_included is not None:
                tax = _sub(node, "Налог")
                _sub(tax, "Наименование", "НДС")
                _sub(tax, "УчтеноВСумме", "true" if price_type.tax_included else "false")
            w.element(node)
        w.close()
        stores = list(warehouses)
        if stores:
            w.open("Склады")
            for store in stores:
                node = ET.Element("Склад")
                _sub(node, "Ид", store.id)
                _sub(node, "Наименование", store.name)
                w.element(node)
            w.close()
        w.open("Предложения")
        for offer in offers:
            w.element(_offer(offer))


def write_orders(
    stream: BinaryIO,
    orders: Iterable[Order],
    *,
    encoding: str = "utf-8",
    version: str = "2.05",
    generated_at: datetime | None = None,
) -> None:
    """An ``orders.xml``: one ``Документ`` per order (what the site gives 1C on ``query``)."""
    with CommerceMLWriter(
        stream, encoding=encoding, version=version, namespace=False, generated_at=generated_at
    ) as w:
        for order in orders:
            w.element(_order(order))
