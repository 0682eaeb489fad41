"""deal_invoice worker Lambda: SQS batches of HubSpot deal changes → Billomat offers and invoices.

Wiring only: the shared SQS worker (:mod:`autopilot.sqs_worker`) runs
:class:`quoting.DealQuoting` for every queued :class:`~autopilot.messages.DealMessage`.
Idempotency is keyed on the HubSpot event, so a redelivered message is answered from its
record; different events of one deal each read the deal's current state, one at a time.
HubSpot refusing the token (401/403) moves the message to the dead-letter queue at once.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import TYPE_CHECKING, Any

from autopilot.settings import DealInvoiceSettings
from autopilot.sqs_worker import SqsWorker, WorkerConfig, Workflow

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from autopilot.messages import DealMessage

    from .quoting import DealQuoting
    from .stages import PipelineCache


@cache
def settings() -> DealInvoiceSettings:
    """The worker's configuration, parsed once per container."""
    return DealInvoiceSettings.from_env()


@cache
def pipelines() -> PipelineCache:
    """The portal's deal pipelines, cached per container (``HUBSPOT_PIPELINES_CACHE_SECONDS``)."""
    from autopilot.hubspot.access import hubspot_client

    from .stages import PipelineCache

    return PipelineCache(
        lambda: hubspot_client().deal_pipelines(), settings().pipelines_cache_seconds
    )


@cache
def quoting() -> DealQuoting:
    """The deal workflow with its clients, workflow table and notifier."""
    from autopilot.billomat_access import billomat_client
    from autopilot.hubspot.access import hubspot_client
    from autopilot.notifications import accounting_notifier_for
    from autopilot.workflow_state import workflow_store_for

    from .quoting import DealQuoting

    return DealQuoting(
        billomat_client(),
        hubspot_client(),
        pipelines(),
        workflow_store_for(settings().workflow_table),
        accounting_notifier_for(settings().notifications_topic_arn),
        settings(),
    )


def deal_message() -> type[DealMessage]:
    """The deals queue's message model (imported on the first batch)."""
    from autopilot.messages import DealMessage

    return DealMessage


class QuoteAndBillDeals(Workflow["DealMessage"]):
    """One deal change → the deal's offer and invoice as its stage asks."""

    def handle(self, message: DealMessage) -> dict[str, Any]:
        return quoting().run(message).as_dict()


def deal_metrics(outcome: Mapping[str, Any]) -> dict[str, float]:
    """``deals_<status>``, and ``review_needed`` for a deal held for a person."""
    counts = {f"deals_{outcome['status']}": 1.0}
    if outcome["status"] == "held_for_review":
        counts["review_needed"] = 1.0
    return counts


def hubspot_time_budget(context: LambdaContext) -> None:
    """HubSpot's rate-limit waits must fit the Lambda's remaining time too."""
    from autopilot.billomat_access import lambda_time_budget
    from autopilot.hubspot.access import hubspot_client

    hubspot_client().time_budget = lambda_time_budget(context.get_remaining_time_in_millis)


worker = SqsWorker(
    WorkerConfig(
        service="deal_invoice",
        metric_prefix="deals",
        message_model=deal_message,
        queue_url=lambda: settings().deals_queue_url,
        idempotency_table=lambda: settings().idempotency_table,
        idempotency_key="[portal_id, deal_id, event_id]",
        payload=lambda message: message.model_dump(
            mode="json", include={"portal_id", "deal_id", "event_id"}
        ),
        idempotency_name="deal_invoice.app.quote_and_bill_deal",
        outcome_metrics=deal_metrics,
        dead_letter_queue_url=lambda: settings().deals_dead_letter_queue_url,
        on_batch=hubspot_time_budget,
    ),
    QuoteAndBillDeals,
)
lambda_handler = worker.lambda_handler
