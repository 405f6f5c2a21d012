"""The dashboard in headless Chromium: log in, see the charts, open an error and its payload.

Needs Debian's chromium (/usr/bin/chromium) and the playwright package (no browser download).
Skipped with a clear reason when Chromium is missing, unless BITRIX1C_REQUIRE_BROWSER=1 (CI).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
import uvicorn

from bitrix1c.demo import DEMO_PASSWORD, DEMO_USER, demo_settings
from bitrix1c.sandbox.server import Endpoints, QuietServer, SandboxThread
from bitrix1c.service import Service

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ARTIFACTS = Path(__file__).parents[2] / "test-artifacts"


@pytest.fixture
def chromium() -> str:
    if CHROMIUM is None:
        message = "Chromium is not installed (apt-get install chromium) — browser test skipped"
        if os.environ.get("BITRIX1C_REQUIRE_BROWSER") == "1":
            pytest.fail(message)
        pytest.skip(message)
    return CHROMIUM


class ServiceThread:
    """Run one flow pass, then serve the service's web app, in a background loop."""

    def __init__(self, endpoints: Endpoints, state: Path, port: int) -> None:
        self.settings = demo_settings(endpoints, state, port)
        self.ready = threading.Event()
        self.server: QuietServer | None = None
        self.thread = threading.Thread(target=lambda: asyncio.run(self._main()), daemon=True)
        self.error: BaseException | None = None

    async def _main(self) -> None:
        try:
            service = await Service.open(self.settings)
            await service.run("counterparties", trigger="test")
            self.server = QuietServer(
                uvicorn.Config(
                    service.web_app(),
                    host="127.0.0.1",
                    port=self.settings.web.port,
                    log_level="warning",
                    lifespan="off",
                )
            )
        except BaseException as exc:
            self.error = exc
            self.ready.set()
            raise
        task = asyncio.create_task(self.server.serve())
        while not self.server.started:
            await asyncio.sleep(0.01)
        self.ready.set()
        await task
        await service.close()

    def __enter__(self) -> str:
        self.thread.start()
        self.ready.wait(60)
        if self.error:
            raise self.error
        return f"http://127.0.0.1:{self.settings.web.port}"

    def __exit__(self, *exc: object) -> None:
        if self.server is not None:
            self.server.should_exit = True
        self.thread.join(30)


@pytest.fixture
def dashboard(tmp_path: Path) -> Iterator[tuple[str, str, str]]:
    from smtp_server import free_port

    with SandboxThread(tmp_path / "sandbox", scale=40) as endpoints:
        client = httpx.Client(
            base_url=endpoints.onec_odata_url,
            auth=(endpoints.onec_username, endpoints.onec_password),
        )
        # Real 1C reads "+" literally: spaces must travel as %20 (httpx params would use "+").
        query = "$format=json&$top=2&$filter=" + quote("ЮрФизЛицо eq 'ЮрЛицо'")
        rows = client.get("Catalog_Контрагенты?" + query).json()["value"]
        bad_inn = rows[0]["ИНН"][:-1] + str((int(rows[0]["ИНН"][-1]) + 1) % 10)
        client.patch(
            f"Catalog_Контрагенты(guid'{rows[0]['Ref_Key']}')?$format=json", json={"ИНН": bad_inn}
        ).raise_for_status()
        with ServiceThread(endpoints, tmp_path / "service", free_port()) as url:
            yield url, bad_inn, rows[0]["ИНН"]


def test_login_charts_and_error_payload(chromium: str, dashboard: tuple[str, str, str]) -> None:
    from playwright.sync_api import sync_playwright

    url, bad_inn, good_inn = dashboard
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=chromium,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(url + "/?lang=en")
            assert "/login" in page.url
            page.fill("input[name=username]", DEMO_USER)
            page.fill("input[name=password]", DEMO_PASSWORD)
            page.click("button[type=submit]")
            page.wait_for_selector("#flow-counterparties")
            assert page.locator("#flow-counterparties svg.chart rect.ok").count() >= 2
            assert page.locator("#flow-counterparties svg.chart rect.failed").count() >= 2
            assert page.inner_text("#open-errors") == "1"
            page.screenshot(path=str(ARTIFACTS / "dashboard-overview.png"), full_page=True)

            page.click("text=Errors")
            page.click("tr.error-row a >> nth=1")
            page.wait_for_selector("#payload")
            assert bad_inn in page.inner_text("#payload")
            assert bad_inn in page.inner_text("#message")
            editor = page.locator("#payload-editor")
            assert f'"ИНН": "{bad_inn}"' in editor.input_value()
            page.screenshot(path=str(ARTIFACTS / "dashboard-error.png"), full_page=True)

            # Correct the INN in the form: saved, retried on the next run, payload as 1C sent it.
            editor.fill(editor.input_value().replace(bad_inn, good_inn))
            page.click("button[value=edit]")
            page.wait_for_selector("h1 .retrying")
            assert "admin" in page.inner_text("#edited-by")
            assert f'"ИНН": "{good_inn}"' in page.locator("#payload-editor").input_value()
            assert bad_inn in page.inner_text("#payload")
            page.screenshot(path=str(ARTIFACTS / "dashboard-error-edited.png"), full_page=True)

            page.click("button[value=ignore]")
            page.wait_for_selector("h1 .ignored")
        finally:
            browser.close()
