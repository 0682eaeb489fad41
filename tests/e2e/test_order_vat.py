"""Cross-border VAT on shop order invoices (issue #12): through the intake, the queue and the
worker, against the Billomat sandbox and moto — reverse charge, OSS, export, § 19 small
business, and every order whose VAT does not add up held as a draft for accounting."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import boto3
import pytest

from .conftest import Billomat, Stack, clear_container_caches
from .test_order_invoice import (
    EVENTS,
    REGION,
    deliver,
    drain,
    receive,
    records,
    run_worker,
)

pytestmark = pytest.mark.usefixtures("immediate_requeue", "sandbox_retry_clock")

AT_B2C = EVENTS / "shopify/order-paid-at-b2c-oss.json"
NL_B2B = EVENTS / "shopify/order-paid-nl-b2b-reverse-charge.json"
CH_EXPORT = EVENTS / "shopify/order-paid-ch-export.json"
DE_B2C = EVENTS / "shopify/order-paid-b2c-taxes-included.json"
WOO_PAYPAL = EVENTS / "woocommerce/order-processing-paypal.json"
SELLER_VAT_ID = "DE999999999"
BUYER_VAT_ID = "NL123456789B01"

Spec = dict[str, Any]


def configure(monkeypatch: pytest.MonkeyPatch, **environment: str) -> None:
    """Set the worker's VAT settings (environment names) as a new container would read them."""
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    clear_container_caches()


@pytest.fixture(autouse=True)
def _seller(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> None:
    """A seller with a VAT ID, registered for OSS, not a small business (tests change it)."""
    configure(monkeypatch, SELLER_VAT_ID=SELLER_VAT_ID, USES_OSS="true", SMALL_BUSINESS="false")


def checkpoint(stack: Stack, reference: str) -> dict[str, Any]:
    table = boto3.resource("dynamodb", region_name=REGION).Table(
        stack.environment["WORKFLOW_TABLE"]
    )
    item: dict[str, Any] = table.get_item(Key={"pk": f"order#{reference}", "sk": "invoice"}).get(
        "Item", {}
    )
    return item


def items_of(billomat: Billomat, invoice: dict[str, Any]) -> list[dict[str, Any]]:
    return [i for i in records(billomat, "invoice-items") if i["invoice_id"] == invoice["id"]]


def invoice_once(stack: Stack, billomat: Billomat, sample: Any, mutate: Any = None) -> dict:
    answer = deliver(sample, mutate)
    assert answer["status"] == "queued", answer
    drain(stack)
    [invoice] = records(billomat, "invoices")
    return invoice


def assert_held(
    stack: Stack,
    billomat: Billomat,
    inbox: Callable[[], list[str]],
    reference: str,
    reason: str,
) -> None:
    """The order's invoice is a draft, nothing was e-mailed or booked, accounting knows why."""
    [invoice] = records(billomat, "invoices")
    assert invoice["status"] == "DRAFT"
    assert not invoice.get("note")
    assert billomat.sandbox.sent_emails == []
    assert records(billomat, "invoice-payments") == []
    assert checkpoint(stack, reference)["review"] == "vat_hold"
    notices = inbox()
    assert any("Umsatzsteuer" in n and reason in n for n in notices), notices


# -- reverse charge --------------------------------------------------------------------------


def test_reverse_charge_order_gets_both_vat_ids_a_no_tax_client_and_zero_rate_positions(
    stack: Stack, billomat: Billomat
) -> None:
    invoice = invoice_once(stack, billomat, NL_B2B)
    [client] = records(billomat, "clients")
    assert (client["name"], client["vat_number"], client["tax_rule"]) == (
        "Bakkerij Jansen B.V.",
        BUYER_VAT_ID,
        "NO_TAX",
    )
    assert {item["tax_rate"] for item in items_of(billomat, invoice)} == {Decimal(0)}
    assert (invoice["total_net"], invoice["total_gross"]) == (Decimal("255.00"), Decimal("255.00"))
    assert invoice["status"] == "PAID"
    note = invoice["note"]
    assert "Reverse charge" in note  # a Dutch client reads English
    assert f"Customer's VAT ID: {BUYER_VAT_ID}" in note
    assert f"Our VAT ID: {SELLER_VAT_ID}" in note
    [mail] = billomat.sandbox.sent_emails
    assert mail.to == ["inkoop@bakkerij-jansen.example"]
    # kept for the order's credit notes, which carry the same note
    reference = invoice["customfield"]
    assert checkpoint(stack, reference)["vat_note"] in note


def test_reverse_charge_order_of_a_new_customer_costs_eight_billomat_requests(
    stack: Stack, billomat: Billomat
) -> None:
    deliver(NL_B2B)
    run_worker(stack)
    sent = [(r.method, r.path.removeprefix("/api/")) for r in billomat.sandbox.requests]
    client_id = records(billomat, "clients")[0]["id"]
    invoice_id = records(billomat, "invoices")[0]["id"]
    assert sent == [
        ("GET", "clients"),  # by e-mail
        ("POST", "clients"),
        ("PUT", f"clients/{client_id}"),  # the VAT number: a new client cannot be told apart
        ("POST", "invoices"),
        ("PUT", f"invoices/{invoice_id}"),  # the note, after Billomat's own closing text
        ("PUT", f"invoices/{invoice_id}/complete"),
        ("POST", f"invoices/{invoice_id}/email"),
        ("POST", "invoice-payments"),
    ]


def test_known_client_without_vat_number_gets_it_once(stack: Stack, billomat: Billomat) -> None:
    from autopilot.billomat import ClientDraft

    known = billomat.client.create_client(
        ClientDraft(name="Bakkerij Jansen B.V.", email="inkoop@bakkerij-jansen.example")
    )
    deliver(NL_B2B)
    run_worker(stack)
    [client] = records(billomat, "clients")
    assert (client["id"], client["vat_number"]) == (known.id, BUYER_VAT_ID)

    before = billomat.sandbox.request_count
    deliver(NL_B2B, lambda spec: spec["body"].update(id=2, name="#2012"))
    run_worker(stack)
    # Returning customer: create, note, complete, e-mail, payment — no client request.
    assert billomat.sandbox.request_count - before == 5
    assert len(records(billomat, "invoices")) == 2


def test_woocommerce_reverse_charge_from_plugin_meta_data(stack: Stack, billomat: Billomat) -> None:
    def austrian_business(spec: Spec) -> None:
        body = spec["body"]
        body["billing"].update(company="Wiener Kaffeehaus GmbH", country="AT")
        body["meta_data"] = [
            {"id": 1, "key": "_billing_vat_id", "value": "ATU12345678"},
            {"id": 2, "key": "is_vat_exempt", "value": "yes"},
        ]
        for line in body["line_items"]:
            line.update(subtotal_tax="0.00", total_tax="0.00", taxes=[])
        for line in body["shipping_lines"]:
            line.update(total_tax="0.00", taxes=[])
        body.update(tax_lines=[], total_tax="0.00", shipping_tax="0.00", prices_include_tax=False)
        body["total"] = str(
            sum(Decimal(line["total"]) for line in body["line_items"] + body["shipping_lines"])
        )
        spec["headers"]["X-WC-Webhook-Delivery-ID"] = "vat-test-1"

    invoice = invoice_once(stack, billomat, WOO_PAYPAL, austrian_business)
    [client] = records(billomat, "clients")
    assert client["vat_number"] == "ATU12345678"
    assert invoice["status"] == "PAID"
    assert "Steuerschuldnerschaft des Leistungsempfängers (Reverse Charge)" in invoice["note"]
    assert "USt-IdNr. des Leistungsempfängers: ATU12345678" in invoice["note"]  # German: AT


# -- OSS, export, small business -------------------------------------------------------------


def test_oss_order_keeps_the_austrian_rates(stack: Stack, billomat: Billomat) -> None:
    invoice = invoice_once(stack, billomat, AT_B2C)
    rates = sorted(item["tax_rate"] for item in items_of(billomat, invoice))
    assert rates == [Decimal(10), Decimal(20), Decimal(20)]
    assert invoice["total_gross"] == Decimal("57.70")
    assert invoice["status"] == "PAID"
    assert not invoice.get("note")
    [client] = records(billomat, "clients")
    assert (client["country_code"], client["tax_rule"], client.get("vat_number")) == (
        "AT",
        "TAX",
        None,
    )
    assert len(billomat.sandbox.sent_emails) == 1


def test_export_order_gets_the_tax_free_export_note(stack: Stack, billomat: Billomat) -> None:
    invoice = invoice_once(stack, billomat, CH_EXPORT)
    assert invoice["note"] == "Steuerfreie Ausfuhrlieferung (§ 4 Nr. 1a UStG)."  # Swiss: German
    assert {item["tax_rate"] for item in items_of(billomat, invoice)} == {Decimal(0)}
    assert invoice["total_gross"] == Decimal("57.46")
    assert records(billomat, "clients")[0]["tax_rule"] == "NO_TAX"
    assert len(billomat.sandbox.sent_emails) == 1


def _without_vat(spec: Spec) -> None:
    body = spec["body"]
    body["total_tax"] = "0.00"
    for line in body["line_items"] + body["shipping_lines"]:
        line["tax_lines"] = []


def test_small_business_order_gets_the_section_19_note(
    stack: Stack, billomat: Billomat, monkeypatch: pytest.MonkeyPatch
) -> None:
    configure(monkeypatch, SMALL_BUSINESS="true", USES_OSS="false")
    invoice = invoice_once(stack, billomat, DE_B2C, _without_vat)
    assert invoice["note"] == "Gemäß § 19 UStG wird keine Umsatzsteuer berechnet."
    assert invoice["total_gross"] == Decimal("123.89")
    assert invoice["status"] == "PAID"


def test_the_vat_note_follows_billomats_own_closing_text(
    stack: Stack, billomat: Billomat, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Billomat fills an invoice's note from its settings when none is sent: the VAT note is
    # appended, the seller's text stays.
    from autopilot.billomat import BillomatClient

    real_create = BillomatClient.create_invoice

    def with_default_note(self: BillomatClient, draft: Any) -> Any:
        return real_create(self, draft.model_copy(update={"note": "Vielen Dank!"}))

    monkeypatch.setattr(BillomatClient, "create_invoice", with_default_note)
    invoice = invoice_once(stack, billomat, CH_EXPORT)
    assert invoice["note"] == "Vielen Dank!\n\nSteuerfreie Ausfuhrlieferung (§ 4 Nr. 1a UStG)."


# -- holds -----------------------------------------------------------------------------------


def _austrian_consumer(spec: Spec) -> None:
    spec["body"]["billing_address"]["country_code"] = "AT"


def _no_vat_id(spec: Spec) -> None:
    spec["body"]["note_attributes"] = []
    spec["body"]["customer"]["tax_exemptions"] = []


def _vat_charged(spec: Spec) -> None:
    body = spec["body"]
    for line in body["line_items"]:
        tax = Decimal(line["price"]) * line["quantity"] * Decimal("0.21")
        line["tax_lines"] = [{"title": "BTW", "rate": 0.21, "price": f"{tax:.2f}"}]
    for line in body["shipping_lines"]:
        tax = Decimal(line["price"]) * Decimal("0.21")
        line["tax_lines"] = [{"title": "BTW", "rate": 0.21, "price": f"{tax:.2f}"}]
    body.update(total_tax="53.55", total_price="308.55")


def _german_consumer_without_vat(spec: Spec) -> None:
    _without_vat(spec)


HOLDS = {
    "zero VAT to an EU consumer": (CH_EXPORT, _austrian_consumer, {}, "Verbraucher in Österreich"),
    "zero VAT to an EU business without a VAT ID": (
        NL_B2B,
        _no_vat_id,
        {},
        "an ein Unternehmen in den Niederlanden (NL) ohne USt-IdNr.",
    ),
    "VAT charged despite a valid VAT ID and the exemption": (
        NL_B2B,
        _vat_charged,
        {},
        "Reverse-Charge-Befreiung",
    ),
    "reverse charge without SELLER_VAT_ID": (NL_B2B, None, {"SELLER_VAT_ID": ""}, "SELLER_VAT_ID"),
    "Austrian rates without OSS": (AT_B2C, None, {"USES_OSS": "false"}, "ohne OSS"),
    "small business charging VAT": (
        DE_B2C,
        None,
        {"SMALL_BUSINESS": "true", "USES_OSS": "false"},
        "Kleinunternehmer",
    ),
    "zero VAT to a German consumer": (DE_B2C, _german_consumer_without_vat, {}, "Inlandslieferung"),
}


@pytest.mark.parametrize("case", list(HOLDS))
def test_vat_that_does_not_add_up_is_held_as_a_draft_and_accounting_is_told(
    case: str,
    stack: Stack,
    billomat: Billomat,
    monkeypatch: pytest.MonkeyPatch,
    accounting_inbox: Callable[[], list[str]],
) -> None:
    sample, mutate, environment, reason = HOLDS[case]
    configure(monkeypatch, **environment)
    answer = deliver(sample, mutate)
    assert answer["status"] == "queued", answer
    drain(stack)
    assert_held(stack, billomat, accounting_inbox, answer["order"], reason)


def test_held_order_redelivered_stays_held_and_tells_accounting_once(
    stack: Stack,
    billomat: Billomat,
    accounting_inbox: Callable[[], list[str]],
) -> None:
    answer = deliver(NL_B2B, _no_vat_id)
    [message] = receive(stack)
    run_worker(stack, [message])
    assert_held(stack, billomat, accounting_inbox, answer["order"], "ohne USt-IdNr.")
    boto3.resource("dynamodb", region_name=REGION).Table(
        stack.environment["IDEMPOTENCY_TABLE"]
    ).delete_item(Key={"id": _idempotency_id(stack)})
    before = billomat.sandbox.request_count
    run_worker(stack, [message])  # redelivered after its idempotency record expired
    assert billomat.sandbox.request_count == before
    assert len(records(billomat, "invoices")) == 1
    assert billomat.sandbox.sent_emails == []
    assert accounting_inbox() == []


def _idempotency_id(stack: Stack) -> str:
    table = boto3.resource("dynamodb", region_name=REGION).Table(
        stack.environment["IDEMPOTENCY_TABLE"]
    )
    [found] = [item["id"] for item in table.scan()["Items"] if "order_invoice" in item["id"]]
    return str(found)


# -- exactly once ----------------------------------------------------------------------------


def test_redelivered_reverse_charge_order_bills_and_notes_once(
    stack: Stack, billomat: Billomat
) -> None:
    deliver(NL_B2B)
    assert deliver(NL_B2B)["status"] == "duplicate"
    [message] = receive(stack)
    run_worker(stack, [message])
    boto3.resource("dynamodb", region_name=REGION).Table(
        stack.environment["IDEMPOTENCY_TABLE"]
    ).delete_item(Key={"id": _idempotency_id(stack)})
    run_worker(stack, [message])
    [invoice] = records(billomat, "invoices")
    assert invoice["note"].count("Reverse charge") == 1
    assert len(billomat.sandbox.sent_emails) == 1
    assert len(records(billomat, "invoice-payments")) == 1
    assert len(records(billomat, "clients")) == 1


@pytest.mark.parametrize("kind", ["commit_then_fail", "server_error", "rate_limit"])
def test_a_failed_note_is_written_once_on_the_retry(
    stack: Stack, billomat: Billomat, kind: str
) -> None:
    billomat.sandbox.faults.add("PUT", "invoices/*", kind)
    deliver(CH_EXPORT)
    drain(stack, billomat=billomat)
    [invoice] = records(billomat, "invoices")
    assert invoice["note"] == "Steuerfreie Ausfuhrlieferung (§ 4 Nr. 1a UStG)."
    assert invoice["status"] == "PAID"
    assert len(billomat.sandbox.sent_emails) == 1


@pytest.mark.parametrize("kind", ["commit_then_fail", "server_error"])
def test_a_failed_client_vat_number_update_is_retried(
    stack: Stack, billomat: Billomat, kind: str
) -> None:
    billomat.sandbox.faults.add("PUT", "clients/*", kind)
    deliver(NL_B2B)
    drain(stack, billomat=billomat)
    [client] = records(billomat, "clients")
    assert client["vat_number"] == BUYER_VAT_ID
    [invoice] = records(billomat, "invoices")
    assert invoice["status"] == "PAID"
    assert len(billomat.sandbox.sent_emails) == 1
