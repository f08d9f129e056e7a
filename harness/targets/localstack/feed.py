"""Invocations seen by the LocalStack executor (another process), read from its JSON-lines log.

The executor appends a ``start`` and an ``end`` line per invocation; ``InvocationFeed`` tails the
file and offers what the harness's own runtime offers: result listeners and running counts.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from harness.lambda_runtime.spec import FunctionSpec, InvocationResult, ResultListener

LOG = logging.getLogger(__name__)


def http_log(endpoint: str, timeout_s: float = 5.0) -> Callable[[int], bytes]:
    """A feed source reading ``/_harness/invocations`` of a LocalStack the harness did not start."""
    import urllib.request

    url = endpoint.rstrip("/") + "/_harness/invocations?offset="

    def read(offset: int) -> bytes:
        with urllib.request.urlopen(f"{url}{offset}", timeout=timeout_s) as response:
            return bytes(response.read())
    return read


def spec_and_result(event: dict[str, Any]) -> tuple[FunctionSpec, InvocationResult]:
    """The listener arguments for an ``end`` line (pure)."""
    arn = str(event["function_arn"])
    spec = FunctionSpec(function_arn=arn, name=str(event["name"]), handler="", runtime="", code_sha256="",
                        role_arn="", region=arn.split(":")[3], account_id=str(event["account_id"]))
    error = event.get("error")
    result = InvocationResult(
        request_id=str(event["request_id"]), payload=b"", function_error="Unhandled" if error else None,
        error_type=error, logs="", duration_ms=float(event.get("duration_ms") or 0.0),
        init_duration_ms=event.get("init_ms"), max_memory_mb=int(event.get("max_memory_mb") or 0),
        memory_mb=int(event.get("memory_mb") or 0), cold=bool(event.get("cold")),
        started_at=float(event.get("started_at") or event["at"]), environment_id=str(event.get("environment_id", "")),
        event_shapes=event.get("event_shapes") or (), records=int(event.get("records") or 1),
        failed_records=int(event.get("failed_records") or 0), record_ids=tuple(event.get("record_ids") or ()),
        failed_record_ids=tuple(event.get("failed_record_ids") or ()),
    )
    return spec, result


class InvocationFeed:
    """Tails the executor's invocation log; thread-safe."""

    def __init__(self, path: Path | None = None, interval_s: float = 0.02, *,
                 source: Callable[[int], bytes] | None = None) -> None:
        """Tail ``path``, or ``source(offset)`` (the log's bytes from an offset: over HTTP when the
        LocalStack is not this harness's own)."""
        if path is None and source is None:
            raise ValueError("an invocation feed needs a path or a source")
        self.path = path
        self._source = source
        self.listeners: list[ResultListener] = []
        self._interval = interval_s
        self._running: dict[str, dict[str, str]] = {}  # request id -> start event (account, name)
        self._last_activity: dict[str, float] = {}
        self._last_error: dict[str, float] = {}
        self._lock = threading.Lock()
        self._read_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._offset = 0
        self._partial = b""

    def start(self) -> InvocationFeed:
        self._thread = threading.Thread(target=self._loop, name="localstack-invocations", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)

    def in_flight_for(self, account_id: str) -> int:
        with self._lock:
            return sum(1 for start in self._running.values() if start["account_id"] == account_id)

    def last_activity(self, account_id: str) -> float:
        """When an invocation of the account last started or ended (time.time), 0 if never."""
        with self._lock:
            return self._last_activity.get(account_id, 0.0)

    def last_error(self, account_id: str) -> float:
        """When an invocation of the account last ended in an error (time.time), 0 if never."""
        with self._lock:
            return self._last_error.get(account_id, 0.0)

    def poll(self) -> None:
        """Read new lines now (the tail thread also does, every ``interval_s``)."""
        with self._read_lock:
            for event in self._read():
                self._handle(event)

    def _read(self) -> list[dict[str, Any]]:
        if self._source is not None:
            data = self._source(self._offset)
        else:
            assert self.path is not None
            try:
                with self.path.open("rb") as log:
                    log.seek(self._offset)
                    data = log.read()
            except FileNotFoundError:
                return []
        self._offset += len(data)
        lines = (self._partial + data).split(b"\n")
        self._partial = lines.pop()
        return [json.loads(line) for line in lines if line.strip()]

    def _handle(self, event: dict[str, Any]) -> None:
        account = str(event["account_id"])
        with self._lock:
            self._last_activity[account] = time.time()
            if event["event"] == "start":
                self._running[str(event["request_id"])] = {"account_id": account, "name": str(event["name"])}
                return
            self._running.pop(str(event["request_id"]), None)
            if event.get("error") or event.get("failed_records"):  # either way a retry may still come
                self._last_error[account] = time.time()
            if event.get("init"):
                return  # an environment's start: activity, not an invocation
        spec, result = spec_and_result(event)
        for listener in list(self.listeners):
            try:
                listener(spec, result)
            except Exception:  # a listener's bug must not stop the feed
                LOG.exception("invocation listener failed")

    def _loop(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self.poll()
            except (OSError, ValueError):
                LOG.exception("reading %s failed", self.path or "the invocation log")
