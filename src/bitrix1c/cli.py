"""The ``bitrix1c`` command line."""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from collections.abc import Coroutine
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from bitrix1c import logs
from bitrix1c.cli_counterparties import plan_app, review_app
from bitrix1c.errors import Bitrix1cError
from bitrix1c.settings import TEMPLATE, Settings, json_schema, load_settings

app = typer.Typer(
    name="bitrix1c",
    help="Two-way exchange between Bitrix24 CRM and 1C:Enterprise.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
config_app = typer.Typer(help="Configuration helpers.", no_args_is_help=True)
sync_app = typer.Typer(help="Run one flow once.", no_args_is_help=True)
app.add_typer(config_app, name="config")
web_app = typer.Typer(help="Web dashboard helpers.", no_args_is_help=True)
app.add_typer(web_app, name="web")
errors_app = typer.Typer(
    help="Record errors: list, show, edit, retry, resolve, ignore.", no_args_is_help=True
)
app.add_typer(sync_app, name="sync")
app.add_typer(plan_app, name="plan")
app.add_typer(review_app, name="review")
app.add_typer(errors_app, name="errors")

out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)

ConfigOption = Annotated[
    Path, typer.Option("--config", "-c", help="YAML configuration file.", exists=False)
]


def _fail(error: Bitrix1cError) -> typer.Exit:
    err.print(f"[red]error:[/] {error}")
    err.print(f"[yellow]what to do:[/] {error.hint}")
    return typer.Exit(2)


def _settings(path: Path) -> Settings:
    try:
        return load_settings(path)
    except Bitrix1cError as exc:
        raise _fail(exc) from None


def _run(coro: Coroutine[Any, Any, int]) -> int:
    """Run ``coro``; Ctrl-C and SIGTERM stop it cleanly (exit 0), errors exit 2."""

    async def main() -> int:
        task = asyncio.current_task()
        assert task is not None
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
        try:
            return await coro
        except asyncio.CancelledError:
            err.print("stopped.")
            return 0

    try:
        return asyncio.run(main())
    except KeyboardInterrupt:
        err.print("stopped.")
        return 0
    except Bitrix1cError as exc:
        raise _fail(exc) from None


@app.command()
def init(
    path: Annotated[Path, typer.Argument(help="Where to write the template.")] = Path(
        "bitrix1c.yaml"
    ),
    force: Annotated[bool, typer.Option(help="Overwrite an existing file.")] = False,
) -> None:
    """Write a commented configuration template."""
    if path.exists() and not force:
        err.print(f"[red]error:[/] {path} exists; use --force to overwrite it.")
        raise typer.Exit(2)
    path.write_text(TEMPLATE, encoding="utf-8")
    err.print(
        f"wrote {path}; set BITRIX24_WEBHOOK_URL, ONEC_TRADE_PASSWORD and "
        "BITRIX1C_WEB_PASSWORD_HASH in the environment."
    )


@config_app.command("schema")
def config_schema() -> None:
    """Print the JSON Schema of the configuration file."""
    out.print(json.dumps(json_schema(), ensure_ascii=False, indent=2), highlight=False)


@config_app.command("check")
def config_check(config: ConfigOption = Path("bitrix1c.yaml")) -> None:
    """Validate a configuration file (secrets are not printed)."""
    settings = _settings(config)
    out.print(f"{config}: valid; 1C bases: {', '.join(b.name for b in settings.onec)}")


@app.command()
def sandbox(
    bitrix24_port: Annotated[int, typer.Option(help="Port of the Bitrix24 emulator.")] = 0,
    onec_port: Annotated[int, typer.Option(help="Port of the 1C OData emulator.")] = 0,
    state: Annotated[
        Path | None, typer.Option(help="Keep the emulators' data here (survives restarts).")
    ] = None,
    scale: Annotated[int, typer.Option(min=1, help="Number of 1C counterparties to seed.")] = 300,
) -> None:
    """Run the Bitrix24 and 1C (УТ 11) emulators until Ctrl-C."""
    from bitrix1c.sandbox.server import Sandbox

    logs.configure("warning")

    async def main() -> int:
        box = Sandbox(state, scale=scale, bitrix24_port=bitrix24_port, onec_port=onec_port)
        endpoints = await box.start()
        out.print(f"Bitrix24 webhook: {endpoints.bitrix24_webhook_url}")
        out.print(
            f"1C OData:         {endpoints.onec_odata_url} "
            f"(user {endpoints.onec_username}, password {endpoints.onec_password})"
        )
        if state is not None:
            out.print(f"endpoints:        {state / 'endpoints.json'}")
        out.print("Press Ctrl-C to stop.")
        sys.stdout.flush()
        try:
            await asyncio.Event().wait()
        finally:
            await box.stop()
        return 0

    raise typer.Exit(_run(main()))


@app.command()
def demo(
    once: Annotated[bool, typer.Option("--once", help="One full pass, then exit.")] = False,
    json_output: Annotated[
        bool, typer.Option("--json", help="Summary as JSON on the last line of stdout.")
    ] = False,
    state: Annotated[
        Path | None,
        typer.Option(help="Keep sandbox data and the service's SQLite store here."),
    ] = None,
    port: Annotated[int, typer.Option(help="Port of the web UI.")] = 8080,
    scale: Annotated[int, typer.Option(min=1, help="Number of 1C counterparties to seed.")] = 300,
    log_level: Annotated[str, typer.Option(help="debug, info, warning, error.")] = "warning",
) -> None:
    """Start the sandboxes and run the service against them (SQLite)."""
    from bitrix1c.demo import DemoOptions, run_demo

    logs.configure(log_level)
    options = DemoOptions(state=state, once=once, json_output=json_output, port=port, scale=scale)
    raise typer.Exit(_run(run_demo(options, out, err)))


@app.command()
def run(config: ConfigOption = Path("bitrix1c.yaml")) -> None:
    """Run the service: scheduler and web server (with /healthz)."""
    import uvicorn

    from bitrix1c.jobs.scheduler import run_scheduler
    from bitrix1c.sandbox.server import QuietServer
    from bitrix1c.service import Service

    settings = _settings(config)
    logs.configure(settings.log_level)

    async def main() -> int:
        service = await Service.open(settings)
        server = QuietServer(
            uvicorn.Config(
                service.web_app(),
                host=settings.web.host,
                port=settings.web.port,
                log_level="warning",
                lifespan="off",
            )
        )
        err.print(f"bitrix1c: web on http://{settings.web.host}:{settings.web.port}/healthz")
        try:
            async with asyncio.TaskGroup() as group:
                group.create_task(server.serve())
                group.create_task(run_scheduler(service))
        finally:
            await service.close()
        return 0

    raise typer.Exit(_run(main()))


@sync_app.command("counterparties")
def sync_counterparties(
    config: ConfigOption = Path("bitrix1c.yaml"),
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Read and plan; write nothing to Bitrix24.")
    ] = False,
) -> None:
    """1C counterparties → Bitrix24 companies, once."""
    from rich.progress import Progress

    from bitrix1c.service import Service

    settings = _settings(config)
    logs.configure(settings.log_level)

    async def main() -> int:
        async with await Service.open(settings) as service:
            with Progress(console=err) as bar:
                task = bar.add_task("counterparties", total=None)
                summary = await service.run(
                    "counterparties",
                    trigger="cli",
                    dry_run=dry_run,
                    progress=lambda done, total: bar.update(task, completed=done, total=total),
                )
        prefix = "would " if dry_run else ""
        out.print(
            f"counterparties: read {summary.read}, {prefix}create {summary.created}, "
            f"{prefix}update {summary.updated}, skipped {summary.skipped}, failed {summary.failed}"
        )
        return 1 if summary.failed else 0

    raise typer.Exit(_run(main()))


def _with_store(config: Path, action: Any) -> int:
    from bitrix1c.state.store import Store

    settings = _settings(config)
    logs.configure("warning")

    async def main() -> int:
        store = await Store.open(settings.store.url)
        try:
            result: int = await action(store)
            return result
        finally:
            await store.close()

    return _run(main())


@errors_app.command("list")
def errors_list(
    config: ConfigOption = Path("bitrix1c.yaml"),
    status: Annotated[str, typer.Option(help="open, retrying, resolved, ignored or all.")] = "open",
    as_json: Annotated[bool, typer.Option("--json", help="JSON lines.")] = False,
) -> None:
    """List record errors (newest first)."""
    from rich.table import Table

    async def action(store: Any) -> int:
        errors = await store.errors(status=None if status == "all" else status, limit=1000)
        if as_json:
            for e in errors:
                out.print(json.dumps(e.as_dict(), ensure_ascii=False), highlight=False)
            return 0
        table = Table(title=f"record errors ({status})")
        for column in ("id", "flow", "record", "error", "message", "seen", "last"):
            table.add_column(column)
        for e in errors:
            table.add_row(
                str(e.id),
                e.flow,
                e.record_key,
                e.error_class,
                e.message,
                str(e.attempts),
                f"{e.last_seen:%Y-%m-%d %H:%M}",
            )
        out.print(table)
        return 0

    raise typer.Exit(_with_store(config, action))


@errors_app.command("show")
def errors_show(
    error_id: Annotated[int, typer.Argument(help="Error id (see `errors list`).")],
    config: ConfigOption = Path("bitrix1c.yaml"),
) -> None:
    """Show one record error with its payload and technical detail."""

    async def action(store: Any) -> int:
        error = await store.error(error_id)
        if error is None:
            err.print(f"[red]error:[/] no record error #{error_id}")
            return 2
        # Payloads are data: brackets in them are not rich markup.
        out.print(
            json.dumps(error.as_dict(), ensure_ascii=False, indent=2),
            highlight=False,
            markup=False,
        )
        return 0

    raise typer.Exit(_with_store(config, action))


def _set_status(error_id: int, config: Path, status: str, verb: str) -> None:
    async def action(store: Any) -> int:
        error = await store.set_error_status(error_id, status)
        if error is None:
            err.print(f"[red]error:[/] no record error #{error_id}")
            return 2
        out.print(f"#{error.id} {error.record_key}: {verb}")
        return 0

    raise typer.Exit(_with_store(config, action))


@errors_app.command("retry")
def errors_retry(
    error_id: Annotated[int, typer.Argument()], config: ConfigOption = Path("bitrix1c.yaml")
) -> None:
    """Retry the record on the next run (it resolves itself once it syncs)."""
    _set_status(error_id, config, "retrying", "will be retried on the next run")


@errors_app.command("resolve")
def errors_resolve(
    error_id: Annotated[int, typer.Argument()], config: ConfigOption = Path("bitrix1c.yaml")
) -> None:
    """Mark an error resolved by hand."""
    _set_status(error_id, config, "resolved", "resolved")


@errors_app.command("ignore")
def errors_ignore(
    error_id: Annotated[int, typer.Argument()], config: ConfigOption = Path("bitrix1c.yaml")
) -> None:
    """Ignore an error: it stays out of the open list even when it recurs."""
    _set_status(error_id, config, "ignored", "ignored")


@errors_app.command("edit")
def errors_edit(
    error_id: Annotated[int, typer.Argument(help="Error id (see `errors list`).")],
    payload: Annotated[
        str,
        typer.Option(
            "--payload",
            help="JSON file with the corrected source record, or - for standard input.",
        ),
    ],
    config: ConfigOption = Path("bitrix1c.yaml"),
) -> None:
    """Correct the source record of an error and retry it on the next run.

    Start from `errors show ID` (its payload); keep Ref_Key and DataVersion. The correction
    is used instead of what 1C returns until the record changes in 1C.
    """
    import getpass

    from rich.markup import escape

    from bitrix1c.state.store import PayloadRejected, payload_changes

    try:
        text = sys.stdin.read() if payload == "-" else Path(payload).read_text(encoding="utf-8")
        edited = json.loads(text)
    except OSError as exc:
        err.print(
            f"[red]error:[/] cannot read {escape(payload)}: {escape(str(exc.strerror or exc))}"
        )
        raise typer.Exit(2) from None
    except json.JSONDecodeError as exc:
        err.print(f"[red]error:[/] {escape(payload)} is not JSON: {escape(str(exc))}")
        raise typer.Exit(2) from None

    async def action(store: Any) -> int:
        before = await store.error(error_id)
        if before is None:
            err.print(f"[red]error:[/] no record error #{error_id}")
            return 2
        try:
            after = await store.edit_error_payload(error_id, edited, by=f"cli:{getpass.getuser()}")
        except PayloadRejected as exc:
            err.print(f"[red]error:[/] payload rejected: {escape(str(exc))}")
            return 2
        changes = payload_changes(before.effective_payload, edited)
        out.print(
            f"#{after.id} {after.record_key}: payload edited, will be retried on the next run",
            markup=False,
        )
        if not changes:
            out.print("no field changed")
        for key, old, new in changes:
            out.print(
                f"  {key}: {json.dumps(old, ensure_ascii=False)} → "
                f"{json.dumps(new, ensure_ascii=False)}",
                highlight=False,
                markup=False,
            )
        return 0

    raise typer.Exit(_with_store(config, action))


@web_app.command("hash-password")
def web_hash_password(
    password: Annotated[
        str,
        typer.Option(prompt=True, hide_input=True, confirmation_prompt=True, help="The password."),
    ],
) -> None:
    """Print the hash to put into web.password_hash (or an environment variable)."""
    from bitrix1c.web.auth import hash_password

    out.print(hash_password(password), highlight=False)


@app.command()
def check(config: ConfigOption = Path("bitrix1c.yaml")) -> None:
    """Compare every mapping with the live crm.*.fields and 1C $metadata (drift)."""
    from rich.markup import escape

    from bitrix1c.monitor.drift import MetadataDrift, decide
    from bitrix1c.service import Service

    settings = _settings(config)
    logs.configure("error")

    async def main() -> int:
        async with await Service.open(settings) as service:
            problems = 0
            for flow in service.enabled_flows():
                findings = await service.check(flow)
                problems += len(findings)
                if not findings:
                    out.print(f"{flow}: the mapping fits Bitrix24 and 1C")
                    continue
                for finding in findings:
                    # escaped: "[counterparties]" in a finding is not rich markup
                    out.print(f"[red]drift[/] {escape(str(finding))}", highlight=False)
                policy = settings.checks.policy(flow)
                try:
                    decision = decide(flow, policy, findings)
                except MetadataDrift as exc:
                    out.print(
                        f"{flow} ({policy}): runs stop before any write — {escape(str(exc))}",
                        highlight=False,
                    )
                    continue
                out.print(
                    f"[yellow]warning[/] {flow} ({policy}): {escape(decision.warning or '')}",
                    highlight=False,
                )
        return 1 if problems else 0

    raise typer.Exit(_run(main()))
