"""Billomat's quota: a fixed number of requests per clock-aligned 15-minute window.

The window length is a parameter so benches can squeeze a burst into seconds of simulated
time (e.g. 40 requests per 20 s); Billomat's own is 15 minutes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

WINDOW_SECONDS = 15 * 60


@dataclass(frozen=True)
class QuotaState:
    """The quota as seen by one request: allowed or not, what is left, when it resets."""

    allowed: bool
    limit: int
    window_seconds: int
    remaining: int
    reset_at: int
    """UTC epoch seconds when the next window starts (``X-Rate-Limit-Reset``)."""
    retry_after: int

    def headers(self) -> dict[str, str]:
        """The two headers Billomat sends on every response."""
        return {
            "X-Rate-Limit-Remaining": str(self.remaining),
            "X-Rate-Limit-Reset": str(self.reset_at),
        }

    def error_message(self) -> str:
        """Billomat's text for an exhausted quota."""
        return (
            f"Maximum number of requests ({self.limit} per {_window_text(self.window_seconds)}) "
            "reached. "
            f"Try again in {self.retry_after} seconds."
        )


class RateLimiter:
    """Counts requests per window: one shared pool for unregistered calls, one for the app."""

    def __init__(self, limit: int, app_limit: int, window_seconds: int = WINDOW_SECONDS) -> None:
        if window_seconds <= 0:
            raise ValueError("a rate-limit window lasts at least one second")
        self.limit = limit
        self.app_limit = app_limit
        self.window_seconds = window_seconds
        self._used: dict[bool, tuple[int, int]] = {}

    def _window(self, now: float) -> int:
        return int(now // self.window_seconds) * self.window_seconds

    def _state(self, now: float, registered_app: bool, used: int, allowed: bool) -> QuotaState:
        limit = self.app_limit if registered_app else self.limit
        reset_at = self._window(now) + self.window_seconds
        return QuotaState(
            allowed=allowed,
            limit=limit,
            window_seconds=self.window_seconds,
            remaining=max(limit - used, 0),
            reset_at=reset_at,
            retry_after=max(math.ceil(reset_at - now), 1),
        )

    def _used_now(self, now: float, registered_app: bool) -> int:
        window, used = self._used.get(registered_app, (self._window(now), 0))
        return used if window == self._window(now) else 0

    def consume(self, now: float, *, registered_app: bool) -> QuotaState:
        """Count one request if the window still has quota; refuse it otherwise."""
        used = self._used_now(now, registered_app)
        limit = self.app_limit if registered_app else self.limit
        if used >= limit:
            return self._state(now, registered_app, used, allowed=False)
        self._used[registered_app] = (self._window(now), used + 1)
        return self._state(now, registered_app, used + 1, allowed=True)

    def peek(self, now: float, *, registered_app: bool) -> QuotaState:
        """The quota without counting a request (for answers that never reached the quota)."""
        used = self._used_now(now, registered_app)
        return self._state(now, registered_app, used, allowed=True)

    def reset(self) -> None:
        """Forget every count, as if a new window had started."""
        self._used.clear()


def _window_text(seconds: int) -> str:
    if seconds % 60 == 0:
        return f"{seconds // 60} minutes"
    return f"{seconds} seconds"
