"""Conformance: what a capture function receives, on every local target, against the golden events
of AWS's documentation (``tests/events``): field set, JSON types, string formats (ISO times with
their precision, ARNs, URLs, UUID-shaped ids, md5s, digit strings) and ids unique per event.

Each case builds the smallest app that delivers that event type to a function which records every
event it receives on a queue, triggers it twice, and compares. The app's own data mirrors the
golden's (attribute and key names) so that only what the service adds is compared. A difference
that remains is listed in ``KNOWN`` with its reason (and in the README's "differs from AWS" list);
a listed difference that no longer occurs fails too, so the list cannot go stale.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from harness.cloud import CloudAccount, LocalCloud
from tests.functional.conftest import RECORDER, drain
from tests.shape import conformance_problems, golden

CAPTURE = RECORDER + "\ndef handler(event, context):\n    record(event)\n"

# (target, case) -> {problem path: reason}; every entry must still occur.
_SENDER = ("LocalStack's test credentials are the account's root: it sends the account id, which is what AWS "
           "sends for a root sender; AWS sends AIDA... for an IAM user, AROA...:session for a role")
KNOWN: dict[tuple[str, str], dict[str, str]] = {
    ("localstack", "sqs"): {"attributes.SenderId": _SENDER},
    ("localstack", "sqs_fifo"): {"attributes.SenderId": _SENDER},
}


def _capture(account: CloudAccount, deploy: Any, make_queue: Any, name: str = "capture",
             source: str = CAPTURE, **config: Any) -> tuple[dict[str, Any], str]:
    record_url, _ = make_queue(f"{name}-record")
    fn = deploy(name, source, Environment={"Variables": {"RECORD_URL": record_url}}, **config)
    return fn, record_url


def _recorded(account: CloudAccount, url: str, expected: int) -> list[Any]:
    account.settle()
    events = [json.loads(m["Body"]) for m in drain(account, url)]
    assert len(events) == expected, f"the capture function received {len(events)} event(s), not {expected}: {events}"
    return events


def _records(events: list[Any], expected: int) -> list[Any]:
    records = [record for event in events for record in event["Records"]]
    assert len(records) == expected, records
    return records


def sqs_case(account: CloudAccount, deploy: Any, make_queue: Any) -> list[tuple[Any, Any]]:
    fn, record_url = _capture(account, deploy, make_queue)
    url, arn = make_queue("my-queue")
    account.client("lambda").create_event_source_mapping(FunctionName=fn["FunctionName"], EventSourceArn=arn,
                                                         BatchSize=1)
    for _ in range(2):
        account.client("sqs").send_message(QueueUrl=url, MessageBody="Test message.", MessageAttributes={
            "myAttribute": {"DataType": "String", "StringValue": "myValue"}})
    records = _records(_recorded(account, record_url, 2), 2)
    return [(record, golden("sqs.json")["Records"][0]) for record in records]


def sqs_fifo_case(account: CloudAccount, deploy: Any, make_queue: Any) -> list[tuple[Any, Any]]:
    fn, record_url = _capture(account, deploy, make_queue)
    url, arn = make_queue("fifo.fifo", FifoQueue="true")
    account.client("lambda").create_event_source_mapping(FunctionName=fn["FunctionName"], EventSourceArn=arn,
                                                         BatchSize=1)
    for n in range(2):
        account.client("sqs").send_message(QueueUrl=url, MessageBody="Test message.", MessageGroupId="1",
                                           MessageDeduplicationId=str(n))
    records = _records(_recorded(account, record_url, 2), 2)
    return [(record, golden("sqs_fifo.json")["Records"][0]) for record in records]


def dynamodb_stream_case(account: CloudAccount, deploy: Any, make_queue: Any) -> list[tuple[Any, Any]]:
    fn, record_url = _capture(account, deploy, make_queue)
    ddb = account.client("dynamodb")
    table = ddb.create_table(TableName="ExampleTableWithStream", BillingMode="PAY_PER_REQUEST",
                             AttributeDefinitions=[{"AttributeName": "Id", "AttributeType": "N"}],
                             KeySchema=[{"AttributeName": "Id", "KeyType": "HASH"}],
                             StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"})
    account.client("lambda").create_event_source_mapping(
        FunctionName=fn["FunctionName"], EventSourceArn=table["TableDescription"]["LatestStreamArn"],
        StartingPosition="TRIM_HORIZON", BatchSize=1)
    ddb.put_item(TableName="ExampleTableWithStream", Item={"Id": {"N": "101"}, "Message": {"S": "New item!"}})
    ddb.put_item(TableName="ExampleTableWithStream",
                 Item={"Id": {"N": "101"}, "Message": {"S": "This item has changed"}})
    insert, modify = sorted(_records(_recorded(account, record_url, 2), 2), key=lambda r: r["eventName"] != "INSERT")
    gold = golden("dynamodb_stream.json")["Records"]
    return [(insert, gold[0]), (modify, gold[1])]


def eventbridge_case(account: CloudAccount, deploy: Any, make_queue: Any) -> list[tuple[Any, Any]]:
    fn, record_url = _capture(account, deploy, make_queue)
    events = account.client("events")
    events.put_rule(Name="state-change", EventPattern=json.dumps({"source": ["shop"]}))
    events.put_targets(Rule="state-change", Targets=[{"Id": "fn", "Arn": fn["FunctionArn"]}])
    for state in ("pending", "terminated"):
        events.put_events(Entries=[{"Source": "shop", "DetailType": "EC2 Instance State-change Notification",
                                    "Detail": json.dumps({"instance-id": "i-1234567890abcdef0", "state": state}),
                                    "Resources": [f"arn:aws:ec2:{account.scope.region}:{account.account_id}"
                                                  ":instance/i-1234567890abcdef0"]}])
    return [(event, golden("eventbridge.json")) for event in _recorded(account, record_url, 2)]


def _versioned_bucket(account: CloudAccount, name: str, notifications: dict[str, Any]) -> str:
    s3 = account.client("s3")
    bucket = f"{name}-{account.account_id}"
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration=notifications)
    return bucket


def s3_eventbridge_case(account: CloudAccount, deploy: Any, make_queue: Any) -> list[tuple[Any, Any]]:
    fn, record_url = _capture(account, deploy, make_queue)
    bucket = _versioned_bucket(account, "demo-bucket1", {"EventBridgeConfiguration": {}})
    events = account.client("events")
    events.put_rule(Name="uploads", EventPattern=json.dumps({"source": ["aws.s3"], "detail-type": ["Object Created"]}))
    events.put_targets(Rule="uploads", Targets=[{"Id": "fn", "Arn": fn["FunctionArn"]}])
    for body in (b"hello", b"world"):
        account.client("s3").put_object(Bucket=bucket, Key="example-key", Body=body)
    return [(event, golden("s3_eventbridge.json")) for event in _recorded(account, record_url, 2)]


def s3_notification_case(account: CloudAccount, deploy: Any, make_queue: Any) -> list[tuple[Any, Any]]:
    fn, record_url = _capture(account, deploy, make_queue)
    bucket = _versioned_bucket(account, "demo-bucket", {"LambdaFunctionConfigurations": [
        {"Id": "testConfigRule", "LambdaFunctionArn": fn["FunctionArn"], "Events": ["s3:ObjectCreated:*"]}]})
    for body in (b"one", b"two"):
        account.client("s3").put_object(Bucket=bucket, Key="HappyFace.jpg", Body=body)
    records = _records(_recorded(account, record_url, 2), 2)
    return [(record, golden("s3_notification.json")["Records"][0]) for record in records]


def sns_case(account: CloudAccount, deploy: Any, make_queue: Any) -> list[tuple[Any, Any]]:
    fn, record_url = _capture(account, deploy, make_queue)
    sns = account.client("sns")
    topic = sns.create_topic(Name="sns-lambda")["TopicArn"]
    sns.subscribe(TopicArn=topic, Protocol="lambda", Endpoint=fn["FunctionArn"])
    for _ in range(2):
        sns.publish(TopicArn=topic, Message="Hello from SNS!", Subject="TestInvoke", MessageAttributes={
            "Test": {"DataType": "String", "StringValue": "TestString"},
            "TestBinary": {"DataType": "Binary", "BinaryValue": b"TestBinary"}})
    records = _records(_recorded(account, record_url, 2), 2)
    return [(record, golden("sns.json")["Records"][0]) for record in records]


def _destination_records(account: CloudAccount, deploy: Any, make_queue: Any, source: str,
                         condition: str, payload: Any) -> list[Any]:
    url, arn = make_queue(f"on-{condition.lower()}")
    name = f"dest-{condition.lower()}"
    deploy(name, source)
    lam = account.client("lambda")
    lam.put_function_event_invoke_config(FunctionName=name, MaximumRetryAttempts=0,
                                         DestinationConfig={f"On{condition}": {"Destination": arn}})
    for _ in range(2):
        lam.invoke(FunctionName=name, InvocationType="Event", Payload=json.dumps(payload))
    return _recorded(account, url, 2)


def async_failure_case(account: CloudAccount, deploy: Any, make_queue: Any) -> list[tuple[Any, Any]]:
    failing = "def handler(event, context):\n    raise RuntimeError('no')\n"
    records = _destination_records(account, deploy, make_queue, failing, "Failure",
                                   {"ORDER_IDS": ["9e07af03-ce31-4ff3-xmpl-36dce652cb4f"]})
    gold = golden("async_destination.json")
    # the response payload is the handler's error, and retries are 0 here: compare what Lambda adds
    gold["requestContext"]["approximateInvokeCount"] = 1
    return [({**record, "responsePayload": None}, {**gold, "responsePayload": None}) for record in records]


def async_success_case(account: CloudAccount, deploy: Any, make_queue: Any) -> list[tuple[Any, Any]]:
    records = _destination_records(account, deploy, make_queue, "def handler(event, context):\n    return None\n",
                                   "Success", {"Success": True})
    return [(record, golden("async_destination_success.json")) for record in records]


Case = Callable[[CloudAccount, Any, Any], list[tuple[Any, Any]]]
CASES: dict[str, tuple[Case, tuple[str, ...]]] = {
    # case -> (trigger, the fields that must differ between the two events)
    "sqs": (sqs_case, ("messageId", "receiptHandle")),
    "sqs_fifo": (sqs_fifo_case, ("messageId", "receiptHandle", "attributes.SequenceNumber")),
    "dynamodb_stream": (dynamodb_stream_case, ("eventID", "dynamodb.SequenceNumber")),
    "eventbridge": (eventbridge_case, ("id",)),
    "s3_eventbridge": (s3_eventbridge_case, ("id", "detail.request-id", "detail.object.sequencer",
                                             "detail.object.version-id")),
    "s3_notification": (s3_notification_case, ("responseElements.x-amz-request-id", "s3.object.sequencer",
                                               "s3.object.versionId")),
    "sns": (sns_case, ("Sns.MessageId",)),
    "async_failure": (async_failure_case, ("requestContext.requestId",)),
    "async_success": (async_success_case, ("requestContext.requestId",)),
}


def _at(value: Any, path: str) -> Any:
    for part in path.split("."):
        value = value[part]
    return value


@pytest.mark.parametrize("case", sorted(CASES))
def test_events_conform_to_awss_documented_events(case: str, account: CloudAccount, deploy: Any, make_queue: Any,
                                                  harness_cloud: LocalCloud) -> None:
    trigger, unique = CASES[case]
    pairs = trigger(account, deploy, make_queue)
    problems = sorted({problem for actual, gold in pairs for problem in conformance_problems(actual, gold)})
    for path in unique:
        values = [_at(actual, path) for actual, _ in pairs]
        if len(set(map(json.dumps, values))) != len(values):
            problems.append(f"{path}: the same value on every event ({values[0]!r}); AWS sends one per event")
    known = KNOWN.get((harness_cloud.settings.target, case), {})
    unexplained = [p for p in problems if not any(p.startswith(f"{path}:") for path in known)]
    stale = [path for path in known if not any(p.startswith(f"{path}:") for p in problems)]
    assert not unexplained, f"{case} differs from AWS's documented event:\n" + "\n".join(unexplained)
    assert not stale, f"{case}: listed differences no longer occur (remove them from KNOWN and the README): {stale}"


def _request(url: str, method: str = "GET", body: bytes | None = None, **headers: str) -> Any:
    import urllib.request

    request = urllib.request.Request(url, data=body, method=method, headers=headers)
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def test_api_events_conform_to_awss_documented_events(account: CloudAccount, harness_settings: Any,
                                                      harness_cloud: LocalCloud) -> None:
    """HTTP API (payload 2.0, JWT authorizer) and REST API (Lambda proxy) events through the gateway."""
    from pathlib import Path

    from harness.deployed import deploy_app
    from harness.provisioning import AppSource

    template = Path(__file__).resolve().parents[1] / "apps" / "sam_echo" / "template.yaml"
    app = deploy_app(account, AppSource("sam", template, stack="echo"), cache_dir=harness_settings.cache_dir)
    token = app.users().token("alice", kind="AccessToken")  # scopes, as in AWS's example
    query = "parameter1=value1&parameter1=value2&parameter2=value"
    http = [_request(f"{app.outputs['HttpUrl']}/my/path?{query}", "POST", b'{"message": "hello world"}',
                     Authorization=token, Cookie="cookie1; cookie2", header1="value1",
                     **{"content-type": "application/json"}) for _ in range(2)]
    rest = [_request(f"{app.outputs['RestUrl']}/", accept="text/html") for _ in range(2)]
    maps = frozenset({"headers", "multiValueHeaders", "requestContext.authorizer.jwt.claims"})
    problems = sorted({p for event in http for p in conformance_problems(event, golden("http_api_v2.json"), maps=maps)}
                      | {f"rest: {p}" for event in rest for p in conformance_problems(event, golden("rest_api.json"),
                                                                                      maps=maps)})
    for events, path in ((http, "requestContext.requestId"), (rest, "requestContext.requestId")):
        if len({_at(e, path) for e in events}) != len(events):
            problems.append(f"{path}: the same value on every request; AWS sends one per request")
    assert http[0]["requestContext"]["authorizer"]["jwt"]["claims"]["username"] == "alice"
    assert app.destroy() == []
    known = KNOWN.get((harness_cloud.settings.target, "api"), {})
    unexplained = [p for p in problems if not any(p.startswith(f"{k}:") for k in known)]
    assert not unexplained, "API events differ from AWS's documented events:\n" + "\n".join(unexplained)
