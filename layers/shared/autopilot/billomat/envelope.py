"""Billomat's JSON dialect: the envelopes and quirks of a mechanical XML-to-JSON conversion.

Billomat wraps every record in its singular element name (``{"invoice": {...}}``) and every list
in a plural root with page attributes (``{"invoices": {"invoice": [...], "@total": "12"}}``).
A list with one hit carries an object instead of an array, a list with no hits has no item key,
empty values arrive as ``""``, ``{}`` or ``null``, and every scalar is a string. This module is
the one place that knows; everything above it sees plain dicts, lists and typed models.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from enum import Enum
from typing import Any

type FilterValue = str | int | Decimal | dt.date | Enum | Sequence[str | Enum] | None
"""A list filter as callers pass it; sequences become Billomat's comma-separated OR lists."""

type BillomatScalar = str | int
"""What a value looks like in a write body (booleans as 1/0, Decimal and dates as strings)."""


class EnvelopeError(ValueError):
    """A body did not have the envelope Billomat uses for this resource."""


@dataclass(frozen=True)
class ListPage:
    """One page of a Billomat list: raw records plus the ``@page/@per_page/@total`` attributes."""

    records: list[dict[str, Any]] = field(default_factory=list)
    page: int | None = None
    per_page: int | None = None
    total: int | None = None


def is_empty(value: object) -> bool:
    """Billomat's three spellings of "no value": ``""``, ``{}`` (empty XML element) and ``null``."""
    return value is None or value == "" or (isinstance(value, dict) and not value)


def drop_empty_fields(record: Mapping[str, Any]) -> dict[str, Any]:
    """Remove empty-valued fields so that model defaults (None, [], 0) apply."""
    return {key: value for key, value in record.items() if not is_empty(value)}


def collection_items(value: object, singular: str) -> list[Any]:
    """Items of a (nested) collection like ``{"tax": [...] | {...}}``; empty spellings give []."""
    if is_empty(value):
        return []
    if isinstance(value, list):
        return value
    if isinstance(value, dict):
        if singular not in value:
            if all(key.startswith("@") for key in value):
                return []
            raise EnvelopeError(f"collection without {singular!r} items")
        items = value[singular]
        if is_empty(items):
            return []
        if isinstance(items, list):
            return items
        if isinstance(items, dict):
            return [items]
    raise EnvelopeError(f"unexpected {singular!r} collection of type {type(value).__name__}")


def nested_collection(singular: str) -> Callable[[object], list[Any]]:
    """A pydantic before-validator that turns a nested collection into a plain list."""

    def unwrap(value: object) -> list[Any]:
        return collection_items(value, singular)

    return unwrap


def unwrap_record(payload: object, name: str) -> dict[str, Any]:
    """The record inside a single-record envelope ``{name: {...}}``."""
    if not isinstance(payload, dict) or not isinstance(payload.get(name), dict):
        found = sorted(payload) if isinstance(payload, dict) else type(payload).__name__
        raise EnvelopeError(f"expected a {name!r} record, got {found}")
    record: dict[str, Any] = payload[name]
    return record


def unwrap_list(payload: object, plural: str, singular: str) -> ListPage:
    """Records and page attributes of a list envelope; always a list, whatever the hit count."""
    if payload is None:
        return ListPage()
    if not isinstance(payload, dict) or plural not in payload:
        found = sorted(payload) if isinstance(payload, dict) else type(payload).__name__
        raise EnvelopeError(f"expected a {plural!r} list, got {found}")
    body = payload[plural]
    if is_empty(body):
        return ListPage()
    if not isinstance(body, dict):
        raise EnvelopeError(f"expected {plural!r} to be an object")
    records = collection_items({singular: body.get(singular)}, singular)
    if not all(isinstance(record, dict) for record in records):
        raise EnvelopeError(f"{singular!r} items must be objects")
    return ListPage(
        records=records,
        page=_optional_int(body.get("@page")),
        per_page=_optional_int(body.get("@per_page")),
        total=_optional_int(body.get("@total")),
    )


def decode_json(content: bytes) -> Any:
    """Parse a body with every JSON number as Decimal, so money never passes through float.

    An empty body gives None; anything that is not JSON raises ValueError.
    """
    if not content.strip():
        return None
    return json.loads(content, parse_float=Decimal)


def error_messages(payload: object) -> list[str]:
    """Messages of an error body ``{"errors": {"error": "msg" | ["a", "b"]}}``."""
    if not isinstance(payload, dict):
        return []
    errors = payload.get("errors", payload)
    if isinstance(errors, dict):
        errors = errors.get("error")
    if is_empty(errors):
        return []
    items = errors if isinstance(errors, list) else [errors]
    return [str(item).strip() for item in items if not is_empty(item)]


def billomat_value(value: object) -> Any:
    """One value as Billomat expects it in a write body.

    Decimal becomes a plain string without exponent ("119.00", "100"), dates ISO strings,
    booleans 1/0, enums their value, sequences a comma-separated string.
    """
    if isinstance(value, bool):
        return 1 if value else 0
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Decimal):
        return decimal_text(value)
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return ",".join(str(billomat_value(item)) for item in value)
    return value


def decimal_text(value: Decimal) -> str:
    """A finite Decimal in plain notation, keeping its scale: Decimal("1E+2") -> "100"."""
    if not value.is_finite():
        raise ValueError(f"not a finite amount: {value}")
    return format(value, "f")


def query_params(filters: Mapping[str, FilterValue]) -> dict[str, str]:
    """Filters as query parameters: None dropped, sequences comma-joined (never repeated keys)."""
    params: dict[str, str] = {}
    for key, value in filters.items():
        if value is None:
            continue
        if isinstance(value, (list, tuple)):
            if not value:
                continue
            params[key] = ",".join(str(billomat_value(item)) for item in value)
        else:
            params[key] = str(billomat_value(value))
    return params


def _optional_int(value: object) -> int | None:
    if is_empty(value):
        return None
    try:
        return int(str(value))
    except ValueError:
        return None
