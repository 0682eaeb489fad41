"""Billomat's JSON dialect: every scalar a string, ``""`` for empty, the single/empty list quirks.

Incoming values are read leniently (strings or numbers, booleans as 1/0) into Python values
(``Decimal``, ``int``, ``date``...); outgoing records are turned back into strings exactly the way
the real API renders them ("5", "4.2", "119", never "119.00").
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from .clock import BERLIN, as_utc
from .errors import bad_request

JsonObject = dict[str, Any]


# --- reading -------------------------------------------------------------------------------


def is_empty(value: Any) -> bool:
    """Billomat treats ``""``, ``null`` and an empty element (``{}``) as "no value"."""
    return value is None or value == "" or (isinstance(value, dict) and not value)


def read_text(field: str, value: Any) -> str:
    """A text value; numbers are accepted and rendered the way Billomat would."""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, str):
        return value
    if isinstance(value, int | float | Decimal):
        return format_number(read_decimal(field, value))
    raise bad_request(f"Invalid value for {field}: expected text")


def read_decimal(field: str, value: Any) -> Decimal:
    """A decimal amount from a string or number (floats via their shortest repr)."""
    if isinstance(value, bool):
        raise bad_request(f"Invalid value for {field}: expected a number")
    if isinstance(value, Decimal):
        return value
    if isinstance(value, int | float | str):
        try:
            amount = Decimal(str(value).strip())
        except InvalidOperation:
            raise bad_request(f"Invalid value for {field}: {value!r} is not a number") from None
        if amount.is_finite():
            return amount
    raise bad_request(f"Invalid value for {field}: {value!r} is not a number")


def read_int(field: str, value: Any) -> int:
    """A whole number from a string or number ("12", 12, "12.0")."""
    amount = read_decimal(field, value)
    if amount != amount.to_integral_value():
        raise bad_request(f"Invalid value for {field}: {value!r} is not a whole number")
    return int(amount)


def read_bool(field: str, value: Any) -> bool:
    """Billomat booleans are 1/0; true/false are tolerated."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in {"1", "true"}:
        return True
    if text in {"0", "false"}:
        return False
    raise bad_request(f"Invalid value for {field}: {value!r} is not 1 or 0")


def read_date(field: str, value: Any) -> date:
    """A ``YYYY-MM-DD`` date (a ``date`` object is accepted for seeding)."""
    if isinstance(value, datetime):
        return value.astimezone(BERLIN).date() if value.tzinfo else value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        raise bad_request(f"Invalid value for {field}: {value!r} is not YYYY-MM-DD") from None


def read_datetime(field: str, value: Any) -> datetime:
    """An ISO-8601 datetime (only used when seeding read-only timestamps)."""
    if isinstance(value, datetime):
        return as_utc(value)
    try:
        return as_utc(datetime.fromisoformat(str(value).strip()))
    except ValueError:
        raise bad_request(f"Invalid value for {field}: {value!r} is not ISO-8601") from None


def read_choice(field: str, value: Any, choices: Sequence[str]) -> str:
    """One of ``choices``, matched case-insensitively and returned in its canonical spelling."""
    text = str(value).strip()
    for choice in choices:
        if choice.lower() == text.lower():
            return choice
    raise bad_request(f"Invalid value for {field}: {text!r} (allowed: {', '.join(choices)})")


def collection_items(value: Any, item_key: str) -> list[Any]:
    """Items of a two-level collection ``{"invoice-item": [...]}`` (one object or a list).

    A bare list is tolerated too; empty values give no items.
    """
    if is_empty(value):
        return []
    if isinstance(value, list):
        return value
    if isinstance(value, dict):
        inner = value.get(item_key)
        if is_empty(inner):
            return []
        return inner if isinstance(inner, list) else [inner]
    raise bad_request(f"Invalid collection: expected {{{item_key!r}: [...]}}")


# --- writing -------------------------------------------------------------------------------


def format_number(amount: Decimal) -> str:
    """Render a decimal like Billomat: no exponent, no trailing zeros ("5", "4.2", "119")."""
    if amount == amount.to_integral_value():
        return str(int(amount))
    return format(amount.normalize(), "f")


def wire_scalar(value: Any) -> str:
    """Render one Python value as Billomat's string form; ``None`` becomes ``""``."""
    match value:
        case None:
            return ""
        case bool():
            return "1" if value else "0"
        case Decimal():
            return format_number(value)
        case int():
            return str(value)
        case datetime():
            return as_utc(value).astimezone(BERLIN).isoformat(timespec="seconds")
        case date():
            return value.isoformat()
        case _:
            return str(value)


def wire_collection(item_key: str, items: Sequence[Mapping[str, Any]]) -> JsonObject | str:
    """A nested collection: ``""`` when empty, one object for one item, else a list."""
    rendered = [{key: wire_scalar(value) for key, value in item.items()} for item in items]
    if not rendered:
        return ""
    return {item_key: rendered[0] if len(rendered) == 1 else rendered}


def wire_list(
    plural: str,
    singular: str,
    items: Sequence[JsonObject],
    *,
    page: int,
    per_page: int,
    total: int,
) -> JsonObject:
    """List envelope with the two quirks: one hit is an object, zero hits omit the item key."""
    body: JsonObject = {}
    if len(items) == 1:
        body[singular] = items[0]
    elif items:
        body[singular] = list(items)
    body["@page"] = str(page)
    body["@per_page"] = str(per_page)
    body["@total"] = str(total)
    return {plural: body}
