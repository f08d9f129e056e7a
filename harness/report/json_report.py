"""report.json: target, versions, timing and every scenario with its steps and trace (pure)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from harness.cost.estimate import merge as cost_merge
from harness.iam.report import merge as iam_merge
from harness.scenarios.engine import ScenarioResult


def report_dict(results: Sequence[ScenarioResult], *, target: str, versions: Mapping[str, str],
                started: float, duration_s: float, notes: Sequence[str] = ()) -> dict[str, Any]:
    """``notes``: what ran differently from the app's definition (a runtime on another Python, say)."""
    counts = {s: sum(1 for r in results if r.status == s) for s in ("passed", "failed", "skipped")}
    return {
        "target": target,
        "versions": dict(versions),
        "start": datetime.fromtimestamp(started, UTC).isoformat(),
        "duration_s": round(duration_s, 3),
        "summary": {**counts, "total": len(results)},
        "notes": list(notes),
        "scenarios": [_scenario(r) for r in results],
        # the run's least privilege (denials; per function the grants no scenario used) and cost
        "iam": iam_merge({**r.iam, "scenario": r.name} for r in results if r.iam.get("functions") is not None),
        "cost": cost_merge({**r.cost, "scenario": r.name} for r in results if "total_usd" in r.cost),
    }


def _scenario(result: ScenarioResult) -> dict[str, Any]:
    return {
        "name": result.name, "file": result.file, "status": result.status, "reason": result.reason,
        "tags": list(result.tags), "duration_s": round(result.duration_s, 3),
        # real: what the run took; virtual: what passed on the account's clock (advance_clock's jumps added)
        "clock": {"real_s": round(result.duration_s, 3), "virtual_s": round(result.duration_s + result.advanced_s, 3)},
        "steps": [{**dataclasses.asdict(s), "duration_s": round(s.duration_s, 4)} for s in result.steps],
        "deploy": result.deploy, "conservation": result.conservation, "trace": result.trace, "journal": result.journal,
        "logs": result.logs, **({"observed": result.observed} if result.observed else {}),
        **({"iam": result.iam} if result.iam else {}), **({"cost": result.cost} if result.cost else {}),
    }
