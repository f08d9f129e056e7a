"""settle(): returns when drained, raises with what is pending otherwise."""

from __future__ import annotations

import time
from typing import Any

import pytest

from harness.cloud import CloudAccount
from harness.errors import WaitTimeoutError


def test_settle_returns_when_idle_quickly(account: CloudAccount) -> None:
    started = time.monotonic()
    account.settle()
    assert time.monotonic() - started < 1.0


def test_settle_names_what_is_still_pending(account: CloudAccount, deploy: Any, make_queue: Any) -> None:
    url, arn = make_queue("stuck", VisibilityTimeout="30")
    deploy("always-fails", "def handler(e, c):\n    raise RuntimeError('no')\n")
    account.client("lambda").create_event_source_mapping(FunctionName="always-fails", EventSourceArn=arn)
    account.client("sqs").send_message(QueueUrl=url, MessageBody="x")
    with pytest.raises(WaitTimeoutError) as caught:
        account.settle(timeout=1.0)
    assert arn in str(caught.value)
    assert "1 message(s) in queue" in str(caught.value)
