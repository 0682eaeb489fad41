"""The one shape of a scheduled run (dunning, recurring, reporting).

EventBridge Scheduler invokes the function with the schedule's input,
``{"schedule": "dunning", "now": "<aws.scheduler.scheduled-time>"}``; local mode sends
``{"now": "<ISO-8601>"}``. The scheduled time keeps a retried run on its business day; without
``now`` the run stands for the real current time. :func:`scheduled_handler` builds the
function's handler around the workflow's run:

1. parse the input (:class:`ScheduleInput`) into the business moment, in Berlin;
2. correlation id ``<run>:<business day>``; the Billomat client may wait for its rate limit
   only as long as the Lambda's remaining time allows;
3. take the schedule's lock in the workflow table (:func:`run_lock_key`): one run of a
   schedule at a time, without reserved concurrency (see "One run at a time" below);
4. run the workflow, emit its metrics, log its one summary and answer it;
5. a run that a systemic Billomat error stopped early (rate limit, outage, refused key) logs an
   error and raises the function's "incomplete" exception after recording what it did, so the
   Lambda retry and the on-failure destination take over (the checkpoints make that safe);
6. every run that took the lock is kept as the schedule's last run, finished, incomplete or
   failed, with its counts and summary, and the Billomat quota it saw is kept, for ``GET
   /admin/status`` (:mod:`autopilot.operations_record`).

One run at a time: the run holds ``schedule#<name>`` / ``lock`` (owner: the Lambda request id)
while it works. A second run of the same schedule that starts meanwhile does no work: it logs a
warning, counts the metric ``runs_skipped`` and answers :func:`skipped_answer` (``{"skipped":
"another run holds the lock", ...}``) — a success, so neither the Lambda retry nor the
on-failure destination re-runs it; the run holding the lock does the work. A lock left by a run
that Lambda killed (timeout, crash) is taken over by Lambda's own retry of that invocation at
once (a retry keeps its request id, the lock's owner), by any other run once it is older than
:data:`RUN_LOCK_STALE_SECONDS`, which exceeds every scheduled function's timeout.

Inside a run, :func:`stopping_on_systemic_errors` and :func:`work_through` are the
stop-and-report rule: a systemic error ends the run and counts what is left as deferred; any
other Billomat refusal is reported for that item and the run goes on.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Protocol

from aws_lambda_powertools.metrics import MetricUnit
from pydantic import BaseModel, BeforeValidator, ConfigDict, ValidationError

from autopilot.billomat import BillomatError, describe_stop, is_systemic
from autopilot.billomat_access import billomat_client, lambda_time_budget
from autopilot.business_time import BERLIN, berlin_time, parse_moment
from autopilot.observability import route_domain_logs
from autopilot.operations_record import record_schedule_run, report_billomat_quota
from autopilot.workflow_state import ClaimHeldElsewhere, WorkflowStore, workflow_store_for

if TYPE_CHECKING:
    from aws_lambda_powertools import Logger, Metrics
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from autopilot.billomat import BillomatClient

Handler = Callable[[dict[str, Any], "LambdaContext"], dict[str, Any]]


def _moment(value: Any) -> dt.datetime | None:
    """``now`` as an aware Berlin datetime; absent or empty means "use the clock"."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        value = parse_moment(value)
    elif not isinstance(value, dt.datetime):
        raise ValueError(f"now must be an ISO-8601 timestamp string, got {value!r}")
    return berlin_time(value)


class ScheduleInput(BaseModel):
    """The input of a scheduled invocation (EventBridge Scheduler or local mode)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    schedule: str | None = None
    """Which schedule fired (``dunning``, ``recurring``, ``reporting``); informative only."""
    now: Annotated[dt.datetime | None, BeforeValidator(_moment)] = None
    """The moment the run stands for, in Berlin; None: the current time."""


class ScheduleInputError(ValueError):
    """The invocation's input is not a schedule input (for instance ``now`` is no timestamp)."""


def _berlin_now() -> dt.datetime:
    return dt.datetime.now(BERLIN)


def run_moment(
    event: Mapping[str, Any] | None, now: Callable[[], dt.datetime] = _berlin_now
) -> dt.datetime:
    """The moment a scheduled run stands for, in Berlin: the input's ``now``, else ``now()``.

    A bad input raises :class:`ScheduleInputError` naming the field and what was wrong.
    """
    try:
        given = ScheduleInput.model_validate(event or {})
    except ValidationError as error:
        problems = "; ".join(
            str(problem.get("ctx", {}).get("error") or problem["msg"]) for problem in error.errors()
        )
        raise ScheduleInputError(f"invalid schedule input: {problems}") from None
    return given.now if given.now is not None else now().astimezone(BERLIN)


# -- what a workflow's run gets and gives back --------------------------------------------------


@dataclass(frozen=True)
class ScheduledRun:
    """One invocation of a scheduled function, as the workflow's run sees it."""

    name: str
    """The run's name (``dunning``): the correlation id's prefix and the log lines' subject."""
    moment: dt.datetime
    """The business moment, an aware Berlin datetime."""
    request_id: str
    """The Lambda request id (owner of claims the run takes)."""
    billomat: BillomatClient
    """The container's client, its waits bounded by the invocation's remaining time."""

    @property
    def business_day(self) -> dt.date:
        """The Berlin calendar day the run stands for."""
        return self.moment.date()


class RunSummary(Protocol):
    """What a scheduled run reports: the one summary the handler logs and answers."""

    @property
    def stopped_because(self) -> str | None:
        """Why a systemic Billomat error stopped the run early; None: it ran to the end."""

    def as_dict(self) -> dict[str, Any]:
        """The handler's JSON answer."""

    def loggable(self) -> dict[str, Any]:
        """The summary as logged: the answer without what must not reach the logs (links)."""

    def metric_counts(self) -> dict[str, int]:
        """The run's metrics (all counts), by name."""

    def progress(self) -> str:
        """What was done and what is left, for the error of a run that stopped early."""


class ScheduledRunIncomplete(RuntimeError):
    """A systemic Billomat error stopped the run early; the retry continues where it stopped."""


@dataclass(kw_only=True)
class BatchRunSummary[T]:
    """The summary of a run that works through a batch of documents and sends them.

    Besides its own figures (``as_dict``) it holds what the stop-and-report rule fills in:
    what needs a person, why the run stopped early and how many items were deferred.
    """

    SENT_METRIC: ClassVar[str]
    """The metric counting what the run sent (``reminders_sent``)."""
    SENT_WHAT: ClassVar[str]
    """What it sends, for the incomplete run's error (``reminders``)."""

    sent: list[T] = field(default_factory=list)
    attention: list[str] = field(default_factory=list)
    """What a person must look at (also counted as ``review_needed``)."""
    deferred: int = 0
    """Items a systemic error left for the retry."""
    stopped_because: str | None = None

    @property
    def complete(self) -> bool:
        """False when Billomat's rate limit or an outage stopped the run early."""
        return self.stopped_because is None

    def as_dict(self) -> dict[str, Any]:
        """The handler's JSON answer (each run has its own)."""
        raise NotImplementedError

    def loggable(self) -> dict[str, Any]:
        """The summary as logged: the whole answer."""
        return self.as_dict()

    def metric_counts(self) -> dict[str, int]:
        """What was sent, always; ``review_needed`` when something needs a person."""
        counts = {self.SENT_METRIC: len(self.sent)}
        if self.attention:
            counts["review_needed"] = len(self.attention)
        return counts

    def progress(self) -> str:
        """What an interrupted run did and left for the retry."""
        return f"{len(self.sent)} {self.SENT_WHAT} sent, {self.deferred} deferred to the retry"


# -- one run at a time --------------------------------------------------------------------------

RUN_LOCK_STALE_SECONDS = 900 + 60
"""How old a schedule's lock must be before another run may take it over: Lambda's longest
timeout (900 s, the scheduled functions' ``Timeout`` in template.yaml) plus a minute, so the lock
of a run that is still running is never taken (a template test keeps the timeouts below it)."""

SKIPPED_BECAUSE = "another run holds the lock"


def run_lock_key(name: str) -> str:
    """The workflow-table key (``pk``; the sort key is ``lock``) of schedule ``name``'s lock."""
    return f"schedule#{name}"


def skipped_answer(name: str, held: ClaimHeldElsewhere) -> dict[str, Any]:
    """What a run answers when another run of its schedule holds the lock: it did nothing."""
    return {"schedule": name, "skipped": SKIPPED_BECAUSE, "detail": str(held)}


def _configured_store() -> WorkflowStore:
    """The container's store of the workflow table (``WORKFLOW_TABLE``)."""
    return workflow_store_for(os.environ["WORKFLOW_TABLE"])


# -- the handler -------------------------------------------------------------------------------


def scheduled_handler[S: RunSummary](
    name: str,
    run: Callable[[ScheduledRun], S],
    *,
    logger: Logger,
    metrics: Metrics,
    incomplete: type[ScheduledRunIncomplete] = ScheduledRunIncomplete,
    store: Callable[[], WorkflowStore] = _configured_store,
) -> Handler:
    """The Lambda handler of the scheduled function ``name`` that runs ``run``.

    ``logger`` is the function's (:func:`autopilot.observability.function_logger`), ``metrics``
    its Metrics; ``incomplete`` is raised when the summary says the run stopped early;
    ``store`` gives the workflow table that holds the schedule's lock.
    """

    @logger.inject_lambda_context(clear_state=True)
    @metrics.log_metrics
    def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        route_domain_logs(logger)  # local mode and tests import several functions' modules
        moment = run_moment(event)
        started_at = time.time()
        logger.set_correlation_id(f"{name}:{moment.date().isoformat()}")
        workflow = store()
        with ExitStack() as held:
            try:  # only the lock's own refusal is a skip; one inside the run is the run's
                held.enter_context(
                    workflow.exclusive(
                        run_lock_key(name), context.aws_request_id, RUN_LOCK_STALE_SECONDS
                    )
                )
            except ClaimHeldElsewhere as busy:
                metrics.add_metric(name="runs_skipped", unit=MetricUnit.Count, value=1)
                answer = skipped_answer(name, busy)
                logger.warning(f"{name} run skipped: {SKIPPED_BECAUSE}", extra=answer)
                return answer
            billomat = billomat_client()
            billomat.time_budget = lambda_time_budget(context.get_remaining_time_in_millis)
            record = partial(
                record_schedule_run,
                workflow,
                name,
                moment=moment,
                request_id=context.aws_request_id,
                started_at=started_at,
            )
            try:
                summary = run(ScheduledRun(name, moment, context.aws_request_id, billomat))
            except Exception as error:
                record(outcome="failed", error=f"{type(error).__name__}: {error}")
                raise
            finally:
                report_billomat_quota(billomat, workflow, metrics, name)
            record(
                outcome="finished" if summary.stopped_because is None else "incomplete",
                counts=summary.metric_counts(),
                summary=summary.loggable(),
                error=None
                if summary.stopped_because is None
                else f"{summary.stopped_because}; {summary.progress()}",
            )
        for metric, count in summary.metric_counts().items():
            metrics.add_metric(name=metric, unit=MetricUnit.Count, value=count)
        logged = {"summary": summary.loggable()}
        if summary.stopped_because is not None:
            logger.error(f"{name} run incomplete", extra=logged)
            raise incomplete(f"{summary.stopped_because}; {summary.progress()}")
        logger.info(f"{name} run finished", extra=logged)
        return summary.as_dict()

    return lambda_handler


# -- stop and report ---------------------------------------------------------------------------


@contextmanager
def stopping_on_systemic_errors(
    summary: BatchRunSummary[Any], log: logging.Logger
) -> Iterator[None]:
    """Run the block; a systemic Billomat error ends it and is recorded as the stop's reason.

    What the block did stays done; every other error propagates.
    """
    try:
        yield
    except BillomatError as error:
        if not is_systemic(error):
            raise
        summary.stopped_because = describe_stop(error)
        log.warning("run stopped early: %s", error)


def work_through[T](
    items: Sequence[T],
    step: Callable[[T], None],
    refused: Callable[[T, BillomatError], None],
    summary: BatchRunSummary[Any],
) -> None:
    """Do ``step`` for each item in order; Billomat refusing one is ``refused`` and skipped.

    A systemic error counts this item and the rest as deferred and propagates, to end the run
    in :func:`stopping_on_systemic_errors`.
    """
    for position, item in enumerate(items):
        try:
            step(item)
        except BillomatError as error:
            if is_systemic(error):
                summary.deferred = len(items) - position
                raise
            refused(item, error)
