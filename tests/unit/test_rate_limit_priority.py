"""One quota for all workers: orders before bank before schedules, never a window left unused."""

from __future__ import annotations

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from autopilot.billomat import BillomatClient, BillomatRateLimitedError
from autopilot.billomat.rate_limit import TAIL_SHARE, RateLimitState, RatePriority

WINDOW = 900.0
RESET = 1_800_000_900.0
START = RESET - WINDOW


def headers(remaining: int, reset: float = RESET) -> dict[str, str]:
    return {"X-Rate-Limit-Remaining": str(remaining), "X-Rate-Limit-Reset": str(int(reset))}


def seen(*remaining: int, reset: float = RESET) -> RateLimitState:
    """The state after responses that reported ``remaining`` in turn."""
    state = RateLimitState()
    for left in remaining:
        state.update(headers(left, reset))
    return state


def test_the_limit_is_learned_from_the_first_answer_of_a_window() -> None:
    assert seen(299, 298).limit == 300


def test_a_quota_falling_by_our_own_requests_only_is_not_contended() -> None:
    assert not seen(299, 298, 297).contended()


def test_a_quota_falling_faster_than_our_requests_is_contended() -> None:
    assert seen(299, 290).contended()


def test_contention_ends_with_the_window() -> None:
    state = seen(299, 290)
    state.update(headers(299, RESET + WINDOW))
    assert not state.contended()


def test_orders_never_hold_back() -> None:
    state = seen(299, 10)
    assert state.held_back_for(START + 10, RatePriority.ORDERS, WINDOW) is None


def test_bank_leaves_half_a_contended_window_to_orders_until_its_tail() -> None:
    state = seen(299, 150)
    wait = state.held_back_for(START + 100, RatePriority.BANK, WINDOW)
    assert wait == RESET - TAIL_SHARE * WINDOW - (START + 100)


def test_bank_sends_while_more_than_its_reserve_is_left() -> None:
    assert seen(299, 151).held_back_for(START + 100, RatePriority.BANK, WINDOW) is None


def test_schedules_hold_back_before_the_bank_does() -> None:
    state = seen(299, 200)
    assert state.held_back_for(START + 100, RatePriority.BANK, WINDOW) is None
    assert state.held_back_for(START + 100, RatePriority.SCHEDULES, WINDOW) is not None


def test_a_worker_alone_uses_the_whole_window() -> None:
    state = seen(*range(299, 0, -1))
    assert state.held_back_for(START + 100, RatePriority.SCHEDULES, WINDOW) is None


def test_the_reserve_is_anyones_in_the_tail_of_the_window() -> None:
    state = seen(299, 20)
    tail = RESET - TAIL_SHARE * WINDOW
    assert state.held_back_for(tail, RatePriority.SCHEDULES, WINDOW) is None


@given(
    priority=st.sampled_from(list(RatePriority)),
    limit=st.integers(min_value=1, max_value=2000),
    left=st.integers(min_value=0, max_value=2000),
    elapsed=st.floats(min_value=0, max_value=WINDOW, allow_nan=False),
    contended=st.booleans(),
)
def test_a_hold_back_ends_in_the_tail_of_the_same_window(
    priority: RatePriority, limit: int, left: int, elapsed: float, contended: bool
) -> None:
    """Whatever the state, a hold-back never reaches past the window it is in: the tail of
    every window is open to every priority, so a reserve nobody needed is still spent."""
    state = RateLimitState(remaining=min(left, limit - 1), reset=RESET, limit=limit)
    if contended:
        state.contended_window = RESET
    now = START + elapsed
    wait = state.held_back_for(now, priority, WINDOW)
    if wait is not None:
        assert wait > 0
        assert now + wait == RESET - TAIL_SHARE * WINDOW
        assert contended
        assert priority is not RatePriority.ORDERS


@given(
    limit=st.integers(min_value=4, max_value=2000),
    used_by_others=st.integers(min_value=0, max_value=2000),
    elapsed=st.floats(min_value=0, max_value=WINDOW, allow_nan=False),
)
def test_a_higher_priority_holds_back_no_earlier_than_a_lower_one(
    limit: int, used_by_others: int, elapsed: float
) -> None:
    """Orders ≥ bank ≥ schedules: where a higher priority waits, every lower one waits too."""
    state = RateLimitState(
        remaining=max(0, limit - 1 - used_by_others),
        reset=RESET,
        limit=limit,
        contended_window=RESET,
    )
    now = START + elapsed
    ordered = [RatePriority.ORDERS, RatePriority.BANK, RatePriority.SCHEDULES]
    held = [state.held_back_for(now, priority, WINDOW) is not None for priority in ordered]
    assert held == sorted(held)


class Scripted:
    """A Billomat whose quota another worker drains by ``others`` requests per request of ours."""

    def __init__(self, clock: list[float], others: int) -> None:
        self.clock = clock
        self.others = others
        self.remaining = 300
        self.sent = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.sent += 1
        self.remaining -= 1 + self.others
        return httpx.Response(
            200,
            json={"invoice": {"id": "7", "status": "OPEN"}},
            headers=headers(max(self.remaining, 0)),
            request=request,
        )


def bank_client(billomat: Scripted, clock: list[float], budget: float) -> BillomatClient:
    def sleep(seconds: float) -> None:
        clock[0] += seconds

    return BillomatClient(
        "https://acme.billomat.net/api/",
        "key",
        transport=httpx.MockTransport(billomat),
        sleep=sleep,
        now=lambda: clock[0],
        time_budget=lambda: budget,
        priority=RatePriority.BANK,
    )


def test_a_bank_worker_competing_with_orders_waits_for_the_tail_when_it_fits() -> None:
    clock = [START + 10]
    billomat = Scripted(clock, others=9)
    client = bank_client(billomat, clock, budget=1000)
    while billomat.remaining > 140:
        client.get_invoice(7)
    sent = billomat.sent
    client.get_invoice(7)
    assert clock[0] == RESET - TAIL_SHARE * WINDOW
    assert billomat.sent == sent + 1


def test_a_bank_worker_without_the_time_goes_back_to_its_queue_until_the_tail() -> None:
    clock = [START + 10]
    billomat = Scripted(clock, others=9)
    client = bank_client(billomat, clock, budget=50)
    while billomat.remaining > 140:
        client.get_invoice(7)
    sent = billomat.sent
    with pytest.raises(BillomatRateLimitedError) as caught:
        client.get_invoice(7)
    assert caught.value.retry_after == RESET - TAIL_SHARE * WINDOW - clock[0]
    assert billomat.sent == sent


def test_a_bank_worker_alone_spends_the_whole_window() -> None:
    clock = [START + 10]
    billomat = Scripted(clock, others=0)
    client = bank_client(billomat, clock, budget=50)
    for _ in range(299):
        client.get_invoice(7)
    assert clock[0] == START + 10
