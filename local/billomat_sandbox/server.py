"""Local mode: the sandbox on a real HTTP port (``http.server``, one thread per request)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from local.sandbox_http import ThreadedSandboxServer

from .exchange import SandboxRequest, sandbox_request

if TYPE_CHECKING:
    from .sandbox import BillomatSandbox


class SandboxServer(ThreadedSandboxServer[SandboxRequest]):
    """A running HTTP server for one sandbox at ``http://host:port/api/``; stop it with
    :meth:`stop` (or use ``with``). A request held by a ``timeout`` fault then gets the 504 a
    gateway would give.
    """

    name = "billomat"
    server_version = "BillomatSandbox/1.0"
    base_path = "/api/"

    def __init__(self, sandbox: BillomatSandbox, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__(sandbox, sandbox_request, host, port)
