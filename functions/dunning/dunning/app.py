"""dunning Lambda: EventBridge Scheduler (daily 09:00 Europe/Berlin) → today's reminders.

The event is the schedule's input (``{"schedule": "dunning", "now": "<scheduled time>"}``) or,
in local mode, ``{"now": "<ISO-8601>"}``; without ``now`` the run uses the current time. The
handler answers the run's summary. A run that Billomat's rate limit or an outage stopped early
raises after recording what it did, so the function's retry policy and on-failure destination
take over; every step is checkpointed, so a retry never sends a reminder twice.
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

from .reminding import DunningRun, DunningSettings

logger = Logger(service="dunning")
metrics = Metrics(service="dunning")


class DunningRunIncomplete(RuntimeError):
    """The run stopped early (rate limit, outage); the retry continues where it stopped."""


@cache
def settings() -> DunningSettings:
    """The run's configuration, parsed once per container."""
    return DunningSettings.from_env()


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Scheduler / local-mode entry point: runs today's dunning and answers its summary."""
    now = run_moment(event)
    billomat = billomat_client()
    billomat.time_budget = lambda_time_budget(context.get_remaining_time_in_millis)
    logger.set_correlation_id(f"dunning:{now.date().isoformat()}")
    store = workflow_store_for(settings().workflow_table)
    notifier = accounting_notifier_for(settings().notifications_topic_arn)
    summary = DunningRun(billomat, store, notifier, settings()).run(now)
    answer = summary.as_dict()
    metrics.add_metric(name="reminders_sent", unit=MetricUnit.Count, value=len(summary.sent))
    if summary.attention:
        metrics.add_metric(
            name="review_needed", unit=MetricUnit.Count, value=len(summary.attention)
        )
    if not summary.complete:
        logger.error("dunning run incomplete", extra={"summary": answer})
        raise DunningRunIncomplete(
            f"{summary.stopped_because}; {len(summary.sent)} reminders sent, "
            f"{summary.deferred} deferred to the retry"
        )
    logger.info("dunning run finished", extra={"summary": answer})
    return answer
