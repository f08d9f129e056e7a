"""Python runtimes other than the harness's own: prepared environments, substitution, init failures."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from harness.cloud import CloudAccount

VERSION = "import sys\ndef handler(event, context):\n    return list(sys.version_info[:2])\n"


@pytest.mark.targets("moto", reason="reads the process runtime's notes, which run in this process on moto")
def test_python312_gets_a_prepared_environment_and_314_runs_on_the_nearest(
        account: CloudAccount, deploy: Callable[..., dict[str, Any]]) -> None:
    deploy("py312", VERSION, runtime="python3.12")
    assert account.invoke("py312")["Payload"] == [3, 12]  # pyenv's 3.12 has no runtime client: a venv gets one
    deploy("py314", VERSION, runtime="python3.14")
    result = account.invoke("py314")
    assert result["FunctionError"] is None and result["Payload"][0] == 3
    runtime = account.cloud.target.runtime
    assert runtime is not None
    assert "python3.14" in runtime.runtime_notes and "strict_runtimes" in runtime.runtime_notes["python3.14"]
