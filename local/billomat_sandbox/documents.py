"""What invoices, credit notes, offers, reminders and recurrings share.

Items, totals, payment terms, numbers, payments, PDF and e-mail.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from .document_totals import DocumentTotals, LineInput, Reduction, calculate_totals
from .errors import bad_request
from .journal import SentEmail
from .ledger import Ledger
from .numbering import assign_number
from .pdf_rendering import render_pdf
from .schemas import (
    CREDIT_NOTE_ITEMS,
    CREDIT_NOTES,
    INVOICE_ITEMS,
    INVOICES,
    OFFER_ITEMS,
    OFFERS,
    PAYMENT_TYPES,
    RECURRING_ITEMS,
    RECURRINGS,
    REMINDER_ITEMS,
    REMINDERS,
    Record,
    ResourceSchema,
)
from .wire_format import wire_scalar


@dataclass(frozen=True)
class DocumentKind:
    """One type of document with items."""

    schema: ResourceSchema
    item_schema: ResourceSchema
    parent_key: str
    """Field of an item pointing to its document (``invoice_id``)."""
    name: str
    """Singular name: webhook prefix, ``SentEmail.document_type``, PDF id field prefix."""
    title: str
    """German document title used in PDFs and default e-mail subjects."""
    placeholder: str
    """Prefix of text placeholders (``[Invoice.invoice_number]``)."""
    number_field: str | None = None
    number_range: str | None = None
    filename_stem: str | None = None
    """Default e-mail attachment name before ``_{id}`` when it differs from ``name``
    (``credit-note``)."""

    @property
    def default_filename_stem(self) -> str:
        """``invoice`` → ``invoice_{id}``, ``credit-note`` → ``credit-note_{id}``."""
        return self.filename_stem or self.name


INVOICE = DocumentKind(
    INVOICES,
    INVOICE_ITEMS,
    "invoice_id",
    "invoice",
    "Rechnung",
    "Invoice",
    "invoice_number",
    "invoice",
)
CREDIT_NOTE = DocumentKind(
    CREDIT_NOTES,
    CREDIT_NOTE_ITEMS,
    "credit_note_id",
    "credit_note",
    "Gutschrift",
    "CreditNote",
    "credit_note_number",
    "credit_note",
    filename_stem="credit-note",
)
OFFER = DocumentKind(
    OFFERS, OFFER_ITEMS, "offer_id", "offer", "Angebot", "Offer", "offer_number", "offer"
)
REMINDER = DocumentKind(
    REMINDERS,
    REMINDER_ITEMS,
    "reminder_id",
    "reminder",
    "Mahnung",
    "Reminder",
    "reminder_number",
    "reminder",
)
RECURRING = DocumentKind(
    RECURRINGS, RECURRING_ITEMS, "recurring_id", "recurring", "Abo-Rechnung", "Recurring"
)

KINDS_BY_ITEMS: dict[str, DocumentKind] = {
    kind.item_schema.plural: kind for kind in (INVOICE, CREDIT_NOTE, OFFER, REMINDER, RECURRING)
}


# --- clients and defaults ---------------------------------------------------------------------


def client_for(ledger: Ledger, client_id: int | None) -> Record:
    """The client a document is written to; 400 when missing or unknown."""
    if client_id is None:
        raise bad_request("client_id missing")
    client = ledger.find("clients", client_id)
    if client is None:
        raise bad_request(f"client_id {client_id} does not exist")
    return client


def format_address(client: Mapping[str, Any]) -> str:
    """The address block Billomat prints on documents, built from the client's fields."""
    person = " ".join(part for part in (client.get("first_name"), client.get("last_name")) if part)
    city = " ".join(part for part in (client.get("zip"), client.get("city")) if part)
    country = client.get("country_code")
    lines = [
        client.get("name"),
        person,
        client.get("street"),
        city,
        country if country and country != "DE" else None,
    ]
    return "\n".join(line for line in lines if line)


def client_days(client: Mapping[str, Any], field: str, account_default: int | None) -> int | None:
    """Days from the client (unless its ``*_type`` says SETTINGS), else the account setting."""
    own = client.get(field)
    if own is not None and client.get(f"{field}_type") != "SETTINGS":
        return int(own)
    return account_default


def apply_document_defaults(ledger: Ledger, record: Record, client: Mapping[str, Any]) -> None:
    """Fill date, address, net/gross and currency the way Billomat does on create."""
    if "date" in record and record.get("date") is None:
        record["date"] = ledger.today()
    if record.get("address") is None and "address" in record:
        record["address"] = format_address(client)
    if record.get("net_gross") is None and "net_gross" in record:
        own = client.get("net_gross")
        record["net_gross"] = own if own in {"NET", "GROSS"} else ledger.settings["net_gross"]
    if record.get("currency_code") is None and "currency_code" in record:
        record["currency_code"] = client.get("currency_code") or ledger.settings["currency_code"]


def settle_term(
    record: Record,
    changed: Collection[str],
    *,
    days_field: str,
    date_field: str,
    default_days: int | None,
) -> None:
    """Keep a term's days and its date consistent (due, discount, validity).

    A date sent explicitly wins and the days follow from it; otherwise the date is the document
    date plus the days (sent, or ``default_days``).
    """
    start: date = record["date"]
    if date_field in changed and record.get(date_field) is not None:
        record[days_field] = (record[date_field] - start).days
        return
    if record.get(days_field) is None:
        record[days_field] = default_days
    days = record.get(days_field)
    if days is None:
        record[date_field] = None
    elif days_field in changed or "date" in changed or record.get(date_field) is None:
        record[date_field] = start + timedelta(days=int(days))


def customerportal_url(kind: DocumentKind, record_id: int) -> str:
    """A stable fake customer-portal link."""
    token = hashlib.sha256(f"{kind.name}:{record_id}".encode()).hexdigest()[:16]
    return f"https://sandbox.billomat.example/portal/{kind.schema.plural}/{record_id}?hash={token}"


# --- items and totals -------------------------------------------------------------------------


def prepare_item(ledger: Ledger, kind: DocumentKind, values: Record, *, embedded: bool) -> Record:
    """A new item record (not yet stored): article data copied, tax resolved, defaults set."""
    if not embedded:
        kind.item_schema.missing(values)
    article = None
    if values.get("article_id") is not None:
        article = ledger.find("articles", values["article_id"])
        if article is None:
            raise bad_request(f"article_id {values['article_id']} does not exist")
    item = kind.item_schema.new_record(values)
    if article is not None:
        for item_field, article_field in (
            ("title", "title"),
            ("description", "description"),
            ("unit_price", "sales_price"),
            ("type", "type"),
        ):
            if values.get(item_field) is None:
                item[item_field] = article.get(article_field)
    _resolve_tax(ledger, item, values, article)
    return item


def _resolve_tax(
    ledger: Ledger, item: Record, values: Mapping[str, Any], article: Record | None
) -> None:
    name, rate = values.get("tax_name"), values.get("tax_rate")
    if rate is not None:
        known = ledger.tax_with_rate(rate)
        item["tax_name"] = name or (known["name"] if known else "MwSt")
        return
    if name is not None:
        named = ledger.tax_named(name)
        if named is None:
            raise bad_request(f"tax_name {name!r} does not exist")
        item["tax_rate"] = named["rate"]
        return
    tax = None
    if article is not None and article.get("tax_id") is not None:
        tax = ledger.find("taxes", article["tax_id"])
    tax = tax or ledger.default_tax()
    item["tax_name"] = tax["name"] if tax else "MwSt"
    item["tax_rate"] = tax["rate"] if tax else Decimal(0)


def store_items(ledger: Ledger, kind: DocumentKind, document: Record, items: list[Record]) -> None:
    """Append prepared items to a document, numbering their positions."""
    existing = ledger.children(kind.item_schema.plural, kind.parent_key, document["id"])
    position = max((row.get("position") or 0 for row in existing), default=0)
    for item in items:
        position += 1
        item[kind.parent_key] = document["id"]
        item["position"] = position
        ledger.insert(kind.item_schema.plural, item)


def recalculate(ledger: Ledger, kind: DocumentKind, document: Record) -> DocumentTotals:
    """Recompute item and document totals (and ``taxes``) from the document's items."""
    items = ledger.children(kind.item_schema.plural, kind.parent_key, document["id"])
    lines = [
        LineInput(
            quantity=item.get("quantity") or Decimal(0),
            unit_price=item.get("unit_price") or Decimal(0),
            tax_rate=item.get("tax_rate") or Decimal(0),
            tax_name=item.get("tax_name") or "",
            reduction=Reduction.parse(item.get("reduction")),
            counted=not item.get("optional"),
        )
        for item in items
    ]
    totals = calculate_totals(
        lines,
        gross_prices=document.get("net_gross") == "GROSS",
        reduction=Reduction.parse(document.get("reduction")),
    )
    for item, line in zip(items, totals.lines, strict=True):
        item["total_net"] = line.net
        item["total_gross"] = line.gross
        item["total_net_unreduced"] = line.net_unreduced
        item["total_gross_unreduced"] = line.gross_unreduced
    computed = {
        "total_net": totals.total_net,
        "total_gross": totals.total_gross,
        "total_net_unreduced": totals.total_net_unreduced,
        "total_gross_unreduced": totals.total_gross_unreduced,
        "total_reduction": totals.total_reduction,
        "taxes": [
            {
                "name": tax.name,
                "rate": tax.rate,
                "amount": tax.amount,
                "amount_net": tax.amount_net,
                "amount_gross": tax.amount_gross,
            }
            for tax in totals.taxes
        ],
    }
    fields = kind.schema.by_name
    document.update({key: value for key, value in computed.items() if key in fields})
    return totals


# --- state ------------------------------------------------------------------------------------


def require_status(
    kind: DocumentKind, document: Mapping[str, Any], allowed: Collection[str], action: str
) -> None:
    """400 unless the document is in one of the ``allowed`` states."""
    status = document.get("status")
    if status not in allowed:
        raise bad_request(
            f"Cannot {action} {kind.name} {document['id']}: status is {status}, "
            f"expected {' or '.join(sorted(allowed))}"
        )


def set_status(ledger: Ledger, kind: DocumentKind, document: Record, status: str) -> None:
    """Change a document's status and raise the ``<kind>.status`` webhook."""
    if document.get("status") == status:
        return
    document["status"] = status
    ledger.touch(document)
    ledger.emit(f"{kind.name}.status", kind.schema.plural, document)


def is_past_due(ledger: Ledger, document: Mapping[str, Any]) -> bool:
    """True when the due date lies before today (Berlin)."""
    due = document.get("due_date")
    return due is not None and due < ledger.today()


def finalize(ledger: Ledger, kind: DocumentKind, document: Record) -> None:
    """The common part of ``complete``: final number and the stored PDF."""
    require_status(kind, document, {"DRAFT"}, "complete")
    if kind.number_range and kind.number_field:
        assign_number(ledger.settings, kind.number_range, document, kind.number_field)
    document["_pdf_id"] = ledger.new_id()
    document["_completed_at"] = ledger.now()


# --- payments (invoices, credit notes) ---------------------------------------------------------


def settle_payments(
    ledger: Ledger,
    kind: DocumentKind,
    payments: ResourceSchema,
    document: Record,
    payable: Collection[str],
) -> None:
    """Paid and open amounts from the document's payments, and its PAID state.

    A document in a ``payable`` state becomes PAID once its payments cover ``total_gross`` or
    one is marked ``mark_<kind>_as_paid``; a PAID one no longer covered is open again (OVERDUE
    when past due; a credit note has no due date).
    """
    booked = ledger.children(payments.plural, kind.parent_key, document["id"])
    paid = sum((payment["amount"] for payment in booked), Decimal(0))
    marked = any(payment.get(f"mark_{kind.name}_as_paid") for payment in booked)
    document["paid_amount"] = paid
    status = document["status"]
    if status in {*payable, "PAID"}:
        if booked and (marked or paid >= document["total_gross"]):
            status = "PAID"
        elif status == "PAID":
            status = "OVERDUE" if is_past_due(ledger, document) else "OPEN"
        set_status(ledger, kind, document, status)
    open_amount = document["total_gross"] - paid
    document["open_amount"] = (
        Decimal(0) if status == "PAID" and (marked or open_amount < 0) else open_amount
    )


def book_document_payment(
    ledger: Ledger,
    kind: DocumentKind,
    payments: ResourceSchema,
    values: Record,
    *,
    payable: Collection[str],
    refresh: Callable[[Ledger, Record], None],
) -> Record:
    """A payment on a ``kind`` document in a ``payable`` state; ``refresh`` then settles it."""
    payments.missing(values)
    document = ledger.find(kind.schema.plural, values[kind.parent_key])
    if document is None:
        raise bad_request(f"{kind.parent_key} {values[kind.parent_key]} does not exist")
    require_status(kind, document, payable, "book a payment on")
    if values["amount"] <= 0:
        raise bad_request("amount must be greater than 0")
    if values.get("type") is not None and values["type"] not in PAYMENT_TYPES:
        raise bad_request(f"Invalid value for type: {values['type']}")
    payment = payments.new_record(values)
    payment["date"] = payment.get("date") or ledger.today()
    payment["currency_code"] = document.get("currency_code")
    payment["quote"] = document.get("quote")
    payment["user_id"] = 1
    ledger.insert(payments.plural, payment)
    refresh(ledger, document)
    ledger.emit(f"{kind.name}_payment.create", payments.plural, payment)
    return payment


def delete_document_payment(
    ledger: Ledger,
    kind: DocumentKind,
    payments: ResourceSchema,
    payment: Record,
    *,
    refresh: Callable[[Ledger, Record], None],
) -> None:
    """Remove a payment and ``refresh`` the document it was booked on (if it still exists)."""
    ledger.remove(payments.plural, payment["id"])
    document = ledger.find(kind.schema.plural, payment[kind.parent_key])
    if document is not None:
        refresh(ledger, document)
    ledger.emit(f"{kind.name}_payment.delete", payments.plural, payment)


# --- PDF and e-mail -----------------------------------------------------------------------------


def document_number(kind: DocumentKind, document: Mapping[str, Any]) -> str:
    """The document's number, or a stand-in for drafts."""
    number = document.get(kind.number_field) if kind.number_field else None
    return str(number or f"{kind.name}_{document['id']}")


def require_completed(kind: DocumentKind, document: Mapping[str, Any], action: str) -> None:
    """400 for drafts: PDF and e-mail exist only after ``complete``."""
    require_status(kind, document, set(kind.schema.by_name["status"].choices) - {"DRAFT"}, action)


def pdf_bytes(ledger: Ledger, kind: DocumentKind, document: Mapping[str, Any]) -> bytes:
    """The document's PDF (only completed documents have one)."""
    require_completed(kind, document, "get the PDF of")
    client = ledger.find("clients", document.get("client_id")) or {}
    return render_pdf(
        [
            ledger.company_name,
            f"{kind.title} {document_number(kind, document)}",
            f"Datum: {wire_scalar(document.get('date'))}",
            f"Kunde: {client.get('name') or ''}",
            f"Gesamt: {wire_scalar(document.get('total_gross'))} "
            f"{document.get('currency_code') or ''}",
        ]
    )


def pdf_record(ledger: Ledger, kind: DocumentKind, document: Mapping[str, Any]) -> Record:
    """The ``{"pdf": {...}}`` record with the base64 file."""
    content = pdf_bytes(ledger, kind, document)
    return {
        "id": document.get("_pdf_id"),
        "created": document.get("_completed_at"),
        f"{kind.name}_id": document["id"],
        "filename": f"{document_number(kind, document)}.pdf",
        "mimetype": "application/pdf",
        "filesize": len(content),
        "base64file": base64.b64encode(content).decode("ascii"),
    }


_PLACEHOLDER = re.compile(r"\[(\w+)\.(\w+)\]")


def placeholder_sources(
    ledger: Ledger, kind: DocumentKind, document: Record
) -> dict[str, Mapping[str, Any]]:
    """Records that ``[Invoice.x]``, ``[Client.x]``... placeholders may refer to."""
    sources: dict[str, Mapping[str, Any]] = {kind.placeholder: document}
    invoice = ledger.find("invoices", document.get("invoice_id"))
    if invoice is not None and kind is not INVOICE:
        sources["Invoice"] = invoice
    client = ledger.find("clients", document.get("client_id"))
    if client is not None:
        sources["Client"] = client
    return sources


def fill_placeholders(text: str, sources: Mapping[str, Mapping[str, Any]]) -> str:
    """Replace ``[Invoice.invoice_number]``-style placeholders; unknown ones stay as they are."""

    def value(found: re.Match[str]) -> str:
        record = sources.get(found.group(1))
        if record is None or found.group(2) not in record:
            return found.group(0)
        raw = record[found.group(2)]
        if isinstance(raw, date):
            return raw.strftime("%d.%m.%Y")
        return wire_scalar(raw)

    return _PLACEHOLDER.sub(value, text)


def _addresses(value: Any) -> list[str]:
    if value is None or value == "":
        return []
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    if isinstance(value, list):
        return [address for each in value for address in _addresses(each)]
    raise bad_request("recipients must be strings or lists of strings")


def send_email(
    ledger: Ledger, kind: DocumentKind, document: Record, email: Mapping[str, Any]
) -> SentEmail:
    """Record the e-mail Billomat would send for a completed document."""
    require_completed(kind, document, "e-mail")
    recipients = email.get("recipients")
    if not isinstance(recipients, Mapping):
        raise bad_request("recipients missing")
    to, cc, bcc = (_addresses(recipients.get(key)) for key in ("to", "cc", "bcc"))
    if not (to or cc or bcc):
        raise bad_request("recipients missing")
    sources = placeholder_sources(ledger, kind, document)
    number = document_number(kind, document)
    subject = email.get("subject") or f"{kind.title} {number}"
    body = email.get("body") or (
        f"Sehr geehrte Damen und Herren,\n\nanbei erhalten Sie {kind.title} {number}.\n\n"
        f"Mit freundlichen Grüßen\n{ledger.company_name}"
    )
    sent = SentEmail(
        document_type=kind.name,
        document_id=document["id"],
        to=to,
        cc=cc,
        bcc=bcc,
        subject=fill_placeholders(str(subject), sources),
        body=fill_placeholders(str(body), sources),
        at=ledger.now(),
        sender=str(email.get("from") or ledger.settings.get("default_email_sender") or ""),
        filename=str(email.get("filename") or f"{kind.default_filename_stem}_{document['id']}"),
    )
    ledger.sent_emails.append(sent)
    ledger.emit(f"{kind.name}.send", kind.schema.plural, document)
    return sent
