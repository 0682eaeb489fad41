"""The monthly report through the Lambda handler, against the Billomat sandbox and moto.

March 2025 is seeded with paid, partly paid, open, overdue, cancelled, draft and foreign-
currency invoices, older open invoices, payments, reminders and review-list items; the report
run on 1 April at 08:00 (Berlin) must match what the sandbox holds, land in S3 as three
files, notify accounting once, and change nothing when run again.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import boto3
import pytest

from local.lambda_events import LocalLambdaContext

from .conftest import Billomat, Stack, clear_container_caches

REGION = "eu-central-1"
RUN_AT = "2025-04-01T08:00:00"  # Berlin wall time, as the schedule fires
AS_OF = date(2025, 4, 1)
MARCH = (date(2025, 3, 1), date(2025, 3, 31))
FEBRUARY = (date(2025, 2, 1), date(2025, 2, 28))


def run_report(now: str | None = RUN_AT, event: dict[str, Any] | None = None) -> dict[str, Any]:
    from reporting.app import lambda_handler

    payload = dict(event or {})
    if now is not None:
        payload["now"] = now
    return lambda_handler(payload, LocalLambdaContext(function_name="reporting"))


def item(title: str, quantity: str, price: str, rate: str) -> dict[str, str]:
    return {"title": title, "quantity": quantity, "unit_price": price, "tax_rate": rate}


@pytest.fixture
def accounting_inbox(stack: Stack) -> Callable[[], list[dict[str, str]]]:
    """Notices published to the accounting topic (an SQS queue subscribed to it)."""
    sqs = boto3.client("sqs", region_name=REGION)
    sns = boto3.client("sns", region_name=REGION)
    url = sqs.create_queue(QueueName="accounting-inbox")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    sns.subscribe(
        TopicArn=stack.environment["NOTIFICATIONS_TOPIC_ARN"], Protocol="sqs", Endpoint=arn
    )

    def read() -> list[dict[str, str]]:
        notices = []
        while batch := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get(
            "Messages", []
        ):
            for message in batch:
                body = json.loads(message["Body"])
                notices.append({"subject": body.get("Subject", ""), "text": body["Message"]})
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        return notices

    return read


@pytest.fixture
def march(billomat: Billomat, stack: Stack) -> dict[str, int]:
    """A realistic March 2025 in the sandbox (plus the months around it); returns ids."""
    sb = billomat.sandbox
    sb.clock.set(datetime(2025, 3, 1, 9, tzinfo=UTC))
    clients = {
        name: sb.seed("clients", {"name": name})["id"]
        for name in ("Acme GmbH", "Beta AG", "Gamma KG", "Delta & Söhne <Berlin>", "Echo e.K.")
    }
    small = [sb.seed("clients", {"name": f"Kleinkunde {n}"})["id"] for n in range(1, 9)]
    ids: dict[str, int] = dict(clients)

    def invoice(client: int, day: date, items: list[dict[str, str]], **extra: Any) -> int:
        record = {
            "client_id": client,
            "date": day.isoformat(),
            "due_date": extra.pop("due", day.replace(day=min(day.day + 14, 28))).isoformat(),
            "status": extra.pop("status", "OPEN"),
            "invoice-items": items,
            **extra,
        }
        return int(sb.seed("invoices", record)["id"])

    def pay(invoice_id: int, amount: str, day: date, kind: str = "BANK_TRANSFER") -> None:
        sb.seed(
            "invoice-payments",
            {"invoice_id": invoice_id, "amount": amount, "date": day.isoformat(), "type": kind},
        )

    # older receivables: December (over 90 days overdue on 1 April) and January (61-90)
    ids["december"] = invoice(
        clients["Gamma KG"],
        date(2024, 12, 2),
        [item("Wartung", "1", "500", "19")],
        due=date(2024, 12, 16),
    )
    ids["january"] = invoice(
        clients["Beta AG"],
        date(2025, 1, 10),
        [item("Beratung", "2", "400", "19")],
        due=date(2025, 1, 24),
    )
    # February: two invoices for the comparison, one paid in February, one paid in March
    ids["feb_paid"] = invoice(
        clients["Acme GmbH"], date(2025, 2, 5), [item("A", "1", "1000", "19")]
    )
    pay(ids["feb_paid"], "1190", date(2025, 2, 20))
    ids["feb_late"] = invoice(clients["Beta AG"], date(2025, 2, 25), [item("B", "3", "100", "7")])
    pay(ids["feb_late"], "321", date(2025, 3, 4), "PAYPAL")
    # March
    ids["paid"] = invoice(
        clients["Acme GmbH"],
        date(2025, 3, 3),
        [item("Projekt", "10", "95.50", "19"), item("Buch", "2", "24.90", "7")],
    )
    ids["partly_paid"] = invoice(
        clients["Beta AG"],
        date(2025, 3, 5),
        [item("Schulung", "1", "2000", "19")],
        due=date(2025, 3, 19),
    )
    pay(ids["partly_paid"], "1000", date(2025, 3, 20))
    ids["overdue"] = invoice(
        clients["Gamma KG"],
        date(2025, 3, 7),
        [item("Lizenz", "4", "250", "19")],
        due=date(2025, 3, 21),
    )
    ids["not_due"] = invoice(
        clients["Delta & Söhne <Berlin>"],
        date(2025, 3, 28),
        [item("Support", "5", "80", "19")],
        due=date(2025, 4, 11),
    )
    ids["cancelled"] = invoice(
        clients["Echo e.K."],
        date(2025, 3, 12),
        [item("Fehler", "1", "999", "19")],
        status="CANCELED",
    )
    ids["draft"] = invoice(
        clients["Echo e.K."],
        date(2025, 3, 13),
        [item("Entwurf", "1", "5000", "19")],
        status="DRAFT",
    )
    ids["dollars"] = invoice(
        clients["Echo e.K."],
        date(2025, 3, 14),
        [item("Export", "1", "700", "0")],
        currency_code="USD",
    )
    for n, client in enumerate(small, start=1):
        small_invoice = invoice(
            client, date(2025, 3, 10 + n), [item("Kleinauftrag", "1", f"{20 * n}", "7")]
        )
        pay(small_invoice, str(Decimal(20 * n) * Decimal("1.07")), date(2025, 3, 25), "PAYPAL")
    # the month's paid invoice is paid in March; April's invoice and payment stay out
    snapshot = {row["id"]: row for row in sb.snapshot()["invoices"]}
    pay(ids["paid"], str(snapshot[ids["paid"]]["total_gross"]), date(2025, 3, 18))
    ids["april"] = invoice(clients["Acme GmbH"], date(2025, 4, 1), [item("April", "1", "50", "19")])
    pay(ids["december"], "100", date(2025, 4, 1))
    # reminders: two first reminders and one second in March, one in February, one draft
    sb.clock.set(datetime(2025, 2, 26, 9, tzinfo=UTC))
    sb.tick()
    sb.seed("reminders", {"invoice_id": ids["january"], "date": "2025-02-26", "status": "OPEN"})
    sb.clock.set(datetime(2025, 3, 28, 9, tzinfo=UTC))
    sb.tick()
    sb.seed("reminders", {"invoice_id": ids["january"], "date": "2025-03-03", "status": "OPEN"})
    sb.seed("reminders", {"invoice_id": ids["december"], "date": "2025-03-03", "status": "OPEN"})
    sb.seed("reminders", {"invoice_id": ids["overdue"], "date": "2025-03-28", "status": "OPEN"})
    sb.seed("reminders", {"invoice_id": ids["partly_paid"], "date": "2025-03-28"})  # draft
    sb.clock.set(datetime(2025, 4, 1, 6, tzinfo=UTC))
    sb.tick()
    # the bank workflow's review list: two items booked in March, one in February
    from autopilot.workflow_state import WorkflowStore

    store = WorkflowStore(stack.environment["WORKFLOW_TABLE"])
    for sort_key in ("2025-02-27#tx-1", "2025-03-05#tx-2", "2025-03-20#tx-3"):
        store.put("review", sort_key, {"amount": Decimal("12.50")})
    return ids


def s3_body(stack: Stack, key: str) -> bytes:
    s3 = boto3.client("s3", region_name=REGION)
    return s3.get_object(Bucket=stack.environment["FILES_BUCKET"], Key=key)["Body"].read()


def stored_report(stack: Stack, month: str = "2025-03") -> dict[str, Any]:
    return json.loads(s3_body(stack, f"reports/{month}/report.json"))


def sandbox_expectations(billomat: Billomat) -> dict[str, Any]:
    """The March figures computed straight from the sandbox's records."""
    state = billomat.sandbox.snapshot()
    invoices = state["invoices"]

    def in_march(row: dict[str, Any]) -> bool:
        return MARCH[0] <= row["date"] <= MARCH[1]

    billed = [
        row
        for row in invoices
        if in_march(row)
        and row["status"] in {"OPEN", "OVERDUE", "PAID"}
        and row["currency_code"] == "EUR"
    ]
    payments = [row for row in state["invoice-payments"] if MARCH[0] <= row["date"] <= MARCH[1]]
    eur_payments = [row for row in payments if row["currency_code"] == "EUR"]
    open_rows = [
        row
        for row in invoices
        if row["status"] in {"OPEN", "OVERDUE"}
        and row["date"] <= MARCH[1]
        and row["currency_code"] == "EUR"
    ]
    reminders = [
        row
        for row in state["reminders"]
        if MARCH[0] <= row["date"] <= MARCH[1] and row["status"] not in {"DRAFT", "CANCELED"}
    ]
    feb_billed = [
        row
        for row in invoices
        if FEBRUARY[0] <= row["date"] <= FEBRUARY[1]
        and row["status"] in {"OPEN", "OVERDUE", "PAID"}
    ]
    by_rate: dict[Decimal, Decimal] = {}
    for row in billed:
        for tax in row["taxes"]:
            by_rate[Decimal(tax["rate"])] = by_rate.get(Decimal(tax["rate"]), Decimal(0)) + Decimal(
                tax["amount_net"]
            )
    return {
        "count": len(billed),
        "net": sum((row["total_net"] for row in billed), Decimal(0)),
        "gross": sum((row["total_gross"] for row in billed), Decimal(0)),
        "cash": sum((row["amount"] for row in eur_payments), Decimal(0)),
        "payments": len(eur_payments),
        "open": sum((row["open_amount"] for row in open_rows), Decimal(0)),
        "open_count": len(open_rows),
        "reminders": len(reminders),
        "net_by_rate": by_rate,
        "feb_count": len(feb_billed),
        "feb_net": sum((row["total_net"] for row in feb_billed), Decimal(0)),
        "feb_cash": sum(
            (
                row["amount"]
                for row in state["invoice-payments"]
                if FEBRUARY[0] <= row["date"] <= FEBRUARY[1]
            ),
            Decimal(0),
        ),
    }


# --- the report's figures ------------------------------------------------------------------


def test_report_totals_match_the_sandbox(
    stack: Stack, billomat: Billomat, march: dict[str, int]
) -> None:
    outcome = run_report()
    expected = sandbox_expectations(billomat)
    report = stored_report(stack)
    issued = report["invoices_issued"]
    assert outcome["month"] == report["month"] == "2025-03"
    assert report["as_of"] == "2025-04-01"
    assert issued["count"] == expected["count"] == 12
    assert Decimal(issued["net"]) == expected["net"]
    assert Decimal(issued["gross"]) == expected["gross"]
    assert Decimal(issued["tax"]) == expected["gross"] - expected["net"]
    assert issued["cancelled_count"] == 1
    assert {Decimal(row["rate"]): Decimal(row["net"]) for row in report["by_tax_rate"]} == (
        expected["net_by_rate"]
    )
    assert sum(Decimal(row["net"]) for row in report["revenue_by_day"]) == expected["net"]
    assert len(report["revenue_by_day"]) == 31
    cash = report["cash_received"]
    assert Decimal(cash["total"]) == expected["cash"]
    assert cash["payment_count"] == expected["payments"]
    receivables = report["receivables"]
    assert Decimal(receivables["open_amount"]) == expected["open"]
    assert receivables["invoice_count"] == expected["open_count"]
    assert report["reminders_sent"]["total"] == expected["reminders"] == 3
    assert Decimal(report["previous_month"]["net"]) == expected["feb_net"]
    assert report["previous_month"]["invoice_count"] == expected["feb_count"] == 2
    assert Decimal(report["previous_month"]["cash_received"]) == expected["feb_cash"]


def test_receivables_are_aged_by_days_past_due_on_the_report_date(
    stack: Stack, billomat: Billomat, march: dict[str, int]
) -> None:
    run_report()
    invoices = {row["id"]: row for row in billomat.sandbox.snapshot()["invoices"]}
    aging = {row["bucket"]: row for row in stored_report(stack)["receivables"]["aging"]}

    def open_of(*names: str) -> Decimal:
        return sum((invoices[march[name]]["open_amount"] for name in names), Decimal(0))

    assert Decimal(aging["not_due"]["open_amount"]) == open_of("not_due") + sum(
        (
            row["open_amount"]
            for row in invoices.values()
            if row["status"] in {"OPEN", "OVERDUE"}
            and row["date"] <= MARCH[1]
            and row["currency_code"] == "EUR"
            and row["due_date"] >= AS_OF
            and row["id"] != march["not_due"]
        ),
        Decimal(0),
    )
    assert Decimal(aging["0-30"]["open_amount"]) == open_of("partly_paid", "overdue")
    assert Decimal(aging["61-90"]["open_amount"]) == open_of("january")
    assert Decimal(aging["90+"]["open_amount"]) == open_of("december")
    assert aging["31-60"]["invoice_count"] == 0
    # the USD invoice is in no sum but listed apart
    report = stored_report(stack)
    assert report["other_currencies"] == [
        {
            "currency": "USD",
            "invoice_count": 1,
            "gross": "700.00",
            "payment_count": 0,
            "payments_total": "0.00",
        }
    ]


def test_top_clients_are_ranked_by_net_revenue_with_their_names(
    stack: Stack, billomat: Billomat, march: dict[str, int]
) -> None:
    run_report()
    top = stored_report(stack)["top_clients"]
    assert len(top) == 10
    assert [row["name"] for row in top[:3]] == ["Beta AG", "Acme GmbH", "Gamma KG"]
    nets = [Decimal(row["net"]) for row in top]
    assert nets == sorted(nets, reverse=True)
    assert "Delta & Söhne <Berlin>" in {row["name"] for row in top}
    html = s3_body(stack, "reports/2025-03/report.html").decode("utf-8")
    assert "Delta &amp; Söhne &lt;Berlin&gt;" in html
    assert "<Berlin>" not in html


def test_reminders_are_counted_by_level_and_the_review_list_by_month(
    stack: Stack, billomat: Billomat, march: dict[str, int]
) -> None:
    run_report()
    report = stored_report(stack)
    levels = {row["level"]: row["count"] for row in report["reminders_sent"]["by_level"]}
    assert levels == {1: 2, 2: 1}
    assert report["review_list"] == {"open_items": 3, "added_in_month": 2}


# --- files, link and notice ------------------------------------------------------------------


def test_report_is_stored_as_json_csv_and_html_and_accounting_gets_a_link(
    stack: Stack,
    billomat: Billomat,
    march: dict[str, int],
    accounting_inbox: Callable[[], list[dict[str, str]]],
) -> None:
    outcome = run_report()
    keys = outcome["s3_keys"]
    assert keys == {
        "json": "reports/2025-03/report.json",
        "csv": "reports/2025-03/report.csv",
        "html": "reports/2025-03/report.html",
    }
    s3 = boto3.client("s3", region_name=REGION)
    heads = {
        kind: s3.head_object(Bucket=stack.environment["FILES_BUCKET"], Key=key)
        for kind, key in keys.items()
    }
    assert heads["html"]["ContentType"].startswith("text/html")
    assert heads["csv"]["ContentType"].startswith("text/csv")
    html = s3_body(stack, keys["html"]).decode("utf-8")
    assert "<svg" in html
    assert "Monatsbericht März 2025" in html
    assert "http://" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "https://" not in html
    assert "<script" not in html
    rows = list(
        csv.reader(io.StringIO(s3_body(stack, keys["csv"]).decode("utf-8-sig")), delimiter=";")
    )
    assert rows[0][:2] == ["Bereich", "Posten"]
    url = urlsplit(outcome["report_url"])
    assert url.path.endswith("/reports/2025-03/report.html")
    query = parse_qs(url.query)
    assert query["X-Amz-Expires"] == [str(7 * 86400)]
    [notice] = accounting_inbox()
    assert notice["subject"].startswith("Monatsbericht März 2025: 12 Rechnungen")
    assert outcome["report_url"] in notice["text"]
    assert "s3://" in notice["text"]
    assert outcome["notification"] == "sent"


def test_second_run_on_the_same_day_changes_nothing(
    stack: Stack,
    billomat: Billomat,
    march: dict[str, int],
    accounting_inbox: Callable[[], list[dict[str, str]]],
) -> None:
    s3 = boto3.client("s3", region_name=REGION)
    s3.put_bucket_versioning(  # as template.yaml configures the files bucket
        Bucket=stack.environment["FILES_BUCKET"], VersioningConfiguration={"Status": "Enabled"}
    )
    first = run_report()
    assert len(accounting_inbox()) == 1
    sandbox_before = billomat.sandbox.snapshot()
    table_before = scan_workflow_table(stack)
    objects_before = object_versions(stack)
    second = run_report("2025-04-01T17:30:00")
    assert second["notification"] == "already_sent"
    assert second["files_written"] == []
    assert first["files_written"] == list(first["s3_keys"].values())
    assert second["summary"] == first["summary"]
    assert billomat.sandbox.snapshot() == sandbox_before
    assert scan_workflow_table(stack) == table_before
    assert object_versions(stack) == objects_before
    assert accounting_inbox() == []


def test_changed_data_overwrites_the_files_but_accounting_is_told_once(
    stack: Stack,
    billomat: Billomat,
    march: dict[str, int],
    accounting_inbox: Callable[[], list[dict[str, str]]],
) -> None:
    run_report()
    billomat.sandbox.seed(
        "invoice-payments",
        {"invoice_id": march["overdue"], "amount": "100", "date": "2025-03-31"},
    )
    again = run_report("2025-04-02T08:00:00")
    assert set(again["files_written"]) == set(again["s3_keys"].values())
    assert again["notification"] == "already_sent"
    assert stored_report(stack)["as_of"] == "2025-04-02"
    assert len(accounting_inbox()) == 1


def test_local_mode_also_writes_the_files_to_the_report_folder(
    stack: Stack,
    billomat: Billomat,
    march: dict[str, int],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("REPORT_LOCAL_DIR", str(tmp_path))
    clear_container_caches()
    outcome = run_report()
    folder = tmp_path / "2025-03"
    assert sorted(p.name for p in folder.iterdir()) == ["report.csv", "report.html", "report.json"]
    assert outcome["local_files"]["html"] == str(folder / "report.html")
    assert (folder / "report.json").read_bytes() == s3_body(stack, "reports/2025-03/report.json")


# --- which month, how many requests, failures --------------------------------------------------


@pytest.mark.parametrize(
    ("now", "month"),
    [
        ("2025-01-01T08:00:00", "2024-12"),
        ("2024-03-01T08:00:00+01:00", "2024-02"),
        ("2025-03-31T22:30:00Z", "2025-03"),  # 00:30 on 1 April in Berlin (summer time)
        ("2025-03-31T21:59:00Z", "2025-02"),  # still 31 March in Berlin
    ],
)
def test_the_month_reported_is_the_one_before_the_berlin_date(
    stack: Stack, billomat: Billomat, now: str, month: str
) -> None:
    outcome = run_report(now)
    assert outcome["month"] == month
    assert outcome["s3_keys"]["json"] == f"reports/{month}/report.json"


def test_scheduler_event_reports_the_month_before_today(stack: Stack, billomat: Billomat) -> None:
    from reporting.period import month_to_report

    outcome = run_report(None, {"schedule": "reporting"})
    assert outcome["month"] == month_to_report(datetime.now(UTC)).key


def test_a_month_costs_a_handful_of_billomat_requests(
    stack: Stack, billomat: Billomat, march: dict[str, int]
) -> None:
    before = billomat.sandbox.request_count
    outcome = run_report()
    sent = billomat.sandbox.requests[before:]
    assert outcome["billomat_requests"] == len(sent) == 8
    assert all(request.method in {"GET", "HEAD"} for request in sent)
    assert all(request.query.get("per_page") in {None, "1000"} for request in sent)


def test_billomat_outage_fails_the_run_before_anything_is_stored_or_sent(
    stack: Stack,
    billomat: Billomat,
    march: dict[str, int],
    accounting_inbox: Callable[[], list[dict[str, str]]],
) -> None:
    from autopilot.billomat import BillomatUnavailableError

    billomat.sandbox.faults.add("GET", "reminders", "server_error", times=10)
    with pytest.raises(BillomatUnavailableError):
        run_report()
    s3 = boto3.client("s3", region_name=REGION)
    listed = s3.list_objects_v2(Bucket=stack.environment["FILES_BUCKET"], Prefix="reports/")
    assert listed.get("KeyCount", 0) == 0
    assert accounting_inbox() == []
    billomat.sandbox.faults.clear()
    assert run_report()["notification"] == "sent"
    assert len(accounting_inbox()) == 1


def test_a_spent_quota_is_waited_out_when_the_wait_fits_the_lambda_timeout(
    stack: Stack, billomat: Billomat, march: dict[str, int]
) -> None:
    from reporting.app import lambda_handler

    sandbox = billomat.sandbox
    sandbox.clock.set(datetime(2025, 4, 1, 6, 5, tzinfo=UTC))  # 10 minutes before the next window
    sandbox.reset_rate_limit()
    sandbox.rate_limit = 5  # other functions used the rest of this window
    started = sandbox.clock.now()
    outcome = lambda_handler({"now": RUN_AT}, LocalLambdaContext("reporting", timeout_seconds=900))
    assert outcome["notification"] == "sent"
    assert sandbox.clock.now() >= datetime(2025, 4, 1, 6, 15, tzinfo=UTC) > started
    assert all(request.status != 429 for request in sandbox.requests)


def test_a_spent_quota_that_does_not_fit_fails_the_run_for_a_retry_without_side_effects(
    stack: Stack,
    billomat: Billomat,
    march: dict[str, int],
    accounting_inbox: Callable[[], list[dict[str, str]]],
) -> None:
    from autopilot.billomat import BillomatRateLimitedError

    sandbox = billomat.sandbox
    sandbox.clock.set(datetime(2025, 4, 1, 6, 1, tzinfo=UTC))
    sandbox.reset_rate_limit()
    sandbox.rate_limit = 5
    with pytest.raises(BillomatRateLimitedError):
        run_report()  # 60 s timeout: the 14 minutes to the next window do not fit
    s3 = boto3.client("s3", region_name=REGION)
    listed = s3.list_objects_v2(Bucket=stack.environment["FILES_BUCKET"], Prefix="reports/")
    assert listed.get("KeyCount", 0) == 0
    assert accounting_inbox() == []


def test_a_failed_notice_is_sent_by_the_next_run(
    stack: Stack,
    billomat: Billomat,
    march: dict[str, int],
    accounting_inbox: Callable[[], list[dict[str, str]]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from autopilot.notifications import AccountingNotifier

    def broken(self: AccountingNotifier, *args: Any, **kwargs: Any) -> str:
        raise RuntimeError("SNS is down")

    with monkeypatch.context() as patch:
        patch.setattr(AccountingNotifier, "notify", broken)
        with pytest.raises(RuntimeError, match="SNS is down"):
            run_report()
    assert run_report()["notification"] == "sent"
    assert len(accounting_inbox()) == 1


def scan_workflow_table(stack: Stack) -> list[dict[str, Any]]:
    """The workflow table's business records: without what every run leaves for the operator's
    status (the schedule's last run, the Billomat quota seen)."""
    from autopilot.operations_record import LAST_RUN_SORT_KEY, RATE_PK

    dynamodb = boto3.client("dynamodb", region_name=REGION)
    items = dynamodb.scan(TableName=stack.environment["WORKFLOW_TABLE"])["Items"]
    business = [
        row for row in items if row["pk"]["S"] != RATE_PK and row["sk"]["S"] != LAST_RUN_SORT_KEY
    ]
    return sorted(business, key=lambda row: (row["pk"]["S"], row["sk"]["S"]))


def object_versions(stack: Stack) -> list[tuple[str, str, str]]:
    s3 = boto3.client("s3", region_name=REGION)
    listed = s3.list_object_versions(Bucket=stack.environment["FILES_BUCKET"], Prefix="reports/")
    return sorted((row["Key"], row["VersionId"], row["ETag"]) for row in listed.get("Versions", []))
