"""A pre-started interpreter that forks execution environments (run by ``harness.lambda_runtime.zygote``).

Run as ``<python> -u zygote_main.py <socket fd> <module to preload>...`` by the function's own
interpreter; stdlib only, since that interpreter may not have the harness installed. It imports
the preloaded modules (boto3: most of every cold start), reports the top-level modules it holds,
then, for each request on its socket (a JSON message and the write end of the environment's output
pipe), forks a child that becomes what ``python -m <module> <args>`` would have been: its own
session, the function's environment and working directory, ``sys.path`` as the interpreter would
build it from that directory and ``PYTHONPATH``. It reports each child's pid and, when the child
exits, its exit code.
"""

from __future__ import annotations

import atexit
import ctypes
import json
import os
import runpy
import select
import signal
import socket
import sys
import time
import traceback
from typing import Any

import clock_shim  # type: ignore[import-not-found]  # beside this script (its folder is first on the path of a script run by path)

_PR_SET_PDEATHSIG = 1
_MESSAGE_BYTES = 1 << 20


def _send(sock: socket.socket, message: dict[str, Any]) -> None:
    sock.send(json.dumps(message).encode())


def _die_with_parent() -> None:
    if sys.platform.startswith("linux"):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


def _child(request: dict[str, Any], out_fd: int, closing: list[int], site_paths: list[str]) -> None:
    code: int = 0
    try:
        os.setsid()
        _die_with_parent()
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        for fd in closing:
            os.close(fd)
        os.dup2(out_fd, 1)
        os.dup2(out_fd, 2)
        os.close(out_fd)
        cwd, env = request["cwd"], dict(request["env"])
        clock_file = env.pop(clock_shim.CLOCK_VARIABLE, "")
        os.chdir(cwd)
        os.environ.clear()
        os.environ.update(env)
        time.tzset()
        python_path = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
        sys.path[:] = [cwd, *python_path, *site_paths]
        if clock_file:
            clock_shim.install(clock_file)
        sys.argv = [request["module"], *request["args"]]
        runpy.run_module(request["module"], run_name="__main__", alter_sys=True)
    except SystemExit as exc:
        if exc.code is None or isinstance(exc.code, int):
            code = exc.code or 0
        else:
            print(exc.code, file=sys.stderr)
            code = 1
    except BaseException:
        traceback.print_exc()
        code = 1
    try:
        atexit._run_exitfuncs()
        sys.stdout.flush()
        sys.stderr.flush()
    finally:
        os._exit(code)


def _reap(sock: socket.socket) -> None:
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        _send(sock, {"exited": pid, "code": os.waitstatus_to_exitcode(status)})


def main() -> None:
    sock = socket.socket(fileno=int(sys.argv[1]))
    preloaded: list[str] = []
    for name in sys.argv[2:]:
        try:
            __import__(name)
            preloaded.append(name)
        except Exception:  # not installed for this interpreter: its functions import their own
            pass
    site_paths = sys.path[1:]  # without this script's folder
    wake_read, wake_write = os.pipe()
    os.set_blocking(wake_read, False)
    os.set_blocking(wake_write, False)
    signal.set_wakeup_fd(wake_write)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    _send(sock, {"ready": True, "preloaded": preloaded,
                 "modules": sorted({name.split(".")[0] for name in sys.modules})})
    while True:
        try:
            ready, _, _ = select.select([sock.fileno(), wake_read], [], [])
        except InterruptedError:
            continue
        if wake_read in ready:
            try:
                os.read(wake_read, 4096)
            except BlockingIOError:
                pass
            _reap(sock)
        if sock.fileno() not in ready:
            continue
        data, fds, _, _ = socket.recv_fds(sock, _MESSAGE_BYTES, 1)
        if not data:
            return  # the harness closed its end: it is stopping
        request = json.loads(data)
        pid = os.fork()
        if pid == 0:
            _child(request, fds[0], [sock.fileno(), wake_read, wake_write], site_paths)
        os.close(fds[0])
        _send(sock, {"pid": pid})


if __name__ == "__main__":
    main()
