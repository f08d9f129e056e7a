"""Scenario steps that inject faults: ``fault`` and ``clear_faults`` (see ``harness.faults``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from harness.errors import HarnessError
from harness.faults import FaultRules, parse_rule
from harness.scenarios.model import Scenario
from harness.scenarios.steps import StepContext

FAULT_STEPS = frozenset({"fault", "clear_faults"})


def _registry(ctx: StepContext) -> FaultRules:
    registry = ctx.account.cloud.target.faults
    if registry is None:
        raise HarnessError(f"the {ctx.account.cloud.target.name} target cannot inject faults")
    return registry


def fault(ctx: StepContext, args: Mapping[str, Any]) -> Any:
    """Add a fault rule to the scenario's account (it ends with the scenario)."""
    data = dict(args)
    if data.get("function"):
        data["function"] = ctx.physical(str(data["function"]), "AWS::Lambda::Function")
    rule = parse_rule(data)
    active = _registry(ctx).add(ctx.account.account_id, rule)
    ctx.record("fault.added", id=active.id, fault=rule.describe())
    return {"id": active.id}


def clear_faults(ctx: StepContext, args: Mapping[str, Any]) -> Any:
    cleared = _registry(ctx).clear(ctx.account.account_id, args.get("id"))
    ctx.record("fault.cleared", count=cleared)
    return {"cleared": cleared}


def check_fault(args: Mapping[str, Any]) -> None:
    """A fault step's rule, checked when the scenario file is loaded (unless it uses variables).

    Raises:
        FaultRuleError: an unknown service, operation or error code, with the valid names.
    """
    if "${" in repr(dict(args)):
        return
    parse_rule(args)


def skip_without_faults(scenario: Scenario, target: str, faults: FaultRules | None) -> str | None:
    """Why a scenario that injects faults is skipped on a target that cannot (``faults`` None)."""
    if faults is None and any(step.kind in FAULT_STEPS for step in scenario.steps):
        return (f"injects faults (fault steps); the {target} target cannot inject faults "
                "(moto and LocalStack in host mode can; AWS's own services answer there)")
    return None
