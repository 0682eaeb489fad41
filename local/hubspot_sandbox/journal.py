"""What the sandbox observed: every request with its answer's status."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from local.sandbox_faults import path_segments


@dataclass(frozen=True)
class RequestRecord:
    """One request as the sandbox answered it.

    ``path`` is the URL path as sent (``/crm/v3/objects/deals/5001``); ``query`` joins a
    repeated parameter with commas; ``body`` is the request body as text. A simulated timeout
    is recorded with ``timed_out`` and status 504 (the client got no answer at all).
    """

    method: str
    path: str
    query: dict[str, str]
    status: int
    body: str
    at: datetime
    timed_out: bool = False

    @property
    def route(self) -> str:
        """The path relative to the base URL (``crm/v3/objects/deals/5001``), as faults use it."""
        return "/".join(path_segments(self.path))

    def json(self) -> Any:
        """The body parsed as JSON, or ``None`` when it is empty or not JSON."""
        try:
            return json.loads(self.body) if self.body else None
        except (ValueError, RecursionError):
            return None
