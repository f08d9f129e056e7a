"""What a scenario did, in terms that compare across targets (for ``harness parity``).

Names are the stack's logical ids, never physical names (those differ per account and target);
values are normalised to shapes (``harness.shapes``): what two targets should agree on is how many
invocations and records each function saw, the shapes of the events it was given, and what each
table, queue and bucket holds at the end, not the ids and times inside.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from harness.shapes import event_summary, failed_items, shape

_SCAN_LIMIT = 1000  # items or objects read per resource: enough to compare, bounded for big runs


def event_facts(result: Any) -> dict[str, Any]:
    """What an invocation's event carried (``event_shapes``, ``records``, ``record_ids``) and which
    of its records failed (``failed_records``, ``failed_record_ids``), for a trace entry: read from
    the event where the runtime kept it, else the facts the runtime filled in (``InvocationResult``)."""
    if result.event is None:
        return {"event_shapes": list(result.event_shapes), "records": result.records,
                "record_ids": list(result.record_ids), "failed_records": result.failed_records,
                "failed_record_ids": list(result.failed_record_ids)}
    shapes, records, ids = event_summary(result.event)
    failed, failed_ids = failed_items(result.event, result.payload, not result.ok, records, ids)
    return {"event_shapes": shapes, "records": records, "record_ids": ids, "failed_records": failed,
            "failed_record_ids": failed_ids}


def observe_invocations(trace: Iterable[Mapping[str, Any]], functions: Mapping[str, str]) -> dict[str, Any]:
    """Per function (logical id): invocations, errors, records delivered (distinct records where
    the events name them: a record delivered again, at least once as on AWS, counts once) and
    failed (records that failed and never succeeded on a later delivery: a duplicate delivery that
    fails while the first succeeds, as under load, is not a failure of the record), whether it is
    fed batches, and the distinct event shapes (sorted JSON texts, one per distinct record), from
    the scenario's trace; ``functions``: name -> logical id (pure)."""
    seen: dict[str, dict[str, Any]] = {}
    ids: dict[str, set[str]] = {}
    failed: dict[str, set[str]] = {}
    succeeded: dict[str, set[str]] = {}
    for entry in trace:
        if entry.get("kind") != "invocation":
            continue
        name = functions.get(str(entry["function"]), str(entry["function"]))
        summary = seen.setdefault(name, {"invocations": 0, "errors": 0, "deliveries": 0, "records": 0,
                                         "failed_records": 0, "batched": False, "event_shapes": set()})
        summary["invocations"] += 1
        summary["errors"] += 1 if entry.get("error") else 0
        summary["deliveries"] += int(entry.get("records") or 1)
        named = entry.get("record_ids") or []
        failed_list = entry.get("failed_record_ids") or []
        failed_named = set(failed_list)
        summary["failed_records"] += max(0, int(entry.get("failed_records") or 0) - len(failed_list))  # unnamed
        ids.setdefault(name, set()).update(named)
        failed.setdefault(name, set()).update(failed_named)
        succeeded.setdefault(name, set()).update(set(named) - failed_named)
        summary["records"] += 0 if named else int(entry.get("records") or 1)
        for event_shape in entry.get("event_shapes") or ():
            summary["batched"] |= isinstance(event_shape, dict) and isinstance(event_shape.get("Records"), list)
            summary["event_shapes"].add(json.dumps(event_shape, sort_keys=True))
    for name, named in ids.items():
        seen[name]["records"] += len(named)
        seen[name]["failed_records"] += len(failed[name] - succeeded[name])
    return {name: {**summary, "event_shapes": sorted(summary["event_shapes"])} for name, summary in seen.items()}


def function_names(resources: Iterable[Any]) -> dict[str, str]:
    """Function name -> logical id, from a stack record's resources (pure)."""
    return {str(r.physical_id): str(r.logical_id) for r in resources if r.type_name == "AWS::Lambda::Function"}


def observe_state(account: Any, resources: Iterable[Any]) -> dict[str, Any]:
    """What each table, queue and bucket of the stack holds now: counts and item shapes."""
    state: dict[str, Any] = {}
    for resource in resources:
        reader = _READERS.get(resource.type_name)
        if reader is None:
            continue
        try:
            state[resource.logical_id] = reader(account, resource)
        except Exception as exc:  # an observation, never a verdict: say what could not be read
            state[resource.logical_id] = {"error": f"{type(exc).__name__}: {exc}"}
    return state


def _table(account: Any, resource: Any) -> dict[str, Any]:
    items: list[Any] = []
    for page in account.client("dynamodb").get_paginator("scan").paginate(TableName=resource.physical_id):
        items += page.get("Items", [])
        if len(items) >= _SCAN_LIMIT:
            break
    return {"items": len(items), "item_shapes": sorted({json.dumps(shape(i, formats=True), sort_keys=True)
                                                        for i in items})}


def _queue(account: Any, resource: Any) -> dict[str, Any]:
    attributes = account.client("sqs").get_queue_attributes(QueueUrl=resource.physical_id, AttributeNames=[
        "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
    return {"messages": int(attributes["ApproximateNumberOfMessages"])
            + int(attributes["ApproximateNumberOfMessagesNotVisible"])}


def _bucket(account: Any, resource: Any) -> dict[str, Any]:
    count = 0
    for page in account.client("s3").get_paginator("list_objects_v2").paginate(Bucket=resource.physical_id):
        count += page.get("KeyCount", 0)
        if count >= _SCAN_LIMIT:
            break
    return {"objects": count}


_READERS = {"AWS::DynamoDB::Table": _table, "AWS::DynamoDB::GlobalTable": _table, "AWS::SQS::Queue": _queue,
            "AWS::S3::Bucket": _bucket}


def observe(account: Any, app: Any, trace: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """A scenario's observation: ``functions`` (``observe_invocations``) and ``resources`` (``observe_state``)."""
    resources = list(app.record.resources.values())
    return {"functions": observe_invocations(trace, function_names(resources)),
            "resources": observe_state(account, resources)}
