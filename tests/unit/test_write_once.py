"""The write-once step every Billomat create, action and payment goes through, over fakes."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from autopilot.billomat import (
    BillomatRateLimitedError,
    BillomatUnavailableError,
    BillomatValidationError,
    PaymentType,
)
from autopilot.payments import PaymentToBook, book_payment_once
from autopilot.write_once import WriteOutcome, write_once


class Step:
    """A checkpoint's started mark and a Billomat that records what it was asked to write."""

    def __init__(self, earlier: int | None = None, fail: Exception | None = None) -> None:
        self.started = False
        self.marks: list[bool] = []
        self.writes = 0
        self.earlier = earlier
        self.fail = fail

    def mark(self, started: bool) -> None:
        self.marks.append(started)
        self.started = started

    def write(self) -> int:
        self.writes += 1
        if self.fail is not None:
            raise self.fail
        return 42

    def find(self) -> int | None:
        return self.earlier


def outage(committed: bool) -> BillomatUnavailableError:
    return BillomatUnavailableError("down", may_have_committed=committed, status_code=503)


def test_a_first_attempt_marks_the_step_before_it_writes() -> None:
    step = Step()
    written = write_once(started=False, mark=step.mark, write=step.write, find=step.find)
    assert (written.outcome, written.value) == (WriteOutcome.WRITTEN, 42)
    assert (step.marks, step.writes) == ([True], 1)


def test_a_retry_adopts_what_the_earlier_attempt_wrote_and_writes_nothing() -> None:
    step = Step(earlier=7)
    written = write_once(started=True, mark=step.mark, write=step.write, find=step.find)
    assert (written.outcome, written.value) == (WriteOutcome.FOUND, 7)
    assert (step.marks, step.writes) == ([], 0)


def test_a_retry_that_finds_nothing_writes_again() -> None:
    step = Step(earlier=None)
    written = write_once(started=True, mark=step.mark, write=step.write, find=step.find)
    assert written.outcome is WriteOutcome.WRITTEN
    assert step.writes == 1


def test_without_a_look_up_an_unfinished_earlier_attempt_is_unknown_and_not_repeated() -> None:
    step = Step()
    written = write_once(started=True, mark=step.mark, write=step.write)
    assert (written.outcome, written.value) == (WriteOutcome.UNKNOWN, None)
    assert (step.marks, step.writes) == ([], 0)


@pytest.mark.parametrize(
    "error",
    [
        BillomatRateLimitedError("slow down", retry_after=5),
        BillomatValidationError("refused", status_code=400),
        outage(committed=False),
    ],
    ids=["rate_limit", "refusal", "never_arrived"],
)
def test_an_error_after_which_billomat_did_nothing_clears_the_mark(error: Exception) -> None:
    step = Step(fail=error)
    with pytest.raises(type(error)):
        write_once(started=False, mark=step.mark, write=step.write, find=step.find)
    assert step.marks == [True, False]
    assert not step.started


@pytest.mark.parametrize("error", [outage(committed=True)], ids=["maybe_written"])
def test_an_error_after_which_billomat_may_have_written_keeps_the_mark(error: Exception) -> None:
    step = Step(fail=error)
    with pytest.raises(type(error)):
        write_once(started=False, mark=step.mark, write=step.write, find=step.find)
    assert step.marks == [True]
    assert step.started


@given(st.lists(st.sampled_from(["ok", "lost_answer", "refused", "outage"]), max_size=6))
def test_however_attempts_fail_billomat_holds_at_most_one_write(attempts: list[str]) -> None:
    """A sequence of attempts against one Billomat: each may lose the answer after writing,
    be refused, or hit an outage; there is never more than one write, and a final clean
    attempt always ends with exactly one."""
    billomat: list[int] = []
    started = False

    def mark(value: bool) -> None:
        nonlocal started
        started = value

    for kind in [*attempts, "ok"]:

        def write(kind: str = kind) -> int:
            if kind == "refused":
                raise BillomatValidationError("refused", status_code=400)
            if kind == "outage":
                raise outage(committed=False)
            billomat.append(len(billomat) + 1)
            if kind == "lost_answer":
                raise outage(committed=True)
            return billomat[-1]

        def find() -> int | None:
            return billomat[0] if billomat else None

        try:
            written = write_once(started=started, mark=mark, write=write, find=find)
        except (BillomatValidationError, BillomatUnavailableError):
            continue
        assert written.value == billomat[0]
        break
    assert len(billomat) == 1


class Payments:
    """A Billomat fake with one invoice's payments."""

    def __init__(self, comments: list[str]) -> None:
        self.payments = [
            type("P", (), {"id": i + 1, "comment": c})() for i, c in enumerate(comments)
        ]
        self.booked: list[dict[str, Any]] = []

    def iter_invoice_payments(self, invoice_id: int) -> list[Any]:
        return list(self.payments)

    def book_payment(self, **fields: Any) -> Any:
        self.booked.append(fields)
        payment = type("P", (), {"id": 100 + len(self.booked), "comment": fields["comment"]})()
        self.payments.append(payment)
        return payment


PAYMENT = PaymentToBook(
    invoice_id=5,
    amount=Decimal("119.00"),
    date=dt.date(2026, 11, 2),
    type=PaymentType.BANK_TRANSFER,
    comment="Überweisung von Erika · [bank:tx-1]",
    marker="[bank:tx-1]",
)


def test_a_payment_booked_by_an_earlier_attempt_is_found_by_its_marker() -> None:
    billomat = Payments(["Überweisung · [bank:tx-0]", "Überweisung von Erika · [bank:tx-1]"])
    step = Step()
    written = book_payment_once(billomat, PAYMENT, started=True, mark=step.mark)  # type: ignore[arg-type]
    assert written.outcome is WriteOutcome.FOUND
    assert written.value is not None
    assert written.value.id == 2
    assert billomat.booked == []


def test_a_payment_is_booked_inside_the_guard_and_only_once() -> None:
    billomat = Payments(["Überweisung · [bank:tx-0]"])
    step = Step()
    entered: list[str] = []

    class Guard:
        def __enter__(self) -> None:
            entered.append("in")

        def __exit__(self, *exc: object) -> None:
            entered.append("out")

    written = book_payment_once(billomat, PAYMENT, started=True, mark=step.mark, guard=Guard)  # type: ignore[arg-type]
    assert written.outcome is WriteOutcome.WRITTEN
    assert entered == ["in", "out"]
    assert [b["comment"] for b in billomat.booked] == [PAYMENT.comment]
    again = book_payment_once(billomat, PAYMENT, started=True, mark=step.mark)  # type: ignore[arg-type]
    assert again.outcome is WriteOutcome.FOUND
    assert len(billomat.booked) == 1


def test_a_marker_must_be_part_of_the_comment() -> None:
    with pytest.raises(ValueError, match="marker"):
        PaymentToBook(5, Decimal(1), dt.date(2026, 1, 1), PaymentType.CASH, "Bar", "[x]")
