"""The HubSpot CRM v3 client: deals, line items, companies, contacts, deal pipelines.

Keep one client per Lambda container (see :mod:`autopilot.hubspot.access`): it holds the
HTTP connection pool and the client-side rate limiter.

Rate limit: a private app may send 100 requests per rolling 10 s. The client spaces its own
requests so that no 10-second window ever holds more than 100 of them (waiting through the
injected ``sleep``/``now``); on a 429 it waits ``Retry-After`` seconds (10 s when HubSpot does
not say) and tries again, at most twice, whenever the wait fits ``time_budget()``. A wait that
does not fit is a :class:`HubSpotRateLimited` instead.

Failures: 5xx answers, timeouts and connection failures raise :class:`HubSpotUnavailable` at
once; the queue's retry does the waiting. Only reads are sent a second time, once and at once,
after a broken connection. 401/403 raise :class:`HubSpotAuthError` (configuration: the token).
The access token never appears in an error, a log line or ``repr``.
"""

from __future__ import annotations

import json
import logging
import math
import re
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from decimal import Decimal
from types import TracebackType
from typing import Any, NoReturn, Self

import httpx

from autopilot.hubspot.errors import (
    HubSpotAuthError,
    HubSpotConfigurationError,
    HubSpotError,
    HubSpotNotFound,
    HubSpotRateLimited,
    HubSpotRejected,
    HubSpotResponseError,
    HubSpotUnavailable,
)
from autopilot.hubspot.models import (
    COMPANY_PROPERTIES,
    CONTACT_PROPERTIES,
    DEAL_ASSOCIATIONS,
    DEAL_PROPERTIES,
    LINE_ITEM_PROPERTIES,
    OBJECT_ID,
    Company,
    Contact,
    Deal,
    DealUpdate,
    LineItem,
    Pipeline,
    batch_results,
    parse_company,
    parse_contact,
    parse_deal,
    parse_line_item,
    parse_pipelines,
)

logger = logging.getLogger("autopilot.hubspot")

RATE_LIMIT_REQUESTS = 100
RATE_LIMIT_SECONDS = 10.0
"""A private app's limit: 100 requests per rolling 10 seconds."""
MAX_RATE_LIMIT_RETRIES = 2
"""Retries after a 429 within one call (three requests in all)."""
FALLBACK_RETRY_AFTER_SECONDS = 10.0
"""The wait after a 429 without a usable Retry-After: one whole rolling window."""
MAX_RETRY_AFTER_SECONDS = 900.0
"""Longer Retry-After values are cut to this (the longest delay an SQS message can get)."""
MIN_SLEEP_SECONDS = 0.001
BATCH_SIZE = 100
"""HubSpot's maximum inputs per batch read."""
MAX_RESPONSE_BYTES = 10 * 1024 * 1024
ERROR_SNIPPET_CHARS = 500
MAX_PROPERTY_VALUE_CHARS = 65536

_PROPERTY_NAME = re.compile(r"^[A-Za-z0-9_-]{1,200}$")
_TOKEN = re.compile(r"^[\x21-\x7e]{1,2000}$")
# Reads may go out once more after a broken connection; a timeout is not retried (it already
# used the time), a write never is.
_CONNECTION_FAILURES = (httpx.NetworkError, httpx.RemoteProtocolError)
_DAILY_POLICIES = frozenset({"DAILY", "SECONDLY_DAILY"})


class RequestWindow:
    """Client-side spacing: never more than ``limit`` requests in any ``seconds`` window."""

    def __init__(self, limit: int = RATE_LIMIT_REQUESTS, seconds: float = RATE_LIMIT_SECONDS):
        self.limit = limit
        self.seconds = seconds
        self._sent: deque[float] = deque(maxlen=limit)

    def wait_before_next(self, now: float) -> float:
        """Seconds until one more request may go out (0 when it may go now)."""
        if len(self._sent) < self.limit:
            return 0.0
        # The same arithmetic as "now - oldest >= seconds", so float rounding cannot let a
        # request in a hair early.
        elapsed = now - self._sent[0]
        return 0.0 if elapsed >= self.seconds else self.seconds - elapsed

    def record(self, now: float) -> None:
        """Count a request sent at ``now``."""
        self._sent.append(now)


class HubSpotClient:
    """Typed access to one HubSpot account through a private-app access token."""

    def __init__(
        self,
        base_url: str,
        access_token: str,
        *,
        transport: httpx.BaseTransport | None = None,
        timeout: float = 10.0,
        sleep: Callable[[float], None] = time.sleep,
        now: Callable[[], float] = time.monotonic,
        time_budget: Callable[[], float] | None = None,
        access_token_source: Callable[[], str] | None = None,
    ) -> None:
        """``access_token_source``, when given, reads the token afresh: a 401 asks it once per
        call and repeats the request once if the token changed (a rotated secret)."""
        if not access_token or not _TOKEN.match(access_token):
            # Never echo the value: it may be a real token with a stray newline.
            raise HubSpotConfigurationError(
                "The HubSpot access token is empty or malformed: set the private app's token"
                " as HubSpotAccessToken in sam deploy"
            )
        self.base_url = httpx.URL(base_url if base_url.endswith("/") else base_url + "/")
        self.time_budget = time_budget
        """Seconds a call may still wait (rate limit); None means no limit."""
        self.requests_sent = 0
        """Requests handed to the transport (retries included)."""
        self._sleep = sleep
        self._now = now
        self._window = RequestWindow()
        self._token = access_token
        self._old_tokens: tuple[str, ...] = ()
        self._token_source = access_token_source
        self._http = httpx.Client(
            headers={"Authorization": f"Bearer {access_token}", "Accept": "application/json"},
            transport=transport,
            timeout=httpx.Timeout(timeout),
            follow_redirects=False,
        )

    def __repr__(self) -> str:
        return f"HubSpotClient(base_url={str(self.base_url)!r})"

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Release the HTTP connection pool."""
        self._http.close()

    # -- reads ----------------------------------------------------------------------------

    def get_deal(self, deal_id: int | str, extra_properties: Iterable[str] = ()) -> Deal:
        """A deal with its company, contact and line item ids (404: :class:`HubSpotNotFound`).

        ``extra_properties`` (e.g. ``billomat_offer_number``) come back in ``Deal.properties``;
        names that are not defined for deals are simply left out by HubSpot.
        """
        path = f"crm/v3/objects/deals/{_object_id(deal_id)}"
        names = _property_names([*DEAL_PROPERTIES, *extra_properties])
        params = {"properties": ",".join(names), "associations": ",".join(DEAL_ASSOCIATIONS)}
        response = self._request("GET", path, params=params, idempotent=True)
        return self._parse(response, parse_deal)

    def read_line_items(self, ids: Iterable[int | str]) -> list[LineItem]:
        """The line items with these ids, in the order of ``ids`` (batch reads of 100).

        A missing line item (deleted, or never there) raises :class:`HubSpotNotFound` naming
        the ids: a deal must not be quoted without one of its items.
        """
        wanted = [_object_id(item) for item in ids]
        unique = list(dict.fromkeys(wanted))
        found: dict[str, LineItem] = {}
        for start in range(0, len(unique), BATCH_SIZE):
            chunk = unique[start : start + BATCH_SIZE]
            found.update(self._read_line_item_batch(chunk))
        return [found[item] for item in wanted]

    def get_company(self, company_id: int | str) -> Company:
        """A company with its name and address properties."""
        path = f"crm/v3/objects/companies/{_object_id(company_id)}"
        params = {"properties": ",".join(COMPANY_PROPERTIES)}
        response = self._request("GET", path, params=params, idempotent=True)
        return self._parse(response, parse_company)

    def get_contact(self, contact_id: int | str) -> Contact:
        """A contact with name, e-mail address and phone number."""
        path = f"crm/v3/objects/contacts/{_object_id(contact_id)}"
        params = {"properties": ",".join(CONTACT_PROPERTIES)}
        response = self._request("GET", path, params=params, idempotent=True)
        return self._parse(response, parse_contact)

    def deal_pipelines(self) -> list[Pipeline]:
        """Every deal pipeline with its stages (not cached here: the caller caches)."""
        response = self._request("GET", "crm/v3/pipelines/deals", idempotent=True)
        return self._parse(response, parse_pipelines)

    # -- writes ---------------------------------------------------------------------------

    def update_deal(self, deal_id: int | str, properties: Mapping[str, str]) -> DealUpdate:
        """Write ``properties`` to the deal; names HubSpot does not define are left out.

        When HubSpot refuses the update only because some properties do not exist for deals
        (400 ``PROPERTY_DOESNT_EXIST``: then it wrote nothing), the rest is sent once more.
        The result names what was written and what is missing. Other refusals raise
        :class:`HubSpotRejected`.
        """
        values = _property_values(properties)
        if not values:
            return DealUpdate()
        path = f"crm/v3/objects/deals/{_object_id(deal_id)}"
        response = self._request(
            "PATCH", path, body={"properties": values}, idempotent=False, passthrough={400}
        )
        if response.status_code != 400:
            return DealUpdate(written=tuple(values))
        undefined = _undefined_properties(response, values)
        if not undefined:
            self._raise_for(response)
        missing = tuple(name for name in values if name in undefined)
        rest = {name: value for name, value in values.items() if name not in undefined}
        logger.warning(
            "HubSpot deals have no properties %s: create them in HubSpot to store them",
            ", ".join(missing),
            extra={"hubspot_missing_properties": list(missing)},
        )
        if rest:
            self._request("PATCH", path, body={"properties": rest}, idempotent=False)
        return DealUpdate(written=tuple(rest), missing=missing)

    # -- plumbing -------------------------------------------------------------------------

    def _read_line_item_batch(self, chunk: Sequence[str]) -> dict[str, LineItem]:
        body = {
            "properties": list(LINE_ITEM_PROPERTIES),
            "inputs": [{"id": item} for item in chunk],
        }
        path = "crm/v3/objects/line_items/batch/read"
        response = self._request("POST", path, body=body, idempotent=True)

        def parse(payload: object) -> dict[str, LineItem]:
            items = (parse_line_item(result) for result in batch_results(payload, BATCH_SIZE))
            return {item.id: item for item in items}

        found = self._parse(response, parse)
        missing = [item for item in chunk if item not in found]
        if missing:
            raise HubSpotNotFound(
                f"HubSpot has no line items {', '.join(missing)} (deleted or never there)",
                ids=missing,
                status=response.status_code,
                category="OBJECT_NOT_FOUND",
                method="POST",
                path=response.request.url.path,
            )
        return {item: found[item] for item in chunk}

    def _allowed_wait(self) -> float:
        if self.time_budget is None:
            return math.inf
        return max(0.0, self.time_budget())

    def _take_slot(self, method: str, path: str) -> None:
        """Wait until the client-side window allows one more request, then count it."""
        while True:
            now = self._now()
            wait = self._window.wait_before_next(now)
            if wait <= 0:
                self._window.record(now)
                return
            if wait > self._allowed_wait():
                raise HubSpotRateLimited(
                    f"HubSpot allows {RATE_LIMIT_REQUESTS} requests per"
                    f" {RATE_LIMIT_SECONDS:g} s; the next slot is too far off for this call",
                    retry_after=wait,
                    category="RATE_LIMIT",
                    method=method,
                    path=path,
                )
            logger.debug("HubSpot request spacing: waiting %.2f s before %s %s", wait, method, path)
            self._sleep(max(wait, MIN_SLEEP_SECONDS))

    def _request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        body: Mapping[str, Any] | None = None,
        idempotent: bool,
        passthrough: Iterable[int] = (),
    ) -> httpx.Response:
        """Send one request (plus the retries the rules allow); return a 2xx answer (or one of
        ``passthrough``) or raise a :class:`HubSpotError`."""
        url = self.base_url.join(path)
        content = json.dumps(body, ensure_ascii=False).encode() if body is not None else None
        headers = {"Content-Type": "application/json"} if content is not None else None
        keep = frozenset(passthrough)
        rate_limit_retries = 0
        connection_retries = 0
        reread_token = False
        while True:
            self._take_slot(method, url.path)
            self.requests_sent += 1
            started = time.perf_counter()
            try:
                response = self._http.request(
                    method, url, params=params, content=content, headers=headers
                )
            except httpx.TimeoutException as exc:
                self._log_failure(method, url.path, exc)
                raise HubSpotUnavailable(
                    f"HubSpot did not answer in time ({type(exc).__name__})",
                    method=method,
                    path=url.path,
                ) from exc
            except _CONNECTION_FAILURES as exc:
                self._log_failure(method, url.path, exc)
                if idempotent and connection_retries < 1:
                    connection_retries += 1
                    continue
                raise HubSpotUnavailable(
                    f"HubSpot could not be reached ({type(exc).__name__})",
                    method=method,
                    path=url.path,
                ) from exc
            except httpx.HTTPError as exc:
                raise HubSpotError(
                    f"HubSpot request could not be made ({type(exc).__name__})",
                    method=method,
                    path=url.path,
                ) from exc
            self._log_exchange(response, started)
            status = response.status_code
            if 200 <= status < 300 or status in keep:
                return response
            if status == 429:
                wait, daily = self._retry_after(response)
                if (
                    not daily
                    and rate_limit_retries < MAX_RATE_LIMIT_RETRIES
                    and wait <= self._allowed_wait()
                ):
                    rate_limit_retries += 1
                    logger.warning(
                        "HubSpot rate limit reached; retrying %s %s in %.1f s",
                        method,
                        url.path,
                        wait,
                        extra={"hubspot_wait_seconds": wait},
                    )
                    self._sleep(wait)
                    continue
            if status == 401 and not reread_token:
                reread_token = True  # once per call: never a loop of re-reads
                if self._renewed_token():
                    continue
            self._raise_for(response)

    def _renewed_token(self) -> bool:
        """After a 401: read the token again; True when it changed and is now sent."""
        if self._token_source is None:
            return False
        try:
            token = self._token_source().strip()
        except Exception as exc:  # the 401 stands; why the re-read failed is logged
            logger.warning(
                "HubSpot refused the access token and re-reading it failed: %s",
                self._redact(str(exc)),
            )
            return False
        if token == self._token or not _TOKEN.match(token):
            logger.warning("HubSpot refused the access token; the secret holds no other token")
            return False
        logger.warning("HubSpot refused the access token; the secret holds a new one: retrying")
        self._old_tokens += (self._token,)
        self._token = token
        self._http.headers["Authorization"] = f"Bearer {token}"
        return True

    def _retry_after(self, response: httpx.Response) -> tuple[float, bool]:
        """Seconds to wait after a 429, and whether it is the daily limit (no use waiting)."""
        _, _, policy = self._error_detail(response)
        daily = policy in _DAILY_POLICIES
        text = response.headers.get("Retry-After", "").strip()
        try:
            wait = float(text) if len(text) <= 20 else math.nan
        except ValueError:
            wait = math.nan
        if not math.isfinite(wait) or wait < 0:
            wait = FALLBACK_RETRY_AFTER_SECONDS
        if daily:
            wait = MAX_RETRY_AFTER_SECONDS
        return min(wait, MAX_RETRY_AFTER_SECONDS), daily

    def _raise_for(self, response: httpx.Response) -> NoReturn:
        """The error for a non-2xx answer."""
        status = response.status_code
        message, category, _ = self._error_detail(response)
        where: dict[str, Any] = {
            "status": status,
            "category": category,
            "method": response.request.method,
            "path": response.request.url.path,
        }
        said = f": {message}" if message else ""
        if status == 429:
            wait, _ = self._retry_after(response)
            raise HubSpotRateLimited(f"HubSpot rate limit reached{said}", retry_after=wait, **where)
        if status >= 500:
            raise HubSpotUnavailable(f"HubSpot is unavailable (HTTP {status}){said}", **where)
        if status == 401:
            raise HubSpotAuthError(
                "HubSpot rejected the access token: set a valid private-app token as"
                " HubSpotAccessToken in sam deploy",
                **where,
            )
        if status == 403:
            raise HubSpotAuthError(
                "The HubSpot private app may not do this (missing scopes: it needs"
                " crm.objects.deals.read/write, crm.objects.line_items.read,"
                f" crm.objects.companies.read, crm.objects.contacts.read){said}",
                **where,
            )
        if status == 404:
            raise HubSpotNotFound(f"HubSpot does not know this object{said}", **where)
        if 400 <= status < 500:
            raise HubSpotRejected(f"HubSpot refused the request{said}", **where)
        raise HubSpotResponseError(
            f"Unexpected HubSpot answer HTTP {status}", field="status", **where
        )

    def _error_detail(self, response: httpx.Response) -> tuple[str, str | None, str | None]:
        """HubSpot's message, category and rate-limit policy of an error answer (redacted)."""
        payload = _decode(response.content) if response.content else None
        if isinstance(payload, Mapping):
            message = payload.get("message")
            category = payload.get("category") or payload.get("errorType")
            policy = payload.get("policyName")
            return (
                self._redact(message if isinstance(message, str) else ""),
                _short(category),
                _short(policy),
            )
        text = response.content[: ERROR_SNIPPET_CHARS * 4].decode("utf-8", errors="replace")
        text = " ".join(re.sub(r"<[^>]*>", " ", text).split())
        return self._redact(text), None, None

    def _redact(self, text: str) -> str:
        for token in (self._token, *self._old_tokens):
            text = text.replace(token, "***")
        if len(text) > ERROR_SNIPPET_CHARS:
            text = text[:ERROR_SNIPPET_CHARS] + "…"
        return text

    def _parse[T](self, response: httpx.Response, parser: Callable[[object], T]) -> T:
        """Decode and parse a 2xx answer; a failure names the request it belongs to."""
        try:
            payload = _decode(response.content)
            if payload is _UNREADABLE:
                raise HubSpotResponseError(
                    "HubSpot sent an unusable answer: body: not JSON (or too large or deep)",
                    field="body",
                )
            return parser(payload)
        except HubSpotResponseError as error:
            error.status = response.status_code
            error.method = response.request.method
            error.path = response.request.url.path
            raise

    def _log_failure(self, method: str, path: str, exc: Exception) -> None:
        logger.info(
            "HubSpot %s %s failed: %s",
            method,
            path,
            type(exc).__name__,
            extra={"hubspot_method": method, "hubspot_path": path},
        )

    def _log_exchange(self, response: httpx.Response, started: float) -> None:
        elapsed_ms = (time.perf_counter() - started) * 1000
        request = response.request
        logger.debug(
            "HubSpot %s %s -> %d in %.0f ms",
            request.method,
            request.url.path,
            response.status_code,
            elapsed_ms,
            extra={
                "hubspot_method": request.method,
                "hubspot_path": request.url.path,
                "hubspot_status": response.status_code,
                "hubspot_elapsed_ms": round(elapsed_ms),
                "hubspot_rate_limit_remaining": response.headers.get(
                    "X-HubSpot-RateLimit-Remaining"
                ),
            },
        )


_UNREADABLE = object()


def _decode(content: bytes) -> Any:
    """JSON with every number exact (Decimal); NaN/Infinity, huge or deep bodies are refused
    (``_UNREADABLE``)."""
    if len(content) > MAX_RESPONSE_BYTES:
        return _UNREADABLE

    def refuse_constant(name: str) -> NoReturn:
        raise ValueError(f"{name} is not a number")

    try:
        return json.loads(content, parse_float=Decimal, parse_constant=refuse_constant)
    except (ValueError, RecursionError):
        return _UNREADABLE


def _undefined_properties(response: httpx.Response, sent: Mapping[str, str]) -> frozenset[str]:
    """Names HubSpot called PROPERTY_DOESNT_EXIST in a 400, when that was its only complaint.

    The 400's ``message`` is ``"Property values were not valid: [ {...}, ... ]"``; any other
    kind of complaint in it (or a message that does not read) gives an empty set.
    """
    payload = _decode(response.content)
    message = payload.get("message") if isinstance(payload, Mapping) else None
    if not isinstance(message, str) or "[" not in message:
        return frozenset()
    try:
        problems, _ = json.JSONDecoder().raw_decode(message, message.index("["))
    except (ValueError, RecursionError):
        return frozenset()
    if not isinstance(problems, list) or not problems:
        return frozenset()
    names = set()
    for problem in problems:
        if not isinstance(problem, Mapping) or problem.get("error") != "PROPERTY_DOESNT_EXIST":
            return frozenset()
        name = problem.get("name")
        if isinstance(name, str) and name in sent:
            names.add(name)
    return frozenset(names)


def _object_id(value: int | str) -> str:
    """A HubSpot object id (numeric) for a URL path; anything else is a ValueError."""
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        text = str(value)
    elif isinstance(value, str):
        text = value
    else:
        raise ValueError(f"not a HubSpot object id: {type(value).__name__}")
    if not OBJECT_ID.match(text):
        raise ValueError(f"not a HubSpot object id: {text[:40]!r}")
    return text


def _property_names(names: Iterable[str]) -> list[str]:
    unique = list(dict.fromkeys(names))
    for name in unique:
        if not isinstance(name, str) or not _PROPERTY_NAME.match(name):
            raise ValueError(f"not a HubSpot property name: {str(name)[:60]!r}")
    return unique


def _property_values(properties: Mapping[str, str]) -> dict[str, str]:
    values = dict(properties)
    _property_names(values)
    for name, value in values.items():
        if not isinstance(value, str):
            raise ValueError(f"HubSpot property {name} must be text, got {type(value).__name__}")
        if len(value) > MAX_PROPERTY_VALUE_CHARS:
            raise ValueError(f"HubSpot property {name} is longer than {MAX_PROPERTY_VALUE_CHARS}")
    return values


def _short(value: object) -> str | None:
    return value[:100] if isinstance(value, str) and value else None
