"""Exact AWS call sequences of the AWS target, with botocore's Stubber: a failed create and its
reasons, a teardown that empties a bucket before CloudFormation deletes it, a delete that fails; and
throttling then success, against a server on 127.0.0.1 (Stubber bypasses botocore's retries)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber

from harness.provisioning import DeploymentFailedError
from harness.provisioning.template import Template
from harness.targets.aws.config import AwsConfig
from harness.targets.aws.deploy import AwsStackDeployer, RunInfo
from harness.targets.aws.teardown import delete_stack

ACCOUNT = "111122223333"
STACK_ID = f"arn:aws:cloudformation:eu-west-1:{ACCOUNT}:stack/hx-app-hx00000001/1"
NOW = datetime(2026, 12, 1, tzinfo=UTC)
LATER = datetime.now(UTC) + timedelta(minutes=5)  # events of the operation the test starts


class StubScope:
    """An account scope whose clients are stubbed; every call any of them makes is logged in order."""

    account_id, region, namespace = ACCOUNT, "eu-west-1", "hx00000001"

    def __init__(self) -> None:
        session = boto3.session.Session(aws_access_key_id="k", aws_secret_access_key="s", region_name=self.region)
        self.calls: list[str] = []
        self.clients: dict[str, Any] = {}
        self.stubs: dict[str, Stubber] = {}
        for service in ("cloudformation", "s3", "logs", "lambda"):
            client = session.client(service)  # type: ignore[call-overload]
            client.meta.events.register("before-call.*.*", self._log)
            self.clients[service], self.stubs[service] = client, Stubber(client)

    def _log(self, model: Any, **_: Any) -> None:
        self.calls.append(model.name)

    def client(self, service: str, **_: Any) -> Any:
        return self.clients[service]


@pytest.fixture
def scope() -> Iterator[StubScope]:
    scope = StubScope()
    for stub in scope.stubs.values():
        stub.activate()
    yield scope
    for stub in scope.stubs.values():
        stub.assert_no_pending_responses()
        stub.deactivate()


def _event(resource: str, type_name: str, status: str, reason: str = "", n: int = 0) -> dict[str, Any]:
    return {"StackId": STACK_ID, "EventId": f"e{n}", "StackName": "hx-app-hx00000001", "LogicalResourceId": resource,
            "ResourceType": type_name, "Timestamp": LATER, "ResourceStatus": status,
            **({"ResourceStatusReason": reason} if reason else {})}


def test_a_failed_create_runs_a_change_set_that_deletes_on_failure_and_names_each_failed_resource(
    scope: StubScope,
) -> None:
    cfn = scope.stubs["cloudformation"]
    cfn.add_client_error("describe_stacks", "ValidationError", "Stack with id hx-app-hx00000001 does not exist")
    cfn.add_response("create_change_set", {"Id": "arn:cs", "StackId": STACK_ID},
                     {"StackName": "hx-app-hx00000001", "ChangeSetName": ANY, "ChangeSetType": "CREATE",
                      "Capabilities": ANY, "Tags": ANY, "Parameters": [], "TemplateBody": ANY,
                      "OnStackFailure": "DELETE"})
    cfn.add_response("describe_change_set", {"Status": "CREATE_PENDING"}, {"ChangeSetName": "arn:cs"})
    cfn.add_response("describe_change_set", {"Status": "CREATE_COMPLETE"}, {"ChangeSetName": "arn:cs"})
    cfn.add_response("execute_change_set", {}, {"ChangeSetName": "arn:cs"})
    events = [_event("Table", "AWS::DynamoDB::Table", "DELETE_COMPLETE", n=4),
              _event("Queue", "AWS::SQS::Queue", "CREATE_FAILED", "Resource handler returned message: "
                     "\"Access to the resource is denied\" (HandlerErrorCode: AccessDenied)", n=3),
              _event("Table", "AWS::DynamoDB::Table", "CREATE_FAILED", "Resource creation cancelled", n=2),
              _event("Queue", "AWS::SQS::Queue", "CREATE_IN_PROGRESS", n=1)]
    cfn.add_response("describe_stacks", {"Stacks": [{"StackName": "hx-app-hx00000001", "StackId": STACK_ID,
                                                     "CreationTime": NOW, "StackStatus": "DELETE_COMPLETE"}]},
                     {"StackName": STACK_ID})
    cfn.add_response("describe_stack_events", {"StackEvents": events}, {"StackName": STACK_ID})
    cfn.add_response("describe_stack_events", {"StackEvents": events}, {"StackName": STACK_ID})
    printed: list[str] = []
    deployer = AwsStackDeployer(scope, AwsConfig(allowed_accounts=(ACCOUNT,), region="eu-west-1"),  # type: ignore[arg-type]
                                RunInfo("hx00000001", "ci", NOW, 6), progress=printed.append, sleep=lambda s: None)
    template = Template({"Queue": {"Type": "AWS::SQS::Queue"}, "Table": {"Type": "AWS::DynamoDB::Table"}})
    with pytest.raises(DeploymentFailedError) as failed:
        deployer.deploy(template, stack_name="app")
    message = str(failed.value)
    assert "stack hx-app-hx00000001 failed (DELETE_COMPLETE)" in message
    assert "Queue (AWS::SQS::Queue): Resource handler returned message: \"Access to the resource is denied\"" in message
    assert "Table (AWS::DynamoDB::Table): Resource creation cancelled" in message
    assert "  Queue AWS::SQS::Queue CREATE_IN_PROGRESS" in printed  # the live progress, oldest first
    assert scope.calls.count("DescribeChangeSet") == 2  # polled until the change set was ready


def test_teardown_empties_each_bucket_before_cloudformation_deletes_the_stack(scope: StubScope) -> None:
    cfn, s3, logs = scope.stubs["cloudformation"], scope.stubs["s3"], scope.stubs["logs"]
    stack = {"StackName": "hx-app-hx00000001", "StackId": STACK_ID, "CreationTime": NOW,
             "StackStatus": "CREATE_COMPLETE"}
    cfn.add_response("describe_stacks", {"Stacks": [stack]}, {"StackName": "hx-app-hx00000001"})
    resources = [{"LogicalResourceId": "Docs", "PhysicalResourceId": "hx-app-docs-1", "ResourceType": "AWS::S3::Bucket",
                  "LastUpdatedTimestamp": NOW, "ResourceStatus": "CREATE_COMPLETE"},
                 {"LogicalResourceId": "Fn", "PhysicalResourceId": "hx-app-Fn-1", "ResourceType": "AWS::Lambda::Function",
                  "LastUpdatedTimestamp": NOW, "ResourceStatus": "CREATE_COMPLETE"}]
    cfn.add_response("list_stack_resources", {"StackResourceSummaries": resources}, {"StackName": STACK_ID})
    s3.add_response("list_object_versions", {"Versions": [{"Key": "a", "VersionId": "v1"}, {"Key": "a", "VersionId": "v2"}],
                                             "DeleteMarkers": [{"Key": "b", "VersionId": "v3"}]}, {"Bucket": "hx-app-docs-1"})
    s3.add_response("delete_objects", {}, {"Bucket": "hx-app-docs-1", "Delete": {"Quiet": True, "Objects": [
        {"Key": "a", "VersionId": "v1"}, {"Key": "a", "VersionId": "v2"}, {"Key": "b", "VersionId": "v3"}]}})
    cfn.add_response("delete_stack", {}, {"StackName": STACK_ID})
    logs.add_response("delete_log_group", {}, {"logGroupName": "/aws/lambda/hx-app-Fn-1"})
    left = delete_stack(scope, "hx-app-hx00000001", lambda stack_id, since: {"StackStatus": "DELETE_COMPLETE"})  # type: ignore[arg-type]
    assert left == []
    assert scope.calls.index("DeleteObjects") < scope.calls.index("DeleteStack") < scope.calls.index("DeleteLogGroup")


def test_a_delete_that_fails_is_reported_as_left(scope: StubScope) -> None:
    cfn = scope.stubs["cloudformation"]
    cfn.add_response("describe_stacks", {"Stacks": [{"StackName": "hx-app-hx00000001", "StackId": STACK_ID,
                                                     "CreationTime": NOW, "StackStatus": "CREATE_COMPLETE"}]},
                     {"StackName": STACK_ID})
    cfn.add_response("list_stack_resources", {"StackResourceSummaries": []}, {"StackName": STACK_ID})
    cfn.add_response("delete_stack", {}, {"StackName": STACK_ID})
    final = {"StackStatus": "DELETE_FAILED", "StackStatusReason": "The bucket you tried to delete is not empty"}
    left = delete_stack(scope, STACK_ID, lambda stack_id, since: final)  # type: ignore[arg-type]
    assert left == ["stack hx-app-hx00000001 is DELETE_FAILED: The bucket you tried to delete is not empty"]


_NS = 'xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/"'
_THROTTLED = (f'<ErrorResponse {_NS}><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded'
              '</Message></Error><RequestId>r</RequestId></ErrorResponse>')
_STACK = (f'<DescribeStacksResponse {_NS}><DescribeStacksResult><Stacks><member><StackName>hx-app-hx00000001'
          f'</StackName><StackId>{STACK_ID}</StackId><CreationTime>2026-12-01T00:00:00Z</CreationTime>'
          '<StackStatus>CREATE_COMPLETE</StackStatus></member></Stacks></DescribeStacksResult>'
          '<ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></DescribeStacksResponse>')


def test_throttling_then_success_is_retried_by_the_deployers_client() -> None:
    """CloudFormation throttles (Stubber would bypass botocore's retries, so a server on 127.0.0.1
    answers): the deployer's client retries adaptively and the call succeeds on the third request."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from harness.accounts import AccountScope

    requests: list[str] = []

    class CloudFormation(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            requests.append(self.rfile.read(int(self.headers["Content-Length"])).decode())
            status, body = (400, _THROTTLED) if len(requests) <= 2 else (200, _STACK)
            self.send_response(status)
            self.send_header("Content-Type", "text/xml")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body.encode())

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), CloudFormation)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        session = boto3.session.Session(aws_access_key_id="k", aws_secret_access_key="s", region_name="eu-west-1")
        scope = AccountScope(ACCOUNT, "eu-west-1", f"http://127.0.0.1:{server.server_port}", session, namespace="hx1")
        deployer = AwsStackDeployer(scope, AwsConfig((ACCOUNT,), "eu-west-1"), RunInfo("hx1", "me", NOW, 6))
        stack = deployer._describe("hx-app-hx00000001")
    finally:
        server.shutdown()
        server.server_close()
    assert stack is not None and stack["StackStatus"] == "CREATE_COMPLETE"
    assert len(requests) == 3 and all("Action=DescribeStacks" in r for r in requests)
