"""``BillomatSandbox``: an in-memory Billomat account behind Billomat's REST API.

One lock serialises every request and hook, so the sandbox may be called from many threads
(local mode serves each request on its own thread).
"""

from __future__ import annotations

import copy
import json
import logging
import threading
from collections.abc import Mapping
from datetime import date
from typing import Any

import httpx

from local.sandbox_faults import path_segments

from . import credit_notes, dunning, invoicing, offers, recurrings
from .clock import SandboxClock
from .credentials import DEV_API_KEY, DEV_APP_ID, DEV_APP_SECRET
from .documents import CREDIT_NOTE, INVOICE, OFFER, REMINDER, DocumentKind, set_status
from .errors import ApiError
from .exchange import SandboxRequest, SandboxResponse
from .faults import FaultKind, FaultPlan
from .journal import RequestRecord, SentEmail, WebhookEvent
from .ledger import Ledger
from .rate_limit import WINDOW_SECONDS, QuotaState, RateLimiter
from .routes import OPS, ApiCall, ApiReply, BillomatApi
from .schemas import SCHEMAS, SETTINGS, Record
from .server import SandboxServer
from .transport import SandboxTransport

logger = logging.getLogger(__name__)

JSON_TYPE = "application/json; charset=utf-8"
_SERVER_ERROR_PAGE = (
    b"<!DOCTYPE html><html><head><title>500 Internal Server Error</title></head>"
    b"<body><h1>Internal Server Error</h1></body></html>"
)
_GATEWAY_TIMEOUT_PAGE = (
    b"<!DOCTYPE html><html><head><title>504 Gateway Time-out</title></head>"
    b"<body><h1>Gateway Time-out</h1></body></html>"
)


SEEDABLE_STATUS: dict[str, DocumentKind] = {
    "invoices": INVOICE,
    "credit-notes": CREDIT_NOTE,
    "offers": OFFER,
    "reminders": REMINDER,
}
"""Documents whose ``status`` may be given when seeding."""

DERIVED_FIELDS = frozenset(
    {
        "total_gross",
        "total_net",
        "total_gross_unreduced",
        "total_net_unreduced",
        "total_reduction",
        "paid_amount",
        "open_amount",
        "discount_amount",
        "taxes",
        "revenue_gross",
        "revenue_net",
        "position",
    }
)
"""Amounts the sandbox always computes; seeding them would contradict the items."""


def _json(status: int, payload: Any, headers: Mapping[str, str]) -> SandboxResponse:
    body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    return SandboxResponse(status, {**headers, "Content-Type": JSON_TYPE}, body)


def _html(
    status: int, page: bytes, headers: Mapping[str, str], *, timed_out: bool = False
) -> SandboxResponse:
    return SandboxResponse(
        status, {**headers, "Content-Type": "text/html; charset=utf-8"}, page, timed_out
    )


def _plain_copy(record: Mapping[str, Any]) -> dict[str, Any]:
    return {key: copy.deepcopy(value) for key, value in record.items() if not key.startswith("_")}


class BillomatSandbox:
    """An emulated Billomat account (see ``/work/shared/reference/billomat-api.md`` §9).

    Use it in-process through :meth:`transport` or over real HTTP through :meth:`serve`.
    ``strict`` turns unknown body fields and query parameters into 400s;
    ``empty_action_bodies`` answers action PUTs, e-mail POSTs (and DELETEs) with an empty body;
    ``auto_tick`` runs the daily OVERDUE switch on the first request of each new day;
    ``rate_window_seconds`` shortens the quota window (Billomat's is 15 minutes) for benches.
    """

    def __init__(
        self,
        api_key: str = DEV_API_KEY,
        *,
        rate_limit: int = 300,
        app_rate_limit: int = 1000,
        rate_window_seconds: int = WINDOW_SECONDS,
        strict: bool = False,
        clock: SandboxClock | None = None,
        company_name: str = "Demo GmbH",
        empty_action_bodies: bool = False,
        auto_tick: bool = False,
    ) -> None:
        self.api_key = api_key
        self.clock = clock or SandboxClock()
        self.strict = strict
        self.empty_action_bodies = empty_action_bodies
        self.auto_tick = auto_tick
        self.server_timeout_seconds: float = 30.0
        """How long the HTTP server holds a request with a ``timeout`` fault before its 504."""
        self.faults = FaultPlan()
        self._lock = threading.RLock()
        self._ledger = Ledger(self.clock, company_name)
        self._api = BillomatApi(self._ledger)
        self._quota = RateLimiter(rate_limit, app_rate_limit, rate_window_seconds)
        self._requests: list[RequestRecord] = []
        self._last_tick: date | None = None

    # --- ways in ------------------------------------------------------------------------------

    def transport(self) -> httpx.BaseTransport:
        """An httpx transport answering from this sandbox (use any base URL ending in ``/api/``)."""
        return SandboxTransport(self)

    def serve(self, host: str = "127.0.0.1", port: int = 0) -> SandboxServer:
        """Serve the API over HTTP on a background thread; ``port=0`` picks a free port."""
        return SandboxServer(self, host, port)

    def handle(self, request: SandboxRequest) -> SandboxResponse:
        """Answer one request (the transport and the server both come through here)."""
        with self._lock:
            try:
                response = self._answer(request)
            except Exception as error:  # a sandbox bug must not look like a hung server
                logger.exception("billomat sandbox failed on %s %s", request.method, request.path)
                response = _json(500, ApiError(500, f"Sandbox error: {error!r}").body(), {})
            self._requests.append(
                RequestRecord(
                    method=request.method,
                    path=request.path,
                    query=dict(request.query),
                    status=response.status,
                    at=self.clock.now(),
                )
            )
        return response

    # --- request pipeline -------------------------------------------------------------------

    def _answer(self, request: SandboxRequest) -> SandboxResponse:
        method = request.method.upper()
        now = self.clock.epoch()
        if request.path != "/api" and not request.path.startswith("/api/"):
            return _json(404, ApiError(404, "Not found").body(), {})
        key = request.headers.get("x-billomatapikey") or request.query.get("api_key")
        registered_app = (
            request.headers.get("x-appid") == DEV_APP_ID
            and request.headers.get("x-appsecret") == DEV_APP_SECRET
        )
        if key != self.api_key:
            quota = self._quota.peek(now, registered_app=registered_app)
            return _json(
                401, ApiError(401, "Unauthorized: invalid API key").body(), quota.headers()
            )
        quota = self._quota.consume(now, registered_app=registered_app)
        if not quota.allowed:
            return self._rate_limited(quota)
        if self.auto_tick and self._last_tick != self.clock.today():
            self.tick()
        route = request.path.removeprefix("/api").strip("/")
        fault = self.faults.take(method, route)
        if fault is FaultKind.SERVER_ERROR:
            return _html(500, _SERVER_ERROR_PAGE, quota.headers())
        if fault is FaultKind.TIMEOUT:
            return _html(504, _GATEWAY_TIMEOUT_PAGE, quota.headers(), timed_out=True)
        if fault is FaultKind.RATE_LIMIT:
            exhausted = QuotaState(
                False, quota.limit, quota.window_seconds, 0, quota.reset_at, quota.retry_after
            )
            return self._rate_limited(exhausted)
        call = ApiCall(
            method=method,
            segments=tuple(path_segments(route)),
            query=request.query,
            body=request.body,
            accept=request.headers.get("accept", ""),
            strict=self.strict,
        )
        reply = self._api.handle(call)
        if fault is FaultKind.COMMIT_THEN_FAIL:
            return _html(500, _SERVER_ERROR_PAGE, quota.headers())
        if fault is FaultKind.COMMIT_THEN_TIMEOUT:
            return _html(504, _GATEWAY_TIMEOUT_PAGE, quota.headers(), timed_out=True)
        return self._render(method, reply, quota)

    @staticmethod
    def _rate_limited(quota: QuotaState) -> SandboxResponse:
        return _json(429, ApiError(429, quota.error_message()).body(), quota.headers())

    def _render(self, method: str, reply: ApiReply, quota: QuotaState) -> SandboxResponse:
        headers = {**quota.headers()}
        if method == "HEAD":
            headers.update(reply.headers)
            headers["Content-Type"] = reply.content_type
            return SandboxResponse(reply.status, headers)
        if reply.content is not None:
            return SandboxResponse(
                reply.status, {**headers, "Content-Type": reply.content_type}, reply.content
            )
        if reply.payload is None or (reply.is_action and self.empty_action_bodies):
            return SandboxResponse(reply.status, headers)
        return _json(reply.status, reply.payload, headers)

    # --- observations -------------------------------------------------------------------------

    @property
    def requests(self) -> list[RequestRecord]:
        """Every request received so far, oldest first."""
        with self._lock:
            return list(self._requests)

    @property
    def request_count(self) -> int:
        """How many requests were received (including refused ones)."""
        with self._lock:
            return len(self._requests)

    @property
    def sent_emails(self) -> list[SentEmail]:
        """E-mails sent for documents (API ``/email`` calls and EMAIL recurrings)."""
        with self._lock:
            return list(self._ledger.sent_emails)

    @property
    def webhook_events(self) -> list[WebhookEvent]:
        """Webhooks Billomat would have delivered, in order."""
        with self._lock:
            return list(self._ledger.webhook_events)

    @property
    def settings(self) -> dict[str, Any]:
        """A copy of the account settings."""
        with self._lock:
            return _plain_copy(self._ledger.settings)

    def snapshot(self) -> dict[str, list[dict[str, Any]]]:
        """Plain copies of every record by resource (``Decimal`` amounts, ``date`` dates)."""
        with self._lock:
            state = {
                resource: [_plain_copy(row) for row in self._ledger.rows(resource)]
                for resource in SCHEMAS
            }
            state["settings"] = [_plain_copy(self._ledger.settings)]
            return state

    # --- time-driven jobs -----------------------------------------------------------------------

    def tick(self) -> None:
        """The daily job: OPEN invoices and reminders past their due date become OVERDUE."""
        with self._lock:
            invoicing.mark_overdue_invoices(self._ledger)
            dunning.mark_overdue_reminders(self._ledger)
            self._last_tick = self.clock.today()

    def run_due_recurrings(self) -> list[int]:
        """Create the invoices of every recurring due today or earlier; returns their ids."""
        with self._lock:
            return recurrings.run_due_recurrings(self._ledger)

    def reset_rate_limit(self) -> None:
        """Give every quota a fresh window."""
        with self._lock:
            self._quota.reset()

    @property
    def rate_limit(self) -> int:
        """Requests per 15-minute window without registered-app headers."""
        return self._quota.limit

    @rate_limit.setter
    def rate_limit(self, value: int) -> None:
        self._quota.limit = value

    @property
    def app_rate_limit(self) -> int:
        """Requests per 15-minute window with the registered-app headers."""
        return self._quota.app_limit

    @app_rate_limit.setter
    def app_rate_limit(self, value: int) -> None:
        self._quota.app_limit = value

    # --- seeding ----------------------------------------------------------------------------------

    def seed(self, resource: str, record: Mapping[str, Any]) -> dict[str, Any]:
        """Insert a record directly (no HTTP, no quota, not in :attr:`requests`).

        Values are read like API bodies (strings or Python values). Documents may carry their
        items (``"invoice-items": [...]``) and a ``status``: an invoice seeded as OPEN, OVERDUE,
        PAID or CANCELED is completed (numbered) first; PAID books a payment of the full amount.
        Credit notes likewise (OPEN, PAID with a payout, CANCELED).
        Read-only fields such as ``created`` or ``client_number`` are taken as given.
        Raises ``ValueError`` when the record is invalid.
        """
        with self._lock:
            try:
                return _plain_copy(self._seed(resource, dict(record)))
            except ApiError as error:
                raise ValueError("; ".join(error.messages)) from None

    def _seed(self, resource: str, raw: dict[str, Any]) -> Record:
        if resource == "settings":
            values = SETTINGS.read_body(raw, strict=True, seeding=True)
            self._ledger.settings.update(values)
            return self._ledger.settings
        if resource not in OPS or OPS[resource].create is None:
            raise ValueError(f"cannot seed {resource!r}; known: {', '.join(sorted(OPS))}")
        if "id" in raw:
            raise ValueError("ids are assigned by the sandbox; leave out 'id'")
        schema = SCHEMAS[resource]
        raw_items: Any = []
        if schema.items:
            raw_items = raw.pop(schema.items, None) or raw.pop("items", None) or []
        derived = sorted(set(raw) & DERIVED_FIELDS)
        if derived:
            raise ValueError(
                f"{', '.join(derived)} are computed by the sandbox; seed items instead"
            )
        values = schema.read_body(raw, strict=True, seeding=True)
        given_read_only = {
            key: values.pop(key)
            for key in list(values)
            if not schema.by_name[key].writable and key != "status"
        }
        status = values.pop("status", None)
        items: list[Record] = []
        if schema.items:
            item_schema = SCHEMAS[schema.items]
            entries = raw_items if isinstance(raw_items, list) else [raw_items]
            if isinstance(raw_items, dict) and item_schema.singular in raw_items:
                inner = raw_items[item_schema.singular]
                entries = inner if isinstance(inner, list) else [inner]
            items = [item_schema.read_body(each, strict=True, seeding=True) for each in entries]
        create = OPS[resource].create
        assert create is not None
        stored = create(self._ledger, values, items)
        stored.update(given_read_only)
        if status is not None:
            self._seed_status(resource, stored, status)
        return stored

    def _seed_status(self, resource: str, document: Record, status: str) -> None:
        kind = SEEDABLE_STATUS.get(resource)
        if kind is None or status == "DRAFT":
            return
        complete = {
            "invoices": invoicing.complete_invoice,
            "credit-notes": credit_notes.complete_credit_note,
            "offers": offers.complete_offer,
            "reminders": dunning.complete_reminder,
        }[resource]
        given_number = document.get(kind.number_field) if kind.number_field else None
        complete(self._ledger, document)
        if given_number and kind.number_field:
            document[kind.number_field] = given_number
        if resource == "invoices" and status == "PAID" and document["open_amount"] > 0:
            invoicing.book_payment(
                self._ledger,
                {
                    "invoice_id": document["id"],
                    "amount": document["open_amount"],
                    "type": "BANK_TRANSFER",
                    "mark_invoice_as_paid": True,
                },
            )
        elif resource == "invoices" and status == "CANCELED":
            invoicing.cancel_invoice(self._ledger, document)
        elif resource == "credit-notes" and status == "PAID" and document["open_amount"] > 0:
            credit_notes.book_payment(
                self._ledger,
                {
                    "credit_note_id": document["id"],
                    "amount": document["open_amount"],
                    "type": "BANK_TRANSFER",
                    "mark_credit_note_as_paid": True,
                },
            )
        elif resource == "credit-notes" and status == "CANCELED":
            credit_notes.cancel_credit_note(self._ledger, document)
        else:
            set_status(self._ledger, kind, document, status)
