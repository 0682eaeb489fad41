"""The at-most-once e-mail step shared by invoices, reminders and recurring invoices."""

from __future__ import annotations

import pytest

from autopilot.billomat import BillomatRateLimitedError, BillomatUnavailableError
from autopilot.email_once import EmailStep, send_email_once


class Step:
    def __init__(self) -> None:
        self.marks: list[EmailStep | None] = []
        self.reports: list[EmailStep] = []
        self.sends = 0

    def mark(self, step: EmailStep | None) -> None:
        self.marks.append(step)

    def report(self, step: EmailStep) -> None:
        assert not self.marks or self.marks[-1] != step  # told before it is recorded
        self.reports.append(step)

    def send(self) -> None:
        self.sends += 1


def test_first_attempt_marks_sending_then_sent() -> None:
    step = Step()
    assert send_email_once(None, True, step.mark, step.send, step.report) is EmailStep.SENT
    assert (step.marks, step.sends, step.reports) == ([EmailStep.SENDING, EmailStep.SENT], 1, [])


def test_attempt_that_died_while_sending_never_sends_again() -> None:
    step = Step()
    reached = send_email_once("sending", True, step.mark, step.send, step.report)
    assert reached is EmailStep.UNKNOWN
    assert (step.marks, step.sends, step.reports) == ([EmailStep.UNKNOWN], 0, [EmailStep.UNKNOWN])


@pytest.mark.parametrize("settled", ["sent", "unknown", "no_recipient"])
def test_settled_step_does_nothing(settled: str) -> None:
    step = Step()
    assert send_email_once(settled, True, step.mark, step.send, step.report) is None
    assert (step.marks, step.sends, step.reports) == ([], 0, [])


def test_no_recipient_is_reported_and_recorded() -> None:
    step = Step()
    reached = send_email_once(None, False, step.mark, step.send, step.report)
    assert reached is EmailStep.NO_RECIPIENT
    assert (step.marks, step.sends) == ([EmailStep.NO_RECIPIENT], 0)


def test_error_where_billomat_sent_nothing_clears_the_mark() -> None:
    step = Step()

    def limited() -> None:
        raise BillomatRateLimitedError("limit", retry_after=60)

    with pytest.raises(BillomatRateLimitedError):
        send_email_once(None, True, step.mark, limited, step.report)
    assert step.marks == [EmailStep.SENDING, None]


def test_error_where_billomat_may_have_sent_keeps_the_mark() -> None:
    step = Step()

    def lost() -> None:
        raise BillomatUnavailableError("no answer", may_have_committed=True)

    with pytest.raises(BillomatUnavailableError):
        send_email_once(None, True, step.mark, lost, step.report)
    assert step.marks == [EmailStep.SENDING]
