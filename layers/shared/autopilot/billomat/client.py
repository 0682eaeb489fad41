"""The Billomat client: typed methods for the resources the workflows use.

Reads return models (Decimal money, dates); writes take drafts. Keep one client per Lambda
container: it holds the HTTP connection pool and the last known request quota.

Empty answers: action PUTs (complete, cancel, win, stop, ...), customfield PUTs, e-mails and
deletes return None whatever Billomat answers; fetch the record again when you need it. A record
PUT (update) that answers with an empty body is re-fetched, so updates always return the record.
Actions are idempotent: when Billomat refuses one (400) and the record already is in the state
the action leads to, the call returns normally, so a redelivered message cannot fail on it.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import re
import time
from collections.abc import Callable, Iterator, Sequence
from decimal import Decimal
from enum import Enum
from types import TracebackType
from typing import Any, Self, TypedDict, Unpack

import httpx
from pydantic import ValidationError

from autopilot.billomat.connection import BillomatConnection, BillomatCredentials
from autopilot.billomat.drafts import (
    ArticleDraft,
    BillomatDraft,
    ClientDraft,
    CreditNoteChanges,
    CreditNoteDraft,
    CreditNoteItemDraft,
    CreditNotePaymentDraft,
    InvoiceChanges,
    InvoiceDraft,
    InvoiceItemDraft,
    OfferDraft,
    PaymentDraft,
    RecurringChanges,
    RecurringDraft,
    ReminderDraft,
    UnitDraft,
)
from autopilot.billomat.envelope import (
    EnvelopeError,
    FilterValue,
    decode_json,
    query_params,
    unwrap_list,
    unwrap_record,
)
from autopilot.billomat.errors import (
    BillomatError,
    BillomatUnexpectedResponseError,
    BillomatValidationError,
)
from autopilot.billomat.models import (
    Article,
    BillomatEntity,
    BillomatRecord,
    Client,
    CreditNote,
    CreditNoteItem,
    CreditNotePayment,
    CreditNoteStatus,
    DocumentPdf,
    Invoice,
    InvoiceGroup,
    InvoiceItem,
    InvoicePayment,
    InvoiceStatus,
    Offer,
    OfferItem,
    OfferStatus,
    PaymentType,
    Recurring,
    RecurringEmailReceiver,
    RecurringItem,
    Reminder,
    ReminderStatus,
    ReminderText,
    Settings,
    Tax,
    Unit,
)
from autopilot.billomat.rate_limit import BILLOMAT_WINDOW_SECONDS, RateLimitState, RatePriority

PER_PAGE = 1000
"""Billomat's maximum page size: fewest requests against the 15-minute quota."""

INVOICE_GROUP_FIELDS = frozenset({"client", "status", "day", "week", "month", "year"})

_BILLOMAT_ID = re.compile(r"^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$", re.IGNORECASE)

type Addresses = str | Sequence[str]


class EmailOptions(TypedDict, total=False):
    """Optional parts of a document e-mail; subject and body default to Billomat's template
    and may use placeholders such as ``[Invoice.invoice_number]``; ``filename`` without .pdf."""

    cc: Addresses | None
    bcc: Addresses | None
    subject: str | None
    body: str | None
    filename: str | None
    from_: str | None
    email_template_id: int | None


type OrderBy = str | Sequence[str] | None


class BillomatClient:
    """Typed access to one Billomat account, aware of its request quota."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        app_id: str | None = None,
        app_secret: str | None = None,
        transport: httpx.BaseTransport | None = None,
        timeout: float = 10.0,
        max_retries: int = 3,
        sleep: Callable[[float], None] = time.sleep,
        now: Callable[[], float] = time.time,
        time_budget: Callable[[], float] | None = None,
        max_wait: float = 60.0,
        priority: RatePriority = RatePriority.ORDERS,
        rate_window_seconds: float = BILLOMAT_WINDOW_SECONDS,
        credentials: Callable[[], BillomatCredentials] | None = None,
    ) -> None:
        """``credentials``, when given, reads the key (and app credentials) afresh: a 401 asks
        it once and repeats the request once if the key changed (a rotated secret)."""
        self._connection = BillomatConnection(
            base_url,
            api_key,
            app_id=app_id,
            app_secret=app_secret,
            transport=transport,
            timeout=timeout,
            max_retries=max_retries,
            sleep=sleep,
            now=now,
            time_budget=time_budget,
            max_wait=max_wait,
            priority=priority,
            rate_window_seconds=rate_window_seconds,
            credentials=credentials,
        )

    @staticmethod
    def base_url_for(billomat_id: str | None, base_url_override: str | None) -> str:
        """The API base URL: the override if given, else ``https://{billomat_id}.billomat.net/api/``."""
        if base_url_override and base_url_override.strip():
            override = base_url_override.strip()
            return override if override.endswith("/") else override + "/"
        if billomat_id and billomat_id.strip():
            account = billomat_id.strip()
            if not _BILLOMAT_ID.match(account):
                raise ValueError(
                    f"BILLOMAT_ID {account!r} is not a Billomat account name: use the subdomain"
                    " only, e.g. 'mycompany' for https://mycompany.billomat.net"
                )
            return f"https://{account}.billomat.net/api/"
        raise ValueError(
            "No Billomat account configured: set BILLOMAT_ID (the subdomain of"
            " https://<id>.billomat.net) or BILLOMAT_BASE_URL (a full API URL)"
        )

    def __repr__(self) -> str:
        return f"BillomatClient(base_url={str(self._connection.base_url)!r})"

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Release the HTTP connection pool."""
        self._connection.close()

    # -- quota and budget -------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """The API base URL requests go to (ends with ``/``)."""
        return str(self._connection.base_url)

    @property
    def time_budget(self) -> Callable[[], float] | None:
        """Seconds the caller can still spend; None means waits up to ``max_wait``."""
        return self._connection.time_budget

    @time_budget.setter
    def time_budget(self, budget: Callable[[], float] | None) -> None:
        self._connection.time_budget = budget

    @property
    def priority(self) -> RatePriority:
        """Who goes first when workers compete for the quota (orders, bank, schedules)."""
        return self._connection.priority

    @priority.setter
    def priority(self, priority: RatePriority) -> None:
        self._connection.priority = priority

    @property
    def max_wait(self) -> float:
        """Longest wait (rate limit, backoff) when no time budget is set."""
        return self._connection.max_wait

    @max_wait.setter
    def max_wait(self, seconds: float) -> None:
        self._connection.max_wait = seconds

    @property
    def rate_limit_remaining(self) -> int | None:
        """Requests left in the current 15-minute window, as the last response said."""
        return self._connection.rate_limit.remaining

    @property
    def rate_limit_reset(self) -> float | None:
        """UTC epoch seconds when the next quota window starts, as the last response said."""
        return self._connection.rate_limit.reset

    @property
    def rate_limit(self) -> RateLimitState:
        """The quota as the last response reported it, and the 429s received (read it; the
        connection keeps it up to date)."""
        return self._connection.rate_limit

    @property
    def request_count(self) -> int:
        """Requests actually sent by this client (retries included)."""
        return self._connection.request_count

    # -- clients ----------------------------------------------------------------------------

    def iter_clients(
        self,
        *,
        name: str | None = None,
        client_number: str | None = None,
        email: str | None = None,
        customfield: str | None = None,
        order_by: OrderBy = None,
        **filters: FilterValue,
    ) -> Iterator[Client]:
        """All clients matching Billomat's (substring) filters, page by page."""
        params = _filters(
            filters,
            name=name,
            client_number=client_number,
            email=email,
            customfield=customfield,
            order_by=order_by,
        )
        return self._iterate("clients", "clients", "client", Client, params)

    def get_client(self, client_id: int) -> Client:
        """One client by id."""
        return self._get(f"clients/{client_id}", "client", Client)

    def get_myself(self) -> Client:
        """The account's own company record."""
        return self._get("clients/myself", "client", Client)

    def create_client(self, draft: ClientDraft) -> Client:
        """Create a client (``draft.customfield`` is stored too)."""
        return self._create("clients", "client", draft, Client)

    def update_client(self, client_id: int, changes: ClientDraft) -> Client:
        """Change the given fields of a client."""
        return self._update(f"clients/{client_id}", "client", changes, Client)

    def set_client_customfield(self, client_id: int, value: str) -> None:
        """Store our reference in the client's customfield."""
        self._set_customfield("clients", "client", client_id, value)

    def find_client_by_customfield(self, value: str) -> Client | None:
        """The client whose customfield is exactly ``value`` (Billomat only matches substrings)."""
        wanted = _search_text(value, "customfield")
        matches = [
            client
            for client in self.iter_clients(customfield=wanted)
            if (client.customfield or "").strip() == wanted
        ]
        return _preferred_client(matches)

    def find_client_by_email(self, email: str, name: str | None = None) -> Client | None:
        """The client with exactly this e-mail address (case-insensitive, trimmed) and, when
        ``name`` is given, exactly this name (case and spacing aside).

        Billomat's filter also returns ``amax@example.de`` for ``max@example.de``; those are
        dropped. With several exact matches, an active one with the lowest id wins.
        """
        wanted = _search_text(email, "email")
        matches = [
            client
            for client in self.iter_clients(email=wanted)
            if (client.email or "").strip().casefold() == wanted.casefold()
            and (name is None or _same_name(client.name, name))
        ]
        return _preferred_client(matches)

    # -- articles ---------------------------------------------------------------------------

    def iter_articles(
        self,
        *,
        article_number: str | None = None,
        title: str | None = None,
        customfield: str | None = None,
        order_by: OrderBy = None,
        **filters: FilterValue,
    ) -> Iterator[Article]:
        """All articles matching Billomat's (substring) filters."""
        params = _filters(
            filters,
            article_number=article_number,
            title=title,
            customfield=customfield,
            order_by=order_by,
        )
        return self._iterate("articles", "articles", "article", Article, params)

    def get_article(self, article_id: int) -> Article:
        """One article by id."""
        return self._get(f"articles/{article_id}", "article", Article)

    def create_article(self, draft: ArticleDraft) -> Article:
        """Create an article."""
        return self._create("articles", "article", draft, Article)

    def update_article(self, article_id: int, changes: ArticleDraft) -> Article:
        """Change the given fields of an article."""
        return self._update(f"articles/{article_id}", "article", changes, Article)

    def delete_article(self, article_id: int) -> None:
        """Delete an article (see :meth:`article_in_use` first: documents refer to articles)."""
        self._connection.send("DELETE", f"articles/{article_id}", retry_safe=False)

    def find_articles_by_customfield(self, value: str) -> list[Article]:
        """Articles whose customfield is exactly ``value`` (our SKU key), oldest first."""
        wanted = _search_text(value, "customfield")
        return sorted(
            (
                article
                for article in self.iter_articles(customfield=wanted)
                if (article.customfield or "").strip() == wanted
            ),
            key=lambda article: article.id,
        )

    def article_in_use(self, article_id: int) -> bool:
        """True when an invoice or offer has a position referring to the article."""
        params = {"article_id": str(article_id)}
        invoices = self._iterate("invoices", "invoices", "invoice", Invoice, params)
        if next(invoices, None) is not None:
            return True
        offers = self._iterate("offers", "offers", "offer", Offer, params)
        return next(offers, None) is not None

    def list_units(self) -> list[Unit]:
        """The units of quantity configured in the account."""
        return list(self._iterate("units", "units", "unit", Unit, {}))

    def create_unit(self, name: str) -> Unit:
        """Create a unit of quantity."""
        return self._create("units", "unit", UnitDraft(name=name), Unit)

    def find_article_by_number(self, article_number: str) -> Article | None:
        """The article whose number is exactly ``article_number`` (e.g. a shop SKU)."""
        wanted = _search_text(article_number, "article_number")
        matches = [
            article
            for article in self.iter_articles(article_number=wanted)
            if (article.article_number or "").strip() == wanted
        ]
        matches.sort(key=lambda article: (article.archived, article.id))
        return matches[0] if matches else None

    # -- invoices ---------------------------------------------------------------------------

    def iter_invoices(
        self,
        *,
        client_id: int | None = None,
        status: InvoiceStatus | Sequence[InvoiceStatus] | None = None,
        invoice_number: str | None = None,
        label: str | None = None,
        customfield: str | None = None,
        date_from: dt.date | None = None,
        date_to: dt.date | None = None,
        payment_type: PaymentType | Sequence[PaymentType] | None = None,
        recurring_id: int | None = None,
        order_by: OrderBy = None,
        **filters: FilterValue,
    ) -> Iterator[Invoice]:
        """Invoices matching the filters; ``date_from``/``date_to`` filter the invoice date.

        Billomat has no due-date filter: ask for ``status=OVERDUE`` (or OPEN and OVERDUE) and
        compare ``due_date`` yourself.
        """
        params = _filters(
            filters,
            client_id=client_id,
            status=status,
            invoice_number=invoice_number,
            label=label,
            customfield=customfield,
            payment_type=payment_type,
            recurring_id=recurring_id,
            order_by=order_by,
            **{"from": date_from, "to": date_to},
        )
        return self._iterate("invoices", "invoices", "invoice", Invoice, params)

    def count_invoices(
        self,
        *,
        status: InvoiceStatus | Sequence[InvoiceStatus] | None = None,
        date_from: dt.date | None = None,
        date_to: dt.date | None = None,
        **filters: FilterValue,
    ) -> int:
        """Number of matching invoices, from a HEAD request (no body transferred)."""
        params = _filters(filters, status=status, **{"from": date_from, "to": date_to})
        response = self._connection.send("HEAD", "invoices", params=params, retry_safe=True)
        try:
            return int(response.headers["X-Total-Count"])
        except (KeyError, ValueError) as exc:
            raise BillomatUnexpectedResponseError(
                "Billomat answered the count without a valid X-Total-Count header",
                **_context(response),
            ) from exc

    def find_invoices_by_customfield(self, value: str) -> list[Invoice]:
        """Invoices whose customfield is exactly ``value``, oldest first."""
        wanted = _search_text(value, "customfield")
        return sorted(
            (
                invoice
                for invoice in self.iter_invoices(customfield=wanted)
                if (invoice.customfield or "").strip() == wanted
            ),
            key=lambda invoice: invoice.id,
        )

    def find_invoices_by_label(self, label: str) -> list[Invoice]:
        """Invoices whose label is exactly ``label``, oldest first."""
        wanted = _search_text(label, "label")
        return sorted(
            (
                invoice
                for invoice in self.iter_invoices(label=wanted)
                if (invoice.label or "").strip() == wanted
            ),
            key=lambda invoice: invoice.id,
        )

    def get_invoice(self, invoice_id: int) -> Invoice:
        """One invoice by id."""
        return self._get(f"invoices/{invoice_id}", "invoice", Invoice)

    def create_invoice(self, draft: InvoiceDraft) -> Invoice:
        """Create a DRAFT invoice with its positions (never re-sent automatically).

        On ``BillomatUnavailableError`` with ``may_have_committed`` look it up by customfield
        before trying again.
        """
        return self._create("invoices", "invoice", draft, Invoice)

    def update_invoice(self, invoice_id: int, changes: InvoiceChanges) -> Invoice:
        """Change header fields of a DRAFT invoice."""
        return self._update(f"invoices/{invoice_id}", "invoice", changes, Invoice)

    def delete_invoice(self, invoice_id: int) -> None:
        """Delete an invoice (Billomat allows it for drafts; cancel completed ones instead)."""
        self._connection.send("DELETE", f"invoices/{invoice_id}", retry_safe=False)

    def list_invoice_items(self, invoice_id: int) -> list[InvoiceItem]:
        """The positions of an invoice."""
        params = {"invoice_id": str(invoice_id)}
        return list(
            self._iterate("invoice-items", "invoice-items", "invoice-item", InvoiceItem, params)
        )

    def add_invoice_item(self, invoice_id: int, item: InvoiceItemDraft) -> InvoiceItem:
        """Append a position to a DRAFT invoice."""
        body = {"invoice-item": {"invoice_id": invoice_id, **item.to_billomat()}}
        response = self._connection.send("POST", "invoice-items", body=body, retry_safe=False)
        return self._record(response, "invoice-item", InvoiceItem)

    def complete_invoice(self, invoice_id: int, template_id: int | None = None) -> None:
        """Finalise a DRAFT invoice: number fixed, PDF generated, status OPEN (or OVERDUE)."""
        self._action(
            f"invoices/{invoice_id}/complete",
            {"complete": _without_none(template_id=template_id)},
            reached=lambda: self.get_invoice(invoice_id).status is not InvoiceStatus.DRAFT,
        )

    def invoice_pdf(self, invoice_id: int) -> bytes:
        """The PDF of a completed invoice."""
        return self._pdf(f"invoices/{invoice_id}/pdf")

    def email_invoice(
        self, invoice_id: int, to: Addresses, **options: Unpack[EmailOptions]
    ) -> None:
        """E-mail a completed invoice (never re-sent automatically).

        Subject and body default to Billomat's e-mail template and may use placeholders such as
        ``[Invoice.invoice_number]``; ``filename`` is without ``.pdf``.
        """
        self._email(f"invoices/{invoice_id}/email", to, **options)

    def cancel_invoice(self, invoice_id: int) -> None:
        """Cancel a completed invoice (status CANCELED)."""
        self._action(
            f"invoices/{invoice_id}/cancel",
            None,
            reached=lambda: self.get_invoice(invoice_id).status is InvoiceStatus.CANCELED,
        )

    def uncancel_invoice(self, invoice_id: int) -> None:
        """Undo a cancellation."""
        self._action(
            f"invoices/{invoice_id}/uncancel",
            None,
            reached=lambda: self.get_invoice(invoice_id).status is not InvoiceStatus.CANCELED,
        )

    def set_invoice_customfield(self, invoice_id: int, value: str) -> None:
        """Store our reference (e.g. the shop order) in the invoice's customfield."""
        self._set_customfield("invoices", "invoice", invoice_id, value)

    def group_invoices(
        self,
        fields: Sequence[str],
        *,
        status: InvoiceStatus | Sequence[InvoiceStatus] | None = None,
        date_from: dt.date | None = None,
        date_to: dt.date | None = None,
        **filters: FilterValue,
    ) -> list[InvoiceGroup]:
        """Invoice totals grouped by client/status/day/week/month/year, in one request."""
        unknown = set(fields) - INVOICE_GROUP_FIELDS
        if not fields or unknown:
            raise ValueError(
                f"group_by needs some of {sorted(INVOICE_GROUP_FIELDS)}, got {list(fields)}"
            )
        params = _filters(
            filters, group_by=list(fields), status=status, **{"from": date_from, "to": date_to}
        )
        response = self._connection.send("GET", "invoices", params=params, retry_safe=True)
        payload = self._json(response)
        try:
            listing = unwrap_list(payload, "invoice-groups", "invoice-group")
            root = payload.get("invoice-groups") if isinstance(payload, dict) else None
            currency = root.get("currency_code") if isinstance(root, dict) else None
            return [
                InvoiceGroup.model_validate(
                    {"currency_code": currency, **record} if currency else record
                )
                for record in listing.records
            ]
        except (EnvelopeError, ValidationError) as exc:
            raise _unexpected(response, exc) from exc

    # -- invoice payments -------------------------------------------------------------------

    def iter_invoice_payments(
        self,
        *,
        invoice_id: int | None = None,
        date_from: dt.date | None = None,
        date_to: dt.date | None = None,
        type: PaymentType | Sequence[PaymentType] | None = None,
        order_by: OrderBy = None,
        **filters: FilterValue,
    ) -> Iterator[InvoicePayment]:
        """Payments booked on invoices; ``date_from``/``date_to`` filter the payment date."""
        params = _filters(
            filters,
            invoice_id=invoice_id,
            type=type,
            order_by=order_by,
            **{"from": date_from, "to": date_to},
        )
        return self._iterate(
            "invoice-payments", "invoice-payments", "invoice-payment", InvoicePayment, params
        )

    def create_invoice_payment(self, draft: PaymentDraft) -> InvoicePayment:
        """Book a payment on an OPEN/OVERDUE invoice (never re-sent automatically)."""
        response = self._connection.send(
            "POST",
            "invoice-payments",
            body={"invoice-payment": draft.to_billomat()},
            retry_safe=False,
        )
        return self._record(response, "invoice-payment", InvoicePayment)

    def book_payment(
        self,
        invoice_id: int,
        amount: Decimal,
        date: dt.date | None = None,
        type: PaymentType | None = None,
        comment: str | None = None,
        mark_invoice_as_paid: bool = False,
    ) -> InvoicePayment:
        """Book a customer payment on an invoice; see ``PaymentDraft`` for the fields."""
        return self.create_invoice_payment(
            PaymentDraft(
                invoice_id=invoice_id,
                amount=amount,
                date=date,
                type=type,
                comment=comment,
                mark_invoice_as_paid=mark_invoice_as_paid,
            )
        )

    def delete_invoice_payment(self, payment_id: int) -> None:
        """Remove a payment; the invoice goes back to OPEN/OVERDUE."""
        self._connection.send("DELETE", f"invoice-payments/{payment_id}", retry_safe=False)

    # -- credit notes -----------------------------------------------------------------------

    def iter_credit_notes(
        self,
        *,
        client_id: int | None = None,
        invoice_id: int | None = None,
        status: CreditNoteStatus | Sequence[CreditNoteStatus] | None = None,
        credit_note_number: str | None = None,
        label: str | None = None,
        customfield: str | None = None,
        date_from: dt.date | None = None,
        date_to: dt.date | None = None,
        order_by: OrderBy = None,
        **filters: FilterValue,
    ) -> Iterator[CreditNote]:
        """Credit notes matching the filters; ``date_from``/``date_to`` filter their date."""
        params = _filters(
            filters,
            client_id=client_id,
            invoice_id=invoice_id,
            status=status,
            credit_note_number=credit_note_number,
            label=label,
            customfield=customfield,
            order_by=order_by,
            **{"from": date_from, "to": date_to},
        )
        return self._iterate("credit-notes", "credit-notes", "credit-note", CreditNote, params)

    def find_credit_notes_by_customfield(self, value: str) -> list[CreditNote]:
        """Credit notes whose customfield is exactly ``value``, oldest first."""
        wanted = _search_text(value, "customfield")
        return sorted(
            (
                credit_note
                for credit_note in self.iter_credit_notes(customfield=wanted)
                if (credit_note.customfield or "").strip() == wanted
            ),
            key=lambda credit_note: credit_note.id,
        )

    def get_credit_note(self, credit_note_id: int) -> CreditNote:
        """One credit note by id."""
        return self._get(f"credit-notes/{credit_note_id}", "credit-note", CreditNote)

    def create_credit_note(self, draft: CreditNoteDraft) -> CreditNote:
        """Create a DRAFT credit note with its positions (never re-sent automatically).

        On ``BillomatUnavailableError`` with ``may_have_committed`` look it up by customfield
        (:meth:`find_credit_notes_by_customfield`) before trying again.
        """
        return self._create("credit-notes", "credit-note", draft, CreditNote)

    def update_credit_note(self, credit_note_id: int, changes: CreditNoteChanges) -> CreditNote:
        """Change header fields of a DRAFT credit note."""
        return self._update(f"credit-notes/{credit_note_id}", "credit-note", changes, CreditNote)

    def delete_credit_note(self, credit_note_id: int) -> None:
        """Delete a DRAFT credit note (cancel completed ones instead)."""
        self._connection.send("DELETE", f"credit-notes/{credit_note_id}", retry_safe=False)

    def list_credit_note_items(self, credit_note_id: int) -> list[CreditNoteItem]:
        """The positions of a credit note."""
        params = {"credit_note_id": str(credit_note_id)}
        return list(
            self._iterate(
                "credit-note-items", "credit-note-items", "credit-note-item", CreditNoteItem, params
            )
        )

    def add_credit_note_item(
        self, credit_note_id: int, item: CreditNoteItemDraft
    ) -> CreditNoteItem:
        """Append a position to a DRAFT credit note."""
        body = {"credit-note-item": {"credit_note_id": credit_note_id, **item.to_billomat()}}
        response = self._connection.send("POST", "credit-note-items", body=body, retry_safe=False)
        return self._record(response, "credit-note-item", CreditNoteItem)

    def complete_credit_note(self, credit_note_id: int, template_id: int | None = None) -> None:
        """Finalise a DRAFT credit note: number fixed, PDF generated, status OPEN."""
        self._action(
            f"credit-notes/{credit_note_id}/complete",
            {"complete": _without_none(template_id=template_id)},
            reached=lambda: (
                self.get_credit_note(credit_note_id).status is not CreditNoteStatus.DRAFT
            ),
        )

    def credit_note_pdf(self, credit_note_id: int) -> bytes:
        """The PDF of a completed credit note."""
        return self._pdf(f"credit-notes/{credit_note_id}/pdf")

    def email_credit_note(
        self, credit_note_id: int, to: Addresses, **options: Unpack[EmailOptions]
    ) -> None:
        """E-mail a completed credit note (never re-sent automatically).

        Placeholders such as ``[CreditNote.credit_note_number]`` may be used in subject and
        body; ``filename`` is without ``.pdf`` (Billomat's default: ``credit-note_{id}``).
        """
        self._email(f"credit-notes/{credit_note_id}/email", to, **options)

    def cancel_credit_note(self, credit_note_id: int) -> None:
        """Cancel a completed credit note (status CANCELED)."""
        self._action(
            f"credit-notes/{credit_note_id}/cancel",
            None,
            reached=lambda: (
                self.get_credit_note(credit_note_id).status is CreditNoteStatus.CANCELED
            ),
        )

    def uncancel_credit_note(self, credit_note_id: int) -> None:
        """Undo the cancellation of a credit note."""
        self._action(
            f"credit-notes/{credit_note_id}/uncancel",
            None,
            reached=lambda: (
                self.get_credit_note(credit_note_id).status is not CreditNoteStatus.CANCELED
            ),
        )

    def set_credit_note_customfield(self, credit_note_id: int, value: str) -> None:
        """Store our reference (e.g. the shop refund) in the credit note's customfield."""
        self._set_customfield("credit-notes", "credit-note", credit_note_id, value)

    # -- credit note payments ---------------------------------------------------------------

    def iter_credit_note_payments(
        self,
        *,
        credit_note_id: int | None = None,
        date_from: dt.date | None = None,
        date_to: dt.date | None = None,
        type: PaymentType | Sequence[PaymentType] | None = None,
        order_by: OrderBy = None,
        **filters: FilterValue,
    ) -> Iterator[CreditNotePayment]:
        """Payments booked on credit notes; ``date_from``/``date_to`` filter the payment date."""
        params = _filters(
            filters,
            credit_note_id=credit_note_id,
            type=type,
            order_by=order_by,
            **{"from": date_from, "to": date_to},
        )
        return self._iterate(
            "credit-note-payments",
            "credit-note-payments",
            "credit-note-payment",
            CreditNotePayment,
            params,
        )

    def list_credit_note_payments(self, credit_note_id: int) -> list[CreditNotePayment]:
        """The payments booked on one credit note, oldest first."""
        payments = self.iter_credit_note_payments(credit_note_id=credit_note_id)
        return sorted(payments, key=lambda payment: payment.id)

    def find_credit_note_payment(
        self, credit_note_id: int, marker: str
    ) -> CreditNotePayment | None:
        """The credit note's payment whose comment carries ``marker`` (the text only that
        payment's comment has, as ``payments.book_payment_once`` uses for invoices), if any."""
        wanted = _search_text(marker, "payment marker")
        for payment in self.iter_credit_note_payments(credit_note_id=credit_note_id):
            if payment.comment and wanted in payment.comment:
                return payment
        return None

    def create_credit_note_payment(self, draft: CreditNotePaymentDraft) -> CreditNotePayment:
        """Book a payment on an OPEN credit note (never re-sent automatically)."""
        response = self._connection.send(
            "POST",
            "credit-note-payments",
            body={"credit-note-payment": draft.to_billomat()},
            retry_safe=False,
        )
        return self._record(response, "credit-note-payment", CreditNotePayment)

    def book_credit_note_payment(
        self,
        credit_note_id: int,
        amount: Decimal,
        date: dt.date | None = None,
        type: PaymentType | None = None,
        comment: str | None = None,
        mark_credit_note_as_paid: bool = False,
    ) -> CreditNotePayment:
        """Book the payout of a credit note; see ``CreditNotePaymentDraft`` for the fields."""
        return self.create_credit_note_payment(
            CreditNotePaymentDraft(
                credit_note_id=credit_note_id,
                amount=amount,
                date=date,
                type=type,
                comment=comment,
                mark_credit_note_as_paid=mark_credit_note_as_paid,
            )
        )

    def delete_credit_note_payment(self, payment_id: int) -> None:
        """Remove a payment; the credit note goes back to OPEN."""
        self._connection.send("DELETE", f"credit-note-payments/{payment_id}", retry_safe=False)

    # -- reminders --------------------------------------------------------------------------

    def iter_reminders(
        self,
        *,
        client_id: int | None = None,
        status: ReminderStatus | Sequence[ReminderStatus] | None = None,
        invoice_number: str | None = None,
        label: str | None = None,
        date_from: dt.date | None = None,
        date_to: dt.date | None = None,
        order_by: OrderBy = None,
        **filters: FilterValue,
    ) -> Iterator[Reminder]:
        """Reminders matching the filters."""
        params = _filters(
            filters,
            client_id=client_id,
            status=status,
            invoice_number=invoice_number,
            label=label,
            order_by=order_by,
            **{"from": date_from, "to": date_to},
        )
        return self._iterate("reminders", "reminders", "reminder", Reminder, params)

    def get_reminder(self, reminder_id: int) -> Reminder:
        """One reminder by id."""
        return self._get(f"reminders/{reminder_id}", "reminder", Reminder)

    def create_reminder(self, draft: ReminderDraft) -> Reminder:
        """Create a DRAFT reminder; Billomat picks the next dunning level and its texts."""
        response = self._connection.send(
            "POST", "reminders", body={"reminder": draft.to_billomat()}, retry_safe=False
        )
        return self._record(response, "reminder", Reminder)

    def complete_reminder(self, reminder_id: int, template_id: int | None = None) -> None:
        """Finalise a DRAFT reminder (PDF generated)."""
        self._action(
            f"reminders/{reminder_id}/complete",
            {"complete": _without_none(template_id=template_id)},
            reached=lambda: self.get_reminder(reminder_id).status is not ReminderStatus.DRAFT,
        )

    def reminder_pdf(self, reminder_id: int) -> bytes:
        """The PDF of a completed reminder."""
        return self._pdf(f"reminders/{reminder_id}/pdf")

    def email_reminder(
        self, reminder_id: int, to: Addresses, **options: Unpack[EmailOptions]
    ) -> None:
        """E-mail a completed reminder (never re-sent automatically)."""
        self._email(f"reminders/{reminder_id}/email", to, **options)

    def list_reminder_texts(self) -> list[ReminderText]:
        """The dunning levels, ordered by ``sorting`` (level 1 first)."""
        texts = list(
            self._iterate("reminder-texts", "reminder-texts", "reminder-text", ReminderText, {})
        )
        return sorted(texts, key=lambda text: (text.sorting is None, text.sorting or 0, text.id))

    # -- recurring invoices -----------------------------------------------------------------

    def iter_recurrings(
        self,
        *,
        client_id: int | None = None,
        name: str | None = None,
        label: str | None = None,
        order_by: OrderBy = None,
        **filters: FilterValue,
    ) -> Iterator[Recurring]:
        """Recurring invoice templates matching the filters."""
        params = _filters(filters, client_id=client_id, name=name, label=label, order_by=order_by)
        return self._iterate("recurrings", "recurrings", "recurring", Recurring, params)

    def get_recurring(self, recurring_id: int) -> Recurring:
        """One recurring invoice template by id."""
        return self._get(f"recurrings/{recurring_id}", "recurring", Recurring)

    def create_recurring(self, draft: RecurringDraft) -> Recurring:
        """Create a recurring invoice template with its positions."""
        return self._create("recurrings", "recurring", draft, Recurring)

    def update_recurring(self, recurring_id: int, changes: RecurringChanges) -> Recurring:
        """Change fields of a recurring invoice template."""
        return self._update(f"recurrings/{recurring_id}", "recurring", changes, Recurring)

    def stop_recurring(self, recurring_id: int) -> None:
        """Stop a recurring invoice (Billomat clears ``next_creation_date``)."""
        self._action(
            f"recurrings/{recurring_id}/stop",
            None,
            reached=lambda: self.get_recurring(recurring_id).next_creation_date is None,
        )

    def list_recurring_items(self, recurring_id: int) -> list[RecurringItem]:
        """The positions of a recurring invoice template."""
        params = {"recurring_id": str(recurring_id)}
        return list(
            self._iterate(
                "recurring-items", "recurring-items", "recurring-item", RecurringItem, params
            )
        )

    def list_recurring_email_receivers(self, recurring_id: int) -> list[RecurringEmailReceiver]:
        """Where Billomat e-mails the invoices of a recurring (action EMAIL)."""
        params = {"recurring_id": str(recurring_id)}
        return list(
            self._iterate(
                "recurring-email-receivers",
                "recurring-email-receivers",
                "recurring-email-receiver",
                RecurringEmailReceiver,
                params,
            )
        )

    # -- offers -----------------------------------------------------------------------------

    def iter_offers(
        self,
        *,
        client_id: int | None = None,
        status: OfferStatus | Sequence[OfferStatus] | None = None,
        offer_number: str | None = None,
        label: str | None = None,
        customfield: str | None = None,
        date_from: dt.date | None = None,
        date_to: dt.date | None = None,
        order_by: OrderBy = None,
        **filters: FilterValue,
    ) -> Iterator[Offer]:
        """Offers matching the filters."""
        params = _filters(
            filters,
            client_id=client_id,
            status=status,
            offer_number=offer_number,
            label=label,
            customfield=customfield,
            order_by=order_by,
            **{"from": date_from, "to": date_to},
        )
        return self._iterate("offers", "offers", "offer", Offer, params)

    def find_offers_by_customfield(self, value: str) -> list[Offer]:
        """Offers whose customfield is exactly ``value`` (e.g. a CRM deal id), oldest first."""
        wanted = _search_text(value, "customfield")
        return sorted(
            (
                offer
                for offer in self.iter_offers(customfield=wanted)
                if (offer.customfield or "").strip() == wanted
            ),
            key=lambda offer: offer.id,
        )

    def get_offer(self, offer_id: int) -> Offer:
        """One offer by id."""
        return self._get(f"offers/{offer_id}", "offer", Offer)

    def create_offer(self, draft: OfferDraft) -> Offer:
        """Create a DRAFT offer with its positions (never re-sent automatically)."""
        return self._create("offers", "offer", draft, Offer)

    def list_offer_items(self, offer_id: int) -> list[OfferItem]:
        """The positions of an offer."""
        params = {"offer_id": str(offer_id)}
        return list(self._iterate("offer-items", "offer-items", "offer-item", OfferItem, params))

    def complete_offer(self, offer_id: int, template_id: int | None = None) -> None:
        """Finalise a DRAFT offer (status OPEN, PDF generated)."""
        self._action(
            f"offers/{offer_id}/complete",
            {"complete": _without_none(template_id=template_id)},
            reached=lambda: self.get_offer(offer_id).status is not OfferStatus.DRAFT,
        )

    def win_offer(self, offer_id: int) -> None:
        """Mark an offer as accepted by the customer (WON)."""
        self._offer_action(offer_id, "win", OfferStatus.WON)

    def lose_offer(self, offer_id: int) -> None:
        """Mark an offer as declined (LOST)."""
        self._offer_action(offer_id, "lose", OfferStatus.LOST)

    def clear_offer(self, offer_id: int) -> None:
        """Mark an offer as billed (CLEARED)."""
        self._offer_action(offer_id, "clear", OfferStatus.CLEARED)

    def cancel_offer(self, offer_id: int) -> None:
        """Cancel an offer (CANCELED)."""
        self._offer_action(offer_id, "cancel", OfferStatus.CANCELED)

    def offer_pdf(self, offer_id: int) -> bytes:
        """The PDF of a completed offer."""
        return self._pdf(f"offers/{offer_id}/pdf")

    def email_offer(self, offer_id: int, to: Addresses, **options: Unpack[EmailOptions]) -> None:
        """E-mail a completed offer (never re-sent automatically)."""
        self._email(f"offers/{offer_id}/email", to, **options)

    def set_offer_customfield(self, offer_id: int, value: str) -> None:
        """Store our reference (e.g. the CRM deal) in the offer's customfield."""
        self._set_customfield("offers", "offer", offer_id, value)

    # -- settings ---------------------------------------------------------------------------

    def list_taxes(self) -> list[Tax]:
        """The tax rates configured in the account."""
        return list(self._iterate("taxes", "taxes", "tax", Tax, {}))

    def get_settings(self) -> Settings:
        """The account settings."""
        return self._get("settings", "settings", Settings)

    # -- the Billomat dialect, once ---------------------------------------------------------

    def _get[M: BillomatRecord](self, path: str, name: str, model: type[M]) -> M:
        response = self._connection.send("GET", path, retry_safe=True)
        return self._record(response, name, model)

    def _iterate[M: BillomatRecord](
        self, path: str, plural: str, singular: str, model: type[M], params: dict[str, str]
    ) -> Iterator[M]:
        """All pages of a list, ``PER_PAGE`` records at a time, as models."""
        page = 1
        seen = 0
        while True:
            query = {**params, "per_page": str(PER_PAGE), "page": str(page)}
            response = self._connection.send("GET", path, params=query, retry_safe=True)
            payload = self._json(response)
            try:
                listing = unwrap_list(payload, plural, singular)
                records = [model.model_validate(record) for record in listing.records]
            except (EnvelopeError, ValidationError) as exc:
                raise _unexpected(response, exc) from exc
            yield from records
            seen += len(records)
            page_size = listing.per_page or PER_PAGE
            if len(records) < page_size or (listing.total is not None and seen >= listing.total):
                return
            page += 1

    def _create[M: BillomatEntity](
        self, path: str, name: str, draft: BillomatDraft, model: type[M]
    ) -> M:
        """POST a draft; make sure the customfield we asked for is stored.

        Whether Billomat accepts ``customfield`` in a create body is undocumented, so it is
        sent there (closing the window for duplicates if accepted) and, when the created
        record does not carry it, set through the customfield endpoint.
        """
        response = self._connection.send(
            "POST", path, body={name: draft.to_billomat()}, retry_safe=False
        )
        record = self._record(response, name, model)
        wanted: str | None = getattr(draft, "customfield", None)
        if wanted is not None and record.customfield != wanted:
            self._set_customfield(path, name, record.id, wanted)
            record = record.model_copy(update={"customfield": wanted})
        return record

    def _update[M: BillomatRecord](
        self, path: str, name: str, changes: BillomatDraft, model: type[M]
    ) -> M:
        response = self._connection.send(
            "PUT", path, body={name: changes.to_billomat()}, retry_safe=True
        )
        if not response.content.strip():
            return self._get(path, name, model)
        return self._record(response, name, model)

    def _set_customfield(self, path: str, name: str, record_id: int, value: str) -> None:
        self._connection.send(
            "PUT",
            f"{path}/{record_id}/customfield",
            body={name: {"customfield": value}},
            retry_safe=True,
        )

    def _action(
        self, path: str, body: dict[str, Any] | None, *, reached: Callable[[], bool]
    ) -> None:
        """A state-changing PUT; a refusal is fine if the record already is in the target state."""
        try:
            self._connection.send("PUT", path, body=body, retry_safe=True)
        except BillomatValidationError as refusal:
            try:
                already_done = reached()
            except BillomatError:
                raise refusal from None
            if not already_done:
                raise

    def _offer_action(self, offer_id: int, action: str, target: OfferStatus) -> None:
        self._action(
            f"offers/{offer_id}/{action}",
            None,
            reached=lambda: self.get_offer(offer_id).status is target,
        )

    def _email(self, path: str, to: Addresses, **options: Unpack[EmailOptions]) -> None:
        recipients: dict[str, Any] = {"to": _addresses(to, "to")}
        for field, addresses in (("cc", options.get("cc")), ("bcc", options.get("bcc"))):
            if addresses is not None and (listed := _addresses(addresses, field, required=False)):
                recipients[field] = listed
        email = {
            "recipients": recipients,
            **_without_none(
                subject=options.get("subject"),
                body=options.get("body"),
                filename=options.get("filename"),
                email_template_id=options.get("email_template_id"),
            ),
        }
        if options.get("from_") is not None:
            email["from"] = options["from_"]
        self._connection.send("POST", path, body={"email": email}, retry_safe=False)

    def _pdf(self, path: str) -> bytes:
        response = self._connection.send("GET", path, retry_safe=True)
        if response.headers.get("Content-Type", "").startswith("application/pdf"):
            return response.content
        pdf = self._record(response, "pdf", DocumentPdf)
        try:
            return base64.b64decode(pdf.base64file, validate=False)
        except (binascii.Error, ValueError) as exc:
            raise _unexpected(response, exc) from exc

    def _json(self, response: httpx.Response) -> Any:
        try:
            return decode_json(response.content)
        except ValueError as exc:
            raise BillomatUnexpectedResponseError(
                "Billomat answered with a body that is not JSON", **_context(response)
            ) from exc

    def _record[M: BillomatRecord](self, response: httpx.Response, name: str, model: type[M]) -> M:
        payload = self._json(response)
        try:
            return model.model_validate(unwrap_record(payload, name))
        except (EnvelopeError, ValidationError) as exc:
            raise _unexpected(response, exc) from exc


def _filters(extra: dict[str, FilterValue], **named: FilterValue) -> dict[str, str]:
    """Named and pass-through filters as query parameters; ``order_by`` lists comma-joined."""
    return query_params(
        {**extra, **{key: value for key, value in named.items() if value is not None}}
    )


def _without_none(**fields: object) -> dict[str, Any]:
    return {
        key: value.value if isinstance(value, Enum) else value
        for key, value in fields.items()
        if value is not None
    }


def _search_text(value: str, field: str) -> str:
    """The trimmed search value; a blank one would match every record."""
    wanted = value.strip()
    if not wanted:
        raise ValueError(f"cannot search Billomat by an empty {field}")
    return wanted


def _same_name(actual: str | None, wanted: str) -> bool:
    """Names compared the way a person would: case and runs of spaces do not count."""
    return " ".join((actual or "").split()).casefold() == " ".join(wanted.split()).casefold()


def _preferred_client(matches: list[Client]) -> Client | None:
    """Among exact matches, an active client before an archived one, then the oldest."""
    matches.sort(key=lambda client: (client.archived, client.id))
    return matches[0] if matches else None


def _addresses(value: Addresses, field: str, *, required: bool = True) -> str | list[str]:
    """One address as a string, several as a list (both are Billomat's shape)."""
    raw = [value] if isinstance(value, str) else list(value)
    addresses = [address.strip() for address in raw if address and address.strip()]
    if required and not addresses:
        raise ValueError(f"an e-mail needs at least one {field!r} address")
    return addresses[0] if len(addresses) == 1 else addresses


def _context(response: httpx.Response) -> dict[str, Any]:
    return {
        "status_code": response.status_code,
        "method": response.request.method,
        "path": response.request.url.path,
    }


def _unexpected(response: httpx.Response, exc: Exception) -> BillomatUnexpectedResponseError:
    if isinstance(exc, ValidationError):
        problems = [
            f"{'.'.join(str(part) for part in error['loc'])}: {error['msg']}"
            for error in exc.errors(include_url=False, include_input=False)
        ]
    else:
        problems = [str(exc)]
    return BillomatUnexpectedResponseError(
        "Billomat's answer did not have the expected shape: " + "; ".join(problems[:5]),
        messages=problems,
        **_context(response),
    )
