"""What every webhook route does around its own parsing: raw body, secrets, dedupe, enqueue.

boto3 is imported on first use, not at import time: the intake must answer Qonto within
one second, and boto3 is the largest part of a cold start.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import time
from dataclasses import dataclass
from functools import cache
from typing import Any

from autopilot.secrets import read_json_secret
from autopilot.settings import IntakeSettings

MAX_BODY_BYTES = 1024 * 1024
DELIVERY_RECORD_DAYS = 7  # longer than every sender's retry window (Shopify 4 h, HubSpot 3 d)
UNSET_SECRET_VALUES = {"", "-"}


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


def parse_json(data: bytes) -> Any:
    """The body as JSON, or a 400 naming the problem."""
    try:
        return json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise RequestRejected(400, "invalid_json", f"body is not JSON: {exc}") from exc


def webhook_secrets(source: str) -> list[str]:
    """The configured secrets for ``source`` (a JSON list means several, for rotation).

    An unset secret ("" or "-") means the source is not in use: its requests are refused,
    never checked against an empty key.
    """
    settings = intake_settings()
    value: Any = read_json_secret(settings.webhook_secrets_arn).get(source, "")
    if isinstance(value, str) and value.startswith("["):
        with contextlib.suppress(json.JSONDecodeError):
            value = json.loads(value)
    candidates = value if isinstance(value, list) else [value]
    secrets = [str(s) for s in candidates if str(s) not in UNSET_SECRET_VALUES]
    if not secrets:
        raise RequestRejected(401, "invalid_signature", "signature could not be verified")
    return secrets


@cache
def _aws_client(service: str) -> Any:
    import boto3

    return boto3.client(service)


@dataclass(frozen=True)
class DeliveryRecord:
    """Remembers a delivery so a redelivery is acknowledged without queueing it twice."""

    key: str

    @property
    def record_id(self) -> str:
        return f"delivery#{self.key}"

    def claim(self) -> bool:
        """True when this delivery is new (expired records count as absent)."""
        from botocore.exceptions import ClientError

        now = int(time.time())
        try:
            _aws_client("dynamodb").put_item(
                TableName=intake_settings().idempotency_table,
                Item={
                    "id": {"S": self.record_id},
                    "status": {"S": "QUEUED"},
                    "expiration": {"N": str(now + DELIVERY_RECORD_DAYS * 86400)},
                },
                ConditionExpression="attribute_not_exists(id) OR expiration < :now",
                ExpressionAttributeValues={":now": {"N": str(now)}},
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def release(self) -> None:
        """Forget the delivery (enqueueing failed: the sender's retry must go through)."""
        _aws_client("dynamodb").delete_item(
            TableName=intake_settings().idempotency_table, Key={"id": {"S": self.record_id}}
        )


def enqueue_once(
    queue_url: str, dedupe_key: str, message: dict[str, Any], correlation_id: str
) -> str:
    """Queue ``message`` unless this delivery was queued before; returns queued|duplicate.

    If the queue cannot take the message the delivery record is released and a 503 tells
    the sender to retry, so nothing is lost.
    """
    record = DeliveryRecord(dedupe_key)
    if not record.claim():
        return "duplicate"
    try:
        _aws_client("sqs").send_message(
            QueueUrl=queue_url,
            MessageBody=json.dumps(message, separators=(",", ":")),
            MessageAttributes={
                "correlation_id": {"DataType": "String", "StringValue": correlation_id}
            },
        )
    except Exception as exc:
        record.release()
        raise RequestRejected(
            503, "queue_unavailable", "the delivery could not be queued; please retry"
        ) from exc
    return "queued"
