"""Daily dunning through the Lambda handler, against the Billomat sandbox and moto."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from local.lambda_events import LocalLambdaContext

from .conftest import Billomat, Stack, clear_container_caches

RUN_AT = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)
"""Wednesday 25 November 2026, 09:00 in Berlin: the schedule's time."""
TODAY = date(2026, 11, 25)


class Notices:
    """Accounting notices published to the topic (read through a subscribed SQS queue)."""

    def __init__(self, topic_arn: str) -> None:
        import boto3

        self._sqs = boto3.client("sqs", region_name="eu-central-1")
        self._url = self._sqs.create_queue(QueueName="accounting-notices")["QueueUrl"]
        queue_arn = self._sqs.get_queue_attributes(QueueUrl=self._url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        boto3.client("sns", region_name="eu-central-1").subscribe(
            TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn
        )
        self._received: list[dict[str, str]] = []

    def all(self) -> list[dict[str, str]]:
        """Every notice so far, oldest first: ``{"subject", "text"}``."""
        while batch := self._sqs.receive_message(QueueUrl=self._url, MaxNumberOfMessages=10).get(
            "Messages", []
        ):
            for message in batch:
                envelope = json.loads(message["Body"])
                self._received.append({"subject": envelope["Subject"], "text": envelope["Message"]})
                self._sqs.delete_message(QueueUrl=self._url, ReceiptHandle=message["ReceiptHandle"])
        return list(self._received)


@pytest.fixture
def notices(stack: Stack) -> Notices:
    return Notices(stack.environment["NOTIFICATIONS_TOPIC_ARN"])


def run_dunning(
    now: datetime | str | None = RUN_AT, timeout_seconds: float = 900
) -> dict[str, Any]:
    from dunning.app import lambda_handler

    event: dict[str, Any] = {"schedule": "dunning"}
    if now is not None:
        event["now"] = now if isinstance(now, str) else now.isoformat()
    context = LocalLambdaContext(function_name="dunning", timeout_seconds=timeout_seconds)
    answer: dict[str, Any] = lambda_handler(event, context)
    json.dumps(answer)  # the answer is plain JSON
    return answer


def client(billomat: Billomat, name: str, **fields: Any) -> int:
    record = billomat.sandbox.seed(
        "clients", {"name": name, "email": f"{name.lower()}@example.de", **fields}
    )
    return int(record["id"])


def overdue_invoice(
    billomat: Billomat, client_id: int, days_overdue: int, amount: str = "100", **fields: Any
) -> dict[str, Any]:
    """A completed invoice whose due date lies ``days_overdue`` days before TODAY."""
    due = TODAY - timedelta(days=days_overdue)
    return billomat.sandbox.seed(
        "invoices",
        {
            "client_id": client_id,
            "date": due - timedelta(days=14),
            "due_date": due,
            "status": "OPEN",
            "invoice-items": [
                {"title": "Beratung", "quantity": 1, "unit_price": Decimal(amount), "tax_rate": 0}
            ],
            **fields,
        },
    )


def reminders_of(billomat: Billomat, invoice_id: int) -> list[dict[str, Any]]:
    return [r for r in billomat.sandbox.snapshot()["reminders"] if r["invoice_id"] == invoice_id]


def reminder_emails(billomat: Billomat) -> list[Any]:
    return [e for e in billomat.sandbox.sent_emails if e.document_type == "reminder"]


@pytest.fixture
def at_nine(billomat: Billomat) -> Billomat:
    billomat.sandbox.clock.set(RUN_AT)
    billomat.sandbox.tick()
    return billomat


def test_overdue_invoices_get_their_next_reminder_completed_and_emailed(
    at_nine: Billomat, notices: Notices
) -> None:
    billomat = at_nine
    mueller = client(billomat, "Mueller")
    first = overdue_invoice(billomat, mueller, days_overdue=8)
    long_overdue = overdue_invoice(billomat, mueller, days_overdue=40, amount="250")
    not_yet = overdue_invoice(billomat, mueller, days_overdue=3)
    second = overdue_invoice(billomat, mueller, days_overdue=20)
    billomat.sandbox.clock.set(RUN_AT - timedelta(days=10))
    billomat.sandbox.seed("reminders", {"invoice_id": second["id"], "status": "OPEN"})
    billomat.sandbox.clock.set(RUN_AT)

    answer = run_dunning()

    assert answer["complete"] is True
    assert answer["reminders_sent"] == 3
    by_level = answer["reminders_by_level"]
    assert sorted(r["invoice_id"] for r in by_level["1"]) == sorted(
        [first["id"], long_overdue["id"]]
    )
    assert [r["invoice_id"] for r in by_level["2"]] == [second["id"]]
    assert by_level["2"][0]["level_name"] == "1. Mahnung"
    # 40 days overdue and no reminder yet: one reminder (level 1), not four
    assert [r["reminder_level"] for r in reminders_of(billomat, long_overdue["id"])] == [1]
    assert reminders_of(billomat, not_yet["id"]) == []
    assert answer["skipped"] == {"level_not_reached": 1}
    for reminder in reminders_of(billomat, first["id"]) + reminders_of(billomat, second["id"]):
        assert reminder["status"] in {"OPEN", "OVERDUE"}
    emails = reminder_emails(billomat)
    assert len(emails) == 3
    assert {tuple(e.to) for e in emails} == {("mueller@example.de",)}
    assert answer["overdue_invoices"] == 4
    assert answer["total_overdue"] == {"EUR": "550.00"}
    assert answer["final_level"] == []
    (notice,) = notices.all()
    assert notice["subject"] == "Mahnlauf 25.11.2026: 3 Mahnungen versendet"
    assert "Stufe 1 (Zahlungserinnerung): 2" in notice["text"]
    assert "Stufe 2 (1. Mahnung): 1" in notice["text"]
    assert "Überfällig insgesamt: 4 Rechnungen, 550,00 EUR" in notice["text"]


def test_second_run_on_the_same_day_changes_nothing(at_nine: Billomat, notices: Notices) -> None:
    billomat = at_nine
    invoice = overdue_invoice(billomat, client(billomat, "Schulz"), days_overdue=9)
    assert run_dunning()["reminders_sent"] == 1
    before = billomat.sandbox.snapshot()
    emails, requests = len(billomat.sandbox.sent_emails), billomat.sandbox.request_count

    again = run_dunning(RUN_AT + timedelta(hours=3))

    assert again["reminders_sent"] == 0
    assert again["skipped"] == {"level_not_reached": 1}
    assert billomat.sandbox.snapshot()["reminders"] == before["reminders"]
    assert len(billomat.sandbox.sent_emails) == emails
    assert len(reminders_of(billomat, invoice["id"])) == 1
    assert len(notices.all()) == 1
    assert billomat.sandbox.request_count - requests <= 3  # invoices, reminders, texts at most


def test_no_reminder_for_automatic_dunning_recent_payment_or_small_amounts(
    at_nine: Billomat,
) -> None:
    billomat = at_nine
    automatic = overdue_invoice(billomat, client(billomat, "Auto", dunning_run=True), 10)
    small = overdue_invoice(billomat, client(billomat, "Klein"), 10, amount="4.99")
    part_paid = overdue_invoice(billomat, client(billomat, "Teil"), 10)
    billomat.sandbox.seed(
        "invoice-payments",
        {
            "invoice_id": part_paid["id"],
            "amount": Decimal("40"),
            "date": TODAY - timedelta(days=2),
            "type": "BANK_TRANSFER",
        },
    )
    older_payment = overdue_invoice(billomat, client(billomat, "Alt"), 10)
    billomat.sandbox.seed(
        "invoice-payments",
        {
            "invoice_id": older_payment["id"],
            "amount": Decimal("40"),
            "date": TODAY - timedelta(days=8),
            "type": "BANK_TRANSFER",
        },
    )

    answer = run_dunning()

    assert answer["skipped"] == {
        "automatic_dunning": 1,
        "below_minimum": 1,
        "quiet_after_payment": 1,
    }
    assert [r["invoice_id"] for r in answer["reminders_by_level"]["1"]] == [older_payment["id"]]
    for skipped in (automatic, small, part_paid):
        assert reminders_of(billomat, skipped["id"]) == []


def test_invoice_climbs_the_ladder_one_level_per_step_and_ends_at_the_final_level(
    billomat: Billomat, notices: Notices
) -> None:
    start = datetime(2026, 10, 1, 7, 0, tzinfo=UTC)  # 09:00 CEST
    billomat.sandbox.clock.set(start)
    customer = client(billomat, "Lang")
    invoice = billomat.sandbox.seed(
        "invoices",
        {
            "client_id": customer,
            "date": date(2026, 9, 17),
            "due_date": date(2026, 10, 1),
            "status": "OPEN",
            "invoice-items": [{"title": "Wartung", "quantity": 1, "unit_price": 300}],
        },
    )
    sent_on: dict[int, int] = {}
    for day in range(1, 45):
        moment = start + timedelta(days=day)  # crosses the switch to CET on 25 October
        billomat.sandbox.clock.set(moment)
        billomat.sandbox.tick()
        answer = run_dunning(moment)
        for level, reminders in answer["reminders_by_level"].items():
            assert [r["invoice_id"] for r in reminders] == [invoice["id"]]
            sent_on[int(level)] = reminders[0]["days_overdue"]
    assert sent_on == {1: 7, 2: 14, 3: 21, 4: 28}
    assert [r["reminder_level"] for r in reminders_of(billomat, invoice["id"])] == [1, 2, 3, 4]
    assert len(reminder_emails(billomat)) == 4
    assert [f["invoice_id"] for f in answer["final_level"]] == [invoice["id"]]
    assert answer["skipped"] == {"final_level_sent": 1}
    assert len(notices.all()) == 4


def test_ladder_and_quiet_days_come_from_the_configuration(
    at_nine: Billomat, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DUNNING_LADDER_DAYS", "3, 10")
    monkeypatch.setenv("DUNNING_QUIET_DAYS", "2")
    monkeypatch.setenv("DUNNING_MINIMUM_AMOUNT", "0")
    clear_container_caches()
    billomat = at_nine
    customer = client(billomat, "Konfig")
    early = overdue_invoice(billomat, customer, days_overdue=4, amount="1")
    final = overdue_invoice(billomat, customer, days_overdue=12)
    billomat.sandbox.clock.set(RUN_AT - timedelta(days=3))
    billomat.sandbox.seed("reminders", {"invoice_id": final["id"], "status": "OPEN"})
    billomat.sandbox.clock.set(RUN_AT)

    answer = run_dunning()

    assert [r["invoice_id"] for r in answer["reminders_by_level"]["1"]] == [early["id"]]
    assert [r["invoice_id"] for r in answer["reminders_by_level"]["2"]] == [final["id"]]
    assert [f["invoice_id"] for f in answer["final_level"]] == [final["id"]]


def test_lost_create_answer_is_adopted_on_the_retry_not_created_twice(
    at_nine: Billomat,
) -> None:
    from dunning.app import DunningRunIncomplete

    billomat = at_nine
    invoice = overdue_invoice(billomat, client(billomat, "Netz"), days_overdue=8)
    billomat.sandbox.faults.add("POST", "reminders", "commit_then_fail")

    with pytest.raises(DunningRunIncomplete, match="Billomat unavailable"):
        run_dunning()
    assert len(reminders_of(billomat, invoice["id"])) == 1
    assert reminder_emails(billomat) == []

    answer = run_dunning()

    (reminder,) = reminders_of(billomat, invoice["id"])
    assert reminder["status"] in {"OPEN", "OVERDUE"}
    assert answer["reminders_by_level"]["1"][0]["reminder_id"] == reminder["id"]
    assert len(reminder_emails(billomat)) == 1


def test_email_with_unknown_outcome_is_never_sent_again(
    at_nine: Billomat, notices: Notices
) -> None:
    from dunning.app import DunningRunIncomplete

    billomat = at_nine
    invoice = overdue_invoice(billomat, client(billomat, "Zeit"), days_overdue=8)
    billomat.sandbox.faults.add("POST", "reminders/*/email", "commit_then_timeout")

    with pytest.raises(DunningRunIncomplete):
        run_dunning()
    answer = run_dunning()

    assert len(reminder_emails(billomat)) == 1  # the one whose answer was lost
    assert len(reminders_of(billomat, invoice["id"])) == 1
    assert answer["reminders_sent"] == 0
    assert any("ob die E-Mail rausging, ist unbekannt" in line for line in answer["attention"])
    assert "ob die E-Mail rausging" in notices.all()[-1]["text"]


def test_spent_rate_limit_stops_the_run_and_the_retry_finishes_it(at_nine: Billomat) -> None:
    from dunning.app import DunningRunIncomplete

    billomat = at_nine
    customer = client(billomat, "Viel")
    invoices = [overdue_invoice(billomat, customer, days_overdue=8 + n) for n in range(4)]
    billomat.sandbox.rate_limit = 10

    with pytest.raises(DunningRunIncomplete, match="rate limit"):
        run_dunning(timeout_seconds=30)  # too short to wait for the next window
    sent_first = len(reminder_emails(billomat))
    assert 0 < sent_first < 4

    billomat.sandbox.clock.advance(15 * 60)
    billomat.sandbox.rate_limit = 300
    answer = run_dunning()

    assert answer["reminders_sent"] == 4 - sent_first
    for invoice in invoices:
        assert len(reminders_of(billomat, invoice["id"])) == 1
    assert len(reminder_emails(billomat)) == 4


def test_client_without_email_is_reported_not_dunned(at_nine: Billomat) -> None:
    billomat = at_nine
    silent = billomat.sandbox.seed("clients", {"name": "Ohne Mail"})
    invoice = overdue_invoice(billomat, int(silent["id"]), days_overdue=8)

    answer = run_dunning()

    assert answer["reminders_sent"] == 0
    assert answer["skipped"] == {"client_without_email": 1}
    assert reminders_of(billomat, invoice["id"]) == []
    assert "keine E-Mail-Adresse" in answer["attention"][0]


def test_run_without_now_uses_the_current_berlin_day(at_nine: Billomat) -> None:
    answer = run_dunning(None)
    assert answer["business_day"] == datetime.now(ZoneInfo("Europe/Berlin")).date().isoformat()
    assert answer["reminders_sent"] == 0


def test_now_without_offset_is_berlin_time(at_nine: Billomat) -> None:
    assert run_dunning("2026-11-25T00:30:00")["business_day"] == "2026-11-25"
    assert run_dunning("2026-11-24T23:30:00+00:00")["business_day"] == "2026-11-25"


def test_requests_stay_few_one_listing_each_plus_three_per_reminder(at_nine: Billomat) -> None:
    billomat = at_nine
    due = [overdue_invoice(billomat, client(billomat, f"Kunde{n}"), 8) for n in range(12)]
    for invoice in due[:5]:
        billomat.sandbox.seed(
            "invoice-payments",
            {
                "invoice_id": invoice["id"],
                "amount": Decimal("10"),
                "date": TODAY - timedelta(days=30),
                "type": "BANK_TRANSFER",
            },
        )
    for n in range(30):  # overdue, but not yet at a level: cost nothing per invoice
        overdue_invoice(billomat, client(billomat, f"Spaeter{n}"), 3)
    requests = billomat.sandbox.request_count

    answer = run_dunning()

    assert answer["reminders_sent"] == 12
    # invoices, reminders, reminder texts, clients, payments: one listing each;
    # then create, complete and e-mail per reminder
    assert billomat.sandbox.request_count - requests == 5 + 3 * 12
