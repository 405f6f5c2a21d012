"""The server side of 1C's "exchange with site" (CommerceML 2.x over HTTP).

1C is always the one who calls; every request is ``GET`` or ``POST`` on one path with
``type=catalog|sale`` and ``mode=…`` (reference/onec.md §3.2):

==========  ==========================================================================
checkauth   Basic auth → ``success\\n<cookie name>\\n<cookie value>``; later calls send the cookie
init        ``zip=yes|no\\nfile_limit=<bytes>``; starts a new exchange (old files dropped)
file        the body is appended to ``filename`` (chunks of one file arrive in order)
import      reads ``filename``: ``progress\\n…`` while records remain, ``success`` at the end
query       (sale) the orders for 1C as CommerceML, in the configured encoding
success     (sale) 1C confirms it received the orders of the last ``query``
==========  ==========================================================================

Errors are answered as ``failure\\n<reason>``. Zip archives (``zip=yes``) are unpacked on the
first ``import`` after them. A file is read twice: first whole, only to check it (a broken
file is refused with its line and element, and nothing of it is stored), then record by
record, ``import_step`` records per ``import`` call (the check goes ten times as fast per
call); until the end every call is answered ``progress``. **Where the records go:** every call
stores one ``inbox`` row — source ``commerceml:<base>``, event ``commerceml.catalog``,
``commerceml.offers`` or ``commerceml.orders``, ``object_id`` ``<file>#<batch>``, and a payload
with the file's header and the batch's records as JSON (``kind`` = product, offer, …).
"""

from __future__ import annotations

import base64
import binascii
import hmac
import io
import itertools
import secrets
import shutil
import tempfile
import time
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Protocol

import anyio.to_thread
import structlog
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bitrix1c.onec.commerceml import (
    CommerceMLError,
    CommerceMLReader,
    FileHeader,
    Order,
    Record,
    write_orders,
)
from bitrix1c.settings import CommerceMLSettings
from bitrix1c.state.store import Store, utcnow
from bitrix1c.state.tables import inbox

log = structlog.get_logger(__name__)

COOKIE = "BITRIX1C_EXCHANGE"
PATHS = ("/exchange/1c", "/bitrix/admin/1c_exchange.php")
SESSION_IDLE_SECONDS = 3600
MAX_UNPACKED = 4 * 1024**3  # refuse archives that unpack to more (zip bombs)
CHECK_FACTOR = 10  # records checked per import call = import_step × this


class OrdersSource(Protocol):
    """Where the orders given to 1C come from, and who hears that 1C took them."""

    async def orders_for_1c(self) -> Sequence[Order]: ...

    async def orders_delivered(self, orders: Sequence[Order]) -> None: ...


class NoOrders:
    """No orders to give (catalog-only exchange)."""

    async def orders_for_1c(self) -> Sequence[Order]:
        return ()

    async def orders_delivered(self, orders: Sequence[Order]) -> None:
        return None


@dataclass
class _Import:
    name: str
    checker: CommerceMLReader  # first pass: the whole file is checked, nothing kept
    check: Iterator[Record]
    checked: int = 0
    header: FileHeader | None = None
    records: Iterator[Record] | None = None  # second pass: the records stored
    batches: int = 0
    done: int = 0


@dataclass
class _Session:
    id: str
    dir: Path
    last_seen: float
    imports: dict[str, _Import] = field(default_factory=dict)
    imported: set[str] = field(default_factory=set)
    failed: dict[str, str] = field(default_factory=dict)
    sent: Sequence[Order] | None = None


class ExchangeFailure(Exception):
    """Answered to 1C as ``failure\\n<reason>``."""


def _text(body: str, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(body, status, headers, media_type="text/plain; charset=utf-8")


def _credentials(header: str | None) -> tuple[str, str] | None:
    scheme, _, value = (header or "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        raw = base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError):
        return None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("cp1251")  # older 1C releases encode Basic auth in windows-1251
    user, sep, password = text.partition(":")
    return (user, password) if sep else None


def _safe_name(filename: str | None) -> str:
    if not filename:
        raise ExchangeFailure("the filename parameter is missing")
    path = PurePosixPath(filename.replace("\\", "/"))
    if path.is_absolute() or any(part in ("", "..") for part in path.parts) or ":" in filename:
        raise ExchangeFailure(f"unsafe file name {filename!r}")
    return str(path)


def _event(header: FileHeader) -> str:
    if "Документ" in header.sections:
        return "commerceml.orders"
    if "ПакетПредложений" in header.sections or "ИзмененияПакетаПредложений" in header.sections:
        return "commerceml.offers"
    return "commerceml.catalog"


def _take(records: Iterator[Record], count: int) -> list[Record]:
    return list(itertools.islice(records, count))


def _count(records: Iterator[Record], limit: int) -> int:
    return sum(1 for _ in itertools.islice(records, limit))


class ExchangeServer:
    """Serves the exchange protocol for one 1C base; sessions live in memory."""

    def __init__(
        self,
        store: Store,
        settings: CommerceMLSettings,
        *,
        orders: OrdersSource | None = None,
    ) -> None:
        self.store = store
        self.settings = settings
        self.orders: OrdersSource = orders or NoOrders()
        self.source = f"commerceml:{settings.base or 'default'}"
        self._sessions: dict[str, _Session] = {}
        self._own_dir = settings.work_dir is None
        self.work_dir = settings.work_dir or Path(tempfile.mkdtemp(prefix="bitrix1c-cml-"))

    def routes(self, paths: Sequence[str] = PATHS) -> list[Route]:
        return [Route(path, self.handle, methods=["GET", "POST"]) for path in paths]

    def close(self) -> None:
        """Drop the sessions and their files."""
        for session in self._sessions.values():
            shutil.rmtree(session.dir, ignore_errors=True)
        self._sessions.clear()
        if self._own_dir:
            shutil.rmtree(self.work_dir, ignore_errors=True)

    # --- dispatch -----------------------------------------------------------------------

    async def handle(self, request: Request) -> Response:
        kind = request.query_params.get("type", "")
        mode = request.query_params.get("mode", "")
        if kind not in ("catalog", "sale"):
            return _text(f"failure\nunknown type {kind!r}: expected catalog or sale")
        if mode == "checkauth":
            return self._checkauth(request)
        session = self._session(request)
        if session is None:
            return _text("failure\nno exchange session: call mode=checkauth first")
        session.last_seen = time.monotonic()
        try:
            if mode == "init":
                return self._init(session)
            if mode == "file":
                return await self._file(request, session, kind)
            if mode == "import":
                return await self._import(request, session)
            if kind == "sale" and mode == "query":
                return await self._query(session)
            if mode == "success":
                if kind == "sale" and session.sent is not None:
                    await self.orders.orders_delivered(session.sent)
                    session.sent = None
                return _text("success")
            if mode in ("deactivate", "complete"):
                return _text("success")
            return _text(f"failure\nunknown mode {mode!r}")
        except ExchangeFailure as exc:
            log.warning("commerceml.failure", mode=mode, reason=str(exc))
            return _text(f"failure\n{exc}")

    # --- modes --------------------------------------------------------------------------

    def _checkauth(self, request: Request) -> Response:
        given = _credentials(request.headers.get("authorization"))
        expected = (self.settings.username, self.settings.password.get_secret_value())
        ok = given is not None and all(
            hmac.compare_digest(a.encode("utf-8"), b.encode("utf-8"))
            for a, b in zip(given, expected, strict=True)
        )
        if not ok:
            log.warning("commerceml.unauthorized", client=request.client and request.client.host)
            return _text(
                "failure\nwrong user name or password",
                401,
                {"WWW-Authenticate": 'Basic realm="bitrix1c", charset="UTF-8"'},
            )
        self._expire()
        sid = secrets.token_hex(16)
        folder = self.work_dir / sid
        folder.mkdir(parents=True)
        self._sessions[sid] = _Session(sid, folder, time.monotonic())
        response = _text(f"success\n{COOKIE}\n{sid}\nsessid={sid}")
        response.set_cookie(COOKIE, sid, httponly=True, samesite="strict")
        return response

    def _session(self, request: Request) -> _Session | None:
        sid = request.cookies.get(COOKIE)
        return self._sessions.get(sid) if sid else None

    def _expire(self) -> None:
        limit = time.monotonic() - SESSION_IDLE_SECONDS
        for sid, session in list(self._sessions.items()):
            if session.last_seen < limit:
                shutil.rmtree(session.dir, ignore_errors=True)
                del self._sessions[sid]

    def _init(self, session: _Session) -> Response:
        # A new exchange: files of an earlier one in this session are gone.
        shutil.rmtree(session.dir, ignore_errors=True)
        session.dir.mkdir(parents=True)
        session.imports.clear()
        session.imported.clear()
        session.failed.clear()
        zip_flag = "yes" if self.settings.zip else "no"
        return _text(f"zip={zip_flag}\nfile_limit={self.settings.file_limit}")

    async def _file(self, request: Request, session: _Session, kind: str) -> Response:
        name = _safe_name(request.query_params.get("filename"))
        target = session.dir / name
        target.parent.mkdir(parents=True, exist_ok=True)
        session.imported.discard(name)
        session.failed.pop(name, None)
        session.imports.pop(name, None)
        size = 0
        with target.open("ab") as out:
            async for chunk in request.stream():
                size += len(chunk)
                if size > self.settings.file_limit:
                    out.close()
                    target.unlink(missing_ok=True)
                    raise ExchangeFailure(
                        f"{name}: a chunk larger than file_limit={self.settings.file_limit} bytes"
                    )
                out.write(chunk)
        log.info("commerceml.file", file=name, bytes=size, type=kind)
        return _text("success")

    async def _import(self, request: Request, session: _Session) -> Response:
        name = _safe_name(request.query_params.get("filename"))
        if name in session.imported:
            return _text("success")
        if name in session.failed:
            raise ExchangeFailure(session.failed[name])
        await anyio.to_thread.run_sync(self._unpack, session)
        path = session.dir / name
        if not path.is_file():
            raise ExchangeFailure(f"{name} was not uploaded (mode=file) in this exchange")
        if not name.lower().endswith(".xml"):
            session.imported.add(name)  # pictures and other attachments: kept, not parsed
            return _text("success")
        job = session.imports.get(name)
        if job is None:
            checker = CommerceMLReader(path, name=name)
            job = session.imports[name] = _Import(name, checker, iter(checker))
        step = self.settings.import_step
        try:
            if job.records is None:
                # Checked in steps too, so that no answer waits for a whole large file.
                limit = step * CHECK_FACTOR
                counted = await anyio.to_thread.run_sync(_count, job.check, limit)
                job.checked += counted
                if counted == limit:
                    return _text(f"progress\n{name}: {job.checked} records checked")
                job.header = job.checker.header
                job.records = iter(CommerceMLReader(path, name=name))
            batch = await anyio.to_thread.run_sync(_take, job.records, step)
        except CommerceMLError as exc:
            session.imports.pop(name, None)
            session.failed[name] = str(exc)
            log.warning("commerceml.refused", file=name, error=str(exc))
            raise ExchangeFailure(str(exc)) from None
        if batch:
            job.batches += 1
            job.done += len(batch)
            await self._store_batch(session, job, batch)
        if len(batch) < step or job.done >= job.checked:
            session.imports.pop(name, None)
            session.imported.add(name)
            log.info("commerceml.imported", file=name, records=job.done, batches=job.batches)
            return _text("success")
        return _text(f"progress\n{name}: {job.done} of {job.checked} records imported")

    async def _store_batch(self, session: _Session, job: _Import, batch: list[Record]) -> None:
        header = job.header
        assert header is not None
        payload: dict[str, Any] = {
            "file": job.name,
            "batch": job.batches,
            "session": session.id,
            "schema_version": header.schema_version,
            "generated_at": header.generated_at,
            "only_changes": header.only_changes,
            "classifier_id": header.classifier_id,
            "catalog_id": header.catalog_id,
            "offers_id": header.offers_id,
            "records": [record.as_json() for record in batch],
        }
        async with self.store.transaction() as conn:
            await conn.execute(
                inbox.insert().values(
                    source=self.source,
                    event=_event(header),
                    object_type="commerceml",
                    object_id=f"{job.name}#{job.batches}"[-100:],
                    payload=payload,
                    status="new",
                    attempts=0,
                    received_at=utcnow(),
                )
            )

    def _unpack(self, session: _Session) -> None:
        for archive in sorted(session.dir.rglob("*.zip")):
            try:
                with zipfile.ZipFile(archive) as bundle:
                    members = [m for m in bundle.infolist() if not m.is_dir()]
                    if sum(m.file_size for m in members) > MAX_UNPACKED:
                        raise ExchangeFailure(f"{archive.name}: unpacks to more than allowed")
                    for member in members:
                        name = _safe_name(member.filename)
                        target = session.dir / name
                        target.parent.mkdir(parents=True, exist_ok=True)
                        with bundle.open(member) as src, target.open("wb") as dst:
                            shutil.copyfileobj(src, dst)
            except zipfile.BadZipFile:
                raise ExchangeFailure(f"{archive.name} is not a valid zip archive") from None
            finally:
                archive.unlink(missing_ok=True)

    async def _query(self, session: _Session) -> Response:
        orders = list(await self.orders.orders_for_1c())
        buffer = io.BytesIO()
        encoding = self.settings.orders_encoding
        write_orders(buffer, orders, encoding=encoding)
        session.sent = orders
        log.info("commerceml.query", orders=len(orders))
        return Response(buffer.getvalue(), media_type=f"application/xml; charset={encoding}")


def routes(
    store: Store,
    settings: CommerceMLSettings,
    *,
    orders: OrdersSource | None = None,
    paths: Sequence[str] = PATHS,
) -> list[Route]:
    """The exchange routes (``/exchange/1c`` and the Bitrix-style path) for ``settings``."""
    return ExchangeServer(store, settings, orders=orders).routes(paths)
