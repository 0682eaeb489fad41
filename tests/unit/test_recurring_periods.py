"""Recurring-invoice calendar rules over plain values: periods, cycles, creation moments."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st
from recurring.app import run_moment
from recurring.issuing import Recipients, RecurringSettings, recipients_for
from recurring.periods import (
    RunPeriod,
    berlin_time,
    creation_moment,
    cycle_period,
    missed_run,
    month_bounds,
    run_period,
    within,
)

from autopilot.billomat import RecurringCycle
from autopilot.settings import ConfigurationError

BERLIN = ZoneInfo("Europe/Berlin")
days = st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 12, 31))


# -- the run's period ---------------------------------------------------------------------------


def test_run_on_the_first_covers_its_month_and_looks_back_into_the_previous_one() -> None:
    period = run_period(datetime(2026, 12, 1, 6, 0, tzinfo=BERLIN))
    assert period == RunPeriod(
        label="2026-12",
        first_day=date(2026, 12, 1),
        last_day=date(2026, 12, 31),
        window_start=date(2026, 10, 31),
        today=date(2026, 12, 1),
    )
    assert within(date(2026, 11, 15), period)
    assert within(date(2026, 12, 1), period)
    assert not within(date(2026, 12, 2), period)
    assert not within(date(2026, 10, 30), period)
    assert not within(None, period)


@pytest.mark.parametrize(
    ("moment", "label", "last_day", "window_start"),
    [
        (datetime(2028, 2, 1, 5, tzinfo=UTC), "2028-02", date(2028, 2, 29), date(2028, 1, 1)),
        (datetime(2026, 2, 1, 5, tzinfo=UTC), "2026-02", date(2026, 2, 28), date(2026, 1, 1)),
        (datetime(2026, 3, 1, 5, tzinfo=UTC), "2026-03", date(2026, 3, 31), date(2026, 1, 29)),
        (datetime(2028, 3, 1, 5, tzinfo=UTC), "2028-03", date(2028, 3, 31), date(2028, 1, 30)),
        # midnight in Berlin is still the previous evening in UTC
        (
            datetime(2026, 10, 31, 23, 30, tzinfo=UTC),
            "2026-11",
            date(2026, 11, 30),
            date(2026, 10, 1),
        ),
        (datetime(2026, 3, 31, 22, 30, tzinfo=UTC), "2026-04", date(2026, 4, 30), date(2026, 3, 1)),
        (
            datetime(2026, 12, 31, 23, 0, tzinfo=UTC),
            "2027-01",
            date(2027, 1, 31),
            date(2026, 12, 1),
        ),
        (
            datetime(2026, 12, 31, 22, 59, tzinfo=UTC),
            "2026-12",
            date(2026, 12, 31),
            date(2026, 10, 31),
        ),
    ],
)
def test_period_is_the_berlin_month_of_the_run(
    moment: datetime, label: str, last_day: date, window_start: date
) -> None:
    period = run_period(moment)
    assert (period.label, period.last_day, period.window_start) == (label, last_day, window_start)


def test_lookback_is_configurable_and_never_negative() -> None:
    period = run_period(datetime(2026, 12, 1, 6, tzinfo=BERLIN), lookback_days=0)
    assert period.window_start == date(2026, 12, 1)
    with pytest.raises(ValueError, match="lookback"):
        run_period(datetime(2026, 12, 1, 6, tzinfo=BERLIN), lookback_days=-1)


@given(days)
def test_month_bounds_contain_the_day_and_end_the_month(day: date) -> None:
    first, last = month_bounds(day)
    assert first.day == 1
    assert first <= day <= last
    assert (last + timedelta(days=1)).day == 1


@given(
    st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1)),
    st.integers(0, 366),
)
def test_window_always_ends_today_and_starts_before_the_month(
    moment: datetime, lookback: int
) -> None:
    period = run_period(moment.replace(tzinfo=UTC), lookback)
    assert period.window_start == period.first_day - timedelta(days=lookback)
    assert period.first_day <= period.today <= period.last_day
    assert period.label == f"{period.today:%Y-%m}"


# -- one invoice per recurring and cycle period --------------------------------------------------


@pytest.mark.parametrize(
    ("day", "cycle", "label"),
    [
        (date(2026, 12, 1), RecurringCycle.MONTHLY, "2026-12"),
        (date(2026, 12, 31), RecurringCycle.MONTHLY, "2026-12"),
        (date(2028, 2, 29), RecurringCycle.MONTHLY, "2028-02"),
        (date(2026, 12, 1), None, "2026-12"),
        (date(2026, 12, 31), RecurringCycle.WEEKLY, "2026-W53"),
        (date(2027, 1, 3), RecurringCycle.WEEKLY, "2026-W53"),
        (date(2027, 1, 4), RecurringCycle.WEEKLY, "2027-W01"),
        (date(2024, 12, 30), RecurringCycle.WEEKLY, "2025-W01"),
        (date(2028, 2, 29), RecurringCycle.YEARLY, "2028"),
        (date(2028, 2, 29), RecurringCycle.DAILY, "2028-02-29"),
    ],
)
def test_cycle_period_labels(day: date, cycle: RecurringCycle | None, label: str) -> None:
    assert cycle_period(day, cycle) == label


@given(days, days)
def test_monthly_label_is_shared_exactly_by_days_of_the_same_month(a: date, b: date) -> None:
    same = cycle_period(a, RecurringCycle.MONTHLY) == cycle_period(b, RecurringCycle.MONTHLY)
    assert same == (month_bounds(a) == month_bounds(b))


@given(days, days)
def test_weekly_label_is_shared_exactly_by_days_of_the_same_monday_week(a: date, b: date) -> None:
    same = cycle_period(a, RecurringCycle.WEEKLY) == cycle_period(b, RecurringCycle.WEEKLY)
    monday = lambda d: d - timedelta(days=d.weekday())  # noqa: E731
    assert same == (monday(a) == monday(b))


# -- when Billomat should have created an invoice -------------------------------------------------


@pytest.mark.parametrize(
    ("run_date", "hour", "utc"),
    [
        (date(2026, 12, 1), 2, datetime(2026, 12, 1, 1, 0, tzinfo=UTC)),  # CET
        (date(2026, 7, 1), 2, datetime(2026, 7, 1, 0, 0, tzinfo=UTC)),  # CEST
        (date(2026, 7, 1), None, datetime(2026, 7, 1, 0, 0, tzinfo=UTC)),  # Billomat's default 2
        # 02:00 does not exist on 29 March 2026: the clocks jump from 02:00 CET to 03:00 CEST
        (date(2026, 3, 29), 2, datetime(2026, 3, 29, 1, 0, tzinfo=UTC)),
        (date(2026, 3, 29), 3, datetime(2026, 3, 29, 1, 0, tzinfo=UTC)),
        # 02:00 happens twice on 25 October 2026: the first (CEST) counts
        (date(2026, 10, 25), 2, datetime(2026, 10, 25, 0, 0, tzinfo=UTC)),
        (date(2026, 10, 25), 4, datetime(2026, 10, 25, 3, 0, tzinfo=UTC)),
    ],
)
def test_creation_moment_is_the_berlin_hour(
    run_date: date, hour: int | None, utc: datetime
) -> None:
    assert creation_moment(run_date, hour) == utc


def test_run_is_missed_only_after_its_hour_and_the_grace_period() -> None:
    due = date(2026, 12, 1)
    at = lambda h, m=0: datetime(2026, 12, 1, h, m, tzinfo=BERLIN)  # noqa: E731
    assert missed_run(due, 2, None, at(3, 59)) is None
    assert missed_run(due, 2, None, at(4, 0)) == due
    assert missed_run(due, 10, None, at(6)) is None
    assert missed_run(date(2026, 11, 30), 23, None, at(6)) == date(2026, 11, 30)
    assert missed_run(None, 2, None, at(6)) is None  # stopped
    assert missed_run(due, 2, date(2026, 11, 30), at(6)) is None  # past its end date
    assert missed_run(due, 2, due, at(6)) == due


def test_missed_run_across_the_spring_clock_change() -> None:
    due = date(2026, 3, 29)  # 02:00 CET does not exist; due at 03:00 CEST = 01:00 UTC
    assert missed_run(due, 2, None, datetime(2026, 3, 29, 2, 59, tzinfo=UTC)) is None
    assert missed_run(due, 2, None, datetime(2026, 3, 29, 3, 0, tzinfo=UTC)) == due
    assert missed_run(due, 2, None, datetime(2026, 3, 29, 5, 0, tzinfo=BERLIN)) == due


def test_missed_run_across_the_autumn_clock_change() -> None:
    due = date(2026, 10, 25)  # 02:00 CEST = 00:00 UTC, plus two hours of grace
    assert missed_run(due, 2, None, datetime(2026, 10, 25, 1, 59, tzinfo=UTC)) is None
    assert missed_run(due, 2, None, datetime(2026, 10, 25, 2, 0, tzinfo=UTC)) == due
    # 03:30 local happens once (CET, 02:30 UTC): after the grace period
    assert missed_run(due, 2, None, datetime(2026, 10, 25, 3, 30, tzinfo=BERLIN)) == due


# -- recipients, the run's moment, settings -------------------------------------------------------


def test_recurring_receivers_come_before_the_client() -> None:
    receivers = [("to", "abo@x.de"), ("cc", "chef@x.de"), ("to", " abo@x.de "), ("bcc", "b@x.de")]
    assert recipients_for(receivers, "kunde@x.de") == Recipients(
        ["abo@x.de"], ["chef@x.de"], ["b@x.de"]
    )


def test_client_address_when_the_recurring_names_no_to_receiver() -> None:
    assert recipients_for([], "kunde@x.de") == Recipients(["kunde@x.de"])
    assert recipients_for([("cc", "chef@x.de")], "kunde@x.de") == Recipients(
        ["kunde@x.de"], ["chef@x.de"]
    )
    assert recipients_for([("cc", "chef@x.de")], None) is None
    assert recipients_for([], "  ") is None


def test_run_moment_reads_now_as_berlin_time() -> None:
    assert run_moment({"now": "2026-12-01T06:00:00"}) == datetime(2026, 12, 1, 6, tzinfo=BERLIN)
    assert run_moment({"now": "2026-12-01T05:00:00Z"}) == datetime(2026, 12, 1, 6, tzinfo=BERLIN)
    assert run_moment({"schedule": "recurring"}).tzinfo is BERLIN
    assert berlin_time(datetime(2026, 7, 1, 12)) == datetime(2026, 7, 1, 12, tzinfo=BERLIN)
    with pytest.raises(ValueError, match="ISO-8601"):
        run_moment({"now": "first of the month"})


def test_settings_default_lookback_and_bad_values_name_the_variable() -> None:
    env = {"WORKFLOW_TABLE": "wf", "NOTIFICATIONS_TOPIC_ARN": "arn:topic"}
    assert RecurringSettings.from_env(env).lookback_days == 31
    assert RecurringSettings.from_env({**env, "RECURRING_LOOKBACK_DAYS": "10"}).lookback_days == 10
    with pytest.raises(ConfigurationError, match="RECURRING_LOOKBACK_DAYS"):
        RecurringSettings.from_env({**env, "RECURRING_LOOKBACK_DAYS": "-5"})
