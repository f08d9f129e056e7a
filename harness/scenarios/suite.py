"""Running a set of scenarios (in parallel, each in its own account) and writing the reports."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from harness.cloud import LocalCloud
from harness.project import load_app_source
from harness.report import render_html, render_junit, report_dict
from harness.scenarios.engine import ScenarioResult, ScenarioRunner
from harness.scenarios.model import Scenario
from harness.settings import HarnessSettings


def select(scenarios: Sequence[Scenario], *, keyword: str | None, tags: Sequence[str]) -> list[Scenario]:
    """Scenarios whose name or file contains ``keyword`` and that carry every tag (pure)."""
    chosen = []
    for scenario in scenarios:
        if keyword and keyword.lower() not in f"{scenario.name} {scenario.file}".lower():
            continue
        if tags and not set(tags) <= set(scenario.tags):
            continue
        chosen.append(scenario)
    return chosen


def run_suite(scenarios: Sequence[Scenario], settings: HarnessSettings, *, workers: int = 2,
              project_root: Path = Path("."), on_done: Callable[[ScenarioResult], None] = lambda r: None,
              observe: bool = False) -> tuple[list[ScenarioResult], dict[str, object]]:
    """Start the target, run every scenario, return the results in input order and the report;
    ``observe``: record what each scenario did for ``harness parity`` (``ScenarioResult.observed``)."""
    started = time.time()
    source = load_app_source(project_root)
    with LocalCloud(settings, os.environ) as cloud:
        runner = ScenarioRunner(cloud, settings, source, observe=observe)
        try:
            with ThreadPoolExecutor(max(1, workers), thread_name_prefix="scenario") as pool:
                futures = [pool.submit(runner.run, s) for s in scenarios]
                results = []
                try:
                    for future in futures:
                        result = future.result()
                        on_done(result)
                        results.append(result)
                except BaseException:  # Ctrl-C, SIGTERM: running scenarios end and tear down, queued ones never start
                    runner.cancel()
                    pool.shutdown(wait=True, cancel_futures=True)
                    raise
        finally:
            runner.close()  # the stack scenarios shared, if any
        versions = cloud.target.versions()
        runtime = cloud.target.runtime
        notes = sorted(runtime.runtime_notes.values()) if runtime is not None else []
    report = report_dict(results, target=versions.get("target", settings.target), versions=versions, started=started,
                         duration_s=time.time() - started, notes=notes)
    return results, report


def write_reports(results: Sequence[ScenarioResult], report: dict[str, object], directory: Path) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    paths = [directory / "report.json", directory / "junit.xml", directory / "report.html"]
    paths[0].write_text(json.dumps(report, indent=1, default=str))
    paths[1].write_text(render_junit(results, target=str(report["target"])))
    paths[2].write_text(render_html(results, report))
    return paths
