"""Time source of the sandbox: real time, or a simulated clock that tests move by hand."""

from __future__ import annotations

import threading
import time
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

BERLIN = ZoneInfo("Europe/Berlin")
"""Billomat accounts in this project live in Germany: calendar dates follow Berlin time."""


def as_utc(moment: datetime) -> datetime:
    """Return ``moment`` as an aware UTC datetime; a naive value is read as UTC."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


class SandboxClock:
    """Clock shared by everything in one sandbox (rate-limit windows, dates, due dates).

    ``SandboxClock()`` follows real time; ``SandboxClock(start)`` is a simulated clock frozen at
    ``start`` that only moves through :meth:`set`, :meth:`advance` and :meth:`sleep`. On a
    real-time clock :meth:`set` and :meth:`advance` shift an offset, so time keeps running.
    """

    def __init__(self, start: datetime | None = None) -> None:
        self._lock = threading.Lock()
        self._simulated: datetime | None = as_utc(start) if start is not None else None
        self._offset = timedelta()

    @property
    def follows_real_time(self) -> bool:
        """True when the clock runs with the wall clock (possibly shifted by an offset)."""
        return self._simulated is None

    def now(self) -> datetime:
        """Current instant as an aware UTC datetime."""
        with self._lock:
            if self._simulated is not None:
                return self._simulated
            return datetime.now(UTC) + self._offset

    def today(self) -> date:
        """Current calendar date in Europe/Berlin (the date Billomat uses for documents)."""
        return self.now().astimezone(BERLIN).date()

    def epoch(self) -> float:
        """Current instant as UNIX epoch seconds."""
        return self.now().timestamp()

    def set(self, moment: datetime) -> None:
        """Jump to ``moment`` (naive values are read as UTC)."""
        target = as_utc(moment)
        with self._lock:
            if self._simulated is not None:
                self._simulated = target
            else:
                self._offset = target - datetime.now(UTC)

    def advance(self, seconds: float) -> None:
        """Move the clock forward by ``seconds`` (backwards when negative)."""
        with self._lock:
            if self._simulated is not None:
                self._simulated += timedelta(seconds=seconds)
            else:
                self._offset += timedelta(seconds=seconds)

    def sleep(self, seconds: float) -> None:
        """Wait ``seconds``: instantly on a simulated clock, really when following real time."""
        if seconds <= 0:
            return
        if self.follows_real_time:
            time.sleep(seconds)
        else:
            self.advance(seconds)
