"""Counterparty matching: precision/recall on the labeled pairs, and 100,000 × 100,000.

``python -m benchmarks matching`` prints

* on ``tests/data/counterparty_pairs.jsonl`` (2,400 labeled pairs): automatic links, false
  automatic links (must be 0), recall of true duplicates counting automatic links and
  review-queue suggestions (must be ≥ 0.95), suggestion precision, and recall per variant;
* for N × N generated records (N = 10,000, 50,000, 100,000 by default): time to index the
  Bitrix24 side, time to match every 1C record against it, and peak memory.

The matching is the flow's own :func:`~bitrix1c.sync.matching.match_counterparty`; the
Bitrix24 side answers what the portal would (requisites by INN, ``findbycomm`` hits by
phone digits and e-mail) from in-memory indexes. 1C records are streamed: memory holds
the Bitrix24 side's index, never N × M pairs.
"""

from __future__ import annotations

import argparse
import gc
import importlib.util
import json
import re
import resource
import sys
import time
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bitrix1c.domain.counterparty import Counterparty
from bitrix1c.sync.matching import AUTOMATIC, Directory, RequisiteRow, match_counterparty

ROOT = Path(__file__).resolve().parents[1]
PAIRS = ROOT / "tests" / "data" / "counterparty_pairs.jsonl"
_NOT_DIGIT = re.compile(r"\D")


def _phone_key(value: str) -> str:
    return _NOT_DIGIT.sub("", value)[-10:]


class Portal:
    """The Bitrix24 side of the benchmark: companies, requisites, phones, e-mails."""

    def __init__(self) -> None:
        self.directory = Directory()
        self.requisites: dict[str, list[RequisiteRow]] = defaultdict(list)
        self.phones: dict[str, set[int]] = defaultdict(set)
        self.emails: dict[str, set[int]] = defaultdict(set)

    def add(self, company: Mapping[str, Any]) -> None:
        cid = int(company["id"])
        self.directory.add_company(cid, str(company["title"]))
        if company["inn"]:
            self.requisites[company["inn"]].append(
                RequisiteRow(cid * 10, cid, company["inn"], company["kpp"], "")
            )
            self.directory.add_requisite(cid, company["inn"])
        for phone in company["phones"]:
            self.phones[_phone_key(phone)].add(cid)
        for email in company["emails"]:
            self.emails[email.lower()].add(cid)

    def match(self, cp: Counterparty) -> tuple[int | None, set[int]]:
        """(automatically linked company, suggested companies) for one 1C record."""
        phone_hits = set().union(*(self.phones.get(_phone_key(p), set()) for p in cp.phones))
        email_hits = set().union(*(self.emails.get(e.lower(), set()) for e in cp.emails))
        match = match_counterparty(
            cp,
            requisites=self.requisites.get(cp.inn, ()),
            phone_hits=phone_hits,
            email_hits=email_hits,
            directory=self.directory,
        )
        if match.kind in AUTOMATIC:
            return match.company_id, set()
        return None, {c.company_id for c in match.suggestions}


def counterparty(row: Mapping[str, Any]) -> Counterparty:
    return Counterparty(
        base="trade",
        ref_key=row["ref_key"],
        version="",
        kind=row["kind"],
        name=row["name"],
        full_name=row["name"],
        inn=row["inn"],
        kpp=row["kpp"],
        okpo="",
        phones=tuple(row["phones"]),
        emails=tuple(row["emails"]),
    )


@dataclass
class Scores:
    """Outcome of matching the labeled pairs."""

    pairs: int = 0
    duplicates: int = 0
    automatic: int = 0
    false_automatic: int = 0
    found: int = 0  # true duplicates linked or suggested
    suggestions: int = 0
    true_suggestions: int = 0
    per_variant: dict[str, list[int]] = field(default_factory=dict)  # variant → [hit, total]
    false_links: list[str] = field(default_factory=list)

    @property
    def recall(self) -> float:
        return self.found / self.duplicates if self.duplicates else 1.0

    @property
    def suggestion_precision(self) -> float:
        return self.true_suggestions / self.suggestions if self.suggestions else 1.0


def evaluate(rows: Iterable[Mapping[str, Any]]) -> Scores:
    """Match every 1C record of the pairs against all their Bitrix24 companies."""
    rows = list(rows)
    portal = Portal()
    for row in rows:
        portal.add(row["b24"])
    scores = Scores()
    for row in rows:
        scores.pairs += 1
        truth = int(row["b24"]["id"]) if row["duplicate"] else None
        linked, suggested = portal.match(counterparty(row["onec"]))
        label = f"{row['variant']}/{row['how']}" if row["how"] else row["variant"]
        hit_total = scores.per_variant.setdefault(label, [0, 0])
        hit_total[1] += 1
        if linked is not None:
            scores.automatic += 1
            if linked != truth:
                scores.false_automatic += 1
                scores.false_links.append(f"pair {row['pair']} ({label}) → company {linked}")
        scores.suggestions += len(suggested)
        scores.true_suggestions += int(truth in suggested)
        if truth is not None:
            scores.duplicates += 1
            if linked == truth or truth in suggested:
                scores.found += 1
                hit_total[0] += 1
        elif linked is None and not suggested:
            hit_total[0] += 1  # a non-duplicate left alone is right
    return scores


def load_pairs(path: Path = PAIRS) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def _pair_maker() -> Any:
    spec = importlib.util.spec_from_file_location("make_pairs", PAIRS.with_name("make_pairs.py"))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _rss_mb() -> float:
    """Current resident memory of this process (Linux), else the peak so far."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
        return pages * resource.getpagesize() / 2**20
    except (OSError, ValueError, IndexError):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _calibration_us() -> float:
    """Microseconds for a fixed pure-Python loop: how busy the machine was."""
    started = time.perf_counter()
    for _ in range(2000):
        sum(range(100))
    return (time.perf_counter() - started) / 2000 * 1e6


def scale(n: int) -> dict[str, float]:
    """Index N Bitrix24 companies, then stream N 1C records through the matcher."""
    pairs = _pair_maker().generate(n, seed=n)
    b24 = [p["b24"] for p in pairs]
    onec = [p["onec"] for p in pairs]
    del pairs
    gc.collect()
    gc.freeze()  # the generated test data is not the matcher's garbage to scan
    before = _rss_mb()
    started = time.perf_counter()
    portal = Portal()
    for company in b24:
        portal.add(company)
    indexed = time.perf_counter()
    after_index = _rss_mb()
    linked = suggested = 0
    peak_during_match = after_index
    for i, cp in enumerate(_stream(onec)):
        company, candidates = portal.match(cp)
        linked += company is not None
        suggested += bool(candidates)
        if i % 10000 == 0:
            peak_during_match = max(peak_during_match, _rss_mb())
    done = time.perf_counter()
    peak_during_match = max(peak_during_match, _rss_mb())
    gc.unfreeze()
    return {
        "index_s": indexed - started,
        "match_s": done - indexed,
        "total_s": done - started,
        "index_mb": after_index - before,
        "match_mb": peak_during_match - after_index,
        "linked": linked,
        "suggested": suggested,
    }


def _stream(rows: list[dict[str, Any]]) -> Iterator[Counterparty]:
    for row in rows:
        yield counterparty(row)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks matching")
    parser.add_argument("--sizes", default="10000,50000,100000", help="N for the N × N runs")
    parser.add_argument("--skip-scale", action="store_true")
    args = parser.parse_args(argv)

    scores = evaluate(load_pairs())
    print(f"labeled pairs: {scores.pairs} ({scores.duplicates} true duplicates)")
    print(f"  automatic links:        {scores.automatic}")
    print(f"  false automatic links:  {scores.false_automatic}  (target 0)")
    print(f"  recall (auto+suggest):  {scores.recall:.4f}  (target ≥ 0.95)")
    print(f"  suggestion precision:   {scores.suggestion_precision:.4f}")
    print("  right outcome per variant:")
    for label, (hit, total) in sorted(scores.per_variant.items()):
        print(f"    {label:<40} {hit:>5}/{total:<5} {hit / total:.3f}")
    for line in scores.false_links[:10]:
        print(f"  FALSE LINK {line}")
    if args.skip_scale:
        return 0 if scores.false_automatic == 0 and scores.recall >= 0.95 else 1
    print()
    print("N × N matching (1C records streamed against an index of N Bitrix24 companies)")
    print(f"machine: {_calibration_us():.2f} µs per sum(range(100)) (≈0.6 on an idle core)")
    print(
        f"{'N':>8} {'index s':>8} {'match s':>8} {'total s':>8} {'index MB':>9} "
        f"{'+MB match':>9} {'linked':>7} {'review':>7}"
    )
    for n in (int(x) for x in args.sizes.split(",")):
        result = scale(n)
        print(
            f"{n:>8} {result['index_s']:>8.2f} {result['match_s']:>8.2f} "
            f"{result['total_s']:>8.2f} {result['index_mb']:>9.1f} {result['match_mb']:>9.1f} "
            f"{result['linked']:>7} {result['suggested']:>7}"
        )
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"process peak RSS {rss:.0f} MB (includes the generated test data)")
    return 0 if scores.false_automatic == 0 and scores.recall >= 0.95 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
