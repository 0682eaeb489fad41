"""One Billomat client per container, configured from the environment and Secrets Manager.

A rotated key reaches warm containers without a restart: the client's first 401 in a call reads
the secret again (:func:`_read_credentials`) and, if the key changed, repeats the request once
with the new key (see :mod:`autopilot.billomat.connection`).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import TYPE_CHECKING

from autopilot.secrets import UNSET_SECRET_VALUES, read_json_secret
from autopilot.settings import BillomatSettings

if TYPE_CHECKING:
    # The client (httpx, pydantic models) is imported when the first request needs it.
    from autopilot.billomat import BillomatClient
    from autopilot.billomat.connection import BillomatCredentials

# Seconds kept back from the Lambda's remaining time when deciding whether a rate-limit
# wait fits: enough to record the checkpoint and answer SQS.
SAFETY_MARGIN_SECONDS = 10.0


_client_override: BillomatClient | None = None


def use_billomat_client(client: BillomatClient | None) -> None:
    """Make ``billomat_client()`` return ``client`` (tests and benchmarks); None undoes it."""
    global _client_override
    _client_override = client


def billomat_client() -> BillomatClient:
    """The container's Billomat client (key and optional app credentials from the secret,
    ``BILLOMAT_PRIORITY`` for its place when functions compete for the quota)."""
    if _client_override is not None:
        return _client_override
    return _configured_client()


@cache
def _configured_client() -> BillomatClient:
    from autopilot.billomat import BillomatClient
    from autopilot.billomat.rate_limit import RatePriority

    settings = BillomatSettings.from_env()
    credentials = _read_credentials(settings.secret_arn)
    return BillomatClient(
        settings.base_url,
        credentials.api_key,
        app_id=credentials.app_id,
        app_secret=credentials.app_secret,
        priority=RatePriority(settings.priority),
        credentials=lambda: _read_credentials(settings.secret_arn),
    )


def _read_credentials(secret_arn: str) -> BillomatCredentials:
    """The key and optional app credentials, read from Secrets Manager now.

    Never from the secrets provider's cache (``max_age=0``): this runs once per container and
    again after Billomat refuses the key, which is exactly when a fresh value is wanted.
    """
    from autopilot.billomat.connection import BillomatCredentials

    secret = read_json_secret(secret_arn, max_age=0)
    api_key = secret.get("api_key", "")
    if not api_key:
        raise RuntimeError(
            "the Billomat secret has no api_key: set it with sam deploy (BillomatApiKey)"
        )
    app_id, app_secret = secret.get("app_id", ""), secret.get("app_secret", "")
    if app_id in UNSET_SECRET_VALUES or app_secret in UNSET_SECRET_VALUES:
        return BillomatCredentials(api_key)
    return BillomatCredentials(api_key, app_id, app_secret)


def lambda_time_budget(remaining_millis: Callable[[], int]) -> Callable[[], float]:
    """Seconds a Billomat call may still wait, from the Lambda context's remaining time."""
    return lambda: remaining_millis() / 1000 - SAFETY_MARGIN_SECONDS
