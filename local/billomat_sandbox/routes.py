"""The HTTP surface of the sandbox: ``/api/...`` paths and bodies mapped onto the domain modules.

Answers follow Billomat's conventions: POST → 201 with the record, PUT → 200 with the record,
DELETE → 200 with an empty body. Action PUTs (complete, cancel, win, ...) and e-mail POSTs answer
200 with the record here; the real API may answer them with an empty body, so clients must accept
both (``empty_action_bodies`` on the sandbox switches to empty bodies).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from . import credit_notes, dunning, invoicing, master_data, offers, positions, recurrings
from .documents import (
    CREDIT_NOTE,
    INVOICE,
    KINDS_BY_ITEMS,
    OFFER,
    REMINDER,
    DocumentKind,
    pdf_bytes,
    pdf_record,
    send_email,
)
from .errors import ApiError, bad_request, not_found
from .invoice_groups import group_invoices
from .ledger import Ledger
from .listing import GENERAL_PARAMS, PAGING_PARAMS, matching_records, page_of, reject_unknown_params
from .schemas import CLIENTS, INVOICES, SCHEMAS, SETTINGS, Record, ResourceSchema
from .wire_format import (
    JsonObject,
    collection_items,
    is_empty,
    read_int,
    wire_list,
    wire_scalar,
)


@dataclass(frozen=True)
class ApiCall:
    """A request as the API layer sees it (path already relative to ``/api/``)."""

    method: str
    segments: tuple[str, ...]
    query: Mapping[str, str]
    body: bytes
    accept: str
    strict: bool


@dataclass
class ApiReply:
    """An answer before headers are added."""

    status: int
    payload: JsonObject | None = None
    content: bytes | None = None
    content_type: str = "application/json"
    is_action: bool = False
    """Action answers (complete, cancel, e-mail...) may be sent with an empty body."""
    headers: dict[str, str] = field(default_factory=dict)


Create = Callable[[Ledger, Record, list[Record]], Record]
Update = Callable[[Ledger, Record, Record], Record]
Delete = Callable[[Ledger, Record], None]
Action = Callable[[Ledger, Record, Record], Record]


@dataclass(frozen=True)
class ResourceOps:
    """What a resource supports besides reading."""

    create: Create | None = None
    update: Update | None = None
    delete: Delete | None = None


def _item_ops(kind: DocumentKind) -> ResourceOps:
    return ResourceOps(
        create=lambda ledger, values, _: positions.add_item(ledger, kind, values),
        update=lambda ledger, item, values: positions.update_item(ledger, kind, item, values),
        delete=lambda ledger, item: positions.delete_item(ledger, kind, item),
    )


def _remove_plain(resource: str) -> Delete:
    return lambda ledger, record: ledger.remove(resource, record["id"])


def _update_plain(ledger: Ledger, record: Record, values: Record) -> Record:
    record.update(values)
    ledger.touch(record)
    return record


OPS: dict[str, ResourceOps] = {
    "clients": ResourceOps(
        create=lambda ledger, values, _: master_data.create_client(ledger, values),
        update=master_data.update_client,
        delete=master_data.delete_client,
    ),
    "articles": ResourceOps(
        create=lambda ledger, values, _: master_data.create_article(ledger, values),
        update=master_data.update_article,
        delete=master_data.delete_article,
    ),
    "taxes": ResourceOps(
        create=lambda ledger, values, _: master_data.create_tax(ledger, values),
        update=master_data.update_tax,
        delete=_remove_plain("taxes"),
    ),
    "units": ResourceOps(
        create=lambda ledger, values, _: master_data.create_unit(ledger, values),
        update=_update_plain,
        delete=master_data.delete_unit,
    ),
    "reminder-texts": ResourceOps(
        create=lambda ledger, values, _: master_data.create_reminder_text(ledger, values),
        update=_update_plain,
        delete=_remove_plain("reminder-texts"),
    ),
    "invoices": ResourceOps(
        create=invoicing.create_invoice,
        update=invoicing.update_invoice,
        delete=invoicing.delete_invoice,
    ),
    "invoice-payments": ResourceOps(
        create=lambda ledger, values, _: invoicing.book_payment(ledger, values),
        delete=invoicing.delete_payment,
    ),
    "credit-notes": ResourceOps(
        create=credit_notes.create_credit_note,
        update=credit_notes.update_credit_note,
        delete=credit_notes.delete_credit_note,
    ),
    "credit-note-payments": ResourceOps(
        create=lambda ledger, values, _: credit_notes.book_payment(ledger, values),
        delete=credit_notes.delete_payment,
    ),
    "reminders": ResourceOps(
        create=dunning.create_reminder,
        update=dunning.update_reminder,
        delete=dunning.delete_reminder,
    ),
    "offers": ResourceOps(
        create=offers.create_offer, update=offers.update_offer, delete=offers.delete_offer
    ),
    "recurrings": ResourceOps(
        create=recurrings.create_recurring,
        update=recurrings.update_recurring,
        delete=recurrings.delete_recurring,
    ),
    "recurring-email-receivers": ResourceOps(
        create=lambda ledger, values, _: recurrings.add_email_receiver(ledger, values),
        update=_update_plain,
        delete=_remove_plain("recurring-email-receivers"),
    ),
    **{items: _item_ops(kind) for items, kind in KINDS_BY_ITEMS.items()},
}


def _complete_with_template(complete: Callable[[Ledger, Record], Record]) -> Action:
    def action(ledger: Ledger, document: Record, body: Record) -> Record:
        if not is_empty(body.get("template_id")):
            document["template_id"] = read_int("template_id", body["template_id"])
        return complete(ledger, document)

    return action


def _without_body(action: Callable[[Ledger, Record], Record]) -> Action:
    return lambda ledger, document, _: action(ledger, document)


def _offer_action(name: str) -> Action:
    return lambda ledger, offer, _: offers.change_offer_status(ledger, offer, name)


ACTIONS: dict[tuple[str, str], Action] = {
    ("invoices", "complete"): _complete_with_template(invoicing.complete_invoice),
    ("invoices", "cancel"): _without_body(invoicing.cancel_invoice),
    ("invoices", "uncancel"): _without_body(invoicing.uncancel_invoice),
    ("credit-notes", "complete"): _complete_with_template(credit_notes.complete_credit_note),
    ("credit-notes", "cancel"): _without_body(credit_notes.cancel_credit_note),
    ("credit-notes", "uncancel"): _without_body(credit_notes.uncancel_credit_note),
    ("reminders", "complete"): _complete_with_template(dunning.complete_reminder),
    ("reminders", "cancel"): _without_body(dunning.cancel_reminder),
    ("reminders", "uncancel"): _without_body(dunning.uncancel_reminder),
    ("offers", "complete"): _complete_with_template(offers.complete_offer),
    **{("offers", name): _offer_action(name) for name in offers.TRANSITIONS},
    ("recurrings", "stop"): _without_body(recurrings.stop_recurring),
}
"""``PUT /api/{resource}/{id}/{action}``."""

DOCUMENT_KINDS: dict[str, DocumentKind] = {
    "invoices": INVOICE,
    "credit-notes": CREDIT_NOTE,
    "offers": OFFER,
    "reminders": REMINDER,
}
"""Documents with a PDF and an e-mail endpoint."""

EMAIL_FIELDS = frozenset(
    {"recipients", "subject", "body", "from", "filename", "email_template_id", "attachments"}
)


CUSTOMFIELD_RESOURCES = frozenset(
    name for name, schema in SCHEMAS.items() if "customfield" in schema.by_name
)
"""Resources with ``GET|PUT /{id}/customfield``."""


class BillomatApi:
    """Dispatches API calls onto one ledger. Not thread-safe: the sandbox serialises calls."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger

    # --- entry point ----------------------------------------------------------------------

    def handle(self, call: ApiCall) -> ApiReply:
        """Answer one call; :class:`ApiError` becomes a Billomat error answer."""
        try:
            return self._route(call)
        except ApiError as error:
            return ApiReply(error.status, error.body())

    def _route(self, call: ApiCall) -> ApiReply:
        method = "GET" if call.method == "HEAD" else call.method
        segments = call.segments
        if segments == ("clients", "myself"):
            self._allow(method, "GET")
            self._plain_params(call)
            return self._record(CLIENTS, master_data.own_company(self.ledger))
        if segments == ("settings",):
            return self._settings(method, call)
        if not segments or segments[0] not in SCHEMAS:
            raise not_found("/api/" + "/".join(segments))
        schema = SCHEMAS[segments[0]]
        if len(segments) == 1:
            if method == "GET":
                return self._list(schema, call)
            self._allow(method, "POST")
            return self._create(schema, call)
        record_id = self._record_id(segments[1])
        if len(segments) == 2:
            return self._on_record(schema, record_id, method, call)
        if len(segments) == 3:
            return self._sub_resource(schema, record_id, segments[2], method, call)
        raise not_found("/api/" + "/".join(segments))

    # --- helpers --------------------------------------------------------------------------

    @staticmethod
    def _allow(method: str, *allowed: str) -> None:
        if method not in allowed:
            raise ApiError(405, f"Method {method} not allowed here")

    @staticmethod
    def _record_id(segment: str) -> int:
        if not segment.isdigit():
            raise not_found(f"record {segment!r}")
        return int(segment)

    @staticmethod
    def _plain_params(call: ApiCall, *extra: str) -> None:
        reject_unknown_params(call.query, GENERAL_PARAMS | set(extra), call.strict)

    def _view(self, schema: ResourceSchema, record: Record) -> Record:
        if schema.plural == "clients":
            return master_data.client_with_revenue(self.ledger, record)
        return record

    def _record(self, schema: ResourceSchema, record: Record, status: int = 200) -> ApiReply:
        return ApiReply(status, {schema.singular: schema.to_wire(self._view(schema, record))})

    @staticmethod
    def _json_body(call: ApiCall) -> JsonObject:
        if not call.body.strip():
            return {}
        try:
            parsed = json.loads(call.body)
        except (ValueError, UnicodeDecodeError):
            raise bad_request("Invalid JSON body") from None
        if not isinstance(parsed, dict):
            raise bad_request("The body must be a JSON object")
        return parsed

    def _wrapped(self, call: ApiCall, root: str, *, optional: bool = False) -> JsonObject:
        """The object inside ``{"<root>": {...}}``."""
        body = self._json_body(call)
        if root not in body:
            if optional and not body:
                return {}
            raise bad_request(f'The body must be {{"{root}": {{...}}}}')
        inner = body[root]
        if inner in (None, ""):
            return {}
        if not isinstance(inner, dict):
            raise bad_request(f'"{root}" must be an object')
        return inner

    def _ops(self, schema: ResourceSchema) -> ResourceOps:
        return OPS.get(schema.plural, ResourceOps())

    # --- collections ----------------------------------------------------------------------

    def _list(self, schema: ResourceSchema, call: ApiCall) -> ApiReply:
        grouping = schema is INVOICES and "group_by" in call.query
        allowed = set(schema.filters) | PAGING_PARAMS | GENERAL_PARAMS
        if schema is INVOICES:
            allowed.add("group_by")
        reject_unknown_params(call.query, allowed, call.strict)
        records = matching_records(self.ledger, schema, call.query, strict=call.strict)
        if grouping:
            filters = {key: value for key, value in call.query.items() if key in schema.filters}
            payload = group_invoices(
                records, call.query["group_by"], filters, self.ledger.settings["currency_code"]
            )
            return ApiReply(200, payload)
        page = page_of(records, call.query)
        payload = wire_list(
            schema.plural,
            schema.singular,
            [schema.to_wire(self._view(schema, row)) for row in page.records],
            page=page.page,
            per_page=page.per_page,
            total=page.total,
        )
        return ApiReply(200, payload, headers={"X-Total-Count": str(page.total)})

    def _create(self, schema: ResourceSchema, call: ApiCall) -> ApiReply:
        create = self._ops(schema).create
        if create is None:
            raise ApiError(405, f"{schema.plural} cannot be created")
        self._plain_params(call)
        payload = self._wrapped(call, schema.singular)
        embedded = frozenset({schema.items}) if schema.items else frozenset()
        values = schema.read_body(payload, strict=call.strict, accept=embedded)
        items: list[Record] = []
        if schema.items:
            item_schema = SCHEMAS[schema.items]
            for raw in collection_items(payload.get(schema.items), item_schema.singular):
                if not isinstance(raw, dict):
                    raise bad_request(f"Each {item_schema.singular} must be an object")
                items.append(
                    item_schema.read_body(
                        raw, strict=call.strict, accept=frozenset({item_schema.parent_filter or ""})
                    )
                )
        return self._record(schema, create(self.ledger, values, items), status=201)

    # --- single records -------------------------------------------------------------------

    def _on_record(
        self, schema: ResourceSchema, record_id: int, method: str, call: ApiCall
    ) -> ApiReply:
        self._allow(method, "GET", "PUT", "DELETE")
        self._plain_params(call)
        record = self.ledger.get(schema.plural, record_id)
        if method == "GET":
            return self._record(schema, record)
        ops = self._ops(schema)
        if method == "PUT":
            if ops.update is None:
                raise ApiError(405, f"{schema.plural} cannot be edited")
            values = schema.read_body(self._wrapped(call, schema.singular), strict=call.strict)
            return self._record(schema, ops.update(self.ledger, record, values))
        if ops.delete is None:
            raise ApiError(405, f"{schema.plural} cannot be deleted")
        ops.delete(self.ledger, record)
        return ApiReply(200, None)

    def _sub_resource(
        self, schema: ResourceSchema, record_id: int, name: str, method: str, call: ApiCall
    ) -> ApiReply:
        if name == "customfield" and schema.plural in CUSTOMFIELD_RESOURCES:
            return self._customfield(schema, record_id, method, call)
        kind = DOCUMENT_KINDS.get(schema.plural)
        if name == "pdf" and kind is not None:
            self._allow(method, "GET")
            self._plain_params(call, "type")
            return self._pdf(kind, self.ledger.get(schema.plural, record_id), call)
        if name == "email" and kind is not None:
            self._allow(method, "POST")
            self._plain_params(call)
            return self._email(kind, self.ledger.get(schema.plural, record_id), call)
        action = ACTIONS.get((schema.plural, name))
        if action is None:
            raise not_found(f"/api/{schema.plural}/{record_id}/{name}")
        self._allow(method, "PUT")
        self._plain_params(call)
        record = self.ledger.get(schema.plural, record_id)
        body = self._wrapped(call, name, optional=True)
        reply = self._record(schema, action(self.ledger, record, body))
        reply.is_action = True
        return reply

    def _customfield(
        self, schema: ResourceSchema, record_id: int, method: str, call: ApiCall
    ) -> ApiReply:
        """``GET|PUT /api/{resource}/{id}/customfield`` (allowed in every status)."""
        self._allow(method, "GET", "PUT")
        self._plain_params(call)
        record = self.ledger.get(schema.plural, record_id)
        if method == "PUT":
            payload = self._wrapped(call, schema.singular)
            if call.strict and set(payload) - {"customfield"}:
                raise bad_request("Only customfield can be written here")
            record["customfield"] = schema.by_name["customfield"].read(payload.get("customfield"))
            self.ledger.touch(record)
            self.ledger.emit(f"{schema.singular.replace('-', '_')}.update", schema.plural, record)
        return ApiReply(200, {schema.singular: {"customfield": wire_scalar(record["customfield"])}})

    def _pdf(self, kind: DocumentKind, document: Record, call: ApiCall) -> ApiReply:
        if call.query.get("format") == "pdf" or "application/pdf" in call.accept:
            return ApiReply(
                200, content=pdf_bytes(self.ledger, kind, document), content_type="application/pdf"
            )
        record = pdf_record(self.ledger, kind, document)
        return ApiReply(200, {"pdf": {key: wire_scalar(value) for key, value in record.items()}})

    def _email(self, kind: DocumentKind, document: Record, call: ApiCall) -> ApiReply:
        email = self._wrapped(call, "email")
        unknown = sorted(set(email) - EMAIL_FIELDS)
        if call.strict and unknown:
            raise bad_request(*(f"Unknown field {name!r} for email" for name in unknown))
        send_email(self.ledger, kind, document, email)
        reply = self._record(kind.schema, document)
        reply.is_action = True
        return reply

    # --- settings ---------------------------------------------------------------------------

    def _settings(self, method: str, call: ApiCall) -> ApiReply:
        self._allow(method, "GET", "PUT")
        self._plain_params(call)
        if method == "PUT":
            values = SETTINGS.read_body(self._wrapped(call, "settings"), strict=call.strict)
            master_data.update_settings(self.ledger, values)
        return ApiReply(200, {"settings": SETTINGS.to_wire(self.ledger.settings)})
