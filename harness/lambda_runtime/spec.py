"""Pure data of the Lambda runtime: what to run, what was asked, what happened.

No I/O here: these are frozen values and functions over them, unit-tested with golden data.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

LOG_TAIL_BYTES = 4096
# Host variables an interpreter needs in an execution environment; nothing else of the host leaks in.
# The only host variable a handler sees (its subprocesses find programs with it); AWS sets no HOME,
# SSL_CERT_FILE or PYENV_ROOT, and sets LANG and TZ itself.
HOST_VARIABLES = ("PATH",)


@dataclass(frozen=True)
class Credentials:
    """Temporary credentials an execution environment runs with (STS AssumeRole of its role)."""

    access_key_id: str
    secret_access_key: str
    session_token: str = ""


@dataclass(frozen=True)
class LayerRef:
    """A layer version: its ARN and the digest of its zip, which names its extracted folder."""

    arn: str
    sha256: str


@dataclass(frozen=True)
class FunctionSpec:
    """The configuration of one function version, as the target reports it."""

    function_arn: str
    name: str
    handler: str
    runtime: str
    code_sha256: str
    role_arn: str
    region: str
    account_id: str
    memory_mb: int = 128
    timeout_s: float = 3.0
    environment: Mapping[str, str] = field(default_factory=dict)
    layers: tuple[LayerRef, ...] = ()
    reserved_concurrency: int | None = None
    version: str = "$LATEST"
    tracing_mode: str = "PassThrough"

    @property
    def log_group(self) -> str:
        return f"/aws/lambda/{self.name}"

    @property
    def digest(self) -> str:
        """A hash of everything that makes a warm environment stale when it changes."""
        material = json.dumps(
            [
                self.function_arn, self.handler, self.runtime, self.code_sha256, self.role_arn,
                self.memory_mb, self.timeout_s, sorted(self.environment.items()),
                [layer.sha256 for layer in self.layers], self.version,
            ],
            default=str,
        )
        return hashlib.sha256(material.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class InvocationRequest:
    """One invocation handed to an execution environment."""

    request_id: str
    payload: bytes
    trace_id: str = ""
    client_context: str = ""
    invoked_arn: str = ""  # the ARN the caller named (unqualified unless it gave a qualifier); "": the function's


@dataclass(frozen=True)
class InvocationResult:
    """What an invocation produced. A handler error is data here, never an exception."""

    request_id: str
    payload: bytes
    function_error: str | None  # "Unhandled" when the function failed, else None
    error_type: str | None
    logs: str
    duration_ms: float
    init_duration_ms: float | None
    max_memory_mb: int
    memory_mb: int
    cold: bool
    started_at: float
    environment_id: str
    # The event handed to the handler, where the runtime kept it (the process runtime): what it
    # carried is read from it only when asked (``harness.scenarios.observe.event_facts``). Where the
    # event stays in another process (LocalStack's executor), the facts come filled in instead:
    event: bytes | None = None
    event_shapes: Any = ()   # per distinct record, values normalised (harness.shapes)
    records: int = 1         # how many records the event carried
    failed_records: int = 0  # how many of them failed (all on an error, else the batchItemFailures)
    record_ids: Any = ()     # the records' ids, where the event names them (messageId, eventID, ...)
    failed_record_ids: Any = ()  # the ids of the records that failed, where they have one

    @property
    def ok(self) -> bool:
        return self.function_error is None

    @property
    def billed_duration_ms(self) -> int:
        return max(1, math.ceil(self.duration_ms))

    def log_tail_base64(self) -> str:
        """The last 4 KB of the logs, base64-encoded, as Lambda returns for LogType=Tail."""
        return base64.b64encode(self.logs.encode()[-LOG_TAIL_BYTES:]).decode()


def build_environment(
    spec: FunctionSpec,
    *,
    runtime_api: str,
    endpoint_url: str,
    credentials: Credentials,
    task_root: str,
    layer_paths: tuple[str, ...],
    log_stream: str,
    base: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The process environment of an execution environment, reserved variables included.

    The function's own variables come first so that the reserved ones win, as on AWS.
    ``base`` carries the host variables in ``HOST_VARIABLES`` (PATH); nothing else leaks in. What
    differs from AWS: ``AWS_ENDPOINT_URL`` and ``AWS_ACCOUNT_ID_ENDPOINT_MODE`` (the SDKs must reach
    the target), ``PYTHONPATH`` naming the local code and layer folders, the host's ``PATH``.
    """
    python_paths = [task_root, *layer_paths]
    env = dict(base or {})
    env.update(spec.environment)
    env.update(
        {
            "_HANDLER": spec.handler,
            "AWS_EXECUTION_ENV": f"AWS_Lambda_{spec.runtime}",
            "AWS_LAMBDA_FUNCTION_NAME": spec.name,
            "AWS_LAMBDA_FUNCTION_VERSION": spec.version,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory_mb),
            "AWS_LAMBDA_LOG_GROUP_NAME": spec.log_group,
            "AWS_LAMBDA_LOG_STREAM_NAME": log_stream,
            "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
            "AWS_LAMBDA_RUNTIME_API": runtime_api,
            "AWS_REGION": spec.region,
            "AWS_DEFAULT_REGION": spec.region,
            "AWS_ACCESS_KEY": credentials.access_key_id,
            "AWS_ACCESS_KEY_ID": credentials.access_key_id,
            "AWS_SECRET_ACCESS_KEY": credentials.secret_access_key,
            "AWS_SESSION_TOKEN": credentials.session_token,
            "AWS_ENDPOINT_URL": endpoint_url,
            "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
            "AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR",
            "LAMBDA_TASK_ROOT": task_root,
            "LAMBDA_RUNTIME_DIR": "/var/runtime",  # AWS's value; the runtime here is the interpreter's own
            "LANG": "en_US.UTF-8",
            "PYTHONPATH": ":".join(python_paths),
            "PYTHONUNBUFFERED": "1",
            "PYTHONDONTWRITEBYTECODE": "1",
            "TZ": ":UTC",
        }
    )
    if not credentials.session_token:
        env.pop("AWS_SESSION_TOKEN")
    return env


def layer_python_paths(layer_root: str, python_version: str) -> tuple[str, ...]:
    """The `/opt` folders a Python runtime puts on sys.path, in AWS's order."""
    return (
        f"{layer_root}/python",
        f"{layer_root}/python/lib/python{python_version}/site-packages",
    )


def format_start(request_id: str, version: str) -> str:
    return f"START RequestId: {request_id} Version: {version}"


def format_end(request_id: str) -> str:
    return f"END RequestId: {request_id}"


def format_report(
    request_id: str,
    *,
    duration_ms: float,
    memory_mb: int,
    max_memory_mb: int,
    init_duration_ms: float | None,
    status: str | None = None,
    error_type: str | None = None,
) -> str:
    """A REPORT line as Lambda writes it (tab-separated fields)."""
    parts = [
        f"REPORT RequestId: {request_id}",
        f"Duration: {duration_ms:.2f} ms",
        f"Billed Duration: {max(1, math.ceil(duration_ms))} ms",
        f"Memory Size: {memory_mb} MB",
        f"Max Memory Used: {max_memory_mb} MB",
    ]
    if init_duration_ms is not None:
        parts.append(f"Init Duration: {init_duration_ms:.2f} ms")
    if status:
        parts.append(f"Status: {status}")
    if error_type:
        parts.append(f"Error Type: {error_type}")
    return "\t".join(parts)


def format_init_report(duration_ms: float, status: str, error_type: str | None = None) -> str:
    """An INIT_REPORT line: Lambda writes one for an init phase that did not end ready."""
    line = f"INIT_REPORT Init Duration: {duration_ms:.2f} ms\tPhase: init\tStatus: {status}"
    return f"{line}\tError Type: {error_type}" if error_type else line


def error_payload(request_id: str, error_type: str, detail: str) -> bytes:
    """A runtime-level error body (timeouts, crashes), in the shape Lambda returns them."""
    body = {"errorType": error_type, "errorMessage": f"RequestId: {request_id} Error: {detail}"}
    return json.dumps(body).encode()


def log_stream_name(now: datetime, version: str, environment_id: str) -> str:
    """`YYYY/MM/DD/[$LATEST]<id>`: one stream per execution environment, as on AWS."""
    day = now.astimezone(UTC)
    return f"{day:%Y/%m/%d}/[{version}]{environment_id}"


# Called with every finished invocation (traces, settle counts, scenario timelines).
ResultListener = Callable[[FunctionSpec, InvocationResult], None]


def init_failure(request: InvocationRequest, spec: FunctionSpec, reason: str, *, started_at: float) -> InvocationResult:
    """An invocation whose execution environment could not start, as Lambda reports an init
    failure: INIT_REPORT with the error, the message, START/END/REPORT, and a function error (pure)."""
    error_type = "Runtime.Unknown"
    logs = "\n".join([
        format_init_report(0.0, "error", error_type),
        f"[ERROR] {error_type}: {reason}",
        f"START RequestId: {request.request_id} Version: {spec.version}",
        f"END RequestId: {request.request_id}",
        f"REPORT RequestId: {request.request_id}\tDuration: 0.00 ms\tBilled Duration: 1 ms\t"
        f"Memory Size: {spec.memory_mb} MB\tMax Memory Used: 0 MB\tStatus: error\tError Type: {error_type}",
    ]) + "\n"
    payload = json.dumps({"errorMessage": reason, "errorType": error_type, "stackTrace": []}).encode()
    return InvocationResult(request.request_id, payload, "Unhandled", error_type, logs, 0.0, None, 0,
                            spec.memory_mb, True, started_at, "init-failed")
