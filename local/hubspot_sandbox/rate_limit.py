"""HubSpot's private-app limit: a number of requests per rolling window (100 per 10 s)."""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

LIMIT = 100
WINDOW_SECONDS = 10.0


@dataclass(frozen=True)
class QuotaState:
    """The limit as one answer reports it."""

    limit: int
    window_seconds: float
    remaining: int
    retry_after: int
    """Whole seconds until a slot frees (at least 1); meaningful on a 429."""

    def headers(self) -> dict[str, str]:
        """The three headers HubSpot sends on every answer."""
        return {
            "X-HubSpot-RateLimit-Interval-Milliseconds": str(round(self.window_seconds * 1000)),
            "X-HubSpot-RateLimit-Max": str(self.limit),
            "X-HubSpot-RateLimit-Remaining": str(self.remaining),
        }

    def refused_headers(self) -> dict[str, str]:
        """Headers of a 429: nothing remaining, and ``Retry-After``."""
        return {
            **QuotaState(self.limit, self.window_seconds, 0, self.retry_after).headers(),
            "Retry-After": str(self.retry_after),
        }


class RollingWindow:
    """Instants of the counted requests of the last ``window_seconds`` (epoch seconds)."""

    def __init__(self, limit: int = LIMIT, window_seconds: float = WINDOW_SECONDS) -> None:
        if limit < 1 or window_seconds <= 0:
            raise ValueError("a rate limit needs at least one request per positive window")
        self.limit = limit
        self.window_seconds = window_seconds
        self._counted: deque[float] = deque()

    def _expire(self, now: float) -> None:
        while self._counted and self._counted[0] <= now - self.window_seconds:
            self._counted.popleft()

    def state(self, now: float) -> QuotaState:
        """The limit at ``now`` without counting anything."""
        self._expire(now)
        used = len(self._counted)
        retry_after = 1
        if used >= self.limit:
            # The slot frees when enough counted requests have left the window.
            frees_at = self._counted[used - self.limit] + self.window_seconds
            retry_after = max(1, math.ceil(round(frees_at - now, 3)))
        return QuotaState(self.limit, self.window_seconds, max(0, self.limit - used), retry_after)

    def allows(self, now: float) -> bool:
        """True when a request at ``now`` is within the limit."""
        return self.state(now).remaining > 0

    def count(self, now: float) -> QuotaState:
        """Count one answered request (even beyond the limit, e.g. a 401) and report the state."""
        self._expire(now)
        self._counted.append(now)
        return self.state(now)

    def reset(self) -> None:
        """Forget every counted request."""
        self._counted.clear()
