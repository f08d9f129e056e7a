"""The process runtime: a pool of warm execution environments per function.

Environments are reused while warm, evicted after ``idle_ttl_s`` or as soon as the function's
configuration or code changes, and counted against reserved concurrency (throttling beyond it).
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

from harness.clock import Clocks
from harness.errors import HarnessError, RuntimeSetupError, ThrottledError
from harness.lambda_runtime.clock_shim import CLOCK_VARIABLE
from harness.lambda_runtime.code import CodeStore, InterpreterResolver, python_version_of
from harness.lambda_runtime.environment import ExecutionEnvironment, LaunchConfig
from harness.lambda_runtime.process import ProcessSpawner
from harness.lambda_runtime.spec import (
    Credentials,
    FunctionSpec,
    InvocationRequest,
    InvocationResult,
    ResultListener,
    build_environment,
    init_failure,
    layer_python_paths,
    log_stream_name,
)

LOG = logging.getLogger(__name__)

CredentialsProvider = Callable[[FunctionSpec], Credentials]
LogSink = Callable[[FunctionSpec, str, str], None]


@dataclass(frozen=True)
class FunctionPackage:
    """A function's configuration plus loaders for its code and layers (called on cache misses)."""

    spec: FunctionSpec
    load_code: Callable[[], bytes]
    load_layers: Mapping[str, Callable[[], bytes]] = field(default_factory=dict)


class ProcessRuntime:
    """Runs Lambda invocations in local `awslambdaric` processes.

    Example:
        runtime = ProcessRuntime(code_store=CodeStore(Path(".harness/code")), ...)
        result = runtime.invoke(package, b'{"hello": "world"}')
    """

    def __init__(
        self,
        *,
        code_store: CodeStore,
        interpreters: InterpreterResolver,
        endpoint_url: str,
        credentials: CredentialsProvider,
        base_env: Mapping[str, str],
        idle_ttl_s: float = 300.0,
        init_timeout_s: float = 10.0,
        log_sink: LogSink | None = None,
        clock: Callable[[], float] = time.monotonic,
        prestart: bool = False,
        clocks: Clocks | None = None,
    ) -> None:
        """``prestart``: fork environments from pre-started interpreters (``zygote``); ``clocks``:
        the accounts' clocks, which functions see as their wall clock where they are virtual."""
        self._prestart = prestart
        self._clocks = clocks or Clocks(virtual=False)
        self._code = code_store
        self._interpreters = interpreters
        self._endpoint_url = endpoint_url
        self._credentials = credentials
        self._base_env = dict(base_env)
        self._idle_ttl_s = idle_ttl_s
        self._init_timeout_s = init_timeout_s
        self._log_sink = log_sink
        self._clock = clock
        self._lock = threading.Condition()
        self._idle: dict[str, list[ExecutionEnvironment]] = {}
        self._busy: dict[str, int] = {}
        self._latest: dict[str, str] = {}
        self._spawner: ProcessSpawner | None = None
        self._stopping = threading.Event()
        self._janitor: threading.Thread | None = None
        self._preparing: list[threading.Thread] = []
        self.listeners: list[ResultListener] = []
        self.setup_failures: dict[str, str] = {}  # function ARN -> why its last start failed

    def start(self) -> ProcessRuntime:
        self._spawner = ProcessSpawner(prestart=self._prestart, zygote_env=self._base_env)
        self._janitor = threading.Thread(target=self._sweep_loop, name="lambda-janitor", daemon=True)
        self._janitor.start()
        return self

    @property
    def runtime_notes(self) -> dict[str, str]:
        """Runtimes that run on another Python version than they name, and why (for reports)."""
        return dict(self._interpreters.notes)

    @property
    def in_flight(self) -> int:
        with self._lock:
            return sum(self._busy.values())

    def start_failures_for(self, account_id: str) -> dict[str, str]:
        """Why one account's functions could not start, by function name (their last attempt)."""
        marker = f":{account_id}:function:"
        return {arn.rsplit(":", 1)[-1]: reason for arn, reason in list(self.setup_failures.items()) if marker in arn}

    def in_flight_for(self, account_id: str) -> int:
        """Running invocations of one account's functions."""
        marker = f":{account_id}:function:"
        with self._lock:
            return sum(n for arn, n in self._busy.items() if marker in arn)

    def wait_idle(self, timeout: float) -> bool:
        """Block until no invocation is running; False if ``timeout`` passed first."""
        with self._lock:
            return self._lock.wait_for(lambda: not any(self._busy.values()), timeout=timeout)

    def environments(self, function_arn: str | None = None) -> int:
        with self._lock:
            keys = [function_arn] if function_arn else list(self._idle)
            idle = sum(len(self._idle.get(k, [])) for k in keys)
            busy = sum(self._busy.get(k, 0) for k in keys)
            return idle + busy

    def invoke(
        self, package: FunctionPackage, payload: bytes, *, request_id: str | None = None,
        trace_id: str = "", fault: tuple[str, float] | None = None,
    ) -> InvocationResult:
        """Run one invocation; a handler failure is returned as data.

        An environment that cannot be prepared (no interpreter, code that is not a zip) is an init
        failure, as on AWS: logged to the function's log group and returned as a function error.
        ``fault``: an injected ``("timeout" | "crash", _)`` ends the invocation as a timeout or a
        crash without running the handler (its environment is recycled, as after one on AWS);
        ``("slow_start", seconds)`` runs it in a new environment whose init takes that much longer.

        Raises:
            ThrottledError: the function's reserved concurrency is in use.
        """
        spec = package.spec
        effect, seconds = fault or ("", 0.0)
        if effect == "slow_start":
            self.evict(lambda s: s.function_arn == spec.function_arn)
        env = self._acquire(spec)
        request = InvocationRequest(
            request_id=request_id or str(uuid.uuid4()), payload=payload,
            trace_id=trace_id or _trace_id(),
        )
        try:
            if env is None:
                env = self._create(package, init_delay_s=seconds if effect == "slow_start" else 0.0)
            result = env.invoke(request, fault=effect if effect in ("timeout", "crash") else None)
            self.setup_failures.pop(spec.function_arn, None)
        except RuntimeSetupError as exc:
            LOG.warning("function %s could not start: %s", spec.name, exc)
            self.setup_failures[spec.function_arn] = str(exc)
            result = init_failure(request, spec, str(exc), started_at=time.time())
        finally:
            self._release(spec, env)
        result = dataclasses.replace(result, event=payload)  # read only by who asks (observe.event_facts)
        self._after(spec, env.id if env is not None else result.environment_id, result)
        return result

    def _after(self, spec: FunctionSpec, environment_id: str, result: InvocationResult) -> None:
        if self._log_sink is not None:
            stream = log_stream_name(datetime.now(UTC), spec.version, environment_id)
            try:
                self._log_sink(spec, stream, result.logs)
            except Exception:  # logs are best effort; the invocation result stands
                LOG.exception("could not write logs of %s to %s", spec.name, spec.log_group)
        for listener in list(self.listeners):
            listener(spec, result)

    def _acquire(self, spec: FunctionSpec) -> ExecutionEnvironment | None:
        stale: list[ExecutionEnvironment] = []
        with self._lock:
            arn = spec.function_arn
            self._latest[arn] = spec.digest
            idle = self._idle.setdefault(arn, [])
            stale = [e for e in idle if e.spec.digest != spec.digest]
            idle[:] = [e for e in idle if e.spec.digest == spec.digest]
            busy = self._busy.get(arn, 0)
            limit = spec.reserved_concurrency
            if limit is not None and busy >= limit:
                raise ThrottledError(spec.name, limit)
            self._busy[arn] = busy + 1
            env = idle.pop() if idle else None
        for old in stale:
            old.stop()
        return env

    def _release(self, spec: FunctionSpec, env: ExecutionEnvironment | None) -> None:
        with self._lock:
            arn = spec.function_arn
            self._busy[arn] -= 1
            keep = env is not None and env.alive and self._latest.get(arn) == env.spec.digest
            if keep and not self._stopping.is_set():
                assert env is not None
                self._idle.setdefault(arn, []).append(env)
                env = None
            self._lock.notify_all()
        if env is not None and env.alive:
            env.stop()

    def _create(self, package: FunctionPackage, *, init_delay_s: float = 0.0) -> ExecutionEnvironment:
        spec = package.spec
        assert self._spawner is not None, "ProcessRuntime.start() was not called"
        version = python_version_of(spec.runtime)
        interpreter = self._interpreters.resolve(spec.runtime)
        task_root = self._code.ensure("code", spec.code_sha256, package.load_code)
        layer_paths: list[str] = []
        for layer in reversed(spec.layers):  # later layers win, as when extracted over /opt
            root = self._code.ensure("layers", layer.sha256, package.load_layers[layer.sha256])
            layer_paths.extend(layer_python_paths(str(root), version))
        account = spec.account_id
        env = ExecutionEnvironment(spec, self._spawner, clock=self._clock,
                                   wall_clock=lambda: self._clocks.now(account))  # its deadlines
        variables = build_environment(
            spec, runtime_api=env.runtime_api, endpoint_url=self._endpoint_url,
            credentials=self._credentials(spec), task_root=str(task_root),
            layer_paths=tuple(layer_paths),
            log_stream=log_stream_name(datetime.fromtimestamp(self._clocks.now(account), UTC), spec.version, env.id),
            base=self._base_env,
        )
        clock_file = self._clocks.offset_file(account)
        if clock_file is not None:  # read by clock_shim, which removes it from what the handler sees
            variables = {**variables, CLOCK_VARIABLE: str(clock_file)}
        env.start(LaunchConfig(interpreter, str(task_root), variables), self._init_timeout_s, delay_s=init_delay_s)
        return env

    def prepare(self, runtime: str, *, wait: bool = True) -> None:
        """Start ``runtime``'s pre-started interpreter now, so its first cold start forks it
        (does nothing without ``prestart`` or where the runtime has no interpreter); ``wait``
        False: from a thread of its own (finding the interpreter and forking take ~30 ms)."""
        if not self._prestart or self._spawner is None:
            return
        if not wait:
            thread = threading.Thread(target=self.prepare, args=(runtime,), name="lambda-prepare", daemon=True)
            self._preparing.append(thread)
            thread.start()
            return
        try:
            self._spawner.prepare(self._interpreters.resolve(runtime))
        except HarnessError as exc:  # the first invocation reports it (or the runtime stopped first)
            LOG.debug("no pre-started interpreter for %s: %s", runtime, exc)

    def _sweep_loop(self) -> None:
        while not self._stopping.wait(1.0):
            self.evict_idle()

    def evict_idle(self, older_than_s: float | None = None) -> int:
        """Stop environments idle for longer than the TTL (or ``older_than_s``); return how many."""
        limit = self._idle_ttl_s if older_than_s is None else older_than_s
        now = self._clock()
        evicted: list[ExecutionEnvironment] = []
        with self._lock:
            for envs in self._idle.values():
                keep = [e for e in envs if now - e.last_used < limit]
                evicted.extend(e for e in envs if now - e.last_used >= limit)
                envs[:] = keep
        for env in evicted:
            env.stop()
        return len(evicted)

    def evict(self, predicate: Callable[[FunctionSpec], bool] = lambda spec: True) -> None:
        """Stop idle environments whose spec matches (e.g. one account's functions)."""
        with self._lock:
            doomed = [e for envs in self._idle.values() for e in envs if predicate(e.spec)]
            for envs in self._idle.values():
                envs[:] = [e for e in envs if not predicate(e.spec)]
        for env in doomed:
            env.stop()

    def stop(self) -> None:
        """Stop every environment and the janitor; waits up to 5 s for running invocations."""
        self._stopping.set()
        for thread in self._preparing:
            thread.join(timeout=5)
        self.wait_idle(5.0)
        self.evict()
        if self._spawner is not None:
            self._spawner.close()
        if self._janitor is not None:
            self._janitor.join(timeout=2)


def _trace_id() -> str:
    now = int(time.time())
    return f"Root=1-{now:08x}-{uuid.uuid4().hex[:24]};Parent={uuid.uuid4().hex[:16]};Sampled=0"

