"""Billomat's XML-shaped JSON becomes typed models: lists always lists, strings parsed once."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from autopilot.billomat import (
    BillomatClient,
    BillomatUnexpectedResponseError,
    Client,
    Invoice,
    InvoiceStatus,
    PaymentType,
)
from autopilot.billomat.envelope import collection_items, error_messages, unwrap_list

from .conftest import ScriptedBillomat, listing, reply

# Shaped like a real NET fixture: every scalar a string, empties as "", null or {}.
REAL_INVOICE = {
    "id": "1322705",
    "created": "2015-06-04T16:12:59+02:00",
    "client_id": "476314",
    "contact_id": "",
    "invoice_number": "RE198",
    "number": "198",
    "number_pre": "RE",
    "status": "PAID",
    "date": "2015-06-04",
    "supply_date": "",
    "due_date": "2015-06-18",
    "due_days": "14",
    "discount_rate": "2",
    "discount_date": "2015-06-11",
    "discount_days": "7",
    "discount_amount": None,
    "label": "shop-1001",
    "customfield": {},
    "total_net": "3878.57",
    "total_gross": "4615.5",
    "paid_amount": "4523.19",
    "open_amount": "0",
    "currency_code": "EUR",
    "quote": "1",
    "offer_id": "",
    "recurring_id": "",
    "taxes": {
        "tax": {"name": "MwSt", "rate": "19", "amount": "736.93", "amount_plain": "736.9283"}
    },
    "some_future_field": "ignored",
}


def test_single_record_is_unwrapped_and_parsed(
    client: BillomatClient, billomat: ScriptedBillomat
) -> None:
    billomat.answer(reply({"invoice": REAL_INVOICE}))
    invoice = client.get_invoice(1322705)
    assert invoice.id == 1322705
    assert invoice.client_id == 476314
    assert invoice.status is InvoiceStatus.PAID
    assert invoice.total_gross == Decimal("4615.5")
    assert invoice.paid_amount == Decimal("4523.19")
    assert invoice.open_amount == Decimal("0")
    assert invoice.date == dt.date(2015, 6, 4)
    assert invoice.due_date == dt.date(2015, 6, 18)
    assert invoice.discount_rate == Decimal("2")
    assert invoice.discount_date == dt.date(2015, 6, 11)
    assert invoice.created == dt.datetime(2015, 6, 4, 14, 12, 59, tzinfo=dt.UTC)
    assert invoice.invoice_number == "RE198"
    assert invoice.label == "shop-1001"


def test_empty_spellings_become_none(client: BillomatClient, billomat: ScriptedBillomat) -> None:
    billomat.answer(reply({"invoice": REAL_INVOICE}))
    invoice = client.get_invoice(1322705)
    assert invoice.contact_id is None  # ""
    assert invoice.discount_amount is None  # null
    assert invoice.customfield is None  # {}
    assert invoice.supply_date is None
    assert invoice.offer_id is None


def test_money_is_decimal_never_float(client: BillomatClient, billomat: ScriptedBillomat) -> None:
    billomat.answer(reply({"invoice": REAL_INVOICE}))
    invoice = client.get_invoice(1322705)
    for value in (invoice.total_gross, invoice.total_net, invoice.taxes[0].amount):
        assert type(value) is Decimal


def test_json_numbers_are_read_as_decimal_not_float(
    client: BillomatClient, billomat: ScriptedBillomat
) -> None:
    # A sandbox might send real JSON numbers; 0.1 + 0.2 must still be exact.
    billomat.answer(
        reply(text='{"invoice": {"id": 7, "status": "OPEN", "total_gross": 0.30000000000000004}}')
    )
    invoice = client.get_invoice(7)
    assert invoice.total_gross == Decimal("0.30000000000000004")


def test_nested_single_tax_becomes_a_list(
    client: BillomatClient, billomat: ScriptedBillomat
) -> None:
    billomat.answer(reply({"invoice": REAL_INVOICE}))
    invoice = client.get_invoice(1322705)
    assert len(invoice.taxes) == 1
    assert invoice.taxes[0].rate == Decimal("19")
    assert invoice.taxes[0].amount_plain == Decimal("736.9283")


@pytest.mark.parametrize("empty", ["", {}, None, {"tax": ""}, {"tax": []}])
def test_empty_nested_collection_is_an_empty_list(empty: object) -> None:
    invoice = Invoice.model_validate({"id": "1", "status": "DRAFT", "taxes": empty})
    assert invoice.taxes == []


def test_nested_tax_array_is_kept() -> None:
    invoice = Invoice.model_validate(
        {
            "id": "1",
            "status": "OPEN",
            "taxes": {"tax": [{"rate": "19", "amount": "19"}, {"rate": "7", "amount": "0.7"}]},
        }
    )
    assert [tax.rate for tax in invoice.taxes] == [Decimal("19"), Decimal("7")]


def test_embedded_invoice_items_are_read_when_present() -> None:
    invoice = Invoice.model_validate(
        {
            "id": "1",
            "status": "DRAFT",
            "invoice-items": {"invoice-item": {"id": "9", "quantity": "2", "unit_price": "5.5"}},
        }
    )
    assert invoice.items[0].quantity == Decimal("2")
    assert invoice.items[0].unit_price == Decimal("5.5")


def test_list_with_one_hit_as_object_is_a_list(
    client: BillomatClient, billomat: ScriptedBillomat
) -> None:
    billomat.answer(reply(listing("clients", "client", [{"id": "3", "name": "Solo"}])))
    clients = list(client.iter_clients())
    assert [c.id for c in clients] == [3]


def test_list_with_zero_hits_has_no_item_key(
    client: BillomatClient, billomat: ScriptedBillomat
) -> None:
    billomat.answer(reply({"invoice-payments": {"@page": "1", "@per_page": "1000", "@total": "0"}}))
    assert list(client.iter_invoice_payments(invoice_id=4)) == []


def test_list_with_many_hits(client: BillomatClient, billomat: ScriptedBillomat) -> None:
    billomat.answer(
        reply(listing("clients", "client", [{"id": "1"}, {"id": "2", "email": "a@b.de"}]))
    )
    assert [c.id for c in client.iter_clients()] == [1, 2]


def test_unwrap_list_tolerates_empty_root_and_reads_attributes() -> None:
    assert unwrap_list({"invoices": ""}, "invoices", "invoice").records == []
    page = unwrap_list(
        {"invoices": {"invoice": {"id": "1"}, "@page": "2", "@per_page": "5", "@total": "6"}},
        "invoices",
        "invoice",
    )
    assert (page.page, page.per_page, page.total, page.records) == (2, 5, 6, [{"id": "1"}])


def test_collection_items_accepts_every_shape() -> None:
    assert collection_items({"tax": {"id": "1"}}, "tax") == [{"id": "1"}]
    assert collection_items({"tax": [{"id": "1"}, {"id": "2"}]}, "tax") == [
        {"id": "1"},
        {"id": "2"},
    ]
    assert collection_items("", "tax") == []
    assert collection_items({"@total": "0"}, "tax") == []


def test_string_flags_become_booleans_and_ids_ints() -> None:
    client = Client.model_validate(
        {"id": "12", "dunning_run": "1", "archived": "0", "number": "", "client_number": "KD12"}
    )
    assert client.dunning_run is True
    assert client.archived is False
    assert client.number is None
    assert client.client_number == "KD12"


def test_missing_open_amount_is_total_minus_paid() -> None:
    invoice = Invoice.model_validate(
        {"id": "1", "status": "OPEN", "total_gross": "119.00", "paid_amount": "19.5"}
    )
    assert invoice.open_amount == Decimal("99.50")


def test_payment_type_parsed_including_read_only_correction() -> None:
    from autopilot.billomat import InvoicePayment

    payment = InvoicePayment.model_validate(
        {"id": "1", "amount": "10", "type": "INVOICE_CORRECTION", "date": "2025-01-02"}
    )
    assert payment.type is PaymentType.INVOICE_CORRECTION


def test_wrong_envelope_is_an_unexpected_response(
    client: BillomatClient, billomat: ScriptedBillomat
) -> None:
    billomat.answer(reply({"offer": {"id": "1", "status": "OPEN"}}))
    with pytest.raises(BillomatUnexpectedResponseError, match="'invoice'") as caught:
        client.get_invoice(1)
    assert caught.value.status_code == 200
    assert caught.value.path == "/api/invoices/1"


def test_html_answer_to_a_read_is_an_unexpected_response(
    client: BillomatClient, billomat: ScriptedBillomat
) -> None:
    billomat.answer(reply(text="<html>maintenance</html>"))
    with pytest.raises(BillomatUnexpectedResponseError, match="not JSON"):
        client.get_invoice(1)


def test_invalid_field_is_reported_with_its_name(
    client: BillomatClient, billomat: ScriptedBillomat
) -> None:
    billomat.answer(reply({"invoice": {"id": "1", "status": "OPEN", "total_gross": "lots"}}))
    with pytest.raises(BillomatUnexpectedResponseError, match="total_gross"):
        client.get_invoice(1)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"errors": {"error": "client_id missing"}}, ["client_id missing"]),
        ({"errors": {"error": ["a", "b"]}}, ["a", "b"]),
        ({"errors": ""}, []),
        ("plain", []),
    ],
)
def test_error_messages_are_read_in_both_shapes(body: object, expected: list[str]) -> None:
    assert error_messages(body) == expected
