"""Input models for writes: what the workflows hand to the client to create or change records.

Drafts refuse unknown fields (a typo such as ``level`` on a reminder fails here, not silently at
Billomat) and floats for money. ``to_billomat()`` gives the inner write body: Decimal as a plain
string ("119.00"), dates ISO, booleans 1/0, lists comma-separated, None fields left out, and
positions embedded as ``{"invoice-items": {"invoice-item": [...]}}``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from autopilot.billomat.envelope import billomat_value
from autopilot.billomat.models import (
    ItemType,
    Money,
    NetGross,
    PaymentType,
    RecurringAction,
    RecurringCycle,
    SupplyDateType,
    TaxRule,
)


class BillomatDraft(BaseModel):
    """Base of all write models."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    items_envelope: ClassVar[tuple[str, str] | None] = None
    """(collection, item) element names for embedded positions, e.g. invoice-items/invoice-item."""

    def to_billomat(self) -> dict[str, Any]:
        """The record as Billomat expects it inside its write envelope."""
        body: dict[str, Any] = {}
        for name in type(self).model_fields:
            if name == "items":
                continue
            value = getattr(self, name)
            if value is None:
                continue
            body[name] = billomat_value(value)
        items: list[BillomatDraft] = getattr(self, "items", [])
        if self.items_envelope is not None and items:
            collection, item = self.items_envelope
            body[collection] = {item: [position.to_billomat() for position in items]}
        return body


class ClientDraft(BillomatDraft):
    """A client to create, or the fields to change on one (no field is mandatory)."""

    name: str | None = None
    salutation: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    street: str | None = None
    zip: str | None = None
    city: str | None = None
    state: str | None = None
    country_code: str | None = None
    email: str | None = None
    phone: str | None = None
    fax: str | None = None
    mobile: str | None = None
    www: str | None = None
    tax_number: str | None = None
    vat_number: str | None = None
    bank_account_owner: str | None = None
    bank_name: str | None = None
    bank_iban: str | None = None
    bank_swift: str | None = None
    locale: str | None = None
    tax_rule: TaxRule | None = None
    net_gross: NetGross | None = None
    default_payment_types: list[PaymentType] | None = None
    note: str | None = None
    reduction: str | None = None
    discount_rate: Money | None = None
    discount_days: int | None = None
    due_days: int | None = None
    currency_code: str | None = None
    price_group: int | None = None
    debitor_account_number: str | None = None
    dunning_run: bool | None = None
    archived: bool | None = None
    number_pre: str | None = None
    number: int | None = None
    number_length: int | None = None
    customfield: str | None = None


class ArticleDraft(BillomatDraft):
    """An article to create, or the fields to change on one."""

    number_pre: str | None = None
    number: int | None = None
    number_length: int | None = None
    title: str | None = None
    description: str | None = None
    sales_price: Money | None = None
    sales_price2: Money | None = None
    sales_price3: Money | None = None
    sales_price4: Money | None = None
    sales_price5: Money | None = None
    currency_code: str | None = None
    unit_id: int | None = None
    tax_id: int | None = None
    purchase_price: Money | None = None
    purchase_price_net_gross: NetGross | None = None
    supplier_id: int | None = None
    type: ItemType | None = None
    customfield: str | None = None


class UnitDraft(BillomatDraft):
    """A unit to create."""

    name: str


class ItemDraft(BillomatDraft):
    """A document position; with only ``article_id`` Billomat copies the article's data."""

    article_id: int | None = None
    unit: str | None = None
    quantity: Money | None = None
    unit_price: Money | None = None
    tax_name: str | None = None
    tax_rate: Money | None = None
    title: str | None = None
    description: str | None = None
    reduction: str | None = None
    type: ItemType | None = None


class InvoiceItemDraft(ItemDraft):
    """A position of an invoice."""


class CreditNoteItemDraft(ItemDraft):
    """A position of a credit note."""


class OfferItemDraft(ItemDraft):
    """A position of an offer; ``optional`` positions do not count towards the total."""

    optional: bool | None = None


class RecurringItemDraft(ItemDraft):
    """A position of a recurring invoice template."""


class InvoiceChanges(BillomatDraft):
    """Header fields of an invoice to change (Billomat allows edits while DRAFT)."""

    client_id: int | None = None
    contact_id: int | None = None
    address: str | None = None
    number_pre: str | None = None
    number: int | None = None
    number_length: int | None = None
    date: dt.date | None = None
    supply_date: dt.date | str | None = None
    supply_date_type: SupplyDateType | None = None
    due_days: int | None = None
    due_date: dt.date | None = None
    discount_rate: Money | None = None
    discount_days: int | None = None
    discount_date: dt.date | None = None
    title: str | None = None
    label: str | None = None
    intro: str | None = None
    note: str | None = None
    reduction: str | None = None
    currency_code: str | None = None
    net_gross: NetGross | None = None
    quote: Money | None = None
    payment_types: list[PaymentType] | None = None
    invoice_id: int | None = None
    offer_id: int | None = None
    confirmation_id: int | None = None
    recurring_id: int | None = None
    free_text_id: int | None = None
    template_id: int | None = None


class InvoiceDraft(InvoiceChanges):
    """A new invoice with its positions; Billomat creates it as DRAFT."""

    items_envelope = ("invoice-items", "invoice-item")

    client_id: int
    items: list[InvoiceItemDraft] = Field(default_factory=list)
    customfield: str | None = None
    """Our reference (e.g. shop order id): a retry finds the invoice instead of duplicating it."""


class DocumentHeaderChanges(BillomatDraft):
    """The header fields offers and credit notes share (client, number, texts, currency)."""

    client_id: int | None = None
    contact_id: int | None = None
    address: str | None = None
    number_pre: str | None = None
    number: int | None = None
    number_length: int | None = None
    date: dt.date | None = None
    title: str | None = None
    label: str | None = None
    intro: str | None = None
    note: str | None = None
    reduction: str | None = None
    currency_code: str | None = None
    net_gross: NetGross | None = None
    quote: Money | None = None
    free_text_id: int | None = None
    template_id: int | None = None


class CreditNoteChanges(DocumentHeaderChanges):
    """Header fields of a credit note to change (Billomat allows edits only while DRAFT)."""

    invoice_id: int | None = None
    """The invoice this credit note credits."""


class CreditNoteDraft(CreditNoteChanges):
    """A new credit note with its positions; Billomat creates it as DRAFT."""

    items_envelope = ("credit-note-items", "credit-note-item")

    client_id: int
    items: list[CreditNoteItemDraft] = Field(default_factory=list)
    customfield: str | None = None
    """Our reference (e.g. a shop refund id): a retry finds the credit note instead of
    duplicating it."""


class OfferChanges(DocumentHeaderChanges):
    """Header fields of an offer to change."""

    validity_days: int | None = None
    validity_date: dt.date | None = None


class OfferDraft(OfferChanges):
    """A new offer with its positions; Billomat creates it as DRAFT."""

    items_envelope = ("offer-items", "offer-item")

    client_id: int
    items: list[OfferItemDraft] = Field(default_factory=list)
    customfield: str | None = None


class RecurringChanges(BillomatDraft):
    """Fields of a recurring invoice template to change."""

    client_id: int | None = None
    contact_id: int | None = None
    template_id: int | None = None
    email_template_id: int | None = None
    name: str | None = None
    title: str | None = None
    label: str | None = None
    intro: str | None = None
    note: str | None = None
    address: str | None = None
    supply_date: dt.date | str | None = None
    supply_date_type: SupplyDateType | None = None
    due_days: int | None = None
    discount_rate: Money | None = None
    discount_days: int | None = None
    reduction: str | None = None
    currency_code: str | None = None
    net_gross: NetGross | None = None
    quote: Money | None = None
    payment_types: list[PaymentType] | None = None
    action: RecurringAction | None = None
    cycle_number: int | None = None
    cycle: RecurringCycle | None = None
    hour: int | None = None
    start_date: dt.date | None = None
    end_date: dt.date | None = None
    next_creation_date: dt.date | None = None
    email_sender: str | None = None
    email_subject: str | None = None
    email_message: str | None = None
    email_filename: str | None = None
    offer_id: int | None = None
    free_text_id: int | None = None


class RecurringDraft(RecurringChanges):
    """A new recurring invoice template with its positions."""

    items_envelope = ("recurring-items", "recurring-item")

    client_id: int
    items: list[RecurringItemDraft] = Field(default_factory=list)
    customfield: str | None = None


class PaymentDraft(BillomatDraft):
    """A customer payment to book on an OPEN or OVERDUE invoice."""

    invoice_id: int
    amount: Money
    date: dt.date | None = None
    """Payment date; Billomat uses today when omitted."""
    type: PaymentType | None = None
    comment: str | None = None
    mark_invoice_as_paid: bool = False
    """Force PAID although the amount is short (e.g. early-payment discount taken)."""


class CreditNotePaymentDraft(BillomatDraft):
    """A payment (the payout to the customer) to book on an OPEN credit note."""

    credit_note_id: int
    amount: Money
    date: dt.date | None = None
    """Payment date; Billomat uses today when omitted."""
    type: PaymentType | None = None
    comment: str | None = None
    mark_credit_note_as_paid: bool = False
    """Force PAID although the amount is short."""


class ReminderDraft(BillomatDraft):
    """A reminder for an overdue invoice. There is no level: Billomat assigns the next one."""

    invoice_id: int
    contact_id: int | None = None
    address: str | None = None
    date: dt.date | None = None
    due_days: int | None = None
    due_date: dt.date | None = None
    subject: str | None = None
    intro: str | None = None
    note: str | None = None
    label: str | None = None
    template_id: int | None = None
