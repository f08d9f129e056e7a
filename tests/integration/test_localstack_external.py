"""A LocalStack given by URL (HARNESS_LOCALSTACK_URL): the harness uses one started apart, with the
same deploy, gateway, traces and reports, and leaves it running."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from harness.cloud import LocalCloud
from harness.invocations import TargetHooks
from harness.project import load_app_source
from harness.scenarios.engine import ScenarioRunner
from harness.scenarios.loader import load_scenario
from harness.settings import HarnessSettings
from harness.targets.localstack.target import LocalStackTarget

pytestmark = pytest.mark.targets("localstack")
ROOT = Path(__file__).resolve().parents[2]
# quick ones on LocalStack's real clock: a pipeline run, the API with its JWT, a duplicate, injected faults
SCENARIOS = ("invoice_happy_path.yaml", "api_by_job_id.yaml", "duplicate_delivery.yaml", "fault_dynamodb_throttle.yaml")


@pytest.mark.timeout(900)
def test_scenarios_pass_on_a_localstack_given_by_url(harness_settings: HarnessSettings, tmp_path: Path) -> None:
    owner_settings = HarnessSettings.resolve({"target": "localstack", "localstack_mode": "host",
                                              "state_dir": str(tmp_path / "owner"),
                                              "cache_dir": str(harness_settings.cache_dir)})
    owner = LocalStackTarget(owner_settings, os.environ)  # started apart, as `harness up` would
    owner.start(TargetHooks(on_async_invoke=lambda invocation: None))
    try:
        assert owner.endpoint_url is not None
        settings = HarnessSettings.resolve({"target": "localstack", "localstack_url": owner.endpoint_url,
                                            "state_dir": str(tmp_path / "user"),
                                            "cache_dir": str(harness_settings.cache_dir)})
        with LocalCloud(settings, os.environ) as cloud:
            target = cloud.target
            assert isinstance(target, LocalStackTarget) and target.mode == "external"
            assert target.endpoint_url == owner.endpoint_url
            # the harness's hooks inside that LocalStack: invocations, faults and calls over HTTP
            assert target.invocations is not None and target.faults is not None and target.calls is not None
            runner = ScenarioRunner(cloud, settings, load_app_source(ROOT))
            try:
                results = [runner.run(load_scenario(ROOT / "scenarios" / name)) for name in SCENARIOS]
            finally:
                runner.close()
        failed = [f"{r.name}: {r.reason}" for r in results if r.status != "passed"]
        assert not failed, "\n".join(failed)
        assert all(any(e["kind"] == "invocation" for e in r.trace) for r in results)
        assert owner.healthy(), "the harness stopped a LocalStack it did not start"
    finally:
        owner.stop()

