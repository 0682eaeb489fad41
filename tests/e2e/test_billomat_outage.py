"""A Billomat outage only delays work: on the sandbox's simulated clock, every request answered
503 for two hours while orders and bank transfers arrive. Nothing is lost, nothing is
dead-lettered, everything is invoiced or booked exactly once after the recovery."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from bench.order_requests import (
    OutageTransport,
    SimulatedQueue,
    drain,
    outage_scenario,
    requeue_onto,
)
from local.demo_data import seed_open_invoices

from .conftest import Billomat, Stack

HOUR = 3600
SEED = json.loads(
    (Path(__file__).resolve().parents[2] / "events/bank/_seed_open_invoices.json").read_text(
        "utf-8"
    )
)


@dataclass
class Outage:
    billomat: Billomat
    transport: OutageTransport
    queue: SimulatedQueue


@pytest.fixture
def outage(stack: Stack, billomat: Billomat, monkeypatch: pytest.MonkeyPatch) -> Iterator[Outage]:
    """The workers on a simulated SQS queue and a Billomat that can be switched off."""
    import autopilot.delayed_retry
    from autopilot.billomat import BillomatClient
    from autopilot.billomat_access import use_billomat_client
    from local.billomat_sandbox import DEV_API_KEY
    from local.sandbox_client import SANDBOX_BASE_URL

    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "OutageTest")
    clock = billomat.sandbox.clock
    transport = OutageTransport(billomat.sandbox.transport(), clock)
    client = BillomatClient(
        SANDBOX_BASE_URL, DEV_API_KEY, transport=transport, sleep=clock.sleep, now=clock.epoch
    )
    use_billomat_client(client)
    queue = SimulatedQueue(clock)
    monkeypatch.setattr(autopilot.delayed_retry.DelayedRetry, "send", requeue_onto(queue))
    autopilot.delayed_retry.use_clock(clock.epoch)
    try:
        yield Outage(billomat, transport, queue)
    finally:
        autopilot.delayed_retry.use_clock(None)
        client.close()


def test_two_hour_outage_during_a_burst_of_orders_loses_and_dead_letters_nothing(
    outage: Outage,
) -> None:
    from order_invoice.app import lambda_handler

    result = outage_scenario(
        lambda_handler,
        outage.queue,
        outage.transport,
        outage.billomat.sandbox,
        orders=30,
        first_number=20_000,
        outage_seconds=2 * HOUR,
        arrival_every=60,
    )
    assert result["lost"] == 0
    assert result["billed_twice"] == 0
    assert result["dead_lettered"] == 0
    assert result["failed_records"] == 0  # no SQS receive was used up
    assert result["refused_requests"] > 30  # Billomat really was down for the orders
    assert result["alarm_after_seconds"] is not None
    assert 1800 <= result["alarm_after_seconds"] <= 1800 + 60
    assert result["drained_after_recovery_seconds"] <= 40 * 60
    sandbox = outage.billomat.sandbox
    invoices = [
        i
        for i in sandbox.snapshot()["invoices"]
        if str(i.get("customfield", "")).startswith("shopify:bench.myshopify.com:order:50")
    ]
    assert len(invoices) == 30
    assert {i["status"] for i in invoices} == {"PAID"}
    assert len(sandbox.sent_emails) == 30  # each customer e-mailed exactly once
    assert len(sandbox.snapshot()["invoice-payments"]) == 30


def test_orders_still_failing_after_the_horizon_go_to_the_dead_letter_queue(
    outage: Outage, monkeypatch: pytest.MonkeyPatch
) -> None:
    from order_invoice.app import lambda_handler

    monkeypatch.setenv("RETRY_HORIZON_HOURS", "3")
    result = outage_scenario(
        lambda_handler,
        outage.queue,
        outage.transport,
        outage.billomat.sandbox,
        orders=3,
        first_number=30_000,
        outage_seconds=10 * HOUR,
    )
    assert result["dead_lettered"] == 3  # after their 5 receives past the 3 h horizon
    assert result["lost"] == 3  # not invoiced: waiting in the DLQ for a redrive
    assert result["billed_twice"] == 0
    assert outage.billomat.sandbox.snapshot().get("invoices", []) == []


def bank_message(transaction_id: str, amount: str, text: str) -> dict[str, Any]:
    return {
        "kind": "bank_transaction",
        "transaction": {
            "schema": "bank-transaction/v1",
            "source": "fints",
            "account_iban": "DE02120300000000202051",
            "transaction_id": transaction_id,
            "status": "booked",
            "direction": "credit",
            "amount": amount,
            "currency": "EUR",
            "booking_date": "2026-11-25",
            "counterparty": {"name": "ELEKTRO HOFFMANN GMBH", "iban": "DE67370400445260181590"},
            "remittance_information": text,
        },
    }


def test_bank_transfers_during_a_two_hour_outage_are_booked_once_afterwards(
    outage: Outage,
) -> None:
    from bank_payment.app import lambda_handler

    seeded = seed_open_invoices(outage.billomat.sandbox, SEED)
    clock = outage.billomat.sandbox.clock
    start = clock.epoch()
    outage.transport.outage(start, start + 2 * HOUR)
    transfers = [
        bank_message("outage-1", "1190.00", "Rechnung RE1042"),
        bank_message("outage-2", "595.00", "RE1043 und RE1044"),
        bank_message("outage-3", "1190.00", "Rechnung RE1042"),  # the same invoice again
    ]
    for minute, message in enumerate(transfers):
        outage.queue.send(message, delay=minute * 600)
    failed = drain(lambda_handler, outage.queue, "bank_payment")
    assert failed == 0
    assert outage.queue.dead_letters == []
    assert outage.transport.refused > 3
    assert clock.epoch() >= start + 2 * HOUR
    payments = sorted(
        (seeded.numbers[int(p["invoice_id"])], Decimal(str(p["amount"])))
        for p in outage.billomat.sandbox.snapshot()["invoice-payments"]
        if str(p.get("comment") or "").endswith("]")
    )
    assert payments == [
        ("RE1042", Decimal("1190.00")),
        ("RE1043", Decimal("238.00")),
        ("RE1044", Decimal("357.00")),
    ]
    from bank_payment.app import review_handler

    reasons = [item["reason"] for item in review_handler({}, None)["review"]]
    assert reasons == ["reference_not_open"]  # the second transfer for the paid RE1042
