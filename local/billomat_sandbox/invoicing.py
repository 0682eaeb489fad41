"""Invoices and their payments: DRAFT → OPEN/OVERDUE → PAID, CANCELED and back."""

from __future__ import annotations

from . import dunning
from .document_totals import HUNDRED, round_money
from .documents import (
    INVOICE,
    apply_document_defaults,
    book_document_payment,
    client_days,
    client_for,
    customerportal_url,
    delete_document_payment,
    finalize,
    format_address,
    is_past_due,
    prepare_item,
    recalculate,
    require_status,
    set_status,
    settle_payments,
    settle_term,
    store_items,
)
from .errors import bad_request
from .ledger import Ledger
from .schemas import INVOICE_PAYMENTS, INVOICES, Record

UNPAID = frozenset({"OPEN", "OVERDUE"})
"""States in which an invoice takes payments and can be dunned."""


def _check_links(ledger: Ledger, values: Record) -> None:
    for field, resource in (
        ("offer_id", "offers"),
        ("recurring_id", "recurrings"),
        ("invoice_id", "invoices"),
    ):
        if values.get(field) is not None and ledger.find(resource, values[field]) is None:
            raise bad_request(f"{field} {values[field]} does not exist")


def _settle_terms(ledger: Ledger, invoice: Record, client: Record, changed: set[str]) -> None:
    settle_term(
        invoice,
        changed,
        days_field="due_days",
        date_field="due_date",
        default_days=client_days(client, "due_days", ledger.settings.get("due_days")),
    )
    settle_term(
        invoice,
        changed,
        days_field="discount_days",
        date_field="discount_date",
        default_days=None,
    )


def create_invoice(ledger: Ledger, values: Record, items: list[Record]) -> Record:
    """A new DRAFT invoice with its embedded items."""
    client = client_for(ledger, values.get("client_id"))
    _check_links(ledger, values)
    prepared = [prepare_item(ledger, INVOICE, item, embedded=True) for item in items]
    invoice = INVOICES.new_record(values)
    apply_document_defaults(ledger, invoice, client)
    _settle_terms(ledger, invoice, client, set(values))
    invoice["status"] = "DRAFT"
    invoice["invoice_number"] = None
    ledger.insert("invoices", invoice)
    invoice["customerportal_url"] = customerportal_url(INVOICE, invoice["id"])
    store_items(ledger, INVOICE, invoice, prepared)
    refresh_invoice(ledger, invoice)
    ledger.emit("invoice.create", "invoices", invoice)
    return invoice


def update_invoice(ledger: Ledger, invoice: Record, values: Record) -> Record:
    """Edit the header of a DRAFT invoice."""
    require_status(INVOICE, invoice, {"DRAFT"}, "edit")
    client = client_for(ledger, values.get("client_id", invoice["client_id"]))
    _check_links(ledger, values)
    invoice.update(values)
    if "client_id" in values and "address" not in values:
        invoice["address"] = format_address(client)
    _settle_terms(ledger, invoice, client, set(values))
    ledger.touch(invoice)
    refresh_invoice(ledger, invoice)
    ledger.emit("invoice.update", "invoices", invoice)
    return invoice


def delete_invoice(ledger: Ledger, invoice: Record) -> None:
    """Delete a DRAFT invoice and its items (completed invoices are cancelled, not deleted)."""
    require_status(INVOICE, invoice, {"DRAFT"}, "delete")
    ledger.remove_all(
        "invoice-items", ledger.children("invoice-items", "invoice_id", invoice["id"])
    )
    ledger.remove("invoices", invoice["id"])
    ledger.emit("invoice.delete", "invoices", invoice)


def complete_invoice(ledger: Ledger, invoice: Record) -> Record:
    """DRAFT → OPEN (OVERDUE when already past due); fixes the number and the PDF."""
    finalize(ledger, INVOICE, invoice)
    set_status(ledger, INVOICE, invoice, "OVERDUE" if is_past_due(ledger, invoice) else "OPEN")
    return invoice


def cancel_invoice(ledger: Ledger, invoice: Record) -> Record:
    """OPEN/OVERDUE/PAID → CANCELED; ``uncancel`` restores the previous state."""
    require_status(INVOICE, invoice, {"OPEN", "OVERDUE", "PAID"}, "cancel")
    invoice["_status_before_cancel"] = invoice["status"]
    set_status(ledger, INVOICE, invoice, "CANCELED")
    return invoice


def uncancel_invoice(ledger: Ledger, invoice: Record) -> Record:
    """CANCELED → the state before cancelling (OVERDUE if it fell due meanwhile)."""
    require_status(INVOICE, invoice, {"CANCELED"}, "uncancel")
    previous = invoice.pop("_status_before_cancel", "OPEN")
    if previous == "OPEN" and is_past_due(ledger, invoice):
        previous = "OVERDUE"
    set_status(ledger, INVOICE, invoice, previous)
    return invoice


def refresh_invoice(ledger: Ledger, invoice: Record) -> None:
    """Recompute totals, Skonto amount, paid and open amounts, and the PAID state."""
    recalculate(ledger, INVOICE, invoice)
    rate = invoice.get("discount_rate")
    invoice["discount_amount"] = (
        round_money(invoice["total_gross"] * rate / HUNDRED) if rate else None
    )
    settle_payments(ledger, INVOICE, INVOICE_PAYMENTS, invoice, UNPAID)
    dunning.follow_invoice(ledger, invoice)


def book_payment(ledger: Ledger, values: Record) -> Record:
    """A payment on an OPEN/OVERDUE invoice; PAID once covered or ``mark_invoice_as_paid``."""
    return book_document_payment(
        ledger, INVOICE, INVOICE_PAYMENTS, values, payable=UNPAID, refresh=refresh_invoice
    )


def delete_payment(ledger: Ledger, payment: Record) -> None:
    """Remove a payment; a PAID invoice it covered becomes OPEN/OVERDUE again."""
    delete_document_payment(ledger, INVOICE, INVOICE_PAYMENTS, payment, refresh=refresh_invoice)


def mark_overdue_invoices(ledger: Ledger) -> list[int]:
    """The daily switch: OPEN invoices past their due date become OVERDUE."""
    switched = []
    for invoice in ledger.rows("invoices"):
        if invoice["status"] == "OPEN" and is_past_due(ledger, invoice):
            set_status(ledger, INVOICE, invoice, "OVERDUE")
            switched.append(invoice["id"])
    return switched
