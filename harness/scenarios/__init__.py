"""Declarative end-to-end scenarios: load (strict, line-numbered), run (engine), report."""

from __future__ import annotations

from harness.scenarios.loader import ScenarioError, load_scenario, scenario_files
from harness.scenarios.model import Scenario, Step

__all__ = ["Scenario", "ScenarioError", "Step", "load_scenario", "scenario_files"]
