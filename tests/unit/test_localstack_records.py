"""What the LocalStack executor corrects in the payloads LocalStack hands a handler (pure)."""

from __future__ import annotations

import hashlib
import json

from harness.targets.localstack.records import corrected_payload


def test_sqs_records_get_empty_list_values_and_the_bodys_md5() -> None:
    body = json.dumps({"detail-type": "Object Created"})
    event = {"Records": [{"eventSource": "aws:sqs", "body": body, "md5OfBody": "not-the-body's",
                          "messageAttributes": {"kind": {"stringValue": "a", "dataType": "String"}}}]}
    fixed = json.loads(corrected_payload(json.dumps(event).encode()))
    record = fixed["Records"][0]
    assert record["md5OfBody"] == hashlib.md5(body.encode()).hexdigest()
    assert record["messageAttributes"]["kind"] == {"stringValue": "a", "dataType": "String",
                                                   "stringListValues": [], "binaryListValues": []}


def test_other_payloads_pass_through_byte_for_byte() -> None:
    for payload in (b'{"a": 1}', b'{"Records": [{"eventSource": "aws:s3"}]}', b"not json \"aws:sqs\"", b""):
        assert corrected_payload(payload) == payload


def test_stream_records_get_an_event_id_of_32_hex_digits() -> None:
    event = {"Records": [{"eventSource": "aws:dynamodb", "eventID": "14e033c3-333c-447c-9494-6c19d56ac8e9"}]}
    fixed = json.loads(corrected_payload(json.dumps(event).encode()))
    assert fixed["Records"][0]["eventID"] == "14e033c3333c447c94946c19d56ac8e9"


def test_the_feed_carries_what_the_executor_saw_of_each_event() -> None:
    """The executor's ``end`` line (json) becomes the listeners' result with the event's shapes,
    records, failed records and record ids, as the process runtime's results carry them."""
    from harness.shapes import event_summary, failed_items
    from harness.targets.localstack.feed import spec_and_result

    payload = json.dumps({"Records": [{"eventSource": "aws:sqs", "messageId": "m1", "body": "x"},
                                      {"eventSource": "aws:sqs", "messageId": "m2", "body": "y"}]}).encode()
    shapes, records, ids = event_summary(payload)
    line = {"event": "end", "request_id": "r", "function_arn": "arn:aws:lambda:us-east-1:111122223333:function:f",
            "name": "f", "account_id": "111122223333", "at": 1.0, "event_shapes": shapes, "records": records,
            "record_ids": ids}
    line["failed_records"], line["failed_record_ids"] = failed_items(
        payload, b'{"batchItemFailures": [{"itemIdentifier": "m2"}]}', False, records, ids)
    _, result = spec_and_result(json.loads(json.dumps(line)))
    assert (result.records, result.failed_records, result.record_ids) == (2, 1, ("m1", "m2"))
    assert result.failed_record_ids == ("m2",)
    assert result.event_shapes == shapes and result.function_error is None
