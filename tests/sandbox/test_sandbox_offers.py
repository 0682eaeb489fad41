"""Offers: DRAFT → OPEN → WON | LOST | CLEARED | CANCELED and back (§6.7)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import httpx

if TYPE_CHECKING:
    from .conftest import Billomat


def offer(billomat: Billomat) -> dict[str, Any]:
    client = billomat.client()
    return billomat.create(
        "offers",
        "offer",
        {
            "client_id": client["id"],
            "offer-items": {
                "offer-item": [
                    {"title": "Website", "quantity": 1, "unit_price": "2000"},
                    {"title": "Wartung", "quantity": 1, "unit_price": "500", "optional": 1},
                ]
            },
        },
    )


def status_after(billomat: Billomat, offer_id: str, action: str) -> tuple[int, str]:
    response = billomat.action("offers", offer_id, action)
    return response.status_code, billomat.get("offers", offer_id, "offer")["status"]


def test_offer_draft_excludes_optional_items_from_totals(billomat: Billomat) -> None:
    draft = offer(billomat)
    assert (draft["status"], draft["total_net"], draft["total_gross"]) == ("DRAFT", "2000", "2380")
    assert (draft["validity_days"], draft["validity_date"]) == ("14", "2025-03-24")


def test_offer_is_numbered_on_complete_and_can_be_won_and_cleared(billomat: Billomat) -> None:
    draft = offer(billomat)
    assert status_after(billomat, draft["id"], "win") == (400, "DRAFT")
    completed = billomat.action("offers", draft["id"], "complete").json()["offer"]
    assert (completed["status"], completed["offer_number"]) == ("OPEN", "AN1")
    assert status_after(billomat, draft["id"], "win") == (200, "WON")
    assert status_after(billomat, draft["id"], "clear") == (200, "CLEARED")
    assert status_after(billomat, draft["id"], "unclear") == (200, "WON")
    assert status_after(billomat, draft["id"], "unclear") == (400, "WON")


def test_offer_can_be_lost_cancelled_and_uncancelled(billomat: Billomat) -> None:
    draft = offer(billomat)
    billomat.action("offers", draft["id"], "complete")
    assert status_after(billomat, draft["id"], "lose") == (200, "LOST")
    assert status_after(billomat, draft["id"], "cancel") == (200, "CANCELED")
    assert status_after(billomat, draft["id"], "win") == (400, "CANCELED")
    assert status_after(billomat, draft["id"], "uncancel") == (200, "LOST")


def test_offer_items_and_header_only_change_while_draft(
    billomat: Billomat, api: httpx.Client
) -> None:
    draft = offer(billomat)
    added = api.post(
        "offer-items",
        json={
            "offer-item": {
                "offer_id": draft["id"],
                "title": "SEO",
                "quantity": 1,
                "unit_price": 100,
            }
        },
    )
    assert added.status_code == 201
    assert billomat.get("offers", draft["id"], "offer")["total_net"] == "2100"
    billomat.action("offers", draft["id"], "complete")
    assert api.put(f"offers/{draft['id']}", json={"offer": {"title": "x"}}).status_code == 400
    late = api.post(
        "offer-items",
        json={
            "offer-item": {"offer_id": draft["id"], "title": "x", "quantity": 1, "unit_price": 1}
        },
    )
    assert late.status_code == 400


def test_invoice_from_a_won_offer_keeps_the_link(billomat: Billomat, api: httpx.Client) -> None:
    draft = offer(billomat)
    billomat.action("offers", draft["id"], "complete")
    billomat.action("offers", draft["id"], "win")
    invoice = billomat.invoice(
        draft["client_id"],
        {"title": "Website", "quantity": 1, "unit_price": "2000"},
        offer_id=draft["id"],
    )
    found = api.get("invoices", params={"offer_id": draft["id"]}).json()["invoices"]["invoice"]
    assert found["id"] == invoice["id"]
    assert (
        api.post(
            "invoices", json={"invoice": {"client_id": draft["client_id"], "offer_id": 999999}}
        ).status_code
        == 400
    )
