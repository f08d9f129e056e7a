"""The AWS target's whole code path against a local harness standing in for AWS (simulated mode):
preflight, the asset bucket, change sets, tags, polling, outputs, settle, teardown and sweep."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from harness.cli import main
from harness.cloud import CloudAccount, LocalCloud
from harness.deployed import deploy_app
from harness.errors import ConfigurationError
from harness.provisioning import AppSource, DeploymentFailedError
from harness.settings import HarnessSettings
from harness.targets.aws.teardown import sweep

pytestmark = pytest.mark.targets("moto", reason="the stand-in for AWS is the embedded moto target")
APPS = Path(__file__).resolve().parents[1] / "apps"


@pytest.fixture
def stand_in(account: CloudAccount) -> dict[str, str]:
    """The environment of a shell pointed at the stand-in (what `harness up --no-deploy` writes),
    with the AWS target's settings for it."""
    env = account.client_scope().client_environment()
    env.pop("AWS_ENDPOINT_URL")
    return {**env, "HARNESS_AWS_SIMULATE_ENDPOINT": str(account.cloud.target.endpoint_url),
            "HARNESS_AWS_ALLOWED_ACCOUNTS": account.account_id, "HARNESS_AWS_REGION": "us-east-1",
            "HARNESS_AWS_POLL_MIN_S": "0.05", "HARNESS_AWS_POLL_MAX_S": "0.5"}


@pytest.fixture
def aws(stand_in: dict[str, str], tmp_path: Path) -> Iterator[LocalCloud]:
    settings = HarnessSettings.resolve(explicit={"target": "aws", "state_dir": tmp_path / "state"}, environ={})
    with LocalCloud(settings, stand_in) as cloud:
        yield cloud


def _tags(stack: dict[str, Any]) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in stack.get("Tags") or []}


def test_a_cdk_app_runs_in_its_own_tagged_stack_and_leaves_nothing(aws: LocalCloud, account: CloudAccount,
                                                                   harness_settings: HarnessSettings) -> None:
    run = aws.open_account()
    assert run.account_id == account.account_id and run.scope.namespace.startswith("hx")
    app = deploy_app(run, AppSource("cdk", APPS / "cdk_default", command="python app.py", stack="CdkDefaults"),
                     cache_dir=harness_settings.cache_dir)
    assert app.stack_name == f"hx-CdkDefaults-{run.scope.namespace}"
    cfn = account.client("cloudformation")  # the stand-in's own view
    stack = cfn.describe_stacks(StackName=app.stack_name)["Stacks"][0]
    tags = _tags(stack)
    assert tags["harness:managed"] == "true" and tags["harness:run-id"] == run.scope.namespace
    assert tags["harness:app"] == "CdkDefaults" and tags["harness:expires-at"] > tags["harness:created-at"]
    # No bootstrap stack: the version check is gone and the code came from the harness's own bucket.
    assert "BootstrapVersion" not in json.dumps(cfn.get_template(StackName=app.stack_name)["TemplateBody"])
    bucket = f"hx-assets-{account.account_id}-us-east-1"
    s3 = account.client("s3")
    assert s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]["BlockPublicPolicy"]
    assert s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"][0]["Status"] == "Enabled"
    assert not [b for b in s3.list_buckets()["Buckets"] if b["Name"].startswith("cdk-")]
    # Events flow as the stand-in delivers them; settle reads the run's queues.
    run.client("sqs").send_message(QueueUrl=app.outputs["QueueUrl"], MessageBody="one")
    run.settle(timeout=30)
    logs = account.client("logs").filter_log_events(logGroupName=f"/aws/lambda/{app.outputs['FunctionName']}")
    assert any(e["message"].strip() == "hello one" for e in logs["events"])
    run.close()  # teardown: the stack by id, its function's log group
    assert cfn.describe_stacks(StackName=stack["StackId"])["Stacks"][0]["StackStatus"] == "DELETE_COMPLETE"
    assert not account.client("sqs").list_queues().get("QueueUrls")
    groups = account.client("logs").describe_log_groups()["logGroups"]
    assert not [g for g in groups if g["logGroupName"].startswith("/aws/lambda/")]


def test_a_failed_create_names_the_resource_and_leaves_no_stack(aws: LocalCloud, account: CloudAccount,
                                                                tmp_path: Path, harness_settings: HarnessSettings,
                                                                ) -> None:
    template = tmp_path / "bad.yaml"
    template.write_text("Resources:\n  Q:\n    Type: AWS::SQS::Queue\n"
                        "  Sub:\n    Type: AWS::SNS::Subscription\n    Properties:\n"
                        "      TopicArn: arn:aws:sns:us-east-1:000000000000:missing\n"
                        "      Protocol: sqs\n      Endpoint: !GetAtt Q.Arn\n")
    run = aws.open_account()
    with pytest.raises(DeploymentFailedError) as caught:
        deploy_app(run, AppSource("cloudformation", template, stack="bad"), cache_dir=harness_settings.cache_dir)
    assert "Sub (AWS::SNS::Subscription)" in str(caught.value)
    stacks = account.client("cloudformation").list_stacks()["StackSummaries"]
    assert [s["StackStatus"] for s in stacks if s["StackName"].startswith("hx-bad-")] == ["DELETE_COMPLETE"]
    assert not account.client("sqs").list_queues().get("QueueUrls")  # OnStackFailure=DELETE: nothing kept
    run.close()


def test_an_account_not_allow_listed_is_refused_before_anything_exists(stand_in: dict[str, str],
                                                                       account: CloudAccount, tmp_path: Path) -> None:
    settings = HarnessSettings.resolve(explicit={"target": "aws", "state_dir": tmp_path}, environ={})
    cloud = LocalCloud(settings, {**stand_in, "HARNESS_AWS_ALLOWED_ACCOUNTS": "999999999999"})
    with pytest.raises(ConfigurationError, match=rf"account {account.account_id}: not in allowed_accounts"):
        cloud.start()
    assert not account.client("s3").list_buckets()["Buckets"]  # not even the asset bucket
    runner = CliRunner()
    done = runner.invoke(main, ["aws", "doctor", "--template", str(APPS / "cfn_stacks" / "queues.yaml")],
                         env={**stand_in, "HARNESS_AWS_ALLOWED_ACCOUNTS": "999999999999"})
    assert done.exit_code == 2 and "999999999999" in done.output and "allowed_accounts" in done.output
    done = runner.invoke(main, ["aws", "doctor", "--template", str(APPS / "cfn_stacks" / "queues.yaml")],
                         env=stand_in)
    assert done.exit_code == 0, done.output
    assert f"ok: aws (simulated) account {account.account_id}" in done.output


def test_an_inherited_target_variable_alone_is_refused(stand_in: dict[str, str], tmp_path: Path) -> None:
    settings = HarnessSettings.resolve(environ={"HARNESS_TARGET": "aws", "HARNESS_STATE_DIR": str(tmp_path)})
    with pytest.raises(ConfigurationError, match=r"not chosen explicitly.*--target aws"):
        LocalCloud(settings, stand_in)


def test_sweep_lists_then_removes_what_a_killed_run_left(aws: LocalCloud, account: CloudAccount) -> None:
    cfn = account.client("cloudformation")
    past = (datetime.now(UTC) - timedelta(hours=1)).isoformat(timespec="seconds").replace("+00:00", "Z")
    tags = [{"Key": "harness:managed", "Value": "true"}, {"Key": "harness:run-id", "Value": "hxdead0001"},
            {"Key": "harness:created-at", "Value": past}, {"Key": "harness:expires-at", "Value": past}]
    body = (APPS / "cfn_stacks" / "queues.yaml").read_text()
    cfn.create_stack(StackName="hx-left-hxdead0001", TemplateBody=body, Tags=tags)
    cfn.create_stack(StackName="someone-elses", TemplateBody=body)
    runner = CliRunner()
    env = {k: v for k, v in aws.target._environ.items()}  # type: ignore[attr-defined]
    _wait_created(cfn, "hx-left-hxdead0001")
    listed = runner.invoke(main, ["aws", "sweep"], env=env)
    assert listed.exit_code == 1, listed.output  # something is left
    assert [s["StackName"] for s in json.loads(listed.stdout)["selected"]] == ["hx-left-hxdead0001"]
    applied = runner.invoke(main, ["aws", "sweep", "--apply"], env=env)
    assert applied.exit_code == 0, applied.output
    assert json.loads(applied.stdout)["deleted"] == ["hx-left-hxdead0001"]
    live = [s["StackName"] for s in cfn.describe_stacks()["Stacks"] if s["StackStatus"] != "DELETE_COMPLETE"]
    assert "someone-elses" in live and "hx-left-hxdead0001" not in live
    report = sweep(aws.open_account().scope, lambda *a, **k: {}, apply=False, now=datetime.now(UTC))
    assert report.selected == []


def _wait_created(cfn: Any, name: str) -> None:
    import time

    deadline = time.monotonic() + 30
    while cfn.describe_stacks(StackName=name)["Stacks"][0]["StackStatus"].endswith("IN_PROGRESS"):
        assert time.monotonic() < deadline
        time.sleep(0.05)


def _queues_app(root: Path) -> None:
    """A project in ``root`` whose app is the small CloudFormation template with a queue and its DLQ."""
    (root / "pyproject.toml").write_text('[tool.harness]\napp = "cloudformation"\npath = "t.yaml"\n')
    (root / "t.yaml").write_text((APPS / "cfn_stacks" / "queues.yaml").read_text())


def _run_until_deployed(stand_in: dict[str, str], tmp_path: Path, cfn: Any) -> Any:
    """`harness run` of a scenario that pauses, in a process of its own, once its stack is up."""
    import os
    import subprocess
    import sys
    import time

    _queues_app(tmp_path)
    (tmp_path / "slow.yaml").write_text("name: slow\nsteps:\n  - pause: {seconds: 120, reason: killed meanwhile}\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "HARNESS_"))}
    proc = subprocess.Popen([sys.executable, "-m", "harness.cli", "run", "slow.yaml", "--target", "aws"],
                            cwd=tmp_path, env={**env, **stand_in, "HARNESS_STATE_DIR": str(tmp_path / "state")},
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 120
    while not [s for s in cfn.describe_stacks()["Stacks"] if s["StackStatus"] == "CREATE_COMPLETE"
               and s["StackName"].startswith("hx-")]:
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()[0].decode()[-2000:]
        time.sleep(0.1)
    return proc


def _live(cfn: Any) -> list[str]:
    return [s["StackName"] for s in cfn.describe_stacks()["Stacks"] if s["StackStatus"] != "DELETE_COMPLETE"]


def test_a_run_stopped_with_sigterm_tears_its_stack_down(stand_in: dict[str, str], account: CloudAccount,
                                                         tmp_path: Path) -> None:
    import signal

    cfn = account.client("cloudformation")
    proc = _run_until_deployed(stand_in, tmp_path, cfn)
    proc.send_signal(signal.SIGTERM)
    output = proc.communicate(timeout=120)[0].decode()
    assert proc.returncode != 0, output
    assert _live(cfn) == [], output
    assert not account.client("sqs").list_queues().get("QueueUrls")


def test_a_run_killed_with_sigkill_leaves_a_tagged_stack_that_sweep_removes(
    stand_in: dict[str, str], account: CloudAccount, tmp_path: Path,
) -> None:
    cfn = account.client("cloudformation")
    proc = _run_until_deployed(stand_in, tmp_path, cfn)
    proc.kill()
    proc.communicate(timeout=30)
    left = _live(cfn)
    assert len(left) == 1 and left[0].startswith("hx-")
    tags = _tags(cfn.describe_stacks(StackName=left[0])["Stacks"][0])
    assert tags["harness:managed"] == "true" and tags["harness:expires-at"]
    runner, env = CliRunner(), {**stand_in, "HARNESS_TARGET": ""}
    listed = runner.invoke(main, ["aws", "sweep", "--older-than", "0m"], env=env)
    assert listed.exit_code == 1 and _live(cfn) == left, listed.output  # a dry run lists it only
    applied = runner.invoke(main, ["aws", "sweep", "--older-than", "0m", "--apply"], env=env)
    assert applied.exit_code == 0, applied.output
    assert _live(cfn) == []


def _scenario(path: Path, name: str, *, exclusive: bool = False) -> Path:
    path.write_text(f"name: {name}\n" + ("exclusive: true\n" if exclusive else "") + """steps:
  - send_message: {queue: "${outputs.DeadArn}", body: "a document of run ${run_id}"}
  - pause: {seconds: 1, reason: the other scenario sends its message meanwhile}
  - expect_queue: {queue: Dead, count: 1, messages: ["a document of run ${run_id}"]}
""")
    return path


def test_scenarios_share_one_stack_isolated_by_run_id_and_exclusive_ones_get_their_own(
    stand_in: dict[str, str], account: CloudAccount, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    from harness.scenarios import load_scenario
    from harness.scenarios.suite import run_suite

    _queues_app(tmp_path)
    for key, value in stand_in.items():
        monkeypatch.setenv(key, value)
    monkeypatch.chdir(tmp_path)
    scenarios = [load_scenario(_scenario(tmp_path / f"{n}.yaml", n, exclusive=n == "alone")) for n in ("a", "b", "alone")]
    settings = HarnessSettings.resolve(explicit={"target": "aws", "state_dir": tmp_path / "state"}, environ={})
    results, _ = run_suite(scenarios, settings, workers=3, project_root=tmp_path)
    assert [r.status for r in results] == ["passed"] * 3, [r.reason for r in results]
    a, b, alone = (r.deploy for r in results)
    # Two messages sat in the shared queue; each scenario counted its own.
    assert a["stack"] == b["stack"] and a["shared"] and b["shared"]
    assert sorted([a["deployed_by_this_scenario"], b["deployed_by_this_scenario"]]) == [False, True]
    assert alone["stack"] != a["stack"] and "shared" not in alone
    assert _live(account.client("cloudformation")) == []  # the shared stack went when the suite ended
    assert not account.client("sqs").list_queues().get("QueueUrls")


def test_keep_leaves_the_shared_stack_and_the_next_run_reuses_it(
    stand_in: dict[str, str], account: CloudAccount, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    from harness.scenarios import load_scenario
    from harness.scenarios.suite import run_suite

    _queues_app(tmp_path)
    for key, value in stand_in.items():
        monkeypatch.setenv(key, value)
    monkeypatch.chdir(tmp_path)
    scenarios = [load_scenario(_scenario(tmp_path / "a.yaml", "a"))]
    settings = HarnessSettings.resolve(explicit={"target": "aws", "state_dir": tmp_path / "state", "keep": True},
                                       environ={})
    cfn = account.client("cloudformation")
    first, _ = run_suite(scenarios, settings, workers=1, project_root=tmp_path)
    assert first[0].status == "passed" and first[0].deploy["kept"], first[0].reason
    name = first[0].deploy["stack"]
    assert _live(cfn) == [name]
    stack = cfn.describe_stacks(StackName=name)["Stacks"][0]
    assert _tags(stack)["harness:kept"] == "true" and _tags(stack)["harness:run-id"].startswith("hk")
    # The second run's message would make two in the kept queue: counting by run id keeps it at one.
    second, _ = run_suite(scenarios, settings, workers=1, project_root=tmp_path)
    assert second[0].status == "passed" and second[0].deploy["stack"] == name, second[0].reason
    assert cfn.describe_stacks(StackName=name)["Stacks"][0]["StackId"] == stack["StackId"]
    cfn.delete_stack(StackName=name)
