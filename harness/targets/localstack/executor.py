"""The harness's Lambda runtime as a LocalStack runtime executor (runs inside LocalStack's process).

LocalStack picks its executor by name (``LAMBDA_RUNTIME_EXECUTOR=harness``) from the entry-point
group ``localstack.lambda.runtime_executor``; the installer registers this module there. One
executor is one LocalStack execution environment, and here that is one harness
``ExecutionEnvironment``: an ``awslambdaric`` process against its own Runtime API server. Being in
LocalStack's process, ``invoke`` returns the result directly: no callback endpoint, no port 9563.

Every invocation start and end is appended as a JSON line to ``HARNESS_INVOCATION_LOG`` so the
harness (another process) can trace invocations and know what is still running.

This module imports LocalStack: it is only ever imported in LocalStack's virtualenv.
"""

from __future__ import annotations

import base64
import compileall
import json
import logging
import os
import shutil
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from localstack.services.lambda_.invocation.lambda_models import FunctionVersion
from localstack.services.lambda_.invocation.lambda_models import InvocationResult as LsResult
from localstack.services.lambda_.invocation.plugins import RuntimeExecutorPlugin
from localstack.services.lambda_.invocation.runtime_executor import RuntimeExecutor

from harness.lambda_runtime.code import InterpreterResolver, python_version_of
from harness.lambda_runtime.environment import ExecutionEnvironment, LaunchConfig
from harness.lambda_runtime.process import ProcessSpawner
from harness.lambda_runtime.spec import (
    HOST_VARIABLES,
    Credentials,
    FunctionSpec,
    InvocationRequest,
    InvocationResult,
    build_environment,
    layer_python_paths,
)
from harness.shapes import event_summary, failed_items
from harness.targets.localstack.faults import invocation_fault, record_caller
from harness.targets.localstack.records import corrected_payload

LOG = logging.getLogger(__name__)
_LOCALSTACK_VARIABLES = ("LOCALSTACK_HOSTNAME", "EDGE_PORT", "LOCALSTACK_RUNTIME_ID",
                         "LOCALSTACK_RUNTIME_ENDPOINT", "LOCALSTACK_FUNCTION_ACCOUNT_ID")


class _Shared:
    """Per-process state every executor shares: the spawner thread, interpreters, the journal."""

    _lock = threading.Lock()
    _spawner: ProcessSpawner | None = None
    _interpreters: InterpreterResolver | None = None
    _journal_lock = threading.Lock()

    @classmethod
    def spawner(cls) -> ProcessSpawner:
        with cls._lock:
            if cls._spawner is None:
                # Fresh interpreters here: with pre-started ones an async test found no attempt
                # after settle in 2 of ~12 runs of the LocalStack suite (cause not found yet).
                cls._spawner = ProcessSpawner()
            return cls._spawner

    @classmethod
    def interpreters(cls) -> InterpreterResolver:
        with cls._lock:
            if cls._interpreters is None:
                configured = dict(item.split("=", 1) for item in
                                  os.environ.get("HARNESS_INTERPRETERS", "").split(",") if "=" in item)
                cache = os.environ.get("HARNESS_RUNTIME_CACHE")
                cls._interpreters = InterpreterResolver(configured, os.environ, cache_dir=Path(cache) if cache else None,
                                                        strict=bool(os.environ.get("HARNESS_STRICT_RUNTIMES")))
            return cls._interpreters

    @classmethod
    def record(cls, event: dict[str, Any]) -> None:
        path = os.environ.get("HARNESS_INVOCATION_LOG")
        if not path:
            return
        line = json.dumps(event, default=str) + "\n"
        with cls._journal_lock, open(path, "a", encoding="utf-8") as out:
            out.write(line)


def spec_of(version: FunctionVersion, env_vars: dict[str, str]) -> FunctionSpec:
    """The harness's view of a LocalStack function version."""
    config = version.config
    return FunctionSpec(
        function_arn=version.qualified_arn, name=version.id.function_name,
        handler=config.handler or "", runtime=str(config.runtime or ""),
        code_sha256=getattr(config.code, "code_sha256", "") or "", role_arn=config.role,
        region=version.id.region, account_id=version.id.account, memory_mb=int(config.memory_size),
        timeout_s=float(config.timeout), version=version.id.qualifier,
        # LocalStack adds a variable AWS never sets (its init reads it; the harness's runtime does not)
        environment={k: v for k, v in env_vars.items() if k != "AWS_LAMBDA_FUNCTION_TIMEOUT"
                     or k in (config.environment or {})},
        tracing_mode=str(config.tracing_config_mode or "PassThrough"),
    )


class HarnessRuntimeExecutor(RuntimeExecutor):  # type: ignore[misc]
    """Runs one LocalStack execution environment as a local ``awslambdaric`` process."""

    def __init__(self, id: str, function_version: FunctionVersion) -> None:
        super().__init__(id, function_version)
        self._env: ExecutionEnvironment | None = None
        self._launch: LaunchConfig | None = None
        self._spec: FunctionSpec | None = None
        self._lock = threading.Lock()
        self._logs: list[str] = []

    # -- lifecycle ---------------------------------------------------------------------------------
    def start(self, env_vars: dict[str, str]) -> None:
        """Start the process and return once it asked for its first invocation (or failed init)."""
        spec = spec_of(self.function_version, {k: str(v) for k, v in env_vars.items()})
        self._spec = spec
        # A cold start is work in progress for the account too (settle must not see it as quiet).
        boot_id = f"init-{self.id}"
        _Shared.record({"event": "start", "request_id": boot_id, "function_arn": spec.function_arn,
                        "name": spec.name, "account_id": spec.account_id, "at": time.time(), "init": True})
        try:
            self._env = self._boot(spec)
        finally:
            _Shared.record({"event": "end", "request_id": boot_id, "function_arn": spec.function_arn,
                            "name": spec.name, "account_id": spec.account_id, "at": time.time(), "init": True})

    def _boot(self, spec: FunctionSpec, *, delay_s: float = 0.0) -> ExecutionEnvironment:
        config = self.function_version.config
        task_root = str(_stored(config.code))
        version = python_version_of(spec.runtime)
        layer_paths: list[str] = []
        for layer in reversed(config.layers or []):  # later layers win, as when extracted over /opt
            layer_paths.extend(layer_python_paths(str(_stored(layer.code)), version))
        env = ExecutionEnvironment(spec, _Shared.spawner(), environment_id=self.id)
        variables = dict(spec.environment)
        base = {k: os.environ[k] for k in HOST_VARIABLES if k in os.environ}
        base.update({k: variables[k] for k in _LOCALSTACK_VARIABLES if k in variables})
        launch_env = build_environment(
            spec, runtime_api=env.runtime_api, endpoint_url=variables.get("AWS_ENDPOINT_URL", ""),
            credentials=Credentials(variables.get("AWS_ACCESS_KEY_ID", ""),
                                    variables.get("AWS_SECRET_ACCESS_KEY", ""),
                                    variables.get("AWS_SESSION_TOKEN", "")),
            task_root=task_root, layer_paths=tuple(layer_paths),
            log_stream=variables.get("AWS_LAMBDA_LOG_STREAM_NAME", ""), base=base,
        )
        if not variables.get("AWS_ENDPOINT_URL"):
            launch_env.pop("AWS_ENDPOINT_URL", None)
        self._launch = LaunchConfig(_Shared.interpreters().resolve(spec.runtime), task_root, launch_env)
        record_caller(variables.get("AWS_ACCESS_KEY_ID", ""), spec.name)  # a fault rule may name the function
        env.start(self._launch, float(os.environ.get("HARNESS_INIT_TIMEOUT_S", "10")), delay_s=delay_s)
        return env

    def stop(self) -> None:
        with self._lock:
            if self._env is not None:
                self._env.stop()

    # -- invocations -------------------------------------------------------------------------------
    def invoke(self, payload: dict[str, str]) -> LsResult:
        request = InvocationRequest(
            request_id=payload["invoke-id"], payload=corrected_payload(str(payload.get("payload") or "").encode()),
            trace_id=payload.get("trace-id", ""),
            # LocalStack's own name for the function is qualified (:$LATEST); the caller's is what AWS passes
            invoked_arn=str(payload.get("invoked-function-arn") or ""),
        )
        spec = self._spec
        assert spec is not None, "invoke() before start()"
        _Shared.record({"event": "start", "request_id": request.request_id, "function_arn": spec.function_arn,
                        "name": spec.name, "account_id": spec.account_id, "at": time.time()})
        result: InvocationResult | None = None
        effect, seconds = invocation_fault(spec.account_id, spec.name) or ("", 0.0)
        try:
            with self._lock:
                env = self._env
                if effect == "slow_start" and env is not None:
                    env.stop()  # an injected slow start: this invocation gets a new environment
                if env is None or effect == "slow_start" or (not env.alive and env.invocations > 0):
                    # re-init after a timeout or crash, as AWS does
                    env = self._env = self._boot(spec, delay_s=seconds if effect == "slow_start" else 0.0)
                result = env.invoke(request, fault=effect if effect in ("timeout", "crash") else None)
            self._logs.append(result.logs)
            return LsResult(request.request_id, result.payload, is_error=not result.ok, logs=result.logs)
        finally:
            _Shared.record(_end_event(spec, request, result))

    def get_logs(self) -> str:
        return "".join(self._logs)

    # -- addresses (unused in-process, but part of the contract) ------------------------------------
    def get_address(self) -> str:
        return "127.0.0.1"

    def get_endpoint_from_executor(self) -> str:
        from localstack import config

        return str(config.GATEWAY_LISTEN[0].host if config.GATEWAY_LISTEN else "127.0.0.1")

    def get_runtime_endpoint(self) -> str:
        from localstack import config

        return f"http://{self.get_endpoint_from_executor()}:{config.GATEWAY_LISTEN[0].port}/_localstack_lambda/{self.id}"

    # -- versions ----------------------------------------------------------------------------------
    @classmethod
    def prepare_version(cls, function_version: FunctionVersion) -> None:
        """Extract and byte-compile code and layers once per digest (runtimes never write bytecode)."""
        config = function_version.config
        if config.code is None:
            raise ValueError(f"{function_version.qualified_arn}: container images are not supported by the "
                             "harness executor; deploy a .zip package with a Python runtime")
        python_version_of(str(config.runtime or ""))  # a clear error for non-Python runtimes
        for code in [config.code, *(layer.code for layer in config.layers or [])]:
            _stored(code)

    @classmethod
    def cleanup_version(cls, function_version: FunctionVersion) -> None:
        """Nothing to undo: unzipped code is LocalStack's, and it removes it."""

    @classmethod
    def validate_environment(cls) -> bool:
        return True


def _stored(code: Any) -> Path:
    """The extracted, compiled copy of a code archive, shared by digest across accounts and runs.

    LocalStack unzips every function version's code and layers again (a new account, a new
    copy of the same 18 MB layer); the harness keeps one compiled copy per SHA-256 under
    ``HARNESS_CODE_STORE`` and points the runtime at it. Without a store, LocalStack's copy is used.
    """
    store = os.environ.get("HARNESS_CODE_STORE")
    digest = _hex_digest(getattr(code, "code_sha256", "") or "")
    if not store or not digest:
        code.prepare_for_execution()
        return Path(code.get_unzipped_code_location())
    target = Path(store) / digest
    if target.is_dir():
        return target
    code.prepare_for_execution()
    staging = Path(store) / f".{digest}.{uuid.uuid4().hex}"
    shutil.copytree(code.get_unzipped_code_location(), staging, symlinks=True)
    compileall.compile_dir(staging, quiet=2, workers=1, ddir=str(target))
    try:
        os.replace(staging, target)
    except OSError:  # another process stored it first
        shutil.rmtree(staging, ignore_errors=True)
    return target


def _hex_digest(code_sha256: str) -> str:
    """LocalStack keeps CodeSha256 as AWS shows it (base64); a folder name needs hex."""
    try:
        return base64.b64decode(code_sha256, validate=True).hex() if code_sha256 else ""
    except ValueError:
        return ""


def _end_event(spec: FunctionSpec, request: InvocationRequest, result: InvocationResult | None) -> dict[str, Any]:
    event_shapes, records, ids = event_summary(request.payload)
    event: dict[str, Any] = {"event": "end", "request_id": request.request_id, "function_arn": spec.function_arn,
                             "name": spec.name, "account_id": spec.account_id, "at": time.time(),
                             "event_shapes": event_shapes, "records": records, "record_ids": ids}
    if result is None:
        event["error"] = "HarnessExecutorError"
        return event
    failed, failed_ids = failed_items(request.payload, result.payload, not result.ok, records, ids)
    event.update({"started_at": result.started_at, "duration_ms": result.duration_ms, "cold": result.cold,
                  "init_ms": result.init_duration_ms, "error": result.error_type,
                  "max_memory_mb": result.max_memory_mb, "memory_mb": result.memory_mb,
                  "environment_id": result.environment_id, "failed_records": failed,
                  "failed_record_ids": failed_ids})
    return event


class HarnessExecutorPlugin(RuntimeExecutorPlugin):  # type: ignore[misc]
    """The plux plugin LocalStack loads by the name ``harness``."""

    name = "harness"

    def load(self, *args: Any, **kwargs: Any) -> type[HarnessRuntimeExecutor]:
        return HarnessRuntimeExecutor
