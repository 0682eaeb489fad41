"""List reads: Billomat's filter semantics, ``order_by`` and ``page``/``per_page``."""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any

from .errors import bad_request
from .ledger import Ledger
from .schemas import SCHEMAS, Filter, Match, Record, ResourceSchema
from .wire_format import read_date, wire_scalar

PAGING_PARAMS = frozenset({"page", "per_page", "order_by"})
GENERAL_PARAMS = frozenset({"format", "api_key"})
"""Query parameters every endpoint accepts."""
DEFAULT_PER_PAGE = 100
MAX_PER_PAGE = 1000

Predicate = Callable[[Record], bool]


@dataclass(frozen=True)
class Page:
    """One page of a list read."""

    records: list[Record]
    page: int
    per_page: int
    total: int


def reject_unknown_params(query: Mapping[str, str], allowed: Collection[str], strict: bool) -> None:
    """In strict mode, 400 naming each query parameter the endpoint does not know.

    Billomat presumably ignores them (and returns the unfiltered list), which is why a typo in
    a filter is dangerous; strict mode makes tests catch it.
    """
    unknown = sorted(set(query) - set(allowed))
    if strict and unknown:
        raise bad_request(*(f"Unknown parameter: {name}" for name in unknown))


def _text(value: Any) -> str:
    return wire_scalar(value).lower()


def _ids(value: str) -> set[int]:
    return {int(part) for part in value.split(",") if part.strip().isdigit()}


def _predicate(ledger: Ledger, schema: ResourceSchema, spec: Filter, value: str) -> Predicate:
    def source(record: Record) -> Any:
        if spec.through is None:
            return record.get(spec.field)
        key, resource = spec.through
        related = ledger.find(resource, record.get(key))
        return related.get(spec.field) if related else None

    match spec.match:
        case Match.CONTAINS:
            needle = value.lower()
            return lambda record: needle in _text(source(record))
        case Match.ONE_OF:
            wanted = {part.strip().lower() for part in value.split(",")}
            return lambda record: _text(source(record)) in wanted
        case Match.SHARES:
            wanted = {part.strip().lower() for part in value.split(",")}
            return lambda record: bool(
                wanted & {part.strip() for part in _text(source(record)).split(",")}
            )
        case Match.EQUALS:
            ids = _ids(value)
            return lambda record: source(record) in ids
        case Match.FROM:
            start = read_date(spec.field, value)
            return lambda record: source(record) is not None and source(record) >= start
        case Match.TO:
            end = read_date(spec.field, value)
            return lambda record: source(record) is not None and source(record) <= end
        case Match.HAS_ARTICLE:
            articles = _ids(value)
            item_schema = SCHEMAS[schema.items or ""]
            parent_key = item_schema.parent_filter or f"{schema.singular}_id"
            documents = {
                item[parent_key]
                for item in ledger.rows(schema.items or "")
                if item.get("article_id") in articles
            }
            return lambda record: record["id"] in documents
    raise AssertionError(spec.match)  # pragma: no cover - every Match is handled above


def matching_records(
    ledger: Ledger, schema: ResourceSchema, query: Mapping[str, str], *, strict: bool
) -> list[Record]:
    """Records passing every filter in ``query``, ordered by ``order_by`` (default: id)."""
    parent = schema.parent_filter
    if parent and not query.get(parent, "").strip():
        raise bad_request(f"Parameter {parent} is required")
    predicates = [
        _predicate(ledger, schema, schema.filters[name], value)
        for name, value in query.items()
        if name in schema.filters and value.strip()
    ]
    found = [row for row in ledger.rows(schema.plural) if all(test(row) for test in predicates)]
    return _ordered(found, schema, query.get("order_by", ""), strict=strict)


def _sort_key(value: Any) -> tuple[bool, Any]:
    if isinstance(value, str):
        return (True, value.lower())
    return (value is not None, value if value is not None else 0)


def _ordered(
    records: list[Record], schema: ResourceSchema, order_by: str, *, strict: bool
) -> list[Record]:
    """Apply ``order_by=date DESC,invoice_number ASC`` (later keys break ties of earlier ones)."""
    keys: list[tuple[str, bool]] = []
    for part in order_by.split(","):
        words = part.split()
        if not words:
            continue
        field = words[0]
        descending = len(words) > 1 and words[1].upper() == "DESC"
        if field not in schema.by_name:
            if strict:
                raise bad_request(f"Unknown order_by field: {field}")
            continue
        keys.append((field, descending))
    for field, descending in reversed(keys):
        records.sort(key=_field_sort_key(field), reverse=descending)
    return records


def _field_sort_key(field: str) -> Callable[[Record], tuple[bool, Any]]:
    return lambda row: _sort_key(row.get(field))


def _positive(raw: str | None, default: int) -> int:
    try:
        number = int(raw) if raw is not None else default
    except ValueError:
        return default
    return number if number > 0 else default


def page_of(records: list[Record], query: Mapping[str, str]) -> Page:
    """The requested page (``page`` from 1, ``per_page`` default 100, capped at 1000)."""
    page = _positive(query.get("page"), 1)
    per_page = min(_positive(query.get("per_page"), DEFAULT_PER_PAGE), MAX_PER_PAGE)
    start = (page - 1) * per_page
    return Page(records[start : start + per_page], page, per_page, len(records))
