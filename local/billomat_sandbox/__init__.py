"""In-memory emulation of the Billomat REST API for tests and local mode.

>>> sb = BillomatSandbox()
>>> client = httpx.Client(transport=sb.transport(), base_url="http://billomat.sandbox/api/")

See ``README.md`` in this folder for what is emulated and where it deliberately simplifies.
"""

from .clock import SandboxClock
from .credentials import DEV_API_KEY, DEV_APP_ID, DEV_APP_SECRET
from .exchange import SandboxRequest, SandboxResponse
from .faults import FaultKind, FaultPlan
from .journal import RequestRecord, SentEmail, WebhookEvent
from .sandbox import BillomatSandbox
from .server import SandboxServer

__all__ = [
    "DEV_API_KEY",
    "DEV_APP_ID",
    "DEV_APP_SECRET",
    "BillomatSandbox",
    "FaultKind",
    "FaultPlan",
    "RequestRecord",
    "SandboxClock",
    "SandboxRequest",
    "SandboxResponse",
    "SandboxServer",
    "SentEmail",
    "WebhookEvent",
]
