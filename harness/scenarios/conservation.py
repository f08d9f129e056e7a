"""The proof that nothing was lost where the target keeps no journal of batches (LocalStack, AWS):
every queue an event source mapping reads is drained once the scenario settled, so each message
that entered it was deleted after processing or moved to its dead-letter queue.

Where scenarios share a stack (the AWS target's shared stack), another scenario's message may be
in a queue when this one looks: a queue not empty at once is watched until it is empty, for as
long as any message may take to end processed or dead-lettered (its visibility timeout times its
receive count, plus the settle time); only one never seen empty is reported.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from harness.deployed import DeployedApp
from harness.scenarios.queue_steps import peek

_WATCH_INTERVAL_S = 1.0


def conserve_by_queues(account: Any, app: DeployedApp | None, isolate_by: str | None = None, *,
                       clock: Callable[[], float] = time.monotonic,
                       sleep: Callable[[float], None] = time.sleep) -> dict[str, Any]:
    """The conservation record: ``dead_lettered`` (only dead letters mentioning ``isolate_by``
    where scenarios share the stack) and ``lost`` (one line per queue left with messages)."""
    sqs = account.client("sqs")
    lam = account.client("lambda")
    dead = 0
    lost: list[str] = []
    if account.capabilities.isolation_unit == "stack":
        uuids = [s.physical_id for s in (app.record.resources.values() if app else ())
                 if s.type_name == "AWS::Lambda::EventSourceMapping"]
        mappings = [lam.get_event_source_mapping(UUID=u) for u in uuids]
    else:
        mappings = [m for page in lam.get_paginator("list_event_source_mappings").paginate()
                    for m in page.get("EventSourceMappings", [])]
    for mapping in mappings:
        arn = str(mapping.get("EventSourceArn", ""))
        if not arn.startswith("arn:aws:sqs:"):
            continue
        try:
            url = sqs.get_queue_url(QueueName=arn.rsplit(":", 1)[-1])["QueueUrl"]
        except sqs.exceptions.QueueDoesNotExist:
            continue  # a mapping left reading a deleted queue: no message can be in it
        attrs = _attributes(sqs, url)
        left = _left(attrs)
        if left and isolate_by is not None:
            left = _watch(sqs, url, attrs, account.capabilities.timeout_scale, clock, sleep)
        if left:
            lost.append(f"{arn.rsplit(':', 1)[-1]}: {left} message(s) never processed nor dead-lettered")
        if attrs.get("RedrivePolicy"):
            dlq = json.loads(attrs["RedrivePolicy"])["deadLetterTargetArn"].rsplit(":", 1)[-1]
            dead += sum(1 for m in peek(sqs, sqs.get_queue_url(QueueName=dlq)["QueueUrl"])
                        if isolate_by is None or isolate_by in m["Body"])
    return {"method": "source queues drained", "entered": None, "processed": None,
            "dead_lettered": dead, "lost": lost}


def watch_seconds(attributes: dict[str, str], timeout_scale: float = 1.0) -> float:
    """How long a message in this queue may take to end processed or dead-lettered (pure): one
    visibility timeout per receive it is allowed (AWS's default of 1 without a redrive policy
    that names more), plus 30 s (scaled as the target scales its waits) for the function to run."""
    visibility = float(attributes.get("VisibilityTimeout", "30"))
    receives = 1
    if attributes.get("RedrivePolicy"):
        receives = int(json.loads(attributes["RedrivePolicy"]).get("maxReceiveCount", 1))
    return visibility * receives + 30.0 * timeout_scale


def _watch(sqs: Any, url: str, attrs: dict[str, str], timeout_scale: float,
           clock: Callable[[], float], sleep: Callable[[float], None]) -> int:
    deadline = clock() + watch_seconds(attrs, timeout_scale)
    left = _left(attrs)
    while left and clock() < deadline:
        sleep(_WATCH_INTERVAL_S)
        left = _left(_attributes(sqs, url))
    return left


def _attributes(sqs: Any, url: str) -> dict[str, str]:
    return dict(sqs.get_queue_attributes(QueueUrl=url, AttributeNames=[
        "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible", "RedrivePolicy",
        "VisibilityTimeout"])["Attributes"])


def _left(attrs: dict[str, str]) -> int:
    return int(attrs.get("ApproximateNumberOfMessages", 0)) + int(attrs.get("ApproximateNumberOfMessagesNotVisible", 0))
