"""A HubSpot deal becomes one Billomat offer and, once won, one invoice: exactly once per deal.

The deal's *current* state decides, read from the CRM for every message (HubSpot's events come
late and out of order; the event only names the deal). Its stage means (``stages.py``):

- **quote**: find or create the client, create the offer from the line items, complete it,
  e-mail it to the deal's primary contact, write the offer number back to the deal;
- **won**: the deal's offer (created and completed now if the deal skipped the quote stage) is
  marked won; the invoice is created from it (``offer_id``, the offer's positions and client),
  completed and e-mailed; the offer is marked cleared; numbers and a link are written back;
- **lost**: the open offer is marked lost, no invoice;
- **open**: nothing.

Exactly once: every step is checkpointed in the workflow table (``deal#<reference>`` /
``deal``, :class:`DealCheckpoint`); the offer and the invoice carry our reference
``hubspot:<portal>:deal:<id>`` in ``customfield`` and are created through the write-once
step, so a lost Billomat response is found instead of repeated; the e-mails go through
:mod:`autopilot.email_once`. A short per-deal lock (``deal#<reference>`` / ``lock``) makes
concurrent messages about one deal take turns: the second is delayed, not run in parallel.
A deal won, reopened and won again finds its invoice in the checkpoint and bills nothing more.

HubSpot is asked only for what the next step needs: the deal always, line items when the
offer is created, company and contact while the client is not known (the contact's e-mail is
kept in the checkpoint for the e-mails). The pipelines are cached (``PipelineCache``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from autopilot.article_index import article_ids, create_linked
from autopilot.billomat import (
    BillomatClient,
    Invoice,
    InvoiceDraft,
    InvoiceItemDraft,
    NetGross,
    Offer,
    OfferDraft,
    OfferItemDraft,
)
from autopilot.business_time import berlin_today
from autopilot.checkpoints import Checkpoint, CheckpointRecord
from autopilot.client_matching import find_or_create_client
from autopilot.email_once import EmailStep, email_recorded_once
from autopilot.hubspot import Company, Contact, Deal, HubSpotClient, HubSpotNotFound
from autopilot.notifications import AccountingNotifier
from autopilot.settings import DealInvoiceSettings
from autopilot.workflow_state import WorkflowStore
from autopilot.write_once import create_once

from .buyers import deal_buyer
from .positions import DealNotQuotable, DealPosition, DealPrices, PricedDeal, deal_positions
from .stages import PipelineCache, StageMeaning, stage_meaning

if TYPE_CHECKING:
    from autopilot.messages import DealMessage

log = logging.getLogger("autopilot.deal_invoice")

CHECKPOINT_SORT_KEY = "deal"
LOCK_STALE_AFTER_SECONDS = 300
"""Longer than one run of the worker (its timeout); a lock of a crashed run is taken over."""


@dataclass(frozen=True)
class DealOutcome:
    """What the workflow did for one deal message (small: the idempotency record's result)."""

    reference: str
    status: str
    """quoted | invoiced | lost | ignored | held_for_review"""
    stage: str | None = None
    offer_id: int | None = None
    offer_number: str | None = None
    invoice_id: int | None = None
    invoice_number: str | None = None
    note: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v is not None}


class DealCheckpoint(Checkpoint):
    """``deal#<reference>`` / ``deal``: how far the deal's offer and invoice have come."""

    client_id: int | None = None
    recipient: str | None = None
    """The primary contact's e-mail address, read with the client (empty: none)."""
    offer_create_started: int | None = None
    offer_id: int | None = None
    offer_total: Decimal | None = None
    offer_completed: bool = False
    offer_number: str | None = None
    offer_email: EmailStep | None = None
    offer_won: bool = False
    offer_lost: bool = False
    invoice_create_started: int | None = None
    invoice_id: int | None = None
    invoice_completed: bool = False
    invoice_number: str | None = None
    invoice_link: str | None = None
    invoice_email: EmailStep | None = None
    offer_cleared: bool = False
    written_back: dict[str, str] | None = None
    """The deal properties written last (not written again while unchanged)."""
    review: str | None = None
    """Why the deal waits for a person; nothing more is done for it then."""
    lost_after_invoice_noticed: bool = False


@dataclass
class DealContext:
    """One message's deal and its positions once they were read (read at most once)."""

    message: DealMessage
    deal: Deal
    priced: PricedDeal | None = None

    @property
    def reference(self) -> str:
        return self.message.correlation_id

    @property
    def name(self) -> str:
        return self.deal.name or f"Deal {self.deal.id}"


class DealQuoting:
    """Runs the steps for one deal against HubSpot, Billomat, the workflow table and SNS."""

    def __init__(
        self,
        billomat: BillomatClient,
        hubspot: HubSpotClient,
        pipelines: PipelineCache,
        store: WorkflowStore,
        notifier: AccountingNotifier,
        settings: DealInvoiceSettings,
    ) -> None:
        self.billomat = billomat
        self.hubspot = hubspot
        self.pipelines = pipelines
        self.store = store
        self.notifier = notifier
        self.settings = settings

    def checkpoint(self, reference: str) -> CheckpointRecord[DealCheckpoint]:
        """The deal's checkpoint in the workflow table."""
        return CheckpointRecord(
            self.store, DealCheckpoint, f"deal#{reference}", CHECKPOINT_SORT_KEY
        )

    def run(self, message: DealMessage) -> DealOutcome:
        """Bring the deal to what its current stage asks for (safe to call again any time)."""
        reference = message.correlation_id
        with self.store.exclusive(
            f"deal#{reference}", f"event:{message.event_id}", LOCK_STALE_AFTER_SECONDS
        ):
            try:
                deal = self.hubspot.get_deal(
                    message.deal_id, extra_properties=self._writeback_names()
                )
            except HubSpotNotFound:
                # Deleted (or merged into another deal) since the event: nothing to quote.
                log.warning("deal %s ignored: it no longer exists in HubSpot", reference)
                return DealOutcome(reference, "ignored", note="the deal no longer exists")
            stage = self.pipelines.stage(deal.pipeline, deal.stage)
            if stage is None:
                note = f"stage {deal.stage!r} is in no pipeline of the portal"
                log.warning("deal %s ignored: %s", reference, note)
                return DealOutcome(reference, "ignored", deal.stage, note=note)
            meaning = stage_meaning(stage, self.settings.quote_stages)
            context = DealContext(message, deal)
            checkpoint = self.checkpoint(reference)
            state = checkpoint.load()
            if state.review:
                return self._outcome(context, state, "held_for_review", stage.id, state.review)
            if meaning is StageMeaning.OPEN:
                return self._outcome(context, state, "ignored", stage.id, "no quote stage")
            if meaning is StageMeaning.LOST:
                return self._lose(context, checkpoint, state, stage.id)
            return self._quote_or_bill(context, checkpoint, state, meaning, stage.id)

    # -- the stages ----------------------------------------------------------------------------
    def _quote_or_bill(
        self,
        context: DealContext,
        checkpoint: CheckpointRecord[DealCheckpoint],
        state: DealCheckpoint,
        meaning: StageMeaning,
        stage: str,
    ) -> DealOutcome:
        try:
            state = self._ensure_offer(
                context, checkpoint, state, send=meaning is StageMeaning.QUOTE
            )
        except DealNotQuotable as refusal:
            return self._hold(context, checkpoint, stage, str(refusal))
        if state.review:
            return self._outcome(context, state, "held_for_review", stage, state.review)
        if meaning is StageMeaning.QUOTE:
            state = self._write_back(context, checkpoint, state)
            return self._outcome(context, state, "quoted", stage)

        offer_id = state.offer_id
        assert offer_id is not None
        if not state.offer_won and not state.offer_cleared:
            self.billomat.win_offer(offer_id)
            state = checkpoint.save(offer_won=True, offer_lost=False)
        if state.invoice_id is None:
            state = self._create_invoice(context, checkpoint, state, offer_id)
            if state.review:
                return self._outcome(context, state, "held_for_review", stage, state.review)
        invoice_id = state.invoice_id
        assert invoice_id is not None
        if not state.invoice_completed:
            self.billomat.complete_invoice(invoice_id, self.settings.invoice_template_id)
            state = checkpoint.save(invoice_completed=True)
        if state.invoice_number is None:
            invoice = self.billomat.get_invoice(invoice_id)
            state = checkpoint.save(
                invoice_number=invoice.invoice_number, invoice_link=invoice.customerportal_url
            )
        state = self._email(context, checkpoint, state, "invoice", invoice_id)
        if not state.offer_cleared:
            self.billomat.clear_offer(offer_id)
            state = checkpoint.save(offer_cleared=True)
        state = self._write_back(context, checkpoint, state)
        return self._outcome(context, state, "invoiced", stage)

    def _lose(
        self,
        context: DealContext,
        checkpoint: CheckpointRecord[DealCheckpoint],
        state: DealCheckpoint,
        stage: str,
    ) -> DealOutcome:
        if state.invoice_id is not None:
            # Billed already: a lost stage now changes nothing in the books; a person decides.
            if not state.lost_after_invoice_noticed:
                self.notifier.notify(
                    f"Deal nach Rechnung verloren: {context.name}",
                    [
                        f"Der Deal {context.name} steht in HubSpot auf verloren, ist aber bereits "
                        f"mit Rechnung {state.invoice_number or state.invoice_id} abgerechnet.",
                        "Es wurde nichts geändert. Bitte prüfen, ob eine Gutschrift nötig ist.",
                    ],
                    {"deal": context.reference},
                )
                state = checkpoint.save(lost_after_invoice_noticed=True)
            return self._outcome(context, state, "invoiced", stage, "lost after it was invoiced")
        if state.offer_id is None:
            return self._outcome(context, state, "lost", stage, "no offer to mark lost")
        if state.offer_completed and not state.offer_lost:
            # A state change the client makes retry-safe (it checks whether it was reached).
            self.billomat.lose_offer(state.offer_id)
            state = checkpoint.save(offer_lost=True, offer_won=False)
        return self._outcome(context, state, "lost", stage)

    # -- the offer -----------------------------------------------------------------------------
    def _ensure_offer(
        self,
        context: DealContext,
        checkpoint: CheckpointRecord[DealCheckpoint],
        state: DealCheckpoint,
        *,
        send: bool,
    ) -> DealCheckpoint:
        """The deal's offer, created and completed (and e-mailed when ``send``)."""
        if state.client_id is None:
            company, contact = self._parties(context.deal)
            try:
                buyer = deal_buyer(context.message.portal_id, company, contact)
            except ValueError as missing:
                raise DealNotQuotable(str(missing)) from None
            client_id = find_or_create_client(
                self.billomat, self.store, buyer, owner=context.reference
            )
            state = checkpoint.save(client_id=client_id, recipient=buyer.email or "")
        if state.offer_id is None:
            state = self._create_offer(context, checkpoint, state)
            if state.review:
                return state
        offer_id = state.offer_id
        assert offer_id is not None
        if not state.offer_completed:
            self.billomat.complete_offer(offer_id, self.settings.offer_template_id)
            state = checkpoint.save(offer_completed=True)
        if state.offer_number is None:
            offer = self.billomat.get_offer(offer_id)
            state = checkpoint.save(offer_number=offer.offer_number)
        if send:
            state = self._email(context, checkpoint, state, "offer", offer_id)
        return state

    def _create_offer(
        self,
        context: DealContext,
        checkpoint: CheckpointRecord[DealCheckpoint],
        state: DealCheckpoint,
    ) -> DealCheckpoint:
        priced = self._priced(context)
        client_id = state.client_id
        assert client_id is not None

        def draft(articles: Mapping[str, int]) -> OfferDraft:
            return OfferDraft(
                client_id=client_id,
                date=berlin_today(),
                title=f"Angebot: {context.name}"[:255],
                label=context.name[:255],
                currency_code=context.deal.currency or None,
                net_gross=NetGross(priced.prices.value.upper()),
                customfield=context.reference,
                items=[_item(OfferItemDraft, p, articles) for p in priced.positions],
            )

        articles = article_ids(self.store, (p.sku for p in priced.positions))
        offer = create_once(
            checkpoint,
            "offer_create_started",
            state.offer_create_started,
            create=lambda: create_linked(
                lambda link: self.billomat.create_offer(draft(articles if link else {})),
                bool(articles),
            ),
            find=lambda: self.billomat.find_offers_by_customfield(context.reference),
            what=f"offer of {context.reference}",
        )
        total = _total(offer, priced.prices)
        state = checkpoint.save(offer_id=offer.id, offer_total=total)
        if total != priced.expected_total:
            return self._mismatch(
                context, checkpoint, "offer", offer.id, total, priced.expected_total
            )
        return state

    def _parties(self, deal: Deal) -> tuple[Company | None, Contact | None]:
        """The deal's primary company and primary contact (read only while no client is known)."""
        company_id, contact_id = deal.primary_company_id, deal.primary_contact_id
        company = self.hubspot.get_company(company_id) if company_id is not None else None
        contact = self.hubspot.get_contact(contact_id) if contact_id is not None else None
        return company, contact

    def _priced(self, context: DealContext) -> PricedDeal:
        if context.priced is None:
            items = self.hubspot.read_line_items(context.deal.line_item_ids)
            context.priced = deal_positions(
                context.deal, items, self.settings.tax_rate, DealPrices(self.settings.prices)
            )
        return context.priced

    # -- the invoice ---------------------------------------------------------------------------
    def _create_invoice(
        self,
        context: DealContext,
        checkpoint: CheckpointRecord[DealCheckpoint],
        state: DealCheckpoint,
        offer_id: int,
    ) -> DealCheckpoint:
        client_id = state.client_id
        assert client_id is not None
        prices = DealPrices(self.settings.prices)
        if context.priced is not None:  # the offer was made in this run: same positions
            articles = article_ids(self.store, (p.sku for p in context.priced.positions))
            items = [_item(InvoiceItemDraft, p, articles) for p in context.priced.positions]
        else:
            items = [
                InvoiceItemDraft(
                    title=item.title,
                    quantity=item.quantity,
                    unit_price=item.unit_price,
                    tax_rate=item.tax_rate,
                    reduction=item.reduction or None,
                    description=item.description or None,
                    unit=item.unit or None,
                    article_id=item.article_id,
                )
                for item in self.billomat.list_offer_items(offer_id)
                if not item.optional
            ]
        today = berlin_today()
        draft = InvoiceDraft(
            client_id=client_id,
            date=today,
            supply_date=today,
            label=context.name[:255],
            currency_code=context.deal.currency or None,
            net_gross=NetGross(prices.value.upper()),
            offer_id=offer_id,
            template_id=self.settings.invoice_template_id,
            customfield=context.reference,
            items=items,
        )

        invoice = create_once(
            checkpoint,
            "invoice_create_started",
            state.invoice_create_started,
            create=lambda: create_linked(
                lambda link: self.billomat.create_invoice(
                    draft if link else _without_articles(draft)
                ),
                any(item.article_id for item in draft.items),
            ),
            find=lambda: self.billomat.find_invoices_by_customfield(context.reference),
            what=f"invoice of {context.reference}",
        )
        state = checkpoint.save(invoice_id=invoice.id)
        total = _total(invoice, prices)
        if state.offer_total is not None and total != state.offer_total:
            return self._mismatch(
                context, checkpoint, "invoice", invoice.id, total, state.offer_total
            )
        return state

    # -- e-mails, write-back, notices ----------------------------------------------------------
    def _email(
        self,
        context: DealContext,
        checkpoint: CheckpointRecord[DealCheckpoint],
        state: DealCheckpoint,
        document: str,
        document_id: int,
    ) -> DealCheckpoint:
        recipient = state.recipient or None
        settings = self.settings
        is_offer = document == "offer"
        step_field = "offer_email" if is_offer else "invoice_email"
        subject = settings.offer_email_subject if is_offer else settings.invoice_email_subject
        body = settings.offer_email_body if is_offer else settings.invoice_email_body
        email: Callable[..., None] = (
            self.billomat.email_offer if is_offer else self.billomat.email_invoice
        )
        label = "Angebot" if is_offer else "Rechnung"

        def send(to: str) -> None:
            email(
                document_id,
                to=[to],
                cc=[settings.accounting_cc] if settings.accounting_cc else None,
                subject=subject.replace("{deal_name}", context.name),
                body=body.replace("{deal_name}", context.name),
            )

        def report(step: EmailStep) -> None:
            if step is EmailStep.UNKNOWN:
                lines = [
                    f"Beim Versand des Dokuments ({label}, Billomat-ID {document_id}) an "
                    f"{recipient} ist der Versuch abgebrochen; ob die E-Mail rausging, ist "
                    "unbekannt.",
                    "Sie wurde nicht erneut gesendet. Bitte in Billomat prüfen.",
                ]
            else:
                lines = [
                    f"Der Deal {context.name} hat keinen Kontakt mit E-Mail-Adresse; "
                    f"{label} {document_id} bitte selbst senden."
                ]
            self.notifier.notify(f"Bitte prüfen: {label} zu {context.name}", lines)

        return email_recorded_once(checkpoint, state, step_field, recipient, send, report)

    def _writeback_names(self) -> tuple[str, ...]:
        settings = self.settings
        names = (
            settings.offer_number_property,
            settings.invoice_number_property,
            settings.link_property,
        )
        return tuple(name for name in names if name)

    def _write_back(
        self,
        context: DealContext,
        checkpoint: CheckpointRecord[DealCheckpoint],
        state: DealCheckpoint,
    ) -> DealCheckpoint:
        """Offer number, invoice number and link into the deal's properties (when defined)."""
        settings = self.settings
        wanted = {
            settings.offer_number_property: state.offer_number,
            settings.invoice_number_property: state.invoice_number,
            settings.link_property: state.invoice_link,
        }
        values = {name: value for name, value in wanted.items() if name and value}
        current = {k: v for k, v in context.deal.properties.items() if k in values}
        if not values or values == (state.written_back or {}) or values == current:
            return state
        update = self.hubspot.update_deal(context.deal.id, values)
        if update.missing:
            log.info(
                "deal %s: write-back skipped for properties the portal does not have: %s "
                "(create them in HubSpot to see the numbers on the deal, see the README)",
                context.reference,
                ", ".join(update.missing),
            )
        return checkpoint.save(written_back=values)

    def _mismatch(
        self,
        context: DealContext,
        checkpoint: CheckpointRecord[DealCheckpoint],
        document: str,
        document_id: int,
        total: Decimal,
        expected: Decimal,
    ) -> DealCheckpoint:
        label = "Angebot" if document == "offer" else "Rechnung"
        reason = (
            f"{document} total {total} differs from the expected {expected}; "
            "the draft was kept and not sent"
        )
        log.error("total mismatch for %s: %s", context.reference, reason)
        self.notifier.notify(
            f"{label} nicht versendet: {context.name}",
            [
                f"{label} (Entwurf, Billomat-ID {document_id}) zum Deal {context.name}: "
                f"Summe {total} statt {expected}.",
                "Der Entwurf wurde nicht abgeschlossen und nicht versendet. Bitte prüfen.",
            ],
            {"deal": context.reference},
        )
        return checkpoint.save(review=f"{document}_total_mismatch")

    def _hold(
        self,
        context: DealContext,
        checkpoint: CheckpointRecord[DealCheckpoint],
        stage: str,
        reason: str,
    ) -> DealOutcome:
        log.error("deal %s cannot be quoted: %s", context.reference, reason)
        self.notifier.notify(
            f"Deal nicht angeboten: {context.name}",
            [f"Zum Deal {context.name} wurde kein Angebot erstellt:", reason],
            {"deal": context.reference},
        )
        state = checkpoint.save(review="not_quotable")
        return self._outcome(context, state, "held_for_review", stage, reason)

    def _outcome(
        self,
        context: DealContext,
        state: DealCheckpoint,
        status: str,
        stage: str | None,
        note: str | None = None,
    ) -> DealOutcome:
        return DealOutcome(
            reference=context.reference,
            status=status,
            stage=stage,
            offer_id=state.offer_id,
            offer_number=state.offer_number,
            invoice_id=state.invoice_id,
            invoice_number=state.invoice_number,
            note=note,
        )


def _item[D: (OfferItemDraft, InvoiceItemDraft)](
    draft: type[D], position: DealPosition, articles: Mapping[str, int]
) -> D:
    """One position as an offer or invoice item (the same fields on both documents), linked
    to the synced article of its SKU."""
    return draft(
        article_id=articles.get(position.sku) if position.sku else None,
        title=position.title,
        quantity=position.quantity,
        unit_price=position.unit_price,
        tax_rate=position.tax_rate,
        reduction=position.reduction,
        description=position.description,
    )


def _total(document: Offer | Invoice, prices: DealPrices) -> Decimal:
    return document.total_gross if prices is DealPrices.GROSS else document.total_net


def _without_articles(draft: InvoiceDraft) -> InvoiceDraft:
    items = [item.model_copy(update={"article_id": None}) for item in draft.items]
    return draft.model_copy(update={"items": items})
