"""The step kinds that look into queues and at a bus: ``expect_queue`` (peeking, never consuming) and
``expect_events`` (through the probe queue the engine puts on each bus). Declared in ``kinds.py``."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

from harness.errors import HarnessError
from harness.scenarios.matchers import differences
from harness.scenarios.steps import ExpectationFailed, StepContext, expect_match, json_or_text, queue_url

_PEEKS: dict[str, threading.Lock] = {}
_PEEKS_LOCK = threading.Lock()


def peek(sqs: Any, url: str) -> list[dict[str, Any]]:
    """Every message of the queue, left where it was: each received and hidden until none is left
    (a receive with visibility 0 returns the same first ten again and again), then made visible
    again at once. One peek of a queue at a time: scenarios sharing a stack would otherwise see
    each other's hidden messages as missing."""
    with _PEEKS_LOCK:
        lock = _PEEKS.setdefault(url, threading.Lock())
    with lock:
        return _peek(sqs, url)


def _peek(sqs: Any, url: str) -> list[dict[str, Any]]:
    messages: dict[str, dict[str, Any]] = {}
    handles: list[str] = []
    try:
        for _ in range(1000):
            batch = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=30,
                                        AttributeNames=["All"]).get("Messages", [])
            if not batch:
                break
            for message in batch:
                messages.setdefault(message["MessageId"], message)
                handles.append(message["ReceiptHandle"])
    finally:
        for start in range(0, len(handles), 10):
            sqs.change_message_visibility_batch(QueueUrl=url, Entries=[
                {"Id": str(i), "ReceiptHandle": h, "VisibilityTimeout": 0}
                for i, h in enumerate(handles[start:start + 10])])
    return list(messages.values())


def expect_queue(ctx: StepContext, args: Mapping[str, Any]) -> Any:
    url = queue_url(ctx, args["queue"])
    everything = peek(ctx.client("sqs"), url)
    messages = [{"id": m["MessageId"], "body": json_or_text(m["Body"])} for m in everything if ctx.mine(m["Body"])]
    if "count" in args and len(messages) != args["count"]:
        shared = f" of run {ctx.isolate_by} ({len(everything)} in the queue in all)" if ctx.isolate_by else ""
        raise ExpectationFailed(f"expected {args['count']} message(s) in {url.rsplit('/', 1)[-1]}, "
                                f"got {len(messages)}{shared}", actual=messages)
    if "messages" in args:
        expect_match({"$contains": args["messages"]}, [m["body"] for m in messages], "messages")
    return {"messages": messages, "count": len(messages)}


def expect_events(ctx: StepContext, args: Mapping[str, Any]) -> Any:
    url = ctx.probes.get(args["bus"])
    if url is None:
        raise HarnessError(f"no probe on bus {args['bus']}: the engine creates one for each bus an "
                           "expect_events step names")
    events = [json_or_text(m["Body"]) for m in peek(ctx.client("sqs"), url)]
    everything = events
    seen = len(events)
    if args.get("detail_type"):
        events = [e for e in events if isinstance(e, dict) and e.get("detail-type") == args["detail_type"]]
    if "match" in args:
        events = [e for e in events if not differences(args["match"], e)]
    if "count" in args and len(events) != args["count"]:
        raise ExpectationFailed(f"expected {args['count']} matching event(s) on {args['bus']}, got {len(events)}"
                                + _probe_note(ctx, args["bus"], seen), expected=args.get("match"),
                                actual=events or everything)
    if "count" not in args and not events:
        raise ExpectationFailed(f"no matching event on {args['bus']}" + _probe_note(ctx, args["bus"], seen),
                                expected=args.get("match"), actual=everything)
    return {"events": events, "count": len(events)}


def _probe_note(ctx: StepContext, bus: str, seen: int) -> str:
    """Why an event expectation saw what it saw: how much reached the probe, which rules the bus has."""
    if seen:
        return f" ({seen} event(s) on the bus since the scenario started, none matching)"
    try:
        rules = [r["Name"] for r in ctx.client("events").list_rules(EventBusName=bus).get("Rules", [])]
    except Exception as exc:  # the note must not hide the expectation's own failure
        return f" (no event reached the bus's probe; listing its rules failed: {exc})"
    return f" (no event reached the bus's probe since the scenario started; rules on the bus: {', '.join(rules)})"
