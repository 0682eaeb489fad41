"""HubSpot app webhooks: ``POST /webhooks/hubspot/deals`` (reference/webhooks.md §3).

HubSpot POSTs a JSON array of 1 to 100 events, signed ``X-HubSpot-Signature-v3``:
base64(HMAC-SHA256(client secret, method + URI + raw body + timestamp)), the timestamp in
``X-HubSpot-Request-Timestamp`` (epoch ms). A missing or wrong signature, or a timestamp more
than five minutes off either way, is a 401 and nothing is stored. The URI is the one HubSpot
called: ``PUBLIC_BASE_URL`` (template.yaml sets it to the ``PublicBaseUrl`` parameter or the
API's own execute-api URL) + the raw path (+ ``?query`` if the URL has one). A deployment
without ``PUBLIC_BASE_URL`` checks against ``https://<requestContext.domainName>`` instead, the
host API Gateway was reached on; never against nothing. The secret is
``hubspot_client_secret`` of the webhook secrets (a JSON list of several for rotation).

Every event is validated (strict types, bounded ids, times and texts; a 400 names the field as
``[3].objectId``). ``deal.creation`` events and ``deal.propertyChange`` events of
``dealstage`` are kept; everything else is acknowledged with 200 and counted as ignored (a
4xx would lose the events HubSpot sent with them).

One message per deal: the kept events are grouped by (portalId, objectId) and only the newest
(by occurredAt, then eventId) is queued, as ``DealMessage``, because the deal worker reads
the deal's current state from the CRM anyway. Its transport dedupe key is that event's
``hubspot:<portal>:event:<eventId>``:

- a redelivered batch (same events) picks the same newest event per deal: ``duplicate``;
- a later batch that overlaps an earlier one is queued for a deal only when its newest event
  for that deal is not the one an earlier batch queued. That can queue a deal once more (its
  newest event here was an older event of an earlier batch, never recorded itself) — harmless,
  the worker is idempotent per deal — but it never skips a change: a message is only skipped
  when one was queued after that very event had happened, and the worker reads the CRM after
  that. Recording every event instead would cost two DynamoDB writes per event (up to 200 for
  a batch) to save an occasional extra message.

HubSpot may not retry a 4xx (§3.4), so a deal whose delivery another request is queueing at
this moment (the intake's 409 elsewhere) makes the whole answer a 503: if that other request
fails after HubSpot gave up on it, this retry must still bring the event. The deals of a
batch are queued in parallel so that even 100 deals answer well within HubSpot's timeout.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Annotated, Any

from aws_lambda_powertools import Logger
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from autopilot.messages import HUBSPOT_ID_LIMIT, DealMessage
from autopilot.signatures import verify_hubspot_v3_signature

from .deliveries import (
    MAX_STRING_CHARACTERS,
    RequestRejected,
    enqueue_once,
    intake_settings,
    parse_json,
    validation_problems,
    webhook_secrets,
)

logger = Logger(service="webhooks")

MAX_EVENTS = 100
OCCURRED_AT_MIN = 946_684_800_000  # 2000-01-01T00:00:00Z in epoch ms
OCCURRED_AT_MAX = 4_102_444_800_000  # 2100-01-01T00:00:00Z in epoch ms
DEAL_CREATION = "deal.creation"
DEAL_PROPERTY_CHANGE = "deal.propertyChange"
DEAL_STAGE_PROPERTY = "dealstage"
PARALLEL_DEALS = 8  # within botocore's connection pool of 10

HubSpotId = Annotated[int, Field(ge=1, le=HUBSPOT_ID_LIMIT)]
ShortText = Annotated[str, Field(min_length=1, max_length=256)]


class HubSpotEvent(BaseModel):
    """One element of HubSpot's array, any subscription type (unknown fields are ignored).

    ``objectId`` is optional here because association changes carry ``fromObjectId`` and
    ``toObjectId`` instead; the events that are kept must have it.
    """

    model_config = ConfigDict(strict=True, extra="ignore", frozen=True)

    eventId: int = Field(ge=0, le=HUBSPOT_ID_LIMIT)
    portalId: HubSpotId
    occurredAt: int = Field(ge=OCCURRED_AT_MIN, lt=OCCURRED_AT_MAX)
    """Epoch milliseconds."""
    subscriptionType: str = Field(min_length=1, max_length=100)
    objectId: HubSpotId | None = None
    subscriptionId: HubSpotId | None = None
    appId: HubSpotId | None = None
    attemptNumber: int | None = Field(default=None, ge=0, le=1_000_000)
    propertyName: ShortText | None = None
    propertyValue: str | None = Field(default=None, max_length=MAX_STRING_CHARACTERS)
    changeSource: ShortText | None = None
    sourceId: ShortText | None = None

    @property
    def is_deal_change(self) -> bool:
        """A new deal or a new stage: what the deal workflow acts on."""
        if self.subscriptionType == DEAL_CREATION:
            return True
        return (
            self.subscriptionType == DEAL_PROPERTY_CHANGE
            and self.propertyName == DEAL_STAGE_PROPERTY
        )


@dataclass(frozen=True)
class RequestTarget:
    """What HubSpot signs besides the body and timestamp: the method and the URL it called."""

    method: str
    path: str
    query: str = ""
    domain: str | None = None

    @classmethod
    def from_http_api_event(cls, event: Mapping[str, Any]) -> RequestTarget:
        """From an API Gateway HTTP API (payload 2.0) event."""
        context = event.get("requestContext") or {}
        http = context.get("http") or {}
        return cls(
            method=str(http.get("method") or "POST"),
            path=str(event.get("rawPath") or http.get("path") or ""),
            query=str(event.get("rawQueryString") or ""),
            domain=context.get("domainName") or None,
        )

    def signed_uri(self, public_base_url: str | None) -> str | None:
        """The full URL HubSpot signed, or None when it cannot be known."""
        base = (public_base_url or "").strip().rstrip("/")
        if not base:
            if not self.domain:
                return None
            base = f"https://{self.domain}"
        return base + self.path + (f"?{self.query}" if self.query else "")


def _require_signature(headers: dict[str, str], body: bytes, target: RequestTarget) -> None:
    uri = target.signed_uri(intake_settings().public_base_url)
    if uri is None:
        logger.error("HubSpot signatures cannot be checked: no PUBLIC_BASE_URL, no request domain")
    if uri is None or not verify_hubspot_v3_signature(
        target.method,
        uri,
        body,
        headers.get("x-hubspot-signature-v3"),
        headers.get("x-hubspot-request-timestamp"),
        webhook_secrets("hubspot_client_secret"),
        now=time.time(),
    ):
        raise RequestRejected(
            401,
            "invalid_signature",
            "signature could not be verified (or its timestamp is more than 5 minutes off)",
        )


def _events(data: Any) -> list[HubSpotEvent]:
    """The body's events, or a 400 naming every bad field (``[3].objectId``)."""
    if not isinstance(data, list):
        raise RequestRejected(400, "invalid_payload", "the body must be a JSON array of events")
    if not data:
        raise RequestRejected(400, "invalid_payload", "the body must hold at least one event")
    if len(data) > MAX_EVENTS:
        raise RequestRejected(
            400,
            "invalid_payload",
            f"the body holds {len(data)} events; at most {MAX_EVENTS} are accepted",
        )
    events: list[HubSpotEvent] = []
    problems: list[dict[str, str]] = []
    for index, item in enumerate(data):
        if not isinstance(item, dict):
            problems.append({"field": f"[{index}]", "message": "an event must be a JSON object"})
            continue
        try:
            event = HubSpotEvent.model_validate(item)
        except ValidationError as exc:
            problems += [
                {"field": f"[{index}].{p['field']}", "message": p["message"]}
                for p in validation_problems(exc)
            ]
            continue
        if event.is_deal_change and event.objectId is None:
            problems.append({"field": f"[{index}].objectId", "message": "Field required"})
        events.append(event)
    problems += _contradictions(events)
    if problems:
        raise RequestRejected(
            400,
            "invalid_payload",
            "the events do not have the expected shape",
            problems=problems[:20],
        )
    return events


def _contradictions(events: list[HubSpotEvent]) -> list[dict[str, str]]:
    """An event id that names two different deals of one portal (the dedupe key would hide
    the second)."""
    seen: dict[tuple[int, int], int | None] = {}
    problems = []
    for index, event in enumerate(events):
        key = (event.portalId, event.eventId)
        if key in seen and seen[key] != event.objectId:
            problems.append(
                {"field": f"[{index}].eventId", "message": "the same eventId names another object"}
            )
        seen.setdefault(key, event.objectId)
    return problems


def _newest_per_deal(events: list[HubSpotEvent]) -> list[DealMessage]:
    """One message per deal, from its newest event (by occurredAt, then eventId), in batch
    order."""
    newest: dict[tuple[int, int], HubSpotEvent] = {}
    for event in events:
        assert event.objectId is not None  # checked in _events for every kept event
        key = (event.portalId, event.objectId)
        current = newest.get(key)
        if current is None or (event.occurredAt, event.eventId) > (
            current.occurredAt,
            current.eventId,
        ):
            newest[key] = event
    return [
        DealMessage(
            portal_id=portal_id,
            deal_id=deal_id,
            event_id=event.eventId,
            occurred_at=event.occurredAt,
        )
        for (portal_id, deal_id), event in newest.items()
    ]


def _queue(message: DealMessage) -> str:
    key = f"hubspot:{message.portal_id}:event:{message.event_id}"
    return enqueue_once(intake_settings().deals_queue_url, key, message)


def _queue_all(messages: list[DealMessage]) -> list[str]:
    """queued|duplicate per message, queued in parallel; a 503 when any could not be queued."""
    with ThreadPoolExecutor(max_workers=min(PARALLEL_DEALS, len(messages))) as pool:
        futures = [pool.submit(_queue, message) for message in messages]
    errors = [error for future in futures if (error := future.exception()) is not None]
    for error in errors:
        if not isinstance(error, RequestRejected) or error.status_code != 409:
            raise error  # the queue is unavailable (503) or AWS failed: HubSpot retries
    if errors:  # another request is queueing one of these deals right now
        raise RequestRejected(
            503,
            "delivery_in_progress",
            "a deal of this batch is being queued by another request; please retry",
        )
    return [future.result() for future in futures]


def hubspot_deals(headers: dict[str, str], body: bytes, target: RequestTarget) -> dict[str, Any]:
    """``POST /webhooks/hubspot/deals``: verify, validate, queue one message per deal."""
    _require_signature(headers, body, target)
    events = _events(parse_json(body))
    kept = [event for event in events if event.is_deal_change]
    ignored = len(events) - len(kept)
    if not kept:
        return {"status": "ignored", "deals": [], "ignored": ignored}
    messages = _newest_per_deal(kept)
    statuses = _queue_all(messages)
    deals = [
        {"deal": message.correlation_id, "status": status}
        for message, status in zip(messages, statuses, strict=True)
    ]
    overall = "queued" if "queued" in statuses else "duplicate"
    return {"status": overall, "deals": deals, "ignored": ignored}
