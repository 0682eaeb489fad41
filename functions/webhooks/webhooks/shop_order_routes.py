"""Shopify and WooCommerce order deliveries: verify, validate, decide, enqueue.

Which deliveries become work follows the configured trigger (`INVOICE_TRIGGER`):
- `paid` (default): an order is queued once the shop says it is paid (Shopify `orders/paid`,
  or `orders/create` of an order that is already paid — some sales channels send only that;
  WooCommerce `processing`/`completed` with the paid rule of `woocommerce_order_is_paid`);
- `created`: every new order is queued (Shopify `orders/create`, WooCommerce orders that are
  not pending payment, failed or cancelled); a later paid delivery is queued too, so the
  worker books the payment on the invoice it already made.
Everything else is acknowledged with 200 and ignored (a 4xx would make WooCommerce disable
the webhook).
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import parse_qs
from zoneinfo import ZoneInfo

from pydantic import ValidationError

from autopilot.settings import InvoiceTrigger
from autopilot.shop_orders import (
    ShopifyOrderPayload,
    ShopOrder,
    ShopOrderError,
    WooCommerceOrderPayload,
    shop_order_from_shopify,
    shop_order_from_woocommerce,
    validation_problems,
)
from autopilot.signatures import verify_base64_hmac_sha256

from .deliveries import (
    RequestRejected,
    enqueue_once,
    intake_settings,
    parse_json,
    webhook_secrets,
)

BERLIN = ZoneInfo("Europe/Berlin")
SHOPIFY_ORDER_TOPICS = {"orders/create", "orders/paid"}
WOOCOMMERCE_ORDER_TOPICS = {"order.created", "order.updated"}
WOOCOMMERCE_NOT_YET_ORDERS = {"pending", "failed", "cancelled", "checkout-draft", "trash"}


def _today() -> dt.date:
    return dt.datetime.now(BERLIN).date()


def _require_signature(source: str, body: bytes, signature: str | None) -> None:
    if not verify_base64_hmac_sha256(body, signature, webhook_secrets(source)):
        raise RequestRejected(401, "invalid_signature", "signature could not be verified")


def _validated[Payload: (ShopifyOrderPayload, WooCommerceOrderPayload)](
    model: type[Payload], data: Any
) -> Payload:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise RequestRejected(
            400,
            "invalid_payload",
            "the order does not have the expected shape",
            problems=validation_problems(exc),
        ) from exc


def _order_problem(exc: ShopOrderError) -> RequestRejected:
    return RequestRejected(
        400,
        "invalid_payload",
        "the order cannot be invoiced as sent",
        problems=[{"field": exc.field, "message": str(exc)}],
    )


def _queue(order: ShopOrder, dedupe_key: str, topic: str) -> dict[str, Any]:
    message = {
        "kind": "shop_order",
        "topic": topic,
        "order": order.model_dump(mode="json"),
    }
    status = enqueue_once(intake_settings().orders_queue_url, dedupe_key, message, order.reference)
    return {"status": status, "order": order.reference}


def shopify_order(headers: dict[str, str], body: bytes) -> dict[str, Any]:
    """Handle a Shopify `orders/*` delivery; returns the JSON answer (status 200)."""
    _require_signature("shopify", body, headers.get("x-shopify-hmac-sha256"))
    topic = (headers.get("x-shopify-topic") or "").strip()
    shop = (headers.get("x-shopify-shop-domain") or "").strip().lower()
    if not topic or not shop:
        raise RequestRejected(
            400,
            "invalid_headers",
            "X-Shopify-Topic and X-Shopify-Shop-Domain are required",
        )
    if topic not in SHOPIFY_ORDER_TOPICS:
        return {"status": "ignored", "reason": f"topic {topic} does not create invoices"}
    payload = _validated(ShopifyOrderPayload, parse_json(body))
    try:
        order = shop_order_from_shopify(payload, shop, received_on=_today())
    except ShopOrderError as exc:
        raise _order_problem(exc) from exc
    trigger = intake_settings().invoice_trigger
    if trigger is InvoiceTrigger.PAID and not order.is_paid:
        return {"status": "ignored", "reason": "order is not paid yet", "order": order.reference}
    delivery = headers.get("x-shopify-event-id") or headers.get("x-shopify-webhook-id")
    dedupe_key = f"shopify:{shop}:{topic}:{delivery or order.order_id + ':' + order.status}"
    return _queue(order, dedupe_key, topic)


def is_woocommerce_ping(headers: dict[str, str], body: bytes) -> bool:
    """WooCommerce's unsigned ping on saving a webhook: a form body with only webhook_id."""
    if headers.get("x-wc-webhook-signature") or len(body) > 200:
        return False
    try:
        fields = parse_qs(body.decode("ascii"), strict_parsing=True)
    except (UnicodeDecodeError, ValueError):
        return False
    return set(fields) == {"webhook_id"}


def woocommerce_order(headers: dict[str, str], body: bytes) -> dict[str, Any]:
    """Handle a WooCommerce `order.*` delivery or its unsigned ping; returns the JSON answer
    (status 200)."""
    if is_woocommerce_ping(headers, body):
        return {"status": "ok"}
    _require_signature("woocommerce", body, headers.get("x-wc-webhook-signature"))
    topic = (headers.get("x-wc-webhook-topic") or "").strip()
    source = (headers.get("x-wc-webhook-source") or "").strip()
    if not source:
        raise RequestRejected(400, "invalid_headers", "X-WC-Webhook-Source is required")
    if topic and topic not in WOOCOMMERCE_ORDER_TOPICS:
        return {"status": "ignored", "reason": f"topic {topic} does not create invoices"}
    payload = _validated(WooCommerceOrderPayload, parse_json(body))
    try:
        order = shop_order_from_woocommerce(payload, source, received_on=_today())
    except ShopOrderError as exc:
        raise _order_problem(exc) from exc
    trigger = intake_settings().invoice_trigger
    if trigger is InvoiceTrigger.PAID and not order.is_paid:
        return {"status": "ignored", "reason": "order is not paid yet", "order": order.reference}
    if trigger is InvoiceTrigger.CREATED and order.status in WOOCOMMERCE_NOT_YET_ORDERS:
        return {"status": "ignored", "reason": f"order status {order.status}"}
    modified = payload.date_modified_gmt or payload.date_modified
    version = modified.isoformat() if modified else order.status
    dedupe_key = f"woocommerce:{order.shop}:order:{order.order_id}:{version}"
    return _queue(order, dedupe_key, topic or "order.updated")
