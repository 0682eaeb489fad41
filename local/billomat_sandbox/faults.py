"""Fault injection: make chosen requests fail the ways a real network and Billomat can."""

from __future__ import annotations

import fnmatch
import threading
from dataclasses import dataclass
from enum import StrEnum


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


@dataclass
class FaultRule:
    """Fail the next ``remaining`` requests matching ``method`` and ``path``."""

    method: str
    path: str
    kind: FaultKind
    remaining: int

    def matches(self, method: str, route: str) -> bool:
        """Glob per path segment: ``invoices/*/complete`` matches ``invoices/7/complete``."""
        if self.method not in {"*", method}:
            return False
        wanted = self.path.strip("/").split("/")
        actual = route.strip("/").split("/")
        return len(wanted) == len(actual) and all(
            fnmatch.fnmatchcase(segment, pattern)
            for segment, pattern in zip(actual, wanted, strict=True)
        )


class FaultPlan:
    """The faults still waiting to happen (``sb.faults``)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rules: list[FaultRule] = []

    def add(self, method: str, path: str, kind: str, times: int = 1) -> None:
        """Fail the next ``times`` requests ``method path`` (path relative to ``/api/``)."""
        if times < 1:
            raise ValueError("times must be at least 1")
        try:
            fault_kind = FaultKind(kind)
        except ValueError:
            allowed = ", ".join(each.value for each in FaultKind)
            raise ValueError(f"unknown fault kind {kind!r} (allowed: {allowed})") from None
        route = path.strip("/").removeprefix("api/")
        rule = FaultRule(method.upper(), route, fault_kind, times)
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
