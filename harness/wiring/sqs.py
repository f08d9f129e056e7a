"""SQS -> Lambda, as Lambda's SQS poller does it.

One receiver per mapping hands batches to up to ``MaximumConcurrency`` concurrent invocations.
Successful batches are deleted; with ReportBatchItemFailures only the failed items stay; a failed
batch stays whole. Failed messages come back after the queue's visibility timeout and the queue's
own redrive policy moves them to its DLQ after maxReceiveCount. Messages that match no filter are
deleted without invoking, as on AWS.
"""

from __future__ import annotations

import base64
import json
import logging
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from harness.wiring.base import MappingConfig, PollerContext, invoke_batch, item_failures
from harness.wiring.filters import passes_filters

LOG = logging.getLogger(__name__)
MAX_RECEIVE = 10
# The message system attributes Lambda puts in a record (FIFO ones only on FIFO queues).
RECORD_ATTRIBUTES = frozenset({
    "ApproximateReceiveCount", "SentTimestamp", "SenderId", "ApproximateFirstReceiveTimestamp",
    "SequenceNumber", "MessageGroupId", "MessageDeduplicationId", "AWSTraceHeader",
    "DeadLetterQueueSourceArn",
})


def build_record(message: Mapping[str, Any], queue_arn: str, region: str) -> dict[str, Any]:
    """One SQS message as a record of Lambda's SQS event (pure)."""
    record: dict[str, Any] = {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message.get("Body", ""),
        "attributes": {
            key: value for key, value in (message.get("Attributes") or {}).items()
            if key in RECORD_ATTRIBUTES
        },
        "messageAttributes": {
            name: _attribute(value) for name, value in (message.get("MessageAttributes") or {}).items()
        },
        "md5OfBody": message.get("MD5OfBody", ""),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    }
    if message.get("MD5OfMessageAttributes"):
        record["md5OfMessageAttributes"] = message["MD5OfMessageAttributes"]
    return record


def _attribute(value: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if "StringValue" in value:
        out["stringValue"] = value["StringValue"]
    if "BinaryValue" in value:
        out["binaryValue"] = base64.b64encode(value["BinaryValue"]).decode()
    out["stringListValues"] = list(value.get("StringListValues") or [])
    out["binaryListValues"] = list(value.get("BinaryListValues") or [])
    out["dataType"] = value["DataType"]
    return out


def build_event(records: list[dict[str, Any]]) -> dict[str, Any]:
    return {"Records": records}


def filter_passes(record: Mapping[str, Any], mapping: MappingConfig) -> bool:
    """Filters see the body as JSON when it parses, as AWS does."""
    if not mapping.filters:
        return True
    view = dict(record)
    try:
        view["body"] = json.loads(record["body"])
    except (ValueError, TypeError):
        pass
    return passes_filters(mapping.filters, view)


class SqsPoller:
    """Serves one SQS event source mapping."""

    def __init__(
        self, mapping: MappingConfig, context: PollerContext,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.mapping = mapping
        self._scope = context.scope
        self._journal = context.journal
        self._lambda = context.lambda_client
        self._sqs = context.scope.client("sqs", internal=True, backend_calls=True)
        self._concurrency = mapping.max_concurrency or context.settings.sqs_pollers
        self._interval = context.settings.poll_interval_s
        self._clock = clock
        parts = mapping.source_arn.split(":")
        self._fifo = parts[5].endswith(".fifo")
        self._queue_url = self._sqs.get_queue_url(QueueName=parts[5], QueueOwnerAWSAccountId=parts[4])["QueueUrl"]
        self._slots = threading.BoundedSemaphore(self._concurrency)
        self._in_flight = 0
        self._held = 0  # received, not yet in a batch (gathered for the batching window)
        self._virtual_clock = context.virtual_clock
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._pool = ThreadPoolExecutor(self._concurrency, thread_name_prefix=f"sqs-{parts[5][:20]}")
        self._thread = threading.Thread(target=self._run, name=f"sqs-poller-{mapping.uuid[:8]}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def update(self, mapping: MappingConfig) -> None:
        self.mapping = mapping

    def poke(self) -> None:
        """Nothing to do: the receiver long-polls, so a new message is seen at once."""

    def stop(self) -> None:
        """Stop receiving and wait for the batches in flight. The receiver is not waited for: it
        may be in a long poll (up to 1 s of every stop); it returns what it receives after this to
        the queue (visible at once, as if never received) and exits."""
        self._stop.set()
        self._thread.join(timeout=0.05)
        self._pool.shutdown(wait=True)

    def pending(self, since: float = 0.0) -> list[str]:
        if not self.mapping.enabled:
            with self._lock:
                busy = self._in_flight
            return [f"{self.mapping.source_arn}: {busy} batch(es) in flight"] if busy else []
        attrs = self._sqs.get_queue_attributes(
            QueueUrl=self._queue_url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible",
                            "ApproximateNumberOfMessagesDelayed"],
        )["Attributes"]
        with self._lock:
            in_flight, held = self._in_flight, self._held
        if self._virtual_clock:
            # Invisible or delayed messages no batch holds wait for the clock to pass their timeout:
            # nothing happens to them until a scenario lets that time pass (CloudAccount.advance_clock).
            waiting = int(attrs["ApproximateNumberOfMessages"]) + held
        else:
            waiting = sum(int(v) for v in attrs.values())
        if waiting or in_flight:
            return [f"{self.mapping.source_arn}: {waiting} message(s) in queue, {in_flight} batch(es) "
                    f"in flight to {self.mapping.function_arn}"]
        return []

    def _run(self) -> None:
        while not self._stop.is_set():
            if not self.mapping.enabled:
                self._stop.wait(0.1)
                continue
            if not self._slots.acquire(timeout=0.2):
                continue
            messages: list[dict[str, Any]] = []
            try:
                self._receive(messages)
            except Exception as exc:  # the queue may be deleted or the target stopping
                with self._lock:
                    self._held -= len(messages)  # back after their visibility timeout
                self._slots.release()
                LOG.debug("receive from %s failed: %s", self.mapping.source_arn, exc)
                self._stop.wait(0.5)
                continue
            if not messages:
                self._slots.release()
                if self._fifo:
                    self._stop.wait(self._interval)
                continue
            with self._lock:
                self._in_flight += 1
                self._held -= len(messages)
            if not self._stop.is_set():
                try:
                    self._pool.submit(self._deliver, messages)
                    continue
                except RuntimeError:  # the pool shut down between the check and the submit
                    pass
            with self._lock:
                self._in_flight -= 1
            self._slots.release()
            self._return(messages)  # stopped while receiving: the messages go back, nothing is lost
            return

    def _receive(self, messages: list[dict[str, Any]]) -> None:
        """One batch into ``messages``: up to BatchSize, gathered for up to the batching window."""
        mapping = self.mapping
        window_end = self._clock() + mapping.batching_window_s
        while not self._stop.is_set() and len(messages) < mapping.batch_size:
            remaining = window_end - self._clock()
            if messages and remaining <= 0:
                break
            # Long polls wake as soon as a message arrives; FIFO queues are short-polled because
            # moto spins while every visible message belongs to a group that is in flight.
            wait = 0 if self._fifo or (messages and remaining < 1) else 1
            got = self._sqs.receive_message(
                QueueUrl=self._queue_url,
                MaxNumberOfMessages=min(MAX_RECEIVE, mapping.batch_size - len(messages)),
                WaitTimeSeconds=wait, AttributeNames=["All"], MessageSystemAttributeNames=["All"],
                MessageAttributeNames=["All"],
            ).get("Messages", [])
            messages.extend(got)
            with self._lock:
                self._held += len(got)
            if not got:
                if not messages or not mapping.batching_window_s:
                    break
                self._stop.wait(min(self._interval, max(remaining, 0)))

    def _deliver(self, messages: list[dict[str, Any]]) -> None:
        try:
            self._deliver_batch(messages)
        except Exception:
            LOG.exception("delivery of %d message(s) from %s failed", len(messages), self.mapping.source_arn)
        finally:
            with self._lock:
                self._in_flight -= 1
            self._slots.release()

    def _deliver_batch(self, messages: list[dict[str, Any]]) -> None:
        mapping = self.mapping
        region = mapping.source_arn.split(":")[3]
        records = [build_record(m, mapping.source_arn, region) for m in messages]
        kept = [r for r in records if filter_passes(r, mapping)]
        dropped = [r for r in records if r not in kept]
        if dropped:
            self._delete(dropped)
            self._journal.record("sqs.filtered", self._scope.account_id, source=mapping.source_arn,
                                 message_ids=[r["messageId"] for r in dropped])
        if not kept:
            return
        outcome = invoke_batch(self._lambda, mapping, build_event(kept))
        ids = [r["messageId"] for r in kept]
        if outcome.ok and mapping.report_item_failures:
            failed = item_failures(outcome.response, ids)
            failed_set = set(ids) if failed is None else set(failed)
        else:
            failed_set = set() if outcome.ok else set(ids)
        done = [r for r in kept if r["messageId"] not in failed_set]
        if done:
            self._delete(done)
        self._journal.record(
            "sqs.batch", self._scope.account_id, source=mapping.source_arn,
            function_arn=mapping.function_arn, message_ids=ids,
            succeeded=[r["messageId"] for r in done], failed=sorted(failed_set),
            function_error=outcome.function_error, throttled=outcome.throttled,
            **({"error": outcome.error} if outcome.error else {}),
        )

    def _return(self, messages: list[dict[str, Any]]) -> None:
        for start in range(0, len(messages), 10):
            chunk = messages[start:start + 10]
            try:
                self._sqs.change_message_visibility_batch(QueueUrl=self._queue_url, Entries=[
                    {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"], "VisibilityTimeout": 0}
                    for i, m in enumerate(chunk)])
            except Exception as exc:  # the target is going away: they come back after their timeout
                LOG.debug("returning %d message(s) to %s failed: %s", len(chunk), self.mapping.source_arn, exc)

    def _delete(self, records: list[dict[str, Any]]) -> None:
        for start in range(0, len(records), 10):
            chunk = records[start:start + 10]
            self._sqs.delete_message_batch(
                QueueUrl=self._queue_url,
                Entries=[{"Id": str(i), "ReceiptHandle": r["receiptHandle"]} for i, r in enumerate(chunk)],
            )
