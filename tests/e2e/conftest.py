"""An in-process stack for end-to-end tests: moto resources built like local mode builds them."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from moto import mock_aws

from local.aws import LocalAws
from local.dev_settings import DEV_WEBHOOK_SECRETS

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


def clear_container_caches() -> None:
    """Forget what a warm Lambda container would have cached (settings, secrets, clients)."""
    from aws_lambda_powertools.utilities import parameters

    parameters.clear_caches()
    from webhooks import deliveries

    deliveries.intake_settings.cache_clear()
    deliveries._aws_client.cache_clear()


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
