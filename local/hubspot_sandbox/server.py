"""Local mode: the sandbox on a real HTTP port (``http.server``, one thread per request)."""

from __future__ import annotations

import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, unquote, urlsplit

from .exchange import HubSpotRequest, HubSpotResponse
from .routes import ApiError
from .wire import json_response

if TYPE_CHECKING:
    from .sandbox import HubSpotSandbox

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 10 * 1024 * 1024
"""Bodies above this are refused before reading (HubSpot's own limit is lower)."""


class HubSpotServer:
    """A running HTTP server for one sandbox; stop it with :meth:`stop` (or use ``with``)."""

    def __init__(self, sandbox: HubSpotSandbox, host: str = "127.0.0.1", port: int = 0) -> None:
        self._stopping = threading.Event()
        handler = _handler_for(sandbox, self._stopping)
        self._httpd = ThreadingHTTPServer((host, port), handler)
        self._httpd.daemon_threads = True
        self.host = host
        self.port: int = self._httpd.server_address[1]
        self.base_url = f"http://{host}:{self.port}/"
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"hubspot-sandbox-{self.port}",
            daemon=True,
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop accepting requests, release requests held by timeout faults, close the port."""
        self._stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> HubSpotServer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


def _handler_for(
    sandbox: HubSpotSandbox, stopping: threading.Event
) -> type[BaseHTTPRequestHandler]:
    class HubSpotRequestHandler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "HubSpotSandbox/1.0"
        disable_nagle_algorithm = True  # headers and body go out at once: no 40 ms delayed ACK

        def _refuse(self, message: str) -> None:
            """Answer 400 without asking the sandbox (the request cannot even be read)."""
            self.close_connection = True
            self._write(json_response(400, ApiError(400, message).body(), {"Connection": "close"}))

        def _write(self, answer: HubSpotResponse) -> None:
            try:
                self.send_response(answer.status)
                for name, value in answer.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(answer.body)))
                self.end_headers()
                if self.command != "HEAD" and answer.body:
                    self.wfile.write(answer.body)
            except (BrokenPipeError, ConnectionResetError):
                logger.debug("client went away before the sandbox answered %s", self.path)

        def _serve(self) -> None:
            url = urlsplit(self.path)
            raw_length = self.headers.get("Content-Length") or "0"
            if not raw_length.isdigit() or int(raw_length) > MAX_BODY_BYTES:
                self._refuse(f"Invalid Content-Length: {raw_length[:40]!r}")
                return
            length = int(raw_length)
            body = self.rfile.read(length) if length else b""
            answer = sandbox.handle(
                HubSpotRequest(
                    method=self.command,
                    path=unquote(url.path),
                    query=tuple(parse_qsl(url.query, keep_blank_values=True)),
                    headers={name.lower(): value for name, value in self.headers.items()},
                    body=body,
                )
            )
            if answer.timed_out:
                # Hold the request longer than any sane client timeout, then drop the
                # connection without an answer; stopping the server releases the wait.
                stopping.wait(sandbox.server_timeout_seconds)
                self.close_connection = True
                return
            self._write(answer)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _serve

        def log_message(self, format: str, *args: object) -> None:
            logger.debug("hubspot sandbox: " + format, *args)

    return HubSpotRequestHandler
