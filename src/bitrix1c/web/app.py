"""The service's web side: dashboard (RU/EN, login), JSON API, /metrics, /healthz, hooks.

Everything except /healthz and the hooks (which carry their own tokens) needs a login:
a session cookie from the login form, or HTTP Basic for scripts and Prometheus.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Sequence
from importlib.resources import files
from typing import Any
from urllib.parse import parse_qs

import sqlalchemy as sa
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
from bitrix1c.state.store import Run, Store
from bitrix1c.web import dashboard
from bitrix1c.web.auth import Credentials, LoginRequired
from bitrix1c.web.charts import stacked_bars
from bitrix1c.web.i18n import language, translator

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

    def page(request: Request, name: str, **context: Any) -> HTMLResponse:
        lang = language(request)
        response = templates.TemplateResponse(
            request,
            name,
            {"lang": lang, "t": translator(lang), "user": request.session.get("user"), **context},
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

    async def error_page(request: Request) -> Response:
        error_id = int(request.path_params["error_id"])
        if request.method == "POST":
            action = (await _form(request)).get("action", "")
            if action in ERROR_ACTIONS:
                await store.set_error_status(error_id, ERROR_ACTIONS[action])
            return RedirectResponse(f"/errors/{error_id}", status_code=303)
        error = await store.error(error_id)
        if error is None:
            return HTMLResponse("no such record error", status_code=404)
        payload = json.dumps(error.payload, ensure_ascii=False, indent=2, default=str)
        return page(request, "error.html", e=error, payload=payload)

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
        Route("/api/runs", api_runs),
        Route("/api/errors", api_errors),
        Route("/api/errors/{error_id:int}", api_error),
        Route("/api/errors/{error_id:int}/{action}", api_error_action, methods=["POST"]),
        Route("/api/incidents", api_incidents),
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
