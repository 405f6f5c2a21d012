"""The service's web app serves the 1C push hook and the CommerceML exchange without a
dashboard login (they carry their own credentials), and keeps the dashboard behind it."""

from __future__ import annotations

from typing import Any

import httpx
import sqlalchemy as sa

from bitrix1c.service import Service
from bitrix1c.settings import parse_settings
from bitrix1c.state.tables import inbox


async def test_push_and_exchange_are_reachable_through_the_service(sqlite_url: str) -> None:
    settings = parse_settings(
        {
            "bitrix24": {"webhook_url": "http://127.0.0.1:9/rest/1/x/"},
            "onec": [
                {
                    "name": "trade",
                    "odata_url": "http://127.0.0.1:9/trade/odata/standard.odata/",
                    "username": "u",
                    "push_token": "${PUSH}",
                }
            ],
            "commerceml": {"base": "trade", "username": "site", "password": "${CML}"},
            "store": {"url": sqlite_url},
        },
        env={"PUSH": "t0ken", "CML": "pw"},
    )
    service = await Service.open(settings)
    try:
        app = service.web_app()
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://t"
        ) as web:
            change = {
                "type": "Document_ЗаказКлиента",
                "Ref_Key": "8f2c5a7e-0b1d-11ef-9c3a-00155d010203",
                "DataVersion": "AAAAAgAAAAA=",
                "event": "posted",
            }
            pushed = await web.post(
                "/hooks/1c/trade",
                json={"changes": [change]},
                headers={"Authorization": "Bearer t0ken"},
            )
            assert pushed.status_code == 200, pushed.text
            assert (
                await web.post(
                    "/hooks/1c/trade", json=change, headers={"Authorization": "Bearer nope"}
                )
            ).status_code == 401
            auth = await web.get("/exchange/1c?type=catalog&mode=checkauth", auth=("site", "pw"))
            assert auth.text.startswith("success")
            event = await web.post(
                "/hooks/bitrix24",
                data={
                    "event": "ONCRMCOMPANYUPDATE",
                    "auth[member_id]": "m",
                    "auth[application_token]": "x",
                },
            )
            assert (
                event.status_code == 401
            )  # unknown portal: refused by the hook itself, no login page
            assert (await web.get("/")).status_code == 503  # dashboard: no password configured
        async with service.store.engine.connect() as conn:
            rows = (await conn.execute(sa.select(inbox.c.source, inbox.c.object_id))).all()
        assert rows == [("1c:trade", "8f2c5a7e-0b1d-11ef-9c3a-00155d010203")]
    finally:
        await service.close()


async def test_the_scheduler_drains_the_inbox_in_the_background(sqlite_url: str) -> None:
    import asyncio
    import contextlib

    import pytest

    from bitrix1c.errors import ConfigError
    from bitrix1c.jobs.scheduler import drain_inbox_periodically
    from bitrix1c.state.store import utcnow

    def config(timezone: str) -> dict[str, Any]:
        return {
            "bitrix24": {"webhook_url": "http://127.0.0.1:9/rest/1/x/"},
            "onec": [
                {
                    "name": "trade",
                    "odata_url": "http://127.0.0.1:9/trade/odata/standard.odata/",
                    "username": "u",
                    "push_token": "t0ken",
                    "timezone": timezone,
                }
            ],
            "store": {"url": sqlite_url},
            "inbox": {"every_seconds": 0.05},
        }

    with pytest.raises(ConfigError, match=r"onec\.0\.timezone"):
        parse_settings(config("Moscow"))
    settings = parse_settings(config("Asia/Yekaterinburg"))
    assert settings.onec[0].zone().key == "Asia/Yekaterinburg"
    service = await Service.open(settings)
    try:
        async with service.store.transaction() as conn:
            # A Bitrix24 event waits for its own consumer: the 1C drain leaves it alone.
            await conn.execute(
                sa.insert(inbox).values(
                    source="bitrix24",
                    event="ONCRMCOMPANYUPDATE",
                    payload={},
                    status="new",
                    attempts=0,
                    received_at=utcnow(),
                )
            )
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=service.web_app()), base_url="http://t"
        ) as web:
            order = {
                "type": "Document_ЗаказКлиента",
                "Ref_Key": "8f2c5a7e-0b1d-11ef-9c3a-00155d010203",
                "DataVersion": "AAAAAgAAAAA=",
                "event": "posted",
            }
            pushed = await web.post(
                "/hooks/1c/trade", json=order, headers={"Authorization": "Bearer t0ken"}
            )
            assert pushed.status_code == 200
            task = asyncio.create_task(drain_inbox_periodically(service))
            try:
                for _ in range(100):
                    await asyncio.sleep(0.05)
                    if (await service.store.backlog()).inbox_new == 1:
                        break
            finally:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            assert (await web.get("/healthz")).json()["status"] == "ok"
        async with service.store.engine.connect() as conn:
            rows = (await conn.execute(sa.select(inbox.c.source, inbox.c.status))).all()
        # No flow consumes orders yet: skipped, so the backlog counts only work to be done.
        assert sorted(rows) == [("1c:trade", "skipped"), ("bitrix24", "new")]
    finally:
        await service.close()
