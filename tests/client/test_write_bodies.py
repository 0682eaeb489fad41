"""Writes go out in Billomat's envelopes, with exact Decimal strings and 1/0 booleans."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from autopilot.billomat import (
    BillomatClient,
    ClientDraft,
    InvoiceChanges,
    InvoiceDraft,
    InvoiceItemDraft,
    InvoicePayment,
    NetGross,
    OfferDraft,
    OfferItemDraft,
    PaymentDraft,
    PaymentType,
    ReminderDraft,
)
from autopilot.billomat.envelope import decimal_text

from .conftest import ScriptedBillomat, reply

CREATED_INVOICE = {
    "invoice": {"id": "77", "status": "DRAFT", "customfield": "shop:1001", "total_gross": "119"}
}


def test_invoice_is_created_with_embedded_items(
    client: BillomatClient, billomat: ScriptedBillomat
) -> None:
    billomat.answer(reply(CREATED_INVOICE, status=201))
    invoice = client.create_invoice(
        InvoiceDraft(
            client_id=5,
            date=dt.date(2025, 3, 1),
            net_gross=NetGross.GROSS,
            label="Order #1001",
            customfield="shop:1001",
            payment_types=[PaymentType.PAYPAL, PaymentType.BANK_TRANSFER],
            items=[
                InvoiceItemDraft(
                    title="Shirt", quantity=Decimal("2"), unit_price=Decimal("50.00"), tax_rate=19
                ),
                InvoiceItemDraft(title="Shipping", quantity=1, unit_price="19.00", tax_rate=19),
            ],
        )
    )
    request = billomat.last
    assert (request.method, request.url.path) == ("POST", "/api/invoices")
    assert billomat.body() == {
        "invoice": {
            "client_id": 5,
            "date": "2025-03-01",
            "net_gross": "GROSS",
            "label": "Order #1001",
            "payment_types": "PAYPAL,BANK_TRANSFER",
            "customfield": "shop:1001",
            "invoice-items": {
                "invoice-item": [
                    {"title": "Shirt", "quantity": "2", "unit_price": "50.00", "tax_rate": "19"},
                    {"title": "Shipping", "quantity": "1", "unit_price": "19.00", "tax_rate": "19"},
                ]
            },
        }
    }
    assert invoice.id == 77
    assert len(billomat.requests) == 1  # customfield stored by the POST: no extra PUT


def test_customfield_is_set_afterwards_when_create_ignored_it(
    client: BillomatClient, billomat: ScriptedBillomat
) -> None:
    billomat.answer(
        reply({"invoice": {"id": "77", "status": "DRAFT", "customfield": ""}}, status=201),
        reply(),
    )
    invoice = client.create_invoice(InvoiceDraft(client_id=5, customfield="shop:1001"))
    put = billomat.requests[1]
    assert (put.method, put.url.path) == ("PUT", "/api/invoices/77/customfield")
    assert billomat.body(1) == {"invoice": {"customfield": "shop:1001"}}
    assert invoice.customfield == "shop:1001"


def test_payment_body_uses_invoice_payment_envelope(
    client: BillomatClient, billomat: ScriptedBillomat
) -> None:
    billomat.answer(
        reply(
            {"invoice-payment": {"id": "3", "invoice_id": "77", "amount": "92.31"}},
            status=201,
        )
    )
    payment = client.book_payment(
        77,
        Decimal("92.31"),
        dt.date(2025, 3, 5),
        PaymentType.BANK_TRANSFER,
        "RE198 Skonto",
        mark_invoice_as_paid=True,
    )
    assert billomat.last.url.path == "/api/invoice-payments"
    assert billomat.body() == {
        "invoice-payment": {
            "invoice_id": 77,
            "amount": "92.31",
            "date": "2025-03-05",
            "type": "BANK_TRANSFER",
            "comment": "RE198 Skonto",
            "mark_invoice_as_paid": 1,
        }
    }
    assert payment == InvoicePayment(id=3, invoice_id=77, amount=Decimal("92.31"))


def test_unpaid_flag_is_sent_as_zero() -> None:
    body = PaymentDraft(invoice_id=1, amount=Decimal("1")).to_billomat()
    assert body["mark_invoice_as_paid"] == 0


def test_reminder_has_no_level_field(client: BillomatClient, billomat: ScriptedBillomat) -> None:
    with pytest.raises(ValidationError, match="level"):
        ReminderDraft(invoice_id=1, level=2)  # type: ignore[call-arg]
    billomat.answer(
        reply({"reminder": {"id": "9", "status": "DRAFT", "reminder_level": "1"}}, status=201)
    )
    reminder = client.create_reminder(
        ReminderDraft(invoice_id=77, date=dt.date(2025, 4, 1), due_days=7)
    )
    assert billomat.body() == {"reminder": {"invoice_id": 77, "date": "2025-04-01", "due_days": 7}}
    assert reminder.reminder_level == 1


def test_offer_items_embedded_with_optional_flag(
    client: BillomatClient, billomat: ScriptedBillomat
) -> None:
    billomat.answer(reply({"offer": {"id": "4", "status": "DRAFT"}}, status=201))
    client.create_offer(
        OfferDraft(
            client_id=5,
            items=[OfferItemDraft(title="Extra", unit_price="10", quantity=1, optional=True)],
        )
    )
    assert billomat.body()["offer"]["offer-items"] == {
        "offer-item": [{"title": "Extra", "unit_price": "10", "quantity": "1", "optional": 1}]
    }


def test_client_draft_omits_unset_fields(
    client: BillomatClient, billomat: ScriptedBillomat
) -> None:
    billomat.answer(reply({"client": {"id": "8", "customfield": "shopify:42"}}, status=201))
    client.create_client(
        ClientDraft(name="Max Muster", email="max@example.de", customfield="shopify:42")
    )
    assert billomat.body() == {
        "client": {"name": "Max Muster", "email": "max@example.de", "customfield": "shopify:42"}
    }


def test_update_puts_only_changed_fields(
    client: BillomatClient, billomat: ScriptedBillomat
) -> None:
    billomat.answer(reply({"invoice": {"id": "77", "status": "DRAFT", "label": "new"}}))
    invoice = client.update_invoice(77, InvoiceChanges(label="new"))
    assert (billomat.last.method, billomat.last.url.path) == ("PUT", "/api/invoices/77")
    assert billomat.body() == {"invoice": {"label": "new"}}
    assert invoice.label == "new"


def test_update_with_empty_answer_refetches_the_record(
    client: BillomatClient, billomat: ScriptedBillomat
) -> None:
    billomat.answer(reply(), reply({"invoice": {"id": "77", "status": "DRAFT", "label": "new"}}))
    invoice = client.update_invoice(77, InvoiceChanges(label="new"))
    assert [r.method for r in billomat.requests] == ["PUT", "GET"]
    assert invoice.label == "new"


def test_floats_are_refused_for_money() -> None:
    with pytest.raises(ValidationError, match="never float"):
        PaymentDraft(invoice_id=1, amount=0.1)


def test_non_finite_amounts_are_refused() -> None:
    with pytest.raises(ValidationError):
        PaymentDraft(invoice_id=1, amount=Decimal("Infinity"))


@pytest.mark.parametrize(
    ("amount", "text"),
    [
        (Decimal("119.00"), "119.00"),
        (Decimal("119"), "119"),
        (Decimal("1E+2"), "100"),
        (Decimal("0.0000001"), "0.0000001"),
        (Decimal("-5.10"), "-5.10"),
    ],
)
def test_decimal_is_written_plain_without_exponent(amount: Decimal, text: str) -> None:
    assert decimal_text(amount) == text
    assert PaymentDraft(invoice_id=1, amount=amount).to_billomat()["amount"] == text


@given(st.decimals(allow_nan=False, allow_infinity=False, min_value=-(10**9), max_value=10**9))
def test_decimal_amounts_round_trip_exactly(amount: Decimal) -> None:
    text = PaymentDraft(invoice_id=1, amount=amount).to_billomat()["amount"]
    assert "E" not in text.upper()
    assert Decimal(text) == amount
    parsed = InvoicePayment.model_validate({"id": "1", "amount": text})
    assert parsed.amount == amount


@given(st.decimals(allow_nan=False, allow_infinity=False, places=2, min_value=0, max_value=10**7))
def test_cent_amounts_keep_their_scale(amount: Decimal) -> None:
    text = PaymentDraft(invoice_id=1, amount=amount).to_billomat()["amount"]
    assert text == f"{amount:f}"
    assert Decimal(text).as_tuple() == amount.as_tuple()
