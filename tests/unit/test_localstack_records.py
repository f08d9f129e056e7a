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
