"""Pure parts of the LocalStack target: template split, container and host settings, invocation feed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from harness.errors import ConfigurationError
from harness.provisioning.errors import ProvisioningError
from harness.provisioning.split import split_template
from harness.provisioning.template import Template, template_document
from harness.settings import HarnessSettings
from harness.targets.localstack.container import choose_mode, container_config
from harness.targets.localstack.deploy import is_side_type
from harness.targets.localstack.feed import InvocationFeed
from harness.targets.localstack.install import PINS, LocalStackInstall, venv_key
from harness.targets.localstack.server import HostConfig, host_environment

FN = {"Type": "AWS::Lambda::Function", "Properties": {
    "Role": {"Fn::GetAtt": ["Role", "Arn"]},
    "Environment": {"Variables": {"POOL": {"Ref": "Pool"}, "POOL_ARN": {"Fn::GetAtt": ["Pool", "Arn"]},
                                  "URL": {"Fn::Sub": "https://${Api}.example/${Pool.ProviderName}"}}}}}


def _template(extra: dict[str, Any] | None = None) -> Template:
    resources: dict[str, Any] = {
        "Role": {"Type": "AWS::IAM::Role", "Properties": {}},
        "Pool": {"Type": "AWS::Cognito::UserPool", "Properties": {}},
        "Api": {"Type": "AWS::ApiGatewayV2::Api", "Properties": {"Name": "api"}},
        "Fn": FN,
        "Integration": {"Type": "AWS::ApiGatewayV2::Integration", "Properties": {
            "ApiId": {"Ref": "Api"}, "IntegrationUri": {"Fn::GetAtt": ["Fn", "Arn"]}}},
        "Permission": {"Type": "AWS::Lambda::Permission", "Properties": {
            "FunctionName": {"Ref": "Fn"}, "SourceArn": {"Fn::Sub": "arn:aws:execute-api:::${Api}/*"}}},
    }
    resources.update(extra or {})
    return Template.from_dict({"Resources": resources, "Outputs": {
        "FnName": {"Value": {"Ref": "Fn"}}, "PoolId": {"Value": {"Ref": "Pool"}},
        "Url": {"Value": {"Fn::Sub": "https://${Api}/${Fn}"}}}}, source="t.json")


def test_split_puts_side_resources_before_and_after_the_main_stack() -> None:
    split = split_template(_template(), is_side_type)
    assert set(split.before.resources) == {"Pool", "Api"}
    assert set(split.main.resources) == {"Role", "Fn", "Permission"}
    assert set(split.after.resources) == {"Integration"}
    assert split.late is None
    env = split.main.resources["Fn"]["Properties"]["Environment"]["Variables"]
    assert env["POOL"] == {"Ref": "SidePoolRef"} and env["POOL_ARN"] == {"Ref": "SidePoolAttArn"}
    assert env["URL"] == {"Fn::Sub": "https://${SideApiRef}.example/${SidePoolAttProviderName}"}
    assert split.injected["SidePoolAttArn"] == ("Pool", "Arn")
    assert set(split.injected) <= set(split.main.parameters)
    # what the side needs from the main stack comes back as outputs
    assert split.exported["MainFnAttArn"] == ("Fn", "Arn")
    assert split.main.outputs["MainFnAttArn"] == {"Value": {"Fn::GetAtt": ["Fn", "Arn"]}}
    assert set(split.after.outputs) == {"PoolId", "Url"} and "FnName" in split.main.outputs


def test_main_resources_that_need_after_resources_go_into_a_late_update() -> None:
    template = _template({"Late": {"Type": "AWS::SSM::Parameter", "Properties": {
        "Value": {"Ref": "Integration"}, "Type": "String"}}})
    split = split_template(template, is_side_type)
    assert "Late" not in split.main.resources
    assert split.late is not None and set(split.late.resources) == {"Role", "Fn", "Permission", "Late"}
    assert split.late.resources["Late"]["Properties"]["Value"] == {"Ref": "SideIntegrationRef"}
    assert split.injected["SideIntegrationRef"] == ("Integration", None)


def test_a_true_cycle_across_engines_is_an_error_naming_both_sides() -> None:
    template = _template({
        "Late": {"Type": "AWS::SSM::Parameter", "Properties": {"Value": {"Ref": "Integration"}, "Type": "String"}},
        "Route": {"Type": "AWS::ApiGatewayV2::Route", "Properties": {"Target": {"Ref": "Late"}}},
    })
    with pytest.raises(ProvisioningError, match=r"t.json: resource Route needs Late"):
        split_template(template, is_side_type)


def test_template_body_is_a_cloudformation_document() -> None:
    split = split_template(_template(), is_side_type)
    body = template_document(split.main)
    assert body["AWSTemplateFormatVersion"] == "2010-09-09"
    assert set(body) >= {"Resources", "Parameters", "Outputs"}
    json.dumps(body)


def test_container_config_pins_the_image_binds_loopback_and_passes_the_token() -> None:
    config = container_config(4599, {"LOCALSTACK_AUTH_TOKEN": "ls-token"}, owner_pid=42)
    assert config.image == "localstack/localstack:2026.3.0"
    assert config.ports == {"4566/tcp": ("127.0.0.1", 4599)}
    assert config.env["LOCALSTACK_AUTH_TOKEN"] == "ls-token"
    assert config.env["LAMBDA_EVENT_SOURCE_MAPPING_POLL_INTERVAL_SEC"] == "0.05"
    assert config.volumes == (("/var/run/docker.sock", "/var/run/docker.sock", "rw"),)
    assert config.labels == {"dev.serverless-harness.owner-pid": "42"}
    assert "LOCALSTACK_AUTH_TOKEN" not in container_config(4599, {}).env
    assert container_config(1, {"HARNESS_LOCALSTACK_IMAGE": "mirror/ls:1"}).image == "mirror/ls:1"
    # LocalStack's Lambda containers go through the engine's socket, wherever DOCKER_HOST puts it
    assert container_config(1, {"DOCKER_HOST": "unix:///run/user/1000/docker.sock"}).volumes[0][0] == (
        "/run/user/1000/docker.sock")


def test_mode_is_container_only_where_an_engine_answers() -> None:
    assert choose_mode("auto", engine_available=False) == "host"
    assert choose_mode("auto", engine_available=True) == "container"
    assert choose_mode("host", engine_available=True) == "host"
    with pytest.raises(ConfigurationError, match="HARNESS_LOCALSTACK_MODE"):
        HarnessSettings.resolve({"localstack_mode": "podman"})


def test_host_environment_has_the_settings_host_mode_needs(tmp_path: Path) -> None:
    install = LocalStackInstall(tmp_path / "venv/bin/python", tmp_path / "lib", tmp_path / "jdk")
    config = HostConfig(tmp_path / "root", 4510, 4511, tmp_path / "inv.jsonl", tmp_path / "xdg", tmp_path / "code")
    env = host_environment(config, install, {"PATH": "/bin", "AWS_SECRET_ACCESS_KEY": "leak"})
    assert env["OVERRIDE_IN_DOCKER"] == "0" and env["DISABLE_EVENTS"] == "1"
    assert env["GATEWAY_LISTEN"] == "127.0.0.1:4510" and env["LOCALSTACK_HOST"] == "localhost:4510"
    assert env["FILESYSTEM_ROOT"] == str(tmp_path / "root") and env["LAMBDA_RUNTIME_EXECUTOR"] == "harness"
    assert env["PROVIDER_OVERRIDE_DYNAMODBSTREAMS"] == "v2" and env["DYNAMODB_LOCAL_PORT"] == "4511"
    assert env["PATH"] == "/bin" and "AWS_SECRET_ACCESS_KEY" not in env


def test_venv_key_changes_with_pins_and_python() -> None:
    assert venv_key(PINS, "3.13") == venv_key(PINS, "3.13")
    assert venv_key(PINS, "3.13") != venv_key(PINS, "3.12")
    assert venv_key((*PINS, "extra"), "3.13") != venv_key(PINS, "3.13")


def test_feed_tracks_running_invocations_and_calls_listeners(tmp_path: Path) -> None:
    log = tmp_path / "inv.jsonl"
    feed = InvocationFeed(log)
    seen: list[tuple[Any, Any]] = []
    feed.listeners.append(lambda spec, result: seen.append((spec, result)))
    arn = "arn:aws:lambda:us-east-1:111122223333:function:f:$LATEST"
    start = {"event": "start", "request_id": "r1", "function_arn": arn, "name": "f", "account_id": "111122223333",
             "at": 1.0}
    end = {**start, "event": "end", "at": 2.0, "started_at": 1.0, "duration_ms": 5.0, "cold": True,
           "init_ms": 90.0, "error": "Sandbox.Timedout", "max_memory_mb": 40, "memory_mb": 128}
    log.write_text(json.dumps(start) + "\n" + json.dumps(end)[:20])  # the end line is still being written
    feed.poll()
    assert feed.in_flight_for("111122223333") == 1 and feed.in_flight_for("999") == 0 and not seen
    with log.open("a") as out:
        out.write(json.dumps(end)[20:] + "\n")
    feed.poll()
    assert feed.in_flight_for("111122223333") == 0
    ((spec, result),) = seen
    assert spec.name == "f" and spec.region == "us-east-1" and spec.account_id == "111122223333"
    assert result.cold and result.error_type == "Sandbox.Timedout" and result.function_error == "Unhandled"
    assert feed.last_error("111122223333") > 0 and feed.last_activity("111122223333") > 0
    init = {**start, "request_id": "init-env", "init": True}
    with log.open("a") as out:
        out.write(json.dumps(init) + "\n")
    feed.poll()
    assert feed.in_flight_for("111122223333") == 1  # a cold start in progress keeps settle waiting
    with log.open("a") as out:
        out.write(json.dumps({**init, "event": "end"}) + "\n")
    feed.poll()
    assert feed.in_flight_for("111122223333") == 0 and len(seen) == 1  # not reported as an invocation


class _Feed:
    def __init__(self, activity: float, error: float) -> None:
        self.activity, self.error = activity, error

    def last_activity(self, account_id: str) -> float:
        return self.activity

    def last_error(self, account_id: str) -> float:
        return self.error


def test_settle_quiet_window_covers_poll_backoff_and_async_retries_after_an_error() -> None:
    import time

    from harness.targets.localstack.target import LocalStackTarget

    target = LocalStackTarget(HarnessSettings(), {})
    now = time.time()
    target._feed = _Feed(activity=now - 10, error=0.0)  # type: ignore[assignment]
    assert target._quiet_since("1", called=now) == pytest.approx(now + 0.75)  # quiet counts from the call
    target._feed = _Feed(activity=now + 1, error=0.0)  # type: ignore[assignment]
    assert target._quiet_since("1", called=now) == pytest.approx(now + 1.75)  # and from the last invocation
    target._feed = _Feed(activity=now, error=now)  # type: ignore[assignment]
    # a failed invocation may be retried 1 s, then 2 s later: wait out 3 base delays
    assert target._quiet_since("1", called=now) == pytest.approx(now + 3 * target.retry_base_delay_s + 0.5)


class _FlakyCfn:
    """A CloudFormation whose first create fails the way LocalStack's engine does under load."""

    def __init__(self, reason: str) -> None:
        self.creates = 0
        self.deleted = False
        self.reason = reason

    def create_stack(self, **kwargs: Any) -> None:
        self.creates += 1
        self.deleted = False

    def describe_stacks(self, StackName: str) -> dict[str, Any]:
        if self.deleted:
            return {"Stacks": [{"StackStatus": "DELETE_COMPLETE"}]}
        status = "CREATE_FAILED" if self.creates == 1 else "CREATE_COMPLETE"
        return {"Stacks": [{"StackStatus": status, "Outputs": [{"OutputKey": "FnName", "OutputValue": "fn-1"}]}]}

    def describe_stack_events(self, StackName: str) -> dict[str, Any]:
        return {"StackEvents": [{"LogicalResourceId": "Mapping", "ResourceType": "AWS::Lambda::EventSourceMapping",
                                 "ResourceStatus": "CREATE_FAILED", "ResourceStatusReason": self.reason}]}

    def delete_stack(self, StackName: str) -> None:
        self.deleted = True

    def describe_stack_resources(self, StackName: str) -> dict[str, Any]:
        return {"StackResources": [{"LogicalResourceId": "Fn", "PhysicalResourceId": "fn-1",
                                    "ResourceType": "AWS::Lambda::Function"}]}


def _hybrid(cfn: _FlakyCfn) -> Any:
    from types import SimpleNamespace

    from harness.targets.localstack.deploy import HybridDeployer

    account = SimpleNamespace(scope=SimpleNamespace(account_id="111122223333", region="us-east-1"),
                              client=lambda service: cfn)
    return HybridDeployer(account, account.scope, timeout_s=5)


def test_a_localstack_create_conflict_is_retried_with_a_new_stack() -> None:
    cfn = _FlakyCfn("ResourceConflictException: An event source mapping ... already exists")
    split = split_template(Template.from_dict({"Resources": {"Fn": {"Type": "AWS::Lambda::Function"}}}), is_side_type)
    states, outputs = _hybrid(cfn)._deploy_main(split.main, split, "S", {}, None)
    assert cfn.creates == 2 and states["Fn"].physical_id == "fn-1" and outputs == {"FnName": "fn-1"}


def test_other_create_failures_are_reported_with_the_resource_and_reason() -> None:
    from harness.provisioning.deployer import DeploymentFailedError

    cfn = _FlakyCfn("Invalid runtime python2.7")
    split = split_template(Template.from_dict({"Resources": {"Fn": {"Type": "AWS::Lambda::Function"}}}), is_side_type)
    with pytest.raises(DeploymentFailedError, match=r"Mapping \(AWS::Lambda::EventSourceMapping\): Invalid runtime"):
        _hybrid(cfn)._deploy_main(split.main, split, "S", {}, None)
    assert cfn.creates == 1


def test_env_file_names_per_service_endpoints_as_the_sdks_read_them() -> None:
    import boto3

    from harness.accounts import AccountScope

    session = boto3.session.Session(aws_access_key_id="111122223333", aws_secret_access_key="test",
                                    region_name="us-east-1")
    scope = AccountScope("111122223333", "us-east-1", "http://127.0.0.1:1", session,
                         service_endpoints={"cognito-idp": "http://127.0.0.1:2", "apigatewayv2": "http://127.0.0.1:2"})
    env = scope.client_environment()
    assert env["AWS_ENDPOINT_URL"] == "http://127.0.0.1:1"
    assert env["AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER"] == "http://127.0.0.1:2"
    assert env["AWS_ENDPOINT_URL_APIGATEWAYV2"] == "http://127.0.0.1:2"
    assert scope.endpoint_for("cognito-idp") == "http://127.0.0.1:2" and scope.endpoint_for("sqs") == "http://127.0.0.1:1"


def test_the_apps_outputs_are_published_with_descriptions_and_exports() -> None:
    from harness.provisioning.deployer import StackRecord
    from harness.targets.localstack.deploy import _output_entries

    template = Template.from_dict({"Resources": {"T": {"Type": "AWS::SNS::Topic"}}, "Outputs": {
        "Url": {"Value": {"Fn::Sub": "https://${Api}.execute-api"}, "Description": "the API"},
        "Table": {"Value": {"Ref": "T"}, "Export": {"Name": {"Fn::Sub": "${AWS::StackName}-t"}}},
        "Ports": {"Value": {"Fn::Split": [",", "1,2"]}}}})
    record = StackRecord("S", "111122223333", "us-east-1",
                         outputs={"Url": "http://127.0.0.1:9/dev", "Table": "t-1", "Ports": ["1", "2"]},
                         exports={"S-t": "t-1"})
    assert _output_entries(template, record) == {
        "Url": {"Value": "http://127.0.0.1:9/dev", "Description": "the API"},
        "Table": {"Value": "t-1", "Export": {"Name": "S-t"}},
        "Ports": {"Value": "1,2"}}


def test_a_localstack_url_must_be_an_http_url() -> None:
    from harness.errors import ConfigurationError
    from harness.settings import HarnessSettings

    assert HarnessSettings(localstack_url="http://127.0.0.1:4566").localstack_url == "http://127.0.0.1:4566"
    with pytest.raises(ConfigurationError, match="HARNESS_LOCALSTACK_URL"):
        HarnessSettings(localstack_url="127.0.0.1:4566")


def test_the_invocation_feed_tails_a_source_as_it_tails_a_file() -> None:
    from harness.targets.localstack.feed import InvocationFeed

    log = (json.dumps({"event": "start", "account_id": "1", "name": "f", "request_id": "r", "at": 1.0}) + "\n"
           + json.dumps({"event": "end", "account_id": "1", "name": "f", "request_id": "r", "at": 2.0,
                         "function_arn": "arn:aws:lambda:us-east-1:1:function:f", "duration_ms": 3}) + "\n").encode()
    reads: list[int] = []

    def source(offset: int) -> bytes:
        reads.append(offset)
        return log[offset:offset + 40]  # a line arrives in pieces
    feed = InvocationFeed(source=source)
    seen: list[str] = []
    feed.listeners.append(lambda spec, result: seen.append(spec.name))
    for _ in range(10):
        feed.poll()
    assert seen == ["f"] and reads[:3] == [0, 40, 80] and feed.in_flight_for("1") == 0
