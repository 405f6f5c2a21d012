"""The 1C OData emulator served by uvicorn on a real socket, driven with httpx."""

from __future__ import annotations

import socket
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import defusedxml.ElementTree as ET
import httpx
import pytest
import uvicorn

from bitrix1c.sandbox.onec import OneCBase, create_app, populate_ut11
from bitrix1c.sandbox.seed import SeedCounterparty, SeedPerson

LOGIN = "ОбменOData"  # a Cyrillic login: must be sent UTF-8 encoded
KONTR = "Catalog_Контрагенты"
COUNT = 1000


def seed(i: int) -> SeedCounterparty:
    return SeedCounterparty(
        ref_key=str(uuid.uuid5(uuid.NAMESPACE_OID, f"http-c{i}")),
        partner_ref_key=str(uuid.uuid5(uuid.NAMESPACE_OID, f"http-p{i}")),
        kind=("legal", "ip", "individual")[i % 3],  # type: ignore[arg-type]
        name=f"Контрагент {i}",
        full_name=f'ООО "Контрагент {i}"',
        inn=f"50{i:08d}",
        kpp="500101001",
        ogrn="1025000000000",
        okpo="87654321",
        address="141400, Московская обл., г. Химки, ул. Мира, д. 5",
        phones=("+7 (495) 765-43-21",),
        emails=(f"mail{i}@example.ru",),
        contacts=(
            SeedPerson(
                str(uuid.uuid5(uuid.NAMESPACE_OID, f"http-k{i}")),
                "Петров",
                "Пётр",
                "Петрович",
                "Бухгалтер",
                (),
                (),
            ),
        ),
    )


@contextmanager
def serve(base: OneCBase) -> Iterator[str]:
    """Run the app with uvicorn on a free 127.0.0.1 port; yield the OData root URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(create_app({base.name: base}), log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}/{base.name}/odata/standard.odata"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


@pytest.fixture(scope="module")
def db_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("onec") / "trade.sqlite"


@pytest.fixture(scope="module")
def running(db_path: Path) -> Iterator[tuple[str, OneCBase]]:
    base = OneCBase(db_path, name="trade", username=LOGIN)
    populate_ut11(base, [seed(i) for i in range(COUNT)])
    with serve(base) as root:
        yield root, base
    base.close()


@pytest.fixture
def client(running: tuple[str, OneCBase]) -> Iterator[httpx.Client]:
    root, base = running
    with httpx.Client(base_url=root, auth=(LOGIN, base.password), timeout=30) as c:
        yield c


def test_unauthorized_without_or_with_wrong_credentials(running: tuple[str, OneCBase]) -> None:
    root, base = running
    for auth in (None, (LOGIN, "wrong"), ("odata.user", base.password)):
        r = httpx.get(f"{root}/{KONTR}?$format=json", auth=auth)
        assert r.status_code == 401
        assert r.headers["www-authenticate"] == 'Basic realm="1C:Enterprise 8.3"'
    cp1251 = httpx.get(
        f"{root}/",
        headers={
            "Authorization": "Basic "
            + __import__("base64").b64encode(f"{LOGIN}:{base.password}".encode("cp1251")).decode()
        },
    )
    assert cp1251.status_code == 401


def test_service_document_and_metadata(client: httpx.Client) -> None:
    doc = client.get("/?$format=json")
    assert doc.status_code == 200
    assert doc.json()["odata.metadata"].endswith("/trade/odata/standard.odata")
    assert {"name": KONTR, "url": KONTR} in doc.json()["value"]
    atom = client.get("/")
    assert atom.headers["content-type"].startswith("application/atomsvc+xml")
    ET.fromstring(atom.content)
    meta = client.get("/$metadata")
    assert meta.status_code == 200 and meta.headers["content-type"].startswith("application/xml")
    root = ET.fromstring(meta.content)
    names = {
        e.get("Name") for e in root.iter("{http://schemas.microsoft.com/ado/2009/11/edm}EntitySet")
    }
    assert {
        KONTR,
        "Catalog_Партнеры",
        "Catalog_КонтактныеЛицаПартнеров",
        "Catalog_Контрагенты_КонтактнаяИнформация",
        "Document_ЗаказКлиента",
    } <= names
    bad = client.get("/$metadata?$format=json")
    assert bad.status_code == 406 and bad.json()["odata.error"]["code"] == "3"


def test_paging_through_all_counterparties(client: httpx.Client) -> None:
    seen: list[str] = []
    skip = 0
    while True:
        r = client.get(
            f"/{KONTR}?$format=json&$orderby=Ref_Key&$top=300&$skip={skip}"
            "&$inlinecount=allpages&$select=Ref_Key,Description,ИНН&allowedOnly=true"
        )
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["odata.metadata"].endswith(f"/$metadata#{KONTR}")
        assert body["odata.count"] == str(COUNT)
        page = body["value"]
        assert all(set(row) == {"Ref_Key", "Description", "ИНН"} for row in page)
        seen += [row["Ref_Key"] for row in page]
        if len(page) < 300:
            break
        skip += 300
    assert seen == sorted(seen) and set(seen) == {seed(i).ref_key for i in range(COUNT)}
    count = client.get(f"/{KONTR}/$count?$filter=ЮрФизЛицо%20eq%20'ФизЛицо'")
    assert count.status_code == 200 and count.text == str(len(range(2, COUNT, 3)))


def test_filter_by_inn_and_contact_rows(client: httpx.Client) -> None:
    r = client.get(
        f"/{KONTR}?$format=json&$filter=ИНН eq '5000000042' and DeletionMark eq false"
        "&$select=Ref_Key,Description,ИНН,КПП,НаименованиеПолное,Партнер_Key"
    )
    assert r.status_code == 200, r.text
    (row,) = r.json()["value"]
    assert row["Ref_Key"] == seed(42).ref_key and row["Партнер_Key"] == seed(42).partner_ref_key
    partner = client.get(f"/Catalog_Партнеры(guid'{row['Партнер_Key']}')?$format=json")
    assert partner.json()["odata.metadata"].endswith("/$metadata#Catalog_Партнеры/@Element")
    assert partner.json()["Клиент"] is True
    persons = client.get(
        "/Catalog_КонтактныеЛицаПартнеров?$format=json"
        f"&$filter=Owner_Key eq guid'{row['Партнер_Key']}'"
    )
    assert [p["Description"] for p in persons.json()["value"]] == ["Петров Пётр Петрович"]
    rows = client.get(
        f"/{KONTR}_КонтактнаяИнформация?$format=json&$filter=Ref_Key eq guid'{row['Ref_Key']}'"
    ).json()["value"]
    assert [(r["LineNumber"], r["Тип"]) for r in rows] == [
        ("1", "Телефон"),
        ("2", "АдресЭлектроннойПочты"),
        ("3", "Адрес"),
    ]


def test_query_errors_over_http(client: httpx.Client) -> None:
    plus = client.get(f"/{KONTR}?$format=json&$filter=ИНН+eq+'5000000042'")
    assert plus.status_code == 400 and plus.json()["odata.error"]["code"] == "14"
    lower = client.get(f"/{KONTR}?$format=json&$filter=tolower(Description) eq 'x'")
    assert lower.status_code == 400 and lower.json()["odata.error"]["code"] == "14"
    unknown = client.get("/Catalog_НетТакого?$format=json")
    assert unknown.status_code == 404 and unknown.json()["odata.error"]["code"] == "6"
    select = client.get(f"/{KONTR}?$format=json&$select=НетТакого")
    assert (
        select.status_code == 400
        and "НетТакого" in select.json()["odata.error"]["message"]["value"]
    )
    missing = client.get(f"/{KONTR}(guid'{uuid.uuid4()}')?$format=json")
    assert missing.status_code == 404
    assert missing.json() == {
        "odata.error": {
            "code": "9",
            "message": {
                "lang": "ru",
                "value": 'Экземпляр сущности "Контрагенты" не найден по переданному ключу.',
            },
        }
    }
    xml = client.get("/Catalog_НетТакого")
    assert xml.status_code == 404 and b"<m:code>6</m:code>" in xml.content


def test_post_patch_get_delete(client: httpx.Client, running: tuple[str, OneCBase]) -> None:
    root, _ = running
    body = {
        "Description": "Новый клиент",
        "ИНН": "7707083893",
        "ЮрФизЛицо": "ЮрЛицо",
        "НеизвестноеПоле": 1,
        "КонтактнаяИнформация": [
            {"LineNumber": "1", "Тип": "Телефон", "Представление": "+7 900 000-00-00"}
        ],
    }
    created = client.post(f"/{KONTR}?$format=json", json=body)
    assert created.status_code == 201, created.text
    entity = created.json()
    ref = entity["Ref_Key"]
    assert entity["odata.metadata"].endswith(f"/$metadata#{KONTR}/@Element")
    assert entity["DataVersion"] == "AAAAAAAAAAA=" and "НеизвестноеПоле" not in entity
    location = dict(created.headers.raw)[b"location"]
    assert location == f"{root}/{KONTR}(guid'{ref}')".encode()  # raw UTF-8, not %-encoded
    patched = client.patch(
        f"/{KONTR}(guid'{ref}')?$format=json",
        json={"КПП": "770701001"},
        headers={"If-Match": "stale"},
    )
    assert patched.status_code == 200
    assert (patched.json()["КПП"], patched.json()["ИНН"]) == ("770701001", "7707083893")
    assert patched.json()["DataVersion"] == "AAAAAAAAAAE="
    assert len(patched.json()["КонтактнаяИнформация"]) == 1
    gap = client.patch(
        f"/{KONTR}(guid'{ref}')?$format=json",
        json={"КонтактнаяИнформация": [{"LineNumber": "1"}, {"LineNumber": "3"}]},
    )
    assert gap.status_code == 400
    no_number = client.patch(
        f"/{KONTR}(guid'{ref}')?$format=json", json={"КонтактнаяИнформация": [{"Тип": "Телефон"}]}
    )
    assert no_number.status_code == 500 and no_number.json()["odata.error"]["code"] == "-1"
    broken = client.patch(f"/{KONTR}(guid'{ref}')?$format=json", content=b"{broken")
    assert broken.status_code == 500
    got = client.get(f"/{KONTR}(guid'{ref}')?$format=json&$select=КПП,DataVersion")
    assert got.json() == {
        "odata.metadata": got.json()["odata.metadata"],
        "КПП": "770701001",
        "DataVersion": "AAAAAAAAAAE=",
    }
    atom = client.get(f"/{KONTR}(guid'{ref}')")
    assert atom.headers["content-type"].startswith("application/atom+xml")
    assert ET.fromstring(atom.content).tag == "{http://www.w3.org/2005/Atom}entry"
    row = client.get(
        f"/{KONTR}_КонтактнаяИнформация(Ref_Key=guid'{ref}',LineNumber=1)?$format=json"
    )
    assert row.status_code == 200 and row.json()["LineNumber"] == "1"
    ts_post = client.post(f"/{KONTR}_КонтактнаяИнформация?$format=json", json={})
    assert ts_post.json()["odata.error"]["code"] == "13"
    order = client.post(
        "/Document_ЗаказКлиента?$format=json",
        json={
            "Партнер_Key": seed(1).partner_ref_key,
            "Товары": [{"LineNumber": "1", "Количество": 2, "Цена": 100, "Сумма": 200}],
        },
    ).json()
    posted = client.post(
        f"/Document_ЗаказКлиента(guid'{order['Ref_Key']}')/Post?PostingModeOperational=false"
    )
    assert posted.status_code == 200
    again = client.get(f"/Document_ЗаказКлиента(guid'{order['Ref_Key']}')?$format=json").json()
    assert again["Posted"] is True and again["Товары"][0]["Сумма"] == 200
    assert client.delete(f"/Document_ЗаказКлиента(guid'{order['Ref_Key']}')").status_code == 204
    assert client.get(f"/Document_ЗаказКлиента(guid'{order['Ref_Key']}')").status_code == 404


def test_restart_keeps_data_and_password(tmp_path: Path) -> None:
    path = tmp_path / "restart.sqlite"
    base = OneCBase(path, name="retail", username=LOGIN)
    populate_ut11(base, [seed(i) for i in range(20)])
    password = base.password
    with serve(base) as root, httpx.Client(base_url=root, auth=(LOGIN, password)) as c:
        ref = c.post(f"/{KONTR}?$format=json", json={"Description": "Переживёт рестарт"}).json()[
            "Ref_Key"
        ]
        c.patch(f"/{KONTR}(guid'{ref}')?$format=json", json={"ИНН": "7707083893"})
    base.close()
    restarted = OneCBase(path, name="retail", username=LOGIN)  # no password given
    assert restarted.password == password
    with serve(restarted) as root, httpx.Client(base_url=root, auth=(LOGIN, password)) as c:
        r = c.get(f"/{KONTR}(guid'{ref}')?$format=json")
        assert r.status_code == 200
        assert (r.json()["Description"], r.json()["ИНН"]) == ("Переживёт рестарт", "7707083893")
        assert r.json()["DataVersion"] == "AAAAAAAAAAE="
        assert c.get(f"/{KONTR}/$count").text == "21"  # 20 seeded + the new one
    restarted.close()


async def test_a_renamed_attribute_as_the_integration_client_sees_it(tmp_path: Path) -> None:
    """Switched at run time over HTTP: $metadata shows the new name, a read by the old one
    fails like real 1C (400, code 6), and switching it off gives the base back."""
    from bitrix1c.errors import OneCRequestError
    from bitrix1c.onec.metadata import parse_metadata
    from bitrix1c.onec.odata import ODataClient

    base = OneCBase(tmp_path / "renamed.sqlite", name="trade", username=LOGIN)
    populate_ut11(base, [seed(i) for i in range(3)])
    with serve(base) as root:
        switch = f"{root.split('/trade/')[0]}/_sandbox/faults"
        rename = {f"{KONTR}.КодПоОКПО": "КодПоОКПО_Удалить"}
        assert httpx.post(switch, json={"rename": rename}).json()["trade"]["rename"] == rename
        client = ODataClient(root + "/", LOGIN, base.password, base="trade")
        try:
            raw = await client.request("GET", "$metadata", expect_json=False)
            properties = parse_metadata(raw).properties(KONTR)
            assert "КодПоОКПО_Удалить" in properties and "КодПоОКПО" not in properties
            with pytest.raises(OneCRequestError) as caught:
                async for _page in client.pages(KONTR, select=["Ref_Key", "КодПоОКПО"]):
                    pass
            assert (caught.value.status, caught.value.code) == (400, "6")
            rows = [
                row
                async for page in client.pages(KONTR, select=["Ref_Key", "КодПоОКПО_Удалить"])
                for row in page
            ]
            assert {row["КодПоОКПО_Удалить"] for row in rows} == {"87654321"}

            httpx.post(switch, json={"clear": True}).raise_for_status()
            rows = [
                row
                async for page in client.pages(KONTR, select=["Ref_Key", "КодПоОКПО"])
                for row in page
            ]
            assert {row["КодПоОКПО"] for row in rows} == {"87654321"}
        finally:
            await client.aclose()
    base.close()
