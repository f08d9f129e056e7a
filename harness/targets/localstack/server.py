"""Starting and stopping a host-mode LocalStack process on 127.0.0.1 (no Docker).

The settings are those of ``shared/notes/localstack.md``; each one is explained where it is set.
``host_environment`` is pure (unit-tested); ``LocalStackProcess`` does the I/O.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
import urllib.request
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import psutil

from harness.errors import TargetNotReadyError
from harness.lambda_runtime.process import die_with_parent, exited
from harness.lambda_runtime.spec import HOST_VARIABLES
from harness.targets.localstack.install import EXECUTOR_NAME, LocalStackInstall

_HOST_VARIABLES = (*HOST_VARIABLES, "HARNESS_INTERPRETERS")  # and the executor's interpreter map
# What LocalStack builds on a first start and can reuse: the service catalog (~4 s) and the
# self-signed certificate; kept across state folders.
WARM_CACHE_GLOBS = ("service-catalog-*", "server.test.pem*")


@dataclass(frozen=True)
class HostConfig:
    """What a host-mode LocalStack instance is started with."""

    root: Path  # FILESYSTEM_ROOT: this instance's state
    port: int
    dynamodb_port: int
    invocation_log: Path
    xdg_cache: Path
    code_store: Path
    poll_interval_s: float = 0.05
    max_empty_backoff_s: float = 0.2
    max_error_backoff_s: float = 1.0
    keepalive_ms: int = 300_000
    retry_base_delay_s: int = 1
    init_timeout_s: float = 10.0
    runtime_cache: Path | None = None  # where runtimes lacking the runtime client get their venvs
    strict_runtimes: bool = False

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def host_environment(config: HostConfig, install: LocalStackInstall, environ: Mapping[str, str]) -> dict[str, str]:
    """The environment of the LocalStack process (pure)."""
    env = {k: environ[k] for k in _HOST_VARIABLES if k in environ}
    env.update({
        # These machines have /.dockerenv: without this LocalStack believes it runs in its own
        # container, ignores FILESYSTEM_ROOT and rm -rf's /tmp/localstack at shutdown.
        "OVERRIDE_IN_DOCKER": "0",
        "FILESYSTEM_ROOT": str(config.root),
        "TMPDIR": str(config.root / "tmp"),
        "XDG_CACHE_HOME": str(config.xdg_cache),  # plux's entry-point index, shared
        "GATEWAY_LISTEN": f"127.0.0.1:{config.port}",
        # localhost.localstack.cloud does not resolve offline.
        "LOCALSTACK_HOST": f"localhost:{config.port}",
        "DNS_ADDRESS": "0",
        # Queue URLs as http://localhost:<port>/queue/...: sqs.<region>.localhost may not resolve.
        "SQS_ENDPOINT_STRATEGY": "path",
        # Offline, the analytics shutdown hook fails on DNS and aborts the other hooks.
        "DISABLE_EVENTS": "1",
        "SKIP_SSL_CERT_DOWNLOAD": "1",
        "DYNAMODB_LOCAL_PORT": str(config.dynamodb_port),
        "DYNAMODB_IN_MEMORY": "1",
        "JAVA_TOOL_OPTIONS": "-XX:TieredStopAtLevel=1 -Xshare:auto",
        "JAVA_HOME": str(install.java_home),
        # The default streams provider (kinesis-mock) loses records written right after CreateTable.
        "PROVIDER_OVERRIDE_DYNAMODBSTREAMS": "v2",
        "LAMBDA_RUNTIME_EXECUTOR": EXECUTOR_NAME,
        "LAMBDA_EVENT_SOURCE_MAPPING_POLL_INTERVAL_SEC": f"{config.poll_interval_s:g}",
        "LAMBDA_EVENT_SOURCE_MAPPING_MAX_BACKOFF_ON_EMPTY_POLL_SEC": f"{config.max_empty_backoff_s:g}",
        # After a failed batch LocalStack backs off up to 60 s; locally a retry should come soon.
        "LAMBDA_EVENT_SOURCE_MAPPING_MAX_BACKOFF_ON_ERROR_SEC": f"{config.max_error_backoff_s:g}",
        "LAMBDA_KEEPALIVE_MS": str(config.keepalive_ms),
        "LAMBDA_RETRY_BASE_DELAY": str(config.retry_base_delay_s),
        "HARNESS_INVOCATION_LOG": str(config.invocation_log),
        "HARNESS_INIT_TIMEOUT_S": f"{config.init_timeout_s:g}",
        "HARNESS_CODE_STORE": str(config.code_store),
        "HARNESS_RUNTIME_CACHE": str(config.runtime_cache or ""),
        "HARNESS_STRICT_RUNTIMES": "1" if config.strict_runtimes else "",
        "PYTHONDONTWRITEBYTECODE": "1",
    })
    if install.loopback_shim is not None:
        env["LD_PRELOAD"] = str(install.loopback_shim)
    return env


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def prepare_root(root: Path, install: LocalStackInstall, shared_cache: Path) -> None:
    """A fresh state folder whose ``lib`` is the shared install and whose catalog cache is warm.

    The previous instance's folder (unzipped code of every function it ran) is moved aside and
    deleted in the background: removing it first cost half a second of every start.
    """
    old = [p for p in root.parent.glob(f".{root.name}-old-*") if p.is_dir()]  # an interrupted run's
    if root.exists():
        old.append(root.with_name(f".{root.name}-old-{uuid.uuid4().hex[:8]}"))
        os.replace(root, old[-1])
    for path in old:
        threading.Thread(target=shutil.rmtree, args=(path,), kwargs={"ignore_errors": True},
                         name="localstack-old-state", daemon=True).start()
    var = root / "var" / "lib" / "localstack"
    var.mkdir(parents=True)
    (root / "tmp").mkdir()
    (var / "lib").symlink_to(install.lib_dir, target_is_directory=True)
    cache = var / "cache"
    cache.mkdir()
    for pattern in WARM_CACHE_GLOBS:
        for item in shared_cache.glob(pattern):
            shutil.copy2(item, cache / item.name)


def keep_catalog(root: Path, shared_cache: Path) -> None:
    """Save the service catalog a first start built, so the next instance starts warm."""
    shared_cache.mkdir(parents=True, exist_ok=True)
    cache = root / "var" / "lib" / "localstack" / "cache"
    for item in (path for pattern in WARM_CACHE_GLOBS for path in cache.glob(pattern)):
        if not (shared_cache / item.name).exists():
            staging = shared_cache / f".{item.name}.{os.getpid()}"
            shutil.copy2(item, staging)
            os.replace(staging, shared_cache / item.name)


def localstack_healthy(endpoint: str) -> bool:
    """True when LocalStack at ``endpoint`` answers its health route with its services."""
    try:
        with urllib.request.urlopen(f"{endpoint}/_localstack/health", timeout=2) as resp:
            return bool(resp.status == 200 and json.load(resp).get("services"))
    except (OSError, ValueError):
        return False


class LocalStackProcess:
    """One LocalStack process; ``start`` waits for health, ``stop`` leaves nothing running."""

    def __init__(self, config: HostConfig, install: LocalStackInstall, environ: Mapping[str, str]) -> None:
        self.config = config
        self.install = install
        self._env = host_environment(config, install, environ)
        self._proc: subprocess.Popen[bytes] | None = None
        self.log_path = config.root.parent / "localstack.log"
        self.started_in_s = 0.0

    def start(self, timeout: float = 60.0) -> None:
        """Start and wait until /_localstack/health answers.

        Raises:
            TargetNotReadyError: the process exited or did not answer in time (its log is named).
        """
        started = time.perf_counter()
        self.config.invocation_log.parent.mkdir(parents=True, exist_ok=True)
        self.config.invocation_log.write_text("")
        with self.log_path.open("wb") as log:
            self._proc = subprocess.Popen(
                [str(self.install.python), "-m", "localstack.runtime.main"], env=self._env,
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=str(self.config.root),
                start_new_session=True, preexec_fn=die_with_parent,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise TargetNotReadyError(
                    f"LocalStack exited with {self._proc.returncode} while starting; see {self.log_path}")
            if self.healthy():
                self.started_in_s = time.perf_counter() - started
                return
            time.sleep(0.01)
        self.stop()
        raise TargetNotReadyError(f"LocalStack did not answer {self.config.endpoint}/_localstack/health "
                                  f"within {timeout:g} s; see {self.log_path}")

    def healthy(self) -> bool:
        return localstack_healthy(self.config.endpoint)

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def stop(self, grace_s: float = 1.0) -> None:
        """SIGTERM (LocalStack runs its shutdown hooks), then SIGKILL the whole process group and
        every process it started (DynamoDB Local's JVM runs in a group of its own).

        The grace is short: nothing of a run is kept (no persistence; the harness's state and logs
        are written as they happen), and LocalStack's hooks took ~5 s of every `harness down`
        to stop servers that the SIGKILLs end anyway."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        family = _descendants(proc.pid)
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=grace_s)
            except subprocess.TimeoutExpired:
                pass
        if proc.poll() is None:
            # Frozen, it starts nothing more (its warm-up may have been starting DynamoDB Local's JVM
            # during the grace: a process started then, in a session of its own, was left behind).
            try:
                os.kill(proc.pid, signal.SIGSTOP)
            except ProcessLookupError:
                pass
            family += [child for child in _descendants(proc.pid) if child not in family]
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        for child in family:
            try:
                child.kill()
            except psutil.Error:
                pass
        proc.wait(timeout=5)
        deadline = time.monotonic() + 5
        while not all(exited(child) for child in family) and time.monotonic() < deadline:
            time.sleep(0.01)


def _descendants(pid: int) -> list[psutil.Process]:
    try:
        return list(psutil.Process(pid).children(recursive=True))
    except psutil.Error:
        return []
