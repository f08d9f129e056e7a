"""Readiness after a deploy on AWS: CREATE_COMPLETE is not "ready".

A function can still be ``Pending`` (its code being optimised, its VPC interfaces created), and an
event source mapping reads nothing until it is ``Enabled`` (minutes after the stack completes, at
times). Traffic sent before then is delayed or, for S3 notifications into a mapping still
``Creating``, seemingly lost. The harness waits for both before a test or scenario starts.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from harness.errors import WaitTimeoutError
from harness.provisioning.deployer import StackRecord

_SETTLED_MAPPING = ("Enabled", "Disabled")


def not_ready(lam: Any, record: StackRecord) -> list[str]:
    """What in ``record`` cannot take traffic yet: functions not ``Active`` (or whose last update
    did not succeed) and event source mappings still creating, enabling or updating."""
    found: list[str] = []
    for state in record.resources.values():
        if state.type_name == "AWS::Lambda::Function":
            config = lam.get_function_configuration(FunctionName=state.physical_id)
            status, update = config.get("State", "Active"), config.get("LastUpdateStatus", "Successful")
            if status != "Active" or update not in ("Successful", None):
                reason = config.get("StateReason") or config.get("LastUpdateStatusReason") or ""
                if status == "Failed" or update == "Failed":
                    raise WaitTimeoutError(f"function {state.logical_id} ({state.physical_id}) failed to become "
                                           f"active: {reason}", last=[state.logical_id])
                found.append(f"function {state.logical_id} is {status}/{update}")
        elif state.type_name == "AWS::Lambda::EventSourceMapping":
            mapping = lam.get_event_source_mapping(UUID=state.physical_id)
            if mapping.get("State") not in _SETTLED_MAPPING:
                found.append(f"event source mapping {state.logical_id} is {mapping.get('State')}")
    return found


def wait_ready(lam: Any, record: StackRecord, *, timeout: float, interval: float = 2.0,
               clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep) -> float:
    """Seconds until every function of ``record`` is active and every mapping enabled.

    Raises:
        WaitTimeoutError: after ``timeout`` seconds (naming what is not ready) or at once when a
        function failed.
    """
    started = clock()
    while True:
        left = not_ready(lam, record)
        if not left:
            return clock() - started
        if clock() - started >= timeout:
            raise WaitTimeoutError(f"stack {record.name} not ready after {timeout:g} s: " + "; ".join(left), last=left)
        sleep(interval)
