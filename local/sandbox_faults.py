"""Fault injection shared by the embedded sandboxes (Billomat, HubSpot).

A rule fails the next ``remaining`` requests whose method and path match it, the path globbed
per segment with ``fnmatch``; a thread-safe plan holds the rules. What a fault does is each
sandbox's own business: it brings its ``FaultKind`` enum and acts on what :meth:`FaultPlan.take`
returns.
"""

from __future__ import annotations

import fnmatch
import threading
from dataclasses import dataclass
from enum import StrEnum


def path_segments(path: str) -> list[str]:
    """The non-empty segments of a path, as the sandboxes' routers see them (``/a//b/`` → a, b)."""
    return [part for part in path.split("/") if part]


@dataclass
class FaultRule[K: StrEnum]:
    """Fail the next ``remaining`` requests matching ``method`` and ``path``."""

    method: str
    path: str
    kind: K
    remaining: int

    def matches(self, method: str, route: str) -> bool:
        """Glob per path segment: ``invoices/*/complete`` matches ``invoices/7/complete`` but
        not ``invoices/7/complete/more``; method ``*`` matches any.
        """
        if self.method not in {"*", method}:
            return False
        wanted = path_segments(self.path)
        actual = path_segments(route)
        return len(wanted) == len(actual) and all(
            fnmatch.fnmatchcase(segment, pattern)
            for segment, pattern in zip(actual, wanted, strict=True)
        )


class FaultPlan[K: StrEnum]:
    """The faults still waiting to happen (``sandbox.faults``), for fault kinds ``kinds``."""

    def __init__(self, kinds: type[K]) -> None:
        self._kinds = kinds
        self._lock = threading.Lock()
        self._rules: list[FaultRule[K]] = []

    def add(self, method: str, path: str, kind: str, times: int = 1) -> None:
        """Fail the next ``times`` requests ``method path`` (path relative to the base URL,
        ``*`` as method matches any).
        """
        if times < 1:
            raise ValueError("times must be at least 1")
        try:
            fault_kind = self._kinds(kind)
        except ValueError:
            allowed = ", ".join(each.value for each in self._kinds)
            raise ValueError(f"unknown fault kind {kind!r} (allowed: {allowed})") from None
        rule = FaultRule(method.upper(), self._route(path), fault_kind, times)
        with self._lock:
            self._rules.append(rule)

    def _route(self, path: str) -> str:
        """A rule's path as :meth:`take` will be asked about it (outer slashes dropped)."""
        return path.strip("/")

    def clear(self) -> None:
        """Drop every pending fault."""
        with self._lock:
            self._rules.clear()

    @property
    def pending(self) -> list[FaultRule[K]]:
        """Faults not yet used up, in the order they were added."""
        with self._lock:
            return list(self._rules)

    def take(self, method: str, route: str) -> K | None:
        """The fault for this request, if one is pending (and count it as used)."""
        with self._lock:
            for rule in self._rules:
                if rule.matches(method, route):
                    rule.remaining -= 1
                    if rule.remaining == 0:
                        self._rules.remove(rule)
                    return rule.kind
        return None
