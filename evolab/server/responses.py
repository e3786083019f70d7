"""What the API's refusals look like, declared once for every route, and the `Allow` header of a 405.

Every route can refuse: a malformed body (400), a value out of range (422), something named that is not
there (404), a change that conflicts with what is stored (409), a database that cannot be used right now
(503). Declaring these route by route drifts from what the error handlers do, so `with_refusals` adds
them to every operation of the OpenAPI document from what it takes (a body, path parameters, a method
that writes), keeping whatever an operation declares itself. The schema then lists every status a route
answers with, and a client generated from it understands every answer.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel, ConfigDict, Field
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from evolab.server.schemas import ErrorDoc


class FieldErrorDoc(BaseModel):
    """One value of a request that does not validate (FastAPI's request validation)."""

    model_config = ConfigDict(extra="allow")

    loc: list[str | int] = Field(description="where: 'body', 'query' or 'path', then the field's path")
    msg: str
    type: str


class InvalidRequestDoc(BaseModel):
    """A value that is malformed or out of range: one line naming the first field at fault, and, when the
    request itself does not validate, every field at fault."""

    detail: str = Field(description="the first problem: `field.path: what is wrong (got value)`")
    errors: list[FieldErrorDoc] | None = Field(
        None, description="every field of the request at fault (request validation only)"
    )


def one_line(errors: Sequence[dict[str, Any]]) -> str:
    """The first of FastAPI's request validation errors as one line: `config.sim.duration: input should be
    greater than 0 (got 0)` (the body is the request, so its fields are named without "body")."""
    if not errors:
        return "the request does not validate"
    first = errors[0]
    loc = [str(p) for p in first.get("loc", ())]
    where = ".".join(loc[1:] if loc[:1] == ["body"] and len(loc) > 1 else loc) or "request"
    message = str(first.get("msg", "invalid")).removeprefix("Value error, ")
    shows_input = "input" in first and first.get("type") not in ("missing", "extra_forbidden")
    got = f" (got {first['input']!r})" if shows_input else ""
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"{where}: {message[:1].lower()}{message[1:]}{got}{more}".replace("\n", " ")


NOT_MODIFIED = {304: {"description": "Not modified: the `ETag` sent in `If-None-Match` still holds."}}
"""What a route answering `If-None-Match` declares beside its 200."""

_WRITES = {"post", "put", "patch", "delete"}
_REFUSALS = {
    400: ("ErrorDoc", "The body is not JSON."),
    404: ("ErrorDoc", "Something the path names is not stored."),
    409: ("ErrorDoc", "The change conflicts with what is stored or running."),
    422: ("InvalidRequestDoc", "A value is malformed or out of range."),
    503: ("ErrorDoc", "The database cannot be used right now (busy, locked or gone)."),
}


def refusal_statuses(path: str, method: str, operation: dict[str, Any]) -> list[int]:
    """The refusals an operation can answer with: 503 always, 422 with parameters or a body, 400 with a
    body, 404 with path parameters or a body, 409 for a method that writes."""
    statuses = [503]
    if operation.get("parameters") or "requestBody" in operation:
        statuses.append(422)
    if "requestBody" in operation:
        statuses.append(400)
    if "{" in path or "requestBody" in operation:  # a path or a body may name what is not there
        statuses.append(404)
    if method in _WRITES:
        statuses.append(409)
    return sorted(statuses)


def with_refusals(document: dict[str, Any]) -> dict[str, Any]:
    """The OpenAPI `document` with every operation's refusals declared (an operation's own declarations
    win) and the refusal bodies in its components."""
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    for model in (ErrorDoc, InvalidRequestDoc):
        found = model.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas.update(found.pop("$defs", {}))
        schemas.setdefault(model.__name__, found)
    schemas.pop("HTTPValidationError", None)  # FastAPI's own 422 body, which InvalidRequestDoc replaces
    schemas.pop("ValidationError", None)
    for path, operations in document.get("paths", {}).items():
        for method, operation in operations.items():
            responses = operation.setdefault("responses", {})
            own_422 = responses.get("422", {}).get("content", {}).get("application/json", {}).get("schema", {})
            if own_422.get("$ref", "").endswith("/HTTPValidationError"):
                del responses["422"]  # FastAPI's default, not the route's own
            for status in refusal_statuses(path, method, operation):
                model, description = _REFUSALS[status]
                responses.setdefault(
                    str(status),
                    {
                        "description": description,
                        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{model}"}}},
                    },
                )
    return document


def declare_refusals(app: FastAPI) -> None:
    """Make `app.openapi()` declare every operation's refusals (`with_refusals`)."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = with_refusals(build())
        return app.openapi_schema

    app.openapi = openapi  # FastAPI's documented way to extend the schema


class AllowHeader:
    """ASGI middleware: a 405 lists in `Allow` every method the path takes, as the OpenAPI document
    declares them, not only those of the first route matching it (Starlette answers from one route, and
    FastAPI has a route per method)."""

    def __init__(self, app: ASGIApp, api: FastAPI) -> None:
        self.app = app
        self.api = api
        self._paths: list[tuple[re.Pattern[str], str]] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_allow(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] == 405:
                allowed = self.allowed(scope["path"])
                if allowed:
                    headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"allow"]
                    message = {**message, "headers": [*headers, (b"allow", allowed.encode())]}
            await send(message)

        await self.app(scope, receive, send_with_allow)

    def allowed(self, path: str) -> str:
        """The methods the document declares for `path`, as an `Allow` value (HEAD with GET)."""
        if self._paths is None:
            self._paths = []
            for template, operations in self.api.openapi().get("paths", {}).items():
                pattern = re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(template))
                methods = {m.upper() for m in operations}
                if "GET" in methods:
                    methods.add("HEAD")
                self._paths.append((re.compile(pattern + "$"), ", ".join(sorted(methods))))
        return next((methods for pattern, methods in self._paths if pattern.match(path)), "")
