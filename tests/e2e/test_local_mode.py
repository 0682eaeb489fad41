"""`make serve`: the contract of architecture.md §3, exercised over real HTTP on 127.0.0.1."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class RunningServer:
    process: subprocess.Popen[str]
    base_url: str
    output: list[str] = field(default_factory=list)


def start_server(extra_env: dict[str, str] | None = None) -> RunningServer:
    env = {
        **os.environ,
        "PORT": "0",
        "REPORT_LOCAL_DIR": tempfile.mkdtemp(prefix="reports-"),
        **(extra_env or {}),
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "local.server"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        bufsize=1,
    )
    output: list[str] = []
    ready = threading.Event()
    found: dict[str, str] = {}

    def pump() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            output.append(line.rstrip())
            match = re.search(r"ready: .* on (http://127\.0\.0\.1:\d+)", line)
            if match:
                found["url"] = match.group(1)
                ready.set()

    threading.Thread(target=pump, daemon=True).start()
    if not ready.wait(60):
        process.kill()
        raise AssertionError("server never printed ready:\n" + "\n".join(output))
    return RunningServer(process, found["url"], output)


def stop_server(server: RunningServer) -> int:
    server.process.send_signal(signal.SIGTERM)
    return server.process.wait(timeout=20)


@pytest.fixture(scope="module")
def server() -> Iterator[RunningServer]:
    running = start_server()
    yield running
    if running.process.poll() is None:
        stop_server(running)


@pytest.fixture
def http(server: RunningServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.base_url, timeout=10) as client:
        yield client


def test_health_reports_the_embedded_sandbox_and_queues(http: httpx.Client) -> None:
    health = http.get("/local/health").json()
    assert health["status"] == "ok"
    assert health["embedded_billomat_sandbox"] is True
    assert health["billomat_base_url"].startswith("http://127.0.0.1:")
    assert set(health["queues"]) >= {"orders", "deals", "bank", "products", "orders-dlq"}


def test_embedded_sandbox_answers_billomat_api_calls(http: httpx.Client) -> None:
    from local.billomat_sandbox import DEV_API_KEY

    base = http.get("/local/health").json()["billomat_base_url"]
    ok = httpx.get(
        base + "taxes", headers={"X-BillomatApiKey": DEV_API_KEY, "Accept": "application/json"}
    )
    assert ok.status_code == 200
    assert "X-Rate-Limit-Remaining" in ok.headers
    denied = httpx.get(
        base + "taxes", headers={"X-BillomatApiKey": "wrong", "Accept": "application/json"}
    )
    assert denied.status_code == 401


def test_product_webhook_route_is_built_and_refuses_an_unsigned_body(http: httpx.Client) -> None:
    response = http.post("/webhooks/shopify/products", json={"id": 1})
    assert response.status_code == 401
    assert response.json()["error"] in {"unknown_shop", "invalid_signature"}


def test_unknown_routes_are_json_404(http: httpx.Client) -> None:
    assert http.post("/webhooks/nope").status_code == 404
    assert http.get("/local/nothing").json()["error"] == "not_found"


def test_schedules_validate_their_input(http: httpx.Client) -> None:
    assert http.post("/local/schedules/payroll").status_code == 404
    bad_now = http.post("/local/schedules/dunning", json={"now": "yesterday"})
    assert bad_now.status_code == 400
    not_json = http.post(
        "/local/schedules/dunning", content=b"{", headers={"content-type": "application/json"}
    )
    assert not_json.status_code == 400


def test_malformed_camt053_upload_is_rejected_and_books_nothing(http: httpx.Client) -> None:
    response = http.post("/local/imports/camt053", content=b"<Document>not a statement")
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_camt053"
    assert http.get("/local/review").json()["count"] == 0


def test_an_unknown_schedule_is_404_and_runs_nothing(http: httpx.Client) -> None:
    response = http.post("/local/schedules/payroll", json={"now": "2026-12-01T09:00:00+01:00"})
    assert response.status_code == 404


def test_monthly_report_runs_on_demand_and_writes_local_files(http: httpx.Client) -> None:
    response = http.post("/local/schedules/reporting", json={"now": "2026-12-01T08:00:00+01:00"})
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["month"] == "2026-11"
    files = result["local_files"]
    assert set(files) == {"json", "csv", "html"}
    assert all(Path(path).exists() for path in files.values())


def test_sigterm_stops_cleanly() -> None:
    running = start_server()
    started = time.monotonic()
    assert stop_server(running) == 0
    assert time.monotonic() - started < 10
    assert any("stopped" in line for line in running.output)


def test_external_billomat_base_url_replaces_the_sandbox() -> None:
    running = start_server({"BILLOMAT_BASE_URL": "http://127.0.0.1:9/api/"})
    try:
        health = httpx.get(running.base_url + "/local/health", timeout=10).json()
        assert health["billomat_base_url"] == "http://127.0.0.1:9/api/"
        assert health["embedded_billomat_sandbox"] is False
        assert httpx.get(running.base_url + "/local/billomat", timeout=10).status_code == 404
    finally:
        stop_server(running)


def test_fifty_simultaneous_deliveries_are_all_answered(server: RunningServer) -> None:
    """A shop's burst through a tunnel. (On this kernel a backlog of 5 survives this too, by
    SYN retries; where the listen queue overflows with resets, the backlog is what counts.)"""
    import json as jsonlib

    from local.server import LocalHTTPServer

    assert LocalHTTPServer.request_queue_size >= 50

    from autopilot.signatures import timestamped_signature_header
    from local.dev_settings import DEV_WEBHOOK_SECRETS

    sample = jsonlib.loads((ROOT / "events/bank/bank-transfer-debit-rent.json").read_text())
    secret = DEV_WEBHOOK_SECRETS["BANK_WEBHOOK_SECRET"]
    start = threading.Barrier(50)
    answers: list[int] = []

    def deliver(number: int) -> None:
        body = jsonlib.dumps({**sample["body"], "transaction_id": f"burst-{number}"}).encode()
        header = timestamped_signature_header(body, secret, int(time.time()))
        start.wait()
        response = httpx.post(
            server.base_url + "/webhooks/bank/transactions",
            content=body,
            headers={"X-Signature": header, "Content-Type": "application/json"},
            timeout=30,
        )
        answers.append(response.status_code)

    threads = [threading.Thread(target=deliver, args=(n,)) for n in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert answers == [200] * 50
