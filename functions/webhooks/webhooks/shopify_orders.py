"""Shopify's order webhook: its payload (reference/webhooks.md §1.6, §1.7) and the ShopOrder
it becomes.

- **Gift cards** bought in an order stay as positions: Shopify sends them without tax lines, so
  they become 0 % items (a multi-purpose voucher is taxed when redeemed, not when sold) and the
  invoice total still equals the order total. Paying *with* a gift card is a payment (type
  COUPON), not a discount.
- **Tax rate** of a line is the sum of its ``tax_lines[].rate`` fractions (0.19 → 19 %); a line
  with ``taxable: false`` or without tax lines is 0 % (``autopilot.tax.rate_from_fractions``).
- **Paid** (:func:`shopify_order_is_paid`) errs on the side of "not paid": booking a payment that
  never arrived is worse than leaving an invoice open.
- **VAT ID** (issue #12): from the ``note_attributes`` named like a VAT ID (configurable,
  ``VAT_ID_NOTE_ATTRIBUTES``) and the customer's ``tax_exemptions`` containing
  ``EU_REVERSE_CHARGE_EXEMPTION_RULE`` (:func:`autopilot.vat_rules.vat_id_from_shopify`); the
  worker decides what they mean.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Annotated

from pydantic import BeforeValidator, Field

from autopilot.business_time import berlin_today
from autopilot.money import ZERO
from autopilot.shop_orders import OrderLine, ShopCustomer, ShopOrder, ShopOrderError
from autopilot.tax import rate_from_fractions
from autopilot.vat_rules import SHOPIFY_VAT_ID_NAMES, vat_id_from_shopify

from .order_payloads import (
    Currency,
    NonNegativeAmount,
    NonNegativeAmountOrZero,
    NonNegativeOptionalAmount,
    OptionalAmount,
    Quantity,
    ShopId,
    ShopPayload,
    TaxFraction,
    Timestamp,
    clean_vat_id,
    country_code,
    first_text,
    local_date,
)


class ShopifyTaxLine(ShopPayload):
    """One tax on a line; ``rate`` is a fraction (0.19), ``price`` the tax amount."""

    title: str | None = None
    rate: TaxFraction
    price: NonNegativeAmountOrZero = ZERO


class ShopifyDiscountAllocation(ShopPayload):
    """The share of one discount that falls on a line, on the order's pricing basis."""

    amount: NonNegativeAmount
    discount_application_index: int | None = None


class ShopifyLineItem(ShopPayload):
    """A product line; ``price`` is the unit price before discounts."""

    id: ShopId | None = None
    title: str | None = None
    name: str | None = None
    variant_title: str | None = None
    sku: str | None = None
    quantity: Quantity
    price: NonNegativeAmount
    taxable: bool | None = None
    gift_card: bool | None = None
    tax_lines: list[ShopifyTaxLine] = Field(default_factory=list)
    discount_allocations: list[ShopifyDiscountAllocation] = Field(default_factory=list)
    total_discount: NonNegativeAmountOrZero = ZERO


class ShopifyShippingLine(ShopPayload):
    """A shipping charge; ``discounted_price`` is ``price`` after shipping discounts."""

    title: str | None = None
    code: str | None = None
    price: NonNegativeAmount
    discounted_price: NonNegativeOptionalAmount = None
    tax_lines: list[ShopifyTaxLine] = Field(default_factory=list)
    discount_allocations: list[ShopifyDiscountAllocation] = Field(default_factory=list)


class ShopifyAddress(ShopPayload):
    """A billing or shipping address."""

    first_name: str | None = None
    last_name: str | None = None
    company: str | None = None
    address1: str | None = None
    address2: str | None = None
    zip: str | None = None
    city: str | None = None
    country: str | None = None
    country_code: str | None = None
    province_code: str | None = None
    phone: str | None = None


def _none_as_empty(value: object) -> object:
    return [] if value is None else value


MAX_TAX_EXEMPTIONS = 100
TaxExemptions = Annotated[
    list[Annotated[str, Field(max_length=100)]],
    BeforeValidator(_none_as_empty),
    Field(max_length=MAX_TAX_EXEMPTIONS),
]
"""Shopify's customer tax exemption codes (an enumeration of some 40 names such as
``EU_REVERSE_CHARGE_EXEMPTION_RULE``); ``null`` is none, more or longer entries are refused."""


class ShopifyCustomer(ShopPayload):
    """The shop's customer record (absent for some orders)."""

    id: ShopId | None = None
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    phone: str | None = None
    tax_exemptions: TaxExemptions = Field(default_factory=list)


class ShopifyDiscountCode(ShopPayload):
    """A discount code used on the order (informational; amounts come from allocations)."""

    code: str | None = None
    amount: OptionalAmount = None
    type: str | None = None


class ShopifyNoteAttribute(ShopPayload):
    """A checkout attribute; VAT-ID apps often store the buyer's VAT id here."""

    name: str | None = None
    value: str | None = None


class ShopifyOrderPayload(ShopPayload):
    """The body of Shopify's ``orders/create`` / ``orders/paid`` webhook."""

    id: ShopId
    name: str | None = None
    order_number: str | None = None
    email: str | None = None
    contact_email: str | None = None
    phone: str | None = None
    currency: Currency
    presentment_currency: str | None = None
    financial_status: str | None = None
    gateway: str | None = None
    payment_gateway_names: list[str] = Field(default_factory=list)
    taxes_included: bool
    total_price: NonNegativeAmount
    subtotal_price: NonNegativeOptionalAmount = None
    total_tax: NonNegativeAmount
    total_discounts: NonNegativeAmountOrZero = ZERO
    created_at: Timestamp = None
    processed_at: Timestamp = None
    customer: ShopifyCustomer | None = None
    billing_address: ShopifyAddress | None = None
    shipping_address: ShopifyAddress | None = None
    line_items: list[ShopifyLineItem] = Field(min_length=1)
    shipping_lines: list[ShopifyShippingLine] = Field(default_factory=list)
    discount_codes: list[ShopifyDiscountCode] = Field(default_factory=list)
    note_attributes: list[ShopifyNoteAttribute] = Field(default_factory=list)


# --------------------------------------------------------------------------------------------
# Shopify order → ShopOrder
# --------------------------------------------------------------------------------------------


def _allocated(allocations: Sequence[ShopifyDiscountAllocation]) -> Decimal:
    return sum((allocation.amount for allocation in allocations), ZERO)


def _shopify_item(item: ShopifyLineItem) -> OrderLine:
    discount = _allocated(item.discount_allocations)
    if not item.discount_allocations:
        # Older API versions only state the line's total discount.
        discount = item.total_discount
    title = first_text(item.name, item.title)
    if title is None:
        title = "Gutschein" if item.gift_card else "Artikel"
    elif item.name is None and first_text(item.variant_title):
        title = f"{title} – {first_text(item.variant_title)}"
    return OrderLine(
        kind="item",
        title=title,
        sku=first_text(item.sku),
        quantity=item.quantity,
        unit_price=item.price,
        discount=discount,
        tax_rate=rate_from_fractions((tax.rate for tax in item.tax_lines), taxable=item.taxable),
    )


def _shopify_shipping(shipping: ShopifyShippingLine) -> OrderLine:
    discount = _allocated(shipping.discount_allocations)
    if not shipping.discount_allocations and shipping.discounted_price is not None:
        discount = max(shipping.price - shipping.discounted_price, ZERO)
    return OrderLine(
        kind="shipping",
        title=first_text(shipping.title, shipping.code) or "Versand",
        quantity=Decimal(1),
        unit_price=shipping.price,
        discount=discount,
        tax_rate=rate_from_fractions(tax.rate for tax in shipping.tax_lines),
    )


def shopify_order_is_paid(payload: ShopifyOrderPayload) -> bool:
    """Paid only when ``financial_status`` is ``paid``.

    ``authorized`` (not captured), ``partially_paid``, ``pending`` and refunds are not paid.
    """
    return (payload.financial_status or "").strip().lower() == "paid"


def _shopify_gateway(payload: ShopifyOrderPayload) -> str | None:
    """``gateway``, else the first gateway name that is not a gift card (then the first)."""
    gateway = first_text(payload.gateway)
    if gateway:
        return gateway
    names = [name.strip() for name in payload.payment_gateway_names if name.strip()]
    for name in names:
        if name.lower() != "gift_card":
            return name
    return names[0] if names else None


def _shopify_customer(payload: ShopifyOrderPayload, vat_id_names: Iterable[str]) -> ShopCustomer:
    address = payload.billing_address or payload.shipping_address or ShopifyAddress()
    customer = payload.customer or ShopifyCustomer()
    evidence = vat_id_from_shopify(
        ({"name": note.name, "value": note.value} for note in payload.note_attributes),
        customer.tax_exemptions,
        names=vat_id_names,
    )
    return ShopCustomer(
        email=first_text(payload.email, payload.contact_email, customer.email),
        first_name=first_text(address.first_name, customer.first_name),
        last_name=first_text(address.last_name, customer.last_name),
        company=first_text(address.company),
        street=first_text(address.address1),
        street2=first_text(address.address2),
        zip=first_text(address.zip),
        city=first_text(address.city),
        country_code=country_code(address.country_code),
        phone=first_text(address.phone, customer.phone, payload.phone),
        vat_id=clean_vat_id(evidence.vat_id),
        reverse_charge_exemption=evidence.reverse_charge_exemption,
    )


def shop_order_from_shopify(
    payload: ShopifyOrderPayload,
    shop_domain: str,
    *,
    received_on: dt.date | None = None,
    vat_id_names: Iterable[str] | None = None,
) -> ShopOrder:
    """The normalised order of a Shopify webhook from shop ``shop_domain``.

    ``vat_id_names``: the note attributes that carry the VAT ID (``VAT_ID_NOTE_ATTRIBUTES``;
    None: :data:`autopilot.vat_rules.SHOPIFY_VAT_ID_NAMES`).

    The order date is ``processed_at`` (else ``created_at``, else ``received_on``, else today in
    Europe/Berlin) in the shop's own offset; a paid order's payment date is the same date,
    because Shopify's order body carries no separate capture time.
    """
    shop = shop_domain.strip().lower()
    if not shop:
        raise ShopOrderError("shop_domain", "the Shopify shop domain is empty")
    ordered_on = (
        local_date(payload.processed_at)
        or local_date(payload.created_at)
        or received_on
        or berlin_today()
    )
    is_paid = shopify_order_is_paid(payload)
    lines = [_shopify_item(item) for item in payload.line_items]
    lines += [_shopify_shipping(shipping) for shipping in payload.shipping_lines]
    return ShopOrder(
        source="shopify",
        shop=shop,
        order_id=payload.id,
        order_number=first_text(payload.name, payload.order_number) or payload.id,
        customer_id=payload.customer.id if payload.customer else None,
        currency=payload.currency,
        prices_include_tax=payload.taxes_included,
        is_paid=is_paid,
        paid_on=ordered_on if is_paid else None,
        payment_gateway=_shopify_gateway(payload),
        status=first_text(payload.financial_status) or "",
        ordered_on=ordered_on,
        customer=_shopify_customer(
            payload, SHOPIFY_VAT_ID_NAMES if vat_id_names is None else vat_id_names
        ),
        lines=lines,
        total=payload.total_price,
        total_tax=payload.total_tax,
    )
