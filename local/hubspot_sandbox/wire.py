"""HubSpot's JSON dialect: ISO timestamps with ``Z``, string property values, error bodies."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from local.billomat_sandbox.clock import as_utc

from .exchange import HubSpotResponse

JSON_TYPE = "application/json;charset=utf-8"
HTML_TYPE = "text/html; charset=utf-8"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

AUTH_MESSAGE = (
    "Authentication credentials not found. This API supports OAuth 2.0 authentication and you "
    "can find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview"
)
SCOPES_MESSAGE = "This app hasn't been granted all required scopes to make this call."
RATE_LIMIT_MESSAGE = "You have reached your ten_secondly_rolling limit."
NOT_FOUND_MESSAGE = "Object not found.  objectId are usually numeric."


def iso(moment: datetime) -> str:
    """``2025-01-10T08:00:00Z``; milliseconds (``.123Z``) only when the instant has them."""
    utc = as_utc(moment)
    millis = utc.microsecond // 1000
    if millis:
        return utc.strftime("%Y-%m-%dT%H:%M:%S") + f".{millis:03d}Z"
    return utc.strftime("%Y-%m-%dT%H:%M:%SZ")


def epoch_millis(moment: datetime) -> int:
    """Epoch milliseconds of ``moment`` (``occurredAt`` of webhook events)."""
    return (as_utc(moment) - EPOCH) // timedelta(milliseconds=1)


def error_body(message: str, category: str) -> dict[str, Any]:
    """HubSpot's error object with a fresh correlation id."""
    return {
        "status": "error",
        "message": message,
        "correlationId": str(uuid.uuid4()),
        "category": category,
    }


def rate_limit_body() -> dict[str, Any]:
    """The 429 body of the ten-secondly rolling limit (it has no ``category``)."""
    return {
        "status": "error",
        "message": RATE_LIMIT_MESSAGE,
        "errorType": "RATE_LIMIT",
        "correlationId": str(uuid.uuid4()),
        "policyName": "TEN_SECONDLY_ROLLING",
    }


def json_response(status: int, payload: Any, headers: dict[str, str]) -> HubSpotResponse:
    """A JSON answer (UTF-8, non-ASCII kept as is)."""
    try:
        body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates from a hostile body: escape them instead
        body = json.dumps(payload).encode("ascii")
    return HubSpotResponse(status, {**headers, "Content-Type": JSON_TYPE}, body)


def html_response(
    status: int, title: str, headers: dict[str, str], *, timed_out: bool = False
) -> HubSpotResponse:
    """A gateway-style HTML error page (what a 5xx in front of HubSpot's API looks like)."""
    page = (
        f"<!DOCTYPE html><html><head><title>{status} {title}</title></head>"
        f"<body><h1>{title}</h1></body></html>"
    ).encode()
    return HubSpotResponse(status, {**headers, "Content-Type": HTML_TYPE}, page, timed_out)


def property_value(value: object) -> str | None:
    """A value from a write body in HubSpot's dialect: strings stay, numbers and booleans become
    strings, ``None`` and ``""`` clear the property. Raises ``TypeError`` for lists and objects.
    """
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise TypeError("not UTF-8 text (lone surrogate)") from None
        return value
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    raise TypeError(f"not a property value: {type(value).__name__}")
