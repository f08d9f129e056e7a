"""The pattern engine against the examples of AWS's documentation, table-driven: the events and
patterns of "Content filtering in Amazon EventBridge event patterns", "Comparison operators for use
in event patterns" and Lambda's "Control which events Lambda sends to your function" (SQS, DynamoDB
and Kinesis filters), including the patterns those pages call invalid. Each pattern runs both
through ``matches`` (compiled on the fly) and through one ``compile_pattern`` reused, so the two
paths cannot drift."""

from __future__ import annotations

from typing import Any

import pytest

from harness.wiring.filters import matches, pattern_problem
from harness.wiring.pattern_match import compile_pattern

EC2 = {
    "version": "0", "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
    "detail-type": "EC2 Instance State-change Notification", "source": "aws.ec2",
    "account": "111122223333", "time": "2017-10-02T18:43:48Z", "region": "us-west-1",
    "resources": ["arn:aws:ec2:us-west-1:123456789012:instance/i-1234567890abcdef0"],
    "detail": {"instance-id": "i-1234567890abcdef0", "state": "running", "c-count": 3, "d-count": 7,
               "x-limit": 301.8, "source-ip": "10.0.0.123", "FileName": "photo.PNG", "service": "EventBridge",
               "Region": "eu-west-1", "LastName": "", "UserID": None, "FilePath": "/usr/lib/x.so",
               "EventBusArn": "arn:aws:events:us-east-1:123456789012:event-bus/orders"},
}

DOC_EXAMPLES: list[tuple[dict[str, Any], bool]] = [
    ({"source": ["aws.ec2"], "detail-type": ["EC2 Instance State-change Notification"]}, True),
    ({"time": [{"prefix": "2017-10-02"}]}, True),
    ({"time": [{"prefix": "2017-10-03"}]}, False),
    ({"detail": {"service": [{"prefix": {"equals-ignore-case": "eventb"}}]}}, True),
    ({"detail": {"FileName": [{"suffix": ".png"}]}}, False),
    ({"detail": {"FileName": [{"suffix": {"equals-ignore-case": ".png"}}]}}, True),
    ({"detail": {"state": [{"anything-but": "initializing"}]}}, True),
    ({"detail": {"state": [{"anything-but": ["stopped", "running"]}]}}, False),
    ({"detail": {"x-limit": [{"anything-but": 123}]}}, True),
    ({"detail": {"x-limit": [{"anything-but": [100, 200, 301.8]}]}}, False),
    ({"detail": {"Region": [{"anything-but": {"prefix": "us-"}}]}}, True),
    ({"detail": {"FileName": [{"anything-but": {"suffix": ".png"}}]}}, True),
    ({"detail": {"state": [{"anything-but": {"equals-ignore-case": "RUNNING"}}]}}, False),
    ({"detail": {"FilePath": [{"anything-but": {"wildcard": "*/lib/*"}}]}}, False),
    ({"detail": {"state": [{"equals-ignore-case": "RUNNING"}]}}, True),
    ({"detail": {"c-count": [{"numeric": [">", 0, "<=", 5]}]}}, True),
    ({"detail": {"d-count": [{"numeric": ["<", 10]}]}}, True),
    ({"detail": {"x-limit": [{"numeric": ["=", 3.018e2]}]}}, True),
    ({"detail": {"source-ip": [{"cidr": "10.0.0.0/24"}]}}, True),
    ({"detail": {"source-ip": [{"cidr": "10.0.1.0/24"}]}}, False),
    ({"detail": {"state": [{"exists": True}]}}, True),
    ({"detail": {"state": [{"exists": False}]}}, False),
    ({"detail": [{"exists": True}]}, False),  # exists works on leaf nodes only
    ({"detail": {"LastName": [""]}}, True),
    ({"detail": {"UserID": [None]}}, True),
    ({"detail": {"EventBusArn": [{"wildcard": "arn:aws:events:us-east-1:*:event-bus/*"}]}}, True),
    ({"resources": ["arn:aws:ec2:us-west-1:123456789012:instance/i-1234567890abcdef0"]}, True),
    ({"time": [{"prefix": "2017-10-02"}],
      "detail": {"state": [{"anything-but": "initializing"}], "c-count": [{"numeric": [">", 0, "<=", 5]}],
                 "d-count": [{"numeric": ["<", 10]}], "x-limit": [{"anything-but": [100, 200, 300]}]}}, True),
    ({"detail": {"$or": [{"c-count": [{"numeric": [">", 10]}]}, {"d-count": [{"numeric": ["<", 10]}]},
                         {"x-limit": [{"numeric": ["=", 3.018e2]}]}]}}, True),
    ({"source": ["aws.ec2"], "$or": [{"detail-type": ["Other"]}, {"detail": {"c-count": [{"numeric": [">", 10]}]}}]},
     False),
]

SQS_RECORD = {"messageId": "059f36b4-87a3-44ab-83d2-661975830a7d", "eventSource": "aws:sqs",
              "body": {"RecordNumber": 1234, "TimeStamp": "2024-06-01T10:00:00", "RequestCode": "AAAA"},
              "attributes": {"ApproximateReceiveCount": "1"}}
STREAM_RECORD = {"eventName": "INSERT", "dynamodb": {"Keys": {"CustomerName": {"S": "AnyCompany Industries"}},
                                                     "NewImage": {"Age": {"N": "40"}}}}
KINESIS_RECORD = {"kinesis": {"data": {"City": "Seattle", "State": "WA", "Temperature": 46}}}

LAMBDA_EXAMPLES: list[tuple[dict[str, Any], dict[str, Any], bool]] = [
    ({"body": {"RequestCode": ["BBBB"]}}, SQS_RECORD, False),
    ({"body": {"RequestCode": ["AAAA"]}}, SQS_RECORD, True),
    ({"body": {"RecordNumber": [{"numeric": [">", 1000]}]}}, SQS_RECORD, True),
    ({"attributes": {"ApproximateReceiveCount": ["1"]}}, SQS_RECORD, True),
    ({"eventSource": ["aws:sqs"]}, SQS_RECORD, True),
    ({"dynamodb": {"Keys": {"CustomerName": {"S": ["AnyCompany Industries"]}}}}, STREAM_RECORD, True),
    ({"eventName": ["INSERT"], "dynamodb": {"NewImage": {"Age": {"N": [{"prefix": "4"}]}}}}, STREAM_RECORD, True),
    ({"eventName": ["REMOVE"]}, STREAM_RECORD, False),
    ({"kinesis": {"data": {"Temperature": [{"numeric": [">", 50]}]}}}, KINESIS_RECORD, False),
    ({"kinesis": {"data": {"City": ["Seattle"], "State": [{"exists": True}]}}}, KINESIS_RECORD, True),
]

INVALID = [
    ({"eventSource": "aws:sqs"}, '"eventSource" must be an object or an array'),
    ({"detail": {"state": []}}, "Empty arrays are not allowed"),
    ({"detail": {"state": [{"exists": "true"}]}}, "exists match pattern must be either true or false."),
    ({"detail": {"x": [{"numeric": [">", "0"]}]}}, "Value of > must be numeric"),
    ({"detail": {"x": [{"numeric": ["!=", 1]}]}}, "Unrecognized numeric range operator: !="),
    ({"detail": {"x": [{"anything-but": [123, "text"]}]}}, "Inside anything but list, start|null|boolean is not supported."),
    ({"detail": {"x": [{"anything-but": {"numeric": [">", 1]}}]}}, "Unsupported anything-but pattern"),
    ({"detail": {"x": [{"wildcard": "a**b"}]}}, "Consecutive wildcard characters at pos 2"),
    ({"detail": {"x": [{"cidr": "10.0.0.0/99"}]}}, "Nonstandard IP address: 10.0.0.0/99"),
    ({"detail": {"x": [{"contains": "a"}]}}, "Unrecognized match type contains"),
    ({"$or": [{"a": ["b"]}]}, "$or must be an array of at least two patterns"),
]


@pytest.mark.parametrize(("pattern", "expected"), DOC_EXAMPLES)
def test_eventbridge_documentation_examples(pattern: dict[str, Any], expected: bool) -> None:
    assert pattern_problem(pattern) is None
    assert matches(pattern, EC2) is expected
    assert compile_pattern(pattern).matches(EC2) is expected


@pytest.mark.parametrize(("pattern", "record", "expected"), LAMBDA_EXAMPLES)
def test_lambda_filtering_documentation_examples(pattern: dict[str, Any], record: dict[str, Any],
                                                 expected: bool) -> None:
    assert pattern_problem(pattern) is None
    assert compile_pattern(pattern).matches(record) is expected


@pytest.mark.parametrize(("pattern", "problem"), INVALID)
def test_patterns_the_documentation_calls_invalid_are_refused(pattern: dict[str, Any], problem: str) -> None:
    assert pattern_problem(pattern) == problem


def test_a_compiled_pattern_answers_many_events_without_rereading_the_pattern() -> None:
    pattern = {"source": ["aws.s3"], "detail": {"object": {"key": [{"prefix": "in/"}]}}}
    compiled = compile_pattern(pattern)
    events = [{"source": "aws.s3", "detail": {"object": {"key": f"{folder}/{n}"}}}
              for n in range(50) for folder in ("in", "out")]
    assert sum(compiled.matches(e) for e in events) == 50
    pattern["source"] = ["changed"]  # the compiled form keeps the pattern it was given
    assert sum(compiled.matches(e) for e in events) == 50


def test_the_bench_workload_runs_and_both_engines_see_the_same_events() -> None:
    from bench import patterns

    result = patterns.pattern_engine(rounds=1, count=50)
    assert result["pattern_engine_events"] == 50 and result["pattern_engine_rules"] == 20
    assert result["pattern_engine_matches"] > 0 and result["pattern_engine_events_per_s"] > 0
