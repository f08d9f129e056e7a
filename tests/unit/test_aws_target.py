"""The AWS target's pure parts: settings, preflight refusals, the template lint, names, sweep
selection, asset relocation, and settle against a slow AWS on a fake clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from harness.provisioning.assets import FileAsset, relocate_assets
from harness.provisioning.bootstrap import without_bootstrap_check
from harness.provisioning.template import Template
from harness.targets.aws import settle as settle_module
from harness.targets.aws.config import AwsConfig, AwsRefusal, load_aws_config
from harness.targets.aws.deploy import RunInfo, run_stack_name
from harness.targets.aws.preflight import check_identity, lint_template, refuse_on
from harness.targets.aws.teardown import select_stacks

ACCOUNT = "111122223333"
CONFIG = AwsConfig(allowed_accounts=(ACCOUNT,), region="eu-west-1")


def test_settings_come_from_the_table_with_environment_overrides() -> None:
    config = load_aws_config({"allowed_accounts": [ACCOUNT], "region": "eu-west-1", "ttl_hours": 2},
                             {"HARNESS_AWS_PREFIX": "qa", "HARNESS_AWS_ALLOWED_ACCOUNTS": f"{ACCOUNT},444455556666"})
    assert config.prefix == "qa" and config.ttl_hours == 2 and config.allowed_accounts == (ACCOUNT, "444455556666")
    assert not config.simulated


@pytest.mark.parametrize(("table", "environ", "message"), [
    ({"region": "eu-west-1"}, {}, "no AWS account is allow-listed"),
    ({"allowed_accounts": [], "region": "eu-west-1"}, {}, "no AWS account is allow-listed"),
    ({"allowed_accounts": ["prod-*"], "region": "eu-west-1"}, {}, "exact 12-digit"),
    ({"allowed_accounts": [ACCOUNT]}, {}, "no region"),
    ({"allowed_accounts": [ACCOUNT], "region": "x", "prefix": "Bad_Prefix"}, {}, "prefix"),
    ({"allowed_accounts": [ACCOUNT], "region": "x", "colour": "red"}, {}, "unknown key"),
    ({"allowed_accounts": [ACCOUNT], "region": "x"}, {"HARNESS_AWS_SIMULATE_ENDPOINT": "http://10.0.0.8:4566"},
     "not a loopback address"),
])
def test_bad_settings_are_refused_naming_the_key(table: dict[str, Any], environ: dict[str, str], message: str) -> None:
    with pytest.raises(AwsRefusal, match=message):
        load_aws_config(table, environ)


def test_identity_refusals_name_the_reason_and_the_fix() -> None:
    def refusals(caller: dict[str, str], environ: dict[str, str], config: AwsConfig = CONFIG) -> list[str]:
        return [f.line() for f in check_identity(caller, config, environ) if f.level == "refuse"]

    role = {"Account": ACCOUNT, "Arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/ci-tests/run-1"}
    assert refusals(role, {}) == []
    assert "not in allowed_accounts" in refusals({**role, "Account": "999999999999"}, {})[0]
    assert "root credentials" in refusals({"Account": ACCOUNT, "Arn": f"arn:aws:iam::{ACCOUNT}:root"}, {})[0]
    assert "AWS_REGION: is us-east-1" in refusals(role, {"AWS_REGION": "us-east-1"})[0]
    assert "unset AWS_ENDPOINT_URL_SQS" in refusals(role, {"AWS_ENDPOINT_URL_SQS": "http://x"})[0]
    pattern = AwsConfig((ACCOUNT,), "eu-west-1", ci_role_arn_pattern=f"arn:aws:iam::{ACCOUNT}:role/ci-*")
    assert refusals(role, {}, pattern) == []
    assert "ci_role_arn_pattern" in refusals({**role, "Arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/admin/x"}, {},
                                             pattern)[0]
    with pytest.raises(AwsRefusal, match=r"^aws target refused: account 999999999999: .*; use a test account"):
        refuse_on(check_identity({**role, "Account": "999999999999"}, CONFIG, {}))


def _template(**resources: dict[str, Any]) -> Template:
    return Template.from_dict({"Resources": resources})


def test_the_lint_refuses_what_a_test_stack_must_not_leave_or_claim() -> None:
    template = _template(
        Table={"Type": "AWS::DynamoDB::Table", "DeletionPolicy": "Retain"},
        Named={"Type": "AWS::SQS::Queue", "Properties": {"QueueName": "orders"}},
        Scoped={"Type": "AWS::SQS::Queue", "Properties": {"QueueName": {"Fn::Sub": "${AWS::StackName}-q"}}},
        Prefixed={"Type": "AWS::SNS::Topic", "Properties": {"TopicName": "hx-topic"}},
        Pool={"Type": "AWS::Cognito::UserPool", "Properties": {"UserPoolName": "users"}},
        Custom={"Type": "Custom::Seed"},
        Stream={"Type": "AWS::Lambda::EventSourceMapping", "Properties": {"StartingPosition": "LATEST"}})
    _, findings = lint_template(template, CONFIG)
    by_subject = {f.subject: f for f in findings}
    assert by_subject["Table (AWS::DynamoDB::Table)"].level == "refuse"
    assert "rewrite_retain = true" in by_subject["Table (AWS::DynamoDB::Table)"].fix
    assert by_subject["Named (AWS::SQS::Queue)"].level == "refuse"
    assert by_subject["Custom (Custom::Seed)"].level == "refuse"
    assert by_subject["Stream (AWS::Lambda::EventSourceMapping)"].level == "warn"
    assert not {"Scoped (AWS::SQS::Queue)", "Prefixed (AWS::SNS::Topic)", "Pool (AWS::Cognito::UserPool)"} & set(by_subject)


def test_retain_is_rewritten_and_reported_when_asked() -> None:
    config = AwsConfig((ACCOUNT,), "eu-west-1", rewrite_retain=True)
    template = _template(Table={"Type": "AWS::DynamoDB::Table", "DeletionPolicy": "Retain",
                                "UpdateReplacePolicy": "Snapshot"})
    rewritten, findings = lint_template(template, config)
    assert [f.level for f in findings] == ["rewrite", "rewrite"]
    assert rewritten.resources["Table"]["DeletionPolicy"] == "Delete"
    assert template.resources["Table"]["DeletionPolicy"] == "Retain"  # the input is untouched


def test_names_and_tags_carry_the_run() -> None:
    assert run_stack_name("hx", "Doc Pipeline", "hx0a1b2c3d") == "hx-Doc-Pipeline-hx0a1b2c3d"
    created = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    tags = {t["Key"]: t["Value"] for t in RunInfo("hx0a1b2c3d", "me", created, 6).tags("App")}
    assert tags == {"harness:managed": "true", "harness:run-id": "hx0a1b2c3d", "harness:owner": "me",
                    "harness:created-at": "2026-01-02T03:04:05Z", "harness:expires-at": "2026-01-02T09:04:05Z",
                    "harness:app": "App"}


def _stack(name: str, status: str = "CREATE_COMPLETE", **tags: str) -> dict[str, Any]:
    return {"StackName": name, "StackId": f"id/{name}", "StackStatus": status,
            "Tags": [{"Key": k.replace("_", ":", 1).replace("_", "-"), "Value": v} for k, v in tags.items()]}


def test_sweep_selects_only_expired_managed_root_stacks_not_in_progress() -> None:
    now = datetime(2026, 6, 1, 12, tzinfo=UTC)
    old, young = "2026-06-01T06:00:00Z", "2026-06-01T11:00:00Z"
    stacks = [
        _stack("expired", harness_managed="true", harness_expires_at=old, harness_created_at=old),
        _stack("fresh", harness_managed="true", harness_expires_at="2026-06-01T18:00:00Z", harness_created_at=young),
        _stack("busy", "UPDATE_IN_PROGRESS", harness_managed="true", harness_expires_at=old),
        _stack("not-ours", harness_expires_at=old),
        {**_stack("nested", harness_managed="true", harness_expires_at=old), "ParentId": "id/expired"},
    ]
    chosen, skipped = select_stacks(stacks, now=now, older_than=None, force=False)
    assert [s["StackName"] for s in chosen] == ["expired"]
    assert {s["StackName"] for s in skipped} == {"fresh", "busy"}
    chosen, _ = select_stacks(stacks, now=now, older_than=timedelta(hours=2), force=False)
    assert [s["StackName"] for s in chosen] == ["expired"]
    chosen, _ = select_stacks(stacks, now=now, older_than=None, force=True)
    assert [s["StackName"] for s in chosen] == ["expired", "fresh"]
    chosen, _ = select_stacks(stacks, now=now, older_than=None, force=False, grace=timedelta(hours=24))
    assert chosen == []  # the background sweep before a run only takes stacks expired a day ago


def test_assets_move_to_the_harness_bucket_and_the_bootstrap_check_goes() -> None:
    pattern = "cdk-hnb659fds-assets-${AWS::AccountId}-${AWS::Region}"
    document = {"Parameters": {"BootstrapVersion": {"Type": "AWS::SSM::Parameter::Value<String>",
                                                    "Default": "/cdk-bootstrap/hnb659fds/version"}},
                "Rules": {"CheckBootstrapVersion": {"Assertions": [{"Assert": {"Fn::Not": [{"Fn::Contains": [
                    ["1", "2"], {"Ref": "BootstrapVersion"}]}]}}]}},
                "Resources": {"Fn": {"Type": "AWS::Lambda::Function", "Properties": {"Code": {
                    "S3Bucket": {"Fn::Sub": pattern}, "S3Key": "abc.zip"}}}}}
    asset = FileAsset("abc", Path("x"), "zip", pattern, "abc.zip")
    moved, assets = relocate_assets(document, [asset], "hx-assets-1-eu-west-1", account_id="1", region="eu-west-1")
    assert moved["Resources"]["Fn"]["Properties"]["Code"]["S3Bucket"] == {"Fn::Sub": "hx-assets-1-eu-west-1"}
    assert assets[0].bucket == "hx-assets-1-eu-west-1" and assets[0].key == "abc.zip"
    stripped = without_bootstrap_check(Template.from_dict(moved))
    assert not stripped.parameters and not stripped.rules


def test_settle_never_returns_early_on_a_slow_aws_and_names_what_is_pending(monkeypatch: pytest.MonkeyPatch) -> None:
    """Counters frozen at 1 for 90 s (AWS's approximate counters), then 0: settle returns only after
    the quiet period past that; with a shorter timeout it fails naming the queue."""
    now = [0.0]
    monkeypatch.setattr(settle_module, "run_sources", lambda scope, lam, sqs: [settle_module.Source("m1", "orders", "u")])
    monkeypatch.setattr(settle_module, "pending",
                        lambda lam, sqs, sources: ["orders: 1 message(s) in queue"] if now[0] < 90 else [])

    def sleep(seconds: float) -> None:
        now[0] += seconds

    scope: Any = type("Scope", (), {"namespace": "hx00000001", "client": lambda self, service: None})()
    settle_module.settle_run(scope, 300, quiet_s=60, clock=lambda: now[0], sleep=sleep)
    assert now[0] >= 150
    now[0] = 0.0
    with pytest.raises(settle_module.WaitTimeoutError, match="orders: 1 message"):
        settle_module.settle_run(scope, 80, quiet_s=60, clock=lambda: now[0], sleep=sleep)


def test_a_missing_profile_is_refused_before_any_call() -> None:
    from harness.invocations import TargetHooks
    from harness.settings import HarnessSettings
    from harness.targets.aws.target import AwsTarget

    config = AwsConfig((ACCOUNT,), "eu-west-1", profile="no-such-profile-for-harness-tests")
    target = AwsTarget(HarnessSettings(target="aws", target_explicit=True), {}, config=config)
    with pytest.raises(AwsRefusal, match=r"profile no-such-profile-for-harness-tests: is not in the AWS config"):
        target.start(TargetHooks(lambda invocation: None, lambda account_id: None))
    assert not target.healthy()


class _Lambda:
    """Functions and mappings that become ready after a number of reads (a slow AWS)."""

    def __init__(self, pending_reads: int, failed: bool = False) -> None:
        self.reads, self.pending_reads, self.failed = 0, pending_reads, failed

    def get_function_configuration(self, FunctionName: str) -> dict[str, Any]:
        self.reads += 1
        if self.failed:
            return {"State": "Failed", "StateReason": "the ENI limit was reached"}
        return {"State": "Active" if self.reads > self.pending_reads else "Pending", "LastUpdateStatus": "Successful"}

    def get_event_source_mapping(self, UUID: str) -> dict[str, Any]:
        return {"State": "Enabled" if self.reads > self.pending_reads else "Creating"}


def _record() -> Any:
    from harness.provisioning.deployer import StackRecord
    from harness.provisioning.resources.base import ResourceState

    record = StackRecord("hx-app-hx1", ACCOUNT, "eu-west-1")
    for logical, type_name in (("Fn", "AWS::Lambda::Function"), ("FnQueueSource", "AWS::Lambda::EventSourceMapping")):
        record.resources[logical] = ResourceState(logical, type_name, f"{logical}-id", f"{logical}-id", {}, {})
    return record


def test_readiness_waits_for_active_functions_and_enabled_mappings() -> None:
    from harness.targets.aws.readiness import wait_ready

    now = [0.0]
    lam = _Lambda(pending_reads=3)
    waited = wait_ready(lam, _record(), timeout=60, interval=2.0, clock=lambda: now[0],
                        sleep=lambda s: now.__setitem__(0, now[0] + s))
    assert waited == 6.0 and lam.reads == 4


def test_readiness_names_what_is_not_ready_and_fails_fast_on_a_failed_function() -> None:
    from harness.errors import WaitTimeoutError
    from harness.targets.aws.readiness import wait_ready

    now = [0.0]
    tick = {"clock": lambda: now[0], "sleep": lambda s: now.__setitem__(0, now[0] + s)}
    with pytest.raises(WaitTimeoutError, match="function Fn is Pending/Successful; event source mapping "
                                                "FnQueueSource is Creating"):
        wait_ready(_Lambda(pending_reads=1000), _record(), timeout=10, **tick)  # type: ignore[arg-type]
    with pytest.raises(WaitTimeoutError, match="ENI limit"):
        wait_ready(_Lambda(0, failed=True), _record(), timeout=600, **tick)  # type: ignore[arg-type]
    assert now[0] <= 10  # the failed function did not wait out its 600 s


class _Invocable:
    """Functions whose DryRun invocations are denied a number of times first (IAM still propagating)."""

    def __init__(self, denied: int) -> None:
        self.calls, self.denied = 0, denied

    def invoke(self, FunctionName: str, InvocationType: str) -> dict[str, Any]:
        assert InvocationType == "DryRun"  # the canary never runs the function's code
        self.calls += 1
        if self.calls <= self.denied:
            raise PermissionError(f"AccessDeniedException: not authorized to invoke {FunctionName}")
        return {"StatusCode": 204}


def _api_record() -> Any:
    from harness.provisioning.resources.base import ResourceState

    record = _record()
    endpoint = {"ApiEndpoint": "https://a1.execute-api.eu-west-1.amazonaws.com"}
    record.resources["Api"] = ResourceState("Api", "AWS::ApiGatewayV2::Api", "a1", "a1", endpoint, {})
    record.resources["Stage"] = ResourceState("Stage", "AWS::ApiGatewayV2::Stage", "s1", "s1", {},
                                              {"ApiId": "a1", "StageName": "prod"})
    return record


def test_the_canary_waits_until_every_function_is_invocable_and_every_api_answers() -> None:
    from harness.targets.aws.readiness import canary

    now = [0.0]
    answers = iter([OSError("Name or service not known"), 503, 404])  # DNS first, then the stage is up

    def http_get(url: str) -> int:
        assert url == "https://a1.execute-api.eu-west-1.amazonaws.com/prod/"
        answer = next(answers)
        if isinstance(answer, Exception):
            raise answer
        return answer

    lam = _Invocable(denied=1)
    checked = canary(lam, _api_record(), http_get=http_get, timeout=60, interval=2.0, clock=lambda: now[0],
                     sleep=lambda s: now.__setitem__(0, now[0] + s))
    assert checked == {"functions": 1, "http_apis": 1, "seconds": 4.0}


def test_the_canary_names_each_entry_point_still_failing() -> None:
    from harness.errors import WaitTimeoutError
    from harness.targets.aws.readiness import canary

    now = [0.0]
    tick = {"clock": lambda: now[0], "sleep": lambda s: now.__setitem__(0, now[0] + s)}
    with pytest.raises(WaitTimeoutError, match=r"function Fn: PermissionError: AccessDeniedException.*; "
                                                r"HTTP API Api \(https://a1\S+/prod/\) answered 502"):
        canary(_Invocable(denied=1000), _api_record(), http_get=lambda url: 502, timeout=10, **tick)  # type: ignore[arg-type]
    # Without an HTTP client (the simulated stand-in has no execute-api host) only functions are checked.
    assert canary(_Invocable(0), _api_record(), http_get=None, timeout=10, **tick)["http_apis"] == 0  # type: ignore[arg-type]


def test_the_simulated_environment_points_the_aws_target_at_the_stand_in() -> None:
    from harness.aws_cli import simulated_environment

    env = simulated_environment(
        {"AWS_ENDPOINT_URL": "http://127.0.0.1:1", "AWS_ENDPOINT_URL_S3": "x", "HARNESS_TARGET": "moto", "PATH": "/bin"},
        {"AWS_ENDPOINT_URL": "http://127.0.0.1:4566", "HARNESS_ACCOUNT_ID": ACCOUNT, "AWS_ACCESS_KEY_ID": "k",
         "AWS_SECRET_ACCESS_KEY": "s", "AWS_DEFAULT_REGION": "us-east-1"})
    assert not any(k.startswith("AWS_ENDPOINT_URL") for k in env) and "HARNESS_TARGET" not in env
    assert env["HARNESS_AWS_SIMULATE_ENDPOINT"] == "http://127.0.0.1:4566"
    assert env["HARNESS_AWS_ALLOWED_ACCOUNTS"] == ACCOUNT and env["HARNESS_AWS_REGION"] == "us-east-1"
    assert env["AWS_ACCESS_KEY_ID"] == "k" and env["PATH"] == "/bin"


def test_the_ci_policy_comes_from_the_resource_types_and_the_steps() -> None:
    from harness.targets.aws.policy import ci_policy

    template = Template({"Q": {"Type": "AWS::SQS::Queue"}, "C": {"Type": "AWS::Nope::Thing"}})
    policy, notes = ci_policy(template, CONFIG, ["put_object", "expect_item"], account=ACCOUNT)
    statements = {s["Sid"]: s for s in policy["Statement"]}
    assert {"sqs:CreateQueue", "sqs:DeleteQueue"} <= set(statements["Deploy"]["Action"])
    assert not [a for a in statements["Deploy"]["Action"] if a.startswith("s3:")]  # no bucket in the template
    assert statements["ScenarioSteps"]["Action"] == ["dynamodb:GetItem", "s3:PutObject"]
    assert statements["HarnessStacks"]["Resource"][0] == f"arn:aws:cloudformation:eu-west-1:{ACCOUNT}:stack/hx-*/*"
    assert notes == ["AWS::Nope::Thing: no registry schema; add what its create/delete need by hand"]
