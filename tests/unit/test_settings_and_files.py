from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from harness.envfile import read_env_file, write_env_file
from harness.errors import ConfigurationError, RuntimeSetupError, WaitTimeoutError
from harness.lambda_runtime.code import CodeStore, python_version_of
from harness.packaging import zip_files
from harness.settings import HarnessSettings
from harness.waiting import wait_until


def test_settings_precedence_explicit_env_ini_default() -> None:
    assert HarnessSettings.resolve().target == "moto"
    assert HarnessSettings.resolve(ini={"target": "ini"}).target == "ini"
    assert HarnessSettings.resolve(environ={"HARNESS_TARGET": "env"}, ini={"target": "ini"}).target == "env"
    assert HarnessSettings.resolve({"target": "arg"}, {"HARNESS_TARGET": "env"}).target == "arg"


def test_settings_convert_types_and_reject_bad_values() -> None:
    s = HarnessSettings.resolve(environ={"HARNESS_IDLE_TTL_S": "5", "HARNESS_ASYNC_RETRY_DELAYS_S": "0.1,0.2",
                                         "HARNESS_INTERPRETERS": "python3.12=/usr/bin/python3.12"})
    assert s.idle_ttl_s == 5.0 and s.async_retry_delays_s == (0.1, 0.2)
    assert s.interpreters == {"python3.12": "/usr/bin/python3.12"}
    with pytest.raises(ConfigurationError, match="HARNESS_IDLE_TTL_S"):
        HarnessSettings.resolve(environ={"HARNESS_IDLE_TTL_S": "soon"})
    with pytest.raises(ConfigurationError, match="isolation"):
        HarnessSettings(isolation="galaxy")


def test_env_file_roundtrip_and_errors(tmp_path: Path) -> None:
    path = tmp_path / "env"
    write_env_file(path, {"A": "1", "B": "x=y"})
    assert read_env_file(path) == {"A": "1", "B": "x=y"}
    path.write_text("# comment\n\nA=1\nbroken\n")
    with pytest.raises(ConfigurationError, match=":4: expected KEY=VALUE"):
        read_env_file(path)
    with pytest.raises(ConfigurationError, match="harness up"):
        read_env_file(tmp_path / "missing")


def test_code_store_extracts_once_and_rejects_non_zips(tmp_path: Path) -> None:
    store = CodeStore(tmp_path)
    calls: list[int] = []

    def load() -> bytes:
        calls.append(1)
        return zip_files({"app.py": "x = 1\n"})

    first = store.ensure("code", "abc", load)
    second = store.ensure("code", "abc", load)
    assert first == second and (first / "app.py").read_text() == "x = 1\n" and len(calls) == 1
    with pytest.raises(RuntimeSetupError, match="not a zip archive"):
        store.ensure("code", "bad", lambda: b"not a zip")


def test_zip_files_is_deterministic() -> None:
    a = zip_files({"b.py": "x", "a.py": "    y = 1\n"})
    assert a == zip_files({"a.py": "    y = 1\n", "b.py": "x"})
    with zipfile.ZipFile(__import__("io").BytesIO(a)) as archive:
        assert archive.read("a.py") == b"y = 1\n"


def test_python_version_of_runtime() -> None:
    assert python_version_of("python3.12") == "3.12"
    with pytest.raises(RuntimeSetupError, match=r"nodejs20\.x"):
        python_version_of("nodejs20.x")


def test_wait_until_returns_value_or_raises_with_last() -> None:
    values = iter([1, 2, 3])
    assert wait_until(lambda: next(values), lambda v: v == 3, interval=0) == 3
    ticks = iter(range(100))
    with pytest.raises(WaitTimeoutError) as caught:
        wait_until(lambda: "still", lambda v: False, timeout=5, clock=lambda: float(next(ticks)),
                   sleep=lambda _: None, description="the thing")
    assert caught.value.last == "still" and "the thing did not hold after 5 s" in str(caught.value)


def test_a_runtime_without_interpreter_is_refused_when_strict(tmp_path: Path) -> None:
    from harness.lambda_runtime.code import InterpreterResolver

    resolver = InterpreterResolver({}, {"PATH": str(tmp_path), "PYENV_ROOT": str(tmp_path)}, strict=True)
    with pytest.raises(RuntimeSetupError, match=r"python3\.99 has no Python 3\.99 interpreter.*strict_runtimes"):
        resolver.resolve("python3.99")


def test_a_runtime_without_interpreter_runs_on_the_nearest_with_a_note(tmp_path: Path) -> None:
    import sys

    from harness.lambda_runtime.code import InterpreterResolver, RuntimeSubstitutionWarning

    resolver = InterpreterResolver({}, {"PATH": str(tmp_path), "PYENV_ROOT": str(tmp_path)})
    with pytest.warns(RuntimeSubstitutionWarning, match="python3.99"):
        assert resolver.resolve("python3.99") == sys.executable  # the only Python this environment sees
    assert "python3.99" in resolver.notes


def test_an_environment_that_cannot_start_is_an_init_failure_as_lambda_logs_it() -> None:
    import json

    from harness.lambda_runtime.spec import FunctionSpec, InvocationRequest, init_failure

    spec = FunctionSpec(function_arn="arn:aws:lambda:us-east-1:111122223333:function:f", name="f",
                        account_id="111122223333", region="us-east-1", runtime="python3.99",
                        handler="app.handler", code_sha256="x", role_arn="arn:aws:iam::111122223333:role/r")
    result = init_failure(InvocationRequest("req-1", b"{}"), spec, "no interpreter", started_at=0.0)
    assert result.function_error == "Unhandled" and result.error_type == "Runtime.Unknown"
    assert json.loads(result.payload)["errorMessage"] == "no interpreter"
    lines = result.logs.splitlines()
    assert lines[0].startswith("INIT_REPORT") and "Status: error" in lines[0]
    assert lines[2] == "START RequestId: req-1 Version: $LATEST" and lines[-1].startswith("REPORT RequestId: req-1")
