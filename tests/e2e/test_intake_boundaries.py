"""Hostile input at the intake routes added since 3e19bc5, where the older suites left gaps.

Routes: ``POST /webhooks/hubspot/deals``, ``/webhooks/shopify/products``,
``/webhooks/woocommerce/products``, ``/webhooks/shopify/refunds`` and the VAT-ID fields of the
order routes. For each: (a) a correctly signed but malformed body (wrong type, missing field,
extra nesting), (b) a hostile header (oversized or garbled signature, shop or topic header,
header-injection characters, a wrong content type), (c) a boundary number (at and beyond the
bound, negative, 0, 1e309, NaN, too many decimals). The rule (architecture.md §3): 400 naming
the field (401 for a signature or shop problem), never a 5xx, and a refused request writes
nothing — no message on any work queue, no delivery record.

Everything goes through the intake's real Lambda handler on moto, as in local mode.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
import pytest

from autopilot.messages import HUBSPOT_ID_LIMIT, parse_message
from autopilot.signatures import base64_hmac_sha256, hubspot_v3_signature
from local.dev_settings import DEV_WEBHOOK_SECRETS
from local.lambda_events import LocalLambdaContext, http_api_event

from .conftest import Stack, receive_from
from .test_hubspot_intake import PUBLIC_BASE_URL, event

EVENTS = Path(__file__).resolve().parents[2] / "events"
SHOPIFY_PRODUCT = EVENTS / "shopify/product-create-variants.json"
WOO_PRODUCT = EVENTS / "woocommerce/product-simple.json"
SHOPIFY_REFUND = EVENTS / "shopify/refund-full.json"
SHOPIFY_RC_ORDER = EVENTS / "shopify/order-paid-nl-b2b-reverse-charge.json"
WOO_ORDER = EVENTS / "woocommerce/order-processing-paypal.json"
HUBSPOT_ROUTE = "/webhooks/hubspot/deals"
QUEUES = ("orders", "bank", "deals", "products", "refunds")
SHOPIFY_SECRET = DEV_WEBHOOK_SECRETS["SHOPIFY_WEBHOOK_SECRET"]
WOO_SECRET = DEV_WEBHOOK_SECRETS["WOOCOMMERCE_WEBHOOK_SECRET"]
HUBSPOT_SECRET = DEV_WEBHOOK_SECRETS["HUBSPOT_CLIENT_SECRET"]
SIGNATURE_HEADER = {"shopify": "X-Shopify-Hmac-Sha256", "woocommerce": "X-WC-Webhook-Signature"}


# -- requests ---------------------------------------------------------------------------


def post(route: str, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, Any]]:
    """One request through the intake handler; a raised exception is the runtime's 502."""
    from webhooks.app import lambda_handler

    response = lambda_handler(
        http_api_event("POST", route, headers, body), LocalLambdaContext(function_name="webhooks")
    )
    return int(response["statusCode"]), json.loads(response.get("body") or "{}")


def sample(path: Path) -> dict[str, Any]:
    spec: dict[str, Any] = json.loads(path.read_text("utf-8"))
    return spec


def encode(value: Any) -> bytes:
    """JSON text; ``RAW:<text>`` strings become that text unquoted (NaN, 1e309, …)."""
    text = json.dumps(value, separators=(",", ":"))
    for token in ("NaN", "Infinity", "1e309", "-1e309", "1E+400"):
        text = text.replace(f'"RAW:{token}"', token)
    return text.encode()


def shop_delivery(
    path: Path,
    mutate: Callable[[Any], Any] | None = None,
    *,
    body: bytes | None = None,
    **header_overrides: str,
) -> tuple[int, dict[str, Any]]:
    """The sample (changed by ``mutate``, which may return a new body) correctly signed."""
    spec = sample(path)
    value = spec["body"]
    if mutate is not None:
        changed = mutate(value)
        value = value if changed is None else changed
    raw = encode(value) if body is None else body
    secret = SHOPIFY_SECRET if spec["signature"] == "shopify" else WOO_SECRET
    headers = {
        **spec["headers"],
        SIGNATURE_HEADER[spec["signature"]]: base64_hmac_sha256(raw, secret),
    }
    return post(spec["route"], {**headers, **header_overrides}, raw)


def hubspot(
    body: Any, *, headers: dict[str, str] | None = None, drop: tuple[str, ...] = ()
) -> tuple[int, dict[str, Any]]:
    raw = body if isinstance(body, bytes) else encode(body)
    millis = int(time.time() * 1000)
    sent = {
        "Content-Type": "application/json",
        "X-HubSpot-Signature-v3": hubspot_v3_signature(
            "POST", PUBLIC_BASE_URL + HUBSPOT_ROUTE, raw, millis, HUBSPOT_SECRET
        ),
        "X-HubSpot-Request-Timestamp": str(millis),
        **(headers or {}),
    }
    for name in drop:
        sent.pop(name, None)
    return post(HUBSPOT_ROUTE, sent, raw)


# -- what was written --------------------------------------------------------------------


def queue_depths(stack: Stack) -> dict[str, int]:
    sqs = boto3.client("sqs", region_name="eu-central-1")
    depths = {}
    for queue in QUEUES:
        attributes = sqs.get_queue_attributes(
            QueueUrl=stack.aws.queue_urls[queue], AttributeNames=["All"]
        )["Attributes"]
        depths[queue] = sum(
            int(attributes.get(name, 0))
            for name in (
                "ApproximateNumberOfMessages",
                "ApproximateNumberOfMessagesNotVisible",
                "ApproximateNumberOfMessagesDelayed",
            )
        )
    return depths


def delivery_records(stack: Stack) -> list[str]:
    dynamodb = boto3.client("dynamodb", region_name="eu-central-1")
    items = dynamodb.scan(TableName=stack.environment["IDEMPOTENCY_TABLE"])["Items"]
    return [item["id"]["S"] for item in items]


def assert_nothing_written(stack: Stack) -> None:
    assert queue_depths(stack) == dict.fromkeys(QUEUES, 0)
    assert delivery_records(stack) == []


def fields_of(answer: dict[str, Any]) -> set[str]:
    return {problem["field"] for problem in answer.get("problems", [])}


def assert_400_naming(stack: Stack, result: tuple[int, dict[str, Any]], field: str | None) -> None:
    status, answer = result
    assert status == 400, answer
    assert answer["error"] in {"invalid_json", "invalid_payload", "invalid_headers"}, answer
    if field is not None:
        named = fields_of(answer)
        assert any(f == field or f.startswith(field + ".") for f in named), answer
    assert_nothing_written(stack)


def assert_401(stack: Stack, result: tuple[int, dict[str, Any]]) -> None:
    status, answer = result
    assert status == 401, answer
    assert answer["error"] in {"invalid_signature", "unknown_shop"}, answer
    assert_nothing_written(stack)


def assert_accepted_once(stack: Stack, result: tuple[int, dict[str, Any]], queue: str) -> Any:
    status, answer = result
    assert (status, answer.get("status")) == (200, "queued"), answer
    depths = queue_depths(stack)
    assert depths == {name: int(name == queue) for name in QUEUES}, depths
    [message] = receive_from(stack, queue)
    return parse_message(message["Body"])


def each_case(cases: list[Any], check: Callable[..., None]) -> None:
    """``check(*case)`` for every case on one stack (a refused case leaves it clean); every
    failing case is reported, not only the first. A 5xx (an exception) fails at once."""
    failures = []
    for case in cases:
        try:
            check(*case)
        except AssertionError as failure:
            failures.append(f"{case[0]}: {str(failure)[:300]}")
    assert failures == [], "\n".join(failures)


# -- hostile headers shared by the shop routes ----------------------------------------------

HOSTILE_SIGNATURES = [
    "x" * 10_000,
    "ä" * 44,
    "🙂",
    "=" * 44,
    "AAAA\r\nX-Injected: 1",
    "bm90IHRoZSBzaWduYXR1cmU=\x00",
]
HOSTILE_SHOPIFY_SHOPS = [
    "d" * 5000 + ".myshopify.com",
    "demo-shop.myshopify.com\r\nX-Injected: 1",
    "demo-shop.myshopify.com\x00",
    "démo-shop.myshopify.com",
]
HOSTILE_WOO_SOURCES = [
    "https://" + "s" * 5000 + ".de/",
    "https://shop.example.de/\r\nX-Injected: 1",
    "https://shop.example.de@evil.example/",
    "javascript:alert(1)",
    "http://[",
]


# ================================================================================================
# POST /webhooks/hubspot/deals
# ================================================================================================

HUBSPOT_NESTING: list[tuple[str, Any, str]] = [
    ("objectId as an object", [event(1, objectId={"id": 5001})], "[0].objectId"),
    ("objectId as a list", [event(1, objectId=[5001])], "[0].objectId"),
    ("propertyValue as an object", [event(1, propertyValue={"v": "x"})], "[0].propertyValue"),
    ("portalId as text", [event(1, portalId="4711000")], "[0].portalId"),
    ("subscriptionType null", [event(1, subscriptionType=None)], "[0].subscriptionType"),
    ("an array inside the array", [[event(1)]], "[0]"),
    ("events under a key", {"events": [event(1)]}, ""),
]


def test_hubspot_wrongly_typed_or_nested_events_are_400_naming_the_field(stack: Stack) -> None:
    each_case(
        HUBSPOT_NESTING,
        lambda name, body, field: assert_400_naming(stack, hubspot(body), field or None),
    )


HUBSPOT_BEYOND: list[tuple[str, Any, str]] = [
    ("objectId one beyond the limit", [event(1, objectId=HUBSPOT_ID_LIMIT + 1)], "[0].objectId"),
    ("portalId one beyond the limit", [event(1, portalId=HUBSPOT_ID_LIMIT + 1)], "[0].portalId"),
    ("eventId one beyond the limit", [event(HUBSPOT_ID_LIMIT + 1)], "[0].eventId"),
    ("objectId -1", [event(1, objectId=-1)], "[0].objectId"),
    ("objectId 1.5", [event(1, objectId=1.5)], "[0].objectId"),
    ("objectId 1e309", [event(1, objectId="RAW:1e309")], "[0].objectId"),
    ("occurredAt 1e309", [event(1, occurred_at="RAW:1e309")], "[0].occurredAt"),
    ("occurredAt one before 2000", [event(1, occurred_at=946_684_799_999)], "[0].occurredAt"),
    ("occurredAt 0", [event(1, occurred_at=0)], "[0].occurredAt"),
    ("attemptNumber beyond 1,000,000", [event(1, attemptNumber=1_000_001)], "[0].attemptNumber"),
    ("objectId NaN", [event(1, objectId="RAW:NaN")], ""),
    ("objectId Infinity", [event(1, objectId="RAW:Infinity")], ""),
]


def test_hubspot_numbers_beyond_their_bounds_are_400_naming_the_field(stack: Stack) -> None:
    each_case(
        HUBSPOT_BEYOND,
        lambda name, body, field: assert_400_naming(stack, hubspot(body), field or None),
    )


def test_hubspot_numbers_at_their_bounds_are_accepted(stack: Stack) -> None:
    """The bounds are inclusive where the model says so: the largest ids and the first
    millisecond of 2000 are valid events (one message per deal)."""
    body = [
        event(HUBSPOT_ID_LIMIT, deal=HUBSPOT_ID_LIMIT, portalId=HUBSPOT_ID_LIMIT),
        event(2, deal=1, occurred_at=946_684_800_000, attemptNumber=1_000_000),
    ]
    status, answer = hubspot(body)
    assert (status, answer["status"]) == (200, "queued"), answer
    assert len(answer["deals"]) == 2
    assert queue_depths(stack)["deals"] == 2
    assert len(delivery_records(stack)) == 2


HUBSPOT_HOSTILE_HEADERS: list[tuple[str, dict[str, Any]]] = [
    ("signature of 10,000 characters", {"headers": {"X-HubSpot-Signature-v3": "x" * 10_000}}),
    ("signature with CRLF", {"headers": {"X-HubSpot-Signature-v3": "AAAA\r\nX-Injected: 1"}}),
    ("signature with NUL", {"headers": {"X-HubSpot-Signature-v3": "\x00" * 44}}),
    ("timestamp NaN", {"headers": {"X-HubSpot-Request-Timestamp": "NaN"}}),
    ("timestamp 1e309", {"headers": {"X-HubSpot-Request-Timestamp": "1e309"}}),
    ("timestamp -1", {"headers": {"X-HubSpot-Request-Timestamp": "-1"}}),
    ("timestamp 0", {"headers": {"X-HubSpot-Request-Timestamp": "0"}}),
    ("timestamp empty", {"headers": {"X-HubSpot-Request-Timestamp": ""}}),
    ("timestamp with CRLF", {"headers": {"X-HubSpot-Request-Timestamp": "1\r\n2"}}),
    ("timestamp of 10,000 digits", {"headers": {"X-HubSpot-Request-Timestamp": "9" * 10_000}}),
    ("both missing", {"drop": ("X-HubSpot-Signature-v3", "X-HubSpot-Request-Timestamp")}),
]


def test_hubspot_hostile_signature_headers_are_401_and_write_nothing(stack: Stack) -> None:
    each_case(
        HUBSPOT_HOSTILE_HEADERS, lambda name, how: assert_401(stack, hubspot([event(1)], **how))
    )


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "", "ä\r\nX: 1"]
)
def test_hubspot_content_type_is_not_trusted_the_signed_body_is(
    stack: Stack, content_type: str
) -> None:
    """A wrong content type changes nothing: the signed bytes are verified and parsed as JSON
    (API Gateway base64-encodes a non-text body; the intake decodes it first)."""
    result = hubspot([event(1)], headers={"Content-Type": content_type})
    message = assert_accepted_once(stack, result, "deals")
    assert message.deal_id == 5001


# ================================================================================================
# POST /webhooks/shopify/products
# ================================================================================================


def _set(path: tuple[Any, ...], value: Any) -> Callable[[Any], None]:
    def change(body: Any) -> None:
        target = body
        for part in path[:-1]:
            target = target[part]
        target[path[-1]] = value

    return change


def _delete(path: tuple[Any, ...]) -> Callable[[Any], None]:
    def change(body: Any) -> None:
        target = body
        for part in path[:-1]:
            target = target[part]
        del target[path[-1]]

    return change


SHOPIFY_PRODUCT_MALFORMED: list[tuple[str, Callable[[Any], Any], str]] = [
    ("variants as an object", lambda b: b.update(variants={"0": b["variants"][0]}), "variants"),
    ("no variants", _set(("variants",), []), "variants"),
    (
        "a variant as a list",
        lambda b: b["variants"].__setitem__(0, [b["variants"][0]]),
        "variants.0",
    ),
    ("variant without a price", _delete(("variants", 0, "price")), "variants.0.price"),
    ("variant without an id", _delete(("variants", 0, "id")), "variants.0.id"),
    ("price as an object", _set(("variants", 0, "price"), {"amount": "8.90"}), "variants.0.price"),
    ("price true", _set(("variants", 0, "price"), True), "variants.0.price"),
    ("id as an object", _set(("id",), {"id": 1}), "id"),
    ("tags as an object", _set(("tags",), {"a": "b"}), "tags"),
    ("taxable as text", _set(("variants", 0, "taxable"), "maybe"), "variants.0.taxable"),
    ("the product wrapped in a key", lambda b: {"product": b}, "id"),
]


def test_shopify_product_malformed_bodies_are_400_naming_the_field(stack: Stack) -> None:
    each_case(
        SHOPIFY_PRODUCT_MALFORMED,
        lambda name, mutate, field: assert_400_naming(
            stack, shop_delivery(SHOPIFY_PRODUCT, mutate), field
        ),
    )


PRICE_BEYOND: list[tuple[str, Any]] = [
    ("negative", "-0.01"),
    ("the limit itself", "100000000"),
    ("the limit as a JSON number", 100000000),
    ("just below the limit rounding up to it", "99999999.99995"),
    ("1e30", "1e30"),
    ("1e309 as a JSON number", "RAW:1e309"),
    ("NaN as text", "NaN"),
    ("Infinity as text", "Infinity"),
    ("non-ASCII digits", "١٢"),
    ("a decimal comma", "8,90"),
]


def test_shopify_product_price_beyond_its_bounds_is_400_naming_it(stack: Stack) -> None:
    each_case(
        PRICE_BEYOND,
        lambda name, price: assert_400_naming(
            stack,
            shop_delivery(SHOPIFY_PRODUCT, _set(("variants", 1, "price"), price)),
            "variants.1.price",
        ),
    )


def test_shopify_product_id_with_a_fraction_is_400_naming_it(stack: Stack) -> None:
    assert_400_naming(stack, shop_delivery(SHOPIFY_PRODUCT, _set(("id",), 632910392.5)), "id")


def test_shopify_product_json_nan_is_400(stack: Stack) -> None:
    result = shop_delivery(SHOPIFY_PRODUCT, _set(("variants", 0, "price"), "RAW:NaN"))
    assert_400_naming(stack, result, None)


@pytest.mark.parametrize(
    ("price", "queued"),
    [("0", "0"), ("99999999.9999", "99999999.9999"), ("8.123449", "8.1234")],
)
def test_shopify_product_price_at_its_bounds_is_queued_exactly(
    stack: Stack, price: str, queued: str
) -> None:
    """0 and the largest price with four places are valid; more places are rounded to four."""
    from decimal import Decimal

    result = shop_delivery(SHOPIFY_PRODUCT, _set(("variants", 0, "price"), price))
    message = assert_accepted_once(stack, result, "products")
    assert message.product.variants[0].price == Decimal(queued)


def test_shopify_product_variant_count_at_and_beyond_the_bound(stack: Stack) -> None:
    from autopilot.shop_products import MAX_VARIANTS

    def variants(count: int) -> Callable[[Any], None]:
        def change(body: Any) -> None:
            template = body["variants"][0]
            body["variants"] = [
                {**template, "id": 9_000_000 + n, "sku": f"SKU-{n}"} for n in range(count)
            ]

        return change

    assert_400_naming(stack, shop_delivery(SHOPIFY_PRODUCT, variants(MAX_VARIANTS + 1)), "variants")
    message = assert_accepted_once(
        stack, shop_delivery(SHOPIFY_PRODUCT, variants(MAX_VARIANTS)), "products"
    )
    assert len(message.product.variants) == MAX_VARIANTS


def test_shopify_product_time_at_the_end_of_time_is_400_naming_it(stack: Stack) -> None:
    times = ["9999-12-31T23:59:59-23:59", "0001-01-01T00:00:00+00:00", "2025-02-30T10:00:00Z"]
    each_case(
        [(t,) for t in times],
        lambda moment: assert_400_naming(
            stack, shop_delivery(SHOPIFY_PRODUCT, _set(("updated_at",), moment)), "updated_at"
        ),
    )


def test_shopify_product_hostile_signature_is_401_and_writes_nothing(stack: Stack) -> None:
    spec = sample(SHOPIFY_PRODUCT)
    raw = encode(spec["body"])
    each_case(
        [(s,) for s in HOSTILE_SIGNATURES],
        lambda signature: assert_401(
            stack, post(spec["route"], {**spec["headers"], "X-Shopify-Hmac-Sha256": signature}, raw)
        ),
    )


def test_shopify_product_hostile_shop_header_is_401_and_writes_nothing(stack: Stack) -> None:
    each_case(
        [(s,) for s in HOSTILE_SHOPIFY_SHOPS],
        lambda shop: assert_401(
            stack, shop_delivery(SHOPIFY_PRODUCT, **{"X-Shopify-Shop-Domain": shop})
        ),
    )


def assert_ignored(stack: Stack, result: tuple[int, dict[str, Any]]) -> None:
    status, answer = result
    assert (status, answer.get("status")) == (200, "ignored"), answer
    assert len(answer["reason"]) < 200
    assert_nothing_written(stack)


HOSTILE_TOPICS = ["\r\nX-Injected: 1", "\x00", "x" * 10_000]


def test_shopify_product_hostile_topic_is_acknowledged_and_writes_nothing(stack: Stack) -> None:
    """A topic that is not one of the product topics is acknowledged as ignored (a 4xx would
    make Shopify retry and disable the webhook), with at most 80 of its characters echoed."""
    topics = [("products/create" + t,) for t in HOSTILE_TOPICS] + [("PRODUCTS/CREATE",)]
    each_case(
        topics,
        lambda topic: assert_ignored(
            stack, shop_delivery(SHOPIFY_PRODUCT, **{"X-Shopify-Topic": topic})
        ),
    )


def test_shopify_product_blank_topic_is_400_naming_the_header(stack: Stack) -> None:
    status, answer = shop_delivery(SHOPIFY_PRODUCT, **{"X-Shopify-Topic": " \t"})
    assert (status, answer["error"]) == (400, "invalid_headers"), answer
    assert "X-Shopify-Topic" in answer["message"]
    assert_nothing_written(stack)


@pytest.mark.parametrize("content_type", ["text/plain", "application/octet-stream", ""])
def test_shopify_product_content_type_is_not_trusted_the_signed_body_is(
    stack: Stack, content_type: str
) -> None:
    result = shop_delivery(SHOPIFY_PRODUCT, **{"Content-Type": content_type})
    assert_accepted_once(stack, result, "products")


# ================================================================================================
# POST /webhooks/woocommerce/products
# ================================================================================================

WOO_PRODUCT_MALFORMED: list[tuple[str, Callable[[Any], Any], str]] = [
    ("categories as an object", _set(("categories",), {"id": 1}), "categories"),
    ("a category as a list", _set(("categories",), [[{"id": 1}]]), "categories.0"),
    ("attributes as text", _set(("attributes",), "100 g"), "attributes"),
    ("tags nested one deeper", _set(("tags",), [{"name": {"de": "x"}}]), "tags.0.name"),
    ("id missing", _delete(("id",)), "id"),
    ("id as a list", _set(("id",), [301]), "id"),
    ("id empty", _set(("id",), ""), "id"),
    ("id with a slash", _set(("id",), "301/../302"), "id"),
    ("price as an object", _set(("price",), {"amount": "12.50"}), "price"),
    ("date_modified_gmt as a number", _set(("date_modified_gmt",), [2025]), "date_modified_gmt"),
]


def test_woocommerce_product_malformed_bodies_are_400_naming_the_field(stack: Stack) -> None:
    each_case(
        WOO_PRODUCT_MALFORMED,
        lambda name, mutate, field: assert_400_naming(
            stack, shop_delivery(WOO_PRODUCT, mutate), field
        ),
    )


def test_woocommerce_product_price_beyond_its_bounds_is_400_naming_it(stack: Stack) -> None:
    cases = [
        (f"{field} {name}", field, price)
        for name, price in PRICE_BEYOND
        for field in ("price", "regular_price")
    ]
    each_case(
        cases,
        lambda name, field, price: assert_400_naming(
            stack, shop_delivery(WOO_PRODUCT, _set((field,), price)), field
        ),
    )


@pytest.mark.parametrize(
    ("price", "queued"), [("0", "0"), ("99999999.9999", "99999999.9999"), ("0.00001", "0")]
)
def test_woocommerce_product_price_at_its_bounds_is_queued_exactly(
    stack: Stack, price: str, queued: str
) -> None:
    from decimal import Decimal

    message = assert_accepted_once(
        stack, shop_delivery(WOO_PRODUCT, _set(("price",), price)), "products"
    )
    assert message.product.variants[0].price == Decimal(queued)


def test_woocommerce_product_time_out_of_range_is_400_naming_it(stack: Stack) -> None:
    times = ["9999-12-31T23:59:59", "1999-12-31T23:59:59", "2025-13-01T00:00:00"]
    each_case(
        [(t,) for t in times],
        lambda moment: assert_400_naming(
            stack,
            shop_delivery(WOO_PRODUCT, _set(("date_modified_gmt",), moment)),
            "date_modified_gmt",
        ),
    )


def test_woocommerce_product_hostile_signature_is_401_and_writes_nothing(stack: Stack) -> None:
    spec = sample(WOO_PRODUCT)
    raw = encode(spec["body"])
    each_case(
        [(s,) for s in HOSTILE_SIGNATURES],
        lambda signature: assert_401(
            stack,
            post(spec["route"], {**spec["headers"], "X-WC-Webhook-Signature": signature}, raw),
        ),
    )


def test_woocommerce_product_hostile_source_header_is_401_and_writes_nothing(stack: Stack) -> None:
    each_case(
        [(s,) for s in HOSTILE_WOO_SOURCES],
        lambda source: assert_401(
            stack, shop_delivery(WOO_PRODUCT, **{"X-WC-Webhook-Source": source})
        ),
    )


def test_woocommerce_product_hostile_topic_is_acknowledged_and_writes_nothing(stack: Stack) -> None:
    each_case(
        [("product.created" + t,) for t in HOSTILE_TOPICS],
        lambda topic: assert_ignored(
            stack, shop_delivery(WOO_PRODUCT, **{"X-WC-Webhook-Topic": topic})
        ),
    )


# ================================================================================================
# POST /webhooks/shopify/refunds
# ================================================================================================

REFUND_MALFORMED: list[tuple[str, Callable[[Any], Any], str]] = [
    ("id missing", _delete(("id",)), "id"),
    ("order_id missing", _delete(("order_id",)), "order_id"),
    ("created_at missing", _delete(("created_at",)), "created_at"),
    ("created_at as an object", _set(("created_at",), {"t": 1}), "created_at"),
    ("order_id as an object", _set(("order_id",), {"id": 1}), "order_id"),
    ("order_id empty", _set(("order_id",), ""), "order_id"),
    (
        "refund_line_items as an object",
        lambda b: b.update(refund_line_items=b["refund_line_items"][0]),
        "refund_line_items",
    ),
    (
        "a refund line as a list",
        lambda b: b.update(refund_line_items=[b["refund_line_items"]]),
        "refund_line_items.0",
    ),
    (
        "quantity missing",
        _delete(("refund_line_items", 0, "quantity")),
        "refund_line_items.0.quantity",
    ),
    (
        "quantity as text",
        _set(("refund_line_items", 0, "quantity"), "two"),
        "refund_line_items.0.quantity",
    ),
    (
        "line_item as a list",
        lambda b: b["refund_line_items"][0].update(
            line_item=[b["refund_line_items"][0]["line_item"]]
        ),
        "refund_line_items.0.line_item",
    ),
    ("transactions as an object", _set(("transactions",), {"amount": "1.00"}), "transactions"),
    (
        "transaction amount as an object",
        _set(("transactions", 0, "amount"), {"v": 1}),
        "transactions.0.amount",
    ),
    (
        "shipping money nested one deeper",
        _set(
            ("refund_shipping_lines", 0, "subtotal_amount_set", "shop_money"),
            {"amount": {"a": "4.11"}},
        ),
        "refund_shipping_lines.0.subtotal_amount_set.shop_money.amount",
    ),
    (
        "currency of 4 letters",
        _set(("transactions", 0, "currency"), "EURO"),
        "transactions.0.currency",
    ),
]


def test_shopify_refund_malformed_bodies_are_400_naming_the_field(stack: Stack) -> None:
    each_case(
        REFUND_MALFORMED,
        lambda name, mutate, field: assert_400_naming(
            stack, shop_delivery(SHOPIFY_REFUND, mutate), field
        ),
    )


REFUND_BEYOND: list[tuple[str, tuple[Any, ...], Any]] = [
    ("quantity -1", ("refund_line_items", 0, "quantity"), -1),
    ("quantity 1,000,001", ("refund_line_items", 0, "quantity"), 1_000_001),
    ("quantity 1.5", ("refund_line_items", 0, "quantity"), 1.5),
    ("quantity 1e309", ("refund_line_items", 0, "quantity"), "RAW:1e309"),
    ("subtotal 1e30", ("refund_line_items", 0, "subtotal"), "1e30"),
    ("subtotal 1e309", ("refund_line_items", 0, "subtotal"), "RAW:1e309"),
    ("subtotal NaN as text", ("refund_line_items", 0, "subtotal"), "NaN"),
    ("amount 1e15", ("transactions", 0, "amount"), "1e15"),
    ("amount Infinity as text", ("transactions", 0, "amount"), "Infinity"),
    ("amount non-ASCII digits", ("transactions", 0, "amount"), "١٢٣"),
    (
        "shipping 1e30",
        ("refund_shipping_lines", 0, "tax_amount_set", "shop_money", "amount"),
        "1e30",
    ),
]


def test_shopify_refund_numbers_beyond_their_bounds_are_400_naming_the_field(stack: Stack) -> None:
    each_case(
        REFUND_BEYOND,
        lambda name, path, value: assert_400_naming(
            stack,
            shop_delivery(SHOPIFY_REFUND, _set(path, value)),
            ".".join(str(part) for part in path),
        ),
    )


def test_shopify_refund_amounts_beyond_the_order_bound_are_400(stack: Stack) -> None:
    """Amounts whose sum would reach the credit note's bound (10^12) are refused each at the
    intake's amount bound (10^8, as on the order routes): never a message the worker cannot
    take."""
    result = shop_delivery(
        SHOPIFY_REFUND,
        _set(
            ("transactions",),
            [{"kind": "refund", "status": "success", "amount": "999999999999.99"}] * 2,
        ),
    )
    assert_400_naming(stack, result, "transactions.0.amount")


def test_shopify_refund_json_nan_is_400(stack: Stack) -> None:
    result = shop_delivery(SHOPIFY_REFUND, _set(("transactions", 0, "amount"), "RAW:NaN"))
    assert_400_naming(stack, result, None)


def test_shopify_refund_at_its_bounds_is_queued(stack: Stack) -> None:
    """Quantity 0 lines are skipped, 1,000,000 is allowed, a tax rate of exactly 0 or 1."""
    from decimal import Decimal

    def edge(body: Any) -> None:
        line = body["refund_line_items"][0]
        extra = json.loads(json.dumps(line))
        extra["quantity"] = 0
        line["quantity"] = 1_000_000
        line["line_item"]["tax_lines"][0]["rate"] = 1
        extra["line_item"]["tax_lines"][0]["rate"] = 0
        body["refund_line_items"].append(extra)

    message = assert_accepted_once(stack, shop_delivery(SHOPIFY_REFUND, edge), "refunds")
    [line] = message.refund.lines
    assert (line.quantity, line.tax_rate) == (Decimal(1_000_000), Decimal(100))


def test_shopify_refund_hostile_signature_or_shop_is_401_and_writes_nothing(stack: Stack) -> None:
    spec = sample(SHOPIFY_REFUND)
    raw = encode(spec["body"])
    unsigned = {k: v for k, v in spec["headers"].items() if k != "X-Shopify-Hmac-Sha256"}
    assert_401(stack, post(spec["route"], unsigned, raw))
    each_case(
        [(s,) for s in HOSTILE_SIGNATURES],
        lambda signature: assert_401(
            stack, post(spec["route"], {**spec["headers"], "X-Shopify-Hmac-Sha256": signature}, raw)
        ),
    )
    each_case(
        [(s,) for s in HOSTILE_SHOPIFY_SHOPS],
        lambda shop: assert_401(
            stack, shop_delivery(SHOPIFY_REFUND, **{"X-Shopify-Shop-Domain": shop})
        ),
    )


def test_shopify_refund_other_or_hostile_topics_write_nothing(stack: Stack) -> None:
    topics = [("refunds/create" + t,) for t in HOSTILE_TOPICS] + [("refunds/update",)]
    each_case(
        topics,
        lambda topic: assert_ignored(
            stack, shop_delivery(SHOPIFY_REFUND, **{"X-Shopify-Topic": topic})
        ),
    )


def test_shopify_refund_without_a_topic_is_400_naming_the_header(stack: Stack) -> None:
    status, answer = shop_delivery(SHOPIFY_REFUND, **{"X-Shopify-Topic": " "})
    assert (status, answer["error"]) == (400, "invalid_headers"), answer
    assert "X-Shopify-Topic" in answer["message"]
    assert_nothing_written(stack)


def test_shopify_refund_amount_with_three_decimals_is_400(stack: Stack) -> None:
    result = shop_delivery(SHOPIFY_REFUND, _set(("transactions", 0, "amount"), "123.885"))
    assert_400_naming(stack, result, "transactions.0.amount")


def test_shopify_refund_impossible_tax_rate_names_the_field(stack: Stack) -> None:
    path = ("refund_line_items", 0, "line_item", "tax_lines", 0, "rate")
    result = shop_delivery(SHOPIFY_REFUND, _set(path, 19))
    assert_400_naming(stack, result, "refund_line_items.0.line_item.tax_lines.0.rate")


# ================================================================================================
# The order routes' VAT-ID fields
# ================================================================================================

SHOPIFY_VAT_MALFORMED: list[tuple[str, Callable[[Any], Any], str]] = [
    (
        "tax_exemptions as text",
        _set(("customer", "tax_exemptions"), "EU_REVERSE_CHARGE_EXEMPTION_RULE"),
        "customer.tax_exemptions",
    ),
    (
        "tax_exemptions as an object",
        _set(("customer", "tax_exemptions"), {"a": 1}),
        "customer.tax_exemptions",
    ),
    (
        "a tax exemption nested",
        _set(("customer", "tax_exemptions"), [["EU_REVERSE_CHARGE_EXEMPTION_RULE"]]),
        "customer.tax_exemptions.0",
    ),
    (
        "101 tax exemptions",
        _set(("customer", "tax_exemptions"), ["X"] * 101),
        "customer.tax_exemptions",
    ),
    (
        "a tax exemption of 101 characters",
        _set(("customer", "tax_exemptions"), ["E" * 101]),
        "customer.tax_exemptions.0",
    ),
    (
        "note_attributes as an object",
        _set(("note_attributes",), {"name": "VAT number", "value": "NL123456789B01"}),
        "note_attributes",
    ),
    (
        "a note attribute value as an object",
        _set(("note_attributes", 0, "value"), {"id": "NL123456789B01"}),
        "note_attributes.0.value",
    ),
    (
        "a note attribute value as a list",
        _set(("note_attributes", 0, "value"), ["NL123456789B01"]),
        "note_attributes.0.value",
    ),
]


def test_shopify_order_malformed_vat_fields_are_400_naming_the_field(stack: Stack) -> None:
    each_case(
        SHOPIFY_VAT_MALFORMED,
        lambda name, mutate, field: assert_400_naming(
            stack, shop_delivery(SHOPIFY_RC_ORDER, mutate), field
        ),
    )


@pytest.mark.parametrize(
    "value",
    [
        "NL" + "1" * 5000,
        "NL123456789B01\r\nX-Injected: 1",
        "\x00\x01\x02",
        "١٢٣٤٥٦٧٨٩",
        "\u202eNL123",
    ],
    ids=["oversized", "crlf", "control characters", "non-ASCII digits", "bidi override"],
)
def test_shopify_order_hostile_vat_id_is_never_5xx_and_never_queued_unclean(
    stack: Stack, value: str
) -> None:
    """A hostile VAT ID is refused (400 naming it) or queued cleaned: no control characters,
    at most 255 characters, no control characters; the worker decides what a malformed one means."""
    status, answer = shop_delivery(SHOPIFY_RC_ORDER, _set(("note_attributes", 0, "value"), value))
    if status == 400:
        assert any(
            "vat" in field.lower() or "note_attributes" in field for field in fields_of(answer)
        ), answer
        assert_nothing_written(stack)
        return
    message = assert_accepted_once(stack, (status, answer), "orders")
    vat_id = message.order.customer.vat_id
    assert vat_id is None or len(vat_id) <= 255, vat_id
    assert vat_id is None or not any(ord(c) < 32 or ord(c) == 127 for c in vat_id), vat_id


WOO_VAT_CASES: list[tuple[str, Callable[[Any], Any], str]] = [
    (
        "billing.vat_id as an object",
        _set(("billing", "vat_id"), {"id": "NL123456789B01"}),
        "billing.vat_id",
    ),
    ("billing.vat_id as a list", _set(("billing", "vat_id"), ["NL123456789B01"]), "billing.vat_id"),
    (
        "meta_data as an object",
        _set(("meta_data",), {"key": "_vat_number", "value": "x"}),
        "meta_data",
    ),
    (
        "a meta entry as a list",
        _set(("meta_data",), [["_vat_number", "NL123456789B01"]]),
        "meta_data.0",
    ),
    (
        "a meta key as an object",
        _set(("meta_data",), [{"key": {"k": 1}, "value": "x"}]),
        "meta_data.0.key",
    ),
]


def test_woocommerce_order_malformed_vat_fields_are_400_naming_the_field(stack: Stack) -> None:
    each_case(
        WOO_VAT_CASES,
        lambda name, mutate, field: assert_400_naming(
            stack, shop_delivery(WOO_ORDER, mutate), field
        ),
    )


@pytest.mark.parametrize(
    "value",
    [
        {"nested": {"deeper": ["NL123456789B01"]}},
        1e300,
        "RAW:1e309",
        ["yes"] * 1000,
        "NL" + "1" * 5000,
    ],
    ids=["nested object", "huge number", "1e309", "long list", "oversized text"],
)
def test_woocommerce_order_hostile_vat_meta_value_is_never_5xx(stack: Stack, value: Any) -> None:
    """A plugin's meta value may be anything JSON; the VAT-ID reading never fails on it."""
    meta = [
        {"id": 1, "key": "_vat_number", "value": value},
        {"id": 2, "key": "is_vat_exempt", "value": value},
    ]
    status, answer = shop_delivery(WOO_ORDER, _set(("meta_data",), meta))
    if status == 400:
        assert fields_of(answer) or answer["error"] == "invalid_json", answer
        assert_nothing_written(stack)
        return
    message = assert_accepted_once(stack, (status, answer), "orders")
    vat_id = message.order.customer.vat_id
    assert vat_id is None or len(vat_id) <= 255, vat_id


@pytest.mark.parametrize(
    "status_value",
    [["refunded"], {"s": "cancelled"}, [], None],
    ids=["list", "object", "empty list", "null"],
)
def test_woocommerce_order_status_of_the_wrong_type_is_400_not_5xx(
    stack: Stack, status_value: Any
) -> None:
    """The refund reading looks at ``status`` before the order model does: a list or an object
    there must be a 400 naming it, like any other wrongly typed field."""

    def change(body: Any) -> None:
        body["status"] = status_value
        body["refunds"] = []

    assert_400_naming(stack, shop_delivery(WOO_ORDER, change), "status")


WOO_REFUNDED = EVENTS / "woocommerce/order-refunded.json"


@pytest.mark.parametrize(
    ("path", "value", "field"),
    [
        (("refunds", 0, "total"), "-59.505", "refunds.0.total"),
        (("refunds", 0, "total"), "-1000000000.00", "refunds.0.total"),
        (("refunds", 0, "id"), 4720.5, "refunds.0.id"),
        (("id",), 1.5, "id"),
    ],
)
def test_woocommerce_refund_amounts_and_ids_are_read_like_the_orders(
    stack: Stack, path: tuple[Any, ...], value: Any, field: str
) -> None:
    """Cents and the amount bound, integer ids: a WooCommerce refund is refused with 400 naming
    the field where the order routes would refuse the same value, and nothing is queued."""
    assert_400_naming(stack, shop_delivery(WOO_REFUNDED, _set(path, value)), field)
