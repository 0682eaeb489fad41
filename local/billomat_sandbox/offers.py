"""Offers (Angebote): DRAFT → OPEN → WON | LOST | CLEARED | CANCELED, with their undo actions."""

from __future__ import annotations

from .documents import (
    OFFER,
    apply_document_defaults,
    client_days,
    client_for,
    customerportal_url,
    finalize,
    format_address,
    prepare_item,
    recalculate,
    require_status,
    set_status,
    settle_term,
    store_items,
)
from .ledger import Ledger
from .schemas import OFFERS, Record

TRANSITIONS: dict[str, tuple[frozenset[str], str | None]] = {
    "win": (frozenset({"OPEN", "LOST"}), "WON"),
    "lose": (frozenset({"OPEN", "WON"}), "LOST"),
    "clear": (frozenset({"OPEN", "WON"}), "CLEARED"),
    "unclear": (frozenset({"CLEARED"}), None),
    "cancel": (frozenset({"OPEN", "WON", "LOST"}), "CANCELED"),
    "uncancel": (frozenset({"CANCELED"}), None),
}
"""Action → (states it is allowed in, resulting state); ``None`` restores the earlier state."""


def _settle_validity(ledger: Ledger, offer: Record, client: Record, changed: set[str]) -> None:
    settle_term(
        offer,
        changed,
        days_field="validity_days",
        date_field="validity_date",
        default_days=client_days(
            client, "offer_validity_days", ledger.settings.get("offer_validity_days")
        ),
    )


def create_offer(ledger: Ledger, values: Record, items: list[Record]) -> Record:
    """A new DRAFT offer with its embedded items."""
    client = client_for(ledger, values.get("client_id"))
    prepared = [prepare_item(ledger, OFFER, item, embedded=True) for item in items]
    offer = OFFERS.new_record(values)
    apply_document_defaults(ledger, offer, client)
    _settle_validity(ledger, offer, client, set(values))
    offer["status"] = "DRAFT"
    ledger.insert("offers", offer)
    offer["customerportal_url"] = customerportal_url(OFFER, offer["id"])
    store_items(ledger, OFFER, offer, prepared)
    recalculate(ledger, OFFER, offer)
    ledger.emit("offer.create", "offers", offer)
    return offer


def update_offer(ledger: Ledger, offer: Record, values: Record) -> Record:
    """Edit the header of a DRAFT offer."""
    require_status(OFFER, offer, {"DRAFT"}, "edit")
    client = client_for(ledger, values.get("client_id", offer["client_id"]))
    offer.update(values)
    if "client_id" in values and "address" not in values:
        offer["address"] = format_address(client)
    _settle_validity(ledger, offer, client, set(values))
    ledger.touch(offer)
    recalculate(ledger, OFFER, offer)
    ledger.emit("offer.update", "offers", offer)
    return offer


def delete_offer(ledger: Ledger, offer: Record) -> None:
    """Delete a DRAFT offer and its items."""
    require_status(OFFER, offer, {"DRAFT"}, "delete")
    ledger.remove_all("offer-items", ledger.children("offer-items", "offer_id", offer["id"]))
    ledger.remove("offers", offer["id"])
    ledger.emit("offer.delete", "offers", offer)


def complete_offer(ledger: Ledger, offer: Record) -> Record:
    """DRAFT → OPEN with its final offer number."""
    finalize(ledger, OFFER, offer)
    set_status(ledger, OFFER, offer, "OPEN")
    return offer


def change_offer_status(ledger: Ledger, offer: Record, action: str) -> Record:
    """Apply ``win``, ``lose``, ``clear``, ``unclear``, ``cancel`` or ``uncancel``."""
    allowed, target = TRANSITIONS[action]
    require_status(OFFER, offer, allowed, action)
    if target is None:
        target = offer.pop("_status_before", "OPEN")
    else:
        offer["_status_before"] = offer["status"]
    set_status(ledger, OFFER, offer, target)
    return offer
