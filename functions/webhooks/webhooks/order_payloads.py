"""What the Shopify and WooCommerce order payloads share: bounded field types and clean text.

Every amount, quantity, rate, id and date of a payload is read through one of these types, so a
hostile but correctly signed body gets a 400 naming the field instead of an exception deep in a
worker (issue #8 §3). The shop-specific models are in :mod:`.shopify_orders` and
:mod:`.woocommerce_orders`; what they become is ``autopilot.shop_orders.ShopOrder``.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Annotated

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

from autopilot.money import HUNDRED, ZERO, parse_amount, to_cents
from autopilot.vat_rules import normalize_vat_id


def _shop_id(value: object) -> object:
    """Ids are 64-bit integers in JSON; keep them exact as text, refuse floats (lost digits)."""
    if isinstance(value, bool | float):
        raise ValueError("an id must be an integer or a string (a float loses digits)")
    if isinstance(value, int):
        return str(value)
    if isinstance(value, Decimal):  # the intake parses JSON numbers with a fraction as Decimal
        if value.is_finite() and value == value.to_integral_value():
            return str(int(value))
        raise ValueError("an id must be an integer or a string, not a number with a fraction")
    return value


MAX_ORDER_AMOUNT = Decimal("100000000")
"""Bounds of every amount in an order payload (a hundred million in the order's currency)."""
MAX_QUANTITY = Decimal("1000000")
EARLIEST_YEAR, LATEST_YEAR = 2000, 2100


def _blank(value: object) -> bool:
    """WooCommerce writes ``""`` for an absent tax share; that is zero or absent, not an error."""
    return value is None or (isinstance(value, str) and not value.strip())


def _amount_or_zero(value: object) -> Decimal:
    return ZERO if _blank(value) else _amount(value)


def _amount_or_none(value: object) -> Decimal | None:
    return None if _blank(value) else _amount(value)


def _non_negative_amount_or_none(value: object) -> Decimal | None:
    amount = _amount_or_none(value)
    if amount is not None and amount < ZERO:
        raise ValueError("must not be negative")
    return amount


def _number(value: object) -> Decimal:
    """A finite, bounded decimal number with any number of places (a unit price, a tax share)."""
    if not isinstance(value, str | int | float | Decimal):
        raise ValueError(f"expected a decimal number, got {type(value).__name__}")
    number = parse_amount(value)
    if abs(number) > MAX_ORDER_AMOUNT:
        raise ValueError(f"must be within ±{MAX_ORDER_AMOUNT:,f}")
    return number


def _number_or_zero(value: object) -> Decimal:
    return ZERO if _blank(value) else _number(value)


def _number_or_none(value: object) -> Decimal | None:
    return None if _blank(value) else _number(value)


def _amount(value: object) -> Decimal:
    """A money amount: a bounded decimal with at most two places (cents)."""
    amount = _number(value)
    if amount != to_cents(amount):
        raise ValueError("an amount has at most two decimals")
    return amount


def _quantity(value: object) -> Decimal:
    quantity = _number(value)
    if not ZERO <= quantity <= MAX_QUANTITY or quantity != quantity.quantize(Decimal("0.001")):
        raise ValueError(f"a quantity is between 0 and {MAX_QUANTITY:,f} with at most 3 decimals")
    return quantity


def _tax_fraction(value: object) -> Decimal:
    """Shopify's rate: a fraction in 0–1 (``0.19``); ``19`` means a percent was sent."""
    fraction = _number(value)
    if not ZERO <= fraction <= 1:
        raise ValueError("a tax rate is a fraction between 0 and 1 (0.19 for 19 %)")
    return fraction


def _tax_percent_or_none(value: object) -> Decimal | None:
    """WooCommerce's ``rate_percent``: a percent in 0–100."""
    percent = _number_or_none(value)
    if percent is not None and not ZERO <= percent <= HUNDRED:
        raise ValueError("a tax rate is a percent between 0 and 100")
    return percent


def _empty_as_none(value: object) -> object:
    if isinstance(value, str) and not value.strip():
        return None
    return value


def _plausible_time(moment: dt.datetime | None) -> dt.datetime | None:
    if moment is not None and not EARLIEST_YEAR <= moment.year <= LATEST_YEAR:
        raise ValueError(f"a date must lie between {EARLIEST_YEAR} and {LATEST_YEAR}")
    return moment


ShopId = Annotated[str, BeforeValidator(_shop_id), Field(min_length=1, max_length=64)]
Amount = Annotated[Decimal, BeforeValidator(_amount)]
"""A required amount in cents: a decimal string or JSON number, bounded, never NaN/infinity."""
NonNegativeAmount = Annotated[Decimal, BeforeValidator(_amount), Field(ge=0)]
AmountOrZero = Annotated[Decimal, BeforeValidator(_amount_or_zero)]
NonNegativeAmountOrZero = Annotated[Decimal, BeforeValidator(_amount_or_zero), Field(ge=0)]
OptionalAmount = Annotated[Decimal | None, BeforeValidator(_amount_or_none)]
NonNegativeOptionalAmount = Annotated[Decimal | None, BeforeValidator(_non_negative_amount_or_none)]
NumberOrZero = Annotated[Decimal, BeforeValidator(_number_or_zero)]
OptionalNumber = Annotated[Decimal | None, BeforeValidator(_number_or_none)]
Quantity = Annotated[Decimal, BeforeValidator(_quantity)]
TaxFraction = Annotated[Decimal, BeforeValidator(_tax_fraction)]
OptionalTaxPercent = Annotated[Decimal | None, BeforeValidator(_tax_percent_or_none)]
Currency = Annotated[str, Field(pattern=r"^[A-Za-z]{3}$"), AfterValidator(str.upper)]
Timestamp = Annotated[
    dt.datetime | None, BeforeValidator(_empty_as_none), AfterValidator(_plausible_time)
]


class ShopPayload(BaseModel):
    """Base of the raw payload models: unknown fields are ignored, numbers accepted as text."""

    model_config = ConfigDict(extra="ignore", frozen=True, coerce_numbers_to_str=True)


# --------------------------------------------------------------------------------------------
# Text of the payloads
# --------------------------------------------------------------------------------------------


_CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def first_text(*candidates: str | None) -> str | None:
    """The first candidate with content, stripped; shops send ``""`` for empty fields.

    Control characters other than tab and line feed become spaces (Billomat renders PDFs).
    """
    for candidate in candidates:
        if candidate is not None and candidate.strip():
            return _CONTROL_CHARACTERS.sub(" ", candidate).strip()
    return None


def country_code(code: str | None) -> str | None:
    """An ISO country code in upper case, or None when the shop left it empty."""
    text = first_text(code)
    return text.upper() if text else None


def local_date(moment: dt.datetime | None) -> dt.date | None:
    """The calendar date as the shop wrote it (its own offset, or its local time when naive)."""
    return moment.date() if moment is not None else None


def clean_vat_id(vat_id: str | None) -> str | None:
    """A VAT ID found by ``autopilot.vat_rules`` without control characters, normalised; None
    when nothing is left. Not checked: the worker's VAT decision names a malformed one."""
    text = first_text(vat_id)
    return (normalize_vat_id(text) or None) if text else None
