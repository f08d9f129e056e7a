"""The pollers' direct SQS path on moto (harness/targets/moto_direct.py) answers what the client
answers over the API, for the same queues and messages."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from harness.cloud import CloudAccount
from harness.targets.moto_direct import DirectLambda, DirectSqs


@pytest.fixture(autouse=True)
def _moto_only(account: CloudAccount) -> None:
    if account.scope.direct is None:
        pytest.skip("the target answers the pollers' calls over its API only (no direct path)")


RECEIVE = {"MaxNumberOfMessages": 10, "WaitTimeSeconds": 0, "AttributeNames": ["All"],
           "MessageSystemAttributeNames": ["All"], "MessageAttributeNames": ["All"]}
ATTRIBUTES = {"kind": {"DataType": "String", "StringValue": "invoice"},
              "size": {"DataType": "Number", "StringValue": "42"},
              "blob": {"DataType": "Binary", "BinaryValue": b"\x00\xffbytes"}}


def _answer(response: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in response.items() if k != "ResponseMetadata"}


def _comparable(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A received message without what differs between two receives of it."""
    out = []
    for message in messages:
        message = {k: v for k, v in message.items() if k != "ReceiptHandle"}
        message["Attributes"] = {k: v for k, v in message.get("Attributes", {}).items() if k != "ApproximateReceiveCount"}
        out.append(message)
    return out


@pytest.mark.parametrize("fifo", [False, True], ids=["standard", "fifo"])
def test_direct_receive_and_batches_answer_what_the_api_answers(account: CloudAccount, fifo: bool) -> None:
    api = account.client("sqs")
    direct = account.scope.client("sqs", internal=True, backend_calls=True)
    assert isinstance(direct, DirectSqs)
    name = "work.fifo" if fifo else "work"
    url = api.create_queue(QueueName=name, Attributes={"FifoQueue": "true"} if fifo else {})["QueueUrl"]
    extra = {"MessageGroupId": "g", "MessageDeduplicationId": "d1"} if fifo else {}
    api.send_message(QueueUrl=url, MessageBody='{"n": 1}', MessageAttributes=ATTRIBUTES,
                     MessageSystemAttributes={"AWSTraceHeader": {"DataType": "String", "StringValue": "Root=1-abc"}},
                     **extra)
    if not fifo:
        api.send_message(QueueUrl=url, MessageBody="plain")

    first = _answer(direct.receive_message(QueueUrl=url, **RECEIVE))["Messages"]
    changed = direct.change_message_visibility_batch(QueueUrl=url, Entries=[
        {"Id": str(n), "ReceiptHandle": m["ReceiptHandle"], "VisibilityTimeout": 0} for n, m in enumerate(first)])
    assert _answer(changed) == {"Successful": [{"Id": str(n)} for n in range(len(first))], "Failed": []}
    second = _answer(api.receive_message(QueueUrl=url, **RECEIVE))["Messages"]
    assert _comparable(first) == _comparable(second) and len(first) == (1 if fifo else 2)
    assert [m["Attributes"]["ApproximateReceiveCount"] for m in first + second] == ["1"] * len(first) + ["2"] * len(first)
    assert first[0]["MessageAttributes"]["blob"]["BinaryValue"] == b"\x00\xffbytes"

    entries = [{"Id": "ok", "ReceiptHandle": second[0]["ReceiptHandle"]}, {"Id": "bad", "ReceiptHandle": "nonsense"}]
    via_direct = _answer(direct.delete_message_batch(QueueUrl=url, Entries=entries))
    assert via_direct["Successful"] == [{"Id": "ok"}]
    via_api = _answer(api.delete_message_batch(QueueUrl=url, Entries=[entries[1]]))
    assert via_direct["Failed"] == via_api["Failed"] and via_api["Failed"][0]["Code"] == "ReceiptHandleIsInvalid"
    # What the API received last is in flight: neither path receives anything now.
    assert _answer(direct.receive_message(QueueUrl=url, **RECEIVE)) == _answer(api.receive_message(QueueUrl=url, **RECEIVE)) == {}


def test_what_the_direct_path_does_not_cover_gets_the_apis_answer_and_errors(account: CloudAccount) -> None:
    direct = account.scope.client("sqs", internal=True, backend_calls=True)
    api = account.client("sqs")
    url = api.create_queue(QueueName="work")["QueueUrl"]
    missing = url.rsplit("/", 1)[0] + "/gone"
    with pytest.raises(ClientError) as raised:
        direct.receive_message(QueueUrl=missing, **RECEIVE)
    assert isinstance(raised.value, api.exceptions.QueueDoesNotExist)
    with pytest.raises(ClientError, match="MaxNumberOfMessages"):
        direct.receive_message(QueueUrl=url, MaxNumberOfMessages=11)
    with pytest.raises(ClientError) as empty:
        direct.delete_message_batch(QueueUrl=url, Entries=[])
    assert empty.value.response["Error"]["Code"] in {"EmptyBatchRequest", "AWS.SimpleQueueService.EmptyBatchRequest"}
    assert direct.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"].endswith(":work")


HANDLER = """
def handler(event, context):
    if event.get("fail"):
        raise ValueError("asked to fail")
    return {"echo": event, "request_id": context.aws_request_id}
"""


def _invoked(response: dict[str, Any]) -> dict[str, Any]:
    body = json.loads(response["Payload"].read())
    body.pop("request_id", None)
    return {"StatusCode": response["StatusCode"], "FunctionError": response.get("FunctionError"),
            "ExecutedVersion": response.get("ExecutedVersion"),
            "body": {k: v for k, v in body.items() if k not in ("stackTrace", "requestId")}}


def test_direct_invoke_answers_what_the_api_answers(account: CloudAccount, deploy: Any) -> None:
    api = account.client("lambda")
    direct = account.scope.client("lambda", internal=True, backend_calls=True)
    assert isinstance(direct, DirectLambda)
    arn = deploy("echo", HANDLER)["FunctionArn"]
    for payload in (b'{"n": 1}', b'{"fail": true}'):
        via_api = _invoked(api.invoke(FunctionName=arn, Payload=payload))
        assert _invoked(direct.invoke(FunctionName=arn, InvocationType="RequestResponse", Payload=payload)) == via_api
    assert via_api["FunctionError"] == "Unhandled" and via_api["body"]["errorType"] == "ValueError"

    errors = []
    for client in (api, direct):
        with pytest.raises(ClientError) as raised:
            client.invoke(FunctionName=arn + "-gone", Payload=b"{}")
        errors.append(raised.value.response["Error"]["Code"])
    api.put_function_concurrency(FunctionName=arn, ReservedConcurrentExecutions=0)
    for client in (api, direct):
        with pytest.raises(ClientError) as raised:
            client.invoke(FunctionName=arn, Payload=b"{}")
        errors.append(raised.value.response["Error"]["Code"])
    assert errors == ["ResourceNotFoundException"] * 2 + ["TooManyRequestsException"] * 2


def test_direct_stream_records_are_what_the_api_answers(account: CloudAccount) -> None:
    """Every attribute type, in keys and both images, inserts, updates and removes."""
    ddb = account.client("dynamodb")
    ddb.create_table(TableName="t", BillingMode="PAY_PER_REQUEST",
                     AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                                           {"AttributeName": "sk", "AttributeType": "B"}],
                     KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
                     StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"})
    key = {"pk": {"S": "k"}, "sk": {"B": b"\x00\x01"}}
    item = {**key, "n": {"N": "1.50"}, "b": {"B": b"\xff"}, "ss": {"SS": ["a", "b"]}, "ns": {"NS": ["1", "2"]},
            "bs": {"BS": [b"x", b"y"]}, "m": {"M": {"inner": {"L": [{"S": "v"}, {"NULL": True}, {"BOOL": False}]}}}}
    ddb.put_item(TableName="t", Item=item)
    ddb.update_item(TableName="t", Key=key, UpdateExpression="SET n = :n", ExpressionAttributeValues={":n": {"N": "2"}})
    ddb.delete_item(TableName="t", Key=key)
    streams = account.client("dynamodbstreams")
    direct = account.scope.client("dynamodbstreams", internal=True, backend_calls=True)
    arn = ddb.describe_table(TableName="t")["Table"]["LatestStreamArn"]
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    via_api = _answer(streams.get_records(ShardIterator=iterator, Limit=100))
    via_direct = direct.get_records(ShardIterator=iterator, Limit=100)
    assert [r["eventName"] for r in via_api["Records"]] == ["INSERT", "MODIFY", "REMOVE"]
    assert via_direct["Records"] == via_api["Records"]
    assert [r["dynamodb"]["Keys"]["sk"] for r in via_api["Records"]] == [{"B": b"\x00\x01"}] * 3  # bytes, once
    assert set(via_direct) == set(via_api) == {"NextShardIterator", "Records"}
    following = direct.get_records(ShardIterator=via_direct["NextShardIterator"])
    assert following["Records"] == [] and following["NextShardIterator"]
    asked: list[dict[str, Any]] = []
    direct._client = type("Client", (), {"get_records": lambda self, **p: asked.append(p) or {"Records": []}})()
    direct.get_records(ShardIterator=iterator + "-not-one")  # not one of moto's: the API's answer
    assert asked == [{"ShardIterator": iterator + "-not-one"}]
