"""Fault injection: make chosen requests fail the ways a real network and Billomat can."""

from __future__ import annotations

from enum import StrEnum

from local import sandbox_faults
from local.sandbox_faults import FaultRule as FaultRule


class FaultKind(StrEnum):
    """How a matched request fails."""

    SERVER_ERROR = "server_error"
    """500 with an HTML body; nothing is written."""
    TIMEOUT = "timeout"
    """No answer in time; nothing is written."""
    RATE_LIMIT = "rate_limit"
    """429 exactly like an exhausted quota; nothing is written."""
    COMMIT_THEN_FAIL = "commit_then_fail"
    """The request is carried out, then answered with 500."""
    COMMIT_THEN_TIMEOUT = "commit_then_timeout"
    """The request is carried out, then the answer never arrives."""

    @property
    def commits(self) -> bool:
        """True when the request is carried out before failing."""
        return self in {FaultKind.COMMIT_THEN_FAIL, FaultKind.COMMIT_THEN_TIMEOUT}

    @property
    def times_out(self) -> bool:
        """True when the client sees no answer."""
        return self in {FaultKind.TIMEOUT, FaultKind.COMMIT_THEN_TIMEOUT}


class FaultPlan(sandbox_faults.FaultPlan[FaultKind]):
    """The faults still waiting to happen (``sb.faults``); paths are relative to ``/api/``
    (a leading ``api/`` is dropped).
    """

    def __init__(self) -> None:
        super().__init__(FaultKind)

    def _route(self, path: str) -> str:
        return path.strip("/").removeprefix("api/")
