from __future__ import annotations

import json
from datetime import UTC, datetime

from harness.lambda_runtime.spec import (
    Credentials,
    FunctionSpec,
    InvocationResult,
    build_environment,
    error_payload,
    format_report,
    layer_python_paths,
    log_stream_name,
)

SPEC = FunctionSpec(
    function_arn="arn:aws:lambda:eu-west-1:111122223333:function:fn", name="fn", handler="app.handler",
    runtime="python3.13", code_sha256="abc", role_arn="arn:aws:iam::111122223333:role/r",
    region="eu-west-1", account_id="111122223333", memory_mb=256, timeout_s=9,
    environment={"AWS_REGION": "spoofed", "TABLE": "jobs"},
)


def test_reserved_variables_win_over_the_functions_own() -> None:
    env = build_environment(
        SPEC, runtime_api="127.0.0.1:9001", endpoint_url="http://127.0.0.1:5000",
        credentials=Credentials("AK", "SK", "TOKEN"), task_root="/code", layer_paths=("/opt/python",),
        log_stream="2026/01/01/[$LATEST]x", base={"PATH": "/bin"},
    )
    assert "HOME" not in env and "AWS_LAMBDA_FUNCTION_TIMEOUT" not in env  # AWS sets neither
    assert env["LAMBDA_RUNTIME_DIR"] == "/var/runtime" and env["LANG"] == "en_US.UTF-8"
    assert env["AWS_ACCESS_KEY"] == env["AWS_ACCESS_KEY_ID"] == "AK"
    assert env["AWS_REGION"] == "eu-west-1"
    assert env["TABLE"] == "jobs"
    assert env["PATH"] == "/bin"
    assert env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "256"
    assert env["AWS_LAMBDA_LOG_GROUP_NAME"] == "/aws/lambda/fn"
    assert env["AWS_LAMBDA_RUNTIME_API"] == "127.0.0.1:9001"
    assert env["AWS_ENDPOINT_URL"] == "http://127.0.0.1:5000"
    assert env["AWS_SESSION_TOKEN"] == "TOKEN"
    assert env["PYTHONPATH"] == "/code:/opt/python"
    assert env["_HANDLER"] == "app.handler"


def test_no_session_token_variable_without_a_token() -> None:
    env = build_environment(SPEC, runtime_api="a:1", endpoint_url="e", credentials=Credentials("A", "S"),
                            task_root="/t", layer_paths=(), log_stream="s")
    assert "AWS_SESSION_TOKEN" not in env


def test_digest_changes_with_code_and_configuration_only() -> None:
    same = FunctionSpec(**{**SPEC.__dict__})
    assert same.digest == SPEC.digest
    assert FunctionSpec(**{**SPEC.__dict__, "code_sha256": "def"}).digest != SPEC.digest
    assert FunctionSpec(**{**SPEC.__dict__, "environment": {"TABLE": "x"}}).digest != SPEC.digest
    assert FunctionSpec(**{**SPEC.__dict__, "reserved_concurrency": 3}).digest == SPEC.digest


def test_report_line_has_lambdas_fields() -> None:
    line = format_report("rid", duration_ms=12.345, memory_mb=128, max_memory_mb=40, init_duration_ms=201.5)
    assert line == ("REPORT RequestId: rid\tDuration: 12.35 ms\tBilled Duration: 13 ms\t"
                    "Memory Size: 128 MB\tMax Memory Used: 40 MB\tInit Duration: 201.50 ms")
    warm = format_report("rid", duration_ms=0.2, memory_mb=128, max_memory_mb=40, init_duration_ms=None,
                         status="timeout", error_type="Sandbox.Timedout")
    assert "Billed Duration: 1 ms" in warm and "Init Duration" not in warm
    assert warm.endswith("Status: timeout\tError Type: Sandbox.Timedout")


def test_error_payload_shape() -> None:
    body = json.loads(error_payload("r1", "Runtime.ExitError", "Runtime exited with error: exit status 1"))
    assert body == {"errorType": "Runtime.ExitError",
                    "errorMessage": "RequestId: r1 Error: Runtime exited with error: exit status 1"}


def test_log_stream_and_layer_paths() -> None:
    when = datetime(2026, 3, 4, 23, 59, tzinfo=UTC)
    assert log_stream_name(when, "$LATEST", "abc") == "2026/03/04/[$LATEST]abc"
    assert layer_python_paths("/opt", "3.13") == ("/opt/python", "/opt/python/lib/python3.13/site-packages")


def test_log_tail_is_the_last_4kb_base64() -> None:
    import base64

    result = InvocationResult("r", b"", None, None, "x" * 5000 + "END", 1.0, None, 1, 128, False, 0.0, "e")
    tail = base64.b64decode(result.log_tail_base64())
    assert len(tail) == 4096 and tail.endswith(b"END")
    assert result.ok and result.billed_duration_ms == 1
