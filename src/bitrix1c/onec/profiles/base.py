"""Profile structure and the conversion of 1C rows into domain records."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from bitrix1c.domain.counterparty import Counterparty, CounterpartyKind
from bitrix1c.domain.phones import normalize_email, to_e164


@dataclass(frozen=True)
class CounterpartyFields:
    """Names of the counterparty catalog and its fields in one configuration."""

    entity_set: str
    inn: str
    kpp: str
    full_name: str
    okpo: str
    contact_info: str  # tabular section with phones and e-mails
    kind_of: Callable[[Mapping[str, Any]], CounterpartyKind]
    kind_fields: tuple[str, ...]

    def select(self) -> list[str]:
        """``$select`` list for reading counterparties."""
        return [
            "Ref_Key",
            "DataVersion",
            "DeletionMark",
            "Predefined",
            "Description",
            self.full_name,
            self.inn,
            self.kpp,
            self.okpo,
            *self.kind_fields,
            self.contact_info,
        ]

    def to_domain(self, base: str, row: Mapping[str, Any]) -> Counterparty:
        """A 1C row as a :class:`Counterparty` (phones in E.164, e-mails lowercased)."""
        phones: list[str] = []
        emails: list[str] = []
        for line in row.get(self.contact_info) or []:
            kind = line.get("Тип")
            if kind == "Телефон":
                number = to_e164(line.get("НомерТелефона") or line.get("Представление") or "")
                if number and number not in phones:
                    phones.append(number)
            elif kind == "АдресЭлектроннойПочты":
                email = normalize_email(line.get("АдресЭП") or line.get("Представление") or "")
                if email and email not in emails:
                    emails.append(email)
        name = (row.get("Description") or "").strip()
        return Counterparty(
            base=base,
            ref_key=row["Ref_Key"],
            version=str(row.get("DataVersion") or ""),
            kind=self.kind_of(row),
            name=name,
            full_name=(row.get(self.full_name) or "").strip() or name,
            inn="".join((row.get(self.inn) or "").split()),
            kpp="".join((row.get(self.kpp) or "").split()),
            okpo="".join((row.get(self.okpo) or "").split()),
            phones=tuple(phones),
            emails=tuple(emails),
            deletion_mark=bool(row.get("DeletionMark")),
            predefined=bool(row.get("Predefined")),
        )


@dataclass(frozen=True)
class Profile:
    """One configuration: ut11, bp30, …"""

    name: str
    title: str
    counterparty: CounterpartyFields
