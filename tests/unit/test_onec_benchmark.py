"""The paging benchmark runs end to end on a small base and every strategy reads all rows."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from benchmarks.onec_paging import run


def test_every_strategy_reads_every_counterparty() -> None:
    lines: list[str] = []
    results = run(300, ["skip:100", "keyset:100", "keyset:1000"], out=lines.append)
    assert [r.records for r in results] == [300, 300, 300]
    assert lines[1].split() == ["strategy", "records", "seconds", "records/s", "ratio"]
    assert [line.split()[0] for line in lines[2:]] == ["skip:100", "keyset:100", "keyset:1000"]
