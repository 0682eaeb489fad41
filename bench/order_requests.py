"""Billomat requests per paid shop order, and a burst of paid orders against the rate limit.

Everything runs in-process: the order_invoice worker's Lambda handler, moto for AWS, and the
Billomat sandbox with its real limit (300 requests per clock-aligned 15 minutes) on a
simulated clock. SQS is simulated too, so that a message put back with a delay comes back
when the simulated clock reaches it (moto would wait in real time).

Printed:
1. requests per paid order for a new and for a returning customer (targets <= 6 and <= 4);
2. for a burst of N paid orders (default 200, 50 distinct customers): orders lost, orders
   billed twice, requests sent, simulated time, and the throughput as a share of what the
   limit allows (target >= 90 %): requests served / (300 x rate-limit windows elapsed).

Run: `.venv/bin/python bench/order_requests.py [--orders N]`.
"""

from __future__ import annotations

import argparse
import copy
import heapq
import itertools
import json
import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT)]
import local  # noqa: E402,F401 - puts the layer and the function packages on sys.path

WINDOW_SECONDS = 900
LIMIT = 300
SAMPLE = ROOT / "events" / "shopify" / "order-paid-b2c-discount.json"


class SimulatedQueue:
    """An SQS queue on the sandbox's simulated clock: messages become visible at a time."""

    def __init__(self, clock: Any) -> None:
        self.clock = clock
        self._heap: list[tuple[float, int, dict[str, Any]]] = []
        self._ids = itertools.count()

    def send(self, message: dict[str, Any], delay: float = 0.0) -> None:
        heapq.heappush(self._heap, (self.clock.epoch() + delay, next(self._ids), message))

    def receive(self, limit: int = 10) -> list[dict[str, Any]]:
        """Up to ``limit`` visible messages; if none is visible yet, wait (simulated) for one."""
        if not self._heap:
            return []
        if self._heap[0][0] > self.clock.epoch():
            self.clock.advance(self._heap[0][0] - self.clock.epoch())
        batch = []
        while self._heap and self._heap[0][0] <= self.clock.epoch() and len(batch) < limit:
            batch.append(heapq.heappop(self._heap)[2])
        return batch


def order_message(number: int, customer: int) -> dict[str, Any]:
    """A paid Shopify order (the discount sample with its own id and customer)."""
    from autopilot.shop_orders import ShopifyOrderPayload, shop_order_from_shopify

    body = copy.deepcopy(json.loads(SAMPLE.read_text("utf-8"))["body"])
    body["id"] = 5_000_000 + number
    body["name"] = f"#{5000 + number}"
    body["customer"]["id"] = 9_000_000 + customer
    body["email"] = body["customer"]["email"] = f"kunde{customer}@example.de"
    order = shop_order_from_shopify(ShopifyOrderPayload.model_validate(body), "bench.myshopify.com")
    return {"kind": "shop_order", "topic": "orders/paid", "order": order.model_dump(mode="json")}


def run_batch(handler: Any, messages: list[dict[str, Any]], queue: SimulatedQueue) -> int:
    """Deliver one batch like the SQS event source; failed records come back later."""
    from local.lambda_events import LocalLambdaContext

    records = [
        {
            "messageId": str(i),
            "receiptHandle": str(i),
            "body": json.dumps(m),
            "attributes": {"ApproximateReceiveCount": "1"},
            "messageAttributes": {},
            "md5OfBody": "",
            "eventSource": "aws:sqs",
            "eventSourceARN": "arn:aws:sqs:eu-central-1:123456789012:bench-orders",
            "awsRegion": "eu-central-1",
        }
        for i, m in enumerate(messages)
    ]
    result = handler({"Records": records}, LocalLambdaContext("order_invoice", 60))
    failed = {int(item["itemIdentifier"]) for item in result["batchItemFailures"]}
    if failed and os.environ.get("BENCH_SHOW_ERRORS"):
        from order_invoice.app import processor

        for _type, error, _tb in processor.exceptions:
            print(f"  record failed: {error!r}", file=sys.stderr)
    for index in failed:  # visibility timeout: back after 6 minutes
        queue.send(messages[index], delay=360)
    return len(failed)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=200)
    parser.add_argument("--customers", type=int, default=50)
    args = parser.parse_args()

    from local.aws import LocalAws, use_fake_aws_environment

    use_fake_aws_environment()
    os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "Bench")
    os.environ["POWERTOOLS_LOG_LEVEL"] = "ERROR"
    import logging

    logging.disable(logging.WARNING if os.environ.get("BENCH_SHOW_ERRORS") else logging.CRITICAL)
    from moto import mock_aws

    with mock_aws():
        aws = LocalAws()
        environment = aws.create(
            billomat_secret={"api_key": "sandbox-dev-api-key"},
            webhook_secrets={},
            hubspot_token="bench-token",  # noqa: S106 - moto, not a secret
        )
        os.environ.update(environment)
        os.environ["BILLOMAT_BASE_URL"] = "http://billomat.sandbox/api/"

        from order_invoice.app import lambda_handler

        import autopilot.delayed_retry
        from autopilot.billomat_access import use_billomat_client
        from local.billomat_sandbox import DEV_API_KEY, BillomatSandbox, SandboxClock
        from local.sandbox_client import sandbox_client

        clock = SandboxClock(datetime(2026, 12, 1, 8, 0, 3, tzinfo=UTC))
        sandbox = BillomatSandbox(api_key=DEV_API_KEY, clock=clock, rate_limit=LIMIT)
        client = sandbox_client(sandbox)
        use_billomat_client(client)
        queue = SimulatedQueue(clock)

        def requeue(_self: Any, message: dict[str, Any], delay: float, _cid: str) -> bool:
            queue.send(
                {**message, "delayed_attempts": message.get("delayed_attempts", 0) + 1}, delay
            )
            return True

        autopilot.delayed_retry.DelayedRetry.requeue = requeue  # type: ignore[method-assign]

        # 1. requests per paid order
        before = sandbox.request_count
        run_batch(lambda_handler, [order_message(0, 0)], queue)
        new_customer = sandbox.request_count - before
        before = sandbox.request_count
        run_batch(lambda_handler, [order_message(1, 0)], queue)
        returning = sandbox.request_count - before
        print("Billomat requests per paid order (order_invoice worker, sandbox)")
        print(f"  new customer:       {new_customer}  (target <= 6)")
        print(f"  returning customer: {returning}  (target <= 4)")

        # 2. burst against the real limit, starting in a fresh window
        start_window = (int(clock.epoch()) // WINDOW_SECONDS + 1) * WINDOW_SECONDS
        clock.set(datetime.fromtimestamp(start_window, UTC))
        sandbox.reset_rate_limit()
        first_request = sandbox.request_count
        started = clock.epoch()
        for n in range(args.orders):
            queue.send(order_message(1000 + n, 1000 + n % args.customers))
        failed_records = 0
        while batch := queue.receive(10):
            failed_records += run_batch(lambda_handler, batch, queue)
        elapsed = clock.epoch() - started
        burst_requests = sandbox.requests[first_request:]
        requests = len(burst_requests)
        per_window: dict[int, int] = {}
        for record in burst_requests:
            window = int((record.at.timestamp() - start_window) // WINDOW_SECONDS)
            per_window[window] = per_window.get(window, 0) + 1
        # Every window but the last is one the burst could have used in full.
        full_windows = sorted(per_window)[:-1] or sorted(per_window)
        used = sum(per_window[w] for w in full_windows)
        throughput = used / (LIMIT * len(full_windows))

        snapshot = sandbox.snapshot()
        per_order: dict[str, int] = {}
        for invoice in snapshot.get("invoices", []):
            ref = invoice.get("customfield") or ""
            if ref.startswith("shopify:bench.myshopify.com:order:50"):
                per_order[ref] = per_order.get(ref, 0) + 1
        burst_refs = {
            f"shopify:bench.myshopify.com:order:{5_000_000 + 1000 + n}" for n in range(args.orders)
        }
        paid = {
            str(i.get("customfield"))
            for i in snapshot.get("invoices", [])
            if i.get("status") == "PAID" and i.get("customfield") in burst_refs
        }
        lost = len(burst_refs - paid)
        duplicated = sum(1 for ref in burst_refs if per_order.get(ref, 0) > 1)
        print(
            f"burst of {args.orders} paid orders ({args.customers} customers), limit {LIMIT}/15 min"
        )
        print(
            f"  lost: {lost}   billed twice: {duplicated}   "
            f"failed records retried: {failed_records}"
        )
        print(
            f"  requests: {requests} in {len(per_window)} rate-limit windows "
            f"({', '.join(str(per_window[w]) for w in sorted(per_window))}); "
            f"simulated time {elapsed / 60:.1f} min"
        )
        print(
            f"  throughput: {throughput:.1%} of the limit in the windows the burst filled "
            "(target >= 90 %)"
        )
        return 0 if lost == 0 and duplicated == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
