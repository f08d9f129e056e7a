"""Parity between two targets' runs (pure): observations, the comparison, known differences."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from harness.errors import ConfigurationError
from harness.parity import KnownDifference, compare, load_known
from harness.scenarios.observe import function_names, observe_invocations
from harness.shapes import event_summary, failed_items, shape, shape_differences, string_format

SQS_EVENT = {"Records": [{"messageId": "059f36b4-87a3-44ab-83d2-661975830a7d", "body": "x",
                          "attributes": {"SenderId": "AIDAIENQZJOLO23YVJ4VO", "SentTimestamp": "1545082649183"}}]}


def _sqs(*numbers: int) -> dict[str, Any]:
    """An SQS event with one record per number, each its own message id."""
    return {"Records": [{**SQS_EVENT["Records"][0], "messageId": f"059f36b4-87a3-44ab-83d2-{n:012d}"}
                        for n in numbers]}


def _invocation(function: str, event: Any, error: str | None = None, failed: tuple[str, ...] = ()) -> dict[str, Any]:
    """A trace entry as the engine writes it; ``failed``: the item identifiers of a partial batch response."""
    payload = json.dumps(event).encode()
    event_shapes, records, ids = event_summary(payload)
    response = json.dumps({"batchItemFailures": [{"itemIdentifier": i} for i in failed]}).encode()
    count, failed_ids = failed_items(payload, response, bool(error), records, ids)
    return {"kind": "invocation", "function": function, "records": records, "event_shapes": event_shapes,
            "record_ids": ids, "error": error, "failed_records": count, "failed_record_ids": failed_ids}


def _scenario(name: str = "s", status: str = "passed", trace: list[dict[str, Any]] | None = None,
              resources: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"name": name, "file": "scenarios/s.yaml", "status": status, "reason": "",
            "observed": {"functions": observe_invocations(trace or [], {"app-Worker-1": "Worker"}),
                         "resources": resources or {}}}


def test_shapes_keep_types_and_formats_not_values() -> None:
    assert string_format("2026-12-01T10:00:00.123Z") == "iso8601.3Z"
    assert string_format("2026-12-01T10:00:00Z") == "iso8601.0Z"
    assert [string_format(v) for v in ("arn:aws:sqs:us-east-1:123456789012:q", "https://x/y", "12",
                                       "c4ca4238a0b923820dcc509a6f75849b", "hello")] == [
        "arn", "url", "digits", "md5", "text"]
    assert shape({"a": [1, 2], "b": None, "c": True, "d": "x"}) == {"a": ["number"], "b": "null", "c": "bool", "d": "str"}
    assert event_summary(b"not json") == (["bytes"], 1, [])
    assert event_summary(json.dumps(SQS_EVENT).encode())[1:] == (1, ["059f36b4-87a3-44ab-83d2-661975830a7d"])
    two_kinds = {"Records": [{"a": "x"}, {"a": "y"}, {"b": 1}]}  # one shape per distinct record
    assert event_summary(json.dumps(two_kinds).encode()) == ([{"Records": [{"a": "text"}]},
                                                              {"Records": [{"b": "number"}]}], 3, [])
    stream = {"Records": [{"eventID": "c4ca4238a0b923820dcc509a6f75849b"}, {"Sns": {"MessageId": "m"}}]}
    assert event_summary(json.dumps(stream).encode())[2] == ["c4ca4238a0b923820dcc509a6f75849b", "m"]
    two = json.dumps(_sqs(1, 2)).encode()
    second = "059f36b4-87a3-44ab-83d2-000000000002"
    assert failed_items(two, json.dumps({"batchItemFailures": [{"itemIdentifier": second}]}).encode(),
                        False, 2, []) == (1, [second])
    assert failed_items(two, b"null", True, 2, ["a", "b"]) == (2, ["a", "b"])
    assert failed_items(two, b"{}", False, 2, []) == (0, [])
    streams = json.dumps({"Records": [{"eventID": "e1", "dynamodb": {"SequenceNumber": "100"}},
                                      {"eventID": "e2", "dynamodb": {"SequenceNumber": "200"}}]}).encode()
    assert failed_items(streams, b'{"batchItemFailures": [{"itemIdentifier": "200"}]}', False, 2, []) == (1, ["e2"])
    assert failed_items(b"{}", b'{"batchItemFailures": [{"itemIdentifier": "x"}]}', False, 1, []) == (1, [])
    assert shape_differences({"a": "text", "b": "digits"}, {"a": "text", "c": "digits"}, other="AWS") == [
        "c: missing (AWS sends it)", "b: extra (AWS never sends it)"]


def test_observations_count_records_errors_and_distinct_event_shapes() -> None:
    batch = {"Records": [SQS_EVENT["Records"][0]] * 3}
    message = SQS_EVENT["Records"][0]["messageId"]
    trace = [_invocation("app-Worker-1", batch, failed=(message,)), _invocation("app-Worker-1", SQS_EVENT, "Boom"),
             {"kind": "action"}]
    [(name, seen)] = observe_invocations(trace, {"app-Worker-1": "Worker"}).items()
    assert name == "Worker" and seen["invocations"] == 2 and seen["deliveries"] == 4 and seen["errors"] == 1
    assert seen["records"] == 1 and seen["failed_records"] == 1  # one message, delivered four times, never processed
    assert seen["batched"] and len(seen["event_shapes"]) == 1  # the same shape, whatever the batch size

    class Resource:
        def __init__(self, logical: str, kind: str, physical: str) -> None:
            self.logical_id, self.type_name, self.physical_id = logical, kind, physical

    assert function_names([Resource("Worker", "AWS::Lambda::Function", "app-Worker-1"),
                           Resource("Queue", "AWS::SQS::Queue", "http://q")]) == {"app-Worker-1": "Worker"}


def test_a_record_delivered_again_is_not_a_difference() -> None:
    once = _scenario(trace=[_invocation("app-Worker-1", _sqs(1)), _invocation("app-Worker-1", _sqs(2))])
    again = _scenario(trace=[_invocation("app-Worker-1", _sqs(1)), _invocation("app-Worker-1", _sqs(1, 2))])
    assert compare([once], [again], ("moto", "localstack"))["summary"]["differences"] == 0
    lost = _scenario(trace=[_invocation("app-Worker-1", _sqs(1))])
    assert [d["difference"] for d in compare([once], [lost], ("moto", "localstack"))["differences"]] == [
        "functions.Worker.records"]


def test_a_duplicate_that_fails_while_its_first_delivery_succeeds_is_not_a_failure() -> None:
    """Under load one target redelivers a message while its first delivery is still running, and the
    duplicate fails (idempotency: "already in progress"): the record was processed, on both sides."""
    quiet = _scenario(trace=[_invocation("app-Worker-1", _sqs(1, 2))])
    busy = _scenario(trace=[_invocation("app-Worker-1", _sqs(1)), _invocation("app-Worker-1", _sqs(1), "InProgress"),
                            _invocation("app-Worker-1", _sqs(2))])
    assert busy["observed"]["functions"]["Worker"]["failed_records"] == 0
    assert compare([quiet], [busy], ("moto", "localstack"))["summary"]["differences"] == 0
    poisoned = _scenario(trace=[_invocation("app-Worker-1", _sqs(1, 2), failed=("059f36b4-87a3-44ab-83d2-000000000002",)),
                                _invocation("app-Worker-1", _sqs(2), "Boom")])
    assert poisoned["observed"]["functions"]["Worker"]["failed_records"] == 1
    assert [d["difference"] for d in compare([quiet], [poisoned], ("moto", "localstack"))["differences"]] == [
        "functions.Worker.failed_records"]


def test_the_same_run_on_both_sides_has_no_difference() -> None:
    run = [_scenario(trace=[_invocation("app-Worker-1", SQS_EVENT)], resources={"Table": {"items": 2}})]
    parity = compare(run, run, ("moto", "localstack"))
    assert parity["summary"] == {"compared": 1, "differences": 0, "known": 0, "unexplained": 0}


def test_batching_is_not_a_difference_but_records_outcomes_shapes_and_state_are() -> None:
    # one batch of two, one record failing, against two batches of one, the second raising
    one_batch = _scenario(trace=[_invocation("app-Worker-1", _sqs(1, 2), failed=("059f36b4-87a3-44ab-83d2-000000000002",))],
                          resources={"Table": {"items": 2}, "Dlq": {"messages": 0}})
    two_batches = _scenario(trace=[_invocation("app-Worker-1", _sqs(1)), _invocation("app-Worker-1", _sqs(2), "E")],
                            resources={"Table": {"items": 2}, "Dlq": {"messages": 0}})
    assert compare([one_batch], [two_batches], ("moto", "localstack"))["summary"]["differences"] == 0
    other_event = {"Records": [{**SQS_EVENT["Records"][0], "md5OfBody": "x"}]}
    worse = _scenario(status="failed", trace=[_invocation("app-Worker-1", other_event)],
                      resources={"Table": {"items": 1}, "Dlq": {"messages": 1}})
    parity = compare([one_batch], [worse], ("moto", "localstack"))
    found = {d["difference"]: d for d in parity["differences"]}
    assert set(found) == {"outcome", "functions.Worker.records", "functions.Worker.failed_records",
                          "functions.Worker.event.Records[].md5OfBody",
                          "resources.Table.items", "resources.Dlq.messages"}
    assert found["resources.Dlq.messages"]["detail"] == "moto 0, localstack 1"
    assert parity["summary"]["unexplained"] == 6 and parity["scenarios"][0]["unexplained"] == 6


def test_known_differences_explain_by_pattern_scenario_and_target_pair() -> None:
    left = [_scenario(trace=[_invocation("app-Worker-1", SQS_EVENT)])]
    digits = {"Records": [{**SQS_EVENT["Records"][0], "attributes": {**SQS_EVENT["Records"][0]["attributes"],
                                                                       "SenderId": "123456789012"}}]}
    right = [_scenario(trace=[_invocation("app-Worker-1", digits)])]
    parity = compare(left, right, ("moto", "localstack"))  # the harness's own rule explains SenderId
    assert parity["summary"] == {"compared": 1, "differences": 1, "known": 1, "unexplained": 0}
    assert "root" in parity["differences"][0]["known"]
    assert compare(left, right, ("moto", "aws"))["summary"]["unexplained"] == 1  # that rule is for one pair
    mine = KnownDifference("functions.*.event.Records[].attributes.*", "ours", scenario="s", targets=("moto", "aws"))
    assert compare(left, right, ("moto", "aws"), [mine])["differences"][0]["known"] == "ours"


def test_a_scenario_skipped_on_one_target_is_not_compared() -> None:
    parity = compare([_scenario()], [_scenario(status="skipped")], ("moto", "localstack"))
    assert parity["scenarios"] == [{"name": "s", "compared": False, "why": "skipped on one target"}]


def test_known_differences_file(tmp_path: Path) -> None:
    assert load_known(tmp_path / "absent.yaml") == []
    path = tmp_path / "parity.yaml"
    path.write_text("- difference: resources.Cache.*\n  reason: TTL\n  scenario: 'cache *'\n")
    assert load_known(path) == [KnownDifference("resources.Cache.*", "TTL", "cache *")]
    path.write_text("- difference: resources.Cache.*\n")
    with pytest.raises(ConfigurationError, match=r"parity.yaml: entry 1 needs a 'difference' pattern and a 'reason'"):
        load_known(path)
    path.write_text("- {difference: x, reason: y, scenarios: z}\n")
    with pytest.raises(ConfigurationError, match="unknown keys"):
        load_known(path)


def test_the_parity_page_shows_each_scenario_its_differences_and_links_each_targets_report() -> None:
    from harness.report.html import render_parity

    left = [_scenario(trace=[_invocation("app-Worker-1", SQS_EVENT)], resources={"Dlq": {"messages": 0}})]
    right = [_scenario(trace=[_invocation("app-Worker-1", SQS_EVENT)], resources={"Dlq": {"messages": 1}})]
    parity = compare(left, right, ("moto", "localstack"))
    summary = {"summary": {"passed": 1, "failed": 0}}
    page = render_parity(parity, {"moto": summary, "localstack": summary})
    assert "Parity: moto and localstack" in page and "1 unexplained" in page
    assert "<code>resources.Dlq.messages</code>: moto 0, localstack 1" in page
    assert "href='localstack/report.html'" in page


def test_event_facts_come_from_the_kept_event_or_from_the_facts_filled_in() -> None:
    from harness.lambda_runtime.spec import InvocationResult
    from harness.scenarios.observe import event_facts

    base = dict(request_id="r", function_error=None, error_type=None, logs="", duration_ms=1.0,
                init_duration_ms=None, max_memory_mb=1, memory_mb=128, cold=False, started_at=0.0, environment_id="e")
    kept = InvocationResult(payload=b'{"batchItemFailures": [{"itemIdentifier": "x"}]}',
                            event=json.dumps(_sqs(1, 2)).encode(), **base)  # type: ignore[arg-type]
    facts = event_facts(kept)
    assert (facts["records"], facts["failed_records"], len(facts["record_ids"])) == (2, 1, 2)
    assert facts["event_shapes"] == event_summary(json.dumps(_sqs(1)).encode())[0]
    filled = InvocationResult(payload=b"", records=3, failed_records=3, record_ids=("a",), event_shapes=["s"],
                              **base)  # type: ignore[arg-type]
    assert event_facts(filled) == {"event_shapes": ["s"], "records": 3, "record_ids": ["a"], "failed_records": 3,
                                   "failed_record_ids": []}


def test_run_ids_never_look_like_digits() -> None:
    from harness.scenarios.engine import run_identifier
    from harness.shapes import string_format

    ids = [run_identifier() for _ in range(2000)]
    assert all(len(i) == 12 and i[0] in "abcdef" and int(i, 16) >= 0 for i in ids)
    assert {string_format(i) for i in ids} == {"text"}
