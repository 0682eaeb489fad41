"""``GET /admin/status``: what is waiting where.

Built: ``queues`` — per workflow its queue's visible, in-flight and delayed messages and its
dead-letter count. Not built yet (listed in ``missing``, never made up): ``schedules`` (the last
run of each schedule with its summary: the schedules do not record their runs yet),
``failures`` (recent failures with reasons) and ``billomat_rate`` (the last rate-limit headers
seen: kept per container only, not stored).
"""

from __future__ import annotations

from typing import Any

from .queues import queue_status

MISSING = ["schedules", "failures", "billomat_rate"]


def status(sqs: Any) -> dict[str, Any]:
    return {
        "queues": queue_status(sqs),
        "schedules": [],
        "failures": [],
        "billomat_rate": {},
        "missing": list(MISSING),
    }
