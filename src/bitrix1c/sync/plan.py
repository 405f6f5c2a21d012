"""The initial-load plan: what a counterparties run would do, record by record.

``bitrix1c plan counterparties`` runs the flow as a dry run with an :class:`InitialLoadPlan`
attached; the flow tells it the outcome of every 1C record (link by which key, create,
review with candidates and scores, invalid keys, duplicate inside 1C), and the plan adds
the duplicates already inside Bitrix24 (one INN on several companies). It prints a
summary and writes ``plan-counterparties.csv`` and ``plan-counterparties.html``.
"""

from __future__ import annotations

import csv
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from jinja2 import Environment

from bitrix1c.domain.counterparty import Counterparty
from bitrix1c.sync.matching import Candidate

OUTCOMES: dict[str, str] = {
    "link": "will link to an existing company",
    "update": "already linked, will update",
    "create": "will create a company",
    "review": "needs a decision (review queue)",
    "invalid": "invalid keys, not synced",
    "duplicate_1c": "duplicate inside 1C, not synced",
    "ignored": "ignored by a decision",
    "unchanged": "unchanged since the last sync",
    "excluded": "deletion-marked or predefined in 1C",
    "as_contact": "an individual, synced as a contact (individuals_as: contact)",
    "waiting": "failed before, waits for its next try (1C unchanged since)",
}
CSV_COLUMNS = (
    "record",
    "name",
    "inn",
    "kpp",
    "outcome",
    "key",
    "company_id",
    "candidates",
    "detail",
)


@dataclass(frozen=True)
class PlanRow:
    """The planned outcome of one 1C record."""

    record: str
    name: str
    inn: str
    kpp: str
    outcome: str
    key: str = ""
    company_id: int | None = None
    candidates: tuple[Candidate, ...] = ()
    detail: str = ""

    def candidates_text(self) -> str:
        return "; ".join(
            f"{c.company_id} «{c.title}» {c.reason} {c.score:.0f}" for c in self.candidates
        )


@dataclass
class InitialLoadPlan:
    """Collects the flow's outcomes during a dry run and renders the report."""

    rows: list[PlanRow] = field(default_factory=list)
    crm_duplicates: dict[str, list[tuple[int, str]]] = field(default_factory=dict)
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    def add(
        self,
        cp: Counterparty,
        outcome: str,
        *,
        key: str = "",
        company_id: int | None = None,
        candidates: Sequence[Candidate] = (),
        detail: str = "",
    ) -> None:
        self.rows.append(
            PlanRow(
                record=cp.record_key,
                name=cp.name,
                inn=cp.inn,
                kpp=cp.kpp,
                outcome=outcome,
                key=key,
                company_id=company_id,
                candidates=tuple(candidates),
                detail=detail,
            )
        )

    def set_crm_duplicates(
        self, by_inn: Mapping[str, Sequence[int]], titles: Mapping[int, str]
    ) -> None:
        """INNs that several Bitrix24 companies carry (with the companies' titles)."""
        self.crm_duplicates = {
            inn: [(cid, titles.get(cid, "")) for cid in ids] for inn, ids in sorted(by_inn.items())
        }

    def counts(self) -> dict[str, int]:
        found = Counter(row.outcome for row in self.rows)
        return {outcome: found[outcome] for outcome in OUTCOMES if found[outcome]}

    def link_keys(self) -> dict[str, int]:
        """Will-link records per key (inn_kpp, inn, phone, …)."""
        return dict(Counter(row.key for row in self.rows if row.outcome == "link"))

    def summary_lines(self) -> list[str]:
        """The summary the CLI prints."""
        lines = [f"{len(self.rows)} counterparties read from 1C"]
        for outcome, n in self.counts().items():
            line = f"  {n:>6}  {OUTCOMES[outcome]}"
            if outcome == "link":
                keys = ", ".join(f"{k} {v}" for k, v in sorted(self.link_keys().items()))
                line += f" ({keys})"
            lines.append(line)
        if self.crm_duplicates:
            lines.append(
                f"  {len(self.crm_duplicates):>6}  INNs carried by several Bitrix24 companies "
                "(duplicates inside Bitrix24)"
            )
        return lines

    def write(self, folder: Path) -> tuple[Path, Path]:
        """Write ``plan-counterparties.csv`` and ``.html`` into ``folder``."""
        folder.mkdir(parents=True, exist_ok=True)
        csv_path = folder / "plan-counterparties.csv"
        with csv_path.open("w", encoding="utf-8-sig", newline="") as handle:
            writer = csv.writer(handle, delimiter=";")
            writer.writerow(CSV_COLUMNS)
            for row in self.rows:
                writer.writerow(
                    (
                        row.record,
                        row.name,
                        row.inn,
                        row.kpp,
                        row.outcome,
                        row.key,
                        row.company_id or "",
                        row.candidates_text(),
                        row.detail,
                    )
                )
            for inn, companies in self.crm_duplicates.items():
                ids = ", ".join(f"{cid} «{title}»" for cid, title in companies)
                writer.writerow(("", "", inn, "", "duplicate_crm", "inn", "", ids, ""))
        html_path = folder / "plan-counterparties.html"
        html_path.write_text(self.html(), encoding="utf-8")
        return csv_path, html_path

    def html(self) -> str:
        order = list(OUTCOMES)
        rows = sorted(self.rows, key=lambda r: (order.index(r.outcome), r.name))
        return _TEMPLATE.render(
            plan=self,
            outcomes=OUTCOMES,
            counts=self.counts(),
            keys=self.link_keys(),
            rows=[r for r in rows if r.outcome not in ("unchanged", "excluded")],
        )


_TEMPLATE = Environment(autoescape=True).from_string(
    """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>bitrix1c — initial load plan: counterparties</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:2em}table{border-collapse:collapse}
td,th{border:1px solid #ccc;padding:.25em .5em;text-align:left;vertical-align:top}
.review{background:#fff6dd}.invalid,.duplicate_1c{background:#fde8e8}.link{background:#e8f6e8}
</style></head><body>
<h1>Initial load plan: counterparties</h1>
<p>Dry run of {{ plan.created_at.strftime("%Y-%m-%d %H:%M UTC") }}. Nothing was written.</p>
<h2>Summary</h2>
<table>{% for outcome, n in counts.items() %}
<tr><td>{{ outcomes[outcome] }}</td><td>{{ n }}</td></tr>{% endfor %}
</table>
{% if keys %}<p>Links by key: {% for k, n in keys.items() %}{{ k }} {{ n }}{% if not loop.last %},
{% endif %}{% endfor %}</p>{% endif %}
<h2>Duplicates inside Bitrix24 (one INN on several companies)</h2>
{% if plan.crm_duplicates %}<table><tr><th>INN</th><th>Companies</th></tr>
{% for inn, companies in plan.crm_duplicates.items() %}<tr><td>{{ inn }}</td><td>
{% for cid, title in companies %}{{ cid }} «{{ title }}»<br>{% endfor %}</td></tr>
{% endfor %}</table>{% else %}<p>None.</p>{% endif %}
<h2>Records</h2>
<table><tr><th>Outcome</th><th>1C record</th><th>Name</th><th>INN</th><th>KPP</th>
<th>Key</th><th>Company</th><th>Candidates (score)</th><th>Detail</th></tr>
{% for r in rows %}<tr class="{{ r.outcome }}"><td>{{ r.outcome }}</td><td>{{ r.record }}</td>
<td>{{ r.name }}</td><td>{{ r.inn }}</td><td>{{ r.kpp }}</td><td>{{ r.key }}</td>
<td>{{ r.company_id or "" }}</td><td>{% for c in r.candidates %}{{ c.company_id }}
«{{ c.title }}» — {{ c.reason }} {{ "%.0f"|format(c.score) }}<br>{% endfor %}</td>
<td>{{ r.detail }}</td></tr>
{% endfor %}</table>
</body></html>
"""
)
