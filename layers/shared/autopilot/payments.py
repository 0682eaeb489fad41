"""Booking a payment on an invoice (or a payout on a credit note) exactly once: the one
implementation orders, bank and refunds share.

A payment is found again by its ``marker``, a text its comment carries that no other payment's
comment does (the order's reference, ``[<source>:<transaction id>]`` of a transfer). The step is
the write-once step (:mod:`autopilot.write_once`): an attempt that finds the mark of an earlier
one looks among the invoice's payments for the marker before booking.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from decimal import Decimal

from autopilot.billomat import BillomatClient, CreditNotePayment, InvoicePayment, PaymentType
from autopilot.write_once import Written, find_earlier_write, write_marked, write_once


@dataclass(frozen=True)
class PaymentToBook:
    """One payment as a workflow wants it booked."""

    invoice_id: int
    amount: Decimal
    date: dt.date
    type: PaymentType
    comment: str
    marker: str
    """Part of ``comment`` that only this payment's comment has."""
    mark_invoice_as_paid: bool = False

    def __post_init__(self) -> None:
        if not self.marker or self.marker not in self.comment:
            raise ValueError("a payment's marker must be part of its comment")


def find_booked_payment(billomat: BillomatClient, payment: PaymentToBook) -> InvoicePayment | None:
    """The payment an earlier attempt booked for ``payment``, if Billomat shows one."""
    for booked in billomat.iter_invoice_payments(invoice_id=payment.invoice_id):
        if booked.comment and payment.marker in booked.comment:
            return booked
    return None


def book_payment_once(
    billomat: BillomatClient,
    payment: PaymentToBook,
    *,
    started: bool,
    mark: Callable[[bool], object],
    guard: Callable[[], AbstractContextManager[object]] = nullcontext,
) -> Written[InvoicePayment]:
    """Book ``payment`` unless an earlier attempt did; ``started`` is that attempt's mark.

    ``guard`` is entered around the booking only (not around the look-up): the bank uses it
    to hold a per-invoice lock and check the invoice is still open for the amount.
    """
    earlier = find_earlier_write(started, lambda: find_booked_payment(billomat, payment))
    if earlier is not None:
        return earlier
    with guard():
        return write_marked(
            mark,
            lambda: billomat.book_payment(
                invoice_id=payment.invoice_id,
                amount=payment.amount,
                date=payment.date,
                type=payment.type,
                comment=payment.comment,
                mark_invoice_as_paid=payment.mark_invoice_as_paid,
            ),
        )


@dataclass(frozen=True)
class CreditNotePaymentToBook:
    """One payout on a credit note as a workflow wants it booked (found again by ``marker``)."""

    credit_note_id: int
    amount: Decimal
    date: dt.date
    type: PaymentType
    comment: str
    marker: str

    def __post_init__(self) -> None:
        if not self.marker or self.marker not in self.comment:
            raise ValueError("a payment's marker must be part of its comment")


def book_credit_note_payment_once(
    billomat: BillomatClient,
    payment: CreditNotePaymentToBook,
    *,
    started: bool,
    mark: Callable[[bool], object],
) -> Written[CreditNotePayment]:
    """The credit-note analogue of :func:`book_payment_once`: the same write-once step, the
    earlier attempt's payment looked up by its marker (``find_credit_note_payment``)."""
    return write_once(
        started=started,
        mark=mark,
        write=lambda: billomat.book_credit_note_payment(
            credit_note_id=payment.credit_note_id,
            amount=payment.amount,
            date=payment.date,
            type=payment.type,
            comment=payment.comment,
        ),
        find=lambda: billomat.find_credit_note_payment(payment.credit_note_id, payment.marker),
    )
