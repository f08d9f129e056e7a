"""A botocore transport into a WSGI app in this process: the harness's own calls without a socket.

The harness's pollers, async invoker and destinations run in the moto server's process; over HTTP
each of their calls paid for the client's socket I/O and cheroot's request parsing and response
writing besides the work itself: ~2.2 ms of CPU per call, ~1.2 ms without the socket (measured:
send, receive, delete on one queue, 300 rounds, each way in one process). The request still goes
through botocore (serialising, signing) and through moto's app with the environ a server would
give it (cheroot's keys, header names that hold an underscore kept as moto's own server keeps
them), so what moto answers is what it answers over HTTP. Clients, handlers and tools outside the
harness always use HTTP.
"""

from __future__ import annotations

import io
import sys
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import unquote, urlsplit

from botocore.awsrequest import AWSPreparedRequest, AWSResponse
from botocore.compat import HTTPHeaders

from harness.targets.moto_http import preserve_header_names

Transport = Callable[..., AWSResponse]


class _Body:
    """The response body as botocore reads it from urllib3 (``stream`` and ``read``)."""

    def __init__(self, data: bytes) -> None:
        self._data = data

    def stream(self, *_: Any, **__: Any) -> Iterator[bytes]:
        if self._data:
            yield self._data

    def read(self, *_: Any, **__: Any) -> bytes:
        data, self._data = self._data, b""
        return data


def wsgi_transport(app: Callable[..., Any]) -> Transport:
    """A ``before-send`` handler that answers each request of a client with ``app`` (pure wiring)."""

    def send(request: AWSPreparedRequest, **_: Any) -> AWSResponse:
        url = urlsplit(request.url)
        body = _body_bytes(request.body)
        environ: dict[str, Any] = {
            "REQUEST_METHOD": request.method, "SCRIPT_NAME": "",
            "PATH_INFO": unquote(url.path).encode().decode("latin-1"), "QUERY_STRING": url.query,
            "REQUEST_URI": url.path + (f"?{url.query}" if url.query else ""),
            "SERVER_NAME": url.hostname or "127.0.0.1", "SERVER_PORT": str(url.port or 80),
            "SERVER_PROTOCOL": "HTTP/1.1", "REMOTE_ADDR": "127.0.0.1", "CONTENT_LENGTH": str(len(body)),
            "wsgi.version": (1, 0), "wsgi.url_scheme": url.scheme or "http", "wsgi.input": io.BytesIO(body),
            "wsgi.errors": sys.stderr, "wsgi.multithread": True, "wsgi.multiprocess": False, "wsgi.run_once": False,
        }
        for raw_name, raw_value in request.headers.items():
            name = raw_name.decode("latin-1") if isinstance(raw_name, bytes) else str(raw_name)
            value = raw_value.decode("latin-1") if isinstance(raw_value, bytes) else str(raw_value)
            key = name.upper().replace("-", "_")
            if key == "CONTENT_TYPE":
                environ["CONTENT_TYPE"] = value
            elif key != "CONTENT_LENGTH":
                environ[f"HTTP_{key}"] = value
        environ.setdefault("HTTP_HOST", url.netloc)  # what urllib3 would send (moto's S3 routing reads it)
        preserve_header_names(environ, request.headers.keys())
        answer: dict[str, Any] = {}

        def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> None:
            answer["status"], answer["headers"] = int(status.split(" ", 1)[0]), headers

        chunks = app(environ, start_response)
        try:
            data = b"".join(chunks)
        finally:
            close = getattr(chunks, "close", None)
            if close is not None:
                close()
        headers = HTTPHeaders()
        for name, value in answer["headers"]:
            headers[name] = value  # appends, as a socket's headers would
        return AWSResponse(request.url, answer["status"], headers, _Body(data))

    return send


def _body_bytes(body: Any) -> bytes:
    if body is None:
        return b""
    if isinstance(body, bytes):
        return body
    if isinstance(body, str):
        return body.encode()
    if hasattr(body, "read"):
        data = body.read()
        if hasattr(body, "seek"):
            body.seek(0)  # a retry reads it again
        return data if isinstance(data, bytes) else str(data).encode()
    return bytes(body)
