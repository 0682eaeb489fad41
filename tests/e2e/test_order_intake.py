"""Shop order deliveries at the intake: verified, validated, deduplicated, queued — or refused."""

from __future__ import annotations

import base64
import json
import time
from pathlib import Path

import pytest

from local.dev_settings import DEV_WEBHOOK_SECRETS
from local.lambda_events import LocalLambdaContext, http_api_event
from local.sample_events import load_delivery

from .conftest import Stack, clear_container_caches, queued_messages

EVENTS = Path(__file__).resolve().parents[2] / "events"
SHOPIFY_PAID = EVENTS / "shopify/order-paid-b2c-discount.json"
WOO_PROCESSING = EVENTS / "woocommerce/order-processing-paypal.json"
SECRETS = DEV_WEBHOOK_SECRETS


def post(path: str, headers: dict[str, str], body: bytes) -> tuple[int, dict]:
    from webhooks.app import lambda_handler

    event = http_api_event("POST", path, headers, body)
    response = lambda_handler(
        event, LocalLambdaContext(function_name="webhooks", timeout_seconds=5)
    )
    return response["statusCode"], json.loads(response["body"] or "{}")


def deliver(sample: Path, **header_overrides: str) -> tuple[int, dict]:
    delivery = load_delivery(sample, SECRETS, "http://127.0.0.1:3000")
    headers = {**delivery.headers, **header_overrides}
    return post(delivery.route, headers, delivery.body)


def resigned(sample: Path, mutate) -> tuple[str, dict[str, str], bytes]:  # type: ignore[no-untyped-def]
    """The sample with its JSON body changed by ``mutate`` and signed again."""
    from autopilot.signatures import base64_hmac_sha256

    spec = json.loads(sample.read_text("utf-8"))
    mutate(spec["body"])
    body = json.dumps(spec["body"], separators=(",", ":")).encode()
    headers = dict(spec["headers"])
    if "shopify" in spec["route"]:
        headers["X-Shopify-Hmac-Sha256"] = base64_hmac_sha256(
            body, SECRETS["SHOPIFY_WEBHOOK_SECRET"]
        )
    else:
        headers["X-WC-Webhook-Signature"] = base64_hmac_sha256(
            body, SECRETS["WOOCOMMERCE_WEBHOOK_SECRET"]
        )
    return spec["route"], headers, body


def test_paid_shopify_order_is_queued_once_as_a_shop_order(stack: Stack) -> None:
    status, answer = deliver(SHOPIFY_PAID)
    assert (status, answer["status"]) == (200, "queued")
    assert answer["order"] == "shopify:demo-shop.myshopify.com:order:820982911946154601"
    [body] = queued_messages(stack, "orders")
    message = json.loads(body)
    assert message["kind"] == "shop_order"
    assert message["order"]["total"] == "70.01"
    assert message["order"]["is_paid"] is True


def test_redelivered_shopify_event_is_acknowledged_but_not_queued_again(stack: Stack) -> None:
    assert deliver(SHOPIFY_PAID)[1]["status"] == "queued"
    status, answer = deliver(SHOPIFY_PAID)
    assert (status, answer["status"]) == (200, "duplicate")
    assert len(queued_messages(stack, "orders")) == 1


@pytest.mark.parametrize("signature", [None, "", "bm90IHRoZSBzaWduYXR1cmU="])
def test_missing_or_wrong_signature_is_401_and_queues_nothing(
    stack: Stack, signature: str | None
) -> None:
    delivery = load_delivery(SHOPIFY_PAID, SECRETS, "")
    headers = dict(delivery.headers)
    headers.pop("X-Shopify-Hmac-Sha256")
    if signature is not None:
        headers["X-Shopify-Hmac-Sha256"] = signature
    status, answer = post(delivery.route, headers, delivery.body)
    assert (status, answer["error"]) == (401, "invalid_signature")
    assert queued_messages(stack, "orders") == []


def test_body_changed_after_signing_is_401(stack: Stack) -> None:
    delivery = load_delivery(SHOPIFY_PAID, SECRETS, "")
    status, _ = post(delivery.route, delivery.headers, delivery.body.replace(b"70.01", b"0.01"))
    assert status == 401
    assert queued_messages(stack, "orders") == []


def test_unconfigured_source_refuses_every_request(stack: Stack, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import boto3

    boto3.client("secretsmanager", region_name="eu-central-1").put_secret_value(
        SecretId=stack.environment["WEBHOOK_SECRETS_ARN"], SecretString=json.dumps({"shopify": "-"})
    )
    clear_container_caches()
    assert deliver(SHOPIFY_PAID)[0] == 401


def test_malformed_json_is_400_and_queues_nothing(stack: Stack) -> None:
    from autopilot.signatures import base64_hmac_sha256

    body = b'{"id": 1, "line_items": ['
    headers = {
        "content-type": "application/json",
        "x-shopify-topic": "orders/paid",
        "x-shopify-shop-domain": "demo-shop.myshopify.com",
        "x-shopify-hmac-sha256": base64_hmac_sha256(body, SECRETS["SHOPIFY_WEBHOOK_SECRET"]),
    }
    status, answer = post("/webhooks/shopify/orders", headers, body)
    assert (status, answer["error"]) == (400, "invalid_json")
    assert queued_messages(stack, "orders") == []


def test_invalid_order_is_400_naming_the_bad_fields(stack: Stack) -> None:
    def break_it(body: dict) -> None:
        del body["line_items"]
        body["total_price"] = "seventy"

    route, headers, body = resigned(SHOPIFY_PAID, break_it)
    status, answer = post(route, headers, body)
    assert (status, answer["error"]) == (400, "invalid_payload")
    fields = {problem["field"] for problem in answer["problems"]}
    assert {"line_items", "total_price"} <= fields
    assert queued_messages(stack, "orders") == []


def test_oversized_body_is_413(stack: Stack) -> None:
    status, answer = post(
        "/webhooks/shopify/orders", {"content-type": "application/json"}, b" " * (1024 * 1024 + 1)
    )
    assert (status, answer["error"]) == (413, "payload_too_large")


def test_unpaid_order_is_acknowledged_and_ignored_under_the_paid_trigger(stack: Stack) -> None:
    route, headers, body = resigned(SHOPIFY_PAID, lambda b: b.update(financial_status="pending"))
    headers["X-Shopify-Topic"] = "orders/create"
    status, answer = post(route, headers, body)
    assert (status, answer["status"]) == (200, "ignored")
    assert queued_messages(stack, "orders") == []


def test_created_trigger_queues_unpaid_new_orders(stack: Stack, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("INVOICE_TRIGGER", "created")
    clear_container_caches()
    route, headers, body = resigned(SHOPIFY_PAID, lambda b: b.update(financial_status="pending"))
    headers["X-Shopify-Topic"] = "orders/create"
    status, answer = post(route, headers, body)
    assert (status, answer["status"]) == (200, "queued")
    assert json.loads(queued_messages(stack, "orders")[0])["order"]["is_paid"] is False


def test_other_shopify_topics_are_ignored(stack: Stack) -> None:
    status, answer = deliver(SHOPIFY_PAID, **{"X-Shopify-Topic": "orders/updated"})
    assert (status, answer["status"]) == (200, "ignored")


def test_woocommerce_ping_gets_exactly_200_and_nothing_else(stack: Stack) -> None:
    status, answer = post(
        "/webhooks/woocommerce/orders",
        {"content-type": "application/x-www-form-urlencoded", "user-agent": "WooCommerce/9.5.1"},
        b"webhook_id=12",
    )
    assert status == 200
    assert answer == {"status": "ok"}
    assert queued_messages(stack, "orders") == []


def test_woocommerce_form_body_that_is_not_a_ping_needs_a_signature(stack: Stack) -> None:
    status, _ = post(
        "/webhooks/woocommerce/orders",
        {"content-type": "application/x-www-form-urlencoded"},
        b"webhook_id=12&evil=1",
    )
    assert status == 401


def test_paid_woocommerce_order_is_queued_and_deduplicated_by_modification(stack: Stack) -> None:
    assert deliver(WO_PROCESSING := WOO_PROCESSING)[1]["status"] == "queued"
    assert deliver(WO_PROCESSING)[1]["status"] == "duplicate"
    route, headers, body = resigned(
        WOO_PROCESSING,
        lambda b: b.update(date_modified_gmt="2025-01-15T11:00:00", status="completed"),
    )
    assert post(route, headers, body)[1]["status"] == "queued"
    assert len(queued_messages(stack, "orders")) == 2


def test_woocommerce_order_on_hold_is_ignored_until_paid(stack: Stack) -> None:
    route, headers, body = resigned(
        WOO_PROCESSING,
        lambda b: b.update(status="on-hold", payment_method="bacs", date_paid_gmt=None),
    )
    assert post(route, headers, body)[1]["status"] == "ignored"


def test_base64_encoded_body_is_verified_on_its_decoded_bytes(stack: Stack) -> None:
    from webhooks.app import lambda_handler

    delivery = load_delivery(SHOPIFY_PAID, SECRETS, "")
    event = http_api_event("POST", delivery.route, delivery.headers, delivery.body)
    event["body"] = base64.b64encode(delivery.body).decode()
    event["isBase64Encoded"] = True
    response = lambda_handler(event, LocalLambdaContext(function_name="webhooks"))
    assert response["statusCode"] == 200


def test_queue_outage_answers_503_and_the_retry_goes_through(stack: Stack, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    good_url = stack.environment["ORDERS_QUEUE_URL"]
    monkeypatch.setenv("ORDERS_QUEUE_URL", good_url + "-gone")
    clear_container_caches()
    status, answer = deliver(SHOPIFY_PAID)
    assert (status, answer["error"]) == (503, "queue_unavailable")
    monkeypatch.setenv("ORDERS_QUEUE_URL", good_url)
    clear_container_caches()
    assert deliver(SHOPIFY_PAID)[1]["status"] == "queued"
    assert len(queued_messages(stack, "orders")) == 1


def test_warm_intake_answers_well_within_a_second(stack: Stack) -> None:
    deliver(SHOPIFY_PAID)  # warm: secrets cached, clients built
    started = time.perf_counter()
    deliver(WOO_PROCESSING)
    assert time.perf_counter() - started < 1.0
