"""An execution environment on its account's virtual clock (see ``harness.clock``).

Runs in the function's own interpreter (standard library, plus ``time_machine`` where the runtime
environment has it): ``python clock_shim.py <module> <args>`` becomes ``python -m <module> <args>``
with ``time.time()``, ``datetime.now()`` and the rest of the wall clock moved by the offset named in
the file ``_HARNESS_CLOCK_FILE`` points to. The offset is read again before each invocation, so a
warm environment follows a clock moved between two invocations; the variable is removed from the
environment the handler sees. The pre-started interpreter (``zygote_main``) calls ``install``
before it becomes the runtime client.
"""

from __future__ import annotations

import os
import runpy
import sys
import time
from typing import Any

CLOCK_VARIABLE = "_HARNESS_CLOCK_FILE"


def _offset(path: str) -> float | None:
    try:
        with open(path) as handle:
            return float(handle.read() or 0)
    except (OSError, ValueError):
        return None


def install(path: str) -> None:
    """Move this process's wall clock to the offset in ``path`` now and before every invocation."""
    state: dict[str, Any] = {"offset": 0.0, "coordinates": None}

    def sync() -> None:
        offset = _offset(path)
        if offset is None or offset == state["offset"]:
            return
        try:
            import time_machine
        except ImportError:
            print(f"[WARNING] harness: time_machine is not installed for {sys.executable}: this function "
                  "sees real time, not its account's virtual clock (pip install time-machine there)",
                  file=sys.stderr)
            state["offset"] = offset
            return
        if state["coordinates"] is None:
            state["coordinates"] = time_machine.travel(time.time() + offset, tick=True).start()
        else:
            state["coordinates"].shift(offset - state["offset"])
        state["offset"] = offset

    sync()
    try:
        import awslambdaric.bootstrap as bootstrap
    except ImportError:
        return  # not a runtime client process: the clock is set once
    original = bootstrap.handle_event_request

    def handle_event_request(*args: Any, **kwargs: Any) -> Any:
        sync()
        return original(*args, **kwargs)

    bootstrap.handle_event_request = handle_event_request


def main() -> None:
    path = os.environ.pop(CLOCK_VARIABLE, "")
    module, args = sys.argv[1], sys.argv[2:]
    sys.path[0] = os.getcwd()  # what ``-m`` puts first, instead of this file's folder
    if path:
        install(path)
    sys.argv = [module, *args]
    runpy.run_module(module, run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
