"""The calls a target records in its own process (LocalStack), read through the control API it
serves (``/_harness/calls``: ``harness/targets/localstack/calls.py``)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import urlencode

from harness.errors import TargetError

CONTROL_PATH = "/_harness/calls"


class RemoteCalls:
    """``fetch`` and ``forget`` of an account's raw call records, over HTTP."""

    def __init__(self, endpoint: str) -> None:
        self._url = endpoint.rstrip("/") + CONTROL_PATH

    def fetch(self, account_id: str, since: float = 0.0) -> list[dict[str, Any]]:
        return list(self._call("GET", {"account": account_id, "since": repr(since)})["calls"])

    def forget(self, account_id: str) -> None:
        self._call("DELETE", {"account": account_id})

    def _call(self, method: str, query: dict[str, str]) -> dict[str, Any]:
        request = urllib.request.Request(f"{self._url}?{urlencode(query)}", method=method)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                answer: dict[str, Any] = json.loads(response.read())
                return answer
        except (OSError, ValueError) as exc:
            detail = exc.read().decode(errors="replace")[:200] if isinstance(exc, urllib.error.HTTPError) else str(exc)
            raise TargetError(f"{method} {self._url}: {detail}; the target records no calls here "
                              "(LocalStack in host mode does)") from exc
