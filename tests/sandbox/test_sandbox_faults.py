"""Fault injection: server errors, timeouts, rate limits, and failures after the write."""

from __future__ import annotations

from typing import TYPE_CHECKING

import httpx
import pytest

from local.billomat_sandbox import BillomatSandbox

if TYPE_CHECKING:
    from .conftest import Billomat

NEW_CLIENT = {"client": {"name": "Fehler GmbH"}}


def client_count(sandbox: BillomatSandbox) -> int:
    return len(sandbox.snapshot()["clients"])


def test_server_error_answers_500_html_and_writes_nothing(
    sandbox: BillomatSandbox, api: httpx.Client
) -> None:
    sandbox.faults.add("POST", "clients", "server_error")
    failed = api.post("clients", json=NEW_CLIENT)
    assert failed.status_code == 500
    assert failed.headers["Content-Type"].startswith("text/html")
    assert client_count(sandbox) == 0
    assert api.post("clients", json=NEW_CLIENT).status_code == 201  # used up after one request


def test_timeout_raises_read_timeout_and_writes_nothing(
    sandbox: BillomatSandbox, api: httpx.Client
) -> None:
    sandbox.faults.add("POST", "clients", "timeout")
    with pytest.raises(httpx.ReadTimeout):
        api.post("clients", json=NEW_CLIENT)
    assert client_count(sandbox) == 0
    assert sandbox.requests[-1].status == 504


def test_rate_limit_fault_looks_like_the_real_429(
    sandbox: BillomatSandbox, api: httpx.Client
) -> None:
    sandbox.faults.add("GET", "invoices", "rate_limit", times=2)
    for _ in range(2):
        refused = api.get("invoices")
        assert refused.status_code == 429
        assert refused.headers["X-Rate-Limit-Remaining"] == "0"
        assert refused.json()["errors"]["error"].startswith("Maximum number of requests (300")
    assert api.get("invoices").status_code == 200


def test_commit_then_fail_writes_and_answers_500(
    sandbox: BillomatSandbox, api: httpx.Client
) -> None:
    sandbox.faults.add("POST", "clients", "commit_then_fail")
    assert api.post("clients", json=NEW_CLIENT).status_code == 500
    assert client_count(sandbox) == 1


def test_commit_then_timeout_writes_and_times_out(
    sandbox: BillomatSandbox, billomat: Billomat, api: httpx.Client
) -> None:
    client = billomat.client()
    invoice = billomat.invoice(client["id"], {"title": "A", "quantity": 1, "unit_price": 10})
    sandbox.faults.add("PUT", "invoices/*/complete", "commit_then_timeout")
    with pytest.raises(httpx.ReadTimeout):
        billomat.action("invoices", invoice["id"], "complete")
    assert billomat.invoice_status(invoice["id"]) == "OPEN"


def test_fault_paths_match_whole_segments_and_methods(
    sandbox: BillomatSandbox, billomat: Billomat, api: httpx.Client
) -> None:
    client = billomat.client()
    sandbox.faults.add("POST", "invoices", "server_error")
    assert api.get("invoices").status_code == 200  # other method
    assert api.get(f"clients/{client['id']}").status_code == 200  # other path
    invoice = api.post("invoices", json={"invoice": {"client_id": client["id"]}})
    assert invoice.status_code == 500
    sandbox.faults.add("PUT", "invoices/*/complete", "server_error")
    sandbox.faults.clear()
    assert sandbox.faults.pending == []


def test_unknown_fault_kind_is_rejected(sandbox: BillomatSandbox) -> None:
    with pytest.raises(ValueError, match="unknown fault kind"):
        sandbox.faults.add("GET", "clients", "explode")
