"""Transport-neutral request and response of the sandbox (httpx transport and HTTP server)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class SandboxRequest:
    """A request as it reached the sandbox."""

    method: str
    path: str
    """URL path as sent, e.g. ``/api/invoices/7``."""
    query: Mapping[str, str]
    headers: Mapping[str, str]
    """Header names in lower case."""
    body: bytes = b""


def sandbox_request(
    method: str, path: str, query: Iterable[tuple[str, str]], headers: dict[str, str], body: bytes
) -> SandboxRequest:
    """The request the transport or the server received (a repeated query name: the last wins)."""
    return SandboxRequest(method=method, path=path, query=dict(query), headers=headers, body=body)


@dataclass(frozen=True)
class SandboxResponse:
    """The sandbox's answer; ``timed_out`` means the client must see a timeout instead."""

    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    timed_out: bool = False
