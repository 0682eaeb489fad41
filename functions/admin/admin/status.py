"""``GET /admin/status``: what is waiting where, and what failed.

Built:

- ``queues``: per workflow its queue's visible, in-flight and delayed messages and its
  dead-letter count;
- ``failures``: the records in ``ScheduledFailuresQueue`` (``SCHEDULED_FAILURES_QUEUE_URL``),
  looked at without consuming them: failed scheduled runs and statement imports (Lambda
  on-failure records: function, condition, error message) and events Scheduler or EventBridge
  could not deliver (their ``ERROR_CODE`` / ``ERROR_MESSAGE`` attributes). Failed queue messages
  are under ``GET /admin/dead-letters``.

Not built yet (named in ``missing``, never made up): ``schedules`` (the last run of each
schedule with its summary: the schedules do not record their runs anywhere yet) and
``billomat_rate`` (the last rate-limit headers seen are kept per container only, not stored).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any

from .queues import peek, queue_status

MISSING = ["schedules", "billomat_rate"]


def failure(message: Mapping[str, Any]) -> dict[str, Any]:
    """One failure record as the operator reads it."""
    attributes = message.get("MessageAttributes") or {}
    sent = (message.get("Attributes") or {}).get("SentTimestamp")
    row: dict[str, Any] = {
        "message_id": message["MessageId"],
        "sent_at": int(int(sent) / 1000) if sent else None,
        "function": None,
        "condition": None,
        "error": None,
        "at": None,
    }
    try:
        body = json.loads(message["Body"])
    except (TypeError, ValueError):
        body = None
    context = body.get("requestContext") if isinstance(body, dict) else None
    if isinstance(context, dict):  # a Lambda on-failure destination record
        response = body.get("responsePayload") if isinstance(body, dict) else None
        error = response.get("errorMessage") if isinstance(response, dict) else None
        row.update(
            function=str(context.get("functionArn", "")).split(":function:")[-1].split(":")[0]
            or None,
            condition=context.get("condition"),
            error=error or (body.get("responseContext") or {}).get("functionError"),
            at=body.get("timestamp"),
        )
    else:  # a Scheduler / EventBridge dead letter
        code = (attributes.get("ERROR_CODE") or {}).get("StringValue")
        text = (attributes.get("ERROR_MESSAGE") or {}).get("StringValue")
        row.update(
            condition=code,
            error=text or "undelivered event (no error recorded)",
            function=(attributes.get("TARGET_ARN") or attributes.get("RULE_ARN") or {}).get(
                "StringValue"
            ),
        )
    return row


def failures(sqs: Any, environ: Mapping[str, str] | None = None) -> list[dict[str, Any]] | None:
    """The scheduled-run failures, newest first; None when the queue is not configured."""
    env = os.environ if environ is None else environ
    url = env.get("SCHEDULED_FAILURES_QUEUE_URL")
    if not url:
        return None
    rows = [failure(message) for message in peek(sqs, url)]
    return sorted(rows, key=lambda row: row["sent_at"] or 0, reverse=True)


def status(sqs: Any) -> dict[str, Any]:
    found = failures(sqs)
    return {
        "queues": queue_status(sqs),
        "schedules": [],
        "failures": found or [],
        "billomat_rate": {},
        "missing": MISSING if found is not None else [*MISSING, "failures"],
    }
