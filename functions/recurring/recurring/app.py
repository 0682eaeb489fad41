"""recurring Lambda: EventBridge Scheduler (1st of the month 06:00 Europe/Berlin) → follow-up.

The event is the schedule's input (``{"schedule": "recurring", "now": "<scheduled time>"}``)
or, in local mode, ``{"now": "<ISO-8601>"}``; without ``now`` the run uses the current time.
The handler answers the run's summary. A run that Billomat's rate limit or an outage stopped
early raises after recording what it did, so the retry policy and on-failure destination take
over; the checkpoints make the retry send nothing twice.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from autopilot.billomat_access import billomat_client, lambda_time_budget
from autopilot.business_time import run_moment
from autopilot.notifications import accounting_notifier_for
from autopilot.workflow_state import workflow_store_for

from .issuing import RecurringRun, RecurringSettings

logger = Logger(service="recurring")
metrics = Metrics(service="recurring")


class RecurringRunIncomplete(RuntimeError):
    """The run stopped early (rate limit, outage); the retry continues where it stopped."""


@cache
def settings() -> RecurringSettings:
    """The run's configuration, parsed once per container."""
    return RecurringSettings.from_env()


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Scheduler / local-mode entry point: follows up the period's recurring invoices."""
    now = run_moment(event)
    billomat = billomat_client()
    billomat.time_budget = lambda_time_budget(context.get_remaining_time_in_millis)
    logger.set_correlation_id(f"recurring:{now.date().isoformat()}")
    store = workflow_store_for(settings().workflow_table)
    notifier = accounting_notifier_for(settings().notifications_topic_arn)
    summary = RecurringRun(billomat, store, notifier, settings()).run(now)
    answer = summary.as_dict()
    metrics.add_metric(
        name="recurring_invoices_sent", unit=MetricUnit.Count, value=len(summary.sent)
    )
    if summary.attention:
        metrics.add_metric(
            name="review_needed", unit=MetricUnit.Count, value=len(summary.attention)
        )
    if not summary.complete:
        logger.error("recurring run incomplete", extra={"summary": answer})
        raise RecurringRunIncomplete(
            f"{summary.stopped_because}; {len(summary.sent)} invoices sent, "
            f"{summary.deferred} deferred to the retry"
        )
    logger.info("recurring run finished", extra={"summary": answer})
    return answer
