"""``/api/review``: the review queue of ambiguous and look-alike matches, over JSON.

``GET /api/review?status=open|link|create|ignore|resolved|all`` lists items;
``GET /api/review?group=company`` lists the open items grouped by the company they look
like (linking one record to it settles the rest of its group);
``GET /api/review/{id}`` shows one with its candidates and scores;
``POST /api/review/{id}/link`` with ``{"company_id": 123}``, ``POST …/create`` and
``POST …/ignore`` record a decision that the next run of the flow obeys.
"""

from __future__ import annotations

import json

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from bitrix1c.state.review import DECISIONS, STATUSES, ReviewError, ReviewQueue
from bitrix1c.state.store import Store


def routes(store: Store) -> list[Route]:
    """The review-queue API routes (they sit behind the app's login like the rest)."""
    queue = ReviewQueue(store)

    async def api_review(request: Request) -> JSONResponse:
        group = request.query_params.get("group")
        if group is not None:
            if group != "company":
                return JSONResponse(
                    {"error": f"unknown grouping {group!r}; use company"}, status_code=400
                )
            groups = await queue.by_company()
            return JSONResponse(
                {"groups": [g.as_dict() for g in groups], "counts": await queue.counts()}
            )
        status = request.query_params.get("status", "open")
        if status != "all" and status not in STATUSES:
            return JSONResponse(
                {"error": f"unknown status {status!r}; use all, {', '.join(STATUSES)}"},
                status_code=400,
            )
        limit = min(int(request.query_params.get("limit", "100")), 1000)
        items = await queue.items(None if status == "all" else status, limit=limit)
        return JSONResponse({"items": [i.as_dict() for i in items], "counts": await queue.counts()})

    async def api_review_item(request: Request) -> JSONResponse:
        item = await queue.get(int(request.path_params["item_id"]))
        if item is None:
            return JSONResponse({"error": "no such review item"}, status_code=404)
        return JSONResponse(item.as_dict())

    async def api_review_decide(request: Request) -> JSONResponse:
        decision = request.path_params["decision"]
        if decision not in DECISIONS:
            return JSONResponse(
                {"error": f"unknown decision {decision!r}; use {', '.join(DECISIONS)}"},
                status_code=400,
            )
        company_id: int | None = None
        if decision == "link":
            try:
                body = json.loads(await request.body() or b"{}")
                company_id = int(body["company_id"])
            except (ValueError, KeyError, TypeError):
                return JSONResponse(
                    {"error": 'linking needs a JSON body {"company_id": <Bitrix24 company id>}'},
                    status_code=400,
                )
        item_id = int(request.path_params["item_id"])
        if await queue.get(item_id) is None:
            return JSONResponse({"error": "no such review item"}, status_code=404)
        try:
            item = await queue.decide(item_id, decision, company_id)
        except ReviewError as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        return JSONResponse(item.as_dict())

    return [
        Route("/api/review", api_review),
        Route("/api/review/{item_id:int}", api_review_item),
        Route("/api/review/{item_id:int}/{decision}", api_review_decide, methods=["POST"]),
    ]
