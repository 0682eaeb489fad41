"""Money arithmetic of Billomat documents: line amounts, reductions, tax groups, totals.

Pure functions over ``Decimal``. Rounding happens once per tax group at 2 decimals (ROUND_HALF_UP),
which is what the ``_plain``/``_rounded`` pairs of real responses suggest. For GROSS documents the
gross amount of each tax group is fixed first and the net amount derived from it, so the gross
total equals the sum of the gross line amounts to the cent (a shop's order total survives exactly).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

CENT = Decimal("0.01")
HUNDRED = Decimal(100)
ZERO = Decimal(0)

_REDUCTION = re.compile(r"^\s*(-?\d+(?:\.\d+)?)\s*(%?)\s*$")


def round_money(amount: Decimal) -> Decimal:
    """Commercial rounding to cents."""
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class Reduction:
    """A discount written as Billomat does: ``"10"`` (absolute) or ``"10%"`` (percent)."""

    value: Decimal
    percent: bool

    @classmethod
    def parse(cls, text: str | None) -> Reduction | None:
        """Read ``"10"``, ``"10%"``, ``"2.5 %"``; empty text means no reduction."""
        if text is None or not str(text).strip():
            return None
        found = _REDUCTION.match(str(text).replace(",", "."))
        if found is None:
            raise ValueError(f"reduction {text!r} is neither an amount nor a percentage")
        try:
            value = Decimal(found.group(1))
        except InvalidOperation:  # pragma: no cover - the pattern only lets numbers through
            raise ValueError(f"reduction {text!r} is not a number") from None
        return cls(value=value, percent=bool(found.group(2)))

    def applied_to(self, amount: Decimal) -> Decimal:
        """``amount`` after this reduction (unrounded)."""
        if self.percent:
            return amount * (HUNDRED - self.value) / HUNDRED
        return amount - self.value

    def __str__(self) -> str:
        value = self.value.normalize()
        text = format(value, "f") if value != value.to_integral_value() else str(int(value))
        return f"{text}%" if self.percent else text


@dataclass(frozen=True)
class LineInput:
    """One document position as the totals need it."""

    quantity: Decimal
    unit_price: Decimal
    tax_rate: Decimal
    tax_name: str = ""
    reduction: Reduction | None = None
    counted: bool = True
    """False for optional offer positions, which are shown but not summed."""


@dataclass(frozen=True)
class LineTotals:
    """Amounts of one position, rounded to cents for display (after its own reduction)."""

    net: Decimal
    gross: Decimal
    net_unreduced: Decimal
    gross_unreduced: Decimal


@dataclass(frozen=True)
class TaxGroup:
    """One entry of ``taxes.tax[]``: everything taxed at one rate."""

    name: str
    rate: Decimal
    amount: Decimal
    amount_net: Decimal
    amount_gross: Decimal


@dataclass(frozen=True)
class DocumentTotals:
    """Result of :func:`calculate_totals`."""

    lines: tuple[LineTotals, ...]
    taxes: tuple[TaxGroup, ...]
    total_net: Decimal
    total_gross: Decimal
    total_net_unreduced: Decimal
    total_gross_unreduced: Decimal
    total_reduction: Decimal


@dataclass(frozen=True)
class _PlainLine:
    net: Decimal
    gross: Decimal
    net_unreduced: Decimal
    gross_unreduced: Decimal


def _plain_line(line: LineInput, gross_prices: bool) -> _PlainLine:
    factor = 1 + line.tax_rate / HUNDRED
    unreduced = line.quantity * line.unit_price
    reduced = line.reduction.applied_to(unreduced) if line.reduction else unreduced
    if gross_prices:
        return _PlainLine(reduced / factor, reduced, unreduced / factor, unreduced)
    return _PlainLine(reduced, reduced * factor, unreduced, unreduced * factor)


def _reduce_groups(
    bases: dict[Decimal, Decimal], reduction: Reduction | None
) -> dict[Decimal, Decimal]:
    """Round each tax group's base amount and spread the document reduction over the groups.

    An absolute reduction is shared in proportion to the groups' amounts; the rounding remainder
    goes to the largest group, so the reduced total is exactly ``total - reduction``.
    """
    rounded = {rate: round_money(base) for rate, base in bases.items()}
    if reduction is None:
        return rounded
    if reduction.percent:
        return {rate: round_money(reduction.applied_to(base)) for rate, base in rounded.items()}
    total = sum(rounded.values(), ZERO)
    if total == ZERO:
        return rounded
    shares = {
        rate: round_money(base - reduction.value * base / total) for rate, base in rounded.items()
    }
    remainder = (total - reduction.value) - sum(shares.values(), ZERO)
    largest = max(rounded, key=lambda rate: abs(rounded[rate]))
    shares[largest] += remainder
    return shares


def _tax_groups(
    bases: dict[Decimal, Decimal], names: dict[Decimal, str], gross_prices: bool
) -> list[TaxGroup]:
    groups = []
    for rate, base in bases.items():
        if gross_prices:
            gross = base
            net = round_money(gross / (1 + rate / HUNDRED))
            tax = gross - net
        else:
            net = base
            tax = round_money(net * rate / HUNDRED)
            gross = net + tax
        groups.append(TaxGroup(names[rate], rate, tax, net, gross))
    return groups


def calculate_totals(
    lines: Sequence[LineInput], *, gross_prices: bool, reduction: Reduction | None = None
) -> DocumentTotals:
    """Totals of a document whose ``unit_price``s are gross (``gross_prices``) or net."""
    plain = [_plain_line(line, gross_prices) for line in lines]
    bases: dict[Decimal, Decimal] = {}
    names: dict[Decimal, str] = {}
    for line, amounts in zip(lines, plain, strict=True):
        if not line.counted:
            continue
        rate = line.tax_rate.normalize() if line.tax_rate else ZERO
        bases[rate] = bases.get(rate, ZERO) + (amounts.gross if gross_prices else amounts.net)
        names.setdefault(rate, line.tax_name)
    ordered = dict(sorted(bases.items(), key=lambda entry: entry[0], reverse=True))
    reduced = _tax_groups(_reduce_groups(ordered, reduction), names, gross_prices)
    unreduced = _tax_groups(_reduce_groups(ordered, None), names, gross_prices)

    def total(groups: Iterable[TaxGroup], attribute: str) -> Decimal:
        return sum((getattr(group, attribute) for group in groups), ZERO)

    base_attribute = "amount_gross" if gross_prices else "amount_net"
    return DocumentTotals(
        lines=tuple(
            LineTotals(
                net=round_money(amounts.net),
                gross=round_money(amounts.gross),
                net_unreduced=round_money(amounts.net_unreduced),
                gross_unreduced=round_money(amounts.gross_unreduced),
            )
            for amounts in plain
        ),
        taxes=tuple(reduced),
        total_net=total(reduced, "amount_net"),
        total_gross=total(reduced, "amount_gross"),
        total_net_unreduced=total(unreduced, "amount_net"),
        total_gross_unreduced=total(unreduced, "amount_gross"),
        total_reduction=total(unreduced, base_attribute) - total(reduced, base_attribute),
    )
