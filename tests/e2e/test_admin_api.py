"""The operator API (``/admin/...``) end to end: the admin Lambda handler on moto and the
Billomat sandbox, and the same routes through local mode's HTTP server.

Review list: book (through the bank's exactly-once booking), dismiss, twice (409), a wrong
invoice (400, nothing booked), an unknown id (404), history kept, the report counting open
items only. Dead letters: listed without being consumed, redriven, a dead-lettered order
invoiced exactly once. Status: queue and DLQ depths as SQS has them.
"""

from __future__ import annotations

import contextlib
import json
from decimal import Decimal
from typing import Any

import boto3
import httpx
import pytest

from local.lambda_events import LocalLambdaContext, http_api_event

from .conftest import Billomat, Stack
from .test_bank_payment import Bank, own_transfer, post_transaction
from .test_bank_payment import bank as bank  # the fixture
from .test_local_mode import RunningServer, start_server, stop_server
from .test_order_invoice import B2C_DISCOUNT, deliver, receive, records, run_worker

REGION = "eu-central-1"
STRANGER = {"name": "Max Mustermann", "iban": "DE89370400440532013000"}


def admin(method: str, path: str, body: Any = None) -> tuple[int, dict[str, Any]]:
    """One request through the admin Lambda handler (payload format 2.0, like API Gateway)."""
    from admin.app import lambda_handler

    raw = b"" if body is None else json.dumps(body).encode()
    event = http_api_event(method, path, {"content-type": "application/json"}, raw)
    response = lambda_handler(event, LocalLambdaContext(function_name="admin"))
    return int(response["statusCode"]), json.loads(response.get("body") or "{}")


def review_transfer(bank: Bank, transaction_id: str, amount: str) -> str:
    """A transfer nobody can match (unknown payer, no invoice number): a review item."""
    status, _ = post_transaction(
        own_transfer(transaction_id, amount, "Zahlung", counterparty=STRANGER)
    )
    assert status == 200
    bank.work()
    return f"fints:{transaction_id}"


def our_payments(bank: Bank) -> list[tuple[str, Decimal]]:
    return [(number, amount) for number, amount, _ in bank.payments()]


# -- review list ----------------------------------------------------------------------------


def test_review_list_shows_open_items_in_the_documented_shape(bank: Bank) -> None:
    item_id = review_transfer(bank, "adm-1", "476.00")
    status, answer = admin("GET", "/admin/review")
    assert status == 200
    [item] = answer["items"]
    assert item["id"] == item_id
    assert {
        k: item[k] for k in ("source", "amount", "currency", "payer", "reference", "reason")
    } == {
        "source": "fints",
        "amount": "476.00",
        "currency": "EUR",
        "payer": "Max Mustermann",
        "reference": "Zahlung",
        "reason": item["reason"],
    }
    assert item["reason"]
    assert isinstance(item["candidates"], list)
    assert isinstance(item["age_seconds"], int)
    assert item["age_seconds"] >= 0


def test_booking_a_review_item_books_once_and_keeps_its_history(bank: Bank) -> None:
    item_id = review_transfer(bank, "adm-2", "476.00")
    status, answer = admin(
        "POST", f"/admin/review/{item_id}", {"action": "book", "invoice": "RE1047"}
    )
    assert status == 200, answer
    assert answer["status"] == "booked"
    assert answer["resolution"]["invoice"] == "RE1047"
    assert answer["resolved_by"] == "local"
    assert our_payments(bank) == [("RE1047", Decimal("476.00"))]
    assert bank.invoice("RE1047")["status"] == "PAID"

    again, refused = admin(
        "POST", f"/admin/review/{item_id}", {"action": "book", "invoice": "RE1047"}
    )
    assert (again, refused["error"], refused["status"]) == (409, "already_resolved", "booked")
    dismiss, _ = admin("POST", f"/admin/review/{item_id}", {"action": "dismiss", "reason": "x"})
    assert dismiss == 409
    assert our_payments(bank) == [("RE1047", Decimal("476.00"))]
    assert bank.payment_posts() == 1

    assert admin("GET", "/admin/review")[1]["items"] == []
    [stored] = bank.review()  # history: the resolved item is kept, with who/when/what
    assert stored["status"] == "booked"
    assert stored["resolution"]["payment_id"] == answer["resolution"]["payment_id"]
    assert stored["expires_at"] - stored["resolved_at"] == 400 * 86400
    # the bank worker sees the transfer as booked now, and a redelivery books nothing
    from bank_payment.app import new_booking

    assert new_booking().store.get(f"banktx#{item_id}", "state")["status"] == "booked"


@pytest.mark.parametrize(
    ("invoice", "error"),
    [
        ("RE9999", "invoice_not_found"),
        ("RE1040", "invoice_not_open"),  # PAID
        ("RE1049", "amount_exceeds_open"),  # 119.00 open < 476.00
    ],
)
def test_a_wrong_invoice_is_400_and_books_nothing(bank: Bank, invoice: str, error: str) -> None:
    item_id = review_transfer(bank, "adm-3", "476.00")
    status, answer = admin(
        "POST", f"/admin/review/{item_id}", {"action": "book", "invoice": invoice}
    )
    assert (status, answer["error"]) == (400, error)
    assert bank.payments() == []
    [item] = admin("GET", "/admin/review")[1]["items"]  # still open
    assert item["id"] == item_id


def test_invalid_action_is_400(bank: Bank) -> None:
    item_id = review_transfer(bank, "adm-4", "476.00")
    for body in ({"action": "pay"}, {"action": "book"}, [1]):
        status, answer = admin("POST", f"/admin/review/{item_id}", body)
        assert (status, answer["error"]) == (400, "invalid_request")


def test_unknown_id_is_404(bank: Bank) -> None:
    status, answer = admin("POST", "/admin/review/fints:nope", {"action": "dismiss"})
    assert (status, answer["error"]) == (404, "not_found")


def test_dismissing_removes_the_item_from_the_list_and_the_report_count(bank: Bank) -> None:
    kept = review_transfer(bank, "adm-5", "476.00")
    dismissed = review_transfer(bank, "adm-6", "12.34")
    status, answer = admin(
        "POST", f"/admin/review/{dismissed}", {"action": "dismiss", "reason": "Privatentnahme"}
    )
    assert (status, answer["status"]) == (200, "dismissed")
    assert answer["resolution"] == {"action": "dismiss", "reason": "Privatentnahme"}
    assert [i["id"] for i in admin("GET", "/admin/review")[1]["items"]] == [kept]
    assert admin("POST", f"/admin/review/{dismissed}", {"action": "dismiss"})[0] == 409
    assert bank.payments() == []
    assert open_review_count(bank.stack) == 1


def open_review_count(stack: Stack) -> int:
    from reporting.app import REVIEW_LIST_PK, open_review_keys

    from autopilot.workflow_state import WorkflowStore

    store = WorkflowStore(stack.environment["WORKFLOW_TABLE"])
    assert len(store.query(REVIEW_LIST_PK)) == 2
    return len(open_review_keys(store))


# -- dead letters ---------------------------------------------------------------------------


def order_reference(body: dict[str, Any]) -> str:
    order = body["order"]
    return f"{order['source']}:{order['shop']}:order:{order['order_id']}"


def dead_letter(stack: Stack, queue: str, body: str) -> None:
    boto3.client("sqs", region_name=REGION).send_message(
        QueueUrl=stack.aws.dead_letter_queue_urls[queue], MessageBody=body
    )


def test_dead_lettered_order_is_listed_redriven_and_invoiced_exactly_once(
    stack: Stack, billomat: Billomat
) -> None:
    assert deliver(B2C_DISCOUNT)["status"] == "queued"
    [message] = receive(stack)
    run_worker(stack, [message])  # invoiced; then (say) its deletion was lost and it failed
    dead_letter(stack, "orders", message["Body"])  # its receives: it lands in the DLQ
    # and a second order that never got through
    other = json.loads(message["Body"])
    other["order"]["order_id"] = str(other["order"]["order_id"]) + "2"
    other["order"]["order_number"] = str(other["order"]["order_number"]) + "-2"
    dead_letter(stack, "orders", json.dumps(other))
    assert len(records(billomat, "invoices")) == 1

    status, answer = admin("GET", "/admin/dead-letters")
    assert status == 200
    orders = next(q for q in answer["queues"] if q["queue"] == "orders")
    assert orders["count"] == 2
    assert orders["oldest_age_seconds"] is not None
    assert orders["oldest_age_seconds"] >= 0
    assert sorted(m["reference"] for m in orders["messages"]) == sorted(
        [order_reference(json.loads(message["Body"])), order_reference(other)]
    )
    assert {m["workflow"] for m in orders["messages"]} == {"order_invoice"}
    assert all(m["error"] for m in orders["messages"])
    # looking consumed nothing
    again = next(
        q for q in admin("GET", "/admin/dead-letters")[1]["queues"] if q["queue"] == "orders"
    )
    assert (again["count"], len(again["messages"])) == (2, 2)
    assert len(receive(stack)) == 0

    status, moved = admin("POST", "/admin/dead-letters/orders/redrive")
    assert (status, moved) == (200, {"queue": "orders", "moved": 2})
    after = next(
        q for q in admin("GET", "/admin/dead-letters")[1]["queues"] if q["queue"] == "orders"
    )
    assert (after["count"], after["messages"]) == (0, [])

    for _ in range(5):
        if not receive(stack):
            break
        run_worker(stack)
    invoices = records(billomat, "invoices")
    assert len(invoices) == 2  # the first order once, the second once
    assert len({i["id"] for i in invoices}) == 2
    assert len(records(billomat, "invoice-payments")) == 2


def test_redrive_of_an_unknown_queue_is_404(stack: Stack) -> None:
    status, answer = admin("POST", "/admin/dead-letters/nope/redrive")
    assert (status, answer["error"]) == (404, "not_found")


def test_redrive_uses_the_move_task_in_aws(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> None:
    """In AWS the move task does the moving (moto has none: the call is checked, not run)."""
    from admin import queues

    dead_letter(stack, "bank", '{"kind": "bank_transaction"}')
    calls: list[dict[str, str]] = []

    class Sqs:
        def __init__(self) -> None:
            self.real = boto3.client("sqs", region_name=REGION)

        def __getattr__(self, name: str) -> Any:
            return getattr(self.real, name)

        def start_message_move_task(self, **kwargs: str) -> dict[str, str]:
            calls.append(kwargs)
            return {"TaskHandle": "handle-1"}

    answer = queues.redrive(Sqs(), "bank", use_move_task=True)
    assert answer == {"queue": "bank", "moved": 1, "task_handle": "handle-1"}
    [call] = calls
    assert call["SourceArn"].endswith("autopilot-local-bank-dlq")
    assert call["DestinationArn"].endswith("autopilot-local-bank")


# -- status ---------------------------------------------------------------------------------


def test_status_reports_queue_and_dead_letter_depths(stack: Stack) -> None:
    sqs = boto3.client("sqs", region_name=REGION)
    sqs.send_message(QueueUrl=stack.aws.queue_urls["bank"], MessageBody="{}")
    sqs.send_message(QueueUrl=stack.aws.queue_urls["bank"], MessageBody="{}")
    dead_letter(stack, "refunds", "{}")
    status, answer = admin("GET", "/admin/status")
    assert status == 200
    rows = {row["queue"]: row for row in answer["queues"]}
    assert set(rows) == {"orders", "deals", "bank", "products", "refunds"}
    assert (rows["bank"]["visible"], rows["bank"]["dead_letters"]) == (2, 0)
    assert (rows["refunds"]["visible"], rows["refunds"]["dead_letters"]) == (0, 1)
    assert rows["bank"]["workflow"] == "bank_payment"
    assert answer["missing"] == ["failures"]  # no SCHEDULED_FAILURES_QUEUE_URL here
    assert [(row["schedule"], row["outcome"]) for row in answer["schedules"]] == [
        ("dunning", None),
        ("recurring", None),
        ("reporting", None),
    ]
    assert answer["billomat_rate"] == {}  # nothing talked to Billomat yet


def test_status_lists_failed_scheduled_runs_without_consuming_them(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    sqs = boto3.client("sqs", region_name=REGION)
    url = sqs.create_queue(QueueName="scheduled-failures")["QueueUrl"]
    monkeypatch.setenv("SCHEDULED_FAILURES_QUEUE_URL", url)
    on_failure = {  # a Lambda on-failure destination record
        "version": "1.0",
        "timestamp": "2026-11-30T05:00:03.000Z",
        "requestContext": {
            "functionArn": "arn:aws:lambda:eu-central-1:123456789012"
            ":function:stack-Dunning-X:$LATEST",
            "condition": "RetriesExhausted",
            "approximateInvokeCount": 3,
        },
        "responseContext": {"statusCode": 200, "functionError": "Unhandled"},
        "responsePayload": {"errorMessage": "Billomat answered 401", "errorType": "AuthError"},
    }
    sqs.send_message(QueueUrl=url, MessageBody=json.dumps(on_failure))
    sqs.send_message(
        QueueUrl=url,
        MessageBody="{}",
        MessageAttributes={
            "ERROR_CODE": {"DataType": "String", "StringValue": "AWS.Lambda.AccessDenied"},
            "ERROR_MESSAGE": {"DataType": "String", "StringValue": "not allowed"},
        },
    )
    for _ in range(2):  # looking twice: nothing is consumed
        status, answer = admin("GET", "/admin/status")
        assert status == 200
        assert answer["missing"] == []
        by_condition = {row["condition"]: row for row in answer["failures"]}
        assert set(by_condition) == {"RetriesExhausted", "AWS.Lambda.AccessDenied"}
        lambda_failure = by_condition["RetriesExhausted"]
        assert lambda_failure["function"] == "stack-Dunning-X"
        assert lambda_failure["error"] == "Billomat answered 401"
        assert lambda_failure["at"] == "2026-11-30T05:00:03.000Z"
        assert by_condition["AWS.Lambda.AccessDenied"]["error"] == "not allowed"


def test_status_shows_each_schedules_last_run_as_it_went(stack: Stack, billomat: Billomat) -> None:
    from dunning.app import DunningRunIncomplete

    from .test_dunning import RUN_AT, client, overdue_invoice, run_dunning

    billomat.sandbox.clock.set(RUN_AT)
    customer = client(billomat, "Status")
    for days in (8, 9, 10):
        overdue_invoice(billomat, customer, days_overdue=days)
    billomat.sandbox.rate_limit = 5  # the run stops early: the quota is spent
    with pytest.raises(DunningRunIncomplete):
        run_dunning(timeout_seconds=30)

    schedules = {row["schedule"]: row for row in admin("GET", "/admin/status")[1]["schedules"]}
    dunning = schedules["dunning"]
    assert (dunning["outcome"], dunning["business_day"]) == ("incomplete", "2026-11-25")
    assert "rate limit" in dunning["error"]
    assert (schedules["recurring"]["outcome"], schedules["reporting"]["outcome"]) == (None, None)

    billomat.sandbox.clock.advance(15 * 60)  # the next window: Lambda's retry finishes the run
    billomat.sandbox.rate_limit = 300
    answer = run_dunning()
    dunning = next(
        row for row in admin("GET", "/admin/status")[1]["schedules"] if row["schedule"] == "dunning"
    )
    assert (dunning["outcome"], dunning["error"]) == ("finished", None)
    assert dunning["counts"]["reminders_sent"] == answer["reminders_sent"]
    assert dunning["summary"]["reminders_sent"] == answer["reminders_sent"]


def test_status_shows_the_quota_billomat_last_reported_and_the_last_429(
    stack: Stack, billomat: Billomat
) -> None:
    assert deliver(B2C_DISCOUNT)["status"] == "queued"
    run_worker(stack)
    quota = admin("GET", "/admin/status")[1]["billomat_rate"]
    # what Billomat's last answer said: the sandbox's window minus every request made so far
    assert quota["remaining"] == billomat.client.rate_limit_remaining
    assert quota["remaining"] == 300 - billomat.client.request_count
    assert quota["reset"] == billomat.client.rate_limit_reset
    assert (quota["function"], quota["last_429_at"]) == ("order_invoice", None)

    from .test_dunning import client, overdue_invoice, run_dunning

    billomat.sandbox.clock.advance(60)  # later than the order's answers
    overdue_invoice(billomat, client(billomat, "Quota"), days_overdue=8)
    billomat.sandbox.rate_limit = 1  # spent: the next request is answered 429
    with pytest.raises(RuntimeError):
        run_dunning(timeout_seconds=30)
    quota = admin("GET", "/admin/status")[1]["billomat_rate"]
    assert (quota["function"], quota["last_429_function"]) == ("dunning", "dunning")
    assert quota["remaining"] == 0
    assert quota["last_429_at"] is not None


# -- failed scheduled runs: re-run for their business day -------------------------------------

STACK_FUNCTIONS = {  # ARN -> the handler it runs
    "arn:aws:lambda:eu-central-1:123456789012:function:stack-Dunning-X": "dunning.app",
    "arn:aws:lambda:eu-central-1:123456789012:function:stack-Recurring-X": "recurring.app",
    "arn:aws:lambda:eu-central-1:123456789012:function:stack-Reporting-X": "reporting.app",
}
DUNNING_ARN, RECURRING_ARN, _ = STACK_FUNCTIONS


class InProcessLambda:
    """Lambda's asynchronous Invoke, running the function's real handler here."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, dict[str, Any]]] = []

    def invoke(self, FunctionName: str, InvocationType: str, Payload: bytes) -> dict[str, Any]:
        import importlib

        payload = json.loads(Payload)
        self.calls.append((FunctionName, InvocationType, payload))
        handler = importlib.import_module(STACK_FUNCTIONS[FunctionName]).lambda_handler
        with contextlib.suppress(Exception):  # asynchronous: the caller never sees the outcome
            handler(payload, LocalLambdaContext(function_name=FunctionName.rsplit(":", 1)[-1]))
        return {"StatusCode": 202}


@pytest.fixture
def failures_queue(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> tuple[str, InProcessLambda]:
    from admin import app as admin_app

    sqs = boto3.client("sqs", region_name=REGION)
    url = sqs.create_queue(QueueName="scheduled-failures")["QueueUrl"]
    monkeypatch.setenv("SCHEDULED_FAILURES_QUEUE_URL", url)
    monkeypatch.setenv("RERUNNABLE_FUNCTIONS", ",".join(STACK_FUNCTIONS))
    lambda_client = InProcessLambda()
    monkeypatch.setattr(admin_app, "lambda_client", lambda: lambda_client)
    admin_app.settings.cache_clear()
    return url, lambda_client


def on_failure_record(function_arn: str, payload: dict[str, Any]) -> str:
    """What Lambda's on-failure destination writes after the retries of an async invocation."""
    return json.dumps(
        {
            "version": "1.0",
            "timestamp": "2026-11-25T08:05:03.000Z",
            "requestContext": {
                "requestId": "r-1",
                "functionArn": function_arn + ":$LATEST",
                "condition": "RetriesExhausted",
                "approximateInvokeCount": 3,
            },
            "requestPayload": payload,
            "responseContext": {"statusCode": 200, "functionError": "Unhandled"},
            "responsePayload": {"errorMessage": "Billomat unavailable", "errorType": "X"},
        }
    )


def test_a_failed_dunning_run_is_re_run_for_its_business_day(
    failures_queue: tuple[str, InProcessLambda], billomat: Billomat
) -> None:
    from .test_dunning import RUN_AT, client, overdue_invoice, reminder_emails

    url, lambda_client = failures_queue
    billomat.sandbox.clock.set(RUN_AT)
    overdue_invoice(billomat, client(billomat, "Spät"), days_overdue=8)
    scheduled = {"schedule": "dunning", "now": "2026-11-25T08:00:00Z"}
    sqs = boto3.client("sqs", region_name=REGION)
    sqs.send_message(QueueUrl=url, MessageBody=on_failure_record(DUNNING_ARN, scheduled))

    status, answer = admin("POST", "/admin/dead-letters/scheduled/redrive")

    assert status == 200
    assert answer["moved"] == 1
    assert [(row["function"], row["now"]) for row in answer["rerun"]] == [
        ("stack-Dunning-X", "2026-11-25T08:00:00Z")
    ]
    assert lambda_client.calls == [(DUNNING_ARN, "Event", scheduled)]  # its own input, async
    assert len(reminder_emails(billomat)) == 1  # the run for that day did its work
    schedules = {row["schedule"]: row for row in admin("GET", "/admin/status")[1]["schedules"]}
    assert (schedules["dunning"]["outcome"], schedules["dunning"]["business_day"]) == (
        "finished",
        "2026-11-25",
    )
    assert admin("GET", "/admin/status")[1]["failures"] == []  # consumed once re-run
    again = admin("POST", "/admin/dead-letters/scheduled/redrive")[1]
    assert (again["moved"], again["rerun"], again["skipped"]) == (0, [], [])
    assert len(lambda_client.calls) == 1


def test_a_scheduler_dead_letter_is_re_run_with_its_input(
    failures_queue: tuple[str, InProcessLambda], billomat: Billomat
) -> None:
    url, lambda_client = failures_queue
    scheduled = {"schedule": "recurring", "now": "2026-11-01T06:00:00+01:00"}
    boto3.client("sqs", region_name=REGION).send_message(
        QueueUrl=url,
        MessageBody=json.dumps(scheduled),
        MessageAttributes={
            "ERROR_CODE": {"DataType": "String", "StringValue": "AWS.Lambda.TooManyRequests"},
            "TARGET_ARN": {"DataType": "String", "StringValue": RECURRING_ARN},
        },
    )
    answer = admin("POST", "/admin/dead-letters/scheduled/redrive")[1]
    assert answer["moved"] == 1
    assert lambda_client.calls == [(RECURRING_ARN, "Event", scheduled)]


def test_records_that_cannot_be_re_run_stay_and_say_why(
    failures_queue: tuple[str, InProcessLambda],
) -> None:
    url, lambda_client = failures_queue
    sqs = boto3.client("sqs", region_name=REGION)
    foreign = "arn:aws:lambda:eu-central-1:123456789012:function:somebody-else"
    sqs.send_message(QueueUrl=url, MessageBody=on_failure_record(foreign, {"x": 1}))
    sqs.send_message(QueueUrl=url, MessageBody="not json")
    no_input = json.loads(on_failure_record(DUNNING_ARN, {}))
    del no_input["requestPayload"]
    sqs.send_message(QueueUrl=url, MessageBody=json.dumps(no_input))

    status, answer = admin("POST", "/admin/dead-letters/scheduled/redrive")

    assert status == 200
    assert (answer["moved"], answer["rerun"]) == (0, [])
    reasons = sorted(row["reason"] for row in answer["skipped"])
    assert reasons == [
        "somebody-else is not a scheduled function of this stack",
        "the on-failure record carries no invocation input (requestPayload)",
        "the record is not JSON",
    ]
    assert lambda_client.calls == []  # nothing outside the stack is ever invoked
    assert len(admin("GET", "/admin/status")[1]["failures"]) == 3  # all kept, visible again


def test_without_a_failures_queue_the_re_run_is_404(stack: Stack) -> None:
    status, answer = admin("POST", "/admin/dead-letters/scheduled/redrive")
    assert status == 404
    assert "SCHEDULED_FAILURES_QUEUE_URL" in answer["message"]


def test_unknown_admin_route_is_json_404(stack: Stack) -> None:
    assert admin("GET", "/admin/nothing") == (
        404,
        {"error": "not_found", "message": "No such admin route."},
    )


# -- local mode -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def server() -> Any:
    running = start_server()
    yield running
    stop_server(running)


def test_local_mode_serves_the_admin_routes(server: RunningServer) -> None:
    with httpx.Client(base_url=server.base_url, timeout=10) as http:
        review = http.get("/admin/review")
        assert (review.status_code, review.json()) == (200, {"items": []})
        assert http.post("/admin/review/fints:none", json={"action": "dismiss"}).status_code == 404
        letters = http.get("/admin/dead-letters").json()
        assert {q["queue"] for q in letters["queues"]} == {
            "orders",
            "deals",
            "bank",
            "products",
            "refunds",
        }
        assert http.post("/admin/dead-letters/orders/redrive").json() == {
            "queue": "orders",
            "moved": 0,
        }
        status = http.get("/admin/status").json()
        assert {row["queue"] for row in status["queues"]} == {q["queue"] for q in letters["queues"]}
        assert http.get("/local/review").status_code == 200
