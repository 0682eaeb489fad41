"""In-process access: an httpx transport that hands requests straight to the sandbox."""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import parse_qsl

import httpx

from .exchange import HubSpotRequest

if TYPE_CHECKING:
    from .sandbox import HubSpotSandbox


class HubSpotTransport(httpx.BaseTransport):
    """``httpx.Client(transport=sb.transport(), base_url="https://api.hubapi.com/")``.

    The host is ignored. A simulated timeout raises ``httpx.ReadTimeout`` at once (no waiting).
    """

    def __init__(self, sandbox: HubSpotSandbox) -> None:
        self._sandbox = sandbox

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Answer one httpx request from the sandbox."""
        body = request.read()
        query = parse_qsl(
            request.url.query.decode("ascii", errors="replace"), keep_blank_values=True
        )
        answer = self._sandbox.handle(
            HubSpotRequest(
                method=request.method,
                path=request.url.path,
                query=tuple(query),
                headers={name.lower(): value for name, value in request.headers.items()},
                body=body,
            )
        )
        if answer.timed_out:
            raise httpx.ReadTimeout("HubSpot sandbox: simulated read timeout", request=request)
        return httpx.Response(
            answer.status, headers=answer.headers, content=answer.body, request=request
        )
