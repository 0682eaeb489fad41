"""Clients, articles, taxes, reminder texts and account settings."""

from __future__ import annotations

from decimal import Decimal

from .documents import format_address
from .errors import bad_request
from .ledger import Ledger
from .numbering import assign_number, render_number
from .schemas import ARTICLES, CLIENTS, REMINDER_TEXTS, TAXES, UNITS, Record

DOCUMENT_RESOURCES = ("invoices", "credit-notes", "offers", "reminders", "recurrings")
"""Documents that keep a client from being deleted."""

NUMBER_FIELDS = frozenset({"number", "number_pre", "number_length"})


# --- clients ---------------------------------------------------------------------------------


def create_client(ledger: Ledger, values: Record) -> Record:
    """A new client; ``client_number`` comes from the client number range (KD1, KD2...)."""
    client = CLIENTS.new_record(values)
    assign_number(ledger.settings, "client", client, "client_number")
    client["address"] = format_address(client)
    ledger.insert("clients", client)
    client["customerportal_url"] = f"https://sandbox.billomat.example/portal/clients/{client['id']}"
    ledger.emit("client.create", "clients", client)
    return client


def update_client(ledger: Ledger, client: Record, values: Record) -> Record:
    """Edit a client; its number and address block follow the edited fields."""
    client.update(values)
    if NUMBER_FIELDS & set(values):
        render_number(client, "client_number")
    client["address"] = format_address(client)
    ledger.touch(client)
    ledger.emit("client.update", "clients", client)
    return client


def delete_client(ledger: Ledger, client: Record) -> None:
    """Delete a client that has no documents yet."""
    for resource in DOCUMENT_RESOURCES:
        if ledger.children(resource, "client_id", client["id"]):
            raise bad_request(f"Client {client['id']} has {resource} and cannot be deleted")
    ledger.remove("clients", client["id"])
    ledger.emit("client.delete", "clients", client)


def client_with_revenue(ledger: Ledger, client: Record) -> Record:
    """The client with ``revenue_net``/``revenue_gross`` of its completed invoices."""
    invoices = [
        invoice
        for invoice in ledger.children("invoices", "client_id", client["id"])
        if invoice["status"] not in {"DRAFT", "CANCELED"}
    ]
    return client | {
        "revenue_net": sum((invoice["total_net"] for invoice in invoices), Decimal(0)),
        "revenue_gross": sum((invoice["total_gross"] for invoice in invoices), Decimal(0)),
    }


def own_company(ledger: Ledger) -> Record:
    """``GET /clients/myself``: the account's own company in client form."""
    return CLIENTS.new_record(
        {
            "id": 1,
            "created": ledger.settings.get("created"),
            "name": ledger.company_name,
            "street": "Musterstraße 1",
            "zip": "10115",
            "city": "Berlin",
            "country_code": "DE",
            "email": ledger.settings.get("default_email_sender"),
            "vat_number": "DE123456789",
            "currency_code": ledger.settings.get("currency_code"),
            "address": f"{ledger.company_name}\nMusterstraße 1\n10115 Berlin",
        }
    )


# --- articles --------------------------------------------------------------------------------


def _check_tax(ledger: Ledger, values: Record) -> None:
    if values.get("tax_id") is not None and ledger.find("taxes", values["tax_id"]) is None:
        raise bad_request(f"tax_id {values['tax_id']} does not exist")
    if values.get("unit_id") is not None and ledger.find("units", values["unit_id"]) is None:
        raise bad_request(f"unit_id {values['unit_id']} does not exist")


def create_article(ledger: Ledger, values: Record) -> Record:
    """A new article; ``article_number`` comes from the article number range (ART1...)."""
    _check_tax(ledger, values)
    article = ARTICLES.new_record(values)
    article["currency_code"] = article.get("currency_code") or ledger.settings["currency_code"]
    assign_number(ledger.settings, "article", article, "article_number")
    ledger.insert("articles", article)
    ledger.emit("article.create", "articles", article)
    return article


def update_article(ledger: Ledger, article: Record, values: Record) -> Record:
    """Edit an article; items already on documents keep their copied values."""
    _check_tax(ledger, values)
    article.update(values)
    if NUMBER_FIELDS & set(values):
        render_number(article, "article_number")
    ledger.touch(article)
    ledger.emit("article.update", "articles", article)
    return article


def delete_article(ledger: Ledger, article: Record) -> None:
    """Delete an article."""
    ledger.remove("articles", article["id"])
    ledger.emit("article.delete", "articles", article)


# --- units -----------------------------------------------------------------------------------


def create_unit(ledger: Ledger, values: Record) -> Record:
    """A new unit (``Stück``, ``kg``, ``Stunde``)."""
    UNITS.missing(values)
    return ledger.insert("units", UNITS.new_record(values))


def delete_unit(ledger: Ledger, unit: Record) -> None:
    """Delete a unit no article uses (Billomat refuses otherwise)."""
    if any(article.get("unit_id") == unit["id"] for article in ledger.rows("articles")):
        raise bad_request("the unit is used by an article and cannot be deleted")
    ledger.remove("units", unit["id"])


# --- taxes and reminder texts ----------------------------------------------------------------


def _keep_single_default(ledger: Ledger, tax: Record) -> None:
    if tax.get("is_default"):
        for other in ledger.rows("taxes"):
            if other is not tax:
                other["is_default"] = False


def create_tax(ledger: Ledger, values: Record) -> Record:
    """A new tax rate; marking it default unmarks the previous default."""
    TAXES.missing(values)
    tax = ledger.insert("taxes", TAXES.new_record(values))
    _keep_single_default(ledger, tax)
    return tax


def update_tax(ledger: Ledger, tax: Record, values: Record) -> Record:
    """Edit a tax rate."""
    tax.update(values)
    _keep_single_default(ledger, tax)
    return tax


def create_reminder_text(ledger: Ledger, values: Record) -> Record:
    """A new dunning level; without ``sorting`` it becomes the last level."""
    REMINDER_TEXTS.missing(values)
    text = REMINDER_TEXTS.new_record(values)
    if text.get("sorting") is None:
        text["sorting"] = 1 + max(
            (row.get("sorting") or 0 for row in ledger.rows("reminder-texts")), default=0
        )
    return ledger.insert("reminder-texts", text)


# --- settings --------------------------------------------------------------------------------


def update_settings(ledger: Ledger, values: Record) -> Record:
    """Edit the account settings (number prefixes, default terms...)."""
    ledger.settings.update(values)
    ledger.settings["updated"] = ledger.now()
    return ledger.settings
