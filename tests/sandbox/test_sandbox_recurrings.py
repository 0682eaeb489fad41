"""Recurring invoices: stored schedules, the nightly run, stop (§6.6)."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any

import httpx

from local.billomat_sandbox import BillomatSandbox
from local.billomat_sandbox.recurrings import add_months, following_creation_date

if TYPE_CHECKING:
    from .conftest import Billomat


def recurring(billomat: Billomat, client_id: str, **fields: Any) -> dict[str, Any]:
    return billomat.create(
        "recurrings",
        "recurring",
        {
            "client_id": client_id,
            "name": "Wartungsvertrag",
            "cycle": "MONTHLY",
            "recurring-items": {
                "recurring-item": {"title": "Wartung", "quantity": 1, "unit_price": "250"}
            },
            **fields,
        },
    )


def test_recurring_defaults_start_tomorrow(billomat: Billomat) -> None:
    client = billomat.client()
    stored = recurring(billomat, client["id"])
    assert (stored["action"], stored["cycle_number"], stored["counter"]) == ("CREATE", "1", "0")
    assert stored["start_date"] == stored["next_creation_date"] == "2025-03-11"
    assert stored["total_gross"] == "297.5"


def test_due_recurring_with_action_create_leaves_a_draft(
    sandbox: BillomatSandbox, billomat: Billomat
) -> None:
    client = billomat.client()
    stored = recurring(billomat, client["id"], next_creation_date="2025-03-10")
    created = sandbox.run_due_recurrings()
    assert len(created) == 1
    invoice = billomat.get("invoices", str(created[0]), "invoice")
    assert (invoice["status"], invoice["recurring_id"], invoice["date"]) == (
        "DRAFT",
        stored["id"],
        "2025-03-10",
    )
    assert invoice["total_gross"] == "297.5"
    after = billomat.get("recurrings", stored["id"], "recurring")
    assert (after["counter"], after["last_creation_date"], after["next_creation_date"]) == (
        "1",
        "2025-03-10",
        "2025-04-10",
    )
    assert sandbox.run_due_recurrings() == []


def test_action_complete_and_email_complete_and_mail_the_invoice(
    sandbox: BillomatSandbox, billomat: Billomat, api: httpx.Client
) -> None:
    client = billomat.client(email="kunde@example.com")
    completing = recurring(
        billomat, client["id"], next_creation_date="2025-03-10", action="COMPLETE"
    )
    mailing = recurring(
        billomat,
        client["id"],
        next_creation_date="2025-03-01",
        action="EMAIL",
        email_subject="Rechnung [Invoice.invoice_number]",
    )
    for address, kind in (("abo@example.com", "to"), ("chef@example.com", "cc")):
        receiver = api.post(
            "recurring-email-receivers",
            json={
                "recurring-email-receiver": {
                    "recurring_id": mailing["id"],
                    "type": kind,
                    "address": address,
                }
            },
        )
        assert receiver.status_code == 201
    created = sandbox.run_due_recurrings()
    by_recurring = {
        billomat.get("invoices", str(invoice_id), "invoice")["recurring_id"]: invoice_id
        for invoice_id in created
    }
    assert billomat.invoice_status(str(by_recurring[completing["id"]])) == "OPEN"
    assert billomat.invoice_status(str(by_recurring[mailing["id"]])) == "OPEN"
    (sent,) = sandbox.sent_emails
    assert (sent.to, sent.cc, sent.document_id) == (
        ["abo@example.com"],
        ["chef@example.com"],
        by_recurring[mailing["id"]],
    )
    assert sent.subject.startswith("Rechnung RE")


def test_missed_runs_are_caught_up_and_month_ends_are_clamped(
    sandbox: BillomatSandbox, billomat: Billomat
) -> None:
    client = billomat.client()
    stored = recurring(billomat, client["id"], next_creation_date="2024-12-31")
    created = sandbox.run_due_recurrings()
    dates = [billomat.get("invoices", str(i), "invoice")["date"] for i in created]
    assert dates == ["2024-12-31", "2025-01-31", "2025-02-28"]
    after = billomat.get("recurrings", stored["id"], "recurring")
    assert (after["counter"], after["next_creation_date"]) == ("3", "2025-03-31")


def test_end_date_and_iterations_end_the_schedule(
    sandbox: BillomatSandbox, billomat: Billomat
) -> None:
    client = billomat.client()
    ending = recurring(
        billomat, client["id"], next_creation_date="2025-01-10", end_date="2025-02-15"
    )
    limited = recurring(
        billomat, client["id"], next_creation_date="2025-01-10", cycle="WEEKLY", iterations=2
    )
    assert len(sandbox.run_due_recurrings()) == 4
    assert billomat.get("recurrings", ending["id"], "recurring")["next_creation_date"] == ""
    assert billomat.get("recurrings", limited["id"], "recurring")["next_creation_date"] == ""


def test_stop_empties_the_next_creation_date(sandbox: BillomatSandbox, billomat: Billomat) -> None:
    client = billomat.client()
    stored = recurring(billomat, client["id"], next_creation_date="2025-03-01")
    stopped = billomat.action("recurrings", stored["id"], "stop")
    assert stopped.status_code == 200
    assert stopped.json()["recurring"]["next_creation_date"] == ""
    assert sandbox.run_due_recurrings() == []


def test_schedule_arithmetic() -> None:
    assert add_months(date(2025, 1, 31), 1, 31) == date(2025, 2, 28)
    assert add_months(date(2025, 2, 28), 1, 31) == date(2025, 3, 31)
    assert add_months(date(2024, 1, 31), 1, 31) == date(2024, 2, 29)
    assert add_months(date(2025, 1, 15), 1, 15, ultimo=True) == date(2025, 2, 28)
    assert following_creation_date(date(2025, 1, 31), "MONTHLY", 3, 31) == date(2025, 4, 30)
    assert following_creation_date(date(2025, 3, 10), "WEEKLY", 2, 10) == date(2025, 3, 24)
    assert following_creation_date(date(2024, 2, 29), "YEARLY", 1, 29) == date(2025, 2, 28)
    assert following_creation_date(date(2025, 3, 10), "DAILY", 1, 10) == date(2025, 3, 11)
