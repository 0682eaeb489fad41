"""recurring Lambda: EventBridge Scheduler (1st of the month 06:00 Europe/Berlin) → follow-up.

The scheduled-run shape (:mod:`autopilot.scheduled_run`) around :class:`RecurringRun`: the
period from the schedule's ``now``, one summary as the answer, and a run that Billomat's rate
limit or an outage stopped early raises :class:`RecurringRunIncomplete` after recording what it
did; the checkpoints make the retry send nothing twice.
"""

from __future__ import annotations

from functools import cache

from aws_lambda_powertools import Metrics

from autopilot.notifications import accounting_notifier_for
from autopilot.observability import function_logger
from autopilot.scheduled_run import (
    ScheduledRun,
    ScheduledRunIncomplete,
    run_moment,
    scheduled_handler,
)
from autopilot.workflow_state import workflow_store_for

from .issuing import RecurringRun, RecurringSettings, RecurringSummary

__all__ = ["RecurringRunIncomplete", "lambda_handler", "run_moment"]

logger = function_logger("recurring")
metrics = Metrics(service="recurring")


class RecurringRunIncomplete(ScheduledRunIncomplete):
    """The run stopped early (rate limit, outage); the retry continues where it stopped."""


@cache
def settings() -> RecurringSettings:
    """The run's configuration, parsed once per container."""
    return RecurringSettings.from_env()


def follow_up_recurring_invoices(run: ScheduledRun) -> RecurringSummary:
    """The period's recurring invoices completed and sent; missing runs reported."""
    store = workflow_store_for(settings().workflow_table)
    notifier = accounting_notifier_for(settings().notifications_topic_arn)
    return RecurringRun(run.billomat, store, notifier, settings()).run(run.moment)


lambda_handler = scheduled_handler(
    "recurring",
    follow_up_recurring_invoices,
    logger=logger,
    metrics=metrics,
    incomplete=RecurringRunIncomplete,
)
