"""The business clock: German bookkeeping days are Europe/Berlin calendar days.

The one rule for a naive datetime (one without ``tzinfo``): **it is Berlin wall time.**
``datetime(2026, 11, 25, 0, 30)`` means 00:30 in Berlin, so its Berlin day is 25 November;
``parse_moment("2026-11-25T00:30")`` reads typed text the same way. Aware datetimes keep their
instant and are only converted. A source that writes timestamps without an offset but means
another zone (Qonto writes UTC) attaches that zone where it parses the source's text, before
the moment reaches these helpers.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

BERLIN = ZoneInfo("Europe/Berlin")
"""The business's time zone: its calendar decides which day and month a moment belongs to."""


def _aware(moment: dt.datetime) -> dt.datetime:
    """``moment`` itself when aware; a naive one as Berlin wall time (the module's one rule)."""
    return moment.replace(tzinfo=BERLIN) if moment.tzinfo is None else moment


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
    return _aware(moment)


def berlin_time(moment: dt.datetime) -> dt.datetime:
    """``moment`` as an aware Berlin datetime (a naive moment is already Berlin wall time)."""
    return _aware(moment).astimezone(BERLIN)


def berlin_date(moment: dt.datetime) -> dt.date:
    """The Berlin calendar day of ``moment`` (a naive moment is Berlin wall time)."""
    return berlin_time(moment).date()


def berlin_today() -> dt.date:
    """Today's Berlin calendar day, by the real clock."""
    return dt.datetime.now(BERLIN).date()
