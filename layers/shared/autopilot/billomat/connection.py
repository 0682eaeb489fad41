"""One HTTP conversation with a Billomat account: auth headers, quota, retries, error mapping.

Retry rules: 5xx answers, timeouts and connection failures are retried with exponential backoff
and full jitter, but only for requests the caller marks ``retry_safe`` (reads and PUTs). A POST is
never sent twice: if it may have reached Billomat, the error says ``may_have_committed``. A 429
is retried for every method (Billomat executed nothing) once the quota window resets, provided
the wait fits the caller's time budget. All waiting goes through the injected ``sleep``/``now``.

A rotated key: when the connection has a ``credentials`` source (the container's client reads
the secret again), its first 401 within a call re-reads the credentials once; if they changed,
the request is sent once more with them (a 401 means Billomat executed nothing, so even a POST
is safe to repeat). Unchanged credentials, or a second 401, raise ``BillomatAuthError``.

Quota shared with other workers: a connection of a lower ``priority`` leaves a reserve of a
contended window to the higher ones (see :mod:`autopilot.billomat.rate_limit`); that wait, too,
happens here when it fits the budget and is otherwise a ``BillomatRateLimitedError``.
"""

from __future__ import annotations

import json
import logging
import random
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, NoReturn

import httpx

from autopilot.billomat.envelope import decimal_text, decode_json, error_messages
from autopilot.billomat.errors import (
    BillomatAuthError,
    BillomatError,
    BillomatForbiddenError,
    BillomatNotFoundError,
    BillomatRateLimitedError,
    BillomatResponseError,
    BillomatUnavailableError,
    BillomatValidationError,
)
from autopilot.billomat.rate_limit import (
    BILLOMAT_WINDOW_SECONDS,
    RateLimitState,
    RatePriority,
    retry_after_429,
)

logger = logging.getLogger("autopilot.billomat")

READ_METHODS = frozenset({"GET", "HEAD"})
MAX_RATE_LIMIT_WAITS = 3
"""Waits for a quota reset within one call; more means the quota is shared with someone busy."""
BACKOFF_BASE_SECONDS = 0.5
BACKOFF_CAP_SECONDS = 8.0
ERROR_SNIPPET_CHARS = 200

# Failures after which a request may or may not have reached Billomat; retried when retry-safe.
_TRANSIENT_FAILURES = (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError)
# Failures that happen before a single byte of the request left this machine.
_NOT_SENT_FAILURES = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


@dataclass(frozen=True)
class BillomatCredentials:
    """What authenticates a request: the API key and, for a registered app, its id and secret."""

    api_key: str
    app_id: str | None = None
    app_secret: str | None = None

    def __repr__(self) -> str:
        return f"BillomatCredentials(app_id={self.app_id!r})"  # never the key or the secret


class BillomatConnection:
    """Sends requests to one Billomat account and turns failures into ``BillomatError``s."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        app_id: str | None = None,
        app_secret: str | None = None,
        transport: httpx.BaseTransport | None = None,
        timeout: float = 10.0,
        max_retries: int = 3,
        sleep: Callable[[float], None] = time.sleep,
        now: Callable[[], float] = time.time,
        time_budget: Callable[[], float] | None = None,
        max_wait: float = 60.0,
        priority: RatePriority = RatePriority.ORDERS,
        rate_window_seconds: float = BILLOMAT_WINDOW_SECONDS,
        credentials: Callable[[], BillomatCredentials] | None = None,
    ) -> None:
        current = BillomatCredentials(api_key, app_id, app_secret)
        _check(current)
        self.base_url = httpx.URL(base_url if base_url.endswith("/") else base_url + "/")
        self.max_retries = max_retries
        self.time_budget = time_budget
        self.max_wait = max_wait
        self.rate_limit = RateLimitState()
        self.priority = priority
        self.rate_window_seconds = rate_window_seconds
        self.request_count = 0
        self._sleep = sleep
        self._now = now
        self._jitter = random.Random()  # noqa: S311 - backoff jitter, not cryptography
        self._credentials_source = credentials
        self._secrets: tuple[str, ...] = ()
        self._http = httpx.Client(
            headers={"Accept": "application/json", "Content-Type": "application/json"},
            transport=transport,
            timeout=httpx.Timeout(timeout),
            follow_redirects=False,
        )
        self._use(current)

    def _use(self, credentials: BillomatCredentials) -> None:
        """Send ``credentials`` from now on (and keep every key seen out of errors and logs)."""
        self._credentials = credentials
        headers = self._http.headers
        headers["X-BillomatApiKey"] = credentials.api_key
        if credentials.app_id is not None and credentials.app_secret is not None:
            headers["X-AppId"] = credentials.app_id
            headers["X-AppSecret"] = credentials.app_secret
        else:
            headers.pop("X-AppId", None)
            headers.pop("X-AppSecret", None)
        fresh = (credentials.api_key, credentials.app_secret)
        self._secrets += tuple(s for s in fresh if s and s not in self._secrets)

    def _renewed_credentials(self) -> bool:
        """After a 401: read the credentials again; True when they changed and are now used."""
        if self._credentials_source is None:
            return False
        try:
            renewed = self._credentials_source()
            _check(renewed)
        except Exception as exc:  # the 401 stands; why the re-read failed is logged
            logger.warning(
                "Billomat refused the API key and re-reading it failed: %s",
                self._redact(str(exc)),
            )
            return False
        if renewed == self._credentials:
            logger.warning("Billomat refused the API key; the secret still holds the same key")
            return False
        logger.warning("Billomat refused the API key; the secret holds a new one: retrying once")
        self._use(renewed)
        return True

    def __repr__(self) -> str:
        return f"BillomatConnection(base_url={str(self.base_url)!r})"

    def close(self) -> None:
        """Release the pooled HTTP connections."""
        self._http.close()

    def allowed_wait(self) -> float:
        """Seconds this call may still spend waiting (time budget, else ``max_wait``)."""
        budget = self.time_budget() if self.time_budget is not None else self.max_wait
        return max(0.0, budget)

    def send(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        body: Mapping[str, Any] | None = None,
        retry_safe: bool,
    ) -> httpx.Response:
        """Send one request (plus the retries the rules allow); return a 2xx response or raise."""
        url = self.base_url.join(path.lstrip("/"))
        content = _encode_json(body) if body is not None else None
        failures = 0
        rate_limit_waits = 0
        reread_credentials = False
        while True:
            self._wait_for_quota(method, url.path)
            started = time.perf_counter()
            try:
                response = self._http.request(method, url, params=params, content=content)
            except _TRANSIENT_FAILURES as exc:
                sent = not isinstance(exc, _NOT_SENT_FAILURES)
                self.request_count += int(sent)
                logger.info(
                    "Billomat %s %s failed: %s",
                    method,
                    url.path,
                    type(exc).__name__,
                    extra={"billomat_method": method, "billomat_path": url.path},
                )
                if retry_safe and failures < self.max_retries and self._back_off(failures):
                    failures += 1
                    continue
                error = BillomatUnavailableError(
                    f"Billomat could not be reached ({type(exc).__name__})",
                    may_have_committed=sent and method not in READ_METHODS,
                    method=method,
                    path=url.path,
                )
                error.attempts = failures + 1
                raise error from exc
            except httpx.HTTPError as exc:
                raise BillomatError(
                    f"Billomat request could not be made ({type(exc).__name__})",
                    method=method,
                    path=url.path,
                ) from exc
            self.request_count += 1
            self.rate_limit.update(response.headers, seen_at=self._now())
            self._log_exchange(response, started)
            status = response.status_code
            if 200 <= status < 300:
                return response
            messages = self._messages(response)
            if status == 429:
                self.rate_limit.refused(self._now())
                wait = retry_after_429(self.rate_limit, messages, self._now())
                if rate_limit_waits < MAX_RATE_LIMIT_WAITS and wait <= self.allowed_wait():
                    self._wait_for_reset(wait, method, url.path)
                    rate_limit_waits += 1
                    continue
                self._raise(
                    BillomatRateLimitedError(
                        "Billomat request quota used up; retry after the window resets",
                        retry_after=wait,
                        status_code=status,
                        method=method,
                        path=url.path,
                        messages=messages,
                    ),
                    failures,
                )
            if status >= 500:
                if retry_safe and failures < self.max_retries and self._back_off(failures):
                    failures += 1
                    continue
                self._raise(
                    BillomatUnavailableError(
                        f"Billomat is unavailable (HTTP {status})",
                        may_have_committed=method not in READ_METHODS,
                        status_code=status,
                        method=method,
                        path=url.path,
                        messages=messages,
                    ),
                    failures,
                )
            if status == 401 and not reread_credentials:
                reread_credentials = True  # once per call: never a loop of re-reads
                if self._renewed_credentials():
                    continue
            self._raise(_error_for_status(status, method, url.path, messages), failures)

    def _wait_for_quota(self, method: str, path: str) -> None:
        """Do not send into an exhausted window, nor into the reserve a lower priority leaves
        to higher ones: wait if it fits, else refuse."""
        now = self._now()
        wait = self.rate_limit.exhausted_for(now)
        if wait is not None:
            if wait <= self.allowed_wait():
                self._wait_for_reset(wait, method, path)
                return
            raise BillomatRateLimitedError(
                "Billomat request quota used up; not sending before the window resets",
                retry_after=wait,
                method=method,
                path=path,
            )
        held = self.rate_limit.held_back_for(now, self.priority, self.rate_window_seconds)
        if held is None:
            return
        if held <= self.allowed_wait():
            logger.info(
                "Billomat quota shared: leaving the rest of the window to higher priorities "
                "for %.1f s before %s %s",
                held,
                method,
                path,
                extra={"billomat_wait_seconds": held, "billomat_priority": self.priority.value},
            )
            self._sleep(held)
            return
        raise BillomatRateLimitedError(
            f"Billomat quota shared: the rest of this window is left to work before "
            f"{self.priority.value}",
            retry_after=held,
            method=method,
            path=path,
        )

    def _wait_for_reset(self, wait: float, method: str, path: str) -> None:
        logger.warning(
            "Billomat quota used up; waiting %.1f s for the next window before %s %s",
            wait,
            method,
            path,
            extra={"billomat_wait_seconds": wait},
        )
        self._sleep(wait)
        self.rate_limit.window_passed()

    def _back_off(self, failures: int) -> bool:
        """Sleep before retry ``failures + 1``; False when the sleep would not fit the budget."""
        ceiling = min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2**failures)
        delay = self._jitter.uniform(0.0, ceiling)
        if delay > self.allowed_wait():
            return False
        logger.info("Retrying Billomat request in %.2f s (retry %d)", delay, failures + 1)
        self._sleep(delay)
        return True

    def _raise(self, error: BillomatError, failures: int) -> NoReturn:
        error.attempts = failures + 1
        raise error

    def _messages(self, response: httpx.Response) -> list[str]:
        """Billomat's error messages, or a readable snippet of a non-JSON (e.g. HTML) body."""
        try:
            messages = error_messages(decode_json(response.content))
        except ValueError:
            text = response.content.decode("utf-8", errors="replace")
            text = " ".join(re.sub(r"<[^>]*>", " ", text).split())
            messages = [text[:ERROR_SNIPPET_CHARS]] if text else []
        return [self._redact(message) for message in messages]

    def _redact(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text

    def _log_exchange(self, response: httpx.Response, started: float) -> None:
        elapsed_ms = (time.perf_counter() - started) * 1000
        request = response.request
        logger.debug(
            "Billomat %s %s -> %d in %.0f ms (quota left: %s)",
            request.method,
            request.url.path,
            response.status_code,
            elapsed_ms,
            self.rate_limit.remaining,
            extra={
                "billomat_method": request.method,
                "billomat_path": request.url.path,
                "billomat_status": response.status_code,
                "billomat_elapsed_ms": round(elapsed_ms),
                "billomat_rate_limit_remaining": self.rate_limit.remaining,
            },
        )


def _check(credentials: BillomatCredentials) -> None:
    if not credentials.api_key:
        raise ValueError("a Billomat API key is required")
    if (credentials.app_id is None) != (credentials.app_secret is None):
        raise ValueError("a registered Billomat app needs both app id and app secret")


def _error_for_status(status: int, method: str, path: str, messages: list[str]) -> BillomatError:
    detail = "; ".join(messages)
    where: dict[str, Any] = {
        "status_code": status,
        "method": method,
        "path": path,
        "messages": messages,
    }
    if status == 400:
        return BillomatValidationError(f"Billomat refused the request: {detail}", **where)
    if status == 401:
        return BillomatAuthError(
            "Billomat rejected the credentials: check the Billomat API key"
            " and, for a registered app, the app id and app secret",
            **where,
        )
    if status == 403:
        return BillomatForbiddenError(
            "The Billomat user of this API key may not do this" + (f": {detail}" if detail else ""),
            **where,
        )
    if status == 404:
        return BillomatNotFoundError(
            "Billomat does not know this record or path" + (f": {detail}" if detail else ""),
            **where,
        )
    return BillomatResponseError(
        f"Unexpected Billomat answer HTTP {status}" + (f": {detail}" if detail else ""), **where
    )


def _encode_json(body: Mapping[str, Any]) -> bytes:
    def fallback(value: object) -> str:
        if isinstance(value, Decimal):
            return decimal_text(value)
        raise TypeError(f"cannot send {type(value).__name__} to Billomat")

    return json.dumps(body, ensure_ascii=False, separators=(",", ":"), default=fallback).encode()
