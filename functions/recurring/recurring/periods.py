"""Calendar rules of the recurring-invoice run, over plain values (Europe/Berlin).

- The run's *period* is the calendar month of the run's moment in Berlin; its *window* reaches
  ``lookback_days`` back before the month's first day, so the run on the 1st also handles the
  drafts that recurrings due later in the previous month produced after that month's run.
- A recurring invoice is sent at most once per recurring and *cycle period*: the day (DAILY),
  ISO week (WEEKLY), month (MONTHLY) or year (YEARLY) its invoice is dated in. A second invoice
  of the same recurring in the same cycle period is a duplicate and is never sent.
- Billomat creates a recurring's invoice on ``next_creation_date`` at ``hour`` (Berlin time). A
  run is *missed* when that moment lies more than the grace period in the past and Billomat has
  not moved ``next_creation_date`` on; clock changes are handled by comparing instants in UTC.
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass

from autopilot.billomat import RecurringCycle
from autopilot.business_time import BERLIN, berlin_time

DEFAULT_LOOKBACK_DAYS = 31
DEFAULT_CREATION_HOUR = 2
"""Billomat's default ``hour`` for recurrings."""
CREATION_GRACE = dt.timedelta(hours=2)
"""How long after its creation moment Billomat gets to produce a recurring's invoice."""


def month_bounds(day: dt.date) -> tuple[dt.date, dt.date]:
    """First and last day of ``day``'s month (28 or 29 in February)."""
    last = calendar.monthrange(day.year, day.month)[1]
    return day.replace(day=1), day.replace(day=last)


@dataclass(frozen=True, slots=True)
class RunPeriod:
    """The month a run stands for and the dates whose recurring invoices it looks at."""

    label: str
    """``YYYY-MM`` of the run's month."""
    first_day: dt.date
    last_day: dt.date
    window_start: dt.date
    """Oldest invoice date the run considers (``first_day`` − lookback)."""
    today: dt.date
    """The run's Berlin calendar day: the newest invoice date it considers."""


def run_period(moment: dt.datetime, lookback_days: int = DEFAULT_LOOKBACK_DAYS) -> RunPeriod:
    """The period of a run at ``moment``: its Berlin month, with the look-back window."""
    if lookback_days < 0:
        raise ValueError("lookback_days must not be negative")
    today = berlin_time(moment).date()
    first, last = month_bounds(today)
    return RunPeriod(
        label=f"{first:%Y-%m}",
        first_day=first,
        last_day=last,
        window_start=first - dt.timedelta(days=lookback_days),
        today=today,
    )


def cycle_period(day: dt.date, cycle: RecurringCycle | None) -> str:
    """The label of the cycle period ``day`` lies in: one invoice per recurring and label."""
    match cycle:
        case RecurringCycle.DAILY:
            return day.isoformat()
        case RecurringCycle.WEEKLY:
            year, week, _ = day.isocalendar()
            return f"{year}-W{week:02d}"
        case RecurringCycle.YEARLY:
            return f"{day.year}"
        case _:  # MONTHLY is Billomat's default cycle
            return f"{day:%Y-%m}"


def creation_moment(run_date: dt.date, hour: int | None) -> dt.datetime:
    """When Billomat creates the invoice of ``run_date``, in UTC.

    An hour that does not exist on the spring-forward night (02:xx) counts as the moment
    the clocks jump (03:00 CEST); the repeated autumn hour counts at its first occurrence.
    """
    clock = dt.time(DEFAULT_CREATION_HOUR if hour is None else hour)
    local = dt.datetime.combine(run_date, clock, BERLIN)
    return local.astimezone(dt.UTC)


def missed_run(
    next_creation_date: dt.date | None,
    hour: int | None,
    end_date: dt.date | None,
    now: dt.datetime,
    grace: dt.timedelta = CREATION_GRACE,
) -> dt.date | None:
    """The creation date Billomat should already have run but has not, if any.

    Billomat moves ``next_creation_date`` on when it creates the invoice, so a date whose
    creation moment (plus ``grace``) lies in the past means the run did not happen. A stopped
    recurring (no next date) or one past its ``end_date`` is not due.
    """
    if next_creation_date is None:
        return None
    if end_date is not None and next_creation_date > end_date:
        return None
    instant = berlin_time(now).astimezone(dt.UTC)
    if instant < creation_moment(next_creation_date, hour) + grace:
        return None
    return next_creation_date


def within(day: dt.date | None, period: RunPeriod) -> bool:
    """True when ``day`` lies in the run's window (look-back start up to today)."""
    return day is not None and period.window_start <= day <= period.today
