"""One Billomat client per container, configured from the environment and Secrets Manager."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import TYPE_CHECKING

from autopilot.secrets import read_json_secret
from autopilot.settings import BillomatSettings

if TYPE_CHECKING:
    # The client (httpx, pydantic models) is imported when the first request needs it.
    from autopilot.billomat import BillomatClient

# Seconds kept back from the Lambda's remaining time when deciding whether a rate-limit
# wait fits: enough to record the checkpoint and answer SQS.
SAFETY_MARGIN_SECONDS = 10.0
# sam deploy --guided cannot leave a NoEcho parameter empty, so "-" means "not set".
UNSET = frozenset({"", "-"})


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
    secret = read_json_secret(settings.secret_arn)
    api_key = secret.get("api_key", "")
    if not api_key:
        raise RuntimeError(
            "the Billomat secret has no api_key: set it with sam deploy (BillomatApiKey)"
        )
    app_id, app_secret = secret.get("app_id", ""), secret.get("app_secret", "")
    registered = app_id not in UNSET and app_secret not in UNSET
    return BillomatClient(
        settings.base_url,
        api_key,
        app_id=app_id if registered else None,
        app_secret=app_secret if registered else None,
        priority=RatePriority(settings.priority),
    )


def lambda_time_budget(remaining_millis: Callable[[], int]) -> Callable[[], float]:
    """Seconds a Billomat call may still wait, from the Lambda context's remaining time."""
    return lambda: remaining_millis() / 1000 - SAFETY_MARGIN_SECONDS
