"""What can go wrong when talking to HubSpot's CRM API, as exceptions a workflow can act on.

Every error carries the HTTP status (None when no answer came), HubSpot's error ``category``
(``OBJECT_NOT_FOUND``, ``VALIDATION_ERROR``, ``MISSING_SCOPES``, ``RATE_LIMIT``, ...), the method
and the URL path (never the query string). None of them ever contains the access token.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar


class HubSpotError(Exception):
    """Base class of every error raised by the HubSpot client."""

    retryable: ClassVar[bool] = False
    """True when the same request may well succeed later (the queue should retry it)."""
    dead_letter_now: ClassVar[bool] = False
    """True when retrying cannot help until someone changes the configuration."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        category: str | None = None,
        method: str | None = None,
        path: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.category = category
        self.method = method
        self.path = path

    def __str__(self) -> str:
        where = " ".join(part for part in (self.method, self.path) if part)
        if not where:
            return self.message
        status = f"HTTP {self.status}" if self.status is not None else "no response"
        return f"{self.message} [{where} -> {status}]"


class HubSpotAuthError(HubSpotError):
    """401/403: the access token is wrong, revoked or lacks scopes. A configuration problem:
    retrying the same message cannot help, so the SQS worker dead-letters it at once."""

    dead_letter_now: ClassVar[bool] = True


class HubSpotConfigurationError(HubSpotAuthError):
    """No usable HubSpot configuration (no token in the secret, environment incomplete)."""


class HubSpotRateLimited(HubSpotError):
    """HubSpot's request limit is reached and waiting for it does not fit the time budget.

    HubSpot executed nothing; retry after ``retry_after`` seconds.
    """

    retryable: ClassVar[bool] = True

    def __init__(
        self,
        message: str,
        *,
        retry_after: float,
        status: int | None = None,
        category: str | None = None,
        method: str | None = None,
        path: str | None = None,
    ) -> None:
        super().__init__(message, status=status, category=category, method=method, path=path)
        self.retry_after = retry_after


class HubSpotUnavailable(HubSpotError):
    """5xx, timeout or connection failure: retry later (the SQS retry does the waiting)."""

    retryable: ClassVar[bool] = True


class HubSpotNotFound(HubSpotError):
    """404: the object does not exist (or was deleted); ``ids`` names the missing objects
    when some of a batch read were missing (HTTP 207)."""

    def __init__(
        self,
        message: str,
        *,
        ids: Sequence[str] = (),
        status: int | None = None,
        category: str | None = None,
        method: str | None = None,
        path: str | None = None,
    ) -> None:
        super().__init__(message, status=status, category=category, method=method, path=path)
        self.ids: tuple[str, ...] = tuple(ids)


class HubSpotRejected(HubSpotError):
    """Any other 4xx: HubSpot refused the request; ``message`` carries HubSpot's reason."""


class HubSpotResponseError(HubSpotError):
    """An answer that does not parse: not JSON, wrong shape, or a value out of bounds.

    ``field`` names where in the answer the problem is (``properties.amount``, ``body``).
    """

    def __init__(
        self,
        message: str,
        *,
        field: str,
        status: int | None = None,
        category: str | None = None,
        method: str | None = None,
        path: str | None = None,
    ) -> None:
        super().__init__(message, status=status, category=category, method=method, path=path)
        self.field = field


def is_systemic(error: BaseException) -> bool:
    """Errors every further request would hit too (rate limit, outage): a batch stops.

    Authentication errors are not in it: they are configuration, handled by dead-lettering.
    """
    return isinstance(error, HubSpotRateLimited | HubSpotUnavailable)
