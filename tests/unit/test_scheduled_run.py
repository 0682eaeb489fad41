"""The one scheduled-run shape: input, business moment, summary, stop-and-report, over fakes."""

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

import pytest
from aws_lambda_powertools import Logger, Metrics

from autopilot.billomat import (
    BillomatAuthError,
    BillomatRateLimitedError,
    BillomatUnavailableError,
    BillomatValidationError,
)
from autopilot.billomat_access import use_billomat_client
from autopilot.scheduled_run import (
    BatchRunSummary,
    ScheduledRun,
    ScheduledRunIncomplete,
    ScheduleInput,
    ScheduleInputError,
    run_moment,
    scheduled_handler,
    stopping_on_systemic_errors,
    work_through,
)
from local.lambda_events import LocalLambdaContext

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


class ThingsIncomplete(ScheduledRunIncomplete):
    pass


@dataclass
class Harness:
    billomat: FakeBillomat
    logs: io.StringIO
    runs: list[ScheduledRun] = field(default_factory=list)

    def lines(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.logs.getvalue().splitlines() if line]


@pytest.fixture
def harness() -> Iterator[Harness]:
    billomat = FakeBillomat()
    use_billomat_client(billomat)  # type: ignore[arg-type]
    try:
        yield Harness(billomat, io.StringIO())
    finally:
        use_billomat_client(None)


def handler_for(harness: Harness, summary: Summary) -> Any:
    def run(invocation: ScheduledRun) -> Summary:
        harness.runs.append(invocation)
        return summary

    return scheduled_handler(
        "things",
        run,
        # a logger of its own per test (Powertools keeps the first handler of a service name)
        logger=Logger(service=f"things-{uuid.uuid4().hex}", level="INFO", stream=harness.logs),
        metrics=Metrics(namespace="Test", service="things"),
        incomplete=ThingsIncomplete,
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
