"""One payment of a bank transfer on one invoice, exactly once: the step the bank workflow's
automatic matching and the operator's review decision (``POST /admin/review/{id}``) share.

The step lives under the transaction's partition ``banktx#<source>:<transaction_id>`` with the
sort key ``payment#<invoice id>``. It is marked ``started`` before ``POST /invoice-payments``;
an attempt that finds the mark without a payment id first looks for a payment on that invoice
whose comment carries the marker ``[<source>:<transaction_id>]`` (:mod:`autopilot.payments`).
Around the booking itself it holds ``invoice-payment#<invoice id>`` / ``lock`` and reads the
invoice fresh: it must still be OPEN or OVERDUE with at least the amount open, or nothing is
booked (:class:`PaymentRefused`).

Review items (``review`` / ``<booking_date>#<reference>``) are written by the bank workflow;
the names of that partition and of the transaction checkpoint are here so the operator API
finds them without importing the bank function.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict

from autopilot.bank_transactions import BankTransaction
from autopilot.billomat import (
    BillomatClient,
    BillomatValidationError,
    InvoiceStatus,
    PaymentType,
)
from autopilot.checkpoints import Checkpoint, CheckpointRecord
from autopilot.payments import PaymentToBook, book_payment_once
from autopilot.workflow_state import ClaimHeldElsewhere, WorkflowStore
from autopilot.write_once import WriteOutcome

log = logging.getLogger("autopilot.bank_payment")

STATE = "state"
REVIEW_PARTITION = "review"
INVOICE_CLAIM_STALE_SECONDS = 120
COMMENT_TEXT_LIMIT = 80


def checkpoint_key(transaction: BankTransaction) -> str:
    """The workflow-table partition of one transaction."""
    return f"banktx#{transaction.reference}"


def payment_marker(transaction: BankTransaction) -> str:
    """What our payment comments end with; the look-up for a possibly booked payment."""
    return f"[{transaction.reference}]"


def payment_comment(transaction: BankTransaction) -> str:
    """The Billomat payment comment: payer, remittance text, bank reference, our marker."""
    parts = [f"Überweisung von {transaction.counterparty.name or 'unbekannt'}"]
    if transaction.remittance_information:
        text = transaction.remittance_information
        if len(text) > COMMENT_TEXT_LIMIT:
            text = text[: COMMENT_TEXT_LIMIT - 1] + "…"
        parts.append(f"„{text}“")
    if transaction.bank_reference:
        parts.append(f"Bank-Ref. {transaction.bank_reference}")
    parts.append(payment_marker(transaction))
    return " · ".join(parts)


class PlannedBooking(BaseModel):
    """One payment of the decision, as stored before the first is booked."""

    model_config = ConfigDict(frozen=True)

    invoice_id: int
    invoice_number: str
    amount: Decimal
    mark_paid: bool


class PaymentCheckpoint(Checkpoint):
    """``banktx#<reference>`` / ``payment#<invoice id>``: one payment of the plan."""

    started: int | None = None
    payment_id: int | None = None
    refused: str | None = None


class PaymentRefused(Exception):
    """A payment cannot be booked (Billomat refused it, or the invoice changed since the
    decision); nothing was booked for it."""

    def __init__(self, booking: PlannedBooking, reasons: str) -> None:
        super().__init__(f"Zahlung auf {booking.invoice_number} nicht gebucht: {reasons}")
        self.booking = booking
        self.reasons = reasons


def book_transfer_payment(
    billomat: BillomatClient,
    store: WorkflowStore,
    transaction: BankTransaction,
    booking: PlannedBooking,
) -> dict[str, Any]:
    """Book ``booking`` for ``transaction`` exactly once; the booked payment as a dict
    (``invoice_id``, ``invoice_number``, ``amount``, ``mark_paid``, ``payment_id``).

    Raises :class:`PaymentRefused` when the invoice is no longer open for the amount or
    Billomat refuses the payment (nothing booked), :class:`ClaimHeldElsewhere` while another
    transfer is being booked on the same invoice (retry later).
    """
    invoice_id = booking.invoice_id
    done = {**booking.model_dump(mode="json"), "invoice_id": invoice_id}
    step = CheckpointRecord(
        store, PaymentCheckpoint, checkpoint_key(transaction), f"payment#{invoice_id}"
    )
    state = step.load()
    if state.payment_id is not None:
        return {**done, "payment_id": state.payment_id}

    @contextmanager
    def invoice_still_open() -> Iterator[None]:
        # One booking per invoice at a time across containers, checked against the invoice
        # as it is now: two transfers for one invoice decided in parallel must not both book.
        lock = f"invoice-payment#{invoice_id}"
        claim = store.claim(lock, "lock", transaction.reference, INVOICE_CLAIM_STALE_SECONDS)
        if not claim.acquired:
            raise ClaimHeldElsewhere(f"invoice {invoice_id} is being paid by another transfer")
        try:
            current = billomat.get_invoice(invoice_id)
            if current.status not in (InvoiceStatus.OPEN, InvoiceStatus.OVERDUE):
                raise PaymentRefused(booking, f"die Rechnung ist jetzt {current.status.value}")
            if current.open_amount < booking.amount:
                raise PaymentRefused(
                    booking,
                    f"offen sind jetzt nur noch {current.open_amount} {current.currency_code}",
                )
            yield
        finally:
            store.delete(lock, "lock")

    try:
        written = book_payment_once(
            billomat,
            PaymentToBook(
                invoice_id=invoice_id,
                amount=booking.amount,
                date=transaction.booking_date,
                type=PaymentType.BANK_TRANSFER,
                comment=payment_comment(transaction),
                marker=payment_marker(transaction),
                mark_invoice_as_paid=booking.mark_paid,
            ),
            started=state.started is not None,
            mark=lambda started: step.save(started=int(time.time()) if started else None),
            guard=invoice_still_open,
        )
    except BillomatValidationError as error:
        step.save(refused=str(error))
        raise PaymentRefused(booking, "; ".join(error.messages) or error.message) from error
    payment = written.value
    assert payment is not None
    if written.outcome is WriteOutcome.FOUND:
        log.info("found payment %s booked by an earlier attempt", payment.id)
    step.save(payment_id=payment.id)
    return {**done, "payment_id": payment.id}
