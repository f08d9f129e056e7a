"""Asynchronous invocation, as Lambda's internal queue does it.

Retries a failed invocation ``MaximumRetryAttempts`` times (default 2) with growing delays, drops
events older than ``MaximumEventAgeInSeconds``, retries throttles without counting them, and sends
the invocation record to the OnSuccess / OnFailure destination of the function's event invoke
config. Every outcome is journaled, so an event that ended nowhere is visible.
"""

from __future__ import annotations

import itertools
import json
import logging
import threading
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from botocore.exceptions import ClientError

from harness.accounts import ScopeFor
from harness.clock import Clocks
from harness.invocations import AsyncInvocation
from harness.journal import Journal
from harness.wiring.base import INVOKE_CONFIG
from harness.wiring.destinations import deliver, invocation_record

# The request id an async invocation's attempts run with, sent to the target in REQUEST_ID_HEADER
# (a header only the harness's own Lambda seams read).
REQUEST_ID_HEADER = "X-Harness-Request-Id"
_REQUEST = threading.local()


def _send_request_id(request: Any, **_: Any) -> None:
    request_id = getattr(_REQUEST, "id", None)
    if request_id:
        request.headers[REQUEST_ID_HEADER] = request_id

LOG = logging.getLogger(__name__)
DEFAULT_MAX_RETRIES = 2
DEFAULT_MAX_AGE_S = 21600


class AsyncInvoker:
    """Worker threads draining the queue of asynchronous invocations, each due at a time on its
    account's clock (a retry waits 1, then 2 minutes, as on AWS: at once where the clock is
    virtual and a scenario lets the time pass)."""

    def __init__(
        self,
        scope_for: ScopeFor,
        journal: Journal,
        *,
        retry_delays_s: Sequence[float] = (60.0, 120.0),
        workers: int = 8,
        clocks: Clocks | None = None,
    ) -> None:
        self._scope_for = scope_for
        self._journal = journal
        self._delays = tuple(retry_delays_s) or (0.0,)
        self._clocks = clocks or Clocks(virtual=False)
        self._clocks.subscribe(lambda _account: self._wake())
        self._queue: list[tuple[float, int, AsyncInvocation]] = []  # (due on its account's clock, order, invocation)
        self._counter = itertools.count()
        self._cond = threading.Condition()
        self._running: dict[str, int] = {}
        self._stopping = False
        self._threads = [
            threading.Thread(target=self._work, name=f"async-invoke-{i}", daemon=True)
            for i in range(workers)
        ]
        self._clients: dict[str, Any] = {}

    def start(self) -> AsyncInvoker:
        for thread in self._threads:
            thread.start()
        return self

    def submit(self, invocation: AsyncInvocation, delay_s: float = 0.0) -> None:
        """Queue an invocation (thread-safe, returns at once); a new one is stamped with the time
        Lambda's queue took it, on its account's clock (its event age counts from there)."""
        now = self._clocks.now(invocation.account_id)
        if invocation.attempts == 0 and invocation.throttles == 0:
            invocation = replace(invocation, enqueued_at=now)
        with self._cond:
            self._queue.append((now + delay_s, next(self._counter), invocation))
            self._cond.notify()
        if invocation.attempts == 0 and invocation.throttles == 0:
            self._journal.record("async.queued", invocation.account_id,
                                 function_arn=invocation.function_arn, request_id=invocation.request_id)

    def pending(self, account_id: str | None = None) -> int:
        """Running invocations plus queued ones (of one account, or all); on a virtual clock only
        those already due: a retry waiting for its delay waits for the clock (``next_due``)."""
        with self._cond:
            queued = sum(1 for due, _, inv in self._queue if account_id in (None, inv.account_id)
                         and (not self._clocks.virtual or due <= self._clocks.now(inv.account_id)))
            running = sum(n for acct, n in self._running.items() if account_id in (None, acct))
            return queued + running

    def next_due(self, account_id: str) -> float | None:
        """When the account's next queued invocation is due (its clock), None when none is queued."""
        with self._cond:
            dues = [due for due, _, inv in self._queue if inv.account_id == account_id]
        return min(dues) if dues else None

    def stop(self) -> None:
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        for thread in self._threads:
            thread.join(timeout=5)

    def _wake(self) -> None:
        with self._cond:
            self._cond.notify_all()

    def _next(self) -> AsyncInvocation | None:
        with self._cond:
            while not self._stopping:
                if not self._queue:
                    self._cond.wait()
                    continue
                # the one closest to (or longest past) its due time, each on its own account's clock
                entry = min(self._queue, key=lambda e: (e[0] - self._clocks.now(e[2].account_id), e[1]))
                left = entry[0] - self._clocks.now(entry[2].account_id)
                if left > 0:
                    self._cond.wait(timeout=left)
                    continue
                self._queue.remove(entry)
                invocation = entry[2]
                self._running[invocation.account_id] = self._running.get(invocation.account_id, 0) + 1
                return invocation
            return None

    def _work(self) -> None:
        while (invocation := self._next()) is not None:
            try:
                self._process(invocation)
            except Exception:  # a worker must survive any single bad event
                LOG.exception("async invocation %s of %s failed in the harness",
                              invocation.request_id, invocation.function_arn)
                self._journal.record("async.harness_error", invocation.account_id,
                                     function_arn=invocation.function_arn,
                                     request_id=invocation.request_id)
            finally:
                with self._cond:
                    self._running[invocation.account_id] -= 1
                    self._cond.notify_all()

    def _lambda(self, account_id: str) -> Any:
        if account_id not in self._clients:
            client = self._scope_for(account_id).client("lambda", config=INVOKE_CONFIG, internal=True)
            client.meta.events.register("before-sign.lambda.Invoke", _send_request_id)
            self._clients[account_id] = client
        return self._clients[account_id]

    def _process(self, inv: AsyncInvocation) -> None:
        client = self._lambda(inv.account_id)
        config = self._invoke_config(client, inv.function_arn)
        max_retries = int(config.get("MaximumRetryAttempts", DEFAULT_MAX_RETRIES))
        max_age = float(config.get("MaximumEventAgeInSeconds", DEFAULT_MAX_AGE_S))
        if self._clocks.now(inv.account_id) - inv.enqueued_at > max_age:
            self._finish(inv, config, "EventAgeExceeded", None, None)
            return
        _REQUEST.id = inv.request_id  # every attempt runs with the async invocation's request id, as on AWS
        try:
            response = client.invoke(FunctionName=inv.function_arn, InvocationType="RequestResponse",
                                     Payload=inv.payload)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code in ("TooManyRequestsException", "ServiceException"):
                self._journal.record("async.throttled", inv.account_id, function_arn=inv.function_arn,
                                     request_id=inv.request_id, error=code)
                # throttles do not count as attempts; Lambda backs off from 1 s up to 5 minutes
                self.submit(replace(inv, throttles=inv.throttles + 1), delay_s=min(300.0, 2.0 ** inv.throttles))
                return
            self._journal.record("async.dropped", inv.account_id, function_arn=inv.function_arn,
                                 request_id=inv.request_id, error=str(exc))
            return
        attempts = inv.attempts + 1
        body = response["Payload"].read()
        error = response.get("FunctionError")
        self._journal.record("async.invoked", inv.account_id, function_arn=inv.function_arn,
                             request_id=inv.request_id, attempt=attempts, function_error=error)
        if error is None:
            self._finish(replace(inv, attempts=attempts), config, "Success", None, body)
        elif attempts <= max_retries:
            delay = self._delays[min(attempts - 1, len(self._delays) - 1)]
            self.submit(replace(inv, attempts=attempts), delay_s=delay)
        else:
            self._finish(replace(inv, attempts=attempts), config, "RetriesExhausted", error, body)

    def _invoke_config(self, client: Any, function_arn: str) -> dict[str, Any]:
        try:
            config: dict[str, Any] = client.get_function_event_invoke_config(FunctionName=function_arn)
            return config
        except ClientError:
            return {}

    def _finish(self, inv: AsyncInvocation, config: dict[str, Any], condition: str,
                error: str | None, body: bytes | None) -> None:
        success = condition == "Success"
        key = "OnSuccess" if success else "OnFailure"
        destination = ((config.get("DestinationConfig") or {}).get(key) or {}).get("Destination")
        self._journal.record("async.succeeded" if success else "async.failed", inv.account_id,
                             function_arn=inv.function_arn, request_id=inv.request_id,
                             condition=condition, destination=destination)
        if not destination:
            return
        record = invocation_record(
            request_id=inv.request_id, function_arn=inv.function_arn, condition=condition,
            approximate_invoke_count=inv.attempts, request_payload=_json_or_text(inv.payload),
            function_error=error, response_payload=_json_or_text(body) if body else None,
            now=self._clocks.now(inv.account_id),
        )
        deliver(self._scope_for, destination, record, success=success, source_arn=inv.function_arn)
        self._journal.record("destination.delivered", inv.account_id, destination=destination,
                             request_id=inv.request_id, condition=condition)


def _json_or_text(data: bytes) -> Any:
    try:
        return json.loads(data)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return data.decode(errors="replace")
