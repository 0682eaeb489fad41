"""Talking to the right account with the right headers, without ever leaking the key."""

from __future__ import annotations

import logging
from collections.abc import Callable

import httpx
import pytest

from autopilot.billomat import (
    BillomatAuthError,
    BillomatClient,
    BillomatError,
    BillomatUnavailableError,
)

from .conftest import API_KEY, APP_SECRET, BASE_URL, ScriptedBillomat, listing, reply

MYSELF = {"client": {"id": "1", "name": "Acme GmbH", "customfield": ""}}


def test_every_request_carries_key_and_json_headers(
    client: BillomatClient, billomat: ScriptedBillomat
) -> None:
    billomat.answer(reply(MYSELF))
    client.get_myself()
    request = billomat.last
    assert request.url == httpx.URL(BASE_URL + "clients/myself")
    assert request.headers["X-BillomatApiKey"] == API_KEY
    assert request.headers["Accept"] == "application/json"
    assert request.headers["Content-Type"] == "application/json"
    assert "X-AppId" not in request.headers
    assert "api_key" not in str(request.url)


def test_registered_app_sends_app_id_and_secret(
    make_client: Callable[..., BillomatClient], billomat: ScriptedBillomat
) -> None:
    client = make_client(app_id="autopilot", app_secret=APP_SECRET)
    billomat.answer(reply(MYSELF))
    client.get_myself()
    assert billomat.last.headers["X-AppId"] == "autopilot"
    assert billomat.last.headers["X-AppSecret"] == APP_SECRET


def test_app_id_without_secret_is_refused() -> None:
    with pytest.raises(ValueError, match="both app id and app secret"):
        BillomatClient(BASE_URL, API_KEY, app_id="autopilot")


def test_base_url_from_account_id_or_override() -> None:
    assert BillomatClient.base_url_for("acme", None) == "https://acme.billomat.net/api/"
    assert (
        BillomatClient.base_url_for("acme", "http://127.0.0.1:8099/api")
        == "http://127.0.0.1:8099/api/"
    )
    assert BillomatClient.base_url_for(None, "http://127.0.0.1:8099/api/") == (
        "http://127.0.0.1:8099/api/"
    )


@pytest.mark.parametrize("billomat_id", [None, "", "  "])
def test_base_url_without_account_or_override_explains_what_to_set(
    billomat_id: str | None,
) -> None:
    with pytest.raises(ValueError, match=r"BILLOMAT_ID.*BILLOMAT_BASE_URL"):
        BillomatClient.base_url_for(billomat_id, None)


def test_base_url_rejects_a_full_host_as_account_id() -> None:
    with pytest.raises(ValueError, match="subdomain"):
        BillomatClient.base_url_for("acme.billomat.net/evil", None)


def test_client_closes_as_context_manager(billomat: ScriptedBillomat) -> None:
    with BillomatClient(BASE_URL, API_KEY, transport=httpx.MockTransport(billomat)) as client:
        billomat.answer(reply(MYSELF))
        client.get_myself()
    with pytest.raises(RuntimeError):
        client.get_myself()


def test_api_key_never_in_client_repr(
    make_client: Callable[..., BillomatClient],
) -> None:
    client = make_client(app_id="autopilot", app_secret=APP_SECRET)
    for text in (repr(client), str(client), repr(client._connection)):
        assert API_KEY not in text
        assert APP_SECRET not in text


def test_api_key_never_in_errors_even_when_echoed_by_billomat(
    make_client: Callable[..., BillomatClient], billomat: ScriptedBillomat
) -> None:
    client = make_client(app_id="autopilot", app_secret=APP_SECRET)
    billomat.answer(
        reply(
            status=401,
            text=f"<html><body>Invalid key {API_KEY} / {APP_SECRET}</body></html>",
        )
    )
    with pytest.raises(BillomatAuthError) as caught:
        client.get_client(5)
    error = caught.value
    for text in (str(error), repr(error), " ".join(error.messages)):
        assert API_KEY not in text
        assert APP_SECRET not in text
    assert "API key" in str(error)


def test_api_key_never_in_timeout_errors(
    client: BillomatClient, billomat: ScriptedBillomat
) -> None:
    def time_out(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    billomat.handler = time_out
    with pytest.raises(BillomatUnavailableError) as caught:
        client.get_client(5)
    assert API_KEY not in str(caught.value)
    assert API_KEY not in repr(caught.value)


def test_requests_are_logged_without_key_or_query(
    client: BillomatClient, billomat: ScriptedBillomat, caplog: pytest.LogCaptureFixture
) -> None:
    billomat.answer(reply(listing("clients", "client", []), remaining=17))
    with caplog.at_level(logging.DEBUG, logger="autopilot.billomat"):
        list(client.iter_clients(email="max@example.de"))
    record = next(r for r in caplog.records if r.name == "autopilot.billomat")
    message = record.getMessage()
    assert "GET /api/clients -> 200" in message
    assert "quota left: 17" in message
    assert API_KEY not in message
    assert "max@example.de" not in message
    assert record.__dict__["billomat_status"] == 200


def test_request_count_counts_requests_sent(
    client: BillomatClient, billomat: ScriptedBillomat
) -> None:
    billomat.answer(reply(MYSELF), reply(MYSELF))
    client.get_myself()
    client.get_myself()
    assert client.request_count == 2


def test_every_client_error_is_a_billomat_error() -> None:
    assert issubclass(BillomatAuthError, BillomatError)
    assert issubclass(BillomatUnavailableError, BillomatError)
