"""What the sandbox observed and did: requests received, e-mails sent, webhook events raised."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class RequestRecord:
    """One request as the sandbox answered it.

    ``path`` is the URL path as sent (``/api/invoices/7/complete``). A simulated timeout is
    recorded with status 504, the answer the local server gives after its delay.
    """

    method: str
    path: str
    query: dict[str, str]
    status: int
    at: datetime

    @property
    def route(self) -> str:
        """The path relative to ``/api/`` (``invoices/7/complete``), as fault rules use it."""
        return self.path.removeprefix("/api/").strip("/")


@dataclass(frozen=True)
class SentEmail:
    """An e-mail Billomat would have sent for a document."""

    document_type: str
    """``invoice``, ``credit_note``, ``reminder`` or ``offer``."""
    document_id: int
    to: list[str]
    cc: list[str]
    bcc: list[str]
    subject: str
    body: str
    at: datetime
    sender: str = ""
    filename: str = ""


@dataclass(frozen=True)
class WebhookEvent:
    """A webhook Billomat would have delivered (``invoice.create``, ``invoice_payment.create``...).

    ``payload`` is the record wrapped in its element name, as in a GET at that moment;
    ``request_id`` increases like ``X-Billomat-Webhook-Request-Id``.
    """

    event: str
    record_id: int
    request_id: int
    at: datetime
    payload: dict[str, Any] = field(default_factory=dict)
