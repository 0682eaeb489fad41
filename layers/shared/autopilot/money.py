"""Money and tax arithmetic shared by every workflow.

Amounts are ``Decimal`` from the moment they enter the system (never float) and are rounded
commercially (half up) to cents. Tax rates are percentages (``Decimal("19")``), normalised to at
most two decimals and written without trailing zeros, so ``19``, ``19.0`` and Shopify's ``0.19``
all become the same rate and the same tax group.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from fractions import Fraction

CENT = Decimal("0.01")
HUNDRED = Decimal(100)
ZERO = Decimal(0)

# What a shop may write for an amount: optional sign, digits with an optional decimal point and an
# optional exponent (JSON numbers). No thousands separators, no underscores, no decimal commas.
# ASCII digits only: ``\d`` would let "١٢" through, which Decimal reads as 12.
_AMOUNT_TEXT = re.compile(r"^[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]{1,4})?$")
MAX_AMOUNT_TEXT = 100
AMOUNT_MAGNITUDE_LIMIT = Decimal("1e15")
"""No amount anywhere comes near this; beyond it cent arithmetic would leave Decimal's
28-digit precision (``to_cents(Decimal("1e30"))`` raises InvalidOperation)."""


def to_cents(amount: Decimal | int) -> Decimal:
    """``amount`` rounded half up to cents (``2.675`` → ``2.68``, ``-2.675`` → ``-2.68``)."""
    return Decimal(amount).quantize(CENT, rounding=ROUND_HALF_UP)


def parse_amount(value: str | int | float | Decimal) -> Decimal:
    """An exact Decimal from a shop's string or JSON number; NaN, infinity and junk are refused.

    Floats are read through their shortest ``str()`` form, so a JSON ``0.19`` becomes
    ``Decimal("0.19")`` and not ``0.190000000000000002220446…``.
    """
    if isinstance(value, bool):
        raise ValueError("expected an amount, got a boolean")
    if isinstance(value, Decimal):
        amount = value
    elif isinstance(value, int):
        amount = Decimal(value)
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"expected a finite amount, got {value!r}")
        amount = Decimal(str(value))
    elif isinstance(value, str):
        text = value.strip()
        if len(text) > MAX_AMOUNT_TEXT or not _AMOUNT_TEXT.match(text):
            raise ValueError(f"expected a decimal number, got {value!r}")
        try:
            amount = Decimal(text)
        except InvalidOperation:  # pragma: no cover - the pattern only lets numbers through
            raise ValueError(f"expected a decimal number, got {value!r}") from None
    else:
        raise ValueError(f"expected an amount, got {type(value).__name__}")
    if not amount.is_finite():
        raise ValueError(f"expected a finite amount, got {value!r}")
    if abs(amount) >= AMOUNT_MAGNITUDE_LIMIT:
        raise ValueError(f"an amount must be below {AMOUNT_MAGNITUDE_LIMIT:,f}, got {value!r}")
    return amount


def plain_decimal(value: Decimal) -> Decimal:
    """``value`` without trailing zeros and never in exponent form (``19.00`` → ``19``, ``20``)."""
    normal = value.normalize()
    if normal == normal.to_integral_value():
        return normal.quantize(Decimal(1))
    return normal


def german_plain(value: Decimal) -> str:
    """A rate or quantity as a German reader writes it, as exact as it is: ``19``, ``5,5``,
    ``1,25`` (no rounding, no thousands grouping; amounts: :func:`german_number`)."""
    return format(plain_decimal(value), "f").replace(".", ",")


def normalize_rate(rate: str | int | float | Decimal) -> Decimal:
    """A tax rate in percent, rounded half up to two decimals, without trailing zeros.

    Rates outside 0–100 % are refused: they mean a fraction and a percentage were mixed up.
    """
    percent = parse_amount(rate)
    if percent < ZERO or percent > HUNDRED:
        raise ValueError(f"a tax rate must be between 0 and 100 percent, got {rate!r}")
    percent = percent.quantize(CENT, rounding=ROUND_HALF_UP)
    if percent > HUNDRED:
        raise ValueError(f"a tax rate must be between 0 and 100 percent, got {rate!r}")
    return plain_decimal(percent)


def rate_from_fraction(fraction: str | int | float | Decimal) -> Decimal:
    """The percent rate for a fraction as Shopify sends it (``0.19`` → ``Decimal("19")``).

    A fraction outside 0–1 (``19`` for 19 %) is refused: a percent where a fraction belongs.
    """
    share = parse_amount(fraction)
    if share < ZERO or share > 1:
        raise ValueError(f"a tax rate fraction must be between 0 and 1, got {fraction!r}")
    return normalize_rate(share * HUNDRED)


def net_from_gross(gross: Decimal, rate: Decimal) -> Decimal:
    """The net amount contained in ``gross`` at ``rate`` percent, rounded to cents."""
    return to_cents(gross * HUNDRED / (HUNDRED + rate))


def gross_from_net(net: Decimal, rate: Decimal) -> Decimal:
    """``net`` plus ``rate`` percent tax, rounded to cents."""
    return to_cents(net * (HUNDRED + rate) / HUNDRED)


def tax_on_net(net: Decimal, rate: Decimal) -> Decimal:
    """The tax on ``net`` at ``rate`` percent, rounded to cents."""
    return to_cents(net * rate / HUNDRED)


def allocate(total: Decimal, weights: Sequence[Decimal]) -> list[Decimal]:
    """Split ``total`` (whole cents) in proportion to ``weights`` so the parts sum exactly to it.

    Largest-remainder method on cents: every part gets its proportional share rounded down, the
    cents left over go to the parts with the largest fractions (earlier parts win ties). All-zero
    weights split evenly. A negative total is split like its absolute value, then negated.
    """
    if not weights:
        raise ValueError("allocate needs at least one weight")
    if any(weight < ZERO for weight in weights):
        raise ValueError("allocation weights must not be negative")
    if to_cents(total) != total:
        raise ValueError(f"the total to allocate must be whole cents, got {total}")
    shares = [Fraction(weight) for weight in weights]
    weight_sum = sum(shares, Fraction(0))
    if weight_sum == 0:
        shares = [Fraction(1)] * len(weights)
        weight_sum = Fraction(len(weights))
    cents = int(total * HUNDRED)
    sign = -1 if cents < 0 else 1
    cents = abs(cents)
    exact = [cents * share / weight_sum for share in shares]
    parts = [math.floor(value) for value in exact]
    left_over = cents - sum(parts)
    by_remainder = sorted(range(len(parts)), key=lambda index: (parts[index] - exact[index], index))
    for index in by_remainder[:left_over]:
        parts[index] += 1
    return [Decimal(sign * part) * CENT for part in parts]


_GERMAN_SEPARATORS = str.maketrans({",": ".", ".": ","})
MILLION = Decimal(1_000_000)


def german_number(value: Decimal | int, decimals: int = 0) -> str:
    """``1234567.891`` → ``1.234.567,89`` (``decimals=2``): dots group thousands, a decimal comma.

    Rounded half up; a value that rounds to zero is written without a sign (``0,00``, never
    ``-0,00``). Every German number and amount in notices and reports is written by this.
    """
    rounded = Decimal(value).quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)
    if rounded == ZERO:
        rounded = abs(rounded)
    return f"{rounded:,f}".translate(_GERMAN_SEPARATORS)


def german_amount(amount: Decimal, currency: str, *, space: str = " ") -> str:
    """An amount as German notices write it: ``1.190,00 EUR`` (cents, half up).

    ``currency`` is written as given (a code or a symbol such as ``€``); ``space`` goes between
    the number and it (the report uses a no-break space).
    """
    return f"{german_number(amount, 2)}{space}{currency}"


def compact_german_amount(amount: Decimal, currency: str, *, space: str = " ") -> str:
    """A round amount for tight places (chart axes): ``850 €``, ``12.500 €``, ``1,2 Mio. €``."""
    if abs(amount) >= MILLION:
        return f"{german_number(amount / MILLION, 1)}{space}Mio.{space}{currency}"
    return f"{german_number(amount)}{space}{currency}"
