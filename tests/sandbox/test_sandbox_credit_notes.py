"""Credit notes (§6.8): life cycle, items, totals, filters, payouts, cancel, PDF, e-mail."""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from local.billomat_sandbox import BillomatSandbox

from .conftest import record_of

if TYPE_CHECKING:
    from .conftest import Billomat

ITEM = {"title": "Rücknahme", "quantity": 1, "unit_price": 100}


def credit_note(
    billomat: Billomat, client_id: str, *items: dict[str, Any], **fields: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {"client_id": client_id, **fields}
    if items:
        body["credit-note-items"] = {"credit-note-item": list(items)}
    return billomat.create("credit-notes", "credit-note", body)


def completed_credit_note(
    billomat: Billomat, client_id: str, *items: dict[str, Any], **fields: Any
) -> dict[str, Any]:
    draft = credit_note(billomat, client_id, *(items or (ITEM,)), **fields)
    response = billomat.action("credit-notes", draft["id"], "complete")
    assert response.status_code == 200, response.text
    return record_of(response, "credit-note")


def pay_out(billomat: Billomat, credit_note_id: str, amount: str, **fields: Any) -> httpx.Response:
    return billomat.api.post(
        "credit-note-payments",
        json={
            "credit-note-payment": {"credit_note_id": credit_note_id, "amount": amount, **fields}
        },
    )


def fetch(billomat: Billomat, credit_note_id: str) -> dict[str, Any]:
    return billomat.get("credit-notes", credit_note_id, "credit-note")


def listed(api: httpx.Client, resource: str, singular: str, **params: str) -> list[dict[str, Any]]:
    response = api.get(resource, params=params)
    assert response.status_code == 200, response.text
    body = response.json()[resource]
    found = body.get(singular, [])
    return found if isinstance(found, list) else [found]


def ids(records: list[dict[str, Any]]) -> list[str]:
    return [record["id"] for record in records]


# --- life cycle ----------------------------------------------------------------------------------


def test_created_as_draft_with_embedded_items_without_a_number(
    billomat: Billomat, api: httpx.Client
) -> None:
    client = billomat.client()
    invoice = billomat.completed_invoice(client["id"])
    draft = credit_note(
        billomat,
        client["id"],
        {"title": "A", "quantity": 2, "unit_price": "10"},
        {"title": "B", "quantity": 1, "unit_price": "5"},
        invoice_id=invoice["id"],
        customfield="shop:refund:1",
    )
    assert draft["status"] == "DRAFT"
    assert (draft["credit_note_number"], draft["number"]) == ("", "")
    assert draft["invoice_id"] == invoice["id"]
    assert draft["client_id"] == client["id"]
    assert draft["customfield"] == "shop:refund:1"
    assert draft["address"] == "Muster GmbH"
    assert (draft["date"], draft["net_gross"], draft["currency_code"]) == (
        "2025-03-10",
        "NET",
        "EUR",
    )
    assert draft["customerportal_url"].startswith("https://")
    items = listed(api, "credit-note-items", "credit-note-item", credit_note_id=draft["id"])
    assert [(i["title"], i["position"], i["credit_note_id"]) for i in items] == [
        ("A", "1", draft["id"]),
        ("B", "2", draft["id"]),
    ]
    assert "credit-note-items" not in fetch(billomat, draft["id"])  # like invoices: not embedded


def test_complete_numbers_from_the_credit_note_range(
    billomat: Billomat, sandbox: BillomatSandbox
) -> None:
    client = billomat.client()
    first = completed_credit_note(billomat, client["id"])
    second = completed_credit_note(billomat, client["id"])
    assert (first["status"], first["credit_note_number"]) == ("OPEN", "GU1")
    assert second["credit_note_number"] == "GU2"
    assert sandbox.settings["credit_note_number_next"] == 3
    assert sandbox.settings["invoice_number_next"] == 1  # its own range
    again = billomat.action("credit-notes", first["id"], "complete")
    assert again.status_code == 400
    assert "DRAFT" in again.json()["errors"]["error"]


def test_number_settings_and_explicit_numbers_are_honoured(billomat: Billomat) -> None:
    response = billomat.api.put(
        "settings",
        json={"settings": {"credit_note_number_pre": "GS-", "credit_note_number_length": 4}},
    )
    assert response.status_code == 200
    client = billomat.client()
    assert completed_credit_note(billomat, client["id"])["credit_note_number"] == "GS-0001"
    explicit = completed_credit_note(billomat, client["id"], number=41)
    assert explicit["credit_note_number"] == "GS-0041"
    assert completed_credit_note(billomat, client["id"])["credit_note_number"] == "GS-0042"


def test_complete_takes_a_template_id(billomat: Billomat) -> None:
    client = billomat.client()
    draft = credit_note(billomat, client["id"], ITEM)
    response = billomat.api.put(
        f"credit-notes/{draft['id']}/complete", json={"complete": {"template_id": "77"}}
    )
    assert response.status_code == 200
    assert record_of(response, "credit-note")["template_id"] == "77"


def test_draft_can_be_edited_and_deleted(billomat: Billomat, api: httpx.Client) -> None:
    client = billomat.client()
    other = billomat.client(name="Andere AG", city="Köln", zip="50667")
    draft = credit_note(billomat, client["id"], ITEM)
    edited = api.put(
        f"credit-notes/{draft['id']}",
        json={"credit-note": {"label": "Retoure", "client_id": other["id"]}},
    )
    assert edited.status_code == 200
    record = record_of(edited, "credit-note")
    assert (record["label"], record["client_id"]) == ("Retoure", other["id"])
    assert record["address"] == "Andere AG\n50667 Köln"
    assert api.delete(f"credit-notes/{draft['id']}").status_code == 200
    assert api.get(f"credit-notes/{draft['id']}").status_code == 404
    assert listed(api, "credit-note-items", "credit-note-item", credit_note_id=draft["id"]) == []


def test_items_crud_on_a_draft_moves_the_totals(billomat: Billomat, api: httpx.Client) -> None:
    client = billomat.client()
    draft = credit_note(billomat, client["id"], ITEM)
    added = api.post(
        "credit-note-items",
        json={
            "credit-note-item": {
                "credit_note_id": draft["id"],
                "title": "Versand",
                "quantity": 1,
                "unit_price": "4.90",
                "tax_name": "MwSt ermäßigt",
            }
        },
    )
    assert added.status_code == 201
    item = record_of(added, "credit-note-item")
    assert (item["position"], item["tax_rate"], item["total_gross"]) == ("2", "7", "5.24")
    assert fetch(billomat, draft["id"])["total_gross"] == "124.24"
    changed = api.put(f"credit-note-items/{item['id']}", json={"credit-note-item": {"quantity": 2}})
    assert changed.status_code == 200
    assert fetch(billomat, draft["id"])["total_gross"] == "129.49"
    assert api.get(f"credit-note-items/{item['id']}").status_code == 200
    assert api.delete(f"credit-note-items/{item['id']}").status_code == 200
    assert fetch(billomat, draft["id"])["total_gross"] == "119"
    assert api.get("credit-note-items").status_code == 400  # credit_note_id is required


def test_items_copy_an_article(billomat: Billomat, api: httpx.Client) -> None:
    article = billomat.create(
        "articles", "article", {"title": "Kaffee", "sales_price": "8.50", "tax_id": ""}
    )
    client = billomat.client()
    draft = credit_note(billomat, client["id"], {"article_id": article["id"], "quantity": 2})
    [item] = listed(api, "credit-note-items", "credit-note-item", credit_note_id=draft["id"])
    assert (item["title"], item["unit_price"], item["total_net"]) == ("Kaffee", "8.5", "17")


# --- totals --------------------------------------------------------------------------------------


def test_net_totals_per_tax_group_with_a_document_reduction(billomat: Billomat) -> None:
    client = billomat.client()
    draft = credit_note(
        billomat,
        client["id"],
        {"title": "A", "quantity": 3, "unit_price": "19.99"},
        {"title": "B", "quantity": 2, "unit_price": "4.20", "tax_rate": 7},
        {"title": "C", "quantity": 1, "unit_price": "10", "reduction": "10%"},
        reduction="5",
    )
    taxes = draft["taxes"]["tax"]
    assert [(t["rate"], t["amount_net"], t["amount"], t["amount_gross"]) for t in taxes] == [
        ("19", "64.51", "12.26", "76.77"),
        ("7", "7.86", "0.55", "8.41"),
    ]
    assert (draft["total_net"], draft["total_gross"]) == ("72.37", "85.18")
    assert (draft["total_net_unreduced"], draft["total_reduction"]) == ("77.37", "5")
    assert (draft["paid_amount"], draft["open_amount"]) == ("0", "85.18")


def test_gross_prices_keep_the_gross_total_to_the_cent(billomat: Billomat) -> None:
    client = billomat.client()
    draft = credit_note(
        billomat,
        client["id"],
        {"title": "A", "quantity": 3, "unit_price": "9.99"},
        {"title": "B", "quantity": 1, "unit_price": "4.28", "tax_rate": 7},
        net_gross="GROSS",
    )
    assert (draft["total_gross"], draft["total_net"]) == ("34.25", "29.18")


def test_the_clients_gross_setting_is_the_default(billomat: Billomat) -> None:
    client = billomat.client(net_gross="GROSS")
    draft = credit_note(billomat, client["id"], {"title": "A", "quantity": 1, "unit_price": "119"})
    assert (draft["net_gross"], draft["total_net"], draft["total_gross"]) == ("GROSS", "100", "119")


# --- filters -------------------------------------------------------------------------------------


def test_list_filters(billomat: Billomat, api: httpx.Client) -> None:
    alice, bob = billomat.client(name="Alice"), billomat.client(name="Bob")
    invoice_a = billomat.completed_invoice(alice["id"])
    invoice_b = billomat.completed_invoice(bob["id"])
    article = billomat.create("articles", "article", {"title": "Tee", "sales_price": "3"})
    first = completed_credit_note(
        billomat, alice["id"], invoice_id=invoice_a["id"], customfield="order:100"
    )
    second = credit_note(
        billomat,
        alice["id"],
        {"article_id": article["id"], "quantity": 1},
        invoice_id=invoice_a["id"],
        customfield="order:1000",
        label="Retoure März",
    )
    third = completed_credit_note(billomat, bob["id"], invoice_id=invoice_b["id"])
    loose = credit_note(billomat, bob["id"], ITEM)

    def found(**params: str) -> list[str]:
        return ids(listed(api, "credit-notes", "credit-note", **params))

    assert found() == ids([first, second, third, loose])
    assert found(invoice_id=invoice_a["id"]) == ids([first, second])
    assert found(invoice_id=f"{invoice_a['id']},{invoice_b['id']}") == ids([first, second, third])
    assert found(client_id=bob["id"]) == ids([third, loose])
    assert found(status="DRAFT") == ids([second, loose])
    assert found(status="OPEN,PAID") == ids([first, third])
    assert found(customfield="order:100") == ids([first, second])  # substring, as documented
    assert found(credit_note_number="gu2") == ids([third])
    assert found(label="retoure") == ids([second])
    assert found(article_id=article["id"]) == ids([second])
    assert found(**{"from": "2025-03-11"}) == []
    assert found(**{"to": "2025-03-10"}) == ids([first, second, third, loose])
    assert found(order_by="id DESC", per_page="2") == ids([loose, third])
    head = api.head("credit-notes", params={"client_id": alice["id"]})
    assert head.headers["X-Total-Count"] == "2"


# --- payments ------------------------------------------------------------------------------------


def test_a_partial_payout_keeps_it_open_and_the_rest_open(billomat: Billomat) -> None:
    client = billomat.client()
    note = completed_credit_note(billomat, client["id"])  # 119 gross
    response = pay_out(billomat, note["id"], "50", type="BANK_TRANSFER", comment="Teil [bank:1]")
    assert response.status_code == 201
    payment = record_of(response, "credit-note-payment")
    assert (payment["credit_note_id"], payment["amount"], payment["date"]) == (
        note["id"],
        "50",
        "2025-03-10",
    )
    assert (payment["type"], payment["comment"], payment["currency_code"]) == (
        "BANK_TRANSFER",
        "Teil [bank:1]",
        "EUR",
    )
    assert "mark_credit_note_as_paid" not in payment
    after = fetch(billomat, note["id"])
    assert (after["status"], after["paid_amount"], after["open_amount"]) == ("OPEN", "50", "69")


def test_payouts_covering_the_total_make_it_paid_and_deleting_one_reopens_it(
    billomat: Billomat, api: httpx.Client
) -> None:
    client = billomat.client()
    note = completed_credit_note(billomat, client["id"])
    other = completed_credit_note(billomat, client["id"])
    pay_out(billomat, note["id"], "100")
    last = record_of(pay_out(billomat, note["id"], "19"), "credit-note-payment")
    pay_out(billomat, other["id"], "1")
    after = fetch(billomat, note["id"])
    assert (after["status"], after["paid_amount"], after["open_amount"]) == ("PAID", "119", "0")
    payments = listed(api, "credit-note-payments", "credit-note-payment", credit_note_id=note["id"])
    assert [p["amount"] for p in payments] == ["100", "19"]
    assert len(listed(api, "credit-note-payments", "credit-note-payment")) == 3
    assert api.put(f"credit-note-payments/{last['id']}", json={}).status_code == 405
    assert api.delete(f"credit-note-payments/{last['id']}").status_code == 200
    reopened = fetch(billomat, note["id"])
    assert (reopened["status"], reopened["open_amount"]) == ("OPEN", "19")


def test_mark_credit_note_as_paid_closes_a_short_payout(billomat: Billomat) -> None:
    client = billomat.client()
    note = completed_credit_note(billomat, client["id"])
    assert pay_out(billomat, note["id"], "118", mark_credit_note_as_paid=1).status_code == 201
    after = fetch(billomat, note["id"])
    assert (after["status"], after["paid_amount"], after["open_amount"]) == ("PAID", "118", "0")


def test_payouts_only_on_open_credit_notes(billomat: Billomat) -> None:
    client = billomat.client()
    draft = credit_note(billomat, client["id"], ITEM)
    assert pay_out(billomat, draft["id"], "5").status_code == 400
    paid = completed_credit_note(billomat, client["id"])
    assert pay_out(billomat, paid["id"], "119").status_code == 201
    assert pay_out(billomat, paid["id"], "1").status_code == 400
    cancelled = completed_credit_note(billomat, client["id"])
    billomat.action("credit-notes", cancelled["id"], "cancel")
    assert pay_out(billomat, cancelled["id"], "5").status_code == 400
    open_note = completed_credit_note(billomat, client["id"])
    assert pay_out(billomat, open_note["id"], "0").status_code == 400
    assert pay_out(billomat, open_note["id"], "5", type="BITCOIN").status_code == 400
    assert pay_out(billomat, "999999", "5").status_code == 400
    missing = billomat.api.post(
        "credit-note-payments", json={"credit-note-payment": {"credit_note_id": open_note["id"]}}
    )
    assert missing.status_code == 400


# --- cancel --------------------------------------------------------------------------------------


def test_cancel_and_uncancel(billomat: Billomat) -> None:
    client = billomat.client()
    draft = credit_note(billomat, client["id"], ITEM)
    assert billomat.action("credit-notes", draft["id"], "cancel").status_code == 400
    note = completed_credit_note(billomat, client["id"])
    cancelled = billomat.action("credit-notes", note["id"], "cancel")
    assert cancelled.status_code == 200
    assert record_of(cancelled, "credit-note")["status"] == "CANCELED"
    assert billomat.action("credit-notes", note["id"], "cancel").status_code == 400
    assert billomat.action("credit-notes", note["id"], "uncancel").status_code == 200
    assert fetch(billomat, note["id"])["status"] == "OPEN"
    assert billomat.action("credit-notes", note["id"], "uncancel").status_code == 400


def test_a_paid_credit_note_returns_to_paid_after_uncancel(billomat: Billomat) -> None:
    client = billomat.client()
    note = completed_credit_note(billomat, client["id"])
    pay_out(billomat, note["id"], "119")
    billomat.action("credit-notes", note["id"], "cancel")
    assert fetch(billomat, note["id"])["status"] == "CANCELED"
    billomat.action("credit-notes", note["id"], "uncancel")
    assert fetch(billomat, note["id"])["status"] == "PAID"


# --- PDF and e-mail ------------------------------------------------------------------------------


def test_pdf_only_after_complete(billomat: Billomat, api: httpx.Client) -> None:
    client = billomat.client()
    draft = credit_note(billomat, client["id"], ITEM)
    assert api.get(f"credit-notes/{draft['id']}/pdf").status_code == 400
    note = completed_credit_note(billomat, client["id"])
    pdf = api.get(f"credit-notes/{note['id']}/pdf").json()["pdf"]
    assert (pdf["credit_note_id"], pdf["filename"], pdf["mimetype"]) == (
        note["id"],
        "GU1.pdf",
        "application/pdf",
    )
    content = base64.b64decode(pdf["base64file"])
    assert content.startswith(b"%PDF")
    assert b"Gutschrift GU1" in content
    raw = api.get(f"credit-notes/{note['id']}/pdf", params={"format": "pdf"})
    assert raw.headers["Content-Type"] == "application/pdf"
    assert raw.content == content


def test_email_records_a_credit_note_email(billomat: Billomat, sandbox: BillomatSandbox) -> None:
    client = billomat.client()
    invoice = billomat.completed_invoice(client["id"])
    note = completed_credit_note(billomat, client["id"], invoice_id=invoice["id"])
    response = billomat.api.post(
        f"credit-notes/{note['id']}/email",
        json={
            "email": {
                "recipients": {"to": "kunde@example.de", "bcc": ["buchhaltung@example.de"]},
                "subject": "Gutschrift [CreditNote.credit_note_number] zu [Invoice.invoice_number]",
            }
        },
    )
    assert response.status_code == 200
    [sent] = sandbox.sent_emails
    assert (sent.document_type, sent.document_id) == ("credit_note", int(note["id"]))
    assert (sent.to, sent.bcc) == (["kunde@example.de"], ["buchhaltung@example.de"])
    assert sent.subject == "Gutschrift GU1 zu RE1"
    assert sent.filename == f"credit-note_{note['id']}"
    assert "Gutschrift GU1" in sent.body
    assert "credit_note.send" in [event.event for event in sandbox.webhook_events]


def test_email_refusals(billomat: Billomat, sandbox: BillomatSandbox) -> None:
    client = billomat.client()
    draft = credit_note(billomat, client["id"], ITEM)
    body = {"email": {"recipients": {"to": "kunde@example.de"}}}
    assert billomat.api.post(f"credit-notes/{draft['id']}/email", json=body).status_code == 400
    note = completed_credit_note(billomat, client["id"])
    no_one = {"email": {"recipients": {}}}
    assert billomat.api.post(f"credit-notes/{note['id']}/email", json=no_one).status_code == 400
    assert sandbox.sent_emails == []


# --- refusals ------------------------------------------------------------------------------------


def test_no_edits_after_complete(billomat: Billomat, api: httpx.Client) -> None:
    client = billomat.client()
    note = completed_credit_note(billomat, client["id"])
    [item] = listed(api, "credit-note-items", "credit-note-item", credit_note_id=note["id"])
    refused: list[Callable[[], httpx.Response]] = [
        lambda: api.put(f"credit-notes/{note['id']}", json={"credit-note": {"label": "x"}}),
        lambda: api.delete(f"credit-notes/{note['id']}"),
        lambda: api.post(
            "credit-note-items",
            json={"credit-note-item": {"credit_note_id": note["id"], "title": "x"}},
        ),
        lambda: api.put(
            f"credit-note-items/{item['id']}", json={"credit-note-item": {"quantity": 9}}
        ),
        lambda: api.delete(f"credit-note-items/{item['id']}"),
    ]
    for attempt in refused:
        response = attempt()
        assert response.status_code == 400, response.text
    after = fetch(billomat, note["id"])
    assert (after["label"], after["total_gross"], after["status"]) == ("", "119", "OPEN")


def test_customfield_can_be_written_after_complete(billomat: Billomat, api: httpx.Client) -> None:
    client = billomat.client()
    note = completed_credit_note(billomat, client["id"])
    response = api.put(
        f"credit-notes/{note['id']}/customfield",
        json={"credit-note": {"customfield": "refund:9"}},
    )
    assert response.json() == {"credit-note": {"customfield": "refund:9"}}
    assert fetch(billomat, note["id"])["customfield"] == "refund:9"


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"client_id": None}, "client_id missing"),
        ({"client_id": "999999"}, "client_id 999999 does not exist"),
        ({"invoice_id": "999999"}, "invoice_id 999999 does not exist"),
    ],
)
def test_unknown_or_missing_links_are_refused(
    billomat: Billomat, fields: dict[str, str | None], message: str
) -> None:
    client = billomat.client()
    merged = {"client_id": client["id"], **fields}
    body = {key: value for key, value in merged.items() if value is not None}
    response = billomat.api.post("credit-notes", json={"credit-note": body})
    assert response.status_code == 400
    assert message in response.json()["errors"]["error"]


def test_the_invoice_must_be_completed_and_belong_to_the_client(billomat: Billomat) -> None:
    alice, bob = billomat.client(name="Alice"), billomat.client(name="Bob")
    draft_invoice = billomat.invoice(alice["id"], ITEM)
    bobs_invoice = billomat.completed_invoice(bob["id"])
    for invoice_id in (draft_invoice["id"], bobs_invoice["id"]):
        response = billomat.api.post(
            "credit-notes",
            json={"credit-note": {"client_id": alice["id"], "invoice_id": invoice_id}},
        )
        assert response.status_code == 400, response.text
    note = credit_note(billomat, alice["id"], ITEM)
    moved = billomat.api.put(
        f"credit-notes/{note['id']}", json={"credit-note": {"invoice_id": bobs_invoice["id"]}}
    )
    assert moved.status_code == 400


def test_a_client_with_credit_notes_cannot_be_deleted(
    billomat: Billomat, api: httpx.Client
) -> None:
    client = billomat.client()
    credit_note(billomat, client["id"], ITEM)
    assert api.delete(f"clients/{client['id']}").status_code == 400


# --- the shared machinery ------------------------------------------------------------------------


def test_webhooks_follow_the_life_cycle(billomat: Billomat, sandbox: BillomatSandbox) -> None:
    client = billomat.client()
    note = completed_credit_note(billomat, client["id"])
    pay_out(billomat, note["id"], "119")
    events = [e.event for e in sandbox.webhook_events if e.event.startswith("credit_note")]
    assert events == [
        "credit_note.create",
        "credit_note.status",
        "credit_note.status",
        "credit_note_payment.create",
    ]
    status_payload = [e for e in sandbox.webhook_events if e.event == "credit_note.status"][-1]
    assert status_payload.payload["credit-note"]["status"] == "PAID"


def test_faults_and_quota_apply_to_credit_note_paths(
    billomat: Billomat, sandbox: BillomatSandbox, api: httpx.Client
) -> None:
    client = billomat.client()
    sandbox.faults.add("POST", "credit-notes", "server_error")
    failed = api.post("credit-notes", json={"credit-note": {"client_id": client["id"]}})
    assert failed.status_code == 500
    assert sandbox.snapshot()["credit-notes"] == []
    sandbox.faults.add("PUT", "credit-notes/*/complete", "commit_then_fail")
    draft = credit_note(billomat, client["id"], ITEM)
    assert billomat.action("credit-notes", draft["id"], "complete").status_code == 500
    assert fetch(billomat, draft["id"])["status"] == "OPEN"  # carried out before failing
    remaining = int(api.get("credit-notes").headers["X-Rate-Limit-Remaining"])
    assert int(api.get("credit-note-payments").headers["X-Rate-Limit-Remaining"]) == remaining - 1
    sandbox.rate_limit = 0
    assert api.get("credit-notes").status_code == 429


def test_strict_mode_knows_the_credit_note_fields(
    clock: Any, open_api: Callable[..., httpx.Client]
) -> None:
    sandbox = BillomatSandbox(clock=clock, strict=True)
    with open_api(sandbox) as api:
        client = record_of(api.post("clients", json={"client": {"name": "K"}}), "client")
        unknown = api.post(
            "credit-notes", json={"credit-note": {"client_id": client["id"], "due_date": "x"}}
        )
        assert unknown.status_code == 400
        created = api.post(
            "credit-notes",
            json={
                "credit-note": {
                    "client_id": client["id"],
                    "credit-note-items": {"credit-note-item": ITEM},
                }
            },
        )
        assert created.status_code == 201, created.text
        note = record_of(created, "credit-note")
        api.put(f"credit-notes/{note['id']}/complete", json={"complete": {}})
        paid = api.post(
            "credit-note-payments",
            json={
                "credit-note-payment": {
                    "credit_note_id": note["id"],
                    "amount": "1",
                    "mark_credit_note_as_paid": "1",
                }
            },
        )
        assert paid.status_code == 201, paid.text
        assert api.get("credit-notes", params={"invoice_id": "1"}).status_code == 200
        assert api.get("credit-notes", params={"due_date": "x"}).status_code == 400


def test_seeding_credit_notes_with_a_status(sandbox: BillomatSandbox) -> None:
    client = sandbox.seed("clients", {"name": "Seed"})
    invoice = sandbox.seed(
        "invoices", {"client_id": client["id"], "status": "OPEN", "invoice-items": [ITEM]}
    )
    paid = sandbox.seed(
        "credit-notes",
        {
            "client_id": client["id"],
            "invoice_id": invoice["id"],
            "status": "PAID",
            "credit-note-items": [ITEM],
        },
    )
    assert (paid["status"], paid["credit_note_number"], paid["open_amount"]) == ("PAID", "GU1", 0)
    cancelled = sandbox.seed(
        "credit-notes", {"client_id": client["id"], "status": "CANCELED", "items": [ITEM]}
    )
    assert cancelled["status"] == "CANCELED"
    assert len(sandbox.snapshot()["credit-note-payments"]) == 1
