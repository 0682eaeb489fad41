"""bank_payment Lambda: bank transactions → Billomat payments, and the camt.053 import.

Wiring only. Handlers:

- ``lambda_handler``: the shared SQS worker (:mod:`autopilot.sqs_worker`: typed messages,
  idempotency keyed on source + transaction id, delayed retry on a spent rate limit or an
  outage, one failure metric) runs :class:`booking.BankPaymentBooking` for every queued
  :class:`~autopilot.messages.BankTransactionMessage`. One booking object per batch: the open
  invoices are read once per batch, and after the batch accounting gets one notice about the
  batch's new review items (if that notice fails, the batch is retried; the bookings themselves
  are idempotent).
- ``import_handler``: camt.053 uploads → queued transactions (:mod:`statements`).
- ``review_handler``: the review list (local mode's ``GET /local/review``).
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from autopilot.notifications import accounting_notifier_for
from autopilot.observability import route_domain_logs
from autopilot.sqs_worker import SqsWorker, WorkerConfig, Workflow
from autopilot.workflow_state import workflow_store_for

if TYPE_CHECKING:
    from autopilot.messages import BankTransactionMessage
    from autopilot.notifications import AccountingNotifier

    from .booking import BankPaymentBooking
    from .settings import BankPaymentSettings

# The workflow (Billomat client, pydantic models, matching rules) is imported on the first
# record rather than at module load: see bench/coldstart.py.


@cache
def settings() -> BankPaymentSettings:
    """The function's configuration, parsed once per container."""
    from .settings import BankPaymentSettings

    return BankPaymentSettings.from_env()


def new_booking() -> BankPaymentBooking:
    """A fresh booking workflow: open invoices and clients are re-read on first use."""
    from autopilot.billomat_access import billomat_client

    from .booking import BankPaymentBooking

    return BankPaymentBooking(
        billomat_client(),
        workflow_store_for(settings().workflow_table),
        notifier(),
        settings().payer_match,
    )


def notifier() -> AccountingNotifier:
    """The container's accounting notices (also told about rejected statement uploads)."""
    return accounting_notifier_for(settings().notifications_topic_arn)


def bank_transaction_message() -> type[BankTransactionMessage]:
    """The bank queue's message model (imported on the first batch)."""
    from autopilot.messages import BankTransactionMessage

    return BankTransactionMessage


class BookTransfers(Workflow["BankTransactionMessage"]):
    """One batch of bank transactions → payments or review items, then one notice."""

    def __init__(self) -> None:
        self.booking = new_booking()

    def handle(self, message: BankTransactionMessage) -> dict[str, Any]:
        return self.booking.run(message.transaction).as_dict()

    def note_outcome(self, outcome: Mapping[str, Any]) -> None:
        self.booking.note_outcome(dict(outcome))

    def finish_batch(self) -> None:
        notified = self.booking.notify_reviews()
        if notified:
            worker.logger.info("accounting notified", extra={"review_items": notified})


def transfer_metrics(outcome: Mapping[str, Any]) -> dict[str, float]:
    """Payments booked, review items, and transfers that arrived through another channel first."""
    status = outcome["status"]
    if status == "booked":
        return {"payments_booked": float(len(outcome.get("payments", [])))}
    if status == "review":
        return {"review_needed": 1.0}
    if status == "duplicate":
        return {"bank_transfers_duplicate": 1.0}
    return {}


worker = SqsWorker(
    WorkerConfig(
        service="bank_payment",
        metric_prefix="bank_transactions",
        message_model=bank_transaction_message,
        queue_url=lambda: settings().bank_queue_url,
        idempotency_table=lambda: settings().idempotency_table,
        idempotency_key="[source, transaction_id]",
        payload=lambda message: message.transaction.as_message(),
        idempotency_name="bank_payment.app.book_transaction_once.<locals>.book_transaction",
        outcome_metrics=transfer_metrics,
    ),
    BookTransfers,
)
lambda_handler = worker.lambda_handler

statement_logger = Logger(service="bank_statement_import")


@statement_logger.inject_lambda_context(clear_state=True)
def import_handler(event: dict[str, Any], _context: LambdaContext) -> dict[str, Any]:
    """Read camt.053 uploads and queue their booked credits (see :mod:`statements`)."""
    from .statements import import_statements

    route_domain_logs(statement_logger)
    return import_statements(event, settings().bank_queue_url, notifier)


def review_handler(_event: dict[str, Any], _context: Any) -> dict[str, Any]:
    """The review list: every transfer that was not booked, with reason and candidates."""
    items = new_booking().review_list()
    return {"count": len(items), "review": items}
