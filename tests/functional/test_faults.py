"""Fault injection on moto: AWS's errors as SDKs parse them, for handlers and clients; latency,
dropped connections, invocation faults; the control API ``harness fault`` uses."""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, ConnectionClosedError

from harness.cloud import CloudAccount, LocalCloud
from harness.faults import AccountFaults, FaultRuleError

NO_RETRIES = Config(retries={"total_max_attempts": 1, "mode": "standard"})


@pytest.fixture
def faults(harness_cloud: LocalCloud, account: CloudAccount) -> Iterator[AccountFaults]:
    registry = harness_cloud.target.faults
    if registry is None:
        pytest.skip(f"the {harness_cloud.target.name} target cannot inject faults")
    account_faults = AccountFaults(registry, account.account_id)
    yield account_faults
    account_faults.clear()  # the HTTP front's fast path again for the tests after this one


def _client(account: CloudAccount, service: str) -> Any:
    return account.scope.client(service, config=NO_RETRIES)


@pytest.mark.parametrize("service, operation, error, call, status", [  # code: the error's, or as the SDK names it
    ("dynamodb", "PutItem", "ProvisionedThroughputExceededException",
     lambda c: c.put_item(TableName="t", Item={"k": {"S": "1"}}), 400),
    ("s3", "GetObject", "SlowDown", lambda c: c.get_object(Bucket="b", Key="k"), 503),
    ("sqs", "SendMessage", "RequestThrottled", lambda c: c.send_message(QueueUrl="http://x/1/q", MessageBody="m"), 400),
    ("sns", "Publish", "Throttling", lambda c: c.publish(TopicArn="arn:aws:sns:us-east-1:1:t", Message="m"), 400),
    ("lambda", "Invoke", "TooManyRequestsException", lambda c: c.invoke(FunctionName="f"), 429),
    ("events", "PutEvents", "InternalException", lambda c: c.put_events(Entries=[{"Source": "a", "DetailType": "b",
                                                                                   "Detail": "{}"}]), 500),
    # CloudWatch speaks CBOR and keeps its query-protocol codes (the x-amzn-query-error header): the SDK
    # names this one InternalServiceError
    ("cloudwatch", "PutMetricData", "InternalServiceFault|InternalServiceError",
     lambda c: c.put_metric_data(Namespace="n", MetricData=[{"MetricName": "m", "Value": 1.0}]), 500),
])
def test_errors_arrive_as_the_sdk_raises_them_on_aws(account: CloudAccount, faults: AccountFaults, service: str,
                                                      operation: str, error: str, call: Any, status: int) -> None:
    error, _, code = error.partition("|")
    faults.add(service=service, operation=operation, error=error, count=1)
    with pytest.raises(ClientError) as caught:
        call(_client(account, service))
    assert caught.value.response["Error"]["Code"] == (code or error)
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == status
    assert caught.value.response["Error"]["Message"]
    (injected,) = faults.injected
    assert (injected.service, injected.operation, injected.effect, injected.caller) == (service, operation, error, None)


def test_count_probability_and_window(account: CloudAccount, faults: AccountFaults) -> None:
    sqs = _client(account, "sqs")
    url = sqs.create_queue(QueueName="work")["QueueUrl"]
    faults.add(service="sqs", operation="SendMessage", error="RequestThrottled", count=2)
    outcomes = []
    for _ in range(4):
        try:
            sqs.send_message(QueueUrl=url, MessageBody="m")
            outcomes.append("ok")
        except ClientError as exc:
            outcomes.append(exc.response["Error"]["Code"])
    assert outcomes == ["RequestThrottled", "RequestThrottled", "ok", "ok"]
    faults.clear()
    faults.add(service="sqs", operation="GetQueueAttributes", error="RequestThrottled", probability=0.5, seed=7)
    hits = []
    for _ in range(20):
        try:
            sqs.get_queue_attributes(QueueUrl=url)
            hits.append(0)
        except ClientError:
            hits.append(1)
    assert 3 <= sum(hits) <= 17  # seeded: the same sequence every run
    faults.clear()
    if not account.clock.virtual:
        return  # the window below would take two minutes of real time
    faults.add(service="sqs", operation="SendMessage", error="RequestThrottled", after_s=60, until_s=120)
    sqs.send_message(QueueUrl=url, MessageBody="before the window")
    account.clock.advance(61)
    with pytest.raises(ClientError):
        sqs.send_message(QueueUrl=url, MessageBody="inside")
    account.clock.advance(60)
    sqs.send_message(QueueUrl=url, MessageBody="after the window")


def test_latency_and_a_dropped_connection(account: CloudAccount, faults: AccountFaults) -> None:
    s3 = _client(account, "s3")
    s3.create_bucket(Bucket="slow")
    faults.add(service="s3", operation="PutObject", latency_ms=400, count=1)
    started = time.monotonic()
    s3.put_object(Bucket="slow", Key="k", Body=b"x")  # slow, then answered
    assert time.monotonic() - started >= 0.4
    try:
        faults.add(service="s3", operation="GetObject", drop=True, count=1)
    except FaultRuleError as exc:
        pytest.skip(str(exc))  # LocalStack: its gateway owns the socket
    with pytest.raises(ConnectionClosedError):
        s3.get_object(Bucket="slow", Key="k")
    assert s3.get_object(Bucket="slow", Key="k")["Body"].read() == b"x"


HANDLER = """
import boto3, os
from botocore.config import Config
from botocore.exceptions import ClientError
table = boto3.client("dynamodb", config=Config(retries={"mode": "standard", "total_max_attempts": 3}))
def handler(event, context):
    try:
        table.put_item(TableName=os.environ["TABLE"], Item={"k": {"S": event["k"]}})
        return {"ok": True, "retries": table.meta.events is not None}
    except ClientError as exc:
        return {"ok": False, "code": exc.response["Error"]["Code"]}
"""


def test_a_handlers_calls_are_faulted_by_function_and_its_sdk_retries(
        account: CloudAccount, faults: AccountFaults, deploy: Any) -> None:
    ddb = account.client("dynamodb")
    ddb.create_table(TableName="items", KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST")
    deploy("writer", HANDLER, Environment={"Variables": {"TABLE": "items"}}, Timeout=10)
    deploy("other", HANDLER, Environment={"Variables": {"TABLE": "items"}})
    faults.add(service="dynamodb", operation="PutItem", error="ProvisionedThroughputExceededException",
               function="writer", count=2)
    assert account.invoke("other", {"k": "a"})["Payload"]["ok"]  # another function: not faulted
    assert account.invoke("writer", {"k": "b"})["Payload"]["ok"]  # two throttles, the SDK's third attempt wins
    callers = [(i.caller, i.effect) for i in faults.injected]
    assert callers == [("writer", "ProvisionedThroughputExceededException")] * 2
    ddb.put_item(TableName="items", Item={"k": {"S": "client"}})  # the test's own client: not the function's
    faults.add(service="dynamodb", operation="PutItem", error="ProvisionedThroughputExceededException",
               function="writer")
    # throttled for good: the handler's SDK backs off, retries twice and gives up with AWS's error
    assert account.invoke("writer", {"k": "c"})["Payload"] == {"ok": False, "code": "ProvisionedThroughputExceededException"}
    assert len(faults.injected) == 2 + 3


def test_invocation_faults(account: CloudAccount, faults: AccountFaults, deploy: Any) -> None:
    deploy("fn", "def handler(e, c):\n    return 'ran'\n", Timeout=3)
    faults.add(function="fn", invocation="timeout", count=1)
    faults.add(function="fn", invocation="crash", count=1)
    timed_out = account.invoke("fn")
    crashed = account.invoke("fn")
    assert timed_out["FunctionError"] == "Unhandled" and "Task timed out after 3.00 seconds" in json.dumps(timed_out["Payload"])
    assert crashed["FunctionError"] == "Unhandled" and crashed["Payload"]["errorType"] == "Runtime.ExitError"
    assert account.invoke("fn")["Payload"] == "ran"
    effects = ["timeout", "crash", "slow_start"]
    try:
        faults.add(function="fn", invocation="throttle", count=1)
        with pytest.raises(ClientError) as caught:
            _client(account, "lambda").invoke(FunctionName="fn")
        assert caught.value.response["Error"]["Code"] == "TooManyRequestsException"
        effects.insert(2, "throttle")
    except FaultRuleError as exc:
        assert "not injected on LocalStack" in str(exc)
    faults.add(function="fn", invocation="slow_start", seconds=0.5, count=1)
    started = time.monotonic()
    assert account.invoke("fn")["Payload"] == "ran"
    assert time.monotonic() - started >= 0.5
    assert [i.effect for i in faults.injected] == effects


def test_bad_rules_name_the_valid_choices() -> None:
    from harness.faults import parse_rule

    with pytest.raises(FaultRuleError, match="did you mean dynamodb"):
        parse_rule({"service": "dynamodbb", "error": "X"})
    with pytest.raises(FaultRuleError, match="did you mean PutItem"):
        parse_rule({"service": "dynamodb", "operation": "PutItme", "error": "X"})
    with pytest.raises(FaultRuleError, match=r"valid errors: .*ProvisionedThroughputExceededException"):
        parse_rule({"service": "dynamodb", "operation": "PutItem", "error": "NoSuchKey"})
    with pytest.raises(FaultRuleError, match="says nothing about how"):
        parse_rule({"service": "s3"})


def test_control_api(harness_cloud: LocalCloud, account: CloudAccount, faults: AccountFaults) -> None:
    base = f"{harness_cloud.target.endpoint_url}/_harness/faults"
    rule = {"service": "s3", "operation": "GetObject", "error": "NoSuchKey"}
    json_body = {"Content-Type": "application/json"}
    request = urllib.request.Request(base, data=json.dumps({"account": account.account_id, "rule": rule}).encode(),
                                     method="POST", headers=json_body)
    with urllib.request.urlopen(request) as response:
        added = json.loads(response.read())
    with urllib.request.urlopen(f"{base}?account={account.account_id}") as response:
        listed = json.loads(response.read())
    assert [r["id"] for r in listed["rules"]] == [added["id"]]
    bad = urllib.request.Request(base, data=json.dumps({"account": account.account_id,
                                                        "rule": {"service": "s3", "error": "Nope"}}).encode(),
                                 method="POST", headers=json_body)
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(bad)
    assert caught.value.code == 400 and "valid errors" in json.loads(caught.value.read())["message"]
    with urllib.request.urlopen(urllib.request.Request(f"{base}?account={account.account_id}", method="DELETE")) as r:
        assert json.loads(r.read()) == {"cleared": 1}


def test_a_chunked_upload_passes_the_front_untouched_while_faults_are_active(
        account: CloudAccount, faults: AccountFaults) -> None:
    import http.client
    from urllib.parse import urlsplit

    s3 = account.client("s3")
    s3.create_bucket(Bucket="chunks")
    faults.add(service="sqs", operation="SendMessage", error="RequestThrottled")  # the front reads every call now
    url = urlsplit(s3.generate_presigned_url("put_object", Params={"Bucket": "chunks", "Key": "k"}))
    connection = http.client.HTTPConnection(url.hostname, url.port)
    connection.request("PUT", f"{url.path}?{url.query}", body=iter([b"first ", b"second"]), encode_chunked=True)
    assert connection.getresponse().status == 200
    assert s3.get_object(Bucket="chunks", Key="k")["Body"].read() == b"first second"
