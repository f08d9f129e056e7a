"""Scenario files of the small test apps (tests/apps/*/scenarios), run on the session's target."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.cloud import LocalCloud
from harness.project import load_app_source
from harness.scenarios.engine import ScenarioRunner
from harness.scenarios.loader import load_scenario, scenario_files
from harness.settings import HarnessSettings

APPS = Path(__file__).resolve().parents[1] / "apps"
FILES = [path for app in sorted(APPS.iterdir()) if (app / "scenarios").is_dir()
         for path in scenario_files([app / "scenarios"])]


@pytest.mark.parametrize("path", FILES, ids=[f"{p.parent.parent.name}/{p.stem}" for p in FILES])
def test_app_scenario(harness_cloud: LocalCloud, harness_settings: HarnessSettings, path: Path) -> None:
    runner = ScenarioRunner(harness_cloud, harness_settings, load_app_source(path.parent.parent))
    try:
        result = runner.run(load_scenario(path))
    finally:
        runner.close()
    if result.status == "skipped":
        pytest.skip(result.reason)
    failed = result.failed_step
    assert result.status == "passed", (
        f"{result.reason}\n{failed.error if failed else ''}\n" + "\n".join(failed.diff if failed else [])
        + "\n" + "\n".join(result.logs[-20:]))
