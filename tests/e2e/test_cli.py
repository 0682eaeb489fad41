"""The `autopilot` operator CLI (cli/autopilot.py).

Against local mode: a real `python -m local.server` with the demo data, the bank samples in
events/bank replayed (two transfers end on the review list), the CLI called in-process with
`--local URL`. Against a stack: the AdminApiUrl lookup (a stubbed CloudFormation client) and
the SigV4 signing for execute-api (fixed credentials, the request captured, nothing sent).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import httpx
import pytest
from botocore.credentials import Credentials
from botocore.stub import Stubber

from cli import autopilot
from cli.autopilot import AdminApi, Unreachable, admin_api_url, main, signed_headers
from local.dev_settings import LocalSettings
from local.run import free_port, wait_for_drained_queues
from local.sample_events import EVENTS_DIR, load_delivery, sample_files

from .test_local_mode import RunningServer, start_server, stop_server

FOREIGN_CURRENCY = "fints:2026112400021"  # 250.00 USD for the EUR invoice RE1051
PAID_REFERENCE = "qonto:8a1f0c2e-6b1d-4c59-9e1a-000000000204"  # 300.00 EUR naming paid RE1040
QUEUES = {"orders", "deals", "bank", "products", "refunds"}


@pytest.fixture(scope="module")
def server() -> Iterator[RunningServer]:
    running = start_server({"LOCAL_DEMO_DATA": "1"})
    try:
        with httpx.Client(base_url=running.base_url, timeout=30) as http:
            health = http.get("/local/health").json()
            secrets = LocalSettings.from_env().webhook_secrets
            for path in sample_files(EVENTS_DIR / "bank"):
                delivery = load_delivery(path, secrets, health["public_base_url"])
                answer = http.post(delivery.route, content=delivery.body, headers=delivery.headers)
                assert answer.status_code < 300, (path.name, answer.text)
            wait_for_drained_queues(http)
        yield running
    finally:
        if running.process.poll() is None:
            stop_server(running)


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


# -- against local mode ----------------------------------------------------------------------


def test_status_renders_the_queue_table(
    server: RunningServer, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = cli(capsys, "--local", server.base_url, "status")
    assert (code, err) == (0, "")
    assert "Queues" in out
    assert "dead letters" in out
    for queue in QUEUES:
        assert queue in out
    assert "not available here: failures" in out  # local mode has no failures queue
    assert "Schedules: last run" in out
    assert "Billomat quota:" in out


def test_review_list_shows_the_seeded_items(
    server: RunningServer, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = cli(capsys, "--local", server.base_url, "review", "list")
    assert code == 0
    assert "Review list (" in out
    assert FOREIGN_CURRENCY in out
    assert "250.00 USD" in out
    assert "currency_mismatch" in out


def test_json_output_is_the_apis_json(
    server: RunningServer, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = cli(capsys, "--local", server.base_url, "--json", "status")
    assert code == 0
    assert {row["queue"] for row in json.loads(out)["queues"]} == QUEUES
    # --json is accepted after the command too
    code, out, _ = cli(capsys, "review", "list", "--json", "--local", server.base_url)
    assert code == 0
    items = {item["id"]: item for item in json.loads(out)["items"]}
    assert items[FOREIGN_CURRENCY]["amount"] == "250.00"
    assert items[FOREIGN_CURRENCY]["currency"] == "USD"
    code, out, _ = cli(capsys, "--local", server.base_url, "--json", "dead-letters", "list")
    assert code == 0
    assert {q["queue"] for q in json.loads(out)["queues"]} == QUEUES


def test_book_then_book_again_then_dismiss(
    server: RunningServer, capsys: pytest.CaptureFixture[str]
) -> None:
    local = ("--local", server.base_url)
    code, out, err = cli(capsys, *local, "review", "book", PAID_REFERENCE, "RE1048")
    assert (code, err) == (0, "")
    assert f"{PAID_REFERENCE}: booked on RE1048 (payment " in out

    code, out, err = cli(capsys, *local, "review", "book", PAID_REFERENCE, "RE1048")
    assert (code, out) == (1, "")
    assert err.startswith("error 409 already_resolved: ")
    assert '"status": "booked"' in err

    code, out, err = cli(capsys, *local, "--json", "review", "book", PAID_REFERENCE, "RE1048")
    assert code == 1
    assert json.loads(out)["error"] == "already_resolved"

    # a wrong invoice: 400, nothing booked, the item stays open
    code, _, err = cli(capsys, *local, "review", "book", FOREIGN_CURRENCY, "RE1051")
    assert code == 1
    assert err.startswith("error 400 currency_mismatch: ")

    code, out, err = cli(
        capsys, *local, "review", "dismiss", FOREIGN_CURRENCY, "--reason", "paid in cash"
    )
    assert (code, err) == (0, "")
    assert out.strip() == f"{FOREIGN_CURRENCY}: dismissed (paid in cash)"
    code, _, err = cli(capsys, *local, "review", "dismiss", FOREIGN_CURRENCY)
    assert code == 1
    assert "409 already_resolved" in err

    code, out, _ = cli(capsys, *local, "--json", "review", "list")
    assert code == 0
    open_ids = {item["id"] for item in json.loads(out)["items"]}
    assert not open_ids & {PAID_REFERENCE, FOREIGN_CURRENCY}

    code, _, err = cli(capsys, *local, "review", "dismiss", "fints:nope")
    assert code == 1
    assert err.startswith("error 404 ")


def test_dead_letters_list_and_redrive(
    server: RunningServer, capsys: pytest.CaptureFixture[str]
) -> None:
    local = ("--local", server.base_url)
    code, out, _ = cli(capsys, *local, "dead-letters", "list")
    assert code == 0
    assert "Dead letters" in out
    for queue in QUEUES:
        assert queue in out
    code, out, _ = cli(capsys, *local, "dead-letters", "redrive", "orders")
    assert code == 0
    assert out.strip() == "orders: 0 message(s) moved back to the queue"
    code, out, _ = cli(capsys, *local, "--json", "dead-letters", "redrive", "orders")
    assert (code, json.loads(out)) == (0, {"queue": "orders", "moved": 0})
    code, _, err = cli(capsys, *local, "dead-letters", "redrive", "nope")
    assert code == 1
    assert err.startswith("error 404 ")


def test_connection_error_is_exit_code_2(capsys: pytest.CaptureFixture[str]) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    code, out, err = cli(capsys, "--local", url, "status")
    assert (code, out) == (2, "")
    assert err.startswith(f"autopilot: cannot reach {url}/admin/status")


def test_usage_errors_are_exit_code_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["review"]) == 2
    assert main(["--local", "http://x", "--stack", "s", "status"]) == 2
    assert main(["--help"]) == 0


# -- against a stack: the output lookup and the signing --------------------------------------


def cloudformation() -> Any:
    return boto3.client(
        "cloudformation",
        region_name="eu-central-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def stack_description(outputs: list[dict[str, str]]) -> dict[str, Any]:
    return {
        "Stacks": [
            {
                "StackName": "billomat-autopilot",
                "CreationTime": "2026-01-01T00:00:00Z",
                "StackStatus": "UPDATE_COMPLETE",
                "Outputs": outputs,
            }
        ]
    }


def test_admin_api_url_comes_from_the_stack_outputs() -> None:
    client = cloudformation()
    url = "https://abc123.execute-api.eu-central-1.amazonaws.com/admin"
    with Stubber(client) as stub:
        stub.add_response(
            "describe_stacks",
            stack_description(
                [
                    {"OutputKey": "WebhookApiBaseUrl", "OutputValue": "https://other"},
                    {"OutputKey": "AdminApiUrl", "OutputValue": url},
                ]
            ),
            {"StackName": "billomat-autopilot"},
        )
        assert admin_api_url(client, "billomat-autopilot") == url
        stub.add_response("describe_stacks", stack_description([]), {"StackName": "old"})
        with pytest.raises(Unreachable, match="no AdminApiUrl output"):
            admin_api_url(client, "old")
        stub.add_client_error(
            "describe_stacks",
            service_error_code="ValidationError",
            service_message="Stack with id nope does not exist",
        )
        with pytest.raises(Unreachable, match="Stack with id nope does not exist"):
            admin_api_url(client, "nope")


def test_sigv4_signature_names_execute_api() -> None:
    credentials = Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "tok")
    url = "https://abc123.execute-api.eu-central-1.amazonaws.com/admin/review/fints:1"
    body = b'{"action": "dismiss"}'
    headers = signed_headers(
        "POST", url, body, {"content-type": "application/json"}, credentials, "eu-central-1"
    )
    authorization = headers["Authorization"]
    assert authorization.startswith("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/")
    assert "/eu-central-1/execute-api/aws4_request" in authorization
    assert "SignedHeaders=" in authorization
    assert "Signature=" in authorization
    assert headers["X-Amz-Date"]
    assert headers["X-Amz-Security-Token"] == "tok"
    assert headers["content-type"] == "application/json"


def test_stack_target_uses_samconfig_and_sends_signed_requests(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    assert autopilot.samconfig_parameters()["stack_name"] == "billomat-autopilot"
    looked_up: list[tuple[str, str]] = []

    def fake_lookup(client: Any, stack_name: str) -> str:
        looked_up.append((stack_name, client.meta.region_name))
        return "https://abc123.execute-api.eu-central-1.amazonaws.com/admin"

    sent: list[tuple[str, str, dict[str, str]]] = []

    def fake_request(method: str, url: str, **kwargs: Any) -> httpx.Response:
        sent.append((method, url, kwargs["headers"]))
        return httpx.Response(200, json={"items": []})

    monkeypatch.setattr(autopilot, "admin_api_url", fake_lookup)
    monkeypatch.setattr(autopilot.httpx, "request", fake_request)
    code, out, _ = cli(capsys, "review", "list")
    assert code == 0
    assert "no open items" in out
    assert looked_up == [("billomat-autopilot", "eu-central-1")]  # samconfig.toml's
    [(method, url, headers)] = sent
    assert (method, url) == (
        "GET",
        "https://abc123.execute-api.eu-central-1.amazonaws.com/admin/review",
    )
    assert "/eu-central-1/execute-api/aws4_request" in headers["Authorization"]

    sent.clear()
    code, _, _ = cli(capsys, "--stack", "other", "--region", "us-east-1", "status")
    assert code == 0
    assert looked_up[-1] == ("other", "us-east-1")
    assert "/us-east-1/execute-api/aws4_request" in sent[0][2]["Authorization"]


def test_api_refusal_without_json_is_exit_code_1(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def forbidden(method: str, url: str, **kwargs: Any) -> httpx.Response:
        return httpx.Response(403, text="Forbidden")

    monkeypatch.setattr(autopilot.httpx, "request", forbidden)
    answer = AdminApi("https://x/admin").call("GET", "/status")
    assert (answer.status_code, answer.body) == (403, "Forbidden")
    code, _, err = cli(capsys, "--local", "https://x", "status")
    assert code == 1
    assert err.strip() == "error 403: Forbidden"


def test_autopilot_is_a_console_script_of_the_project(server: RunningServer) -> None:
    """`make venv` installs the project: `.venv/bin/autopilot` runs cli.autopilot:main."""
    import subprocess
    import sys
    import tomllib
    from pathlib import Path

    root = Path(autopilot.__file__).resolve().parents[1]
    scripts = tomllib.loads((root / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts == {"autopilot": "cli.autopilot:main"}
    script = Path(sys.executable).parent / "autopilot"
    assert script.exists(), "run `make venv`: it installs the console script"
    done = subprocess.run(  # noqa: S603 - our own script; from another directory
        [str(script), "--local", server.base_url, "--json", "status"],
        capture_output=True,
        text=True,
        cwd="/",
        check=False,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert {"queues", "schedules", "failures", "billomat_rate"} <= set(json.loads(done.stdout))


def test_a_re_run_of_failed_scheduled_runs_says_what_started_and_what_was_kept(
    capsys: pytest.CaptureFixture[str],
) -> None:
    autopilot.show_redrive(
        {
            "queue": "scheduled",
            "moved": 1,
            "rerun": [{"function": "stack-Dunning-X", "now": "2026-11-25T08:00:00Z"}],
            "skipped": [{"message_id": "m-2", "reason": "the record is not JSON"}],
        }
    )
    out = capsys.readouterr().out
    assert "scheduled: 1 failed run(s) started again" in out
    assert "re-run stack-Dunning-X for 2026-11-25T08:00:00Z" in out
    assert "kept m-2: the record is not JSON" in out


def test_re_running_failed_runs_in_local_mode_is_refused_with_the_reason(
    server: RunningServer, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = cli(capsys, "--local", server.base_url, "dead-letters", "redrive", "scheduled")
    assert code == 1
    assert "SCHEDULED_FAILURES_QUEUE_URL" in err
