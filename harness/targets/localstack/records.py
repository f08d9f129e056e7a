"""What LocalStack hands a handler, corrected where it differs from AWS (pure; used by the executor).

LocalStack's SQS event leaves ``stringListValues`` and ``binaryListValues`` out of each message
attribute (AWS sends both, empty), and the ``md5OfBody`` of a message that EventBridge or SNS put
into the queue is not the MD5 of the body the record carries.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any


def corrected_payload(payload: bytes) -> bytes:
    """``payload`` with its SQS records shaped as AWS shapes them; any other payload as it is."""
    if b'"aws:sqs"' not in payload:  # cheap: most payloads are not SQS events
        return payload
    try:
        event = json.loads(payload)
    except ValueError:
        return payload
    records = event.get("Records") if isinstance(event, dict) else None
    if not isinstance(records, list) or not any(_is_sqs(r) for r in records):
        return payload
    for record in filter(_is_sqs, records):
        for attribute in (record.get("messageAttributes") or {}).values():
            if isinstance(attribute, dict):
                attribute.setdefault("stringListValues", [])
                attribute.setdefault("binaryListValues", [])
        if isinstance(record.get("body"), str):
            record["md5OfBody"] = hashlib.md5(record["body"].encode()).hexdigest()
    return json.dumps(event).encode()


def _is_sqs(record: Any) -> bool:
    return isinstance(record, dict) and record.get("eventSource") == "aws:sqs"
