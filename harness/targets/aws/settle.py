"""Settling a run on AWS: its SQS event sources drained and staying drained for a quiet period.

AWS's queues are the only state of an event pipeline a client can read, and their counters are
approximate ("may not achieve consistency until at least 1 minute after the producers stop"): a
run counts as settled when every queue its stacks' event source mappings read reads 0 visible,
0 in flight and 0 delayed on reads spanning ``quiet_s`` (60 s on AWS), with every mapping
``Enabled``. On timeout the error names each queue or mapping still pending.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from harness.accounts import AccountScope
from harness.errors import WaitTimeoutError
from harness.targets.aws.teardown import run_stacks

_COUNTERS = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible",
             "ApproximateNumberOfMessagesDelayed"]


@dataclass(frozen=True)
class Source:
    """One event source mapping of the run, and the URL of its queue when it reads SQS."""

    uuid: str
    name: str
    queue_url: str | None


def run_sources(scope: AccountScope, lam: Any, sqs: Any) -> list[Source]:
    """The event source mappings of the stacks tagged with the scope's run id."""
    cfn = scope.client("cloudformation")
    sources = []
    for stack in run_stacks(cfn, scope.namespace):
        for resources in cfn.get_paginator("list_stack_resources").paginate(StackName=stack["StackId"]):
            for resource in resources["StackResourceSummaries"]:
                if resource["ResourceType"] != "AWS::Lambda::EventSourceMapping":
                    continue
                arn = str(lam.get_event_source_mapping(UUID=resource["PhysicalResourceId"]).get("EventSourceArn", ""))
                url = (sqs.get_queue_url(QueueName=arn.rsplit(":", 1)[-1], QueueOwnerAWSAccountId=arn.split(":")[4])
                       ["QueueUrl"] if arn.startswith("arn:aws:sqs:") else None)
                sources.append(Source(resource["PhysicalResourceId"], arn.rsplit(":", 1)[-1], url))
    return sources


def pending(lam: Any, sqs: Any, sources: list[Source]) -> list[str]:
    """What is still moving: mappings not enabled, queues not empty."""
    found: list[str] = []
    for source in sources:
        state = lam.get_event_source_mapping(UUID=source.uuid).get("State")
        if state not in ("Enabled", "Disabled"):
            found.append(f"mapping {source.uuid} ({source.name}) is {state}")
        if source.queue_url is None:
            continue
        counts = sqs.get_queue_attributes(QueueUrl=source.queue_url, AttributeNames=_COUNTERS)["Attributes"]
        waiting = sum(int(v) for v in counts.values())
        if waiting:
            found.append(f"{source.name}: {waiting} message(s) in queue, in flight or delayed")
    return found


def settle_run(scope: AccountScope, timeout: float, *, quiet_s: float, interval: float = 1.0,
               clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep) -> None:
    """Wait until nothing is pending on reads spanning ``quiet_s``.

    Raises:
        WaitTimeoutError: naming what was still pending.
    """
    deadline = clock() + timeout
    lam, sqs = scope.client("lambda"), scope.client("sqs")
    sources = run_sources(scope, lam, sqs)
    quiet_since: float | None = None
    left: list[str] = []
    while True:
        left = pending(lam, sqs, sources)
        now = clock()
        if left:
            quiet_since = None
        elif quiet_since is None:
            quiet_since = now
        elif now - quiet_since >= quiet_s:
            return
        if now >= deadline:
            raise WaitTimeoutError(f"run {scope.namespace} did not settle within {timeout:g} s: "
                                   + "; ".join(left or [f"quiet for less than {quiet_s:g} s"]), last=left)
        sleep(min(interval, max(0.0, deadline - now)))
