"""Issue #8 at the intake: identity from signed data, no lost delivery, no 5xx, no bad order.

One test (or a small family) per finding of the issue, through the real intake handler with
moto. The Hypothesis fuzz suite over every route is in ``test_intake_fuzz.py``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import boto3
import pytest

from autopilot.signatures import base64_hmac_sha256, timestamped_signature_header
from local.dev_settings import DEV_WEBHOOK_SECRETS
from local.lambda_events import LocalLambdaContext, http_api_event

from .conftest import Billomat, Stack, clear_container_caches, queued_messages

EVENTS = Path(__file__).resolve().parents[2] / "events"
SHOPIFY_PAID = EVENTS / "shopify/order-paid-b2c-discount.json"
WOO_PROCESSING = EVENTS / "woocommerce/order-processing-paypal.json"
BANK_FULL = EVENTS / "bank/bank-transfer-full-payment.json"
SHOPIFY_SECRET = DEV_WEBHOOK_SECRETS["SHOPIFY_WEBHOOK_SECRET"]
WOO_SECRET = DEV_WEBHOOK_SECRETS["WOOCOMMERCE_WEBHOOK_SECRET"]
BANK_SECRET = DEV_WEBHOOK_SECRETS["BANK_WEBHOOK_SECRET"]


def post(path: str, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, Any]]:
    from webhooks.app import lambda_handler

    event = http_api_event("POST", path, headers, body)
    response = lambda_handler(event, LocalLambdaContext(function_name="webhooks"))
    return response["statusCode"], json.loads(response["body"] or "{}")


def sample(path: Path) -> tuple[str, dict[str, str], dict[str, Any]]:
    spec = json.loads(path.read_text("utf-8"))
    return spec["route"], dict(spec["headers"]), spec["body"]


def shopify(
    body: dict[str, Any] | bytes | None = None, **headers: str
) -> tuple[int, dict[str, Any]]:
    """POST the Shopify sample (or ``body``), correctly signed, with header overrides."""
    route, sample_headers, sample_body = sample(SHOPIFY_PAID)
    raw = body if isinstance(body, bytes) else json.dumps(body or sample_body).encode()
    sample_headers["X-Shopify-Hmac-Sha256"] = base64_hmac_sha256(raw, SHOPIFY_SECRET)
    return post(route, {**sample_headers, **headers}, raw)


def woocommerce(
    body: dict[str, Any] | bytes | None = None, **headers: str
) -> tuple[int, dict[str, Any]]:
    route, sample_headers, sample_body = sample(WOO_PROCESSING)
    raw = body if isinstance(body, bytes) else json.dumps(body or sample_body).encode()
    sample_headers["X-WC-Webhook-Signature"] = base64_hmac_sha256(raw, WOO_SECRET)
    return post(route, {**sample_headers, **headers}, raw)


def bank(body: dict[str, Any] | bytes, header: str | None = None) -> tuple[int, dict[str, Any]]:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    signature = header or timestamped_signature_header(raw, BANK_SECRET, int(time.time()))
    return post("/webhooks/bank/transactions", {"X-Signature": signature}, raw)


def changed(path: Path, change: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    body = sample(path)[2]
    change(body)
    return body


def delivery_records(stack: Stack) -> list[dict[str, Any]]:
    dynamodb = boto3.client("dynamodb", region_name="eu-central-1")
    items = dynamodb.scan(TableName=stack.environment["IDEMPOTENCY_TABLE"])["Items"]
    return [item for item in items if item["id"]["S"].startswith("delivery#")]


# -- 1. one signed order, one identity ---------------------------------------------------------


def test_one_signed_shopify_order_sent_as_three_shops_is_queued_for_one_shop(
    stack: Stack,
) -> None:
    assert shopify(**{"X-Shopify-Event-Id": "e1"})[1]["status"] == "queued"
    evil = shopify(**{"X-Shopify-Shop-Domain": "evil.myshopify.com", "X-Shopify-Event-Id": "e2"})
    assert evil[0] == 401
    assert evil[1]["error"] == "unknown_shop"
    dotted = shopify(
        **{"X-Shopify-Shop-Domain": "Demo-Shop.myshopify.com.", "X-Shopify-Event-Id": "e3"}
    )
    assert dotted == (200, {**dotted[1], "status": "duplicate"})
    [message] = queued_messages(stack, "orders")
    assert json.loads(message)["order"]["shop"] == "demo-shop.myshopify.com"


@pytest.mark.parametrize(
    "source",
    ["https://evil.example/", "http://[", "x" * 3000, "https://shop.example.de.evil.de/", ""],
)
def test_woocommerce_delivery_from_an_unknown_site_is_401(stack: Stack, source: str) -> None:
    status, answer = woocommerce(**{"X-WC-Webhook-Source": source})
    assert (status, answer["error"]) == (401, "unknown_shop")
    assert queued_messages(stack, "orders") == []
    assert delivery_records(stack) == []


def test_a_woocommerce_site_moving_to_www_is_still_the_same_shop(stack: Stack) -> None:
    assert woocommerce()[1]["status"] == "queued"
    moved = woocommerce(**{"X-WC-Webhook-Source": "http://WWW.shop.example.de/"})
    assert moved[1]["status"] == "duplicate"
    [message] = queued_messages(stack, "orders")
    assert json.loads(message)["order"]["shop"] == "shop.example.de"


def test_a_deployment_without_configured_shops_refuses_shop_deliveries(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SHOPIFY_SHOP_DOMAIN")
    clear_container_caches()
    assert shopify()[0] == 401


def test_several_shops_need_a_secret_each(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHOPIFY_SHOP_DOMAIN", "demo-shop.myshopify.com,other.myshopify.com")
    clear_container_caches()
    # One shared secret cannot tell the two shops apart: refused.
    assert shopify()[0] == 401
    secrets = boto3.client("secretsmanager", region_name="eu-central-1")
    arn = stack.environment["WEBHOOK_SECRETS_ARN"]
    value = json.loads(secrets.get_secret_value(SecretId=arn)["SecretString"])
    value["shopify"] = json.dumps(
        {"demo-shop.myshopify.com": SHOPIFY_SECRET, "other.myshopify.com": "another-secret"}
    )
    secrets.put_secret_value(SecretId=arn, SecretString=json.dumps(value))
    clear_container_caches()
    assert shopify()[1]["status"] == "queued"
    # The body signed with demo-shop's secret does not pass as the other shop.
    assert shopify(**{"X-Shopify-Shop-Domain": "other.myshopify.com"})[0] == 401
    assert len(queued_messages(stack, "orders")) == 1


# -- 2. a delivery is never lost between claim and send ---------------------------------------


class LambdaKilled(BaseException):
    """What the runtime does to a function at its timeout: nothing after it runs."""


def test_a_function_killed_between_claim_and_send_loses_nothing(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    from webhooks import deliveries

    sqs = deliveries._aws_client("sqs")

    def killed(**_kwargs: Any) -> None:
        raise LambdaKilled

    monkeypatch.setattr(sqs, "send_message", killed)
    with pytest.raises(LambdaKilled):
        shopify()
    monkeypatch.undo()
    [record] = delivery_records(stack)
    assert record["status"]["S"] == "CLAIMED"
    # The sender's retry at once: the claim is still live → 409, the sender tries again.
    status, answer = shopify()
    assert (status, answer["error"]) == (409, "delivery_in_progress")
    # Later the claim has expired: the retry queues the delivery.
    later = time.time() + deliveries.CLAIM_SECONDS + 1
    monkeypatch.setattr(deliveries.time, "time", lambda: later)
    assert shopify()[1]["status"] == "queued"
    assert len(queued_messages(stack, "orders")) == 1
    assert shopify()[1]["status"] == "duplicate"


def test_delivery_record_says_queued_only_after_sqs_accepted(stack: Stack) -> None:
    shopify()
    [record] = delivery_records(stack)
    assert record["status"]["S"] == "QUEUED"
    assert int(record["expiration"]["N"]) > time.time() + 6 * 86400


def test_intake_aws_clients_give_up_inside_the_function_timeout(stack: Stack) -> None:
    from webhooks import deliveries

    config = deliveries._aws_client("sqs").meta.config
    attempts = config.retries["total_max_attempts"]
    assert (config.connect_timeout + config.read_timeout) * attempts <= 5 + 1


# -- 3. no 5xx for hostile input ---------------------------------------------------------------

HOSTILE_BANK_SIGNATURES = [
    "t=" + "9" * 400 + ",v1=" + "0" * 64,
    "t=" + "9" * 5000 + ",v1=" + "0" * 64,
    "t=²,v1=" + "0" * 64,
    "t=1700000000,v1=" + "ä" * 64,
    "t=1700000000,v1=🙂",
]


@pytest.mark.parametrize("header", HOSTILE_BANK_SIGNATURES)
def test_hostile_unsigned_bank_signatures_are_401(stack: Stack, header: str) -> None:
    assert bank(b"{}", header)[0] == 401


def test_hostile_unsigned_hubspot_and_shop_signatures_are_not_5xx(stack: Stack) -> None:
    route, headers, body = sample(SHOPIFY_PAID)
    raw = json.dumps(body).encode()
    for signature in ["ä" * 44, "🙂", "x" * 10_000]:
        status, _ = post(route, {**headers, "X-Shopify-Hmac-Sha256": signature}, raw)
        assert status == 401


SIGNED_HOSTILE_BODIES: list[tuple[str, bytes]] = [
    ("deep nesting", b"[" * 100_000 + b"]" * 100_000),
    ("deep object", b'{"a":' * 50_000 + b"1" + b"}" * 50_000),
    ("huge integer", b'{"id": ' + b"9" * 5000 + b"}"),
    ("NaN", b'{"total_price": NaN}'),
    ("lone surrogate", b'{"email": "\\ud800"}'),
    ("not utf-8", b'{"email": "\xff"}'),
]


@pytest.mark.parametrize(("name", "body"), SIGNED_HOSTILE_BODIES)
def test_signed_malformed_bodies_are_400_on_every_json_route(
    stack: Stack, name: str, body: bytes
) -> None:
    assert shopify(body)[0] == 400, name
    assert woocommerce(body)[0] == 400, name
    assert bank(body)[0] == 400, name
    assert queued_messages(stack, "orders") == []
    assert queued_messages(stack, "bank") == []


def _set_line_price(value: Any) -> Callable[[dict[str, Any]], None]:
    def change(body: dict[str, Any]) -> None:
        body["line_items"][0]["price"] = value

    return change


SHOPIFY_INVALID: list[tuple[str, Callable[[dict[str, Any]], None], str]] = [
    ("amount 1e30", _set_line_price("1e30"), "line_items.0.price"),
    ("JSON number 1E+28", _set_line_price(Decimal("1E+28")), "line_items.0.price"),
    ("amount 1e308", _set_line_price("1e308"), "line_items.0.price"),
    ("three decimals", _set_line_price("12.345"), "line_items.0.price"),
    ("negative price", _set_line_price("-5.00"), "line_items.0.price"),
    ("non-ASCII digits", _set_line_price("١٢"), "line_items.0.price"),
    (
        "tax rate 19 (a percent)",
        lambda b: b["line_items"][0]["tax_lines"][0].update(rate=19),
        "line_items.0.tax_lines.0.rate",
    ),
    (
        "tax rate 1e30",
        lambda b: b["line_items"][0]["tax_lines"][0].update(rate="1e30"),
        "line_items.0.tax_lines.0.rate",
    ),
    ("total 12.345", lambda b: b.update(total_price="12.345"), "total_price"),
    ("total -1", lambda b: b.update(total_price="-1"), "total_price"),
    ("total 0", lambda b: b.update(total_price="0.00"), "total_price"),
    ("total off by 2 cents", lambda b: b.update(total_price="70.03"), "total_price"),
    ("year 9999", lambda b: b.update(processed_at="9999-12-31T23:59:59-23:59"), "processed_at"),
    (
        "a 300-character name",
        lambda b: b["billing_address"].update(first_name="x" * 300),
        "first_name",
    ),
]


@pytest.mark.parametrize(("name", "change", "field"), SHOPIFY_INVALID)
def test_invalid_shopify_orders_are_400_naming_the_field_and_queue_nothing(
    stack: Stack, name: str, change: Callable[[dict[str, Any]], None], field: str
) -> None:
    body = changed(SHOPIFY_PAID, change)
    raw = json.dumps(body, default=str).encode()
    if isinstance(body["line_items"][0]["price"], Decimal):
        raw = raw.replace(b'"1E+28"', b"1E+28")
    status, answer = shopify(raw)
    assert status == 400, (name, answer)
    assert field in {problem["field"] for problem in answer["problems"]}, answer
    assert queued_messages(stack, "orders") == []
    assert delivery_records(stack) == []


WOO_INVALID: list[tuple[str, Callable[[dict[str, Any]], None], str]] = [
    (
        "rate_percent 1e30",
        lambda b: b["tax_lines"][0].update(rate_percent="1e30"),
        "tax_lines.0.rate_percent",
    ),
    ("line total 1e30", lambda b: b["line_items"][0].update(total="1e30"), "line_items.0.total"),
    ("total -1", lambda b: b.update(total="-1.00"), "total"),
    ("total with parts missing", lambda b: b.update(total="1.00"), "total"),
]


@pytest.mark.parametrize(("name", "change", "field"), WOO_INVALID)
def test_invalid_woocommerce_orders_are_400_naming_the_field(
    stack: Stack, name: str, change: Callable[[dict[str, Any]], None], field: str
) -> None:
    status, answer = woocommerce(changed(WOO_PROCESSING, change))
    assert status == 400, (name, answer)
    assert field in {problem["field"] for problem in answer["problems"]}, answer
    assert queued_messages(stack, "orders") == []


def test_qonto_time_in_year_9999_with_a_negative_offset_is_400(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    secrets = boto3.client("secretsmanager", region_name="eu-central-1")
    arn = stack.environment["WEBHOOK_SECRETS_ARN"]
    value = json.loads(secrets.get_secret_value(SecretId=arn)["SecretString"])
    value["qonto"] = "qonto-test-secret"
    secrets.put_secret_value(SecretId=arn, SecretString=json.dumps(value))
    clear_container_caches()
    spec = json.loads((EVENTS / "bank/qonto-transaction-partial-payment.json").read_text())
    spec["body"]["data"]["settled_at"] = "9999-12-31T23:59:59-23:59"
    raw = json.dumps(spec["body"]).encode()
    header = timestamped_signature_header(raw, "qonto-test-secret", int(time.time()))
    status, answer = post("/webhooks/qonto/transactions", {"X-Qonto-Signature": header}, raw)
    assert status == 400, answer
    assert queued_messages(stack, "bank") == []


@pytest.mark.parametrize(
    "change",
    [
        lambda b: b.update(amount="1e30"),
        lambda b: b.update(amount="12.345"),
        lambda b: b.update(booking_date="9999-12-31"),
        lambda b: b["counterparty"].update(name="\ud800"),
        lambda b: b.update(remittance_information="RE1042 \ud800"),
    ],
)
def test_invalid_bank_transactions_are_400(
    stack: Stack, change: Callable[[dict[str, Any]], None]
) -> None:
    body = sample(BANK_FULL)[2]
    change(body)
    status, answer = bank(json.dumps(body).encode())
    assert status == 400, answer
    assert queued_messages(stack, "bank") == []


# -- 4. a valid zero-total order is fine -------------------------------------------------------


def _free(body: dict[str, Any]) -> None:
    """A 100 % discount on everything."""
    for line in body["line_items"]:
        line["discount_allocations"] = [{"amount": line["price"]}]
        line["quantity"] = 1
    for line in body["shipping_lines"]:
        line["discount_allocations"] = [{"amount": line["price"]}]
    body["total_price"] = "0.00"
    body["total_tax"] = "0.00"


def test_a_paid_zero_total_order_is_invoiced_and_e_mailed_without_a_payment(
    stack: Stack, billomat: Billomat
) -> None:
    from .test_order_invoice import drain, records

    status, answer = shopify(changed(SHOPIFY_PAID, _free))
    assert (status, answer["status"]) == (200, "queued"), answer
    drain(stack)
    [invoice] = records(billomat, "invoices")
    assert invoice["status"] != "DRAFT"
    assert Decimal(str(invoice["total_gross"])) == 0
    assert records(billomat, "invoice-payments") == []
    assert len(billomat.sandbox.sent_emails) == 1
    sqs = boto3.client("sqs", region_name="eu-central-1")
    dlq = sqs.receive_message(QueueUrl=stack.aws.dead_letter_queue_urls["orders"])
    assert dlq.get("Messages", []) == []
