"""Invocations read back from a function's CloudWatch Logs, as Lambda writes them.

On targets that do not tell the harness about each invocation (AWS), a function's log group is the
ground truth: every invocation writes ``START RequestId: ...``, its own lines, ``END`` and a
``REPORT`` line with the duration and, on a cold start, ``Init Duration``. An unhandled error shows
as the runtime's ``[ERROR] Type: message`` line (or its JSON form), a timeout or crash as
``Status: timeout|error`` on the REPORT line.

Example:
    events = read_log_events(logs, "/aws/lambda/my-fn", since_ms=started_ms)
    calls = invocations_from_log_events(events)    # [{"request_id", "cold", "duration_ms", "error"...}]
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

_START = re.compile(r"^START RequestId: (?P<id>[\w-]+)")
_REPORT = re.compile(r"^REPORT RequestId: (?P<id>[\w-]+)")
_FIELD = re.compile(r"(?:^|\t)(?P<name>Duration|Init Duration|Status|Error Type): (?P<value>[^\t\n]+?)(?: ms)?(?=\t|\n|$)")
_RUNTIME_ERROR = re.compile(r"^\[ERROR\] (?P<type>[\w.]+): ")  # the runtime's unhandled error (a space, not a tab)


def read_log_events(logs: Any, group: str, *, since_ms: int | None = None) -> list[dict[str, Any]]:
    """Every event of ``group`` from ``since_ms`` on, paged to the end (``[]`` when the group does
    not exist yet: a function that never ran has none)."""
    kwargs: dict[str, Any] = {"logGroupName": group, "interleaved": True}
    if since_ms is not None:
        kwargs["startTime"] = int(since_ms)
    events: list[dict[str, Any]] = []
    try:
        for page in logs.get_paginator("filter_log_events").paginate(**kwargs):
            events.extend(page.get("events", []))
    except logs.exceptions.ResourceNotFoundException:
        return []
    events.sort(key=lambda e: (e.get("timestamp", 0), e.get("ingestionTime", 0)))
    return events


def invocations_from_log_events(events: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """One entry per invocation that wrote its REPORT line, in order (pure).

    Lines between an invocation's START and REPORT in the same stream are its own (an execution
    environment runs one invocation at a time): an error line there marks it failed, and every one
    of them is kept in ``lines`` (START and REPORT included).
    """
    open_by_stream: dict[str, dict[str, Any]] = {}
    done: list[dict[str, Any]] = []
    for event in events:
        stream = str(event.get("logStreamName", ""))
        for line in str(event.get("message", "")).splitlines() or [""]:
            if start := _START.match(line):
                open_by_stream[stream] = {"request_id": start["id"], "at": event.get("timestamp", 0) / 1000,
                                          "stream": stream, "error": None, "lines": [line]}
            elif report := _REPORT.match(line):
                current = open_by_stream.pop(stream, None) or {"request_id": report["id"], "stream": stream,
                                                                "at": event.get("timestamp", 0) / 1000, "error": None,
                                                                "lines": []}
                current["lines"].append(line)
                fields = {m["name"]: m["value"].strip() for m in _FIELD.finditer(line)}
                current["duration_ms"] = float(fields.get("Duration", 0) or 0)
                current["init_ms"] = float(fields["Init Duration"]) if "Init Duration" in fields else None
                current["cold"] = current["init_ms"] is not None
                if fields.get("Status") in ("error", "timeout"):
                    current["error"] = current["error"] or fields.get("Error Type") or f"Sandbox.{fields['Status']}"
                done.append(current)
            elif stream in open_by_stream:
                current = open_by_stream[stream]
                current["lines"].append(line)
                if current["error"] is None:
                    current["error"] = _error_type(line)
    return done


def mentioning(invocations: Iterable[dict[str, Any]], text: str) -> list[dict[str, Any]]:
    """The invocations one of whose lines contains ``text`` (a run id in a key, a correlation id) (pure)."""
    return [i for i in invocations if any(text in line for line in i.get("lines", ()))]


def _error_type(line: str) -> str | None:
    """The error type an unhandled-error line names, text or JSON log format (pure)."""
    if match := _RUNTIME_ERROR.match(line):
        return match["type"]
    if line.startswith("{") and '"errorType"' in line:
        try:
            record = json.loads(line)
        except ValueError:
            return None
        if isinstance(record, dict) and record.get("errorType") and record.get("log_level", "ERROR") == "ERROR":
            return str(record["errorType"])
    if "Task timed out after" in line:
        return "Sandbox.Timedout"
    return None
