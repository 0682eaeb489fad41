"""Recurring invoices (Abo-Rechnungen): stored schedules that Billomat turns into invoices."""

from __future__ import annotations

import calendar
from datetime import date, timedelta

from . import invoicing
from .documents import (
    INVOICE,
    RECURRING,
    apply_document_defaults,
    client_for,
    format_address,
    prepare_item,
    recalculate,
    send_email,
    store_items,
)
from .errors import bad_request
from .ledger import Ledger
from .schemas import RECURRING_EMAIL_RECEIVERS, RECURRINGS, Record

COPIED_TO_INVOICE = (
    "client_id",
    "contact_id",
    "template_id",
    "title",
    "address",
    "supply_date",
    "supply_date_type",
    "due_days",
    "discount_rate",
    "discount_days",
    "label",
    "intro",
    "note",
    "currency_code",
    "reduction",
    "net_gross",
    "quote",
    "payment_types",
    "offer_id",
    "confirmation_id",
    "free_text_id",
)
"""Header fields a generated invoice takes over from its recurring."""

COPIED_ITEM_FIELDS = (
    "article_id",
    "unit",
    "quantity",
    "unit_price",
    "tax_name",
    "tax_rate",
    "title",
    "description",
    "reduction",
    "type",
)


def add_months(start: date, months: int, anchor_day: int, *, ultimo: bool = False) -> date:
    """``start`` moved by whole months, keeping ``anchor_day`` where the month allows it.

    The 31st becomes the last day of shorter months and returns to the 31st afterwards;
    ``ultimo`` always lands on the month's last day.
    """
    year, month_index = divmod(start.month - 1 + months, 12)
    year += start.year
    month = month_index + 1
    last_day = calendar.monthrange(year, month)[1]
    return date(year, month, last_day if ultimo else min(anchor_day, last_day))


def following_creation_date(
    current: date, cycle: str, cycle_number: int, anchor_day: int, *, ultimo: bool = False
) -> date:
    """The creation date after ``current``: ``cycle_number`` × ``cycle`` later."""
    match cycle:
        case "DAILY":
            return current + timedelta(days=cycle_number)
        case "WEEKLY":
            return current + timedelta(weeks=cycle_number)
        case "YEARLY":
            return add_months(current, 12 * cycle_number, anchor_day, ultimo=ultimo)
        case _:
            return add_months(current, cycle_number, anchor_day, ultimo=ultimo)


def _check_schedule(recurring: Record) -> None:
    if (recurring.get("cycle_number") or 0) < 1:
        raise bad_request("cycle_number must be at least 1")
    next_date = recurring.get("next_creation_date")
    recurring["_anchor_day"] = next_date.day if next_date else None


def create_recurring(ledger: Ledger, values: Record, items: list[Record]) -> Record:
    """Store a recurring invoice; nothing runs until its ``next_creation_date``."""
    client = client_for(ledger, values.get("client_id"))
    prepared = [prepare_item(ledger, RECURRING, item, embedded=True) for item in items]
    recurring = RECURRINGS.new_record(values)
    apply_document_defaults(ledger, recurring, client)
    recurring["start_date"] = recurring.get("start_date") or ledger.today() + timedelta(days=1)
    if "next_creation_date" not in values:
        recurring["next_creation_date"] = recurring["start_date"]
    _check_schedule(recurring)
    ledger.insert("recurrings", recurring)
    store_items(ledger, RECURRING, recurring, prepared)
    recalculate(ledger, RECURRING, recurring)
    ledger.emit("recurring.create", "recurrings", recurring)
    return recurring


def update_recurring(ledger: Ledger, recurring: Record, values: Record) -> Record:
    """Edit a recurring (allowed at any time)."""
    client = client_for(ledger, values.get("client_id", recurring["client_id"]))
    recurring.update(values)
    if "client_id" in values and "address" not in values:
        recurring["address"] = format_address(client)
    _check_schedule(recurring)
    ledger.touch(recurring)
    recalculate(ledger, RECURRING, recurring)
    ledger.emit("recurring.update", "recurrings", recurring)
    return recurring


def delete_recurring(ledger: Ledger, recurring: Record) -> None:
    """Delete a recurring with its items and e-mail receivers (its invoices stay)."""
    for resource in ("recurring-items", "recurring-email-receivers"):
        ledger.remove_all(resource, ledger.children(resource, "recurring_id", recurring["id"]))
    ledger.remove("recurrings", recurring["id"])
    ledger.emit("recurring.delete", "recurrings", recurring)


def stop_recurring(ledger: Ledger, recurring: Record) -> Record:
    """``PUT /recurrings/{id}/stop``: no further invoices (``next_creation_date`` emptied)."""
    recurring["next_creation_date"] = None
    ledger.touch(recurring)
    ledger.emit("recurring.update", "recurrings", recurring)
    return recurring


def _schedule_ended(recurring: Record) -> bool:
    next_date = recurring.get("next_creation_date")
    end_date = recurring.get("end_date")
    iterations = recurring.get("iterations")
    return (
        next_date is None
        or (end_date is not None and next_date > end_date)
        or (bool(iterations) and recurring["counter"] >= iterations)
    )


def _invoice_from(ledger: Ledger, recurring: Record, run_date: date) -> Record:
    values = {
        field: recurring[field] for field in COPIED_TO_INVOICE if recurring.get(field) is not None
    }
    values.update(recurring_id=recurring["id"], date=run_date)
    items = [
        {field: item[field] for field in COPIED_ITEM_FIELDS if item.get(field) is not None}
        for item in ledger.children("recurring-items", "recurring_id", recurring["id"])
    ]
    invoice = invoicing.create_invoice(ledger, values, items)
    if recurring["action"] in {"COMPLETE", "EMAIL", "MAIL"}:
        invoicing.complete_invoice(ledger, invoice)
    if recurring["action"] == "EMAIL":
        _email_recurring_invoice(ledger, recurring, invoice)
    return invoice


def _email_recurring_invoice(ledger: Ledger, recurring: Record, invoice: Record) -> None:
    receivers = ledger.children("recurring-email-receivers", "recurring_id", recurring["id"])
    recipients = {
        kind: [row["address"] for row in receivers if row["type"] == kind]
        for kind in ("to", "cc", "bcc")
    }
    if not any(recipients.values()):
        client = ledger.find("clients", recurring["client_id"]) or {}
        if not client.get("email"):
            return  # nobody to write to: Billomat would leave the invoice unsent
        recipients["to"] = [client["email"]]
    send_email(
        ledger,
        INVOICE,
        invoice,
        {
            "recipients": recipients,
            "subject": recurring.get("email_subject"),
            "body": recurring.get("email_message"),
            "from": recurring.get("email_sender"),
            "filename": recurring.get("email_filename"),
        },
    )


def run_due_recurrings(ledger: Ledger) -> list[int]:
    """What Billomat does each night: one invoice per due run (catching up missed runs).

    Each invoice is dated on its scheduled creation date and carries ``recurring_id``; the
    recurring's ``counter`` and ``last_creation_date`` advance and ``next_creation_date`` moves by
    ``cycle_number`` × ``cycle`` (month ends clamped), ending at ``end_date``/``iterations``.
    """
    created: list[int] = []
    today = ledger.today()
    for recurring in ledger.rows("recurrings"):
        ran = False
        while not _schedule_ended(recurring) and recurring["next_creation_date"] <= today:
            run_date: date = recurring["next_creation_date"]
            created.append(_invoice_from(ledger, recurring, run_date)["id"])
            recurring["counter"] += 1
            recurring["last_creation_date"] = run_date
            recurring["next_creation_date"] = following_creation_date(
                run_date,
                recurring["cycle"],
                recurring["cycle_number"],
                recurring.get("_anchor_day") or run_date.day,
                ultimo=bool(recurring.get("ultimo")),
            )
            ran = True
        if ran:
            if _schedule_ended(recurring):
                recurring["next_creation_date"] = None
            ledger.touch(recurring)
            ledger.emit("recurring.update", "recurrings", recurring)
    return created


def add_email_receiver(ledger: Ledger, values: Record) -> Record:
    """An address the EMAIL action sends the generated invoices to."""
    RECURRING_EMAIL_RECEIVERS.missing(values)
    if ledger.find("recurrings", values["recurring_id"]) is None:
        raise bad_request(f"recurring_id {values['recurring_id']} does not exist")
    return ledger.insert("recurring-email-receivers", RECURRING_EMAIL_RECEIVERS.new_record(values))
