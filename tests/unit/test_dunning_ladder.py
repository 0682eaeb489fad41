"""Dunning rules over plain values: the ladder, days overdue in Berlin, the guards."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from dunning.app import run_moment
from dunning.ladder import (
    DunningLadder,
    DunningPolicy,
    InvoiceDunningFacts,
    Skip,
    business_day,
    days_overdue,
    decide_reminder,
    next_reminder_level,
    parse_ladder,
    reached_final_level,
)
from dunning.reminding import DunningSettings
from hypothesis import given
from hypothesis import strategies as st

from autopilot.settings import ConfigurationError

BERLIN = ZoneInfo("Europe/Berlin")
DEFAULT = parse_ladder("7,14,21,28")
POLICY = DunningPolicy(DEFAULT, quiet_days=7, minimum_amount=Decimal("5.00"))
TODAY = date(2026, 11, 25)

ladders = st.lists(st.integers(1, 120), min_size=1, max_size=6, unique=True).map(
    lambda days: DunningLadder(tuple(sorted(days)))
)


def facts(overdue: int, **fields: object) -> InvoiceDunningFacts:
    values: dict[str, object] = {
        "due_date": TODAY - timedelta(days=overdue),
        "open_amount": Decimal("100.00"),
        **fields,
    }
    return InvoiceDunningFacts(**values)  # type: ignore[arg-type]


# -- the ladder ---------------------------------------------------------------------------------


def test_default_ladder_has_four_levels_the_last_is_final() -> None:
    assert DEFAULT.days == (7, 14, 21, 28)
    assert DEFAULT.final_level == 4


@pytest.mark.parametrize(
    ("days", "sent", "level"),
    [
        (6, [], None),
        (7, [], 1),
        (13, [1], None),
        (14, [1], 2),
        (21, [1, 2], 3),
        (28, [1, 2, 3], 4),
        (100, [1, 2, 3, 4], None),
    ],
)
def test_next_level_is_reached_by_days_overdue(
    days: int, sent: list[int], level: int | None
) -> None:
    assert next_reminder_level(days, sent, DEFAULT) == level


def test_forty_days_overdue_without_reminders_gets_level_one_not_four() -> None:
    assert next_reminder_level(40, [], DEFAULT) == 1


def test_a_changed_ladder_changes_levels_and_the_final_one() -> None:
    short = parse_ladder(" 10 ; 30 ")
    assert short.days == (10, 30)
    assert next_reminder_level(29, [1], short) is None
    assert next_reminder_level(30, [1], short) == 2
    assert next_reminder_level(60, [1, 2], short) is None
    assert reached_final_level([1, 2], short)
    assert not reached_final_level([1, 2], DEFAULT)


@pytest.mark.parametrize("text", ["", "7,x", "14,7", "7,7", "0,7", "-3"])
def test_malformed_ladders_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match=r"ladder|days|whole days"):
        parse_ladder(text)


@given(ladders, st.integers(-30, 400), st.sets(st.integers(1, 8), max_size=8))
def test_next_level_is_always_one_above_the_highest_sent(
    ladder: DunningLadder, overdue: int, sent: set[int]
) -> None:
    level = next_reminder_level(overdue, sent, ladder)
    if level is not None:
        assert level == max(sent, default=0) + 1
        assert level <= ladder.final_level
        assert overdue >= ladder.days_for(level)


@given(ladders, st.integers(0, 400), st.integers(0, 400))
def test_more_days_overdue_never_take_a_due_level_away(
    ladder: DunningLadder, overdue: int, extra: int
) -> None:
    if next_reminder_level(overdue, [], ladder) is not None:
        assert next_reminder_level(overdue + extra, [], ladder) == 1


@given(ladders, st.integers(0, 30), st.integers(0, 60))
def test_daily_runs_send_every_level_once_in_order_and_stop_at_the_final(
    ladder: DunningLadder, quiet_days: int, first_overdue_day: int
) -> None:
    policy = DunningPolicy(ladder, quiet_days=quiet_days, minimum_amount=Decimal(0))
    due = TODAY
    sent: list[int] = []
    last_on: date | None = None
    horizon = ladder.days[-1] + quiet_days * ladder.final_level + first_overdue_day + 2
    for offset in range(first_overdue_day, horizon):
        today = due + timedelta(days=offset)
        decision = decide_reminder(
            InvoiceDunningFacts(due, Decimal(50), frozenset(sent), last_on), policy, today
        )
        if decision.level is not None:
            assert decision.days_overdue is not None
            assert decision.days_overdue >= ladder.days_for(decision.level)
            if last_on is not None:
                assert (today - last_on).days >= quiet_days
            sent.append(decision.level)
            last_on = today
    assert sent == list(range(1, ladder.final_level + 1))


# -- the guards ---------------------------------------------------------------------------------


def test_due_invoice_gets_its_level() -> None:
    decision = decide_reminder(facts(8), POLICY, TODAY)
    assert (decision.level, decision.skip, decision.days_overdue) == (1, None, 8)
    assert decision.is_due


@pytest.mark.parametrize(
    ("invoice", "skip"),
    [
        (facts(0), Skip.NOT_OVERDUE),
        (facts(-3), Skip.NOT_OVERDUE),
        (InvoiceDunningFacts(None, Decimal(100)), Skip.NO_DUE_DATE),
        (facts(30, open_amount=Decimal("4.99")), Skip.BELOW_MINIMUM),
        (facts(6), Skip.LEVEL_NOT_REACHED),
        (facts(90, levels_sent=frozenset({1, 2, 3, 4})), Skip.FINAL_LEVEL_SENT),
        (facts(30, automatic_dunning=True), Skip.AUTOMATIC_DUNNING),
        (
            facts(30, levels_sent=frozenset({1}), last_reminder_on=TODAY - timedelta(days=6)),
            Skip.QUIET_AFTER_REMINDER,
        ),
        (facts(30, last_payment_on=TODAY - timedelta(days=1)), Skip.QUIET_AFTER_PAYMENT),
    ],
)
def test_no_reminder_when_a_rule_says_so(invoice: InvoiceDunningFacts, skip: Skip) -> None:
    decision = decide_reminder(invoice, POLICY, TODAY)
    assert (decision.level, decision.skip) == (None, skip)


def test_minimum_amount_is_inclusive_and_configurable() -> None:
    assert decide_reminder(facts(8, open_amount=Decimal("5.00")), POLICY, TODAY).level == 1
    free = DunningPolicy(DEFAULT, minimum_amount=Decimal(0))
    assert decide_reminder(facts(8, open_amount=Decimal("0.01")), free, TODAY).level == 1


def test_quiet_period_ends_after_the_configured_days() -> None:
    after_reminder = facts(30, levels_sent=frozenset({1}), last_reminder_on=TODAY - timedelta(7))
    assert decide_reminder(after_reminder, POLICY, TODAY).level == 2
    after_payment = facts(30, last_payment_on=TODAY - timedelta(days=7))
    assert decide_reminder(after_payment, POLICY, TODAY).level == 1
    no_quiet = DunningPolicy(DEFAULT, quiet_days=0)
    assert decide_reminder(facts(30, last_payment_on=TODAY), no_quiet, TODAY).level == 1


# -- Berlin calendar days -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("moment", "day"),
    [
        (datetime(2026, 11, 24, 23, 30, tzinfo=UTC), date(2026, 11, 25)),  # 00:30 CET
        (datetime(2026, 6, 30, 22, 30, tzinfo=UTC), date(2026, 7, 1)),  # 00:30 CEST
        (datetime(2026, 3, 29, 0, 59, tzinfo=UTC), date(2026, 3, 29)),  # 01:59 CET, before DST
        (datetime(2026, 3, 29, 1, 0, tzinfo=UTC), date(2026, 3, 29)),  # 03:00 CEST, after
        (datetime(2026, 10, 24, 22, 30, tzinfo=UTC), date(2026, 10, 25)),  # 00:30 CEST
        (datetime(2026, 10, 25, 22, 30, tzinfo=UTC), date(2026, 10, 25)),  # 23:30 CET
        (datetime(2028, 2, 28, 23, 0, tzinfo=UTC), date(2028, 2, 29)),  # leap day
        (datetime(2026, 12, 31, 23, 0, tzinfo=UTC), date(2027, 1, 1)),  # new year
        (datetime(2026, 11, 25, 0, 30), date(2026, 11, 25)),  # naive = Berlin local time
    ],
)
def test_business_day_is_the_berlin_calendar_day(moment: datetime, day: date) -> None:
    assert business_day(moment) == day


@pytest.mark.parametrize(
    ("due", "today", "overdue"),
    [
        (date(2028, 2, 28), date(2028, 3, 6), 7),  # across the leap day
        (date(2027, 2, 28), date(2027, 3, 7), 7),
        (date(2026, 1, 31), date(2026, 2, 28), 28),  # month end to month end
        (date(2026, 3, 28), date(2026, 4, 4), 7),  # across the switch to summer time
        (date(2026, 10, 24), date(2026, 10, 31), 7),  # across the switch back
        (date(2026, 12, 25), date(2027, 1, 1), 7),
        (date(2026, 11, 25), date(2026, 11, 25), 0),
    ],
)
def test_days_overdue_count_calendar_days(due: date, today: date, overdue: int) -> None:
    assert days_overdue(due, today) == overdue


def test_dst_night_does_not_shift_the_day_an_invoice_becomes_due() -> None:
    due = date(2026, 3, 22)
    before = business_day(datetime(2026, 3, 29, 0, 30, tzinfo=UTC))  # 01:30 CET
    after = business_day(datetime(2026, 3, 29, 7, 0, tzinfo=UTC))  # 09:00 CEST
    assert days_overdue(due, before) == days_overdue(due, after) == 7


# -- the run's moment and settings ---------------------------------------------------------------


def test_run_moment_reads_now_as_berlin_time() -> None:
    assert run_moment({"now": "2026-11-25T09:00:00"}) == datetime(2026, 11, 25, 9, tzinfo=BERLIN)
    scheduled = run_moment({"schedule": "dunning", "now": "2026-11-25T08:00:00Z"})
    assert scheduled == datetime(2026, 11, 25, 9, tzinfo=BERLIN)
    assert run_moment({"schedule": "dunning"}).tzinfo is BERLIN
    with pytest.raises(ValueError, match="ISO-8601"):
        run_moment({"now": "tomorrow"})


def test_settings_defaults_and_overrides() -> None:
    required = {"WORKFLOW_TABLE": "wf", "NOTIFICATIONS_TOPIC_ARN": "arn:topic"}
    defaults = DunningSettings.from_env(required)
    assert defaults.ladder == DEFAULT
    assert (defaults.quiet_days, defaults.minimum_amount) == (7, Decimal("5.00"))
    assert defaults.email_subject is None
    custom = DunningSettings.from_env(
        {
            **required,
            "DUNNING_LADDER_DAYS": "10,20,45",
            "DUNNING_QUIET_DAYS": "3",
            "DUNNING_MINIMUM_AMOUNT": "12.50",
            "REMINDER_EMAIL_SUBJECT": "Zahlungserinnerung [Invoice.invoice_number]",
        }
    )
    assert custom.policy == DunningPolicy(DunningLadder((10, 20, 45)), 3, Decimal("12.50"))
    assert custom.email_subject == "Zahlungserinnerung [Invoice.invoice_number]"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("DUNNING_LADDER_DAYS", "14,7"),
        ("DUNNING_QUIET_DAYS", "-1"),
        ("DUNNING_MINIMUM_AMOUNT", "x"),
    ],
)
def test_bad_settings_name_the_variable(name: str, value: str) -> None:
    env = {"WORKFLOW_TABLE": "wf", "NOTIFICATIONS_TOPIC_ARN": "arn:topic", name: value}
    with pytest.raises(ConfigurationError, match=name):
        DunningSettings.from_env(env)
