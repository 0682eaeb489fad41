"""What functions leave for ``GET /admin/status``: schedule runs and the Billomat quota seen."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from aws_lambda_powertools import Metrics
from moto import mock_aws

from autopilot.billomat.rate_limit import RateLimitState
from autopilot.business_time import BERLIN
from autopilot.operations_record import (
    RATE_LIMITED_METRIC,
    RATE_PK,
    SUMMARY_MAX_CHARS,
    operations_status,
    record_schedule_run,
    report_billomat_quota,
)
from autopilot.workflow_state import WorkflowStore
from local.template_schema import load_template, table_definition

MOMENT = dt.datetime(2026, 11, 25, 9, 0, tzinfo=BERLIN)


@pytest.fixture
def store() -> Iterator[WorkflowStore]:
    with mock_aws():
        client = boto3.client("dynamodb", region_name="eu-central-1")
        client.create_table(
            TableName="workflow", **table_definition(load_template(), "WorkflowTable")
        )
        yield WorkflowStore("workflow", client)


class Client:
    """What report_billomat_quota reads of the Billomat client."""

    def __init__(self) -> None:
        self.rate_limit = RateLimitState()

    def respond(self, remaining: int, reset: float, at: float) -> None:
        self.rate_limit.update(
            {"X-Rate-Limit-Remaining": str(remaining), "X-Rate-Limit-Reset": str(int(reset))},
            seen_at=at,
        )


class CountingStore(WorkflowStore):
    def __init__(self, inner: WorkflowStore) -> None:
        super().__init__(inner.table_name, inner.client)
        self.writes = 0

    def put_if_newer(self, pk: str, sk: str, attributes: Any, order: str) -> bool:
        self.writes += 1
        return super().put_if_newer(pk, sk, attributes, order)


@pytest.fixture(autouse=True)
def _no_metrics_left_over() -> Iterator[None]:
    Metrics().clear_metrics()  # Powertools' Metrics instances share one metric set
    yield
    Metrics().clear_metrics()


def metric_values(metrics: Metrics) -> dict[str, Any]:
    return {name: list(entry["Value"]) for name, entry in metrics.metric_set.items()}


# -- put_if_newer ------------------------------------------------------------------------------


def test_an_older_record_never_replaces_a_newer_one(store: WorkflowStore) -> None:
    assert store.put_if_newer("p", "s", {"at": 200, "who": "newer"}, order="at")
    assert not store.put_if_newer("p", "s", {"at": 100, "who": "older"}, order="at")
    assert not store.put_if_newer("p", "s", {"at": 200, "who": "same time"}, order="at")
    assert store.get("p", "s")["who"] == "newer"  # type: ignore[index]
    assert store.put_if_newer("p", "s", {"at": 300, "who": "newest"}, order="at")
    assert store.get("p", "s")["who"] == "newest"  # type: ignore[index]


# -- schedule runs -----------------------------------------------------------------------------


def test_each_schedule_is_listed_and_a_never_run_one_says_so(store: WorkflowStore) -> None:
    record_schedule_run(
        store,
        "dunning",
        moment=MOMENT,
        request_id="r1",
        started_at=1_000.0,
        outcome="finished",
        counts={"reminders_sent": 2},
        summary={"reminders_sent": 2, "attention": []},
        now=lambda: 1_012.5,
    )
    rows = {row["schedule"]: row for row in operations_status(store, now=1_100.0)["schedules"]}
    assert list(rows) == ["dunning", "recurring", "reporting"]
    dunning = rows["dunning"]
    assert dunning["outcome"] == "finished"
    assert (dunning["business_day"], dunning["seconds"], dunning["age_seconds"]) == (
        "2026-11-25",
        12.5,
        87,
    )
    assert dunning["counts"] == {"reminders_sent": 2}
    assert dunning["summary"] == {"reminders_sent": 2, "attention": []}
    json.dumps(dunning)  # plain JSON for the API
    assert rows["recurring"]["outcome"] is None
    assert rows["reporting"]["counts"] == {}


def test_a_summary_too_long_to_keep_is_kept_as_its_counts(store: WorkflowStore) -> None:
    huge = {"attention": ["x" * 100] * (SUMMARY_MAX_CHARS // 50)}
    record_schedule_run(
        store,
        "recurring",
        moment=MOMENT,
        request_id="r",
        started_at=1.0,
        outcome="finished",
        counts={"invoices_sent": 1},
        summary=huge,
    )
    [row] = [
        r for r in operations_status(store, now=2.0)["schedules"] if r["schedule"] == "recurring"
    ]
    assert (row["summary"], row["summary_omitted"], row["counts"]) == (
        None,
        True,
        {"invoices_sent": 1},
    )


def test_a_late_record_of_an_earlier_run_does_not_replace_the_later_run(
    store: WorkflowStore,
) -> None:
    for request_id, started in (("later", 2_000.0), ("earlier", 1_000.0)):
        record_schedule_run(
            store,
            "dunning",
            moment=MOMENT,
            request_id=request_id,
            started_at=started,
            outcome="finished",
        )
    assert store.get("schedule#dunning", "last_run")["request_id"] == "later"  # type: ignore[index]


def test_a_failing_store_is_logged_and_never_fails_the_run(
    store: WorkflowStore, caplog: pytest.LogCaptureFixture
) -> None:
    broken = WorkflowStore("no-such-table", store.client)
    record_schedule_run(
        broken, "dunning", moment=MOMENT, request_id="r", started_at=1.0, outcome="failed"
    )
    assert "could not record the dunning run" in caplog.text


# -- the Billomat quota ------------------------------------------------------------------------


def test_the_newest_quota_seen_is_kept_and_each_429_counted_once(store: WorkflowStore) -> None:
    client, counting = Client(), CountingStore(store)
    metrics = Metrics(namespace="Test", service="order_invoice")
    assert operations_status(store, now=0.0)["billomat_rate"] == {}

    client.respond(remaining=287, reset=1_800.0, at=1_000.0)
    report_billomat_quota(client, counting, metrics, "order_invoice")  # type: ignore[arg-type]
    assert counting.writes == 1
    report_billomat_quota(client, counting, metrics, "order_invoice")  # type: ignore[arg-type]
    assert counting.writes == 1  # nothing new seen: no write
    assert RATE_LIMITED_METRIC not in metric_values(metrics)

    client.respond(remaining=0, reset=1_800.0, at=1_100.0)
    client.rate_limit.refused(at=1_101.0)
    client.rate_limit.refused(at=1_102.0)
    report_billomat_quota(client, counting, metrics, "order_invoice")  # type: ignore[arg-type]
    assert metric_values(metrics)[RATE_LIMITED_METRIC] == [2.0]
    assert counting.writes == 3  # the quota and the last 429

    quota = operations_status(store, now=1_200.0)["billomat_rate"]
    assert quota == {
        "remaining": 0,
        "limit": 288,  # the largest quota seen: remaining + our own request
        "reset": 1_800.0,
        "reset_in_seconds": 600,
        "seen_at": 1_100.0,
        "age_seconds": 100,
        "function": "order_invoice",
        "last_429_at": 1_102.0,
        "last_429_function": "order_invoice",
    }


def test_an_older_observation_from_another_container_does_not_win(store: WorkflowStore) -> None:
    metrics = Metrics(namespace="Test", service="x")
    newer, older = Client(), Client()
    newer.respond(remaining=100, reset=1_800.0, at=1_500.0)
    older.respond(remaining=250, reset=1_800.0, at=1_200.0)
    report_billomat_quota(newer, store, metrics, "bank_payment")  # type: ignore[arg-type]
    report_billomat_quota(older, store, metrics, "dunning")  # type: ignore[arg-type]
    quota = operations_status(store, now=1_600.0)["billomat_rate"]
    assert (quota["remaining"], quota["function"], quota["last_429_at"]) == (
        100,
        "bank_payment",
        None,
    )


def test_without_a_table_only_the_metric_is_emitted() -> None:
    client = Client()
    client.respond(remaining=0, reset=1_800.0, at=1_000.0)
    client.rate_limit.refused(at=1_000.0)
    metrics = Metrics(namespace="Test", service="x")
    report_billomat_quota(client, None, metrics, "x")  # type: ignore[arg-type]
    assert metric_values(metrics)[RATE_LIMITED_METRIC] == [1.0]


def test_the_quota_lives_under_its_own_key(store: WorkflowStore) -> None:
    client = Client()
    client.respond(remaining=5, reset=1_800.0, at=1_000.0)
    report_billomat_quota(client, store, Metrics(namespace="T", service="x"), "x")  # type: ignore[arg-type]
    assert [item["sk"] for item in store.query(RATE_PK)] == ["last"]
