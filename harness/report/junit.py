"""junit.xml: one testcase per scenario, failures with the failing step and its difference (pure)."""

from __future__ import annotations

from collections.abc import Sequence
from xml.etree import ElementTree

from harness.scenarios.engine import ScenarioResult


def render_junit(results: Sequence[ScenarioResult], *, target: str) -> str:
    suite = ElementTree.Element("testsuite", {
        "name": f"scenarios ({target})", "tests": str(len(results)),
        "failures": str(sum(r.status == "failed" for r in results)),
        "skipped": str(sum(r.status == "skipped" for r in results)),
        "time": f"{sum(r.duration_s for r in results):.3f}"})
    for result in results:
        case = ElementTree.SubElement(suite, "testcase", {"classname": result.file, "name": result.name,
                                                          "time": f"{result.duration_s:.3f}"})
        if result.status == "skipped":
            ElementTree.SubElement(case, "skipped", {"message": result.reason})
        elif result.status == "failed":
            failure = ElementTree.SubElement(case, "failure", {"message": result.reason})
            step = result.failed_step
            failure.text = "\n".join([result.reason, *(step.diff if step else [])])
    return ElementTree.tostring(suite, encoding="unicode", xml_declaration=True)
