"""Управление торговлей 11.5 (onec.md §2.2; reference/onec/objects/ut11.json)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bitrix1c.domain.counterparty import CounterpartyKind
from bitrix1c.onec.profiles.base import CounterpartyFields, Profile


def _kind(row: Mapping[str, Any]) -> CounterpartyKind:
    # Enum ЮрФизЛицо: ЮрЛицо | ФизЛицо | ЮрЛицоНеРезидент | ИндивидуальныйПредприниматель
    value = row.get("ЮрФизЛицо")
    if value == "ИндивидуальныйПредприниматель":
        return "ip"
    if value == "ФизЛицо":
        return "individual"
    return "legal"


UT11 = Profile(
    name="ut11",
    title="Управление торговлей 11",
    counterparty=CounterpartyFields(
        entity_set="Catalog_Контрагенты",
        inn="ИНН",
        kpp="КПП",
        full_name="НаименованиеПолное",
        okpo="КодПоОКПО",
        contact_info="КонтактнаяИнформация",
        kind_of=_kind,
        kind_fields=("ЮрФизЛицо",),
    ),
)
