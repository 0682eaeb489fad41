"""Which month a report covers: "last month" as the calendar reads in Europe/Berlin.

The schedule fires at 08:00 Berlin time on the 1st, but the function may also run at any
other moment (a retry, a local run with ``{"now": ...}``); the reported month is always the
calendar month before the Berlin date of that moment. Near midnight the UTC date and the
Berlin date differ (by one hour in winter, two in summer), which is why every decision here
starts from the Berlin date and never from the UTC one.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass

# re-exported: the report's callers read the moment through this module
from autopilot.business_time import BERLIN as BERLIN
from autopilot.business_time import berlin_date as berlin_date
from autopilot.business_time import parse_moment as parse_moment

GERMAN_MONTH_NAMES = (
    "Januar",
    "Februar",
    "März",
    "April",
    "Mai",
    "Juni",
    "Juli",
    "August",
    "September",
    "Oktober",
    "November",
    "Dezember",
)

_MONTH_KEY = re.compile(r"^(\d{4})-(\d{2})$")


@dataclass(frozen=True, order=True)
class ReportMonth:
    """One calendar month (Europe/Berlin) that a report covers."""

    year: int
    month: int

    def __post_init__(self) -> None:
        if not 1 <= self.month <= 12:
            raise ValueError(f"month must be 1-12, got {self.month}")
        if not 1 <= self.year <= 9999:
            raise ValueError(f"year out of range: {self.year}")

    @classmethod
    def containing(cls, day: dt.date) -> ReportMonth:
        """The month ``day`` lies in."""
        return cls(day.year, day.month)

    @classmethod
    def from_key(cls, key: str) -> ReportMonth:
        """The month written as ``YYYY-MM`` (the form used in S3 keys and checkpoints)."""
        match = _MONTH_KEY.match(key.strip())
        if match is None:
            raise ValueError(f"expected a month as YYYY-MM, got {key!r}")
        return cls(int(match.group(1)), int(match.group(2)))

    @property
    def key(self) -> str:
        """``YYYY-MM``: names the S3 folder and the workflow checkpoint."""
        return f"{self.year:04d}-{self.month:02d}"

    @property
    def first_day(self) -> dt.date:
        """The 1st of the month."""
        return dt.date(self.year, self.month, 1)

    @property
    def last_day(self) -> dt.date:
        """The month's last day (28th-31st; 29 February in leap years)."""
        return dt.date(self.year, self.month, calendar.monthrange(self.year, self.month)[1])

    @property
    def day_count(self) -> int:
        """How many days the month has."""
        return self.last_day.day

    def days(self) -> list[dt.date]:
        """Every day of the month, in order."""
        return [dt.date(self.year, self.month, day) for day in range(1, self.day_count + 1)]

    def previous(self) -> ReportMonth:
        """The month before (January → December of the year before)."""
        if self.month == 1:
            return ReportMonth(self.year - 1, 12)
        return ReportMonth(self.year, self.month - 1)

    def following(self) -> ReportMonth:
        """The month after (December → January of the next year)."""
        if self.month == 12:
            return ReportMonth(self.year + 1, 1)
        return ReportMonth(self.year, self.month + 1)

    @property
    def starts_at(self) -> dt.datetime:
        """Midnight of the 1st in Berlin, as an aware datetime."""
        return dt.datetime.combine(self.first_day, dt.time(0), tzinfo=BERLIN)

    @property
    def ends_at(self) -> dt.datetime:
        """Midnight of the next month's 1st in Berlin (exclusive end)."""
        return self.following().starts_at

    @property
    def hours(self) -> int:
        """Real hours in the month: one less in March, one more in October (DST changes)."""
        elapsed = self.ends_at.astimezone(dt.UTC) - self.starts_at.astimezone(dt.UTC)
        return int(elapsed.total_seconds() // 3600)

    @property
    def german_name(self) -> str:
        """``März 2025``: how the month is named in the report and the notification."""
        return f"{GERMAN_MONTH_NAMES[self.month - 1]} {self.year}"

    def __str__(self) -> str:
        return self.key


def month_to_report(moment: dt.datetime) -> ReportMonth:
    """The month a run at ``moment`` reports on: the one before the Berlin date's month."""
    return ReportMonth.containing(berlin_date(moment)).previous()
