"""DynamoDB Streams -> Lambda: the DynamoDB part of the stream poller (``streams.StreamPoller``)."""

from __future__ import annotations

import time
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from harness.wiring.destinations import stream_batch_record
from harness.wiring.streams import StreamPoller


def build_record(record: Mapping[str, Any], stream_arn: str, region: str) -> dict[str, Any]:
    """One GetRecords record as a record of Lambda's DynamoDB event (pure)."""
    dynamodb = dict(record["dynamodb"])
    created = dynamodb.get("ApproximateCreationDateTime")
    if isinstance(created, datetime):
        dynamodb["ApproximateCreationDateTime"] = float(int(created.timestamp()))
    out: dict[str, Any] = {
        "eventID": record["eventID"],
        "eventName": record["eventName"],
        "eventVersion": "1.1",  # what Lambda's DynamoDB events carry today (emulators say 1.0)
        "eventSource": "aws:dynamodb",
        "awsRegion": region,
        "dynamodb": dynamodb,
        "eventSourceARN": stream_arn,
    }
    identity = record.get("userIdentity")
    if identity:  # the API's PrincipalId/Type are principalId/type in Lambda's event (TTL deletions)
        out["userIdentity"] = {"type": identity.get("Type"), "principalId": identity.get("PrincipalId")}
    return out


class DynamoDBStreamPoller(StreamPoller):
    """Serves one DynamoDB stream event source mapping."""

    client_name = "dynamodbstreams"

    def shard_ids(self) -> list[str]:
        description = self._streams.describe_stream(StreamArn=self.mapping.source_arn)["StreamDescription"]
        return [str(shard["ShardId"]) for shard in description.get("Shards", [])]

    def shard_iterator(self, shard_id: str, position: str) -> str:
        return str(self._streams.get_shard_iterator(StreamArn=self.mapping.source_arn, ShardId=shard_id,
                                                    ShardIteratorType=position)["ShardIterator"])

    def read(self, iterator: str, limit: int) -> tuple[list[dict[str, Any]], str | None]:
        response = self._streams.get_records(ShardIterator=iterator, Limit=limit)
        return list(response.get("Records", [])), response.get("NextShardIterator")

    def build(self, record: Mapping[str, Any]) -> dict[str, Any]:
        return build_record(record, self.mapping.source_arn, self._region)

    def sequence_number(self, record: Mapping[str, Any]) -> str:
        return str(record["dynamodb"]["SequenceNumber"])

    def failure_record(self, *, request_id: str, attempts: int, error: str | None, shard_id: str,
                       batch: list[dict[str, Any]]) -> dict[str, Any]:
        return stream_batch_record(request_id=request_id, function_arn=self.mapping.function_arn,
                                   condition="RetryAttemptsExhausted", approximate_invoke_count=attempts,
                                   function_error=error, shard_id=shard_id, stream_arn=self.mapping.source_arn,
                                   records=batch, now=time.time())
