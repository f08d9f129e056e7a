"""settle(): returns when drained, raises with what is pending otherwise."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from harness.cloud import CloudAccount
from harness.errors import WaitTimeoutError
from harness.targets.moto import MotoTarget


def test_settle_returns_when_idle(account: CloudAccount) -> None:
    account.settle(timeout=10)  # raises WaitTimeoutError otherwise; how fast: `make bench` idle_settle_s


def test_settle_names_what_is_still_pending(account: CloudAccount, deploy: Any, make_queue: Any) -> None:
    url, arn = make_queue("stuck", VisibilityTimeout="30")
    deploy("slow", "import time\ndef handler(e, c):\n    time.sleep(4)\n", Timeout=10)
    account.client("lambda").create_event_source_mapping(FunctionName="slow", EventSourceArn=arn)
    account.client("sqs").send_message(QueueUrl=url, MessageBody="x")
    with pytest.raises(WaitTimeoutError) as caught:
        account.settle(timeout=1.0)
    assert arn in str(caught.value)
    assert "in flight" in str(caught.value)  # moto: "1 batch(es) in flight"; LocalStack: "in queue or in flight"


def test_settle_leaves_a_failed_message_to_the_clock(account: CloudAccount, deploy: Any, make_queue: Any) -> None:
    """On a virtual clock a message waiting out its visibility timeout waits for the clock, not
    for settle: it comes back when a test lets the time pass (``advance_clock``)."""
    if not account.clock.virtual:
        pytest.skip("time is real on this target: settle waits for the redelivery")
    url, arn = make_queue("failing", VisibilityTimeout="30")
    deploy("always-fails", "def handler(e, c):\n    raise RuntimeError('no')\n")
    account.client("lambda").create_event_source_mapping(FunctionName="always-fails", EventSourceArn=arn)
    account.client("sqs").send_message(QueueUrl=url, MessageBody="x")
    account.settle(timeout=10)
    attributes = account.client("sqs").get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessagesNotVisible", "ApproximateNumberOfMessages"])
    assert attributes["Attributes"] == {"ApproximateNumberOfMessagesNotVisible": "1", "ApproximateNumberOfMessages": "0"}
    due = account.next_due()
    assert due is not None and 25 < due - account.clock.now() <= 30


def test_settle_waits_for_s3_notifications_on_their_way(account: CloudAccount, make_queue: Any) -> None:
    """S3 sends notifications after the request returns (moto: one delivery thread, in order):
    settle names and waits for those still on their way; once it returns each upload is queued."""
    if not isinstance(account.cloud.target, MotoTarget) or account.cloud.target.deliveries is None:
        pytest.skip("the target delivers S3 notifications itself")
    deliveries = account.cloud.target.deliveries
    url, arn = make_queue("uploads")
    s3 = account.client("s3")
    s3.create_bucket(Bucket="settle-uploads")
    s3.put_bucket_notification_configuration(Bucket="settle-uploads", NotificationConfiguration={
        "QueueConfigurations": [{"QueueArn": arn, "Events": ["s3:ObjectCreated:*"]}]})
    gate = threading.Event()
    deliveries.submit(account.account_id, lambda: gate.wait(30))  # holds the deliveries behind it
    for n in range(20):
        s3.put_object(Bucket="settle-uploads", Key=f"doc-{n}", Body=b"x")  # returns: S3 does not wait
    with pytest.raises(WaitTimeoutError, match=r"21 S3 event notification\(s\) being delivered"):
        account.settle(timeout=1.0)
    gate.set()
    account.settle(timeout=30)
    attributes = account.client("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
    assert int(attributes["Attributes"]["ApproximateNumberOfMessages"]) == 21  # 20 uploads and S3's test event
