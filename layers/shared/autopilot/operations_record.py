"""What the functions leave in the workflow table for ``GET /admin/status``.

- **The last run of each schedule** (``schedule#<name>`` / ``last_run``): written by
  :func:`autopilot.scheduled_run.scheduled_handler` when a run finishes, stops early or fails;
  a run skipped because another held the lock writes nothing.
- **The last Billomat quota seen** (``billomat#rate`` / ``last``): the rate-limit headers of the
  newest Billomat response any function saw, written once per invocation that talked to
  Billomat (:func:`report_billomat_quota`), never replaced by an older observation; the last
  429 has its own item (``billomat#rate`` / ``last_429``). The same call counts the
  invocation's 429s as the metric ``billomat_rate_limited``.

Both are informational: failing to write them is logged and never fails the work.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import time
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from aws_lambda_powertools import Metrics

    from autopilot.billomat import BillomatClient
    from autopilot.workflow_state import WorkflowStore

log = logging.getLogger(__name__)

SCHEDULES = ("dunning", "recurring", "reporting")
"""The scheduled functions' run names, in the order the status lists them."""

LAST_RUN_SORT_KEY = "last_run"
RATE_PK = "billomat#rate"
RATE_SORT_KEY = "last"
RATE_LIMITED_SORT_KEY = "last_429"
RATE_LIMITED_METRIC = "billomat_rate_limited"

SUMMARY_MAX_CHARS = 16_000
"""A run's summary longer than this (as JSON) is kept as its counts only."""
ERROR_MAX_CHARS = 1_000


def status_store() -> WorkflowStore | None:
    """The container's store of the workflow table (``WORKFLOW_TABLE``); None without one."""
    from autopilot.workflow_state import workflow_store_for

    table = os.environ.get("WORKFLOW_TABLE")
    return workflow_store_for(table) if table else None


def schedule_key(name: str) -> str:
    """The workflow-table ``pk`` of schedule ``name``'s records (its lock shares it)."""
    return f"schedule#{name}"


def record_schedule_run(
    store: WorkflowStore,
    name: str,
    *,
    moment: dt.datetime,
    request_id: str,
    started_at: float,
    outcome: str,
    counts: Mapping[str, int] | None = None,
    summary: Mapping[str, Any] | None = None,
    error: str | None = None,
    now: Callable[[], float] = time.time,
) -> None:
    """Keep this run as schedule ``name``'s last run (``outcome``: finished, incomplete or
    failed), unless a run that started later has already recorded itself."""
    text = json.dumps(summary, default=str, ensure_ascii=False) if summary is not None else None
    record: dict[str, Any] = {
        "schedule": name,
        "outcome": outcome,
        "moment": moment.isoformat(),
        "business_day": moment.date().isoformat(),
        "request_id": request_id,
        "started_at": Decimal(str(round(started_at, 3))),
        "finished_at": Decimal(str(round(now(), 3))),
        "counts": dict(counts or {}),
        "summary": text if text is not None and len(text) <= SUMMARY_MAX_CHARS else None,
        "summary_omitted": text is not None and len(text) > SUMMARY_MAX_CHARS,
        "error": error[:ERROR_MAX_CHARS] if error else None,
    }
    try:
        store.put_if_newer(schedule_key(name), LAST_RUN_SORT_KEY, record, order="started_at")
    except Exception:  # the status is informational: never fail the run for it
        log.warning("could not record the %s run for the status", name, exc_info=True)


def operations_status(store: WorkflowStore, now: float) -> dict[str, Any]:
    """``schedules`` and ``billomat_rate`` of ``GET /admin/status``, read in one request."""
    found = store.get_many(
        [
            *((schedule_key(name), LAST_RUN_SORT_KEY) for name in SCHEDULES),
            (RATE_PK, RATE_SORT_KEY),
            (RATE_PK, RATE_LIMITED_SORT_KEY),
        ]
    )
    return {"schedules": _last_schedule_runs(found, now), "billomat_rate": _last_quota(found, now)}


Found = Mapping[tuple[str, str], Mapping[str, Any]]


def _last_schedule_runs(found: Found, now: float) -> list[dict[str, Any]]:
    """Each schedule's last run (never run: outcome None)."""
    rows = []
    for name in SCHEDULES:
        item = found.get((schedule_key(name), LAST_RUN_SORT_KEY)) or {}
        finished = _number(item.get("finished_at"))
        started = _number(item.get("started_at"))
        summary = item.get("summary")
        rows.append(
            {
                "schedule": name,
                "outcome": item.get("outcome"),
                "moment": item.get("moment"),
                "business_day": item.get("business_day"),
                "started_at": started,
                "finished_at": finished,
                "seconds": round(finished - started, 3) if finished and started else None,
                "age_seconds": int(now - finished) if finished else None,
                "counts": {key: int(value) for key, value in (item.get("counts") or {}).items()},
                "summary": json.loads(summary) if summary else None,
                "summary_omitted": bool(item.get("summary_omitted")),
                "error": item.get("error"),
            }
        )
    return rows


def report_billomat_quota(
    client: BillomatClient, store: WorkflowStore | None, metrics: Metrics, function: str
) -> None:
    """After an invocation: count its new 429s as a metric and keep the newest quota seen.

    Writes only when the client saw a response since its last report (at most one write, two
    after a 429, per invocation).
    """
    from aws_lambda_powertools.metrics import MetricUnit

    state = client.rate_limit
    refused = state.rate_limited - state.reported_rate_limited
    if refused > 0:
        metrics.add_metric(name=RATE_LIMITED_METRIC, unit=MetricUnit.Count, value=refused)
    seen_before = state.reported_seen_at
    state.reported_seen_at, state.reported_rate_limited = state.seen_at, state.rate_limited
    if store is None:
        return
    try:
        if state.seen_at is not None and state.seen_at != seen_before:
            store.put_if_newer(
                RATE_PK,
                RATE_SORT_KEY,
                {
                    "remaining": state.remaining,
                    "reset": _decimal(state.reset),
                    "limit": state.limit or None,
                    "seen_at": _decimal(state.seen_at),
                    "function": function,
                },
                order="seen_at",
            )
        if refused > 0 and state.rate_limited_at is not None:
            store.put_if_newer(
                RATE_PK,
                RATE_LIMITED_SORT_KEY,
                {"at": _decimal(state.rate_limited_at), "function": function},
                order="at",
            )
    except Exception:  # the status is informational: never fail the batch for it
        log.warning("could not record the Billomat quota for the status", exc_info=True)


def _last_quota(found: Found, now: float) -> dict[str, Any]:
    """The newest quota any function saw, and the last 429; {} when none was recorded."""
    last = found.get((RATE_PK, RATE_SORT_KEY))
    refused = found.get((RATE_PK, RATE_LIMITED_SORT_KEY)) or {}
    if not last:
        return {}
    seen_at = _number(last.get("seen_at")) or 0.0
    reset = _number(last.get("reset"))
    remaining = last.get("remaining")
    limit = last.get("limit")
    refused_at = _number(refused.get("at"))
    return {
        "remaining": int(remaining) if remaining is not None else None,
        "limit": int(limit) if limit is not None else None,
        "reset": reset,
        "reset_in_seconds": max(0, int(reset - now)) if reset is not None else None,
        "seen_at": seen_at,
        "age_seconds": int(now - seen_at),
        "function": last.get("function"),
        "last_429_at": refused_at,
        "last_429_function": refused.get("function"),
    }


def _decimal(value: float | None) -> Decimal | None:
    return None if value is None else Decimal(str(round(value, 3)))


def _number(value: Any) -> float | None:
    return None if value is None else float(value)
