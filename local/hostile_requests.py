"""Hostile and malformed webhook deliveries, made from the sample events (issue #8).

One generator, two drivers: ``tests/e2e/test_intake_fuzz.py`` feeds it Hypothesis' random
(so failures shrink and replay), ``bench/intake_fuzz.py`` a seeded ``random.Random`` (so the
printed figures are repeatable). Every request is one of:

- a sample body with one or several leaves replaced by a hostile value (boundary and
  out-of-range numbers, non-ASCII digits, lone surrogates, dates at the end of time, huge
  texts, wrong types), **correctly signed** — signed is not the same as valid;
- a hostile JSON document or random bytes, correctly signed;
- a valid sample with hostile headers (signature, shop, source, topic, event id), often
  without a valid signature — what anyone on the internet can send.

Each request says whether it is signed; the intake must answer 2xx, 400, 401, 409 or 413, never
a 5xx (every route's workflow is built: not even a 501), and an answer other than 200 must
leave nothing behind.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from local.sample_events import EVENTS_DIR, sample_files, signed_headers

HOSTILE_NUMBERS: tuple[Any, ...] = (
    "1e30", "1E+28", "1e308", "-1e30", 1e308, -1e308, 10**30, 10**400, "9" * 5000,
    "12.345", "-1", "-0.01", "0", "0.00", "0.001", "١٢", "١٢.٠٠", "٣", "²", "1_000", "1,5",
    "NaN", "Infinity", "-Infinity", "", " ", "0x10", "1e-400", 19, 100, 101, 1.5, -0.0,
    True, False, None, 2**63, 2**64, "99999999999999999999.99",
)  # fmt: skip
HOSTILE_TEXTS: tuple[Any, ...] = (
    "\ud800", "a\udfffb", "\x00", "\u202e", "x" * 3000, "x" * 70_000, "", " ", "🙂" * 100,
    "<script>", "'; DROP TABLE", "%s%s%s", "\\", "\n\r\t", "ﬀ", "İ",
    "9999-12-31T23:59:59-23:59", "0001-01-01T00:00:00+23:59", "2026-02-30", "9999-12-31",
    "not-a-date", [], {}, [None], {"a": {"b": []}},
)  # fmt: skip
HOSTILE_HEADER_VALUES: tuple[str, ...] = (
    "", " ", "x" * 3000, "ä" * 64, "🙂", "t=²,v1=" + "0" * 64, "t=" + "9" * 5000 + ",v1=00",
    "t=1,v1=" + "ä" * 64, "http://[", "https://evil.example/", "evil.myshopify.com",
    "demo-shop.myshopify.com.", "DEMO-SHOP.MYSHOPIFY.COM", "https://WWW.shop.example.de",
    "orders/paid", "orders/delete", "order.updated", "products/delete", "products/update",
    "product.deleted", "product.restored", "=" * 44, "\x7f", "a" * 44 + "=",
)  # fmt: skip
SIGNATURE_HEADERS = (
    "X-Shopify-Hmac-Sha256", "X-WC-Webhook-Signature", "X-Signature", "X-Qonto-Signature",
    "X-HubSpot-Signature-v3", "X-HubSpot-Request-Timestamp",
)  # fmt: skip
OTHER_HEADERS = (
    "X-Shopify-Shop-Domain", "X-Shopify-Topic", "X-Shopify-Event-Id", "X-WC-Webhook-Source",
    "X-WC-Webhook-Topic", "Content-Type",
)  # fmt: skip
ACCEPTABLE_STATUSES = frozenset({200, 400, 401, 409, 413})


@dataclass(frozen=True)
class HostileRequest:
    """One request for the intake, and what it is."""

    attack: str
    route: str
    headers: dict[str, str]
    body: bytes
    signed: bool


@dataclass(frozen=True)
class Sample:
    route: str
    scheme: str
    headers: dict[str, str]
    body: Any


def load_samples(directory: Path = EVENTS_DIR) -> list[Sample]:
    """The JSON sample deliveries that carry a signature."""
    samples = []
    for path in sample_files(directory):
        spec = json.loads(path.read_text("utf-8"))
        if spec.get("signature", "none") != "none" and not isinstance(spec["body"], str):
            samples.append(
                Sample(spec["route"], spec["signature"], dict(spec["headers"]), spec["body"])
            )
    return samples


class HostileRequests:
    """Makes hostile requests from the samples, signed with ``webhook_secrets``."""

    def __init__(
        self,
        webhook_secrets: Mapping[str, str],
        public_base_url: str = "http://127.0.0.1:3000",
        samples: list[Sample] | None = None,
    ) -> None:
        self.secrets = webhook_secrets
        self.public_base_url = public_base_url
        self.samples = samples if samples is not None else load_samples()

    def make(self, rng: random.Random) -> HostileRequest:
        """One hostile request; ``rng`` decides everything (so a seed replays it)."""
        sample = rng.choice(self.samples)
        attack = rng.choice(["leaf", "leaves", "leaf", "leaves", "document", "bytes", "headers"])
        headers = dict(sample.headers)
        if attack in {"leaf", "leaves"}:
            body_value = json.loads(json.dumps(sample.body))
            for _ in range(1 if attack == "leaf" else rng.randint(2, 6)):
                body_value = _replace_random_leaf(rng, body_value)
            body = _encode(rng, body_value)
        elif attack == "document":
            body = _encode(rng, _hostile_document(rng, depth=0))
        elif attack == "bytes":
            body = rng.choice(
                [
                    rng.randbytes(rng.randint(0, 300)),
                    b"[" * rng.choice([100, 10_000, 100_000]),
                    b'{"a":' * 50_000 + b"1" + b"}" * 50_000,
                    b"\xff\xfe{}",
                    b"x" * (1024 * 1024 + 1),
                    b"webhook_id=1&x=2",
                ]
            )
        else:
            body = _encode(rng, sample.body)
        signed = attack != "headers" or rng.random() < 0.5
        if signed:
            headers = signed_headers(
                sample.scheme,
                sample.route,
                headers,
                body,
                self.secrets,
                self.public_base_url,
                int(time.time()),
            )
        if attack == "headers":
            headers = _hostile_headers(rng, headers)
        return HostileRequest(attack, sample.route, headers, body, signed)


def _encode(rng: random.Random, value: Any) -> bytes:
    """JSON text of ``value``; lone surrogates and big numbers survive (``ensure_ascii``)."""
    text = json.dumps(value, ensure_ascii=True, default=str, separators=(",", ":"))
    if rng.random() < 0.1:  # numbers as JSON numbers where they were strings
        text = text.replace('"1e30"', "1e30").replace('"1E+28"', "1E+28")
    return text.encode("utf-8")


def _leaf_paths(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Paths of the leaves; an empty object or list is a leaf (a body may be ``{"id": 1}``)."""
    if isinstance(value, dict) and value:
        return [p for key, child in value.items() for p in _leaf_paths(child, (*path, key))]
    if isinstance(value, list) and value:
        return [p for index, child in enumerate(value) for p in _leaf_paths(child, (*path, index))]
    return [path]


def _replace_random_leaf(rng: random.Random, value: Any) -> Any:
    paths = _leaf_paths(value)
    path = rng.choice(paths)
    replacement = rng.choice(HOSTILE_NUMBERS + HOSTILE_TEXTS)
    if not path:
        return replacement
    target = value
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = replacement
    return value


def _hostile_document(rng: random.Random, depth: int) -> Any:
    choice = rng.random()
    if depth > 4 or choice < 0.4:
        return rng.choice(HOSTILE_NUMBERS + HOSTILE_TEXTS)
    if choice < 0.7:
        return {
            rng.choice(["id", "total", "line_items", "data", "amount", "\ud800", "x" * 300]): (
                _hostile_document(rng, depth + 1)
            )
            for _ in range(rng.randint(0, 4))
        }
    return [_hostile_document(rng, depth + 1) for _ in range(rng.randint(0, 4))]


def _hostile_headers(rng: random.Random, headers: dict[str, str]) -> dict[str, str]:
    changed = dict(headers)
    for _ in range(rng.randint(1, 3)):
        name = rng.choice(SIGNATURE_HEADERS + OTHER_HEADERS)
        if rng.random() < 0.2:
            changed.pop(name, None)
        else:
            changed[name] = rng.choice(HOSTILE_HEADER_VALUES)
    return changed


@dataclass(frozen=True)
class ProbeResult:
    """What one request did at the intake."""

    request: HostileRequest
    status: int
    answer: dict[str, Any]
    problems: list[str]
    """Broken promises: a 5xx, something written for a refused request, a bad message."""


class IntakeProbe:
    """Sends requests through the intake's Lambda handler and checks what it left behind.

    Needs the AWS side of local mode (moto) set up: ``queue_urls`` of the work queues and the
    idempotency table that holds the delivery records.
    """

    def __init__(self, queue_urls: Mapping[str, str], idempotency_table: str) -> None:
        import boto3

        self.queue_urls = dict(queue_urls)
        self.table = idempotency_table
        self.sqs = boto3.client("sqs")
        self.dynamodb = boto3.client("dynamodb")

    def _state(self) -> tuple[int, ...]:
        depths = [
            int(
                self.sqs.get_queue_attributes(
                    QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"]
                )["Attributes"]["ApproximateNumberOfMessages"]
            )
            for url in self.queue_urls.values()
        ]
        records = self.dynamodb.scan(TableName=self.table, Select="COUNT")["Count"]
        return (*depths, records)

    def send(self, request: HostileRequest) -> ProbeResult:
        from local.lambda_events import LocalLambdaContext, http_api_event
        from local.server import INTAKE_HANDLER, load_handler

        lambda_handler = load_handler(INTAKE_HANDLER)

        before = self._state()
        event = http_api_event("POST", request.route, request.headers, request.body)
        try:
            response = lambda_handler(event, LocalLambdaContext(function_name="webhooks"))
        except Exception as exc:  # the Lambda runtime would answer 502
            return ProbeResult(request, 502, {}, [f"raised {type(exc).__name__}: {exc}"[:300]])
        status = int(response["statusCode"])
        try:
            answer = json.loads(response.get("body") or "{}")
        except ValueError:
            answer = {}
        problems = []
        if status not in ACCEPTABLE_STATUSES:
            problems.append(f"status {status}: {str(answer)[:200]}")
        after = self._state()
        if status != 200 and after != before:
            problems.append(f"refused with {status} but wrote something: {before} -> {after}")
        if answer.get("status") == "queued":
            problems += self._queued_message_problems(request.route)
        return ProbeResult(request, status, answer, problems)

    def _queued_message_problems(self, route: str) -> list[str]:
        """A queued message must be one the worker can take: parse it like the worker does."""
        from autopilot.messages import ShopOrderMessage, parse_message
        from autopilot.shop_orders import checked_total

        refunds = ("refunds", {"shop_refund", "shop_cancellation"})
        if "/bank/" in route or "/qonto/" in route:
            expected = [("bank", {"bank_transaction"})]
        elif "/hubspot/" in route:
            expected = [("deals", {"hubspot_deal"})]
        elif route.endswith("/products"):
            expected = [("products", {"shop_product"})]
        elif route.endswith("/refunds"):
            expected = [refunds]
        else:  # an order route: orders, and refunds or cancellations of the order
            expected = [("orders", {"shop_order"}), refunds]
        messages = [
            (queue, kinds, message)
            for queue, kinds in expected
            if queue in self.queue_urls
            for message in self.sqs.receive_message(
                QueueUrl=self.queue_urls[queue], MaxNumberOfMessages=10, VisibilityTimeout=0
            ).get("Messages", [])
        ]
        problems = []
        for queue, kinds, message in messages:
            try:
                parsed = parse_message(message["Body"])
                if parsed.kind not in kinds:
                    raise ValueError(f"a {parsed.kind} message on the {queue} queue")
                if isinstance(parsed, ShopOrderMessage):
                    checked_total(parsed.order, "total")
                parsed.model_dump_json().encode("utf-8")
            except (ValueError, UnicodeError) as exc:
                problems.append(f"queued a message the worker cannot take: {exc}"[:300])
        return problems
