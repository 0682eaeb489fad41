"""The report's figures: aggregation rules over plain Billomat records."""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from reporting.figures import (
    AGING_RANGES,
    NOT_DUE,
    MonthTotals,
    aging_bucket_key,
    billed_invoices,
    changes,
    days_overdue,
    invoice_tax_shares,
    month_totals_from_groups,
    monthly_report,
    percent_change,
    rank_clients,
    receivables,
    reminders_sent,
    review_list,
    tax_rate_totals,
    top_client_ids,
)
from reporting.period import ReportMonth

from autopilot.billomat.models import (
    Invoice,
    InvoiceGroup,
    InvoicePayment,
    InvoiceStatus,
    Reminder,
    ReminderStatus,
)
from autopilot.money import gross_from_net

MARCH = ReportMonth(2025, 3)
AS_OF = dt.date(2025, 4, 1)
IDS = itertools.count(1000)
D = Decimal


def invoice(
    net: str | Decimal = "100",
    rate: str | Decimal = "19",
    *,
    day: dt.date = dt.date(2025, 3, 10),
    status: InvoiceStatus = InvoiceStatus.OPEN,
    client: int | None = 1,
    due: dt.date | None = None,
    paid: str | Decimal = "0",
    currency: str | None = "EUR",
    taxes: list[dict[str, Any]] | None = None,
) -> Invoice:
    """An invoice with one tax group, as Billomat reads it."""
    net_amount = D(net)
    gross = gross_from_net(net_amount, D(rate))
    paid_amount = D(paid)
    groups = (
        taxes
        if taxes is not None
        else [
            {
                "rate": D(rate),
                "amount": gross - net_amount,
                "amount_net": net_amount,
                "amount_gross": gross,
            }
        ]
    )
    return Invoice(
        id=next(IDS),
        client_id=client,
        status=status,
        date=day,
        due_date=due or day + dt.timedelta(days=14),
        currency_code=currency,
        total_net=net_amount,
        total_gross=gross,
        paid_amount=paid_amount,
        open_amount=D(0) if status is InvoiceStatus.PAID else gross - paid_amount,
        taxes=groups,
    )


def payment(amount: str, day: dt.date = dt.date(2025, 3, 15), **extra: Any) -> InvoicePayment:
    return InvoicePayment(id=next(IDS), amount=D(amount), date=day, **extra)


def reminder(level: int, status: ReminderStatus = ReminderStatus.OPEN, **extra: Any) -> Reminder:
    return Reminder(
        id=next(IDS),
        status=status,
        reminder_level=level,
        date=extra.pop("day", dt.date(2025, 3, 20)),
        **extra,
    )


def report(**parts: Any) -> Any:
    defaults: dict[str, Any] = {
        "invoices": [],
        "open_invoices": [],
        "payments": [],
        "reminders": [],
        "client_names": {},
        "review_sort_keys": [],
        "previous": None,
    }
    return monthly_report(MARCH, AS_OF, "EUR", **{**defaults, **parts})


# --- revenue ----------------------------------------------------------------------------------


def test_issued_revenue_leaves_out_drafts_cancelled_other_months_and_currencies() -> None:
    counted = [invoice("100"), invoice("50", "7", status=InvoiceStatus.PAID)]
    ignored = [
        invoice("1000", status=InvoiceStatus.DRAFT),
        invoice("2000", day=dt.date(2025, 2, 28)),
        invoice("3000", day=dt.date(2025, 4, 1)),
        invoice("4000", currency="USD"),
    ]
    cancelled = invoice("500", status=InvoiceStatus.CANCELED)
    result = report(invoices=[*counted, *ignored, cancelled])
    assert result.issued.invoice_count == 2
    assert result.issued.net == D("150.00")
    assert result.issued.gross == D("119.00") + D("53.50")
    assert result.issued.tax == result.issued.gross - result.issued.net
    assert (result.issued.cancelled_count, result.issued.cancelled_gross) == (1, D("595.00"))
    [usd] = result.other_currencies
    assert (usd.currency, usd.invoice_count, usd.gross) == ("USD", 1, D("4760.00"))


def test_an_invoice_listed_twice_is_counted_once() -> None:
    twice = invoice("100")
    assert report(invoices=[twice, twice]).issued.invoice_count == 1


def test_revenue_per_tax_rate_comes_from_the_invoices_tax_groups() -> None:
    mixed = invoice(
        "150",
        taxes=[
            {"rate": "19", "amount": "19", "amount_net": "100", "amount_gross": "119"},
            {"rate": "7.0", "amount": "3.5", "amount_net": "50", "amount_gross": "53.5"},
        ],
    )
    rows = tax_rate_totals([mixed, invoice("200", "19")])
    assert [(row.rate, row.invoice_count, row.net, row.tax, row.gross) for row in rows] == [
        (D(19), 2, D("300.00"), D("57.00"), D("357.00")),
        (D(7), 1, D("50.00"), D("3.50"), D("53.50")),
    ]


def test_a_tax_group_missing_one_amount_is_completed_from_the_other_two() -> None:
    shares = invoice_tax_shares(
        invoice("100", taxes=[{"rate": "19", "amount": "19", "amount_gross": "119"}])
    )
    assert [(s.rate, s.net, s.tax, s.gross) for s in shares] == [(D(19), D(100), D(19), D(119))]


def test_an_invoice_without_tax_groups_counts_whole_at_its_implied_rate() -> None:
    [tax_free] = invoice_tax_shares(invoice("80", "0", taxes=[]))
    assert (tax_free.rate, tax_free.net, tax_free.gross) == (D(0), D(80), D(80))
    [taxed] = invoice_tax_shares(invoice("100", "19", taxes=[]))
    assert (taxed.rate, taxed.tax) == (D(19), D(19))


def test_revenue_by_day_covers_every_day_and_sums_to_the_month() -> None:
    invoices = [invoice("10", day=dt.date(2025, 3, 1)), invoice("20", day=dt.date(2025, 3, 31))]
    result = report(invoices=invoices)
    assert len(result.by_day) == 31
    assert result.by_day[0].net == D("10.00")
    assert result.by_day[-1].net == D("20.00")
    assert result.by_day[14].invoice_count == 0
    assert sum(day.net for day in result.by_day) == result.issued.net


def test_paid_open_and_overdue_are_the_months_invoices_by_status_today() -> None:
    result = report(
        invoices=[
            invoice("100", status=InvoiceStatus.PAID),
            invoice("100", status=InvoiceStatus.OPEN, paid="19"),
            invoice("100", status=InvoiceStatus.OVERDUE),
            invoice("100", status=InvoiceStatus.CANCELED),
        ]
    )
    rows = {row.status: row for row in result.by_status}
    assert [row.status for row in result.by_status] == [
        InvoiceStatus.PAID,
        InvoiceStatus.OPEN,
        InvoiceStatus.OVERDUE,
        InvoiceStatus.CANCELED,
    ]
    assert rows[InvoiceStatus.OPEN].open_amount == D("100.00")
    assert rows[InvoiceStatus.OVERDUE].open_amount == D("119.00")
    assert rows[InvoiceStatus.PAID].open_amount == D("0.00")
    assert sum(row.invoice_count for row in result.by_status) == 4


# --- top clients ------------------------------------------------------------------------------


def test_top_ten_clients_by_net_revenue_with_names_and_shares() -> None:
    invoices = [invoice(str(100 * n), client=n) for n in range(1, 13)]
    invoices.append(invoice("50", client=None))
    names = {n: f"Kunde Nummer {n}" for n in range(1, 13)}
    names[12] = "Zwölf GmbH"
    result = report(invoices=invoices, client_names=names)
    top = result.top_clients
    assert len(top) == 10
    assert [client.client_id for client in top] == list(range(12, 2, -1))
    assert (top[0].rank, top[0].name, top[0].net) == (1, "Zwölf GmbH", D("1200.00"))
    assert top[0].share_percent == D("15.3")  # 1200 of 7850
    assert top_client_ids(invoices, MARCH, "EUR") == list(range(12, 2, -1))


def test_clients_with_equal_revenue_are_ranked_by_gross_then_id() -> None:
    ranked = rank_clients(
        [invoice("100", "7", client=5), invoice("100", "19", client=9), invoice("100", client=3)]
    )
    assert [client.client_id for client in ranked] == [3, 9, 5]


def test_a_client_without_a_name_is_still_identified() -> None:
    result = report(invoices=[invoice(client=77), invoice(client=None)], client_names={})
    assert {client.name for client in result.top_clients} == {"Kunde 77", "(ohne Kunde)"}


# --- receivables and aging --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("days", "bucket"),
    [
        (-10, NOT_DUE),
        (0, NOT_DUE),
        (1, "0-30"),
        (30, "0-30"),
        (31, "31-60"),
        (60, "31-60"),
        (61, "61-90"),
        (90, "61-90"),
        (91, "90+"),
        (4000, "90+"),
    ],
)
def test_aging_bucket_boundaries(days: int, bucket: str) -> None:
    assert aging_bucket_key(days) == bucket


def test_days_overdue_count_calendar_days_across_month_ends_and_leap_days() -> None:
    leap = invoice(due=dt.date(2024, 2, 28))
    assert days_overdue(leap, dt.date(2024, 3, 1)) == 2
    plain = invoice(due=dt.date(2025, 2, 28))
    assert days_overdue(plain, dt.date(2025, 3, 1)) == 1
    across_dst = invoice(due=dt.date(2025, 3, 29))
    assert days_overdue(across_dst, dt.date(2025, 3, 31)) == 2


def test_receivables_are_aged_as_of_the_report_date() -> None:
    open_invoices = [
        invoice("100", due=dt.date(2025, 4, 10), day=dt.date(2025, 3, 27)),  # not due
        invoice("100", due=dt.date(2025, 3, 20), status=InvoiceStatus.OVERDUE, paid="19"),
        invoice("100", due=dt.date(2025, 1, 31), day=dt.date(2025, 1, 17)),  # 60 days
        invoice("100", due=dt.date(2024, 12, 1), day=dt.date(2024, 11, 17)),  # 121 days
    ]
    result = receivables(open_invoices, AS_OF)
    buckets = {bucket.key: bucket for bucket in result.buckets}
    assert [bucket.key for bucket in result.buckets] == [NOT_DUE, "0-30", "31-60", "61-90", "90+"]
    assert buckets[NOT_DUE].open_amount == D("119.00")
    assert buckets["0-30"].open_amount == D("100.00")
    assert buckets["31-60"].invoice_count == 1
    assert buckets["61-90"].invoice_count == 0
    assert buckets["90+"].invoice_count == 1
    assert (result.overdue_count, result.overdue_amount) == (3, D("338.00"))
    assert result.open_amount == D("457.00")


def test_receivables_leave_out_later_invoices_paid_ones_and_other_currencies() -> None:
    result = report(
        open_invoices=[
            invoice("100", day=dt.date(2025, 4, 1)),
            invoice("100", status=InvoiceStatus.PAID),
            invoice("100", currency="CHF"),
            invoice("100", day=dt.date(2024, 6, 1)),
        ]
    )
    assert result.receivables.invoice_count == 1


# --- cash, reminders, review list, comparison ----------------------------------------------------


def test_cash_received_is_every_payment_of_the_month_by_type() -> None:
    result = report(
        payments=[
            payment("100", type="BANK_TRANSFER"),
            payment("50.5", type="PAYPAL"),
            payment("25", type="BANK_TRANSFER"),
            payment("10"),
            payment("999", day=dt.date(2025, 4, 1)),
            payment("70", currency_code="USD"),
        ]
    )
    cash = result.cash
    assert (cash.payment_count, cash.total) == (4, D("185.50"))
    assert [(row.payment_type, row.payment_count, row.amount) for row in cash.by_type] == [
        ("BANK_TRANSFER", 2, D("125.00")),
        ("PAYPAL", 1, D("50.50")),
        ("UNSPECIFIED", 1, D("10.00")),
    ]
    [usd] = result.other_currencies
    assert (usd.payment_count, usd.payments_total) == (1, D("70.00"))


def test_reminders_sent_leave_out_drafts_and_cancelled_and_count_by_level() -> None:
    sent = reminders_sent(
        [
            reminder(1, reminder_level_name="Zahlungserinnerung"),
            reminder(1, ReminderStatus.PAID),
            reminder(2, ReminderStatus.OVERDUE),
            reminder(3, ReminderStatus.DRAFT),
            reminder(2, ReminderStatus.CANCELED),
        ]
    )
    assert sent.total == 3
    assert [(row.level, row.name, row.count) for row in sent.by_level] == [
        (1, "Zahlungserinnerung", 2),
        (2, None, 1),
    ]


def test_only_reminders_dated_in_the_month_count() -> None:
    result = report(reminders=[reminder(1), reminder(1, day=dt.date(2025, 2, 28))])
    assert result.reminders.total == 1


def test_review_list_counts_all_items_and_those_booked_in_the_month() -> None:
    keys = ["2025-02-28#a", "2025-03-01#b", "2025-03-31#c", "2025-04-01#d", "2025-030#odd"]
    assert review_list(keys, MARCH).open_items == 5
    assert review_list(keys, MARCH).added_in_month == 2


def test_previous_month_totals_from_group_rows_count_and_payments() -> None:
    totals = month_totals_from_groups(
        [InvoiceGroup(total_net=D("1000"), total_gross=D("1190"), month="2025-02")],
        7,
        [payment("500"), payment("20", currency_code="USD")],
        "EUR",
    )
    assert totals == MonthTotals(7, D("1000.00"), D("1190.00"), D("500.00"))


def test_changes_against_the_month_before() -> None:
    result = report(
        invoices=[invoice("150")],
        payments=[payment("50")],
        previous=MonthTotals(2, D("100"), D("119"), D("0")),
    )
    by_metric = {change.metric: change for change in result.changes}
    assert by_metric["invoice_count"].percent == D("-50.0")
    assert by_metric["net"].percent == D("50.0")
    assert by_metric["net"].difference == D("50.00")
    assert by_metric["cash_received"].percent is None
    assert changes(result.totals, None) == ()


def test_percent_change_rounds_to_one_decimal_and_is_none_from_zero() -> None:
    assert percent_change(D(110), D(100)) == D("10.0")
    assert percent_change(D(0), D(100)) == D("-100.0")
    assert percent_change(D(1), D(3)) == D("-66.7")
    assert percent_change(D(5), D(0)) is None


# --- properties -------------------------------------------------------------------------------

amounts = st.decimals(min_value=D("0.01"), max_value=D("99999.99"), places=2)
rates = st.sampled_from([D(19), D(7), D(0), D("5.5")])
statuses = st.sampled_from(list(InvoiceStatus))
days = st.dates(min_value=dt.date(2025, 2, 20), max_value=dt.date(2025, 4, 5))
invoices = st.builds(
    lambda net, rate, status, day, client, due_in: invoice(
        net, rate, status=status, day=day, client=client, due=day + dt.timedelta(days=due_in)
    ),
    amounts,
    rates,
    statuses,
    days,
    st.integers(1, 15),
    st.integers(-5, 60),
)


@settings(max_examples=150, deadline=None)
@given(st.lists(invoices, max_size=40))
def test_every_breakdown_adds_up_to_the_issued_totals(listed: list[Invoice]) -> None:
    result = report(invoices=listed, open_invoices=listed)
    billed = billed_invoices(listed, MARCH, "EUR")
    assert result.issued.invoice_count == len(billed)
    assert sum(row.net for row in result.by_tax_rate) == result.issued.net
    assert sum(row.gross for row in result.by_tax_rate) == result.issued.gross
    assert sum(row.net for row in result.by_day) == result.issued.net
    assert sum(row.invoice_count for row in result.by_day) == result.issued.invoice_count
    issued_count = result.issued.invoice_count + result.issued.cancelled_count
    assert sum(row.invoice_count for row in result.by_status) == issued_count
    assert sum(row.net for row in result.top_clients) <= result.issued.net
    assert len({client.client_id for client in result.top_clients}) <= 10
    buckets = result.receivables.buckets
    assert sum(bucket.open_amount for bucket in buckets) == result.receivables.open_amount
    assert sum(bucket.invoice_count for bucket in buckets) == result.receivables.invoice_count


@given(st.integers(-1000, 10_000))
def test_every_number_of_days_lands_in_exactly_one_bucket(days_past_due: int) -> None:
    holding = [aging.key for aging in AGING_RANGES if aging.holds(days_past_due)]
    if days_past_due <= 0:
        assert aging_bucket_key(days_past_due) == NOT_DUE
    else:
        assert holding == [aging_bucket_key(days_past_due)]
