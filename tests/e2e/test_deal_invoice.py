"""HubSpot deals become one offer and at most one invoice each: through the intake, the deals
queue and the worker, against the HubSpot and Billomat sandboxes and moto — quote → won, won
directly, lost, a custom pipeline, duplicates, out-of-order events, concurrency, faults on every
step and a refused HubSpot token."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import boto3
import pytest

from local.dev_settings import DEV_WEBHOOK_SECRETS
from local.lambda_events import LocalLambdaContext, http_api_event
from local.sample_events import signed_headers

from .conftest import Billomat, Stack, drain_queue, receive_from, run_queue_worker

REGION = "eu-central-1"
ROUTE = "/webhooks/hubspot/deals"
PUBLIC_BASE_URL = "http://127.0.0.1:3000"


class HubSpot:
    """The HubSpot sandbox on the Billomat sandbox's clock, and the layer's client on it."""

    def __init__(self, sandbox: Any, client: Any) -> None:
        self.sandbox = sandbox
        self.client = client

    def demo_deal(self, stage: str = "contractsent", **overrides: Any) -> str:
        sb = self.sandbox
        company = sb.add_company(
            "Muster Digital GmbH",
            address="Friedrichstraße 12",
            zip="10117",
            city="Berlin",
            country="Deutschland",
        )
        contact = sb.add_contact("Erika", "Musterfrau", "erika@muster-digital.example")
        items = [
            sb.add_line_item("Konzeption", 2, "1200.00", sku="WEB-KONZ"),
            sb.add_line_item("Umsetzung", 40, "95.00", sku="WEB-DEV", discount_percentage=10),
        ]
        values: dict[str, Any] = {
            "amount": "5820.00",
            "stage": stage,
            "company": company,
            "contacts": [contact],
            "line_items": items,
        }
        values.update(overrides)
        deal_id: str = sb.add_deal("Website-Relaunch", **values)
        return deal_id


@pytest.fixture
def hubspot(stack: Stack, billomat: Billomat) -> Iterator[HubSpot]:
    from autopilot.hubspot import HubSpotClient
    from autopilot.hubspot.access import use_hubspot_client
    from local.hubspot_sandbox import DEV_ACCESS_TOKEN, HubSpotSandbox

    sandbox = HubSpotSandbox(clock=billomat.sandbox.clock)
    client = HubSpotClient(
        "https://api.hubapi.com/",
        DEV_ACCESS_TOKEN,
        transport=sandbox.transport(),
        sleep=billomat.sandbox.clock.sleep,
        now=billomat.sandbox.clock.epoch,
    )
    use_hubspot_client(client)
    try:
        yield HubSpot(sandbox, client)
    finally:
        use_hubspot_client(None)


pytestmark = pytest.mark.usefixtures("immediate_requeue", "sandbox_retry_clock")


def post_events(events: list[dict[str, Any]], *, secret: str | None = None) -> tuple[int, dict]:
    """POST HubSpot's webhook body to the intake, signed with the v3 scheme."""
    from webhooks.app import lambda_handler

    body = json.dumps(events, separators=(",", ":")).encode()
    secrets = dict(DEV_WEBHOOK_SECRETS)
    if secret is not None:
        secrets["HUBSPOT_CLIENT_SECRET"] = secret
    headers = signed_headers(
        "hubspot_v3",
        ROUTE,
        {"Content-Type": "application/json"},
        body,
        secrets,
        PUBLIC_BASE_URL,
        int(time.time()),
    )
    response = lambda_handler(
        http_api_event("POST", ROUTE, headers, body), LocalLambdaContext(function_name="webhooks")
    )
    return response["statusCode"], json.loads(response["body"] or "{}")


def deliver(*events: dict[str, Any]) -> dict:
    status, answer = post_events(list(events))
    assert status == 200, answer
    return answer


def receive(stack: Stack, queue: str = "deals") -> list[dict[str, Any]]:
    return receive_from(stack, queue)


def run_worker(stack: Stack, batch: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    from deal_invoice.app import lambda_handler

    return run_queue_worker(stack, "deals", lambda_handler, "deal_invoice", batch)


def drain(stack: Stack, billomat: Billomat, rounds: int = 12) -> None:
    """Run the worker until the deals queue is empty; simulated time moves 15 min per round."""
    drain_queue(stack, "deals", lambda: run_worker(stack), rounds, billomat.sandbox.clock)


def records(billomat: Billomat, resource: str) -> list[dict[str, Any]]:
    return billomat.sandbox.snapshot().get(resource, [])


def emails_to(billomat: Billomat, kind: str) -> list[Any]:
    return [e for e in billomat.sandbox.sent_emails if e.document_type == kind]


def assert_one_offer_and(billomat: Billomat, *, invoices: int, offer_status: str) -> None:
    offers = records(billomat, "offers")
    assert len(offers) == 1, offers
    assert offers[0]["status"] == offer_status
    assert len(records(billomat, "clients")) == 1
    assert len(records(billomat, "invoices")) == invoices


# -- the happy paths ----------------------------------------------------------------------------
def test_quote_then_won_makes_one_offer_one_invoice_and_writes_back(
    stack: Stack, billomat: Billomat, hubspot: HubSpot
) -> None:
    deal_id = hubspot.demo_deal("contractsent")
    deliver(hubspot.sandbox.deal_event(deal_id))
    drain(stack, billomat)

    (offer,) = records(billomat, "offers")
    assert offer["status"] == "OPEN"
    assert offer["customfield"] == f"hubspot:4711000:deal:{deal_id}"
    assert offer["total_net"] == Decimal("5820.00")
    assert offer["total_gross"] == Decimal("6925.80")
    items = [i for i in records(billomat, "offer-items") if i["offer_id"] == offer["id"]]
    assert [(i["title"], i["quantity"], i["reduction"]) for i in items] == [
        ("Konzeption", Decimal(2), None),
        ("Umsetzung", Decimal(40), "10%"),
    ]
    assert "Artikel-Nr. WEB-KONZ" in items[0]["description"]
    (client,) = records(billomat, "clients")
    assert (client["name"], client["country_code"], client["email"]) == (
        "Muster Digital GmbH",
        "DE",
        "erika@muster-digital.example",
    )
    assert client["customfield"].startswith("hubspot:4711000:company:")
    (offer_email,) = emails_to(billomat, "offer")
    assert offer_email.to == ["erika@muster-digital.example"]
    assert hubspot.sandbox.deal(deal_id)["billomat_offer_number"] == offer["offer_number"]
    assert records(billomat, "invoices") == []

    deliver(hubspot.sandbox.move_deal(deal_id, "closedwon"))
    drain(stack, billomat)

    assert_one_offer_and(billomat, invoices=1, offer_status="CLEARED")
    (invoice,) = records(billomat, "invoices")
    assert invoice["offer_id"] == offer["id"]
    assert invoice["client_id"] == client["id"]
    assert invoice["status"] == "OPEN"
    assert invoice["total_gross"] == offer["total_gross"]
    invoice_items = [
        i for i in records(billomat, "invoice-items") if i["invoice_id"] == invoice["id"]
    ]
    assert [
        (i["title"], i["quantity"], i["unit_price"], i["reduction"]) for i in invoice_items
    ] == [(i["title"], i["quantity"], i["unit_price"], i["reduction"]) for i in items]
    (invoice_email,) = emails_to(billomat, "invoice")
    assert invoice_email.to == ["erika@muster-digital.example"]
    written = hubspot.sandbox.deal(deal_id)
    assert written["billomat_invoice_number"] == invoice["invoice_number"]
    assert written["billomat_link"]


def test_a_deal_won_without_a_quote_gets_its_offer_made_won_and_billed(
    stack: Stack, billomat: Billomat, hubspot: HubSpot
) -> None:
    deal_id = hubspot.demo_deal("closedwon")
    deliver(hubspot.sandbox.deal_event(deal_id))
    drain(stack, billomat)
    assert_one_offer_and(billomat, invoices=1, offer_status="CLEARED")
    assert emails_to(billomat, "offer") == []  # the customer gets the invoice, not a late quote
    assert len(emails_to(billomat, "invoice")) == 1


def test_won_deal_with_a_new_client_stays_within_the_request_budget(
    stack: Stack, billomat: Billomat, hubspot: HubSpot
) -> None:
    from deal_invoice.app import pipelines

    deal_id = hubspot.demo_deal("closedwon")
    deliver(hubspot.sandbox.deal_event(deal_id))
    pipelines().pipelines()  # cached, as in a warm container
    hubspot.sandbox.clear_journal()
    before = len(billomat.sandbox.requests)
    drain(stack, billomat)
    billomat_requests = len(billomat.sandbox.requests) - before
    assert hubspot.sandbox.request_count <= 5
    assert billomat_requests <= 11, [r.path for r in billomat.sandbox.requests[before:]]


def test_lost_after_the_quote_marks_the_offer_lost_and_bills_nothing(
    stack: Stack, billomat: Billomat, hubspot: HubSpot
) -> None:
    deal_id = hubspot.demo_deal("contractsent")
    deliver(hubspot.sandbox.deal_event(deal_id))
    drain(stack, billomat)
    deliver(hubspot.sandbox.move_deal(deal_id, "closedlost"))
    drain(stack, billomat)
    assert_one_offer_and(billomat, invoices=0, offer_status="LOST")


def test_a_deal_in_an_early_stage_changes_nothing_in_billomat(
    stack: Stack, billomat: Billomat, hubspot: HubSpot
) -> None:
    deal_id = hubspot.demo_deal("appointmentscheduled")
    deliver(hubspot.sandbox.deal_event(deal_id))
    before = len(billomat.sandbox.requests)
    drain(stack, billomat)
    assert len(billomat.sandbox.requests) == before


def test_custom_pipeline_with_numeric_stage_ids_and_a_quote_stage_by_label(
    stack: Stack, billomat: Billomat, hubspot: HubSpot, monkeypatch: pytest.MonkeyPatch
) -> None:
    from local.containers import clear_container_caches

    monkeypatch.setenv("DEAL_QUOTE_STAGES", "Angebot verschickt")
    clear_container_caches()
    deal_id = hubspot.demo_deal("1002", pipeline="31415926")
    deliver(hubspot.sandbox.deal_event(deal_id))
    drain(stack, billomat)
    assert_one_offer_and(billomat, invoices=0, offer_status="OPEN")
    deliver(hubspot.sandbox.move_deal(deal_id, "1003"))
    drain(stack, billomat)
    assert_one_offer_and(billomat, invoices=1, offer_status="CLEARED")


def test_a_deal_without_line_items_is_quoted_from_its_name_and_amount(
    stack: Stack, billomat: Billomat, hubspot: HubSpot
) -> None:
    deal_id = hubspot.demo_deal("contractsent", line_items=[], amount="1500")
    deliver(hubspot.sandbox.deal_event(deal_id))
    drain(stack, billomat)
    (offer,) = records(billomat, "offers")
    assert offer["total_net"] == Decimal("1500.00")
    (item,) = records(billomat, "offer-items")
    assert item["title"] == "Website-Relaunch"


# -- exactly once ---------------------------------------------------------------------------
def test_duplicates_late_events_and_won_reopened_won_bill_once(
    stack: Stack, billomat: Billomat, hubspot: HubSpot
) -> None:
    deal_id = hubspot.demo_deal("contractsent")
    quote_event = hubspot.sandbox.deal_event(deal_id)
    deliver(quote_event)
    deliver(quote_event)  # HubSpot's retry of the same delivery
    drain(stack, billomat)
    won_event = hubspot.sandbox.move_deal(deal_id, "closedwon")
    deliver(won_event)
    drain(stack, billomat)
    deliver(quote_event | {"eventId": 999_001})  # the old stage, arriving late
    deliver(hubspot.sandbox.move_deal(deal_id, "contractsent"))  # reopened
    drain(stack, billomat)
    deliver(hubspot.sandbox.move_deal(deal_id, "closedwon"))  # won again
    drain(stack, billomat)
    assert_one_offer_and(billomat, invoices=1, offer_status="CLEARED")
    assert len(emails_to(billomat, "offer")) == 1
    assert len(emails_to(billomat, "invoice")) == 1


def test_the_same_sqs_message_delivered_twice_bills_once(
    stack: Stack, billomat: Billomat, hubspot: HubSpot
) -> None:
    deal_id = hubspot.demo_deal("closedwon")
    deliver(hubspot.sandbox.deal_event(deal_id))
    (message,) = receive(stack)
    run_worker(stack, [message])
    run_worker(stack, [message])  # SQS at-least-once
    assert_one_offer_and(billomat, invoices=1, offer_status="CLEARED")


@pytest.mark.usefixtures("atomic_aws_calls")
def test_concurrent_events_of_one_deal_take_turns(
    stack: Stack, billomat: Billomat, hubspot: HubSpot
) -> None:
    deal_id = hubspot.demo_deal("closedwon")
    deliver(hubspot.sandbox.deal_event(deal_id))
    deliver(hubspot.sandbox.deal_event(deal_id))  # a second event: another message
    batch = receive(stack)
    assert len(batch) == 2
    threads = [threading.Thread(target=run_worker, args=(stack, [m])) for m in batch]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    drain(stack, billomat)
    assert_one_offer_and(billomat, invoices=1, offer_status="CLEARED")
    assert len(emails_to(billomat, "invoice")) == 1


# -- faults on every step ---------------------------------------------------------------------
BILLOMAT_STEPS = [
    ("POST", "clients"),
    ("POST", "offers"),
    ("PUT", "offers/*/complete"),
    ("PUT", "offers/*/win"),
    ("POST", "invoices"),
    ("PUT", "invoices/*/complete"),
    ("POST", "invoices/*/email"),
    ("PUT", "offers/*/clear"),
]


@pytest.mark.parametrize(("method", "path"), BILLOMAT_STEPS)
@pytest.mark.parametrize("kind", ["commit_then_fail", "commit_then_timeout", "server_error"])
def test_a_billomat_fault_on_any_step_never_duplicates(
    stack: Stack, billomat: Billomat, hubspot: HubSpot, method: str, path: str, kind: str
) -> None:
    deal_id = hubspot.demo_deal("closedwon")
    billomat.sandbox.faults.add(method, path, kind)
    deliver(hubspot.sandbox.deal_event(deal_id))
    drain(stack, billomat)
    assert_one_offer_and(billomat, invoices=1, offer_status="CLEARED")
    sent = len(emails_to(billomat, "invoice"))
    if path.endswith("/email"):
        # an e-mail attempt with an unknown outcome is never repeated (accounting is asked)
        assert sent == (1 if kind.startswith("commit") else 0)
    else:
        assert sent == 1


HUBSPOT_STEPS = [
    ("GET", "crm/v3/objects/deals/*"),
    ("GET", "crm/v3/pipelines/deals"),
    ("POST", "crm/v3/objects/line_items/batch/read"),
    ("GET", "crm/v3/objects/companies/*"),
    ("GET", "crm/v3/objects/contacts/*"),
    ("PATCH", "crm/v3/objects/deals/*"),
]


@pytest.mark.parametrize(("method", "path"), HUBSPOT_STEPS)
@pytest.mark.parametrize("kind", ["server_error", "timeout", "rate_limit"])
def test_a_hubspot_fault_on_any_step_is_retried_and_bills_once(
    stack: Stack, billomat: Billomat, hubspot: HubSpot, method: str, path: str, kind: str
) -> None:
    deal_id = hubspot.demo_deal("closedwon")
    hubspot.sandbox.faults.add(method, path, kind, times=3)
    deliver(hubspot.sandbox.deal_event(deal_id))
    drain(stack, billomat)
    assert_one_offer_and(billomat, invoices=1, offer_status="CLEARED")
    assert hubspot.sandbox.deal(deal_id)["billomat_invoice_number"]


def test_a_lost_patch_response_is_written_once_and_billing_continues(
    stack: Stack, billomat: Billomat, hubspot: HubSpot
) -> None:
    deal_id = hubspot.demo_deal("contractsent")
    hubspot.sandbox.faults.add("PATCH", "crm/v3/objects/deals/*", "commit_then_fail")
    deliver(hubspot.sandbox.deal_event(deal_id))
    drain(stack, billomat)
    assert_one_offer_and(billomat, invoices=0, offer_status="OPEN")
    assert hubspot.sandbox.deal(deal_id)["billomat_offer_number"]


def test_a_refused_hubspot_token_goes_to_the_dead_letter_queue_at_once(
    stack: Stack, billomat: Billomat, hubspot: HubSpot
) -> None:
    deal_id = hubspot.demo_deal("closedwon")
    hubspot.sandbox.faults.add("GET", "crm/v3/objects/deals/*", "unauthorized", times=100)
    deliver(hubspot.sandbox.deal_event(deal_id))
    result = run_worker(stack)
    assert result["batchItemFailures"] == []  # not retried in a loop
    assert receive(stack) == []
    dead = receive(stack, stack.aws.dead_letter_queue_urls["deals"])
    assert len(dead) == 1
    assert json.loads(dead[0]["Body"])["deal_id"] == int(deal_id)
    assert records(billomat, "offers") == []


def test_missing_write_back_properties_are_skipped_and_the_deal_is_still_billed(
    stack: Stack, billomat: Billomat, hubspot: HubSpot
) -> None:
    for name in ("billomat_offer_number", "billomat_invoice_number", "billomat_link"):
        hubspot.sandbox.undefine_deal_property(name)
    deal_id = hubspot.demo_deal("closedwon")
    deliver(hubspot.sandbox.deal_event(deal_id))
    drain(stack, billomat)
    assert_one_offer_and(billomat, invoices=1, offer_status="CLEARED")
    assert "billomat_offer_number" not in hubspot.sandbox.deal(deal_id)


def test_a_deal_without_company_or_contact_goes_to_accounting(
    stack: Stack,
    billomat: Billomat,
    hubspot: HubSpot,
    accounting_inbox: Callable[[], list[str]],
) -> None:
    deal_id = hubspot.demo_deal("contractsent", company=None, contacts=[])
    deliver(hubspot.sandbox.deal_event(deal_id))
    drain(stack, billomat)
    assert records(billomat, "offers") == []
    assert any("weder eine Firma noch einen Kontakt" in m for m in accounting_inbox())


def test_a_wrong_signature_is_refused_and_nothing_is_queued(
    stack: Stack, billomat: Billomat, hubspot: HubSpot
) -> None:
    deal_id = hubspot.demo_deal("closedwon")
    status, _ = post_events([hubspot.sandbox.deal_event(deal_id)], secret="not-the-secret")
    assert status == 401
    assert receive(stack) == []


def test_a_deal_deleted_since_its_event_is_acknowledged_and_bills_nothing(
    stack: Stack, billomat: Billomat, hubspot: HubSpot
) -> None:
    from autopilot.messages import DealMessage, message_body

    message = DealMessage(portal_id=4711000, deal_id=999_999, event_id=1, occurred_at=0)
    sqs = boto3.client("sqs", region_name=REGION)
    sqs.send_message(QueueUrl=stack.aws.queue_urls["deals"], MessageBody=message_body(message))
    assert run_worker(stack)["batchItemFailures"] == []
    assert receive(stack) == []
    assert records(billomat, "offers") == []
