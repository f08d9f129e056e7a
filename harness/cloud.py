"""LocalCloud: a started target plus the harness machinery around it (pollers, async, journal).

Example:
    with LocalCloud(HarnessSettings(), os.environ) as cloud:
        account = cloud.open_account()
        account.client("sqs").send_message(...)
        account.settle()
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Mapping
from types import TracebackType
from typing import Any

from botocore.config import Config

from harness.accounts import AccountScope
from harness.clock import AccountClock, Clocks, let_time_pass
from harness.errors import HarnessError
from harness.invocations import AsyncInvocation, TargetHooks
from harness.journal import Journal
from harness.provisioning.deployer import Deployer
from harness.settings import HarnessSettings
from harness.targets.base import Target, TargetCapabilities
from harness.targets.registry import create_target
from harness.wiring.alarms import AlarmSampler, ScopeClients
from harness.wiring.async_invoke import AsyncInvoker
from harness.wiring.manager import EventWiring

LOG = logging.getLogger(__name__)
logging.getLogger("harness").addHandler(logging.NullHandler())


class CloudAccount:
    """One isolated account on the running target: clients, invoke, settle."""

    def __init__(self, cloud: LocalCloud, scope: AccountScope, wiring: EventWiring | None) -> None:
        self.cloud = cloud
        self.scope = scope
        self.wiring = wiring
        self._clients: dict[str, Any] = {}
        self._lock = threading.Lock()
        self._closers: list[Callable[[], None]] = []
        # Where time is virtual, alarms are evaluated by period from samples taken as time passes.
        self.alarms: AlarmSampler | None = None
        if wiring is not None and cloud.clocks.virtual:
            self.alarms = AlarmSampler(ScopeClients(scope), lambda: self.clock.now())
            wiring.add_tick(self.alarms.sample)

    def on_close(self, closer: Callable[[], None]) -> None:
        """Run ``closer`` when the account closes (servers started for it, for instance)."""
        self._closers.append(closer)

    @property
    def account_id(self) -> str:
        return self.scope.account_id

    @property
    def capabilities(self) -> TargetCapabilities:
        """What the account's target does by itself (see TargetCapabilities)."""
        return self.cloud.target.capabilities

    def deployer(self) -> Deployer:
        """What deploys stacks into this account on its target."""
        return self.cloud.target.deployer(self, self.scope)

    def client_scope(self) -> AccountScope:
        """This account as SDKs and tools outside the harness reach it (for env files)."""
        return self.cloud.target.client_scope(self.scope)

    def client(self, service: str) -> Any:
        """A cached boto3 client for ``service`` in this account."""
        with self._lock:
            if service not in self._clients:
                config = Config(read_timeout=960) if service == "lambda" else None
                self._clients[service] = self.scope.client(service, config=config)
            return self._clients[service]

    @property
    def clock(self) -> AccountClock:
        """The account's clock: virtual where the target's timers follow the harness's time."""
        return self.cloud.clocks.for_account(self.account_id)

    def next_due(self) -> float | None:
        """The earliest time on the account's clock at which something waiting falls due (a
        message's visibility timeout or delay, an item's TTL, an async retry); None if nothing waits."""
        dues = [due for due in (self.cloud.target.next_due(self.account_id),
                                self.cloud.async_invoker.next_due(self.account_id)) if due is not None]
        return min(dues) if dues else None

    def advance_clock(self, seconds: float) -> int:
        """Let ``seconds`` pass: on a virtual clock everything that falls due meanwhile happens in
        order (``harness.clock.let_time_pass``) and the account is settled after; on a real clock,
        wait. Returns how many moments fell due."""

        def catch_up() -> None:
            if self.wiring is not None:
                self.wiring.tick()  # the target's due work (TTL, schedules), alarm samples
            else:
                self.cloud.target.run_due(self.account_id)
            self.settle()
            if self.alarms is not None:
                self.alarms.sample()  # what CloudWatch would see at this moment

        return let_time_pass(self.clock, seconds, next_due=self.next_due, catch_up=catch_up)

    def invoke(self, function_name: str, payload: Any = None, *, log_tail: bool = False) -> dict[str, Any]:
        """Invoke synchronously through the Lambda API; returns payload, error and logs."""
        response = self.client("lambda").invoke(
            FunctionName=function_name, InvocationType="RequestResponse",
            LogType="Tail" if log_tail else "None",
            Payload=json.dumps(payload if payload is not None else {}).encode(),
        )
        body = response["Payload"].read()
        return {
            "StatusCode": response["StatusCode"],
            "FunctionError": response.get("FunctionError"),
            "LogResult": response.get("LogResult"),
            "Payload": json.loads(body) if body else None,
        }

    def settle(self, timeout: float | None = None, *, scale: bool = True) -> None:
        """Wait until every event source is drained and nothing runs (see EventWiring.settle).

        ``timeout`` (default: the settings' ``settle_timeout_s``) is multiplied by the target's
        ``timeout_scale`` unless ``scale`` is False (a timeout given for this target by name)."""
        if self.wiring is not None:
            self.wiring.settle(timeout)
            return
        seconds = timeout if timeout is not None else self.cloud.settings.settle_timeout_s
        self.cloud.target.settle(self.scope, seconds * (self.capabilities.timeout_scale if scale else 1.0))

    def close(self) -> None:
        for closer in reversed(self._closers):
            try:
                closer()
            except Exception:  # cleanup: keep closing the rest
                LOG.exception("closing %s failed", closer)
        self._closers.clear()
        if self.wiring is not None:
            self.wiring.stop()
        self.cloud.target.close_account(self.scope)
        self.cloud.clocks.forget(self.account_id)


class AccountTime:
    """An account's time as a test moves it (the pytest fixture ``clock``).

    Example:
        def test_retry_after_a_minute(clock, invoke):
            ...
            clock.advance(60)      # at once on moto, with every redelivery and retry due meanwhile
            assert clock.virtual   # False on LocalStack and AWS, where advance waits
    """

    def __init__(self, account: CloudAccount) -> None:
        self._account = account

    @property
    def virtual(self) -> bool:
        return self._account.clock.virtual

    def now(self) -> float:
        """The account's time, epoch seconds (what its functions see as ``time.time()``)."""
        return self._account.clock.now()

    def advance(self, seconds: float) -> int:
        """Let ``seconds`` pass (``CloudAccount.advance_clock``); returns how many moments fell due."""
        return self._account.advance_clock(seconds)


class LocalCloud:
    """Starts a target and serves its accounts' event sources the way AWS does."""

    def __init__(self, settings: HarnessSettings, environ: Mapping[str, str]) -> None:
        self.settings = settings
        self.journal = Journal()
        self.target: Target = create_target(settings, environ)
        self.clocks = Clocks(virtual=self.target.capabilities.virtual_clock, directory=settings.state_dir / "clocks")
        self._async = AsyncInvoker(self.scope_for, self.journal,
                                   retry_delays_s=settings.async_retry_delays_s, clocks=self.clocks)
        self._scopes: dict[str, AccountScope] = {}
        self._wirings: dict[str, EventWiring] = {}
        self._lock = threading.Lock()
        self._started = False

    def __enter__(self) -> LocalCloud:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    def start(self) -> LocalCloud:
        self._async.start()
        try:
            self.target.start(TargetHooks(self._on_async, self._on_mappings_changed, clocks=self.clocks))
        except BaseException:
            self._async.stop()
            self.target.stop()
            raise
        self._started = True
        return self

    @property
    def async_invoker(self) -> AsyncInvoker:
        """Lambda's queue of asynchronous invocations, where the harness serves it."""
        return self._async

    def _on_async(self, invocation: AsyncInvocation) -> None:
        self._async.submit(invocation)

    def _on_mappings_changed(self, account_id: str) -> None:
        with self._lock:
            wiring = self._wirings.get(account_id)
        if wiring is not None:
            wiring.notify_changed()

    def scope_for(self, account_id: str) -> AccountScope:
        """The (cached) scope of an account on the target."""
        with self._lock:
            scope = self._scopes.get(account_id)
            if scope is None:
                scope = self.target.open_account(account_id)
                self._scopes[account_id] = scope
            return scope

    def open_account(self, account_id: str | None = None, *, keep: bool = False) -> CloudAccount:
        """A fresh isolated account (or the named one), with its event sources served; ``keep``:
        one that outlives the run, reused by the next that keeps (see ``Target.open_account``).

        Raises:
            HarnessError: the cloud is not started.
        """
        if not self._started:
            raise HarnessError("LocalCloud.start() must be called before open_account()")
        scope = self.target.open_account(account_id, keep=keep)
        with self._lock:
            self._scopes[scope.account_id] = scope
        wiring = None
        if not self.target.capabilities.delivers_events:
            wiring = EventWiring(
                scope, self.scope_for, self.journal, self.settings,
                extra_pending=[lambda: self._pending_work(scope.account_id)],
                diagnostics=[lambda: self._start_failures(scope.account_id)],
                virtual_clock=self.clocks.virtual, tick=lambda: self.target.run_due(scope.account_id),
            ).start()
            with self._lock:
                self._wirings[scope.account_id] = wiring
        return CloudAccount(self, scope, wiring)

    def _pending_work(self, account_id: str) -> list[str]:
        pending: list[str] = []
        queued = self._async.pending(account_id)
        if queued:
            pending.append(f"{queued} asynchronous invocation(s) queued or running")
        source = self.target.invocations
        running = source.in_flight_for(account_id) if source is not None else 0
        if running:
            pending.append(f"{running} Lambda invocation(s) running")
        return pending + self.target.pending_work(account_id)

    def _start_failures(self, account_id: str) -> list[str]:
        runtime = self.target.runtime
        failures = runtime.start_failures_for(account_id) if runtime is not None else {}
        return [f"function {name} could not start: {reason}" for name, reason in failures.items()]

    def stop(self) -> None:
        """Stop pollers, async workers and the target; never raises for cleanup failures."""
        with self._lock:
            wirings = list(self._wirings.values())
            self._wirings.clear()
        for wiring in wirings:
            try:
                wiring.stop()
            except Exception:
                LOG.exception("stopping event wiring failed")
        self._async.stop()
        try:
            self.target.stop()
        finally:
            self._started = False
