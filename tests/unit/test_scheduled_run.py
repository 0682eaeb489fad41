"""The one scheduled-run shape: input, business moment, summary, stop-and-report, the
schedule's lock (one run at a time), over fakes and a moto workflow table."""

from __future__ import annotations

import io
import json
import logging
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import boto3
import pytest
from aws_lambda_powertools import Logger, Metrics
from moto import mock_aws

from autopilot.billomat import (
    BillomatAuthError,
    BillomatRateLimitedError,
    BillomatUnavailableError,
    BillomatValidationError,
)
from autopilot.billomat.rate_limit import RateLimitState
from autopilot.billomat_access import use_billomat_client
from autopilot.scheduled_run import (
    RUN_LOCK_STALE_SECONDS,
    BatchRunSummary,
    ScheduledRun,
    ScheduledRunIncomplete,
    ScheduleInput,
    ScheduleInputError,
    run_lock_key,
    run_moment,
    scheduled_handler,
    stopping_on_systemic_errors,
    work_through,
)
from autopilot.workflow_state import LOCK_SORT_KEY, ClaimHeldElsewhere, WorkflowStore
from local.lambda_events import LocalLambdaContext
from local.template_schema import load_template, table_definition

BERLIN = ZoneInfo("Europe/Berlin")
log = logging.getLogger("autopilot.test_scheduled_run")


# -- the schedule's input and the business moment ------------------------------------------------


def test_scheduler_time_is_read_as_the_berlin_moment_it_stands_for() -> None:
    moment = run_moment({"schedule": "dunning", "now": "2026-11-25T08:00:00Z"})
    assert moment == datetime(2026, 11, 25, 9, tzinfo=BERLIN)
    assert moment.tzinfo is BERLIN


def test_local_now_without_offset_is_berlin_wall_time() -> None:
    assert run_moment({"now": "2026-11-25T00:30:00"}) == datetime(
        2026, 11, 25, 0, 30, tzinfo=BERLIN
    )
    assert run_moment({"now": "2026-12-01"}) == datetime(2026, 12, 1, tzinfo=BERLIN)
    # a Python caller's naive datetime follows the same rule
    assert run_moment({"now": datetime(2026, 11, 25, 0, 30)}).date().isoformat() == "2026-11-25"


@pytest.mark.parametrize("event", [None, {}, {"schedule": "reporting"}, {"now": ""}])
def test_without_now_the_run_stands_for_the_clock(event: dict[str, Any] | None) -> None:
    clock = datetime(2026, 12, 1, 7, 0, tzinfo=UTC)
    assert run_moment(event, now=lambda: clock) == datetime(2026, 12, 1, 8, tzinfo=BERLIN)
    assert run_moment(event).tzinfo is BERLIN


@pytest.mark.parametrize("now", ["tomorrow", "2026-13-01", "   ", 1764572400, ["2026-12-01"]])
def test_a_bad_now_is_a_clear_error_naming_the_format(now: Any) -> None:
    with pytest.raises(ScheduleInputError, match="invalid schedule input: now must be an ISO-8601"):
        run_moment({"schedule": "dunning", "now": now})
    with pytest.raises(ValueError, match="ISO-8601"):  # what callers before the model caught
        run_moment({"now": now})


def test_other_keys_of_the_input_are_ignored() -> None:
    parsed = ScheduleInput.model_validate({"schedule": "recurring", "detail-type": "x"})
    assert (parsed.schedule, parsed.now) == ("recurring", None)


# -- the handler ---------------------------------------------------------------------------------


@dataclass
class Summary(BatchRunSummary[str]):
    """A run that sends things, with a link in its answer that must not reach the logs."""

    SENT_METRIC = "things_sent"
    SENT_WHAT = "things"

    def as_dict(self) -> dict[str, Any]:
        return {"sent": len(self.sent), "link": "https://signed.example/?token=secret"}

    def loggable(self) -> dict[str, Any]:
        return {"sent": len(self.sent)}


def test_a_batch_summary_counts_what_was_sent_and_what_needs_a_person() -> None:
    assert Summary(sent=["a", "b"]).metric_counts() == {"things_sent": 2}
    assert Summary(attention=["check"]).metric_counts() == {"things_sent": 0, "review_needed": 1}
    stopped = Summary(sent=["a"], deferred=2, stopped_because="Billomat unavailable: down")
    assert not stopped.complete
    assert stopped.progress() == "1 things sent, 2 deferred to the retry"


class FakeBillomat:
    time_budget: Any = None

    def __init__(self) -> None:
        self.rate_limit = RateLimitState()


class ThingsIncomplete(ScheduledRunIncomplete):
    pass


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_750_000_000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Harness:
    billomat: FakeBillomat
    logs: io.StringIO
    store: WorkflowStore
    clock: FakeClock
    runs: list[ScheduledRun] = field(default_factory=list)

    def lines(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.logs.getvalue().splitlines() if line]

    def lock(self, name: str = "things") -> dict[str, Any] | None:
        return self.store.get(run_lock_key(name), LOCK_SORT_KEY)

    def last_run(self, name: str = "things") -> dict[str, Any] | None:
        return self.store.get(run_lock_key(name), "last_run")


@pytest.fixture
def harness() -> Iterator[Harness]:
    billomat = FakeBillomat()
    use_billomat_client(billomat)  # type: ignore[arg-type]
    clock = FakeClock()
    try:
        with mock_aws():
            client = boto3.client("dynamodb", region_name="eu-central-1")
            client.create_table(
                TableName="workflow", **table_definition(load_template(), "WorkflowTable")
            )
            yield Harness(billomat, io.StringIO(), WorkflowStore("workflow", client, clock), clock)
    finally:
        use_billomat_client(None)


def handler_for(
    harness: Harness,
    summary: Summary,
    name: str = "things",
    during: Any = None,
) -> Any:
    """The handler of schedule ``name`` answering ``summary``; ``during(invocation)`` runs
    inside the run (while it holds the lock)."""

    def run(invocation: ScheduledRun) -> Summary:
        harness.runs.append(invocation)
        if during is not None:
            during(invocation)
        return summary

    return scheduled_handler(
        name,
        run,
        # a logger of its own per test (Powertools keeps the first handler of a service name)
        logger=Logger(service=f"things-{uuid.uuid4().hex}", level="INFO", stream=harness.logs),
        metrics=Metrics(namespace="Test", service=name),
        incomplete=ThingsIncomplete,
        store=lambda: harness.store,
    )


def test_a_finished_run_answers_and_logs_its_one_summary(
    harness: Harness, capsys: pytest.CaptureFixture[str]
) -> None:
    handler = handler_for(harness, Summary(sent=["a", "b", "c"]))
    context = LocalLambdaContext("things", timeout_seconds=900)

    answer = handler({"schedule": "things", "now": "2026-11-24T23:30:00Z"}, context)

    assert answer == {"sent": 3, "link": "https://signed.example/?token=secret"}
    (invocation,) = harness.runs
    assert invocation.business_day.isoformat() == "2026-11-25"
    assert invocation.request_id == context.aws_request_id
    assert invocation.billomat is harness.billomat
    assert 880 < harness.billomat.time_budget() <= 890  # the Lambda's time less the margin
    (line,) = harness.lines()
    assert (line["message"], line["level"]) == ("things run finished", "INFO")
    assert line["correlation_id"] == "things:2026-11-25"
    assert line["summary"] == {"sent": 3}  # the loggable part: no signed links in the logs
    metrics_line = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert metrics_line["things_sent"] == [3.0]


def test_a_stopped_run_logs_an_error_and_raises_for_the_retry(harness: Harness) -> None:
    handler = handler_for(
        harness, Summary(sent=["a"], stopped_because="Billomat unavailable: down", deferred=2)
    )
    with pytest.raises(ThingsIncomplete) as raised:
        handler({"now": "2026-11-25T09:00:00"}, LocalLambdaContext("things"))
    assert str(raised.value) == "Billomat unavailable: down; 1 things sent, 2 deferred to the retry"
    (line,) = harness.lines()
    assert (line["message"], line["level"]) == ("things run incomplete", "ERROR")
    assert line["correlation_id"] == "things:2026-11-25"


def test_a_bad_now_fails_before_the_run_starts(harness: Harness) -> None:
    handler = handler_for(harness, Summary())
    with pytest.raises(ScheduleInputError):
        handler({"now": "yesterday"}, LocalLambdaContext("things"))
    assert harness.runs == []


# -- the last run, kept for the operator's status ------------------------------------------


def test_a_finished_run_is_kept_as_the_schedules_last_run_with_its_counts(
    harness: Harness,
) -> None:
    handler = handler_for(harness, Summary(sent=["a", "b", "c"], attention=["check"]))
    context = LocalLambdaContext("things")
    handler({"now": "2026-11-24T23:30:00Z"}, context)

    record = harness.last_run()
    assert record is not None
    assert (record["outcome"], record["business_day"], record["request_id"]) == (
        "finished",
        "2026-11-25",
        context.aws_request_id,
    )
    assert record["counts"] == {"things_sent": 3, "review_needed": 1}
    assert json.loads(record["summary"]) == {"sent": 3}  # the loggable part: no signed links
    assert record.get("error") is None
    assert record["finished_at"] >= record["started_at"]


def test_a_stopped_run_is_kept_as_incomplete_with_why(harness: Harness) -> None:
    handler = handler_for(
        harness, Summary(sent=["a"], stopped_because="Billomat unavailable: down", deferred=2)
    )
    with pytest.raises(ThingsIncomplete):
        handler({"now": "2026-11-25T09:00:00"}, LocalLambdaContext("things"))
    record = harness.last_run()
    assert record is not None
    assert record["outcome"] == "incomplete"
    assert record["error"] == ("Billomat unavailable: down; 1 things sent, 2 deferred to the retry")


def test_a_run_that_raises_is_kept_as_failed_and_the_error_still_raised(
    harness: Harness,
) -> None:
    def crash(invocation: ScheduledRun) -> None:
        raise KeyError("due_date")

    handler = handler_for(harness, Summary(), during=crash)
    with pytest.raises(KeyError):
        handler({"now": "2026-11-25T09:00:00"}, LocalLambdaContext("things"))
    record = harness.last_run()
    assert record is not None
    assert (record["outcome"], record["error"]) == ("failed", "KeyError: 'due_date'")
    assert harness.lock() is None


def test_a_skipped_run_leaves_the_last_run_of_the_run_that_did_the_work(
    harness: Harness,
) -> None:
    second = handler_for(harness, Summary(sent=["x"]))
    first_context = LocalLambdaContext("things")

    def meanwhile(invocation: ScheduledRun) -> None:
        second({"now": "2026-11-25T09:00:00"}, LocalLambdaContext("things"))
        assert harness.last_run() is None  # the skipped run wrote nothing

    first = handler_for(harness, Summary(sent=["a", "b"]), during=meanwhile)
    first({"now": "2026-11-25T09:00:00"}, first_context)
    record = harness.last_run()
    assert record is not None
    assert (record["request_id"], record["counts"]) == (
        first_context.aws_request_id,
        {"things_sent": 2},
    )


# -- one run at a time: the schedule's lock ------------------------------------------------


def test_an_overlapping_run_of_the_same_schedule_does_no_work_and_reports_busy(
    harness: Harness, capsys: pytest.CaptureFixture[str]
) -> None:
    second = handler_for(harness, Summary(sent=["x"]))
    answers: list[dict[str, Any]] = []
    first_context = LocalLambdaContext("things", timeout_seconds=900)

    def meanwhile(invocation: ScheduledRun) -> None:
        assert harness.lock() is not None
        assert harness.lock()["owner"] == first_context.aws_request_id  # type: ignore[index]
        answers.append(second({"now": "2026-11-25T09:00:00"}, LocalLambdaContext("things")))

    first = handler_for(harness, Summary(sent=["a", "b"]), during=meanwhile)
    answer = first({"now": "2026-11-25T09:00:00"}, first_context)

    assert answer["sent"] == 2
    assert len(harness.runs) == 1  # the second run never reached its work
    (busy,) = answers
    assert busy["schedule"] == "things"
    assert busy["skipped"] == "another run holds the lock"
    assert first_context.aws_request_id in busy["detail"]
    assert harness.lock() is None  # released when the first run ended
    lines = harness.lines()
    skipped = [line for line in lines if line["level"] == "WARNING"]
    assert [line["message"] for line in skipped] == [
        "things run skipped: another run holds the lock"
    ]
    assert skipped[0]["correlation_id"] == "things:2026-11-25"
    assert not [line for line in lines if line["level"] == "ERROR"]
    metrics_lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line]
    assert any(line.get("runs_skipped") == [1.0] for line in metrics_lines)

    # the next run, once the first has ended, works again
    again = handler_for(harness, Summary(sent=["c"]))({}, LocalLambdaContext("things"))
    assert again["sent"] == 1
    assert len(harness.runs) == 2


def test_a_lock_left_by_a_crashed_run_is_taken_over_once_stale(harness: Harness) -> None:
    claim = harness.store.claim(
        run_lock_key("things"), LOCK_SORT_KEY, "crashed-request", RUN_LOCK_STALE_SECONDS
    )
    assert claim.acquired  # a run that Lambda killed never released it
    handler = handler_for(harness, Summary(sent=["a"]))

    harness.clock.now += RUN_LOCK_STALE_SECONDS - 1  # the holder might still be running
    assert handler({}, LocalLambdaContext("things"))["skipped"] == "another run holds the lock"
    assert harness.runs == []

    harness.clock.now += 2  # older than any scheduled function's timeout: the holder is gone
    assert handler({}, LocalLambdaContext("things")) == {
        "sent": 1,
        "link": "https://signed.example/?token=secret",
    }
    assert len(harness.runs) == 1
    assert harness.lock() is None


def test_lambdas_retry_of_a_killed_run_takes_its_own_lock_over_at_once(harness: Harness) -> None:
    killed = LocalLambdaContext("things")
    harness.store.claim(
        run_lock_key("things"), LOCK_SORT_KEY, killed.aws_request_id, RUN_LOCK_STALE_SECONDS
    )
    retry = LocalLambdaContext("things", aws_request_id=killed.aws_request_id)  # Lambda keeps it
    assert handler_for(harness, Summary(sent=["a"]))({}, retry)["sent"] == 1


def test_a_stopped_run_releases_the_lock_for_its_retry(harness: Harness) -> None:
    stopped = Summary(stopped_because="Billomat unavailable: down", deferred=1)
    with pytest.raises(ThingsIncomplete):
        handler_for(harness, stopped)({}, LocalLambdaContext("things"))
    assert harness.lock() is None
    assert handler_for(harness, Summary(sent=["a"]))({}, LocalLambdaContext("things"))["sent"] == 1


def test_a_claim_held_inside_the_run_is_the_runs_error_not_a_skip(harness: Harness) -> None:
    def blocked(invocation: ScheduledRun) -> None:
        raise ClaimHeldElsewhere("invoice#7 is being worked on by someone")

    with pytest.raises(ClaimHeldElsewhere, match="invoice#7"):
        handler_for(harness, Summary(), during=blocked)({}, LocalLambdaContext("things"))
    assert harness.lock() is None


def test_different_schedules_do_not_wait_for_each_other(harness: Harness) -> None:
    answers: list[dict[str, Any]] = []

    def meanwhile(invocation: ScheduledRun) -> None:
        other = handler_for(harness, Summary(sent=["r"]), name="others")
        answers.append(other({}, LocalLambdaContext("others")))

    handler_for(harness, Summary(sent=["a"]), during=meanwhile)({}, LocalLambdaContext("things"))
    assert answers[0]["sent"] == 1
    assert [run.name for run in harness.runs] == ["things", "others"]


# -- stop and report -----------------------------------------------------------------------------


def outage() -> BillomatUnavailableError:
    return BillomatUnavailableError("down", may_have_committed=False, status_code=503)


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (outage(), "Billomat unavailable"),
        (BillomatRateLimitedError("quota", retry_after=600, status_code=429), "rate limit"),
        (BillomatAuthError("key", status_code=401), "refused the API key"),
    ],
)
def test_a_systemic_error_stops_the_run_and_says_why(error: Exception, reason: str) -> None:
    summary = Summary()
    with stopping_on_systemic_errors(summary, log):
        raise error
    assert summary.stopped_because is not None
    assert reason in summary.stopped_because


def test_other_errors_are_not_swallowed() -> None:
    summary = Summary()
    with pytest.raises(BillomatValidationError), stopping_on_systemic_errors(summary, log):
        raise BillomatValidationError("no", status_code=400)
    with pytest.raises(KeyError), stopping_on_systemic_errors(summary, log):
        raise KeyError("bug")
    assert summary.stopped_because is None


def test_a_refused_item_is_reported_and_the_run_goes_on() -> None:
    summary = Summary()
    done: list[str] = []

    def step(item: str) -> None:
        if item == "b":
            raise BillomatValidationError("illegal state", status_code=400)
        done.append(item)

    with stopping_on_systemic_errors(summary, log):
        work_through(["a", "b", "c"], step, lambda item, e: summary.attention.append(item), summary)

    assert (done, summary.attention) == (["a", "c"], ["b"])
    assert (summary.stopped_because, summary.deferred) == (None, 0)


def test_a_systemic_error_defers_this_item_and_the_rest() -> None:
    summary = Summary()
    done: list[str] = []

    def step(item: str) -> None:
        if item == "c":
            raise outage()
        done.append(item)

    with stopping_on_systemic_errors(summary, log):
        work_through(["a", "b", "c", "d", "e"], step, lambda item, e: None, summary)
        done.append("after the loop")  # not reached: the run stops

    assert done == ["a", "b"]
    assert summary.deferred == 3
    assert summary.stopped_because is not None
