"""WooCommerce refunds and cancellations, read from an ``order.updated`` body.

WooCommerce has no refund webhook: ``order.updated`` fires, its ``refunds[]`` holds only
``{id, reason, total}`` (``total`` negative), status ``refunded`` means fully refunded and
``cancelled`` cancelled. So:

- every entry of ``refunds[]`` is one :class:`ShopRefund` of its amount (no lines: the worker
  splits it over the invoice's tax rates), deduplicated per refund id;
- status ``refunded`` with an empty ``refunds[]`` is one refund of the order total
  (id ``order-<id>-refunded``);
- status ``cancelled`` is one :class:`ShopCancellation` per order.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from autopilot.messages import Message, ShopCancellationMessage, ShopRefundMessage
from autopilot.shop_refunds import MAX_REFUND_LINES, ShopCancellation, ShopRefund

from .deliveries import RequestRejected, validation_problems
from .order_payloads import Amount, ShopId

OrderNumber = Annotated[str, BeforeValidator(lambda v: str(v) if isinstance(v, int) else v)]
REFUND_STATUSES = frozenset({"refunded", "cancelled"})


class _Billing(BaseModel):
    model_config = ConfigDict(extra="ignore")

    email: Annotated[str, Field(max_length=254)] | None = None


class _Refund(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: ShopId
    reason: Annotated[str, Field(max_length=1000)] | None = None
    total: Amount


class WooCommerceRefundsPayload(BaseModel):
    """The part of a WooCommerce order a refund or cancellation needs."""

    model_config = ConfigDict(extra="ignore")

    id: ShopId
    number: OrderNumber | None = Field(default=None, max_length=255)
    status: str = Field(max_length=64)
    currency: str = Field(default="EUR", min_length=3, max_length=3)
    total: Amount | None = None
    payment_method: Annotated[str, Field(max_length=255)] | None = None
    date_modified_gmt: dt.datetime | None = None
    billing: _Billing | None = None
    refunds: list[_Refund] = Field(default_factory=list, max_length=MAX_REFUND_LINES)


def _utc(moment: dt.datetime | None) -> dt.datetime:
    if moment is None:
        return dt.datetime.now(dt.UTC)
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def woocommerce_refund_work(data: Any, site: str) -> list[tuple[Message, str]]:
    """The refund and cancellation messages of an ``order.*`` body, each with its dedupe key."""
    if not isinstance(data, dict):
        return []
    status = data.get("status")  # any JSON value: the order model refuses a wrong type (400)
    if not (data.get("refunds") or (isinstance(status, str) and status in REFUND_STATUSES)):
        return []
    try:
        order = WooCommerceRefundsPayload.model_validate(data)
        when = _utc(order.date_modified_gmt)
        work: list[tuple[Message, str]] = []
        refunds = [(r.id, -r.total, r.reason) for r in order.refunds if r.total != 0]
        if order.status == "refunded" and not order.refunds and order.total:
            refunds.append((f"order-{order.id}-refunded", order.total, None))
        for refund_id, amount, reason in refunds:
            refund = ShopRefund(
                source="woocommerce",
                shop=site,
                order_id=order.id,
                order_number=order.number,
                refund_id=refund_id,
                created_at=when,
                amount=abs(amount),
                currency=order.currency.upper(),
                gateway=order.payment_method,
                reason=reason,
                email=order.billing.email if order.billing and order.billing.email else None,
            )
            key = f"woocommerce:{site}:refund:{order.id}:{refund_id}"
            work.append((ShopRefundMessage(topic="order.updated", refund=refund), key))
        if order.status == "cancelled":
            cancellation = ShopCancellation(
                source="woocommerce",
                shop=site,
                order_id=order.id,
                order_number=order.number,
                cancelled_at=when,
            )
            key = f"woocommerce:{site}:cancellation:{order.id}"
            work.append(
                (ShopCancellationMessage(topic="order.updated", cancellation=cancellation), key)
            )
    except ValidationError as exc:
        raise RequestRejected(
            400,
            "invalid_payload",
            "the order's refunds do not have the expected shape",
            problems=validation_problems(exc),
        ) from exc
    return work
