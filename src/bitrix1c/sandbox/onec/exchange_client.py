"""1C's side of the "exchange with site": drives the CommerceML HTTP protocol end to end.

It makes the calls in the order 1C's exchange makes them (reference/onec.md §3.2)::

    catalog: checkauth → init → file (each file, in chunks of at most file_limit;
             one zip archive instead when the site answered zip=yes) → import (per XML
             file, repeated while the site answers "progress")
    sale:    checkauth → init → query (orders XML) → success → file + import (1C's answer)

and fails the way 1C does: any answer that is not ``success``/``progress`` stops the run
with the site's reason (:class:`ExchangeError`). :func:`catalog_files` writes ``import.xml`` and
``offers.xml`` from an emulated base, as 1C would from its catalog.
"""

from __future__ import annotations

import io
import uuid
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import httpx

from bitrix1c.onec.commerceml import (
    Group,
    Offer,
    Order,
    Price,
    PriceType,
    Product,
    Unit,
    Warehouse,
    read,
    write_catalog,
    write_offers,
)

from .base import OneCBase


class ExchangeError(Exception):
    """The site answered ``failure`` (or something 1C does not understand)."""

    def __init__(self, mode: str, answer: str) -> None:
        self.mode = mode
        self.answer = answer
        super().__init__(f"mode={mode}: {answer.strip()}")


@dataclass
class ExchangeReport:
    """What happened, as 1C's exchange log would show it."""

    zip: bool = False
    file_limit: int = 0
    uploads: dict[str, int] = field(default_factory=dict)  # file → number of chunks
    imports: dict[str, int] = field(default_factory=dict)  # file → "progress" answers
    orders: list[Order] = field(default_factory=list)
    orders_xml: bytes = b""
    calls: list[str] = field(default_factory=list)


class ExchangeClient:
    """Speaks to ``url`` (e.g. ``http://host/bitrix/admin/1c_exchange.php``) as 1C does."""

    def __init__(
        self,
        url: str,
        username: str,
        password: str,
        *,
        transport: httpx.BaseTransport | None = None,
        timeout: float = 120.0,
        max_import_calls: int = 100_000,
    ) -> None:
        self.url = url
        self.max_import_calls = max_import_calls
        self._http = httpx.Client(auth=(username, password), transport=transport, timeout=timeout)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> ExchangeClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- protocol steps -----------------------------------------------------------------

    def _call(
        self, report: ExchangeReport, kind: str, mode: str, body: bytes | None = None, **params: str
    ) -> httpx.Response:
        query = {"type": kind, "mode": mode, **params}
        report.calls.append("&".join(f"{k}={v}" for k, v in query.items()))
        if body is None:
            response = self._http.get(self.url, params=query)
        else:
            response = self._http.post(
                self.url,
                params=query,
                content=body,
                headers={"Content-Type": "application/octet-stream"},
            )
        return response

    @staticmethod
    def _lines(response: httpx.Response) -> list[str]:
        return response.text.replace("\r\n", "\n").split("\n")

    def checkauth(self, report: ExchangeReport, kind: str) -> None:
        response = self._call(report, kind, "checkauth")
        lines = self._lines(response)
        if lines[0].strip() != "success" or len(lines) < 3:
            raise ExchangeError("checkauth", response.text)
        # 1C sends the cookie it was given on every later call of the exchange.
        self._http.cookies.clear()
        self._http.cookies.set(lines[1].strip(), lines[2].strip())

    def init(self, report: ExchangeReport, kind: str) -> None:
        response = self._call(report, kind, "init")
        values = dict(line.split("=", 1) for line in self._lines(response) if "=" in line)
        if "file_limit" not in values:
            raise ExchangeError("init", response.text)
        report.zip = values.get("zip", "no").strip() == "yes"
        report.file_limit = int(values["file_limit"].strip())

    def upload(self, report: ExchangeReport, kind: str, filename: str, data: bytes) -> None:
        limit = max(report.file_limit, 1)
        chunks = [data[i : i + limit] for i in range(0, len(data), limit)] or [b""]
        for chunk in chunks:
            response = self._call(report, kind, "file", chunk, filename=filename)
            if self._lines(response)[0].strip() != "success":
                raise ExchangeError("file", response.text)
        report.uploads[filename] = len(chunks)

    def import_file(self, report: ExchangeReport, kind: str, filename: str) -> None:
        progress = 0
        for _ in range(self.max_import_calls):
            response = self._call(report, kind, "import", filename=filename)
            status = self._lines(response)[0].strip()
            if status == "success":
                report.imports[filename] = progress
                return
            if status != "progress":
                raise ExchangeError("import", response.text)
            progress += 1
        raise ExchangeError("import", f"still in progress after {self.max_import_calls} calls")

    # --- whole exchanges -----------------------------------------------------------------

    def run_catalog(self, files: Mapping[str, bytes]) -> ExchangeReport:
        """Upload and import the catalog files (``import.xml`` first, then ``offers.xml``)."""
        report = ExchangeReport()
        self.checkauth(report, "catalog")
        self.init(report, "catalog")
        if report.zip:
            buffer = io.BytesIO()
            with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as bundle:
                for name, data in files.items():
                    bundle.writestr(name, data)
            self.upload(report, "catalog", "exchange.zip", buffer.getvalue())
        else:
            for name, data in files.items():
                self.upload(report, "catalog", name, data)
        for name in files:
            if name.lower().endswith(".xml"):
                self.import_file(report, "catalog", name)
        return report

    def run_sale(self, answers: Mapping[str, bytes] | None = None) -> ExchangeReport:
        """Take the site's orders, confirm them, then send 1C's documents (``answers``)."""
        report = ExchangeReport()
        self.checkauth(report, "sale")
        self.init(report, "sale")
        response = self._call(report, "sale", "query")
        if response.text.startswith("failure"):
            raise ExchangeError("query", response.text)
        report.orders_xml = response.content
        records = read(io.BytesIO(response.content), name="orders from query")
        report.orders = [record for record in records if isinstance(record, Order)]
        success = self._call(report, "sale", "success")
        if self._lines(success)[0].strip() != "success":
            raise ExchangeError("success", success.text)
        for name, data in (answers or {}).items():
            self.upload(report, "sale", name, data)
            self.import_file(report, "sale", name)
        return report


# --- the files 1C writes from its catalog ---------------------------------------------------


def _rows(base: OneCBase, entity_set: str) -> list[dict[str, Any]]:
    if base.schema.get(entity_set) is None:
        return []
    return [row for row in base.rows(entity_set) if not row.get("DeletionMark")]


def catalog_files(base: OneCBase, *, encoding: str = "utf-8") -> dict[str, bytes]:
    """``import.xml`` and ``offers.xml`` for the items of ``base`` (УТ 11 names).

    Groups are the item folders; units come with their OKEI code (``Code``); prices are the
    latest ``ЦеныНоменклатуры`` per item and price type; stock is ``ТоварыНаСкладах``
    (``ВНаличии``) per warehouse. Whatever the base does not hold is left out.
    """
    classifier = str(uuid.uuid5(uuid.NAMESPACE_URL, f"bitrix1c-sandbox:{base.name}:classifier"))
    units = {u["Ref_Key"]: u for u in _rows(base, "Catalog_УпаковкиЕдиницыИзмерения")}
    items = _rows(base, "Catalog_Номенклатура")
    groups = [
        Group(id=i["Ref_Key"], name=i.get("Description", ""), parent_id=_ref(i.get("Parent_Key")))
        for i in items
        if i.get("IsFolder")
    ]
    products = []
    for item in items:
        if item.get("IsFolder"):
            continue
        unit_row = units.get(item.get("ЕдиницаИзмерения_Key", ""))
        unit = (
            Unit(
                code=unit_row.get("Code") or None,
                name=unit_row.get("Description"),
                full_name=unit_row.get("НаименованиеПолное") or None,
                international=unit_row.get("МеждународноеСокращение") or None,
            )
            if unit_row
            else None
        )
        parent = _ref(item.get("Parent_Key"))
        products.append(
            Product(
                id=item["Ref_Key"],
                name=item.get("Description", ""),
                article=item.get("Артикул") or None,
                unit=unit,
                group_ids=(parent,) if parent else (),
                requisites=(
                    {"Полное наименование": item["НаименованиеПолное"]}
                    if item.get("НаименованиеПолное")
                    else {}
                ),
            )
        )
    price_types = [
        PriceType(
            id=p["Ref_Key"],
            name=p.get("Description", ""),
            currency="RUB",
            tax_included=bool(p.get("ЦенаВключаетНДС")),
        )
        for p in _rows(base, "Catalog_ВидыЦен")
    ]
    warehouses = [
        Warehouse(id=w["Ref_Key"], name=w.get("Description", ""))
        for w in _rows(base, "Catalog_Склады")
        if not w.get("IsFolder")
    ]
    prices: dict[str, dict[str, tuple[str, Decimal]]] = {}
    for record in _rows(base, "InformationRegister_ЦеныНоменклатуры_RecordType"):
        item_key, type_key = record.get("Номенклатура_Key"), record.get("ВидЦены_Key")
        if not item_key or not type_key or record.get("Цена") is None:
            continue
        period = str(record.get("Period", ""))
        known = prices.setdefault(item_key, {}).get(type_key)
        if known is None or known[0] <= period:
            prices[item_key][type_key] = (period, Decimal(str(record["Цена"])))
    stock: dict[str, dict[str, Decimal]] = {}
    for record in _rows(base, "AccumulationRegister_ТоварыНаСкладах_RecordType"):
        item_key, store_key = record.get("Номенклатура_Key"), record.get("Склад_Key")
        if not item_key or not store_key:
            continue
        sign = -1 if record.get("RecordType") == "Expense" else 1
        amount = Decimal(str(record.get("ВНаличии") or 0)) * sign
        per_store = stock.setdefault(item_key, {})
        per_store[store_key] = per_store.get(store_key, Decimal(0)) + amount
    offers = [
        Offer(
            id=product.id,
            name=product.name,
            article=product.article,
            unit=product.unit,
            prices=tuple(
                Price(type_key, value, "RUB", product.unit.name if product.unit else None)
                for type_key, (_, value) in prices.get(product.id, {}).items()
            ),
            quantity=sum(stock.get(product.id, {}).values(), Decimal(0)),
            stock=stock.get(product.id, {}),
        )
        for product in products
    ]
    catalog, offers_xml = io.BytesIO(), io.BytesIO()
    write_catalog(
        catalog,
        classifier_id=classifier,
        catalog_id=classifier,
        name=f"Каталог {base.name}",
        groups=groups,
        products=products,
        encoding=encoding,
    )
    write_offers(
        offers_xml,
        offers_id=f"{classifier}#",
        catalog_id=classifier,
        classifier_id=classifier,
        name=f"Пакет предложений {base.name}",
        price_types=price_types,
        warehouses=warehouses,
        offers=offers,
        encoding=encoding,
    )
    return {"import.xml": catalog.getvalue(), "offers.xml": offers_xml.getvalue()}


def _ref(value: Any) -> str | None:
    if not value or value == "00000000-0000-0000-0000-000000000000":
        return None
    return str(value)
