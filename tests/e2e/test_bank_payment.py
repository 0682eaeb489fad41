"""Bank transfers → Billomat payments, end to end: intake, bank queue, worker, sandbox, moto.

Every input (our JSON, Qonto, camt.053 by upload and by S3), the signature and replay rules,
duplicate deliveries and crashes between steps; the labelled set runs through the same path
(bench/bank_matching.py) and must reach its precision and recall targets.
"""

from __future__ import annotations

import base64
import io
import json
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import boto3
import pytest

from bench.bank_matching import (
    BANK_ROUTE,
    TARGET_PRECISION,
    TARGET_RECALL,
    drain_bank_queue,
    post_webhook,
    run_labelled_set,
    signed_bank_delivery,
)
from local.demo_data import Seeded, seed_open_invoices
from local.dev_settings import DEV_WEBHOOK_SECRETS
from local.lambda_events import LocalLambdaContext, sqs_event
from local.sample_events import load_delivery

from .conftest import WEBHOOK_SECRETS, Billomat, Stack, clear_container_caches, queued_messages

ROOT = Path(__file__).resolve().parents[2]
EVENTS = ROOT / "events"
SEED = json.loads((EVENTS / "bank/_seed_open_invoices.json").read_text("utf-8"))
STATEMENT = (EVENTS / "camt053/statement-sample.xml").read_text("utf-8")
REGION = "eu-central-1"
IBAN_HOFFMANN = "DE67370400445260181590"


@dataclass
class Bank:
    stack: Stack
    billomat: Billomat
    seeded: Seeded
    notices_url: str

    @property
    def queue_url(self) -> str:
        return self.stack.aws.queue_urls["bank"]

    def work(self) -> list[dict[str, Any]]:
        """Let the worker drain the bank queue."""
        return drain_bank_queue(self.queue_url, self.stack.aws.queue_arns["bank"])

    def payments(self) -> list[tuple[str, Decimal, bool]]:
        numbers = self.seeded.numbers
        return sorted(
            (
                numbers[int(p["invoice_id"])],
                Decimal(str(p["amount"])),
                bool(p.get("mark_invoice_as_paid")),
            )
            for p in self.billomat.sandbox.snapshot()["invoice-payments"]
            if (p.get("comment") or "").endswith("]")  # ours; seeded PAID invoices have none
        )

    def invoice(self, number: str) -> dict[str, Any]:
        invoice_id = self.seeded.invoices[number]
        [record] = [
            r for r in self.billomat.sandbox.snapshot()["invoices"] if r["id"] == invoice_id
        ]
        return record

    def notices(self) -> list[dict[str, str]]:
        sqs = boto3.client("sqs", region_name=REGION)
        found = []
        while True:
            batch = sqs.receive_message(QueueUrl=self.notices_url, MaxNumberOfMessages=10).get(
                "Messages", []
            )
            if not batch:
                return found
            for message in batch:
                envelope = json.loads(message["Body"])
                found.append({"subject": envelope.get("Subject", ""), "text": envelope["Message"]})
                sqs.delete_message(
                    QueueUrl=self.notices_url, ReceiptHandle=message["ReceiptHandle"]
                )

    def review(self) -> list[dict[str, Any]]:
        from bank_payment.app import review_handler

        answer = review_handler({}, None)
        assert answer["count"] == len(answer["review"])
        return list(answer["review"])

    def payment_posts(self) -> int:
        return sum(
            1
            for request in self.billomat.sandbox.requests
            if request.method == "POST" and request.path.endswith("/invoice-payments")
        )


def set_webhook_secrets(stack: Stack, **secrets: str) -> None:
    boto3.client("secretsmanager", region_name=REGION).put_secret_value(
        SecretId=stack.environment["WEBHOOK_SECRETS_ARN"],
        SecretString=json.dumps({**WEBHOOK_SECRETS, **secrets}),
    )
    clear_container_caches()


@pytest.fixture
def bank(stack: Stack, billomat: Billomat, monkeypatch: pytest.MonkeyPatch) -> Iterator[Bank]:
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "true")
    set_webhook_secrets(stack, qonto=DEV_WEBHOOK_SECRETS["QONTO_WEBHOOK_SECRET"])
    seeded = seed_open_invoices(billomat.sandbox, SEED)
    sqs = boto3.client("sqs", region_name=REGION)
    notices_url = sqs.create_queue(QueueName="accounting-notices")["QueueUrl"]
    notices_arn = sqs.get_queue_attributes(QueueUrl=notices_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    boto3.client("sns", region_name=REGION).subscribe(
        TopicArn=stack.environment["NOTIFICATIONS_TOPIC_ARN"], Protocol="sqs", Endpoint=notices_arn
    )
    return Bank(stack, billomat, seeded, notices_url)


def deliver(name: str, **header_changes: str) -> tuple[int, dict[str, Any]]:
    delivery = load_delivery(EVENTS / "bank" / name, DEV_WEBHOOK_SECRETS, "")
    return post_webhook(delivery.route, {**delivery.headers, **header_changes}, delivery.body)


def post_transaction(transaction: dict[str, Any], **kw: Any) -> tuple[int, dict[str, Any]]:
    headers, body = signed_bank_delivery(
        transaction, DEV_WEBHOOK_SECRETS["BANK_WEBHOOK_SECRET"], **kw
    )
    return post_webhook(BANK_ROUTE, headers, body)


def own_transfer(transaction_id: str, amount: str, text: str, **changes: Any) -> dict[str, Any]:
    return {
        "schema": "bank-transaction/v1",
        "source": "fints",
        "account_iban": "DE02120300000000202051",
        "transaction_id": transaction_id,
        "status": "booked",
        "direction": "credit",
        "amount": amount,
        "currency": "EUR",
        "booking_date": "2026-11-25",
        "counterparty": {"name": "ELEKTRO HOFFMANN GMBH", "iban": IBAN_HOFFMANN},
        "remittance_information": text,
        **changes,
    }


def run_worker(bodies: list[str]) -> dict[str, Any]:
    """Hand the worker these message bodies as one SQS batch (a redelivery, say)."""
    from bank_payment.app import lambda_handler

    messages = [
        {"MessageId": f"m-{index}", "ReceiptHandle": f"r-{index}", "Body": body}
        for index, body in enumerate(bodies)
    ]
    event = sqs_event("arn:aws:sqs:eu-central-1:123456789012:bank", messages)
    answer: dict[str, Any] = lambda_handler(
        event, LocalLambdaContext(function_name="bank_payment", timeout_seconds=60)
    )
    return answer


def import_statement(data: str) -> dict[str, Any]:
    from bank_payment.app import import_handler

    answer: dict[str, Any] = import_handler(
        {"camt053": data}, LocalLambdaContext(function_name="bank_payment", timeout_seconds=60)
    )
    return answer


# -- our JSON -------------------------------------------------------------------------------


def test_bank_json_transfer_books_the_invoice_paid(bank: Bank) -> None:
    status, answer = deliver("bank-transfer-full-payment.json")
    assert (status, answer) == (200, {"status": "queued", "transaction": "fints:2026112400017"})
    bank.work()
    assert bank.payments() == [("RE1042", Decimal("1190.00"), False)]
    invoice = bank.invoice("RE1042")
    assert (invoice["status"], invoice["open_amount"]) == ("PAID", Decimal(0))
    [payment] = [
        p
        for p in bank.billomat.sandbox.snapshot()["invoice-payments"]
        if p["invoice_id"] == invoice["id"]
    ]
    assert payment["type"] == "BANK_TRANSFER"
    assert str(payment["date"]) == "2026-11-24"
    assert "Bank-Ref. 2026112400017" in payment["comment"]
    assert payment["comment"].endswith("[fints:2026112400017]")


def test_two_invoices_in_one_transfer_are_booked_each(bank: Bank) -> None:
    assert deliver("bank-transfer-two-invoices.json")[1]["status"] == "queued"
    bank.work()
    assert bank.payments() == [
        ("RE1043", Decimal("238.00"), False),
        ("RE1044", Decimal("357.00"), False),
    ]
    assert bank.invoice("RE1043")["status"] == bank.invoice("RE1044")["status"] == "PAID"


def test_early_payment_discount_is_booked_and_marks_the_invoice_paid(bank: Bank) -> None:
    deliver("bank-transfer-early-payment-discount.json")
    bank.work()
    assert bank.payments() == [("RE1045", Decimal("1399.44"), True)]
    assert bank.invoice("RE1045")["status"] == "PAID"


def test_debits_are_acknowledged_and_ignored(bank: Bank) -> None:
    status, answer = deliver("bank-transfer-debit-rent.json")
    assert (status, answer["status"]) == (200, "ignored")
    assert queued_messages(bank.stack, "bank") == []


def test_foreign_currency_goes_to_review_and_accounting_hears_of_it(bank: Bank) -> None:
    deliver("bank-transfer-foreign-currency.json")
    bank.work()
    assert bank.payments() == []
    [item] = bank.review()
    assert item["reason"] == "currency_mismatch"
    assert item["key"] == "2026-11-24#fints:2026112400021"
    assert [c["invoice_number"] for c in item["candidates"]] == ["RE1051"]
    [notice] = bank.notices()
    assert notice["subject"] == "Zahlungseingang prüfen: 250,00 USD von Lindner Consulting UG"
    assert "Invoice RE1051 travel expenses" in notice["text"]
    assert "USD" in notice["text"]
    assert "RE1051 (250,00 EUR offen)" in notice["text"]


def test_invalid_transaction_is_400_naming_the_fields(bank: Bank) -> None:
    status, answer = post_transaction(own_transfer("bad-1", "-5", "RE1042", currency="Euro"))
    assert (status, answer["error"]) == (400, "invalid_payload")
    assert {p["field"] for p in answer["problems"]} == {"amount", "currency"}
    assert queued_messages(bank.stack, "bank") == []


def test_body_that_is_no_json_object_is_400(bank: Bank) -> None:
    headers, body = signed_bank_delivery([1, 2], DEV_WEBHOOK_SECRETS["BANK_WEBHOOK_SECRET"])  # type: ignore[arg-type]
    assert post_webhook(BANK_ROUTE, headers, body)[0] == 400


# -- Qonto ----------------------------------------------------------------------------------


def test_qonto_partial_payment_keeps_the_invoice_overdue(bank: Bank) -> None:
    status, answer = deliver("qonto-transaction-partial-payment.json")
    assert (status, answer["status"]) == (200, "queued")
    assert answer["transaction"] == "qonto:8a1f0c2e-6b1d-4c59-9e1a-000000000104"
    bank.work()
    assert bank.payments() == [("RE1046", Decimal("1000.00"), False)]
    invoice = bank.invoice("RE1046")
    assert (invoice["status"], invoice["open_amount"]) == ("OVERDUE", Decimal("1975.00"))


def test_qonto_transfer_naming_a_paid_invoice_goes_to_review(bank: Bank) -> None:
    deliver("qonto-transaction-paid-invoice-review.json")
    bank.work()
    assert bank.payments() == []
    [item] = bank.review()
    assert item["reason"] == "reference_not_open"
    assert "RE 1040" in item["message"]
    assert item["transaction"]["payer_iban"] == IBAN_HOFFMANN
    assert len(bank.notices()) == 1


def test_pending_qonto_transaction_is_ignored(bank: Bank) -> None:
    status, answer = deliver("qonto-transaction-pending-ignored.json")
    assert (status, answer["status"]) == (200, "ignored")
    assert queued_messages(bank.stack, "bank") == []


def test_other_qonto_events_are_acknowledged(bank: Bank) -> None:
    from autopilot.signatures import timestamped_signature_header

    body = json.dumps({"type": "v1/cards", "data": {}}).encode()
    header = timestamped_signature_header(
        body, DEV_WEBHOOK_SECRETS["QONTO_WEBHOOK_SECRET"], int(time.time())
    )
    status, answer = post_webhook(
        "/webhooks/qonto/transactions", {"X-Qonto-Signature": header}, body
    )
    assert (status, answer["status"]) == (200, "ignored")


def test_qonto_is_refused_while_its_secret_is_unset(bank: Bank) -> None:
    set_webhook_secrets(bank.stack, qonto="-")
    assert deliver("qonto-transaction-partial-payment.json")[0] == 401


# -- signatures and replays -----------------------------------------------------------------


@pytest.mark.parametrize("header", [None, "", "t=1,v1=00", "v1=abc", "garbage"])
def test_missing_or_wrong_signature_is_401(bank: Bank, header: str | None) -> None:
    delivery = load_delivery(
        EVENTS / "bank/bank-transfer-full-payment.json", DEV_WEBHOOK_SECRETS, ""
    )
    headers = {k: v for k, v in delivery.headers.items() if k != "X-Signature"}
    if header is not None:
        headers["X-Signature"] = header
    status, answer = post_webhook(delivery.route, headers, delivery.body)
    assert (status, answer["error"]) == (401, "invalid_signature")
    assert queued_messages(bank.stack, "bank") == []


def test_body_changed_after_signing_is_401(bank: Bank) -> None:
    delivery = load_delivery(
        EVENTS / "bank/bank-transfer-full-payment.json", DEV_WEBHOOK_SECRETS, ""
    )
    changed = delivery.body.replace(b"1190.00", b"1.00")
    assert post_webhook(delivery.route, delivery.headers, changed)[0] == 401


@pytest.mark.parametrize("skew", [-305, 305, -3600])
def test_timestamps_more_than_five_minutes_off_are_401(bank: Bank, skew: int) -> None:
    status, _ = post_transaction(
        own_transfer("late-1", "1190.00", "RE1042"), now=time.time() + skew
    )
    assert status == 401
    assert queued_messages(bank.stack, "bank") == []


def test_timestamps_within_five_minutes_are_accepted(bank: Bank) -> None:
    assert post_transaction(own_transfer("ok-1", "1.00", "x"), now=time.time() - 290)[0] == 200


def test_several_v1_values_are_accepted_for_rotation(bank: Bank) -> None:
    from autopilot.signatures import timestamped_signature

    body = json.dumps(own_transfer("rot-1", "1.00", "x")).encode()
    t = int(time.time())
    good = timestamped_signature(body, DEV_WEBHOOK_SECRETS["BANK_WEBHOOK_SECRET"], t)
    header = f"t={t},v1={'0' * 64},v1={good}"
    assert post_webhook(BANK_ROUTE, {"X-Signature": header}, body)[0] == 200


def test_old_and_new_secret_both_verify_during_rotation(bank: Bank) -> None:
    set_webhook_secrets(bank.stack, bank=json.dumps(["new-bank-secret", "old-bank-secret"]))
    for number, secret in enumerate(["new-bank-secret", "old-bank-secret", "other"]):
        headers, body = signed_bank_delivery(own_transfer(f"rot-{number}", "1.00", "x"), secret)
        expected = 401 if secret == "other" else 200
        assert post_webhook(BANK_ROUTE, headers, body)[0] == expected


def test_signature_test_vector_of_the_reference(
    bank: Bank, monkeypatch: pytest.MonkeyPatch
) -> None:
    """webhooks.md §6: the vector verifies (then the minimal body is refused as incomplete)."""
    import webhooks.bank_routes

    set_webhook_secrets(bank.stack, bank="test-secret")
    monkeypatch.setattr(webhooks.bank_routes, "time", SimpleNamespace(time=lambda: 1735689600.0))
    body = (
        b'{"schema":"bank-transaction/v1","transaction_id":"tx-1","amount":"119.00",'
        b'"currency":"EUR"}'
    )
    header = "t=1735689600,v1=ef1c5b0aeda885eb41d5a6d32748c0182bbc0383e006273eb4b9beff2da39b49"
    status, answer = post_webhook(BANK_ROUTE, {"X-Signature": header}, body)
    assert (status, answer["error"]) == (400, "invalid_payload")
    tampered = header[:-1] + "a"
    assert post_webhook(BANK_ROUTE, {"X-Signature": tampered}, body)[0] == 401


def test_replayed_and_redelivered_requests_are_queued_once(bank: Bank) -> None:
    assert deliver("bank-transfer-full-payment.json")[1]["status"] == "queued"
    assert deliver("bank-transfer-full-payment.json")[1]["status"] == "duplicate"
    # the sender's retry, signed anew a minute later
    later = load_delivery(
        EVENTS / "bank/bank-transfer-full-payment.json",
        DEV_WEBHOOK_SECRETS,
        "",
        now=time.time() + 60,
    )
    assert post_webhook(later.route, later.headers, later.body)[1]["status"] == "duplicate"
    assert len(queued_messages(bank.stack, "bank")) == 1


def test_qonto_redelivery_is_queued_once(bank: Bank) -> None:
    assert deliver("qonto-transaction-partial-payment.json")[1]["status"] == "queued"
    assert deliver("qonto-transaction-partial-payment.json")[1]["status"] == "duplicate"
    bank.work()
    assert bank.payments() == [("RE1046", Decimal("1000.00"), False)]


# -- exactly once in the worker -------------------------------------------------------------


def queued_body(bank: Bank, name: str) -> str:
    deliver(name)
    [body] = queued_messages(bank.stack, "bank")
    boto3.client("sqs", region_name=REGION).purge_queue(QueueUrl=bank.queue_url)
    return body


def test_the_same_message_twice_books_once(bank: Bank) -> None:
    body = queued_body(bank, "bank-transfer-two-invoices.json")
    first = run_worker([body])
    second = run_worker([body, body])
    assert first["batchItemFailures"] == second["batchItemFailures"] == []
    assert bank.payments() == [
        ("RE1043", Decimal("238.00"), False),
        ("RE1044", Decimal("357.00"), False),
    ]
    assert bank.payment_posts() == 2


def test_checkpoints_hold_even_when_the_idempotency_record_is_gone(bank: Bank) -> None:
    body = queued_body(bank, "bank-transfer-full-payment.json")
    run_worker([body])
    dynamodb = boto3.client("dynamodb", region_name=REGION)
    table = bank.stack.environment["IDEMPOTENCY_TABLE"]
    for item in dynamodb.scan(TableName=table)["Items"]:
        dynamodb.delete_item(TableName=table, Key={"id": item["id"]})
    run_worker([body])
    assert bank.payments() == [("RE1042", Decimal("1190.00"), False)]
    assert bank.payment_posts() == 1


def test_payment_whose_answer_was_lost_is_found_not_booked_again(bank: Bank) -> None:
    body = queued_body(bank, "bank-transfer-full-payment.json")
    bank.billomat.sandbox.faults.add("POST", "invoice-payments", "commit_then_timeout")
    failed = run_worker([body])
    assert failed["batchItemFailures"] == []  # a systemic error: delayed, not failed
    assert bank.payments() == [("RE1042", Decimal("1190.00"), False)]  # but Billomat booked it
    assert run_worker([body])["batchItemFailures"] == []
    assert bank.payments() == [("RE1042", Decimal("1190.00"), False)]
    assert bank.payment_posts() == 1  # the lost one; the retry only looked it up


def test_crash_between_two_payments_of_one_transfer_books_only_the_rest(bank: Bank) -> None:
    body = queued_body(bank, "bank-transfer-two-invoices.json")
    bank.billomat.sandbox.faults.add("POST", "invoice-payments", "commit_then_fail")
    assert run_worker([body])["batchItemFailures"] == []  # delayed, not failed
    assert bank.payments() == [("RE1043", Decimal("238.00"), False)]
    run_worker([body])
    assert bank.payments() == [
        ("RE1043", Decimal("238.00"), False),
        ("RE1044", Decimal("357.00"), False),
    ]


def test_rate_limited_payment_is_put_back_on_the_queue_with_a_delay(bank: Bank) -> None:
    body = queued_body(bank, "bank-transfer-full-payment.json")
    bank.billomat.sandbox.faults.add("POST", "invoice-payments", "rate_limit")
    assert run_worker([body])["batchItemFailures"] == []  # not failed: delayed
    assert bank.payments() == []
    attributes = boto3.client("sqs", region_name=REGION).get_queue_attributes(
        QueueUrl=bank.queue_url, AttributeNames=["ApproximateNumberOfMessagesDelayed"]
    )["Attributes"]
    assert attributes["ApproximateNumberOfMessagesDelayed"] == "1"
    retried = json.dumps({**json.loads(body), "delayed_attempts": 1})
    bank.billomat.sandbox.clock.advance(900)  # the next quota window
    run_worker([retried])
    assert bank.payments() == [("RE1042", Decimal("1190.00"), False)]


def test_payment_refused_by_billomat_goes_to_review(bank: Bank) -> None:
    body = queued_body(bank, "bank-transfer-full-payment.json")
    bank.billomat.sandbox.faults.add("POST", "invoice-payments", "server_error")
    assert run_worker([body])["batchItemFailures"] == []  # delayed, not failed
    bank.billomat.client.cancel_invoice(bank.seeded.invoices["RE1042"])  # meanwhile, by hand
    assert run_worker([body])["batchItemFailures"] == []
    assert bank.payments() == []
    [item] = bank.review()
    assert item["reason"] == "payment_refused"
    assert "RE1042" in item["message"]


def test_one_batch_sees_the_payments_booked_before_in_it(bank: Bank) -> None:
    first = own_transfer("b-1", "1190.00", "RE1042")
    second = own_transfer("b-2", "1190.00", "RE1042")
    post_transaction(first)
    post_transaction(second)
    bank.work()
    assert bank.payments() == [("RE1042", Decimal("1190.00"), False)]
    [item] = bank.review()
    assert item["reason"] == "reference_not_open"
    assert len(bank.notices()) == 1


def test_review_notice_is_sent_once_per_item(bank: Bank) -> None:
    body = queued_body(bank, "bank-transfer-foreign-currency.json")
    run_worker([body])
    run_worker([body])
    assert len(bank.notices()) == 1


def test_payer_iban_is_remembered_after_a_booking_by_number(bank: Bank) -> None:
    post_transaction(
        own_transfer("p-1", "1190.00", "RE1042", counterparty={"name": "EH", "iban": IBAN_HOFFMANN})
    )
    bank.work()
    # no number, a name that says nothing: only the remembered IBAN identifies the payer
    post_transaction(
        own_transfer(
            "p-2", "476.00", "Material", counterparty={"name": "EH", "iban": IBAN_HOFFMANN}
        )
    )
    bank.work()
    assert bank.payments() == [
        ("RE1042", Decimal("1190.00"), False),
        ("RE1047", Decimal("476.00"), False),
    ]


# -- camt.053 -------------------------------------------------------------------------------


def test_statement_upload_books_its_credits_and_reviews_the_rest(bank: Bank) -> None:
    answer = import_statement(STATEMENT)
    assert (answer["status"], answer["queued"]) == ("imported", 5)
    [file] = answer["files"]
    assert (file["credits"], file["skipped_debits"]) == (5, 1)
    bank.work()
    assert bank.payments() == [
        ("RE1047", Decimal("476.00"), False),
        ("RE1048", Decimal("595.00"), False),
        ("RE1049", Decimal("119.00"), False),
        ("RE1050", Decimal("833.00"), False),  # rule 4: the IBAN is on the Billomat client
    ]
    [item] = bank.review()
    assert (item["reason"], item["transaction"]["amount"]) == ("no_match", "45.00")
    [notice] = bank.notices()
    assert "45,00 EUR" in notice["subject"]


def test_reimporting_the_same_statement_books_nothing_twice(bank: Bank) -> None:
    import_statement(STATEMENT)
    bank.work()
    before = bank.payments()
    bank.notices()
    assert import_statement(STATEMENT)["queued"] == 5
    bank.work()
    assert bank.payments() == before
    assert len(bank.review()) == 1
    assert bank.notices() == []


def test_overlapping_statement_books_only_what_is_new(bank: Bank) -> None:
    import_statement(STATEMENT)
    bank.work()
    start = STATEMENT.index("<Ntry>", STATEMENT.index("2026112590000002"))  # entry 3 on
    end = STATEMENT.index("</Stmt>")
    new_entry = """<Ntry><Amt Ccy="EUR">1190.00</Amt><CdtDbtInd>CRDT</CdtDbtInd>
      <Sts><Cd>BOOK</Cd></Sts><BookgDt><Dt>2026-11-26</Dt></BookgDt><AcctSvcrRef>2026112690000001</AcctSvcrRef>
      <NtryDtls><TxDtls><RmtInf><Ustrd>RE1042</Ustrd></RmtInf></TxDtls></NtryDtls></Ntry>"""
    overlapping = (
        STATEMENT[: STATEMENT.index("<Ntry>")] + STATEMENT[start:end] + new_entry + STATEMENT[end:]
    )
    assert import_statement(overlapping)["queued"] == 4
    bank.work()
    assert [p[0] for p in bank.payments()] == ["RE1042", "RE1047", "RE1048", "RE1049", "RE1050"]


def test_zipped_statement_is_imported_like_the_xml(bank: Bank) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("2026-11-25.xml", STATEMENT)
    answer = import_statement(base64.b64encode(buffer.getvalue()).decode())
    assert answer["queued"] == 5
    bank.work()
    assert len(bank.payments()) == 4


def test_malformed_statement_is_rejected_and_queues_nothing(bank: Bank) -> None:
    broken = STATEMENT.replace(
        "<CdtDbtInd>CRDT</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts>", "<Sts><Cd>BOOK</Cd></Sts>", 1
    )
    answer = import_statement(broken)
    assert (answer["status"], answer["error"]) == ("rejected", "invalid_camt053")
    assert "entry 1" in answer["message"]
    assert "CdtDbtInd" in answer["message"]
    assert queued_messages(bank.stack, "bank") == []
    assert import_statement("no statement at all")["status"] == "rejected"


def s3_event(bucket: str, key: str) -> dict[str, Any]:
    return {
        "Records": [
            {
                "eventSource": "aws:s3",
                "eventName": "ObjectCreated:Put",
                "s3": {"bucket": {"name": bucket}, "object": {"key": key.replace(" ", "+")}},
            }
        ]
    }


def test_statement_uploaded_to_the_bucket_is_imported(bank: Bank) -> None:
    from bank_payment.app import import_handler

    bucket = bank.stack.environment["FILES_BUCKET"]
    s3 = boto3.client("s3", region_name=REGION)
    s3.put_object(Bucket=bucket, Key="camt053/Auszug 2026-11-25.xml", Body=STATEMENT.encode())
    s3.put_object(Bucket=bucket, Key="reports/2026-11.json", Body=b"{}")
    context = LocalLambdaContext(function_name="bank_payment", timeout_seconds=60)
    answer = import_handler(s3_event(bucket, "camt053/Auszug 2026-11-25.xml"), context)
    assert (answer["status"], answer["queued"]) == ("imported", 5)
    assert import_handler(s3_event(bucket, "reports/2026-11.json"), context)["status"] == "ignored"
    bank.work()
    assert len(bank.payments()) == 4


def test_malformed_upload_to_the_bucket_is_reported_to_accounting(bank: Bank) -> None:
    from bank_payment.app import import_handler

    bucket = bank.stack.environment["FILES_BUCKET"]
    boto3.client("s3", region_name=REGION).put_object(
        Bucket=bucket, Key="camt053/kaputt.xml", Body=b"<Document>"
    )
    context = LocalLambdaContext(function_name="bank_payment", timeout_seconds=60)
    assert import_handler(s3_event(bucket, "camt053/kaputt.xml"), context)["status"] == "rejected"
    [notice] = bank.notices()
    assert notice["subject"] == "Kontoauszug abgelehnt"
    assert "camt053/kaputt.xml" in notice["text"]


# -- one transfer through two channels ------------------------------------------------------

OUR_IBAN = "DE02120300000000202051"


def credit_entry(
    amount: str,
    text: str,
    reference: str | None = None,
    end_to_end_id: str | None = None,
    value_date: str = "2026-11-25",
) -> str:
    """One booked camt.053 credit from Elektro Hoffmann."""
    own_reference = f"<AcctSvcrRef>{reference}</AcctSvcrRef>" if reference else ""
    refs = f"<Refs><EndToEndId>{end_to_end_id}</EndToEndId></Refs>" if end_to_end_id else ""
    return f"""<Ntry><Amt Ccy="EUR">{amount}</Amt><CdtDbtInd>CRDT</CdtDbtInd>
      <Sts><Cd>BOOK</Cd></Sts><BookgDt><Dt>2026-11-25</Dt></BookgDt>
      <ValDt><Dt>{value_date}</Dt></ValDt>{own_reference}
      <NtryDtls><TxDtls>{refs}<RltdPties><Dbtr><Pty><Nm>Elektro Hoffmann GmbH</Nm></Pty></Dbtr>
      <DbtrAcct><Id><IBAN>{IBAN_HOFFMANN}</IBAN></Id></DbtrAcct></RltdPties>
      <RmtInf><Ustrd>{text}</Ustrd></RmtInf></TxDtls></NtryDtls></Ntry>"""


def statement_of(*entries: str, account: str = OUR_IBAN) -> str:
    """The evening's camt.053.001.08 day statement of ``account`` with these entries."""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"><BkToCstmrStmt>
 <GrpHdr><MsgId>STMT-20261125-009</MsgId><CreDtTm>2026-11-25T18:00:00</CreDtTm></GrpHdr>
 <Stmt><Id>2026-11-25-9</Id><CreDtTm>2026-11-25T18:00:00</CreDtTm>
  <Acct><Id><IBAN>{account}</IBAN></Id><Ccy>EUR</Ccy></Acct>{"".join(entries)}
 </Stmt></BkToCstmrStmt></Document>"""


def import_and_work(bank: Bank, statement: str) -> None:
    answer = import_statement(statement)
    assert answer["status"] == "imported", answer
    bank.work()


def outcome_of(bank: Bank, reference: str) -> dict[str, Any]:
    """The worker's checkpoint of one arrival (status, duplicate_of, …)."""
    from autopilot.workflow_state import WorkflowStore

    store = WorkflowStore(bank.stack.environment["WORKFLOW_TABLE"])
    return store.get(f"banktx#{reference}", "state") or {}


def camt_reference(reference: str) -> str:
    return f"camt053:{OUR_IBAN}:{reference}"


@pytest.mark.parametrize(
    ("amount", "text", "open_after"),
    [("1190.00", "Rechnung RE1042", Decimal(0)), ("500.00", "RE1042 Teilzahlung", Decimal(690))],
    ids=["full", "partial"],
)
def test_transfer_from_the_webhook_and_again_in_the_statement_is_booked_once(
    bank: Bank, amount: str, text: str, open_after: Decimal
) -> None:
    webhook = own_transfer(
        "2026112500301", amount, text, bank_reference="2026112500301", value_date="2026-11-25"
    )
    assert post_transaction(webhook)[1]["status"] == "queued"
    bank.work()
    import_and_work(bank, statement_of(credit_entry(amount, text, reference="2026112500301")))
    assert bank.payments() == [("RE1042", Decimal(amount), False)]
    assert bank.payment_posts() == 1
    assert bank.invoice("RE1042")["open_amount"] == open_after
    second = outcome_of(bank, camt_reference("2026112500301"))
    assert (second["status"], second["duplicate_of"]) == ("duplicate", "fints:2026112500301")
    assert outcome_of(bank, "fints:2026112500301")["status"] == "booked"
    assert bank.review() == []  # not "RE1042 is paid already": nothing to check by hand
    assert bank.notices() == []


def test_statement_first_then_the_webhook_is_booked_once(bank: Bank) -> None:
    import_and_work(
        bank, statement_of(credit_entry("500.00", "RE1042 Teilzahlung", reference="2026112500302"))
    )
    # the banking tool writes the reference its own way
    post_transaction(own_transfer("tool-77", "500.00", "RE1042", bank_reference="20261125 00302"))
    bank.work()
    assert bank.payments() == [("RE1042", Decimal("500.00"), False)]
    late = outcome_of(bank, "fints:tool-77")
    assert (late["status"], late["duplicate_of"]) == ("duplicate", camt_reference("2026112500302"))


def test_qonto_transfer_and_the_qonto_account_statement_are_booked_once(bank: Bank) -> None:
    """Qonto names no account IBAN: its reference meets the statement through the key
    without account (the statement carries Qonto's transaction_id as AcctSvcrRef)."""
    deliver("qonto-transaction-partial-payment.json")
    bank.work()
    qonto_iban = "FR7616958000013234567890123"
    entry = credit_entry("1000.00", "RE-1046 Teilzahlung", reference="weber-soehne-kg-2611")
    import_and_work(bank, statement_of(entry, account=qonto_iban))
    assert bank.payments() == [("RE1046", Decimal("1000.00"), False)]
    assert bank.invoice("RE1046")["open_amount"] == Decimal("1975.00")
    second = outcome_of(bank, f"camt053:{qonto_iban}:weber-soehne-kg-2611")
    assert second["status"] == "duplicate"
    assert second["duplicate_of"] == "qonto:8a1f0c2e-6b1d-4c59-9e1a-000000000104"


def test_lookalike_transfers_with_other_bank_references_are_both_booked(bank: Bank) -> None:
    """Two instalments, same amount and text, different bank references: a partial and the rest."""
    post_transaction(own_transfer("2026112500311", "595.00", "RE1042 Rate", bank_reference="R-311"))
    bank.work()
    import_and_work(bank, statement_of(credit_entry("595.00", "RE1042 Rate", reference="R-312")))
    assert bank.payments() == [
        ("RE1042", Decimal("595.00"), False),
        ("RE1042", Decimal("595.00"), False),
    ]
    assert bank.invoice("RE1042")["status"] == "PAID"
    assert outcome_of(bank, camt_reference("R-312"))["status"] == "booked"


def test_same_end_to_end_id_amount_and_value_date_without_reference_is_one_transfer(
    bank: Bank,
) -> None:
    webhook = own_transfer(
        "tool-88", "1190.00", "RE1042", end_to_end_id="EH-2026-1042", value_date="2026-11-25"
    )
    post_transaction(webhook)
    bank.work()
    entry = credit_entry("1190.00", "Rechnung RE1042", end_to_end_id="EH-2026-1042")
    import_and_work(bank, statement_of(entry))
    assert bank.payments() == [("RE1042", Decimal("1190.00"), False)]
    # the statement's id is derived (no AcctSvcrRef): find its checkpoint among all
    duplicates = [state for state in _states(bank) if state.get("status") == "duplicate"]
    assert [state["duplicate_of"] for state in duplicates] == ["fints:tool-88"]
    assert duplicates[0]["bank_transaction"]["source"] == "camt053"
    assert bank.review() == []


def test_same_end_to_end_id_and_amount_on_another_value_date_is_two_transfers(
    bank: Bank,
) -> None:
    post_transaction(
        own_transfer(
            "tool-91", "500.00", "RE1042 Rate", end_to_end_id="EH-RATE", value_date="2026-11-24"
        )
    )
    bank.work()
    entry = credit_entry("500.00", "RE1042 Rate", end_to_end_id="EH-RATE", value_date="2026-11-25")
    import_and_work(bank, statement_of(entry))
    assert bank.payments() == [
        ("RE1042", Decimal("500.00"), False),
        ("RE1042", Decimal("500.00"), False),
    ]
    assert [s for s in _states(bank) if s.get("status") == "duplicate"] == []


def _states(bank: Bank) -> list[dict[str, Any]]:
    """Every transaction checkpoint in the workflow table."""
    from autopilot.workflow_state import WorkflowStore

    table = bank.stack.environment["WORKFLOW_TABLE"]
    store = WorkflowStore(table)
    dynamodb = boto3.client("dynamodb", region_name=REGION)
    keys = [
        item["pk"]["S"]
        for item in dynamodb.scan(TableName=table)["Items"]
        if item["pk"]["S"].startswith("banktx#") and item["sk"]["S"] == "state"
    ]
    return [store.get(key, "state") or {} for key in sorted(keys)]


def test_first_arrival_that_crashed_after_its_claim_books_on_retry_the_second_stays_duplicate(
    bank: Bank, monkeypatch: pytest.MonkeyPatch
) -> None:
    import bank_payment.booking

    body = json.dumps(
        {
            "kind": "bank_transaction",
            "transaction": own_transfer(
                "tool-95", "1190.00", "RE1042", bank_reference="2026112500395"
            ),
        }
    )
    real_decide = bank_payment.booking.decide

    def crash(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("Lambda died right after claiming the transfer")

    monkeypatch.setattr(bank_payment.booking, "decide", crash)
    assert len(run_worker([body])["batchItemFailures"]) == 1
    monkeypatch.setattr(bank_payment.booking, "decide", real_decide)
    import_and_work(
        bank, statement_of(credit_entry("1190.00", "RE1042", reference="2026112500395"))
    )
    assert bank.payments() == []  # the statement's arrival waits for nobody: it is a duplicate
    assert outcome_of(bank, camt_reference("2026112500395"))["status"] == "duplicate"
    assert run_worker([body])["batchItemFailures"] == []  # SQS redelivers the first arrival
    assert bank.payments() == [("RE1042", Decimal("1190.00"), False)]
    assert outcome_of(bank, "fints:tool-95")["status"] == "booked"
    import_and_work(
        bank, statement_of(credit_entry("1190.00", "RE1042", reference="2026112500395"))
    )  # re-imported: still nothing
    assert bank.payment_posts() == 1


def test_first_arrival_that_crashed_while_booking_books_once_on_retry(bank: Bank) -> None:
    body = json.dumps(
        {
            "kind": "bank_transaction",
            "transaction": own_transfer(
                "tool-96", "500.00", "RE1042 Teil", bank_reference="2026112500396"
            ),
        }
    )
    bank.billomat.sandbox.faults.add("POST", "invoice-payments", "commit_then_fail")
    run_worker([body])  # booked, but we never heard so (failed or put back: retried either way)
    assert bank.payments() == [("RE1042", Decimal("500.00"), False)]
    import_and_work(
        bank, statement_of(credit_entry("500.00", "RE1042 Teil", reference="2026112500396"))
    )
    assert run_worker([body])["batchItemFailures"] == []
    assert bank.payments() == [("RE1042", Decimal("500.00"), False)]
    assert bank.invoice("RE1042")["open_amount"] == Decimal(690)


def test_two_channels_of_one_transfer_in_parallel_workers_book_it_once(
    bank: Bank, monkeypatch: pytest.MonkeyPatch
) -> None:
    import threading

    from botocore.client import BaseClient

    lock = threading.Lock()
    real_call = BaseClient._make_api_call

    def atomic(self, operation, params):  # type: ignore[no-untyped-def]
        with lock:  # DynamoDB's conditional writes are atomic; moto's across threads are not
            return real_call(self, operation, params)

    monkeypatch.setattr(BaseClient, "_make_api_call", atomic)
    webhook = own_transfer("tool-97", "500.00", "RE1042 Teil", bank_reference="2026112500397")
    statement = {
        **webhook,
        "source": "camt053",
        "transaction_id": f"{OUR_IBAN}:2026112500397",
    }
    bodies = [
        json.dumps({"kind": "bank_transaction", "transaction": transaction})
        for transaction in (webhook, statement)
    ]
    answers: list[dict[str, Any]] = []
    threads = [
        threading.Thread(target=lambda b=body: answers.append(run_worker([b]))) for body in bodies
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    bank.work()
    assert bank.payments() == [("RE1042", Decimal("500.00"), False)]
    statuses = sorted(
        outcome_of(bank, reference)["status"]
        for reference in ("fints:tool-97", camt_reference("2026112500397"))
    )
    assert statuses == ["booked", "duplicate"]


# -- the labelled set -----------------------------------------------------------------------


@pytest.mark.slow
def test_labelled_transactions_reach_the_precision_and_recall_targets() -> None:
    report = run_labelled_set()
    assert len(report.results) >= 60
    assert report.precision >= TARGET_PRECISION, [r.case_id for r in report.differing()]
    assert report.recall >= TARGET_RECALL, [r.case_id for r in report.differing()]
    unexpected = [r.case_id for r in report.differing() if r.case_id != "r2-bare-partial"]
    assert unexpected == []


# -- concurrency -------------------------------------------------------------------------------


def test_two_transfers_for_one_invoice_in_parallel_workers_book_it_once(
    bank: Bank, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both transfers are decided against the same open invoice before either books; the
    per-invoice claim and the fresh look at the invoice let only one payment through."""
    import threading

    from botocore.client import BaseClient

    lock = threading.Lock()
    real_call = BaseClient._make_api_call

    def atomic(self, operation, params):  # type: ignore[no-untyped-def]
        with lock:  # DynamoDB's conditional writes are atomic; moto's across threads are not
            return real_call(self, operation, params)

    monkeypatch.setattr(BaseClient, "_make_api_call", atomic)
    bodies = [
        json.dumps(
            {
                "kind": "bank_transaction",
                "transaction": own_transfer(f"parallel-{n}", "1190.00", "Rechnung RE1042"),
            }
        )
        for n in (1, 2)
    ]
    answers: list[dict[str, Any]] = []
    threads = [
        threading.Thread(target=lambda b=body: answers.append(run_worker([b]))) for body in bodies
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    bank.work()  # whatever was put back for later
    assert bank.payments() == [("RE1042", Decimal("1190.00"), False)]
    assert bank.invoice("RE1042")["status"] == "PAID"


def test_partial_transfer_decided_on_a_stale_open_amount_goes_to_review(
    bank: Bank, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Transfer B arrives while transfer A is booking on the same invoice: B waits for the
    invoice, then finds less open than it would pay and goes to review instead of overpaying."""
    from autopilot.billomat import BillomatClient

    first, second = (
        json.dumps(
            {
                "kind": "bank_transaction",
                "transaction": own_transfer(f"stale-{n}", "1000.00", "RE1042 Teilzahlung"),
            }
        )
        for n in (1, 2)
    )
    real_book = BillomatClient.book_payment
    interleaved: list[dict[str, Any]] = []

    def book_while_the_other_arrives(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        if not interleaved:
            interleaved.append(run_worker([second]))  # decided now, before A has booked
        return real_book(self, *args, **kwargs)

    import time

    import autopilot.delayed_retry

    monkeypatch.setattr(autopilot.delayed_retry, "BUSY_DELAY_SECONDS", 1)
    monkeypatch.setattr(BillomatClient, "book_payment", book_while_the_other_arrives)
    run_worker([first])
    monkeypatch.setattr(BillomatClient, "book_payment", real_book)
    assert interleaved[0]["batchItemFailures"] == []  # B was put back for later, not failed
    time.sleep(1.2)  # the requeue delay (SQS DelaySeconds, at least 1 s)
    bank.work()
    assert bank.payments() == [("RE1042", Decimal("1000.00"), False)]
    assert bank.invoice("RE1042")["open_amount"] == Decimal("190.00")
    assert [item["reason"] for item in bank.review()] == ["payment_refused"]
