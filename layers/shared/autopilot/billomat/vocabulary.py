"""Billomat's fixed vocabularies (statuses, payment types, …) as string enums.

Kept apart from the pydantic models so that code which only needs a name (e.g. the webhook
intake mapping a shop gateway to a payment type) does not pay for building the models.
"""

from __future__ import annotations

from enum import StrEnum


class InvoiceStatus(StrEnum):
    """Life cycle of an invoice."""

    DRAFT = "DRAFT"
    OPEN = "OPEN"
    OVERDUE = "OVERDUE"
    PAID = "PAID"
    CANCELED = "CANCELED"


class CreditNoteStatus(StrEnum):
    """Life cycle of a credit note; PAID once the credited amount has been paid out."""

    DRAFT = "DRAFT"
    OPEN = "OPEN"
    PAID = "PAID"
    CANCELED = "CANCELED"


class ReminderStatus(StrEnum):
    """Life cycle of a reminder (dunning letter)."""

    DRAFT = "DRAFT"
    OPEN = "OPEN"
    OVERDUE = "OVERDUE"
    PAID = "PAID"
    CANCELED = "CANCELED"


class OfferStatus(StrEnum):
    """Life cycle of an offer (quote); CLEARED means billed."""

    DRAFT = "DRAFT"
    OPEN = "OPEN"
    WON = "WON"
    LOST = "LOST"
    CANCELED = "CANCELED"
    CLEARED = "CLEARED"


class PaymentType(StrEnum):
    """How a payment was made; INVOICE_CORRECTION appears only on reads."""

    CREDIT_NOTE = "CREDIT_NOTE"
    BANK_CARD = "BANK_CARD"
    BANK_TRANSFER = "BANK_TRANSFER"
    DEBIT = "DEBIT"
    CASH = "CASH"
    CHECK = "CHECK"
    PAYPAL = "PAYPAL"
    CREDIT_CARD = "CREDIT_CARD"
    COUPON = "COUPON"
    MISC = "MISC"
    INVOICE_CORRECTION = "INVOICE_CORRECTION"


class NetGross(StrEnum):
    """Whether unit prices are net or gross; SETTINGS defers to the account (clients only)."""

    NET = "NET"
    GROSS = "GROSS"
    SETTINGS = "SETTINGS"


class TaxRule(StrEnum):
    """A client's tax treatment."""

    TAX = "TAX"
    NO_TAX = "NO_TAX"
    COUNTRY = "COUNTRY"


class ItemType(StrEnum):
    """Kind of article or document position."""

    PRODUCT = "PRODUCT"
    SERVICE = "SERVICE"


class SupplyDateType(StrEnum):
    """How ``supply_date`` is to be read: a date or free text."""

    SUPPLY_DATE = "SUPPLY_DATE"
    DELIVERY_DATE = "DELIVERY_DATE"
    SUPPLY_TEXT = "SUPPLY_TEXT"
    DELIVERY_TEXT = "DELIVERY_TEXT"


class RecurringAction(StrEnum):
    """What Billomat does when a recurring invoice is due."""

    CREATE = "CREATE"
    COMPLETE = "COMPLETE"
    EMAIL = "EMAIL"
    MAIL = "MAIL"


class RecurringCycle(StrEnum):
    """Unit of a recurring invoice's interval (times ``cycle_number``)."""

    DAILY = "DAILY"
    WEEKLY = "WEEKLY"
    MONTHLY = "MONTHLY"
    YEARLY = "YEARLY"


class EmailReceiverType(StrEnum):
    """Recipient field of a recurring invoice's e-mail receiver."""

    TO = "to"
    CC = "cc"
    BCC = "bcc"
