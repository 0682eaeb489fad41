"""Billomat requests per refund of an order we invoiced, through the refund_credit worker.

In-process: moto for AWS and the Billomat sandbox on a simulated clock. The samples go through
the intake (``webhooks``) like a shop delivers them; the orders the refunds refer to are
invoiced first by the order_invoice worker, then each refund is delivered and the refunds
queue drained through the refund_credit worker's Lambda handler:

1. ``events/shopify/refund-full.json`` (order 1001, ``order-paid-b2c-taxes-included.json``);
2. ``events/shopify/refund-partial.json`` (order 1002, ``order-paid-b2c-discount.json``);
3. ``events/woocommerce/order-refunded.json`` (order 4711, ``order-processing-paypal.json``).

Target (issue #12): <= 5 Billomat requests per refund — create the credit note with its items,
complete, e-mail, book the payout, plus at most one look-up.

Run: `.venv/bin/python bench/refund_requests.py`.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import sys
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT)]
import local  # noqa: E402,F401 - puts the layer and the function packages on sys.path

EVENTS = ROOT / "events"
ORDERS = [
    EVENTS / "shopify/order-paid-b2c-taxes-included.json",
    EVENTS / "shopify/order-paid-b2c-discount.json",
    EVENTS / "woocommerce/order-processing-paypal.json",
]
REFUNDS = [
    ("Shopify full refund (refund-full)", EVENTS / "shopify/refund-full.json"),
    ("Shopify partial refund (refund-partial)", EVENTS / "shopify/refund-partial.json"),
    ("WooCommerce refund (order-refunded)", EVENTS / "woocommerce/order-refunded.json"),
]
TARGET = 5
REGION = "eu-central-1"


def deliver(sample: Path) -> dict[str, Any]:
    """POST a sample (signed with the dev secrets) to the intake; its JSON answer."""
    from webhooks.app import lambda_handler

    from local.dev_settings import DEV_WEBHOOK_SECRETS
    from local.lambda_events import LocalLambdaContext, http_api_event
    from local.sample_events import load_delivery

    delivery = load_delivery(sample, DEV_WEBHOOK_SECRETS, "")
    event = http_api_event("POST", delivery.route, dict(delivery.headers), delivery.body)
    response = lambda_handler(event, LocalLambdaContext("webhooks", 30))
    assert response["statusCode"] == 200, response
    answer: dict[str, Any] = json.loads(response["body"])
    return answer


def drain(aws: Any, queue: str, function: str, handler: Any) -> None:
    """Hand the queue's messages to ``handler`` like the SQS event source, until it is empty."""
    import boto3

    from local.lambda_events import LocalLambdaContext, sqs_event

    sqs = boto3.client("sqs", region_name=REGION)
    for _ in range(10):
        batch = sqs.receive_message(
            QueueUrl=aws.queue_urls[queue],
            MaxNumberOfMessages=10,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
            VisibilityTimeout=0,
        ).get("Messages", [])
        if not batch:
            return
        with contextlib.redirect_stdout(io.StringIO()):  # the metrics (EMF) Lambda would log
            result = handler(
                sqs_event(aws.queue_arns[queue], batch), LocalLambdaContext(function, 60)
            )
        assert result["batchItemFailures"] == [], result
        for message in batch:
            sqs.delete_message(
                QueueUrl=aws.queue_urls[queue], ReceiptHandle=message["ReceiptHandle"]
            )
    raise AssertionError(f"the {queue} queue did not drain")


def main() -> int:
    from moto import mock_aws

    from local.aws import LocalAws, use_fake_aws_environment
    from local.dev_settings import (
        DEV_SHOPIFY_SHOP_DOMAIN,
        DEV_WEBHOOK_SECRETS,
        DEV_WOOCOMMERCE_SITE_URL,
    )

    use_fake_aws_environment()
    os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "Bench")
    os.environ["POWERTOOLS_LOG_LEVEL"] = "ERROR"
    os.environ["BILLOMAT_BASE_URL"] = "http://billomat.sandbox/api/"
    os.environ.pop("BILLOMAT_ID", None)
    import logging

    logging.disable(logging.CRITICAL)
    rows: list[tuple[str, list[str]]] = []
    with mock_aws():
        aws = LocalAws()
        environment = aws.create(
            billomat_secret={"api_key": "sandbox-dev-api-key"},
            webhook_secrets={
                "shopify": DEV_WEBHOOK_SECRETS["SHOPIFY_WEBHOOK_SECRET"],
                "woocommerce": DEV_WEBHOOK_SECRETS["WOOCOMMERCE_WEBHOOK_SECRET"],
            },
            hubspot_token="bench-token",  # noqa: S106 - moto, not a secret
        )
        environment["PUBLIC_BASE_URL"] = "http://127.0.0.1:3000"
        environment["INVOICE_TRIGGER"] = "paid"
        environment["SHOPIFY_SHOP_DOMAIN"] = DEV_SHOPIFY_SHOP_DOMAIN
        environment["WOOCOMMERCE_SITE_URL"] = DEV_WOOCOMMERCE_SITE_URL
        os.environ.update(environment)
        from order_invoice.app import lambda_handler as order_invoice
        from refund_credit.app import lambda_handler as refund_credit

        from autopilot.billomat_access import use_billomat_client
        from local.billomat_sandbox import BillomatSandbox, SandboxClock
        from local.containers import clear_container_caches
        from local.sandbox_client import sandbox_client

        clear_container_caches()
        sandbox = BillomatSandbox(clock=SandboxClock(datetime(2026, 11, 25, 9, 0, tzinfo=UTC)))
        use_billomat_client(sandbox_client(sandbox))

        for order in ORDERS:
            assert deliver(order)["status"] == "queued", order
        drain(aws, "orders", "order_invoice", order_invoice)
        invoices = len(sandbox.snapshot()["invoices"])
        assert invoices == len(ORDERS), invoices

        for label, sample in REFUNDS:
            answer = deliver(sample)
            assert answer["status"] == "queued", (sample, answer)
            before = len(sandbox.requests)
            drain(aws, "refunds", "refund_credit", refund_credit)
            calls = [f"{r.method} {_route(r.path)}" for r in sandbox.requests[before:]]
            rows.append((label, calls))
        credit_notes = sandbox.snapshot()["credit-notes"]
        assert len(credit_notes) == len(REFUNDS), credit_notes

    print("Billomat requests per refund (refund_credit worker, order invoiced before):")
    for label, calls in rows:
        detail = ", ".join(f"{c}×{n}" if n > 1 else c for c, n in Counter(calls).items())
        print(f"  {label:<42} {len(calls):>2}   [{detail}]")
    worst = max(len(calls) for _, calls in rows)
    print(f"most requests for one refund: {worst} (target <= {TARGET})")
    return 0


def _route(path: str) -> str:
    parts = path.removeprefix("/api/").strip("/").split("/")
    return "/".join("{id}" if part.isdigit() else part for part in parts)


if __name__ == "__main__":
    raise SystemExit(main())
