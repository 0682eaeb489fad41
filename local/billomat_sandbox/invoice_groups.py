"""``GET /api/invoices?group_by=...``: invoice totals per client, status or period."""

from __future__ import annotations

import calendar
from collections.abc import Mapping
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from .errors import bad_request
from .schemas import Record
from .wire_format import JsonObject, wire_scalar

GROUPINGS = ("client", "status", "day", "week", "month", "year")


def _period(kind: str, day: date) -> tuple[str, date, date]:
    """Label, first and last day of the period of ``kind`` containing ``day``."""
    match kind:
        case "day":
            return day.isoformat(), day, day
        case "week":
            year, week, weekday = day.isocalendar()
            monday = day - timedelta(days=weekday - 1)
            return f"{year}-W{week:02d}", monday, monday + timedelta(days=6)
        case "month":
            last = calendar.monthrange(day.year, day.month)[1]
            return f"{day:%Y-%m}", day.replace(day=1), day.replace(day=last)
        case _:
            return str(day.year), date(day.year, 1, 1), date(day.year, 12, 31)


def _group_key(invoice: Record, keys: list[str]) -> tuple[tuple[str, Any, dict[str, str]], ...]:
    parts = []
    for kind in keys:
        if kind == "client":
            parts.append(
                ("client_id", invoice["client_id"], {"client_id": str(invoice["client_id"])})
            )
        elif kind == "status":
            parts.append(("status", invoice["status"], {"status": invoice["status"]}))
        else:
            label, first, last = _period(kind, invoice["date"])
            parts.append((kind, label, {"from": first.isoformat(), "to": last.isoformat()}))
    return tuple(parts)


def group_invoices(
    invoices: list[Record], group_by: str, filters: Mapping[str, str], currency_code: str
) -> JsonObject:
    """The ``invoice-groups`` envelope (one group → object, no groups → no item key).

    Each group carries ``invoice-params``: the filters that list exactly its invoices
    (the request's filters plus the group's client/status/date range), for drilling down.
    """
    keys = [part.strip().lower() for part in group_by.split(",") if part.strip()]
    unknown = [key for key in keys if key not in GROUPINGS]
    if unknown or not keys:
        raise bad_request(f"Invalid group_by: {group_by!r} (allowed: {', '.join(GROUPINGS)})")
    buckets: dict[tuple[Any, ...], list[Record]] = {}
    parts_of: dict[tuple[Any, ...], tuple[tuple[str, Any, dict[str, str]], ...]] = {}
    for invoice in invoices:
        parts = _group_key(invoice, keys)
        sort_key = tuple(value for _, value, _ in parts)
        buckets.setdefault(sort_key, []).append(invoice)
        parts_of[sort_key] = parts
    groups: list[JsonObject] = []
    for sort_key in sorted(buckets):
        members = buckets[sort_key]
        group: JsonObject = {
            "total_gross": wire_scalar(sum((row["total_gross"] for row in members), Decimal(0))),
            "total_net": wire_scalar(sum((row["total_net"] for row in members), Decimal(0))),
        }
        params = dict(filters)
        for name, value, drill_down in parts_of[sort_key]:
            group[name] = wire_scalar(value)
            params.update(drill_down)
        group["invoice-params"] = params
        groups.append(group)
    body: JsonObject = {}
    if groups:
        body["invoice-group"] = groups[0] if len(groups) == 1 else groups
    body["@currency_code"] = currency_code
    return {"invoice-groups": body}
