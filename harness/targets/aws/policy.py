"""The IAM policy a CI role needs to run an app's tests and scenarios on AWS (``harness aws
print-policy``), derived from the template and the steps, not written by hand.

Three parts, each a statement of its own:
- **deploy**: what CloudFormation needs to create, read, update and delete each resource type of the
  template, from the types' registry schemas (``handlers.*.permissions``, as cfn-lint ships them);
- **harness**: the run's own calls (change sets on ``<prefix>-*`` stacks, the asset bucket, the
  tagging API, readiness, log groups, STS);
- **steps**: the data-plane calls the scenario steps make (``put_object`` -> ``s3:PutObject``, ...).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from harness.provisioning.template import Template
from harness.targets.aws.config import AwsConfig

_HANDLERS = ("create", "read", "update", "delete", "list")

# What each scenario step kind calls on AWS (the engine's probes and log reads included).
STEP_ACTIONS: Mapping[str, tuple[str, ...]] = {
    "put_object": ("s3:PutObject",),
    "delete_object": ("s3:DeleteObject",),
    "send_message": ("sqs:SendMessage", "sqs:GetQueueUrl"),
    "put_events": ("events:PutEvents",),
    "put_item": ("dynamodb:PutItem",),
    "update_item": ("dynamodb:UpdateItem",),
    "invoke": ("lambda:InvokeFunction",),
    "api": ("cognito-idp:AdminCreateUser", "cognito-idp:AdminGetUser", "cognito-idp:AdminSetUserPassword",
            "cognito-idp:AdminAddUserToGroup", "cognito-idp:AdminInitiateAuth"),
    "set_parameter": ("ssm:PutParameter",),
    "set_secret": ("secretsmanager:PutSecretValue",),
    "expect_item": ("dynamodb:GetItem",),
    "expect_query": ("dynamodb:Query",),
    "expect_queue": ("sqs:ReceiveMessage", "sqs:ChangeMessageVisibility", "sqs:GetQueueUrl"),
    "expect_events": ("events:PutRule", "events:PutTargets", "events:RemoveTargets", "events:DeleteRule",
                      "events:TagResource", "sqs:CreateQueue", "sqs:TagQueue", "sqs:SetQueueAttributes",
                      "sqs:GetQueueAttributes", "sqs:ReceiveMessage", "sqs:ChangeMessageVisibility",
                      "sqs:DeleteQueue"),
    "expect_invocations": ("logs:FilterLogEvents",),
    "expect_logs": ("logs:FilterLogEvents",),
    "expect_alarm": ("cloudwatch:DescribeAlarms",),
}


def resource_type_permissions(type_name: str, region: str) -> list[str] | None:
    """The actions CloudFormation's handlers for ``type_name`` need (``None``: type unknown)."""
    from cfnlint.schema import PROVIDER_SCHEMA_MANAGER  # type: ignore[import-untyped]
    from cfnlint.schema.manager import ResourceNotFoundError  # type: ignore[import-untyped]

    try:
        schema = PROVIDER_SCHEMA_MANAGER.get_resource_schema(region, type_name).schema
    except ResourceNotFoundError:
        return None
    handlers = schema.get("handlers") or {}
    return sorted({p for h in _HANDLERS for p in (handlers.get(h) or {}).get("permissions", [])})


def ci_policy(template: Template, config: AwsConfig, step_kinds: Iterable[str], *, account: str = "*",
              ) -> tuple[dict[str, Any], list[str]]:
    """The policy document and notes (resource types whose permissions are unknown)."""
    region, prefix = config.region, config.prefix
    deploy: set[str] = set()
    notes = []
    for type_name in sorted({str(r["Type"]) for r in template.resources.values()}):
        permissions = resource_type_permissions(type_name, region)
        if permissions is None:
            notes.append(f"{type_name}: no registry schema; add what its create/delete need by hand")
            continue
        deploy.update(permissions)
    steps = sorted({a for kind in step_kinds for a in STEP_ACTIONS.get(kind, ())})
    stack_arn = f"arn:aws:cloudformation:{region}:{account}:stack/{prefix}-*/*"
    bucket = f"arn:aws:s3:::{prefix}-assets-{account if account != '*' else '*'}-{region}"
    statements = [
        {"Sid": "HarnessStacks", "Effect": "Allow",
         "Resource": [stack_arn, f"arn:aws:cloudformation:{region}:{account}:changeSet/{prefix}-*/*"],
         "Action": ["cloudformation:CreateChangeSet", "cloudformation:DescribeChangeSet",
                    "cloudformation:ExecuteChangeSet", "cloudformation:DeleteChangeSet",
                    "cloudformation:DescribeStacks", "cloudformation:DescribeStackEvents",
                    "cloudformation:ListStackResources", "cloudformation:GetTemplate", "cloudformation:DeleteStack",
                    "cloudformation:TagResource"]},
        {"Sid": "HarnessReadAnywhere", "Effect": "Allow", "Resource": "*",
         "Action": ["cloudformation:ListStacks", "cloudformation:ListExports", "cloudformation:DescribeStacks",
                    "tag:GetResources", "sts:GetCallerIdentity", "lambda:GetFunctionConfiguration",
                    "lambda:GetEventSourceMapping", "lambda:GetAccountSettings", "apigateway:GET",
                    "logs:DescribeLogGroups", "sqs:GetQueueUrl", "sqs:GetQueueAttributes"]},
        {"Sid": "HarnessAssetBucket", "Effect": "Allow", "Resource": [bucket, f"{bucket}/*"],
         "Action": ["s3:CreateBucket", "s3:PutBucketPublicAccessBlock", "s3:PutEncryptionConfiguration",
                    "s3:PutLifecycleConfiguration", "s3:PutBucketTagging", "s3:GetObject", "s3:PutObject",
                    "s3:ListBucket"]},
        # the stacks' own buckets and functions are named after the stack: <prefix>-...
        {"Sid": "HarnessTeardown", "Effect": "Allow",
         "Resource": [f"arn:aws:s3:::{prefix}-*", f"arn:aws:s3:::{prefix}-*/*",
                      f"arn:aws:logs:{region}:{account}:log-group:/aws/lambda/{prefix}-*"],
         "Action": ["s3:ListBucket", "s3:ListBucketVersions", "s3:DeleteObject", "s3:DeleteObjectVersion",
                    "logs:DeleteLogGroup"]},
        {"Sid": "Deploy", "Effect": "Allow", "Resource": "*", "Action": sorted(deploy),
         "Condition": {"ForAnyValue:StringEquals": {"aws:CalledVia": ["cloudformation.amazonaws.com"]}}},
    ]
    if steps:
        statements.append({"Sid": "ScenarioSteps", "Effect": "Allow", "Resource": "*", "Action": steps})
    return {"Version": "2012-10-17", "Statement": statements}, notes
