"""The retry policy of the SQS workers: systemic errors wait with backoff up to a horizon."""

from __future__ import annotations

import json
from typing import Any

import pytest

from autopilot.billomat.errors import (
    BillomatAuthError,
    BillomatNotFoundError,
    BillomatRateLimitedError,
    BillomatResponseError,
    BillomatUnavailableError,
    BillomatValidationError,
)
from autopilot.delayed_retry import (
    MAX_SQS_DELAY_SECONDS,
    DelayedRetry,
    RetryHorizonExceeded,
    RetryPolicy,
    RetryReason,
    RetryState,
    classify,
    use_clock,
)
from autopilot.settings import ConfigurationError, RetrySettings
from autopilot.workflow_state import ClaimHeldElsewhere

HOUR = 3600.0
T0 = 1_764_000_000.0


def unavailable(committed: bool = False) -> BillomatUnavailableError:
    return BillomatUnavailableError(
        "Billomat unavailable", may_have_committed=committed, status_code=503
    )


def walk_outage(policy: RetryPolicy, seconds: float, key: str = "order-1") -> list[int]:
    """The delays one message gets while every attempt fails for ``seconds``."""
    state, now, delays = RetryState(), T0, []
    while now - T0 < seconds:
        decision = policy.decide(state, RetryReason.OUTAGE, now, key=key)
        delays.append(decision.delay_seconds)
        state, now = decision.state, now + decision.delay_seconds
    return delays


class FakeSqs:
    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    def send_message(self, **kwargs: Any) -> None:
        self.sent.append(kwargs)


class FakeMetrics:
    def __init__(self) -> None:
        self.values: list[tuple[str, float]] = []

    def add_metric(self, name: str, unit: Any, value: float) -> None:
        self.values.append((name, value))


# --- classification ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (unavailable(), RetryReason.OUTAGE),
        (unavailable(committed=True), RetryReason.OUTAGE),
        (BillomatAuthError("key refused", status_code=401), RetryReason.OUTAGE),
        (BillomatRateLimitedError("quota", retry_after=120), RetryReason.RATE_LIMITED),
        (ClaimHeldElsewhere("client being created"), RetryReason.BUSY),
    ],
)
def test_systemic_and_busy_errors_are_delayed(error: Exception, reason: RetryReason) -> None:
    kind = classify(error)
    assert kind is not None
    assert kind[0] is reason


def test_idempotency_in_progress_is_busy() -> None:
    from aws_lambda_powertools.utilities.idempotency.exceptions import (
        IdempotencyAlreadyInProgressError,
    )

    assert classify(IdempotencyAlreadyInProgressError("in progress")) == (RetryReason.BUSY, 20.0)


@pytest.mark.parametrize(
    "error",
    [
        BillomatValidationError("bad", status_code=400),
        BillomatNotFoundError("gone", status_code=404),
        BillomatResponseError("odd answer", status_code=418),
        ValueError("message fails validation"),
        KeyError("order"),
        RuntimeError("a bug"),
    ],
)
def test_poison_and_bugs_are_not_delayed(error: Exception) -> None:
    assert classify(error) is None


def test_rate_limit_suggests_waiting_for_the_reset() -> None:
    assert classify(BillomatRateLimitedError("quota", retry_after=417)) == (
        RetryReason.RATE_LIMITED,
        417,
    )


# --- backoff ----------------------------------------------------------------------------------


def test_outage_backoff_doubles_from_30_seconds_to_15_minutes() -> None:
    policy = RetryPolicy()
    bases = [30, 60, 120, 240, 480, 900, 900, 900]
    assert policy.outage_delay(1, key="order-1") == 30
    for attempt, base in enumerate(bases, start=1):
        delay = policy.outage_delay(attempt, key="order-1")
        assert 0.8 * base <= delay <= base, (attempt, delay)
    assert all(policy.outage_delay(n) <= MAX_SQS_DELAY_SECONDS for n in range(1, 500))


def test_jitter_spreads_messages_that_failed_together() -> None:
    policy = RetryPolicy()
    delays = {policy.outage_delay(6, key=f"order-{n}") for n in range(20)}
    assert len(delays) > 5


def test_a_72_hour_outage_is_waited_out_without_hitting_the_attempt_cap() -> None:
    policy = RetryPolicy()
    delays = walk_outage(policy, 71.9 * HOUR)
    assert sum(delays) >= 71.9 * HOUR
    assert len(delays) < policy.attempt_cap / 10  # ~290 delays, cap 4,320
    assert max(delays) <= MAX_SQS_DELAY_SECONDS


def test_horizon_counts_from_the_first_delay() -> None:
    policy = RetryPolicy(horizon_seconds=72 * HOUR)
    first = policy.decide(RetryState(), RetryReason.OUTAGE, T0, key="k")
    assert first.state.first_delayed_at == T0
    later = policy.decide(first.state, RetryReason.OUTAGE, T0 + 72 * HOUR - 1, key="k")
    assert later.state.first_delayed_at == T0
    with pytest.raises(RetryHorizonExceeded, match="72"):
        policy.decide(later.state, RetryReason.OUTAGE, T0 + 72 * HOUR, key="k")


@pytest.mark.parametrize("reason", list(RetryReason))
def test_horizon_ends_every_kind_of_waiting(reason: RetryReason) -> None:
    policy = RetryPolicy(horizon_seconds=HOUR)
    state = RetryState(attempts=3, first_delayed_at=T0)
    with pytest.raises(RetryHorizonExceeded):
        policy.decide(state, reason, T0 + HOUR, suggested_delay=20)


def test_attempt_cap_is_a_loop_guard_when_the_clock_stands_still() -> None:
    policy = RetryPolicy(horizon_seconds=72 * HOUR)
    assert policy.attempt_cap == 4320
    state = RetryState(attempts=policy.attempt_cap, first_delayed_at=T0)
    with pytest.raises(RetryHorizonExceeded, match="4320 times"):
        policy.decide(state, RetryReason.BUSY, T0, suggested_delay=20)


def test_outage_age_runs_from_the_first_outage_failure_and_resets_when_billomat_answers() -> None:
    policy = RetryPolicy()
    state = RetryState()
    now = T0
    ages = []
    for _ in range(7):
        decision = policy.decide(state, RetryReason.OUTAGE, now, key="k")
        ages.append(decision.outage_age_seconds)
        state, now = decision.state, now + decision.delay_seconds
    assert ages[0] == 0
    assert ages == sorted(ages)
    assert ages[-1] >= 1800 * 0.8
    limited = policy.decide(state, RetryReason.RATE_LIMITED, now, suggested_delay=300)
    assert limited.outage_age_seconds is None
    assert limited.state.outage_since is None
    assert limited.state.outage_attempts == 0
    assert limited.delay_seconds == 300
    again = policy.decide(limited.state, RetryReason.OUTAGE, now + 300, key="k")
    assert again.outage_age_seconds == 0
    assert again.delay_seconds <= 30  # the backoff starts over
    assert again.state.first_delayed_at == T0  # the horizon does not


def test_a_failing_message_is_retried_just_after_the_outage_alarm_threshold() -> None:
    policy = RetryPolicy()
    for key in (f"order-{n}" for n in range(30)):
        state, now, seen = RetryState(), T0, []
        while now - T0 < 3 * HOUR:
            decision = policy.decide(state, RetryReason.OUTAGE, now, key=key)
            seen.append(decision.outage_age_seconds)
            state, now = decision.state, now + decision.delay_seconds
        first_breach = min(age for age in seen if age is not None and age >= 1800)
        assert first_breach <= 1800 + 16, key


def test_rate_limit_and_busy_delays_are_clamped_to_what_sqs_accepts() -> None:
    policy = RetryPolicy()
    state = RetryState()
    assert policy.decide(state, RetryReason.RATE_LIMITED, T0, 0.2).delay_seconds == 1
    assert policy.decide(state, RetryReason.RATE_LIMITED, T0, 5000).delay_seconds == 900
    assert policy.decide(state, RetryReason.BUSY, T0, None).delay_seconds == 20


def test_busy_backs_off_and_keeps_an_outage_in_progress() -> None:
    policy = RetryPolicy()
    outage = policy.decide(RetryState(), RetryReason.OUTAGE, T0, key="k").state
    state, delays = outage, []
    for _ in range(8):
        decision = policy.decide(state, RetryReason.BUSY, T0 + 100, 20, key="k")
        delays.append(decision.delay_seconds)
        state = decision.state
    assert delays[0] == 20
    assert delays[-1] >= 0.8 * 900
    assert max(delays) <= 900
    assert state.outage_since == T0
    assert state.outage_attempts == 1
    assert state.busy_attempts == 8
    after = policy.decide(state, RetryReason.OUTAGE, T0 + 5000, key="k")
    assert after.outage_age_seconds == 5000
    assert after.state.busy_attempts == 0


def test_state_round_trips_through_the_message_and_reads_the_old_counter() -> None:
    state = RetryState(
        attempts=4, first_delayed_at=T0, outage_since=T0 + 60, outage_attempts=2, busy_attempts=1
    )
    message = json.loads(json.dumps({"order": {}, "retry": state.as_dict()}))
    assert RetryState.from_message(message) == state
    assert RetryState.from_message({"delayed_attempts": 7}) == RetryState(attempts=7)
    assert RetryState.from_message({}) == RetryState()


# --- the requeue ------------------------------------------------------------------------------


def test_retry_later_sends_a_delayed_copy_with_its_state_and_reports_the_outage_age() -> None:
    sqs, metrics, now = FakeSqs(), FakeMetrics(), [T0]
    retry = DelayedRetry(
        "https://sqs/q",
        sqs,
        policy=RetryPolicy(),
        clock=lambda: now[0],
        metrics=metrics,
        metric_prefix="orders",
    )
    message = {"kind": "shop_order", "order": {"id": 1}, "delayed_attempts": 2}
    first = retry.retry_later(message, unavailable(), "shopify:s:order:1")
    assert first is not None
    assert first.reason is RetryReason.OUTAGE
    [sent] = sqs.sent
    assert sent["QueueUrl"] == "https://sqs/q"
    assert sent["DelaySeconds"] == first.delay_seconds
    assert sent["MessageAttributes"]["correlation_id"]["StringValue"] == "shopify:s:order:1"
    copy = json.loads(sent["MessageBody"])
    assert copy["order"] == {"id": 1}
    assert "delayed_attempts" not in copy
    assert copy["retry"] == {
        "attempts": 3,
        "first_delayed_at": T0,
        "outage_since": T0,
        "outage_attempts": 1,
        "busy_attempts": 0,
    }
    now[0] = T0 + 1900
    retry.retry_later(copy, unavailable(), "shopify:s:order:1")
    assert ("billomat_outage_age_seconds", 1900) in metrics.values
    assert metrics.values.count(("orders_delayed", 1)) == 2


def test_retry_later_leaves_poison_to_the_caller() -> None:
    sqs = FakeSqs()
    retry = DelayedRetry("https://sqs/q", sqs, policy=RetryPolicy(), clock=lambda: T0)
    assert retry.retry_later({"order": {}}, ValueError("bad order"), "x") is None
    assert sqs.sent == []


def test_past_the_horizon_the_error_is_raised_chained_and_counted() -> None:
    sqs, metrics = FakeSqs(), FakeMetrics()
    retry = DelayedRetry(
        "https://sqs/q",
        sqs,
        policy=RetryPolicy(horizon_seconds=HOUR),
        clock=lambda: T0 + HOUR,
        metrics=metrics,
        metric_prefix="bank_transactions",
    )
    message = {"retry": RetryState(attempts=5, first_delayed_at=T0).as_dict()}
    cause = unavailable()
    with pytest.raises(RetryHorizonExceeded) as raised:
        retry.retry_later(message, cause, "fints:1")
    assert raised.value.__cause__ is cause
    assert sqs.sent == []
    assert metrics.values == [("bank_transactions_retry_horizon_exceeded", 1)]


def test_use_clock_drives_delayed_retries_without_their_own_clock() -> None:
    sqs = FakeSqs()
    retry = DelayedRetry("https://sqs/q", sqs, policy=RetryPolicy())
    use_clock(lambda: 1234.0)
    try:
        assert retry.now() == 1234.0
        retry.retry_later({}, unavailable(), "x")
    finally:
        use_clock(None)
    assert json.loads(sqs.sent[0]["MessageBody"])["retry"]["first_delayed_at"] == 1234.0


def test_horizon_comes_from_retry_horizon_hours(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RETRY_HORIZON_HOURS", "96")
    assert DelayedRetry("https://sqs/q", FakeSqs()).policy.horizon_seconds == 96 * HOUR
    monkeypatch.delenv("RETRY_HORIZON_HOURS")
    assert DelayedRetry("https://sqs/q", FakeSqs()).policy.horizon_seconds == 72 * HOUR
    with pytest.raises(ConfigurationError, match="RETRY_HORIZON_HOURS"):
        RetrySettings.from_env({"RETRY_HORIZON_HOURS": "0"})
