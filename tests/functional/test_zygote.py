"""Pre-started interpreters: a forked environment is what ``python -m module`` would have been."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest

from harness.lambda_runtime.process import EnvironmentProcess, ProcessSpawner, exited, kill_process_tree
from harness.lambda_runtime.zygote import ForkedProcess, Zygote
from harness.waiting import wait_until

PROBE = """
import json, os, sys
print(json.dumps({"cwd": os.getcwd(), "path": sys.path[:3], "env": dict(os.environ), "argv": sys.argv[1:],
                  "boto3": getattr(sys.modules.get("boto3"), "__file__", None), "pid": os.getpid(),
                  "session": os.getsid(0)}))
sys.exit(int(os.environ.get("EXIT_WITH", "0")))
"""


@pytest.fixture
def spawner() -> Iterator[ProcessSpawner]:
    spawner = ProcessSpawner(prestart=True, zygote_env={"PATH": os.environ.get("PATH", "")})
    zygote = spawner.prepare(sys.executable)
    wait_until(lambda: zygote.ready, timeout=30, description="the zygote to import boto3")
    yield spawner
    spawner.close()


def _run(spawner: ProcessSpawner, code: Path, *, layer: Path, exit_with: int = 0) -> tuple[EnvironmentProcess, dict[str, Any]]:
    env = {"PYTHONPATH": f"{code}:{layer}", "EXIT_WITH": str(exit_with), "TZ": ":UTC", "ONLY_THIS": "1"}
    proc = spawner.spawn([sys.executable, "-m", "probe", "app.handler"], env=env, cwd=str(code))
    assert proc.stdout is not None
    output = proc.stdout.read()
    assert proc.wait(timeout=10) == exit_with
    return proc, json.loads(output.decode().strip().splitlines()[-1])


def test_a_forked_environment_is_what_python_dash_m_would_have_been(spawner: ProcessSpawner, tmp_path: Path) -> None:
    code, layer = tmp_path / "task", tmp_path / "opt"
    code.mkdir()
    layer.mkdir()
    (code / "probe.py").write_text(PROBE)
    proc, seen = _run(spawner, code, layer=layer, exit_with=3)
    assert isinstance(proc, ForkedProcess)
    assert seen["boto3"] is not None  # imported before the fork: what the child did not pay for
    assert seen["cwd"] == str(code) and seen["path"][:3] == [str(code), str(code), str(layer)]
    assert seen["env"] == {"PYTHONPATH": f"{code}:{layer}", "EXIT_WITH": "3", "TZ": ":UTC", "ONLY_THIS": "1"}
    assert seen["argv"] == ["app.handler"] and seen["session"] == seen["pid"]  # its own session, killable as a group


def test_code_that_bundles_a_module_the_zygote_imported_gets_a_fresh_interpreter(
        spawner: ProcessSpawner, tmp_path: Path) -> None:
    code, layer = tmp_path / "task", tmp_path / "opt"
    (code / "boto3").mkdir(parents=True)
    layer.mkdir()
    (code / "probe.py").write_text(PROBE)
    (code / "boto3" / "__init__.py").write_text("BUNDLED = True\n")
    proc, seen = _run(spawner, code, layer=layer)
    assert isinstance(proc, subprocess.Popen)
    assert seen["boto3"] is None  # the probe never imported it: the bundled one would be found first
    assert seen["env"]["ONLY_THIS"] == "1"


def test_killed_environments_are_reaped_and_nothing_outlives_the_spawner(tmp_path: Path) -> None:
    spawner = ProcessSpawner(prestart=True, zygote_env={"PATH": os.environ.get("PATH", "")})
    zygote = spawner.prepare(sys.executable)
    wait_until(lambda: zygote.ready, timeout=30, description="the zygote to import boto3")
    (tmp_path / "sleeper.py").write_text("import time\nprint('up', flush=True)\ntime.sleep(60)\n")
    proc = spawner.spawn([sys.executable, "-m", "sleeper"], env={}, cwd=str(tmp_path))
    assert isinstance(proc, ForkedProcess) and proc.stdout is not None
    assert proc.stdout.readline() == b"up\n"
    kill_process_tree(proc)
    assert proc.returncode == -9 and exited(proc.pid)
    other = spawner.spawn([sys.executable, "-m", "sleeper"], env={}, cwd=str(tmp_path))
    assert other.stdout is not None and other.stdout.readline() == b"up\n"
    zygote_pid = psutil.Process(other.pid).ppid()
    spawner.close()
    wait_until(lambda: exited(other.pid) and exited(zygote_pid), timeout=10,
               description="the zygote and its child to exit")



def test_a_reused_pid_is_not_taken_for_an_exited_child() -> None:
    """pid_max is 32768 on this machine: an exit recorded for an earlier child of the same pid must
    not make a new child look exited (environments then ended invocations that still ran)."""
    zygote = Zygote(sys.executable, subprocess.Popen)  # never started: its socket is fed by hand
    reader, writer = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    zygote._sock = reader
    thread = threading.Thread(target=zygote._read, daemon=True)
    thread.start()
    writer.send(json.dumps({"exited": 4242, "code": 0}).encode())
    wait_until(lambda: zygote.exit_code(4242) == 0, timeout=5)
    writer.send(json.dumps({"pid": 4242}).encode())  # the same pid, a new child
    wait_until(lambda: zygote._pids == [4242], timeout=5)
    assert zygote.exit_code(4242) is None
    writer.close()
    thread.join(timeout=5)


def test_a_runtime_stopped_while_its_interpreter_is_prepared_leaves_no_process(tmp_path: Path) -> None:
    """``prepare(wait=False)`` starts the interpreter from a thread; a stop right after it waits
    for that thread, and a spawner closed first refuses to start one."""
    from harness.errors import RuntimeSetupError
    from harness.lambda_runtime.code import CodeStore, InterpreterResolver
    from harness.lambda_runtime.pool import ProcessRuntime

    before = {p.pid for p in psutil.Process().children(recursive=True)}
    runtime = ProcessRuntime(code_store=CodeStore(tmp_path / "code"), interpreters=InterpreterResolver({}, os.environ),
                             endpoint_url="http://127.0.0.1:9", credentials=lambda spec: None,  # type: ignore[arg-type,return-value]
                             base_env={"PATH": os.environ.get("PATH", "")}, prestart=True).start()
    runtime.prepare(f"python{sys.version_info.major}.{sys.version_info.minor}", wait=False)
    runtime.stop()
    left = [p for p in psutil.Process().children(recursive=True) if p.pid not in before and not exited(p)]
    assert left == []

    closed = ProcessSpawner(prestart=True)
    closed.close()
    with pytest.raises(RuntimeSetupError, match="stopping"):
        closed.prepare(sys.executable)
