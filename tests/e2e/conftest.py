"""An in-process stack for end-to-end tests: moto resources built like local mode builds them."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pytest
from moto import mock_aws

from local.aws import LocalAws
from local.containers import clear_container_caches

if TYPE_CHECKING:
    from autopilot.billomat import BillomatClient
    from local.billomat_sandbox import BillomatSandbox
from local.dev_settings import (
    DEV_SHOPIFY_SHOP_DOMAIN,
    DEV_WEBHOOK_SECRETS,
    DEV_WOOCOMMERCE_SITE_URL,
)

WEBHOOK_SECRETS = {
    "shopify": DEV_WEBHOOK_SECRETS["SHOPIFY_WEBHOOK_SECRET"],
    "woocommerce": DEV_WEBHOOK_SECRETS["WOOCOMMERCE_WEBHOOK_SECRET"],
    "hubspot_client_secret": DEV_WEBHOOK_SECRETS["HUBSPOT_CLIENT_SECRET"],
    "bank": DEV_WEBHOOK_SECRETS["BANK_WEBHOOK_SECRET"],
    "qonto": "-",  # not in use: its requests must be refused
}


@dataclass
class Stack:
    aws: LocalAws
    environment: dict[str, str]


@pytest.fixture
def stack(monkeypatch: pytest.MonkeyPatch) -> Iterator[Stack]:
    with mock_aws():
        aws = LocalAws()
        environment = aws.create(
            billomat_secret={"api_key": "sandbox-dev-api-key", "app_id": "", "app_secret": ""},
            webhook_secrets=WEBHOOK_SECRETS,
            hubspot_token="dev-hubspot-access-token",
        )
        environment["PUBLIC_BASE_URL"] = "http://127.0.0.1:3000"
        environment["INVOICE_TRIGGER"] = "paid"
        environment["SHOPIFY_SHOP_DOMAIN"] = DEV_SHOPIFY_SHOP_DOMAIN
        environment["WOOCOMMERCE_SITE_URL"] = DEV_WOOCOMMERCE_SITE_URL
        for name, value in environment.items():
            monkeypatch.setenv(name, value)
        monkeypatch.delenv("BILLOMAT_ID", raising=False)
        clear_container_caches()
        yield Stack(aws, environment)
        clear_container_caches()


def queued_messages(stack: Stack, queue: str) -> list[str]:
    """Bodies of every message waiting in ``queue`` (received and made visible again)."""
    import boto3

    sqs = boto3.client("sqs", region_name="eu-central-1")
    url = stack.aws.queue_urls[queue]
    bodies = []
    while True:
        batch = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=30).get(
            "Messages", []
        )
        if not batch:
            break
        bodies.extend(m["Body"] for m in batch)
    return bodies


@pytest.fixture(autouse=True)
def _no_real_endpoints() -> None:
    assert "AWS_ENDPOINT_URL" not in os.environ


@dataclass
class Billomat:
    """The sandbox and the layer's client talking to it in-process (simulated clock)."""

    sandbox: BillomatSandbox
    client: BillomatClient


@pytest.fixture
def billomat(stack: Stack) -> Iterator[Billomat]:
    """An embedded Billomat sandbox that every function's ``billomat_client()`` talks to."""
    from autopilot.billomat_access import use_billomat_client
    from local.billomat_sandbox import DEV_API_KEY, BillomatSandbox, SandboxClock
    from local.sandbox_client import sandbox_client

    clock = SandboxClock(datetime(2026, 11, 25, 9, 0, tzinfo=UTC))
    sandbox = BillomatSandbox(api_key=DEV_API_KEY, clock=clock)
    client = sandbox_client(sandbox)
    use_billomat_client(client)
    try:
        yield Billomat(sandbox, client)
    finally:
        use_billomat_client(None)
        client.close()


@pytest.fixture
def atomic_aws_calls(monkeypatch: pytest.MonkeyPatch) -> None:
    """One AWS call at a time: DynamoDB's conditional writes are atomic, moto's are not
    when threads interleave inside one process."""
    import threading

    from botocore.client import BaseClient

    lock = threading.Lock()
    real_call = BaseClient._make_api_call

    def serialised(self, operation, params):  # type: ignore[no-untyped-def]
        with lock:
            return real_call(self, operation, params)

    monkeypatch.setattr(BaseClient, "_make_api_call", serialised)


# -- one SQS worker harness for the workflow tests (orders, deals, products, …) ----------------
def receive_from(stack: Stack, queue: str, max_messages: int = 10) -> list[dict[str, Any]]:
    """The messages visible in ``queue`` (a work queue's short name, or a URL), left visible."""
    import boto3

    return (
        boto3.client("sqs", region_name="eu-central-1")
        .receive_message(
            QueueUrl=stack.aws.queue_urls.get(queue, queue),
            MaxNumberOfMessages=max_messages,
            AttributeNames=["All"],
            VisibilityTimeout=0,
        )
        .get("Messages", [])
    )


def run_queue_worker(
    stack: Stack,
    queue: str,
    handler: Callable[[dict[str, Any], Any], dict[str, Any]],
    function_name: str,
    batch: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Deliver a batch to ``handler`` like the SQS event source; delete what succeeded."""
    import boto3

    from local.lambda_events import LocalLambdaContext, sqs_event

    batch = receive_from(stack, queue) if batch is None else batch
    if not batch:
        return {"batchItemFailures": []}
    event = sqs_event(stack.aws.queue_arns[queue], batch)
    result = handler(event, LocalLambdaContext(function_name=function_name))
    failed = {item["itemIdentifier"] for item in result["batchItemFailures"]}
    sqs = boto3.client("sqs", region_name="eu-central-1")
    for message in batch:
        if message["MessageId"] not in failed:
            sqs.delete_message(
                QueueUrl=stack.aws.queue_urls[queue], ReceiptHandle=message["ReceiptHandle"]
            )
    return result


def drain_queue(
    stack: Stack, queue: str, run: Callable[[], object], rounds: int, clock: Any = None
) -> None:
    """``run()`` the worker until ``queue`` is empty (delayed messages included); with a
    sandbox ``clock``, simulated time moves on 15 minutes between rounds, as the delay of a
    requeued message would let real time pass (a new rate-limit window)."""
    for _ in range(rounds):
        if not receive_from(stack, queue):
            return
        run()
        if clock is not None:
            clock.advance(900)
    assert not receive_from(stack, queue), "queue did not drain"


@pytest.fixture
def immediate_requeue(monkeypatch: pytest.MonkeyPatch) -> None:
    """Requeued messages come back at once in tests (SQS DelaySeconds=0); the retry policy
    (backoff, horizon) still decides."""
    import autopilot.delayed_retry

    def send_now(self, body, delay_seconds, correlation_id):  # type: ignore[no-untyped-def]
        self.client.send_message(QueueUrl=self.queue_url, MessageBody=body)

    monkeypatch.setattr(autopilot.delayed_retry.DelayedRetry, "send", send_now)


@pytest.fixture
def sandbox_retry_clock(request: pytest.FixtureRequest) -> Iterator[None]:
    """The retry horizon and outage age follow the Billomat sandbox's clock when there is one."""
    import autopilot.delayed_retry

    if "billomat" in request.fixturenames:
        billomat: Billomat = request.getfixturevalue("billomat")
        autopilot.delayed_retry.use_clock(billomat.sandbox.clock.epoch)
    yield
    autopilot.delayed_retry.use_clock(None)


@pytest.fixture
def accounting_inbox(stack: Stack) -> Callable[[], list[str]]:
    """Messages published to the accounting topic (an SQS queue subscribed to it)."""
    import json

    import boto3

    sqs = boto3.client("sqs", region_name="eu-central-1")
    sns = boto3.client("sns", region_name="eu-central-1")
    url = sqs.create_queue(QueueName="accounting-inbox")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    sns.subscribe(
        TopicArn=stack.environment["NOTIFICATIONS_TOPIC_ARN"], Protocol="sqs", Endpoint=arn
    )

    def read() -> list[str]:
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        return [json.loads(m["Body"])["Message"] for m in messages]

    return read
