"""Bitrix24 throughput: bitrix1c vs fast-bitrix24 on the same sandbox portal, same run.

Cases (issue 3, "Proof"):

* **write** — 5,000 companies, each with a requisite (10,000 records: 5,000 companies +
  5,000 requisites). bitrix1c sends 25 company + requisite pairs per ``batch`` (the
  requisite refers to ``$result[cN]``); fast-bitrix24 adds the companies with
  ``call("crm.company.add", [...])`` and then the requisites with a second ``call`` (its
  own batching, 50 commands per request). Both need 200 requests.
* **read** — 50,000 companies. bitrix1c: ``list_fast`` (chained ``>ID``, ``start=-1``,
  2,500 rows per request); fast-bitrix24: ``get_all`` (its own paging).

The portal runs in its own process with the standard plan's limits multiplied by
``--scale`` (drain ``2 × scale`` per second, burst ``50 × scale``) so the run is short;
ratios to the ceiling are what count. Ceilings: writes ``rate × 50`` records/s, reads
``rate × 2,500`` records/s. Each case starts in steady state: the portal's bucket is full
(as after earlier traffic) and the client under test is told so — bitrix1c through
``LeakyBucket.penalize()``, fast-bitrix24 by filling its own leaky-bucket history with
``pool size`` records — so the burst allowance does not inflate the numbers — and the
portal forgets the operating time of the earlier cases (each library as its own webhook).
fast-bitrix24 runs with its defaults and with one request in flight (its ``slow()``
remedy), the latter with its operating-time budget set out of reach (see README).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import multiprocessing as mp
import threading
import time
from dataclasses import dataclass
from typing import Any

# Imported here, not in the timed cases: importing is not throughput.
import fast_bitrix24

from bitrix1c.bitrix24.client import Bitrix24Client

WRITE_COMPANIES = 5_000
READ_COMPANIES = 50_000
PAIRS_PER_BATCH = 25
FAST_SLOW = "fast-bitrix24 c=1"


# --- the sandbox portal, in its own process -----------------------------------------------


def _portal_process(conn: Any, rate: float, burst: int, seed_reads: int) -> None:
    import contextlib
    import socket

    import uvicorn

    from bitrix1c.bitrix24.encoding import command
    from bitrix1c.sandbox.bitrix24 import Portal, create_app

    portal = Portal(None, drain_per_second=rate, burst=burst)
    for chunk in range(seed_reads // 50):
        portal.call(
            "batch",
            {
                "cmd": {
                    f"c{i}": command(
                        "crm.company.add",
                        {
                            "fields": {
                                "TITLE": f"Клиент {chunk * 50 + i}",
                                "ORIGINATOR_ID": "bench-read",
                            }
                        },
                    )
                    for i in range(50)
                }
            },
        )

    class Server(uvicorn.Server):
        @contextlib.contextmanager
        def capture_signals(self) -> Any:
            yield

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    server = Server(uvicorn.Config(create_app(portal), log_level="warning", lifespan="off"))

    def control() -> None:
        while not server.started:
            time.sleep(0.01)
        conn.send(
            {
                "port": sock.getsockname()[1],
                "code": portal.webhook_code,
                "user": portal.webhook_user_id,
            }
        )
        while True:
            request = conn.recv()
            if request == "fill":
                assert portal.bucket is not None
                while portal.bucket.try_acquire("127.0.0.1"):
                    pass
                # each library gets a fresh 10-minute operating window, as it would
                # under its own webhook or app (the portal keys the budget by both)
                portal.operating.reset()
                conn.send(True)
            elif request == "stats":
                conn.send(portal.stats.as_dict())
            elif request == "stop":
                server.should_exit = True
                conn.send(True)
                return

    threading.Thread(target=control, daemon=True).start()
    asyncio.run(server.serve(sockets=[sock]))


class SandboxProcess:
    def __init__(self, rate: float, burst: int, seed_reads: int) -> None:
        ctx = mp.get_context("spawn")
        self._conn, child = ctx.Pipe()
        self._process = ctx.Process(
            target=_portal_process, args=(child, rate, burst, seed_reads), daemon=True
        )

    def __enter__(self) -> str:
        self._process.start()
        info = self._conn.recv()
        return f"http://127.0.0.1:{info['port']}/rest/{info['user']}/{info['code']}/"

    def __exit__(self, *exc: object) -> None:
        self._conn.send("stop")
        self._conn.recv()
        self._process.join(timeout=10)

    def fill_bucket(self) -> None:
        self._conn.send("fill")
        self._conn.recv()

    def stats(self) -> dict[str, int]:
        self._conn.send("stats")
        return dict(self._conn.recv())


# --- cases ------------------------------------------------------------------------------


@dataclass
class Result:
    case: str
    library: str
    records: int
    seconds: float
    served_503: int
    served_429: int

    note: str = ""

    @property
    def per_second(self) -> float:
        return self.records / self.seconds if self.seconds else 0.0

    def row(self, ceiling: float) -> str:
        return (
            f"{self.case:<6} {self.library:<18} {self.records:>8,} {self.seconds:>8.1f} "
            f"{self.per_second:>10.1f} {self.per_second / ceiling:>10.2f} "
            f"{self.served_503:>5} {self.served_429:>5}  {self.note}"
        )


def _company(run: str, i: int) -> dict[str, Any]:
    return {
        "TITLE": f"ООО Бенч {run} {i}",
        "ORIGINATOR_ID": f"bench-{run}",
        "ORIGIN_ID": f"{run}-{i}",
    }


def _requisite(company_id: Any, i: int) -> dict[str, Any]:
    return {
        "ENTITY_TYPE_ID": 4,
        "ENTITY_ID": company_id,
        "PRESET_ID": 1,
        "NAME": f"Реквизит {i}",
        "RQ_INN": f"77{i:08d}",
        "RQ_KPP": "770101001",
    }


async def bitrix1c_write(url: str, rate: float, burst: int, companies: int) -> int:
    async with Bitrix24Client(url, rate=rate, burst=burst) as b24:
        b24.bucket.penalize()  # steady state: the portal's bucket is full
        written = 0
        for start in range(0, companies, PAIRS_PER_BATCH):
            commands: dict[str, tuple[str, dict[str, Any] | None]] = {}
            for i in range(start, min(companies, start + PAIRS_PER_BATCH)):
                commands[f"c{i}"] = ("crm.company.add", {"fields": _company("b1c", i)})
                commands[f"r{i}"] = (
                    "crm.requisite.add",
                    {"fields": _requisite(f"$result[c{i}]", i)},
                )
            reply = await b24.batch(commands)
            if reply.errors:
                raise next(iter(reply.errors.values()))
            written += len(reply.results)
        return written


async def bitrix1c_read(url: str, rate: float, burst: int) -> int:
    async with Bitrix24Client(url, rate=rate, burst=burst) as b24:
        b24.bucket.penalize()
        count = 0
        async for page in b24.list_fast(
            "crm.company.list", filter={"ORIGINATOR_ID": "bench-read"}, select=("ID", "TITLE")
        ):
            count += len(page)
        return count


def _fast_client(url: str, rate: float, burst: int, concurrency: int | None) -> Any:
    client = fast_bitrix24.BitrixAsync(
        url,
        verbose=False,
        ssl=False,
        request_pool_size=burst,
        requests_per_second=rate,
        # Its operating-time throttle adds up the portal's *cumulative* time.operating
        # of every answer and, once that sum passes 480 s, waits out the whole 10-minute
        # window (see README): the one-in-flight run lifts that budget out of reach so it
        # can finish (respect_velocity_policy=False crashes: KeyError 'batch'); the
        # portal's own 429 still guards the real budget.
        operating_time_limit=480 if concurrency is None else 10**9,
    )
    for _ in range(burst):  # steady state: its own bucket history is full too
        client.srh.leaky_bucket_throttler.add_request_record()
    if concurrency is not None:
        # its remedy for 503s: fewer requests in flight (what ``slow()`` does)
        client.srh.mcr_max = client.srh.mcr_cur_limit = concurrency
    return client


async def fast_write(
    url: str, rate: float, burst: int, companies: int, concurrency: int | None
) -> int:
    client = _fast_client(url, rate, burst, concurrency)
    run = f"fb{concurrency or 0}"
    ids = await client.call(
        "crm.company.add", [{"fields": _company(run, i)} for i in range(companies)]
    )
    requisites = await client.call(
        "crm.requisite.add",
        [{"fields": _requisite(company_id, i)} for i, company_id in enumerate(ids)],
    )
    return len(ids) + len(requisites)


async def fast_read(url: str, rate: float, burst: int, concurrency: int | None) -> int:
    client = _fast_client(url, rate, burst, concurrency)
    rows = await client.get_all(
        "crm.company.list",
        {"filter": {"ORIGINATOR_ID": "bench-read"}, "select": ["ID", "TITLE"]},
    )
    return len(rows)


def _measure(
    sandbox: SandboxProcess, case: str, library: str, work: Any, limit: float, ceiling: float
) -> Result:
    sandbox.fill_bucket()
    before = sandbox.stats()
    started = time.perf_counter()
    note = ""
    try:
        records = asyncio.run(asyncio.wait_for(work(), limit))
    except TimeoutError:
        records, note = 0, f"stopped after {limit:g} s"
    except Exception as exc:  # a library giving up is a result too
        records, note = 0, f"gave up: {type(exc).__name__}: {exc}"
    seconds = time.perf_counter() - started
    after = sandbox.stats()
    result = Result(
        case,
        library,
        records,
        seconds,
        after["served_503"] - before["served_503"],
        after["served_429"] - before["served_429"],
        note,
    )
    print(result.row(ceiling), flush=True)
    return result


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks bitrix24", description=__doc__.split("\n")[0]
    )
    parser.add_argument(
        "--scale",
        type=float,
        default=2.0,
        help="multiply the standard plan's rate and burst (default 2)",
    )
    parser.add_argument(
        "--write",
        type=int,
        default=WRITE_COMPANIES,
        help="companies to write (each with a requisite)",
    )
    parser.add_argument("--read", type=int, default=READ_COMPANIES, help="companies to read")
    parser.add_argument(
        "--limit", type=float, default=600.0, help="stop a case after this many seconds"
    )
    parser.add_argument(
        "--cases", choices=("write", "read", "all"), default="all", help="which cases to run"
    )
    args = parser.parse_args(argv)
    # fast-bitrix24 logs every request, and asyncio every abandoned task of a failed run
    logging.disable(logging.CRITICAL)
    rate, burst = 2.0 * args.scale, int(50 * args.scale)
    print(
        f"sandbox: standard plan × {args.scale:g} → {rate:g} req/s, burst {burst}; "
        f"seeding {args.read:,} companies…"
    )
    ceilings = {"write": rate * 50, "read": rate * 2_500}
    print(
        f"ceilings: write {ceilings['write']:,.0f} records/s, read {ceilings['read']:,.0f} "
        f"records/s; each case stops after {args.limit:g} s"
    )
    print(
        f"{'case':<6} {'library':<18} {'records':>8} {'seconds':>8} {'records/s':>10} "
        f"{'÷ ceiling':>10} {'503':>5} {'429':>5}",
        flush=True,
    )
    results: list[Result] = []
    sandbox = SandboxProcess(rate, burst, args.read if args.cases != "write" else 0)
    fast_modes: list[tuple[str, int | None]] = [("fast-bitrix24", None), (FAST_SLOW, 1)]
    with sandbox as url:

        def write_b1c() -> Any:
            return bitrix1c_write(url, rate, burst, args.write)

        if args.cases in ("write", "all"):
            results.append(
                _measure(sandbox, "write", "bitrix1c", write_b1c, args.limit, ceilings["write"])
            )
            for label, mcr in fast_modes:

                def write_fb(mcr: int | None = mcr) -> Any:
                    return fast_write(url, rate, burst, args.write, mcr)

                results.append(
                    _measure(sandbox, "write", label, write_fb, args.limit, ceilings["write"])
                )

        def read_b1c() -> Any:
            return bitrix1c_read(url, rate, burst)

        if args.cases in ("read", "all"):
            results.append(
                _measure(sandbox, "read", "bitrix1c", read_b1c, args.limit, ceilings["read"])
            )
            for label, mcr in fast_modes:

                def read_fb(mcr: int | None = mcr) -> Any:
                    return fast_read(url, rate, burst, mcr)

                results.append(
                    _measure(sandbox, "read", label, read_fb, args.limit, ceilings["read"])
                )
    print()
    for case in sorted({r.case for r in results}, reverse=True):
        ours = next(r for r in results if r.case == case and r.library == "bitrix1c")
        fast = [r for r in results if r.case == case and r.library.startswith("fast-bitrix24")]
        total = 2 * args.write if case == "write" else args.read
        # a stopped run did at most all its records in the time it had: an upper bound
        bounds = [
            (r.records or total) / r.seconds if r.note.startswith("stopped") else r.per_second
            for r in fast
        ]
        done = [r.per_second for r in fast if r.records]
        best = max(bounds, default=0.0)
        if done and max(done) >= best:
            verdict = f"= {ours.per_second / max(done):.2f}"
        elif best:
            verdict = f"> {ours.per_second / best:.1f} (fast-bitrix24 finished no run)"
        else:
            verdict = "n/a (fast-bitrix24 finished no run)"
        print(
            f"{case}: ceiling {ceilings[case]:,.0f} records/s; bitrix1c / fast-bitrix24 {verdict}"
        )
    return 0
