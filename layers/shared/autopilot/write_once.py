"""One Billomat write, at most once whatever the retries: the write-once step.

Every Billomat create, action and payment of a workflow goes through :func:`write_once`:

1. An attempt that finds the step marked "started" by an earlier attempt first asks Billomat
   what that attempt wrote (``find``: the invoice by our reference, the payment by its marker,
   the reminder of that level). What it finds is adopted, and nothing is written again.
2. Otherwise the step is marked "started" in the workflow's checkpoint *before* the request,
   and the write is sent.
3. An error after which Billomat certainly did nothing (a refusal, the rate limit, a request
   that never arrived: ``certainly_not_executed``) clears the mark, so the retry simply
   writes. Any other error (5xx, timeout) leaves the mark for step 1.

Where Billomat cannot tell afterwards whether the write happened (an e-mail: no ``find``), a
"started" mark means the outcome is unknown: the step is not repeated — a second e-mail to a
customer is worse than a missing one — and the caller asks a person to check
(:mod:`autopilot.email_once`).

The caller records the written value (an id) in its checkpoint; a checkpoint that already
holds it never reaches this step. Checkpoints are typed models (:mod:`autopilot.checkpoints`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from autopilot.billomat import BillomatError, certainly_not_executed
from autopilot.checkpoints import CheckpointRecord

log = logging.getLogger("autopilot.write_once")


class WriteOutcome(StrEnum):
    """How a write-once step ended in this attempt."""

    WRITTEN = "written"
    """Sent now, and Billomat answered."""
    FOUND = "found"
    """An earlier attempt's write, found in Billomat and adopted."""
    UNKNOWN = "unknown"
    """An earlier attempt may have written and Billomat cannot tell: not repeated."""


@dataclass(frozen=True)
class Written[R]:
    """The outcome of one write-once step and, unless UNKNOWN, what was written."""

    outcome: WriteOutcome
    value: R | None = None


def find_earlier_write[R](started: bool, find: Callable[[], R | None] | None) -> Written[R] | None:
    """What an earlier attempt that marked the step wrote; None: nothing, write now.

    UNKNOWN when it marked the step and Billomat offers no way to look (``find`` is None).
    """
    if not started:
        return None
    if find is None:
        return Written(WriteOutcome.UNKNOWN)
    found = find()
    return None if found is None else Written(WriteOutcome.FOUND, found)


def write_marked[R](mark: Callable[[bool], object], write: Callable[[], R]) -> Written[R]:
    """Mark the step started, write, and clear the mark if Billomat certainly did nothing."""
    mark(True)
    try:
        value = write()
    except BillomatError as error:
        if certainly_not_executed(error):
            mark(False)
        raise
    return Written(WriteOutcome.WRITTEN, value)


def write_once[R](
    *,
    started: bool,
    mark: Callable[[bool], object],
    write: Callable[[], R],
    find: Callable[[], R | None] | None = None,
) -> Written[R]:
    """The step as a whole: adopt an earlier attempt's write, else mark and write.

    ``started``: the checkpoint's mark from an earlier attempt; ``mark(True/False)`` records or
    clears it; ``find`` looks in Billomat for what an earlier attempt wrote.
    """
    earlier = find_earlier_write(started, find)
    return earlier if earlier is not None else write_marked(mark, write)


def create_once[R](
    checkpoint: CheckpointRecord[Any],
    started_field: str,
    started_at: int | None,
    *,
    create: Callable[[], R],
    find: Callable[[], list[R]],
    what: str,
) -> R:
    """Create a Billomat document at most once, its mark kept in a checkpoint field.

    ``started_field`` holds the epoch second the create was sent (``started_at`` is its stored
    value; None: never sent); ``find`` lists the documents carrying our reference, oldest
    first — an earlier attempt's document is adopted instead of creating another.
    """
    written = write_once(
        started=started_at is not None,
        mark=lambda started: checkpoint.save(
            **{started_field: int(time.time()) if started else None}
        ),
        write=create,
        find=lambda: next(iter(find()), None),
    )
    document = written.value
    assert document is not None  # a look-up is always given, so never UNKNOWN
    if written.outcome is WriteOutcome.FOUND:
        log.info("found the %s created by an earlier attempt", what)
    return document
