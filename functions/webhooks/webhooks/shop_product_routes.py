"""Shopify and WooCommerce product deliveries: verify, validate, convert, enqueue.

Every product change of a served shop is queued on the products queue as a
``ShopProductMessage`` for the article_sync worker, which decides whether an article changes
(``products/update`` fires for every stock change; such a delivery is queued all the same).
How the payloads map is in :mod:`.shopify_products` and :mod:`.woocommerce_products`.

Answers (status 200): ``{"status": "queued"|"duplicate", "product": <reference>}``;
``{"status": "ignored", "reason": …}`` for a topic that is not a product change;
``{"status": "ok"}`` for WooCommerce's ping. Refusals as on the order routes: 401 unknown
shop or bad signature, 400 naming the bad fields, 413 for a body over 1 MiB.

Transport dedupe keys come from the signed body only, as on the order routes: Shopify's is the
body's hash (a retry carries the original body); WooCommerce's is the product id, topic and
``date_modified_gmt`` (a bare ``{"id": …}`` deletion: the body's hash).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable
from typing import Any

from pydantic import ValidationError

from autopilot.messages import ShopProductMessage
from autopilot.shop_products import ShopProduct

from .deliveries import (
    RequestRejected,
    enqueue_once,
    intake_settings,
    parse_json,
    validation_problems,
)
from .product_payloads import ProductPayloadError
from .shop_deliveries import (
    is_woocommerce_ping,
    require_shop_signature,
    shopify_shop,
    woocommerce_shop,
)
from .shopify_products import (
    ShopifyProductDeletion,
    ShopifyProductPayload,
    deleted_shopify_product,
    shop_product_from_shopify,
)
from .woocommerce_products import (
    WooCommerceProductPayload,
    change_time,
    deleted_woocommerce_product,
    is_deletion,
    shop_product_from_woocommerce,
)

SHOPIFY_PRODUCT_TOPICS = {"products/create", "products/update", "products/delete"}
WOOCOMMERCE_PRODUCT_TOPICS = {
    "product.created",
    "product.updated",
    "product.deleted",
    "product.restored",
}
WOOCOMMERCE_DEFAULT_TOPIC = "product.updated"


def _invalid(problems: list[dict[str, str]]) -> RequestRejected:
    return RequestRejected(
        400, "invalid_payload", "the product does not have the expected shape", problems=problems
    )


def _validated[Payload: (ShopifyProductPayload, ShopifyProductDeletion, WooCommerceProductPayload)](
    model: type[Payload], data: Any
) -> Payload:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise _invalid(validation_problems(exc)) from exc


def _converted(convert: Callable[[], ShopProduct]) -> ShopProduct:
    """The ShopProduct, or a 400 naming the field that does not fit one.

    Fields that fit the shop's schema but not a ShopProduct are named as in the payload when
    the converter knows them, else as in the ShopProduct.
    """
    try:
        return convert()
    except ProductPayloadError as exc:
        raise _invalid([{"field": exc.field, "message": str(exc)}]) from exc
    except ValidationError as exc:
        raise _invalid(validation_problems(exc)) from exc


def _queue(product: ShopProduct, dedupe_key: str, topic: str) -> dict[str, Any]:
    message = ShopProductMessage(topic=topic, product=product)
    status = enqueue_once(intake_settings().products_queue_url, dedupe_key, message)
    return {"status": status, "product": product.reference}


def _body_hash(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def shopify_product(headers: dict[str, str], body: bytes) -> dict[str, Any]:
    """Handle a Shopify `products/*` delivery; returns the JSON answer (status 200)."""
    shop, served = shopify_shop(headers)
    require_shop_signature("shopify", shop, served, body, headers.get("x-shopify-hmac-sha256"))
    topic = (headers.get("x-shopify-topic") or "").strip()
    if not topic:
        raise RequestRejected(400, "invalid_headers", "X-Shopify-Topic is required")
    if topic not in SHOPIFY_PRODUCT_TOPICS:
        return {"status": "ignored", "reason": f"topic {topic[:80]} is not a product change"}
    data = parse_json(body)
    if topic == "products/delete":
        deletion = _validated(ShopifyProductDeletion, data)
        received_at = dt.datetime.now(dt.UTC)
        product = _converted(
            lambda: deleted_shopify_product(deletion, shop, received_at=received_at)
        )
    else:
        payload = _validated(ShopifyProductPayload, data)
        product = _converted(lambda: shop_product_from_shopify(payload, shop))
    return _queue(product, f"shopify:{shop}:body:{_body_hash(body)}", topic)


def woocommerce_product(headers: dict[str, str], body: bytes) -> dict[str, Any]:
    """Handle a WooCommerce `product.*` delivery or its unsigned ping; returns the JSON answer
    (status 200)."""
    if is_woocommerce_ping(headers, body):
        return {"status": "ok"}
    site, served = woocommerce_shop(headers)
    require_shop_signature("woocommerce", site, served, body, headers.get("x-wc-webhook-signature"))
    topic = (headers.get("x-wc-webhook-topic") or "").strip() or WOOCOMMERCE_DEFAULT_TOPIC
    if topic not in WOOCOMMERCE_PRODUCT_TOPICS:
        return {"status": "ignored", "reason": f"topic {topic[:80]} is not a product change"}
    payload = _validated(WooCommerceProductPayload, parse_json(body))
    if is_deletion(payload, topic):
        received_at = dt.datetime.now(dt.UTC)
        product = _converted(
            lambda: deleted_woocommerce_product(payload, site, topic, received_at=received_at)
        )
    else:
        product = _converted(lambda: shop_product_from_woocommerce(payload, site, topic))
    changed = change_time(payload, topic)
    version = changed.isoformat() if changed else f"body:{_body_hash(body)}"
    return _queue(product, f"woocommerce:{site}:product:{payload.id}:{topic}:{version}", topic)
