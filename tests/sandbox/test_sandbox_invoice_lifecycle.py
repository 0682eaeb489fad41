"""Invoice state machine, numbering, PDF and e-mail (reference §6.3, §9)."""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING

import httpx

from local.billomat_sandbox import BillomatSandbox, SandboxClock

if TYPE_CHECKING:
    from .conftest import Billomat

ITEM = {"title": "Beratung", "quantity": 2, "unit_price": "50"}


def error_of(response: httpx.Response) -> str:
    return str(response.json()["errors"]["error"])


def test_new_invoice_is_a_draft_with_defaults_from_settings_and_client(
    billomat: Billomat,
) -> None:
    client = billomat.client(street="Hauptstr. 1", zip="50667", city="Köln")
    invoice = billomat.invoice(client["id"], ITEM)
    assert invoice["status"] == "DRAFT"
    assert invoice["invoice_number"] == ""
    assert invoice["date"] == "2025-03-10"
    assert (invoice["due_days"], invoice["due_date"]) == ("14", "2025-03-24")
    assert invoice["currency_code"] == "EUR"
    assert invoice["net_gross"] == "NET"
    assert invoice["address"] == "Muster GmbH\nHauptstr. 1\n50667 Köln"


def test_client_due_days_and_explicit_due_date_win(billomat: Billomat) -> None:
    client = billomat.client(due_days=30)
    assert billomat.invoice(client["id"])["due_date"] == "2025-04-09"
    explicit = billomat.invoice(client["id"], due_date="2025-03-20")
    assert (explicit["due_date"], explicit["due_days"]) == ("2025-03-20", "10")


def test_skonto_terms_give_a_discount_date_and_amount(billomat: Billomat) -> None:
    client = billomat.client()
    invoice = billomat.invoice(client["id"], ITEM, discount_rate=2, discount_days=10)
    assert invoice["discount_date"] == "2025-03-20"
    assert invoice["discount_amount"] == "2.38"


def test_client_id_is_required_and_must_exist(api: httpx.Client) -> None:
    missing = api.post("invoices", json={"invoice": {"title": "x"}})
    assert missing.status_code == 400
    assert "client_id" in error_of(missing)
    unknown = api.post("invoices", json={"invoice": {"client_id": 424242}})
    assert unknown.status_code == 400


def test_complete_turns_a_draft_into_an_open_numbered_invoice(billomat: Billomat) -> None:
    client = billomat.client()
    first = billomat.completed_invoice(client["id"])
    second = billomat.completed_invoice(client["id"])
    assert (first["status"], first["invoice_number"]) == ("OPEN", "RE1")
    assert second["invoice_number"] == "RE2"


def test_explicit_number_is_honoured_and_the_range_continues_after_it(
    billomat: Billomat, api: httpx.Client
) -> None:
    client = billomat.client()
    assert billomat.completed_invoice(client["id"], number=100)["invoice_number"] == "RE100"
    assert billomat.completed_invoice(client["id"])["invoice_number"] == "RE101"
    api.put(
        "settings", json={"settings": {"invoice_number_pre": "2025-", "invoice_number_length": 4}}
    )
    assert billomat.completed_invoice(client["id"])["invoice_number"] == "2025-0102"


def test_clients_and_articles_are_numbered_on_create(billomat: Billomat) -> None:
    assert billomat.client()["client_number"] == "KD1"
    assert billomat.client()["client_number"] == "KD2"
    article = billomat.create("articles", "article", {"title": "Widget"})
    assert article["article_number"] == "ART1"


def test_completing_a_past_due_draft_makes_it_overdue(billomat: Billomat) -> None:
    client = billomat.client()
    late = billomat.completed_invoice(client["id"], date="2025-01-01")
    assert late["status"] == "OVERDUE"


def test_completing_twice_is_refused(billomat: Billomat) -> None:
    client = billomat.client()
    invoice = billomat.completed_invoice(client["id"])
    again = billomat.action("invoices", invoice["id"], "complete")
    assert again.status_code == 400


def test_only_drafts_can_be_edited_deleted_or_get_new_items(
    billomat: Billomat, api: httpx.Client
) -> None:
    client = billomat.client()
    draft = billomat.invoice(client["id"], ITEM)
    assert api.put(f"invoices/{draft['id']}", json={"invoice": {"title": "Neu"}}).status_code == 200
    item = api.post("invoice-items", json={"invoice-item": {"invoice_id": draft["id"], **ITEM}})
    assert item.status_code == 201
    assert billomat.get("invoices", draft["id"], "invoice")["total_net"] == "200"

    done = billomat.completed_invoice(client["id"], ITEM)
    assert api.put(f"invoices/{done['id']}", json={"invoice": {"title": "Neu"}}).status_code == 400
    add = api.post("invoice-items", json={"invoice-item": {"invoice_id": done["id"], **ITEM}})
    assert add.status_code == 400
    items = api.get("invoice-items", params={"invoice_id": done["id"]}).json()
    item_id = items["invoice-items"]["invoice-item"]["id"]
    assert (
        api.put(f"invoice-items/{item_id}", json={"invoice-item": {"quantity": 9}}).status_code
        == 400
    )
    assert api.delete(f"invoice-items/{item_id}").status_code == 400
    assert api.delete(f"invoices/{done['id']}").status_code == 400
    assert api.delete(f"invoices/{draft['id']}").status_code == 200


def test_pdf_and_email_need_a_completed_invoice(billomat: Billomat, api: httpx.Client) -> None:
    client = billomat.client()
    draft = billomat.invoice(client["id"], ITEM)
    assert api.get(f"invoices/{draft['id']}/pdf").status_code == 400
    mail = {"email": {"recipients": {"to": "kunde@example.com"}}}
    assert api.post(f"invoices/{draft['id']}/email", json=mail).status_code == 400


def test_pdf_comes_base64_encoded_or_raw(billomat: Billomat, api: httpx.Client) -> None:
    client = billomat.client()
    invoice = billomat.completed_invoice(client["id"])
    pdf = api.get(f"invoices/{invoice['id']}/pdf").json()["pdf"]
    assert (pdf["invoice_id"], pdf["mimetype"], pdf["filename"]) == (
        invoice["id"],
        "application/pdf",
        "RE1.pdf",
    )
    content = base64.b64decode(pdf["base64file"])
    assert content.startswith(b"%PDF-")
    assert content.rstrip().endswith(b"%%EOF")
    assert pdf["filesize"] == str(len(content))
    raw = api.get(f"invoices/{invoice['id']}/pdf", params={"format": "pdf"})
    assert raw.headers["Content-Type"] == "application/pdf"
    assert raw.content == content


def test_email_is_recorded_with_recipients_and_filled_placeholders(
    sandbox: BillomatSandbox, billomat: Billomat, api: httpx.Client
) -> None:
    client = billomat.client()
    invoice = billomat.completed_invoice(client["id"])
    response = api.post(
        f"invoices/{invoice['id']}/email",
        json={
            "email": {
                "recipients": {"to": "kunde@example.com", "cc": ["buchhaltung@example.com"]},
                "subject": "Ihre Rechnung [Invoice.invoice_number]",
                "body": "Anbei die Rechnung.",
            }
        },
    )
    assert response.status_code == 200
    (sent,) = sandbox.sent_emails
    assert (sent.document_type, sent.document_id) == ("invoice", int(invoice["id"]))
    assert sent.to == ["kunde@example.com"]
    assert sent.cc == ["buchhaltung@example.com"]
    assert sent.bcc == []
    assert sent.subject == "Ihre Rechnung RE1"
    assert sent.body == "Anbei die Rechnung."


def test_email_without_recipients_is_refused(billomat: Billomat, api: httpx.Client) -> None:
    client = billomat.client()
    invoice = billomat.completed_invoice(client["id"])
    for body in ({"email": {"subject": "x"}}, {"email": {"recipients": {"to": ""}}}):
        assert api.post(f"invoices/{invoice['id']}/email", json=body).status_code == 400


def test_cancel_and_uncancel_restore_the_previous_state(
    billomat: Billomat, api: httpx.Client
) -> None:
    client = billomat.client()
    invoice = billomat.completed_invoice(client["id"])
    billomat.pay(invoice["id"], "119")
    cancelled = billomat.action("invoices", invoice["id"], "cancel")
    assert cancelled.json()["invoice"]["status"] == "CANCELED"
    restored = billomat.action("invoices", invoice["id"], "uncancel")
    assert restored.json()["invoice"]["status"] == "PAID"
    draft = billomat.invoice(client["id"])
    assert billomat.action("invoices", draft["id"], "cancel").status_code == 400
    assert billomat.action("invoices", invoice["id"], "uncancel").status_code == 400


def test_daily_tick_turns_open_invoices_overdue_after_their_due_date(
    sandbox: BillomatSandbox, billomat: Billomat, clock: SandboxClock
) -> None:
    client = billomat.client()
    invoice = billomat.completed_invoice(client["id"])  # due 2025-03-24
    clock.advance(14 * 86400)  # 2025-03-24: due today, not yet overdue
    sandbox.tick()
    assert billomat.invoice_status(invoice["id"]) == "OPEN"
    clock.advance(86400)
    assert billomat.invoice_status(invoice["id"]) == "OPEN"  # nothing flips without the job
    sandbox.tick()
    assert billomat.invoice_status(invoice["id"]) == "OVERDUE"


def test_status_changes_raise_webhook_events(sandbox: BillomatSandbox, billomat: Billomat) -> None:
    client = billomat.client()
    invoice = billomat.completed_invoice(client["id"])
    billomat.pay(invoice["id"], "119")
    events = [event.event for event in sandbox.webhook_events]
    assert events == [
        "client.create",
        "invoice.create",
        "invoice.status",
        "invoice.status",
        "invoice_payment.create",
    ]
    assert sandbox.webhook_events[-2].payload["invoice"]["status"] == "PAID"
    request_ids = [event.request_id for event in sandbox.webhook_events]
    assert request_ids == sorted(request_ids)
