"""Local mode: the sandbox on a real HTTP port (``http.server``, one thread per request)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from local.sandbox_http import ThreadedSandboxServer

from .exchange import HubSpotRequest, HubSpotResponse, hubspot_request
from .routes import ApiError
from .wire import json_response

if TYPE_CHECKING:
    from .sandbox import HubSpotSandbox

MAX_BODY_BYTES = 10 * 1024 * 1024
"""Bodies above this are refused before reading (HubSpot's own limit is lower)."""


class HubSpotServer(ThreadedSandboxServer[HubSpotRequest]):
    """A running HTTP server for one sandbox; stop it with :meth:`stop` (or use ``with``).

    A request held by a ``timeout`` fault is then dropped without an answer; a malformed or
    oversized ``Content-Length`` gets a 400 without the body being read.
    """

    name = "hubspot"
    server_version = "HubSpotSandbox/1.0"
    methods = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
    drop_timed_out = True
    max_body_bytes = MAX_BODY_BYTES

    def __init__(self, sandbox: HubSpotSandbox, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__(sandbox, hubspot_request, host, port)

    def refusal(self, message: str) -> HubSpotResponse:
        """Answer 400 without asking the sandbox (the request cannot even be read)."""
        return json_response(400, ApiError(400, message).body(), {"Connection": "close"})
