"""Local mode (`make serve`): the whole system on this machine, without AWS or Docker.

The unchanged Lambda handlers run in-process; moto stands in for AWS; by default the
embedded Billomat sandbox stands in for Billomat. Only the event sources differ: an HTTP
server builds API Gateway events, a worker thread drains the SQS queues, and local-only
routes run the scheduled functions and the camt.053 import on demand.
"""

from __future__ import annotations

import base64
import importlib
import json
import logging
import os
import signal
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from local.aws import LocalAws, use_fake_aws_environment
from local.dev_settings import LocalSettings, webhook_secrets_json
from local.lambda_events import LocalLambdaContext, http_api_event, sqs_event

log = logging.getLogger("autopilot.local")

MAX_BODY_BYTES = 5 * 1024 * 1024
WORKER_POLL_SECONDS = 0.2
WORKER_TIMEOUT_SECONDS = 60.0
INTAKE_HANDLER = "webhooks.app:lambda_handler"
# the operator API (`/admin/...`): IAM-authorized in AWS, open here (loopback only)
ADMIN_HANDLER = "admin.app:lambda_handler"

# queue -> worker handler ("package.module:function")
QUEUE_WORKERS: dict[str, str] = {
    "orders": "order_invoice.app:lambda_handler",
    "bank": "bank_payment.app:lambda_handler",
    "deals": "deal_invoice.app:lambda_handler",
    "products": "article_sync.app:lambda_handler",
    "refunds": "refund_credit.app:lambda_handler",
}
# scheduled function -> handler
SCHEDULES: dict[str, str] = {
    "dunning": "dunning.app:lambda_handler",
    "recurring": "recurring.app:lambda_handler",
    "reporting": "reporting.app:lambda_handler",
}
# the camt.053 import handler (S3 upload in AWS, POST /local/imports/camt053 here)
CAMT053_IMPORT = "bank_payment.app:import_handler"
REVIEW_LIST = "bank_payment.app:review_handler"
# POST /local/articles/sync (the catalogue import) waits up to one quota window for Billomat
ARTICLE_SYNC_WAIT_SECONDS = 16 * 60.0

Handler = Callable[[dict[str, Any], Any], Any]


def load_handler(path: str) -> Handler:
    """Import ``package.module:function`` from the function directories."""
    module_name, _, attribute = path.partition(":")
    handler: Handler = getattr(importlib.import_module(module_name), attribute)
    return handler


def to_json(value: Any) -> str:
    """JSON with Decimal and dates as strings (the sandbox snapshot holds both)."""

    def convert(item: Any) -> Any:
        if isinstance(item, Decimal):
            return str(item)
        if isinstance(item, datetime | date):
            return item.isoformat()
        if hasattr(item, "__dict__"):
            return {k: v for k, v in vars(item).items() if not k.startswith("_")}
        raise TypeError(f"not JSON serialisable: {type(item).__name__}")

    return json.dumps(value, default=convert)


@dataclass
class HttpResult:
    """A response the HTTP server writes back."""

    status: int
    headers: dict[str, str]
    body: bytes

    @classmethod
    def json(cls, status: int, payload: Any) -> HttpResult:
        return cls(status, {"content-type": "application/json"}, to_json(payload).encode())


class LocalSystem:
    """Starts moto, the Billomat sandbox, the handlers and the queue worker."""

    def __init__(self, settings: LocalSettings, root: str) -> None:
        self.settings = settings
        self.root = root
        self.aws = LocalAws()
        self.sandbox: Any = None
        self._sandbox_server: Any = None
        self._mock: Any = None
        self._stop = threading.Event()
        self._worker: threading.Thread | None = None
        self._invoke_lock = threading.Lock()
        self.billomat_base_url = ""
        self.hubspot: Any = None
        self._hubspot_server: Any = None
        self.hubspot_base_url = ""
        self.public_base_url = settings.public_base_url
        self.worker_errors: list[str] = []

    # -- lifecycle ---------------------------------------------------------------------
    def start(self, port: int) -> None:
        """Bring every part up; `port` is the HTTP port actually bound (for PUBLIC_BASE_URL)."""
        use_fake_aws_environment()
        from moto import mock_aws

        self._mock = mock_aws()
        self._mock.start()

        if self.settings.billomat_base_url:
            self.billomat_base_url = self.settings.billomat_base_url
            api_key = self.settings.billomat_api_key or ""
        else:
            from local.billomat_sandbox import DEV_API_KEY, BillomatSandbox

            api_key = self.settings.billomat_api_key or DEV_API_KEY
            self.sandbox = BillomatSandbox(api_key=api_key)
            self._sandbox_server = self.sandbox.serve(host="127.0.0.1", port=0)
            if os.environ.get("LOCAL_DEMO_DATA") == "1":
                from local.demo_data import seed_demo_data

                for line in seed_demo_data(self.sandbox):
                    print(f"demo data: {line}", flush=True)
            self.billomat_base_url = self._sandbox_server.base_url

        self._start_hubspot()
        secrets = self.settings.webhook_secrets
        environment = self.aws.create(
            billomat_secret={"api_key": api_key, "app_id": "", "app_secret": ""},
            webhook_secrets=webhook_secrets_json(secrets),
            hubspot_token=self.settings.hubspot_access_token,
        )
        self.public_base_url = self.settings.public_base_url or f"http://127.0.0.1:{port}"
        environment.update(
            {
                "BILLOMAT_BASE_URL": self.billomat_base_url,
                "PUBLIC_BASE_URL": self.public_base_url,
                **self.settings.workflow_environment(),
                "REPORT_LOCAL_DIR": self.settings.report_dir,
                "POWERTOOLS_METRICS_NAMESPACE": "BillomatAutopilotLocal",
            }
        )
        environment["HUBSPOT_BASE_URL"] = self.hubspot_base_url
        os.environ.update(environment)
        os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "INFO")  # what the functions log, as JSON
        self.intake = load_handler(INTAKE_HANDLER)
        self.admin = load_handler(ADMIN_HANDLER)
        self.workers = {queue: load_handler(path) for queue, path in QUEUE_WORKERS.items()}
        self._worker = threading.Thread(target=self._drain_queues, name="queue-worker", daemon=True)
        self._worker.start()

    def _start_hubspot(self) -> None:
        """The embedded HubSpot sandbox on a local port, unless HUBSPOT_BASE_URL names another."""
        if self.settings.hubspot_base_url:
            self.hubspot_base_url = self.settings.hubspot_base_url
            return
        from local.hubspot_sandbox import HubSpotSandbox

        self.hubspot = HubSpotSandbox(access_token=self.settings.hubspot_access_token)
        self._hubspot_server = self.hubspot.serve(host="127.0.0.1", port=0)
        if os.environ.get("LOCAL_DEMO_DATA") == "1":
            from local.demo_data import seed_demo_deal

            for line in seed_demo_deal(self.hubspot):
                print(f"demo data: {line}", flush=True)
        self.hubspot_base_url = self._hubspot_server.base_url

    def stop(self) -> None:
        """Stop the worker, the sandbox servers and moto."""
        self._stop.set()
        if self._worker is not None:
            self._worker.join(timeout=5)
        if self._sandbox_server is not None:
            self._sandbox_server.stop()
        if self._hubspot_server is not None:
            self._hubspot_server.stop()
        if self._mock is not None:
            self._mock.stop()

    # -- queue worker ------------------------------------------------------------------
    def _drain_queues(self) -> None:
        import boto3

        sqs = boto3.client("sqs", region_name="eu-central-1")
        while not self._stop.is_set():
            for queue, handler in self.workers.items():
                try:
                    self._deliver_batch(sqs, queue, handler)
                except Exception as exc:  # keep draining the other queues
                    log.exception("queue worker failed on %s", queue)
                    self.worker_errors.append(f"{queue}: {exc}")
            self._stop.wait(WORKER_POLL_SECONDS)

    def _deliver_batch(self, sqs: Any, queue: str, handler: Handler) -> None:
        url = self.aws.queue_urls[queue]
        messages = sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["All"], WaitTimeSeconds=0
        ).get("Messages", [])
        if not messages:
            return
        event = sqs_event(self.aws.queue_arns[queue], messages)
        context = LocalLambdaContext(function_name=queue, timeout_seconds=WORKER_TIMEOUT_SECONDS)
        try:
            with self._invoke_lock:
                result = handler(event, context) or {}
        except Exception:
            # The whole batch failed: like Lambda, every message becomes visible again later.
            log.exception("worker for %s raised; the batch will be retried", queue)
            return
        failed = {item["itemIdentifier"] for item in result.get("batchItemFailures", [])}
        for message in messages:
            if message["MessageId"] not in failed:
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])

    # -- HTTP routes -------------------------------------------------------------------
    def handle(
        self, method: str, target: str, headers: Mapping[str, str], body: bytes
    ) -> HttpResult:
        """Route one HTTP request to a handler or a local-only route."""
        parts = urlsplit(target)
        path = parts.path
        if path.startswith("/webhooks/"):
            return self._invoke_intake(method, path, parts.query, headers, body)
        if path.startswith("/admin/"):
            return self._invoke_admin(method, path, parts.query, headers, body)
        if path == "/local/health" and method == "GET":
            return HttpResult.json(
                200,
                {
                    "status": "ok",
                    "billomat_base_url": self.billomat_base_url,
                    "embedded_billomat_sandbox": self.sandbox is not None,
                    "hubspot_base_url": self.hubspot_base_url,
                    "embedded_hubspot_sandbox": self.hubspot is not None,
                    "public_base_url": self.public_base_url,
                    "report_dir": self.settings.report_dir,
                    "queues": self.aws.queue_depths(),
                    "queue_workers": sorted(self.workers),
                    "worker_errors": self.worker_errors[-10:],
                },
            )
        if path == "/local/billomat" and method == "GET":
            if self.sandbox is None:
                return HttpResult.json(
                    404,
                    {"error": "not_found", "message": "Billomat is external (BILLOMAT_BASE_URL)."},
                )
            return HttpResult.json(
                200, {"records": self.sandbox.snapshot(), "emails": self.sandbox.sent_emails}
            )
        if path.startswith("/local/hubspot"):
            return self._hubspot_route(method, path, body)
        if path.startswith("/local/schedules/") and method == "POST":
            return self._run_schedule(path.removeprefix("/local/schedules/"), body)
        if path == "/local/imports/camt053" and method == "POST":
            if not body.strip():
                return HttpResult.json(
                    400, {"error": "empty_body", "message": "POST the camt.053 XML or ZIP file"}
                )
            # XML as text; anything else (a ZIP) travels base64-encoded, as the handler expects
            if body.lstrip().startswith(b"<"):
                upload = body.decode("utf-8", "replace")
            else:
                upload = base64.b64encode(body).decode("ascii")
            result = self._invoke_plain(CAMT053_IMPORT, {"camt053": upload})
            if json.loads(result.body).get("status") == "rejected":
                result.status = 400
            return result
        if path == "/local/review" and method == "GET":
            return self._invoke_plain(REVIEW_LIST, {})
        if path == "/local/articles/sync" and method == "POST":
            return self._sync_articles(body)
        return HttpResult.json(404, {"error": "not_found", "message": f"No route {method} {path}."})

    def _hubspot_route(self, method: str, path: str, body: bytes) -> HttpResult:
        """``GET /local/hubspot``: the sandbox's records; ``POST /local/hubspot/deals/{id}/stage``
        with ``{"stage": "closedwon"}``: move the deal as a user would and deliver HubSpot's
        signed webhook for it to the intake (the answer holds both)."""
        if self.hubspot is None:
            return HttpResult.json(
                404, {"error": "not_found", "message": "HubSpot is external (HUBSPOT_BASE_URL)."}
            )
        if path == "/local/hubspot" and method == "GET":
            return HttpResult.json(200, self.hubspot.snapshot())
        parts = path.strip("/").split("/")
        if method != "POST" or len(parts) != 5 or parts[2] != "deals" or parts[4] != "stage":
            return HttpResult.json(
                404, {"error": "not_found", "message": f"No route {method} {path}."}
            )
        try:
            request = json.loads(body or b"{}")
            stage = str(request["stage"])
            event = self.hubspot.move_deal(parts[3], stage)
        except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
            return HttpResult.json(400, {"error": "invalid_request", "message": str(exc)})
        from local.sample_events import signed_headers

        route = "/webhooks/hubspot/deals"
        raw = json.dumps([event], separators=(",", ":")).encode()
        headers = signed_headers(
            "hubspot_v3",
            route,
            {"Content-Type": "application/json"},
            raw,
            self.settings.webhook_secrets,
            self.public_base_url,
            int(time.time()),
        )
        answer = self._invoke_intake("POST", route, "", headers, raw)
        intake = json.loads(answer.body or b"{}")
        return HttpResult.json(200, {"event": event, "intake": {"status": answer.status, **intake}})

    def _invoke_intake(
        self, method: str, path: str, query: str, headers: Mapping[str, str], body: bytes
    ) -> HttpResult:
        event = http_api_event(method, path, headers, body, query_string=query)
        context = LocalLambdaContext(function_name="webhooks", timeout_seconds=5)
        response = self.intake(event, context)
        payload = response.get("body") or ""
        if response.get("isBase64Encoded"):
            raw = base64.b64decode(payload)
        else:
            raw = payload.encode("utf-8")
        headers_out = {k.lower(): str(v) for k, v in (response.get("headers") or {}).items()}
        return HttpResult(int(response.get("statusCode", 200)), headers_out, raw)

    def _invoke_admin(
        self, method: str, path: str, query: str, headers: Mapping[str, str], body: bytes
    ) -> HttpResult:
        """The operator API's handler, as API Gateway would call it (no IAM locally)."""
        event = http_api_event(method, path, headers, body, query_string=query)
        context = LocalLambdaContext(function_name="admin", timeout_seconds=30)
        with self._invoke_lock:  # it may book on Billomat: one handler at a time, as the worker
            response = self.admin(event, context)
        payload = response.get("body") or ""
        raw = base64.b64decode(payload) if response.get("isBase64Encoded") else payload.encode()
        headers_out = {k.lower(): str(v) for k, v in (response.get("headers") or {}).items()}
        return HttpResult(int(response.get("statusCode", 200)), headers_out, raw)

    def _run_schedule(self, name: str, body: bytes) -> HttpResult:
        if name not in SCHEDULES:
            known = ", ".join(sorted(SCHEDULES))
            return HttpResult.json(
                404,
                {"error": "not_found", "message": f"Unknown schedule {name!r}; known: {known}."},
            )
        try:
            request = json.loads(body) if body.strip() else {}
        except json.JSONDecodeError as exc:
            return HttpResult.json(400, {"error": "invalid_json", "message": str(exc)})
        if not isinstance(request, dict):
            return HttpResult.json(
                400, {"error": "invalid_body", "message": "expected a JSON object"}
            )
        now = request.get("now")
        if now is not None:
            try:
                datetime.fromisoformat(str(now))
            except ValueError:
                return HttpResult.json(
                    400, {"error": "invalid_now", "message": "now must be an ISO-8601 timestamp"}
                )
        return self._invoke_plain(SCHEDULES[name], request)

    def _sync_articles(self, body: bytes) -> HttpResult:
        """``POST /local/articles/sync`` with a ShopProduct (JSON): the article_sync workflow
        runs it here, as the worker would, for the catalogue import (which cannot reach this
        process's moto table). Answers the outcome and the Billomat requests it took."""
        from article_sync.app import syncing
        from pydantic import ValidationError

        from autopilot.billomat import BillomatError
        from autopilot.billomat_access import billomat_client
        from autopilot.shop_products import ShopProduct
        from autopilot.workflow_state import ClaimHeldElsewhere

        try:
            product = ShopProduct.model_validate_json(body)
        except ValidationError as exc:
            return HttpResult.json(400, {"error": "invalid_product", "message": str(exc)[:1000]})
        client = billomat_client()
        with self._invoke_lock:
            budget, client.time_budget = client.time_budget, lambda: ARTICLE_SYNC_WAIT_SECONDS
            before = client.request_count
            try:
                outcome = syncing().run(product).as_dict()
            except (ClaimHeldElsewhere, BillomatError) as exc:
                status = 409 if isinstance(exc, ClaimHeldElsewhere) else 502
                requests = client.request_count - before
                return HttpResult.json(
                    status,
                    {
                        "error": type(exc).__name__,
                        "message": str(exc),
                        "billomat_requests": requests,
                    },
                )
            finally:
                client.time_budget = budget
            requests = client.request_count - before
        quota = {"remaining": client.rate_limit_remaining, "reset": client.rate_limit_reset}
        return HttpResult.json(
            200, {"outcome": outcome, "billomat_requests": requests, "rate_limit": quota}
        )

    def _invoke_plain(self, handler_path: str, event: dict[str, Any]) -> HttpResult:
        handler = load_handler(handler_path)
        context = LocalLambdaContext(function_name=handler_path.split(".")[0], timeout_seconds=900)
        with self._invoke_lock:
            result = handler(event, context)
        return HttpResult.json(200, result)


def make_request_handler(system: LocalSystem) -> type[BaseHTTPRequestHandler]:
    """An http.server handler class bound to ``system``."""

    class RequestHandler(BaseHTTPRequestHandler):
        server_version = "BillomatAutopilotLocal/1"
        protocol_version = "HTTP/1.1"

        def _serve(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            if length > MAX_BODY_BYTES:
                self._write(HttpResult.json(413, {"error": "payload_too_large"}))
                return
            body = self.rfile.read(length) if length else b""
            try:
                result = system.handle(self.command, self.path, dict(self.headers.items()), body)
            except Exception as exc:
                log.exception("local route failed")
                result = HttpResult.json(500, {"error": "internal_error", "message": str(exc)})
            self._write(result)

        def _write(self, result: HttpResult) -> None:
            self.send_response(result.status)
            for name, value in result.headers.items():
                if name not in {"content-length", "connection"}:
                    self.send_header(name, value)
            self.send_header("content-length", str(len(result.body)))
            self.end_headers()
            self.wfile.write(result.body)

        do_GET = do_POST = do_PUT = do_DELETE = _serve

        def log_message(self, format: str, *args: Any) -> None:
            log.info("%s %s", self.address_string(), format % args)

    return RequestHandler


class LocalHTTPServer(ThreadingHTTPServer):
    """One thread per request, and a listen backlog for a shop's burst (Python's default is 5:
    forty deliveries arriving at once through a tunnel had their connections reset)."""

    request_queue_size = 128
    daemon_threads = True


def main() -> int:
    """Run local mode until SIGINT/SIGTERM."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    settings = LocalSettings.from_env()
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    system = LocalSystem(settings, root)
    server = LocalHTTPServer(("127.0.0.1", settings.port), make_request_handler(system))
    port = server.server_address[1]
    system.start(port)

    def shutdown(signum: int, _frame: Any) -> None:
        print(f"stopping ({signal.Signals(signum).name})", flush=True)
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGINT, shutdown)
    signal.signal(signal.SIGTERM, shutdown)
    print(
        f"ready: Billomat Autopilot local mode on http://127.0.0.1:{port} "
        f"(Billomat API {system.billomat_base_url})",
        flush=True,
    )
    started = time.monotonic()
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        server.server_close()
        system.stop()
    print(f"stopped after {time.monotonic() - started:.1f} s", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
