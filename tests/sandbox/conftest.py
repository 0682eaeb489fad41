"""Fixtures for the Billomat sandbox tests: a simulated clock, a sandbox and plain httpx calls.

The tests talk to the sandbox with raw httpx requests (never the project's Billomat client), so
they pin down the wire format the client has to cope with.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from local.billomat_sandbox import DEV_API_KEY, BillomatSandbox, SandboxClock

START = datetime(2025, 3, 10, 9, 0, tzinfo=UTC)
"""Monday 10 March 2025, 10:00 in Berlin."""


@pytest.fixture
def clock() -> SandboxClock:
    return SandboxClock(START)


@pytest.fixture
def sandbox(clock: SandboxClock) -> BillomatSandbox:
    return BillomatSandbox(clock=clock)


def http_client(sandbox: BillomatSandbox, **headers: str) -> httpx.Client:
    """A plain httpx client for the sandbox with the dev API key."""
    return httpx.Client(
        transport=sandbox.transport(),
        base_url="http://billomat.sandbox/api/",
        headers={"X-BillomatApiKey": DEV_API_KEY, "Accept": "application/json", **headers},
    )


@pytest.fixture
def open_api() -> Callable[..., httpx.Client]:
    """Open further plain clients (other sandboxes, other headers)."""
    return http_client


@pytest.fixture
def api(sandbox: BillomatSandbox) -> Iterator[httpx.Client]:
    with http_client(sandbox) as client:
        yield client


def record_of(response: httpx.Response, root: str) -> dict[str, Any]:
    """The record inside ``{"<root>": {...}}``."""
    record: dict[str, Any] = response.json()[root]
    return record


class Billomat:
    """Short-hands for the calls most tests need; each asserts the expected success status."""

    def __init__(self, api: httpx.Client) -> None:
        self.api = api

    def create(self, resource: str, root: str, body: dict[str, Any]) -> dict[str, Any]:
        response = self.api.post(resource, json={root: body})
        assert response.status_code == 201, response.text
        return record_of(response, root)

    def get(self, resource: str, record_id: str, root: str) -> dict[str, Any]:
        response = self.api.get(f"{resource}/{record_id}")
        assert response.status_code == 200, response.text
        return record_of(response, root)

    def action(self, resource: str, record_id: str, action: str) -> httpx.Response:
        return self.api.put(f"{resource}/{record_id}/{action}", json={action: {}})

    def client(self, **fields: Any) -> dict[str, Any]:
        return self.create("clients", "client", {"name": "Muster GmbH", **fields})

    def invoice(self, client_id: str, *items: dict[str, Any], **fields: Any) -> dict[str, Any]:
        body: dict[str, Any] = {"client_id": client_id, **fields}
        if items:
            body["invoice-items"] = {"invoice-item": list(items)}
        return self.create("invoices", "invoice", body)

    def invoice_status(self, invoice_id: str) -> str:
        return str(self.get("invoices", invoice_id, "invoice")["status"])

    def completed_invoice(
        self, client_id: str, *items: dict[str, Any], **fields: Any
    ) -> dict[str, Any]:
        invoice = self.invoice(
            client_id,
            *(items or ({"title": "Beratung", "quantity": 1, "unit_price": 100},)),
            **fields,
        )
        response = self.action("invoices", invoice["id"], "complete")
        assert response.status_code == 200, response.text
        return record_of(response, "invoice")

    def pay(self, invoice_id: str, amount: str, **fields: Any) -> httpx.Response:
        return self.api.post(
            "invoice-payments",
            json={"invoice-payment": {"invoice_id": invoice_id, "amount": amount, **fields}},
        )


@pytest.fixture
def billomat(api: httpx.Client) -> Billomat:
    return Billomat(api)
