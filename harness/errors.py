"""The one exception tree of the harness.

    HarnessError
    ├── ConfigurationError      bad settings, options or environment (what to set, where)
    ├── TargetError             a target failed to start, stop or answer
    │   └── TargetNotReadyError
    ├── RuntimeSetupError       a Lambda execution environment could not be prepared
    ├── ThrottledError          reserved concurrency reached (AWS: TooManyRequestsException)
    ├── WiringError             an event source mapping could not be polled or delivered
    └── WaitTimeoutError        a condition or settle() did not hold in time (carries the last value)

A handler's own exception is not a HarnessError: it is data, an InvocationResult with a
``function_error``.
"""

from __future__ import annotations

from typing import Any


class HarnessError(Exception):
    """Base of every error the harness raises on purpose."""


class ConfigurationError(HarnessError):
    """A setting, option or input is wrong; the message names it and the fix."""


class TargetError(HarnessError):
    """A target could not be started, stopped or reached."""


class TargetNotReadyError(TargetError):
    """A target did not report healthy in time."""


class RuntimeSetupError(HarnessError):
    """A Lambda execution environment could not be prepared (interpreter, code, layers)."""


class ThrottledError(HarnessError):
    """An invocation was refused because the function's reserved concurrency is in use (or a
    throttle was injected: ``limit`` None)."""

    def __init__(self, function_name: str, limit: int | None) -> None:
        super().__init__(
            f"Rate Exceeded: function {function_name} has reserved concurrency {limit} and every slot is busy"
            if limit is not None else f"Rate Exceeded. (a throttle injected into {function_name}'s invocations)"
        )
        self.function_name = function_name
        self.limit = limit


class WiringError(HarnessError):
    """An event source could not be polled or its batch delivered."""


class WaitTimeoutError(HarnessError):
    """A wait ran out of time; ``last`` holds the last observed value."""

    def __init__(self, message: str, last: Any = None) -> None:
        super().__init__(message)
        self.last = last
