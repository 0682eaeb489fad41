"""Pieces the queue benches share: SQS and Lambda containers on the sandbox's simulated clock.

- :class:`SimulatedQueue`: an SQS queue whose delays and visibility timeouts follow the
  simulated clock (moto would wait in real time), with receive counts and a dead-letter list.
- :class:`SimulatedThreads`: several workers (Lambda containers) that take turns on one
  simulated clock. One runs at a time; the clock moves only when every worker sleeps (a
  Billomat round trip, a rate-limit wait, an idle poll), to the earliest wake-up. Workers that
  wake at the same instant go in a seeded random order, so each seed is one reproducible
  interleaving.
- :class:`LatencyTransport`: a Billomat round trip takes simulated time (the sandbox answers
  in the middle of it), which is what lets concurrent workers interleave request by request.
- paid Shopify order messages, their references, and the invoices per order in the sandbox.
"""

from __future__ import annotations

import copy
import heapq
import itertools
import json
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "events" / "shopify" / "order-paid-b2c-discount.json"

MAX_RECEIVES = 5  # template.yaml maxReceiveCount
VISIBILITY_SECONDS = 360  # template.yaml VisibilityTimeout


@dataclass
class Delivery:
    """One receive of a simulated SQS message."""

    message: dict[str, Any]
    receives: int


class SimulatedQueue:
    """An SQS queue on the sandbox's simulated clock: messages become visible at a time; a
    message that failed its ``MAX_RECEIVES``-th receive goes to ``dead_letters``."""

    def __init__(self, clock: Any) -> None:
        self.clock = clock
        self._heap: list[tuple[float, int, dict[str, Any], int]] = []
        self._ids = itertools.count()
        self.dead_letters: list[dict[str, Any]] = []
        self.sent: list[tuple[float, dict[str, Any]]] = []
        """(time, message) of every message sent, requeued copies included."""
        self.in_flight = 0
        """Messages received and not yet finished (concurrent containers)."""

    def send(self, message: dict[str, Any], delay: float = 0.0, receives: int = 0) -> None:
        now = self.clock.epoch()
        if receives == 0:
            self.sent.append((now, message))
        heapq.heappush(self._heap, (now + delay, next(self._ids), message, receives))

    def next_visible_at(self) -> float | None:
        """When the next message becomes visible (None: the queue is empty)."""
        return self._heap[0][0] if self._heap else None

    def receive(self, limit: int = 10, *, wait: bool = True) -> list[Delivery]:
        """Up to ``limit`` visible messages; if none is visible yet and ``wait``, move the
        clock on to the next one (one worker alone; concurrent ones sleep instead)."""
        if not self._heap:
            return []
        if wait and self._heap[0][0] > self.clock.epoch():
            self.clock.advance(self._heap[0][0] - self.clock.epoch())
        batch: list[Delivery] = []
        while self._heap and self._heap[0][0] <= self.clock.epoch() and len(batch) < limit:
            _at, _id, message, receives = heapq.heappop(self._heap)
            batch.append(Delivery(message, receives + 1))
        return batch

    def fail(self, delivery: Delivery) -> None:
        """A failed record: visible again after the visibility timeout, or dead-lettered."""
        if delivery.receives >= MAX_RECEIVES:
            self.dead_letters.append(delivery.message)
        else:
            self.send(delivery.message, VISIBILITY_SECONDS, delivery.receives)

    def __len__(self) -> int:
        return len(self._heap)


def requeue_onto(queue: SimulatedQueue) -> Any:
    """A ``DelayedRetry.send`` that puts the requeued copy on ``queue`` (the policy is real)."""

    def send(_self: Any, body: str, delay_seconds: int, _correlation_id: str) -> None:
        queue.send(json.loads(body), delay_seconds)

    return send


class SimulatedThreads:
    """Workers taking turns on a simulated clock (see the module docstring).

    Every wait of a worker must go through :meth:`sleep` (give it to the Billomat client as
    its ``sleep``); anything else a worker does takes no simulated time.
    """

    def __init__(self, clock: Any, rng: random.Random) -> None:
        self.clock = clock
        self.rng = rng
        self._turn_changed = threading.Condition()
        self._wakeups: list[tuple[float, float, str]] = []
        self._turn: str | None = None
        self._local = threading.local()
        self._threads: list[threading.Thread] = []
        self.errors: list[tuple[str, BaseException]] = []

    def start(self, name: str, work: Callable[[], None]) -> None:
        """Add a worker; it runs first when :meth:`run` gives it its turn."""

        def body() -> None:
            self._local.name = name
            with self._turn_changed:
                while self._turn != name:
                    self._turn_changed.wait()
            try:
                work()
            except BaseException as error:  # reported by run(), after the others finish
                self.errors.append((name, error))
            finally:
                with self._turn_changed:
                    self._turn = None
                    self._turn_changed.notify_all()

        with self._turn_changed:
            heapq.heappush(self._wakeups, (self.clock.epoch(), self.rng.random(), name))
        thread = threading.Thread(target=body, name=name, daemon=True)
        self._threads.append(thread)
        thread.start()

    def sleep(self, seconds: float) -> None:
        """Let simulated ``seconds`` pass for the calling worker (the others run meanwhile)."""
        name = self._local.name
        with self._turn_changed:
            wake_at = self.clock.epoch() + max(seconds, 0.0)
            heapq.heappush(self._wakeups, (wake_at, self.rng.random(), name))
            self._turn = None
            self._turn_changed.notify_all()
            while self._turn != name:
                self._turn_changed.wait()

    def run(self) -> None:
        """Run every worker to its end; re-raise the first error one of them raised."""
        while True:
            with self._turn_changed:
                while self._turn is not None:
                    self._turn_changed.wait()
                if not self._wakeups:
                    break
                wake_at, _tie, name = heapq.heappop(self._wakeups)
                if wake_at > self.clock.epoch():
                    self.clock.set(datetime.fromtimestamp(wake_at, UTC))
                self._turn = name
                self._turn_changed.notify_all()
        for thread in self._threads:
            thread.join()
        if self.errors:
            name, error = self.errors[0]
            raise RuntimeError(f"worker {name} failed: {error!r}") from error


class LatencyTransport(httpx.BaseTransport):
    """A Billomat round trip of ``low``-``high`` simulated seconds; the sandbox answers (and
    counts the request against its quota) half-way."""

    def __init__(
        self,
        inner: httpx.BaseTransport,
        threads: SimulatedThreads,
        low: float = 0.15,
        high: float = 0.45,
    ) -> None:
        self.inner = inner
        self.threads = threads
        self.low = low
        self.high = high

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        half = self.threads.rng.uniform(self.low, self.high) / 2
        self.threads.sleep(half)
        response = self.inner.handle_request(request)
        self.threads.sleep(half)
        return response


def order_message(number: int, customer: int) -> dict[str, Any]:
    """A paid Shopify order (the discount sample with its own id and customer)."""
    from webhooks.shopify_orders import ShopifyOrderPayload, shop_order_from_shopify

    from autopilot.messages import ShopOrderMessage

    body = copy.deepcopy(json.loads(SAMPLE.read_text("utf-8"))["body"])
    body["id"] = 5_000_000 + number
    body["name"] = f"#{5000 + number}"
    body["customer"]["id"] = 9_000_000 + customer
    body["email"] = body["customer"]["email"] = f"kunde{customer}@example.de"
    order = shop_order_from_shopify(ShopifyOrderPayload.model_validate(body), "bench.myshopify.com")
    return ShopOrderMessage(topic="orders/paid", order=order).as_body()


def order_reference(number: int) -> str:
    return f"shopify:bench.myshopify.com:order:{5_000_000 + number}"


def invoices_per_order(sandbox: Any, refs: set[str]) -> tuple[dict[str, int], set[str]]:
    """(invoices per order reference, references whose invoice is PAID)."""
    per_order: dict[str, int] = {}
    paid = set()
    for invoice in sandbox.snapshot().get("invoices", []):
        ref = str(invoice.get("customfield") or "")
        if ref in refs:
            per_order[ref] = per_order.get(ref, 0) + 1
            if invoice.get("status") == "PAID":
                paid.add(ref)
    return per_order, paid


def requests_per_window(
    sandbox: Any, first_request: int, start_window: float, window_seconds: float
) -> dict[int, int]:
    """Requests the sandbox served (429s excluded) per rate-limit window since
    ``first_request``, by window number counted from ``start_window``."""
    per_window: dict[int, int] = {}
    for record in sandbox.requests[first_request:]:
        if record.status == 429:
            continue
        window = int((record.at.timestamp() - start_window) // window_seconds)
        per_window[window] = per_window.get(window, 0) + 1
    return per_window


def filled_share(per_window: dict[int, int], limit: int) -> float:
    """Requests served in the windows the burst filled, as a share of what the limit allows
    there: every window from the first to the one before the last (the last is a remainder).
    A window with no request in between counts, as a lost one."""
    if not per_window:
        return 0.0
    first, last = min(per_window), max(per_window)
    windows = range(first, last) if last > first else range(first, last + 1)
    return sum(per_window.get(w, 0) for w in windows) / (limit * len(windows))
