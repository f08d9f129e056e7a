"""settle(): returns when drained, raises with what is pending otherwise."""

from __future__ import annotations

from typing import Any

import pytest

from harness.cloud import CloudAccount
from harness.errors import WaitTimeoutError


def test_settle_returns_when_idle(account: CloudAccount) -> None:
    account.settle(timeout=10)  # raises WaitTimeoutError otherwise; how fast: `make bench` idle_settle_s


def test_settle_names_what_is_still_pending(account: CloudAccount, deploy: Any, make_queue: Any) -> None:
    url, arn = make_queue("stuck", VisibilityTimeout="30")
    deploy("always-fails", "def handler(e, c):\n    raise RuntimeError('no')\n")
    account.client("lambda").create_event_source_mapping(FunctionName="always-fails", EventSourceArn=arn)
    account.client("sqs").send_message(QueueUrl=url, MessageBody="x")
    with pytest.raises(WaitTimeoutError) as caught:
        account.settle(timeout=1.0)
    assert arn in str(caught.value)
    assert "1 message(s) in queue" in str(caught.value)
