"""The shop order: the one source-agnostic order every shop's webhook becomes.

The intake (``functions/webhooks``) validates a Shopify or WooCommerce body with that shop's
payload model, converts it into a :class:`ShopOrder`, checks it with :func:`checked_total` and
queues it in an ``autopilot.messages.ShopOrderMessage``; the order_invoice worker reads it back.
Nothing here knows a shop's payload: those models and converters live with the intake.

Amounts stay on the shop's pricing basis: gross when the shop's prices include tax, else net.
Gift cards sold are 0 % positions; paying *with* one is a payment of type COUPON (see
:func:`payment_type_for_gateway`), not a discount.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from autopilot.billomat.vocabulary import PaymentType
from autopilot.money import CENT, ZERO, normalize_rate, to_cents

ShopSource = Literal["shopify", "woocommerce"]
LineKind = Literal["item", "shipping", "fee"]


class ShopOrderError(ValueError):
    """A payload that validates field by field but cannot be turned into an order."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


ShortText = Annotated[str, Field(max_length=255)]
"""Names, address parts, numbers: what a Billomat client or document field holds."""
LongText = Annotated[str, Field(max_length=1000)]
"""A position title (product and variant name)."""
MAX_ORDER_LINES = 500


class ShopCustomer(BaseModel):
    """The buyer as the invoice addresses them (billing address first)."""

    model_config = ConfigDict(frozen=True)

    email: Annotated[str, Field(max_length=254)] | None = None
    first_name: ShortText | None = None
    last_name: ShortText | None = None
    company: ShortText | None = None
    street: ShortText | None = None
    street2: ShortText | None = None
    zip: ShortText | None = None
    city: ShortText | None = None
    country_code: ShortText | None = None
    phone: ShortText | None = None
    vat_id: ShortText | None = None
    """The buyer's VAT ID as the shop gave it (``autopilot.vat_rules.normalize_vat_id``
    applied by the intake; not necessarily well-formed: the worker's VAT decision checks it)."""
    reverse_charge_exemption: bool = False
    """The shop exempted the buyer from VAT as an EU business (Shopify's customer tax
    exemption ``EU_REVERSE_CHARGE_EXEMPTION_RULE``, WooCommerce's ``is_vat_exempt``). Optional
    with a default, so messages queued before it existed still parse."""


class OrderLine(BaseModel):
    """One priced line of an order, on the shop's pricing basis (gross or net).

    ``unit_price`` is the price before discounts; ``discount`` the line's whole discount. The
    unit price may carry more than two decimals when the shop only states line amounts
    (WooCommerce), but ``subtotal`` is always the shop's line amount in cents.
    """

    model_config = ConfigDict(frozen=True)

    kind: LineKind
    title: LongText
    sku: ShortText | None = None
    quantity: Decimal = Field(ge=0, allow_inf_nan=False)
    unit_price: Decimal = Field(allow_inf_nan=False)
    discount: Decimal = Field(default=ZERO, allow_inf_nan=False)
    tax_rate: Annotated[Decimal, AfterValidator(normalize_rate)]
    """Percent, normalised (``19.00`` and ``19`` are the same rate)."""

    @property
    def subtotal(self) -> Decimal:
        """The line amount before discounts, in cents."""
        return to_cents(self.quantity * self.unit_price)

    @property
    def amount(self) -> Decimal:
        """The line amount after discounts, in cents."""
        return self.subtotal - self.discount


class ShopOrder(BaseModel):
    """A shop order as the order_invoice workflow needs it, whichever shop it came from."""

    model_config = ConfigDict(frozen=True)

    source: ShopSource
    shop: str = Field(min_length=1, max_length=255)
    """Shopify shop domain or WooCommerce host name."""
    order_id: str = Field(min_length=1, max_length=64)
    order_number: ShortText
    """What the customer sees, e.g. ``#1001`` or ``4711``."""
    customer_id: ShortText | None = None
    currency: str
    prices_include_tax: bool
    is_paid: bool
    paid_on: dt.date | None = None
    payment_gateway: ShortText | None = None
    status: ShortText
    """The shop's own status (Shopify ``financial_status``, WooCommerce ``status``)."""
    ordered_on: dt.date
    customer: ShopCustomer
    lines: list[OrderLine] = Field(max_length=MAX_ORDER_LINES)
    total: Decimal = Field(allow_inf_nan=False)
    """The gross order total as the shop states it."""
    total_tax: Decimal = Field(allow_inf_nan=False)

    @property
    def reference(self) -> str:
        """Our business key for the order, stored in the invoice's ``customfield``."""
        return f"{self.source}:{self.shop}:order:{self.order_id}"

    @property
    def customer_reference(self) -> str | None:
        """Our key for the shop's customer, stored in the client's ``customfield``."""
        if self.customer_id is None:
            return None
        return f"{self.source}:{self.shop}:customer:{self.customer_id}"

    @property
    def payment_type(self) -> PaymentType:
        """The Billomat payment type for this order's gateway."""
        return payment_type_for_gateway(self.payment_gateway)


# --------------------------------------------------------------------------------------------
# What every order must satisfy
# --------------------------------------------------------------------------------------------


def checked_total(order: ShopOrder, total_field: str) -> ShopOrder:
    """``order`` when its total is whole cents, not negative, and equals its parts within a
    cent (item, shipping and fee lines after discounts, plus the tax when prices are net);
    ShopOrderError naming ``total_field`` otherwise. No item or shipping line may end below
    zero (a discount larger than its line); only a fee may be negative (a discount as fee).
    """
    for index, line in enumerate(order.lines):
        if line.kind != "fee" and line.amount < ZERO:
            raise ShopOrderError(
                f"lines.{index}", f"{line.title[:80]}: the discount is larger than the line"
            )
    parts = sum((line.amount for line in order.lines), ZERO)
    if not order.prices_include_tax:
        parts += order.total_tax
    if order.total < ZERO or order.total != to_cents(order.total):
        raise ShopOrderError(total_field, "the total must be a non-negative amount in cents")
    if abs(parts - order.total) > CENT:
        basis = "lines, shipping and fees" if order.prices_include_tax else "net lines plus tax"
        raise ShopOrderError(
            total_field,
            f"the total {order.total} does not equal its parts ({basis}: {parts})",
        )
    return order


# --------------------------------------------------------------------------------------------
# Payment types
# --------------------------------------------------------------------------------------------

_EXACT_GATEWAYS: dict[str, PaymentType] = {
    "gift_card": PaymentType.COUPON,
    "paypal": PaymentType.PAYPAL,
    "shopify_payments": PaymentType.CREDIT_CARD,
    "stripe": PaymentType.CREDIT_CARD,
    "woocommerce_payments": PaymentType.CREDIT_CARD,
    "bacs": PaymentType.BANK_TRANSFER,
    "bank_transfer": PaymentType.BANK_TRANSFER,
    "bank_deposit": PaymentType.BANK_TRANSFER,
    "vorkasse": PaymentType.BANK_TRANSFER,
    "cod": PaymentType.CASH,
    "cash_on_delivery": PaymentType.CASH,
    "cash_on_delivery_cod": PaymentType.CASH,
    "cheque": PaymentType.CHECK,
    "check": PaymentType.CHECK,
}

# (payment type, words that may appear anywhere, tokens that must stand alone) in priority order.
_GATEWAY_HINTS: tuple[tuple[PaymentType, tuple[str, ...], frozenset[str]], ...] = (
    (PaymentType.COUPON, ("gift_card", "giftcard", "gutschein", "voucher"), frozenset()),
    (PaymentType.PAYPAL, ("paypal", "ppcp", "ppec"), frozenset()),
    (PaymentType.MISC, ("klarna", "afterpay", "clearpay", "ratepay", "invoice", "rechnung"),
     frozenset()),
    (PaymentType.BANK_CARD, ("girocard", "ec_card", "eccard", "debit_card", "debitcard",
                             "maestro", "bank_card"), frozenset()),
    (PaymentType.DEBIT, ("sepa", "direct_debit", "directdebit", "lastschrift", "debit"),
     frozenset()),
    (PaymentType.CASH, ("cash", "nachnahme", "barzahlung"), frozenset({"cod", "bar"})),
    (PaymentType.CHECK, ("cheque", "scheck"), frozenset({"check"})),
    (PaymentType.CREDIT_CARD, ("credit", "card", "stripe", "shopify_payments", "braintree",
                               "adyen", "square", "apple_pay", "google_pay", "applepay",
                               "googlepay", "visa", "mastercard", "amex"), frozenset()),
    (PaymentType.BANK_TRANSFER, ("bacs", "bank", "transfer", "vorkasse", "ueberweisung",
                                 "uberweisung", "sofort", "giropay", "przelewy", "bancontact",
                                 "trustly"), frozenset({"eps", "ideal"})),
)  # fmt: skip


def payment_type_for_gateway(gateway: str | None) -> PaymentType:
    """The Billomat payment type for a shop's payment gateway name; unknown gateways are MISC.

    PayPal → PAYPAL; Stripe, Shopify Payments, WooPayments, card gateways, Apple/Google Pay →
    CREDIT_CARD; girocard/EC → BANK_CARD; SEPA direct debit → DEBIT; bank transfer, Vorkasse,
    Sofort, giropay, iDEAL, EPS → BANK_TRANSFER (the money arrives as a transfer); cash on
    delivery → CASH; cheque → CHECK; gift card → COUPON; Klarna and other buy-now-pay-later or
    purchase-on-invoice methods → MISC (a provider payout, not a payment by the customer).
    """
    if gateway is None:
        return PaymentType.MISC
    name = re.sub(r"[^a-z0-9]+", "_", gateway.strip().lower().replace("ü", "ue")).strip("_")
    if not name:
        return PaymentType.MISC
    if name in _EXACT_GATEWAYS:
        return _EXACT_GATEWAYS[name]
    tokens = set(name.split("_"))
    for payment_type, words, standalone in _GATEWAY_HINTS:
        if any(word in name for word in words) or tokens & standalone:
            return payment_type
    return PaymentType.MISC
