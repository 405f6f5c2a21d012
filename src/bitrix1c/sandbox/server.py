"""Run the Bitrix24 and 1C emulators as local HTTP servers, seeded on first start.

``Sandbox`` runs inside the caller's event loop (the CLI, the demo); ``SandboxThread``
runs it in a background thread with its own loop (tests, benchmarks).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import socket
import threading
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import structlog
import uvicorn

from bitrix1c.sandbox.bitrix24 import Portal
from bitrix1c.sandbox.bitrix24 import create_app as create_bitrix24_app
from bitrix1c.sandbox.onec import OneCBase, populate_ut11
from bitrix1c.sandbox.onec import create_app as create_onec_app
from bitrix1c.sandbox.seed import SeedCounterparty, generate_counterparties

log = structlog.get_logger(__name__)

BASE_NAME = "trade"
DEFAULT_SCALE = 300
# Share of 1C counterparties that already exist in the portal (entered by managers).
PRESEEDED_SHARE = 0.1
# Share typed without any requisite: the first run proposes them for review.
PRESEEDED_WITHOUT_REQUISITE_SHARE = 0.05


@dataclass(frozen=True)
class Endpoints:
    """Everything a client needs to connect to the sandbox."""

    bitrix24_webhook_url: str
    bitrix24_plan: str
    onec_base: str
    onec_odata_url: str
    onec_username: str
    onec_password: str
    onec_profile: str

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, indent=2)

    @classmethod
    def from_file(cls, path: Path) -> Endpoints:
        return cls(**json.loads(path.read_text(encoding="utf-8")))


class QuietServer(uvicorn.Server):
    # The owner of the event loop handles Ctrl-C; uvicorn must not take the signals.
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def _listen(port: int) -> socket.socket:
    # With an explicit IPPROTO_TCP asyncio sets TCP_NODELAY; without it every keep-alive
    # reply waits ~40 ms for Nagle's algorithm.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def _preseed_portal(portal: Portal, counterparties: list[SeedCounterparty], seed: int) -> int:
    """Companies managers entered by hand before the integration: many are 1C clients.

    About 10 % of the 1C legal entities were typed with their requisite (INN and KPP) under
    another spelling of the name: the first run links them by INN+KPP. About 5 % of the
    counterparties were typed without any requisite — name in another order, quotes or
    script, a phone in another format: the first run puts them into the review queue as
    suggestions instead of creating a second company. A few companies are no 1C client
    at all and stay as they are.
    """
    rnd = random.Random(seed)
    added = 0
    for cp in counterparties:
        draw = rnd.random()
        if cp.kind == "legal" and not cp.is_branch and draw < PRESEEDED_SHARE:
            title = _typed_name(cp.name, rnd)
            requisite = {"PRESET_ID": 1, "NAME": title, "RQ_INN": cp.inn, "RQ_KPP": cp.kpp}
            _add_company(portal, title, requisite=requisite)
        elif not cp.is_branch and draw > 1 - PRESEEDED_WITHOUT_REQUISITE_SHARE:
            phones = [_typed_phone(cp.phones[0])] if cp.phones and rnd.random() < 0.5 else []
            _add_company(portal, _typed_name(cp.name, rnd), phones=phones)
        else:
            continue
        added += 1
    unrelated = max(2, len(counterparties) // 50)
    for n in range(unrelated):
        title = f"{UNRELATED_NAMES[n % len(UNRELATED_NAMES)]} {n // len(UNRELATED_NAMES) or ''}"
        _add_company(portal, title.strip(), phones=[f"+7 (800) 555-{n // 100:02d}-{n % 100:02d}"])
    return added + unrelated


# Clients of the CRM that are not (yet) in 1C: leads that became companies.
UNRELATED_NAMES = (
    "Кофейня на Лесной",
    "Студия танца Грация",
    "Автосервис Поршень",
    "Цветочная лавка Флоренция",
    "Барбершоп Борода",
    "Ветклиника Айболит",
    "Школа английского Oxford Club",
    "Фитнес-клуб Атлет",
)


def _typed_name(name: str, rnd: random.Random) -> str:
    """How a manager might type a 1C name: form after it, other quotes, case, Latin."""
    form, _, core = name.partition(" ")
    core = core.strip('"«»')
    if form not in ("ООО", "АО", "ПАО", "ЗАО", "ИП"):
        words = name.split()
        return " ".join(words[1:2] + words[:1] + words[2:])  # "Иван Петров Сергеевич"
    style = rnd.randrange(4)
    if style == 0:
        return f"{core} {form}"
    if style == 1:
        return f"{form} «{core}»"
    if style == 2:
        return f"{form} {core.upper()}"
    latin = {"ООО": "LLC", "АО": "JSC", "ПАО": "PJSC", "ЗАО": "CJSC", "ИП": "IE"}[form]
    return f"{_latin(core)} {latin}"


def _latin(text: str) -> str:
    table = dict(zip("абвгдеёжзийклмнопрстуфхцчшщъыьэюя", _LATIN_LETTERS, strict=True))
    return "".join(
        table.get(ch.lower(), ch).capitalize() if ch.isupper() else table.get(ch, ch) for ch in text
    )


_LATIN_LETTERS = (
    ("a b v g d e yo zh z i y k l m n o p r s t u f kh ts ch sh shch _ y _ e yu ya")
    .replace("_", "")
    .split(" ")
)


def _typed_phone(phone: str) -> str:
    digits = "".join(ch for ch in phone.split("доб")[0] if ch.isdigit())[-10:]
    return f"8 ({digits[:3]}) {digits[3:6]}-{digits[6:8]}-{digits[8:]}"


def _add_company(
    portal: Portal,
    title: str,
    *,
    requisite: dict[str, Any] | None = None,
    phones: list[str] | None = None,
) -> int:
    fields: dict[str, Any] = {"TITLE": title, "COMPANY_TYPE": "CUSTOMER", "ASSIGNED_BY_ID": 1}
    if phones:
        fields["PHONE"] = [{"VALUE": p, "VALUE_TYPE": "WORK"} for p in phones]
    company_id = int(portal.call("crm.company.add", {"fields": fields})["result"])
    if requisite is not None:
        portal.call(
            "crm.requisite.add",
            {"fields": {"ENTITY_TYPE_ID": 4, "ENTITY_ID": company_id, **requisite}},
        )
    return company_id


class Sandbox:
    """A Bitrix24 portal and one УТ 11 base, served on 127.0.0.1."""

    def __init__(
        self,
        state_dir: Path | None = None,
        *,
        scale: int = DEFAULT_SCALE,
        bitrix24_port: int = 0,
        onec_port: int = 0,
        seed: int = 1,
        plan: str = "standard",
        drain_per_second: float | None = None,
        burst: int | None = None,
    ) -> None:
        self.state_dir = state_dir
        self.scale = scale
        self.seed = seed
        self.ports = (bitrix24_port, onec_port)
        self.plan = plan
        if state_dir is not None:
            state_dir.mkdir(parents=True, exist_ok=True)
        self.portal = Portal(
            state_dir / "bitrix24.sqlite" if state_dir else None,
            plan=plan,
            drain_per_second=drain_per_second,
            burst=burst,
        )
        self.base = OneCBase(
            state_dir / "onec-trade.sqlite" if state_dir else None, name=BASE_NAME, predefined=True
        )
        self._servers: list[QuietServer] = []
        self._tasks: list[asyncio.Task[None]] = []
        self.endpoints: Endpoints | None = None

    def seed_if_empty(self) -> bool:
        """Fill both systems on first start; keep existing data on later starts."""
        if not self.base.is_empty():
            return False
        counterparties = list(generate_counterparties(self.scale, seed=self.seed))
        populate_ut11(self.base, counterparties)
        preseeded = _preseed_portal(self.portal, counterparties, self.seed)
        log.info("sandbox.seeded", counterparties=len(counterparties), bitrix24_companies=preseeded)
        return True

    async def start(self) -> Endpoints:
        """Seed if needed, start both servers, return (and save) the endpoints."""
        self.seed_if_empty()
        apps: list[Any] = [
            create_bitrix24_app(self.portal),
            create_onec_app({BASE_NAME: self.base}),
        ]
        ports = []
        for app, port in zip(apps, self.ports, strict=True):
            sock = _listen(port)
            ports.append(sock.getsockname()[1])
            server = QuietServer(uvicorn.Config(app, log_level="warning", lifespan="off"))
            self._servers.append(server)
            self._tasks.append(asyncio.create_task(server.serve(sockets=[sock])))
        for server in self._servers:
            while not server.started:
                await asyncio.sleep(0.01)
        b24_port, onec_port = ports
        # Install payloads and events name the portal by the address it really has.
        self.portal.base_url = f"http://127.0.0.1:{b24_port}"
        self.endpoints = Endpoints(
            bitrix24_webhook_url=(
                f"http://127.0.0.1:{b24_port}/rest/{self.portal.webhook_user_id}/"
                f"{self.portal.webhook_code}/"
            ),
            bitrix24_plan=self.plan,
            onec_base=BASE_NAME,
            onec_odata_url=f"http://127.0.0.1:{onec_port}/{BASE_NAME}/odata/standard.odata/",
            onec_username=self.base.username,
            onec_password=self.base.password,
            onec_profile="ut11",
        )
        if self.state_dir is not None:
            (self.state_dir / "endpoints.json").write_text(
                self.endpoints.to_json(), encoding="utf-8"
            )
        return self.endpoints

    async def stop(self) -> None:
        for server in self._servers:
            server.should_exit = True
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._servers.clear()
        self._tasks.clear()
        self.portal.close()
        self.base.close()


class SandboxThread:
    """The sandbox in a background thread: ``with SandboxThread(dir) as endpoints: …``."""

    def __init__(self, state_dir: Path | None = None, **options: Any) -> None:
        self.state_dir = state_dir
        self.options = options
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None
        self.endpoints: Endpoints | None = None
        self.sandbox: Sandbox | None = None

    def __enter__(self) -> Endpoints:
        self._thread = threading.Thread(target=self._run, name="sandbox", daemon=True)
        self._thread.start()
        self._ready.wait(timeout=120)
        if self._error is not None:
            raise self._error
        assert self.endpoints is not None
        return self.endpoints

    def __exit__(self, *exc: object) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread is not None:
            self._thread.join(timeout=30)

    def _run(self) -> None:
        asyncio.run(self._main())

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        try:
            self.sandbox = Sandbox(self.state_dir, **self.options)
            self.endpoints = await self.sandbox.start()
        except BaseException as exc:
            self._error = exc
            self._ready.set()
            return
        self._ready.set()
        await self._stop.wait()
        await self.sandbox.stop()

    def run(self, func: Any, *args: Any) -> Any:
        """Run ``func(*args)`` on the sandbox's thread (for direct access to its state)."""
        assert self._loop is not None
        future = asyncio.run_coroutine_threadsafe(_call(func, *args), self._loop)
        return future.result(timeout=60)


async def _call(func: Any, *args: Any) -> Any:
    return func(*args)
