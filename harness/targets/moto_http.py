"""moto's WSGI app behind cheroot (CherryPy's production HTTP server) instead of werkzeug's
development server.

werkzeug's server answers every request with ``Connection: close`` and starts a thread per
connection, so every call from clients, pollers and handlers paid a TCP connect and a thread
start (three quarters of the moto process's CPU under load, issue 13). cheroot keeps HTTP/1.1
connections alive (idle ones wait in a selector, not in a thread) and serves requests from a fixed
pool of worker threads. moto's state stays in this one process.

moto's own request handler restores header names that hold an underscore (S3 metadata keys), which
CGI-style environs cannot spell; the gateway here does the same from cheroot's raw headers.
"""

from __future__ import annotations

import io
import logging
import socket
import threading
from collections.abc import Callable, Iterable
from typing import Any

LOG = logging.getLogger("cheroot")

# Worker threads: every long poll (SQS ``WaitTimeSeconds``, the harness's pollers wait 1 s) holds
# one for its duration, so the pool is sized for many concurrent polls rather than for the cores.
WORKER_THREADS = 64
IDLE_CONNECTION_S = 60  # an idle keep-alive connection is closed after this
# cheroot keeps 10 idle connections by default and closes the rest after their response; every
# client, poller and handler environment holds a pool of its own.
KEEP_ALIVE_CONNECTIONS = 500


class MotoHttpServer:
    """``start()`` binds ``host`` on a free port (or ``port``) and returns the endpoint; ``stop()``
    closes the listener and every connection and joins the server's threads (safe twice)."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, threads: int = WORKER_THREADS,
                 on_backend: Callable[[str], None] = lambda service: None,
                 front: Callable[[Any], Any] = lambda app: app) -> None:
        """``on_backend(service)`` runs once per service, before the server first serves it;
        ``front(app)`` wraps moto's app for the requests that come over HTTP (fault injection)."""
        self._bind = (host, port)
        self._front = front
        self._threads = threads
        self._on_backend = on_backend
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self.app: Any = None  # moto's WSGI app, once started (``wsgi_transport`` reaches it without a socket)

    def start(self) -> str:
        from cheroot import wsgi
        from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

        def create_app(service: Any) -> Any:  # moto calls it once per service, under its lock
            self._on_backend(str(service))
            return create_backend_app(service)

        self.app = DomainDispatcherApplication(create_app)
        server = wsgi.Server(self._bind, self._front(self.app), numthreads=self._threads,
                             timeout=IDLE_CONNECTION_S, request_queue_size=128, shutdown_timeout=2)
        server.gateway = _gateway_class()
        server.ConnectionClass = _connection_class()
        server.keep_alive_conn_limit = KEEP_ALIVE_CONNECTIONS
        # How often the selector loop wakes to expire idle connections and to see stop(): cheroot's
        # 0.5 s default made every stop wait half a second; twenty wake-ups a second cost nothing.
        server.expiration_interval = 0.05
        server.error_log = _log  # type: ignore[method-assign]  # cheroot prints to stderr; ours go to moto.log
        server.prepare()  # binds: the port is known from here on
        self._server = server
        self._thread = threading.Thread(target=server.serve, name="moto-http", daemon=True)
        self._thread.start()
        host, port = server.bind_addr[:2]
        return f"http://{host}:{port}"

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None


def _log(msg: str = "", level: int = logging.INFO, traceback: bool = False) -> None:
    LOG.log(level, "%s", msg, exc_info=traceback)


def preserve_header_names(environ: dict[str, Any], names: Iterable[str | bytes]) -> None:
    """Put in ``environ`` moto's map of the request's header names that hold an underscore (a
    CGI-style environ cannot spell them), as moto's own server does."""
    from moto.core.request import (
        PRESERVED_HEADER_NAMES_ENVIRON_KEY,
        environ_key_for_header,
        should_preserve_original_header_name,
    )

    kept: dict[str, str] = {}
    for raw in names:
        name = raw.decode("latin-1") if isinstance(raw, bytes) else str(raw)
        if should_preserve_original_header_name(name):
            kept.setdefault(environ_key_for_header(name), name)
    environ[PRESERVED_HEADER_NAMES_ENVIRON_KEY] = kept


class _SocketReader(io.BufferedReader):
    """cheroot's socket reader on the C ``BufferedReader``: cheroot's own is built on ``_pyio``
    (pure Python; a quarter of the server's CPU per request went to reading header lines)."""

    def __init__(self, sock: socket.socket, bufsize: int = io.DEFAULT_BUFFER_SIZE) -> None:
        super().__init__(socket.SocketIO(sock, "rb"), bufsize)
        self._sock = sock
        self.bytes_read = 0

    def read(self, size: int | None = -1, /) -> bytes:
        data = super().read(size)
        self.bytes_read += len(data)
        return data

    def has_data(self) -> bool:
        """Whether a request is buffered already (a pipelined one), without waiting for the socket."""
        timeout = self._sock.gettimeout()
        self._sock.setblocking(False)
        try:
            return bool(self.peek(1))
        except OSError:
            return False
        finally:
            self._sock.settimeout(timeout)


class _SocketWriter:
    """cheroot's socket writer without the ``_pyio`` buffer it flushes on every write anyway."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self.bytes_written = 0

    def write(self, data: bytes) -> int:
        self._sock.sendall(data)
        self.bytes_written += len(data)
        return len(data)

    def flush(self) -> None:
        return None

    def close(self) -> None:
        return None


def _make_file(sock: socket.socket, mode: str = "r", bufsize: int = io.DEFAULT_BUFFER_SIZE) -> Any:
    return _SocketReader(sock, bufsize) if "r" in mode else _SocketWriter(sock)


def _connection_class() -> type:
    """cheroot's connection, reading and writing its socket through ``_make_file``."""
    from cheroot.server import HTTPConnection

    class Connection(HTTPConnection):
        def __init__(self, server: Any, sock: Any, makefile: Any = None) -> None:
            super().__init__(server, sock, _make_file)

    return Connection


def _gateway_class() -> type:
    """cheroot's WSGI 1.0 gateway, with moto's map of header names that hold an underscore."""
    from cheroot.wsgi import Gateway_10

    class MotoGateway(Gateway_10):
        def get_environ(self) -> dict[str, Any]:  # type: ignore[override]
            environ: dict[str, Any] = super().get_environ()  # type: ignore[no-untyped-call]
            preserve_header_names(environ, self.req.inheaders)
            return environ

    return MotoGateway
