"""The service's web side: dashboard (RU/EN, login), JSON API, /metrics, /healthz, hooks.

Everything except /healthz and the hooks (which carry their own tokens) needs a login:
a session cookie from the login form, or HTTP Basic for scripts and Prometheus.
"""

from __future__ import annotations

import json
import secrets
import statistics
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from importlib.resources import files
from typing import Any
from urllib.parse import parse_qs

import sqlalchemy as sa
import structlog
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.templating import Jinja2Templates

from bitrix1c import __version__
from bitrix1c.monitor import metrics
from bitrix1c.monitor.alerts import incidents_of
from bitrix1c.settings import WebSettings
from bitrix1c.state.review import ReviewError, ReviewItem, ReviewQueue
from bitrix1c.state.store import PayloadRejected, RecordErrorEntry, Run, Store, aware, utcnow
from bitrix1c.state.tables import inbox
from bitrix1c.web import dashboard
from bitrix1c.web.auth import Credentials, LoginRequired, csrf_token, csrf_valid
from bitrix1c.web.charts import stacked_bars
from bitrix1c.web.i18n import language, translator

log = structlog.get_logger(__name__)

ERROR_ACTIONS = {"retry": "retrying", "resolve": "resolved", "ignore": "ignored"}


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


def _inbox_json(row: Mapping[Any, Any]) -> dict[str, Any]:
    def when(value: datetime | None) -> str | None:
        moment = aware(value)
        return moment.isoformat() if moment else None

    return {
        "id": row["id"],
        "source": row["source"],
        "event": row["event"],
        "type": row["object_type"],
        "Ref_Key": row["object_id"],
        "status": row["status"],
        "attempts": row["attempts"],
        "error": row["error"],
        "received_at": when(row["received_at"]),
        "changed_at": when(row["changed_at"]),
        "next_attempt_at": when(row["next_attempt_at"]),
        "processed_at": when(row["processed_at"]),
        "synced_at": when(row["synced_at"]),
    }


async def _form(request: Request) -> dict[str, str]:
    # Our forms are plain urlencoded; no multipart parser needed.
    body = (await request.body()).decode("utf-8", "replace")
    return {k: v[-1] for k, v in parse_qs(body, keep_blank_values=True).items()}


def create_app(
    store: Store,
    *,
    web: WebSettings | None = None,
    flows: Sequence[str] = ("counterparties",),
    systems_of: Callable[[str], list[str]] = lambda flow: [],
    live: dashboard.HealthProbe | None = None,
    extra_routes: Sequence[BaseRoute] = (),
) -> Starlette:
    """The ASGI app of the service, reading from ``store``."""
    web = web or WebSettings()
    credentials = Credentials(
        web.username, web.password_hash.get_secret_value() if web.password_hash else None
    )
    templates = Jinja2Templates(directory=str(files("bitrix1c.web") / "templates"))
    queue = ReviewQueue(store)

    def page(request: Request, name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
        lang = language(request)
        response = templates.TemplateResponse(
            request,
            name,
            {
                "lang": lang,
                "t": translator(lang),
                "user": request.session.get("user"),
                "csrf": csrf_token(request),
                **context,
            },
            status_code=status_code,
        )
        if request.query_params.get("lang") == lang:
            response.set_cookie("lang", lang, max_age=365 * 86400, samesite="lax")
        return response

    # --- open --------------------------------------------------------------------------

    async def healthz(request: Request) -> JSONResponse:
        try:
            async with store.engine.connect() as conn:
                await conn.execute(sa.text("SELECT 1"))
        except Exception as exc:  # the health check reports, it never raises
            return JSONResponse(
                {"status": "error", "store": f"{type(exc).__name__}: {exc}"}, status_code=503
            )
        return JSONResponse({"status": "ok", "version": __version__})

    async def login(request: Request) -> Response:
        next_url = request.query_params.get("next", "/")
        if request.method == "GET":
            return page(request, "login.html", next=next_url, failed=False)
        form = await _form(request)
        next_url = form.get("next") or "/"
        if not next_url.startswith("/") or next_url.startswith("//"):
            next_url = "/"  # never redirect off-site
        if credentials.check(form.get("username", ""), form.get("password", "")):
            request.session["user"] = credentials.username
            return RedirectResponse(next_url, status_code=303)
        return page(request, "login.html", next=next_url, failed=True)

    async def logout(request: Request) -> Response:
        request.session.clear()
        return RedirectResponse("/login", status_code=303)

    # --- dashboard ----------------------------------------------------------------------

    async def index(request: Request) -> HTMLResponse:
        data = await dashboard.overview(store, list(flows), systems_of, live)
        t = translator(language(request))
        ok, failed = t["synced"], t["failed"]
        charts = {
            panel.flow: {
                "hour": stacked_bars(panel.per_hour, ok_label=ok, failed_label=failed),
                "day": stacked_bars(panel.per_day, ok_label=ok, failed_label=failed),
            }
            for panel in data.flows
        }
        return page(request, "overview.html", o=data, charts=charts)

    async def errors_page(request: Request) -> HTMLResponse:
        status = request.query_params.get("status", "open")
        errors = await store.errors(status=None if status == "all" else status, limit=500)
        return page(request, "errors.html", errors=errors, status=status)

    def error_view(
        request: Request,
        error: RecordErrorEntry,
        *,
        draft: str | None = None,
        problem: str | None = None,
    ) -> HTMLResponse:
        def pretty(value: Any) -> str:
            return json.dumps(value, ensure_ascii=False, indent=2, default=str)

        return page(
            request,
            "error.html",
            status_code=400 if problem else 200,
            e=error,
            payload=pretty(error.payload),
            edited=pretty(error.edited_payload) if error.edited_payload is not None else None,
            draft=draft if draft is not None else pretty(error.effective_payload),
            problem=problem,
        )

    async def error_page(request: Request) -> Response:
        error_id = int(request.path_params["error_id"])
        if request.method == "POST":
            form = await _form(request)
            # The session cookie alone must not be enough to act: a page on another site
            # could submit this form in the logged-in user's browser.
            if not csrf_valid(request, form.get("csrf", "")):
                return HTMLResponse("the form expired: reload the page", status_code=403)
            action = form.get("action", "")
            if action in ERROR_ACTIONS:
                await store.set_error_status(error_id, ERROR_ACTIONS[action])
            elif action == "edit":
                problem = await edit_payload(error_id, form.get("payload", ""))
                if problem is not None:
                    error = await store.error(error_id)
                    if error is None:
                        return HTMLResponse("no such record error", status_code=404)
                    return error_view(request, error, draft=form.get("payload"), problem=problem)
            return RedirectResponse(f"/errors/{error_id}", status_code=303)
        error = await store.error(error_id)
        if error is None:
            return HTMLResponse("no such record error", status_code=404)
        return error_view(request, error)

    async def edit_payload(error_id: int, text: str) -> str | None:
        """Store the edited payload; the problem to show, or None when it was saved."""
        try:
            await store.edit_error_payload(
                error_id, json.loads(text), by=f"web:{credentials.username}"
            )
        except json.JSONDecodeError as exc:
            return f"payload: not JSON ({exc})"
        except PayloadRejected as exc:
            return str(exc)
        return None

    async def review_page(request: Request) -> Response:
        decided: ReviewItem | None = None
        if request.method == "POST":
            form = await _form(request)
            if not csrf_valid(request, form.get("csrf", "")):
                return HTMLResponse("the form expired: reload the page", status_code=403)
            decision = form.get("decision", "")
            try:
                item_id, company = int(form.get("item", "")), int(form.get("company", ""))
                decided = await queue.decide(
                    item_id, decision, company if decision == "link" else None
                )
            except (ValueError, ReviewError) as exc:
                return HTMLResponse(f"cannot decide: {exc}", status_code=400)
            log.info("review.decided", item=item_id, decision=decision, by=credentials.username)
        return page(request, "review.html", groups=await queue.by_company(), decided=decided)

    async def runs_page(request: Request) -> HTMLResponse:
        return page(request, "runs.html", runs=await store.recent_runs(limit=200))

    # --- JSON API -----------------------------------------------------------------------

    async def api_runs(request: Request) -> JSONResponse:
        limit = min(int(request.query_params.get("limit", "50")), 500)
        found = await store.recent_runs(limit=limit, flow=request.query_params.get("flow"))
        return JSONResponse({"runs": [_run_json(r) for r in found]})

    async def api_errors(request: Request) -> JSONResponse:
        status = request.query_params.get("status", "open")
        errors = await store.errors(status=None if status == "all" else status)
        return JSONResponse({"errors": [e.as_dict() for e in errors]})

    async def api_error(request: Request) -> JSONResponse:
        error = await store.error(int(request.path_params["error_id"]))
        if error is None:
            return JSONResponse({"error": "no such record error"}, status_code=404)
        return JSONResponse(error.as_dict())

    async def api_error_payload(request: Request) -> JSONResponse:
        try:
            payload = json.loads(await request.body())
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            return JSONResponse(
                {"error": f"the body is not JSON: {exc}", "field": "payload"}, status_code=400
            )
        try:
            error = await store.edit_error_payload(
                int(request.path_params["error_id"]), payload, by=f"web:{credentials.username}"
            )
        except PayloadRejected as exc:
            return JSONResponse({"error": str(exc), "field": exc.field}, status_code=400)
        if error is None:
            return JSONResponse({"error": "no such record error"}, status_code=404)
        return JSONResponse(error.as_dict())

    async def api_error_action(request: Request) -> JSONResponse:
        action = request.path_params["action"]
        if action not in ERROR_ACTIONS:
            return JSONResponse(
                {"error": f"unknown action {action!r}; use {', '.join(ERROR_ACTIONS)}"},
                status_code=400,
            )
        error = await store.set_error_status(
            int(request.path_params["error_id"]), ERROR_ACTIONS[action]
        )
        if error is None:
            return JSONResponse({"error": "no such record error"}, status_code=404)
        return JSONResponse(error.as_dict())

    async def api_transfer(request: Request) -> JSONResponse:
        window = dashboard.TRANSFER_WINDOW
        durations = await dashboard.transfer_times(store, utcnow() - window)
        return JSONResponse(
            {
                "window_hours": window.total_seconds() / 3600,
                "count": len(durations),
                "median_seconds": statistics.median(durations) if durations else None,
                "p95_seconds": dashboard.percentile(durations, 0.95) if durations else None,
            }
        )

    async def api_inbox(request: Request) -> JSONResponse:
        status = request.query_params.get("status", "new")
        limit = min(int(request.query_params.get("limit", "100")), 1000)
        query = sa.select(inbox).order_by(inbox.c.id.desc()).limit(limit)
        if status != "all":
            query = query.where(inbox.c.status == status)
        async with store.engine.connect() as conn:
            rows = (await conn.execute(query)).mappings().all()
        return JSONResponse({"inbox": [_inbox_json(row) for row in rows]})

    async def api_incidents(request: Request) -> JSONResponse:
        status = request.query_params.get("status", "open")
        found = await incidents_of(store, None if status == "all" else status)
        return JSONResponse({"incidents": [i.as_dict() for i in found]})

    async def prometheus(request: Request) -> Response:
        body, content_type = await metrics.exposition(store)
        return Response(body, media_type=content_type)

    routes: list[BaseRoute] = [
        Route("/healthz", healthz),
        Route("/login", login, methods=["GET", "POST"]),
        Route("/logout", logout, methods=["POST"]),
        Route("/", index),
        Route("/errors", errors_page),
        Route("/errors/{error_id:int}", error_page, methods=["GET", "POST"]),
        Route("/runs", runs_page),
        Route("/review", review_page, methods=["GET", "POST"]),
        Route("/api/runs", api_runs),
        Route("/api/errors", api_errors),
        Route("/api/errors/{error_id:int}", api_error),
        Route("/api/errors/{error_id:int}/payload", api_error_payload, methods=["PUT"]),
        Route("/api/errors/{error_id:int}/{action}", api_error_action, methods=["POST"]),
        Route("/api/incidents", api_incidents),
        Route("/api/transfer", api_transfer),
        Route("/api/inbox", api_inbox),
        Route("/metrics", prometheus),
        *extra_routes,
    ]
    secret = web.session_secret.get_secret_value() if web.session_secret else None
    return Starlette(
        routes=routes,
        middleware=[
            Middleware(
                SessionMiddleware,
                secret_key=secret or secrets.token_urlsafe(32),
                session_cookie="bitrix1c_session",
                same_site="lax",
            ),
            Middleware(LoginRequired, credentials=credentials),
        ],
    )
