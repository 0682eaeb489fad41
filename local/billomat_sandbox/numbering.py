"""Number ranges: ``number_pre`` + zero-padded ``number`` give ``invoice_number`` & co."""

from __future__ import annotations

from .schemas import Record


def assign_number(settings: Record, number_range: str, record: Record, number_field: str) -> None:
    """Give ``record`` its final number from the ``number_range`` of the account settings.

    An explicit ``number`` (and ``number_pre``/``number_length``) on the record wins; the range's
    next free number then continues after it. Only ``IGNORE_PREFIX`` mode is modelled: one
    sequence per range, whatever the prefix.
    """
    prefix = record.get("number_pre")
    if prefix is None:
        prefix = settings.get(f"{number_range}_number_pre") or ""
    length = record.get("number_length")
    if length is None:
        length = settings.get(f"{number_range}_number_length") or 0
    next_key = f"{number_range}_number_next"
    number = record.get("number")
    if number is None:
        number = settings.get(next_key) or 1
    settings[next_key] = max(settings.get(next_key) or 1, number + 1)
    record["number_pre"] = prefix
    record["number"] = number
    record["number_length"] = length
    render_number(record, number_field)


def render_number(record: Record, number_field: str) -> None:
    """Set ``number_field`` from the record's ``number_pre``, ``number`` and ``number_length``."""
    number = record.get("number")
    digits = "" if number is None else str(number).zfill(record.get("number_length") or 0)
    record[number_field] = f"{record.get('number_pre') or ''}{digits}"
