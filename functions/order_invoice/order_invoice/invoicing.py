"""A shop order becomes exactly one Billomat invoice: created, completed, e-mailed, paid.

Every step is checkpointed in the workflow table (`order#<reference>` / `invoice`, the typed
:class:`InvoiceCheckpoint`; writes go through :mod:`autopilot.write_once`) before
and after it talks to Billomat, so a redelivered message, a retried batch or a Lambda that
died between two steps continues where the last attempt stopped:

- VAT (:mod:`.vat`, issue #12): the order's VAT decision is made first (pure); a new client
  gets the buyer's VAT number and the decision's tax rule, and for a reverse charge an
  existing client gets the VAT number it lacks (one ``PUT``, remembered per client);
- create: a "create started" mark is written first; a later attempt that finds the mark
  without an invoice id looks the invoice up by our reference (``customfield``) before
  creating, so a create whose response was lost cannot bill twice;
- review: an order whose VAT does not add up (``vat_hold``) or whose invoice's ``total_gross``
  differs from the order total (``total_mismatch``) stays a draft, nothing is sent or booked,
  and accounting is told why; both are checked before every completion, from the checkpoint;
- note: a reverse charge, export or § 19 invoice gets the decision's note appended to the
  draft's own note (``note_added``; a retry sees the note already there);
- complete: a retry-safe action;
- e-mail: marked "sending" before the request; if an attempt dies with the outcome unknown
  (Billomat may have sent it), the e-mail is not sent again — accounting is asked to check,
  because a second e-mail to a customer is worse than a missing one;
- payment (paid orders): marked before booking; an uncertain booking is looked up among the
  invoice's payments (our reference in the comment) before booking again.

A Billomat error that certainly changed nothing (rate limit, connection refused) clears the
step's mark, so the retry simply does the step.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from autopilot.article_index import article_ids, create_linked
from autopilot.billomat import (
    BillomatClient,
    ClientDraft,
    Invoice,
    InvoiceChanges,
    InvoiceDraft,
    InvoiceItemDraft,
    NetGross,
)
from autopilot.checkpoints import Checkpoint, CheckpointRecord
from autopilot.client_matching import Buyer, find_or_create_client
from autopilot.email_once import EmailStep, email_recorded_once
from autopilot.money import ZERO
from autopilot.notifications import AccountingNotifier
from autopilot.payments import PaymentToBook, book_payment_once
from autopilot.settings import OrderInvoiceSettings
from autopilot.shop_orders import ShopOrder
from autopilot.vat_rules import VatCase, VatDecision
from autopilot.workflow_state import WorkflowStore
from autopilot.write_once import create_once

from .pricing import PricedInvoice, invoice_positions
from .vat import note_with, vat_context, vat_decision

log = logging.getLogger("autopilot.order_invoice")

CHECKPOINT_SORT_KEY = "invoice"
CLIENT_VAT_SORT_KEY = "vat-number"
"""``billomat-client#<id>`` / ``vat-number``: the VAT number we last made that client carry."""
SHOP_NAMES = {"shopify": "Shopify", "woocommerce": "WooCommerce"}


@dataclass(frozen=True)
class OrderOutcome:
    """What the workflow did for one order (small: it is the idempotency record's result)."""

    reference: str
    status: str
    """invoiced | invoiced_and_paid | held_for_review"""
    invoice_id: int | None = None
    invoice_number: str | None = None
    note: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v is not None}


def buyer_of(order: ShopOrder, decision: VatDecision) -> Buyer:
    """The order's buyer with the Billomat client to create if they are new: with the buyer's
    well-formed VAT ID (normalised) and the tax rule of the order's VAT decision."""
    customer = order.customer
    person = " ".join(p for p in (customer.first_name, customer.last_name) if p) or None
    street = ", ".join(p for p in (customer.street, customer.street2) if p) or None
    draft = ClientDraft(
        name=customer.company or person or customer.email or f"{order.source} customer",
        first_name=customer.first_name,
        last_name=customer.last_name,
        street=street,
        zip=customer.zip,
        city=customer.city,
        country_code=customer.country_code,
        email=customer.email,
        phone=customer.phone,
        vat_number=decision.vat_number_for_client,
        tax_rule=decision.tax_rule,
        customfield=order.customer_reference,
    )
    return Buyer(reference=order.customer_reference, email=customer.email, draft=draft)


def invoice_label(order: ShopOrder) -> str:
    """The label printed on the invoice: which shop order it bills."""
    return f"{SHOP_NAMES.get(order.source, order.source)}-Bestellung {order.order_number}"


def invoice_draft(
    order: ShopOrder,
    client_id: int,
    priced: PricedInvoice,
    template_id: int | None,
    articles: Mapping[str, int] | None = None,
) -> InvoiceDraft:
    """The Billomat invoice for ``order`` (DRAFT, with our reference in ``customfield``).

    ``articles`` (SKU → article id, :func:`autopilot.article_index.article_ids`) links a
    position to its synced article; the position keeps the order's own title, price and tax.
    """
    articles = articles or {}
    return InvoiceDraft(
        client_id=client_id,
        date=order.ordered_on,
        supply_date=order.ordered_on,
        label=invoice_label(order),
        currency_code=order.currency,
        net_gross=NetGross(priced.net_gross),
        template_id=template_id,
        customfield=order.reference,
        items=[
            InvoiceItemDraft(
                title=position.title,
                quantity=position.quantity,
                unit_price=position.unit_price,
                tax_rate=position.tax_rate,
                description=f"Artikel-Nr. {position.sku}" if position.sku else None,
                article_id=articles.get(position.sku) if position.sku else None,
            )
            for position in priced.positions
        ],
    )


class InvoiceCheckpoint(Checkpoint):
    """``order#<reference>`` / ``invoice``: how far the order's invoice has come."""

    client_id: int | None = None
    recipient: str | None = None
    """The buyer's e-mail the invoice goes to, saved with ``client_id`` (the refund worker
    sends the credit note there); ``None`` for orders invoiced before it was kept."""
    create_started: int | None = None
    """The invoice create was sent at this epoch second and its answer not yet recorded."""
    invoice_id: int | None = None
    total_gross: Decimal | None = None
    completed: bool = False
    email: EmailStep | None = None
    payment_started: int | None = None
    payment_id: int | None = None
    review: str | None = None
    """Why the order waits for a person (``vat_hold``, ``total_mismatch``); nothing more is
    done then."""
    note_added: bool = False
    """The VAT decision's note is on the draft."""
    vat_note: str | None = None
    """That note (reverse charge, export, § 19): the order's credit notes carry it too."""


class OrderInvoicing:
    """Runs the steps for one order against Billomat, the workflow table and SNS."""

    def __init__(
        self,
        billomat: BillomatClient,
        store: WorkflowStore,
        notifier: AccountingNotifier,
        settings: OrderInvoiceSettings,
    ) -> None:
        self.billomat = billomat
        self.store = store
        self.notifier = notifier
        self.settings = settings

    def checkpoint(self, order: ShopOrder) -> CheckpointRecord[InvoiceCheckpoint]:
        """The order's checkpoint in the workflow table."""
        return CheckpointRecord(
            self.store, InvoiceCheckpoint, f"order#{order.reference}", CHECKPOINT_SORT_KEY
        )

    def run(self, order: ShopOrder) -> OrderOutcome:
        """Bring ``order`` to its end state (idempotent: safe to call again at any point)."""
        checkpoint = self.checkpoint(order)
        state = checkpoint.load()
        priced = invoice_positions(order)
        decision = vat_decision(order, priced, vat_context(self.settings))
        if state.review:
            return self._held(order, state, decision)

        if state.client_id is None:
            client_id = find_or_create_client(
                self.billomat, self.store, buyer_of(order, decision), owner=order.reference
            )
            # The recipient rides along (same write): a refund's credit note goes to it
            # without asking Billomat for the client's e-mail.
            state = checkpoint.save(client_id=client_id, recipient=order.customer.email)

        created: Invoice | None = None
        if state.invoice_id is None:
            if decision.case is VatCase.REVERSE_CHARGE:
                self._give_client_vat_number(state, decision)
            state, created = self._create_invoice(order, checkpoint, state, priced)

        invoice_id = state.invoice_id
        assert invoice_id is not None
        if not state.completed:
            state = self._review_if_needed(order, checkpoint, state, priced, decision)
            if state.review:
                return self._held(order, state, decision)
            if decision.note and not state.note_added:
                self._add_note(invoice_id, decision.note, created)
                state = checkpoint.save(note_added=True, vat_note=decision.note)
            # A state change the client makes retry-safe (it checks whether it was reached).
            self.billomat.complete_invoice(invoice_id, self.settings.invoice_template_id)
            state = checkpoint.save(completed=True)

        state = self._email_invoice(order, checkpoint, state, invoice_id)

        if order.is_paid and order.total == ZERO:
            # A 100 % discount: there is no money to book (Billomat refuses a 0 payment).
            return self._outcome(order, state, "invoiced", "nothing to pay: the total is 0")
        if order.is_paid and state.payment_id is None:
            state = self._book_payment(order, checkpoint, state, invoice_id)

        status = "invoiced_and_paid" if state.payment_id is not None else "invoiced"
        return self._outcome(order, state, status)

    # -- steps -------------------------------------------------------------------------------
    def _give_client_vat_number(self, state: InvoiceCheckpoint, decision: VatDecision) -> None:
        """A reverse charge client must carry the buyer's VAT ID (the invoice's address, the
        recapitulative statement). A client found by our record or e-mail may lack it (an
        earlier order without one, a client made by hand): it is set with one ``PUT``, at most
        once per client and VAT number (remembered in the workflow table; a new client pays
        that ``PUT`` too, because the look-up does not tell found from created)."""
        vat_number = decision.vat_number_for_client
        client_id = state.client_id
        if vat_number is None or client_id is None:
            return
        memo_key = f"billomat-client#{client_id}"
        memo = self.store.get(memo_key, CLIENT_VAT_SORT_KEY)
        if memo is not None and memo.get("vat_number") == vat_number:
            return
        self.billomat.update_client(client_id, ClientDraft(vat_number=vat_number))
        self.store.update(memo_key, CLIENT_VAT_SORT_KEY, {"vat_number": vat_number})
        log.info("client %s now carries VAT number %s", client_id, vat_number)

    def _create_invoice(
        self,
        order: ShopOrder,
        checkpoint: CheckpointRecord[InvoiceCheckpoint],
        state: InvoiceCheckpoint,
        priced: PricedInvoice,
    ) -> tuple[InvoiceCheckpoint, Invoice]:
        client_id = state.client_id
        assert client_id is not None

        articles = article_ids(self.store, (p.sku for p in priced.positions if p.kind == "item"))
        invoice = create_once(
            checkpoint,
            "create_started",
            state.create_started,
            create=lambda: create_linked(
                lambda link: self.billomat.create_invoice(
                    invoice_draft(
                        order,
                        client_id,
                        priced,
                        self.settings.invoice_template_id,
                        articles if link else None,
                    )
                ),
                bool(articles),
            ),
            find=lambda: self.billomat.find_invoices_by_customfield(order.reference),
            what=f"invoice of {order.reference}",
        )
        return checkpoint.save(invoice_id=invoice.id, total_gross=invoice.total_gross), invoice

    def _review_if_needed(
        self,
        order: ShopOrder,
        checkpoint: CheckpointRecord[InvoiceCheckpoint],
        state: InvoiceCheckpoint,
        priced: PricedInvoice,
        decision: VatDecision,
    ) -> InvoiceCheckpoint:
        """Hold the draft for accounting when the VAT does not add up or Billomat's total
        differs from the order's; else ``state`` unchanged. The VAT reason comes first."""
        invoice_id = state.invoice_id
        details = {"order": order.reference, "expected": str(priced.expected_total_gross)}
        if decision.hold:
            log.error("VAT hold for %s: %s", order.reference, decision.hold_reason)
            self.notifier.notify(
                f"Rechnung nicht versendet (Umsatzsteuer): {invoice_label(order)}",
                [
                    f"Die Rechnung (Entwurf, Billomat-ID {invoice_id}) für {invoice_label(order)} "
                    "wurde nicht abgeschlossen und nicht versendet, weil die Umsatzsteuer der "
                    "Bestellung nicht zum Verkauf passt:",
                    decision.hold_reason or "",
                    "Bitte die Bestellung prüfen, den Entwurf in Billomat berichtigen "
                    "(Steuersätze, Hinweis, USt-IdNr.) und selbst abschließen und versenden.",
                ],
                {
                    **details,
                    "vat_id": order.customer.vat_id,
                    "country": order.customer.country_code,
                },
            )
            return checkpoint.save(review="vat_hold")
        if state.total_gross is not None and state.total_gross != order.total:
            reason = (
                f"Billomat total {state.total_gross} {order.currency} differs from the order "
                f"total {order.total} {order.currency}; the invoice was left as a draft"
            )
            log.error("total mismatch for %s: %s", order.reference, reason)
            self.notifier.notify(
                f"Rechnung nicht versendet: {invoice_label(order)}",
                [
                    f"Die Rechnung (Entwurf, Billomat-ID {invoice_id}) für {invoice_label(order)} "
                    "wurde nicht abgeschlossen und nicht versendet:",
                    reason,
                    "Bitte den Entwurf in Billomat prüfen.",
                ],
                details,
            )
            return checkpoint.save(review="total_mismatch")
        return state

    def _add_note(self, invoice_id: int, vat_note: str, created: Invoice | None) -> None:
        """Append the VAT note to the draft's note (Billomat's default closing text, if any).

        ``created`` is the draft as this attempt created it; a later attempt reads the draft,
        which also shows whether an earlier one already wrote the note (then nothing is).
        """
        draft = created if created is not None else self.billomat.get_invoice(invoice_id)
        current = draft.note
        wanted = note_with(current, vat_note)
        if wanted != (current or "").rstrip():
            self.billomat.update_invoice(invoice_id, InvoiceChanges(note=wanted))

    def _email_invoice(
        self,
        order: ShopOrder,
        checkpoint: CheckpointRecord[InvoiceCheckpoint],
        state: InvoiceCheckpoint,
        invoice_id: int,
    ) -> InvoiceCheckpoint:
        recipient = order.customer.email

        def send(to: str) -> None:
            self.billomat.email_invoice(
                invoice_id,
                to=[to],
                cc=[self.settings.accounting_cc] if self.settings.accounting_cc else None,
                subject=self.settings.email_subject.replace("{order_number}", order.order_number),
                body=self.settings.email_body.replace("{order_number}", order.order_number),
            )

        def report(step: EmailStep) -> None:
            if step is EmailStep.UNKNOWN:
                self.notifier.notify(
                    f"Bitte prüfen: Rechnungs-E-Mail zu {invoice_label(order)}",
                    [
                        f"Beim Versand der Rechnung (Billomat-ID {invoice_id}) an {recipient} ist "
                        "der Versuch abgebrochen; ob die E-Mail rausging, ist unbekannt.",
                        "Sie wurde nicht erneut gesendet. Bitte in Billomat prüfen.",
                    ],
                )
            else:
                self.notifier.notify(
                    f"Rechnung ohne E-Mail-Adresse: {invoice_label(order)}",
                    [
                        "Die Bestellung hat keine E-Mail-Adresse; "
                        f"Rechnung {invoice_id} bitte selbst senden."
                    ],
                )

        return email_recorded_once(checkpoint, state, "email", recipient, send, report)

    def _book_payment(
        self,
        order: ShopOrder,
        checkpoint: CheckpointRecord[InvoiceCheckpoint],
        state: InvoiceCheckpoint,
        invoice_id: int,
    ) -> InvoiceCheckpoint:
        comment = f"{invoice_label(order)} ({order.reference})"
        written = book_payment_once(
            self.billomat,
            PaymentToBook(
                invoice_id=invoice_id,
                amount=order.total,
                date=order.paid_on or order.ordered_on,
                type=order.payment_type,
                comment=comment,
                marker=comment,
            ),
            started=state.payment_started is not None,
            mark=lambda started: checkpoint.save(
                payment_started=int(time.time()) if started else None
            ),
        )
        assert written.value is not None
        return checkpoint.save(payment_id=written.value.id)

    def _held(
        self, order: ShopOrder, state: InvoiceCheckpoint, decision: VatDecision
    ) -> OrderOutcome:
        note = state.review
        if state.review == "vat_hold" and decision.hold_reason:
            note = f"vat_hold: {decision.hold_reason}"
        return self._outcome(order, state, "held_for_review", note)

    def _outcome(
        self, order: ShopOrder, state: InvoiceCheckpoint, status: str, note: str | None = None
    ) -> OrderOutcome:
        return OrderOutcome(
            reference=order.reference, status=status, invoice_id=state.invoice_id, note=note
        )
