"""Stream event sources -> Lambda, as Lambda's stream poller does it (the source-neutral part).

In order per shard: one batch at a time; a failed batch is retried (whole, or from the first
failed item with ReportBatchItemFailures), bisected with BisectBatchOnFunctionError, and after
MaximumRetryAttempts (-1: until it succeeds) its description goes to the OnFailure destination and
the shard moves on. A stream source (DynamoDB Streams, Kinesis) is a subclass that says how to list
shards, read records and shape them: ``client_name``, ``shard_ids``, ``shard_iterator``,
``read``, ``build``, ``sequence_number`` and ``failure_record``.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from typing import Any

from harness.wiring.base import MappingConfig, PollerContext, invoke_batch, item_failures
from harness.wiring.destinations import deliver
from harness.wiring.filters import passes_filters

LOG = logging.getLogger(__name__)


class StreamPoller:
    """Serves one stream event source mapping: a reader thread per shard (subclass per source)."""

    client_name = ""  # the boto3 client that reads the stream

    # -- what a stream source says -----------------------------------------------------------------
    def shard_ids(self) -> list[str]:
        raise NotImplementedError

    def shard_iterator(self, shard_id: str, position: str) -> str:
        raise NotImplementedError

    def read(self, iterator: str, limit: int) -> tuple[list[dict[str, Any]], str | None]:
        """(raw records, next iterator)."""
        raise NotImplementedError

    def build(self, record: Mapping[str, Any]) -> dict[str, Any]:
        """A raw record as a record of the Lambda event (pure)."""
        raise NotImplementedError

    def sequence_number(self, record: Mapping[str, Any]) -> str:
        raise NotImplementedError

    def failure_record(self, *, request_id: str, attempts: int, error: str | None, shard_id: str,
                       batch: list[dict[str, Any]]) -> dict[str, Any]:
        """What the OnFailure destination receives for a discarded batch."""
        raise NotImplementedError

    # -- the poller --------------------------------------------------------------------------------

    def __init__(
        self, mapping: MappingConfig, context: PollerContext,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.mapping = mapping
        self._scope = context.scope
        self._scope_for = context.scope_for
        self._journal = context.journal
        self._lambda = context.lambda_client
        self._streams = context.scope.client(self.client_name, internal=True, backend_calls=True)
        self._interval = context.settings.poll_interval_s
        self._clock = clock
        self._region = mapping.source_arn.split(":")[3]
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._lock = threading.Lock()
        self._shards: dict[str, threading.Thread] = {}
        self._caught_up_at: dict[str, float] = {}
        self._busy: set[str] = set()
        self._thread = threading.Thread(target=self._watch, name=f"stream-{mapping.uuid[:8]}", daemon=True)
        self._initial_position = mapping.starting_position

    def start(self) -> None:
        self._discover()
        self._thread.start()

    def update(self, mapping: MappingConfig) -> None:
        self.mapping = mapping

    def poke(self) -> None:
        """Read the shards now instead of after the idle back-off (settle calls this)."""
        self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout=5)
        for thread in list(self._shards.values()):
            thread.join(timeout=5)

    def pending(self, since: float | None = None) -> list[str]:
        """Shards that have not reported an empty read since ``since`` (or are processing)."""
        if not self.mapping.enabled:
            return []
        since = self._clock() if since is None else since
        with self._lock:
            return [
                f"{self.mapping.source_arn} shard {shard}: records not yet delivered to "
                f"{self.mapping.function_arn}"
                for shard in self._shards
                if shard in self._busy or self._caught_up_at.get(shard, 0.0) < since
            ]

    def _watch(self) -> None:
        while not self._stop.wait(1.0):
            try:
                self._discover()
            except Exception as exc:
                LOG.debug("describe_stream %s failed: %s", self.mapping.source_arn, exc)

    def _discover(self) -> None:
        for shard_id in self.shard_ids():
            with self._lock:
                if shard_id in self._shards:
                    continue
                thread = threading.Thread(target=self._read_shard, args=(shard_id,),
                                          name=f"shard-{shard_id[-8:]}", daemon=True)
                self._shards[shard_id] = thread
            thread.start()

    def _read_shard(self, shard_id: str) -> None:
        position = self._initial_position if self._initial_position in ("TRIM_HORIZON", "LATEST") else "TRIM_HORIZON"
        iterator: str | None = self.shard_iterator(shard_id, position)
        idle = self._interval
        while iterator and not self._stop.is_set():
            if not self.mapping.enabled:
                self._stop.wait(0.1)
                continue
            started = self._clock()
            try:
                records, iterator = self.read(iterator, self.mapping.batch_size)
            except Exception as exc:
                LOG.debug("reading shard %s failed: %s", shard_id, exc)
                self._stop.wait(0.5)
                continue
            if not records:
                with self._lock:
                    self._caught_up_at[shard_id] = started
                # Idle shards back off to 12x the interval (GetRecords is costly on moto); a write
                # is still seen at once by settle(), which pokes every poller.
                self._wake.wait(idle)
                self._wake.clear()
                idle = min(idle * 2, self._interval * 12)
                continue
            idle = self._interval
            with self._lock:
                self._busy.add(shard_id)
            try:
                self._process(shard_id, [self.build(r) for r in records])
            finally:
                with self._lock:
                    self._busy.discard(shard_id)

    def _process(self, shard_id: str, records: list[dict[str, Any]]) -> None:
        kept = [r for r in records if passes_filters(self.mapping.filters, r)]
        if len(kept) < len(records):
            self._journal.record("stream.filtered", self._scope.account_id, source=self.mapping.source_arn,
                                 event_ids=[r["eventID"] for r in records if r not in kept])
        if kept:
            self._deliver(shard_id, kept, attempts=0)

    def _deliver(self, shard_id: str, batch: list[dict[str, Any]], attempts: int) -> None:
        """Deliver ``batch`` until it succeeds or its retries run out; bisect on error."""
        mapping = self.mapping
        while not self._stop.is_set():
            outcome = invoke_batch(self._lambda, mapping, {"Records": batch})
            seqs = [self.sequence_number(r) for r in batch]
            failed_from: int | None = None
            if outcome.ok and mapping.report_item_failures:
                failed = item_failures(outcome.response, seqs)
                if failed is None:
                    failed_from = 0
                elif failed:
                    failed_from = min(seqs.index(s) for s in failed)
            elif not outcome.ok:
                failed_from = 0
            self._journal.record(
                "stream.batch", self._scope.account_id, source=mapping.source_arn,
                function_arn=mapping.function_arn, shard_id=shard_id, sequence_numbers=seqs,
                attempt=attempts + 1, failed_from=failed_from, function_error=outcome.function_error,
            )
            if failed_from is None:
                return
            batch = batch[failed_from:]
            if outcome.throttled:
                self._stop.wait(0.1)
                continue
            attempts += 1
            if mapping.bisect_on_error and len(batch) > 1:
                middle = len(batch) // 2
                self._deliver(shard_id, batch[:middle], attempts)
                self._deliver(shard_id, batch[middle:], attempts)
                return
            if 0 <= mapping.max_retry_attempts < attempts:
                self._discard(shard_id, batch, attempts, outcome.function_error)
                return

    def _discard(self, shard_id: str, batch: list[dict[str, Any]], attempts: int, error: str | None) -> None:
        mapping = self.mapping
        self._journal.record("stream.discarded", self._scope.account_id, source=mapping.source_arn,
                             shard_id=shard_id, sequence_numbers=[self.sequence_number(r) for r in batch],
                             destination=mapping.on_failure)
        if not mapping.on_failure:
            return
        record = self.failure_record(request_id=str(uuid.uuid4()), attempts=attempts, error=error,
                                     shard_id=shard_id, batch=batch)
        deliver(self._scope_for, mapping.on_failure, record, success=False, source_arn=mapping.function_arn)
