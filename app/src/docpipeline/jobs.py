"""JobStore: the four access patterns over the single table (see keys.py for the design)."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from boto3.dynamodb.conditions import Key
from botocore.exceptions import ClientError

from docpipeline import keys


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def encode_token(value: dict[str, Any] | None) -> str | None:
    if not value:
        return None
    return base64.urlsafe_b64encode(json.dumps(value, default=str).encode()).decode()


def decode_token(token: str | None) -> dict[str, Any] | None:
    """Raises ValueError for a token this API did not issue."""
    if not token:
        return None
    try:
        value = json.loads(base64.urlsafe_b64decode(token.encode()))
    except (ValueError, TypeError) as exc:
        raise ValueError("nextToken is not valid") from exc
    if not isinstance(value, dict):
        raise ValueError("nextToken is not valid")
    return value


class JobStore:
    """Reads and writes jobs; ``table`` is a boto3 DynamoDB Table resource."""

    def __init__(self, table: Any, clock: Callable[[], str] = now_iso) -> None:
        self.table = table
        self.client = table.meta.client
        self.clock = clock

    def create(self, *, job_id: str, doc_type: str, user_id: str, file_name: str,
               created_at: str | None = None, status: str = "PENDING") -> dict[str, Any]:
        """Write a job and its timeline item together; fails if the job exists."""
        created = created_at or self.clock()
        item = keys.job_item(job_id=job_id, doc_type=doc_type, user_id=user_id, created_at=created,
                             status=status, file_name=file_name,
                             document_key=keys.document_key(doc_type, user_id, job_id, file_name))
        timeline = keys.timeline_item(job_id=job_id, created_at=created)
        self.client.transact_write_items(TransactItems=[
            {"Put": {"TableName": self.table.name, "Item": item,
                     "ConditionExpression": "attribute_not_exists(PK)"}},
            {"Put": {"TableName": self.table.name, "Item": timeline}},
        ])
        return item

    def ensure(self, *, job_id: str, doc_type: str, user_id: str, file_name: str) -> dict[str, Any]:
        """The job, created first when a document arrived without POST /jobs (a batch import)."""
        existing = self.get(job_id)
        if existing is not None:
            return existing
        try:
            return self.create(job_id=job_id, doc_type=doc_type, user_id=user_id, file_name=file_name)
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "TransactionCanceledException":
                raise
            found = self.get(job_id)  # created concurrently by another delivery
            if found is None:
                raise
            return found

    def get(self, job_id: str) -> dict[str, Any] | None:
        item: dict[str, Any] | None = self.table.get_item(Key=keys.job_key(job_id),
                                                          ConsistentRead=True).get("Item")
        return item

    def set_status(self, job: dict[str, Any], status: str, **fields: Any) -> dict[str, Any]:
        """Move a job to ``status`` (and its GSI1 partition), setting extra attributes."""
        values = {"status": status, "GSI1PK": keys.type_status_pk(job["type"], status),
                  "updatedAt": self.clock(), **fields}
        names = {f"#{k}": k for k in values}
        expression = "SET " + ", ".join(f"#{k} = :{k}" for k in values)
        self.table.update_item(
            Key=keys.job_key(job["jobId"]), UpdateExpression=expression,
            ExpressionAttributeNames=names, ExpressionAttributeValues={f":{k}": v for k, v in values.items()},
        )
        return {**job, **values}

    def by_type_status(self, doc_type: str, status: str, *, limit: int = 50,
                       token: str | None = None) -> tuple[list[dict[str, Any]], str | None]:
        return self._query("GSI1", Key("GSI1PK").eq(keys.type_status_pk(doc_type, status)), limit, token)

    def by_user(self, user_id: str, *, limit: int = 50,
                token: str | None = None) -> tuple[list[dict[str, Any]], str | None]:
        return self._query("GSI2", Key("GSI2PK").eq(keys.user_pk(user_id)), limit, token)

    def _query(self, index: str, condition: Any, limit: int,
               token: str | None) -> tuple[list[dict[str, Any]], str | None]:
        kwargs: dict[str, Any] = {"IndexName": index, "KeyConditionExpression": condition,
                                  "Limit": limit, "ScanIndexForward": False}
        start = decode_token(token)
        if start:
            kwargs["ExclusiveStartKey"] = start
        page = self.table.query(**kwargs)
        return page.get("Items", []), encode_token(page.get("LastEvaluatedKey"))

    def by_time(self, start: str, end: str, *, limit: int = 50,
                token: str | None = None) -> tuple[list[dict[str, Any]], str | None]:
        """Jobs created in [start, end] (ISO), oldest first: a Query per day, then BatchGetItem."""
        cursor = decode_token(token) or {}
        days = keys.days_between(start, end)
        if cursor.get("day"):
            days = [d for d in days if d >= cursor["day"]]
        ids: list[str] = []
        next_cursor: dict[str, Any] | None = None
        for day in days:
            kwargs: dict[str, Any] = {
                "KeyConditionExpression": Key("PK").eq(f"DAY#{day}") & Key("SK").between(start, end + "~"),
                "Limit": limit - len(ids),
            }
            if cursor.get("day") == day and cursor.get("key"):
                kwargs["ExclusiveStartKey"] = cursor["key"]
            page = self.table.query(**kwargs)
            ids.extend(item["jobId"] for item in page.get("Items", []))
            if len(ids) >= limit:
                last = page.get("LastEvaluatedKey")
                later = [d for d in days if d > day]
                if last:
                    next_cursor = {"day": day, "key": last}
                elif later:
                    next_cursor = {"day": later[0]}
                break
        return self._batch_get(ids), encode_token(next_cursor)

    def _batch_get(self, job_ids: list[str]) -> list[dict[str, Any]]:
        """The job items, in ``job_ids`` order (the resource's client (de)serializes values)."""
        found: dict[str, dict[str, Any]] = {}
        for start in range(0, len(job_ids), 100):
            request: dict[str, Any] = {
                self.table.name: {"Keys": [keys.job_key(j) for j in job_ids[start:start + 100]]}}
            while request:
                response = self.client.batch_get_item(RequestItems=request)
                for item in response.get("Responses", {}).get(self.table.name, []):
                    found[item["jobId"]] = item
                request = response.get("UnprocessedKeys") or {}
        return [found[j] for j in job_ids if j in found]
