"""``bitrix1c demo``: the sandboxes and the service against them, on SQLite.

Everything a newcomer needs to see the exchange work without a portal or a 1C base:
seeded 1C counterparties become Bitrix24 companies (some matched by INN to companies the
"managers" entered before), with progress, a summary and the web UI.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import uvicorn
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from bitrix1c.sandbox.onec.populate import CONTACT_KIND_KEYS
from bitrix1c.sandbox.server import DEFAULT_SCALE, Endpoints, QuietServer, Sandbox
from bitrix1c.service import Service
from bitrix1c.settings import Settings, parse_settings
from bitrix1c.state.review import ReviewQueue
from bitrix1c.state.store import RunSummary
from bitrix1c.web.auth import hash_password

DEMO_EVERY_MINUTES = 1.0
DEMO_USER, DEMO_PASSWORD = "admin", "demo"


@dataclass(frozen=True)
class DemoOptions:
    state: Path | None
    once: bool
    json_output: bool
    port: int
    scale: int = DEFAULT_SCALE


def demo_settings(endpoints: Endpoints, state: Path, port: int) -> Settings:
    """The configuration the demo runs with (what `bitrix1c init` would have you write)."""
    return parse_settings(
        {
            "bitrix24": {
                "webhook_url": endpoints.bitrix24_webhook_url,
                "plan": endpoints.bitrix24_plan,
            },
            "onec": [
                {
                    "name": endpoints.onec_base,
                    "odata_url": endpoints.onec_odata_url,
                    "username": endpoints.onec_username,
                    "password": endpoints.onec_password,
                    "profile": endpoints.onec_profile,
                }
            ],
            "flows": {
                "counterparties": {
                    "every_minutes": DEMO_EVERY_MINUTES,
                    # The sandbox base's legal-address kind → the requisite's legal address.
                    "address_kinds": {CONTACT_KIND_KEYS["ЮрАдресКонтрагента"]: 6},
                }
            },
            "store": {"url": f"sqlite+aiosqlite:///{state / 'bitrix1c.db'}"},
            "web": {"port": port, "password_hash": hash_password(DEMO_PASSWORD)},
        },
        env={},
        source="demo",
    )


@contextlib.contextmanager
def _state_dir(path: Path | None) -> Iterator[Path]:
    if path is not None:
        path.mkdir(parents=True, exist_ok=True)
        yield path
        return
    with tempfile.TemporaryDirectory(prefix="bitrix1c-demo-") as tmp:
        yield Path(tmp)


def summary_table(flows: dict[str, RunSummary]) -> Table:
    table = Table(title="bitrix1c demo — one pass")
    for column in ("flow", "read", "created", "updated", "skipped", "failed"):
        table.add_column(column, justify="left" if column == "flow" else "right")
    for name, s in flows.items():
        table.add_row(name, *(str(v) for v in s.as_dict().values()))
    return table


async def run_demo(options: DemoOptions, out: Console, err: Console) -> int:
    """Run the demo; return the process exit code."""
    with _state_dir(options.state) as state:
        sandbox = Sandbox(state, scale=options.scale)
        err.print(f"[bold]Starting the sandboxes[/] (state in {state}) …")
        endpoints = await sandbox.start()
        err.print(f"  Bitrix24 webhook: {endpoints.bitrix24_webhook_url}")
        err.print(
            f"  1C OData:         {endpoints.onec_odata_url} (user {endpoints.onec_username})"
        )
        settings = demo_settings(endpoints, state, options.port)
        service = await Service.open(settings)
        try:
            summaries: dict[str, RunSummary] = {}
            for flow in service.enabled_flows():
                with Progress(
                    TextColumn("[bold]{task.description}"),
                    BarColumn(),
                    MofNCompleteColumn(),
                    TimeElapsedColumn(),
                    console=err,
                    transient=False,
                ) as bar:
                    task = bar.add_task(flow, total=None)

                    def progress(done: int, total: int | None, task: TaskID = task) -> None:
                        bar.update(task, completed=done, total=total)

                    summaries[flow] = await service.run(flow, trigger="demo", progress=progress)
            if options.json_output:
                out.print(
                    json.dumps({"flows": {k: v.as_dict() for k, v in summaries.items()}}),
                    soft_wrap=True,
                    highlight=False,
                )
            else:
                out.print(summary_table(summaries))
                await _explain_matches(service, err)
            if options.once:
                return 0
            await _serve(service, settings, err)
            return 0
        finally:
            await service.close()
            await sandbox.stop()


MATCH_WORDS = {
    "inn_kpp": "by INN+KPP",
    "inn": "by INN",
    "origin": "by the 1C id stored on the company",
}


async def _explain_matches(service: Service, err: Console) -> None:
    counts = await service.store.links_by_match("counterparty")
    found = {key: n for key, n in counts.items() if key in MATCH_WORDS}
    if found:
        parts = ", ".join(f"{n} {MATCH_WORDS[key]}" for key, n in found.items())
        err.print(
            f"Counterparties matched to companies that were already in Bitrix24: {parts} — "
            "linked and updated, not created twice."
        )
    waiting = (await ReviewQueue(service.store).counts()).get("open", 0)
    if waiting:
        err.print(
            f"{waiting} look-alike(s) wait in the review queue (same name or phone, no shared "
            "INN): nothing was merged — see `bitrix1c review list` or /api/review."
        )


async def _serve(service: Service, settings: Settings, err: Console) -> None:
    from bitrix1c.jobs.scheduler import drain_inbox_periodically, run_periodically

    app = service.web_app()
    server = QuietServer(
        uvicorn.Config(
            app,
            host=settings.web.host,
            port=settings.web.port,
            log_level="warning",
            lifespan="off",
        )
    )
    err.print(
        f"[bold green]Web UI:[/] http://{settings.web.host}:{settings.web.port}/ (login "
        f"{DEMO_USER} / {DEMO_PASSWORD}) — the flows run again every {DEMO_EVERY_MINUTES:g} min. "
        "Press Ctrl-C to stop."
    )

    async def later(flow: str) -> None:
        await asyncio.sleep(service.every_minutes(flow) * 60)
        await run_periodically(service, flow)

    async with asyncio.TaskGroup() as group:
        group.create_task(server.serve())
        group.create_task(drain_inbox_periodically(service))  # what the 1C sandbox pushes
        for flow in service.enabled_flows():
            group.create_task(later(flow))
