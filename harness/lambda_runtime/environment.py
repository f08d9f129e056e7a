"""One execution environment: an `awslambdaric` process and the Runtime API it talks to.

The driving thread waits with ``select`` on the process output and the exchange's wake pipe, so
output is read while the handler runs (no pipe can fill up) and every line written before the
runtime posted its result belongs to that invocation.
"""

from __future__ import annotations

import logging
import os
import select
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import Enum

import psutil

from harness.lambda_runtime.api import RuntimeApiServer, RuntimeExchange
from harness.lambda_runtime.process import EnvironmentProcess, ProcessSpawner, kill_process_tree
from harness.lambda_runtime.spec import (
    FunctionSpec,
    InvocationRequest,
    InvocationResult,
    error_payload,
    format_end,
    format_init_report,
    format_report,
    format_start,
)

LOG = logging.getLogger(__name__)
_SAMPLE_EVERY_S = 0.05
_MB = 1024 * 1024


class _Outcome(Enum):
    DONE = "done"
    EXITED = "exited"
    TIMEOUT = "timeout"
    OUT_OF_MEMORY = "oom"


@dataclass(frozen=True)
class LaunchConfig:
    """How to start the runtime process: interpreter, task root and environment variables."""

    interpreter: str
    task_root: str
    env: Mapping[str, str]


class ExecutionEnvironment:
    """A warm-able sandbox for one function version; not thread-safe: one invocation at a time."""

    def __init__(
        self,
        spec: FunctionSpec,
        spawner: ProcessSpawner,
        *,
        environment_id: str | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.spec = spec
        self.id = environment_id or uuid.uuid4().hex
        self._spawner = spawner
        self._clock = clock
        self._wall = wall_clock
        self._exchange = RuntimeExchange(spec.function_arn)
        self._server = RuntimeApiServer(self._exchange).start()
        self._proc: EnvironmentProcess | None = None
        self._ps: psutil.Process | None = None
        self._out_fd = -1
        self._buffer = bytearray()
        self._peak_rss = 0
        self._last_sample = 0.0
        self.init_duration_ms: float | None = None
        self._init_logs = ""
        self._init_failure: tuple[bytes, str] | None = None
        self._retry_init: LaunchConfig | None = None
        self.invocations = 0
        self.last_used = clock()
        self.alive = False

    @property
    def runtime_api(self) -> str:
        return self._server.address

    def start(self, launch: LaunchConfig, init_timeout_s: float, *, delay_s: float = 0.0) -> None:
        """Start the process and wait until it asks for its first invocation (or fails init);
        ``delay_s``: an injected slow start, counted in the init duration. An init that runs past
        ``init_timeout_s`` is retried at the first invocation, within the function's timeout, as
        Lambda does (the environment stays, its process does not)."""
        started = self._clock()
        if delay_s:
            time.sleep(delay_s)
        outcome = self._spawn(launch, started + init_timeout_s)
        self.init_duration_ms = (self._clock() - started) * 1000
        self._init_logs = self._take_output()
        self._init_failure = self._init_outcome(outcome)
        if outcome is _Outcome.TIMEOUT and self._init_failure is None:
            self._end_process()
            self._init_logs += format_init_report(self.init_duration_ms, "timeout") + "\n"
            self._retry_init = launch
        elif self._init_failure is not None:
            self.stop()

    def _spawn(self, launch: LaunchConfig, deadline: float) -> _Outcome:
        proc = self._spawner.spawn(
            [launch.interpreter, "-m", "awslambdaric", self.spec.handler],
            env=launch.env,
            cwd=launch.task_root,
        )
        self._proc = proc
        assert proc.stdout is not None
        self._out_fd = proc.stdout.fileno()
        os.set_blocking(self._out_fd, False)
        try:
            self._ps = psutil.Process(proc.pid)
        except psutil.Error:
            self._ps = None
        self.alive = True
        return self._pump(lambda: self._exchange.waiting_for_next or self._exchange.init_error is not None, deadline)

    def _init_outcome(self, outcome: _Outcome) -> tuple[bytes, str] | None:
        """The init's failure (its error, or a runtime that exited), None when it is ready or timed out."""
        init_error = self._exchange.init_error
        if init_error is not None:
            return init_error.body, init_error.error_type or "Runtime.Unknown"
        if outcome is _Outcome.EXITED:
            code = self._exit_code()
            return (error_payload("", "Runtime.ExitError", f"Runtime exited with error: exit status {code}"),
                    "Runtime.ExitError")
        return None

    def invoke(self, request: InvocationRequest, *, fault: str | None = None) -> InvocationResult:
        """Run one invocation to its end (result, error, timeout, crash or out of memory);
        ``fault`` ("timeout" | "crash"): end it so without running the handler (an injected fault)."""
        cold = self.invocations == 0
        self.invocations += 1
        started_wall = self._wall()
        started = self._clock()
        init_logs, init_ms = (self._init_logs, self.init_duration_ms) if cold else ("", None)
        self._init_logs = ""
        if self._init_failure is not None:
            body, error_type = self._init_failure
            return self._result(request, body, error_type, 0.0, init_ms, cold, started_wall,
                                init_logs, "", status="error")
        self._peak_rss = 0
        deadline = started + self.spec.timeout_s
        retry, self._retry_init = self._retry_init, None
        if retry is not None:  # Duration holds the retried init; REPORT has no Init Duration
            init_ms = None
        outcome = _Outcome.DONE
        if fault is not None:
            outcome = _Outcome.TIMEOUT if fault == "timeout" else _Outcome.EXITED
        elif retry is not None:  # the init that timed out runs again, on the invocation's clock
            outcome = self._spawn(retry, deadline)
            failure = self._init_outcome(outcome)
            if failure is not None:
                self.stop()
                return self._result(request, failure[0], failure[1], (self._clock() - started) * 1000,
                                    init_ms, cold, started_wall, init_logs, self._take_output(), status="error")
        if outcome is _Outcome.DONE and fault is None:
            self._exchange.submit(request, self._wall() + max(0.0, deadline - self._clock()))
            outcome = self._pump(lambda: self._exchange.has_reply(request.request_id), deadline)
        duration_ms = (self._clock() - started) * 1000
        output = self._take_output()
        self.last_used = self._clock()
        if outcome is _Outcome.DONE:
            self._over_memory()  # also samples short invocations for Max Memory Used
            reply = self._exchange.take_reply(request.request_id)
            assert reply is not None
            reply_error = (reply.error_type or "Unhandled") if reply.is_error else None
            return self._result(request, reply.body, reply_error, duration_ms, init_ms, cold,
                                started_wall, init_logs, output)
        self.stop()
        if outcome is _Outcome.TIMEOUT:
            detail = f"Task timed out after {self.spec.timeout_s:.2f} seconds"
            error_type, duration_ms = "Sandbox.Timedout", self.spec.timeout_s * 1000
        elif outcome is _Outcome.OUT_OF_MEMORY:
            detail, error_type = "Runtime exited with error: signal: killed", "Runtime.OutOfMemory"
        elif fault == "crash":
            detail, error_type = "Runtime exited with error: signal: killed", "Runtime.ExitError"
        else:
            detail = f"Runtime exited with error: exit status {self._exit_code()}"
            error_type = "Runtime.ExitError"
        body = error_payload(request.request_id, error_type, detail)
        tail = f"{time.strftime('%Y-%m-%dT%H:%M:%S', time.gmtime())}Z {request.request_id} {detail}\n"
        return self._result(request, body, error_type, duration_ms, init_ms, cold, started_wall,
                            init_logs, output + tail, status="error")


    def _result(
        self, request: InvocationRequest, body: bytes, error_type: str | None, duration_ms: float,
        init_ms: float | None, cold: bool, started_wall: float, init_logs: str, output: str,
        status: str | None = None,
    ) -> InvocationResult:
        max_mb = max(1, round(self._peak_rss / _MB)) if self._peak_rss else 1
        report = format_report(
            request.request_id, duration_ms=duration_ms, memory_mb=self.spec.memory_mb,
            max_memory_mb=max_mb, init_duration_ms=init_ms, status=status,
            error_type=error_type if status else None,
        )
        logs = "".join([
            init_logs,
            format_start(request.request_id, self.spec.version) + "\n",
            output if not output or output.endswith("\n") else output + "\n",
            format_end(request.request_id) + "\n",
            report + "\n",
        ])
        return InvocationResult(
            request_id=request.request_id, payload=body,
            function_error="Unhandled" if error_type else None, error_type=error_type,
            logs=logs, duration_ms=duration_ms, init_duration_ms=init_ms, max_memory_mb=max_mb,
            memory_mb=self.spec.memory_mb, cold=cold, started_at=started_wall,
            environment_id=self.id,
        )

    def _pump(self, done: Callable[[], bool], deadline: float) -> _Outcome:
        wake = self._exchange.wake_fd
        # poll, not select: select refuses descriptors above 1023, which a process holding many
        # keep-alive connections (the moto server's) soon hands out to new pipes
        poller = select.poll()
        poller.register(self._out_fd, select.POLLIN)
        poller.register(wake, select.POLLIN)
        while True:
            if done():
                self._drain()
                return _Outcome.DONE
            now = self._clock()
            if now >= deadline:
                return _Outcome.TIMEOUT
            if now - self._last_sample >= _SAMPLE_EVERY_S and self._over_memory():
                return _Outcome.OUT_OF_MEMORY
            timeout_ms = max(0.0, min(deadline - now, _SAMPLE_EVERY_S)) * 1000
            ready = {fd for fd, _ in poller.poll(timeout_ms)}
            if wake in ready:
                self._exchange.clear_wake()
            if self._out_fd in ready and not self._read_chunk():
                if done():
                    return _Outcome.DONE
                return _Outcome.EXITED

    def _read_chunk(self) -> bool:
        try:
            data = os.read(self._out_fd, 65536)
        except BlockingIOError:
            return True
        if not data:
            return False
        self._buffer.extend(data)
        return True

    def _drain(self) -> None:
        while True:
            try:
                data = os.read(self._out_fd, 65536)
            except (BlockingIOError, OSError):
                return
            if not data:
                return
            self._buffer.extend(data)

    def _take_output(self) -> str:
        text = self._buffer.decode("utf-8", errors="replace")
        self._buffer.clear()
        return text

    def _over_memory(self) -> bool:
        self._last_sample = self._clock()
        if self._ps is None:
            return False
        try:
            rss = self._ps.memory_info().rss
        except psutil.Error:
            return False
        self._peak_rss = max(self._peak_rss, rss)
        return rss > self.spec.memory_mb * _MB

    def _exit_code(self) -> int | None:
        proc = self._proc
        if proc is None:
            return None
        try:
            return int(proc.wait(timeout=1))
        except Exception:  # still running or already reaped
            return proc.returncode

    def _end_process(self) -> None:
        if self._proc is not None:
            kill_process_tree(self._proc)

    def stop(self) -> None:
        """Kill the process and close the Runtime API; idempotent."""
        self.alive = False
        self._end_process()
        self._server.stop()
