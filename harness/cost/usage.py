"""What one API call uses, in the units AWS bills it by (pure).

- SQS and SNS: a request per 64 KB chunk of its payload (a batch is one request for up to 64 KB).
- EventBridge ``PutEvents``: an event per 64 KB chunk of each entry (custom events; AWS services'
  events on the default bus are free).
- DynamoDB on demand: a write unit per 1 KB of the item written (the larger of the request's item
  and, for updates, the key and the values it sets), plus one write per global secondary index whose
  key the write touches; a read unit per 4 KB read (half for eventually consistent reads), from the
  items the answer carries (a ``Query`` or ``Scan`` that filters reads more than it returns: an
  under-estimate there). Item sizes by DynamoDB's rules (names and values in UTF-8 bytes, numbers
  about one byte per two digits plus one, 3 bytes plus one per element for lists and maps).
- S3: tier-1 requests (PUT, COPY, POST, LIST) and tier-2 (GET and the rest), bytes put.
- Secrets Manager: API calls; SSM Parameter Store: API calls (free for standard parameters).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

CHUNK = 64 * 1024
# table -> the key attribute names of each of its global secondary indexes
IndexKeys = Callable[[str], Sequence[tuple[str, ...]]]
_S3_TIER1 = ("Put", "Copy", "Post", "List", "Create", "Complete", "Upload", "Delete")
_DYNAMODB_WRITES = {"PutItem", "UpdateItem", "DeleteItem"}


def _chunks(size: int) -> int:
    return max(1, math.ceil(size / CHUNK))


def attribute_size(value: Mapping[str, Any]) -> int:
    """The size DynamoDB counts for an attribute value (``{"S": "x"}``)."""
    kind: str
    data: Any
    kind, data = next(iter(value.items())) if value else ("NULL", True)
    if kind in ("S",):
        return len(str(data).encode())
    if kind == "N":
        digits = str(data).lstrip("-").replace(".", "").strip("0") or "0"  # leading, trailing zeroes trimmed
        return (len(digits) + 1) // 2 + 1
    if kind == "B":
        return math.ceil(len(str(data)) * 3 / 4)  # base64 on the wire
    if kind in ("BOOL", "NULL"):
        return 1
    if kind in ("SS", "NS", "BS"):
        return sum(attribute_size({kind[0]: v}) for v in list(data))
    if kind == "L":
        return 3 + sum(attribute_size(v) + 1 for v in list(data))
    if kind == "M":
        return 3 + sum(len(str(k).encode()) + attribute_size(v) + 1 for k, v in dict(data).items())
    return len(json.dumps(data))


def item_size(item: Mapping[str, Any]) -> int:
    return sum(len(name.encode()) + attribute_size(value) for name, value in item.items())


def usage(service: str, operation: str | None, params: Mapping[str, Any], *, request_bytes: int = 0,
          response: Mapping[str, Any] | None = None, index_keys: IndexKeys | None = None) -> dict[str, float]:
    """The billed units of one call ({} for what the estimate does not price)."""
    op = operation or ""
    if service == "sqs":
        return {"sqs_requests": _chunks(_sqs_payload(op, params))}
    if service == "sns" and op in ("Publish", "PublishBatch"):
        size = sum(len(str(e.get("Message", ""))) for e in params.get("PublishBatchRequestEntries") or [params])
        return {"sns_requests": _chunks(size)}
    if service == "events" and op == "PutEvents":
        return {"events_custom": sum(_chunks(len(json.dumps(e))) for e in params.get("Entries") or [])}
    if service in ("dynamodb",):
        return _dynamodb(op, params, response or {}, index_keys)
    if service == "s3":
        tier = "s3_tier1" if op.startswith(_S3_TIER1) else "s3_tier2"
        return {tier: 1, **({"s3_bytes_put": float(request_bytes)} if op == "PutObject" else {})}
    if service == "secretsmanager":
        return {"secretsmanager_calls": 1}
    if service == "ssm":
        return {"ssm_calls": 1}
    return {}


def _sqs_payload(operation: str, params: Mapping[str, Any]) -> int:
    if operation == "SendMessage":
        return len(str(params.get("MessageBody", "")).encode()) + len(json.dumps(params.get("MessageAttributes") or {}))
    if operation == "SendMessageBatch":
        return sum(len(str(e.get("MessageBody", "")).encode()) for e in params.get("Entries") or [])
    return 0


def _dynamodb(operation: str, params: Mapping[str, Any], response: Mapping[str, Any],
              index_keys: IndexKeys | None) -> dict[str, float]:
    table = str(params.get("TableName") or "")
    if operation in _DYNAMODB_WRITES:
        item = params.get("Item") or params.get("Key") or {}
        size = item_size(item) + item_size(params.get("ExpressionAttributeValues") or {})
        if operation == "DeleteItem" or operation == "UpdateItem":
            size = max(size, item_size(response.get("Attributes") or {}))
        return {"dynamodb_wru": math.ceil(max(size, 1) / 1024) * (1 + _indexes_touched(table, operation, params,
                                                                                          index_keys))}
    if operation == "BatchWriteItem":
        writes = 0
        for name, requests in (params.get("RequestItems") or {}).items():
            for request in requests:
                item = (request.get("PutRequest") or {}).get("Item") or (request.get("DeleteRequest") or {}).get("Key")
                writes += math.ceil(max(item_size(item or {}), 1) / 1024) * (
                    1 + _indexes_touched(name, "PutItem", {"Item": item or {}}, index_keys))
        return {"dynamodb_wru": writes}
    if operation == "TransactWriteItems":  # transactions cost twice
        return {"dynamodb_wru": 2 * sum(math.ceil(max(item_size(next(iter(i.values())).get("Item") or
                                                               next(iter(i.values())).get("Key") or {}), 1) / 1024)
                                        for i in params.get("TransactItems") or [])}
    if operation in ("GetItem", "Query", "Scan", "BatchGetItem", "TransactGetItems"):
        units: float
        items = ([response.get("Item")] if response.get("Item") else list(response.get("Items") or []))
        for found in (response.get("Responses") or {}).values() if isinstance(response.get("Responses"), dict) else ():
            items += found
        sizes = [item_size(i) for i in items if isinstance(i, Mapping)]
        if operation in ("Query", "Scan"):  # one unit per 4 KB of what the call read, together
            units = float(math.ceil(max(sum(sizes), 1) / 4096))
        else:  # per item, a missing one still read
            units = float(sum(math.ceil(max(size, 1) / 4096) for size in sizes) or 1)
        consistent = params.get("ConsistentRead") or operation == "TransactGetItems"
        return {"dynamodb_rru": units * (2 if operation == "TransactGetItems" else 1 if consistent else 0.5)}
    return {}


def _indexes_touched(table: str, operation: str, params: Mapping[str, Any], index_keys: IndexKeys | None) -> int:
    """How many of the table's global secondary indexes the write updates (their keys in the item,
    or named by the update's expression)."""
    if index_keys is None or not table:
        return 0
    if operation == "UpdateItem":
        text = str(params.get("UpdateExpression") or "")
        named = set((params.get("ExpressionAttributeNames") or {}).values()) | set(text.replace(",", " ").split())
        return sum(1 for keys in index_keys(table) if any(k in named for k in keys))
    item = params.get("Item") or {}
    if operation == "DeleteItem":
        return len(index_keys(table))  # the deleted item's index entries (when it had the keys)
    return sum(1 for keys in index_keys(table) if all(k in item for k in keys))
