"""Work queues and their dead-letter queues: depths, a look at the dead letters, redrive.

The queues are found in the environment the template (or local mode) gives the function:
``<NAME>_QUEUE_URL`` and ``<NAME>_DEAD_LETTER_QUEUE_URL`` per worker (``orders``, ``deals``,
``bank``, ``products``, ``refunds``).

- **Peek** (``GET /admin/dead-letters``): up to :data:`PEEK_LIMIT` messages per DLQ are received
  with a short visibility timeout and made visible again at once (``VisibilityTimeout=0``):
  nothing is consumed. A message's ``error`` is the ``error`` attribute a worker sets when it
  dead-letters a message itself (a configuration error); messages that failed their receives
  carry none, their error is in the worker's logs under the same reference.
- **Redrive** (``POST /admin/dead-letters/{queue}/redrive``): in AWS SQS's own message-move
  task (``StartMessageMoveTask``, DLQ → its source queue; ``moved`` is the DLQ's depth when
  the task started, the task moves them within seconds); locally, where moto has no move task,
  the same effect by hand: receive from the DLQ, send to the source queue, delete. Either way
  the workers' idempotency and checkpoints make a redriven message finish what it started:
  an order already invoiced is not invoiced again.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .errors import AdminError

PEEK_LIMIT = 50
PEEK_VISIBILITY_SECONDS = 5
REDRIVE_LIMIT = 10_000
WORKFLOWS = {
    "orders": "order_invoice",
    "deals": "deal_invoice",
    "bank": "bank_payment",
    "products": "article_sync",
    "refunds": "refund_credit",
}
DLQ_SUFFIX = "_DEAD_LETTER_QUEUE_URL"


@dataclass(frozen=True)
class QueuePair:
    """One worker's queue and its dead-letter queue."""

    name: str
    url: str
    dead_letter_url: str

    @property
    def workflow(self) -> str:
        return WORKFLOWS.get(self.name, self.name)


def queue_pairs(environ: Mapping[str, str] | None = None) -> list[QueuePair]:
    """Every work queue with a DLQ named in the environment, in a stable order."""
    env = os.environ if environ is None else environ
    pairs = []
    for key, dead_letter_url in env.items():
        if not key.endswith(DLQ_SUFFIX) or not dead_letter_url:
            continue
        prefix = key.removesuffix(DLQ_SUFFIX)
        url = env.get(f"{prefix}_QUEUE_URL")
        if url:
            pairs.append(QueuePair(prefix.lower(), url, dead_letter_url))
    order = list(WORKFLOWS)
    return sorted(pairs, key=lambda p: (order.index(p.name) if p.name in order else 99, p.name))


def queue_pair(name: str, environ: Mapping[str, str] | None = None) -> QueuePair:
    for pair in queue_pairs(environ):
        if pair.name == name:
            return pair
    known = ", ".join(p.name for p in queue_pairs(environ))
    raise AdminError(404, "not_found", f"No queue {name!r}; known: {known}.")


def depth(sqs: Any, url: str) -> dict[str, int]:
    """Visible, in-flight and delayed messages of one queue."""
    attributes = sqs.get_queue_attributes(
        QueueUrl=url,
        AttributeNames=[
            "ApproximateNumberOfMessages",
            "ApproximateNumberOfMessagesNotVisible",
            "ApproximateNumberOfMessagesDelayed",
        ],
    )["Attributes"]
    return {
        "visible": int(attributes.get("ApproximateNumberOfMessages", 0)),
        "in_flight": int(attributes.get("ApproximateNumberOfMessagesNotVisible", 0)),
        "delayed": int(attributes.get("ApproximateNumberOfMessagesDelayed", 0)),
    }


def peek(sqs: Any, url: str, limit: int = PEEK_LIMIT) -> list[dict[str, Any]]:
    """Up to ``limit`` messages of ``url``, made visible again before returning."""
    seen: dict[str, dict[str, Any]] = {}
    try:
        while len(seen) < limit:
            batch = sqs.receive_message(
                QueueUrl=url,
                MaxNumberOfMessages=min(10, limit - len(seen)),
                VisibilityTimeout=PEEK_VISIBILITY_SECONDS,
                AttributeNames=["All"],
                MessageAttributeNames=["All"],
                WaitTimeSeconds=0,
            ).get("Messages", [])
            fresh = [m for m in batch if m["MessageId"] not in seen]
            if not fresh:
                break
            for message in fresh:
                seen[message["MessageId"]] = message
    finally:
        for message in seen.values():
            sqs.change_message_visibility(
                QueueUrl=url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
            )
    return list(seen.values())


def summary(pair: QueuePair, message: Mapping[str, Any]) -> dict[str, Any]:
    """``{"workflow", "reference", "error"}`` of one dead letter."""
    from autopilot.messages import parse_message

    attributes = message.get("MessageAttributes") or {}
    error = (attributes.get("error") or {}).get("StringValue")
    reference = (attributes.get("correlation_id") or {}).get("StringValue")
    if reference is None:
        try:
            reference = parse_message(message["Body"]).correlation_id
        except ValueError as invalid:  # pydantic's ValidationError is a ValueError
            error = error or f"not a valid message: {str(invalid)[:300]}"
    receives = (message.get("Attributes") or {}).get("ApproximateReceiveCount")
    return {
        "workflow": pair.workflow,
        "reference": reference,
        "error": error
        or "failed every attempt (no error recorded on the message; see the worker's logs "
        "for this reference)",
        "message_id": message["MessageId"],
        "receive_count": int(receives) if receives else None,
    }


def dead_letters(sqs: Any, now: float | None = None) -> dict[str, Any]:
    """``GET /admin/dead-letters``."""
    now = time.time() if now is None else now
    queues = []
    for pair in queue_pairs():
        messages = peek(sqs, pair.dead_letter_url)
        counts = depth(sqs, pair.dead_letter_url)
        sent = [
            int(m["Attributes"]["SentTimestamp"]) / 1000
            for m in messages
            if "SentTimestamp" in (m.get("Attributes") or {})
        ]
        queues.append(
            {
                "queue": pair.name,
                "workflow": pair.workflow,
                "count": max(sum(counts.values()), len(messages)),
                "oldest_age_seconds": int(now - min(sent)) if sent else None,
                "messages": [summary(pair, m) for m in messages],
            }
        )
    return {"queues": queues}


def redrive(sqs: Any, name: str, use_move_task: bool) -> dict[str, Any]:
    """``POST /admin/dead-letters/{queue}/redrive``: the DLQ's messages back to their queue."""
    pair = queue_pair(name)
    if use_move_task:
        return _start_move_task(sqs, pair)
    return _move_by_hand(sqs, pair)


def _arn(sqs: Any, url: str) -> str:
    return str(
        sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
    )


def _start_move_task(sqs: Any, pair: QueuePair) -> dict[str, Any]:
    waiting = depth(sqs, pair.dead_letter_url)["visible"]
    if waiting == 0:
        return {"queue": pair.name, "moved": 0}
    task = sqs.start_message_move_task(
        SourceArn=_arn(sqs, pair.dead_letter_url), DestinationArn=_arn(sqs, pair.url)
    )
    return {"queue": pair.name, "moved": waiting, "task_handle": task.get("TaskHandle")}


def _move_by_hand(sqs: Any, pair: QueuePair) -> dict[str, Any]:
    moved = 0
    while moved < REDRIVE_LIMIT:
        batch = sqs.receive_message(
            QueueUrl=pair.dead_letter_url,
            MaxNumberOfMessages=10,
            VisibilityTimeout=60,
            MessageAttributeNames=["All"],
            WaitTimeSeconds=0,
        ).get("Messages", [])
        if not batch:
            break
        for message in batch:
            attributes = {
                name: {k: v for k, v in value.items() if k in ("DataType", "StringValue")}
                for name, value in (message.get("MessageAttributes") or {}).items()
            }
            send: dict[str, Any] = {"QueueUrl": pair.url, "MessageBody": message["Body"]}
            if attributes:
                send["MessageAttributes"] = attributes
            sqs.send_message(**send)
            sqs.delete_message(
                QueueUrl=pair.dead_letter_url, ReceiptHandle=message["ReceiptHandle"]
            )
            moved += 1
    return {"queue": pair.name, "moved": moved}


def queue_status(sqs: Any) -> list[dict[str, Any]]:
    """Per workflow: its queue's depth and its DLQ's (``GET /admin/status``)."""
    rows = []
    for pair in queue_pairs():
        queue = depth(sqs, pair.url)
        dlq = depth(sqs, pair.dead_letter_url)
        rows.append(
            {
                "queue": pair.name,
                "workflow": pair.workflow,
                **queue,
                "dead_letters": sum(dlq.values()),
            }
        )
    return rows
