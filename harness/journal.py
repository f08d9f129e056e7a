"""A thread-safe record of what the harness delivered: batches, invocations, retries, DLQ moves.

Scenario traces, reports and the "nothing lost" proof read it; nothing in it drives behaviour.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class JournalEntry:
    kind: str
    at: float
    account_id: str
    data: dict[str, Any] = field(default_factory=dict)


class Journal:
    """Append-only, bounded log of harness events, with subscribers."""

    def __init__(self, limit: int = 100_000, clock: Callable[[], float] = time.time) -> None:
        self._entries: list[JournalEntry] = []
        self._lock = threading.Lock()
        self._limit = limit
        self._clock = clock
        self.subscribers: list[Callable[[JournalEntry], None]] = []

    def record(self, kind: str, account_id: str, **data: Any) -> JournalEntry:
        entry = JournalEntry(kind, self._clock(), account_id, data)
        with self._lock:
            self._entries.append(entry)
            if len(self._entries) > self._limit:
                del self._entries[: len(self._entries) - self._limit]
        for subscriber in list(self.subscribers):
            subscriber(entry)
        return entry

    def entries(self, kind: str | None = None, account_id: str | None = None) -> list[JournalEntry]:
        with self._lock:
            return [
                e for e in self._entries
                if (kind is None or e.kind == kind) and (account_id is None or e.account_id == account_id)
            ]
