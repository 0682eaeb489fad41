"""Shop refunds and cancellations: what the intake queues for the refund_credit worker.

The intake (``functions/webhooks``) turns a Shopify ``refunds/create`` or ``orders/cancelled``,
or a WooCommerce ``order.updated`` with a new ``refunds[]`` entry or the status ``refunded`` /
``cancelled``, into a :class:`ShopRefund` or a :class:`ShopCancellation` and queues it in an
``autopilot.messages.ShopRefundMessage`` / ``ShopCancellationMessage``. Nothing here knows a
shop's payload.

Amounts are gross (what went back to the customer), in cents, never negative. A refund's
``lines`` and ``shipping`` say *what* was refunded when the shop says it (Shopify); a refund
without them (WooCommerce, a Shopify amount-only refund) is split by the worker over the
invoice's tax rates.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from autopilot.billomat.vocabulary import PaymentType
from autopilot.money import ZERO, normalize_rate, to_cents
from autopilot.shop_orders import LongText, ShopSource, ShortText, payment_type_for_gateway

MAX_REFUND_LINES = 500
REFUND_AMOUNT_LIMIT = Decimal("1e12")


def _whole_cents(value: Decimal) -> Decimal:
    if value != to_cents(value):
        raise ValueError("an amount must be whole cents")
    return value


Cents = Annotated[
    Decimal,
    Field(ge=0, lt=REFUND_AMOUNT_LIMIT, allow_inf_nan=False),
    AfterValidator(_whole_cents),
]
"""A non-negative amount in whole cents."""


class RefundLine(BaseModel):
    """One refunded line item: what the customer got back for it (gross, cents)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    title: LongText
    sku: ShortText | None = None
    quantity: Decimal = Field(gt=0, le=Decimal(1_000_000), allow_inf_nan=False)
    amount: Cents
    """The refunded gross amount of the line (all ``quantity`` units, after discounts)."""
    tax_rate: Annotated[Decimal, AfterValidator(normalize_rate)] | None = None
    """The shop's rate for the line, if it says; the invoice position's rate wins."""


class _OrderEvent(BaseModel):
    """What happened to one shop order: the order it names."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    source: ShopSource
    shop: str = Field(min_length=1, max_length=255)
    order_id: str = Field(min_length=1, max_length=64)
    order_number: ShortText | None = None
    """What the customer sees (``#1001``), when the payload names it."""

    @property
    def order_reference(self) -> str:
        """The order's reference (``autopilot.shop_orders.ShopOrder.reference``)."""
        return f"{self.source}:{self.shop}:order:{self.order_id}"


class ShopRefund(_OrderEvent):
    """One refund of a shop order, as the refund_credit workflow needs it."""

    refund_id: str = Field(min_length=1, max_length=64)
    created_at: dt.datetime
    amount: Cents
    """The refunded total (what went back to the customer)."""
    currency: str = Field(min_length=3, max_length=3)
    gateway: ShortText | None = None
    lines: list[RefundLine] = Field(default_factory=list, max_length=MAX_REFUND_LINES)
    shipping: Cents = ZERO
    """Refunded shipping, gross."""
    reason: Annotated[str, Field(max_length=1000)] | None = None
    email: Annotated[str, Field(max_length=254)] | None = None
    """The customer's e-mail when the payload carries it (WooCommerce); else the worker
    e-mails the invoice's client."""

    @property
    def reference(self) -> str:
        """Our business key for the refund, kept in the credit note's ``customfield``."""
        return f"{self.source}:{self.shop}:refund:{self.refund_id}"

    @property
    def itemised(self) -> bool:
        """The shop said what was refunded (lines or shipping), not only how much."""
        return bool(self.lines) or self.shipping > ZERO

    @property
    def refunded_on(self) -> dt.date:
        return self.created_at.date()

    @property
    def payment_type(self) -> PaymentType:
        """The Billomat payment type of the payout (from the refund's gateway)."""
        return payment_type_for_gateway(self.gateway)


class ShopCancellation(_OrderEvent):
    """A shop order was cancelled."""

    cancelled_at: dt.datetime
    reason: Annotated[str, Field(max_length=1000)] | None = None

    @property
    def reference(self) -> str:
        """Our key for the cancellation (one per order: nothing is cancelled twice)."""
        return f"{self.source}:{self.shop}:cancellation:{self.order_id}"
