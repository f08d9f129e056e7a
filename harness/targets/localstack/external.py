"""A LocalStack the harness did not start (``HARNESS_LOCALSTACK_URL``, ``--harness-localstack-url``):
a compose service, a CI service container, one another process runs. The harness waits for its
health, never stops it, and uses what it serves: the harness's own hooks (faults, observed calls, the
invocation log) where that LocalStack was started by a harness in host mode, and nothing more where
it is the plain image (then functions run in LocalStack's own executor, and traces lack invocations).
"""

from __future__ import annotations

import time
import urllib.error
import urllib.request

from harness.errors import TargetNotReadyError, WaitTimeoutError
from harness.targets.localstack.server import localstack_healthy
from harness.waiting import wait_until


class ExternalLocalStack:
    """``start`` waits for health; ``stop`` leaves it running (it is not the harness's)."""

    def __init__(self, url: str) -> None:
        self.endpoint = url.rstrip("/")
        self.started_in_s = 0.0

    def start(self, timeout: float = 60.0) -> None:
        """Raises:
            TargetNotReadyError: nothing healthy answers at the URL within ``timeout``.
        """
        started = time.perf_counter()
        try:
            wait_until(self.healthy, timeout=timeout, interval=0.25, description="LocalStack's health")
        except WaitTimeoutError:
            raise TargetNotReadyError(
                f"no LocalStack answers {self.endpoint}/_localstack/health after {timeout:g} s: start it "
                "(`docker compose up -d localstack`, or `harness up --target localstack`) or unset "
                "HARNESS_LOCALSTACK_URL to let the harness start one") from None
        self.started_in_s = time.perf_counter() - started

    def healthy(self) -> bool:
        return localstack_healthy(self.endpoint)

    def serves(self, path: str) -> bool:
        """Whether the LocalStack answers ``path`` (one of the harness's control routes) with 200."""
        try:
            with urllib.request.urlopen(f"{self.endpoint}{path}", timeout=5) as response:
                return bool(response.status == 200)
        except (OSError, ValueError, urllib.error.HTTPError):
            return False

    def stop(self) -> None:
        """Nothing: the LocalStack outlives the harness, as it was there before it."""
