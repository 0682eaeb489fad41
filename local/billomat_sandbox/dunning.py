"""Reminders (Mahnungen): the next dunning level of an overdue invoice, and its life cycle."""

from __future__ import annotations

from decimal import Decimal

from .documents import (
    REMINDER,
    client_days,
    customerportal_url,
    fill_placeholders,
    finalize,
    is_past_due,
    placeholder_sources,
    prepare_item,
    recalculate,
    require_status,
    set_status,
    settle_term,
    store_items,
)
from .errors import bad_request
from .ledger import Ledger
from .schemas import REMINDERS, Record


def dunning_levels(ledger: Ledger) -> list[Record]:
    """The reminder texts in level order (``sorting``)."""
    return sorted(
        ledger.rows("reminder-texts"), key=lambda text: (text.get("sorting") or 0, text["id"])
    )


def next_reminder_level(ledger: Ledger, invoice: Record) -> tuple[int, Record]:
    """Level of the invoice's next reminder and its text: earlier non-cancelled reminders + 1,
    capped at the last level."""
    levels = dunning_levels(ledger)
    if not levels:
        raise bad_request("No reminder texts defined")
    earlier = [
        reminder
        for reminder in ledger.children("reminders", "invoice_id", invoice["id"])
        if reminder["status"] != "CANCELED"
    ]
    level = min(len(earlier) + 1, len(levels))
    return level, levels[level - 1]


def _require_dunnable(ledger: Ledger, invoice: Record) -> None:
    overdue = invoice["status"] == "OVERDUE" or (
        invoice["status"] == "OPEN" and is_past_due(ledger, invoice)
    )
    if not overdue:
        raise bad_request(
            f"Cannot create a reminder for invoice {invoice['id']}: status is "
            f"{invoice['status']}, due {invoice.get('due_date')}; only overdue invoices are dunned"
        )


def create_reminder(ledger: Ledger, values: Record, items: list[Record]) -> Record:
    """A DRAFT reminder for an overdue invoice at the next dunning level."""
    REMINDERS.missing(values)
    invoice = ledger.find("invoices", values["invoice_id"])
    if invoice is None:
        raise bad_request(f"invoice_id {values['invoice_id']} does not exist")
    _require_dunnable(ledger, invoice)
    prepared = [prepare_item(ledger, REMINDER, item, embedded=True) for item in items]
    level, text = next_reminder_level(ledger, invoice)
    client = ledger.find("clients", invoice["client_id"]) or {}
    reminder = REMINDERS.new_record(values)
    reminder.update(
        status="DRAFT",
        client_id=invoice["client_id"],
        currency_code=invoice.get("currency_code"),
        reminder_text_id=text["id"],
        reminder_level=level,
        reminder_level_name=text.get("name"),
    )
    reminder["date"] = reminder.get("date") or ledger.today()
    reminder["address"] = reminder.get("address") or invoice.get("address")
    settle_term(
        reminder,
        set(values),
        days_field="due_days",
        date_field="due_date",
        default_days=client_days(
            client, "reminder_due_days", ledger.settings.get("reminder_due_days")
        ),
    )
    ledger.insert("reminders", reminder)
    reminder["customerportal_url"] = customerportal_url(REMINDER, reminder["id"])
    sources = placeholder_sources(ledger, REMINDER, reminder)
    for field, text_field in (("subject", "subject"), ("intro", "header"), ("note", "footer")):
        if reminder.get(field) is None and text.get(text_field):
            reminder[field] = fill_placeholders(text[text_field], sources)
    if text.get("charge_amount"):
        prepared.insert(
            0,
            prepare_item(
                ledger,
                REMINDER,
                {
                    "title": text.get("charge_name") or "Mahngebühr",
                    "description": text.get("charge_description"),
                    "quantity": Decimal(1),
                    "unit_price": text["charge_amount"],
                    "tax_rate": Decimal(0),
                },
                embedded=True,
            ),
        )
    store_items(ledger, REMINDER, reminder, prepared)
    refresh_reminder(ledger, reminder)
    ledger.emit("reminder.create", "reminders", reminder)
    return reminder


def update_reminder(ledger: Ledger, reminder: Record, values: Record) -> Record:
    """Edit a DRAFT reminder (the invoice cannot change)."""
    require_status(REMINDER, reminder, {"DRAFT"}, "edit")
    if values.get("invoice_id") not in {None, reminder["invoice_id"]}:
        raise bad_request("invoice_id of a reminder cannot change")
    reminder.update(values)
    client = ledger.find("clients", reminder["client_id"]) or {}
    settle_term(
        reminder,
        set(values),
        days_field="due_days",
        date_field="due_date",
        default_days=client_days(
            client, "reminder_due_days", ledger.settings.get("reminder_due_days")
        ),
    )
    ledger.touch(reminder)
    refresh_reminder(ledger, reminder)
    ledger.emit("reminder.update", "reminders", reminder)
    return reminder


def delete_reminder(ledger: Ledger, reminder: Record) -> None:
    """Delete a DRAFT reminder and its items."""
    require_status(REMINDER, reminder, {"DRAFT"}, "delete")
    ledger.remove_all(
        "reminder-items", ledger.children("reminder-items", "reminder_id", reminder["id"])
    )
    ledger.remove("reminders", reminder["id"])
    ledger.emit("reminder.delete", "reminders", reminder)


def _invoice_of(ledger: Ledger, reminder: Record) -> Record | None:
    return ledger.find("invoices", reminder.get("invoice_id"))


def _unpaid_status(ledger: Ledger, reminder: Record) -> str:
    invoice = _invoice_of(ledger, reminder)
    if invoice is not None and invoice["status"] == "PAID":
        return "PAID"
    return "OVERDUE" if is_past_due(ledger, reminder) else "OPEN"


def complete_reminder(ledger: Ledger, reminder: Record) -> Record:
    """DRAFT → OPEN (OVERDUE if already past due; PAID if the invoice is paid meanwhile)."""
    finalize(ledger, REMINDER, reminder)
    set_status(ledger, REMINDER, reminder, _unpaid_status(ledger, reminder))
    refresh_reminder(ledger, reminder)
    return reminder


def cancel_reminder(ledger: Ledger, reminder: Record) -> Record:
    """OPEN/OVERDUE/PAID → CANCELED (a cancelled reminder no longer counts for the level)."""
    require_status(REMINDER, reminder, {"OPEN", "OVERDUE", "PAID"}, "cancel")
    set_status(ledger, REMINDER, reminder, "CANCELED")
    return reminder


def uncancel_reminder(ledger: Ledger, reminder: Record) -> Record:
    """CANCELED → OPEN/OVERDUE/PAID as the invoice and due date say."""
    require_status(REMINDER, reminder, {"CANCELED"}, "uncancel")
    set_status(ledger, REMINDER, reminder, _unpaid_status(ledger, reminder))
    refresh_reminder(ledger, reminder)
    return reminder


def refresh_reminder(ledger: Ledger, reminder: Record) -> None:
    """Amounts of a reminder: the invoice's amounts plus the reminder's own items (fees)."""
    fees = recalculate(ledger, REMINDER, reminder)
    invoice = _invoice_of(ledger, reminder) or {}
    reminder["total_net"] = (invoice.get("total_net") or Decimal(0)) + fees.total_net
    reminder["total_gross"] = (invoice.get("total_gross") or Decimal(0)) + fees.total_gross
    reminder["paid_amount"] = invoice.get("paid_amount") or Decimal(0)
    reminder["open_amount"] = (
        Decimal(0)
        if reminder["status"] == "PAID"
        else (invoice.get("open_amount") or Decimal(0)) + fees.total_gross
    )


def follow_invoice(ledger: Ledger, invoice: Record) -> None:
    """Keep an invoice's reminders in step: PAID with it, open again when it reopens."""
    for reminder in ledger.children("reminders", "invoice_id", invoice["id"]):
        if invoice["status"] == "PAID" and reminder["status"] in {"OPEN", "OVERDUE"}:
            set_status(ledger, REMINDER, reminder, "PAID")
        elif invoice["status"] in {"OPEN", "OVERDUE"} and reminder["status"] == "PAID":
            set_status(ledger, REMINDER, reminder, _unpaid_status(ledger, reminder))
        refresh_reminder(ledger, reminder)


def mark_overdue_reminders(ledger: Ledger) -> list[int]:
    """The daily switch for reminders: OPEN past their due date become OVERDUE."""
    switched = []
    for reminder in ledger.rows("reminders"):
        if reminder["status"] == "OPEN" and is_past_due(ledger, reminder):
            set_status(ledger, REMINDER, reminder, "OVERDUE")
            switched.append(reminder["id"])
    return switched
