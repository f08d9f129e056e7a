"""Deliveries AWS services make under their own principal (tests/apps/deliveries), judged against
their targets' resource policies: the two the template gets wrong fail the scenario naming rule,
target and fix; the four it gets right pass; applying the fixes the messages give clears them."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.cloud import CloudAccount, LocalCloud
from harness.deployed import DeployedApp, deploy_app
from harness.iam.account import AccountIam
from harness.project import load_app_source
from harness.scenarios.engine import ScenarioRunner
from harness.scenarios.loader import load_scenario
from harness.settings import HarnessSettings

APP = Path(__file__).resolve().parents[1] / "apps" / "deliveries"


@pytest.fixture(autouse=True)
def observing(harness_cloud: LocalCloud) -> None:
    if harness_cloud.target.calls is None:
        pytest.skip(f"the {harness_cloud.target.name} target does not let the harness observe its calls")


def test_deliveries_aws_would_refuse_fail_the_scenario_naming_source_target_and_fix(
        harness_cloud: LocalCloud, harness_settings: HarnessSettings) -> None:
    runner = ScenarioRunner(harness_cloud, harness_settings, load_app_source(APP))
    try:
        result = runner.run(load_scenario(APP / "failing" / "order_placed.yaml"))
    finally:
        runner.close()
    # the target delivered to both queues (it enforces nothing): only the IAM check fails it
    assert [s.status for s in result.steps] == ["passed"] * 5, result.reason
    assert result.status == "failed" and result.reason.startswith("IAM: AWS would deny 2 delivery(ies): ")
    deliveries = result.iam["deliveries"]
    assert deliveries["checked"] == 6  # two rules to queues, a schedule, a subscription, a notification, a route
    refused = {d["via"].split()[-1].split("-")[1]: d for d in deliveries["denied"]}
    assert set(refused) == {"AuditRule", "NightlyRule"}
    audit, nightly = refused["AuditRule"], refused["NightlyRule"]
    assert (audit["principal"], audit["action"]) == ("events.amazonaws.com", "sqs:SendMessage")
    assert ":wired-AuditQueue-" in audit["target"] and "AWS::SQS::QueuePolicy" in audit["message"]
    assert (nightly["action"], nightly["target"].split(":")[5]) == ("lambda:InvokeFunction", "function")
    assert "AWS::Lambda::Permission" in nightly["message"] and nightly["source"] in nightly["message"]
    assert audit["message"].endswith("(in the template: AuditRule -> AuditQueue)")
    assert nightly["message"].endswith("(in the template: NightlyRule -> Nightly)")
    assert result.iam["summary"]["deliveries_denied"] == 2


@pytest.fixture(scope="module")
def wired(harness_cloud: LocalCloud, harness_settings: HarnessSettings) -> Iterator[tuple[CloudAccount, DeployedApp]]:
    account = harness_cloud.open_account()
    app = deploy_app(account, load_app_source(APP), cache_dir=harness_settings.cache_dir)
    yield account, app
    account.close()


def test_the_fixes_the_messages_give_let_every_delivery_through(
        harness_cloud: LocalCloud, wired: tuple[CloudAccount, DeployedApp]) -> None:
    account, app = wired
    assert harness_cloud.target.calls is not None
    iam = AccountIam(harness_cloud.target.calls, account)
    refused = {d["target"]: d for d in iam.deliveries(app)["denied"]}
    assert len(refused) == 2
    for target, denial in refused.items():
        if ":sqs:" in target:  # the statement the message says to add, in the queue's policy
            statement, _ = json.JSONDecoder().raw_decode(denial["message"].split("(AWS::SQS::QueuePolicy): ", 1)[1])
            url = account.client("sqs").get_queue_url(QueueName=target.rsplit(":", 1)[1])["QueueUrl"]
            account.client("sqs").set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps(
                {"Version": "2012-10-17", "Statement": [statement]})})
        else:  # the permission it names
            account.client("lambda").add_permission(
                FunctionName=target, StatementId="from-the-rule", Action="lambda:InvokeFunction",
                Principal="events.amazonaws.com", SourceArn=denial["source"])
    after = iam.deliveries(app)
    assert after["denied"] == [] and after["checked"] == 6
    iam.assert_deliveries(app)
    with pytest.raises(AssertionError, match="AWS would refuse"):  # a policy for another rule lets nothing through
        queue = next(t for t in refused if ":sqs:" in t)
        url = account.client("sqs").get_queue_url(QueueName=queue.rsplit(":", 1)[1])["QueueUrl"]
        other = refused[queue]["source"].rsplit("/", 1)[0] + "/another-rule"
        account.client("sqs").set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "events.amazonaws.com"},
                                                      "Action": "sqs:SendMessage", "Resource": queue,
                                                      "Condition": {"ArnEquals": {"aws:SourceArn": other}}}]})})
        iam.assert_deliveries(app)
