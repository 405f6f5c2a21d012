"""Finding the Bitrix24 company of a 1C counterparty (never create before looking).

Order: link table → 1C id stored on the company (ORIGINATOR_ID/ORIGIN_ID) → INN+KPP of a
legal entity (a branch with another KPP is another record) → INN of a sole proprietor or
individual → SNILS of a person (when the portal keeps it in a requisite user field) →
phone (E.164) → e-mail, the last two only for records without an INN.
More than one candidate is *ambiguous*. A company that only looks alike — the same name
up to legal form, quotes, word order, script and typos, or a shared phone of a record
that has an INN — is a *suggestion*. Both go to the review queue; neither is ever
linked or merged on its own.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from rapidfuzz import fuzz, process

from bitrix1c.domain.counterparty import Counterparty
from bitrix1c.domain.names import NormalizedName, name_score, normalize_name

MatchKind = Literal[
    "link",
    "origin",
    "inn_kpp",
    "inn",
    "snils",
    "phone",
    "email",
    "review",  # a person linked it in the review queue
    "none",
    "ambiguous",
    "suggested",
]
AUTOMATIC: frozenset[str] = frozenset({"origin", "inn_kpp", "inn", "snils", "phone", "email"})
"""Kinds that link a record without a person (the link table's own kinds aside)."""

SUGGEST_THRESHOLD = 85.0
"""Name score from which a company is proposed for review."""


@dataclass(frozen=True)
class Candidate:
    """A Bitrix24 company proposed for a 1C record, with why and how sure."""

    company_id: int
    score: float
    reason: str  # inn, inn_kpp, phone, email, name
    title: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "company_id": self.company_id,
            "score": round(self.score, 1),
            "reason": self.reason,
            "title": self.title,
        }


@dataclass(frozen=True)
class Match:
    """The outcome of matching one counterparty."""

    kind: MatchKind
    company_id: int | None = None
    candidates: tuple[int, ...] = ()
    suggestions: tuple[Candidate, ...] = ()

    @property
    def needs_review(self) -> bool:
        """Whether a person has to decide (ambiguous keys or look-alikes)."""
        return self.kind in ("ambiguous", "suggested")

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


def taken_by_others(taken: Mapping[int, str], ref_key: str) -> dict[int, str]:
    """``taken`` (record id → the 1C Ref_Key linked to it) without ``ref_key``'s own."""
    return {rid: ref for rid, ref in taken.items() if ref != ref_key}


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


# --- look-alikes ------------------------------------------------------------------------------


class Directory:
    """What is known of every Bitrix24 company when looking for look-alikes.

    Names are indexed by blocks (each normalized word, its first and last four letters
    and the whole key), so a query compares itself with a few dozen companies instead of
    all of them; a block shared by more than ``max_block`` companies ("торговый",
    "дом") is too common to say anything and is not used.
    """

    def __init__(self, max_block: int = 40) -> None:
        self.max_block = max_block
        self.titles: dict[int, str] = {}
        self.inns: dict[int, set[str]] = defaultdict(set)
        self._names: dict[int, NormalizedName] = {}
        self._keys: dict[int, str] = {}
        self._blocks: dict[str, list[int]] = defaultdict(list)

    def __len__(self) -> int:
        return len(self.titles)

    def add_company(self, company_id: int, title: str) -> None:
        self.titles[company_id] = title
        normalized = normalize_name(title)
        self._names[company_id] = normalized
        self._keys[company_id] = normalized.key
        exact, fuzzy = _blocks(normalized)
        for block in exact:
            self._blocks[block].append(company_id)
        for _word, prefix, suffix in fuzzy:
            self._blocks[prefix].append(company_id)
            self._blocks[suffix].append(company_id)

    def add_requisite(self, company_id: int, inn: str) -> None:
        if inn:
            self.inns[company_id].add(inn)

    def duplicates_by_inn(self) -> dict[str, list[int]]:
        """INNs carried by requisites of more than one company (duplicates inside CRM)."""
        companies: dict[str, set[int]] = defaultdict(set)
        for company_id, inns in self.inns.items():
            for inn in inns:
                companies[inn].add(company_id)
        return {inn: sorted(ids) for inn, ids in companies.items() if len(ids) > 1}

    def look_alikes(
        self, name: str, threshold: float = SUGGEST_THRESHOLD, limit: int = 5
    ) -> list[Candidate]:
        """Companies whose name scores at least ``threshold`` against ``name``."""
        wanted = normalize_name(name)
        if not wanted.words:
            return []
        exact, fuzzy = _blocks(wanted)
        # Same words first. Only when that finds nothing, the prefix/suffix blocks that
        # catch typos — and only of words no company has as they are (a typo'd word is
        # unknown), so a query compares itself with a few dozen names at most.
        seen = self._pool(exact, set())
        found = self._score(wanted, seen, threshold)
        if not found:
            unknown = [
                block
                for word_block, *blocks in fuzzy
                if word_block not in self._blocks
                for block in blocks
            ]
            found = self._score(wanted, self._pool(unknown, seen), threshold)
        found.sort(key=lambda c: (-c.score, c.company_id))
        return found[:limit]

    def _pool(self, blocks: Iterable[str], seen: set[int]) -> set[int]:
        pool: set[int] = set()
        for block in blocks:
            ids = self._blocks.get(block)
            if ids is not None and (len(ids) <= self.max_block or block[0] == "k"):
                pool.update(ids)
        return pool - seen if seen else pool

    def _score(self, wanted: NormalizedName, pool: set[int], threshold: float) -> list[Candidate]:
        if not pool:
            return []
        ids = list(pool)
        keys = [self._keys[i] for i in ids]
        # A C-level pre-filter over the pool, then the full score on the few that pass;
        # keys are sorted words, so name_score never exceeds token_set_ratio.
        rough = process.extract(
            wanted.key, keys, scorer=fuzz.token_set_ratio, score_cutoff=threshold, limit=None
        )
        found: list[Candidate] = []
        for _key, set_ratio, position in rough:
            company_id = ids[position]
            score = name_score(wanted, self._names[company_id], set_ratio)
            if score >= threshold:
                found.append(Candidate(company_id, score, "name", self.titles[company_id]))
        return found


def _blocks(name: NormalizedName) -> tuple[list[str], list[tuple[str, str, str]]]:
    """Blocks of a name: whole name and words; (word, its prefix, its suffix) per word."""
    exact = [f"k:{name.key}"]
    fuzzy: list[tuple[str, str, str]] = []
    for word in name.words:
        if len(word) < 3:
            continue
        exact.append(f"w:{word}")
        if len(word) >= 5:
            fuzzy.append((f"w:{word}", f"p:{word[:4]}", f"s:{word[-4:]}"))
    return exact, fuzzy


def match_counterparty(
    counterparty: Counterparty,
    *,
    requisites: Iterable[RequisiteRow] = (),
    taken: Mapping[int, str] | None = None,
    snils_hits: Collection[int] = (),
    phone_hits: Collection[int] = (),
    email_hits: Collection[int] = (),
    directory: Directory | None = None,
    threshold: float = SUGGEST_THRESHOLD,
) -> Match:
    """The whole cascade after the link table and the 1C id: keys, then look-alikes.

    Args:
        counterparty: A 1C record whose keys were validated (invalid ones are never used).
        requisites: Bitrix24 requisites carrying its INN.
        taken: Company ids linked to *other* 1C records → that record's key.
        snils_hits: Companies whose requisite carries its (validated) SNILS.
        phone_hits: Companies with one of its phones (``crm.duplicate.findbycomm``).
        email_hits: Companies with one of its e-mails.
        directory: All Bitrix24 companies, for look-alikes by name (None: no suggestions).
        threshold: Name score from which a company is suggested.

    Returns:
        An automatic match (by a key), ``ambiguous`` or ``suggested`` for the review
        queue, or ``none`` (create).
    """
    taken = taken or {}
    if counterparty.inn:
        by_inn = match_by_inn(counterparty, requisites, taken)
        if by_inn.kind == "ambiguous":
            return Match(
                "ambiguous",
                candidates=by_inn.candidates,
                suggestions=tuple(
                    Candidate(cid, 100.0, "inn", _title(directory, cid))
                    for cid in by_inn.candidates
                ),
            )
        if by_inn.kind != "none":
            return by_inn
    if counterparty.snils and snils_hits:
        by_snils = _decide(set(snils_hits), "snils", taken)
        if by_snils.kind != "ambiguous":
            return by_snils
        return Match(
            "ambiguous",
            candidates=by_snils.candidates,
            suggestions=tuple(
                Candidate(cid, 100.0, "snils", _title(directory, cid))
                for cid in by_snils.candidates
            ),
        )
    suggestions: dict[int, Candidate] = {}
    for kind, hits in (("phone", phone_hits), ("email", email_hits)):
        hits = {cid for cid in hits if not _other_person(counterparty, directory, cid)}
        if not hits:
            continue
        free = hits - set(taken)
        if not counterparty.inn and len(free) == 1 and len(hits) == 1:
            (company_id,) = free
            # A company with an INN of its own is a legal person, not this individual.
            if directory is None or not directory.inns.get(company_id):
                return Match(kind, company_id=company_id)  # type: ignore[arg-type]
        for cid in sorted(hits):
            suggestions.setdefault(cid, Candidate(cid, 90.0, kind, _title(directory, cid)))
    if directory is not None:
        for candidate in directory.look_alikes(counterparty.name, threshold, limit=10):
            cid = candidate.company_id
            if _other_person(counterparty, directory, cid) or cid in taken:
                continue
            known = suggestions.get(cid)
            if known is None or known.score < candidate.score:
                suggestions[cid] = candidate
    if not suggestions:
        return Match("none")
    ranked = sorted(suggestions.values(), key=lambda c: (-c.score, c.company_id))[:5]
    return Match("suggested", suggestions=tuple(ranked))


def _other_person(counterparty: Counterparty, directory: Directory | None, company_id: int) -> bool:
    """Whether the company's own requisites prove it is someone else.

    Keys were compared already: a company whose requisites carry another INN (or this
    INN with another KPP — a branch) is another legal person, whatever its name or
    phone; an individual without an INN is not a company with a legal entity's INN.
    """
    if directory is None:
        return False
    inns = directory.inns.get(company_id)
    if not inns:
        return False
    if counterparty.inn:
        return True
    return counterparty.kind == "individual" and all(len(inn) == 10 for inn in inns)


def _title(directory: Directory | None, company_id: int) -> str:
    return directory.titles.get(company_id, "") if directory is not None else ""
