"""Billomat requests and time the monthly report costs for a month of 1,000 invoices.

Everything runs in-process: the reporting Lambda handler, moto for AWS, and the Billomat
sandbox (with its real limit of 300 requests per 15 minutes) on a simulated clock. The
sandbox is seeded with a month of N invoices (default 1,000) over 200 clients, most of them
paid by payments in the month, plus the month before (for the comparison), older open
invoices and reminders. The report for that month is then run through the handler.

Printed: the Billomat requests the report sent (total, per endpoint, share of the 15-minute
quota) and the wall-clock time of the handler (seeding excluded).

Run: `.venv/bin/python bench/report_requests.py [--invoices N]`.
"""

from __future__ import annotations

import argparse
import calendar
import contextlib
import io
import os
import random
import sys
import time
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT)]
import local  # noqa: E402,F401 - puts the layer and the function packages on sys.path

LIMIT = 300
MONTH_START = date(2026, 10, 1)  # October: the month with the extra DST hour
RUN_AT = "2026-11-01T08:00:00"


def seed_month(
    sandbox: Any, rng: random.Random, first: date, count: int, clients: list[int], paid: bool
) -> None:
    """``count`` invoices spread over the month starting ``first``; most paid in the month."""
    days = calendar.monthrange(first.year, first.month)[1]
    for number in range(count):
        day = first + timedelta(days=number * days // count)
        rate = rng.choice(("19", "19", "19", "7"))
        items = [
            {
                "title": f"Position {line}",
                "quantity": str(rng.randint(1, 5)),
                "unit_price": f"{rng.randint(1000, 40000) / 100:.2f}",
                "tax_rate": rate,
            }
            for line in range(rng.randint(1, 3))
        ]
        record = sandbox.seed(
            "invoices",
            {
                "client_id": rng.choice(clients),
                "date": day.isoformat(),
                "due_date": (day + timedelta(days=14)).isoformat(),
                "status": "OPEN",
                "invoice-items": items,
            },
        )
        if paid and rng.random() < 0.7:
            paid_on = min(
                day + timedelta(days=rng.randint(1, 20)), first + timedelta(days=days - 1)
            )
            sandbox.seed(
                "invoice-payments",
                {
                    "invoice_id": record["id"],
                    "amount": str(record["total_gross"]),
                    "date": paid_on.isoformat(),
                    "type": rng.choice(("BANK_TRANSFER", "PAYPAL", "DEBIT")),
                },
            )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--invoices", type=int, default=1000, help="invoices in the month")
    args = parser.parse_args()

    from local.aws import LocalAws, use_fake_aws_environment

    use_fake_aws_environment()
    os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "Bench")
    os.environ["POWERTOOLS_LOG_LEVEL"] = "ERROR"
    import logging
    import warnings

    logging.disable(logging.CRITICAL)
    warnings.simplefilter("ignore")
    from moto import mock_aws

    with mock_aws():
        environment = LocalAws().create(
            billomat_secret={"api_key": "sandbox-dev-api-key"},
            webhook_secrets={},
            hubspot_token="bench-token",  # noqa: S106 - moto, not a secret
        )
        os.environ.update(environment)
        os.environ["BILLOMAT_BASE_URL"] = "http://billomat.sandbox/api/"

        from reporting.app import lambda_handler

        from autopilot.billomat_access import use_billomat_client
        from local.billomat_sandbox import DEV_API_KEY, BillomatSandbox, SandboxClock
        from local.lambda_events import LocalLambdaContext
        from local.sandbox_client import sandbox_client

        clock = SandboxClock(datetime(2026, 8, 20, 9, tzinfo=UTC))
        sandbox = BillomatSandbox(api_key=DEV_API_KEY, clock=clock, rate_limit=LIMIT)
        client = sandbox_client(sandbox)
        use_billomat_client(client)

        rng = random.Random(2026)  # noqa: S311 - sample data, not secrets
        seeding = time.perf_counter()
        clients = [sandbox.seed("clients", {"name": f"Kunde {n:03d}"})["id"] for n in range(200)]
        seed_month(sandbox, rng, date(2026, 8, 1), 120, clients, paid=False)  # older open ones
        seed_month(sandbox, rng, date(2026, 9, 1), args.invoices, clients, paid=True)
        seed_month(sandbox, rng, MONTH_START, args.invoices, clients, paid=True)
        clock.set(datetime(2026, 10, 31, 9, tzinfo=UTC))
        sandbox.tick()
        overdue = [row for row in sandbox.snapshot()["invoices"] if row["status"] == "OVERDUE"]
        for row in overdue[:40]:
            sandbox.seed(
                "reminders", {"invoice_id": row["id"], "date": "2026-10-28", "status": "OPEN"}
            )
        clock.set(datetime(2026, 11, 1, 7, tzinfo=UTC))
        seeded = time.perf_counter() - seeding
        sandbox.reset_rate_limit()

        before = sandbox.request_count
        started = time.perf_counter()
        with contextlib.redirect_stdout(io.StringIO()):  # Powertools' metric lines
            outcome = lambda_handler({"now": RUN_AT}, LocalLambdaContext("reporting", 900))
        elapsed = time.perf_counter() - started
        sent = sandbox.requests[before:]

    per_endpoint = Counter(
        f"{r.method} /{r.path.removeprefix('/api/')}"
        + (" group_by" if "group_by" in r.query else "")
        for r in sent
    )
    summary = outcome["summary"]
    net, cash = Decimal(summary["net"]), Decimal(summary["cash_received"])
    print(f"Monthly report {outcome['month']}: {summary['invoices_issued']} invoices issued")
    print(f"  net {net:,} EUR, cash received {cash:,} EUR")
    print(f"  sandbox seeded in {seeded:.1f} s: {len(clients)} clients,")
    print(f"  2 x {args.invoices} invoices (the month and the one before) + 120 older open ones")
    print()
    print(f"Billomat requests: {len(sent)} ({len(sent) / LIMIT:.1%} of the 300 per 15 minutes)")
    for endpoint, count in sorted(per_endpoint.items()):
        print(f"  {count:3d}  {endpoint}")
    print(f"Handler time: {elapsed:.2f} s (in-process sandbox and moto, network not included)")
    return 0 if len(sent) == outcome["billomat_requests"] else 1


if __name__ == "__main__":
    sys.exit(main())
