"""Local mode: the sandbox on a real port on 127.0.0.1."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from local.billomat_sandbox import DEV_API_KEY, BillomatSandbox, SandboxClock

HEADERS = {"X-BillomatApiKey": DEV_API_KEY, "Accept": "application/json"}


def test_sandbox_serves_the_api_over_http(clock: SandboxClock) -> None:
    sandbox = BillomatSandbox(clock=clock)
    server = sandbox.serve(host="127.0.0.1", port=0)
    try:
        assert server.base_url == f"http://127.0.0.1:{server.port}/api/"
        with httpx.Client(base_url=server.base_url, headers=HEADERS, timeout=5) as api:
            created = api.post("clients", json={"client": {"name": "Über HTTP GmbH"}})
            assert created.status_code == 201
            listed = api.get("clients", params={"name": "über"})
            assert listed.json()["clients"]["client"]["name"] == "Über HTTP GmbH"
            assert listed.headers["X-Rate-Limit-Remaining"] == "298"
            head = api.head("clients")
            assert head.headers["X-Total-Count"] == "1"
            deleted = api.delete(f"clients/{created.json()['client']['id']}")
            assert (deleted.status_code, deleted.content) == (200, b"")
    finally:
        server.stop()
    assert [record.method for record in sandbox.requests] == ["POST", "GET", "HEAD", "DELETE"]


def test_timeout_fault_over_http_holds_the_answer(clock: SandboxClock) -> None:
    sandbox = BillomatSandbox(clock=clock)
    sandbox.server_timeout_seconds = 2
    sandbox.faults.add("GET", "clients", "timeout")
    with (
        sandbox.serve() as server,
        httpx.Client(base_url=server.base_url, headers=HEADERS, timeout=0.3) as api,
    ):
        with pytest.raises(httpx.ReadTimeout):
            api.get("clients")
        assert api.get("taxes").status_code == 200


def test_concurrent_requests_over_http_are_serialised_safely(clock: SandboxClock) -> None:
    sandbox = BillomatSandbox(clock=clock)
    with sandbox.serve() as server:

        def create_clients(worker: int) -> list[int]:
            with httpx.Client(base_url=server.base_url, headers=HEADERS, timeout=5) as api:
                return [
                    api.post("clients", json={"client": {"name": f"W{worker}-{n}"}}).status_code
                    for n in range(10)
                ]

        with ThreadPoolExecutor(max_workers=8) as pool:
            statuses = [code for codes in pool.map(create_clients, range(8)) for code in codes]
    assert statuses == [201] * 80
    numbers = {client["client_number"] for client in sandbox.snapshot()["clients"]}
    assert numbers == {f"KD{n}" for n in range(1, 81)}
    assert sandbox.request_count == 80
