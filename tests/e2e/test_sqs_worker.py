"""The shared SQS worker skeleton, through a small workflow of its own (moto, sandbox)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, ClassVar

import pytest

from autopilot.billomat import BillomatRateLimitedError
from autopilot.messages import BankTransactionMessage, ShopOrderMessage
from autopilot.sqs_worker import SqsWorker, WorkerConfig, Workflow
from local.lambda_events import LocalLambdaContext

from .conftest import Billomat, Stack

ORDER = {
    "source": "shopify",
    "shop": "demo-shop.myshopify.com",
    "order_id": "1",
    "order_number": "#1001",
    "currency": "EUR",
    "prices_include_tax": True,
    "is_paid": True,
    "status": "paid",
    "ordered_on": "2026-11-02",
    "customer": {"email": "erika@example.de"},
    "lines": [],
    "total": "0.00",
    "total_tax": "0.00",
}


class Recording(Workflow[ShopOrderMessage]):
    """Counts calls; fails as told."""

    runs: ClassVar[list[str]] = []
    noted: ClassVar[list[str]] = []
    finished: ClassVar[int] = 0
    fail: ClassVar[Exception | None] = None

    def handle(self, message: ShopOrderMessage) -> dict[str, Any]:
        Recording.runs.append(message.order.order_id)
        if Recording.fail is not None:
            raise Recording.fail
        return {"reference": message.order.reference, "status": "done"}

    def note_outcome(self, outcome: Mapping[str, Any]) -> None:
        Recording.noted.append(str(outcome["status"]))

    def finish_batch(self) -> None:
        Recording.finished += 1


@pytest.fixture
def worker(stack: Stack, billomat: Billomat) -> SqsWorker[ShopOrderMessage]:
    Recording.runs, Recording.noted, Recording.finished, Recording.fail = [], [], 0, None
    return SqsWorker(
        WorkerConfig(
            service="test_worker",
            metric_prefix="tests",
            message_model=lambda: ShopOrderMessage,
            queue_url=lambda: stack.aws.queue_urls["orders"],
            idempotency_table=lambda: stack.environment["IDEMPOTENCY_TABLE"],
            idempotency_key="[source, shop, order_id]",
            payload=lambda message: message.order.model_dump(mode="json"),
            idempotency_name="tests.worker",
            outcome_metrics=lambda outcome: {f"tests_{outcome['status']}": 1.0},
        ),
        Recording,
    )


def event(*bodies: str) -> dict[str, Any]:
    return {
        "Records": [
            {
                "messageId": f"m{index}",
                "receiptHandle": f"r{index}",
                "body": body,
                "attributes": {"ApproximateReceiveCount": "1"},
                "eventSource": "aws:sqs",
            }
            for index, body in enumerate(bodies)
        ]
    }


def order_body(order_id: str = "1") -> str:
    return json.dumps(
        {"kind": "shop_order", "topic": "orders/paid", "order": {**ORDER, "order_id": order_id}}
    )


def run(worker: SqsWorker[ShopOrderMessage], *bodies: str) -> list[str]:
    result = worker.lambda_handler(event(*bodies), LocalLambdaContext(function_name="test_worker"))
    return [item["itemIdentifier"] for item in result["batchItemFailures"]]


def test_each_typed_message_runs_once_and_the_batch_is_finished_once(
    worker: SqsWorker[ShopOrderMessage],
) -> None:
    assert run(worker, order_body("1"), order_body("2")) == []
    assert (Recording.runs, Recording.noted, Recording.finished) == (
        ["1", "2"],
        ["done", "done"],
        1,
    )


def test_a_redelivered_message_is_replayed_from_its_idempotency_record(
    worker: SqsWorker[ShopOrderMessage],
) -> None:
    assert run(worker, order_body("1")) == []
    assert run(worker, order_body("1")) == []
    assert Recording.runs == ["1"]
    assert Recording.noted == ["done", "done"]  # the replayed outcome is noted too


@pytest.mark.parametrize(
    "body",
    [
        "not json",
        json.dumps({"kind": "bank_transaction", "transaction": {}}),
        json.dumps({"kind": "shop_order", "order": {**ORDER, "total": "NaN"}}),
        json.dumps({"kind": "shop_order", "order": ORDER, "surprise": 1}),
    ],
    ids=["not_json", "other_queues_kind", "bad_order", "unknown_key"],
)
def test_a_body_that_is_not_this_queues_message_fails_only_its_record(
    worker: SqsWorker[ShopOrderMessage],
    body: str,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    assert run(worker, body, order_body("2")) == ["m0"]
    assert Recording.runs == ["2"]
    assert "message failed; SQS will retry it" in caplog.text
    assert '"tests_failed":[1.0]' in capsys.readouterr().out


def test_a_spent_rate_limit_puts_the_message_back_with_a_delay_instead_of_failing(
    worker: SqsWorker[ShopOrderMessage],
) -> None:
    Recording.fail = BillomatRateLimitedError("quota used up", retry_after=120)
    sent: list[tuple[str, int]] = []
    worker.delayed_retry.send = lambda body, delay, _ref: sent.append((body, delay))  # type: ignore[method-assign,assignment]
    assert run(worker, order_body("1")) == []
    [(body, delay)] = sent
    requeued = ShopOrderMessage.model_validate_json(body)  # the copy is still a valid message
    assert (requeued.order.order_id, delay) == ("1", 120)
    assert requeued.retry is not None
    assert requeued.retry["attempts"] == 1


def test_any_other_error_fails_the_record_for_sqs_to_retry(
    worker: SqsWorker[ShopOrderMessage],
) -> None:
    Recording.fail = RuntimeError("bug")
    assert run(worker, order_body("1")) == ["m0"]
    Recording.fail = None
    assert run(worker, order_body("1")) == []  # a failed run left no idempotency record
    assert Recording.runs == ["1", "1"]


def test_the_bank_message_keeps_its_origin_and_old_retry_counts_parse() -> None:
    message = {
        "kind": "bank_transaction",
        "origin": "camt053/Auszug.xml",
        "delayed_attempts": 2,
        "transaction": {
            "schema": "bank-transaction/v1",
            "source": "camt053",
            "transaction_id": "t1",
            "status": "booked",
            "direction": "credit",
            "amount": "10.00",
            "currency": "EUR",
            "booking_date": "2026-11-25",
        },
    }
    parsed = BankTransactionMessage.model_validate(message)
    assert parsed.as_body()["origin"] == "camt053/Auszug.xml"
    assert parsed.correlation_id == "camt053:t1"


def test_an_outcome_whose_keys_the_log_record_owns_is_logged_at_info_not_failed(
    worker: SqsWorker[ShopOrderMessage], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``created`` or ``name`` as an ``extra`` key makes logging raise KeyError; the record
    must not fail after its work was done (found by make run: INFO is the deployed level)."""
    worker.logger.setLevel("INFO")
    monkeypatch.setattr(
        Recording,
        "handle",
        lambda self, message: {"status": "done", "created": 2, "name": "x", "message": "y"},
    )
    assert run(worker, order_body("1")) == []
