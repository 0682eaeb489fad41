"""A refund's credit-note positions (pure: no Billomat, no AWS).

- **Refunded line items** become positions at the quantities refunded and the tax rate of
  their invoice position (matched by SKU, then by title); the shop's own rate for the line is
  used only when no invoice position matches, and the invoice's only rate when the shop gives
  none. A line whose rate cannot be known makes the refund a review case.
- **Refunded shipping** is one position at the rate of the invoice's largest share (shipping
  follows the main supply).
- **A refund without lines or shipping** (an amount only: WooCommerce, a Shopify refund of an
  amount) is split over the invoice's tax rates in proportion to the invoice's gross per rate
  (:func:`autopilot.money.allocate`: the parts sum to the refund to the cent).

All amounts are gross (the credit note is priced gross). A position whose amount does not
divide into whole cents per unit is written as quantity 1 with the quantity in its title, so
the credit note's total is always exactly the positions' sum.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from autopilot.money import ZERO, allocate, german_plain, to_cents
from autopilot.shop_refunds import ShopRefund

SKU_PREFIX = "Artikel-Nr. "
"""How the order invoice names a position's SKU in its description (order_invoice)."""
SHIPPING_TITLE = "Versandkosten"


@dataclass(frozen=True, slots=True)
class InvoiceLine:
    """What the refund needs of one invoice position."""

    title: str
    sku: str | None
    tax_rate: Decimal
    gross: Decimal
    """The position's gross total (negative for a discount position)."""


@dataclass(frozen=True, slots=True)
class CreditPosition:
    """One credit-note position, priced gross."""

    title: str
    quantity: Decimal
    unit_price: Decimal
    tax_rate: Decimal

    @property
    def amount(self) -> Decimal:
        return to_cents(self.quantity * self.unit_price)


@dataclass(frozen=True, slots=True)
class CreditPositions:
    """The positions for one refund, and what a person must know about them."""

    positions: tuple[CreditPosition, ...]
    split: bool = False
    """The refund named no lines: its amount was split over the invoice's tax rates."""
    problem: str | None = None
    """Why no credit note may be made (no tax rate known, nothing to split over)."""

    @property
    def total(self) -> Decimal:
        return sum((position.amount for position in self.positions), ZERO)


def sku_of(description: str | None) -> str | None:
    """The SKU the order invoice wrote into a position's description, if any."""
    if description and description.startswith(SKU_PREFIX):
        return description[len(SKU_PREFIX) :].strip() or None
    return None


def gross_per_rate(invoice: Iterable[InvoiceLine]) -> dict[Decimal, Decimal]:
    """The invoice's gross per tax rate (discount positions reduce their rate), rates with a
    positive gross only, highest gross first."""
    sums: dict[Decimal, Decimal] = {}
    for line in invoice:
        sums[line.tax_rate] = sums.get(line.tax_rate, ZERO) + line.gross
    positive = {rate: gross for rate, gross in sums.items() if gross > ZERO}
    return dict(sorted(positive.items(), key=lambda item: (-item[1], item[0])))


def _priced(title: str, quantity: Decimal, amount: Decimal, rate: Decimal) -> CreditPosition:
    unit = amount / quantity
    if quantity == quantity.to_integral_value() and unit == to_cents(unit):
        return CreditPosition(title, quantity, to_cents(unit), rate)
    return CreditPosition(
        f"{format(quantity.normalize(), 'f')} × {title}", Decimal(1), amount, rate
    )


def _match(line_sku: str | None, title: str, invoice: Sequence[InvoiceLine]) -> Decimal | None:
    items = [line for line in invoice if line.gross >= ZERO]
    if line_sku:
        for line in items:
            if line.sku == line_sku:
                return line.tax_rate
    wanted = title.strip().casefold()
    for line in items:
        if line.title.strip().casefold() == wanted:
            return line.tax_rate
    for line in items:
        if line.title.strip().casefold().startswith(wanted):
            return line.tax_rate
    return None


def credit_positions(
    refund: ShopRefund, invoice: Sequence[InvoiceLine], label: str
) -> CreditPositions:
    """The credit-note positions for ``refund`` of the invoice ``invoice`` (its positions).

    ``label`` names the order in the titles of split positions (``Bestellung #1001``).
    """
    rates = gross_per_rate(invoice)
    main_rate = next(iter(rates), None)
    if not refund.itemised:
        if not rates:
            return CreditPositions((), split=True, problem="the invoice has no positive amount")
        parts = allocate(refund.amount, list(rates.values()))
        several = len(rates) > 1
        shares = tuple(
            CreditPosition(
                f"Erstattung zu {label}" + (f" ({german_plain(rate)} % USt.)" if several else ""),
                Decimal(1),
                part,
                rate,
            )
            for rate, part in zip(rates, parts, strict=True)
            if part > ZERO
        )
        return CreditPositions(shares, split=True)

    positions: list[CreditPosition] = []
    for line in refund.lines:
        rate = _match(line.sku, line.title, invoice)
        if rate is None:
            rate = line.tax_rate
        if rate is None and len(rates) == 1:
            rate = main_rate
        if rate is None:
            return CreditPositions(
                tuple(positions),
                problem=f"no tax rate known for the refunded line {line.title[:80]!r}",
            )
        positions.append(_priced(line.title, line.quantity, line.amount, rate))
    if refund.shipping > ZERO:
        if main_rate is None:
            return CreditPositions(tuple(positions), problem="no tax rate known for shipping")
        positions.append(CreditPosition(SHIPPING_TITLE, Decimal(1), refund.shipping, main_rate))
    return CreditPositions(tuple(positions))


def exceeds_invoice(invoice_total: Decimal, credited_before: Decimal, amount: Decimal) -> bool:
    """Would crediting ``amount`` more take the invoice's credit notes past its total?"""
    return credited_before + amount > invoice_total
