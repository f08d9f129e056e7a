"""Asynchronous invocation: retries, destinations, EventBridge and S3 sources."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import unquote_plus

from harness.cloud import CloudAccount
from tests.functional.conftest import RECORDER, drain
from tests.shape import golden, shape

ALWAYS_FAILS = RECORDER + """
def handler(event, context):
    record({"attempt": context.aws_request_id})
    raise RuntimeError("always fails")
"""


def test_failed_async_invoke_is_retried_twice_then_sent_to_on_failure(
    account: CloudAccount, deploy: Any, make_queue: Any
) -> None:
    record_url, _ = make_queue("record")
    failure_url, failure_arn = make_queue("async-failures")
    deploy("flaky", ALWAYS_FAILS, Environment={"Variables": {"RECORD_URL": record_url}})
    lam = account.client("lambda")
    lam.put_function_event_invoke_config(
        FunctionName="flaky", DestinationConfig={"OnFailure": {"Destination": failure_arn}})
    response = lam.invoke(FunctionName="flaky", InvocationType="Event", Payload=b'{"order": 1}')
    assert response["StatusCode"] == 202
    if account.clock.virtual:
        # retries 1, then 2 minutes after each failure (which may come seconds after the call on a loaded machine)
        account.advance_clock(sum(account.cloud.settings.async_retry_delays_s) + 60)
    else:
        account.settle(timeout=20)  # LocalStack retries after 1 and 2 s (README: where the harness differs)
    attempts = [json.loads(m["Body"])["attempt"] for m in drain(account, record_url)]
    assert len(attempts) == 3  # the first attempt and two retries, all with the invocation's request id
    assert set(attempts) == {response["ResponseMetadata"]["RequestId"]}
    (failure,) = [json.loads(m["Body"]) for m in drain(account, failure_url)]
    assert failure["requestContext"]["requestId"] == attempts[0]
    payloads = ("requestPayload", "responsePayload")  # the caller's data, not the envelope
    assert shape({k: v for k, v in failure.items() if k not in payloads}) == shape(
        {k: v for k, v in golden("async_destination.json").items() if k not in payloads})
    assert failure["requestContext"]["condition"] == "RetriesExhausted"
    assert failure["requestContext"]["approximateInvokeCount"] == 3
    assert failure["requestPayload"] == {"order": 1}
    assert failure["responsePayload"]["errorMessage"] == "always fails"


def test_maximum_retry_attempts_zero_and_on_success(account: CloudAccount, deploy: Any, make_queue: Any) -> None:
    record_url, _ = make_queue("record")
    success_url, success_arn = make_queue("async-ok")
    deploy("once", ALWAYS_FAILS, Environment={"Variables": {"RECORD_URL": record_url}})
    deploy("fine", "def handler(event, context):\n    return {'echo': event}\n")
    lam = account.client("lambda")
    lam.put_function_event_invoke_config(FunctionName="once", MaximumRetryAttempts=0)
    lam.put_function_event_invoke_config(
        FunctionName="fine", DestinationConfig={"OnSuccess": {"Destination": success_arn}})
    lam.invoke(FunctionName="once", InvocationType="Event", Payload=b"{}")
    lam.invoke(FunctionName="fine", InvocationType="Event", Payload=b'{"x": 1}')
    account.settle()
    assert len(drain(account, record_url)) == 1
    (success,) = [json.loads(m["Body"]) for m in drain(account, success_url)]
    assert success["requestContext"]["condition"] == "Success"
    assert success["responsePayload"] == {"echo": {"x": 1}}
    assert "functionError" not in success["responseContext"]


def test_eventbridge_rule_invokes_lambda_target(account: CloudAccount, deploy: Any, make_queue: Any) -> None:
    record_url, _ = make_queue("record")
    fn = deploy("on-event", RECORDER + "\ndef handler(event, context):\n    record(event)\n",
                Environment={"Variables": {"RECORD_URL": record_url}})
    events = account.client("events")
    events.create_event_bus(Name="orders")
    events.put_rule(Name="paid", EventBusName="orders",
                    EventPattern=json.dumps({"source": ["shop"], "detail-type": ["OrderPaid"]}))
    events.put_targets(Rule="paid", EventBusName="orders", Targets=[{"Id": "fn", "Arn": fn["FunctionArn"]}])
    events.put_events(Entries=[
        {"Source": "shop", "DetailType": "OrderPaid", "Detail": json.dumps({"id": 7}), "EventBusName": "orders",
         "Resources": ["arn:aws:shop:::order/7"]},
        {"Source": "shop", "DetailType": "OrderLost", "Detail": json.dumps({"id": 8}), "EventBusName": "orders"},
    ])
    account.settle()
    (event,) = [json.loads(m["Body"]) for m in drain(account, record_url)]
    assert shape({**event, "detail": {}}) == shape({**golden("eventbridge.json"), "detail": {}})
    assert event["detail"] == {"id": 7} and event["account"] == account.account_id


def test_s3_notification_invokes_lambda_asynchronously(account: CloudAccount, deploy: Any, make_queue: Any) -> None:
    record_url, _ = make_queue("record")
    fn = deploy("on-upload", RECORDER + "\ndef handler(event, context):\n    record(event)\n",
                Environment={"Variables": {"RECORD_URL": record_url}})
    s3 = account.client("s3")
    bucket = f"uploads-{account.account_id}"
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration={
        "LambdaFunctionConfigurations": [{"LambdaFunctionArn": fn["FunctionArn"], "Events": ["s3:ObjectCreated:*"]}]})
    s3.put_object(Bucket=bucket, Key="docs/a.txt", Body=b"hello")
    account.settle()
    (event,) = [json.loads(m["Body"]) for m in drain(account, record_url)]
    # S3 URL-encodes keys in notifications (moto also encodes "/")
    assert unquote_plus(event["Records"][0]["s3"]["object"]["key"]) == "docs/a.txt"
    assert event["Records"][0]["eventSource"] == "aws:s3"


def test_sns_subscription_invokes_lambda_asynchronously(account: CloudAccount, deploy: Any, make_queue: Any) -> None:
    record_url, _ = make_queue("record")
    fn = deploy("on-note", RECORDER + "\ndef handler(event, context):\n    record(event)\n",
                Environment={"Variables": {"RECORD_URL": record_url}})
    sns = account.client("sns")
    topic = sns.create_topic(Name="notes")["TopicArn"]
    subscription = sns.subscribe(TopicArn=topic, Protocol="lambda", Endpoint=fn["FunctionArn"])["SubscriptionArn"]
    published = sns.publish(TopicArn=topic, Message="hello",
                            MessageAttributes={"kind": {"DataType": "String", "StringValue": "note"}})
    sns.publish(TopicArn=topic, Message="again", Subject="re")
    account.settle()
    events = [json.loads(m["Body"]) for m in drain(account, record_url)]
    first, second = sorted((e["Records"][0] for e in events), key=lambda r: r["Sns"]["Message"] != "hello")
    assert first["EventSubscriptionArn"] == subscription and first["EventSource"] == "aws:sns"
    note = first["Sns"]
    assert note["Message"] == "hello" and note["MessageId"] == published["MessageId"]
    assert note["TopicArn"] == topic and note["Subject"] is None and note["Type"] == "Notification"
    assert note["MessageAttributes"] == {"kind": {"Type": "String", "Value": "note"}}
    assert note["Timestamp"] > "2026" and note["SigningCertUrl"].endswith(".pem")  # LocalStack serves its own
    assert subscription in note["UnsubscribeUrl"]
    assert second["Sns"]["Subject"] == "re" and second["Sns"]["MessageId"] != note["MessageId"]


def test_a_synchronous_invoke_answers_with_the_handlers_request_id(account: CloudAccount, deploy: Any) -> None:
    deploy("rid", "def handler(event, context):\n    return context.aws_request_id\n")
    response = account.client("lambda").invoke(FunctionName="rid", Payload=b"{}")
    assert json.loads(response["Payload"].read()) == response["ResponseMetadata"]["RequestId"]
