"""dunning Lambda: EventBridge Scheduler (daily 09:00 Europe/Berlin) → today's reminders.

The scheduled-run shape (:mod:`autopilot.scheduled_run`) around :class:`DunningRun`: the
business day from the schedule's ``now``, one summary as the answer, and a run that Billomat's
rate limit or an outage stopped early raises :class:`DunningRunIncomplete` after recording what
it did; every step is checkpointed, so the retry never sends a reminder twice.
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

from .reminding import DunningRun, DunningSettings, DunningSummary

__all__ = ["DunningRunIncomplete", "lambda_handler", "run_moment"]

logger = function_logger("dunning")
metrics = Metrics(service="dunning")


class DunningRunIncomplete(ScheduledRunIncomplete):
    """The run stopped early (rate limit, outage); the retry continues where it stopped."""


@cache
def settings() -> DunningSettings:
    """The run's configuration, parsed once per container."""
    return DunningSettings.from_env()


def send_todays_reminders(run: ScheduledRun) -> DunningSummary:
    """Today's dunning against Billomat, the workflow table and the accounting topic."""
    store = workflow_store_for(settings().workflow_table)
    notifier = accounting_notifier_for(settings().notifications_topic_arn)
    return DunningRun(run.billomat, store, notifier, settings()).run(run.moment)


lambda_handler = scheduled_handler(
    "dunning",
    send_todays_reminders,
    logger=logger,
    metrics=metrics,
    incomplete=DunningRunIncomplete,
)
