"""The HTTP face of the emulator: ``/<base>/odata/standard.odata/…`` for every base.

HTTP Basic authentication with UTF-8 credentials (a Cyrillic login works, as on a real
publication); a missing or wrong login gets ``401`` with
``WWW-Authenticate: Basic realm="1C:Enterprise 8.3"``.  JSON is produced for
``$format=json`` or ``Accept: application/json``, Atom XML otherwise.  ``Location`` of a
``201`` carries the raw UTF-8 URL with Cyrillic letters, as real 1C sends it.
``GET|POST /_sandbox/faults`` reads / changes fault injection (see :mod:`.faults`).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import secrets
from collections.abc import Mapping
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from . import atom
from .base import OneCBase
from .errors import (
    CODE_BAD_URL,
    CODE_INTERNAL,
    CODE_METHOD_NOT_ALLOWED,
    CODE_REPRESENTATION,
    CODE_TS_ROW_CREATE,
    ODataError,
)
from .evaluate import Compiler
from .faults import LOCK_MESSAGE, html_page
from .metadata import service_document_atom, service_document_json
from .options import Projection, QueryOptions, execute, parse_query_string
from .query import parse_expression
from .registers import ACCUMULATION_FUNCTIONS, result_definition, virtual_table
from .resources import Resource, parse_key, parse_resource, slice_table
from .schema import EntitySetDef

__all__ = ["REALM", "create_app"]

REALM = "1C:Enterprise 8.3"
JSON_TYPE = "application/json;charset=utf-8"
_METHODS = ["GET", "POST", "PATCH", "PUT", "MERGE", "DELETE"]


def _json(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    body = json.dumps(data, ensure_ascii=False).encode("utf-8")
    return Response(
        body, status, headers={"DataServiceVersion": "3.0", **(headers or {})}, media_type=JSON_TYPE
    )


def _xml(text: str, media_type: str, status: int = 200) -> Response:
    return Response(
        text.encode("utf-8"), status, headers={"DataServiceVersion": "3.0"}, media_type=media_type
    )


def _error(err: ODataError, as_json: bool) -> Response:
    if as_json:
        return _json(err.json_body(), err.status)
    return _xml(err.xml_body(), "application/xml;charset=utf-8", err.status)


def _unauthorized() -> Response:
    return Response(b"", 401, headers={"WWW-Authenticate": f'Basic realm="{REALM}"'})


def _authorized(request: Request, base: OneCBase) -> bool:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "basic" or not token:
        return False
    try:
        decoded = base64.b64decode(token.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return False
    user, sep, password = decoded.partition(":")
    return (
        bool(sep)
        and secrets.compare_digest(user.encode(), base.username.encode())
        and (secrets.compare_digest(password.encode(), base.password.encode()))
    )


class _Handler:
    """One request against one base."""

    def __init__(self, request: Request, base: OneCBase) -> None:
        self.request = request
        self.base = base
        self.schema = base.schema
        self.params = parse_query_string(request.scope.get("query_string", b""))
        host = request.headers.get("host") or f"{request.url.hostname}:{request.url.port}"
        self.root = f"{request.url.scheme}://{host}/{base.name}/odata/standard.odata"
        accept = request.headers.get("accept", "")
        self.wants_json = "application/json" in accept.lower() or self.params.get(
            "$format", ""
        ).lower().startswith(("json", "application/json"))

    def lookup(self, entity_set: str, key: str) -> dict[str, Any] | None:
        return self.base.lookup(entity_set, key)

    async def dispatch(self) -> Response:
        raw = self.request.scope.get("raw_path") or self.request.scope["path"].encode("utf-8")
        resource = parse_resource(raw)
        method = self.request.method
        if resource.service:
            self._only(method, "GET")
            return self.service_document()
        if resource.metadata:
            self._only(method, "GET")
            fmt = self.params.get("$format", "").lower()
            if fmt and not fmt.startswith(("xml", "application/xml", "atom")):
                raise ODataError(
                    406, CODE_REPRESENTATION, "Запрошенный тип представления не поддерживается"
                )
            return Response(
                self.base.edmx(),
                200,
                media_type="application/xml;charset=utf-8",
                headers={"DataServiceVersion": "3.0"},
            )
        opts = QueryOptions.parse(self.params, self.request.headers.get("accept", ""))
        self.wants_json = opts.json
        assert resource.entity_set is not None
        definition = self.base.definition(resource.entity_set)
        if resource.key_text is None:
            return await self.collection(definition, resource, opts, method)
        return await self.single(definition, resource, opts, method)

    @staticmethod
    def _only(method: str, *allowed: str) -> None:
        if method not in allowed:
            raise ODataError(
                405,
                CODE_METHOD_NOT_ALLOWED,
                "Использованный HTTP-метод запрещен в данном контексте",
            )

    def service_document(self) -> Response:
        fmt = self.params.get("$format")
        if fmt is not None:
            self.wants_json = fmt.lower().startswith(("json", "application/json"))
        if self.wants_json:
            return _json(service_document_json(self.schema, self.root))
        return _xml(
            service_document_atom(self.schema, self.root), "application/atomsvc+xml;charset=utf-8"
        )

    # ------------------------------------------------------------------ collections

    async def collection(
        self, definition: EntitySetDef, resource: Resource, opts: QueryOptions, method: str
    ) -> Response:
        rest = resource.rest
        if method == "POST" and not rest:
            if definition.is_tabular:
                raise ODataError(
                    400,
                    CODE_TS_ROW_CREATE,
                    "Создание строк табличной части напрямую не поддерживается",
                )
            return self.created(definition, await self.body())
        self._only(method, "GET")
        if rest == ["$count"]:
            _, total = self._execute(definition, opts)
            return Response(
                str(total).encode(),
                200,
                media_type="text/plain;charset=utf-8",
                headers={"DataServiceVersion": "3.0"},
            )
        if rest:
            if len(rest) != 1:
                raise ODataError.segment_not_found(rest[1])
            if rest[0].split("(", 1)[0] in ACCUMULATION_FUNCTIONS:
                return self.register_table(definition, rest[0], opts)
            rows = slice_table(
                definition,
                rest[0],
                self.params,
                self.base.rows(definition.name),
                lambda text: Compiler(self.schema, self.lookup, "Condition").predicate(
                    parse_expression(text, "Condition"), definition
                ),
            )
            page, total = execute(
                self.schema,
                self.lookup,
                definition,
                opts,
                lambda: rows,
                lambda spec, build: build(rows),
            )
        else:
            page, total = self._execute(definition, opts)
        projection = Projection(self.schema, self.lookup, definition, opts.select, opts.expand)
        count = total if opts.inlinecount else None
        if not self.wants_json:
            pairs = [(row, projection.apply(row)) for row in page]
            return _xml(
                atom.render_feed(definition, pairs, self.root, count),
                "application/atom+xml;type=feed;charset=utf-8",
            )
        body: dict[str, Any] = {}
        if opts.metadata != "none":
            body["odata.metadata"] = f"{self.root}/$metadata#{definition.name}"
        if count is not None:
            body["odata.count"] = str(count)
        body["value"] = [projection.apply(row) for row in page]
        return _json(body)

    def register_table(
        self, definition: EntitySetDef, segment: str, opts: QueryOptions
    ) -> Response:
        """``AccumulationRegister_X/Balance(…)`` and ``/Turnovers(…)``."""
        records_def = self.schema.sets.get(definition.records_of or "", definition)
        if not records_def.is_register_records:
            raise ODataError(400, "6", "Метод не найден")
        rows = virtual_table(
            records_def,
            segment,
            self.params,
            self.base.rows(records_def.name),
            lambda text: Compiler(self.schema, self.lookup, "Condition").predicate(
                parse_expression(text, "Condition"), records_def
            ),
        )
        result = result_definition(records_def, segment, rows)
        page, total = execute(
            self.schema, self.lookup, result, opts, lambda: rows, lambda spec, build: build(rows)
        )
        projection = Projection(self.schema, self.lookup, result, opts.select, [])
        body: dict[str, Any] = {}
        if opts.metadata != "none":
            body["odata.metadata"] = f"{self.root}/$metadata#{result.name}"
        if opts.inlinecount:
            body["odata.count"] = str(total)
        body["value"] = [projection.apply(row) for row in page]
        return _json(body)

    def _execute(
        self, definition: EntitySetDef, opts: QueryOptions
    ) -> tuple[list[dict[str, Any]], int]:
        name = definition.name
        return execute(
            self.schema,
            self.lookup,
            definition,
            opts,
            lambda: self.base.rows(name),
            lambda spec, build: self.base.derived(name, spec, build),
        )

    async def body(self) -> dict[str, Any]:
        raw = await self.request.body()
        try:
            data = json.loads(raw.decode("utf-8") or "{}")
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ODataError(500, CODE_INTERNAL, "Непредвиденный символ при чтении JSON") from exc
        if not isinstance(data, dict):
            raise ODataError.internal()
        return {
            k: v
            for k, v in data.items()
            if not k.startswith("odata.") and not k.endswith("@odata.type")
        }

    def created(self, definition: EntitySetDef, fields: dict[str, Any]) -> Response:
        entity = self.base.create(definition.name, fields)
        if not definition.is_reference:
            # observed: creating an independent register record answers 200, not 201
            return self.entity_response(definition, entity, None, 200)
        location = f"{self.root}/{atom.entity_key(definition, entity)}"
        response = self.entity_response(definition, entity, None, 201)
        response.raw_headers.append((b"location", location.encode("utf-8")))
        return response

    def entity_response(
        self,
        definition: EntitySetDef,
        entity: dict[str, Any],
        opts: QueryOptions | None,
        status: int = 200,
    ) -> Response:
        select = opts.select if opts else None
        projection = Projection(self.schema, self.lookup, definition, select, [])
        shown = projection.apply(entity)
        if not self.wants_json:
            return _xml(
                atom.render_entry(definition, entity, shown, self.root),
                "application/atom+xml;type=entry;charset=utf-8",
                status,
            )
        body: dict[str, Any] = {}
        if opts is None or opts.metadata != "none":
            body["odata.metadata"] = f"{self.root}/$metadata#{definition.name}/@Element"
        body.update(shown)
        return _json(body, status)

    # ------------------------------------------------------------------ single entity

    async def single(
        self, definition: EntitySetDef, resource: Resource, opts: QueryOptions, method: str
    ) -> Response:
        assert resource.key_text is not None
        key = parse_key(definition, resource.key_text)
        rest = resource.rest
        if rest and rest[0] in ("Post", "Unpost") and len(rest) == 1:
            self._only(method, "POST")
            ref = str(key.get("Ref_Key", ""))
            if not definition.is_reference or self.base.get(definition.name, ref) is None:
                raise ODataError.not_found(definition.object_name)
            self.base.set_posted(definition.name, ref, rest[0] == "Post")
            return Response(b"", 200, headers={"DataServiceVersion": "3.0"})
        entity = self.base.find(definition.name, key)
        if entity is None:
            raise ODataError.not_found(definition.object_name)
        store_key = (
            entity["Ref_Key"]
            if definition.is_reference
            else self.base.factory.record_key(definition, entity)
        )
        if method == "GET":
            if rest:
                return self.member(definition, entity, rest)
            return self.entity_response(definition, entity, opts)
        if rest:
            raise ODataError.segment_not_found(rest[0])
        if method in ("PATCH", "MERGE", "PUT"):
            if definition.is_tabular or definition.is_record_set:
                self._only(method)
            fields = await self.body()
            updated = self.base.update(definition.name, store_key, fields, replace=method == "PUT")
            return self.entity_response(definition, updated, None)
        if method == "DELETE":
            if definition.is_tabular or definition.is_record_set:
                self._only(method)
            self.base.delete(definition.name, store_key)
            return Response(status_code=204, headers={"DataServiceVersion": "3.0"})
        self._only(method, "GET", "PATCH", "PUT", "DELETE")
        raise AssertionError("unreachable")

    def member(self, definition: EntitySetDef, entity: dict[str, Any], rest: list[str]) -> Response:
        """``Set(key)/Prop`` or ``Set(key)/Nav[/…]`` — a property or a related entity."""
        name = rest[0]
        prop = definition.by_name.get(name)
        if prop is not None and len(rest) == 1:
            if not self.wants_json:
                return _xml(
                    '<?xml version="1.0" encoding="UTF-8"?>\n'
                    f'<d:{name} xmlns:d="http://schemas.microsoft.com/ado/2007/08/dataservices">'
                    f"{atom._value(entity.get(name, ''))}</d:{name}>\n",
                    "application/xml;charset=utf-8",
                )
            return _json(
                {"odata.metadata": f"{self.root}/$metadata#{prop.edm}", "value": entity.get(name)}
            )
        key = definition.by_name.get(f"{name}_Key")
        if key is None or not key.target or self.schema.get(key.target) is None:
            raise ODataError(400, CODE_BAD_URL, f"Сегмент пути {name} не найден!")
        target_def = self.schema.sets[key.target]
        target = self.lookup(target_def.name, entity.get(key.name, ""))
        if target is None:
            raise ODataError.not_found(target_def.object_name)
        if len(rest) == 1:
            return self.entity_response(target_def, target, None)
        return self.member(target_def, target, rest[1:])


def create_app(bases: Mapping[str, OneCBase]) -> Starlette:
    """A Starlette app serving each base under ``/<base.name>/odata/standard.odata``."""
    by_name = {base.name: base for base in bases.values()}

    async def endpoint(request: Request) -> Response:
        base = by_name.get(request.path_params["base"])
        if base is None:
            return Response(b"Not Found", 404, media_type="text/plain")
        delay = base.faults.start_delay()
        if delay:
            await asyncio.sleep(delay)
        if not _authorized(request, base):
            return _unauthorized()
        handler = _Handler(request, base)
        path = request.url.path
        fault = base.faults.pick(request.method, path.endswith(("/Post", "/Unpost")))
        if fault == "html_error":
            status = base.faults.html_status
            return Response(html_page(status).encode("utf-8"), status, media_type="text/html")
        if fault is not None:
            message = LOCK_MESSAGE if fault == "lock_conflict" else base.faults.business_message
            return _error(ODataError(500, CODE_INTERNAL, message), handler.wants_json)
        try:
            return await handler.dispatch()
        except ODataError as err:
            return _error(err, handler.wants_json)

    async def faults(request: Request) -> Response:
        """``GET`` the fault switches of every base; ``POST`` ``{"base": …, …}`` changes
        them (all bases when ``base`` is absent; ``{"clear": true}`` switches all off)."""
        if request.method == "POST":
            try:
                settings = json.loads((await request.body()).decode("utf-8") or "{}")
                if not isinstance(settings, dict):
                    raise ValueError("a JSON object is expected")
                name = settings.pop("base", None)
                targets = [by_name[name]] if name else list(by_name.values())
                clear = bool(settings.pop("clear", False))
                for target in targets:
                    if clear:
                        target.faults.clear()
                    target.faults.configure(settings)
            except (ValueError, KeyError, UnicodeDecodeError) as exc:
                return _json({"error": str(exc)}, 400)
        return _json({name: b.faults.as_dict() for name, b in by_name.items()})

    routes = [
        Route("/_sandbox/faults", faults, methods=["GET", "POST"]),
        Route("/{base}/odata/standard.odata", endpoint, methods=_METHODS),
        Route("/{base}/odata/standard.odata/{rest:path}", endpoint, methods=_METHODS),
    ]
    return Starlette(routes=routes)
