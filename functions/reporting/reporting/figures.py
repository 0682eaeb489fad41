"""The monthly report's figures: pure aggregation over typed Billomat records.

Nothing here talks to Billomat or AWS; ``app`` reads the records and hands them in. Amounts
are ``Decimal`` rounded to cents. Only documents in the report currency are summed; invoices
and payments in other currencies are listed apart (adding dollars to euros would be wrong).

What counts as what:

- *issued*: invoices dated in the month that were completed (OPEN, OVERDUE, PAID); cancelled
  ones are counted apart and left out of every revenue figure; drafts are not issued.
- *revenue*: net (and gross) of the issued invoices; per tax rate from Billomat's own tax
  groups on each invoice (``taxes``), so the split matches Billomat's rounding.
- *receivables*: invoices still OPEN or OVERDUE at the report date and dated up to the end of
  the month, aged by days past their due date (``as_of - due_date``): not yet due, 0-30,
  31-60, 61-90, over 90 days overdue.
- *cash received*: invoice payments dated in the month (cash basis, whatever invoice they paid).
- *reminders sent*: reminders dated in the month that left the draft stage and were not
  cancelled, by dunning level.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from autopilot.billomat.models import (
    Invoice,
    InvoiceGroup,
    InvoicePayment,
    InvoiceStatus,
    Reminder,
    ReminderStatus,
)
from autopilot.money import HUNDRED, ZERO, normalize_rate, to_cents

from .period import ReportMonth

TOP_CLIENT_COUNT = 10
"""How many clients the revenue ranking shows (and whose names are looked up)."""

ISSUED_STATUSES = (
    InvoiceStatus.OPEN,
    InvoiceStatus.OVERDUE,
    InvoiceStatus.PAID,
    InvoiceStatus.CANCELED,
)
"""What the month's invoice listing asks Billomat for: everything but drafts."""

BILLED_STATUSES = frozenset({InvoiceStatus.OPEN, InvoiceStatus.OVERDUE, InvoiceStatus.PAID})
"""Issued and not cancelled: these make the revenue."""

OPEN_STATUSES = (InvoiceStatus.OPEN, InvoiceStatus.OVERDUE)
"""Still (partly) unpaid."""

SENT_REMINDER_STATUSES = frozenset(
    {ReminderStatus.OPEN, ReminderStatus.OVERDUE, ReminderStatus.PAID}
)
"""A reminder that was completed and not cancelled counts as sent."""

NOT_DUE = "not_due"


@dataclass(frozen=True)
class AgingRange:
    """Days past the due date that one aging bucket covers (``last`` None = open-ended)."""

    key: str
    first: int
    last: int | None

    def holds(self, days_overdue: int) -> bool:
        """True when an invoice this many days past due belongs here."""
        return days_overdue >= self.first and (self.last is None or days_overdue <= self.last)


AGING_RANGES = (
    AgingRange("0-30", 0, 30),
    AgingRange("31-60", 31, 60),
    AgingRange("61-90", 61, 90),
    AgingRange("90+", 91, None),
)
"""Overdue receivables by days past due; an invoice due today or later is "not yet due"."""


# --- the report's parts -------------------------------------------------------------------


@dataclass(frozen=True)
class IssuedInvoices:
    """Invoices issued in the month (cancelled ones only counted, never summed into revenue)."""

    invoice_count: int
    net: Decimal
    tax: Decimal
    gross: Decimal
    cancelled_count: int
    cancelled_gross: Decimal


@dataclass(frozen=True)
class TaxRateTotal:
    """Revenue at one tax rate (percent), from the invoices' tax groups."""

    rate: Decimal
    invoice_count: int
    net: Decimal
    tax: Decimal
    gross: Decimal


@dataclass(frozen=True)
class StatusTotal:
    """The month's invoices in one status today: how many, their gross and what is unpaid."""

    status: InvoiceStatus
    invoice_count: int
    gross: Decimal
    open_amount: Decimal


@dataclass(frozen=True)
class DayRevenue:
    """Invoices issued on one day of the month."""

    day: dt.date
    invoice_count: int
    net: Decimal
    gross: Decimal


@dataclass(frozen=True)
class ClientRevenue:
    """One client's revenue in the month and its share of the month's net revenue."""

    rank: int
    client_id: int | None
    name: str
    invoice_count: int
    net: Decimal
    gross: Decimal
    share_percent: Decimal


@dataclass(frozen=True)
class AgingBucket:
    """Open receivables in one aging bucket."""

    key: str
    """``not_due``, ``0-30``, ``31-60``, ``61-90`` or ``90+``."""
    invoice_count: int
    open_amount: Decimal


@dataclass(frozen=True)
class Receivables:
    """What clients still owe at the report date, and how late it is."""

    as_of: dt.date
    invoice_count: int
    open_amount: Decimal
    overdue_count: int
    overdue_amount: Decimal
    buckets: tuple[AgingBucket, ...]


@dataclass(frozen=True)
class PaymentTypeTotal:
    """Cash received by one payment type (``UNSPECIFIED`` when Billomat has none)."""

    payment_type: str
    payment_count: int
    amount: Decimal


@dataclass(frozen=True)
class CashReceived:
    """Invoice payments dated in the month."""

    payment_count: int
    total: Decimal
    by_type: tuple[PaymentTypeTotal, ...]


@dataclass(frozen=True)
class ReminderLevelCount:
    """Reminders sent at one dunning level."""

    level: int | None
    name: str | None
    count: int


@dataclass(frozen=True)
class RemindersSent:
    """Reminders sent in the month, by dunning level."""

    total: int
    by_level: tuple[ReminderLevelCount, ...]


@dataclass(frozen=True)
class ReviewList:
    """Bank transactions waiting for a person (the bank workflow's review list)."""

    open_items: int
    added_in_month: int


@dataclass(frozen=True)
class MonthTotals:
    """The headline figures compared month on month."""

    invoice_count: int
    net: Decimal
    gross: Decimal
    cash_received: Decimal


@dataclass(frozen=True)
class Change:
    """One headline figure against the month before."""

    metric: str
    """``invoice_count``, ``net``, ``gross`` or ``cash_received``."""
    current: Decimal
    previous: Decimal
    difference: Decimal
    percent: Decimal | None
    """None when the month before was zero (no meaningful percentage)."""


@dataclass(frozen=True)
class OtherCurrency:
    """Documents in a currency other than the report's, kept out of every sum."""

    currency: str
    invoice_count: int
    gross: Decimal
    payment_count: int
    payments_total: Decimal


@dataclass(frozen=True)
class MonthlyReport:
    """Everything the monthly report shows, in the report currency."""

    month: ReportMonth
    as_of: dt.date
    """The Berlin date the report was made; receivables are aged and shown as of this day."""
    currency: str
    issued: IssuedInvoices
    by_tax_rate: tuple[TaxRateTotal, ...]
    by_status: tuple[StatusTotal, ...]
    by_day: tuple[DayRevenue, ...]
    top_clients: tuple[ClientRevenue, ...]
    receivables: Receivables
    cash: CashReceived
    reminders: RemindersSent
    review: ReviewList
    previous: MonthTotals | None
    changes: tuple[Change, ...]
    other_currencies: tuple[OtherCurrency, ...] = field(default_factory=tuple)

    @property
    def totals(self) -> MonthTotals:
        """This month's headline figures (what next month compares against)."""
        return MonthTotals(
            invoice_count=self.issued.invoice_count,
            net=self.issued.net,
            gross=self.issued.gross,
            cash_received=self.cash.total,
        )


# --- rules ---------------------------------------------------------------------------------


def in_currency(document_currency: str | None, currency: str) -> bool:
    """True when a document is in the report currency (no currency means the account's)."""
    return document_currency is None or document_currency.strip().upper() == currency.upper()


def percent_of(part: Decimal, whole: Decimal) -> Decimal:
    """``part`` as a percentage of ``whole`` to one decimal (0 when ``whole`` is 0)."""
    if whole == ZERO:
        return Decimal("0.0")
    return (part * HUNDRED / whole).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def percent_change(current: Decimal, previous: Decimal) -> Decimal | None:
    """Change from ``previous`` to ``current`` in percent, one decimal; None from zero."""
    if previous == ZERO:
        return None
    return ((current - previous) * HUNDRED / abs(previous)).quantize(
        Decimal("0.1"), rounding=ROUND_HALF_UP
    )


def days_overdue(invoice: Invoice, as_of: dt.date) -> int:
    """Days past the due date at ``as_of`` (0 or less: not yet overdue).

    Without a due date the invoice was due on its date (Billomat's default is date + due
    days, so a missing due date is rare); without either it counts as due today.
    """
    due = invoice.due_date or invoice.date or as_of
    return (as_of - due).days


def aging_bucket_key(days_past_due: int) -> str:
    """The aging bucket for an open invoice this many days past due."""
    if days_past_due <= 0:
        return NOT_DUE
    for aging in AGING_RANGES:
        if aging.holds(days_past_due):
            return aging.key
    raise AssertionError("the aging ranges cover every positive number of days")


@dataclass(frozen=True)
class TaxShare:
    """One tax group of one invoice."""

    rate: Decimal
    net: Decimal
    tax: Decimal
    gross: Decimal


def invoice_tax_shares(invoice: Invoice) -> list[TaxShare]:
    """The invoice's net, tax and gross per tax rate, from Billomat's tax groups.

    Billomat sends ``taxes`` with ``amount`` (the tax), ``amount_net`` and ``amount_gross``;
    a missing one is derived from the other two. An invoice without usable tax groups (e.g.
    tax-free) counts as a whole at the rate its totals imply.
    """
    shares: list[TaxShare] = []
    for group in invoice.taxes:
        if group.rate is None:
            return [_whole_invoice_share(invoice)]
        tax, net, gross = group.amount, group.amount_net, group.amount_gross
        if net is None and gross is not None and tax is not None:
            net = gross - tax
        if gross is None and net is not None and tax is not None:
            gross = net + tax
        if tax is None and net is not None and gross is not None:
            tax = gross - net
        if net is None or gross is None or tax is None:
            return [_whole_invoice_share(invoice)]
        shares.append(TaxShare(normalize_rate(group.rate), net, tax, gross))
    return shares or [_whole_invoice_share(invoice)]


def _whole_invoice_share(invoice: Invoice) -> TaxShare:
    net, gross = invoice.total_net, invoice.total_gross
    if len(invoice.taxes) == 1 and invoice.taxes[0].rate is not None:
        rate = normalize_rate(invoice.taxes[0].rate)
    elif net == ZERO or gross == net:
        rate = ZERO
    else:
        rate = normalize_rate(max(ZERO, min(HUNDRED, (gross - net) * HUNDRED / net)))
    return TaxShare(rate, net, gross - net, gross)


def tax_rate_totals(invoices: Iterable[Invoice]) -> tuple[TaxRateTotal, ...]:
    """Revenue per tax rate, highest rate first."""
    sums: dict[Decimal, list[Decimal]] = defaultdict(lambda: [ZERO, ZERO, ZERO])
    counts: dict[Decimal, int] = defaultdict(int)
    for invoice in invoices:
        for share in invoice_tax_shares(invoice):
            running = sums[share.rate]
            running[0] += share.net
            running[1] += share.tax
            running[2] += share.gross
            counts[share.rate] += 1
    return tuple(
        TaxRateTotal(
            rate=rate,
            invoice_count=counts[rate],
            net=to_cents(net),
            tax=to_cents(tax),
            gross=to_cents(gross),
        )
        for rate, (net, tax, gross) in sorted(sums.items(), reverse=True)
    )


def status_totals(invoices: Iterable[Invoice]) -> tuple[StatusTotal, ...]:
    """The month's invoices by their status today: paid, open, overdue, cancelled."""
    order = (
        InvoiceStatus.PAID,
        InvoiceStatus.OPEN,
        InvoiceStatus.OVERDUE,
        InvoiceStatus.CANCELED,
    )
    counts = dict.fromkeys(order, 0)
    gross = dict.fromkeys(order, ZERO)
    unpaid = dict.fromkeys(order, ZERO)
    for invoice in invoices:
        if invoice.status not in counts:
            continue
        counts[invoice.status] += 1
        gross[invoice.status] += invoice.total_gross
        if invoice.status in OPEN_STATUSES:
            unpaid[invoice.status] += invoice.open_amount
    return tuple(
        StatusTotal(status, counts[status], to_cents(gross[status]), to_cents(unpaid[status]))
        for status in order
    )


def revenue_by_day(invoices: Iterable[Invoice], month: ReportMonth) -> tuple[DayRevenue, ...]:
    """Net and gross issued on each day of the month (days without invoices are zero)."""
    counts: dict[dt.date, int] = defaultdict(int)
    net: dict[dt.date, Decimal] = defaultdict(lambda: ZERO)
    gross: dict[dt.date, Decimal] = defaultdict(lambda: ZERO)
    for invoice in invoices:
        if invoice.date is None:
            continue
        counts[invoice.date] += 1
        net[invoice.date] += invoice.total_net
        gross[invoice.date] += invoice.total_gross
    return tuple(
        DayRevenue(day, counts[day], to_cents(net[day]), to_cents(gross[day]))
        for day in month.days()
    )


@dataclass(frozen=True)
class ClientTotal:
    """A client's summed invoices (before names are known)."""

    client_id: int | None
    invoice_count: int
    net: Decimal
    gross: Decimal


def rank_clients(
    invoices: Iterable[Invoice], limit: int = TOP_CLIENT_COUNT
) -> tuple[ClientTotal, ...]:
    """The ``limit`` clients with the highest net revenue (ties: gross, then lower id)."""
    counts: dict[int | None, int] = defaultdict(int)
    net: dict[int | None, Decimal] = defaultdict(lambda: ZERO)
    gross: dict[int | None, Decimal] = defaultdict(lambda: ZERO)
    for invoice in invoices:
        counts[invoice.client_id] += 1
        net[invoice.client_id] += invoice.total_net
        gross[invoice.client_id] += invoice.total_gross
    ranked = sorted(
        counts,
        key=lambda client: (-net[client], -gross[client], client is None, client or 0),
    )
    return tuple(
        ClientTotal(client, counts[client], to_cents(net[client]), to_cents(gross[client]))
        for client in ranked[:limit]
    )


def top_clients(
    ranked: Sequence[ClientTotal], names: Mapping[int, str], total_net: Decimal
) -> tuple[ClientRevenue, ...]:
    """The ranking with client names and each client's share of the month's net revenue."""
    return tuple(
        ClientRevenue(
            rank=position,
            client_id=client.client_id,
            name=client_name(client.client_id, names),
            invoice_count=client.invoice_count,
            net=client.net,
            gross=client.gross,
            share_percent=percent_of(client.net, total_net),
        )
        for position, client in enumerate(ranked, start=1)
    )


def client_name(client_id: int | None, names: Mapping[int, str]) -> str:
    """The client's name, or a stand-in that still identifies it."""
    if client_id is None:
        return "(ohne Kunde)"
    name = (names.get(client_id) or "").strip()
    return name or f"Kunde {client_id}"


def receivables(open_invoices: Iterable[Invoice], as_of: dt.date) -> Receivables:
    """Open amounts at ``as_of``, split into the aging buckets."""
    keys = (NOT_DUE, *(aging.key for aging in AGING_RANGES))
    counts = dict.fromkeys(keys, 0)
    amounts = dict.fromkeys(keys, ZERO)
    for invoice in open_invoices:
        key = aging_bucket_key(days_overdue(invoice, as_of))
        counts[key] += 1
        amounts[key] += invoice.open_amount
    overdue_keys = keys[1:]
    return Receivables(
        as_of=as_of,
        invoice_count=sum(counts.values()),
        open_amount=to_cents(sum(amounts.values(), ZERO)),
        overdue_count=sum(counts[key] for key in overdue_keys),
        overdue_amount=to_cents(sum((amounts[key] for key in overdue_keys), ZERO)),
        buckets=tuple(AgingBucket(key, counts[key], to_cents(amounts[key])) for key in keys),
    )


def cash_received(payments: Iterable[InvoicePayment]) -> CashReceived:
    """Payments received, in total and per payment type (largest first)."""
    counts: dict[str, int] = defaultdict(int)
    amounts: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for payment in payments:
        kind = payment.type.value if payment.type is not None else "UNSPECIFIED"
        counts[kind] += 1
        amounts[kind] += payment.amount
    by_type = tuple(
        PaymentTypeTotal(kind, counts[kind], to_cents(amounts[kind]))
        for kind in sorted(counts, key=lambda kind: (-amounts[kind], kind))
    )
    return CashReceived(
        payment_count=sum(counts.values()),
        total=to_cents(sum(amounts.values(), ZERO)),
        by_type=by_type,
    )


def reminders_sent(reminders: Iterable[Reminder]) -> RemindersSent:
    """Reminders that went out (completed, not cancelled), by dunning level."""
    counts: dict[int | None, int] = defaultdict(int)
    names: dict[int | None, str | None] = {}
    for reminder in reminders:
        if reminder.status not in SENT_REMINDER_STATUSES:
            continue
        counts[reminder.reminder_level] += 1
        names.setdefault(reminder.reminder_level, reminder.reminder_level_name)
    levels = sorted(counts, key=lambda level: (level is None, level or 0))
    return RemindersSent(
        total=sum(counts.values()),
        by_level=tuple(ReminderLevelCount(level, names[level], counts[level]) for level in levels),
    )


def review_list(review_sort_keys: Iterable[str], month: ReportMonth) -> ReviewList:
    """Items on the review list, and those whose booking date lies in the month.

    The bank workflow stores each item under ``pk=review`` with the sort key
    ``<booking_date>#...``, so the month's items are those starting with ``YYYY-MM-``.
    """
    keys = list(review_sort_keys)
    prefix = f"{month.key}-"
    return ReviewList(
        open_items=len(keys), added_in_month=sum(1 for key in keys if key.startswith(prefix))
    )


def month_totals_from_groups(
    groups: Iterable[InvoiceGroup],
    invoice_count: int,
    payments: Iterable[InvoicePayment],
    currency: str,
) -> MonthTotals:
    """A month's headline figures from ``group_by`` rows, a count and its payments.

    The groups are asked for the billed statuses only, so they sum to the month's revenue.
    """
    rows = list(groups)
    return MonthTotals(
        invoice_count=invoice_count,
        net=to_cents(sum((row.total_net for row in rows), ZERO)),
        gross=to_cents(sum((row.total_gross for row in rows), ZERO)),
        cash_received=to_cents(
            sum(
                (
                    payment.amount
                    for payment in payments
                    if in_currency(payment.currency_code, currency)
                ),
                ZERO,
            )
        ),
    )


def changes(current: MonthTotals, previous: MonthTotals | None) -> tuple[Change, ...]:
    """Each headline figure against the month before (empty without a month before)."""
    if previous is None:
        return ()
    pairs = (
        ("invoice_count", Decimal(current.invoice_count), Decimal(previous.invoice_count)),
        ("net", current.net, previous.net),
        ("gross", current.gross, previous.gross),
        ("cash_received", current.cash_received, previous.cash_received),
    )
    return tuple(
        Change(metric, now, before, now - before, percent_change(now, before))
        for metric, now, before in pairs
    )


def other_currencies(
    invoices: Iterable[Invoice], payments: Iterable[InvoicePayment], currency: str
) -> tuple[OtherCurrency, ...]:
    """Billed invoices and payments of the month in currencies other than ``currency``."""
    invoice_counts: dict[str, int] = defaultdict(int)
    invoice_gross: dict[str, Decimal] = defaultdict(lambda: ZERO)
    payment_counts: dict[str, int] = defaultdict(int)
    payment_sums: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for invoice in invoices:
        if not in_currency(invoice.currency_code, currency):
            code = (invoice.currency_code or "").strip().upper()
            invoice_counts[code] += 1
            invoice_gross[code] += invoice.total_gross
    for payment in payments:
        if not in_currency(payment.currency_code, currency):
            code = (payment.currency_code or "").strip().upper()
            payment_counts[code] += 1
            payment_sums[code] += payment.amount
    return tuple(
        OtherCurrency(
            code,
            invoice_counts[code],
            to_cents(invoice_gross[code]),
            payment_counts[code],
            to_cents(payment_sums[code]),
        )
        for code in sorted(set(invoice_counts) | set(payment_counts))
    )


def issued_in_month(invoices: Iterable[Invoice], month: ReportMonth) -> list[Invoice]:
    """The invoices dated in ``month`` that were issued (no drafts), each once."""
    seen: set[int] = set()
    issued = []
    for invoice in invoices:
        if invoice.id in seen or invoice.status not in ISSUED_STATUSES:
            continue
        if invoice.date is None or not month.first_day <= invoice.date <= month.last_day:
            continue
        seen.add(invoice.id)
        issued.append(invoice)
    return issued


def billed_invoices(
    invoices: Iterable[Invoice], month: ReportMonth, currency: str
) -> list[Invoice]:
    """The month's revenue-making invoices: issued, not cancelled, in the report currency."""
    return [
        invoice
        for invoice in issued_in_month(invoices, month)
        if invoice.status in BILLED_STATUSES and in_currency(invoice.currency_code, currency)
    ]


def top_client_ids(invoices: Iterable[Invoice], month: ReportMonth, currency: str) -> list[int]:
    """Ids of the clients the ranking will show: the only names the report needs."""
    ranked = rank_clients(billed_invoices(invoices, month, currency))
    return [client.client_id for client in ranked if client.client_id is not None]


def outstanding_at(invoices: Iterable[Invoice], month: ReportMonth, currency: str) -> list[Invoice]:
    """Open invoices dated up to the month's end, in the report currency, each once."""
    seen: set[int] = set()
    outstanding = []
    for invoice in invoices:
        if invoice.id in seen or invoice.status not in OPEN_STATUSES:
            continue
        if invoice.date is not None and invoice.date > month.last_day:
            continue
        if not in_currency(invoice.currency_code, currency):
            continue
        seen.add(invoice.id)
        outstanding.append(invoice)
    return outstanding


def monthly_report(
    month: ReportMonth,
    as_of: dt.date,
    currency: str,
    *,
    invoices: Iterable[Invoice],
    open_invoices: Iterable[Invoice],
    payments: Iterable[InvoicePayment],
    reminders: Iterable[Reminder],
    client_names: Mapping[int, str],
    review_sort_keys: Iterable[str],
    previous: MonthTotals | None,
) -> MonthlyReport:
    """The report for ``month`` from what Billomat and the review list hold.

    ``invoices``: the month's invoices (any status; drafts and other months are ignored);
    ``open_invoices``: every OPEN/OVERDUE invoice; ``payments`` and ``reminders``: those
    dated in the month; ``client_names``: at least the top clients' names.
    """
    issued = issued_in_month(invoices, month)
    month_payments = [
        payment
        for payment in payments
        if payment.date is None or month.first_day <= payment.date <= month.last_day
    ]
    in_report_currency = [i for i in issued if in_currency(i.currency_code, currency)]
    billed = [i for i in in_report_currency if i.status in BILLED_STATUSES]
    cancelled = [i for i in in_report_currency if i.status is InvoiceStatus.CANCELED]
    net = to_cents(sum((i.total_net for i in billed), ZERO))
    gross = to_cents(sum((i.total_gross for i in billed), ZERO))
    issued_totals = IssuedInvoices(
        invoice_count=len(billed),
        net=net,
        tax=gross - net,
        gross=gross,
        cancelled_count=len(cancelled),
        cancelled_gross=to_cents(sum((i.total_gross for i in cancelled), ZERO)),
    )
    cash = cash_received(p for p in month_payments if in_currency(p.currency_code, currency))
    current = MonthTotals(len(billed), net, gross, cash.total)
    return MonthlyReport(
        month=month,
        as_of=as_of,
        currency=currency.upper(),
        issued=issued_totals,
        by_tax_rate=tax_rate_totals(billed),
        by_status=status_totals(in_report_currency),
        by_day=revenue_by_day(billed, month),
        top_clients=top_clients(rank_clients(billed), client_names, net),
        receivables=receivables(outstanding_at(open_invoices, month, currency), as_of),
        cash=cash,
        reminders=reminders_sent(
            r for r in reminders if r.date is None or month.first_day <= r.date <= month.last_day
        ),
        review=review_list(review_sort_keys, month),
        previous=previous,
        changes=changes(current, previous),
        other_currencies=other_currencies(
            (i for i in issued if i.status in BILLED_STATUSES), month_payments, currency
        ),
    )
