"""The webhook events HubSpot POSTs to the intake (one element of the JSON array)."""

from __future__ import annotations

from typing import Any

PROPERTY_CHANGE = "deal.propertyChange"


def deal_event(
    *,
    event_id: int,
    subscription_id: int,
    portal_id: int,
    app_id: int,
    occurred_at: int,
    subscription_type: str,
    deal_id: int,
    stage: str | None,
    change_source: str = "CRM_UI",
) -> dict[str, Any]:
    """One event for a deal; ``*.propertyChange`` events name ``dealstage`` and its value."""
    event: dict[str, Any] = {
        "eventId": event_id,
        "subscriptionId": subscription_id,
        "portalId": portal_id,
        "appId": app_id,
        "occurredAt": occurred_at,
        "subscriptionType": subscription_type,
        "attemptNumber": 0,
        "objectId": deal_id,
    }
    if subscription_type.endswith(".propertyChange"):
        event["propertyName"] = "dealstage"
        event["propertyValue"] = stage
    event["changeSource"] = change_source
    return event
