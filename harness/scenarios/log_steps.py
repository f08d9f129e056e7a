"""The step kinds that read a function's invocations and logs: from the target where it reports
them (moto, LocalStack), from the function's CloudWatch Logs where it does not (AWS), retried there
because logs arrive late. Declared in ``kinds.py`` with the other step kinds."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from harness.scenarios.steps import ExpectationFailed, StepContext, eventually


def expect_invocations(ctx: StepContext, args: Mapping[str, Any]) -> Any:
    """Invocations the target reported; where it reports none (AWS), the function's CloudWatch Logs
    since the scenario started, polled until the expectation holds or its timeout passes. On a
    shared stack only invocations whose lines mention the scenario's run id count."""
    name = ctx.physical(args["function"], "AWS::Lambda::Function")

    def check() -> dict[str, Any]:
        calls = _invocations(ctx, name)
        errors = sum(1 for c in calls if c["error"])
        if "count" in args and len(calls) != args["count"]:
            raise ExpectationFailed(f"expected {args['count']} invocation(s) of {args['function']}, got {len(calls)}")
        if "min" in args and len(calls) < args["min"]:
            raise ExpectationFailed(f"expected at least {args['min']} invocation(s) of {args['function']}, "
                                    f"got {len(calls)}")
        if "errors" in args and errors != args["errors"]:
            raise ExpectationFailed(f"expected {args['errors']} failed invocation(s) of {args['function']}, "
                                    f"got {errors}")
        return {"count": len(calls), "errors": errors}

    return _until_logs_hold(ctx, args, check)


def _invocations(ctx: StepContext, name: str) -> list[dict[str, Any]]:
    if ctx.account.capabilities.reports_invocations:
        return [i for i in ctx.actions if i["kind"] == "invocation" and i["function"] == name]
    from harness.lambda_logs import invocations_from_log_events, mentioning

    calls = invocations_from_log_events(ctx.log_events(name))
    return mentioning(calls, ctx.isolate_by) if ctx.isolate_by else calls


def _until_logs_hold(ctx: StepContext, args: Mapping[str, Any], check: Callable[[], dict[str, Any]]) -> Any:
    """``check()`` once where the target reports invocations as they end; where logs are the source
    (they arrive seconds late on AWS), retried until it passes or the step's timeout (60 s) passes."""
    if ctx.account.capabilities.reports_invocations and "timeout" not in args:
        return check()
    return eventually(ctx, lambda _ctx, _args: check(), args, timeout=ctx.timeout(args, 60),
                      description="log expectation", interval=1.0)


def expect_logs(ctx: StepContext, args: Mapping[str, Any]) -> Any:
    """Lines of the function's log group since the scenario started (every stream, paged to the end);
    on a shared stack, the lines of the invocations that mention the scenario's run id."""
    name = ctx.physical(args["function"], "AWS::Lambda::Function")

    def check() -> dict[str, Any]:
        if ctx.isolate_by:  # a shared stack: the lines of this scenario's invocations
            from harness.lambda_logs import invocations_from_log_events, mentioning

            calls = mentioning(invocations_from_log_events(ctx.log_events(name)), ctx.isolate_by)
            lines = [line for call in calls for line in call["lines"]]
        else:
            lines = [line for e in ctx.log_events(name) for line in str(e["message"]).splitlines()]
        found = [line for line in lines if (not args.get("contains") or args["contains"] in line)
                 and (not args.get("correlation_id") or _correlation(line) == args["correlation_id"])]
        if len(found) < int(args.get("min", 1)):
            raise ExpectationFailed(f"expected at least {args.get('min', 1)} log line(s) of {args['function']} "
                                    f"matching {dict(args)}, found {len(found)}", actual=lines[-10:])
        return {"lines": found}

    return _until_logs_hold(ctx, args, check)


def _correlation(line: str) -> str | None:
    try:
        value = json.loads(line)
    except ValueError:
        return None
    return value.get("correlation_id") if isinstance(value, dict) else None
