"""The business clock: one rule for naive datetimes, Berlin days across DST and midnight."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from autopilot.business_time import (
    BERLIN,
    berlin_date,
    berlin_time,
    berlin_today,
    parse_moment,
)
from autopilot.scheduled_run import run_moment


def utc(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=dt.UTC)


# -- the one rule: a naive datetime is Berlin wall time ------------------------------------------


def test_a_naive_moment_is_berlin_wall_time() -> None:
    naive = dt.datetime(2026, 11, 25, 0, 30)
    assert berlin_time(naive) == dt.datetime(2026, 11, 25, 0, 30, tzinfo=BERLIN)
    assert berlin_time(naive).utcoffset() == dt.timedelta(hours=1)
    assert berlin_date(naive) == dt.date(2026, 11, 25)  # not 24 November, as UTC would give


def test_typed_text_without_an_offset_follows_the_same_rule() -> None:
    assert parse_moment("2026-07-01T23:30") == berlin_time(dt.datetime(2026, 7, 1, 23, 30))
    assert berlin_date(parse_moment("2026-07-01T23:30")) == dt.date(2026, 7, 1)
    assert parse_moment("2026-07-01") == dt.datetime(2026, 7, 1, tzinfo=BERLIN)


@given(st.datetimes(min_value=dt.datetime(1971, 1, 1), max_value=dt.datetime(2099, 12, 31)))
def test_a_naive_moment_keeps_its_wall_clock_and_day(naive: dt.datetime) -> None:
    local = berlin_time(naive)
    assert local.tzinfo is BERLIN
    assert local.replace(tzinfo=None) == naive
    assert berlin_date(naive) == naive.date()


# -- aware moments keep their instant -----------------------------------------------------------


@pytest.mark.parametrize(
    ("moment", "day"),
    [
        (utc(2026, 11, 24, 22, 59), dt.date(2026, 11, 24)),  # 23:59 CET
        (utc(2026, 11, 24, 23, 0), dt.date(2026, 11, 25)),  # midnight CET
        (utc(2026, 6, 30, 21, 59), dt.date(2026, 6, 30)),  # 23:59 CEST
        (utc(2026, 6, 30, 22, 0), dt.date(2026, 7, 1)),  # midnight CEST
        (utc(2026, 12, 31, 23, 0), dt.date(2027, 1, 1)),  # new year
        (utc(2028, 2, 28, 23, 0), dt.date(2028, 2, 29)),  # leap day
        (
            dt.datetime(2026, 3, 1, 0, 30, tzinfo=dt.timezone(dt.timedelta(hours=5))),
            dt.date(2026, 2, 28),
        ),
    ],
)
def test_an_aware_moment_falls_on_its_berlin_calendar_day(
    moment: dt.datetime, day: dt.date
) -> None:
    assert berlin_date(moment) == day
    assert berlin_time(moment) == moment  # the same instant
    assert berlin_time(moment).tzinfo is BERLIN


@given(
    st.datetimes(
        min_value=dt.datetime(1971, 1, 1),
        max_value=dt.datetime(2099, 12, 31),
        timezones=st.just(dt.UTC),
    )
)
def test_an_aware_moment_is_only_converted(moment: dt.datetime) -> None:
    assert berlin_time(moment) == moment
    assert berlin_date(moment) == moment.astimezone(BERLIN).date()


# -- clock changes ------------------------------------------------------------------------------


def test_end_of_march_clocks_jump_from_two_to_three_on_the_same_day() -> None:
    before, after = utc(2026, 3, 29, 0, 59), utc(2026, 3, 29, 1, 0)
    assert (berlin_time(before).hour, berlin_time(after).hour) == (1, 3)  # 01:59 CET, 03:00 CEST
    assert berlin_date(before) == berlin_date(after) == dt.date(2026, 3, 29)


def test_end_of_october_clocks_show_two_thirty_twice_on_the_same_day() -> None:
    first, second = berlin_time(utc(2026, 10, 25, 0, 30)), berlin_time(utc(2026, 10, 25, 1, 30))
    assert (first.hour, first.minute, first.fold) == (2, 30, 0)  # CEST
    assert (second.hour, second.minute, second.fold) == (2, 30, 1)  # CET
    assert first.date() == second.date() == dt.date(2026, 10, 25)


@pytest.mark.parametrize(
    ("moment", "day"),
    [
        (utc(2026, 3, 28, 22, 59), dt.date(2026, 3, 28)),  # 23:59 CET before the March change
        (utc(2026, 3, 29, 21, 59), dt.date(2026, 3, 29)),  # 23:59 CEST after it (23-hour day)
        (utc(2026, 10, 24, 21, 59), dt.date(2026, 10, 24)),  # 23:59 CEST before October's
        (utc(2026, 10, 25, 22, 59), dt.date(2026, 10, 25)),  # 23:59 CET after it (25-hour day)
        (utc(2026, 10, 25, 23, 0), dt.date(2026, 10, 26)),  # and its midnight
    ],
)
def test_the_short_and_the_long_day_end_at_berlin_midnight(
    moment: dt.datetime, day: dt.date
) -> None:
    assert berlin_date(moment) == day


def test_naive_wall_times_in_the_clock_change_nights_stay_on_their_day() -> None:
    skipped = berlin_time(dt.datetime(2026, 3, 29, 2, 30))  # does not exist on the wall clock
    assert skipped.astimezone(dt.UTC) == utc(2026, 3, 29, 1, 30)  # read with the winter offset
    assert berlin_date(dt.datetime(2026, 3, 29, 2, 30)) == dt.date(2026, 3, 29)
    repeated = berlin_time(dt.datetime(2026, 10, 25, 2, 30))  # happens twice: the first one
    assert repeated.astimezone(dt.UTC) == utc(2026, 10, 25, 0, 30)


# -- the run's moment ---------------------------------------------------------------------------


def test_run_moment_is_the_events_now_in_berlin_or_the_clock() -> None:
    assert run_moment({"now": "2026-11-25T00:30:00"}) == dt.datetime(
        2026, 11, 25, 0, 30, tzinfo=BERLIN
    )
    scheduled = run_moment({"schedule": "dunning", "now": "2026-11-24T23:30:00Z"})
    assert scheduled.tzinfo is BERLIN
    assert scheduled.date() == dt.date(2026, 11, 25)
    before = dt.datetime.now(BERLIN)
    for event in (None, {}, {"now": ""}, {"schedule": "recurring"}):
        moment = run_moment(event)
        assert moment.tzinfo is BERLIN
        assert before <= moment <= dt.datetime.now(BERLIN)


def test_berlin_today_is_the_berlin_date_of_now() -> None:
    before = berlin_date(dt.datetime.now(dt.UTC))
    assert before <= berlin_today() <= berlin_date(dt.datetime.now(dt.UTC))


@pytest.mark.parametrize("bad", ["", "   ", "yesterday", "2026-02-30T08:00"])
def test_a_now_that_is_no_timestamp_is_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="ISO-8601"):
        parse_moment(bad)


@pytest.mark.parametrize("bad", ["   ", "yesterday", "2026-02-30T08:00"])
def test_a_run_with_a_bad_now_is_refused_not_run_by_the_clock(bad: str) -> None:
    with pytest.raises(ValueError, match="ISO-8601"):
        run_moment({"now": bad})
