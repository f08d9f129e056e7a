"""Readiness after a deploy on AWS: CREATE_COMPLETE is not "ready".

A function can still be ``Pending`` (its code being optimised, its VPC interfaces created), and an
event source mapping reads nothing until it is ``Enabled`` (minutes after the stack completes, at
times). Traffic sent before then is delayed or, for S3 notifications into a mapping still
``Creating``, seemingly lost. The harness waits for both before a test or scenario starts, then
checks each entry point answers (``canary``): every function takes an invocation from the caller
(``DryRun``: permission and function checked, no code runs, no side effect) and every HTTP API's
endpoint answers HTTP (a fresh ``execute-api`` host can take a while to resolve).
"""

from __future__ import annotations

import time
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

from harness.errors import WaitTimeoutError
from harness.provisioning.deployer import StackRecord

_SETTLED_MAPPING = ("Enabled", "Disabled")


def not_ready(lam: Any, record: StackRecord) -> list[str]:
    """What in ``record`` cannot take traffic yet: functions not ``Active`` (or whose last update
    did not succeed) and event source mappings still creating, enabling or updating."""
    found: list[str] = []
    for state in record.resources.values():
        if state.type_name == "AWS::Lambda::Function":
            config = lam.get_function_configuration(FunctionName=state.physical_id)
            status, update = config.get("State", "Active"), config.get("LastUpdateStatus", "Successful")
            if status != "Active" or update not in ("Successful", None):
                reason = config.get("StateReason") or config.get("LastUpdateStatusReason") or ""
                if status == "Failed" or update == "Failed":
                    raise WaitTimeoutError(f"function {state.logical_id} ({state.physical_id}) failed to become "
                                           f"active: {reason}", last=[state.logical_id])
                found.append(f"function {state.logical_id} is {status}/{update}")
        elif state.type_name == "AWS::Lambda::EventSourceMapping":
            mapping = lam.get_event_source_mapping(UUID=state.physical_id)
            if mapping.get("State") not in _SETTLED_MAPPING:
                found.append(f"event source mapping {state.logical_id} is {mapping.get('State')}")
    return found


def wait_ready(lam: Any, record: StackRecord, *, timeout: float, interval: float = 2.0,
               clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep) -> float:
    """Seconds until every function of ``record`` is active and every mapping enabled.

    Raises:
        WaitTimeoutError: after ``timeout`` seconds (naming what is not ready) or at once when a
        function failed.
    """
    started = clock()
    while True:
        left = not_ready(lam, record)
        if not left:
            return clock() - started
        if clock() - started >= timeout:
            raise WaitTimeoutError(f"stack {record.name} not ready after {timeout:g} s: " + "; ".join(left), last=left)
        sleep(interval)


def http_status(url: str) -> int:
    """The HTTP status a GET of ``url`` answers (an error status too).

    Raises:
        OSError: no answer (DNS, connection, TLS, timeout).
    """
    try:
        with urllib.request.urlopen(urllib.request.Request(url, method="GET"), timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


def entry_points_failing(lam: Any, record: StackRecord, http_get: Callable[[str], int] | None) -> list[str]:
    """The entry points of ``record`` that do not answer yet: functions a ``DryRun`` invocation
    fails on, HTTP APIs whose endpoint gives no HTTP answer or a 5xx (not checked without ``http_get``)."""
    failing: list[str] = []
    for state in record.resources.values():
        if state.type_name == "AWS::Lambda::Function":
            try:
                status = lam.invoke(FunctionName=state.physical_id, InvocationType="DryRun")["StatusCode"]
            except Exception as exc:  # AccessDenied, ResourceNotReady, ...: named, retried until the timeout
                failing.append(f"function {state.logical_id}: {type(exc).__name__}: {exc}")
                continue
            if status != 204:
                failing.append(f"function {state.logical_id}: a DryRun invocation answered {status}, not 204")
    for logical_id, url in http_api_urls(record).items():
        if http_get is None:
            break
        try:
            status = http_get(url)
        except OSError as exc:
            failing.append(f"HTTP API {logical_id} ({url}): {exc}")
            continue
        if status >= 500:
            failing.append(f"HTTP API {logical_id} ({url}) answered {status}")
    return failing


def http_api_urls(record: StackRecord) -> dict[str, str]:
    """Each HTTP API's invoke URL by logical id: its endpoint, and its stage unless ``$default`` (pure)."""
    urls = {}
    resources = record.resources.values()
    for api in (s for s in resources if s.type_name == "AWS::ApiGatewayV2::Api"):
        endpoint = str(api.attributes.get("ApiEndpoint") or "")
        if not endpoint or api.properties.get("ProtocolType", "HTTP") != "HTTP":
            continue
        stages = [str(s.properties.get("StageName")) for s in resources if s.type_name == "AWS::ApiGatewayV2::Stage"
                  and s.properties.get("ApiId") == api.physical_id]
        stage = "$default" if "$default" in stages or not stages else stages[0]
        urls[api.logical_id] = endpoint.rstrip("/") + ("" if stage == "$default" else f"/{stage}") + "/"
    return urls


def canary(lam: Any, record: StackRecord, *, http_get: Callable[[str], int] | None, timeout: float,
           interval: float = 2.0, clock: Callable[[], float] = time.monotonic,
           sleep: Callable[[float], None] = time.sleep) -> dict[str, Any]:
    """Wait until every entry point answers (see ``entry_points_failing``); returns what was checked.

    Raises:
        WaitTimeoutError: after ``timeout`` seconds, naming each entry point still failing and why.
    """
    started = clock()
    while True:
        failing = entry_points_failing(lam, record, http_get)
        if not failing:
            functions = sum(1 for s in record.resources.values() if s.type_name == "AWS::Lambda::Function")
            apis = len(http_api_urls(record)) if http_get is not None else 0
            return {"functions": functions, "http_apis": apis, "seconds": round(clock() - started, 3)}
        if clock() - started >= timeout:
            raise WaitTimeoutError(f"stack {record.name}: entry points not answering after {timeout:g} s: "
                                   + "; ".join(failing), last=failing)
        sleep(interval)
