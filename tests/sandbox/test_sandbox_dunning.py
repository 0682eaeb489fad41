"""Reminders: only for overdue invoices, the next level from the reminder texts (§6.5)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import httpx

from local.billomat_sandbox import BillomatSandbox

if TYPE_CHECKING:
    from .conftest import Billomat


def overdue_invoice(billomat: Billomat) -> dict[str, Any]:
    client = billomat.client()
    return billomat.completed_invoice(client["id"], date="2025-01-15")  # due 2025-01-29


def remind(api: httpx.Client, invoice_id: str, **fields: Any) -> httpx.Response:
    return api.post("reminders", json={"reminder": {"invoice_id": invoice_id, **fields}})


def test_reminder_only_for_overdue_invoices(billomat: Billomat, api: httpx.Client) -> None:
    client = billomat.client()
    not_due = billomat.completed_invoice(client["id"])
    assert remind(api, not_due["id"]).status_code == 400
    draft = billomat.invoice(client["id"], date="2025-01-01")
    assert remind(api, draft["id"]).status_code == 400
    assert remind(api, overdue_invoice(billomat)["id"]).status_code == 201


def test_open_invoice_past_due_can_be_dunned_before_the_daily_switch(
    sandbox: BillomatSandbox, billomat: Billomat, api: httpx.Client
) -> None:
    client = billomat.client()
    invoice = billomat.completed_invoice(client["id"])
    sandbox.clock.advance(20 * 86400)
    assert billomat.invoice_status(invoice["id"]) == "OPEN"
    assert remind(api, invoice["id"]).status_code == 201


def test_reminder_levels_follow_the_reminder_texts_and_stop_at_the_last(
    billomat: Billomat, api: httpx.Client
) -> None:
    invoice = overdue_invoice(billomat)
    levels = [remind(api, invoice["id"]).json()["reminder"] for _ in range(5)]
    assert [r["reminder_level"] for r in levels] == ["1", "2", "3", "4", "4"]
    assert [r["reminder_level_name"] for r in levels[:4]] == [
        "Zahlungserinnerung",
        "1. Mahnung",
        "2. Mahnung",
        "Letzte Mahnung",
    ]
    first = levels[0]
    assert first["subject"] == "Zahlungserinnerung zur Rechnung RE1"
    assert first["client_id"] == invoice["client_id"]
    assert (first["due_days"], first["due_date"]) == ("7", "2025-03-17")
    assert first["status"] == "DRAFT"


def test_cancelled_reminders_do_not_count_for_the_level(
    billomat: Billomat, api: httpx.Client
) -> None:
    invoice = overdue_invoice(billomat)
    first = remind(api, invoice["id"]).json()["reminder"]
    billomat.action("reminders", first["id"], "complete")
    assert billomat.action("reminders", first["id"], "cancel").status_code == 200
    again = remind(api, invoice["id"]).json()["reminder"]
    assert again["reminder_level"] == "1"


def test_level_in_the_body_is_ignored_or_refused_in_strict_mode(
    sandbox: BillomatSandbox, billomat: Billomat, api: httpx.Client
) -> None:
    invoice = overdue_invoice(billomat)
    lenient = remind(api, invoice["id"], level=3)
    assert lenient.status_code == 201
    assert lenient.json()["reminder"]["reminder_level"] == "1"
    sandbox.strict = True
    strict = remind(api, invoice["id"], level=3)
    assert strict.status_code == 400
    assert "level" in strict.json()["errors"]["error"]


def test_reminder_is_completed_numbered_mailed_and_paid_with_its_invoice(
    sandbox: BillomatSandbox, billomat: Billomat, api: httpx.Client
) -> None:
    invoice = overdue_invoice(billomat)
    reminder = remind(api, invoice["id"]).json()["reminder"]
    draft_mail = api.post(
        f"reminders/{reminder['id']}/email", json={"email": {"recipients": {"to": "k@x.de"}}}
    )
    assert draft_mail.status_code == 400
    completed = billomat.action("reminders", reminder["id"], "complete").json()["reminder"]
    assert (completed["status"], completed["reminder_number"]) == ("OPEN", "MA1")
    assert (completed["open_amount"], completed["total_gross"]) == ("119", "119")
    mail = api.post(
        f"reminders/{reminder['id']}/email", json={"email": {"recipients": {"to": "k@x.de"}}}
    )
    assert mail.status_code == 200
    assert sandbox.sent_emails[-1].document_type == "reminder"
    assert api.get(f"reminders/{reminder['id']}/pdf").status_code == 200
    billomat.pay(invoice["id"], "119")
    paid = billomat.get("reminders", reminder["id"], "reminder")
    assert (paid["status"], paid["open_amount"]) == ("PAID", "0")


def test_reminders_go_overdue_with_the_daily_tick(
    sandbox: BillomatSandbox, billomat: Billomat, api: httpx.Client
) -> None:
    invoice = overdue_invoice(billomat)
    reminder = remind(api, invoice["id"]).json()["reminder"]
    billomat.action("reminders", reminder["id"], "complete")
    sandbox.clock.advance(8 * 86400)
    sandbox.tick()
    assert billomat.get("reminders", reminder["id"], "reminder")["status"] == "OVERDUE"


def test_reminder_charge_from_the_text_becomes_a_fee_item(
    billomat: Billomat, api: httpx.Client
) -> None:
    texts = api.get("reminder-texts").json()["reminder-texts"]["reminder-text"]
    api.put(
        f"reminder-texts/{texts[0]['id']}",
        json={"reminder-text": {"charge_name": "Mahngebühr", "charge_amount": "5"}},
    )
    invoice = overdue_invoice(billomat)
    reminder = remind(api, invoice["id"]).json()["reminder"]
    assert reminder["total_gross"] == "124"
    items = api.get("reminder-items", params={"reminder_id": reminder["id"]}).json()
    assert items["reminder-items"]["reminder-item"]["title"] == "Mahngebühr"
