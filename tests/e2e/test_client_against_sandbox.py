"""The layer's Billomat client against the sandbox: quirks, errors and the rate limit end to end."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from autopilot.billomat import (
    BillomatAuthError,
    BillomatClient,
    BillomatNotFoundError,
    BillomatRateLimitedError,
    BillomatUnavailableError,
    BillomatValidationError,
    ClientDraft,
    InvoiceDraft,
    InvoiceItemDraft,
    InvoiceStatus,
    PaymentType,
    ReminderDraft,
)
from local.billomat_sandbox import DEV_API_KEY, BillomatSandbox, SandboxClock
from local.sandbox_client import sandbox_client

START = datetime(2026, 11, 25, 9, 0, 30, tzinfo=UTC)


def connect(sandbox: BillomatSandbox, key: str = DEV_API_KEY) -> BillomatClient:
    return sandbox_client(sandbox, key)


@pytest.fixture
def sandbox() -> BillomatSandbox:
    return BillomatSandbox(api_key=DEV_API_KEY, clock=SandboxClock(START), strict=True)


def test_one_hit_zero_hits_and_many_hits_all_come_back_as_lists(sandbox: BillomatSandbox) -> None:
    billomat = connect(sandbox)
    assert list(billomat.iter_clients(name="nobody")) == []
    billomat.create_client(ClientDraft(name="Alpha GmbH", email="a@example.de"))
    assert [c.name for c in billomat.iter_clients(name="alpha")] == ["Alpha GmbH"]
    billomat.create_client(ClientDraft(name="Alphabet AG", email="b@example.de"))
    assert len(list(billomat.iter_clients(name="alpha"))) == 2


def test_exact_email_match_ignores_substring_hits(sandbox: BillomatSandbox) -> None:
    billomat = connect(sandbox)
    billomat.create_client(ClientDraft(name="Evil", email="amax@example.de.evil.com"))
    assert billomat.find_client_by_email("max@example.de") is None
    made = billomat.create_client(ClientDraft(name="Max", email="Max@Example.de"))
    found = billomat.find_client_by_email("max@example.de")
    assert found is not None
    assert found.id == made.id


def test_invoice_life_cycle_with_decimal_amounts(sandbox: BillomatSandbox) -> None:
    billomat = connect(sandbox)
    client = billomat.create_client(ClientDraft(name="Kunde", email="k@example.de"))
    invoice = billomat.create_invoice(
        InvoiceDraft(
            client_id=client.id,
            net_gross="GROSS",
            customfield="test:order:1",
            items=[
                InvoiceItemDraft(
                    title="A", quantity=Decimal(3), unit_price=Decimal("9.99"), tax_rate=Decimal(19)
                ),
                InvoiceItemDraft(
                    title="B", quantity=Decimal(1), unit_price=Decimal("4.28"), tax_rate=Decimal(7)
                ),
            ],
        )
    )
    assert invoice.status is InvoiceStatus.DRAFT
    assert invoice.total_gross == Decimal("34.25")
    billomat.complete_invoice(invoice.id)
    billomat.complete_invoice(invoice.id)  # a retried action that already happened is fine
    assert billomat.invoice_pdf(invoice.id).startswith(b"%PDF")
    [found] = billomat.find_invoices_by_customfield("test:order:1")
    assert found.invoice_number == "RE1"
    billomat.book_payment(invoice.id, Decimal("34.25"), type=PaymentType.BANK_TRANSFER)
    paid = billomat.get_invoice(invoice.id)
    assert (paid.status, paid.open_amount) == (InvoiceStatus.PAID, Decimal(0))


def test_errors_are_mapped(sandbox: BillomatSandbox) -> None:
    billomat = connect(sandbox)
    with pytest.raises(BillomatNotFoundError):
        billomat.get_invoice(424242)
    with pytest.raises(BillomatValidationError) as invalid:
        billomat.create_invoice(InvoiceDraft(client_id=999999))
    assert invalid.value.messages
    with pytest.raises(BillomatAuthError) as denied:
        connect(sandbox, key="wrong-key").list_taxes()
    assert "wrong-key" not in str(denied.value)


def test_reminder_takes_no_level_and_billomat_assigns_it(sandbox: BillomatSandbox) -> None:
    billomat = connect(sandbox)
    client = billomat.create_client(ClientDraft(name="Spät", email="s@example.de"))
    invoice = billomat.create_invoice(
        InvoiceDraft(
            client_id=client.id,
            date=START.date().replace(month=9),
            due_days=14,
            items=[InvoiceItemDraft(title="X", quantity=Decimal(1), unit_price=Decimal(100))],
        )
    )
    billomat.complete_invoice(invoice.id)
    reminder = billomat.create_reminder(ReminderDraft(invoice_id=invoice.id))
    assert reminder.reminder_level == 1


def test_server_errors_on_reads_are_retried(sandbox: BillomatSandbox) -> None:
    billomat = connect(sandbox)
    sandbox.faults.add("GET", "taxes", "server_error", times=2)
    assert len(billomat.list_taxes()) >= 3


def test_a_create_that_may_have_committed_is_not_resent(sandbox: BillomatSandbox) -> None:
    billomat = connect(sandbox)
    sandbox.faults.add("POST", "clients", "commit_then_fail")
    with pytest.raises(BillomatUnavailableError) as failed:
        billomat.create_client(ClientDraft(name="Once", email="once@example.de"))
    assert failed.value.may_have_committed
    assert len(sandbox.snapshot()["clients"]) == 1


def test_spent_rate_limit_waits_for_the_next_window_when_the_budget_allows(
    sandbox: BillomatSandbox,
) -> None:
    sandbox.rate_limit = 5
    billomat = connect(sandbox)
    billomat.max_wait = 900
    started = sandbox.clock.epoch()
    for _ in range(7):
        billomat.list_taxes()
    assert sandbox.clock.epoch() - started >= 14 * 60  # waited (simulated) for the reset
    assert billomat.rate_limit_remaining is not None


def test_spent_rate_limit_raises_a_retryable_error_when_the_wait_does_not_fit(
    sandbox: BillomatSandbox,
) -> None:
    sandbox.rate_limit = 3
    billomat = connect(sandbox)
    billomat.time_budget = lambda: 30.0
    for _ in range(3):
        billomat.list_taxes()
    sent = sandbox.request_count
    with pytest.raises(BillomatRateLimitedError) as limited:
        billomat.list_taxes()
    assert limited.value.retryable
    assert 0 < limited.value.retry_after <= 900
    assert sandbox.request_count == sent  # known to be spent: nothing was sent
