"""Billomat and HubSpot requests per HubSpot deal, through the deal_invoice worker.

Everything runs in-process: the worker's Lambda handler, moto for AWS, the Billomat sandbox
and the HubSpot sandbox (each with its own rate limit) on one simulated clock. Each case
starts from a fresh sandbox pair; "warm" means the container has the deal pipelines cached,
as it has after its first deal.

Printed, per case: Billomat requests (with the calls by name) and HubSpot requests.
Targets (issue #10): a won deal with a new client <= 10 Billomat requests and <= 5 HubSpot
requests with the pipelines cached.

Run: `.venv/bin/python bench/deal_requests.py`.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import sys
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT)]
import local  # noqa: E402,F401 - puts the layer and the function packages on sys.path

EVENT_IDS = iter(range(1, 1_000_000))


class Portal:
    """A Billomat sandbox and a HubSpot sandbox on one clock, wired into the worker."""

    def __init__(self) -> None:
        from autopilot.billomat_access import use_billomat_client
        from autopilot.hubspot import HubSpotClient
        from autopilot.hubspot.access import use_hubspot_client
        from local.billomat_sandbox import BillomatSandbox, SandboxClock
        from local.containers import clear_container_caches
        from local.hubspot_sandbox import DEV_ACCESS_TOKEN, HubSpotSandbox
        from local.sandbox_client import sandbox_client

        clear_container_caches()
        clock = SandboxClock(datetime(2026, 11, 25, 9, 0, tzinfo=UTC))
        self.billomat = BillomatSandbox(clock=clock)
        self.hubspot = HubSpotSandbox(clock=clock)
        use_billomat_client(sandbox_client(self.billomat))
        use_hubspot_client(
            HubSpotClient(
                "https://api.hubapi.com/",
                DEV_ACCESS_TOKEN,
                transport=self.hubspot.transport(),
                sleep=clock.sleep,
                now=clock.epoch,
            )
        )

    def deal(self, stage: str, *, company: str | None = None) -> str:
        """The demo deal (3 line items) of a company, new unless ``company`` is given."""
        sb = self.hubspot
        if company is None:
            company = sb.add_company("Muster Digital GmbH", city="Berlin", country="Deutschland")
        contact = sb.add_contact("Erika", "Musterfrau", "erika@muster-digital.example")
        items = [
            sb.add_line_item("Konzeption", 2, "1200.00", sku="WEB-KONZ"),
            sb.add_line_item("Umsetzung", 40, "95.00", sku="WEB-DEV", discount_percentage=10),
            sb.add_line_item("Hosting", 12, "29.90", sku="WEB-HOST"),
        ]
        deal_id: str = sb.add_deal(
            "Website-Relaunch",
            stage=stage,
            company=company,
            contacts=[contact],
            line_items=items,
        )
        return deal_id

    def run(self, deal_id: str) -> tuple[dict[str, Any], list[str], int]:
        """One message about the deal through the worker: outcome, Billomat calls, HubSpot
        request count."""
        from deal_invoice.app import lambda_handler

        from autopilot.messages import DealMessage, message_body
        from local.lambda_events import LocalLambdaContext

        message = DealMessage(
            portal_id=self.hubspot.portal_id,
            deal_id=int(deal_id),
            event_id=next(EVENT_IDS),
            occurred_at=int(self.billomat.clock.epoch() * 1000),
        )
        record = {
            "messageId": "1",
            "receiptHandle": "1",
            "body": message_body(message),
            "attributes": {"ApproximateReceiveCount": "1"},
            "messageAttributes": {},
            "md5OfBody": "",
            "eventSource": "aws:sqs",
            "eventSourceARN": "arn:aws:sqs:eu-central-1:123456789012:bench-deals",
            "awsRegion": "eu-central-1",
        }
        billomat_before = len(self.billomat.requests)
        hubspot_before = self.hubspot.request_count
        with contextlib.redirect_stdout(io.StringIO()):  # the metrics (EMF) Lambda would log
            result = lambda_handler({"Records": [record]}, LocalLambdaContext("deal_invoice", 60))
        assert result["batchItemFailures"] == [], result
        calls = [f"{r.method} {_route(r.path)}" for r in self.billomat.requests[billomat_before:]]
        return {}, calls, self.hubspot.request_count - hubspot_before

    def warm_pipelines(self) -> None:
        from deal_invoice.app import pipelines

        pipelines().pipelines()


def _route(path: str) -> str:
    parts = path.removeprefix("/api/").strip("/").split("/")
    return "/".join("{id}" if part.isdigit() else part for part in parts)


def case(name: str, scenario: Callable[[Portal], list[tuple[str, ...]]]) -> dict[str, Any]:
    """Run ``scenario`` on fresh sandboxes and fresh (moto) AWS resources."""
    from moto import mock_aws

    from local.aws import LocalAws

    with mock_aws():
        environment = LocalAws().create(
            billomat_secret={"api_key": "sandbox-dev-api-key"},
            webhook_secrets={},
            hubspot_token="bench-token",  # noqa: S106 - moto, not a secret
        )
        os.environ.update(environment)
        portal = Portal()
        steps = scenario(portal)
        rows = []
        for label, deal_id, *stage in steps:
            if stage:  # moved in HubSpot just before this step's event
                portal.hubspot.move_deal(deal_id, stage[0])
            _outcome, calls, hubspot_requests = portal.run(deal_id)
            rows.append(
                {"step": label, "billomat": len(calls), "hubspot": hubspot_requests, "calls": calls}
            )
    return {"case": name, "steps": rows}


def won_new_client(portal: Portal) -> list[tuple[str, ...]]:
    portal.warm_pipelines()
    return [("won (new client, no quote before)", portal.deal("closedwon"))]


def won_cold_container(portal: Portal) -> list[tuple[str, ...]]:
    return [("won, new client, cold container", portal.deal("closedwon"))]


def won_known_client(portal: Portal) -> list[tuple[str, ...]]:
    portal.warm_pipelines()
    company = portal.hubspot.add_company("Muster Digital GmbH", city="Berlin")
    first = portal.deal("closedwon", company=company)
    portal.run(first)  # the company's first deal: its client is known from now on
    return [("won (client known from an earlier deal)", portal.deal("closedwon", company=company))]


def won_client_in_billomat(portal: Portal) -> list[tuple[str, ...]]:
    from autopilot.billomat import ClientDraft
    from local.sandbox_client import sandbox_client

    portal.warm_pipelines()
    sandbox_client(portal.billomat).create_client(
        ClientDraft(name="Muster Digital GmbH", email="erika@muster-digital.example")
    )
    return [("won (client already in Billomat, found by name + e-mail)", portal.deal("closedwon"))]


def quote_then_won(portal: Portal) -> list[tuple[str, ...]]:
    portal.warm_pipelines()
    deal_id = portal.deal("contractsent")
    return [("quote (new client)", deal_id), ("won after the quote", deal_id, "closedwon")]


def main() -> int:
    from local.aws import use_fake_aws_environment

    use_fake_aws_environment()
    os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "Bench")
    os.environ["POWERTOOLS_LOG_LEVEL"] = "ERROR"
    import logging

    logging.disable(logging.CRITICAL)
    os.environ["BILLOMAT_BASE_URL"] = "http://billomat.sandbox/api/"
    results = [
        case("won deal, new client", won_new_client),
        case("won deal, cold container", won_cold_container),
        case("won deal, known client", won_known_client),
        case("won deal, client in Billomat", won_client_in_billomat),
        case("quote then won", quote_then_won),
    ]
    print("Requests per HubSpot deal (deal_invoice worker, in-process sandboxes):")
    for result in results:
        for step in result["steps"]:
            counted = Counter(step["calls"])
            detail = ", ".join(f"{call}×{n}" if n > 1 else call for call, n in counted.items())
            print(
                f"  {step['step']:<58} Billomat {step['billomat']:>2}  "
                f"HubSpot {step['hubspot']:>2}   [{detail}]"
            )
    first = results[0]["steps"][0]
    print(
        f"won deal with a new client: {first['billomat']} Billomat requests (target <= 10), "
        f"{first['hubspot']} HubSpot requests with the pipelines cached (target <= 5)"
    )
    if os.environ.get("BENCH_JSON"):
        print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
