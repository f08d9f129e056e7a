"""Invocations read back from CloudWatch Logs lines as Lambda writes them (pure parsing), and the
paged read of a log group through a botocore Stubber."""

from __future__ import annotations

import boto3
from botocore.stub import Stubber

from harness.lambda_logs import invocations_from_log_events, mentioning, read_log_events

A, B, C = "11111111-aaaa", "22222222-bbbb", "33333333-cccc"


def event(stream: str, message: str, ms: int) -> dict[str, object]:
    return {"logStreamName": stream, "message": message, "timestamp": ms}


def test_start_and_report_give_invocations_with_duration_cold_start_and_errors() -> None:
    events = [
        event("s1", f"START RequestId: {A} Version: $LATEST\n", 1000),
        event("s2", f"START RequestId: {B} Version: $LATEST\n", 1001),
        event("s1", f"[INFO]\t2026-12-01T00:00:00Z\t{A}\tall good\n", 1002),
        event("s2", "[ERROR] ValueError: no total\rTraceback (most recent call last):\n", 1003),
        event("s1", f"END RequestId: {A}\n", 1004),
        event("s1", f"REPORT RequestId: {A}\tDuration: 12.50 ms\tBilled Duration: 13 ms\tMemory Size: 128 MB\t"
                    "Max Memory Used: 40 MB\tInit Duration: 210.10 ms\t\n", 1005),
        event("s2", f"END RequestId: {B}\n", 1006),
        event("s2", f"REPORT RequestId: {B}\tDuration: 3.00 ms\tBilled Duration: 3 ms\tMemory Size: 128 MB\t"
                    "Max Memory Used: 40 MB\t\n", 1007),
        event("s1", f"START RequestId: {C} Version: $LATEST\n", 2000),
        event("s1", f"REPORT RequestId: {C}\tDuration: 3000.00 ms\tBilled Duration: 3000 ms\tMemory Size: 128 MB\t"
                    "Max Memory Used: 40 MB\tStatus: timeout\n", 5000),
    ]
    calls = invocations_from_log_events(events)
    assert [c["request_id"] for c in calls] == [A, B, C]
    assert calls[0]["cold"] and calls[0]["init_ms"] == 210.1 and calls[0]["duration_ms"] == 12.5
    assert calls[0]["error"] is None
    assert calls[1]["error"] == "ValueError" and not calls[1]["cold"]
    assert calls[2]["error"] == "Sandbox.timeout" and calls[2]["duration_ms"] == 3000.0


def test_an_application_error_log_line_is_not_an_unhandled_error() -> None:
    events = [
        event("s", f"START RequestId: {A} Version: $LATEST", 1),
        event("s", f"[ERROR]\t2026-12-01T00:00:00Z\t{A}\tretrying the call", 2),   # logging.error: a tab
        event("s", '{"level":"ERROR","message":"handled","exception_name":"KeyError"}', 3),  # Powertools
        event("s", f"REPORT RequestId: {A}\tDuration: 1.00 ms", 4),
    ]
    assert invocations_from_log_events(events)[0]["error"] is None


def test_the_runtime_json_error_record_and_a_crash_status_mark_failures() -> None:
    events = [
        event("s", f"START RequestId: {A} Version: $LATEST", 1),
        event("s", '{"timestamp":"t","log_level":"ERROR","errorMessage":"boom","errorType":"KeyError",'
                   f'"requestId":"{A}","stackTrace":[]}}', 2),
        event("s", f"REPORT RequestId: {A}\tDuration: 1.00 ms", 3),
        event("s", f"START RequestId: {B} Version: $LATEST", 4),
        event("s", f"REPORT RequestId: {B}\tDuration: 9.00 ms\tStatus: error\tError Type: Runtime.ExitError", 5),
    ]
    assert [c["error"] for c in invocations_from_log_events(events)] == ["KeyError", "Runtime.ExitError"]


def test_an_invocation_still_running_is_not_counted() -> None:
    assert invocations_from_log_events([event("s", f"START RequestId: {A} Version: $LATEST", 1)]) == []


def test_the_log_group_is_read_page_by_page_from_the_start_time() -> None:
    logs = boto3.session.Session(aws_access_key_id="x", aws_secret_access_key="x").client(
        "logs", region_name="eu-west-1")
    with Stubber(logs) as stub:
        wanted = {"logGroupName": "/aws/lambda/f", "interleaved": True, "startTime": 500}
        stub.add_response("filter_log_events", {"events": [event("s", "second", 20)], "nextToken": "t1"}, wanted)
        stub.add_response("filter_log_events", {"events": [event("s", "first", 10)]}, {**wanted, "nextToken": "t1"})
        assert [e["message"] for e in read_log_events(logs, "/aws/lambda/f", since_ms=500)] == ["first", "second"]
        stub.add_client_error("filter_log_events", "ResourceNotFoundException", "no group")
        assert read_log_events(logs, "/aws/lambda/f", since_ms=500) == []


def test_each_invocation_keeps_its_own_lines_and_is_found_by_what_they_mention() -> None:
    events = [
        event("s1", f"START RequestId: {A} Version: $LATEST\n", 1000),
        event("s2", f"START RequestId: {B} Version: $LATEST\n", 1001),
        event("s1", '{"message": "document processed", "key": "incoming/run-1/a.txt"}\n', 1002),
        event("s2", '{"message": "document processed", "key": "incoming/run-2/a.txt"}\n', 1003),
        event("s1", f"REPORT RequestId: {A}\tDuration: 1.00 ms\t\n", 1004),
        event("s2", f"REPORT RequestId: {B}\tDuration: 1.00 ms\t\n", 1005),
    ]
    calls = invocations_from_log_events(events)
    assert [len(c["lines"]) for c in calls] == [3, 3] and "run-1" in calls[0]["lines"][1]
    assert [c["request_id"] for c in mentioning(calls, "run-2")] == [B]
    assert mentioning(calls, "run-3") == []
