"""refund_credit worker Lambda: SQS batches of shop refunds and cancellations → Billomat.

Wiring only: the shared SQS worker (:mod:`autopilot.sqs_worker`) runs
:class:`crediting.RefundCrediting` for every queued
:class:`~autopilot.messages.ShopRefundMessage` (→ one credit note, completed, e-mailed, paid)
and :class:`~autopilot.messages.ShopCancellationMessage` (→ the unpaid invoice cancelled).
A refund that arrives before its invoice waits through SQS delays (``WaitingForInvoice``).
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import TYPE_CHECKING, Any, cast

from autopilot.sqs_worker import SqsWorker, WorkerConfig, Workflow

if TYPE_CHECKING:
    from autopilot.messages import ShopCancellationMessage, ShopRefundMessage

    from .crediting import RefundCrediting, RefundCreditSettings

    RefundsMessage = ShopRefundMessage | ShopCancellationMessage


@cache
def settings() -> RefundCreditSettings:
    """The worker's configuration, parsed once per container."""
    from .crediting import RefundCreditSettings

    return RefundCreditSettings.from_env()


@cache
def crediting() -> RefundCrediting:
    """The refund workflow with its Billomat client, workflow table and notifier."""
    from autopilot.billomat_access import billomat_client
    from autopilot.notifications import accounting_notifier_for
    from autopilot.workflow_state import workflow_store_for

    from .crediting import RefundCrediting

    return RefundCrediting(
        billomat_client(),
        workflow_store_for(settings().workflow_table),
        accounting_notifier_for(settings().notifications_topic_arn),
        settings(),
    )


def refunds_message() -> type[RefundsMessage]:
    """The refunds queue's messages: a discriminated union of refund and cancellation."""
    from autopilot.messages import RefundQueueMessage

    return cast("type[RefundsMessage]", RefundQueueMessage)


class CreditRefunds(Workflow["RefundsMessage"]):
    """One refund → its credit note; one cancellation → its invoice cancelled."""

    def handle(self, message: RefundsMessage) -> dict[str, Any]:
        if message.kind == "shop_refund":
            return crediting().refund(message.refund).as_dict()
        return crediting().cancel(message.cancellation).as_dict()


def payload(message: RefundsMessage) -> dict[str, Any]:
    """The idempotency payload: the refund (by id) or the cancellation (by order)."""
    if message.kind == "shop_refund":
        refund = message.refund
        return {"kind": message.kind, "source": refund.source, "shop": refund.shop,
                "id": refund.refund_id}  # fmt: skip
    cancellation = message.cancellation
    return {"kind": message.kind, "source": cancellation.source, "shop": cancellation.shop,
            "id": cancellation.order_id}  # fmt: skip


def refund_metrics(outcome: Mapping[str, Any]) -> dict[str, float]:
    """``refunds_<status>``, and ``review_needed`` for a refund held for a person."""
    counts = {f"refunds_{outcome['status']}": 1.0}
    if outcome["status"] == "held_for_review":
        counts["review_needed"] = 1.0
    return counts


worker = SqsWorker(
    WorkerConfig(
        service="refund_credit",
        metric_prefix="refunds",
        message_model=refunds_message,
        queue_url=lambda: settings().refunds_queue_url,
        idempotency_table=lambda: settings().idempotency_table,
        idempotency_key="[kind, source, shop, id]",
        payload=payload,
        idempotency_name="refund_credit.app.credit_refund",
        outcome_metrics=refund_metrics,
    ),
    CreditRefunds,
)
lambda_handler = worker.lambda_handler
