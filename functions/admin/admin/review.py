"""The bank review list for a person: list the open items, book one on an invoice, dismiss one.

A review item is written by the bank workflow under ``review`` / ``<booking_date>#<reference>``
(``reference`` = ``<source>:<transaction_id>``, the item's ``id`` here); the transaction's
checkpoint ``banktx#<reference>`` / ``state`` holds the whole transfer and the item's key.

- **Open** items have no ``status`` (or ``"open"``); only they are listed and counted.
- **Booking** goes through :func:`autopilot.bank_booking.book_transfer_payment`, the step the
  automatic matching uses: one payment exactly once (marker in the comment, ``started`` mark,
  look-up before a retry books), under the per-invoice lock with a fresh read of the invoice.
  The invoice is checked first (exists, OPEN/OVERDUE, same currency, open amount ≥ the
  transfer's unbooked rest); any refusal answers 400 and books nothing.
- **Acting once**: the action holds ``review-action#<reference>`` / ``lock`` and re-reads the
  item inside it; an item already resolved answers 409 with its resolution.
- **History**: a resolved item keeps its transfer, reason and candidates and gains ``status``
  (``booked`` | ``dismissed``), ``resolved_at``, ``resolved_by`` (the caller's IAM ARN; ``local``
  in local mode) and ``resolution`` (invoice and payment id, or the dismissal reason). It then
  expires ``RESOLVED_TTL_DAYS`` after the decision (DynamoDB TTL ``expires_at``); open items
  never expire — a transfer nobody looked at must not vanish.
"""

from __future__ import annotations

import re
import time
import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from autopilot.bank_booking import (
    REVIEW_PARTITION,
    STATE,
    PaymentRefused,
    PlannedBooking,
    book_transfer_payment,
)
from autopilot.workflow_state import ClaimHeldElsewhere, Item, WorkflowStore

from .errors import AdminError

RESOLVED_TTL_DAYS = 400
ACTION_LOCK_STALE_SECONDS = 120
OPEN = "open"
OPEN_INVOICE_STATUSES = ("OPEN", "OVERDUE")
MAX_INVOICE_NUMBER = 128
"""Longer than any Billomat invoice number; a longer one cannot even be looked up (URL)."""
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def is_open(item: Item) -> bool:
    """Whether a review item still waits for a person."""
    return item.get("status") in (None, OPEN)


def item_id(item: Item) -> str:
    """The item's id in the API: the transfer's reference ``<source>:<transaction_id>``."""
    return str(item["sk"]).split("#", 1)[1]


def listed(item: Item, now: float) -> dict[str, Any]:
    """One open item as ``GET /admin/review`` shows it."""
    transfer = item.get("transaction") or {}
    created = item.get("created_at")
    return {
        "id": item_id(item),
        "source": transfer.get("source"),
        "amount": str(transfer.get("amount")),
        "currency": transfer.get("currency"),
        "payer": transfer.get("payer"),
        "reference": transfer.get("remittance_information"),
        "reason": item.get("reason"),
        "message": item.get("message"),
        "booking_date": transfer.get("booking_date"),
        "candidates": [c.get("invoice_number") for c in item.get("candidates") or []],
        "age_seconds": int(now - int(created)) if created is not None else None,
    }


@dataclass(frozen=True)
class ReviewAction:
    """A validated ``POST /admin/review/{id}`` body."""

    action: str
    invoice: str | None = None
    reason: str | None = None

    @classmethod
    def parse(cls, body: Any) -> ReviewAction:
        if not isinstance(body, dict):
            raise AdminError(400, "invalid_request", "expected a JSON object")
        action = body.get("action")
        if action == "book":
            invoice = body.get("invoice")
            if not isinstance(invoice, str) or not invoice.strip():
                raise AdminError(400, "invalid_request", "book needs an invoice number")
            invoice = invoice.strip()
            if len(invoice) > MAX_INVOICE_NUMBER or not invoice.isprintable():
                raise AdminError(
                    400,
                    "invalid_request",
                    f"invoice must be an invoice number (printable, at most "
                    f"{MAX_INVOICE_NUMBER} characters)",
                )
            return cls("book", invoice=invoice)
        if action == "dismiss":
            reason = body.get("reason")
            if reason is not None and not isinstance(reason, str):
                raise AdminError(400, "invalid_request", "reason must be a string")
            if reason is not None and _LONE_SURROGATE.search(reason):
                raise AdminError(
                    400, "invalid_request", "reason is not valid Unicode (a lone surrogate)"
                )
            return cls("dismiss", reason=(reason or "").strip()[:500] or None)
        raise AdminError(400, "invalid_request", 'action must be "book" or "dismiss"')


class ReviewList:
    """The review list on one workflow table and one Billomat client (made on first use)."""

    def __init__(self, store: WorkflowStore, billomat: Any, now: Any = time.time) -> None:
        self.store = store
        self._billomat = billomat
        self.now = now

    @property
    def billomat(self) -> Any:
        if callable(self._billomat):
            self._billomat = self._billomat()
        return self._billomat

    def open_items(self) -> list[dict[str, Any]]:
        """``{"items": [...]}`` of ``GET /admin/review``: open items, oldest booking first."""
        now = self.now()
        return [listed(item, now) for item in self.store.query(REVIEW_PARTITION) if is_open(item)]

    def _find(self, reference: str) -> tuple[Item, Item]:
        state = self.store.get(f"banktx#{reference}", STATE)
        key = state.get("review_key") if state else None
        item = self.store.get(REVIEW_PARTITION, str(key)) if key else None
        if state is None or item is None:
            raise AdminError(404, "not_found", f"No review item {reference!r}.")
        return state, item

    def act(self, reference: str, body: Any, actor: str) -> dict[str, Any]:
        """Book or dismiss one item; the resolved item (see the module docstring)."""
        state, item = self._find(reference)
        action = ReviewAction.parse(body)
        if not is_open(item):
            raise already_resolved(reference, item)
        try:
            with self.store.exclusive(
                f"review-action#{reference}", uuid.uuid4().hex, ACTION_LOCK_STALE_SECONDS
            ):
                state, item = self._find(reference)
                if not is_open(item):
                    raise already_resolved(reference, item)
                if action.action == "book":
                    assert action.invoice is not None
                    resolution = self._book(reference, state, item, action.invoice)
                    status = "booked"
                else:
                    resolution = {"action": "dismiss", "reason": action.reason}
                    status = "dismissed"
                now = int(self.now())
                resolved = self.store.update(
                    REVIEW_PARTITION,
                    str(item["sk"]),
                    {
                        "status": status,
                        "resolved_at": now,
                        "resolved_by": actor,
                        "resolution": resolution,
                        "expires_at": now + RESOLVED_TTL_DAYS * 86400,
                    },
                )
        except ClaimHeldElsewhere as busy:
            raise AdminError(409, "in_progress", f"{reference} is being resolved: {busy}") from busy
        return {"id": reference, **history(resolved)}

    def _book(self, reference: str, state: Item, item: Item, number: str) -> dict[str, Any]:
        from autopilot.bank_transactions import BankTransaction

        transaction = BankTransaction.model_validate(state["bank_transaction"])
        already = sum(
            (Decimal(str(p["amount"])) for p in item.get("booked") or []), Decimal("0.00")
        )
        amount = transaction.amount - already
        invoice = self._invoice(number)
        if invoice.status.value not in OPEN_INVOICE_STATUSES:
            raise AdminError(
                400, "invoice_not_open", f"{number} is {invoice.status.value}; nothing booked."
            )
        if invoice.currency_code and invoice.currency_code != transaction.currency:
            raise AdminError(
                400,
                "currency_mismatch",
                f"{number} is in {invoice.currency_code}, the transfer in "
                f"{transaction.currency}; nothing booked.",
            )
        if invoice.open_amount < amount:
            raise AdminError(
                400,
                "amount_exceeds_open",
                f"{number} has {invoice.open_amount} {invoice.currency_code} open, less than "
                f"{amount}; nothing booked.",
            )
        booking = PlannedBooking(
            invoice_id=invoice.id, invoice_number=number, amount=amount, mark_paid=False
        )
        try:
            payment = book_transfer_payment(self.billomat, self.store, transaction, booking)
        except PaymentRefused as refused:
            raise AdminError(400, "payment_refused", str(refused)) from refused
        self.store.update(
            f"banktx#{reference}",
            STATE,
            {
                "status": "booked",
                "reason": "booked_from_review",
                "payments": [*(state.get("payments") or []), payment],
            },
        )
        return {
            "action": "book",
            "invoice": number,
            "invoice_id": invoice.id,
            "payment_id": payment["payment_id"],
            "amount": str(amount),
        }

    def _invoice(self, number: str) -> Any:
        found = [
            invoice
            for invoice in self.billomat.iter_invoices(invoice_number=number)
            if invoice.invoice_number == number
        ]
        if not found:
            raise AdminError(400, "invoice_not_found", f"No invoice {number}; nothing booked.")
        return found[0]


def history(item: Item) -> dict[str, Any]:
    """What a resolved item records about its decision."""
    return {
        "status": item.get("status"),
        "resolved_at": item.get("resolved_at"),
        "resolved_by": item.get("resolved_by"),
        "resolution": item.get("resolution"),
    }


def already_resolved(reference: str, item: Item) -> AdminError:
    return AdminError(
        409,
        "already_resolved",
        f"{reference} was already {item.get('status')}; nothing done.",
        id=reference,
        **history(item),
    )
