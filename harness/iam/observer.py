"""Every AWS call a local target saw, per account: who made it (a function, with its role, or a
client), what it needs from IAM and what it used (thread-safe; the target's HTTP front records the
calls of handlers and clients, the target's Lambda service the calls AWS makes with a function's
role: event source mappings' receives and deletes, log writes, destinations).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field

from harness.iam.needs import Need

_LIMIT = 200_000  # calls kept per account (a long `harness up` keeps the latest)


@dataclass(frozen=True)
class Call:
    at: float                       # real time
    caller: str | None              # the function's name; None for a client
    principal: str                  # the function's role ARN; "client" for a client
    service: str
    operation: str
    needs: tuple[Need, ...] = ()
    usage: Mapping[str, float] = field(default_factory=dict)  # billed units (harness.cost.usage)
    via: str = ""                   # "" when the caller made it; else who made it with the role
    denied: str = ""                # enforce mode: the AccessDenied the caller got


class CallLog:
    """The calls of each account, in the order they were made."""

    def __init__(self, limit: int = _LIMIT) -> None:
        self._lock = threading.Lock()
        self._calls: dict[str, deque[Call]] = {}
        self._limit = limit

    def record(self, account_id: str, call: Call) -> None:
        with self._lock:
            calls = self._calls.get(account_id)
            if calls is None:
                calls = self._calls[account_id] = deque(maxlen=self._limit)
            calls.append(call)

    def calls(self, account_id: str, since: float = 0.0, until: float | None = None) -> list[Call]:
        with self._lock:
            calls = list(self._calls.get(account_id, ()))
        return [c for c in calls if c.at >= since and (until is None or c.at <= until)]

    def forget(self, account_id: str) -> None:
        with self._lock:
            self._calls.pop(account_id, None)


def now() -> float:
    return time.time()
