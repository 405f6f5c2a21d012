"""Drift proofs through the sandbox fault switches, the service, a real SMTP server and the API.

(a) a 1C attribute renamed in the base's metadata, (b) the CRM user field the flow writes
deleted: the run stops before any write, one alert mail names the flow and the field, the
API and the dashboard show the incident; once fixed, one recovery mail and runs succeed.
The ``skip_field`` policy leaves an optional field out instead, and still stops on a key.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
import structlog
from pydantic import SecretStr
from typer.testing import CliRunner

from bitrix1c.cli import app as cli
from bitrix1c.demo import demo_settings
from bitrix1c.monitor.drift import MetadataDrift
from bitrix1c.sandbox.server import Endpoints, SandboxThread
from bitrix1c.service import Service
from bitrix1c.settings import AlertSettings, EmailAlerts, Settings
from bitrix1c.state.store import RunSummary
from bitrix1c.web.auth import hash_password
from portal_http import portal_result as b24
from smtp_server import SmtpServer

SET = "Catalog_Контрагенты"
PROBLEM = "[bitrix1c] PROBLEM: metadata drift stops a flow: counterparties"
RECOVERED = "[bitrix1c] RECOVERED: metadata drift stops a flow: counterparties"


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[Endpoints]:
    with SandboxThread(tmp_path / "sandbox", scale=20, seed=3) as endpoints:
        yield endpoints


def configured(
    endpoints: Endpoints, tmp_path: Path, smtp: SmtpServer, **counterparties: Any
) -> Settings:
    settings = demo_settings(endpoints, tmp_path, port=0)
    flow = settings.flows.counterparties.model_copy(update=counterparties)
    alerts = AlertSettings(
        email=EmailAlerts(
            host="127.0.0.1",
            port=smtp.port,
            security="none",  # type: ignore[arg-type]
            sender="bitrix1c@example.ru",
            recipients=["oncall@example.ru"],
        ),
        dashboard_url="http://dash.example.ru/",
    )
    return settings.model_copy(
        update={
            "flows": settings.flows.model_copy(update={"counterparties": flow}),
            "alerts": alerts,
            "web": settings.web.model_copy(
                update={"password_hash": SecretStr(hash_password("pw"))}
            ),
        }
    )


def with_policy(settings: Settings, policy: str) -> Settings:
    checks = settings.checks.model_copy(update={"on_drift": {"counterparties": policy}})
    return settings.model_copy(update={"checks": checks})


def onec_faults(endpoints: Endpoints, settings: dict[str, Any]) -> None:
    root = endpoints.onec_odata_url.split("/trade/")[0]
    response = httpx.post(f"{root}/_sandbox/faults", json={"base": "trade", **settings})
    response.raise_for_status()


def onec(endpoints: Endpoints) -> httpx.Client:
    return httpx.Client(
        base_url=endpoints.onec_odata_url,
        auth=(endpoints.onec_username, endpoints.onec_password),
        params={"$format": "json"},
        timeout=30,
    )


def company_of(endpoints: Endpoints, ref_key: str) -> dict[str, Any]:
    (company,) = b24(
        endpoints,
        "crm.company.list",
        {"filter": {"ORIGIN_ID": ref_key}, "select": ["ID", "TITLE", "UF_*"]},
    )
    return dict(company)


def mail_text(smtp: SmtpServer, n: int) -> str:
    payload = smtp.inbox.messages[n].get_payload(decode=True)
    assert isinstance(payload, bytes)
    return payload.decode("utf-8")


async def run(settings: Settings) -> RunSummary:
    service = await Service.open(settings)
    try:
        return await service.run("counterparties", trigger="test")
    finally:
        await service.close()


async def stopped(settings: Settings) -> MetadataDrift:
    service = await Service.open(settings)
    try:
        with pytest.raises(MetadataDrift) as caught:
            await service.run("counterparties", trigger="test")
        return caught.value
    finally:
        await service.close()


async def on_call_view(settings: Settings) -> tuple[list[dict[str, Any]], str, list[Any]]:
    """What the person on call sees: /api/incidents, the dashboard page, /api/runs."""
    service = await Service.open(settings)
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=service.web_app()),
            base_url="http://t",
            auth=("admin", "pw"),
        ) as web:
            incidents = (await web.get("/api/incidents")).json()["incidents"]
            page = (await web.get("/")).text
            runs = (await web.get("/api/runs")).json()["runs"]
            return incidents, page, runs
    finally:
        await service.close()


def rename_description(endpoints: Endpoints, ref_key: str, title: str) -> None:
    """A change in 1C that a run would write to Bitrix24 (to see that nothing was written)."""
    with onec(endpoints) as http:
        http.patch(f"{SET}(guid'{ref_key}')", json={"Description": title}).raise_for_status()


async def test_a_renamed_1c_field_stops_the_flow_with_one_alert_until_it_is_back(
    sandbox: Endpoints, smtp: SmtpServer, tmp_path: Path
) -> None:
    settings = configured(sandbox, tmp_path, smtp)
    await run(settings)
    ref_key = b24(sandbox, "crm.company.list", {"filter": {"ORIGINATOR_ID": "trade"}})[0][
        "ORIGIN_ID"
    ]
    rename_description(sandbox, ref_key, "ООО Переименованное")

    onec_faults(sandbox, {"rename": {f"{SET}.ИНН": "ИНН_Старый"}})
    for _ in range(3):
        error = await stopped(settings)
        assert "Catalog_Контрагенты.ИНН is gone" in str(error)
    assert company_of(sandbox, ref_key)["TITLE"] != "ООО Переименованное", "nothing written"
    assert smtp.inbox.subjects() == [PROBLEM]
    assert "[counterparties] 1c:trade: Catalog_Контрагенты.ИНН is gone" in mail_text(smtp, 0)

    incidents, page, runs = await on_call_view(settings)
    ((incident),) = incidents
    assert (incident["kind"], incident["subject"], incident["count"]) == (
        "drift",
        "counterparties",
        3,
    )
    assert "Catalog_Контрагенты.ИНН" in incident["message"]
    assert "drift: counterparties" in page and "Catalog_Контрагенты.ИНН is gone" in page
    assert runs[0]["status"] == "failed" and runs[0]["read"] == 0

    onec_faults(sandbox, {"rename": {}})
    summary = await run(settings)
    assert summary.failed == 0 and summary.updated >= 1
    assert company_of(sandbox, ref_key)["TITLE"] == "ООО Переименованное"
    await run(settings)
    assert smtp.inbox.subjects() == [PROBLEM, RECOVERED]
    incidents, page, _runs = await on_call_view(settings)
    assert incidents == [] and 'id="no-incidents"' in page


async def test_a_deleted_crm_user_field_stops_the_flow_with_one_alert_until_recreated(
    sandbox: Endpoints, smtp: SmtpServer, tmp_path: Path
) -> None:
    field = {"FIELD_NAME": "1C_DELETED", "USER_TYPE_ID": "string", "LABEL": "Удалён в 1С"}
    b24(sandbox, "crm.company.userfield.add", {"fields": field})
    settings = configured(sandbox, tmp_path, smtp, on_deletion_mark="mark")
    await run(settings)
    company = b24(sandbox, "crm.company.list", {"filter": {"ORIGINATOR_ID": "trade"}})[0]
    assert company_of(sandbox, company["ORIGIN_ID"])["UF_CRM_1C_DELETED"] == "N"
    rename_description(sandbox, company["ORIGIN_ID"], "ООО Переименованное")

    (uf,) = b24(
        sandbox, "crm.company.userfield.list", {"filter": {"FIELD_NAME": "UF_CRM_1C_DELETED"}}
    )
    assert b24(sandbox, "crm.company.userfield.delete", {"id": uf["ID"]}) is True
    for _ in range(2):
        error = await stopped(settings)
        assert "crm.company.UF_CRM_1C_DELETED is gone" in str(error)
    assert company_of(sandbox, company["ORIGIN_ID"])["TITLE"] != "ООО Переименованное"
    assert smtp.inbox.subjects() == [PROBLEM]
    assert "[counterparties] bitrix24: crm.company.UF_CRM_1C_DELETED is gone" in mail_text(smtp, 0)
    incidents, page, _runs = await on_call_view(settings)
    ((incident),) = incidents
    assert incident["kind"] == "drift" and "UF_CRM_1C_DELETED" in incident["message"]
    assert "drift: counterparties" in page and "crm.company.UF_CRM_1C_DELETED" in page

    b24(sandbox, "crm.company.userfield.add", {"fields": field})
    summary = await run(settings)
    assert summary.failed == 0
    assert company_of(sandbox, company["ORIGIN_ID"])["TITLE"] == "ООО Переименованное"
    assert smtp.inbox.subjects() == [PROBLEM, RECOVERED]
    incidents, _page, _runs = await on_call_view(settings)
    assert incidents == []


def legal_with_okpo(endpoints: Endpoints) -> dict[str, Any]:
    with onec(endpoints) as http:
        rows = http.get(
            f"{SET}?$filter=" + quote("ЮрФизЛицо eq 'ЮрЛицо' and DeletionMark eq false")
        ).json()["value"]
    return next(row for row in rows if row["КодПоОКПО"] and row["ИНН"])


def requisite_of(endpoints: Endpoints, ref_key: str) -> dict[str, Any]:
    (requisite,) = b24(endpoints, "crm.requisite.list", {"filter": {"XML_ID": ref_key}})
    return dict(requisite)


async def test_skip_field_leaves_an_optional_1c_field_out_with_one_warning(
    sandbox: Endpoints, smtp: SmtpServer, tmp_path: Path
) -> None:
    settings = with_policy(configured(sandbox, tmp_path, smtp), "skip_field")
    row = legal_with_okpo(sandbox)
    onec_faults(sandbox, {"rename": {f"{SET}.КодПоОКПО": "КодПоОКПО_Старый"}})

    summary = await run(settings)
    assert summary.failed == 0 and summary.created > 0
    requisite = requisite_of(sandbox, row["Ref_Key"])
    assert requisite["RQ_INN"] == row["ИНН"], "everything else is written"
    assert not requisite["RQ_OKPO"], "the skipped field is not written"
    assert smtp.inbox.messages == [], "a skipped field is a warning, not an alert"

    incidents, page, runs = await on_call_view(settings)
    assert incidents == []
    warning = runs[0]["message"]
    assert runs[0]["status"] == "ok" and "skip_field" in warning
    assert "Catalog_Контрагенты.КодПоОКПО" in warning
    assert page.count("Catalog_Контрагенты.КодПоОКПО") == 1, "one warning on the dashboard"

    onec_faults(sandbox, {"rename": {}})
    await run(settings)
    assert requisite_of(sandbox, row["Ref_Key"])["RQ_OKPO"] == row["КодПоОКПО"]
    _incidents, _page, runs = await on_call_view(settings)
    assert runs[0]["message"] is None


async def test_skip_field_never_skips_a_key_field(
    sandbox: Endpoints, smtp: SmtpServer, tmp_path: Path
) -> None:
    settings = with_policy(configured(sandbox, tmp_path, smtp), "skip_field")
    onec_faults(sandbox, {"rename": {f"{SET}.ИНН": "ИНН_Старый"}})
    error = await stopped(settings)
    assert "cannot leave out a field the flow cannot work without" in str(error)
    assert "Catalog_Контрагенты.ИНН is gone (removed or renamed) (a key field)" in str(error)
    assert b24(sandbox, "crm.company.list", {"filter": {"ORIGINATOR_ID": "trade"}}) == []
    assert smtp.inbox.subjects() == [PROBLEM]


CONFIG = """\
bitrix24:
  webhook_url: {webhook}
onec:
  - name: trade
    odata_url: {odata}
    username: {user}
    password: {password}
store:
  url: sqlite+aiosqlite:///{store}
checks:
  on_drift: {{counterparties: {policy}}}
"""


@pytest.fixture
def restore_logging() -> Iterator[None]:
    # The CLI configures logging to the stderr CliRunner swaps in and closes afterwards.
    config = structlog.get_config()
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    structlog.configure(**config)
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.mark.usefixtures("restore_logging")
@pytest.mark.parametrize(
    ("field", "policy", "expected"),
    [
        (
            "КодПоОКПО",
            "skip_field",
            "warning counterparties (skip_field): drift, field(s) left out",
        ),
        ("ИНН", "skip_field", "counterparties (skip_field): runs stop before any write"),
        ("КодПоОКПО", "stop", "counterparties (stop): runs stop before any write"),
    ],
)
def test_check_command_says_what_the_policy_does(
    sandbox: Endpoints, tmp_path: Path, field: str, policy: str, expected: str
) -> None:
    config = tmp_path / "bitrix1c.yaml"
    config.write_text(
        CONFIG.format(
            webhook=sandbox.bitrix24_webhook_url,
            odata=sandbox.onec_odata_url,
            user=sandbox.onec_username,
            password=sandbox.onec_password,
            store=tmp_path / "store.db",
            policy=policy,
        ),
        encoding="utf-8",
    )
    onec_faults(sandbox, {"rename": {f"{SET}.{field}": f"{field}_Старый"}})
    result = CliRunner().invoke(cli, ["check", "--config", str(config)], terminal_width=400)
    assert result.exit_code == 1, result.output
    assert f"drift [counterparties] 1c:trade: Catalog_Контрагенты.{field} is gone" in result.output
    assert expected in result.output
