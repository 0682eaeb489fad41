"""The HubSpot CRM v3 client: deals, line items, companies, contacts, pipelines; typed models.

Usage::

    from autopilot.hubspot.access import hubspot_client

    hubspot = hubspot_client()
    deal = hubspot.get_deal(5001)
    items = hubspot.read_line_items(deal.line_item_ids)
    hubspot.update_deal(deal.id, {"billomat_offer_number": "AN-0001"})
"""

# Imported on first use, like autopilot.billomat: a function that only needs the errors does
# not pay for httpx and the models at its cold start.
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from autopilot.hubspot.client import HubSpotClient, RequestWindow
    from autopilot.hubspot.errors import (
        HubSpotAuthError,
        HubSpotConfigurationError,
        HubSpotError,
        HubSpotNotFound,
        HubSpotRateLimited,
        HubSpotRejected,
        HubSpotResponseError,
        HubSpotUnavailable,
        is_systemic,
    )
    from autopilot.hubspot.models import (
        Company,
        Contact,
        Deal,
        DealUpdate,
        LineItem,
        Pipeline,
        PipelineStage,
    )

_HOMES = {
    "HubSpotClient": "autopilot.hubspot.client",
    "RequestWindow": "autopilot.hubspot.client",
    "HubSpotAuthError": "autopilot.hubspot.errors",
    "HubSpotConfigurationError": "autopilot.hubspot.errors",
    "HubSpotError": "autopilot.hubspot.errors",
    "HubSpotNotFound": "autopilot.hubspot.errors",
    "HubSpotRateLimited": "autopilot.hubspot.errors",
    "HubSpotRejected": "autopilot.hubspot.errors",
    "HubSpotResponseError": "autopilot.hubspot.errors",
    "HubSpotUnavailable": "autopilot.hubspot.errors",
    "is_systemic": "autopilot.hubspot.errors",
    "Company": "autopilot.hubspot.models",
    "Contact": "autopilot.hubspot.models",
    "Deal": "autopilot.hubspot.models",
    "DealUpdate": "autopilot.hubspot.models",
    "LineItem": "autopilot.hubspot.models",
    "Pipeline": "autopilot.hubspot.models",
    "PipelineStage": "autopilot.hubspot.models",
}


def __getattr__(name: str) -> Any:
    """Load the module that defines ``name`` on first access."""
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value
    return value


__all__ = [
    "Company",
    "Contact",
    "Deal",
    "DealUpdate",
    "HubSpotAuthError",
    "HubSpotClient",
    "HubSpotConfigurationError",
    "HubSpotError",
    "HubSpotNotFound",
    "HubSpotRateLimited",
    "HubSpotRejected",
    "HubSpotResponseError",
    "HubSpotUnavailable",
    "LineItem",
    "Pipeline",
    "PipelineStage",
    "RequestWindow",
    "is_systemic",
]
