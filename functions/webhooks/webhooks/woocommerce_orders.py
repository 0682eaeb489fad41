"""WooCommerce's order webhook: its payload (REST v3 order, reference/webhooks.md §2.6, §2.7)
and the ShopOrder it becomes.

- **Tax rate** of a line comes from ``line.taxes[].id`` → ``tax_lines[].rate_id`` →
  ``rate_percent``; without a usable ``rate_percent`` it is inferred from the line's tax and net
  amount, snapped to a rate of the order's tax lines or a known EU/CH VAT rate
  (``autopilot.tax.inferred_rate``).
- **Paid** (:func:`woocommerce_order_is_paid`) errs on the side of "not paid": booking a payment
  that never arrived is worse than leaving an invoice open.
- **VAT ID** (issue #12): ``billing.vat_id`` (added to the address by some plugins), else the
  VAT plugins' ``meta_data`` keys (configurable, ``VAT_ID_META_KEYS``), and the meta entry
  ``is_vat_exempt`` (:func:`autopilot.vat_rules.vat_id_from_woocommerce`); the worker decides
  what they mean.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Annotated, Any

from pydantic import Field

from autopilot.business_time import berlin_today
from autopilot.money import ZERO, normalize_rate
from autopilot.shop_identity import UnknownShopError, woocommerce_site
from autopilot.shop_orders import LineKind, OrderLine, ShopCustomer, ShopOrder, ShopOrderError
from autopilot.tax import inferred_rate
from autopilot.vat_rules import WOOCOMMERCE_VAT_ID_KEYS, vat_id_from_woocommerce

from .order_payloads import (
    Amount,
    AmountOrZero,
    Currency,
    NonNegativeAmount,
    NonNegativeAmountOrZero,
    NumberOrZero,
    OptionalNumber,
    OptionalTaxPercent,
    Quantity,
    ShopId,
    ShopPayload,
    Timestamp,
    clean_vat_id,
    country_code,
    first_text,
    local_date,
)


class WooTaxShare(ShopPayload):
    """The tax of one rate on a line; ``id`` is the tax rate id (``tax_lines[].rate_id``)."""

    id: ShopId
    total: NumberOrZero = ZERO
    subtotal: NumberOrZero = ZERO


class WooMetaData(ShopPayload):
    """A meta data entry (plugins store e.g. the VAT id here)."""

    key: str | None = None
    value: Any = None


class WooLineItem(ShopPayload):
    """A product line: ``subtotal`` before and ``total`` after discounts, both net."""

    id: ShopId | None = None
    name: str | None = None
    sku: str | None = None
    quantity: Quantity
    subtotal: NonNegativeAmount
    subtotal_tax: NonNegativeAmountOrZero = ZERO
    total: NonNegativeAmount
    total_tax: NonNegativeAmountOrZero = ZERO
    taxes: list[WooTaxShare] = Field(default_factory=list)
    price: OptionalNumber = None
    tax_class: str | None = None


class WooTaxLine(ShopPayload):
    """One tax rate used on the order; ``rate_percent`` is missing in older WooCommerce."""

    id: ShopId | None = None
    rate_id: ShopId | None = None
    rate_code: str | None = None
    label: str | None = None
    compound: bool | None = None
    tax_total: AmountOrZero = ZERO
    shipping_tax_total: AmountOrZero = ZERO
    rate_percent: OptionalTaxPercent = None


class WooShippingLine(ShopPayload):
    """A shipping charge: ``total`` net, ``total_tax`` its tax."""

    id: ShopId | None = None
    method_title: str | None = None
    method_id: str | None = None
    total: NonNegativeAmount
    total_tax: NonNegativeAmountOrZero = ZERO
    taxes: list[WooTaxShare] = Field(default_factory=list)


class WooFeeLine(ShopPayload):
    """A fee (surcharge, or a negative fee as a discount): ``total`` net, ``total_tax`` its tax."""

    id: ShopId | None = None
    name: str | None = None
    tax_status: str | None = None
    total: Amount
    total_tax: AmountOrZero = ZERO
    taxes: list[WooTaxShare] = Field(default_factory=list)


class WooCouponLine(ShopPayload):
    """A coupon used (informational; the discount is already in the line totals)."""

    code: str | None = None
    discount: AmountOrZero = ZERO
    discount_tax: AmountOrZero = ZERO


class WooAddress(ShopPayload):
    """A shipping address."""

    first_name: str | None = None
    last_name: str | None = None
    company: str | None = None
    address_1: str | None = None
    address_2: str | None = None
    postcode: str | None = None
    city: str | None = None
    state: str | None = None
    country: str | None = None
    phone: str | None = None


class WooBilling(WooAddress):
    """The billing address; the e-mail the invoice goes to is required."""

    email: Annotated[str, Field(min_length=3)]
    vat_id: str | None = None


class WooCommerceOrderPayload(ShopPayload):
    """The body of WooCommerce's ``order.created`` / ``order.updated`` webhook (REST v3 order)."""

    id: ShopId
    number: str | None = None
    status: str
    currency: Currency
    prices_include_tax: bool
    customer_id: ShopId | None = None
    date_created: Timestamp = None
    date_created_gmt: Timestamp = None
    date_paid: Timestamp = None
    date_paid_gmt: Timestamp = None
    date_completed: Timestamp = None
    date_modified: Timestamp = None
    date_modified_gmt: Timestamp = None
    discount_total: NonNegativeAmountOrZero = ZERO
    shipping_total: NonNegativeAmountOrZero = ZERO
    total: NonNegativeAmount
    total_tax: NonNegativeAmount
    payment_method: str | None = None
    payment_method_title: str | None = None
    transaction_id: str | None = None
    billing: WooBilling
    shipping: WooAddress | None = None
    line_items: list[WooLineItem] = Field(min_length=1)
    tax_lines: list[WooTaxLine] = Field(default_factory=list)
    shipping_lines: list[WooShippingLine] = Field(default_factory=list)
    fee_lines: list[WooFeeLine] = Field(default_factory=list)
    coupon_lines: list[WooCouponLine] = Field(default_factory=list)
    meta_data: list[WooMetaData] = Field(default_factory=list)


# --------------------------------------------------------------------------------------------
# WooCommerce order → ShopOrder
# --------------------------------------------------------------------------------------------

OFFLINE_PAYMENT_METHODS = frozenset({"bacs", "cheque", "cod"})
"""WooCommerce gateways where the order status does not prove the money arrived."""


def _woo_rate_table(tax_lines: Sequence[WooTaxLine]) -> dict[str, Decimal]:
    """Tax rate id → percent, from the order's tax lines that state ``rate_percent``."""
    table: dict[str, Decimal] = {}
    for line in tax_lines:
        if line.rate_id is not None and line.rate_percent is not None:
            table[line.rate_id] = normalize_rate(line.rate_percent)
    return table


def _woo_rate(
    field: str,
    taxes: Sequence[WooTaxShare],
    net: Decimal,
    tax: Decimal,
    rate_table: dict[str, Decimal],
) -> Decimal:
    """Percent rate of a WooCommerce line (see the module docstring)."""
    # Every share names a rate matched for this line, even when its amount rounds to zero.
    if taxes and all(share.id in rate_table for share in taxes):
        return normalize_rate(sum((rate_table[share.id] for share in taxes), ZERO))
    if tax == ZERO and all(share.total == ZERO and share.subtotal == ZERO for share in taxes):
        return ZERO
    inferred = inferred_rate(net, tax, rate_table.values())
    if inferred is not None:
        return inferred
    if net == ZERO and len(set(rate_table.values())) == 1:
        return next(iter(rate_table.values()))
    raise ShopOrderError(field, f"cannot tell the tax rate of a line with net {net} and tax {tax}")


def _woo_item(
    index: int, item: WooLineItem, gross: bool, rate_table: dict[str, Decimal]
) -> OrderLine:
    field = f"line_items.{index}"
    before = item.subtotal + item.subtotal_tax if gross else item.subtotal
    after = item.total + item.total_tax if gross else item.total
    if item.quantity == ZERO:
        if before != ZERO:
            raise ShopOrderError(f"{field}.quantity", "a line with an amount needs a quantity")
        unit_price = ZERO
    else:
        unit_price = before / item.quantity
    # The undiscounted amounts tell the rate best; a free line only has its totals.
    rate_net, rate_tax = (item.subtotal, item.subtotal_tax)
    if rate_net == ZERO:
        rate_net, rate_tax = (item.total, item.total_tax)
    return OrderLine(
        kind="item",
        title=first_text(item.name) or "Artikel",
        sku=first_text(item.sku),
        quantity=item.quantity,
        unit_price=unit_price,
        discount=before - after,
        tax_rate=_woo_rate(f"{field}.taxes", item.taxes, rate_net, rate_tax, rate_table),
    )


def _woo_charge(
    kind: LineKind,
    field: str,
    title: str,
    net: Decimal,
    tax: Decimal,
    taxes: Sequence[WooTaxShare],
    gross: bool,
    rate_table: dict[str, Decimal],
) -> OrderLine:
    return OrderLine(
        kind=kind,
        title=title,
        quantity=Decimal(1),
        unit_price=net + tax if gross else net,
        tax_rate=_woo_rate(f"{field}.taxes", taxes, net, tax, rate_table),
    )


def _site(source_url: str) -> str:
    """``https://shop.example.de/`` → ``shop.example.de`` (see ``autopilot.shop_identity``)."""
    try:
        return woocommerce_site(source_url)
    except UnknownShopError as exc:
        raise ShopOrderError("source_url", str(exc)) from None


def woocommerce_order_is_paid(payload: WooCommerceOrderPayload) -> bool:
    """Paid when the status is ``processing``/``completed`` and the money is known to be in.

    Online gateways (PayPal, Stripe, …) only move an order to processing after the payment, so
    that status is proof. For bank transfer (``bacs``) and cheque the merchant sets the status
    by hand, so a ``date_paid`` is required as well. Cash on delivery (``cod``) never counts:
    WooCommerce stamps ``date_paid`` when such an order reaches processing, before any cash is
    collected. Orders without a payment method (manual orders) need a ``date_paid``.
    """
    if payload.status.strip().lower() not in {"processing", "completed"}:
        return False
    method = (payload.payment_method or "").strip().lower()
    if method == "cod":
        return False
    has_paid_date = payload.date_paid is not None or payload.date_paid_gmt is not None
    if method in OFFLINE_PAYMENT_METHODS or not method:
        return has_paid_date
    return True


BILLING_VAT_ID_KEY = "billing.vat_id"
"""The name ``billing.vat_id`` goes by when it is read as the first meta entry."""


def _woo_customer(payload: WooCommerceOrderPayload, vat_id_keys: Iterable[str]) -> ShopCustomer:
    billing = payload.billing
    shipping = payload.shipping or WooAddress()
    # billing.vat_id first, as the meta entry of highest priority: a well-formed VAT ID among
    # the meta data still wins over a malformed one there (vat_rules picks the first valid).
    entries: list[dict[str, object]] = []
    if billing.vat_id:
        entries.append({"key": BILLING_VAT_ID_KEY, "value": billing.vat_id})
    entries += [{"key": entry.key, "value": entry.value} for entry in payload.meta_data]
    evidence = vat_id_from_woocommerce(entries, keys=(BILLING_VAT_ID_KEY, *vat_id_keys))
    return ShopCustomer(
        email=first_text(billing.email),
        first_name=first_text(billing.first_name, shipping.first_name),
        last_name=first_text(billing.last_name, shipping.last_name),
        company=first_text(billing.company),
        street=first_text(billing.address_1),
        street2=first_text(billing.address_2),
        zip=first_text(billing.postcode),
        city=first_text(billing.city),
        country_code=country_code(billing.country),
        phone=first_text(billing.phone, shipping.phone),
        vat_id=clean_vat_id(evidence.vat_id),
        reverse_charge_exemption=evidence.reverse_charge_exemption,
    )


def shop_order_from_woocommerce(
    payload: WooCommerceOrderPayload,
    source_url: str,
    *,
    received_on: dt.date | None = None,
    vat_id_keys: Iterable[str] | None = None,
) -> ShopOrder:
    """The normalised order of a WooCommerce webhook from the shop at ``source_url``.

    WooCommerce line totals are net after discount. With ``prices_include_tax`` the lines are
    put on a gross basis (``subtotal + subtotal_tax`` before, ``total + total_tax`` after the
    discount), otherwise on a net basis (``subtotal`` before, ``total`` after). Dates are the
    shop's local dates (``date_created``, else the GMT one, else ``received_on``, else today in
    Europe/Berlin). ``vat_id_keys``: the meta keys that carry the VAT ID (``VAT_ID_META_KEYS``;
    None: :data:`autopilot.vat_rules.WOOCOMMERCE_VAT_ID_KEYS`).
    """
    gross = payload.prices_include_tax
    rate_table = _woo_rate_table(payload.tax_lines)
    lines = [
        _woo_item(index, item, gross, rate_table) for index, item in enumerate(payload.line_items)
    ]
    lines += [
        _woo_charge(
            "shipping",
            f"shipping_lines.{index}",
            first_text(shipping.method_title) or "Versand",
            shipping.total,
            shipping.total_tax,
            shipping.taxes,
            gross,
            rate_table,
        )
        for index, shipping in enumerate(payload.shipping_lines)
    ]
    lines += [
        _woo_charge(
            "fee",
            f"fee_lines.{index}",
            first_text(fee.name) or "Gebühr",
            fee.total,
            fee.total_tax,
            fee.taxes,
            gross,
            rate_table,
        )
        for index, fee in enumerate(payload.fee_lines)
    ]
    ordered_on = (
        local_date(payload.date_created)
        or local_date(payload.date_created_gmt)
        or received_on
        or berlin_today()
    )
    is_paid = woocommerce_order_is_paid(payload)
    paid_on = None
    if is_paid:
        paid_on = (
            local_date(payload.date_paid)
            or local_date(payload.date_paid_gmt)
            or local_date(payload.date_completed)
            or ordered_on
        )
    customer_id = payload.customer_id if payload.customer_id not in (None, "0") else None
    return ShopOrder(
        source="woocommerce",
        shop=_site(source_url),
        order_id=payload.id,
        order_number=first_text(payload.number) or payload.id,
        customer_id=customer_id,
        currency=payload.currency,
        prices_include_tax=gross,
        is_paid=is_paid,
        paid_on=paid_on,
        payment_gateway=first_text(payload.payment_method),
        status=payload.status.strip(),
        ordered_on=ordered_on,
        customer=_woo_customer(
            payload, WOOCOMMERCE_VAT_ID_KEYS if vat_id_keys is None else vat_id_keys
        ),
        lines=lines,
        total=payload.total,
        total_tax=payload.total_tax,
    )
