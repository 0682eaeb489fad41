"""Fault injection: make chosen requests fail the ways the network and HubSpot can."""

from __future__ import annotations

import fnmatch
import threading
from dataclasses import dataclass
from enum import StrEnum


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


@dataclass
class FaultRule:
    """Fail the next ``remaining`` requests matching ``method`` and ``path``."""

    method: str
    path: str
    kind: FaultKind
    remaining: int

    def matches(self, method: str, route: str) -> bool:
        """Glob per path segment: ``crm/v3/objects/deals/*`` matches ``crm/v3/objects/deals/5001``
        but not ``crm/v3/objects/deals/5001/associations``.
        """
        if self.method not in {"*", method}:
            return False
        wanted = [part for part in self.path.split("/") if part]
        actual = [part for part in route.split("/") if part]
        return len(wanted) == len(actual) and all(
            fnmatch.fnmatchcase(segment, pattern)
            for segment, pattern in zip(actual, wanted, strict=True)
        )


class FaultPlan:
    """The faults still waiting to happen (``sandbox.faults``)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rules: list[FaultRule] = []

    def add(self, method: str, path: str, kind: str, times: int = 1) -> None:
        """Fail the next ``times`` requests ``method path`` (path relative to the base URL,
        ``*`` as method matches any).
        """
        if times < 1:
            raise ValueError("times must be at least 1")
        try:
            fault_kind = FaultKind(kind)
        except ValueError:
            allowed = ", ".join(each.value for each in FaultKind)
            raise ValueError(f"unknown fault kind {kind!r} (allowed: {allowed})") from None
        rule = FaultRule(method.upper(), path.strip("/"), fault_kind, times)
        with self._lock:
            self._rules.append(rule)

    def clear(self) -> None:
        """Drop every pending fault."""
        with self._lock:
            self._rules.clear()

    @property
    def pending(self) -> list[FaultRule]:
        """Faults not yet used up, in the order they were added."""
        with self._lock:
            return list(self._rules)

    def take(self, method: str, route: str) -> FaultKind | None:
        """The fault for this request, if one is pending (and count it as used)."""
        with self._lock:
            for rule in self._rules:
                if rule.matches(method, route):
                    rule.remaining -= 1
                    if rule.remaining == 0:
                        self._rules.remove(rule)
                    return rule.kind
        return None
