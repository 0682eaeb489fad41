"""The emulated endpoints: paths and bodies mapped onto the CRM store.

| method | path | scope |
|---|---|---|
| GET | ``crm/v3/objects/deals/{id}`` | ``crm.objects.deals.read`` |
| PATCH | ``crm/v3/objects/deals/{id}`` | ``crm.objects.deals.write`` |
| GET | ``crm/v3/objects/companies/{id}`` | ``crm.objects.companies.read`` |
| GET | ``crm/v3/objects/contacts/{id}`` | ``crm.objects.contacts.read`` |
| POST | ``crm/v3/objects/line_items/batch/read`` | ``crm.objects.line_items.read`` |
| GET | ``crm/v3/pipelines/deals`` | ``crm.objects.deals.read`` |
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from local.billomat_sandbox.clock import SandboxClock
from local.sandbox_faults import path_segments

from .crm import DEFAULT_PROPERTIES, CrmStore
from .deals import apply_update, check_update, validation_message
from .exchange import HubSpotRequest
from .pipelines import pipelines_json
from .wire import NOT_FOUND_MESSAGE, error_body, iso, property_value

BATCH_LIMIT = 100
"""Most inputs one batch read takes."""

BATCH_NOT_FOUND_MESSAGE = (
    "Could not get some LINE_ITEM objects, they may be deleted or not exist. "
    "Check that ids are valid."
)


class ApiError(Exception):
    """An error answer in HubSpot's shape (``status``, ``message``, ``category``)."""

    def __init__(
        self,
        status: int,
        message: str,
        category: str = "VALIDATION_ERROR",
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.category = category
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        """The JSON body of the answer."""
        return error_body(self.message, self.category)


@dataclass(frozen=True)
class ApiReply:
    """A successful answer: status and JSON payload."""

    status: int
    payload: Any
    headers: dict[str, str] = field(default_factory=dict)


Handler = Callable[[HubSpotRequest, str], ApiReply]
"""Answers a request; the second argument is the ``{id}`` path segment (``""`` if none)."""


@dataclass(frozen=True)
class Endpoint:
    """One method of one path: the scope it needs and its handler."""

    scope: str
    handler: Handler


@dataclass(frozen=True)
class Match:
    """A request resolved to its endpoint."""

    endpoint: Endpoint
    object_id: str

    def run(self, request: HubSpotRequest) -> ApiReply:
        """Carry the request out."""
        return self.endpoint.handler(request, self.object_id)


class HubSpotApi:
    """The endpoints over one :class:`CrmStore` (callers hold the sandbox lock)."""

    def __init__(self, store: CrmStore, clock: SandboxClock) -> None:
        self._store = store
        self._clock = clock
        self._routes: tuple[tuple[tuple[str, ...], dict[str, Endpoint]], ...] = (
            (
                ("crm", "v3", "objects", "deals", "{id}"),
                {
                    "GET": Endpoint("crm.objects.deals.read", self._reader("deals")),
                    "PATCH": Endpoint("crm.objects.deals.write", self._patch_deal),
                },
            ),
            (
                ("crm", "v3", "objects", "companies", "{id}"),
                {"GET": Endpoint("crm.objects.companies.read", self._reader("companies"))},
            ),
            (
                ("crm", "v3", "objects", "contacts", "{id}"),
                {"GET": Endpoint("crm.objects.contacts.read", self._reader("contacts"))},
            ),
            (
                ("crm", "v3", "objects", "line_items", "batch", "read"),
                {"POST": Endpoint("crm.objects.line_items.read", self._batch_read_line_items)},
            ),
            (
                ("crm", "v3", "pipelines", "deals"),
                {"GET": Endpoint("crm.objects.deals.read", self._pipelines)},
            ),
        )

    def match(self, method: str, route: str) -> Match:
        """The endpoint for ``method route``; raises :class:`ApiError` 404 or 405."""
        segments = tuple(path_segments(route))
        for pattern, methods in self._routes:
            if len(pattern) != len(segments):
                continue
            if any(want not in {"{id}", got} for want, got in zip(pattern, segments, strict=True)):
                continue
            object_id = next(
                (got for want, got in zip(pattern, segments, strict=True) if want == "{id}"), ""
            )
            endpoint = methods.get(method)
            if endpoint is None:
                allowed = ", ".join(methods)
                raise ApiError(
                    405,
                    f"Method {method} is not allowed on /{route} (allowed: {allowed})",
                    "METHOD_NOT_ALLOWED",
                    {"Allow": allowed},
                )
            return Match(endpoint, object_id)
        raise ApiError(
            404,
            f"No endpoint at {method} /{route} (the sandbox emulates the deal workflow's calls)",
            "OBJECT_NOT_FOUND",
        )

    # --- handlers ------------------------------------------------------------------------------

    def _reader(self, object_type: str) -> Handler:
        def read(request: HubSpotRequest, object_id: str) -> ApiReply:
            record = self._store.get(object_type, object_id)
            if record is None:
                raise ApiError(404, NOT_FOUND_MESSAGE, "OBJECT_NOT_FOUND")
            return ApiReply(
                200,
                self._store.render(
                    record,
                    request.query_list("properties") or None,
                    request.query_list("associations"),
                ),
            )

        return read

    def _patch_deal(self, request: HubSpotRequest, object_id: str) -> ApiReply:
        deal = self._store.get("deals", object_id)
        if deal is None:
            raise ApiError(404, NOT_FOUND_MESSAGE, "OBJECT_NOT_FOUND")
        data = parse_json(request.body)
        raw = data.get("properties") if isinstance(data, dict) else None
        if not isinstance(raw, dict):
            raise ApiError(400, 'Invalid input JSON: expected {"properties": {...}}')
        values: dict[str, str | None] = {}
        for name, value in raw.items():
            try:
                values[name] = property_value(value)
            except TypeError:
                raise ApiError(
                    400, f"Invalid input JSON: the value of {name} must be a string or a number"
                ) from None
        errors = check_update(self._store, deal, values)
        if errors:
            raise ApiError(400, validation_message(errors))
        if values:
            apply_update(deal, values, self._clock.now())
        names = [*DEFAULT_PROPERTIES["deals"], *values]
        return ApiReply(200, self._store.render(deal, names))

    def _batch_read_line_items(self, request: HubSpotRequest, _object_id: str) -> ApiReply:
        started = iso(self._clock.now())
        data = parse_json(request.body)
        if not isinstance(data, dict) or not isinstance(data.get("inputs"), list):
            raise ApiError(400, 'Invalid input JSON: expected {"inputs": [{"id": "..."}]}')
        inputs: list[Any] = data["inputs"]
        if len(inputs) > BATCH_LIMIT:
            raise ApiError(
                400, f"Too many inputs: {len(inputs)} given, a batch takes at most {BATCH_LIMIT}"
            )
        ids: list[str] = []
        for each in inputs:
            raw_id = each.get("id") if isinstance(each, dict) else None
            if isinstance(raw_id, bool) or not isinstance(raw_id, str | int):
                raise ApiError(400, 'Invalid input JSON: every input must be {"id": "<id>"}')
            if str(raw_id) not in ids:
                ids.append(str(raw_id))
        names = data.get("properties")
        if names is not None and (
            not isinstance(names, list) or not all(isinstance(name, str) for name in names)
        ):
            raise ApiError(400, "Invalid input JSON: properties must be a list of names")
        results: list[dict[str, Any]] = []
        missing: list[str] = []
        for line_item_id in ids:
            record = self._store.get("line_items", line_item_id)
            if record is None:
                missing.append(line_item_id)
            else:
                results.append(self._store.render(record, names or None))
        body: dict[str, Any] = {"status": "COMPLETE", "results": results}
        if missing:
            body["numErrors"] = 1
            body["errors"] = [
                {
                    "status": "error",
                    "category": "OBJECT_NOT_FOUND",
                    "message": BATCH_NOT_FOUND_MESSAGE,
                    "context": {"ids": missing},
                }
            ]
        body["startedAt"] = started
        body["completedAt"] = iso(self._clock.now())
        return ApiReply(207 if missing else 200, body)

    def _pipelines(self, _request: HubSpotRequest, _object_id: str) -> ApiReply:
        return ApiReply(200, pipelines_json())


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def parse_json(body: bytes) -> Any:
    """The request body as JSON; raises :class:`ApiError` 400 ``VALIDATION_ERROR`` otherwise."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise ApiError(400, "Invalid input JSON: the body is not UTF-8") from None
    try:
        return json.loads(text, parse_constant=_refuse_constant)
    except json.JSONDecodeError as error:
        raise ApiError(
            400, f"Invalid input JSON on line {error.lineno}, column {error.colno}: {error.msg}"
        ) from None
    except (ValueError, RecursionError) as error:
        raise ApiError(400, f"Invalid input JSON: {error}") from None
