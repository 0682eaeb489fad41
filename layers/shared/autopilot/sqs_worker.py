"""The one shape of an SQS worker: typed messages in, one idempotent workflow call per record.

A worker's ``app.py`` is wiring only: it names its message model, its queue, the idempotency
key, and a factory for the workflow of one batch. :class:`SqsWorker` does the rest, the same
for every queue (orders, bank, and the deal, product and refund workers to come):

- **Typed records**: Powertools' ``BatchProcessor`` parses every record body into the
  worker's message model (:mod:`autopilot.messages`); a body that is not that model fails its
  record (partial batch response) and, after its receives, lands in the dead-letter queue.
- **Idempotency**: Powertools' ``idempotent_function`` wraps the workflow call, keyed on the
  message payload (``idempotency_key``, a JMESPath over it); a concurrent duplicate raises
  ``IdempotencyAlreadyInProgressError``.
- **Waiting, not failing**: a spent rate limit, a Billomat outage or work busy elsewhere puts
  the record back on its queue with a delay (:mod:`autopilot.delayed_retry`).
- **One failure metric** (``<prefix>_failed``) and one log line per failed record, whatever
  failed: the parse, the workflow, or the wait past the retry horizon.
- **Configuration errors go straight to the dead-letter queue**: an error whose class says
  ``dead_letter_now`` (HubSpot refusing the token) would fail every retry the same way, so
  with ``dead_letter_queue_url`` configured the message is moved to the DLQ at once (its
  alarm fires) and counted as ``<prefix>_configuration_error``, instead of being retried.
- **Dependencies**: ``new_workflow()`` is called once per batch. The workflow's heavy parts
  (Billomat client, stores) are built once per container by the worker's own cached
  factories; per-batch state (the bank's open invoices) lives in the workflow object.
- **For the operator's status**: after every batch the newest Billomat quota seen is kept
  and new 429s are counted (:func:`autopilot.operations_record.report_billomat_quota`).
- **Logs**: the function's Powertools logger (:func:`autopilot.observability.function_logger`)
  with the message's business reference as correlation id, also on the domain modules' lines.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.typing import LambdaContext

from autopilot.delayed_retry import DelayedRetry
from autopilot.observability import function_logger, route_domain_logs

if TYPE_CHECKING:
    from pydantic import BaseModel

    from autopilot.messages import Message, QueueRecord

IDEMPOTENCY_DAYS = 7


class Workflow[M]:
    """What a worker runs: one message at a time, then the end of the batch."""

    def handle(self, message: M) -> dict[str, Any]:
        """Bring the message's business object to its end state; the outcome (JSON-ready)."""
        raise NotImplementedError

    def note_outcome(self, outcome: Mapping[str, Any]) -> None:
        """Told every record's outcome, also one replayed from an idempotency record."""

    def finish_batch(self) -> None:
        """After the batch's records (e.g. one notice about the batch's review items)."""


@dataclass(frozen=True)
class WorkerConfig[M: Message]:
    """What tells one SQS worker from another."""

    service: str
    """Powertools service name, e.g. ``order_invoice``."""
    metric_prefix: str
    """Names the worker's counters: ``<prefix>_failed``, ``<prefix>_delayed``, …"""
    message_model: Callable[[], type[M]]
    """The messages on this worker's queue (:mod:`autopilot.messages`); imported on first use,
    as the models of orders and transactions are a large part of a cold start."""
    queue_url: Callable[[], str]
    """The queue delayed copies go back on (from the worker's settings)."""
    idempotency_table: Callable[[], str]
    idempotency_key: str
    """JMESPath over :attr:`payload`'s result: which messages are the same work."""
    payload: Callable[[M], dict[str, Any]]
    """The JSON the idempotency key is taken from (the order, the transaction)."""
    idempotency_name: str
    """Names the idempotency records; kept stable across releases (see ``_idempotent``)."""
    outcome_metrics: Callable[[Mapping[str, Any]], Mapping[str, float]]
    """Counters to emit for one outcome."""
    dead_letter_queue_url: Callable[[], str | None] | None = None
    """The queue's DLQ, for errors that must not be retried (``dead_letter_now``)."""
    on_batch: Callable[[LambdaContext], None] | None = None
    """Called at the start of every batch (e.g. to give another API client the time budget)."""


class SqsWorker[M: Message]:
    """One SQS worker (see the module docstring); ``lambda_handler`` is its entry point."""

    def __init__(self, config: WorkerConfig[M], new_workflow: Callable[[], Workflow[M]]) -> None:
        self.config = config
        self.new_workflow = new_workflow
        self.logger = function_logger(config.service)
        self.metrics = Metrics(service=config.service)
        self._workflow: Workflow[M] | None = None

    # -- built on first use (they import boto3: see bench/coldstart.py) -----------------------
    @cached_property
    def processor(self) -> BatchProcessor:
        """Powertools' batch processor over the typed record model; counts every failure."""
        from autopilot.messages import QueueRecord

        record_model: type[BaseModel] = QueueRecord[self.config.message_model()]  # type: ignore[misc,assignment]
        return _CountingProcessor(self, record_model)

    @cached_property
    def delayed_retry(self) -> DelayedRetry:
        """Requeues onto this worker's queue (rate limit, outage, busy)."""
        return DelayedRetry(
            self.config.queue_url(),
            logger=self.logger,
            metrics=self.metrics,
            metric_prefix=self.config.metric_prefix,
        )

    @cached_property
    def _idempotent(self) -> tuple[Callable[..., dict[str, Any]], Any]:
        """The workflow call wrapped in Powertools idempotency, and its config."""
        from aws_lambda_powertools.utilities.idempotency import (
            DynamoDBPersistenceLayer,
            IdempotencyConfig,
            idempotent_function,
        )

        config = IdempotencyConfig(
            event_key_jmespath=self.config.idempotency_key,
            raise_on_no_idempotency_key=True,
            expires_after_seconds=IDEMPOTENCY_DAYS * 86400,
        )
        persistence = DynamoDBPersistenceLayer(table_name=self.config.idempotency_table())
        # Powertools names records "<Lambda function>.<name>"; the name is the one the records
        # had before this skeleton, so records of messages in flight during an upgrade still count.
        function = os.getenv("AWS_LAMBDA_FUNCTION_NAME", "test-func")

        @idempotent_function(  # type: ignore[untyped-decorator]
            data_keyword_argument="payload",
            persistence_store=persistence,
            config=config,
            key_prefix=f"{function}.{self.config.idempotency_name}",
        )
        def run(payload: dict[str, Any], message: M) -> dict[str, Any]:  # noqa: ARG001 - the key
            return self.workflow.handle(message)

        return run, config

    @property
    def workflow(self) -> Workflow[M]:
        """The workflow of the batch being worked on (a new one outside a batch)."""
        if self._workflow is None:
            self._workflow = self.new_workflow()
        return self._workflow

    def cache_clear(self) -> None:
        """Forget what this container built (tests and benches start like a cold container)."""
        for name in ("processor", "delayed_retry", "_idempotent", "_decorated"):
            self.__dict__.pop(name, None)
        self._workflow = None

    # -- per record ---------------------------------------------------------------------------
    def handle_record(self, record: QueueRecord[M]) -> dict[str, Any]:
        """One message → its workflow outcome; raises to fail the record."""
        message = record.body
        reference = message.correlation_id
        self.logger.set_correlation_id(reference)
        run, _config = self._idempotent
        try:
            outcome = run(payload=self.config.payload(message), message=message)
        except Exception as error:
            if getattr(error, "dead_letter_now", False) and self._dead_letter(message, error):
                return {"reference": reference, "status": "dead_lettered"}
            # Rate limit, Billomat outage, busy elsewhere: back on the queue with a delay (past
            # the retry horizon this raises and the record fails).
            if self.delayed_retry.retry_later(message.as_body(), error, reference) is not None:
                return {"reference": reference, "status": "delayed"}
            raise  # anything else: SQS retries the record; after its receives, the DLQ
        self.workflow.note_outcome(outcome)
        self.logger.info("message handled", extra=loggable(outcome))
        for name, value in self.config.outcome_metrics(outcome).items():
            self.metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)
        return outcome

    def _dead_letter(self, message: M, error: BaseException) -> bool:
        """Move ``message`` to the DLQ at once; False when no DLQ is configured (then retry)."""
        url = self.config.dead_letter_queue_url() if self.config.dead_letter_queue_url else None
        if not url:
            return False
        from autopilot.messages import message_body

        self.delayed_retry.client.send_message(
            QueueUrl=url,
            MessageBody=message_body(message),
            MessageAttributes={
                "correlation_id": {"DataType": "String", "StringValue": message.correlation_id},
                "error": {"DataType": "String", "StringValue": repr(error)[:1000]},
            },
        )
        self.logger.error(
            "configuration error: the message was moved to the dead-letter queue, not retried",
            extra={"error": repr(error)},
        )
        self.metrics.add_metric(
            name=f"{self.config.metric_prefix}_configuration_error", unit=MetricUnit.Count, value=1
        )
        return True

    def record_failed(self, record: Any, error: BaseException | None) -> None:
        """Log and count a failed record (parse error, workflow error, horizon exceeded)."""
        receives = getattr(record, "receive_count", None)
        if receives is None:  # a body that did not parse arrives as Powertools' SQSRecord
            attributes = getattr(record, "attributes", None)
            receives = getattr(attributes, "approximate_receive_count", None)
        self.logger.error(
            "message failed; SQS will retry it",
            extra={"receive_count": receives, "error": repr(error)},
            exc_info=error,
        )
        self.metrics.add_metric(
            name=f"{self.config.metric_prefix}_failed", unit=MetricUnit.Count, value=1
        )

    # -- per batch ----------------------------------------------------------------------------
    def lambda_handler(self, event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        """SQS event source entry point (ReportBatchItemFailures)."""
        return self._decorated(event, context)

    @cached_property
    def _decorated(self) -> Callable[[dict[str, Any], LambdaContext], dict[str, Any]]:
        @self.logger.inject_lambda_context(clear_state=True)
        @self.metrics.log_metrics
        def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
            from autopilot.billomat_access import billomat_client, lambda_time_budget
            from autopilot.operations_record import report_billomat_quota, status_store

            route_domain_logs(self.logger)
            _run, config = self._idempotent
            billomat = billomat_client()
            billomat.time_budget = lambda_time_budget(context.get_remaining_time_in_millis)
            if self.config.on_batch is not None:
                self.config.on_batch(context)
            config.register_lambda_context(context)
            self._workflow = self.new_workflow()
            try:
                response: PartialItemFailureResponse = process_partial_response(
                    event=event,
                    record_handler=self.handle_record,
                    processor=self.processor,
                    context=context,
                )
                self.workflow.finish_batch()
            finally:
                self._workflow = None
                report_billomat_quota(billomat, status_store(), self.metrics, self.config.service)
            return dict(response)

        return handler


# What ``logging.LogRecord`` holds itself: an ``extra`` key among them raises KeyError.
_LOG_RECORD_ATTRIBUTES = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


def loggable(outcome: Mapping[str, Any]) -> dict[str, Any]:
    """``outcome`` as log ``extra``: a key the log record owns (``created``, ``name``, …) is
    prefixed ``outcome_`` instead of failing the record after its work was done."""
    return {
        f"outcome_{key}" if key in _LOG_RECORD_ATTRIBUTES else key: value
        for key, value in outcome.items()
    }


class _CountingProcessor(BatchProcessor):
    """Powertools' processor that hands every failed record to the worker's one failure path."""

    def __init__(self, worker: SqsWorker[Any], model: type[BaseModel]) -> None:
        # A batch whose every record failed is reported like any other partial failure.
        super().__init__(
            event_type=EventType.SQS,
            model=model,  # type: ignore[arg-type] # only messageId, attributes and body are read
            raise_on_entire_batch_failure=False,
        )
        self._worker = worker

    def failure_handler(self, record: Any, exception: Any) -> Any:
        self._worker.record_failed(record, exception[1] if exception else sys.exc_info()[1])
        return super().failure_handler(record, exception)
