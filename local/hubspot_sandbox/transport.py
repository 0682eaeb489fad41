"""In-process access: an httpx transport that hands requests straight to the sandbox."""

from __future__ import annotations

from typing import TYPE_CHECKING

from local.sandbox_http import InProcessTransport

from .exchange import HubSpotRequest, hubspot_request

if TYPE_CHECKING:
    from .sandbox import HubSpotSandbox


class HubSpotTransport(InProcessTransport[HubSpotRequest]):
    """``httpx.Client(transport=sb.transport(), base_url="https://api.hubapi.com/")``.

    The host is ignored. A simulated timeout raises ``httpx.ReadTimeout`` at once (no waiting).
    """

    label = "HubSpot sandbox"

    def __init__(self, sandbox: HubSpotSandbox) -> None:
        super().__init__(sandbox, hubspot_request)
