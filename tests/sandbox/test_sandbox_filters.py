"""Filter semantics: substrings, comma lists, inclusive dates, parent filters, strict mode (§3)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import httpx

from local.billomat_sandbox import BillomatSandbox, SandboxClock

if TYPE_CHECKING:
    from .conftest import Billomat


def names(response: httpx.Response, plural: str, singular: str) -> list[str]:
    body = response.json()[plural]
    rows = body.get(singular, [])
    rows = rows if isinstance(rows, list) else [rows]
    return [row.get("name") or row.get("invoice_number") or row["id"] for row in rows]


def test_text_filters_match_case_insensitive_substrings(
    billomat: Billomat, api: httpx.Client
) -> None:
    billomat.client(name="Alpha GmbH", email="info@alpha.de")
    billomat.client(name="Beta gmbh & Co. KG", email="kontakt@beta.de")
    billomat.client(name="Gamma AG", email="alpha-fan@gamma.de")
    assert names(api.get("clients", params={"name": "GMBH"}), "clients", "client") == [
        "Alpha GmbH",
        "Beta gmbh & Co. KG",
    ]
    # e-mail is a substring match too: exact matching is the client's job
    assert names(api.get("clients", params={"email": "alpha"}), "clients", "client") == [
        "Alpha GmbH",
        "Gamma AG",
    ]


def test_invoice_number_filter_is_a_substring(billomat: Billomat, api: httpx.Client) -> None:
    client = billomat.client()
    for _ in range(12):
        billomat.completed_invoice(client["id"])
    found = names(api.get("invoices", params={"invoice_number": "RE1"}), "invoices", "invoice")
    assert found == ["RE1", "RE10", "RE11", "RE12"]


def test_status_filter_takes_a_comma_separated_or_list(
    billomat: Billomat, api: httpx.Client
) -> None:
    client = billomat.client()
    draft = billomat.invoice(client["id"])
    open_one = billomat.completed_invoice(client["id"])
    cancelled = billomat.completed_invoice(client["id"])
    billomat.action("invoices", cancelled["id"], "cancel")
    ids = names(api.get("invoices", params={"status": "OPEN,CANCELED"}), "invoices", "invoice")
    assert ids == [open_one["invoice_number"], cancelled["invoice_number"]]
    drafts = api.get("invoices", params={"status": "DRAFT"}).json()["invoices"]["invoice"]
    assert drafts["id"] == draft["id"]


def test_from_and_to_are_inclusive_on_the_invoice_date(
    billomat: Billomat, api: httpx.Client
) -> None:
    client = billomat.client()
    for day in ("2025-01-31", "2025-02-01", "2025-02-28", "2025-03-01"):
        billomat.invoice(client["id"], date=day)
    response = api.get("invoices", params={"from": "2025-02-01", "to": "2025-02-28"})
    dates = [row["date"] for row in response.json()["invoices"]["invoice"]]
    assert dates == ["2025-02-01", "2025-02-28"]


def test_payment_filters_use_the_payment_date_and_type(
    billomat: Billomat, api: httpx.Client, clock: SandboxClock
) -> None:
    client = billomat.client()
    invoice = billomat.completed_invoice(client["id"])
    billomat.pay(invoice["id"], "10", date="2025-03-01", type="CASH")
    billomat.pay(invoice["id"], "20", date="2025-03-05", type="PAYPAL")
    billomat.pay(invoice["id"], "30", date="2025-03-09", type="BANK_TRANSFER")
    by_date = api.get("invoice-payments", params={"from": "2025-03-05", "to": "2025-03-09"})
    assert [row["amount"] for row in by_date.json()["invoice-payments"]["invoice-payment"]] == [
        "20",
        "30",
    ]
    by_type = api.get("invoice-payments", params={"type": "CASH,PAYPAL"})
    assert by_type.json()["invoice-payments"]["@total"] == "2"


def test_id_filters_are_exact(billomat: Billomat, api: httpx.Client) -> None:
    first = billomat.client(name="Erster")
    second = billomat.client(name="Zweiter")
    billomat.invoice(first["id"])
    billomat.invoice(second["id"])
    body = api.get("invoices", params={"client_id": second["id"]}).json()["invoices"]
    assert body["@total"] == "1"
    assert body["invoice"]["client_id"] == second["id"]


def test_item_lists_require_their_parent_filter(api: httpx.Client) -> None:
    for resource, parent in (
        ("invoice-items", "invoice_id"),
        ("offer-items", "offer_id"),
        ("recurring-items", "recurring_id"),
        ("reminder-items", "reminder_id"),
        ("recurring-email-receivers", "recurring_id"),
    ):
        response = api.get(resource)
        assert response.status_code == 400, resource
        assert parent in response.json()["errors"]["error"]


def test_unknown_query_parameters_are_ignored_unless_strict(
    sandbox: BillomatSandbox, billomat: Billomat, api: httpx.Client
) -> None:
    client = billomat.client()
    billomat.completed_invoice(client["id"])
    lenient = api.get("invoices", params={"status": "OPEN", "due_date_to": "2025-01-01"})
    assert lenient.json()["invoices"]["@total"] == "1"  # silently unfiltered, as in Billomat
    sandbox.strict = True
    strict = api.get("invoices", params={"status": "OPEN", "due_date_to": "2025-01-01"})
    assert strict.status_code == 400
    assert "due_date_to" in strict.json()["errors"]["error"]


def test_unknown_body_fields_are_ignored_unless_strict(
    sandbox: BillomatSandbox, api: httpx.Client
) -> None:
    lenient = api.post("clients", json={"client": {"name": "X", "shoe_size": "44"}})
    assert lenient.status_code == 201
    sandbox.strict = True
    strict = api.post("clients", json={"client": {"name": "X", "shoe_size": "44"}})
    assert strict.status_code == 400
    assert "shoe_size" in strict.json()["errors"]["error"]
    read_only = api.post("clients", json={"client": {"name": "X", "client_number": "KD9"}})
    assert read_only.status_code == 400


def test_invoices_can_be_found_by_article(billomat: Billomat, api: httpx.Client) -> None:
    article = billomat.create("articles", "article", {"title": "Widget", "sales_price": "9.5"})
    client = billomat.client()
    with_article = billomat.invoice(client["id"], {"article_id": article["id"], "quantity": 2})
    billomat.invoice(client["id"], {"title": "Other", "quantity": 1, "unit_price": 1})
    found = api.get("invoices", params={"article_id": article["id"]}).json()["invoices"]
    assert found["invoice"]["id"] == with_article["id"]
