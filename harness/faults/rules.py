"""Fault rules as data: what fails, how, and when (checked against botocore's service models).

A rule names a service and optionally an operation and the calling function; it fails the call
with an AWS error (code, HTTP status, AWS's error body for the service's protocol), adds latency,
or drops the connection. Or it names a function and what its next invocations do (``time out``,
``crash``, ``throttle``, ``slow_start``). When: the first ``count`` matching calls, each with a
``probability`` (seeded), within a window of the account's clock (``after_s``/``until_s`` from
when the rule was added).

Example (a scenario step, the pytest ``faults`` fixture and ``harness fault add`` take the same):
    {"service": "dynamodb", "operation": "PutItem", "error": "ProvisionedThroughputExceededException",
     "function": "InvoiceProcessor", "count": 2}
"""

from __future__ import annotations

import difflib
import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import botocore.session
from botocore.exceptions import UnknownServiceError

from harness.errors import HarnessError

INVOCATION_EFFECTS = ("timeout", "crash", "throttle", "slow_start")
KEYS = frozenset({"service", "operation", "error", "status", "message", "latency_ms", "drop", "function",
                  "invocation", "seconds", "count", "probability", "seed", "after_s", "until_s"})

# Errors every operation of a protocol may return (AWS's common errors), with their status.
COMMON_ERRORS: dict[str, dict[str, int]] = {
    "*": {"AccessDeniedException": 400, "IncompleteSignature": 400, "InternalFailure": 500, "InvalidAction": 400,
          "InvalidClientTokenId": 403, "NotAuthorized": 400, "OptInRequired": 403, "RequestExpired": 400,
          "ServiceUnavailable": 503, "ThrottlingException": 400, "ValidationError": 400},
    "rest-xml": {"AccessDenied": 403, "InternalError": 500, "SlowDown": 503, "ServiceUnavailable": 503,
                 "RequestTimeout": 400, "ExpiredToken": 400},
    "query": {"Throttling": 400, "InternalFailure": 500, "ServiceUnavailable": 503},
}
MESSAGES = {
    "ProvisionedThroughputExceededException": "The level of configured provisioned throughput for the table was "
                                              "exceeded. Consider increasing your provisioning level with the "
                                              "UpdateTable API.",
    "ThrottlingException": "Rate exceeded", "Throttling": "Rate exceeded", "TooManyRequestsException": "Rate Exceeded.",
    "RequestLimitExceeded": "Throughput exceeds the current throughput limit for your account.",
    "SlowDown": "Please reduce your request rate.", "ServiceUnavailable": "Service is unable to handle request.",
    "InternalError": "We encountered an internal error. Please try again.",
    "InternalServerError": "Internal server error", "InternalFailure": "The request processing has failed "
                                                                      "because of an unknown error.",
    "AccessDenied": "Access Denied", "AccessDeniedException": "User is not authorized to perform this action",
}


class FaultRuleError(HarnessError):
    """A fault rule names an unknown service, operation or error, or is not a rule at all."""


@dataclass(frozen=True)
class FaultRule:
    """One rule (see the module docstring). ``service``/``operation`` are botocore's names."""

    service: str = ""
    operation: str | None = None
    error: str | None = None
    status: int = 400
    message: str = ""
    latency_ms: float = 0.0
    drop: bool = False
    function: str | None = None      # the calling function (a request rule) or the invoked one
    invocation: str | None = None    # timeout | crash | throttle | slow_start
    seconds: float = 0.0             # slow_start: the added init time
    count: int | None = None
    probability: float = 1.0
    seed: int | None = None
    after_s: float = 0.0
    until_s: float | None = None
    protocol: str = ""               # the service's protocol (the error body's shape)
    extra: Mapping[str, Any] = field(default_factory=dict)

    def describe(self) -> str:
        what = (f"{self.invocation} of {self.function}" if self.invocation else
                f"{self.service}{'.' + self.operation if self.operation else ''}"
                + (f" from {self.function}" if self.function else ""))
        how = (f"{self.error} ({self.status})" if self.error else f"+{self.latency_ms:g} ms" if self.latency_ms
               else "dropped connection" if self.drop else self.invocation or "")
        return f"{what}: {how}" + (f" x{self.count}" if self.count is not None else "")

    def to_json(self) -> dict[str, Any]:
        out = {k: v for k, v in self.__dict__.items() if k not in ("protocol", "extra") and v not in (None, "", False)}
        return out


@functools.cache
def _session() -> Any:
    return botocore.session.get_session()


@functools.cache
def service_model(service: str) -> Any:
    """botocore's model of ``service``.

    Raises:
        FaultRuleError: no such service, naming the closest ones.
    """
    try:
        return _session().get_service_model(service)
    except UnknownServiceError as exc:
        known = _session().get_available_services()
        close = difflib.get_close_matches(service, known, n=3)
        raise FaultRuleError(f"unknown service {service!r}" + (f"; did you mean {', '.join(close)}?" if close else
                             "; use botocore's service names (s3, dynamodb, sqs, lambda ...)")) from exc


def error_status(service: str, operation: str | None, code: str) -> int | None:
    """The HTTP status AWS answers ``code`` with for the operation, or None when the operation
    (or, without one, any operation of the service) cannot return it."""
    model = service_model(service)
    operations = [operation] if operation else list(model.operation_names)
    for name in operations:
        for shape in model.operation_model(name).error_shapes:
            if shape.name == code:
                status = (shape.metadata.get("error") or {}).get("httpStatusCode")
                return int(status) if status else (500 if "Internal" in code else 400)
    common = {**COMMON_ERRORS["*"], **COMMON_ERRORS.get(model.protocol, {})}
    return common.get(code)


def valid_errors(service: str, operation: str | None) -> list[str]:
    model = service_model(service)
    operations = [operation] if operation else list(model.operation_names)
    names = {shape.name for name in operations for shape in model.operation_model(name).error_shapes}
    return sorted(names | set(COMMON_ERRORS["*"]) | set(COMMON_ERRORS.get(model.protocol, {})))


def parse_rule(data: Mapping[str, Any]) -> FaultRule:
    """A checked rule from its mapping.

    Raises:
        FaultRuleError: unknown keys, service, operation or error code (with the valid names), or
        a rule that says neither what fails nor how.
    """
    unknown = sorted(set(data) - KEYS)
    if unknown:
        raise FaultRuleError(f"unknown fault key(s) {', '.join(unknown)}; a rule takes {', '.join(sorted(KEYS))}")
    if data.get("invocation") is not None:
        return _invocation_rule(data)
    service = str(data.get("service") or "")
    if not service:
        raise FaultRuleError("a fault rule names a service (service: dynamodb) or a function's invocations "
                             "(function: X, invocation: timeout)")
    model = service_model(service)
    operation = data.get("operation")
    if operation is not None and operation not in model.operation_names:
        close = difflib.get_close_matches(str(operation), model.operation_names, n=3)
        raise FaultRuleError(f"{service} has no operation {operation!r}"
                             + (f"; did you mean {', '.join(close)}?" if close else
                                f"; its operations: {', '.join(model.operation_names[:40])} ..."))
    error, status = data.get("error"), data.get("status")
    if error is not None:
        known = error_status(service, operation, str(error))
        if known is None:
            raise FaultRuleError(f"{service}{'.' + operation if operation else ''} does not return {error!r}; "
                                 f"valid errors: {', '.join(valid_errors(service, operation))}")
        status = int(status) if status is not None else known
    if error is None and not data.get("latency_ms") and not data.get("drop"):
        raise FaultRuleError(f"the fault on {service} says nothing about how it fails: give error, latency_ms or drop")
    message = str(data.get("message") or MESSAGES.get(str(error), str(error))) if error else ""
    return FaultRule(service=service, operation=operation, error=error, status=int(status or 400), message=message,
                     latency_ms=float(data.get("latency_ms") or 0), drop=bool(data.get("drop")),
                     function=data.get("function"), protocol=model.protocol, **_when(data))


def _invocation_rule(data: Mapping[str, Any]) -> FaultRule:
    effect = str(data["invocation"])
    if effect not in INVOCATION_EFFECTS:
        raise FaultRuleError(f"invocation {effect!r} is not one of {', '.join(INVOCATION_EFFECTS)}")
    if not data.get("function"):
        raise FaultRuleError(f"an invocation fault ({effect}) names the function whose invocations it affects")
    if effect == "slow_start" and not data.get("seconds"):
        raise FaultRuleError("slow_start takes seconds: the init time added to the next cold starts")
    return FaultRule(service="lambda", function=str(data["function"]), invocation=effect,
                     seconds=float(data.get("seconds") or 0), **_when(data))


def _when(data: Mapping[str, Any]) -> dict[str, Any]:
    probability = float(data.get("probability", 1.0))
    if not 0 < probability <= 1:
        raise FaultRuleError(f"probability must be in (0, 1], got {probability}")
    count = data.get("count")
    if count is not None and int(count) < 1:
        raise FaultRuleError(f"count must be at least 1, got {count}")
    return {"count": int(count) if count is not None else None, "probability": probability,
            "seed": int(data["seed"]) if data.get("seed") is not None else None,
            "after_s": float(data.get("after_s") or 0),
            "until_s": float(data["until_s"]) if data.get("until_s") is not None else None}
