"""Recurring invoices through the Lambda handler, against the Billomat sandbox and moto."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any

import pytest

from local.lambda_events import LocalLambdaContext

from .conftest import Billomat, Stack, clear_container_caches
from .test_dunning import Notices

RUN_AT = datetime(2026, 12, 1, 5, 0, tzinfo=UTC)
"""Tuesday 1 December 2026, 06:00 in Berlin: the schedule's time."""


@pytest.fixture
def notices(stack: Stack) -> Notices:
    return Notices(stack.environment["NOTIFICATIONS_TOPIC_ARN"])


def run_recurring(now: datetime | str | None = RUN_AT) -> dict[str, Any]:
    from recurring.app import lambda_handler

    event: dict[str, Any] = {"schedule": "recurring"}
    if now is not None:
        event["now"] = now if isinstance(now, str) else now.isoformat()
    answer: dict[str, Any] = lambda_handler(
        event, LocalLambdaContext(function_name="recurring", timeout_seconds=900)
    )
    json.dumps(answer)
    return answer


def customer(billomat: Billomat, name: str, email: str | None = None) -> int:
    fields: dict[str, Any] = {"name": name}
    if email is not None:
        fields["email"] = email
    return int(billomat.sandbox.seed("clients", fields)["id"])


def recurring(
    billomat: Billomat,
    client_id: int,
    name: str,
    next_creation_date: date,
    action: str = "CREATE",
    receivers: tuple[tuple[str, str], ...] = (),
    **fields: Any,
) -> int:
    record = billomat.sandbox.seed(
        "recurrings",
        {
            "client_id": client_id,
            "name": name,
            "cycle": "MONTHLY",
            "action": action,
            "start_date": next_creation_date,
            "next_creation_date": next_creation_date,
            "recurring-items": [{"title": name, "quantity": 1, "unit_price": 100}],
            **fields,
        },
    )
    for kind, address in receivers:
        billomat.sandbox.seed(
            "recurring-email-receivers",
            {"recurring_id": record["id"], "type": kind, "address": address},
        )
    return int(record["id"])


def invoices_of(billomat: Billomat, recurring_id: int) -> list[dict[str, Any]]:
    return [
        i for i in billomat.sandbox.snapshot()["invoices"] if i.get("recurring_id") == recurring_id
    ]


def emails_for(billomat: Billomat, invoice_id: int) -> list[Any]:
    return [
        e
        for e in billomat.sandbox.sent_emails
        if e.document_type == "invoice" and e.document_id == invoice_id
    ]


@pytest.fixture
def first_of_december(billomat: Billomat) -> Billomat:
    billomat.sandbox.clock.set(RUN_AT)
    return billomat


def test_drafts_of_create_recurrings_are_completed_and_emailed_once(
    first_of_december: Billomat, notices: Notices
) -> None:
    billomat = first_of_december
    kunde = customer(billomat, "Wartung GmbH", "buchhaltung@wartung.de")
    with_receivers = recurring(
        billomat,
        kunde,
        "Wartungsvertrag",
        date(2026, 12, 1),
        receivers=(("to", "abo@wartung.de"), ("cc", "chef@wartung.de")),
        email_subject="Ihre Rechnung [Invoice.invoice_number]",
    )
    to_client = recurring(billomat, kunde, "Hosting", date(2026, 12, 1))
    by_billomat = recurring(billomat, kunde, "Lizenz", date(2026, 12, 1), action="EMAIL")
    completing = recurring(billomat, kunde, "Support", date(2026, 12, 1), action="COMPLETE")
    billomat.sandbox.run_due_recurrings()

    answer = run_recurring()

    assert answer["complete"] is True
    assert (answer["period"], answer["window"]) == (
        "2026-12",
        {"from": "2026-10-31", "to": "2026-12-01"},
    )
    sent = {s["recurring_id"]: s for s in answer["invoices_sent"]}
    assert set(sent) == {with_receivers, to_client}
    (first,) = invoices_of(billomat, with_receivers)
    (second,) = invoices_of(billomat, to_client)
    assert first["status"] == second["status"] == "OPEN"
    (mail,) = emails_for(billomat, first["id"])
    assert (mail.to, mail.cc) == (["abo@wartung.de"], ["chef@wartung.de"])
    assert mail.subject == f"Ihre Rechnung {first['invoice_number']}"
    (mail,) = emails_for(billomat, second["id"])
    assert mail.to == ["buchhaltung@wartung.de"]
    assert sent[with_receivers]["invoice"] == first["invoice_number"]
    assert sent[with_receivers]["total_gross"] == "119.00"
    assert answer["issued_by_billomat"] == 2
    assert [i["status"] for i in invoices_of(billomat, by_billomat)] == ["OPEN"]
    assert [i["status"] for i in invoices_of(billomat, completing)] == ["OPEN"]
    assert answer["missing"] == []
    (notice,) = notices.all()
    assert notice["subject"] == "Abo-Rechnungen 2026-12: 2 versendet"
    assert "Wartungsvertrag: 119,00 EUR an abo@wartung.de" in notice["text"]


def test_second_run_on_the_same_day_changes_nothing(
    first_of_december: Billomat, notices: Notices
) -> None:
    billomat = first_of_december
    kunde = customer(billomat, "Einmal AG", "rechnung@einmal.de")
    recurring(billomat, kunde, "Miete", date(2026, 12, 1))
    billomat.sandbox.run_due_recurrings()
    assert len(run_recurring()["invoices_sent"]) == 1
    before = billomat.sandbox.snapshot()
    emails = len(billomat.sandbox.sent_emails)

    again = run_recurring(datetime(2026, 12, 1, 9, 30, tzinfo=UTC))

    assert again["invoices_sent"] == []
    assert again["already_sent"] == 1
    assert billomat.sandbox.snapshot()["invoices"] == before["invoices"]
    assert len(billomat.sandbox.sent_emails) == emails
    assert len(notices.all()) == 1


def test_due_recurring_without_invoice_is_reported_once(
    first_of_december: Billomat, notices: Notices
) -> None:
    billomat = first_of_december
    kunde = customer(billomat, "Vergessen KG", "v@example.de")
    deleted_draft = recurring(billomat, kunde, "Pflege", date(2026, 12, 1))
    billomat.sandbox.run_due_recurrings()
    (draft,) = invoices_of(billomat, deleted_draft)
    billomat.client.delete_invoice(int(draft["id"]))
    not_run = recurring(billomat, kunde, "Beratung", date(2026, 11, 30), hour=3)
    later_today = recurring(billomat, kunde, "Spät", date(2026, 12, 1), hour=10)

    answer = run_recurring()

    missing = {(m["recurring_id"], m["due"], m["reason"]) for m in answer["missing"]}
    assert missing == {
        (deleted_draft, "2026-12-01", "invoice_not_found"),
        (not_run, "2026-11-30", "not_created_by_billomat"),
    }
    assert all(m["recurring_id"] != later_today for m in answer["missing"])
    (notice,) = notices.all()
    assert notice["subject"] == "Abo-Rechnungen 2026-12: 0 versendet, 2 fehlen"
    assert "Beratung" in notice["text"]
    assert "von Billomat nicht erzeugt" in notice["text"]

    again = run_recurring(datetime(2026, 12, 1, 7, 0, tzinfo=UTC))
    assert len(again["missing"]) == 2
    assert {m["first_reported"] for m in again["missing"]} == {"2026-12-01"}
    assert len(notices.all()) == 1


def test_second_invoice_of_a_recurring_in_the_same_month_is_never_sent(
    first_of_december: Billomat, notices: Notices
) -> None:
    billomat = first_of_december
    kunde = customer(billomat, "Doppelt GmbH", "d@example.de")
    monthly = recurring(billomat, kunde, "Lizenz", date(2026, 12, 1))
    billomat.sandbox.run_due_recurrings()
    duplicate = billomat.sandbox.seed(
        "invoices",
        {
            "client_id": kunde,
            "recurring_id": monthly,
            "date": date(2026, 12, 1),
            "invoice-items": [{"title": "Lizenz", "quantity": 1, "unit_price": 100}],
        },
    )

    answer = run_recurring()
    again = run_recurring()

    assert len(answer["invoices_sent"]) == 1
    assert [d["invoice_id"] for d in answer["duplicates"]] == [duplicate["id"]]
    statuses = {i["id"]: i["status"] for i in invoices_of(billomat, monthly)}
    assert statuses[duplicate["id"]] == "DRAFT"
    assert emails_for(billomat, int(duplicate["id"])) == []
    assert [d["invoice_id"] for d in again["duplicates"]] == [duplicate["id"]]
    assert again["attention"] == []
    (notice,) = notices.all()
    assert "zweite Rechnung" in notice["text"]


def test_draft_of_a_month_someone_already_invoiced_is_not_sent(
    first_of_december: Billomat,
) -> None:
    billomat = first_of_december
    kunde = customer(billomat, "Hand AG", "h@example.de")
    monthly = recurring(billomat, kunde, "Pauschale", date(2026, 12, 1))
    billomat.sandbox.run_due_recurrings()
    (draft,) = invoices_of(billomat, monthly)
    by_hand = billomat.sandbox.seed(
        "invoices",
        {
            "client_id": kunde,
            "recurring_id": monthly,
            "date": date(2026, 12, 1),
            "status": "OPEN",
            "invoice-items": [{"title": "Pauschale", "quantity": 1, "unit_price": 100}],
        },
    )

    answer = run_recurring()

    assert answer["invoices_sent"] == []
    assert [(d["invoice_id"], d["period_invoice_id"]) for d in answer["duplicates"]] == [
        (draft["id"], by_hand["id"])
    ]
    assert billomat.sandbox.sent_emails == []


def test_drafts_from_later_in_the_previous_month_are_sent_within_the_lookback(
    billomat: Billomat, monkeypatch: pytest.MonkeyPatch
) -> None:
    billomat.sandbox.clock.set(datetime(2026, 11, 15, 4, 0, tzinfo=UTC))
    kunde = customer(billomat, "Mitte GmbH", "m@example.de")
    mid_month = recurring(billomat, kunde, "Reinigung", date(2026, 11, 15))
    billomat.sandbox.run_due_recurrings()
    billomat.sandbox.clock.set(RUN_AT)

    monkeypatch.setenv("RECURRING_LOOKBACK_DAYS", "0")
    clear_container_caches()
    assert run_recurring()["invoices_sent"] == []

    monkeypatch.delenv("RECURRING_LOOKBACK_DAYS")
    clear_container_caches()
    answer = run_recurring()
    assert [s["recurring_id"] for s in answer["invoices_sent"]] == [mid_month]
    assert answer["invoices_sent"][0]["cycle_period"] == "2026-11"


def test_draft_without_any_recipient_stays_a_draft_and_is_reported_once(
    first_of_december: Billomat, notices: Notices
) -> None:
    billomat = first_of_december
    kunde = customer(billomat, "Stumm GmbH")
    silent = recurring(billomat, kunde, "Archiv", date(2026, 12, 1))
    billomat.sandbox.run_due_recurrings()

    answer = run_recurring()
    again = run_recurring()

    assert answer["invoices_sent"] == []
    assert "weder Abo-Empfänger noch Kunden-E-Mail" in answer["attention"][0]
    assert [i["status"] for i in invoices_of(billomat, silent)] == ["DRAFT"]
    assert (again["attention"], again["held_for_review"]) == ([], 1)
    assert len(notices.all()) == 1


def test_email_with_unknown_outcome_is_never_sent_again(
    first_of_december: Billomat, notices: Notices
) -> None:
    from recurring.app import RecurringRunIncomplete

    billomat = first_of_december
    kunde = customer(billomat, "Funkloch AG", "f@example.de")
    monthly = recurring(billomat, kunde, "Telefon", date(2026, 12, 1))
    billomat.sandbox.run_due_recurrings()
    billomat.sandbox.faults.add("POST", "invoices/*/email", "commit_then_timeout")

    with pytest.raises(RecurringRunIncomplete, match="Billomat unavailable"):
        run_recurring()
    answer = run_recurring()

    (invoice,) = invoices_of(billomat, monthly)
    assert len(emails_for(billomat, int(invoice["id"]))) == 1
    assert answer["invoices_sent"] == []
    assert "ob die E-Mail rausging, ist unbekannt" in answer["attention"][0]
    assert "Bitte prüfen" in notices.all()[-1]["text"]


def test_outage_while_completing_is_finished_by_the_retry(first_of_december: Billomat) -> None:
    from recurring.app import RecurringRunIncomplete

    billomat = first_of_december
    kunde = customer(billomat, "Ausfall AG", "a@example.de")
    monthly = recurring(billomat, kunde, "Server", date(2026, 12, 1))
    billomat.sandbox.run_due_recurrings()
    billomat.sandbox.faults.add("PUT", "invoices/*/complete", "server_error", times=10)

    with pytest.raises(RecurringRunIncomplete):
        run_recurring()
    billomat.sandbox.faults.clear()
    answer = run_recurring()

    (invoice,) = invoices_of(billomat, monthly)
    assert invoice["status"] == "OPEN"
    assert [s["invoice_id"] for s in answer["invoices_sent"]] == [invoice["id"]]
    assert len(emails_for(billomat, int(invoice["id"]))) == 1


def test_naive_now_is_berlin_time(first_of_december: Billomat) -> None:
    assert run_recurring("2026-12-01T00:30:00")["period"] == "2026-12"
    assert run_recurring("2026-11-30T23:30:00+00:00")["period"] == "2026-12"
    assert run_recurring("2026-11-30T22:30:00+00:00")["period"] == "2026-11"
