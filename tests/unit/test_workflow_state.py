"""Workflow checkpoints and claims against a moto table built from template.yaml."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import boto3
import pytest
from moto import mock_aws

from autopilot.workflow_state import WorkflowStore
from local.template_schema import load_template, table_definition


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_750_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def store(clock: FakeClock) -> Iterator[WorkflowStore]:
    with mock_aws():
        client = boto3.client("dynamodb", region_name="eu-central-1")
        client.create_table(
            TableName="workflow", **table_definition(load_template(), "WorkflowTable")
        )
        yield WorkflowStore("workflow", client, now=clock)


def test_update_merges_attributes_and_keeps_decimals(store: WorkflowStore) -> None:
    store.update("order#1", "state", {"invoice_id": 7, "total": Decimal("123.89")})
    item = store.update("order#1", "state", {"completed": True})
    assert item["invoice_id"] == 7
    assert item["total"] == Decimal("123.89")
    assert item["completed"] is True
    assert store.get("order#1", "state") == item


def test_missing_item_is_none(store: WorkflowStore) -> None:
    assert store.get("order#nope", "state") is None


def test_claim_is_exclusive_until_stale(store: WorkflowStore, clock: FakeClock) -> None:
    first = store.claim("client#a@example.de", "claim", owner="order-1", stale_after_seconds=60)
    assert first.acquired
    second = store.claim("client#a@example.de", "claim", owner="order-2", stale_after_seconds=60)
    assert not second.acquired
    assert second.item["owner"] == "order-1"
    again = store.claim("client#a@example.de", "claim", owner="order-1", stale_after_seconds=60)
    assert again.acquired  # the same owner may retry its own claim
    clock.now += 61
    taken_over = store.claim(
        "client#a@example.de", "claim", owner="order-2", stale_after_seconds=60
    )
    assert taken_over.acquired


def test_claim_with_a_result_is_never_taken_over(store: WorkflowStore, clock: FakeClock) -> None:
    store.claim("client#b", "claim", owner="order-1", stale_after_seconds=60)
    store.update("client#b", "claim", {"result": 42})
    clock.now += 3600
    claim = store.claim("client#b", "claim", owner="order-2", stale_after_seconds=60)
    assert not claim.acquired
    assert claim.item["result"] == 42


def test_query_by_prefix_pages_through_everything(store: WorkflowStore) -> None:
    for n in range(30):
        store.put("review", f"item#{n:03d}", {"reason": "no match"}, ttl_days=30)
    store.put("review", "other", {"reason": "x"})
    items = store.query("review", sk_prefix="item#")
    assert len(items) == 30
    assert all(item["expires_at"] > item["updated_at"] for item in items)
