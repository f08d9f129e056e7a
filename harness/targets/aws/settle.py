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
from typing import Any

from harness.accounts import AccountScope
from harness.errors import WaitTimeoutError

_COUNTERS = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible",
             "ApproximateNumberOfMessagesDelayed"]


def run_mappings(scope: AccountScope) -> list[dict[str, Any]]:
    """The event source mappings of the stacks tagged with the scope's run id."""
    cfn, lam = scope.client("cloudformation"), scope.client("lambda")
    mappings = []
    for page in cfn.get_paginator("describe_stacks").paginate():
        for stack in page["Stacks"]:
            tags = {t["Key"]: t["Value"] for t in stack.get("Tags") or []}
            if tags.get("harness:run-id") != scope.namespace or stack["StackStatus"] == "DELETE_COMPLETE":
                continue
            for resources in cfn.get_paginator("list_stack_resources").paginate(StackName=stack["StackId"]):
                for resource in resources["StackResourceSummaries"]:
                    if resource["ResourceType"] == "AWS::Lambda::EventSourceMapping":
                        mappings.append(lam.get_event_source_mapping(UUID=resource["PhysicalResourceId"]))
    return mappings


def pending(scope: AccountScope, mappings: list[dict[str, Any]]) -> list[str]:
    """What is still moving: mappings not enabled, queues not empty."""
    sqs = scope.client("sqs")
    found: list[str] = []
    for mapping in mappings:
        arn = str(mapping.get("EventSourceArn", ""))
        state = scope.client("lambda").get_event_source_mapping(UUID=mapping["UUID"]).get("State")
        if state not in ("Enabled", "Disabled"):
            found.append(f"mapping {mapping['UUID']} ({arn.rsplit(':', 1)[-1]}) is {state}")
        if not arn.startswith("arn:aws:sqs:"):
            continue
        url = sqs.get_queue_url(QueueName=arn.rsplit(":", 1)[-1], QueueOwnerAWSAccountId=arn.split(":")[4])["QueueUrl"]
        counts = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=_COUNTERS)["Attributes"]
        waiting = sum(int(v) for v in counts.values())
        if waiting:
            found.append(f"{arn.rsplit(':', 1)[-1]}: {waiting} message(s) in queue, in flight or delayed")
    return found


def settle_run(scope: AccountScope, timeout: float, *, quiet_s: float, interval: float = 1.0,
               clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep) -> None:
    """Wait until nothing is pending on reads spanning ``quiet_s``.

    Raises:
        WaitTimeoutError: naming what was still pending.
    """
    deadline = clock() + timeout
    mappings = run_mappings(scope)
    quiet_since: float | None = None
    left: list[str] = []
    while True:
        left = pending(scope, mappings)
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
