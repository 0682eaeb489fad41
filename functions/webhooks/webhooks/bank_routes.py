"""Bank deliveries: our own `bank-transaction/v1` JSON and Qonto's transaction webhook.

Both are signed ``t=<epoch s>,v1=<hex HMAC-SHA256 of "t.body">`` (``X-Signature`` and
``X-Qonto-Signature``); several ``v1`` values and several configured secrets are accepted for
rotation, and a timestamp more than five minutes off is refused like a wrong signature (401),
so a captured request cannot be replayed later. Within the window a replay is acknowledged as
a duplicate and queued once (dedupe key ``bank:<source>:<transaction_id>``).

Only booked credits are queued for the bank_payment worker; debits, pending and declined
transactions are acknowledged with 200 ``{"status": "ignored"}`` (a 4xx would make the sender
retry for days). The answer comes before any Billomat work: Qonto allows one second.
"""

from __future__ import annotations

import time
from typing import Any

from pydantic import ValidationError

from autopilot.bank_transactions import (
    BankTransaction,
    QontoEventIgnored,
    from_bank_json,
    from_qonto,
)
from autopilot.messages import BankTransactionMessage
from autopilot.signatures import verify_timestamped_signature

from .deliveries import (
    RequestRejected,
    enqueue_once,
    intake_settings,
    parse_json_object,
    validation_problems,
    webhook_secrets,
)


def _require_signature(source: str, body: bytes, header: str | None) -> None:
    if not verify_timestamped_signature(body, header, webhook_secrets(source), now=time.time()):
        raise RequestRejected(
            401,
            "invalid_signature",
            "signature could not be verified (or its timestamp is more than 5 minutes off)",
        )


def _queue(transaction: BankTransaction) -> dict[str, Any]:
    reference = transaction.reference
    if not transaction.is_booked_credit:
        return {
            "status": "ignored",
            "reason": f"{transaction.direction.value} {transaction.status.value} transactions "
            "are not payments of invoices",
            "transaction": reference,
        }
    message = BankTransactionMessage(transaction=transaction)
    status = enqueue_once(intake_settings().bank_queue_url, f"bank:{reference}", message)
    return {"status": status, "transaction": reference}


def bank_transaction(headers: dict[str, str], body: bytes) -> dict[str, Any]:
    """``POST /webhooks/bank/transactions``: one `bank-transaction/v1` object."""
    _require_signature("bank", body, headers.get("x-signature"))
    data = parse_json_object(body)
    try:
        transaction = from_bank_json(data)
    except ValidationError as exc:
        raise RequestRejected(
            400,
            "invalid_payload",
            "the transaction does not follow bank-transaction/v1",
            problems=validation_problems(exc),
        ) from exc
    return _queue(transaction)


def qonto_transaction(headers: dict[str, str], body: bytes) -> dict[str, Any]:
    """``POST /webhooks/qonto/transactions``: Qonto's ``v1/transactions`` webhook."""
    _require_signature("qonto", body, headers.get("x-qonto-signature"))
    data = parse_json_object(body)
    try:
        transaction = from_qonto(data)
    except QontoEventIgnored as ignored:
        return {"status": "ignored", "reason": str(ignored)}
    except ValueError as exc:
        problems = [
            {"field": field.strip(), "message": message.strip()}
            for field, _, message in (part.partition(":") for part in str(exc).split("; "))
        ]
        raise RequestRejected(
            400, "invalid_payload", "the Qonto transaction cannot be read", problems=problems
        ) from exc
    return _queue(transaction)
