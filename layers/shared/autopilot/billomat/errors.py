"""What can go wrong when talking to Billomat, as exceptions a workflow can act on.

Every error carries the HTTP method, the URL path (never the query string, which may hold
customer data) and the status code. None of them ever contains the API key or app secret.
``retryable`` tells a worker whether the message should go back to the queue.
"""

from __future__ import annotations

from collections.abc import Sequence


class BillomatError(Exception):
    """Base class of every error raised by the Billomat client."""

    retryable: bool = False

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        method: str | None = None,
        path: str | None = None,
        messages: Sequence[str] = (),
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code
        self.method = method
        self.path = path
        self.messages: tuple[str, ...] = tuple(messages)
        self.attempts = 1
        """How many times the request was sent before this error (retries included)."""

    def __str__(self) -> str:
        where = " ".join(part for part in (self.method, self.path) if part)
        status = f"HTTP {self.status_code}" if self.status_code is not None else "no response"
        return f"{self.message} [{where} -> {status}]" if where else self.message


class BillomatValidationError(BillomatError):
    """400: Billomat refused the request (missing field, illegal state); ``messages`` says why."""


class BillomatAuthError(BillomatError):
    """401: the API key (or the registered app id/secret) was rejected."""


class BillomatForbiddenError(BillomatError):
    """403: the Billomat user behind the API key lacks the right for this call."""


class BillomatNotFoundError(BillomatError):
    """404: unknown id or path."""


class BillomatResponseError(BillomatError):
    """Any other unexpected answer: an unmapped status, or a body unlike what Billomat sends."""


class BillomatUnexpectedResponseError(BillomatResponseError):
    """A 2xx answer whose body could not be read as the expected Billomat record or list."""


class BillomatRateLimitedError(BillomatError):
    """The 15-minute request quota is used up and waiting for the reset does not fit the budget.

    Nothing was executed by Billomat; retry after ``retry_after`` seconds.
    """

    retryable = True

    def __init__(
        self,
        message: str,
        *,
        retry_after: float,
        status_code: int | None = None,
        method: str | None = None,
        path: str | None = None,
        messages: Sequence[str] = (),
    ) -> None:
        super().__init__(
            message, status_code=status_code, method=method, path=path, messages=messages
        )
        self.retry_after = retry_after


class BillomatUnavailableError(BillomatError):
    """5xx, timeout or connection failure that outlasted the retries (or was not retried).

    ``may_have_committed`` is True when a write (POST/PUT/DELETE) may have reached Billomat:
    the workflow must look for the record (e.g. by customfield) before sending it again.
    """

    retryable = True

    def __init__(
        self,
        message: str,
        *,
        may_have_committed: bool,
        status_code: int | None = None,
        method: str | None = None,
        path: str | None = None,
        messages: Sequence[str] = (),
    ) -> None:
        super().__init__(
            message, status_code=status_code, method=method, path=path, messages=messages
        )
        self.may_have_committed = may_have_committed


def certainly_not_executed(error: BillomatError) -> bool:
    """True when Billomat cannot have carried out the request that failed.

    A rate-limit answer or a refusal (4xx) wrote nothing, nor did a request that never
    reached Billomat; a 5xx, a timeout or an unreadable 2xx answer may have written. Workflows
    clear a step's "started" mark only in the first case, so a retry simply redoes the step.
    """
    if isinstance(error, BillomatUnavailableError):
        return not error.may_have_committed
    return isinstance(
        error,
        BillomatRateLimitedError
        | BillomatValidationError
        | BillomatAuthError
        | BillomatForbiddenError
        | BillomatNotFoundError,
    )


def is_systemic(error: BillomatError) -> bool:
    """Errors every further request would hit too: a batch run stops instead of going on."""
    return isinstance(
        error, BillomatRateLimitedError | BillomatUnavailableError | BillomatAuthError
    )


def describe_stop(error: BillomatError) -> str:
    """Why a batch run stopped early, for its summary and the logs."""
    if isinstance(error, BillomatRateLimitedError):
        return f"Billomat rate limit reached (retry in {int(error.retry_after)} s)"
    if isinstance(error, BillomatAuthError):
        return "Billomat refused the API key"
    return f"Billomat unavailable: {error}"
