"""Container mode and engine detection with the Docker SDK and testcontainers against a stub of the
Docker Engine API on 127.0.0.1 (tests/docker_stub.py): no engine needed."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

from harness.targets.localstack.container import (
    IMAGE,
    OWNER_LABEL,
    LocalStackContainer,
    container_config,
    docker_engine,
    sweep,
)
from harness.targets.localstack.reaper import reap
from harness.targets.localstack.server import free_port
from tests.docker_stub import DockerStub

pytest.importorskip("testcontainers", reason="the `localstack` extra brings testcontainers")


@pytest.fixture
def stub(monkeypatch: pytest.MonkeyPatch) -> Iterator[DockerStub]:
    with DockerStub() as docker_stub:
        monkeypatch.setenv("DOCKER_HOST", docker_stub.url)  # what a user with a remote engine sets
        yield docker_stub


def test_an_engine_that_answers_is_found_where_docker_host_points(stub: DockerStub) -> None:
    engine = docker_engine(os.environ)
    assert engine.available and engine.detail == f"Docker 27.0.0-stub at {stub.url}"


def test_no_engine_says_where_it_looked() -> None:
    closed = f"tcp://127.0.0.1:{free_port()}"
    engine = docker_engine({"DOCKER_HOST": closed}, timeout_s=1)
    assert not engine.available and engine.detail.startswith(f"no Docker engine answers at {closed} (")


def test_container_mode_runs_the_pinned_image_on_loopback_and_removes_it(stub: DockerStub) -> None:
    port = free_port()
    environ = {**os.environ, "LOCALSTACK_AUTH_TOKEN": "ls-token"}
    container = LocalStackContainer(container_config(port, environ), environ)
    container.start(timeout=20)
    try:
        (created,) = stub.created
        assert created["Image"] == IMAGE
        assert created["HostConfig"]["PortBindings"] == {"4566/tcp": [{"HostIp": "127.0.0.1", "HostPort": str(port)}]}
        assert "LOCALSTACK_AUTH_TOKEN=ls-token" in created["Env"]
        assert "/var/run/docker.sock:/var/run/docker.sock:rw" in created["HostConfig"]["Binds"]
        assert created["Labels"][OWNER_LABEL] == str(os.getpid())
        assert container.healthy() and container.endpoint == f"http://127.0.0.1:{port}"
        assert not any("ryuk" in str(c.get("Image")) for c in stub.created), "Ryuk would listen on every interface"
    finally:
        container.stop()
    assert len(stub.removed) == 1 and not stub.containers and not container.healthy()
    container.stop()  # twice is fine


def _container(stub: DockerStub, owner: int) -> str:
    import docker

    client = docker.from_env(environment=dict(os.environ))
    try:
        created = client.containers.create("busybox", labels={OWNER_LABEL: str(owner)})
        created.start()
        return str(created.id)
    finally:
        client.close()


def test_a_container_whose_harness_died_is_removed(stub: DockerStub) -> None:
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    orphan, mine = _container(stub, gone.pid), _container(stub, os.getpid())
    assert reap(orphan, gone.pid, dict(os.environ), interval_s=0.01)  # the reaper: its owner is gone
    assert orphan in stub.removed and mine in stub.containers
    stale = _container(stub, gone.pid)
    assert len(sweep(os.environ)) == 1 and stale in stub.removed and mine in stub.containers  # the next start


def test_the_reaper_process_waits_for_its_owner(stub: DockerStub) -> None:
    owner = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    container = _container(stub, owner.pid)
    reaper = subprocess.Popen([sys.executable, "-m", "harness.targets.localstack.reaper", container, str(owner.pid)],
                              env={**os.environ})
    try:
        time.sleep(1.0)
        assert container in stub.containers and reaper.poll() is None  # the owner lives: nothing happens
        owner.kill()
        owner.wait()
        assert reaper.wait(timeout=10) == 0
        assert container in stub.removed
    finally:
        owner.kill()
        reaper.kill()


def test_a_localstack_given_by_url_is_waited_for_and_its_hooks_found() -> None:
    from http.server import ThreadingHTTPServer
    from threading import Thread

    from harness.errors import TargetNotReadyError
    from harness.targets.localstack.external import ExternalLocalStack
    from tests.docker_stub import _Health

    with pytest.raises(TargetNotReadyError, match=r"no LocalStack answers .*unset HARNESS_LOCALSTACK_URL"):
        ExternalLocalStack(f"http://127.0.0.1:{free_port()}").start(timeout=0.5)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Health)  # the plain image: health, no harness hooks
    Thread(target=server.serve_forever, daemon=True).start()
    try:
        external = ExternalLocalStack(f"http://127.0.0.1:{server.server_address[1]}/")
        external.start(timeout=5)
        assert external.healthy() and external.endpoint == f"http://127.0.0.1:{server.server_address[1]}"
        assert not external.serves("/_harness/faults?account=000000000000")
        external.stop()
        assert external.healthy()  # not the harness's to stop
    finally:
        server.shutdown()
        server.server_close()
