"""Which month the report covers: last month as the calendar reads in Europe/Berlin."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st
from reporting.period import (
    BERLIN,
    ReportMonth,
    berlin_date,
    month_to_report,
    parse_moment,
)

UTC = dt.UTC


def utc(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=UTC)


def test_run_on_the_first_reports_the_month_before() -> None:
    assert month_to_report(dt.datetime(2025, 4, 1, 8, tzinfo=BERLIN)) == ReportMonth(2025, 3)


def test_january_reports_december_of_the_year_before() -> None:
    assert month_to_report(dt.datetime(2025, 1, 1, 8, tzinfo=BERLIN)) == ReportMonth(2024, 12)
    assert ReportMonth(2025, 1).previous() == ReportMonth(2024, 12)
    assert ReportMonth(2024, 12).following() == ReportMonth(2025, 1)


def test_any_day_of_the_month_reports_the_same_month() -> None:
    for day in (1, 15, 30):
        assert month_to_report(dt.datetime(2025, 4, day, 23, 59, tzinfo=BERLIN)).key == "2025-03"


@pytest.mark.parametrize(
    ("year", "last"),
    [(2024, 29), (2023, 28), (2000, 29), (1900, 28), (2100, 28), (2028, 29)],
)
def test_february_ends_on_the_29th_only_in_leap_years(year: int, last: int) -> None:
    february = ReportMonth(year, 2)
    assert february.last_day == dt.date(year, 2, last)
    assert february.day_count == last
    assert len(february.days()) == last


def test_a_run_on_the_first_of_march_in_a_leap_year_covers_all_29_february_days() -> None:
    month = month_to_report(dt.datetime(2024, 3, 1, 8, tzinfo=BERLIN))
    assert (month.first_day, month.last_day) == (dt.date(2024, 2, 1), dt.date(2024, 2, 29))


@pytest.mark.parametrize(
    ("moment", "month"),
    [
        # spring forward (30 March 2025): Berlin is UTC+2 from then on
        (utc(2025, 3, 31, 21, 59, 59), "2025-02"),  # 23:59:59 on 31 March in Berlin
        (utc(2025, 3, 31, 22, 0, 0), "2025-03"),  # 00:00 on 1 April in Berlin
        # fall back (26 October 2025): Berlin is UTC+1 again
        (utc(2025, 10, 31, 22, 59, 59), "2025-09"),  # 23:59:59 on 31 October
        (utc(2025, 10, 31, 23, 0, 0), "2025-10"),  # 00:00 on 1 November
        # New Year in winter time
        (utc(2024, 12, 31, 22, 59, 59), "2024-11"),
        (utc(2024, 12, 31, 23, 0, 0), "2024-12"),
    ],
)
def test_the_berlin_date_decides_not_the_utc_date(moment: dt.datetime, month: str) -> None:
    assert month_to_report(moment).key == month


def test_schedule_at_eight_in_the_morning_is_six_or_seven_utc_depending_on_dst() -> None:
    summer = dt.datetime(2025, 4, 1, 8, tzinfo=BERLIN)
    winter = dt.datetime(2025, 12, 1, 8, tzinfo=BERLIN)
    assert summer.astimezone(UTC).hour == 6
    assert winter.astimezone(UTC).hour == 7
    assert month_to_report(summer).key == "2025-03"
    assert month_to_report(winter).key == "2025-11"


def test_dst_months_have_one_hour_less_or_more() -> None:
    assert ReportMonth(2025, 3).hours == 31 * 24 - 1
    assert ReportMonth(2025, 10).hours == 31 * 24 + 1
    assert ReportMonth(2025, 6).hours == 30 * 24
    assert ReportMonth(2024, 2).hours == 29 * 24


def test_month_boundaries_are_berlin_midnights() -> None:
    march = ReportMonth(2025, 3)
    assert march.starts_at.astimezone(UTC) == utc(2025, 2, 28, 23)
    assert march.ends_at.astimezone(UTC) == utc(2025, 3, 31, 22)


def test_month_keys_and_german_names() -> None:
    assert ReportMonth.from_key("2025-03") == ReportMonth(2025, 3)
    assert ReportMonth(2025, 3).key == "2025-03"
    assert ReportMonth(2025, 3).german_name == "März 2025"
    assert str(ReportMonth(2024, 12)) == "2024-12"
    for bad in ("2025-13", "2025-3", "März", ""):
        with pytest.raises(ValueError, match="month"):
            ReportMonth.from_key(bad)


def test_naive_now_is_berlin_wall_time_and_offsets_are_kept() -> None:
    assert parse_moment("2025-04-01T08:00") == dt.datetime(2025, 4, 1, 8, tzinfo=BERLIN)
    assert parse_moment("2025-04-01T06:00:00Z") == utc(2025, 4, 1, 6)
    assert parse_moment("2025-04-01T08:00:00+02:00") == utc(2025, 4, 1, 6)
    assert parse_moment("2025-04-01") == dt.datetime(2025, 4, 1, tzinfo=BERLIN)
    for bad in ("", "yesterday", "2025-04-31T08:00"):
        with pytest.raises(ValueError, match="ISO-8601"):
            parse_moment(bad)


def test_a_naive_moment_is_berlin_wall_time_like_a_naive_now() -> None:
    # The layer's one rule (autopilot.business_time); the report never passes a naive moment.
    assert berlin_date(dt.datetime(2025, 4, 1, 0, 30)) == dt.date(2025, 4, 1)
    assert month_to_report(dt.datetime(2025, 4, 1, 0, 30)) == ReportMonth(2025, 3)


moments = st.datetimes(
    min_value=dt.datetime(1971, 1, 1), max_value=dt.datetime(2099, 12, 31), timezones=st.just(UTC)
)


@given(moments)
def test_the_reported_month_always_ended_before_the_run(moment: dt.datetime) -> None:
    month = month_to_report(moment)
    assert month.ends_at <= moment
    assert moment < month.following().ends_at
    assert month.following() == ReportMonth.containing(berlin_date(moment))


@given(st.integers(1, 9998), st.integers(1, 12))
def test_months_are_whole_and_chain_without_gaps(year: int, number: int) -> None:
    month = ReportMonth(year, number)
    days = month.days()
    assert days[0] == month.first_day
    assert days[-1] == month.last_day
    assert all((b - a).days == 1 for a, b in itertools.pairwise(days))
    if year < 9998:
        assert month.following().first_day == month.last_day + dt.timedelta(days=1)
        assert month.following().previous() == month
    assert ReportMonth.from_key(month.key) == month
