"""The target contract, exercised on the session's target (``--harness-target``): the moto tox env
runs it on moto, the localstack env on LocalStack, so every registered target passes the same suite."""

from __future__ import annotations

import boto3
import pytest

from harness.accounts import service_endpoint_variable
from harness.cloud import LocalCloud
from harness.provisioning.template import Template

QUEUE_TEMPLATE = Template.from_dict({"Resources": {"Q": {"Type": "AWS::SQS::Queue", "Properties": {}}},
                                     "Outputs": {"Url": {"Value": {"Ref": "Q"}}}})


def test_capabilities_match_what_the_target_does(harness_cloud: LocalCloud) -> None:
    target = harness_cloud.target
    caps = target.capabilities
    assert caps.reports_invocations == (target.invocations is not None)
    account = harness_cloud.open_account()
    try:
        # The harness serves event sources exactly where the target does not.
        assert (account.wiring is None) == caps.delivers_events
        assert account.capabilities is caps
    finally:
        account.close()
    assert target.healthy()


def test_accounts_are_isolated(harness_cloud: LocalCloud) -> None:
    first, second = harness_cloud.open_account(), harness_cloud.open_account()
    try:
        assert first.account_id != second.account_id
        url = first.client("sqs").create_queue(QueueName="contract-isolated")["QueueUrl"]
        assert first.account_id in url
        assert not second.client("sqs").list_queues(QueueNamePrefix="contract-isolated").get("QueueUrls")
    finally:
        first.close()
        second.close()


def test_client_scope_reaches_the_same_account_from_outside(harness_cloud: LocalCloud) -> None:
    account = harness_cloud.open_account()
    try:
        url = account.client("sqs").create_queue(QueueName="contract-outside")["QueueUrl"]
        env = account.client_scope().client_environment()
        session = boto3.session.Session(aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
                                        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
                                        aws_session_token=env.get("AWS_SESSION_TOKEN"),
                                        region_name=env["AWS_DEFAULT_REGION"])
        sqs = session.client("sqs", endpoint_url=env.get("AWS_ENDPOINT_URL"))
        assert sqs.list_queues(QueueNamePrefix="contract-outside")["QueueUrls"] == [url]
        # every service, side services included (LocalStack's user pools live in an embedded moto)
        pool = account.client("cognito-idp").create_user_pool(PoolName="contract-outside")["UserPool"]["Id"]
        endpoint = env.get(service_endpoint_variable(session, "cognito-idp"), env.get("AWS_ENDPOINT_URL"))
        pools = session.client("cognito-idp", endpoint_url=endpoint).list_user_pools(MaxResults=10)["UserPools"]
        assert [p["Id"] for p in pools] == [pool]
    finally:
        account.close()


def test_deployer_creates_and_destroys_a_stack(harness_cloud: LocalCloud) -> None:
    account = harness_cloud.open_account()
    try:
        deployer = account.deployer()
        record = deployer.deploy(QUEUE_TEMPLATE, stack_name="contract-stack")
        url = record.outputs["Url"]
        assert account.client("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
        assert deployer.destroy(record) == []
        assert not account.client("sqs").list_queues(QueueNamePrefix=url.rsplit("/", 1)[-1]).get("QueueUrls")
    finally:
        account.close()


@pytest.mark.parametrize("timeout", [5.0])
def test_settle_returns_on_an_idle_account(harness_cloud: LocalCloud, timeout: float) -> None:
    account = harness_cloud.open_account()
    try:
        account.settle(timeout)
    finally:
        account.close()
