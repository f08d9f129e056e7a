"""Time as the harness and the code it runs see it: one clock per account.

On a target that declares ``virtual_clock`` (moto), each account's clock is real time plus an
offset that only moves forward: ``advance(seconds)`` moves it at once, and what reads the clock
there (moto's SQS visibility, delays and retention, the async invoker's retry delays, DynamoDB
TTL, schedules, what handlers see through ``time.time()`` and ``datetime.now()``) sees the jump.
Each account is its own timeline, so scenarios running side by side do not move each other's
time. Where time cannot be controlled (LocalStack, AWS) the clock is real and ``advance`` waits.

Function processes read their account's offset from a file (``Clocks.offset_file``), written
atomically on every advance; ``harness/lambda_runtime/clock_shim.py`` applies it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from harness.files import write_atomically

ClockListener = Callable[[str], None]


class Clock(Protocol):
    """One account's time (epoch seconds)."""

    @property
    def virtual(self) -> bool:
        """Whether ``advance`` moves time (True) or waits it out (False)."""

    def now(self) -> float: ...

    def advance(self, seconds: float) -> None:
        """Let ``seconds`` pass: at once on a virtual clock, by waiting on a real one."""


class Clocks:
    """The clocks of every account on one target.

    Args:
        virtual: accounts get virtual clocks (offsets) instead of real ones.
        directory: where each account's offset is published for function processes.
        sleep: how a real clock waits (tests pass a fake).
    """

    def __init__(self, *, virtual: bool, directory: Path | None = None,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.virtual = virtual
        self._directory = directory.absolute() if directory is not None else None  # read from other folders
        self._sleep = sleep
        self._offsets: dict[str, float] = {}
        self._listeners: list[ClockListener] = []
        self._lock = threading.Lock()

    def for_account(self, account_id: str) -> AccountClock:
        return AccountClock(self, account_id)

    def now(self, account_id: str | None) -> float:
        """The account's time; real time for no account (work outside any account's request)."""
        return time.time() + (self._offsets.get(account_id, 0.0) if account_id else 0.0)

    def offset(self, account_id: str) -> float:
        return self._offsets.get(account_id, 0.0)

    def advance(self, account_id: str, seconds: float) -> None:
        """Move the account's clock forward (virtual) or wait (real).

        Raises:
            ValueError: ``seconds`` is negative: time only moves forward.
        """
        if seconds < 0:
            raise ValueError(f"the clock only moves forward; asked to move it by {seconds:g} s")
        if not self.virtual:
            self._sleep(seconds)
            return
        with self._lock:
            offset = self._offsets.get(account_id, 0.0) + seconds
            self._offsets[account_id] = offset
            if self._directory is not None:
                write_atomically(self._path(account_id), repr(offset).encode())
            listeners = list(self._listeners)
        for listener in listeners:
            listener(account_id)

    def subscribe(self, listener: ClockListener) -> None:
        """Call ``listener(account_id)`` after every advance of a virtual clock."""
        with self._lock:
            self._listeners.append(listener)

    def offset_file(self, account_id: str) -> Path | None:
        """The file function processes of the account read their offset from (virtual clocks only)."""
        if not self.virtual or self._directory is None:
            return None
        path = self._path(account_id)
        if not path.exists():
            write_atomically(path, repr(self.offset(account_id)).encode())
        return path

    def forget(self, account_id: str) -> None:
        """Drop a closed account's clock and its file."""
        with self._lock:
            self._offsets.pop(account_id, None)
            if self._directory is not None:
                self._path(account_id).unlink(missing_ok=True)

    def _path(self, account_id: str) -> Path:
        assert self._directory is not None
        return self._directory / f"{account_id}.offset"


class AccountClock:
    """One account's view of ``Clocks`` (the ``Clock`` protocol)."""

    def __init__(self, clocks: Clocks, account_id: str) -> None:
        self._clocks = clocks
        self.account_id = account_id

    @property
    def virtual(self) -> bool:
        return self._clocks.virtual

    def now(self) -> float:
        return self._clocks.now(self.account_id)

    def advance(self, seconds: float) -> None:
        self._clocks.advance(self.account_id, seconds)

    def advance_to(self, when: float) -> None:
        """Move a virtual clock to ``when`` (epoch seconds) if that is ahead of it."""
        self.advance(max(0.0, when - self.now()))


MAX_STEPS = 10_000


def let_time_pass(clock: AccountClock, seconds: float, *, next_due: Callable[[], float | None],
                  catch_up: Callable[[], None]) -> int:
    """Let ``seconds`` pass on a virtual clock with everything that falls due in between
    happening in order: catch up (``catch_up``: run what is due and settle), jump to the next
    moment something is due (``next_due``), catch up again, until ``seconds`` have passed.
    A message failed three times with a 30 s visibility timeout is received three times
    within ``let_time_pass(clock, 100, ...)``, as it would be over 100 s. On a real clock, waits.
    Returns the number of jumps.

    Raises:
        ValueError: ``seconds`` is negative.
        RuntimeError: more than ``MAX_STEPS`` moments fell due (a timer re-arming itself at once).
    """
    if seconds < 0:
        raise ValueError(f"the clock only moves forward; asked to move it by {seconds:g} s")
    if not clock.virtual:
        clock.advance(seconds)
        return 0
    end = clock.now() + seconds
    catch_up()
    steps, last = 0, clock.now()
    while (due := next_due()) is not None and due <= end:
        steps += 1
        if steps > MAX_STEPS or due < last:
            raise RuntimeError(
                f"letting {seconds:g} s pass on account {clock.account_id}'s clock: "
                + (f"more than {MAX_STEPS} timers fell due (one re-arms itself at once)" if steps > MAX_STEPS
                   else f"something due at {due:.3f} was still waiting after the clock passed it"))
        last = due
        clock.advance_to(due + 0.001)  # just past it: SQS makes a message visible once its time is passed
        catch_up()
    clock.advance_to(end)
    catch_up()
    return steps
