"""Shop product deliveries at the intake: verified, validated, deduplicated, queued — or refused.

Through the real intake handler with moto (as in local mode). A queued product message must
be one the article_sync worker can read (``parse_message``) and go to the products queue only.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from autopilot.messages import ShopProductMessage, parse_message
from autopilot.signatures import base64_hmac_sha256
from local.dev_settings import DEV_WEBHOOK_SECRETS
from local.lambda_events import LocalLambdaContext, http_api_event
from local.sample_events import load_delivery

from .conftest import Stack, clear_container_caches, queued_messages

EVENTS = Path(__file__).resolve().parents[2] / "events"
SHOPIFY_CREATE = EVENTS / "shopify/product-create-variants.json"
SHOPIFY_STOCK_ONLY = EVENTS / "shopify/product-update-stock-only.json"
SHOPIFY_SINGLE = EVENTS / "shopify/product-create-single.json"
WOO_SIMPLE = EVENTS / "woocommerce/product-simple.json"
WOO_VARIATION = EVENTS / "woocommerce/product-variation.json"
WOO_DELETED = EVENTS / "woocommerce/product-deleted.json"
PRODUCT_SAMPLES = sorted(EVENTS.glob("*/product-*.json"))
SHOPIFY_ROUTE = "/webhooks/shopify/products"
WOO_ROUTE = "/webhooks/woocommerce/products"
SHOP = "demo-shop.myshopify.com"
SITE = "shop.example.de"
SECRETS = DEV_WEBHOOK_SECRETS


def post(path: str, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, Any]]:
    from webhooks.app import lambda_handler

    event = http_api_event("POST", path, headers, body)
    response = lambda_handler(
        event, LocalLambdaContext(function_name="webhooks", timeout_seconds=5)
    )
    return response["statusCode"], json.loads(response["body"] or "{}")


def deliver(sample: Path, **header_overrides: str) -> tuple[int, dict[str, Any]]:
    delivery = load_delivery(sample, SECRETS, "http://127.0.0.1:3000")
    return post(delivery.route, {**delivery.headers, **header_overrides}, delivery.body)


def signed(
    sample: Path, body: Any = None, mutate: Callable[[Any], None] | None = None, **headers: str
) -> tuple[int, dict[str, Any]]:
    """The sample (or ``body``) changed by ``mutate``, signed again, with header overrides."""
    spec = json.loads(sample.read_text("utf-8"))
    value = spec["body"] if body is None else body
    if mutate is not None:
        mutate(value)
    raw = value if isinstance(value, bytes) else json.dumps(value, separators=(",", ":")).encode()
    sample_headers = dict(spec["headers"])
    if spec["route"] == SHOPIFY_ROUTE:
        sample_headers["X-Shopify-Hmac-Sha256"] = base64_hmac_sha256(
            raw, SECRETS["SHOPIFY_WEBHOOK_SECRET"]
        )
    else:
        sample_headers["X-WC-Webhook-Signature"] = base64_hmac_sha256(
            raw, SECRETS["WOOCOMMERCE_WEBHOOK_SECRET"]
        )
    return post(spec["route"], {**sample_headers, **headers}, raw)


def product_messages(stack: Stack) -> list[ShopProductMessage]:
    messages = [parse_message(body) for body in queued_messages(stack, "products")]
    assert all(isinstance(message, ShopProductMessage) for message in messages)
    return messages  # type: ignore[return-value]


def nothing_queued(stack: Stack) -> bool:
    return all(queued_messages(stack, queue) == [] for queue in ("products", "orders"))


# --------------------------------------------------------------------------------------------
# Shopify
# --------------------------------------------------------------------------------------------


def test_shopify_product_create_is_queued_as_a_shop_product(stack: Stack) -> None:
    status, answer = deliver(SHOPIFY_CREATE)
    assert (status, answer) == (
        200,
        {"status": "queued", "product": f"shopify:{SHOP}:product:8123456789101"},
    )
    [message] = product_messages(stack)
    assert message.topic == "products/create"
    assert [(v.sku, str(v.price)) for v in message.product.variants] == [
        ("KAF-HM-250", "8.90"),
        ("KAF-HM-500", "15.90"),
    ]
    assert queued_messages(stack, "orders") == []


def test_stock_only_update_is_queued_too_the_worker_decides(stack: Stack) -> None:
    assert deliver(SHOPIFY_CREATE)[1]["status"] == "queued"
    status, answer = deliver(SHOPIFY_STOCK_ONLY)
    assert (status, answer["status"]) == (200, "queued")
    created, updated = sorted(product_messages(stack), key=lambda m: m.product.updated_at)
    assert updated.topic == "products/update"
    assert updated.product.updated_at > created.product.updated_at
    assert updated.product.variants == created.product.variants


def test_shopify_product_delete_is_a_deleted_product(stack: Stack) -> None:
    status, answer = signed(
        SHOPIFY_CREATE, body={"id": 8123456789101}, **{"X-Shopify-Topic": "products/delete"}
    )
    assert (status, answer["status"]) == (200, "queued")
    assert answer["product"] == f"shopify:{SHOP}:product:8123456789101"
    [message] = product_messages(stack)
    assert message.topic == "products/delete"
    assert message.product.deleted
    assert message.product.variants == ()
    assert message.product.title == "(gelöscht)"


def test_redelivered_shopify_product_is_a_duplicate(stack: Stack) -> None:
    assert deliver(SHOPIFY_CREATE)[1]["status"] == "queued"
    status, answer = deliver(SHOPIFY_CREATE, **{"X-Shopify-Event-Id": "another-event-id"})
    assert (status, answer["status"]) == (200, "duplicate")
    assert answer["product"] == f"shopify:{SHOP}:product:8123456789101"
    assert len(product_messages(stack)) == 1


def test_redelivered_shopify_delete_is_a_duplicate(stack: Stack) -> None:
    headers = {"X-Shopify-Topic": "products/delete"}
    assert signed(SHOPIFY_CREATE, body={"id": 5}, **headers)[1]["status"] == "queued"
    assert signed(SHOPIFY_CREATE, body={"id": 5}, **headers)[1]["status"] == "duplicate"
    assert len(product_messages(stack)) == 1


@pytest.mark.parametrize("topic", ["orders/paid", "products/unknown", "inventory_levels/update"])
def test_other_shopify_topics_are_acknowledged_and_ignored(stack: Stack, topic: str) -> None:
    status, answer = deliver(SHOPIFY_CREATE, **{"X-Shopify-Topic": topic})
    assert (status, answer["status"]) == (200, "ignored")
    assert nothing_queued(stack)


def test_shopify_delivery_without_a_topic_is_400(stack: Stack) -> None:
    status, answer = deliver(SHOPIFY_CREATE, **{"X-Shopify-Topic": ""})
    assert (status, answer["error"]) == (400, "invalid_headers")
    assert nothing_queued(stack)


@pytest.mark.parametrize("signature", [None, "", "bm90IHRoZSBzaWduYXR1cmU="])
def test_shopify_wrong_signature_is_401_and_queues_nothing(
    stack: Stack, signature: str | None
) -> None:
    delivery = load_delivery(SHOPIFY_CREATE, SECRETS, "")
    headers = dict(delivery.headers)
    headers.pop("X-Shopify-Hmac-Sha256")
    if signature is not None:
        headers["X-Shopify-Hmac-Sha256"] = signature
    status, answer = post(SHOPIFY_ROUTE, headers, delivery.body)
    assert (status, answer["error"]) == (401, "invalid_signature")
    assert nothing_queued(stack)


def test_shopify_body_changed_after_signing_is_401(stack: Stack) -> None:
    delivery = load_delivery(SHOPIFY_CREATE, SECRETS, "")
    status, _ = post(SHOPIFY_ROUTE, delivery.headers, delivery.body.replace(b"8.90", b"0.90"))
    assert status == 401
    assert nothing_queued(stack)


@pytest.mark.parametrize("shop", ["evil.myshopify.com", "", "https://evil.example/"])
def test_unknown_shopify_shop_is_401_and_queues_nothing(stack: Stack, shop: str) -> None:
    status, answer = deliver(SHOPIFY_CREATE, **{"X-Shopify-Shop-Domain": shop})
    assert (status, answer["error"]) == (401, "unknown_shop")
    assert nothing_queued(stack)


def test_shopify_malformed_json_is_400(stack: Stack) -> None:
    status, answer = signed(SHOPIFY_CREATE, body=b'{"id": 1, "variants": [')
    assert (status, answer["error"]) == (400, "invalid_json")
    assert nothing_queued(stack)


def test_invalid_shopify_product_is_400_naming_the_fields(stack: Stack) -> None:
    def break_it(body: dict[str, Any]) -> None:
        body["variants"][1]["price"] = "fünfzehn"
        del body["updated_at"]

    status, answer = signed(SHOPIFY_CREATE, mutate=break_it)
    assert (status, answer["error"]) == (400, "invalid_payload")
    fields = {problem["field"] for problem in answer["problems"]}
    assert {"variants.1.price", "updated_at"} <= fields
    assert nothing_queued(stack)


def test_shopify_delete_without_an_id_is_400_naming_it(stack: Stack) -> None:
    status, answer = signed(SHOPIFY_CREATE, body={}, **{"X-Shopify-Topic": "products/delete"})
    assert (status, answer["error"]) == (400, "invalid_payload")
    assert [problem["field"] for problem in answer["problems"]] == ["id"]
    assert nothing_queued(stack)


def test_oversized_product_body_is_413(stack: Stack) -> None:
    for route in (SHOPIFY_ROUTE, WOO_ROUTE):
        status, answer = post(route, {"content-type": "application/json"}, b" " * (1024 * 1024 + 1))
        assert (status, answer["error"]) == (413, "payload_too_large")
    assert nothing_queued(stack)


# --------------------------------------------------------------------------------------------
# WooCommerce
# --------------------------------------------------------------------------------------------


def test_woocommerce_simple_product_is_queued(stack: Stack) -> None:
    status, answer = deliver(WOO_SIMPLE)
    assert (status, answer) == (
        200,
        {"status": "queued", "product": f"woocommerce:{SITE}:product:301"},
    )
    [message] = product_messages(stack)
    assert message.topic == "product.created"
    [variant] = message.product.variants
    assert (variant.variant_id, variant.sku, str(variant.price)) == ("301", "BECHER-01", "12.50")
    assert variant.tax_class == ""


def test_woocommerce_variation_is_queued_as_its_own_product(stack: Stack) -> None:
    status, answer = deliver(WOO_VARIATION)
    assert (status, answer) == (
        200,
        {"status": "queued", "product": f"woocommerce:{SITE}:product:214"},
    )
    [message] = product_messages(stack)
    assert message.product.title == "Grüner Tee"
    [variant] = message.product.variants
    assert (variant.sku, variant.title, variant.tax_class) == (
        "TEE-GRUEN-100",
        "100 g",
        "reduced-rate",
    )


def test_woocommerce_product_deleted_with_only_the_id(stack: Stack) -> None:
    status, answer = deliver(WOO_DELETED)
    assert (status, answer) == (
        200,
        {"status": "queued", "product": f"woocommerce:{SITE}:product:250"},
    )
    [message] = product_messages(stack)
    assert message.topic == "product.deleted"
    assert message.product.deleted
    assert deliver(WOO_DELETED)[1]["status"] == "duplicate"


def test_woocommerce_product_in_the_trash_is_deleted(stack: Stack) -> None:
    status, answer = signed(
        WOO_SIMPLE,
        mutate=lambda b: b.update(status="trash", date_modified_gmt="2025-01-20T07:00:00"),
        **{"X-WC-Webhook-Topic": "product.updated"},
    )
    assert (status, answer["status"]) == (200, "queued")
    [message] = product_messages(stack)
    assert message.product.deleted


def test_woocommerce_product_restored_is_an_upsert(stack: Stack) -> None:
    assert deliver(WOO_SIMPLE)[1]["status"] == "queued"
    status, answer = deliver(WOO_SIMPLE, **{"X-WC-Webhook-Topic": "product.restored"})
    assert (status, answer["status"]) == (200, "queued")
    topics = sorted(message.topic or "" for message in product_messages(stack))
    assert topics == ["product.created", "product.restored"]


def test_woocommerce_product_is_deduplicated_by_its_modification(stack: Stack) -> None:
    assert deliver(WOO_SIMPLE)[1]["status"] == "queued"
    other_delivery = {"X-WC-Webhook-Delivery-ID": "0123456789abcdef0123456789abcdef"}
    assert deliver(WOO_SIMPLE, **other_delivery)[1]["status"] == "duplicate"
    status, answer = signed(
        WOO_SIMPLE,
        mutate=lambda b: b.update(stock_quantity=34, date_modified_gmt="2025-01-13T10:00:00"),
        **{"X-WC-Webhook-Topic": "product.updated"},
    )
    assert (status, answer["status"]) == (200, "queued")
    assert len(product_messages(stack)) == 2


def test_woocommerce_draft_product_is_queued_without_variants(stack: Stack) -> None:
    status, answer = signed(WOO_SIMPLE, mutate=lambda b: b.update(status="draft"))
    assert (status, answer["status"]) == (200, "queued")
    [message] = product_messages(stack)
    assert message.product.variants == ()
    assert not message.product.deleted


def test_woocommerce_ping_gets_exactly_200_and_nothing_else(stack: Stack) -> None:
    status, answer = post(
        WOO_ROUTE,
        {"content-type": "application/x-www-form-urlencoded", "user-agent": "WooCommerce/9.5.1"},
        b"webhook_id=13",
    )
    assert (status, answer) == (200, {"status": "ok"})
    assert nothing_queued(stack)


def test_woocommerce_form_body_that_is_not_a_ping_needs_a_signature(stack: Stack) -> None:
    status, _ = post(
        WOO_ROUTE, {"content-type": "application/x-www-form-urlencoded"}, b"webhook_id=13&x=1"
    )
    assert status == 401
    assert nothing_queued(stack)


@pytest.mark.parametrize("topic", ["order.updated", "product.unknown", "coupon.created"])
def test_other_woocommerce_topics_are_acknowledged_and_ignored(stack: Stack, topic: str) -> None:
    status, answer = deliver(WOO_SIMPLE, **{"X-WC-Webhook-Topic": topic})
    assert (status, answer["status"]) == (200, "ignored")
    assert nothing_queued(stack)


def test_woocommerce_wrong_signature_is_401_and_queues_nothing(stack: Stack) -> None:
    status, answer = deliver(WOO_SIMPLE, **{"X-WC-Webhook-Signature": "bm9wZQ=="})
    assert (status, answer["error"]) == (401, "invalid_signature")
    assert nothing_queued(stack)


@pytest.mark.parametrize("source", ["https://evil.example/", "", "not a url"])
def test_unknown_woocommerce_site_is_401_and_queues_nothing(stack: Stack, source: str) -> None:
    status, answer = deliver(WOO_SIMPLE, **{"X-WC-Webhook-Source": source})
    assert (status, answer["error"]) == (401, "unknown_shop")
    assert nothing_queued(stack)


def test_woocommerce_site_with_www_is_the_same_shop(stack: Stack) -> None:
    status, answer = deliver(WOO_SIMPLE, **{"X-WC-Webhook-Source": "https://www.shop.example.de/"})
    assert (status, answer["product"]) == (200, f"woocommerce:{SITE}:product:301")


def test_invalid_woocommerce_product_is_400_naming_the_fields(stack: Stack) -> None:
    status, answer = signed(WOO_SIMPLE, mutate=lambda b: b.update(price="-1", sku="S" * 300))
    assert (status, answer["error"]) == (400, "invalid_payload")
    fields = {problem["field"] for problem in answer["problems"]}
    assert {"price", "sku"} <= fields
    assert nothing_queued(stack)


def test_woocommerce_update_without_a_modification_time_is_400_naming_it(stack: Stack) -> None:
    status, answer = signed(
        WOO_SIMPLE, mutate=lambda b: b.update(date_modified_gmt=None, date_created_gmt=None)
    )
    assert (status, answer["error"]) == (400, "invalid_payload")
    assert [problem["field"] for problem in answer["problems"]] == ["date_modified_gmt"]
    assert nothing_queued(stack)


def test_woocommerce_body_that_is_not_an_object_is_400(stack: Stack) -> None:
    status, answer = signed(WOO_SIMPLE, body=[1, 2, 3])
    assert (status, answer["error"]) == (400, "invalid_payload")
    assert nothing_queued(stack)


# --------------------------------------------------------------------------------------------
# Samples and the queue
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "sample", PRODUCT_SAMPLES, ids=lambda path: f"{path.parent.name}/{path.name}"
)
def test_product_samples_replay_as_200_and_queue_a_readable_message(
    stack: Stack, sample: Path
) -> None:
    status, answer = deliver(sample)
    assert (status, answer["status"]) == (200, "queued")
    [message] = product_messages(stack)
    assert message.product.reference == answer["product"]
    assert queued_messages(stack, "orders") == []


def test_every_product_sample_replays_in_one_run(stack: Stack) -> None:
    answers = [deliver(sample) for sample in PRODUCT_SAMPLES]
    assert [status for status, _ in answers] == [200] * len(PRODUCT_SAMPLES)
    assert {answer["status"] for _, answer in answers} == {"queued"}
    references = {message.product.reference for message in product_messages(stack)}
    assert f"shopify:{SHOP}:product:8123456789201" in references  # T-Shirt Bio, TS-BIO


def test_queue_outage_answers_503_and_the_retry_goes_through(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    good_url = stack.environment["PRODUCTS_QUEUE_URL"]
    monkeypatch.setenv("PRODUCTS_QUEUE_URL", good_url + "-gone")
    clear_container_caches()
    status, answer = deliver(SHOPIFY_SINGLE)
    assert (status, answer["error"]) == (503, "queue_unavailable")
    monkeypatch.setenv("PRODUCTS_QUEUE_URL", good_url)
    clear_container_caches()
    assert deliver(SHOPIFY_SINGLE)[1]["status"] == "queued"
    assert len(product_messages(stack)) == 1
