"""Quota: 300 requests per clock-aligned 15-minute window, headers on every answer (§4)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import httpx

from local.billomat_sandbox import DEV_APP_ID, DEV_APP_SECRET, BillomatSandbox, SandboxClock


def test_every_answer_carries_the_quota_headers(api: httpx.Client) -> None:
    first = api.get("clients")
    second = api.get("clients/424242")
    assert first.headers["X-Rate-Limit-Remaining"] == "299"
    assert second.status_code == 404
    assert second.headers["X-Rate-Limit-Remaining"] == "298"
    # started at 09:00:00 UTC: the window ends at 09:15:00 UTC
    assert first.headers["X-Rate-Limit-Reset"] == str(
        int(datetime(2025, 3, 10, 9, 15, tzinfo=UTC).timestamp())
    )


def test_the_301st_request_in_a_window_is_refused_and_nothing_happens(
    sandbox: BillomatSandbox, api: httpx.Client, clock: SandboxClock
) -> None:
    clock.advance(5 * 60)  # 09:05
    for _ in range(300):
        assert api.get("taxes").status_code == 200
    refused = api.post("clients", json={"client": {"name": "Zu spät"}})
    assert refused.status_code == 429
    assert refused.json() == {
        "errors": {
            "error": "Maximum number of requests (300 per 15 minutes) reached. "
            "Try again in 600 seconds."
        }
    }
    assert refused.headers["X-Rate-Limit-Remaining"] == "0"
    assert sandbox.snapshot()["clients"] == []


def test_the_next_window_starts_a_new_quota(
    sandbox: BillomatSandbox, api: httpx.Client, clock: SandboxClock
) -> None:
    sandbox.rate_limit = 3
    for _ in range(3):
        api.get("taxes")
    refused = api.get("taxes")
    assert refused.status_code == 429
    reset_at = int(refused.headers["X-Rate-Limit-Reset"])
    clock.sleep(reset_at - clock.epoch())
    fresh = api.get("taxes")
    assert fresh.status_code == 200
    assert fresh.headers["X-Rate-Limit-Remaining"] == "2"
    assert int(fresh.headers["X-Rate-Limit-Reset"]) == reset_at + 900


def test_windows_are_aligned_to_the_quarter_hour(clock: SandboxClock, api: httpx.Client) -> None:
    clock.set(datetime(2025, 3, 10, 9, 44, 59, tzinfo=UTC))
    late = api.get("taxes")
    clock.set(datetime(2025, 3, 10, 9, 45, 0, tzinfo=UTC))
    next_window = api.get("taxes")
    assert (
        int(next_window.headers["X-Rate-Limit-Reset"]) - int(late.headers["X-Rate-Limit-Reset"])
        == 900
    )
    assert next_window.headers["X-Rate-Limit-Remaining"] == "299"


def test_registered_app_headers_use_the_larger_quota(
    sandbox: BillomatSandbox, open_api: Callable[..., httpx.Client]
) -> None:
    with open_api(sandbox, **{"X-AppId": DEV_APP_ID, "X-AppSecret": DEV_APP_SECRET}) as app:
        assert app.get("taxes").headers["X-Rate-Limit-Remaining"] == "999"
    with open_api(sandbox, **{"X-AppId": DEV_APP_ID, "X-AppSecret": "wrong"}) as unregistered:
        assert unregistered.get("taxes").headers["X-Rate-Limit-Remaining"] == "299"


def test_reset_rate_limit_restores_the_quota(sandbox: BillomatSandbox, api: httpx.Client) -> None:
    sandbox.rate_limit = 1
    api.get("taxes")
    assert api.get("taxes").status_code == 429
    sandbox.reset_rate_limit()
    assert api.get("taxes").status_code == 200


def test_wrong_api_key_is_401_and_not_counted(
    sandbox: BillomatSandbox, open_api: Callable[..., httpx.Client]
) -> None:
    with open_api(sandbox, **{"X-BillomatApiKey": "not-the-key"}) as intruder:
        refused = intruder.get("clients")
    assert refused.status_code == 401
    assert "error" in refused.json()["errors"]
    assert refused.headers["X-Rate-Limit-Remaining"] == "300"
    assert sandbox.requests[-1].status == 401
