"""bank_payment Lambda: bank transactions → Billomat payments, and the camt.053 import.

Handlers:

- ``lambda_handler``: the SQS worker of the bank queue. Each record holds
  ``{"kind": "bank_transaction", "transaction": <bank-transaction/v1>}`` and runs the
  idempotent workflow (``booking.BankPaymentBooking``); records fail individually (partial
  batch response). A spent Billomat rate limit or a Billomat outage puts the record back on
  the queue with a delay instead of failing it (``autopilot.delayed_retry``: backoff up to the
  retry horizon). The open invoices are read once per batch. After the batch, accounting
  gets one notice about the batch's new review items (if that notice fails, the batch is
  retried; the bookings themselves are idempotent).
- ``import_handler``: camt.053 statements, from S3 object-created events for keys under
  ``camt053/`` (S3 notifications or EventBridge), or in local mode from
  ``{"camt053": "<XML text, or base64 of a ZIP/XML>"}``. The whole upload is parsed first; a
  malformed file is rejected (``"status": "rejected"`` with a message, accounting notified for
  S3 uploads) and queues nothing. Otherwise every booked credit is **queued** on the bank queue
  and booked by the worker like a webhook delivery: the same retries, rate-limit handling and
  dead-letter queue, and exactly once per transaction however often a statement is imported.
- ``review_handler``: the review list (local mode's ``GET /local/review``).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable, Iterator
from functools import cache
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote_plus

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from autopilot.delayed_retry import DelayedRetry

if TYPE_CHECKING:
    from autopilot.bank_transactions import BankTransaction
    from autopilot.notifications import AccountingNotifier
    from autopilot.workflow_state import WorkflowStore

    from .booking import BankPaymentBooking
    from .settings import BankPaymentSettings

# The workflow (Billomat client, pydantic models, matching rules) is imported on the first
# record rather than at module load: see bench/coldstart.py.

logger = Logger(service="bank_payment")
metrics = Metrics(service="bank_payment")
# A batch whose every record failed is reported like any other partial failure.
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)

MESSAGE_KIND = "bank_transaction"
STATEMENT_PREFIX = "camt053/"
MAX_STATEMENT_BYTES = 50 * 1024 * 1024
IDEMPOTENCY_DAYS = 7
SQS_BATCH = 10


@cache
def settings() -> BankPaymentSettings:
    """The function's configuration, parsed once per container."""
    from .settings import BankPaymentSettings

    return BankPaymentSettings.from_env()


@cache
def workflow_store() -> WorkflowStore:
    """Checkpoints, review items and known payers."""
    from autopilot.workflow_state import WorkflowStore

    return WorkflowStore(settings().workflow_table)


@cache
def notifier() -> AccountingNotifier:
    """Accounting notices."""
    from autopilot.notifications import AccountingNotifier

    return AccountingNotifier(settings().notifications_topic_arn)


@cache
def delayed_retry() -> DelayedRetry:
    """Requeues onto the bank queue (rate limit, outage, busy: see autopilot.delayed_retry)."""
    return DelayedRetry(
        settings().bank_queue_url, logger=logger, metrics=metrics, metric_prefix="bank_transactions"
    )


@cache
def _aws_client(service: str) -> Any:
    import boto3

    return boto3.client(service)


_batch: BankPaymentBooking | None = None


def new_batch() -> BankPaymentBooking:
    """A fresh workflow for one batch: open invoices and clients are re-read on first use."""
    from autopilot.billomat_access import billomat_client

    from .booking import BankPaymentBooking

    global _batch
    _batch = BankPaymentBooking(
        billomat_client(), workflow_store(), notifier(), settings().payer_match
    )
    return _batch


def current_batch() -> BankPaymentBooking:
    """The batch being worked on (a new one outside a handler call)."""
    return _batch if _batch is not None else new_batch()


@cache
def book_transaction_once() -> tuple[Callable[..., dict[str, Any]], Any]:
    """The workflow wrapped in Powertools idempotency, keyed on source + transaction id.

    Built on first use (it imports boto3). A concurrent duplicate raises
    IdempotencyAlreadyInProgressError; the workflow's own checkpoints make a retry after a
    crash safe even when the idempotency record has expired.
    """
    from aws_lambda_powertools.utilities.idempotency import (
        DynamoDBPersistenceLayer,
        IdempotencyConfig,
        idempotent_function,
    )

    config = IdempotencyConfig(
        event_key_jmespath="[source, transaction_id]",
        raise_on_no_idempotency_key=True,
        expires_after_seconds=IDEMPOTENCY_DAYS * 86400,
    )
    persistence = DynamoDBPersistenceLayer(table_name=settings().idempotency_table)

    @idempotent_function(  # type: ignore[untyped-decorator]
        data_keyword_argument="transaction", persistence_store=persistence, config=config
    )
    def book_transaction(transaction: dict[str, Any]) -> dict[str, Any]:
        from autopilot.bank_transactions import BankTransaction

        return current_batch().run(BankTransaction.model_validate(transaction)).as_dict()

    return book_transaction, config


def book_record(record: SQSRecord) -> dict[str, Any]:
    """One queued transaction → its payments or review item; raises to fail the record."""
    from autopilot.bank_transactions import BankTransaction

    message: dict[str, Any] = json.loads(record.body)
    if message.get("kind") != MESSAGE_KIND:
        raise ValueError(f"unexpected message kind {message.get('kind')!r} on the bank queue")
    transaction = BankTransaction.model_validate(message["transaction"])
    logger.set_correlation_id(transaction.reference)
    book_transaction, _config = book_transaction_once()
    try:
        outcome = book_transaction(transaction=transaction.as_message())
    except Exception as error:
        # Rate limit, Billomat outage, busy elsewhere: back on the queue with a delay (past
        # the retry horizon this raises and the record fails).
        if delayed_retry().retry_later(message, error, transaction.reference) is not None:
            return {"transaction": transaction.reference, "status": "delayed"}
        # Anything else: SQS retries the record; after the last receive it lands in the DLQ.
        receives = record.attributes.approximate_receive_count
        logger.exception(
            "bank transaction failed; SQS will retry it", extra={"receive_count": receives}
        )
        metrics.add_metric(name="bank_transactions_failed", unit=MetricUnit.Count, value=1)
        raise error
    current_batch().note_outcome(outcome)
    logger.info("bank transaction handled", extra=outcome)
    if outcome["status"] == "booked":
        metrics.add_metric(
            name="payments_booked", unit=MetricUnit.Count, value=len(outcome.get("payments", []))
        )
    elif outcome["status"] == "review":
        metrics.add_metric(name="review_needed", unit=MetricUnit.Count, value=1)
    elif outcome["status"] == "duplicate":
        # The same transfer arrived through another channel first (webhook, Qonto, camt.053).
        metrics.add_metric(name="bank_transfers_duplicate", unit=MetricUnit.Count, value=1)
    return outcome


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """SQS event source entry point (ReportBatchItemFailures)."""
    from autopilot.billomat_access import billomat_client, lambda_time_budget

    _book, config = book_transaction_once()
    billomat_client().time_budget = lambda_time_budget(context.get_remaining_time_in_millis)
    batch = new_batch()
    config.register_lambda_context(context)
    response = process_partial_response(
        event=event, record_handler=book_record, processor=processor, context=context
    )
    notified = batch.notify_reviews()
    if notified:
        logger.info("accounting notified", extra={"review_items": notified})
    return dict(response)


# ---------------------------------------------------------------------------------------------
# camt.053 import
# ---------------------------------------------------------------------------------------------


@logger.inject_lambda_context(clear_state=True)
def import_handler(event: dict[str, Any], _context: LambdaContext) -> dict[str, Any]:
    """Read camt.053 uploads and queue their booked credits (see the module docstring)."""
    files = [_import_file(name, read, from_s3) for name, read, from_s3 in _uploads(event)]
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


def _import_file(name: str, read: Callable[[], bytes], from_s3: bool) -> dict[str, Any]:
    from autopilot.camt053 import Camt053Error, read_statements  # only the import needs it

    try:
        statement = read_statements(read(), name)
    except Camt053Error as error:
        logger.error("camt.053 upload rejected", extra={"file": name, "reason": str(error)})
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
    queued = _enqueue(statement.transactions, origin=name)
    logger.info("camt.053 imported", extra={"file": name, **statement.summary()})
    return {"file": name, "status": "imported", **statement.summary(), "queued": queued}


def _enqueue(transactions: list[BankTransaction], origin: str) -> int:
    """Queue every transaction for the worker (which books each one exactly once)."""
    sqs = _aws_client("sqs")
    for start in range(0, len(transactions), SQS_BATCH):
        chunk = transactions[start : start + SQS_BATCH]
        entries = [
            {
                "Id": str(index),
                "MessageBody": json.dumps(
                    {"kind": MESSAGE_KIND, "transaction": tx.as_message(), "origin": origin},
                    separators=(",", ":"),
                ),
                "MessageAttributes": {
                    "correlation_id": {"DataType": "String", "StringValue": tx.reference}
                },
            }
            for index, tx in enumerate(chunk)
        ]
        response = sqs.send_message_batch(QueueUrl=settings().bank_queue_url, Entries=entries)
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
    locations: list[tuple[str, str]] = []
    for record in event.get("Records") or []:
        s3 = record.get("s3") or {}
        bucket, key = s3.get("bucket", {}).get("name"), s3.get("object", {}).get("key")
        if bucket and key:
            locations.append((bucket, unquote_plus(key)))
    detail = event.get("detail") or {}
    if event.get("detail-type") == "Object Created" and detail:
        locations.append((detail["bucket"]["name"], detail["object"]["key"]))
    for bucket, key in locations:
        if not key.startswith(STATEMENT_PREFIX):
            logger.info("not a statement upload, skipped", extra={"key": key})
            continue
        yield key, _object_reader(bucket, key), True


def _object_reader(bucket: str, key: str) -> Callable[[], bytes]:
    def read() -> bytes:
        from autopilot.camt053 import Camt053Error

        response = _aws_client("s3").get_object(Bucket=bucket, Key=key)
        if int(response.get("ContentLength") or 0) > MAX_STATEMENT_BYTES:
            raise Camt053Error(f"{key}: larger than {MAX_STATEMENT_BYTES // 2**20} MB")
        body: bytes = response["Body"].read()
        return body

    return read


def _local_upload(value: Any) -> bytes:
    """XML text as is (its encoding declaration made UTF-8), anything else as base64."""
    from autopilot.camt053 import Camt053Error

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


# ---------------------------------------------------------------------------------------------
# review list
# ---------------------------------------------------------------------------------------------


def review_handler(_event: dict[str, Any], _context: Any) -> dict[str, Any]:
    """The review list: every transfer that was not booked, with reason and candidates."""
    items = current_batch().review_list()
    return {"count": len(items), "review": items}
