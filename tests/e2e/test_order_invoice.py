"""Shop orders become exactly one invoice each: through the intake, the queue and the worker,
against the Billomat sandbox and moto — including duplicates, concurrency and Billomat faults."""

from __future__ import annotations

import itertools
import json
import threading
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import boto3
import pytest

from local.dev_settings import DEV_WEBHOOK_SECRETS
from local.lambda_events import LocalLambdaContext, http_api_event
from local.sample_events import load_delivery

from .conftest import (
    Billomat,
    Stack,
    clear_container_caches,
    drain_queue,
    receive_from,
    run_queue_worker,
)

EVENTS = Path(__file__).resolve().parents[2] / "events"
B2C_DISCOUNT = EVENTS / "shopify/order-paid-b2c-discount.json"
B2B_COMPANY = EVENTS / "shopify/order-paid-b2b-company.json"
WOO_PAYPAL = EVENTS / "woocommerce/order-processing-paypal.json"
REGION = "eu-central-1"
EVENT_IDS = itertools.count(1)


def deliver(sample: Path, mutate: Callable[[dict[str, Any]], None] | None = None) -> dict:
    """POST a sample (optionally changed and re-signed) to the intake; returns its JSON answer."""
    from webhooks.app import lambda_handler

    from autopilot.signatures import base64_hmac_sha256

    delivery = load_delivery(sample, DEV_WEBHOOK_SECRETS, "")
    headers, body = dict(delivery.headers), delivery.body
    if mutate is not None:
        spec = json.loads(sample.read_text("utf-8"))
        spec["headers"]["X-Shopify-Event-Id"] = f"test-event-{next(EVENT_IDS)}"
        mutate(spec)
        body = json.dumps(spec["body"], separators=(",", ":")).encode()
        headers = dict(spec["headers"])
        secret_name = "SHOPIFY" if "shopify" in spec["route"] else "WOOCOMMERCE"
        signature = base64_hmac_sha256(body, DEV_WEBHOOK_SECRETS[f"{secret_name}_WEBHOOK_SECRET"])
        header = "X-Shopify-Hmac-Sha256" if secret_name == "SHOPIFY" else "X-WC-Webhook-Signature"
        headers[header] = signature
    event = http_api_event("POST", delivery.route, headers, body)
    response = lambda_handler(event, LocalLambdaContext(function_name="webhooks"))
    assert response["statusCode"] == 200, response
    return json.loads(response["body"])


def receive(stack: Stack, max_messages: int = 10) -> list[dict[str, Any]]:
    return receive_from(stack, "orders", max_messages)


def run_worker(stack: Stack, messages: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """Deliver a batch to the worker like the SQS event source; delete what succeeded."""
    from order_invoice.app import lambda_handler

    return run_queue_worker(stack, "orders", lambda_handler, "order_invoice", messages)


def drain(stack: Stack, rounds: int = 10, billomat: Billomat | None = None) -> None:
    """Run the worker until the queue is empty (delayed messages included)."""
    clock = billomat.sandbox.clock if billomat is not None else None
    drain_queue(stack, "orders", lambda: run_worker(stack), rounds, clock)


pytestmark = pytest.mark.usefixtures("immediate_requeue", "sandbox_retry_clock")


def records(billomat: Billomat, resource: str) -> list[dict[str, Any]]:
    return billomat.sandbox.snapshot().get(resource, [])


def assert_billed_once(billomat: Billomat, total: str, emails: int = 1, payments: int = 1) -> None:
    invoices = records(billomat, "invoices")
    assert len(invoices) == 1, invoices
    assert invoices[0]["total_gross"] == Decimal(total)
    assert len(billomat.sandbox.sent_emails) == emails
    assert len(records(billomat, "invoice-payments")) == payments


def test_paid_shopify_order_becomes_one_paid_invoice(stack: Stack, billomat: Billomat) -> None:
    assert deliver(B2C_DISCOUNT)["status"] == "queued"
    result = run_worker(stack)
    assert result["batchItemFailures"] == []
    [client] = records(billomat, "clients")
    assert client["email"] == "erika.beispiel@example.de"
    assert client["customfield"] == "shopify:demo-shop.myshopify.com:customer:115310627314724001"
    [invoice] = records(billomat, "invoices")
    assert invoice["status"] == "PAID"
    assert invoice["total_gross"] == Decimal("70.01")
    assert invoice["net_gross"] == "GROSS"
    assert invoice["customfield"] == "shopify:demo-shop.myshopify.com:order:820982911946154601"
    assert invoice["label"] == "Shopify-Bestellung #1002"
    [mail] = billomat.sandbox.sent_emails
    assert mail.to == ["erika.beispiel@example.de"]
    assert "#1002" in (mail.subject or "")
    [payment] = records(billomat, "invoice-payments")
    assert (payment["amount"], payment["type"]) == (Decimal("70.01"), "PAYPAL")


def test_b2b_net_order_keeps_company_and_vat_id(stack: Stack, billomat: Billomat) -> None:
    deliver(B2B_COMPANY)
    run_worker(stack)
    [client] = records(billomat, "clients")
    assert (client["name"], client["vat_number"]) == ("Muster GmbH", "DE123456789")
    [invoice] = records(billomat, "invoices")
    assert (invoice["net_gross"], invoice["total_net"], invoice["total_gross"]) == (
        "NET",
        Decimal("450.00"),
        Decimal("535.50"),
    )


def test_woocommerce_order_becomes_one_paid_invoice(stack: Stack, billomat: Billomat) -> None:
    deliver(WOO_PAYPAL)
    run_worker(stack)
    assert_billed_once(billomat, "123.89")
    assert records(billomat, "invoices")[0]["status"] == "PAID"


def test_returning_customer_costs_four_billomat_requests(stack: Stack, billomat: Billomat) -> None:
    deliver(B2C_DISCOUNT)
    run_worker(stack)
    before = billomat.sandbox.request_count
    deliver(B2C_DISCOUNT, lambda spec: spec["body"].update(id=1, name="#1099"))
    run_worker(stack)
    assert billomat.sandbox.request_count - before == 4  # create, complete, e-mail, payment
    assert len(records(billomat, "clients")) == 1
    assert len(records(billomat, "invoices")) == 2


def test_redelivered_message_bills_nothing_twice(stack: Stack, billomat: Billomat) -> None:
    deliver(B2C_DISCOUNT)
    [message] = receive(stack)
    run_worker(stack, [message])
    before = billomat.sandbox.request_count
    run_worker(stack, [message])  # SQS redelivery of the same message
    assert billomat.sandbox.request_count == before
    assert_billed_once(billomat, "70.01")


def test_redelivery_after_the_idempotency_record_expired_resumes_from_checkpoints(
    stack: Stack, billomat: Billomat
) -> None:
    deliver(B2C_DISCOUNT)
    [message] = receive(stack)
    run_worker(stack, [message])
    boto3.resource("dynamodb", region_name=REGION).Table(
        stack.environment["IDEMPOTENCY_TABLE"]
    ).delete_item(Key={"id": _idempotency_ids(stack)[0]})
    run_worker(stack, [message])
    assert_billed_once(billomat, "70.01")


def _idempotency_ids(stack: Stack) -> list[str]:
    table = boto3.resource("dynamodb", region_name=REGION).Table(
        stack.environment["IDEMPOTENCY_TABLE"]
    )
    return [item["id"] for item in table.scan()["Items"] if "order_invoice" in item["id"]]


def test_two_orders_of_a_new_customer_create_one_client(stack: Stack, billomat: Billomat) -> None:
    deliver(B2C_DISCOUNT)
    deliver(B2C_DISCOUNT, lambda spec: spec["body"].update(id=2, name="#2002"))
    run_worker(stack)
    assert len(records(billomat, "clients")) == 1
    assert len(records(billomat, "invoices")) == 2


@pytest.mark.usefixtures("atomic_aws_calls")
def test_concurrent_workers_create_one_client_and_bill_each_order_once(
    stack: Stack, billomat: Billomat
) -> None:
    deliver(B2C_DISCOUNT)
    deliver(B2C_DISCOUNT, lambda spec: spec["body"].update(id=3, name="#3003"))
    messages = receive(stack)
    assert len(messages) == 2
    duplicate = dict(messages[0], MessageId="duplicate-delivery")
    errors: list[BaseException] = []

    def work(batch: list[dict[str, Any]]) -> None:
        try:
            run_worker(stack, batch)
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=([m],)) for m in [*messages, duplicate]]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    drain(stack)
    assert len(records(billomat, "clients")) == 1
    assert len(records(billomat, "invoices")) == 2
    assert len(billomat.sandbox.sent_emails) == 2
    assert len(records(billomat, "invoice-payments")) == 2


def test_unpaid_order_then_paid_delivery_books_the_payment_on_the_same_invoice(
    stack: Stack, billomat: Billomat, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("INVOICE_TRIGGER", "created")
    clear_container_caches()

    def unpaid(spec: dict[str, Any]) -> None:
        spec["headers"]["X-Shopify-Topic"] = "orders/create"
        spec["headers"]["X-Shopify-Event-Id"] = "create-event"
        spec["body"]["financial_status"] = "pending"

    deliver(B2C_DISCOUNT, unpaid)
    run_worker(stack)
    [invoice] = records(billomat, "invoices")
    assert invoice["status"] in {"OPEN", "OVERDUE"}  # dated on the order day
    deliver(B2C_DISCOUNT)
    run_worker(stack)
    assert_billed_once(billomat, "70.01")
    assert records(billomat, "invoices")[0]["status"] == "PAID"


@pytest.mark.parametrize(
    "kind", ["commit_then_fail", "commit_then_timeout", "server_error", "timeout"]
)
def test_invoice_create_failure_never_bills_twice(
    stack: Stack, billomat: Billomat, kind: str
) -> None:
    billomat.sandbox.faults.add("POST", "invoices", kind)
    deliver(B2C_DISCOUNT)
    first = run_worker(stack)
    assert first["batchItemFailures"] == []  # delayed (a systemic error), not failed
    drain(stack)
    assert_billed_once(billomat, "70.01")


@pytest.mark.parametrize("kind", ["server_error", "timeout", "rate_limit"])
def test_complete_failure_is_retried(stack: Stack, billomat: Billomat, kind: str) -> None:
    billomat.sandbox.faults.add("PUT", "invoices/*/complete", kind, times=2)
    deliver(B2C_DISCOUNT)
    drain(stack, billomat=billomat)
    assert_billed_once(billomat, "70.01")


def test_email_that_went_out_before_the_error_is_not_sent_again(
    stack: Stack, billomat: Billomat, accounting_inbox: Callable[[], list[str]]
) -> None:
    billomat.sandbox.faults.add("POST", "invoices/*/email", "commit_then_fail")
    deliver(B2C_DISCOUNT)
    drain(stack)
    assert_billed_once(billomat, "70.01", emails=1)
    notices = accounting_inbox()
    assert any("E-Mail" in notice for notice in notices)


def test_rate_limited_email_is_sent_on_the_retry(stack: Stack, billomat: Billomat) -> None:
    billomat.sandbox.faults.add("POST", "invoices/*/email", "rate_limit")
    billomat.client.max_wait = 0  # the wait does not fit: the order is put back, not lost
    deliver(B2C_DISCOUNT)
    drain(stack, billomat=billomat)
    assert_billed_once(billomat, "70.01", emails=1)


@pytest.mark.parametrize("kind", ["commit_then_fail", "server_error"])
def test_payment_failure_never_books_twice(stack: Stack, billomat: Billomat, kind: str) -> None:
    billomat.sandbox.faults.add("POST", "invoice-payments", kind)
    deliver(B2C_DISCOUNT)
    drain(stack)
    assert_billed_once(billomat, "70.01", payments=1)
    assert records(billomat, "invoices")[0]["status"] == "PAID"


def test_client_create_lost_response_does_not_duplicate_the_client(
    stack: Stack, billomat: Billomat
) -> None:
    billomat.sandbox.faults.add("POST", "clients", "commit_then_fail")
    deliver(B2C_DISCOUNT)
    drain(stack)
    assert len(records(billomat, "clients")) == 1
    assert_billed_once(billomat, "70.01")


def test_a_client_create_billomat_never_carried_out_releases_the_buyers_claim(
    stack: Stack, billomat: Billomat
) -> None:
    """A refused create leaves no claim behind: a second order of the same buyer goes on at
    once instead of waiting for the claim to go stale."""
    import boto3

    billomat.sandbox.faults.add("POST", "clients", "rate_limit")
    deliver(B2C_DISCOUNT)
    run_worker(stack)
    table = boto3.resource("dynamodb", region_name=REGION).Table(
        stack.environment["WORKFLOW_TABLE"]
    )
    buyers = [i for i in table.scan()["Items"] if str(i["pk"]).startswith("buyer#")]
    assert buyers == []
    drain(stack, billomat=billomat)
    assert len(records(billomat, "clients")) == 1
    assert_billed_once(billomat, "70.01")


def test_lambda_dying_between_create_and_checkpoint_does_not_bill_twice(
    stack: Stack, billomat: Billomat, monkeypatch: pytest.MonkeyPatch
) -> None:
    from autopilot.workflow_state import WorkflowStore

    real_update = WorkflowStore.update
    died = []

    def die_once(self, pk, sk, attributes):  # type: ignore[no-untyped-def]
        if "invoice_id" in attributes and not died:
            died.append(True)
            raise TimeoutError("Lambda timed out")
        return real_update(self, pk, sk, attributes)

    monkeypatch.setattr(WorkflowStore, "update", die_once)
    deliver(B2C_DISCOUNT)
    drain(stack)
    assert died
    assert_billed_once(billomat, "70.01")


def test_total_mismatch_is_held_for_review_and_never_sent(
    stack: Stack, billomat: Billomat, accounting_inbox: Callable[[], list[str]]
) -> None:
    # The intake refuses an order whose total does not equal its parts (test_order_intake);
    # this guards the worker's own check of what Billomat computed (its rounding, a bug):
    # the queued order claims a total that Billomat's sum of the positions will not reach.
    deliver(B2C_DISCOUNT)
    sqs = boto3.client("sqs", region_name=REGION)
    [queued] = receive(stack)
    message = json.loads(queued["Body"])
    message["order"]["total"] = "71.01"
    sqs.delete_message(
        QueueUrl=stack.aws.queue_urls["orders"], ReceiptHandle=queued["ReceiptHandle"]
    )
    sqs.send_message(QueueUrl=stack.aws.queue_urls["orders"], MessageBody=json.dumps(message))
    drain(stack)
    [invoice] = records(billomat, "invoices")
    assert invoice["status"] == "DRAFT"
    assert billomat.sandbox.sent_emails == []
    assert records(billomat, "invoice-payments") == []
    assert any("nicht versendet" in notice for notice in accounting_inbox())


def test_billomat_outage_delays_the_order_and_only_past_the_horizon_dead_letters_it(
    stack: Stack, billomat: Billomat
) -> None:
    billomat.sandbox.faults.add("*", "*", "server_error", times=100_000)
    deliver(B2C_DISCOUNT)
    for _ in range(8):  # more than maxReceiveCount, 2 hours of outage: delayed, never failed
        assert run_worker(stack)["batchItemFailures"] == []
        billomat.sandbox.clock.advance(900)
    assert stack.aws.queue_depths()["orders-dlq"]["visible"] == 0
    [waiting] = receive(stack)
    assert waiting["Attributes"]["ApproximateReceiveCount"] == "1"  # receives untouched
    retry = json.loads(waiting["Body"])["retry"]
    assert retry["attempts"] == retry["outage_attempts"] == 8
    assert retry["first_delayed_at"] == retry["outage_since"]

    billomat.sandbox.clock.advance(72 * 3600)  # past RETRY_HORIZON_HOURS (72)
    for _ in range(4):  # 5 receives with the one above: the horizon makes the record fail
        assert len(run_worker(stack)["batchItemFailures"]) == 1
    assert receive(stack) == []  # moved on its next receive
    assert stack.aws.queue_depths()["orders-dlq"]["visible"] == 1
    assert records(billomat, "invoices") == []


def test_billomat_outage_ends_and_the_delayed_order_is_billed_once(
    stack: Stack, billomat: Billomat
) -> None:
    billomat.sandbox.faults.add("*", "*", "server_error", times=100_000)
    deliver(B2C_DISCOUNT)
    for _ in range(6):
        assert run_worker(stack)["batchItemFailures"] == []
        billomat.sandbox.clock.advance(900)
    # The failed attempts left no idempotency record behind (none stuck INPROGRESS).
    table = stack.environment["IDEMPOTENCY_TABLE"]
    items = boto3.client("dynamodb", region_name=REGION).scan(TableName=table)["Items"]
    assert [i for i in items if not i["id"]["S"].startswith("delivery#")] == []
    billomat.sandbox.faults.clear()
    drain(stack)
    assert_billed_once(billomat, "70.01")
    assert stack.aws.queue_depths()["orders-dlq"]["visible"] == 0


def test_retry_horizon_is_configurable(
    stack: Stack, billomat: Billomat, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RETRY_HORIZON_HOURS", "0.5")
    clear_container_caches()
    billomat.sandbox.faults.add("*", "*", "server_error", times=100_000)
    deliver(B2C_DISCOUNT)
    assert run_worker(stack)["batchItemFailures"] == []
    billomat.sandbox.clock.advance(1800)
    assert len(run_worker(stack)["batchItemFailures"]) == 1


def test_poison_message_fails_through_its_receives_into_the_dead_letter_queue(
    stack: Stack, billomat: Billomat
) -> None:
    sqs = boto3.client("sqs", region_name=REGION)
    sqs.send_message(
        QueueUrl=stack.aws.queue_urls["orders"],
        MessageBody=json.dumps({"kind": "shop_order", "order": {"source": "shopify"}}),
    )
    for _ in range(5):  # maxReceiveCount deliveries, no delay: it will never succeed
        assert len(run_worker(stack)["batchItemFailures"]) == 1
    assert receive(stack) == []
    assert stack.aws.queue_depths()["orders-dlq"]["visible"] == 1
    assert billomat.sandbox.request_count == 0
