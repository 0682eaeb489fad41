"""``HubSpotSandbox``: an in-memory HubSpot portal behind the CRM v3 calls of the deal workflow.

One lock serialises every request and hook, so the sandbox may be called from many threads
(local mode serves each request on its own thread). Request pipeline: auth (401) → rate limit
(429) → injected fault → route (404/405) → scope (403) → endpoint.
"""

from __future__ import annotations

import hmac
import logging
import threading
from collections.abc import Iterable, Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any

import httpx

from local.billomat_sandbox.clock import SandboxClock

from .amounts import Number
from .credentials import (
    DEV_ACCESS_TOKEN,
    DEV_APP_ID,
    DEV_PORTAL_ID,
    DEV_SUBSCRIPTION_ID,
    SCOPES,
)
from .crm import CUSTOM_DEAL_PROPERTIES, OBJECT_TYPES, CrmStore
from .deals import READ_ONLY_DEAL_PROPERTIES, apply_update, check_update
from .exchange import HubSpotRequest, HubSpotResponse
from .faults import FaultKind, FaultPlan
from .journal import RequestRecord
from .pipelines import pipelines_json
from .rate_limit import LIMIT, WINDOW_SECONDS, RollingWindow
from .routes import ApiError, HubSpotApi
from .seeding import company_values, contact_values, deal_values, line_item_values
from .server import HubSpotServer
from .transport import HubSpotTransport
from .webhooks import PROPERTY_CHANGE, deal_event
from .wire import (
    AUTH_MESSAGE,
    SCOPES_MESSAGE,
    epoch_millis,
    error_body,
    html_response,
    iso,
    json_response,
    property_value,
    rate_limit_body,
)

logger = logging.getLogger(__name__)


class HubSpotSandbox:
    """An emulated HubSpot portal (wire contract: ``/tmp/hubspot_contract.md``, facts:
    ``/work/shared/reference/webhooks.md`` §3).

    Use it in-process through :meth:`transport` or over real HTTP through :meth:`serve`; seed
    it with ``add_*`` and move deals with :meth:`move_deal`. ``deal_properties`` are the custom
    deal properties defined on top of the standard ones (default: the three Billomat
    write-back properties; ``()`` gives a portal without them).
    """

    def __init__(
        self,
        access_token: str = DEV_ACCESS_TOKEN,
        *,
        portal_id: int = DEV_PORTAL_ID,
        clock: SandboxClock | None = None,
        deal_properties: Iterable[str] = CUSTOM_DEAL_PROPERTIES,
        app_id: int = DEV_APP_ID,
        subscription_id: int = DEV_SUBSCRIPTION_ID,
        rate_limit: int = LIMIT,
        rate_window_seconds: float = WINDOW_SECONDS,
    ) -> None:
        self.access_token = access_token
        self.portal_id = portal_id
        self.app_id = app_id
        self.subscription_id = subscription_id
        self.clock = clock or SandboxClock()
        self.faults = FaultPlan()
        self.server_timeout_seconds: float = 30.0
        """How long the HTTP server holds a request with a ``timeout`` fault before dropping it."""
        self.fault_retry_after_seconds: int = 1
        """``Retry-After`` of a 429 caused by a ``rate_limit`` fault."""
        self._lock = threading.RLock()
        self._store = CrmStore(deal_properties)
        self._api = HubSpotApi(self._store, self.clock)
        self._quota = RollingWindow(rate_limit, rate_window_seconds)
        self._scopes = set(SCOPES)
        self._requests: list[RequestRecord] = []
        self._events: list[dict[str, Any]] = []
        self._next_event_id = 1

    # --- ways in ------------------------------------------------------------------------------

    def transport(self) -> httpx.BaseTransport:
        """An httpx transport answering from this sandbox (any host; paths as on api.hubapi.com)."""
        return HubSpotTransport(self)

    def serve(self, host: str = "127.0.0.1", port: int = 0) -> HubSpotServer:
        """Serve the API over HTTP on a background thread; ``port=0`` picks a free port."""
        return HubSpotServer(self, host, port)

    def handle(self, request: HubSpotRequest) -> HubSpotResponse:
        """Answer one request (the transport and the server both come through here)."""
        with self._lock:
            try:
                response = self._answer(request)
            except Exception as error:  # a sandbox bug must not look like a hung server
                logger.exception("hubspot sandbox failed on %s %s", request.method, request.path)
                body = error_body(f"Sandbox error: {error!r}", "INTERNAL_ERROR")
                response = json_response(500, body, self._quota.state(self.clock.epoch()).headers())
            query: dict[str, str] = {}
            for name, value in request.query:
                query[name] = f"{query[name]},{value}" if name in query else value
            self._requests.append(
                RequestRecord(
                    method=request.method.upper(),
                    path=request.path,
                    query=query,
                    status=response.status,
                    body=request.body.decode("utf-8", errors="replace"),
                    at=self.clock.now(),
                    timed_out=response.timed_out,
                )
            )
        return response

    # --- request pipeline ---------------------------------------------------------------------

    def _authenticated(self, headers: Mapping[str, str]) -> bool:
        scheme, _, token = headers.get("authorization", "").strip().partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(
            token.strip().encode(), self.access_token.encode()
        )

    def _answer(self, request: HubSpotRequest) -> HubSpotResponse:
        method = request.method.upper()
        route = request.route
        now = self.clock.epoch()
        if not self._authenticated(request.headers):
            headers = self._quota.count(now).headers()
            return json_response(401, error_body(AUTH_MESSAGE, "INVALID_AUTHENTICATION"), headers)
        state = self._quota.state(now)
        if state.remaining == 0:
            return json_response(429, rate_limit_body(), state.refused_headers())
        fault = self.faults.take(method, route)
        if fault is FaultKind.RATE_LIMIT:
            refused = replace(state, retry_after=max(1, self.fault_retry_after_seconds))
            return json_response(429, rate_limit_body(), refused.refused_headers())
        headers = self._quota.count(now).headers()
        if fault is FaultKind.UNAUTHORIZED:
            return json_response(401, error_body(AUTH_MESSAGE, "INVALID_AUTHENTICATION"), headers)
        if fault is FaultKind.FORBIDDEN:
            return json_response(403, error_body(SCOPES_MESSAGE, "MISSING_SCOPES"), headers)
        if fault is FaultKind.SERVER_ERROR:
            return html_response(502, "Bad Gateway", headers)
        if fault is FaultKind.TIMEOUT:
            return html_response(504, "Gateway Time-out", headers, timed_out=True)
        try:
            match = self._api.match(method, route)
            if match.endpoint.scope not in self._scopes:
                response = json_response(403, error_body(SCOPES_MESSAGE, "MISSING_SCOPES"), headers)
            else:
                reply = match.run(request)
                response = json_response(reply.status, reply.payload, {**headers, **reply.headers})
        except ApiError as error:
            response = json_response(error.status, error.body(), {**headers, **error.headers})
        if fault is FaultKind.COMMIT_THEN_FAIL:
            body = error_body("internal error", "INTERNAL_ERROR")
            return json_response(500, body, headers)
        return response

    # --- seeding ------------------------------------------------------------------------------

    def add_company(
        self,
        name: str,
        *,
        address: str | None = None,
        address2: str | None = None,
        zip: str | None = None,
        city: str | None = None,
        country: str | None = None,
        domain: str | None = None,
        phone: str | None = None,
    ) -> str:
        """Create a company; returns its id (``"6001"``, ``"6002"``...)."""
        values = company_values(
            name,
            address=address,
            address2=address2,
            zip=zip,
            city=city,
            country=country,
            domain=domain,
            phone=phone,
        )
        with self._lock:
            return self._store.create("companies", values, self.clock.now()).id

    def add_contact(
        self,
        firstname: str,
        lastname: str,
        email: str,
        *,
        phone: str | None = None,
        company: str | None = None,
    ) -> str:
        """Create a contact; returns its id (``"8001"``...). ``company`` is the text field."""
        values = contact_values(firstname, lastname, email, phone=phone, company=company)
        with self._lock:
            return self._store.create("contacts", values, self.clock.now()).id

    def add_line_item(
        self,
        name: str,
        quantity: Number,
        price: Number,
        *,
        sku: str | None = None,
        discount_percentage: Number | None = None,
        discount: Number | None = None,
        description: str | None = None,
        tax_rate_group_id: str | None = None,
    ) -> str:
        """Create a line item (numbers kept as given, ``amount`` computed); returns its id."""
        values = line_item_values(
            name,
            quantity,
            price,
            sku=sku,
            discount_percentage=discount_percentage,
            discount=discount,
            description=description,
            tax_rate_group_id=tax_rate_group_id,
        )
        with self._lock:
            return self._store.create("line_items", values, self.clock.now()).id

    def add_deal(
        self,
        name: str,
        *,
        amount: Number | None = None,
        stage: str = "appointmentscheduled",
        pipeline: str = "default",
        currency: str | None = "EUR",
        company: str | int | None = None,
        contacts: Iterable[str | int] = (),
        line_items: Iterable[str | int] = (),
        closedate: str | datetime | None = None,
        description: str | None = None,
        properties: Mapping[str, object] | None = None,
    ) -> str:
        """Create a deal associated with a company, contacts (the first is the primary one) and
        line items; returns its id (``"5001"``...).

        ``properties`` sets further defined deal properties (e.g. ``billomat_offer_number``).
        A deal created in a closed stage without ``closedate`` gets the current time as it.
        Raises ``ValueError`` for unknown stages, ids or properties, or a line item that
        already belongs to another deal.
        """
        with self._lock:
            now = self.clock.now()
            extra = self._extra_deal_values(properties or {})
            values = deal_values(
                name,
                amount=amount,
                stage=stage,
                pipeline=pipeline,
                currency=currency,
                closedate=closedate,
                description=description,
                extra=extra,
                now=now,
            )
            links = [("companies", str(company))] if company is not None else []
            links += [("contacts", str(each)) for each in contacts]
            links += [("line_items", str(each)) for each in line_items]
            for object_type, object_id in links:
                self._require(object_type, object_id)
                if object_type == "line_items" and self._store.associated(
                    "line_items", object_id, "deals"
                ):
                    raise ValueError(f"line item {object_id} already belongs to a deal")
            deal = self._store.create("deals", values, now)
            for object_type, object_id in links:
                self._store.associate("deals", deal.id, object_type, object_id)
            return deal.id

    def _extra_deal_values(self, properties: Mapping[str, object]) -> dict[str, str | None]:
        values: dict[str, str | None] = {}
        for name, value in properties.items():
            if not self._store.is_defined("deals", name):
                raise ValueError(f"deal property {name!r} is not defined in this portal")
            if name in READ_ONLY_DEAL_PROPERTIES:
                raise ValueError(f"deal property {name!r} is read-only")
            try:
                values[name] = property_value(value)
            except TypeError as error:
                raise ValueError(f"deal property {name!r}: {error}") from None
        return values

    def _require(self, object_type: str, object_id: str | int) -> Any:
        try:
            return self._store.require(object_type, str(object_id))
        except KeyError as error:
            raise ValueError(error.args[0]) from None

    # --- deals moving on ----------------------------------------------------------------------

    def move_deal(
        self, deal_id: str | int, stage: str, *, pipeline: str | None = None
    ) -> dict[str, Any]:
        """Move a deal to ``stage`` (of its pipeline, or of ``pipeline`` when given) as a user in
        HubSpot would; returns the ``deal.propertyChange`` event HubSpot would send for it.
        """
        with self._lock:
            deal = self._require("deals", deal_id)
            values: dict[str, str | None] = {"dealstage": stage}
            if pipeline is not None:
                values["pipeline"] = pipeline
            errors = check_update(self._store, deal, values)
            if errors:
                raise ValueError("; ".join(each.message for each in errors))
            apply_update(deal, values, self.clock.now())
            return self.deal_event(deal_id)

    def deal_event(
        self,
        deal_id: str | int,
        *,
        subscription_type: str = PROPERTY_CHANGE,
        event_id: int | None = None,
        occurred_at: int | datetime | None = None,
        change_source: str = "CRM_UI",
    ) -> dict[str, Any]:
        """A webhook event for the deal as it is now (``propertyValue``: its current stage).

        ``event_id`` defaults to the next of an increasing sequence; ``occurred_at`` (epoch ms
        or a datetime) to the clock. Every event made is kept in :attr:`webhook_events`.
        """
        with self._lock:
            deal = self._require("deals", deal_id)
            if event_id is None:
                event_id = self._next_event_id
            self._next_event_id = max(self._next_event_id, event_id + 1)
            if occurred_at is None:
                occurred_at = self.clock.now()
            millis = epoch_millis(occurred_at) if isinstance(occurred_at, datetime) else occurred_at
            event = deal_event(
                event_id=event_id,
                subscription_id=self.subscription_id,
                portal_id=self.portal_id,
                app_id=self.app_id,
                occurred_at=millis,
                subscription_type=subscription_type,
                deal_id=int(deal.id),
                stage=deal.properties.get("dealstage"),
                change_source=change_source,
            )
            self._events.append(event)
            return dict(event)

    # --- reading state (for assertions) -------------------------------------------------------

    def _properties(self, object_type: str, object_id: str | int) -> dict[str, str | None]:
        with self._lock:
            record = self._require(object_type, object_id)
            return {
                name: self._store.value(record, name) for name in self._store.defined(object_type)
            }

    def deal(self, deal_id: str | int) -> dict[str, str | None]:
        """Every defined property of the deal (``None`` where unset)."""
        return self._properties("deals", deal_id)

    def company(self, company_id: str | int) -> dict[str, str | None]:
        """Every defined property of the company."""
        return self._properties("companies", company_id)

    def contact(self, contact_id: str | int) -> dict[str, str | None]:
        """Every defined property of the contact."""
        return self._properties("contacts", contact_id)

    def line_item(self, line_item_id: str | int) -> dict[str, str | None]:
        """Every defined property of the line item."""
        return self._properties("line_items", line_item_id)

    def associations(self, deal_id: str | int) -> dict[str, list[str]]:
        """Ids of the deal's companies, contacts and line items, in association order."""
        with self._lock:
            deal = self._require("deals", deal_id)
            return {
                other: self._store.associated("deals", deal.id, other)
                for other in ("companies", "contacts", "line_items")
            }

    def snapshot(self) -> dict[str, Any]:
        """Everything in the portal as plain JSON-able data (for demo printouts)."""
        with self._lock:
            state: dict[str, Any] = {
                "portalId": self.portal_id,
                "now": iso(self.clock.now()),
                "dealProperties": list(self._store.defined("deals")),
                "grantedScopes": sorted(self._scopes),
                "pipelines": pipelines_json()["results"],
            }
            for object_type in OBJECT_TYPES:
                state[object_type] = [
                    self._store.to_json(record) for record in self._store.all(object_type)
                ]
            state["webhookEvents"] = [dict(event) for event in self._events]
            state["requestCount"] = len(self._requests)
            return state

    # --- portal settings ----------------------------------------------------------------------

    @property
    def deal_properties(self) -> tuple[str, ...]:
        """Every property defined for deals."""
        with self._lock:
            return self._store.defined("deals")

    def define_deal_property(self, name: str) -> None:
        """Define a custom deal property."""
        with self._lock:
            self._store.define_deal_property(name)

    def undefine_deal_property(self, name: str) -> None:
        """Delete a custom deal property (and its values): writes to it then answer 400."""
        with self._lock:
            self._store.undefine_deal_property(name)

    @property
    def granted_scopes(self) -> frozenset[str]:
        """Scopes the token has; an endpoint needing another answers 403 ``MISSING_SCOPES``."""
        with self._lock:
            return frozenset(self._scopes)

    def revoke_scopes(self, *scopes: str) -> None:
        """Take scopes from the token (all of them when none are named)."""
        with self._lock:
            self._scopes -= self._known_scopes(scopes) if scopes else set(SCOPES)

    def grant_scopes(self, *scopes: str) -> None:
        """Give scopes back (all of them when none are named)."""
        with self._lock:
            self._scopes |= self._known_scopes(scopes) if scopes else set(SCOPES)

    @staticmethod
    def _known_scopes(scopes: Iterable[str]) -> set[str]:
        unknown = sorted(set(scopes) - SCOPES)
        if unknown:
            raise ValueError(
                f"unknown scopes {', '.join(unknown)} (known: {', '.join(sorted(SCOPES))})"
            )
        return set(scopes)

    def reset_rate_limit(self) -> None:
        """Forget the requests counted in the rolling window."""
        with self._lock:
            self._quota.reset()

    # --- journal ------------------------------------------------------------------------------

    @property
    def requests(self) -> list[RequestRecord]:
        """Every request received so far, oldest first (refused ones included)."""
        with self._lock:
            return list(self._requests)

    @property
    def request_count(self) -> int:
        """How many requests were received (refused ones included)."""
        with self._lock:
            return len(self._requests)

    def clear_journal(self) -> None:
        """Forget the recorded requests (not the rate-limit window, not the events)."""
        with self._lock:
            self._requests.clear()

    @property
    def webhook_events(self) -> list[dict[str, Any]]:
        """Every event made by :meth:`move_deal` and :meth:`deal_event`, in order."""
        with self._lock:
            return [dict(event) for event in self._events]
