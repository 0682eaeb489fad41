"""How a HubSpot deal becomes the positions of its Billomat offer (and invoice).

Pure functions over the CRM's deal and line items:

- One position per line item: its name as title, quantity, unit price, discount, and the SKU
  visible in the description ("Artikel-Nr. …"). HubSpot prices carry no tax: they are read as
  net (``DEAL_PRICES``, default ``net``) and get the one configured tax rate
  (``DEAL_TAX_RATE``, default 19 %).
- A percentage discount (``hs_discount_percentage``) becomes the position's reduction
  ``"10%"``; a fixed discount per unit (``discount``) becomes an absolute reduction of
  quantity × discount; with both, the unit price is lowered by the fixed discount and the
  percentage stays the reduction.
- The offer must total what HubSpot shows, to the cent. HubSpot rounds each line amount to
  cents; Billomat sums unrounded lines. When a line's quantity × price less its reduction is
  not whole cents, or differs from HubSpot's own ``amount`` (a price changed by hand), the
  line becomes quantity 1 at its amount, titled "2,5 × Beratung", the discount noted in the
  description. So the offer's net total equals the sum of the line amounts exactly.
- A deal without line items gets one position: the deal name at the deal amount.

:class:`DealNotQuotable` names what is missing or impossible (negative quantities or
prices, no line items and no amount); such a deal goes to accounting instead of Billomat.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from autopilot.hubspot import Deal, LineItem
from autopilot.money import HUNDRED, ZERO, german_number, plain_decimal, to_cents

MAX_POSITIONS = 500
TITLE_LIMIT = 255


class DealPrices(StrEnum):
    """Whether HubSpot's prices are net (B2B, the default) or include the tax rate."""

    NET = "net"
    GROSS = "gross"


class DealNotQuotable(ValueError):
    """The deal cannot become an offer as it stands; the message says why (German)."""


@dataclass(frozen=True, slots=True)
class DealPosition:
    """One offer/invoice position as it will be sent to Billomat."""

    title: str
    quantity: Decimal
    unit_price: Decimal
    tax_rate: Decimal
    reduction: str | None = None
    description: str | None = None
    sku: str | None = None
    """HubSpot's SKU: links the position to the synced Billomat article of that SKU."""


@dataclass(frozen=True, slots=True)
class PricedDeal:
    """The positions of a deal's offer and the total (net or gross per ``prices``) they make."""

    positions: tuple[DealPosition, ...]
    expected_total: Decimal
    prices: DealPrices


def deal_positions(
    deal: Deal,
    line_items: Sequence[LineItem],
    tax_rate: Decimal,
    prices: DealPrices = DealPrices.NET,
) -> PricedDeal:
    """The positions for ``deal`` (see the module docstring)."""
    if len(line_items) > MAX_POSITIONS:
        raise DealNotQuotable(
            f"Der Deal hat {len(line_items)} Positionen (höchstens {MAX_POSITIONS})."
        )
    if not line_items:
        if deal.amount is None or deal.amount <= ZERO:
            raise DealNotQuotable("Der Deal hat weder Positionen noch einen Betrag.")
        amount = to_cents(deal.amount)
        position = DealPosition(
            _title(deal.name or f"Deal {deal.id}"), Decimal(1), amount, tax_rate
        )
        return PricedDeal((position,), amount, prices)
    positions = tuple(line_position(item, tax_rate) for item in line_items)
    total = sum((line_amount(item) for item in line_items), ZERO)
    return PricedDeal(positions, total, prices)


def line_amount(item: LineItem) -> Decimal:
    """What the line costs: HubSpot's own ``amount``, else quantity × price less discounts."""
    _check(item)
    if item.amount is not None:
        return to_cents(item.amount)
    return to_cents(_exact_amount(item))


def line_position(item: LineItem, tax_rate: Decimal) -> DealPosition:
    """The position of one line item, whose amount is exactly :func:`line_amount`."""
    amount = line_amount(item)
    discount = item.discount or ZERO
    percent = item.discount_percentage or ZERO
    unit_price, reduction = item.price, None
    if discount and percent:
        unit_price, reduction = item.price - discount, f"{plain_decimal(percent)}%"
    elif percent:
        reduction = f"{plain_decimal(percent)}%"
    elif discount:
        reduction = str(plain_decimal(item.quantity * discount))
    exact = _exact_amount(item)
    name = item.name or "Position"
    sku = f"Artikel-Nr. {item.sku}" if item.sku else None
    if exact == amount and unit_price == to_cents(unit_price):
        return DealPosition(
            _title(name),
            item.quantity,
            unit_price,
            tax_rate,
            reduction,
            _joined(sku, item.description),
            item.sku,
        )
    # Quantity × price does not give the line's amount in whole cents: bill the amount once.
    title = f"{german_number(item.quantity, _decimals(item.quantity))} × {name}"
    noted = _discount_note(item)
    return DealPosition(
        _title(title),
        Decimal(1),
        amount,
        tax_rate,
        None,
        _joined(sku, noted, item.description),
        item.sku,
    )


def _check(item: LineItem) -> None:
    if item.quantity <= ZERO:
        raise DealNotQuotable(f"Position {item.name!r} hat die Menge {item.quantity}.")
    if item.price < ZERO or (item.amount is not None and item.amount < ZERO):
        raise DealNotQuotable(f"Position {item.name!r} hat einen negativen Preis.")
    percent = item.discount_percentage or ZERO
    if not ZERO <= percent <= HUNDRED:
        raise DealNotQuotable(f"Position {item.name!r} hat einen Rabatt von {percent} %.")
    if item.discount is not None and not ZERO <= item.discount <= item.price:
        raise DealNotQuotable(f"Position {item.name!r} hat einen Rabatt über dem Preis.")


def _exact_amount(item: LineItem) -> Decimal:
    """Quantity × (price − fixed discount) × (1 − percentage), unrounded."""
    unit = item.price - (item.discount or ZERO)
    return item.quantity * unit * (HUNDRED - (item.discount_percentage or ZERO)) / HUNDRED


def _discount_note(item: LineItem) -> str | None:
    parts = []
    if item.discount:
        parts.append(f"{german_number(item.discount, 2)} Rabatt je Einheit")
    if item.discount_percentage:
        percent = item.discount_percentage
        parts.append(f"{german_number(percent, _decimals(percent))} % Rabatt")
    unit = f"Einzelpreis {german_number(item.price, 2)}"
    return ", ".join([unit, *parts])


def _decimals(value: Decimal) -> int:
    exponent = plain_decimal(value).as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


def _joined(*parts: str | None) -> str | None:
    text = "\n".join(part for part in parts if part)
    return text or None


def _title(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= TITLE_LIMIT else text[: TITLE_LIMIT - 1] + "…"
