"""What every webhook route does around its own parsing: raw body, secrets, dedupe, enqueue.

boto3 is imported on first use, not at import time: the intake must answer Qonto within
one second, and boto3 is the largest part of a cold start.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import re
import time
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from functools import cache
from typing import Any

from aws_lambda_powertools import Logger
from pydantic import ValidationError

from autopilot.messages import Message, message_body
from autopilot.secrets import UNSET_SECRET_VALUES, read_json_secret
from autopilot.settings import IntakeSettings
from autopilot.shop_identity import (
    UnknownShopError,
    shopify_domain,
    woocommerce_match_key,
    woocommerce_site,
)

logger = Logger(service="webhooks")

MAX_BODY_BYTES = 1024 * 1024
DELIVERY_RECORD_DAYS = 7  # longer than every sender's retry window (Shopify 4 h, HubSpot 3 d)
CLAIM_SECONDS = 30  # longer than the intake's 5 s timeout, shorter than any sender's retry


class RequestRejected(Exception):
    """Stops handling a request with a JSON error response."""

    def __init__(self, status_code: int, error: str, message: str, **details: Any) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.payload: dict[str, Any] = {"error": error, "message": message, **details}


@cache
def intake_settings() -> IntakeSettings:
    """The intake's configuration, parsed once per container."""
    return IntakeSettings.from_env()


def validation_problems(error: ValidationError) -> list[dict[str, str]]:
    """The bad fields of a payload as ``{"field": "line_items.0.price", "message": ...}``."""
    return [
        {
            "field": ".".join(str(part) for part in problem["loc"]) or "body",
            "message": problem["msg"],
        }
        for problem in error.errors(include_url=False)
    ]


def raw_body(body: str | None, is_base64_encoded: bool) -> bytes:
    """The exact bytes the sender signed (API Gateway base64-encodes non-text bodies)."""
    if body is None:
        return b""
    if is_base64_encoded:
        try:
            data = base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise RequestRejected(400, "invalid_body", "body is not valid base64") from exc
    else:
        data = body.encode("utf-8")
    if len(data) > MAX_BODY_BYTES:
        raise RequestRejected(
            413, "payload_too_large", f"body is larger than {MAX_BODY_BYTES} bytes"
        )
    return data


# Bounds of a JSON body, checked before any model sees it (issue #8 §3): a hostile but
# correctly signed body must get a 400 naming the problem, never a RecursionError, an
# integer of 5,000 digits or a lone surrogate deep inside a worker.
MAX_JSON_DEPTH = 32
MAX_INTEGER_DIGITS = 30
MAX_NUMBER_CHARACTERS = 40
MAX_STRING_CHARACTERS = 20_000
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def _bounded_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INTEGER_DIGITS:
        raise ValueError(f"a number has more than {MAX_INTEGER_DIGITS} digits")
    return int(text)


def _bounded_decimal(text: str) -> Decimal:
    """JSON numbers with a fraction or exponent stay exact: Decimal, never float."""
    if len(text) > MAX_NUMBER_CHARACTERS:
        raise ValueError(f"a number is longer than {MAX_NUMBER_CHARACTERS} characters")
    return Decimal(text)


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _text_problem(text: str) -> str | None:
    if len(text) > MAX_STRING_CHARACTERS:
        return f"text longer than {MAX_STRING_CHARACTERS} characters"
    if _LONE_SURROGATE.search(text):
        return "text is not valid Unicode (a lone surrogate)"
    return None


def _structure_problem(value: Any) -> tuple[str, str] | None:
    """(field, problem) of the first text or nesting beyond the bounds, else None."""
    stack: list[tuple[Any, str, int]] = [(value, "", 0)]
    while stack:
        item, path, depth = stack.pop()
        if depth > MAX_JSON_DEPTH:
            return path or "body", f"nested deeper than {MAX_JSON_DEPTH} levels"
        if isinstance(item, str):
            problem = _text_problem(item)
            if problem:
                return path or "body", problem
        elif isinstance(item, dict):
            for key, child in item.items():
                field = f"{path}.{key}" if path else str(key)
                problem = _text_problem(key)
                if problem:
                    return _printable(field), f"field name: {problem}"
                stack.append((child, field, depth + 1))
        elif isinstance(item, list):
            stack.extend(
                (child, f"{path}.{index}" if path else str(index), depth + 1)
                for index, child in enumerate(item)
            )
    return None


def _printable(field: str) -> str:
    """A field path safe to put in a JSON answer and a log line."""
    return _LONE_SURROGATE.sub("\ufffd", field)[:200]


def parse_json(data: bytes) -> Any:
    """The body as JSON within the bounds above, or a 400 naming the problem.

    Numbers with a fraction or an exponent become ``Decimal``; NaN and Infinity are refused.
    """
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise RequestRejected(400, "invalid_json", f"body is not UTF-8: {exc.reason}") from exc
    try:
        value = json.loads(
            text,
            parse_int=_bounded_int,
            parse_float=_bounded_decimal,
            parse_constant=_no_constant,
        )
    except RecursionError as exc:
        raise RequestRejected(
            400, "invalid_json", f"body is nested deeper than {MAX_JSON_DEPTH} levels"
        ) from exc
    except (ValueError, ArithmeticError) as exc:  # JSONDecodeError is a ValueError
        raise RequestRejected(400, "invalid_json", f"body is not JSON: {exc}") from exc
    problem = _structure_problem(value)
    if problem is not None:
        field, message = problem
        raise RequestRejected(
            400,
            "invalid_payload",
            f"{field}: {message}",
            problems=[{"field": field, "message": message}],
        )
    return value


def parse_json_object(data: bytes) -> dict[str, Any]:
    """The body as a JSON object (see :func:`parse_json`), or a 400."""
    value = parse_json(data)
    if not isinstance(value, dict):
        raise RequestRejected(400, "invalid_payload", "the body must be a JSON object")
    return value


def webhook_secrets(source: str, shop: str | None = None, *, shops_served: int = 1) -> list[str]:
    """The configured secrets for ``source`` (a JSON list means several, for rotation).

    A secret may also be a JSON object naming each shop's own secret(s)
    (``{"shop-a.myshopify.com": "…", "shop-b.myshopify.com": ["…", "…"]}``); then only the
    secrets of ``shop`` count. One plain secret for ``shops_served`` > 1 shops is refused: it
    cannot tell the shops apart, and the shop header is not signed, so a body of shop A sent
    as shop B would become a second order. An unset secret ("" or "-") means the source is
    not in use. Every refusal is a 401, never a check against an empty key.
    """
    settings = intake_settings()
    value: Any = _json_if_structured(read_json_secret(settings.webhook_secrets_arn).get(source))
    if isinstance(value, dict):
        keyed = {_secret_shop_key(source, str(name)): secret for name, secret in value.items()}
        value = keyed.get(_secret_shop_key(source, shop)) if shop else None
    elif shop is not None and shops_served > 1:
        logger.error(
            "several shops share one webhook secret; give each shop its own secret",
            extra={"source": source},
        )
        value = None
    candidates = value if isinstance(value, list) else [value]
    secrets = [str(s) for s in candidates if s is not None and str(s) not in UNSET_SECRET_VALUES]
    if not secrets:
        raise RequestRejected(401, "invalid_signature", "signature could not be verified")
    return secrets


def _json_if_structured(value: Any) -> Any:
    if isinstance(value, str) and value.lstrip().startswith(("[", "{")):
        with contextlib.suppress(json.JSONDecodeError):
            return json.loads(value)
    return value


def _secret_shop_key(source: str, name: str) -> str:
    """A shop named in a per-shop secret, in the form deliveries are matched in."""
    try:
        if source == "shopify":
            return shopify_domain(name)
        return woocommerce_match_key(woocommerce_site(name))
    except UnknownShopError:
        return name


# The intake has 5 s (Shopify's budget) and Qonto allows 1 s: every AWS call must give up
# well inside that instead of botocore's default 60 s, so a hung call cannot hold a claim.
INTAKE_AWS_CONFIG = {
    "connect_timeout": 1,
    "read_timeout": 2,
    "retries": {"mode": "standard", "total_max_attempts": 2},
}


@cache
def _aws_client(service: str) -> Any:
    import boto3
    from botocore.config import Config

    return boto3.client(service, config=Config(**INTAKE_AWS_CONFIG))


class DeliveryState(StrEnum):
    """What the delivery record says."""

    NEW = "new"  # no record (or an expired one): this request must queue the delivery
    IN_PROGRESS = "in_progress"  # a live claim: another request is queueing it right now
    QUEUED = "queued"  # SQS accepted it: a redelivery is a duplicate


@dataclass(frozen=True)
class DeliveryRecord:
    """Remembers a delivery so a redelivery is acknowledged without queueing it twice.

    The record says QUEUED only after SQS accepted the message. Before the send it is a
    CLAIM that expires after ``CLAIM_SECONDS``: if the function dies between claim and
    send (a timeout, a killed container), the sender's retry finds the claim expired and
    queues the delivery. Queueing twice is harmless (the workers are idempotent); never
    queueing is not.
    """

    key: str

    @property
    def record_id(self) -> str:
        return f"delivery#{self.key}"

    def _table(self) -> str:
        return intake_settings().idempotency_table

    def claim(self) -> DeliveryState:
        """Claim the delivery; NEW when this request must queue it."""
        from botocore.exceptions import ClientError

        now = int(time.time())
        dynamodb = _aws_client("dynamodb")
        try:
            dynamodb.put_item(
                TableName=self._table(),
                Item={
                    "id": {"S": self.record_id},
                    "status": {"S": "CLAIMED"},
                    "expiration": {"N": str(now + CLAIM_SECONDS)},
                },
                ConditionExpression="attribute_not_exists(id) OR expiration < :now",
                ExpressionAttributeValues={":now": {"N": str(now)}},
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise
            item = dynamodb.get_item(
                TableName=self._table(), Key={"id": {"S": self.record_id}}, ConsistentRead=True
            ).get("Item", {})
            if item.get("status", {}).get("S") == "QUEUED":
                return DeliveryState.QUEUED
            return DeliveryState.IN_PROGRESS
        return DeliveryState.NEW

    def mark_queued(self) -> None:
        """SQS accepted the message: from now on a redelivery is a duplicate."""
        now = int(time.time())
        _aws_client("dynamodb").put_item(
            TableName=self._table(),
            Item={
                "id": {"S": self.record_id},
                "status": {"S": "QUEUED"},
                "expiration": {"N": str(now + DELIVERY_RECORD_DAYS * 86400)},
            },
        )

    def release(self) -> None:
        """Drop our claim (enqueueing failed: the sender's retry must go through)."""
        _aws_client("dynamodb").delete_item(
            TableName=self._table(),
            Key={"id": {"S": self.record_id}},
            ConditionExpression="#status = :claimed",
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues={":claimed": {"S": "CLAIMED"}},
        )


def enqueue_once(queue_url: str, dedupe_key: str, message: Message) -> str:
    """Queue ``message`` unless this delivery was queued before; returns queued|duplicate.

    A delivery another request is queueing at this moment answers 409 (the sender retries
    and then hears "duplicate"). If the queue cannot take the message the claim is released
    and a 503 tells the sender to retry, so nothing is lost.
    """
    record = DeliveryRecord(dedupe_key)
    state = record.claim()
    if state is DeliveryState.QUEUED:
        return "duplicate"
    if state is DeliveryState.IN_PROGRESS:
        raise RequestRejected(
            409,
            "delivery_in_progress",
            "this delivery is being queued by another request; please retry",
        )
    try:
        _aws_client("sqs").send_message(
            QueueUrl=queue_url,
            MessageBody=message_body(message),
            MessageAttributes={
                "correlation_id": {"DataType": "String", "StringValue": message.correlation_id}
            },
        )
    except Exception as exc:
        with contextlib.suppress(Exception):
            record.release()  # if even this fails, the claim expires by itself
        raise RequestRejected(
            503, "queue_unavailable", "the delivery could not be queued; please retry"
        ) from exc
    record.mark_queued()
    return "queued"
