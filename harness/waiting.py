"""One way to wait for a side effect: poll a probe until a predicate holds."""

from __future__ import annotations

import time
from collections.abc import Callable

from harness.errors import WaitTimeoutError


def wait_until[T](
    probe: Callable[[], T],
    predicate: Callable[[T], bool] = bool,
    *,
    timeout: float = 10.0,
    interval: float = 0.02,
    description: str = "condition",
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """Call ``probe`` until ``predicate(value)`` is true and return that value.

    Raises:
        WaitTimeoutError: after ``timeout`` seconds, with the last value observed.

    Example:
        >>> wait_until(lambda: 3, lambda v: v > 2, description="three")
        3
    """
    deadline = clock() + timeout
    value = probe()
    while not predicate(value):
        if clock() >= deadline:
            raise WaitTimeoutError(
                f"{description} did not hold after {timeout:g} s; last value: {value!r}",
                last=value,
            )
        sleep(interval)
        value = probe()
    return value
