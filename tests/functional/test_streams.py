"""DynamoDB Streams -> Lambda: order, retries, bisection, item failures, OnFailure."""

from __future__ import annotations

import json
from typing import Any

import pytest

from harness.cloud import CloudAccount
from tests.functional.conftest import RECORDER, drain
from tests.shape import golden, shape

POISON = RECORDER + """
def handler(event, context):
    ids = [r["dynamodb"]["Keys"]["pk"]["S"] for r in event["Records"]]
    record({"ids": ids})
    if any(i == "poison" for i in ids):
        raise RuntimeError("poison record in batch")
"""


def _table(account: CloudAccount, name: str) -> str:
    ddb = account.client("dynamodb")
    table = ddb.create_table(
        TableName=name, BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )
    return str(table["TableDescription"]["LatestStreamArn"])


def _put(account: CloudAccount, table: str, *keys: str) -> None:
    for key in keys:
        account.client("dynamodb").put_item(TableName=table, Item={"pk": {"S": key}, "v": {"N": "1"}})


@pytest.mark.targets("moto", reason="LocalStack 2026.3.0 does not bisect a failing stream batch "
                                     "(BisectBatchOnFunctionError): it retries the whole batch, then gives it up")
def test_poison_record_is_bisected_out_and_sent_to_on_failure(
    account: CloudAccount, deploy: Any, make_queue: Any
) -> None:
    record_url, _ = make_queue("record.fifo", FifoQueue="true")
    failure_url, failure_arn = make_queue("stream-failures")
    stream_arn = _table(account, "items")
    deploy("stream-worker", POISON, Environment={"Variables": {"RECORD_URL": record_url}})
    keys = ["a", "b", "c", "poison", "d", "e", "f", "g"]
    _put(account, "items", *keys)  # written before the mapping: TRIM_HORIZON reads them in one batch
    account.client("lambda").create_event_source_mapping(
        FunctionName="stream-worker", EventSourceArn=stream_arn, StartingPosition="TRIM_HORIZON",
        BatchSize=8, BisectBatchOnFunctionError=True, MaximumRetryAttempts=1,
        DestinationConfig={"OnFailure": {"Destination": failure_arn}},
    )
    account.settle(timeout=30)

    batches = [json.loads(m["Body"])["ids"] for m in drain(account, record_url)]
    assert batches[0] == keys
    succeeded = [b for b in batches if "poison" not in b]
    assert sorted(k for b in succeeded for k in b) == sorted(k for k in keys if k != "poison")
    (failure,) = [json.loads(m["Body"]) for m in drain(account, failure_url)]
    assert shape(failure) == shape(golden("dynamodb_stream_on_failure.json"))
    info = failure["DDBStreamBatchInfo"]
    assert info["batchSize"] == 1 and info["streamArn"] == stream_arn
    assert failure["requestContext"]["condition"] == "RetryAttemptsExhausted"


def test_stream_event_has_aws_shape_and_order(account: CloudAccount, deploy: Any, make_queue: Any) -> None:
    record_url, _ = make_queue("record.fifo", FifoQueue="true")
    stream_arn = _table(account, "ordered")
    deploy("recorder", RECORDER + "\ndef handler(event, context):\n    record(event)\n",
           Environment={"Variables": {"RECORD_URL": record_url}})
    account.client("lambda").create_event_source_mapping(
        FunctionName="recorder", EventSourceArn=stream_arn, StartingPosition="LATEST", BatchSize=3)
    account.settle()
    _put(account, "ordered", *[f"k{i}" for i in range(7)])
    account.client("dynamodb").update_item(
        TableName="ordered", Key={"pk": {"S": "k0"}}, UpdateExpression="SET v = :v",
        ExpressionAttributeValues={":v": {"N": "2"}})
    account.settle()
    events = [json.loads(m["Body"]) for m in drain(account, record_url)]
    records = [r for e in events for r in e["Records"]]
    assert [r["eventName"] for r in records] == ["INSERT"] * 7 + ["MODIFY"]
    assert [r["dynamodb"]["Keys"]["pk"]["S"] for r in records] == [f"k{i}" for i in range(7)] + ["k0"]
    assert all(len(e["Records"]) <= 3 for e in events)
    modify_golden = golden("dynamodb_stream.json")["Records"][1]
    assert shape(records[-1])["dynamodb"].keys() == shape(modify_golden)["dynamodb"].keys()
    assert shape(records[-1]) == {**shape(modify_golden), "dynamodb": shape(records[-1]["dynamodb"])}
    assert records[0]["eventSourceARN"] == stream_arn


def test_report_batch_item_failures_retries_from_the_failed_record(
    account: CloudAccount, deploy: Any, make_queue: Any
) -> None:
    record_url, _ = make_queue("record.fifo", FifoQueue="true")
    stream_arn = _table(account, "partial")
    source = RECORDER + """
import boto3
ddb = boto3.client("dynamodb")
def handler(event, context):
    ids = [r["dynamodb"]["Keys"]["pk"]["S"] for r in event["Records"]]
    record({"ids": ids})
    seen = ddb.get_item(TableName="partial", Key={"pk": {"S": "flag"}}).get("Item")
    if "c" in ids and not seen:
        ddb.put_item(TableName="partial", Item={"pk": {"S": "flag"}})
        failed = next(r for r in event["Records"] if r["dynamodb"]["Keys"]["pk"]["S"] == "c")
        return {"batchItemFailures": [{"itemIdentifier": failed["dynamodb"]["SequenceNumber"]}]}
    return {"batchItemFailures": []}
"""
    deploy("partial-fn", source, Environment={"Variables": {"RECORD_URL": record_url}})
    _put(account, "partial", "a", "b", "c", "d")
    account.client("lambda").create_event_source_mapping(
        FunctionName="partial-fn", EventSourceArn=stream_arn, StartingPosition="TRIM_HORIZON",
        BatchSize=4, FunctionResponseTypes=["ReportBatchItemFailures"])
    account.settle()
    batches = [json.loads(m["Body"])["ids"] for m in drain(account, record_url)]
    assert batches[:2] == [["a", "b", "c", "d"], ["c", "d"]]
