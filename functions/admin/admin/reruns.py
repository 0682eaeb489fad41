"""``POST /admin/dead-letters/scheduled/redrive``: failed scheduled runs re-run for their day.

``ScheduledFailuresQueue`` holds what could not be moved back to a queue: the on-failure
records of the scheduled functions and the statement import (Lambda's asynchronous invocation
gave up after its retries) and the events Scheduler or EventBridge could not deliver. Each one
carries the invocation's own input — a schedule's ``{"schedule", "now"}`` with the scheduled
time, an S3 upload event —, so re-running is invoking the function again with exactly that
input: a dunning run stands for the business day it was scheduled for, not for today, and the
workflows' checkpoints make a second run of a day finish what the first left undone.

For every record (up to :data:`RERUN_LIMIT`):

- the function comes from the record (``requestContext.functionArn``, or the dead letter's
  ``TARGET_ARN`` attribute) and must be one of ``RERUNNABLE_FUNCTIONS`` (this stack's scheduled
  functions and statement import): nothing else is ever invoked;
- it is invoked asynchronously (``InvocationType=Event``: Lambda's retries and the on-failure
  destination apply again), then the record is deleted;
- a record that names no such function, carries no input, or whose invocation Lambda refuses
  stays in the queue and is listed under ``skipped`` with the reason.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from .errors import AdminError

RERUN_QUEUE = "scheduled"
"""The ``{queue}`` of the redrive route that means ``ScheduledFailuresQueue``."""
RERUN_LIMIT = 100
RERUN_VISIBILITY_SECONDS = 60


def function_name(arn_or_name: str) -> str:
    """``dunning-fn`` of ``arn:aws:lambda:…:function:dunning-fn[:qualifier]`` (or the name)."""
    if ":function:" in arn_or_name:
        return arn_or_name.split(":function:", 1)[1].split(":", 1)[0]
    return arn_or_name


def rerun_request(message: Mapping[str, Any]) -> tuple[str, dict[str, Any]] | str:
    """``(function, input)`` of one failure record, or why it cannot be re-run."""
    try:
        body = json.loads(message.get("Body") or "")
    except (ValueError, RecursionError):  # not JSON, or nested beyond the parser's depth
        return "the record is not JSON"
    if not isinstance(body, dict):
        return "the record is not a JSON object"
    context = body.get("requestContext")
    if isinstance(context, dict) and "functionArn" in context:  # a Lambda on-failure record
        payload = body.get("requestPayload")
        if not isinstance(payload, dict):
            return "the on-failure record carries no invocation input (requestPayload)"
        return function_name(str(context["functionArn"])), payload
    target = ((message.get("MessageAttributes") or {}).get("TARGET_ARN") or {}).get("StringValue")
    if not target:
        return "neither an on-failure record nor a dead letter naming its target"
    return function_name(str(target)), body  # a Scheduler / EventBridge dead letter: the input


def rerun_failures(
    sqs: Any, lambda_client: Any, queue_url: str | None, rerunnable: Sequence[str]
) -> dict[str, Any]:
    """Re-run every failed run in ``queue_url`` whose function is in ``rerunnable`` (ARNs)."""
    if not queue_url:
        raise AdminError(
            404,
            "not_found",
            "No failed scheduled runs here: SCHEDULED_FAILURES_QUEUE_URL is not set "
            "(local mode has no such queue; run a schedule with POST /local/schedules/{name}).",
        )
    allowed = {function_name(arn): arn for arn in rerunnable if arn}
    rerun: list[dict[str, Any]] = []
    skipped: list[dict[str, Any]] = []
    seen: set[str] = set()
    while len(seen) < RERUN_LIMIT:
        batch = sqs.receive_message(
            QueueUrl=queue_url,
            MaxNumberOfMessages=10,
            VisibilityTimeout=RERUN_VISIBILITY_SECONDS,
            MessageAttributeNames=["All"],
            WaitTimeSeconds=0,
        ).get("Messages", [])
        fresh = [message for message in batch if message["MessageId"] not in seen]
        if not fresh:
            break
        for message in fresh:
            seen.add(message["MessageId"])
            outcome = _rerun_one(sqs, lambda_client, queue_url, message, allowed)
            (skipped if "reason" in outcome else rerun).append(outcome)
    for row in skipped:  # left for a person: visible again at once
        sqs.change_message_visibility(
            QueueUrl=queue_url, ReceiptHandle=row.pop("_receipt"), VisibilityTimeout=0
        )
    return {"queue": RERUN_QUEUE, "moved": len(rerun), "rerun": rerun, "skipped": skipped}


def _rerun_one(
    sqs: Any,
    lambda_client: Any,
    queue_url: str,
    message: Mapping[str, Any],
    allowed: dict[str, str],
) -> dict[str, Any]:
    request = rerun_request(message)
    if isinstance(request, str):
        return _skipped(message, request)
    name, payload = request
    if name not in allowed:
        return _skipped(message, f"{name} is not a scheduled function of this stack", name)
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        answer = lambda_client.invoke(
            FunctionName=allowed[name],
            InvocationType="Event",
            Payload=json.dumps(payload).encode(),
        )
    except (BotoCoreError, ClientError) as error:
        return _skipped(message, f"Lambda refused the invocation: {error}", name)
    if int(answer.get("StatusCode", 0)) != 202:
        return _skipped(message, f"Lambda answered {answer.get('StatusCode')}", name)
    sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
    return {
        "message_id": message["MessageId"],
        "function": name,
        "schedule": payload.get("schedule"),
        "now": payload.get("now"),
    }


def _skipped(message: Mapping[str, Any], reason: str, name: str | None = None) -> dict[str, Any]:
    return {
        "message_id": message["MessageId"],
        "function": name,
        "reason": reason,
        "_receipt": message["ReceiptHandle"],
    }
