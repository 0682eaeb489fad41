"""Credit notes (Gutschriften) and their payments: DRAFT → OPEN → PAID, CANCELED and back.

Credit notes mirror invoices (reference §6.8): created as DRAFT with embedded items, editable
only while DRAFT, numbered on ``complete`` from the ``credit_note`` range (``GU1``...), paid out
through ``/credit-note-payments``. There is no due date and so no OVERDUE.
"""

from __future__ import annotations

from .documents import (
    CREDIT_NOTE,
    apply_document_defaults,
    book_document_payment,
    client_for,
    customerportal_url,
    delete_document_payment,
    finalize,
    format_address,
    prepare_item,
    recalculate,
    require_status,
    set_status,
    settle_payments,
    store_items,
)
from .errors import bad_request
from .ledger import Ledger
from .schemas import CREDIT_NOTE_PAYMENTS, CREDIT_NOTES, Record

UNPAID = frozenset({"OPEN"})
"""The state in which a credit note takes payments."""


def _check_invoice(ledger: Ledger, invoice_id: int | None, client_id: int) -> None:
    """The credited invoice must exist, be completed and belong to the same client."""
    if invoice_id is None:
        return
    invoice = ledger.find("invoices", invoice_id)
    if invoice is None:
        raise bad_request(f"invoice_id {invoice_id} does not exist")
    if invoice["status"] == "DRAFT":
        raise bad_request(f"invoice {invoice_id} is a DRAFT; only completed invoices are credited")
    if invoice.get("client_id") != client_id:
        raise bad_request(
            f"invoice {invoice_id} belongs to client {invoice.get('client_id')}, "
            f"not to client {client_id}"
        )


def create_credit_note(ledger: Ledger, values: Record, items: list[Record]) -> Record:
    """A new DRAFT credit note with its embedded items."""
    client = client_for(ledger, values.get("client_id"))
    _check_invoice(ledger, values.get("invoice_id"), client["id"])
    prepared = [prepare_item(ledger, CREDIT_NOTE, item, embedded=True) for item in items]
    credit_note = CREDIT_NOTES.new_record(values)
    apply_document_defaults(ledger, credit_note, client)
    credit_note["status"] = "DRAFT"
    credit_note["credit_note_number"] = None
    ledger.insert("credit-notes", credit_note)
    credit_note["customerportal_url"] = customerportal_url(CREDIT_NOTE, credit_note["id"])
    store_items(ledger, CREDIT_NOTE, credit_note, prepared)
    refresh_credit_note(ledger, credit_note)
    ledger.emit("credit_note.create", "credit-notes", credit_note)
    return credit_note


def update_credit_note(ledger: Ledger, credit_note: Record, values: Record) -> Record:
    """Edit the header of a DRAFT credit note."""
    require_status(CREDIT_NOTE, credit_note, {"DRAFT"}, "edit")
    client = client_for(ledger, values.get("client_id", credit_note["client_id"]))
    invoice_id = values.get("invoice_id", credit_note.get("invoice_id"))
    _check_invoice(ledger, invoice_id, client["id"])
    credit_note.update(values)
    if "client_id" in values and "address" not in values:
        credit_note["address"] = format_address(client)
    ledger.touch(credit_note)
    refresh_credit_note(ledger, credit_note)
    ledger.emit("credit_note.update", "credit-notes", credit_note)
    return credit_note


def delete_credit_note(ledger: Ledger, credit_note: Record) -> None:
    """Delete a DRAFT credit note and its items (completed ones are cancelled instead)."""
    require_status(CREDIT_NOTE, credit_note, {"DRAFT"}, "delete")
    ledger.remove_all(
        "credit-note-items",
        ledger.children("credit-note-items", "credit_note_id", credit_note["id"]),
    )
    ledger.remove("credit-notes", credit_note["id"])
    ledger.emit("credit_note.delete", "credit-notes", credit_note)


def complete_credit_note(ledger: Ledger, credit_note: Record) -> Record:
    """DRAFT → OPEN; fixes the number (``GU1``...) and the PDF."""
    finalize(ledger, CREDIT_NOTE, credit_note)
    set_status(ledger, CREDIT_NOTE, credit_note, "OPEN")
    refresh_credit_note(ledger, credit_note)
    return credit_note


def cancel_credit_note(ledger: Ledger, credit_note: Record) -> Record:
    """OPEN/PAID → CANCELED; ``uncancel`` restores the previous state."""
    require_status(CREDIT_NOTE, credit_note, {"OPEN", "PAID"}, "cancel")
    credit_note["_status_before_cancel"] = credit_note["status"]
    set_status(ledger, CREDIT_NOTE, credit_note, "CANCELED")
    return credit_note


def uncancel_credit_note(ledger: Ledger, credit_note: Record) -> Record:
    """CANCELED → the state before cancelling."""
    require_status(CREDIT_NOTE, credit_note, {"CANCELED"}, "uncancel")
    previous = credit_note.pop("_status_before_cancel", "OPEN")
    set_status(ledger, CREDIT_NOTE, credit_note, previous)
    refresh_credit_note(ledger, credit_note)
    return credit_note


def refresh_credit_note(ledger: Ledger, credit_note: Record) -> None:
    """Recompute totals, paid and open amounts, and the PAID state."""
    recalculate(ledger, CREDIT_NOTE, credit_note)
    settle_payments(ledger, CREDIT_NOTE, CREDIT_NOTE_PAYMENTS, credit_note, UNPAID)


def book_payment(ledger: Ledger, values: Record) -> Record:
    """A payment (the money paid out) on an OPEN credit note; PAID once covered or marked."""
    return book_document_payment(
        ledger,
        CREDIT_NOTE,
        CREDIT_NOTE_PAYMENTS,
        values,
        payable=UNPAID,
        refresh=refresh_credit_note,
    )


def delete_payment(ledger: Ledger, payment: Record) -> None:
    """Remove a payment; a PAID credit note it covered becomes OPEN again."""
    delete_document_payment(
        ledger, CREDIT_NOTE, CREDIT_NOTE_PAYMENTS, payment, refresh=refresh_credit_note
    )
