"""The two ways into an embedded sandbox (Billomat, HubSpot), written once.

:class:`InProcessTransport` hands httpx requests straight to ``sandbox.handle``;
:class:`ThreadedSandboxServer` does the same over a real port (``http.server``, one thread per
request). Each sandbox subclasses both with its own request type (built by a
:data:`RequestFactory`), names and manners: base path, methods, what a timed-out request gets
after the hold, and whether oversized bodies are refused before reading.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, ClassVar, Protocol, Self
from urllib.parse import parse_qsl, unquote, urlsplit

import httpx

type QueryPairs = list[tuple[str, str]]
"""Query parameters in order, blank values kept, a name may repeat."""

type RequestFactory[R] = Callable[[str, str, QueryPairs, dict[str, str], bytes], R]
"""Builds a sandbox's request from method, percent-decoded path, query, lower-case headers, body."""


class Answer(Protocol):
    """What a sandbox answers (its response dataclass)."""

    @property
    def status(self) -> int: ...
    @property
    def headers(self) -> Mapping[str, str]: ...
    @property
    def body(self) -> bytes: ...
    @property
    def timed_out(self) -> bool:
        """The client must see a timeout instead of this answer."""
        ...


class Sandbox[R](Protocol):
    """A sandbox as the transport and the server see it."""

    @property
    def server_timeout_seconds(self) -> float:
        """How long the server holds a request whose answer ``timed_out``."""
        ...

    def handle(self, request: R, /) -> Answer: ...


class InProcessTransport[R](httpx.BaseTransport):
    """``httpx.Client(transport=...)`` answered by the sandbox in-process.

    The host is ignored. A simulated timeout raises ``httpx.ReadTimeout`` at once (no waiting).
    """

    label: ClassVar[str] = "sandbox"
    """Names the sandbox in the ``ReadTimeout`` message."""

    def __init__(self, sandbox: Sandbox[R], make_request: RequestFactory[R]) -> None:
        self._sandbox = sandbox
        self._make_request = make_request

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Answer one httpx request from the sandbox."""
        body = request.read()
        query = parse_qsl(
            request.url.query.decode("ascii", errors="replace"), keep_blank_values=True
        )
        headers = {name.lower(): value for name, value in request.headers.items()}
        answer = self._sandbox.handle(
            self._make_request(request.method, request.url.path, query, headers, body)
        )
        if answer.timed_out:
            raise httpx.ReadTimeout(f"{self.label}: simulated read timeout", request=request)
        return httpx.Response(
            answer.status, headers=answer.headers, content=answer.body, request=request
        )


class ThreadedSandboxServer[R]:
    """A running HTTP server for one sandbox; stop it with :meth:`stop` (or use ``with``).

    ``base_url`` is ``http://host:port`` plus :attr:`base_path`. A request whose answer
    ``timed_out`` is held for ``sandbox.server_timeout_seconds`` (stopping the server releases
    it), then answered anyway or, with :attr:`drop_timed_out`, dropped without an answer.
    """

    name: ClassVar[str] = "sandbox"
    """Short name: threads ``<name>-sandbox-<port>``, log lines ``<name> sandbox: ...``."""
    server_version: ClassVar[str] = "Sandbox/1.0"
    base_path: ClassVar[str] = "/"
    methods: ClassVar[tuple[str, ...]] = ("GET", "POST", "PUT", "DELETE", "HEAD")
    """Methods handed to the sandbox; others get ``http.server``'s 501."""
    drop_timed_out: ClassVar[bool] = False
    max_body_bytes: ClassVar[int | None] = None
    """When set, a missing-digit or larger ``Content-Length`` gets :meth:`refusal` unread."""

    def __init__(
        self,
        sandbox: Sandbox[R],
        make_request: RequestFactory[R],
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self._stopping = threading.Event()
        handler = _handler_for(self, sandbox, make_request, self._stopping)
        self._httpd = ThreadingHTTPServer((host, port), handler)
        self._httpd.daemon_threads = True
        self.host = host
        self.port: int = self._httpd.server_address[1]
        self.base_url = f"http://{host}:{self.port}{self.base_path}"
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"{self.name}-sandbox-{self.port}",
            daemon=True,
        )
        self._thread.start()

    def refusal(self, message: str) -> Answer:
        """The answer to a request whose body is not even read (see :attr:`max_body_bytes`)."""
        raise NotImplementedError(f"{type(self).__name__} sets max_body_bytes without a refusal")

    def stop(self) -> None:
        """Stop accepting requests, release requests held by timeout faults, close the port."""
        self._stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


def _handler_for[R](
    server: ThreadedSandboxServer[Any],
    sandbox: Sandbox[R],
    make_request: RequestFactory[R],
    stopping: threading.Event,
) -> type[BaseHTTPRequestHandler]:
    logger = logging.getLogger(type(server).__module__)
    log_prefix = f"{server.name} sandbox: "

    class SandboxRequestHandler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = server.server_version
        disable_nagle_algorithm = True  # headers and body go out at once: no 40 ms delayed ACK

        def _write(self, answer: Answer) -> None:
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
            limit = server.max_body_bytes
            if limit is not None and (not raw_length.isdigit() or int(raw_length) > limit):
                self.close_connection = True
                self._write(server.refusal(f"Invalid Content-Length: {raw_length[:40]!r}"))
                return
            length = int(raw_length)
            body = self.rfile.read(length) if length else b""
            answer = sandbox.handle(
                make_request(
                    self.command,
                    unquote(url.path),
                    parse_qsl(url.query, keep_blank_values=True),
                    {name.lower(): value for name, value in self.headers.items()},
                    body,
                )
            )
            if answer.timed_out:
                # Hold the request longer than any sane client timeout; stopping the server
                # releases the wait.
                stopping.wait(sandbox.server_timeout_seconds)
                if server.drop_timed_out:
                    self.close_connection = True
                    return
            self._write(answer)

        def log_message(self, format: str, *args: object) -> None:
            logger.debug(log_prefix + format, *args)

    for method in server.methods:
        setattr(SandboxRequestHandler, f"do_{method}", SandboxRequestHandler._serve)
    return SandboxRequestHandler
