"""Complete, PDF, e-mail, cancel, offers, recurrings, dunning levels, settings and reports."""

from __future__ import annotations

import base64
import datetime as dt
from decimal import Decimal

import httpx
import pytest

from autopilot.billomat import (
    BillomatClient,
    BillomatValidationError,
    InvoiceItemDraft,
    InvoiceStatus,
    OfferStatus,
    RecurringAction,
    RecurringCycle,
    RecurringDraft,
    RecurringItemDraft,
)

from .conftest import ScriptedBillomat, listing, reply

PDF_BYTES = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\nfake invoice\n%%EOF"


def test_complete_sends_template_and_tolerates_empty_body(
    client: BillomatClient, billomat: ScriptedBillomat
) -> None:
    billomat.answer(reply())
    client.complete_invoice(7, template_id=3)
    assert (billomat.last.method, billomat.last.url.path) == ("PUT", "/api/invoices/7/complete")
    assert billomat.body() == {"complete": {"template_id": 3}}


def test_complete_without_template_sends_empty_complete(
    client: BillomatClient, billomat: ScriptedBillomat
) -> None:
    billomat.answer(reply({"invoice": {"id": "7", "status": "OPEN"}}))
    client.complete_invoice(7)
    assert billomat.body() == {"complete": {}}


def test_completing_an_already_completed_invoice_is_not_an_error(
    client: BillomatClient, billomat: ScriptedBillomat
) -> None:
    billomat.answer(
        reply({"errors": {"error": "Invoice is not a draft"}}, status=400),
        reply({"invoice": {"id": "7", "status": "OPEN"}}),
    )
    client.complete_invoice(7)
    assert [r.method for r in billomat.requests] == ["PUT", "GET"]


def test_completing_refused_for_another_reason_still_raises(
    client: BillomatClient, billomat: ScriptedBillomat
) -> None:
    billomat.answer(
        reply({"errors": {"error": "Invoice has no items"}}, status=400),
        reply({"invoice": {"id": "7", "status": "DRAFT"}}),
    )
    with pytest.raises(BillomatValidationError, match="no items"):
        client.complete_invoice(7)


def test_refusal_is_kept_when_the_state_check_fails_too(
    client: BillomatClient, billomat: ScriptedBillomat
) -> None:
    billomat.answer(
        reply({"errors": {"error": "Invoice has no items"}}, status=400),
        reply({"errors": {"error": "gone"}}, status=404),
    )
    with pytest.raises(BillomatValidationError, match="no items"):
        client.complete_invoice(7)


def test_pdf_is_decoded_from_base64(client: BillomatClient, billomat: ScriptedBillomat) -> None:
    billomat.answer(
        reply(
            {
                "pdf": {
                    "id": "11",
                    "invoice_id": "7",
                    "filename": "RE198.pdf",
                    "mimetype": "application/pdf",
                    "filesize": str(len(PDF_BYTES)),
                    "base64file": base64.b64encode(PDF_BYTES).decode(),
                }
            }
        )
    )
    assert client.invoice_pdf(7) == PDF_BYTES
    assert billomat.last.url.path == "/api/invoices/7/pdf"


def test_raw_pdf_answer_is_returned_as_is(
    client: BillomatClient, billomat: ScriptedBillomat
) -> None:
    billomat.answer(
        httpx.Response(200, content=PDF_BYTES, headers={"Content-Type": "application/pdf"})
    )
    assert client.reminder_pdf(3) == PDF_BYTES


def test_email_body_has_recipients_and_optional_texts(
    client: BillomatClient, billomat: ScriptedBillomat
) -> None:
    billomat.answer(reply())
    client.email_invoice(
        7,
        to="max@example.de",
        cc=["buchhaltung@acme.de", "chef@acme.de"],
        subject="Ihre Rechnung [Invoice.invoice_number]",
        body="Vielen Dank!",
        filename="RE198",
        from_="rechnung@acme.de",
    )
    assert (billomat.last.method, billomat.last.url.path) == ("POST", "/api/invoices/7/email")
    assert billomat.body() == {
        "email": {
            "recipients": {
                "to": "max@example.de",
                "cc": ["buchhaltung@acme.de", "chef@acme.de"],
            },
            "subject": "Ihre Rechnung [Invoice.invoice_number]",
            "body": "Vielen Dank!",
            "filename": "RE198",
            "from": "rechnung@acme.de",
        }
    }


def test_email_without_recipient_is_refused_before_sending(
    client: BillomatClient, billomat: ScriptedBillomat
) -> None:
    with pytest.raises(ValueError, match="'to'"):
        client.email_invoice(7, to=["  "])
    assert billomat.requests == []


def test_cancel_and_uncancel_tolerate_empty_bodies(
    client: BillomatClient, billomat: ScriptedBillomat
) -> None:
    billomat.answer(reply(), reply())
    client.cancel_invoice(7)
    client.uncancel_invoice(7)
    assert [r.url.path for r in billomat.requests] == [
        "/api/invoices/7/cancel",
        "/api/invoices/7/uncancel",
    ]


def test_delete_tolerates_empty_body(client: BillomatClient, billomat: ScriptedBillomat) -> None:
    billomat.answer(reply(), reply())
    client.delete_invoice(7)
    client.delete_invoice_payment(3)
    assert [r.method for r in billomat.requests] == ["DELETE", "DELETE"]


def test_customfield_is_set_through_its_own_endpoint(
    client: BillomatClient, billomat: ScriptedBillomat
) -> None:
    billomat.answer(reply(), reply())
    client.set_client_customfield(4, "shopify:42")
    client.set_invoice_customfield(7, "shop:1001")
    assert billomat.requests[0].url.path == "/api/clients/4/customfield"
    assert billomat.body(0) == {"client": {"customfield": "shopify:42"}}
    assert billomat.body(1) == {"invoice": {"customfield": "shop:1001"}}


def test_invoice_items_are_listed_and_added(
    client: BillomatClient, billomat: ScriptedBillomat
) -> None:
    billomat.answer(
        reply(
            listing(
                "invoice-items",
                "invoice-item",
                [{"id": "1", "invoice_id": "7", "quantity": "1.5", "unit_price": "10"}],
            )
        ),
        reply({"invoice-item": {"id": "2", "invoice_id": "7", "total_gross": "11.9"}}, status=201),
    )
    items = client.list_invoice_items(7)
    assert items[0].quantity == Decimal("1.5")
    assert billomat.requests[0].url.params["invoice_id"] == "7"
    item = client.add_invoice_item(7, InvoiceItemDraft(title="Fee", unit_price="10", quantity=1))
    assert billomat.body() == {
        "invoice-item": {"invoice_id": 7, "title": "Fee", "unit_price": "10", "quantity": "1"}
    }
    assert item.total_gross == Decimal("11.9")


def test_revenue_groups_have_decimal_totals(
    client: BillomatClient, billomat: ScriptedBillomat
) -> None:
    billomat.answer(
        reply(
            {
                "invoice-groups": {
                    "invoice-group": [
                        {
                            "month": "2025-01",
                            "total_net": "1000",
                            "total_gross": "1190.00",
                            "invoice-params": {"from": "2025-01-01", "to": "2025-01-31"},
                        },
                        {"month": "2025-02", "total_net": "50.5", "total_gross": "60.10"},
                    ],
                    "currency_code": "EUR",
                }
            }
        )
    )
    groups = client.group_invoices(
        ["month"],
        status=InvoiceStatus.PAID,
        date_from=dt.date(2025, 1, 1),
        date_to=dt.date(2025, 12, 31),
    )
    params = billomat.last.url.params
    assert (params["group_by"], params["status"], params["from"]) == ("month", "PAID", "2025-01-01")
    assert [g.total_gross for g in groups] == [Decimal("1190.00"), Decimal("60.10")]
    assert groups[0].currency_code == "EUR"
    assert groups[0].invoice_params == {"from": "2025-01-01", "to": "2025-01-31"}
    assert groups[1].invoice_params == {}


def test_group_by_single_group_and_unknown_field(
    client: BillomatClient, billomat: ScriptedBillomat
) -> None:
    billomat.answer(
        reply(
            {
                "invoice-groups": {
                    "invoice-group": {"client_id": "4", "year": "2025", "total_gross": "5"}
                }
            }
        )
    )
    groups = client.group_invoices(["client", "year"])
    assert billomat.last.url.params["group_by"] == "client,year"
    assert groups[0].client_id == 4
    with pytest.raises(ValueError, match="group_by"):
        client.group_invoices(["quarter"])


def test_offer_life_cycle_actions(client: BillomatClient, billomat: ScriptedBillomat) -> None:
    billomat.answer(reply(), reply(), reply(), reply(), reply())
    client.complete_offer(4)
    client.win_offer(4)
    client.clear_offer(4)
    client.lose_offer(5)
    client.cancel_offer(6)
    assert [r.url.path.removeprefix("/api/offers/") for r in billomat.requests] == [
        "4/complete",
        "4/win",
        "4/clear",
        "5/lose",
        "6/cancel",
    ]
    assert all(r.method == "PUT" for r in billomat.requests)


def test_winning_an_offer_twice_is_fine(client: BillomatClient, billomat: ScriptedBillomat) -> None:
    billomat.answer(
        reply({"errors": {"error": "Offer already won"}}, status=400),
        reply({"offer": {"id": "4", "status": "WON"}}),
    )
    client.win_offer(4)


def test_offer_with_items(client: BillomatClient, billomat: ScriptedBillomat) -> None:
    billomat.answer(
        reply(
            {
                "offer": {
                    "id": "4",
                    "status": "WON",
                    "offer_number": "AN12",
                    "total_gross": "119",
                    "validity_date": "2025-05-01",
                }
            }
        ),
        reply(
            listing(
                "offer-items",
                "offer-item",
                [
                    {"id": "1", "offer_id": "4", "unit_price": "100", "optional": "0"},
                    {"id": "2", "offer_id": "4", "unit_price": "20", "optional": "1"},
                ],
            )
        ),
    )
    offer = client.get_offer(4)
    assert offer.status is OfferStatus.WON
    assert offer.validity_date == dt.date(2025, 5, 1)
    items = client.list_offer_items(4)
    assert [item.optional for item in items] == [False, True]


def test_recurring_is_read_created_and_stopped(
    client: BillomatClient, billomat: ScriptedBillomat
) -> None:
    recurring = {
        "id": "21",
        "client_id": "4",
        "action": "EMAIL",
        "cycle": "MONTHLY",
        "cycle_number": "1",
        "next_creation_date": "2025-06-01",
        "last_creation_date": "",
        "hour": "2",
        "counter": "3",
    }
    billomat.answer(
        reply(listing("recurrings", "recurring", [recurring])),
        reply({"recurring": recurring}, status=201),
        reply(),
        reply(
            listing(
                "recurring-email-receivers",
                "recurring-email-receiver",
                [{"id": "1", "recurring_id": "21", "type": "to", "address": "max@example.de"}],
            )
        ),
        reply(listing("recurring-items", "recurring-item", [])),
    )
    [found] = list(client.iter_recurrings())
    assert found.action is RecurringAction.EMAIL
    assert found.cycle is RecurringCycle.MONTHLY
    assert found.next_creation_date == dt.date(2025, 6, 1)
    assert found.last_creation_date is None
    client.create_recurring(
        RecurringDraft(
            client_id=4,
            action=RecurringAction.EMAIL,
            cycle=RecurringCycle.MONTHLY,
            items=[RecurringItemDraft(title="Hosting", unit_price="9.90", quantity=1)],
        )
    )
    assert billomat.body(1)["recurring"]["recurring-items"] == {
        "recurring-item": [{"title": "Hosting", "unit_price": "9.90", "quantity": "1"}]
    }
    client.stop_recurring(21)
    assert billomat.requests[2].url.path == "/api/recurrings/21/stop"
    receivers = client.list_recurring_email_receivers(21)
    assert receivers[0].address == "max@example.de"
    assert client.list_recurring_items(21) == []
    assert billomat.requests[4].url.params["recurring_id"] == "21"


def test_reminder_flow_and_dunning_levels(
    client: BillomatClient, billomat: ScriptedBillomat
) -> None:
    billomat.answer(
        reply(),
        reply(),
        reply(
            listing(
                "reminder-texts",
                "reminder-text",
                [
                    {"id": "3", "name": "Letzte Mahnung", "sorting": "3", "charge_amount": "5"},
                    {"id": "1", "name": "Zahlungserinnerung", "sorting": "1", "charge_amount": ""},
                    {"id": "2", "name": "1. Mahnung", "sorting": "2", "charge_amount": "2.50"},
                ],
            )
        ),
    )
    client.complete_reminder(9)
    client.email_reminder(9, to="max@example.de", bcc="archiv@acme.de")
    assert billomat.body(1) == {
        "email": {"recipients": {"to": "max@example.de", "bcc": "archiv@acme.de"}}
    }
    levels = client.list_reminder_texts()
    assert [text.sorting for text in levels] == [1, 2, 3]
    assert levels[1].charge_amount == Decimal("2.50")
    assert levels[0].charge_amount is None


def test_taxes_and_settings(client: BillomatClient, billomat: ScriptedBillomat) -> None:
    billomat.answer(
        reply(
            listing(
                "taxes",
                "tax",
                [
                    {"id": "1", "name": "MwSt", "rate": "19", "is_default": "1"},
                    {"id": "2", "name": "MwSt ermäßigt", "rate": "7", "is_default": "0"},
                ],
            )
        ),
        reply(
            {
                "settings": {
                    "currency_code": "EUR",
                    "net_gross": "GROSS",
                    "invoice_number_pre": "RE",
                    "invoice_number_next": "199",
                    "reminder_due_days": "7",
                    "print_version": "0",
                }
            }
        ),
    )
    taxes = client.list_taxes()
    assert [(t.rate, t.is_default) for t in taxes] == [(Decimal("19"), True), (Decimal("7"), False)]
    settings = client.get_settings()
    assert settings.invoice_number_next == 199
    assert settings.reminder_due_days == 7
