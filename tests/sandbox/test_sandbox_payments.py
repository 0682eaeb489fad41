"""Invoice payments: partial and full payments, mark as paid, deleting payments (§6.4)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import httpx

if TYPE_CHECKING:
    from .conftest import Billomat


def test_partial_payment_keeps_the_invoice_open_with_the_rest_open(
    billomat: Billomat,
) -> None:
    client = billomat.client()
    invoice = billomat.completed_invoice(client["id"])  # 119 gross
    payment = billomat.pay(invoice["id"], "50", type="BANK_TRANSFER")
    assert payment.status_code == 201
    booked = payment.json()["invoice-payment"]
    assert (booked["amount"], booked["type"], booked["date"]) == (
        "50",
        "BANK_TRANSFER",
        "2025-03-10",
    )
    after = billomat.get("invoices", invoice["id"], "invoice")
    assert (after["status"], after["paid_amount"], after["open_amount"]) == ("OPEN", "50", "69")


def test_payments_covering_the_open_amount_make_the_invoice_paid(billomat: Billomat) -> None:
    client = billomat.client()
    invoice = billomat.completed_invoice(client["id"])
    billomat.pay(invoice["id"], "100")
    billomat.pay(invoice["id"], "19")
    after = billomat.get("invoices", invoice["id"], "invoice")
    assert (after["status"], after["paid_amount"], after["open_amount"]) == ("PAID", "119", "0")


def test_mark_invoice_as_paid_closes_a_short_payment(billomat: Billomat) -> None:
    client = billomat.client()
    invoice = billomat.completed_invoice(client["id"], discount_rate=2, discount_days=10)
    billomat.pay(invoice["id"], "116.62", mark_invoice_as_paid=1)
    after = billomat.get("invoices", invoice["id"], "invoice")
    assert (after["status"], after["paid_amount"], after["open_amount"]) == (
        "PAID",
        "116.62",
        "0",
    )


def test_payments_only_on_open_or_overdue_invoices(billomat: Billomat) -> None:
    client = billomat.client()
    draft = billomat.invoice(client["id"], {"title": "A", "quantity": 1, "unit_price": 10})
    assert billomat.pay(draft["id"], "5").status_code == 400
    paid = billomat.completed_invoice(client["id"])
    assert billomat.pay(paid["id"], "119").status_code == 201
    assert billomat.pay(paid["id"], "1").status_code == 400
    cancelled = billomat.completed_invoice(client["id"])
    billomat.action("invoices", cancelled["id"], "cancel")
    assert billomat.pay(cancelled["id"], "5").status_code == 400


def test_payment_needs_a_positive_amount_and_a_known_type(billomat: Billomat) -> None:
    client = billomat.client()
    invoice = billomat.completed_invoice(client["id"])
    assert billomat.pay(invoice["id"], "0").status_code == 400
    assert billomat.pay(invoice["id"], "-5").status_code == 400
    assert billomat.pay(invoice["id"], "5", type="BITCOIN").status_code == 400
    missing = billomat.api.post("invoice-payments", json={"invoice-payment": {"amount": "5"}})
    assert missing.status_code == 400


def test_deleting_a_payment_reopens_the_invoice(billomat: Billomat, api: httpx.Client) -> None:
    client = billomat.client()
    invoice = billomat.completed_invoice(client["id"], date="2025-01-01")  # already overdue
    payment = billomat.pay(invoice["id"], "119").json()["invoice-payment"]
    assert billomat.invoice_status(invoice["id"]) == "PAID"
    assert api.delete(f"invoice-payments/{payment['id']}").status_code == 200
    after = billomat.get("invoices", invoice["id"], "invoice")
    assert (after["status"], after["paid_amount"], after["open_amount"]) == ("OVERDUE", "0", "119")


def test_payments_cannot_be_edited(billomat: Billomat, api: httpx.Client) -> None:
    client = billomat.client()
    invoice = billomat.completed_invoice(client["id"])
    payment = billomat.pay(invoice["id"], "10").json()["invoice-payment"]
    edit = api.put(f"invoice-payments/{payment['id']}", json={"invoice-payment": {"amount": 5}})
    assert edit.status_code == 405
