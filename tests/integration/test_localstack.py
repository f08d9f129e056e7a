"""LocalStack host mode: the internal names we rely on, and a start/stop that leaves nothing behind."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import psutil
import pytest

from harness.invocations import TargetHooks
from harness.packaging import deploy_function
from harness.settings import HarnessSettings
from harness.targets.localstack.install import LocalStackInstaller
from harness.targets.localstack.server import HostConfig, free_port, host_environment
from harness.targets.localstack.target import LocalStackTarget

pytestmark = pytest.mark.targets("localstack")


def test_internal_names_the_harness_relies_on_still_exist(harness_settings: HarnessSettings, tmp_path: Path) -> None:
    install = LocalStackInstaller(harness_settings.cache_dir, os.environ).ensure()
    config = HostConfig(tmp_path, free_port(), free_port(), tmp_path / "inv.jsonl", tmp_path / "xdg",
                        tmp_path / "code")
    env = host_environment(config, install, os.environ)
    done = subprocess.run([str(install.python), "-m", "harness.targets.localstack.internals"], env=env,
                          cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False)
    problems = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    assert done.returncode == 0 and not problems, (
        "LocalStack changed internal names the harness relies on:\n" + "\n".join(
            f"  - {p['name']}: {p['problem']}" for p in problems) + f"\n{done.stderr[-2000:]}")


def test_host_mode_binds_loopback_and_stop_leaves_no_process(harness_settings: HarnessSettings,
                                                              tmp_path: Path) -> None:
    settings = HarnessSettings.resolve({"target": "localstack", "localstack_mode": "host",
                                        "state_dir": str(tmp_path), "cache_dir": str(harness_settings.cache_dir)})
    target = LocalStackTarget(settings, os.environ)
    target.start(TargetHooks(on_async_invoke=lambda invocation: None))
    try:
        server = psutil.Process(target._server.pid)  # type: ignore[union-attr]
        scope = target.open_account()

        class Account:  # the least of a CloudAccount that deploy_function needs
            def client(self, service: str) -> object:
                return scope.client(service)

        scope.client("dynamodb").list_tables()  # starts DynamoDB Local's JVM
        deploy_function(Account(), "echo", {"app.py": "def handler(e, c):\n    return e\n"})  # type: ignore[arg-type]
        assert json.loads(scope.client("lambda").invoke(FunctionName="echo", Payload=b'{"a": 1}')["Payload"]
                          .read()) == {"a": 1}
        family = [server, *server.children(recursive=True)]
        assert any("java" in p.name() for p in family), "DynamoDB Local did not start under LocalStack"
        runtimes = [p for p in psutil.process_iter(["cmdline"]) if "awslambdaric" in " ".join(p.info["cmdline"] or [])
                    and p.ppid() == server.pid]
        assert runtimes, "no awslambdaric process ran the function"
        listening = [c.laddr.ip for p in family for c in p.net_connections(kind="inet") if c.status == "LISTEN"]
        assert listening and all(ip in ("127.0.0.1", "::ffff:127.0.0.1", "::1") for ip in listening), listening
    finally:
        target.stop()
    leftovers = [p for p in [*family, *runtimes] if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
    assert not leftovers, f"processes left running: {[(p.pid, p.name()) for p in leftovers]}"
