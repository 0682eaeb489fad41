"""Transport-neutral request and response of the sandbox (httpx transport and HTTP server)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from local.sandbox_faults import path_segments


@dataclass(frozen=True)
class HubSpotRequest:
    """A request as it reached the sandbox."""

    method: str
    path: str
    """URL path as sent, e.g. ``/crm/v3/objects/deals/5001`` (percent-decoded)."""
    query: tuple[tuple[str, str], ...] = ()
    """Query parameters in order; a name may repeat (``properties=a&properties=b``)."""
    headers: dict[str, str] = field(default_factory=dict)
    """Header names in lower case."""
    body: bytes = b""

    @property
    def route(self) -> str:
        """The path relative to the base URL without outer slashes (``crm/v3/pipelines/deals``)."""
        return "/".join(path_segments(self.path))

    def query_list(self, name: str) -> list[str] | None:
        """Comma lists of every ``name`` parameter joined (``None`` when the name is absent)."""
        values = [value for key, value in self.query if key == name]
        if not values:
            return None
        return [item.strip() for value in values for item in value.split(",") if item.strip()]


def hubspot_request(
    method: str, path: str, query: Iterable[tuple[str, str]], headers: dict[str, str], body: bytes
) -> HubSpotRequest:
    """The request the transport or the server received."""
    return HubSpotRequest(method=method, path=path, query=tuple(query), headers=headers, body=body)


@dataclass(frozen=True)
class HubSpotResponse:
    """The sandbox's answer; ``timed_out`` means the client must see no answer at all."""

    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    timed_out: bool = False
