"""Starting and stopping the harness in the background (``harness up`` / ``harness down``, and the
stand-in for AWS that ``harness aws exec --simulate`` runs): the library behind both commands."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import psutil

from harness.envfile import error_file_for, read_env_file
from harness.errors import HarnessError, WaitTimeoutError
from harness.waiting import wait_until


@dataclass(frozen=True)
class Started:
    pid: int
    values: dict[str, str]   # the env file's variables
    log_path: Path


def start_background(target: str, env_file: Path, *, deploy: bool, timeout: float) -> Started:
    """Start ``python -m harness.daemon`` in its own session and wait until it wrote ``env_file``.

    Raises:
        HarnessError: the file exists already, the daemon exited (with its reason), or it was not
        ready after ``timeout`` seconds (then it is stopped).
    """
    if env_file.exists():
        raise HarnessError(f"{env_file} exists: is the harness already up? Run "
                           f"`harness down --env-file {env_file}` first, or remove the file.")
    state_dir = env_file.parent / "up"
    log_path = state_dir / "logs" / "harness-up.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "harness.daemon", "--env-file", str(env_file), "--target", target,
             "--state-dir", str(state_dir), *([] if deploy else ["--no-deploy"])],
            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
    deadline = time.monotonic() + timeout  # a first deploy synthesizes the CDK app (~15 s)
    while not env_file.exists():
        if proc.poll() is not None:
            error = error_file_for(env_file)
            reason = error.read_text().strip() if error.is_file() else f"exited with status {proc.returncode}"
            raise HarnessError(f"harness up failed: {reason}\n(full log: {log_path})")
        if time.monotonic() > deadline:
            proc.terminate()
            raise HarnessError(f"the harness was not ready after {timeout:g} s; see {log_path}")
        time.sleep(0.01)
    return Started(proc.pid, read_env_file(env_file), log_path)


def stop_background(env_file: Path, *, timeout: float) -> str:
    """Stop the harness ``env_file`` names (SIGTERM, then SIGKILL of its process group after
    ``timeout``) and remove the file; returns what happened, in one line.

    Raises:
        HarnessError: the file does not name a running harness.
    """
    try:
        pid = int(read_env_file(env_file)["HARNESS_PID"])
    except (HarnessError, KeyError, ValueError) as exc:
        raise HarnessError(f"{env_file} does not name a running harness: {exc}") from exc
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        env_file.unlink(missing_ok=True)
        return f"process {pid} was not running; removed {env_file}"
    try:
        wait_until(lambda: not _alive(pid), timeout=timeout, interval=0.01, description=f"process {pid} to exit")
    except WaitTimeoutError:
        os.killpg(pid, signal.SIGKILL)
    env_file.unlink(missing_ok=True)
    return f"stopped process {pid}"


def _alive(pid: int) -> bool:
    try:
        waited, _ = os.waitpid(pid, os.WNOHANG)
        if waited == pid:
            return False
    except ChildProcessError:
        pass
    try:
        # An exited process nobody has reaped yet is a zombie: gone for our purpose. (In a container
        # whose init reaps seldom it stayed "alive" to os.kill(pid, 0) for ~2 s after it exited.)
        return bool(psutil.Process(pid).status() != psutil.STATUS_ZOMBIE)
    except psutil.NoSuchProcess:
        return False
