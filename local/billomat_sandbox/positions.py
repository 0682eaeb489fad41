"""Items (positions) of invoices, credit notes, offers, reminders and recurrings as their own
resources."""

from __future__ import annotations

from collections.abc import Callable

from . import credit_notes, dunning, invoicing
from .documents import (
    OFFER,
    RECURRING,
    DocumentKind,
    prepare_item,
    recalculate,
    require_status,
    store_items,
)
from .errors import bad_request
from .ledger import Ledger
from .schemas import Record

Refresh = Callable[[Ledger, Record], None]


def _refresh_offer(ledger: Ledger, offer: Record) -> None:
    recalculate(ledger, OFFER, offer)


def _refresh_recurring(ledger: Ledger, recurring: Record) -> None:
    recalculate(ledger, RECURRING, recurring)


REFRESH: dict[str, Refresh] = {
    "invoice": invoicing.refresh_invoice,
    "credit_note": credit_notes.refresh_credit_note,
    "offer": _refresh_offer,
    "reminder": dunning.refresh_reminder,
    "recurring": _refresh_recurring,
}
"""How each document recomputes itself after its items changed."""


def _editable_document(ledger: Ledger, kind: DocumentKind, document_id: int) -> Record:
    document = ledger.find(kind.schema.plural, document_id)
    if document is None:
        raise bad_request(f"{kind.parent_key} {document_id} does not exist")
    if kind is not RECURRING:
        require_status(kind, document, {"DRAFT"}, "change the items of")
    return document


def _after_change(ledger: Ledger, kind: DocumentKind, document: Record) -> None:
    REFRESH[kind.name](ledger, document)
    ledger.touch(document)
    ledger.emit(f"{kind.name}.update", kind.schema.plural, document)


def add_item(ledger: Ledger, kind: DocumentKind, values: Record) -> Record:
    """Append an item to a document that may still change (drafts; recurrings always)."""
    kind.item_schema.missing(values)
    document = _editable_document(ledger, kind, values[kind.parent_key])
    item = prepare_item(ledger, kind, values, embedded=False)
    store_items(ledger, kind, document, [item])
    _after_change(ledger, kind, document)
    return item


def update_item(ledger: Ledger, kind: DocumentKind, item: Record, values: Record) -> Record:
    """Edit an item; the document's totals follow."""
    if values.get(kind.parent_key) not in {None, item[kind.parent_key]}:
        raise bad_request(f"{kind.parent_key} of an item cannot change")
    document = _editable_document(ledger, kind, item[kind.parent_key])
    changes = dict(values)
    if changes.get("tax_name") is not None and changes.get("tax_rate") is None:
        named = ledger.tax_named(changes["tax_name"])
        if named is None:
            raise bad_request(f"tax_name {changes['tax_name']!r} does not exist")
        changes["tax_rate"] = named["rate"]
    elif changes.get("tax_rate") is not None and changes.get("tax_name") is None:
        known = ledger.tax_with_rate(changes["tax_rate"])
        if known is not None:
            changes["tax_name"] = known["name"]
    item.update(changes)
    _after_change(ledger, kind, document)
    return item


def delete_item(ledger: Ledger, kind: DocumentKind, item: Record) -> None:
    """Remove an item from a document that may still change."""
    document = _editable_document(ledger, kind, item[kind.parent_key])
    ledger.remove(kind.item_schema.plural, item["id"])
    _after_change(ledger, kind, document)
