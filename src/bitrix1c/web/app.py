"""The service's web side: /healthz, a JSON API and a first status page.

The full dashboard with login, charts and error handling is a later step; this page lists
the recent runs and the open record errors, server-rendered, no JavaScript.
"""

from __future__ import annotations

from html import escape
from typing import Any

import sqlalchemy as sa
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse
from starlette.routing import Route

from bitrix1c import __version__
from bitrix1c.state.store import Run, Store


def _run_json(run: Run) -> dict[str, Any]:
    return {
        "id": run.id,
        "flow": run.flow,
        "trigger": run.trigger,
        "dry_run": run.dry_run,
        "status": run.status,
        "started_at": run.started_at.isoformat(),
        "finished_at": run.finished_at.isoformat() if run.finished_at else None,
        **run.summary.as_dict(),
        "message": run.message,
    }


def create_app(store: Store, *, title: str = "bitrix1c") -> Starlette:
    """The ASGI app of the service, reading from ``store``."""

    async def healthz(request: Request) -> JSONResponse:
        try:
            async with store.engine.connect() as conn:
                await conn.execute(sa.text("SELECT 1"))
        except Exception as exc:  # the health check reports, it never raises
            return JSONResponse(
                {"status": "error", "store": f"{type(exc).__name__}: {exc}"}, status_code=503
            )
        return JSONResponse({"status": "ok", "version": __version__})

    async def api_runs(request: Request) -> JSONResponse:
        limit = min(int(request.query_params.get("limit", "50")), 500)
        runs = await store.recent_runs(limit=limit, flow=request.query_params.get("flow"))
        return JSONResponse({"runs": [_run_json(r) for r in runs]})

    async def api_errors(request: Request) -> JSONResponse:
        status = request.query_params.get("status", "open")
        errors = await store.errors(status=None if status == "all" else status)
        return JSONResponse(
            {
                "errors": [
                    {
                        "id": e.id,
                        "flow": e.flow,
                        "record": e.record_key,
                        "bitrix24": e.b24_key,
                        "class": e.error_class,
                        "message": e.message,
                        "hint": e.hint,
                        "status": e.status,
                        "attempts": e.attempts,
                        "first_seen": e.first_seen.isoformat(),
                        "last_seen": e.last_seen.isoformat(),
                    }
                    for e in errors
                ]
            }
        )

    async def index(request: Request) -> HTMLResponse:
        runs = await store.recent_runs(limit=20)
        errors = await store.errors(limit=50)
        run_rows = "".join(
            f"<tr><td>{r.id}</td><td>{escape(r.flow)}</td><td>{escape(r.status)}</td>"
            f"<td>{r.started_at:%Y-%m-%d %H:%M:%S}</td><td>{r.summary.read}</td>"
            f"<td>{r.summary.created}</td><td>{r.summary.updated}</td>"
            f"<td>{r.summary.skipped}</td><td>{r.summary.failed}</td>"
            f"<td>{escape(r.message or '')}</td></tr>"
            for r in runs
        )
        error_rows = "".join(
            f"<tr><td>{escape(e.flow)}</td><td>{escape(e.record_key)}</td>"
            f"<td>{escape(e.message)}</td><td>{escape(e.hint)}</td><td>{e.attempts}</td></tr>"
            for e in errors
        )
        page = f"""<!doctype html><html lang="ru"><head><meta charset="utf-8">
<title>{escape(title)}</title>
<style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:4px 8px;font-size:14px}}</style></head><body>
<h1>{escape(title)}</h1>
<h2>Запуски / Runs</h2>
<table><tr><th>#</th><th>flow</th><th>status</th><th>started (UTC)</th><th>read</th>
<th>created</th><th>updated</th><th>skipped</th><th>failed</th><th>message</th></tr>
{run_rows or '<tr><td colspan="10">no runs yet</td></tr>'}</table>
<h2>Ошибки / Open errors ({len(errors)})</h2>
<table><tr><th>flow</th><th>record</th><th>what happened</th><th>what to do</th><th>seen</th></tr>
{error_rows or '<tr><td colspan="5">none</td></tr>'}</table>
<p><a href="/api/runs">/api/runs</a> · <a href="/api/errors">/api/errors</a> ·
<a href="/healthz">/healthz</a></p></body></html>"""
        return HTMLResponse(page)

    return Starlette(
        routes=[
            Route("/", index),
            Route("/healthz", healthz),
            Route("/api/runs", api_runs),
            Route("/api/errors", api_errors),
        ]
    )
