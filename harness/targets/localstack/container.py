"""Container mode: the LocalStack image, where a Docker engine answers.

``container_config`` is pure (unit-tested: pinned tag, 127.0.0.1 binding, auth token passthrough);
``LocalStackContainer`` runs it with the docker CLI and stops and removes it at the end.
"""

from __future__ import annotations

import shutil
import subprocess
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field

from harness.errors import TargetNotReadyError
from harness.targets.localstack.server import localstack_healthy

IMAGE = "localstack/localstack:2026.3.0"  # pinned; the same release host mode installs
MODES = ("auto", "host", "container")


@dataclass(frozen=True)
class ContainerConfig:
    image: str
    name: str
    host_port: int
    env: Mapping[str, str] = field(default_factory=dict)
    volumes: tuple[str, ...] = ()

    def run_args(self) -> list[str]:
        """``docker run`` arguments (pure)."""
        args = ["run", "--detach", "--rm", "--name", self.name, "--publish", f"127.0.0.1:{self.host_port}:4566"]
        for key, value in sorted(self.env.items()):
            args += ["--env", f"{key}={value}"]
        for volume in self.volumes:
            args += ["--volume", volume]
        return [*args, self.image]


def container_config(host_port: int, environ: Mapping[str, str], *, poll_interval_s: float = 0.05,
                     max_empty_backoff_s: float = 0.2, retry_base_delay_s: int = 1,
                     image: str | None = None) -> ContainerConfig:
    """The container for one target instance; ``LOCALSTACK_AUTH_TOKEN`` passes through when set."""
    env = {
        "LOCALSTACK_HOST": f"localhost:{host_port}",
        "DISABLE_EVENTS": "1",
        "SQS_ENDPOINT_STRATEGY": "path",
        "PROVIDER_OVERRIDE_DYNAMODBSTREAMS": "v2",
        "LAMBDA_EVENT_SOURCE_MAPPING_POLL_INTERVAL_SEC": f"{poll_interval_s:g}",
        "LAMBDA_EVENT_SOURCE_MAPPING_MAX_BACKOFF_ON_EMPTY_POLL_SEC": f"{max_empty_backoff_s:g}",
        "LAMBDA_RETRY_BASE_DELAY": str(retry_base_delay_s),
    }
    if environ.get("LOCALSTACK_AUTH_TOKEN"):
        env["LOCALSTACK_AUTH_TOKEN"] = environ["LOCALSTACK_AUTH_TOKEN"]
    return ContainerConfig(
        image=image or environ.get("HARNESS_LOCALSTACK_IMAGE") or IMAGE,
        name=f"harness-localstack-{uuid.uuid4().hex[:8]}", host_port=host_port, env=env,
        # Lambda runs in sibling containers: LocalStack needs the engine's socket.
        volumes=("/var/run/docker.sock:/var/run/docker.sock",),
    )


def docker_engine_available(environ: Mapping[str, str]) -> bool:
    """True when a docker CLI exists and its engine answers (a client alone is not enough)."""
    docker = shutil.which("docker", path=environ.get("PATH"))
    if docker is None:
        return False
    try:
        done = subprocess.run([docker, "version", "--format", "{{json .Server}}"], capture_output=True,
                              text=True, timeout=10, env=dict(environ), check=False)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0 and done.stdout.strip() not in ("", "null")


def choose_mode(requested: str, engine_available: bool) -> str:
    """``auto`` means container when an engine answers, else host (pure)."""
    if requested == "auto":
        return "container" if engine_available else "host"
    return requested


class LocalStackContainer:
    """Runs ``config`` with the docker CLI; ``stop`` removes the container."""

    def __init__(self, config: ContainerConfig, environ: Mapping[str, str]) -> None:
        self.config = config
        self._environ = dict(environ)
        self._started = False
        self.started_in_s = 0.0

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.config.host_port}"

    def start(self, timeout: float = 120.0) -> None:
        started = time.perf_counter()
        done = subprocess.run(["docker", *self.config.run_args()], capture_output=True, text=True,
                              env=self._environ, check=False)
        if done.returncode != 0:
            raise TargetNotReadyError(f"docker run {self.config.image} failed: {done.stderr.strip()}; pull the "
                                      "image or set HARNESS_LOCALSTACK_MODE=host")
        self._started = True
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.healthy():
                self.started_in_s = time.perf_counter() - started
                return
            time.sleep(0.2)
        logs = subprocess.run(["docker", "logs", "--tail", "30", self.config.name], capture_output=True,
                              text=True, env=self._environ, check=False).stdout
        self.stop()
        raise TargetNotReadyError(f"the LocalStack container did not become healthy in {timeout:g} s; "
                                  f"its last lines:\n{logs}")

    def healthy(self) -> bool:
        return localstack_healthy(self.endpoint)

    def stop(self) -> None:
        if self._started:
            subprocess.run(["docker", "stop", "--time", "10", self.config.name], capture_output=True,
                           env=self._environ, check=False)
            self._started = False
