"""Stacks through CloudFormation's API on the local target: what a client, the AWS CLI or another
team's tests see when they create, describe, update, roll back and delete stacks."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from harness.cloud import CloudAccount
from harness.deployed import deploy_app
from harness.provisioning import AppSource
from harness.settings import HarnessSettings

pytestmark = pytest.mark.targets("moto", reason="on LocalStack its own CloudFormation answers the API")
APPS = Path(__file__).resolve().parents[1] / "apps"
STACKS = APPS / "cfn_stacks"


def _body(name: str) -> str:
    return (STACKS / name).read_text()


def _wait(cfn: Any, name: str, timeout: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        stack: dict[str, Any] = cfn.describe_stacks(StackName=name)["Stacks"][0]
        if not stack["StackStatus"].endswith("_IN_PROGRESS") or time.monotonic() > deadline:
            return stack
        time.sleep(0.05)


def _events(cfn: Any, name: str) -> list[tuple[str, str]]:
    events = cfn.describe_stack_events(StackName=name)["StackEvents"]
    return [(e["LogicalResourceId"], e["ResourceStatus"]) for e in reversed(events)]


def test_create_describe_update_delete(account: CloudAccount) -> None:
    cfn, sqs = account.client("cloudformation"), account.client("sqs")
    stack_id = cfn.create_stack(StackName="queues", TemplateBody=_body("queues.yaml"),
                                Parameters=[{"ParameterKey": "Retention", "ParameterValue": "600"}],
                                Tags=[{"Key": "team", "Value": "qa"}])["StackId"]
    assert stack_id.startswith(f"arn:aws:cloudformation:us-east-1:{account.account_id}:stack/queues/")
    stack = _wait(cfn, "queues")
    assert stack["StackStatus"] == "CREATE_COMPLETE" and stack["StackId"] == stack_id
    assert stack["Parameters"] == [{"ParameterKey": "Retention", "ParameterValue": "600"}]
    assert stack["Tags"] == [{"Key": "team", "Value": "qa"}]
    assert stack["Description"].startswith("A work queue")
    outputs = {o["OutputKey"]: o for o in stack["Outputs"]}
    url = outputs["WorkUrl"]["OutputValue"]
    assert outputs["WorkUrl"]["ExportName"] == "queues-work-url" and outputs["WorkUrl"]["Description"] == "the work queue"
    # The resources are real: their physical ids are what the services answer to.
    resources = {r["LogicalResourceId"]: r for r in cfn.list_stack_resources(StackName="queues")["StackResourceSummaries"]}
    assert resources["Work"]["PhysicalResourceId"] == url and resources["Work"]["ResourceStatus"] == "CREATE_COMPLETE"
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert attributes["MessageRetentionPeriod"] == "600"
    assert outputs["DeadArn"]["OutputValue"] in attributes["RedrivePolicy"]
    detail = cfn.describe_stack_resource(StackName="queues", LogicalResourceId="Dead")["StackResourceDetail"]
    assert detail["ResourceType"] == "AWS::SQS::Queue" and detail["StackId"] == stack_id
    by_physical = cfn.describe_stack_resources(PhysicalResourceId=url)["StackResources"]
    assert [r["LogicalResourceId"] for r in by_physical] == ["Work"]
    assert _events(cfn, "queues") == [
        ("queues", "CREATE_IN_PROGRESS"), ("Dead", "CREATE_IN_PROGRESS"), ("Dead", "CREATE_COMPLETE"),
        ("Work", "CREATE_IN_PROGRESS"), ("Work", "CREATE_COMPLETE"), ("queues", "CREATE_COMPLETE")]
    assert cfn.get_template(StackName="queues")["TemplateBody"] == _body("queues.yaml")
    assert cfn.list_exports()["Exports"] == [{"ExportingStackId": stack_id, "Name": "queues-work-url", "Value": url}]

    cfn.update_stack(StackName="queues", UsePreviousTemplate=True,
                     Parameters=[{"ParameterKey": "Retention", "ParameterValue": "900"}])
    # begun when the call returns, as in CloudFormation: a waiter never reads the finished create
    assert cfn.describe_stacks(StackName="queues")["Stacks"][0]["StackStatus"].startswith("UPDATE_")
    assert _wait(cfn, "queues")["StackStatus"] == "UPDATE_COMPLETE"
    assert sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["MessageRetentionPeriod"])[
        "Attributes"]["MessageRetentionPeriod"] == "900"
    assert ("Work", "UPDATE_COMPLETE") in _events(cfn, "queues")
    assert ("Dead", "UPDATE_COMPLETE") not in _events(cfn, "queues")  # unchanged resources report nothing
    with pytest.raises(ClientError, match="No updates are to be performed"):
        cfn.update_stack(StackName="queues", UsePreviousTemplate=True,
                         Parameters=[{"ParameterKey": "Retention", "UsePreviousValue": True}])

    cfn.delete_stack(StackName="queues")
    assert cfn.describe_stacks(StackName=stack_id)["Stacks"][0]["StackStatus"].startswith("DELETE_")
    cfn.get_waiter("stack_delete_complete").wait(StackName=stack_id, WaiterConfig={"Delay": 1})
    assert not sqs.list_queues().get("QueueUrls")
    with pytest.raises(ClientError, match="Stack with id queues does not exist"):
        cfn.describe_stacks(StackName="queues")
    summaries = cfn.list_stacks(StackStatusFilter=["DELETE_COMPLETE"])["StackSummaries"]
    assert [s["StackId"] for s in summaries] == [stack_id]


def test_exports_are_imported_by_other_stacks(account: CloudAccount) -> None:
    cfn = account.client("cloudformation")
    cfn.create_stack(StackName="exporter", TemplateBody=_body("queues.yaml"))
    url = {o["OutputKey"]: o["OutputValue"] for o in _wait(cfn, "exporter")["Outputs"]}["WorkUrl"]
    cfn.create_stack(StackName="importer", TemplateBody=_body("importer.yaml"),
                     Parameters=[{"ParameterKey": "Exporter", "ParameterValue": "exporter"}])
    stack = _wait(cfn, "importer")
    assert stack["StackStatus"] == "CREATE_COMPLETE", stack.get("StackStatusReason")
    name = stack["Outputs"][0]["OutputValue"]
    assert account.client("ssm").get_parameter(Name=name)["Parameter"]["Value"] == url


def test_a_failed_create_rolls_back_and_leaves_nothing(account: CloudAccount) -> None:
    cfn = account.client("cloudformation")
    cfn.create_stack(StackName="broken", TemplateBody=_body("rolls_back.yaml"))
    stack = _wait(cfn, "broken")
    assert stack["StackStatus"] == "ROLLBACK_COMPLETE"
    events = cfn.describe_stack_events(StackName="broken")["StackEvents"]
    failed = [e for e in events if e["ResourceStatus"] == "CREATE_FAILED"]
    assert [e["LogicalResourceId"] for e in failed] == ["Reserved"]
    assert "PutParameter" in failed[0]["ResourceStatusReason"]
    rollback = next(e for e in events if e["ResourceStatus"] == "ROLLBACK_IN_PROGRESS")
    assert "The following resource(s) failed to create: [Reserved]" in rollback["ResourceStatusReason"]
    assert ("Kept", "DELETE_COMPLETE") in _events(cfn, "broken")
    assert not account.client("sqs").list_queues().get("QueueUrls")  # the created queue was removed
    with pytest.raises(ClientError, match="ROLLBACK_COMPLETE state and can not be updated"):
        cfn.update_stack(StackName="broken", TemplateBody=_body("queues.yaml"))


def test_templates_the_provisioner_cannot_deploy_fail_the_call(account: CloudAccount) -> None:
    cfn = account.client("cloudformation")
    with pytest.raises(ClientError) as caught:
        cfn.create_stack(StackName="odd", TemplateBody="Resources:\n  Thing: {Type: AWS::Foo::Bar}\n")
    assert caught.value.response["Error"]["Code"] == "ValidationError"
    assert "resource Thing has type AWS::Foo::Bar" in caught.value.response["Error"]["Message"]
    with pytest.raises(ClientError, match=r"Parameters: \[Exporter\] must have values"):
        cfn.create_stack(StackName="odd", TemplateBody=_body("importer.yaml"))
    with pytest.raises(ClientError, match="line 2"):
        cfn.validate_template(TemplateBody="Resources:\n  X: [unclosed\n")
    with pytest.raises(ClientError) as caught:
        cfn.create_stack(StackName="odd", TemplateBody=_body("function.yaml"))
    assert caught.value.response["Error"]["Code"] == "InsufficientCapabilitiesException"
    assert "CAPABILITY_IAM" in str(caught.value) and "CAPABILITY_AUTO_EXPAND" in str(caught.value)
    assert cfn.list_stacks()["StackSummaries"] == []  # nothing was started


def test_change_sets_create_then_update(account: CloudAccount) -> None:
    cfn = account.client("cloudformation")
    created = cfn.create_change_set(StackName="cs", ChangeSetName="first", ChangeSetType="CREATE",
                                    TemplateBody=_body("queues.yaml"))
    assert cfn.describe_stacks(StackName="cs")["Stacks"][0]["StackStatus"] == "REVIEW_IN_PROGRESS"
    change_set = cfn.describe_change_set(ChangeSetName=created["Id"])
    assert change_set["Status"] == "CREATE_COMPLETE" and change_set["ExecutionStatus"] == "AVAILABLE"
    assert sorted((c["ResourceChange"]["Action"], c["ResourceChange"]["LogicalResourceId"])
                  for c in change_set["Changes"]) == [("Add", "Dead"), ("Add", "Work")]
    cfn.execute_change_set(ChangeSetName="first", StackName="cs")
    cfn.get_waiter("stack_create_complete").wait(StackName="cs", WaiterConfig={"Delay": 1})
    assert cfn.list_change_sets(StackName="cs")["Summaries"] == []  # executed: the stack's change sets go

    cfn.create_change_set(StackName="cs", ChangeSetName="same", UsePreviousTemplate=True)
    same = cfn.describe_change_set(StackName="cs", ChangeSetName="same")
    assert same["Status"] == "FAILED" and "didn't contain changes" in same["StatusReason"]
    cfn.delete_change_set(StackName="cs", ChangeSetName="same")

    cfn.create_change_set(StackName="cs", ChangeSetName="longer", UsePreviousTemplate=True,
                          Parameters=[{"ParameterKey": "Retention", "ParameterValue": "120"}])
    cfn.get_waiter("change_set_create_complete").wait(StackName="cs", ChangeSetName="longer",
                                                      WaiterConfig={"Delay": 1})
    cfn.execute_change_set(StackName="cs", ChangeSetName="longer")
    cfn.get_waiter("stack_update_complete").wait(StackName="cs", WaiterConfig={"Delay": 1})
    assert cfn.describe_stacks(StackName="cs")["Stacks"][0]["Parameters"][0]["ParameterValue"] == "120"


def test_sam_templates_are_transformed_and_run(account: CloudAccount) -> None:
    cfn = account.client("cloudformation")
    summary = cfn.validate_template(TemplateBody=_body("function.yaml"))
    assert summary["DeclaredTransforms"] == ["AWS::Serverless-2016-10-31"]
    assert summary["Capabilities"] == ["CAPABILITY_IAM"]
    cfn.create_stack(StackName="sam", TemplateBody=_body("function.yaml"),
                     Capabilities=["CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND"])
    stack = _wait(cfn, "sam")
    assert stack["StackStatus"] == "CREATE_COMPLETE", stack.get("StackStatusReason")
    name = stack["Outputs"][0]["OutputValue"]
    assert account.invoke(name, {"n": 1})["Payload"] == {"echo": {"n": 1}, "greeting": "hello"}
    original = cfn.get_template(StackName="sam")["TemplateBody"]
    processed = cfn.get_template(StackName="sam", TemplateStage="Processed")["TemplateBody"]
    assert "AWS::Serverless::Function" in original
    assert processed["Resources"]["Echo"]["Type"] == "AWS::Lambda::Function"  # boto3 parses JSON bodies


def test_what_the_harness_deploys_is_a_stack_clients_can_read(account: CloudAccount,
                                                              harness_settings: HarnessSettings) -> None:
    source = AppSource("cloudformation", STACKS / "queues.yaml", stack="harness-deployed")
    app = deploy_app(account, source, cache_dir=harness_settings.cache_dir)
    cfn = account.client("cloudformation")
    stack = cfn.describe_stacks(StackName="harness-deployed")["Stacks"][0]
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    assert {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]} == app.outputs
    assert app.destroy() == []
    assert cfn.list_stacks()["StackSummaries"][0]["StackStatus"] == "DELETE_COMPLETE"


def test_a_hardened_bucket_takes_uploads_over_the_local_endpoint(account: CloudAccount) -> None:
    cfn, s3 = account.client("cloudformation"), account.client("s3")
    cfn.create_stack(StackName="artifacts", TemplateBody=_body("hardened_bucket.yaml"))
    stack = _wait(cfn, "artifacts")
    assert stack["StackStatus"] == "CREATE_COMPLETE", stack.get("StackStatusReason")
    bucket = stack["Outputs"][0]["OutputValue"]
    # "true" strings reached S3 as booleans, as CloudFormation sends them.
    assert s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]["BlockPublicAcls"] is True
    # The TLS-only Deny does not apply to the local endpoint, which stands in for AWS's HTTPS one.
    s3.put_object(Bucket=bucket, Key="code.zip", Body=b"zip")
    assert s3.get_object(Bucket=bucket, Key="code.zip")["Body"].read() == b"zip"
