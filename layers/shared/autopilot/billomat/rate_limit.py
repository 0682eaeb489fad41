"""Billomat's request quota: 300 requests per clock-aligned 15-minute window per account.

Every response says how many requests are left (``X-Rate-Limit-Remaining``) and when the next
window starts (``X-Rate-Limit-Reset``, UTC epoch seconds). A 429 means nothing was executed.

The quota belongs to the account, so every worker (each Lambda container with its own client)
draws on the same window. Who goes first when they compete: orders, then bank transfers, then
the schedules (:class:`RatePriority`). A lower priority that sees someone else drawing on the
window (the quota falls by more than its own requests) leaves a reserve of the window to the
higher ones: it stops sending when no more than its reserve is left and waits for the window's
tail, the last :data:`TAIL_SHARE` of it, when whatever is left is anyone's again (so a reserve
nobody needed is still used before the window ends). Alone, a worker uses the whole window.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

RESET_MARGIN_SECONDS = 1.0
"""Added to every wait for the reset: the header has whole seconds, and clocks differ a little."""

FALLBACK_WAIT_SECONDS = 300.0
"""Wait when a 429 says neither when the window resets nor how long to wait."""

BILLOMAT_WINDOW_SECONDS = 15 * 60
"""Billomat's windows: clock-aligned quarter hours."""

TAIL_SHARE = 0.25
"""The last part of a window in which a lower priority may use the reserve it left: long
enough to spend a reserve of half the window (150 of 300 requests take two workers well under
the 225 s), short enough that a higher priority arriving in the window finds its reserve."""


class RatePriority(StrEnum):
    """Who goes first when workers compete for a window (``BILLOMAT_PRIORITY``)."""

    ORDERS = "orders"
    BANK = "bank"
    SCHEDULES = "schedules"

    @property
    def reserve_share(self) -> float:
        """The share of the window this priority leaves to higher ones while they compete."""
        return _RESERVE_SHARES[self]


_RESERVE_SHARES = {RatePriority.ORDERS: 0.0, RatePriority.BANK: 0.5, RatePriority.SCHEDULES: 0.75}

_TRY_AGAIN = re.compile(r"try again in (\d+(?:\.\d+)?) seconds?", re.IGNORECASE)


@dataclass
class RateLimitState:
    """The quota as the last response reported it."""

    remaining: int | None = None
    reset: float | None = None
    limit: int = 0
    """The largest quota seen (remaining + 1 after a request): Billomat sends no limit header."""
    contended_window: float | None = None
    """The reset of the window in which someone else was seen drawing on the quota."""
    seen_at: float | None = None
    """When a response last carried quota headers (epoch seconds)."""
    rate_limited: int = 0
    """429 answers received so far (each one executed nothing)."""
    rate_limited_at: float | None = None
    """When the last 429 arrived (epoch seconds)."""
    reported_seen_at: float | None = None
    reported_rate_limited: int = 0
    """What :func:`autopilot.operations_record.report_billomat_quota` last reported."""

    def update(self, headers: Mapping[str, str], seen_at: float | None = None) -> None:
        """Take over the quota headers of a response (ignoring missing or garbled values);
        ``seen_at`` is when it arrived."""
        remaining = _number(headers.get("X-Rate-Limit-Remaining"))
        reset = _number(headers.get("X-Rate-Limit-Reset"))
        if seen_at is not None and (remaining is not None or reset is not None):
            self.seen_at = seen_at
        # Our own request used one; a larger drop in the same window was someone else.
        before = self.remaining if reset is not None and reset == self.reset else None
        if before is not None and remaining is not None and before - int(remaining) > 1:
            self.contended_window = reset
        if remaining is not None:
            self.remaining = int(remaining)
            self.limit = max(self.limit, self.remaining + 1)
        if reset is not None:
            self.reset = reset

    def refused(self, at: float) -> None:
        """Count a 429 that arrived at ``at`` (epoch seconds)."""
        self.rate_limited += 1
        self.rate_limited_at = at

    def contended(self) -> bool:
        """True when someone else has drawn on the current window (as far as we know)."""
        return self.reset is not None and self.contended_window == self.reset

    def held_back_for(
        self, now: float, priority: RatePriority, window_seconds: float
    ) -> float | None:
        """Seconds ``priority`` leaves the window to higher priorities before its next request,
        or None: it may send now. Only while competing, only down to its reserve, and never in
        the window's tail."""
        reserve = math.ceil(priority.reserve_share * self.limit)
        if reserve == 0 or self.remaining is None or self.reset is None:
            return None
        if not self.contended() or self.remaining > reserve:
            return None
        tail_starts = self.reset - TAIL_SHARE * window_seconds
        if now >= tail_starts:
            return None
        return tail_starts - now

    def exhausted_for(self, now: float) -> float | None:
        """Seconds to wait before the next request may be sent, or None when it may go now."""
        if self.remaining is None or self.remaining > 0 or self.reset is None:
            return None
        if self.reset <= now:
            return None
        return self.reset - now + RESET_MARGIN_SECONDS

    def window_passed(self) -> None:
        """Forget the exhausted quota once we have waited for the reset."""
        self.remaining = None


def retry_after_429(state: RateLimitState, messages: list[str], now: float) -> float:
    """Seconds to wait after a 429: until the reset, else "Try again in N seconds", else 5 min."""
    if state.reset is not None and state.reset > now:
        return state.reset - now + RESET_MARGIN_SECONDS
    for message in messages:
        match = _TRY_AGAIN.search(message)
        if match:
            return float(match.group(1)) + RESET_MARGIN_SECONDS
    return FALLBACK_WAIT_SECONDS


def _number(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        number = float(value.strip())
    except ValueError:
        return None
    return number if math.isfinite(number) else None
