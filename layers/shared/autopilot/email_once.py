"""Sending a document e-mail at most once, whatever the retries.

Billomat offers no way to ask afterwards whether an e-mail went out, so this is the write-once
step (:mod:`autopilot.write_once`) without a look-up: the step is marked "sending" in the
workflow's checkpoint before the request. An attempt that finds that mark
died with the outcome unknown: the e-mail is not sent again (a second e-mail to a customer is
worse than a missing one) and the workflow asks a person to check. An error after which
Billomat certainly sent nothing clears the mark, so the retry simply sends.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum

from autopilot.checkpoints import Checkpoint, CheckpointRecord
from autopilot.write_once import WriteOutcome, write_once


class EmailStep(StrEnum):
    """The e-mail step's value in a checkpoint."""

    SENDING = "sending"
    SENT = "sent"
    UNKNOWN = "unknown"
    NO_RECIPIENT = "no_recipient"


def send_email_once(
    step: str | None,
    has_recipient: bool,
    mark: Callable[[EmailStep | None], object],
    send: Callable[[], None],
    report: Callable[[EmailStep], None],
) -> EmailStep | None:
    """Advance the e-mail step recorded as ``step``; returns what this call reached.

    ``mark`` records the step in the checkpoint; ``send`` makes the request; ``report`` is
    told, before it is recorded, that a person must look (UNKNOWN, NO_RECIPIENT). Returns None
    when the step was already settled by an earlier attempt.
    """
    if step not in (None, EmailStep.SENDING):
        return None
    if step is None and not has_recipient:
        report(EmailStep.NO_RECIPIENT)
        mark(EmailStep.NO_RECIPIENT)
        return EmailStep.NO_RECIPIENT
    written = write_once(
        started=step == EmailStep.SENDING,
        mark=lambda started: mark(EmailStep.SENDING if started else None),
        write=send,
    )
    if written.outcome is WriteOutcome.UNKNOWN:
        report(EmailStep.UNKNOWN)
        mark(EmailStep.UNKNOWN)
        return EmailStep.UNKNOWN
    mark(EmailStep.SENT)
    return EmailStep.SENT


def email_recorded_once[C: Checkpoint](
    checkpoint: CheckpointRecord[C],
    state: C,
    field: str,
    recipient: str | None,
    send: Callable[[str], None],
    report: Callable[[EmailStep], None],
) -> C:
    """:func:`send_email_once` with its step kept in the checkpoint field ``field``; returns
    the checkpoint as last saved. ``send(recipient)`` makes the request."""
    latest = state

    def mark(step: EmailStep | None) -> None:
        nonlocal latest
        latest = checkpoint.save(**{field: step})

    def send_to_recipient() -> None:
        assert recipient is not None
        send(recipient)

    send_email_once(getattr(state, field), bool(recipient), mark, send_to_recipient, report)
    return latest
