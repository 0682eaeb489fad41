"""The cold path of each function: import + init + its first answer, against boto3 alone.

For every `functions/<name>/<name>/app.py` a fresh interpreter (like a new Lambda execution
environment: `python -S`, the layer, the function directory and the installed packages on
sys.path) imports the handler module and calls the handler once with a representative event:
the intake a signed Shopify order webhook, the queue workers an SQS batch of one message of
their kind (the message the intake itself queued for the sample delivery), the schedules
their schedule input, admin `GET /admin/status` as an HTTP API v2 event. AWS is moto behind a
loopback HTTP endpoint (`AWS_ENDPOINT_URL`), with the tables, queues, secrets, topic and bucket
local mode creates (`local.aws.LocalAws`), reset before every run so that each run is a real
first request; Billomat and HubSpot are the embedded sandboxes over loopback HTTP, fresh for
every run.

The endpoint records which AWS calls the first request made. The baseline for a function is a
handler that imports only boto3 and makes those same calls (same operations, same request
parameters) against the same endpoint in a fresh interpreter. The baseline makes no Billomat or
HubSpot requests, so their count and the time the sandboxes spent answering them are printed
next to the ratio. Medians of RUNS runs (default 5).

Columns: import+init ms (and its ratio to importing boto3: target <= 1.5x, issue 2), first
answer ms (start of import until the handler returned), baseline ms (start of `import boto3`
until the same AWS calls returned), their ratio, the sandbox requests and ms inside the first
answer, and the AWS calls. Everything stays on 127.0.0.1; temporary files go to a temp dir.

Run: `make bench` or `.venv/bin/python bench/coldstart.py [--runs N] [--only NAME ...]`.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import os
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT)]
import local  # noqa: E402,F401 - puts the layer and the function packages on sys.path
from local.aws import REGION, LocalAws, use_fake_aws_environment  # noqa: E402
from local.dev_settings import LocalSettings, webhook_secrets_json  # noqa: E402
from local.lambda_events import LocalLambdaContext, http_api_event, sqs_event  # noqa: E402
from local.sample_events import load_delivery  # noqa: E402

TARGET_RATIO = 1.5
EVENTS = ROOT / "events"
NOW = "2026-03-02T09:00:00+01:00"  # a Monday morning: the schedules' business day

# function -> (queue the intake fills, sample delivery that fills it)
WORKER_SAMPLES = {
    "order_invoice": ("orders", "shopify/order-paid-b2c-discount.json"),
    "deal_invoice": ("deals", "hubspot/deal-stage-closedwon.json"),
    "article_sync": ("products", "shopify/product-create-single.json"),
    "refund_credit": ("refunds", "shopify/refund-full.json"),
    "bank_payment": ("bank", "bank/bank-transfer-full-payment.json"),
}
INTAKE_SAMPLE = "shopify/order-paid-b2c-discount.json"

CHILD = """
import json, sys, time
sys.path[:0] = {paths!r}
start = time.perf_counter()
import {module} as app
imported = time.perf_counter()

class Context:
    function_name = "coldstart-bench"
    function_version = "$LATEST"
    invoked_function_arn = "arn:aws:lambda:{region}:123456789012:function:coldstart-bench"
    memory_limit_in_mb = 512
    aws_request_id = "coldstart-0001"
    log_group_name = "/aws/lambda/coldstart-bench"
    log_stream_name = "coldstart"
    def get_remaining_time_in_millis(self):
        return 60000

with open({event_file!r}) as f:
    event = json.load(f)
result = app.{handler}(event, Context())
answered = time.perf_counter()
print("COLDSTART " + json.dumps({{"import": imported - start, "answer": answered - start,
    "result": json.dumps(result, default=str)[:300]}}))
"""

BASELINE = """
import json, sys, time
sys.path[:0] = {paths!r}
start = time.perf_counter()
import boto3
imported = time.perf_counter()
from botocore.exceptions import ClientError
with open({calls_file!r}) as f:
    calls = json.load(f)
clients = {{}}
for service, operation, params in calls:
    client = clients.get(service) or clients.setdefault(service, boto3.client(service))
    try:
        getattr(client, operation)(**params)
    except ClientError:
        pass  # e.g. a conditional write that found the record: the call was made all the same
answered = time.perf_counter()
print("COLDSTART " + json.dumps({{"import": imported - start, "answer": answered - start}}))
"""


# ---------------------------------------------------------------- AWS over loopback
class AwsEndpoint:
    """moto (in-process mock) behind a loopback HTTP server; records the calls it serves.

    moto's own server needs Flask, which this project does not install; moto's mock intercepts
    `requests` to AWS hosts, so each request is forwarded there unchanged.
    """

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, dict[str, Any]]] = []
        self.recording = False
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _forward(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length) if length else b""
                status, headers, content = endpoint.forward(self.command, self.path, self, body)
                self.send_response(status)
                for name, value in headers:
                    self.send_header(name, value)
                if self.command != "HEAD":
                    self.send_header("content-length", str(len(content)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(content)

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _forward

            def log_message(self, *_args: Any) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def forward(
        self, method: str, path: str, request: BaseHTTPRequestHandler, body: bytes
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        import requests

        auth = request.headers.get("authorization", "")
        service = auth.split("Credential=")[1].split("/")[3] if "Credential=" in auth else "s3"
        if self.recording:
            self.calls.append(_call(service, method, path, request, body))
        headers = {
            k: v
            for k, v in request.headers.items()
            if k.lower() not in ("host", "content-length", "connection")
        }
        host = f"{service}.{REGION}.amazonaws.com"
        head = method == "HEAD"  # a HEAD answer declares a length but has no body to read
        answer = requests.request(
            method, f"https://{host}{path}", headers=headers, data=body, timeout=60, stream=head
        )
        skip = ("transfer-encoding", "connection", "content-encoding")
        skip = skip if head else (*skip, "content-length")
        return (
            answer.status_code,
            [(k, v) for k, v in answer.headers.items() if k.lower() not in skip],
            b"" if head else answer.content,
        )

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def _call(
    service: str, method: str, path: str, request: BaseHTTPRequestHandler, body: bytes
) -> tuple[str, str, dict[str, Any]]:
    """(service, boto3 method, its parameters) of one recorded request, for the baseline."""
    from botocore import xform_name

    target = request.headers.get("x-amz-target")
    if target:  # JSON protocols (DynamoDB, SQS, Secrets Manager): the body is the parameters
        return service, xform_name(target.rsplit(".", 1)[1]), json.loads(body or b"{}")
    if service == "s3":
        bucket, _, key = unquote(urlsplit(path).path).lstrip("/").partition("/")
        operation = {"PUT": "put_object", "HEAD": "head_object", "DELETE": "delete_object"}
        params: dict[str, Any] = {"Bucket": bucket, "Key": key}
        if method == "PUT":
            params["Body"] = base64.b64encode(body).decode()  # same size order, text-safe
        return service, operation.get(method, "get_object"), params
    form = dict(parse_qsl(body.decode()))  # query protocol (SNS)
    action = form.pop("Action", "Unknown")
    form.pop("Version", None)
    flat = {k: v for k, v in form.items() if "." not in k}
    return service, xform_name(action), flat


# ---------------------------------------------------------------- the stack of one run
class Stack:
    """Fresh AWS resources (moto reset) and fresh sandboxes for one run."""

    def __init__(self, endpoint: AwsEndpoint, settings: LocalSettings, report_dir: str) -> None:
        self.endpoint = endpoint
        self.settings = settings
        self.report_dir = report_dir
        self.sandbox_requests = 0
        self.sandbox_seconds = 0.0
        self._servers: list[Any] = []

    def _timed(self, handle: Callable[[Any], Any]) -> Callable[[Any], Any]:
        def timed(request: Any) -> Any:
            start = time.perf_counter()
            try:
                return handle(request)
            finally:
                self.sandbox_requests += 1
                self.sandbox_seconds += time.perf_counter() - start

        return timed

    def start(self, function: str) -> dict[str, str]:
        from moto.core.models import DEFAULT_ACCOUNT_ID  # noqa: F401 - moto is loaded
        from moto.moto_api import _internal

        _internal.moto_api_backend.reset()
        from local.billomat_sandbox import DEV_API_KEY, BillomatSandbox
        from local.demo_data import seed_demo_deal, seed_open_invoices
        from local.hubspot_sandbox import HubSpotSandbox

        billomat = BillomatSandbox(api_key=DEV_API_KEY)
        hubspot = HubSpotSandbox(access_token=self.settings.hubspot_access_token)
        seed_demo_deal(hubspot)
        if function == "bank_payment":
            seed_open_invoices(
                billomat, json.loads((EVENTS / "bank" / "_seed_open_invoices.json").read_text())
            )
        billomat.handle = self._timed(billomat.handle)  # type: ignore[method-assign]
        hubspot.handle = self._timed(hubspot.handle)  # type: ignore[method-assign]
        self._servers = [billomat.serve(), hubspot.serve()]
        environment = LocalAws().create(
            billomat_secret={"api_key": DEV_API_KEY, "app_id": "", "app_secret": ""},
            webhook_secrets=webhook_secrets_json(self.settings.webhook_secrets),
            hubspot_token=self.settings.hubspot_access_token,
        )
        self.sandbox_requests, self.sandbox_seconds = 0, 0.0
        environment.update(
            {
                "BILLOMAT_BASE_URL": self._servers[0].base_url,
                "HUBSPOT_BASE_URL": self._servers[1].base_url,
                "PUBLIC_BASE_URL": self.settings.public_base_url or "http://127.0.0.1:3000",
                **self.settings.workflow_environment(),
                "REPORT_LOCAL_DIR": self.report_dir,
            }
        )
        return environment

    def stop(self) -> None:
        for server in self._servers:
            server.stop()
        self._servers = []


def child_environment(stack_env: dict[str, str], endpoint: str, service: str) -> dict[str, str]:
    """What a Lambda environment would hold: the stack's variables, fake credentials."""
    return {
        "PATH": os.environ.get("PATH", ""),
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "local",
        "AWS_SECRET_ACCESS_KEY": "local",
        "AWS_SESSION_TOKEN": "local",
        "AWS_LAMBDA_FUNCTION_NAME": "coldstart-bench",
        "POWERTOOLS_METRICS_NAMESPACE": "Bench",
        "POWERTOOLS_SERVICE_NAME": service,
        "POWERTOOLS_LOG_LEVEL": "ERROR",
        "POWERTOOLS_TRACE_DISABLED": "true",  # no X-Ray daemon here (none in the baseline either)
        **stack_env,
    }


def run_child(code: str, env: dict[str, str]) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, "-S", "-c", code], capture_output=True, text=True, env=env, timeout=120
    )
    for line in reversed(out.stdout.splitlines()):
        if line.startswith("COLDSTART "):
            return dict(json.loads(line.removeprefix("COLDSTART ")))
    raise RuntimeError((out.stderr or out.stdout).strip().splitlines()[-1:] or ["no output"])


# ---------------------------------------------------------------- events
def intake_event(settings: LocalSettings) -> dict[str, Any]:
    public = settings.public_base_url or "http://127.0.0.1:3000"
    delivery = load_delivery(EVENTS / INTAKE_SAMPLE, settings.webhook_secrets, public)
    return http_api_event("POST", delivery.route, delivery.headers, delivery.body)


def worker_messages(stack: Stack) -> dict[str, dict[str, Any]]:
    """function -> an SQS event of one message, as the intake queues it for its sample."""
    import boto3

    messages: dict[str, dict[str, Any]] = {}
    public = stack.settings.public_base_url or "http://127.0.0.1:3000"
    environment = stack.start("webhooks")
    saved = dict(os.environ)
    try:
        os.environ.update(environment)
        os.environ["POWERTOOLS_LOG_LEVEL"] = "ERROR"
        from local.server import INTAKE_HANDLER, load_handler

        intake = load_handler(INTAKE_HANDLER)
        sqs = boto3.client("sqs", region_name=REGION)
        aws = {k: v for k, v in environment.items() if k.endswith("_QUEUE_URL")}
        for function, (queue, sample) in WORKER_SAMPLES.items():
            delivery = load_delivery(EVENTS / sample, stack.settings.webhook_secrets, public)
            event = http_api_event("POST", delivery.route, delivery.headers, delivery.body)
            intake(event, LocalLambdaContext("webhooks"))
            url = aws[f"{queue.upper()}_QUEUE_URL"]
            received = sqs.receive_message(
                QueueUrl=url, MaxNumberOfMessages=1, AttributeNames=["All"]
            ).get("Messages", [])
            if received:
                arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
                messages[function] = sqs_event(arn["Attributes"]["QueueArn"], received[:1])
    finally:
        os.environ.clear()
        os.environ.update(saved)
        stack.stop()
    return messages


def events_for(settings: LocalSettings, queued: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """function -> (handler attribute, event) or a reason it cannot be invoked honestly."""
    status = http_api_event("GET", "/admin/status", {}, b"")
    return {
        "webhooks": intake_event(settings),
        "admin": status,
        "dunning": {"schedule": "dunning", "now": NOW},
        "recurring": {"schedule": "recurring", "now": NOW},
        "reporting": {"schedule": "reporting"},
        **{
            name: queued.get(name, "the intake queued no message for its sample")
            for name in WORKER_SAMPLES
        },
    }


# ---------------------------------------------------------------- main
@contextlib.contextmanager
def fake_aws() -> Iterator[AwsEndpoint]:
    use_fake_aws_environment()
    from moto import mock_aws

    mock = mock_aws()
    mock.start()
    endpoint = AwsEndpoint()
    try:
        yield endpoint
    finally:
        endpoint.stop()
        mock.stop()


def summarize_calls(calls: list[tuple[str, str, dict[str, Any]]]) -> str:
    counts: dict[str, int] = {}
    for service, operation, _ in calls:
        key = f"{service}.{operation}"
        counts[key] = counts.get(key, 0) + 1
    return ", ".join(f"{k}" + (f" x{n}" if n > 1 else "") for k, n in counts.items()) or "none"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="fresh interpreters per case")
    parser.add_argument("--only", nargs="*", help="only these functions")
    args = parser.parse_args()
    runs = max(1, args.runs)
    site_packages = sysconfig.get_paths()["purelib"]
    layer = str(ROOT / "layers" / "shared")
    settings = LocalSettings.from_env({})
    rows: list[str] = []
    worst = worst_import = 0.0
    worst_name = ""

    with tempfile.TemporaryDirectory(prefix="coldstart-") as tmp, fake_aws() as endpoint:
        stack = Stack(endpoint, settings, str(Path(tmp, "reports")))
        events = events_for(settings, worker_messages(stack))
        print(
            f"cold path: import + init + first answer, median of {runs} fresh interpreters"
            f" (python -S, .pyc cached); AWS = moto at {endpoint.url} (reset every run)"
        )
        header = (
            f"{'function':<14}{'import+init':>12}{'x boto3':>8}{'first answer':>13}"
            f"{'baseline':>9}{'ratio':>7}{'sandbox req/ms':>15}  AWS calls on the first request"
        )
        print(header)
        import_base: list[float] = []
        for app in sorted(ROOT.glob("functions/*/*/app.py")):
            name = app.parent.name
            if args.only and name not in args.only:
                continue
            event = events.get(name)
            if not isinstance(event, dict):
                rows.append(f"{name:<14}not measured: {event or 'no representative event'}")
                print(rows[-1], flush=True)
                continue
            event_file = Path(tmp, f"{name}-event.json")
            event_file.write_text(json.dumps(event))
            paths = [str(app.parent.parent), layer, site_packages]
            code = CHILD.format(
                paths=paths,
                module=f"{name}.app",
                handler="lambda_handler",
                event_file=str(event_file),
                region=REGION,
            )
            samples: list[dict[str, Any]] = []
            baselines: list[dict[str, Any]] = []
            calls: list[tuple[str, str, dict[str, Any]]] = []
            try:
                for run in range(runs):
                    env = stack.start(name)
                    endpoint.calls, endpoint.recording = [], True
                    try:
                        sample = run_child(code, child_environment(env, endpoint.url, name))
                    finally:
                        endpoint.recording = False
                        sample_requests, sample_seconds = (
                            stack.sandbox_requests,
                            stack.sandbox_seconds,
                        )
                        stack.stop()
                    sample["sandbox_requests"] = sample_requests
                    sample["sandbox_seconds"] = sample_seconds
                    samples.append(sample)
                    if run < runs - 1:
                        continue
                    # the baselines replay the last run's calls on its resources (same ARNs)
                    calls = list(endpoint.calls)
                    calls_file = Path(tmp, f"{name}-calls.json")
                    calls_file.write_text(json.dumps(calls))
                    baseline_code = BASELINE.format(
                        paths=[site_packages], calls_file=str(calls_file)
                    )
                    for _ in range(runs):
                        baselines.append(
                            run_child(baseline_code, child_environment(env, endpoint.url, name))
                        )
            except (RuntimeError, subprocess.TimeoutExpired) as failed:
                rows.append(f"{name:<14}not measured: the handler failed: {failed}")
                print(rows[-1], flush=True)
                continue
            import_base.extend(b["import"] for b in baselines)
            init = statistics.median(s["import"] for s in samples)
            answer = statistics.median(s["answer"] for s in samples)
            base = statistics.median(b["answer"] for b in baselines)
            boto3_import = statistics.median(b["import"] for b in baselines)
            ratio = answer / base
            import_ratio = init / boto3_import
            if ratio > worst:
                worst, worst_name = ratio, name
            worst_import = max(worst_import, import_ratio)
            requests = statistics.median(s["sandbox_requests"] for s in samples)
            sandbox_ms = statistics.median(s["sandbox_seconds"] for s in samples) * 1000
            rows.append(
                f"{name:<14}{init * 1000:>10.0f}ms{import_ratio:>7.2f}x{answer * 1000:>11.0f}ms"
                f"{base * 1000:>7.0f}ms{ratio:>6.2f}x{requests:>7.0f} /{sandbox_ms:>5.0f}ms"
                f"  {summarize_calls(calls)}"
            )
            print(rows[-1], flush=True)
            result = samples[-1].get("result", "")
            print(f"{'':<14}answer: {result[:150]}", flush=True)
        if import_base:
            print(f"baseline: import boto3 {statistics.median(import_base) * 1000:.0f} ms (median)")
        print(
            f"worst first-answer ratio: {worst:.2f}x ({worst_name}); worst import+init ratio:"
            f" {worst_import:.2f}x (target <= {TARGET_RATIO}x)"
        )
        print(
            "sandbox ms = time the Billomat/HubSpot sandboxes spent answering inside the first"
            " answer (the baseline makes no such requests)"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
