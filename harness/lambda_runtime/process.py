"""Starting and stopping the OS processes of execution environments.

Processes are spawned from one long-lived thread so that ``PR_SET_PDEATHSIG`` (which fires when the
*thread* that forked exits) kills them only when the harness process itself dies. Where a
pre-started interpreter (``zygote``) is ready for the interpreter asked for, an environment is
forked from it instead; it dies with the zygote, which dies with the harness.
"""

from __future__ import annotations

import ctypes
import logging
import os
import queue
import signal
import subprocess
import sys
import threading
from collections.abc import Mapping, Sequence
from concurrent.futures import Future
from typing import IO, Any, Protocol

import psutil

from harness.errors import RuntimeSetupError
from harness.lambda_runtime import clock_shim
from harness.lambda_runtime.clock_shim import CLOCK_VARIABLE
from harness.lambda_runtime.zygote import Zygote

LOG = logging.getLogger(__name__)
CLOCK_SHIM = clock_shim.__file__  # run by path: the function's interpreter may not have the harness
_PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:  # runs in the child between fork and exec
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


class EnvironmentProcess(Protocol):
    """What environments use of their process (``subprocess.Popen``, ``zygote.ForkedProcess``)."""

    pid: int
    returncode: int | None

    @property
    def stdout(self) -> IO[bytes] | None: ...

    def poll(self) -> int | None: ...

    def wait(self, timeout: float | None = None) -> int: ...

    def kill(self) -> None: ...


class ProcessSpawner:
    """Spawns processes from a dedicated thread; one per runtime. With ``prestart``, environments
    are forked from a pre-started interpreter per Python where one is ready (``prepare`` starts it
    ahead; the first spawn for an interpreter starts one for the next)."""

    def __init__(self, prestart: bool = False, zygote_env: Mapping[str, str] | None = None) -> None:
        self._requests: queue.Queue[tuple[Future[subprocess.Popen[bytes]], dict[str, object]] | None]
        self._requests = queue.Queue()
        self._prestart = prestart
        self._zygote_env = {"LANG": "en_US.UTF-8", "TZ": ":UTC", "PYTHONDONTWRITEBYTECODE": "1",
                            "PYTHONUNBUFFERED": "1", **(zygote_env or {})}
        self._zygotes: dict[str, Zygote] = {}
        self._zygote_lock = threading.Lock()
        self._closed = False
        self._thread = threading.Thread(target=self._loop, name="lambda-spawner", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while (item := self._requests.get()) is not None:
            future, kwargs = item
            try:
                future.set_result(subprocess.Popen(**kwargs))  # type: ignore[call-overload]
            except BaseException as exc:  # handed to the caller, who raises it
                future.set_exception(exc)

    def popen(self, **kwargs: Any) -> subprocess.Popen[bytes]:
        """``subprocess.Popen(**kwargs)`` from the spawner thread, in a session of its own, dying
        with this process."""
        future: Future[subprocess.Popen[bytes]] = Future()
        self._requests.put((future, {**kwargs, "start_new_session": True, "preexec_fn": die_with_parent}))
        return future.result()

    def spawn(self, args: Sequence[str], *, env: Mapping[str, str], cwd: str) -> EnvironmentProcess:
        """An environment's process (``interpreter -m module args``), its output on ``stdout``."""
        if self._prestart and len(args) >= 3 and args[1] == "-m":
            zygote = self.prepare(args[0])
            paths = [cwd, *(p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p)]
            if zygote.ready and not zygote.shadows(paths):
                try:
                    return zygote.fork(args[2], args[3:], env=env, cwd=cwd)
                except OSError as exc:
                    LOG.warning("%s; starting a fresh interpreter", exc)
        if CLOCK_VARIABLE in env and len(args) >= 3 and args[1] == "-m":  # the module, on the account's clock
            args = [args[0], CLOCK_SHIM, *args[2:]]
        return self.popen(args=list(args), env=dict(env), cwd=cwd, stdin=subprocess.DEVNULL,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, bufsize=0)

    def prepare(self, interpreter: str) -> Zygote:
        """The pre-started interpreter for ``interpreter``, started now if none runs (it becomes
        ready a fraction of a second later)."""
        with self._zygote_lock:
            if self._closed:
                raise RuntimeSetupError(f"no interpreter started for {interpreter}: the runtime is stopping")
            zygote = self._zygotes.get(interpreter)
            if zygote is None or zygote.dead:
                zygote = Zygote(interpreter, self.popen).start(self._zygote_env)
                self._zygotes[interpreter] = zygote
            return zygote

    def close(self) -> None:
        with self._zygote_lock:
            self._closed = True
            zygotes = list(self._zygotes.values())
            self._zygotes.clear()
        for zygote in zygotes:
            zygote.close()
        self._requests.put(None)
        self._thread.join(timeout=2)


def kill_process_tree(proc: EnvironmentProcess) -> None:
    """Kill the process and everything in its session; reap it."""
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            proc.kill()
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        LOG.warning("process %s did not exit after SIGKILL", proc.pid)
    if proc.stdout is not None:
        proc.stdout.close()


def exited(process: psutil.Process | int) -> bool:
    """Gone, for the caller's purpose: an exited process init has not reaped yet (a zombie; in a
    container init may reap seconds late) counts as exited."""
    try:
        found = process if isinstance(process, psutil.Process) else psutil.Process(process)
        return bool(not found.is_running() or found.status() == psutil.STATUS_ZOMBIE)
    except psutil.Error:
        return True
