"""Local mode's queue worker delivers SQS batches like Lambda's event source mapping."""

from __future__ import annotations

import importlib
import os
import time
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

import local.aws
import local.server
from local.dev_settings import LocalSettings
from local.server import LocalSystem

ROOT = Path(__file__).resolve().parents[2]
WORKER = "tests.e2e.recording_worker:handler"


@pytest.fixture
def system(monkeypatch: pytest.MonkeyPatch) -> Iterator[LocalSystem]:
    saved = dict(os.environ)
    monkeypatch.setattr(local.server, "QUEUE_WORKERS", {"orders": WORKER})
    monkeypatch.setattr(local.aws, "LOCAL_VISIBILITY_TIMEOUT_SECONDS", 1)
    monkeypatch.setattr(local.aws, "MAX_RECEIVE_COUNT", 2)
    settings = LocalSettings.from_env({"BILLOMAT_BASE_URL": "http://127.0.0.1:9/api/"})
    running = LocalSystem(settings, str(ROOT))
    running.start(port=3999)
    importlib.import_module("tests.e2e.recording_worker").received.clear()
    try:
        yield running
    finally:
        running.stop()
        os.environ.clear()
        os.environ.update(saved)


def wait_until(condition, timeout: float = 8.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return False


def test_queued_message_reaches_the_worker_within_a_second(system: LocalSystem) -> None:
    received = importlib.import_module("tests.e2e.recording_worker").received
    sqs = boto3.client("sqs", region_name="eu-central-1")
    sent = time.monotonic()
    sqs.send_message(QueueUrl=system.aws.queue_urls["orders"], MessageBody='{"order": 1}')
    assert wait_until(lambda: received == ['{"order": 1}'])
    assert time.monotonic() - sent < 1.5
    assert wait_until(
        lambda: system.aws.queue_depths()["orders"] == {"visible": 0, "in_flight": 0, "delayed": 0}
    )


def test_failed_item_is_retried_then_lands_in_the_dead_letter_queue(system: LocalSystem) -> None:
    received = importlib.import_module("tests.e2e.recording_worker").received
    sqs = boto3.client("sqs", region_name="eu-central-1")
    sqs.send_message(QueueUrl=system.aws.queue_urls["orders"], MessageBody="please fail")
    sqs.send_message(QueueUrl=system.aws.queue_urls["orders"], MessageBody="fine")
    assert wait_until(lambda: system.aws.queue_depths()["orders-dlq"]["visible"] == 1, timeout=12)
    assert received.count("please fail") == 2  # maxReceiveCount deliveries, then the DLQ
    assert received.count("fine") == 1
