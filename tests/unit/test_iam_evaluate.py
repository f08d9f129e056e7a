"""IAM's evaluation logic (harness.iam.evaluate): explicit deny wins, NotAction/NotResource,
wildcards, resource policies naming a role, a service or the account, conditions evaluated or
reported as not evaluated (never allowed silently)."""

from __future__ import annotations

from typing import Any

import pytest

from harness.iam.evaluate import PolicyError, Request, evaluate, parse_policy

ACCOUNT = "111111111111"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/worker"
TABLE = f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/jobs"
QUEUE = f"arn:aws:sqs:us-east-1:{ACCOUNT}:q"


def policy(*statements: dict[str, Any], resource: bool = False) -> list[Any]:
    return parse_policy({"Version": "2012-10-17", "Statement": list(statements)}, "test policy",
                        resource_policy=resource)


def request(action: str, resource: str, principal: str = ROLE, **context: Any) -> Request:
    return Request(principal, action, resource, context, ACCOUNT)


def test_an_allow_that_matches_allows_and_names_its_statement() -> None:
    decision = evaluate(request("dynamodb:PutItem", TABLE),
                        policy({"Sid": "Write", "Effect": "Allow", "Action": "dynamodb:PutItem", "Resource": TABLE}))
    assert decision.allowed and "Sid Write" in decision.statement


def test_nothing_allows_is_an_implicit_deny() -> None:
    decision = evaluate(request("dynamodb:PutItem", TABLE),
                        policy({"Effect": "Allow", "Action": "dynamodb:GetItem", "Resource": TABLE}))
    assert decision.outcome == "denied" and decision.denied


def test_an_explicit_deny_wins_over_any_allow() -> None:
    decision = evaluate(request("dynamodb:PutItem", TABLE), policy(
        {"Effect": "Allow", "Action": "dynamodb:*", "Resource": "*"},
        {"Effect": "Deny", "Action": "dynamodb:Put*", "Resource": TABLE}))
    assert decision.outcome == "explicit_deny"


@pytest.mark.parametrize("action, resource, allowed", [
    ("DynamoDB:putitem", TABLE, True),                      # actions match case-insensitively
    ("dynamodb:PutItem", TABLE.upper(), False),             # resources case-sensitively
    ("dynamodb:PutItem", TABLE + "/index/byUser", False),   # a table's grant does not cover its indexes
    ("dynamodb:Query", TABLE + "/index/byUser", True),
    ("dynamodb:GetItem", TABLE.replace("jobs", "jobz"), True),   # ? matches one character
])
def test_wildcards_as_iam_matches_them(action: str, resource: str, allowed: bool) -> None:
    statements = policy({"Effect": "Allow", "Action": "dynamodb:PutItem", "Resource": TABLE},
                        {"Effect": "Allow", "Action": "dynamodb:Query", "Resource": TABLE + "/index/*"},
                        {"Effect": "Allow", "Action": "dynamodb:GetItem", "Resource": TABLE[:-1] + "?"})
    assert evaluate(request(action, resource), statements).allowed is allowed


def test_not_action_and_not_resource() -> None:
    statements = policy({"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"},
                        {"Effect": "Deny", "Action": "s3:*", "NotResource": "arn:aws:s3:::public/*"})
    assert evaluate(request("sqs:SendMessage", QUEUE), statements).allowed
    assert not evaluate(request("iam:CreateRole", "*"), statements).allowed
    assert evaluate(request("s3:GetObject", "arn:aws:s3:::public/a"), statements).allowed
    assert evaluate(request("s3:GetObject", "arn:aws:s3:::private/a"), statements).outcome == "explicit_deny"


def test_a_resource_policy_naming_the_role_or_its_session_grants_alone() -> None:
    queue_policy = policy({"Effect": "Allow", "Principal": {"AWS": ROLE}, "Action": "sqs:SendMessage",
                           "Resource": QUEUE}, resource=True)
    session = f"arn:aws:sts::{ACCOUNT}:assumed-role/worker/fn"
    assert evaluate(request("sqs:SendMessage", QUEUE), [], queue_policy).allowed
    assert evaluate(request("sqs:SendMessage", QUEUE, principal=session), [], queue_policy).allowed
    assert not evaluate(request("sqs:DeleteMessage", QUEUE), [], queue_policy).allowed


def test_a_resource_policy_naming_the_account_delegates_to_the_role_s_policies() -> None:
    bucket_policy = policy({"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
                            "Action": "s3:*", "Resource": "*"}, resource=True)
    assert not evaluate(request("s3:GetObject", "arn:aws:s3:::b/k"), [], bucket_policy).allowed


def test_a_deny_in_a_resource_policy_wins() -> None:
    identity = policy({"Effect": "Allow", "Action": "s3:*", "Resource": "*"})
    bucket_policy = policy({"Effect": "Deny", "Principal": "*", "Action": "s3:DeleteObject", "Resource": "*"},
                           resource=True)
    assert evaluate(request("s3:DeleteObject", "arn:aws:s3:::b/k"), identity, bucket_policy).outcome == "explicit_deny"


def test_a_service_principal_is_decided_by_the_resource_policy_and_its_conditions() -> None:
    rule = f"arn:aws:events:us-east-1:{ACCOUNT}:rule/route"
    queue_policy = policy({"Effect": "Allow", "Principal": {"Service": "events.amazonaws.com"},
                           "Action": "sqs:SendMessage", "Resource": QUEUE,
                           "Condition": {"ArnEquals": {"aws:SourceArn": rule}}}, resource=True)
    identity = policy({"Effect": "Allow", "Action": "*", "Resource": "*"})  # a role's grants do not apply
    service = "service:events.amazonaws.com"
    assert evaluate(request("sqs:SendMessage", QUEUE, service, **{"aws:SourceArn": rule}), identity, queue_policy).allowed
    other = rule.replace("route", "other")
    assert not evaluate(request("sqs:SendMessage", QUEUE, service, **{"aws:SourceArn": other}), identity,
                        queue_policy).allowed


@pytest.mark.parametrize("condition, context, outcome", [
    ({"StringLike": {"s3:prefix": ["home/*"]}}, {"s3:prefix": "home/me"}, "allowed"),
    ({"StringLike": {"s3:prefix": ["home/*"]}}, {"s3:prefix": "etc/"}, "denied"),
    ({"StringEquals": {"aws:SourceAccount": ACCOUNT}}, {}, "denied"),         # a modelled key, absent
    ({"StringNotEquals": {"aws:SourceAccount": "2"}}, {}, "allowed"),         # negated: absent holds
    ({"StringEqualsIfExists": {"aws:SourceAccount": "2"}}, {}, "allowed"),
    ({"Null": {"aws:SourceArn": "true"}}, {}, "allowed"),
    ({"ForAllValues:StringEquals": {"dynamodb:LeadingKeys": ["u1"]}}, {"dynamodb:LeadingKeys": ["u1"]}, "allowed"),
    ({"ForAllValues:StringEquals": {"dynamodb:LeadingKeys": ["u1"]}}, {"dynamodb:LeadingKeys": ["u2"]}, "denied"),
    ({"StringEquals": {"aws:PrincipalTag/team": "a"}}, {}, "not_evaluated"),   # a key the harness cannot tell
    ({"DateGreaterThan": {"aws:CurrentTime": "2020-01-01T00:00:00Z"}}, {}, "not_evaluated"),
    ({"NumericLessThan": {"s3:max-keys": "10"}}, {"s3:max-keys": "5"}, "allowed"),
])
def test_conditions(condition: dict[str, Any], context: dict[str, Any], outcome: str) -> None:
    statements = policy({"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": condition})
    decision = evaluate(request("s3:ListBucket", "arn:aws:s3:::b", **context), statements)
    assert decision.outcome == outcome, decision


def test_an_unknown_condition_on_a_deny_is_not_evaluated_rather_than_allowed() -> None:
    statements = policy({"Effect": "Allow", "Action": "*", "Resource": "*"},
                        {"Effect": "Deny", "Action": "*", "Resource": "*",
                         "Condition": {"StringEquals": {"aws:ResourceTag/env": "prod"}}})
    decision = evaluate(request("s3:GetObject", "arn:aws:s3:::b/k"), statements)
    assert decision.outcome == "not_evaluated" and decision.unknown_keys == ("aws:ResourceTag/env",)


def test_a_document_that_is_not_a_policy_is_named() -> None:
    with pytest.raises(PolicyError, match="inline policy p: no Statement"):
        parse_policy({"Version": "2012-10-17"}, "inline policy p")
    with pytest.raises(PolicyError, match="not JSON"):
        parse_policy("{not json", "queue policy")


def test_arn_equals_takes_wildcards_like_arn_like_each_part_on_its_own() -> None:
    rule = f"arn:aws:events:us-east-1:{ACCOUNT}:rule/orders"

    def allowed(operator: str, pattern: str) -> bool:
        statement = {"Effect": "Allow", "Principal": {"Service": "events.amazonaws.com"}, "Action": "sqs:SendMessage",
                     "Resource": QUEUE, "Condition": {operator: {"aws:SourceArn": pattern}}}
        return evaluate(request("sqs:SendMessage", QUEUE, "service:events.amazonaws.com", **{"aws:SourceArn": rule}),
                        [], policy(statement, resource=True)).allowed

    assert allowed("ArnEquals", f"arn:aws:events:us-east-1:{ACCOUNT}:rule/*")  # IAM's ArnEquals is ArnLike
    assert allowed("ArnLike", "arn:aws:events:*:*:rule/orders")
    assert not allowed("ArnLike", "arn:aws:events:us-east-1:*")  # a * matches within its own part only
    assert not allowed("ArnEquals", f"arn:aws:events:us-east-1:{ACCOUNT}:rule/other")
