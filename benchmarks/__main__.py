"""``python -m benchmarks <name> [options]`` — run ``benchmarks/<name>.py`` (``make bench ARGS=<name>``).

Every benchmark module has ``main(argv: list[str]) -> int``.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
from pathlib import Path


def available() -> list[str]:
    return sorted(
        m.name
        for m in pkgutil.iter_modules([str(Path(__file__).parent)])
        if not m.name.startswith("_")
    )


def main(argv: list[str]) -> int:
    argv = ["onec_paging", *argv[1:]] if argv[:1] == ["onec"] else argv  # short name
    names = available()
    if not argv or argv[0] not in names:
        print(f"usage: python -m benchmarks {{{'|'.join(names)}}} [options]", file=sys.stderr)
        return 2
    module = importlib.import_module(f"benchmarks.{argv[0]}")
    return int(module.main(argv[1:]) or 0)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
