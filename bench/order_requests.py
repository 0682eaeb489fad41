"""Billomat requests per paid shop order, a burst against the rate limit, and an outage.

Everything runs in-process: the order_invoice worker's Lambda handler, moto for AWS, and the
Billomat sandbox with its real limit (300 requests per clock-aligned 15 minutes) on a
simulated clock. SQS is simulated too (with receive counts and a dead-letter queue after 5
receives), so that a message put back with a delay comes back when the simulated clock
reaches it (moto would wait in real time).

Printed:
1. requests per paid order for a new and for a returning customer (targets <= 6 and <= 4);
2. for a burst of N paid orders (default 200, 50 distinct customers): orders lost, orders
   billed twice, requests sent, simulated time, and the throughput as a share of what the
   limit allows (target >= 90 %): requests served / (300 x rate-limit windows elapsed);
3. a Billomat outage (default 2 hours, every request answered 503) while paid orders keep
   arriving (default 50 in its first 25 minutes): orders lost, billed twice, dead-lettered
   (target 0 each), when the 30-minute outage alarm would fire, and how long after the
   recovery the last order was invoiced.

Run: `.venv/bin/python bench/order_requests.py [--orders N] [--outage-hours H]`.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT)]
import local  # noqa: E402,F401 - puts the layer and the function packages on sys.path
from bench.simulation import (  # noqa: E402 - the repository root is on sys.path now
    Delivery,
    SimulatedQueue,
    invoices_per_order,
    order_message,
    order_reference,
    requeue_onto,
)

WINDOW_SECONDS = 900
LIMIT = 300


class OutageTransport(httpx.BaseTransport):
    """Billomat behind a switch: within an outage window every request gets 503."""

    def __init__(self, inner: httpx.BaseTransport, clock: Any) -> None:
        self.inner = inner
        self.clock = clock
        self.windows: list[tuple[float, float]] = []
        self.refused = 0

    def outage(self, start: float, end: float) -> None:
        self.windows.append((start, end))

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        now = self.clock.epoch()
        if any(start <= now < end for start, end in self.windows):
            self.refused += 1
            return httpx.Response(
                503, text="<html><body>Service Unavailable</body></html>", request=request
            )
        return self.inner.handle_request(request)


def run_batch(
    handler: Any,
    deliveries: list[Delivery],
    queue: SimulatedQueue,
    function_name: str = "order_invoice",
) -> int:
    """Deliver one batch like the SQS event source; failed records come back later."""
    from local.lambda_events import LocalLambdaContext

    records = [
        {
            "messageId": str(i),
            "receiptHandle": str(i),
            "body": json.dumps(d.message),
            "attributes": {"ApproximateReceiveCount": str(d.receives)},
            "messageAttributes": {},
            "md5OfBody": "",
            "eventSource": "aws:sqs",
            "eventSourceARN": f"arn:aws:sqs:eu-central-1:123456789012:bench-{function_name}",
            "awsRegion": "eu-central-1",
        }
        for i, d in enumerate(deliveries)
    ]
    with contextlib.redirect_stdout(io.StringIO()):  # the metrics (EMF) Lambda would log
        result = handler({"Records": records}, LocalLambdaContext(function_name, 60))
    failed = {int(item["itemIdentifier"]) for item in result["batchItemFailures"]}
    if failed and os.environ.get("BENCH_SHOW_ERRORS"):
        from order_invoice.app import processor

        for _type, error, _tb in processor.exceptions:
            print(f"  record failed: {error!r}", file=sys.stderr)
    for index in failed:  # visibility timeout: back after 6 minutes, or the DLQ
        queue.fail(deliveries[index])
    return len(failed)


def drain(
    handler: Any, queue: SimulatedQueue, function_name: str = "order_invoice", limit: int = 10
) -> int:
    """Run the worker until the queue is empty; returns the failed records."""
    failed = 0
    while batch := queue.receive(limit):
        failed += run_batch(handler, batch, queue, function_name)
    return failed


def outage_age_alarm_at(queue: SimulatedQueue, threshold: float = 1800) -> float | None:
    """When the first requeued copy carried an outage age >= ``threshold`` (the metric the
    template's outage alarm watches), or None."""
    for at, message in queue.sent:
        since = (message.get("retry") or {}).get("outage_since")
        if since is not None and at - since >= threshold:
            return at
    return None


def outage_scenario(
    handler: Any,
    queue: SimulatedQueue,
    transport: OutageTransport,
    sandbox: Any,
    *,
    orders: int,
    first_number: int,
    outage_seconds: float,
    arrival_every: float = 30.0,
    customers: int = 10,
) -> dict[str, Any]:
    """Billomat down for ``outage_seconds`` while ``orders`` paid orders arrive, one every
    ``arrival_every`` seconds from its start; the queue is drained to the end."""
    clock = queue.clock
    start = clock.epoch()
    end = start + outage_seconds
    transport.outage(start, end)
    refused_before, sent_before = transport.refused, len(queue.sent)
    for n in range(orders):
        number = first_number + n
        queue.send(order_message(number, first_number + n % customers), delay=n * arrival_every)
    failed = drain(handler, queue)
    finished = clock.epoch()
    refs = {order_reference(first_number + n) for n in range(orders)}
    per_order, paid = invoices_per_order(sandbox, refs)
    copies = queue.sent[sent_before:]
    alarm = outage_age_alarm_at(queue)
    return {
        "orders": orders,
        "lost": len(refs - paid),
        "billed_twice": sum(1 for ref in refs if per_order.get(ref, 0) > 1),
        "dead_lettered": len(queue.dead_letters),
        "failed_records": failed,
        "requeued": len(copies) - orders,
        "refused_requests": transport.refused - refused_before,
        "drained_after_recovery_seconds": max(0.0, finished - end),
        "alarm_after_seconds": None if alarm is None else alarm - start,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=200)
    parser.add_argument("--customers", type=int, default=50)
    parser.add_argument("--outage-hours", type=float, default=2.0)
    parser.add_argument("--outage-orders", type=int, default=50)
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
        from autopilot.billomat import BillomatClient
        from autopilot.billomat_access import use_billomat_client
        from local.billomat_sandbox import DEV_API_KEY, BillomatSandbox, SandboxClock
        from local.sandbox_client import SANDBOX_BASE_URL

        clock = SandboxClock(datetime(2026, 12, 1, 8, 0, 3, tzinfo=UTC))
        sandbox = BillomatSandbox(api_key=DEV_API_KEY, clock=clock, rate_limit=LIMIT)
        transport = OutageTransport(sandbox.transport(), clock)
        client = BillomatClient(
            SANDBOX_BASE_URL, DEV_API_KEY, transport=transport, sleep=clock.sleep, now=clock.epoch
        )
        use_billomat_client(client)
        queue = SimulatedQueue(clock)
        # The real retry policy on the simulated clock; only the SQS send is simulated.
        autopilot.delayed_retry.use_clock(clock.epoch)
        autopilot.delayed_retry.DelayedRetry.send = requeue_onto(queue)  # type: ignore[method-assign]

        # 1. requests per paid order
        before = sandbox.request_count
        run_batch(lambda_handler, [Delivery(order_message(0, 0), 1)], queue)
        new_customer = sandbox.request_count - before
        before = sandbox.request_count
        run_batch(lambda_handler, [Delivery(order_message(1, 0), 1)], queue)
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
        failed_records = drain(lambda_handler, queue)
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

        burst_refs = {order_reference(1000 + n) for n in range(args.orders)}
        per_order, paid = invoices_per_order(sandbox, burst_refs)
        lost = len(burst_refs - paid)
        duplicated = sum(1 for ref in burst_refs if per_order.get(ref, 0) > 1)
        print(
            f"burst of {args.orders} paid orders ({args.customers} customers), limit {LIMIT}/15 min"
        )
        print(
            f"  lost: {lost}   billed twice: {duplicated}   "
            f"dead-lettered: {len(queue.dead_letters)}   failed records retried: {failed_records}"
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

        # 3. Billomat down (every request 503) while orders keep arriving
        clock.advance(WINDOW_SECONDS)
        outage = outage_scenario(
            lambda_handler,
            queue,
            transport,
            sandbox,
            orders=args.outage_orders,
            first_number=10_000,
            outage_seconds=args.outage_hours * 3600,
        )
        alarm = outage["alarm_after_seconds"]
        print(
            f"Billomat outage of {args.outage_hours:g} h (every request 503), "
            f"{args.outage_orders} paid orders arriving in its first "
            f"{(args.outage_orders - 1) * 30 / 60:.0f} min"
        )
        print(
            f"  lost: {outage['lost']}   billed twice: {outage['billed_twice']}   "
            f"dead-lettered: {outage['dead_lettered']}   (target 0 each)   "
            f"failed records: {outage['failed_records']}"
        )
        print(
            f"  delayed requeues: {outage['requeued']}   requests refused by the outage: "
            f"{outage['refused_requests']}   outage alarm (age >= 30 min) after: "
            f"{'never' if alarm is None else f'{alarm / 60:.1f} min'}"
        )
        print(
            "  last order invoiced "
            f"{outage['drained_after_recovery_seconds'] / 60:.1f} min after Billomat came back "
            "(backoff tops out at 15 min)"
        )
        ok = lost == duplicated == 0 and not queue.dead_letters
        ok = ok and outage["lost"] == outage["billed_twice"] == 0
        return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
