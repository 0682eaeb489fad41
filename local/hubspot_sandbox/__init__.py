"""In-memory emulation of the HubSpot CRM v3 calls of the deal workflow, for tests and local mode.

>>> sb = HubSpotSandbox()
>>> deal_id = sb.add_deal("Website-Relaunch", amount=4800, company=sb.add_company("Muster GmbH"))
>>> client = httpx.Client(transport=sb.transport(), base_url="https://api.hubapi.com/",
...                       headers={"Authorization": f"Bearer {DEV_ACCESS_TOKEN}"})

See ``README.md`` in this folder for what is emulated and where it deliberately simplifies.
"""

from local.billomat_sandbox.clock import SandboxClock

from .credentials import DEV_ACCESS_TOKEN, DEV_APP_ID, DEV_PORTAL_ID, DEV_SUBSCRIPTION_ID, SCOPES
from .crm import CUSTOM_DEAL_PROPERTIES, STANDARD_PROPERTIES
from .exchange import HubSpotRequest, HubSpotResponse
from .faults import FaultKind, FaultPlan
from .journal import RequestRecord
from .pipelines import CUSTOM_PIPELINE, DEFAULT_PIPELINE, PIPELINES, Pipeline, Stage
from .sandbox import HubSpotSandbox
from .server import HubSpotServer

__all__ = [
    "CUSTOM_DEAL_PROPERTIES",
    "CUSTOM_PIPELINE",
    "DEFAULT_PIPELINE",
    "DEV_ACCESS_TOKEN",
    "DEV_APP_ID",
    "DEV_PORTAL_ID",
    "DEV_SUBSCRIPTION_ID",
    "PIPELINES",
    "SCOPES",
    "STANDARD_PROPERTIES",
    "FaultKind",
    "FaultPlan",
    "HubSpotRequest",
    "HubSpotResponse",
    "HubSpotSandbox",
    "HubSpotServer",
    "Pipeline",
    "RequestRecord",
    "SandboxClock",
    "Stage",
]
