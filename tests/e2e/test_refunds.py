"""Refunds become exactly one paid credit note each, cancellations cancel unpaid invoices:
through the intake, the refunds queue and the worker, against the Billomat sandbox and moto."""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import boto3
import pytest

from local.lambda_events import LocalLambdaContext, sqs_event

from .conftest import Billomat, Stack
from .test_order_invoice import deliver
from .test_order_invoice import drain as drain_orders

EVENTS = Path(__file__).resolve().parents[2] / "events"
ORDER_1001 = EVENTS / "shopify/order-paid-b2c-taxes-included.json"
ORDER_1002 = EVENTS / "shopify/order-paid-b2c-discount.json"
WOO_ORDER = EVENTS / "woocommerce/order-processing-paypal.json"
REFUND_FULL = EVENTS / "shopify/refund-full.json"
REFUND_PARTIAL = EVENTS / "shopify/refund-partial.json"
CANCELLED = EVENTS / "shopify/order-cancelled.json"
WOO_REFUNDED = EVENTS / "woocommerce/order-refunded.json"
REGION = "eu-central-1"


def receive(stack: Stack) -> list[dict[str, Any]]:
    sqs = boto3.client("sqs", region_name=REGION)
    return sqs.receive_message(
        QueueUrl=stack.aws.queue_urls["refunds"],
        MaxNumberOfMessages=10,
        AttributeNames=["All"],
        VisibilityTimeout=0,
        MessageAttributeNames=["All"],
    ).get("Messages", [])


def run_refunds(stack: Stack) -> dict[str, Any]:
    from refund_credit.app import lambda_handler

    batch = receive(stack)
    if not batch:
        return {"batchItemFailures": []}
    event = sqs_event(stack.aws.queue_arns["refunds"], batch)
    result = lambda_handler(event, LocalLambdaContext(function_name="refund_credit"))
    failed = {item["itemIdentifier"] for item in result["batchItemFailures"]}
    sqs = boto3.client("sqs", region_name=REGION)
    for message in batch:
        if message["MessageId"] not in failed:
            sqs.delete_message(
                QueueUrl=stack.aws.queue_urls["refunds"], ReceiptHandle=message["ReceiptHandle"]
            )
    return result


def drain_refunds(stack: Stack, rounds: int = 10) -> None:
    sqs = boto3.client("sqs", region_name=REGION)
    for _ in range(rounds):
        # delayed copies: make them visible at once (moto honours DelaySeconds in real time)
        run_refunds(stack)
        attributes = sqs.get_queue_attributes(
            QueueUrl=stack.aws.queue_urls["refunds"], AttributeNames=["All"]
        )["Attributes"]
        if not any(
            int(attributes.get(name, 0))
            for name in (
                "ApproximateNumberOfMessages",
                "ApproximateNumberOfMessagesDelayed",
                "ApproximateNumberOfMessagesNotVisible",
            )
        ):
            return
    raise AssertionError("refunds queue did not drain")


@pytest.fixture(autouse=True)
def _no_sqs_delays(monkeypatch: pytest.MonkeyPatch) -> None:
    """Delayed retries come back at once (the delay itself is delayed_retry's business)."""
    from autopilot.delayed_retry import DelayedRetry

    original = DelayedRetry.send

    def send(self: DelayedRetry, body: str, delay_seconds: int, correlation_id: str) -> None:
        original(self, body, 0, correlation_id)

    monkeypatch.setattr(DelayedRetry, "send", send)


def invoice_order(stack: Stack, sample: Path) -> None:
    deliver(sample)
    drain_orders(stack)


def credit_notes(billomat: Billomat) -> list[Any]:
    return list(billomat.client.iter_credit_notes())


@pytest.fixture
def inbox(stack: Stack) -> Callable[[], list[str]]:
    sqs = boto3.client("sqs", region_name=REGION)
    sns = boto3.client("sns", region_name=REGION)
    url = sqs.create_queue(QueueName="refund-accounting-inbox")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    sns.subscribe(
        TopicArn=stack.environment["NOTIFICATIONS_TOPIC_ARN"], Protocol="sqs", Endpoint=arn
    )
    seen: list[str] = []

    def read() -> list[str]:
        while batch := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get(
            "Messages", []
        ):
            for message in batch:
                seen.append(json.loads(message["Body"]).get("Subject", ""))
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        return seen

    return read


def test_full_refund_becomes_one_paid_credit_note(stack: Stack, billomat: Billomat) -> None:
    invoice_order(stack, ORDER_1001)
    answer = deliver(REFUND_FULL)
    assert answer["status"] == "queued"
    assert deliver(REFUND_FULL)["status"] == "duplicate"
    drain_refunds(stack)
    (note,) = credit_notes(billomat)
    (invoice,) = billomat.client.find_invoices_by_customfield(
        "shopify:demo-shop.myshopify.com:order:820982911946154508"
    )
    assert note.invoice_id == invoice.id
    assert note.client_id == invoice.client_id
    assert note.total_gross == Decimal("123.89") == invoice.total_gross
    assert note.status.value == "PAID"
    items = billomat.client.list_credit_note_items(note.id)
    assert sorted((i.title, i.quantity, i.tax_rate) for i in items) == [
        ("T-Shirt – M / Blau", Decimal(2), Decimal(19)),
        ("Versandkosten", Decimal(1), Decimal(19)),
    ]
    (payment,) = billomat.client.list_credit_note_payments(note.id)
    assert payment.amount == Decimal("123.89")


def test_partial_refund_with_lines_takes_the_invoice_rate(stack: Stack, billomat: Billomat) -> None:
    invoice_order(stack, ORDER_1002)
    deliver(REFUND_PARTIAL)
    drain_refunds(stack)
    (note,) = credit_notes(billomat)
    assert note.total_gross == Decimal("29.75")
    (item,) = billomat.client.list_credit_note_items(note.id)
    assert (item.quantity, item.unit_price, item.tax_rate) == (Decimal(1), Decimal("29.75"), 19)


def test_woocommerce_amount_only_refund_is_split_and_reported(
    stack: Stack, billomat: Billomat, inbox: Callable[[], list[str]]
) -> None:
    invoice_order(stack, WOO_ORDER)
    deliver(WOO_REFUNDED)
    deliver(WOO_REFUNDED)  # a later order.updated lists the same refund again
    drain_orders(stack)
    drain_refunds(stack)
    (note,) = credit_notes(billomat)
    assert note.total_gross == Decimal("59.50")
    assert note.status.value == "PAID"
    assert any("aufgeteilt" in subject for subject in inbox())


def test_a_refund_before_its_invoice_waits_then_credits(stack: Stack, billomat: Billomat) -> None:
    deliver(REFUND_FULL)
    run_refunds(stack)
    run_refunds(stack)
    assert credit_notes(billomat) == []
    assert (
        billomat.client.find_invoices_by_customfield(
            "shopify:demo-shop.myshopify.com:order:820982911946154508"
        )
        == []
    )  # the refund never invoices the order itself
    invoice_order(stack, ORDER_1001)
    drain_refunds(stack)
    (note,) = credit_notes(billomat)
    assert note.status.value == "PAID"


def test_refunds_beyond_the_invoice_are_held(
    stack: Stack, billomat: Billomat, inbox: Callable[[], list[str]]
) -> None:
    invoice_order(stack, ORDER_1001)
    deliver(REFUND_FULL)

    def again(spec: dict[str, Any]) -> None:
        spec["body"]["id"] = 909000000099

    deliver(REFUND_FULL, again)
    drain_refunds(stack)
    assert len(credit_notes(billomat)) == 1
    assert any("nicht erstellt" in subject for subject in inbox())


def test_total_mismatch_keeps_the_draft(
    stack: Stack, billomat: Billomat, inbox: Callable[[], list[str]]
) -> None:
    invoice_order(stack, ORDER_1002)

    def more_money(spec: dict[str, Any]) -> None:
        spec["body"]["transactions"][0]["amount"] = "31.00"

    deliver(REFUND_PARTIAL, more_money)
    drain_refunds(stack)
    (note,) = credit_notes(billomat)
    assert note.status.value == "DRAFT"
    assert any("nicht erstellt" in subject for subject in inbox())


@pytest.mark.parametrize(
    ("method", "path", "kind"),
    [
        ("POST", "credit-notes", "commit_then_fail"),
        ("POST", "credit-notes", "timeout"),
        ("PUT", "credit-notes/*/complete", "server_error"),
        ("POST", "credit-notes/*/email", "commit_then_fail"),
        ("POST", "credit-note-payments", "commit_then_fail"),
        ("POST", "credit-note-payments", "server_error"),
        ("GET", "invoice-items", "server_error"),
    ],
)
def test_a_fault_on_each_billomat_call_still_credits_once(
    stack: Stack, billomat: Billomat, method: str, path: str, kind: str
) -> None:
    invoice_order(stack, ORDER_1001)
    billomat.sandbox.faults.add(method, path, kind)
    deliver(REFUND_FULL)
    drain_refunds(stack)
    (note,) = credit_notes(billomat)
    assert note.status.value == "PAID"
    assert len(billomat.client.list_credit_note_payments(note.id)) == 1


def test_cancellation_of_an_unpaid_invoice_cancels_it_once(
    stack: Stack, billomat: Billomat, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("INVOICE_TRIGGER", "created")
    from local.containers import clear_container_caches

    clear_container_caches()

    def unpaid(spec: dict[str, Any]) -> None:
        spec["headers"]["X-Shopify-Topic"] = "orders/create"
        spec["body"]["financial_status"] = "pending"

    deliver(ORDER_1001, unpaid)
    drain_orders(stack)
    (invoice,) = billomat.client.find_invoices_by_customfield(
        "shopify:demo-shop.myshopify.com:order:820982911946154508"
    )
    assert invoice.status.value in {"OPEN", "OVERDUE"}
    deliver(CANCELLED)
    drain_refunds(stack)
    assert billomat.client.get_invoice(invoice.id).status.value == "CANCELED"
    assert credit_notes(billomat) == []

    def again(spec: dict[str, Any]) -> None:
        spec["headers"]["X-Shopify-Event-Id"] = "another"

    deliver(CANCELLED, again)
    drain_refunds(stack)
    assert billomat.client.get_invoice(invoice.id).status.value == "CANCELED"


def test_cancellation_of_a_paid_invoice_only_notifies(
    stack: Stack, billomat: Billomat, inbox: Callable[[], list[str]]
) -> None:
    invoice_order(stack, ORDER_1001)
    deliver(CANCELLED)
    drain_refunds(stack)
    (invoice,) = billomat.client.find_invoices_by_customfield(
        "shopify:demo-shop.myshopify.com:order:820982911946154508"
    )
    assert invoice.status.value == "PAID"
    assert credit_notes(billomat) == []
    assert any("nicht storniert" in subject for subject in inbox())


def test_a_credit_note_repeats_its_invoices_vat_note(stack: Stack, billomat: Billomat) -> None:
    """The same VAT rules apply to credit notes: the note the order's invoice got (here as
    the order workflow keeps it in its checkpoint) is the credit note's note."""
    from autopilot.workflow_state import WorkflowStore

    invoice_order(stack, ORDER_1001)
    note = "Steuerfreie Ausfuhrlieferung (§ 4 Nr. 1a UStG)."
    WorkflowStore(stack.environment["WORKFLOW_TABLE"]).update(
        "order#shopify:demo-shop.myshopify.com:order:820982911946154508",
        "invoice",
        {"vat_note": note},
    )
    deliver(REFUND_FULL)
    drain_refunds(stack)
    (credit_note,) = credit_notes(billomat)
    assert credit_note.note == note


@pytest.mark.parametrize("rate", [12.345, -0.1, 1e30])
def test_a_signed_refund_with_an_impossible_tax_rate_is_a_400_and_queues_nothing(
    stack: Stack, rate: float
) -> None:
    """Found by the intake fuzz: a tax-line rate outside 0..1 raised ValueError → 502."""
    from webhooks.app import lambda_handler

    from autopilot.signatures import base64_hmac_sha256
    from local.dev_settings import DEV_WEBHOOK_SECRETS
    from local.lambda_events import http_api_event

    spec = json.loads(REFUND_FULL.read_text("utf-8"))
    spec["body"]["refund_line_items"][0]["line_item"]["tax_lines"][0]["rate"] = rate
    body = json.dumps(spec["body"]).encode()
    headers = {
        **spec["headers"],
        "X-Shopify-Hmac-Sha256": base64_hmac_sha256(
            body, DEV_WEBHOOK_SECRETS["SHOPIFY_WEBHOOK_SECRET"]
        ),
    }
    response = lambda_handler(
        http_api_event("POST", spec["route"], headers, body),
        LocalLambdaContext(function_name="webhooks"),
    )
    assert response["statusCode"] == 400, response
    assert receive(stack) == []
