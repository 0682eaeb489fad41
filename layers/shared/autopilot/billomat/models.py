"""Typed Billomat records as the rest of the code sees them.

Billomat sends every scalar as a string; these models parse them once: ids as int, money,
rates and quantities as Decimal (never float), dates as date, timestamps as datetime,
"1"/"0" as bool. Empty values (``""``, ``{}``, null) become None (or the documented default),
nested collections (``"taxes": {"tax": ...}``) become lists, unknown fields are ignored.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any
from urllib.parse import parse_qsl

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from autopilot.billomat.envelope import drop_empty_fields, is_empty, nested_collection

# re-exported: the enums belong to the models' public vocabulary
from autopilot.billomat.vocabulary import (
    CreditNoteStatus as CreditNoteStatus,
)
from autopilot.billomat.vocabulary import (
    EmailReceiverType as EmailReceiverType,
)
from autopilot.billomat.vocabulary import (
    InvoiceStatus as InvoiceStatus,
)
from autopilot.billomat.vocabulary import (
    ItemType as ItemType,
)
from autopilot.billomat.vocabulary import (
    NetGross as NetGross,
)
from autopilot.billomat.vocabulary import (
    OfferStatus as OfferStatus,
)
from autopilot.billomat.vocabulary import (
    PaymentType as PaymentType,
)
from autopilot.billomat.vocabulary import (
    RecurringAction as RecurringAction,
)
from autopilot.billomat.vocabulary import (
    RecurringCycle as RecurringCycle,
)
from autopilot.billomat.vocabulary import (
    ReminderStatus as ReminderStatus,
)
from autopilot.billomat.vocabulary import (
    SupplyDateType as SupplyDateType,
)
from autopilot.billomat.vocabulary import (
    TaxRule as TaxRule,
)


def _reject_float(value: object) -> object:
    if isinstance(value, float):
        raise ValueError("amounts must be Decimal, str or int, never float")
    return value


Money = Annotated[Decimal, BeforeValidator(_reject_float), Field(allow_inf_nan=False)]
"""An exact decimal (amount, rate, quantity); floats are refused so no cent is ever lost."""


class BillomatRecord(BaseModel):
    """Base of all read models: ignores unknown fields and Billomat's empty spellings."""

    model_config = ConfigDict(
        extra="ignore", frozen=True, validate_by_name=True, validate_by_alias=True
    )

    @model_validator(mode="before")
    @classmethod
    def _drop_empty_values(cls, data: Any) -> Any:
        if isinstance(data, Mapping):
            return drop_empty_fields(data)
        return data


class BillomatEntity(BillomatRecord):
    """A record with its own id and the free ``customfield`` we use for our references."""

    id: int
    customfield: str | None = None


class DocumentTax(BillomatRecord):
    """One tax rate's subtotal on a document (``taxes.tax[]``)."""

    name: str | None = None
    rate: Money | None = None
    amount: Money | None = None
    amount_net: Money | None = None
    amount_gross: Money | None = None
    amount_plain: Money | None = None
    amount_rounded: Money | None = None
    amount_net_plain: Money | None = None
    amount_net_rounded: Money | None = None
    amount_gross_plain: Money | None = None
    amount_gross_rounded: Money | None = None


Taxes = Annotated[list[DocumentTax], BeforeValidator(nested_collection("tax"))]


class Client(BillomatEntity):
    """A customer (``/api/clients``)."""

    created: dt.datetime | None = None
    updated: dt.datetime | None = None
    archived: bool = False
    client_number: str | None = None
    number_pre: str | None = None
    number: int | None = None
    number_length: int | None = None
    name: str | None = None
    salutation: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    street: str | None = None
    zip: str | None = None
    city: str | None = None
    state: str | None = None
    country_code: str | None = None
    address: str | None = None
    phone: str | None = None
    fax: str | None = None
    mobile: str | None = None
    email: str | None = None
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
    default_payment_types: str | None = None
    note: str | None = None
    reduction: str | None = None
    discount_rate: Money | None = None
    discount_days: int | None = None
    due_days: int | None = None
    reminder_due_days: int | None = None
    currency_code: str | None = None
    price_group: int | None = None
    debitor_account_number: str | None = None
    dunning_run: bool = False
    """True when Billomat's own automatic dunning runs for this client."""
    revenue_gross: Money | None = None
    revenue_net: Money | None = None
    customerportal_url: str | None = None


class Article(BillomatEntity):
    """A product or service in the article catalogue (``/api/articles``)."""

    created: dt.datetime | None = None
    updated: dt.datetime | None = None
    archived: bool = False
    article_number: str | None = None
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


class DocumentItem(BillomatRecord):
    """Fields every document position shares."""

    id: int
    article_id: int | None = None
    position: int | None = None
    unit: str | None = None
    quantity: Money = Decimal(0)
    unit_price: Money = Decimal(0)
    tax_name: str | None = None
    tax_rate: Money | None = None
    title: str | None = None
    description: str | None = None
    reduction: str | None = None
    type: ItemType | None = None
    total_net: Money = Decimal(0)
    total_gross: Money = Decimal(0)
    total_net_unreduced: Money | None = None
    total_gross_unreduced: Money | None = None


class InvoiceItem(DocumentItem):
    """A position of an invoice (``/api/invoice-items``)."""

    invoice_id: int | None = None


class CreditNoteItem(DocumentItem):
    """A position of a credit note (``/api/credit-note-items``)."""

    credit_note_id: int | None = None


class OfferItem(DocumentItem):
    """A position of an offer; ``optional`` positions are excluded from the totals."""

    offer_id: int | None = None
    optional: bool = False


class RecurringItem(DocumentItem):
    """A position of a recurring invoice template."""

    recurring_id: int | None = None


class BillomatDocument(BillomatEntity):
    """Header fields every Billomat document (invoice, offer, reminder) carries."""

    created: dt.datetime | None = None
    updated: dt.datetime | None = None
    client_id: int | None = None
    contact_id: int | None = None
    date: dt.date | None = None
    address: str | None = None
    label: str | None = None
    intro: str | None = None
    note: str | None = None
    currency_code: str | None = None
    customerportal_url: str | None = None


class PricedDocument(BillomatDocument):
    """A numbered document with positions and totals (invoice, offer)."""

    number: int | None = None
    number_pre: str | None = None
    number_length: int | None = None
    title: str | None = None
    reduction: str | None = None
    quote: Money | None = None
    net_gross: NetGross | None = None
    total_net: Money = Decimal(0)
    total_gross: Money = Decimal(0)
    total_reduction: Money | None = None
    taxes: Taxes = Field(default_factory=list)


class Invoice(PricedDocument):
    """An invoice. ``invoice_number`` is final only once the invoice is completed."""

    invoice_number: str | None = None
    status: InvoiceStatus
    supply_date: str | None = None
    """A date or free text, depending on ``supply_date_type``."""
    supply_date_type: SupplyDateType | None = None
    due_date: dt.date | None = None
    due_days: int | None = None
    discount_rate: Money | None = None
    discount_date: dt.date | None = None
    discount_days: int | None = None
    discount_amount: Money | None = None
    payment_types: str | None = None
    total_net_unreduced: Money | None = None
    total_gross_unreduced: Money | None = None
    paid_amount: Money = Decimal(0)
    open_amount: Money = Decimal(0)
    """Still to be paid; when Billomat omits it, total_gross - paid_amount."""
    invoice_id: int | None = None
    offer_id: int | None = None
    confirmation_id: int | None = None
    recurring_id: int | None = None
    template_id: int | None = None
    items: Annotated[list[InvoiceItem], BeforeValidator(nested_collection("invoice-item"))] = Field(
        default_factory=list, alias="invoice-items"
    )
    """Only filled when Billomat embeds the items; otherwise use ``list_invoice_items``."""

    @model_validator(mode="before")
    @classmethod
    def _derive_open_amount(cls, data: Any) -> Any:
        if not isinstance(data, Mapping) or not is_empty(data.get("open_amount")):
            return data
        total, paid = data.get("total_gross"), data.get("paid_amount")
        if is_empty(total) or isinstance(total, float) or isinstance(paid, float):
            return data
        try:
            open_amount = Decimal(str(total)) - (
                Decimal(0) if is_empty(paid) else Decimal(str(paid))
            )
        except InvalidOperation:
            return data
        return {**data, "open_amount": open_amount}


def _derived_open_amount(data: Any) -> Any:
    """``open_amount`` = ``total_gross`` - ``paid_amount`` when Billomat leaves it out."""
    if not isinstance(data, Mapping) or not is_empty(data.get("open_amount")):
        return data
    total, paid = data.get("total_gross"), data.get("paid_amount")
    if is_empty(total) or isinstance(total, float) or isinstance(paid, float):
        return data
    try:
        open_amount = Decimal(str(total)) - (Decimal(0) if is_empty(paid) else Decimal(str(paid)))
    except InvalidOperation:
        return data
    return {**data, "open_amount": open_amount}


class CreditNote(PricedDocument):
    """A credit note (Gutschrift), usually for an invoice (``invoice_id``).

    ``credit_note_number`` is final only once the credit note is completed; ``paid_amount`` is
    what has been paid out to the customer so far.
    """

    credit_note_number: str | None = None
    status: CreditNoteStatus
    total_net_unreduced: Money | None = None
    total_gross_unreduced: Money | None = None
    paid_amount: Money = Decimal(0)
    open_amount: Money = Decimal(0)
    """Still to be paid out; when Billomat omits it, total_gross - paid_amount."""
    invoice_id: int | None = None
    free_text_id: int | None = None
    template_id: int | None = None
    items: Annotated[
        list[CreditNoteItem], BeforeValidator(nested_collection("credit-note-item"))
    ] = Field(default_factory=list, alias="credit-note-items")
    """Only filled when Billomat embeds the items; otherwise use ``list_credit_note_items``."""

    @model_validator(mode="before")
    @classmethod
    def _derive_open_amount(cls, data: Any) -> Any:
        return _derived_open_amount(data)


class BookedPayment(BillomatEntity):
    """What invoice payments and credit-note payments share."""

    created: dt.datetime | None = None
    user_id: int | None = None
    date: dt.date | None = None
    amount: Money
    comment: str | None = None
    transaction_purpose: str | None = None
    currency_code: str | None = None
    quote: Money | None = None
    type: PaymentType | None = None


class InvoicePayment(BookedPayment):
    """A customer payment booked on an invoice (``/api/invoice-payments``)."""

    invoice_id: int | None = None


class CreditNotePayment(BookedPayment):
    """A payment (the payout) booked on a credit note (``/api/credit-note-payments``)."""

    credit_note_id: int | None = None


class Reminder(BillomatDocument):
    """A reminder (dunning letter) for an overdue invoice; Billomat picks its level."""

    invoice_id: int | None = None
    status: ReminderStatus
    due_date: dt.date | None = None
    due_days: int | None = None
    reminder_text_id: int | None = None
    reminder_level: int | None = None
    reminder_level_name: str | None = None
    subject: str | None = None
    total_net: Money | None = None
    total_gross: Money | None = None
    paid_amount: Money | None = None
    open_amount: Money | None = None
    is_old: bool = False


class ReminderText(BillomatRecord):
    """A dunning level: its texts and fee; ``sorting`` orders the levels."""

    id: int
    name: str | None = None
    sorting: int | None = None
    subject: str | None = None
    header: str | None = None
    footer: str | None = None
    charge_name: str | None = None
    charge_description: str | None = None
    charge_amount: Money | None = None


class Recurring(BillomatEntity):
    """A recurring invoice template that Billomat runs itself on ``next_creation_date``."""

    created: dt.datetime | None = None
    updated: dt.datetime | None = None
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
    supply_date: str | None = None
    supply_date_type: SupplyDateType | None = None
    due_days: int | None = None
    discount_rate: Money | None = None
    discount_days: int | None = None
    reduction: str | None = None
    currency_code: str | None = None
    net_gross: NetGross | None = None
    quote: Money | None = None
    payment_types: str | None = None
    action: RecurringAction | None = None
    cycle_number: int | None = None
    cycle: RecurringCycle | None = None
    hour: int | None = None
    start_date: dt.date | None = None
    end_date: dt.date | None = None
    next_creation_date: dt.date | None = None
    """None once stopped (the recurring is then inactive)."""
    last_creation_date: dt.date | None = None
    iterations: int | None = None
    counter: int | None = None
    ultimo: bool = False
    email_sender: str | None = None
    email_subject: str | None = None
    email_message: str | None = None
    email_filename: str | None = None
    offer_id: int | None = None
    total_net: Money | None = None
    total_gross: Money | None = None
    taxes: Taxes = Field(default_factory=list)


class RecurringEmailReceiver(BillomatRecord):
    """An address a recurring invoice is e-mailed to."""

    id: int
    recurring_id: int | None = None
    type: EmailReceiverType | None = None
    address: str | None = None


class Offer(PricedDocument):
    """An offer (quote)."""

    offer_number: str | None = None
    status: OfferStatus
    validity_date: dt.date | None = None
    validity_days: int | None = None
    items: Annotated[list[OfferItem], BeforeValidator(nested_collection("offer-item"))] = Field(
        default_factory=list, alias="offer-items"
    )
    """Only filled when Billomat embeds the items; otherwise use ``list_offer_items``."""


class Unit(BillomatEntity):
    """A unit of quantity (``/api/units``): ``Stück``, ``kg``, ``Stunde``."""

    name: str | None = None


class Tax(BillomatRecord):
    """A tax rate configured in the account (``/api/taxes``)."""

    id: int
    name: str | None = None
    rate: Money
    is_default: bool = False


class Settings(BillomatRecord):
    """Account settings (``/api/settings``): defaults and number ranges."""

    currency_code: str | None = None
    net_gross: NetGross | None = None
    number_range_mode: str | None = None
    invoice_number_pre: str | None = None
    invoice_number_length: int | None = None
    invoice_number_next: int | None = None
    offer_number_pre: str | None = None
    offer_number_length: int | None = None
    offer_number_next: int | None = None
    client_number_pre: str | None = None
    client_number_length: int | None = None
    client_number_next: int | None = None
    article_number_pre: str | None = None
    article_number_length: int | None = None
    article_number_next: int | None = None
    credit_note_number_pre: str | None = None
    credit_note_number_length: int | None = None
    credit_note_number_next: int | None = None
    due_days: int | None = None
    discount_rate: Money | None = None
    discount_days: int | None = None
    offer_validity_days: int | None = None
    reminder_due_days: int | None = None
    print_version: bool = False
    default_email_sender: str | None = None
    bcc_addresses: str | None = None


def _filter_set(value: object) -> object:
    """``invoice-params`` as a flat dict of filters (object, or a query string, both accepted)."""
    if isinstance(value, str):
        return dict(parse_qsl(value.lstrip("?")))
    if isinstance(value, Mapping):
        return {
            str(key): str(item)
            for key, item in value.items()
            if isinstance(item, (str, int, Decimal)) and not is_empty(item)
        }
    return value


class InvoiceGroup(BillomatRecord):
    """One row of ``GET /api/invoices?group_by=...``: totals per client/status/period."""

    total_net: Money = Decimal(0)
    total_gross: Money = Decimal(0)
    client_id: int | None = None
    status: InvoiceStatus | None = None
    day: str | None = None
    week: str | None = None
    month: str | None = None
    year: str | None = None
    currency_code: str | None = None
    invoice_params: Annotated[dict[str, str], BeforeValidator(_filter_set)] = Field(
        default_factory=dict, alias="invoice-params"
    )
    """The filters that list exactly this group's invoices (for a drill-down request)."""


class DocumentPdf(BillomatRecord):
    """The ``{"pdf": {...}}`` answer of a document's PDF endpoint."""

    id: int | None = None
    filename: str | None = None
    mimetype: str | None = None
    filesize: int | None = None
    base64file: str
