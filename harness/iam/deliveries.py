"""Deliveries AWS services make under their own principal, judged against the receiving resource's
policy (pure, given a ``decide`` function).

An EventBridge rule sends to a queue, a topic or a function as ``events.amazonaws.com``; an S3
notification as ``s3.amazonaws.com``; an SNS subscription as ``sns.amazonaws.com``; an API Gateway
integration invokes its function as ``apigateway.amazonaws.com``. IAM lets each one through only
when the queue's, topic's or function's resource policy allows that service (usually for that
source alone, ``aws:SourceArn``), and a target or integration that names a role is decided by the
role's policies instead. Templates written by hand forget these policies more often than any
other: the app then loses every event on AWS while moto and LocalStack, which enforce none, deliver
them. The harness reads the account's wiring (``wiring.py``) and reports each delivery AWS would
refuse, with what happens on AWS and the statement to add.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from harness.iam.evaluate import Decision
from harness.iam.needs import Need

Decide = Callable[[str, Need], Decision]  # (principal, need) -> decision

# The action a delivery needs, by the receiving service (the ARN's third field)
ACTIONS = {"sqs": "sqs:SendMessage", "sns": "sns:Publish", "lambda": "lambda:InvokeFunction",
           "events": "events:PutEvents", "states": "states:StartExecution", "kinesis": "kinesis:PutRecord",
           "firehose": "firehose:PutRecordBatch"}
# What AWS does with deliveries it refuses, by the sending service
CONSEQUENCES = {
    "events.amazonaws.com": "the rule's FailedInvocations count them and, after 24 h of retries, the events "
                            "are dropped (or sent to the target's dead-letter queue)",
    "s3.amazonaws.com": "S3 refuses the bucket's notification configuration (\"Unable to validate the "
                        "following destination configurations\"), so the stack does not deploy",
    "sns.amazonaws.com": "SNS drops the messages after its delivery retries (NumberOfNotificationsFailed)",
    "apigateway.amazonaws.com": "the API answers 500 Internal Server Error",
}
# Receivers a delivery reaches through a resource policy (the others need the target's role)
RESOURCE_POLICY_HOLDERS = {"sqs": "queue", "sns": "topic", "lambda": "function", "events": "event bus"}


@dataclass(frozen=True)
class Delivery:
    service: str          # the sending service's principal: events.amazonaws.com
    source: str           # what sends (aws:SourceArn): the rule's, bucket's, topic's or API route's ARN
    target: str           # what receives: the queue's, topic's or function's ARN
    via: str              # for people: "EventBridge rule orders-rule"
    role: str = ""        # the target's or integration's role: IAM decides with it instead
    account: str = ""     # the source's account (aws:SourceAccount)

    @property
    def need(self) -> Need | None:
        action = ACTIONS.get(self.target.split(":")[2]) if self.target.count(":") >= 5 else None
        if action is None:
            return None
        context = {"aws:SourceArn": self.source, **({"aws:SourceAccount": self.account} if self.account else {})}
        return Need(action, self.target, context)  # a version or alias: decided by its own policy

    @property
    def principal(self) -> str:
        return self.role or f"service:{self.service}"


def judge(deliveries: Iterable[Delivery], decide: Decide) -> dict[str, Any]:
    """The section's ``deliveries``: how many were checked, and each AWS would refuse or cannot tell."""
    denied: list[dict[str, Any]] = []
    unknown: list[dict[str, Any]] = []
    checked = 0
    for delivery in sorted(set(deliveries), key=lambda d: (d.via, d.target)):
        need = delivery.need
        if need is None:
            continue
        checked += 1
        decision = decide(delivery.principal, need)
        entry = {"via": delivery.via, "source": delivery.source, "target": need.resource,
                 "principal": delivery.principal.removeprefix("service:"), "action": need.action}
        if decision.denied:
            denied.append({**entry, "decision": decision.outcome, "why": decision.statement,
                           "message": refusal(delivery, need, decision)})
        elif decision.outcome == "not_evaluated":
            unknown.append({**entry, "why": decision.statement})
    return {"checked": checked, "denied": denied, "not_evaluated": unknown}


def refusal(delivery: Delivery, need: Need, decision: Decision) -> str:
    """What AWS does with the deliveries and what to change, in one message."""
    resource = str(need.resource)
    consequence = CONSEQUENCES.get(delivery.service, "AWS refuses the deliveries")
    if decision.outcome == "explicit_deny":
        return (f"{delivery.via} cannot deliver to {resource}: {decision.statement} denies {need.action} "
                f"explicitly; on AWS {consequence}. Remove or narrow that Deny")
    if delivery.role:
        statement = json.dumps({"Effect": "Allow", "Action": need.action, "Resource": resource})
        return (f"{delivery.via} cannot deliver to {resource}: its role {delivery.role} is not allowed "
                f"{need.action}; on AWS {consequence}. Add to the role's policy: {statement}")
    kind = RESOURCE_POLICY_HOLDERS.get(resource.split(":")[2], "resource")
    return (f"{delivery.via} cannot deliver to {resource}: the {kind}'s resource policy does not allow "
            f"{delivery.service} {need.action}; on AWS {consequence}. {_fix(delivery, need, kind)}")


def _fix(delivery: Delivery, need: Need, kind: str) -> str:
    if kind == "function":
        return (f"Add a permission (AWS::Lambda::Permission, or `aws lambda add-permission`) with Principal "
                f"{delivery.service}, Action lambda:InvokeFunction and SourceArn {delivery.source}")
    statement = {"Effect": "Allow", "Principal": {"Service": delivery.service}, "Action": need.action,
                 "Resource": need.resource, "Condition": {"ArnEquals": {"aws:SourceArn": delivery.source}}}
    policy = {"sqs": "AWS::SQS::QueuePolicy", "sns": "AWS::SNS::TopicPolicy",
              "events": "AWS::Events::EventBusPolicy"}.get(str(need.resource).split(":")[2], "its policy")
    return f"Add to the {kind}'s policy ({policy}): {json.dumps(statement)}"


def merge_deliveries(sections: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Each refused delivery once, with the scenarios that found it."""
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for section in sections:
        for denial in (section.get("deliveries") or {}).get("denied") or []:
            key = (str(denial["via"]), str(denial["target"]).split(":")[-1])  # accounts differ per scenario
            entry = found.setdefault(key, {**denial, "scenarios": []})
            entry["scenarios"].append(section.get("scenario", ""))
    return list(found.values())
