"""A stand-in SQS worker for testing local mode's queue delivery (not a workflow)."""

from __future__ import annotations

from typing import Any

received: list[str] = []


def handler(event: dict[str, Any], _context: Any) -> dict[str, Any]:
    """Record every body; report bodies containing "fail" as batch item failures."""
    failures = []
    for record in event["Records"]:
        received.append(record["body"])
        if "fail" in record["body"]:
            failures.append({"itemIdentifier": record["messageId"]})
    return {"batchItemFailures": failures}
