"""A shop refund becomes exactly one Billomat credit note; a cancellation cancels an unpaid invoice.

Refund (checkpoint ``refund#<refund reference>`` / ``credit_note``, every write write-once):

1. **The order's invoice**: the order workflow's checkpoint (``order#<order reference>`` /
   ``invoice``), else Billomat by the order's reference (``customfield``). No completed invoice
   yet → :class:`WaitingForInvoice`, a delayed retry through SQS (like a claim held elsewhere):
   never a credit note without an invoice, never an invoice made here.
2. **The cap**: the invoice's credited sum (``credits#<invoice id>`` / ``ledger``, changed under
   a lock) plus this refund may not exceed the invoice's total; else the refund is held and
   accounting notified.
3. **Positions** (:mod:`.positions`) from the invoice's positions; a rate that cannot be known
   holds the refund.
4. **Create** the credit note (``customfield`` = the refund reference, ``create_once``); its
   total must equal the refund to the cent, else it stays a draft and accounting is told.
   A split amount-only refund is reported to accounting.
5. **Complete**, **e-mail** once (German default text; to the refund's e-mail, else the
   recipient the order workflow kept in its checkpoint, else — an order invoiced before it was
   kept — the Billomat client's), **book the payout** once (marker = the refund reference,
   payment type from the gateway): the credit note is PAID.

Cancellation (checkpoint ``order#<order reference>`` / ``cancellation``): an unpaid, completed
invoice of the order is cancelled (retry-safe action) and accounting notified; a paid or
partly paid one only notified (the money comes back as a refund); never a credit note;
nothing is cancelled twice.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from pydantic import Field

from autopilot.billomat import (
    BillomatClient,
    CreditNoteDraft,
    CreditNoteItemDraft,
    Invoice,
    InvoiceStatus,
    NetGross,
)
from autopilot.checkpoints import Checkpoint, CheckpointRecord
from autopilot.email_once import EmailStep, email_recorded_once
from autopilot.money import ZERO
from autopilot.notifications import AccountingNotifier
from autopilot.payments import CreditNotePaymentToBook, book_credit_note_payment_once
from autopilot.settings import EnvironmentSettings
from autopilot.shop_refunds import ShopCancellation, ShopRefund
from autopilot.workflow_state import ClaimHeldElsewhere, WorkflowStore
from autopilot.write_once import create_once

from .positions import CreditPositions, InvoiceLine, credit_positions, exceeds_invoice, sku_of

log = logging.getLogger("autopilot.refund_credit")

SHOP_NAMES = {"shopify": "Shopify", "woocommerce": "WooCommerce"}
LEDGER_LOCK_SECONDS = 120

DEFAULT_CREDIT_NOTE_EMAIL_SUBJECT = (
    "Ihre Gutschrift [CreditNote.credit_note_number] zur Bestellung {order_number}"
)
DEFAULT_CREDIT_NOTE_EMAIL_BODY = (
    "Guten Tag,\n\n"
    "wir haben Ihnen zu Ihrer Bestellung {order_number} einen Betrag erstattet. Im Anhang finden "
    "Sie die Gutschrift [CreditNote.credit_note_number].\n\n"
    "Mit freundlichen Grüßen"
)


class RefundCreditSettings(EnvironmentSettings):
    """What the refund_credit worker needs besides Billomat itself."""

    workflow_table: str = Field(alias="WORKFLOW_TABLE")
    idempotency_table: str = Field(alias="IDEMPOTENCY_TABLE")
    notifications_topic_arn: str = Field(alias="NOTIFICATIONS_TOPIC_ARN")
    refunds_queue_url: str = Field(alias="REFUNDS_QUEUE_URL")
    email_subject: str = Field(
        default=DEFAULT_CREDIT_NOTE_EMAIL_SUBJECT, alias="CREDIT_NOTE_EMAIL_SUBJECT"
    )
    """Billomat placeholders (``[CreditNote.credit_note_number]``) work; ``{order_number}`` is
    ours."""
    email_body: str = Field(default=DEFAULT_CREDIT_NOTE_EMAIL_BODY, alias="CREDIT_NOTE_EMAIL_BODY")
    accounting_cc: str | None = Field(default=None, alias="ACCOUNTING_CC_EMAIL")
    template_id: int | None = Field(default=None, alias="CREDIT_NOTE_TEMPLATE_ID")


class WaitingForInvoice(ClaimHeldElsewhere):
    """The order's invoice does not exist (or is not completed) yet: retry later, with a delay
    (``autopilot.delayed_retry`` treats it like a claim held elsewhere, up to its horizon)."""


class OrderInvoiceState(Checkpoint):
    """What the refund reads of the order workflow's checkpoint (``order#…`` / ``invoice``)."""

    client_id: int | None = None
    recipient: str | None = None
    """The e-mail the order's invoice went to (``None`` for orders invoiced before it was
    kept)."""
    invoice_id: int | None = None
    total_gross: Decimal | None = None
    completed: bool = False
    vat_note: str | None = None
    """The invoice's VAT note (reverse charge, export, § 19 UStG), repeated on its credit notes."""


class RefundCheckpoint(Checkpoint):
    """``refund#<reference>`` / ``credit_note``: how far the refund's credit note has come."""

    invoice_id: int | None = None
    client_id: int | None = None
    recipient: str | None = None
    """The order's recipient, from the order workflow's checkpoint; else the client's e-mail
    is read from Billomat when the credit note is sent."""
    invoice_total: Decimal | None = None
    vat_note: str | None = None
    reserved: bool = False
    create_started: int | None = None
    credit_note_id: int | None = None
    total_gross: Decimal | None = None
    split_notified: bool = False
    completed: bool = False
    email: EmailStep | None = None
    payment_started: int | None = None
    payment_id: int | None = None
    review: str | None = None


class CreditLedger(Checkpoint):
    """``credits#<invoice id>`` / ``ledger``: the refunds credited on one invoice."""

    refunds: dict[str, Decimal] = Field(default_factory=dict)


class CancellationCheckpoint(Checkpoint):
    """``order#<reference>`` / ``cancellation``."""

    invoice_id: int | None = None
    outcome: str | None = None


@dataclass(frozen=True)
class RefundOutcome:
    reference: str
    status: str
    """credited | held_for_review | nothing_refunded | cancelled | not_cancelled | no_invoice"""
    invoice_id: int | None = None
    credit_note_id: int | None = None
    note: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v is not None}


def order_label(source: str, order_number: str | None, order_id: str) -> str:
    return f"{SHOP_NAMES.get(source, source)}-Bestellung {order_number or order_id}"


class RefundCrediting:
    """Runs the steps for one refund or cancellation against Billomat, the table and SNS."""

    def __init__(
        self,
        billomat: BillomatClient,
        store: WorkflowStore,
        notifier: AccountingNotifier,
        settings: RefundCreditSettings,
    ) -> None:
        self.billomat = billomat
        self.store = store
        self.notifier = notifier
        self.settings = settings

    # -- the order's invoice ------------------------------------------------------------------
    def _order_state(self, order_reference: str) -> OrderInvoiceState:
        return OrderInvoiceState.model_validate(
            self.store.get(f"order#{order_reference}", "invoice") or {}
        )

    def _billomat_invoice(self, order_reference: str) -> Invoice | None:
        """The order's invoice in Billomat (the first that is not cancelled, else the first)."""
        invoices = self.billomat.find_invoices_by_customfield(order_reference)
        live = [i for i in invoices if i.status is not InvoiceStatus.CANCELED]
        chosen = live or invoices
        return chosen[0] if chosen else None

    # -- refund -------------------------------------------------------------------------------
    def refund(self, refund: ShopRefund) -> RefundOutcome:
        """Bring ``refund`` to its end state (idempotent: safe to call again at any point)."""
        checkpoint = CheckpointRecord(
            self.store, RefundCheckpoint, f"refund#{refund.reference}", "credit_note"
        )
        state = checkpoint.load()
        if state.review:
            return self._outcome(refund, state, "held_for_review", state.review)
        if refund.amount == ZERO:
            return self._outcome(refund, state, "nothing_refunded", "the refund amount is 0")

        if state.invoice_id is None:
            state = self._find_invoice(refund, checkpoint)
            if state.review:
                return self._outcome(refund, state, "held_for_review", state.review)
        invoice_id, client_id = state.invoice_id, state.client_id
        assert invoice_id is not None
        assert client_id is not None

        if not state.reserved:
            state = self._reserve(refund, checkpoint, state, invoice_id)
            if state.review:
                return self._outcome(refund, state, "held_for_review", state.review)

        if state.credit_note_id is None:
            state = self._create(refund, checkpoint, state, invoice_id, client_id)
            if state.review:
                return self._outcome(refund, state, "held_for_review", state.review)
        credit_note_id = state.credit_note_id
        assert credit_note_id is not None

        if not state.completed:
            self.billomat.complete_credit_note(credit_note_id, self.settings.template_id)
            state = checkpoint.save(completed=True)

        state = self._email(refund, checkpoint, state, credit_note_id, client_id)

        if state.payment_id is None:
            marker = f"[{refund.reference}]"
            written = book_credit_note_payment_once(
                self.billomat,
                CreditNotePaymentToBook(
                    credit_note_id=credit_note_id,
                    amount=refund.amount,
                    date=refund.refunded_on,
                    type=refund.payment_type,
                    comment=f"Erstattung {self._label(refund)} {marker}",
                    marker=marker,
                ),
                started=state.payment_started is not None,
                mark=lambda started: checkpoint.save(
                    payment_started=int(time.time()) if started else None
                ),
            )
            assert written.value is not None
            state = checkpoint.save(payment_id=written.value.id)
        return self._outcome(refund, state, "credited")

    def _label(self, refund: ShopRefund) -> str:
        return order_label(refund.source, refund.order_number, refund.order_id)

    def _find_invoice(
        self, refund: ShopRefund, checkpoint: CheckpointRecord[RefundCheckpoint]
    ) -> RefundCheckpoint:
        order = self._order_state(refund.order_reference)
        if order.invoice_id is not None and order.total_gross is not None:
            if not order.completed:
                raise WaitingForInvoice(f"the invoice of {refund.order_reference} is not completed")
            assert order.client_id is not None
            return checkpoint.save(
                invoice_id=order.invoice_id,
                client_id=order.client_id,
                recipient=order.recipient,
                invoice_total=order.total_gross,
                vat_note=order.vat_note,
            )
        invoice = self._billomat_invoice(refund.order_reference)
        if invoice is None or invoice.status is InvoiceStatus.DRAFT:
            raise WaitingForInvoice(f"no completed invoice of {refund.order_reference} yet")
        if invoice.status is InvoiceStatus.CANCELED:
            return self._hold(
                refund,
                checkpoint,
                "invoice_cancelled",
                f"die Rechnung (Billomat-ID {invoice.id}) ist storniert",
            )
        assert invoice.client_id is not None
        return checkpoint.save(
            invoice_id=invoice.id, client_id=invoice.client_id, invoice_total=invoice.total_gross
        )

    def _reserve(
        self,
        refund: ShopRefund,
        checkpoint: CheckpointRecord[RefundCheckpoint],
        state: RefundCheckpoint,
        invoice_id: int,
    ) -> RefundCheckpoint:
        """Count the refund on the invoice's ledger unless that would exceed the invoice."""
        assert state.invoice_total is not None
        ledger = CheckpointRecord(self.store, CreditLedger, f"credits#{invoice_id}", "ledger")
        with self.store.exclusive(f"credits#{invoice_id}", refund.reference, LEDGER_LOCK_SECONDS):
            credited = ledger.load().refunds
            if refund.reference not in credited:
                before = sum(credited.values(), ZERO)
                if exceeds_invoice(state.invoice_total, before, refund.amount):
                    return self._hold(
                        refund,
                        checkpoint,
                        "exceeds_invoice",
                        f"die Erstattung von {refund.amount} {refund.currency} überstiege mit den "
                        f"bisherigen Gutschriften ({before} {refund.currency}) den Rechnungsbetrag "
                        f"{state.invoice_total} {refund.currency}",
                    )
                ledger.save(refunds={**credited, refund.reference: refund.amount})
        return checkpoint.save(reserved=True)

    def _create(
        self,
        refund: ShopRefund,
        checkpoint: CheckpointRecord[RefundCheckpoint],
        state: RefundCheckpoint,
        invoice_id: int,
        client_id: int,
    ) -> RefundCheckpoint:
        planned = self._positions(refund, invoice_id)
        if planned.problem:
            return self._hold(refund, checkpoint, "positions", planned.problem)
        credit_note = create_once(
            checkpoint,
            "create_started",
            state.create_started,
            create=lambda: self.billomat.create_credit_note(
                CreditNoteDraft(
                    client_id=client_id,
                    invoice_id=invoice_id,
                    date=refund.refunded_on,
                    label=f"Gutschrift zu {self._label(refund)}",
                    currency_code=refund.currency,
                    net_gross=NetGross.GROSS,
                    template_id=self.settings.template_id,
                    note=state.vat_note,
                    customfield=refund.reference,
                    items=[
                        CreditNoteItemDraft(
                            title=p.title,
                            quantity=p.quantity,
                            unit_price=p.unit_price,
                            tax_rate=p.tax_rate,
                        )
                        for p in planned.positions
                    ],
                )
            ),
            find=lambda: self.billomat.find_credit_notes_by_customfield(refund.reference),
            what=f"credit note of {refund.reference}",
        )
        state = checkpoint.save(credit_note_id=credit_note.id, total_gross=credit_note.total_gross)
        if planned.split and not state.split_notified:
            self.notifier.notify(
                f"Erstattung ohne Positionen aufgeteilt: {self._label(refund)}",
                [
                    f"Die Erstattung von {refund.amount} {refund.currency} nennt keine Positionen.",
                    "Sie wurde anteilig nach dem Bruttobetrag je Steuersatz der Rechnung auf "
                    "die Steuersätze verteilt (Gutschrift Billomat-ID "
                    f"{credit_note.id}): "
                    + ", ".join(f"{p.tax_rate} %: {p.unit_price}" for p in planned.positions),
                ],
                {"refund": refund.reference},
            )
            state = checkpoint.save(split_notified=True)
        if credit_note.total_gross != refund.amount:
            return self._hold(
                refund,
                checkpoint,
                "total_mismatch",
                f"die Gutschrift (Entwurf, Billomat-ID {credit_note.id}) ergibt "
                f"{credit_note.total_gross} {refund.currency}, erstattet wurden {refund.amount} "
                f"{refund.currency}; der Entwurf wurde nicht abgeschlossen",
            )
        return state

    def _positions(self, refund: ShopRefund, invoice_id: int) -> CreditPositions:
        invoice = [
            InvoiceLine(
                title=item.title or "",
                sku=sku_of(item.description),
                tax_rate=item.tax_rate if item.tax_rate is not None else ZERO,
                gross=item.total_gross,
            )
            for item in self.billomat.list_invoice_items(invoice_id)
        ]
        return credit_positions(
            refund, invoice, f"Bestellung {refund.order_number or refund.order_id}"
        )

    def _email(
        self,
        refund: ShopRefund,
        checkpoint: CheckpointRecord[RefundCheckpoint],
        state: RefundCheckpoint,
        credit_note_id: int,
        client_id: int,
    ) -> RefundCheckpoint:
        if state.email not in (None, EmailStep.SENDING):
            return state
        # The refund's own e-mail, else the order's (kept by the order workflow); Billomat's
        # client only for an order invoiced before that was kept, or found in Billomat.
        recipient = refund.email or state.recipient or self.billomat.get_client(client_id).email
        number = refund.order_number or refund.order_id

        def send(to: str) -> None:
            self.billomat.email_credit_note(
                credit_note_id,
                to=[to],
                cc=[self.settings.accounting_cc] if self.settings.accounting_cc else None,
                subject=self.settings.email_subject.replace("{order_number}", number),
                body=self.settings.email_body.replace("{order_number}", number),
            )

        def report(step: EmailStep) -> None:
            self.notifier.notify(
                f"Bitte prüfen: Gutschrift-E-Mail zu {self._label(refund)}",
                [
                    f"Die Gutschrift (Billomat-ID {credit_note_id}) wurde nicht per E-Mail "
                    + (
                        "versandt: keine E-Mail-Adresse bekannt."
                        if step is EmailStep.NO_RECIPIENT
                        else "erneut versandt: ob der abgebrochene Versuch sie sandte, "
                        "ist unbekannt."
                    ),
                    "Bitte in Billomat prüfen.",
                ],
            )

        return email_recorded_once(checkpoint, state, "email", recipient, send, report)

    def _hold(
        self,
        refund: ShopRefund,
        checkpoint: CheckpointRecord[RefundCheckpoint],
        review: str,
        reason: str,
    ) -> RefundCheckpoint:
        log.error("refund %s held: %s", refund.reference, reason)
        self.notifier.notify(
            f"Gutschrift nicht erstellt/versendet: {self._label(refund)}",
            [
                f"Die Erstattung {refund.refund_id} ({refund.amount} {refund.currency}) wurde "
                "nicht als Gutschrift abgeschlossen:",
                reason,
                "Bitte in Billomat prüfen.",
            ],
            {"refund": refund.reference, "review": review},
        )
        return checkpoint.save(review=review)

    def _outcome(
        self, refund: ShopRefund, state: RefundCheckpoint, status: str, note: str | None = None
    ) -> RefundOutcome:
        return RefundOutcome(
            reference=refund.reference,
            status=status,
            invoice_id=state.invoice_id,
            credit_note_id=state.credit_note_id,
            note=note,
        )

    # -- cancellation -------------------------------------------------------------------------
    def cancel(self, cancellation: ShopCancellation) -> RefundOutcome:
        """Cancel the order's unpaid, completed invoice (once); otherwise only notify."""
        reference = cancellation.order_reference
        checkpoint = CheckpointRecord(
            self.store, CancellationCheckpoint, f"order#{reference}", "cancellation"
        )
        state = checkpoint.load()
        if state.outcome is not None:
            return RefundOutcome(cancellation.reference, state.outcome, state.invoice_id)
        label = order_label(cancellation.source, cancellation.order_number, cancellation.order_id)
        order = self._order_state(reference)
        if order.invoice_id is not None and not order.completed:
            raise WaitingForInvoice(f"the invoice of {reference} is being made")
        invoice = (
            self.billomat.get_invoice(order.invoice_id)
            if order.invoice_id is not None
            else self._billomat_invoice(reference)
        )
        if invoice is None:
            return self._cancelled(checkpoint, cancellation, "no_invoice", None)
        if invoice.status is InvoiceStatus.CANCELED:
            return self._cancelled(checkpoint, cancellation, "cancelled", invoice.id)
        number = invoice.invoice_number or f"Billomat-ID {invoice.id}"
        if invoice.status in (InvoiceStatus.OPEN, InvoiceStatus.OVERDUE) and (
            invoice.paid_amount == ZERO
        ):
            self.billomat.cancel_invoice(invoice.id)  # retry-safe: checks whether it was reached
            self.notifier.notify(
                f"Rechnung storniert: {label}",
                [
                    f"Die Bestellung wurde im Shop storniert; die unbezahlte Rechnung {number} "
                    "wurde in Billomat storniert."
                ],
                {"order": reference},
            )
            return self._cancelled(checkpoint, cancellation, "cancelled", invoice.id)
        why = (
            "ein Entwurf"
            if invoice.status is InvoiceStatus.DRAFT
            else f"bereits (teilweise) bezahlt ({invoice.paid_amount})"
        )
        self.notifier.notify(
            f"Stornierte Bestellung, Rechnung nicht storniert: {label}",
            [
                f"Die Bestellung wurde im Shop storniert; die Rechnung {number} ist {why} und "
                "wurde nicht storniert.",
                "Zurückgezahltes Geld kommt als Erstattung (Gutschrift); bitte prüfen.",
            ],
            {"order": reference},
        )
        return self._cancelled(checkpoint, cancellation, "not_cancelled", invoice.id)

    def _cancelled(
        self,
        checkpoint: CheckpointRecord[CancellationCheckpoint],
        cancellation: ShopCancellation,
        outcome: str,
        invoice_id: int | None,
    ) -> RefundOutcome:
        checkpoint.save(outcome=outcome, invoice_id=invoice_id)
        return RefundOutcome(cancellation.reference, outcome, invoice_id)
