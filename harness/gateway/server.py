"""The local HTTP API gateway: one server per API on 127.0.0.1, invoking Lambda through its API."""

from __future__ import annotations

import json
import logging
import re
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from botocore.exceptions import ClientError

from harness.gateway.auth import JwksCache, authorize
from harness.gateway.events import (
    HttpRequest,
    HttpResponse,
    MalformedResponseError,
    RequestContext,
    build_event_rest,
    build_event_v1,
    build_event_v2,
    error_response,
    gateway_id,
    map_response_v1,
    map_response_v2,
)
from harness.gateway.integrations import Clients, call_integration
from harness.gateway.model import Cors, HttpApiDefinition
from harness.gateway.routing import match_route

LOG = logging.getLogger(__name__)
Invoke = Callable[[str, bytes], tuple[bytes, str | None]]  # (function arn, payload) -> (body, error)


class HttpApiGateway:
    """Serves one HTTP API; ``handle`` is the pure-ish core, the HTTP server its edge."""

    def __init__(self, api: HttpApiDefinition, *, account_id: str, invoke: Invoke, keys: JwksCache,
                 clients: Clients | None = None) -> None:
        self.api = api
        self.account_id = account_id
        self._invoke = invoke
        self._clients = clients
        self._keys = keys
        self.access_log: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        """The server's root (a named stage is the first path segment under it)."""
        assert self._server is not None, "start() first"
        return f"http://127.0.0.1:{self._server.server_port}"

    @property
    def url(self) -> str:
        """The API's invoke URL: the root, or the root and the stage."""
        return self.base_url if self.api.stage == "$default" else f"{self.base_url}/{self.api.stage}"

    def handle(self, request: HttpRequest) -> HttpResponse:
        """Route, authorize, invoke and map one request, as API Gateway would."""
        started = time.perf_counter()
        # REST APIs: a UUID and an extended id; HTTP APIs: API Gateway's own id format
        extended_id = gateway_id()
        request_id = str(uuid.uuid4()) if self.api.kind == "rest" else extended_id
        path = re.sub(r"/{2,}", "/", request.path)  # API Gateway treats `//inbox` as `/inbox`
        if self.api.stage != "$default":
            prefix = f"/{self.api.stage}"
            if not (path == prefix or path.startswith(prefix + "/")):
                return self._log(request, request_id, "-", error_response(404, "Not Found"), started)
            path = path[len(prefix):] or "/"
        preflight = self._preflight(request)
        if preflight is not None:
            return self._log(request, request_id, "-", preflight, started)
        found = match_route(self.api.routes, request.method, path)
        if found is None:
            return self._log(request, request_id, "-", self._cors(request, error_response(404, "Not Found")), started)
        route = found.route
        claims, scopes = None, None
        if route.authorizer is not None:
            header = request.header(route.authorizer.identity_source.rsplit(".", 1)[-1])
            result = authorize(header, route.authorizer, route.scopes, self._keys)
            if result.error is not None:
                return self._log(request, request_id, route.route_key, self._cors(request, result.error), started)
            claims, scopes = result.claims, result.scopes
        ctx = RequestContext(self.account_id, self.api.api_id, self.api.stage, request_id,
                             f"{self.api.api_id}.execute-api.localhost", datetime.now(UTC), claims, scopes,
                             extended_id)
        local = HttpRequest(request.method, path, request.raw_query, request.headers, request.body,
                            request.source_ip, request.protocol)
        if route.integration is not None:  # a REST API's MOCK or AWS service integration
            if self._clients is None:
                return self._log(request, request_id, route.route_key, error_response(500, "Internal server error"),
                                 started)
            response = call_integration(route.integration, local, ctx, found.path_parameters, self._clients)
            return self._log(request, request_id, route.route_key, self._cors(request, response), started)
        v2 = route.payload_version != "1.0"
        if self.api.kind == "rest":
            event = build_event_rest(local, route, found.path_parameters, ctx)
        elif v2:
            event = build_event_v2(local, route.route_key, found.path_parameters, ctx)
        else:
            event = build_event_v1(local, route, found.path_parameters, ctx)
        response = self._call(route.function_arn, json.dumps(event).encode(), v2)
        return self._log(request, request_id, route.route_key, self._cors(request, response), started)

    def _call(self, function_arn: str, payload: bytes, v2: bool) -> HttpResponse:
        try:
            body, error = self._invoke(function_arn, payload)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code == "TooManyRequestsException":
                return error_response(429, "Too Many Requests")
            LOG.warning("invoking %s failed: %s", function_arn, exc)
            return error_response(500, "Internal Server Error")
        if error is not None:
            return error_response(500, "Internal Server Error")
        try:
            return map_response_v2(body) if v2 else map_response_v1(body)
        except MalformedResponseError as exc:
            LOG.warning("malformed response from %s: %s", function_arn, exc)
            return error_response(502, "Internal Server Error")

    def _preflight(self, request: HttpRequest) -> HttpResponse | None:
        cors = self.api.cors
        if cors is None or request.method != "OPTIONS" or not request.header("access-control-request-method"):
            return None
        origin = request.header("origin") or ""
        if not _origin_allowed(cors, origin):
            return HttpResponse(204)
        headers = [("access-control-allow-origin", "*" if "*" in cors.allow_origins and not cors.allow_credentials else origin),
                   ("access-control-allow-methods", ",".join(cors.allow_methods) or "*"),
                   ("access-control-allow-headers", ",".join(cors.allow_headers) or "*")]
        if cors.max_age is not None:
            headers.append(("access-control-max-age", str(cors.max_age)))
        if cors.allow_credentials:
            headers.append(("access-control-allow-credentials", "true"))
        return HttpResponse(204, tuple(headers))

    def _cors(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        cors, origin = self.api.cors, request.header("origin")
        if cors is None or not origin or not _origin_allowed(cors, origin):
            return response
        extra = [("access-control-allow-origin", "*" if "*" in cors.allow_origins and not cors.allow_credentials else origin)]
        if cors.expose_headers:
            extra.append(("access-control-expose-headers", ",".join(cors.expose_headers)))
        if cors.allow_credentials:
            extra.append(("access-control-allow-credentials", "true"))
        return HttpResponse(response.status, response.headers + tuple(extra), response.body)

    def _log(self, request: HttpRequest, request_id: str, route_key: str, response: HttpResponse,
             started: float) -> HttpResponse:
        entry = {"requestId": request_id, "ip": request.source_ip,
                 "requestTime": datetime.now(UTC).strftime("%d/%b/%Y:%H:%M:%S +0000"),
                 "httpMethod": request.method, "routeKey": route_key, "path": request.path,
                 "status": response.status, "protocol": request.protocol, "responseLength": len(response.body),
                 "latencyMs": round((time.perf_counter() - started) * 1000, 2)}
        with self._lock:
            self.access_log.append(entry)
        return response

    def start(self) -> HttpApiGateway:
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                LOG.debug("gateway: " + format, *args)

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                path, _, query = self.path.partition("?")
                request = HttpRequest(self.command, path, query, tuple(self.headers.items()), body,
                                      self.client_address[0], self.request_version)
                response = gateway.handle(request)
                self.send_response(response.status)
                for name, value in response.headers:
                    self.send_header(name, value)
                self.send_header("apigw-requestid", gateway.access_log[-1]["requestId"] if gateway.access_log else "")
                self.send_header("Content-Length", str(len(response.body)))
                self.end_headers()
                self.wfile.write(response.body)

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = do_HEAD = _serve

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.2},
                                        name=f"gateway-{self.api.api_id}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


def _origin_allowed(cors: Cors, origin: str) -> bool:
    return "*" in cors.allow_origins or origin in cors.allow_origins
