"""Lists come in pages of 1000; lookups by our references match exactly, not as substrings."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import httpx
import pytest

from autopilot.billomat import BillomatClient, InvoiceStatus, PaymentType

from .conftest import ScriptedBillomat, listing, reply


def _invoices(start: int, count: int) -> list[dict[str, str]]:
    return [{"id": str(i), "status": "OPEN"} for i in range(start, start + count)]


def test_iterates_all_pages_of_1000(client: BillomatClient, billomat: ScriptedBillomat) -> None:
    billomat.answer(
        reply(listing("invoices", "invoice", _invoices(1, 1000), total="2300")),
        reply(listing("invoices", "invoice", _invoices(1001, 1000), page="2", total="2300")),
        reply(listing("invoices", "invoice", _invoices(2001, 300), page="3", total="2300")),
    )
    invoices = list(client.iter_invoices(status=[InvoiceStatus.OPEN, InvoiceStatus.OVERDUE]))
    assert len(invoices) == 2300
    assert [r.url.params["page"] for r in billomat.requests] == ["1", "2", "3"]
    assert all(r.url.params["per_page"] == "1000" for r in billomat.requests)
    assert all(r.url.params["status"] == "OPEN,OVERDUE" for r in billomat.requests)


def test_stops_when_total_reached_without_an_empty_extra_page(
    client: BillomatClient, billomat: ScriptedBillomat
) -> None:
    billomat.answer(reply(listing("invoices", "invoice", _invoices(1, 1000), total="1000")))
    assert len(list(client.iter_invoices())) == 1000
    assert len(billomat.requests) == 1


def test_follows_a_smaller_page_size_imposed_by_the_server(
    client: BillomatClient, billomat: ScriptedBillomat
) -> None:
    billomat.answer(
        reply(listing("invoices", "invoice", _invoices(1, 100), per_page="100", total="150")),
        reply(listing("invoices", "invoice", _invoices(101, 50), per_page="100", total="150")),
    )
    assert len(list(client.iter_invoices())) == 150
    assert len(billomat.requests) == 2


def test_lists_are_fetched_lazily(client: BillomatClient, billomat: ScriptedBillomat) -> None:
    iterator = client.iter_invoices()
    assert billomat.requests == []
    billomat.answer(reply(listing("invoices", "invoice", _invoices(1, 2))))
    assert next(iterator).id == 1


def test_filters_are_passed_once_each_and_dates_iso(
    client: BillomatClient, billomat: ScriptedBillomat
) -> None:
    billomat.answer(reply(listing("invoices", "invoice", [])))
    list(
        client.iter_invoices(
            client_id=5,
            status=InvoiceStatus.PAID,
            date_from=dt.date(2025, 1, 1),
            date_to=dt.date(2025, 1, 31),
            payment_type=[PaymentType.PAYPAL, PaymentType.CASH],
            order_by=["date DESC", "invoice_number ASC"],
            article_id=9,
        )
    )
    params = billomat.last.url.params
    assert params["client_id"] == "5"
    assert params["status"] == "PAID"
    assert params["from"] == "2025-01-01"
    assert params["to"] == "2025-01-31"
    assert params["payment_type"] == "PAYPAL,CASH"
    assert params["order_by"] == "date DESC,invoice_number ASC"
    assert params["article_id"] == "9"
    assert "due_date_to" not in params
    assert all(len(params.get_list(key)) == 1 for key in params)


def test_raw_from_and_to_filters_pass_through(
    client: BillomatClient, billomat: ScriptedBillomat
) -> None:
    billomat.answer(reply(listing("invoices", "invoice", [])))
    raw = {"from": dt.date(2025, 1, 1)}  # a Python keyword, so only possible as **mapping
    list(client.iter_invoices(**raw))  # type: ignore[arg-type]
    assert billomat.last.url.params["from"] == "2025-01-01"
    assert "to" not in billomat.last.url.params


def test_payments_are_listed_by_payment_date(
    client: BillomatClient, billomat: ScriptedBillomat
) -> None:
    billomat.answer(
        reply(
            listing(
                "invoice-payments",
                "invoice-payment",
                [{"id": "1", "amount": "10.5", "type": "PAYPAL", "date": "2025-02-03"}],
            )
        )
    )
    payments = list(
        client.iter_invoice_payments(
            date_from=dt.date(2025, 2, 1), date_to=dt.date(2025, 2, 28), type=[PaymentType.PAYPAL]
        )
    )
    assert billomat.last.url.path == "/api/invoice-payments"
    assert billomat.last.url.params["type"] == "PAYPAL"
    assert payments[0].amount == Decimal("10.5")


def test_email_lookup_rejects_substring_hits(
    client: BillomatClient, billomat: ScriptedBillomat
) -> None:
    billomat.answer(
        reply(
            listing(
                "clients",
                "client",
                [
                    {"id": "1", "email": "max@example.de.evil.com"},
                    {"id": "2", "email": "amax@example.de"},
                    {"id": "3", "email": " MAX@Example.de "},
                ],
            )
        )
    )
    found = client.find_client_by_email("  max@example.de ")
    assert found is not None
    assert found.id == 3
    assert billomat.last.url.params["email"] == "max@example.de"


def test_email_lookup_finds_nothing_among_only_substring_hits(
    client: BillomatClient, billomat: ScriptedBillomat
) -> None:
    billomat.answer(
        reply(
            listing(
                "clients",
                "client",
                [
                    {"id": "1", "email": "max@example.de.evil.com"},
                    {"id": "2", "email": "amax@example.de"},
                ],
            )
        )
    )
    assert client.find_client_by_email("max@example.de") is None


def test_email_lookup_prefers_active_then_oldest_client(
    client: BillomatClient, billomat: ScriptedBillomat
) -> None:
    billomat.answer(
        reply(
            listing(
                "clients",
                "client",
                [
                    {"id": "1", "email": "max@example.de", "archived": "1"},
                    {"id": "7", "email": "max@example.de", "archived": "0"},
                    {"id": "4", "email": "max@example.de", "archived": "0"},
                ],
            )
        )
    )
    found = client.find_client_by_email("max@example.de")
    assert found is not None
    assert found.id == 4


def test_customfield_lookup_is_exact(client: BillomatClient, billomat: ScriptedBillomat) -> None:
    billomat.answer(
        reply(
            listing(
                "clients",
                "client",
                [
                    {"id": "1", "customfield": "shopify:420"},
                    {"id": "2", "customfield": "shopify:42"},
                ],
            )
        )
    )
    found = client.find_client_by_customfield("shopify:42")
    assert found is not None
    assert found.id == 2
    assert billomat.last.url.params["customfield"] == "shopify:42"


def test_article_lookup_by_number_is_exact(
    client: BillomatClient, billomat: ScriptedBillomat
) -> None:
    billomat.answer(
        reply(
            listing(
                "articles",
                "article",
                [
                    {"id": "1", "article_number": "SKU-10", "sales_price": "9.99"},
                    {"id": "2", "article_number": "sku-1"},
                    {"id": "3", "article_number": "SKU-1", "sales_price": "19.99"},
                ],
            )
        )
    )
    found = client.find_article_by_number("SKU-1")
    assert found is not None
    assert found.id == 3
    assert found.sales_price == Decimal("19.99")


def test_invoice_lookups_by_customfield_and_label_are_exact(
    client: BillomatClient, billomat: ScriptedBillomat
) -> None:
    records = [
        {"id": "5", "status": "DRAFT", "customfield": "shop:1001", "label": "Order 1001"},
        {"id": "6", "status": "OPEN", "customfield": "shop:10012", "label": "Order 10012"},
    ]
    billomat.answer(
        reply(listing("invoices", "invoice", records)),
        reply(listing("invoices", "invoice", records)),
    )
    assert [i.id for i in client.find_invoices_by_customfield("shop:1001")] == [5]
    assert [i.id for i in client.find_invoices_by_label("Order 1001")] == [5]
    assert billomat.requests[1].url.params["label"] == "Order 1001"


def test_offer_lookup_by_customfield_is_exact(
    client: BillomatClient, billomat: ScriptedBillomat
) -> None:
    billomat.answer(
        reply(
            listing(
                "offers",
                "offer",
                [
                    {"id": "1", "status": "OPEN", "customfield": "deal:77"},
                    {"id": "2", "status": "OPEN", "customfield": "deal:777"},
                ],
            )
        )
    )
    assert [o.id for o in client.find_offers_by_customfield("deal:77")] == [1]


@pytest.mark.parametrize("blank", ["", "   "])
def test_blank_lookups_are_refused_before_any_request(
    client: BillomatClient, billomat: ScriptedBillomat, blank: str
) -> None:
    with pytest.raises(ValueError, match="empty"):
        client.find_client_by_email(blank)
    with pytest.raises(ValueError, match="empty"):
        client.find_invoices_by_customfield(blank)
    assert billomat.requests == []


def test_count_uses_head_and_total_count_header(
    client: BillomatClient, billomat: ScriptedBillomat
) -> None:
    billomat.answer(reply(headers={"X-Total-Count": "42"}))
    assert client.count_invoices(status=[InvoiceStatus.OVERDUE]) == 42
    assert billomat.last.method == "HEAD"
    assert billomat.last.url.params["status"] == "OVERDUE"


def test_query_values_are_url_encoded(client: BillomatClient, billomat: ScriptedBillomat) -> None:
    billomat.answer(reply(listing("clients", "client", [])))
    list(client.iter_clients(email="a+b@example.de"))
    assert httpx.URL(str(billomat.last.url)).params["email"] == "a+b@example.de"
