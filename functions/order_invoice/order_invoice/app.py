"""order_invoice worker Lambda: SQS batches of shop orders → Billomat invoices.

Wiring only: the shared SQS worker (:mod:`autopilot.sqs_worker`: typed messages, idempotency,
delayed retry on a spent rate limit or an outage, one failure metric) runs
:class:`invoicing.OrderInvoicing` for every queued :class:`~autopilot.messages.ShopOrderMessage`.
Idempotency is keyed on the order and whether it is paid, so a paid delivery after an
invoiced unpaid one books the payment.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import TYPE_CHECKING, Any

from autopilot.settings import OrderInvoiceSettings
from autopilot.sqs_worker import SqsWorker, WorkerConfig, Workflow

if TYPE_CHECKING:
    from autopilot.messages import ShopOrderMessage

    from .invoicing import OrderInvoicing

# The workflow (Billomat client, pydantic models of documents) is imported on the first
# record rather than at module load: see bench/coldstart.py.


@cache
def settings() -> OrderInvoiceSettings:
    """The worker's configuration, parsed once per container."""
    return OrderInvoiceSettings.from_env()


@cache
def invoicing() -> OrderInvoicing:
    """The order workflow with its Billomat client, workflow table and notifier."""
    from autopilot.billomat_access import billomat_client
    from autopilot.notifications import accounting_notifier_for
    from autopilot.workflow_state import workflow_store_for

    from .invoicing import OrderInvoicing

    return OrderInvoicing(
        billomat_client(),
        workflow_store_for(settings().workflow_table),
        accounting_notifier_for(settings().notifications_topic_arn),
        settings(),
    )


def shop_order_message() -> type[ShopOrderMessage]:
    """The orders queue's message model (imported on the first batch)."""
    from autopilot.messages import ShopOrderMessage

    return ShopOrderMessage


class InvoiceOrders(Workflow["ShopOrderMessage"]):
    """One shop order → its invoice."""

    def handle(self, message: ShopOrderMessage) -> dict[str, Any]:
        return invoicing().run(message.order).as_dict()


def order_metrics(outcome: Mapping[str, Any]) -> dict[str, float]:
    """``orders_<status>``, and ``review_needed`` for an order held for a person."""
    counts = {f"orders_{outcome['status']}": 1.0}
    if outcome["status"] == "held_for_review":
        counts["review_needed"] = 1.0
    return counts


worker = SqsWorker(
    WorkerConfig(
        service="order_invoice",
        metric_prefix="orders",
        message_model=shop_order_message,
        queue_url=lambda: settings().orders_queue_url,
        idempotency_table=lambda: settings().idempotency_table,
        idempotency_key="[source, shop, order_id, is_paid]",
        payload=lambda message: message.order.model_dump(mode="json"),
        idempotency_name="order_invoice.app.invoice_order_once.<locals>.invoice_order",
        outcome_metrics=order_metrics,
    ),
    InvoiceOrders,
)
lambda_handler = worker.lambda_handler
