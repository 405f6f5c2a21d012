"""Бухгалтерия предприятия 3.0 (onec.md §2.2; reference/onec/objects/bp30.json)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bitrix1c.domain.counterparty import CounterpartyKind
from bitrix1c.onec.profiles.base import CounterpartyFields, Profile


def _kind(row: Mapping[str, Any]) -> CounterpartyKind:
    # ЮридическоеФизическоеЛицо: ЮридическоеЛицо | ФизическоеЛицо; a sole proprietor is
    # ФизическоеЛицо with the boolean ИндивидуальныйПредприниматель.
    if row.get("ЮридическоеФизическоеЛицо") == "ФизическоеЛицо":
        return "ip" if row.get("ИндивидуальныйПредприниматель") else "individual"
    return "legal"


BP30 = Profile(
    name="bp30",
    title="Бухгалтерия предприятия 3.0",
    counterparty=CounterpartyFields(
        entity_set="Catalog_Контрагенты",
        inn="ИНН",
        kpp="КПП",
        full_name="НаименованиеПолное",
        okpo="КодПоОКПО",
        contact_info="КонтактнаяИнформация",
        kind_of=_kind,
        kind_fields=("ЮридическоеФизическоеЛицо", "ИндивидуальныйПредприниматель"),
    ),
)
