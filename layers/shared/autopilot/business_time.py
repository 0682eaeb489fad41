"""The business clock: German bookkeeping days are Europe/Berlin calendar days."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any
from zoneinfo import ZoneInfo

BERLIN = ZoneInfo("Europe/Berlin")


def parse_moment(value: str) -> dt.datetime:
    """An ISO-8601 timestamp as an aware datetime; without an offset it is Berlin wall time.

    ``2025-04-01T08:00`` means 08:00 in Berlin (what a person means when they type it);
    ``2025-04-01T06:00:00Z`` and ``...+02:00`` keep their offset. A bare date is its midnight.
    """
    text = value.strip()
    if not text:
        raise ValueError("now must be an ISO-8601 timestamp, got an empty string")
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"now must be an ISO-8601 timestamp, got {value!r}") from None
    return moment.replace(tzinfo=BERLIN) if moment.tzinfo is None else moment


def run_moment(event: Mapping[str, Any] | None) -> dt.datetime:
    """The moment a scheduled run stands for, in Berlin: the event's ``now`` or the clock.

    EventBridge Scheduler passes ``<aws.scheduler.scheduled-time>`` so that a retried run
    stays on its business day; local mode passes what the caller asked for.
    """
    given = (event or {}).get("now")
    if given in (None, ""):
        return dt.datetime.now(BERLIN)
    return parse_moment(str(given)).astimezone(BERLIN)


def berlin_date(moment: dt.datetime) -> dt.date:
    """The Berlin calendar day of an aware moment."""
    return moment.astimezone(BERLIN).date()
