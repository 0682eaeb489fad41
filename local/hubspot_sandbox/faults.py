"""Fault injection: make chosen requests fail the ways the network and HubSpot can."""

from __future__ import annotations

from enum import StrEnum

from local import sandbox_faults
from local.sandbox_faults import FaultRule as FaultRule


class FaultKind(StrEnum):
    """How a matched request fails."""

    SERVER_ERROR = "server_error"
    """502 with an HTML page (a gateway in front of HubSpot); nothing is written."""
    TIMEOUT = "timeout"
    """No answer: the transport raises ``httpx.ReadTimeout``, the server holds, then drops."""
    RATE_LIMIT = "rate_limit"
    """429 like an exhausted ten-secondly limit, with ``Retry-After``; nothing is written."""
    UNAUTHORIZED = "unauthorized"
    """401 ``INVALID_AUTHENTICATION`` (a revoked or rotated token)."""
    FORBIDDEN = "forbidden"
    """403 ``MISSING_SCOPES``."""
    COMMIT_THEN_FAIL = "commit_then_fail"
    """The request is carried out, then answered with a 500."""


class FaultPlan(sandbox_faults.FaultPlan[FaultKind]):
    """The faults still waiting to happen (``sandbox.faults``); paths are relative to the base
    URL.
    """

    def __init__(self) -> None:
        super().__init__(FaultKind)
