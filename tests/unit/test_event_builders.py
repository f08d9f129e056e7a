"""Pure event builders against golden AWS payloads (tests/events)."""

from __future__ import annotations

from datetime import UTC, datetime

from harness.wiring import dynamodb_stream, eventbridge, sqs
from harness.wiring.base import MappingConfig, item_failures
from harness.wiring.destinations import invocation_record, stream_batch_record
from tests.shape import golden, shape

RECEIVED = {
    "MessageId": "059f36b4-87a3-44ab-83d2-661975830a7d",
    "ReceiptHandle": "AQEBwJnKyrHigUMZj6rYigCgxlaS3SLy0a...",
    "MD5OfBody": "e4e68fb7bd0e697a0ae8f1bb342846b3",
    "Body": "Test message.",
    "Attributes": {"SenderId": "AIDAIENQZJOLO23YVJ4VO", "SentTimestamp": "1545082649183",
                   "ApproximateReceiveCount": "1", "ApproximateFirstReceiveTimestamp": "1545082649185",
                   "SomethingNew": "not in Lambda's records"},
    "MD5OfMessageAttributes": "3df8f8d4e0f7e0c5b4d7b1d8c2f1e3a9",
    "MessageAttributes": {"myAttribute": {"StringValue": "myValue", "DataType": "String"}},
}


def test_sqs_record_matches_the_golden_event() -> None:
    record = sqs.build_record(RECEIVED, "arn:aws:sqs:us-east-2:123456789012:my-queue", "us-east-2")
    assert sqs.build_event([record]) == golden("sqs.json")


def test_sqs_binary_attribute_is_base64() -> None:
    message = {**RECEIVED, "MessageAttributes": {"b": {"BinaryValue": b"\x00\x01", "DataType": "Binary"}}}
    record = sqs.build_record(message, "arn:aws:sqs:us-east-2:1:q", "us-east-2")
    assert record["messageAttributes"]["b"]["binaryValue"] == "AAE="


def test_sqs_filters_see_json_bodies() -> None:
    mapping = MappingConfig.from_api({"UUID": "u", "FunctionArn": "f", "EventSourceArn": "arn:aws:sqs:r:1:q",
                                      "FilterCriteria": {"Filters": [{"Pattern": '{"body": {"a": [1]}}'}]}})
    assert sqs.filter_passes({"body": '{"a": 1}'}, mapping)
    assert not sqs.filter_passes({"body": "a=1"}, mapping)


def test_stream_record_matches_the_golden_event() -> None:
    expected = golden("dynamodb_stream.json")["Records"][1]
    raw = {
        "eventID": expected["eventID"], "eventName": "MODIFY", "eventVersion": "1.1",
        "eventSource": "aws:dynamodb", "awsRegion": "us-east-1",
        "dynamodb": {**expected["dynamodb"],
                     "ApproximateCreationDateTime": datetime.fromtimestamp(1428537600, UTC)},
    }
    assert dynamodb_stream.build_record(raw, expected["eventSourceARN"], "us-east-1") == expected


def test_eventbridge_event_keeps_the_envelope_and_formats_time() -> None:
    event = {**golden("eventbridge.json"), "time": 1513968228.0, "ingestion-time": 1513968229.0}
    assert eventbridge.build_target_input(event, {}) == golden("eventbridge.json")


def test_eventbridge_input_settings() -> None:
    event = golden("eventbridge.json")
    assert eventbridge.build_target_input(event, {"Input": '{"fixed": true}'}) == {"fixed": True}
    assert eventbridge.build_target_input(event, {"InputPath": "$.detail"}) == event["detail"]
    assert eventbridge.build_target_input(event, {"InputPath": "$.resources[0]"}) == event["resources"][0]
    transformer = {"InputTransformer": {
        "InputPathsMap": {"instance": "$.detail.instance-id", "state": "$.detail.state"},
        "InputTemplate": '{"id": <instance>, "text": "state is <state>"}'}}
    assert eventbridge.build_target_input(event, transformer) == {
        "id": "i-1234567890abcdef0", "text": "state is terminated"}
    text = {"InputTransformer": {"InputPathsMap": {"s": "$.detail.state"}, "InputTemplate": "now <s>"}}
    assert eventbridge.build_target_input(event, text) == 'now "terminated"'


def test_destination_records_have_golden_shapes() -> None:
    record = invocation_record(
        request_id="r", function_arn="arn:aws:lambda:us-east-2:123456789012:function:my-function",
        condition="RetriesExhausted", approximate_invoke_count=3,
        request_payload={"ORDER_IDS": ["x"]}, function_error="Unhandled",
        response_payload={"errorMessage": "boom"}, now=1573755365.568,
    )
    assert shape(record) == shape(golden("async_destination.json"))
    assert record["timestamp"] == "2019-11-14T18:16:05.568Z"
    stream_golden = golden("dynamodb_stream_on_failure.json")
    records = [{"dynamodb": {"SequenceNumber": "1", "ApproximateCreationDateTime": 1573690399.0}}]
    batch = stream_batch_record(
        request_id="r", function_arn="f", condition="RetryAttemptsExhausted", approximate_invoke_count=1,
        function_error="Unhandled", shard_id="s", stream_arn="a", records=records, now=1573690429.717)
    assert shape(batch) == shape(stream_golden)


def test_item_failures_follow_lambdas_rules() -> None:
    ids = ["a", "b", "c"]
    assert item_failures(b'{"batchItemFailures": []}', ids) == ()
    assert item_failures(b'{"batchItemFailures": null}', ids) == ()
    assert item_failures(b"null", ids) == ()
    assert item_failures(b"", ids) == ()
    assert item_failures(b'{"batchItemFailures": [{"itemIdentifier": "b"}]}', ids) == ("b",)
    assert item_failures(b'{"batchItemFailures": [{"itemIdentifier": "zzz"}]}', ids) is None
    assert item_failures(b'{"batchItemFailures": [{"itemIdentifier": ""}]}', ids) is None
    assert item_failures(b'{"batchItemFailures": [{"id": "a"}]}', ids) is None
    assert item_failures(b"not json", ids) is None


def test_mapping_config_from_the_api() -> None:
    mapping = MappingConfig.from_api({
        "UUID": "u", "FunctionArn": "arn:aws:lambda:r:1:function:f",
        "EventSourceArn": "arn:aws:dynamodb:r:1:table/t/stream/x", "State": "Disabled", "BatchSize": 7,
        "FunctionResponseTypes": ["ReportBatchItemFailures"], "MaximumRetryAttempts": 2,
        "BisectBatchOnFunctionError": True, "ScalingConfig": {"MaximumConcurrency": 4},
        "DestinationConfig": {"OnFailure": {"Destination": "arn:aws:sqs:r:1:dlq"}},
        "StartingPosition": "LATEST",
    })
    assert mapping.service == "dynamodb" and not mapping.enabled and mapping.batch_size == 7
    assert mapping.report_item_failures and mapping.bisect_on_error and mapping.max_retry_attempts == 2
    assert mapping.max_concurrency == 4 and mapping.on_failure == "arn:aws:sqs:r:1:dlq"
    assert mapping.starting_position == "LATEST"
    defaults = MappingConfig.from_api({"UUID": "u", "FunctionArn": "f", "EventSourceArn": "arn:aws:sqs:r:1:q"})
    assert defaults.enabled and defaults.max_retry_attempts == -1 and defaults.filters == ()
