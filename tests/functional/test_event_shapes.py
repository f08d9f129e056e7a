"""Events on every local target as AWS shapes them (moto and LocalStack corrected where they differ):
S3 to EventBridge (shape, unique ids, increasing sequencers, the default bus only, enabled rules
only, input transformers, no "Object Tags Added" for a plain upload), classic S3 notifications to
SQS, events put on a bus, DynamoDB stream records."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from harness.cloud import CloudAccount
from harness.targets.s3_event_fields import owner_id

KEY = "dir/a b+c:d.txt"


def _bodies(sqs: Any, url: str, expected: int) -> list[Any]:
    bodies: list[Any] = []
    for _ in range(20):
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get("Messages", [])
        bodies += [json.loads(m["Body"]) for m in messages]
        if len(bodies) >= expected:
            break
    return bodies


def _eventbridge_bucket(account: CloudAccount, make_queue: Any, name: str, *, bus: str = "default",
                        state: str = "ENABLED", **target: Any) -> tuple[str, str]:
    s3, events = account.client("s3"), account.client("events")
    bucket = f"{name}-{account.account_id}"
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration={"EventBridgeConfiguration": {}})
    url, arn = make_queue(name)
    if bus != "default":
        events.create_event_bus(Name=bus)
    events.put_rule(Name=name, EventBusName=bus, State=state,
                    EventPattern=json.dumps({"source": ["aws.s3"], "detail": {"bucket": {"name": [bucket]}}}))
    events.put_targets(Rule=name, EventBusName=bus, Targets=[{"Id": "q", "Arn": arn, **target}])
    return bucket, url


def test_object_created_events_are_shaped_as_aws_sends_them(account: CloudAccount, make_queue: Any) -> None:
    bucket, url = _eventbridge_bucket(account, make_queue, "created")
    s3 = account.client("s3")
    s3.put_object(Bucket=bucket, Key=KEY, Body=b"one")
    s3.put_object(Bucket=bucket, Key=KEY, Body=b"two")
    events = _bodies(account.client("sqs"), url, 2)
    assert [e["detail-type"] for e in events] == ["Object Created"] * 2  # no "Object Tags Added"
    by_etag = {e["detail"]["object"]["etag"]: e for e in events}  # a queue need not keep their order
    first = by_etag[hashlib.md5(b"one").hexdigest()]["detail"]
    second = by_etag[hashlib.md5(b"two").hexdigest()]["detail"]
    assert first["object"]["key"] == "dir/a+b%2Bc:d.txt" and first["object"]["size"] == 3
    assert set(first["object"]) == {"key", "size", "etag", "sequencer"}  # unversioned: no version-id
    assert first["reason"] == "PutObject" and first["requester"] == account.account_id
    assert events[0]["account"] == account.account_id and events[0]["time"].endswith("Z")
    assert events[0]["id"] != events[1]["id"] and first["request-id"] != second["request-id"]
    assert len(first["request-id"]) == 16 and len(first["object"]["sequencer"]) == 18
    assert first["object"]["sequencer"] < second["object"]["sequencer"]  # they order a key's events


def test_tags_copies_deletes_and_versions_raise_what_aws_raises(account: CloudAccount, make_queue: Any) -> None:
    bucket, url = _eventbridge_bucket(account, make_queue, "lifecycle")
    s3 = account.client("s3")
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    version = s3.put_object(Bucket=bucket, Key="a.txt", Body=b"x", Tagging="k=v")["VersionId"]
    s3.put_object_tagging(Bucket=bucket, Key="a.txt", Tagging={"TagSet": [{"Key": "k", "Value": "w"}]})
    s3.copy_object(Bucket=bucket, Key="b.txt", CopySource={"Bucket": bucket, "Key": "a.txt"})
    s3.delete_object(Bucket=bucket, Key="a.txt")
    events = _bodies(account.client("sqs"), url, 4)  # in any order: a queue need not keep it
    kinds = {(e["detail-type"], e["detail"].get("reason")): e["detail"] for e in events}
    assert sorted(kinds) == [("Object Created", "CopyObject"), ("Object Created", "PutObject"),
                             ("Object Deleted", "DeleteObject"), ("Object Tags Added", None)] and len(events) == 4
    assert kinds[("Object Created", "PutObject")]["object"]["version-id"] == version
    assert kinds[("Object Deleted", "DeleteObject")]["deletion-type"] == "Delete Marker Created"


def test_only_enabled_rules_of_the_default_bus_receive_s3_events(account: CloudAccount, make_queue: Any) -> None:
    other_bucket, other_bus = _eventbridge_bucket(account, make_queue, "custombus", bus="custom")
    off_bucket, off = _eventbridge_bucket(account, make_queue, "disabled", state="DISABLED")
    s3 = account.client("s3")
    s3.put_object(Bucket=other_bucket, Key="k", Body=b"x")
    s3.put_object(Bucket=off_bucket, Key="k", Body=b"x")
    sqs = account.client("sqs")
    assert _bodies(sqs, other_bus, 1) == [] and _bodies(sqs, off, 1) == []


def test_a_targets_input_transformer_applies_to_s3_events(account: CloudAccount, make_queue: Any) -> None:
    transformer = {"InputPathsMap": {"key": "$.detail.object.key"}, "InputTemplate": '{"uploaded": <key>}'}
    bucket, url = _eventbridge_bucket(account, make_queue, "transformed", InputTransformer=transformer)
    account.client("s3").put_object(Bucket=bucket, Key="in/x y.txt", Body=b"x")
    assert _bodies(account.client("sqs"), url, 1) == [{"uploaded": "in/x+y.txt"}]


def test_events_put_on_the_bus_reach_a_queue_with_their_account(account: CloudAccount, make_queue: Any) -> None:
    url, arn = make_queue("put-events")
    events = account.client("events")
    events.put_rule(Name="mine", EventPattern=json.dumps({"source": ["app"]}))
    events.put_targets(Rule="mine", Targets=[{"Id": "q", "Arn": arn}])
    events.put_events(Entries=[{"Source": "app", "DetailType": "Thing", "Detail": "{}"}])
    [event] = _bodies(account.client("sqs"), url, 1)
    assert event["account"] == account.account_id and "ingestion-time" not in event


def test_classic_notifications_carry_the_records_fields_aws_sends(account: CloudAccount, make_queue: Any) -> None:
    s3 = account.client("s3")
    bucket = f"classic-{account.account_id}"
    s3.create_bucket(Bucket=bucket)
    url, arn = make_queue("classic")
    s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration={
        "QueueConfigurations": [{"Id": "up", "QueueArn": arn, "Events": ["s3:ObjectCreated:*"]}]})
    s3.put_object(Bucket=bucket, Key=KEY, Body=b"x")
    bodies = [b for b in _bodies(account.client("sqs"), url, 2) if "Records" in b]  # after S3's test event
    [record] = bodies[0]["Records"]
    assert record["eventName"] == "ObjectCreated:Put" and record["s3"]["configurationId"] == "up"
    assert record["s3"]["object"]["key"] == "dir/a+b%2Bc:d.txt" and len(record["s3"]["object"]["sequencer"]) == 18
    assert record["s3"]["bucket"]["ownerIdentity"]["principalId"] == owner_id(account.account_id)  # not the account
    assert record["requestParameters"] == {"sourceIPAddress": "127.0.0.1"}
    assert len(record["responseElements"]["x-amz-request-id"]) == 16


def test_dynamodb_stream_records_and_labels_are_shaped_as_aws_writes_them(account: CloudAccount) -> None:
    import re

    ddb, streams = account.client("dynamodb"), account.client("dynamodbstreams")
    table = ddb.create_table(TableName="jobs", BillingMode="PAY_PER_REQUEST",
                             AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                             KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                             StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"})
    label = table["TableDescription"]["LatestStreamLabel"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}", label), label  # milliseconds, as on AWS
    ddb.put_item(TableName="jobs", Item={"pk": {"S": "a"}})
    arn = table["TableDescription"]["LatestStreamArn"]
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")
    [record] = streams.get_records(ShardIterator=iterator["ShardIterator"])["Records"]
    assert record["eventVersion"] == "1.1" and record["awsRegion"] == account.scope.region
