"""The monthly recurring-invoice run: drafts from recurrings are completed and e-mailed.

Billomat creates the invoices of recurrings itself (there is no "create now" endpoint); what it
does with them depends on the recurring's ``action``. This run takes over where Billomat stops:

- **CREATE** recurrings leave a DRAFT. The run completes it (with the recurring's template) and
  e-mails it to the recurring's e-mail receivers (to/cc/bcc), or else to the client's address,
  with the recurring's e-mail subject, text, sender and file name — exactly once per recurring
  and cycle period (:func:`recurring.periods.cycle_period`): a second invoice of the same
  recurring in the same period is reported as a duplicate and never sent.
- **COMPLETE / EMAIL / MAIL** recurrings are Billomat's business; their invoices are only
  counted. Drafts of deleted recurrings, or of recurrings whose action is no longer CREATE,
  are left alone and listed.
- **Missing runs** are reported once each: a recurring whose ``next_creation_date`` (at its
  ``hour``) has passed without Billomat creating the invoice, and a recurring whose last run in
  the window left no invoice (deleted?).

Checkpoints in the workflow table, ``recurring#<recurring id>`` / ``period#<cycle period>``,
hold which invoice the period belongs to and whether it is completed and e-mailed; the e-mail
is marked "sending" first and never repeated when its outcome is unknown. A missing run is
remembered under ``missing#<date>``. A rate limit that outlasts the Lambda's time, or a Billomat
outage, stops the run; the handler fails so the retry policy runs it again, which is safe.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from pydantic import Field

from autopilot.billomat import (
    BillomatClient,
    BillomatError,
    BillomatNotFoundError,
    Client,
    EmailReceiverType,
    Invoice,
    InvoiceStatus,
    Recurring,
    RecurringAction,
)
from autopilot.checkpoints import Checkpoint, CheckpointRecord
from autopilot.email_once import EmailStep, send_email_once
from autopilot.money import german_amount
from autopilot.notifications import AccountingNotifier
from autopilot.scheduled_run import BatchRunSummary, stopping_on_systemic_errors, work_through
from autopilot.settings import EnvironmentSettings
from autopilot.workflow_state import WorkflowStore

from .periods import DEFAULT_LOOKBACK_DAYS, RunPeriod, cycle_period, missed_run, run_period, within

log = logging.getLogger("autopilot.recurring")

CHECKPOINT_TTL_DAYS = 800
"""Longer than any cycle: a yearly recurring's period must stay claimed past its next run."""


class RecurringSettings(EnvironmentSettings):
    """What the recurring-invoice run needs besides Billomat itself."""

    workflow_table: str = Field(alias="WORKFLOW_TABLE")
    notifications_topic_arn: str = Field(alias="NOTIFICATIONS_TOPIC_ARN")
    lookback_days: int = Field(
        default=DEFAULT_LOOKBACK_DAYS, ge=0, le=366, alias="RECURRING_LOOKBACK_DAYS"
    )
    """Days before the run's month whose recurring drafts are still completed and sent."""


@dataclass(frozen=True)
class Recipients:
    """Who gets a recurring invoice."""

    to: list[str]
    cc: list[str] = field(default_factory=list)
    bcc: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class SentInvoice:
    """A recurring invoice this run completed and e-mailed."""

    invoice_id: int
    invoice_number: str
    recurring_id: int
    recurring: str
    cycle_period: str
    total_gross: Decimal
    currency: str
    to: list[str]

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready (amounts as strings)."""
        return {
            "invoice": self.invoice_number,
            "invoice_id": self.invoice_id,
            "recurring": self.recurring,
            "recurring_id": self.recurring_id,
            "cycle_period": self.cycle_period,
            "total_gross": f"{self.total_gross:.2f}",
            "currency": self.currency,
            "to": self.to,
        }


@dataclass
class RecurringSummary(BatchRunSummary[SentInvoice]):
    """What one recurring run sent, left alone and found missing (the rest: see the base)."""

    SENT_METRIC = "recurring_invoices_sent"
    SENT_WHAT = "invoices"

    period: RunPeriod
    issued_by_billomat: int = 0
    already_sent: int = 0
    left_as_draft: list[dict[str, Any]] = field(default_factory=list)
    duplicates: list[dict[str, Any]] = field(default_factory=list)
    missing: list[dict[str, Any]] = field(default_factory=list)
    """Every missing run the window shows, reported before or not."""
    new_missing: list[dict[str, Any]] = field(default_factory=list)
    """Missing runs this run found first (accounting hears of each once)."""
    held: int = 0
    notified: bool = False

    def as_dict(self) -> dict[str, Any]:
        """The handler's answer."""
        return {
            "run": "recurring",
            "period": self.period.label,
            "window": {
                "from": self.period.window_start.isoformat(),
                "to": self.period.today.isoformat(),
            },
            "complete": self.complete,
            "stopped_because": self.stopped_because,
            "invoices_sent": [s.as_dict() for s in self.sent],
            "already_sent": self.already_sent,
            "issued_by_billomat": self.issued_by_billomat,
            "left_as_draft": self.left_as_draft,
            "duplicates": self.duplicates,
            "missing": self.missing,
            "held_for_review": self.held,
            "deferred": self.deferred,
            "attention": self.attention,
            "accounting_notified": self.notified,
        }


def recipients_for(
    recurring_receivers: list[tuple[str, str]], client_email: str | None
) -> Recipients | None:
    """The recurring's own receivers ``(type, address)``, else the client; None if nobody."""
    grouped: dict[str, list[str]] = defaultdict(list)
    for kind, address in recurring_receivers:
        if address and address.strip() and address.strip() not in grouped[kind]:
            grouped[kind].append(address.strip())
    to = grouped.get(EmailReceiverType.TO.value, [])
    if not to and client_email and client_email.strip():
        to = [client_email.strip()]
    if not to:
        return None
    return Recipients(
        to,
        grouped.get(EmailReceiverType.CC.value, []),
        grouped.get(EmailReceiverType.BCC.value, []),
    )


def checkpoint_key(recurring_id: int) -> str:
    """Partition key of a recurring's checkpoints."""
    return f"recurring#{recurring_id}"


class PeriodCheckpoint(Checkpoint):
    """``recurring#<recurring id>`` / ``period#<cycle period>``: the period's one invoice."""

    invoice_id: int | None = None
    """The invoice the period belongs to (claimed before anything is sent)."""
    claimed_on: dt.date | None = None
    completed: bool = False
    email: EmailStep | None = None
    sent_on: dt.date | None = None
    review: str | None = None
    """Why the period waits for a person (``no_recipient``): nothing more is done then."""
    expires_at: int | None = None


type Task = tuple[Recurring, Invoice, str, PeriodCheckpoint]
"""A recurring's invoice this run completes and sends, its cycle period and checkpoint."""


class RecurringRun:
    """Runs the recurring-invoice follow-up against Billomat, the workflow table and SNS."""

    def __init__(
        self,
        billomat: BillomatClient,
        store: WorkflowStore,
        notifier: AccountingNotifier,
        settings: RecurringSettings,
    ) -> None:
        self.billomat = billomat
        self.store = store
        self.notifier = notifier
        self.settings = settings
        self._receivers: dict[int, list[tuple[str, str]]] = {}
        self._clients: dict[int, Client | None] = {}
        self._period_owner: dict[tuple[int, str], int] = {}

    def run(self, now: dt.datetime) -> RecurringSummary:
        """Complete and send the period's recurring drafts; report missing runs (idempotent)."""
        period = run_period(now, self.settings.lookback_days)
        summary = RecurringSummary(period)
        with stopping_on_systemic_errors(summary, log):
            self._follow_up(now, summary)
        self._report(summary)
        return summary

    def _follow_up(self, now: dt.datetime, summary: RecurringSummary) -> None:
        period = summary.period
        recurrings = {r.id: r for r in self.billomat.iter_recurrings()}
        invoices: dict[int, list[Invoice]] = defaultdict(list)
        for invoice in self.billomat.iter_invoices(
            date_from=period.window_start, date_to=period.today
        ):
            if invoice.recurring_id is not None:
                invoices[invoice.recurring_id].append(invoice)

        work: list[Task] = []
        for recurring_id, produced in sorted(invoices.items()):
            recurring = recurrings.get(recurring_id)
            # issued invoices first: a period someone already invoiced gets no draft sent
            for invoice in sorted(produced, key=lambda i: (i.status is InvoiceStatus.DRAFT, i.id)):
                task = self._classify(recurring, recurring_id, invoice, summary)
                if task is not None:
                    work.append(task)

        def refused(task: Task, error: BillomatError) -> None:
            recurring, invoice, _, _ = task
            summary.attention.append(
                f"Rechnung {_label(invoice)} aus Abo „{_name(recurring)}“ nicht versendet – "
                f"Billomat lehnte ab: {error}"
            )

        work_through(work, lambda task: self._complete_and_send(*task, summary), refused, summary)

        for recurring in sorted(recurrings.values(), key=lambda r: r.id):
            self._check_missing(recurring, invoices.get(recurring.id, []), now, summary)

    # -- which invoices are ours to send -----------------------------------------------------

    def _classify(
        self,
        recurring: Recurring | None,
        recurring_id: int,
        invoice: Invoice,
        summary: RecurringSummary,
    ) -> Task | None:
        is_draft = invoice.status is InvoiceStatus.DRAFT
        if recurring is None:
            if is_draft:
                summary.left_as_draft.append(
                    _invoice_entry(invoice, recurring_id, None, "recurring_deleted")
                )
            return None
        if recurring.action is not None and recurring.action is not RecurringAction.CREATE:
            if is_draft:
                summary.left_as_draft.append(
                    _invoice_entry(invoice, recurring_id, recurring, f"action_{recurring.action}")
                )
            else:
                summary.issued_by_billomat += 1
            return None
        if invoice.date is None:
            return None
        label = cycle_period(invoice.date, recurring.cycle)
        state = self._checkpoint(recurring_id, label).load()
        owner = state.invoice_id
        if owner is None:
            # the first invoice seen for the period takes it, before any draft is sent
            owner = self._period_owner.setdefault((recurring_id, label), invoice.id)
        if owner != invoice.id:
            if is_draft:
                self._report_duplicate(recurring, invoice, label, owner, summary)
            return None
        if state.review:
            summary.held += 1
            return None
        if not is_draft and state.invoice_id is None:
            # completed by someone in Billomat, not by this workflow: not ours to send
            return None
        if state.email in (EmailStep.SENT, EmailStep.UNKNOWN, EmailStep.NO_RECIPIENT):
            summary.already_sent += 1
            return None
        return recurring, invoice, label, state

    def _report_duplicate(
        self,
        recurring: Recurring,
        invoice: Invoice,
        label: str,
        owner: int,
        summary: RecurringSummary,
    ) -> None:
        entry = _invoice_entry(invoice, recurring.id, recurring, "duplicate")
        entry["period_invoice_id"] = owner
        summary.duplicates.append(entry)
        key = (checkpoint_key(recurring.id), f"duplicate#{invoice.id}")
        if self.store.get(*key) is None:
            self.store.put(
                *key, {"reported_on": summary.period.today}, ttl_days=CHECKPOINT_TTL_DAYS
            )
            summary.attention.append(
                f"Abo „{_name(recurring)}“ hat für {label} eine zweite Rechnung erzeugt "
                f"(Entwurf ID {invoice.id}); sie wurde nicht versendet. Bitte prüfen und ggf. "
                "löschen."
            )

    # -- completing and sending ----------------------------------------------------------------

    def _checkpoint(self, recurring_id: int, label: str) -> CheckpointRecord[PeriodCheckpoint]:
        return CheckpointRecord(
            self.store, PeriodCheckpoint, checkpoint_key(recurring_id), f"period#{label}"
        )

    def _save(self, recurring_id: int, label: str, **changes: Any) -> PeriodCheckpoint:
        return self._checkpoint(recurring_id, label).save(
            **changes, expires_at=int(time.time()) + CHECKPOINT_TTL_DAYS * 86400
        )

    def _complete_and_send(
        self,
        recurring: Recurring,
        invoice: Invoice,
        label: str,
        state: PeriodCheckpoint,
        summary: RecurringSummary,
    ) -> None:
        recipients = self._recipients(recurring)
        if state.invoice_id is None:
            if recipients is None:
                self._save(recurring.id, label, invoice_id=invoice.id, review="no_recipient")
                summary.attention.append(
                    f"Rechnung (Entwurf ID {invoice.id}) aus Abo „{_name(recurring)}“: weder "
                    "Abo-Empfänger noch Kunden-E-Mail – nicht abgeschlossen, bitte selbst "
                    "versenden."
                )
                return
            state = self._save(
                recurring.id, label, invoice_id=invoice.id, claimed_on=summary.period.today
            )
        if not state.completed:
            # A state change the client makes retry-safe (it checks whether it was reached).
            self.billomat.complete_invoice(invoice.id, recurring.template_id)
            state = self._save(recurring.id, label, completed=True)

        def mark(step: EmailStep | None) -> None:
            sent_on = {"sent_on": summary.period.today} if step is EmailStep.SENT else {}
            self._save(recurring.id, label, email=step, **sent_on)

        def send() -> None:
            assert recipients is not None
            self.billomat.email_invoice(
                invoice.id,
                to=recipients.to,
                cc=recipients.cc or None,
                bcc=recipients.bcc or None,
                subject=recurring.email_subject,
                body=recurring.email_message,
                filename=recurring.email_filename,
                from_=recurring.email_sender,
                email_template_id=recurring.email_template_id,
            )

        def report(step: EmailStep) -> None:
            if step is EmailStep.UNKNOWN:
                summary.attention.append(
                    f"Rechnung {_label(invoice)} aus Abo „{_name(recurring)}“: der Versand brach "
                    "ab; ob die E-Mail rausging, ist unbekannt. Nicht erneut gesendet – bitte "
                    "prüfen."
                )
            else:
                summary.attention.append(
                    f"Rechnung {_label(invoice)} aus Abo „{_name(recurring)}“ ist abgeschlossen, "
                    "hat aber keinen Empfänger – bitte selbst versenden."
                )

        if send_email_once(state.email, recipients is not None, mark, send, report) is not (
            EmailStep.SENT
        ):
            return
        assert recipients is not None
        completed = self.billomat.get_invoice(invoice.id)
        summary.sent.append(
            SentInvoice(
                invoice_id=invoice.id,
                invoice_number=_label(completed),
                recurring_id=recurring.id,
                recurring=_name(recurring),
                cycle_period=label,
                total_gross=completed.total_gross,
                currency=completed.currency_code or "EUR",
                to=recipients.to,
            )
        )

    def _recipients(self, recurring: Recurring) -> Recipients | None:
        if recurring.id not in self._receivers:
            self._receivers[recurring.id] = [
                (receiver.type.value if receiver.type else "to", receiver.address or "")
                for receiver in self.billomat.list_recurring_email_receivers(recurring.id)
            ]
        receivers = self._receivers[recurring.id]
        if any(kind == EmailReceiverType.TO.value for kind, _ in receivers):
            return recipients_for(receivers, None)
        client = self._client(recurring.client_id)
        return recipients_for(receivers, client.email if client else None)

    def _client(self, client_id: int | None) -> Client | None:
        if client_id is None:
            return None
        if client_id not in self._clients:
            try:
                self._clients[client_id] = self.billomat.get_client(client_id)
            except BillomatNotFoundError:
                self._clients[client_id] = None
        return self._clients[client_id]

    # -- missing runs --------------------------------------------------------------------------

    def _check_missing(
        self,
        recurring: Recurring,
        produced: list[Invoice],
        now: dt.datetime,
        summary: RecurringSummary,
    ) -> None:
        period = summary.period
        not_run = missed_run(recurring.next_creation_date, recurring.hour, recurring.end_date, now)
        if not_run is not None:
            self._missing(recurring, not_run, "not_created_by_billomat", summary)
        last = recurring.last_creation_date
        if within(last, period) and last is not None:
            label = cycle_period(last, recurring.cycle)
            dated = [i.date for i in produced if i.date is not None]
            if not any(cycle_period(day, recurring.cycle) == label for day in dated):
                self._missing(recurring, last, "invoice_not_found", summary)

    def _missing(
        self, recurring: Recurring, due: dt.date, reason: str, summary: RecurringSummary
    ) -> None:
        key = (checkpoint_key(recurring.id), f"missing#{due.isoformat()}")
        known = self.store.get(*key)
        first_time = known is None
        if known is None:
            known = {"reason": reason, "reported_on": summary.period.today.isoformat()}
            self.store.put(*key, known, ttl_days=CHECKPOINT_TTL_DAYS)
        entry = {
            "recurring": _name(recurring),
            "recurring_id": recurring.id,
            "due": due.isoformat(),
            "reason": reason,
            "first_reported": str(known.get("reported_on")),
        }
        summary.missing.append(entry)
        if first_time:
            summary.new_missing.append(entry)

    # -- reporting -----------------------------------------------------------------------------

    def _report(self, summary: RecurringSummary) -> None:
        """Notify accounting when something was sent or is new to check (never twice)."""
        if not (summary.sent or summary.new_missing or summary.attention):
            return
        subject, lines = notice_text(summary)
        self.notifier.notify(subject, lines)
        summary.notified = True


def _label(invoice: Invoice) -> str:
    return invoice.invoice_number or f"#{invoice.id}"


def _name(recurring: Recurring | None) -> str:
    if recurring is None:
        return "(gelöscht)"
    return recurring.name or recurring.title or f"Abo {recurring.id}"


def _invoice_entry(
    invoice: Invoice, recurring_id: int, recurring: Recurring | None, reason: str
) -> dict[str, Any]:
    return {
        "invoice_id": invoice.id,
        "date": invoice.date.isoformat() if invoice.date else None,
        "recurring_id": recurring_id,
        "recurring": _name(recurring),
        "reason": reason,
    }


MISSING_REASONS = {
    "not_created_by_billomat": "von Billomat nicht erzeugt",
    "invoice_not_found": "Rechnung nicht gefunden (gelöscht?)",
}


def notice_text(summary: RecurringSummary) -> tuple[str, list[str]]:
    """The accounting notice: invoices sent, new missing runs, what needs a look."""
    period = summary.period
    count = len(summary.sent)
    subject = f"Abo-Rechnungen {period.label}: {count} versendet"
    if summary.new_missing:
        subject += f", {len(summary.new_missing)} fehlen"
    lines = [f"Abo-Rechnungen, Lauf vom {period.today:%d.%m.%Y} (Zeitraum {period.label}).", ""]
    if summary.sent:
        lines.append("Abgeschlossen und per E-Mail versendet:")
        lines.extend(
            f"  {s.invoice_number} – {s.recurring}: {german_amount(s.total_gross, s.currency)} an "
            f"{', '.join(s.to)}"
            for s in summary.sent
        )
    else:
        lines.append("Keine Abo-Rechnung versendet.")
    if summary.new_missing:
        lines += ["", "Fällig, aber ohne Rechnung:"]
        lines.extend(
            f"  {m['recurring']} (Abo {m['recurring_id']}), fällig am {m['due']}: "
            f"{MISSING_REASONS.get(m['reason'], m['reason'])}"
            for m in summary.new_missing
        )
    if summary.attention:
        lines += ["", "Bitte prüfen:"] + [f"  - {line}" for line in summary.attention]
    if not summary.complete:
        lines += [
            "",
            f"Der Lauf wurde unterbrochen ({summary.stopped_because}); {summary.deferred} "
            "Rechnungen folgen beim nächsten Versuch.",
        ]
    return subject, lines
