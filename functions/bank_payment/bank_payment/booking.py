"""A bank transaction becomes Billomat payments exactly once — or a review item.

Everything about one transaction lives under ``banktx#<source>:<transaction_id>`` in the
workflow table, so a redelivered webhook, a re-imported statement, a retried SQS message or a
Lambda that died half-way continues where the last attempt stopped and never books twice:

- ``state``: the decision is stored (``plan``) *before* the first payment is booked. A later
  attempt carries the stored plan out instead of deciding again — after a partial booking the
  open amounts have changed and a new decision would differ;
- ``payment#<invoice_id>``: one sub-checkpoint per invoice of the plan (the step is
  :func:`autopilot.bank_booking.book_transfer_payment`, shared with the operator API). It is marked
  ``started`` before ``POST /invoice-payments``; an attempt that finds the mark without a
  payment id first looks for a payment on that invoice whose comment carries our marker
  ``[<source>:<transaction_id>]``, and books only if there is none. A Billomat error that
  certainly changed nothing (rate limit, connection refused) clears the mark;
- a payment Billomat refuses (400, e.g. the invoice was paid by hand meanwhile) turns the
  transaction into a review item.

One transfer can also arrive twice under different ids (a banking tool's webhook, then the
evening's camt.053; Qonto, then a statement). Before anything is decided, each of its
``transfer_keys`` is claimed for good under ``transfer#<key>`` / ``claim``, bound to this
transaction's reference. A retry of the same transaction finds its own claims and goes on (a
first arrival that crashed after claiming still books on its retry); an arrival that finds a key
held by another transaction of possibly the same account books nothing and ends as
``duplicate``, naming the first arrival. Keys are claimed in sorted order, so of several arrivals
of one transfer exactly one goes on, however they interleave.

Not booked means reviewed: ``review`` / ``<booking_date>#<source>:<transaction_id>`` holds the
reason, the transfer and the candidate invoices; accounting gets one short notice per batch.
After a booking by invoice number (rules 1–3) the payer's IBAN is remembered for the client
(``payer#<IBAN>``), which rule 4 uses next time.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from autopilot.bank_booking import (
    REVIEW_PARTITION,
    STATE,
    PaymentRefused,
    PlannedBooking,
    book_transfer_payment,
    checkpoint_key,
)
from autopilot.bank_transactions import BankTransaction, may_be_one_transfer
from autopilot.billomat import (
    BillomatClient,
    BillomatNotFoundError,
    InvoiceStatus,
)
from autopilot.checkpoints import Checkpoint, CheckpointRecord
from autopilot.money import german_amount
from autopilot.notifications import AccountingNotifier
from autopilot.workflow_state import ClaimHeldElsewhere, WorkflowStore

from .matching import (
    ClientFacts,
    Decision,
    OpenInvoice,
    PayerRule,
    ReferenceFinder,
    Rule,
    decide,
)

log = logging.getLogger("autopilot.bank_payment")

TRANSFER_CLAIM = "claim"
# A transfer key belongs to its first arrival for good: a crashed first arrival is retried by SQS
# (or redriven from the DLQ), never taken over by a second arrival of the same transfer.
TRANSFER_CLAIM_NEVER_STALE = 100 * 365 * 86400
FINAL_STATUSES = frozenset({"booked", "review", "ignored", "duplicate"})
PAYMENT_REFUSED = "payment_refused"


def transfer_claim_key(key: str) -> str:
    """The workflow-table partition that binds a transfer key to its first arrival."""
    return f"transfer#{key}"


def review_key(transaction: BankTransaction) -> str:
    """The sort key of a transaction's review item (review items sort by booking date)."""
    return f"{transaction.booking_date.isoformat()}#{transaction.reference}"


class Plan(BaseModel):
    """The decision for one transaction, stored before anything is booked."""

    model_config = ConfigDict(frozen=True)

    rule: str
    bookings: list[PlannedBooking] = []
    reason: str | None = None
    message: str | None = None
    candidates: list[dict[str, Any]] = []


class TransactionCheckpoint(Checkpoint):
    """``banktx#<reference>`` / ``state``: the transaction's decision and end state."""

    status: str | None = None
    """booked | review | ignored | duplicate once final."""
    reason: str | None = None
    plan: Plan | None = None
    bank_transaction: dict[str, Any] | None = None
    decided_at: int | None = None
    payments: list[dict[str, Any]] = Field(default_factory=list)
    review_key: str | None = None
    duplicate_of: str | None = None
    transfer_key: str | None = None


@dataclass(frozen=True)
class TransactionOutcome:
    """What happened to one transaction (small: it is the idempotency record's result)."""

    transaction: str
    status: str
    """booked | review | ignored | duplicate"""
    rule: str | None = None
    payments: tuple[dict[str, Any], ...] = ()
    reason: str | None = None
    review_key: str | None = None
    duplicate_of: str | None = None
    """For a duplicate: the reference of the first arrival of the same transfer."""

    def as_dict(self) -> dict[str, Any]:
        return {
            key: list(value) if isinstance(value, tuple) else value
            for key, value in self.__dict__.items()
            if value not in (None, ())
        }


# -------------------------------------------------------------------------------------------
# Candidates and payers, cached for one batch
# -------------------------------------------------------------------------------------------


class CandidateInvoices:
    """The OPEN and OVERDUE invoices, loaded once per batch and kept current while booking."""

    def __init__(self, billomat: BillomatClient) -> None:
        self._billomat = billomat
        self._invoices: dict[int, OpenInvoice] | None = None
        self._finder: ReferenceFinder | None = None

    def all(self) -> list[OpenInvoice]:
        """Every candidate (one request per 1,000 invoices, on first use only)."""
        if self._invoices is None:
            listed = self._billomat.iter_invoices(
                status=[InvoiceStatus.OPEN, InvoiceStatus.OVERDUE]
            )
            self._invoices = {
                invoice.id: OpenInvoice.from_billomat(invoice)
                for invoice in listed
                if invoice.invoice_number
            }
            log.info("loaded %d open invoices", len(self._invoices))
        return list(self._invoices.values())

    def finder(self) -> ReferenceFinder:
        """The number finder over the current candidates."""
        if self._finder is None:
            self._finder = ReferenceFinder(self.all())
        return self._finder

    def booked(self, invoice_id: int, amount: Decimal, mark_paid: bool) -> None:
        """Account for a payment booked in this batch (the next transfer sees the rest)."""
        if self._invoices is None or invoice_id not in self._invoices:
            return
        invoice = self._invoices[invoice_id]
        rest = invoice.open_amount - amount
        if mark_paid or rest <= 0:
            del self._invoices[invoice_id]
        else:
            self._invoices[invoice_id] = OpenInvoice(**{**invoice.__dict__, "open_amount": rest})
        self._finder = None


class KnownPayers:
    """Payer facts for rule 4: IBANs remembered in the workflow table, clients from Billomat."""

    def __init__(self, store: WorkflowStore, billomat: BillomatClient) -> None:
        self._store = store
        self._billomat = billomat
        self._clients: dict[int, ClientFacts | None] = {}

    def clients_for_iban(self, iban: str) -> frozenset[int]:
        item = self._store.get(f"payer#{iban}", "clients") or {}
        return frozenset(int(client_id) for client_id in item.get("client_ids", []))

    def client(self, client_id: int) -> ClientFacts | None:
        if client_id not in self._clients:
            try:
                found = self._billomat.get_client(client_id)
            except BillomatNotFoundError:
                self._clients[client_id] = None
            else:
                self._clients[client_id] = ClientFacts(
                    id=found.id,
                    name=found.name,
                    first_name=found.first_name,
                    last_name=found.last_name,
                    bank_iban=found.bank_iban,
                )
        return self._clients[client_id]

    def remember(self, iban: str, client_id: int) -> None:
        """Note that ``iban`` paid for ``client_id`` (after a booking by invoice number)."""
        known = self.clients_for_iban(iban)
        if client_id in known:
            return
        self._store.put(f"payer#{iban}", "clients", {"client_ids": sorted(known | {client_id})})
        log.info("remembered payer IBAN for client %s", client_id)


# -------------------------------------------------------------------------------------------
# The workflow
# -------------------------------------------------------------------------------------------


def _plan(decision: Decision) -> Plan:
    """The decision as stored in the checkpoint."""
    return Plan(
        rule=decision.rule.value,
        bookings=[
            PlannedBooking(
                invoice_id=booking.invoice_id,
                invoice_number=booking.invoice_number,
                amount=booking.amount,
                mark_paid=booking.mark_paid,
            )
            for booking in decision.bookings
        ],
        reason=decision.reason.value if decision.reason else None,
        message=decision.message,
        candidates=[_candidate(invoice) for invoice in decision.candidates],
    )


def _candidate(invoice: OpenInvoice) -> dict[str, Any]:
    return {
        "invoice_id": invoice.id,
        "invoice_number": invoice.number,
        "open_amount": str(invoice.open_amount),
        "currency": invoice.currency,
        "client_id": invoice.client_id,
    }


def _summary(transaction: BankTransaction) -> dict[str, Any]:
    """The transfer as a person reads it on the review list."""
    return {
        "source": transaction.source,
        "transaction_id": transaction.transaction_id,
        "booking_date": transaction.booking_date.isoformat(),
        "amount": str(transaction.amount),
        "currency": transaction.currency,
        "direction": transaction.direction.value,
        "payer": transaction.counterparty.name,
        "payer_iban": transaction.counterparty.iban,
        "remittance_information": transaction.remittance_information,
        "end_to_end_id": transaction.end_to_end_id,
        "creditor_reference": transaction.creditor_reference,
        "bank_reference": transaction.bank_reference,
    }


@dataclass
class BankPaymentBooking:
    """Runs the workflow for the transactions of one batch (or one import)."""

    billomat: BillomatClient
    store: WorkflowStore
    notifier: AccountingNotifier
    payer_rule: PayerRule = PayerRule.IBAN_OR_NAME
    candidates: CandidateInvoices = field(init=False)
    payers: KnownPayers = field(init=False)
    review_keys: list[str] = field(default_factory=list)
    """Review items of this batch; accounting hears about them in :meth:`notify_reviews`."""

    def __post_init__(self) -> None:
        self.candidates = CandidateInvoices(self.billomat)
        self.payers = KnownPayers(self.store, self.billomat)

    def _checkpoint(self, transaction: BankTransaction) -> CheckpointRecord[TransactionCheckpoint]:
        return CheckpointRecord(
            self.store, TransactionCheckpoint, checkpoint_key(transaction), STATE
        )

    def _save(self, transaction: BankTransaction, **changes: Any) -> TransactionCheckpoint:
        return self._checkpoint(transaction).save(**changes)

    def run(self, transaction: BankTransaction) -> TransactionOutcome:
        """Book ``transaction`` or put it on review (idempotent: safe to call again any time)."""
        state = self._checkpoint(transaction).load()
        if state.status in FINAL_STATUSES:
            return self._outcome(transaction, state)
        if not transaction.is_booked_credit:
            reason = f"{transaction.direction.value} {transaction.status.value}"
            state = self._save(transaction, status="ignored", reason=reason)
            return self._outcome(transaction, state)
        first = self._claim_transfer(transaction)
        if first is not None:
            key, owner = first
            log.info(
                "%s is the same transfer as %s (transfer key %s): nothing booked",
                transaction.reference,
                owner,
                key,
            )
            state = self._save(
                transaction,
                status="duplicate",
                reason="same_transfer",
                duplicate_of=owner,
                transfer_key=key,
                bank_transaction=transaction.as_message(),
            )
            return self._outcome(transaction, state)

        plan = state.plan
        if plan is None:
            decision = decide(
                transaction,
                self.candidates.all(),
                self.payers,
                self.payer_rule,
                finder=self.candidates.finder(),
            )
            plan = _plan(decision)
            log.info("decided %s: %s", transaction.reference, decision.rule.value)
            state = self._save(
                transaction,
                plan=plan,
                bank_transaction=transaction.as_message(),
                decided_at=int(time.time()),
            )
        if plan.rule == Rule.REVIEW.value:
            return self._review(transaction, plan.reason or "", plan.message or "", plan.candidates)

        payments: list[dict[str, Any]] = []
        for booking in plan.bookings:
            try:
                payments.append(self._book(transaction, booking))
            except PaymentRefused as refused:
                return self._review(
                    transaction, PAYMENT_REFUSED, str(refused), plan.candidates, payments
                )
        if plan.rule != Rule.PAYER_AMOUNT.value:
            self._remember_payer(transaction, plan.candidates)
        state = self._save(transaction, status="booked", payments=payments)
        return self._outcome(transaction, state)

    # -- steps -------------------------------------------------------------------------------
    def _claim_transfer(self, transaction: BankTransaction) -> tuple[str, str] | None:
        """Bind each transfer key to this transaction; ``(key, first arrival)`` when another
        arrival of the same transfer holds one (then this one must book nothing)."""
        for key in transaction.transfer_keys:
            claim = self.store.claim(
                transfer_claim_key(key),
                TRANSFER_CLAIM,
                transaction.reference,
                TRANSFER_CLAIM_NEVER_STALE,
                attributes={
                    "account_iban": transaction.account_iban,
                    "amount": str(transaction.amount),
                    "currency": transaction.currency,
                    "booking_date": transaction.booking_date.isoformat(),
                },
            )
            if claim.acquired:
                continue
            holder = claim.item
            if not may_be_one_transfer(holder.get("account_iban"), transaction.account_iban):
                continue  # another account's transfer with the same reference and amount
            owner = holder.get("owner")
            if not owner:  # cannot happen with conditional writes; never guess who was first
                raise ClaimHeldElsewhere(f"transfer key {key} has no owner yet")
            return key, str(owner)
        return None

    def _book(self, transaction: BankTransaction, booking: PlannedBooking) -> dict[str, Any]:
        payment = book_transfer_payment(self.billomat, self.store, transaction, booking)
        self.candidates.booked(booking.invoice_id, booking.amount, booking.mark_paid)
        return payment

    def _remember_payer(
        self, transaction: BankTransaction, candidates: Sequence[dict[str, Any]]
    ) -> None:
        iban = transaction.counterparty.iban
        clients = {c["client_id"] for c in candidates if c.get("client_id") is not None}
        if iban and len(clients) == 1:
            self.payers.remember(iban, int(clients.pop()))

    def _review(
        self,
        transaction: BankTransaction,
        reason: str,
        message: str,
        candidates: Sequence[dict[str, Any]],
        booked: Sequence[dict[str, Any]] = (),
    ) -> TransactionOutcome:
        key = review_key(transaction)
        if self.store.get(REVIEW_PARTITION, key) is None:
            self.store.put(
                REVIEW_PARTITION,
                key,
                {
                    "reason": reason,
                    "message": message,
                    "transaction": _summary(transaction),
                    "candidates": list(candidates),
                    "booked": list(booked),
                    "created_at": int(time.time()),
                    "notified": False,
                },
            )
        state = self._save(
            transaction, status="review", reason=reason, review_key=key, payments=list(booked)
        )
        log.info("%s needs review: %s", transaction.reference, reason)
        return self._outcome(transaction, state)

    def _outcome(
        self, transaction: BankTransaction, state: TransactionCheckpoint
    ) -> TransactionOutcome:
        payments = tuple(
            {**p, "invoice_id": int(p["invoice_id"]), "payment_id": int(p["payment_id"])}
            for p in state.payments
        )
        return TransactionOutcome(
            transaction=transaction.reference,
            status=str(state.status),
            rule=state.plan.rule if state.plan else None,
            payments=payments,
            reason=state.reason,
            review_key=state.review_key,
            duplicate_of=state.duplicate_of,
        )

    # -- review list -------------------------------------------------------------------------
    def note_outcome(self, outcome: dict[str, Any]) -> None:
        """Remember a review outcome of this batch for the batch's notice."""
        key = outcome.get("review_key")
        if outcome.get("status") == "review" and key and key not in self.review_keys:
            self.review_keys.append(str(key))

    def notify_reviews(self) -> int:
        """One notice to accounting about this batch's new review items; returns how many."""
        pending = []
        for key in self.review_keys:
            item = self.store.get(REVIEW_PARTITION, key)
            if item is not None and not item.get("notified"):
                pending.append(item)
        if pending:
            subject, lines = review_notice(pending)
            self.notifier.notify(subject, lines)
            for item in pending:
                self.store.update(REVIEW_PARTITION, str(item["sk"]), {"notified": True})
        self.review_keys.clear()
        return len(pending)

    def review_list(self) -> list[dict[str, Any]]:
        """Every review item, oldest booking date first."""
        return [
            {"key": item["sk"], **{k: v for k, v in item.items() if k not in {"pk", "sk"}}}
            for item in self.store.query(REVIEW_PARTITION)
        ]


def review_notice(items: Iterable[dict[str, Any]]) -> tuple[str, list[str]]:
    """Subject and lines of the accounting notice about review items (short, German)."""
    entries = list(items)
    if len(entries) == 1:
        tx = entries[0]["transaction"]
        amount = german_amount(Decimal(str(tx["amount"])), tx["currency"])
        subject = f"Zahlungseingang prüfen: {amount} von {tx.get('payer') or 'unbekannt'}"
    else:
        subject = f"{len(entries)} Zahlungseingänge prüfen"
    lines = ["Diese Zahlungseingänge wurden nicht automatisch in Billomat gebucht:", ""]
    for entry in entries:
        lines.extend(_notice_entry(entry))
        lines.append("")
    lines.append("Bitte von Hand zuordnen und in Billomat buchen.")
    return subject, lines


def _notice_entry(entry: dict[str, Any]) -> list[str]:
    tx = entry["transaction"]
    amount = german_amount(Decimal(str(tx["amount"])), tx["currency"])
    day = ".".join(reversed(str(tx["booking_date"]).split("-")))
    payer = tx.get("payer") or "unbekannter Zahler"
    lines = [f"• {day} · {amount} · {payer}"]
    if tx.get("remittance_information"):
        lines.append(f"  Verwendungszweck: {tx['remittance_information']}")
    lines.append(f"  Grund: {entry['message']}")
    candidates = entry.get("candidates") or []
    if candidates:
        listed = ", ".join(
            f"{c['invoice_number']} ({german_amount(Decimal(str(c['open_amount'])), c['currency'])}"
            " offen)"
            for c in candidates[:5]
        )
        lines.append(f"  Infrage kommt: {listed}")
    for payment in entry.get("booked") or []:
        lines.append(
            f"  Bereits gebucht: {payment['invoice_number']} "
            f"{german_amount(Decimal(str(payment['amount'])), tx['currency'])}"
        )
    return lines
