"""In-process access: an httpx transport that hands requests straight to the sandbox."""

from __future__ import annotations

from typing import TYPE_CHECKING

from local.sandbox_http import InProcessTransport

from .exchange import SandboxRequest, sandbox_request

if TYPE_CHECKING:
    from .sandbox import BillomatSandbox


class SandboxTransport(InProcessTransport[SandboxRequest]):
    """``httpx.Client(transport=sb.transport(), base_url="http://billomat.sandbox/api/")``.

    The host is ignored. A simulated timeout raises ``httpx.ReadTimeout`` at once (no waiting).
    """

    label = "Billomat sandbox"

    def __init__(self, sandbox: BillomatSandbox) -> None:
        super().__init__(sandbox, sandbox_request)
