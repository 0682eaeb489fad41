"""Build the events AWS would deliver, so local mode runs the unchanged Lambda handlers."""

from __future__ import annotations

import base64
import time
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

# API Gateway HTTP API passes these content types as text; everything else arrives
# base64-encoded (reference/webhooks.md §5.3), e.g. WooCommerce's form-encoded ping.
_TEXT_CONTENT_TYPES = ("text/", "application/json", "application/xml", "application/javascript")


def is_text_content_type(content_type: str | None) -> bool:
    """True when API Gateway would hand the body to Lambda as plain text."""
    if not content_type:
        return False
    lowered = content_type.lower()
    return any(lowered.startswith(prefix) for prefix in _TEXT_CONTENT_TYPES)


def http_api_event(
    method: str,
    path: str,
    headers: Mapping[str, str],
    body: bytes,
    query_string: str = "",
    source_ip: str = "127.0.0.1",
) -> dict[str, Any]:
    """An API Gateway HTTP API payload-format-2.0 event, as `$default` stage delivers it."""
    lowered: dict[str, str] = {}
    for name, value in headers.items():
        key = name.lower()
        # duplicate headers arrive comma-joined in one string
        lowered[key] = f"{lowered[key]},{value}" if key in lowered else value
    text = is_text_content_type(lowered.get("content-type"))
    if body and text:
        try:
            payload: str | None = body.decode("utf-8")
            encoded = False
        except UnicodeDecodeError:
            payload, encoded = base64.b64encode(body).decode("ascii"), True
    elif body:
        payload, encoded = base64.b64encode(body).decode("ascii"), True
    else:
        payload, encoded = None, False
    now = datetime.now(UTC)
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": f"{method} {path}",
        "rawPath": path,
        "rawQueryString": query_string,
        "headers": lowered,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "local",
            "domainName": lowered.get("host", "127.0.0.1"),
            "domainPrefix": "local",
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": source_ip,
                "userAgent": lowered.get("user-agent", ""),
            },
            "requestId": uuid.uuid4().hex,
            "routeKey": f"{method} {path}",
            "stage": "$default",
            "time": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "timeEpoch": int(now.timestamp() * 1000),
        },
        "isBase64Encoded": encoded,
    }
    if payload is not None:
        event["body"] = payload
    if query_string:
        params: dict[str, str] = {}
        for pair in query_string.split("&"):
            name, _, value = pair.partition("=")
            params[name] = f"{params[name]},{value}" if name in params else value
        event["queryStringParameters"] = params
    return event


def sqs_event(queue_arn: str, messages: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """An SQS event for a Lambda event source mapping, from boto3 `receive_message` results."""
    records = []
    for message in messages:
        attributes = dict(message.get("Attributes", {}))
        records.append(
            {
                "messageId": message["MessageId"],
                "receiptHandle": message["ReceiptHandle"],
                "body": message["Body"],
                "attributes": attributes,
                "messageAttributes": message.get("MessageAttributes", {}),
                "md5OfBody": message.get("MD5OfBody", ""),
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": queue_arn.split(":")[3]
                if queue_arn.count(":") >= 3
                else "eu-central-1",
            }
        )
    return {"Records": records}


@dataclass
class LocalLambdaContext:
    """The parts of the Lambda context object our handlers and Powertools use."""

    function_name: str
    timeout_seconds: float = 60.0
    memory_limit_in_mb: int = 256
    aws_request_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    _started: float = field(default_factory=time.monotonic)

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:eu-central-1:123456789012:function:{self.function_name}"

    @property
    def function_version(self) -> str:
        return "$LATEST"

    @property
    def log_group_name(self) -> str:
        return f"/aws/lambda/{self.function_name}"

    @property
    def log_stream_name(self) -> str:
        return "local"

    def get_remaining_time_in_millis(self) -> int:
        elapsed = time.monotonic() - self._started
        return max(0, int((self.timeout_seconds - elapsed) * 1000))
