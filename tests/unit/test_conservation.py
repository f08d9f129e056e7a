"""Conservation by drained queues (harness/scenarios/conservation.py): a queue that scenarios
sharing a stack keep busy is watched until it drains; one never drained is reported."""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

from harness.scenarios.conservation import conserve_by_queues, watch_seconds

QUEUE_ARN = "arn:aws:sqs:us-east-1:123456789012:work"
REDRIVE = json.dumps({"deadLetterTargetArn": "arn:aws:sqs:us-east-1:123456789012:work-dlq", "maxReceiveCount": 3})


class FakeSqs:
    """Answers the queue's counts from ``counts`` in turn (the last one repeats); the DLQ holds
    ``dead`` message bodies."""

    class exceptions:  # boto3's spelling
        QueueDoesNotExist = KeyError

    def __init__(self, counts: list[int], dead: list[str]) -> None:
        self.counts, self.dead, self.reads = counts, dead, 0

    def get_queue_url(self, QueueName: str) -> dict[str, str]:
        return {"QueueUrl": f"https://sqs/{QueueName}"}

    def get_queue_attributes(self, QueueUrl: str, AttributeNames: list[str]) -> dict[str, Any]:
        count = self.counts[min(self.reads, len(self.counts) - 1)]
        self.reads += 1
        return {"Attributes": {"ApproximateNumberOfMessages": "0", "ApproximateNumberOfMessagesNotVisible": str(count),
                               "RedrivePolicy": REDRIVE, "VisibilityTimeout": "30"}}

    def receive_message(self, **kwargs: Any) -> dict[str, Any]:
        bodies, self.dead = self.dead, []
        return {"Messages": [{"MessageId": str(n), "Body": b, "ReceiptHandle": str(n)} for n, b in enumerate(bodies)]}

    def change_message_visibility_batch(self, **kwargs: Any) -> None:
        pass


class FakeLambda:
    def get_paginator(self, name: str) -> Any:
        return SimpleNamespace(paginate=lambda: [{"EventSourceMappings": [{"EventSourceArn": QUEUE_ARN}]}])


class Clock:
    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def account(sqs: FakeSqs) -> Any:
    clients = {"sqs": sqs, "lambda": FakeLambda()}
    return SimpleNamespace(client=clients.__getitem__,
                           capabilities=SimpleNamespace(isolation_unit="account", timeout_scale=1.0))


def test_a_shared_stacks_queue_busy_with_another_scenario_is_watched_until_it_drains() -> None:
    clock = Clock()
    sqs = FakeSqs(counts=[1, 1, 1, 0], dead=["run-a: bad", "run-b: bad"])
    record = conserve_by_queues(account(sqs), None, "run-a", clock=clock, sleep=clock.sleep)
    assert record["lost"] == [] and record["dead_lettered"] == 1  # only this run's dead letter
    assert clock.now == 3.0


def test_a_queue_never_drained_within_the_longest_retry_is_lost() -> None:
    clock = Clock()
    record = conserve_by_queues(account(FakeSqs(counts=[2], dead=[])), None, "run-a", clock=clock, sleep=clock.sleep)
    assert record["lost"] == ["work: 2 message(s) never processed nor dead-lettered"]
    assert clock.now == 30 * 3 + 30  # three receives of a 30 s visibility timeout, plus the run time


def test_an_exclusive_stacks_queue_not_drained_after_settling_is_lost_at_once() -> None:
    clock = Clock()
    record = conserve_by_queues(account(FakeSqs(counts=[1, 0], dead=[])), None, None, clock=clock, sleep=clock.sleep)
    assert record["lost"] == ["work: 1 message(s) never processed nor dead-lettered"] and clock.slept == []


def test_watch_seconds_follow_the_queue_and_the_target() -> None:
    assert watch_seconds({"VisibilityTimeout": "30", "RedrivePolicy": REDRIVE}) == 120
    assert watch_seconds({"VisibilityTimeout": "5"}) == 35
    assert watch_seconds({"VisibilityTimeout": "10"}, timeout_scale=4) == 130
