"""The HTTP front of a local target: injects the faults of ``FaultRegistry`` into the calls that
reach it over HTTP (handlers' and clients'; the harness's own in-process calls do not pass here),
observes each of them for IAM and cost (``harness.iam.recorder``), and answers ``/_harness/faults``, the control API ``harness fault`` and other processes use.

Control API (JSON; the account in ``?account=`` or the body's ``account``):
    GET    /_harness/faults?account=ID          {"rules": [...], "injected": [...]}
    POST   /_harness/faults  {"account": ID, "rule": {...}}   {"id": ...}  (400: what is wrong)
    DELETE /_harness/faults?account=ID[&id=R]   {"cleared": N}
"""

from __future__ import annotations

import errno
import io
import json
import logging
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from harness.faults.params import request_params
from harness.faults.registry import FaultRegistry
from harness.faults.requests import CallId, identify
from harness.faults.responses import access_denied, error_response
from harness.faults.rules import FaultRuleError, parse_rule

if TYPE_CHECKING:
    from harness.iam.recorder import CallRecorder

LOG = logging.getLogger(__name__)
_READS_ITEMS = frozenset({"GetItem", "Query", "Scan", "BatchGetItem", "TransactGetItems", "UpdateItem", "DeleteItem"})
CONTROL_PATH = "/_harness/faults"
WsgiApp = Callable[[dict[str, Any], Any], Iterable[bytes]]
# Who sent a request: its access key (and headers) -> (account, calling function or None)
CallerOf = Callable[[str, dict[str, Any]], tuple[str | None, str | None]]


class FaultFront:
    """WSGI middleware in front of the target's app."""

    def __init__(self, app: WsgiApp, registry: FaultRegistry, caller_of: CallerOf,
                 recorder: CallRecorder | None = None) -> None:
        """``recorder``: where every call is observed (and, in enforce mode, denied as IAM would)."""
        self._app = app
        self._registry = registry
        self._caller_of = caller_of
        self._recorder = recorder if recorder is not None and recorder.observing else None

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        if environ.get("PATH_INFO", "").startswith(CONTROL_PATH):
            return self._control(environ, start_response)
        if not self._registry.active and self._recorder is None:
            return self._app(environ, start_response)
        headers = {k[5:].replace("_", "-").lower(): str(v) for k, v in environ.items() if k.startswith("HTTP_")}
        headers["content-type"] = str(environ.get("CONTENT_TYPE", ""))  # WSGI keeps it out of HTTP_*
        call = identify(environ.get("REQUEST_METHOD", "GET"), environ.get("PATH_INFO", "/"),
                        environ.get("QUERY_STRING", ""), headers, lambda: _read_body(environ))
        if call is None:
            return self._app(environ, start_response)
        account, caller = self._caller_of(call.access_key, headers)
        if self._recorder is not None and account and call.operation:
            return self._observed(self._recorder, account, caller, call, headers, environ, start_response)
        active = self._registry.for_call(account, call, caller) if account else None
        if active is None:
            return self._app(environ, start_response)
        return self._inject(active, call, caller, environ, start_response)

    def _observed(self, recorder: CallRecorder, account: str, caller: str | None, call: CallId,
                  headers: dict[str, str], environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        """The call recorded with its needs and usage; denied first in enforce mode (functions only)."""
        assert call.operation is not None
        wants_body = call.protocol != "rest-xml" or call.operation == "DeleteObjects"
        body = _read_body(environ) if wants_body else b""
        params = request_params(call, environ.get("PATH_INFO", "/"), environ.get("QUERY_STRING", ""), headers, body)
        try:
            needs = recorder.needs(account, call.service, call.operation, params)
            denial = recorder.check(account, caller, needs) if caller else None
        except Exception as exc:  # reading the policies failed: observe nothing rather than fail the call
            LOG.warning("IAM check of %s.%s from %s failed: %s", call.service, call.operation, caller, exc)
            needs, denial = [], None
        if denial is not None:
            recorder.record(account, caller, call.service, call.operation, needs, params, denied=denial[0])
            LOG.info("IAM denies %s.%s from %s: %s", call.service, call.operation, caller, denial[0])
            status, out_headers, out = access_denied(call.service, denial[0], environ.get("REQUEST_METHOD", "POST"),
                                                     call.protocol)
            start_response(f"{status} {_REASONS.get(status, 'Error')}", out_headers)
            return [out]
        active = self._registry.for_call(account, call, caller) if self._registry.active else None
        if active is not None:
            recorder.record(account, caller, call.service, call.operation, needs, params)
            return self._inject(active, call, caller, environ, start_response)
        chunks: Iterable[bytes] = self._app(environ, start_response)
        response = None
        if call.service == "dynamodb" and call.operation in _READS_ITEMS:
            chunks = list(chunks)
            response = _json_or_none(b"".join(chunks))
        size = int(environ.get("CONTENT_LENGTH") or 0)
        recorder.record(account, caller, call.service, call.operation, needs, params, request_bytes=size,
                        response=response)
        return chunks

    def _inject(self, active: Any, call: CallId, caller: str | None, environ: dict[str, Any],
                start_response: Any) -> Iterable[bytes]:
        rule = active.rule
        effect = rule.error or ("drop" if rule.drop else "latency")
        self._registry.record(active, service=call.service, operation=call.operation, caller=caller, effect=effect,
                              **({"latency_ms": rule.latency_ms} if rule.latency_ms else {}))
        LOG.info("fault %s injected into %s.%s from %s", rule.describe(), call.service, call.operation, caller)
        if rule.latency_ms:
            time.sleep(rule.latency_ms / 1000)
        if rule.drop:
            return _dropped(start_response)
        if rule.error:
            status, headers, body = error_response(rule, environ.get("REQUEST_METHOD", "POST"), call.protocol)
            start_response(f"{status} {_REASONS.get(status, 'Error')}", headers)
            return [body]
        return self._app(environ, start_response)

    def _control(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD", "GET")
        query = {k: v[0] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()}
        try:
            if method == "GET":
                account = _required(query.get("account"))
                answer: dict[str, Any] = {
                    "rules": [r.to_json() for r in self._registry.rules(account)],
                    "injected": [i.to_json() for i in self._registry.injected(account)]}
            elif method == "POST":
                request = json.loads(_read_body(environ) or b"{}")
                rule = parse_rule(request.get("rule") or {})
                answer = {"id": self._registry.add(_required(request.get("account")), rule).id,
                          "describe": rule.describe()}
            elif method == "DELETE":
                answer = {"cleared": self._registry.clear(_required(query.get("account")), query.get("id"))}
            else:
                return _json(start_response, 405, {"message": f"{method} is not a method of {CONTROL_PATH}"})
        except (FaultRuleError, ValueError) as exc:
            return _json(start_response, 400, {"message": str(exc)})
        return _json(start_response, 200, answer)


def _json_or_none(body: bytes) -> dict[str, Any] | None:
    try:
        parsed = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None
    return parsed if isinstance(parsed, dict) else None


def _required(account: object) -> str:
    if not account:
        raise ValueError("name the account: ?account=<id> (HARNESS_ACCOUNT_ID of the env file)")
    return str(account)


def _read_body(environ: dict[str, Any]) -> bytes:
    """The request's body (a form: it has a Content-Length), left readable for the app."""
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"].read(length) if length else b""
    environ["wsgi.input"] = io.BytesIO(body)
    return body


def _json(start_response: Any, status: int, payload: dict[str, Any]) -> list[bytes]:
    body = json.dumps(payload, default=str).encode()
    start_response(f"{status} {_REASONS.get(status, 'OK')}", [("Content-Type", "application/json"),
                                                              ("Content-Length", str(len(body)))])
    return [body]


def _dropped(start_response: Any) -> Iterable[bytes]:
    """A connection closed before any answer: the server (cheroot) closes it without a word on a
    reset, which clients see as a connection error (botocore: ConnectionClosedError, retried)."""
    raise ConnectionResetError(errno.ECONNRESET, "harness fault: connection dropped")


_REASONS = {200: "OK", 400: "Bad Request", 403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed",
            409: "Conflict", 429: "Too Many Requests", 500: "Internal Server Error", 502: "Bad Gateway",
            503: "Service Unavailable"}
