"""Functional tests: embedded moto + the process runtime, one fresh account per test."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from harness.cloud import CloudAccount, LocalCloud
from harness.packaging import deploy_function

pytestmark: list[pytest.MarkDecorator] = []


@pytest.fixture
def account(harness_cloud: LocalCloud) -> Iterator[CloudAccount]:
    acct = harness_cloud.open_account()
    yield acct
    acct.close()


@pytest.fixture
def deploy(account: CloudAccount) -> Callable[..., dict[str, Any]]:
    """deploy(name, source, **CreateFunction kwargs): a python3.13 function from one app.py."""

    def _deploy(name: str, source: str, **config: Any) -> dict[str, Any]:
        files = config.pop("files", {})
        return deploy_function(account, name, {"app.py": source, **files}, **config)

    return _deploy


@pytest.fixture
def make_queue(account: CloudAccount) -> Callable[..., tuple[str, str]]:
    """make_queue(name, dlq=None, max_receive=3, **attributes) -> (url, arn)."""
    sqs = account.client("sqs")

    def _make(name: str, *, dlq_arn: str | None = None, max_receive: int = 3, **attrs: str) -> tuple[str, str]:
        attributes = dict(attrs)
        if dlq_arn:
            attributes["RedrivePolicy"] = json.dumps({"deadLetterTargetArn": dlq_arn,
                                                      "maxReceiveCount": max_receive})
        url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        return url, arn

    return _make


def drain(account: CloudAccount, url: str) -> list[dict[str, Any]]:
    """Every message currently visible in a queue (received, not deleted)."""
    sqs = account.client("sqs")
    seen: dict[str, dict[str, Any]] = {}
    while True:
        batch = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=30,
                                    MessageAttributeNames=["All"]).get("Messages", [])
        if not batch:
            return list(seen.values())
        seen.update({m["MessageId"]: m for m in batch})


# A handler that records every event it receives in a DynamoDB-free way: it sends it to a queue.
RECORDER = """
import json, os, uuid, boto3
sqs = boto3.client("sqs")
def record(event):
    url = os.environ["RECORD_URL"]
    extra = {"MessageGroupId": "record", "MessageDeduplicationId": str(uuid.uuid4())} if url.endswith(".fifo") else {}
    sqs.send_message(QueueUrl=url, MessageBody=json.dumps(event), **extra)
"""
