"""Finding the Bitrix24 company of a 1C counterparty (never create before looking).

Order: link table → 1C id stored on the company (ORIGINATOR_ID/ORIGIN_ID) → INN+KPP of a
legal entity (a branch with another KPP is another record) → INN of a sole proprietor or
individual. More than one candidate is *ambiguous*: reported, never merged.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from bitrix1c.domain.counterparty import Counterparty

MatchKind = Literal["link", "origin", "inn_kpp", "inn", "none", "ambiguous"]


@dataclass(frozen=True)
class Match:
    """The outcome of matching one counterparty."""

    kind: MatchKind
    company_id: int | None = None
    candidates: tuple[int, ...] = ()

    @property
    def key(self) -> str:
        """The match key stored in the link table."""
        return self.kind


@dataclass(frozen=True)
class RequisiteRow:
    """A Bitrix24 company requisite, as far as matching needs it."""

    id: int
    company_id: int
    inn: str
    kpp: str
    xml_id: str

    @classmethod
    def from_api(cls, row: Mapping[str, Any]) -> RequisiteRow:
        return cls(
            id=int(row["ID"]),
            company_id=int(row["ENTITY_ID"]),
            inn=(row.get("RQ_INN") or "").strip(),
            kpp=(row.get("RQ_KPP") or "").strip(),
            xml_id=(row.get("XML_ID") or "").strip(),
        )


def match_by_inn(
    counterparty: Counterparty,
    requisites: Iterable[RequisiteRow],
    taken: Mapping[int, str],
) -> Match:
    """Match by INN (+KPP for legal entities) among Bitrix24 requisites.

    ``taken`` maps company ids already linked to *other* 1C records to that record's key:
    such a company is a candidate only for its own record, so a second 1C record with the
    same keys comes out ambiguous (a duplicate inside 1C) instead of matching it twice.
    """
    same_inn = [r for r in requisites if r.inn == counterparty.inn]
    if not same_inn:
        return Match("none")
    if counterparty.kind == "legal" and counterparty.kpp:
        exact = {r.company_id for r in same_inn if r.kpp == counterparty.kpp}
        if exact:
            return _decide(exact, "inn_kpp", taken)
        without_kpp = {r.company_id for r in same_inn if not r.kpp}
        if without_kpp:
            return _decide(without_kpp, "inn", taken)
        # Only other KPPs: other branches of the same legal entity.
        return Match("none")
    return _decide({r.company_id for r in same_inn}, "inn", taken)


def _decide(company_ids: set[int], kind: MatchKind, taken: Mapping[int, str]) -> Match:
    if len(company_ids) == 1:
        (company_id,) = company_ids
        if company_id in taken:
            return Match("ambiguous", candidates=(company_id,))
        return Match(kind, company_id=company_id)
    return Match("ambiguous", candidates=tuple(sorted(company_ids)))
