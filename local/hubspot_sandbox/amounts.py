"""Numbers of seeded records (kept as given) and the line-item ``amount`` HubSpot computes."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

Number = int | float | str | Decimal
"""What the seeding API takes for quantities, prices, discounts and amounts."""

CENT = Decimal("0.01")


def to_decimal(value: Number, name: str) -> Decimal:
    """``value`` as a finite Decimal; raises ``ValueError`` naming ``name`` otherwise."""
    if isinstance(value, bool):
        raise ValueError(f"{name} must be a number, got {value!r}")
    try:
        number = Decimal(repr(value)) if isinstance(value, float) else Decimal(str(value).strip())
    except InvalidOperation:
        raise ValueError(f"{name} must be a number, got {value!r}") from None
    if not number.is_finite():
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    return number


def as_property(value: Number, name: str) -> str:
    """The property string of a number as given: ``2`` → ``"2"``, ``"1200.00"`` → ``"1200.00"``,
    ``Decimal("4.50")`` → ``"4.50"``, ``1.5`` → ``"1.5"`` (validated, never reformatted).
    """
    number = to_decimal(value, name)
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, float):
        return repr(value)
    return format(number, "f")


def line_item_amount(
    quantity: Decimal, price: Decimal, discount: Decimal | None, percentage: Decimal | None
) -> str:
    """``quantity × (price − discount) × (1 − percentage/100)``, rounded half-up to cents."""
    unit = price - (discount or Decimal(0))
    factor = 1 - (percentage or Decimal(0)) / 100
    amount = (quantity * unit * factor).quantize(CENT, rounding=ROUND_HALF_UP)
    return format(abs(amount) if amount == 0 else amount, "f")
