"""Dunning rules: which reminder an overdue invoice is due for, over plain values.

- Days overdue are Europe/Berlin calendar days from the invoice's ``due_date``: an invoice due
  on the 1st is 1 day overdue on the 2nd, whatever the hour or the clock change.
- The ladder (default ``7,14,21,28``) gives the days overdue at which level 1, 2, … is reached;
  its last step is the final reminder (candidates for collection after it).
- An invoice gets the *next* level (one above the highest it already received) once it has
  reached that level's days — one reminder per run, so an invoice 40 days overdue with none so
  far gets level 1, not four reminders at once.
- No reminder for clients with Billomat's own automatic dunning (``dunning_run``), within the
  quiet days after the last reminder or after a booked payment, or for an open amount under the
  minimum.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from autopilot.business_time import berlin_date

DEFAULT_LADDER_DAYS = "7,14,21,28"


@dataclass(frozen=True, slots=True)
class DunningLadder:
    """Days overdue at which each reminder level is reached; the last level is the final one."""

    days: tuple[int, ...]

    def __post_init__(self) -> None:
        if not self.days:
            raise ValueError("a dunning ladder needs at least one level")
        if any(day < 1 for day in self.days):
            raise ValueError(f"days overdue must be at least 1, got {list(self.days)}")
        if any(later <= earlier for earlier, later in zip(self.days, self.days[1:], strict=False)):
            raise ValueError(
                f"ladder days must increase from level to level, got {list(self.days)}"
            )

    @property
    def final_level(self) -> int:
        """The number of the final reminder."""
        return len(self.days)

    def days_for(self, level: int) -> int:
        """Days overdue at which ``level`` (1-based) is reached."""
        return self.days[level - 1]


def parse_ladder(text: str) -> DunningLadder:
    """``"7,14,21,28"`` → the ladder; raises ValueError with a readable reason."""
    parts = [part.strip() for part in text.replace(";", ",").split(",") if part.strip()]
    try:
        days = tuple(int(part) for part in parts)
    except ValueError:
        raise ValueError(
            f"expected comma-separated whole days such as {DEFAULT_LADDER_DAYS!r}, got {text!r}"
        ) from None
    return DunningLadder(days)


business_day = berlin_date
"""The Berlin calendar day of a run's moment (the layer's rule; the dunning run's name for it)."""


def days_overdue(due_date: dt.date, today: dt.date) -> int:
    """Calendar days since ``due_date`` (0 on the due date itself, negative before it)."""
    return (today - due_date).days


def next_reminder_level(
    days_overdue: int, levels_sent: Iterable[int], ladder: DunningLadder
) -> int | None:
    """The level due now: one above the highest already sent, if its days are reached."""
    sent = max(levels_sent, default=0)
    level = sent + 1
    if level > ladder.final_level or days_overdue < ladder.days_for(level):
        return None
    return level


def days_since(earlier: dt.date | None, today: dt.date) -> int | None:
    """Calendar days from ``earlier`` to ``today``; None when there is no earlier date."""
    return None if earlier is None else (today - earlier).days


class Skip(StrEnum):
    """Why an invoice gets no reminder today."""

    NOT_OVERDUE = "not_overdue"
    NO_DUE_DATE = "no_due_date"
    BELOW_MINIMUM = "below_minimum"
    LEVEL_NOT_REACHED = "level_not_reached"
    FINAL_LEVEL_SENT = "final_level_sent"
    AUTOMATIC_DUNNING = "automatic_dunning"
    QUIET_AFTER_REMINDER = "quiet_after_reminder"
    QUIET_AFTER_PAYMENT = "quiet_after_payment"


@dataclass(frozen=True, slots=True)
class DunningPolicy:
    """The configurable part of the rules."""

    ladder: DunningLadder
    quiet_days: int = 7
    minimum_amount: Decimal = Decimal("5.00")


@dataclass(frozen=True, slots=True)
class InvoiceDunningFacts:
    """What the rules need to know about one invoice."""

    due_date: dt.date | None
    open_amount: Decimal
    levels_sent: frozenset[int] = frozenset()
    last_reminder_on: dt.date | None = None
    last_payment_on: dt.date | None = None
    automatic_dunning: bool = False


@dataclass(frozen=True, slots=True)
class ReminderDecision:
    """Either the level to send today, or why none is sent."""

    level: int | None
    skip: Skip | None
    days_overdue: int | None

    @property
    def is_due(self) -> bool:
        """True when a reminder of ``level`` should go out today."""
        return self.level is not None


def decide_reminder(
    facts: InvoiceDunningFacts, policy: DunningPolicy, today: dt.date
) -> ReminderDecision:
    """Today's decision for one open invoice (see the module docstring for the rules)."""
    if facts.due_date is None:
        return ReminderDecision(None, Skip.NO_DUE_DATE, None)
    overdue = days_overdue(facts.due_date, today)
    if overdue <= 0:
        return ReminderDecision(None, Skip.NOT_OVERDUE, overdue)
    if facts.open_amount < policy.minimum_amount:
        return ReminderDecision(None, Skip.BELOW_MINIMUM, overdue)
    level = next_reminder_level(overdue, facts.levels_sent, policy.ladder)
    if level is None:
        final_sent = max(facts.levels_sent, default=0) >= policy.ladder.final_level
        return ReminderDecision(
            None, Skip.FINAL_LEVEL_SENT if final_sent else Skip.LEVEL_NOT_REACHED, overdue
        )
    if facts.automatic_dunning:
        return ReminderDecision(None, Skip.AUTOMATIC_DUNNING, overdue)
    since_reminder = days_since(facts.last_reminder_on, today)
    if since_reminder is not None and since_reminder < policy.quiet_days:
        return ReminderDecision(None, Skip.QUIET_AFTER_REMINDER, overdue)
    since_payment = days_since(facts.last_payment_on, today)
    if since_payment is not None and since_payment < policy.quiet_days:
        return ReminderDecision(None, Skip.QUIET_AFTER_PAYMENT, overdue)
    return ReminderDecision(level, None, overdue)


def reached_final_level(levels_sent: Iterable[int], ladder: DunningLadder) -> bool:
    """True once the final reminder went out: the invoice is a candidate for collection."""
    return max(levels_sent, default=0) >= ladder.final_level
