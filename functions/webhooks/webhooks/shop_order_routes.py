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

import hashlib
from collections.abc import Callable
from typing import Any

from pydantic import ValidationError

from autopilot.business_time import berlin_today
from autopilot.messages import ShopOrderMessage
from autopilot.settings import InvoiceTrigger
from autopilot.shop_orders import ShopOrder, ShopOrderError, checked_total

from .deliveries import (
    RequestRejected,
    enqueue_once,
    intake_settings,
    parse_json,
    validation_problems,
)
from .shop_deliveries import (
    is_woocommerce_ping,
    require_shop_signature,
    shopify_shop,
    woocommerce_shop,
)
from .shopify_orders import ShopifyOrderPayload, shop_order_from_shopify
from .woocommerce_orders import WooCommerceOrderPayload, shop_order_from_woocommerce
from .woocommerce_refunds import woocommerce_refund_work

SHOPIFY_ORDER_TOPICS = {"orders/create", "orders/paid"}
WOOCOMMERCE_ORDER_TOPICS = {"order.created", "order.updated"}
WOOCOMMERCE_NOT_YET_ORDERS = {"pending", "failed", "cancelled", "checkout-draft", "trash"}


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


def _invoiceable(convert: Callable[[], ShopOrder], total_field: str) -> ShopOrder:
    """The converted order when its total equals its parts; else a 400 naming the field.

    A field may fit the shop's schema but not an invoice (e.g. a 300-character name); such
    fields are named as in the normalised order.
    """
    try:
        return checked_total(convert(), total_field)
    except ShopOrderError as exc:
        problems = [{"field": exc.field, "message": str(exc)}]
        raise RequestRejected(
            400, "invalid_payload", "the order cannot be invoiced as sent", problems=problems
        ) from exc
    except ValidationError as exc:
        raise RequestRejected(
            400,
            "invalid_payload",
            "the order cannot be invoiced as sent",
            problems=validation_problems(exc),
        ) from exc


def _queue(order: ShopOrder, dedupe_key: str, topic: str) -> dict[str, Any]:
    message = ShopOrderMessage(topic=topic, order=order)
    status = enqueue_once(intake_settings().orders_queue_url, dedupe_key, message)
    return {"status": status, "order": order.reference}


def shopify_order(headers: dict[str, str], body: bytes) -> dict[str, Any]:
    """Handle a Shopify `orders/*` delivery; returns the JSON answer (status 200).

    The shop is the configured one the header names; the order and the transport dedupe key
    come from the signed body only (Shopify retries carry the original body).
    """
    shop, served = shopify_shop(headers)
    require_shop_signature("shopify", shop, served, body, headers.get("x-shopify-hmac-sha256"))
    topic = (headers.get("x-shopify-topic") or "").strip()
    if not topic:
        raise RequestRejected(400, "invalid_headers", "X-Shopify-Topic is required")
    if topic == "orders/cancelled":
        from .refund_routes import shopify_cancellation

        return shopify_cancellation(shop, body)
    if topic not in SHOPIFY_ORDER_TOPICS:
        return {"status": "ignored", "reason": f"topic {topic[:80]} does not create invoices"}
    payload = _validated(ShopifyOrderPayload, parse_json(body))
    order = _invoiceable(
        lambda: shop_order_from_shopify(
            payload,
            shop,
            received_on=berlin_today(),
            vat_id_names=intake_settings().vat_id_note_attributes,
        ),
        "total_price",
    )
    trigger = intake_settings().invoice_trigger
    if trigger is InvoiceTrigger.PAID and not order.is_paid:
        return {"status": "ignored", "reason": "order is not paid yet", "order": order.reference}
    dedupe_key = f"shopify:{shop}:body:{hashlib.sha256(body).hexdigest()}"
    return _queue(order, dedupe_key, topic)


def woocommerce_order(headers: dict[str, str], body: bytes) -> dict[str, Any]:
    """Handle a WooCommerce `order.*` delivery or its unsigned ping; returns the JSON answer
    (status 200)."""
    if is_woocommerce_ping(headers, body):
        return {"status": "ok"}
    site, served = woocommerce_shop(headers)
    require_shop_signature("woocommerce", site, served, body, headers.get("x-wc-webhook-signature"))
    topic = (headers.get("x-wc-webhook-topic") or "").strip()
    if topic and topic not in WOOCOMMERCE_ORDER_TOPICS:
        return {"status": "ignored", "reason": f"topic {topic[:80]} does not create invoices"}
    data = parse_json(body)
    work = woocommerce_refund_work(data, site)  # refunds, cancellation: queued once valid
    payload = _validated(WooCommerceOrderPayload, data)
    order = _invoiceable(
        lambda: shop_order_from_woocommerce(
            payload,
            site,
            received_on=berlin_today(),
            vat_id_keys=intake_settings().vat_id_meta_keys,
        ),
        "total",
    )
    if work:
        from .refund_routes import queue_refund_work

        queue_refund_work(work)
    trigger = intake_settings().invoice_trigger
    if trigger is InvoiceTrigger.PAID and not order.is_paid:
        return {"status": "ignored", "reason": "order is not paid yet", "order": order.reference}
    if trigger is InvoiceTrigger.CREATED and order.status in WOOCOMMERCE_NOT_YET_ORDERS:
        return {"status": "ignored", "reason": f"order status {order.status}"}
    modified = payload.date_modified_gmt or payload.date_modified
    version = modified.isoformat() if modified else order.status
    dedupe_key = f"woocommerce:{order.shop}:order:{order.order_id}:{version}"
    return _queue(order, dedupe_key, topic or "order.updated")
