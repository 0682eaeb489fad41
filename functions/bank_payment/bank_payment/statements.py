"""camt.053 statements → queued bank transactions.

The import reads statements from S3 object-created events for keys under ``camt053/`` (S3
notifications or EventBridge, read through Powertools' event classes), or in local mode from
``{"camt053": "<XML text, or base64 of a ZIP/XML>"}``. The whole upload is parsed first; a
malformed file is rejected (``"status": "rejected"`` with a message, accounting notified for S3
uploads) and queues nothing. Otherwise every booked credit is **queued** on the bank queue as a
:class:`~autopilot.messages.BankTransactionMessage` and booked by the worker like a webhook
delivery: the same retries, rate-limit handling and dead-letter queue, and exactly once per
transaction however often a statement is imported.
"""

from __future__ import annotations

import base64
import binascii
import logging
import re
from collections.abc import Callable, Iterator
from functools import cache
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote_plus

if TYPE_CHECKING:
    from autopilot.bank_transactions import BankTransaction
    from autopilot.notifications import AccountingNotifier

STATEMENT_PREFIX = "camt053/"
MAX_STATEMENT_BYTES = 50 * 1024 * 1024
SQS_BATCH = 10

log = logging.getLogger("autopilot.bank_payment.statements")


@cache
def _aws_client(service: str) -> Any:
    import boto3

    return boto3.client(service)


def import_statements(
    event: dict[str, Any], bank_queue_url: str, notifier: Callable[[], AccountingNotifier]
) -> dict[str, Any]:
    """Read the camt.053 uploads ``event`` names and queue their booked credits on the bank
    queue; ``notifier`` tells accounting about a rejected S3 upload."""
    files = [
        _import_file(name, read, from_s3, bank_queue_url, notifier)
        for name, read, from_s3 in _uploads(event)
    ]
    rejected = [result for result in files if result["status"] == "rejected"]
    answer: dict[str, Any] = {
        "status": "rejected" if rejected and len(rejected) == len(files) else "imported",
        "files": files,
        "queued": sum(result.get("queued", 0) for result in files),
    }
    if rejected:
        answer.update(error=rejected[0]["error"], message=rejected[0]["message"])
    if not files:
        answer.update(status="ignored", message="no camt053/ upload in the event")
    return answer


def _import_file(
    name: str,
    read: Callable[[], bytes],
    from_s3: bool,
    bank_queue_url: str,
    notifier: Callable[[], AccountingNotifier],
) -> dict[str, Any]:
    from .camt053 import Camt053Error, read_statements

    try:
        statement = read_statements(read(), name)
    except Camt053Error as error:
        log.error("camt.053 upload rejected", extra={"file": name, "reason": str(error)})
        if from_s3:
            notifier().notify(
                "Kontoauszug abgelehnt",
                [
                    f"Die Datei {name} wurde nicht eingelesen; es wurde nichts gebucht.",
                    f"Grund: {error}",
                    "Bitte den Export der Bank prüfen (camt.053, XML oder ZIP) und neu hochladen.",
                ],
            )
        return {
            "file": name,
            "status": "rejected",
            "error": "invalid_camt053",
            "message": str(error),
        }
    queued = _enqueue(statement.transactions, name, bank_queue_url)
    log.info("camt.053 imported", extra={"file": name, **statement.summary()})
    return {"file": name, "status": "imported", **statement.summary(), "queued": queued}


def _enqueue(transactions: list[BankTransaction], origin: str, bank_queue_url: str) -> int:
    """Queue every transaction for the worker (which books each one exactly once)."""
    from autopilot.messages import BankTransactionMessage, message_body

    sqs = _aws_client("sqs")
    for start in range(0, len(transactions), SQS_BATCH):
        chunk = transactions[start : start + SQS_BATCH]
        entries = [
            {
                "Id": str(index),
                "MessageBody": message_body(
                    BankTransactionMessage(transaction=tx, origin=origin[:1024])
                ),
                "MessageAttributes": {
                    "correlation_id": {"DataType": "String", "StringValue": tx.reference}
                },
            }
            for index, tx in enumerate(chunk)
        ]
        response = sqs.send_message_batch(QueueUrl=bank_queue_url, Entries=entries)
        if response.get("Failed"):
            # Raise: the S3 event is retried, and transactions queued twice book once.
            raise RuntimeError(f"could not queue {len(response['Failed'])} transactions")
    return len(transactions)


def _uploads(event: dict[str, Any]) -> Iterator[tuple[str, Callable[[], bytes], bool]]:
    """(name, reader of its bytes, came from S3) for every statement the event names."""
    if "camt053" in event:
        value = event["camt053"]
        yield "upload", lambda: _local_upload(value), False
        return
    for bucket, key in _uploaded_objects(event):
        if not key.startswith(STATEMENT_PREFIX):
            log.info("not a statement upload, skipped", extra={"key": key})
            continue
        yield key, _object_reader(bucket, key), True


def _uploaded_objects(event: dict[str, Any]) -> list[tuple[str, str]]:
    """(bucket, key) of every object an S3 notification or an EventBridge event names."""
    from aws_lambda_powertools.utilities.data_classes import EventBridgeEvent, S3Event

    if "Records" in event:
        return [
            (record.s3.bucket.name, unquote_plus(record.s3.get_object.key))
            for record in S3Event(event).records
            if record.get("s3")
        ]
    bridged = EventBridgeEvent(event)
    if event.get("detail-type") == "Object Created" and bridged.detail:
        return [(bridged.detail["bucket"]["name"], bridged.detail["object"]["key"])]
    return []


def _object_reader(bucket: str, key: str) -> Callable[[], bytes]:
    def read() -> bytes:
        from .camt053 import Camt053Error

        response = _aws_client("s3").get_object(Bucket=bucket, Key=key)
        if int(response.get("ContentLength") or 0) > MAX_STATEMENT_BYTES:
            raise Camt053Error(f"{key}: larger than {MAX_STATEMENT_BYTES // 2**20} MB")
        body: bytes = response["Body"].read()
        return body

    return read


def _local_upload(value: Any) -> bytes:
    """XML text as is (its encoding declaration made UTF-8), anything else as base64."""
    from .camt053 import Camt053Error

    if not isinstance(value, str) or not value.strip():
        raise Camt053Error("upload: expected the statement as XML text or base64")
    if value.lstrip().startswith("<"):
        text = re.sub(
            r"""^(\s*<\?xml[^>]*?encoding\s*=\s*)["'][^"']*["']""",
            r'\1"UTF-8"',
            value,
            count=1,
        )
        return text.encode("utf-8")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise Camt053Error("upload: neither camt.053 XML nor base64 of a ZIP/XML file") from None
