"""EventWiring: discovers one account's event source mappings, runs their pollers, settles."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from harness.accounts import AccountScope, ScopeFor
from harness.errors import HarnessError, WaitTimeoutError
from harness.journal import Journal
from harness.settings import HarnessSettings
from harness.waiting import wait_until
from harness.wiring.base import INVOKE_CONFIG, EventPoller, MappingConfig, PollerContext
from harness.wiring.registry import create_poller

LOG = logging.getLogger(__name__)
PendingProbe = Callable[[], list[str]]


class EventWiring:
    """Pollers for every event source mapping of one account, kept in step with the target."""

    def __init__(
        self,
        scope: AccountScope,
        scope_for: ScopeFor,
        journal: Journal,
        settings: HarnessSettings,
        *,
        extra_pending: list[PendingProbe] | None = None,
        diagnostics: list[PendingProbe] | None = None,
        clock: Callable[[], float] = time.monotonic,
        virtual_clock: bool = False,
        tick: Callable[[], None] = lambda: None,
    ) -> None:
        self.scope = scope
        self._virtual_clock = virtual_clock
        self._ticks = [tick]  # what the account's clock made due (TTL, schedules, alarm samples), with every refresh
        self._settings = settings
        self._clock = clock
        self._scope_for = scope_for
        self._journal = journal
        self._context: PollerContext | None = None  # made by the first refresh, off the caller's thread
        self._pollers: dict[str, EventPoller] = {}
        self._errors: dict[str, str] = {}
        self._lock = threading.RLock()
        self._changed = threading.Event()
        self._stop = threading.Event()
        self._extra = list(extra_pending or [])
        self._diagnostics = list(diagnostics or [])  # why work may be stuck, told on a timeout
        self._thread = threading.Thread(target=self._loop, name=f"wiring-{scope.account_id}", daemon=True)

    def start(self) -> EventWiring:
        """Discover the mappings (first on the wiring's own thread: an account opens without waiting
        for the target's Lambda API) and keep them in step; ``settle`` refreshes before it waits."""
        self._changed.set()
        self._thread.start()
        return self

    def notify_changed(self) -> None:
        """Ask for an immediate refresh (a mapping was created, updated or deleted)."""
        self._changed.set()

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._changed.wait(self._settings.mapping_refresh_s)
            self._changed.clear()
            if self._stop.is_set():
                return
            try:
                self.refresh()
                self.tick()
            except Exception as exc:  # the target may be going away; try again next round
                LOG.debug("refreshing mappings of %s failed: %s", self.scope.account_id, exc)

    def add_tick(self, tick: Callable[[], None]) -> None:
        """Run ``tick`` with every refresh of the mappings and every moment ``advance_clock`` stops at."""
        self._ticks.append(tick)

    def tick(self) -> None:
        for tick in list(self._ticks):
            tick()

    def _poller_context(self) -> PollerContext:
        if self._context is None:
            lambda_client = self.scope.client("lambda", config=INVOKE_CONFIG, internal=True, backend_calls=True)
            self._context = PollerContext(self.scope, self._scope_for, self._journal, lambda_client, self._settings,
                                          virtual_clock=self._virtual_clock)
        return self._context

    def _list_mappings(self) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        for page in self._poller_context().lambda_client.get_paginator("list_event_source_mappings").paginate():
            items.extend(page.get("EventSourceMappings", []))
        return items

    def refresh(self) -> None:
        """Start pollers for new mappings, update changed ones, stop deleted ones."""
        with self._lock:
            seen: set[str] = set()
            for item in self._list_mappings():
                uuid = item["UUID"]
                seen.add(uuid)
                try:
                    mapping = MappingConfig.from_api(item)
                    poller = self._pollers.get(uuid)
                    if poller is None:
                        poller = create_poller(mapping, self._poller_context())
                        poller.start()
                        self._pollers[uuid] = poller
                    elif poller.mapping != mapping:
                        poller.update(mapping)
                    self._errors.pop(uuid, None)
                except HarnessError as exc:
                    if self._errors.get(uuid) != str(exc):
                        LOG.warning("%s", exc)
                    self._errors[uuid] = str(exc)
            for uuid in [u for u in self._pollers if u not in seen]:
                self._pollers.pop(uuid).stop()

    @property
    def mappings(self) -> list[MappingConfig]:
        with self._lock:
            return [p.mapping for p in self._pollers.values()]

    def pending(self, since: float) -> list[str]:
        with self._lock:
            pollers = list(self._pollers.values())
        for poller in pollers:
            poller.poke()
        pending = [item for poller in pollers for item in poller.pending(since)]
        for probe in self._extra:
            pending.extend(probe())
        return pending

    def settle(self, timeout: float | None = None) -> None:
        """Return once every source is drained and nothing runs, twice in a row.

        Raises:
            WaitTimeoutError: with what is still pending after ``timeout`` seconds.
        """
        limit = self._settings.settle_timeout_s if timeout is None else timeout
        state = {"since": self._clock(), "clean": 0}

        def probe() -> list[str]:
            self.refresh()
            now = self._clock()
            pending = self.pending(state["since"])
            state["clean"] = 0 if pending else state["clean"] + 1
            state["since"] = now
            return pending

        # Probing costs the target work (queue attributes are O(depth) on moto): back off to 10x
        # the poll interval while work is pending. After a clean round, wait three poll intervals so
        # every stream reader has read again before the confirming round.
        base = self._settings.poll_interval_s
        intervals = {"current": base}

        def pause(_: float) -> None:
            if state["clean"]:
                intervals["current"] = base
                self._stop.wait(3 * base)
                return
            self._stop.wait(intervals["current"])
            intervals["current"] = min(intervals["current"] * 1.5, base * 10)

        try:
            wait_until(
                probe, lambda pending: not pending and state["clean"] >= 2, timeout=limit,
                sleep=pause, description=f"settle of account {self.scope.account_id} (still pending)",
            )
        except WaitTimeoutError as exc:
            notes = [note for diagnose in self._diagnostics for note in diagnose()]
            if not notes:
                raise
            raise WaitTimeoutError(f"{exc}; " + "; ".join(notes), last=exc.last) from exc

    def stop(self) -> None:
        self._stop.set()
        self._changed.set()
        self._thread.join(timeout=5)
        with self._lock:
            for poller in self._pollers.values():
                poller.stop()
            self._pollers.clear()
