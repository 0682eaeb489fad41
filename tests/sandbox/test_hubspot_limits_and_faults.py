"""HubSpot sandbox: auth and scopes, the rolling rate limit, fault injection, the journal and
hostile request bodies.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from local.hubspot_sandbox import DEV_ACCESS_TOKEN, HubSpotSandbox, SandboxClock

START = datetime(2025, 1, 10, 8, 0, tzinfo=UTC)
AUTH = {"Authorization": f"Bearer {DEV_ACCESS_TOKEN}"}
BATCH_READ = "crm/v3/objects/line_items/batch/read"
RATE_HEADERS = (
    "X-HubSpot-RateLimit-Interval-Milliseconds",
    "X-HubSpot-RateLimit-Max",
    "X-HubSpot-RateLimit-Remaining",
)


@pytest.fixture
def clock() -> SandboxClock:
    return SandboxClock(START)


@pytest.fixture
def hubspot(clock: SandboxClock) -> HubSpotSandbox:
    return HubSpotSandbox(clock=clock)


def client_for(sandbox: HubSpotSandbox, **headers: str) -> httpx.Client:
    return httpx.Client(
        transport=sandbox.transport(),
        base_url="https://api.hubapi.com/",
        headers={**AUTH, **headers},
    )


@pytest.fixture
def api(hubspot: HubSpotSandbox) -> Iterator[httpx.Client]:
    with client_for(hubspot) as client:
        yield client


@pytest.fixture
def deal(hubspot: HubSpotSandbox) -> str:
    item = hubspot.add_line_item("Konzeption", 2, "1200.00")
    return hubspot.add_deal("D", company=hubspot.add_company("A"), line_items=[item])


def remaining(response: httpx.Response) -> int:
    return int(response.headers["X-HubSpot-RateLimit-Remaining"])


def error_of(response: httpx.Response, status: int, category: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert set(body) == {"status", "message", "correlationId", "category"}
    assert (body["status"], body["category"]) == ("error", category)
    uuid.UUID(body["correlationId"])
    return body


def assert_rate_limited(response: httpx.Response, retry_after: int) -> None:
    assert response.status_code == 429
    body = response.json()
    assert set(body) == {"status", "message", "errorType", "correlationId", "policyName"}
    assert body["status"] == "error"
    assert body["message"] == "You have reached your ten_secondly_rolling limit."
    assert (body["errorType"], body["policyName"]) == ("RATE_LIMIT", "TEN_SECONDLY_ROLLING")
    assert response.headers["Retry-After"] == str(retry_after)
    assert remaining(response) == 0


# --- auth and scopes ------------------------------------------------------------------------------

AUTH_MESSAGE = (
    "Authentication credentials not found. This API supports OAuth 2.0 authentication and you "
    "can find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview"
)


@pytest.mark.parametrize(
    "authorization",
    [None, "", "Bearer", "Bearer wrong-token", f"Basic {DEV_ACCESS_TOKEN}", DEV_ACCESS_TOKEN],
)
def test_missing_or_wrong_token_is_401(
    hubspot: HubSpotSandbox, deal: str, authorization: str | None
) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    with httpx.Client(transport=hubspot.transport(), base_url="https://api.hubapi.com/") as api:
        response = api.get(f"crm/v3/objects/deals/{deal}", headers=headers)
        unknown_path = api.get("no/such/path", headers=headers)  # auth comes before routing
    body = error_of(response, 401, "INVALID_AUTHENTICATION")
    assert body["message"] == AUTH_MESSAGE
    assert all(name in response.headers for name in RATE_HEADERS)
    error_of(unknown_path, 401, "INVALID_AUTHENTICATION")


def test_bearer_scheme_is_case_insensitive(hubspot: HubSpotSandbox, deal: str) -> None:
    with client_for(hubspot, Authorization=f"bearer {DEV_ACCESS_TOKEN}") as api:
        assert api.get(f"crm/v3/objects/deals/{deal}").status_code == 200


def test_other_token_configured(clock: SandboxClock) -> None:
    hubspot = HubSpotSandbox("pat-eu1-test", clock=clock)
    with client_for(hubspot) as api:
        error_of(api.get("crm/v3/pipelines/deals"), 401, "INVALID_AUTHENTICATION")
    with client_for(hubspot, Authorization="Bearer pat-eu1-test") as api:
        assert api.get("crm/v3/pipelines/deals").status_code == 200


def test_revoked_scopes_are_403(hubspot: HubSpotSandbox, deal: str, api: httpx.Client) -> None:
    hubspot.revoke_scopes("crm.objects.line_items.read")
    refused = api.post(BATCH_READ, json={"inputs": [{"id": "7001"}]})
    body = error_of(refused, 403, "MISSING_SCOPES")
    assert body["message"] == "This app hasn't been granted all required scopes to make this call."
    assert api.get(f"crm/v3/objects/deals/{deal}").status_code == 200
    hubspot.revoke_scopes()
    error_of(api.get(f"crm/v3/objects/deals/{deal}"), 403, "MISSING_SCOPES")
    error_of(api.get("crm/v3/pipelines/deals"), 403, "MISSING_SCOPES")
    assert hubspot.granted_scopes == frozenset()
    hubspot.grant_scopes("crm.objects.deals.read")
    assert api.get(f"crm/v3/objects/deals/{deal}").status_code == 200
    error_of(
        api.patch(f"crm/v3/objects/deals/{deal}", json={"properties": {"billomat_link": "x"}}),
        403,
        "MISSING_SCOPES",
    )
    assert hubspot.deal(deal)["billomat_link"] is None
    hubspot.grant_scopes()
    assert api.post(BATCH_READ, json={"inputs": [{"id": "7001"}]}).status_code == 200
    with pytest.raises(ValueError, match="unknown scopes"):
        hubspot.revoke_scopes("crm.objects.tickets.read")


# --- rate limit ---------------------------------------------------------------------------------


def test_every_answer_carries_the_rate_headers(
    hubspot: HubSpotSandbox, deal: str, api: httpx.Client
) -> None:
    first = api.get(f"crm/v3/objects/deals/{deal}")
    assert {name: first.headers[name] for name in RATE_HEADERS} == {
        "X-HubSpot-RateLimit-Interval-Milliseconds": "10000",
        "X-HubSpot-RateLimit-Max": "100",
        "X-HubSpot-RateLimit-Remaining": "99",
    }
    assert remaining(api.get("crm/v3/objects/deals/9999")) == 98  # 404s count
    assert remaining(api.delete(f"crm/v3/objects/deals/{deal}")) == 97  # 405s count
    assert remaining(api.post(BATCH_READ, content=b"{")) == 96  # 400s count
    with httpx.Client(transport=hubspot.transport(), base_url="https://x/") as anonymous:
        assert remaining(anonymous.get("crm/v3/pipelines/deals")) == 95  # 401s count


def test_101st_request_in_ten_seconds_is_429_until_the_window_rolls(
    clock: SandboxClock, deal: str, api: httpx.Client
) -> None:
    path = f"crm/v3/objects/deals/{deal}"
    answers = [api.get(path) for _ in range(100)]
    assert {answer.status_code for answer in answers} == {200}
    assert [remaining(answer) for answer in answers] == list(range(99, -1, -1))
    assert_rate_limited(api.get(path), retry_after=10)
    assert_rate_limited(api.get(path), retry_after=10)  # a 429 does not count
    clock.advance(9.5)
    assert_rate_limited(api.get(path), retry_after=1)
    clock.advance(0.5)
    recovered = api.get(path)
    assert recovered.status_code == 200
    assert remaining(recovered) == 99


def test_the_window_rolls_request_by_request(
    clock: SandboxClock, deal: str, api: httpx.Client
) -> None:
    path = f"crm/v3/objects/deals/{deal}"
    for _ in range(50):
        api.get(path)
    clock.advance(6)
    for _ in range(50):
        api.get(path)
    assert_rate_limited(api.get(path), retry_after=4)  # the first 50 leave at t=10
    clock.advance(4)
    assert remaining(api.get(path)) == 49
    clock.advance(5.999)  # the 50 of t=6 are still inside the window
    assert remaining(api.get(path)) == 48
    assert [remaining(api.get(path)) for _ in range(48)][-1] == 0
    assert_rate_limited(api.get(path), retry_after=1)  # a slot frees at t=16
    clock.advance(0.001)
    assert remaining(api.get(path)) == 49


def test_401s_over_the_limit_stay_401(
    hubspot: HubSpotSandbox, deal: str, api: httpx.Client
) -> None:
    for _ in range(100):
        api.get("crm/v3/pipelines/deals")
    with client_for(hubspot, Authorization="Bearer wrong") as wrong:
        refused = wrong.get("crm/v3/pipelines/deals")
    error_of(refused, 401, "INVALID_AUTHENTICATION")
    assert remaining(refused) == 0


def test_configurable_limit_and_reset(clock: SandboxClock) -> None:
    hubspot = HubSpotSandbox(clock=clock, rate_limit=2, rate_window_seconds=1)
    with client_for(hubspot) as api:
        api.get("crm/v3/pipelines/deals")
        last = api.get("crm/v3/pipelines/deals")
        assert last.headers["X-HubSpot-RateLimit-Interval-Milliseconds"] == "1000"
        assert last.headers["X-HubSpot-RateLimit-Max"] == "2"
        assert_rate_limited(api.get("crm/v3/pipelines/deals"), retry_after=1)
        hubspot.reset_rate_limit()
        assert api.get("crm/v3/pipelines/deals").status_code == 200


# --- faults -------------------------------------------------------------------------------------

WRITE = {"properties": {"billomat_offer_number": "AN-0001"}}


def patch(api: httpx.Client, deal: str) -> httpx.Response:
    return api.patch(f"crm/v3/objects/deals/{deal}", json=WRITE)


def written(hubspot: HubSpotSandbox, deal: str) -> bool:
    return hubspot.deal(deal)["billomat_offer_number"] == "AN-0001"


def test_server_error_is_502_html_and_writes_nothing(
    hubspot: HubSpotSandbox, deal: str, api: httpx.Client
) -> None:
    hubspot.faults.add("PATCH", "crm/v3/objects/deals/*", "server_error")
    failed = patch(api, deal)
    assert failed.status_code == 502
    assert failed.headers["Content-Type"].startswith("text/html")
    assert b"Bad Gateway" in failed.content
    assert remaining(failed) == 99
    assert not written(hubspot, deal)
    assert patch(api, deal).status_code == 200  # used up
    assert written(hubspot, deal)


def test_timeout_raises_read_timeout_and_writes_nothing(
    hubspot: HubSpotSandbox, deal: str, api: httpx.Client
) -> None:
    hubspot.faults.add("PATCH", "crm/v3/objects/deals/*", "timeout")
    with pytest.raises(httpx.ReadTimeout):
        patch(api, deal)
    assert not written(hubspot, deal)
    record = hubspot.requests[-1]
    assert (record.status, record.timed_out) == (504, True)


def test_rate_limit_fault_is_a_429_with_retry_after(
    hubspot: HubSpotSandbox, deal: str, api: httpx.Client
) -> None:
    hubspot.faults.add("GET", "crm/v3/objects/deals/*", "rate_limit", times=2)
    assert_rate_limited(api.get(f"crm/v3/objects/deals/{deal}"), retry_after=1)
    hubspot.fault_retry_after_seconds = 7
    assert_rate_limited(api.get(f"crm/v3/objects/deals/{deal}"), retry_after=7)
    answer = api.get(f"crm/v3/objects/deals/{deal}")
    assert remaining(answer) == 99  # the two 429s did not count


@pytest.mark.parametrize(
    ("kind", "status", "category"),
    [("unauthorized", 401, "INVALID_AUTHENTICATION"), ("forbidden", 403, "MISSING_SCOPES")],
)
def test_auth_faults(
    hubspot: HubSpotSandbox, deal: str, api: httpx.Client, kind: str, status: int, category: str
) -> None:
    hubspot.faults.add("PATCH", "crm/v3/objects/deals/*", kind)
    error_of(patch(api, deal), status, category)
    assert not written(hubspot, deal)
    assert patch(api, deal).status_code == 200


def test_commit_then_fail_writes_then_answers_500(
    hubspot: HubSpotSandbox, deal: str, api: httpx.Client
) -> None:
    hubspot.faults.add("PATCH", "crm/v3/objects/deals/*", "commit_then_fail")
    failed = patch(api, deal)
    error_of(failed, 500, "INTERNAL_ERROR")
    assert written(hubspot, deal)


def test_faults_match_method_and_whole_segments(
    hubspot: HubSpotSandbox, deal: str, api: httpx.Client
) -> None:
    hubspot.faults.add("GET", "crm/v3/objects/deals/*", "server_error", times=2)
    assert patch(api, deal).status_code == 200  # other method
    assert api.get("crm/v3/pipelines/deals").status_code == 200  # other path
    assert api.post(BATCH_READ, json={"inputs": []}).status_code == 200
    assert api.get(f"crm/v3/objects/deals/{deal}").status_code == 502
    assert api.get("/crm/v3/objects/deals/9999/").status_code == 502  # slashes do not matter
    assert api.get(f"crm/v3/objects/deals/{deal}").status_code == 200
    assert hubspot.faults.pending == []
    hubspot.faults.add("*", "crm/v3/*/line_items/batch/read", "server_error")
    assert api.post(BATCH_READ, json={"inputs": []}).status_code == 502
    hubspot.faults.add("get", "/crm/v3/pipelines/deals/", "server_error", times=3)
    assert len(hubspot.faults.pending) == 1
    hubspot.faults.clear()
    assert api.get("crm/v3/pipelines/deals").status_code == 200


def test_fault_arguments_are_checked(hubspot: HubSpotSandbox) -> None:
    with pytest.raises(ValueError, match="unknown fault kind"):
        hubspot.faults.add("GET", "crm/v3/pipelines/deals", "explode")
    with pytest.raises(ValueError, match="times"):
        hubspot.faults.add("GET", "crm/v3/pipelines/deals", "timeout", times=0)


def test_auth_is_checked_before_faults(hubspot: HubSpotSandbox, deal: str) -> None:
    hubspot.faults.add("GET", "crm/v3/objects/deals/*", "server_error")
    with client_for(hubspot, Authorization="Bearer wrong") as wrong:
        error_of(wrong.get(f"crm/v3/objects/deals/{deal}"), 401, "INVALID_AUTHENTICATION")
    assert len(hubspot.faults.pending) == 1


# --- journal ------------------------------------------------------------------------------------


def test_journal_records_every_request_in_order(
    hubspot: HubSpotSandbox, clock: SandboxClock, deal: str, api: httpx.Client
) -> None:
    api.get(
        f"crm/v3/objects/deals/{deal}",
        params=[
            ("properties", "dealname"),
            ("properties", "amount"),
            ("associations", "companies"),
        ],
    )
    clock.advance(2)
    api.post(BATCH_READ, json={"inputs": [{"id": "7001"}]})
    api.patch(f"crm/v3/objects/deals/{deal}", json=WRITE)
    api.get("crm/v3/objects/deals/9999")
    assert hubspot.request_count == 4
    first, second, third, fourth = hubspot.requests
    assert (first.method, first.path, first.status) == ("GET", f"/crm/v3/objects/deals/{deal}", 200)
    assert first.query == {"properties": "dealname,amount", "associations": "companies"}
    assert first.body == ""
    assert first.json() is None
    assert first.at == START
    assert (second.method, second.route, second.status) == ("POST", BATCH_READ, 200)
    assert second.json() == {"inputs": [{"id": "7001"}]}
    assert second.at == clock.now()
    assert (third.method, third.status, third.json()) == ("PATCH", 200, WRITE)
    assert fourth.status == 404
    assert not any(record.timed_out for record in hubspot.requests)
    hubspot.clear_journal()
    assert (hubspot.request_count, hubspot.requests) == (0, [])
    assert remaining(api.get("crm/v3/pipelines/deals")) == 95  # the window is not the journal


def test_journal_counts_requests_per_deal(hubspot: HubSpotSandbox, api: httpx.Client) -> None:
    deals = [hubspot.add_deal(f"D{n}") for n in range(3)]
    for each in deals:
        api.get(f"crm/v3/objects/deals/{each}")
        api.patch(f"crm/v3/objects/deals/{each}", json=WRITE)
    per_deal = {each: 0 for each in deals}
    for record in hubspot.requests:
        per_deal[record.route.rsplit("/", 1)[-1]] += 1
    assert per_deal == dict.fromkeys(deals, 2)


# --- hostile input ------------------------------------------------------------------------------

HOSTILE_BODIES = [
    b"",
    b"{",
    b"null",
    b"[]",
    b'"properties"',
    b"\xff\xfe{}",
    b"NaN",
    b'{"properties": NaN}',
    b'{"properties": []}',
    b'{"properties": {"billomat_link": {"nested": 1}}}',
    b'{"properties": {"billomat_link": ["a"]}}',
    b"[" * 100_000 + b"]" * 100_000,
    b'{"properties": {"amount": ' + b"9" * 5000 + b"}}",
    b'{"properties": {"billomat_link": "\\ud800"}}' + b"\x00",
    b'{"properties": {"billomat_link": "\\ud800"}}',
    b'{"properties": {"\\ud800": "x"}}',
]


@pytest.mark.parametrize("body", HOSTILE_BODIES, ids=range(len(HOSTILE_BODIES)))
def test_malformed_patch_bodies_are_400_json(
    hubspot: HubSpotSandbox, deal: str, api: httpx.Client, body: bytes
) -> None:
    before = hubspot.deal(deal)
    response = api.patch(
        f"crm/v3/objects/deals/{deal}",
        content=body,
        headers={"Content-Type": "application/json"},
    )
    error_of(response, 400, "VALIDATION_ERROR")
    assert hubspot.deal(deal) == before


BATCH_BODIES = [
    b"{",
    b"[]",
    b"{}",
    b'{"inputs": {"id": "7001"}}',
    b'{"inputs": ["7001"]}',
    b'{"inputs": [{"id": null}]}',
    b'{"inputs": [{"id": true}]}',
    b'{"inputs": [{"id": {"x": 1}}]}',
    b'{"inputs": [{"id": "7001"}], "properties": "name"}',
    b'{"inputs": [{"id": "7001"}], "properties": [1]}',
    b"[" * 100_000,
]


@pytest.mark.parametrize("body", BATCH_BODIES, ids=range(len(BATCH_BODIES)))
def test_malformed_batch_bodies_are_400_json(deal: str, api: httpx.Client, body: bytes) -> None:
    error_of(api.post(BATCH_READ, content=body), 400, "VALIDATION_ERROR")


def test_lone_surrogates_in_ids_are_escaped_not_a_crash(api: httpx.Client) -> None:
    response = api.post(BATCH_READ, content=b'{"inputs": [{"id": "\\udc00"}]}')
    assert response.status_code == 207
    assert response.json()["errors"][0]["context"]["ids"] == ["\udc00"]


def test_hostile_paths_and_queries_do_not_crash(deal: str, api: httpx.Client) -> None:
    for path in (
        "crm/v3/objects/deals/%00",
        "crm/v3/objects/deals/" + "9" * 5000,
        "crm/v3/objects/deals/٥٠٠١",  # Arabic-Indic digits are not a HubSpot id
        "crm/v3/objects/deals/5001%2F..%2F..",
    ):
        error_of(api.get(path), 404, "OBJECT_NOT_FOUND")
    odd = api.get(
        f"crm/v3/objects/deals/{deal}",
        params={"properties": ",,,%00,\u00fc" * 100, "associations": "x" * 10_000},
    )
    assert odd.status_code == 200
    assert "associations" not in odd.json()
