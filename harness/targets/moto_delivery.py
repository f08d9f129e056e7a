"""Deliveries the services make after a request has returned, in the order they were raised.

S3 sends event notifications asynchronously: ``PutObject`` answers before the object's event
reaches EventBridge, a queue, a topic or a function. moto sends them inside the request, so every
upload to a bucket with notifications paid for the rule matching and the queue writes (~5 ms of a
7 ms ``PutObject``, measured on the peers' workload), and a slow target slowed the upload. One
worker thread runs them here, in order (the events of a key arrive in sequencer order), and
``pending`` tells ``settle`` what is still on its way.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter, deque
from collections.abc import Callable

LOG = logging.getLogger(__name__)


class OrderedDelivery:
    """A FIFO of deliveries run by one worker thread; ``pending`` counts them per account until done."""

    def __init__(self, name: str = "deliveries") -> None:
        self._name = name
        self._queue: deque[tuple[str, Callable[[], None]]] = deque()
        self._pending: Counter[str] = Counter()
        self._cond = threading.Condition()
        self._stopping = False
        self._thread: threading.Thread | None = None

    def start(self) -> OrderedDelivery:
        with self._cond:
            self._stopping = False
            if self._thread is None:
                self._thread = threading.Thread(target=self._work, name=self._name, daemon=True)
                self._thread.start()
        return self

    def submit(self, account_id: str, deliver: Callable[[], None]) -> None:
        """Run ``deliver`` after every delivery submitted before it; synchronously when not started."""
        with self._cond:
            if self._thread is not None and not self._stopping:
                self._queue.append((account_id, deliver))
                self._pending[account_id] += 1
                self._cond.notify()
                return
        deliver()

    def pending(self, account_id: str) -> int:
        """Deliveries of ``account_id`` queued or running."""
        with self._cond:
            return self._pending[account_id]

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the worker; deliveries still queued are dropped (the process is going away)."""
        with self._cond:
            self._stopping = True
            self._queue.clear()
            self._pending.clear()
            self._cond.notify_all()
            thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(timeout)

    def _work(self) -> None:
        while True:
            with self._cond:
                while not self._queue and not self._stopping:
                    self._cond.wait()
                if self._stopping:
                    return
                account_id, deliver = self._queue.popleft()
            try:
                deliver()
            except Exception:  # a delivery that fails must not stop the ones after it
                LOG.exception("a delivery of account %s failed", account_id)
            finally:
                with self._cond:
                    if self._pending[account_id] > 0:
                        self._pending[account_id] -= 1
