"""The in-memory Billomat account: tables of records, settings, and what was sent or raised."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from .clock import SandboxClock
from .errors import not_found
from .journal import SentEmail, WebhookEvent
from .schemas import REMINDER_TEXTS, SCHEMAS, SETTINGS, TAXES, Record

FIRST_ID = 1001
"""Ids come from one sequence shared by all resources, so an invoice id never passes for a
client id by accident (a test with mixed-up ids fails instead of passing)."""

DEFAULT_SETTINGS: dict[str, Any] = {
    "currency_code": "EUR",
    "net_gross": "NET",
    "number_range_mode": "IGNORE_PREFIX",
    "invoice_number_pre": "RE",
    "offer_number_pre": "AN",
    "reminder_number_pre": "MA",
    "credit_note_number_pre": "GU",
    "confirmation_number_pre": "AB",
    "delivery_note_number_pre": "LS",
    "client_number_pre": "KD",
    "article_number_pre": "ART",
    **{
        f"{number_range}_number_{part}": value
        for number_range in (
            "invoice",
            "offer",
            "reminder",
            "credit_note",
            "confirmation",
            "delivery_note",
            "client",
            "article",
        )
        for part, value in (("length", 0), ("next", 1))
    },
    "due_days": 14,
    "discount_rate": None,
    "discount_days": None,
    "offer_validity_days": 14,
    "reminder_due_days": 7,
    "bcc_addresses": "",
    "print_version": False,
}

DEFAULT_TAXES = (
    {"name": "MwSt", "rate": Decimal(19), "is_default": True},
    {"name": "MwSt ermäßigt", "rate": Decimal(7), "is_default": False},
    {"name": "Steuerfrei", "rate": Decimal(0), "is_default": False},
)

DEFAULT_REMINDER_TEXTS = (
    {
        "sorting": 1,
        "name": "Zahlungserinnerung",
        "subject": "Zahlungserinnerung zur Rechnung [Invoice.invoice_number]",
        "header": "sicher haben Sie übersehen, dass unsere Rechnung [Invoice.invoice_number] "
        "vom [Invoice.date] noch offen ist.",
        "footer": "Bitte überweisen Sie den offenen Betrag bis zum [Reminder.due_date].",
    },
    {
        "sorting": 2,
        "name": "1. Mahnung",
        "subject": "1. Mahnung zur Rechnung [Invoice.invoice_number]",
        "header": "leider konnten wir zu unserer Rechnung [Invoice.invoice_number] noch keinen "
        "Zahlungseingang feststellen.",
        "footer": "Bitte begleichen Sie den Betrag bis zum [Reminder.due_date].",
    },
    {
        "sorting": 3,
        "name": "2. Mahnung",
        "subject": "2. Mahnung zur Rechnung [Invoice.invoice_number]",
        "header": "trotz unserer Mahnung ist die Rechnung [Invoice.invoice_number] noch offen.",
        "footer": "Bitte zahlen Sie umgehend, spätestens bis zum [Reminder.due_date].",
    },
    {
        "sorting": 4,
        "name": "Letzte Mahnung",
        "subject": "Letzte Mahnung zur Rechnung [Invoice.invoice_number]",
        "header": "dies ist unsere letzte Mahnung zur Rechnung [Invoice.invoice_number].",
        "footer": "Ohne Zahlung bis zum [Reminder.due_date] übergeben wir die Forderung "
        "an ein Inkassounternehmen.",
    },
)


class Ledger:
    """Every record of one Billomat account. Not thread-safe: the sandbox holds one lock."""

    def __init__(self, clock: SandboxClock, company_name: str) -> None:
        self.clock = clock
        self.company_name = company_name
        self._tables: dict[str, dict[int, Record]] = {name: {} for name in SCHEMAS}
        self._last_id = FIRST_ID - 1
        self._last_webhook_request = 0
        self.sent_emails: list[SentEmail] = []
        self.webhook_events: list[WebhookEvent] = []
        now = clock.now()
        self.settings: Record = SETTINGS.new_record(
            {**DEFAULT_SETTINGS, "created": now, "updated": now}
        )
        self.settings["default_email_sender"] = _sender_address(company_name)
        for tax in DEFAULT_TAXES:
            self.insert("taxes", TAXES.new_record(tax))
        for text in DEFAULT_REMINDER_TEXTS:
            self.insert("reminder-texts", REMINDER_TEXTS.new_record(text))

    # --- time ------------------------------------------------------------------------------

    def now(self) -> datetime:
        """Current instant on the sandbox clock."""
        return self.clock.now()

    def today(self) -> date:
        """Current Berlin calendar date on the sandbox clock."""
        return self.clock.today()

    # --- records ---------------------------------------------------------------------------

    def new_id(self) -> int:
        """The next id of the account-wide sequence."""
        self._last_id += 1
        return self._last_id

    def insert(self, resource: str, record: Record, *, record_id: int | None = None) -> Record:
        """Store a new record, giving it an id and its timestamps."""
        if record_id is None:
            record_id = self.new_id()
        else:
            if self.find(resource, record_id) is not None:
                raise ValueError(f"{resource} {record_id} already exists")
            self._last_id = max(self._last_id, record_id)
        record["id"] = record_id
        fields = SCHEMAS[resource].by_name
        for stamp in ("created", "updated"):
            if stamp in fields and record.get(stamp) is None:
                record[stamp] = self.now()
        self._tables[resource][record_id] = record
        return record

    def find(self, resource: str, record_id: int | None) -> Record | None:
        """The record with this id, or ``None``."""
        if record_id is None:
            return None
        return self._tables[resource].get(record_id)

    def get(self, resource: str, record_id: int) -> Record:
        """The record with this id; 404 when there is none."""
        record = self.find(resource, record_id)
        if record is None:
            raise not_found(f"{SCHEMAS[resource].singular} {record_id}")
        return record

    def rows(self, resource: str) -> list[Record]:
        """All records of a resource in id order."""
        table = self._tables[resource]
        return [table[key] for key in sorted(table)]

    def children(self, resource: str, parent_key: str, parent_id: int) -> list[Record]:
        """Records pointing to one parent (items of a document), in position order."""
        found = [row for row in self._tables[resource].values() if row.get(parent_key) == parent_id]
        return sorted(found, key=lambda row: (row.get("position") or 0, row["id"]))

    def remove(self, resource: str, record_id: int) -> None:
        """Delete a record (the caller has checked it may go)."""
        self._tables[resource].pop(record_id, None)

    def remove_all(self, resource: str, records: Iterable[Record]) -> None:
        """Delete several records of one resource."""
        for record in list(records):
            self.remove(resource, record["id"])

    def touch(self, record: Record) -> None:
        """Mark a record as changed now."""
        if "updated" in record:
            record["updated"] = self.now()

    # --- account defaults -------------------------------------------------------------------

    def default_tax(self) -> Record | None:
        """The tax marked ``is_default`` (19 % unless changed)."""
        return next((tax for tax in self.rows("taxes") if tax.get("is_default")), None)

    def tax_with_rate(self, rate: Decimal) -> Record | None:
        """The first tax with this rate, if the account has one."""
        return next((tax for tax in self.rows("taxes") if tax.get("rate") == rate), None)

    def tax_named(self, name: str) -> Record | None:
        """The tax with this name (case-insensitive), if the account has one."""
        wanted = name.strip().lower()
        return next(
            (tax for tax in self.rows("taxes") if str(tax.get("name", "")).lower() == wanted),
            None,
        )

    # --- observations -------------------------------------------------------------------------

    def emit(self, event: str, resource: str, record: Record) -> None:
        """Record a webhook Billomat would deliver for this change."""
        self._last_webhook_request += 1
        schema = SCHEMAS[resource]
        self.webhook_events.append(
            WebhookEvent(
                event=event,
                record_id=record["id"],
                request_id=self._last_webhook_request,
                at=self.now(),
                payload={schema.singular: schema.to_wire(record)},
            )
        )


def _sender_address(company_name: str) -> str:
    local_part = "".join(ch for ch in company_name.lower() if ch.isalnum()) or "sandbox"
    return f"rechnung@{local_part}.example"
