"""The Lambda Runtime API, served to one execution environment's `awslambdaric`.

Routes (https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html):
    GET  /2018-06-01/runtime/invocation/next
    POST /2018-06-01/runtime/invocation/{id}/response
    POST /2018-06-01/runtime/invocation/{id}/error
    POST /2018-06-01/runtime/init/error

One server per environment (the runtime client finds its API by host:port alone). The server and
the invoking thread meet in a ``RuntimeExchange``; every state change also writes a byte to a wake
pipe, so the invoking thread can ``select`` on the process output and the exchange together.
"""

from __future__ import annotations

import logging
import os
import queue
import socket
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from harness.lambda_runtime.spec import InvocationRequest

LOG = logging.getLogger(__name__)

PREFIX = "/2018-06-01/runtime"
ERROR_TYPE_HEADER = "Lambda-Runtime-Function-Error-Type"


@dataclass(frozen=True)
class RuntimeReply:
    """The runtime's answer to one invocation: its result, or its error and error type."""

    request_id: str
    body: bytes
    is_error: bool
    error_type: str | None = None


class RuntimeExchange:
    """State shared by a Runtime API server and the thread that drives its environment."""

    def __init__(self, function_arn: str) -> None:
        self.function_arn = function_arn
        self._pending: queue.Queue[tuple[InvocationRequest, float] | None] = queue.Queue()
        self._lock = threading.Lock()
        self._replies: dict[str, RuntimeReply] = {}
        self.waiting_for_next = False
        self.init_error: RuntimeReply | None = None
        self._closed = False
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)
        os.set_blocking(self._wake_w, False)

    @property
    def wake_fd(self) -> int:
        return self._wake_r

    # The wake pipe's descriptors are used and closed under ``_lock``, and closed once: a closed
    # descriptor's number is soon another's (a socket of the server this runs in), and a second
    # close, or a write after the close, went to that one (LocalStack's gateway lost connections
    # and its clients waited out their 60 s read timeout).
    def _wake(self) -> None:
        with self._lock:
            if self._closed:
                return
            try:
                os.write(self._wake_w, b"x")
            except (BlockingIOError, OSError):
                pass  # the pipe is already full of wake-ups

    def clear_wake(self) -> None:
        with self._lock:
            if self._closed:
                return
            try:
                while os.read(self._wake_r, 4096):
                    pass
            except (BlockingIOError, OSError):
                pass

    def submit(self, request: InvocationRequest, deadline_epoch_s: float) -> None:
        with self._lock:
            self.waiting_for_next = False
        self._pending.put((request, deadline_epoch_s))

    def next_invocation(self) -> tuple[InvocationRequest, float] | None:
        with self._lock:
            self.waiting_for_next = True
        self._wake()
        return self._pending.get()

    def reply(self, reply: RuntimeReply) -> None:
        with self._lock:
            self._replies[reply.request_id] = reply
        self._wake()

    def fail_init(self, reply: RuntimeReply) -> None:
        with self._lock:
            self.init_error = reply
        self._wake()

    def has_reply(self, request_id: str) -> bool:
        with self._lock:
            return request_id in self._replies

    def take_reply(self, request_id: str) -> RuntimeReply | None:
        with self._lock:
            return self._replies.pop(request_id, None)

    def close(self) -> None:
        """Wake a runtime waiting for its next invocation (it gets none) and close the wake pipe;
        safe to call again."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            os.close(self._wake_r)
            os.close(self._wake_w)
        self._pending.put(None)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _RuntimeHttpServer

    def setup(self) -> None:
        super().setup()
        # Without this, small responses wait for Nagle's algorithm: ~40 ms per call.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:
        LOG.debug("runtime api: " + format, *args)

    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _send(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body:
            self.wfile.write(body)

    def do_GET(self) -> None:
        if self.path != f"{PREFIX}/invocation/next":
            self._send(404, b'{"errorType":"NotFound"}')
            return
        exchange = self.server.exchange
        item = exchange.next_invocation()
        if item is None:
            self._send(500, b'{"errorType":"Runtime.Shutdown"}')
            return
        request, deadline = item
        headers = {
            "Lambda-Runtime-Aws-Request-Id": request.request_id,
            "Lambda-Runtime-Deadline-Ms": str(int(deadline * 1000)),
            "Lambda-Runtime-Invoked-Function-Arn": request.invoked_arn or exchange.function_arn,
            "Lambda-Runtime-Trace-Id": request.trace_id,
            "Content-Type": "application/json",
        }
        if request.client_context:
            headers["Lambda-Runtime-Client-Context"] = request.client_context
        self._send(200, request.payload, headers)

    def do_POST(self) -> None:
        body = self._body()
        parts = self.path[len(PREFIX):].strip("/").split("/")
        exchange = self.server.exchange
        error_type = self.headers.get(ERROR_TYPE_HEADER)
        if parts == ["init", "error"]:
            exchange.fail_init(RuntimeReply("", body, True, error_type))
        elif len(parts) == 3 and parts[0] == "invocation" and parts[2] in ("response", "error"):
            is_error = parts[2] == "error"
            exchange.reply(RuntimeReply(parts[1], body, is_error, error_type if is_error else None))
        else:
            self._send(404, b'{"errorType":"NotFound"}')
            return
        self._send(202, b'{"status":"OK"}')


class _RuntimeHttpServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, exchange: RuntimeExchange) -> None:
        self.exchange = exchange
        super().__init__(("127.0.0.1", 0), _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # The runtime process is killed on timeouts, crashes and shutdown: broken pipes are normal.
        LOG.debug("runtime api connection from %s ended abruptly", client_address, exc_info=True)


class RuntimeApiServer:
    """A Runtime API on 127.0.0.1 (a free port) for one environment; stop() closes it."""

    def __init__(self, exchange: RuntimeExchange) -> None:
        self.exchange = exchange
        self._server = _RuntimeHttpServer(exchange)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.5},
            name="runtime-api",
            daemon=True,
        )

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self._server.server_port}"

    def start(self) -> RuntimeApiServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        """Close the API without waiting for the serve loop (up to one poll interval) to notice."""
        self.exchange.close()
        threading.Thread(target=self._close, name="runtime-api-close", daemon=True).start()

    def _close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

