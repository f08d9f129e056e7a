"""Starting and stopping the OS processes of execution environments.

Processes are spawned from one long-lived thread so that ``PR_SET_PDEATHSIG`` (which fires when the
*thread* that forked exits) kills them only when the harness process itself dies.
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

LOG = logging.getLogger(__name__)
_PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:  # runs in the child between fork and exec
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


class ProcessSpawner:
    """Spawns processes from a dedicated thread; one per runtime."""

    def __init__(self) -> None:
        self._requests: queue.Queue[tuple[Future[subprocess.Popen[bytes]], dict[str, object]] | None]
        self._requests = queue.Queue()
        self._thread = threading.Thread(target=self._loop, name="lambda-spawner", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while (item := self._requests.get()) is not None:
            future, kwargs = item
            try:
                future.set_result(subprocess.Popen(**kwargs))  # type: ignore[call-overload]
            except BaseException as exc:  # handed to the caller, who raises it
                future.set_exception(exc)

    def spawn(
        self, args: Sequence[str], *, env: Mapping[str, str], cwd: str
    ) -> subprocess.Popen[bytes]:
        future: Future[subprocess.Popen[bytes]] = Future()
        kwargs: dict[str, object] = {
            "args": list(args),
            "env": dict(env),
            "cwd": cwd,
            "stdin": subprocess.DEVNULL,
            "stdout": subprocess.PIPE,
            "stderr": subprocess.STDOUT,
            "start_new_session": True,
            "preexec_fn": die_with_parent,
            "bufsize": 0,
        }
        self._requests.put((future, kwargs))
        return future.result()

    def close(self) -> None:
        self._requests.put(None)
        self._thread.join(timeout=2)


def kill_process_tree(proc: subprocess.Popen[bytes]) -> None:
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
