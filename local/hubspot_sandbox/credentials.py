"""Documented fake identities of the sandbox portal: not secrets, and useless against HubSpot."""

from __future__ import annotations

from local.dev_settings import DEV_HUBSPOT_ACCESS_TOKEN

DEV_ACCESS_TOKEN = DEV_HUBSPOT_ACCESS_TOKEN
"""Private-app token the sandbox accepts (``Authorization: Bearer <token>``), as in local mode."""

DEV_PORTAL_ID = 4711000
"""HubSpot account id (``portalId``) of the sandbox portal."""

DEV_APP_ID = 4711001
"""``appId`` in the webhook events the sandbox builds."""

DEV_SUBSCRIPTION_ID = 4711002
"""``subscriptionId`` in the webhook events (the ``deal.propertyChange`` on ``dealstage``)."""

SCOPES = frozenset(
    {
        "crm.objects.deals.read",
        "crm.objects.deals.write",
        "crm.objects.companies.read",
        "crm.objects.contacts.read",
        "crm.objects.line_items.read",
    }
)
"""Every scope an endpoint of the sandbox asks for; a fresh sandbox grants them all."""
