"""Scenario steps about time: ``advance_clock`` (see ``harness.clock``)."""

from __future__ import annotations

import time
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from harness.errors import HarnessError
from harness.scenarios.model import Scenario
from harness.scenarios.steps import StepContext

REAL_WAIT_LIMIT_S = 300.0  # where time is real, a scenario letting more pass is skipped


def advance_clock(ctx: StepContext, args: Mapping[str, Any]) -> Any:
    """Let time pass on the account's clock (at once where it is virtual, by waiting elsewhere)."""
    seconds = _seconds(ctx, args)
    clock = ctx.account.clock
    started = time.monotonic()
    jumps = 0
    if clock.virtual:
        jumps = ctx.account.advance_clock(seconds)
        ctx.advanced_s += seconds  # time that passed without being waited for
    elif ctx.cancelled.wait(seconds):
        raise HarnessError("the run was interrupted while waiting for the clock")
    ctx.record("advance_clock", seconds=round(seconds, 3), virtual=clock.virtual, jumps=jumps,
               real_s=round(time.monotonic() - started, 3))
    return {"seconds": seconds, "jumps": jumps}


def _seconds(ctx: StepContext, args: Mapping[str, Any]) -> float:
    if "seconds" in args:
        return float(args["seconds"])
    text = str(args["to"])
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise HarnessError(f"advance_clock to {text!r}: not an ISO 8601 time (2026-12-01T09:00:00Z)") from exc
    if when.tzinfo is None:
        raise HarnessError(f"advance_clock to {text!r}: give a time zone (Z for UTC)")
    left = when.timestamp() - ctx.account.clock.now()
    if left < 0:
        raise HarnessError(f"advance_clock to {text}: that is {-left:.0f} s in the past on the account's clock, "
                           "which only moves forward")
    return left


def real_wait_s(scenario: Scenario) -> float:
    """How long the scenario's ``advance_clock: {seconds: N}`` steps wait where time is real (pure)."""
    return sum(float(s.args["seconds"]) for s in scenario.steps
               if s.kind == "advance_clock" and isinstance(s.args.get("seconds"), int | float))


def skip_on_real_clock(scenario: Scenario, target: str) -> str | None:
    """Why a scenario is skipped on a target whose clock is real: it would wait over 5 minutes."""
    wait = real_wait_s(scenario)
    if wait <= REAL_WAIT_LIMIT_S:
        return None
    return (f"lets {wait:g} s pass with advance_clock; the {target} target's clock is real, and waits over "
            f"{REAL_WAIT_LIMIT_S:g} s are skipped there (moto's virtual clock runs it at once)")
