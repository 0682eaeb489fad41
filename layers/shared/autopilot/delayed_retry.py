"""Put a message back on its queue for later without using up its receive count.

The one retry policy of every SQS worker (order_invoice, bank_payment, …):

- **Systemic failures wait, they never dead-letter.** A spent rate limit (429), a Billomat
  outage (5xx, timeout, no connection) or a refused API key (401) is not the message's fault:
  every other message would fail the same way. Failing the SQS record would use up one of its
  5 receives (6 minutes each), so an outage longer than half an hour would push every order
  into the dead-letter queue. Instead the worker sends a copy of the message with a delay and
  lets the original go: the rate limit waits for its reset, an outage backs off exponentially
  (30 s, 1, 2, 4, 8 min, then every 15 min, SQS's longest delay). Work busy elsewhere (a
  concurrent duplicate, a claim held by another message) comes back after 20 s, then backs
  off the same way (the holder may itself be waiting out an outage).
- **Receives and the dead-letter queue are for poison messages**: input that will never
  succeed, and bugs. Those errors are raised, SQS retries them, the DLQ alarm fires.
- **A horizon ends the waiting**: a message still failing ``RETRY_HORIZON_HOURS`` (default
  72 h) after its first delay is no longer delayed; its next failures use up its receives and
  it lands in the DLQ with the alarm. A generous attempt cap (one per minute of horizon) only
  guards against a loop whose clock does not move.
- **An outage is visible early**: every delay because of an outage emits
  ``billomat_outage_age_seconds``, how long this message has been failing in a row; the
  template alarms when its maximum reaches 30 minutes.

The state travels in the message under ``"retry"``; the time source is injectable
(``DelayedRetry(clock=…)`` or :func:`use_clock`), so tests and benches run on the Billomat
sandbox's simulated clock. Exactly once is not this module's business: a copy that is
delivered twice (the original's deletion failed) is a no-op through Powertools idempotency
and the workflows' checkpoints.
"""

from __future__ import annotations

import json
import math
import time
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

from autopilot.billomat.errors import (
    BillomatError,
    BillomatRateLimitedError,
    is_systemic,
)

MAX_SQS_DELAY_SECONDS = 900
"""SQS's longest DelaySeconds (15 minutes, also one rate-limit window)."""
DEFAULT_RETRY_HORIZON_HOURS = 72.0
OUTAGE_FIRST_DELAY_SECONDS = 30.0
BUSY_DELAY_SECONDS = 20.0
OUTAGE_ALARM_SECONDS = 1800
"""The template's outage alarm threshold on ``billomat_outage_age_seconds``: a message failing
that long is retried just after it, so the alarm sees the age when it is reached."""
ALARM_MARGIN_SECONDS = 15
OUTAGE_AGE_METRIC = "billomat_outage_age_seconds"
RETRY_KEY = "retry"
LEGACY_ATTEMPTS_KEY = "delayed_attempts"

Clock = Callable[[], float]

_clock_override: Clock | None = None


def use_clock(clock: Clock | None) -> None:
    """Make every :class:`DelayedRetry` without its own clock read ``clock`` (None: real time).

    Benches and tests pass the Billomat sandbox's ``clock.epoch`` so the horizon and the
    outage age follow simulated time.
    """
    global _clock_override
    _clock_override = clock


class RetryReason(StrEnum):
    """Why a message is put back on its queue."""

    RATE_LIMITED = "rate_limited"
    OUTAGE = "billomat_unavailable"
    BUSY = "in_progress_elsewhere"


class RetryHorizonExceeded(RuntimeError):
    """The message has waited out its horizon: it fails like a poison message (receives, DLQ)."""


@dataclass(frozen=True)
class RetryState:
    """What a message remembers of its delays (``message["retry"]``)."""

    attempts: int = 0
    """Delays so far, of any reason."""
    first_delayed_at: float | None = None
    """Epoch seconds of the first delay: the horizon is measured from here."""
    outage_since: float | None = None
    """Epoch seconds of the first outage failure in the current run of outage failures."""
    outage_attempts: int = 0
    """Outage failures in a row: the backoff's exponent."""
    busy_attempts: int = 0
    """Busy-elsewhere delays in a row: their backoff's exponent."""

    @classmethod
    def from_message(cls, message: Mapping[str, Any]) -> RetryState:
        """The state carried by ``message`` (a message from before this format counts its
        ``delayed_attempts`` and starts its horizon now)."""
        raw = message.get(RETRY_KEY)
        if not isinstance(raw, Mapping):
            return cls(attempts=int(message.get(LEGACY_ATTEMPTS_KEY, 0) or 0))

        def number(key: str) -> float | None:
            value = raw.get(key)
            return float(value) if isinstance(value, int | float) else None

        return cls(
            attempts=int(raw.get("attempts", 0) or 0),
            first_delayed_at=number("first_delayed_at"),
            outage_since=number("outage_since"),
            outage_attempts=int(raw.get("outage_attempts", 0) or 0),
            busy_attempts=int(raw.get("busy_attempts", 0) or 0),
        )

    def as_dict(self) -> dict[str, Any]:
        """JSON form stored in the message."""
        return {
            "attempts": self.attempts,
            "first_delayed_at": self.first_delayed_at,
            "outage_since": self.outage_since,
            "outage_attempts": self.outage_attempts,
            "busy_attempts": self.busy_attempts,
        }


@dataclass(frozen=True)
class RetryDecision:
    """One delay: how long, why, and the state the requeued copy carries."""

    reason: RetryReason
    delay_seconds: int
    state: RetryState
    outage_age_seconds: float | None = None
    """For an outage: how long this message has been failing in a row."""


@dataclass(frozen=True)
class RetryPolicy:
    """Backoff and horizon; pure, so unit tests can walk a whole outage without a queue."""

    horizon_seconds: float = DEFAULT_RETRY_HORIZON_HOURS * 3600
    outage_first_delay: float = OUTAGE_FIRST_DELAY_SECONDS
    max_delay: float = MAX_SQS_DELAY_SECONDS
    outage_alarm_seconds: float = OUTAGE_ALARM_SECONDS
    max_attempts: int | None = None
    """Loop guard; default one attempt per minute of horizon (4,320 for 72 h), far more than
    the ~300 delays a 72-hour outage or rate limit needs at up to 15 minutes each."""

    @property
    def attempt_cap(self) -> int:
        """The most delays a message may get, whatever the clock says."""
        if self.max_attempts is not None:
            return self.max_attempts
        return max(50, math.ceil(self.horizon_seconds / 60))

    def outage_delay(self, outage_attempts: int, key: str = "") -> int:
        """Exponential backoff for the ``outage_attempts``-th outage failure in a row:
        30 s doubling up to 15 minutes (see :meth:`backoff`)."""
        return self.backoff(self.outage_first_delay, outage_attempts, key)

    def backoff(self, first: float, attempt: int, key: str = "") -> int:
        """``first`` doubled per ``attempt`` after the first, up to ``max_delay``, shortened
        by up to a fifth by a jitter derived from ``key`` and the attempt (deterministic, yet
        messages that failed together spread out)."""
        exponent = min(max(attempt, 1) - 1, 30)
        base = min(self.max_delay, first * 2**exponent)
        if attempt <= 1:
            return self.clamp(base)
        spread = zlib.crc32(f"{key}:{attempt}".encode()) % 1000 / 1000
        return self.clamp(base * (1 - 0.2 * spread))

    def clamp(self, seconds: float) -> int:
        """A delay SQS accepts: whole seconds, at least 1, at most ``max_delay``."""
        return int(max(1, min(self.max_delay, math.ceil(seconds))))

    def decide(
        self,
        state: RetryState,
        reason: RetryReason,
        now: float,
        suggested_delay: float | None = None,
        key: str = "",
    ) -> RetryDecision:
        """The next delay, or :class:`RetryHorizonExceeded` when the message waited enough."""
        first = state.first_delayed_at if state.first_delayed_at is not None else now
        waited = now - first
        if waited >= self.horizon_seconds:
            raise RetryHorizonExceeded(
                f"still failing ({reason.value}) {waited / 3600:.1f} h after its first delay "
                f"(horizon {self.horizon_seconds / 3600:g} h)"
            )
        if state.attempts >= self.attempt_cap:
            raise RetryHorizonExceeded(
                f"delayed {state.attempts} times ({reason.value}), the most a message may be"
            )
        state = replace(state, attempts=state.attempts + 1, first_delayed_at=first)
        if reason is RetryReason.OUTAGE:
            since = state.outage_since if state.outage_since is not None else now
            attempts = state.outage_attempts + 1
            delay = self.outage_delay(attempts, key)
            alarm_at = since + self.outage_alarm_seconds + ALARM_MARGIN_SECONDS
            if now < alarm_at < now + delay:
                # Look again just after the alarm threshold, so the outage alarm fires at
                # 30 minutes rather than up to 15 minutes later.
                delay = self.clamp(alarm_at - now)
            return RetryDecision(
                reason,
                delay,
                replace(state, outage_since=since, outage_attempts=attempts, busy_attempts=0),
                outage_age_seconds=max(0.0, now - since),
            )
        if reason is RetryReason.BUSY:
            # Says nothing about Billomat: an outage in progress stays in progress.
            attempts = state.busy_attempts + 1
            first_delay = BUSY_DELAY_SECONDS if suggested_delay is None else suggested_delay
            delay = self.backoff(first_delay, attempts, key)
            return RetryDecision(reason, delay, replace(state, busy_attempts=attempts))
        # Billomat answered (rate limit): no outage any more.
        state = replace(state, outage_since=None, outage_attempts=0, busy_attempts=0)
        delay = self.clamp(self.max_delay if suggested_delay is None else suggested_delay)
        return RetryDecision(reason, delay, state)


def classify(error: BaseException) -> tuple[RetryReason, float | None] | None:
    """Which delayed retry ``error`` calls for (reason, suggested delay), or None: raise it.

    Systemic Billomat errors (``is_systemic``: rate limit, 5xx/timeout/connection, refused
    key), HubSpot's rate limit and outages, and work in progress elsewhere are delayed;
    everything else is a poison message or a bug and goes through SQS's receives to the DLQ.
    """
    from aws_lambda_powertools.utilities.idempotency.exceptions import (
        IdempotencyAlreadyInProgressError,
    )

    from autopilot.workflow_state import ClaimHeldElsewhere

    if isinstance(error, BillomatRateLimitedError):
        return RetryReason.RATE_LIMITED, error.retry_after
    if isinstance(error, BillomatError) and is_systemic(error):
        return RetryReason.OUTAGE, None
    hubspot = _hubspot_retry(error)
    if hubspot is not None:
        return hubspot
    if isinstance(error, ClaimHeldElsewhere | IdempotencyAlreadyInProgressError):
        return RetryReason.BUSY, BUSY_DELAY_SECONDS
    return None


def _hubspot_retry(error: BaseException) -> tuple[RetryReason, float | None] | None:
    """HubSpot's rate limit waits for its ``Retry-After``; its outages back off like Billomat's.
    (A refused token is not waited for: ``dead_letter_now``, see :mod:`autopilot.sqs_worker`.)"""
    if type(error).__module__ != "autopilot.hubspot.errors":
        return None  # not imported unless a HubSpot error is being handled
    from autopilot.hubspot.errors import HubSpotRateLimited, HubSpotUnavailable

    if isinstance(error, HubSpotRateLimited):
        return RetryReason.RATE_LIMITED, error.retry_after
    if isinstance(error, HubSpotUnavailable):
        return RetryReason.OUTAGE, None
    return None


def retry_horizon_seconds() -> float:
    """``RETRY_HORIZON_HOURS`` from the environment, in seconds."""
    from autopilot.settings import RetrySettings

    return RetrySettings.from_env().retry_horizon_hours * 3600


class DelayedRetry:
    """Requeues message bodies with a delay on one SQS queue, by :class:`RetryPolicy`.

    ``logger`` and ``metrics`` are the worker's Powertools objects; ``metric_prefix`` names
    its counters (``orders`` → ``orders_delayed``, ``orders_retry_horizon_exceeded``).
    """

    def __init__(
        self,
        queue_url: str,
        sqs_client: Any | None = None,
        *,
        policy: RetryPolicy | None = None,
        clock: Clock | None = None,
        logger: Any | None = None,
        metrics: Any | None = None,
        metric_prefix: str = "messages",
    ) -> None:
        self.queue_url = queue_url
        self._client = sqs_client
        self._policy = policy
        self._clock = clock
        self.logger = logger
        self.metrics = metrics
        self.metric_prefix = metric_prefix

    @property
    def client(self) -> Any:
        """The boto3 SQS client (created on first use)."""
        if self._client is None:
            import boto3

            self._client = boto3.client("sqs")
        return self._client

    @property
    def policy(self) -> RetryPolicy:
        """The policy given, else one with the configured horizon (read on first use)."""
        if self._policy is None:
            self._policy = RetryPolicy(horizon_seconds=retry_horizon_seconds())
        return self._policy

    def now(self) -> float:
        """Epoch seconds from the injected clock, :func:`use_clock`'s, else real time."""
        clock = self._clock or _clock_override or time.time
        return clock()

    def retry_later(
        self, message: dict[str, Any], error: BaseException, correlation_id: str
    ) -> RetryDecision | None:
        """Requeue ``message`` if ``error`` is worth waiting for; None: the caller re-raises.

        Raises :class:`RetryHorizonExceeded` (chained to ``error``) when the message has
        waited out its horizon: the record then fails and SQS's receives take it to the DLQ.
        """
        kind = classify(error)
        if kind is None:
            return None
        reason, suggested = kind
        try:
            return self.requeue(message, suggested, correlation_id, reason)
        except RetryHorizonExceeded as exceeded:
            self._log(
                "error",
                "giving up waiting; the message fails and goes to the dead-letter queue",
                {"reason": reason.value, "error": str(error), "why": str(exceeded)},
            )
            self._count(f"{self.metric_prefix}_retry_horizon_exceeded")
            raise exceeded from error

    def requeue(
        self,
        message: dict[str, Any],
        delay_seconds: float | None,
        correlation_id: str,
        reason: RetryReason = RetryReason.RATE_LIMITED,
    ) -> RetryDecision:
        """Send ``message`` again after the policy's delay (``delay_seconds`` is a suggestion
        for rate limit and busy delays; an outage uses the backoff)."""
        now = self.now()
        decision = self.policy.decide(
            RetryState.from_message(message), reason, now, delay_seconds, correlation_id
        )
        body = {k: v for k, v in message.items() if k != LEGACY_ATTEMPTS_KEY}
        body[RETRY_KEY] = decision.state.as_dict()
        self.send(json.dumps(body, separators=(",", ":")), decision.delay_seconds, correlation_id)
        extra: dict[str, Any] = {
            "reason": reason.value,
            "delay_seconds": decision.delay_seconds,
            "delayed_attempts": decision.state.attempts,
        }
        if decision.outage_age_seconds is not None:
            extra["outage_age_seconds"] = round(decision.outage_age_seconds)
            if self.metrics is not None:
                from aws_lambda_powertools.metrics import MetricUnit

                self.metrics.add_metric(
                    name=OUTAGE_AGE_METRIC,
                    unit=MetricUnit.Seconds,
                    value=decision.outage_age_seconds,
                )
        self._log("warning", "delayed: back on the queue later", extra)
        self._count(f"{self.metric_prefix}_delayed")
        return decision

    def send(self, body: str, delay_seconds: int, correlation_id: str) -> None:
        """Put ``body`` on the queue, visible after ``delay_seconds`` (tests replace this)."""
        self.client.send_message(
            QueueUrl=self.queue_url,
            MessageBody=body,
            DelaySeconds=delay_seconds,
            MessageAttributes={
                "correlation_id": {"DataType": "String", "StringValue": correlation_id}
            },
        )

    def _log(self, level: str, text: str, extra: dict[str, Any]) -> None:
        if self.logger is not None:
            getattr(self.logger, level)(text, extra=extra)

    def _count(self, name: str) -> None:
        if self.metrics is not None:
            from aws_lambda_powertools.metrics import MetricUnit

            self.metrics.add_metric(name=name, unit=MetricUnit.Count, value=1)
