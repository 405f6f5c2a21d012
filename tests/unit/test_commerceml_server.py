"""The exchange protocol as 1C sees it: answers to each mode, sessions, files, failures."""

from __future__ import annotations

import base64
import io
import zipfile
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr
from starlette.applications import Starlette

from bitrix1c.settings import CommerceMLSettings
from bitrix1c.state.store import Store
from bitrix1c.web.commerceml import COOKIE, ExchangeServer

DATA = Path(__file__).parents[1] / "data" / "commerceml"
URL = "/exchange/1c"


@pytest.fixture
async def server(sqlite_url: str, tmp_path: Path) -> AsyncIterator[ExchangeServer]:
    store = await Store.open(sqlite_url)
    config = CommerceMLSettings(
        username="обмен", password=SecretStr("secret"), file_limit=65536, zip=False
    )
    exchange = ExchangeServer(store, config)
    yield exchange
    exchange.close()
    await store.close()


@pytest.fixture
async def http(server: ExchangeServer) -> AsyncIterator[httpx.AsyncClient]:
    app = Starlette(routes=server.routes())
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://site") as client:
        yield client


def basic(user: str, password: str, encoding: str = "utf-8") -> dict[str, str]:
    token = base64.b64encode(f"{user}:{password}".encode(encoding)).decode()
    return {"Authorization": f"Basic {token}"}


async def login(http: httpx.AsyncClient, kind: str = "catalog") -> None:
    answer = await http.get(
        URL, params={"type": kind, "mode": "checkauth"}, headers=basic("обмен", "secret")
    )
    lines = answer.text.split("\n")
    assert lines[:2] == ["success", COOKIE] and len(lines[2]) == 32
    http.cookies.set(lines[1], lines[2])


async def call(http: httpx.AsyncClient, mode: str, body: bytes | None = None, **params: str) -> str:
    query = {"type": params.pop("type", "catalog"), "mode": mode, **params}
    if body is None:
        return (await http.get(URL, params=query)).text
    return (await http.post(URL, params=query, content=body)).text


async def test_checkauth_gives_a_cookie_and_init_the_limits(http: httpx.AsyncClient) -> None:
    await login(http)
    assert await call(http, "init") == "zip=no\nfile_limit=65536"


async def test_checkauth_accepts_credentials_in_windows_1251_from_older_1c(
    http: httpx.AsyncClient,
) -> None:
    answer = await http.get(
        URL,
        params={"type": "sale", "mode": "checkauth"},
        headers=basic("обмен", "secret", "cp1251"),
    )
    assert answer.text.startswith("success\n")


async def test_without_credentials_1c_is_asked_for_them(http: httpx.AsyncClient) -> None:
    answer = await http.get(URL, params={"type": "catalog", "mode": "checkauth"})
    assert answer.status_code == 401
    assert answer.headers["www-authenticate"].startswith("Basic")
    assert answer.text.startswith("failure\n")


async def test_every_other_call_needs_the_session_cookie(http: httpx.AsyncClient) -> None:
    assert (await call(http, "init")).startswith("failure\n")
    http.cookies.set(COOKIE, "0" * 32)
    assert (await call(http, "file", b"<x/>", filename="import.xml")).startswith("failure\n")


async def test_chunks_are_appended_and_unsafe_or_oversized_uploads_fail(
    http: httpx.AsyncClient, server: ExchangeServer
) -> None:
    await login(http)
    await call(http, "init")
    data = (DATA / "import_210_bom.xml").read_bytes()
    half = len(data) // 2
    assert await call(http, "file", data[:half], filename="import.xml") == "success"
    assert await call(http, "file", data[half:], filename="import.xml") == "success"
    assert await call(http, "import", filename="import.xml") == "success"

    for name in ("../import.xml", "/etc/passwd", "a/../../b.xml", "C:\\x.xml"):
        answer = await call(http, "file", b"x", filename=name)
        assert answer.startswith("failure\nunsafe file name"), name
    too_big = await call(http, "file", b"x" * 65537, filename="offers.xml")
    assert too_big.startswith("failure\n") and "file_limit" in too_big


async def test_import_of_a_file_never_uploaded_or_a_broken_archive_fails(
    http: httpx.AsyncClient,
) -> None:
    await login(http)
    await call(http, "init")
    assert "was not uploaded" in await call(http, "import", filename="offers.xml")
    assert await call(http, "file", b"PK\x03\x04broken", filename="1c.zip") == "success"
    assert "not a valid zip" in await call(http, "import", filename="import.xml")


async def test_a_zip_with_a_path_outside_the_exchange_is_refused(http: httpx.AsyncClient) -> None:
    await login(http)
    await call(http, "init")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as bundle:
        bundle.writestr("../../evil.xml", "<x/>")
    await call(http, "file", buffer.getvalue(), filename="bundle.zip")
    assert "unsafe file name" in await call(http, "import", filename="evil.xml")


async def test_pictures_are_kept_and_answered_success(http: httpx.AsyncClient) -> None:
    await login(http)
    await call(http, "init")
    name = "import_files/5b/5b3b1f20.jpg"
    assert await call(http, "file", b"\xff\xd8\xff", filename=name) == "success"
    assert await call(http, "import", filename=name) == "success"


async def test_a_refused_file_stays_refused_until_uploaded_again(http: httpx.AsyncClient) -> None:
    await login(http)
    await call(http, "init")
    await call(http, "file", b"<?xml version='1.0'?><a><b></a>", filename="import.xml")
    first = await call(http, "import", filename="import.xml")
    assert first.startswith("failure\nimport.xml, line 1")
    assert await call(http, "import", filename="import.xml") == first
    good = (DATA / "import_210_bom.xml").read_bytes()
    await call(http, "file", good, filename="import.xml")
    # the new upload is appended to the broken start: 1C re-runs init first, as it does
    await call(http, "init")
    await call(http, "file", good, filename="import.xml")
    assert await call(http, "import", filename="import.xml") == "success"


async def test_unknown_type_or_mode(http: httpx.AsyncClient) -> None:
    await login(http)
    assert (await call(http, "init", type="stock")).startswith("failure\nunknown type")
    assert (await call(http, "export")).startswith("failure\nunknown mode")
    assert await call(http, "deactivate") == "success"
    assert await call(http, "success", type="sale") == "success"


async def test_a_file_broken_near_its_end_is_refused_before_anything_is_stored(
    sqlite_url: str, tmp_path: Path
) -> None:
    import sqlalchemy as sa

    from bitrix1c.onec.commerceml import Product, write_catalog
    from bitrix1c.state.tables import inbox

    store = await Store.open(sqlite_url)
    config = CommerceMLSettings(username="обмен", password=SecretStr("secret"), import_step=50)
    exchange = ExchangeServer(store, config)
    transport = httpx.ASGITransport(app=Starlette(routes=exchange.routes()))
    buffer = io.BytesIO()
    goods = [Product(id=f"g{i}", name=f"Товар {i}") for i in range(1000)]
    write_catalog(buffer, classifier_id="c", catalog_id="c", name="К", products=goods)
    text = buffer.getvalue().decode()
    broken = text.replace(
        "<Наименование>Товар 990</Наименование>", "<Наименование>Товар 990</Наим>"
    )
    line = broken[: broken.index("</Наим>")].count("\n") + 1
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://site") as http:
            await login(http)
            await call(http, "init")
            await call(http, "file", broken.encode(), filename="import.xml")
            # checked 500 records per call (import_step × 10); the error is in the 991st
            assert await call(http, "import", filename="import.xml") == (
                "progress\nimport.xml: 500 records checked"
            )
            answer = await call(http, "import", filename="import.xml")
            assert answer.startswith(f"failure\nimport.xml, line {line}, <Наименование>")
        async with store.engine.connect() as conn:
            assert (await conn.execute(sa.select(sa.func.count()).select_from(inbox))).scalar() == 0
    finally:
        exchange.close()
        await store.close()
