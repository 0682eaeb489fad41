"""Invoice pricing rules: how a shop order becomes Billomat invoice positions.

Pure functions over :class:`autopilot.shop_orders.ShopOrder`:

- The invoice is priced the way the shop priced the order: ``GROSS`` when the shop's prices
  include tax (Shopify ``taxes_included``, WooCommerce ``prices_include_tax``), else ``NET``.
- Items, shipping and fees become positions with their own tax rate and quantity, at the
  undiscounted unit price rounded to cents. When quantity × that price would not reproduce the
  shop's line amount exactly, the line becomes one position of quantity 1 with the line amount
  and the title ``"3 × Kaffeebecher"`` — the invoice total never drifts by a cent.
- Discounts are shown, not hidden in the prices: the discounts of all lines of one tax rate are
  summed into one negative position "Rabatt 19 %" (quantity 1), so each discount stays in the tax
  group of the lines it came from and the original prices remain visible.
- Zero-amount shipping and fee lines are dropped; zero-priced items are kept (a free item was
  still delivered, and a German invoice lists what was delivered). Lines with quantity 0 are
  dropped.

:func:`billomat_total_gross` predicts the total Billomat will compute, so the worker can compare
it with the shop's total before sending anything. For ``NET`` documents Billomat rounds the tax
once per tax group (reference/billomat-api.md §7, §9); a shop that rounds tax per line (Shopify
with prices excluding tax, WooCommerce without "round tax at subtotal level") can then differ by
a cent per group. The worker reports such a mismatch instead of sending a wrong invoice.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Literal

from autopilot.money import HUNDRED, ZERO, german_plain, plain_decimal, to_cents
from autopilot.shop_orders import OrderLine, ShopOrder

NetGross = Literal["GROSS", "NET"]
PositionKind = Literal["item", "shipping", "fee", "discount"]

_KIND_ORDER: dict[PositionKind, int] = {"item": 0, "discount": 1, "shipping": 2, "fee": 3}


@dataclass(frozen=True, slots=True)
class InvoicePosition:
    """One invoice item as it will be sent to Billomat (price net or gross per the document)."""

    title: str
    quantity: Decimal
    unit_price: Decimal
    tax_rate: Decimal
    sku: str | None
    kind: PositionKind

    @property
    def amount(self) -> Decimal:
        """Quantity × unit price, unrounded (exact cents by construction)."""
        return self.quantity * self.unit_price


@dataclass(frozen=True, slots=True)
class PricedInvoice:
    """The positions of an order's invoice and the total the shop charged for it."""

    net_gross: NetGross
    positions: list[InvoicePosition] = field(default_factory=list)
    expected_total_gross: Decimal = ZERO


def discount_title(tax_rate: Decimal) -> str:
    """The title of the discount position of one tax rate, e.g. ``Rabatt 19 %``."""
    return f"Rabatt {german_plain(tax_rate)} %"


def position_for_line(line: OrderLine) -> InvoicePosition | None:
    """The undiscounted position of an order line; None when it does not belong on the invoice."""
    if line.quantity == ZERO:
        return None
    subtotal = line.subtotal
    if subtotal == ZERO and line.kind != "item":
        return None
    unit_price = to_cents(line.unit_price)
    if line.quantity * unit_price == subtotal:
        return InvoicePosition(
            title=line.title,
            quantity=plain_decimal(line.quantity),
            unit_price=unit_price,
            tax_rate=line.tax_rate,
            sku=line.sku,
            kind=line.kind,
        )
    return InvoicePosition(
        title=f"{german_plain(line.quantity)} × {line.title}",
        quantity=Decimal(1),
        unit_price=subtotal,
        tax_rate=line.tax_rate,
        sku=line.sku,
        kind=line.kind,
    )


def discount_positions(lines: Iterable[OrderLine]) -> list[InvoicePosition]:
    """One negative position per tax rate with the summed discounts of that rate's lines."""
    per_rate: dict[Decimal, Decimal] = {}
    for line in lines:
        if line.quantity != ZERO and line.discount != ZERO:
            rate = plain_decimal(line.tax_rate)
            per_rate[rate] = per_rate.get(rate, ZERO) + line.discount
    return [
        InvoicePosition(
            title=discount_title(rate),
            quantity=Decimal(1),
            unit_price=-to_cents(discount),
            tax_rate=rate,
            sku=None,
            kind="discount",
        )
        for rate, discount in sorted(per_rate.items(), key=lambda entry: entry[0], reverse=True)
        if to_cents(discount) != ZERO
    ]


def invoice_positions(order: ShopOrder) -> PricedInvoice:
    """The invoice positions of ``order``: items, discounts per tax rate, shipping, fees."""
    positions = [
        position for line in order.lines if (position := position_for_line(line)) is not None
    ]
    positions += discount_positions(order.lines)
    positions.sort(key=lambda position: _KIND_ORDER[position.kind])
    return PricedInvoice(
        net_gross="GROSS" if order.prices_include_tax else "NET",
        positions=positions,
        expected_total_gross=order.total,
    )


def billomat_total_gross(priced: PricedInvoice) -> Decimal:
    """The gross total Billomat will compute for these positions.

    Positions are summed per tax rate and each group is rounded half up to cents once. GROSS:
    the group's gross sum is the gross amount. NET: the group's net sum plus
    ``round(net × rate / 100)`` as its tax.
    """
    groups: dict[Decimal, Decimal] = {}
    for position in priced.positions:
        rate = plain_decimal(position.tax_rate)
        groups[rate] = groups.get(rate, ZERO) + position.amount
    total = ZERO
    for rate, amount in groups.items():
        base = to_cents(amount)
        total += base if priced.net_gross == "GROSS" else base + to_cents(base * rate / HUNDRED)
    return total
