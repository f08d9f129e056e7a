"""The policies that decide a call, read from the account as deployed: a role's inline and attached
managed policies, and the resource policies of SQS queues, Lambda functions, S3 buckets, SNS topics,
EventBridge buses and Secrets Manager secrets (cached per account until ``invalidate``).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote

from harness.iam.evaluate import Decision, PolicyError, Request, Statement, evaluate, parse_policy
from harness.iam.needs import Need

ClientFor = Callable[[str], Any]  # service -> a boto3 client of the account (the harness's own calls)


def _document(value: Any) -> Any:
    """A policy document as IAM's API returns it: parsed, JSON text or URL-encoded JSON text."""
    if isinstance(value, str):
        text = value if value.lstrip().startswith("{") else unquote(value)
        return json.loads(text)
    return value


def role_name(role_arn: str) -> str:
    return role_arn.rsplit("/", 1)[-1]


class PolicyBook:
    """One account's policies, read on first use."""

    def __init__(self, account_id: str, client_for: ClientFor) -> None:
        self.account_id = account_id
        self.client_for = self._client_for = client_for  # the account's clients (the harness's own calls)
        self._lock = threading.Lock()
        self._identity: dict[str, list[Statement]] = {}
        self._resource: dict[str, list[Statement]] = {}
        self._roles: dict[str, str] = {}

    def invalidate(self) -> None:
        with self._lock:
            self._identity.clear()
            self._resource.clear()
            self._roles.clear()

    def role_of(self, function: str) -> str:
        """The execution role of a function (name or ARN)."""
        with self._lock:
            known = self._roles.get(function)
        if known is None:
            known = str(self._client_for("lambda").get_function_configuration(FunctionName=function)["Role"])
            with self._lock:
                self._roles[function] = known
        return known

    def identity(self, role_arn: str) -> list[Statement]:
        with self._lock:
            known = self._identity.get(role_arn)
        if known is None:
            known = self._read_role(role_arn)
            with self._lock:
                self._identity[role_arn] = known
        return known

    def resource(self, arn: str) -> list[Statement]:
        key = _policy_holder(arn)
        if key is None:
            return []
        with self._lock:
            known = self._resource.get(key)
        if known is None:
            text = self._read_resource_policy(key)
            known = parse_policy(text, f"resource policy of {key}", resource_policy=True) if text else []
            with self._lock:
                self._resource[key] = known
        return known

    def decide(self, principal: str, need: Need) -> Decision:
        """IAM's decision on one need of a call by ``principal`` (a role ARN or ``service:<name>``)."""
        if need.resource is None:
            return Decision("not_evaluated", "the resource cannot be told from the call")
        identity = [] if principal.startswith("service:") else self.identity(principal)
        resource = self.resource(need.resource) if need.resource != "*" else []
        return evaluate(Request(principal, need.action, need.resource, need.context, self.account_id), identity, resource)

    def _read_role(self, role_arn: str) -> list[Statement]:
        iam = self._client_for("iam")
        name = role_name(role_arn)
        statements: list[Statement] = []
        for page in iam.get_paginator("list_role_policies").paginate(RoleName=name):
            for policy in page["PolicyNames"]:
                document = iam.get_role_policy(RoleName=name, PolicyName=policy)["PolicyDocument"]
                statements += _parse(document, f"inline policy {policy} of role {name}")
        for page in iam.get_paginator("list_attached_role_policies").paginate(RoleName=name):
            for attached in page["AttachedPolicies"]:
                arn = attached["PolicyArn"]
                version = iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"]
                document = iam.get_policy_version(PolicyArn=arn, VersionId=version)["PolicyVersion"]["Document"]
                statements += _parse(document, f"managed policy {attached['PolicyName']} attached to role {name}")
        return statements

    def _read_resource_policy(self, key: str) -> str | None:
        service, _, name = key.partition("|")
        try:
            if service == "sqs":
                sqs = self._client_for("sqs")
                url = sqs.get_queue_url(QueueName=name.rsplit(":", 1)[-1])["QueueUrl"]
                policy = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["Policy"]).get("Attributes", {}).get("Policy")
                return str(policy) if policy else None
            if service == "lambda":
                return str(self._client_for("lambda").get_policy(FunctionName=name)["Policy"])
            if service == "s3":
                return str(self._client_for("s3").get_bucket_policy(Bucket=name)["Policy"])
            if service == "sns":
                policy = self._client_for("sns").get_topic_attributes(TopicArn=name)["Attributes"].get("Policy")
                return str(policy) if policy else None
            if service == "events":
                policy = self._client_for("events").describe_event_bus(Name=name.rsplit("/", 1)[-1]).get("Policy")
                return str(policy) if policy else None
            if service == "secretsmanager":
                policy = self._client_for("secretsmanager").get_resource_policy(SecretId=name).get("ResourcePolicy")
                return str(policy) if policy else None
        except Exception as exc:  # no policy (each service says so with its own error), or no resource
            if "policy" in str(exc).lower() or "not found" in str(exc).lower() or "does not exist" in str(exc).lower():
                return None
            raise
        return None


def _parse(document: Any, source: str) -> list[Statement]:
    try:
        return parse_policy(_document(document), source)
    except (PolicyError, ValueError) as exc:
        raise PolicyError(f"{source}: {exc}") from exc


def _policy_holder(arn: str) -> str | None:
    """Which resource's policy decides for ``arn`` (``sqs|<queue arn>``, ``s3|<bucket>`` ...), or None."""
    parts = arn.split(":")
    if len(parts) < 6:
        return None
    service = parts[2]
    if service == "sqs":
        return f"sqs|{arn}"
    if service == "lambda":
        return f"lambda|{':'.join(parts[:8])}"  # a version or alias has its own policy
    if service == "s3":
        return f"s3|{parts[5].split('/', 1)[0]}"
    if service == "sns":
        return f"sns|{arn}"
    if service == "events" and parts[5].startswith("event-bus/"):
        return f"events|{arn}"
    if service == "secretsmanager":
        return f"secretsmanager|{arn}"
    return None
