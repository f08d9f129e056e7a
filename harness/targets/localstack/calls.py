"""Every AWS call LocalStack serves, recorded inside its process (runs in LocalStack's venv) for the
harness's IAM and cost sections (``harness/iam/``).

``install()`` appends a response handler to LocalStack's ``run_custom_response_handlers`` (the
slot its extensions use): once LocalStack has parsed a request and its answer, the call is kept per
account with the calling function (by its credentials, as ``faults.py`` knows them), the parameters
IAM needs to name its resources (slimmed: names and keys, no payloads), the units it used
(``harness.cost.usage``, computed here where the payloads are) and whether it failed. The harness
reads them through ``GET /_harness/calls?account=ID&since=T`` and forgets them with ``DELETE``.
Nothing here evaluates policies: LocalStack's free edition enforces no IAM, and the harness decides
after the fact (report mode; ``enforce`` is moto's).
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Mapping
from typing import Any

from harness.cost.usage import usage
from harness.targets.localstack.faults import _access_key, caller_of

CONTROL_PATH = "/_harness/calls"
_LIMIT = 200_000
_CALLS: dict[str, deque[dict[str, Any]]] = {}
_LOCK = threading.Lock()
_NESTED = {"RequestItems", "TransactItems", "Entries", "Delete", "Key", "Names", "PublishBatchRequestEntries"}


def slim(params: Mapping[str, Any]) -> dict[str, Any]:
    """What IAM needs of a request's parameters: short strings and numbers, and the shapes naming
    tables, buses, keys and objects (``RequestItems`` keys, ``TransactItems``' tables ...) (pure)."""
    out: dict[str, Any] = {}
    for key, value in params.items():
        if isinstance(value, (bool, int, float)) or (isinstance(value, str) and len(value) <= 2048):
            out[key] = value
        elif key == "RequestItems" and isinstance(value, Mapping):
            out[key] = {table: [] for table in value}
        elif key == "TransactItems" and isinstance(value, list):
            out[key] = [{kind: {"TableName": body.get("TableName")} for kind, body in item.items()} for item in value]
        elif key in ("Entries", "PublishBatchRequestEntries") and isinstance(value, list):
            out[key] = [{"EventBusName": e.get("EventBusName")} for e in value if isinstance(e, Mapping)]
        elif key == "Delete" and isinstance(value, Mapping):
            out[key] = {"Objects": [{"Key": o.get("Key")} for o in value.get("Objects") or []]}
        elif key in _NESTED:
            try:
                out[key] = json.loads(json.dumps(value, default=str))
            except (TypeError, ValueError):
                continue
    return out


def calls_control(chain: Any, context: Any, response: Any) -> None:
    """LocalStack request handler: answer ``/_harness/calls``."""
    request = context.request
    if request.path.startswith(CONTROL_PATH):
        status, payload = control(request.method, dict(request.args))
        chain.respond(status, json.dumps(payload, default=str), {"Content-Type": "application/json"})


def call_recorder(chain: Any, context: Any, response: Any) -> None:
    """LocalStack response handler: keep the call (see the module's doc)."""
    request = context.request
    if request.path.startswith(CONTROL_PATH):
        return
    if context.service is None or context.operation is None or not context.account_id:
        return
    service, operation = context.service.service_name, context.operation.name
    params = dict(context.service_request or {})
    answer = context.service_response if isinstance(context.service_response, Mapping) else None
    try:
        units = usage(service, operation, params, request_bytes=int(request.headers.get("Content-Length") or 0),
                      response=answer) if context.service_exception is None else {}
    except Exception:  # an estimate: a shape it does not know costs nothing rather than the call
        units = {}
    record = {"at": time.time(), "caller": caller_of(_access_key(request.headers)), "service": service,
              "operation": operation, "params": slim(params), "usage": units,
              "failed": context.service_exception is not None}
    with _LOCK:
        calls = _CALLS.get(str(context.account_id))
        if calls is None:
            calls = _CALLS[str(context.account_id)] = deque(maxlen=_LIMIT)
        calls.append(record)


def control(method: str, args: dict[str, str]) -> tuple[int, dict[str, Any]]:
    account = args.get("account")
    if not account:
        return 400, {"message": "name the account: ?account=<id>"}
    with _LOCK:
        if method == "GET":
            since = float(args.get("since") or 0)
            return 200, {"calls": [c for c in _CALLS.get(account, ()) if c["at"] >= since]}
        if method == "DELETE":
            return 200, {"forgotten": len(_CALLS.pop(account, ()))}
    return 405, {"message": f"{method} is not a method of {CONTROL_PATH}"}


def install() -> None:
    """Put the control API into LocalStack's request chain and the recorder into its response chain
    (its extensions' slots)."""
    from localstack.aws import handlers

    handlers.serve_custom_service_request_handlers.append(calls_control)
    handlers.run_custom_response_handlers.append(call_recorder)
