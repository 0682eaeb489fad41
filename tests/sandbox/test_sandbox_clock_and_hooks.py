"""The sandbox clock and the test hooks: seed, snapshot, request log."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import httpx
import pytest

from local.billomat_sandbox import BillomatSandbox, SandboxClock


def test_simulated_clock_moves_only_when_told() -> None:
    clock = SandboxClock(datetime(2025, 3, 30, 21, 30, tzinfo=UTC))
    assert clock.now() == datetime(2025, 3, 30, 21, 30, tzinfo=UTC)
    assert clock.today() == date(2025, 3, 30)  # 23:30 in Berlin (summer time started)
    clock.advance(3600)
    assert clock.today() == date(2025, 3, 31)  # 00:30 in Berlin, still the 30th in UTC
    clock.sleep(60)
    assert clock.epoch() == datetime(2025, 3, 30, 22, 31, tzinfo=UTC).timestamp()
    clock.set(datetime(2026, 1, 1, 12, 0))  # naive is read as UTC
    assert clock.now() == datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def test_real_time_clock_follows_the_wall_clock_and_can_be_shifted() -> None:
    clock = SandboxClock()
    assert abs(clock.now() - datetime.now(UTC)) < timedelta(seconds=5)
    clock.advance(86400)
    assert clock.now() - datetime.now(UTC) > timedelta(hours=23)
    assert clock.now().tzinfo is UTC


def test_seeded_open_invoice_with_items_is_numbered_and_listed(
    sandbox: BillomatSandbox, api: httpx.Client
) -> None:
    client = sandbox.seed("clients", {"name": "Seed AG", "dunning_run": True, "email": "s@x.de"})
    assert client["client_number"] == "KD1"
    assert client["dunning_run"] is True
    invoice = sandbox.seed(
        "invoices",
        {
            "client_id": client["id"],
            "date": date(2025, 1, 2),
            "status": "OPEN",
            "invoice-items": [{"title": "Altlast", "quantity": 1, "unit_price": Decimal("200")}],
        },
    )
    assert (invoice["status"], invoice["invoice_number"]) == ("OPEN", "RE1")
    assert invoice["total_gross"] == Decimal("238.00")
    listed = api.get("invoices", params={"status": "OPEN"}).json()["invoices"]["invoice"]
    assert listed["total_gross"] == "238"
    assert sandbox.request_count == 1  # seeding is not a request


def test_seeded_paid_invoice_has_a_payment(sandbox: BillomatSandbox) -> None:
    client = sandbox.seed("clients", {"name": "Bezahlt GmbH"})
    invoice = sandbox.seed(
        "invoices",
        {
            "client_id": client["id"],
            "status": "PAID",
            "items": [{"title": "A", "quantity": 1, "unit_price": 10}],
        },
    )
    assert (invoice["status"], invoice["open_amount"], invoice["paid_amount"]) == (
        "PAID",
        Decimal(0),
        Decimal("11.90"),
    )
    assert len(sandbox.snapshot()["invoice-payments"]) == 1


def test_seed_rejects_invalid_records(sandbox: BillomatSandbox) -> None:
    with pytest.raises(ValueError, match="client_id"):
        sandbox.seed("invoices", {"title": "ohne Kunde"})
    with pytest.raises(ValueError, match="colour"):
        sandbox.seed("clients", {"name": "X", "colour": "red"})


def test_snapshot_has_plain_python_values(sandbox: BillomatSandbox) -> None:
    client = sandbox.seed("clients", {"name": "Snap"})
    sandbox.seed(
        "invoices",
        {
            "client_id": client["id"],
            "invoice-items": [{"title": "A", "quantity": 2, "unit_price": "1.5"}],
        },
    )
    state = sandbox.snapshot()
    assert {
        "clients",
        "invoices",
        "invoice-items",
        "invoice-payments",
        "reminders",
        "offers",
        "articles",
        "recurrings",
        "taxes",
        "reminder-texts",
        "settings",
    } <= set(state)
    (invoice,) = state["invoices"]
    assert invoice["total_net"] == Decimal("3.00")
    assert isinstance(invoice["date"], date)
    assert invoice["taxes"][0]["rate"] == Decimal(19)
    assert not any(key.startswith("_") for key in invoice)
    invoice["title"] = "changed"
    assert sandbox.snapshot()["invoices"][0]["title"] is None


def test_requests_are_logged_with_status_and_time(
    sandbox: BillomatSandbox, api: httpx.Client, clock: SandboxClock
) -> None:
    api.get("clients", params={"name": "x"})
    api.get("clients/1")
    first, second = sandbox.requests
    assert (first.method, first.path, first.query, first.status) == (
        "GET",
        "/api/clients",
        {"name": "x"},
        200,
    )
    assert (second.route, second.status) == ("clients/1", 404)
    assert first.at == clock.now()
    assert sandbox.request_count == 2


def test_auto_tick_flips_overdue_invoices_on_the_first_request_of_a_day(
    clock: SandboxClock,
) -> None:
    sandbox = BillomatSandbox(clock=clock, auto_tick=True)
    client = sandbox.seed("clients", {"name": "Auto"})
    invoice = sandbox.seed(
        "invoices", {"client_id": client["id"], "status": "OPEN", "due_date": date(2025, 3, 9)}
    )
    assert invoice["status"] == "OPEN"
    with httpx.Client(
        transport=sandbox.transport(),
        base_url="http://billomat.sandbox/api/",
        headers={"X-BillomatApiKey": sandbox.api_key},
    ) as api:
        status = api.get(f"invoices/{invoice['id']}").json()["invoice"]["status"]
    assert status == "OVERDUE"


def test_seed_refuses_amounts_the_sandbox_computes(sandbox: BillomatSandbox) -> None:
    client = sandbox.seed("clients", {"name": "X"})
    with pytest.raises(ValueError, match="total_gross"):
        sandbox.seed("invoices", {"client_id": client["id"], "total_gross": "100"})
