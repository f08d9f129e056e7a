"""Invocation values that cross layers: async invocations, result listeners, target hooks.

Targets raise asynchronous invocations and report finished ones; the wiring layer queues and
retries them. Both import these types from here, so neither imports the other.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from harness.clock import Clocks
from harness.lambda_runtime.spec import ResultListener


@dataclass(frozen=True)
class AsyncInvocation:
    """One event queued for asynchronous invocation."""

    account_id: str
    region: str
    function_arn: str
    payload: bytes
    request_id: str
    enqueued_at: float = field(default_factory=time.time)  # restamped on the account's clock when queued
    attempts: int = 0
    throttles: int = 0  # throttled attempts, which do not count as attempts


AsyncDispatcher = Callable[[AsyncInvocation], None]


@dataclass(frozen=True)
class TargetHooks:
    """Callbacks a target calls into the harness: async invocations and mapping changes; and
    the accounts' clocks, which a target with ``virtual_clock`` follows."""

    on_async_invoke: AsyncDispatcher
    on_mappings_changed: Callable[[str], None] = lambda account_id: None
    clocks: Clocks = field(default_factory=lambda: Clocks(virtual=False))


class InvocationSource(Protocol):
    """Where the harness learns of Lambda invocations a target ran (for traces and settling)."""

    listeners: list[ResultListener]

    def in_flight_for(self, account_id: str) -> int: ...
