"""What LocalStack hands a handler, corrected where it differs from AWS (pure; used by the executor).

LocalStack's SQS event leaves ``stringListValues`` and ``binaryListValues`` out of each message
attribute (AWS sends both, empty), and the ``md5OfBody`` of a message that EventBridge or SNS put
into the queue is not the MD5 of the body the record carries. Its DynamoDB stream records carry a
UUID as ``eventID`` (AWS: 32 hex digits).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any


def _sqs(record: dict[str, Any]) -> None:
    for attribute in (record.get("messageAttributes") or {}).values():
        if isinstance(attribute, dict):
            attribute.setdefault("stringListValues", [])
            attribute.setdefault("binaryListValues", [])
    if isinstance(record.get("body"), str):
        record["md5OfBody"] = hashlib.md5(record["body"].encode()).hexdigest()


def _dynamodb(record: dict[str, Any]) -> None:
    if isinstance(record.get("eventID"), str):
        record["eventID"] = record["eventID"].replace("-", "")


# eventSource -> the correction of one record of that source
CORRECTIONS: dict[str, Callable[[dict[str, Any]], None]] = {"aws:sqs": _sqs, "aws:dynamodb": _dynamodb}
_MARKERS = tuple(f'"{source}"'.encode() for source in CORRECTIONS)


def corrected_payload(payload: bytes) -> bytes:
    """``payload`` with its SQS and DynamoDB stream records shaped as AWS shapes them; any other
    payload as it is, byte for byte."""
    if not any(marker in payload for marker in _MARKERS):  # cheap: most payloads need nothing
        return payload
    try:
        event = json.loads(payload)
    except ValueError:
        return payload
    records = event.get("Records") if isinstance(event, dict) else None
    if not isinstance(records, list):
        return payload
    fixes = [(CORRECTIONS[r["eventSource"]], r) for r in records
             if isinstance(r, dict) and r.get("eventSource") in CORRECTIONS]
    if not fixes:
        return payload
    for correct, record in fixes:
        correct(record)
    return json.dumps(event).encode()
