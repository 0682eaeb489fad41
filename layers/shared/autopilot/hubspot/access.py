"""One HubSpot client per container, configured from the environment and Secrets Manager.

``HUBSPOT_BASE_URL`` (default ``https://api.hubapi.com/``) says where HubSpot is,
``HUBSPOT_SECRET_ARN`` names the secret holding ``{"access_token": "..."}``. A rotated token
is picked up without a new container: the client's first 401 in a call reads the secret again
and, if the token changed, repeats the request once with it (:func:`forget_hubspot_client`
drops the whole client instead).
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

from pydantic import Field

from autopilot.hubspot.errors import HubSpotConfigurationError
from autopilot.secrets import UNSET_SECRET_VALUES, read_json_secret
from autopilot.settings import ConfigurationError, EnvironmentSettings

if TYPE_CHECKING:
    # The client (httpx, pydantic models) is imported when the first request needs it.
    from autopilot.hubspot.client import HubSpotClient

DEFAULT_BASE_URL = "https://api.hubapi.com/"


class HubSpotSettings(EnvironmentSettings):
    """Where HubSpot is and where its access token is kept."""

    base_url: str = Field(
        default=DEFAULT_BASE_URL, alias="HUBSPOT_BASE_URL", pattern=r"^https?://[^\s]+$"
    )
    secret_arn: str = Field(alias="HUBSPOT_SECRET_ARN", min_length=1)


_client_override: HubSpotClient | None = None


def use_hubspot_client(client: HubSpotClient | None) -> None:
    """Make :func:`hubspot_client` return ``client`` (tests and benchmarks); None undoes it."""
    global _client_override
    _client_override = client


def hubspot_client() -> HubSpotClient:
    """The container's HubSpot client (built on first use).

    Raises :class:`~autopilot.hubspot.errors.HubSpotConfigurationError` (a
    ``HubSpotAuthError``: dead-lettered, not retried) when the environment or the secret
    holds no usable configuration.
    """
    if _client_override is not None:
        return _client_override
    return _configured_client()


def forget_hubspot_client() -> None:
    """Drop the cached client; the next :func:`hubspot_client` reads the secret afresh.

    The old client is not closed: code still holding it may finish its call (its pool goes
    with the garbage collector).
    """
    _configured_client.cache_clear()


@cache
def _configured_client() -> HubSpotClient:
    from autopilot.hubspot.client import HubSpotClient

    try:
        settings = HubSpotSettings.from_env()
    except ConfigurationError as exc:
        raise HubSpotConfigurationError(str(exc)) from None
    # Not cached by the secrets provider (max_age=0): this runs once per container, again
    # after forget_hubspot_client or a 401, which is exactly when a fresh read is wanted.
    secret_arn = settings.secret_arn
    return HubSpotClient(
        settings.base_url,
        _read_token(secret_arn),
        access_token_source=lambda: _read_token(secret_arn),
    )


def _read_token(secret_arn: str) -> str:
    """The access token, read from Secrets Manager now (``max_age=0``: never a cached value)."""
    token = read_json_secret(secret_arn, max_age=0).get("access_token", "").strip()
    if token in UNSET_SECRET_VALUES:
        raise HubSpotConfigurationError(
            "The HubSpot secret holds no access_token: set the private app's token as"
            " HubSpotAccessToken in sam deploy"
        )
    return token
