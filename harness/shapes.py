"""Shapes of JSON values: keys and types, strings by their format, never their value (pure, stdlib
only: the LocalStack executor imports it inside LocalStack's process).

Two payloads with the same shape differ only in values a handler cannot rely on (ids, times,
sizes), which is how the conformance tests compare events with AWS's and how ``harness parity``
compares what two targets delivered.
"""

from __future__ import annotations

import json
import re
from typing import Any

_FORMATS = (
    ("arn", re.compile(r"arn:aws[a-z-]*:[a-z0-9-]+:[a-z0-9-]*:\d{0,12}:.+")),
    ("url", re.compile(r"https?://\S+")),
    ("uuid", re.compile(r"[0-9a-z]{8}-[0-9a-z]{4}-[0-9a-z]{4}-[0-9a-z]{4}-[0-9a-z]{12}")),
    ("md5", re.compile(r"[0-9a-f]{32}")),
    ("digits", re.compile(r"\d+")),
)
_ISO_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.(\d+))?(Z|[+-]\d\d:?\d\d)?")


def string_format(value: str) -> str:
    """The format class of a string: an ISO time with its fraction digits and zone (``iso8601.3Z``),
    an ARN, a URL, a UUID-shaped id, an md5, digits, or text."""
    if match := _ISO_TIME.fullmatch(value):
        return f"iso8601.{len(match.group(1) or '')}{match.group(2) or ''}"
    return next((name for name, regex in _FORMATS if regex.fullmatch(value)), "text")


def shape(value: Any, *, formats: bool = False) -> Any:
    """Keys and JSON types of ``value`` (strings as ``str``, or their format class with
    ``formats``); a list is represented by its first element."""
    if isinstance(value, dict):
        return {key: shape(item, formats=formats) for key, item in value.items()}
    if isinstance(value, list):
        return [shape(value[0], formats=formats)] if value else []
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    if value is None:
        return "null"
    if formats and isinstance(value, str):
        return string_format(value)
    return type(value).__name__


def event_summary(payload: bytes) -> tuple[list[Any], int, list[str]]:
    """The distinct shapes (with string formats) of the event a handler was given, how many records
    it carries, and their ids. An event with ``Records`` (SQS, streams, S3, SNS) gives one shape per
    distinct record (the event with that record alone), so how a poller batched records does not
    change the shapes, and each record's id where it has one (``messageId``, ``eventID``, an SNS
    ``MessageId``, an S3 request id), so a redelivered record can be told from a new one; any other
    event gives its own shape, counts one and names no id. A payload that is not JSON is ``["bytes"]``."""
    try:
        event = json.loads(payload) if payload else None
    except ValueError:
        return ["bytes"], 1, []
    if not isinstance(event, dict) or not isinstance(event.get("Records"), list) or not event["Records"]:
        return [shape(event, formats=True)], 1, []
    records = event["Records"]
    shapes = {json.dumps(shape({**event, "Records": [record]}, formats=True), sort_keys=True) for record in records}
    ids = [i for i in (_record_id(r) for r in records) if i]
    return [json.loads(text) for text in sorted(shapes)], len(records), ids


def _record_id(record: Any) -> str | None:
    if not isinstance(record, dict):
        return None
    sns, response = record.get("Sns"), record.get("responseElements")
    found = (record.get("messageId") or record.get("eventID") or (sns.get("MessageId") if isinstance(sns, dict) else None)
             or (response.get("x-amz-request-id") if isinstance(response, dict) else None))
    return str(found) if found else None


def failed_items(event: bytes, response: bytes, errored: bool, records: int, ids: list[str]) -> tuple[int, list[str]]:
    """How many records of an invocation failed and the ids (as ``event_summary`` names them) of
    those that have one: all of them when it raised, else those its partial batch response names
    (``batchItemFailures``: an SQS ``messageId``, a stream record's ``SequenceNumber``). ``records``
    and ``ids``: ``event_summary`` of ``event`` (pure)."""
    if errored:
        return records, list(ids)
    if b"batchItemFailures" not in response:
        return 0, []
    try:
        failures = json.loads(response).get("batchItemFailures")
    except (ValueError, AttributeError):
        return 0, []
    if not isinstance(failures, list) or not failures:
        return 0, []
    named = {str(f.get("itemIdentifier")) for f in failures if isinstance(f, dict)}
    try:
        listed = json.loads(event).get("Records") or []
    except (ValueError, AttributeError):
        listed = []
    failed = [found for record in listed if isinstance(record, dict) and _item_identifier(record) in named
              for found in [_record_id(record)] if found]
    return len(failures), failed


def _item_identifier(record: dict[str, Any]) -> str | None:
    """What a partial batch response names a record by (SQS: its message id; streams: its sequence number)."""
    for key, field in (("dynamodb", "SequenceNumber"), ("kinesis", "sequenceNumber")):
        inner = record.get(key)
        if isinstance(inner, dict) and inner.get(field) is not None:
            return str(inner[field])
    found = record.get("messageId")
    return str(found) if found is not None else None


def shape_differences(left: Any, right: Any, *, other: str = "the other", path: str = "",
                      maps: frozenset[str] = frozenset()) -> list[str]:
    """Where the shape ``left`` differs from the shape ``right`` (both from ``shape``), each as
    ``path: what``, ``other`` naming the right side's source ("AWS", "localstack"). Lists compare
    every element of ``left`` with the first of ``right``. ``maps``: paths of objects whose keys are
    the caller's (headers, claims): only their values' types are compared (pure)."""
    where = path or "(top)"
    if isinstance(right, dict):
        if not isinstance(left, dict):
            return [f"{where}: {left!r} where {other} has an object"]
        if path in maps:
            values = {json.dumps(_untyped(v), sort_keys=True) for v in right.values()}
            return [f"{path}.{key}: {_untyped(item)!r} where {other} has {sorted(values)}"
                    for key, item in left.items() if values and json.dumps(_untyped(item), sort_keys=True) not in values]
        problems = [f"{path}.{key}: missing ({other} sends it)".lstrip(".") for key in right if key not in left]
        problems += [f"{path}.{key}: extra ({other} never sends it)".lstrip(".") for key in left if key not in right]
        for key in right.keys() & left.keys():
            problems += shape_differences(left[key], right[key], other=other, path=f"{path}.{key}".lstrip("."),
                                          maps=maps)
        return problems
    if isinstance(right, list):
        if not isinstance(left, list):
            return [f"{where}: {left!r} where {other} has an array"]
        if not right:
            return [] if not left else [f"{where}: elements where {other} has none"]
        return [problem for index, item in enumerate(left)
                for problem in shape_differences(item, right[0], other=other, path=f"{path}[{index}]", maps=maps)]
    return [] if left == right else [f"{where}: {left} where {other} has {right}"]


def _untyped(value: Any) -> Any:
    """A shape with string formats folded back to ``str`` (map values compare by type only)."""
    if isinstance(value, dict):
        return {key: _untyped(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_untyped(item) for item in value]
    return value if value in ("bool", "number", "null", "bytes", "dict", "list") else "str"
