"""Deploying to AWS with boto3's CloudFormation: change sets, tags, own polling, clean failures.

No CDK CLI and no bootstrap stack: ``deploy_source`` publishes assets to the harness's asset bucket
(``asset_bucket``), then ``AwsStackDeployer.deploy`` creates a change set (``OnStackFailure=DELETE``
on create, so a failed create leaves no husk), executes it and polls the stack itself (2 s rising
to 10 s; CloudFormation's read limit is about 5 calls a second per account and boto3's waiters poll
every 30 s), with at most 5 stack operations at once in this process. A failed operation raises
``DeploymentFailedError`` naming each failed resource with CloudFormation's reason.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.config import Config
from botocore.exceptions import ClientError

from harness.accounts import AccountScope
from harness.provisioning.assets import create_bucket
from harness.provisioning.deployer import DeploymentFailedError, StackRecord
from harness.provisioning.resources.base import ResourceState
from harness.provisioning.template import Template, template_document
from harness.targets.aws.config import AwsConfig
from harness.targets.aws.preflight import lint_template, refuse_on
from harness.targets.aws.readiness import canary, http_status, wait_ready

LOG = logging.getLogger(__name__)
TEMPLATE_BODY_LIMIT = 51_200
CAPABILITIES = ["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"]
ADAPTIVE = Config(retries={"mode": "adaptive", "max_attempts": 10})
STACK_OPERATIONS = threading.BoundedSemaphore(5)
_DONE = {"CREATE_COMPLETE", "UPDATE_COMPLETE", "DELETE_COMPLETE"}
_FAILED = {"CREATE_FAILED", "ROLLBACK_COMPLETE", "ROLLBACK_FAILED", "UPDATE_ROLLBACK_COMPLETE",
           "UPDATE_ROLLBACK_FAILED", "UPDATE_FAILED", "DELETE_FAILED", "IMPORT_ROLLBACK_COMPLETE"}
Progress = Callable[[str], None]


@dataclass(frozen=True)
class RunInfo:
    """One run's identity: its id (``hx`` + 8 hex), owner and expiry; its tags name it on every stack."""

    run_id: str
    owner: str
    created_at: datetime
    ttl_hours: float
    kept: bool = False  # outlives the run (--keep); its expiry moves on with each reuse

    def tags(self, app: str) -> list[dict[str, str]]:
        expires = self.created_at + timedelta(hours=self.ttl_hours)
        return [{"Key": "harness:managed", "Value": "true"}, {"Key": "harness:run-id", "Value": self.run_id},
                {"Key": "harness:owner", "Value": self.owner[:256]},
                {"Key": "harness:created-at", "Value": _iso(self.created_at)},
                {"Key": "harness:expires-at", "Value": _iso(expires)}, {"Key": "harness:app", "Value": app},
                *([{"Key": "harness:kept", "Value": "true"}] if self.kept else [])]


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def run_stack_name(prefix: str, app: str, run_id: str) -> str:
    """``<prefix>-<app>-<runid>``, within CloudFormation's name rules (pure)."""
    cleaned = "".join(c if c.isalnum() else "-" for c in app).strip("-") or "app"
    return f"{prefix}-{cleaned[:100 - len(prefix)]}-{run_id}"


def asset_bucket_name(config: AwsConfig, account_id: str) -> str:
    return f"{config.asset_bucket_prefix}-{account_id}-{config.region}"


def ensure_asset_bucket(s3: Any, bucket: str, region: str, *, expire_days: int = 30) -> None:
    """Create the harness's asset bucket once: public access blocked, encrypted, expiring, tagged."""
    try:
        s3.head_bucket(Bucket=bucket)
        return
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") not in ("404", "NoSuchBucket", "NotFound"):
            raise
    create_bucket(s3, bucket, region)
    s3.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration={
        "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True, "RestrictPublicBuckets": True})
    s3.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration={
        "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]})
    s3.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration={"Rules": [{
        "ID": "harness-expiry", "Status": "Enabled", "Filter": {"Prefix": ""}, "Expiration": {"Days": expire_days},
        "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1}}]})
    s3.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": [{"Key": "harness:managed", "Value": "true"},
                                                             {"Key": "harness:purpose", "Value": "assets"}]})


class AwsStackDeployer:
    """The Deployer protocol on AWS (or its local stand-in): one tagged stack per app and run."""

    def __init__(self, scope: AccountScope, config: AwsConfig, run: RunInfo, *, progress: Progress | None = None,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.scope, self.config, self.run = scope, config, run
        self.asset_bucket: str | None = asset_bucket_name(config, scope.account_id)
        self.progress = progress or (lambda message: LOG.info("%s", message))
        self._sleep = sleep
        self._cfn = scope.client("cloudformation", config=ADAPTIVE)

    def stack_name(self, app: str) -> str:
        return run_stack_name(self.config.prefix, app, self.run.run_id)

    # -- deploy ------------------------------------------------------------------------------------
    def deploy(self, template: Template, *, stack_name: str, parameters: Mapping[str, Any] | None = None,
               previous: StackRecord | None = None) -> StackRecord:
        """Create or update the run's stack for ``stack_name`` (the app's name); returns its record.

        Raises:
            AwsRefusal: the template lint refused it; DeploymentFailedError: the change set or the
            stack failed (each failed resource with its reason).
        """
        template, findings = lint_template(template, self.config)
        for finding in findings:
            if finding.level != "refuse":
                self.progress(f"{finding.level}: {finding.line()}")
        refuse_on(findings)
        began = time.perf_counter()
        name = self.stack_name(stack_name)
        existing = self._describe(name)
        kind = "UPDATE" if existing is not None and existing["StackStatus"] != "REVIEW_IN_PROGRESS" else "CREATE"
        args: dict[str, Any] = {
            "StackName": name, "ChangeSetName": f"{self.config.prefix}-{int(time.time() * 1000)}",
            "ChangeSetType": kind, "Capabilities": CAPABILITIES, "Tags": self.run.tags(stack_name),
            "Parameters": [{"ParameterKey": k, "ParameterValue": _param(v)} for k, v in (parameters or {}).items()
                           if k in template.parameters],
            **self._template_argument(template)}
        if kind == "CREATE":
            args["OnStackFailure"] = "DELETE"
        with STACK_OPERATIONS:
            change_set = self._cfn.create_change_set(**args)
            ready = self._wait_change_set(change_set["Id"])
            if ready is not None:  # None: no changes, the stack is as wanted
                started = datetime.now(UTC)
                self.progress(f"{'creating' if kind == 'CREATE' else 'updating'} stack {name}")
                self._cfn.execute_change_set(ChangeSetName=change_set["Id"])
                stack = self.wait_stack(change_set["StackId"], since=started)
                if stack["StackStatus"] not in _DONE or stack["StackStatus"] == "DELETE_COMPLETE":
                    raise DeploymentFailedError(self._failure_message(name, stack, started),
                                                StackRecord(name, self.scope.account_id, self.scope.region))
        record = self.record(name, template)
        record.seconds = time.perf_counter() - began
        lam = self.scope.client("lambda")
        ready_s = wait_ready(lam, record, timeout=600.0, interval=self.config.poll_min_s, sleep=self._sleep)
        # The stand-in serves no execute-api host: the harness serves those APIs itself there.
        record.canary = canary(lam, record, http_get=None if self.config.simulated else http_status,
                               timeout=300.0, interval=self.config.poll_min_s, sleep=self._sleep)
        record.ready_s = round(ready_s + record.canary["seconds"], 3)
        self.progress(f"stack {name} ready {record.ready_s:g} s after it completed (functions active, event "
                      f"sources enabled; {record.canary['functions']} function(s) invocable, "
                      f"{record.canary['http_apis']} HTTP API(s) answering)")
        return record

    def _template_argument(self, template: Template) -> dict[str, str]:
        body = json.dumps(template_document(template), separators=(",", ":"), default=str)
        if len(body.encode()) <= TEMPLATE_BODY_LIMIT:
            return {"TemplateBody": body}
        assert self.asset_bucket is not None
        s3 = self.scope.client("s3")
        ensure_asset_bucket(s3, self.asset_bucket, self.scope.region)
        key = f"templates/{hashlib.sha256(body.encode()).hexdigest()}.json"
        s3.put_object(Bucket=self.asset_bucket, Key=key, Body=body.encode())
        return {"TemplateURL": f"https://{self.asset_bucket}.s3.{self.scope.region}.amazonaws.com/{key}"}

    def _describe(self, name: str) -> dict[str, Any] | None:
        try:
            stacks = self._cfn.describe_stacks(StackName=name)["Stacks"]
        except ClientError as exc:
            if "does not exist" in str(exc):
                return None
            raise
        return stacks[0] if stacks else None

    def _intervals(self) -> Any:
        interval = self.config.poll_min_s
        while True:
            yield interval
            interval = min(self.config.poll_max_s, interval * 1.5)

    def _wait_change_set(self, change_set_id: str) -> dict[str, Any] | None:
        for interval in self._intervals():
            described: dict[str, Any] = self._cfn.describe_change_set(ChangeSetName=change_set_id)
            status = described["Status"]
            if status == "CREATE_COMPLETE":
                return described
            if status == "FAILED":
                reason = str(described.get("StatusReason", ""))
                if "didn't contain changes" in reason or "No updates" in reason:
                    self._cfn.delete_change_set(ChangeSetName=change_set_id)
                    return None
                raise DeploymentFailedError(f"change set for {described.get('StackName')} failed: {reason}",
                                            StackRecord(str(described.get("StackName")), self.scope.account_id,
                                                        self.scope.region))
            self._sleep(interval)
        return None  # unreachable: _intervals never ends

    def wait_stack(self, stack_id: str, *, since: datetime) -> dict[str, Any]:
        seen: set[str] = set()
        for interval in self._intervals():
            stack: dict[str, Any] = self._cfn.describe_stacks(StackName=stack_id)["Stacks"][0]
            self._report_events(stack_id, since, seen)
            if not str(stack["StackStatus"]).endswith("_IN_PROGRESS"):
                return stack
            self._sleep(interval)
        raise AssertionError("unreachable")

    def _report_events(self, stack_id: str, since: datetime, seen: set[str]) -> None:
        """The live progress: each new resource event once, oldest first."""
        events = self._events(stack_id, since)
        for event in reversed(events):
            if event["EventId"] in seen or event["ResourceType"] == "AWS::CloudFormation::Stack":
                continue
            seen.add(event["EventId"])
            reason = f" ({event['ResourceStatusReason']})" if event.get("ResourceStatusReason") else ""
            self.progress(f"  {event['LogicalResourceId']} {event['ResourceType']} {event['ResourceStatus']}{reason}")

    def _events(self, stack_id: str, since: datetime) -> list[dict[str, Any]]:
        events: list[dict[str, Any]] = []
        for page in self._cfn.get_paginator("describe_stack_events").paginate(StackName=stack_id):
            batch = [e for e in page["StackEvents"] if e["Timestamp"] >= since - timedelta(seconds=1)]
            events.extend(batch)
            if len(batch) < len(page["StackEvents"]):
                break  # newest first: older pages are earlier operations
        return events

    def _failure_message(self, name: str, stack: dict[str, Any], since: datetime) -> str:
        failed = [f"{e['LogicalResourceId']} ({e['ResourceType']}): {e.get('ResourceStatusReason')}"
                  for e in reversed(self._events(stack["StackId"], since))
                  if str(e["ResourceStatus"]).endswith("_FAILED") and e["ResourceType"] != "AWS::CloudFormation::Stack"]
        return (f"stack {name} failed ({stack['StackStatus']}):\n  - "
                + "\n  - ".join(failed or [str(stack.get("StackStatusReason"))]))

    def record(self, name: str, template: Template | None = None) -> StackRecord:
        """The stack as it is: resources (logical -> physical) and outputs."""
        stack = self._cfn.describe_stacks(StackName=name)["Stacks"][0]
        record = StackRecord(name, self.scope.account_id, self.scope.region, resolved=False)
        summaries = [s for page in self._cfn.get_paginator("list_stack_resources").paginate(StackName=name)
                     for s in page["StackResourceSummaries"]]
        physical = {s["LogicalResourceId"]: str(s.get("PhysicalResourceId", "")) for s in summaries}
        resources = template.resources if template is not None else {}
        for summary in summaries:
            logical_id = summary["LogicalResourceId"]
            properties = _with_refs((resources.get(logical_id) or {}).get("Properties") or {}, physical)
            attributes = {}
            if summary["ResourceType"] == "AWS::ApiGatewayV2::Api":  # what Fn::GetAtt ApiEndpoint gives
                suffix = "amazonaws.com.cn" if self.scope.region.startswith("cn-") else "amazonaws.com"
                attributes["ApiEndpoint"] = f"https://{physical[logical_id]}.execute-api.{self.scope.region}.{suffix}"
            record.resources[logical_id] = ResourceState(logical_id, summary["ResourceType"], physical[logical_id],
                                                         physical[logical_id], attributes, dict(properties))
            record.order.append(logical_id)
        record.outputs = {o["OutputKey"]: o.get("OutputValue") for o in stack.get("Outputs", [])}
        record.exports = {o["ExportName"]: o.get("OutputValue") for o in stack.get("Outputs", []) if o.get("ExportName")}
        record.stack_id = stack["StackId"]
        return record

    # -- destroy -----------------------------------------------------------------------------------
    def destroy(self, record: StackRecord) -> list[str]:
        """Empty the stack's buckets, delete it by StackId, remove its functions' log groups."""
        from harness.targets.aws.teardown import delete_stack

        return delete_stack(self.scope, record.stack_id or record.name, self.wait_stack,
                            progress=self.progress)

    def publish_outputs(self, record: StackRecord) -> None:
        """Nothing to do: API Gateway serves the APIs, the outputs are already the real URLs."""


def _with_refs(value: Any, physical: Mapping[str, str]) -> Any:
    """Properties with ``Ref`` to the stack's resources replaced by their physical ids (pure)."""
    if isinstance(value, dict):
        if set(value) == {"Ref"} and value["Ref"] in physical:
            return physical[value["Ref"]]
        return {k: _with_refs(v, physical) for k, v in value.items()}
    if isinstance(value, list):
        return [_with_refs(v, physical) for v in value]
    return value


def _param(value: Any) -> str:
    return ",".join(map(str, value)) if isinstance(value, list) else str(value)
