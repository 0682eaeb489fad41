"""In-process access: an httpx transport that hands requests straight to the sandbox."""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import parse_qsl

import httpx

from .exchange import SandboxRequest

if TYPE_CHECKING:
    from .sandbox import BillomatSandbox


class SandboxTransport(httpx.BaseTransport):
    """``httpx.Client(transport=sb.transport(), base_url="http://billomat.sandbox/api/")``.

    The host is ignored. A simulated timeout raises ``httpx.ReadTimeout`` at once (no waiting).
    """

    def __init__(self, sandbox: BillomatSandbox) -> None:
        self._sandbox = sandbox

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Answer one httpx request from the sandbox."""
        body = request.read()
        query = dict(parse_qsl(request.url.query.decode("ascii"), keep_blank_values=True))
        answer = self._sandbox.handle(
            SandboxRequest(
                method=request.method,
                path=request.url.path,
                query=query,
                headers={name.lower(): value for name, value in request.headers.items()},
                body=body,
            )
        )
        if answer.timed_out:
            raise httpx.ReadTimeout("Billomat sandbox: simulated read timeout", request=request)
        return httpx.Response(
            answer.status, headers=answer.headers, content=answer.body, request=request
        )
