"""Deploying, updating and tearing down templates on moto through the provisioner."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.cloud import CloudAccount
from harness.deployed import deploy_app
from harness.packaging import zip_files
from harness.provisioning import StackDeployer
from harness.provisioning.errors import ProvisioningError
from harness.provisioning.synth import AppSource
from harness.provisioning.template import Template
from harness.settings import HarnessSettings

HERE = Path(__file__).resolve().parent


def small_template(visibility: int, greeting: str, with_topic: bool = False) -> Template:
    resources: dict[str, object] = {
        "Dlq": {"Type": "AWS::SQS::Queue"},
        "Queue": {"Type": "AWS::SQS::Queue", "Properties": {
            "VisibilityTimeout": visibility,
            "RedrivePolicy": {"deadLetterTargetArn": {"Fn::GetAtt": ["Dlq", "Arn"]}, "maxReceiveCount": 2}}},
        "Role": {"Type": "AWS::IAM::Role", "Properties": {"AssumeRolePolicyDocument": {
            "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                    "Principal": {"Service": "lambda.amazonaws.com"}}]}}},
        "Greeter": {"Type": "AWS::Lambda::Function", "Properties": {
            "Runtime": "python3.13", "Handler": "index.handler", "Role": {"Fn::GetAtt": ["Role", "Arn"]},
            "Code": {"ZipFile": "import os\ndef handler(e, c):\n    return os.environ['GREETING']\n"},
            "Environment": {"Variables": {"GREETING": greeting, "QUEUE": {"Ref": "Queue"}}}}},
        "Param": {"Type": "AWS::SSM::Parameter", "Properties": {"Type": "String", "Value": greeting}},
    }
    if with_topic:
        resources["Topic"] = {"Type": "AWS::SNS::Topic"}
    return Template.from_dict({
        "Resources": resources,
        "Outputs": {"QueueUrl": {"Value": {"Ref": "Queue"}}, "Fn": {"Value": {"Ref": "Greeter"}},
                    "Param": {"Value": {"Ref": "Param"}}},
    })


def test_deploy_update_and_teardown(account: CloudAccount) -> None:
    deployer = StackDeployer(account, account_id=account.account_id, region=account.scope.region)
    first = deployer.deploy(small_template(5, "hello", with_topic=True), stack_name="small")
    sqs = account.client("sqs")
    url = first.outputs["QueueUrl"]
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert attrs["VisibilityTimeout"] == "5" and json.loads(attrs["RedrivePolicy"])["maxReceiveCount"] == 2
    assert account.invoke(first.outputs["Fn"])["Payload"] == "hello"

    second = deployer.deploy(small_template(9, "bonjour"), stack_name="small", previous=first)
    assert second.outputs["QueueUrl"] == url  # updated in place, not replaced
    assert sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["VisibilityTimeout"])["Attributes"] == {
        "VisibilityTimeout": "9"}
    assert account.invoke(second.outputs["Fn"])["Payload"] == "bonjour"
    assert account.client("ssm").get_parameter(Name=second.outputs["Param"])["Parameter"]["Value"] == "bonjour"
    assert account.client("sns").list_topics()["Topics"] == []  # removed from the template: deleted

    assert deployer.destroy(second) == []
    assert not sqs.list_queues().get("QueueUrls")
    assert account.client("lambda").list_functions()["Functions"] == []
    assert account.client("iam").list_roles()["Roles"] == []


def test_an_invalid_template_creates_nothing(account: CloudAccount) -> None:
    bad = Template.from_dict({"Resources": {
        "Queue": {"Type": "AWS::SQS::Queue"},
        "Cluster": {"Type": "AWS::ECS::Cluster"}}}, source="bad.json")
    deployer = StackDeployer(account, account_id=account.account_id, region=account.scope.region)
    with pytest.raises(ProvisioningError, match="resource Cluster has type AWS::ECS::Cluster"):
        deployer.deploy(bad, stack_name="bad")
    assert not account.client("sqs").list_queues().get("QueueUrls")


def test_sam_app_deploys_and_runs(account: CloudAccount, harness_settings: HarnessSettings) -> None:
    source = AppSource("sam", HERE.parent / "unit" / "sam_app" / "template.yaml", stack="sam-demo")
    app = deploy_app(account, source, cache_dir=harness_settings.cache_dir)
    record = app.record
    worker = record.resources["Worker"].physical_id
    assert account.invoke(worker, {"Records": [{}, {}]})["Payload"] == {"records": 2}
    mappings = account.client("lambda").list_event_source_mappings(FunctionName=worker)["EventSourceMappings"]
    assert [m["BatchSize"] for m in mappings] == [5]
    account.client("sqs").send_message(QueueUrl=record.outputs["InboxUrl"], MessageBody="x")
    account.settle()
    assert app.destroy() == []


def test_layer_and_inline_zip_code(account: CloudAccount) -> None:
    bucket = f"code-{account.account_id}"
    s3 = account.client("s3")
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="layer.zip", Body=zip_files({"python/greetings.py": "WORD = 'hi'\n"}))
    s3.put_object(Bucket=bucket, Key="fn.zip", Body=zip_files({"app.py": "import greetings\ndef handler(e, c):\n    return greetings.WORD\n"}))
    t = Template.from_dict({"Resources": {
        "Layer": {"Type": "AWS::Lambda::LayerVersion", "Properties": {"Content": {"S3Bucket": bucket, "S3Key": "layer.zip"},
                                                                      "CompatibleRuntimes": ["python3.13"]}},
        "Role": {"Type": "AWS::IAM::Role", "Properties": {"AssumeRolePolicyDocument": {}}},
        "Fn": {"Type": "AWS::Lambda::Function", "Properties": {
            "Runtime": "python3.13", "Handler": "app.handler", "Role": {"Fn::GetAtt": ["Role", "Arn"]},
            "Code": {"S3Bucket": bucket, "S3Key": "fn.zip"}, "Layers": [{"Ref": "Layer"}]}}}})
    record = StackDeployer(account, account_id=account.account_id, region=account.scope.region).deploy(t, stack_name="layered")
    assert account.invoke(record.resources["Fn"].physical_id)["Payload"] == "hi"
