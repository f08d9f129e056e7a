"""Container mode: the pinned LocalStack image, run with testcontainers where a Docker engine answers.

``container_config`` is pure (unit-tested: pinned tag, 127.0.0.1 binding, auth token passthrough, the
engine's socket for LocalStack's own Lambda containers, the owner label). ``docker_engine`` asks the
engine with the Docker SDK (``docker.from_env().ping()``, honouring ``DOCKER_HOST``) and says why
not when none answers. ``LocalStackContainer`` runs the config with testcontainers' LocalStack module,
waits for ``/_localstack/health``, and removes the container on stop. Instead of testcontainers'
Ryuk (a container whose own port would listen on every interface) a reaper process of the harness's
removes the container when the harness dies without stopping it (``reaper.py``), and each start
removes containers left by harness processes that no longer exist.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, cast

import psutil

from harness.errors import TargetNotReadyError, WaitTimeoutError
from harness.targets.localstack.server import localstack_healthy
from harness.waiting import wait_until

LOG = logging.getLogger(__name__)
IMAGE = "localstack/localstack:2026.3.0"  # pinned; the same release host mode installs
MODES = ("auto", "host", "container")
OWNER_LABEL = "dev.serverless-harness.owner-pid"


@dataclass(frozen=True)
class ContainerConfig:
    image: str
    name: str
    host_port: int
    env: Mapping[str, str] = field(default_factory=dict)
    volumes: tuple[tuple[str, str, str], ...] = ()  # (host path, container path, mode)
    labels: Mapping[str, str] = field(default_factory=dict)

    @property
    def ports(self) -> dict[str, tuple[str, int]]:
        """LocalStack's edge port, published on the loopback interface only."""
        return {"4566/tcp": ("127.0.0.1", self.host_port)}


def docker_socket(environ: Mapping[str, str]) -> str:
    """The engine's socket on this host (``DOCKER_HOST=unix://...`` or the default)."""
    host = environ.get("DOCKER_HOST", "")
    return host.removeprefix("unix://") if host.startswith("unix://") else "/var/run/docker.sock"


def container_config(host_port: int, environ: Mapping[str, str], *, poll_interval_s: float = 0.05,
                     max_empty_backoff_s: float = 0.2, retry_base_delay_s: int = 1,
                     image: str | None = None, owner_pid: int | None = None) -> ContainerConfig:
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
        # Lambda runs in sibling containers through LocalStack's Docker executor: it needs the socket.
        volumes=((docker_socket(environ), "/var/run/docker.sock", "rw"),),
        labels={OWNER_LABEL: str(owner_pid if owner_pid is not None else os.getpid())},
    )


@dataclass(frozen=True)
class Engine:
    available: bool
    detail: str  # the engine's version and where, or why none answers


def docker_engine(environ: Mapping[str, str], timeout_s: float = 5.0) -> Engine:
    """Whether a Docker engine answers (the Docker SDK's ping at ``DOCKER_HOST`` or the default socket)."""
    where = environ.get("DOCKER_HOST") or f"unix://{docker_socket(environ)}"
    try:
        import docker
    except ImportError:
        return Engine(False, "the Docker SDK is not installed (the `localstack` extra brings it)")
    try:
        client = docker.from_env(environment=dict(environ), timeout=int(timeout_s))
        try:
            client.ping()
            version = client.version().get("Version", "?")
        finally:
            client.close()
    except Exception as exc:  # the SDK's connection and API errors alike: no engine to use
        reason = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
        return Engine(False, f"no Docker engine answers at {where} ({reason})")
    return Engine(True, f"Docker {version} at {where}")


def docker_engine_available(environ: Mapping[str, str]) -> bool:
    return docker_engine(environ).available


def choose_mode(requested: str, engine_available: bool) -> str:
    """``auto`` means container when an engine answers, else host (pure)."""
    if requested == "auto":
        return "container" if engine_available else "host"
    return requested


def sweep(environ: Mapping[str, str]) -> list[str]:
    """Remove containers whose harness process is gone (a run killed before it stopped them);
    the names removed."""
    import docker

    client = docker.from_env(environment=dict(environ))
    removed = []
    try:
        for container in client.containers.list(all=True, filters={"label": OWNER_LABEL}):
            pid = int(container.labels.get(OWNER_LABEL) or 0)
            if pid and not psutil.pid_exists(pid):
                container.remove(force=True, v=True)
                removed.append(container.name)
    finally:
        client.close()
    return removed


class LocalStackContainer:
    """Runs ``config`` with testcontainers; ``stop`` removes the container."""

    def __init__(self, config: ContainerConfig, environ: Mapping[str, str]) -> None:
        self.config = config
        self._environ = dict(environ)
        self._container: Any = None
        self._reaper: subprocess.Popen[bytes] | None = None
        self.started_in_s = 0.0

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.config.host_port}"

    def start(self, timeout: float = 120.0) -> None:
        """Raises:
            TargetNotReadyError: the image would not run or LocalStack did not become healthy.
        """
        from testcontainers.community.localstack import LocalStackContainer as Testcontainer
        from testcontainers.core.config import testcontainers_config

        started = time.perf_counter()
        if "TESTCONTAINERS_RYUK_DISABLED" not in self._environ:
            testcontainers_config.ryuk_disabled = True  # the harness's reaper instead (see the module's doc)
        for name in sweep(self._environ):
            LOG.warning("removed container %s: the harness process that started it is gone", name)
        container = Testcontainer(image=self.config.image, docker_client_kw={"environment": self._environ})
        container.with_name(self.config.name).with_kwargs(labels=dict(self.config.labels))
        for key, value in sorted(self.config.env.items()):
            container.with_env(key, value)
        for host, inside, mode in self.config.volumes:
            container.with_volume_mapping(host, inside, mode)
        # published on 127.0.0.1 only: testcontainers' ports name no interface (all of them); the Docker
        # SDK takes (interface, port)
        container.ports = cast(dict[str, int | None], dict(self.config.ports))
        try:
            container.start(timeout=timeout)
        except Exception as exc:
            self._container = container
            self.stop()
            raise TargetNotReadyError(f"the LocalStack container ({self.config.image}) did not start: {exc}; "
                                      "pull the image or set HARNESS_LOCALSTACK_MODE=host") from exc
        self._container = container
        self._reaper = _start_reaper(container.get_container_id(), self._environ)
        try:
            wait_until(self.healthy, timeout=timeout, interval=0.2, description="LocalStack's health")
        except WaitTimeoutError:
            self.stop()
            raise TargetNotReadyError(f"the LocalStack container did not answer {self.endpoint}/_localstack/health "
                                      f"in {timeout:g} s") from None
        self.started_in_s = time.perf_counter() - started

    def healthy(self) -> bool:
        return localstack_healthy(self.endpoint)

    def stop(self) -> None:
        """Remove the container (and its volumes) and end the reaper; safe to call twice."""
        container, self._container = self._container, None
        if container is not None:
            try:
                container.stop(force=True, delete_volume=True)
            except Exception as exc:  # already gone (the engine restarted): nothing left to remove
                LOG.warning("removing the LocalStack container failed: %s", exc)
        reaper, self._reaper = self._reaper, None
        if reaper is not None:
            reaper.terminate()
            reaper.wait(timeout=10)


def _start_reaper(container_id: str, environ: Mapping[str, str]) -> subprocess.Popen[bytes]:
    """A process that removes the container once this one is gone (``reaper.py``)."""
    return subprocess.Popen([sys.executable, "-m", "harness.targets.localstack.reaper", container_id, str(os.getpid())],
                            env={**environ}, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
