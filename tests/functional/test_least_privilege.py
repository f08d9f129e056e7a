"""Least privilege on moto (tests/apps/least_privilege): a call the role does not grant fails its
scenario naming function, action and resource; unused grants are reported; in enforce mode each
service answers a denied call with the error AWS gives, resource policies and explicit denies
deciding as in IAM."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from harness.cloud import CloudAccount, LocalCloud
from harness.deployed import DeployedApp, deploy_app
from harness.project import load_app_source
from harness.scenarios.engine import ScenarioResult, ScenarioRunner
from harness.scenarios.loader import load_scenario
from harness.settings import HarnessSettings

APP = Path(__file__).resolve().parents[1] / "apps" / "least_privilege"


@pytest.fixture(autouse=True)
def observing(harness_cloud: LocalCloud) -> None:
    if harness_cloud.target.calls is None:
        pytest.skip(f"the {harness_cloud.target.name} target does not let the harness observe its calls")


def _run(cloud: LocalCloud, settings: HarnessSettings, path: Path) -> ScenarioResult:
    runner = ScenarioRunner(cloud, settings, load_app_source(APP))
    try:
        return runner.run(load_scenario(path))
    finally:
        runner.close()


def test_a_call_the_role_does_not_grant_fails_the_scenario_naming_action_and_resource(
        harness_cloud: LocalCloud, harness_settings: HarnessSettings) -> None:
    result = _run(harness_cloud, harness_settings, APP / "failing" / "missing_put_item.yaml")
    assert result.status == "failed"
    (denied,) = result.iam["denied"]
    assert denied["function"] == "Ungranted" and denied["action"] == "dynamodb:PutItem"
    assert denied["resource"].startswith(f"arn:aws:dynamodb:{harness_settings.region}:")
    assert ":table/leastpriv-Table" in denied["resource"]
    assert "dynamodb:PutItem" in result.reason and denied["resource"] in result.reason
    assert '"Action": "dynamodb:PutItem"' in result.reason  # the statement to add


def test_a_function_within_its_grants_passes_and_its_unused_grants_are_reported(
        harness_cloud: LocalCloud, harness_settings: HarnessSettings) -> None:
    result = _run(harness_cloud, harness_settings, APP / "scenarios" / "granted.yaml")
    assert result.status == "passed", result.reason
    assert result.iam["denied"] == []
    granted = result.iam["functions"]["Granted"]
    assert {"dynamodb:PutItem", "ssm:GetParameter", "logs:PutLogEvents"} <= set(granted["used"])
    unused = {g["action"] for g in granted["unused_grants"]}
    assert {"dynamodb:DeleteItem", "dynamodb:Scan"} <= unused and "dynamodb:PutItem" not in unused
    statement = granted["suggested_policy"]["Statement"]
    assert any("dynamodb:PutItem" in json.dumps(s) and ":table/leastpriv-Table" in json.dumps(s) for s in statement)
    cost = result.cost
    assert cost["lines"] and cost["total_usd"] > 0 and cost["per_1000_runs_usd"] == pytest.approx(cost["total_usd"] * 1000)
    assert {line["item"] for line in cost["lines"]} >= {"lambda_requests", "dynamodb_wru", "ssm_calls"}


@pytest.fixture(scope="module")
def enforced(harness_cloud: LocalCloud, harness_settings: HarnessSettings) -> Iterator[tuple[CloudAccount, DeployedApp]]:
    if harness_cloud.target.calls is None or not harness_cloud.target.calls.can_enforce:
        pytest.skip(f"the {harness_cloud.target.name} target answers its calls itself: enforce is moto's")
    account = harness_cloud.open_account()
    app = deploy_app(account, load_app_source(APP), cache_dir=harness_settings.cache_dir)
    harness_cloud.target.calls.set_mode(account.account_id, "enforce")
    yield account, app
    account.close()


@pytest.fixture(scope="module")
def probed(enforced: tuple[CloudAccount, DeployedApp]) -> dict[str, Any]:
    account, app = enforced
    (probe,) = [str(r.physical_id) for r in app.record.resources.values() if r.logical_id == "Probe"]
    result = account.invoke(probe, {})
    assert result["FunctionError"] is None, result
    return dict(result["Payload"])


@pytest.mark.parametrize("call, code, status", [
    ("dynamodb.PutItem", "AccessDeniedException", 400),        # an explicit Deny in the role's policy
    ("s3.PutObject", "AccessDenied", 403),
    ("s3.HeadObject", "403", 403),                             # HEAD: no body, the SDK names the status
    ("sqs.SendMessage.closed", "AccessDenied", 403),           # JSON protocol, the query code in a header
    ("ssm.GetParameter", "AccessDeniedException", 400),
    ("secretsmanager.GetSecretValue", "AccessDeniedException", 400),
    ("events.PutEvents", "AccessDeniedException", 400),
    ("sns.Publish", "AuthorizationError", 403),
    ("lambda.Invoke", "AccessDeniedException", 403),
])
def test_enforce_answers_a_denied_call_as_the_service_does_on_aws(probed: dict[str, Any], call: str, code: str,
                                                                    status: int) -> None:
    got = probed[call]
    assert (got.get("code"), got.get("status")) == (code, status), got
    if call != "s3.HeadObject":
        assert "is not authorized to perform:" in got["message"] and " on resource: arn:aws:" in got["message"]


def test_enforce_allows_what_a_policy_grants_and_words_an_explicit_deny(probed: dict[str, Any]) -> None:
    assert probed["dynamodb.GetItem"] == {"ok": True}         # dynamodb:* on the table
    assert probed["sqs.SendMessage.open"] == {"ok": True}     # the queue's policy names the role
    assert "with an explicit deny in an identity-based policy" in probed["dynamodb.PutItem"]["message"]
    assert "because no identity-based policy allows the ssm:GetParameter action" in probed["ssm.GetParameter"]["message"]


def test_enforce_records_the_denials(harness_cloud: LocalCloud, enforced: tuple[CloudAccount, DeployedApp],
                                     probed: dict[str, Any]) -> None:
    account, _ = enforced
    assert harness_cloud.target.calls is not None
    denied = [c for c in harness_cloud.target.calls.log.calls(account.account_id) if c.denied]
    assert {(c.service, c.operation) for c in denied} >= {("dynamodb", "PutItem"), ("sns", "Publish")}
