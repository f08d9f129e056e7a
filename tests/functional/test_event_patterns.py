"""EventBridge patterns as AWS checks them: TestEventPattern answers, PutRule refuses what AWS refuses."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from harness.cloud import CloudAccount

EVENT = {"id": "1", "account": "111122223333", "source": "aws.s3", "time": "2026-12-01T00:00:00Z",
         "region": "us-east-1", "resources": [], "detail-type": "Object Created",
         "detail": {"object": {"key": "incoming/a.txt", "size": 300}, "reason": "PutObject"}}


@pytest.mark.parametrize(("pattern", "result"), [
    ({"source": ["aws.s3"]}, True),
    ({"source": ["aws.ec2"]}, False),
    ({"detail": {"object": {"key": [{"prefix": "incoming/"}]}}}, True),
    ({"detail": {"object": {"size": [{"numeric": [">", 100, "<=", 300]}]}}}, True),
    ({"detail": {"reason": [{"anything-but": ["PutObject", "CopyObject"]}]}}, False),
    ({"detail": {"version-id": [{"exists": False}]}}, True),
    ({"$or": [{"source": ["x"]}, {"detail-type": ["Object Created"]}]}, True),
    ({"detail": {"object": [{"exists": True}]}}, False),             # exists is about leaf values
    ({"detail.object.key": [{"prefix": "incoming/"}]}, True),        # a dotted key is a nested path
    ({"detail": {"object": {"size": [300.0]}}}, True),               # numbers equal by value
])
def test_test_event_pattern_answers_whether_the_event_matches(account: CloudAccount, pattern: dict[str, Any],
                                                              result: bool) -> None:
    answer = account.client("events").test_event_pattern(EventPattern=json.dumps(pattern), Event=json.dumps(EVENT))
    assert answer["Result"] is result


@pytest.mark.parametrize("pattern", [
    {"source": "aws.s3"},                                          # a leaf that is not an array
    {"detail": {"size": [{"numeric": [">", "one hundred"]}]}},     # a non-numeric bound
    {"detail": {"key": [{"begins-with": "in"}]}},                  # an operator that does not exist
    {"detail": {"key": [{"prefix": 1}]}},                          # a prefix that is not a string
])
def test_put_rule_refuses_a_pattern_aws_refuses(account: CloudAccount, pattern: dict[str, Any]) -> None:
    events = account.client("events")
    with pytest.raises(ClientError) as refused:
        events.put_rule(Name="bad", EventPattern=json.dumps(pattern))
    assert refused.value.response["Error"]["Code"] == "InvalidEventPatternException"
    with pytest.raises(ClientError) as tested:
        events.test_event_pattern(EventPattern=json.dumps(pattern), Event=json.dumps(EVENT))
    assert tested.value.response["Error"]["Code"] == "InvalidEventPatternException"
    assert "bad" not in [r["Name"] for r in events.list_rules()["Rules"]]


def test_a_mapping_with_an_invalid_filter_is_refused_at_creation(account: CloudAccount, deploy: Any,
                                                                   make_queue: Any) -> None:
    deploy("filtered", "def handler(event, context):\n    return None\n")
    _, arn = make_queue("filtered")
    lam = account.client("lambda")
    with pytest.raises(ClientError) as refused:
        lam.create_event_source_mapping(FunctionName="filtered", EventSourceArn=arn, FilterCriteria={
            "Filters": [{"Pattern": json.dumps({"body": {"kind": "invoice"}})}]})  # a leaf must be an array
    assert refused.value.response["Error"]["Code"] == "InvalidParameterValueException"
    assert lam.list_event_source_mappings(FunctionName="filtered")["EventSourceMappings"] == []
    created = lam.create_event_source_mapping(FunctionName="filtered", EventSourceArn=arn, FilterCriteria={
        "Filters": [{"Pattern": json.dumps({"body": {"kind": ["invoice"]}})}]})
    assert created["UUID"]


def test_rules_deliver_the_envelope_to_queues_and_fifo_queues_need_content_based_deduplication(
        account: CloudAccount, make_queue: Any) -> None:
    """An SQS target gets the event as AWS delivers it (the envelope's keys, ``time`` to the second);
    a FIFO target gets it with the target's message group, and only when its queue deduplicates by
    content (AWS: "you must enable content-based deduplication"), else the invocation fails."""
    sqs, events = account.client("sqs"), account.client("events")
    plain_url, plain = make_queue("orders")
    fifo_url, fifo = make_queue("orders.fifo", FifoQueue="true", ContentBasedDeduplication="true")
    strict_url, strict = make_queue("strict.fifo", FifoQueue="true")
    events.put_rule(Name="orders", EventPattern=json.dumps({"source": ["shop"]}))
    events.put_targets(Rule="orders", Targets=[
        {"Id": "plain", "Arn": plain}, {"Id": "fifo", "Arn": fifo, "SqsParameters": {"MessageGroupId": "g"}},
        {"Id": "strict", "Arn": strict, "SqsParameters": {"MessageGroupId": "g"}}])
    events.put_events(Entries=[{"Source": "shop", "DetailType": "Order Placed", "Detail": json.dumps({"n": 1})}])
    account.settle()

    def bodies(url: str) -> list[dict[str, Any]]:
        got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1,
                                  MessageSystemAttributeNames=["MessageGroupId"]).get("Messages", [])
        return [{**json.loads(m["Body"]), "_group": m.get("Attributes", {}).get("MessageGroupId")} for m in got]

    [event] = bodies(plain_url)
    assert set(event) - {"_group"} == {"version", "id", "detail-type", "source", "account", "time", "region",
                                       "resources", "detail"}
    assert event["account"] == account.account_id and event["detail"] == {"n": 1}
    assert len(event["time"]) == 20 and event["time"].endswith("Z")  # 2026-12-01T10:00:00Z
    [ordered] = bodies(fifo_url)
    assert ordered["id"] == event["id"] and ordered["_group"] == "g"
    assert bodies(strict_url) == []
