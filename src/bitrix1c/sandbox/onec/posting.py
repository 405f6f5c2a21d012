"""Register movements written when a document is posted — the effects flows rely on.

Only the movements the exchange reads back are emulated (a real configuration writes
dozens of registers):

УТ 11 (``РасчетыСКлиентами``: ``КОплате`` = still to be paid, ``Сумма`` = debt):

* ``ЗаказКлиента`` — receipt of ``КОплате`` = order amount on the order's settlement object;
* ``РеализацияТоваровУслуг`` — receipt of ``Сумма`` per ``РасшифровкаПлатежа`` line (the
  customer now owes; the whole amount on the order when there are no lines) and an expense
  of ``ВНаличии`` in ``ТоварыНаСкладах`` per goods line (the stock falls);
* ``ПоступлениеБезналичныхДенежныхСредств`` / ``ПриходныйКассовыйОрдер`` — per payment line,
  an expense of ``Сумма`` and ``КОплате`` on the line's settlement object.

БП 3.0: ``ПоступлениеНаРасчетныйСчет`` / ``ПриходныйКассовыйОрдер`` write
``ОплатаСчетов`` turnovers per payment line with an invoice (``СчетНаОплату``).

A settlement object is ``ОбъектРасчетов_Key`` when set, else the order itself (the document
named by ``ОснованиеПлатежа`` / ``ЗаказКлиента``), so a payment line that points at an order
lowers that order's ``КОплате`` either way. Unposting removes the document's movements.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .schema import EMPTY_REF, NAMESPACE

__all__ = ["MOVEMENT_REGISTERS", "movements"]

Movement = tuple[str, dict[str, Any]]  # (register _RecordType set, record fields)

SETTLEMENTS = "AccumulationRegister_РасчетыСКлиентами_RecordType"
STOCK = "AccumulationRegister_ТоварыНаСкладах_RecordType"
INVOICE_PAYMENTS = "AccumulationRegister_ОплатаСчетов_RecordType"
MOVEMENT_REGISTERS = (SETTLEMENTS, STOCK, INVOICE_PAYMENTS)


def _ref(value: Any) -> str:
    return str(value or EMPTY_REF)


def _settlement_object(line: Mapping[str, Any], *fallbacks: Any) -> str:
    for value in (line.get("ОбъектРасчетов_Key"), *fallbacks):
        if value and value != EMPTY_REF:
            return str(value)
    return EMPTY_REF


def _number(value: Any) -> float:
    try:
        return float(value or 0)
    except (TypeError, ValueError):
        return 0.0


def movements(profile: str, entity_set: str, doc: Mapping[str, Any]) -> list[Movement]:
    """Records ``doc`` writes when posted (empty for documents without emulated effects)."""
    head = {"Period": doc.get("Date"), "Active": True}
    if profile == "ut11":
        return _ut11(entity_set, doc, head)
    if profile == "bp30":
        return _bp30(entity_set, doc, head)
    return []


def _ut11(entity_set: str, doc: Mapping[str, Any], head: dict[str, Any]) -> list[Movement]:
    out: list[Movement] = []
    if entity_set == "Document_ЗаказКлиента":
        out.append(
            (
                SETTLEMENTS,
                {
                    **head,
                    "RecordType": "Receipt",
                    "ОбъектРасчетов_Key": _settlement_object(doc, doc.get("Ref_Key")),
                    "Валюта_Key": _ref(doc.get("Валюта_Key")),
                    "КОплате": _number(doc.get("СуммаДокумента")),
                },
            )
        )
    elif entity_set == "Document_РеализацияТоваровУслуг":
        order = doc.get("ЗаказКлиента") if doc.get("ЗаказКлиента_Type") else None
        payment_lines = doc.get("РасшифровкаПлатежа") or [{"Сумма": doc.get("СуммаДокумента")}]
        for line in payment_lines:
            out.append(
                (
                    SETTLEMENTS,
                    {
                        **head,
                        "RecordType": "Receipt",
                        "ОбъектРасчетов_Key": _settlement_object(line, order, doc.get("Ref_Key")),
                        "Валюта_Key": _ref(doc.get("Валюта_Key")),
                        "Сумма": _number(line.get("Сумма")),
                    },
                )
            )
        for line in doc.get("Товары") or []:
            out.append(
                (
                    STOCK,
                    {
                        **head,
                        "RecordType": "Expense",
                        "Номенклатура_Key": _ref(line.get("Номенклатура_Key")),
                        "Характеристика_Key": _ref(line.get("Характеристика_Key")),
                        "Склад_Key": _ref(
                            line.get("Склад_Key")
                            if line.get("Склад_Key") not in (None, EMPTY_REF)
                            else doc.get("Склад_Key")
                        ),
                        "ВНаличии": _number(line.get("Количество")),
                    },
                )
            )
    elif entity_set in (
        "Document_ПоступлениеБезналичныхДенежныхСредств",
        "Document_ПриходныйКассовыйОрдер",
    ):
        for line in doc.get("РасшифровкаПлатежа") or []:
            basis = line.get("ОснованиеПлатежа") if line.get("ОснованиеПлатежа_Type") else None
            amount = _number(line.get("Сумма"))
            out.append(
                (
                    SETTLEMENTS,
                    {
                        **head,
                        "RecordType": "Expense",
                        "ОбъектРасчетов_Key": _settlement_object(line, basis),
                        "Валюта_Key": _ref(doc.get("Валюта_Key")),
                        "Сумма": amount,
                        "КОплате": amount,
                    },
                )
            )
    return out


def _bp30(entity_set: str, doc: Mapping[str, Any], head: dict[str, Any]) -> list[Movement]:
    out: list[Movement] = []
    if entity_set in ("Document_ПоступлениеНаРасчетныйСчет", "Document_ПриходныйКассовыйОрдер"):
        for line in doc.get("РасшифровкаПлатежа") or []:
            invoice = line.get("СчетНаОплату_Key")
            if not invoice or invoice == EMPTY_REF:
                continue
            out.append(
                (
                    INVOICE_PAYMENTS,
                    {
                        **head,
                        "Организация_Key": _ref(doc.get("Организация_Key")),
                        "СчетНаОплату": invoice,
                        "СчетНаОплату_Type": f"{NAMESPACE}.Document_СчетНаОплатуПокупателю",
                        "Сумма": _number(line.get("СуммаПлатежа")),
                        "СуммаНДС": _number(line.get("СуммаНДС")),
                    },
                )
            )
    return out
