"""Exactly once at the workers where the older suites left gaps: the same SQS message twice, and
Billomat committing a write whose answer is lost (``commit_then_fail``/``commit_then_timeout``),
each asserting one document and no second e-mail.

- deal_invoice: the quote stage (one offer, one offer e-mail) — the older fault matrix covers the
  won path only and never faults the offer's e-mail; the duplicate test counted no e-mails.
- refund_credit: the same message delivered twice never ran; the fault matrix counted no e-mails
  and had no ``commit_then_timeout``.
- article_sync is covered (``test_a_redelivered_message_writes_nothing_more``,
  ``test_a_billomat_fault_on_any_call_never_duplicates_an_article``); articles send no e-mail.
"""

from __future__ import annotations

from typing import Any

import pytest

from .conftest import Billomat, Stack
from .test_deal_invoice import HubSpot, deliver, drain, emails_to, receive, records, run_worker
from .test_deal_invoice import hubspot as hubspot  # the fixture
from .test_refunds import (
    ORDER_1001,
    REFUND_FULL,
    credit_notes,
    drain_refunds,
    invoice_order,
    run_refunds,
)
from .test_refunds import _no_sqs_delays as _no_sqs_delays  # autouse: retries at once
from .test_refunds import receive as receive_refunds

pytestmark = pytest.mark.usefixtures("immediate_requeue", "sandbox_retry_clock")


def run_refund_batch(stack: Stack, batch: list[dict[str, Any]]) -> None:
    from refund_credit.app import lambda_handler

    from local.lambda_events import LocalLambdaContext, sqs_event

    result = lambda_handler(
        sqs_event(stack.aws.queue_arns["refunds"], batch),
        LocalLambdaContext(function_name="refund_credit"),
    )
    assert result["batchItemFailures"] == []


# -- deal_invoice: the quote stage ---------------------------------------------------------------


def test_the_same_quote_message_twice_makes_one_offer_and_one_e_mail(
    stack: Stack, billomat: Billomat, hubspot: HubSpot
) -> None:
    deal_id = hubspot.demo_deal("contractsent")
    deliver(hubspot.sandbox.deal_event(deal_id))
    (message,) = receive(stack)
    run_worker(stack, [message])
    run_worker(stack, [message])  # SQS at-least-once: the same message again
    drain(stack, billomat)
    assert len(records(billomat, "offers")) == 1
    assert records(billomat, "invoices") == []
    assert len(emails_to(billomat, "offer")) == 1


def test_the_same_won_message_twice_sends_one_invoice_e_mail(
    stack: Stack, billomat: Billomat, hubspot: HubSpot
) -> None:
    deal_id = hubspot.demo_deal("closedwon")
    deliver(hubspot.sandbox.deal_event(deal_id))
    (message,) = receive(stack)
    run_worker(stack, [message])
    run_worker(stack, [message])
    assert len(records(billomat, "offers")) == 1
    assert len(records(billomat, "invoices")) == 1
    assert len(emails_to(billomat, "invoice")) == 1


@pytest.mark.parametrize(
    ("method", "path"),
    [("POST", "offers"), ("PUT", "offers/*/complete"), ("POST", "offers/*/email")],
)
@pytest.mark.parametrize("kind", ["commit_then_fail", "commit_then_timeout"])
def test_a_lost_answer_in_the_quote_stage_makes_one_offer_and_at_most_one_e_mail(
    stack: Stack, billomat: Billomat, hubspot: HubSpot, method: str, path: str, kind: str
) -> None:
    deal_id = hubspot.demo_deal("contractsent")
    billomat.sandbox.faults.add(method, path, kind)
    deliver(hubspot.sandbox.deal_event(deal_id))
    drain(stack, billomat)
    offers = records(billomat, "offers")
    assert len(offers) == 1, offers
    assert offers[0]["status"] != "DRAFT"
    assert records(billomat, "invoices") == []
    # the e-mail went out once (Billomat committed it); an attempt with an unknown outcome is
    # never repeated
    assert len(emails_to(billomat, "offer")) == 1


# -- refund_credit -------------------------------------------------------------------------------


def test_the_same_refund_message_twice_makes_one_credit_note_one_payment_one_e_mail(
    stack: Stack, billomat: Billomat
) -> None:
    invoice_order(stack, ORDER_1001)
    emails_before = len(billomat.sandbox.sent_emails)
    from .test_order_invoice import deliver as deliver_order

    assert deliver_order(REFUND_FULL)["status"] == "queued"
    (message,) = receive_refunds(stack)
    run_refund_batch(stack, [message])
    run_refund_batch(stack, [message])  # SQS at-least-once
    drain_refunds(stack)
    (note,) = credit_notes(billomat)
    assert note.status.value == "PAID"
    assert len(billomat.client.list_credit_note_payments(note.id)) == 1
    sent = billomat.sandbox.sent_emails[emails_before:]
    assert len(sent) == 1, sent
    assert len(emails_of_credit_notes(billomat)) == 1


def emails_of_credit_notes(billomat: Billomat) -> list[Any]:
    return [e for e in billomat.sandbox.sent_emails if "credit" in e.document_type]


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "credit-notes"),
        ("PUT", "credit-notes/*/complete"),
        ("POST", "credit-notes/*/email"),
        ("POST", "credit-note-payments"),
    ],
)
@pytest.mark.parametrize("kind", ["commit_then_fail", "commit_then_timeout"])
def test_a_lost_answer_on_each_credit_note_call_makes_one_note_and_one_e_mail(
    stack: Stack, billomat: Billomat, method: str, path: str, kind: str
) -> None:
    from .test_order_invoice import deliver as deliver_order

    invoice_order(stack, ORDER_1001)
    billomat.sandbox.faults.add(method, path, kind)
    deliver_order(REFUND_FULL)
    drain_refunds(stack)
    (note,) = credit_notes(billomat)
    assert note.status.value == "PAID"
    assert len(billomat.client.list_credit_note_payments(note.id)) == 1
    assert len(emails_of_credit_notes(billomat)) == 1
    assert run_refunds(stack) == {"batchItemFailures": []}  # nothing left to retry
