"""Local mode: the sandbox on a real HTTP port (``http.server``, one thread per request)."""

from __future__ import annotations

import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, unquote, urlsplit

from .exchange import SandboxRequest

if TYPE_CHECKING:
    from .sandbox import BillomatSandbox

logger = logging.getLogger(__name__)


class SandboxServer:
    """A running HTTP server for one sandbox; stop it with :meth:`stop` (or use ``with``)."""

    def __init__(self, sandbox: BillomatSandbox, host: str = "127.0.0.1", port: int = 0) -> None:
        self._stopping = threading.Event()
        handler = _handler_for(sandbox, self._stopping)
        self._httpd = ThreadingHTTPServer((host, port), handler)
        self._httpd.daemon_threads = True
        self.host = host
        self.port: int = self._httpd.server_address[1]
        self.base_url = f"http://{host}:{self.port}/api/"
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"billomat-sandbox-{self.port}",
            daemon=True,
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop accepting requests, release requests held by timeout faults, close the port."""
        self._stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> SandboxServer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


def _handler_for(
    sandbox: BillomatSandbox, stopping: threading.Event
) -> type[BaseHTTPRequestHandler]:
    class BillomatRequestHandler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "BillomatSandbox/1.0"
        disable_nagle_algorithm = True  # headers and body go out at once: no 40 ms delayed ACK

        def _serve(self) -> None:
            url = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            answer = sandbox.handle(
                SandboxRequest(
                    method=self.command,
                    path=unquote(url.path),
                    query=dict(parse_qsl(url.query, keep_blank_values=True)),
                    headers={name.lower(): value for name, value in self.headers.items()},
                    body=body,
                )
            )
            if answer.timed_out:
                # Hold the answer longer than any sane client timeout, then give the 504 a
                # gateway would; stopping the server releases the wait.
                stopping.wait(sandbox.server_timeout_seconds)
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

        do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _serve

        def log_message(self, format: str, *args: object) -> None:
            logger.debug("billomat sandbox: " + format, *args)

    return BillomatRequestHandler
