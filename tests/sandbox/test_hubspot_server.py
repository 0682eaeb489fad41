"""HubSpot sandbox in local mode: the API over real loopback HTTP."""

from __future__ import annotations

import socket
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import httpx
import pytest

from local.hubspot_sandbox import DEV_ACCESS_TOKEN, HubSpotSandbox, SandboxClock

AUTH = {"Authorization": f"Bearer {DEV_ACCESS_TOKEN}"}


@pytest.fixture
def hubspot() -> HubSpotSandbox:
    return HubSpotSandbox(clock=SandboxClock(datetime(2025, 1, 10, 8, tzinfo=UTC)))


def test_the_deal_workflow_over_http(hubspot: HubSpotSandbox) -> None:
    item = hubspot.add_line_item("Konzeption", 2, "1200.00", sku="WEB-KONZ")
    company = hubspot.add_company("Müller & Söhne KG", country="DE")
    deal = hubspot.add_deal("Relaunch", amount=2400, company=company, line_items=[item])
    event = hubspot.move_deal(deal, "closedwon")
    server = hubspot.serve(host="127.0.0.1", port=0)
    try:
        assert server.base_url == f"http://127.0.0.1:{server.port}/"
        with httpx.Client(base_url=server.base_url, headers=AUTH, timeout=5) as api:
            read = api.get(
                f"crm/v3/objects/deals/{event['objectId']}",
                params={"properties": "dealstage,amount", "associations": "companies,line_items"},
            )
            assert read.status_code == 200
            assert read.json()["properties"]["dealstage"] == "closedwon"
            assert read.headers["X-HubSpot-RateLimit-Remaining"] == "99"
            assert set(read.json()["associations"]) == {"companies", "line_items"}
            name = api.get(f"crm/v3/objects/companies/{company}", params={"properties": "name"})
            assert name.json()["properties"]["name"] == "Müller & Söhne KG"
            items = api.post(
                "crm/v3/objects/line_items/batch/read",
                json={"properties": ["amount"], "inputs": [{"id": item}]},
            )
            assert items.json()["results"][0]["properties"]["amount"] == "2400.00"
            written = api.patch(
                f"crm/v3/objects/deals/{deal}",
                json={"properties": {"billomat_invoice_number": "RE-0001"}},
            )
            assert written.status_code == 200
            assert api.get("crm/v3/pipelines/deals").status_code == 200
            missing = api.get("crm/v3/objects/tickets/1")
            assert (missing.status_code, missing.json()["category"]) == (404, "OBJECT_NOT_FOUND")
            head = api.head(f"crm/v3/objects/deals/{deal}")
            assert (head.status_code, head.content) == (405, b"")
            anonymous = httpx.get(f"{server.base_url}crm/v3/pipelines/deals", timeout=5)
            assert anonymous.status_code == 401
    finally:
        server.stop()
    assert hubspot.deal(deal)["billomat_invoice_number"] == "RE-0001"
    assert [record.method for record in hubspot.requests] == [
        "GET",
        "GET",
        "POST",
        "PATCH",
        "GET",
        "GET",
        "HEAD",
        "GET",
    ]
    assert hubspot.requests[0].query == {
        "properties": "dealstage,amount",
        "associations": "companies,line_items",
    }


def test_timeout_fault_holds_then_drops_the_connection(hubspot: HubSpotSandbox) -> None:
    hubspot.server_timeout_seconds = 2
    hubspot.faults.add("GET", "crm/v3/pipelines/deals", "timeout", times=2)
    with hubspot.serve() as server:
        with (
            httpx.Client(base_url=server.base_url, headers=AUTH, timeout=0.3) as impatient,
            pytest.raises(httpx.ReadTimeout),
        ):
            impatient.get("crm/v3/pipelines/deals")
        hubspot.server_timeout_seconds = 0.1
        with httpx.Client(base_url=server.base_url, headers=AUTH, timeout=5) as patient:
            with pytest.raises(httpx.RemoteProtocolError):  # no answer at all, then closed
                patient.get("crm/v3/pipelines/deals")
            assert patient.get("crm/v3/pipelines/deals").status_code == 200


def test_server_error_fault_over_http_is_html(hubspot: HubSpotSandbox) -> None:
    hubspot.faults.add("GET", "crm/v3/pipelines/deals", "server_error")
    with (
        hubspot.serve() as server,
        httpx.Client(base_url=server.base_url, headers=AUTH, timeout=5) as api,
    ):
        failed = api.get("crm/v3/pipelines/deals")
        assert failed.status_code == 502
        assert failed.headers["Content-Type"].startswith("text/html")
        assert "X-HubSpot-RateLimit-Remaining" in failed.headers


def test_concurrent_requests_are_serialised_safely(hubspot: HubSpotSandbox) -> None:
    deals = [hubspot.add_deal(f"D{n}") for n in range(8)]
    with hubspot.serve() as server:

        def work(deal: str) -> list[int]:
            with httpx.Client(base_url=server.base_url, headers=AUTH, timeout=5) as api:
                codes = []
                for n in range(6):
                    body = {"properties": {"billomat_offer_number": f"AN-{deal}-{n}"}}
                    codes.append(api.patch(f"crm/v3/objects/deals/{deal}", json=body).status_code)
                    codes.append(api.get(f"crm/v3/objects/deals/{deal}").status_code)
                return codes

        with ThreadPoolExecutor(max_workers=8) as pool:
            statuses = [code for codes in pool.map(work, deals) for code in codes]
    assert statuses.count(200) == 96
    assert statuses.count(429) == 0
    assert hubspot.request_count == 96
    assert all(hubspot.deal(deal)["billomat_offer_number"] == f"AN-{deal}-5" for deal in deals)


def test_the_101st_request_over_http_is_429(hubspot: HubSpotSandbox) -> None:
    with (
        hubspot.serve() as server,
        httpx.Client(base_url=server.base_url, headers=AUTH, timeout=5) as api,
    ):
        codes = [api.get("crm/v3/pipelines/deals").status_code for _ in range(101)]
        refused = api.get("crm/v3/pipelines/deals")
    assert codes == [200] * 100 + [429]
    assert refused.headers["Retry-After"] == "10"


@pytest.mark.parametrize("length", [b"abc", b"-1", b"99999999999"])
def test_broken_content_length_is_400_json(hubspot: HubSpotSandbox, length: bytes) -> None:
    with hubspot.serve() as server, socket.create_connection(("127.0.0.1", server.port), 5) as raw:
        raw.sendall(
            b"PATCH /crm/v3/objects/deals/5001 HTTP/1.1\r\nHost: x\r\nContent-Length: "
            + length
            + b"\r\n\r\n"
        )
        answer = b""
        while chunk := raw.recv(4096):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 400")
    assert b'"category": "VALIDATION_ERROR"' in answer
    assert hubspot.request_count == 0
