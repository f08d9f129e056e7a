"""Container mode: the pinned LocalStack image, where a Docker engine answers (skipped otherwise)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from harness.invocations import TargetHooks
from harness.settings import HarnessSettings
from harness.targets.localstack.container import IMAGE, docker_engine_available
from harness.targets.localstack.target import LocalStackTarget

pytestmark = [
    pytest.mark.targets("localstack"),
    pytest.mark.skipif(not docker_engine_available(os.environ),
                       reason="no Docker engine answers here (the docker CLI alone is a client): container "
                              f"mode ({IMAGE}) cannot run; host mode covers LocalStack on this machine"),
]


def test_container_mode_runs_the_pinned_image_and_stops_it(tmp_path: Path) -> None:
    settings = HarnessSettings.resolve({"target": "localstack", "localstack_mode": "container",
                                        "state_dir": str(tmp_path)})
    target = LocalStackTarget(settings, os.environ)
    target.start(TargetHooks(on_async_invoke=lambda invocation: None))
    try:
        assert target.mode == "container" and target.healthy()
        assert target.endpoint_url is not None and target.endpoint_url.startswith("http://127.0.0.1:")
        scope = target.open_account()
        url = scope.client("sqs").create_queue(QueueName="in-container")["QueueUrl"]
        scope.client("sqs").send_message(QueueUrl=url, MessageBody=json.dumps({"ok": True}))
        assert scope.client("sqs").receive_message(QueueUrl=url)["Messages"][0]["Body"] == '{"ok": true}'
    finally:
        target.stop()
    assert not target.healthy()
