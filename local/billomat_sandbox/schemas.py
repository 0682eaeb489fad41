"""What each Billomat resource looks like: fields (type, writable or not), filters, envelopes.

The schemas drive reading write bodies (lenient values, strict-mode checks for unknown fields),
rendering records in Billomat's string form, and the list filters of :mod:`.listing`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cached_property
from typing import Any

from . import wire_format as wire
from .document_totals import Reduction
from .errors import bad_request

Record = dict[str, Any]
"""A stored record: field name → Python value. Keys starting with ``_`` are internal."""


class Kind(StrEnum):
    """Value types of Billomat fields."""

    TEXT = "text"
    DECIMAL = "decimal"
    INT = "int"
    BOOL = "bool"
    DATE = "date"
    DATETIME = "datetime"
    CHOICE = "choice"
    REDUCTION = "reduction"
    COLLECTION = "collection"


@dataclass(frozen=True)
class Field:
    """One field of a resource."""

    name: str
    kind: Kind = Kind.TEXT
    writable: bool = True
    choices: tuple[str, ...] = ()
    shown: bool = True
    """False for write-only switches such as ``mark_invoice_as_paid``."""
    item_key: str = ""
    """Singular element name of a nested collection (``taxes`` → ``tax``)."""

    def read(self, raw: Any) -> Any:
        """Turn an incoming value into its Python form (``None`` for empty values)."""
        if wire.is_empty(raw):
            return None
        match self.kind:
            case Kind.TEXT:
                return wire.read_text(self.name, raw)
            case Kind.DECIMAL:
                return wire.read_decimal(self.name, raw)
            case Kind.INT:
                return wire.read_int(self.name, raw)
            case Kind.BOOL:
                return wire.read_bool(self.name, raw)
            case Kind.DATE:
                return wire.read_date(self.name, raw)
            case Kind.DATETIME:
                return wire.read_datetime(self.name, raw)
            case Kind.CHOICE:
                return wire.read_choice(self.name, raw, self.choices)
            case Kind.REDUCTION:
                try:
                    reduction = Reduction.parse(wire.read_text(self.name, raw))
                except ValueError as error:
                    raise bad_request(f"Invalid value for {self.name}: {error}") from None
                return str(reduction) if reduction else None
            case Kind.COLLECTION:
                return None  # computed collections are never written

    def render(self, value: Any) -> Any:
        """Billomat's wire form of ``value``."""
        if self.kind is Kind.COLLECTION:
            return wire.wire_collection(self.item_key, value or [])
        return wire.wire_scalar(value)


def fields(kind: Kind, names: str, **options: Any) -> tuple[Field, ...]:
    """Several fields of one kind, written as a space-separated list of names."""
    return tuple(Field(name, kind, **options) for name in names.split())


def read_only(kind: Kind, names: str, **options: Any) -> tuple[Field, ...]:
    """Several read-only fields of one kind."""
    return fields(kind, names, writable=False, **options)


class Match(StrEnum):
    """How a list filter compares its value with a record."""

    CONTAINS = "contains"
    """Case-insensitive substring (Billomat's text filters)."""
    ONE_OF = "one_of"
    """Comma-separated values, OR-combined, exact (status, type)."""
    SHARES = "shares"
    """The record field is itself a comma-separated list (payment_types) sharing a value."""
    EQUALS = "equals"
    """Exact id; a comma-separated list of ids is OR-combined."""
    FROM = "from"
    TO = "to"
    HAS_ARTICLE = "has_article"
    """A document with at least one item referencing the article."""


@dataclass(frozen=True)
class Filter:
    """A query parameter of a list endpoint."""

    match: Match
    field: str
    through: tuple[str, str] | None = None
    """(foreign key, resource): compare the field of the related record instead."""


def filters(match: Match, names: str) -> dict[str, Filter]:
    """Filters whose parameter names equal the record fields they test."""
    return {name: Filter(match, name) for name in names.split()}


DOCUMENT_DATE_FILTERS = {"from": Filter(Match.FROM, "date"), "to": Filter(Match.TO, "date")}


@dataclass(frozen=True)
class ResourceSchema:
    """A Billomat resource: its URL segment, element names, fields and list filters."""

    plural: str
    singular: str
    fields: tuple[Field, ...]
    filters: Mapping[str, Filter] = field(default_factory=dict)
    required: frozenset[str] = frozenset()
    defaults: Mapping[str, Any] = field(default_factory=dict)
    parent_filter: str | None = None
    """Mandatory list filter of item resources (``invoice-items`` need ``invoice_id``)."""
    items: str | None = None
    """Plural name of the embedded item resource of a document (``invoice-items``)."""

    @cached_property
    def by_name(self) -> dict[str, Field]:
        """Fields by name."""
        return {each.name: each for each in self.fields}

    def read_body(
        self,
        payload: Mapping[str, Any],
        *,
        strict: bool,
        accept: frozenset[str] = frozenset(),
        seeding: bool = False,
    ) -> Record:
        """Typed writable fields of a write body.

        Unknown fields and read-only fields are ignored, as Billomat presumably does; in strict
        mode they are a 400 naming the field. ``accept`` lists extra keys handled by the caller
        (embedded items). ``seeding`` lets the test hook set read-only fields too.
        """
        by_name = self.by_name
        values: Record = {}
        problems: list[str] = []
        for key, raw in payload.items():
            known = by_name.get(key)
            if key in accept:
                continue
            if known is None:
                if strict or seeding:
                    problems.append(f"Unknown field {key!r} for {self.singular}")
                continue
            if not known.writable and not seeding:
                if strict:
                    problems.append(f"Field {key!r} of {self.singular} is read-only")
                continue
            values[key] = known.read(raw)
        if problems:
            raise bad_request(*problems)
        return values

    def missing(self, values: Mapping[str, Any], *, skip: frozenset[str] = frozenset()) -> None:
        """Raise 400 when a mandatory field is absent or empty."""
        absent = [name for name in sorted(self.required - skip) if values.get(name) is None]
        if absent:
            raise bad_request(*(f"{name} missing" for name in absent))

    def new_record(self, values: Mapping[str, Any]) -> Record:
        """A record with every field present: given values over defaults over ``None``."""
        record: Record = {each.name: None for each in self.fields}
        record.update(self.defaults)
        record.update({key: value for key, value in values.items() if value is not None})
        return record

    def to_wire(self, record: Mapping[str, Any]) -> dict[str, Any]:
        """The record as Billomat renders it (strings, ``""`` for empty, nested quirks)."""
        return {each.name: each.render(record.get(each.name)) for each in self.fields if each.shown}


# --- shared field groups -------------------------------------------------------------------

_IDENTITY = (*read_only(Kind.INT, "id"), *read_only(Kind.DATETIME, "created updated"))
_NUMBERING = (*fields(Kind.TEXT, "number_pre"), *fields(Kind.INT, "number number_length"))
_NET_GROSS = ("NET", "GROSS")
_ITEM_TYPES = ("PRODUCT", "SERVICE")
_DOCUMENT_AMOUNTS = read_only(
    Kind.DECIMAL, "total_gross total_net total_gross_unreduced total_net_unreduced total_reduction"
)
_TAXES = Field("taxes", Kind.COLLECTION, writable=False, item_key="tax")
_CUSTOMFIELD = Field("customfield")


def _item_schema(plural: str, singular: str, parent: str, *extra: Field) -> ResourceSchema:
    return ResourceSchema(
        plural=plural,
        singular=singular,
        fields=(
            *read_only(Kind.INT, "id"),
            *read_only(Kind.DATETIME, "created"),
            *fields(Kind.INT, f"{parent} article_id"),
            *read_only(Kind.INT, "position"),
            Field("unit"),
            *fields(Kind.DECIMAL, "quantity unit_price"),
            Field("tax_name"),
            Field("tax_rate", Kind.DECIMAL),
            *fields(Kind.TEXT, "title description"),
            Field("reduction", Kind.REDUCTION),
            Field("type", Kind.CHOICE, choices=_ITEM_TYPES),
            Field("tax_changed_manually", Kind.BOOL),
            *extra,
            *read_only(
                Kind.DECIMAL, "total_gross total_net total_gross_unreduced total_net_unreduced"
            ),
            _CUSTOMFIELD,
        ),
        filters=filters(Match.EQUALS, parent),
        required=frozenset({parent}),
        defaults={"quantity": 0, "unit_price": 0},
        parent_filter=parent,
    )


# --- master data -----------------------------------------------------------------------------

_DAYS_TYPES = ("SETTINGS", "ABSOLUTE", "RELATIVE")

CLIENTS = ResourceSchema(
    plural="clients",
    singular="client",
    fields=(
        *_IDENTITY,
        Field("archived", Kind.BOOL),
        *_NUMBERING,
        *read_only(Kind.TEXT, "client_number"),
        *fields(Kind.TEXT, "name street zip city state country_code"),
        *read_only(Kind.TEXT, "address"),
        *fields(
            Kind.TEXT,
            "first_name last_name salutation phone fax mobile email www tax_number vat_number "
            "bank_account_owner bank_number bank_name bank_account_number bank_swift bank_iban "
            "sepa_mandate",
        ),
        Field("sepa_mandate_date", Kind.DATE),
        Field("locale"),
        Field("tax_rule", Kind.CHOICE, choices=("TAX", "NO_TAX", "COUNTRY")),
        Field("net_gross", Kind.CHOICE, choices=(*_NET_GROSS, "SETTINGS")),
        *fields(Kind.TEXT, "default_payment_types note"),
        Field("reduction", Kind.REDUCTION),
        Field("discount_rate_type", Kind.CHOICE, choices=_DAYS_TYPES),
        Field("discount_rate", Kind.DECIMAL),
        Field("discount_days_type", Kind.CHOICE, choices=_DAYS_TYPES),
        Field("discount_days", Kind.INT),
        Field("due_days_type", Kind.CHOICE, choices=_DAYS_TYPES),
        Field("due_days", Kind.INT),
        Field("reminder_due_days_type", Kind.CHOICE, choices=_DAYS_TYPES),
        Field("reminder_due_days", Kind.INT),
        Field("offer_validity_days_type", Kind.CHOICE, choices=_DAYS_TYPES),
        Field("offer_validity_days", Kind.INT),
        Field("currency_code"),
        Field("price_group", Kind.INT),
        Field("debitor_account_number"),
        Field("dunning_run", Kind.BOOL),
        *read_only(Kind.BOOL, "enable_customerportal"),
        *read_only(Kind.TEXT, "customerportal_url"),
        *read_only(Kind.DECIMAL, "revenue_gross revenue_net"),
        _CUSTOMFIELD,
    ),
    filters=filters(
        Match.CONTAINS,
        "name client_number email first_name last_name country_code note customfield",
    ),
    defaults={
        "archived": False,
        "country_code": "DE",
        "tax_rule": "COUNTRY",
        "net_gross": "SETTINGS",
        "dunning_run": False,
        "enable_customerportal": True,
    },
)

ARTICLES = ResourceSchema(
    plural="articles",
    singular="article",
    fields=(
        *_IDENTITY,
        *read_only(Kind.BOOL, "archived"),
        *_NUMBERING,
        *read_only(Kind.TEXT, "article_number"),
        *fields(Kind.TEXT, "title description"),
        *fields(Kind.DECIMAL, "sales_price sales_price2 sales_price3 sales_price4 sales_price5"),
        Field("currency_code"),
        *fields(Kind.INT, "unit_id tax_id"),
        Field("purchase_price", Kind.DECIMAL),
        Field("purchase_price_net_gross", Kind.CHOICE, choices=_NET_GROSS),
        Field("supplier_id", Kind.INT),
        Field("type", Kind.CHOICE, choices=_ITEM_TYPES),
        *read_only(Kind.TEXT, "revenue_account_number cost_center"),
        _CUSTOMFIELD,
    ),
    filters={
        **filters(Match.CONTAINS, "article_number title description currency_code customfield"),
        **filters(Match.EQUALS, "unit_id supplier_id tax_id"),
    },
    defaults={"archived": False, "sales_price": 0, "purchase_price_net_gross": "NET"},
)

TAXES = ResourceSchema(
    plural="taxes",
    singular="tax",
    fields=(
        *read_only(Kind.INT, "id"),
        *read_only(Kind.DATETIME, "created"),
        Field("name"),
        Field("rate", Kind.DECIMAL),
        Field("is_default", Kind.BOOL),
    ),
    filters=filters(Match.CONTAINS, "name"),
    required=frozenset({"name", "rate"}),
    defaults={"is_default": False},
)

UNITS = ResourceSchema(
    plural="units",
    singular="unit",
    fields=(
        *read_only(Kind.INT, "id"),
        *read_only(Kind.DATETIME, "created"),
        Field("name"),
    ),
    filters=filters(Match.CONTAINS, "name"),
    required=frozenset({"name"}),
)

REMINDER_TEXTS = ResourceSchema(
    plural="reminder-texts",
    singular="reminder-text",
    fields=(
        *read_only(Kind.INT, "id"),
        *read_only(Kind.DATETIME, "created"),
        Field("sorting", Kind.INT),
        *fields(Kind.TEXT, "name subject header footer charge_name charge_description"),
        Field("charge_amount", Kind.DECIMAL),
    ),
    required=frozenset({"name"}),
)

_NUMBER_RANGES = (
    "invoice",
    "offer",
    "reminder",
    "credit_note",
    "confirmation",
    "delivery_note",
    "client",
    "article",
)

SETTINGS = ResourceSchema(
    plural="settings",
    singular="settings",
    fields=(
        *read_only(Kind.DATETIME, "created updated"),
        Field("currency_code"),
        Field("net_gross", Kind.CHOICE, choices=_NET_GROSS),
        Field("number_range_mode", Kind.CHOICE, choices=("IGNORE_PREFIX", "CONSIDER_PREFIX")),
        *(
            each
            for prefix in _NUMBER_RANGES
            for each in (
                Field(f"{prefix}_number_pre"),
                Field(f"{prefix}_number_length", Kind.INT),
                Field(f"{prefix}_number_next", Kind.INT, writable=False),
            )
        ),
        Field("due_days", Kind.INT),
        Field("discount_rate", Kind.DECIMAL),
        *fields(Kind.INT, "discount_days offer_validity_days reminder_due_days"),
        *fields(Kind.TEXT, "default_email_sender bcc_addresses"),
        Field("print_version", Kind.BOOL),
    ),
)

# --- invoices and payments -----------------------------------------------------------------

INVOICE_STATUSES = ("DRAFT", "OPEN", "OVERDUE", "PAID", "CANCELED")

INVOICES = ResourceSchema(
    plural="invoices",
    singular="invoice",
    fields=(
        *_IDENTITY,
        *fields(Kind.INT, "client_id contact_id"),
        Field("address"),
        *_NUMBERING,
        *read_only(Kind.TEXT, "invoice_number"),
        Field("date", Kind.DATE),
        Field("supply_date"),
        Field(
            "supply_date_type",
            Kind.CHOICE,
            choices=("SUPPLY_DATE", "DELIVERY_DATE", "SUPPLY_TEXT", "DELIVERY_TEXT"),
        ),
        Field("due_date", Kind.DATE),
        Field("due_days", Kind.INT),
        Field("discount_rate", Kind.DECIMAL),
        Field("discount_date", Kind.DATE),
        Field("discount_days", Kind.INT),
        *read_only(Kind.DECIMAL, "discount_amount"),
        *fields(Kind.TEXT, "title label intro note"),
        Field("net_gross", Kind.CHOICE, choices=_NET_GROSS),
        Field("reduction", Kind.REDUCTION),
        *_DOCUMENT_AMOUNTS,
        *read_only(Kind.DECIMAL, "paid_amount open_amount"),
        Field("currency_code"),
        Field("quote", Kind.DECIMAL),
        Field("status", Kind.CHOICE, writable=False, choices=INVOICE_STATUSES),
        Field("payment_types"),
        *fields(
            Kind.INT, "invoice_id offer_id confirmation_id recurring_id free_text_id template_id"
        ),
        _TAXES,
        *read_only(Kind.TEXT, "customerportal_url"),
        _CUSTOMFIELD,
    ),
    filters={
        **filters(Match.EQUALS, "client_id contact_id recurring_id offer_id confirmation_id"),
        **filters(Match.CONTAINS, "invoice_number title label intro note customfield"),
        "status": Filter(Match.ONE_OF, "status"),
        "payment_type": Filter(Match.SHARES, "payment_types"),
        "article_id": Filter(Match.HAS_ARTICLE, "article_id"),
        **DOCUMENT_DATE_FILTERS,
    },
    required=frozenset({"client_id"}),
    defaults={"status": "DRAFT", "quote": 1, "paid_amount": 0},
    items="invoice-items",
)

INVOICE_ITEMS = _item_schema("invoice-items", "invoice-item", "invoice_id")

PAYMENT_TYPES = (
    "CREDIT_NOTE",
    "BANK_CARD",
    "BANK_TRANSFER",
    "DEBIT",
    "CASH",
    "CHECK",
    "PAYPAL",
    "CREDIT_CARD",
    "COUPON",
    "MISC",
)


def _payment_schema(
    plural: str, singular: str, parent: str, types: tuple[str, ...]
) -> ResourceSchema:
    """Payments booked on a document (``parent``: ``invoice_id``, ``credit_note_id``)."""
    mark = f"mark_{parent.removesuffix('_id')}_as_paid"
    return ResourceSchema(
        plural=plural,
        singular=singular,
        fields=(
            *read_only(Kind.INT, "id"),
            *read_only(Kind.DATETIME, "created"),
            Field(parent, Kind.INT),
            *read_only(Kind.INT, "user_id"),
            Field("date", Kind.DATE),
            Field("amount", Kind.DECIMAL),
            *fields(Kind.TEXT, "comment transaction_purpose"),
            *read_only(Kind.TEXT, "currency_code"),
            *read_only(Kind.DECIMAL, "quote"),
            Field("type", Kind.CHOICE, choices=types),
            Field(mark, Kind.BOOL, shown=False),
        ),
        filters={
            **filters(Match.EQUALS, f"{parent} user_id"),
            "type": Filter(Match.ONE_OF, "type"),
            **DOCUMENT_DATE_FILTERS,
        },
        required=frozenset({parent, "amount"}),
        defaults={mark: False, "quote": 1},
    )


INVOICE_PAYMENTS = _payment_schema(
    "invoice-payments", "invoice-payment", "invoice_id", (*PAYMENT_TYPES, "INVOICE_CORRECTION")
)

# --- credit notes ----------------------------------------------------------------------------

CREDIT_NOTE_STATUSES = ("DRAFT", "OPEN", "PAID", "CANCELED")

CREDIT_NOTES = ResourceSchema(
    plural="credit-notes",
    singular="credit-note",
    fields=(
        *_IDENTITY,
        *fields(Kind.INT, "client_id contact_id"),
        Field("address"),
        *_NUMBERING,
        *read_only(Kind.TEXT, "credit_note_number"),
        Field("date", Kind.DATE),
        *fields(Kind.TEXT, "title label intro note"),
        Field("net_gross", Kind.CHOICE, choices=_NET_GROSS),
        Field("reduction", Kind.REDUCTION),
        *_DOCUMENT_AMOUNTS,
        *read_only(Kind.DECIMAL, "paid_amount open_amount"),
        Field("currency_code"),
        Field("quote", Kind.DECIMAL),
        Field("status", Kind.CHOICE, writable=False, choices=CREDIT_NOTE_STATUSES),
        *fields(Kind.INT, "invoice_id free_text_id template_id"),
        _TAXES,
        *read_only(Kind.TEXT, "customerportal_url"),
        _CUSTOMFIELD,
    ),
    filters={
        **filters(Match.EQUALS, "client_id contact_id invoice_id"),
        **filters(Match.CONTAINS, "credit_note_number title label intro note customfield"),
        "status": Filter(Match.ONE_OF, "status"),
        "article_id": Filter(Match.HAS_ARTICLE, "article_id"),
        **DOCUMENT_DATE_FILTERS,
    },
    required=frozenset({"client_id"}),
    defaults={"status": "DRAFT", "quote": 1, "paid_amount": 0},
    items="credit-note-items",
)

CREDIT_NOTE_ITEMS = _item_schema("credit-note-items", "credit-note-item", "credit_note_id")

CREDIT_NOTE_PAYMENTS = _payment_schema(
    "credit-note-payments", "credit-note-payment", "credit_note_id", PAYMENT_TYPES
)

# --- reminders -------------------------------------------------------------------------------

REMINDERS = ResourceSchema(
    plural="reminders",
    singular="reminder",
    fields=(
        *_IDENTITY,
        Field("status", Kind.CHOICE, writable=False, choices=INVOICE_STATUSES),
        Field("invoice_id", Kind.INT),
        *read_only(Kind.INT, "client_id"),
        Field("contact_id", Kind.INT),
        Field("address"),
        *_NUMBERING,
        *read_only(Kind.TEXT, "reminder_number"),
        *fields(Kind.DATE, "date due_date"),
        Field("due_days", Kind.INT),
        *fields(Kind.TEXT, "subject label intro note"),
        *read_only(Kind.INT, "reminder_text_id reminder_level"),
        *read_only(Kind.TEXT, "reminder_level_name"),
        *read_only(Kind.DECIMAL, "total_gross total_net paid_amount open_amount"),
        *read_only(Kind.TEXT, "currency_code"),
        *read_only(Kind.BOOL, "is_old"),
        Field("template_id", Kind.INT),
        *read_only(Kind.TEXT, "customerportal_url"),
        _CUSTOMFIELD,
    ),
    filters={
        **filters(Match.EQUALS, "client_id contact_id invoice_id"),
        **filters(Match.CONTAINS, "reminder_number label subject intro note customfield"),
        "invoice_number": Filter(
            Match.CONTAINS, "invoice_number", through=("invoice_id", "invoices")
        ),
        "status": Filter(Match.ONE_OF, "status"),
        **DOCUMENT_DATE_FILTERS,
    },
    required=frozenset({"invoice_id"}),
    defaults={"status": "DRAFT", "is_old": False},
    items="reminder-items",
)

REMINDER_ITEMS = _item_schema("reminder-items", "reminder-item", "reminder_id")

# --- offers ----------------------------------------------------------------------------------

OFFER_STATUSES = ("DRAFT", "OPEN", "WON", "LOST", "CANCELED", "CLEARED")

OFFERS = ResourceSchema(
    plural="offers",
    singular="offer",
    fields=(
        *_IDENTITY,
        *fields(Kind.INT, "client_id contact_id"),
        Field("address"),
        *_NUMBERING,
        *read_only(Kind.TEXT, "offer_number"),
        Field("date", Kind.DATE),
        *fields(Kind.TEXT, "title label intro note"),
        Field("net_gross", Kind.CHOICE, choices=_NET_GROSS),
        Field("reduction", Kind.REDUCTION),
        *_DOCUMENT_AMOUNTS,
        Field("currency_code"),
        Field("quote", Kind.DECIMAL),
        Field("validity_days", Kind.INT),
        Field("validity_date", Kind.DATE),
        Field("status", Kind.CHOICE, writable=False, choices=OFFER_STATUSES),
        *fields(Kind.INT, "free_text_id template_id"),
        _TAXES,
        *read_only(Kind.TEXT, "customerportal_url"),
        _CUSTOMFIELD,
    ),
    filters={
        **filters(Match.EQUALS, "client_id contact_id"),
        **filters(Match.CONTAINS, "offer_number title label intro note customfield"),
        "status": Filter(Match.ONE_OF, "status"),
        "article_id": Filter(Match.HAS_ARTICLE, "article_id"),
        **DOCUMENT_DATE_FILTERS,
    },
    required=frozenset({"client_id"}),
    defaults={"status": "DRAFT", "quote": 1},
    items="offer-items",
)

OFFER_ITEMS = _item_schema("offer-items", "offer-item", "offer_id", Field("optional", Kind.BOOL))

# --- recurring invoices ----------------------------------------------------------------------

RECURRING_ACTIONS = ("CREATE", "COMPLETE", "EMAIL", "MAIL")
RECURRING_CYCLES = ("DAILY", "WEEKLY", "MONTHLY", "YEARLY")

RECURRINGS = ResourceSchema(
    plural="recurrings",
    singular="recurring",
    fields=(
        *_IDENTITY,
        *fields(Kind.INT, "client_id contact_id template_id email_template_id"),
        *fields(Kind.TEXT, "title address supply_date"),
        Field(
            "supply_date_type",
            Kind.CHOICE,
            choices=("SUPPLY_DATE", "DELIVERY_DATE", "SUPPLY_TEXT", "DELIVERY_TEXT"),
        ),
        Field("due_days", Kind.INT),
        Field("discount_rate", Kind.DECIMAL),
        Field("discount_days", Kind.INT),
        *fields(Kind.TEXT, "name label intro note"),
        *read_only(Kind.DECIMAL, "total_gross total_net"),
        Field("currency_code"),
        Field("reduction", Kind.REDUCTION),
        Field("net_gross", Kind.CHOICE, choices=_NET_GROSS),
        Field("quote", Kind.DECIMAL),
        Field("payment_types"),
        Field("action", Kind.CHOICE, choices=RECURRING_ACTIONS),
        Field("cycle_number", Kind.INT),
        Field("cycle", Kind.CHOICE, choices=RECURRING_CYCLES),
        Field("hour", Kind.INT),
        *fields(Kind.DATE, "start_date end_date next_creation_date"),
        *read_only(Kind.DATE, "last_creation_date"),
        Field("iterations", Kind.INT),
        *read_only(Kind.INT, "counter"),
        Field("ultimo", Kind.BOOL),
        *fields(Kind.TEXT, "email_sender email_subject email_message email_filename"),
        *fields(Kind.INT, "offer_id confirmation_id free_text_id"),
        _TAXES,
        _CUSTOMFIELD,
    ),
    filters={
        **filters(Match.EQUALS, "client_id contact_id"),
        **filters(Match.CONTAINS, "name title label intro note customfield"),
        "payment_type": Filter(Match.SHARES, "payment_types"),
        "cycle": Filter(Match.ONE_OF, "cycle"),
    },
    required=frozenset({"client_id"}),
    defaults={
        "action": "CREATE",
        "cycle_number": 1,
        "cycle": "MONTHLY",
        "hour": 2,
        "ultimo": False,
        "counter": 0,
        "quote": 1,
    },
    items="recurring-items",
)

RECURRING_ITEMS = _item_schema("recurring-items", "recurring-item", "recurring_id")

RECURRING_EMAIL_RECEIVERS = ResourceSchema(
    plural="recurring-email-receivers",
    singular="recurring-email-receiver",
    fields=(
        *read_only(Kind.INT, "id"),
        *read_only(Kind.DATETIME, "created"),
        Field("recurring_id", Kind.INT),
        Field("type", Kind.CHOICE, choices=("to", "cc", "bcc")),
        Field("address"),
    ),
    filters=filters(Match.EQUALS, "recurring_id"),
    required=frozenset({"recurring_id", "address"}),
    defaults={"type": "to"},
    parent_filter="recurring_id",
)

# --- registry --------------------------------------------------------------------------------

SCHEMAS: dict[str, ResourceSchema] = {
    schema.plural: schema
    for schema in (
        CLIENTS,
        ARTICLES,
        TAXES,
        UNITS,
        REMINDER_TEXTS,
        INVOICES,
        INVOICE_ITEMS,
        INVOICE_PAYMENTS,
        CREDIT_NOTES,
        CREDIT_NOTE_ITEMS,
        CREDIT_NOTE_PAYMENTS,
        REMINDERS,
        REMINDER_ITEMS,
        OFFERS,
        OFFER_ITEMS,
        RECURRINGS,
        RECURRING_ITEMS,
        RECURRING_EMAIL_RECEIVERS,
    )
}
"""Every list resource by its URL segment (settings is a single record and not listed)."""
