"""``GET /admin/status``: what is waiting where, and what failed.

- ``queues``: per workflow its queue's visible, in-flight and delayed messages and its
  dead-letter count;
- ``failures``: the records in ``ScheduledFailuresQueue`` (``SCHEDULED_FAILURES_QUEUE_URL``),
  looked at without consuming them: failed scheduled runs and statement imports (Lambda
  on-failure records: function, condition, error message) and events Scheduler or EventBridge
  could not deliver (their ``ERROR_CODE`` / ``ERROR_MESSAGE`` attributes). Failed queue messages
  are under ``GET /admin/dead-letters``;
- ``schedules``: the last run of each schedule (dunning, recurring, reporting): outcome
  (``finished``, ``incomplete``, ``failed``; None: never run since the stack exists), the
  business day, when, how long, its counts and summary, the error of a run that did not finish;
- ``billomat_rate``: the rate-limit headers of the newest Billomat response any function saw
  (requests left, when the window resets, which function, how old) and the last 429; ``{}``
  before any function talked to Billomat.

What the schedules and workers record is in :mod:`autopilot.operations_record`. ``missing``
names a part that could not be read (``failures`` without ``SCHEDULED_FAILURES_QUEUE_URL``).
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from autopilot.operations_record import operations_status

from .queues import peek, queue_status
from .reruns import function_name

if TYPE_CHECKING:
    from autopilot.workflow_state import WorkflowStore


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
            function=function_name(str(context.get("functionArn", ""))) or None,
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


def failures(sqs: Any, url: str | None) -> list[dict[str, Any]] | None:
    """The scheduled-run failures in ``url``, newest first; None when there is no such queue."""
    if not url:
        return None
    rows = [failure(message) for message in peek(sqs, url)]
    return sorted(rows, key=lambda row: row["sent_at"] or 0, reverse=True)


def status(
    sqs: Any, store: WorkflowStore, failures_queue_url: str | None, now: float | None = None
) -> dict[str, Any]:
    at = time.time() if now is None else now
    found = failures(sqs, failures_queue_url)
    return {
        "queues": queue_status(sqs),
        **operations_status(store, at),  # "schedules" and "billomat_rate"
        "failures": found or [],
        "missing": [] if found is not None else ["failures"],
    }
