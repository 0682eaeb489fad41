"""Talking to the right account with the right headers, without ever leaking the key."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import httpx
import pytest
from moto import mock_aws

from autopilot.billomat import (
    BillomatAuthError,
    BillomatClient,
    BillomatError,
    BillomatUnavailableError,
)
from autopilot.billomat.connection import BillomatCredentials
from autopilot.billomat.drafts import ClientDraft
from autopilot.billomat_access import billomat_client, use_billomat_client
from local.billomat_sandbox import BillomatSandbox
from local.containers import clear_container_caches

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


# -- a rotated key: one re-read of the secret on a 401 --------------------------------------------

NEW_KEY = "n3w-k3y-abcdef0123456789"


class Credentials:
    """A credentials source that counts its reads; ``current`` is what the secret holds."""

    def __init__(self, current: BillomatCredentials) -> None:
        self.current = current
        self.reads = 0

    def __call__(self) -> BillomatCredentials:
        self.reads += 1
        return self.current


def refused() -> httpx.Response:
    return reply({"errors": {"error": "Unauthorized"}}, status=401)


def test_a_rotated_key_is_read_again_on_a_401_and_the_request_sent_once_more(
    make_client: Callable[..., BillomatClient], billomat: ScriptedBillomat
) -> None:
    source = Credentials(BillomatCredentials(NEW_KEY))
    client = make_client(credentials=source)
    billomat.answer(refused(), reply({"client": {"id": "5", "name": "Acme"}}, status=201))

    created = client.create_client(ClientDraft(name="Acme"))

    assert created.id == 5
    assert source.reads == 1
    first, second = billomat.requests
    assert first.headers["X-BillomatApiKey"] == API_KEY
    assert second.headers["X-BillomatApiKey"] == NEW_KEY
    assert second.method == "POST"  # a 401 executed nothing: even a POST is sent again
    assert second.content == first.content
    billomat.answer(reply(MYSELF))
    client.get_myself()  # from now on the new key, without reading again
    assert billomat.last.headers["X-BillomatApiKey"] == NEW_KEY
    assert source.reads == 1


def test_an_unchanged_key_leaves_the_401_standing_after_one_read(
    make_client: Callable[..., BillomatClient], billomat: ScriptedBillomat
) -> None:
    source = Credentials(BillomatCredentials(API_KEY))
    client = make_client(credentials=source)
    billomat.handler = lambda request: refused()

    with pytest.raises(BillomatAuthError):
        client.get_myself()
    assert (source.reads, len(billomat.requests)) == (1, 1)
    with pytest.raises(BillomatAuthError):  # each call reads once more, never in a loop
        client.get_myself()
    assert (source.reads, len(billomat.requests)) == (2, 2)


def test_a_new_key_that_is_refused_too_is_tried_only_once(
    make_client: Callable[..., BillomatClient], billomat: ScriptedBillomat
) -> None:
    source = Credentials(BillomatCredentials(NEW_KEY))
    client = make_client(credentials=source)
    billomat.handler = lambda request: refused()

    with pytest.raises(BillomatAuthError) as caught:
        client.get_myself()
    assert (source.reads, len(billomat.requests)) == (1, 2)
    assert caught.value.status_code == 401


def test_rotated_app_credentials_are_sent_and_kept_out_of_errors(
    make_client: Callable[..., BillomatClient], billomat: ScriptedBillomat
) -> None:
    new_secret = "n3w-app-s3cr3t-99999999"
    source = Credentials(BillomatCredentials(NEW_KEY, "autopilot-2", new_secret))
    client = make_client(app_id="autopilot", app_secret=APP_SECRET, credentials=source)
    echo = f"Invalid key {API_KEY} / {NEW_KEY} / {new_secret}"
    billomat.handler = lambda request: reply(status=401, text=echo)

    with pytest.raises(BillomatAuthError) as caught:
        client.get_myself()
    assert billomat.last.headers["X-AppId"] == "autopilot-2"
    assert billomat.last.headers["X-AppSecret"] == new_secret
    for secret in (API_KEY, NEW_KEY, new_secret, APP_SECRET):
        assert secret not in str(caught.value)
        assert secret not in " ".join(caught.value.messages)
        assert secret not in repr(client._connection)
    assert NEW_KEY not in repr(source.current)


def test_a_failed_re_read_leaves_the_401_standing(
    make_client: Callable[..., BillomatClient],
    billomat: ScriptedBillomat,
    caplog: pytest.LogCaptureFixture,
) -> None:
    def unreachable() -> BillomatCredentials:
        raise RuntimeError("Secrets Manager timed out")

    client = make_client(credentials=unreachable)
    billomat.handler = lambda request: refused()
    with (
        caplog.at_level(logging.WARNING, logger="autopilot.billomat"),
        pytest.raises(BillomatAuthError),
    ):
        client.get_myself()
    assert len(billomat.requests) == 1
    assert "re-reading it failed: Secrets Manager timed out" in caplog.text


def test_without_a_credentials_source_a_401_is_not_retried(
    client: BillomatClient, billomat: ScriptedBillomat
) -> None:
    billomat.handler = lambda request: refused()
    with pytest.raises(BillomatAuthError):
        client.get_myself()
    assert len(billomat.requests) == 1


@dataclass
class Rotation:
    """A warm container's client against the sandbox over HTTP, its key in a moto secret."""

    sandbox: BillomatSandbox
    secret_arn: str

    def put_secret(self, api_key: str) -> None:
        boto3.client("secretsmanager", region_name="eu-central-1").put_secret_value(
            SecretId=self.secret_arn,
            SecretString=json.dumps({"api_key": api_key, "app_id": "-", "app_secret": "-"}),
        )

    def statuses(self) -> list[int]:
        return [request.status for request in self.sandbox.requests]


@pytest.fixture
def rotation(monkeypatch: pytest.MonkeyPatch) -> Iterator[Rotation]:
    with mock_aws():
        arn = boto3.client("secretsmanager", region_name="eu-central-1").create_secret(
            Name="billomat-api", SecretString=json.dumps({"api_key": API_KEY})
        )["ARN"]
        sandbox = BillomatSandbox(api_key=API_KEY)
        with sandbox.serve() as server:
            monkeypatch.setenv("BILLOMAT_SECRET_ARN", arn)
            monkeypatch.setenv("BILLOMAT_BASE_URL", server.base_url)
            monkeypatch.delenv("BILLOMAT_ID", raising=False)
            use_billomat_client(None)
            clear_container_caches()
            try:
                yield Rotation(sandbox, arn)
            finally:
                billomat_client().close()
                clear_container_caches()


def test_a_warm_container_picks_up_a_rotated_key_with_one_retry(rotation: Rotation) -> None:
    client = billomat_client()
    client.get_myself()
    assert rotation.statuses() == [200]

    rotation.sandbox.api_key = NEW_KEY  # the key changed in Billomat ...
    rotation.put_secret(NEW_KEY)  # ... and in the secret

    assert billomat_client() is client  # the same warm client
    client.get_myself()
    assert rotation.statuses() == [200, 401, 200]
    client.get_myself()
    assert rotation.statuses() == [200, 401, 200, 200]


def test_a_revoked_key_with_an_unchanged_secret_is_a_401_after_one_read(
    rotation: Rotation,
) -> None:
    client = billomat_client()
    client.get_myself()
    rotation.sandbox.api_key = NEW_KEY  # changed in Billomat, the secret not yet updated

    with pytest.raises(BillomatAuthError):
        client.get_myself()
    assert rotation.statuses() == [200, 401]  # no retry with the same key

    rotation.put_secret(NEW_KEY)  # the operator updates the secret: the next call recovers
    client.get_myself()
    assert rotation.statuses() == [200, 401, 401, 200]


# -- local mode: the key sent to an external BILLOMAT_BASE_URL ----------------------------------


@pytest.mark.parametrize(
    "base_url",
    [None, "http://127.0.0.1:8099/api/", "http://localhost:8099/api/", "http://[::1]:8099/api/"],
)
def test_local_mode_defaults_to_the_sandbox_key_for_this_machine(base_url: str | None) -> None:
    from local.billomat_sandbox import DEV_API_KEY
    from local.dev_settings import DEV_BILLOMAT_API_KEY, LocalSettings

    environ = {} if base_url is None else {"BILLOMAT_BASE_URL": base_url}
    assert LocalSettings.from_env(environ).billomat_api_key == DEV_BILLOMAT_API_KEY == DEV_API_KEY


def test_local_mode_refuses_a_remote_billomat_without_a_key_at_start_up() -> None:
    from local.dev_settings import LocalSettings

    remote = {"BILLOMAT_BASE_URL": "https://acme.billomat.net/api/"}
    with pytest.raises(SystemExit, match=r"'acme.billomat.net'.*set BILLOMAT_API_KEY"):
        LocalSettings.from_env(remote)
    given = LocalSettings.from_env({**remote, "BILLOMAT_API_KEY": API_KEY})
    assert given.billomat_api_key == API_KEY


# -- HubSpot: the same one re-read of the token on a 401 ----------------------------------------

HUBSPOT_TOKEN = "pat-eu1-old-0000-s3cr3t0token"
HUBSPOT_NEW_TOKEN = "pat-eu1-new-9999-s3cr3t0token"
COMPANY = {"id": "7", "properties": {"name": "Acme GmbH"}}


def hubspot_with(
    answers: Callable[[httpx.Request], httpx.Response], source: Callable[[], str] | None
) -> tuple[Any, list[httpx.Request]]:
    from autopilot.hubspot.client import HubSpotClient

    seen: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return answers(request)

    client = HubSpotClient(
        "https://api.hubapi.com/",
        HUBSPOT_TOKEN,
        transport=httpx.MockTransport(handle),
        sleep=lambda seconds: None,
        access_token_source=source,
    )
    return client, seen


def valid_for(token: str) -> Callable[[httpx.Request], httpx.Response]:
    def answer(request: httpx.Request) -> httpx.Response:
        if request.headers["Authorization"] != f"Bearer {token}":
            return httpx.Response(401, json={"status": "error", "category": "INVALID_AUTH"})
        return httpx.Response(200, json=COMPANY)

    return answer


def test_hubspot_picks_up_a_rotated_token_with_one_retry() -> None:
    reads: list[str] = []

    def source() -> str:
        reads.append("read")
        return HUBSPOT_NEW_TOKEN

    client, seen = hubspot_with(valid_for(HUBSPOT_NEW_TOKEN), source)
    assert client.get_company(7).id == "7"
    assert [r.headers["Authorization"] for r in seen] == [
        f"Bearer {HUBSPOT_TOKEN}",
        f"Bearer {HUBSPOT_NEW_TOKEN}",
    ]
    client.get_company(7)
    assert (len(reads), len(seen)) == (1, 3)


def test_hubspot_keeps_the_401_when_the_token_did_not_change() -> None:
    from autopilot.hubspot.errors import HubSpotAuthError

    reads: list[str] = []

    def source() -> str:
        reads.append("read")
        return HUBSPOT_TOKEN

    client, seen = hubspot_with(valid_for(HUBSPOT_NEW_TOKEN), source)
    with pytest.raises(HubSpotAuthError):
        client.get_company(7)
    assert (len(reads), len(seen)) == (1, 1)


def test_hubspot_access_wires_the_secret_as_the_token_source(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from autopilot.hubspot.access import forget_hubspot_client, hubspot_client, use_hubspot_client

    with mock_aws():
        secrets = boto3.client("secretsmanager", region_name="eu-central-1")
        arn = secrets.create_secret(
            Name="hubspot", SecretString=json.dumps({"access_token": HUBSPOT_TOKEN})
        )["ARN"]
        monkeypatch.setenv("HUBSPOT_SECRET_ARN", arn)
        monkeypatch.delenv("HUBSPOT_BASE_URL", raising=False)
        use_hubspot_client(None)
        clear_container_caches()
        try:
            client = hubspot_client()
            secrets.put_secret_value(
                SecretId=arn, SecretString=json.dumps({"access_token": HUBSPOT_NEW_TOKEN})
            )
            assert client._renewed_token()  # what a 401 does
            assert client._http.headers["Authorization"] == f"Bearer {HUBSPOT_NEW_TOKEN}"
            assert hubspot_client() is client  # the same warm client
            assert not client._renewed_token()  # unchanged now: the 401 would stand
        finally:
            forget_hubspot_client()
            clear_container_caches()
