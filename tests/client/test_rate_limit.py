"""300 requests per 15 minutes: wait for the next window if it fits, else report retry_after."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from autopilot.billomat import BillomatClient, BillomatRateLimitedError, InvoiceDraft

from .conftest import START, ScriptedBillomat, SimulatedClock, reply

OPEN_INVOICE = {"invoice": {"id": "7", "status": "OPEN"}}
QUOTA_MESSAGE = {
    "errors": {
        "error": "Maximum number of requests (300 per 15 minutes) reached. "
        "Try again in 246 seconds."
    }
}


def test_quota_headers_are_tracked(client: BillomatClient, billomat: ScriptedBillomat) -> None:
    billomat.answer(reply(OPEN_INVOICE, remaining=12, reset=START + 420))
    client.get_invoice(7)
    assert client.rate_limit_remaining == 12
    assert client.rate_limit_reset == START + 420


def test_429_waits_until_reset_when_it_fits_then_retries(
    client: BillomatClient, billomat: ScriptedBillomat, clock: SimulatedClock
) -> None:
    billomat.answer(
        reply(QUOTA_MESSAGE, status=429, remaining=0, reset=START + 40),
        reply(OPEN_INVOICE, remaining=299, reset=START + 940),
    )
    assert client.get_invoice(7).id == 7
    assert clock.sleeps == [41.0]  # until reset, plus one second
    assert len(billomat.requests) == 2
    assert client.request_count == 2


def test_429_retries_a_post_because_nothing_was_executed(
    client: BillomatClient, billomat: ScriptedBillomat, clock: SimulatedClock
) -> None:
    billomat.answer(
        reply(QUOTA_MESSAGE, status=429, remaining=0, reset=START + 10),
        reply({"invoice": {"id": "9", "status": "DRAFT"}}, status=201),
    )
    assert client.create_invoice(InvoiceDraft(client_id=5)).id == 9
    assert [r.method for r in billomat.requests] == ["POST", "POST"]
    assert clock.sleeps == [11.0]


def test_429_beyond_the_time_budget_raises_with_retry_after(
    make_client: Callable[..., BillomatClient], billomat: ScriptedBillomat, clock: SimulatedClock
) -> None:
    client = make_client(time_budget=lambda: 30.0)
    billomat.answer(reply(QUOTA_MESSAGE, status=429, remaining=0, reset=START + 200))
    with pytest.raises(BillomatRateLimitedError) as caught:
        client.get_invoice(7)
    error = caught.value
    assert error.retry_after == 201.0
    assert error.retryable
    assert error.status_code == 429
    assert clock.sleeps == []
    assert len(billomat.requests) == 1


def test_without_budget_waits_at_most_max_wait(
    make_client: Callable[..., BillomatClient], billomat: ScriptedBillomat, clock: SimulatedClock
) -> None:
    client = make_client(max_wait=60.0)
    billomat.answer(reply(QUOTA_MESSAGE, status=429, remaining=0, reset=START + 120))
    with pytest.raises(BillomatRateLimitedError) as caught:
        client.get_invoice(7)
    assert caught.value.retry_after == 121.0
    assert clock.sleeps == []


def test_long_wait_is_fine_when_the_lambda_has_time(
    make_client: Callable[..., BillomatClient], billomat: ScriptedBillomat, clock: SimulatedClock
) -> None:
    client = make_client(time_budget=lambda: 600.0)
    billomat.answer(
        reply(QUOTA_MESSAGE, status=429, remaining=0, reset=START + 300),
        reply(OPEN_INVOICE),
    )
    client.get_invoice(7)
    assert clock.sleeps == [301.0]


def test_429_without_reset_header_uses_try_again_hint(
    client: BillomatClient, billomat: ScriptedBillomat, clock: SimulatedClock
) -> None:
    client.max_wait = 600.0
    billomat.answer(
        reply(QUOTA_MESSAGE, status=429, remaining=None, reset=None), reply(OPEN_INVOICE)
    )
    client.get_invoice(7)
    assert clock.sleeps == [247.0]


def test_429_without_any_hint_falls_back_to_five_minutes(
    client: BillomatClient, billomat: ScriptedBillomat
) -> None:
    billomat.answer(reply(text="slow down", status=429, remaining=None, reset=None))
    with pytest.raises(BillomatRateLimitedError) as caught:
        client.get_invoice(7)
    assert caught.value.retry_after == 300.0


def test_exhausted_quota_waits_before_sending_when_it_fits(
    client: BillomatClient, billomat: ScriptedBillomat, clock: SimulatedClock
) -> None:
    billomat.answer(
        reply(OPEN_INVOICE, remaining=0, reset=START + 20),
        reply(OPEN_INVOICE, remaining=299, reset=START + 920),
    )
    client.get_invoice(7)
    assert clock.sleeps == []
    client.get_invoice(7)
    assert clock.sleeps == [21.0]
    assert len(billomat.requests) == 2


def test_exhausted_quota_raises_without_sending_when_wait_does_not_fit(
    make_client: Callable[..., BillomatClient], billomat: ScriptedBillomat, clock: SimulatedClock
) -> None:
    client = make_client(time_budget=lambda: 5.0)
    billomat.answer(reply(OPEN_INVOICE, remaining=0, reset=START + 500))
    client.get_invoice(7)
    with pytest.raises(BillomatRateLimitedError) as caught:
        client.get_invoice(7)
    assert caught.value.retry_after == 501.0
    assert caught.value.status_code is None
    assert len(billomat.requests) == 1
    assert client.request_count == 1


def test_exhausted_quota_of_a_past_window_does_not_block(
    client: BillomatClient, billomat: ScriptedBillomat, clock: SimulatedClock
) -> None:
    billomat.answer(reply(OPEN_INVOICE, remaining=0, reset=START + 20), reply(OPEN_INVOICE))
    client.get_invoice(7)
    clock.current = START + 30
    client.get_invoice(7)
    assert clock.sleeps == []


def test_time_budget_is_asked_at_the_moment_of_waiting(
    make_client: Callable[..., BillomatClient], billomat: ScriptedBillomat, clock: SimulatedClock
) -> None:
    deadline = START + 100
    client = make_client(time_budget=lambda: deadline - clock.now())
    billomat.answer(
        reply(QUOTA_MESSAGE, status=429, remaining=0, reset=START + 50),
        reply(OPEN_INVOICE, remaining=0, reset=START + 120),
    )
    client.get_invoice(7)  # waits 51 s, then the quota is gone again until START+120
    with pytest.raises(BillomatRateLimitedError):
        client.get_invoice(7)  # 70 s more would overrun the remaining 49 s
    assert clock.sleeps == [51.0]


def test_repeated_429s_give_up_after_a_few_waits(
    client: BillomatClient, billomat: ScriptedBillomat, clock: SimulatedClock
) -> None:
    billomat.handler = lambda request: reply(
        QUOTA_MESSAGE, status=429, remaining=0, reset=clock.now() + 5
    )
    with pytest.raises(BillomatRateLimitedError):
        client.get_invoice(7)
    assert len(clock.sleeps) == 3
    assert len(billomat.requests) == 4


def test_budget_can_be_set_per_invocation(
    client: BillomatClient, billomat: ScriptedBillomat
) -> None:
    client.time_budget = lambda: 1.0
    billomat.answer(reply(QUOTA_MESSAGE, status=429, remaining=0, reset=START + 60))
    with pytest.raises(BillomatRateLimitedError):
        client.get_invoice(7)


def test_garbled_quota_headers_are_ignored(
    client: BillomatClient, billomat: ScriptedBillomat
) -> None:
    billomat.answer(
        httpx.Response(
            200,
            json=OPEN_INVOICE,
            headers={"X-Rate-Limit-Remaining": "many", "X-Rate-Limit-Reset": "soon"},
        )
    )
    client.get_invoice(7)
    assert client.rate_limit_remaining is None
    assert client.rate_limit_reset is None
