"""Hostile input at the operator API's two POST routes: ``POST /admin/review/{id}`` and
``POST /admin/dead-letters/{queue}/redrive`` (incl. ``scheduled``).

(a) malformed bodies (wrong type, missing field, extra nesting, not JSON), (b) hostile headers
and path parameters (content type, oversized or garbled ids and queue names, injection
characters), (c) boundary numbers (an invoice "number" that is a number, NaN, 1e309; the
transfer's amount at and one cent beyond the invoice's open amount). A refusal is a 4xx naming
the field, never a 5xx, and writes nothing: no Billomat request that changes anything, the
workflow table as it was, no message moved or re-run.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import boto3
import pytest

from local.lambda_events import LocalLambdaContext, http_api_event

from .conftest import Billomat, Stack
from .test_admin_api import (
    DUNNING_ARN,
    InProcessLambda,
    admin,
    dead_letter,
    on_failure_record,
    review_transfer,
)
from .test_admin_api import failures_queue as failures_queue  # the fixture
from .test_bank_payment import Bank
from .test_bank_payment import bank as bank  # the fixture

REGION = "eu-central-1"


def raw_admin(
    path: str, body: bytes, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, Any]]:
    """A POST with these exact bytes and headers through the admin handler."""
    from admin.app import lambda_handler

    sent = {"content-type": "application/json"} if headers is None else headers
    response = lambda_handler(
        http_api_event("POST", path, sent, body), LocalLambdaContext(function_name="admin")
    )
    return int(response["statusCode"]), json.loads(response.get("body") or "{}")


def workflow_table(stack: Stack) -> list[dict[str, Any]]:
    dynamodb = boto3.client("dynamodb", region_name=REGION)
    items = dynamodb.scan(TableName=stack.environment["WORKFLOW_TABLE"])["Items"]
    return sorted(items, key=lambda item: json.dumps(item, sort_keys=True))


def billomat_writes(billomat: Billomat) -> int:
    return sum(1 for request in billomat.sandbox.requests if request.method != "GET")


def each_case(cases: list[Any], check: Callable[..., None]) -> None:
    """``check(*case)`` for every case; every failing case is reported, a 5xx fails at once."""
    failures = []
    for case in cases:
        try:
            check(*case)
        except AssertionError as failure:
            failures.append(f"{case[0]!r}: {str(failure)[:300]}")
    assert failures == [], "\n".join(failures)


class Refusals:
    """Checks that a review request is refused and leaves the item, the table and Billomat
    as they were."""

    def __init__(self, bank: Bank, item_id: str) -> None:
        self.bank = bank
        self.item_id = item_id
        self.table = workflow_table(bank.stack)
        self.writes = billomat_writes(bank.billomat)

    def check(
        self, result: tuple[int, dict[str, Any]], status: int, words: tuple[str, ...] = ()
    ) -> None:
        code, answer = result
        assert code == status, answer
        assert answer.get("error"), answer
        assert answer.get("message"), answer
        for word in words:
            assert word in answer["message"], answer
        assert workflow_table(self.bank.stack) == self.table, "the workflow table changed"
        assert billomat_writes(self.bank.billomat) == self.writes, "Billomat was written to"
        assert self.bank.payments() == []

    def open_still(self) -> None:
        [item] = admin("GET", "/admin/review")[1]["items"]
        assert item["id"] == self.item_id


# -- POST /admin/review/{id}: (a) malformed bodies ----------------------------------------------

MALFORMED_REVIEW: list[tuple[str, Any, tuple[str, ...]]] = [
    ("a list", [{"action": "dismiss"}], ("JSON object",)),
    ("a string", "dismiss", ("JSON object",)),
    ("no body at all", None, ("action",)),
    ("a number", 1, ("JSON object",)),
    ("no action", {"invoice": "RE1047"}, ("action",)),
    ("action as a list", {"action": ["book"], "invoice": "RE1047"}, ("action",)),
    ("action as an object", {"action": {"action": "book"}, "invoice": "RE1047"}, ("action",)),
    ("action in upper case", {"action": "BOOK", "invoice": "RE1047"}, ("action",)),
    ("action with a space", {"action": "book ", "invoice": "RE1047"}, ("action",)),
    ("the body nested in a key", {"body": {"action": "book", "invoice": "RE1047"}}, ("action",)),
    ("book without an invoice", {"action": "book"}, ("invoice",)),
    ("invoice null", {"action": "book", "invoice": None}, ("invoice",)),
    ("invoice empty", {"action": "book", "invoice": ""}, ("invoice",)),
    ("invoice blank", {"action": "book", "invoice": " \t\n"}, ("invoice",)),
    ("invoice as a list", {"action": "book", "invoice": ["RE1047"]}, ("invoice",)),
    ("invoice as an object", {"action": "book", "invoice": {"number": "RE1047"}}, ("invoice",)),
    ("invoice true", {"action": "book", "invoice": True}, ("invoice",)),
    ("reason as a list", {"action": "dismiss", "reason": ["x"]}, ("reason",)),
    ("reason as an object", {"action": "dismiss", "reason": {"text": "x"}}, ("reason",)),
    ("reason as a number", {"action": "dismiss", "reason": 5}, ("reason",)),
]


def test_malformed_review_bodies_are_400_naming_the_field_and_change_nothing(bank: Bank) -> None:
    item_id = review_transfer(bank, "hostile-1", "476.00")
    refusals = Refusals(bank, item_id)
    each_case(
        MALFORMED_REVIEW,
        lambda name, body, words: refusals.check(
            admin("POST", f"/admin/review/{item_id}", body), 400, words
        ),
    )
    refusals.open_still()


NOT_JSON: list[tuple[str, bytes]] = [
    ("truncated JSON", b'{"action": "book", "invoice": '),
    ("JSON null", b"null"),
    ("NUL bytes", b"\x00" * 64),
    ("a lone surrogate in the reason", b'{"action": "dismiss", "reason": "\\ud800"}'),
    ("a lone surrogate in the invoice", b'{"action": "book", "invoice": "RE\\udfff1047"}'),
]


def test_review_bodies_that_are_not_json_are_400_and_change_nothing(bank: Bank) -> None:
    """A lone surrogate in the reason was a 500 *after* the item had been dismissed (the
    answer could not be logged); now it is refused before anything is written."""
    item_id = review_transfer(bank, "hostile-2", "476.00")
    refusals = Refusals(bank, item_id)
    each_case(
        NOT_JSON,
        lambda name, body: refusals.check(raw_admin(f"/admin/review/{item_id}", body), 400),
    )
    refusals.open_still()


UNDECODABLE: list[tuple[str, bytes]] = [
    ("not UTF-8", b'{"action": "dismiss", "reason": "\xff\xfe"}'),
    ("UTF-16", '{"action": "dismiss"}'.encode("utf-16")),
    ("deeply nested", b"[" * 100_000 + b"]" * 100_000),
    ("an integer of 5,000 digits", b'{"action": "book", "invoice": ' + b"9" * 5000 + b"}"),
]


@pytest.mark.parametrize(("name", "body"), UNDECODABLE, ids=[n for n, _ in UNDECODABLE])
def test_review_bodies_that_cannot_be_decoded_are_400(bank: Bank, name: str, body: bytes) -> None:
    item_id = review_transfer(bank, "hostile-2b", "476.00")
    refusals = Refusals(bank, item_id)
    refusals.check(raw_admin(f"/admin/review/{item_id}", body), 400)


def test_a_hostile_invoice_number_is_400_and_books_nothing(bank: Bank) -> None:
    """Text that cannot be an invoice number (control characters, CR/LF meant for a header,
    a URL query, 100,000 characters) is refused or not found: never a Billomat write."""
    item_id = review_transfer(bank, "hostile-3", "476.00")
    refusals = Refusals(bank, item_id)
    numbers = [
        "RE1047\r\nX-Injected: 1",
        "RE1047&invoice_number=RE1049",
        "RE1047\x00",
        "RE" + "9" * 100_000,
        "../invoices/1",
        "RE1047%",
    ]
    each_case(
        [(n,) for n in numbers],
        lambda number: refusals.check(
            admin("POST", f"/admin/review/{item_id}", {"action": "book", "invoice": number}), 400
        ),
    )
    refusals.open_still()


def test_an_overlong_dismissal_reason_is_cut_not_refused(bank: Bank) -> None:
    item_id = review_transfer(bank, "hostile-4", "12.34")
    reason = "x" * 100_000
    status, answer = admin(
        "POST", f"/admin/review/{item_id}", {"action": "dismiss", "reason": reason}
    )
    assert (status, answer["status"]) == (200, "dismissed"), answer
    assert answer["resolution"]["reason"] == "x" * 500
    assert bank.payments() == []


# -- (b) hostile headers and path parameters ---------------------------------------------------


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/octet-stream", "", "application/json\r\nX: 1"]
)
def test_the_content_type_does_not_decide_how_the_body_is_read(
    bank: Bank, content_type: str
) -> None:
    """The body is JSON whatever the content type says (API Gateway base64-encodes a body it
    does not take for text; the handler decodes it): a dismissal goes through once."""
    item_id = review_transfer(bank, "hostile-5", "12.34")
    body = json.dumps({"action": "dismiss", "reason": "privat"}).encode()
    status, answer = raw_admin(f"/admin/review/{item_id}", body, {"content-type": content_type})
    assert (status, answer["status"]) == (200, "dismissed"), answer
    assert raw_admin(f"/admin/review/{item_id}", body, {"content-type": content_type})[0] == 409


def test_hostile_review_ids_are_404_and_change_nothing(bank: Bank) -> None:
    item_id = review_transfer(bank, "hostile-6", "476.00")
    refusals = Refusals(bank, item_id)
    ids = [
        "fints:" + "9" * 5000,  # beyond DynamoDB's key size
        "x" * 100_000,
        "fints%3Ahostile-6%00",
        "fints:hostile-6%0D%0AX-Injected:%201",
        "%ED%A0%80",  # a lone surrogate, percent-encoded
        "..%2F..%2Fadmin",
        "fints%3Ahostile-6%20",
        "%25",
    ]
    each_case(
        [(i,) for i in ids],
        lambda hostile: refusals.check(
            admin("POST", f"/admin/review/{hostile}", {"action": "dismiss"}), 404
        ),
    )
    refusals.open_still()


# -- (c) boundary numbers ----------------------------------------------------------------------

NUMBERS_AS_INVOICE: list[tuple[str, bytes]] = [
    ("an integer", b'{"action": "book", "invoice": 1047}'),
    ("zero", b'{"action": "book", "invoice": 0}'),
    ("negative", b'{"action": "book", "invoice": -1}'),
    ("1e309", b'{"action": "book", "invoice": 1e309}'),
    ("NaN", b'{"action": "book", "invoice": NaN}'),
    ("-Infinity", b'{"action": "book", "invoice": -Infinity}'),
    ("a 30-digit integer", b'{"action": "book", "invoice": ' + b"9" * 30 + b"}"),
    ("reason NaN", b'{"action": "dismiss", "reason": NaN}'),
    ("action 1e309", b'{"action": 1e309}'),
]


def test_numbers_where_text_belongs_are_400_naming_the_field(bank: Bank) -> None:
    item_id = review_transfer(bank, "hostile-7", "476.00")
    refusals = Refusals(bank, item_id)
    each_case(
        NUMBERS_AS_INVOICE,
        lambda name, body: refusals.check(raw_admin(f"/admin/review/{item_id}", body), 400),
    )
    refusals.open_still()


def test_a_transfer_one_cent_above_the_open_amount_is_400_and_books_nothing(bank: Bank) -> None:
    """RE1049 has 119.00 open (seed): 119.01 is refused naming the invoice and the amount."""
    item_id = review_transfer(bank, "hostile-8", "119.01")
    refusals = Refusals(bank, item_id)
    refusals.check(
        admin("POST", f"/admin/review/{item_id}", {"action": "book", "invoice": "RE1049"}),
        400,
        ("RE1049", "119.01"),
    )
    assert admin("POST", f"/admin/review/{item_id}", {"action": "book", "invoice": "RE1049"})[1][
        "error"
    ] == ("amount_exceeds_open")
    refusals.open_still()


def test_a_transfer_of_exactly_the_open_amount_is_booked_once(bank: Bank) -> None:
    from decimal import Decimal

    item_id = review_transfer(bank, "hostile-9", "119.00")
    body = {"action": "book", "invoice": "RE1049"}
    status, answer = admin("POST", f"/admin/review/{item_id}", body)
    assert (status, answer["status"]) == (200, "booked"), answer
    assert admin("POST", f"/admin/review/{item_id}", body)[0] == 409
    assert [(n, a) for n, a, _ in bank.payments()] == [("RE1049", Decimal("119.00"))]
    assert bank.payment_posts() == 1


# ==============================================================================================
# POST /admin/dead-letters/{queue}/redrive
# ==============================================================================================


def depths(stack: Stack) -> dict[str, tuple[int, int]]:
    sqs = boto3.client("sqs", region_name=REGION)

    def count(url: str) -> int:
        attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        return sum(
            int(attributes.get(name, 0))
            for name in ("ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible")
        )

    return {
        name: (count(stack.aws.queue_urls[name]), count(url))
        for name, url in stack.aws.dead_letter_queue_urls.items()
    }


HOSTILE_QUEUES = [
    "ORDERS",
    "orders%00",
    "orders%0D%0AX-Injected:%201",
    "orders%20",
    "..%2Forders",
    "o" * 100_000,
    "%ED%A0%80",
    "scheduled%2F..%2Forders",
    "Scheduled",
]


def test_hostile_queue_names_are_404_and_move_nothing(stack: Stack) -> None:
    dead_letter(stack, "orders", '{"kind": "shop_order"}')
    before = depths(stack)
    assert before["orders"] == (0, 1)

    def check(queue: str) -> None:
        status, answer = admin("POST", f"/admin/dead-letters/{queue}/redrive")
        assert (status, answer.get("error")) == (404, "not_found"), answer
        assert depths(stack) == before

    each_case([(q,) for q in HOSTILE_QUEUES], check)


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("application/json", b"[" * 100_000),
        ("application/json", b"\xff\xfe"),
        ("text/plain", b'{"queue": "bank"}'),
        ("application/json\r\nX-Injected: 1", b"{}"),
    ],
    ids=["deep JSON", "not UTF-8", "another queue in the body", "injected header"],
)
def test_a_redrive_ignores_any_body_and_moves_only_its_own_queue(
    stack: Stack, content_type: str, body: bytes
) -> None:
    dead_letter(stack, "orders", '{"kind": "shop_order"}')
    dead_letter(stack, "bank", '{"kind": "bank_transaction"}')
    status, answer = raw_admin(
        "/admin/dead-letters/orders/redrive", body, {"content-type": content_type}
    )
    assert (status, answer) == (200, {"queue": "orders", "moved": 1}), answer
    now = depths(stack)
    assert (now["orders"], now["bank"]) == ((1, 0), (0, 1))


HOSTILE_RECORDS: list[tuple[str, str, dict[str, Any] | None, str]] = [
    ("a JSON array", json.dumps([{"schedule": "dunning"}]), None, "not a JSON object"),
    ("a JSON string", json.dumps("dunning"), None, "not a JSON object"),
    ("NaN", "NaN", None, "not a JSON object"),
    ("1e309", "1e309", None, "not a JSON object"),
    (
        "requestPayload as a list",
        json.dumps({"requestContext": {"functionArn": DUNNING_ARN}, "requestPayload": [1]}),
        None,
        "requestPayload",
    ),
    (
        "requestPayload as a string",
        json.dumps({"requestContext": {"functionArn": DUNNING_ARN}, "requestPayload": "{}"}),
        None,
        "requestPayload",
    ),
    (
        "functionArn as a number",
        json.dumps({"requestContext": {"functionArn": 1e300}, "requestPayload": {}}),
        None,
        "not a scheduled function",
    ),
    (
        "functionArn as an object",
        json.dumps({"requestContext": {"functionArn": {"arn": DUNNING_ARN}}, "requestPayload": {}}),
        None,
        "not a scheduled function",
    ),
    (
        "requestContext as a list",
        json.dumps({"requestContext": [DUNNING_ARN], "requestPayload": {}}),
        None,
        "neither",
    ),
    (
        "a TARGET_ARN of another function",
        json.dumps({"schedule": "dunning"}),
        {"TARGET_ARN": {"DataType": "String", "StringValue": "arn:aws:lambda:x:1:function:evil"}},
        "not a scheduled function",
    ),
    (
        "a TARGET_ARN with CR/LF",
        json.dumps({"schedule": "dunning"}),
        {"TARGET_ARN": {"DataType": "String", "StringValue": "evil\r\nX: 1"}},
        "not a scheduled function",
    ),
]


def test_hostile_scheduled_failure_records_are_skipped_with_a_reason_and_never_invoked(
    failures_queue: tuple[str, InProcessLambda],
) -> None:
    url, lambda_client = failures_queue
    sqs = boto3.client("sqs", region_name=REGION)
    for _, body, attributes, _ in HOSTILE_RECORDS:
        sqs.send_message(
            QueueUrl=url,
            MessageBody=body,
            **({"MessageAttributes": attributes} if attributes else {}),
        )
    status, answer = admin("POST", "/admin/dead-letters/scheduled/redrive")
    assert status == 200, answer
    assert (answer["moved"], answer["rerun"]) == (0, [])
    reasons = [row["reason"] for row in answer["skipped"]]
    assert len(reasons) == len(HOSTILE_RECORDS)
    for name, _, _, words in HOSTILE_RECORDS:
        assert any(words in reason for reason in reasons), (name, reasons)
    assert lambda_client.calls == []
    assert len(admin("GET", "/admin/status")[1]["failures"]) == len(HOSTILE_RECORDS)


def test_a_deeply_nested_failure_record_is_skipped_not_a_500(
    failures_queue: tuple[str, InProcessLambda],
) -> None:
    url, lambda_client = failures_queue
    sqs = boto3.client("sqs", region_name=REGION)
    sqs.send_message(QueueUrl=url, MessageBody="[" * 100_000 + "]" * 100_000)
    status, answer = admin("POST", "/admin/dead-letters/scheduled/redrive")
    assert status == 200, answer
    assert answer["moved"] == 0
    assert lambda_client.calls == []


def test_scheduled_redrive_is_404_for_hostile_spellings_without_a_queue(stack: Stack) -> None:
    """Without SCHEDULED_FAILURES_QUEUE_URL every spelling is a 404, none a 5xx."""
    for queue in ("scheduled", "scheduled%00", "SCHEDULED"):
        status, answer = admin("POST", f"/admin/dead-letters/{queue}/redrive")
        assert (status, answer["error"]) == (404, "not_found"), (queue, answer)
    assert depths(stack) == {name: (0, 0) for name in stack.aws.dead_letter_queue_urls}


def test_an_on_failure_record_for_the_same_day_twice_is_re_run_twice_not_more(
    failures_queue: tuple[str, InProcessLambda], billomat: Billomat
) -> None:
    """Boundary of the batch: two records, both re-run and deleted, nothing left to re-run."""
    url, lambda_client = failures_queue
    sqs = boto3.client("sqs", region_name=REGION)
    scheduled = {"schedule": "dunning", "now": "2026-11-25T08:00:00Z"}
    for _ in range(2):
        sqs.send_message(QueueUrl=url, MessageBody=on_failure_record(DUNNING_ARN, scheduled))
    assert admin("POST", "/admin/dead-letters/scheduled/redrive")[1]["moved"] == 2
    assert admin("POST", "/admin/dead-letters/scheduled/redrive")[1]["moved"] == 0
    assert len(lambda_client.calls) == 2
