"""Pre-started interpreters: cold starts without the interpreter's start and boto3's import.

A cold start used to pay for a new interpreter and for importing boto3 before the handler's own
code ran (~0.2 s of CPU and of latency each: a fresh ``python3.13`` importing ``awslambdaric`` and
``boto3`` and making one client). A ``Zygote`` is one interpreter per Python, started once, that
has imported boto3 and forks a child per execution environment (``zygote_main``); the child is
what ``python -m awslambdaric <handler>`` would have been, in its own session, with the function's
variables and working directory only.

A fork is used only where it cannot change what the function imports: when the function's code
and layers hold no module of the name of one the zygote has imported (a function that bundles its
own boto3 gets its own, as on AWS), else the environment starts a fresh interpreter as before.
What a handler observes differently: its init duration no longer includes importing boto3 (AWS's
runtime pays it in the init phase); listed in the README.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import subprocess
import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

LOG = logging.getLogger(__name__)
MAIN = str(Path(__file__).with_name("zygote_main.py"))
PRELOAD = ("boto3",)
_MESSAGE_BYTES = 1 << 20
Spawn = Callable[..., "subprocess.Popen[bytes]"]


class ForkedProcess:
    """A child of a zygote, with the part of ``subprocess.Popen``'s interface environments use."""

    def __init__(self, pid: int, out_fd: int, zygote: Zygote) -> None:
        self.pid = pid
        self.stdout = os.fdopen(out_fd, "rb", buffering=0)
        self.returncode: int | None = None
        self._zygote = zygote

    def poll(self) -> int | None:
        if self.returncode is None:
            self.returncode = self._zygote.exit_code(self.pid)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        code = self._zygote.wait_exit(self.pid, timeout)
        if code is None:
            raise subprocess.TimeoutExpired(f"environment process {self.pid}", timeout or 0.0)
        self.returncode = code
        return code

    def kill(self) -> None:
        try:
            os.kill(self.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


class Zygote:
    """One pre-started interpreter that forks environments; ``start`` returns at once, ``ready``
    tells when it can fork. Thread-safe."""

    def __init__(self, interpreter: str, spawn: Spawn) -> None:
        self.interpreter = interpreter
        self._spawn = spawn
        self._sock: socket.socket | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._modules: frozenset[str] = frozenset()
        self._cond = threading.Condition()
        self._ready = False
        self._dead = False
        self._pids: list[int] = []
        self._exits: dict[int, int] = {}
        self._fork_lock = threading.Lock()
        self._shadowed: dict[tuple[str, ...], bool] = {}

    @property
    def ready(self) -> bool:
        with self._cond:
            return self._ready and not self._dead

    @property
    def dead(self) -> bool:
        with self._cond:
            return self._dead

    def start(self, environ: Mapping[str, str]) -> Zygote:
        """Start the interpreter (through ``spawn``: the runtime's spawner thread) and read it."""
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            self._proc = self._spawn(
                args=[self.interpreter, "-u", MAIN, str(theirs.fileno()), *PRELOAD], env=dict(environ),
                cwd="/", stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                pass_fds=(theirs.fileno(),))
        except BaseException:
            ours.close()
            raise
        finally:
            theirs.close()
        self._sock = ours
        threading.Thread(target=self._read, name=f"zygote-{Path(self.interpreter).name}", daemon=True).start()
        return self

    def shadows(self, paths: Sequence[str]) -> bool:
        """Whether a folder of ``paths`` (task root, layers) holds a module the zygote imported."""
        key = tuple(paths)
        if key not in self._shadowed:
            names: set[str] = set()
            for folder in paths:
                try:
                    entries = os.listdir(folder)
                except OSError:
                    continue
                names.update(entry.split(".", 1)[0] for entry in entries)
            self._shadowed[key] = bool(names & self._modules)
        return self._shadowed[key]

    def fork(self, module: str, args: Sequence[str], *, env: Mapping[str, str], cwd: str) -> ForkedProcess:
        """A child running ``python -m module args`` (its output on the returned process's stdout).

        Raises:
            OSError: the zygote is gone (the caller starts a fresh interpreter instead).
        """
        read_fd, write_fd = os.pipe()
        try:
            with self._fork_lock:
                assert self._sock is not None
                request = {"module": module, "args": list(args), "env": dict(env), "cwd": cwd}
                socket.send_fds(self._sock, [json.dumps(request).encode()], [write_fd])
                with self._cond:
                    answered = self._cond.wait_for(lambda: self._pids or self._dead, timeout=10)
                    pid = self._pids.pop(0) if answered and not self._dead else None
                if pid is None:
                    self.close()  # a late answer would be taken for the next fork's child
                    raise OSError(f"the zygote of {self.interpreter} did not fork")
        except BaseException:
            os.close(read_fd)
            raise
        finally:
            os.close(write_fd)
        return ForkedProcess(pid, read_fd, self)

    def exit_code(self, pid: int) -> int | None:
        with self._cond:
            if pid in self._exits:
                return self._exits[pid]
            return -signal.SIGKILL if self._dead else None  # its children die with it

    def wait_exit(self, pid: int, timeout: float | None) -> int | None:
        with self._cond:
            self._cond.wait_for(lambda: pid in self._exits or self._dead, timeout=timeout)
        return self.exit_code(pid)

    def close(self) -> None:
        """Stop the zygote (its children die with it) and close its socket."""
        if self._sock is not None:
            self._sock.close()
        if self._proc is not None:
            self._proc.kill()
            try:
                self._proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                LOG.warning("zygote %s did not exit after SIGKILL", self._proc.pid)
        with self._cond:
            self._dead = True
            self._cond.notify_all()

    def _read(self) -> None:
        sock = self._sock
        assert sock is not None
        try:
            while data := sock.recv(_MESSAGE_BYTES):
                message: dict[str, Any] = json.loads(data)
                with self._cond:
                    if "ready" in message:
                        self._modules = frozenset(message["modules"])
                        self._ready = True
                        LOG.debug("zygote %s ready with %s", self.interpreter, message["preloaded"])
                    elif "pid" in message:
                        pid = int(message["pid"])
                        # pids are reused (pid_max is 32768 here): an exit recorded for an earlier
                        # child of this pid must not make the new one look exited
                        self._exits.pop(pid, None)
                        self._pids.append(pid)
                    elif "exited" in message:
                        self._exits[int(message["exited"])] = int(message["code"])
                    self._cond.notify_all()
        except (OSError, ValueError) as exc:
            LOG.debug("zygote %s: %s", self.interpreter, exc)
        with self._cond:
            self._dead = True
            self._cond.notify_all()
