"""reporting Lambda: the monthly report, on the 1st at 08:00 Europe/Berlin (EventBridge Scheduler).

Event: the Scheduler's input ``{"schedule": "reporting"}``, or locally ``{"now": "<ISO-8601>"}``
(``POST /local/schedules/reporting``); the report covers the calendar month before the Berlin
date of ``now`` (default: the real now). The handler is the scheduled-run shape
(:mod:`autopilot.scheduled_run`); the run reads Billomat before it stores or sends anything,
so a Billomat error (outage, a rate limit that does not fit the Lambda's time) fails the
invocation itself and the retry starts afresh.

The run only reads Billomat, so it may run any number of times: each run recomputes the
report and stores ``reports/YYYY-MM/report.json|.csv|.html`` in the files bucket (an object
whose content did not change is not written again, so the versioned bucket gains no copies),
optionally also under ``REPORT_LOCAL_DIR``. Accounting is notified once per month: the
checkpoint ``report#YYYY-MM`` in the workflow table is claimed before the notice and holds
its result afterwards.

Billomat requests for a month (≤ 1,000 invoices, payments and open invoices): the month's
invoices (1 per 1,000), open invoices from earlier months (1 per 1,000), the month's
payments (1 per 1,000), its reminders (1), the top clients' names (1 per 1,000 clients, stops
early), and the month before through ``group_by=month`` (1), a HEAD count (1) and its
payments (1 per 1,000): 8 requests for a typical month; see ``bench/report_requests.py``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from aws_lambda_powertools import Metrics
from aws_lambda_powertools.metrics import MetricUnit
from pydantic import Field

from autopilot.billomat import BillomatClient
from autopilot.notifications import AccountingNotifier
from autopilot.observability import function_logger
from autopilot.scheduled_run import ScheduledRun, run_moment, scheduled_handler
from autopilot.settings import EnvironmentSettings
from autopilot.workflow_state import WorkflowStore

from .figures import (
    BILLED_STATUSES,
    ISSUED_STATUSES,
    OPEN_STATUSES,
    MonthlyReport,
    MonthTotals,
    month_totals_from_groups,
    monthly_report,
    top_client_ids,
)
from .period import ReportMonth, month_to_report
from .rendering import (
    notification_lines,
    notification_subject,
    report_csv,
    report_html,
    report_json,
)

__all__ = ["lambda_handler", "report_moment", "run_moment"]

logger = function_logger("reporting")
metrics = Metrics(service="reporting")

REPORTS_PREFIX = "reports"
REVIEW_LIST_PK = "review"
"""The bank workflow keeps its review items under this partition key."""
NOTICE_SORT_KEY = "notification"
NOTICE_CLAIM_STALE_SECONDS = 900
"""A notice claim older than this (a run that died mid-way) may be taken over."""


class ReportingSettings(EnvironmentSettings):
    """What the reporting function needs besides Billomat itself."""

    workflow_table: str = Field(alias="WORKFLOW_TABLE")
    notifications_topic_arn: str = Field(alias="NOTIFICATIONS_TOPIC_ARN")
    files_bucket: str = Field(alias="FILES_BUCKET")
    currency: str = Field(default="EUR", alias="REPORT_CURRENCY", pattern=r"^[A-Za-z]{3}$")
    """The account currency: only documents in it are summed; others are listed apart."""
    link_days: int = Field(default=7, alias="REPORT_LINK_DAYS", ge=1, le=7)
    """Requested lifetime of the pre-signed links (S3 allows at most 7 days)."""
    local_dir: Path | None = Field(default=None, alias="REPORT_LOCAL_DIR")
    """Local mode: also write the three files under ``<dir>/YYYY-MM/``."""


@cache
def settings() -> ReportingSettings:
    """The function's configuration, parsed once per container."""
    return ReportingSettings.from_env()


@cache
def s3_client() -> Any:
    """The boto3 S3 client (SigV4, which pre-signed links need); built on first use."""
    import boto3
    from botocore.config import Config

    return boto3.client("s3", config=Config(signature_version="s3v4"))


@cache
def workflow_store() -> WorkflowStore:
    """Checkpoints and the bank review list."""
    return WorkflowStore(settings().workflow_table)


@cache
def accounting_notifier() -> AccountingNotifier:
    """The accounting notices topic."""
    return AccountingNotifier(settings().notifications_topic_arn)


@dataclass(frozen=True)
class ReportFile:
    """One rendered file of the report and where it goes."""

    kind: str
    """``json``, ``csv`` or ``html``."""
    key: str
    body: bytes
    content_type: str
    content_disposition: str

    @property
    def digest(self) -> str:
        """SHA-256 of the content: tells whether the stored copy is already this one."""
        return hashlib.sha256(self.body).hexdigest()


def report_files(report: MonthlyReport) -> list[ReportFile]:
    """The report rendered as JSON, CSV and HTML under ``reports/YYYY-MM/``."""
    folder = f"{REPORTS_PREFIX}/{report.month.key}"
    name = f"monatsbericht-{report.month.key}"
    return [
        ReportFile(
            "json",
            f"{folder}/report.json",
            report_json(report),
            "application/json; charset=utf-8",
            f'inline; filename="{name}.json"',
        ),
        ReportFile(
            "csv",
            f"{folder}/report.csv",
            report_csv(report),
            "text/csv; charset=utf-8",
            f'attachment; filename="{name}.csv"',
        ),
        ReportFile(
            "html",
            f"{folder}/report.html",
            report_html(report),
            "text/html; charset=utf-8",
            f'inline; filename="{name}.html"',
        ),
    ]


def read_monthly_report(
    billomat: BillomatClient,
    store: WorkflowStore,
    month: ReportMonth,
    as_of: dt.date,
    currency: str,
) -> MonthlyReport:
    """Read what the report needs from Billomat and the review list, with few requests.

    Every list is read 1,000 records per request. The month's invoices are read once and
    serve revenue, tax rates, days, clients and statuses; open invoices are read only for
    earlier months (the month's own open ones are already in hand); the month before needs
    only its totals, so ``group_by`` and a HEAD count give them in two requests.
    """
    invoices = list(
        billomat.iter_invoices(
            status=list(ISSUED_STATUSES), date_from=month.first_day, date_to=month.last_day
        )
    )
    earlier_open = list(
        billomat.iter_invoices(
            status=list(OPEN_STATUSES), date_to=month.first_day - dt.timedelta(days=1)
        )
    )
    month_open = [invoice for invoice in invoices if invoice.status in OPEN_STATUSES]
    payments = list(
        billomat.iter_invoice_payments(date_from=month.first_day, date_to=month.last_day)
    )
    reminders = list(billomat.iter_reminders(date_from=month.first_day, date_to=month.last_day))
    names = client_names(billomat, top_client_ids(invoices, month, currency))
    review_keys = open_review_keys(store)
    return monthly_report(
        month,
        as_of,
        currency,
        invoices=invoices,
        open_invoices=[*earlier_open, *month_open],
        payments=payments,
        reminders=reminders,
        client_names=names,
        review_sort_keys=review_keys,
        previous=previous_month_totals(billomat, month.previous(), currency),
    )


def open_review_keys(store: WorkflowStore) -> list[str]:
    """Sort keys of the review items still waiting for a person: an item a person booked or
    dismissed (``status``, set by the operator API) stays for its history but is not counted."""
    return [
        str(item["sk"])
        for item in store.query(REVIEW_LIST_PK)
        if item.get("status") in (None, "open")
    ]


def client_names(billomat: BillomatClient, client_ids: list[int]) -> dict[int, str]:
    """Names of the given clients from the client list, stopping once all are found."""
    wanted = set(client_ids)
    names: dict[int, str] = {}
    if not wanted:
        return names
    for client in billomat.iter_clients():
        if client.id in wanted:
            names[client.id] = client.name or " ".join(
                part for part in (client.first_name, client.last_name) if part
            )
            if len(names) == len(wanted):
                break
    return names


def previous_month_totals(
    billomat: BillomatClient, month: ReportMonth, currency: str
) -> MonthTotals:
    """The month before in three requests: revenue via ``group_by``, a count, its payments."""
    billed = sorted(BILLED_STATUSES)
    groups = billomat.group_invoices(
        ["month"], status=billed, date_from=month.first_day, date_to=month.last_day
    )
    count = billomat.count_invoices(
        status=billed, date_from=month.first_day, date_to=month.last_day
    )
    payments = billomat.iter_invoice_payments(date_from=month.first_day, date_to=month.last_day)
    return month_totals_from_groups(groups, count, payments, currency)


class MonthlyReporting:
    """Compile, store and announce one month's report; safe to run again at any time."""

    def __init__(
        self,
        billomat: BillomatClient,
        store: WorkflowStore,
        notifier: AccountingNotifier,
        s3: Any,
        config: ReportingSettings,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.billomat = billomat
        self.store = store
        self.notifier = notifier
        self.s3 = s3
        self.config = config
        self.clock = clock

    def run(self, month: ReportMonth, as_of: dt.date, run_id: str) -> dict[str, Any]:
        """Report ``month`` as of ``as_of``; returns a JSON-able summary of what happened."""
        requests_before = self.billomat.request_count
        report = read_monthly_report(
            self.billomat, self.store, month, as_of, self.config.currency.upper()
        )
        billomat_requests = self.billomat.request_count - requests_before
        files = report_files(report)
        written = [file.key for file in files if self.store_file(file)]
        local_files = self.write_local_copies(month, files)
        links = {file.kind: self.link(file.key) for file in files}
        links["location"] = f"s3://{self.config.files_bucket}/{REPORTS_PREFIX}/{month.key}/"
        notification = self.notify_once(report, links, run_id)
        summary: dict[str, Any] = {
            "status": "reported",
            "month": month.key,
            "as_of": as_of.isoformat(),
            "s3_bucket": self.config.files_bucket,
            "s3_keys": {file.kind: file.key for file in files},
            "report_url": links["html"],
            "csv_url": links["csv"],
            "files_written": written,
            "notification": notification,
            "billomat_requests": billomat_requests,
            "summary": headline(report),
        }
        if local_files:
            summary["local_files"] = local_files
        return summary

    def store_file(self, file: ReportFile) -> bool:
        """Put the file into the bucket unless the stored copy already has this content."""
        from botocore.exceptions import ClientError

        bucket = self.config.files_bucket
        try:
            stored = self.s3.head_object(Bucket=bucket, Key=file.key)
        except ClientError as error:
            # S3 answers 403 instead of 404 for a missing key to a role without ListBucket:
            # either way there is no copy to compare with, so the file is written.
            code = str(error.response.get("Error", {}).get("Code", ""))
            if code not in {"404", "NoSuchKey", "NotFound", "403", "AccessDenied", "Forbidden"}:
                raise
        else:
            if stored.get("Metadata", {}).get("sha256") == file.digest:
                return False
        self.s3.put_object(
            Bucket=bucket,
            Key=file.key,
            Body=file.body,
            ContentType=file.content_type,
            ContentDisposition=file.content_disposition,
            Metadata={"sha256": file.digest},
        )
        return True

    def write_local_copies(self, month: ReportMonth, files: list[ReportFile]) -> dict[str, str]:
        """Local mode: the files also under ``REPORT_LOCAL_DIR/YYYY-MM/``."""
        if self.config.local_dir is None:
            return {}
        folder = self.config.local_dir / month.key
        folder.mkdir(parents=True, exist_ok=True)
        paths = {}
        for file in files:
            path = folder / f"report.{file.kind}"
            if not path.exists() or path.read_bytes() != file.body:
                path.write_bytes(file.body)
            paths[file.kind] = str(path)
        return paths

    def link(self, key: str) -> str:
        """A pre-signed GET link to a stored file.

        Signed with the function's role, whose temporary credentials may expire before
        ``REPORT_LINK_DAYS``; the notice therefore also names the S3 location.
        """
        url: str = self.s3.generate_presigned_url(
            "get_object",
            Params={"Bucket": self.config.files_bucket, "Key": key},
            ExpiresIn=self.config.link_days * 86400,
        )
        return url

    def notify_once(self, report: MonthlyReport, links: dict[str, str], run_id: str) -> str:
        """Tell accounting, unless a run already did: ``sent``, ``already_sent`` or ``busy``.

        The checkpoint is claimed before publishing and gets the result after; a publish that
        fails frees it so the retry notifies. Should a run die between publishing and
        recording, the notice goes out again once the claim is stale: a second notice is
        better than none.
        """
        pk = f"report#{report.month.key}"
        claim = self.store.claim(
            pk,
            NOTICE_SORT_KEY,
            owner=run_id,
            stale_after_seconds=NOTICE_CLAIM_STALE_SECONDS,
            attributes={"month": report.month.key, "as_of": report.as_of.isoformat()},
        )
        if not claim.acquired:
            if claim.item.get("result"):
                return "already_sent"
            logger.warning("another run is notifying for this month", extra={"checkpoint": pk})
            return "busy"
        try:
            message_id = self.notifier.notify(
                notification_subject(report),
                notification_lines(report, links),
                {"month": report.month.key, "s3_location": links["location"]},
            )
        except Exception:
            self.store.delete(pk, NOTICE_SORT_KEY)
            raise
        self.store.update(
            pk,
            NOTICE_SORT_KEY,
            {
                "result": {
                    "notified_at": dt.datetime.fromtimestamp(self.clock(), dt.UTC).isoformat(),
                    "message_id": message_id,
                    "as_of": report.as_of.isoformat(),
                }
            },
        )
        return "sent"


def headline(report: MonthlyReport) -> dict[str, Any]:
    """The figures the run's result shows (amounts as strings)."""
    return {
        "currency": report.currency,
        "invoices_issued": report.issued.invoice_count,
        "net": str(report.issued.net),
        "gross": str(report.issued.gross),
        "cancelled": report.issued.cancelled_count,
        "cash_received": str(report.cash.total),
        "open_amount": str(report.receivables.open_amount),
        "overdue_amount": str(report.receivables.overdue_amount),
        "reminders_sent": report.reminders.total,
        "review_list": report.review.open_items,
    }


report_moment = run_moment
"""The moment the run stands for (the name earlier versions of this module exported)."""


@dataclass(frozen=True)
class ReportingSummary:
    """One run's outcome (:meth:`MonthlyReporting.run`) as the scheduled-run shape reports it."""

    outcome: dict[str, Any]
    stopped_because: str | None = None
    """Always None: a Billomat error fails the run before anything is stored or sent."""

    def as_dict(self) -> dict[str, Any]:
        """The handler's answer: where the report is, what was written and sent, the figures."""
        return self.outcome

    def loggable(self) -> dict[str, Any]:
        """What the run wrote and sent; the answer's pre-signed links stay out of the logs."""
        return {
            key: self.outcome[key]
            for key in ("month", "files_written", "notification", "billomat_requests")
        }

    def metric_counts(self) -> dict[str, int]:
        """One report, its Billomat requests, and the notice when this run sent it."""
        counts = {
            "monthly_reports": 1,
            "report_billomat_requests": int(self.outcome["billomat_requests"]),
        }
        if self.outcome["notification"] == "sent":
            counts["report_notices_sent"] = 1
        return counts

    def progress(self) -> str:
        """Never asked for: the run cannot stop half-way."""
        return "nothing stored"


def report_last_month(run: ScheduledRun) -> ReportingSummary:
    """Compile, store and announce the month before the run's Berlin date."""
    month = month_to_report(run.moment)
    logger.append_keys(report_month=month.key)
    reporting = MonthlyReporting(
        run.billomat, workflow_store(), accounting_notifier(), s3_client(), settings()
    )
    try:
        outcome = reporting.run(month, run.business_day, run.request_id)
    except Exception:
        # the invocation fails and the Scheduler/async retry runs it again; count it
        metrics.add_metric(name="monthly_report_failures", unit=MetricUnit.Count, value=1)
        raise
    return ReportingSummary(outcome)


lambda_handler = scheduled_handler("reporting", report_last_month, logger=logger, metrics=metrics)
