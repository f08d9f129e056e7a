from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

from click.testing import CliRunner

from harness.cli import main
from harness.cost.estimate import estimate
from harness.iam.evaluate import Request, evaluate, parse_policy
from harness.iam.needs import Need
from harness.iam.observer import Call
from harness.iam.report import iam_section
from harness.report import render_html, render_junit, report_dict
from harness.scenarios.engine import ScenarioResult, StepResult
from harness.scenarios.matchers import differences, extract
from harness.scenarios.variables import VariableError, interpolate
from harness.wiring.alarms import breaching


def test_partial_matching_and_operators() -> None:
    actual = {"status": "DONE", "result": {"total": "10.00", "n": 3}, "items": [{"id": 1}, {"id": 2}],
              "body": '{"message": "too wide: 31 days"}'}
    assert differences({"status": "DONE", "result": {"total": "10.00"}}, actual) == []
    assert differences({"result": {"n": 3.0}}, actual) == []
    assert differences({"items": {"$contains": [{"id": 2}], "$len": 2}}, actual) == []
    assert differences({"body": {"$json": {"message": {"$regex": "31 days"}}}}, actual) == []
    assert differences({"missing": {"$absent": True}, "status": {"$any": True}}, actual) == []
    assert differences({"result": {"n": {"$gte": 4}}}, actual) == ["$.result.n: expected >= 4, got 3"]
    assert differences({"status": "FAILED"}, actual) == ["$.status: expected 'FAILED', got 'DONE'"]
    assert differences({"items": [{"id": 1}]}, actual) == ["$.items: expected 1 item(s), got 2: [{'id': 1}, {'id': 2}]"]
    assert differences({"nope": 1}, actual) == ["$.nope: missing (expected 1)"]
    assert extract("items.1.id", actual) == 2 and extract("x.y", actual) is None


def test_interpolation_keeps_types_and_names_unknown_variables() -> None:
    variables = {"outputs": {"Bucket": "b"}, "n": 3}
    assert interpolate({"k": "${n}", "s": "x-${outputs.Bucket}-${n}"}, variables) == {"k": 3, "s": "x-b-3"}
    try:
        interpolate("${outputs.Nope}", variables)
    except VariableError as exc:
        assert "${outputs.Nope}" in str(exc)
    else:
        raise AssertionError("expected a VariableError")


def test_alarm_comparisons() -> None:
    assert breaching(1, "GreaterThanOrEqualToThreshold", 1)
    assert not breaching(0, "GreaterThanOrEqualToThreshold", 1)
    assert breaching(0, "LessThanThreshold", 1)


def _iam_and_cost() -> tuple[dict[str, Any], dict[str, Any]]:
    """Sections as the engine makes them: a granted read, a write the role lacks, a wildcard grant unused."""
    role = "arn:aws:iam::111111111111:role/fn-role"
    table = "arn:aws:dynamodb:us-east-1:111111111111:table/jobs"
    statements = parse_policy({"Statement": [{"Effect": "Allow", "Action": ["dynamodb:GetItem", "sqs:*"],
                                              "Resource": "*"}]}, "inline policy p of role fn-role")
    calls = [Call(1000.2, "fn", role, "dynamodb", "GetItem", (Need("dynamodb:GetItem", table),)),
             Call(1000.3, "fn", role, "dynamodb", "PutItem", (Need("dynamodb:PutItem", table),))]
    iam = iam_section(calls, lambda p, n: evaluate(Request(p, n.action, n.resource or "*"), statements),
                      lambda r: statements, mode="report")
    cost = estimate({"dynamodb_wru": 1, "dynamodb_rru": 0.5}, [{"duration_ms": 40, "memory_mb": 256}],
                    region="us-east-1")
    return iam, cost


def results() -> list[ScenarioResult]:
    ok = ScenarioResult("good", "a.yaml", "passed", started=1000.0, duration_s=1.5,
                        steps=[StepResult("settle", "settle", "a.yaml:3:5", "passed", 1000.0, 0.2)],
                        trace=[{"kind": "s3.put_object", "at": 1000.1},
                               {"kind": "invocation", "function": "fn", "at": 1000.2, "duration_ms": 40,
                                "cold": True, "init_ms": 200, "error": None, "request_id": "r"}],
                        journal=[{"kind": "sqs.batch", "at": 1000.15, "source": "arn:aws:sqs:r:1:q",
                                  "message_ids": ["m"], "failed": []}])
    ok.iam, ok.cost = _iam_and_cost()
    bad = ScenarioResult("bad", "b.yaml", "failed", "step x: mismatch", 1000.0, 0.5,
                         steps=[StepResult("x", "expect_item", "b.yaml:4:5", "failed", 1000.0, 0.1,
                                           error="item did not match", diff=["$.status: expected 'DONE', got 'FAILED'"])])
    skipped = ScenarioResult("later", "c.yaml", "skipped", "not on moto", 1000.0)
    return [ok, bad, skipped]


def test_reports() -> None:
    items = results()
    report = report_dict(items, target="moto", versions={"moto": "5"}, started=1000.0, duration_s=2.0)
    assert report["summary"] == {"passed": 1, "failed": 1, "skipped": 1, "total": 3}
    assert json.loads(json.dumps(report, default=str))["scenarios"][1]["steps"][0]["diff"]
    suite = ElementTree.fromstring(render_junit(items, target="moto"))
    assert suite.get("tests") == "3" and suite.get("failures") == "1" and suite.get("skipped") == "1"
    assert "expected 'DONE'" in (suite.find("testcase[@name='bad']/failure").text or "")  # type: ignore[union-attr]
    page = render_html(items, report)
    assert page.count("<svg class='timeline'") == 2  # not for the skipped one
    assert "class='cold'" in page and "expected &#x27;DONE&#x27;" in page
    assert "http" not in page.replace("http://www.w3.org/2000/svg", "")  # self-contained
    assert "dynamodb:PutItem" in page and "per 1,000 runs" in page and "1 call(s) AWS would deny" in page
    assert report["iam"]["summary"]["denied"] == 1 and report["cost"]["scenarios"][0]["scenario"] == "good"


def test_runtime_substitutions_are_noted_in_the_reports() -> None:
    note = "runtime python3.14 has no Python 3.14 interpreter here: its functions run on Python 3.13"
    report = report_dict(results(), target="moto", versions={}, started=1000.0, duration_s=2.0, notes=[note])
    assert report["notes"] == [note]
    assert f"note: {note}" in render_html(results(), report)


def test_a_refused_delivery_shows_in_the_reports_and_fails_harness_iam(tmp_path: Path) -> None:
    items = results()
    refusal = {"via": "EventBridge rule audit", "source": "arn:aws:events:us-east-1:1:rule/audit",
               "target": "arn:aws:sqs:us-east-1:1:audit", "principal": "events.amazonaws.com",
               "action": "sqs:SendMessage", "decision": "denied", "why": "no statement allows it",
               "message": "EventBridge rule audit cannot deliver to arn:aws:sqs:us-east-1:1:audit: add a queue policy"}
    items[0].iam["deliveries"] = {"checked": 3, "denied": [refusal], "not_evaluated": []}
    report = report_dict(items, target="moto", versions={}, started=1000.0, duration_s=2.0)
    assert report["iam"]["summary"]["deliveries_denied"] == 1
    assert report["iam"]["deliveries_denied"][0]["scenarios"] == ["good"]
    page = render_html(items, report)
    assert "refused delivery" in page and "1 call(s) and 1 delivery(ies) AWS would deny" in page
    (tmp_path / "report.json").write_text(json.dumps(report, default=str))
    result = CliRunner().invoke(main, ["iam", "--report-dir", str(tmp_path)])
    assert result.exit_code == 1
    assert "DELIVERY REFUSED (scenarios 'good'): EventBridge rule audit cannot deliver" in result.output
    assert "1 call(s) and 1 delivery(ies) AWS would deny" in result.output
