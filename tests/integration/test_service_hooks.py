"""The service's web app serves the 1C push hook and the CommerceML exchange without a
dashboard login (they carry their own credentials), and keeps the dashboard behind it."""

from __future__ import annotations

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
