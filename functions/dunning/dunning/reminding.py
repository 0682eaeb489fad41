"""The daily dunning run: overdue invoices get their next reminder, created, completed, e-mailed.

One run (the schedule fires at 09:00 Europe/Berlin; retries and a second run the same day are
harmless):

1. Candidates: OPEN and OVERDUE invoices whose ``due_date`` lies before today (Billomat has no
   due-date filter and may not have flipped OPEN to OVERDUE yet). One listing, paged.
2. Levels already received: one listing of the reminders since the oldest candidate's date,
   grouped by invoice (cancelled ones do not count, as in Billomat), plus our own checkpoints.
3. The rules (:mod:`dunning.ladder`) pick at most one level per invoice. Only for invoices that
   are due are the clients (``dunning_run``, e-mail address) and the recent payments fetched —
   the 300 requests per 15 minutes are shared with every other function.
4. Each reminder is created (Billomat assigns the level; we check it is the level we expected),
   completed and e-mailed to the client, every step checkpointed in the workflow table under
   ``reminder#<invoice id>`` / ``level#<n>``:

   - a "create started" mark is written first; a later run that finds the mark without a
     reminder id adopts the reminder of that level Billomat shows for the invoice (the create
     went through, its answer was lost) or, when there is none, clears the mark;
   - the e-mail is marked "sending" before the request; an attempt that died with the outcome
     unknown is never repeated (accounting is asked to check), because a second reminder e-mail
     to a customer is worse than a missing one;
   - a refusal (4xx) or an error that certainly changed nothing (rate limit, connection refused)
     clears the step's mark so the next run simply does the step.

5. Every reminder sent is also recorded on the business day's run record
   (``dunning-run#<day>`` / ``summary``); accounting gets one notice per day listing the
   reminders by level, the invoices at the final level (candidates for collection) and the total
   overdue — and another one only if a later run that day sends more.

A rate limit that outlasts the Lambda's time, or a Billomat outage, stops the run: what is done
stays done, the rest is reported as deferred and the handler fails so the retry policy runs it
again (safe: see the checkpoints).
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BeforeValidator, Field

from autopilot.billomat import (
    BillomatClient,
    BillomatError,
    BillomatNotFoundError,
    Client,
    Invoice,
    InvoiceStatus,
    Reminder,
    ReminderDraft,
    ReminderStatus,
)
from autopilot.checkpoints import Checkpoint, CheckpointRecord
from autopilot.email_once import EmailStep, send_email_once
from autopilot.money import german_amount
from autopilot.notifications import AccountingNotifier
from autopilot.scheduled_run import BatchRunSummary, stopping_on_systemic_errors, work_through
from autopilot.settings import EnvironmentSettings
from autopilot.workflow_state import WorkflowStore
from autopilot.write_once import find_earlier_write, write_marked

from .ladder import (
    DEFAULT_LADDER_DAYS,
    DunningLadder,
    DunningPolicy,
    InvoiceDunningFacts,
    Skip,
    business_day,
    decide_reminder,
    parse_ladder,
    reached_final_level,
)

log = logging.getLogger("autopilot.dunning")

CLIENT_LOOKUPS_BEFORE_LISTING = 10
"""Up to this many clients are fetched one by one; more are read in one client listing."""
CHECKPOINT_TTL_DAYS = 400
"""Checkpoints outlive any open invoice's dunning; Billomat's own reminders stay the record."""
RUN_RECORD_TTL_DAYS = 90


def _ladder(value: Any) -> Any:
    return parse_ladder(value) if isinstance(value, str) else value


class DunningSettings(EnvironmentSettings):
    """What the dunning run needs besides Billomat itself."""

    workflow_table: str = Field(alias="WORKFLOW_TABLE")
    notifications_topic_arn: str = Field(alias="NOTIFICATIONS_TOPIC_ARN")
    ladder: Annotated[DunningLadder, BeforeValidator(_ladder)] = Field(
        default=parse_ladder(DEFAULT_LADDER_DAYS), alias="DUNNING_LADDER_DAYS"
    )
    """Days overdue per level, comma-separated; the last one is the final reminder."""
    quiet_days: int = Field(default=7, ge=0, alias="DUNNING_QUIET_DAYS")
    """No reminder within this many days after the last reminder or a booked payment."""
    minimum_amount: Decimal = Field(
        default=Decimal("5.00"), ge=0, allow_inf_nan=False, alias="DUNNING_MINIMUM_AMOUNT"
    )
    """No reminder for an open amount below this (in the invoice's currency)."""
    email_subject: str | None = Field(default=None, alias="REMINDER_EMAIL_SUBJECT")
    """E-mail subject; unset = Billomat's reminder e-mail template. Placeholders work."""
    email_body: str | None = Field(default=None, alias="REMINDER_EMAIL_BODY")
    """E-mail text; unset = Billomat's reminder e-mail template."""
    template_id: int | None = Field(default=None, alias="REMINDER_TEMPLATE_ID")
    """Billomat document template for the reminder PDF; unset = the account's default."""

    @property
    def policy(self) -> DunningPolicy:
        """The rule parameters."""
        return DunningPolicy(self.ladder, self.quiet_days, self.minimum_amount)


# -- what a run reports ------------------------------------------------------------------------


@dataclass(frozen=True)
class SentReminder:
    """A reminder that went out to the client in this run."""

    invoice_id: int
    invoice_number: str
    level: int
    level_name: str | None
    reminder_id: int
    days_overdue: int
    open_amount: Decimal
    currency: str
    recipient: str

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready (amounts as strings)."""
        return {
            "invoice": self.invoice_number,
            "invoice_id": self.invoice_id,
            "reminder_id": self.reminder_id,
            "level": self.level,
            "level_name": self.level_name,
            "days_overdue": self.days_overdue,
            "open_amount": f"{self.open_amount:.2f}",
            "currency": self.currency,
            "to": self.recipient,
        }


@dataclass
class DunningSummary(BatchRunSummary[SentReminder]):
    """What one dunning run sent, skipped and left for a person (the rest: see the base)."""

    SENT_METRIC = "reminders_sent"
    SENT_WHAT = "reminders"

    business_day: dt.date
    candidates: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    final_level: list[dict[str, Any]] = field(default_factory=list)
    total_overdue: dict[str, Decimal] = field(default_factory=dict)
    notified: bool = False

    def as_dict(self) -> dict[str, Any]:
        """The handler's answer: counts, per-level lists, totals as strings."""
        by_level: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for reminder in sorted(self.sent, key=lambda r: (r.level, r.invoice_number)):
            by_level[str(reminder.level)].append(reminder.as_dict())
        return {
            "run": "dunning",
            "business_day": self.business_day.isoformat(),
            "complete": self.complete,
            "stopped_because": self.stopped_because,
            "overdue_invoices": self.candidates,
            "reminders_sent": len(self.sent),
            "reminders_by_level": dict(by_level),
            "final_level": self.final_level,
            "total_overdue": {
                currency: f"{amount:.2f}" for currency, amount in sorted(self.total_overdue.items())
            },
            "skipped": dict(sorted(self.skipped.items())),
            "deferred": self.deferred,
            "attention": self.attention,
            "accounting_notified": self.notified,
        }


# -- one invoice as the run sees it --------------------------------------------------------------


class ReminderCheckpoint(Checkpoint):
    """``reminder#<invoice id>`` / ``level#<n>``: how far our reminder of one level has come."""

    level: int | None = None
    expires_at: int | None = None
    create_started: int | None = None
    """The create was sent at this epoch second and its answer not yet recorded."""
    invoice_number: str | None = None
    reminder_id: int | None = None
    reminder_level: int | None = None
    """The level Billomat gave the reminder (expected: ``level``)."""
    reminder_level_name: str | None = None
    reminder_date: dt.date | None = None
    completed: bool | None = None
    """True once completed (an adopted reminder that was still a draft is stored as null)."""
    email: EmailStep | None = None
    review: str | None = None
    """Why the reminder waits for a person (``level_mismatch``): nothing more is done then."""


@dataclass
class OverdueInvoice:
    """An overdue invoice with its reminders in Billomat and our checkpoints for it."""

    invoice: Invoice
    reminders: list[Reminder]
    """Billomat's reminders for the invoice, cancelled ones left out."""
    checkpoints: dict[int, ReminderCheckpoint]
    """Our checkpoint per expected level."""
    client: Client | None = None
    last_payment_on: dt.date | None = None

    @property
    def label(self) -> str:
        """The invoice number (or id) for people."""
        return self.invoice.invoice_number or f"#{self.invoice.id}"

    @property
    def our_reminder_ids(self) -> set[int]:
        """Reminders this workflow created for the invoice."""
        return {
            state.reminder_id
            for state in self.checkpoints.values()
            if state.reminder_id is not None
        }

    @property
    def levels_sent(self) -> frozenset[int]:
        """Levels Billomat holds for the invoice plus levels we created and did not hold back."""
        levels = {r.reminder_level for r in self.reminders if r.reminder_level is not None}
        levels |= {
            level
            for level, state in self.checkpoints.items()
            if state.reminder_id is not None and not state.review
        }
        return frozenset(levels)

    @property
    def last_reminder_on(self) -> dt.date | None:
        """Date of the latest reminder (Billomat's or one of ours)."""
        dates = [r.date for r in self.reminders if r.date is not None]
        dates += [
            state.reminder_date
            for state in self.checkpoints.values()
            if state.reminder_date is not None
        ]
        return max(dates, default=None)

    def facts(self) -> InvoiceDunningFacts:
        """The plain values the rules decide on."""
        return InvoiceDunningFacts(
            due_date=self.invoice.due_date,
            open_amount=self.invoice.open_amount,
            levels_sent=self.levels_sent,
            last_reminder_on=self.last_reminder_on,
            last_payment_on=self.last_payment_on,
            automatic_dunning=bool(self.client and self.client.dunning_run),
        )

    def unfinished_level(self) -> int | None:
        """The level of a reminder of ours still to be completed or e-mailed."""
        for level in sorted(self.checkpoints, reverse=True):
            state = self.checkpoints[level]
            if state.review:
                continue
            if state.reminder_id is None:
                if state.create_started:
                    return level
                continue
            if not state.completed or state.email in (None, EmailStep.SENDING):
                return level
        return None


@dataclass
class DueReminder:
    """An invoice and the level it gets today."""

    overdue: OverdueInvoice
    level: int
    days_overdue: int


class DunningRun:
    """Runs the daily dunning against Billomat, the workflow table and SNS."""

    def __init__(
        self,
        billomat: BillomatClient,
        store: WorkflowStore,
        notifier: AccountingNotifier,
        settings: DunningSettings,
    ) -> None:
        self.billomat = billomat
        self.store = store
        self.notifier = notifier
        self.settings = settings
        self.policy = settings.policy

    # -- the run ---------------------------------------------------------------------------------

    def run(self, now: dt.datetime) -> DunningSummary:
        """Send today's reminders (idempotent: a second run the same day sends nothing more)."""
        today = business_day(now)
        summary = DunningSummary(today)
        with stopping_on_systemic_errors(summary, log):
            self._dun(today, summary)
        self._report(summary)
        return summary

    def _dun(self, today: dt.date, summary: DunningSummary) -> None:
        open_invoices = list(
            self.billomat.iter_invoices(status=[InvoiceStatus.OPEN, InvoiceStatus.OVERDUE])
        )
        overdue_invoices: list[Invoice] = []
        for invoice in open_invoices:
            if invoice.due_date is None:
                if invoice.status is InvoiceStatus.OVERDUE:
                    summary.skipped[Skip.NO_DUE_DATE] += 1
                continue
            if invoice.due_date < today:
                overdue_invoices.append(invoice)
        summary.candidates = len(overdue_invoices)
        totals: dict[str, Decimal] = defaultdict(Decimal)
        for invoice in overdue_invoices:
            totals[invoice.currency_code or "EUR"] += invoice.open_amount
        summary.total_overdue = dict(totals)
        if not overdue_invoices:
            return

        overdue = self._with_reminders_and_checkpoints(overdue_invoices)
        resumes: list[tuple[OverdueInvoice, int]] = []
        due: list[DueReminder] = []
        billomat_levels: int | None = None
        for each in overdue:
            level = self._resumable_level(each, today)
            if level is not None:
                resumes.append((each, level))
                continue
            foreign_drafts = [
                r
                for r in each.reminders
                if r.status is ReminderStatus.DRAFT and r.id not in each.our_reminder_ids
            ]
            if foreign_drafts:
                # someone is preparing a reminder in Billomat: do not overtake them
                summary.skipped["draft_reminder_in_billomat"] += 1
                continue
            decision = decide_reminder(each.facts(), self.policy, today)
            if decision.level is None or decision.days_overdue is None:
                summary.skipped[str(decision.skip)] += 1
                continue
            held = each.checkpoints.get(decision.level)
            if held is not None and held.review:
                summary.skipped["held_for_review"] += 1
                continue
            if billomat_levels is None:
                billomat_levels = len(self.billomat.list_reminder_texts())
            problem = self._level_problem(each, decision.level, billomat_levels)
            if problem is not None:
                summary.skipped["levels_differ_from_billomat"] += 1
                summary.attention.append(problem)
                continue
            due.append(DueReminder(each, decision.level, decision.days_overdue))

        self._fetch_clients_and_payments(today, [d.overdue for d in due], resumes)
        ready = self._recheck_with_clients_and_payments(today, due, summary)
        work: list[tuple[OverdueInvoice, int, DueReminder | None]] = [
            (each, level, None) for each, level in resumes
        ] + [(reminder.overdue, reminder.level, reminder) for reminder in ready]

        def step(task: tuple[OverdueInvoice, int, DueReminder | None]) -> None:
            each, level, new_reminder = task
            if new_reminder is None:
                self._finish(each, level, today, summary)
            else:
                self._issue(new_reminder, today, summary)

        def refused(
            task: tuple[OverdueInvoice, int, DueReminder | None], error: BillomatError
        ) -> None:
            each, level, _ = task
            summary.attention.append(
                f"{each.label}: Mahnung Stufe {level} nicht fertig – Billomat lehnte ab: {error}"
            )

        try:
            work_through(work, step, refused, summary)
        finally:
            self._final_level_and_totals(overdue, summary)

    # -- reading ---------------------------------------------------------------------------------

    def _with_reminders_and_checkpoints(self, invoices: list[Invoice]) -> list[OverdueInvoice]:
        dates = [invoice.date or invoice.due_date for invoice in invoices]
        earliest = min((d for d in dates if d is not None), default=None)
        by_invoice: dict[int, list[Reminder]] = defaultdict(list)
        # One listing for all invoices (the reminder filters differ between the documented API
        # and what is safe to rely on); reminders are never dated before their invoice.
        for reminder in self.billomat.iter_reminders(date_from=earliest):
            if reminder.invoice_id is not None and reminder.status is not ReminderStatus.CANCELED:
                by_invoice[reminder.invoice_id].append(reminder)
        overdue = []
        for invoice in invoices:
            stored = [
                ReminderCheckpoint.model_validate(item)
                for item in self.store.query(checkpoint_key(invoice.id), "level#")
            ]
            checkpoints = {state.level: state for state in stored if state.level is not None}
            overdue.append(OverdueInvoice(invoice, by_invoice.get(invoice.id, []), checkpoints))
        return overdue

    def _resumable_level(self, overdue: OverdueInvoice, today: dt.date) -> int | None:
        """A level of ours to finish first; adopts a reminder whose create answer was lost."""
        level = overdue.unfinished_level()
        if level is None:
            return None
        state = overdue.checkpoints[level]
        if state.reminder_id is not None:
            return level

        def reminder_of_level() -> Reminder | None:
            # the listing already in hand shows what the interrupted create wrote
            return next(
                (
                    r
                    for r in overdue.reminders
                    if r.reminder_level == level and r.id not in overdue.our_reminder_ids
                ),
                None,
            )

        # The create itself waits for today's decision (_issue): look-up and write are apart.
        earlier = find_earlier_write(state.create_started is not None, reminder_of_level)
        adopted = earlier.value if earlier is not None else None
        if adopted is None:
            # the create never reached Billomat: today's decision starts afresh
            self._save(overdue, level, create_started=None)
            return None
        log.info("adopting reminder %s of invoice %s", adopted.id, overdue.invoice.id)
        self._save(
            overdue,
            level,
            reminder_id=adopted.id,
            reminder_level=adopted.reminder_level,
            reminder_date=adopted.date or today,
            completed=True if adopted.status is not ReminderStatus.DRAFT else None,
        )
        return level

    def _level_problem(
        self, overdue: OverdueInvoice, level: int, billomat_levels: int
    ) -> str | None:
        """Why Billomat would not create ``level`` now (it counts its own reminders), if so."""
        if level > billomat_levels:
            return (
                f"{overdue.label}: Stufe {level} ist fällig, Billomat hat aber nur "
                f"{billomat_levels} Mahnstufen (Einstellungen › Mahnstufen) – nicht gemahnt."
            )
        billomat_next = min(len(overdue.reminders) + 1, billomat_levels)
        if billomat_next != level:
            return (
                f"{overdue.label}: fällig wäre Stufe {level}, Billomat würde Stufe "
                f"{billomat_next} vergeben (eine Mahnung wurde storniert oder gelöscht?) – "
                "nicht gemahnt, bitte selbst entscheiden."
            )
        return None

    def _fetch_clients_and_payments(
        self,
        today: dt.date,
        due: list[OverdueInvoice],
        resumes: list[tuple[OverdueInvoice, int]],
    ) -> None:
        needing_client = due + [each for each, _ in resumes]
        clients = self._clients(
            {o.invoice.client_id for o in needing_client if o.invoice.client_id}
        )
        for each in needing_client:
            each.client = clients.get(each.invoice.client_id or 0)
        part_paid = {o.invoice.id: o for o in due if o.invoice.paid_amount > 0}
        if not part_paid or self.policy.quiet_days == 0:
            return
        since = today - dt.timedelta(days=self.policy.quiet_days)
        # One listing of the quiet period's payments instead of one request per invoice.
        for payment in self.billomat.iter_invoice_payments(date_from=since, date_to=today):
            paid = part_paid.get(payment.invoice_id or 0)
            if paid is not None and payment.date is not None:
                earlier = paid.last_payment_on
                paid.last_payment_on = (
                    payment.date if earlier is None else max(earlier, payment.date)
                )

    def _clients(self, client_ids: set[int]) -> dict[int, Client]:
        if not client_ids:
            return {}
        if len(client_ids) > CLIENT_LOOKUPS_BEFORE_LISTING:
            return {c.id: c for c in self.billomat.iter_clients() if c.id in client_ids}
        clients = {}
        for client_id in sorted(client_ids):
            try:
                clients[client_id] = self.billomat.get_client(client_id)
            except BillomatNotFoundError:
                log.warning("client %s of an overdue invoice does not exist", client_id)
        return clients

    def _recheck_with_clients_and_payments(
        self, today: dt.date, due: list[DueReminder], summary: DunningSummary
    ) -> list[DueReminder]:
        ready = []
        for reminder in due:
            decision = decide_reminder(reminder.overdue.facts(), self.policy, today)
            if decision.level is None:
                summary.skipped[str(decision.skip)] += 1
                continue
            if not recipient_of(reminder.overdue.client):
                summary.skipped["client_without_email"] += 1
                summary.attention.append(
                    f"{reminder.overdue.label}: Stufe {reminder.level} fällig, der Kunde hat "
                    "keine E-Mail-Adresse in Billomat – nicht gemahnt."
                )
                continue
            ready.append(reminder)
        return ready

    # -- writing ---------------------------------------------------------------------------------

    def _save(self, overdue: OverdueInvoice, level: int, **changes: Any) -> ReminderCheckpoint:
        """Record ``changes`` in the level's checkpoint (and in ``overdue``'s copy of it)."""
        checkpoint = CheckpointRecord(
            self.store, ReminderCheckpoint, checkpoint_key(overdue.invoice.id), f"level#{level}"
        )
        ttl = int(time.time()) + CHECKPOINT_TTL_DAYS * 86400
        state = checkpoint.save(level=level, expires_at=ttl, **changes)
        overdue.checkpoints[level] = state
        return state

    def _issue(self, due: DueReminder, today: dt.date, summary: DunningSummary) -> None:
        overdue, level = due.overdue, due.level
        invoice = overdue.invoice

        def mark(started: bool) -> None:
            if started:
                self._save(
                    overdue, level, create_started=int(time.time()), invoice_number=overdue.label
                )
            else:
                self._save(overdue, level, create_started=None)

        # an earlier attempt's create was looked for before today's decision (_resumable_level)
        reminder = write_marked(
            mark,
            lambda: self.billomat.create_reminder(ReminderDraft(invoice_id=invoice.id, date=today)),
        ).value
        assert reminder is not None
        self._save(
            overdue,
            level,
            reminder_id=reminder.id,
            reminder_level=reminder.reminder_level,
            reminder_level_name=reminder.reminder_level_name,
            reminder_date=reminder.date or today,
        )
        overdue.reminders.append(reminder)
        if reminder.reminder_level != level:
            self._save(overdue, level, review="level_mismatch")
            summary.attention.append(
                f"{overdue.label}: erwartet war Mahnstufe {level}, Billomat vergab "
                f"{reminder.reminder_level}. Die Mahnung (ID {reminder.id}) bleibt als Entwurf "
                "liegen und wurde nicht versendet."
            )
            return
        self._finish(overdue, level, today, summary)

    def _finish(
        self, overdue: OverdueInvoice, level: int, today: dt.date, summary: DunningSummary
    ) -> None:
        """Complete and e-mail our reminder of ``level`` (whatever of it is not done yet)."""
        invoice = overdue.invoice
        state = overdue.checkpoints[level]
        reminder_id = state.reminder_id
        assert reminder_id is not None
        if not state.completed:
            # A state change the client makes retry-safe (it checks whether it was reached).
            self.billomat.complete_reminder(reminder_id, self.settings.template_id)
            state = self._save(overdue, level, completed=True)
        recipient = recipient_of(overdue.client)

        def mark(step: EmailStep | None) -> None:
            self._save(overdue, level, email=step)

        def send() -> None:
            assert recipient is not None
            self.billomat.email_reminder(
                reminder_id,
                to=recipient,
                subject=self.settings.email_subject,
                body=self.settings.email_body,
            )

        def report(step: EmailStep) -> None:
            if step is EmailStep.UNKNOWN:
                summary.attention.append(
                    f"{overdue.label}: beim Versand der Mahnung (Stufe {level}, ID {reminder_id}) "
                    "brach der Versuch ab; ob die E-Mail rausging, ist unbekannt. Sie wurde nicht "
                    "erneut gesendet – bitte in Billomat prüfen."
                )
            else:
                summary.attention.append(
                    f"{overdue.label}: Mahnung Stufe {level} (ID {reminder_id}) ist abgeschlossen, "
                    "der Kunde hat aber keine E-Mail-Adresse – bitte selbst versenden."
                )

        if send_email_once(state.email, bool(recipient), mark, send, report) is not (
            EmailStep.SENT
        ):
            return
        assert recipient is not None
        state = overdue.checkpoints[level]
        sent = SentReminder(
            invoice_id=invoice.id,
            invoice_number=overdue.label,
            level=state.reminder_level or level,
            level_name=state.reminder_level_name,
            reminder_id=reminder_id,
            days_overdue=_days_overdue(invoice, today),
            open_amount=invoice.open_amount,
            currency=invoice.currency_code or "EUR",
            recipient=recipient,
        )
        summary.sent.append(sent)
        self._record_sent(today, sent)

    # -- reporting -------------------------------------------------------------------------------

    def _final_level_and_totals(
        self, overdue: list[OverdueInvoice], summary: DunningSummary
    ) -> None:
        for each in sorted(overdue, key=lambda o: o.label):
            if reached_final_level(each.levels_sent, self.policy.ladder):
                summary.final_level.append(
                    {
                        "invoice": each.label,
                        "invoice_id": each.invoice.id,
                        "days_overdue": _days_overdue(each.invoice, summary.business_day),
                        "open_amount": f"{each.invoice.open_amount:.2f}",
                        "currency": each.invoice.currency_code or "EUR",
                    }
                )

    def _record_sent(self, today: dt.date, sent: SentReminder) -> None:
        self.store.update(
            run_record_key(today),
            "summary",
            {
                f"sent#{sent.invoice_id}#{sent.level}": sent.as_dict(),
                "expires_at": int(time.time()) + RUN_RECORD_TTL_DAYS * 86400,
            },
        )

    def _report(self, summary: DunningSummary) -> None:
        """Notify accounting when a run sent reminders or found something new to check.

        The business day's record remembers what was already reported, so a retry or a second
        run the same day notifies only about what is new.
        """
        record = self.store.get(run_record_key(summary.business_day), "summary") or {}
        sent_today = [value for key, value in record.items() if key.startswith("sent#")]
        reported = int(record.get("reported_reminders") or 0)
        reported_attention = set(record.get("reported_attention") or [])
        issues = [*summary.attention]
        if not summary.complete:
            # one stable line, so the retries of an interrupted run do not notify again
            issues.append("Der Lauf wurde unterbrochen; der Rest folgt beim nächsten Versuch.")
        new_issues = [line for line in issues if line not in reported_attention]
        if len(sent_today) <= reported and not new_issues:
            return
        subject, lines = notice_text(summary, sent_today)
        self.notifier.notify(subject, lines)
        self.store.update(
            run_record_key(summary.business_day),
            "summary",
            {
                "reported_reminders": len(sent_today),
                "reported_attention": sorted(reported_attention | set(issues)),
                "expires_at": int(time.time()) + RUN_RECORD_TTL_DAYS * 86400,
            },
        )
        summary.notified = True


def checkpoint_key(invoice_id: int) -> str:
    """Partition key of an invoice's reminder checkpoints."""
    return f"reminder#{invoice_id}"


def run_record_key(day: dt.date) -> str:
    """Partition key of a business day's dunning record."""
    return f"dunning-run#{day.isoformat()}"


def recipient_of(client: Client | None) -> str | None:
    """The client's e-mail address, if Billomat has one."""
    if client is None or not client.email or not client.email.strip():
        return None
    return client.email.strip()


def _days_overdue(invoice: Invoice, today: dt.date) -> int:
    return (today - invoice.due_date).days if invoice.due_date else 0


def notice_text(
    summary: DunningSummary, sent_today: Iterable[dict[str, Any]]
) -> tuple[str, list[str]]:
    """The accounting notice: reminders by level, final-level invoices, total overdue."""
    sent = sorted(sent_today, key=lambda s: (int(s["level"]), str(s["invoice"])))
    day = f"{summary.business_day:%d.%m.%Y}"
    subject = f"Mahnlauf {day}: {len(sent)} Mahnung{'en' if len(sent) != 1 else ''} versendet"
    lines = [f"Mahnlauf vom {day}.", ""]
    if sent:
        lines.append("Versendete Mahnungen:")
        by_level: dict[int, list[dict[str, Any]]] = defaultdict(list)
        for each in sent:
            by_level[int(each["level"])].append(each)
        for level, reminders in sorted(by_level.items()):
            name = reminders[0].get("level_name") or f"Stufe {level}"
            lines.append(f"  Stufe {level} ({name}): {len(reminders)}")
            lines.extend(
                f"    {r['invoice']}: "
                f"{german_amount(Decimal(r['open_amount']), r['currency'])} offen, "
                f"{r['days_overdue']} Tage überfällig, an {r['to']}"
                for r in reminders
            )
    else:
        lines.append("Heute wurde keine Mahnung versendet.")
    lines.append("")
    if summary.final_level:
        lines.append(
            f"Letzte Mahnstufe erreicht (Kandidaten für das Inkasso): {len(summary.final_level)}"
        )
        lines.extend(
            f"  {f['invoice']}: {german_amount(Decimal(f['open_amount']), f['currency'])} offen, "
            f"{f['days_overdue']} Tage überfällig"
            for f in summary.final_level
        )
        lines.append("")
    totals = ", ".join(
        german_amount(amount, currency)
        for currency, amount in sorted(summary.total_overdue.items())
    )
    lines.append(f"Überfällig insgesamt: {summary.candidates} Rechnungen, {totals or '0,00 EUR'}")
    if summary.attention:
        lines += ["", "Bitte prüfen:"] + [f"  - {line}" for line in summary.attention]
    if not summary.complete:
        lines += [
            "",
            f"Der Lauf wurde unterbrochen ({summary.stopped_because}); {summary.deferred} "
            "Mahnungen stehen noch aus und folgen beim nächsten Versuch.",
        ]
    return subject, lines
