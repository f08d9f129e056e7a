"""Preflight of the AWS target: who the credentials are, where they point, and what the template
would leave behind, checked before anything is created (pure over what the caller read).

Each check yields ``Finding``s; a ``refuse`` finding stops the run (exit 2, one line: the reason and
the fix), a ``warn`` finding is printed, a ``rewrite`` finding reports a change made to the template.

Example:
    findings = check_identity(sts.get_caller_identity(), config, os.environ)
    template, more = lint_template(template, config)
    refuse_on(findings + more)
"""

from __future__ import annotations

import copy
import fnmatch
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from harness.provisioning.template import Template, template_document
from harness.targets.aws.config import AwsConfig, AwsRefusal

# The properties that give a resource an explicit physical name (one stack per run cannot share them).
NAME_PROPERTIES: dict[str, str] = {
    "AWS::S3::Bucket": "BucketName", "AWS::DynamoDB::Table": "TableName", "AWS::SQS::Queue": "QueueName",
    "AWS::SNS::Topic": "TopicName", "AWS::Lambda::Function": "FunctionName", "AWS::IAM::Role": "RoleName",
    "AWS::IAM::ManagedPolicy": "ManagedPolicyName", "AWS::Events::EventBus": "Name", "AWS::Events::Rule": "Name",
    "AWS::Logs::LogGroup": "LogGroupName", "AWS::StepFunctions::StateMachine": "StateMachineName",
    "AWS::Kinesis::Stream": "Name", "AWS::SecretsManager::Secret": "Name", "AWS::SSM::Parameter": "Name",
    "AWS::Cognito::UserPool": "UserPoolName", "AWS::CloudWatch::Alarm": "AlarmName",
    "AWS::ApiGatewayV2::Api": "Name", "AWS::ApiGateway::RestApi": "Name",
}
# Names that need not be unique per account (a user pool's or an API's name is a label).
_LABELS = {"AWS::Cognito::UserPool", "AWS::ApiGatewayV2::Api", "AWS::ApiGateway::RestApi"}
_KEEPING = ("Retain", "Snapshot", "RetainExceptOnCreate")


@dataclass(frozen=True)
class Finding:
    level: str      # refuse | warn | rewrite
    subject: str    # the resource, setting or credential concerned
    reason: str
    fix: str

    def line(self) -> str:
        return f"{self.subject}: {self.reason}; {self.fix}"


def check_identity(caller: Mapping[str, Any], config: AwsConfig, environ: Mapping[str, str]) -> list[Finding]:
    """Refusals for the credentials ``caller`` (STS GetCallerIdentity) and the environment."""
    findings: list[Finding] = []
    account, arn = str(caller.get("Account", "")), str(caller.get("Arn", ""))
    if account not in config.allowed_accounts:
        findings.append(Finding("refuse", f"account {account}", "not in allowed_accounts "
                                f"({', '.join(config.allowed_accounts)})", "use a test account's credentials, or "
                                "add this exact id to [tool.harness.aws] allowed_accounts"))
    if arn.endswith(":root"):
        findings.append(Finding("refuse", arn, "these are the account's root credentials",
                                "use an IAM role or user made for tests (a profile, or CI's role)"))
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION"):
        if environ.get(name) and environ[name] != config.region:
            findings.append(Finding("refuse", name, f"is {environ[name]} but [tool.harness.aws] region is "
                                    f"{config.region}", f"unset {name} or make the two agree"))
    if not config.simulated:
        for name in sorted(k for k in environ if k.startswith("AWS_ENDPOINT_URL") and environ[k]):
            findings.append(Finding("refuse", name, f"is set ({environ[name]}): the AWS target talks to AWS "
                                    "itself", f"unset {name} (HARNESS_AWS_SIMULATE_ENDPOINT points the target "
                                    "at a local harness)"))
        if config.ci_role_arn_pattern and not _role_matches(arn, config.ci_role_arn_pattern):
            findings.append(Finding("refuse", arn, f"does not match ci_role_arn_pattern "
                                    f"{config.ci_role_arn_pattern}", "assume the CI role the pattern names"))
    return findings


def _role_matches(arn: str, pattern: str) -> bool:
    """An assumed-role ARN (``arn:aws:sts::1:assumed-role/Name/session``) against a role pattern."""
    parts = arn.split(":")
    if len(parts) == 6 and parts[5].startswith("assumed-role/"):
        role = parts[5].split("/")[1]
        arn = f"arn:aws:iam::{parts[4]}:role/{role}"
    return fnmatch.fnmatchcase(arn, pattern)


def check_profile(config: AwsConfig, available: Iterable[str]) -> list[Finding]:
    if config.simulated or not config.profile or config.profile in set(available):
        return []
    return [Finding("refuse", f"profile {config.profile}", "is not in the AWS config files",
                    "create it (aws configure --profile ...) or fix [tool.harness.aws] profile")]


def check_concurrency(template: Template, account_settings: Mapping[str, Any]) -> list[Finding]:
    """New accounts have low concurrency: reserved concurrency may be rejected (pure)."""
    limit = int((account_settings.get("AccountLimit") or {}).get("ConcurrentExecutions", 1000))
    reserved = {k: int(r.get("Properties", {}).get("ReservedConcurrentExecutions", 0))
                for k, r in template.resources.items() if r.get("Type") == "AWS::Lambda::Function"}
    wanted = sum(reserved.values())
    if limit - wanted < 100 and wanted:
        return [Finding("warn", "Lambda concurrency", f"the account allows {limit} concurrent executions and the "
                        f"template reserves {wanted}; AWS keeps 100 unreserved", "ask for a quota increase or "
                        "reserve less in the test account")]
    if limit < 100:
        return [Finding("warn", "Lambda concurrency", f"the account allows only {limit} concurrent executions",
                        "bursts will throttle; ask for a quota increase")]
    return []


def lint_template(template: Template, config: AwsConfig) -> tuple[Template, list[Finding]]:
    """Refuse (or rewrite) what a test stack must not do: keep data after delete, claim fixed names,
    run custom code at deploy; warn on stream mappings that would miss events. Returns the template
    to deploy (a copy when rewritten) and the findings."""
    findings: list[Finding] = []
    document = copy.deepcopy(template_document(template))
    for logical_id, resource in document.get("Resources", {}).items():
        type_name = str(resource.get("Type", ""))
        for policy in ("DeletionPolicy", "UpdateReplacePolicy"):
            if resource.get(policy) in _KEEPING:
                if config.rewrite_retain:
                    findings.append(Finding("rewrite", f"{logical_id} ({type_name})", f"{policy} "
                                            f"{resource[policy]} rewritten to Delete", "nothing to do"))
                    resource[policy] = "Delete"
                else:
                    findings.append(Finding("refuse", f"{logical_id} ({type_name})", f"{policy} is "
                                            f"{resource[policy]}: a test stack would leave it behind",
                                            "set rewrite_retain = true in [tool.harness.aws] or use Delete"))
        if type_name.startswith("Custom::") or type_name == "AWS::CloudFormation::CustomResource":
            findings.append(Finding("refuse", f"{logical_id} ({type_name})", "custom resources run code at "
                                    "deploy and delete that the harness cannot clean up after",
                                    "deploy without it to the test account (a condition on the stage)"))
        name_property = NAME_PROPERTIES.get(type_name)
        name = (resource.get("Properties") or {}).get(name_property) if name_property else None
        if name is not None and type_name not in _LABELS and not _run_scoped(name, config.prefix):
            findings.append(Finding("refuse", f"{logical_id} ({type_name})", f"{name_property} is fixed "
                                    f"({_short(name)}): parallel runs and leftovers would collide",
                                    f"drop it, or build it from ${{AWS::StackName}} (stacks start with "
                                    f"{config.prefix}-)"))
        if type_name == "AWS::Lambda::EventSourceMapping" and \
                (resource.get("Properties") or {}).get("StartingPosition") == "LATEST":
            findings.append(Finding("warn", f"{logical_id} ({type_name})", "StartingPosition LATEST misses "
                                    "records written before the mapping starts polling (minutes on AWS)",
                                    "use TRIM_HORIZON in test stacks"))
    return (Template.from_dict(document, template.source) if config.rewrite_retain else template), findings


def _run_scoped(name: Any, prefix: str) -> bool:
    """A name built from the stack name, or a literal starting with the run prefix."""
    if isinstance(name, str):
        return name.startswith(f"{prefix}-")
    text = repr(name)
    return "AWS::StackName" in text


def _short(value: Any) -> str:
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def refuse_on(findings: Iterable[Finding]) -> None:
    """Raise for the first refusal (its one line names the reason and the fix).

    Raises:
        AwsRefusal: a finding refuses the run.
    """
    for finding in findings:
        if finding.level == "refuse":
            raise AwsRefusal(f"aws target refused: {finding.line()}")
