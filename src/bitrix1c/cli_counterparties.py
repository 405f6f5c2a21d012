"""``bitrix1c plan counterparties`` and ``bitrix1c review …``: the initial load and its queue.

``plan counterparties`` is a dry run of the counterparties flow that writes nothing and
reports, record by record, what the first load would do (link by which key, create,
review with candidates and scores, invalid keys, duplicates inside 1C and inside
Bitrix24). ``review`` lists the records waiting for a person and records the decision
(link to a company, create a new one, ignore) that the next runs obey.

Mounted by ``cli.py`` as ``app.add_typer(plan_app, name="plan")`` and
``app.add_typer(review_app, name="review")``.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from bitrix1c import logs
from bitrix1c.errors import Bitrix1cError
from bitrix1c.settings import Settings, load_settings
from bitrix1c.state.review import ReviewError, ReviewQueue
from bitrix1c.state.store import Store

plan_app = typer.Typer(help="Dry runs that report what a flow would do.", no_args_is_help=True)
review_app = typer.Typer(
    help="Review queue: ambiguous and look-alike matches; link, create or ignore.",
    no_args_is_help=True,
)

out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)

ConfigOption = Annotated[Path, typer.Option("--config", "-c", help="YAML configuration file.")]


def _settings(path: Path) -> Settings:
    try:
        return load_settings(path)
    except Bitrix1cError as exc:
        err.print(f"[red]error:[/] {exc}")
        err.print(f"[yellow]what to do:[/] {exc.hint}")
        raise typer.Exit(2) from None


def _run(coro: Awaitable[int]) -> int:
    async def main() -> int:
        return await coro

    try:
        return asyncio.run(main())
    except KeyboardInterrupt:
        err.print("stopped.")
        return 0
    except Bitrix1cError as exc:
        err.print(f"[red]error:[/] {exc}")
        err.print(f"[yellow]what to do:[/] {exc.hint}")
        return 2


@plan_app.command("counterparties")
def plan_counterparties(
    config: ConfigOption = Path("bitrix1c.yaml"),
    out_dir: Annotated[
        Path, typer.Option("--out", help="Folder for plan-counterparties.csv and .html.")
    ] = Path("."),
) -> None:
    """Dry run of the initial load: summary, CSV and HTML report; nothing is written."""
    from rich.progress import Progress

    from bitrix1c.onec.profiles import get_profile
    from bitrix1c.service import Service
    from bitrix1c.sync.engine import run_flow
    from bitrix1c.sync.flows.counterparties import FLOW, CounterpartySync
    from bitrix1c.sync.plan import InitialLoadPlan

    settings = _settings(config)
    logs.configure("warning")

    async def main() -> int:
        plan = InitialLoadPlan()
        async with await Service.open(settings) as service:
            flow = settings.flows.counterparties
            base = settings.onec_base(flow.base)
            sync = CounterpartySync(
                store=service.store,
                bitrix24=service.bitrix24,
                onec=service.onec[base.name],
                profile=get_profile(base.profile, base.overrides),
                base=base.name,
                settings=flow,
            )
            sync.page_size = base.page_size
            sync.plan = plan
            with Progress(console=err, transient=True) as bar:
                task = bar.add_task("planning counterparties", total=None)
                await run_flow(
                    service.store,
                    FLOW,
                    sync,
                    trigger="plan",
                    dry_run=True,
                    progress=lambda done, total: bar.update(task, completed=done, total=total),
                )
        for line in plan.summary_lines():
            out.print(line, highlight=False)
        csv_path, html_path = plan.write(out_dir)
        out.print(f"report: {csv_path} and {html_path}", highlight=False)
        return 0

    raise typer.Exit(_run(main()))


def _with_queue(config: Path, action: Callable[[ReviewQueue], Awaitable[int]]) -> int:
    settings = _settings(config)
    logs.configure("warning")

    async def main() -> int:
        store = await Store.open(settings.store.url)
        try:
            return await action(ReviewQueue(store))
        finally:
            await store.close()

    return _run(main())


def _candidates(candidates: tuple[dict[str, object], ...]) -> str:
    return "\n".join(
        f"{c.get('company_id')} «{c.get('title')}» {c.get('reason')} {c.get('score')}"
        for c in candidates
    )


@review_app.command("list")
def review_list(
    config: ConfigOption = Path("bitrix1c.yaml"),
    status: Annotated[
        str, typer.Option(help="open, link, create, ignore, resolved or all.")
    ] = "open",
    as_json: Annotated[bool, typer.Option("--json", help="JSON lines.")] = False,
    by_company: Annotated[
        bool,
        typer.Option(
            "--by-company",
            help="Open items grouped by the company they look like: linking the right "
            "record settles the others of the group.",
        ),
    ] = False,
) -> None:
    """List records waiting for a decision (or decided ones with --status)."""

    async def grouped(queue: ReviewQueue) -> int:
        groups = await queue.by_company()
        if as_json:
            for group in groups:
                out.print(json.dumps(group.as_dict(), ensure_ascii=False), highlight=False)
            return 0
        table = Table(title="review queue by Bitrix24 company (open)")
        for column in ("company", "records that look like it (item id, score)", "how many"):
            table.add_column(column)
        for group in groups:
            table.add_row(
                f"{group.company_id} «{group.title}»",
                "\n".join(
                    f"#{item.id} {item.label} ({row['score']})"
                    for item, row in zip(group.items, group.as_dict()["items"], strict=True)
                ),
                str(len(group.items)),
            )
        out.print(table)
        return 0

    async def action(queue: ReviewQueue) -> int:
        if by_company:
            return await grouped(queue)
        items = await queue.items(None if status == "all" else status, limit=10000)
        if as_json:
            for item in items:
                out.print(json.dumps(item.as_dict(), ensure_ascii=False), highlight=False)
            return 0
        table = Table(title=f"review queue ({status})")
        for column in ("id", "1C record", "reason", "candidates (company, key, score)", "status"):
            table.add_column(column)
        for item in items:
            table.add_row(
                str(item.id),
                item.label,
                item.reason,
                _candidates(item.candidates),
                item.status if item.company_id is None else f"{item.status} {item.company_id}",
            )
        out.print(table)
        return 0

    raise typer.Exit(_with_queue(config, action))


@review_app.command("show")
def review_show(
    item_id: Annotated[int, typer.Argument(help="Item id (see `review list`).")],
    config: ConfigOption = Path("bitrix1c.yaml"),
) -> None:
    """Show one item with its candidates and scores."""

    async def action(queue: ReviewQueue) -> int:
        item = await queue.get(item_id)
        if item is None:
            err.print(f"[red]error:[/] no review item #{item_id}")
            return 2
        out.print(json.dumps(item.as_dict(), ensure_ascii=False, indent=2), highlight=False)
        return 0

    raise typer.Exit(_with_queue(config, action))


def _decide(item_id: int, config: Path, decision: str, company_id: int | None = None) -> None:
    async def action(queue: ReviewQueue) -> int:
        if await queue.get(item_id) is None:
            err.print(f"[red]error:[/] no review item #{item_id}")
            return 2
        try:
            item = await queue.decide(item_id, decision, company_id)
        except ReviewError as exc:
            err.print(f"[red]error:[/] {exc}")
            return 2
        verbs = {
            "link": f"will be linked to Bitrix24 company {company_id}",
            "create": "will be created as a new company",
            "ignore": "will not be synchronized",
        }
        out.print(f"#{item.id} {item.label}: {verbs[decision]} on the next run", highlight=False)
        if item.released:
            ids = ", ".join(f"#{i}" for i in item.released)
            out.print(
                f"company {company_id} is now taken: {len(item.released)} other record(s) that "
                f"only looked like it will be created as new companies ({ids})",
                highlight=False,
            )
        return 0

    raise typer.Exit(_with_queue(config, action))


@review_app.command("link")
def review_link(
    item_id: Annotated[int, typer.Argument(help="Item id.")],
    company_id: Annotated[int, typer.Argument(help="Bitrix24 company id to link it to.")],
    config: ConfigOption = Path("bitrix1c.yaml"),
) -> None:
    """Link the 1C record to this Bitrix24 company (it becomes the record's company)."""
    _decide(item_id, config, "link", company_id)


@review_app.command("create")
def review_create(
    item_id: Annotated[int, typer.Argument(help="Item id.")],
    config: ConfigOption = Path("bitrix1c.yaml"),
) -> None:
    """Create a new Bitrix24 company for the 1C record (the candidates are other clients)."""
    _decide(item_id, config, "create")


@review_app.command("ignore")
def review_ignore(
    item_id: Annotated[int, typer.Argument(help="Item id.")],
    config: ConfigOption = Path("bitrix1c.yaml"),
) -> None:
    """Do not synchronize this 1C record."""
    _decide(item_id, config, "ignore")
