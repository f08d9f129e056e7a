"""A stub of the Docker Engine API on 127.0.0.1, enough for the Docker SDK and testcontainers to ping
it, create, start, inspect, list, read the logs of and remove containers (no engine needed). A
started container whose config publishes 4566 gets a stand-in LocalStack health route on that
loopback port, so the harness's health wait runs for real; it stops when the container is removed."""

from __future__ import annotations

import json
import re
import struct
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

API_VERSION = "1.45"


class _Health(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = json.dumps({"services": {"s3": "running", "sqs": "running"}}).encode()
        self.send_response(200 if self.path.startswith("/_localstack/health") else 404)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


class DockerStub:
    """``with DockerStub() as stub:`` then ``DOCKER_HOST=stub.url``; ``stub.created`` holds each
    create request's body, ``stub.removed`` the removed ids."""

    def __init__(self) -> None:
        self.containers: dict[str, dict[str, Any]] = {}
        self.created: list[dict[str, Any]] = []
        self.removed: list[str] = []
        self._health: dict[str, ThreadingHTTPServer] = {}
        self._lock = threading.Lock()
        stub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _answer(self, status: int, payload: Any = None, raw: bytes | None = None,
                        content_type: str = "application/json") -> None:
                body = raw if raw is not None else (json.dumps(payload).encode() if payload is not None else b"")
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Api-Version", API_VERSION)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _route(self, method: str) -> None:
                parts = urlsplit(self.path)
                path = re.sub(r"^/v\d+\.\d+", "", unquote(parts.path))
                query = {k: v[0] for k, v in parse_qs(parts.query).items()}
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"null") if length else None
                status, payload, raw, kind = stub.handle(method, path, query, body)
                self._answer(status, payload, raw, kind)

            def do_GET(self) -> None:
                self._route("GET")

            def do_HEAD(self) -> None:
                self._route("HEAD")

            def do_POST(self) -> None:
                self._route("POST")

            def do_DELETE(self) -> None:
                self._route("DELETE")

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"tcp://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> DockerStub:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        for server in list(self._health.values()):
            server.shutdown()
            server.server_close()
        self._server.shutdown()
        self._server.server_close()

    def handle(self, method: str, path: str, query: dict[str, str],
               body: Any) -> tuple[int, Any, bytes | None, str]:
        if path == "/_ping":
            return 200, None, b"OK", "text/plain"
        if path == "/version":
            return 200, {"ApiVersion": API_VERSION, "MinAPIVersion": "1.24", "Version": "27.0.0-stub",
                         "Os": "linux", "Arch": "amd64"}, None, "application/json"
        if re.fullmatch(r"/images/.+/json", path):
            return 200, {"Id": "sha256:stub", "RepoTags": [path[8:-5]]}, None, "application/json"
        if path == "/containers/create" and method == "POST":
            return self._create(query.get("name", ""), body)
        if path == "/containers/json":
            return 200, self._list(query), None, "application/json"
        match = re.fullmatch(r"/containers/([^/]+)(/[a-z]+)?", path)
        if match is None:
            return 404, {"message": f"the stub has no {method} {path}"}, None, "application/json"
        with self._lock:
            container = self._find(match.group(1))
        if container is None:
            return 404, {"message": f"No such container: {match.group(1)}"}, None, "application/json"
        action = match.group(2) or ""
        if action == "/json":
            return 200, container, None, "application/json"
        if action == "/start":
            self._start(container)
            return 204, None, None, "application/json"
        if action == "/stop":
            container["State"].update(Status="exited", Running=False)
            return 204, None, None, "application/json"
        if action == "/logs":
            frame = struct.pack(">BxxxL", 1, 7) + b"Ready.\n" if query.get("stdout") in ("1", "True", "true") else b""
            return 200, None, frame, "application/vnd.docker.raw-stream"
        if method == "DELETE" and not action:
            self._remove(container)
            return 204, None, None, "application/json"
        return 404, {"message": f"the stub has no {method} {path}"}, None, "application/json"

    def _find(self, ref: str) -> dict[str, Any] | None:
        return next((c for c in self.containers.values() if ref in (c["Id"], c["Id"][:12], c["Name"].lstrip("/"))),
                    None)

    def _create(self, name: str, body: dict[str, Any]) -> tuple[int, Any, bytes | None, str]:
        container_id = uuid.uuid4().hex * 2
        self.created.append(body)
        bindings = (body.get("HostConfig") or {}).get("PortBindings") or {}
        with self._lock:
            self.containers[container_id] = {
                "Id": container_id, "Name": f"/{name or container_id[:12]}", "Image": "sha256:stub",
                "Config": {"Image": body.get("Image"), "Env": body.get("Env"), "Labels": body.get("Labels") or {},
                           "Tty": False},
                "HostConfig": body.get("HostConfig") or {},
                "State": {"Status": "created", "Running": False, "ExitCode": 0},
                "NetworkSettings": {"Ports": bindings, "Networks": {"bridge": {"IPAddress": "172.17.0.2",
                                                                                "Gateway": "172.17.0.1"}}},
            }
        return 201, {"Id": container_id, "Warnings": []}, None, "application/json"

    def _start(self, container: dict[str, Any]) -> None:
        container["State"].update(Status="running", Running=True)
        for binding in container["NetworkSettings"]["Ports"].get("4566/tcp") or []:
            server = ThreadingHTTPServer((binding.get("HostIp") or "127.0.0.1", int(binding["HostPort"])), _Health)
            threading.Thread(target=server.serve_forever, daemon=True).start()
            self._health[container["Id"]] = server

    def _remove(self, container: dict[str, Any]) -> None:
        with self._lock:
            self.containers.pop(container["Id"], None)
            self.removed.append(container["Id"])
            server = self._health.pop(container["Id"], None)
        if server is not None:
            server.shutdown()
            server.server_close()

    def _list(self, query: dict[str, str]) -> list[dict[str, Any]]:
        wanted = [label.split("=", 1)[0] for label in json.loads(query.get("filters") or "{}").get("label", [])]
        with self._lock:
            return [{"Id": c["Id"], "Names": [c["Name"]], "Labels": c["Config"]["Labels"], "State": c["State"]["Status"],
                     "Image": c["Config"]["Image"]}
                    for c in self.containers.values() if all(w in c["Config"]["Labels"] for w in wanted)]
