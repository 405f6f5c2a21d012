"""Realistic Russian seed data for the sandboxes (Faker ru_RU, valid INN/KPP/OGRN).

The records here are neutral: each emulator maps them onto its own shapes
(1C catalogs with contact information, Bitrix24 companies with requisites).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Literal

CounterpartyKind = Literal["legal", "ip", "individual"]


@dataclass(frozen=True)
class SeedPerson:
    """A contact person of a counterparty."""

    ref_key: str
    last_name: str
    first_name: str
    middle_name: str
    position: str
    phones: tuple[str, ...] = ()
    emails: tuple[str, ...] = ()


@dataclass(frozen=True)
class SeedCounterparty:
    """One counterparty as a 1C base would hold it.

    ``phones`` are written the way people type them in 1C (``+7 (495) 123-45-67``,
    ``8 912 345 67 89``); ``kpp`` is empty for sole proprietors and individuals;
    ``ogrn`` holds the OGRN (13 digits) of a legal entity or the OGRNIP (15 digits)
    of a sole proprietor.
    """

    ref_key: str
    partner_ref_key: str
    kind: CounterpartyKind
    name: str
    full_name: str
    inn: str
    kpp: str
    ogrn: str
    okpo: str
    address: str
    phones: tuple[str, ...] = ()
    emails: tuple[str, ...] = ()
    contacts: tuple[SeedPerson, ...] = field(default_factory=tuple)


def generate_counterparties(count: int, seed: int = 1) -> Iterator[SeedCounterparty]:
    """Yield ``count`` deterministic counterparties (same ``seed`` → same data)."""
    raise NotImplementedError("being written")
