"""An init that outlives Lambda's 10 s init limit is retried at the first invocation, within the
function's timeout (the lifecycle AWS documents), not failed outright."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.lambda_runtime.environment import ExecutionEnvironment, LaunchConfig
from harness.lambda_runtime.process import ProcessSpawner
from harness.lambda_runtime.spec import Credentials, FunctionSpec, InvocationRequest, build_environment

# The first init sleeps past the (shortened) init limit; the retried one finds the marker and is quick.
SLOW_FIRST_INIT = """
import os, time
MARKER = os.path.join(os.environ["STATE_DIR"], "inits")
with open(MARKER, "a") as f:
    f.write("init\\n")
if open(MARKER).read().count("init") == 1:
    time.sleep(float(os.environ["FIRST_INIT_S"]))
def handler(event, context):
    return {"inits": open(MARKER).read().count("init"), "remaining_ms": context.get_remaining_time_in_millis()}
"""


@pytest.fixture
def spawner() -> Iterator[ProcessSpawner]:
    spawner = ProcessSpawner(prestart=False)
    yield spawner
    spawner.close()


def _environment(spawner: ProcessSpawner, tmp_path: Path, *, timeout_s: float, first_init_s: float,
                 init_timeout_s: float) -> ExecutionEnvironment:
    code = tmp_path / "code"
    code.mkdir()
    (code / "app.py").write_text(SLOW_FIRST_INIT)
    spec = FunctionSpec(function_arn="arn:aws:lambda:us-east-1:123456789012:function:slow", name="slow",
                        handler="app.handler", runtime="python3.13", code_sha256="x",
                        role_arn="arn:aws:iam::123456789012:role/r", region="us-east-1",
                        account_id="123456789012", timeout_s=timeout_s)
    env = ExecutionEnvironment(spec, spawner)
    variables = build_environment(
        spec, runtime_api=env.runtime_api, endpoint_url="http://127.0.0.1:9", credentials=Credentials("a", "b", "c"),
        task_root=str(code), layer_paths=(), log_stream="s",
        base={"PATH": os.environ.get("PATH", ""), "STATE_DIR": str(tmp_path), "FIRST_INIT_S": str(first_init_s)})
    env.start(LaunchConfig(sys.executable, str(code), variables), init_timeout_s)
    return env


def test_an_init_past_the_limit_is_retried_within_the_first_invocation(spawner: ProcessSpawner, tmp_path: Path) -> None:
    env = _environment(spawner, tmp_path, timeout_s=20, first_init_s=30, init_timeout_s=1.5)
    try:
        assert env.alive and env.init_duration_ms is not None and env.init_duration_ms >= 1500
        result = env.invoke(InvocationRequest("r-1", b"{}"))
        assert result.ok and result.cold, result.logs
        body = json.loads(result.payload)
        assert body["inits"] == 2  # the timed-out init, then the retry on the invocation's clock
        assert body["remaining_ms"] < 20_000  # the retried init spent part of the function's timeout
        lines = result.logs.splitlines()
        assert lines[0].startswith("INIT_REPORT Init Duration: ") and lines[0].endswith("Phase: init\tStatus: timeout")
        report = next(line for line in lines if line.startswith("REPORT "))
        assert "Init Duration" not in report  # the retried init is inside Duration
        again = env.invoke(InvocationRequest("r-2", b"{}"))  # warm now: no third init
        assert again.ok and not again.cold and json.loads(again.payload)["inits"] == 2
    finally:
        env.stop()


def test_a_retried_init_past_the_function_timeout_is_a_timeout(spawner: ProcessSpawner, tmp_path: Path) -> None:
    env = _environment(spawner, tmp_path, timeout_s=1, first_init_s=30, init_timeout_s=1.0)
    (tmp_path / "inits").write_text("")  # the retry is a "first" init again: it sleeps past the timeout
    try:
        result = env.invoke(InvocationRequest("r-1", b"{}"))
    finally:
        env.stop()
    assert not result.ok and result.error_type == "Sandbox.Timedout", result.logs
    assert json.loads(result.payload)["errorMessage"].endswith("Task timed out after 1.00 seconds")
