"""SQS -> Lambda with AWS's semantics, served by the harness's poller."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from harness.cloud import CloudAccount
from harness.waiting import wait_until
from tests.functional.conftest import RECORDER, drain
from tests.shape import golden, shape

PARTIAL = RECORDER + """
def handler(event, context):
    record(event)
    failures = [{"itemIdentifier": r["messageId"]} for r in event["Records"] if "fail" in r["body"]]
    return {"batchItemFailures": failures}
"""


def _recorded(account: CloudAccount, url: str) -> list[dict[str, Any]]:
    return [json.loads(m["Body"]) for m in drain(account, url)]


def test_partial_batch_failure_redelivers_only_failed_items_then_dlq(
    account: CloudAccount, deploy: Any, make_queue: Any
) -> None:
    record_url, _ = make_queue("record")
    dlq_url, dlq_arn = make_queue("work-dlq")
    # Longer than a loaded machine's cold start: a batch still running when its messages become
    # visible again is redelivered whole, on AWS as here (1 s made ok-* come back under load).
    url, arn = make_queue("work", dlq_arn=dlq_arn, max_receive=2, VisibilityTimeout="4")
    deploy("worker", PARTIAL, Environment={"Variables": {"RECORD_URL": record_url}})
    account.client("lambda").create_event_source_mapping(
        FunctionName="worker", EventSourceArn=arn, BatchSize=10, MaximumBatchingWindowInSeconds=1,
        FunctionResponseTypes=["ReportBatchItemFailures"],
    )
    bodies = [f"fail-{i}" if i in (2, 7) else f"ok-{i}" for i in range(10)]
    account.client("sqs").send_message_batch(
        QueueUrl=url, Entries=[{"Id": str(i), "MessageBody": b} for i, b in enumerate(bodies)])
    account.advance_clock(10)  # the failed items' visibility timeout passes: they come back once
    account.settle(timeout=20)

    # AWS may split a batch (so does LocalStack): what is fixed is who comes back, and how often.
    records = [r for batch in _recorded(account, record_url) for r in batch["Records"]]
    by_count: dict[str, list[str]] = {}
    for r in records:
        by_count.setdefault(r["attributes"]["ApproximateReceiveCount"], []).append(r["body"])
    assert sorted(by_count.pop("1")) == sorted(bodies)
    assert sorted(by_count.pop("2")) == ["fail-2", "fail-7"]
    assert by_count == {}
    assert sorted(m["Body"] for m in drain(account, dlq_url)) == ["fail-2", "fail-7"]
    attrs = account.client("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert attrs["ApproximateNumberOfMessages"] == "0"
    assert attrs["ApproximateNumberOfMessagesNotVisible"] == "0"


def test_event_has_aws_shape(account: CloudAccount, deploy: Any, make_queue: Any) -> None:
    record_url, _ = make_queue("record")
    url, arn = make_queue("shaped")
    deploy("shaper", RECORDER + "\ndef handler(event, context):\n    record(event)\n",
           Environment={"Variables": {"RECORD_URL": record_url}})
    account.client("lambda").create_event_source_mapping(FunctionName="shaper", EventSourceArn=arn)
    account.client("sqs").send_message(
        QueueUrl=url, MessageBody="Test message.",
        MessageAttributes={"myAttribute": {"DataType": "String", "StringValue": "myValue"}})
    account.settle()
    (event,) = _recorded(account, record_url)
    assert shape(event) == shape(golden("sqs.json"))
    record = event["Records"][0]
    assert record["eventSourceARN"] == arn and record["awsRegion"] == account.scope.region


def test_fifo_keeps_order_per_message_group(account: CloudAccount, deploy: Any, make_queue: Any) -> None:
    record_url, _ = make_queue("record.fifo", FifoQueue="true")
    url, arn = make_queue("ordered.fifo", FifoQueue="true")
    deploy("fifo", RECORDER + "\ndef handler(event, context):\n    record(event)\n",
           Environment={"Variables": {"RECORD_URL": record_url}})
    account.client("lambda").create_event_source_mapping(FunctionName="fifo", EventSourceArn=arn, BatchSize=3)
    sqs = account.client("sqs")
    for i in range(12):
        # moto sets SequenceNumber only when the deduplication id is explicit
        sqs.send_message(QueueUrl=url, MessageBody=f"{'ab'[i % 2]}-{i}", MessageGroupId="ab"[i % 2],
                         MessageDeduplicationId=str(i))
    account.settle()
    events = _recorded(account, record_url)  # a FIFO queue too: batches in delivery order
    assert shape(events[0]) == shape(golden("sqs_fifo.json"))
    records = [r for e in events for r in e["Records"]]
    assert len(records) == 12
    assert all(len(e["Records"]) <= 3 for e in events)
    for group in "ab":
        delivered = [r["body"] for r in records if r["attributes"]["MessageGroupId"] == group]
        assert delivered == [f"{group}-{i}" for i in range(12) if "ab"[i % 2] == group]


def test_filter_criteria_drop_non_matching_messages_without_invoking(
    account: CloudAccount, deploy: Any, make_queue: Any
) -> None:
    record_url, _ = make_queue("record")
    url, arn = make_queue("filtered")
    deploy("picky", RECORDER + "\ndef handler(event, context):\n    record(event)\n",
           Environment={"Variables": {"RECORD_URL": record_url}})
    account.client("lambda").create_event_source_mapping(
        FunctionName="picky", EventSourceArn=arn,
        FilterCriteria={"Filters": [{"Pattern": json.dumps({"body": {"kind": ["keep"]}})}]})
    sqs = account.client("sqs")
    for kind in ("keep", "drop", "keep"):
        sqs.send_message(QueueUrl=url, MessageBody=json.dumps({"kind": kind}))
    sqs.send_message(QueueUrl=url, MessageBody="not json")
    account.settle()
    bodies = [json.loads(r["body"]) for e in _recorded(account, record_url) for r in e["Records"]]
    assert bodies == [{"kind": "keep"}, {"kind": "keep"}]
    assert not drain(account, url)  # filtered-out messages are deleted, as on AWS


def test_batching_window_collects_a_larger_batch(account: CloudAccount, deploy: Any, make_queue: Any) -> None:
    record_url, _ = make_queue("record")
    url, arn = make_queue("windowed")
    deploy("batcher", RECORDER + "\ndef handler(event, context):\n    record({'n': len(event['Records'])})\n",
           Environment={"Variables": {"RECORD_URL": record_url}})
    lam = account.client("lambda")
    mapping = lam.create_event_source_mapping(FunctionName="batcher", EventSourceArn=arn, BatchSize=30,
                                              MaximumBatchingWindowInSeconds=2, Enabled=False)
    sqs = account.client("sqs")
    for start in range(0, 30, 10):
        sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": str(i), "MessageBody": str(i)}
                                                      for i in range(start, start + 10)])
    lam.update_event_source_mapping(UUID=mapping["UUID"], Enabled=True)
    account.settle()
    assert [e["n"] for e in _recorded(account, record_url)] == [30]


def test_disabled_and_deleted_mappings_do_not_deliver(account: CloudAccount, deploy: Any, make_queue: Any) -> None:
    record_url, _ = make_queue("record")
    url, arn = make_queue("paused")
    deploy("paused-fn", RECORDER + "\ndef handler(event, context):\n    record(event)\n",
           Environment={"Variables": {"RECORD_URL": record_url}})
    lam, sqs = account.client("lambda"), account.client("sqs")
    mapping = lam.create_event_source_mapping(FunctionName="paused-fn", EventSourceArn=arn, Enabled=False)
    sqs.send_message(QueueUrl=url, MessageBody="while disabled")
    account.settle()
    assert _recorded(account, record_url) == []
    lam.update_event_source_mapping(UUID=mapping["UUID"], Enabled=True)
    account.settle()
    assert len(_recorded(account, record_url)) == 1
    lam.delete_event_source_mapping(UUID=mapping["UUID"])
    account.settle()
    sqs.send_message(QueueUrl=url, MessageBody="after delete")
    account.settle()
    assert _recorded(account, record_url) == []
    assert [m["Body"] for m in drain(account, url)] == ["after delete"]


@pytest.mark.targets("moto", reason="counts the harness poller's batches and the process pool's environments")
def test_maximum_concurrency_caps_parallel_batches(account: CloudAccount, deploy: Any, make_queue: Any) -> None:
    url, arn = make_queue("busy")
    deploy("sleeper", "import time\ndef handler(event, context):\n    time.sleep(0.3)\n", Timeout=5)
    account.client("lambda").create_event_source_mapping(
        FunctionName="sleeper", EventSourceArn=arn, BatchSize=1, ScalingConfig={"MaximumConcurrency": 2})
    account.client("sqs").send_message_batch(
        QueueUrl=url, Entries=[{"Id": str(i), "MessageBody": str(i)} for i in range(8)])
    peak = 0
    runtime = account.cloud.target.runtime
    assert runtime is not None
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        peak = max(peak, runtime.in_flight_for(account.account_id))
        if not account.wiring or not account.wiring.pending(time.monotonic() - 1):
            break
        time.sleep(0.02)
    account.settle()
    assert peak == 2
    assert runtime.environments(f"arn:aws:lambda:{account.scope.region}:{account.account_id}:function:sleeper") == 2


def test_a_scenario_peek_sees_every_message_and_leaves_them_in_the_queue(account: CloudAccount) -> None:
    from harness.scenarios.queue_steps import peek

    sqs = account.client("sqs")
    url = sqs.create_queue(QueueName="peeked")["QueueUrl"]
    for start in range(0, 25, 10):
        sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": str(i), "MessageBody": f"m{i}"}
                                                      for i in range(start, min(start + 10, 25))])
    assert sorted(m["Body"] for m in peek(sqs, url)) == sorted(f"m{i}" for i in range(25))
    left = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])["Attributes"]
    assert left["ApproximateNumberOfMessages"] == "25"  # visible again, none consumed


def test_a_message_received_while_the_pollers_stop_goes_back_to_the_queue(
    account: CloudAccount, deploy: Any, make_queue: Any
) -> None:
    """Stopping does not wait out the receiver's long poll; what that poll still returns is made
    visible again at once (nothing is lost, nothing waits for its visibility timeout)."""
    if account.wiring is None:
        pytest.skip("the target serves its own event source mappings")
    url, arn = make_queue("late", VisibilityTimeout="300")
    deploy("never-called", "def handler(e, c):\n    raise RuntimeError('called after stop')\n")
    account.client("lambda").create_event_source_mapping(FunctionName="never-called", EventSourceArn=arn)
    account.wiring.refresh()  # the poller runs and long-polls the empty queue
    time.sleep(0.2)
    account.wiring.stop()
    account.client("sqs").send_message(QueueUrl=url, MessageBody="late")  # taken by the poll still open

    def counts() -> tuple[int, int]:
        attributes = account.client("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=[
            "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
        return (int(attributes["ApproximateNumberOfMessages"]), int(attributes["ApproximateNumberOfMessagesNotVisible"]))

    assert wait_until(counts, lambda found: found == (1, 0), timeout=5, description="the message back in the queue")
