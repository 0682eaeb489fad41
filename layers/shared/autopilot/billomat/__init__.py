"""The Billomat API client: typed drafts in, typed models out, quota and retries handled.

Usage::

    billomat = BillomatClient(BillomatClient.base_url_for(billomat_id, None), api_key)
    invoice = billomat.create_invoice(InvoiceDraft(client_id=7, items=[...]))
    billomat.complete_invoice(invoice.id)
"""

# Imported on first use: the webhook intake needs only a few names, and building every
# model and the HTTP client would cost it a noticeable share of its cold start.
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from autopilot.billomat.client import BillomatClient
    from autopilot.billomat.drafts import (
        ArticleDraft,
        ClientDraft,
        InvoiceChanges,
        InvoiceDraft,
        InvoiceItemDraft,
        OfferChanges,
        OfferDraft,
        OfferItemDraft,
        PaymentDraft,
        RecurringChanges,
        RecurringDraft,
        RecurringItemDraft,
        ReminderDraft,
        UnitDraft,
    )
    from autopilot.billomat.errors import (
        BillomatAuthError,
        BillomatError,
        BillomatForbiddenError,
        BillomatNotFoundError,
        BillomatRateLimitedError,
        BillomatResponseError,
        BillomatUnavailableError,
        BillomatUnexpectedResponseError,
        BillomatValidationError,
        certainly_not_executed,
        describe_stop,
        is_systemic,
    )
    from autopilot.billomat.models import (
        Article,
        Client,
        DocumentTax,
        EmailReceiverType,
        Invoice,
        InvoiceGroup,
        InvoiceItem,
        InvoicePayment,
        InvoiceStatus,
        ItemType,
        NetGross,
        Offer,
        OfferItem,
        OfferStatus,
        PaymentType,
        Recurring,
        RecurringAction,
        RecurringCycle,
        RecurringEmailReceiver,
        RecurringItem,
        Reminder,
        ReminderStatus,
        ReminderText,
        Settings,
        SupplyDateType,
        Tax,
        TaxRule,
        Unit,
    )

_HOMES: dict[str, str] = {
    "Article": "autopilot.billomat.models",
    "ArticleDraft": "autopilot.billomat.drafts",
    "BillomatAuthError": "autopilot.billomat.errors",
    "BillomatClient": "autopilot.billomat.client",
    "BillomatError": "autopilot.billomat.errors",
    "BillomatForbiddenError": "autopilot.billomat.errors",
    "BillomatNotFoundError": "autopilot.billomat.errors",
    "BillomatRateLimitedError": "autopilot.billomat.errors",
    "BillomatResponseError": "autopilot.billomat.errors",
    "BillomatUnavailableError": "autopilot.billomat.errors",
    "BillomatUnexpectedResponseError": "autopilot.billomat.errors",
    "BillomatValidationError": "autopilot.billomat.errors",
    "certainly_not_executed": "autopilot.billomat.errors",
    "describe_stop": "autopilot.billomat.errors",
    "is_systemic": "autopilot.billomat.errors",
    "Client": "autopilot.billomat.models",
    "ClientDraft": "autopilot.billomat.drafts",
    "DocumentTax": "autopilot.billomat.models",
    "EmailReceiverType": "autopilot.billomat.models",
    "Invoice": "autopilot.billomat.models",
    "InvoiceChanges": "autopilot.billomat.drafts",
    "InvoiceDraft": "autopilot.billomat.drafts",
    "InvoiceGroup": "autopilot.billomat.models",
    "InvoiceItem": "autopilot.billomat.models",
    "InvoiceItemDraft": "autopilot.billomat.drafts",
    "InvoicePayment": "autopilot.billomat.models",
    "InvoiceStatus": "autopilot.billomat.models",
    "ItemType": "autopilot.billomat.models",
    "NetGross": "autopilot.billomat.models",
    "Offer": "autopilot.billomat.models",
    "OfferChanges": "autopilot.billomat.drafts",
    "OfferDraft": "autopilot.billomat.drafts",
    "OfferItem": "autopilot.billomat.models",
    "OfferItemDraft": "autopilot.billomat.drafts",
    "OfferStatus": "autopilot.billomat.models",
    "PaymentDraft": "autopilot.billomat.drafts",
    "PaymentType": "autopilot.billomat.models",
    "Recurring": "autopilot.billomat.models",
    "RecurringAction": "autopilot.billomat.models",
    "RecurringChanges": "autopilot.billomat.drafts",
    "RecurringCycle": "autopilot.billomat.models",
    "RecurringDraft": "autopilot.billomat.drafts",
    "RecurringEmailReceiver": "autopilot.billomat.models",
    "RecurringItem": "autopilot.billomat.models",
    "RecurringItemDraft": "autopilot.billomat.drafts",
    "Reminder": "autopilot.billomat.models",
    "ReminderDraft": "autopilot.billomat.drafts",
    "ReminderStatus": "autopilot.billomat.models",
    "ReminderText": "autopilot.billomat.models",
    "Settings": "autopilot.billomat.models",
    "SupplyDateType": "autopilot.billomat.models",
    "Tax": "autopilot.billomat.models",
    "TaxRule": "autopilot.billomat.models",
    "Unit": "autopilot.billomat.models",
    "UnitDraft": "autopilot.billomat.drafts",
}


def __getattr__(name: str) -> Any:
    """Load the module that defines ``name`` on first access."""
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value
    return value


__all__ = [
    "Article",
    "ArticleDraft",
    "BillomatAuthError",
    "BillomatClient",
    "BillomatError",
    "BillomatForbiddenError",
    "BillomatNotFoundError",
    "BillomatRateLimitedError",
    "BillomatResponseError",
    "BillomatUnavailableError",
    "BillomatUnexpectedResponseError",
    "BillomatValidationError",
    "Client",
    "ClientDraft",
    "DocumentTax",
    "EmailReceiverType",
    "Invoice",
    "InvoiceChanges",
    "InvoiceDraft",
    "InvoiceGroup",
    "InvoiceItem",
    "InvoiceItemDraft",
    "InvoicePayment",
    "InvoiceStatus",
    "ItemType",
    "NetGross",
    "Offer",
    "OfferChanges",
    "OfferDraft",
    "OfferItem",
    "OfferItemDraft",
    "OfferStatus",
    "PaymentDraft",
    "PaymentType",
    "Recurring",
    "RecurringAction",
    "RecurringChanges",
    "RecurringCycle",
    "RecurringDraft",
    "RecurringEmailReceiver",
    "RecurringItem",
    "RecurringItemDraft",
    "Reminder",
    "ReminderDraft",
    "ReminderStatus",
    "ReminderText",
    "Settings",
    "SupplyDateType",
    "Tax",
    "TaxRule",
    "Unit",
    "UnitDraft",
    "certainly_not_executed",
    "describe_stop",
    "is_systemic",
]
