"""Shopify refunds (``refunds/create``) and cancellations (``orders/cancelled``) → refunds queue.

Same rules as the order routes (``shop_order_routes``): the configured shop, the signature
on the raw body, the body bounds of ``deliveries.parse_json``, dedupe per delivery. A refund is
deduplicated by its id, a cancellation by its order (a cancellation happens once).

Shopify's refund line ``subtotal`` is read as net with ``total_tax`` on top; when that does not
add up to the refunded money but the subtotals alone do (a shop whose prices include tax),
the subtotals are the gross amounts. Anything else reaches the worker as it is, and the worker
keeps the credit note a draft for accounting (its total must equal the refund).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from autopilot.messages import Message, ShopCancellationMessage, ShopRefundMessage
from autopilot.money import ZERO, rate_from_fraction, to_cents
from autopilot.shop_refunds import MAX_REFUND_LINES, RefundLine, ShopCancellation, ShopRefund

from .deliveries import (
    RequestRejected,
    enqueue_once,
    intake_settings,
    parse_json,
    validation_problems,
)
from .order_payloads import Amount, ShopId, TaxFraction
from .shop_deliveries import require_shop_signature, shopify_shop

Text = Annotated[str, Field(max_length=1000)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore")


class _TaxLine(_Model):
    rate: TaxFraction | None = None


class _LineItem(_Model):
    title: Text | None = None
    name: Text | None = None
    sku: Annotated[str, Field(max_length=255)] | None = None
    tax_lines: list[_TaxLine] = Field(default_factory=list, max_length=50)


class _RefundLineItem(_Model):
    quantity: int = Field(ge=0, le=1_000_000)
    subtotal: Amount = ZERO
    total_tax: Amount = ZERO
    line_item: _LineItem | None = None


class _Transaction(_Model):
    kind: str | None = Field(default=None, max_length=64)
    status: str | None = Field(default=None, max_length=64)
    amount: Amount = ZERO
    gateway: Annotated[str, Field(max_length=255)] | None = None
    currency: Annotated[str, Field(min_length=3, max_length=3)] | None = None


class _Adjustment(_Model):
    kind: str | None = Field(default=None, max_length=64)
    amount: Amount = ZERO
    tax_amount: Amount = ZERO


class _Money(_Model):
    amount: Amount = ZERO


class _MoneySet(_Model):
    shop_money: _Money = Field(default_factory=_Money)


class _ShippingLine(_Model):
    subtotal_amount_set: _MoneySet = Field(default_factory=_MoneySet)
    tax_amount_set: _MoneySet = Field(default_factory=_MoneySet)


class ShopifyRefundPayload(_Model):
    """The fields of a Shopify ``refunds/create`` body the credit note needs."""

    id: ShopId
    order_id: ShopId
    created_at: dt.datetime
    note: Text | None = None
    refund_line_items: list[_RefundLineItem] = Field(
        default_factory=list, max_length=MAX_REFUND_LINES
    )
    transactions: list[_Transaction] = Field(default_factory=list, max_length=100)
    order_adjustments: list[_Adjustment] = Field(default_factory=list, max_length=100)
    refund_shipping_lines: list[_ShippingLine] = Field(default_factory=list, max_length=100)


class ShopifyCancelledPayload(_Model):
    """The fields of a Shopify ``orders/cancelled`` body."""

    id: ShopId
    name: Annotated[str, Field(max_length=255)] | None = None
    cancelled_at: dt.datetime | None = None
    cancel_reason: Text | None = None


def _rejected(exc: ValidationError, what: str) -> RequestRejected:
    return RequestRejected(
        400,
        "invalid_payload",
        f"the {what} does not have the expected shape",
        problems=validation_problems(exc),
    )


def shop_refund_from_shopify(payload: ShopifyRefundPayload, shop: str) -> ShopRefund:
    """The refund as the worker needs it (amounts gross, see the module docstring)."""
    money = [
        t for t in payload.transactions if t.kind == "refund" and t.status in (None, "success")
    ]
    amount = sum((abs(t.amount) for t in money), ZERO)
    if payload.refund_shipping_lines:
        shipping = sum(
            (
                abs(s.subtotal_amount_set.shop_money.amount)
                + abs(s.tax_amount_set.shop_money.amount)
                for s in payload.refund_shipping_lines
            ),
            ZERO,
        )
    else:
        shipping = sum(
            (
                abs(a.amount) + abs(a.tax_amount)
                for a in payload.order_adjustments
                if a.kind == "shipping_refund"
            ),
            ZERO,
        )
    items = [r for r in payload.refund_line_items if r.quantity > 0]
    with_tax = sum((r.subtotal + r.total_tax for r in items), ZERO)
    tax_included = (
        with_tax + shipping != amount
        and sum((r.subtotal for r in items), ZERO) + (shipping) == amount
    )
    lines = []
    for r in items:
        item = r.line_item or _LineItem()
        rate = next((t.rate for t in item.tax_lines if t.rate is not None), None)
        lines.append(
            RefundLine(
                title=(item.name or item.title or "Artikel")[:1000],
                sku=item.sku or None,
                quantity=Decimal(r.quantity),
                amount=to_cents(r.subtotal if tax_included else r.subtotal + r.total_tax),
                tax_rate=rate_from_fraction(rate) if rate is not None else None,
            )
        )
    return ShopRefund(
        source="shopify",
        shop=shop,
        order_id=payload.order_id,
        refund_id=payload.id,
        created_at=payload.created_at,
        amount=to_cents(amount),
        currency=next((t.currency.upper() for t in money if t.currency), "EUR"),
        gateway=next((t.gateway for t in money if t.gateway), None),
        lines=lines,
        shipping=to_cents(shipping),
        reason=payload.note,
    )


def queue_refund_work(work: list[tuple[Message, str]]) -> list[dict[str, str]]:
    """Queue each message on the refunds queue once per its dedupe key."""
    url = intake_settings().refunds_queue_url
    return [
        {"status": enqueue_once(url, key, message), "reference": message.correlation_id}
        for message, key in work
    ]


def shopify_refund(headers: dict[str, str], body: bytes) -> dict[str, Any]:
    """Handle a Shopify ``refunds/create`` delivery; returns the JSON answer (status 200)."""
    shop, served = shopify_shop(headers)
    require_shop_signature("shopify", shop, served, body, headers.get("x-shopify-hmac-sha256"))
    topic = (headers.get("x-shopify-topic") or "").strip()
    if not topic:
        raise RequestRejected(400, "invalid_headers", "X-Shopify-Topic is required")
    if topic != "refunds/create":
        return {"status": "ignored", "reason": f"topic {topic[:80]} does not make credit notes"}
    try:
        refund = shop_refund_from_shopify(
            ShopifyRefundPayload.model_validate(parse_json(body)), shop
        )
    except ValidationError as exc:
        raise _rejected(exc, "refund") from exc
    except (ValueError, ArithmeticError) as exc:  # e.g. a tax-line rate outside 0..1
        raise RequestRejected(
            400, "invalid_payload", f"the refund cannot be read: {str(exc)[:200]}"
        ) from exc
    message = ShopRefundMessage(topic=topic, refund=refund)
    (result,) = queue_refund_work([(message, f"shopify:{shop}:refund:{refund.refund_id}")])
    return result


def shopify_cancellation(shop: str, body: bytes) -> dict[str, Any]:
    """A verified Shopify ``orders/cancelled`` body → a cancellation on the refunds queue."""
    try:
        payload = ShopifyCancelledPayload.model_validate(parse_json(body))
        cancellation = ShopCancellation(
            source="shopify",
            shop=shop,
            order_id=payload.id,
            order_number=payload.name,
            cancelled_at=payload.cancelled_at or dt.datetime.now(dt.UTC),
            reason=payload.cancel_reason,
        )
    except ValidationError as exc:
        raise _rejected(exc, "cancelled order") from exc
    message = ShopCancellationMessage(topic="orders/cancelled", cancellation=cancellation)
    (result,) = queue_refund_work([(message, f"shopify:{shop}:cancellation:{payload.id}")])
    return result
