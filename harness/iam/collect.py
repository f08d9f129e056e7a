"""A scenario's IAM and cost sections from what its account saw: the calls the target's front
recorded (functions' in full; clients' only while an action step ran, so a check's reads are not
counted), and the calls AWS makes with a function's role, told from the harness's journal and trace:
an SQS event source mapping's receives and deletes, a stream mapping's reads, an async invocation's
destination, the log writes of every invocation.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from harness.cost.estimate import estimate
from harness.gateway.model import HttpApiDefinition
from harness.iam.deliveries import judge
from harness.iam.needs import Need
from harness.iam.observer import Call
from harness.iam.policies import PolicyBook
from harness.iam.recorder import CallRecorder
from harness.iam.report import iam_section
from harness.iam.wiring import account_deliveries, api_deliveries, logical_id, of_stack, stack_names
from harness.provisioning.resources.base import ResourceState

# Step kinds that only look (their client calls are the test's, not the flow's)
CHECKS = frozenset({"settle", "pause", "advance_clock", "fault", "clear_faults", "wait_until"})


def _function(arn: str) -> str:
    return arn.split(":function:", 1)[1].split(":", 1)[0] if ":function:" in arn else arn


def on_behalf(journal: Iterable[Mapping[str, Any]], trace: Iterable[Mapping[str, Any]], *,
              region: str, account: str) -> list[tuple[str, str, list[Need], dict[str, float]]]:
    """(function, via, needs, usage) of each call AWS makes with a function's role (pure)."""
    out: list[tuple[str, str, list[Need], dict[str, float]]] = []
    for entry in journal:
        kind, data = entry.get("kind"), entry
        if kind == "sqs.batch":
            source = str(data["source"])
            needs = [Need("sqs:ReceiveMessage", source), Need("sqs:GetQueueAttributes", source)]
            if data.get("succeeded"):
                needs.append(Need("sqs:DeleteMessage", source))
            out.append((_function(str(data["function_arn"])), "event source mapping", needs,
                        {"sqs_requests": 1 + (1 if data.get("succeeded") else 0)}))
        elif kind == "stream.batch":
            source = str(data["source"])
            service = "kinesis" if ":kinesis:" in source else "dynamodb"
            needs = [Need(f"{service}:{a}", source) for a in ("DescribeStream", "GetShardIterator", "GetRecords")]
            if service == "dynamodb":
                needs.append(Need("dynamodb:ListStreams", "*"))
            out.append((_function(str(data["function_arn"])), "event source mapping", needs, {}))
        elif kind in ("async.succeeded", "async.failed") and data.get("destination"):
            destination = str(data["destination"])
            action = {"sqs": "sqs:SendMessage", "sns": "sns:Publish", "lambda": "lambda:InvokeFunction",
                      "events": "events:PutEvents"}.get(destination.split(":")[2])
            if action:
                usage = {"sqs": {"sqs_requests": 1.0}, "sns": {"sns_requests": 1.0},
                         "events": {"events_custom": 1.0}}.get(destination.split(":")[2], {})
                out.append((_function(str(data["function_arn"])), "async invocation destination",
                            [Need(action, destination)], usage))
    for entry in trace:
        if entry.get("kind") != "invocation":
            continue
        name = str(entry["function"])
        stream = (f"arn:aws:logs:{region}:{account}:log-group:/aws/lambda/{name}"
                  f":log-stream:{time.strftime('%Y/%m/%d')}/[$LATEST]harness")
        out.append((name, "Lambda's log delivery", [Need("logs:CreateLogStream", stream),
                                                    Need("logs:PutLogEvents", stream)], {}))
        if entry.get("tracing") == "Active":  # Lambda's X-Ray daemon sends the segments with the role
            out.append((name, "Lambda's X-Ray daemon", [Need("xray:PutTraceSegments", "*"),
                                                         Need("xray:PutTelemetryRecords", "*")], {}))
    return out


def behalf_calls(book: PolicyBook, journal: Iterable[Mapping[str, Any]], trace: Iterable[Mapping[str, Any]], *,
                 region: str, account: str) -> list[Call]:
    """``on_behalf``'s calls as ``Call``s with each function's role (a function deleted with its stack
    has none to decide with, and is left out)."""
    out = []
    for function, via, needs, usage in on_behalf(journal, trace, region=region, account=account):
        try:
            principal = book.role_of(function)
        except Exception:  # deleted with its stack
            continue
        service, _, operation = needs[0].action.partition(":")
        out.append(Call(0.0, function, principal, service, operation, tuple(needs), usage, via=via))
    return out


def delivery_section(book: PolicyBook, account_id: str, region: str, apis: Sequence[HttpApiDefinition] = (),
                     resources: Iterable[ResourceState] | None = None) -> dict[str, Any]:
    """The deliveries the account is wired for (rules' targets, notifications, subscriptions, API
    routes), each decided against its target's resource policy (``harness.iam.deliveries``);
    ``resources``: only those from or to a resource of this stack."""
    stack = list(resources) if resources is not None else None
    wired = account_deliveries(book.client_for, account_id, stack_names(stack) if stack is not None else None)
    section = judge((of_stack(wired, stack) if stack is not None else wired)
                    + api_deliveries(apis, account=account_id, region=region), book.decide)
    for denial in section["denied"]:  # where to fix it: the template's names
        source, target = (logical_id(denial[end], stack or ()) for end in ("source", "target"))
        if source or target:
            denial["message"] += f" (in the template: {source or denial['source']} -> {target or denial['target']})"
    return section


def sections(recorder: CallRecorder, account_id: str, *, started: float, steps: Sequence[Any],
             trace: Sequence[Mapping[str, Any]], journal: Sequence[Mapping[str, Any]],
             names: Mapping[str, str], mode: str, http_apis: Sequence[HttpApiDefinition] = (),
             resources: Iterable[ResourceState] | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
    """The scenario's ``iam`` and ``cost`` sections; the deliveries of ``resources`` (the app's
    stack) are judged, none without."""
    windows = [(s.started, s.started + s.duration_s) for s in steps
               if s.kind not in CHECKS and not s.kind.startswith("expect")]
    calls = [c for c in recorder.calls(account_id, since=started)
             if c.caller is not None or any(a <= c.at <= b for a, b in windows)]
    book = recorder.book(account_id)
    book.invalidate()  # decided under the policies as they are at the scenario's end (a stack update ...)
    behalf = behalf_calls(book, journal, trace, region=recorder.region, account=account_id)
    iam = iam_section([*calls, *behalf], book.decide, book.identity, mode=recorder.mode_for(account_id), names=names)
    iam["deliveries"] = (delivery_section(book, account_id, recorder.region, http_apis, resources)
                         if resources is not None else {"checked": 0, "denied": [], "not_evaluated": []})
    iam["summary"]["deliveries_denied"] = len(iam["deliveries"]["denied"])
    if mode == "enforce" and recorder.mode_for(account_id) != "enforce":
        iam["note"] = "enforce applies on moto; here the calls were observed and reported (report mode)"
    usage_total: dict[str, float] = {}
    for call in [*calls, *behalf]:
        for key, value in call.usage.items():
            usage_total[key] = usage_total.get(key, 0.0) + value
    invocations = [e for e in trace if e.get("kind") == "invocation"]
    apis: dict[str, int] = {}
    for entry in trace:
        if entry.get("kind") == "api.request":
            kind = str(entry.get("api_kind") or "http")
            apis[kind] = apis.get(kind, 0) + 1
    stored = int(usage_total.pop("s3_bytes_put", 0))
    cost = estimate(usage_total, invocations, region=recorder.region, api_requests=apis,
                    log_bytes=sum(int(e.get("log_bytes") or 0) for e in invocations), stored_bytes=stored)
    cost["calls"] = {"functions": sum(1 for c in calls if c.caller), "clients": sum(1 for c in calls if not c.caller),
                     "on_behalf": len(behalf), "invocations": len(invocations)}
    return iam, cost
