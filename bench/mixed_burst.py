"""Concurrent workers sharing one Billomat quota: orders and bank transfers in one burst.

Billomat's limit belongs to the account, not to a function. Here several simulated Lambda
containers (by default two order_invoice and two bank_payment containers, the template's
MaximumConcurrency) work through a burst at the same time against one sandbox account with a
small limit (40 requests per 20-s window), on the sandbox's simulated clock. Each container has
its own Billomat client (its own view of the quota, its own priority) and a 60-s Lambda time
budget; a Billomat round trip takes 0.15-0.45 s; containers take turns request by request, and
containers waking at the same instant go in a seeded random order. Records are handled like
the queue workers do: the workflow class (``OrderInvoicing``, ``BankPaymentBooking``) runs
each record; a rate limit, an outage or busy work elsewhere puts the record back on its
simulated queue with the real ``DelayedRetry`` policy; any other failure waits for the
visibility timeout.

Printed, per scenario and seed: the share of the limit used in the windows the burst filled
(every window from the first to the one before the last; an empty one in between counts),
the requests per window, 429s, orders and transfers lost or done twice (target 0), and when
each workload finished; then the mean and the worst share (target >= 90 % every time).

Run: `.venv/bin/python bench/mixed_burst.py [--runs N] [--verbose]`.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT)]
import local  # noqa: E402,F401 - puts the layer and the function packages on sys.path
from bench.simulation import (  # noqa: E402 - the repository root is on sys.path now
    Delivery,
    LatencyTransport,
    SimulatedQueue,
    SimulatedThreads,
    filled_share,
    invoices_per_order,
    order_message,
    order_reference,
    requests_per_window,
)

LIMIT = 40
WINDOW_SECONDS = 20
LAMBDA_TIMEOUT_SECONDS = 60.0  # template.yaml Globals
SQS_BATCH = 10
IDLE_POLL_SECONDS = 1.0
TARGET_SHARE = 0.90
INVOICE_GROSS = "119.00"


@dataclass
class Workload:
    """One queue and what its containers do with a record."""

    name: str
    queue: SimulatedQueue
    start_batch: Callable[[Any], Callable[[Any], None]]
    """Given a container's Billomat client, a handler for one batch's records."""
    priority: Any
    """The ``RatePriority`` its containers' clients have."""
    done: int = 0
    finished_at: float | None = None


@dataclass
class Scenario:
    title: str
    orders: int
    transfers: int
    order_containers: int = 2
    bank_containers: int = 2


@dataclass
class RunResult:
    share: float
    per_window: dict[int, int]
    refused: int
    orders_lost: int = 0
    orders_twice: int = 0
    transfers_lost: int = 0
    transfers_twice: int = 0
    finished: dict[str, float] = field(default_factory=dict)
    failed_records: int = 0

    @property
    def first(self) -> str:
        if len(self.finished) < 2:
            return "-"
        return min(self.finished, key=lambda name: self.finished[name])


class Container:
    """One Lambda container of a queue worker: polls its queue, runs a batch per invocation
    with a 60-s time budget, puts rate-limited records back with the real retry policy."""

    def __init__(self, workload: Workload, client: Any, threads: SimulatedThreads) -> None:
        from autopilot.delayed_retry import DelayedRetry

        self.workload = workload
        self.client = client
        self.threads = threads
        self.failed_records = 0
        queue = workload.queue

        class QueueRetry(DelayedRetry):
            def send(self, body: str, delay_seconds: int, _correlation_id: str) -> None:
                queue.send(json.loads(body), delay_seconds)

        self.retry = QueueRetry(f"bench-{workload.name}", clock=threads.clock.epoch)

    def run(self) -> None:
        queue = self.workload.queue
        clock = self.threads.clock
        while True:
            # Never receive(wait=True) here: one container moving the shared clock on to its
            # next delayed message would skip the others past the start of a window.
            batch = queue.receive(SQS_BATCH, wait=False)
            if batch:
                self.invoke(batch)
                continue
            if not len(queue) and not queue.in_flight:
                return
            visible_at = queue.next_visible_at()
            idle = IDLE_POLL_SECONDS if visible_at is None else visible_at - clock.epoch()
            self.threads.sleep(max(idle, 0.0))

    def invoke(self, batch: list[Delivery]) -> None:
        from autopilot.billomat_access import lambda_time_budget
        from autopilot.messages import parse_message

        clock = self.threads.clock
        queue = self.workload.queue
        started = clock.epoch()
        queue.in_flight += len(batch)

        def remaining_millis() -> int:
            return max(0, int((LAMBDA_TIMEOUT_SECONDS - (clock.epoch() - started)) * 1000))

        self.client.time_budget = lambda_time_budget(remaining_millis)
        handle = self.workload.start_batch(self.client)
        try:
            for delivery in batch:
                message = parse_message(json.dumps(delivery.message))
                try:
                    handle(message)
                except Exception as error:
                    reference = message.correlation_id
                    if self.retry.retry_later(delivery.message, error, reference) is None:
                        if os.environ.get("BENCH_SHOW_ERRORS"):
                            print(f"  record failed: {error!r}", file=sys.stderr)
                        self.failed_records += 1
                        queue.fail(delivery)
                    continue
                self.workload.done += 1
                self.workload.finished_at = clock.epoch()
        finally:
            queue.in_flight -= len(batch)


def order_workload(queue: SimulatedQueue, store: Any, notifier: Any) -> Workload:
    from order_invoice.invoicing import OrderInvoicing

    from autopilot.billomat.rate_limit import RatePriority
    from autopilot.settings import OrderInvoiceSettings

    settings = OrderInvoiceSettings.from_env()

    def start_batch(client: Any) -> Callable[[Any], None]:
        invoicing = OrderInvoicing(client, store, notifier, settings)
        return lambda message: invoicing.run(message.order) and None

    return Workload("orders", queue, start_batch, priority=RatePriority.ORDERS)


def bank_workload(queue: SimulatedQueue, store: Any, notifier: Any) -> Workload:
    from bank_payment.booking import BankPaymentBooking
    from bank_payment.matching import PayerRule

    from autopilot.billomat.rate_limit import RatePriority

    def start_batch(client: Any) -> Callable[[Any], None]:
        booking = BankPaymentBooking(client, store, notifier, PayerRule.IBAN_OR_NAME)

        def handle(message: Any) -> None:
            outcome = booking.run(message.transaction)
            booking.note_outcome(outcome.as_dict())

        return handle

    return Workload("transfers", queue, start_batch, priority=RatePriority.BANK)


def transfer_message(run: int, number: int, invoice_number: str) -> dict[str, Any]:
    """A booked credit paying ``invoice_number`` in full."""
    from autopilot.messages import BankTransactionMessage

    transaction = {
        "schema": "bank-transaction/v1",
        "source": "bench",
        "transaction_id": f"run{run}-tx{number}",
        "account_iban": "DE02120300000000202051",
        "status": "booked",
        "direction": "credit",
        "amount": INVOICE_GROSS,
        "currency": "EUR",
        "booking_date": "2026-12-01",
        "counterparty": {"name": f"Kunde {run}-{number}"},
        "remittance_information": f"Rechnung {invoice_number}",
    }
    return BankTransactionMessage.model_validate({"transaction": transaction}).as_body()


def seed_invoices(sandbox: Any, run: int, count: int) -> dict[str, int]:
    """``count`` open invoices of 119.00 EUR to pay (no requests, no quota); number → id."""
    from local.demo_data import seed_open_invoices

    spec = {
        "clients": [
            {"ref": f"c{n}", "name": f"Kunde {run}-{n}", "email": f"k{run}-{n}@example.de"}
            for n in range(count)
        ],
        "invoices": [
            {"number": f"RE{run:02d}{n:03d}", "client": f"c{n}", "date": "2026-11-20"}
            | {"gross": INVOICE_GROSS}
            for n in range(count)
        ],
    }
    return seed_open_invoices(sandbox, spec).invoices


def run_once(
    scenario: Scenario,
    seed: int,
    run: int,
    aws_environment: dict[str, str],
    *,
    priorities: bool = True,
) -> RunResult:
    """One burst: fresh sandbox, fresh queues, every message sent at the start of a window."""
    from autopilot.billomat import BillomatClient
    from autopilot.billomat.rate_limit import RatePriority
    from autopilot.notifications import AccountingNotifier
    from autopilot.workflow_state import WorkflowStore
    from local.billomat_sandbox import DEV_API_KEY, BillomatSandbox, SandboxClock
    from local.sandbox_client import SANDBOX_BASE_URL

    rng = random.Random(seed)  # noqa: S311 - a reproducible interleaving, not a secret
    start_window = datetime(2026, 12, 1, 9, 0, tzinfo=UTC).timestamp() + run * 3600
    clock = SandboxClock(datetime.fromtimestamp(start_window + rng.uniform(0, 1), UTC))
    sandbox = BillomatSandbox(
        api_key=DEV_API_KEY, clock=clock, rate_limit=LIMIT, rate_window_seconds=WINDOW_SECONDS
    )
    threads = SimulatedThreads(clock, rng)
    store = WorkflowStore(aws_environment["WORKFLOW_TABLE"])
    notifier = AccountingNotifier(aws_environment["NOTIFICATIONS_TOPIC_ARN"])

    orders = order_workload(SimulatedQueue(clock), store, notifier)
    transfers = bank_workload(SimulatedQueue(clock), store, notifier)
    first_order = run * 1000
    for n in range(scenario.orders):
        orders.queue.send(order_message(first_order + n, first_order + n))
    invoice_ids = seed_invoices(sandbox, run, scenario.transfers)
    for n, number in enumerate(invoice_ids):
        transfers.queue.send(transfer_message(run, n, number))

    containers: list[Container] = []
    for workload, count in (
        (orders, scenario.order_containers if scenario.orders else 0),
        (transfers, scenario.bank_containers if scenario.transfers else 0),
    ):
        for _ in range(count):
            client = BillomatClient(
                SANDBOX_BASE_URL,
                DEV_API_KEY,
                transport=LatencyTransport(sandbox.transport(), threads),
                sleep=threads.sleep,
                now=clock.epoch,
                priority=workload.priority if priorities else RatePriority.ORDERS,
                rate_window_seconds=WINDOW_SECONDS,
            )
            containers.append(Container(workload, client, threads))
    first_request = sandbox.request_count
    for number, container in enumerate(containers):
        threads.start(f"{container.workload.name}-{number}", container.run)
    threads.run()

    per_window = requests_per_window(sandbox, first_request, start_window, WINDOW_SECONDS)
    refused = sum(1 for r in sandbox.requests[first_request:] if r.status == 429)
    result = RunResult(
        share=filled_share(per_window, LIMIT),
        per_window=per_window,
        refused=refused,
        failed_records=sum(c.failed_records for c in containers),
    )
    refs = {order_reference(first_order + n) for n in range(scenario.orders)}
    per_order, paid = invoices_per_order(sandbox, refs)
    result.orders_lost = len(refs - paid)
    result.orders_twice = sum(1 for ref in refs if per_order.get(ref, 0) > 1)
    payments: dict[int, int] = {}
    for payment in sandbox.snapshot().get("invoice-payments", []):
        invoice_id = int(payment["invoice_id"])
        payments[invoice_id] = payments.get(invoice_id, 0) + 1
    result.transfers_lost = sum(1 for i in invoice_ids.values() if not payments.get(i))
    result.transfers_twice = sum(1 for i in invoice_ids.values() if payments.get(i, 0) > 1)
    for workload in (orders, transfers):
        if workload.finished_at is not None:
            result.finished[workload.name] = workload.finished_at - start_window
    return result


def describe(result: RunResult) -> str:
    first, last = min(result.per_window), max(result.per_window)
    windows = " ".join(str(result.per_window.get(w, 0)) for w in range(first, last + 1))
    finished = ", ".join(f"{name} {at:.0f} s" for name, at in result.finished.items())
    return (
        f"share {result.share:6.1%}  windows [{windows}]  429s {result.refused:2d}  "
        f"finished: {finished}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--verbose", action="store_true", help="print every run")
    parser.add_argument(
        "--no-priority", action="store_true", help="every client at the orders priority"
    )
    args = parser.parse_args()

    from local.aws import LocalAws, use_fake_aws_environment

    use_fake_aws_environment()
    os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "Bench")
    os.environ["POWERTOOLS_LOG_LEVEL"] = "ERROR"
    import logging

    logging.disable(logging.WARNING if os.environ.get("BENCH_SHOW_ERRORS") else logging.CRITICAL)
    from moto import mock_aws

    scenarios = [
        Scenario("15 orders alone", orders=15, transfers=0),
        Scenario("24 bank transfers alone", orders=0, transfers=24),
        Scenario("16 orders + 24 bank transfers together", orders=16, transfers=24),
    ]
    print(
        f"Concurrent workers on one Billomat account, limit {LIMIT} per {WINDOW_SECONDS}-s "
        f"window, {args.runs} runs per scenario (2 order + 2 bank containers, seeds "
        f"{args.seed}..{args.seed + args.runs - 1})"
    )
    ok = True
    with mock_aws():
        aws = LocalAws()
        environment = aws.create(
            billomat_secret={"api_key": "sandbox-dev-api-key"},
            webhook_secrets={},
            hubspot_token="bench-token",  # noqa: S106 - moto, not a secret
        )
        os.environ.update(environment)
        run = 0
        for scenario in scenarios:
            results = []
            for seed in range(args.seed, args.seed + args.runs):
                run += 1
                result = run_once(scenario, seed, run, environment, priorities=not args.no_priority)
                results.append(result)
                if args.verbose or result.share < TARGET_SHARE:
                    print(f"  seed {seed:3d}: {describe(result)}")
            shares = [r.share for r in results]
            firsts = [r.first for r in results if r.first != "-"]
            lost = sum(r.orders_lost + r.transfers_lost for r in results)
            twice = sum(r.orders_twice + r.transfers_twice for r in results)
            print(f"{scenario.title}:")
            print(
                f"  share of the limit in the windows the burst filled: mean "
                f"{statistics.mean(shares):.1%}, worst {min(shares):.1%} (target >= 90 % "
                f"every run); runs below 90 %: {sum(s < TARGET_SHARE for s in shares)}"
            )
            print(
                f"  lost: {lost}   done twice: {twice}   (target 0)   429s: "
                f"{sum(r.refused for r in results)}   failed records: "
                f"{sum(r.failed_records for r in results)}"
            )
            if firsts:
                counts = {name: firsts.count(name) for name in sorted(set(firsts))}
                mean_finish = {
                    name: statistics.mean(r.finished[name] for r in results if name in r.finished)
                    for name in ("orders", "transfers")
                }
                print(
                    "  finished first: "
                    + ", ".join(f"{name} {n}x" for name, n in counts.items())
                    + "   mean finish: "
                    + ", ".join(f"{name} {at:.0f} s" for name, at in mean_finish.items())
                )
            ok = ok and lost == twice == 0 and min(shares) >= TARGET_SHARE
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
