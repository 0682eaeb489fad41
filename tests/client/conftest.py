"""A scripted Billomat on httpx.MockTransport and a simulated clock: no network, no sleeping."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from autopilot.billomat import BillomatClient

BASE_URL = "https://acme.billomat.net/api/"
API_KEY = "k3y-s3cr3t-0123456789abcdef"
APP_SECRET = "app-s3cr3t-fedcba9876543210"
START = 1_700_000_000.0

Handler = Callable[[httpx.Request], httpx.Response]


class SimulatedClock:
    """``now``/``sleep`` for the client: sleeping only advances the clock and is recorded."""

    def __init__(self, start: float = START) -> None:
        self.current = start
        self.sleeps: list[float] = []

    def now(self) -> float:
        return self.current

    def sleep(self, seconds: float) -> None:
        assert seconds >= 0
        self.sleeps.append(seconds)
        self.current += seconds


class ScriptedBillomat:
    """Records every request and answers it with the handler (or the next queued answer)."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []
        self.handler: Handler | None = None
        self.queue: list[httpx.Response | Exception] = []

    def answer(self, *responses: httpx.Response | Exception) -> None:
        self.queue.extend(responses)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.queue:
            answer = self.queue.pop(0)
            if isinstance(answer, Exception):
                raise answer
            return answer
        assert self.handler is not None, f"unexpected request {request.method} {request.url}"
        return self.handler(request)

    @property
    def last(self) -> httpx.Request:
        return self.requests[-1]

    def body(self, index: int = -1) -> Any:
        return json.loads(self.requests[index].content)


def reply(
    payload: Any = None,
    status: int = 200,
    *,
    remaining: int | None = 299,
    reset: float | None = START + 600,
    headers: dict[str, str] | None = None,
    text: str | None = None,
) -> httpx.Response:
    """A Billomat-like response with the quota headers."""
    all_headers = dict(headers or {})
    if remaining is not None:
        all_headers["X-Rate-Limit-Remaining"] = str(remaining)
    if reset is not None:
        all_headers["X-Rate-Limit-Reset"] = str(int(reset))
    if text is not None:
        return httpx.Response(status, text=text, headers=all_headers)
    if payload is None:
        return httpx.Response(status, content=b"", headers=all_headers)
    return httpx.Response(status, json=payload, headers=all_headers)


def listing(plural: str, singular: str, records: list[dict[str, Any]], **attrs: str) -> Any:
    """A list envelope exactly as Billomat renders it (one hit: object; none: no item key)."""
    body: dict[str, Any] = {
        "@page": attrs.get("page", "1"),
        "@per_page": attrs.get("per_page", "1000"),
        "@total": attrs.get("total", str(len(records))),
    }
    if len(records) == 1:
        body[singular] = records[0]
    elif records:
        body[singular] = records
    return {plural: body}


@pytest.fixture
def clock() -> SimulatedClock:
    return SimulatedClock()


@pytest.fixture
def billomat() -> ScriptedBillomat:
    return ScriptedBillomat()


@pytest.fixture
def make_client(
    billomat: ScriptedBillomat, clock: SimulatedClock
) -> Iterator[Callable[..., BillomatClient]]:
    clients: list[BillomatClient] = []

    def build(**options: Any) -> BillomatClient:
        options.setdefault("sleep", clock.sleep)
        options.setdefault("now", clock.now)
        client = BillomatClient(
            BASE_URL, API_KEY, transport=httpx.MockTransport(billomat), **options
        )
        clients.append(client)
        return client

    yield build
    for client in clients:
        client.close()


@pytest.fixture
def client(make_client: Callable[..., BillomatClient]) -> BillomatClient:
    return make_client()
