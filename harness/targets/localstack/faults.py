"""Fault injection inside LocalStack's process, through its own extension point (runs in LocalStack's venv).

``install()`` (called by the ``harness_fidelity`` start hook) appends a handler to LocalStack's
``serve_custom_service_request_handlers``, the chain slot its extensions use: after LocalStack has
parsed a request (service, operation, account), a matching rule raises the AWS error as a
``CommonServiceException``, which LocalStack serializes in the service's protocol, or sleeps first
(latency). The same handler answers ``/_harness/faults`` (the control API of
``harness/faults/front.py``), so the harness, its fixtures and ``harness fault`` drive it alike.
The calling function is known by its credentials: the harness's executor records which function
each execution environment's access key belongs to (``record_caller``). Dropped connections and
throttled invocations are refused on LocalStack (its gateway and invoke path are not the harness's).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from typing import Any

from harness.clock import Clocks
from harness.faults.registry import FaultRegistry
from harness.faults.requests import CallId
from harness.faults.responses import query_code
from harness.faults.rules import FaultRuleError, parse_rule, service_model

LOG = logging.getLogger(__name__)
CONTROL_PATH = "/_harness/faults"
REGISTRY = FaultRegistry(Clocks(virtual=False))
_CALLERS: dict[str, set[str]] = {}  # access key -> the functions whose environments hold it
_LOCK = threading.Lock()
UNSUPPORTED = {"drop": "dropped connections are not injected on LocalStack (its gateway owns the socket)",
               "throttle": "throttled invocations are not injected on LocalStack (its invoke path is its own)"}


def record_caller(access_key: str, function_name: str) -> None:
    """Remember that ``access_key`` signs the calls of ``function_name`` (called by the executor)."""
    with _LOCK:
        _CALLERS.setdefault(access_key, set()).add(function_name)


def caller_of(access_key: str) -> str | None:
    with _LOCK:
        names = _CALLERS.get(access_key) or set()
    return next(iter(names)) if len(names) == 1 else None  # a key several functions share names none


def _access_key(headers: Any) -> str:
    authorization = str(headers.get("Authorization", ""))
    start = authorization.find("Credential=")
    return authorization[start + 11:].split("/", 1)[0] if start >= 0 else ""


def fault_handler(chain: Any, context: Any, response: Any) -> None:
    """LocalStack request handler: the control API, then the faults of the request's account."""
    request = context.request
    if request.path.startswith(CONTROL_PATH):
        status, payload = control(request.method, dict(request.args), request.get_data())
        chain.respond(status, json.dumps(payload, default=str), {"Content-Type": "application/json"})
        return
    if not REGISTRY.active or context.service is None or context.operation is None:
        return
    service, operation = context.service.service_name, context.operation.name
    caller = caller_of(_access_key(request.headers))
    call = CallId(_access_key(request.headers), context.region or "", service, operation)
    active = REGISTRY.for_call(str(context.account_id), call, caller)
    if active is None:
        return
    rule = active.rule
    REGISTRY.record(active, service=service, operation=operation, caller=caller,
                    effect=rule.error or "latency", **({"latency_ms": rule.latency_ms} if rule.latency_ms else {}))
    if rule.latency_ms:
        time.sleep(rule.latency_ms / 1000)
    if rule.error:
        from localstack.aws.api import CommonServiceException

        # Query-compatible services (SQS, CloudWatch) name errors by their query code, which AWS sends in
        # x-amzn-query-error and SDKs report; LocalStack's serializer sends only what it is given.
        query_compatible = "awsQueryCompatible" in service_model(rule.service).metadata
        raise CommonServiceException(query_code(rule) if query_compatible else rule.error, rule.message or rule.error,
                                     status_code=rule.status, sender_fault=rule.status < 500)


def invocation_fault(account_id: str, function_name: str) -> tuple[str, float] | None:
    """The injected effect on the function's next invocation (timeout, crash, slow_start), if any."""
    active = REGISTRY.for_invocation(account_id, function_name)
    if active is None:
        return None
    effect = str(active.rule.invocation)
    REGISTRY.record(active, service="lambda", operation="Invoke", caller=function_name, effect=effect)
    return effect, active.rule.seconds


def control(method: str, args: dict[str, str], body: bytes) -> tuple[int, dict[str, Any]]:
    """The control API (see ``harness/faults/front.py``): status and JSON answer."""
    try:
        if method == "GET":
            account = _account(args.get("account"))
            return 200, {"rules": [r.to_json() for r in REGISTRY.rules(account)],
                         "injected": [i.to_json() for i in REGISTRY.injected(account)]}
        if method == "POST":
            request = json.loads(body or b"{}")
            rule = parse_rule(request.get("rule") or {})
            refused = UNSUPPORTED.get("drop" if rule.drop else str(rule.invocation))
            if refused:
                raise FaultRuleError(refused)
            return 200, {"id": REGISTRY.add(_account(request.get("account")), rule).id, "describe": rule.describe()}
        if method == "DELETE":
            account = _account(args.get("account"))
            cleared = REGISTRY.clear(account, args.get("id"))
            if args.get("forget"):
                REGISTRY.forget(account)
            return 200, {"cleared": cleared}
        return 405, {"message": f"{method} is not a method of {CONTROL_PATH}"}
    except (FaultRuleError, ValueError) as exc:
        return 400, {"message": str(exc)}


def _account(account: object) -> str:
    if not account:
        raise ValueError("name the account: ?account=<id>")
    return str(account)


def install() -> None:
    """Put the fault handler into LocalStack's chain (its extensions' slot)."""
    from localstack.aws import handlers

    handlers.serve_custom_service_request_handlers.append(fault_handler)
