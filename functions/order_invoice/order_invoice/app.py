"""order_invoice worker Lambda: SQS batches of shop orders → Billomat invoices.

The handler only turns each record into a `ShopOrder` and runs the idempotent workflow
(`invoicing.OrderInvoicing`); records fail individually (partial batch response). A spent
rate limit or a client being created by a concurrent order puts the record back on the
queue with a delay instead of failing it, so a burst is delayed, never lost; so does a
Billomat outage, with exponential backoff up to the retry horizon (``autopilot.delayed_retry``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import cache
from typing import Any

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
from autopilot.settings import OrderInvoiceSettings

# The workflow (Billomat client, pydantic models of orders and documents) is imported on
# the first record rather than at module load: see bench/coldstart.py.

logger = Logger(service="order_invoice")
metrics = Metrics(service="order_invoice")
# A batch whose every record failed is reported like any other partial failure.
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)

IDEMPOTENCY_DAYS = 7


@cache
def settings() -> OrderInvoiceSettings:
    """The worker's configuration, parsed once per container."""
    return OrderInvoiceSettings.from_env()


@cache
def delayed_retry() -> DelayedRetry:
    """Requeues onto the orders queue (rate limit, outage, busy: see autopilot.delayed_retry)."""
    return DelayedRetry(
        settings().orders_queue_url, logger=logger, metrics=metrics, metric_prefix="orders"
    )


@cache
def invoice_order_once() -> tuple[Callable[..., dict[str, Any]], Any]:
    """The workflow wrapped in Powertools idempotency (built on first use: it imports boto3).

    Keyed on the order and whether it is paid, so a paid delivery after an invoiced unpaid
    one books the payment; a concurrent duplicate raises IdempotencyAlreadyInProgressError.
    """
    from aws_lambda_powertools.utilities.idempotency import (
        DynamoDBPersistenceLayer,
        IdempotencyConfig,
        idempotent_function,
    )

    config = IdempotencyConfig(
        event_key_jmespath="[source, shop, order_id, is_paid]",
        raise_on_no_idempotency_key=True,
        expires_after_seconds=IDEMPOTENCY_DAYS * 86400,
    )
    from autopilot.billomat_access import billomat_client
    from autopilot.notifications import AccountingNotifier
    from autopilot.shop_orders import ShopOrder
    from autopilot.workflow_state import WorkflowStore

    from .invoicing import OrderInvoicing

    persistence = DynamoDBPersistenceLayer(table_name=settings().idempotency_table)
    invoicing = OrderInvoicing(
        billomat_client(),
        WorkflowStore(settings().workflow_table),
        AccountingNotifier(settings().notifications_topic_arn),
        settings(),
    )

    @idempotent_function(  # type: ignore[untyped-decorator]
        data_keyword_argument="order", persistence_store=persistence, config=config
    )
    def invoice_order(order: dict[str, Any]) -> dict[str, Any]:
        return invoicing.run(ShopOrder.model_validate(order)).as_dict()

    return invoice_order, config


def invoice_record(record: SQSRecord) -> dict[str, Any]:
    """One queued order → its invoice; raises to mark the record as failed."""
    from autopilot.shop_orders import ShopOrder

    message: dict[str, Any] = json.loads(record.body)
    order = ShopOrder.model_validate(message["order"])
    logger.set_correlation_id(order.reference)
    invoice_order, _config = invoice_order_once()
    try:
        outcome = invoice_order(order=order.model_dump(mode="json"))
    except Exception as error:
        # Rate limit, Billomat outage, busy elsewhere: back on the queue with a delay (past
        # the retry horizon this raises and the record fails).
        if delayed_retry().retry_later(message, error, order.reference) is not None:
            return {"reference": order.reference, "status": "delayed"}
        # Anything else: SQS retries the record; after the last receive it lands in the DLQ.
        receives = record.attributes.approximate_receive_count
        logger.exception("order failed; SQS will retry it", extra={"receive_count": receives})
        metrics.add_metric(name="orders_failed", unit=MetricUnit.Count, value=1)
        raise error
    logger.info("order handled", extra=outcome)
    metrics.add_metric(name=f"orders_{outcome['status']}", unit=MetricUnit.Count, value=1)
    if outcome["status"] == "held_for_review":
        metrics.add_metric(name="review_needed", unit=MetricUnit.Count, value=1)
    return outcome


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """SQS event source entry point (ReportBatchItemFailures)."""
    from autopilot.billomat_access import billomat_client, lambda_time_budget

    _invoice_order, config = invoice_order_once()
    billomat_client().time_budget = lambda_time_budget(context.get_remaining_time_in_millis)
    config.register_lambda_context(context)
    response = process_partial_response(
        event=event, record_handler=invoice_record, processor=processor, context=context
    )
    return dict(response)
