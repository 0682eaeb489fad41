"""Put a message back on its queue for later without using up its receive count.

When Billomat's rate limit is spent, failing the SQS record would count as a receive, and
a burst larger than a few windows would push orders into the dead-letter queue. Instead the
worker sends a copy with a delay (up to SQS's 15 minutes: one rate-limit window) and lets
the original go. A counter in the message stops endless loops: past `MAX_DELAYED_ATTEMPTS`
the record fails normally and, after its retries, lands in the DLQ with the alarm.
"""

from __future__ import annotations

import json
import math
from typing import Any

MAX_SQS_DELAY_SECONDS = 900
MAX_DELAYED_ATTEMPTS = 50


class DelayedRetry:
    """Requeues message bodies with a delay on one SQS queue."""

    def __init__(self, queue_url: str, sqs_client: Any | None = None) -> None:
        self.queue_url = queue_url
        self._client = sqs_client

    @property
    def client(self) -> Any:
        """The boto3 SQS client (created on first use)."""
        if self._client is None:
            import boto3

            self._client = boto3.client("sqs")
        return self._client

    def requeue(self, message: dict[str, Any], delay_seconds: float, correlation_id: str) -> bool:
        """Send ``message`` again after ``delay_seconds``; False when it was delayed too often."""
        attempts = int(message.get("delayed_attempts", 0)) + 1
        if attempts > MAX_DELAYED_ATTEMPTS:
            return False
        delay = max(1, min(MAX_SQS_DELAY_SECONDS, math.ceil(delay_seconds)))
        self.client.send_message(
            QueueUrl=self.queue_url,
            MessageBody=json.dumps(
                {**message, "delayed_attempts": attempts}, separators=(",", ":")
            ),
            DelaySeconds=delay,
            MessageAttributes={
                "correlation_id": {"DataType": "String", "StringValue": correlation_id}
            },
        )
        return True
