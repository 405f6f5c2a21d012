"""Read every counterparty of a sandbox УТ 11 base with each paging strategy; print records/s.

    python -m benchmarks onec [--count 50000] [--strategies skip:500,keyset:500,…]

The sandbox is served by uvicorn on a local socket (real HTTP, Basic auth, JSON), and the
project's :class:`~bitrix1c.onec.odata.ODataClient` reads ``Catalog_Контрагенты`` with the
counterparty flow's ``$select``. Strategies:

* ``skip:N`` — ``$orderby=Ref_Key&$top=N&$skip=K`` (the documented way; 1C re-sorts and skips
  K rows on every page, so deep pages cost more on a real base);
* ``keyset:N`` — ``$orderby=Ref_Key&$top=N&$filter=Ref_Key gt guid'<last>'`` (each page
  starts where the previous one ended).

Numbers from the sandbox show the client and transport overhead and the shape of the cost;
the absolute rate of a real 1C base is lower (its first request alone can take 30 s).
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import uvicorn

from bitrix1c.onec.odata import ODataClient, Paging
from bitrix1c.onec.profiles import get_profile
from bitrix1c.sandbox.onec import OneCBase, create_app, populate_ut11
from bitrix1c.sandbox.seed import generate_counterparties

DEFAULT_STRATEGIES = "skip:500,keyset:500,skip:2000,keyset:2000"


@dataclass(frozen=True)
class Result:
    strategy: str
    records: int
    seconds: float

    @property
    def rate(self) -> float:
        return self.records / self.seconds if self.seconds else 0.0


@contextmanager
def serve(base: OneCBase) -> Iterator[str]:
    """The sandbox on a free local port; yields the OData root URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(create_app({base.name: base}), log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}/{base.name}/odata/standard.odata/"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


async def read_all(root: str, base: OneCBase, paging: Paging, page_size: int) -> int:
    fields = get_profile("ut11").counterparty
    async with ODataClient(root, base.username, base.password, base=base.name) as client:
        seen = 0
        async for page in client.pages(
            fields.entity_set, select=fields.select(), page_size=page_size, paging=paging
        ):
            seen += len(page)
        return seen


def run(count: int, strategies: Sequence[str], out: Callable[[str], None] = print) -> list[Result]:
    """Seed ``count`` counterparties, read them with each strategy, print the table."""
    out(f"seeding {count} counterparties into a sandbox УТ 11 base …")
    base = OneCBase(None, name="bench", password="bench")
    populate_ut11(base, generate_counterparties(count, seed=7))
    results: list[Result] = []
    with serve(base) as root:
        # warm-up: the first read builds the sandbox's sorted index (a real base's first
        # request starts a session); it is not part of any strategy's time
        asyncio.run(read_all(root, base, "skip", 5000))
        for strategy in strategies:
            name, _, size = strategy.partition(":")
            if name not in ("skip", "keyset"):
                raise SystemExit(f"unknown strategy {strategy!r} (skip:N or keyset:N)")
            started = time.perf_counter()
            records = asyncio.run(read_all(root, base, name, int(size or 500)))  # type: ignore[arg-type]
            results.append(Result(strategy, records, time.perf_counter() - started))
    base.close()
    baseline = results[0].rate if results else 0.0
    out(f"{'strategy':<14}{'records':>10}{'seconds':>10}{'records/s':>12}{'ratio':>8}")
    for r in results:
        ratio = r.rate / baseline if baseline else 0.0
        out(f"{r.strategy:<14}{r.records:>10}{r.seconds:>10.2f}{r.rate:>12.0f}{ratio:>8.2f}")
    return results


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks onec", description=__doc__)
    parser.add_argument("--count", type=int, default=50_000)
    parser.add_argument("--strategies", default=DEFAULT_STRATEGIES)
    args = parser.parse_args(argv)
    results = run(args.count, [s for s in args.strategies.split(",") if s])
    return 0 if all(r.records == results[0].records for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
