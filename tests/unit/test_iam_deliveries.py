"""Service deliveries judged against their targets' resource policies (harness.iam.deliveries, and
the execute-api ARN a route's requests carry)."""

from __future__ import annotations

import json
from typing import Any

from harness.gateway.model import HttpApiDefinition, Route
from harness.iam.deliveries import Delivery, judge
from harness.iam.evaluate import Decision, Request, evaluate, parse_policy
from harness.iam.needs import Need
from harness.iam.wiring import api_deliveries, execute_api_arn, logical_id, of_stack
from harness.provisioning.resources.base import ResourceState

ACCOUNT = "111111111111"
QUEUE = f"arn:aws:sqs:us-east-1:{ACCOUNT}:orders"
FUNCTION = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:worker"
RULE = f"arn:aws:events:us-east-1:{ACCOUNT}:rule/orders-rule"


def decide_with(policies: dict[str, list[dict[str, Any]]], identities: dict[str, list[dict[str, Any]]] | None = None):
    """A ``decide`` over resource policies by ARN (and role policies by role ARN)."""

    def decide(principal: str, need: Need) -> Decision:
        resource = parse_policy({"Statement": policies.get(str(need.resource), [])}, f"policy of {need.resource}",
                                resource_policy=True) if policies.get(str(need.resource)) else []
        identity = parse_policy({"Statement": (identities or {}).get(principal, [])}, f"role {principal}") \
            if (identities or {}).get(principal) else []
        return evaluate(Request(principal, need.action, str(need.resource), need.context, ACCOUNT), identity, resource)

    return decide


def allow(service: str, action: str, resource: str, source: str | None = None) -> dict[str, Any]:
    statement: dict[str, Any] = {"Effect": "Allow", "Principal": {"Service": service}, "Action": action,
                                 "Resource": resource}
    if source:
        statement["Condition"] = {"ArnEquals": {"aws:SourceArn": source}}
    return statement


def test_a_queue_whose_policy_allows_the_rule_receives_its_events() -> None:
    delivery = Delivery("events.amazonaws.com", RULE, QUEUE, "EventBridge rule orders-rule", account=ACCOUNT)
    verdict = judge([delivery], decide_with({QUEUE: [allow("events.amazonaws.com", "sqs:SendMessage", QUEUE, RULE)]}))
    assert verdict == {"checked": 1, "denied": [], "not_evaluated": []}


def test_a_queue_without_a_policy_refuses_the_rule_and_the_message_says_what_to_add() -> None:
    delivery = Delivery("events.amazonaws.com", RULE, QUEUE, "EventBridge rule orders-rule", account=ACCOUNT)
    verdict = judge([delivery], decide_with({}))
    [denied] = verdict["denied"]
    assert denied["action"] == "sqs:SendMessage" and denied["principal"] == "events.amazonaws.com"
    message = denied["message"]
    assert message.startswith(f"EventBridge rule orders-rule cannot deliver to {QUEUE}: the queue's resource policy")
    assert "FailedInvocations" in message and "AWS::SQS::QueuePolicy" in message
    added = json.loads(message.split("AWS::SQS::QueuePolicy): ", 1)[1])
    assert added["Condition"] == {"ArnEquals": {"aws:SourceArn": RULE}}
    # what it says to add is what lets the delivery through
    assert judge([delivery], decide_with({QUEUE: [added]}))["denied"] == []


def test_a_policy_for_another_rule_does_not_let_this_one_through() -> None:
    other = f"arn:aws:events:us-east-1:{ACCOUNT}:rule/other"
    delivery = Delivery("events.amazonaws.com", RULE, QUEUE, "EventBridge rule orders-rule", account=ACCOUNT)
    policies = {QUEUE: [allow("events.amazonaws.com", "sqs:SendMessage", QUEUE, other)]}
    assert len(judge([delivery], decide_with(policies))["denied"]) == 1


def test_a_function_permission_for_s3_and_the_fix_for_a_missing_one() -> None:
    bucket = "arn:aws:s3:::uploads"
    delivery = Delivery("s3.amazonaws.com", bucket, FUNCTION, "S3 notification of bucket uploads", account=ACCOUNT)
    granted = {FUNCTION: [allow("s3.amazonaws.com", "lambda:InvokeFunction", FUNCTION, bucket)]}
    assert judge([delivery], decide_with(granted))["denied"] == []
    [denied] = judge([delivery], decide_with({}))["denied"]
    assert "Unable to validate the following destination configurations" in denied["message"]
    assert "AWS::Lambda::Permission" in denied["message"] and bucket in denied["message"]


def test_an_alias_target_is_decided_by_the_alias_policy_and_an_explicit_deny_wins() -> None:
    alias = FUNCTION + ":live"
    delivery = Delivery("sns.amazonaws.com", f"arn:aws:sns:us-east-1:{ACCOUNT}:t", alias,
                        "SNS subscription of topic t", account=ACCOUNT)
    assert judge([delivery], decide_with({alias: [allow("sns.amazonaws.com", "lambda:InvokeFunction", alias)]}))["denied"] == []
    policies = {alias: [allow("sns.amazonaws.com", "lambda:InvokeFunction", alias),
                        {"Effect": "Deny", "Principal": "*", "Action": "lambda:InvokeFunction", "Resource": alias}]}
    [denied] = judge([delivery], decide_with(policies))["denied"]
    assert denied["target"] == alias and denied["decision"] == "explicit_deny" and "Remove or narrow" in denied["message"]


def test_a_target_with_a_role_is_decided_by_the_role() -> None:
    role = f"arn:aws:iam::{ACCOUNT}:role/rule-role"
    machine = f"arn:aws:states:us-east-1:{ACCOUNT}:stateMachine:flow"
    delivery = Delivery("events.amazonaws.com", RULE, machine, "EventBridge rule orders-rule", role=role, account=ACCOUNT)
    grants = {role: [{"Effect": "Allow", "Action": "states:StartExecution", "Resource": machine}]}
    assert judge([delivery], decide_with({}, grants))["denied"] == []
    [denied] = judge([delivery], decide_with({}, {}))["denied"]
    assert f"its role {role} is not allowed states:StartExecution" in denied["message"]


def test_targets_the_harness_has_no_action_for_are_not_counted() -> None:
    delivery = Delivery("events.amazonaws.com", RULE, f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:g", "rule", account=ACCOUNT)
    assert judge([delivery], decide_with({})) == {"checked": 0, "denied": [], "not_evaluated": []}


def test_an_api_route_is_named_by_its_path_as_defined_and_a_permission_for_another_route_refuses_it() -> None:
    arn = execute_api_arn("us-east-1", ACCOUNT, "a1b2", "$default", "GET", "/jobs/{id}")
    assert arn == f"arn:aws:execute-api:us-east-1:{ACCOUNT}:a1b2/$default/GET/jobs/{{id}}"
    api = HttpApiDefinition("Api", "a1b2", "jobs-api", "$default",
                            (Route("GET", "/jobs/{id}", "GET /jobs/{id}", FUNCTION),
                             Route("ANY", None, "$default", FUNCTION)))
    deliveries = api_deliveries([api], account=ACCOUNT, region="us-east-1")
    assert [d.source.rsplit(":", 1)[1] for d in deliveries] == ["a1b2/$default/GET/jobs/{id}", "a1b2/$default/*/"]

    def permission(pattern: str) -> dict[str, list[dict[str, Any]]]:
        return {FUNCTION: [allow("apigateway.amazonaws.com", "lambda:InvokeFunction", FUNCTION,
                                 f"arn:aws:execute-api:us-east-1:{ACCOUNT}:a1b2/{pattern}")]}

    assert judge(deliveries, decide_with(permission("*/*")))["denied"] == []
    assert judge(deliveries[:1], decide_with(permission("*/*/jobs/{id}")))["denied"] == []  # CDK's, per route
    refused = judge(deliveries[:1], decide_with(permission("*/*/users/{id}")))["denied"]
    assert len(refused) == 1 and "500 Internal Server Error" in refused[0]["message"]


def test_only_the_deliveries_from_or_to_the_stack_are_judged() -> None:
    mine = [ResourceState("Queue", "AWS::SQS::Queue", f"https://sqs.us-east-1.amazonaws.com/{ACCOUNT}/orders", None,
                          {"Arn": QUEUE}, {}),
            ResourceState("Rule", "AWS::Events::Rule", "shop-bus|orders-rule", None, {"Arn": RULE}, {})]
    to_mine = Delivery("sns.amazonaws.com", f"arn:aws:sns:us-east-1:{ACCOUNT}:elsewhere", QUEUE, "sub", account=ACCOUNT)
    from_mine = Delivery("events.amazonaws.com", RULE, f"arn:aws:sqs:us-east-1:{ACCOUNT}:theirs", "rule", account=ACCOUNT)
    theirs = Delivery("events.amazonaws.com", f"arn:aws:events:us-east-1:{ACCOUNT}:rule/x",
                      f"arn:aws:sqs:us-east-1:{ACCOUNT}:theirs", "rule x", account=ACCOUNT)
    assert of_stack([to_mine, from_mine, theirs], mine) == [to_mine, from_mine]


def test_a_route_with_an_integration_role_is_decided_by_the_role_and_caller_credentials_are_skipped() -> None:
    role = f"arn:aws:iam::{ACCOUNT}:role/api-invoke"
    api = HttpApiDefinition("Api", "a1b2", "jobs-api", "prod",
                            (Route("GET", "/a", "GET /a", FUNCTION, credentials=role),
                             Route("GET", "/b", "GET /b", FUNCTION, credentials="arn:aws:iam::*:user/*")), kind="rest")
    [delivery] = api_deliveries([api], account=ACCOUNT, region="us-east-1")
    assert delivery.role == role and delivery.source.endswith("a1b2/prod/GET/a")
    grants = {role: [{"Effect": "Allow", "Action": "lambda:InvokeFunction", "Resource": FUNCTION}]}
    assert judge([delivery], decide_with({}, grants))["denied"] == []


def test_a_refusal_names_the_template_resources_source_and_target_come_from() -> None:
    stack = [ResourceState("Orders", "AWS::SQS::Queue", f"https://sqs.us-east-1.amazonaws.com/{ACCOUNT}/orders", None,
                           {"Arn": QUEUE}, {}),
             ResourceState("Nameless", "AWS::SSM::Parameter", "/p", None, {}, {}),
             ResourceState("Api", "AWS::ApiGatewayV2::Api", "a1b2", None, {}, {})]
    assert logical_id(QUEUE, stack) == "Orders"
    assert logical_id(execute_api_arn("us-east-1", ACCOUNT, "a1b2", "$default", "ANY", None), stack) == "Api"
    assert logical_id(RULE, stack) is None
