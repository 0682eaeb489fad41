"""Billomat's request quota: 300 requests per clock-aligned 15-minute window per account.

Every response says how many requests are left (``X-Rate-Limit-Remaining``) and when the next
window starts (``X-Rate-Limit-Reset``, UTC epoch seconds). A 429 means nothing was executed.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass

RESET_MARGIN_SECONDS = 1.0
"""Added to every wait for the reset: the header has whole seconds, and clocks differ a little."""

FALLBACK_WAIT_SECONDS = 300.0
"""Wait when a 429 says neither when the window resets nor how long to wait."""

_TRY_AGAIN = re.compile(r"try again in (\d+(?:\.\d+)?) seconds?", re.IGNORECASE)


@dataclass
class RateLimitState:
    """The quota as the last response reported it."""

    remaining: int | None = None
    reset: float | None = None

    def update(self, headers: Mapping[str, str]) -> None:
        """Take over the quota headers of a response (ignoring missing or garbled values)."""
        remaining = _number(headers.get("X-Rate-Limit-Remaining"))
        reset = _number(headers.get("X-Rate-Limit-Reset"))
        if remaining is not None:
            self.remaining = int(remaining)
        if reset is not None:
            self.reset = reset

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
